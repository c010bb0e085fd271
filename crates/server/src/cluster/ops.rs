//! The cluster as the operator sees it: the admin API's [`herald_admin::ClusterView`] over
//! `herald-cluster` (`herald ctl status`: nodes, leases, who drives the CTI side) and the cluster
//! gauges and counters set before each scrape of `/metrics`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;

use herald_admin::{ClusterReport, ClusterView, LeaseReport, NodeReport};
use herald_cluster::Cluster;
use herald_metrics::{BusTotals, Metrics};

use super::leader::CTI_LEASE;

/// The view `herald ctl status` and `/metrics` read.
pub(crate) struct Operations {
    pub(crate) cluster: Cluster,
    pub(crate) metrics: Metrics,
}

impl ClusterView for Operations {
    fn report(&self) -> Pin<Box<dyn Future<Output = ClusterReport> + Send + '_>> {
        Box::pin(async move {
            let node = self.cluster.node_id().to_owned();
            match self.cluster.status().await {
                Ok(status) => ClusterReport {
                    node,
                    nodes: status
                        .nodes
                        .into_iter()
                        .map(|n| {
                            let info = n.info.unwrap_or_default();
                            NodeReport {
                                id: n.id,
                                host: info.host,
                                live: n.live,
                                lease_ms_left: n.live.then_some(n.lease_ms_left),
                                c2s_port: info.c2s_port,
                                https_port: info.https_port,
                                rest_port: info.rest_port,
                                admin: info.admin,
                                started_ms: info.started_ms,
                                version: info.version,
                            }
                        })
                        .collect(),
                    cti_leader: status.leases.iter().find(|l| l.name == CTI_LEASE).and_then(|l| l.holder.clone()),
                    leases: status
                        .leases
                        .into_iter()
                        .map(|l| LeaseReport { ms_left: l.holder.is_some().then_some(l.ms_left), name: l.name, holder: l.holder })
                        .collect(),
                    error: None,
                },
                Err(err) => ClusterReport {
                    node,
                    cti_leader: self.cluster.holder(CTI_LEASE),
                    error: Some(format!("the cluster's state could not be read: {err}")),
                    ..ClusterReport::default()
                },
            }
        })
    }

    fn refresh_metrics(&self) {
        let stats = self.cluster.stats();
        self.metrics.bus_totals(BusTotals {
            sent: stats.sent.load(Ordering::Relaxed),
            received: stats.received.load(Ordering::Relaxed),
            errors: stats.send_errors.load(Ordering::Relaxed),
            lost_nodes: stats.lost_nodes.load(Ordering::Relaxed),
        });
    }
}

/// Sets the cluster gauges (`herald_cluster_nodes`, `herald_cluster_cti_leader`) from Redis every
/// `every`, so that a scrape reads them without waiting on Redis.
pub(crate) async fn watch_gauges(cluster: Cluster, metrics: Metrics, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Ok(status) = cluster.status().await {
            let live = status.nodes.iter().filter(|n| n.live).count();
            let leader = status.leases.iter().any(|l| l.name == CTI_LEASE && l.holder.as_deref() == Some(cluster.node_id()));
            metrics.cluster_refresh(live, status.nodes.len() - live, leader);
        }
    }
}
