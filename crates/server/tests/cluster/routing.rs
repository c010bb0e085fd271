//! What crosses nodes between clients: messages (full and bare JID), presence between roster
//! contacts, an iq and its answer, pubsub events, and the lock-out's shared counters.

use std::time::{Duration, Instant};

use herald_testkit::{DEMO_PASSWORD, RawClient};

use crate::harness::{Cluster, count, iq, last_attr};

/// Reads `client` until `needle` arrives; fails with the nodes' log tails.
async fn expect(cluster: &Cluster, client: &mut RawClient, needle: &str) -> String {
    match client.read_until(needle).await {
        Ok(text) => text,
        Err(err) => panic!("{err:#}\n{}", cluster.tails()),
    }
}

#[tokio::test]
async fn messages_presence_and_iq_cross_nodes() {
    let Some(cluster) = Cluster::up(&["a", "b"], &[]) else { return };
    let mut x = cluster.agent("a", "1001", "desk").await.unwrap();
    let mut y = cluster.agent("b", "1002", "desk").await.unwrap();

    // Messages to the full and to the bare JID, then a marker: when the marker arrives (the
    // bus keeps one sender's order), anything sent twice would have arrived too.
    for (to, id) in [("1002@localhost/desk", "full"), ("1002@localhost", "bare"), ("1002@localhost/desk", "marker")] {
        x.send(&format!("<message to='{to}' id='m-{id}' type='chat'><body>body-{id}</body></message>")).await.unwrap();
    }
    let got = expect(&cluster, &mut y, "body-marker").await;
    assert_eq!((count(&got, "body-full"), count(&got, "body-bare")), (1, 1), "each message arrives once on B:\n{got}");
    assert!(got.find("body-full") < got.find("body-bare"), "in the order sent:\n{got}");
    assert!(got.contains("from='1001@localhost/desk'") || got.contains("from=\"1001@localhost/desk\""), "{got}");

    // A subscription through the protocol across nodes: X asks, Y approves; Y's presence then
    // reaches X on A.
    x.send("<presence to='1002@localhost' type='subscribe'/>").await.unwrap();
    expect(&cluster, &mut y, "type='subscribe'").await;
    y.send("<presence to='1001@localhost' type='subscribed'/>").await.unwrap();
    expect(&cluster, &mut x, "type='subscribed'").await;
    y.send("<presence><status>on-node-b</status></presence>").await.unwrap();
    let got = expect(&cluster, &mut x, "on-node-b").await;
    let from = last_attr(&got, "<presence", "from");
    assert_eq!(from.as_deref(), Some("1002@localhost/desk"), "Y's presence reaches X:\n{got}");

    // An iq to Y's full JID crosses to B; Y's answer crosses back to X.
    x.send("<iq type='get' id='ping-1' to='1002@localhost/desk'><ping xmlns='urn:xmpp:ping'/></iq>").await.unwrap();
    let got = expect(&cluster, &mut y, "urn:xmpp:ping").await;
    assert!(got.contains("id='ping-1'") || got.contains("id=\"ping-1\""), "{got}");
    y.send("<iq type='result' id='ping-1' to='1001@localhost/desk'/>").await.unwrap();
    let mut got = expect(&cluster, &mut x, "ping-1").await;
    got.push_str(&expect(&cluster, &mut x, ">").await);
    let answer = &got[got.rfind("<iq").unwrap_or(0)..];
    assert!(answer.contains("type='result'"), "X gets Y's answer, not an error:\n{got}");
}

