//! Offline message queues in PostgreSQL (`offline`).
//!
//! The quotas hold with several nodes pushing at once: a push takes two transaction-scoped
//! advisory locks, the recipient's then the sender's (always in that order, so two pushes
//! cannot deadlock), before it counts and inserts. Under PostgreSQL's default isolation two
//! concurrent `INSERT … SELECT … WHERE sum < quota` would both see the sum without the other's
//! row and both insert; with the locks the second one counts after the first one committed.

use super::PostgresStore;
use crate::sql::int;
use crate::sql::{Columns as _, records};
use crate::{OfflineMessage, OfflinePush, OfflineQuota, OfflineStore, StoreError, StoredOffline};

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
        let messages = row.int(TABLE, "messages")?;
        let bytes = row.int(TABLE, "bytes")?;
        let sender_bytes = row.int(TABLE, "sender_bytes")?;
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
        records::offline_batch(&self.pool, username, max_messages, max_bytes).await
    }

    async fn delete_offline(&self, username: &str, through_id: i64) -> Result<u64, StoreError> {
        records::delete_offline(&self.pool, username, through_id).await
    }
}
