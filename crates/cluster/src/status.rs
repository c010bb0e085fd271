//! What `herald ctl status` shows of the cluster ([`ClusterStatus`]).

use serde::Serialize;

use crate::NodeInfo;

/// The nodes (live and dead-not-yet-reaped) and the leases, as Redis has them now.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ClusterStatus {
    /// The node that answered.
    pub this_node: String,
    /// Sorted by id.
    pub nodes: Vec<NodeStatus>,
    /// Sorted by name.
    pub leases: Vec<LeaseStatus>,
}

/// One node of [`ClusterStatus`].
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct NodeStatus {
    pub id: String,
    /// Whether its node key exists.
    pub live: bool,
    /// How long its node key has left (0 when dead).
    pub lease_ms_left: u64,
    /// What it published about itself (none when dead).
    pub info: Option<NodeInfo>,
}

/// One lease of [`ClusterStatus`].
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LeaseStatus {
    pub name: String,
    pub holder: Option<String>,
    pub ms_left: u64,
}

impl crate::Inner {
    /// Reads the nodes and leases from Redis now.
    pub(crate) async fn status(&self) -> Result<ClusterStatus, crate::ClusterError> {
        self.read_status().await.map_err(|e| self.redis_error(e))
    }

    async fn read_status(&self) -> redis::RedisResult<ClusterStatus> {
        use redis::AsyncCommands as _;
        let mut conn = self.conn.clone();
        let mut ids: Vec<String> = conn.smembers(self.keys.nodes()).await?;
        ids.sort();
        let mut nodes = Vec::with_capacity(ids.len());
        for id in ids {
            let (info, ttl): (Option<String>, i64) =
                redis::pipe().get(self.keys.node(&id)).cmd("PTTL").arg(self.keys.node(&id)).query_async(&mut conn).await?;
            let info: Option<NodeInfo> = info.and_then(|json| serde_json::from_str(&json).ok());
            nodes.push(NodeStatus { id, live: ttl > 0, lease_ms_left: ttl.max(0) as u64, info });
        }
        let mut lease_keys: Vec<String> = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(self.keys.lease_pattern())
                .arg("COUNT")
                .arg(200)
                .query_async(&mut conn)
                .await?;
            lease_keys.extend(keys);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        lease_keys.sort();
        lease_keys.dedup();
        let mut leases = Vec::with_capacity(lease_keys.len());
        for key in lease_keys {
            let Some(name) = self.keys.lease_name(&key) else { continue };
            let (holder, ttl): (Option<String>, i64) = redis::pipe().get(&key).cmd("PTTL").arg(&key).query_async(&mut conn).await?;
            leases.push(LeaseStatus { name: name.to_owned(), holder, ms_left: ttl.max(0) as u64 });
        }
        Ok(ClusterStatus { this_node: self.node_id().to_owned(), nodes, leases })
    }
}
