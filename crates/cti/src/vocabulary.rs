//! The requests and events crossing the CTI seam, with the state names Finesse documents
//! (finesse-domain.md §1.3, §1.5) so that the web services render them without translation.

use crate::EpochMs;

/// An agent's login id as the web services know it (normalised: lower case, as a JID
/// localpart).
pub type AgentId = String;

/// A call's id, the CTI CallID (Finesse's Dialog id).
pub type CallId = u64;

/// Ties events to the request that caused them: the web services pick it and map it back to
/// the client's `requestId`. Unsolicited events carry none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestTag(pub u64);

macro_rules! named {
    ($(#[$m:meta])* $ty:ident { $($(#[$vm:meta])* $variant:ident => $name:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $ty { $($(#[$vm])* $variant),+ }
        impl $ty {
            /// The name on the wire (REST documents, notifications).
            pub fn name(self) -> &'static str { match self { $(Self::$variant => $name),+ } }
            /// Parses [`Self::name`] exactly (upper case, as Finesse clients send it).
            pub fn parse(s: &str) -> Option<Self> { match s { $($name => Some(Self::$variant),)+ _ => None } }
        }
    };
}

named!(
    /// An agent's state (Finesse `User.States`).
    AgentState {
        Logout => "LOGOUT",
        NotReady => "NOT_READY",
        Ready => "READY",
        Reserved => "RESERVED",
        ReservedOutbound => "RESERVED_OUTBOUND",
        ReservedOutboundPreview => "RESERVED_OUTBOUND_PREVIEW",
        Talking => "TALKING",
        Hold => "HOLD",
        Work => "WORK",
        WorkReady => "WORK_READY",
        Unknown => "UNKNOWN",
    }
);

named!(
    /// A dialog's (call's) state.
    CallState {
        Initiating => "INITIATING",
        Initiated => "INITIATED",
        Alerting => "ALERTING",
        Active => "ACTIVE",
        Held => "HELD",
        Dropped => "DROPPED",
        Failed => "FAILED",
        Accepted => "ACCEPTED",
    }
);

named!(
    /// A participant's state in a dialog.
    ParticipantState {
        Initiating => "INITIATING",
        Initiated => "INITIATED",
        Alerting => "ALERTING",
        Active => "ACTIVE",
        Held => "HELD",
        Dropped => "DROPPED",
        Failed => "FAILED",
        WrapUp => "WRAP_UP",
        Accepted => "ACCEPTED",
    }
);

named!(
    /// Why a participant failed (`stateCause`).
    FailureCause {
        Busy => "BUSY",
        BadDestination => "BAD_DESTINATION",
        Other => "OTHER",
        DeviceResourceNotAvailable => "DEVICE_RESOURCE_NOT_AVAILABLE",
    }
);

named!(
    /// Finesse's `callType` media property.
    CallType {
        AcdIn => "ACD_IN",
        PreferredAgent => "PREROUTE_ACD_IN",
        OtherIn => "OTHER_IN",
        Out => "OUT",
        AgentInside => "AGENT_INSIDE",
        Consult => "CONSULT",
        Transfer => "TRANSFER",
        Conference => "CONFERENCE",
    }
);

/// The agent state a request asks for. `Login` is an action: the agent ends in `NOT_READY`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestedState {
    /// Sign in on a device.
    Login {
        /// The extension the agent signs in on.
        extension: String,
    },
    /// Available for routed calls.
    Ready,
    /// Not available; `reason_code` is the code (not the id) of the reason.
    NotReady,
    /// Sign out.
    Logout,
}

/// A request from the web services to the CTI side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtiRequest {
    /// Change an agent's state.
    AgentState {
        /// Correlates the resulting events or failure.
        tag: RequestTag,
        /// The agent.
        agent: AgentId,
        /// What to change to.
        state: RequestedState,
        /// The reason code's `code` (NOT_READY, LOGOUT), when one was given.
        reason_code: Option<u16>,
        /// A forced change (presence-driven logout, reason 255): allowed from any state.
        forced: bool,
    },
    /// Place a call from an agent's extension.
    MakeCall {
        /// Correlates the resulting events or failure.
        tag: RequestTag,
        /// The agent placing it.
        agent: AgentId,
        /// The agent's extension.
        from: String,
        /// The number dialled (another extension, or any digits for an outside party).
        to: String,
    },
    /// Act on a call as one of its participants.
    CallControl {
        /// Correlates the resulting events or failure.
        tag: RequestTag,
        /// The agent acting.
        agent: AgentId,
        /// The call.
        call: CallId,
        /// What to do.
        action: CallAction,
    },
}

