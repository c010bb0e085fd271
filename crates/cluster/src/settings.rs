//! The cluster's settings and what a node tells the others about itself ([`NodeInfo`]), with
//! their validation and the Redis URL as it may be shown (without its password).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ClusterError;

/// How this node joins the cluster.
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    /// `redis://[user:password@]host:port/db`; the password is never logged.
    pub redis_url: String,
    /// This node's id, `[A-Za-z0-9_.-]{1,64}`, unique among live nodes.
    pub node_id: String,
    /// How long a node stays alive without refreshing; refreshed every `lease / 3`.
    pub lease: Duration,
    /// The prefix of every Redis key (`herald` by default), so clusters can share a Redis.
    pub key_prefix: String,
    /// The approximate cap of each inbox stream (`MAXLEN ~`).
    pub stream_max_len: usize,
    /// What others and `herald ctl status` see of this node (`id` is set to `node_id`).
    pub info: NodeInfo,
}

impl ClusterSettings {
    /// The default lease: a dead node is noticed within about this long.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(6);
    /// The default key prefix.
    pub const DEFAULT_KEY_PREFIX: &'static str = "herald";
    /// The default inbox cap.
    pub const DEFAULT_STREAM_MAX_LEN: usize = 100_000;

    /// Settings with the defaults for everything but the URL and the node id.
    pub fn new(redis_url: impl Into<String>, node_id: impl Into<String>) -> Self {
        let node_id = node_id.into();
        Self {
            redis_url: redis_url.into(),
            info: NodeInfo { id: node_id.clone(), ..NodeInfo::default() },
            node_id,
            lease: Self::DEFAULT_LEASE,
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            stream_max_len: Self::DEFAULT_STREAM_MAX_LEN,
        }
    }

    /// Checks what Redis keys and timers depend on.
    pub(crate) fn validate(&self) -> Result<(), ClusterError> {
        if !valid_node_id(&self.node_id) {
            return Err(invalid(format!("node id {:?} must match [A-Za-z0-9_.-]{{1,64}}", self.node_id)));
        }
        if self.lease < Duration::from_millis(30) {
            return Err(invalid(format!("lease {:?} is too short (at least 30 ms)", self.lease)));
        }
        if self.key_prefix.is_empty() {
            return Err(invalid("the key prefix is empty".to_owned()));
        }
        Ok(())
    }
}

fn invalid(reason: String) -> ClusterError {
    ClusterError::InvalidSettings { reason }
}

/// Whether `id` can name a node: it is part of Redis keys and of logs.
pub fn valid_node_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// What a node publishes about itself in its node key (JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub id: String,
    pub host: String,
    pub c2s_port: u16,
    pub https_port: u16,
    pub rest_port: Option<u16>,
    pub admin: Option<String>,
    pub started_ms: u64,
    pub version: String,
}

/// `url` without its user, password and query (a Unix socket URL's password is `?pass=`):
/// what errors and logs may show.
pub fn redacted_url(url: &str) -> String {
    let url = url.split_once('?').map_or(url, |(before, _)| before);
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        assert_eq!(redacted_url("redis://:secret@10.0.0.1:6380/2"), "redis://10.0.0.1:6380/2");
        assert_eq!(redacted_url("redis://user:p@ss@host:1"), "redis://host:1");
        assert_eq!(redacted_url("redis://host:1/0"), "redis://host:1/0");
        assert_eq!(redacted_url("redis+unix:///run/redis.sock?db=1&pass=secret"), "redis+unix:///run/redis.sock");
    }

    #[test]
    fn node_ids_are_checked() {
        assert!(valid_node_id("node-1.a_b"));
        assert!(!valid_node_id(""));
        assert!(!valid_node_id("a:b"));
        assert!(!valid_node_id(&"a".repeat(65)));
        let mut settings = ClusterSettings::new("redis://127.0.0.1:1", "bad id");
        assert!(matches!(settings.validate(), Err(ClusterError::InvalidSettings { .. })));
        settings.node_id = "good".to_owned();
        assert!(settings.validate().is_ok());
    }
}
