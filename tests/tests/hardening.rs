//! The limits that keep one hostile or broken client from exhausting the server (issue 9):
//! each test plays an attack over real sockets and checks that the attacker runs into its limit
//! while other clients (other addresses) go on being served.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use herald_testkit::{BoshClient, RawClient, TestServer, connect_from, http_request_from, read_http_response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PW: &str = "agent-pw";

/// A test server with a plain HTTP listener beside HTTPS, and alice and bob.
async fn server(adjust: impl FnOnce(&mut herald::Config)) -> anyhow::Result<TestServer> {
    let server = TestServer::start_with(|c| {
        c.listen.http = Some("127.0.0.1:0".parse().unwrap());
        adjust(c);
    })
    .await?;
    for user in ["alice", "bob"] {
        server.add_user(user, PW).await?;
    }
    Ok(server)
}

/// Another host on the network, as the server sees it.
fn host(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

/// Waits (up to 5 s) for the server to close `conn` without a word, as it does a connection
/// it refuses or gives up on.
async fn closed_by_the_server(mut conn: TcpStream) -> anyhow::Result<()> {
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut byte)).await?;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    Ok(())
}

/// Bob logs in over BOSH from `source` and gets a ping answered: the server serves others.
async fn others_are_served(server: &TestServer, source: IpAddr) -> anyhow::Result<()> {
    let mut bob = BoshClient::new(server, false);
    bob.source = Some(source);
    bob.login("bob", PW, "desk").await?;
    let reply = bob.send("<iq xmlns='jabber:client' type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>").await?;
    anyhow::ensure!(reply.body.contains("id='p1'"), "no ping answer: {}", reply.body);
    Ok(())
}

/// Sends `prefix`, then `chunk` again and again (up to `most` bytes) while another task reads
/// what the server says; returns what it said once it hung up, and how many bytes were sent.
async fn send_until_cut(conn: TcpStream, prefix: &str, chunk: &[u8], most: usize) -> anyhow::Result<(String, usize)> {
    let (mut reader, mut writer) = conn.into_split();
    let reading = tokio::spawn(async move {
        let mut said = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut said)).await;
        String::from_utf8_lossy(&said).into_owned()
    });
    writer.write_all(prefix.as_bytes()).await?;
    let mut sent = 0;
    while sent < most && !reading.is_finished() {
        if writer.write_all(chunk).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    drop(writer);
    Ok((reading.await?, sent))
}

#[tokio::test]
async fn an_endless_start_tag_before_login_is_cut_at_the_unauthenticated_limit() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let before = herald_testkit::rss_kib();
    let attributes: Vec<u8> = (0..100).flat_map(|i| format!(" a{i}='{}'", "x".repeat(30)).into_bytes()).collect();
    // An endless stream header, then an endless stanza start tag after a proper header.
    let header_open =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost'";
    let stanza_open = format!("{}<message to='bob@localhost'", RawClient::header("localhost"));
    for prefix in [header_open.to_owned(), stanza_open] {
        let started = Instant::now();
        let (said, sent) = send_until_cut(TcpStream::connect(server.c2s).await?, &prefix, &attributes, 300 << 20).await?;
        assert!(said.contains("<policy-violation"), "{said}");
        // What was sent before the cut is the limit plus what the socket buffers held.
        assert!(sent < 32 << 20, "the server took {sent} bytes before cutting");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    let grown = herald_testkit::rss_kib().saturating_sub(before);
    assert!(grown < 48 * 1024, "resident memory grew {grown} KiB");
    let mut alice = RawClient::login(&server, "alice", PW, "desk").await?;
    alice.send("<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>").await?;
    alice.read_until("id='p'").await?;
    Ok(())
}

