//! The admin API's client, for `herald ctl`: one request with the token, and the tables printed
//! for people. Where the server listens and where its token is are the caller's to find (the
//! configuration and the data directory).

use std::fmt::Write as _;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use crate::{ClusterReport, SessionRow, StatusReport};

/// An HTTP answer of the admin API.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: hyper::StatusCode,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body, or an error naming the status and the server's message unless it is 200.
    pub fn ok(self) -> anyhow::Result<Bytes> {
        if self.status != hyper::StatusCode::OK {
            bail!("the server answered {}: {}", self.status, self.text().trim());
        }
        Ok(self.body)
    }
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Sends `method target` (`GET`, `POST`) to the admin API at `addr` with `token`.
pub async fn request(addr: std::net::SocketAddr, token: &str, method: &str, target: &str) -> anyhow::Result<Answer> {
    let method = hyper::Method::from_bytes(method.as_bytes()).context("not an HTTP method")?;
    let tcp = tokio::net::TcpStream::connect(addr).await.with_context(|| {
        format!("cannot connect to the admin API at {addr}: is `herald serve` running with this configuration? (`herald doctor` also works offline)")
    })?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::builder()
        .method(method)
        .uri(target)
        .header("host", addr.to_string())
        .header("authorization", format!("Bearer {}", token.trim()))
        .body(Full::new(Bytes::new()))?;
    let response = sender.send_request(request).await.context("the server did not answer")?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Answer { status, body })
}

/// The status report as a table.
pub fn format_status(report: &StatusReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Herald {}  up {} s  debug logging {}", report.version, report.uptime_secs, on_off(report.debug_logging));
    let _ = writeln!(out, "{:<16} {:<5} ADDRESS", "SERVICE", "STATE");
    for s in &report.services {
        let _ = writeln!(out, "{:<16} {:<5} {}", s.name, if s.up { "up" } else { "down" }, s.address.as_deref().unwrap_or("-"));
    }
    let cti = match report.cti_link_up {
        Some(true) => "in service",
        Some(false) => "out of service",
        None => "not running",
    };
    let _ = writeln!(out, "CTI link: {cti}");
    let sessions: Vec<String> = report.sessions.iter().map(|(t, n)| format!("{t} {n}")).collect();
    let _ = writeln!(out, "sessions: {}", if sessions.is_empty() { "none".to_owned() } else { sessions.join(", ") });
    if !report.agents.is_empty() {
        let agents: Vec<String> = report.agents.iter().map(|(state, n)| format!("{state} {n}")).collect();
        let _ = writeln!(out, "agents: {}", agents.join(", "));
    }
    if let Some(cluster) = &report.cluster {
        out.push_str(&format_cluster(cluster));
    }
    out
}

/// The cluster section of the status: this node and who drives the CTI side, every node (live
/// or DEAD, its lease left, its ports), the leases, and what failed if Redis could not be read.
pub fn format_cluster(cluster: &ClusterReport) -> String {
    let mut out = String::new();
    let this = if cluster.node.is_empty() { "?" } else { cluster.node.as_str() };
    let live = cluster.nodes.iter().filter(|n| n.live).count();
    let cti = match &cluster.cti_leader {
        Some(leader) if *leader == cluster.node => format!("{leader} (this node)"),
        Some(leader) => leader.clone(),
        None => "no node (the cti lease is free)".to_owned(),
    };
    let _ = writeln!(out, "cluster: this node {this}, {} node(s), {live} live; CTI side driven by {cti}", cluster.nodes.len());
    if !cluster.nodes.is_empty() {
        let _ = writeln!(
            out,
            "  {:<20} {:<18} {:<5} {:>10} {:>6} {:>6} {:>6} {:<21} VERSION",
            "NODE", "HOST", "STATE", "LEASE_LEFT", "C2S", "HTTPS", "REST", "ADMIN"
        );
    }
    for n in &cluster.nodes {
        let mark = if n.id == cluster.node { "*" } else { "" };
        let _ = writeln!(
            out,
            "  {:<20} {:<18} {:<5} {:>10} {:>6} {:>6} {:>6} {:<21} {}",
            format!("{}{mark}", n.id),
            n.host,
            if n.live { "live" } else { "DEAD" },
            n.lease_ms_left.map_or_else(|| "-".to_owned(), seconds),
            n.c2s_port,
            n.https_port,
            n.rest_port.map_or_else(|| "-".to_owned(), |p| p.to_string()),
            n.admin.as_deref().unwrap_or("-"),
            n.version
        );
    }
    for lease in &cluster.leases {
        let left = lease.ms_left.map(|ms| format!(", {} left", seconds(ms))).unwrap_or_default();
        let _ = writeln!(out, "  lease {}: {}{left}", lease.name, lease.holder.as_deref().unwrap_or("free"));
    }
    if let Some(error) = &cluster.error {
        let _ = writeln!(out, "  cluster state unavailable: {error}");
    }
    out
}

