//! The SQLite store (sqlx), Herald's embedded default. WAL mode, so that the `herald user`
//! commands can change accounts while the server runs.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::sqlite_pubsub::PubSubWriter;
use crate::{
    OfflineMessage, OfflinePush, OfflineQuota, PubSubOp, RosterItem, Store, StoreError, StoredCredential, StoredItem, StoredNode,
    StoredOffline, StoredSubscription, Subscription, SubscriptionOptions, offline_batch_len,
};

/// Schema versions, applied in order, each in one transaction.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE users (username TEXT PRIMARY KEY NOT NULL, created_at INTEGER NOT NULL DEFAULT (unixepoch()));
     CREATE TABLE credentials (username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE, hash TEXT NOT NULL,
        salt BLOB NOT NULL, iterations INTEGER NOT NULL, stored_key BLOB NOT NULL, server_key BLOB NOT NULL,
        PRIMARY KEY (username, hash));
     CREATE TABLE roster (owner TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE, contact TEXT NOT NULL,
        name TEXT, subscription TEXT NOT NULL, ask_out INTEGER NOT NULL, pending_in INTEGER NOT NULL,
        visible INTEGER NOT NULL, groups TEXT NOT NULL, PRIMARY KEY (owner, contact));
     CREATE TABLE offline (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        stanza TEXT NOT NULL, stored_at INTEGER NOT NULL);
     CREATE INDEX offline_by_user ON offline(username, id);",
    "CREATE TABLE pubsub_nodes (name TEXT PRIMARY KEY NOT NULL, config TEXT NOT NULL, next_seq INTEGER NOT NULL DEFAULT 0);
     CREATE TABLE pubsub_affiliations (node TEXT NOT NULL REFERENCES pubsub_nodes(name) ON DELETE CASCADE, jid TEXT NOT NULL,
        affiliation TEXT NOT NULL, PRIMARY KEY (node, jid));
     CREATE TABLE pubsub_subscriptions (node TEXT NOT NULL REFERENCES pubsub_nodes(name) ON DELETE CASCADE, subid TEXT NOT NULL,
        jid TEXT NOT NULL, state TEXT NOT NULL, options TEXT NOT NULL, PRIMARY KEY (node, subid));
     CREATE TABLE pubsub_items (node TEXT NOT NULL REFERENCES pubsub_nodes(name) ON DELETE CASCADE, id TEXT NOT NULL,
        seq INTEGER NOT NULL, publisher TEXT NOT NULL, payload TEXT NOT NULL, published_at INTEGER NOT NULL, PRIMARY KEY (node, id));
     CREATE INDEX pubsub_items_by_seq ON pubsub_items(node, seq);",
    // Offline quotas in bytes, per recipient and per sender: each message records its sender and
    // size, and the covering indexes answer COUNT and SUM without reading the stanzas.
    "ALTER TABLE offline ADD COLUMN sender TEXT NOT NULL DEFAULT '';
     ALTER TABLE offline ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
     UPDATE offline SET bytes = length(CAST(stanza AS BLOB));
     DROP INDEX offline_by_user;
     CREATE INDEX offline_by_user ON offline(username, id, bytes);
     CREATE INDEX offline_by_sender ON offline(sender, bytes);",
    // Subscription options as data: `deliver` is its own column instead of a `deliver=0|1` text.
    "ALTER TABLE pubsub_subscriptions ADD COLUMN deliver INTEGER NOT NULL DEFAULT 1;
     UPDATE pubsub_subscriptions SET deliver = (instr(options, 'deliver=0') = 0);
     ALTER TABLE pubsub_subscriptions DROP COLUMN options;",
];

