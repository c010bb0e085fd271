//! Black-box BOSH conformance over real HTTP and HTTPS, one test per XEP-0124/0206 checklist line
//! (xmpp-peers.md §7), including the cases of Prosody's mod_bosh_spec and MongooseIM's bosh_SUITE
//! (§11), written for Herald. Every error case also checks that another session is unaffected.

use std::time::Duration;

use herald_testkit::read_http_response as read_response;
use herald_testkit::{BoshClient, RawClient, TestServer, http_request};

const PW: &str = "agent-pw";
const EMPTY: &str = "<body xmlns='http://jabber.org/protocol/httpbind'/>";

async fn server(adjust: impl FnOnce(&mut herald::Config)) -> anyhow::Result<TestServer> {
    let server = TestServer::start_with(|c| {
        c.listen.http = Some("127.0.0.1:0".parse().unwrap());
        adjust(c);
    })
    .await?;
    for user in ["alice", "bob", "eve"] {
        server.add_user(user, PW).await?;
    }
    Ok(server)
}

/// A logged-in BOSH session keeps working: a message from a TCP client reaches it.
async fn still_serving(server: &TestServer, bob: &mut BoshClient<'_>, tag: &str) -> anyhow::Result<()> {
    let mut alice = RawClient::login(server, "alice", PW, "tcp").await?;
    let jid = bob.jid.clone().unwrap();
    alice.send(&format!("<message to='{jid}' type='chat'><body>{tag}</body></message>")).await?;
    let reply = bob.send("").await?;
    assert!(reply.body.contains(tag), "{}", reply.body);
    Ok(())
}

#[tokio::test]
async fn session_creation_over_https_and_http() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    for secure in [true, false] {
        let mut c = BoshClient::new(&server, secure);
        let reply = c.create("").await?;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("text/xml; charset=utf-8"));
        assert!(reply.header("content-length").is_some() && reply.header("transfer-encoding").is_none(), "no chunked coding");
        let sid = c.sid.clone().unwrap();
        assert_eq!(sid.len(), 32, "128-bit sid");
        for attr in [
            "wait='30'",
            "hold='1'",
            "requests='2'",
            "inactivity='60'",
            "polling='5'",
            "maxpause='120'",
            "ver='1.9'",
            "xmpp:restartlogic='true'",
            "xmpp:version='1.0'",
            "authid='",
            "from='localhost'",
        ] {
            assert!(reply.body.contains(attr), "{attr} in {}", reply.body);
        }
        assert!(reply.body.contains(if secure { "secure='true'" } else { "secure='false'" }));
        // PLAIN only where the transport is encrypted.
        assert_eq!(reply.body.contains("<mechanism>PLAIN</mechanism>"), secure, "{}", reply.body);
    }
    Ok(())
}

#[tokio::test]
async fn login_and_exchange_with_a_tcp_client() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut bob = BoshClient::new(&server, true);
    bob.wait = 2; // requests with nothing to answer are held for `wait`
    bob.login("bob", PW, "desktop").await?;
    assert_eq!(bob.jid.as_deref(), Some("bob@localhost/desktop"));
    let reply = bob.send("<presence xmlns='jabber:client'/>").await?;
    assert!(reply.body.contains("<presence"), "own presence echoed: {}", reply.body);
    still_serving(&server, &mut bob, "over bosh").await?;
    // And the other way.
    let mut alice = RawClient::login(&server, "alice", PW, "tcp2").await?;
    bob.send("<message xmlns='jabber:client' to='alice@localhost/tcp2' type='chat'><body>from bosh</body></message>").await?;
    assert!(alice.read_until("</message>").await?.contains("from='bob@localhost/desktop'"));
    Ok(())
}

#[tokio::test]
async fn held_request_returns_the_empty_body_after_wait_and_the_session_continues() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut bob = BoshClient::new(&server, true);
    bob.login("bob", PW, "d").await?;
    // Ask for wait=2 on a fresh session, then stay silent beyond it.
    let mut c = BoshClient::new(&server, true);
    c.create_with_wait(2, "").await?;
    let started = tokio::time::Instant::now();
    let reply = c.send("").await?;
    assert_eq!(reply.body, EMPTY);
    assert!(started.elapsed() >= Duration::from_millis(1900), "answered after wait, not before");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let reply = c.send_with("", "").await?;
    assert_eq!(reply.status, 200, "the next request continues the session");
    still_serving(&server, &mut bob, "after wait").await
}

