//! Property test: random request sequences against the simulator never panic, keep its
//! invariants (an agent is on at most the calls it should be, a READY agent has no call, a
//! queue never has both waiting calls and READY agents, statistics add up), and tag only the
//! events of the request being handled — also across link drops, while which nothing at all is
//! reported, and after which the snapshot is exactly the simulator's state.

mod common;

use common::*;
use herald_cti::sim::SimLink;
use herald_cti::{CallAction, CtiEvent, CtiRequest, RequestTag, RequestedState};
use proptest::prelude::*;

const AGENTS: [&str; 5] = ["1001", "1002", "1003", "1004", "ghost"];
const NUMBERS: [&str; 7] = ["1001", "1002", "1003", "1004", "1999", "5550001111", ""];

#[derive(Clone, Debug)]
enum Op {
    Login(usize, usize),
    Ready(usize),
    NotReady(usize, u16),
    Logout(usize, bool),
    MakeCall(usize, usize, bool),
    Act(usize, usize, u8, usize),
    Inject(bool),
    Advance(u64),
    Link(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..5usize, 0..7usize).prop_map(|(a, e)| Op::Login(a, e)),
        3 => (0..5usize).prop_map(Op::Ready),
        1 => (0..5usize, 0..40u16).prop_map(|(a, c)| Op::NotReady(a, c)),
        1 => (0..5usize, any::<bool>()).prop_map(|(a, f)| Op::Logout(a, f)),
        1 => (0..5usize, 0..7usize, any::<bool>()).prop_map(|(a, t, own)| Op::MakeCall(a, t, own)),
        10 => (0..5usize, 0..8usize, 0..16u8, 0..7usize).prop_map(|(a, c, x, t)| Op::Act(a, c, x, t)),
        2 => any::<bool>().prop_map(Op::Inject),
        3 => (0..90_000u64).prop_map(Op::Advance),
        1 => (0..3u8).prop_map(Op::Link),
    ]
}

fn action(kind: u8, to: &str) -> CallAction {
    match kind {
        0..=3 => CallAction::Answer,
        4 => CallAction::Hold,
        5 => CallAction::Retrieve,
        6 => CallAction::Drop,
        7..=9 => CallAction::ConsultCall { to: to.to_owned() },
        10 | 11 => CallAction::Transfer,
        12 | 13 => CallAction::Conference,
        14 => CallAction::SendDtmf { digits: to.to_owned() },
        _ => CallAction::UpdateCallData { variables: vec![("callVariable1".into(), to.to_owned())], wrap_up_reason: Some(to.to_owned()) },
    }
}

