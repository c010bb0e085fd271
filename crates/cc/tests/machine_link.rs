//! CTI link supervision on a fake clock (finesse-domain.md §4.2): missed heartbeats and a lost
//! connection put the web services out of service (SystemInfo published, 503 on state changes),
//! the first event after the outage reconciles, republishes and puts them back in service, and
//! presence-driven logouts decided meanwhile are held, not lost, not doubled. Also the
//! snapshot's reconcile at start.

mod machine_support;

use herald_cc::{LinkConfig, LinkDownCause, Method, PresenceLogoutConfig, WsLog};
use herald_cti::{AgentState, CallState, CtiEvent, CtiRequest, ParticipantState, RequestedState};
use machine_support::*;

const GRACE: u64 = 60_000;
/// 3 × 5 s + 2.5 s.
const SILENCE: u64 = 17_500;

fn machine_default() -> herald_cc::ContactCenter {
    machine_with(PresenceLogoutConfig::default(), LinkConfig::default())
}

/// SystemInfo's `status` in an update.
fn system_status(update: &Update) -> String {
    assert_eq!(update.node, "/finesse/api/SystemInfo");
    child_text(&update.data, "status").expect("status")
}

fn ready_body() -> &'static str {
    "<User><state>READY</state></User>"
}

#[test]
fn missed_heartbeats_put_the_service_out_at_exactly_the_deadline() {
    let mut cc = machine_default();
    assert_eq!(cc.poll_timeout(), None, "not armed before the first CTI event");
    cc.handle_cti(T0, CtiEvent::Heartbeat);
    assert_eq!(cc.poll_timeout(), Some(T0 + SILENCE));
    cc.handle_cti(T0 + 5_000, CtiEvent::Heartbeat);
    let deadline = T0 + 5_000 + SILENCE;
    assert_eq!(cc.poll_timeout(), Some(deadline));
    cc.handle_timeout(deadline - 1);
    assert!(drain(&mut cc).updates.is_empty());
    assert!(cc.in_service());

    let steps = run_until(&mut cc, T0 + 100_000);
    let [(at, out)] = steps.as_slice() else { panic!("one step: {steps:?}") };
    assert_eq!(*at, deadline);
    let [info] = out.updates.as_slice() else { panic!("one publish: {out:?}") };
    assert_eq!(system_status(info), "OUT_OF_SERVICE");
    assert_eq!(out.logs, [WsLog::LinkDown { cause: LinkDownCause::MissedHeartbeats(3), last_heard: T0 + 5_000, at: deadline }]);
    assert!(!cc.in_service());
    assert_eq!(cc.poll_timeout(), None, "nothing more to supervise while down");

    // REST state changes: 503 with an ApiErrors body; SystemInfo still answers.
    let answer = put(&mut cc, "1001", "User/1001", ready_body());
    assert_eq!(answer.status, 503);
    let _ = refusal(&answer);
    assert_eq!(get(&mut cc, "1001", "SystemInfo").status, 200);
    assert!(drain(&mut cc).cti.is_empty());
}

#[test]
fn any_event_counts_as_hearing_the_link() {
    let mut cc = machine_default();
    cc.handle_cti(T0, CtiEvent::Heartbeat);
    cc.handle_cti(T0 + 10_000, agent_event(None, snapshot("1001", AgentState::NotReady, Some("1001"), None)));
    drain(&mut cc);
    assert_eq!(cc.poll_timeout(), Some(T0 + 10_000 + SILENCE));
}

#[test]
fn heartbeat_supervision_can_be_off() {
    let mut cc = machine_with(PresenceLogoutConfig::default(), LinkConfig { heartbeat_ms: 0, missed_heartbeats: 3 });
    cc.handle_cti(T0, CtiEvent::Heartbeat);
    assert_eq!(cc.poll_timeout(), None);
    cc.handle_timeout(T0 + 10 * SILENCE);
    assert!(cc.in_service());
    // A lost connection still counts.
    cc.handle_cti(T0 + 1, CtiEvent::LinkLost);
    assert!(!cc.in_service());
}

#[test]
fn link_lost_is_out_of_service_at_once_and_only_once() {
    let mut cc = machine_default();
    cc.handle_cti(T0, CtiEvent::Heartbeat);
    cc.handle_cti(T0 + 2_000, CtiEvent::LinkLost);
    let out = drain(&mut cc);
    let [info] = out.updates.as_slice() else { panic!("one publish: {out:?}") };
    assert_eq!(system_status(info), "OUT_OF_SERVICE");
    assert_eq!(child_text(&info.data, "statusReason").as_deref(), Some("CTI link down"));
    assert_eq!(out.logs, [WsLog::LinkDown { cause: LinkDownCause::ConnectionLost, last_heard: T0, at: T0 + 2_000 }]);
    cc.handle_cti(T0 + 3_000, CtiEvent::LinkLost);
    let again = drain(&mut cc);
    assert!(again.updates.is_empty() && again.logs.is_empty());
    assert_eq!(cc.poll_timeout(), None);
    assert_eq!(put(&mut cc, "1001", "User/1001", ready_body()).status, 503);
}

