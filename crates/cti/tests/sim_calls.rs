//! The simulator's ACD and call control: routing order, RONA, wrap-up, answer/hold/retrieve/
//! drop, DTMF and call data, MAKE_CALL, consult, transfer, conference, forced logout mid-call.

mod common;

use common::*;
use herald_cti::{AgentState as S, CallAction, CallState, CallType, CtiFailure, FailureCause, ParticipantState as P};

fn op(constant: &str, code: u32) -> Option<CtiFailure> {
    Some(CtiFailure::call_operation(constant, code))
}

#[test]
fn longest_available_agent_gets_the_call() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1002");
    h.now += 1;
    h.sign_in_ready("1003");
    h.now += 1;
    h.sign_in_ready("1001");
    let (first, ev) = h.inject_events("sales");
    assert_eq!(offered_to(&ev, "1002"), Some(first));
    let call = h.call(first);
    assert_eq!((call.state, call.call_type), (CallState::Alerting, CallType::AcdIn));
    assert_eq!(call.queue.as_ref().map(|q| q.id.as_str()), Some("sales"));
    assert_eq!(call.dialed_number, "8000");
    assert_eq!(call.from, "5551234567");
    assert_eq!(call.participants.len(), 2);
    assert_eq!((call.participants[0].agent.as_deref(), call.participants[0].state), (None, P::Initiated));
    assert_eq!(call.participants[1].address, "1002");
    assert!(call.variables.iter().any(|(n, _)| n == "callVariable1"), "generated call data");
    assert_eq!(states_of(&ev, "1002"), [S::Reserved]);
    let (second, ev) = h.inject_events("sales");
    assert_eq!(offered_to(&ev, "1003"), Some(second));
    let (third, ev) = h.inject_events("sales");
    assert_eq!(offered_to(&ev, "1001"), Some(third));
    // Nobody READY: the call waits, and goes to whoever becomes READY first.
    let (fourth, ev) = h.inject_events("sales");
    assert!(call_events(&ev).is_empty());
    assert_eq!(h.sim.queue_stats("sales").map(|s| s.calls_in_queue), Some(1));
    h.sign_in_ready("1004"); // not in sales
    h.sim.check_invariants().expect("support agent does not take sales calls");
    assert_eq!(h.sim.queue_stats("sales").map(|s| s.calls_in_queue), Some(1));
    h.act("1002", first, CallAction::Answer);
    h.act("1002", first, CallAction::Drop);
    assert_eq!(h.state("1002"), S::Reserved);
    assert_eq!(h.sim.agent_calls("1002"), [fourth], "back to READY, took the waiting call");
}

#[test]
fn waiting_calls_are_first_in_first_out_across_queues() {
    let mut h = Harness::new(config());
    h.login("1003", "1003");
    let a = h.inject("support");
    h.now += 5;
    let _b = h.inject("sales");
    let ev = h.ready("1003");
    assert_eq!(offered_to(&ev, "1003"), Some(a), "the longest-waiting call of its queues");
    assert_eq!(h.sim.queue_stats("support").and_then(|s| s.longest_since), None);
    assert_eq!(h.sim.queue_stats("sales").and_then(|s| s.longest_since), Some(T0 + 5));
}

#[test]
fn ring_no_answer_requeues_at_the_head() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1002");
    let first = h.inject("sales");
    let second = h.inject("sales");
    h.now += 100;
    h.sign_in_ready("1003");
    assert_eq!(h.sim.agent_calls("1003"), [second]);
    h.act("1003", second, CallAction::Answer);
    let ev = h.advance(15_000);
    assert_eq!(ended(&ev), [(first, vec!["1002".to_owned()])]);
    let a = h.agent("1002");
    assert_eq!((a.state, a.reason_code), (S::NotReady, Some(32767)));
    assert_eq!(h.sim.queue_stats("sales").map(|s| s.calls_in_queue), Some(1));
    // The next agent READY gets it, with its original arrival time kept.
    h.sign_in_ready("1001");
    assert_eq!(h.sim.agent_calls("1001"), [first]);
    let call = h.call(first);
    assert_eq!(call.participants.iter().filter(|p| p.agent.is_some()).count(), 1);
}

