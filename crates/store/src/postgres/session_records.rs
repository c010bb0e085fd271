//! Close records in PostgreSQL (`close_records`).

use super::{PostgresStore, column, int, int_column};
use crate::{CloseRecord, SessionRecordStore, StoreError};

const TABLE: &str = "close_records";

impl SessionRecordStore for PostgresStore {
    async fn add_close_records(&self, records: &[CloseRecord]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for r in records {
            sqlx::query(
                "INSERT INTO close_records (username, jid, transport, remote, opened_at, closed_at, cause, last_request_at,
                    stanzas_sent, queued, dropped, bytes_sent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&r.user)
            .bind(&r.jid)
            .bind(&r.transport)
            .bind(&r.remote)
            .bind(int(r.opened_ms))
            .bind(int(r.closed_ms))
            .bind(&r.cause)
            .bind(int(r.last_request_ms))
            .bind(int(r.stanzas_sent))
            .bind(int(r.queued))
            .bind(int(r.dropped))
            .bind(int(r.bytes_sent))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn close_records(&self, user: Option<&str>, since_ms: u64, limit: usize) -> Result<Vec<CloseRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT username, jid, transport, remote, opened_at, closed_at, cause, last_request_at, stanzas_sent, queued, dropped,
                bytes_sent FROM close_records WHERE closed_at >= $1 AND ($2::TEXT IS NULL OR username = $2)
             ORDER BY closed_at DESC, id DESC LIMIT $3",
        )
        .bind(int(since_ms))
        .bind(user)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CloseRecord {
                    user: column(r, TABLE, "username")?,
                    jid: column(r, TABLE, "jid")?,
                    transport: column(r, TABLE, "transport")?,
                    remote: column(r, TABLE, "remote")?,
                    opened_ms: int_column(r, TABLE, "opened_at")?,
                    closed_ms: int_column(r, TABLE, "closed_at")?,
                    cause: column(r, TABLE, "cause")?,
                    last_request_ms: int_column(r, TABLE, "last_request_at")?,
                    stanzas_sent: int_column(r, TABLE, "stanzas_sent")?,
                    queued: int_column(r, TABLE, "queued")?,
                    dropped: int_column(r, TABLE, "dropped")?,
                    bytes_sent: int_column(r, TABLE, "bytes_sent")?,
                })
            })
            .collect()
    }

    async fn prune_close_records(&self, keep: u64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM close_records WHERE id NOT IN (SELECT id FROM close_records ORDER BY closed_at DESC, id DESC LIMIT $1)",
        )
        .bind(int(keep))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
