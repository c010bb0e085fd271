//! Joining, the live set, leaving, a duplicate id, a bad or unreachable Redis, the status.

use herald_cluster::{Cluster, ClusterError, ClusterSettings, To};

use crate::{LEASE, eventually, node, raw_connection, redis, settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_join_see_each_other_and_leave() {
    let Some(redis) = redis() else { return };
    let (a, _) = node(&redis, "a", LEASE).await;
    let (b, _) = node(&redis, "b", LEASE).await;
    assert_eq!(a.node_id(), "a");
    eventually("a sees b", || async { a.is_live("b") }).await;
    let ids: Vec<String> = a.live_nodes().into_iter().map(|n| n.id).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(a.live_nodes()[1].host, "127.0.0.1");

    let status = a.status().await.unwrap();
    assert_eq!(status.this_node, "a");
    assert_eq!(status.nodes.iter().map(|n| (n.id.as_str(), n.live)).collect::<Vec<_>>(), [("a", true), ("b", true)]);
    assert!(status.nodes.iter().all(|n| n.lease_ms_left > 0 && n.lease_ms_left <= 600));

    b.leave().await;
    assert!(b.request("a", "echo", vec![], LEASE).await.is_err_and(|e| matches!(e, ClusterError::Stopped)));
    eventually("a sees b gone", || async { !a.is_live("b") }).await;
    let status = a.status().await.unwrap();
    assert_eq!(status.nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["a"], "b's keys are gone at once");
    a.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_node_stops_refreshing_and_is_reaped() {
    let Some(redis) = redis() else { return };
    let (a, lost_at_a) = node(&redis, "a", LEASE).await;
    let (b, _) = node(&redis, "b", LEASE).await;
    let clone = b.clone();
    drop(b);
    // Longer than b's lease: only a running refresh keeps b's key.
    tokio::time::sleep(2 * LEASE).await;
    let status = a.status().await.unwrap();
    assert!(status.nodes.iter().any(|n| n.id == "b" && n.live), "a clone keeps the node running: {status:?}");
    drop(clone);
    eventually("b's tasks stopped: a reaps it", || async { lost_at_a.lost() == [("b".to_owned(), Vec::new())] }).await;
    assert!(!a.is_live("b"));
    a.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_node_id_cannot_join_twice() {
    let Some(redis) = redis() else { return };
    let (first, _) = node(&redis, "same", LEASE).await;
    let second = Cluster::join(settings(&redis, "same", LEASE)).await;
    assert!(matches!(second, Err(ClusterError::NodeIdInUse { ref node }) if node == "same"), "{:?}", second.err());
    first.leave().await;
    let again = Cluster::join(settings(&redis, "same", LEASE)).await.expect("the id is free once its node left");
    again.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_is_named_without_its_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("redis://:hunter2@127.0.0.1:{port}/0");
    let error = Cluster::join(ClusterSettings::new(&url, "a")).await.err().expect("nobody listens there");
    let shown = error.to_string();
    assert!(matches!(error, ClusterError::Redis { .. }), "{shown}");
    assert!(shown.starts_with(&format!("Redis at redis://127.0.0.1:{port}/0: ")), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");

    let error = Cluster::join(ClusterSettings::new("redis://:hunter2@", "a")).await.err().expect("not a URL");
    assert!(matches!(error, ClusterError::Redis { .. }) && !error.to_string().contains("hunter2"), "{error}");

    let error = Cluster::join(ClusterSettings::new(&url, "not/an/id")).await.err().expect("bad id");
    assert!(matches!(error, ClusterError::InvalidSettings { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_count_within_their_window() {
    let Some(redis) = redis() else { return };
    let (a, _) = node(&redis, "a", LEASE).await;
    let (b, _) = node(&redis, "b", LEASE).await;
    let window = std::time::Duration::from_millis(1500);
    assert_eq!(a.counter_incr("alice", window).await.unwrap(), 1);
    assert_eq!(b.counter_incr("alice", window).await.unwrap(), 2, "shared between nodes");
    assert_eq!(a.counter_incr("alice", window).await.unwrap(), 3);
    assert_eq!(b.counter_get("alice").await.unwrap(), 3);
    assert_eq!(b.counter_get("bob").await.unwrap(), 0);
    eventually("the window ends", || async { a.counter_get("alice").await.unwrap() == 0 }).await;
    assert_eq!(a.counter_incr("alice", window).await.unwrap(), 1, "a new window");
    b.counter_clear("alice").await.unwrap();
    assert_eq!(a.counter_get("alice").await.unwrap(), 0);
    a.leave().await;
    b.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_dropped_from_the_node_set_or_restarted_stays_live_and_gets_messages() {
    let Some(redis) = redis() else { return };
    let (a, at_a) = node(&redis, "a", LEASE).await;
    let (b, _) = node(&redis, "b", LEASE).await;
    eventually("b sees a", || async { b.is_live("a") }).await;
    // What a reap racing a's return used to do: the id removed while a's key lives on.
    let mut raw = raw_connection(&redis).await;
    let _: () = redis::cmd("SREM").arg("herald:nodes").arg("a").query_async(&mut raw).await.unwrap();
    eventually("a is back in the node set", || async { b.status().await.unwrap().nodes.iter().any(|n| n.id == "a" && n.live) }).await;
    eventually("b sees a again", || async { b.is_live("a") }).await;
    b.post(To::All, "all", b"one".to_vec());
    eventually("a gets To::All", || async { at_a.bodies() == ["one"] }).await;

    // a restarts with the same id while b may be reaping its earlier run.
    a.halt_for_tests();
    let (again, at_again) = node(&redis, "a", LEASE).await;
    eventually("b sees the new a", || async { b.is_live("a") }).await;
    // Several of b's refreshes (each reaping what it finds dead): a stays.
    let (mut live_checks, deadline) = (0, tokio::time::Instant::now() + crate::PATIENCE);
    while live_checks < 6 {
        assert!(tokio::time::Instant::now() < deadline, "b's refreshes stalled");
        tokio::time::sleep(LEASE / 3).await;
        assert!(b.status().await.unwrap().nodes.iter().any(|n| n.id == "a" && n.live), "a was dropped");
        live_checks += 1;
    }
    b.post(To::All, "all", b"two".to_vec());
    eventually("the new a gets To::All", || async { at_again.bodies() == ["two"] }).await;
    again.leave().await;
    b.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_key_another_run_took_stops_renewing_it() {
    let Some(redis) = redis() else { return };
    let (a, _) = node(&redis, "a", LEASE).await;
    let held = a.lease("cti");
    eventually("a holds the lease", || async { *held.borrow() }).await;
    let mut raw = raw_connection(&redis).await;
    let other = r#"{"id":"a","incarnation":"someone-else"}"#;
    let _: () = redis::cmd("SET").arg("herald:node:a").arg(other).arg("PX").arg(60_000).query_async(&mut raw).await.unwrap();
    eventually("a gives up its lease", || async { !*held.borrow() }).await;
    let value: String = redis::cmd("GET").arg("herald:node:a").query_async(&mut raw).await.unwrap();
    assert_eq!(value, other, "a must not overwrite or renew another run's key");
    let ttl: i64 = redis::cmd("PTTL").arg("herald:node:a").query_async(&mut raw).await.unwrap();
    assert!(ttl > 50_000, "a renewed another run's key: {ttl}");
    a.leave().await;
    let value: String = redis::cmd("GET").arg("herald:node:a").query_async(&mut raw).await.unwrap();
    assert_eq!(value, other, "leaving leaves another run's key alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_key_expired_while_it_stalled_is_told_once_it_is_back() {
    let Some(redis) = redis() else { return };
    let (a, at_a) = node(&redis, "a", LEASE).await;
    let (b, at_b) = node(&redis, "b", LEASE).await;
    a.session_bound("alice@example.com/r1");
    eventually("b sees a's session", || async { b.locate("alice@example.com").await.is_ok_and(|l| l.len() == 1) }).await;
    // What a stall longer than the lease looks like from Redis: a's key gone, Redis up.
    let mut raw = raw_connection(&redis).await;
    let _: () = redis::cmd("DEL").arg("herald:node:a").query_async(&mut raw).await.unwrap();
    eventually("a is told it was out of the cluster", || async { at_a.rejoined() == 1 }).await;
    eventually("a's session is in the directory again", || async {
        b.locate("alice@example.com").await.is_ok_and(|l| l == [("r1".to_owned(), "a".to_owned())])
    })
    .await;
    // Later refreshes renew the key as usual: told once, and b never was.
    for _ in 0..6 {
        tokio::time::sleep(LEASE / 3).await;
    }
    assert_eq!((at_a.rejoined(), at_b.rejoined()), (1, 0));
    a.leave().await;
    b.leave().await;
}
