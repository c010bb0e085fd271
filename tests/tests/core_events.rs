//! The core's event seam over real sockets: a subscriber registered through the server's own
//! wiring is told each session's binding (transport and source), availability and end, with the
//! cause the transport saw — a BOSH terminate, a BOSH inactivity timeout, a TCP connection drop
//! and a resource conflict.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald::{CloseCause, CoreEvent, EventSink, Subscribers, Transport};
use herald_testkit::{BoshClient, RawClient, TestServer};

const PW: &str = "pw";
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Keeps every event with the instant it was told.
#[derive(Default)]
struct Recorder(Mutex<Vec<(Instant, CoreEvent)>>);

impl EventSink for Recorder {
    fn event(&self, event: &CoreEvent) {
        self.0.lock().unwrap().push((Instant::now(), event.clone()));
    }
}

fn jid_of(event: &CoreEvent) -> String {
    match event {
        CoreEvent::SessionBound { jid, .. } | CoreEvent::PresenceChanged { jid, .. } | CoreEvent::SessionUnbound { jid, .. } => {
            jid.to_string()
        }
    }
}

impl Recorder {
    /// The events of `jid` so far.
    fn of(&self, jid: &str) -> Vec<(Instant, CoreEvent)> {
        self.0.lock().unwrap().iter().filter(|(_, e)| jid_of(e) == jid).cloned().collect()
    }

    /// Waits (10 s at most) until `jid` has `count` unbound events; returns all of its events.
    async fn until_unbound(&self, jid: &str, count: usize) -> anyhow::Result<Vec<(Instant, CoreEvent)>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let events = self.of(jid);
            if events.iter().filter(|(_, e)| matches!(e, CoreEvent::SessionUnbound { .. })).count() >= count {
                return Ok(events);
            }
            anyhow::ensure!(Instant::now() < deadline, "{jid} not unbound {count} times: {events:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The kinds of `events` in order, with the facts each test checks.
#[derive(Debug, PartialEq)]
enum Seen {
    Bound(Transport),
    Presence { available: bool, last_resource: bool },
    Unbound(CloseCause),
}

fn seen(events: &[(Instant, CoreEvent)]) -> Vec<Seen> {
    events
        .iter()
        .map(|(_, e)| match e {
            CoreEvent::SessionBound { origin, .. } => {
                assert_eq!(origin.source, LOOPBACK, "{origin:?}");
                Seen::Bound(origin.transport)
            }
            CoreEvent::PresenceChanged { available, last_resource, .. } => {
                Seen::Presence { available: *available, last_resource: *last_resource }
            }
            CoreEvent::SessionUnbound { cause, .. } => Seen::Unbound(*cause),
        })
        .collect()
}

/// The life of a session that was available alone and ended with `cause`.
fn available_then_gone(transport: Transport, cause: CloseCause) -> Vec<Seen> {
    vec![
        Seen::Bound(transport),
        Seen::Presence { available: true, last_resource: true },
        Seen::Presence { available: false, last_resource: true },
        Seen::Unbound(cause),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_are_told_each_sessions_binding_presence_and_close_cause() -> anyhow::Result<()> {
    let recorder = Arc::new(Recorder::default());
    let mut events = Subscribers::default();
    events.register(recorder.clone());
    let server = TestServer::start_with_events(events, |c| c.bosh.inactivity_secs = 2).await?;
    for user in ["alice", "bob", "carol", "dave"] {
        server.add_user(user, PW).await?;
    }

    // BOSH terminate, with unavailable presence in the last request.
    let mut alice = BoshClient::new(&server, true);
    alice.wait = 1;
    alice.login("alice", PW, "desk").await?;
    alice.send("<presence xmlns='jabber:client'/>").await?;
    alice.send_with("type='terminate'", "<presence xmlns='jabber:client' type='unavailable'/>").await?;
    let events = recorder.until_unbound("alice@localhost/desk", 1).await?;
    assert_eq!(seen(&events), available_then_gone(Transport::Bosh, CloseCause::ClientTerminate));

    // BOSH inactivity: bob's browser stops polling; 2 s later the session closes, and the last
    // activity it reports is his last request.
    let mut bob = BoshClient::new(&server, true);
    bob.wait = 1;
    bob.login("bob", PW, "desk").await?;
    bob.send("<presence xmlns='jabber:client'/>").await?;
    let stopped_polling = Instant::now();
    let events = recorder.until_unbound("bob@localhost/desk", 1).await?;
    assert_eq!(seen(&events), available_then_gone(Transport::Bosh, CloseCause::Inactivity));
    let (told, CoreEvent::SessionUnbound { last_activity, .. }) = &events[3] else { unreachable!() };
    assert!(*last_activity <= stopped_polling, "the last request was before bob stopped polling");
    assert!(
        told.duration_since(*last_activity) >= Duration::from_secs(2),
        "closed {:?} after the last request",
        told.duration_since(*last_activity)
    );

    // A TCP connection that drops without closing its stream.
    let mut carol = RawClient::login(&server, "carol", PW, "tcp").await?;
    carol.send("<presence/>").await?;
    let before_drop = Instant::now();
    carol.send("<iq type='get' id='sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>").await?;
    carol.read_until("id='sync'").await?;
    drop(carol);
    let events = recorder.until_unbound("carol@localhost/tcp", 1).await?;
    assert_eq!(seen(&events), available_then_gone(Transport::Tcp, CloseCause::ConnectionLost));
    let (_, CoreEvent::SessionUnbound { last_activity, .. }) = &events[3] else { unreachable!() };
    assert!(*last_activity >= before_drop, "the ping was carol's last activity");

    // A second login with dave's resource replaces the first: it is unbound as replaced, with no
    // unavailable presence (the full JID lives on), while the new one stays bound.
    let mut first = RawClient::login(&server, "dave", PW, "phone").await?;
    first.send("<presence/>").await?;
    let _second = RawClient::login(&server, "dave", PW, "phone").await?;
    first.read_until("<conflict").await?;
    let events = recorder.until_unbound("dave@localhost/phone", 1).await?;
    let ids: Vec<u64> = events
        .iter()
        .filter_map(|(_, e)| match e {
            CoreEvent::SessionBound { session, .. } | CoreEvent::SessionUnbound { session, .. } => Some(*session),
            CoreEvent::PresenceChanged { .. } => None,
        })
        .collect();
    assert_eq!(
        seen(&events),
        vec![
            Seen::Bound(Transport::Tcp),
            Seen::Presence { available: true, last_resource: true },
            Seen::Bound(Transport::Tcp),
            Seen::Unbound(CloseCause::Replaced),
        ]
    );
    assert_eq!((ids[0], ids.len()), (ids[2], 3), "the first session is the one unbound: {ids:?}");
    assert_eq!(server.status().bound_sessions(), Some(1), "the new session is still bound");
    Ok(())
}
