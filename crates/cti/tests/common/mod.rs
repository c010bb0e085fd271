//! A fake-clock harness over the simulator for the integration tests: requests with fresh
//! tags, time advanced deadline by deadline, events drained after each step.
#![allow(dead_code, unreachable_pub)]

use herald_cti::sim::{InjectedCall, SimAgent, SimConfig, SimQueue, Simulator};
use herald_cti::{
    AgentSnapshot, AgentState, CallAction, CallId, CallSnapshot, CtiEvent, CtiFailure, CtiMachine, CtiRequest, RequestTag, RequestedState,
};

pub const T0: u64 = 1_700_000_000_000;

/// Two queues (no Poisson arrivals), agents 1001–1004 on extensions 1001–1004: 1001–1003 in
/// `sales`, 1003 and 1004 in `support`; 1001 wraps up after incoming calls. Fixed times: talk
/// 60 s, wrap-up 10 s, RONA 15 s, outside answer 3 s, stats 10 s, heartbeat 5 s.
pub fn config() -> SimConfig {
    let agent = |id: &str, queues: &[&str], wrap: bool| SimAgent {
        agent: id.to_owned(),
        extension: Some(id.to_owned()),
        queues: queues.iter().map(|q| (*q).to_owned()).collect(),
        wrap_up_incoming: wrap,
        wrap_up_outgoing: false,
    };
    SimConfig {
        seed: 7,
        queues: vec![
            SimQueue { id: "sales".into(), name: "Sales".into(), dialed_number: "8000".into(), calls_per_hour: 0.0 },
            SimQueue { id: "support".into(), name: "Support".into(), dialed_number: "8001".into(), calls_per_hour: 0.0 },
        ],
        agents: vec![
            agent("1001", &["sales"], true),
            agent("1002", &["sales"], false),
            agent("1003", &["sales", "support"], false),
            agent("1004", &["support"], false),
        ],
        talk_time_ms: (60_000, 60_000),
        wrap_up_ms: 10_000,
        ring_no_answer_ms: 15_000,
        outside_answer_ms: (3_000, 3_000),
        stats_interval_ms: 10_000,
        heartbeat_interval_ms: 5_000,
    }
}

pub struct Harness {
    pub sim: Simulator,
    pub now: u64,
    pub tag: u64,
}

impl Harness {
    /// A simulator at [`T0`], its first event (the snapshot of the configured agents, all
    /// logged out, and no call) checked and consumed.
    pub fn new(config: SimConfig) -> Self {
        let ids: Vec<String> = config.agents.iter().map(|a| a.agent.clone()).collect();
        let mut sim = Simulator::new(config, T0);
        match sim.poll_event() {
            Some(CtiEvent::Snapshot { agents, calls }) => {
                assert_eq!(agents.iter().map(|a| a.agent.clone()).collect::<Vec<_>>(), ids, "every configured agent, in order");
                assert!(agents.iter().all(|a| a.state == AgentState::Logout && a.extension.is_none()));
                assert!(calls.is_empty());
            }
            other => panic!("the first event is not a snapshot: {other:?}"),
        }
        Self { sim, now: T0, tag: 0 }
    }

    pub fn drain(&mut self) -> Vec<CtiEvent> {
        std::iter::from_fn(|| self.sim.poll_event()).collect()
    }

    /// The tag the last request carried.
    pub fn last_tag(&self) -> RequestTag {
        RequestTag(self.tag)
    }

    fn next_tag(&mut self) -> RequestTag {
        self.tag += 1;
        RequestTag(self.tag)
    }

    pub fn request(&mut self, build: impl FnOnce(RequestTag) -> CtiRequest) -> Vec<CtiEvent> {
        let tag = self.next_tag();
        self.sim.handle_request(self.now, build(tag));
        let events = self.drain();
        self.sim.check_invariants().expect("invariants");
        events
    }

    pub fn state_req(&mut self, agent: &str, state: RequestedState, reason: Option<u16>, forced: bool) -> Vec<CtiEvent> {
        self.request(|tag| CtiRequest::AgentState { tag, agent: agent.into(), state, reason_code: reason, forced })
    }

    pub fn login(&mut self, agent: &str, extension: &str) -> Vec<CtiEvent> {
        self.state_req(agent, RequestedState::Login { extension: extension.into() }, None, false)
    }

    pub fn ready(&mut self, agent: &str) -> Vec<CtiEvent> {
        self.state_req(agent, RequestedState::Ready, None, false)
    }

