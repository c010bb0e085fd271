//! Shared counters with a window (the lock-out's failures, counted across nodes).

use std::time::Duration;

use redis::AsyncCommands as _;

use crate::{Cluster, ClusterError};

/// Increments and, on the first increment, starts the window (atomically, so a counter never
/// lives without its expiry).
const INCR_WITH_WINDOW: &str = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";

impl Cluster {
    /// Adds one to counter `key`; the first increment sets its window.
    pub async fn counter_incr(&self, key: &str, window: Duration) -> Result<u64, ClusterError> {
        let mut conn = self.inner.conn.clone();
        let window_ms = window.as_millis().max(1) as u64;
        redis::cmd("EVAL")
            .arg(INCR_WITH_WINDOW)
            .arg(1)
            .arg(self.inner.keys.count(key))
            .arg(window_ms)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.inner.redis_error(e))
    }

    /// Counter `key`'s value (0 once its window is over).
    pub async fn counter_get(&self, key: &str) -> Result<u64, ClusterError> {
        let mut conn = self.inner.conn.clone();
        let value: Option<u64> = conn.get(self.inner.keys.count(key)).await.map_err(|e| self.inner.redis_error(e))?;
        Ok(value.unwrap_or(0))
    }

    /// Resets counter `key`.
    pub async fn counter_clear(&self, key: &str) -> Result<(), ClusterError> {
        let mut conn = self.inner.conn.clone();
        conn.del::<_, ()>(self.inner.keys.count(key)).await.map_err(|e| self.inner.redis_error(e))
    }

    /// The secret `name` every node of the cluster shares: made by the first node that asks
    /// (`SET NX`, 32 random bytes as hex), read by the others.
    pub async fn shared_secret(&self, name: &str) -> Result<String, ClusterError> {
        let mut conn = self.inner.conn.clone();
        let key = self.inner.keys.secret(name);
        let fresh: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        let _: Option<String> =
            redis::cmd("SET").arg(&key).arg(&fresh).arg("NX").query_async(&mut conn).await.map_err(|e| self.inner.redis_error(e))?;
        let secret: Option<String> = conn.get(&key).await.map_err(|e| self.inner.redis_error(e))?;
        secret.ok_or_else(|| ClusterError::Stopped)
    }
}