#[test]
fn answer_talk_wrap_up_then_ready() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1001");
    let call = h.inject("sales");
    let ev = h.act("1001", call, CallAction::Answer);
    let snap = call_events(&ev).pop().expect("call event");
    assert_eq!(snap.state, CallState::Active);
    assert!(snap.participants.iter().all(|p| p.state == P::Active));
    assert_eq!(states_of(&ev, "1001"), [S::Talking]);
    assert!(h.advance(59_999).iter().all(|e| !matches!(e, herald_cti::CtiEvent::Call { .. })));
    let ev = h.advance(1);
    let snap = call_events(&ev).pop().expect("dropped");
    assert_eq!(snap.state, CallState::Dropped);
    let me = snap.participants.iter().find(|p| p.agent.is_some()).expect("agent party");
    assert_eq!(me.state, P::WrapUp, "the Dialog stays during wrap-up");
    assert!(ended(&ev).is_empty());
    assert_eq!(states_of(&ev, "1001"), [S::WorkReady]);
    // Wrap-up data may still be set; nothing else.
    let ev = h.act(
        "1001",
        call,
        CallAction::UpdateCallData { variables: vec![("callVariable3".into(), "done".into())], wrap_up_reason: Some("Sale".into()) },
    );
    let snap = call_events(&ev).pop().expect("updated");
    assert_eq!(snap.wrap_up_reason.as_deref(), Some("Sale"));
    assert_eq!(failure(&h.act("1001", call, CallAction::Hold)).map(|f| f.1), op("CF_INVALID_OBJECT_STATE", 22));
    let ev = h.advance(10_000);
    assert_eq!(ended(&ev), [(call, vec!["1001".to_owned()])]);
    assert_eq!(states_of(&ev, "1001"), [S::Ready]);
}

#[test]
fn no_wrap_up_means_ready_and_gone_at_once() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1002");
    let call = h.inject("sales");
    h.act("1002", call, CallAction::Answer);
    let ev = h.advance(60_000);
    assert_eq!(ended(&ev), [(call, vec!["1002".to_owned()])]);
    assert_eq!(states_of(&ev, "1002"), [S::Ready]);
    assert!(h.sim.call(call).is_none());
}

#[test]
fn pending_not_ready_after_wrap_up_goes_through_work() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1001");
    let call = h.inject("sales");
    h.act("1001", call, CallAction::Answer);
    h.not_ready("1001", Some(9));
    let ev = h.advance(60_000);
    assert_eq!(states_of(&ev, "1001"), [S::Work]);
    let ev = h.advance(10_000);
    assert_eq!(states_of(&ev, "1001"), [S::NotReady]);
    assert_eq!(h.agent("1001").reason_code, Some(9));
}

#[test]
fn hold_retrieve_and_refusals() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1002");
    h.sign_in_ready("1003");
    let call = h.inject("sales");
    // Only the alerted agent may answer; the other is no party.
    assert_eq!(failure(&h.act("1003", call, CallAction::Answer)).map(|f| f.1), op("CF_INVALID_CALL", 3));
    assert_eq!(failure(&h.act("1002", 42, CallAction::Answer)).map(|f| f.1), op("CF_INVALID_CALL", 3));
    assert_eq!(failure(&h.act("nobody", call, CallAction::Answer)).map(|f| f.1), op("CF_INVALID_CALL", 3));
    // Ringing: no hold, no drop.
    assert!(failure(&h.act("1002", call, CallAction::Hold)).is_some());
    assert!(failure(&h.act("1002", call, CallAction::Drop)).is_some());
    h.act("1002", call, CallAction::Answer);
    assert!(failure(&h.act("1002", call, CallAction::Answer)).is_some());
    assert!(failure(&h.act("1002", call, CallAction::Retrieve)).is_some());
    let ev = h.act("1002", call, CallAction::Hold);
    let me = call_events(&ev).pop().and_then(|c| c.participants.into_iter().find(|p| p.agent.is_some()));
    assert_eq!(me.map(|p| p.state), Some(P::Held));
    assert_eq!(states_of(&ev, "1002"), [S::Hold]);
    assert!(failure(&h.act("1002", call, CallAction::Hold)).is_some());
    assert!(failure(&h.act("1002", call, CallAction::SendDtmf { digits: "1".into() })).is_some());
    let ev = h.act("1002", call, CallAction::Retrieve);
    assert_eq!(states_of(&ev, "1002"), [S::Talking]);
    // DTMF: accepted silently, or refused when not digits.
    assert!(h.act("1002", call, CallAction::SendDtmf { digits: "12*#".into() }).is_empty());
    for digits in ["", "12a", "<&>", &"1".repeat(33)] {
        let ev = h.act("1002", call, CallAction::SendDtmf { digits: digits.into() });
        assert_eq!(failure(&ev).map(|f| f.1), op("CF_INVALID_DTMF_DIGITS", 44), "{digits:?}");
    }
    // Call data: replaced and added, any text passed through.
    let ev = h.act(
        "1002",
        call,
        CallAction::UpdateCallData {
            variables: vec![("callVariable1".into(), "Zoë \u{1} <x>".into()), ("user.x".into(), "y".into())],
            wrap_up_reason: None,
        },
    );
    let snap = call_events(&ev).pop().expect("updated");
    assert_eq!(snap.variables.iter().find(|v| v.0 == "callVariable1").map(|v| v.1.as_str()), Some("Zoë \u{1} <x>"));
    assert!(snap.variables.iter().any(|v| v.0 == "user.x"));
    // DROP ends a two-party call for everyone.
    let ev = h.act("1002", call, CallAction::Drop);
    assert_eq!(call_events(&ev).pop().map(|c| c.state), Some(CallState::Dropped));
    assert_eq!(ended(&ev), [(call, vec!["1002".to_owned()])]);
    assert_eq!(h.state("1002"), S::Ready);
}

