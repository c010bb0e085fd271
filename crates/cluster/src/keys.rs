//! The Redis key names, all under the configured prefix (see the table in
//! `docs/architecture/cluster.md`).

/// Builds every key from the prefix, so no other module spells one.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned() }
    }
    /// The prefix itself (the scripts that compute keys from JIDs need it).
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }
    /// The set of joined, not yet reaped node ids.
    pub(crate) fn nodes(&self) -> String {
        format!("{}:nodes", self.prefix)
    }
    /// A node's lease key (JSON `NodeInfo`, `PX lease`).
    pub(crate) fn node(&self, id: &str) -> String {
        format!("{}:node:{id}", self.prefix)
    }
    /// A node's inbox stream.
    pub(crate) fn inbox(&self, id: &str) -> String {
        format!("{}:inbox:{id}", self.prefix)
    }
    /// The directory hash of a bare JID: resource → node id.
    pub(crate) fn dir(&self, bare: &str) -> String {
        format!("{}:dir:{bare}", self.prefix)
    }
    /// The set of full JIDs a node holds.
    pub(crate) fn jids(&self, id: &str) -> String {
        format!("{}:jids:{id}", self.prefix)
    }
    /// The ownership hash of a kind of owned thing: key → node id.
    pub(crate) fn own(&self, kind: &str) -> String {
        format!("{}:own:{kind}", self.prefix)
    }
    /// The set of what a node owns, as `{kind}:{key}`.
    pub(crate) fn owned(&self, id: &str) -> String {
        format!("{}:owned:{id}", self.prefix)
    }
    /// A named lease.
    pub(crate) fn lease(&self, name: &str) -> String {
        format!("{}:lease:{name}", self.prefix)
    }
    /// The set of lease names ever taken (for the status, instead of scanning the keyspace).
    pub(crate) fn leases(&self) -> String {
        format!("{}:leases", self.prefix)
    }
    /// The lock that lets one survivor reap a dead node.
    pub(crate) fn reap(&self, id: &str) -> String {
        format!("{}:reap:{id}", self.prefix)
    }
    /// A shared counter.
    pub(crate) fn count(&self, key: &str) -> String {
        format!("{}:count:{key}", self.prefix)
    }
    /// A secret every node shares (the simulator's token).
    pub(crate) fn secret(&self, name: &str) -> String {
        format!("{}:secret:{name}", self.prefix)
    }
}
