//! Herald's admin API, a driver crate (axum, tokio): what an operator asks a running server —
//!
//! - [`routes`]: the router on `[listen] admin` (plain HTTP, loopback by default): status,
//!   sessions, kick, debug logging, the log bundle, the doctor, `/metrics`; every route but
//!   `/metrics` behind the bearer token of [`token`];
//! - [`report`]: the serialisable answers ([`StatusReport`], [`SessionRow`]);
//! - [`cluster`]: the cluster's seam ([`ClusterView`]) and its report in the status;
//! - [`bundle`]: the `.tar.gz` of logs, close records, status and masked configuration;
//! - [`evidence`]: what `herald doctor` reads from a data directory and the store;
//! - [`client`]: the other side, for `herald ctl` (request, tables).
//!
//! The server builds an [`AdminState`] from its parts and serves [`routes::router`]; nothing here
//! knows the server's configuration type.

pub mod bundle;
pub mod client;
pub mod cluster;
pub mod evidence;
pub mod report;
pub mod routes;
pub mod token;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use herald_core::Core;
use herald_observe::LogControl;
use herald_store::AnyStore;

pub use cluster::{ClusterReport, ClusterView, LeaseReport, NodeReport};
pub use report::{ServiceStatus, SessionRow, StatusReport};
pub use routes::router;

/// Whether the CTI link is in service, asked of the contact center at each request; none when
/// the web services do not run (any more).
pub type CtiProbe = Arc<dyn ContactCenterView>;

/// What the admin side reads of the contact center (the web services), when they run: a
/// narrow view so that this crate needs nothing of herald-api's internals.
pub trait ContactCenterView: Send + Sync {
    /// Whether the web services are in service (the CTI link up); `None` once they stopped.
    fn in_service(&self) -> Option<bool>;
    /// Agents by state (`READY`, `NOT_READY`, …), as the contact center mirrors them.
    fn agents_by_state(&self) -> Vec<(String, i64)>;
    /// Sets the contact center's gauges (`herald_agents`, `herald_cti_link_up`) before a scrape.
    fn refresh_metrics(&self);
}

/// What the admin routes read: the running server's parts.
pub struct AdminState {
    /// The bearer token every route but `/metrics` needs.
    pub token: String,
    /// The core: sessions, kick, metrics.
    pub core: Core,
    /// The store: close records.
    pub store: AnyStore,
    /// The debug-logging switch.
    pub log: LogControl,
    /// The data directory (`logs/` under it).
    pub data_dir: PathBuf,
    /// Where the web services keep client logs.
    pub client_log_dir: PathBuf,
    /// The effective configuration as JSON, secrets already masked ([`bundle::mask`]).
    pub config_json: String,
    /// When the server started.
    pub started: Instant,
    /// Each service's name and the address it listens on (none: not running).
    pub services: Vec<(&'static str, Option<SocketAddr>)>,
    /// The CTI link's state, when the web services run.
    pub cti: Option<CtiProbe>,
    /// The cluster, when the server runs in one (`[cluster]`); none on a single node.
    pub cluster: Option<Arc<dyn ClusterView>>,
}

/// A future, boxed as `Send`: the store's generic trait futures borrow their arguments, and the
/// compiler cannot prove them `Send` inside a handler's future (rust-lang/rust#100013) unless
/// coerced at a known lifetime.
fn sendable<'a, T>(
    future: impl std::future::Future<Output = T> + Send + 'a,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>> {
    Box::pin(future)
}