    pub fn not_ready(&mut self, agent: &str, code: Option<u16>) -> Vec<CtiEvent> {
        self.state_req(agent, RequestedState::NotReady, code, false)
    }

    pub fn logout(&mut self, agent: &str, code: Option<u16>) -> Vec<CtiEvent> {
        self.state_req(agent, RequestedState::Logout, code, false)
    }

    pub fn forced_logout(&mut self, agent: &str) -> Vec<CtiEvent> {
        self.state_req(agent, RequestedState::Logout, Some(255), true)
    }

    /// Signs the agent in on its own extension and makes it READY.
    pub fn sign_in_ready(&mut self, agent: &str) {
        self.login(agent, agent);
        self.ready(agent);
    }

    pub fn act(&mut self, agent: &str, call: CallId, action: CallAction) -> Vec<CtiEvent> {
        self.request(|tag| CtiRequest::CallControl { tag, agent: agent.into(), call, action })
    }

    pub fn make_call(&mut self, agent: &str, from: &str, to: &str) -> Vec<CtiEvent> {
        self.request(|tag| CtiRequest::MakeCall { tag, agent: agent.into(), from: from.into(), to: to.into() })
    }

    /// Injects a call in `queue`; the events it caused are dropped.
    pub fn inject(&mut self, queue: &str) -> CallId {
        self.inject_events(queue).0
    }

    /// Injects a call in `queue`, with the events it caused.
    pub fn inject_events(&mut self, queue: &str) -> (CallId, Vec<CtiEvent>) {
        let call = InjectedCall { queue: queue.into(), from: Some("5551234567".into()), variables: Vec::new() };
        let id = self.sim.inject_call(self.now, call).expect("queue exists");
        self.sim.check_invariants().expect("invariants");
        (id, self.drain())
    }

    /// Moves the clock forward by `ms`, firing every deadline on the way at its own time.
    pub fn advance(&mut self, ms: u64) -> Vec<CtiEvent> {
        let target = self.now + ms;
        let mut events = Vec::new();
        while let Some(at) = self.sim.poll_timeout().filter(|&at| at <= target) {
            self.now = at.max(self.now);
            self.sim.handle_timeout(self.now);
            events.extend(self.drain());
            self.sim.check_invariants().expect("invariants");
        }
        self.now = target;
        events
    }

    pub fn state(&self, agent: &str) -> AgentState {
        self.sim.agent(agent).expect("known agent").state
    }

    pub fn agent(&self, agent: &str) -> AgentSnapshot {
        self.sim.agent(agent).expect("known agent")
    }

    pub fn call(&self, call: CallId) -> CallSnapshot {
        self.sim.call(call).expect("call exists")
    }
}

/// The failure among `events`, if any.
pub fn failure(events: &[CtiEvent]) -> Option<(RequestTag, CtiFailure)> {
    events.iter().find_map(|e| match e {
        CtiEvent::Failure { tag, failure } => Some((*tag, failure.clone())),
        _ => None,
    })
}

/// The agent snapshots among `events`, in order.
pub fn agent_events(events: &[CtiEvent]) -> Vec<(Option<RequestTag>, AgentSnapshot)> {
    events
        .iter()
        .filter_map(|e| match e {
            CtiEvent::Agent { tag, snapshot } => Some((*tag, snapshot.clone())),
            _ => None,
        })
        .collect()
}

/// The states `agent` went through in `events`.
pub fn states_of(events: &[CtiEvent], agent: &str) -> Vec<AgentState> {
    agent_events(events).into_iter().filter(|(_, s)| s.agent == agent).map(|(_, s)| s.state).collect()
}

/// The call snapshots among `events`, in order.
pub fn call_events(events: &[CtiEvent]) -> Vec<CallSnapshot> {
    events
        .iter()
        .filter_map(|e| match e {
            CtiEvent::Call { snapshot, .. } => Some(snapshot.clone()),
            _ => None,
        })
        .collect()
}

/// The (call, agents) of every CallEnded among `events`.
pub fn ended(events: &[CtiEvent]) -> Vec<(CallId, Vec<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            CtiEvent::CallEnded { call, agents, .. } => Some((*call, agents.clone())),
            _ => None,
        })
        .collect()
}

/// The id of the call offered to (ringing at) `agent` in `events`.
pub fn offered_to(events: &[CtiEvent], agent: &str) -> Option<CallId> {
    call_events(events).into_iter().find_map(|c| {
        c.participants
            .iter()
            .any(|p| p.agent.as_deref() == Some(agent) && p.state == herald_cti::ParticipantState::Alerting)
            .then_some(c.id)
    })
}
