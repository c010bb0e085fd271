//! `herald-cluster` against a real Redis (`TempRedis`, one per test), with short leases so a
//! dead node is noticed fast. Without `redis-server` the tests pass with "skipped", except
//! under CI (env `CI`), where they fail.

mod bus;
mod directory;
mod lease;
mod membership;
mod ownership;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// How many times the node was told it was back after being out of the cluster.
    pub rejoined: AtomicUsize,
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
    pub fn rejoined(&self) -> usize {
        self.rejoined.load(Ordering::SeqCst)
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
    fn rejoined(&self) {
        self.rejoined.fetch_add(1, Ordering::SeqCst);
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

/// A TCP proxy to the test's Redis whose connections can be frozen one by one: kept open, but
/// nothing forwarded any more, like a connection that died without a word (a peer gone, a
/// firewall dropping it).
pub struct FreezingProxy {
    pub port: u16,
    /// One flag per connection accepted, in order.
    frozen: Arc<Mutex<Vec<Arc<std::sync::atomic::AtomicBool>>>>,
}

impl FreezingProxy {
    pub async fn start(redis: &TempRedis) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let redis_port = redis.port();
        let frozen: Arc<Mutex<Vec<Arc<std::sync::atomic::AtomicBool>>>> = Arc::default();
        let flags = frozen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
                flags.lock().unwrap().push(flag.clone());
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", redis_port)).await else { return };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    tokio::join!(pump(&mut client_read, &mut server_write, &flag), pump(&mut server_read, &mut client_write, &flag));
                    if flag.load(std::sync::atomic::Ordering::SeqCst) {
                        // Frozen: the sockets stay open and silent.
                        std::future::pending::<()>().await;
                    }
                });
            }
        });
        Self { port, frozen }
    }

    /// The URL of Redis through this proxy.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn connections(&self) -> usize {
        self.frozen.lock().unwrap().len()
    }

    /// Freezes connection `index` (in the order accepted).
    pub fn freeze(&self, index: usize) {
        self.frozen.lock().unwrap()[index].store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until either ends or the connection is frozen (then what arrives is
/// dropped).
async fn pump(from: &mut tokio::net::tcp::OwnedReadHalf, to: &mut tokio::net::tcp::OwnedWriteHalf, frozen: &std::sync::atomic::AtomicBool) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = from.read(&mut buffer).await.unwrap_or(0);
        if read == 0 || frozen.load(std::sync::atomic::Ordering::SeqCst) || to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
