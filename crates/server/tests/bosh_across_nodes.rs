//! Any node serves any BOSH request (issue 15): two in-process Herald nodes joined through a
//! real Redis (`TempRedis`), a BOSH session created and logged in on node A, then served
//! entirely through node B — a long poll held on A for B's client and released by a message
//! from a user on B, terminate — with no sticky load balancer. Skipped when `redis-server` is
//! not installed, unless `CI` is set.

use std::time::Duration;

use herald_dbtest::TempRedis;
use herald_testkit::{BoshClient, RawClient, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A node of the cluster on `redis`, with its own store (BOSH forwarding needs no shared one).
async fn node(redis: &TempRedis, id: &str) -> TestServer {
    let (url, id) = (redis.url(), id.to_owned());
    TestServer::start_with(move |config| {
        config.cluster.redis = Some(url);
        config.cluster.node_id = Some(id);
        config.cluster.lease_secs = 2;
        herald_testkit::enable_admin(config);
    })
    .await
    .expect("a cluster node starts")
}

/// `GET /metrics` on `node`'s admin listener: the body.
async fn scrape(node: &TestServer) -> String {
    let mut tcp = tokio::net::TcpStream::connect(node.admin.expect("admin on")).await.unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await.unwrap().unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bosh_session_of_node_a_is_served_through_node_b() {
    if !TempRedis::available() {
        assert!(std::env::var_os("CI").is_none(), "redis-server is missing under CI");
        eprintln!("skipped: redis-server is not installed");
        return;
    }
    let redis = TempRedis::start().unwrap();
    let a = node(&redis, "a").await;
    let b = node(&redis, "b").await;
    a.add_user("carol", "pencil-1").await.unwrap();
    b.add_user("bob", "pencil-2").await.unwrap();

    let mut at_a = BoshClient::new(&a, true);
    at_a.login("carol", "pencil-1", "desk").await.unwrap();
    // From here on carol's desktop talks to node B only.
    let mut through_b = BoshClient::new(&b, true);
    (through_b.sid, through_b.rid, through_b.jid) = (at_a.sid.clone(), at_a.rid, at_a.jid.clone());
    let reply = through_b.send("<presence xmlns='jabber:client'/>").await.unwrap();
    assert_eq!(reply.status, 200, "{reply:?}");

    // A long poll sent to B is held on A until bob, on B, writes to carol.
    let held = through_b.next_body("", "").unwrap();
    let reply = {
        let poll = through_b.post_raw(held);
        tokio::pin!(poll);
        assert!(tokio::time::timeout(Duration::from_millis(300), &mut poll).await.is_err(), "the long poll is held");
        let mut bob = RawClient::login(&b, "bob", "pencil-2", "pc").await.unwrap();
        bob.send("<message to='carol@localhost/desk' type='chat'><body>from node b</body></message>").await.unwrap();
        tokio::time::timeout(Duration::from_secs(20), poll).await.expect("released by the message").unwrap()
    };
    assert!(reply.status == 200 && reply.body.contains("from node b"), "{reply:?}");

    let reply = through_b.send_with("type='terminate'", "<presence xmlns='jabber:client' type='unavailable'/>").await.unwrap();
    assert!(reply.status == 200 && reply.body.contains("type='terminate'"), "{reply:?}");
    // A sid no node holds is unknown through either node.
    let mut stranger = BoshClient::new(&b, true);
    stranger.sid = Some("0123456789abcdef0123456789abcdef".into());
    assert_eq!(stranger.send("").await.unwrap().status, 404);
    // B counts what it forwarded: the presence, the poll and the terminate.
    let forwarded =
        |metrics: String| metrics.lines().find(|l| l.starts_with("herald_cluster_forwarded_total{kind=\"rest\"}")).map(str::to_owned);
    assert_eq!(forwarded(scrape(&b).await).as_deref(), Some("herald_cluster_forwarded_total{kind=\"rest\"} 3"));
    assert_eq!(forwarded(scrape(&a).await).as_deref(), Some("herald_cluster_forwarded_total{kind=\"rest\"} 0"));
    drop((at_a, through_b, stranger));
    b.stop().await.unwrap();
    a.stop().await.unwrap();
}
