//! Two cores of one cluster, joined through the `Remote` seam by an in-test implementation
//! (`common/mesh.rs`) over one shared store: messages, iqs, presence, probes and subscriptions
//! reach sessions on the other node; a forwarded stanza is never forwarded again, and a malformed
//! one is dropped.

mod common;
#[path = "common/mesh.rs"]
mod mesh;
#[path = "common/stanzas.rs"]
mod stanzas;

use herald_core::{Core, SessionHandle};
use herald_proto::ns;
use herald_store::{AccountStore, OfflineStore, RosterItem, RosterStore, Subscription};
use herald_xml::Element;
use mesh::Mesh;
use stanzas::{LOCAL, bodies, drain, gone, message};

/// An iq of `kind` from `from` to `to` (its payload added by the caller).
fn iq(from: &SessionHandle, kind: &str, id: &str, to: &str) -> Element {
    Element::new("iq", ns::CLIENT).with_attr("type", kind).with_attr("id", id).with_attr("from", from.jid.to_string()).with_attr("to", to)
}

/// Presence stanzas in `els` from `from`, by type (`available` when none).
fn presences_from(els: &[Element], from: &str) -> Vec<String> {
    els.iter()
        .filter(|e| e.name == "presence" && e.attr("from") == Some(from))
        .map(|e| e.attr("type").unwrap_or("available").to_owned())
        .collect()
}

async fn stored_for(core: &Core, user: &str) -> Vec<String> {
    core.store().offline_batch(user, usize::MAX, u64::MAX).await.unwrap().into_iter().map(|m| m.message.stanza).collect()
}

/// Alice on node `a`, bob on node `b`, both bound (not yet available).
async fn alice_on_a_bob_on_b() -> (std::sync::Arc<Mesh>, Core, Core, SessionHandle, SessionHandle) {
    let (mesh, cores) = Mesh::start(&["a", "b"], &["alice", "bob"]).await;
    let (a, b) = (cores[0].clone(), cores[1].clone());
    let alice = a.bind("alice", Some("pc".into()), LOCAL).unwrap();
    let bob = b.bind("bob", Some("desk".into()), LOCAL).unwrap();
    (mesh, a, b, alice, bob)
}

#[tokio::test]
async fn messages_to_a_full_or_bare_jid_reach_the_node_holding_the_session() {
    let (mesh, a, b, alice, mut bob) = alice_on_a_bob_on_b().await;
    common::presence(&b, &bob, None).await;
    mesh.settle().await;
    drain(&mut bob);
    a.route(&alice.jid, alice.id, message(&alice, "bob@example.com/desk", "to the desk")).await;
    a.route(&alice.jid, alice.id, message(&alice, "bob@example.com", "to bob")).await;
    mesh.settle().await;
    assert_eq!(bodies(&drain(&mut bob)), ["to the desk", "to bob"], "in order, each once");
    assert!(stored_for(&b, "bob").await.is_empty());
    // A full JID with no session anywhere falls back to the bare JID, on the node holding bob.
    a.route(&alice.jid, alice.id, message(&alice, "bob@example.com/gone", "to a gone resource")).await;
    mesh.settle().await;
    assert_eq!(bodies(&drain(&mut bob)), ["to a gone resource"]);
}

#[tokio::test]
async fn a_message_for_an_account_available_nowhere_is_stored_offline_once() {
    let (mesh, a, b, alice, mut bob) = alice_on_a_bob_on_b().await;
    // Bob is bound on b but not available: b stores it, and a does not store it too.
    a.route(&alice.jid, alice.id, message(&alice, "bob@example.com", "while away")).await;
    mesh.settle().await;
    assert_eq!(mesh.forwarded(), 1);
    assert_eq!(stored_for(&a, "bob").await.len(), 1);
    // Nowhere at all: stored by a, nothing forwarded.
    b.unbind(bob, Vec::new(), gone()).await;
    a.route(&alice.jid, alice.id, message(&alice, "bob@example.com", "while gone")).await;
    mesh.settle().await;
    assert_eq!(mesh.forwarded(), 1);
    assert_eq!(stored_for(&a, "bob").await.len(), 2);
    // Bob's next login, on b, gets both.
    bob = b.bind("bob", Some("desk".into()), LOCAL).unwrap();
    common::presence(&b, &bob, None).await;
    assert_eq!(bodies(&drain(&mut bob)), ["while away", "while gone"]);
}

