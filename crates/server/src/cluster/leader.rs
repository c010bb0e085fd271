//! The node that drives the CTI side: whoever holds the cluster's `cti` lease runs the
//! contact-center machine and the simulator; when it loses the lease (or dies) another node
//! takes over within a lease. Every node's `finesse` session sees the presence of the agents
//! bound there; that presence (and the sessions a dead node took with it) goes to the leader's
//! machine, which alone decides a presence-driven logout — so it fires once, on one node.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::Request;
use herald_api::{CcService, PresenceInput};
use herald_cc::{ApiError, NodeAddress};
use herald_cluster::{Cluster, NodeInfo, To};
use serde::{Deserialize, Serialize};
use tower::ServiceExt as _;

use super::forward::{WireRequest, WireResponse, api_error};

/// The lease naming the node that drives the CTI side.
pub(crate) const CTI_LEASE: &str = "cti";
/// Bus kind of presence changes for the leader's machine.
pub(crate) const PRESENCE: &str = "presence";
/// Presence changes held while no node drives the CTI side (a takeover lasts seconds).
const MAX_PENDING: usize = 100_000;

/// An agent resource became available or unavailable (or was lost with its node), as the node
/// holding its session saw it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct PresenceChange {
    pub(crate) user: String,
    pub(crate) resource: String,
    pub(crate) available: bool,
    /// The node whose `finesse` saw it (for a lost session: the node it died with).
    pub(crate) node: String,
    /// The node this session died with (its lease expired), when that is why it is unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lost_with: Option<String>,
}

impl PresenceChange {
    /// The change for the agent session `jid` (a full JID of `domain`) as `node` saw it, `lost`
    /// with that node or not; none for another domain or the web-services user itself.
    pub(crate) fn of_agent(jid: &str, domain: &str, available: bool, node: &str, lost: bool) -> Option<Self> {
        let (bare, resource) = jid.split_once('/')?;
        let (user, at) = bare.split_once('@')?;
        (at == domain && user != crate::webservices_user::USERNAME).then(|| Self {
            user: user.to_owned(),
            resource: resource.to_owned(),
            available,
            node: node.to_owned(),
            lost_with: lost.then(|| node.to_owned()),
        })
    }
}

/// The contact center as this node runs it while it leads.
pub(crate) struct Leader {
    /// Taken when the node stops leading.
    pub(crate) service: Mutex<Option<CcService>>,
    pub(crate) router: axum::Router,
    pub(crate) presence: PresenceInput,
    /// Which node last reported each agent resource available. A desktop that moved keeps its
    /// resource: the unavailable its old node reports afterwards (its session ending there, or
    /// the node's death) is about a session already replaced, and must not start a logout.
    origins: Mutex<HashMap<(String, String), String>>,
}

impl Leader {
    pub(crate) fn new(service: CcService, router: axum::Router) -> Self {
        let presence = service.presence_watcher();
        Self { service: Mutex::new(Some(service)), router, presence, origins: Mutex::default() }
    }

    /// Hands one change to the machine, unless it is about a session that has moved since.
    fn apply(&self, change: PresenceChange) {
        let verdict = admit(&mut self.origins.lock().unwrap_or_else(|e| e.into_inner()), &change);
        let (user, resource) = (&change.user, &change.resource);
        match verdict {
            Verdict::Ignore { now_on } => {
                tracing::info!(target: "webservices", user, resource, from = change.node, now_on, "an unavailable presence for a session that has moved to another node; ignored");
            }
            Verdict::Available => self.presence.presence(user, resource, true),
            Verdict::Unavailable { announce_first } => {
                if let Some(node) = &change.lost_with {
                    tracing::warn!(target: "webservices", user, resource, node, "agent session lost with its node");
                }
                if announce_first {
                    self.presence.presence(user, resource, true);
                }
                self.presence.presence(user, resource, false);
            }
        }
    }
}

/// What the leader does with a presence change.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Tell the machine the resource is available.
    Available,
    /// Tell it the resource is gone; first that it existed, when this leader never heard of it
    /// (it took over after the resource came), so that its going starts the grace.
    Unavailable { announce_first: bool },
    /// Drop it: the resource was since reported available by another node.
    Ignore { now_on: String },
}

