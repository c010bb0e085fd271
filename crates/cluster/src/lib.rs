//! `herald-cluster`: what several Herald nodes share through one Redis, without a home-made
//! consensus. Liveness is a node key with a time to live ([`membership`]), the bus between nodes
//! is one Redis stream per node read from the last id read ([`bus`]), the session directory says
//! which node holds which full JID ([`directory`]), named leases elect one node for a role
//! ([`lease`]), counters are shared with a window ([`counter`]) and the ownership registry says
//! which node owns a thing that lives on one node only ([`ownership`]). The contract is
//! `docs/architecture/cluster.md`.

mod bus;
mod counter;
mod directory;
mod error;
mod keys;
mod lease;
mod membership;
mod ownership;
mod sender;
mod settings;
mod stats;
mod status;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::IntoConnectionInfo as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use error::ClusterError;
pub use settings::{ClusterSettings, NodeInfo, redacted_url, valid_node_id};
pub use stats::BusStats;
pub use status::{ClusterStatus, LeaseStatus, NodeStatus};

use keys::Keys;
use sender::{Outgoing, Queued, Target};

/// A message from another node (or a request, or this node's own message to itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The sending node's id.
    pub from: String,
    /// What the body is (`pubsub`, `rest`, `presence`, …): the handler dispatches on it.
    pub kind: String,
    pub body: Vec<u8>,
}

/// Where [`Cluster::post`] sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum To<'a> {
    /// One node, by id.
    Node(&'a str),
    /// Every node but this one whose key exists when the message is sent (not the cached live
    /// set: a node that joined a moment ago gets it).
    All,
}

/// What a node does with what the bus brings. Called from the reader task, in stream order.
pub trait Handler: Send + Sync + 'static {
    /// A posted message; must not block (the next message waits for it).
    fn message(&self, envelope: Envelope);
    /// A request; the futures run concurrently and their answers go back to the requester.
    fn request(&self, envelope: Envelope) -> BoxFuture<'static, Vec<u8>>;
    /// A node died (or this node's earlier incarnation left entries): called once per dead
    /// node, on one survivor, with the full JIDs it held.
    fn node_lost(&self, node: &str, jids: Vec<String>);
    /// This node's key had expired and is written again: the node was out of the cluster (it
    /// stalled for longer than a lease, or Redis restarted empty), so the others may have reaped
    /// its sessions and sent it nothing meanwhile. Called once per return, after its sessions
    /// and claims are queued to be written again; must not block.
    fn rejoined(&self);
}

/// A member of the cluster. Cheap to clone; everything it spawned stops when the last clone is
/// dropped or [`Cluster::leave`] is called.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
    _stop_on_drop: Arc<StopOnDrop>,
}

/// Aborts the node's tasks when the last [`Cluster`] clone goes (the tasks hold `Inner`, not
/// this, so they cannot keep themselves alive).
struct StopOnDrop(Arc<Inner>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop_tasks();
    }
}

/// The state the node's tasks share.
pub(crate) struct Inner {
    settings: ClusterSettings,
    /// The Redis URL without its password, for errors and logs.
    url: String,
    client: redis::Client,
    /// Every command but the blocking inbox read; reconnects by itself.
    conn: ConnectionManager,
    keys: Keys,
    /// Tells this run of the node from an earlier one with the same id (duplicate detection).
    incarnation: String,
    /// Live nodes as of the last refresh, sorted by id.
    live: Mutex<Vec<NodeInfo>>,
    /// Lease holders as of the last refresh, for the leases this node contends for or asked about.
    holders: Mutex<HashMap<String, Option<String>>>,
    /// The leases this node contends for, and whether it holds each.
    leases: Mutex<HashMap<String, watch::Sender<bool>>>,
    /// When the last successful lease renewal was sent (the holder gives them up at this + lease − lease / 6).
    leases_confirmed: Mutex<Option<std::time::Instant>>,
    outbox: mpsc::UnboundedSender<Queued>,
    /// How many items wait in the outbox (bounded by [`sender::MAX_QUEUED`]).
    queued: AtomicUsize,
    /// When a full outbox was last warned about.
    overflow_warned: Mutex<Option<std::time::Instant>>,
    /// Requests waiting for their reply, by request id.
    pending: Mutex<HashMap<u64, oneshot::Sender<Vec<u8>>>>,
    next_request: AtomicU64,
    stats: BusStats,
    handler: OnceLock<Arc<dyn Handler>>,
    /// The full JIDs bound here (as queued): written again when Redis lost them (a restart).
    held_jids: Mutex<std::collections::BTreeSet<String>>,
    /// Full JIDs an earlier incarnation with this id left in the directory: reported at start.
    stale_jids: Mutex<Vec<String>>,
    /// The (kind, key) pairs claimed here (as queued): written again when Redis lost them.
    held_claims: Mutex<std::collections::BTreeSet<(String, String)>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    stopped: AtomicBool,
    /// Wakes the refresh task early (a new lease to contend for, the handler set).
    wake_refresh: Notify,
}