#[tokio::test]
async fn bosh_requests_before_login_are_held_to_the_unauthenticated_limit() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let big = "x".repeat(20_000);
    // A session request that large is refused outright.
    let mut eve = BoshClient::new(&server, false);
    let reply = eve
        .post_raw(format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='1' to='localhost' ver='1.9' wait='5' pad='{big}'/>"))
        .await?;
    assert!(reply.body.contains("condition='policy-violation'"), "{}", reply.body);
    // So is a large request of a session that has not logged in.
    eve.create("").await?;
    let reply = eve.send(&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{big}</auth>")).await?;
    assert!(reply.body.contains("type='terminate'") && reply.body.contains("policy-violation"), "{}", reply.body);
    // After login the full stanza limit applies.
    let mut bob = BoshClient::new(&server, false);
    bob.login("bob", PW, "desk").await?;
    let reply = bob.send(&format!("<message xmlns='jabber:client' to='alice@localhost'><body>{big}</body></message>")).await?;
    assert_eq!(reply.status, 200);
    assert!(!reply.body.contains("terminate"), "{}", reply.body);
    Ok(())
}

/// Creates a session from `source`; the HTTP status.
async fn create_from(server: &TestServer, source: IpAddr) -> anyhow::Result<u16> {
    let body = "<body xmlns='http://jabber.org/protocol/httpbind' rid='10' to='localhost' ver='1.9' wait='5' hold='1'/>";
    let reply = http_request_from(server, Some(source), false, "POST", "/http-bind/", &[], body.into()).await?;
    if reply.status == 200 {
        anyhow::ensure!(reply.body.contains("sid="), "{}", reply.body);
    }
    Ok(reply.status)
}

#[tokio::test]
async fn bosh_sessions_that_never_log_in_are_capped_per_address_and_overall() -> anyhow::Result<()> {
    let server = server(|c| {
        c.bosh.max_unauthenticated_per_source = 10;
        c.bosh.max_unauthenticated_sessions = 25;
        c.bosh.unauthenticated_inactivity_secs = 1;
    })
    .await?;
    for _ in 0..10 {
        assert_eq!(create_from(&server, host(1)).await?, 200);
    }
    assert_eq!(create_from(&server, host(1)).await?, 429, "an address's share is ten");
    for _ in 0..10 {
        assert_eq!(create_from(&server, host(2)).await?, 200, "another address has its own share");
    }
    for _ in 0..5 {
        assert_eq!(create_from(&server, host(3)).await?, 200);
    }
    assert_eq!(create_from(&server, host(4)).await?, 503, "twenty-five overall");
    // Abandoned, they close after a second and are forgotten a second later.
    tokio::time::sleep(Duration::from_millis(2600)).await;
    others_are_served(&server, host(1)).await?;
    // Bob's session, logged in, no longer counts: host 1 has its ten again.
    for _ in 0..10 {
        assert_eq!(create_from(&server, host(1)).await?, 200);
    }
    Ok(())
}

#[tokio::test]
async fn session_creation_is_rate_limited_per_address() -> anyhow::Result<()> {
    let server = server(|c| {
        c.bosh.creation_rate_per_source = 5;
        c.bosh.creation_burst_per_source = 10;
    })
    .await?;
    let mut statuses = Vec::new();
    for _ in 0..15 {
        statuses.push(create_from(&server, host(1)).await?);
    }
    let created = statuses.iter().filter(|s| **s == 200).count();
    assert!((10..=11).contains(&created), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429));
    assert_eq!(create_from(&server, host(2)).await?, 200, "another address has its own rate");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(create_from(&server, host(1)).await?, 200, "the bucket refills");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_session_creations_from_one_address_stays_bounded() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let before = herald_testkit::rss_kib();
    let deadline = Instant::now() + Duration::from_secs(3);
    let addr = server.http.unwrap();
    let mut flooders = Vec::new();
    for _ in 0..8 {
        flooders.push(tokio::spawn(async move {
            let (mut created, mut refused) = (0u32, 0u32);
            let mut conn = TcpStream::connect(addr).await?;
            let mut got = Vec::new();
            let body = "<body xmlns='http://jabber.org/protocol/httpbind' rid='1' to='localhost' ver='1.9' wait='5'/>";
            let request = format!("POST /http-bind/ HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            while Instant::now() < deadline {
                conn.write_all(request.as_bytes()).await?;
                let answer = read_http_response(&mut conn, &mut got).await?;
                if answer.starts_with("HTTP/1.1 200") {
                    created += 1;
                } else {
                    anyhow::ensure!(answer.starts_with("HTTP/1.1 429"), "{answer}");
                    refused += 1;
                }
            }
            anyhow::Ok((created, refused))
        }));
    }
    let (mut created, mut refused) = (0, 0);
    for flooder in flooders {
        let (c, r) = flooder.await??;
        created += c;
        refused += r;
    }
    assert!(created <= 500, "created {created}: more than one address's share of sessions that have not logged in");
    assert!(refused > 0);
    let grown = herald_testkit::rss_kib().saturating_sub(before);
    assert!(grown < 64 * 1024, "resident memory grew {grown} KiB after {created} sessions, {refused} refusals");
    others_are_served(&server, host(2)).await
}

