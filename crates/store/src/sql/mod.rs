//! What the two SQL backends (`sqlite/`, `postgres/`) share: the [`Sql`] trait over a sqlx
//! database (read Herald's column types, bind its values, run a statement), the domain structs
//! built from rows ([`rows`]), and the calls whose SQL is the same on both, one module per
//! domain (SQLite accepts PostgreSQL's `$1` parameters). Each is generic over the database and
//! instantiated by the backend's trait implementation. What differs between the backends
//! (schemas and migrations, locks, `RETURNING`, upserts that are not the same) stays in each
//! backend.

pub(crate) mod accounts;
pub(crate) mod contact_center;
pub(crate) mod records;
pub(crate) mod roster;
pub(crate) mod rows;

use std::collections::HashMap;
use std::future::Future;

use sqlx::Pool;
use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use crate::StoreError;

/// The number of rows a statement changed, for [`Sql`]'s results (sqlx has no trait for it).
pub(crate) trait Affected {
    /// Rows inserted, updated or deleted.
    fn rows_affected(&self) -> u64;
}

#[cfg(feature = "sqlite")]
impl Affected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

#[cfg(feature = "postgres")]
impl Affected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// A query on database `DB`, as [`sqlx::query`] makes it.
pub(crate) type Stmt<'q, DB> = Query<'q, DB, <DB as Database>::Arguments>;

/// A SQL database the shared code runs on (SQLite, PostgreSQL). Implemented once, below, for
/// every sqlx database that reads and binds Herald's types, so that generic code needs only
/// `DB: Sql` instead of repeating sqlx's bounds at every function.
pub(crate) trait Sql: Database<QueryResult: Affected> {
    /// Column `name` of `row` as text.
    fn get_text(row: &Self::Row, name: &str) -> Result<String, sqlx::Error>;
    /// Column `name` of `row` as text or `NULL`.
    fn get_opt_text(row: &Self::Row, name: &str) -> Result<Option<String>, sqlx::Error>;
    /// Column `name` of `row` as an integer.
    fn get_int(row: &Self::Row, name: &str) -> Result<i64, sqlx::Error>;
    /// Column `name` of `row` as a boolean (SQLite's 0/1, PostgreSQL's `BOOLEAN`).
    fn get_flag(row: &Self::Row, name: &str) -> Result<bool, sqlx::Error>;
    /// Column `name` of `row` as binary data (`BLOB`, `BYTEA`).
    fn get_bytes(row: &Self::Row, name: &str) -> Result<Vec<u8>, sqlx::Error>;
    /// `query` with a text value bound.
    fn bind_text<'q>(query: Stmt<'q, Self>, value: &str) -> Stmt<'q, Self>;
    /// `query` with a text value or `NULL` bound.
    fn bind_opt_text<'q>(query: Stmt<'q, Self>, value: Option<&str>) -> Stmt<'q, Self>;
    /// `query` with an integer bound.
    fn bind_int<'q>(query: Stmt<'q, Self>, value: i64) -> Stmt<'q, Self>;
    /// `query` with a boolean bound.
    fn bind_flag<'q>(query: Stmt<'q, Self>, value: bool) -> Stmt<'q, Self>;
    /// `query` with binary data bound.
    fn bind_bytes<'q>(query: Stmt<'q, Self>, value: &[u8]) -> Stmt<'q, Self>;
    /// Runs `query` on `conn` (a pooled connection or a transaction).
    fn execute<'e>(
        conn: &'e mut Self::Connection,
        query: Stmt<'e, Self>,
    ) -> impl Future<Output = Result<Self::QueryResult, sqlx::Error>> + Send + 'e;
    /// Runs `query` on `conn` for all its rows.
    fn fetch_all<'e>(
        conn: &'e mut Self::Connection,
        query: Stmt<'e, Self>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'e;
    /// Runs `query` on `conn` for its row, if any.
    fn fetch_optional<'e>(
        conn: &'e mut Self::Connection,
        query: Stmt<'e, Self>,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'e;
}

