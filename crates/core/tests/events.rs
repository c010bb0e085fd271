//! The core's event seam driven directly (in-memory store, no transport, instants made up by the
//! test): what subscribers are told when sessions bind, change availability and unbind, and in
//! which order.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald_core::{CloseCause, Core, CoreConfig, CoreEvent, EventSink, Origin, SessionEnd, Subscribers, Transport};
use herald_proto::{FullJid, StreamErrorCondition, ns};
use herald_store::{AccountStore, AnyStore, MemoryStore};
use herald_xml::Element;

use common::presence;

/// Keeps every event it is told.
#[derive(Default)]
struct Recorder(Mutex<Vec<CoreEvent>>);

impl EventSink for Recorder {
    fn event(&self, event: &CoreEvent) {
        let mut event = event.clone();
        // The session's summary carries wall-clock times: checked here, then made comparable.
        if let CoreEvent::SessionUnbound { session, jid, dropped, info, .. } = &mut event {
            assert_eq!((info.id, &info.jid, info.dropped), (*session, &*jid, *dropped), "{info:?}");
            assert!(info.opened_ms > 1_600_000_000_000, "{info:?}");
            info.opened_ms = 0;
            info.last_request_ms = 0;
        }
        self.0.lock().unwrap().push(event);
    }
}

impl Recorder {
    fn take(&self) -> Vec<CoreEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

const BOSH: Origin = Origin { transport: Transport::Bosh, source: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)) };

/// A core for alice with `recorders` subscribed in order, and queues of `queue` stanzas.
async fn core(recorders: Vec<Arc<Recorder>>, queue: usize) -> Core {
    let store = MemoryStore::new();
    store.create_user("alice", &[]).await.unwrap();
    let mut events = Subscribers::default();
    for recorder in recorders {
        events.register(recorder);
    }
    let config = CoreConfig { session_queue: queue, events, ..CoreConfig::new("example.com") };
    Core::start(config, AnyStore::Memory(store)).await.unwrap()
}

fn jid(s: &str) -> FullJid {
    FullJid::new(s).unwrap()
}

fn presence_changed(session: u64, full: &str, available: bool, last_resource: bool) -> CoreEvent {
    CoreEvent::PresenceChanged { session, jid: jid(full), available, last_resource }
}

fn unbound(session: u64, full: &str, cause: CloseCause, last_activity: Instant, dropped: u64) -> CoreEvent {
    let info = herald_core::SessionInfo {
        id: session,
        jid: jid(full),
        label: String::new(),
        transport: BOSH.transport,
        source: BOSH.source,
        opened_ms: 0,
        last_request_ms: 0,
        stanzas_sent: 0,
        queued: 0,
        dropped,
        bytes_sent: 0,
        held_requests: 0,
        available: false,
    };
    CoreEvent::SessionUnbound { session, jid: jid(full), cause, last_activity, dropped, info: Box::new(info) }
}

#[tokio::test]
async fn a_session_is_bound_then_available_then_unavailable_then_unbound_for_every_subscriber() {
    let (first, second) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let core = core(vec![first.clone(), second.clone()], 16).await;
    let t0 = Instant::now();
    let desk = core.bind("alice", Some("desk".into()), BOSH).unwrap();
    let id = desk.id;
    presence(&core, &desk, None).await;
    // A changed status is not a change of availability.
    presence(&core, &desk, None).await;
    let last_activity = t0 + Duration::from_secs(30);
    core.unbind(desk, Vec::new(), SessionEnd { cause: CloseCause::ClientTerminate, last_activity }).await;
    let expected = vec![
        CoreEvent::SessionBound { session: id, jid: jid("alice@example.com/desk"), origin: BOSH },
        presence_changed(id, "alice@example.com/desk", true, true),
        presence_changed(id, "alice@example.com/desk", false, true),
        unbound(id, "alice@example.com/desk", CloseCause::ClientTerminate, last_activity, 0),
    ];
    assert_eq!(first.take(), expected);
    assert_eq!(second.take(), expected);
}