impl CtiRequest {
    /// The request's tag.
    pub fn tag(&self) -> RequestTag {
        match self {
            Self::AgentState { tag, .. } | Self::MakeCall { tag, .. } | Self::CallControl { tag, .. } => *tag,
        }
    }
}

/// A call-control action (Finesse `requestedAction`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallAction {
    /// Answer an alerting call.
    Answer,
    /// Hold an active call.
    Hold,
    /// Retrieve a held call.
    Retrieve,
    /// Leave (or end) the call.
    Drop,
    /// Place a consult call to `to` from a held call's agent.
    ConsultCall {
        /// The number dialled.
        to: String,
    },
    /// Transfer the held call to the consulted party (this call is the consult call).
    Transfer,
    /// Join the held call and the consult call.
    Conference,
    /// Send DTMF digits.
    SendDtmf {
        /// `0-9`, `*`, `#`.
        digits: String,
    },
    /// Replace call variables (name, value) and/or the wrap-up reason.
    UpdateCallData {
        /// Variables to set (others keep their values).
        variables: Vec<(String, String)>,
        /// The wrap-up reason, when given.
        wrap_up_reason: Option<String>,
    },
}

impl CallAction {
    /// The `requestedAction` name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Answer => "ANSWER",
            Self::Hold => "HOLD",
            Self::Retrieve => "RETRIEVE",
            Self::Drop => "DROP",
            Self::ConsultCall { .. } => "CONSULT_CALL",
            Self::Transfer => "TRANSFER",
            Self::Conference => "CONFERENCE",
            Self::SendDtmf { .. } => "SEND_DTMF",
            Self::UpdateCallData { .. } => "UPDATE_CALL_DATA",
        }
    }
}

/// An agent's state as the CTI side reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentSnapshot {
    /// The agent.
    pub agent: AgentId,
    /// The state now.
    pub state: AgentState,
    /// The state the agent enters when the current call ends, if one was requested meanwhile.
    pub pending: Option<AgentState>,
    /// The reason code's `code` for NOT_READY or LOGOUT, when one applies.
    pub reason_code: Option<u16>,
    /// The extension signed in on (`None` when logged out).
    pub extension: Option<String>,
    /// When `state` was entered.
    pub since: EpochMs,
}

/// One party of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    /// The party's address: an agent's extension or an outside number (ANI).
    pub address: String,
    /// The agent on that extension, for agent devices.
    pub agent: Option<AgentId>,
    /// The participant's state.
    pub state: ParticipantState,
    /// Why it failed, when it did.
    pub cause: Option<FailureCause>,
    /// When the participant joined.
    pub start: EpochMs,
    /// When `state` was entered.
    pub state_changed: EpochMs,
}

/// A queue a call came through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRef {
    /// The queue's id (scenario `queues[].id`).
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A call as the CTI side reports it: every event carries the whole call, so that the web
/// services never reconstruct it from deltas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSnapshot {
    /// The call's id.
    pub id: CallId,
    /// The call this one consults or was created from (consult, transfer).
    pub associated: Option<CallId>,
    /// Calling number.
    pub from: String,
    /// Called number.
    pub to: String,
    /// The call's state.
    pub state: CallState,
    /// How the call came about.
    pub call_type: CallType,
    /// Dialled number (also `DNIS`).
    pub dialed_number: String,
    /// The queue, for routed calls.
    pub queue: Option<QueueRef>,
    /// Call variables in order (`callVariable1`… and ECC `user.*`), values as the CTI side has
    /// them: the web services replace characters outside XML 1.0 before publishing.
    pub variables: Vec<(String, String)>,
    /// The wrap-up reason set by an agent.
    pub wrap_up_reason: Option<String>,
    /// Every party, agents and outside numbers.
    pub participants: Vec<Participant>,
}

