//! The core's Prometheus counters move with what happens to it: sessions bound and ended (by
//! transport and cause), logins and refusals (by reason), queue drops, publishes, deliveries and
//! their latency; and an administrator's kick ends the session's queue and says so once.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use herald_core::{CloseCause, Core, CoreConfig, Origin, SessionEnd, Transport};
use herald_proto::{FullJid, Jid};
use herald_sasl::SaslError;
use herald_store::{AccountStore, AnyStore, MemoryStore};
use herald_xml::Element;

const DESK: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));

fn origin(transport: Transport) -> Origin {
    Origin { transport, source: DESK }
}

async fn core(queue: usize) -> Core {
    let store = MemoryStore::new();
    for user in ["alice", "bob"] {
        store.create_user(user, &[]).await.unwrap();
    }
    let config = CoreConfig { session_queue: queue, ..CoreConfig::new("example.com") };
    Core::start(config, AnyStore::Memory(store)).await.unwrap()
}

/// The value of one exported sample (`name{labels}`), 0 when absent.
fn sample(core: &Core, series: &str) -> f64 {
    let text = core.metrics().encode();
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

fn end(cause: CloseCause) -> SessionEnd {
    SessionEnd { cause, last_activity: Instant::now() }
}

#[tokio::test]
async fn sessions_are_counted_by_transport_and_their_ends_by_cause() {
    let core = core(8).await;
    let tcp = core.bind("alice", Some("tcp".into()), origin(Transport::Tcp)).unwrap();
    let bosh = core.bind("bob", Some("desk".into()), origin(Transport::Bosh)).unwrap();
    assert_eq!(sample(&core, "herald_sessions{transport=\"tcp\"}"), 1.0);
    assert_eq!(sample(&core, "herald_sessions{transport=\"bosh\"}"), 1.0);
    core.unbind(tcp, Vec::new(), end(CloseCause::ConnectionLost)).await;
    core.unbind(bosh, Vec::new(), end(CloseCause::Inactivity)).await;
    assert_eq!(sample(&core, "herald_sessions{transport=\"tcp\"}"), 0.0);
    assert_eq!(sample(&core, "herald_sessions{transport=\"bosh\"}"), 0.0);
    assert_eq!(sample(&core, "herald_session_closes_total{cause=\"connection-lost\"}"), 1.0);
    assert_eq!(sample(&core, "herald_session_closes_total{cause=\"inactivity\"}"), 1.0);
}

#[tokio::test]
async fn a_kick_closes_the_queue_says_so_once_and_is_recorded_as_kicked() {
    let core = core(8).await;
    let mut s = core.bind("alice", Some("desk".into()), origin(Transport::WebSocket)).unwrap();
    let jid = FullJid::new("alice@example.com/desk").unwrap();
    assert!(!core.kick(&FullJid::new("alice@example.com/other").unwrap()), "no such session: nothing kicked");
    assert!(core.kick(&jid));
    assert!(s.inbox.recv().await.is_none(), "the driver's queue ends");
    assert!(!s.take_replaced());
    assert!(s.take_kicked());
    assert!(!s.take_kicked(), "said once");
    assert!(core.sessions(None).iter().any(|i| i.jid == jid), "listed until its transport ends it");
    core.unbind(s, Vec::new(), end(CloseCause::Kicked)).await;
    assert!(core.sessions(None).is_empty());
    assert_eq!(sample(&core, "herald_session_closes_total{cause=\"kicked\"}"), 1.0);
}

#[tokio::test]
async fn logins_and_refusals_are_counted_by_reason() {
    let core = core(8).await;
    let now = Instant::now();
    core.auth_succeeded("alice", DESK);
    core.auth_failed(Some("alice"), &SaslError::NotAuthorized, DESK, now);
    core.auth_failed(Some("ghost"), &SaslError::UnknownAccount, DESK, now);
    core.auth_failed(None, &SaslError::SourceBanned(30), DESK, now);
    assert_eq!(sample(&core, "herald_logins_total"), 1.0);
    for kind in ["not-authorized", "unknown-account", "source-banned"] {
        assert_eq!(sample(&core, &format!("herald_auth_failures_total{{kind=\"{kind}\"}}")), 1.0, "{kind}");
    }
}

#[tokio::test]
async fn publishes_deliveries_latency_and_queue_drops_move_with_traffic() {
    let core = core(1).await;
    let mut bob = core.bind("bob", Some("desk".into()), origin(Transport::Bosh)).unwrap();
    common::presence(&core, &bob, None).await;
    // Its own presence, reflected: the queue is empty before the publishes.
    while bob.inbox.try_recv().is_some() {}
    let pubsub = core.pubsub();
    let node = pubsub.create_node(None, Some("news"), None).await.unwrap();
    let bare = Jid::new("bob@example.com").unwrap();
    pubsub.subscribe(None, &node, &bare).await.unwrap();
    let item = || Some(Element::new("entry", "urn:test"));
    pubsub.publish(None, &node, None, item()).await.unwrap();
    assert_eq!(sample(&core, "herald_pubsub_publishes_total"), 1.0);
    assert_eq!(sample(&core, "herald_pubsub_deliveries_total"), 1.0);
    assert_eq!(sample(&core, "herald_pubsub_delivery_latency_seconds_count"), 1.0);
    // Bob's queue holds one stanza and nobody drains it: the next notification is dropped.
    pubsub.publish(None, &node, None, item()).await.unwrap();
    assert_eq!(sample(&core, "herald_pubsub_publishes_total"), 2.0);
    assert_eq!(sample(&core, "herald_pubsub_deliveries_total"), 1.0, "a dropped notification is not a delivery");
    assert_eq!(sample(&core, "herald_queue_drops_total"), 1.0);
    let listed = core.sessions(Some("bob"));
    assert_eq!((listed.len(), listed[0].queued, listed[0].dropped), (1, 1, 1));
}
