//! Offline message queues in SQLite (`offline`).

use super::{SqliteStore, column, int_column};
use crate::{OfflineMessage, OfflinePush, OfflineQuota, OfflineStore, StoreError, StoredOffline, offline_batch_len};

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
        let sender: i64 = column(&row, TABLE, "bytes")?;
        Ok(if sender.saturating_add(size) > cap(quota.max_sender_bytes) { OfflinePush::SenderFull } else { OfflinePush::RecipientFull })
    }

    async fn offline_batch(&self, username: &str, max_messages: usize, max_bytes: u64) -> Result<Vec<StoredOffline>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Sizes first, from the covering index, so that no stanza beyond the batch is read.
        let sizes = sqlx::query("SELECT id, bytes FROM offline WHERE username = ? ORDER BY id LIMIT ?")
            .bind(username)
            .bind(i64::try_from(max_messages).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await?;
        let sizes = sizes
            .iter()
            .map(|r| Ok((column::<i64>(r, TABLE, "id")?, int_column::<u64>(r, TABLE, "bytes")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let len = offline_batch_len(sizes.iter().map(|&(_, bytes)| bytes), max_messages, max_bytes);
        let Some(&(last, _)) = len.checked_sub(1).and_then(|i| sizes.get(i)) else { return Ok(Vec::new()) };
        let rows = sqlx::query("SELECT id, sender, stanza, stored_at FROM offline WHERE username = ? AND id <= ? ORDER BY id")
            .bind(username)
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
            sqlx::query("DELETE FROM offline WHERE username = ? AND id <= ?").bind(username).bind(through_id).execute(&self.pool).await?;
        Ok(done.rows_affected())
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
