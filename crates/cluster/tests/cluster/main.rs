//! `herald-cluster` against a real Redis (`TempRedis`, one per test), with short leases so a
//! dead node is noticed fast. Without `redis-server` the tests pass with "skipped", except
//! under CI (env `CI`), where they fail.

mod bus;
mod directory;
mod lease;
mod membership;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use herald_cluster::{Cluster, ClusterSettings, Envelope, Handler};
use herald_dbtest::TempRedis;

/// The lease of most tests: a dead node is gone within about this long.
pub const LEASE: Duration = Duration::from_millis(600);
/// How long a test waits for something that should happen well before.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A fresh Redis, or None (test skipped) when `redis-server` is missing outside CI.
pub fn redis() -> Option<TempRedis> {
    if !TempRedis::available() {
        assert!(std::env::var_os("CI").is_none(), "redis-server is missing under CI: run scripts/test-deps");
        eprintln!("skipped: redis-server is not installed");
        return None;
    }
    Some(TempRedis::start().expect("start redis-server"))
}

/// Settings for node `id` on `redis` with lease `lease`.
pub fn settings(redis: &TempRedis, id: &str, lease: Duration) -> ClusterSettings {
    let mut settings = ClusterSettings::new(redis.url(), id);
    settings.lease = lease;
    settings.info.host = "127.0.0.1".to_owned();
    settings
}

/// Joins and starts node `id` with a [`Recorder`].
pub async fn node(redis: &TempRedis, id: &str, lease: Duration) -> (Cluster, Arc<Recorder>) {
    let cluster = Cluster::join(settings(redis, id, lease)).await.expect("join");
    let recorder = Arc::new(Recorder::default());
    cluster.start(recorder.clone());
    (cluster, recorder)
}

/// Records what the bus brings; answers `echo` requests with the body reversed and never
/// answers `never`.
#[derive(Default)]
pub struct Recorder {
    pub messages: Mutex<Vec<Envelope>>,
    pub lost: Mutex<Vec<(String, Vec<String>)>>,
    /// The kinds of the requests the handler was given, in order.
    pub served: Mutex<Vec<String>>,
}

impl Recorder {
    pub fn bodies(&self) -> Vec<String> {
        self.messages.lock().unwrap().iter().map(|e| String::from_utf8(e.body.clone()).unwrap()).collect()
    }
    pub fn message_count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }
    pub fn lost(&self) -> Vec<(String, Vec<String>)> {
        self.lost.lock().unwrap().clone()
    }
}

impl Handler for Recorder {
    fn message(&self, envelope: Envelope) {
        self.messages.lock().unwrap().push(envelope);
    }
    fn request(&self, envelope: Envelope) -> BoxFuture<'static, Vec<u8>> {
        self.served.lock().unwrap().push(envelope.kind.clone());
        match envelope.kind.as_str() {
            "never" => Box::pin(std::future::pending()),
            _ => Box::pin(async move { envelope.body.into_iter().rev().collect() }),
        }
    }
    fn node_lost(&self, node: &str, jids: Vec<String>) {
        self.lost.lock().unwrap().push((node.to_owned(), jids));
    }
}

/// Polls `condition` every 10 ms until it holds, failing the test after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A plain connection to the test's Redis, to look at or disturb what the nodes do.
pub async fn raw_connection(redis: &TempRedis) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap()
}
