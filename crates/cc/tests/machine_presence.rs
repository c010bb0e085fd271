//! The presence monitor and the presence-driven logout on a fake clock (finesse-domain.md §5):
//! the grace, each race, the UCCX and UCCE decisions, the forced request and its answer, and
//! the web-services log lines of the story.

mod machine_support;

use herald_cc::{LinkConfig, LogoutAction, LogoutMode, PresenceLogoutConfig, WsLog};
use herald_cti::{AgentState, CtiEvent, CtiFailure, CtiRequest, RequestedState};
use machine_support::*;
use proptest::prelude::*;

const GRACE: u64 = 60_000;

/// No heartbeat supervision: only the graces make deadlines.
fn quiet_link() -> LinkConfig {
    LinkConfig { heartbeat_ms: 0, missed_heartbeats: 3 }
}

fn uccx() -> PresenceLogoutConfig {
    PresenceLogoutConfig::default()
}

fn ucce(logout_on_disconnect: bool) -> PresenceLogoutConfig {
    PresenceLogoutConfig { mode: LogoutMode::Ucce, logout_on_disconnect, ..PresenceLogoutConfig::default() }
}

/// 1001 READY with its `desktop` resource available.
fn ready_on_desktop(presence: PresenceLogoutConfig) -> herald_cc::ContactCenter {
    let mut cc = machine_with(presence, quiet_link());
    in_state(&mut cc, T0, "1001", AgentState::Ready);
    cc.presence(T0, "1001", "desktop", true);
    assert!(drain(&mut cc).logs.is_empty(), "an available presence of a new resource says nothing");
    cc
}

/// The requests sent while running to `until`, with their times.
fn requests_until(cc: &mut herald_cc::ContactCenter, until: u64) -> Vec<(u64, CtiRequest)> {
    run_until(cc, until).into_iter().flat_map(|(at, out)| out.cti.into_iter().map(move |r| (at, r))).collect()
}

fn forced(state: RequestedState) -> impl Fn(&CtiRequest) -> bool {
    move |r| {
        matches!(r, CtiRequest::AgentState { agent, state: s, reason_code: Some(255), forced: true, .. }
            if agent == "1001" && *s == state)
    }
}