impl<DB> Sql for DB
where
    DB: Database<QueryResult: Affected>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'n> &'n str: ColumnIndex<DB::Row>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB> + Encode<'r, DB> + Type<DB>,
    for<'r> bool: Decode<'r, DB> + Encode<'r, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB> + Type<DB>,
    for<'a> &'a [u8]: Encode<'a, DB> + Type<DB>,
{
    fn get_text(row: &DB::Row, name: &str) -> Result<String, sqlx::Error> {
        row.try_get(name)
    }
    fn get_opt_text(row: &DB::Row, name: &str) -> Result<Option<String>, sqlx::Error> {
        row.try_get(name)
    }
    fn get_int(row: &DB::Row, name: &str) -> Result<i64, sqlx::Error> {
        row.try_get(name)
    }
    fn get_flag(row: &DB::Row, name: &str) -> Result<bool, sqlx::Error> {
        row.try_get(name)
    }
    fn get_bytes(row: &DB::Row, name: &str) -> Result<Vec<u8>, sqlx::Error> {
        row.try_get(name)
    }
    fn bind_text<'q>(query: Stmt<'q, DB>, value: &str) -> Stmt<'q, DB> {
        query.bind(value)
    }
    fn bind_opt_text<'q>(query: Stmt<'q, DB>, value: Option<&str>) -> Stmt<'q, DB> {
        query.bind(value)
    }
    fn bind_int<'q>(query: Stmt<'q, DB>, value: i64) -> Stmt<'q, DB> {
        query.bind(value)
    }
    fn bind_flag<'q>(query: Stmt<'q, DB>, value: bool) -> Stmt<'q, DB> {
        query.bind(value)
    }
    fn bind_bytes<'q>(query: Stmt<'q, DB>, value: &[u8]) -> Stmt<'q, DB> {
        query.bind(value)
    }
    fn execute<'e>(
        conn: &'e mut DB::Connection,
        query: Stmt<'e, DB>,
    ) -> impl Future<Output = Result<DB::QueryResult, sqlx::Error>> + Send + 'e {
        conn.execute(query)
    }
    fn fetch_all<'e>(
        conn: &'e mut DB::Connection,
        query: Stmt<'e, DB>,
    ) -> impl Future<Output = Result<Vec<DB::Row>, sqlx::Error>> + Send + 'e {
        conn.fetch_all(query)
    }
    fn fetch_optional<'e>(
        conn: &'e mut DB::Connection,
        query: Stmt<'e, DB>,
    ) -> impl Future<Output = Result<Option<DB::Row>, sqlx::Error>> + Send + 'e {
        conn.fetch_optional(query)
    }
}

/// Reads one column of a row of `table`: a value of the wrong type or out of range is
/// [`StoreError::Corrupt`] naming table and column, never the panic `Row::get` would raise.
pub(crate) trait Columns {
    /// A text column.
    fn text(&self, table: &'static str, name: &'static str) -> Result<String, StoreError>;
    /// A text column that may be `NULL`.
    fn opt_text(&self, table: &'static str, name: &'static str) -> Result<Option<String>, StoreError>;
    /// An integer column, as stored.
    fn int(&self, table: &'static str, name: &'static str) -> Result<i64, StoreError>;
    /// An integer column that must fit `T` (a count, a size, a time): out of range is corrupt.
    fn count<T: TryFrom<i64, Error = std::num::TryFromIntError>>(&self, table: &'static str, name: &'static str) -> Result<T, StoreError> {
        T::try_from(self.int(table, name)?).map_err(|e| StoreError::corrupt(table, name, e))
    }
    /// A boolean column.
    fn flag(&self, table: &'static str, name: &'static str) -> Result<bool, StoreError>;
    /// A binary column.
    fn bytes(&self, table: &'static str, name: &'static str) -> Result<Vec<u8>, StoreError>;
}

