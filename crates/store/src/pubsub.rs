//! Publish-subscribe persistence: nodes with their configuration, affiliations, subscriptions
//! and items, loaded whole at start and changed in batches of [`PubSubOp`]s.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// The persistent state of one publish-subscribe node, as loaded at start.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StoredNode {
    /// Node name (any string, `/` included).
    pub name: String,
    /// Configuration, serialised by the pubsub service (the store does not interpret it).
    pub config: String,
    /// The sequence number the next item gets; never reused, even after a purge.
    pub next_seq: u64,
    /// (bare JID, affiliation name).
    pub affiliations: Vec<(String, String)>,
    /// Subscriptions.
    pub subscriptions: Vec<StoredSubscription>,
    /// Items, oldest first.
    pub items: Vec<StoredItem>,
}

/// One subscription to a node. Serialisable: a cluster node sends its committed changes to the
/// others (`herald-pubsub`'s replication).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StoredSubscription {
    /// Subscription id.
    pub subid: String,
    /// Subscribed JID (bare or full).
    pub jid: String,
    /// `subscribed`, `pending` or `unconfigured`.
    pub state: String,
    /// Subscription options (XEP-0060 §6.3), as data.
    pub options: SubscriptionOptions,
}

/// The options of one subscription, each its own column: nothing is parsed back from text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionOptions {
    /// `pubsub#deliver`: whether notifications are sent (true unless the subscriber paused them).
    pub deliver: bool,
}

impl Default for SubscriptionOptions {
    fn default() -> Self {
        Self { deliver: true }
    }
}

/// One published item (serialisable, for replication between cluster nodes).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StoredItem {
    /// Position in the node's history; increases with every publish.
    pub seq: u64,
    /// Item id.
    pub id: String,
    /// Bare JID of the publisher.
    pub publisher: String,
    /// The payload element, serialised (empty for notification-only items).
    pub payload: String,
    /// Publication time, ms since the Unix epoch.
    pub published_at_ms: i64,
}

/// One change to the pubsub state. The service batches these and applies each batch in one
/// transaction, so a publish costs one write whatever the number of subscribers. Serialisable:
/// in a cluster the committed ops also go to the other nodes, which apply them to their memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PubSubOp {
    /// Creates a node or replaces its configuration.
    PutNode {
        /// Node name.
        name: String,
        /// Serialised configuration.
        config: String,
    },
    /// Deletes a node with everything in it.
    DeleteNode {
        /// Node name.
        name: String,
    },
    /// Sets an affiliation.
    PutAffiliation {
        /// Node name.
        node: String,
        /// Bare JID.
        jid: String,
        /// Affiliation name.
        affiliation: String,
    },
    /// Removes an affiliation (back to `none`).
    DeleteAffiliation {
        /// Node name.
        node: String,
        /// Bare JID.
        jid: String,
    },
    /// Creates or replaces a subscription.
    PutSubscription {
        /// Node name.
        node: String,
        /// The subscription.
        subscription: StoredSubscription,
    },
    /// Removes a subscription.
    DeleteSubscription {
        /// Node name.
        node: String,
        /// Subscription id.
        subid: String,
    },
    /// Stores an item (replacing one with the same id) and keeps only the newest `keep` items.
    PutItem {
        /// Node name.
        node: String,
        /// The item.
        item: StoredItem,
        /// How many items the node keeps, when this publish may have pushed one out (`None`:
        /// the node is below its limit, and nothing needs trimming: one statement fewer).
        keep: Option<u64>,
    },
    /// Removes one item.
    DeleteItem {
        /// Node name.
        node: String,
        /// Item id.
        id: String,
    },
    /// Removes every item of a node.
    Purge {
        /// Node name.
        node: String,
    },
}

impl PubSubOp {
    /// The pubsub node the operation changes.
    pub fn node(&self) -> &str {
        match self {
            Self::PutNode { name, .. } | Self::DeleteNode { name } => name,
            Self::PutAffiliation { node, .. }
            | Self::DeleteAffiliation { node, .. }
            | Self::PutSubscription { node, .. }
            | Self::DeleteSubscription { node, .. }
            | Self::PutItem { node, .. }
            | Self::DeleteItem { node, .. }
            | Self::Purge { node, .. } => node,
        }
    }
}

/// The pubsub service's persistence: one load at start, then batches applied in order, each
/// atomically (a group commit), so a publish costs one write whatever the number of subscribers.
pub trait PubSubStore: Send + Sync {
    /// Every pubsub node with its affiliations, subscriptions and items.
    fn pubsub_load(&self) -> impl Future<Output = Result<Vec<StoredNode>, StoreError>> + Send;
    /// Applies a batch of pubsub changes atomically, in order.
    fn pubsub_apply(&self, ops: &[PubSubOp]) -> impl Future<Output = Result<(), StoreError>> + Send;
}
