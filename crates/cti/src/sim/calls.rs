//! Calls: the call record and its snapshot, call control on an existing call (ANSWER, HOLD,
//! RETRIEVE, DROP, SEND_DTMF, UPDATE_CALL_DATA; consult, transfer and conference are in
//! `dial`), parties leaving, and calls ending (with the Dialog kept for agents in wrap-up).

use super::Simulator;
use super::codes;
use super::timers::{Timer, TimerKey};
use crate::{
    AgentState, CallAction, CallId, CallSnapshot, CallState, CallType, CtiEvent, EpochMs, Participant, ParticipantState, QueueRef,
    RequestTag,
};

/// One call.
#[derive(Debug)]
pub(super) struct CallRt {
    pub(super) id: CallId,
    pub(super) associated: Option<CallId>,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) state: CallState,
    pub(super) call_type: CallType,
    pub(super) dialed_number: String,
    /// The queue (index and reference) of a routed call.
    pub(super) queue: Option<(usize, QueueRef)>,
    pub(super) variables: Vec<(String, String)>,
    pub(super) wrap_up_reason: Option<String>,
    pub(super) participants: Vec<Participant>,
    /// When the call arrived in its queue (routed calls).
    pub(super) arrived: EpochMs,
    /// Waiting in its queue now.
    pub(super) queued: bool,
    pub(super) rona: Option<TimerKey>,
    pub(super) hangup: Option<TimerKey>,
    pub(super) answer: Option<TimerKey>,
    /// Agents in wrap-up that keep this ended call as their Dialog.
    pub(super) wrapping: Vec<usize>,
}

impl CallRt {
    /// A call with no party yet.
    pub(super) fn new(id: CallId, from: String, to: String, call_type: CallType, now: EpochMs) -> Self {
        Self {
            id,
            associated: None,
            dialed_number: to.clone(),
            from,
            to,
            state: CallState::Initiating,
            call_type,
            queue: None,
            variables: Vec::new(),
            wrap_up_reason: None,
            participants: Vec::new(),
            arrived: now,
            queued: false,
            rona: None,
            hangup: None,
            answer: None,
            wrapping: Vec::new(),
        }
    }

    /// The call as reported.
    pub(super) fn snapshot(&self) -> CallSnapshot {
        CallSnapshot {
            id: self.id,
            associated: self.associated,
            from: self.from.clone(),
            to: self.to.clone(),
            state: self.state,
            call_type: self.call_type,
            dialed_number: self.dialed_number.clone(),
            queue: self.queue.as_ref().map(|q| q.1.clone()),
            variables: self.variables.clone(),
            wrap_up_reason: self.wrap_up_reason.clone(),
            participants: self.participants.clone(),
        }
    }

    /// The position of an agent's participant.
    pub(super) fn position(&self, agent: &str) -> Option<usize> {
        self.participants.iter().position(|p| p.agent.as_deref() == Some(agent))
    }

    /// The state of an agent's participant.
    pub(super) fn party_state(&self, agent: &str) -> Option<ParticipantState> {
        self.position(agent).and_then(|i| self.participants.get(i)).map(|p| p.state)
    }

    /// Sets a participant's state.
    pub(super) fn set_party(&mut self, pos: usize, state: ParticipantState, now: EpochMs) {
        if let Some(p) = self.participants.get_mut(pos) {
            p.state = state;
            p.state_changed = now;
        }
    }

    /// Whether a participant is an outside party or customer (no agent).
    pub(super) fn has_outside(&self) -> bool {
        self.participants.iter().any(|p| p.agent.is_none())
    }
}

/// A new participant.
pub(super) fn party(address: &str, agent: Option<&str>, state: ParticipantState, now: EpochMs) -> Participant {
    Participant { address: address.to_owned(), agent: agent.map(str::to_owned), state, cause: None, start: now, state_changed: now }
}

impl Simulator {
    /// A fresh call id.
    pub(super) fn new_call_id(&mut self) -> CallId {
        let id = self.next_call;
        self.next_call += 1;
        id
    }

    /// Reports a call as it is now.
    pub(super) fn emit_call(&mut self, tag: Option<RequestTag>, call: CallId) {
        if let Some(snapshot) = self.calls.get(&call).map(CallRt::snapshot) {
            self.push(CtiEvent::Call { tag, snapshot });
        }
    }

    /// The agent indices of a call's agent parties, in participant order.
    pub(super) fn call_agents(&self, call: CallId) -> Vec<usize> {
        let Some(c) = self.calls.get(&call) else { return Vec::new() };
        c.participants.iter().filter_map(|p| p.agent.as_ref().and_then(|a| self.agent_index.get(a).copied())).collect()
    }

    /// What the agent's calls make it: TALKING if it is connected (or dialling) on one, else
    /// HOLD if one is held, else RESERVED if one rings; `None` with no call.
    pub(super) fn derived_state(&self, idx: usize) -> Option<AgentState> {
        let a = self.agent_rt(idx)?;
        let states: Vec<ParticipantState> = a.calls.iter().filter_map(|c| self.calls.get(c)).filter_map(|c| c.party_state(&a.id)).collect();
        use ParticipantState as P;
        if states.iter().any(|s| matches!(s, P::Active | P::Initiating | P::Initiated)) {
            Some(AgentState::Talking)
        } else if states.contains(&P::Held) {
            Some(AgentState::Hold)
        } else if states.contains(&P::Alerting) {
            Some(AgentState::Reserved)
        } else {
            None
        }
    }