/// Milliseconds as seconds with one decimal (`4.2 s`).
fn seconds(ms: u64) -> String {
    format!("{}.{} s", ms / 1000, ms % 1000 / 100)
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// The session listing as a table.
pub fn format_sessions(rows: &[SessionRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<40} {:<9} {:<16} {:>6} {:>6} {:>6} {:>7} {:>10} {:>4}",
        "JID", "TRANSPORT", "SOURCE", "IDLE_S", "SENT", "QUEUED", "DROPPED", "BYTES", "HELD"
    );
    for r in rows {
        let idle = r.idle_secs.map_or_else(|| "-".to_owned(), |s| s.to_string());
        let _ = writeln!(
            out,
            "{:<40} {:<9} {:<16} {:>6} {:>6} {:>6} {:>7} {:>10} {:>4}",
            r.jid, r.transport, r.source, idle, r.sent, r.queued, r.dropped, r.bytes_sent, r.held_requests
        );
    }
    let _ = writeln!(out, "{} session(s)", rows.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServiceStatus;

    #[test]
    fn status_tables_name_every_service_and_address() {
        let report = StatusReport {
            version: "1.2.3".into(),
            uptime_secs: 5,
            services: vec![
                ServiceStatus { name: "c2s".into(), up: true, address: Some("127.0.0.1:5222".into()) },
                ServiceStatus { name: "REST API".into(), up: false, address: None },
            ],
            cti_link_up: Some(true),
            sessions: [("bosh".to_owned(), 2)].into(),
            agents: [("READY".to_owned(), 3), ("TALKING".to_owned(), 1)].into(),
            debug_logging: false,
            cluster: None,
        };
        let text = format_status(&report);
        assert!(text.contains("agents: READY 3, TALKING 1"), "{text}");
        assert!(text.contains("c2s              up    127.0.0.1:5222"), "{text}");
        assert!(text.contains("REST API         down  -"), "{text}");
        assert!(text.contains("CTI link: in service") && text.contains("sessions: bosh 2"), "{text}");
        assert!(!text.contains("cluster"), "no cluster section on a single node: {text}");
    }

    /// Node `a` (this one, driving the CTI side) and `b`, live; `c`, dead but not reaped yet.
    fn three_nodes() -> ClusterReport {
        let node = |id: &str, live: bool, lease_ms_left: Option<u64>| crate::NodeReport {
            id: id.into(),
            host: id.replace("herald", "host"),
            live,
            lease_ms_left,
            c2s_port: 5222,
            https_port: 7443,
            rest_port: (id != "herald-c").then_some(8445),
            admin: Some("127.0.0.1:9090".into()),
            started_ms: 1,
            version: "0.15.0".into(),
        };
        ClusterReport {
            node: "herald-a".into(),
            nodes: vec![node("herald-a", true, Some(5_432)), node("herald-b", true, Some(4_000)), node("herald-c", false, None)],
            leases: vec![crate::LeaseReport { name: "cti".into(), holder: Some("herald-a".into()), ms_left: Some(3_900) }],
            cti_leader: Some("herald-a".into()),
            error: None,
        }
    }

    #[test]
    fn the_cluster_section_names_each_node_its_state_lease_and_ports_and_the_cti_leader() {
        let text = format_cluster(&three_nodes());
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("cluster: this node herald-a, 3 node(s), 2 live; CTI side driven by herald-a (this node)"), "{text}");
        let rows: Vec<Vec<&str>> = text.lines().skip(2).take(3).map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(rows[0], ["herald-a*", "host-a", "live", "5.4", "s", "5222", "7443", "8445", "127.0.0.1:9090", "0.15.0"], "{text}");
        assert_eq!(rows[1][..4], ["herald-b", "host-b", "live", "4.0"], "{text}");
        assert_eq!(rows[2][..6], ["herald-c", "host-c", "DEAD", "-", "5222", "7443"], "{text}");
        assert_eq!(rows[2][6], "-", "no REST port: {text}");
        assert!(text.contains("  lease cti: herald-a, 3.9 s left\n"), "{text}");
        assert!(!text.contains("unavailable"), "{text}");
    }

    #[test]
    fn an_unreadable_redis_is_said_and_a_free_lease_too() {
        let report = ClusterReport {
            node: "herald-b".into(),
            leases: vec![crate::LeaseReport { name: "cti".into(), holder: None, ms_left: None }],
            error: Some("Redis at redis://127.0.0.1:6390: connection refused".into()),
            ..ClusterReport::default()
        };
        let text = format_cluster(&report);
        assert!(
            text.starts_with("cluster: this node herald-b, 0 node(s), 0 live; CTI side driven by no node (the cti lease is free)\n"),
            "{text}"
        );
        assert!(!text.contains("NODE"), "no table without nodes: {text}");
        assert!(text.contains("  lease cti: free\n"), "{text}");
        assert!(text.ends_with("  cluster state unavailable: Redis at redis://127.0.0.1:6390: connection refused\n"), "{text}");
    }

    #[test]
    fn the_status_prints_its_cluster_section_and_another_leader_by_name() {
        let mut cluster = three_nodes();
        cluster.cti_leader = Some("herald-b".into());
        let report = StatusReport { cluster: Some(cluster), ..StatusReport::default() };
        let text = format_status(&report);
        assert!(text.contains("\ncluster: this node herald-a, 3 node(s), 2 live; CTI side driven by herald-b\n"), "{text}");
    }

    #[test]
    fn session_tables_show_each_counter_and_an_unknown_idle_time_as_a_dash() {
        let row = SessionRow {
            id: 1,
            jid: "alice@x/desk".into(),
            transport: "bosh".into(),
            source: "10.0.0.1".into(),
            label: "sid".into(),
            idle_secs: None,
            sent: 3,
            queued: 4,
            dropped: 5,
            bytes_sent: 600,
            held_requests: 1,
        };
        let text = format_sessions(&[row]);
        let line = text.lines().nth(1).unwrap();
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells, ["alice@x/desk", "bosh", "10.0.0.1", "-", "3", "4", "5", "600", "1"], "{text}");
        assert!(text.ends_with("1 session(s)\n"));
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("a@b/c d"), "a%40b%2Fc%20d");
    }

    #[tokio::test]
    async fn nobody_listening_is_an_error_naming_the_address() {
        let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let err = request(addr, "t", "GET", "/admin/status").await.unwrap_err();
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        assert!(request(addr, "t", "NOT A METHOD", "/").await.is_err());
    }
}