/// Locks a mutex whose data stays consistent even if a holder panicked (plain maps and lists).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `TCP_NODELAY` (small writes go out at once) and keepalive probes (a peer gone silently is
/// noticed by the kernel) on both connections.
fn tcp_settings() -> redis::io::tcp::TcpSettings {
    let keepalive = redis::io::tcp::socket2::TcpKeepalive::new().with_time(Duration::from_secs(10)).with_interval(Duration::from_secs(5));
    redis::io::tcp::TcpSettings::default().set_nodelay(true).set_keepalive(keepalive)
}

/// How long connecting to Redis may take before join fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

impl Cluster {
    /// Connects, claims `P:node:{id}` (`SET NX PX`; if a node with the same id but another
    /// incarnation holds it, waits up to 1.5 leases for it to expire, then NodeIdInUse), adds the
    /// id to `P:nodes`, and starts a fresh inbox. Stale directory entries of an earlier
    /// incarnation with this id are reaped like a lost node's (reported to the handler once
    /// started). Does not read the inbox yet: call before loading state from the store. The
    /// refresh task runs from here on (so a slow start does not let the node key expire); it
    /// reaps dead nodes only once started.
    pub async fn join(mut settings: ClusterSettings) -> Result<Cluster, ClusterError> {
        settings.validate()?;
        settings.info.id = settings.node_id.clone();
        let url = redacted_url(&settings.redis_url);
        let redis_error = |source| ClusterError::Redis { url: url.clone(), source };
        let connection_info = settings.redis_url.as_str().into_connection_info().map_err(redis_error)?;
        let client = redis::Client::open(connection_info.set_tcp_settings(tcp_settings())).map_err(redis_error)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let conn = client.get_connection_manager_with_config(config).await.map_err(redis_error)?;
        let (outbox, outbox_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            keys: Keys::new(&settings.key_prefix),
            incarnation: format!("{:016x}", rand::random::<u64>()),
            settings,
            url,
            client,
            conn,
            live: Mutex::new(Vec::new()),
            holders: Mutex::new(HashMap::new()),
            leases: Mutex::new(HashMap::new()),
            leases_confirmed: Mutex::new(None),
            outbox,
            queued: AtomicUsize::new(0),
            overflow_warned: Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
            next_request: AtomicU64::new(1),
            stats: BusStats::default(),
            handler: OnceLock::new(),
            held_jids: Mutex::new(std::collections::BTreeSet::new()),
            stale_jids: Mutex::new(Vec::new()),
            held_claims: Mutex::new(std::collections::BTreeSet::new()),
            tasks: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
            wake_refresh: Notify::new(),
        });
        inner.enter().await?;
        let cluster = Cluster { _stop_on_drop: Arc::new(StopOnDrop(inner.clone())), inner };
        let sender = tokio::spawn(sender::run_sender(cluster.inner.clone(), outbox_rx));
        let refresh = tokio::spawn(membership::run_refresh(cluster.inner.clone()));
        let watchdog = tokio::spawn(lease::run_lease_watchdog(cluster.inner.clone()));
        lock(&cluster.inner.tasks).extend([sender, refresh, watchdog]);
        Ok(cluster)
    }

    /// Starts the inbox reader (from the inbox's first entry) and reaping dead nodes.
    pub fn start(&self, handler: Arc<dyn Handler>) {
        if self.inner.handler.set(handler.clone()).is_err() {
            tracing::warn!(node = %self.node_id(), "the cluster was started twice; the second handler is ignored");
            return;
        }
        if self.inner.stopped.load(Ordering::SeqCst) {
            return;
        }
        let stale = std::mem::take(&mut *lock(&self.inner.stale_jids));
        if !stale.is_empty() {
            handler.node_lost(self.node_id(), stale);
        }
        let reader = tokio::spawn(bus::run_reader(self.inner.clone(), handler));
        lock(&self.inner.tasks).push(reader);
        self.inner.wake_refresh.notify_one();
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.inner.settings.node_id
    }

    /// Live nodes (self included) as of the last refresh, sorted by id.
    pub fn live_nodes(&self) -> Vec<NodeInfo> {
        lock(&self.inner.live).clone()
    }

    /// Whether `node` was live at the last refresh.
    pub fn is_live(&self, node: &str) -> bool {
        self.inner.is_live(node)
    }

    /// Queues a message; one task sends every queued message in order. Never blocks; a failure
    /// is logged and counted (`stats().send_errors`).
    pub fn post(&self, to: To<'_>, kind: &str, body: Vec<u8>) {
        let to = match to {
            To::Node(node) => Target::Node(node.to_owned()),
            To::All => Target::All,
        };
        self.inner.queue(Outgoing::Message { to, kind: kind.to_owned(), body, request: None, answers: None });
    }

    /// Sends a request to `node` and waits for its handler's answer (which comes back through
    /// this node's inbox).
    pub async fn request(&self, node: &str, kind: &str, body: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, ClusterError> {
        self.inner.request(node, kind, body, timeout).await
    }

    /// Contends for lease `name` from now on: true while this node holds it. Released at leave.
    pub fn lease(&self, name: &str) -> watch::Receiver<bool> {
        self.inner.contend(name)
    }

    /// Who holds lease `name`, as of the last refresh (every lease / 3).
    pub fn holder(&self, name: &str) -> Option<String> {
        self.inner.holder(name)
    }

    /// Nodes (live and dead-not-yet-reaped) with their lease's remaining ms, and the leases.
    pub async fn status(&self) -> Result<ClusterStatus, ClusterError> {
        self.inner.status().await
    }

    /// What the bus counted.
    pub fn stats(&self) -> &BusStats {
        &self.inner.stats
    }

    /// Clean leave: releases leases, deletes the node key, its directory entries and inbox.
    /// What was posted before is sent first (waiting at most one lease).
    pub async fn leave(&self) {
        self.inner.leave().await;
    }

    /// Stops every task at once without telling Redis anything, as a crashed or frozen node
    /// would: its keys expire and the survivors reap it. For tests only.
    #[doc(hidden)]
    pub fn halt_for_tests(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.stop_tasks();
    }
}

