//! The publish-subscribe service through its in-process API (the one the contact-center layer
//! uses, and the same code the XMPP requests reach): access control, fan-out, catch-up and
//! persistence across a restart.

use std::net::{IpAddr, Ipv4Addr};

use herald_core::{Core, CoreConfig, Origin, SessionHandle, Transport};
use herald_proto::{BareJid, Jid, StanzaError, ns};
use herald_pubsub::{AccessModel, Affiliation, ItemQuery, NodeConfig, PublishModel, SubState};
use herald_store::{AccountStore, AnyStore, MemoryStore, RosterStore, SqliteStore};
use herald_xml::Element;

/// Where the test's sessions come from.
const LOCAL: Origin = Origin { transport: Transport::Tcp, source: IpAddr::V4(Ipv4Addr::LOCALHOST) };

const NODE: &str = "/finesse/api/User/1001";

async fn core(store: AnyStore) -> Core {
    Core::start(CoreConfig::new("example.com"), store).await.unwrap()
}

fn bare(s: &str) -> BareJid {
    BareJid::new(s).unwrap()
}

fn jid(s: &str) -> Jid {
    Jid::new(s).unwrap()
}

fn user_payload(state: &str) -> Element {
    Element::new("notification", "http://jabber.org/protocol/pubsub")
        .with_text(format!("<Update><data><user><state>{state}</state></user></data></Update>"))
}

fn events(s: &mut SessionHandle) -> Vec<Element> {
    let mut out = Vec::new();
    while let Some(el) = s.inbox.try_recv() {
        out.push(*el);
    }
    out
}

/// Serialises what a client would receive, so that shared pre-serialised payloads count too.
fn wire(els: &[Element]) -> Vec<String> {
    els.iter().map(|e| e.to_xml()).collect()
}

fn condition(err: &StanzaError) -> (&'static str, Option<String>) {
    (err.condition, err.app_condition.as_ref().map(|a| a.name.clone()))
}

async fn whitelisted(core: &Core) {
    let config = NodeConfig { access_model: AccessModel::Whitelist, ..NodeConfig::with_max_items(100) };
    core.pubsub().create_node(None, Some(NODE), Some(config)).await.unwrap();
    core.pubsub().set_affiliation(None, NODE, &bare("1001@example.com"), Affiliation::Member).await.unwrap();
    core.pubsub().set_affiliation(None, NODE, &bare("super@example.com"), Affiliation::Member).await.unwrap();
}

