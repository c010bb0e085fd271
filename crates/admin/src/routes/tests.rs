//! The routes over a real loopback listener, asked through [`crate::client::request`]: the
//! status with and without a cluster, a cluster view that never answers, the metrics' refresh.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use herald_core::{Core, CoreConfig};
use herald_store::{AnyStore, MemoryStore};

use crate::{AdminState, ClusterReport, ClusterView, LeaseReport, NodeReport, StatusReport, client};

const TOKEN: &str = "test-token";

/// A cluster of two nodes, `herald-b` driving the CTI side; counts the metrics refreshes.
#[derive(Default)]
struct TwoNodes {
    refreshes: AtomicUsize,
}

fn two_nodes() -> ClusterReport {
    let node = |id: &str| NodeReport { id: id.into(), live: true, lease_ms_left: Some(5_000), ..NodeReport::default() };
    ClusterReport {
        node: "herald-a".into(),
        nodes: vec![node("herald-a"), node("herald-b")],
        leases: vec![LeaseReport { name: "cti".into(), holder: Some("herald-b".into()), ms_left: Some(4_000) }],
        cti_leader: Some("herald-b".into()),
        error: None,
    }
}

impl ClusterView for TwoNodes {
    fn report(&self) -> Pin<Box<dyn Future<Output = ClusterReport> + Send + '_>> {
        Box::pin(async { two_nodes() })
    }

    fn refresh_metrics(&self) {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
    }
}

/// A Redis that never answers.
struct Silent;

impl ClusterView for Silent {
    fn report(&self) -> Pin<Box<dyn Future<Output = ClusterReport> + Send + '_>> {
        Box::pin(std::future::pending())
    }
}

/// Serves the admin routes with `cluster` on a loopback port.
async fn serve(cluster: Option<Arc<dyn ClusterView>>) -> (std::net::SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::start(CoreConfig::new("example.com"), AnyStore::Memory(MemoryStore::new())).await.unwrap();
    let state = Arc::new(AdminState {
        token: TOKEN.into(),
        core,
        store: AnyStore::Memory(MemoryStore::new()),
        log: herald_observe::LogControl::default(),
        data_dir: dir.path().to_owned(),
        client_log_dir: dir.path().join("clientlogs"),
        config_json: "{}".into(),
        started: Instant::now(),
        services: vec![("admin", None)],
        cti: None,
        cluster,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, super::router(state)).await });
    (addr, dir)
}

async fn status(addr: std::net::SocketAddr) -> (StatusReport, serde_json::Value) {
    let body = client::request(addr, TOKEN, "GET", "/admin/status").await.unwrap().ok().unwrap();
    (serde_json::from_slice(&body).unwrap(), serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn the_status_carries_the_cluster_report_when_there_is_a_cluster() {
    let (addr, _dir) = serve(Some(Arc::new(TwoNodes::default()))).await;
    let (report, json) = status(addr).await;
    assert_eq!(report.cluster, Some(two_nodes()));
    assert_eq!(json["cluster"]["cti_leader"], "herald-b", "{json}");
    assert_eq!(json["cluster"]["nodes"][1]["lease_ms_left"], 5_000, "{json}");
    assert!(client::format_status(&report).contains("CTI side driven by herald-b"));
}

#[tokio::test]
async fn a_single_node_has_no_cluster_in_its_status() {
    let (addr, _dir) = serve(None).await;
    let (report, json) = status(addr).await;
    assert_eq!(report.cluster, None);
    assert!(json["cluster"].is_null(), "{json}");
}

#[tokio::test]
async fn a_cluster_view_that_never_answers_gives_a_report_saying_so() {
    let silent = crate::cluster::report_within(&Silent, std::time::Duration::from_millis(20)).await;
    assert!(silent.error.as_deref().is_some_and(|e| e.contains("could not be read")), "{silent:?}");
    assert!(silent.nodes.is_empty() && silent.cti_leader.is_none());
}

#[tokio::test]
async fn a_scrape_refreshes_the_cluster_metrics_first() {
    let view = Arc::new(TwoNodes::default());
    let (addr, _dir) = serve(Some(view.clone())).await;
    let answer = client::request(addr, "", "GET", "/metrics").await.unwrap();
    assert!(answer.text().contains("herald_cluster_nodes"), "{}", answer.text());
    assert_eq!(view.refreshes.load(Ordering::SeqCst), 1);
}

#[test]
fn a_status_from_a_server_without_the_cluster_field_still_parses() {
    let older = r#"{"version":"0.14.0","uptime_secs":3,"services":[],"cti_link_up":null,"sessions":{},"agents":{},"debug_logging":false}"#;
    let report: StatusReport = serde_json::from_str(older).unwrap();
    assert_eq!(report.cluster, None);
    assert_eq!(report.version, "0.14.0");
}
