//! The session directory: where each full JID is bound (`P:dir:{bare}`, resource → node) and
//! what each node holds (`P:jids:{id}`), so a dead node's entries can be reaped.

use redis::AsyncCommands as _;

use crate::bus::Outgoing;
use crate::{Cluster, ClusterError, Inner, lock};

/// Deletes `dir[resource]` only while it still names the node (a newer binding elsewhere stays).
const UNBIND_IF_MINE: &str =
    "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";

/// `bare/resource` split; None for a JID without a resource (never a session).
fn split_full_jid(full_jid: &str) -> Option<(&str, &str)> {
    full_jid.split_once('/').filter(|(bare, resource)| !bare.is_empty() && !resource.is_empty())
}

impl Cluster {
    /// Records that `full_jid` is bound here; queued on the same ordered task as `post`.
    pub fn session_bound(&self, full_jid: &str) {
        lock(&self.inner.held_jids).insert(full_jid.to_owned());
        self.inner.queue(Outgoing::Bound(full_jid.to_owned()));
    }

    /// Records that `full_jid` is gone from here; queued on the same ordered task as `post`.
    pub fn session_unbound(&self, full_jid: &str) {
        lock(&self.inner.held_jids).remove(full_jid);
        self.inner.queue(Outgoing::Unbound(full_jid.to_owned()));
    }

    /// (resource, node) of `bare`'s sessions on live nodes (this one included), sorted.
    pub async fn locate(&self, bare: &str) -> Result<Vec<(String, String)>, ClusterError> {
        self.inner.ensure_running()?;
        let mut conn = self.inner.conn.clone();
        let entries: Vec<(String, String)> = conn.hgetall(self.inner.keys.dir(bare)).await.map_err(|e| self.inner.redis_error(e))?;
        let mut located: Vec<(String, String)> = entries.into_iter().filter(|(_, node)| self.inner.is_live(node)).collect();
        located.sort();
        Ok(located)
    }
}

impl Inner {
    /// Writes one directory change (from the sending task, so in order with the messages).
    pub(crate) async fn write_directory(&self, full_jid: &str, bound: bool) {
        let Some((bare, resource)) = split_full_jid(full_jid) else {
            tracing::warn!(node = %self.node_id(), %full_jid, "not a full JID: not in the directory");
            return;
        };
        let mut pipe = redis::pipe();
        pipe.atomic();
        if bound {
            pipe.hset(self.keys.dir(bare), resource, self.node_id()).sadd(self.keys.jids(self.node_id()), full_jid);
        } else {
            pipe.cmd("EVAL").arg(UNBIND_IF_MINE).arg(1).arg(self.keys.dir(bare)).arg(resource).arg(self.node_id());
            pipe.srem(self.keys.jids(self.node_id()), full_jid);
        }
        if self.retry_until_sent(&pipe, "update the session directory").await.is_none() {
            crate::BusStats::bump(&self.stats.send_errors);
        }
    }

    /// Writes this node's sessions again (after Redis lost them: a restart, or this node was
    /// reaped during a stall), after whatever is queued, so later changes still win.
    pub(crate) fn rebind_held_jids(&self) {
        let held: Vec<String> = lock(&self.held_jids).iter().cloned().collect();
        for full_jid in held {
            self.queue(Outgoing::Bound(full_jid));
        }
    }

    /// Deletes the directory entries of `node` (only where they still name it) and its JID
    /// set; returns the JIDs it held, sorted.
    pub(crate) async fn remove_directory_entries(&self, node: &str) -> redis::RedisResult<Vec<String>> {
        let mut conn = self.conn.clone();
        let mut jids: Vec<String> = conn.smembers(self.keys.jids(node)).await?;
        jids.sort();
        let mut pipe = redis::pipe();
        for (bare, resource) in jids.iter().filter_map(|jid| split_full_jid(jid)) {
            pipe.cmd("EVAL").arg(UNBIND_IF_MINE).arg(1).arg(self.keys.dir(bare)).arg(resource).arg(node).ignore();
        }
        pipe.del(self.keys.jids(node)).ignore();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(jids)
    }
}