#[tokio::test]
async fn an_iq_crosses_to_its_full_jid_and_the_answer_comes_back() {
    let (mesh, a, b, mut alice, mut bob) = alice_on_a_bob_on_b().await;
    let request = iq(&alice, "get", "v1", "bob@example.com/desk").with_child(Element::new("query", ns::VERSION));
    a.route(&alice.jid, alice.id, request).await;
    mesh.settle().await;
    let got = drain(&mut bob);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].attr("id"), got[0].attr("from")), (Some("v1"), Some("alice@example.com/pc")));
    let answer = iq(&bob, "result", "v1", "alice@example.com/pc");
    b.route(&bob.jid, bob.id, answer).await;
    mesh.settle().await;
    let got = drain(&mut alice);
    assert_eq!((got.len(), got[0].attr("type"), got[0].attr("from")), (1, Some("result"), Some("bob@example.com/desk")));
    // A resource bound nowhere: the sender's node answers service-unavailable, nothing forwarded.
    let before = mesh.forwarded();
    let lost = iq(&alice, "get", "v2", "bob@example.com/nowhere").with_child(Element::new("ping", ns::PING));
    a.route(&alice.jid, alice.id, lost).await;
    mesh.settle().await;
    assert_eq!(mesh.forwarded(), before);
    let got = drain(&mut alice);
    assert_eq!(got[0].attr("type"), Some("error"));
    assert!(got[0].to_xml().contains("service-unavailable"));
}

/// Alice and bob subscribed to each other in the store.
async fn mutual(core: &Core) {
    for (owner, contact) in [("alice", "bob@example.com"), ("bob", "alice@example.com")] {
        let item = RosterItem { contact: contact.into(), subscription: Subscription::Both, visible: true, ..Default::default() };
        core.store().put_roster_item(owner, &item).await.unwrap();
    }
}

#[tokio::test]
async fn presence_broadcasts_probes_and_unavailable_at_unbind_cross_nodes() {
    let (mesh, a, b, mut alice, mut bob) = alice_on_a_bob_on_b().await;
    mutual(&a).await;
    common::presence(&b, &bob, None).await;
    mesh.settle().await;
    drain(&mut bob);
    // Alice's initial presence: broadcast to bob on b, and b answers her probe with bob's.
    common::presence(&a, &alice, None).await;
    mesh.settle().await;
    assert_eq!(presences_from(&drain(&mut bob), "alice@example.com/pc"), ["available"]);
    let to_alice = drain(&mut alice);
    assert_eq!(presences_from(&to_alice, "bob@example.com/desk"), ["available"], "the probe's answer");
    assert!(
        to_alice.iter().filter(|p| p.attr("from") == Some("bob@example.com/desk")).all(|p| p.attr("to") == Some("alice@example.com/pc"))
    );
    // An update crosses too.
    let away = Element::new("presence", ns::CLIENT)
        .with_attr("from", bob.jid.to_string())
        .with_child(Element::new("show", ns::CLIENT).with_text("away"));
    b.route(&bob.jid, bob.id, away).await;
    mesh.settle().await;
    let to_alice = drain(&mut alice);
    assert_eq!(presences_from(&to_alice, "bob@example.com/desk"), ["available"]);
    assert_eq!(to_alice[0].child("show", ns::CLIENT).map(Element::text).as_deref(), Some("away"));
    // Alice's connection drops: bob on b sees her unavailable.
    a.unbind(alice, Vec::new(), gone()).await;
    mesh.settle().await;
    assert_eq!(presences_from(&drain(&mut bob), "alice@example.com/pc"), ["unavailable"]);
}

#[tokio::test]
async fn directed_presence_crosses_and_is_withdrawn_at_unbind() {
    let (mesh, a, b, alice, mut bob) = alice_on_a_bob_on_b().await;
    common::presence(&b, &bob, None).await;
    mesh.settle().await;
    drain(&mut bob);
    let directed = Element::new("presence", ns::CLIENT).with_attr("from", alice.jid.to_string()).with_attr("to", "bob@example.com/desk");
    a.route(&alice.jid, alice.id, directed).await;
    mesh.settle().await;
    assert_eq!(presences_from(&drain(&mut bob), "alice@example.com/pc"), ["available"], "no subscription needed");
    a.unbind(alice, Vec::new(), gone()).await;
    mesh.settle().await;
    assert_eq!(presences_from(&drain(&mut bob), "alice@example.com/pc"), ["unavailable"]);
}