/// Opens a connection to `addr` and sends `first`, then `drip` one byte at a time every 200 ms
/// until the server hangs up; returns what it said and how long it took.
async fn drip(addr: std::net::SocketAddr, first: String, drip: &'static [u8]) -> anyhow::Result<(String, Duration)> {
    let started = Instant::now();
    let (mut reader, mut writer) = TcpStream::connect(addr).await?.into_split();
    writer.write_all(first.as_bytes()).await?;
    let dripping = tokio::spawn(async move {
        for byte in drip.iter().cycle().take(200) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(std::slice::from_ref(byte)).await.is_err() {
                break;
            }
        }
    });
    let mut said = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), reader.read_to_end(&mut said)).await??;
    dripping.abort();
    Ok((String::from_utf8_lossy(&said).into_owned(), started.elapsed()))
}

#[tokio::test]
async fn slow_requests_are_cut_at_one_deadline_for_the_whole_request() -> anyhow::Result<()> {
    let server = server(|c| c.http.request_timeout_secs = 2).await?;
    let addr = server.http.unwrap();
    let body_head = |extra: &str| format!("POST /http-bind/ HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
    let (bosh_head, bosh_body, hyper_head, hyper_body) = tokio::join!(
        // A BOSH head, a byte at a time.
        drip(addr, "POST /http-bind/ HTTP/1.1\r\nHost: x\r\n".into(), b"X-Slow: y\r\n"),
        // A whole head, then its body a byte at a time.
        drip(addr, body_head("Content-Length: 1000\r\n"), b"x"),
        // A head for hyper (a GET), a byte at a time.
        drip(addr, "GET /http-bind/ HTTP/1.1\r\nHost: x\r\n".into(), b"X-Slow: y\r\n"),
        // A chunked body (hyper's path), a chunk of one byte at a time.
        drip(addr, body_head("Transfer-Encoding: chunked\r\n") + "1\r\nx\r\n", b"1\r\nx\r\n"),
    );
    for (what, result) in [("BOSH head", bosh_head), ("BOSH body", bosh_body), ("hyper head", hyper_head), ("hyper body", hyper_body)] {
        let (said, took) = result?;
        // Cut at the 2 s deadline (not after 40 s of dripping), with 408 where a status is sent.
        assert!(took < Duration::from_secs(5), "{what}: held for {took:?}");
        if what.starts_with("BOSH") {
            assert!(said.starts_with("HTTP/1.1 408"), "{what}: {said}");
        } else {
            assert!(said.is_empty() || said.starts_with("HTTP/1.1 4"), "{what}: {said}");
        }
    }
    others_are_served(&server, host(2)).await
}

#[tokio::test]
async fn silent_and_idle_http_connections_are_closed_on_their_settings() -> anyhow::Result<()> {
    let server = server(|c| {
        c.http.first_request_timeout_secs = 1;
        c.http.idle_timeout_secs = 3;
    })
    .await?;
    let addr = server.http.unwrap();
    // A connection that never sends a request is closed after http.first_request_timeout_secs.
    let started = Instant::now();
    let mut silent = TcpStream::connect(addr).await?;
    let mut said = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), silent.read_to_end(&mut said)).await??;
    let took = started.elapsed();
    assert!(said.is_empty() && took >= Duration::from_millis(900) && took < Duration::from_secs(3), "silent: {took:?}");
    // After an answered request, the kept-alive connection waits http.idle_timeout_secs.
    let mut idle = TcpStream::connect(addr).await?;
    idle.write_all(b"POST /http-bind/ HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nnot").await?;
    let mut got = Vec::new();
    assert!(read_http_response(&mut idle, &mut got).await?.starts_with("HTTP/1.1 400"));
    let answered = Instant::now();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut rest)).await??;
    let took = answered.elapsed();
    assert!(took >= Duration::from_millis(2500) && took < Duration::from_secs(6), "idle: {took:?}");
    Ok(())
}

