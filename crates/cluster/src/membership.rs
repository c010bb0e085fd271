//! Membership: claiming this node's key at join, renewing it every lease / 3, the live set,
//! reaping dead nodes (one survivor per dead node, under a lock) and leaving cleanly.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::AsyncCommands as _;
use tokio::time::MissedTickBehavior;

use crate::{BusStats, ClusterError, Inner, NodeInfo, lock};

/// How long the reap lock of a dead node lasts: long enough that no second survivor reaps it
/// again from an older view of the live set.
pub(crate) const REAP_LOCK_MS: u64 = 60_000;

impl Inner {
    /// The node key's value: the node's [`NodeInfo`] as JSON with this run's `incarnation`
    /// (readers of `NodeInfo` ignore the extra field), so a renewal can tell its own key from
    /// another run's.
    fn node_value(&self) -> String {
        let mut value = serde_json::to_value(&self.settings.info).unwrap_or_default();
        if let Some(fields) = value.as_object_mut() {
            fields.insert("incarnation".to_owned(), self.incarnation.clone().into());
        }
        value.to_string()
    }

    fn lease_ms(&self) -> u64 {
        self.settings.lease.as_millis() as u64
    }

    /// Runs `script` (KEYS: node key, inbox, `P:nodes`, reap lock; ARGV: value, lease, id).
    fn node_key_script(&self, script: &str) -> redis::Cmd {
        let id = self.node_id();
        let mut eval = redis::cmd("EVAL");
        eval.arg(script).arg(4).arg(self.keys.node(id)).arg(self.keys.inbox(id)).arg(self.keys.nodes()).arg(self.keys.reap(id));
        eval.arg(self.node_value()).arg(self.lease_ms()).arg(id);
        eval
    }

    /// Claims the node key (waiting up to a lease and a half for an earlier incarnation's to expire),
    /// registers the id, starts a fresh inbox, reaps what an earlier incarnation left and
    /// reads the live set.
    pub(crate) async fn enter(&self) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let id = self.node_id();
        // One lease and a half: an earlier incarnation's key, renewed at most a lease ago, is gone by
        // then even when this machine is slow; a live node's never is.
        let deadline = tokio::time::Instant::now() + self.settings.lease * 3 / 2;
        loop {
            let claimed: i64 = self.node_key_script(CLAIM).query_async(&mut conn).await.map_err(|e| self.redis_error(e))?;
            if claimed == 1 {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClusterError::NodeIdInUse { node: id.to_owned() });
            }
            tokio::time::sleep(self.settings.lease / 10).await;
        }
        let stale = self.remove_directory_entries(id).await.map_err(|e| self.redis_error(e))?;
        if !stale.is_empty() {
            tracing::info!(node = %id, sessions = stale.len(), "an earlier run of this node left sessions in the directory: removed");
        }
        *lock(&self.stale_jids) = stale;
        self.read_live_set().await.map_err(|e| self.redis_error(e))?;
        Ok(())
    }

    /// Removes this node's keys from Redis (a clean leave), unless another run holds its id
    /// now (then everything under the id is that run's).
    pub(crate) async fn exit(&self) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let removed: i64 = self.node_key_script(EXIT).query_async(&mut conn).await.map_err(|e| self.redis_error(e))?;
        if removed == 0 {
            tracing::warn!(node = %self.node_id(), "leaving: another run holds this node's id: its keys are left alone");
            return Ok(());
        }
        self.remove_directory_entries(self.node_id()).await.map_err(|e| self.redis_error(e))?;
        Ok(())
    }

    /// One refresh: the node key, the leases, the live set, the dead nodes (once started).
    async fn refresh(&self) -> redis::RedisResult<Refreshed> {
        let mut conn = self.conn.clone();
        let id = self.node_id();
        match self.node_key_script(RENEW).query_async::<i64>(&mut conn).await? {
            RENEWED => {}
            SET_AGAIN => {
                tracing::warn!(node = %id, "this node's key had expired (a stall or a Redis restart): set again, with its sessions and claims");
                self.rebind_held_jids();
                self.reclaim_held();
                if let Some(handler) = self.handler.get() {
                    handler.rejoined();
                }
            }
            _ => return Ok(Refreshed::IdTaken),
        }
        // The leases next, so that reaping (however much) never delays their renewal.
        self.refresh_leases().await?;
        let dead = self.read_live_set().await?;
        if let Some(handler) = self.handler.get() {
            for node in dead {
                if let Some(jids) = self.reap(&node).await? {
                    BusStats::bump(&self.stats.lost_nodes);
                    tracing::warn!(node = %id, lost = %node, sessions = jids.len(), "a node died: its sessions are reaped");
                    // Off the refresh task: a handler busy with thousands of sessions must not
                    // delay the next renewals.
                    let handler = handler.clone();
                    tokio::task::spawn_blocking(move || handler.node_lost(&node, jids));
                }
            }
        }
        Ok(Refreshed::Renewed)
    }

    /// Reads `P:nodes` and their keys: stores the live set, returns the dead ids.
    async fn read_live_set(&self) -> redis::RedisResult<Vec<String>> {
        let (live, dead) = self.read_members().await?;
        *lock(&self.live) = live;
        Ok(dead)
    }

    /// Reads `P:nodes` and their keys now: the live nodes (sorted by id) and the dead ids.
    pub(crate) async fn read_members(&self) -> redis::RedisResult<(Vec<NodeInfo>, Vec<String>)> {
        let mut conn = self.conn.clone();
        let mut ids: Vec<String> = conn.smembers(self.keys.nodes()).await?;
        ids.sort();
        let infos: Vec<Option<String>> = if ids.is_empty() {
            Vec::new()
        } else {
            redis::cmd("MGET").arg(ids.iter().map(|id| self.keys.node(id)).collect::<Vec<_>>()).query_async(&mut conn).await?
        };
        let mut live = Vec::new();
        let mut dead = Vec::new();
        for (id, info) in ids.into_iter().zip(infos) {
            match info {
                Some(json) => live.push(serde_json::from_str(&json).unwrap_or_else(|_| NodeInfo { id: id.clone(), ..NodeInfo::default() })),
                None if id == self.node_id() => live.push(self.settings.info.clone()),
                None => dead.push(id),
            }
        }
        Ok((live, dead))
    }

    /// Reaps dead node `node` if this survivor wins its lock and its key is still gone, in one
    /// script: its directory entries (those still naming it), its JID set, its inbox, its id.
    /// Returns the JIDs it lost, or None when another survivor reaps or the node came back.
    async fn reap(&self, node: &str) -> redis::RedisResult<Option<Vec<String>>> {
        let mut conn = self.conn.clone();
        let reaped: Option<Vec<String>> = self.remove_entries_script(node, true).query_async(&mut conn).await?;
        Ok(reaped.map(|mut jids| {
            jids.sort();
            jids
        }))
    }
}

