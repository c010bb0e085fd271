//! Users and credentials (`users`, `credentials`): the statements the same on both SQL
//! backends. Creating and deleting a user, and checking one exists before its credentials
//! change, stay in each backend (PostgreSQL locks the user's row and deletes close records
//! itself).

use sqlx::Pool;

use super::{Affected as _, Binds, Columns as _, Sql, rows};
use crate::{StoreError, StoredCredential};

/// Creates `username` inside the caller's transaction; false if it exists already.
pub(crate) async fn insert_user<DB: Sql>(tx: &mut DB::Connection, username: &str) -> Result<bool, StoreError> {
    let query = sqlx::query("INSERT INTO users (username) VALUES ($1) ON CONFLICT DO NOTHING").text(username);
    Ok(DB::execute(tx, query).await?.rows_affected() > 0)
}

/// Replaces `username`'s credentials inside the caller's transaction.
pub(crate) async fn write_credentials<DB: Sql>(
    tx: &mut DB::Connection,
    username: &str,
    credentials: &[StoredCredential],
) -> Result<(), StoreError> {
    DB::execute(tx, sqlx::query("DELETE FROM credentials WHERE username = $1").text(username)).await?;
    for c in credentials {
        let query = sqlx::query(
            "INSERT INTO credentials (username, hash, salt, iterations, stored_key, server_key) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .text(username)
        .text(&c.hash)
        .bytes(&c.salt)
        .int(i64::from(c.iterations))
        .bytes(&c.stored_key)
        .bytes(&c.server_key);
        DB::execute(tx, query).await?;
    }
    Ok(())
}

/// [`crate::AccountStore::create_user`] inside one transaction.
pub(crate) async fn create_user<DB: Sql>(pool: &Pool<DB>, username: &str, credentials: &[StoredCredential]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    if !insert_user::<DB>(&mut tx, username).await? {
        return Err(StoreError::UserExists(username.into()));
    }
    write_credentials::<DB>(&mut tx, username, credentials).await?;
    tx.commit().await?;
    Ok(())
}

/// [`crate::AccountStore::set_credentials`] inside one transaction, `exists` being the backend's
/// statement that finds (and, where it can, locks) the user's row.
pub(crate) async fn set_credentials<DB: Sql>(
    pool: &Pool<DB>,
    exists: &'static str,
    username: &str,
    credentials: &[StoredCredential],
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    if DB::fetch_optional(&mut tx, sqlx::query(exists).text(username)).await?.is_none() {
        return Err(StoreError::NoSuchUser(username.into()));
    }
    write_credentials::<DB>(&mut tx, username, credentials).await?;
    tx.commit().await?;
    Ok(())
}

/// [`crate::AccountStore::list_users`].
pub(crate) async fn list_users<DB: Sql>(pool: &Pool<DB>) -> Result<Vec<String>, StoreError> {
    let rows = DB::fetch_all(&mut *pool.acquire().await?, sqlx::query("SELECT username FROM users ORDER BY username")).await?;
    rows.iter().map(|r| r.text("users", "username")).collect()
}

/// [`crate::AccountStore::credentials`]: one statement, so that the user's existence and its
/// credentials come from the same snapshot.
pub(crate) async fn credentials<DB: Sql>(pool: &Pool<DB>, username: &str) -> Result<Option<Vec<StoredCredential>>, StoreError> {
    let query = sqlx::query(
        "SELECT c.hash, c.salt, c.iterations, c.stored_key, c.server_key FROM users u
         LEFT JOIN credentials c ON c.username = u.username WHERE u.username = $1 ORDER BY c.hash",
    )
    .text(username);
    let rows = DB::fetch_all(&mut *pool.acquire().await?, query).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut credentials = Vec::with_capacity(rows.len());
    for r in &rows {
        if let Some(hash) = r.opt_text("credentials", "hash")? {
            credentials.push(rows::credential(r, hash)?);
        }
    }
    Ok(Some(credentials))
}
