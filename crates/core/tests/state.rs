//! Per-account state caps driven on the core directly (in-memory store, no transport): offline
//! delivery in batches that never loses a message a session could not take, the resource cap, and
//! subscription requests to a full roster.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use herald_core::{Core, CoreConfig, Origin, SessionHandle, StateLimits, Transport};
use herald_proto::ns;
use herald_store::{AccountStore, AnyStore, MemoryStore, OfflineMessage, OfflineQuota, OfflineStore, RosterStore};
use herald_xml::Element;

use common::presence;

/// Where the test's sessions come from.
const LOCAL: Origin = Origin { transport: Transport::Tcp, source: IpAddr::V4(Ipv4Addr::LOCALHOST) };

async fn core(config: CoreConfig) -> Core {
    let store = MemoryStore::new();
    for user in ["alice", "bob"] {
        store.create_user(user, &[]).await.unwrap();
    }
    Core::start(config, AnyStore::Memory(store)).await.unwrap()
}

fn drain_bodies(s: &mut SessionHandle) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(el) = s.inbox.try_recv() {
        if let Some(body) = el.child("body", ns::CLIENT) {
            out.push(body.text());
        }
    }
    out
}

async fn stored(core: &Core) -> usize {
    core.store().offline_batch("bob", usize::MAX, u64::MAX).await.unwrap().len()
}

#[tokio::test]
async fn offline_messages_a_full_queue_cannot_take_stay_stored_for_the_next_presence() {
    // A queue of 3: the presence echo takes one, so two messages fit per initial presence.
    let core = core(CoreConfig { session_queue: 3, ..CoreConfig::new("example.com") }).await;
    let quota = OfflineQuota { max_messages: 100, max_bytes: u64::MAX, max_sender_bytes: u64::MAX };
    for n in 0..5 {
        let stanza = format!("<message xmlns='jabber:client' from='alice@example.com/a' to='bob@example.com'><body>{n}</body></message>");
        let m = OfflineMessage { sender: "alice@example.com".into(), stanza, stored_at_ms: 1 };
        core.store().push_offline("bob", &m, &quota).await.unwrap();
    }
    let mut bob = core.bind("bob", Some("desk".into()), LOCAL).unwrap();
    presence(&core, &bob, None).await;
    assert_eq!(drain_bodies(&mut bob), ["0", "1"]);
    assert_eq!(stored(&core).await, 3, "only what was queued is deleted");
    presence(&core, &bob, Some("unavailable")).await;
    drain_bodies(&mut bob);
    presence(&core, &bob, None).await;
    assert_eq!(drain_bodies(&mut bob), ["2", "3"], "in order, nothing lost or repeated");
    presence(&core, &bob, Some("unavailable")).await;
    drain_bodies(&mut bob);
    presence(&core, &bob, None).await;
    assert_eq!(drain_bodies(&mut bob), ["4"]);
    assert_eq!(stored(&core).await, 0);
}

#[tokio::test]
async fn offline_messages_are_delivered_across_many_byte_bounded_batches() {
    let core = core(CoreConfig::new("example.com")).await;
    let quota = OfflineQuota { max_messages: 1000, max_bytes: u64::MAX, max_sender_bytes: u64::MAX };
    // 300 messages of 2 KiB: several batches by count and by bytes.
    for n in 0..300 {
        let stanza = format!("<message xmlns='jabber:client' to='bob@example.com'><body>{n}</body><x>{}</x></message>", "p".repeat(2048));
        let m = OfflineMessage { sender: "alice@example.com".into(), stanza, stored_at_ms: 1 };
        core.store().push_offline("bob", &m, &quota).await.unwrap();
    }
    let mut bob = core.bind("bob", Some("desk".into()), LOCAL).unwrap();
    presence(&core, &bob, None).await;
    let expected: Vec<String> = (0..300).map(|n| n.to_string()).collect();
    assert_eq!(drain_bodies(&mut bob), expected);
    assert_eq!(stored(&core).await, 0);
}

#[tokio::test]
async fn binding_beyond_the_resource_cap_fails_but_replacing_does_not() {
    let config = CoreConfig { state: StateLimits { max_resources: 2, ..StateLimits::default() }, ..CoreConfig::new("example.com") };
    let core = core(config).await;
    let _a = core.bind("alice", Some("a".into()), LOCAL).unwrap();
    let _b = core.bind("alice", Some("b".into()), LOCAL).unwrap();
    let err = core.bind("alice", Some("c".into()), LOCAL).unwrap_err();
    assert_eq!(err.condition, "resource-constraint");
    assert!(core.bind("alice", Some("a".into()), LOCAL).is_ok(), "the same resource replaces");
    assert!(core.bind("bob", None, LOCAL).is_ok(), "the cap is per account");
    assert_eq!(core.session_count(), 3);
}

#[tokio::test]
async fn a_subscription_request_that_would_overflow_a_roster_is_dropped() {
    let config = CoreConfig { state: StateLimits { max_roster_items: 1, ..StateLimits::default() }, ..CoreConfig::new("example.com") };
    let core = core(config).await;
    let bob_item = herald_store::RosterItem { contact: "carol@example.com".into(), visible: true, ..Default::default() };
    core.store().put_roster_item("bob", &bob_item).await.unwrap();
    let alice = core.bind("alice", Some("a".into()), LOCAL).unwrap();
    let mut bob = core.bind("bob", Some("b".into()), LOCAL).unwrap();
    presence(&core, &bob, None).await;
    while bob.inbox.try_recv().is_some() {}
    let subscribe = Element::new("presence", ns::CLIENT)
        .with_attr("from", alice.jid.to_string())
        .with_attr("to", "bob@example.com")
        .with_attr("type", "subscribe");
    core.route(&alice.jid, alice.id, subscribe).await;
    assert!(bob.inbox.try_recv().is_none(), "Bob's roster is full: no request, no item");
    assert_eq!(core.store().roster("bob").await.unwrap(), vec![bob_item]);
    // Alice's own side (her roster has room) records the request as usual.
    assert!(core.store().roster_item("alice", "bob@example.com").await.unwrap().is_some_and(|i| i.ask_out));
}
