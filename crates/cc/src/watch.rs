//! What the web services watch besides REST and CTI events, and what they tell the operator
//! about it: the settings of the presence-driven logout (finesse-domain.md §5) and of the CTI
//! link's supervision (§4.2), and [`WsLog`], the web-services log lines of that story (the
//! seed's `PRESENCE`, `UNSUBSCRIBE`, `AGENT_PRESENCE_MONITOR`, `PRESENCE DRIVEN LOGOUT`,
//! `MESSAGE_TO_CTI_SERVER` and `DECODED_MESSAGE` lines) as [`crate::Effect::Log`] effects, so
//! the sans-IO machine decides what is said and the driver only writes it.

use std::fmt;

use herald_cti::{AgentState, EpochMs};

use crate::documents::timestamp;

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

impl LogoutAction {
    /// The state asked for, as Finesse names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Logout => "LOGOUT",
            Self::NotReady => "NOT_READY",
        }
    }
}

impl fmt::Display for LinkDownCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissedHeartbeats(n) => write!(f, "{n} heartbeats missed"),
            Self::ConnectionLost => f.write_str("connection lost"),
        }
    }
}

/// A time in the log: the documents' XEP-0082 format.
fn ts(at: EpochMs) -> String {
    timestamp(at)
}

impl fmt::Display for WsLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PresenceUnavailable { agent, jid, at } => {
                write!(f, "PRESENCE: agent {agent} presence changed to unavailable: {jid} at {}", ts(*at))
            }
            Self::Unsubscribe { agent, jid, remaining } => write!(
                f,
                "UNSUBSCRIBE: agent {agent} desktop session {jid} removed from the presence monitor; {remaining} available resources left"
            ),
            Self::MonitorStarted { agent, at, deadline, state } => write!(
                f,
                "AGENT_PRESENCE_MONITOR: agent {agent} ({}) has no available resource since {}; presence-driven logout at {} unless it comes back",
                state.name(),
                ts(*at),
                ts(*deadline)
            ),
            Self::TimerCancelled { agent, jid, at, deadline } => {
                if jid.is_empty() {
                    write!(f, "AGENT_PRESENCE_MONITOR: agent {agent} signed in again at {}", ts(*at))?;
                } else {
                    write!(f, "AGENT_PRESENCE_MONITOR: agent {agent} available again ({jid}) at {}", ts(*at))?;
                }
                write!(f, "; presence-driven logout timer cancelled (it would have fired at {})", ts(*deadline))
            }
            Self::PresenceDrivenLogout { agent, state, action, at, unavailable_since } => write!(
                f,
                "PRESENCE DRIVEN LOGOUT: agent {agent} ({}) unavailable since {}, grace ended at {}: forcing {} with reason code 255",
                state.name(),
                ts(*unavailable_since),
                ts(*at),
                action.name()
            ),
            Self::AlreadyLoggedOut { agent, at } => {
                write!(f, "PRESENCE DRIVEN LOGOUT: agent {agent} already logged out at {}; no request sent", ts(*at))
            }
            Self::LogoutHeld { agent, at, why } => write!(f, "PRESENCE DRIVEN LOGOUT: agent {agent} held at {}: {why}", ts(*at)),
            Self::MessageToCti { agent, action, reason_code, forced, extension, at } => write!(
                f,
                "MESSAGE_TO_CTI_SERVER: SetAgentState agentid: {agent}, agentext: {}, agentstate: {}, reason code: {reason_code}, forceflag: {} at {}",
                extension.as_deref().unwrap_or(""),
                action.name(),
                u8::from(*forced),
                ts(*at)
            ),
            Self::Decoded { agent, state, pending, reason_code, at } => write!(
                f,
                "DECODED_MESSAGE: AgentStateEvent agentid: {agent}, agentState={}, pendingState={}, eventReasonCode={} at {}: Decoded Message to Finesse from backend cti server",
                state.name(),
                pending.map_or("none", |p| p.name()),
                reason_code.map_or_else(|| "none".to_owned(), |c| c.to_string()),
                ts(*at)
            ),
            Self::LinkDown { cause, last_heard, at } => write!(
                f,
                "CTI_LINK: link to the CTI server lost ({cause}), last heard at {}; OUT_OF_SERVICE at {}",
                ts(*last_heard),
                ts(*at)
            ),
            Self::LinkUp { down_since, at, agents, calls, released } => {
                let down = at.saturating_sub(*down_since);
                write!(
                    f,
                    "CTI_LINK: link to the CTI server restored at {} after {}.{} s down; republished {agents} agents and {calls} calls; IN_SERVICE; {released} presence-driven logouts released",
                    ts(*at),
                    down / 1000,
                    down % 1000 / 100
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2023-11-14T22:13:20.000Z.
    const T: EpochMs = 1_700_000_000_000;

    #[test]
    fn the_seed_story_lines() {
        let a = || "1001".to_owned();
        let jid = || "1001@fin1.example/desktop".to_owned();
        assert_eq!(
            WsLog::PresenceUnavailable { agent: a(), jid: jid(), at: T }.to_string(),
            "PRESENCE: agent 1001 presence changed to unavailable: 1001@fin1.example/desktop at 2023-11-14T22:13:20.000Z"
        );
        assert_eq!(
            WsLog::Unsubscribe { agent: a(), jid: jid(), remaining: 0 }.to_string(),
            "UNSUBSCRIBE: agent 1001 desktop session 1001@fin1.example/desktop removed from the presence monitor; 0 available resources left"
        );
        assert_eq!(
            WsLog::MonitorStarted { agent: a(), at: T, deadline: T + 60_000, state: AgentState::Ready }.to_string(),
            "AGENT_PRESENCE_MONITOR: agent 1001 (READY) has no available resource since 2023-11-14T22:13:20.000Z; presence-driven logout at 2023-11-14T22:14:20.000Z unless it comes back"
        );
        assert_eq!(
            WsLog::MessageToCti {
                agent: a(),
                action: LogoutAction::Logout,
                reason_code: 255,
                forced: true,
                extension: Some("1001".into()),
                at: T
            }
            .to_string(),
            "MESSAGE_TO_CTI_SERVER: SetAgentState agentid: 1001, agentext: 1001, agentstate: LOGOUT, reason code: 255, forceflag: 1 at 2023-11-14T22:13:20.000Z"
        );
        assert_eq!(
            WsLog::Decoded { agent: a(), state: AgentState::Logout, pending: None, reason_code: Some(255), at: T }.to_string(),
            "DECODED_MESSAGE: AgentStateEvent agentid: 1001, agentState=LOGOUT, pendingState=none, eventReasonCode=255 at 2023-11-14T22:13:20.000Z: Decoded Message to Finesse from backend cti server"
        );
        assert_eq!(
            WsLog::PresenceDrivenLogout {
                agent: a(),
                state: AgentState::Ready,
                action: LogoutAction::NotReady,
                at: T + 60_000,
                unavailable_since: T
            }
            .to_string(),
            "PRESENCE DRIVEN LOGOUT: agent 1001 (READY) unavailable since 2023-11-14T22:13:20.000Z, grace ended at 2023-11-14T22:14:20.000Z: forcing NOT_READY with reason code 255"
        );
    }

    #[test]
    fn cancelled_held_and_already_out() {
        let a = || "1001".to_owned();
        assert_eq!(
            WsLog::TimerCancelled { agent: a(), jid: "1001@d/ws".into(), at: T, deadline: T + 1_500 }.to_string(),
            "AGENT_PRESENCE_MONITOR: agent 1001 available again (1001@d/ws) at 2023-11-14T22:13:20.000Z; presence-driven logout timer cancelled (it would have fired at 2023-11-14T22:13:21.500Z)"
        );
        assert!(
            WsLog::TimerCancelled { agent: a(), jid: String::new(), at: T, deadline: T }
                .to_string()
                .contains("agent 1001 signed in again at")
        );
        assert_eq!(
            WsLog::AlreadyLoggedOut { agent: a(), at: T }.to_string(),
            "PRESENCE DRIVEN LOGOUT: agent 1001 already logged out at 2023-11-14T22:13:20.000Z; no request sent"
        );
        assert_eq!(
            WsLog::LogoutHeld { agent: a(), at: T, why: "CTI link down" }.to_string(),
            "PRESENCE DRIVEN LOGOUT: agent 1001 held at 2023-11-14T22:13:20.000Z: CTI link down"
        );
    }

    #[test]
    fn link_lines() {
        assert_eq!(
            WsLog::LinkDown { cause: LinkDownCause::MissedHeartbeats(3), last_heard: T, at: T + 17_500 }.to_string(),
            "CTI_LINK: link to the CTI server lost (3 heartbeats missed), last heard at 2023-11-14T22:13:20.000Z; OUT_OF_SERVICE at 2023-11-14T22:13:37.500Z"
        );
        assert!(WsLog::LinkDown { cause: LinkDownCause::ConnectionLost, last_heard: T, at: T }.to_string().contains("(connection lost)"));
        assert_eq!(
            WsLog::LinkUp { down_since: T, at: T + 12_345, agents: 10, calls: 2, released: 1 }.to_string(),
            "CTI_LINK: link to the CTI server restored at 2023-11-14T22:13:32.345Z after 12.3 s down; republished 10 agents and 2 calls; IN_SERVICE; 1 presence-driven logouts released"
        );
    }
}
