//! The cluster's errors: what a caller of `herald-cluster` can tell apart.

use std::time::Duration;

/// Why a cluster operation failed. The Redis URL in [`ClusterError::Redis`] never carries the
/// password (see [`crate::settings::redacted_url`]), so the error can be logged as it is.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Redis refused or could not be reached.
    #[error("Redis at {url}: {source}")]
    Redis { url: String, source: redis::RedisError },
    /// A live node already has this id (after waiting a lease and a half for it to expire).
    #[error("node id {node:?} is in use by a live node")]
    NodeIdInUse { node: String },
    /// No live node by that id.
    #[error("no live node {node:?}")]
    NodeGone { node: String },
    /// The node did not answer a request in time.
    #[error("node {node:?} did not answer within {after:?}")]
    Timeout { node: String, after: Duration },
    /// This node left the cluster (or was halted): nothing more can be sent or asked.
    #[error("this node has left the cluster")]
    Stopped,
    /// The settings cannot be used (e.g. a node id outside `[A-Za-z0-9_.-]{1,64}`).
    #[error("invalid cluster settings: {reason}")]
    InvalidSettings { reason: String },
}
