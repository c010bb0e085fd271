//! Replication between two nodes of a cluster: two `PubSub` services over one shared store, each
//! one's replicator feeding the other's `apply_replicated` through the wire form, as the bus
//! does. A change made on one node reaches the other's memory and its subscribers once, in
//! commit order; a rolled-back change never leaves its node; applying a batch again changes
//! nothing.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use common::{Delivered, FailingStore, NoRosters};
use herald_proto::{BareJid, Jid};
use herald_pubsub::{
    AccessModel, Affiliation, ItemQuery, NodeConfig, PubSub, PubSubConfig, Replicated, Replicator, SubState, Target, WireNotification,
};
use herald_store::{PubSubOp, StoredItem};
use herald_xml::Element;
use proptest::prelude::*;

const NODE: &str = "/desk/api/User/1001";

/// Sends every committed batch through its wire form to the peer, and keeps the wire bytes.
#[derive(Default)]
struct Link {
    peer: OnceLock<PubSub>,
    sent: Mutex<Vec<Vec<u8>>>,
    batches: AtomicUsize,
}

impl Replicator for Link {
    fn committed(&self, batch: Replicated) {
        self.batches.fetch_add(1, Ordering::SeqCst);
        let wire = batch.encode();
        if let Some(peer) = self.peer.get() {
            peer.apply_replicated(Replicated::decode(&wire).expect("a batch reads back"));
        }
        self.sent.lock().unwrap().push(wire);
    }
}

/// One node: its service, what it delivered to its sessions, and its link to the other node.
struct Node {
    pubsub: PubSub,
    delivered: Arc<Delivered>,
    link: Arc<Link>,
}

impl Node {
    async fn start(store: &Arc<FailingStore>) -> Self {
        let delivered = Arc::new(Delivered::default());
        let link = Arc::new(Link::default());
        let replicator: Arc<dyn Replicator> = link.clone();
        let pubsub =
            PubSub::start("example.com", PubSubConfig::default(), store.clone(), delivered.clone(), Arc::new(NoRosters), Some(replicator))
                .await
                .unwrap();
        Self { pubsub, delivered, link }
    }

    fn batches(&self) -> usize {
        self.link.batches.load(Ordering::SeqCst)
    }
}

/// Two nodes over one store, each replicating to the other.
struct Cluster {
    store: Arc<FailingStore>,
    a: Node,
    b: Node,
}

impl Cluster {
    async fn new() -> Self {
        let store = Arc::new(FailingStore::default());
        let (a, b) = (Node::start(&store).await, Node::start(&store).await);
        a.link.peer.set(b.pubsub.clone()).ok();
        b.link.peer.set(a.pubsub.clone()).ok();
        Self { store, a, b }
    }

    /// A service started now from the store: what a node joining later (or restarting) holds.
    async fn late_node(&self) -> PubSub {
        PubSub::start("example.com", PubSubConfig::default(), self.store.clone(), Arc::new(Delivered::default()), Arc::new(NoRosters), None)
            .await
            .unwrap()
    }
}

fn jid(s: &str) -> Jid {
    Jid::new(s).unwrap()
}

fn payload(text: &str) -> Element {
    Element::new("update", "urn:test").with_text(text.to_owned())
}

/// One item as the public API serves it, comparable.
type ItemView = (u64, String, String, Option<String>);

/// One node as the public API shows it.
type NodeView = (String, NodeConfig, Vec<(String, Affiliation)>, Vec<(String, String, SubState)>, Vec<ItemView>);

/// Everything a service holds, through its public API, nodes sorted by name.
async fn view(pubsub: &PubSub) -> Vec<NodeView> {
    let mut out = Vec::new();
    for (name, _) in pubsub.visible_nodes(None) {
        let items = pubsub.items(None, &name, ItemQuery::Latest(None)).await.unwrap().items;
        out.push((
            name.clone(),
            pubsub.node_config(None, &name).unwrap(),
            pubsub.affiliations(None, &name).unwrap(),
            pubsub.node_subscriptions(None, &name).unwrap(),
            items.into_iter().map(|i| (i.seq, i.id, i.publisher, i.payload.map(|p| p.to_xml()))).collect(),
        ));
    }
    out
}

async fn item_ids(pubsub: &PubSub, query: ItemQuery) -> Vec<String> {
    pubsub.items(None, NODE, query).await.unwrap().items.into_iter().map(|i| i.id).collect()
}

