//! The simulator's agent state machine: every allowed transition and every refusal.

mod common;

use common::*;
use herald_cti::{AgentState as S, CallAction, CtiFailure};

#[test]
fn login_ready_not_ready_logout_with_reasons() {
    let mut h = Harness::new(config());
    let ev = h.login("1001", "1001");
    let agents = agent_events(&ev);
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].0, Some(h.last_tag()));
    assert_eq!(agents[0].1.state, S::NotReady);
    assert_eq!(agents[0].1.extension.as_deref(), Some("1001"));
    assert_eq!(agents[0].1.since, T0);

    h.now += 1_000;
    assert_eq!(states_of(&h.ready("1001"), "1001"), [S::Ready]);
    assert_eq!(h.agent("1001").since, T0 + 1_000);
    let ev = h.not_ready("1001", Some(12));
    assert_eq!(states_of(&ev, "1001"), [S::NotReady]);
    assert_eq!(h.agent("1001").reason_code, Some(12));
    // NOT_READY again with another reason: accepted, reason replaced.
    let ev = h.not_ready("1001", Some(14));
    assert_eq!(states_of(&ev, "1001"), [S::NotReady]);
    assert_eq!(h.agent("1001").reason_code, Some(14));
    let ev = h.logout("1001", Some(30));
    let agents = agent_events(&ev);
    assert_eq!(agents[0].1.state, S::Logout);
    assert_eq!(agents[0].1.reason_code, Some(30), "the logout reason is kept in the event");
    assert_eq!(agents[0].1.extension, None);
    // The extension is free again.
    assert_eq!(states_of(&h.login("1001", "1001"), "1001"), [S::NotReady]);
}

#[test]
fn refused_transitions_change_nothing() {
    let mut h = Harness::new(config());
    // From LOGOUT: READY, NOT_READY and LOGOUT are refused.
    let refusals: [fn(&mut Harness) -> Vec<herald_cti::CtiEvent>; 3] =
        [|h| h.ready("1001"), |h| h.not_ready("1001", Some(1)), |h| h.logout("1001", None)];
    for refuse in refusals {
        let ev = refuse(&mut h);
        assert_eq!(failure(&ev), Some((h.last_tag(), CtiFailure::invalid_state())));
        assert!(agent_events(&ev).is_empty());
    }
    assert_eq!(h.state("1001"), S::Logout);
    // From READY: LOGOUT and READY are refused.
    h.sign_in_ready("1001");
    for ev in [h.logout("1001", None), h.ready("1001")] {
        assert_eq!(failure(&ev).map(|f| f.1), Some(CtiFailure::invalid_state()));
    }
    assert_eq!(h.state("1001"), S::Ready);
    // An agent nobody knows cannot change state.
    let ev = h.ready("9999");
    assert_eq!(failure(&ev).map(|f| f.1), Some(CtiFailure::invalid_state()));
}

#[test]
fn login_device_rules() {
    let mut h = Harness::new(config());
    // Not the configured extension.
    let ev = h.login("1001", "1002");
    assert_eq!(failure(&ev), Some((h.last_tag(), CtiFailure::invalid_device())));
    // Empty.
    let ev = h.login("1001", "");
    assert_eq!(failure(&ev).map(|f| f.1), Some(CtiFailure::invalid_device()));
    assert_eq!(h.state("1001"), S::Logout);
    // An agent with no configured extension may use any free one, not one taken or configured
    // for someone else.
    h.sim.put_agent(herald_cti::sim::SimAgent {
        agent: "free".into(),
        extension: None,
        queues: vec![],
        wrap_up_incoming: false,
        wrap_up_outgoing: false,
    });
    h.login("1002", "1002");
    let ev = h.login("free", "1002");
    assert_eq!(failure(&ev).map(|f| f.1), Some(CtiFailure::invalid_device()), "signed in by 1002");
    let ev = h.login("free", "1003");
    assert_eq!(failure(&ev).map(|f| f.1), Some(CtiFailure::invalid_device()), "configured for 1003");
    assert_eq!(states_of(&h.login("free", "7777"), "free"), [S::NotReady]);
    // An agent the scenario never listed signs in with no queue.
    assert_eq!(states_of(&h.login("stranger", "7778"), "stranger"), [S::NotReady]);
}

