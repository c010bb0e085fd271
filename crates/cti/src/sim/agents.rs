//! Agents: the agent state machine (LOGIN, READY, NOT_READY, LOGOUT and the forced logout),
//! pending states while on a call, what an agent becomes when its last call ends (wrap-up or
//! the state it goes back to), and keeping the READY index and queue statistics in step.

use super::Simulator;
use super::timers::{Timer, TimerKey};
use crate::{AgentId, AgentSnapshot, AgentState, CallId, CtiEvent, CtiFailure, EpochMs, RequestTag, RequestedState};

/// What an agent becomes when its last call ends, decided as it joins calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct AfterCall {
    /// READY or NOT_READY.
    pub(super) state: AgentState,
    /// The NOT_READY reason to restore.
    pub(super) reason: Option<u16>,
    /// Wrap-up applies (a routed call with wrap-up on incoming, or a placed call with wrap-up
    /// on outgoing).
    pub(super) wrap: bool,
}

/// One agent's configuration and state.
#[derive(Debug)]
pub(super) struct AgentRt {
    pub(super) id: AgentId,
    /// The configured extension.
    pub(super) configured: Option<String>,
    /// Queue indices the agent takes calls from.
    pub(super) queues: Vec<usize>,
    pub(super) wrap_up_incoming: bool,
    pub(super) wrap_up_outgoing: bool,
    pub(super) state: AgentState,
    pub(super) since: EpochMs,
    pub(super) reason: Option<u16>,
    pub(super) extension: Option<String>,
    pub(super) pending: Option<(AgentState, Option<u16>)>,
    /// The calls the agent is a party of, oldest first.
    pub(super) calls: Vec<CallId>,
    /// The ended call kept as the agent's Dialog while it wraps up.
    pub(super) wrap_call: Option<CallId>,
    pub(super) wrap_timer: Option<TimerKey>,
    /// The state wrap-up ends in.
    pub(super) wrap_target: (AgentState, Option<u16>),
    /// The agent's place in its queues' READY indexes while READY.
    pub(super) ready_key: Option<(EpochMs, u64)>,
    pub(super) after: AfterCall,
}

impl AgentRt {
    fn new(id: AgentId, now: EpochMs) -> Self {
        Self {
            id,
            configured: None,
            queues: Vec::new(),
            wrap_up_incoming: false,
            wrap_up_outgoing: false,
            state: AgentState::Logout,
            since: now,
            reason: None,
            extension: None,
            pending: None,
            calls: Vec::new(),
            wrap_call: None,
            wrap_timer: None,
            wrap_target: (AgentState::NotReady, None),
            ready_key: None,
            after: AfterCall { state: AgentState::NotReady, reason: None, wrap: false },
        }
    }

    /// The state as reported.
    pub(super) fn snapshot(&self) -> AgentSnapshot {
        AgentSnapshot {
            agent: self.id.clone(),
            state: self.state,
            pending: self.pending.map(|p| p.0),
            reason_code: self.reason,
            extension: self.extension.clone(),
            since: self.since,
        }
    }

    /// Signed in and free to take or place a call: READY or NOT_READY with no call.
    pub(super) fn idle(&self) -> bool {
        matches!(self.state, AgentState::Ready | AgentState::NotReady) && self.calls.is_empty()
    }
}

impl Simulator {
    pub(super) fn agent_rt(&self, idx: usize) -> Option<&AgentRt> {
        self.agents.get(idx)
    }

    pub(super) fn agent_mut(&mut self, idx: usize) -> Option<&mut AgentRt> {
        self.agents.get_mut(idx)
    }

    fn emit_agent(&mut self, tag: Option<RequestTag>, idx: usize) {
        if let Some(a) = self.agents.get(idx) {
            let snapshot = a.snapshot();
            self.push(CtiEvent::Agent { tag, snapshot });
        }
    }