#[tokio::test]
async fn a_node_and_a_subscription_made_on_a_are_known_on_b() {
    let c = Cluster::new().await;
    let owner = BareJid::new("admin@example.com").unwrap();
    c.a.pubsub.create_node(Some(&owner), Some(NODE), None).await.unwrap();
    let outcome = c.a.pubsub.subscribe(None, NODE, &jid("1001@example.com/desk")).await.unwrap();
    assert!(c.b.pubsub.node_exists(NODE));
    assert_eq!(c.b.pubsub.affiliations_of(&owner, None), vec![(NODE.to_owned(), Affiliation::Owner)]);
    let agent = BareJid::new("1001@example.com").unwrap();
    assert_eq!(c.b.pubsub.subscriptions_of(&agent, None), c.a.pubsub.subscriptions_of(&agent, None));
    assert_eq!(c.b.pubsub.subscriptions_of(&agent, None)[0].2, outcome.subid);
    assert_eq!(view(&c.b.pubsub).await, view(&c.a.pubsub).await);
    assert_eq!(c.b.batches(), 0, "what B applied is not replicated again");
}

#[tokio::test]
async fn a_thousand_publishes_on_a_reach_b_once_in_order() {
    let c = Cluster::new().await;
    c.a.pubsub.create_node(None, Some(NODE), Some(NodeConfig::with_max_items(2000))).await.unwrap();
    c.a.pubsub.subscribe(None, NODE, &jid("1001@example.com")).await.unwrap();
    // Queued one after another: the writer commits them in shared batches.
    let mut pending = Vec::new();
    for n in 0..1000 {
        pending.push(c.a.pubsub.publish_queued(None, NODE, None, Some(payload(&n.to_string()))).unwrap());
    }
    let mut ids = Vec::new();
    for (id, committing) in pending {
        committing.wait().await.unwrap();
        ids.push(id);
    }
    let on_a = c.a.delivered.take();
    let on_b = c.b.delivered.take();
    assert_eq!(on_a.len(), 1000);
    assert_eq!(on_b, on_a, "every notification once, in publish order");
    assert!(c.a.batches() < 1000, "batches are replicated whole, not per publish: {}", c.a.batches());
    // Catch-up on B equals A's, from the start and from the middle.
    assert_eq!(item_ids(&c.b.pubsub, ItemQuery::Latest(None)).await, ids);
    let after = ItemQuery::After(ids[499].clone(), Some(100));
    assert_eq!(item_ids(&c.b.pubsub, after.clone()).await, item_ids(&c.a.pubsub, after).await);
    assert_eq!(view(&c.b.pubsub).await, view(&c.a.pubsub).await);
}

#[tokio::test]
async fn retract_purge_and_delete_node_replicate() {
    let c = Cluster::new().await;
    c.a.pubsub.create_node(None, Some(NODE), Some(NodeConfig::with_max_items(3))).await.unwrap();
    c.a.pubsub.subscribe(None, NODE, &jid("1001@example.com/desk")).await.unwrap();
    for id in ["a", "b", "c", "d"] {
        c.a.pubsub.publish(None, NODE, Some(id.into()), Some(payload(id))).await.unwrap();
    }
    assert_eq!(item_ids(&c.b.pubsub, ItemQuery::Latest(None)).await, ["b", "c", "d"], "trimmed to max_items as on A");
    c.a.pubsub.retract(None, NODE, "c", true).await.unwrap();
    assert_eq!(item_ids(&c.b.pubsub, ItemQuery::Latest(None)).await, ["b", "d"]);
    c.a.pubsub.publish(None, NODE, Some("b".into()), None).await.unwrap();
    assert_eq!(item_ids(&c.b.pubsub, ItemQuery::Latest(None)).await, ["d", "b"], "a republished id is the newest");
    assert_eq!(view(&c.b.pubsub).await, view(&c.a.pubsub).await);
    c.a.pubsub.purge_node(None, NODE).await.unwrap();
    assert!(item_ids(&c.b.pubsub, ItemQuery::Latest(None)).await.is_empty());
    c.a.pubsub.delete_node(None, NODE).await.unwrap();
    assert!(!c.b.pubsub.node_exists(NODE));
    let on_b = c.b.delivered.take();
    assert_eq!(on_b, c.a.delivered.take());
    assert!(on_b.iter().any(|id| id == "retract-c") && on_b.iter().any(|id| id.starts_with("delete-")), "{on_b:?}");
}

