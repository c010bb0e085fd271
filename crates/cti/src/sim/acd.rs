//! The ACD: queues, each with its FIFO of waiting calls and its index of READY agents ordered
//! by READY-since (longest available first), routing between the two, Poisson arrivals,
//! ring-no-answer, and the call data generated for arrivals.

use std::collections::{BTreeSet, VecDeque};

use rand::Rng;

use super::calls::{CallRt, party};
use super::timers::Timer;
use super::{SimQueue, Simulator, codes};
use crate::{AgentState, CallId, CallState, CallType, CtiEvent, EpochMs, ParticipantState, QueueRef, QueueStats, RequestTag};

const FIRST_NAMES: [&str; 10] = ["Ana", "Ben", "Chloe", "Dev", "Eve", "Farid", "Grace", "Hiro", "Ines", "Jon"];
const LAST_NAMES: [&str; 8] = ["Smith", "Garcia", "Nguyen", "Kowalski", "Okafor", "Rossi", "Tanaka", "Dubois"];

/// One queue at run time.
#[derive(Debug)]
pub(super) struct QueueRt {
    pub(super) reference: QueueRef,
    pub(super) dialed_number: String,
    /// Mean gap between arrivals in ms (`None`: only injected calls).
    pub(super) mean_gap_ms: Option<f64>,
    /// Waiting calls, oldest first.
    pub(super) waiting: VecDeque<CallId>,
    /// READY agents by (READY since, sequence).
    pub(super) ready: BTreeSet<((EpochMs, u64), usize)>,
    /// Agents taking calls from this queue.
    pub(super) members: BTreeSet<usize>,
    /// The statistics last reported.
    pub(super) reported: Option<QueueStats>,
}

impl Simulator {
    /// Adds a queue from the configuration (a second queue with the same id is ignored).
    pub(super) fn add_queue(&mut self, now: EpochMs, q: SimQueue) {
        if self.queue_index.contains_key(&q.id) {
            return;
        }
        let rate = q.calls_per_hour;
        let mean_gap_ms = (rate.is_finite() && rate > 0.0).then(|| 3_600_000.0 / rate);
        let idx = self.queues.len();
        self.queue_index.insert(q.id.clone(), idx);
        self.queues.push(QueueRt {
            reference: QueueRef { id: q.id, name: q.name },
            dialed_number: q.dialed_number,
            mean_gap_ms,
            waiting: VecDeque::new(),
            ready: BTreeSet::new(),
            members: BTreeSet::new(),
            reported: None,
        });
        self.dirty.insert(idx);
        self.schedule_arrival(now, idx);
    }

    fn schedule_arrival(&mut self, now: EpochMs, q: usize) {
        let Some(mean) = self.queues.get(q).and_then(|q| q.mean_gap_ms) else { return };
        let u: f64 = self.rng.random();
        let gap = -(1.0 - u).ln() * mean;
        let gap = if gap.is_finite() { gap.ceil().clamp(1.0, 1e15) as u64 } else { 1 };
        self.timers.add(now.saturating_add(gap), Timer::Arrival(q));
    }

    /// A Poisson arrival is due.
    pub(super) fn arrival_due(&mut self, now: EpochMs, q: usize) {
        self.arrive(now, q, None, Vec::new());
        self.schedule_arrival(now, q);
    }

    pub(super) fn join_queue(&mut self, q: usize, idx: usize) {
        let key = self.agent_rt(idx).and_then(|a| a.ready_key);
        if let Some(queue) = self.queues.get_mut(q) {
            queue.members.insert(idx);
            if let Some(key) = key {
                queue.ready.insert((key, idx));
            }
        }
        self.dirty.insert(q);
    }

    pub(super) fn leave_queue(&mut self, q: usize, idx: usize) {
        let key = self.agent_rt(idx).and_then(|a| a.ready_key);
        if let Some(queue) = self.queues.get_mut(q) {
            queue.members.remove(&idx);
            if let Some(key) = key {
                queue.ready.remove(&(key, idx));
            }
        }
        self.dirty.insert(q);
    }

    pub(super) fn index_ready(&mut self, q: usize, key: (EpochMs, u64), idx: usize) {
        if let Some(queue) = self.queues.get_mut(q) {
            queue.ready.insert((key, idx));
        }
    }

    pub(super) fn unindex_ready(&mut self, q: usize, key: (EpochMs, u64), idx: usize) {
        if let Some(queue) = self.queues.get_mut(q) {
            queue.ready.remove(&(key, idx));
        }
    }

    /// A customer calls a queue: the call waits, then goes to the longest-READY agent.
    pub(super) fn arrive(&mut self, now: EpochMs, q: usize, from: Option<String>, variables: Vec<(String, String)>) -> CallId {
        let from = from.unwrap_or_else(|| self.rng.random_range(2_000_000_000u64..10_000_000_000).to_string());
        let variables = if variables.is_empty() { self.generated_variables() } else { variables };
        let id = self.new_call_id();
        let (reference, dialed) = match self.queues.get(q) {
            Some(queue) => (queue.reference.clone(), queue.dialed_number.clone()),
            None => return id,
        };
        let mut call = CallRt::new(id, from.clone(), dialed, CallType::AcdIn, now);
        call.queue = Some((q, reference));
        call.variables = variables;
        call.participants.push(party(&from, None, ParticipantState::Initiated, now));
        self.calls.insert(id, call);
        self.enqueue(now, q, id, false);
        id
    }