    /// A call-control request.
    pub(super) fn call_control(&mut self, now: EpochMs, tag: RequestTag, agent: &str, call: CallId, action: CallAction) {
        let Some(&idx) = self.agent_index.get(agent) else { return self.fail(tag, codes::invalid_call()) };
        let Some(c) = self.calls.get(&call) else { return self.fail(tag, codes::invalid_call()) };
        let Some(pos) = c.position(agent) else { return self.fail(tag, codes::invalid_call()) };
        let party = c.participants.get(pos).map(|p| p.state);
        if c.state == CallState::Dropped {
            // Kept only for the agents wrapping it up, whose call data may still change.
            if !c.wrapping.contains(&idx) {
                return self.fail(tag, codes::invalid_call());
            }
            return match action {
                CallAction::UpdateCallData { variables, wrap_up_reason } => self.update_call_data(tag, call, variables, wrap_up_reason),
                _ => self.fail(tag, codes::invalid_call_state()),
            };
        }
        use ParticipantState as P;
        match (action, party) {
            (CallAction::Answer, Some(P::Alerting)) => self.answer(now, Some(tag), call),
            (CallAction::Hold, Some(P::Active)) if c.state == CallState::Active => self.hold(now, Some(tag), call, pos, idx),
            (CallAction::Retrieve, Some(P::Held)) => {
                let busy = self.derived_state(idx) == Some(AgentState::Talking);
                if busy {
                    return self.fail(tag, codes::invalid_call_state());
                }
                if let Some(c) = self.calls.get_mut(&call) {
                    c.set_party(pos, P::Active, now);
                }
                self.emit_call(Some(tag), call);
                self.sync_agent(now, Some(tag), idx);
            }
            (CallAction::Drop, Some(P::Active | P::Held | P::Initiating | P::Initiated | P::Failed)) => {
                self.agent_leaves(now, Some(tag), call, idx)
            }
            (CallAction::SendDtmf { digits }, Some(P::Active)) => {
                let valid = !digits.is_empty()
                    && digits.len() <= codes::MAX_DTMF
                    && digits.chars().all(|ch| ch.is_ascii_digit() || ch == '*' || ch == '#');
                if !valid {
                    self.fail(tag, codes::invalid_dtmf());
                }
            }
            (CallAction::UpdateCallData { variables, wrap_up_reason }, Some(_)) => {
                self.update_call_data(tag, call, variables, wrap_up_reason)
            }
            (CallAction::ConsultCall { to }, Some(P::Active | P::Held)) if c.state == CallState::Active => {
                self.consult(now, tag, call, idx, &to)
            }
            (CallAction::Transfer, Some(P::Active)) => self.join_consult(now, tag, call, idx, false),
            (CallAction::Conference, Some(P::Active)) => self.join_consult(now, tag, call, idx, true),
            _ => self.fail(tag, codes::invalid_call_state()),
        }
    }

