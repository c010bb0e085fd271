//! Queue statistics (Finesse `Queue/statistics`): computed from a queue's members and waiting
//! calls, reported on the statistics timer for queues whose inputs changed and only when the
//! figures differ from the last report. Also the simulator's self-check.

use super::Simulator;
use crate::{AgentState, CallState, CtiEvent, ParticipantState, QueueStats};

impl Simulator {
    /// A queue's statistics now. Every signed-in member counts in exactly one category: READY,
    /// NOT_READY, wrap-up (WORK, WORK_READY), or by its current call (RESERVED, TALKING, HOLD):
    /// a routed call of this queue is inbound, of another queue busy-other, a call with an
    /// outside party outbound, agents only internal.
    pub(super) fn compute_stats(&self, q: usize) -> QueueStats {
        let Some(queue) = self.queues.get(q) else { return QueueStats::default() };
        let mut s = QueueStats {
            queue: queue.reference.id.clone(),
            calls_in_queue: u32::try_from(queue.waiting.len()).unwrap_or(u32::MAX),
            longest_since: queue.waiting.iter().filter_map(|c| self.calls.get(c)).map(|c| c.arrived).min(),
            ..QueueStats::default()
        };
        for a in queue.members.iter().filter_map(|&i| self.agent_rt(i)) {
            let slot = match a.state {
                AgentState::Logout | AgentState::Unknown => continue,
                AgentState::Ready => &mut s.agents_ready,
                AgentState::NotReady => &mut s.agents_not_ready,
                AgentState::Work => &mut s.agents_wrap_up_not_ready,
                AgentState::WorkReady => &mut s.agents_wrap_up_ready,
                _ => {
                    // The call the agent is connected or ringing on, else the held one.
                    let calls: Vec<_> = a.calls.iter().filter_map(|c| self.calls.get(c)).collect();
                    let current =
                        calls.iter().find(|c| c.party_state(&a.id).is_some_and(|p| p != ParticipantState::Held)).or(calls.first());
                    match current.map(|c| (c.queue.as_ref().map(|r| r.0), c.has_outside())) {
                        Some((Some(cq), _)) if cq == q => &mut s.agents_talking_inbound,
                        Some((Some(_), _)) => &mut s.agents_busy_other,
                        Some((None, true)) => &mut s.agents_talking_outbound,
                        _ => &mut s.agents_talking_internal,
                    }
                }
            };
            *slot += 1;
            s.agents_logged_on += 1;
        }
        s
    }

    /// Reports the statistics of queues that may have changed, when they did.
    pub(super) fn report_stats(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        for q in dirty {
            let stats = self.compute_stats(q);
            let Some(queue) = self.queues.get_mut(q) else { continue };
            if queue.reported.as_ref() != Some(&stats) {
                queue.reported = Some(stats.clone());
                self.push(CtiEvent::QueueStats(stats));
            }
        }
    }
}

