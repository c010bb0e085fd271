//! Two cores of one cluster sharing failed-login counters through the `SharedLockout` seam (an
//! in-test implementation over a map): a lock or a ban earned on one node holds on the other, and
//! a successful login clears the account's counter for every node.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald_core::{Core, CoreConfig, LockoutKind, SharedLockout};
use herald_sasl::{Account, Credentials, DecoySecret, SaslError};
use herald_store::{AccountStore, AnyStore, MemoryStore};
use tokio::sync::watch;

const DESK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
const STRANGER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 9));

/// Counters in a map (windows are the real implementation's concern), and how many writes
/// were applied, so that a test can wait for a node's queued updates.
struct Counters {
    counts: Mutex<HashMap<(LockoutKind, String), u64>>,
    writes: watch::Sender<usize>,
}

impl Counters {
    fn new() -> Arc<Self> {
        Arc::new(Self { counts: Mutex::default(), writes: watch::channel(0).0 })
    }

    /// Waits (at most five seconds) until `n` writes were applied in all.
    async fn written(&self, n: usize) {
        let mut rx = self.writes.subscribe();
        tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|w| *w >= n)).await.expect("updates applied in time").unwrap();
    }

    fn get(&self, kind: LockoutKind, key: &str) -> u64 {
        self.counts.lock().unwrap().get(&(kind, key.to_owned())).copied().unwrap_or(0)
    }
}

impl SharedLockout for Counters {
    fn record_failure<'a>(&'a self, kind: LockoutKind, key: &'a str, _window: Duration) -> Pin<Box<dyn Future<Output = u64> + Send + 'a>> {
        Box::pin(async move {
            let count = {
                let mut counts = self.counts.lock().unwrap();
                let count = counts.entry((kind, key.to_owned())).or_default();
                *count += 1;
                *count
            };
            self.writes.send_modify(|w| *w += 1);
            count
        })
    }

    fn failures<'a>(&'a self, kind: LockoutKind, key: &'a str) -> Pin<Box<dyn Future<Output = u64> + Send + 'a>> {
        Box::pin(async move { self.get(kind, key) })
    }

    fn clear<'a>(&'a self, kind: LockoutKind, key: &'a str) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            self.counts.lock().unwrap().remove(&(kind, key.to_owned()));
            self.writes.send_modify(|w| *w += 1);
        })
    }
}

/// Two cores over one store holding carol, sharing `counters`.
async fn two_nodes(counters: &Arc<Counters>, source_max_failures: u32) -> (Core, Core) {
    let store = MemoryStore::new();
    let creds = Credentials::derive("pencil", [b"0123456789abcdef", b"fedcba9876543210"], 64).unwrap();
    store.create_user("carol", &herald_core::stored_credentials(creds)).await.unwrap();
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let mut config = CoreConfig::new("example.com");
        config.lockout.source_max_failures = source_max_failures;
        config.decoy_secret = DecoySecret::new([5; 32]);
        config.shared_lockout = Some(counters.clone());
        nodes.push(Core::start(config, AnyStore::Memory(store.clone())).await.unwrap());
    }
    let b = nodes.pop().unwrap();
    (nodes.pop().unwrap(), b)
}

#[tokio::test]
async fn an_account_locked_on_one_node_is_locked_on_the_other_until_a_success() {
    let counters = Counters::new();
    let (a, b) = two_nodes(&counters, 0).await;
    let t0 = Instant::now();
    for _ in 0..4 {
        a.auth_failed(Some("carol"), &SaslError::NotAuthorized, STRANGER, t0);
    }
    counters.written(4).await;
    assert!(matches!(b.credentials("carol", STRANGER, t0).await.unwrap(), Account::Existing(_)), "four failures leave one guess");
    b.auth_failed(Some("carol"), &SaslError::NotAuthorized, STRANGER, t0);
    counters.written(5).await;
    assert_eq!(counters.get(LockoutKind::User, "carol|192.0.2.9"), 5);
    assert!(matches!(a.credentials("carol", STRANGER, t0).await.unwrap(), Account::Locked(_)), "the fifth failure was on b");
    assert!(matches!(b.credentials("carol", STRANGER, t0).await.unwrap(), Account::Locked(_)));
    assert!(matches!(b.credentials("carol", DESK, t0).await.unwrap(), Account::Existing(_)), "her desk is another source");
    // No source ban is configured: nothing counted toward one.
    assert_eq!(counters.get(LockoutKind::Source, "192.0.2.9"), 0);
    // A success (here on a, say after the local lock ended) clears the shared counter.
    a.auth_succeeded("carol", STRANGER);
    counters.written(6).await;
    assert_eq!(counters.get(LockoutKind::User, "carol|192.0.2.9"), 0);
    let third = another_node(&counters).await;
    assert!(matches!(third.credentials("carol", STRANGER, t0).await.unwrap(), Account::Existing(_)));
}

/// A third node that saw none of the failures itself: only the shared counters speak for them.
async fn another_node(counters: &Arc<Counters>) -> Core {
    two_nodes(counters, 0).await.0
}

#[tokio::test]
async fn a_source_banned_on_one_node_is_refused_on_the_other() {
    let counters = Counters::new();
    let (a, b) = two_nodes(&counters, 3).await;
    let t0 = Instant::now();
    for _ in 0..3 {
        a.auth_failed(None, &SaslError::UnknownAccount, STRANGER, t0);
    }
    counters.written(3).await;
    assert!(matches!(b.credentials("carol", STRANGER, t0).await, Err(SaslError::SourceBanned(300))));
    assert!(matches!(b.credentials("carol", DESK, t0).await, Ok(Account::Existing(_))));
}
