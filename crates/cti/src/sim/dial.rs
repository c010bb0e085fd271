//! Placing calls: MAKE_CALL from an agent's extension to another agent or an outside number,
//! CONSULT_CALL from a call, and TRANSFER / CONFERENCE joining a consult call's parties to the
//! call it consults.

use super::Simulator;
use super::calls::{CallRt, party};
use super::codes;
use super::timers::Timer;
use crate::{CallId, CallState, CallType, CtiEvent, CtiFailure, EpochMs, FailureCause, ParticipantState, RequestTag};

/// Where a dialled number leads.
enum Dest {
    /// A signed-in agent free to take the call.
    Agent(usize),
    /// An outside number.
    Outside,
    /// Nowhere: why.
    Fails(FailureCause),
}

impl Simulator {
    fn resolve(&self, to: &str) -> Dest {
        if let Some(&idx) = self.signed_in.get(to) {
            return match self.agent_rt(idx) {
                Some(a) if a.idle() => Dest::Agent(idx),
                _ => Dest::Fails(FailureCause::Busy),
            };
        }
        if self.configured.contains_key(to) {
            return Dest::Fails(FailureCause::DeviceResourceNotAvailable);
        }
        let digits = to.strip_prefix('+').unwrap_or(to);
        if digits.len() >= codes::OUTSIDE_MIN_DIGITS && digits.chars().all(|c| c.is_ascii_digit()) {
            Dest::Outside
        } else {
            Dest::Fails(FailureCause::BadDestination)
        }
    }

    /// MAKE_CALL: the agent must be signed in on `from`, READY or NOT_READY with no call.
    pub(super) fn make_call(&mut self, now: EpochMs, tag: RequestTag, agent: &str, from: &str, to: &str) {
        let Some(&idx) = self.agent_index.get(agent) else { return self.fail(tag, CtiFailure::invalid_state()) };
        let Some(a) = self.agent_rt(idx) else { return };
        if a.extension.as_deref() != Some(from) || !a.idle() {
            return self.fail(tag, CtiFailure::invalid_state());
        }
        let agent_id = a.id.clone();
        let dest = if to == from { Dest::Fails(FailureCause::BadDestination) } else { self.resolve(to) };
        let call_type = if matches!(dest, Dest::Outside) { CallType::Out } else { CallType::AgentInside };
        let id = self.new_call_id();
        let mut call = CallRt::new(id, from.to_owned(), to.to_owned(), call_type, now);
        call.participants.push(party(from, Some(&agent_id), ParticipantState::Initiating, now));
        if let Dest::Fails(cause) = dest {
            call.state = CallState::Failed;
            call.participants.push(party(to, None, ParticipantState::Failed, now));
            for p in &mut call.participants {
                p.state = ParticipantState::Failed;
                p.cause = Some(cause);
            }
            self.push(CtiEvent::Call { tag: Some(tag), snapshot: call.snapshot() });
            self.push(CtiEvent::CallEnded { tag: Some(tag), call: id, agents: vec![agent_id] });
            return;
        }
        self.calls.insert(id, call);
        self.join_call(idx, id, false, true);
        self.emit_call(Some(tag), id);
        self.ring(now, Some(tag), id, idx, to, dest);
    }

    /// The caller's side goes INITIATED and the destination rings (an agent alerts, an outside
    /// number answers after a while).
    fn ring(&mut self, now: EpochMs, tag: Option<RequestTag>, call: CallId, caller: usize, to: &str, dest: Dest) {
        let callee = match dest {
            Dest::Agent(b) => self.agent_rt(b).map(|a| a.id.clone()),
            _ => None,
        };
        let Some(c) = self.calls.get_mut(&call) else { return };
        c.set_party(0, ParticipantState::Initiated, now);
        c.state = CallState::Initiated;
        c.participants.push(party(to, callee.as_deref(), ParticipantState::Alerting, now));
        match dest {
            Dest::Agent(b) => {
                self.join_call(b, call, false, false);
                self.emit_call(tag, call);
                self.sync_agent(now, tag, caller);
                self.sync_agent(now, None, b);
            }
            _ => {
                let at = now.saturating_add(self.uniform(self.cfg.outside_answer_ms));
                let key = self.timers.add(at, Timer::OutsideAnswer(call));
                if let Some(c) = self.calls.get_mut(&call) {
                    c.answer = Some(key);
                }
                self.emit_call(tag, call);
                self.sync_agent(now, tag, caller);
            }
        }
    }

