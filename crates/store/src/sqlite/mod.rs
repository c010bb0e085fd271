//! The SQLite store (sqlx), Herald's embedded default. WAL mode, so that the `herald user`
//! commands can change accounts while the server runs. The schema and the connection live
//! here; what only SQLite does per domain (accounts, offline pushes, pubsub) in its own module.
//! The statements shared with PostgreSQL, and the domains that are the same on both (roster,
//! contact center, close records, through [`crate::sql::SqlStore`]), are in `sql/`.

mod accounts;
mod offline;
mod pubsub;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::StoreError;
use crate::sql::Columns as _;
use writer::PubSubWriter;

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
    // The contact center (issue 11): its users belong to accounts and go with them; lists keep
    // their order in a position column; `cc_meta` records that the scenario file was applied.
    "CREATE TABLE cc_users (login_id TEXT PRIMARY KEY NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        login_name TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL, extension TEXT, role TEXT NOT NULL,
        team_id TEXT, wrap_up_incoming TEXT NOT NULL, wrap_up_outgoing TEXT NOT NULL);
     CREATE TABLE cc_supervision (login_id TEXT NOT NULL REFERENCES cc_users(login_id) ON DELETE CASCADE,
        position INTEGER NOT NULL, team_id TEXT NOT NULL, PRIMARY KEY (login_id, position));
     CREATE TABLE cc_teams (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL);
     CREATE TABLE cc_queues (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL);
     CREATE TABLE cc_queue_teams (queue_id TEXT NOT NULL REFERENCES cc_queues(id) ON DELETE CASCADE,
        position INTEGER NOT NULL, team_id TEXT NOT NULL, PRIMARY KEY (queue_id, position));
     CREATE TABLE cc_reason_codes (id INTEGER PRIMARY KEY NOT NULL, category TEXT NOT NULL, code INTEGER NOT NULL,
        label TEXT NOT NULL, for_all INTEGER NOT NULL, system INTEGER NOT NULL);
     CREATE TABLE cc_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);",
    // Close records (issue 13): not tied to the account by a foreign key (a record may arrive
    // after its account went), but deleted with it by a trigger. Indexed for the newest first,
    // overall and per user.
    "CREATE TABLE close_records (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL, jid TEXT NOT NULL,
        transport TEXT NOT NULL, remote TEXT NOT NULL, opened_at INTEGER NOT NULL, closed_at INTEGER NOT NULL,
        cause TEXT NOT NULL, last_request_at INTEGER NOT NULL, stanzas_sent INTEGER NOT NULL, queued INTEGER NOT NULL,
        dropped INTEGER NOT NULL, bytes_sent INTEGER NOT NULL);
     CREATE INDEX close_records_by_time ON close_records(closed_at, id);
     CREATE INDEX close_records_by_user ON close_records(username, closed_at, id);
     CREATE TRIGGER close_records_follow_users AFTER DELETE ON users
        BEGIN DELETE FROM close_records WHERE username = OLD.username; END;",
];

/// A SQLite database file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The thread that applies pubsub batches (see the `writer` module).
    pubsub: Arc<PubSubWriter>,
}

impl crate::sql::SqlStore for SqliteStore {
    type Db = Sqlite;
    fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let store = Self::connect(path).await?;
        store.migrate(MIGRATIONS).await?;
        Ok(store)
    }

    async fn connect(path: &Path) -> Result<Self, StoreError> {
        let opening = |source| StoreError::Open { target: path.display().to_string(), source };
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(opening)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(opening)?;
        Ok(Self { pool, pubsub: Arc::new(PubSubWriter::start(path.to_owned())?) })
    }

    /// Applies the `migrations` not applied yet, each in one transaction.
    async fn migrate(&self, migrations: &[&str]) -> Result<(), StoreError> {
        let failed = |version| move |source| StoreError::Migration { version, source };
        sqlx::query("CREATE TABLE IF NOT EXISTS herald_schema (version INTEGER NOT NULL)").execute(&self.pool).await.map_err(failed(0))?;
        let row =
            sqlx::query("SELECT COALESCE(MAX(version), 0) AS version FROM herald_schema").fetch_one(&self.pool).await.map_err(failed(0))?;
        let applied: usize = row.count("herald_schema", "version")?;
        for (index, sql) in migrations.iter().enumerate().skip(applied) {
            let version = index + 1;
            let apply = async {
                let mut tx = self.pool.begin().await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO herald_schema (version) VALUES (?)").bind(version as i64).execute(&mut *tx).await?;
                tx.commit().await
            };
            apply.await.map_err(failed(version))?;
        }
        Ok(())
    }

    /// Closes the pool, flushing the WAL; called at shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::assert_corrupt;
    use crate::{AccountStore, ContactCenterStore, RosterStore};

    async fn store_with_alice() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("herald.db")).await.unwrap();
        store.create_user("alice", &[]).await.unwrap();
        (store, dir)
    }

    #[tokio::test]
    async fn an_unknown_roster_state_is_corrupt_data_naming_its_column() {
        let (store, _dir) = store_with_alice().await;
        sqlx::query("INSERT INTO roster VALUES ('alice', 'bob@x', NULL, 'sideways', 0, 0, 1, '')").execute(&store.pool).await.unwrap();
        assert_corrupt(store.roster("alice").await, "roster", "subscription");
        assert_corrupt(store.roster_item("alice", "bob@x").await, "roster", "subscription");
    }

    #[tokio::test]
    async fn a_value_of_the_wrong_type_or_range_is_corrupt_data_not_a_panic() {
        let (store, _dir) = store_with_alice().await;
        sqlx::query("INSERT INTO credentials VALUES ('alice', 'SHA-256', x'01', -1, x'02', x'03')").execute(&store.pool).await.unwrap();
        assert_corrupt(store.credentials("alice").await, "credentials", "iterations");
        sqlx::query("UPDATE credentials SET iterations = 4096, salt = 12").execute(&store.pool).await.unwrap();
        assert_corrupt(store.credentials("alice").await, "credentials", "salt");
    }

    #[tokio::test]
    async fn a_failing_migration_names_its_version_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::connect(&dir.path().join("herald.db")).await.unwrap();
        let err = store.migrate(&["CREATE TABLE a (x INTEGER)", "CREATE TABLE b (x INTEGER); NOT SQL"]).await.unwrap_err();
        assert!(matches!(err, StoreError::Migration { version: 2, .. }), "{err:?}");
        let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('a', 'b')")
            .fetch_all(&store.pool)
            .await
            .unwrap();
        assert_eq!(tables, ["a"], "version 2 was rolled back whole");
    }

    #[tokio::test]
    async fn an_out_of_range_reason_code_is_corrupt_data_naming_its_column() {
        let (store, _dir) = store_with_alice().await;
        sqlx::query("INSERT INTO cc_reason_codes VALUES (1, 'NOT_READY', 70000, 'Break', 1, 0)").execute(&store.pool).await.unwrap();
        assert_corrupt(store.cc_reason_codes().await, "cc_reason_codes", "code");
    }

    #[tokio::test]
    async fn a_blob_in_a_cc_user_text_field_is_corrupt_data() {
        let (store, _dir) = store_with_alice().await;
        sqlx::query("INSERT INTO cc_users VALUES ('alice', 'x', 'a', 'b', NULL, 'agent', NULL, 'OPTIONAL', 'NOT_ALLOWED')")
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE cc_users SET first_name = x'ff'").execute(&store.pool).await.unwrap();
        assert_corrupt(store.cc_users().await, "cc_users", "first_name");
    }
}
