//! Offline message queues in PostgreSQL (`offline`).
//!
//! The quotas hold with several nodes pushing at once: a push takes two transaction-scoped
//! advisory locks, the recipient's then the sender's (always in that order, so two pushes
//! cannot deadlock), before it counts and inserts. Under PostgreSQL's default isolation two
//! concurrent `INSERT … SELECT … WHERE sum < quota` would both see the sum without the other's
//! row and both insert; with the locks the second one counts after the first one committed.

use super::{PostgresStore, column, int, int_column};
use crate::{OfflineMessage, OfflinePush, OfflineQuota, OfflineStore, StoreError, StoredOffline, offline_batch_len};

const TABLE: &str = "offline";

/// The first key of the advisory locks on a recipient's queue (the second is a hash of its name).
const RECIPIENT_LOCK: i32 = 0x4f66_0001;
/// The first key of the advisory locks on a sender's stored bytes.
const SENDER_LOCK: i32 = 0x4f66_0002;

impl OfflineStore for PostgresStore {
    async fn push_offline(&self, username: &str, message: &OfflineMessage, quota: &OfflineQuota) -> Result<OfflinePush, StoreError> {
        let size = i64::try_from(message.stanza.len()).unwrap_or(i64::MAX);
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))").bind(RECIPIENT_LOCK).bind(username).execute(&mut *tx).await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))").bind(SENDER_LOCK).bind(&message.sender).execute(&mut *tx).await?;
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM offline WHERE username = $1) AS messages,
                    (SELECT COALESCE(SUM(bytes), 0)::BIGINT FROM offline WHERE username = $1) AS bytes,
                    (SELECT COALESCE(SUM(bytes), 0)::BIGINT FROM offline WHERE sender = $2) AS sender_bytes",
        )
        .bind(username)
        .bind(&message.sender)
        .fetch_one(&mut *tx)
        .await?;
        let messages: i64 = column(&row, TABLE, "messages")?;
        let bytes: i64 = column(&row, TABLE, "bytes")?;
        let sender_bytes: i64 = column(&row, TABLE, "sender_bytes")?;
        if sender_bytes.saturating_add(size) > int(quota.max_sender_bytes) {
            return Ok(OfflinePush::SenderFull);
        }
        if messages >= int(quota.max_messages) || bytes.saturating_add(size) > int(quota.max_bytes) {
            return Ok(OfflinePush::RecipientFull);
        }
        sqlx::query("INSERT INTO offline (username, sender, stanza, stored_at, bytes) VALUES ($1, $2, $3, $4, $5)")
            .bind(username)
            .bind(&message.sender)
            .bind(&message.stanza)
            .bind(message.stored_at_ms)
            .bind(size)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(OfflinePush::Stored)
    }

    async fn offline_batch(&self, username: &str, max_messages: usize, max_bytes: u64) -> Result<Vec<StoredOffline>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Sizes first, from the covering index, so that no stanza beyond the batch is read.
        let sizes = sqlx::query("SELECT id, bytes FROM offline WHERE username = $1 ORDER BY id LIMIT $2")
            .bind(username)
            .bind(i64::try_from(max_messages).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await?;
        let sizes = sizes
            .iter()
            .map(|r| Ok((column::<i64>(r, TABLE, "id")?, int_column::<u64>(r, TABLE, "bytes")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let len = offline_batch_len(sizes.iter().map(|&(_, bytes)| bytes), max_messages, max_bytes);
        let Some(&(first, _)) = sizes.first() else { return Ok(Vec::new()) };
        let Some(&(last, _)) = len.checked_sub(1).and_then(|i| sizes.get(i)) else { return Ok(Vec::new()) };
        let rows =
            sqlx::query("SELECT id, sender, stanza, stored_at FROM offline WHERE username = $1 AND id BETWEEN $2 AND $3 ORDER BY id")
                .bind(username)
                .bind(first)
                .bind(last)
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let read = |r| {
            Ok(StoredOffline {
                id: column(r, TABLE, "id")?,
                message: OfflineMessage {
                    sender: column(r, TABLE, "sender")?,
                    stanza: column(r, TABLE, "stanza")?,
                    stored_at_ms: column(r, TABLE, "stored_at")?,
                },
            })
        };
        rows.iter().map(read).collect()
    }

    async fn delete_offline(&self, username: &str, through_id: i64) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM offline WHERE username = $1 AND id <= $2").bind(username).bind(through_id).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}
