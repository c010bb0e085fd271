//! The session directory: where each full JID is bound (`P:dir:{bare}`, resource → node) and
//! what each node holds (`P:jids:{id}`), so a dead node's entries can be reaped.

use redis::AsyncCommands as _;

use crate::sender::Outgoing;
use crate::{Cluster, ClusterError, Inner, lock};

/// `bare/resource` split; None for a JID without a resource (never a session).
pub(crate) fn split_full_jid(full_jid: &str) -> Option<(&str, &str)> {
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
        // A node the last refresh did not see yet may have joined since (its sessions are in the
        // directory already): its key, read now, settles it.
        let mut unknown: Vec<String> = entries.iter().map(|(_, node)| node).filter(|node| !self.inner.is_live(node)).cloned().collect();
        unknown.sort();
        unknown.dedup();
        let mut joined = std::collections::HashSet::new();
        if !unknown.is_empty() {
            let mut pipe = redis::pipe();
            for node in &unknown {
                pipe.exists(self.inner.keys.node(node));
            }
            let exists: Vec<bool> = pipe.query_async(&mut conn).await.map_err(|e| self.inner.redis_error(e))?;
            joined.extend(unknown.into_iter().zip(exists).filter_map(|(node, live)| live.then_some(node)));
        }
        let mut located: Vec<(String, String)> =
            entries.into_iter().filter(|(_, node)| self.inner.is_live(node) || joined.contains(node)).collect();
        located.sort();
        Ok(located)
    }

    /// Every (full JID, node) in the directory on the nodes live now (read from each live
    /// node's `P:jids:{id}`), sorted: what a new CTI leader seeds its presence view from.
    pub async fn directory_entries(&self) -> Result<Vec<(String, String)>, ClusterError> {
        self.inner.ensure_running()?;
        let (live, _) = self.inner.read_members().await.map_err(|e| self.inner.redis_error(e))?;
        if live.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for node in &live {
            pipe.smembers(self.inner.keys.jids(&node.id));
        }
        let mut conn = self.inner.conn.clone();
        let held: Vec<Vec<String>> = pipe.query_async(&mut conn).await.map_err(|e| self.inner.redis_error(e))?;
        let mut entries: Vec<(String, String)> =
            live.iter().zip(held).flat_map(|(node, jids)| jids.into_iter().map(|jid| (jid, node.id.clone()))).collect();
        entries.sort();
        Ok(entries)
    }
}

impl Inner {
    /// Writes this node's sessions again (after Redis lost them: a restart, or this node was
    /// reaped during a stall), after whatever is queued, so later changes still win.
    pub(crate) fn rebind_held_jids(&self) {
        let held: Vec<String> = lock(&self.held_jids).iter().cloned().collect();
        for full_jid in held {
            self.queue(Outgoing::Bound(full_jid));
        }
    }

    /// Deletes the directory entries of `node` (only where they still name it) and its JID
    /// set in one script; returns the JIDs it removed, sorted: those whose entry still named
    /// the node or was gone (a JID bound again on another node since is not the node's loss).
    pub(crate) async fn remove_directory_entries(&self, node: &str) -> redis::RedisResult<Vec<String>> {
        let mut conn = self.conn.clone();
        let removed: Option<Vec<String>> = self.remove_entries_script(node, false).query_async(&mut conn).await?;
        let mut jids = removed.unwrap_or_default();
        jids.sort();
        Ok(jids)
    }

    /// The script that removes `node`'s directory entries and its JID set, and its claims in
    /// the ownership registry (`P:owned:{id}`) the same way. With `reap`, it is
    /// a survivor's reap: it gives up (answers nil) when the node's key exists (it came back)
    /// or another survivor holds the reap lock, and also deletes the inbox and the id from
    /// `P:nodes` — all at once, so a node restarting meanwhile is never removed.
    pub(crate) fn remove_entries_script(&self, node: &str, reap: bool) -> redis::Cmd {
        let mut eval = redis::cmd("EVAL");
        eval.arg(REMOVE_ENTRIES).arg(0).arg(self.keys.prefix()).arg(node).arg(if reap { "reap" } else { "" });
        eval.arg(self.node_id()).arg(crate::membership::REAP_LOCK_MS);
        eval
    }
}

/// ARGV: prefix, node, "reap" or "", reaper id, reap lock ms. The directory keys are computed
/// from the JIDs, the ownership keys from the owned set's `{kind}:{key}` members (a single
/// Redis, never Redis Cluster). Answers the removed JIDs, or nil when a
/// reap gives up.
const REMOVE_ENTRIES: &str = r"
local prefix, node = ARGV[1], ARGV[2]
if ARGV[3] == 'reap' then
  if redis.call('EXISTS', prefix .. ':node:' .. node) == 1 then return false end
  if not redis.call('SET', prefix .. ':reap:' .. node, ARGV[4], 'NX', 'PX', ARGV[5]) then return false end
end
local jids_key = prefix .. ':jids:' .. node
local removed = {}
for _, jid in ipairs(redis.call('SMEMBERS', jids_key)) do
  local slash = string.find(jid, '/', 1, true)
  if slash and slash > 1 and slash < #jid then
    local dir = prefix .. ':dir:' .. string.sub(jid, 1, slash - 1)
    local resource = string.sub(jid, slash + 1)
    local holder = redis.call('HGET', dir, resource)
    if holder == node then
      redis.call('HDEL', dir, resource)
      table.insert(removed, jid)
    elseif not holder then
      table.insert(removed, jid)
    end
  end
end
redis.call('DEL', jids_key)
local owned_key = prefix .. ':owned:' .. node
for _, member in ipairs(redis.call('SMEMBERS', owned_key)) do
  local colon = string.find(member, ':', 1, true)
  if colon then
    local own = prefix .. ':own:' .. string.sub(member, 1, colon - 1)
    local key = string.sub(member, colon + 1)
    if redis.call('HGET', own, key) == node then redis.call('HDEL', own, key) end
  end
end
redis.call('DEL', owned_key)
if ARGV[3] == 'reap' then
  redis.call('DEL', prefix .. ':inbox:' .. node)
  redis.call('SREM', prefix .. ':nodes', node)
end
return removed
";
