//! The requests that change something: agent state (`PUT User/{id}`), MAKE_CALL
//! (`POST User/{id}/Dialogs`), call control (`PUT Dialog/{id}`) and client logs
//! (`POST User/{id}/ClientLog`). Nothing changes here: a valid request becomes a CTI request
//! with a fresh tag (or a log to store) and is answered 202; the CTI side's events change state.

use herald_cti::{CtiRequest, RequestedState};

use crate::authz;
use crate::directory::{ReasonCategory, UserRecord};
use crate::documents;
use crate::parse::{self, DialogRequest, UserRequest};
use crate::update::{self, UpdateEvent};
use crate::{ApiError, EpochMs};

use super::pending::Target;
use super::rest::accepted;
use super::{API, ContactCenter, Effect, RestAnswer, RestCall};

impl ContactCenter {
    /// `PUT User/{id}`: LOGIN, READY, NOT_READY, LOGOUT.
    pub(super) fn change_state(&mut self, now: EpochMs, caller: &UserRecord, id: &str, call: &RestCall) -> Result<RestAnswer, ApiError> {
        let target = self.directory.user(id);
        let reach = authz::user(caller, target, id)?;
        let agent = target.map(|t| t.login_id.clone()).ok_or_else(|| ApiError::not_found(id))?;
        let request = parse::user_request(&call.body)?;
        authz::state_change(reach, &request)?;
        let (state, reason_code) = match request {
            UserRequest::Login { extension } => (RequestedState::Login { extension }, None),
            UserRequest::Ready => (RequestedState::Ready, None),
            UserRequest::NotReady { reason_code_id } => (RequestedState::NotReady, self.reason(ReasonCategory::NotReady, reason_code_id)?),
            UserRequest::Logout { reason_code_id } => (RequestedState::Logout, self.reason(ReasonCategory::Logout, reason_code_id)?),
        };
        let tag = self.pending.remember(now, call.request_id.as_deref(), Target::User(agent.clone()));
        self.effects.push_back(Effect::Cti(CtiRequest::AgentState { tag, agent, state, reason_code, forced: false }));
        Ok(accepted())
    }

    /// The `code` of the reason code `id`, which must exist, be of `category` and not be a system
    /// code.
    fn reason(&self, category: ReasonCategory, id: Option<u32>) -> Result<Option<u16>, ApiError> {
        let Some(id) = id else { return Ok(None) };
        match self.directory.reason_code(id) {
            Some(code) if code.category == category && !code.system => Ok(Some(code.code)),
            _ => Err(ApiError::invalid_input("Invalid reasonCodeId", id.to_string())),
        }
    }

    /// `POST User/{id}/Dialogs`: MAKE_CALL from the extension the agent is signed in on.
    pub(super) fn make_call(&mut self, now: EpochMs, caller: &UserRecord, id: &str, call: &RestCall) -> Result<RestAnswer, ApiError> {
        let target = self.directory.user_or_extension(id);
        let reach = authz::user(caller, target, id)?;
        authz::own_only(reach, id)?;
        let agent = caller.login_id.clone();
        let (from, to) = match parse::dialog_request(&call.body)? {
            DialogRequest::MakeCall { from, to } => (from, to),
            DialogRequest::Action { action, .. } => return Err(ApiError::invalid_input("Invalid requestedAction", action.name())),
        };
        if to == from {
            return Err(ApiError::invalid_destination(to));
        }
        if self.view(&agent).extension.as_deref() != Some(from.as_str()) {
            return Err(ApiError::invalid_input("fromAddress is not the extension the agent is signed in on", from));
        }
        let tag = self.pending.remember(now, call.request_id.as_deref(), Target::MakeCall(agent.clone()));
        self.effects.push_back(Effect::Cti(CtiRequest::MakeCall { tag, agent, from, to }));
        Ok(accepted())
    }

    /// `PUT Dialog/{id}`: an action by a participant.
    pub(super) fn act_on_call(&mut self, now: EpochMs, caller: &UserRecord, id: &str, call: &RestCall) -> Result<RestAnswer, ApiError> {
        let snapshot = self.call(id)?;
        authz::act_on_dialog(&self.directory, caller, snapshot)?;
        let agent = caller.login_id.clone();
        let address = snapshot
            .participants
            .iter()
            .find(|p| p.agent.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(&agent)))
            .map(|p| p.address.clone());
        let call_id = snapshot.id;
        let action = match parse::dialog_request(&call.body)? {
            DialogRequest::Action { action, target } => {
                if target.is_some_and(|t| Some(t.as_str()) != address.as_deref()) {
                    return Err(ApiError::invalid_input("targetMediaAddress is not the agent's address in the call", id));
                }
                action
            }
            DialogRequest::MakeCall { .. } => return Err(ApiError::invalid_input("Invalid requestedAction", "MAKE_CALL")),
        };
        let tag = self.pending.remember(now, call.request_id.as_deref(), Target::Call { agent: agent.clone(), call: call_id });
        self.effects.push_back(Effect::Cti(CtiRequest::CallControl { tag, agent, call: call_id, action }));
        Ok(accepted())
    }

    /// `POST User/{id}/ClientLog`: store the text, then a POST event on the node.
    pub(super) fn client_log(&mut self, now: EpochMs, caller: &UserRecord, id: &str, call: &RestCall) -> Result<RestAnswer, ApiError> {
        let target = self.directory.user(id);
        let reach = authz::user(caller, target, id)?;
        authz::own_only(reach, id)?;
        let text = parse::client_log(&call.body)?;
        let login = &caller.login_id;
        let file_name = client_log_file_name(login, now);
        let node = format!("{API}/User/{login}/ClientLog");
        let data = documents::client_log_stored(login, &file_name, now);
        let payload = update::notification(&update::update(data, UpdateEvent::Post, call.request_id.as_deref().unwrap_or_default(), &node));
        self.effects.push_back(Effect::StoreClientLog { file_name, text, node, payload });
        Ok(accepted())
    }
}

/// `<loginId>_<yyyyMMddTHHmmss.SSS>.log`, with only `[A-Za-z0-9._-]` (others become `_`).
fn client_log_file_name(login_id: &str, now: EpochMs) -> String {
    let stamp: String = documents::timestamp(now).chars().filter(|c| c.is_ascii_digit() || *c == 'T' || *c == '.').collect();
    let safe: String = login_id.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect();
    format!("{safe}_{stamp}.log")
}
