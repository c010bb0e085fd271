//! Publish-subscribe over the wire: XEP-0059 catch-up, the exact XEP-0060 error elements, the
//! node-creation policy, and a Finesse-shaped notification reaching a desktop over BOSH.

use herald_testkit::{BoshClient, RawClient, TestServer};

const PW: &str = "agent-pw";

async fn server(adjust: impl FnOnce(&mut herald::Config)) -> anyhow::Result<TestServer> {
    let server = TestServer::start_with(adjust).await?;
    for user in ["alice", "bob", "carol"] {
        server.add_user(user, PW).await?;
    }
    Ok(server)
}

fn pubsub(id: &str, kind: &str, ns: &str, body: &str) -> String {
    format!("<iq type='{kind}' id='{id}' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub{ns}'>{body}</pubsub></iq>")
}

async fn request(c: &mut RawClient, id: &str, kind: &str, ns: &str, body: &str) -> anyhow::Result<String> {
    c.send(&pubsub(id, kind, ns, body)).await?;
    let mut answer = c.read_until(&format!("id='{id}'")).await?;
    answer += &c.read_until(">").await?;
    if !answer.ends_with("/>") {
        answer += &c.read_until("</iq>").await?;
    }
    Ok(answer)
}

#[tokio::test]
async fn catch_up_after_a_known_item_over_xmpp() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut alice = RawClient::login(&server, "alice", PW, "desk").await?;
    request(&mut alice, "c", "set", "", "<create node='n'/>").await?;
    let mut ids = Vec::new();
    for i in 0..6 {
        let answer =
            request(&mut alice, &format!("p{i}"), "set", "", &format!("<publish node='n'><item><v xmlns='urn:t'>{i}</v></item></publish>"))
                .await?;
        let id = answer.split("<item id='").nth(1).unwrap().split('\'').next().unwrap().to_owned();
        ids.push(id);
    }
    let answer = request(
        &mut alice,
        "r",
        "get",
        "",
        &format!("<items node='n'/><set xmlns='http://jabber.org/protocol/rsm'><after>{}</after></set>", ids[2]),
    )
    .await?;
    let got: Vec<&str> = answer.split("<item id='").skip(1).map(|s| s.split('\'').next().unwrap()).collect();
    assert_eq!(got, ids[3..].iter().map(String::as_str).collect::<Vec<_>>(), "{answer}");
    assert!(answer.contains("<count>3</count>") && answer.contains(&format!("<last>{}</last>", ids[5])), "{answer}");
    let answer = request(&mut alice, "m", "get", "", "<items node='n' max_items='2'/>").await?;
    assert_eq!(answer.matches("<item id=").count(), 2);
    Ok(())
}