impl<R: Row<Database: Sql>> Columns for R {
    fn text(&self, table: &'static str, name: &'static str) -> Result<String, StoreError> {
        R::Database::get_text(self, name).map_err(|e| StoreError::corrupt(table, name, e))
    }
    fn opt_text(&self, table: &'static str, name: &'static str) -> Result<Option<String>, StoreError> {
        R::Database::get_opt_text(self, name).map_err(|e| StoreError::corrupt(table, name, e))
    }
    fn int(&self, table: &'static str, name: &'static str) -> Result<i64, StoreError> {
        R::Database::get_int(self, name).map_err(|e| StoreError::corrupt(table, name, e))
    }
    fn flag(&self, table: &'static str, name: &'static str) -> Result<bool, StoreError> {
        R::Database::get_flag(self, name).map_err(|e| StoreError::corrupt(table, name, e))
    }
    fn bytes(&self, table: &'static str, name: &'static str) -> Result<Vec<u8>, StoreError> {
        R::Database::get_bytes(self, name).map_err(|e| StoreError::corrupt(table, name, e))
    }
}

/// Binds Herald's values to a statement, the same way on both backends.
pub(crate) trait Binds: Sized {
    /// A text value.
    fn text(self, value: &str) -> Self;
    /// A text value or `NULL`.
    fn opt_text(self, value: Option<&str>) -> Self;
    /// An integer.
    fn int(self, value: i64) -> Self;
    /// A boolean.
    fn flag(self, value: bool) -> Self;
    /// Binary data.
    fn bytes(self, value: &[u8]) -> Self;
}

impl<DB: Sql> Binds for Stmt<'_, DB> {
    fn text(self, value: &str) -> Self {
        DB::bind_text(self, value)
    }
    fn opt_text(self, value: Option<&str>) -> Self {
        DB::bind_opt_text(self, value)
    }
    fn int(self, value: i64) -> Self {
        DB::bind_int(self, value)
    }
    fn flag(self, value: bool) -> Self {
        DB::bind_flag(self, value)
    }
    fn bytes(self, value: &[u8]) -> Self {
        DB::bind_bytes(self, value)
    }
}

/// A count, size or time as a SQL integer (saturating: nothing Herald counts gets near
/// `i64::MAX`).
pub(crate) fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Maps a foreign-key failure on a row of `owner` to [`StoreError::NoSuchUser`]: its account
/// does not exist.
pub(crate) fn no_such_user(owner: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NoSuchUser(owner.into()),
        _ => e.into(),
    }
}

/// Rows `(key, team_id)` of a child list table, grouped by key in the rows' (position) order:
/// the supervised teams per user, the teams per queue.
pub(crate) fn grouped<R: Columns>(rows: &[R], table: &'static str, key: &'static str) -> Result<HashMap<String, Vec<String>>, StoreError> {
    let mut lists: HashMap<String, Vec<String>> = HashMap::new();
    for row in rows {
        lists.entry(row.text(table, key)?).or_default().push(row.text(table, "team_id")?);
    }
    Ok(lists)
}

/// A store on a pool of SQL connections: what the domain traits implemented once for both
/// backends (below) need of it.
pub(crate) trait SqlStore: Send + Sync {
    /// The database.
    type Db: Sql;
    /// The pool every call takes its connection or transaction from.
    fn pool(&self) -> &Pool<Self::Db>;
}

/// Asserts that `result` is [`StoreError::Corrupt`] naming `table` and `column`: the backends'
/// tests that write values Herald does not write.
#[cfg(test)]
pub(crate) fn assert_corrupt<T: std::fmt::Debug>(result: Result<T, StoreError>, table: &str, column: &str) {
    match result {
        Err(StoreError::Corrupt { table: t, column: c, .. }) => assert_eq!((t, c), (table, column)),
        other => panic!("expected corrupt {table}.{column}, got {other:?}"),
    }
}