/// 1001 READY, 1002 TALKING on call 7, both on their desktops; link heard at T0.
fn busy_center() -> herald_cc::ContactCenter {
    let mut cc = machine_default();
    cc.handle_cti(T0, CtiEvent::Heartbeat);
    in_state(&mut cc, T0, "1001", AgentState::Ready);
    in_state(&mut cc, T0, "1002", AgentState::Talking);
    let call = a_call(
        7,
        CallState::Active,
        vec![participant("1002", Some("1002"), ParticipantState::Active), participant("5550100", None, ParticipantState::Active)],
    );
    cc.handle_cti(T0, CtiEvent::Call { tag: None, snapshot: call });
    cc.presence(T0, "1001", "desktop", true);
    cc.presence(T0, "1002", "desktop", true);
    drain(&mut cc);
    cc
}

#[test]
fn recovery_republishes_then_in_service_then_releases_held_logouts_once() {
    let mut cc = busy_center();
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    cc.handle_cti(T0 + 2_000, CtiEvent::LinkLost);
    drain(&mut cc);
    // The grace ends during the outage: held, not sent.
    let steps = run_until(&mut cc, T0 + 1_000 + GRACE);
    let [(_, out)] = steps.as_slice() else { panic!("one step: {steps:?}") };
    assert!(out.cti.is_empty());
    assert_eq!(out.logs, [WsLog::LogoutHeld { agent: "1001".into(), at: T0 + 1_000 + GRACE, why: "CTI link down" }]);
    assert_eq!(cc.poll_timeout(), None);

    let back = T0 + 100_000;
    cc.handle_cti(
        back,
        CtiEvent::Snapshot {
            agents: vec![
                snapshot("1001", AgentState::Ready, Some("1001"), None),
                snapshot("1002", AgentState::Talking, Some("1002"), None),
            ],
            calls: vec![a_call(
                7,
                CallState::Active,
                vec![participant("1002", Some("1002"), ParticipantState::Active), participant("5550100", None, ParticipantState::Active)],
            )],
        },
    );
    let out = drain(&mut cc);
    // Every user (5) on its User node and its team's node, the call to its holder, IN_SERVICE last.
    let users = out.updates.iter().filter(|u| u.node.starts_with("/finesse/api/User/") && !u.node.ends_with("/Dialogs")).count();
    let teams = out.updates.iter().filter(|u| u.node.starts_with("/finesse/api/Team/")).count();
    assert_eq!((users, teams), (5, 5));
    let dialogs: Vec<_> = out.updates.iter().filter(|u| u.node.ends_with("/Dialogs")).collect();
    assert_eq!(dialogs.len(), 1);
    assert_eq!((dialogs[0].node.as_str(), dialogs[0].event.as_str()), ("/finesse/api/User/1002/Dialogs", "PUT"));
    assert_eq!(dialogs[0].source, "/finesse/api/Dialog/7");
    let last = out.updates.last().expect("publishes");
    assert_eq!(system_status(last), "IN_SERVICE");
    assert!(cc.in_service());
    // The held logout, once, after IN_SERVICE.
    let [request] = out.cti.as_slice() else { panic!("one request: {out:?}") };
    assert!(
        matches!(request, CtiRequest::AgentState { agent, state: RequestedState::Logout, reason_code: Some(255), forced: true, .. } if agent == "1001")
    );
    assert_eq!(out.logs.last(), Some(&WsLog::LinkUp { down_since: T0 + 2_000, at: back, agents: 5, calls: 1, released: 1 }));
    assert!(out.logs.iter().any(|l| matches!(l, WsLog::PresenceDrivenLogout { agent, .. } if agent == "1001")));
    assert_eq!(cc.poll_timeout(), Some(back + SILENCE), "supervision re-armed");

    // A later event is not a recovery: nothing republished, nothing sent again.
    cc.handle_cti(back + 1_000, CtiEvent::Heartbeat);
    let out = drain(&mut cc);
    assert!(out.updates.is_empty() && out.cti.is_empty() && out.logs.is_empty());
    assert_eq!(put(&mut cc, "1002", "User/1002", "<User><state>NOT_READY</state></User>").status, 202);
}