#[tokio::test]
async fn a_subscription_made_across_nodes_updates_both_rosters_and_shares_presence() {
    let (mesh, a, b, mut alice, mut bob) = alice_on_a_bob_on_b().await;
    common::presence(&a, &alice, None).await;
    common::presence(&b, &bob, None).await;
    mesh.settle().await;
    // Bob's roster is cached on b before alice's request changes it in the store.
    let get = iq(&bob, "get", "r1", "bob@example.com").with_child(Element::new("query", ns::ROSTER));
    b.route(&bob.jid, bob.id, get).await;
    drain(&mut alice);
    drain(&mut bob);
    let presence = |from: &SessionHandle, to: &str, kind: &str| {
        Element::new("presence", ns::CLIENT).with_attr("from", from.jid.to_string()).with_attr("to", to).with_attr("type", kind)
    };
    a.route(&alice.jid, alice.id, presence(&alice, "bob@example.com", "subscribe")).await;
    mesh.settle().await;
    assert_eq!(presences_from(&drain(&mut bob), "alice@example.com"), ["subscribe"]);
    // Bob approves on b, whose cache learnt of the request.
    b.route(&bob.jid, bob.id, presence(&bob, "alice@example.com", "subscribed")).await;
    mesh.settle().await;
    let to_alice = drain(&mut alice);
    assert_eq!(presences_from(&to_alice, "bob@example.com"), ["subscribed"]);
    assert_eq!(presences_from(&to_alice, "bob@example.com/desk"), ["available"], "bob's presence follows");
    let item = a.store().roster_item("alice", "bob@example.com").await.unwrap().unwrap();
    assert_eq!((item.subscription, item.ask_out), (Subscription::To, false));
    let item = b.store().roster_item("bob", "alice@example.com").await.unwrap().unwrap();
    assert_eq!((item.subscription, item.pending_in), (Subscription::From, false));
}

#[tokio::test]
async fn an_account_on_both_nodes_sees_its_roster_changes_and_presence_on_both() {
    let (mesh, cores) = Mesh::start(&["a", "b"], &["alice", "carol"]).await;
    let (a, b) = (cores[0].clone(), cores[1].clone());
    let mut pc = a.bind("alice", Some("pc".into()), LOCAL).unwrap();
    let mut phone = b.bind("alice", Some("phone".into()), LOCAL).unwrap();
    let roster_get = |s: &SessionHandle| iq(s, "get", "r1", "alice@example.com").with_child(Element::new("query", ns::ROSTER));
    let roster_set = |s: &SessionHandle, item: Element| {
        iq(s, "set", "s1", "alice@example.com").with_child(Element::new("query", ns::ROSTER).with_child(item))
    };
    b.route(&phone.jid, phone.id, roster_get(&phone)).await;
    drain(&mut phone);
    // The pc adds carol on a: the phone's node refreshes its cached roster and pushes the item.
    let item = Element::new("item", ns::ROSTER).with_attr("jid", "carol@example.com").with_attr("name", "Carol");
    a.route(&pc.jid, pc.id, roster_set(&pc, item)).await;
    mesh.settle().await;
    let pushed = drain(&mut phone);
    assert_eq!(pushed.len(), 1);
    assert!(pushed[0].to_xml().contains("Carol") && pushed[0].attr("to") == Some("alice@example.com/phone"));
    b.route(&phone.jid, phone.id, roster_get(&phone)).await;
    assert!(drain(&mut phone)[0].to_xml().contains("carol@example.com"), "b's cached roster has carol");
    // Presence of one resource reaches the other, on the other node.
    common::presence(&b, &phone, None).await;
    drain(&mut pc);
    common::presence(&a, &pc, None).await;
    mesh.settle().await;
    assert_eq!(presences_from(&drain(&mut phone), "alice@example.com/pc"), ["available"]);
    // Removing carol on b reaches the pc's node likewise (its roster cached there by a get).
    a.route(&pc.jid, pc.id, roster_get(&pc)).await;
    drain(&mut pc);
    let item = Element::new("item", ns::ROSTER).with_attr("jid", "carol@example.com").with_attr("subscription", "remove");
    b.route(&phone.jid, phone.id, roster_set(&phone, item)).await;
    mesh.settle().await;
    let pushed = drain(&mut pc);
    let item = pushed[0].child("query", ns::ROSTER).and_then(|q| q.child("item", ns::ROSTER));
    assert_eq!((pushed.len(), item.and_then(|i| i.attr("subscription"))), (1, Some("remove")));
    a.route(&pc.jid, pc.id, roster_get(&pc)).await;
    assert!(!drain(&mut pc)[0].to_xml().contains("carol"), "a's cached roster lost carol");
}

