//! Who may do what: an agent only its own objects; a supervisor also reads its teams' agents'
//! objects and its teams, and may set those agents READY or LOGOUT (nothing else); nobody else
//! anything. A refusal for another user's object is the same whether that object exists or not,
//! so that the API does not reveal which ids exist.

use herald_cti::CallSnapshot;

use crate::ApiError;
use crate::directory::{Directory, Role, UserRecord};
use crate::parse::UserRequest;

/// How the caller reaches an object that belongs to a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// The caller's own.
    Own,
    /// An agent of a team the caller supervises.
    Supervised,
}

/// Whether `caller` supervises `team`.
fn supervises(caller: &UserRecord, team: &str) -> bool {
    caller.role == Role::Supervisor && caller.supervised_teams.iter().any(|t| t == team)
}

/// The refusal for an object outside the caller's reach, by the caller's role.
fn refuse(caller: &UserRecord, data: &str) -> ApiError {
    match caller.role {
        Role::Agent => ApiError::wrong_user(data),
        Role::Supervisor => ApiError::invalid_supervisor(data),
    }
}

/// How `caller` reaches the objects of `target` (`None`: the id `named` no user, refused as any
/// other user's would be).
pub(crate) fn user(caller: &UserRecord, target: Option<&UserRecord>, named: &str) -> Result<Reach, ApiError> {
    match target {
        Some(t) if t.login_id == caller.login_id => Ok(Reach::Own),
        Some(t) if t.team_id.as_deref().is_some_and(|team| supervises(caller, team)) => Ok(Reach::Supervised),
        _ => Err(refuse(caller, named)),
    }
}

/// Only the owner may (POST a client log, place a call): a supervisor reaching an agent is
/// refused.
pub(crate) fn own_only(reach: Reach, named: &str) -> Result<(), ApiError> {
    match reach {
        Reach::Own => Ok(()),
        Reach::Supervised => Err(ApiError::invalid_supervisor(named)),
    }
}

/// The state changes a supervisor may make on its agents: READY and LOGOUT.
pub(crate) fn state_change(reach: Reach, request: &UserRequest) -> Result<(), ApiError> {
    match (reach, request) {
        (Reach::Own, _) | (Reach::Supervised, UserRequest::Ready | UserRequest::Logout { .. }) => Ok(()),
        (Reach::Supervised, UserRequest::Login { .. }) => Err(ApiError::invalid_supervisor("LOGIN")),
        (Reach::Supervised, UserRequest::NotReady { .. }) => Err(ApiError::invalid_supervisor("NOT_READY")),
    }
}

/// `Team/{id}`: supervisors of that team only.
pub(crate) fn team(caller: &UserRecord, team: &str) -> Result<(), ApiError> {
    if supervises(caller, team) { Ok(()) } else { Err(refuse(caller, team)) }
}

/// `Queue/{id}`: the queues of the caller's team or supervised teams.
pub(crate) fn queue(dir: &Directory, caller: &UserRecord, queue: &str) -> Result<(), ApiError> {
    if dir.user_queues(caller).any(|q| q.id == queue) { Ok(()) } else { Err(refuse(caller, queue)) }
}

/// Whether `caller` is an agent participant of `call`.
pub(crate) fn in_call(caller: &UserRecord, call: &CallSnapshot) -> bool {
    call.participants.iter().any(|p| p.agent.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(&caller.login_id)))
}

/// Reading `Dialog/{id}`: a participant, or a supervisor of a participant's team.
pub(crate) fn read_dialog(dir: &Directory, caller: &UserRecord, call: &CallSnapshot) -> Result<(), ApiError> {
    if in_call(caller, call) || supervises_participant(dir, caller, call) { Ok(()) } else { Err(refuse(caller, &call.id.to_string())) }
}

/// Acting on `Dialog/{id}`: participants only (a supervisor of a participant may not act).
pub(crate) fn act_on_dialog(dir: &Directory, caller: &UserRecord, call: &CallSnapshot) -> Result<(), ApiError> {
    if in_call(caller, call) {
        Ok(())
    } else if supervises_participant(dir, caller, call) {
        Err(ApiError::invalid_supervisor(call.id.to_string()))
    } else {
        Err(ApiError::wrong_user(call.id.to_string()))
    }
}

/// Whether a participant of `call` is an agent of a team `caller` supervises.
fn supervises_participant(dir: &Directory, caller: &UserRecord, call: &CallSnapshot) -> bool {
    call.participants
        .iter()
        .filter_map(|p| p.agent.as_deref())
        .filter_map(|a| dir.user(a))
        .any(|agent| agent.team_id.as_deref().is_some_and(|team| supervises(caller, team)))
}
