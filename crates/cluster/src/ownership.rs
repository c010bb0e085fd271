//! Ownership: which node owns a named thing that lives on one node only (a BOSH session by its
//! sid, say), so that any node can send what concerns it to its owner. `P:own:{kind}` maps each
//! key to its owner and `P:owned:{id}` lists what a node owns (`{kind}:{key}`); claims are
//! written by the sending task with the directory's scripts, and reaped with a dead node's
//! directory entries (`directory::REMOVE_ENTRIES`).

use redis::AsyncCommands as _;

use crate::sender::Outgoing;
use crate::{Cluster, ClusterError, Inner, lock};

/// The member of `P:owned:{id}` for `key` of `kind` (a kind has no `:`, so the first one splits).
pub(crate) fn member(kind: &str, key: &str) -> String {
    format!("{kind}:{key}")
}

/// Whether `kind` can name a kind of owned thing: not empty, no `:` (it splits the owned set's
/// members).
fn valid_kind(kind: &str) -> bool {
    !kind.is_empty() && !kind.contains(':')
}

impl Cluster {
    /// Records that this node owns `key` of `kind` (a `kind` is not empty and has no `:`);
    /// queued on the same ordered task as `post`, so a message posted after it finds it.
    pub fn claim(&self, kind: &str, key: &str) {
        if !valid_kind(kind) {
            tracing::warn!(node = %self.node_id(), kind, "not a kind of owned thing (empty or with a ':'): not claimed");
            return;
        }
        lock(&self.inner.held_claims).insert((kind.to_owned(), key.to_owned()));
        self.inner.queue(Outgoing::Claimed { kind: kind.to_owned(), key: key.to_owned() });
    }

    /// Records that this node no longer owns `key` of `kind`; queued like [`Cluster::claim`].
    /// A claim another node made since is left alone.
    pub fn release(&self, kind: &str, key: &str) {
        if lock(&self.inner.held_claims).remove(&(kind.to_owned(), key.to_owned())) {
            self.inner.queue(Outgoing::Released { kind: kind.to_owned(), key: key.to_owned() });
        }
    }

    /// The live node (this one included) that owns `key` of `kind`, if any.
    pub async fn owner(&self, kind: &str, key: &str) -> Result<Option<String>, ClusterError> {
        self.inner.ensure_running()?;
        let mut conn = self.inner.conn.clone();
        let owner: Option<String> = conn.hget(self.inner.keys.own(kind), key).await.map_err(|e| self.inner.redis_error(e))?;
        Ok(owner.filter(|node| self.inner.is_live(node)))
    }
}

impl Inner {
    /// Writes this node's claims again (after Redis lost them), after whatever is queued.
    pub(crate) fn reclaim_held(&self) {
        let held: Vec<(String, String)> = lock(&self.held_claims).iter().cloned().collect();
        for (kind, key) in held {
            self.queue(Outgoing::Claimed { kind, key });
        }
    }
}
