//! What the diagnosis tests share: evidence built from the real line shapes near one instant.

use herald_doctor::{Diagnosis, Disconnect, Evidence, ServiceState, VerdictKind};

/// 2026-12-01T18:59:31.000Z.
pub(crate) const T: u64 = 1_796_151_571_000;

/// An instant (near `T`, on the same day) written as RFC 3339.
pub(crate) fn stamp(ms: u64) -> String {
    let day_ms = (18 * 3600 + 59 * 60 + 31) * 1000 + ms as i64 - T as i64;
    let (s, frac) = (day_ms / 1000, day_ms % 1000);
    format!("2026-12-01T{:02}:{:02}:{:02}.{frac:03}Z", s / 3600, s / 60 % 60, s % 60)
}

pub(crate) fn line(ms: u64, target: &str, msg: &str) -> String {
    format!("{}  INFO {target}: {msg}", stamp(ms))
}

pub(crate) fn record(user: &str, opened: u64, closed: u64, cause: &str, last: u64) -> Disconnect {
    Disconnect {
        user: user.into(),
        jid: format!("{user}@localhost/desktop"),
        transport: "bosh".into(),
        source: "10.0.0.5:49805".into(),
        opened_ms: opened,
        closed_ms: closed,
        cause: cause.into(),
        last_request_ms: last,
        stanzas_sent: 4,
        dropped: 0,
        bytes_sent: 3748,
    }
}

pub(crate) fn services() -> Vec<ServiceState> {
    vec![
        ServiceState { name: "HTTP bind".into(), up: true, listening: Some("0.0.0.0:7443".into()) },
        ServiceState { name: "REST API".into(), up: true, listening: Some("0.0.0.0:8445".into()) },
        ServiceState { name: "CTI link".into(), up: true, listening: None },
    ]
}

pub(crate) fn evidence(disconnects: Vec<Disconnect>, log_lines: Vec<String>) -> Evidence {
    Evidence { disconnects, log_lines, services: services(), server_running: true, now_ms: T + 3_600_000 }
}

pub(crate) fn kinds(d: &Diagnosis) -> Vec<(VerdictKind, String)> {
    d.verdicts.iter().map(|v| (v.kind, v.subject.clone())).collect()
}
