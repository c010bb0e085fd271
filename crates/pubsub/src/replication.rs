//! Replication between cluster nodes: the [`Replicated`] batch a node's writer hands its
//! [`Replicator`] after each successful commit (the ops, as stored, and the notifications they
//! produced), its wire form, and [`PubSub::apply_replicated`], which applies another node's batch
//! to this node's memory (never to the store: the shared database already has it) and delivers
//! its notifications to this node's sessions.
//!
//! Every node keeps the whole pubsub state in memory and fans out to its own sessions only, so a
//! batch applied on every other node, in the order its node committed it, keeps the memory views
//! equal and reaches every subscriber once. Applying is idempotent: a node that loaded the store
//! after a change and then receives that change's batch ends up as it was.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use herald_proto::Jid;
use herald_store::{PubSubOp, StoredItem, StoredSubscription};
use serde::{Deserialize, Serialize};

use crate::delivery::{Notification, Target};
use crate::model::{Affiliation, Item, Node, NodeConfig, SubState};
use crate::persistence::{parse_payload, subscription};
use crate::state::State;
use crate::{PubSub, now_ms};

/// A committed batch of this node's changes, for the other nodes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Replicated {
    /// The store ops of the batch, in commit order.
    pub ops: Vec<PubSubOp>,
    /// The notifications the batch produced, in delivery order.
    pub notifications: Vec<WireNotification>,
}

/// A notification as it travels between nodes: the receiving node resolves the targets to its
/// own sessions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireNotification {
    /// Who gets it.
    pub targets: Vec<Target>,
    /// The serialised `<event/>` (or other payload) of the message.
    pub event: String,
    /// The message id.
    pub id: String,
    /// When the change was made, ms since the Unix epoch: the receiver measures the cross-node
    /// delivery latency from it.
    pub published_ms: i64,
}

/// A batch that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    /// Not a batch in the wire form (another version, or damaged).
    #[error("replicated pubsub batch unreadable: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// Where a node's committed batches go (the cluster posts them to every other node). Called by
/// the writer task once per committed batch, in commit order; it must not block.
pub trait Replicator: Send + Sync + 'static {
    /// A batch of this node's changes was committed.
    fn committed(&self, batch: Replicated);
}

impl std::fmt::Debug for dyn Replicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Replicator")
    }
}

impl Replicated {
    /// The wire form (JSON: the payloads are XML text, and a reader of another version fails
    /// with a clear error rather than misreading fields).
    pub fn encode(&self) -> Vec<u8> {
        // Serialising plain structs with string keys cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads [`Replicated::encode`]'s output.
    pub fn decode(bytes: &[u8]) -> Result<Self, ReplicationError> {
        Ok(serde_json::from_slice(bytes)?)
    }

    /// Nothing to send.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.notifications.is_empty()
    }
}

impl WireNotification {
    /// The wire form of a local notification.
    pub(crate) fn of(notification: &Notification) -> Self {
        Self {
            targets: notification.targets.clone(),
            event: notification.event.to_string(),
            id: notification.id.clone(),
            published_ms: notification.published_ms,
        }
    }

    /// The notification to deliver here, from `service`, its latency clock started when it was
    /// made on the other node (as far as the two clocks agree).
    fn into_notification(self, service: Arc<str>) -> Notification {
        let age = Duration::from_millis(u64::try_from(now_ms().saturating_sub(self.published_ms)).unwrap_or(0));
        let now = Instant::now();
        Notification {
            targets: self.targets,
            from: service,
            event: self.event.into(),
            id: self.id,
            at: now.checked_sub(age).unwrap_or(now),
            published_ms: self.published_ms,
        }
    }
}

/// Statistics of what this node applied from the others.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplicationStats {
    /// Batches applied.
    pub batches: u64,
    /// Ops applied.
    pub ops: u64,
    /// Ops skipped (unknown node, malformed payload or JID).
    pub skipped: u64,
}

/// Why a replicated op was skipped.
#[derive(Debug, thiserror::Error)]
enum Skip {
    #[error("no such node")]
    UnknownNode,
    #[error("malformed item payload")]
    Payload,
    #[error("malformed JID {0:?}")]
    Jid(String),
    #[error("unknown affiliation {0:?}")]
    Affiliation(String),
}

impl PubSub {
    /// Hands a committed batch to the replicator, if any.
    pub(crate) fn replicate(&self, batch: Replicated) {
        if let Some(replicator) = &self.shared.replicator
            && !batch.is_empty()
        {
            replicator.committed(batch);
        }
    }

    /// Applies another node's committed batch: each op to the memory view (no store write, no
    /// undo; an op naming an unknown node or carrying a malformed payload is skipped with a
    /// warning), then delivers its notifications to this node's sessions. Never replicated
    /// again.
    pub fn apply_replicated(&self, batch: Replicated) {
        let default_max_items = self.config().default_max_items;
        let (mut applied, mut skipped) = (0, 0);
        {
            let mut nodes = self.nodes();
            for op in batch.ops {
                match apply_op(&mut nodes, &op, default_max_items) {
                    Ok(()) => applied += 1,
                    Err(reason) => {
                        skipped += 1;
                        tracing::warn!(target: "notification", node = op.node(), %reason, "replicated pubsub change skipped");
                    }
                }
            }
        }
        let stats = &self.shared.replication;
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.ops.fetch_add(applied, Ordering::Relaxed);
        stats.skipped.fetch_add(skipped, Ordering::Relaxed);
        for wire in batch.notifications {
            self.shared.delivery.deliver(&wire.into_notification(self.shared.jid.clone()));
        }
    }

