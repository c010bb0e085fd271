//! The bus: order and exactly-once delivery (also across a cut of every Redis connection),
//! requests and their replies, a gone node, a timeout.

use std::time::Duration;

use herald_cluster::{ClusterError, To};

use crate::{LEASE, eventually, node, raw_connection, redis};

const COUNT: usize = 1_000;

fn numbered(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("m{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_arrive_once_and_in_order_to_one_node_and_to_all() {
    let Some(redis) = redis() else { return };
    let (a, from_a) = node(&redis, "a", LEASE).await;
    let (b, at_b) = node(&redis, "b", LEASE).await;
    let (c, at_c) = node(&redis, "c", LEASE).await;
    eventually("a sees b and c", || async { a.is_live("b") && a.is_live("c") }).await;

    for body in numbered(COUNT) {
        a.post(To::Node("b"), "test", body.into_bytes());
    }
    eventually("b has them all", || async { at_b.message_count() >= COUNT }).await;
    assert_eq!(at_b.bodies(), numbered(COUNT));
    assert!(at_b.messages.lock().unwrap().iter().all(|e| e.from == "a" && e.kind == "test"));

    for body in numbered(COUNT) {
        a.post(To::All, "all", body.into_bytes());
    }
    eventually("b and c have them all", || async { at_b.message_count() >= 2 * COUNT && at_c.message_count() >= COUNT }).await;
    assert_eq!(at_b.bodies()[COUNT..], numbered(COUNT));
    assert_eq!(at_c.bodies(), numbered(COUNT));
    assert!(from_a.messages.lock().unwrap().is_empty(), "To::All skips the sender");
    assert_eq!(a.stats().sent.load(std::sync::atomic::Ordering::Relaxed), 3 * COUNT as u64);
    assert_eq!(a.stats().send_errors.load(std::sync::atomic::Ordering::Relaxed), 0);

    a.post(To::Node("nobody"), "test", b"lost".to_vec());
    eventually("the post to nobody is counted", || async { a.stats().send_errors.load(std::sync::atomic::Ordering::Relaxed) == 1 }).await;
    for cluster in [a, b, c] {
        cluster.leave().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_or_doubled_when_redis_drops_every_connection() {
    let Some(redis) = redis() else { return };
    let (a, _) = node(&redis, "a", LEASE).await;
    let (b, at_b) = node(&redis, "b", LEASE).await;
    eventually("a sees b", || async { a.is_live("b") }).await;
    let mut killer = raw_connection(&redis).await;

    let bodies = numbered(3 * COUNT);
    for (round, batch) in bodies.chunks(COUNT).enumerate() {
        let (before, after) = batch.split_at(COUNT / 2);
        for body in before {
            a.post(To::Node("b"), "test", body.clone().into_bytes());
        }
        // Cuts every client connection but this one, while the sender is busy: the sender's
        // (a's connection manager) and b's inbox reader at least.
        let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("normal").query_async(&mut killer).await.unwrap();
        assert!(killed >= 2, "killed {killed} connections");
        for body in after {
            a.post(To::Node("b"), "test", body.clone().into_bytes());
        }
        eventually("b has the batch", || async { at_b.message_count() >= (round + 1) * COUNT }).await;
    }
    // Whatever a retried write may have doubled is filtered before the handler.
    eventually("b's reader is idle", || {
        let mut conn = killer.clone();
        async move {
            let len: usize = redis::cmd("XLEN").arg("herald:inbox:b").query_async(&mut conn).await.unwrap();
            len <= 1
        }
    })
    .await;
    assert_eq!(at_b.bodies(), bodies);
    a.leave().await;
    b.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_answered_or_fail_as_they_should() {
    let Some(redis) = redis() else { return };
    let (a, _) = node(&redis, "a", LEASE).await;
    let (b, _) = node(&redis, "b", LEASE).await;
    let answer = a.request("b", "echo", b"abc".to_vec(), Duration::from_secs(5)).await.unwrap();
    assert_eq!(answer, b"cba");
    let concurrent = futures_util::future::join_all((0..20).map(|i| {
        let a = a.clone();
        async move { a.request("b", "echo", format!("{i:02}").into_bytes(), Duration::from_secs(5)).await.unwrap() }
    }))
    .await;
    assert_eq!(concurrent, (0..20).map(|i| format!("{i:02}").chars().rev().collect::<String>().into_bytes()).collect::<Vec<_>>());

    let gone = a.request("nobody", "echo", vec![], Duration::from_secs(5)).await;
    assert!(matches!(gone, Err(ClusterError::NodeGone { ref node }) if node == "nobody"), "{gone:?}");

    let late = a.request("b", "never", vec![], Duration::from_millis(200)).await;
    assert!(
        matches!(late, Err(ClusterError::Timeout { ref node, after }) if node == "b" && after == Duration::from_millis(200)),
        "{late:?}"
    );
    assert_eq!(a.stats().requests.load(std::sync::atomic::Ordering::Relaxed), 22);

    b.halt_for_tests();
    eventually("b's key expires", || async {
        matches!(a.request("b", "never", vec![], Duration::from_millis(50)).await, Err(ClusterError::NodeGone { .. }))
    })
    .await;
    a.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_joined_since_the_senders_last_refresh_gets_to_all() {
    let Some(redis) = redis() else { return };
    // A long lease: a refreshes its view of the live set only every 10 s.
    let slow = Duration::from_secs(30);
    let (a, _) = node(&redis, "a", slow).await;
    let mut raw = raw_connection(&redis).await;
    // a's start-up refreshes are over once its key was last renewed a while ago.
    eventually("a is between refreshes", || {
        let mut raw = raw.clone();
        async move { redis::cmd("PTTL").arg("herald:node:a").query_async::<i64>(&mut raw).await.unwrap() < 29_700 }
    })
    .await;
    let (_b, at_b) = node(&redis, "b", slow).await;
    assert!(!a.is_live("b"), "a has not refreshed since b joined");
    a.post(To::All, "all", b"hello".to_vec());
    eventually("b gets it", || async { at_b.bodies() == ["hello"] }).await;

    // An id still in the node set whose key is gone (not yet reaped): nothing is written, and
    // no inbox is created for it.
    let _: () = redis::cmd("SADD").arg("herald:nodes").arg("ghost").query_async(&mut raw).await.unwrap();
    a.post(To::Node("ghost"), "test", b"lost".to_vec());
    a.post(To::All, "all", b"again".to_vec());
    eventually("b gets the second", || async { at_b.bodies() == ["hello", "again"] }).await;
    assert_eq!(a.stats().send_errors.load(std::sync::atomic::Ordering::Relaxed), 1);
    let inbox: i64 = redis::cmd("EXISTS").arg("herald:inbox:ghost").query_async(&mut raw).await.unwrap();
    assert_eq!(inbox, 0, "no inbox for a node without a key");
    assert_eq!(a.stats().sent.load(std::sync::atomic::Ordering::Relaxed), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_sent_in_time_is_dropped_and_counted_then_the_bus_recovers() {
    let Some(redis) = redis() else { return };
    let (a, _) = node(&redis, "a", LEASE).await;
    let (_b, at_b) = node(&redis, "b", LEASE).await;
    eventually("a sees b", || async { a.is_live("b") }).await;
    redis.kill().unwrap();
    for body in numbered(COUNT) {
        a.post(To::Node("b"), "test", body.into_bytes());
    }
    let errors = || a.stats().send_errors.load(std::sync::atomic::Ordering::Relaxed);
    // Each message's deadline (2 s here) runs out; the backlog fails with the first batch.
    eventually("every message is counted as not sent", || async { errors() == COUNT as u64 }).await;
    redis.restart().unwrap();
    eventually("b is back", || async { a.is_live("b") && a.status().await.is_ok_and(|s| s.nodes.len() == 2) }).await;
    a.post(To::Node("b"), "test", b"after".to_vec());
    eventually("the bus works again", || async { at_b.bodies() == ["after"] }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_deadline_is_not_served() {
    let Some(redis) = redis() else { return };
    let (a, _) = node(&redis, "a", LEASE).await;
    // b joined but does not read its inbox yet: the request waits there past its deadline.
    let b = herald_cluster::Cluster::join(crate::settings(&redis, "b", LEASE)).await.unwrap();
    let late = a.request("b", "stale", vec![], Duration::from_millis(100)).await;
    assert!(matches!(late, Err(ClusterError::Timeout { .. })), "{late:?}");
    let at_b = std::sync::Arc::new(crate::Recorder::default());
    b.start(at_b.clone());
    assert_eq!(a.request("b", "echo", b"xy".to_vec(), Duration::from_secs(5)).await.unwrap(), b"yx");
    assert_eq!(*at_b.served.lock().unwrap(), ["echo"], "the stale request was skipped");
    assert_eq!(b.stats().received.load(std::sync::atomic::Ordering::Relaxed), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_keeps_up_with_two_thousand_messages_a_second_to_every_node() {
    let Some(redis) = redis() else { return };
    let (a, _) = node(&redis, "a", LEASE).await;
    let mut receivers = Vec::new();
    for id in ["b", "c", "d"] {
        receivers.push(node(&redis, id, LEASE).await);
    }
    eventually("a sees everyone", || async { ["b", "c", "d"].iter().all(|id| a.is_live(id)) }).await;
    let total = 6 * COUNT;
    let started = tokio::time::Instant::now();
    for body in numbered(total) {
        a.post(To::All, "all", body.into_bytes());
    }
    eventually("everyone has them all", || async { receivers.iter().all(|(_, at)| at.message_count() >= total) }).await;
    let took = started.elapsed();
    for (_, at) in &receivers {
        assert_eq!(at.bodies(), numbered(total));
    }
    eprintln!("{total} messages to 3 nodes took {took:?}");
    // One pipeline per batch (each starts by loading the sender's 3 scripts) and one fan-out
    // script per message, not one round trip per message and target.
    let mut raw = raw_connection(&redis).await;
    let stats: String = redis::cmd("INFO").arg("commandstats").query_async(&mut raw).await.unwrap();
    let calls = |command: &str| -> usize {
        let line = stats.lines().find(|line| line.starts_with(&format!("cmdstat_{command}:"))).unwrap_or_default();
        line.split(['=', ',']).nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
    };
    assert_eq!(calls("evalsha"), total, "{stats}");
    let pipelines = calls("script|load") / 3;
    assert!(pipelines > 0 && pipelines <= total / 50, "{pipelines} pipelines for {total} messages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_reader_on_a_silently_dead_connection_reconnects() {
    let Some(redis) = redis() else { return };
    let lease = Duration::from_secs(3);
    let proxy = crate::FreezingProxy::start(&redis).await;
    let (a, _) = node(&redis, "a", lease).await;
    let mut through_proxy = crate::settings(&redis, "b", lease);
    through_proxy.redis_url = proxy.url();
    let b = herald_cluster::Cluster::join(through_proxy).await.unwrap();
    assert_eq!(proxy.connections(), 1, "b's command connection");
    let at_b = std::sync::Arc::new(crate::Recorder::default());
    b.start(at_b.clone());
    a.post(To::Node("b"), "test", b"before".to_vec());
    eventually("b reads", || async { at_b.bodies() == ["before"] }).await;
    assert_eq!(proxy.connections(), 2, "b's inbox reader has its own connection");
    proxy.freeze(1);
    a.post(To::Node("b"), "test", b"after".to_vec());
    eventually("b's reader gives the dead connection up and reads again", || async { at_b.bodies() == ["before", "after"] }).await;
    assert!(proxy.connections() >= 3, "the reader reconnected");
}
