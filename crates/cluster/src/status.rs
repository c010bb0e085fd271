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
        let mut names: Vec<String> = conn.smembers(self.keys.leases()).await?;
        names.sort();
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.get(self.keys.node(id)).cmd("PTTL").arg(self.keys.node(id));
        }
        for name in &names {
            pipe.get(self.keys.lease(name)).cmd("PTTL").arg(self.keys.lease(name));
        }
        let mut replies: Vec<(Option<String>, i64)> = if ids.is_empty() && names.is_empty() {
            Vec::new()
        } else {
            let flat: Vec<redis::Value> = pipe.query_async(&mut conn).await?;
            flat.chunks_exact(2)
                .map(|pair| {
                    let value = redis::from_redis_value::<Option<String>>(pair[0].clone())?;
                    let ttl = redis::from_redis_value::<i64>(pair[1].clone())?;
                    Ok((value, ttl))
                })
                .collect::<redis::RedisResult<_>>()?
        };
        let lease_replies = replies.split_off(ids.len().min(replies.len()));
        let nodes = ids
            .into_iter()
            .zip(replies)
            .map(|(id, (info, ttl))| {
                let info: Option<NodeInfo> = info.and_then(|json| serde_json::from_str(&json).ok());
                NodeStatus { id, live: ttl > 0, lease_ms_left: ttl.max(0) as u64, info }
            })
            .collect();
        let leases = names
            .into_iter()
            .zip(lease_replies)
            .map(|(name, (holder, ttl))| LeaseStatus { name, holder, ms_left: ttl.max(0) as u64 })
            .collect();
        Ok(ClusterStatus { this_node: self.node_id().to_owned(), nodes, leases })
    }
}
