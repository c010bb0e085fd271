//! Pubsub hardening over real sockets (issue 9): access taken away stops delivery at once and
//! the subscriber is told; whitelist nodes are indistinguishable from missing ones for
//! outsiders; node names, the reserved `/finesse/` namespace, nodes per owner and subscriptions
//! per JID are capped.

use herald_testkit::{RawClient, TestServer};

const PW: &str = "agent-pw";
const WHITELIST_FORM: &str = "<configure><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field><field var='pubsub#access_model'><value>whitelist</value></field></x></configure>";

async fn server(adjust: impl FnOnce(&mut herald::Config)) -> anyhow::Result<TestServer> {
    let server = TestServer::start_with(adjust).await?;
    for user in ["alice", "bob", "carol"] {
        server.add_user(user, PW).await?;
    }
    Ok(server)
}

/// Logs in and sends initial presence, as a desktop does.
async fn desk(server: &TestServer, user: &str) -> anyhow::Result<RawClient> {
    let mut c = RawClient::login(server, user, PW, "desk").await?;
    c.send("<presence/>").await?;
    Ok(c)
}

/// Sends an iq to the pubsub service and returns everything read up to the end of its answer
/// (notifications that arrived before it included).
async fn iq(c: &mut RawClient, id: &str, kind: &str, body: &str) -> anyhow::Result<String> {
    c.send(&format!("<iq type='{kind}' id='{id}' to='pubsub.localhost'>{body}</iq>")).await?;
    answer_to(c, id).await
}

/// Reads up to the end of the answer to iq `id`.
async fn answer_to(c: &mut RawClient, id: &str) -> anyhow::Result<String> {
    let mut answer = c.read_until(&format!("id='{id}'")).await?;
    answer += &c.read_until(">").await?;
    if !answer.ends_with("/>") {
        answer += &c.read_until("</iq>").await?;
    }
    Ok(answer)
}

async fn pubsub(c: &mut RawClient, id: &str, kind: &str, ns: &str, body: &str) -> anyhow::Result<String> {
    iq(c, id, kind, &format!("<pubsub xmlns='http://jabber.org/protocol/pubsub{ns}'>{body}</pubsub>")).await
}

async fn ok(c: &mut RawClient, id: &str, kind: &str, ns: &str, body: &str) -> anyhow::Result<String> {
    let answer = pubsub(c, id, kind, ns, body).await?;
    anyhow::ensure!(answer.contains("type='result'"), "{body} was refused: {answer}");
    Ok(answer)
}

/// The `<error>…</error>` of an answer.
fn error_of(answer: &str) -> &str {
    let start = answer.find("<error").unwrap_or(answer.len());
    let end = answer.find("</error>").map_or(answer.len(), |e| e + "</error>".len());
    &answer[start..end.max(start)]
}

/// Alice publishes `id`; then `sub` makes a round trip, so anything delivered to it for that
/// publish has arrived: returns what it read.
async fn publish_and_drain(alice: &mut RawClient, sub: &mut RawClient, node: &str, id: &str) -> anyhow::Result<String> {
    ok(alice, &format!("p-{id}"), "set", "", &format!("<publish node='{node}'><item id='{id}'><v xmlns='urn:t'/></item></publish>"))
        .await?;
    iq(sub, &format!("rt-{id}"), "get", "<query xmlns='http://jabber.org/protocol/disco#info'/>").await
}

#[tokio::test]
async fn affiliation_none_stops_delivery_and_tells_the_former_member() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut alice = desk(&server, "alice").await?;
    let mut bob = desk(&server, "bob").await?;
    ok(&mut alice, "c", "set", "", &format!("<create node='team'/>{WHITELIST_FORM}")).await?;
    let member = "<affiliations node='team'><affiliation jid='bob@localhost' affiliation='member'/></affiliations>";
    ok(&mut alice, "m", "set", "#owner", member).await?;
    ok(&mut bob, "s", "set", "", "<subscribe node='team' jid='bob@localhost'/>").await?;
    assert!(publish_and_drain(&mut alice, &mut bob, "team", "one").await?.contains("<item id='one'"));
    ok(&mut alice, "n", "set", "#owner", &member.replace("'member'", "'none'")).await?;
    let told = bob.read_until("</message>").await?;
    assert!(told.contains("from='pubsub.localhost'"), "{told}");
    assert!(
        told.contains("<event xmlns='http://jabber.org/protocol/pubsub#event'><subscription node='team' jid='bob@localhost'")
            && told.contains("subscription='none'"),
        "{told}"
    );
    let after = publish_and_drain(&mut alice, &mut bob, "team", "two").await?;
    assert!(!after.contains("<item id='two'"), "a former member still received: {after}");
    let subs = ok(&mut alice, "ls", "get", "#owner", "<subscriptions node='team'/>").await?;
    assert!(!subs.contains("bob@localhost"), "{subs}");
    Ok(())
}

