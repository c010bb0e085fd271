//! The [`SharedLockout`] seam: failed-login counters shared by the nodes of a cluster, so that a
//! failure on any node counts on every node. The sans-IO `herald_sasl::Lockout` stays the fast
//! local path and the source of the verdict rules; the shared counts are read before a login's
//! exchange and written, in order, by one task per core ([`SharedUpdates`]) so that the
//! transports' bookkeeping calls stay synchronous.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

/// What a shared counter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockoutKind {
    /// Failures of one account from one source (key: `user|source`): toward the account's lock
    /// for that source.
    User,
    /// Failures from one source, any accounts (key: the source): toward its ban.
    Source,
}

impl LockoutKind {
    /// A stable name, for the implementation's storage keys.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Source => "source",
        }
    }
}

/// Failure counters shared by a cluster's nodes. The server implements it over Redis; a single
/// node has none. An implementation that cannot reach its storage logs it and answers 0 (the
/// local counts still apply).
pub trait SharedLockout: Send + Sync + 'static {
    /// Counts one failure; the counter lives `window` from its first failure. The count now.
    fn record_failure<'a>(&'a self, kind: LockoutKind, key: &'a str, window: Duration) -> Pin<Box<dyn Future<Output = u64> + Send + 'a>>;
    /// The failures counted and not yet expired.
    fn failures<'a>(&'a self, kind: LockoutKind, key: &'a str) -> Pin<Box<dyn Future<Output = u64> + Send + 'a>>;
    /// Forgets the counter (a successful login).
    fn clear<'a>(&'a self, kind: LockoutKind, key: &'a str) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

impl std::fmt::Debug for dyn SharedLockout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedLockout")
    }
}

/// The key of an account's failures from a source (sources as `herald_sasl::source_key`, so an
/// IPv6 host counts once per /64, as locally).
pub(crate) fn user_key(user: &str, source: IpAddr) -> String {
    format!("{user}|{}", herald_sasl::source_key(source))
}

/// The key of a source's failures.
pub(crate) fn source_key(source: IpAddr) -> String {
    herald_sasl::source_key(source).to_string()
}

/// One change to the shared counters.
#[derive(Debug)]
pub(crate) enum SharedUpdate {
    Failure { kind: LockoutKind, key: String, window: Duration },
    Clear { kind: LockoutKind, key: String },
}

/// Most updates waiting for the shared storage; beyond it they are dropped and logged (the
/// local counts still apply).
const MAX_PENDING_UPDATES: usize = 4096;

/// The sending side of the task that applies updates to the shared counters in order.
#[derive(Debug)]
pub(crate) struct SharedUpdates {
    shared: Arc<dyn SharedLockout>,
    queue: mpsc::Sender<SharedUpdate>,
}

impl SharedUpdates {
    /// Starts the task (inside a tokio runtime); it ends when the core is dropped.
    pub(crate) fn start(shared: Arc<dyn SharedLockout>) -> Self {
        let (queue, mut updates) = mpsc::channel(MAX_PENDING_UPDATES);
        let writer = shared.clone();
        tokio::spawn(async move {
            while let Some(update) = updates.recv().await {
                match update {
                    SharedUpdate::Failure { kind, key, window } => {
                        writer.record_failure(kind, &key, window).await;
                    }
                    SharedUpdate::Clear { kind, key } => writer.clear(kind, &key).await,
                }
            }
        });
        Self { shared, queue }
    }

    /// The counters, for reads.
    pub(crate) fn counters(&self) -> &dyn SharedLockout {
        &*self.shared
    }

    /// Queues `update` without waiting.
    pub(crate) fn push(&self, update: SharedUpdate) {
        if let Err(err) = self.queue.try_send(update) {
            tracing::warn!(target: "notification", %err, "shared lock-out update dropped; it counts on this node only");
        }
    }
}