#[tokio::test]
async fn the_last_resource_flag_follows_the_accounts_availability() {
    let recorder = Arc::new(Recorder::default());
    let core = core(vec![recorder.clone()], 16).await;
    let t0 = Instant::now();
    let desk = core.bind("alice", Some("desk".into()), BOSH).unwrap();
    let phone = core.bind("alice", Some("phone".into()), BOSH).unwrap();
    let (d, p) = (desk.id, phone.id);
    presence(&core, &desk, None).await;
    presence(&core, &phone, None).await;
    // The desk goes unavailable while the phone stays: not the last.
    presence(&core, &desk, Some("unavailable")).await;
    recorder.take();
    // The phone's connection drops: it was the last available resource.
    core.unbind(phone, Vec::new(), SessionEnd { cause: CloseCause::ConnectionLost, last_activity: t0 }).await;
    // The desk, unavailable already, is only unbound.
    core.unbind(desk, Vec::new(), SessionEnd { cause: CloseCause::Inactivity, last_activity: t0 }).await;
    assert_eq!(
        recorder.take(),
        vec![
            presence_changed(p, "alice@example.com/phone", false, true),
            unbound(p, "alice@example.com/phone", CloseCause::ConnectionLost, t0, 0),
            unbound(d, "alice@example.com/desk", CloseCause::Inactivity, t0, 0),
        ]
    );
    // Replayed from the start, the flags were: desk first available, phone not, desk not last.
    let core = self::core(vec![recorder.clone()], 16).await;
    let desk = core.bind("alice", Some("desk".into()), BOSH).unwrap();
    let phone = core.bind("alice", Some("phone".into()), BOSH).unwrap();
    presence(&core, &desk, None).await;
    presence(&core, &phone, None).await;
    presence(&core, &desk, Some("unavailable")).await;
    let changes: Vec<_> = recorder.take().into_iter().filter(|e| matches!(e, CoreEvent::PresenceChanged { .. })).collect();
    assert_eq!(
        changes,
        vec![
            presence_changed(desk.id, "alice@example.com/desk", true, true),
            presence_changed(phone.id, "alice@example.com/phone", true, false),
            presence_changed(desk.id, "alice@example.com/desk", false, false),
        ]
    );
}

#[tokio::test]
async fn a_replaced_session_is_unbound_as_replaced_without_going_unavailable() {
    let recorder = Arc::new(Recorder::default());
    let core = core(vec![recorder.clone()], 16).await;
    let t0 = Instant::now();
    let old = core.bind("alice", Some("desk".into()), BOSH).unwrap();
    presence(&core, &old, None).await;
    recorder.take();
    let new = core.bind("alice", Some("desk".into()), BOSH).unwrap();
    assert!(old.take_replaced());
    let old_id = old.id;
    let cause = CloseCause::from_stream_error(StreamErrorCondition::Conflict);
    core.unbind(old, Vec::new(), SessionEnd { cause, last_activity: t0 }).await;
    assert_eq!(
        recorder.take(),
        vec![
            CoreEvent::SessionBound { session: new.id, jid: jid("alice@example.com/desk"), origin: BOSH },
            unbound(old_id, "alice@example.com/desk", CloseCause::Replaced, t0, 0),
        ]
    );
}

#[tokio::test]
async fn an_unbound_session_tells_how_many_stanzas_its_full_queue_dropped() {
    let recorder = Arc::new(Recorder::default());
    let core = core(vec![recorder.clone()], 1).await;
    let t0 = Instant::now();
    let desk = core.bind("alice", Some("desk".into()), BOSH).unwrap();
    for n in 0..3 {
        let ping = Element::new("message", ns::CLIENT).with_attr("to", "alice@example.com/desk").with_attr("id", n.to_string());
        core.route(&desk.jid.clone(), desk.id, ping).await;
    }
    let id = desk.id;
    core.unbind(desk, Vec::new(), SessionEnd { cause: CloseCause::ServerShutdown, last_activity: t0 }).await;
    assert_eq!(recorder.take().pop(), Some(unbound(id, "alice@example.com/desk", CloseCause::ServerShutdown, t0, 2)));
}
