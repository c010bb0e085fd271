//! The core driven directly, with the in-memory store and no transport: routing rules of
//! RFC 6121 §8.5, offline storage, subscriptions and session replacement.

#[path = "common/stanzas.rs"]
mod stanzas;

use herald_core::{Core, CoreConfig, SessionHandle};
use herald_proto::ns;
use herald_store::{AccountStore, AnyStore, MemoryStore, OfflineStore, RosterStore, Subscription};
use herald_xml::Element;
use stanzas::{LOCAL, bodies, drain, gone, message};

async fn core_with(users: &[&str]) -> Core {
    let store = MemoryStore::new();
    for user in users {
        store.create_user(user, &[]).await.unwrap();
    }
    Core::start(CoreConfig::new("example.com"), AnyStore::Memory(store)).await.unwrap()
}

async fn available(core: &Core, s: &SessionHandle, priority: i8) {
    let p = Element::new("presence", ns::CLIENT)
        .with_attr("from", s.jid.to_string())
        .with_child(Element::new("priority", ns::CLIENT).with_text(priority.to_string()));
    core.route(&s.jid, s.id, p).await;
}

#[tokio::test]
async fn bare_jid_messages_go_to_the_highest_priority_resources() {
    let core = core_with(&["alice", "bob"]).await;
    let alice = core.bind("alice", Some("a".into()), LOCAL).unwrap();
    let mut low = core.bind("bob", Some("low".into()), LOCAL).unwrap();
    let mut high = core.bind("bob", Some("high".into()), LOCAL).unwrap();
    available(&core, &low, 1).await;
    available(&core, &high, 5).await;
    drain(&mut low);
    drain(&mut high);
    core.route(&alice.jid, alice.id, message(&alice, "bob@example.com", "to bare")).await;
    core.route(&alice.jid, alice.id, message(&alice, "bob@example.com/low", "to full")).await;
    assert_eq!(bodies(&drain(&mut high)), ["to bare"]);
    assert_eq!(bodies(&drain(&mut low)), ["to full"]);
}

#[tokio::test]
async fn messages_without_an_available_session_are_stored_and_delivered_with_delay() {
    let core = core_with(&["alice", "bob"]).await;
    let alice = core.bind("alice", Some("a".into()), LOCAL).unwrap();
    // Bound but not available: bare-JID messages are not delivered to it.
    let mut bob = core.bind("bob", Some("desk".into()), LOCAL).unwrap();
    core.route(&alice.jid, alice.id, message(&alice, "bob@example.com", "one")).await;
    core.route(&alice.jid, alice.id, message(&alice, "bob@example.com/gone", "two")).await;
    assert!(drain(&mut bob).is_empty());
    available(&core, &bob, 0).await;
    let got: Vec<Element> = drain(&mut bob).into_iter().filter(|e| e.name == "message").collect();
    assert_eq!(bodies(&got), ["one", "two"]);
    for m in &got {
        let delay = m.child("delay", ns::DELAY).expect("delay stamp");
        assert_eq!(delay.attr("from"), Some("example.com"));
        assert!(delay.attr("stamp").unwrap().ends_with('Z'));
    }
    let store = core.store();
    assert!(store.offline_batch("bob", usize::MAX, u64::MAX).await.unwrap().is_empty(), "delivered messages are removed");
}

#[tokio::test]
async fn unknown_users_bounce_and_undelivered_queue_goes_offline() {
    let core = core_with(&["alice", "bob"]).await;
    let mut alice = core.bind("alice", Some("a".into()), LOCAL).unwrap();
    core.route(&alice.jid, alice.id, message(&alice, "nobody@example.com", "x")).await;
    let bounced = drain(&mut alice);
    assert_eq!(bounced[0].attr("type"), Some("error"));
    assert!(bounced[0].child("error", ns::CLIENT).unwrap().child("service-unavailable", ns::STANZAS_ERRORS).is_some());
    // A session that ends with messages still queued hands them back: they are stored.
    let bob = core.bind("bob", Some("desk".into()), LOCAL).unwrap();
    let queued = vec![message(&alice, "bob@example.com/desk", "queued")];
    core.unbind(bob, queued, gone()).await;
    let stored = core.store().offline_batch("bob", usize::MAX, u64::MAX).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].message.stanza.contains("queued"));
    assert_eq!(stored[0].message.sender, "alice@example.com", "the sender's quota is charged");
}

#[tokio::test]
async fn mutual_subscription_shares_presence_and_unavailable_on_unbind() {
    let core = core_with(&["alice", "bob"]).await;
    let mut alice = core.bind("alice", Some("a".into()), LOCAL).unwrap();
    let mut bob = core.bind("bob", Some("b".into()), LOCAL).unwrap();
    available(&core, &alice, 0).await;
    available(&core, &bob, 0).await;
    let presence = |from: &SessionHandle, to: &str, kind: &str| {
        Element::new("presence", ns::CLIENT).with_attr("from", from.jid.to_string()).with_attr("to", to).with_attr("type", kind)
    };
    core.route(&alice.jid, alice.id, presence(&alice, "bob@example.com", "subscribe")).await;
    assert!(drain(&mut bob).iter().any(|p| p.attr("type") == Some("subscribe")));
    core.route(&bob.jid, bob.id, presence(&bob, "alice@example.com", "subscribed")).await;
    let to_alice = drain(&mut alice);
    assert!(to_alice.iter().any(|p| p.attr("type") == Some("subscribed")));
    assert!(to_alice.iter().any(|p| p.name == "presence" && p.attr("type").is_none() && p.attr("from") == Some("bob@example.com/b")));
    let item = core.store().roster_item("alice", "bob@example.com").await.unwrap().unwrap();
    assert_eq!((item.subscription, item.ask_out), (Subscription::To, false));
    let item = core.store().roster_item("bob", "alice@example.com").await.unwrap().unwrap();
    assert_eq!((item.subscription, item.pending_in), (Subscription::From, false));
    // Bob's departure reaches alice as unavailable presence.
    core.unbind(bob, Vec::new(), gone()).await;
    assert!(drain(&mut alice).iter().any(|p| p.attr("type") == Some("unavailable") && p.attr("from") == Some("bob@example.com/b")));
}

#[tokio::test]
async fn binding_the_same_resource_replaces_the_old_session() {
    let core = core_with(&["alice"]).await;
    let mut first = core.bind("alice", Some("desk".into()), LOCAL).unwrap();
    let second = core.bind("alice", Some("desk".into()), LOCAL).unwrap();
    // The old session is told through its queue: it ends, with the replaced flag set.
    assert!(first.inbox.recv().await.is_none());
    assert!(first.take_replaced());
    assert!(!second.take_replaced());
    assert_eq!(core.session_count(), 1);
    // The old session's late unbind must not remove the new one.
    core.unbind(first, Vec::new(), gone()).await;
    assert_eq!(core.session_count(), 1);
    core.unbind(second, Vec::new(), gone()).await;
    assert_eq!(core.session_count(), 0);
    let generated = core.bind("alice", None, LOCAL).unwrap();
    assert!(generated.jid.resource().as_str().starts_with("herald-"));
}
