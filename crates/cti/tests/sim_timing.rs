//! The simulator's clock-driven parts: Poisson arrivals from a seed (the same seed gives the
//! same events), queue statistics (every interval, only when changed), heartbeats, deadlines,
//! and scale (15,000 agents stay cheap).

mod common;

use common::*;
use herald_cti::sim::{InjectedCall, SimAgent, SimConfig, SimError, SimQueue, Simulator};
use herald_cti::{CallAction, CtiEvent, CtiMachine};

fn busy_config(seed: u64) -> SimConfig {
    let mut cfg = config();
    cfg.seed = seed;
    cfg.talk_time_ms = (10_000, 30_000);
    cfg.queues[0].calls_per_hour = 120.0;
    cfg.queues[1].calls_per_hour = 60.0;
    cfg
}

/// Two simulated hours: agents answer whatever rings and go READY after wrap-up.
fn run(seed: u64) -> Vec<CtiEvent> {
    let mut h = Harness::new(busy_config(seed));
    for a in ["1001", "1002", "1003", "1004"] {
        h.sign_in_ready(a);
    }
    let mut all = Vec::new();
    for _ in 0..720 {
        let ev = h.advance(10_000);
        for a in ["1001", "1002", "1003", "1004"] {
            if let Some(call) = offered_to(&ev, a) {
                all.extend(h.act(a, call, CallAction::Answer));
            }
        }
        all.extend(ev);
    }
    all
}

#[test]
fn same_seed_same_events() {
    let a = run(11);
    let b = run(11);
    assert_eq!(a, b);
    let arrivals = call_events(&a).iter().map(|c| c.id).collect::<std::collections::BTreeSet<_>>().len();
    // 180 calls/h over two hours: around 360.
    assert!((250..=470).contains(&arrivals), "{arrivals} calls");
    assert_ne!(a, run(12), "another seed, other events");
}

#[test]
fn heartbeats_and_deadlines() {
    let mut h = Harness::new(config());
    assert_eq!(h.sim.poll_timeout(), Some(T0 + 5_000));
    let ev = h.advance(4_999);
    assert!(ev.is_empty());
    let ev = h.advance(1);
    assert_eq!(ev, [CtiEvent::Heartbeat]);
    assert_eq!(h.sim.poll_timeout(), Some(T0 + 10_000));
    // A late driver catches up every deadline it missed.
    h.sim.handle_timeout(T0 + 30_000);
    let beats = h.drain().iter().filter(|e| **e == CtiEvent::Heartbeat).count();
    assert_eq!(beats, 5);
    // Switched off.
    let mut cfg = config();
    cfg.heartbeat_interval_ms = 0;
    cfg.stats_interval_ms = 0;
    let sim = Simulator::new(cfg, T0);
    assert_eq!(sim.poll_timeout(), None);
}

#[test]
fn a_request_comes_after_the_deadlines_it_follows() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1002");
    let call = h.inject("sales");
    // The driver is late: the RONA deadline passed before this request arrives.
    h.now += 20_000;
    let ev = h.act("1002", call, CallAction::Answer);
    assert_eq!(ended(&ev), [(call, vec!["1002".to_owned()])], "rang out first");
    assert!(failure(&ev).is_some(), "then the answer finds no call to answer");
    assert_eq!(h.agent("1002").reason_code, Some(32767));
}