/// How a refresh ended.
enum Refreshed {
    Renewed,
    /// Another incarnation holds this node's key: this run must not renew it.
    IdTaken,
}

/// The node key renewed (answered by [`RENEW`]).
const RENEWED: i64 = 1;
/// The node key had vanished and was set again (answered by [`RENEW`]).
const SET_AGAIN: i64 = 0;

/// Claims the node key if nobody holds it and, at once, starts a fresh inbox (nothing another
/// node adds after the claim is lost), clears the reap lock and registers the id. 1 or 0.
const CLAIM: &str = "if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end \
    redis.call('DEL', KEYS[2], KEYS[4]) redis.call('SADD', KEYS[3], ARGV[3]) return 1";

/// Renews the node key while it holds this run's value (1), sets it again when it vanished and
/// clears the reap lock (0), refuses when another run holds it (-1); the id is always in
/// `P:nodes` afterwards unless refused, so a reap that raced a restart cannot drop it for good.
const RENEW: &str = "local value = redis.call('GET', KEYS[1]) \
    if value == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) redis.call('SADD', KEYS[3], ARGV[3]) return 1 end \
    if value then return -1 end \
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) redis.call('SADD', KEYS[3], ARGV[3]) redis.call('DEL', KEYS[4]) return 0";

/// Deletes the node key (while it holds this run's value or is gone), the inbox and the id
/// from `P:nodes`; 0 when another run holds the key.
const EXIT: &str = "local value = redis.call('GET', KEYS[1]) \
    if value and value ~= ARGV[1] then return 0 end \
    redis.call('DEL', KEYS[1], KEYS[2]) redis.call('SREM', KEYS[3], ARGV[3]) return 1";

/// Refreshes every lease / 3 (or at once when woken), logging a Redis outage once.
pub(crate) async fn run_refresh(inner: Arc<Inner>) {
    let period = (inner.settings.lease / 3).max(Duration::from_millis(10));
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = inner.wake_refresh.notified() => {}
        }
        if inner.stopped.load(Ordering::SeqCst) {
            return;
        }
        match inner.refresh().await {
            Ok(Refreshed::IdTaken) => {
                let taken = ClusterError::NodeIdInUse { node: inner.node_id().to_owned() };
                tracing::error!(node = %inner.node_id(), "another run of this node holds its key: this one stops refreshing: {taken}");
                inner.give_up_leases();
                return;
            }
            Ok(Refreshed::Renewed) if failing => {
                tracing::info!(node = %inner.node_id(), url = %inner.url, "Redis answers again: membership refreshed");
                failing = false;
            }
            Ok(Refreshed::Renewed) => {}
            Err(e) => {
                if !failing {
                    tracing::warn!(node = %inner.node_id(), url = %inner.url, "cannot refresh this node's membership, retrying: {e}");
                    failing = true;
                }
            }
        }
    }
}
