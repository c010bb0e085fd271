//! The cluster's side of the core's and the pubsub service's seams: where a recipient's
//! sessions are on other nodes and how a stanza gets there (`Remote`), committed pubsub changes
//! sent to every other node (`Replicator`), and the session directory fed from the core's events.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use herald_cluster::{Cluster, To};
use herald_core::{CoreEvent, EventSink, LockoutKind, Remote, RemoteSession, SharedLockout};
use herald_pubsub::{Replicated, Replicator};
use herald_xml::Element;

/// Bus kind of a stanza for the receiving node's own sessions.
pub(crate) const STANZA: &str = "stanza";
/// Bus kind of a committed pubsub batch.
pub(crate) const PUBSUB: &str = "pubsub";

/// Stanzas to other nodes, through the directory and the bus.
pub(crate) struct ClusterRemote {
    pub(crate) cluster: Cluster,
    /// The web-services user's bare JID: it has a session on every node, never in the
    /// directory, and is in every agent's roster — each login's presence would otherwise ask
    /// Redis where it is.
    pub(crate) local_only: String,
    /// `herald_cluster_forwarded_total{kind="stanza"}`.
    pub(crate) metrics: herald_metrics::Metrics,
}

impl Remote for ClusterRemote {
    fn locate<'a>(&'a self, bare: &'a str) -> Pin<Box<dyn Future<Output = Vec<RemoteSession>> + Send + 'a>> {
        Box::pin(async move {
            if bare == self.local_only {
                return Vec::new();
            }
            match self.cluster.locate(bare).await {
                Ok(found) => found
                    .into_iter()
                    .filter(|(_, node)| node != self.cluster.node_id())
                    .map(|(resource, node)| RemoteSession { node, resource })
                    .collect(),
                Err(err) => {
                    tracing::warn!(target: "notification", %err, bare, "the session directory cannot be read; only this node's sessions are reached");
                    Vec::new()
                }
            }
        })
    }

    fn forward(&self, node: &str, stanza: Element) {
        self.metrics.forwarded(herald_metrics::Forwarded::Stanza);
        self.cluster.post(To::Node(node), STANZA, stanza.to_xml().into_bytes());
    }
}

/// Committed pubsub changes to every other node.
pub(crate) struct ClusterReplicator {
    pub(crate) cluster: Cluster,
}

impl Replicator for ClusterReplicator {
    fn committed(&self, batch: Replicated) {
        self.cluster.post(To::All, PUBSUB, batch.encode());
    }
}

/// Keeps the session directory in step with the sessions bound here. A full JID bound twice on
/// this node (a login replacing another with the same resource) stays in the directory until
/// both bindings are gone: the replaced one's unbinding comes after the new one's binding.
pub(crate) struct DirectoryFeed {
    pub(crate) cluster: Cluster,
    /// `finesse@<domain>`: node-local on every node, never in the directory.
    pub(crate) local_only: String,
    pub(crate) bound: Mutex<HashMap<String, u32>>,
}

impl EventSink for DirectoryFeed {
    fn event(&self, event: &CoreEvent) {
        let (jid, up) = match event {
            CoreEvent::SessionBound { jid, .. } => (jid, true),
            CoreEvent::SessionUnbound { jid, .. } => (jid, false),
            CoreEvent::PresenceChanged { .. } => return,
        };
        if jid.to_bare().as_str() == self.local_only {
            return;
        }
        let full = jid.to_string();
        let mut bound = self.bound.lock().unwrap_or_else(|e| e.into_inner());
        if up {
            let count = bound.entry(full.clone()).or_default();
            *count += 1;
            if *count == 1 {
                self.cluster.session_bound(&full);
            }
        } else if let Some(count) = bound.get_mut(&full) {
            *count -= 1;
            if *count == 0 {
                bound.remove(&full);
                self.cluster.session_unbound(&full);
            }
        }
    }
}

/// The lock-out's failure counters in Redis, so that a failure on any node counts on all.
pub(crate) struct ClusterLockout {
    pub(crate) cluster: Cluster,
}

impl ClusterLockout {
    fn key(kind: LockoutKind, key: &str) -> String {
        format!("lockout:{}:{key}", kind.name())
    }

    /// `value`, or 0 with a warning when Redis could not answer (the local counts still apply).
    fn or_zero(result: Result<u64, herald_cluster::ClusterError>) -> u64 {
        result.unwrap_or_else(|err| {
            tracing::warn!(target: "notification", %err, "the shared lock-out counters cannot be read; this node's own counts apply");
            0
        })
    }
}

impl SharedLockout for ClusterLockout {
    fn record_failure<'a>(&'a self, kind: LockoutKind, key: &'a str, window: Duration) -> Pin<Box<dyn Future<Output = u64> + Send + 'a>> {
        Box::pin(async move { Self::or_zero(self.cluster.counter_incr(&Self::key(kind, key), window).await) })
    }

    fn failures<'a>(&'a self, kind: LockoutKind, key: &'a str) -> Pin<Box<dyn Future<Output = u64> + Send + 'a>> {
        Box::pin(async move { Self::or_zero(self.cluster.counter_get(&Self::key(kind, key)).await) })
    }

    fn clear<'a>(&'a self, kind: LockoutKind, key: &'a str) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            if let Err(err) = self.cluster.counter_clear(&Self::key(kind, key)).await {
                tracing::warn!(target: "notification", %err, "a shared lock-out counter could not be cleared");
            }
        })
    }
}
