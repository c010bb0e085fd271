//! [`StoreError`]: what can go wrong in any store, typed so that callers choose their
//! protocol's answer (an XMPP stanza or SASL error, an HTTP status) by variant, never by text.

/// Errors from a store. The first two are the caller's doing; the rest say the backend failed
/// and the operation did not happen (XMPP `internal-server-error`, HTTP 500/503).
///
/// Backend variants show their cause in their message as well as through `source()`, because
/// most callers log only the message (`%err`) and the cause is what an operator needs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The user to create already exists.
    #[error("user {0} already exists")]
    UserExists(String),
    /// The user addressed does not exist.
    #[error("no such user: {0}")]
    NoSuchUser(String),
    /// The database could not be opened or created (missing directory, permissions, not a
    /// database file; a server that cannot be reached, refuses the login, or has no such
    /// database).
    #[error("cannot open the database {target}: {source}")]
    Open {
        /// Where it was looked for: the SQLite file's path, or a server's
        /// `postgres://user@host:port/database` (never with its password).
        target: String,
        /// Why.
        #[source]
        source: DatabaseError,
    },
    /// Bringing the schema up to date failed; the database stays at the previous version.
    #[error("cannot upgrade the database schema to version {version}: {source}")]
    Migration {
        /// The schema version that could not be applied (0: the current version could not be
        /// read).
        version: usize,
        /// Why.
        #[source]
        source: DatabaseError,
    },
    /// A query failed (I/O, lock timeout, constraint); the operation did not happen.
    #[error("database error: {0}")]
    Database(#[source] DatabaseError),
    /// The SQLite store's pubsub writer thread failed the batch (its connection or a
    /// statement), or is gone; nothing of the batch was written.
    #[cfg(feature = "sqlite")]
    #[error("pubsub writer: {0}")]
    PubSubWriter(#[source] WriterError),
    /// A stored value is not one Herald writes (edited by hand, or a newer schema).
    #[error("corrupt data in {table}.{column}: {source}")]
    Corrupt {
        /// Table (or collection) holding the value.
        table: &'static str,
        /// Column (or field).
        column: &'static str,
        /// Why it cannot be read.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// A value of `table`.`column` that cannot be read back.
    pub fn corrupt(table: &'static str, column: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Corrupt { table, column, source: source.into() }
    }

    /// Whether the backend failed (as opposed to the caller naming a user that does or does
    /// not exist): the answer is a server error, and retrying later may help.
    pub fn is_backend(&self) -> bool {
        !matches!(self, Self::UserExists(_) | Self::NoSuchUser(_))
    }
}

/// The database driver's error: sqlx's when the `sqlite` or `postgres` feature is on. Without
/// any database backend compiled in, no database error can occur, and the type has no values.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub type DatabaseError = sqlx::Error;

/// The database driver's error: sqlx's when the `sqlite` or `postgres` feature is on. Without
/// any database backend compiled in, no database error can occur, and the type has no values.
#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        Self::Database(err)
    }
}

/// Why the SQLite store's pubsub writer thread could not apply a batch.
#[cfg(feature = "sqlite")]
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// Its connection could not be opened, or a statement failed.
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The thread could not be started.
    #[error("cannot start the writer thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The thread is gone (it ended with the store).
    #[error("the writer thread stopped")]
    Stopped,
}