/// A request the CTI side refused (finesse-domain.md §1.2, §2.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtiFailure {
    /// `errorType`, e.g. `Invalid State`, `Invalid Device`, `Call Operation Failure`.
    pub kind: String,
    /// `errorMessage`, the CTI constant, e.g. `CF_INVALID_OBJECT_STATE`.
    pub constant: String,
    /// `errorData`, the CTI code, e.g. 22.
    pub code: u32,
}

impl CtiFailure {
    /// An agent state change not allowed from the current state (CTI code 22).
    pub fn invalid_state() -> Self {
        Self { kind: "Invalid State".into(), constant: "CF_INVALID_OBJECT_STATE".into(), code: 22 }
    }

    /// Sign-in on an extension that does not exist or is taken (CTI code 260).
    pub fn invalid_device() -> Self {
        Self { kind: "Invalid Device".into(), constant: "CF_INVALID_LOGON_DEVICE_SPECIFIED".into(), code: 260 }
    }

    /// A call operation the CTI side cannot carry out (`code` and `constant` say which).
    pub fn call_operation(constant: &str, code: u32) -> Self {
        Self { kind: "Call Operation Failure".into(), constant: constant.into(), code }
    }
}

/// Queue statistics (Finesse `Queue/statistics`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// The queue's id.
    pub queue: String,
    /// Calls waiting.
    pub calls_in_queue: u32,
    /// When the longest-waiting call arrived.
    pub longest_since: Option<EpochMs>,
    /// Agents of the queue READY.
    pub agents_ready: u32,
    /// NOT_READY.
    pub agents_not_ready: u32,
    /// Busy with a call of another queue.
    pub agents_busy_other: u32,
    /// Signed in.
    pub agents_logged_on: u32,
    /// Talking on a routed call.
    pub agents_talking_inbound: u32,
    /// Talking on a call they placed.
    pub agents_talking_outbound: u32,
    /// Talking agent to agent.
    pub agents_talking_internal: u32,
    /// In wrap-up (WORK).
    pub agents_wrap_up_not_ready: u32,
    /// In wrap-up (WORK_READY).
    pub agents_wrap_up_ready: u32,
}

/// An event from the CTI side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtiEvent {
    /// An agent's state (or pending state, or reason) changed, or a sign-in was repeated.
    Agent {
        /// What caused it.
        tag: Option<RequestTag>,
        /// The agent now.
        snapshot: AgentSnapshot,
    },
    /// A call appeared or changed.
    Call {
        /// What caused it.
        tag: Option<RequestTag>,
        /// The call now.
        snapshot: CallSnapshot,
    },
    /// A call is gone for these agents (it ended, or they left it and finished wrap-up).
    CallEnded {
        /// What caused it.
        tag: Option<RequestTag>,
        /// The call's id.
        call: CallId,
        /// The agents whose Dialogs lose it.
        agents: Vec<AgentId>,
    },
    /// A request was refused.
    Failure {
        /// The request refused.
        tag: RequestTag,
        /// Why.
        failure: CtiFailure,
    },
    /// Queue statistics, when they changed (at most every few seconds).
    QueueStats(QueueStats),
    /// The CTI link is alive: sent every few seconds; the web services declare the link lost
    /// after a number of them go missing.
    Heartbeat,
    /// The adapter lost its connection to the CTI side (socket closed, peer reset): the link is
    /// down at once, without waiting for missed heartbeats. Nothing arrives until a
    /// [`CtiEvent::Snapshot`] says it is back.
    LinkLost,
    /// The CTI side's whole state, sent when the link comes up (at start and after an outage):
    /// every known agent and every live call. Calls the web services mirror but that are absent
    /// here ended meanwhile.
    Snapshot {
        /// Every agent the CTI side knows, signed in or not.
        agents: Vec<AgentSnapshot>,
        /// Every live call.
        calls: Vec<CallSnapshot>,
    },
}
