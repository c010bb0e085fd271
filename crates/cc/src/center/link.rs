//! The CTI link's supervision (finesse-domain.md §4.2): every CTI event counts as hearing the
//! link; silence past the heartbeats' deadline, or [`CtiEvent::LinkLost`](herald_cti::CtiEvent),
//! puts the web services out of service; the first event after that brings them back, after
//! reconciling a [`CtiEvent::Snapshot`](herald_cti::CtiEvent) and republishing the last agent
//! and call state to every desktop. Also the snapshot's reconcile itself, at start and after an
//! outage.

use std::collections::BTreeSet;

use herald_cti::{AgentSnapshot, AgentState, CallId, CallSnapshot};

use crate::EpochMs;
use crate::documents::{self, Case};
use crate::model::AgentView;
use crate::update::UpdateEvent;
use crate::watch::{LinkConfig, LinkDownCause, WsLog};

use super::presence::HeldFor;
use super::{API, ContactCenter};

/// `statusReason` while the link is down.
const LINK_DOWN_REASON: &str = "CTI link down";

/// What the supervision knows of the link.
#[derive(Debug, Default)]
pub(super) struct LinkWatch {
    /// When the last CTI event arrived (`None`: never, not armed).
    last_heard: Option<EpochMs>,
    /// When the link was declared down (`None`: up).
    down_since: Option<EpochMs>,
}

impl LinkWatch {
    /// When the link is declared lost if nothing is heard: `missed` intervals plus half an
    /// interval of tolerance after the last event (`None`: not armed, down, or off).
    pub(super) fn deadline(&self, cfg: LinkConfig) -> Option<EpochMs> {
        if cfg.heartbeat_ms == 0 || self.down_since.is_some() {
            return None;
        }
        let silence = cfg.heartbeat_ms.saturating_mul(u64::from(cfg.missed_heartbeats)).saturating_add(cfg.heartbeat_ms / 2);
        self.last_heard.map(|heard| heard.saturating_add(silence))
    }
}

impl ContactCenter {
    /// A CTI event arrived at `now`: the link is alive. When it was down, returns since when.
    pub(super) fn link_heard(&mut self, now: EpochMs) -> Option<EpochMs> {
        self.link.last_heard = Some(now);
        self.link.down_since.take()
    }

    /// The link is lost (once; nothing happens while it is already down).
    pub(super) fn link_lost(&mut self, now: EpochMs, cause: LinkDownCause) {
        if self.link.down_since.is_some() {
            return;
        }
        self.link.down_since = Some(now);
        let last_heard = self.link.last_heard.unwrap_or(now);
        self.set_in_service(now, false, LINK_DOWN_REASON);
        self.log(WsLog::LinkDown { cause, last_heard, at: now });
    }

    /// The heartbeats' deadline passed by `now`: the link is lost.
    pub(super) fn link_due(&mut self, now: EpochMs) {
        let cfg = self.config.link;
        if self.link.deadline(cfg).is_some_and(|deadline| deadline <= now) {
            self.link_lost(now, LinkDownCause::MissedHeartbeats(cfg.missed_heartbeats));
        }
    }

    /// The link is back (the event that said so is already handled): every desktop's state is
    /// republished, then IN_SERVICE, then the logouts held for the link are re-decided.
    pub(super) fn link_restored(&mut self, now: EpochMs, down_since: EpochMs) {
        let (agents, calls) = self.republish();
        self.set_in_service(now, true, "");
        let released = self.release_held(now, HeldFor::LinkDown);
        self.log(WsLog::LinkUp { down_since, at: now, agents, calls, released });
    }

    /// Every user's User document (on its node and its team's), and every mirrored call to each
    /// agent holding it; the counts of users and calls.
    fn republish(&mut self) -> (usize, usize) {
        let users: Vec<_> = self.directory.users().cloned().collect();
        for user in &users {
            let view = self.view(&user.login_id);
            let node = format!("{API}/User/{}", user.login_id);
            let data = documents::user(&self.directory, user, &view, Case::Notification);
            self.publish(node.clone(), data, UpdateEvent::Put, "", &node);
            if let Some(team) = &user.team_id {
                let summary = documents::team_member(&self.directory, user, &view, Case::Notification);
                self.publish(format!("{API}/Team/{team}/Users"), summary, UpdateEvent::Put, "", &node);
            }
        }
        let held: Vec<(CallId, Vec<String>)> =
            self.holders.iter().map(|(call, agents)| (*call, agents.iter().cloned().collect())).collect();
        for (id, agents) in &held {
            for agent in agents {
                let Some(call) = self.calls.get(id) else { break };
                let other_active = |a: &str| self.has_active_call(a);
                let data = documents::dialog(call, &other_active);
                self.publish(format!("{API}/User/{agent}/Dialogs"), data, UpdateEvent::Put, "", &format!("{API}/Dialog/{id}"));
            }
        }
        (users.len(), held.len())
    }

    /// The CTI side's whole state: agents and calls as normal events, mirrored calls it no
    /// longer has ended. Agents logged out and never seen are recorded without a publish. The
    /// first snapshot also starts a grace for every signed-in agent with no desktop present
    /// (this is how a restart rebuilds the graces it could not keep).
    pub(super) fn on_snapshot(&mut self, now: EpochMs, agents: Vec<AgentSnapshot>, calls: Vec<CallSnapshot>) {
        let first = !self.watch.snapshot_seen;
        self.watch.snapshot_seen = true;
        let mut signed_in = Vec::new();
        for snapshot in agents {
            let Some(login) = self.directory.user(&snapshot.agent).map(|u| u.login_id.clone()) else { continue };
            if snapshot.state == AgentState::Logout && !self.agents.contains_key(&login) {
                let view = AgentView {
                    state: snapshot.state,
                    pending: snapshot.pending,
                    reason_code_id: None,
                    extension: snapshot.extension,
                    state_changed: Some(snapshot.since),
                };
                self.agents.insert(login, view);
                continue;
            }
            if snapshot.state != AgentState::Logout {
                signed_in.push(login);
            }
            self.agent_event(now, None, snapshot);
        }
        let live: BTreeSet<CallId> = calls.iter().map(|c| c.id).collect();
        for call in calls {
            let id = call.id;
            let participants = self.agents_on(&call);
            self.on_call(None, call);
            let gone: Vec<String> = self.holders.get(&id).into_iter().flatten().filter(|a| !participants.contains(*a)).cloned().collect();
            if !gone.is_empty() {
                self.on_call_ended(None, id, &gone);
            }
        }
        let ended: Vec<(CallId, Vec<String>)> =
            self.holders.iter().filter(|(id, _)| !live.contains(id)).map(|(id, agents)| (*id, agents.iter().cloned().collect())).collect();
        for (id, agents) in ended {
            self.on_call_ended(None, id, &agents);
        }
        self.calls.retain(|id, _| live.contains(id) || self.holders.contains_key(id));
        if first {
            for agent in signed_in {
                self.watch_if_absent(now, &agent);
            }
        }
    }
}
