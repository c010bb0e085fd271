//! A takeover's restore (issue 15): the CTI requests that bring an agent back, in a fresh
//! machine and CTI side, to the state its User node last published — LOGIN on its extension,
//! then READY or NOT_READY with its reason code. The requests are the ones a desktop's REST
//! calls make, with tags the machine does not remember: their events publish the agent's state
//! as any others (a fresh snapshot for its desktop) with no `requestId`, and a refusal
//! publishes nothing (the agent stays logged out; the runtime sees it in [`ContactCenter::agent_view`]).

use herald_cti::{AgentState, CtiRequest, RequestedState};

use crate::directory::ReasonCategory;
use crate::model::AgentView;
use crate::takeover::{PublishedAgent, RestoredState, restored_state};

use super::ContactCenter;

/// What a restore asks of the CTI side for one agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestorePlan {
    /// The agent's login id, as the directory spells it.
    pub agent: String,
    /// The state the agent should be in once the requests are carried out (READY or NOT_READY).
    pub target: AgentState,
    /// The requests, in order.
    pub requests: Vec<CtiRequest>,
    /// A NOT_READY reason code id the directory does not know as a NOT_READY code: the agent
    /// comes back NOT_READY without a reason.
    pub dropped_reason_code_id: Option<u32>,
}

/// Why an agent cannot be restored from what was published.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// The node's agent is not in the directory.
    #[error("{0} is not a contact-center user")]
    UnknownAgent(String),
    /// The document names another agent than the node's.
    #[error("the document on {node_agent}'s node is about {published}")]
    OtherAgent {
        /// The agent whose node held the document.
        node_agent: String,
        /// The `loginId` the document holds.
        published: String,
    },
}

impl ContactCenter {
    /// The requests that bring `agent` back to the state `published` (its User node's newest
    /// document) describes; `None` when it stays logged out. Emits nothing: the caller sends
    /// the requests to the CTI side, which reports the changes as usual.
    pub fn restore_plan(&mut self, agent: &str, published: &PublishedAgent) -> Result<Option<RestorePlan>, RestoreError> {
        let user = self.directory.user(agent).ok_or_else(|| RestoreError::UnknownAgent(agent.to_owned()))?;
        let login = user.login_id.clone();
        if self.directory.user(&published.login_id).is_none_or(|u| u.login_id != login) {
            return Err(RestoreError::OtherAgent { node_agent: login, published: published.login_id.clone() });
        }
        let (extension, target, reason_code_id) = match restored_state(published) {
            RestoredState::LoggedOut => return Ok(None),
            RestoredState::Ready { extension } => (extension, AgentState::Ready, None),
            RestoredState::NotReady { extension, reason_code_id } => (extension, AgentState::NotReady, reason_code_id),
        };
        let reason_code = reason_code_id
            .and_then(|id| self.directory.reason_code(id))
            .filter(|code| code.category == ReasonCategory::NotReady)
            .map(|code| code.code);
        let dropped_reason_code_id = reason_code_id.filter(|_| reason_code.is_none());
        let mut request = |state, reason_code| CtiRequest::AgentState {
            tag: self.pending.unremembered(),
            agent: login.clone(),
            state,
            reason_code,
            forced: false,
        };
        // A LOGIN ends in NOT_READY without a reason: a second request only when it must differ.
        let mut requests = vec![request(RequestedState::Login { extension }, None)];
        match target {
            AgentState::Ready => requests.push(request(RequestedState::Ready, None)),
            _ if reason_code.is_some() => requests.push(request(RequestedState::NotReady, reason_code)),
            _ => {}
        }
        Ok(Some(RestorePlan { agent: login, target, requests, dropped_reason_code_id }))
    }

    /// `login_id`'s state as last reported by the CTI side (logged out if never, or unknown).
    pub fn agent_view(&self, login_id: &str) -> AgentView {
        self.directory.user(login_id).map(|u| self.view(&u.login_id)).unwrap_or_default()
    }
}