    /// Replaces the memory view with the store's, for a node that was out of its cluster (the
    /// other nodes sent it nothing meanwhile, and what they committed is in the shared store).
    /// This node's own queued changes are committed first. Run it where replicated batches are
    /// applied, in their order: a batch received before it was committed before the store is
    /// read (its changes are in the view loaded), one received after it is applied after the
    /// swap (applying is idempotent). A change this node makes itself while the store is read is
    /// in the store but may miss the view until the next reload: a node that was out of its
    /// cluster does not lead, and so publishes nothing of its own.
    pub async fn reload(&self, store: &dyn crate::NodeStore) -> Result<(), herald_store::StoreError> {
        self.flush().await;
        let loaded = Self::load(store, self.config()).await?;
        let nodes = loaded.nodes.len();
        *self.nodes() = loaded.nodes;
        tracing::info!(target: "notification", nodes, "pubsub state reloaded from the store");
        Ok(())
    }

    /// What this node applied from the others so far.
    pub fn replication_stats(&self) -> ReplicationStats {
        let stats = &self.shared.replication;
        ReplicationStats {
            batches: stats.batches.load(Ordering::Relaxed),
            ops: stats.ops.load(Ordering::Relaxed),
            skipped: stats.skipped.load(Ordering::Relaxed),
        }
    }
}

/// The counters behind [`ReplicationStats`].
#[derive(Default)]
pub(crate) struct Counters {
    batches: std::sync::atomic::AtomicU64,
    ops: std::sync::atomic::AtomicU64,
    skipped: std::sync::atomic::AtomicU64,
}

/// Applies one op to the memory view, idempotently.
fn apply_op(state: &mut State, op: &PubSubOp, default_max_items: usize) -> Result<(), Skip> {
    match op {
        PubSubOp::PutNode { name, config } => {
            let config = NodeConfig::deserialise(config, default_max_items);
            match state.get_mut(name) {
                // Items the new configuration no longer keeps come as their own DeleteItem ops;
                // trimming here could lose items a later (already loaded) configuration keeps.
                Some(node) => node.config = config,
                None => state.insert_node(Node::empty(name, config)),
            }
        }
        PubSubOp::DeleteNode { name } => {
            state.remove_node(name);
        }
        PubSubOp::PutAffiliation { node, jid, affiliation } => {
            let affiliation = Affiliation::parse(affiliation).ok_or_else(|| Skip::Affiliation(affiliation.clone()))?;
            known(state, node)?;
            state.set_affiliation(node, jid, affiliation);
        }
        PubSubOp::DeleteAffiliation { node, jid } => {
            known(state, node)?;
            state.set_affiliation(node, jid, Affiliation::None);
        }
        PubSubOp::PutSubscription { node, subscription: stored } => {
            known(state, node)?;
            state.put_subscription(node, from_stored_sub(stored)?);
        }
        PubSubOp::DeleteSubscription { node, subid } => {
            known(state, node)?;
            state.remove_subscriptions(node, |_, s| &s.subid == subid);
        }
        // `keep` is the origin's `max_items` when it published; the node's configuration here
        // is the same, or a later one when this node loaded the store after a reconfiguration.
        PubSubOp::PutItem { node, item, keep: _ } => put_item(state.get_mut(node).ok_or(Skip::UnknownNode)?, item)?,
        PubSubOp::DeleteItem { node, id } => {
            state.get_mut(node).ok_or(Skip::UnknownNode)?.items.retain(|i| &i.id != id);
        }
        PubSubOp::Purge { node } => state.get_mut(node).ok_or(Skip::UnknownNode)?.items.clear(),
    }
    Ok(())
}

fn known(state: &State, node: &str) -> Result<(), Skip> {
    if state.contains_key(node) { Ok(()) } else { Err(Skip::UnknownNode) }
}

fn from_stored_sub(stored: &StoredSubscription) -> Result<crate::model::Subscription, Skip> {
    let jid = Jid::new(&stored.jid).map_err(|_| Skip::Jid(stored.jid.clone()))?;
    let state = if stored.state == "pending" { SubState::Pending } else { SubState::Subscribed };
    Ok(subscription(&jid, stored.subid.clone(), state, stored.options.deliver))
}

/// Stores a replicated item in sequence order (replacing an older one with its id), keeps the
/// newest `max_items`, and raises `next_seq` past it so that this node never reuses its number.
/// An item this node already holds at the same or a later sequence number changes nothing.
fn put_item(node: &mut Node, stored: &StoredItem) -> Result<(), Skip> {
    node.next_seq = node.next_seq.max(stored.seq.saturating_add(1));
    if node.items.iter().any(|i| i.id == stored.id && i.seq >= stored.seq) {
        return Ok(());
    }
    let payload = if stored.payload.is_empty() { None } else { Some(Arc::new(parse_payload(&stored.payload).ok_or(Skip::Payload)?)) };
    node.items.retain(|i| i.id != stored.id);
    let item = Item {
        seq: stored.seq,
        id: stored.id.clone(),
        publisher: stored.publisher.clone(),
        payload,
        published_at_ms: stored.published_at_ms,
    };
    let at = node.items.iter().rposition(|i| i.seq <= item.seq).map_or(0, |p| p + 1);
    node.items.insert(at, item);
    let excess = node.items.len().saturating_sub(node.config.max_items);
    node.items.drain(..excess);
    Ok(())
}
