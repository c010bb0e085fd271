//! The pubsub writer of the SQLite store: one thread owning one `rusqlite` connection applies
//! each batch of pubsub changes ([`PubSubOp`]s) in one transaction.
//!
//! Why not through the sqlx pool like every other call: sqlx hands each statement to its
//! connection's worker thread and waits for the answer, so a group commit of N publishes cost
//! about 2N+2 cross-thread hand-offs. Here a whole group commit is one hand-off to this thread
//! and one answer back, and the statements come from the connection's prepared-statement cache.
//! Reads (loading at start) stay on the pool; WAL mode lets both connections share the file.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::oneshot;

use crate::{PubSubOp, StoreError};

/// One batch and where its outcome goes.
struct Batch {
    ops: Vec<PubSubOp>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The handle to the writer thread; the thread ends when the last handle is dropped.
#[derive(Debug)]
pub(crate) struct PubSubWriter {
    batches: mpsc::Sender<Batch>,
}

fn backend(err: rusqlite::Error) -> StoreError {
    StoreError::Backend(err.to_string())
}

impl PubSubWriter {
    /// Starts the writer thread for the database at `path` (whose schema is up to date).
    pub(crate) fn start(path: PathBuf) -> Result<Self, StoreError> {
        let (batches, rx) = mpsc::channel::<Batch>();
        std::thread::Builder::new()
            .name("herald-pubsub-db".into())
            .spawn(move || run(&path, &rx))
            .map_err(|e| StoreError::Backend(format!("pubsub writer thread: {e}")))?;
        Ok(Self { batches })
    }

    /// Applies `ops` in one transaction on the writer thread.
    pub(crate) async fn apply(&self, ops: &[PubSubOp]) -> Result<(), StoreError> {
        let (done, outcome) = oneshot::channel();
        self.batches.send(Batch { ops: ops.to_vec(), done }).map_err(|_| StoreError::Backend("the pubsub writer thread stopped".into()))?;
        outcome.await.map_err(|_| StoreError::Backend("the pubsub writer thread stopped".into()))?
    }
}

/// The writer's connection. WAL mode is already the file's (set by the pool when it opened it,
/// and persistent), so only the per-connection settings are made here.
fn open(path: &PathBuf) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// The thread: takes batches until every handle is gone. A connection that cannot be opened
/// fails each batch (and is tried again for the next) rather than ending the thread.
fn run(path: &PathBuf, batches: &mpsc::Receiver<Batch>) {
    let mut conn: Option<Connection> = None;
    while let Ok(batch) = batches.recv() {
        let result = match &mut conn {
            Some(c) => apply(c, &batch.ops),
            None => match open(path) {
                Ok(c) => apply(conn.insert(c), &batch.ops),
                Err(e) => Err(e),
            },
        };
        let _ = batch.done.send(result.map_err(backend));
    }
}

fn apply(conn: &mut Connection, ops: &[PubSubOp]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for op in ops {
        apply_op(&tx, op)?;
    }
    tx.commit()
}

fn seq_value(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Records a node's next sequence number before items are deleted, so that numbers (and the
/// item ids made from them) are never reused after a retraction or a purge and a restart.
fn keep_high_water_mark(tx: &Connection, node: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE pubsub_nodes SET next_seq = MAX(next_seq, (SELECT COALESCE(MAX(seq) + 1, 0) FROM pubsub_items WHERE node = ?1)) WHERE name = ?1",
    )?
    .execute(params![node])?;
    Ok(())
}

fn apply_op(tx: &Connection, op: &PubSubOp) -> rusqlite::Result<()> {
    match op {
        PubSubOp::PutNode { name, config } => {
            tx.prepare_cached(
                "INSERT INTO pubsub_nodes (name, config) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET config = excluded.config",
            )?
            .execute(params![name, config])?;
        }
        PubSubOp::DeleteNode { name } => {
            tx.prepare_cached("DELETE FROM pubsub_nodes WHERE name = ?")?.execute(params![name])?;
        }
        PubSubOp::PutAffiliation { node, jid, affiliation } => {
            tx.prepare_cached(
                "INSERT INTO pubsub_affiliations (node, jid, affiliation) VALUES (?, ?, ?) ON CONFLICT (node, jid) DO UPDATE SET affiliation = excluded.affiliation",
            )?
            .execute(params![node, jid, affiliation])?;
        }
        PubSubOp::DeleteAffiliation { node, jid } => {
            tx.prepare_cached("DELETE FROM pubsub_affiliations WHERE node = ? AND jid = ?")?.execute(params![node, jid])?;
        }
        PubSubOp::PutSubscription { node, subscription: s } => {
            tx.prepare_cached(
                "INSERT INTO pubsub_subscriptions (node, subid, jid, state, deliver) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (node, subid) DO UPDATE SET jid = excluded.jid, state = excluded.state, deliver = excluded.deliver",
            )?
            .execute(params![node, s.subid, s.jid, s.state, s.options.deliver])?;
        }
        PubSubOp::DeleteSubscription { node, subid } => {
            tx.prepare_cached("DELETE FROM pubsub_subscriptions WHERE node = ? AND subid = ?")?.execute(params![node, subid])?;
        }
        PubSubOp::PutItem { node, item, keep } => {
            tx.prepare_cached(
                "INSERT INTO pubsub_items (node, id, seq, publisher, payload, published_at) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (node, id) DO UPDATE SET seq = excluded.seq, publisher = excluded.publisher, payload = excluded.payload,
                 published_at = excluded.published_at",
            )?
            .execute(params![node, item.id, seq_value(item.seq), item.publisher, item.payload, item.published_at_ms])?;
            // The node's sequence high-water mark is not written here: loading takes it from the
            // newest item, and the deletions below write it before items disappear. One statement
            // fewer on every publish.
            // Trim to the newest `keep`: everything at or below the (keep+1)-th newest sequence
            // (an index seek; nothing when there are not that many).
            if let Some(keep) = keep {
                tx.prepare_cached(
                    "DELETE FROM pubsub_items WHERE node = ?1 AND seq <= (SELECT seq FROM pubsub_items WHERE node = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
                )?
                .execute(params![node, seq_value(*keep)])?;
            }
        }
        PubSubOp::DeleteItem { node, id } => {
            keep_high_water_mark(tx, node)?;
            tx.prepare_cached("DELETE FROM pubsub_items WHERE node = ? AND id = ?")?.execute(params![node, id])?;
        }
        PubSubOp::Purge { node } => {
            keep_high_water_mark(tx, node)?;
            tx.prepare_cached("DELETE FROM pubsub_items WHERE node = ?")?.execute(params![node])?;
        }
    }
    Ok(())
}