#[test]
fn make_call_agent_to_agent() {
    let mut h = Harness::new(config());
    h.login("1001", "1001");
    h.sign_in_ready("1004");
    let ev = h.make_call("1001", "1001", "1004");
    let calls = call_events(&ev);
    assert_eq!(calls[0].participants[0].state, P::Initiating);
    let last = calls.last().expect("call").clone();
    assert_eq!((last.state, last.call_type), (CallState::Initiated, CallType::AgentInside));
    assert_eq!((last.from.as_str(), last.to.as_str()), ("1001", "1004"));
    assert_eq!(last.participants[0].state, P::Initiated);
    assert_eq!(last.participants[1].state, P::Alerting);
    assert_eq!(h.state("1001"), S::Talking);
    assert_eq!(h.state("1004"), S::Reserved);
    let call = last.id;
    // A busy agent: the call fails.
    h.login("1002", "1002");
    let ev = h.make_call("1002", "1002", "1004");
    let failed = call_events(&ev).pop().expect("failed call");
    assert_eq!(failed.state, CallState::Failed);
    assert_eq!(failed.participants[0].cause, Some(FailureCause::Busy));
    assert_eq!(ended(&ev).len(), 1);
    assert_eq!(h.state("1002"), S::NotReady);
    let ev = h.act("1004", call, CallAction::Answer);
    assert_eq!(call_events(&ev).pop().map(|c| c.state), Some(CallState::Active));
    assert_eq!((h.state("1001"), h.state("1004")), (S::Talking, S::Talking));
    // No customer: nobody hangs up by itself.
    h.advance(600_000);
    assert_eq!(h.sim.agent_calls("1001"), [call]);
    let ev = h.act("1004", call, CallAction::Drop);
    assert_eq!(ended(&ev), [(call, vec!["1001".to_owned(), "1004".to_owned()])]);
    assert_eq!(h.state("1001"), S::NotReady, "the caller: NOT_READY after");
    assert_eq!(h.state("1004"), S::Ready, "the called agent: back to its state");
}

#[test]
fn make_call_refusals_and_failed_destinations() {
    let mut h = Harness::new(config());
    // Logged out, or not from the agent's own extension.
    let ev = h.make_call("1001", "1001", "1002");
    assert_eq!(failure(&ev), Some((h.last_tag(), CtiFailure::invalid_state())));
    h.login("1001", "1001");
    assert!(failure(&h.make_call("1001", "1002", "1003")).is_some());
    assert!(failure(&h.make_call("ghost", "1", "2")).is_some());
    let cause = |h: &mut Harness, to: &str| {
        let ev = h.make_call("1001", "1001", to);
        assert_eq!(ended(&ev).len(), 1, "{to}");
        call_events(&ev).pop().and_then(|c| c.participants[0].cause)
    };
    assert_eq!(cause(&mut h, "1002"), Some(FailureCause::DeviceResourceNotAvailable));
    assert_eq!(cause(&mut h, "1999"), Some(FailureCause::BadDestination));
    assert_eq!(cause(&mut h, "1001"), Some(FailureCause::BadDestination));
    assert_eq!(cause(&mut h, "555-1234-99"), Some(FailureCause::BadDestination));
    assert_eq!(h.state("1001"), S::NotReady);
    assert!(h.sim.agent_calls("1001").is_empty());
}