#[test]
fn repeated_login_reports_the_current_state() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1001");
    let ev = h.login("1001", "1001");
    let agents = agent_events(&ev);
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].0, Some(h.last_tag()));
    assert_eq!(agents[0].1.state, S::Ready);
    assert!(failure(&ev).is_none());
}

#[test]
fn forced_logout_from_any_state_and_when_logged_out() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1001");
    let ev = h.forced_logout("1001");
    let last = agent_events(&ev).pop().expect("an agent event").1;
    assert_eq!((last.state, last.reason_code), (S::Logout, Some(255)));
    // Already logged out: reported again, no failure.
    let ev = h.forced_logout("1001");
    assert!(failure(&ev).is_none());
    assert_eq!(states_of(&ev, "1001"), [S::Logout]);
    // So is an agent the simulator never saw; a plain logout of it is refused.
    let ev = h.forced_logout("nobody");
    assert_eq!(states_of(&ev, "nobody"), [S::Logout]);
    assert!(h.sim.agent("nobody").is_none());
    assert!(failure(&h.logout("nobody", None)).is_some());
}

#[test]
fn pending_states_while_on_a_call() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1002");
    let call = h.inject("sales");
    assert_eq!(h.state("1002"), S::Reserved);
    // RESERVED: READY / NOT_READY become pending, LOGOUT is refused.
    let ev = h.not_ready("1002", Some(5));
    assert_eq!(agent_events(&ev)[0].1.pending, Some(S::NotReady));
    assert_eq!(h.state("1002"), S::Reserved);
    assert!(failure(&h.logout("1002", None)).is_some());
    h.act("1002", call, CallAction::Answer);
    assert_eq!(h.state("1002"), S::Talking);
    let ev = h.ready("1002");
    assert_eq!(agent_events(&ev)[0].1.pending, Some(S::Ready));
    let ev = h.not_ready("1002", Some(6));
    assert_eq!(agent_events(&ev)[0].1.pending, Some(S::NotReady));
    h.act("1002", call, CallAction::Hold);
    assert_eq!(h.state("1002"), S::Hold);
    assert!(failure(&h.logout("1002", None)).is_some());
    h.act("1002", call, CallAction::Retrieve);
    // The customer hangs up: the pending state is applied, with its reason.
    let ev = h.advance(60_000);
    assert_eq!(states_of(&ev, "1002"), [S::NotReady]);
    let a = h.agent("1002");
    assert_eq!((a.reason_code, a.pending), (Some(6), None));
}

#[test]
fn wrap_up_ends_by_request_or_timer() {
    let mut h = Harness::new(config());
    // 1001 wraps up after incoming calls.
    h.sign_in_ready("1001");
    let call = h.inject("sales");
    h.act("1001", call, CallAction::Answer);
    h.advance(60_000);
    assert_eq!(h.state("1001"), S::WorkReady);
    // LOGOUT is refused in wrap-up; READY ends it.
    assert!(failure(&h.logout("1001", None)).is_some());
    let ev = h.ready("1001");
    assert_eq!(ended(&ev), [(call, vec!["1001".to_owned()])]);
    assert_eq!(states_of(&ev, "1001"), [S::Ready]);
    assert!(h.sim.call(call).is_none());
    // Again, ended by NOT_READY.
    let call = h.inject("sales");
    h.act("1001", call, CallAction::Answer);
    h.advance(60_000);
    let ev = h.not_ready("1001", Some(3));
    assert_eq!(ended(&ev).len(), 1);
    assert_eq!((h.state("1001"), h.agent("1001").reason_code), (S::NotReady, Some(3)));
}