/// Decides on `change` against `origins` (which node last reported each resource available) and
/// records it.
fn admit(origins: &mut HashMap<(String, String), String>, change: &PresenceChange) -> Verdict {
    let key = (change.user.clone(), change.resource.clone());
    if change.available {
        origins.insert(key, change.node.clone());
        return Verdict::Available;
    }
    match origins.get(&key) {
        Some(node) if *node != change.node => Verdict::Ignore { now_on: node.clone() },
        Some(_) => {
            origins.remove(&key);
            Verdict::Unavailable { announce_first: false }
        }
        // Never heard of here (this node took over after it came): the machine learns it existed,
        // so that its going starts the grace like any other disconnect.
        None => Verdict::Unavailable { announce_first: true },
    }
}

impl Leader {
    /// Tells the contact center the cluster's live nodes, which SystemInfo names (it publishes
    /// SystemInfo again when they changed, and does nothing otherwise).
    pub(crate) fn set_nodes(&self, live: &[NodeInfo]) {
        let service = self.service.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(service) = service.as_ref() {
            let nodes = desktop_addresses(live);
            service.with_center(|cc| cc.set_nodes(herald_api::now_ms(), nodes));
        }
    }
}

/// Where desktops reach each live node (in the given order, sorted by id): its advertised
/// host, its REST listener (which serves the desktop's page and the API) and its XMPP port. A
/// node without a REST listener cannot take a failing-over desktop and is left out.
fn desktop_addresses(live: &[NodeInfo]) -> Vec<NodeAddress> {
    live.iter()
        .filter_map(|node| {
            let https_port = node.rest_port?;
            Some(NodeAddress { host: node.host.clone(), https_port, xmpp_port: node.c2s_port })
        })
        .collect()
}

/// Who leads, seen from this node, and the presence waiting for a leader.
pub(crate) struct Leadership {
    pub(crate) cluster: Cluster,
    current: Mutex<Option<Arc<Leader>>>,
    pending: Mutex<VecDeque<PresenceChange>>,
}

impl Leadership {
    pub(crate) fn new(cluster: Cluster) -> Self {
        Self { cluster, current: Mutex::default(), pending: Mutex::default() }
    }

    /// The contact center, while this node leads.
    pub(crate) fn current(&self) -> Option<Arc<Leader>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set(&self, leader: Option<Arc<Leader>>) -> Option<Arc<Leader>> {
        std::mem::replace(&mut *self.current.lock().unwrap_or_else(|e| e.into_inner()), leader)
    }

    /// The live node that leads, if any: this one (`Ok(None)`) or another (`Ok(Some(id))`).
    fn live_leader(&self) -> Option<Option<String>> {
        if self.current().is_some() {
            return Some(None);
        }
        let holder = self.cluster.holder(CTI_LEASE)?;
        (holder != self.cluster.node_id() && self.cluster.is_live(&holder)).then_some(Some(holder))
    }

    /// Hands presence changes to the leader's machine: here when this node leads, over the bus
    /// when another live node does, held until one does otherwise. Changes never overtake those
    /// still held: they join the queue, which is sent in order.
    pub(crate) fn presence(&self, changes: Vec<PresenceChange>) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.extend(changes);
        if pending.is_empty() {
            return;
        }
        let excess = pending.len().saturating_sub(MAX_PENDING);
        if excess > 0 {
            pending.drain(..excess);
            tracing::warn!(target: "webservices", excess, "presence changes dropped while no node drives the CTI side");
        }
        let Some(leader) = self.live_leader() else { return };
        let waiting: Vec<PresenceChange> = pending.drain(..).collect();
        match leader {
            None => {
                if let Some(current) = self.current() {
                    waiting.into_iter().for_each(|change| current.apply(change));
                }
            }
            Some(holder) => self.cluster.post(To::Node(&holder), PRESENCE, serde_json::to_vec(&waiting).unwrap_or_default()),
        }
    }

    /// Sends what waited for a leader, if there is one now.
    pub(crate) fn flush(&self) {
        self.presence(Vec::new());
    }

    /// Answers a REST request another node forwarded: through this node's router while it
    /// leads; a 503 when it no longer does (the lease moved while the request was on its way).
    pub(crate) async fn serve_forwarded(&self, body: Vec<u8>) -> Vec<u8> {
        let Some(request) = WireRequest::decode(&body).and_then(WireRequest::into_request) else {
            tracing::warn!(target: "webservices", "a forwarded REST request could not be read; answered 400");
            return WireResponse::read(api_error(&ApiError::invalid_input("The forwarded request could not be read", ""))).await.encode();
        };
        WireResponse::read(self.answer(request).await).await.encode()
    }

    /// Answers `request` with the leader's router, or 503 when this node does not lead.
    pub(crate) async fn answer(&self, request: Request<Body>) -> axum::response::Response {
        match self.current() {
            Some(leader) => match leader.router.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
            None => api_error(&ApiError::unavailable("this node does not drive the CTI side")),
        }
    }
}

