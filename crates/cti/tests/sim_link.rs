//! The simulator's link to the web services (issue 12): silent while down (no heartbeat, no
//! event, requests ignored) while the ACD goes on unseen; a closed link reports `LinkLost` once;
//! restoring it reports a snapshot of exactly the simulator's state, a heartbeat and every
//! queue's statistics, and heartbeats resume from then; the same inputs still give the same
//! events.

mod common;

use common::*;
use herald_cti::sim::{InjectedCall, SimLink};
use herald_cti::{AgentState, CallAction, CallState, CtiEvent, CtiMachine, ParticipantState, QueueStats};

fn stats(events: &[CtiEvent]) -> Vec<QueueStats> {
    events
        .iter()
        .filter_map(|e| match e {
            CtiEvent::QueueStats(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn set(h: &mut Harness, link: SimLink) -> Vec<CtiEvent> {
    h.sim.set_link(h.now, link);
    h.sim.check_invariants().expect("invariants");
    h.drain()
}

const AGENTS: [&str; 4] = ["1001", "1002", "1003", "1004"];

#[test]
fn the_link_is_up_at_start() {
    let h = Harness::new(config());
    assert_eq!(h.sim.link(), SimLink::Up);
}

#[test]
fn silence_while_down_and_requests_are_ignored() {
    for link in [SimLink::Silent, SimLink::Closed] {
        let mut h = Harness::new(config());
        h.sign_in_ready("1002");
        let ev = set(&mut h, link);
        assert_eq!(ev, if link == SimLink::Closed { vec![CtiEvent::LinkLost] } else { vec![] });
        assert_eq!(h.sim.link(), link);
        assert!(h.advance(120_000).is_empty(), "no heartbeat, no statistics");
        assert!(h.not_ready("1002", Some(7)).is_empty(), "ignored: no event, no failure");
        assert_eq!(h.state("1002"), AgentState::Ready, "and not carried out");
        assert!(h.logout("nobody", None).is_empty(), "even a request that would fail is silent");
        assert!(h.make_call("1002", "1002", "5550001").is_empty());
        assert!(h.sim.agent_calls("1002").is_empty(), "no call placed");
        // Nothing is kept for later either.
        let ev = set(&mut h, SimLink::Up);
        assert!(matches!(ev.first(), Some(CtiEvent::Snapshot { .. })), "{ev:?}");
        assert!(!ev.iter().any(|e| matches!(e, CtiEvent::Agent { .. } | CtiEvent::Failure { .. } | CtiEvent::Call { .. })), "{ev:?}");
    }
}

#[test]
fn events_not_yet_polled_are_lost_with_the_link() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1002");
    h.sim.inject_call(h.now, InjectedCall { queue: "sales".into(), ..InjectedCall::default() }).expect("queued");
    assert_eq!(set(&mut h, SimLink::Closed), [CtiEvent::LinkLost], "the call's events are gone");
    assert_eq!(h.state("1002"), AgentState::Reserved, "but the call rings");
}

#[test]
fn the_acd_goes_on_unseen_and_the_snapshot_shows_where_it_went() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1001"); // wraps up after incoming calls
    h.sign_in_ready("1002");
    let first = h.inject("sales"); // to 1001, READY the longest
    h.act("1001", first, CallAction::Answer);
    h.advance(1_000);
    assert!(set(&mut h, SimLink::Silent).is_empty());

    // A call arriving during the outage is routed to 1002 and rings, unseen.
    let (second, ev) = h.inject_events("sales");
    assert!(ev.is_empty(), "{ev:?}");
    assert_eq!(h.state("1002"), AgentState::Reserved);
    // It rings out (RONA): 1002 NOT_READY, the call back in the queue.
    assert!(h.advance(20_000).is_empty());
    assert_eq!(h.state("1002"), AgentState::NotReady);
    assert!(h.call(second).participants.iter().all(|p| p.agent.is_none()), "queued again");
    // The customer of the first call hangs up (60 s of talk): 1001 wraps up, the call is kept.
    assert!(h.advance(45_000).is_empty());
    assert_eq!(h.state("1001"), AgentState::WorkReady);
    assert_eq!(h.call(first).state, CallState::Dropped);

    let ev = set(&mut h, SimLink::Up);
    let expected_agents: Vec<_> = AGENTS.iter().map(|a| h.agent(a)).collect();
    let expected_calls = vec![h.call(first), h.call(second)];
    assert_eq!(ev.first(), Some(&CtiEvent::Snapshot { agents: expected_agents, calls: expected_calls }));
    assert_eq!(ev.get(1), Some(&CtiEvent::Heartbeat));
    let reported = stats(&ev);
    assert_eq!(ev.len(), 2 + reported.len(), "snapshot, heartbeat, statistics and nothing else: {ev:?}");
    assert_eq!(reported, [h.sim.queue_stats("sales").unwrap(), h.sim.queue_stats("support").unwrap()], "every queue");
    assert_eq!(reported[0].calls_in_queue, 1);

    // Drop again: wrap-up ends, the waiting call is routed to 1001, the first call is gone.
    assert!(set(&mut h, SimLink::Silent).is_empty());
    assert!(h.advance(10_000).is_empty());
    assert!(h.sim.call(first).is_none(), "ended meanwhile");
    let ev = set(&mut h, SimLink::Up);
    let Some(CtiEvent::Snapshot { agents, calls }) = ev.first() else { panic!("{ev:?}") };
    assert_eq!(calls, &[h.call(second)], "the ended call is absent");
    assert!(calls[0].participants.iter().any(|p| p.agent.as_deref() == Some("1001") && p.state == ParticipantState::Alerting));
    assert_eq!(agents.iter().find(|a| a.agent == "1001").map(|a| a.state), Some(AgentState::Reserved));
    // Once up, events flow again.
    let ev = h.act("1001", second, CallAction::Answer);
    assert!(call_events(&ev).iter().any(|c| c.id == second && c.state == CallState::Active), "{ev:?}");
}

#[test]
fn closed_reports_link_lost_exactly_once() {
    let mut h = Harness::new(config());
    assert_eq!(set(&mut h, SimLink::Closed), [CtiEvent::LinkLost]);
    assert!(set(&mut h, SimLink::Closed).is_empty(), "already closed");
    assert!(h.advance(30_000).is_empty());
    // Silent after closed: still down, nothing new to say.
    assert!(set(&mut h, SimLink::Silent).is_empty());
    assert_eq!(h.sim.link(), SimLink::Silent);
    // The adapter sees the socket close now: it says so.
    assert_eq!(set(&mut h, SimLink::Closed), [CtiEvent::LinkLost]);
    // A LinkLost not yet read survives the link's return, before the snapshot.
    h.sim.set_link(h.now, SimLink::Silent);
    h.sim.set_link(h.now, SimLink::Closed);
    h.sim.set_link(h.now, SimLink::Up);
    let ev = h.drain();
    assert_eq!(ev.first(), Some(&CtiEvent::LinkLost));
    assert!(matches!(ev.get(1), Some(CtiEvent::Snapshot { .. })), "{ev:?}");
    assert_eq!(ev.iter().filter(|e| **e == CtiEvent::LinkLost).count(), 1);
}

#[test]
fn setting_the_current_state_again_does_nothing() {
    let mut h = Harness::new(config());
    h.advance(2_000);
    assert!(set(&mut h, SimLink::Up).is_empty(), "already up: no snapshot");
    assert_eq!(h.sim.poll_timeout(), Some(T0 + 5_000), "heartbeat not re-armed");
    assert!(set(&mut h, SimLink::Silent).is_empty());
    assert!(set(&mut h, SimLink::Silent).is_empty());
    assert_eq!(h.sim.link(), SimLink::Silent);
}

#[test]
fn snapshot_then_heartbeat_then_heartbeats_at_the_interval() {
    let mut h = Harness::new(config());
    h.advance(2_000);
    assert!(set(&mut h, SimLink::Silent).is_empty());
    assert!(h.advance(20_500).is_empty(), "no heartbeat for 20.5 s");
    let up_at = h.now;
    let ev = set(&mut h, SimLink::Up);
    assert!(matches!(ev.first(), Some(CtiEvent::Snapshot { .. })));
    assert_eq!(ev.get(1), Some(&CtiEvent::Heartbeat));
    assert_eq!(stats(&ev).len(), 2);
    assert_eq!(ev.len(), 4, "{ev:?}");
    // Heartbeats from `up_at`, not from the old schedule (T0 + 25 s would be next).
    assert!(h.advance(4_999).is_empty(), "statistics unchanged since reported, no heartbeat yet");
    assert_eq!(h.advance(1), [CtiEvent::Heartbeat]);
    assert_eq!(h.now, up_at + 5_000);
    assert_eq!(h.advance(5_000), [CtiEvent::Heartbeat]);
    assert_eq!(h.advance(10_000), [CtiEvent::Heartbeat, CtiEvent::Heartbeat]);
}

#[test]
fn with_heartbeats_off_none_is_scheduled_after_up() {
    let mut cfg = config();
    cfg.heartbeat_interval_ms = 0;
    cfg.stats_interval_ms = 0;
    let mut h = Harness::new(cfg);
    set(&mut h, SimLink::Silent);
    let ev = set(&mut h, SimLink::Up);
    assert_eq!(ev.get(1), Some(&CtiEvent::Heartbeat), "the link's return still says it is alive");
    assert_eq!(h.sim.poll_timeout(), None);
}

/// One busy hour with two outages (one silent, one closed); agents answer what rings when the
/// link is up.
fn run(seed: u64) -> Vec<CtiEvent> {
    let mut cfg = config();
    cfg.seed = seed;
    cfg.talk_time_ms = (10_000, 30_000);
    cfg.queues[0].calls_per_hour = 120.0;
    cfg.queues[1].calls_per_hour = 60.0;
    let mut h = Harness::new(cfg);
    for a in AGENTS {
        h.sign_in_ready(a);
    }
    let mut all = Vec::new();
    for step in 0..360 {
        let link = match step {
            60 => Some(SimLink::Silent),
            90 | 250 => Some(SimLink::Up),
            200 => Some(SimLink::Closed),
            _ => None,
        };
        if let Some(link) = link {
            all.extend(set(&mut h, link));
        }
        let ev = h.advance(10_000);
        for a in AGENTS {
            if let Some(call) = offered_to(&ev, a) {
                all.extend(h.act(a, call, CallAction::Answer));
            }
        }
        all.extend(ev);
    }
    all
}

#[test]
fn same_inputs_same_events_across_outages() {
    let a = run(5);
    assert_eq!(a, run(5));
    assert_eq!(a.iter().filter(|e| matches!(e, CtiEvent::Snapshot { .. })).count(), 2);
    assert_eq!(a.iter().filter(|e| **e == CtiEvent::LinkLost).count(), 1);
    assert_ne!(a, run(6));
}