#[tokio::test]
async fn inactivity_closes_the_session_and_stores_messages_offline() -> anyhow::Result<()> {
    let server = server(|c| c.bosh.inactivity_secs = 2).await?;
    let mut bob = BoshClient::new(&server, true);
    bob.login("bob", PW, "d").await?;
    bob.send("<presence xmlns='jabber:client'/>").await?;
    // Silence: no request held for 2 s closes the session; a message sent then is stored.
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let mut alice = RawClient::login(&server, "alice", PW, "tcp").await?;
    alice.send("<message to='bob@localhost' type='chat'><body>while idle</body></message>").await?;
    alice.send("<iq type='get' id='sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>").await?;
    alice.read_until("id='sync'").await?;
    let late = bob.send("").await?;
    assert!(late.body.contains("type='terminate'") || late.status == 404, "{late:?}");
    let mut again = BoshClient::new(&server, true);
    again.login("bob", PW, "d2").await?;
    let reply = again.send("<presence xmlns='jabber:client'/>").await?;
    let reply = if reply.body.contains("while idle") { reply } else { again.send("").await? };
    assert!(reply.body.contains("while idle") && reply.body.contains("urn:xmpp:delay"), "{}", reply.body);
    Ok(())
}

#[tokio::test]
async fn retransmitted_rid_gets_the_same_answer() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut c = BoshClient::new(&server, true);
    c.login("bob", PW, "d").await?;
    c.rid -= 1; // resend the bind request's rid
    let again = c.send("").await?;
    assert!(again.body.contains("<jid>bob@localhost/d</jid>"), "{}", again.body);
    Ok(())
}

#[tokio::test]
async fn out_of_order_requests_are_processed_in_rid_order() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut alice = RawClient::login(&server, "alice", PW, "tcp").await?;
    let mut c = BoshClient::new(&server, true);
    c.wait = 2; // requests with nothing to answer are held for `wait`
    c.login("bob", PW, "d").await?;
    let first = c.next_body("", "<message xmlns='jabber:client' to='alice@localhost/tcp'><body>one</body></message>")?;
    let second = c.next_body("", "<message xmlns='jabber:client' to='alice@localhost/tcp'><body>two</body></message>")?;
    // The later rid arrives first; it must wait for the earlier one.
    let (b, a) = tokio::join!(c.post_raw(second), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.post_raw(first).await
    });
    assert_eq!(a?.status, 200);
    assert_eq!(b?.status, 200);
    let got = alice.read_until("two</body>").await?;
    let (one, two) = (got.find(">one<").unwrap(), got.find(">two<").unwrap());
    assert!(one < two, "{got}");
    Ok(())
}

#[tokio::test]
async fn bad_rids_and_sids() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut bob = BoshClient::new(&server, true);
    bob.login("bob", PW, "d").await?;
    // Wrong sid: 404, as Openfire answers.
    let mut ghost = BoshClient::new(&server, true);
    ghost.sid = Some("0123456789abcdef0123456789abcdef".into());
    assert_eq!(ghost.send("").await?.status, 404);
    // Rid far outside the window: terminate item-not-found.
    let mut c = BoshClient::new(&server, true);
    c.create("").await?;
    c.rid += 1000;
    let reply = c.send("").await?;
    assert!(reply.body.contains("type='terminate'") && reply.body.contains("condition='item-not-found'"), "{}", reply.body);
    // Missing rid: terminate bad-request.
    let mut c = BoshClient::new(&server, true);
    c.create("").await?;
    let sid = c.sid.clone().unwrap();
    let reply = c.post_raw(format!("<body xmlns='http://jabber.org/protocol/httpbind' sid='{sid}'/>")).await?;
    assert!(reply.body.contains("condition='bad-request'"), "{}", reply.body);
    // A legacy client (no ver) gets HTTP codes instead.
    let mut legacy = BoshClient::new(&server, true);
    let reply = legacy
        .post_raw(format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{}' to='localhost' wait='30' hold='1'/>", legacy.rid))
        .await?;
    legacy.sid = Some(reply.body.split("sid='").nth(1).unwrap().split('\'').next().unwrap().to_owned());
    legacy.rid += 5000;
    assert_eq!(legacy.send("").await?.status, 404);
    still_serving(&server, &mut bob, "after bad rids").await
}