#[tokio::test]
async fn whitelist_outcast_and_owner_rules() {
    let core = core(AnyStore::Memory(MemoryStore::new())).await;
    whitelisted(&core).await;
    let stranger = bare("1002@example.com");
    // A whitelist node is hidden from outsiders: they get what a missing node gets.
    let e = core.pubsub().subscribe(Some(&stranger), NODE, &jid("1002@example.com")).await.map_err(StanzaError::from).unwrap_err();
    assert_eq!(condition(&e), ("item-not-found", None));
    let e = core.pubsub().items(Some(&stranger), NODE, ItemQuery::Latest(None)).await.map_err(StanzaError::from).unwrap_err();
    assert_eq!(condition(&e), ("item-not-found", None));
    assert_eq!(
        core.pubsub().publish(Some(&stranger), NODE, None, None).await.map_err(StanzaError::from).unwrap_err().condition,
        "item-not-found"
    );
    assert_eq!(core.pubsub().node_config(Some(&stranger), NODE).map_err(StanzaError::from).unwrap_err().condition, "item-not-found");
    assert!(core.pubsub().visible_nodes(Some(&stranger)).is_empty(), "whitelist nodes are not even listed");
    // A member may subscribe its own JID but not someone else's.
    let agent = bare("1001@example.com");
    core.pubsub().subscribe(Some(&agent), NODE, &jid("1001@example.com/desk")).await.unwrap();
    let e = core.pubsub().subscribe(Some(&agent), NODE, &jid("super@example.com")).await.map_err(StanzaError::from).unwrap_err();
    assert_eq!(condition(&e), ("bad-request", Some("invalid-jid".into())));
    // Members cannot publish, configure or delete; outcasts cannot publish even on open models.
    assert_eq!(core.pubsub().publish(Some(&agent), NODE, None, None).await.map_err(StanzaError::from).unwrap_err().condition, "forbidden");
    assert_eq!(core.pubsub().node_config(Some(&agent), NODE).map_err(StanzaError::from).unwrap_err().condition, "forbidden");
    assert_eq!(core.pubsub().delete_node(Some(&agent), NODE).await.map_err(StanzaError::from).unwrap_err().condition, "forbidden");
    let open = NodeConfig { publish_model: PublishModel::Open, ..NodeConfig::with_max_items(10) };
    core.pubsub().create_node(None, Some("open"), Some(open)).await.unwrap();
    core.pubsub().set_affiliation(None, "open", &stranger, Affiliation::Outcast).await.unwrap();
    assert_eq!(
        core.pubsub().publish(Some(&stranger), "open", None, None).await.map_err(StanzaError::from).unwrap_err().condition,
        "forbidden"
    );
    assert_eq!(
        core.pubsub().subscribe(Some(&stranger), "open", &jid("1002@example.com")).await.map_err(StanzaError::from).unwrap_err().condition,
        "forbidden"
    );
    core.pubsub().publish(Some(&agent), "open", None, None).await.unwrap();
    // Errors for missing nodes and subscriptions.
    assert_eq!(core.pubsub().publish(None, "nope", None, None).await.map_err(StanzaError::from).unwrap_err().condition, "item-not-found");
    let e = core
        .pubsub()
        .unsubscribe(Some(&bare("super@example.com")), NODE, &jid("super@example.com"), None)
        .await
        .map_err(StanzaError::from)
        .unwrap_err();
    assert_eq!(condition(&e), ("unexpected-request", Some("not-subscribed".into())));
    assert_eq!(core.pubsub().create_node(None, Some(NODE), None).await.map_err(StanzaError::from).unwrap_err().condition, "conflict");
}

