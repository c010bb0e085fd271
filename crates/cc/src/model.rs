//! What the web services mirror of the CTI side's state: each agent's state as last reported,
//! and each call as last reported (the [`CallSnapshot`] itself). Documents are rendered from
//! these plus the [`Directory`](crate::Directory).

pub use herald_cti::{AgentState, CallSnapshot};

use crate::EpochMs;

/// An agent's state as the CTI side last reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentView {
    /// The state.
    pub state: AgentState,
    /// `pendingState` (`None`: empty).
    pub pending: Option<AgentState>,
    /// `reasonCodeId`: the id of the reason code the CTI side's code maps to (`None`: -1).
    pub reason_code_id: Option<u32>,
    /// The extension signed in on (`None`: empty, logged out).
    pub extension: Option<String>,
    /// `stateChangeTime` (`None`: empty, never known).
    pub state_changed: Option<EpochMs>,
}

impl Default for AgentView {
    fn default() -> Self {
        Self { state: AgentState::Logout, pending: None, reason_code_id: None, extension: None, state_changed: None }
    }
}
