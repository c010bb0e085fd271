//! The PostgreSQL store (sqlx), for several Herald nodes sharing one database. The schema, the
//! pool and the migrations live here; what only PostgreSQL does per domain (accounts, offline
//! quotas, pubsub batches) in its own module, and what it shares with SQLite in `sql/` (the
//! roster, contact center and close records whole, through [`crate::sql::SqlStore`]).
//!
//! Every call is one statement or one transaction, so that nodes writing at once stay within
//! the same rules a single node keeps: offline quotas are checked under advisory locks taken per
//! recipient and per sender, pubsub item sequence numbers are allocated from the node's row
//! (locked until the batch commits), and the schema is migrated under an advisory lock, so
//! nodes starting together migrate it exactly once.

mod accounts;
mod offline;
mod pubsub;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, Postgres};
use sqlx::{Connection as _, PgConnection};

use crate::StoreError;

/// Schema versions, applied in order, each in one transaction. Key columns collate as `"C"`
/// (bytes), so that lists come in the same order as from SQLite whatever the database's locale.
/// Times are epoch seconds or milliseconds in `BIGINT`, as in SQLite.
const MIGRATIONS: &[&str] = &[
    // Accounts, rosters, offline messages (with their sizes and senders for the byte quotas).
    r#"CREATE TABLE users (username TEXT COLLATE "C" PRIMARY KEY, created_at BIGINT NOT NULL DEFAULT (EXTRACT(EPOCH FROM now())::BIGINT));
     CREATE TABLE credentials (username TEXT COLLATE "C" NOT NULL REFERENCES users(username) ON DELETE CASCADE, hash TEXT COLLATE "C" NOT NULL,
        salt BYTEA NOT NULL, iterations BIGINT NOT NULL, stored_key BYTEA NOT NULL, server_key BYTEA NOT NULL,
        PRIMARY KEY (username, hash));
     CREATE TABLE roster (owner TEXT COLLATE "C" NOT NULL REFERENCES users(username) ON DELETE CASCADE, contact TEXT COLLATE "C" NOT NULL,
        name TEXT, subscription TEXT NOT NULL, ask_out BOOLEAN NOT NULL, pending_in BOOLEAN NOT NULL,
        visible BOOLEAN NOT NULL, groups TEXT NOT NULL, PRIMARY KEY (owner, contact));
     CREATE INDEX roster_by_contact ON roster(contact, owner);
     CREATE TABLE offline (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        username TEXT COLLATE "C" NOT NULL REFERENCES users(username) ON DELETE CASCADE, sender TEXT NOT NULL,
        stanza TEXT NOT NULL, stored_at BIGINT NOT NULL, bytes BIGINT NOT NULL);
     CREATE INDEX offline_by_user ON offline(username, id) INCLUDE (bytes);
     CREATE INDEX offline_by_sender ON offline(sender) INCLUDE (bytes);"#,
    // Pubsub. `next_seq` is kept up to date by every publish (it allocates the item's number);
    // subscriptions keep their creation order in `position`.
    r#"CREATE TABLE pubsub_nodes (name TEXT COLLATE "C" PRIMARY KEY, config TEXT NOT NULL, next_seq BIGINT NOT NULL DEFAULT 0);
     CREATE TABLE pubsub_affiliations (node TEXT COLLATE "C" NOT NULL REFERENCES pubsub_nodes(name) ON DELETE CASCADE,
        jid TEXT NOT NULL, affiliation TEXT NOT NULL, PRIMARY KEY (node, jid));
     CREATE TABLE pubsub_subscriptions (position BIGINT GENERATED ALWAYS AS IDENTITY,
        node TEXT COLLATE "C" NOT NULL REFERENCES pubsub_nodes(name) ON DELETE CASCADE, subid TEXT NOT NULL,
        jid TEXT NOT NULL, state TEXT NOT NULL, deliver BOOLEAN NOT NULL, PRIMARY KEY (node, subid));
     CREATE TABLE pubsub_items (node TEXT COLLATE "C" NOT NULL REFERENCES pubsub_nodes(name) ON DELETE CASCADE, id TEXT NOT NULL,
        seq BIGINT NOT NULL, publisher TEXT NOT NULL, payload TEXT NOT NULL, published_at BIGINT NOT NULL, PRIMARY KEY (node, id));
     CREATE INDEX pubsub_items_by_seq ON pubsub_items(node, seq);"#,
    // The contact center: its users belong to accounts and go with them; lists keep their order
    // in a position column.
    r#"CREATE TABLE cc_users (login_id TEXT COLLATE "C" PRIMARY KEY REFERENCES users(username) ON DELETE CASCADE,
        login_name TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL, extension TEXT, role TEXT NOT NULL,
        team_id TEXT, wrap_up_incoming TEXT NOT NULL, wrap_up_outgoing TEXT NOT NULL);
     CREATE TABLE cc_supervision (login_id TEXT COLLATE "C" NOT NULL REFERENCES cc_users(login_id) ON DELETE CASCADE,
        position BIGINT NOT NULL, team_id TEXT NOT NULL, PRIMARY KEY (login_id, position));
     CREATE TABLE cc_teams (id TEXT COLLATE "C" PRIMARY KEY, name TEXT NOT NULL);
     CREATE TABLE cc_queues (id TEXT COLLATE "C" PRIMARY KEY, name TEXT NOT NULL);
     CREATE TABLE cc_queue_teams (queue_id TEXT COLLATE "C" NOT NULL REFERENCES cc_queues(id) ON DELETE CASCADE,
        position BIGINT NOT NULL, team_id TEXT NOT NULL, PRIMARY KEY (queue_id, position));
     CREATE TABLE cc_reason_codes (id BIGINT PRIMARY KEY, category TEXT NOT NULL, code BIGINT NOT NULL,
        label TEXT NOT NULL, for_all BOOLEAN NOT NULL, system BOOLEAN NOT NULL);
     CREATE TABLE cc_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"#,
    // Close records: not tied to the account by a foreign key (a record may arrive after its
    // account went); `delete_user` deletes them in its transaction.
    r#"CREATE TABLE close_records (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, username TEXT COLLATE "C" NOT NULL,
        jid TEXT NOT NULL, transport TEXT NOT NULL, remote TEXT NOT NULL, opened_at BIGINT NOT NULL, closed_at BIGINT NOT NULL,
        cause TEXT NOT NULL, last_request_at BIGINT NOT NULL, stanzas_sent BIGINT NOT NULL, queued BIGINT NOT NULL,
        dropped BIGINT NOT NULL, bytes_sent BIGINT NOT NULL);
     CREATE INDEX close_records_by_time ON close_records(closed_at, id);
     CREATE INDEX close_records_by_user ON close_records(username, closed_at, id);"#,
];

