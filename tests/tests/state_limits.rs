//! Per-account state caps over real sockets (issue 9, findings 7, 9 and 14): offline storage
//! quotas in bytes per recipient and per sender, a victim's login after an offline flood, roster
//! size and field caps, the roster cache that presence broadcasts use, directed presences per
//! session and resources per account.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use herald::Config;
use herald_store::{RosterItem, RosterStore, Subscription};
use herald_testkit::{RawClient, TestServer};

const PW: &str = "agent-pw";

async fn server_with(users: &[&str], adjust: impl FnOnce(&mut Config)) -> anyhow::Result<TestServer> {
    let server = TestServer::start_with(|c| {
        // These tests send megabytes of 200 KiB messages from one client; the per-client byte
        // budget (tests/tests/rate_limits.rs) would stretch them to minutes.
        c.limits.client_bytes_per_sec = 0;
        adjust(c);
    })
    .await?;
    for user in users {
        server.add_user(user, PW).await?;
    }
    Ok(server)
}

/// Logs in and sends initial presence (consuming its echo).
async fn online(server: &TestServer, user: &str, resource: &str) -> anyhow::Result<RawClient> {
    let mut c = RawClient::login(server, user, PW, resource).await?;
    c.send("<presence/>").await?;
    c.read_until(&format!("from='{user}@localhost/{resource}'")).await?;
    c.read_until(">").await?;
    Ok(c)
}

/// Sends `stanza`, then a ping; returns everything the server sent back up to the ping's answer,
/// so a test can tell whether `stanza` was refused.
async fn send_and_sync(c: &mut RawClient, stanza: &str, id: &str) -> anyhow::Result<String> {
    c.send(stanza).await?;
    c.send(&format!("<iq type='get' id='{id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")).await?;
    c.read_until(&format!("id='{id}'")).await
}

fn chat(to: &str, id: &str, body_bytes: usize) -> String {
    format!("<message to='{to}@localhost' id='{id}' type='chat'><body>{}</body></message>", "a".repeat(body_bytes))
}