#[test]
fn queue_statistics_every_interval_when_changed() {
    let mut h = Harness::new(config());
    let stats = |ev: &[CtiEvent]| -> Vec<herald_cti::QueueStats> {
        ev.iter()
            .filter_map(|e| match e {
                CtiEvent::QueueStats(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    };
    // The first report covers every queue.
    let first = stats(&h.advance(10_000));
    assert_eq!(first.iter().map(|s| s.queue.as_str()).collect::<Vec<_>>(), ["sales", "support"]);
    assert!(first.iter().all(|s| s.agents_logged_on == 0));
    // Nothing changed: nothing reported.
    assert!(stats(&h.advance(10_000)).is_empty());
    h.sign_in_ready("1001");
    h.login("1002", "1002");
    h.sign_in_ready("1003");
    let call = h.inject("support"); // to 1003 (1004 is logged out)
    h.act("1003", call, CallAction::Answer);
    h.inject("sales"); // to 1001
    let waiting_since = h.now + 1;
    h.now += 1;
    h.inject("sales"); // waits
    let report = stats(&h.advance(10_000));
    assert_eq!(report.len(), 2, "both queues changed");
    let sales = report.iter().find(|s| s.queue == "sales").expect("sales");
    assert_eq!(sales.calls_in_queue, 1);
    assert_eq!(sales.longest_since, Some(waiting_since));
    assert_eq!(sales.agents_logged_on, 3);
    assert_eq!(sales.agents_not_ready, 1);
    assert_eq!(sales.agents_talking_inbound, 1, "1001 reserved for a sales call");
    assert_eq!(sales.agents_busy_other, 1, "1003 on a support call");
    let support = report.iter().find(|s| s.queue == "support").expect("support");
    assert_eq!((support.agents_logged_on, support.agents_talking_inbound), (1, 1));
    assert_eq!(h.sim.queue_stats("sales").as_ref(), Some(sales));
    assert_eq!(h.sim.queue_stats("nope"), None);
}

#[test]
fn inject_into_an_unknown_queue() {
    let mut sim = Simulator::new(config(), T0);
    assert!(matches!(sim.poll_event(), Some(CtiEvent::Snapshot { .. })), "the link came up");
    let err = sim.inject_call(T0, InjectedCall { queue: "nope".into(), ..InjectedCall::default() });
    assert_eq!(err, Err(SimError::UnknownQueue("nope".into())));
    assert!(sim.poll_event().is_none());
}

#[test]
fn injected_text_passes_through() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1002");
    let odd = "\u{0}\u{FFFE} <b>&amp;\u{1F600}".to_owned();
    let id = h
        .sim
        .inject_call(h.now, InjectedCall { queue: "sales".into(), from: Some(odd.clone()), variables: vec![(odd.clone(), odd.clone())] })
        .expect("queued");
    let call = h.call(id);
    assert_eq!(call.from, odd);
    assert_eq!(call.variables, [(odd.clone(), odd)]);
}

#[test]
fn put_agent_at_run_time() {
    let mut h = Harness::new(config());
    h.sign_in_ready("1004"); // support only
    let call = h.inject("sales");
    assert!(h.sim.agent_calls("1004").is_empty());
    h.sim.put_agent(SimAgent {
        agent: "1004".into(),
        extension: Some("1004".into()),
        queues: vec!["sales".into()],
        wrap_up_incoming: false,
        wrap_up_outgoing: false,
    });
    h.sim.check_invariants().expect("invariants");
    assert_eq!(h.sim.agent_calls("1004"), [call], "now in sales, READY: takes the waiting call");
}

#[test]
fn fifteen_thousand_agents_stay_cheap() {
    let queues: Vec<SimQueue> = (0..50)
        .map(|q| SimQueue { id: format!("q{q}"), name: format!("Q{q}"), dialed_number: format!("9{q:03}"), calls_per_hour: 0.0 })
        .collect();
    let agents: Vec<SimAgent> = (0..15_000)
        .map(|i| SimAgent {
            agent: format!("a{i}"),
            extension: Some(format!("{}", 100_000 + i)),
            queues: vec![format!("q{}", i % 50), format!("q{}", (i + 1) % 50)],
            wrap_up_incoming: i % 2 == 0,
            wrap_up_outgoing: false,
        })
        .collect();
    let cfg = SimConfig { queues, agents, ..SimConfig::default() };
    let mut sim = Simulator::new(cfg, T0);
    let mut tag = 0;
    let mut req = |sim: &mut Simulator, agent: String, state| {
        tag += 1;
        sim.handle_request(
            T0,
            herald_cti::CtiRequest::AgentState { tag: herald_cti::RequestTag(tag), agent, state, reason_code: None, forced: false },
        );
    };
    for i in 0..15_000 {
        req(&mut sim, format!("a{i}"), herald_cti::RequestedState::Login { extension: format!("{}", 100_000 + i) });
        req(&mut sim, format!("a{i}"), herald_cti::RequestedState::Ready);
    }
    for n in 0..5_000 {
        sim.inject_call(T0, InjectedCall { queue: format!("q{}", n % 50), ..InjectedCall::default() }).expect("queue");
    }
    let mut events = 0usize;
    let mut now = T0;
    while now < T0 + 600_000 {
        now += 1_000;
        sim.handle_timeout(now);
        while sim.poll_event().is_some() {
            events += 1;
        }
    }
    assert!(events > 30_000);
    sim.check_invariants().expect("invariants");
}
