//! The admin API's answers about the running server: the status report and the session
//! listing, as serialisable rows (also what `herald ctl` parses back).

use std::collections::BTreeMap;

use herald_core::Core;
use serde::{Deserialize, Serialize};

use crate::{AdminState, ClusterReport, cluster};

/// One service and where it listens.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ServiceStatus {
    /// `c2s`, `HTTP bind` (HTTPS), `HTTP bind (plain)`, `REST API`, `admin`.
    pub name: String,
    /// Whether it runs.
    pub up: bool,
    /// The address it actually listens on.
    pub address: Option<String>,
}

/// `GET /admin/status`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct StatusReport {
    /// Herald's version.
    pub version: String,
    /// Seconds since the server started.
    pub uptime_secs: u64,
    /// Every service.
    pub services: Vec<ServiceStatus>,
    /// Whether the CTI link is in service; none without the web services.
    pub cti_link_up: Option<bool>,
    /// Bound client sessions per transport.
    pub sessions: BTreeMap<String, usize>,
    /// Agents by state (none without the web services).
    #[serde(default)]
    pub agents: BTreeMap<String, i64>,
    /// Whether debug logging is on.
    pub debug_logging: bool,
    /// The cluster's nodes and leases, when the server runs in one (absent from the JSON of a
    /// server older than issue 15: it still parses).
    #[serde(default)]
    pub cluster: Option<ClusterReport>,
}

/// One session of `GET /admin/sessions`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SessionRow {
    /// The binding's id.
    pub id: u64,
    /// Its full JID.
    pub jid: String,
    /// `tcp`, `bosh`, `websocket`, `internal`.
    pub transport: String,
    /// The client's address.
    pub source: String,
    /// The transport's name for it (BOSH sid, connection peer).
    pub label: String,
    /// Seconds since the client last sent anything; none if never since the bind.
    pub idle_secs: Option<u64>,
    /// Stanzas written to it.
    pub sent: u64,
    /// Stanzas waiting in its queue.
    pub queued: usize,
    /// Stanzas dropped because its queue was full.
    pub dropped: u64,
    /// Bytes written to it.
    pub bytes_sent: u64,
    /// Requests held (BOSH).
    pub held_requests: u32,
}

use herald_core::epoch_ms;

/// Every session of `core`, as rows (of `user` only if given).
pub fn sessions(core: &Core, user: Option<&str>) -> Vec<SessionRow> {
    let now = epoch_ms();
    core.sessions(user)
        .into_iter()
        .map(|s| SessionRow {
            id: s.id,
            jid: s.jid.to_string(),
            transport: s.transport.name().to_owned(),
            source: s.source.to_string(),
            label: s.label,
            idle_secs: (s.last_request_ms > 0).then(|| now.saturating_sub(s.last_request_ms) / 1000),
            sent: s.stanzas_sent,
            queued: s.queued,
            dropped: s.dropped,
            bytes_sent: s.bytes_sent,
            held_requests: s.held_requests,
        })
        .collect()
}

/// The status report of the running server, without the cluster's (the doctor needs only the
/// services; [`report_with_cluster`] reads Redis).
pub fn report(state: &AdminState) -> StatusReport {
    let mut by_transport = BTreeMap::new();
    for s in state.core.sessions(None) {
        *by_transport.entry(s.transport.name().to_owned()).or_insert(0) += 1;
    }
    StatusReport {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_secs: state.started.elapsed().as_secs(),
        services: state
            .services
            .iter()
            .map(|(name, addr)| ServiceStatus { name: (*name).to_owned(), up: addr.is_some(), address: addr.map(|a| a.to_string()) })
            .collect(),
        cti_link_up: state.cti.as_ref().and_then(|cc| cc.in_service()),
        sessions: by_transport,
        agents: state.cti.as_ref().map(|cc| cc.agents_by_state().into_iter().collect()).unwrap_or_default(),
        debug_logging: state.log.debug(),
        cluster: None,
    }
}

/// The status report with the cluster's, read now (bounded by [`cluster::REPORT_TIMEOUT`]).
pub async fn report_with_cluster(state: &AdminState) -> StatusReport {
    let mut status = report(state);
    if let Some(view) = &state.cluster {
        status.cluster = Some(cluster::report_within(view.as_ref(), cluster::REPORT_TIMEOUT).await);
    }
    status
}

/// Now, in seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    epoch_ms() / 1000
}

/// The services as the doctor reads them: the listeners, then the CTI link when the web
/// services run.
pub fn doctor_services(report: &StatusReport) -> Vec<herald_doctor::ServiceState> {
    let mut services: Vec<herald_doctor::ServiceState> = report
        .services
        .iter()
        .map(|s| herald_doctor::ServiceState { name: s.name.clone(), up: s.up, listening: s.address.clone() })
        .collect();
    if let Some(up) = report.cti_link_up {
        services.push(herald_doctor::ServiceState { name: "CTI link".into(), up, listening: None });
    }
    services
}
