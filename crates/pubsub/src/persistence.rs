//! What the service persists and how: the [`NodeStore`] seam (loading every node at start,
//! applying a batch of changes atomically), and the conversions between the in-memory model
//! and the store's plain records.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use herald_proto::Jid;
use herald_store::{PubSubOp, Store, StoreError, StoredItem, StoredNode, StoredSubscription, SubscriptionOptions};
use herald_xml::{Element, Limits, parse_document};

use crate::model::{Affiliation, Item, Node, NodeConfig, SubState, Subscription};

/// A boxed future, so that [`NodeStore`] can be used as a trait object.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where the service keeps its nodes: every [`Store`] is one, and a test can wrap one to make
/// it fail on demand.
pub trait NodeStore: Send + Sync + 'static {
    /// Every node with its affiliations, subscriptions and items.
    fn load(&self) -> StoreFuture<'_, Vec<StoredNode>>;
    /// Applies a batch of changes atomically, in order.
    fn apply<'a>(&'a self, ops: &'a [PubSubOp]) -> StoreFuture<'a, ()>;
}

impl<S: Store> NodeStore for S {
    fn load(&self) -> StoreFuture<'_, Vec<StoredNode>> {
        Box::pin(self.pubsub_load())
    }
    fn apply<'a>(&'a self, ops: &'a [PubSubOp]) -> StoreFuture<'a, ()> {
        Box::pin(self.pubsub_apply(ops))
    }
}

fn limits() -> Limits {
    Limits { max_stanza_bytes: 16 << 20, max_depth: 256, max_token_bytes: 16 << 20, ..Limits::default() }
}

/// A stored (or replicated) item payload parsed back; `None` when it is not well-formed XML.
pub(crate) fn parse_payload(payload: &str) -> Option<Element> {
    parse_document(payload.as_bytes(), limits()).ok()
}

pub(crate) fn to_stored_item(item: &Item) -> StoredItem {
    StoredItem {
        seq: item.seq,
        id: item.id.clone(),
        publisher: item.publisher.clone(),
        payload: item.payload.as_ref().map(|p| p.to_xml()).unwrap_or_default(),
        published_at_ms: item.published_at_ms,
    }
}

pub(crate) fn to_stored_sub(sub: &Subscription) -> StoredSubscription {
    StoredSubscription {
        subid: sub.subid.clone(),
        jid: sub.jid.clone(),
        state: sub.state.name().into(),
        options: SubscriptionOptions { deliver: sub.deliver },
    }
}

/// A subscription of `jid` (bare or full).
pub(crate) fn subscription(jid: &Jid, subid: String, state: SubState, deliver: bool) -> Subscription {
    Subscription {
        subid,
        jid: jid.to_string(),
        bare: jid.to_bare().to_string(),
        resource: jid.resource().map(|r| r.to_string()),
        state,
        deliver,
    }
}

pub(crate) fn node_from_stored(stored: StoredNode, default_max_items: usize) -> Node {
    let config = NodeConfig::deserialise(&stored.config, default_max_items);
    let affiliations = stored.affiliations.into_iter().filter_map(|(jid, a)| Some((jid, Affiliation::parse(&a)?))).collect();
    let subscriptions = stored
        .subscriptions
        .into_iter()
        .filter_map(|s| {
            let jid = Jid::new(&s.jid).ok()?;
            let state = if s.state == "pending" { SubState::Pending } else { SubState::Subscribed };
            Some(subscription(&jid, s.subid, state, s.options.deliver))
        })
        .collect();
    let items = stored
        .items
        .into_iter()
        .map(|i| Item {
            seq: i.seq,
            id: i.id,
            publisher: i.publisher,
            payload: (!i.payload.is_empty()).then(|| parse_payload(&i.payload).map(Arc::new)).flatten(),
            published_at_ms: i.published_at_ms,
        })
        .collect();
    Node { name: stored.name, config, affiliations, subscriptions, items, next_seq: stored.next_seq }
}
