//! Publish-subscribe (XEP-0060) at `pubsub.<domain>`: nodes named by any string (Finesse uses REST
//! URLs), affiliations and access models, subscriptions, item history with catch-up (XEP-0059
//! `after`), and fan-out of each publish to the subscribers' sessions.
//!
//! A [`PubSub`] value owns the nodes and the group-commit writer. It reaches the rest of the
//! server only through three narrow seams its creator wires: a [`Delivery`] that hands a
//! notification to the sessions of its targets (session resolution stays in the core), a
//! [`RosterCheck`] for the `presence` access model, and a [`NodeStore`] that persists batches of
//! changes. Its operations return a typed [`PubSubError`]; the XMPP adapter
//! ([`PubSub::handle_iq`]) maps it to XEP-0060 stanza errors.
//!
//! State lives in memory; every change is also queued to one writer task that commits the queued
//! changes in a single transaction (group commit). A publish is acknowledged, and its
//! notifications delivered, only after its transaction committed, in publish order: a crash never
//! loses an acknowledged item, and no subscriber sees an item that a crash could take back. When a
//! commit fails, the memory changes of that batch are rolled back, so nothing that was never
//! stored is served afterwards. The publish path does no database work per subscriber.

mod access;
mod caps;
mod delivery;
mod error;
mod fanout;
mod forms;
mod items;
mod model;
mod nodes;
mod persistence;
mod replication;
mod request;
mod state;
mod subscriptions;
mod undo;
mod writer;
mod xmpp;

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

pub use access::RosterCheck;
pub use caps::{PubSubConfig, RESERVED_PREFIX};
pub use delivery::{Delivery, Notification, Target};
pub use error::{ConfigError, PubSubError};
pub use items::{ItemQuery, ItemsPage};
pub use model::{AccessModel, Affiliation, Item, NodeConfig, PublishModel, SubState};
pub use persistence::{NodeStore, StoreFuture};
pub use replication::{Replicated, ReplicationError, ReplicationStats, Replicator, WireNotification};
pub use subscriptions::SubscribeOutcome;
pub use writer::Committing;

use state::State;
use writer::Job;

/// XEP-0060 namespaces.
pub mod ns {
    /// Entity use cases.
    pub const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
    /// Owner use cases.
    pub const OWNER: &str = "http://jabber.org/protocol/pubsub#owner";
    /// Notifications.
    pub const EVENT: &str = "http://jabber.org/protocol/pubsub#event";
    /// Application-specific error conditions.
    pub const ERRORS: &str = "http://jabber.org/protocol/pubsub#errors";
    /// XEP-0059 result set management.
    pub const RSM: &str = "http://jabber.org/protocol/rsm";
    /// XEP-0131 headers (SubID on notifications).
    pub const SHIM: &str = "http://jabber.org/protocol/shim";
    /// XEP-0004 data forms.
    pub const DATA: &str = "jabber:x:data";
}

/// What the service shares with its writer task.
pub(crate) struct Shared {
    jid: Arc<str>,
    domain: String,
    config: PubSubConfig,
    nodes: Mutex<State>,
    writer: mpsc::UnboundedSender<Job>,
    delivery: Arc<dyn Delivery>,
    roster: Arc<dyn RosterCheck>,
    /// Where committed batches go for the other cluster nodes (`None`: a single node).
    replicator: Option<Arc<dyn Replicator>>,
    /// What this node applied from the others.
    replication: replication::Counters,
}

/// The publish-subscribe service. Cheap to clone; clones share the nodes and the writer.
#[derive(Clone)]
pub struct PubSub {
    shared: Arc<Shared>,
}

/// The nodes as loaded from the store, before the service starts.
pub struct Loaded {
    nodes: State,
}

impl PubSub {
    /// Loads every node from `store` (the first half of [`PubSub::start`], for a creator that
    /// must build the seams after the load).
    pub async fn load(store: &dyn NodeStore, config: &PubSubConfig) -> Result<Loaded, herald_store::StoreError> {
        let nodes =
            store.load().await?.into_iter().map(|n| (n.name.clone(), persistence::node_from_stored(n, config.default_max_items))).collect();
        Ok(Loaded { nodes: State::new(nodes) })
    }

    /// Starts the service for `domain` over `loaded` nodes, with its writer task (so this must
    /// run inside a tokio runtime). In a cluster, `replicator` gets every committed batch of
    /// this node's changes for the other nodes (see [`PubSub::apply_replicated`]).
    pub fn new(
        domain: &str,
        config: PubSubConfig,
        loaded: Loaded,
        store: Arc<dyn NodeStore>,
        delivery: Arc<dyn Delivery>,
        roster: Arc<dyn RosterCheck>,
        replicator: Option<Arc<dyn Replicator>>,
    ) -> Self {
        let (writer, jobs) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            jid: format!("pubsub.{domain}").into(),
            domain: domain.to_owned(),
            config,
            nodes: Mutex::new(loaded.nodes),
            writer,
            delivery,
            roster,
            replicator,
            replication: Default::default(),
        });
        tokio::spawn(writer::run(Arc::downgrade(&shared), store, jobs));
        Self { shared }
    }

    /// Loads the nodes from `store` and starts the service.
    pub async fn start(
        domain: &str,
        config: PubSubConfig,
        store: Arc<dyn NodeStore>,
        delivery: Arc<dyn Delivery>,
        roster: Arc<dyn RosterCheck>,
        replicator: Option<Arc<dyn Replicator>>,
    ) -> Result<Self, herald_store::StoreError> {
        let loaded = Self::load(store.as_ref(), &config).await?;
        Ok(Self::new(domain, config, loaded, store, delivery, roster, replicator))
    }

    pub(crate) fn nodes(&self) -> MutexGuard<'_, State> {
        self.shared.nodes.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn config(&self) -> &PubSubConfig {
        &self.shared.config
    }

    /// The service's JID (`pubsub.<domain>`).
    pub fn jid(&self) -> &str {
        &self.shared.jid
    }

    /// Items a node keeps unless configured otherwise.
    pub fn default_max_items(&self) -> usize {
        self.shared.config.default_max_items
    }

    /// Whether a node exists.
    pub fn node_exists(&self, node: &str) -> bool {
        self.nodes().contains_key(node)
    }

    /// Number of subscriptions of a node (for tests and statistics).
    pub fn subscription_count(&self, node: &str) -> usize {
        self.nodes().get(node).map_or(0, |n| n.subscriptions.len())
    }
}

/// Milliseconds since the Unix epoch: the publication time of items.
fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