#[tokio::test]
async fn offline_bytes_per_recipient_are_capped_with_service_unavailable() -> anyhow::Result<()> {
    let server = server_with(&["alice", "bob"], |c| {
        c.limits.max_offline_bytes_per_user = 512 * 1024;
        c.limits.max_offline_bytes_per_sender = 64 * 1024 * 1024;
    })
    .await?;
    let mut alice = online(&server, "alice", "desk").await?;
    for n in 1..=2 {
        let got = send_and_sync(&mut alice, &chat("bob", &format!("m{n}"), 200 * 1024), &format!("p{n}")).await?;
        assert!(!got.contains("type='error'"), "message {n} fits the quota: {}", &got[..got.len().min(300)]);
    }
    // 400 KiB stored: a third 200 KiB message would pass 512 KiB.
    let got = send_and_sync(&mut alice, &chat("bob", "m3", 200 * 1024), "p3").await?;
    assert!(got.contains("id='m3'") && got.contains("type='error'") && got.contains("<service-unavailable"), "{}", &got[got.len() - 400..]);
    assert!(got.contains("offline storage for this user is full"));
    // Bob gets the two that were stored, and nothing else.
    let mut bob = RawClient::login(&server, "bob", PW, "desk").await?;
    bob.send("<presence/>").await?;
    for n in 1..=2 {
        let got = bob.read_until("</message>").await?;
        assert!(got.contains(&format!("id='m{n}'")) && got.contains("urn:xmpp:delay"), "{}", &got[..200]);
    }
    assert!(!bob.try_read(Duration::from_millis(300)).await || !bob.buffer.contains("<message"), "only two were stored");
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn offline_bytes_per_sender_are_capped_across_recipients() -> anyhow::Result<()> {
    let server = server_with(&["alice", "bob", "carol", "dave"], |c| {
        c.limits.max_offline_bytes_per_user = 64 * 1024 * 1024;
        c.limits.max_offline_bytes_per_sender = 512 * 1024;
    })
    .await?;
    let mut alice = online(&server, "alice", "desk").await?;
    for (n, to) in ["bob", "carol"].iter().enumerate() {
        let got = send_and_sync(&mut alice, &chat(to, &format!("m{n}"), 200 * 1024), &format!("p{n}")).await?;
        assert!(!got.contains("type='error'"), "to {to}: within the sender's quota");
    }
    let got = send_and_sync(&mut alice, &chat("dave", "m2", 200 * 1024), "p2").await?;
    assert!(got.contains("id='m2'") && got.contains("<service-unavailable"), "{}", &got[got.len() - 400..]);
    assert!(got.contains("you have too many messages waiting in offline storage"));
    // Once Bob has read his, Alice may store again.
    let mut bob = RawClient::login(&server, "bob", PW, "desk").await?;
    bob.send("<presence/>").await?;
    bob.read_until("</message>").await?;
    let got = send_and_sync(&mut alice, &chat("dave", "m3", 200 * 1024), "p3").await?;
    assert!(!got.contains("type='error'"), "delivered bytes no longer count");
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn victims_login_after_an_offline_flood_stays_small() -> anyhow::Result<()> {
    // The finding: 1,000 × 200 KiB stored for one user, whose login then took 400 MiB. With the
    // default quotas the flood is refused after 1 MiB, so the login loads at most that.
    let server = server_with(&["eve", "bob"], |_| {}).await?;
    let mut eve = online(&server, "eve", "x").await?;
    let mut refused = 0;
    for n in 0..300 {
        let got = send_and_sync(&mut eve, &chat("bob", &format!("m{n}"), 200 * 1024), &format!("p{n}")).await?;
        refused += usize::from(got.contains("<service-unavailable"));
    }
    assert!(refused >= 290, "the flood is refused once the quota is used: {refused} of 300");
    drop(eve);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = herald_testkit::rss_kib();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(herald_testkit::rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut bob = RawClient::login(&server, "bob", PW, "desk").await?;
    bob.send("<presence/>").await?;
    let mut delivered = 0;
    while delivered < 300 {
        match tokio::time::timeout(Duration::from_secs(2), bob.read_until("</message>")).await {
            Ok(got) => {
                got?;
                delivered += 1;
            }
            Err(_) => break,
        }
    }
    done.store(true, Ordering::Relaxed);
    sampler.await?;
    let grown_mib = peak.load(Ordering::Relaxed).saturating_sub(before) / 1024;
    eprintln!("victim's login: {delivered} messages delivered, RSS {before} KiB before, grew {grown_mib} MiB at peak");
    assert!((1..=10).contains(&delivered), "only what fits 1 MiB was stored: {delivered}");
    assert!(grown_mib < 40, "the victim's login grew the server by {grown_mib} MiB");
    server.stop().await?;
    Ok(())
}

/// A roster set of one item; returns the answer.
async fn roster_set(c: &mut RawClient, id: &str, item: &str) -> anyhow::Result<String> {
    c.send(&format!("<iq type='set' id='{id}'><query xmlns='jabber:iq:roster'>{item}</query></iq>")).await?;
    let mut got = c.read_until(&format!("id='{id}'")).await?;
    got += &c.read_until(">").await?;
    if !got.ends_with("/>") {
        got += &c.read_until("</iq>").await?;
    }
    Ok(got)
}

#[tokio::test]
async fn roster_caps_refuse_long_fields_and_full_rosters() -> anyhow::Result<()> {
    let server = server_with(&["alice"], |c| c.limits.max_roster_items = 3).await?;
    let mut alice = RawClient::login(&server, "alice", PW, "desk").await?;
    let long_name = format!("<item jid='a@localhost' name='{}'/>", "n".repeat(1024));
    let many_groups = format!("<item jid='a@localhost'>{}</item>", (0..17).map(|g| format!("<group>g{g}</group>")).collect::<String>());
    let long_group = format!("<item jid='a@localhost'><group>{}</group></item>", "g".repeat(256));
    for (id, item) in [("long-name", long_name), ("many-groups", many_groups), ("long-group", long_group)] {
        let got = roster_set(&mut alice, id, &item).await?;
        assert!(got.contains("type='error'") && got.contains("<not-acceptable"), "{id}: {got}");
    }
    // At the caps exactly, three items fit; a fourth does not, but an existing one may change.
    let groups: String = (0..16).map(|g| format!("<group>{g:0>255}</group>")).collect();
    for n in 0..3 {
        let got =
            roster_set(&mut alice, &format!("add{n}"), &format!("<item jid='c{n}@localhost' name='{}'>{groups}</item>", "n".repeat(1023)))
                .await?;
        assert!(got.contains("type='result'"), "{got}");
    }
    let got = roster_set(&mut alice, "add3", "<item jid='c3@localhost'/>").await?;
    assert!(got.contains("<policy-violation") && got.contains("the roster is full (3 items)"), "{got}");
    let got = roster_set(&mut alice, "rename", "<item jid='c0@localhost' name='Zero'/>").await?;
    assert!(got.contains("type='result'"), "{got}");
    // A subscription request to a new contact would add a fourth item too.
    let got = send_and_sync(&mut alice, "<presence to='c9@localhost' type='subscribe' id='s9'/>", "sync").await?;
    assert!(got.contains("id='s9'") && got.contains("<policy-violation"), "{got}");
    assert_eq!(server.store.roster_len("alice").await?, 3);
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn presence_broadcast_uses_the_cached_roster_until_the_last_session_ends() -> anyhow::Result<()> {
    let server = server_with(&["alice", "bob"], |_| {}).await?;
    let bob_item = RosterItem { contact: "bob@localhost".into(), subscription: Subscription::From, visible: true, ..Default::default() };
    server.store.put_roster_item("alice", &bob_item).await?;
    let mut bob = online(&server, "bob", "desk").await?;
    let mut alice = online(&server, "alice", "desk").await?;
    bob.read_until("from='alice@localhost/desk'").await?;
    bob.read_until(">").await?;
    // Changed behind the server's back: a server that re-read the store per presence would stop
    // telling Bob; the cached roster still has him.
    server.store.delete_roster_item("alice", "bob@localhost").await?;
    alice.send("<presence><status>second</status></presence>").await?;
    let got = bob.read_until("second").await?;
    assert!(got.contains("from='alice@localhost/desk'"), "{got}");
    bob.read_until("</presence>").await?;
    // The last session ends: its unavailable presence still goes by the cache, which then goes.
    drop(alice);
    let got = bob.read_until("type='unavailable'").await? + &bob.read_until(">").await?;
    assert!(got.contains("alice@localhost/desk"), "{got}");
    let mut alice = online(&server, "alice", "desk").await?;
    alice.send("<presence><status>third</status></presence>").await?;
    alice.read_until("third").await?;
    assert!(!bob.try_read(Duration::from_millis(500)).await, "the new session read the changed roster: {}", bob.buffer);
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn directed_presences_per_session_are_capped() -> anyhow::Result<()> {
    let server = server_with(&["alice"], |c| c.limits.max_directed_presences = 3).await?;
    let mut alice = online(&server, "alice", "desk").await?;
    for n in 0..3 {
        let got = send_and_sync(&mut alice, &format!("<presence to='room{n}@localhost/me'/>"), &format!("p{n}")).await?;
        assert!(!got.contains("type='error'"), "{got}");
    }
    let got = send_and_sync(&mut alice, "<presence to='room3@localhost/me' id='d3'/>", "p3").await?;
    assert!(got.contains("id='d3'") && got.contains("<policy-violation"), "{got}");
    assert!(got.contains("directed presence to 3 JIDs"), "{got}");
    // Again to one already counted is fine, and an unavailable frees a place.
    let got = send_and_sync(&mut alice, "<presence to='room0@localhost/me'/>", "p4").await?;
    assert!(!got.contains("type='error'"), "{got}");
    let got = send_and_sync(&mut alice, "<presence to='room0@localhost/me' type='unavailable'/>", "p5").await?;
    assert!(!got.contains("type='error'"), "{got}");
    let got = send_and_sync(&mut alice, "<presence to='room3@localhost/me'/>", "p6").await?;
    assert!(!got.contains("type='error'"), "{got}");
    server.stop().await?;
    Ok(())
}

/// Authenticates and asks to bind `resource`; returns the client and the bind answer.
async fn try_bind(server: &TestServer, user: &str, resource: &str) -> anyhow::Result<(RawClient, String)> {
    let (mut c, outcome) = RawClient::authenticate(server, user, PW).await?;
    anyhow::ensure!(outcome.contains("<success"), "{outcome}");
    c.buffer.clear();
    c.send(&RawClient::header("localhost")).await?;
    c.read_until("</stream:features>").await?;
    c.send(&format!("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"))
        .await?;
    let answer = c.read_until("</iq>").await?;
    Ok((c, answer))
}

#[tokio::test]
async fn resources_per_account_are_capped() -> anyhow::Result<()> {
    let server = server_with(&["alice"], |c| c.limits.max_resources_per_user = 2).await?;
    let (mut first, _) = try_bind(&server, "alice", "r1").await?;
    let (_second, _) = try_bind(&server, "alice", "r2").await?;
    let (_third, answer) = try_bind(&server, "alice", "r3").await?;
    assert!(answer.contains("type='error'") && answer.contains("<resource-constraint"), "{answer}");
    assert!(answer.contains("type='wait'"), "RFC 6120 §7.6.2.1: {answer}");
    // The same resource again still replaces the old session rather than counting as a third.
    let (_again, answer) = try_bind(&server, "alice", "r1").await?;
    assert!(answer.contains("type='result'") && answer.contains("alice@localhost/r1"), "{answer}");
    let closed = first.read_to_close().await?;
    assert!(closed.contains("<conflict"), "{closed}");
    server.stop().await?;
    Ok(())
}