/// A SQLite database file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The thread that applies pubsub batches (see [`crate::sqlite_pubsub`]).
    pubsub: Arc<PubSubWriter>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let store = Self::connect(path).await?;
        store.migrate(MIGRATIONS).await?;
        Ok(store)
    }

    async fn connect(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        Ok(Self { pool, pubsub: Arc::new(PubSubWriter::start(path.to_owned())?) })
    }

    /// Applies the `migrations` not applied yet.
    async fn migrate(&self, migrations: &[&str]) -> Result<(), StoreError> {
        sqlx::query("CREATE TABLE IF NOT EXISTS herald_schema (version INTEGER NOT NULL)").execute(&self.pool).await?;
        let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM herald_schema").fetch_one(&self.pool).await?.get(0);
        for (index, sql) in migrations.iter().enumerate().skip(usize::try_from(current).unwrap_or(usize::MAX)) {
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO herald_schema (version) VALUES (?)").bind(index as i64 + 1).execute(&mut *tx).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Closes the pool, flushing the WAL; called at shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn write_credentials(
        tx: &mut sqlx::SqliteConnection,
        username: &str,
        credentials: &[StoredCredential],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM credentials WHERE username = ?").bind(username).execute(&mut *tx).await?;
        for c in credentials {
            sqlx::query("INSERT INTO credentials (username, hash, salt, iterations, stored_key, server_key) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(username)
                .bind(&c.hash)
                .bind(&c.salt)
                .bind(i64::from(c.iterations))
                .bind(&c.stored_key)
                .bind(&c.server_key)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }
}

fn roster_item_from(row: &sqlx::sqlite::SqliteRow) -> RosterItem {
    let groups: String = row.get("groups");
    RosterItem {
        contact: row.get("contact"),
        name: row.get("name"),
        subscription: Subscription::parse(row.get::<&str, _>("subscription")),
        ask_out: row.get("ask_out"),
        pending_in: row.get("pending_in"),
        visible: row.get("visible"),
        groups: groups.split('\n').filter(|g| !g.is_empty()).map(str::to_owned).collect(),
    }
}

impl Store for SqliteStore {
    async fn create_user(&self, username: &str, credentials: &[StoredCredential]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted =
            sqlx::query("INSERT INTO users (username) VALUES (?) ON CONFLICT DO NOTHING").bind(username).execute(&mut *tx).await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::UserExists(username.into()));
        }
        Self::write_credentials(&mut tx, username, credentials).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_credentials(&self, username: &str, credentials: &[StoredCredential]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if sqlx::query("SELECT 1 FROM users WHERE username = ?").bind(username).fetch_optional(&mut *tx).await?.is_none() {
            return Err(StoreError::NoSuchUser(username.into()));
        }
        Self::write_credentials(&mut tx, username, credentials).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_user(&self, username: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM users WHERE username = ?").bind(username).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_users(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT username FROM users ORDER BY username").fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn credentials(&self, username: &str) -> Result<Option<Vec<StoredCredential>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        if sqlx::query("SELECT 1 FROM users WHERE username = ?").bind(username).fetch_optional(&mut *tx).await?.is_none() {
            return Ok(None);
        }
        let rows = sqlx::query("SELECT hash, salt, iterations, stored_key, server_key FROM credentials WHERE username = ? ORDER BY hash")
            .bind(username)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(
            rows.iter()
                .map(|r| StoredCredential {
                    hash: r.get("hash"),
                    salt: r.get("salt"),
                    iterations: u32::try_from(r.get::<i64, _>("iterations")).unwrap_or(0),
                    stored_key: r.get("stored_key"),
                    server_key: r.get("server_key"),
                })
                .collect(),
        ))
    }

    async fn roster(&self, owner: &str) -> Result<Vec<RosterItem>, StoreError> {
        let rows = sqlx::query("SELECT * FROM roster WHERE owner = ? ORDER BY contact").bind(owner).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(roster_item_from).collect())
    }

    async fn roster_item(&self, owner: &str, contact: &str) -> Result<Option<RosterItem>, StoreError> {
        let row = sqlx::query("SELECT * FROM roster WHERE owner = ? AND contact = ?")
            .bind(owner)
            .bind(contact)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(roster_item_from))
    }

    async fn put_roster_item(&self, owner: &str, item: &RosterItem) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO roster (owner, contact, name, subscription, ask_out, pending_in, visible, groups) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (owner, contact) DO UPDATE SET name = excluded.name, subscription = excluded.subscription,
             ask_out = excluded.ask_out, pending_in = excluded.pending_in, visible = excluded.visible, groups = excluded.groups",
        )
        .bind(owner)
        .bind(&item.contact)
        .bind(&item.name)
        .bind(item.subscription.as_str())
        .bind(item.ask_out)
        .bind(item.pending_in)
        .bind(item.visible)
        .bind(item.groups.join("\n"))
        .execute(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NoSuchUser(owner.into()),
            _ => e.into(),
        })?;
        Ok(())
    }

    async fn delete_roster_item(&self, owner: &str, contact: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM roster WHERE owner = ? AND contact = ?").bind(owner).bind(contact).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn roster_len(&self, owner: &str) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM roster WHERE owner = ?").bind(owner).fetch_one(&self.pool).await?.get(0);
        Ok(u64::try_from(count).unwrap_or(0))
    }

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
        let sender: i64 = sqlx::query("SELECT COALESCE(SUM(bytes), 0) FROM offline WHERE sender = ?")
            .bind(&message.sender)
            .fetch_one(&self.pool)
            .await?
            .get(0);
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
        let len = offline_batch_len(sizes.iter().map(|r| u64::try_from(r.get::<i64, _>("bytes")).unwrap_or(0)), max_messages, max_bytes);
        let Some(last) = len.checked_sub(1).map(|i| sizes[i].get::<i64, _>("id")) else { return Ok(Vec::new()) };
        let rows = sqlx::query("SELECT id, sender, stanza, stored_at FROM offline WHERE username = ? AND id <= ? ORDER BY id")
            .bind(username)
            .bind(last)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows
            .iter()
            .map(|r| StoredOffline {
                id: r.get("id"),
                message: OfflineMessage { sender: r.get("sender"), stanza: r.get("stanza"), stored_at_ms: r.get("stored_at") },
            })
            .collect())
    }

    async fn delete_offline(&self, username: &str, through_id: i64) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM offline WHERE username = ? AND id <= ?").bind(username).bind(through_id).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    async fn pubsub_load(&self) -> Result<Vec<StoredNode>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut nodes: std::collections::BTreeMap<String, StoredNode> = std::collections::BTreeMap::new();
        for row in sqlx::query("SELECT name, config, next_seq FROM pubsub_nodes").fetch_all(&mut *tx).await? {
            let name: String = row.get("name");
            let next_seq = u64::try_from(row.get::<i64, _>("next_seq")).unwrap_or(0);
            nodes.insert(name.clone(), StoredNode { name, config: row.get("config"), next_seq, ..Default::default() });
        }
        for row in sqlx::query("SELECT node, jid, affiliation FROM pubsub_affiliations").fetch_all(&mut *tx).await? {
            if let Some(n) = nodes.get_mut(row.get::<&str, _>("node")) {
                n.affiliations.push((row.get("jid"), row.get("affiliation")));
            }
        }
        for row in
            sqlx::query("SELECT node, subid, jid, state, deliver FROM pubsub_subscriptions ORDER BY rowid").fetch_all(&mut *tx).await?
        {
            if let Some(n) = nodes.get_mut(row.get::<&str, _>("node")) {
                n.subscriptions.push(StoredSubscription {
                    subid: row.get("subid"),
                    jid: row.get("jid"),
                    state: row.get("state"),
                    options: SubscriptionOptions { deliver: row.get("deliver") },
                });
            }
        }
        for row in sqlx::query("SELECT node, id, seq, publisher, payload, published_at FROM pubsub_items ORDER BY node, seq")
            .fetch_all(&mut *tx)
            .await?
        {
            if let Some(n) = nodes.get_mut(row.get::<&str, _>("node")) {
                let seq = u64::try_from(row.get::<i64, _>("seq")).unwrap_or(0);
                n.next_seq = n.next_seq.max(seq + 1);
                n.items.push(StoredItem {
                    seq,
                    id: row.get("id"),
                    publisher: row.get("publisher"),
                    payload: row.get("payload"),
                    published_at_ms: row.get("published_at"),
                });
            }
        }
        tx.commit().await?;
        Ok(nodes.into_values().collect())
    }

    async fn pubsub_apply(&self, ops: &[PubSubOp]) -> Result<(), StoreError> {
        self.pubsub.apply(ops).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn subscription_options_stored_as_text_become_columns_after_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::connect(&dir.path().join("herald.db")).await.unwrap();
        store.migrate(&MIGRATIONS[..3]).await.unwrap();
        sqlx::query("INSERT INTO pubsub_nodes (name, config) VALUES ('n', '')").execute(&store.pool).await.unwrap();
        for (subid, options) in [("paused", "deliver=0"), ("on", "deliver=1"), ("blank", "")] {
            sqlx::query("INSERT INTO pubsub_subscriptions (node, subid, jid, state, options) VALUES ('n', ?, 'a@x', 'subscribed', ?)")
                .bind(subid)
                .bind(options)
                .execute(&store.pool)
                .await
                .unwrap();
        }
        store.migrate(MIGRATIONS).await.unwrap();
        let node = store.pubsub_load().await.unwrap().remove(0);
        let delivers: Vec<(&str, bool)> = node.subscriptions.iter().map(|s| (s.subid.as_str(), s.options.deliver)).collect();
        assert_eq!(delivers, vec![("paused", false), ("on", true), ("blank", true)]);
        // The writer thread writes the new column.
        let paused = StoredSubscription { options: SubscriptionOptions { deliver: false }, ..node.subscriptions[1].clone() };
        store.pubsub_apply(&[PubSubOp::PutSubscription { node: "n".into(), subscription: paused }]).await.unwrap();
        assert!(!store.pubsub_load().await.unwrap()[0].subscriptions[1].options.deliver);
    }
}