#[tokio::test]
async fn presence_and_authorize_access_models() {
    let store = MemoryStore::new();
    for user in ["owner", "friend", "other"] {
        store.create_user(user, &[]).await.unwrap();
    }
    store
        .put_roster_item(
            "owner",
            &herald_store::RosterItem {
                contact: "friend@example.com".into(),
                subscription: herald_store::Subscription::From,
                visible: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let core = core(AnyStore::Memory(store)).await;
    let owner = bare("owner@example.com");
    let config = NodeConfig { access_model: AccessModel::Presence, ..NodeConfig::with_max_items(10) };
    core.pubsub().create_node(Some(&owner), Some("presence"), Some(config)).await.unwrap();
    core.pubsub().subscribe(Some(&bare("friend@example.com")), "presence", &jid("friend@example.com")).await.unwrap();
    let e = core
        .pubsub()
        .subscribe(Some(&bare("other@example.com")), "presence", &jid("other@example.com"))
        .await
        .map_err(StanzaError::from)
        .unwrap_err();
    assert_eq!(condition(&e), ("item-not-found", None), "a presence node is hidden from non-contacts");

    let config = NodeConfig { access_model: AccessModel::Authorize, ..NodeConfig::with_max_items(10) };
    core.pubsub().create_node(Some(&owner), Some("authorize"), Some(config)).await.unwrap();
    let mut owner_session = core.bind("owner", Some("desk".into()), LOCAL).unwrap();
    core.route(&owner_session.jid.clone(), owner_session.id, Element::new("presence", ns::CLIENT)).await;
    events(&mut owner_session);
    let asked = core.pubsub().subscribe(Some(&bare("other@example.com")), "authorize", &jid("other@example.com")).await.unwrap();
    assert_eq!(asked.state, SubState::Pending);
    let form = wire(&events(&mut owner_session));
    assert!(form.iter().any(|m| m.contains("pubsub#subscribe_authorization") && m.contains("other@example.com")), "{form:?}");
    assert!(core.pubsub().items(Some(&bare("other@example.com")), "authorize", ItemQuery::Latest(None)).await.is_err());
    core.pubsub().set_subscription(Some(&owner), "authorize", &jid("other@example.com"), None, Some(SubState::Subscribed)).await.unwrap();
    assert!(core.pubsub().items(Some(&bare("other@example.com")), "authorize", ItemQuery::Latest(None)).await.is_ok());
}

#[tokio::test]
async fn one_publish_reaches_ten_thousand_subscribers_exactly_once() {
    let core = core(AnyStore::Memory(MemoryStore::new())).await;
    core.pubsub().create_node(None, Some("/finesse/api/SystemInfo"), None).await.unwrap();
    let mut sessions = Vec::with_capacity(10_000);
    for i in 0..10_000 {
        let s = core.bind(&format!("agent{i}"), Some("desk".into()), LOCAL).unwrap();
        core.pubsub().subscribe(None, "/finesse/api/SystemInfo", &Jid::from(s.jid.clone())).await.unwrap();
        sessions.push(s);
    }
    // A bare-JID subscriber with two available resources and one bound but unavailable.
    let mut a = core.bind("super", Some("a".into()), LOCAL).unwrap();
    let mut b = core.bind("super", Some("b".into()), LOCAL).unwrap();
    let mut c = core.bind("super", Some("c".into()), LOCAL).unwrap();
    for s in [&a, &b] {
        core.route(&s.jid.clone(), s.id, Element::new("presence", ns::CLIENT)).await;
    }
    core.pubsub().subscribe(None, "/finesse/api/SystemInfo", &jid("super@example.com")).await.unwrap();
    // A subscriber with no session at all.
    core.pubsub().subscribe(None, "/finesse/api/SystemInfo", &jid("gone@example.com")).await.unwrap();
    for s in [&mut a, &mut b, &mut c] {
        events(s);
    }
    let id = core.pubsub().publish(None, "/finesse/api/SystemInfo", None, Some(user_payload("IN_SERVICE"))).await.unwrap();
    for s in &mut sessions {
        let got = wire(&events(s));
        assert_eq!(got.len(), 1, "{}: {got:?}", s.jid);
        assert!(got[0].contains(&format!("<item id='{id}'>")) && got[0].contains("IN_SERVICE"), "{}", got[0]);
        assert!(got[0].contains(&format!("to='{}'", s.jid)));
    }
    assert_eq!(events(&mut a).len(), 1);
    assert_eq!(events(&mut b).len(), 1);
    assert!(events(&mut c).is_empty(), "a bound but unavailable resource of a bare subscriber gets nothing");
}

#[tokio::test]
async fn catch_up_returns_exactly_the_missed_items_in_order() {
    let core = core(AnyStore::Memory(MemoryStore::new())).await;
    core.pubsub().create_node(None, Some(NODE), Some(NodeConfig::with_max_items(5))).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(core.pubsub().publish(None, NODE, None, Some(user_payload(&format!("S{i}")))).await.unwrap());
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "generated ids increase");
    // The desktop saw ids[4] before it lost its connection.
    let page = core.pubsub().items(None, NODE, ItemQuery::After(ids[4].clone(), None)).await.unwrap();
    assert_eq!(page.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), ids[5..].to_vec());
    assert_eq!(page.count, 3);
    let page = core.pubsub().items(None, NODE, ItemQuery::After(ids[4].clone(), Some(2))).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.count, 3);
    // ids[1] fell out of the 5-item history: the client is told, not given a partial answer.
    assert_eq!(
        core.pubsub().items(None, NODE, ItemQuery::After(ids[1].clone(), None)).await.map_err(StanzaError::from).unwrap_err().condition,
        "item-not-found"
    );
    let latest = core.pubsub().items(None, NODE, ItemQuery::Latest(Some(2))).await.unwrap();
    assert_eq!(latest.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), ids[6..].to_vec());
    // Republishing an id moves it to the newest position.
    core.pubsub().publish(None, NODE, Some(ids[5].clone()), Some(user_payload("again"))).await.unwrap();
    let all = core.pubsub().items(None, NODE, ItemQuery::Latest(None)).await.unwrap();
    assert_eq!(all.items.last().unwrap().id, ids[5]);
}