#[tokio::test]
async fn open_to_whitelist_stops_delivery_to_non_members_and_tells_them() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut alice = desk(&server, "alice").await?;
    let mut bob = desk(&server, "bob").await?;
    let mut carol = desk(&server, "carol").await?;
    ok(&mut alice, "c", "set", "", "<create node='news'/>").await?;
    ok(
        &mut alice,
        "m",
        "set",
        "#owner",
        "<affiliations node='news'><affiliation jid='carol@localhost' affiliation='member'/></affiliations>",
    )
    .await?;
    ok(&mut bob, "s", "set", "", "<subscribe node='news' jid='bob@localhost'/>").await?;
    ok(&mut carol, "s", "set", "", "<subscribe node='news' jid='carol@localhost'/>").await?;
    assert!(publish_and_drain(&mut alice, &mut bob, "news", "one").await?.contains("<item id='one'"));
    let configure = WHITELIST_FORM.replace("<configure>", "<configure node='news'>");
    ok(&mut alice, "w", "set", "#owner", &configure).await?;
    let told = bob.read_until("</message>").await?;
    assert!(told.contains("<subscription node='news' jid='bob@localhost'") && told.contains("subscription='none'"), "{told}");
    let after = publish_and_drain(&mut alice, &mut bob, "news", "two").await?;
    assert!(!after.contains("<item id='two'") && !after.contains("<item id='one'"), "a non-member still received: {after}");
    let member = publish_and_drain(&mut alice, &mut carol, "news", "three").await?;
    assert!(member.contains("<item id='three'") && !member.contains("subscription='none'"), "{member}");
    Ok(())
}

#[tokio::test]
async fn an_outsider_cannot_tell_a_whitelist_node_from_a_missing_one() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut alice = desk(&server, "alice").await?;
    let mut bob = desk(&server, "bob").await?;
    ok(&mut alice, "c", "set", "", &format!("<create node='secret'/>{WHITELIST_FORM}")).await?;
    let requests = [
        ("info", "get", "<query xmlns='http://jabber.org/protocol/disco#info' node='NODE'/>"),
        ("items", "get", "<query xmlns='http://jabber.org/protocol/disco#items' node='NODE'/>"),
        ("read", "get", "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='NODE'/></pubsub>"),
        ("sub", "set", "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='NODE' jid='bob@localhost'/></pubsub>"),
        ("pub", "set", "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='NODE'><item/></publish></pubsub>"),
        ("cfg", "get", "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='NODE'/></pubsub>"),
    ];
    for (id, kind, body) in requests {
        let hidden = iq(&mut bob, &format!("{id}-h"), kind, &body.replace("NODE", "secret")).await?;
        let missing = iq(&mut bob, &format!("{id}-m"), kind, &body.replace("NODE", "nothing-here")).await?;
        assert!(hidden.contains("<item-not-found"), "{id}: {hidden}");
        assert_eq!(error_of(&hidden), error_of(&missing), "{id}");
        let iq_of = |a: &str| a[a.find("<iq ").unwrap_or(0)..].to_owned();
        assert_eq!(iq_of(&hidden).replace("secret", "nothing-here").replace("-h'", "-m'"), iq_of(&missing), "{id}: the answers differ");
    }
    // The owner still sees it.
    assert!(
        iq(&mut alice, "mine", "get", "<query xmlns='http://jabber.org/protocol/disco#info' node='secret'/>")
            .await?
            .contains("type='result'")
    );
    Ok(())
}

