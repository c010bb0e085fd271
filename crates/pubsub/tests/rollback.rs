//! A commit that fails leaves nothing behind: with a store that fails on demand, every changing
//! operation answers with an error (internal-server-error, type wait, over XMPP), the failed
//! change is not visible afterwards (not served by `items`, not delivered, not stored), and the
//! next operation, once the store works again, succeeds.

mod common;

use std::sync::Arc;

use common::{Delivered, FailingStore, NoRosters};
use herald_proto::{BareJid, FullJid, Jid, StanzaError, StanzaErrorType};
use herald_pubsub::{AccessModel, Affiliation, ItemQuery, NodeConfig, NodeStore, PubSub, PubSubConfig, PubSubError, SubState};
use herald_store::StoredNode;
use herald_xml::Element;

const NODE: &str = "/desk/api/User/1001";

struct Fixture {
    store: Arc<FailingStore>,
    delivered: Arc<Delivered>,
    pubsub: PubSub,
}

impl Fixture {
    async fn new() -> Self {
        let store = Arc::new(FailingStore::default());
        let delivered = Arc::new(Delivered::default());
        let pubsub = PubSub::start("example.com", PubSubConfig::default(), store.clone(), delivered.clone(), Arc::new(NoRosters), None)
            .await
            .unwrap();
        Self { store, delivered, pubsub }
    }

    fn fail(&self, on: bool) {
        self.store.fail(on);
    }

    fn delivered(&self) -> Vec<String> {
        self.delivered.take()
    }

    /// Item ids served now, oldest first.
    async fn ids(&self) -> Vec<String> {
        self.pubsub.items(None, NODE, ItemQuery::Latest(None)).await.unwrap().items.into_iter().map(|i| i.id).collect()
    }

    /// What a restart would load: the stored node, if any.
    async fn stored(&self) -> Option<StoredNode> {
        NodeStore::load(&self.store.inner).await.unwrap().into_iter().find(|n| n.name == NODE)
    }

    /// A node with items a, b and one subscriber.
    async fn with_items(&self) {
        self.pubsub.create_node(None, Some(NODE), Some(NodeConfig::with_max_items(3))).await.unwrap();
        self.pubsub.subscribe(None, NODE, &jid("1001@example.com/desk")).await.unwrap();
        for id in ["a", "b"] {
            self.pubsub.publish(None, NODE, Some(id.into()), None).await.unwrap();
        }
        self.delivered();
    }
}

fn jid(s: &str) -> Jid {
    Jid::new(s).unwrap()
}

/// The error is the storage failure, and XMPP clients get internal-server-error, type wait.
fn assert_storage_failure<T: std::fmt::Debug>(result: Result<T, PubSubError>) {
    let e = result.unwrap_err();
    assert!(matches!(e, PubSubError::Storage(_)), "{e:?}");
    let stanza = StanzaError::from(e);
    assert_eq!((stanza.condition, stanza.kind), ("internal-server-error", StanzaErrorType::Wait));
}

#[tokio::test]
async fn failed_create_leaves_no_node() {
    let f = Fixture::new().await;
    let owner = BareJid::new("alice@example.com").unwrap();
    f.fail(true);
    assert_storage_failure(f.pubsub.create_node(Some(&owner), Some(NODE), None).await);
    assert!(!f.pubsub.node_exists(NODE));
    assert!(f.pubsub.affiliations_of(&owner, None).is_empty(), "the owner count is back too");
    assert!(matches!(f.pubsub.items(None, NODE, ItemQuery::Latest(None)).await, Err(PubSubError::NodeNotFound)));
    f.fail(false);
    f.pubsub.create_node(Some(&owner), Some(NODE), None).await.unwrap();
    assert_eq!(f.pubsub.affiliations_of(&owner, None), vec![(NODE.to_owned(), Affiliation::Owner)]);
    assert!(f.stored().await.is_some());
}

#[tokio::test]
async fn failed_publish_is_not_served_delivered_or_stored() {
    let f = Fixture::new().await;
    f.with_items().await;
    f.fail(true);
    // A new item, and a replacement of an existing id.
    assert_storage_failure(f.pubsub.publish(None, NODE, Some("c".into()), None).await);
    assert_storage_failure(f.pubsub.publish(None, NODE, Some("a".into()), None).await);
    assert_eq!(f.ids().await, ["a", "b"]);
    assert!(f.delivered().is_empty(), "nothing never stored is delivered");
    f.fail(false);
    let id = f.pubsub.publish(None, NODE, Some("c".into()), None).await.unwrap();
    assert_eq!(id, "c");
    assert_eq!(f.ids().await, ["a", "b", "c"]);
    assert_eq!(f.delivered().len(), 1);
    let stored: Vec<String> = f.stored().await.unwrap().items.into_iter().map(|i| i.id).collect();
    assert_eq!(stored, ["a", "b", "c"]);
}

#[tokio::test]
async fn failed_publish_that_trimmed_the_history_puts_it_back() {
    let f = Fixture::new().await;
    f.with_items().await;
    f.pubsub.publish(None, NODE, Some("c".into()), None).await.unwrap();
    f.fail(true);
    assert_storage_failure(f.pubsub.publish(None, NODE, Some("d".into()), None).await);
    assert_eq!(f.ids().await, ["a", "b", "c"], "the item pushed out is back, in its place");
    f.fail(false);
    f.pubsub.publish(None, NODE, Some("d".into()), None).await.unwrap();
    assert_eq!(f.ids().await, ["b", "c", "d"]);
}