#[tokio::test]
async fn connections_beyond_an_addresss_share_are_closed_and_other_hosts_get_in() -> anyhow::Result<()> {
    let server = server(|c| c.limits.max_connections_per_source = 20).await?;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(connect_from(server.c2s, Some(host(1))).await?);
    }
    // The 21st from that address is closed at once, on any listener.
    for addr in [server.c2s, server.http.unwrap()] {
        closed_by_the_server(connect_from(addr, Some(host(1))).await?).await?;
    }
    others_are_served(&server, host(2)).await?;
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = RawClient::connect(&server).await?;
    again.send(&RawClient::header("localhost")).await?;
    again.read_until("</stream:features>").await?;
    Ok(())
}

#[tokio::test]
async fn the_open_file_limit_is_raised_to_the_hard_limit_at_start() -> anyhow::Result<()> {
    let _server = server(|_| {}).await?;
    let limits = std::fs::read_to_string("/proc/self/limits")?;
    let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("a Max open files line");
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers[0], numbers[1], "soft and hard limits: {line}");
    Ok(())
}

#[tokio::test]
async fn content_length_with_a_sign_is_refused_on_both_http_paths() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    for request in [
        "POST /http-bind/ HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n<b/>x",
        "GET /http-bind/ HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n<b/>x",
    ] {
        let (mut conn, mut got) = (TcpStream::connect(server.http.unwrap()).await?, Vec::new());
        conn.write_all(request.as_bytes()).await?;
        let answer = read_http_response(&mut conn, &mut got).await?;
        assert!(answer.starts_with("HTTP/1.1 400"), "{request}: {answer}");
    }
    others_are_served(&server, host(1)).await
}

#[tokio::test]
async fn websocket_upgrades_from_foreign_origins_are_refused() -> anyhow::Result<()> {
    let server = server(|c| c.http.cors_origins = vec!["https://desk.example".into()]).await?;
    for (origin, status) in [(Some("https://evil.example"), "403"), (Some("https://desk.example"), "101"), (None, "101")] {
        let origin_header = origin.map(|o| format!("Origin: {o}\r\n")).unwrap_or_default();
        let request = format!(
            "GET /ws/ HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n{origin_header}\r\n"
        );
        let (mut conn, mut got) = (TcpStream::connect(server.http.unwrap()).await?, Vec::new());
        conn.write_all(request.as_bytes()).await?;
        let answer = read_http_response(&mut conn, &mut got).await?;
        assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{origin:?}: {answer}");
    }
    Ok(())
}