#[tokio::test]
async fn last_item_on_subscribe_retract_purge_and_delete_notifications() {
    let core = core(AnyStore::Memory(MemoryStore::new())).await;
    core.pubsub().create_node(None, Some(NODE), None).await.unwrap();
    let first = core.pubsub().publish(None, NODE, None, Some(user_payload("READY"))).await.unwrap();
    let mut s = core.bind("1001", Some("desk".into()), LOCAL).unwrap();
    core.pubsub().subscribe(None, NODE, &Jid::from(s.jid.clone())).await.unwrap();
    let got = wire(&events(&mut s));
    assert!(got.len() == 1 && got[0].contains("READY"), "the last item on subscribe: {got:?}");
    core.pubsub().retract(None, NODE, &first, false).await.unwrap();
    assert!(wire(&events(&mut s))[0].contains(&format!("<retract id='{first}'/>")));
    core.pubsub().publish(None, NODE, None, None).await.unwrap();
    events(&mut s);
    core.pubsub().purge_node(None, NODE).await.unwrap();
    assert!(wire(&events(&mut s))[0].contains("<purge node='/finesse/api/User/1001'/>"));
    core.pubsub().delete_node(None, NODE).await.unwrap();
    assert!(wire(&events(&mut s))[0].contains("<delete node='/finesse/api/User/1001'/>"));
    assert!(!core.pubsub().node_exists(NODE));
}

#[tokio::test]
async fn everything_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.db");
    let ids = {
        let store = SqliteStore::open(&path).await.unwrap();
        let core = core(AnyStore::Sqlite(store.clone())).await;
        whitelisted(&core).await;
        core.pubsub().subscribe(None, NODE, &jid("1001@example.com/desk")).await.unwrap();
        core.pubsub().subscribe(None, NODE, &jid("super@example.com")).await.unwrap();
        let mut ids = Vec::new();
        for state in ["LOGIN", "NOT_READY", "READY"] {
            ids.push(core.pubsub().publish(None, NODE, None, Some(user_payload(state))).await.unwrap());
        }
        // publish returns only once committed: nothing to flush, just close.
        store.close().await;
        ids
    };
    let store = SqliteStore::open(&path).await.unwrap();
    let core = core(AnyStore::Sqlite(store)).await;
    let page = core.pubsub().items(Some(&bare("1001@example.com")), NODE, ItemQuery::After(ids[0].clone(), None)).await.unwrap();
    assert_eq!(page.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), ids[1..].to_vec());
    assert!(page.items[1].payload.as_ref().unwrap().text().contains("READY"));
    assert_eq!(core.pubsub().node_config(None, NODE).unwrap().access_model, AccessModel::Whitelist);
    assert_eq!(core.pubsub().affiliations(None, NODE).unwrap().len(), 2);
    assert_eq!(core.pubsub().subscription_count(NODE), 2);
    // Subscriptions work after the restart, and ids keep increasing.
    let mut s = core.bind("1001", Some("desk".into()), LOCAL).unwrap();
    let next = core.pubsub().publish(None, NODE, None, Some(user_payload("TALKING"))).await.unwrap();
    assert!(next > ids[2]);
    assert!(wire(&events(&mut s))[0].contains("TALKING"));
}
