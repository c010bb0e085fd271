//! The node that drives the CTI side: whoever holds the cluster's `cti` lease runs the
//! contact-center machine and the simulator; when it loses the lease (or dies) another node
//! takes over within a lease. Every node's `finesse` session sees the presence of the agents
//! bound there; that presence (and the sessions a dead node took with it) goes to the leader's
//! machine, which alone decides a presence-driven logout — so it fires once, on one node.

use std::collections::VecDeque;
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

/// An agent resource became available or unavailable (or was lost with its node).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct PresenceChange {
    pub(crate) user: String,
    pub(crate) resource: String,
    pub(crate) available: bool,
    /// The node this session died with (its lease expired), when that is why it is unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lost_with: Option<String>,
}

/// The contact center as this node runs it while it leads.
pub(crate) struct Leader {
    /// Taken when the node stops leading.
    pub(crate) service: Mutex<Option<CcService>>,
    pub(crate) router: axum::Router,
    pub(crate) presence: PresenceInput,
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

    /// Hands presence changes to the leader's machine: here when this node leads, over the bus
    /// when another does, held until one does otherwise.
    pub(crate) fn presence(&self, changes: Vec<PresenceChange>) {
        if changes.is_empty() {
            return;
        }
        if let Some(leader) = self.current() {
            for change in changes {
                if let Some(node) = &change.lost_with {
                    tracing::warn!(target: "webservices", user = change.user, resource = change.resource, node, "agent session lost with its node");
                }
                leader.presence.presence(&change.user, &change.resource, change.available);
            }
            return;
        }
        match self.cluster.holder(CTI_LEASE).filter(|holder| holder != self.cluster.node_id()) {
            Some(holder) => {
                self.cluster.post(To::Node(&holder), PRESENCE, serde_json::to_vec(&changes).unwrap_or_default());
            }
            None => {
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                pending.extend(changes);
                let excess = pending.len().saturating_sub(MAX_PENDING);
                if excess > 0 {
                    pending.drain(..excess);
                    tracing::warn!(target: "webservices", excess, "presence changes dropped while no node drives the CTI side");
                }
            }
        }
    }

    /// Sends what waited for a leader, if there is one now.
    pub(crate) fn flush(&self) {
        let waiting: Vec<PresenceChange> = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if pending.is_empty() || (self.current().is_none() && self.cluster.holder(CTI_LEASE).is_none()) {
                return;
            }
            pending.drain(..).collect()
        };
        self.presence(waiting);
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

    #[test]
    fn presence_changes_cross_the_bus_as_json() {
        let changes = vec![PresenceChange { user: "1001".into(), resource: "desk".into(), available: false, lost_with: Some("b".into()) }];
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
