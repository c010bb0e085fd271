//! The session directory and the reaping of a dead node's sessions.

use std::time::Duration;

use crate::{LEASE, eventually, node, redis};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_located_and_a_dead_nodes_are_reaped_once() {
    let Some(redis) = redis() else { return };
    let (a, _) = node(&redis, "a", LEASE).await;
    let (b, lost_at_b) = node(&redis, "b", LEASE).await;
    let (c, lost_at_c) = node(&redis, "c", LEASE).await;
    a.session_bound("alice@example.com/r1");
    a.session_bound("alice@example.com/r2");
    b.session_bound("alice@example.com/r3");
    c.session_bound("bob@example.com/desk");
    c.session_bound("not-a-full-jid");
    let everywhere = || vec![("r1".to_owned(), "a".to_owned()), ("r2".to_owned(), "a".to_owned()), ("r3".to_owned(), "b".to_owned())];
    eventually("all bound", || async { c.locate("alice@example.com").await.unwrap() == everywhere() }).await;
    eventually("a sees everyone", || async { a.is_live("b") && a.is_live("c") }).await;
    assert_eq!(a.locate("bob@example.com").await.unwrap(), [("desk".to_owned(), "c".to_owned())]);

    a.session_unbound("alice@example.com/r2");
    eventually("r2 unbound", || async { b.locate("alice@example.com").await.unwrap().len() == 2 }).await;
    // An unbind from a node that no longer holds the resource leaves the newer binding alone.
    c.session_unbound("alice@example.com/r3");
    a.session_bound("alice@example.com/r2");
    eventually("r2 bound again", || async { b.locate("alice@example.com").await.unwrap() == everywhere() }).await;

    a.halt_for_tests();
    eventually("a's sessions are not located", || async {
        b.locate("alice@example.com").await.unwrap() == [("r3".to_owned(), "b".to_owned())]
            && c.locate("alice@example.com").await.unwrap() == [("r3".to_owned(), "b".to_owned())]
    })
    .await;
    eventually("a is reaped", || async { lost_at_b.lost().len() + lost_at_c.lost().len() >= 1 }).await;
    eventually("a is out of the node set", || async { b.status().await.unwrap().nodes.iter().all(|n| n.id != "a") }).await;
    // Give the other survivor time for two more refreshes: it must not report a again.
    tokio::time::sleep(LEASE).await;
    let lost: Vec<_> = lost_at_b.lost().into_iter().chain(lost_at_c.lost()).collect();
    assert_eq!(lost, [("a".to_owned(), vec!["alice@example.com/r1".to_owned(), "alice@example.com/r2".to_owned()])]);
    let stats_lost = [&b, &c].iter().map(|n| n.stats().lost_nodes.load(std::sync::atomic::Ordering::Relaxed)).sum::<u64>();
    assert_eq!(stats_lost, 1);

    b.leave().await;
    assert_eq!(c.locate("alice@example.com").await.unwrap(), [], "a clean leave removes the directory entries at once");
    c.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_reports_what_its_earlier_run_left() {
    let Some(redis) = redis() else { return };
    let lease = Duration::from_millis(300);
    let (first, _) = node(&redis, "a", lease).await;
    first.session_bound("alice@example.com/r1");
    eventually("bound", || async { first.locate("alice@example.com").await.unwrap().len() == 1 }).await;
    first.halt_for_tests();
    // Rejoins with the same id as soon as the old key expires; nobody else reaped it.
    let (again, reported) = node(&redis, "a", lease).await;
    assert_eq!(again.locate("alice@example.com").await.unwrap(), []);
    assert_eq!(reported.lost(), [("a".to_owned(), vec!["alice@example.com/r1".to_owned()])]);
    again.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_comes_back_after_a_redis_restart() {
    let Some(redis) = redis() else { return };
    let (a, at_a) = node(&redis, "a", LEASE).await;
    let (b, at_b) = node(&redis, "b", LEASE).await;
    let held = a.lease("cti");
    a.session_bound("alice@example.com/r1");
    a.claim("bosh", "sid-1");
    eventually("a holds the lease and b sees a", || async { *held.borrow() && b.is_live("a") }).await;

    eventually("the claim is written", || async { b.owner("bosh", "sid-1").await.unwrap().is_some() }).await;
    // Redis restarts empty (no persistence): each node sets its key, its sessions, its claims
    // and the lease again, and the bus resumes.
    redis.restart().unwrap();
    eventually("the directory is back", || async {
        b.locate("alice@example.com").await.is_ok_and(|located| located == [("r1".to_owned(), "a".to_owned())])
    })
    .await;
    eventually("the claim is back", || async { b.owner("bosh", "sid-1").await.is_ok_and(|owner| owner.as_deref() == Some("a")) }).await;
    eventually("the live set is back", || async { a.is_live("b") && b.is_live("a") }).await;
    // Messages sent to them while Redis was gone are lost with it: each is told, once.
    eventually("both are told they were out of the cluster", || async { at_a.rejoined() == 1 && at_b.rejoined() == 1 }).await;
    eventually("the lease is held again", || async { a.holder("cti").as_deref() == Some("a") && *held.borrow() }).await;
    a.post(herald_cluster::To::Node("b"), "test", b"after".to_vec());
    eventually("the bus works again", || async { at_b.bodies() == ["after"] }).await;
    assert_eq!(a.request("b", "echo", b"ab".to_vec(), Duration::from_secs(5)).await.unwrap(), b"ba");
    a.leave().await;
    b.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jid_bound_again_on_a_survivor_is_not_reported_lost() {
    let Some(redis) = redis() else { return };
    let lease = Duration::from_secs(1);
    let (a, lost_at_a) = node(&redis, "a", lease).await;
    let (b, lost_at_b) = node(&redis, "b", lease).await;
    a.session_bound("alice@example.com/r1");
    a.session_bound("alice@example.com/r2");
    eventually("a's sessions are located", || async { b.locate("alice@example.com").await.unwrap().len() == 2 }).await;
    a.halt_for_tests();
    // r1 moves to b before a's key expires and b reaps a.
    b.session_bound("alice@example.com/r1");
    let moved = || vec![("r1".to_owned(), "b".to_owned()), ("r2".to_owned(), "a".to_owned())];
    eventually("r1 is on b", || async { b.locate("alice@example.com").await.unwrap() == moved() }).await;
    eventually("a is reaped", || async { !lost_at_b.lost().is_empty() }).await;
    assert_eq!(lost_at_b.lost(), [("a".to_owned(), vec!["alice@example.com/r2".to_owned()])]);
    assert!(lost_at_a.lost().is_empty());
    assert_eq!(b.locate("alice@example.com").await.unwrap(), [("r1".to_owned(), "b".to_owned())]);
    b.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_lists_every_session_on_live_nodes() {
    let Some(redis) = redis() else { return };
    let (a, _) = node(&redis, "a", LEASE).await;
    let (b, _) = node(&redis, "b", LEASE).await;
    let (c, _) = node(&redis, "c", LEASE).await;
    a.session_bound("alice@example.com/r1");
    b.session_bound("bob@example.com/desk");
    b.session_bound("alice@example.com/r2");
    c.session_bound("carol@example.com/x");
    let expected = |with_c: bool| {
        let mut entries = vec![
            ("alice@example.com/r1".to_owned(), "a".to_owned()),
            ("alice@example.com/r2".to_owned(), "b".to_owned()),
            ("bob@example.com/desk".to_owned(), "b".to_owned()),
        ];
        if with_c {
            entries.push(("carol@example.com/x".to_owned(), "c".to_owned()));
        }
        entries
    };
    eventually("every session listed", || async { a.directory_entries().await.unwrap() == expected(true) }).await;
    c.halt_for_tests();
    eventually("a dead node's sessions are not listed", || async { b.directory_entries().await.unwrap() == expected(false) }).await;
    a.leave().await;
    b.leave().await;
}