#[tokio::test]
async fn errors_carry_the_xep_0060_conditions() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut alice = RawClient::login(&server, "alice", PW, "desk").await?;
    let mut bob = RawClient::login(&server, "bob", PW, "desk").await?;
    let form = "<configure><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field><field var='pubsub#access_model'><value>whitelist</value></field></x></configure>";
    assert!(request(&mut alice, "c", "set", "", &format!("<create node='wl'/>{form}")).await?.contains("type='result'"));
    // A whitelist node is hidden from outsiders (see pubsub_hardening.rs).
    let answer = request(&mut bob, "s", "set", "", "<subscribe node='wl' jid='bob@localhost'/>").await?;
    assert!(answer.contains("<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"), "{answer}");
    let answer = request(&mut bob, "s2", "set", "", "<subscribe node='wl' jid='alice@localhost'/>").await?;
    assert!(answer.contains("<invalid-jid xmlns='http://jabber.org/protocol/pubsub#errors'/>"), "{answer}");
    let answer = request(&mut bob, "u", "set", "", "<unsubscribe node='wl' jid='bob@localhost'/>").await?;
    assert!(answer.contains("<item-not-found"), "{answer}");
    let answer = request(&mut bob, "p", "set", "", "<publish node='wl'><item/></publish>").await?;
    assert!(answer.contains("<item-not-found"), "{answer}");
    let answer = request(&mut bob, "cfg", "get", "#owner", "<configure node='wl'/>").await?;
    assert!(answer.contains("<item-not-found"), "{answer}");
    let answer = request(&mut bob, "x", "get", "", "<items node='missing'/>").await?;
    assert!(answer.contains("<item-not-found"), "{answer}");
    let answer = request(&mut alice, "dup", "set", "", "<create node='wl'/>").await?;
    assert!(answer.contains("<conflict"), "{answer}");
    let answer = request(&mut alice, "r", "set", "", "<retract node='wl'/>").await?;
    assert!(answer.contains("<item-required"), "{answer}");
    // Owners manage the whitelist; then bob may subscribe.
    let answer = request(
        &mut alice,
        "a",
        "set",
        "#owner",
        "<affiliations node='wl'><affiliation jid='bob@localhost' affiliation='member'/></affiliations>",
    )
    .await?;
    assert!(answer.contains("type='result'"), "{answer}");
    let answer = request(&mut bob, "u2", "set", "", "<unsubscribe node='wl' jid='bob@localhost'/>").await?;
    assert!(answer.contains("<unexpected-request") && answer.contains("<not-subscribed"), "{answer}");
    assert!(request(&mut bob, "s3", "set", "", "<subscribe node='wl' jid='bob@localhost'/>").await?.contains("subscription='subscribed'"));
    // The configuration form shows the change.
    assert!(
        request(&mut alice, "cfg2", "get", "#owner", "<configure node='wl'/>")
            .await?
            .contains("<field var='pubsub#access_model'><value>whitelist</value></field>")
    );
    // Instant nodes get a generated name.
    assert!(request(&mut alice, "i", "set", "", "<create/>").await?.contains("<create node='"));
    Ok(())
}

#[tokio::test]
async fn node_creation_can_be_reserved_to_the_server() -> anyhow::Result<()> {
    let server = server(|c| c.pubsub.users_create_nodes = false).await?;
    let mut alice = RawClient::login(&server, "alice", PW, "desk").await?;
    let answer = request(&mut alice, "c", "set", "", "<create node='x'/>").await?;
    assert!(answer.contains("<not-allowed"), "{answer}");
    Ok(())
}

#[tokio::test]
async fn a_finesse_notification_reaches_a_bosh_desktop() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut alice = RawClient::login(&server, "alice", PW, "cti").await?;
    request(&mut alice, "c", "set", "", "<create node='/desk/api/User/bob'/>").await?;
    let mut bob = BoshClient::new(&server, true);
    bob.wait = 2;
    bob.login("bob", PW, "desktop").await?;
    bob.send("<presence xmlns='jabber:client'/>").await?;
    let reply = bob
        .send("<iq xmlns='jabber:client' type='set' id='sub' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='/desk/api/User/bob' jid='bob@localhost'/></pubsub></iq>")
        .await?;
    assert!(reply.body.contains("subscription='subscribed'"), "{}", reply.body);
    let update = "&lt;Update&gt;&lt;data&gt;&lt;user&gt;&lt;state&gt;READY&lt;/state&gt;&lt;/user&gt;&lt;/data&gt;&lt;event&gt;PUT&lt;/event&gt;&lt;/Update&gt;";
    request(&mut alice, "p", "set", "", &format!("<publish node='/desk/api/User/bob'><item><notification xmlns='http://jabber.org/protocol/pubsub'>{update}</notification></item></publish>")).await?;
    let reply = bob.send("").await?;
    let reply = if reply.body.contains("<event") { reply } else { bob.send("").await? };
    assert!(reply.body.contains("<message xmlns='jabber:client' from='pubsub.localhost' to='bob@localhost/desktop'"), "{}", reply.body);
    assert!(
        reply.body.contains("<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='/desk/api/User/bob'>"),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains(&format!("<notification xmlns='http://jabber.org/protocol/pubsub'>{update}</notification>")),
        "{}",
        reply.body
    );
    Ok(())
}
