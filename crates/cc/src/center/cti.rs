//! CTI events mirrored and published: agent state on `User/{id}` and the team's
//! `Team/{id}/Users`, calls on each agent's `User/{id}/Dialogs` with collection semantics (POST
//! when the agent first sees a call, PUT on change, DELETE when gone), refusals as `apiErrors`
//! Updates on the refused request's node, queue statistics on `Queue/{id}`.

use herald_cti::{AgentSnapshot, AgentState, CallId, CallSnapshot, CtiFailure, QueueStats, RequestTag};

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

    /// A call appeared or changed: POST to agents seeing it first, PUT to the others.
    pub(super) fn on_call(&mut self, tag: Option<RequestTag>, snapshot: CallSnapshot) {
        let request_id = self.pending.request_id(tag).to_owned();
        let answers = self.pending.knows(tag);
        let unchanged = self.calls.get(&snapshot.id) == Some(&snapshot);
        let id = snapshot.id;
        let agents: Vec<String> = snapshot
            .participants
            .iter()
            .filter_map(|p| p.agent.as_deref())
            .filter_map(|a| self.directory.user(a))
            .map(|u| u.login_id.clone())
            .collect();
        self.calls.insert(id, snapshot);
        let mut seen = std::collections::BTreeSet::new();
        for agent in agents {
            if !seen.insert(agent.clone()) {
                continue;
            }
            let node = format!("{API}/User/{agent}/Dialogs");
            let first = self.dialogs_of.entry(agent).or_default().insert(id);
            let Some(call) = self.calls.get(&id) else { return };
            let other_active = |a: &str| self.has_active_call(a);
            if first {
                let data = documents::dialogs(&[call], &other_active, Case::Notification);
                self.publish(node.clone(), data, UpdateEvent::Post, &request_id, &node);
            } else if !unchanged || answers {
                let data = documents::dialog(call, &other_active);
                self.publish(node, data, UpdateEvent::Put, &request_id, &format!("{API}/Dialog/{id}"));
            }
        }
    }

    /// A call is gone for these agents: DELETE it from their Dialogs; forget it when nobody has it.
    pub(super) fn on_call_ended(&mut self, tag: Option<RequestTag>, call: CallId, agents: &[String]) {
        let request_id = self.pending.request_id(tag).to_owned();
        for agent in agents {
            let Some(login) = self.directory.user(agent).map(|u| u.login_id.clone()) else { continue };
            let had = self.dialogs_of.get_mut(&login).is_some_and(|calls| calls.remove(&call));
            if self.dialogs_of.get(&login).is_some_and(|calls| calls.is_empty()) {
                self.dialogs_of.remove(&login);
            }
            let Some(snapshot) = self.calls.get(&call).filter(|_| had) else { continue };
            let other_active = |a: &str| self.has_active_call(a);
            let data = documents::dialogs(&[snapshot], &other_active, Case::Notification);
            let node = format!("{API}/User/{login}/Dialogs");
            self.publish(node.clone(), data, UpdateEvent::Delete, &request_id, &node);
        }
        if !self.dialogs_of.values().any(|calls| calls.contains(&call)) {
            self.calls.remove(&call);
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
