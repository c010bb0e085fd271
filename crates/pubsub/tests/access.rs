//! Pubsub access that is taken away stays taken away (dropped subscriptions, persisted, the
//! holder told, delivery re-checked), hidden nodes, and the per-user caps, through the
//! in-process API.

use std::net::{IpAddr, Ipv4Addr};

use herald_core::{Core, CoreConfig, Origin, SessionHandle, Transport};
use herald_proto::{BareJid, Jid, StanzaError, ns};
use herald_pubsub::{AccessModel, Affiliation, ItemQuery, NodeConfig, PubSubConfig};
use herald_store::{
    AccountStore, AnyStore, MemoryStore, PubSubOp, PubSubStore, RosterItem, RosterStore, SqliteStore, StoredSubscription, Subscription,
    SubscriptionOptions,
};
use herald_xml::Element;

/// Where the test's sessions come from.
const LOCAL: Origin = Origin { transport: Transport::Tcp, source: IpAddr::V4(Ipv4Addr::LOCALHOST) };

const NODE: &str = "/finesse/api/User/1001";

async fn core_with(store: AnyStore, adjust: impl FnOnce(&mut PubSubConfig)) -> Core {
    let mut config = CoreConfig::new("example.com");
    adjust(&mut config.pubsub);
    Core::start(config, store).await.unwrap()
}

fn bare(s: &str) -> BareJid {
    BareJid::new(s).unwrap()
}

fn jid(s: &str) -> Jid {
    Jid::new(s).unwrap()
}

fn whitelist() -> Option<NodeConfig> {
    Some(NodeConfig { access_model: AccessModel::Whitelist, ..NodeConfig::with_max_items(10) })
}

/// What the session was sent, serialised as a client would see it.
fn received(s: &mut SessionHandle) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(el) = s.inbox.try_recv() {
        out.push(el.to_xml());
    }
    out
}

fn is_drop_notice(m: &str, node: &str, jid: &str) -> bool {
    m.contains("<event xmlns='http://jabber.org/protocol/pubsub#event'>")
        && m.contains(&format!("<subscription node='{node}' jid='{jid}'"))
        && m.contains("subscription='none'")
}

#[tokio::test]
async fn a_member_set_to_none_is_dropped_told_and_stays_dropped_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.db");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        let core = core_with(AnyStore::Sqlite(store.clone()), |_| {}).await;
        core.pubsub().create_node(None, Some(NODE), whitelist()).await.unwrap();
        core.pubsub().set_affiliation(None, NODE, &bare("1001@example.com"), Affiliation::Member).await.unwrap();
        let mut s = core.bind("1001", Some("desk".into()), LOCAL).unwrap();
        core.pubsub().subscribe(Some(&bare("1001@example.com")), NODE, &jid("1001@example.com/desk")).await.unwrap();
        core.pubsub().set_affiliation(None, NODE, &bare("1001@example.com"), Affiliation::None).await.unwrap();
        let got = received(&mut s);
        assert!(got.len() == 1 && is_drop_notice(&got[0], NODE, "1001@example.com/desk"), "{got:?}");
        core.pubsub().publish(None, NODE, Some("after".into()), None).await.unwrap();
        assert!(received(&mut s).is_empty(), "nothing after access was taken away");
        assert_eq!(core.pubsub().subscription_count(NODE), 0);
        store.close().await;
    }
    let core = core_with(AnyStore::Sqlite(SqliteStore::open(&path).await.unwrap()), |_| {}).await;
    assert_eq!(core.pubsub().subscription_count(NODE), 0, "the drop was stored");
}

/// A core started on a store holding `node` (with `config`, and `more` changes) and a
/// subscription of `1002@example.com/desk` as an older version could have stored it, with that
/// session bound.
async fn with_stored_subscription(node: &str, config: NodeConfig, more: Vec<PubSubOp>) -> (Core, SessionHandle) {
    let store = MemoryStore::new();
    let sub = StoredSubscription {
        subid: "old".into(),
        jid: "1002@example.com/desk".into(),
        state: "subscribed".into(),
        options: SubscriptionOptions::default(),
    };
    let mut ops = vec![PubSubOp::PutNode { name: node.into(), config: config.serialise() }];
    ops.extend(more);
    ops.push(PubSubOp::PutSubscription { node: node.into(), subscription: sub });
    store.pubsub_apply(&ops).await.unwrap();
    let core = core_with(AnyStore::Memory(store), |_| {}).await;
    let session = core.bind("1002", Some("desk".into()), LOCAL).unwrap();
    (core, session)
}

/// A subscription that no change dropped (here: one stored by an older version for a JID that
/// is not on the whitelist) still receives nothing: delivery checks access again.
#[tokio::test]
async fn delivery_checks_access_again_for_a_subscription_that_slipped_through() {
    let (core, mut s) = with_stored_subscription(NODE, whitelist().unwrap(), Vec::new()).await;
    core.pubsub().publish(None, NODE, None, None).await.unwrap();
    assert!(received(&mut s).is_empty());
    // Once on the whitelist, the same subscription delivers.
    core.pubsub().set_affiliation(None, NODE, &bare("1002@example.com"), Affiliation::Member).await.unwrap();
    core.pubsub().publish(None, NODE, None, None).await.unwrap();
    assert_eq!(received(&mut s).len(), 1);
}