/// Creates `count` sessions on one kept-alive connection from `source`; how many were made.
async fn create_many(addr: std::net::SocketAddr, source: IpAddr, count: usize) -> anyhow::Result<usize> {
    let mut conn = connect_from(addr, Some(source)).await?;
    let mut got = Vec::new();
    let body = "<body xmlns='http://jabber.org/protocol/httpbind' rid='1' to='localhost' ver='1.9' wait='5'/>";
    let request = format!("POST /http-bind/ HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    let mut created = 0;
    for _ in 0..count {
        conn.write_all(request.as_bytes()).await?;
        created += usize::from(read_http_response(&mut conn, &mut got).await?.starts_with("HTTP/1.1 200"));
    }
    Ok(created)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_sessions_give_their_memory_back_for_reuse() -> anyhow::Result<()> {
    let server = server(|c| c.bosh.unauthenticated_inactivity_secs = 1).await?;
    let addr = server.http.unwrap();
    let mut peaks = Vec::new();
    // Four times the global cap's worth of abandoned sessions, from twenty addresses each round.
    for round in 0..4u8 {
        let rounds = (1..=20u8).map(|n| tokio::spawn(create_many(addr, IpAddr::from([127, 0, 2 + round, n]), 500)));
        let mut created = 0;
        for made in futures_join(rounds).await {
            created += made?;
        }
        assert_eq!(created, 10_000, "round {round}");
        peaks.push(herald_testkit::rss_kib());
        // Closed after 1 s without a request, forgotten 1 s later.
        tokio::time::sleep(Duration::from_millis(3000)).await;
    }
    // The later rounds live in the memory the earlier ones freed: nothing was kept. (The second
    // round may still peak higher than the first: the allocator can serve it from another
    // thread's arena while the first one's free memory sits in its own; from then on the peak is
    // steady, where a leak would add a round's worth, some 20 MiB, every time — 40 MiB over the
    // last two rounds. The margin leaves room for the other tests of this binary, which run
    // beside this one in the same process.)
    assert!(peaks[3] < peaks[1] + 24 * 1024, "resident KiB at each round's peak: {peaks:?}");
    others_are_served(&server, host(1)).await
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<anyhow::Result<T>>>) -> Vec<anyhow::Result<T>> {
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.map_err(anyhow::Error::from).and_then(|r| r));
    }
    out
}

#[tokio::test]
async fn upgraded_websockets_keep_counting_against_their_addresss_share() -> anyhow::Result<()> {
    let server = server(|c| c.limits.max_connections_per_source = 5).await?;
    let mut sockets = Vec::new();
    for _ in 0..5 {
        let ws = herald_testkit::WsClient::connect_from(&server, Some("xmpp"), Some(host(1))).await?;
        sockets.push(ws.map_err(|status| anyhow::anyhow!("upgrade refused: {status}"))?);
    }
    // Five upgraded WebSockets hold the address's five places: a sixth connection is closed.
    closed_by_the_server(connect_from(server.https, Some(host(1))).await?).await?;
    others_are_served(&server, host(2)).await?;
    // Closing them gives the places back.
    drop(sockets);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(herald_testkit::WsClient::connect_from(&server, Some("xmpp"), Some(host(1))).await?.is_ok());
    Ok(())
}

#[tokio::test]
async fn a_stalled_tls_handshake_is_cut_at_its_timeout() -> anyhow::Result<()> {
    let server = server(|c| c.limits.tls_handshake_timeout_secs = 1).await?;
    // HTTPS: connected, no ClientHello.
    let started = Instant::now();
    closed_by_the_server(TcpStream::connect(server.https).await?).await?;
    assert!(started.elapsed() < Duration::from_secs(4), "held {:?}", started.elapsed());
    // STARTTLS: <proceed/>, then nothing.
    let started = Instant::now();
    let mut stalled = RawClient::connect(&server).await?;
    stalled.send(&RawClient::header("localhost")).await?;
    stalled.read_until("</stream:features>").await?;
    stalled.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").await?;
    stalled.read_until("<proceed").await?;
    stalled.read_to_close().await?;
    assert!(started.elapsed() < Duration::from_secs(4), "held {:?}", started.elapsed());
    others_are_served(&server, host(2)).await
}