#[tokio::test]
async fn a_rolled_back_batch_is_not_replicated() {
    let c = Cluster::new().await;
    c.a.pubsub.create_node(None, Some(NODE), None).await.unwrap();
    c.a.pubsub.subscribe(None, NODE, &jid("1001@example.com")).await.unwrap();
    let before = c.a.batches();
    c.store.fail(true);
    assert!(c.a.pubsub.publish(None, NODE, Some("lost".into()), None).await.is_err());
    assert!(c.a.pubsub.subscribe(None, NODE, &jid("1002@example.com")).await.is_err());
    assert_eq!(c.a.batches(), before, "nothing rolled back leaves the node");
    assert!(c.b.delivered.take().is_empty());
    assert_eq!(view(&c.b.pubsub).await, view(&c.a.pubsub).await);
    c.store.fail(false);
    c.a.pubsub.publish(None, NODE, Some("kept".into()), None).await.unwrap();
    assert_eq!(item_ids(&c.b.pubsub, ItemQuery::Latest(None)).await, ["kept"]);
    assert_eq!(c.b.delivered.take(), c.a.delivered.take());
}

#[tokio::test]
async fn applying_batches_again_changes_nothing() {
    let c = Cluster::new().await;
    let owner = BareJid::new("admin@example.com").unwrap();
    c.a.pubsub.create_node(Some(&owner), Some(NODE), Some(NodeConfig::with_max_items(2))).await.unwrap();
    c.a.pubsub.subscribe(None, NODE, &jid("1001@example.com/desk")).await.unwrap();
    for id in ["a", "b", "c", "a"] {
        c.a.pubsub.publish(None, NODE, Some(id.into()), None).await.unwrap();
    }
    c.a.pubsub.set_affiliation(None, NODE, &BareJid::new("1002@example.com").unwrap(), Affiliation::Member).await.unwrap();
    let expected = view(&c.a.pubsub).await;
    assert_eq!(view(&c.b.pubsub).await, expected);
    let sent: Vec<Replicated> = c.a.link.sent.lock().unwrap().iter().map(|w| Replicated::decode(w).unwrap()).collect();
    // On B, which applied them already; and on a node that loaded the store after all of them
    // (the batches still in its inbox when it starts reading). Each one alone changes nothing,
    // even an early one whose item was replaced ("a") or trimmed ("b") since.
    let late = c.late_node().await;
    assert_eq!(view(&late).await, expected);
    for batch in &sent {
        c.b.pubsub.apply_replicated(batch.clone());
        late.apply_replicated(batch.clone());
        assert_eq!(view(&c.b.pubsub).await, expected, "after {batch:?}");
        assert_eq!(view(&late).await, expected, "after {batch:?}");
    }
    assert_eq!(c.b.pubsub.subscription_count(NODE), 1, "no subscription twice");
}

#[tokio::test]
async fn b_publishing_after_a_does_not_reuse_its_ids() {
    let c = Cluster::new().await;
    c.a.pubsub.create_node(None, Some(NODE), None).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(c.a.pubsub.publish(None, NODE, None, None).await.unwrap());
    }
    let on_b = c.b.pubsub.publish(None, NODE, None, None).await.unwrap();
    assert!(!ids.contains(&on_b), "{on_b} is one of A's {ids:?}");
    ids.push(on_b);
    ids.push(c.a.pubsub.publish(None, NODE, None, None).await.unwrap());
    assert_eq!(item_ids(&c.a.pubsub, ItemQuery::Latest(None)).await, ids);
    assert_eq!(item_ids(&c.b.pubsub, ItemQuery::Latest(None)).await, ids);
    assert_eq!(view(&c.late_node().await).await, view(&c.a.pubsub).await, "the store holds what both serve");
}

#[tokio::test]
async fn a_bad_op_is_skipped_and_the_rest_applied() {
    let c = Cluster::new().await;
    c.a.pubsub.create_node(None, Some(NODE), None).await.unwrap();
    let item = |id: &str, seq: u64, payload: &str| StoredItem { seq, id: id.into(), payload: payload.into(), ..StoredItem::default() };
    let target = Target { bare: "1001@example.com".into(), resource: None, subid: None };
    c.b.pubsub.apply_replicated(Replicated {
        ops: vec![
            PubSubOp::PutItem { node: "/nowhere".into(), item: item("x", 0, ""), keep: None },
            PubSubOp::PutItem { node: NODE.into(), item: item("bad", 1, "<unclosed"), keep: None },
            PubSubOp::PutAffiliation { node: NODE.into(), jid: "1001@example.com".into(), affiliation: "emperor".into() },
            PubSubOp::PutItem { node: NODE.into(), item: item("good", 2, "<ok xmlns='urn:test'/>"), keep: None },
        ],
        notifications: vec![WireNotification { targets: vec![target], event: "<event/>".into(), id: "n1".into(), published_ms: 0 }],
    });
    assert_eq!(item_ids(&c.b.pubsub, ItemQuery::Latest(None)).await, ["good"]);
    let stats = c.b.pubsub.replication_stats();
    assert_eq!((stats.ops, stats.skipped), (2, 3), "the node's creation and the good item; three skipped");
    assert_eq!(c.b.delivered.take(), ["n1"]);
    let next = c.b.pubsub.publish(None, NODE, None, None).await.unwrap();
    assert_eq!(next, format!("{:016x}", 3), "numbers continue past the replicated item's");
}