#[test]
fn make_call_to_an_outside_number() {
    let mut cfg = config();
    cfg.agents[1].wrap_up_outgoing = true; // 1002
    let mut h = Harness::new(cfg);
    h.sign_in_ready("1002");
    let ev = h.make_call("1002", "1002", "+4915551234");
    let call = call_events(&ev).pop().expect("call");
    assert_eq!((call.state, call.call_type), (CallState::Initiated, CallType::Out));
    assert_eq!(h.state("1002"), S::Talking);
    // Routed calls do not reach an agent on a call.
    h.inject("sales");
    assert_eq!(h.sim.agent_calls("1002"), [call.id]);
    let ev = h.advance(3_000);
    let snap = call_events(&ev).pop().expect("answered");
    assert_eq!(snap.state, CallState::Active);
    assert!(snap.participants.iter().all(|p| p.state == P::Active));
    let ev = h.advance(60_000);
    assert_eq!(call_events(&ev).first().map(|c| c.state), Some(CallState::Dropped));
    assert_eq!(states_of(&ev, "1002")[0], S::Work, "wrap-up on outgoing, NOT_READY afterwards");
    h.advance(10_000);
    assert_eq!(h.state("1002"), S::NotReady);
}

#[test]
fn consult_then_transfer() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1001");
    h.login("1004", "1004");
    let customer_call = h.inject("sales");
    h.act("1001", customer_call, CallAction::Answer);
    h.now += 10_000;
    let ev = h.act("1001", customer_call, CallAction::ConsultCall { to: "1004".into() });
    let calls = call_events(&ev);
    assert_eq!(calls[0].id, customer_call);
    assert_eq!(calls[0].participants.iter().find(|p| p.agent.is_some()).map(|p| p.state), Some(P::Held));
    let consult = calls.last().expect("consult").clone();
    assert_eq!(consult.call_type, CallType::Consult);
    assert_eq!(consult.associated, Some(customer_call));
    assert_eq!(consult.variables, h.call(customer_call).variables, "call data travels");
    assert_eq!(h.state("1004"), S::Reserved, "a NOT_READY agent is alerted by a consult");
    assert_eq!(h.state("1001"), S::Talking);
    // Transfer before the consulted party answers: refused.
    assert!(failure(&h.act("1001", consult.id, CallAction::Transfer)).is_some());
    // Only the consult call transfers.
    assert!(failure(&h.act("1001", customer_call, CallAction::Transfer)).is_some());
    h.act("1004", consult.id, CallAction::Answer);
    let ev = h.act("1001", consult.id, CallAction::Transfer);
    assert_eq!(ended(&ev), [(consult.id, vec!["1001".to_owned(), "1004".to_owned()]), (customer_call, vec!["1001".to_owned()])]);
    let joined = h.call(customer_call);
    assert_eq!(joined.call_type, CallType::Transfer);
    let parties: Vec<_> = joined.participants.iter().map(|p| (p.agent.clone(), p.state)).collect();
    assert_eq!(parties, [(None, P::Active), (Some("1004".to_owned()), P::Active)]);
    assert!(h.sim.call(consult.id).is_none());
    assert_eq!(h.state("1001"), S::WorkReady, "the transferring agent wraps up");
    assert_eq!(h.state("1004"), S::Talking);
    // The customer hangs up 60 s after the answer: the call ends for 1004.
    let ev = h.advance(50_000);
    assert_eq!(ended(&ev).last(), Some(&(customer_call, vec!["1004".to_owned()])));
    assert_eq!(h.state("1004"), S::NotReady, "back to its own state");
}

#[test]
fn consult_refusals() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1002");
    h.sign_in_ready("1004");
    let other = h.inject("support");
    let call = h.inject("sales");
    // Ringing: no consult.
    assert!(failure(&h.act("1002", call, CallAction::ConsultCall { to: "1001".into() })).is_some());
    h.act("1002", call, CallAction::Answer);
    let consult = |h: &mut Harness, to: &str| failure(&h.act("1002", call, CallAction::ConsultCall { to: to.into() }));
    assert_eq!(consult(&mut h, "1001").map(|f| f.1), op("CF_RESOURCE_OUT_OF_SERVICE", 34));
    assert_eq!(consult(&mut h, "1004").map(|f| f.1), op("CF_RESOURCE_BUSY", 35));
    assert_eq!(consult(&mut h, "12").map(|f| f.1), op("CF_INVALID_DESTINATION", 29));
    assert_eq!(consult(&mut h, "1002").map(|f| f.1), op("CF_INVALID_DESTINATION", 29));
    // Refusals left the call as it was.
    assert_eq!(h.state("1002"), S::Talking);
    assert_eq!(h.sim.agent_calls("1004"), [other]);
    // A second consult while one is up is refused.
    assert!(consult(&mut h, "5550001111").is_none());
    assert!(consult(&mut h, "5550002222").is_some());
}

