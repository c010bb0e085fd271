//! The cluster as the admin side sees it: a narrow seam ([`ClusterView`]) the server implements
//! over `herald-cluster`, and the serialisable report `/admin/status` carries and `herald ctl
//! status` prints (this node, every node with its lease, the named leases, who drives the CTI
//! side). Nothing here knows Redis: on a single node there is no view and no report.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long `/admin/status` waits for the cluster's report: a Redis that does not answer must
/// not hang the status, which is what an operator reads when something is wrong.
pub const REPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the admin side reads of the cluster, when the server runs in one.
pub trait ClusterView: Send + Sync {
    /// The nodes, their leases and the named leases, read from Redis now. Redis unreachable is
    /// not an error: the report says what failed in [`ClusterReport::error`].
    fn report(&self) -> Pin<Box<dyn Future<Output = ClusterReport> + Send + '_>>;

    /// Sets the cluster's gauges and counters (`herald_cluster_*`) before a `/metrics` scrape:
    /// the view knows the bus's totals and the last refresh. Nothing by default.
    fn refresh_metrics(&self) {}
}

/// The cluster as `/admin/status` reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterReport {
    /// This node's id.
    pub node: String,
    /// Every node that joined and was not reaped yet, live or dead, sorted by id.
    pub nodes: Vec<NodeReport>,
    /// The named leases (`cti`: the node driving the CTI side).
    pub leases: Vec<LeaseReport>,
    /// The holder of the `cti` lease.
    pub cti_leader: Option<String>,
    /// What failed when Redis could not be read (the rest of the report is then what the node
    /// last knew, or empty); the status still answers.
    pub error: Option<String>,
}

/// One node of the cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    /// Its id (`[cluster] node_id`).
    pub id: String,
    /// The host it announced.
    pub host: String,
    /// Whether its lease is held (it refreshed it in time).
    pub live: bool,
    /// What is left of its lease (ms); none when it expired.
    pub lease_ms_left: Option<u64>,
    /// Its XMPP client port.
    pub c2s_port: u16,
    /// Its HTTPS (BOSH) port.
    pub https_port: u16,
    /// Its REST API port, when it serves one.
    pub rest_port: Option<u16>,
    /// Its admin API address, when it serves one.
    pub admin: Option<String>,
    /// When it started (epoch ms).
    pub started_ms: u64,
    /// Its Herald version.
    pub version: String,
}

/// One named lease.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LeaseReport {
    /// Its name (`cti`).
    pub name: String,
    /// The node holding it; none when nobody does.
    pub holder: Option<String>,
    /// What is left of it (ms).
    pub ms_left: Option<u64>,
}

/// The report of `view`, or one saying it did not come within [`REPORT_TIMEOUT`].
pub async fn report_within(view: &dyn ClusterView, timeout: Duration) -> ClusterReport {
    match tokio::time::timeout(timeout, view.report()).await {
        Ok(report) => report,
        Err(_) => ClusterReport {
            error: Some(format!("the cluster's state could not be read within {} s (Redis does not answer)", timeout.as_secs())),
            ..ClusterReport::default()
        },
    }
}