#[tokio::test]
async fn failed_retract_and_purge_keep_the_items() {
    let f = Fixture::new().await;
    f.with_items().await;
    f.fail(true);
    assert_storage_failure(f.pubsub.retract(None, NODE, "a", true).await);
    assert_storage_failure(f.pubsub.purge_node(None, NODE).await);
    assert_eq!(f.ids().await, ["a", "b"]);
    assert!(f.delivered().is_empty());
    f.fail(false);
    f.pubsub.retract(None, NODE, "a", true).await.unwrap();
    assert_eq!(f.ids().await, ["b"]);
    f.pubsub.purge_node(None, NODE).await.unwrap();
    assert!(f.ids().await.is_empty());
    assert!(f.stored().await.unwrap().items.is_empty());
}

#[tokio::test]
async fn failed_configure_keeps_config_items_and_subscriptions() {
    let f = Fixture::new().await;
    f.with_items().await;
    let before = f.pubsub.node_config(None, NODE).unwrap();
    let whitelist = NodeConfig { access_model: AccessModel::Whitelist, max_items: 1, ..before.clone() };
    f.fail(true);
    assert_storage_failure(f.pubsub.configure_node(None, NODE, whitelist.clone()).await);
    assert_eq!(f.pubsub.node_config(None, NODE).unwrap(), before);
    assert_eq!(f.ids().await, ["a", "b"], "trimmed items are back");
    assert_eq!(f.pubsub.subscription_count(NODE), 1, "the subscription whitelisting dropped is back");
    f.fail(false);
    f.pubsub.configure_node(None, NODE, whitelist.clone()).await.unwrap();
    assert_eq!((f.pubsub.node_config(None, NODE).unwrap(), f.ids().await), (whitelist, vec!["b".to_owned()]));
    assert_eq!(f.pubsub.subscription_count(NODE), 0);
}

#[tokio::test]
async fn failed_delete_keeps_the_node_with_everything_in_it() {
    let f = Fixture::new().await;
    f.with_items().await;
    f.fail(true);
    assert_storage_failure(f.pubsub.delete_node(None, NODE).await);
    assert_eq!(f.ids().await, ["a", "b"]);
    assert_eq!(f.pubsub.subscription_count(NODE), 1);
    assert!(f.delivered().is_empty(), "subscribers are not told of a deletion that did not happen");
    f.fail(false);
    f.pubsub.delete_node(None, NODE).await.unwrap();
    assert!(!f.pubsub.node_exists(NODE) && f.stored().await.is_none());
}

#[tokio::test]
async fn failed_subscription_changes_are_undone() {
    let f = Fixture::new().await;
    f.with_items().await;
    let member = BareJid::new("1002@example.com").unwrap();
    f.fail(true);
    assert_storage_failure(f.pubsub.subscribe(None, NODE, &jid("1002@example.com/desk")).await);
    assert_eq!(f.pubsub.subscription_count(NODE), 1);
    assert!(f.delivered().is_empty(), "no last item for a subscription that was not stored");
    assert_storage_failure(f.pubsub.unsubscribe(None, NODE, &jid("1001@example.com/desk"), None).await);
    assert_storage_failure(f.pubsub.subscription_deliver(None, NODE, &jid("1001@example.com/desk"), None, Some(false)).await);
    assert_storage_failure(f.pubsub.set_subscription(None, NODE, &jid("1001@example.com/desk"), None, Some(SubState::Pending)).await);
    assert_storage_failure(f.pubsub.set_affiliation(None, NODE, &member, Affiliation::Outcast).await);
    let subs = f.pubsub.node_subscriptions(None, NODE).unwrap();
    assert_eq!((subs.len(), subs[0].2), (1, SubState::Subscribed));
    assert!(f.pubsub.subscription_deliver(None, NODE, &jid("1001@example.com/desk"), None, None).await.unwrap().1);
    assert!(f.pubsub.affiliations(None, NODE).unwrap().is_empty());
    f.fail(false);
    f.pubsub.subscribe(None, NODE, &jid("1002@example.com/desk")).await.unwrap();
    f.pubsub.unsubscribe(None, NODE, &jid("1001@example.com/desk"), None).await.unwrap();
    assert_eq!(f.pubsub.subscription_count(NODE), 1);
    assert_eq!(f.stored().await.unwrap().subscriptions.len(), 1);
}

#[tokio::test]
async fn a_client_publishing_over_xmpp_gets_a_wait_error_and_no_item() {
    let f = Fixture::new().await;
    f.with_items().await;
    f.pubsub.set_affiliation(None, NODE, &BareJid::new("pub@example.com").unwrap(), Affiliation::Publisher).await.unwrap();
    let publisher = FullJid::new("pub@example.com/desk").unwrap();
    let iq = |id: &str| {
        Element::new("iq", "jabber:client")
            .with_attr("type", "set")
            .with_attr("id", id)
            .with_attr("from", publisher.to_string())
            .with_attr("to", "pubsub.example.com")
            .with_child(
                Element::new("pubsub", herald_pubsub::ns::PUBSUB).with_child(
                    Element::new("publish", herald_pubsub::ns::PUBSUB)
                        .with_attr("node", NODE)
                        .with_child(Element::new("item", herald_pubsub::ns::PUBSUB).with_attr("id", "x")),
                ),
            )
    };
    f.fail(true);
    let reply = f.pubsub.handle_iq(&publisher, &iq("1")).await.unwrap().to_xml();
    assert!(reply.contains("type='error'") && reply.contains("<internal-server-error") && reply.contains("type='wait'"), "{reply}");
    assert_eq!(f.ids().await, ["a", "b"]);
    f.fail(false);
    let reply = f.pubsub.handle_iq(&publisher, &iq("2")).await.unwrap().to_xml();
    assert!(reply.contains("type='result'"), "{reply}");
    assert_eq!(f.ids().await, ["a", "b", "x"]);
}
