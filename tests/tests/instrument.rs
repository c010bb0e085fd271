//! The instrumentation over real sockets: each transport keeps its session's counters (what the
//! admin's session listing shows), reports an administrator's kick as `kicked`, and the
//! Prometheus counters move with real traffic (logins, refused passwords, BOSH long polls, held
//! requests, REST routes).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use herald::{CloseCause, CoreEvent, EventSink, Subscribers, Transport};
use herald_testkit::{BoshClient, RawClient, TestServer, WsClient};

const PW: &str = "agent-pw";
const EMPTY: &str = "<body xmlns='http://jabber.org/protocol/httpbind'/>";

/// Keeps every session's end.
#[derive(Default)]
struct Ends(Mutex<Vec<(String, CloseCause, herald_core::SessionInfo)>>);

impl EventSink for Ends {
    fn event(&self, event: &CoreEvent) {
        if let CoreEvent::SessionUnbound { jid, cause, info, .. } = event {
            self.0.lock().unwrap().push((jid.to_string(), *cause, (**info).clone()));
        }
    }
}

impl Ends {
    /// Waits (10 s at most) for `jid`'s end.
    async fn of(&self, jid: &str) -> anyhow::Result<(CloseCause, herald_core::SessionInfo)> {
        for _ in 0..500 {
            if let Some((_, cause, info)) = self.0.lock().unwrap().iter().find(|(j, ..)| j == jid) {
                return Ok((*cause, info.clone()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::bail!("{jid} never ended")
    }
}

async fn server(adjust: impl FnOnce(&mut herald::Config)) -> anyhow::Result<(TestServer, Arc<Ends>)> {
    let ends = Arc::new(Ends::default());
    let mut events = Subscribers::default();
    events.register(ends.clone());
    let server = TestServer::start_with_events(events, adjust).await?;
    for user in ["alice", "bob"] {
        server.add_user(user, PW).await?;
    }
    Ok((server, ends))
}

fn core(server: &TestServer) -> herald_core::Core {
    server.status().http_context().expect("running").core.clone()
}

/// The value of one exported sample (`name{labels}`), 0 when absent.
fn sample(server: &TestServer, series: &str) -> f64 {
    core(server)
        .metrics()
        .encode()
        .lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

/// Waits (5 s at most) until `check` holds.
async fn eventually(what: &str, check: impl Fn() -> bool) -> anyhow::Result<()> {
    for _ in 0..250 {
        if check() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    anyhow::bail!("never: {what}")
}

fn jid(s: &str) -> herald_proto::FullJid {
    herald_proto::FullJid::new(s).unwrap()
}

#[tokio::test]
async fn a_tcp_session_is_listed_with_its_counters_and_a_kick_ends_it_as_kicked() -> anyhow::Result<()> {
    let (server, ends) = server(|_| {}).await?;
    let (_, outcome) = RawClient::authenticate(&server, "alice", "wrong").await?;
    assert!(outcome.contains("not-authorized"), "{outcome}");
    assert_eq!(sample(&server, "herald_auth_failures_total{kind=\"not-authorized\"}"), 1.0);
    let mut alice = RawClient::login(&server, "alice", PW, "tcp").await?;
    assert!(sample(&server, "herald_logins_total") >= 1.0);
    alice.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>").await?;
    alice.read_until("id='p1'").await?;
    let core = core(&server);
    let listed = core.sessions(Some("alice"));
    assert_eq!(listed.len(), 1, "{listed:?}");
    let info = &listed[0];
    assert_eq!((info.transport, info.held_requests), (Transport::Tcp, 0));
    assert!(info.label.parse::<SocketAddr>().is_ok_and(|peer| peer.ip() == info.source), "the peer ip:port: {info:?}");
    assert!(info.stanzas_sent >= 2 && info.bytes_sent > 0 && info.last_request_ms >= info.opened_ms, "{info:?}");
    assert_eq!(sample(&server, "herald_sessions{transport=\"tcp\"}"), 1.0);

    assert!(core.kick(&jid("alice@localhost/tcp")));
    let closed = alice.read_to_close().await?;
    assert!(closed.contains("policy-violation"), "{closed}");
    let (cause, last) = ends.of("alice@localhost/tcp").await?;
    assert_eq!(cause, CloseCause::Kicked);
    assert!(last.stanzas_sent >= info.stanzas_sent && last.bytes_sent >= info.bytes_sent, "the close record keeps the counters");
    assert_eq!(sample(&server, "herald_session_closes_total{cause=\"kicked\"}"), 1.0);
    assert_eq!(sample(&server, "herald_sessions{transport=\"tcp\"}"), 0.0);
    Ok(())
}

#[tokio::test]
async fn a_websocket_kick_is_recorded_as_kicked() -> anyhow::Result<()> {
    let (server, ends) = server(|_| {}).await?;
    let mut bob = WsClient::connect(&server, Some("xmpp")).await?.map_err(|s| anyhow::anyhow!("upgrade refused: {s}"))?;
    bob.login("localhost", "bob", PW, "ws").await?;
    let info = core(&server).sessions(Some("bob")).pop().expect("listed");
    assert_eq!(info.transport, Transport::WebSocket);
    assert!(info.label.parse::<SocketAddr>().is_ok() && info.stanzas_sent >= 1 && info.bytes_sent > 0, "{info:?}");
    assert!(core(&server).kick(&jid("bob@localhost/ws")));
    assert!(bob.recv_until("policy-violation").await?.contains("policy-violation"));
    assert_eq!(ends.of("bob@localhost/ws").await?.0, CloseCause::Kicked);
    Ok(())
}

#[tokio::test]
async fn bosh_counts_held_requests_and_empty_polls_and_a_kick_terminates_with_policy_violation() -> anyhow::Result<()> {
    let (server, ends) = server(|c| c.bosh.max_wait_secs = 2).await?;
    let mut bob = BoshClient::new(&server, true);
    bob.login("bob", PW, "desk").await?;
    let sid = bob.sid.clone().unwrap();
    let (empty, data) = ("herald_bosh_responses_total{kind=\"empty\"}", "herald_bosh_responses_total{kind=\"data\"}");
    assert!(sample(&server, data) >= 4.0, "session creation, SASL, restart and bind answers carry data");
    let empty_before = sample(&server, empty);
    let core = core(&server);
    // A long poll: held until `wait` (2 s), meanwhile listed as held, then answered empty.
    let (reply, ()) = tokio::join!(bob.send(""), async {
        eventually("the poll is held", || core.sessions(Some("bob")).first().is_some_and(|i| i.held_requests == 1)).await.unwrap();
        assert_eq!(sample(&server, "herald_bosh_held_requests"), 1.0);
    });
    assert_eq!(reply?.body, EMPTY);
    assert_eq!(sample(&server, empty), empty_before + 1.0);
    eventually("nothing held", || sample(&server, "herald_bosh_held_requests") == 0.0).await?;
    let info = core.sessions(Some("bob")).pop().expect("listed");
    assert_eq!((info.transport, info.label.as_str(), info.held_requests), (Transport::Bosh, sid.as_str(), 0));
    assert!(info.stanzas_sent >= 3 && info.bytes_sent > 0 && info.last_request_ms > 0, "{info:?}");

    let (reply, ()) = tokio::join!(bob.send(""), async {
        eventually("the poll is held", || core.sessions(Some("bob")).first().is_some_and(|i| i.held_requests == 1)).await.unwrap();
        assert!(core.kick(&jid("bob@localhost/desk")));
    });
    let reply = reply?;
    assert!(reply.body.contains("type='terminate'") && reply.body.contains("policy-violation"), "{}", reply.body);
    let (cause, last) = ends.of("bob@localhost/desk").await?;
    assert_eq!(cause, CloseCause::Kicked);
    assert!(last.bytes_sent >= info.bytes_sent && last.label == sid, "{last:?}");
    assert_eq!(sample(&server, "herald_session_closes_total{cause=\"kicked\"}"), 1.0);
    eventually("nothing held", || sample(&server, "herald_bosh_held_requests") == 0.0).await
}

#[tokio::test]
async fn rest_requests_are_counted_by_route_pattern_and_status() -> anyhow::Result<()> {
    let server = TestServer::start_cc(|_| {}).await?;
    assert_eq!(server.rest_get("/finesse/api/User/1001", "1001").await?.status, 200);
    assert_eq!(server.rest_get("/finesse/api/User/1001/Dialogs", "1001").await?.status, 200);
    assert_eq!(server.rest_get("/finesse/api/Nothing/here", "1001").await?.status, 404);
    let series = |route: &str, status: u16| format!("herald_rest_requests_total{{route=\"{route}\",status=\"{status}\"}}");
    assert_eq!(sample(&server, &series("User/{id}", 200)), 1.0);
    assert_eq!(sample(&server, &series("User/{id}/Dialogs", 200)), 1.0);
    assert_eq!(sample(&server, &series("other", 404)), 1.0);
    assert!(!core(&server).metrics().encode().contains("User/1001"), "never the raw path");
    Ok(())
}
