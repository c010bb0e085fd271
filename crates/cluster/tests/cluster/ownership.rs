//! The ownership registry: claims seen from every node, released only by their owner, reaped
//! with a dead node.

use redis::AsyncCommands as _;

use crate::{LEASE, eventually, node, raw_connection, redis};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_are_seen_everywhere_released_by_their_owner_and_reaped_with_it() {
    let Some(redis) = redis() else { return };
    let (a, _) = node(&redis, "a", LEASE).await;
    let (b, _) = node(&redis, "b", LEASE).await;
    eventually("each sees the other", || async { a.is_live("b") && b.is_live("a") }).await;
    a.claim("bosh", "sid-1");
    a.claim("bosh", "sid:with:colons");
    a.claim("other", "sid-1");
    b.claim("bosh", "sid-2");
    a.claim("bad:kind", "sid-3");
    eventually("the claims are written", || async { b.owner("other", "sid-1").await.unwrap().as_deref() == Some("a") }).await;
    assert_eq!(b.owner("bosh", "sid-1").await.unwrap().as_deref(), Some("a"));
    assert_eq!(b.owner("bosh", "sid:with:colons").await.unwrap().as_deref(), Some("a"));
    assert_eq!(a.owner("bosh", "sid-2").await.unwrap().as_deref(), Some("b"), "this node's own claims too");
    assert_eq!(a.owner("bosh", "sid-3").await.unwrap(), None);
    assert_eq!(a.owner("bad:kind", "sid-3").await.unwrap(), None, "a kind with a ':' is refused");

    a.release("bosh", "sid-1");
    eventually("released", || async { b.owner("bosh", "sid-1").await.unwrap().is_none() }).await;
    assert_eq!(b.owner("other", "sid-1").await.unwrap().as_deref(), Some("a"), "per kind");
    // A release by a node that no longer owns the key leaves the newer claim alone.
    b.claim("bosh", "sid:with:colons");
    a.release("bosh", "sid:with:colons");
    a.claim("bosh", "sid-4");
    eventually("a's later claim is written", || async { b.owner("bosh", "sid-4").await.unwrap().is_some() }).await;
    assert_eq!(a.owner("bosh", "sid:with:colons").await.unwrap().as_deref(), Some("b"));

    a.halt_for_tests();
    eventually("a dead node owns nothing", || async { b.owner("bosh", "sid-4").await.unwrap().is_none() }).await;
    let mut raw = raw_connection(&redis).await;
    eventually("a's claims are reaped", || {
        let mut raw = raw.clone();
        async move {
            let left: Option<String> = raw.hget("herald:own:other", "sid-1").await.unwrap();
            let set: bool = raw.exists("herald:owned:a").await.unwrap();
            left.is_none() && !set
        }
    })
    .await;
    let kept: Option<String> = raw.hget("herald:own:bosh", "sid:with:colons").await.unwrap();
    assert_eq!(kept.as_deref(), Some("b"), "b's claim outlives a");
    b.leave().await;
    let owned: bool = raw.exists("herald:owned:b").await.unwrap();
    let left: Option<String> = raw.hget("herald:own:bosh", "sid-2").await.unwrap();
    assert!(!owned && left.is_none(), "a clean leave removes the node's claims");
}