#[test]
fn a_held_logout_is_not_sent_if_the_desktop_came_back_during_the_outage() {
    let mut cc = busy_center();
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    cc.handle_cti(T0 + 2_000, CtiEvent::LinkLost);
    run_until(&mut cc, T0 + 1_000 + GRACE);
    cc.presence(T0 + 80_000, "1001", "ws", true);
    assert!(matches!(drain(&mut cc).logs.as_slice(), [WsLog::TimerCancelled { .. }]));
    cc.handle_cti(T0 + 100_000, CtiEvent::Heartbeat);
    let out = drain(&mut cc);
    assert!(out.cti.is_empty());
    assert!(matches!(out.logs.last(), Some(WsLog::LinkUp { released: 0, .. })));
}

#[test]
fn missed_heartbeats_and_a_grace_at_the_same_instant_hold_the_logout() {
    // The grace ends exactly when the link is declared lost.
    let mut cc = machine_with(PresenceLogoutConfig { grace_ms: SILENCE, ..PresenceLogoutConfig::default() }, LinkConfig::default());
    cc.handle_cti(T0, CtiEvent::Heartbeat);
    in_state(&mut cc, T0, "1001", AgentState::Ready);
    cc.presence(T0, "1001", "desktop", true);
    cc.presence(T0, "1001", "desktop", false);
    drain(&mut cc);
    assert_eq!(cc.poll_timeout(), Some(T0 + SILENCE));
    let steps = run_until(&mut cc, T0 + SILENCE);
    let [(_, out)] = steps.as_slice() else { panic!("one step: {steps:?}") };
    assert!(out.cti.is_empty());
    assert!(matches!(out.logs.as_slice(), [WsLog::LinkDown { .. }, WsLog::LogoutHeld { why: "CTI link down", .. }]), "{out:?}");
}

#[test]
fn poll_timeout_is_the_earliest_of_graces_and_link() {
    let mut cc = busy_center();
    assert_eq!(cc.poll_timeout(), Some(T0 + SILENCE));
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    drain(&mut cc);
    assert_eq!(cc.poll_timeout(), Some(T0 + SILENCE));
    // Heard until the grace is the earliest.
    for i in 1..=12 {
        cc.handle_cti(T0 + i * 5_000, CtiEvent::Heartbeat);
    }
    assert_eq!(cc.poll_timeout(), Some(T0 + 1_000 + GRACE));
}

#[test]
fn a_snapshot_ends_the_calls_it_no_longer_has() {
    let mut cc = busy_center();
    let call8 = a_call(
        8,
        CallState::Active,
        vec![participant("1001", Some("1001"), ParticipantState::Active), participant("5550101", None, ParticipantState::Active)],
    );
    cc.handle_cti(T0 + 1, CtiEvent::Call { tag: None, snapshot: call8.clone() });
    drain(&mut cc);
    // In service: a snapshot is a reconcile only (call 7 ended meanwhile, call 8 unchanged).
    cc.handle_cti(
        T0 + 2,
        CtiEvent::Snapshot {
            agents: vec![
                snapshot("1001", AgentState::Ready, Some("1001"), None),
                snapshot("1002", AgentState::Talking, Some("1002"), None),
            ],
            calls: vec![call8],
        },
    );
    let out = drain(&mut cc);
    let changes: Vec<(&str, &str)> = out.updates.iter().map(|u| (u.node.as_str(), u.event.as_str())).collect();
    assert_eq!(changes, [("/finesse/api/User/1002/Dialogs", "DELETE")]);
    assert!(out.logs.is_empty());
}

#[test]
fn a_snapshot_removes_an_agent_that_left_a_live_call() {
    let mut cc = busy_center();
    let both = a_call(
        7,
        CallState::Active,
        vec![participant("1001", Some("1001"), ParticipantState::Active), participant("1002", Some("1002"), ParticipantState::Active)],
    );
    cc.handle_cti(T0 + 1, CtiEvent::Call { tag: None, snapshot: both });
    drain(&mut cc);
    let only_1001 = a_call(
        7,
        CallState::Active,
        vec![participant("1001", Some("1001"), ParticipantState::Active), participant("5550100", None, ParticipantState::Active)],
    );
    cc.handle_cti(T0 + 2, CtiEvent::Snapshot { agents: vec![], calls: vec![only_1001] });
    let out = drain(&mut cc);
    let changes: Vec<(&str, &str)> = out.updates.iter().map(|u| (u.node.as_str(), u.event.as_str())).collect();
    assert!(changes.contains(&("/finesse/api/User/1002/Dialogs", "DELETE")), "{changes:?}");
    assert!(!changes.contains(&("/finesse/api/User/1001/Dialogs", "DELETE")), "{changes:?}");
}

