//! CTI events mirrored and published: agent state on `User/{id}` and the team's
//! `Team/{id}/Users`, calls on each agent's `User/{id}/Dialogs` with collection semantics (POST
//! when the agent first sees a call, PUT on change, DELETE when gone), refusals as `apiErrors`
//! Updates on the refused request's node, queue statistics on `Queue/{id}`.

use std::collections::BTreeSet;

use herald_cti::{AgentSnapshot, AgentState, CallId, CallSnapshot, CtiFailure, ParticipantState, QueueStats, RequestTag};

use crate::directory::ReasonCategory;
use crate::documents::{self, Case};
use crate::model::AgentView;
use crate::update::UpdateEvent;

use super::pending::Target;
use super::{API, ContactCenter};

/// The reason-code category a state's reason belongs to.
fn category(state: AgentState) -> Option<ReasonCategory> {
    match state {
        AgentState::NotReady => Some(ReasonCategory::NotReady),
        AgentState::Logout => Some(ReasonCategory::Logout),
        _ => None,
    }
}

impl ContactCenter {
    /// An agent's state: mirror it, publish it when visible or when it answers a request.
    pub(super) fn on_agent(&mut self, tag: Option<RequestTag>, snapshot: AgentSnapshot) {
        let Some(user) = self.directory.user(&snapshot.agent).cloned() else { return };
        let id = user.login_id.clone();
        // The reason belongs to the state, or to the pending state (NOT_READY asked for mid-call).
        let reason_category = category(snapshot.state).or_else(|| snapshot.pending.and_then(category));
        let reason_code_id = snapshot
            .reason_code
            .zip(reason_category)
            .and_then(|(code, category)| self.directory.reason_code_by_code(category, code))
            .map(|r| r.id);
        let view = AgentView {
            state: snapshot.state,
            pending: snapshot.pending,
            reason_code_id,
            extension: snapshot.extension,
            state_changed: Some(snapshot.since),
        };
        let changed = self.agents.get(&id) != Some(&view);
        let answers = self.pending.knows(tag);
        self.agents.insert(id.clone(), view.clone());
        if !changed && !answers {
            return;
        }
        let request_id = self.pending.request_id(tag).to_owned();
        let node = format!("{API}/User/{id}");
        let data = documents::user(&self.directory, &user, &view, Case::Notification);
        self.publish(node.clone(), data, UpdateEvent::Put, &request_id, &node);
        if let Some(team) = &user.team_id {
            let summary = documents::team_member(&self.directory, &user, &view, Case::Notification);
            self.publish(format!("{API}/Team/{team}/Users"), summary, UpdateEvent::Put, &request_id, &node);
        }
    }

    /// A call appeared or changed: POST to agents seeing it first, PUT to the others that hold it
    /// (participants, and agents who left it but still have it until its DELETE).
    pub(super) fn on_call(&mut self, tag: Option<RequestTag>, snapshot: CallSnapshot) {
        let request_id = self.pending.request_id(tag).to_owned();
        let answers = self.pending.knows(tag);
        let id = snapshot.id;
        let unchanged = self.calls.get(&id) == Some(&snapshot);
        let participants = self.agents_on(&snapshot);
        let mut affected = participants.clone();
        affected.extend(self.holders.get(&id).into_iter().flatten().cloned());
        let before = self.activity(&affected);
        self.calls.insert(id, snapshot);
        for agent in affected {
            let first = participants.contains(&agent) && self.hold(&agent, id);
            if !first && unchanged && !answers {
                continue;
            }
            let Some(call) = self.calls.get(&id) else { return };
            let other_active = |a: &str| self.has_active_call(a);
            let node = format!("{API}/User/{agent}/Dialogs");
            if first {
                let data = documents::dialogs(&[call], &other_active, Case::Notification);
                self.publish(node.clone(), data, UpdateEvent::Post, &request_id, &node);
            } else {
                let data = documents::dialog(call, &other_active);
                self.publish(node, data, UpdateEvent::Put, &request_id, &format!("{API}/Dialog/{id}"));
            }
        }
        self.refresh_held_calls(before, id);
    }

    /// A call is gone for these agents: DELETE it from their Dialogs; forget it when nobody has it.
    pub(super) fn on_call_ended(&mut self, tag: Option<RequestTag>, call: CallId, agents: &[String]) {
        let request_id = self.pending.request_id(tag).to_owned();
        let agents: BTreeSet<String> = agents.iter().filter_map(|a| self.directory.user(a)).map(|u| u.login_id.clone()).collect();
        let before = self.activity(&agents);
        for login in agents {
            if !self.release(&login, call) {
                continue;
            }
            let Some(snapshot) = self.calls.get(&call) else { continue };
            let other_active = |a: &str| self.has_active_call(a);
            let data = documents::dialogs(&[snapshot], &other_active, Case::Notification);
            let node = format!("{API}/User/{login}/Dialogs");
            self.publish(node.clone(), data, UpdateEvent::Delete, &request_id, &node);
        }
        if !self.holders.contains_key(&call) {
            self.calls.remove(&call);
        }
        self.refresh_held_calls(before, call);
    }

