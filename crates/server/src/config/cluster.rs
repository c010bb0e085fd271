//! `[cluster]`: several Herald nodes sharing one PostgreSQL (`[store]`) and one Redis (issue 15).
//! Unset (`redis` empty), Herald runs as one node, as before.

use serde::{Deserialize, Serialize};

use super::{ConfigError, StoreBackend, StoreConfig};

/// `[cluster]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// The Redis every node shares (`redis://host:port/db`, with `redis://:password@…` when it
    /// asks one). Unset: no cluster. Best given by environment (`HERALD_CLUSTER__REDIS`).
    pub redis: Option<String>,
    /// This node's name in the cluster, unique among the live nodes (letters, digits, `_`, `.`,
    /// `-`; at most 64). Default: the machine's host name.
    pub node_id: Option<String>,
    /// How long a node counts as alive after its last refresh, and how long a dead node's CTI
    /// lease lasts before another node takes the CTI side over (default 6 s; refreshed every
    /// third of it).
    pub lease_secs: u64,
    /// Prefix of every Redis key, so that clusters can share one Redis (default `herald`).
    pub key_prefix: String,
    /// The host name other nodes and the desktops reach this node by (SystemInfo, `herald ctl
    /// status`). Default: the domain.
    pub advertise_host: Option<String>,
    /// How long a REST request forwarded to the node driving the CTI side may take (default 15 s,
    /// the desktop's own timeout).
    pub forward_timeout_secs: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self { redis: None, node_id: None, lease_secs: 6, key_prefix: "herald".into(), advertise_host: None, forward_timeout_secs: 15 }
    }
}

impl ClusterConfig {
    /// Whether this node is part of a cluster.
    pub fn enabled(&self) -> bool {
        self.redis.as_deref().is_some_and(|r| !r.is_empty())
    }

    /// A cluster keeps what must last in PostgreSQL: nodes cannot share a SQLite file or memory.
    pub(super) fn validate(&self, store: &StoreConfig) -> Result<(), ConfigError> {
        if !self.enabled() {
            return Ok(());
        }
        let redis = self.redis.as_deref().unwrap_or_default();
        if !(redis.starts_with("redis://") || redis.starts_with("rediss://")) {
            return Err(ConfigError::Range("cluster.redis must be a redis:// URL".into()));
        }
        if store.backend != StoreBackend::Postgres {
            return Err(ConfigError::Range(
                "cluster.redis is set, but store.backend is not \"postgres\": the nodes of a cluster share one PostgreSQL database".into(),
            ));
        }
        if let Some(id) = &self.node_id
            && (id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)))
        {
            return Err(ConfigError::Range(format!("cluster.node_id {id:?}: use 1 to 64 letters, digits, '_', '.' or '-'")));
        }
        if self.lease_secs < 2 {
            return Err(ConfigError::Range("cluster.lease_secs must be at least 2".into()));
        }
        if self.forward_timeout_secs == 0 {
            return Err(ConfigError::Range("cluster.forward_timeout_secs must be at least 1".into()));
        }
        Ok(())
    }
}