impl Inner {
    /// The error for a Redis failure, naming the URL without its password.
    pub(crate) fn redis_error(&self, source: redis::RedisError) -> ClusterError {
        ClusterError::Redis { url: self.url.clone(), source }
    }

    pub(crate) fn node_id(&self) -> &str {
        &self.settings.node_id
    }

    pub(crate) fn is_live(&self, node: &str) -> bool {
        lock(&self.live).iter().any(|info| info.id == node)
    }

    /// Fails with [`ClusterError::Stopped`] once the node left or was halted.
    pub(crate) fn ensure_running(&self) -> Result<(), ClusterError> {
        if self.stopped.load(Ordering::SeqCst) { Err(ClusterError::Stopped) } else { Ok(()) }
    }

    fn stop_tasks(&self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        for lease in lock(&self.leases).values() {
            lease.send_replace(false);
        }
    }

    async fn leave(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let (flushed, flushed_rx) = oneshot::channel();
        if self.hand_to_sender(Outgoing::Flush(flushed)) {
            let _ = tokio::time::timeout(self.settings.lease, flushed_rx).await;
        }
        self.stop_tasks();
        if let Err(e) = self.release_leases().await {
            tracing::warn!(node = %self.node_id(), "leaving: cannot release the leases: {e}");
        }
        if let Err(e) = self.exit().await {
            tracing::warn!(node = %self.node_id(), "leaving: cannot remove the node's keys: {e}");
        }
    }
}