#[tokio::test]
async fn garbage_invalid_characters_and_oversized_bodies() -> anyhow::Result<()> {
    let server = server(|c| c.http.max_body_bytes = 64 * 1024).await?;
    let mut bob = BoshClient::new(&server, true);
    bob.login("bob", PW, "d").await?;
    let c = BoshClient::new(&server, true);
    assert_eq!(c.post_raw("this is not xml").await?.status, 400);
    assert_eq!(c.post_raw("<body xmlns='http://jabber.org/protocol/httpbind' rid='1' to='localhost'>\u{1}</body>").await?.status, 400);
    assert_eq!(c.post_raw("<body xmlns='http://jabber.org/protocol/httpbind' rid='1' to='localhost'>&#x0;</body>").await?.status, 400);
    assert_eq!(c.post_raw("<!DOCTYPE x><body/>").await?.status, 400);
    assert_eq!(c.post_raw(Vec::new()).await?.status, 400, "empty POST");
    let big = format!(
        "<body xmlns='http://jabber.org/protocol/httpbind' rid='1' to='localhost'><message xmlns='jabber:client'><body>{}</body></message></body>",
        "x".repeat(100 * 1024)
    );
    assert_eq!(c.post_raw(big).await?.status, 413);
    // Invalid characters inside a live session end only that session.
    let mut eve = BoshClient::new(&server, true);
    eve.login("eve", PW, "x").await?;
    let body = eve.next_body("", "<message xmlns='jabber:client' to='bob@localhost'><body>\u{1}</body></message>")?;
    assert_eq!(eve.post_raw(body).await?.status, 400);
    still_serving(&server, &mut bob, "after garbage").await
}

#[tokio::test]
async fn polling_too_fast_is_a_policy_violation() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut c = BoshClient::new(&server, true);
    c.login("bob", PW, "d").await?;
    let held = c.next_body("", "")?;
    let fast = c.next_body("", "")?;
    let (a, b) = tokio::join!(c.post_raw(held), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        c.post_raw(fast).await
    });
    let (a, b) = (a?, b?);
    assert!(b.body.contains("condition='policy-violation'"), "{}", b.body);
    assert_eq!(a.status, 200);
    Ok(())
}

#[tokio::test]
async fn terminate_ends_the_session_and_sends_unavailable() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut alice = RawClient::login(&server, "alice", PW, "tcp").await?;
    alice.send("<presence/>").await?;
    let mut c = BoshClient::new(&server, true);
    c.wait = 2; // requests with nothing to answer are held for `wait`
    c.login("bob", PW, "d").await?;
    c.send("<presence xmlns='jabber:client' to='alice@localhost/tcp'/>").await?;
    alice.read_until("from='bob@localhost/d'").await?;
    let reply = c.send_with("type='terminate'", "<presence xmlns='jabber:client' type='unavailable'/>").await?;
    assert!(reply.body.contains("type='terminate'"), "{}", reply.body);
    let got = alice.read_until("type='unavailable'").await? + &alice.read_until("/>").await?;
    assert!(got.contains("from='bob@localhost/d'"), "{got}");
    Ok(())
}

#[tokio::test]
async fn cors_preflight_and_get() -> anyhow::Result<()> {
    let server = server(|c| c.http.cors_origins = vec!["https://desk.example".into()]).await?;
    let pre = http_request(
        &server,
        true,
        "OPTIONS",
        "/http-bind/",
        &[
            ("origin", "https://desk.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type"),
        ],
        Vec::new(),
    )
    .await?;
    assert_eq!(pre.status, 200);
    assert_eq!(pre.header("access-control-allow-origin"), Some("https://desk.example"));
    assert!(pre.header("access-control-allow-methods").is_some_and(|m| m.contains("POST")));
    let other = http_request(
        &server,
        true,
        "OPTIONS",
        "/http-bind/",
        &[("origin", "https://evil.example"), ("access-control-request-method", "POST")],
        Vec::new(),
    )
    .await?;
    assert_eq!(other.header("access-control-allow-origin"), None);
    let get = http_request(&server, true, "GET", "/http-bind/", &[], Vec::new()).await?;
    assert_eq!(get.status, 200);
    let put = http_request(&server, true, "PUT", "/http-bind/", &[], Vec::new()).await?;
    assert_eq!(put.status, 405);
    Ok(())
}

#[tokio::test]
async fn thousands_of_idle_connections_do_not_stop_service() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    // From many addresses (each below its share), as a busy site's desktops would be.
    let mut idle = Vec::new();
    for n in 0..2000u32 {
        let source = std::net::IpAddr::from([127, 0, 1, 1 + (n % 200) as u8]);
        idle.push(herald_testkit::connect_from(server.https, Some(source)).await?);
    }
    let mut bob = BoshClient::new(&server, true);
    bob.login("bob", PW, "d").await?;
    still_serving(&server, &mut bob, "beside idle sockets").await?;
    drop(idle);
    Ok(())
}