/// The same for an outcast's subscription to an open node.
#[tokio::test]
async fn delivery_skips_an_outcast_on_an_open_node() {
    let outcast = PubSubOp::PutAffiliation { node: "open".into(), jid: "1002@example.com".into(), affiliation: "outcast".into() };
    let (core, mut s) = with_stored_subscription("open", NodeConfig::with_max_items(10), vec![outcast]).await;
    core.pubsub().publish(None, "open", None, None).await.unwrap();
    assert!(received(&mut s).is_empty());
}

#[tokio::test]
async fn an_access_model_change_drops_exactly_those_it_no_longer_admits() {
    let store = MemoryStore::new();
    for user in ["owner", "friend", "other", "member"] {
        store.create_user(user, &[]).await.unwrap();
    }
    let friend = RosterItem { contact: "friend@example.com".into(), subscription: Subscription::From, visible: true, ..Default::default() };
    store.put_roster_item("owner", &friend).await.unwrap();
    let core = core_with(AnyStore::Memory(store), |_| {}).await;
    let owner = bare("owner@example.com");
    core.pubsub().create_node(Some(&owner), Some("n"), None).await.unwrap();
    core.pubsub().set_affiliation(Some(&owner), "n", &bare("member@example.com"), Affiliation::Member).await.unwrap();
    let mut sessions = Vec::new();
    for user in ["friend", "other", "member"] {
        sessions.push(core.bind(user, Some("desk".into()), LOCAL).unwrap());
        core.pubsub().subscribe(Some(&bare(&format!("{user}@example.com"))), "n", &jid(&format!("{user}@example.com/desk"))).await.unwrap();
    }
    let presence = NodeConfig { access_model: AccessModel::Presence, ..core.pubsub().node_config(None, "n").unwrap() };
    core.pubsub().configure_node(Some(&owner), "n", presence).await.unwrap();
    let told: Vec<bool> = sessions.iter_mut().map(|s| received(s).iter().any(|m| m.contains("subscription='none'"))).collect();
    assert_eq!(told, [false, true, false], "only the non-contact loses access under presence");
    let whitelist = NodeConfig { access_model: AccessModel::Whitelist, ..core.pubsub().node_config(None, "n").unwrap() };
    core.pubsub().configure_node(Some(&owner), "n", whitelist).await.unwrap();
    let told: Vec<bool> = sessions.iter_mut().map(|s| received(s).iter().any(|m| m.contains("subscription='none'"))).collect();
    assert_eq!(told, [true, false, false], "then the contact, who is not a member");
    core.pubsub().publish(None, "n", None, None).await.unwrap();
    let delivered: Vec<usize> = sessions.iter_mut().map(|s| received(s).len()).collect();
    assert_eq!(delivered, [0, 0, 1]);
}

/// A presence node's reader loses access when the owner cancels the contact's presence
/// subscription: the subscription is dropped then, so delivery needs no roster query.
#[tokio::test]
async fn cancelling_a_presence_subscription_drops_the_contact_from_presence_nodes() {
    let store = MemoryStore::new();
    for user in ["owner", "friend"] {
        store.create_user(user, &[]).await.unwrap();
    }
    let friend = RosterItem { contact: "friend@example.com".into(), subscription: Subscription::From, visible: true, ..Default::default() };
    store.put_roster_item("owner", &friend).await.unwrap();
    let core = core_with(AnyStore::Memory(store), |_| {}).await;
    let owner = bare("owner@example.com");
    let presence = NodeConfig { access_model: AccessModel::Presence, ..NodeConfig::with_max_items(10) };
    core.pubsub().create_node(Some(&owner), Some("p"), Some(presence)).await.unwrap();
    let mut s = core.bind("friend", Some("desk".into()), LOCAL).unwrap();
    core.pubsub().subscribe(Some(&bare("friend@example.com")), "p", &jid("friend@example.com/desk")).await.unwrap();
    core.pubsub().publish(None, "p", None, None).await.unwrap();
    assert_eq!(received(&mut s).len(), 1);
    let o = core.bind("owner", Some("desk".into()), LOCAL).unwrap();
    let cancel = Element::new("presence", ns::CLIENT).with_attr("type", "unsubscribed").with_attr("to", "friend@example.com");
    core.route(&o.jid.clone(), o.id, cancel).await;
    let got = received(&mut s);
    assert!(got.iter().any(|m| is_drop_notice(m, "p", "friend@example.com/desk")), "{got:?}");
    core.pubsub().publish(None, "p", Some("after".into()), None).await.unwrap();
    assert!(!received(&mut s).iter().any(|m| m.contains("'after'")));
    assert_eq!(core.pubsub().subscription_count("p"), 0);
}

