//! Authentication hardening over real sockets (issue 9, findings 4, 5 and 11): failed logins
//! cannot grow the server's memory, a stranger cannot lock an agent out at her desk, a source
//! failing across many accounts is banned while others log in, and neither the SCRAM salt nor
//! the time a PLAIN failure takes tells which accounts exist. Clients play other addresses by
//! binding their sockets to other loopback addresses (127.0.0.2, …).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use herald_sasl::{HashAlg, ScramClient};
use herald_testkit::{BoshClient, RawClient, TestServer, WsClient};

const PW: &str = "agent-pw";

fn addr(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("an IP address"))
}

/// One PLAIN attempt over `slot`'s stream, opening a new one (from `source`) when there is none
/// or the server has closed it; returns the outcome (`<success` or a `<failure>`).
async fn plain_attempt(
    slot: &mut Option<RawClient>,
    server: &TestServer,
    source: Option<IpAddr>,
    user: &str,
    pw: &str,
) -> anyhow::Result<String> {
    for _ in 0..2 {
        if slot.is_none() {
            *slot = Some(RawClient::connect_tls_from(server, source).await?);
        }
        match slot.as_mut().context("connected")?.plain(user, pw).await {
            Ok(outcome) if outcome.contains("</failure>") => return Ok(outcome),
            Ok(outcome) => {
                // A success ends this stream's negotiation: the next attempt needs a new one.
                *slot = None;
                return Ok(outcome);
            }
            Err(_) => *slot = None,
        }
    }
    bail!("no answer to PLAIN for {user:.40}")
}

/// Sends a SCRAM-SHA-256 client-first for `user`; returns the server-first message.
async fn scram_first(client: &mut RawClient, user: &str) -> anyhow::Result<String> {
    let scram = ScramClient::new(HashAlg::Sha256, user, "irrelevant", b"client-nonce");
    let first = B64.encode(scram.client_first());
    client.send(&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>{first}</auth>")).await?;
    let got = client.read_until_any(&["</challenge>", "</failure>"]).await?;
    let encoded = got.split_once("'>").and_then(|(_, r)| r.strip_suffix("</challenge>")).with_context(|| format!("no challenge: {got}"))?;
    Ok(String::from_utf8(B64.decode(encoded)?)?)
}

/// The `s=…,i=…` part of a server-first message.
fn salt_and_iterations(server_first: &str) -> anyhow::Result<String> {
    Ok(server_first.split_once(",s=").context("no salt")?.1.to_owned())
}

/// A whole SCRAM attempt for `user` with a proof that cannot be right (no PBKDF2 on either
/// side); returns the outcome.
async fn scram_bogus_attempt(client: &mut RawClient, user: &str) -> anyhow::Result<String> {
    let server_first = scram_first(client, user).await?;
    let nonce = server_first.strip_prefix("r=").and_then(|r| r.split(',').next()).context("no nonce")?;
    let fin = format!("c=biws,r={nonce},p={}", B64.encode([0u8; 32]));
    client.send(&format!("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>", B64.encode(fin))).await?;
    client.read_until_any(&["</failure>", "</success>"]).await
}

/// Opens a WebSocket stream from `source` and tries PLAIN; returns the server's answer.
async fn ws_plain(server: &TestServer, source: Option<IpAddr>, user: &str, pw: &str) -> anyhow::Result<String> {
    let mut ws = WsClient::connect_from(server, Some("xmpp"), source).await?.map_err(|s| anyhow::anyhow!("upgrade refused: {s}"))?;
    ws.send(&format!("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{}' version='1.0'/>", server.domain)).await?;
    ws.recv_until("PLAIN").await?;
    let payload = B64.encode(format!("\0{user}\0{pw}"));
    ws.send(&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>")).await?;
    ws.recv().await?.context("closed instead of answering")
}

#[tokio::test]
async fn failed_logins_with_long_or_fresh_usernames_do_not_grow_memory() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| {
        // Every attempt reaches the lockout (no ban), on streams that live through the loop.
        c.auth.source_max_failures = 0;
        c.limits.negotiation_timeout_secs = 600;
        // Megabytes from one client: its byte budget is not what this test is about.
        c.limits.client_bytes_per_sec = 0;
    })
    .await?;
    server.add_user("carol", PW).await?;
    // A 30 KB name does not even reach SASL: the `<auth/>` element is over the stream's
    // pre-authentication limit, and the stream is closed.
    let mut eve = RawClient::connect_tls(&server).await?;
    let payload = B64.encode(format!("\0{}\0pw", "x".repeat(30_000)));
    eve.send(&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>")).await?;
    let closed = eve.read_to_close().await?;
    assert!(closed.contains("<policy-violation"), "{closed:.300}");
    let mut slots: Vec<Option<RawClient>> = (0..8).map(|_| None).collect();
    // Warm up: connections, buffers and the first failure paths exist before measuring.
    for (i, slot) in slots.iter_mut().enumerate() {
        plain_attempt(slot, &server, None, &format!("warm{i}"), "pw").await?;
    }
    let before = herald_testkit::rss_kib();
    // Over the 1,023-byte name cap, under the 10,000-byte pre-authentication stanza limit.
    let filler = "x".repeat(5_000);
    for i in 0..4_000 {
        let name = format!("{i:05}{filler}");
        let outcome = plain_attempt(&mut slots[i % 8], &server, None, &name, "pw").await?;
        assert!(outcome.contains("<malformed-request/>") && outcome.contains("1023"), "{outcome:.300}");
    }
    // Fresh names that fit: unknown accounts take no room either.
    let pad = "y".repeat(1_000);
    let mut scram = RawClient::connect_tls(&server).await?;
    for i in 0..2_000 {
        let outcome = scram_bogus_attempt(&mut scram, &format!("nobody{i}{pad}")).await?;
        assert!(outcome.contains("<not-authorized/>"), "{outcome:.300}");
    }
    let grown_mib = herald_testkit::rss_kib().saturating_sub(before) / 1024;
    eprintln!("resident memory grew {grown_mib} MiB over 6,000 failed logins");
    assert!(grown_mib < 40, "resident memory grew {grown_mib} MiB over 6,000 failed logins");
    let (_, outcome) = RawClient::authenticate(&server, "carol", PW).await?;
    assert!(outcome.contains("<success"), "{outcome}");
    Ok(())
}

#[tokio::test]
async fn wrong_passwords_from_another_address_do_not_lock_carol_out_at_her_desk() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.add_user("carol", PW).await?;
    let stranger = addr("127.0.0.2");
    let mut slot = None;
    for _ in 0..5 {
        let outcome = plain_attempt(&mut slot, &server, stranger, "carol", "wrong").await?;
        assert!(outcome.contains("<not-authorized/>"), "{outcome}");
    }
    // From the stranger's address carol is locked: her right password gets exactly the answer a
    // wrong password, or a name that does not exist, gets.
    let locked = plain_attempt(&mut slot, &server, stranger, "carol", PW).await?;
    let wrong = plain_attempt(&mut slot, &server, stranger, "carol", "wrong-again").await?;
    let unknown = plain_attempt(&mut slot, &server, stranger, "nobody", "wrong").await?;
    assert!(locked.contains("<not-authorized/>"), "{locked}");
    assert_eq!(locked.trim(), wrong.trim());
    assert_eq!(locked.trim(), unknown.trim());
    // At her desk (127.0.0.1) she logs in, over TCP and over BOSH.
    let (_, outcome) = RawClient::authenticate(&server, "carol", PW).await?;
    assert!(outcome.contains("<success"), "{outcome}");
    BoshClient::new(&server, true).login("carol", PW, "desk").await?;
    Ok(())
}