    /// The login ids of the directory's agents among `call`'s participants.
    pub(super) fn agents_on(&self, call: &CallSnapshot) -> BTreeSet<String> {
        call.participants
            .iter()
            .filter_map(|p| p.agent.as_deref())
            .filter_map(|a| self.directory.user(a))
            .map(|u| u.login_id.clone())
            .collect()
    }

    /// Adds `call` to `agent`'s Dialogs; whether it was new there.
    fn hold(&mut self, agent: &str, call: CallId) -> bool {
        self.holders.entry(call).or_default().insert(agent.to_owned());
        self.dialogs_of.entry(agent.to_owned()).or_default().insert(call)
    }

    /// Removes `call` from `agent`'s Dialogs; whether it was there.
    fn release(&mut self, agent: &str, call: CallId) -> bool {
        let had = self.dialogs_of.get_mut(agent).is_some_and(|calls| calls.remove(&call));
        if self.dialogs_of.get(agent).is_some_and(BTreeSet::is_empty) {
            self.dialogs_of.remove(agent);
        }
        if let Some(holders) = self.holders.get_mut(&call) {
            holders.remove(agent);
            if holders.is_empty() {
                self.holders.remove(&call);
            }
        }
        had
    }

    /// Whether each agent has an active call now.
    fn activity(&self, agents: &BTreeSet<String>) -> Vec<(String, bool)> {
        agents.iter().map(|a| (a.clone(), self.has_active_call(a))).collect()
    }

    /// An agent whose having an active call changed sees other actions on its held calls
    /// (TRANSFER, CONFERENCE): those calls are PUT again to everyone holding them.
    fn refresh_held_calls(&mut self, before: Vec<(String, bool)>, except: CallId) {
        let mut stale = BTreeSet::new();
        for (agent, was_active) in before {
            if self.has_active_call(&agent) == was_active {
                continue;
            }
            for id in self.dialogs_of.get(&agent).into_iter().flatten().filter(|id| **id != except) {
                let held = self.calls.get(id).is_some_and(|call| {
                    call.participants
                        .iter()
                        .any(|p| p.state == ParticipantState::Held && p.agent.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(&agent)))
                });
                if held {
                    stale.insert(*id);
                }
            }
        }
        for id in stale {
            let holders: Vec<String> = self.holders.get(&id).into_iter().flatten().cloned().collect();
            for holder in holders {
                let Some(call) = self.calls.get(&id) else { break };
                let other_active = |a: &str| self.has_active_call(a);
                let data = documents::dialog(call, &other_active);
                self.publish(format!("{API}/User/{holder}/Dialogs"), data, UpdateEvent::Put, "", &format!("{API}/Dialog/{id}"));
            }
        }
    }

    /// A refused request: an `apiErrors` Update on its object's node (unknown tags are ignored).
    pub(super) fn on_failure(&mut self, tag: RequestTag, failure: &CtiFailure) {
        let Some(pending) = self.pending.take(tag) else { return };
        let data = documents::api_errors_notification(&failure.kind, &failure.constant, &failure.code.to_string());
        let (node, source) = match pending.target {
            Target::User(agent) => {
                let node = format!("{API}/User/{agent}");
                (node.clone(), node)
            }
            Target::Call { agent, call } => (format!("{API}/User/{agent}/Dialogs"), format!("{API}/Dialog/{call}")),
            Target::MakeCall(agent) => {
                let node = format!("{API}/User/{agent}/Dialogs");
                (node.clone(), node)
            }
        };
        self.publish(node, data, UpdateEvent::Put, &pending.request_id, &source);
    }

    /// Queue statistics: kept, and published on `Queue/{id}` when they changed.
    pub(super) fn on_queue_stats(&mut self, stats: QueueStats) {
        let Some(queue) = self.directory.queue(&stats.queue).cloned() else { return };
        if self.queue_stats.get(&queue.id) == Some(&stats) {
            return;
        }
        let data = documents::queue(&queue, Some(&stats));
        self.queue_stats.insert(queue.id.clone(), stats);
        let node = format!("{API}/Queue/{}", queue.id);
        self.publish(node.clone(), data, UpdateEvent::Put, "", &node);
    }
}