    /// Adds or reconfigures an agent (see [`Simulator::put_agent`]).
    pub(super) fn put_agent_at(&mut self, now: EpochMs, agent: super::SimAgent) {
        let idx = match self.agent_index.get(&agent.agent) {
            Some(&i) => i,
            None => {
                self.agents.push(AgentRt::new(agent.agent.clone(), now));
                let i = self.agents.len() - 1;
                self.agent_index.insert(agent.agent.clone(), i);
                i
            }
        };
        let queues: Vec<usize> = {
            let mut q: Vec<usize> = agent.queues.iter().filter_map(|id| self.queue_index.get(id).copied()).collect();
            q.sort_unstable();
            q.dedup();
            q
        };
        let Some(a) = self.agents.get_mut(idx) else { return };
        let old_configured = a.configured.take();
        let old_queues = std::mem::take(&mut a.queues);
        a.configured = agent.extension.clone().filter(|e| !e.is_empty());
        a.wrap_up_incoming = agent.wrap_up_incoming;
        a.wrap_up_outgoing = agent.wrap_up_outgoing;
        if let Some(ext) = old_configured
            && self.configured.get(&ext) == Some(&idx)
        {
            self.configured.remove(&ext);
        }
        if let Some(ext) = agent.extension.filter(|e| !e.is_empty()) {
            self.configured.insert(ext, idx);
        }
        for &q in &old_queues {
            self.leave_queue(q, idx);
        }
        for &q in &queues {
            self.join_queue(q, idx);
        }
        if let Some(a) = self.agents.get_mut(idx) {
            a.queues = queues;
        }
        if self.agents.get(idx).is_some_and(|a| a.state == AgentState::Ready) {
            self.route_agent(now, idx);
        }
    }

    /// A state change request.
    pub(super) fn agent_state(
        &mut self,
        now: EpochMs,
        tag: RequestTag,
        agent: &str,
        requested: RequestedState,
        reason: Option<u16>,
        forced: bool,
    ) {
        let idx = match self.agent_index.get(agent) {
            Some(&i) => i,
            None if matches!(requested, RequestedState::Login { .. }) => {
                // An agent the scenario did not list: it can sign in, with no queue.
                self.put_agent_at(
                    now,
                    super::SimAgent {
                        agent: agent.to_owned(),
                        extension: None,
                        queues: Vec::new(),
                        wrap_up_incoming: false,
                        wrap_up_outgoing: false,
                    },
                );
                match self.agent_index.get(agent) {
                    Some(&i) => i,
                    None => return self.fail(tag, CtiFailure::invalid_state()),
                }
            }
            None if forced && requested == RequestedState::Logout => {
                // Never signed in here: already logged out, which a forced logout accepts.
                let snapshot = AgentSnapshot {
                    agent: agent.to_owned(),
                    state: AgentState::Logout,
                    pending: None,
                    reason_code: reason,
                    extension: None,
                    since: now,
                };
                return self.push(CtiEvent::Agent { tag: Some(tag), snapshot });
            }
            None => return self.fail(tag, CtiFailure::invalid_state()),
        };
        let Some(state) = self.agents.get(idx).map(|a| a.state) else { return };
        let tag_some = Some(tag);
        use AgentState as S;
        match requested {
            RequestedState::Login { extension } => {
                if state != S::Logout {
                    return self.emit_agent(tag_some, idx);
                }
                if !self.may_sign_in(idx, &extension) {
                    return self.fail(tag, CtiFailure::invalid_device());
                }
                self.signed_in.insert(extension.clone(), idx);
                if let Some(a) = self.agents.get_mut(idx) {
                    a.extension = Some(extension);
                }
                self.set_state(now, tag_some, idx, S::NotReady, None);
            }
            RequestedState::Logout if forced => self.force_logout(now, tag, idx, reason),
            RequestedState::Logout => match state {
                S::NotReady => self.sign_out(now, tag_some, idx, reason),
                _ => self.fail(tag, CtiFailure::invalid_state()),
            },
            RequestedState::Ready => match state {
                S::NotReady => self.set_state(now, tag_some, idx, S::Ready, None),
                S::Reserved | S::Talking | S::Hold => self.set_pending(tag_some, idx, S::Ready, None),
                S::Work | S::WorkReady => {
                    self.end_wrap_up(tag_some, idx);
                    self.set_state(now, tag_some, idx, S::Ready, None);
                }
                _ => self.fail(tag, CtiFailure::invalid_state()),
            },
            RequestedState::NotReady => match state {
                S::NotReady | S::Ready => self.set_state(now, tag_some, idx, S::NotReady, reason),
                S::Reserved | S::Talking | S::Hold => self.set_pending(tag_some, idx, S::NotReady, reason),
                S::Work | S::WorkReady => {
                    self.end_wrap_up(tag_some, idx);
                    self.set_state(now, tag_some, idx, S::NotReady, reason);
                }
                _ => self.fail(tag, CtiFailure::invalid_state()),
            },
        }
    }