#[tokio::test]
async fn bosh_and_websocket_logins_are_counted_by_the_client_address() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.add_user("carol", PW).await?;
    let stranger = addr("127.0.0.4");
    let mut slot = None;
    for _ in 0..5 {
        plain_attempt(&mut slot, &server, stranger, "carol", "wrong").await?;
    }
    // The BOSH session created from the stranger's address is that address, not its sid.
    let mut from_stranger = BoshClient::new(&server, true);
    from_stranger.source = stranger;
    let refused = from_stranger.login("carol", PW, "x").await.expect_err("locked for this address");
    assert!(format!("{refused:#}").contains("<not-authorized/>"), "{refused:#}");
    BoshClient::new(&server, true).login("carol", PW, "desk").await?;
    // So is a WebSocket connection.
    assert!(ws_plain(&server, stranger, "carol", PW).await?.contains("<not-authorized/>"), "locked for this address");
    assert!(ws_plain(&server, None, "carol", PW).await?.contains("<success"));
    Ok(())
}

#[tokio::test]
async fn a_source_failing_across_many_accounts_is_banned_while_others_log_in() -> anyhow::Result<()> {
    // Defaults: 20 failures from one address, any accounts, ban it for 300 s.
    let server = TestServer::start().await?;
    for user in ["carol", "dave"] {
        server.add_user(user, PW).await?;
    }
    let attacker = addr("127.0.0.3");
    let mut slot = None;
    for i in 0..20 {
        // A few wrong passwords for carol (too few to lock her), the rest on names that do not exist.
        let user = if i % 7 == 0 { "carol".to_owned() } else { format!("guess{i}") };
        let outcome = plain_attempt(&mut slot, &server, attacker, &user, "wrong").await?;
        assert!(outcome.contains("<not-authorized/>") && !outcome.contains("too many"), "{outcome}");
    }
    for user in ["carol", "dave"] {
        let started = Instant::now();
        let outcome = plain_attempt(&mut slot, &server, attacker, user, PW).await?;
        assert!(outcome.contains("<not-authorized/>") && outcome.contains("too many failed logins from your address"), "{outcome}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    let (_, outcome) = RawClient::authenticate(&server, "carol", PW).await?;
    assert!(outcome.contains("<success"), "{outcome}");
    let (_, outcome) = RawClient::authenticate_from(&server, addr("127.0.0.5"), "dave", PW).await?;
    assert!(outcome.contains("<success"), "{outcome}");
    Ok(())
}

#[tokio::test]
async fn scram_salts_for_unknown_users_are_stable_across_exchanges_and_restarts() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.add_user("carol", PW).await?;
    let mut first = RawClient::connect_tls(&server).await?;
    let mut second = RawClient::connect_tls_from(&server, addr("127.0.0.6")).await?;
    let ghost = salt_and_iterations(&scram_first(&mut first, "ghost").await?)?;
    assert_eq!(ghost, salt_and_iterations(&scram_first(&mut second, "ghost").await?)?);
    let real = salt_and_iterations(&scram_first(&mut RawClient::connect_tls(&server).await?, "carol").await?)?;
    let other = salt_and_iterations(&scram_first(&mut RawClient::connect_tls(&server).await?, "ghost2").await?)?;
    assert_ne!(ghost, other);
    // Same shape as a real account's: a 16-byte salt and the same iteration count.
    let shape = |s: &str| s.split_once(",i=").map(|(salt, i)| (B64.decode(salt).map(|b| b.len()).ok(), i.to_owned()));
    assert_eq!(shape(&ghost), shape(&real));
    assert_eq!(shape(&ghost), Some((Some(16), "4096".to_owned())));
    let data_dir = server.stop().await?;
    let server = TestServer::start_in(data_dir, |_| {}).await?;
    let mut again = RawClient::connect_tls(&server).await?;
    assert_eq!(ghost, salt_and_iterations(&scram_first(&mut again, "ghost").await?)?, "the server secret is kept");
    Ok(())
}

#[tokio::test]
async fn plain_failures_take_as_long_for_unknown_users_as_for_real_ones() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.auth.source_max_failures = 0).await?;
    server.add_user("carol", PW).await?;
    let mut client = RawClient::connect_tls(&server).await?;
    let mut real = Vec::new();
    let mut unknown = Vec::new();
    for round in 0..6 {
        for (user, times) in [("carol", &mut real), ("nobody", &mut unknown)] {
            let started = Instant::now();
            let outcome = client.plain(user, "wrong").await?;
            let took = started.elapsed();
            assert!(outcome.contains("<not-authorized/>"), "{outcome}");
            // The first round warms both paths up.
            if round > 0 {
                times.push(took);
            }
        }
    }
    real.sort();
    unknown.sort();
    let (r, u) = (real[real.len() / 2].as_secs_f64(), unknown[unknown.len() / 2].as_secs_f64());
    eprintln!("median PLAIN failure: real {r:.6} s, unknown {u:.6} s");
    assert!(r / u < 3.0 && u / r < 3.0, "median PLAIN failure: real {r:.6} s, unknown {u:.6} s");
    Ok(())
}

