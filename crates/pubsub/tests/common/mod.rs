//! Test doubles shared by the pubsub integration tests: a real memory store that fails its
//! commits on demand, a delivery seam that records what it was handed, and a roster that grants
//! nothing.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use herald_pubsub::{Delivery, NodeStore, Notification, RosterCheck, StoreFuture};
use herald_store::{MemoryStore, PubSubOp, StoreError, StoredNode, WriterError};

/// A real [`MemoryStore`] whose pubsub commits fail while `failing` is set, as a full disk or a
/// lost database would.
#[derive(Default)]
pub(crate) struct FailingStore {
    pub(crate) inner: MemoryStore,
    pub(crate) failing: AtomicBool,
}

impl FailingStore {
    /// Makes the following commits fail (`true`) or succeed again.
    pub(crate) fn fail(&self, on: bool) {
        self.failing.store(on, Ordering::SeqCst);
    }
}

impl NodeStore for FailingStore {
    fn load(&self) -> StoreFuture<'_, Vec<StoredNode>> {
        NodeStore::load(&self.inner)
    }
    fn apply<'a>(&'a self, ops: &'a [PubSubOp]) -> StoreFuture<'a, ()> {
        if self.failing.load(Ordering::SeqCst) {
            return Box::pin(async { Err(StoreError::PubSubWriter(WriterError::Stopped)) });
        }
        NodeStore::apply(&self.inner, ops)
    }
}

/// Records the id of every notification handed over for delivery.
#[derive(Default)]
pub(crate) struct Delivered(pub(crate) Mutex<Vec<String>>);

impl Delivered {
    /// The ids recorded since the last call.
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Delivery for Delivered {
    fn deliver(&self, notification: &Notification) {
        self.0.lock().unwrap().push(notification.id.clone());
    }
}

/// No roster grants anything (these tests use open and whitelist nodes).
pub(crate) struct NoRosters;

impl RosterCheck for NoRosters {
    fn grants_presence<'a>(&'a self, _: &'a str, _: &'a str) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(async { false })
    }
}
