//! XMPP over TCP end to end: bad input (each case gets its documented stream error while the other
//! clients go on untouched), keepalives, certificates, replacement, shutdown and restart.

use std::time::Duration;

use herald_testkit::{RawClient, TestServer};

const PW: &str = "agent-pw";

async fn server_with_users(users: &[&str]) -> anyhow::Result<TestServer> {
    let server = TestServer::start().await?;
    for user in users {
        server.add_user(user, PW).await?;
    }
    Ok(server)
}

/// Alice can still message Bob: the server is unaffected by whatever the test did.
async fn still_serving(server: &TestServer, alice: &mut RawClient, bob: &mut RawClient, marker: &str) -> anyhow::Result<()> {
    alice.send(&format!("<message to='bob@{}' type='chat'><body>{marker}</body></message>", server.domain)).await?;
    let got = bob.read_until("</message>").await?;
    assert!(got.contains(marker) && got.contains("from='alice@localhost/desk'"), "{got}");
    Ok(())
}

/// Eve logs in, sends `payload`, and returns everything the server says until it hangs up.
async fn offender(server: &TestServer, payload: &str) -> anyhow::Result<String> {
    let mut eve = RawClient::login(server, "eve", PW, "x").await?;
    eve.send(payload).await?;
    eve.read_to_close().await
}

async fn pair(server: &TestServer) -> anyhow::Result<(RawClient, RawClient)> {
    let mut alice = RawClient::login(server, "alice", PW, "desk").await?;
    let mut bob = RawClient::login(server, "bob", PW, "desk").await?;
    for c in [&mut alice, &mut bob] {
        c.send("<presence/>").await?;
        // The server echoes the presence to its sender (RFC 6121 §4.2.2).
        c.read_until("<presence").await?;
        c.read_until(">").await?;
    }
    Ok((alice, bob))
}