#[test]
fn the_seed_story_uccx_ready_is_logged_out_with_255() {
    let mut cc = ready_on_desktop(uccx());
    let gone = T0 + 1_000;
    cc.presence(gone, "1001", "desktop", false);
    let out = drain(&mut cc);
    let jid = "1001@fin1.example/desktop".to_owned();
    assert_eq!(
        out.logs,
        [
            WsLog::PresenceUnavailable { agent: "1001".into(), jid: jid.clone(), at: gone },
            WsLog::Unsubscribe { agent: "1001".into(), jid, remaining: 0 },
            WsLog::MonitorStarted { agent: "1001".into(), at: gone, deadline: gone + GRACE, state: AgentState::Ready },
        ]
    );
    assert!(out.cti.is_empty() && out.updates.is_empty());
    assert_eq!(cc.poll_timeout(), Some(gone + GRACE));

    // Nothing before the deadline.
    cc.handle_timeout(gone + GRACE - 1);
    assert!(drain(&mut cc).logs.is_empty());

    let steps = run_until(&mut cc, gone + 10 * GRACE);
    assert_eq!(steps.len(), 1);
    let (at, out) = &steps[0];
    assert_eq!(*at, gone + GRACE);
    assert_eq!(
        out.logs,
        [
            WsLog::PresenceDrivenLogout {
                agent: "1001".into(),
                state: AgentState::Ready,
                action: LogoutAction::Logout,
                at: gone + GRACE,
                unavailable_since: gone
            },
            WsLog::MessageToCti {
                agent: "1001".into(),
                action: LogoutAction::Logout,
                reason_code: 255,
                forced: true,
                extension: Some("1001".into()),
                at: gone + GRACE
            },
        ]
    );
    let [request] = out.cti.as_slice() else { panic!("one request: {:?}", out.cti) };
    assert!(forced(RequestedState::Logout)(request), "{request:?}");
    assert_eq!(cc.poll_timeout(), None);

    // The CTI side answers: the normal publish (reason code 255 on User and Team), then DECODED.
    let answer_at = gone + GRACE + 10;
    cc.handle_cti(answer_at, agent_event(Some(request.tag()), snapshot("1001", AgentState::Logout, None, Some(255))));
    let out = drain(&mut cc);
    let nodes: Vec<&str> = out.updates.iter().map(|u| u.node.as_str()).collect();
    assert_eq!(nodes, ["/finesse/api/User/1001", "/finesse/api/Team/t1/Users"]);
    let user = &out.updates[0].data;
    assert_eq!(child_text(user, "state").as_deref(), Some("LOGOUT"));
    assert_eq!(child_text(user, "reasonCodeId").as_deref(), Some("4"));
    let code = user.child("ReasonCode", &user.ns).expect("the forced reason code");
    assert_eq!(child_text(code, "code").as_deref(), Some("255"));
    assert_eq!(child_text(code, "systemCode").as_deref(), Some("true"));
    assert_eq!(child_text(code, "category").as_deref(), Some("LOGOUT"));
    let member = &out.updates[1].data;
    let member_code = member.child("reasonCode", &member.ns).expect("the team member's reason code");
    assert_eq!(child_text(member_code, "code").as_deref(), Some("255"));
    assert_eq!(
        out.logs,
        [WsLog::Decoded { agent: "1001".into(), state: AgentState::Logout, pending: None, reason_code: Some(255), at: answer_at }]
    );

    // A later event with the same tag is not decoded twice.
    cc.handle_cti(answer_at + 1, agent_event(Some(request.tag()), snapshot("1001", AgentState::Logout, None, Some(255))));
    assert!(drain(&mut cc).logs.is_empty());
}

#[test]
fn a_resource_back_before_the_grace_cancels_whatever_its_transport() {
    let mut cc = ready_on_desktop(uccx());
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    drain(&mut cc);
    cc.presence(T0 + 30_000, "1001", "ws", true);
    assert_eq!(
        drain(&mut cc).logs,
        [WsLog::TimerCancelled { agent: "1001".into(), jid: "1001@fin1.example/ws".into(), at: T0 + 30_000, deadline: T0 + 1_000 + GRACE }]
    );
    assert_eq!(cc.poll_timeout(), None);
    assert!(requests_until(&mut cc, T0 + 10 * GRACE).is_empty());
    cc.handle_timeout(T0 + 1_000 + GRACE);
    assert!(drain(&mut cc).cti.is_empty());
}

#[test]
fn a_second_disconnect_after_return_restarts_the_grace_once() {
    let mut cc = ready_on_desktop(uccx());
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    cc.presence(T0 + 20_000, "1001", "desktop", true);
    cc.presence(T0 + 40_000, "1001", "desktop", false);
    let logs = drain(&mut cc).logs;
    assert_eq!(logs.iter().filter(|l| matches!(l, WsLog::MonitorStarted { .. })).count(), 2);
    assert_eq!(cc.poll_timeout(), Some(T0 + 40_000 + GRACE));
    let requests = requests_until(&mut cc, T0 + 10 * GRACE);
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].0, T0 + 40_000 + GRACE);
}

#[test]
fn a_duplicate_unavailable_changes_nothing() {
    let mut cc = ready_on_desktop(uccx());
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    drain(&mut cc);
    cc.presence(T0 + 50_000, "1001", "desktop", false);
    cc.presence(T0 + 50_000, "1001", "never-seen", false);
    assert!(drain(&mut cc).logs.is_empty());
    assert_eq!(cc.poll_timeout(), Some(T0 + 1_000 + GRACE));
    let requests = requests_until(&mut cc, T0 + 10 * GRACE);
    assert_eq!(requests.iter().map(|(at, _)| *at).collect::<Vec<_>>(), [T0 + 1_000 + GRACE]);
}