#[tokio::test]
async fn shutdown_terminates_held_requests_with_system_shutdown() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut c = BoshClient::new(&server, true);
    c.login("bob", PW, "d").await?;
    let held = c.next_body("", "")?;
    let (reply, ()) = tokio::join!(c.post_raw(held), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.begin_stop();
    });
    let reply = reply?;
    assert!(reply.body.contains("type='terminate'") && reply.body.contains("condition='system-shutdown'"), "{}", reply.body);
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn pause_answers_at_once_and_maxpause_is_enforced() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut c = BoshClient::new(&server, true);
    c.wait = 1;
    c.login("bob", PW, "d").await?;
    let reply = c.send_with("pause='10'", "").await?;
    assert_eq!(reply.body, EMPTY, "a pause request is answered at once");
    let reply = c.send("").await;
    assert!(reply.is_ok(), "the session resumes after the pause");
    let mut c = BoshClient::new(&server, true);
    c.login("bob", PW, "e").await?;
    let reply = c.send_with("pause='121'", "").await?;
    assert!(reply.body.contains("condition='policy-violation'"), "{}", reply.body);
    Ok(())
}

#[tokio::test]
async fn several_stanzas_in_one_body_with_escaping() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut alice = RawClient::login(&server, "alice", PW, "tcp").await?;
    let mut c = BoshClient::new(&server, true);
    c.wait = 2;
    c.login("bob", PW, "d").await?;
    c.send(concat!(
        "<message xmlns='jabber:client' to='alice@localhost/tcp' id='a&amp;b'><body>1 &lt; 2</body></message>",
        "<message xmlns='jabber:client' to='alice@localhost/tcp'><body><![CDATA[<not markup> & more]]></body></message>"
    ))
    .await?;
    let got = alice.read_until("more</body>").await?;
    assert!(got.contains("id='a&amp;b'") && got.contains("<body>1 &lt; 2</body>"), "{got}");
    assert!(got.contains("<body>&lt;not markup&gt; &amp; more</body>"), "CDATA arrives escaped: {got}");
    Ok(())
}

#[tokio::test]
async fn a_held_long_poll_counts_as_activity() -> anyhow::Result<()> {
    let server = server(|c| c.bosh.inactivity_secs = 2).await?;
    let mut c = BoshClient::new(&server, true);
    c.create_with_wait(3, "").await?;
    // The request is held 3 s, longer than the 2 s inactivity: the session must not close.
    assert_eq!(c.send("").await?.body, EMPTY);
    let reply = c.send_with("pause='1'", "").await?;
    assert_eq!(reply.body, EMPTY, "still alive: {}", reply.body);
    Ok(())
}

#[tokio::test]
async fn a_third_unanswered_request_is_overactivity() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut c = BoshClient::new(&server, true);
    c.login("bob", PW, "d").await?;
    let (r1, r2, r3) = (c.next_body("", "")?, c.next_body("", "")?, c.next_body("", "")?);
    // r1 is held, r3 arrives before r2: with r2 three requests are unanswered at once (requests=2).
    let (a, b, d) = tokio::join!(
        c.post_raw(r1),
        async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            c.post_raw(r3).await
        },
        async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            c.post_raw(r2).await
        }
    );
    let (_, _, d) = (a?, b?, d?);
    assert!(d.body.contains("condition='policy-violation'"), "{}", d.body);
    Ok(())
}

#[tokio::test]
async fn polling_session_with_hold_zero() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut c = BoshClient::new(&server, true);
    c.hold = 0;
    let reply = c.create("").await?.body;
    assert!(reply.contains("hold='0'") && reply.contains("requests='1'"), "{reply}");
    // Polling: every request is answered at once, even with nothing to say.
    let started = tokio::time::Instant::now();
    assert_eq!(c.send("").await?.body, EMPTY);
    assert!(started.elapsed() < Duration::from_secs(2));
    // ... but not more often than `polling` allows.
    let reply = c.send("").await?;
    assert!(reply.body.contains("condition='policy-violation'"), "{}", reply.body);
    Ok(())
}