#[test]
fn conference_then_leave() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1002");
    h.login("1004", "1004");
    let call = h.inject("sales");
    h.act("1002", call, CallAction::Answer);
    let ev = h.act("1002", call, CallAction::ConsultCall { to: "1004".into() });
    let consult = call_events(&ev).last().expect("consult").id;
    // Retrieve is refused while the consult is up.
    assert!(failure(&h.act("1002", call, CallAction::Retrieve)).is_some());
    h.act("1004", consult, CallAction::Answer);
    h.act("1002", consult, CallAction::Conference);
    let conf = h.call(call);
    assert_eq!(conf.call_type, CallType::Conference);
    assert_eq!(conf.participants.len(), 3);
    assert!(conf.participants.iter().all(|p| p.state == P::Active));
    assert_eq!((h.state("1002"), h.state("1004")), (S::Talking, S::Talking));
    // 1002 leaves: the call goes on for the others.
    let ev = h.act("1002", call, CallAction::Drop);
    assert_eq!(ended(&ev), [(call, vec!["1002".to_owned()])]);
    assert_eq!(h.call(call).participants.len(), 2);
    assert_eq!(h.state("1002"), S::Ready);
    assert_eq!(h.state("1004"), S::Talking);
}

#[test]
fn consult_outside_and_transfer_leaves_the_system() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1002");
    let call = h.inject("sales");
    h.act("1002", call, CallAction::Answer);
    let ev = h.act("1002", call, CallAction::ConsultCall { to: "5550001111".into() });
    let consult = call_events(&ev).last().expect("consult").id;
    h.advance(3_000);
    assert_eq!(h.call(consult).state, CallState::Active);
    let ev = h.act("1002", consult, CallAction::Transfer);
    assert!(ended(&ev).iter().any(|(c, _)| *c == call));
    assert!(h.sim.call(call).is_none() && h.sim.call(consult).is_none());
    assert_eq!(h.state("1002"), S::Ready);
}

#[test]
fn forced_logout_mid_call() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1001");
    let call = h.inject("sales");
    h.act("1001", call, CallAction::Answer);
    let ev = h.forced_logout("1001");
    assert_eq!(call_events(&ev).pop().map(|c| c.state), Some(CallState::Dropped));
    assert_eq!(ended(&ev), [(call, vec!["1001".to_owned()])]);
    let a = h.agent("1001");
    assert_eq!((a.state, a.reason_code, a.extension), (S::Logout, Some(255), None));
    assert!(h.sim.call(call).is_none(), "no wrap-up on a forced logout");
    // While the call rings: it goes back to the queue and on to the next agent.
    h.sign_in_ready("1002");
    let call = h.inject("sales");
    h.now += 1;
    h.sign_in_ready("1003");
    let ev = h.forced_logout("1002");
    assert_eq!(offered_to(&ev, "1003"), Some(call));
    assert_eq!(h.state("1002"), S::Logout);
}

#[test]
fn an_ended_call_is_kept_only_for_the_agents_wrapping_it_up() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1001"); // wraps up after incoming calls
    h.login("1002", "1002"); // does not
    let call = h.inject("sales");
    h.act("1001", call, CallAction::Answer);
    let ev = h.act("1001", call, CallAction::ConsultCall { to: "1002".into() });
    let consult = call_events(&ev).last().expect("consult").id;
    h.act("1002", consult, CallAction::Answer);
    h.act("1001", consult, CallAction::Conference);
    // The customer hangs up; the agents stay connected.
    h.advance(60_000);
    assert_eq!(h.call(call).participants.len(), 2);
    let ev = h.act("1001", call, CallAction::Drop);
    assert_eq!(ended(&ev), [(call, vec!["1002".to_owned()])]);
    let kept = h.call(call);
    let parties: Vec<_> = kept.participants.iter().map(|p| (p.agent.clone(), p.state)).collect();
    assert_eq!(parties, [(Some("1001".to_owned()), P::WrapUp), (Some("1002".to_owned()), P::Dropped)]);
    assert_eq!((h.state("1001"), h.state("1002")), (S::WorkReady, S::NotReady));
    let data = || CallAction::UpdateCallData { variables: vec![], wrap_up_reason: Some("x".into()) };
    assert_eq!(failure(&h.act("1002", call, data())).map(|f| f.1), op("CF_INVALID_CALL", 3));
    assert!(failure(&h.act("1001", call, data())).is_none());
}