#[test]
fn two_resources_one_goes_no_grace() {
    let mut cc = ready_on_desktop(uccx());
    cc.presence(T0, "1001", "ws", true);
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    let logs = drain(&mut cc).logs;
    assert_eq!(logs.last(), Some(&WsLog::Unsubscribe { agent: "1001".into(), jid: "1001@fin1.example/desktop".into(), remaining: 1 }));
    assert!(!logs.iter().any(|l| matches!(l, WsLog::MonitorStarted { .. })));
    assert_eq!(cc.poll_timeout(), None);
}

#[test]
fn an_agent_already_logged_out_gets_no_request() {
    let mut cc = ready_on_desktop(uccx());
    // Signed out, then closed the browser (race 1).
    in_state(&mut cc, T0 + 500, "1001", AgentState::Logout);
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    drain(&mut cc);
    let steps = run_until(&mut cc, T0 + 10 * GRACE);
    let [(_, out)] = steps.as_slice() else { panic!("one step") };
    assert!(out.cti.is_empty());
    assert_eq!(out.logs, [WsLog::AlreadyLoggedOut { agent: "1001".into(), at: T0 + 1_000 + GRACE }]);
}

#[test]
fn disabled_logs_presence_only() {
    let mut cc = ready_on_desktop(PresenceLogoutConfig { enabled: false, ..uccx() });
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    let logs = drain(&mut cc).logs;
    assert_eq!(logs.len(), 2);
    assert!(matches!(logs[0], WsLog::PresenceUnavailable { .. }) && matches!(logs[1], WsLog::Unsubscribe { .. }));
    assert_eq!(cc.poll_timeout(), None);
    assert!(requests_until(&mut cc, T0 + 10 * GRACE).is_empty());
}

#[test]
fn unknown_users_are_ignored() {
    let mut cc = machine_with(uccx(), quiet_link());
    cc.presence(T0, "nobody", "desktop", true);
    cc.presence(T0 + 1, "nobody", "desktop", false);
    assert!(drain(&mut cc).logs.is_empty());
    assert_eq!(cc.poll_timeout(), None);
}

#[test]
fn the_jid_localpart_is_matched_in_any_case() {
    let mut cc = machine_with(uccx(), quiet_link());
    in_state(&mut cc, T0, "Alice", AgentState::Ready);
    cc.presence(T0, "alice", "desktop", true);
    cc.presence(T0 + 1, "alice", "desktop", false);
    let logs = drain(&mut cc).logs;
    // The directory keeps login ids in lower case.
    assert!(
        logs.contains(&WsLog::MonitorStarted { agent: "alice".into(), at: T0 + 1, deadline: T0 + 1 + GRACE, state: AgentState::Ready }),
        "{logs:?}"
    );
}

#[test]
fn uccx_talking_is_held_until_the_call_ends_then_logged_out() {
    let mut cc = ready_on_desktop(uccx());
    in_state(&mut cc, T0 + 500, "1001", AgentState::Talking);
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    drain(&mut cc);
    let steps = run_until(&mut cc, T0 + 10 * GRACE);
    let [(at, out)] = steps.as_slice() else { panic!("one step") };
    assert!(out.cti.is_empty());
    assert_eq!(out.logs, [WsLog::LogoutHeld { agent: "1001".into(), at: *at, why: "on a call" }]);

    // Still on the call (HOLD): still held, nothing said.
    in_state(&mut cc, T0 + 200_000, "1001", AgentState::Hold);
    let later = T0 + 300_000;
    cc.handle_cti(later, agent_event(None, snapshot("1001", AgentState::Work, Some("1001"), None)));
    let out = drain(&mut cc);
    let [request] = out.cti.as_slice() else { panic!("one request: {out:?}") };
    assert!(forced(RequestedState::Logout)(request));
    assert!(out.logs.contains(&WsLog::PresenceDrivenLogout {
        agent: "1001".into(),
        state: AgentState::Work,
        action: LogoutAction::Logout,
        at: later,
        unavailable_since: T0 + 1_000
    }));
    // Released once: another event sends nothing.
    in_state(&mut cc, later + 1, "1001", AgentState::NotReady);
    cc.handle_cti(later + 2, agent_event(None, snapshot("1001", AgentState::Ready, Some("1001"), None)));
    assert!(drain(&mut cc).cti.is_empty());
}