/// Every tagged event carries the tag of the request that was just handled.
fn tags_ok(events: &[CtiEvent], tag: RequestTag) -> bool {
    events.iter().all(|e| match e {
        CtiEvent::Agent { tag: t, .. } | CtiEvent::Call { tag: t, .. } | CtiEvent::CallEnded { tag: t, .. } => t.is_none_or(|t| t == tag),
        CtiEvent::Failure { tag: t, .. } => *t == tag,
        _ => true,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_requests_keep_invariants(ops in proptest::collection::vec(op(), 1..150), seed in any::<u64>()) {
        let mut cfg = config();
        cfg.seed = seed;
        cfg.queues[0].calls_per_hour = 90.0;
        cfg.talk_time_ms = (5_000, 120_000);
        cfg.outside_answer_ms = (6_000, 1_000);
        let mut h = Harness::new(cfg);
        let mut calls: Vec<u64> = Vec::new();
        for op in ops {
            let events = match op {
                Op::Login(a, e) => h.login(AGENTS[a], if e < 4 { AGENTS[a] } else { NUMBERS[e] }),
                Op::Ready(a) => h.ready(AGENTS[a]),
                Op::NotReady(a, c) => h.not_ready(AGENTS[a], Some(c)),
                Op::Logout(a, forced) => h.state_req(AGENTS[a], RequestedState::Logout, Some(255), forced),
                Op::MakeCall(a, t, own) => {
                    let from = if own { AGENTS[a] } else { "1004" };
                    h.make_call(AGENTS[a], from, NUMBERS[t])
                }
                Op::Act(a, c, kind, t) => {
                    // Mostly an agent on a call, on one of its own calls (newest first).
                    let busy: Vec<usize> = (0..4).filter(|&i| !h.sim.agent_calls(AGENTS[i]).is_empty()).collect();
                    let a = if busy.is_empty() || c == 7 { a } else { busy[a % busy.len()] };
                    let own = h.sim.agent_calls(AGENTS[a]);
                    let call = match own.len() {
                        n if n > 0 && c < 6 => own[n - 1 - c % n],
                        _ => calls.get(c).copied().unwrap_or(c as u64),
                    };
                    h.act(AGENTS[a], call, action(kind, NUMBERS[t]))
                }
                Op::Inject(sales) => h.inject_events(if sales { "sales" } else { "support" }).1,
                Op::Advance(ms) => h.advance(ms),
                Op::Link(l) => {
                    let was = h.sim.link();
                    let link = [SimLink::Up, SimLink::Silent, SimLink::Closed][usize::from(l)];
                    h.sim.set_link(h.now, link);
                    h.sim.check_invariants().map_err(TestCaseError::fail)?;
                    let events = h.drain();
                    if link == SimLink::Up && was != SimLink::Up {
                        let agents: Vec<_> = AGENTS.iter().filter_map(|a| h.sim.agent(a)).collect();
                        let snapshot = events.iter().find(|e| matches!(e, CtiEvent::Snapshot { .. }));
                        let Some(CtiEvent::Snapshot { agents: seen, calls: live }) = snapshot else {
                            return Err(TestCaseError::fail(format!("no snapshot: {events:?}")));
                        };
                        prop_assert_eq!(seen, &agents);
                        prop_assert!(live.iter().all(|c| h.sim.call(c.id).as_ref() == Some(c)));
                        let on_calls = AGENTS[..4].iter().flat_map(|a| h.sim.agent_calls(a));
                        for call in on_calls {
                            prop_assert!(live.iter().any(|c| c.id == call), "call {} missing from the snapshot", call);
                        }
                    }
                    events
                }
            };
            if h.sim.link() != SimLink::Up && !matches!(op, Op::Link(_)) {
                prop_assert!(events.is_empty(), "silent while down: {events:?}");
            }
            if !matches!(op, Op::Advance(_) | Op::Inject(_) | Op::Link(_)) {
                prop_assert!(tags_ok(&events, h.last_tag()), "{events:?}");
            } else {
                prop_assert!(tags_ok(&events, RequestTag(u64::MAX)), "timers tag nothing: {events:?}");
            }
            for e in &events {
                if let CtiEvent::Call { snapshot, .. } = e
                    && !calls.contains(&snapshot.id)
                {
                    calls.insert(0, snapshot.id);
                    calls.truncate(8);
                }
                if let CtiEvent::Agent { snapshot, .. } = e {
                    prop_assert!(snapshot.since <= h.now);
                    prop_assert_eq!(snapshot.extension.is_none(), snapshot.state == herald_cti::AgentState::Logout);
                }
            }
            // The harness checks the simulator's own invariants after every step.
            for a in &AGENTS[..4] {
                let s = h.agent(a);
                if s.state == herald_cti::AgentState::Ready {
                    prop_assert!(h.sim.agent_calls(a).is_empty());
                }
                prop_assert!(h.sim.agent_calls(a).len() <= 2);
            }
        }
        // Whatever happened, a drained simulator keeps running: every call ends eventually
        // when everyone is logged out.
        h.sim.set_link(h.now, SimLink::Up);
        for a in &AGENTS[..4] {
            h.request(|tag| CtiRequest::AgentState {
                tag, agent: (*a).to_owned(), state: RequestedState::Logout, reason_code: Some(255), forced: true,
            });
        }
        h.advance(600_000);
        for a in &AGENTS[..4] {
            prop_assert!(h.sim.agent_calls(a).is_empty());
        }
    }
}
