//! The close-record recorder: an [`EventSink`] on the core's seam that turns every ended client
//! session into a [`CloseRecord`] and hands it to a writer task, which stores them in batches
//! and prunes the table to `[log] close_records_keep`. The core is never blocked: the channel is
//! bounded, and records that do not fit are counted and logged instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use herald_core::{CoreEvent, EventSink, Transport, epoch_ms};
use herald_store::{AnyStore, CloseRecord, SessionRecordStore};
use tokio::sync::mpsc;

/// Records waiting for the writer at most; past this they are dropped (and counted).
const QUEUE: usize = 4096;
/// Records written per transaction at most.
const BATCH: usize = 256;
/// The account of the web services' own sessions, which are not recorded.
const INTERNAL_USER: &str = "finesse";

/// What the core's seam sees: sends each ended client session's record to the writer.
pub(crate) struct Recorder {
    tx: mpsc::Sender<CloseRecord>,
    dropped: Arc<AtomicU64>,
}

/// The record of an ended session, or none for internal ones.
fn record_of(event: &CoreEvent, now_ms: u64) -> Option<CloseRecord> {
    let CoreEvent::SessionUnbound { jid, cause, dropped, info, .. } = event else { return None };
    let user = jid.node().map(|n| n.as_str().to_owned()).unwrap_or_default();
    if info.transport == Transport::Internal || user == INTERNAL_USER {
        return None;
    }
    Some(CloseRecord {
        user,
        jid: jid.to_string(),
        transport: info.transport.name().to_owned(),
        remote: info.source.to_string(),
        opened_ms: info.opened_ms,
        closed_ms: now_ms,
        cause: cause.name().to_owned(),
        last_request_ms: info.last_request_ms,
        stanzas_sent: info.stanzas_sent,
        queued: info.queued as u64,
        dropped: (*dropped).max(info.dropped),
        bytes_sent: info.bytes_sent,
    })
}

impl EventSink for Recorder {
    fn event(&self, event: &CoreEvent) {
        let Some(record) = record_of(event, epoch_ms()) else { return };
        if self.tx.try_send(record).is_err() {
            let total = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // One line per power of two: a flood is visible without flooding the log.
            if total.is_power_of_two() {
                tracing::warn!(target: "notification", total, "close records dropped: the store does not keep up");
            }
        }
    }
}

/// Starts the writer on `store`; returns the recorder to register and the writer's task, which
/// ends (after writing what is queued) once every recorder is gone.
pub(crate) fn start(store: AnyStore, keep: u64) -> (Arc<Recorder>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let task = tokio::spawn(write(store, keep, rx));
    (Arc::new(Recorder { tx, dropped: Arc::default() }), task)
}

async fn write(store: AnyStore, keep: u64, mut rx: mpsc::Receiver<CloseRecord>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let written = crate::cc::sendable(store.add_close_records(&batch)).await;
        match written {
            Ok(()) => {
                if let Err(err) = crate::cc::sendable(store.prune_close_records(keep)).await {
                    tracing::warn!(target: "notification", %err, "cannot prune the close records");
                }
            }
            Err(err) => tracing::warn!(target: "notification", %err, records = batch.len(), "cannot store close records"),
        }
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::{CloseCause, SessionInfo};

    fn unbound(jid: &str, transport: Transport) -> CoreEvent {
        let jid: herald_proto::FullJid = jid.parse().unwrap();
        CoreEvent::SessionUnbound {
            session: 1,
            jid: jid.clone(),
            cause: CloseCause::Kicked,
            last_activity: std::time::Instant::now(),
            dropped: 2,
            info: Box::new(SessionInfo {
                id: 1,
                jid,
                label: "sid".into(),
                transport,
                source: [10, 0, 0, 9].into(),
                opened_ms: 5,
                last_request_ms: 7,
                stanzas_sent: 3,
                queued: 1,
                dropped: 0,
                bytes_sent: 99,
                held_requests: 0,
                available: true,
            }),
        }
    }

    #[test]
    fn an_ended_client_session_becomes_a_record() {
        let r = record_of(&unbound("alice@x/desk", Transport::Bosh), 10).unwrap();
        assert_eq!((r.user.as_str(), r.jid.as_str(), r.transport.as_str()), ("alice", "alice@x/desk", "bosh"));
        assert_eq!((r.remote.as_str(), r.cause.as_str()), ("10.0.0.9", CloseCause::Kicked.name()));
        assert_eq!((r.opened_ms, r.closed_ms, r.last_request_ms), (5, 10, 7));
        assert_eq!((r.stanzas_sent, r.queued, r.dropped, r.bytes_sent), (3, 1, 2, 99));
    }

    #[test]
    fn internal_sessions_and_other_events_are_not_recorded() {
        assert_eq!(record_of(&unbound("finesse@x/ws", Transport::Tcp), 10), None);
        assert_eq!(record_of(&unbound("bob@x/r", Transport::Internal), 10), None);
        let presence = CoreEvent::PresenceChanged { session: 1, jid: "bob@x/r".parse().unwrap(), available: true, last_resource: true };
        assert_eq!(record_of(&presence, 10), None);
    }

    #[tokio::test]
    async fn records_reach_the_store_pruned_and_overflow_is_counted() {
        let store = AnyStore::Memory(herald_store::MemoryStore::new());
        let (recorder, task) = start(store.clone(), 2);
        for i in 0..3 {
            recorder.event(&unbound(&format!("u{i}@x/r"), Transport::Tcp));
        }
        drop(recorder);
        task.await.unwrap();
        let kept = store.close_records(None, 0, 10).await.unwrap();
        assert_eq!(kept.len(), 2, "pruned to keep");
        let (tx, _rx) = mpsc::channel(1);
        let full = Recorder { tx, dropped: Arc::default() };
        full.event(&unbound("a@x/r", Transport::Tcp));
        full.event(&unbound("b@x/r", Transport::Tcp));
        assert_eq!(full.dropped.load(Ordering::Relaxed), 1);
    }
}