#[test]
fn a_held_uccx_logout_is_dropped_when_the_desktop_comes_back() {
    let mut cc = ready_on_desktop(uccx());
    in_state(&mut cc, T0 + 500, "1001", AgentState::Talking);
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    run_until(&mut cc, T0 + 10 * GRACE);
    cc.presence(T0 + 100_000, "1001", "desktop", true);
    assert!(matches!(drain(&mut cc).logs.as_slice(), [WsLog::TimerCancelled { .. }]));
    cc.handle_cti(T0 + 200_000, agent_event(None, snapshot("1001", AgentState::Ready, Some("1001"), None)));
    assert!(drain(&mut cc).cti.is_empty());
}

#[test]
fn ucce_asks_not_ready_even_on_a_call() {
    let mut cc = ready_on_desktop(ucce(false));
    in_state(&mut cc, T0 + 500, "1001", AgentState::Talking);
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    drain(&mut cc);
    let requests = requests_until(&mut cc, T0 + 10 * GRACE);
    let [(at, request)] = requests.as_slice() else { panic!("one request: {requests:?}") };
    assert_eq!(*at, T0 + 1_000 + GRACE);
    assert!(forced(RequestedState::NotReady)(request), "{request:?}");
    // The CTI side makes it pending until the call ends: decoded with the pending state.
    let mut pending = snapshot("1001", AgentState::Talking, Some("1001"), Some(255));
    pending.pending = Some(AgentState::NotReady);
    cc.handle_cti(*at + 5, agent_event(Some(request.tag()), pending));
    let out = drain(&mut cc);
    assert_eq!(child_text(&out.updates[0].data, "pendingState").as_deref(), Some("NOT_READY"));
    assert_eq!(child_text(&out.updates[0].data, "reasonCodeId").as_deref(), Some("3"));
    assert_eq!(
        out.logs,
        [WsLog::Decoded {
            agent: "1001".into(),
            state: AgentState::Talking,
            pending: Some(AgentState::NotReady),
            reason_code: Some(255),
            at: *at + 5
        }]
    );
}

#[test]
fn ucce_ready_asks_not_ready() {
    let mut cc = ready_on_desktop(ucce(false));
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    let requests = requests_until(&mut cc, T0 + 10 * GRACE);
    assert!(matches!(requests.as_slice(), [(_, r)] if forced(RequestedState::NotReady)(r)), "{requests:?}");
}

#[test]
fn ucce_with_load_logs_out_mid_call() {
    let mut cc = ready_on_desktop(ucce(true));
    in_state(&mut cc, T0 + 500, "1001", AgentState::Talking);
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    drain(&mut cc);
    let steps = run_until(&mut cc, T0 + 10 * GRACE);
    let [(_, out)] = steps.as_slice() else { panic!("one step") };
    assert!(matches!(out.cti.as_slice(), [r] if forced(RequestedState::Logout)(r)), "{out:?}");
    assert!(matches!(out.logs[0], WsLog::PresenceDrivenLogout { state: AgentState::Talking, action: LogoutAction::Logout, .. }), "{out:?}");
}

#[test]
fn signing_in_again_elsewhere_within_the_grace_cancels() {
    let mut cc = ready_on_desktop(uccx());
    in_state(&mut cc, T0 + 500, "1001", AgentState::Logout);
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    drain(&mut cc);
    // Signed in on the other node: the CTI side reports it here too.
    cc.handle_cti(T0 + 20_000, agent_event(None, snapshot("1001", AgentState::NotReady, Some("1001"), None)));
    let logs = drain(&mut cc).logs;
    assert_eq!(logs, [WsLog::TimerCancelled { agent: "1001".into(), jid: String::new(), at: T0 + 20_000, deadline: T0 + 1_000 + GRACE }]);
    assert!(requests_until(&mut cc, T0 + 10 * GRACE).is_empty());
}

