//! The built-in contact-center simulator, the default CTI side: a small but real ACD. Agents
//! sign in on extensions and change state; calls arrive in queues (a seeded Poisson process
//! plus injected calls), wait in FIFO order and are offered to the queue's READY agent who has
//! been READY the longest; agents answer, hold, consult, transfer, conference and drop; agents
//! call each other and outside numbers; customers hang up after a talk time; wrap-up, pending
//! states, RONA, queue statistics and heartbeats follow finesse-domain.md §1.3, §1.5, §1.7, §5.
//!
//! Sans-IO and deterministic: time only comes in as `now`, the only randomness is one
//! `StdRng` seeded from [`SimConfig::seed`], and nothing iterates a hash map to produce events,
//! so one seed and one sequence of inputs always give one sequence of events.
//!
//! Modules: `agents` (agent state machine, wrap-up, pending), `calls` (call records, call
//! control on an existing call, ending calls), `dial` (MAKE_CALL, consult, transfer,
//! conference), `acd` (queues, the READY index, routing, arrivals, RONA), `stats` (queue
//! statistics), `timers` (deadlines), `codes` (the CTI constants), `link` (the link to the web
//! services: dropped, closed, restored with a snapshot).

mod acd;
mod agents;
mod calls;
mod codes;
mod dial;
mod link;
mod stats;
mod timers;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::{AgentId, AgentSnapshot, CallId, CallSnapshot, CtiEvent, CtiFailure, CtiMachine, CtiRequest, EpochMs, QueueStats, RequestTag};
use acd::QueueRt;
use agents::AgentRt;
use calls::CallRt;
use timers::{Timer, TimerKey, Timers};

/// The simulator's configuration: the scenario's queues and agents and the ACD's timings.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Seeds the only random source (arrivals, talk times, generated call data).
    pub seed: u64,
    /// The queues calls arrive in.
    pub queues: Vec<SimQueue>,
    /// The agents known at start (more with [`Simulator::put_agent`]).
    pub agents: Vec<SimAgent>,
    /// The customer hangs up after uniform[min, max] ms of talk.
    pub talk_time_ms: (u64, u64),
    /// How long WORK / WORK_READY lasts after a call with wrap-up.
    pub wrap_up_ms: u64,
    /// Ring-no-answer: an offered call not answered within this is requeued and the agent made
    /// NOT_READY.
    pub ring_no_answer_ms: u64,
    /// An outside number answers a call after uniform[min, max] ms.
    pub outside_answer_ms: (u64, u64),
    /// Queue statistics at most this often, only when changed (0: never).
    pub stats_interval_ms: u64,
    /// Heartbeat events this often (0: never).
    pub heartbeat_interval_ms: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            queues: Vec::new(),
            agents: Vec::new(),
            talk_time_ms: (30_000, 180_000),
            wrap_up_ms: 15_000,
            ring_no_answer_ms: 15_000,
            outside_answer_ms: (2_000, 6_000),
            stats_interval_ms: 10_000,
            heartbeat_interval_ms: 5_000,
        }
    }
}

/// A queue (Finesse Queue / CCE skill group) calls arrive in.
#[derive(Clone, Debug, PartialEq)]
pub struct SimQueue {
    /// The queue's id (`/finesse/api/Queue/{id}`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// The number customers dial (the call's DNIS).
    pub dialed_number: String,
    /// Mean Poisson arrival rate; 0 (or anything not positive and finite) = only injected calls.
    pub calls_per_hour: f64,
}

/// An agent as the simulator knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimAgent {
    /// The login id.
    pub agent: AgentId,
    /// The configured extension: when set, the only one the agent may sign in on.
    pub extension: Option<String>,
    /// The ids of the queues the agent takes calls from.
    pub queues: Vec<String>,
    /// Wrap-up (WORK_READY / WORK) after routed calls.
    pub wrap_up_incoming: bool,
    /// Wrap-up after calls the agent placed.
    pub wrap_up_outgoing: bool,
}

/// A call put into a queue from outside the Poisson process (`herald sim call`, tests).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InjectedCall {
    /// The queue's id.
    pub queue: String,
    /// The calling number (ANI); generated when absent.
    pub from: Option<String>,
    /// Call variables, passed through unchanged; generated when empty.
    pub variables: Vec<(String, String)>,
}

/// Why the simulator refused an operation of its own API (CTI requests fail with events).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// No queue has this id.
    #[error("unknown queue {0:?}")]
    UnknownQueue(String),
}