#[test]
fn the_start_snapshot_publishes_nothing_for_logged_out_agents_and_arms_graces() {
    let mut cc = machine_default();
    cc.presence(T0, "1002", "desktop", true);
    cc.handle_cti(
        T0,
        CtiEvent::Snapshot {
            agents: vec![
                snapshot("1001", AgentState::Ready, Some("1001"), None),
                snapshot("1002", AgentState::NotReady, Some("1002"), None),
                snapshot("1003", AgentState::Logout, None, None),
                snapshot("alice", AgentState::Logout, None, None),
                snapshot("stranger", AgentState::Ready, Some("9999"), None),
            ],
            calls: vec![],
        },
    );
    let out = drain(&mut cc);
    let nodes: Vec<&str> = out.updates.iter().map(|u| u.node.as_str()).collect();
    assert_eq!(nodes, ["/finesse/api/User/1001", "/finesse/api/Team/t1/Users", "/finesse/api/User/1002", "/finesse/api/Team/t1/Users"]);
    assert_eq!(out.logs, [WsLog::MonitorStarted { agent: "1001".into(), at: T0, deadline: T0 + GRACE, state: AgentState::Ready }]);
    assert!(out.cti.is_empty());
    // The logged-out agents are known: REST reads them as LOGOUT.
    let user = get(&mut cc, "1003", "User/1003");
    assert!(user.body.as_deref().is_some_and(|b| b.contains("<state>LOGOUT</state>")));

    // A later snapshot (a recovery) arms nothing: 1003 signed in meanwhile without a desktop.
    cc.handle_cti(T0 + 1_000, CtiEvent::Snapshot { agents: vec![snapshot("1003", AgentState::Ready, Some("1003"), None)], calls: vec![] });
    let out = drain(&mut cc);
    assert!(!out.logs.iter().any(|l| matches!(l, WsLog::MonitorStarted { .. })), "{out:?}");

    // 1001's rebuilt grace ends with a forced logout (the link heard all along).
    let mut requests = Vec::new();
    for at in (T0 + 5_000..=T0 + GRACE).step_by(5_000) {
        cc.handle_cti(at, CtiEvent::Heartbeat);
        requests.extend(run_until(&mut cc, at).into_iter().flat_map(|(_, o)| o.cti));
    }
    assert!(matches!(requests.as_slice(), [CtiRequest::AgentState { agent, forced: true, .. }] if agent == "1001"), "{requests:?}");
    assert!(cc.in_service());
}

#[test]
fn a_start_snapshot_with_presence_logout_disabled_arms_nothing() {
    let mut cc = machine_with(PresenceLogoutConfig { enabled: false, ..PresenceLogoutConfig::default() }, LinkConfig::default());
    cc.handle_cti(T0, CtiEvent::Snapshot { agents: vec![snapshot("1001", AgentState::Ready, Some("1001"), None)], calls: vec![] });
    assert!(drain(&mut cc).logs.is_empty());
    assert_eq!(cc.poll_timeout(), Some(T0 + SILENCE));
}

#[test]
fn rest_requests_other_than_state_changes_are_refused_while_down_too() {
    let mut cc = busy_center();
    cc.handle_cti(T0 + 1, CtiEvent::LinkLost);
    drain(&mut cc);
    let answer = cc.handle_rest(T0 + 2, "1001", call(Method::Get, "/finesse/api/User/1001", ""));
    assert_eq!(answer.status, 503);
}

#[test]
fn a_logout_held_on_a_call_whose_call_ended_during_the_outage_is_sent_once_after_recovery() {
    let mut cc = busy_center();
    // 1002 is TALKING (UCCX): its grace ends on the call.
    cc.presence(T0 + 1_000, "1002", "desktop", false);
    for at in (T0 + 5_000..=T0 + 1_000 + GRACE).step_by(5_000) {
        cc.handle_cti(at, CtiEvent::Heartbeat);
        run_until(&mut cc, at);
    }
    let steps = run_until(&mut cc, T0 + 1_000 + GRACE);
    assert!(steps.iter().all(|(_, o)| o.cti.is_empty()));
    cc.handle_cti(T0 + 70_000, CtiEvent::LinkLost);
    drain(&mut cc);
    // The call ended unseen; the recovery snapshot shows 1002 in WORK with no call.
    cc.handle_cti(T0 + 90_000, CtiEvent::Snapshot { agents: vec![snapshot("1002", AgentState::Work, Some("1002"), None)], calls: vec![] });
    let out = drain(&mut cc);
    let requests: Vec<_> = out.cti.iter().collect();
    assert!(
        matches!(requests.as_slice(), [CtiRequest::AgentState { agent, state: RequestedState::Logout, forced: true, .. }] if agent == "1002"),
        "{out:?}"
    );
    assert!(out.updates.iter().any(|u| u.node == "/finesse/api/User/1002/Dialogs" && u.event == "DELETE"));
    assert!(matches!(out.logs.last(), Some(WsLog::LinkUp { released: 1, .. })), "{:?}", out.logs);
}