/// The contact center's state for the admin API, whichever node leads (none while this one
/// does not: `herald ctl status` on the leader shows it).
pub(crate) struct LeaderView(pub(crate) std::sync::Weak<Leadership>);

impl LeaderView {
    fn with_service<R>(&self, f: impl FnOnce(&CcService) -> R) -> Option<R> {
        let leader = self.0.upgrade()?.current()?;
        let service = leader.service.lock().unwrap_or_else(|e| e.into_inner());
        service.as_ref().map(f)
    }
}

impl herald_admin::ContactCenterView for LeaderView {
    fn in_service(&self) -> Option<bool> {
        self.with_service(|cc| cc.with_center(|c| c.in_service()))
    }

    fn agents_by_state(&self) -> Vec<(String, i64)> {
        self.with_service(|cc| cc.with_center(|c| c.agents_by_state()))
            .unwrap_or_default()
            .into_iter()
            .map(|(s, n)| (s.to_owned(), n))
            .collect()
    }

    fn refresh_metrics(&self) {
        self.with_service(CcService::refresh_metrics);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(available: bool, node: &str, lost: bool) -> PresenceChange {
        PresenceChange::of_agent("1001@d/desktop", "d", available, node, lost).unwrap()
    }

    #[test]
    fn a_desktop_back_on_another_node_is_not_logged_out_by_its_old_nodes_news() {
        let mut origins = HashMap::new();
        assert_eq!(admit(&mut origins, &change(true, "a", false)), Verdict::Available);
        // The desktop reconnects to b (same resource) before a's death is reaped.
        assert_eq!(admit(&mut origins, &change(true, "b", false)), Verdict::Available);
        assert_eq!(admit(&mut origins, &change(false, "a", true)), Verdict::Ignore { now_on: "b".into() });
        // Its old BOSH session on a ending late says the same: ignored.
        assert_eq!(admit(&mut origins, &change(false, "a", false)), Verdict::Ignore { now_on: "b".into() });
        // Leaving b for real counts.
        assert_eq!(admit(&mut origins, &change(false, "b", false)), Verdict::Unavailable { announce_first: false });
    }

    #[test]
    fn a_session_gone_before_this_leader_heard_of_it_still_starts_the_grace() {
        let mut origins = HashMap::new();
        assert_eq!(admit(&mut origins, &change(false, "a", true)), Verdict::Unavailable { announce_first: true });
        assert_eq!(admit(&mut origins, &change(false, "a", false)), Verdict::Unavailable { announce_first: true });
        assert_eq!(admit(&mut origins, &change(true, "a", false)), Verdict::Available);
        assert_eq!(admit(&mut origins, &change(false, "a", true)), Verdict::Unavailable { announce_first: false });
        assert!(origins.is_empty());
    }

    #[test]
    fn the_web_services_user_and_other_domains_are_not_agents() {
        assert!(PresenceChange::of_agent("finesse@d/webservices", "d", true, "a", false).is_none());
        assert!(PresenceChange::of_agent("1001@other/desk", "d", true, "a", false).is_none());
        assert!(PresenceChange::of_agent("1001@d", "d", true, "a", false).is_none(), "a bare JID is no session");
    }

    #[test]
    fn presence_changes_cross_the_bus_as_json() {
        let changes = vec![PresenceChange {
            user: "1001".into(),
            resource: "desk".into(),
            available: false,
            node: "b".into(),
            lost_with: Some("b".into()),
        }];
        let bytes = serde_json::to_vec(&changes).unwrap();
        assert_eq!(serde_json::from_slice::<Vec<PresenceChange>>(&bytes).unwrap(), changes);
    }

    #[test]
    fn desktops_reach_a_node_on_its_rest_port_and_a_node_without_one_is_left_out() {
        let node = |id: &str, rest_port: Option<u16>| NodeInfo {
            id: id.into(),
            host: format!("{id}.example.com"),
            c2s_port: 5222,
            https_port: 7443,
            rest_port,
            ..NodeInfo::default()
        };
        let addresses = desktop_addresses(&[node("a", Some(8445)), node("b", None), node("c", Some(9445))]);
        assert_eq!(
            addresses,
            [
                NodeAddress { host: "a.example.com".into(), https_port: 8445, xmpp_port: 5222 },
                NodeAddress { host: "c.example.com".into(), https_port: 9445, xmpp_port: 5222 },
            ]
        );
    }
}