/// The state of the simulator's link to the web services ([`Simulator::set_link`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SimLink {
    /// Connected: events and heartbeats flow.
    #[default]
    Up,
    /// Gone quiet: no heartbeat, no event; the web services notice from missed heartbeats.
    Silent,
    /// Closed: the adapter reported [`CtiEvent::LinkLost`]; then as [`SimLink::Silent`].
    Closed,
}

/// The simulator: a [`CtiMachine`] over agents, queues and calls.
pub struct Simulator {
    cfg: Timing,
    rng: StdRng,
    timers: Timers,
    events: VecDeque<CtiEvent>,
    /// The latest `now` seen, for operations that have none ([`Simulator::put_agent`]).
    clock: EpochMs,
    agents: Vec<AgentRt>,
    agent_index: HashMap<AgentId, usize>,
    /// Signed-in extension → agent.
    signed_in: HashMap<String, usize>,
    /// Configured extension → agent.
    configured: HashMap<String, usize>,
    queues: Vec<QueueRt>,
    queue_index: HashMap<String, usize>,
    calls: BTreeMap<CallId, CallRt>,
    next_call: CallId,
    ready_seq: u64,
    /// Queues whose statistics may have changed since the last report.
    dirty: BTreeSet<usize>,
    /// The link to the web services: events and heartbeats flow only while it is up.
    link: SimLink,
    /// The next heartbeat (none while the link is down or heartbeats are off).
    heartbeat: Option<TimerKey>,
}

/// The timing part of [`SimConfig`], kept after start.
#[derive(Clone, Copy, Debug)]
struct Timing {
    talk_time_ms: (u64, u64),
    wrap_up_ms: u64,
    ring_no_answer_ms: u64,
    outside_answer_ms: (u64, u64),
    stats_interval_ms: u64,
    heartbeat_interval_ms: u64,
}

impl Simulator {
    /// A simulator at `now`: every agent logged out, no call, arrivals, statistics and
    /// heartbeats scheduled, the link up; its first event is a [`CtiEvent::Snapshot`] of the
    /// configured agents, as the web services learn the CTI side's state when they connect.
    pub fn new(config: SimConfig, now: EpochMs) -> Self {
        let mut sim = Self {
            cfg: Timing {
                talk_time_ms: config.talk_time_ms,
                wrap_up_ms: config.wrap_up_ms,
                ring_no_answer_ms: config.ring_no_answer_ms,
                outside_answer_ms: config.outside_answer_ms,
                stats_interval_ms: config.stats_interval_ms,
                heartbeat_interval_ms: config.heartbeat_interval_ms,
            },
            rng: StdRng::seed_from_u64(config.seed),
            timers: Timers::default(),
            events: VecDeque::new(),
            clock: now,
            agents: Vec::new(),
            agent_index: HashMap::new(),
            signed_in: HashMap::new(),
            configured: HashMap::new(),
            queues: Vec::new(),
            queue_index: HashMap::new(),
            calls: BTreeMap::new(),
            next_call: codes::FIRST_CALL_ID,
            ready_seq: 0,
            dirty: BTreeSet::new(),
            link: SimLink::Up,
            heartbeat: None,
        };
        for queue in config.queues {
            sim.add_queue(now, queue);
        }
        for agent in config.agents {
            sim.put_agent(agent);
        }
        if sim.cfg.stats_interval_ms > 0 {
            sim.timers.add(now.saturating_add(sim.cfg.stats_interval_ms), Timer::Stats);
        }
        sim.arm_heartbeat(now);
        let snapshot = sim.snapshot();
        sim.push(snapshot);
        sim
    }

    /// Adds an agent, or replaces its configuration (extension, queues, wrap-up) at run time;
    /// a signed-in agent keeps its state and call.
    pub fn put_agent(&mut self, agent: SimAgent) {
        let now = self.clock;
        self.put_agent_at(now, agent);
    }

    /// Puts a call into a queue now, as if a customer had dialled it.
    pub fn inject_call(&mut self, now: EpochMs, call: InjectedCall) -> Result<CallId, SimError> {
        let now = self.tick(now);
        let Some(&queue) = self.queue_index.get(&call.queue) else {
            return Err(SimError::UnknownQueue(call.queue));
        };
        Ok(self.arrive(now, queue, call.from, call.variables))
    }

    /// An agent's state now (`None`: unknown agent).
    pub fn agent(&self, agent: &str) -> Option<AgentSnapshot> {
        self.agent_index.get(agent).and_then(|&i| self.agents.get(i)).map(AgentRt::snapshot)
    }