#[tokio::test]
async fn a_pubsub_event_crosses_nodes_once_and_in_order() {
    let Some(cluster) = Cluster::up(&["a", "b"], &[]) else { return };
    let mut x = cluster.agent("a", "1001", "desk").await.unwrap();
    let mut y = cluster.agent("b", "1002", "desk").await.unwrap();
    let node = "cluster-news";
    let pubsub = |id: &str, ns: &str, payload: &str| {
        format!(
            "<iq type='{}' id='{id}' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/{ns}'>{payload}</pubsub></iq>",
            if id.starts_with("get") { "get" } else { "set" }
        )
    };
    let got = iq(&mut x, "create", &pubsub("create", "pubsub", &format!("<create node='{node}'/>"))).await.unwrap();
    assert!(got.contains("type='result'"), "X creates {node} on A:\n{got}");
    // Each node's view of the pubsub state follows the others' commits a moment later: Y
    // subscribes once B knows the node, X publishes once A knows the subscription.
    let subscribe = pubsub("sub", "pubsub", &format!("<subscribe node='{node}' jid='1002@localhost/desk'/>"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !iq(&mut y, "sub", &subscribe).await.unwrap().contains("type='result'") {
        assert!(Instant::now() < deadline, "Y cannot subscribe to {node} on B\n{}", cluster.tails());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let subscriptions = pubsub("get-subs", "pubsub#owner", &format!("<subscriptions node='{node}'/>"));
    while !iq(&mut x, "get-subs", &subscriptions).await.unwrap().contains("1002@localhost/desk") {
        assert!(Instant::now() < deadline, "A never learns Y's subscription to {node}\n{}", cluster.tails());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    const PUBLISHES: usize = 200;
    for n in 0..PUBLISHES {
        x.send(&format!(
            "<iq type='set' id='p{n}' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='{node}'>\
             <item id='item-{n}'><entry xmlns='urn:test'>entry-{n}.</entry></item></publish></pubsub></iq>"
        ))
        .await
        .unwrap();
    }
    expect(&cluster, &mut x, &format!("id='p{}'", PUBLISHES - 1)).await;
    let mut got = expect(&cluster, &mut y, &format!("entry-{}.", PUBLISHES - 1)).await;
    // A marker after the last event over the same bus: a duplicate would have arrived first.
    x.send("<message to='1002@localhost/desk' id='after'><body>after-marker</body></message>").await.unwrap();
    got.push_str(&expect(&cluster, &mut y, "after-marker").await);
    let seen: Vec<usize> = got.split("entry-").skip(1).filter_map(|s| s.split('.').next()).filter_map(|n| n.parse().ok()).collect();
    assert_eq!(seen, (0..PUBLISHES).collect::<Vec<_>>(), "every event once, in order, on B");
}

#[tokio::test]
async fn a_lock_out_on_one_node_holds_on_the_others() {
    let lockout = [("HERALD_AUTH__LOCKOUT_FAILURES", "3".to_owned()), ("HERALD_AUTH__LOCKOUT_SECS", "60".to_owned())];
    let Some(cluster) = Cluster::up(&["a", "b"], &lockout) else { return };
    let a = cluster.endpoint("a");
    let b = cluster.endpoint("b");
    for attempt in 0..3 {
        let (_, outcome) = RawClient::authenticate(&a, "1003", "wrong-password").await.unwrap();
        assert!(outcome.contains("<failure"), "attempt {attempt} on A fails:\n{outcome}");
    }
    // A counts each failure in Redis right after answering it: wait until the third is there.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let counters = cluster.counters().unwrap();
        if counters.iter().any(|(key, n)| key.starts_with("herald:count:lockout:user:1003") && *n >= 3) {
            break;
        }
        assert!(Instant::now() < deadline, "A's failures never reach Redis: {counters:?}\n{}", cluster.tails());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The right password on B, from the same address: locked there too.
    let (_, outcome) = RawClient::authenticate(&b, "1003", DEMO_PASSWORD).await.unwrap();
    assert!(outcome.contains("<failure"), "1003 is locked on B after 3 failures on A:\n{outcome}\n{}", cluster.tails());
    // Another account is not.
    let (_, outcome) = RawClient::authenticate(&b, "1004", DEMO_PASSWORD).await.unwrap();
    assert!(outcome.contains("<success"), "1004 signs in on B:\n{outcome}");
    // Nor is the node's own verdict only local: A refuses the right password too.
    let (_, outcome) = RawClient::authenticate(&a, "1003", DEMO_PASSWORD).await.unwrap();
    assert!(outcome.contains("<failure"), "{outcome}");
}