    /// CONSULT_CALL from `call` (the agent's party active or held, the agent on no other call).
    pub(super) fn consult(&mut self, now: EpochMs, tag: RequestTag, call: CallId, idx: usize, to: &str) {
        let Some(a) = self.agent_rt(idx) else { return };
        if a.calls != [call] {
            return self.fail(tag, codes::invalid_call_state());
        }
        let (agent_id, from) = (a.id.clone(), a.extension.clone().unwrap_or_default());
        let dest = if to == from { Dest::Fails(FailureCause::BadDestination) } else { self.resolve(to) };
        match dest {
            Dest::Fails(FailureCause::Busy) => return self.fail(tag, codes::resource_busy()),
            Dest::Fails(FailureCause::DeviceResourceNotAvailable) => return self.fail(tag, codes::out_of_service()),
            Dest::Fails(_) => return self.fail(tag, codes::invalid_destination()),
            _ => {}
        }
        self.hold_if_active(now, Some(tag), call, idx);
        let variables = self.calls.get(&call).map(|c| c.variables.clone()).unwrap_or_default();
        let id = self.new_call_id();
        let mut c = CallRt::new(id, from.clone(), to.to_owned(), CallType::Consult, now);
        c.associated = Some(call);
        c.variables = variables;
        c.participants.push(party(&from, Some(&agent_id), ParticipantState::Initiating, now));
        self.calls.insert(id, c);
        self.join_call(idx, id, false, false);
        self.emit_call(Some(tag), id);
        self.ring(now, Some(tag), id, idx, to, dest);
    }

    /// TRANSFER (`conference` false) or CONFERENCE from a connected consult call: its other
    /// parties join the call it consults; on a transfer the agent leaves both.
    pub(super) fn join_consult(&mut self, now: EpochMs, tag: RequestTag, consult: CallId, idx: usize, conference: bool) {
        let Some(agent_id) = self.agent_rt(idx).map(|a| a.id.clone()) else { return };
        let Some(c2) = self.calls.get(&consult) else { return };
        let original = match c2.associated {
            Some(o) if c2.call_type == CallType::Consult && c2.state == CallState::Active => o,
            _ => return self.fail(tag, codes::invalid_call_state()),
        };
        let held = self.calls.get(&original).and_then(|c| c.party_state(&agent_id));
        if held != Some(ParticipantState::Held) || self.calls.get(&original).is_some_and(|c| c.state != CallState::Active) {
            return self.fail(tag, codes::invalid_call_state());
        }
        // The consult call goes; its other parties move to the original call.
        let movers: Vec<_> = c2.participants.iter().filter(|p| p.agent.as_deref() != Some(agent_id.as_str())).cloned().collect();
        let moved_agents: Vec<usize> =
            movers.iter().filter_map(|p| p.agent.as_ref().and_then(|a| self.agent_index.get(a).copied())).collect();
        let consult_agents = self.call_agents(consult);
        let Some(mut c2) = self.calls.remove(&consult) else { return };
        for key in [c2.rona.take(), c2.hangup.take(), c2.answer.take()] {
            self.timers.cancel(key);
        }
        c2.state = CallState::Dropped;
        for p in &mut c2.participants {
            p.state = ParticipantState::Dropped;
            p.state_changed = now;
        }
        self.push(CtiEvent::Call { tag: Some(tag), snapshot: c2.snapshot() });
        let names: Vec<String> = consult_agents.iter().filter_map(|&i| self.agent_rt(i).map(|a| a.id.clone())).collect();
        self.push(CtiEvent::CallEnded { tag: Some(tag), call: consult, agents: names });
        let routed = self.calls.get(&original).is_some_and(|c| c.queue.is_some());
        for &b in &moved_agents {
            if let Some(a) = self.agent_mut(b) {
                a.calls.retain(|&c| c != consult);
            }
            // Wrap-up follows the routed call; the state afterwards stays the agent's own.
            self.join_call(b, original, false, false);
            if let Some(a) = self.agent_mut(b) {
                a.after.wrap |= routed && a.wrap_up_incoming;
            }
        }
        if let Some(a) = self.agent_mut(idx) {
            a.calls.retain(|&c| c != consult);
        }
        let Some(c1) = self.calls.get_mut(&original) else { return };
        c1.call_type = if conference { CallType::Conference } else { CallType::Transfer };
        for mut p in movers {
            p.state = ParticipantState::Active;
            p.state_changed = now;
            c1.participants.push(p);
        }
        if conference {
            if let Some(pos) = c1.position(&agent_id) {
                c1.set_party(pos, ParticipantState::Active, now);
            }
            self.emit_call(Some(tag), original);
            self.sync_agent(now, Some(tag), idx);
        } else if let Some(pos) = c1.position(&agent_id) {
            self.party_leaves(now, Some(tag), original, pos);
        }
        for b in moved_agents {
            self.sync_agent(now, Some(tag), b);
        }
    }
}