    /// A queue's statistics now (`None`: unknown queue).
    pub fn queue_stats(&self, queue: &str) -> Option<QueueStats> {
        self.queue_index.get(queue).map(|&q| self.compute_stats(q))
    }

    /// A call as it is now, including calls kept for agents in wrap-up (`None`: gone).
    pub fn call(&self, call: CallId) -> Option<CallSnapshot> {
        self.calls.get(&call).map(|c| c.snapshot())
    }

    /// The calls an agent is a party of now (not counting a call kept for its wrap-up).
    pub fn agent_calls(&self, agent: &str) -> Vec<CallId> {
        self.agent_index.get(agent).and_then(|&i| self.agents.get(i)).map(|a| a.calls.clone()).unwrap_or_default()
    }

    /// Drops or restores the link between the simulator and the web services, as a CTI
    /// server's connection would break: [`SimLink::Silent`] stops heartbeats and delivers no
    /// event (the ACD goes on: calls arrive, ring, end, unseen) and ignores requests;
    /// [`SimLink::Closed`] does the same but first reports [`CtiEvent::LinkLost`], as an adapter
    /// that saw its socket close; [`SimLink::Up`] reports a [`CtiEvent::Snapshot`] of every
    /// agent and live call, then a heartbeat, and heartbeats resume. Setting the current state
    /// again does nothing. Events queued but not yet polled when the link drops are lost with
    /// it; [`SimLink::Up`] also reports every queue's statistics, which may have changed unseen.
    pub fn set_link(&mut self, now: EpochMs, link: SimLink) {
        let now = self.tick(now);
        self.switch_link(now, link);
    }

    /// The link's state.
    pub fn link(&self) -> SimLink {
        self.link
    }

    /// Checks the simulator's internal consistency (agents ↔ calls ↔ queues ↔ extensions);
    /// `Err` says what is broken. For tests and diagnostics: it walks everything.
    pub fn check_invariants(&self) -> Result<(), String> {
        stats::check_invariants(self)
    }

    /// Records the time (never going back) and fires the timers due by then, so that a
    /// request is handled after everything that happened before it.
    fn tick(&mut self, now: EpochMs) -> EpochMs {
        self.clock = self.clock.max(now);
        while let Some((at, timer)) = self.timers.pop_due(now) {
            self.fire(at, timer);
        }
        now
    }

    /// Queues an event for the web services; discarded while the link is down (the CTI side
    /// does not queue what it could not send).
    fn push(&mut self, event: CtiEvent) {
        if self.link == SimLink::Up {
            self.events.push_back(event);
        }
    }

    fn fail(&mut self, tag: RequestTag, failure: CtiFailure) {
        self.push(CtiEvent::Failure { tag, failure });
    }

    fn fire(&mut self, at: EpochMs, timer: Timer) {
        match timer {
            Timer::Arrival(q) => self.arrival_due(at, q),
            Timer::Rona(call) => self.rona(at, call),
            Timer::Hangup(call) => self.hangup(at, call),
            Timer::OutsideAnswer(call) => self.outside_answers(at, call),
            Timer::WrapUp(agent) => self.wrap_up_ends(at, agent),
            Timer::Stats => {
                // While the link is down the queues stay dirty; `Up` reports them all anyway.
                if self.link == SimLink::Up {
                    self.report_stats();
                }
                if self.cfg.stats_interval_ms > 0 {
                    self.timers.add(at.saturating_add(self.cfg.stats_interval_ms), Timer::Stats);
                }
            }
            Timer::Heartbeat => {
                self.heartbeat = None;
                self.push(CtiEvent::Heartbeat);
                self.arm_heartbeat(at);
            }
        }
    }
}

impl CtiMachine for Simulator {
    fn handle_request(&mut self, now: EpochMs, request: CtiRequest) {
        let now = self.tick(now);
        if self.link != SimLink::Up {
            // Lost on the broken link: no event, no failure (the web services refuse requests
            // while out of service; one in flight is simply gone).
            return;
        }
        match request {
            CtiRequest::AgentState { tag, agent, state, reason_code, forced } => {
                self.agent_state(now, tag, &agent, state, reason_code, forced);
            }
            CtiRequest::MakeCall { tag, agent, from, to } => self.make_call(now, tag, &agent, &from, &to),
            CtiRequest::CallControl { tag, agent, call, action } => self.call_control(now, tag, &agent, call, action),
        }
    }

    fn handle_timeout(&mut self, now: EpochMs) {
        self.tick(now);
    }

    fn poll_event(&mut self) -> Option<CtiEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<EpochMs> {
        self.timers.next()
    }
}