#[tokio::test]
async fn a_stale_directory_never_makes_a_forwarding_loop() {
    let (mesh, a, _b, mut alice, _bob) = alice_on_a_bob_on_b().await;
    // The directory says carol/phone is on b; she is bound nowhere.
    mesh.stale.lock().unwrap().push(("b".into(), "carol@example.com".into(), "phone".into()));
    a.store().create_user("carol", &[]).await.unwrap();
    a.route(&alice.jid, alice.id, message(&alice, "carol@example.com/phone", "hello")).await;
    mesh.settle().await;
    assert_eq!(mesh.forwarded(), 1, "b stores it rather than forwarding it again");
    assert_eq!(stored_for(&a, "carol").await.len(), 1);
    // An iq request: b bounces it back to alice's node, once.
    let request = iq(&alice, "get", "p1", "carol@example.com/phone").with_child(Element::new("ping", ns::PING));
    a.route(&alice.jid, alice.id, request).await;
    mesh.settle().await;
    assert_eq!(mesh.forwarded(), 3, "the request there, the error back");
    let got = drain(&mut alice);
    assert_eq!((got.len(), got[0].attr("type"), got[0].attr("id")), (1, Some("error"), Some("p1")));
}

#[tokio::test]
async fn a_malformed_forwarded_stanza_is_dropped() {
    let (mesh, _a, b, _alice, mut bob) = alice_on_a_bob_on_b().await;
    common::presence(&b, &bob, None).await;
    drain(&mut bob);
    let to_bob = |from: Option<&str>, to: Option<&str>| {
        let mut m = Element::new("message", ns::CLIENT).with_child(Element::new("body", ns::CLIENT).with_text("x"));
        if let Some(from) = from {
            m.set_attr("from", from);
        }
        if let Some(to) = to {
            m.set_attr("to", to);
        }
        m
    };
    for bad in [
        to_bob(None, Some("bob@example.com/desk")),
        to_bob(Some("alice@example.com/pc"), None),
        to_bob(Some("alice@example.com/pc"), Some("@@bad")),
        to_bob(Some("not a jid@@"), Some("bob@example.com/desk")),
        to_bob(Some("alice@example.com/pc"), Some("bob@elsewhere.org/desk")),
        Element::new("message", "jabber:server").with_attr("from", "alice@example.com/pc").with_attr("to", "bob@example.com/desk"),
        Element::new("iq", ns::CLIENT).with_attr("from", "alice@example.com/pc"),
    ] {
        b.deliver_forwarded(bad).await;
    }
    assert!(drain(&mut bob).is_empty());
    assert!(stored_for(&b, "bob").await.is_empty());
    assert_eq!(mesh.forwarded(), 0);
    // A well-formed one still goes through.
    b.deliver_forwarded(to_bob(Some("alice@example.com/pc"), Some("bob@example.com/desk"))).await;
    assert_eq!(bodies(&drain(&mut bob)), ["x"]);
}

#[tokio::test]
async fn the_servers_own_sessions_keep_their_presence_on_their_node() {
    // The web-services user is bound in process on every node under one full JID: were its
    // presence to cross, one node's stop would tell desktops on the others it is gone.
    let (mesh, cores) = Mesh::start(&["a", "b"], &["alice", "bob"]).await;
    let (a, b) = (cores[0].clone(), cores[1].clone());
    mutual(&a).await;
    let internal = herald_core::Origin { transport: herald_core::Transport::Internal, ..LOCAL };
    let alice = a.bind("alice", Some("service".into()), internal).unwrap();
    let mut bob = b.bind("bob", Some("desk".into()), LOCAL).unwrap();
    common::presence(&b, &bob, None).await;
    mesh.settle().await;
    drain(&mut bob);
    common::presence(&a, &alice, None).await;
    mesh.settle().await;
    assert!(presences_from(&drain(&mut bob), "alice@example.com/service").is_empty(), "available stays on a");
    a.unbind(alice, Vec::new(), gone()).await;
    mesh.settle().await;
    assert!(presences_from(&drain(&mut bob), "alice@example.com/service").is_empty(), "unavailable stays on a");
}
