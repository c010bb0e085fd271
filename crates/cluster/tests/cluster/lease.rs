//! Named leases: one holder, a takeover after a dead holder's TTL, at once after a clean leave.

use std::time::Duration;

use tokio::time::Instant;

use crate::{eventually, node, redis};

const LEASE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_holds_a_lease_and_another_takes_it_over() {
    let Some(redis) = redis() else { return };
    let mut nodes = Vec::new();
    for id in ["a", "b", "c"] {
        let (cluster, _) = node(&redis, id, LEASE).await;
        let held = cluster.lease("cti");
        nodes.push((cluster, held));
    }
    let holders = |nodes: &[(herald_cluster::Cluster, tokio::sync::watch::Receiver<bool>)]| -> Vec<String> {
        nodes.iter().filter(|(_, held)| *held.borrow()).map(|(c, _)| c.node_id().to_owned()).collect()
    };
    eventually("one holder", || {
        let count = holders(&nodes).len();
        async move { count == 1 }
    })
    .await;
    let first = holders(&nodes)[0].clone();
    eventually("everyone knows the holder", || {
        let agreed = nodes.iter().all(|(c, _)| c.holder("cti").as_deref() == Some(first.as_str()));
        async move { agreed }
    })
    .await;
    assert_eq!(holders(&nodes), [first.as_str()], "still one holder after the others' refreshes");
    // The status lists the leases from `P:leases` (no keyspace scan).
    let status = nodes[0].0.status().await.unwrap();
    assert_eq!(status.leases.len(), 1, "{status:?}");
    assert_eq!((status.leases[0].name.as_str(), status.leases[0].holder.as_deref()), ("cti", Some(first.as_str())));
    assert!(status.leases[0].ms_left > 0 && status.leases[0].ms_left <= 1000, "{status:?}");
    let mut raw = crate::raw_connection(&redis).await;
    let names: Vec<String> = redis::cmd("SMEMBERS").arg("herald:leases").query_async(&mut raw).await.unwrap();
    assert_eq!(names, ["cti"]);

    // The holder freezes: another takes the lease once its TTL ran out.
    let index = nodes.iter().position(|(c, _)| c.node_id() == first).unwrap();
    let (frozen, _) = nodes.remove(index);
    frozen.halt_for_tests();
    let halted_at = Instant::now();
    eventually("a takeover", || {
        let count = holders(&nodes).len();
        async move { count == 1 }
    })
    .await;
    assert!(halted_at.elapsed() < 2 * LEASE, "took {:?}", halted_at.elapsed());
    assert!(halted_at.elapsed() >= LEASE / 3, "not before the frozen holder's TTL ran out: {:?}", halted_at.elapsed());

    // The new holder leaves cleanly: the lease is free at once and the last node takes it at
    // its next refresh, without waiting for a TTL.
    let second = holders(&nodes)[0].clone();
    let index = nodes.iter().position(|(c, _)| c.node_id() == second).unwrap();
    let (leaving, _) = nodes.remove(index);
    leaving.leave().await;
    let left_at = Instant::now();
    let status = nodes[0].0.status().await.unwrap();
    assert!(status.leases.iter().all(|l| l.holder.as_deref() != Some(second.as_str())), "released at leave: {status:?}");
    eventually("the last node takes it", || {
        let count = holders(&nodes).len();
        async move { count == 1 }
    })
    .await;
    // At its next refresh (every lease / 3), well before a TTL could have run out.
    assert!(left_at.elapsed() < LEASE, "took {:?}", left_at.elapsed());
    nodes[0].0.leave().await;
    assert!(!*nodes[0].1.borrow(), "released at leave");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_cut_off_from_redis_gives_the_lease_up_before_its_ttl_ends() {
    let Some(redis) = redis() else { return };
    let (a, _) = node(&redis, "a", LEASE).await;
    let held = a.lease("cti");
    eventually("a holds the lease", || async { *held.borrow() }).await;
    redis.kill().unwrap();
    let cut_at = Instant::now();
    // The key in Redis lives until at least a lease after the last renewal, which was sent
    // before the cut: the holder must have let go by then, so no two nodes ever act as holder.
    eventually("a lets the lease go", || async { !*held.borrow() }).await;
    // Its local deadline: the last renewal's send time (before the cut) + lease − lease / 6.
    let local_deadline = LEASE - LEASE / 6 + Duration::from_millis(50);
    assert!(cut_at.elapsed() < local_deadline, "let go only after {:?}", cut_at.elapsed());
    redis.restart().unwrap();
    eventually("a holds it again", || async { *held.borrow() }).await;
}