#[tokio::test]
async fn bosh_posts_on_a_kept_alive_connection_then_anything_else() -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let server = server(|c| c.http.cors_origins = vec!["https://desk.example".into()]).await?;
    let mut conn = tokio::net::TcpStream::connect(server.http.unwrap()).await?;
    let mut got = Vec::new();
    let post = |origin: &str, body: &str| {
        format!(
            "POST /http-bind/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nOrigin: {origin}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let create = "<body xmlns='http://jabber.org/protocol/httpbind' rid='100' to='localhost' wait='5' hold='1' ver='1.6' xml:lang='en'/>";
    // A cross-origin POST from an allowed origin: answered with the origin allowed.
    conn.write_all(post("https://desk.example", create).as_bytes()).await?;
    let first = read_response(&mut conn, &mut got).await?;
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    assert!(first.to_ascii_lowercase().contains("access-control-allow-origin: https://desk.example\r\n"), "{first}");
    assert!(first.contains("sid="), "{first}");
    // Another origin on the same connection: answered, but not allowed to read it.
    conn.write_all(post("https://evil.example", "<body xmlns='http://jabber.org/protocol/httpbind' rid='1' sid='nope'/>").as_bytes())
        .await?;
    let second = read_response(&mut conn, &mut got).await?;
    assert!(second.starts_with("HTTP/1.1 404"), "{second}");
    assert!(!second.to_ascii_lowercase().contains("access-control-allow-origin"), "{second}");
    // A GET and a POST sent together: the GET hands the connection over with both requests.
    let pipelined = format!("GET /http-bind/ HTTP/1.1\r\nHost: localhost\r\n\r\n{}", post("https://desk.example", "garbage"));
    conn.write_all(pipelined.as_bytes()).await?;
    let get = read_response(&mut conn, &mut got).await?;
    assert!(get.starts_with("HTTP/1.1 200") && get.contains("BOSH endpoint"), "{get}");
    let bad = read_response(&mut conn, &mut got).await?;
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    Ok(())
}

#[tokio::test]
async fn malformed_http_heads_are_refused_and_others_served() -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let server = server(|_| {}).await?;
    for (request, status) in [
        ("\u{1}\u{2} nonsense\r\n\r\n".to_owned(), "400"),
        ("POST /http-bind/ HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello".to_owned(), "400"),
        (format!("POST /http-bind/ HTTP/1.1\r\nX-Long: {}\r\n\r\n", "a".repeat(20_000)), "431"),
        (format!("POST /http-bind/ HTTP/1.1\r\nContent-Length: {}\r\n\r\n", 10 << 20), "413"),
    ] {
        let (mut conn, mut got) = (tokio::net::TcpStream::connect(server.http.unwrap()).await?, Vec::new());
        conn.write_all(request.as_bytes()).await?;
        let answer = read_response(&mut conn, &mut got).await?;
        assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{answer}");
    }
    // A session on another connection is untouched by all of that.
    let mut bob = BoshClient::new(&server, false);
    bob.create("").await?;
    bob.login("bob", PW, "desk").await?;
    still_serving(&server, &mut bob, "after-bad-heads").await
}

/// An idle session with its long poll held on the HTTP/1.1 fast path costs one task, its
/// session's: the connection waits parked with the session, not in a task of its own. When the
/// poll expires the answer comes on that connection, which is then served on.
#[tokio::test]
async fn an_idle_session_with_its_poll_held_costs_one_task() -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    const SESSIONS: usize = 20;
    let server = server(|_| {}).await?;
    let tasks = || tokio::runtime::Handle::current().metrics().num_alive_tasks();
    let post = |body: &str| format!("POST /http-bind/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    let before = tasks();
    let mut held = Vec::new();
    for _ in 0..SESSIONS {
        let mut c = BoshClient::new(&server, false);
        c.create_with_wait(2, "").await?;
        let mut conn = tokio::net::TcpStream::connect(server.http.unwrap()).await?;
        conn.write_all(post(&c.next_body("", "")?).as_bytes()).await?;
        held.push((c, conn));
    }
    // Every poll taken and held, the creating connections closed.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let added = tasks().saturating_sub(before);
    assert!(added <= SESSIONS + 2, "{added} tasks for {SESSIONS} idle sessions");
    for (c, conn) in &mut held {
        let mut got = Vec::new();
        let expired = read_response(conn, &mut got).await?;
        assert!(expired.starts_with("HTTP/1.1 200 OK\r\n") && expired.ends_with(EMPTY), "{expired}");
        conn.write_all(post(&c.next_body("pause='1'", "")?).as_bytes()).await?;
        let next = read_response(conn, &mut got).await?;
        assert!(next.starts_with("HTTP/1.1 200 OK\r\n") && next.ends_with(EMPTY), "served on after the answer: {next}");
    }
    Ok(())
}
