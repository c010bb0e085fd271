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

#[cfg(test)]
mod tests {
    use herald_cti::{CallState, CallType, Participant, ParticipantState};

    use super::*;

    fn user(id: &str, team: &str) -> UserRecord {
        UserRecord { team_id: Some(team.into()), ..UserRecord::agent(id) }
    }

    fn supervisor(id: &str, teams: &[&str]) -> UserRecord {
        UserRecord { role: Role::Supervisor, supervised_teams: teams.iter().map(|t| (*t).to_owned()).collect(), ..user(id, teams[0]) }
    }

    fn call_with(agents: &[&str]) -> CallSnapshot {
        let participant = |a: &&str| Participant {
            address: (*a).into(),
            agent: Some((*a).into()),
            state: ParticipantState::Active,
            cause: None,
            start: 0,
            state_changed: 0,
        };
        CallSnapshot {
            id: 7,
            associated: None,
            from: "1".into(),
            to: "2".into(),
            state: CallState::Active,
            call_type: CallType::AgentInside,
            dialed_number: "2".into(),
            queue: None,
            variables: Vec::new(),
            wrap_up_reason: None,
            participants: agents.iter().map(participant).collect(),
        }
    }

    #[test]
    fn reach_of_users() {
        let (a, b, c, s) = (user("a", "t1"), user("b", "t1"), user("c", "t2"), supervisor("s", &["t1"]));
        assert_eq!(user_reach(&a, &a), Ok(Reach::Own));
        assert_eq!(user_reach(&a, &b).map_err(|e| e.error_type), Err("Invalid Authorization User Specified".into()));
        assert_eq!(user_reach(&s, &b), Ok(Reach::Supervised));
        assert_eq!(user_reach(&s, &s), Ok(Reach::Own));
        assert_eq!(user_reach(&s, &c).map_err(|e| e.error_type), Err("Invalid Supervisor".into()));
        assert_eq!(super::user(&a, None, "x").map_err(|e| (e.status, e.data)), Err((401, "x".into())));
        assert_eq!(super::user(&s, None, "x").map_err(|e| e.error_type), Err("Invalid Supervisor".into()));
    }

    fn user_reach(caller: &UserRecord, target: &UserRecord) -> Result<Reach, ApiError> {
        super::user(caller, Some(target), &target.login_id)
    }

    #[test]
    fn supervisors_may_only_ready_and_logout() {
        assert!(state_change(Reach::Supervised, &UserRequest::Ready).is_ok());
        assert!(state_change(Reach::Supervised, &UserRequest::Logout { reason_code_id: Some(2) }).is_ok());
        assert!(state_change(Reach::Supervised, &UserRequest::NotReady { reason_code_id: None }).is_err());
        assert!(state_change(Reach::Supervised, &UserRequest::Login { extension: "1".into() }).is_err());
        assert!(state_change(Reach::Own, &UserRequest::Login { extension: "1".into() }).is_ok());
        assert!(own_only(Reach::Own, "a").is_ok());
        assert_eq!(own_only(Reach::Supervised, "a").map_err(|e| e.error_type), Err("Invalid Supervisor".into()));
    }

    #[test]
    fn teams_queues_and_dialogs() {
        let mut dir = Directory::default();
        dir.put_queue(crate::directory::QueueRecord { id: "q1".into(), name: "Q".into(), teams: vec!["t1".into()] });
        let (a, b, c, s) = (user("a", "t1"), user("b", "t1"), user("c", "t2"), supervisor("s", &["t1"]));
        for u in [&a, &b, &c, &s] {
            dir.put_user(u.clone());
        }
        assert!(team(&s, "t1").is_ok());
        assert_eq!(team(&s, "t2").map_err(|e| e.error_type), Err("Invalid Supervisor".into()));
        assert_eq!(team(&a, "t1").map_err(|e| e.error_type), Err("Invalid Authorization User Specified".into()));
        assert!(queue(&dir, &a, "q1").is_ok());
        assert!(queue(&dir, &s, "q1").is_ok());
        assert!(queue(&dir, &c, "q1").is_err());

        let call = call_with(&["a", "x"]);
        assert!(in_call(&a, &call) && !in_call(&b, &call));
        assert!(read_dialog(&dir, &a, &call).is_ok());
        assert!(read_dialog(&dir, &s, &call).is_ok());
        assert_eq!(read_dialog(&dir, &b, &call).map_err(|e| e.status), Err(401));
        assert!(act_on_dialog(&dir, &a, &call).is_ok());
        assert_eq!(act_on_dialog(&dir, &s, &call).map_err(|e| e.error_type), Err("Invalid Supervisor".into()));
        assert_eq!(act_on_dialog(&dir, &c, &call).map_err(|e| e.error_type), Err("Invalid Authorization User Specified".into()));
    }
}