#[tokio::test]
async fn a_60_kb_node_name_is_refused_with_a_clear_error() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut alice = desk(&server, "alice").await?;
    let answer = pubsub(&mut alice, "big", "set", "", &format!("<create node='{}'/>", "n".repeat(60 * 1024))).await?;
    assert!(answer.contains("type='error'") && answer.contains("<not-acceptable"), "{}", &answer[answer.len().saturating_sub(400)..]);
    assert!(answer.contains("node names are limited to 1024 bytes"), "{}", &answer[answer.len().saturating_sub(400)..]);
    let long_id = "i".repeat(1025);
    ok(&mut alice, "c", "set", "", "<create node='n'/>").await?;
    let answer = pubsub(&mut alice, "id", "set", "", &format!("<publish node='n'><item id='{long_id}'/></publish>")).await?;
    assert!(answer.contains("<not-acceptable") && answer.contains("item ids are limited to 1024 bytes"), "{answer}");
    Ok(())
}

#[tokio::test]
async fn users_cannot_create_nodes_under_finesse() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut alice = desk(&server, "alice").await?;
    let answer = pubsub(&mut alice, "c", "set", "", "<create node='/finesse/api/User/bob'/>").await?;
    assert!(answer.contains("type='error'") && answer.contains("<forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"), "{answer}");
    // The node was not created: bob may not subscribe to it either.
    let mut bob = desk(&server, "bob").await?;
    let answer = pubsub(&mut bob, "s", "set", "", "<subscribe node='/finesse/api/User/bob' jid='bob@localhost'/>").await?;
    assert!(answer.contains("<item-not-found"), "{answer}");
    Ok(())
}

#[tokio::test]
async fn node_and_subscription_caps_refuse_at_the_limit() -> anyhow::Result<()> {
    let server = server(|c| {
        c.pubsub.max_nodes_per_owner = 3;
        c.pubsub.max_subscriptions_per_jid = 2;
    })
    .await?;
    let mut alice = desk(&server, "alice").await?;
    for i in 0..3 {
        ok(&mut alice, &format!("c{i}"), "set", "", &format!("<create node='a{i}'/>")).await?;
    }
    let answer = pubsub(&mut alice, "c3", "set", "", "<create node='a3'/>").await?;
    assert!(answer.contains("<not-allowed") && answer.contains("already owns 3 nodes"), "{answer}");
    let answer = pubsub(&mut alice, "inst", "set", "", "<create/>").await?;
    assert!(answer.contains("<not-allowed"), "instant nodes count too: {answer}");
    let mut bob = desk(&server, "bob").await?;
    ok(&mut bob, "s0", "set", "", "<subscribe node='a0' jid='bob@localhost'/>").await?;
    ok(&mut bob, "s1", "set", "", "<subscribe node='a1' jid='bob@localhost/desk'/>").await?;
    let answer = pubsub(&mut bob, "s2", "set", "", "<subscribe node='a2' jid='bob@localhost'/>").await?;
    assert!(answer.contains("<not-allowed") && answer.contains("<too-many-subscriptions"), "{answer}");
    // Deleting a node frees both a node place and the subscriptions it held.
    ok(&mut alice, "d", "set", "#owner", "<delete node='a0'/>").await?;
    ok(&mut alice, "c4", "set", "", "<create node='a3'/>").await?;
    ok(&mut bob, "s3", "set", "", "<subscribe node='a2' jid='bob@localhost'/>").await?;
    Ok(())
}

/// 400 creates with 60 KB names (24 MB of names, which the old code kept twice in memory and
/// stored) leave the server's memory where it was.
#[tokio::test]
async fn huge_node_names_do_not_grow_the_server() -> anyhow::Result<()> {
    // 24 MB from one client: its byte budget (tested elsewhere) would stretch this to minutes.
    let server = server(|c| c.limits.client_bytes_per_sec = 0).await?;
    let mut alice = desk(&server, "alice").await?;
    // Warm up the connection and the allocator with one refusal first.
    pubsub(&mut alice, "warm", "set", "", &format!("<create node='{}'/>", "w".repeat(60 * 1024))).await?;
    let before = herald_testkit::rss_kib() * 1024;
    for batch in 0..20 {
        for i in 0..20 {
            let name = format!("{batch:02}{i:02}{}", "x".repeat(60 * 1024));
            alice.send(&format!("<iq type='set' id='b{batch}-{i}' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><create node='{name}'/></pubsub></iq>")).await?;
        }
        for i in 0..20 {
            let answer = answer_to(&mut alice, &format!("b{batch}-{i}")).await?;
            assert!(answer.contains("<not-acceptable"), "{}", &answer[answer.len().saturating_sub(300)..]);
        }
    }
    let grown = (herald_testkit::rss_kib() * 1024).saturating_sub(before);
    assert!(grown < 16 << 20, "the server grew by {} MB", grown >> 20);
    Ok(())
}