#[tokio::test]
async fn hidden_nodes_answer_like_missing_ones() {
    let core = core_with(AnyStore::Memory(MemoryStore::new()), |_| {}).await;
    core.pubsub().create_node(None, Some(NODE), whitelist()).await.unwrap();
    let outsider = bare("1002@example.com");
    for node in [NODE, "missing"] {
        let errors = [
            core.pubsub().subscribe(Some(&outsider), node, &jid("1002@example.com")).await.map_err(StanzaError::from).unwrap_err(),
            core.pubsub().items(Some(&outsider), node, ItemQuery::Latest(None)).await.map_err(StanzaError::from).unwrap_err(),
            core.pubsub().publish(Some(&outsider), node, None, None).await.map_err(StanzaError::from).unwrap_err(),
            core.pubsub().node_config(Some(&outsider), node).map_err(StanzaError::from).unwrap_err(),
            core.pubsub().unsubscribe(Some(&outsider), node, &jid("1002@example.com"), None).await.map_err(StanzaError::from).unwrap_err(),
        ];
        for e in errors {
            assert_eq!(
                (e.condition, e.text.as_deref(), e.app_condition.is_none()),
                ("item-not-found", Some("no such node"), true),
                "{node}"
            );
        }
    }
    // Nor are hidden nodes listed: whitelist and presence alike.
    let presence = NodeConfig { access_model: AccessModel::Presence, ..NodeConfig::with_max_items(10) };
    core.pubsub().create_node(None, Some("presence"), Some(presence)).await.unwrap();
    assert!(core.pubsub().visible_nodes(Some(&outsider)).is_empty());
    assert_eq!(core.pubsub().visible_nodes(None).len(), 2);
    // An outcast of an open node is refused, not lied to: the node is public.
    core.pubsub().create_node(None, Some("open"), None).await.unwrap();
    core.pubsub().set_affiliation(None, "open", &outsider, Affiliation::Outcast).await.unwrap();
    assert_eq!(
        core.pubsub().subscribe(Some(&outsider), "open", &jid("1002@example.com")).await.map_err(StanzaError::from).unwrap_err().condition,
        "forbidden"
    );
}

#[tokio::test]
async fn caps_on_names_ids_nodes_per_owner_and_subscriptions_per_jid() {
    let core = core_with(AnyStore::Memory(MemoryStore::new()), |c| {
        c.max_nodes_per_owner = 2;
        c.max_subscriptions_per_jid = 2;
        c.max_node_name_bytes = 32;
        c.max_item_id_bytes = 8;
    })
    .await;
    let alice = bare("alice@example.com");
    assert_eq!(
        core.pubsub().create_node(Some(&alice), Some(&"n".repeat(33)), None).await.map_err(StanzaError::from).unwrap_err().condition,
        "not-acceptable"
    );
    assert_eq!(
        core.pubsub()
            .create_node(Some(&alice), Some("/finesse/api/User/bob"), None)
            .await
            .map_err(StanzaError::from)
            .unwrap_err()
            .condition,
        "forbidden"
    );
    core.pubsub().create_node(None, Some("/finesse/api/User/bob"), None).await.unwrap();
    core.pubsub().create_node(Some(&alice), Some("a1"), None).await.unwrap();
    core.pubsub().create_node(Some(&alice), Some("a2"), None).await.unwrap();
    assert_eq!(
        core.pubsub().create_node(Some(&alice), Some("a3"), None).await.map_err(StanzaError::from).unwrap_err().condition,
        "not-allowed"
    );
    // Ownership may not be pushed past the cap either; deleting a node frees a place.
    let bob = bare("bob@example.com");
    core.pubsub().create_node(Some(&bob), Some("b1"), None).await.unwrap();
    assert_eq!(
        core.pubsub().set_affiliation(Some(&bob), "b1", &alice, Affiliation::Owner).await.map_err(StanzaError::from).unwrap_err().condition,
        "not-allowed"
    );
    core.pubsub().delete_node(Some(&alice), "a2").await.unwrap();
    core.pubsub().create_node(Some(&alice), Some("a3"), None).await.unwrap();
    assert_eq!(
        core.pubsub().publish(Some(&alice), "a1", Some("123456789".into()), None).await.map_err(StanzaError::from).unwrap_err().condition,
        "not-acceptable"
    );
    core.pubsub().publish(Some(&alice), "a1", Some("12345678".into()), None).await.unwrap();
    // Subscriptions: two over all nodes and resources, the third refused; unsubscribing frees one.
    core.pubsub().subscribe(Some(&bob), "a1", &jid("bob@example.com/one")).await.unwrap();
    core.pubsub().subscribe(Some(&bob), "a3", &jid("bob@example.com/two")).await.unwrap();
    let e = core.pubsub().subscribe(Some(&bob), "a1", &jid("bob@example.com/three")).await.map_err(StanzaError::from).unwrap_err();
    assert_eq!((e.condition, e.app_condition.map(|a| a.name)), ("not-allowed", Some("too-many-subscriptions".into())));
    core.pubsub().unsubscribe(Some(&bob), "a3", &jid("bob@example.com/two"), None).await.unwrap();
    core.pubsub().subscribe(Some(&bob), "a1", &jid("bob@example.com/three")).await.unwrap();
    // The server's own requests are not capped.
    core.pubsub().subscribe(None, "a3", &jid("bob@example.com/four")).await.unwrap();
}
