//! What the web services watch besides REST and CTI events, and what they tell the operator
//! about it: the settings of the presence-driven logout (finesse-domain.md §5) and of the CTI
//! link's supervision (§4.2), and [`WsLog`], the web-services log lines of that story (the
//! seed's `PRESENCE`, `UNSUBSCRIBE`, `AGENT_PRESENCE_MONITOR`, `PRESENCE DRIVEN LOGOUT`,
//! `MESSAGE_TO_CTI_SERVER` and `DECODED_MESSAGE` lines) as [`crate::Effect::Log`] effects, so
//! the sans-IO machine decides what is said and the driver only writes it.

use std::fmt;

use herald_cti::{AgentState, EpochMs};

/// What a presence-driven logout asks of the CTI side: the deployment's behaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogoutMode {
    /// Unified CCX: the agent is logged out (an agent on a call when the grace ends is logged
    /// out when the call ends).
    #[default]
    Uccx,
    /// Unified CCE: NOT_READY (after the call ends if on one), or LOGOUT at once, even
    /// mid-call, with "logout on agent disconnect" (LOAD=1).
    Ucce,
}

/// `[presence_logout]`: when an agent's desktop goes away for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresenceLogoutConfig {
    /// Off: presence is still logged, nobody is logged out.
    pub enabled: bool,
    /// UCCX or UCCE behaviour.
    pub mode: LogoutMode,
    /// How long after the last resource went unavailable the logout is sent (default 60 s).
    pub grace_ms: EpochMs,
    /// UCCE's LOAD: LOGOUT at once (even mid-call) instead of NOT_READY.
    pub logout_on_disconnect: bool,
}

impl Default for PresenceLogoutConfig {
    fn default() -> Self {
        Self { enabled: true, mode: LogoutMode::Uccx, grace_ms: 60_000, logout_on_disconnect: false }
    }
}

/// `[cti]`: how the CTI link is supervised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkConfig {
    /// The CTI side's heartbeat interval (default 5 s); 0 turns supervision by heartbeats off.
    pub heartbeat_ms: EpochMs,
    /// The link is lost after this many heartbeats in a row went missing (default 3).
    pub missed_heartbeats: u32,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self { heartbeat_ms: 5_000, missed_heartbeats: 3 }
    }
}

/// What a presence-driven logout does to the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogoutAction {
    /// A forced LOGOUT, reason code 255.
    Logout,
    /// A forced NOT_READY, reason code 255 (UCCE, LOAD=0).
    NotReady,
}

/// Why the link went down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkDownCause {
    /// This many heartbeats in a row did not arrive.
    MissedHeartbeats(u32),
    /// The adapter reported its connection lost.
    ConnectionLost,
}

/// One line of the web-services log (target `webservices`, info), with the times it is about.
/// [`fmt::Display`] gives the line's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsLog {
    /// A desktop resource of the agent went unavailable.
    PresenceUnavailable {
        /// The agent's login id.
        agent: String,
        /// The full JID that went away.
        jid: String,
        /// When the presence arrived.
        at: EpochMs,
    },
    /// The resource was taken off the agent's watched desktop sessions.
    Unsubscribe {
        /// The agent.
        agent: String,
        /// The full JID removed.
        jid: String,
        /// Available resources the agent still has.
        remaining: usize,
    },
    /// The agent has no available resource left: the grace timer started (or restarted).
    MonitorStarted {
        /// The agent.
        agent: String,
        /// When it started.
        at: EpochMs,
        /// When it ends.
        deadline: EpochMs,
        /// Its state then.
        state: AgentState,
    },
    /// A resource came back (or the agent signed in again) before the grace ended.
    TimerCancelled {
        /// The agent.
        agent: String,
        /// The full JID that came back (empty when a sign-in cancelled it).
        jid: String,
        /// When.
        at: EpochMs,
        /// When the grace would have ended.
        deadline: EpochMs,
    },
    /// The grace ended with no resource back: the logout is decided.
    PresenceDrivenLogout {
        /// The agent.
        agent: String,
        /// Its state then.
        state: AgentState,
        /// What is asked.
        action: LogoutAction,
        /// When the grace ended.
        at: EpochMs,
        /// When the last resource went away.
        unavailable_since: EpochMs,
    },
    /// The grace ended but the agent was already logged out: no request.
    AlreadyLoggedOut {
        /// The agent.
        agent: String,
        /// When.
        at: EpochMs,
    },
    /// The logout waits: the CTI link is down, or (UCCX) the agent is on a call.
    LogoutHeld {
        /// The agent.
        agent: String,
        /// When.
        at: EpochMs,
        /// Why, in words (`CTI link down`, `on a call`).
        why: &'static str,
    },
    /// The forced request sent to the CTI side.
    MessageToCti {
        /// The agent.
        agent: String,
        /// LOGOUT or NOT_READY.
        action: LogoutAction,
        /// Always 255.
        reason_code: u16,
        /// Always true.
        forced: bool,
        /// The agent's extension, if signed in on one.
        extension: Option<String>,
        /// When.
        at: EpochMs,
    },
    /// The agent-state event that answered a presence-driven logout.
    Decoded {
        /// The agent.
        agent: String,
        /// The state reported.
        state: AgentState,
        /// The pending state reported (NOT_READY after the call, UCCE).
        pending: Option<AgentState>,
        /// The reason code reported.
        reason_code: Option<u16>,
        /// When it arrived.
        at: EpochMs,
    },
    /// The CTI link is down: out of service.
    LinkDown {
        /// Why.
        cause: LinkDownCause,
        /// When the last heartbeat (or event) arrived.
        last_heard: EpochMs,
        /// When it was declared down.
        at: EpochMs,
    },
    /// The CTI link is back: state republished, in service.
    LinkUp {
        /// When it went down.
        down_since: EpochMs,
        /// When it came back.
        at: EpochMs,
        /// Agents whose state was republished.
        agents: usize,
        /// Calls republished.
        calls: usize,
        /// Presence-driven logouts released.
        released: usize,
    },
}

impl fmt::Display for WsLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!("issue 12: the web-services log lines")
    }
}