    /// A sign-in on `extension` is allowed: not empty, the agent's configured one if it has
    /// one, nobody else's configured one, and not signed in by another agent.
    fn may_sign_in(&self, idx: usize, extension: &str) -> bool {
        let Some(a) = self.agents.get(idx) else { return false };
        if extension.is_empty() || a.configured.as_deref().is_some_and(|c| c != extension) {
            return false;
        }
        let taken = |m: &std::collections::HashMap<String, usize>| m.get(extension).is_some_and(|&o| o != idx);
        !taken(&self.signed_in) && !taken(&self.configured)
    }

    fn set_pending(&mut self, tag: Option<RequestTag>, idx: usize, state: AgentState, reason: Option<u16>) {
        if let Some(a) = self.agents.get_mut(idx) {
            a.pending = Some((state, reason));
        }
        self.emit_agent(tag, idx);
    }

    fn sign_out(&mut self, now: EpochMs, tag: Option<RequestTag>, idx: usize, reason: Option<u16>) {
        if let Some(ext) = self.agents.get_mut(idx).and_then(|a| a.extension.take())
            && self.signed_in.get(&ext) == Some(&idx)
        {
            self.signed_in.remove(&ext);
        }
        if let Some(a) = self.agents.get_mut(idx) {
            a.pending = None;
        }
        self.set_state(now, tag, idx, AgentState::Logout, reason);
    }

    /// Presence-driven logout: from any state; calls are dropped for the agent first.
    fn force_logout(&mut self, now: EpochMs, tag: RequestTag, idx: usize, reason: Option<u16>) {
        let Some(a) = self.agents.get(idx) else { return };
        if a.state == AgentState::Logout {
            return self.emit_agent(Some(tag), idx);
        }
        // No wrap-up, no pending, no routing on the way out.
        if let Some(a) = self.agents.get_mut(idx) {
            a.after.wrap = false;
            a.pending = Some((AgentState::NotReady, None));
        }
        while let Some(&call) = self.agents.get(idx).and_then(|a| a.calls.first()) {
            self.agent_leaves(now, Some(tag), call, idx);
            if let Some(a) = self.agents.get_mut(idx) {
                a.calls.retain(|&c| c != call);
            }
        }
        self.end_wrap_up(Some(tag), idx);
        self.sign_out(now, Some(tag), idx, reason);
    }

    /// Enters `state` (updating the READY index and statistics) and reports it; a READY agent
    /// is then offered the longest-waiting call of its queues.
    pub(super) fn set_state(&mut self, now: EpochMs, tag: Option<RequestTag>, idx: usize, state: AgentState, reason: Option<u16>) {
        let Some(a) = self.agents.get(idx) else { return };
        let was_ready = a.state == AgentState::Ready;
        let queues = a.queues.clone();
        if was_ready && state != AgentState::Ready {
            let key = self.agents.get_mut(idx).and_then(|a| a.ready_key.take());
            if let Some(key) = key {
                for &q in &queues {
                    self.unindex_ready(q, key, idx);
                }
            }
        }
        if !was_ready && state == AgentState::Ready {
            self.ready_seq += 1;
            let key = (now, self.ready_seq);
            if let Some(a) = self.agents.get_mut(idx) {
                a.ready_key = Some(key);
            }
            for &q in &queues {
                self.index_ready(q, key, idx);
            }
        }
        if let Some(a) = self.agents.get_mut(idx) {
            a.state = state;
            a.reason = reason;
            a.since = now;
        }
        self.dirty.extend(queues);
        self.emit_agent(tag, idx);
        if state == AgentState::Ready {
            self.route_agent(now, idx);
        }
    }