#[tokio::test]
async fn guesses_run_in_parallel_get_no_further_than_guesses_in_sequence() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.add_user("carol", PW).await?;
    let stranger = addr("127.0.0.2");
    // Eight SCRAM exchanges for carol begun at once from one address, every one waiting for its
    // proof: only five (the lock's count) are verified at all.
    let mut exchanges = Vec::new();
    for n in 0..8u8 {
        let mut client = RawClient::connect_tls_from(&server, stranger).await?;
        let mut scram = ScramClient::new(HashAlg::Sha256, "carol", if n == 7 { PW } else { "guess" }, &[n; 18]);
        client
            .send(&format!(
                "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>{}</auth>",
                B64.encode(scram.client_first())
            ))
            .await?;
        let challenge = client.read_until("</challenge>").await?;
        let encoded = challenge.split_once("'>").and_then(|(_, r)| r.strip_suffix("</challenge>")).context("no challenge")?;
        let server_first = String::from_utf8(B64.decode(encoded)?)?;
        let client_final = scram.client_final(&server_first)?;
        exchanges.push((client, client_final));
    }
    let mut outcomes = Vec::new();
    for (mut client, client_final) in exchanges {
        client.send(&format!("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>", B64.encode(client_final))).await?;
        outcomes.push(client.read_until_any(&["</failure>", "</success>", "<success"]).await?);
    }
    // The eighth had the right password, but came after five guesses already under way: refused,
    // exactly as a wrong password is (it used to get in).
    assert!(outcomes.iter().all(|o| o.contains("<not-authorized/>")), "{outcomes:?}");
    // At her desk carol logs in.
    let (_, outcome) = RawClient::authenticate(&server, "carol", PW).await?;
    assert!(outcome.contains("<success"), "{outcome}");
    Ok(())
}