#[test]
fn a_refused_forced_request_is_published_and_not_decoded() {
    let mut cc = ready_on_desktop(uccx());
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    let requests = requests_until(&mut cc, T0 + 10 * GRACE);
    let [(at, request)] = requests.as_slice() else { panic!("one request") };
    cc.handle_cti(*at + 1, CtiEvent::Failure { tag: request.tag(), failure: CtiFailure::invalid_state() });
    let out = drain(&mut cc);
    assert_eq!(out.updates.len(), 1);
    assert_eq!(out.updates[0].node, "/finesse/api/User/1001");
    cc.handle_cti(*at + 2, agent_event(Some(request.tag()), snapshot("1001", AgentState::Logout, None, Some(255))));
    assert!(drain(&mut cc).logs.is_empty());
}

#[test]
fn poll_timeout_is_the_earliest_grace() {
    let mut cc = machine_with(uccx(), quiet_link());
    for agent in ["1001", "1002", "1003"] {
        in_state(&mut cc, T0, agent, AgentState::Ready);
        cc.presence(T0, agent, "desktop", true);
    }
    cc.presence(T0 + 3_000, "1003", "desktop", false);
    cc.presence(T0 + 1_000, "1001", "desktop", false);
    cc.presence(T0 + 2_000, "1002", "desktop", false);
    drain(&mut cc);
    assert_eq!(cc.poll_timeout(), Some(T0 + 1_000 + GRACE));
    cc.presence(T0 + 4_000, "1001", "desktop", true);
    assert_eq!(cc.poll_timeout(), Some(T0 + 2_000 + GRACE));
    // One late call handles every grace due.
    cc.handle_timeout(T0 + 10 * GRACE);
    let out = drain(&mut cc);
    let agents: Vec<_> = out
        .cti
        .iter()
        .map(|r| match r {
            CtiRequest::AgentState { agent, .. } => agent.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(agents, ["1002", "1003"]);
    assert_eq!(cc.poll_timeout(), None);
}

/// One presence step of agent 1001: after `dt` ms, resource `resource` (of two) goes
/// available or unavailable.
#[derive(Clone, Debug)]
struct Step {
    dt: u64,
    resource: usize,
    available: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (0..(2 * GRACE), 0..2usize, any::<bool>()).prop_map(|(dt, resource, available)| Step { dt, resource, available })
}

proptest! {
    /// Any interleaving of presences yields exactly one request per time the agent's last
    /// resource went away and none came back within the grace, each at that grace's end.
    #[test]
    fn one_request_per_unanswered_last_unavailable(steps in proptest::collection::vec(step(), 0..30)) {
        let mut cc = machine_with(uccx(), quiet_link());
        in_state(&mut cc, T0, "1001", AgentState::Ready);
        let names = ["desktop", "ws"];
        let mut now = T0;
        let mut up = [false, false];
        let mut deadline: Option<u64> = None;
        let mut expected = Vec::new();
        let mut sent = Vec::new();
        for s in steps {
            now += s.dt;
            if let Some(d) = deadline.filter(|d| *d <= now) {
                expected.push(d);
                deadline = None;
            }
            sent.extend(requests_until(&mut cc, now).into_iter().map(|(at, _)| at));
            cc.presence(now, "1001", names[s.resource], s.available);
            drain(&mut cc);
            let was_up = up.iter().any(|u| *u);
            let had = up[s.resource];
            up[s.resource] = s.available;
            if s.available {
                deadline = None;
            } else if had && was_up && !up.iter().any(|u| *u) {
                deadline = Some(now + GRACE);
            }
        }
        expected.extend(deadline);
        sent.extend(requests_until(&mut cc, now + 10 * GRACE).into_iter().map(|(at, _)| at));
        prop_assert_eq!(sent, expected);
    }
}