/// The advisory lock (transaction-scoped) that serialises migrations between nodes: "Herald" in
/// ASCII, unlikely to be taken by anything else sharing the database.
const MIGRATION_LOCK: i64 = 0x4865_7261_6c64;

/// How long a call waits for a pooled connection (or a new one) before failing with a backend
/// error: a database that went away makes calls fail after this, never hang.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A PostgreSQL database, through a pool of connections. Clones share the pool.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl crate::sql::SqlStore for PostgresStore {
    type Db = Postgres;
    fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`) with at
    /// most `max_connections` connections and brings its schema up to date. Failing to reach the
    /// server is [`StoreError::Open`] naming the user, host, port and database, never the
    /// password.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let store = Self::connect(url, max_connections).await?;
        store.migrate(MIGRATIONS).await?;
        Ok(store)
    }

    async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = match PgConnectOptions::from_str(url) {
            Ok(options) => options,
            Err(source) => return Err(StoreError::Open { target: without_password(url), source }),
        };
        let target = format!(
            "postgres://{}@{}:{}/{}",
            options.get_username(),
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        // One connection made directly first: the pool would retry until its acquire timeout
        // and then report only that it timed out, where the operator needs the cause (refused,
        // no such database, authentication failed).
        // Bounded: a host that drops packets must not hold the start for the TCP timeout.
        let probe = match tokio::time::timeout(ACQUIRE_TIMEOUT * 3, PgConnection::connect_with(&options)).await {
            Ok(connected) => connected.map_err(|source| StoreError::Open { target: target.clone(), source })?,
            Err(_) => {
                let waited = std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer within {:?}", ACQUIRE_TIMEOUT * 3));
                return Err(StoreError::Open { target, source: sqlx::Error::Io(waited) });
            }
        };
        probe.close().await.map_err(|source| StoreError::Open { target, source })?;
        let pool = PgPoolOptions::new().max_connections(max_connections.max(1)).acquire_timeout(ACQUIRE_TIMEOUT).connect_lazy_with(options);
        Ok(Self { pool })
    }

    /// Applies the `migrations` not applied yet, each in one transaction holding the migration
    /// lock: a node that waited for another one's migration finds it applied and skips it.
    async fn migrate(&self, migrations: &[&str]) -> Result<(), StoreError> {
        loop {
            let mut version = 0;
            let step = async {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await?;
                sqlx::query("CREATE TABLE IF NOT EXISTS herald_schema (version BIGINT NOT NULL)").execute(&mut *tx).await?;
                let applied: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM herald_schema").fetch_one(&mut *tx).await?;
                // A version this binary does not know (a newer Herald migrated) is left alone.
                let index = usize::try_from(applied).unwrap_or(usize::MAX);
                let Some(sql) = migrations.get(index) else {
                    tx.commit().await?;
                    return Ok(false);
                };
                version = index + 1;
                sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO herald_schema (version) VALUES ($1)").bind(applied + 1).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            };
            let more: Result<bool, sqlx::Error> = step.await;
            match more {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(source) => return Err(StoreError::Migration { version, source }),
            }
        }
    }

    /// The schema versions applied, in order (one row per migration: exactly once each, even
    /// with several nodes starting together).
    pub async fn schema_versions(&self) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT version FROM herald_schema ORDER BY version").fetch_all(&self.pool).await?)
    }

    /// Closes the pool; called at shutdown, after the last write.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `url` with the password of its user-info part removed, for an error message about a URL
/// that could not even be parsed. The user-info ends at the last `@` before any query (a raw `/`
/// in a password must not hide it); when a password may still be in what is left (a
/// `password=` parameter), only the scheme is shown.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "(an unreadable URL)".into() };
    let query_at = rest.find(['?', '#']).unwrap_or(rest.len());
    let shown = match rest[..query_at].rfind('@') {
        Some(at) => format!("{scheme}://{}@{}", rest[..at].split(':').next().unwrap_or_default(), &rest[at + 1..]),
        None => url.to_owned(),
    };
    if shown.to_ascii_lowercase().contains("password") { format!("{scheme}://(an unreadable URL)") } else { shown }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use herald_dbtest::TempPostgres;

    use super::*;
    use crate::sql::assert_corrupt;
    use crate::{AccountStore, PubSubStore, RosterStore};

    static SERVER: OnceLock<Option<TempPostgres>> = OnceLock::new();

    /// A store on a new database of this binary's one server, its schema not applied yet;
    /// `None` (skipped) without PostgreSQL, unless `CI` is set.
    async fn unmigrated() -> Option<PostgresStore> {
        let server = SERVER.get_or_init(|| {
            if !TempPostgres::available() {
                assert!(std::env::var_os("CI").is_none(), "PostgreSQL is not installed (initdb, pg_ctl), and CI needs it");
                eprintln!("skipped: PostgreSQL is not installed (initdb, pg_ctl)");
                return None;
            }
            let server = TempPostgres::start().expect("PostgreSQL starts");
            server.stop_when_process_exits().expect("the watchdog starts");
            Some(server)
        });
        let url = server.as_ref()?.new_database().expect("createdb");
        Some(PostgresStore::connect(&url, 2).await.expect("connects"))
    }

    #[tokio::test]
    async fn a_failing_migration_names_its_version_and_changes_nothing() {
        let Some(store) = unmigrated().await else { return };
        let err = store.migrate(&["CREATE TABLE a (x BIGINT)", "CREATE TABLE b (x BIGINT); NOT SQL"]).await.unwrap_err();
        assert!(matches!(err, StoreError::Migration { version: 2, .. }), "{err:?}");
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT tablename::TEXT FROM pg_tables WHERE tablename IN ('a', 'b')").fetch_all(&store.pool).await.unwrap();
        assert_eq!(tables, ["a"], "version 2 was rolled back whole");
        assert_eq!(store.schema_versions().await.unwrap(), [1]);
    }

    #[tokio::test]
    async fn values_herald_does_not_write_are_corrupt_data_naming_their_column_not_a_panic() {
        let Some(store) = unmigrated().await else { return };
        store.migrate(MIGRATIONS).await.unwrap();
        store.create_user("alice", &[]).await.unwrap();
        let exec = |sql: &'static str| sqlx::query(sql).execute(&store.pool);
        exec("INSERT INTO credentials VALUES ('alice', 'SHA-256', '\\x01', -1, '\\x02', '\\x03')").await.unwrap();
        assert_corrupt(store.credentials("alice").await, "credentials", "iterations");
        exec("INSERT INTO roster VALUES ('alice', 'bob@x', NULL, 'sideways', false, false, true, '')").await.unwrap();
        assert_corrupt(store.roster("alice").await, "roster", "subscription");
        exec("INSERT INTO pubsub_nodes (name, config, next_seq) VALUES ('n', '', -5)").await.unwrap();
        assert_corrupt(store.pubsub_load().await, "pubsub_nodes", "next_seq");
    }

    #[test]
    fn an_unparsable_url_is_named_without_its_password() {
        assert_eq!(without_password("postgres://herald:s3cret@db:5432/herald"), "postgres://herald@db:5432/herald");
        assert_eq!(without_password("postgres://a:b:c@d@host/x"), "postgres://a@host/x");
        assert_eq!(without_password("postgres://host/x"), "postgres://host/x");
        assert_eq!(without_password("no scheme:secret"), "(an unreadable URL)");
        assert_eq!(without_password("postgres://u:pa/ss@h:x/db"), "postgres://u@h:x/db", "a raw / in the password");
        assert_eq!(without_password("postgres://u@h:x/db?password=s3cret"), "postgres://(an unreadable URL)");
    }
}
