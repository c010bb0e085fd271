//! What the bus counts ([`BusStats`]), for metrics and the admin status.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of the bus since this node joined.
#[derive(Debug, Default)]
pub struct BusStats {
    /// Messages (posts, requests, replies) written to other nodes' inboxes.
    pub sent: AtomicU64,
    /// Messages read from this node's inbox.
    pub received: AtomicU64,
    /// Messages that could not be sent (Redis failed for too long, or no such live node).
    pub send_errors: AtomicU64,
    /// Requests this node sent.
    pub requests: AtomicU64,
    /// Dead nodes this node reaped.
    pub lost_nodes: AtomicU64,
}

impl BusStats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