    fn generated_variables(&mut self) -> Vec<(String, String)> {
        let first = FIRST_NAMES.get(self.rng.random_range(0..FIRST_NAMES.len())).copied().unwrap_or("Ana");
        let last = LAST_NAMES.get(self.rng.random_range(0..LAST_NAMES.len())).copied().unwrap_or("Smith");
        let account: u32 = self.rng.random_range(10_000_000..100_000_000);
        vec![("callVariable1".to_owned(), format!("{first} {last}")), ("callVariable2".to_owned(), account.to_string())]
    }

    /// Puts a call in its queue (at the head after RONA) and routes.
    fn enqueue(&mut self, now: EpochMs, q: usize, call: CallId, head: bool) {
        if let Some(c) = self.calls.get_mut(&call) {
            c.queued = true;
            c.state = CallState::Initiated;
        }
        if let Some(queue) = self.queues.get_mut(q) {
            if head { queue.waiting.push_front(call) } else { queue.waiting.push_back(call) }
        }
        self.dirty.insert(q);
        self.route_queue(now, q);
    }

    /// Takes a call out of its queue's FIFO.
    pub(super) fn dequeue(&mut self, q: usize, call: CallId) {
        if let Some(queue) = self.queues.get_mut(q) {
            queue.waiting.retain(|&c| c != call);
        }
        self.dirty.insert(q);
    }

    /// Offers waiting calls to READY agents while the queue has both.
    fn route_queue(&mut self, now: EpochMs, q: usize) {
        loop {
            let Some(queue) = self.queues.get_mut(q) else { return };
            let (Some(&call), Some(&(_, agent))) = (queue.waiting.front(), queue.ready.first()) else { return };
            queue.waiting.pop_front();
            self.offer(now, q, call, agent);
        }
    }

    /// An agent became READY: it takes the longest-waiting call of its queues, if any.
    pub(super) fn route_agent(&mut self, now: EpochMs, idx: usize) {
        let Some(a) = self.agent_rt(idx) else { return };
        if a.state != AgentState::Ready {
            return;
        }
        let best = a
            .queues
            .iter()
            .filter_map(|&q| {
                let call = *self.queues.get(q)?.waiting.front()?;
                Some((self.calls.get(&call).map_or(0, |c| c.arrived), q, call))
            })
            .min();
        if let Some((_, q, call)) = best {
            if let Some(queue) = self.queues.get_mut(q) {
                queue.waiting.pop_front();
            }
            self.offer(now, q, call, idx);
        }
    }

    /// The call rings at the agent; RONA is armed.
    fn offer(&mut self, now: EpochMs, q: usize, call: CallId, idx: usize) {
        let Some(id) = self.agent_rt(idx).map(|a| (a.id.clone(), a.extension.clone().unwrap_or_default())) else {
            return;
        };
        self.dirty.insert(q);
        let rona_at = now.saturating_add(self.cfg.ring_no_answer_ms);
        let key = self.timers.add(rona_at, Timer::Rona(call));
        let Some(c) = self.calls.get_mut(&call) else { return };
        c.queued = false;
        c.state = CallState::Alerting;
        c.rona = Some(key);
        c.participants.push(party(&id.1, Some(&id.0), ParticipantState::Alerting, now));
        self.join_call(idx, call, true, false);
        self.emit_call(None, call);
        self.sync_agent(now, None, idx);
    }

    /// Ring-no-answer: the agent goes NOT_READY, the call back to the head of its queue.
    pub(super) fn rona(&mut self, now: EpochMs, call: CallId) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        c.rona = None;
        let Some(idx) = c
            .participants
            .iter()
            .find(|p| p.state == ParticipantState::Alerting)
            .and_then(|p| p.agent.as_ref())
            .and_then(|a| self.agent_index.get(a).copied())
        else {
            return;
        };
        self.unoffer(now, None, call, idx, true);
    }

    /// Takes a ringing routed call back from the agent (RONA, or the agent leaving) and puts it
    /// at the head of its queue. `rona`: the agent is made NOT_READY with the RONA reason.
    pub(super) fn unoffer(&mut self, now: EpochMs, tag: Option<RequestTag>, call: CallId, idx: usize, rona: bool) {
        let Some(id) = self.agent_rt(idx).map(|a| a.id.clone()) else { return };
        let Some(c) = self.calls.get_mut(&call) else { return };
        let timer = c.rona.take();
        c.participants.retain(|p| p.agent.as_deref() != Some(id.as_str()));
        let q = c.queue.as_ref().map(|q| q.0);
        self.timers.cancel(timer);
        self.push(CtiEvent::CallEnded { tag, call, agents: vec![id] });
        if rona && let Some(a) = self.agent_mut(idx) {
            a.pending = Some((AgentState::NotReady, Some(codes::REASON_RONA)));
            a.after.wrap = false;
        }
        self.call_gone(now, tag, idx, call, false);
        if let Some(q) = q {
            self.enqueue(now, q, call, true);
        }
    }

    /// A talk time: uniform in the configured range.
    pub(super) fn talk_time(&mut self) -> u64 {
        self.uniform(self.cfg.talk_time_ms)
    }

    /// Uniform in `[min, max]` (either order).
    pub(super) fn uniform(&mut self, (a, b): (u64, u64)) -> u64 {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        self.rng.random_range(lo..=hi)
    }
}