#[tokio::test]
async fn invalid_xml_characters_close_only_the_offender() -> anyhow::Result<()> {
    let server = server_with_users(&["alice", "bob", "eve"]).await?;
    let (mut alice, mut bob) = pair(&server).await?;
    for bad in
        ["<message to='bob@localhost'><body>call var \u{1}</body></message>", "<message to='bob@localhost'><body>&#x1;</body></message>"]
    {
        let answer = offender(&server, bad).await?;
        assert!(answer.contains("<not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), "{answer}");
        assert!(answer.ends_with("</stream:stream>"), "{answer}");
        still_serving(&server, &mut alice, &mut bob, "after bad char").await?;
    }
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn dtd_gets_restricted_xml() -> anyhow::Result<()> {
    let server = server_with_users(&[]).await?;
    let mut c = RawClient::connect(&server).await?;
    c.send("<?xml version='1.0'?><!DOCTYPE lol [<!ENTITY lol 'lol'>]><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>").await?;
    let answer = c.read_to_close().await?;
    assert!(answer.contains("<restricted-xml xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), "{answer}");
    Ok(())
}

#[tokio::test]
async fn ten_mib_stanza_is_refused_early() -> anyhow::Result<()> {
    let server = server_with_users(&["alice", "bob", "eve"]).await?;
    let (mut alice, mut bob) = pair(&server).await?;
    let mut eve = RawClient::login(&server, "eve", PW, "x").await?;
    eve.send("<message to='bob@localhost'><body>").await?;
    let chunk = "a".repeat(64 * 1024);
    let mut sent = 0usize;
    while sent < 10 * 1024 * 1024 {
        if eve.send(&chunk).await.is_err() {
            break;
        }
        sent += chunk.len();
        if eve.try_read(Duration::from_millis(20)).await && eve.buffer.contains("policy-violation") {
            break;
        }
    }
    let answer = eve.read_to_close().await.unwrap_or_default() + &eve.buffer;
    assert!(answer.contains("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), "{answer}");
    assert!(sent < 2 * 1024 * 1024, "the server read {sent} bytes before refusing");
    still_serving(&server, &mut alice, &mut bob, "after huge stanza").await?;
    Ok(())
}

#[tokio::test]
async fn deep_nesting_is_refused() -> anyhow::Result<()> {
    let server = server_with_users(&["alice", "bob", "eve"]).await?;
    let (mut alice, mut bob) = pair(&server).await?;
    let answer = offender(&server, &format!("<message to='bob@localhost'>{}", "<a>".repeat(10_000))).await?;
    assert!(answer.contains("<policy-violation"), "{answer}");
    still_serving(&server, &mut alice, &mut bob, "after deep nesting").await?;
    Ok(())
}

#[tokio::test]
async fn spoofed_from_is_refused_and_never_delivered() -> anyhow::Result<()> {
    let server = server_with_users(&["alice", "bob", "eve"]).await?;
    let (mut alice, mut bob) = pair(&server).await?;
    let answer =
        offender(&server, "<message from='alice@localhost/desk' to='bob@localhost' type='chat'><body>spoofed</body></message>").await?;
    assert!(answer.contains("<invalid-from"), "{answer}");
    alice.send("<message to='bob@localhost' type='chat'><body>genuine</body></message>").await?;
    let got = bob.read_until("</message>").await?;
    assert!(got.contains("genuine") && !got.contains("spoofed"), "{got}");
    // A stanza with no from is stamped with the sender's full JID.
    still_serving(&server, &mut alice, &mut bob, "stamped").await?;
    Ok(())
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account() -> anyhow::Result<()> {
    let server = server_with_users(&["alice"]).await?;
    let mut wrong = String::new();
    for _ in 0..5 {
        let (_, outcome) = RawClient::authenticate(&server, "alice", "wrong").await?;
        assert!(outcome.contains("<not-authorized/>"), "{outcome}");
        wrong = outcome;
    }
    // Locked for this address: the right password gets the answer a wrong one gets (an answer
    // of its own would tell which accounts exist).
    let (_, outcome) = RawClient::authenticate(&server, "alice", PW).await?;
    assert_eq!(outcome.trim(), wrong.trim());
    Ok(())
}

#[tokio::test]
async fn silent_client_is_dropped_after_the_negotiation_timeout() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.limits.negotiation_timeout_secs = 1).await?;
    let mut c = RawClient::connect(&server).await?;
    let started = tokio::time::Instant::now();
    let answer = c.read_to_close().await?;
    assert!(answer.contains("<connection-timeout"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    Ok(())
}

#[tokio::test]
async fn stanza_before_authentication_is_not_authorized() -> anyhow::Result<()> {
    let server = server_with_users(&[]).await?;
    let mut c = RawClient::connect(&server).await?;
    c.send(&RawClient::header("localhost")).await?;
    c.read_until("</stream:features>").await?;
    c.send("<message to='alice@localhost'><body>x</body></message>").await?;
    assert!(c.read_to_close().await?.contains("<not-authorized"));
    Ok(())
}

#[tokio::test]
async fn plain_is_not_offered_before_tls() -> anyhow::Result<()> {
    let server = server_with_users(&["alice"]).await?;
    let mut c = RawClient::connect(&server).await?;
    c.send(&RawClient::header("localhost")).await?;
    let features = c.read_until("</stream:features>").await?;
    assert!(features.contains("<required/>") && !features.contains("PLAIN"), "{features}");
    c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAGFnZW50LXB3</auth>").await?;
    assert!(c.read_until("</failure>").await?.contains("<encryption-required/>"));
    Ok(())
}

#[tokio::test]
async fn same_resource_replaces_the_old_session() -> anyhow::Result<()> {
    let server = server_with_users(&["alice"]).await?;
    let mut first = RawClient::login(&server, "alice", PW, "desk").await?;
    let mut second = RawClient::login(&server, "alice", PW, "desk").await?;
    let answer = first.read_to_close().await?;
    assert!(answer.contains("<conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), "{answer}");
    second.send("<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>").await?;
    assert!(second.read_until("id='p'").await?.contains("type='result'"));
    Ok(())
}

#[tokio::test]
async fn shutdown_sends_system_shutdown_and_keeps_offline_messages() -> anyhow::Result<()> {
    let server = server_with_users(&["alice", "bob"]).await?;
    let mut alice = RawClient::login(&server, "alice", PW, "desk").await?;
    alice.send("<message to='bob@localhost' type='chat'><body>for later</body></message>").await?;
    alice.send("<iq type='get' id='sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>").await?;
    alice.read_until("id='sync'").await?;
    let closing = tokio::spawn(async move { alice.read_to_close().await });
    let dir = server.stop().await?;
    let answer = closing.await??;
    assert!(answer.contains("<system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), "{answer}");
    // The offline message survives the restart and arrives with a delay stamp.
    let server = TestServer::start_in(dir, |_| {}).await?;
    let mut bob = RawClient::login(&server, "bob", PW, "desk").await?;
    bob.send("<presence/>").await?;
    let got = bob.read_until("</message>").await?;
    assert!(got.contains("for later") && got.contains("<delay xmlns='urn:xmpp:delay' from='localhost' stamp='"), "{got}");
    Ok(())
}

#[tokio::test]
async fn unknown_iq_and_remote_domains_get_errors() -> anyhow::Result<()> {
    let server = server_with_users(&["alice"]).await?;
    let mut alice = RawClient::login(&server, "alice", PW, "desk").await?;
    alice.send("<iq type='get' id='u1' to='localhost'><query xmlns='urn:example:unknown'/></iq>").await?;
    assert!(alice.read_until("</iq>").await?.contains("<service-unavailable"));
    alice.send("<message to='x@elsewhere.example' id='r1'><body>x</body></message>").await?;
    assert!(alice.read_until("</message>").await?.contains("<remote-server-not-found"));
    alice.send("<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>").await?;
    assert!(alice.read_until("</iq>").await?.contains("<name>Herald</name>"));
    Ok(())
}

#[tokio::test]
async fn whitespace_keepalives_are_tolerated() -> anyhow::Result<()> {
    let server = server_with_users(&["alice"]).await?;
    let mut alice = RawClient::login(&server, "alice", PW, "desk").await?;
    for _ in 0..3 {
        alice.send(" \n\t").await?;
    }
    alice.send("<iq type='get' id='after-keepalive' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>").await?;
    assert!(alice.read_until("id='after-keepalive'").await?.contains("type='result'"));
    Ok(())
}

#[tokio::test]
async fn a_configured_certificate_replaces_the_generated_one() -> anyhow::Result<()> {
    let elsewhere = tempfile::tempdir()?;
    let (_, files) = herald_net::load_or_generate(None, elsewhere.path(), "localhost")?;
    let server = TestServer::start_with(|c| {
        c.tls.cert = Some(files.cert.clone());
        c.tls.key = Some(files.key.clone());
    })
    .await?;
    server.add_user("alice", PW).await?;
    assert_eq!(server.cert_path(), files.cert);
    assert!(!server.data_dir.path().join("tls").exists(), "no certificate is generated when one is configured");
    RawClient::login(&server, "alice", PW, "desk").await?;
    Ok(())
}
