//! The evidence `herald doctor` reads, gathered from a data directory: close records from the
//! store and the tail of the info logs (rotated ones too, bounded in size). Shared by the admin
//! route (the running server adds its live services) and the offline doctor (the server does
//! not answer: no services, "server not running"); [`herald_doctor::diagnose`] decides.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use herald_doctor::{Disconnect, Evidence, Query, ServiceState};
use herald_store::{AnyStore, CloseRecord, SessionRecordStore};

/// Bytes read from the end of each log file at most.
const MAX_LOG_BYTES: u64 = 4 << 20;
/// Close records read at most.
const MAX_RECORDS: usize = 50_000;
/// The logs read, oldest first within each service (the rotation, then the live file).
const LOGS: &[&str] = &["notification/info.log.1", "notification/info.log", "webservices/info.log.1", "webservices/info.log"];

/// A close record as the doctor reads it.
fn disconnect(r: CloseRecord) -> Disconnect {
    Disconnect {
        user: r.user,
        jid: r.jid,
        transport: r.transport,
        source: r.remote,
        opened_ms: r.opened_ms,
        closed_ms: r.closed_ms,
        cause: r.cause,
        last_request_ms: r.last_request_ms,
        stanzas_sent: r.stanzas_sent,
        dropped: r.dropped,
        bytes_sent: r.bytes_sent,
    }
}

/// The last `MAX_LOG_BYTES` of `path` as lines (the first, likely cut, line dropped when the file
/// was cut); nothing when it does not exist.
fn tail_lines(path: &Path) -> Vec<String> {
    let Ok(mut file) = std::fs::File::open(path) else { return Vec::new() };
    let len = file.metadata().map_or(0, |m| m.len());
    let start = len.saturating_sub(MAX_LOG_BYTES);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if file.take(MAX_LOG_BYTES).read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0);
    }
    lines
}

/// Gathers the evidence under `data_dir` and in `store` for `query`; `services` are the live
/// services (empty when the server does not run).
pub async fn gather(
    data_dir: &Path,
    store: &AnyStore,
    query: &Query,
    services: Vec<ServiceState>,
    server_running: bool,
    now_ms: u64,
) -> anyhow::Result<Evidence> {
    let records = crate::sendable(store.close_records(query.user.as_deref(), query.since_ms, MAX_RECORDS)).await?;
    let logs = data_dir.join("logs");
    // Megabytes of file reads: off the runtime's threads, as the bundle is.
    let log_lines = tokio::task::spawn_blocking(move || LOGS.iter().flat_map(|name| tail_lines(&logs.join(name))).collect())
        .await
        .map_err(|err| anyhow::anyhow!("reading the logs failed: {err}"))?;
    Ok(Evidence { disconnects: records.into_iter().map(disconnect).collect(), log_lines, services, server_running, now_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_tail_of_a_large_log_is_read_and_its_cut_line_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("info.log");
        let mut text = "x".repeat(usize::try_from(MAX_LOG_BYTES).unwrap());
        text.push_str("\nlast line\n");
        std::fs::write(&path, text).unwrap();
        assert_eq!(tail_lines(&path), ["last line"]);
        assert!(tail_lines(&dir.path().join("missing.log")).is_empty());
    }

    #[tokio::test]
    async fn evidence_holds_the_selected_records_and_the_log_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("logs/notification")).unwrap();
        std::fs::write(dir.path().join("logs/notification/info.log.1"), "old\n").unwrap();
        std::fs::write(dir.path().join("logs/notification/info.log"), "new\n").unwrap();
        let store = AnyStore::Memory(herald_store::MemoryStore::new());
        let record = |user: &str, closed_ms| CloseRecord { user: user.into(), closed_ms, cause: "inactivity".into(), ..Default::default() };
        store.add_close_records(&[record("alice", 10), record("bob", 20), record("alice", 30)]).await.unwrap();
        let query = Query { user: Some("alice".into()), since_ms: 20 };
        let evidence = gather(dir.path(), &store, &query, Vec::new(), false, 99).await.unwrap();
        assert_eq!(evidence.disconnects.len(), 1);
        assert_eq!((evidence.disconnects[0].user.as_str(), evidence.disconnects[0].closed_ms), ("alice", 30));
        assert_eq!(evidence.log_lines, ["old", "new"]);
        assert!(!evidence.server_running);
        assert_eq!(evidence.now_ms, 99);
    }
}