/// See [`Simulator::check_invariants`].
pub(super) fn check_invariants(sim: &Simulator) -> Result<(), String> {
    for (idx, a) in sim.agents.iter().enumerate() {
        let who = &a.id;
        if a.state == AgentState::Logout {
            if a.extension.is_some() || !a.calls.is_empty() || a.wrap_call.is_some() {
                return Err(format!("{who}: logged out with an extension, a call or a wrap-up"));
            }
        } else {
            let ext = a.extension.as_ref().ok_or_else(|| format!("{who}: signed in without extension"))?;
            if sim.signed_in.get(ext) != Some(&idx) {
                return Err(format!("{who}: extension {ext} not indexed"));
            }
        }
        if a.calls.len() > 2 {
            return Err(format!("{who}: on {} calls", a.calls.len()));
        }
        for call in &a.calls {
            let c = sim.calls.get(call).ok_or_else(|| format!("{who}: on gone call {call}"))?;
            if c.position(who).is_none() {
                return Err(format!("{who}: not a party of its call {call}"));
            }
        }
        let busy = matches!(a.state, AgentState::Reserved | AgentState::Talking | AgentState::Hold);
        if busy == a.calls.is_empty() {
            return Err(format!("{who}: state {:?} with calls {:?}", a.state, a.calls));
        }
        if busy && sim.derived_state(idx) != Some(a.state) {
            return Err(format!("{who}: state {:?} but its calls say {:?}", a.state, sim.derived_state(idx)));
        }
        let wrapping = matches!(a.state, AgentState::Work | AgentState::WorkReady);
        if let Some(call) = a.wrap_call
            && !sim.calls.get(&call).is_some_and(|c| c.state == CallState::Dropped && c.wrapping.contains(&idx))
        {
            return Err(format!("{who}: wrap-up call {call} not kept for it"));
        }
        if !wrapping && (a.wrap_call.is_some() || a.wrap_timer.is_some()) {
            return Err(format!("{who}: wrap-up left over in {:?}", a.state));
        }
        if a.pending.is_some() && !busy {
            return Err(format!("{who}: pending state while {:?}", a.state));
        }
        let ready = a.state == AgentState::Ready;
        if ready != a.ready_key.is_some() {
            return Err(format!("{who}: READY index out of step"));
        }
        for &q in &a.queues {
            let queue = sim.queues.get(q).ok_or_else(|| format!("{who}: unknown queue {q}"))?;
            if !queue.members.contains(&idx) {
                return Err(format!("{who}: not a member of its queue {q}"));
            }
            if let Some(key) = a.ready_key
                && !queue.ready.contains(&(key, idx))
            {
                return Err(format!("{who}: READY but not indexed in queue {q}"));
            }
        }
    }
    for (&id, c) in &sim.calls {
        if c.state == CallState::Dropped {
            if c.wrapping.is_empty() {
                return Err(format!("call {id}: ended and kept for nobody"));
            }
            for &i in &c.wrapping {
                if sim.agents.get(i).is_none_or(|a| a.wrap_call != Some(id)) {
                    return Err(format!("call {id}: kept for agent {i}, who is not wrapping it up"));
                }
            }
            continue;
        }
        for p in &c.participants {
            if let Some(agent) = &p.agent {
                let &i = sim.agent_index.get(agent).ok_or_else(|| format!("call {id}: unknown agent {agent}"))?;
                let a = sim.agents.get(i).ok_or("agent index")?;
                if !a.calls.contains(&id) && a.wrap_call != Some(id) {
                    return Err(format!("call {id}: {agent} is a party but does not know it"));
                }
            }
        }
        if c.participants.iter().all(|p| p.agent.is_none()) && !c.queued {
            return Err(format!("call {id}: no agent and not queued"));
        }
    }
    for (q, queue) in sim.queues.iter().enumerate() {
        if !queue.waiting.is_empty() && !queue.ready.is_empty() {
            return Err(format!("queue {q}: calls waiting while agents are READY"));
        }
        for call in &queue.waiting {
            if !sim.calls.get(call).is_some_and(|c| c.queued) {
                return Err(format!("queue {q}: waiting call {call} not queued"));
            }
        }
        for &(_, idx) in &queue.ready {
            if !sim.agents.get(idx).is_some_and(|a| a.state == AgentState::Ready) {
                return Err(format!("queue {q}: agent {idx} indexed READY but is not"));
            }
        }
        let s = sim.compute_stats(q);
        let sum = s.agents_ready
            + s.agents_not_ready
            + s.agents_busy_other
            + s.agents_talking_inbound
            + s.agents_talking_outbound
            + s.agents_talking_internal
            + s.agents_wrap_up_not_ready
            + s.agents_wrap_up_ready;
        if sum != s.agents_logged_on {
            return Err(format!("queue {q}: statistics do not add up: {s:?}"));
        }
    }
    Ok(())
}