#[test]
fn a_damaged_batch_is_an_error() {
    assert!(Replicated::decode(b"{\"ops\":[{\"Teleport\":{}}]}").is_err());
    assert!(Replicated::decode(b"").is_err());
    assert!(Replicated::decode(&Replicated::default().encode()).unwrap().is_empty());
}

/// A change a test makes on node A.
#[derive(Clone, Debug)]
enum Change {
    Create(usize),
    Delete(usize),
    Publish(usize, Option<usize>, bool),
    Retract(usize, usize),
    Purge(usize),
    Subscribe(usize, usize, bool),
    Unsubscribe(usize, usize),
    Configure(usize, usize, bool),
    Affiliate(usize, usize, usize),
    StoreFails(bool),
}

fn change() -> impl Strategy<Value = Change> {
    let n = 0..3usize;
    prop_oneof![
        n.clone().prop_map(Change::Create),
        n.clone().prop_map(Change::Delete),
        (n.clone(), proptest::option::of(0..4usize), any::<bool>()).prop_map(|(n, id, p)| Change::Publish(n, id, p)),
        (n.clone(), 0..4usize).prop_map(|(n, id)| Change::Retract(n, id)),
        n.clone().prop_map(Change::Purge),
        (n.clone(), 0..3usize, any::<bool>()).prop_map(|(n, u, full)| Change::Subscribe(n, u, full)),
        (n.clone(), 0..3usize).prop_map(|(n, u)| Change::Unsubscribe(n, u)),
        (n.clone(), 1..5usize, any::<bool>()).prop_map(|(n, max, w)| Change::Configure(n, max, w)),
        (n, 0..3usize, 0..4usize).prop_map(|(n, u, a)| Change::Affiliate(n, u, a)),
        any::<bool>().prop_map(Change::StoreFails),
    ]
}

/// Makes `change` on `pubsub`; refusals (no such node, store failing) are part of the game.
async fn make(pubsub: &PubSub, store: &FailingStore, change: Change) {
    let node = |n: usize| format!("/node/{n}");
    let user = |u: usize| format!("{}@example.com", 1001 + u);
    let _ = match change {
        Change::Create(n) => pubsub.create_node(None, Some(&node(n)), None).await.map(drop),
        Change::Delete(n) => pubsub.delete_node(None, &node(n)).await,
        Change::Publish(n, id, with_payload) => {
            pubsub.publish(None, &node(n), id.map(|i| format!("i{i}")), with_payload.then(|| payload("p"))).await.map(drop)
        }
        Change::Retract(n, id) => pubsub.retract(None, &node(n), &format!("i{id}"), true).await,
        Change::Purge(n) => pubsub.purge_node(None, &node(n)).await,
        Change::Subscribe(n, u, full) => {
            let who = if full { format!("{}/desk", user(u)) } else { user(u) };
            pubsub.subscribe(None, &node(n), &jid(&who)).await.map(drop)
        }
        Change::Unsubscribe(n, u) => pubsub.set_subscription(None, &node(n), &jid(&user(u)), None, None).await,
        Change::Configure(n, max_items, whitelist) => match pubsub.node_config(None, &node(n)) {
            Ok(mut config) => {
                config.max_items = max_items;
                config.access_model = if whitelist { AccessModel::Whitelist } else { AccessModel::Open };
                pubsub.configure_node(None, &node(n), config).await
            }
            Err(e) => Err(e),
        },
        Change::Affiliate(n, u, a) => {
            let affiliation = [Affiliation::None, Affiliation::Member, Affiliation::Publisher, Affiliation::Outcast][a];
            pubsub.set_affiliation(None, &node(n), &BareJid::new(&user(u)).unwrap(), affiliation).await
        }
        Change::StoreFails(on) => {
            store.fail(on);
            Ok(())
        }
    };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever A does, B's memory ends equal to A's, and so does the store's content.
    #[test]
    fn b_follows_a(changes in proptest::collection::vec(change(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let c = Cluster::new().await;
            for change in changes {
                make(&c.a.pubsub, &c.store, change).await;
            }
            c.store.fail(false);
            let on_a = view(&c.a.pubsub).await;
            assert_eq!(view(&c.b.pubsub).await, on_a);
            assert_eq!(view(&c.late_node().await).await, on_a);
            assert_eq!(c.b.delivered.take(), c.a.delivered.take());
        });
    }
}
