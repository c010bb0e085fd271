//! Close records (`close_records`), reading and deleting offline messages (`offline`) and
//! loading pubsub nodes: the same statements on both SQL backends. Pushing an offline message
//! (a quota check that differs: one statement in SQLite, advisory locks in PostgreSQL) and
//! applying pubsub batches stay in each backend.

use sqlx::Pool;

use super::{Affected as _, Binds, Sql, SqlStore, int, rows};
use crate::{CloseRecord, SessionRecordStore, StoreError, StoredNode, StoredOffline, offline_batch_len};

/// [`crate::SessionRecordStore::add_close_records`]: all in one transaction.
pub(crate) async fn add_close_records<DB: Sql>(pool: &Pool<DB>, records: &[CloseRecord]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for r in records {
        let query = sqlx::query(
            "INSERT INTO close_records (username, jid, transport, remote, opened_at, closed_at, cause, last_request_at,
                stanzas_sent, queued, dropped, bytes_sent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .text(&r.user)
        .text(&r.jid)
        .text(&r.transport)
        .text(&r.remote)
        .int(int(r.opened_ms))
        .int(int(r.closed_ms))
        .text(&r.cause)
        .int(int(r.last_request_ms))
        .int(int(r.stanzas_sent))
        .int(int(r.queued))
        .int(int(r.dropped))
        .int(int(r.bytes_sent));
        DB::execute(&mut tx, query).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// [`crate::SessionRecordStore::close_records`]: newest first.
pub(crate) async fn close_records<DB: Sql>(
    pool: &Pool<DB>,
    user: Option<&str>,
    since_ms: u64,
    limit: usize,
) -> Result<Vec<CloseRecord>, StoreError> {
    let query = sqlx::query(
        "SELECT username, jid, transport, remote, opened_at, closed_at, cause, last_request_at, stanzas_sent, queued, dropped,
            bytes_sent FROM close_records WHERE closed_at >= $1 AND (CAST($2 AS TEXT) IS NULL OR username = $2)
         ORDER BY closed_at DESC, id DESC LIMIT $3",
    )
    .int(int(since_ms))
    .opt_text(user)
    .int(i64::try_from(limit).unwrap_or(i64::MAX));
    let rows = DB::fetch_all(&mut *pool.acquire().await?, query).await?;
    rows.iter().map(rows::close_record).collect()
}

/// [`crate::SessionRecordStore::prune_close_records`]: keeps the newest `keep`.
pub(crate) async fn prune_close_records<DB: Sql>(pool: &Pool<DB>, keep: u64) -> Result<u64, StoreError> {
    let query =
        sqlx::query("DELETE FROM close_records WHERE id NOT IN (SELECT id FROM close_records ORDER BY closed_at DESC, id DESC LIMIT $1)")
            .int(int(keep));
    Ok(DB::execute(&mut *pool.acquire().await?, query).await?.rows_affected())
}

/// [`crate::OfflineStore::offline_batch`]: sizes first, from the covering index, so that no
/// stanza beyond the batch is read; both reads in one transaction.
pub(crate) async fn offline_batch<DB: Sql>(
    pool: &Pool<DB>,
    username: &str,
    max_messages: usize,
    max_bytes: u64,
) -> Result<Vec<StoredOffline>, StoreError> {
    let mut tx = pool.begin().await?;
    let query = sqlx::query("SELECT id, bytes FROM offline WHERE username = $1 ORDER BY id LIMIT $2")
        .text(username)
        .int(i64::try_from(max_messages).unwrap_or(i64::MAX));
    let sizes = DB::fetch_all(&mut tx, query).await?;
    let sizes = sizes.iter().map(rows::offline_size).collect::<Result<Vec<_>, StoreError>>()?;
    let len = offline_batch_len(sizes.iter().map(|&(_, bytes)| bytes), max_messages, max_bytes);
    let Some(&(first, _)) = sizes.first() else { return Ok(Vec::new()) };
    let Some(&(last, _)) = len.checked_sub(1).and_then(|i| sizes.get(i)) else { return Ok(Vec::new()) };
    let query = sqlx::query("SELECT id, sender, stanza, stored_at FROM offline WHERE username = $1 AND id BETWEEN $2 AND $3 ORDER BY id")
        .text(username)
        .int(first)
        .int(last);
    let rows = DB::fetch_all(&mut tx, query).await?;
    tx.commit().await?;
    rows.iter().map(rows::offline).collect()
}

/// [`crate::OfflineStore::delete_offline`]: up to and including `through_id`.
pub(crate) async fn delete_offline<DB: Sql>(pool: &Pool<DB>, username: &str, through_id: i64) -> Result<u64, StoreError> {
    let query = sqlx::query("DELETE FROM offline WHERE username = $1 AND id <= $2").text(username).int(through_id);
    Ok(DB::execute(&mut *pool.acquire().await?, query).await?.rows_affected())
}

/// Every pubsub node with its affiliations, subscriptions and items, read inside the caller's
/// transaction; `subscriptions_in_order` is the backend's `ORDER BY` for subscriptions in
/// creation order.
pub(crate) async fn pubsub_nodes<DB: Sql>(
    tx: &mut DB::Connection,
    subscriptions_in_order: &'static str,
) -> Result<Vec<StoredNode>, StoreError> {
    let nodes = DB::fetch_all(tx, sqlx::query("SELECT name, config, next_seq FROM pubsub_nodes")).await?;
    let affiliations = DB::fetch_all(tx, sqlx::query("SELECT node, jid, affiliation FROM pubsub_affiliations")).await?;
    let subscriptions = DB::fetch_all(tx, sqlx::query(subscriptions_in_order)).await?;
    let items =
        DB::fetch_all(tx, sqlx::query("SELECT node, id, seq, publisher, payload, published_at FROM pubsub_items ORDER BY node, seq"))
            .await?;
    rows::pubsub_nodes(&nodes, &affiliations, &subscriptions, &items)
}

/// Close records, the same on both backends.
impl<S: SqlStore> SessionRecordStore for S {
    async fn add_close_records(&self, records: &[CloseRecord]) -> Result<(), StoreError> {
        add_close_records(self.pool(), records).await
    }
    async fn close_records(&self, user: Option<&str>, since_ms: u64, limit: usize) -> Result<Vec<CloseRecord>, StoreError> {
        close_records(self.pool(), user, since_ms, limit).await
    }
    async fn prune_close_records(&self, keep: u64) -> Result<u64, StoreError> {
        prune_close_records(self.pool(), keep).await
    }
}
