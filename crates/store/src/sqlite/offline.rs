//! Offline message queues in SQLite (`offline`).

use super::SqliteStore;
use crate::sql::{Columns as _, records};
use crate::{OfflineMessage, OfflinePush, OfflineQuota, OfflineStore, StoreError, StoredOffline};

const TABLE: &str = "offline";

impl OfflineStore for SqliteStore {
    async fn push_offline(&self, username: &str, message: &OfflineMessage, quota: &OfflineQuota) -> Result<OfflinePush, StoreError> {
        let size = i64::try_from(message.stanza.len()).unwrap_or(i64::MAX);
        let cap = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        // One statement checks all three quotas and inserts, so concurrent pushes cannot both
        // slip under a quota.
        let done = sqlx::query(
            "INSERT INTO offline (username, sender, stanza, stored_at, bytes) SELECT ?1, ?2, ?3, ?4, ?5
             WHERE (SELECT COUNT(*) FROM offline WHERE username = ?1) < ?6
               AND (SELECT COALESCE(SUM(bytes), 0) FROM offline WHERE username = ?1) + ?5 <= ?7
               AND (SELECT COALESCE(SUM(bytes), 0) FROM offline WHERE sender = ?2) + ?5 <= ?8",
        )
        .bind(username)
        .bind(&message.sender)
        .bind(&message.stanza)
        .bind(message.stored_at_ms)
        .bind(size)
        .bind(cap(quota.max_messages))
        .bind(cap(quota.max_bytes))
        .bind(cap(quota.max_sender_bytes))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() > 0 {
            return Ok(OfflinePush::Stored);
        }
        // Refused: say which quota, for the sender's error text and the log.
        let row = sqlx::query("SELECT COALESCE(SUM(bytes), 0) AS bytes FROM offline WHERE sender = ?")
            .bind(&message.sender)
            .fetch_one(&self.pool)
            .await?;
        let sender = row.int(TABLE, "bytes")?;
        Ok(if sender.saturating_add(size) > cap(quota.max_sender_bytes) { OfflinePush::SenderFull } else { OfflinePush::RecipientFull })
    }

    async fn offline_batch(&self, username: &str, max_messages: usize, max_bytes: u64) -> Result<Vec<StoredOffline>, StoreError> {
        records::offline_batch(&self.pool, username, max_messages, max_bytes).await
    }

    async fn delete_offline(&self, username: &str, through_id: i64) -> Result<u64, StoreError> {
        records::delete_offline(&self.pool, username, through_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::MIGRATIONS;

    #[tokio::test]
    async fn offline_messages_stored_before_the_byte_quotas_count_after_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::connect(&dir.path().join("herald.db")).await.unwrap();
        store.migrate(&MIGRATIONS[..2]).await.unwrap();
        sqlx::query("INSERT INTO users (username) VALUES ('bob')").execute(&store.pool).await.unwrap();
        sqlx::query("INSERT INTO offline (username, stanza, stored_at) VALUES ('bob', ?, 5)")
            .bind("é".repeat(50))
            .execute(&store.pool)
            .await
            .unwrap();
        store.migrate(MIGRATIONS).await.unwrap();
        let old = store.offline_batch("bob", 10, u64::MAX).await.unwrap();
        assert_eq!((old.len(), old[0].message.sender.as_str(), old[0].message.stored_at_ms), (1, "", 5));
        // 100 bytes (50 two-byte characters) already count toward the recipient's quota.
        let quota = OfflineQuota { max_messages: 10, max_bytes: 150, max_sender_bytes: u64::MAX };
        let m = |n: usize| OfflineMessage { sender: "alice@x".into(), stanza: "x".repeat(n), stored_at_ms: 6 };
        assert_eq!(store.push_offline("bob", &m(51), &quota).await.unwrap(), OfflinePush::RecipientFull);
        assert_eq!(store.push_offline("bob", &m(50), &quota).await.unwrap(), OfflinePush::Stored);
    }
}