    /// The alerted agent answers: everyone ringing or dialling is connected.
    pub(super) fn answer(&mut self, now: EpochMs, tag: Option<RequestTag>, call: CallId) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        let rona = c.rona.take();
        for pos in 0..c.participants.len() {
            if c.participants
                .get(pos)
                .is_some_and(|p| matches!(p.state, ParticipantState::Alerting | ParticipantState::Initiating | ParticipantState::Initiated))
            {
                c.set_party(pos, ParticipantState::Active, now);
            }
        }
        c.state = CallState::Active;
        let needs_hangup = c.hangup.is_none() && c.has_outside();
        self.timers.cancel(rona);
        if needs_hangup {
            let at = now.saturating_add(self.talk_time());
            let key = self.timers.add(at, Timer::Hangup(call));
            if let Some(c) = self.calls.get_mut(&call) {
                c.hangup = Some(key);
            }
        }
        self.emit_call(tag, call);
        for idx in self.call_agents(call) {
            self.sync_agent(now, tag, idx);
        }
    }

    fn hold(&mut self, now: EpochMs, tag: Option<RequestTag>, call: CallId, pos: usize, idx: usize) {
        if let Some(c) = self.calls.get_mut(&call) {
            c.set_party(pos, ParticipantState::Held, now);
        }
        self.emit_call(tag, call);
        self.sync_agent(now, tag, idx);
    }

    /// Holds the agent's participant if it is active (before a consult call).
    pub(super) fn hold_if_active(&mut self, now: EpochMs, tag: Option<RequestTag>, call: CallId, idx: usize) {
        let Some(id) = self.agent_rt(idx).map(|a| a.id.clone()) else { return };
        let Some(c) = self.calls.get(&call) else { return };
        if let Some(pos) = c.position(&id).filter(|&p| c.participants.get(p).is_some_and(|p| p.state == ParticipantState::Active)) {
            self.hold(now, tag, call, pos, idx);
        }
    }

    fn update_call_data(&mut self, tag: RequestTag, call: CallId, variables: Vec<(String, String)>, wrap_up_reason: Option<String>) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        for (name, value) in variables {
            match c.variables.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => c.variables.push((name, value)),
            }
        }
        if wrap_up_reason.is_some() {
            c.wrap_up_reason = wrap_up_reason;
        }
        self.emit_call(Some(tag), call);
    }

    /// An agent leaves a call (DROP, forced logout). A routed call still ringing goes back to
    /// the head of its queue; otherwise the call ends when fewer than two parties or no agent
    /// would remain.
    pub(super) fn agent_leaves(&mut self, now: EpochMs, tag: Option<RequestTag>, call: CallId, idx: usize) {
        let Some(id) = self.agent_rt(idx).map(|a| a.id.clone()) else { return };
        let Some(c) = self.calls.get(&call) else {
            // Not a call any more: only the agent's list is stale.
            if let Some(a) = self.agent_mut(idx) {
                a.calls.retain(|&c| c != call);
            }
            return;
        };
        let Some(pos) = c.position(&id) else {
            if let Some(a) = self.agent_mut(idx) {
                a.calls.retain(|&c| c != call);
            }
            return;
        };
        if c.queue.is_some() && c.participants.get(pos).is_some_and(|p| p.state == ParticipantState::Alerting) {
            return self.unoffer(now, tag, call, idx, false);
        }
        self.party_leaves(now, tag, call, pos);
    }

    /// A party leaves; the call goes on if at least two parties and one agent remain.
    pub(super) fn party_leaves(&mut self, now: EpochMs, tag: Option<RequestTag>, call: CallId, pos: usize) {
        let Some(c) = self.calls.get(&call) else { return };
        let remaining = c.participants.len().saturating_sub(1);
        let agents_left = c.participants.iter().enumerate().filter(|&(i, p)| i != pos && p.agent.is_some()).count();
        if remaining < 2 || agents_left == 0 {
            return self.end_call(now, tag, call);
        }
        let Some(c) = self.calls.get_mut(&call) else { return };
        if pos >= c.participants.len() {
            return;
        }
        let left = c.participants.remove(pos);
        self.emit_call(tag, call);
        if let Some(idx) = left.agent.as_ref().and_then(|a| self.agent_index.get(a).copied()) {
            self.push(CtiEvent::CallEnded { tag, call, agents: vec![left.agent.clone().unwrap_or_default()] });
            self.call_gone(now, tag, idx, call, false);
        }
    }

    /// The call ends for everyone: reported DROPPED (agents going to wrap-up keep it as their
    /// Dialog, their participant in WRAP_UP), then gone for the others.
    pub(super) fn end_call(&mut self, now: EpochMs, tag: Option<RequestTag>, call: CallId) {
        let agents = self.call_agents(call);
        let wrappers: Vec<usize> = agents.iter().copied().filter(|&i| self.will_wrap(i, call)).collect();
        let Some(c) = self.calls.get_mut(&call) else { return };
        let timers = [c.rona.take(), c.hangup.take(), c.answer.take()];
        let queued = c.queued.then(|| c.queue.as_ref().map(|q| q.0)).flatten();
        c.queued = false;
        c.state = CallState::Dropped;
        for pos in 0..c.participants.len() {
            let wraps = c
                .participants
                .get(pos)
                .and_then(|p| p.agent.as_ref())
                .and_then(|a| self.agent_index.get(a))
                .is_some_and(|i| wrappers.contains(i));
            c.set_party(pos, if wraps { ParticipantState::WrapUp } else { ParticipantState::Dropped }, now);
        }
        for key in timers {
            self.timers.cancel(Some(key).flatten());
        }
        if let Some(q) = queued {
            self.dequeue(q, call);
        }
        if !agents.is_empty() {
            self.emit_call(tag, call);
        }
        let gone: Vec<String> =
            agents.iter().filter(|i| !wrappers.contains(i)).filter_map(|&i| self.agent_rt(i).map(|a| a.id.clone())).collect();
        if !gone.is_empty() {
            self.push(CtiEvent::CallEnded { tag, call, agents: gone });
        }
        if wrappers.is_empty() {
            self.calls.remove(&call);
        } else if let Some(c) = self.calls.get_mut(&call) {
            c.wrapping = wrappers.clone();
        }
        for idx in agents {
            self.call_gone(now, tag, idx, call, wrappers.contains(&idx));
        }
    }

    /// The customer or outside party of a call hangs up.
    pub(super) fn hangup(&mut self, now: EpochMs, call: CallId) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        c.hangup = None;
        if let Some(pos) = c.participants.iter().position(|p| p.agent.is_none()) {
            self.party_leaves(now, None, call, pos);
        }
    }

    /// The outside party of a placed call answers.
    pub(super) fn outside_answers(&mut self, now: EpochMs, call: CallId) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        c.answer = None;
        self.answer(now, None, call);
    }
}