    /// The agent joins a call (alerted or placing it). `routed`: a call from a queue;
    /// `placed`: the agent dialled it.
    pub(super) fn join_call(&mut self, idx: usize, call: CallId, routed: bool, placed: bool) {
        let Some(a) = self.agents.get_mut(idx) else { return };
        if a.calls.is_empty() {
            a.after = match a.state {
                AgentState::Ready | AgentState::WorkReady => AfterCall { state: AgentState::Ready, reason: None, wrap: false },
                _ => AfterCall { state: AgentState::NotReady, reason: a.reason, wrap: false },
            };
        }
        if routed {
            a.after.state = AgentState::Ready;
            a.after.reason = None;
            a.after.wrap |= a.wrap_up_incoming;
        }
        if placed {
            a.after.state = AgentState::NotReady;
            a.after.reason = None;
            a.after.wrap |= a.wrap_up_outgoing;
        }
        if !a.calls.contains(&call) {
            a.calls.push(call);
        }
    }

    /// Whether the agent goes to wrap-up when `call`, its only call, ends.
    pub(super) fn will_wrap(&self, idx: usize, call: CallId) -> bool {
        self.agents.get(idx).is_some_and(|a| a.calls == [call] && a.after.wrap && self.cfg.wrap_up_ms > 0)
    }

    /// The agent is no longer a party of `call`: its state follows its other calls, or what it
    /// becomes after its last one. `kept`: the call stays as its Dialog during wrap-up.
    pub(super) fn call_gone(&mut self, now: EpochMs, tag: Option<RequestTag>, idx: usize, call: CallId, kept: bool) {
        let Some(a) = self.agents.get_mut(idx) else { return };
        a.calls.retain(|&c| c != call);
        if !a.calls.is_empty() {
            return self.sync_agent(now, tag, idx);
        }
        let target = a.pending.take().unwrap_or((a.after.state, a.after.reason));
        if a.after.wrap && self.cfg.wrap_up_ms > 0 {
            a.wrap_target = target;
            a.wrap_call = kept.then_some(call);
            let at = now.saturating_add(self.cfg.wrap_up_ms);
            let key = self.timers.add(at, Timer::WrapUp(idx));
            if let Some(a) = self.agents.get_mut(idx) {
                a.wrap_timer = Some(key);
            }
            let state = if target.0 == AgentState::Ready { AgentState::WorkReady } else { AgentState::Work };
            self.set_state(now, tag, idx, state, None);
        } else {
            self.set_state(now, tag, idx, target.0, target.1);
        }
    }

    /// Brings the agent's state in line with its part in its calls (TALKING, HOLD, RESERVED).
    pub(super) fn sync_agent(&mut self, now: EpochMs, tag: Option<RequestTag>, idx: usize) {
        let Some(a) = self.agents.get(idx) else { return };
        let queues = a.queues.clone();
        self.dirty.extend(queues);
        let Some(state) = self.derived_state(idx) else { return };
        if self.agents.get(idx).is_some_and(|a| a.state != state) {
            self.set_state(now, tag, idx, state, None);
        }
    }

    /// Wrap-up's timer: the kept Dialog goes, then the agent enters the state wrap-up was
    /// heading for.
    pub(super) fn wrap_up_ends(&mut self, now: EpochMs, idx: usize) {
        let Some(target) = self.agents.get(idx).map(|a| a.wrap_target) else { return };
        if let Some(a) = self.agents.get_mut(idx) {
            a.wrap_timer = None;
        }
        self.end_wrap_up(None, idx);
        if self.agents.get(idx).is_some_and(|a| matches!(a.state, AgentState::Work | AgentState::WorkReady)) {
            self.set_state(now, None, idx, target.0, target.1);
        }
    }

    /// Cancels wrap-up's timer and lets go of the kept Dialog.
    pub(super) fn end_wrap_up(&mut self, tag: Option<RequestTag>, idx: usize) {
        let Some(a) = self.agents.get_mut(idx) else { return };
        let timer = a.wrap_timer.take();
        let call = a.wrap_call.take();
        let id = a.id.clone();
        self.timers.cancel(timer);
        if let Some(call) = call {
            self.push(CtiEvent::CallEnded { tag, call, agents: vec![id] });
            let empty = self.calls.get_mut(&call).map(|c| {
                c.wrapping.retain(|&i| i != idx);
                c.wrapping.is_empty()
            });
            if empty == Some(true) {
                self.calls.remove(&call);
            }
        }
    }
}
