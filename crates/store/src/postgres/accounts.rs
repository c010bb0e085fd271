//! Users and credentials in PostgreSQL (`users`, `credentials`).

use sqlx::PgConnection;

use super::{PostgresStore, column, int_column};
use crate::{AccountStore, StoreError, StoredCredential};

const TABLE: &str = "credentials";

impl PostgresStore {
    /// Replaces `username`'s credentials inside the caller's transaction.
    pub(super) async fn write_credentials(
        tx: &mut PgConnection,
        username: &str,
        credentials: &[StoredCredential],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM credentials WHERE username = $1").bind(username).execute(&mut *tx).await?;
        for c in credentials {
            sqlx::query(
                "INSERT INTO credentials (username, hash, salt, iterations, stored_key, server_key) VALUES ($1, $2, $3, $4, $5, $6)",
            )
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

    /// Creates `username` inside the caller's transaction; false if it exists already.
    pub(super) async fn insert_user(tx: &mut PgConnection, username: &str) -> Result<bool, StoreError> {
        let inserted =
            sqlx::query("INSERT INTO users (username) VALUES ($1) ON CONFLICT DO NOTHING").bind(username).execute(&mut *tx).await?;
        Ok(inserted.rows_affected() > 0)
    }
}

impl AccountStore for PostgresStore {
    async fn create_user(&self, username: &str, credentials: &[StoredCredential]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if !Self::insert_user(&mut tx, username).await? {
            return Err(StoreError::UserExists(username.into()));
        }
        Self::write_credentials(&mut tx, username, credentials).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_credentials(&self, username: &str, credentials: &[StoredCredential]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // The user's row locked, so that a concurrent delete cannot leave credentials behind.
        if sqlx::query("SELECT 1 FROM users WHERE username = $1 FOR UPDATE").bind(username).fetch_optional(&mut *tx).await?.is_none() {
            return Err(StoreError::NoSuchUser(username.into()));
        }
        Self::write_credentials(&mut tx, username, credentials).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_user(&self, username: &str) -> Result<bool, StoreError> {
        // Roster, credentials, offline messages and the contact-center user go by cascade; close
        // records have no foreign key (they may outlive a session's account briefly) and go here,
        // in the same transaction.
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM users WHERE username = $1").bind(username).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM close_records WHERE username = $1").bind(username).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_users(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT username FROM users ORDER BY username").fetch_all(&self.pool).await?;
        rows.iter().map(|r| column(r, "users", "username")).collect()
    }

    async fn credentials(&self, username: &str) -> Result<Option<Vec<StoredCredential>>, StoreError> {
        // One statement: the user's existence and its credentials from the same snapshot.
        let rows = sqlx::query(
            "SELECT c.hash, c.salt, c.iterations, c.stored_key, c.server_key FROM users u
             LEFT JOIN credentials c ON c.username = u.username WHERE u.username = $1 ORDER BY c.hash",
        )
        .bind(username)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let read = |r| -> Result<Option<StoredCredential>, StoreError> {
            let Some(hash) = column::<Option<String>>(r, TABLE, "hash")? else { return Ok(None) };
            Ok(Some(StoredCredential {
                hash,
                salt: column(r, TABLE, "salt")?,
                iterations: int_column(r, TABLE, "iterations")?,
                stored_key: column(r, TABLE, "stored_key")?,
                server_key: column(r, TABLE, "server_key")?,
            }))
        };
        let credentials = rows.iter().map(read).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(credentials.into_iter().flatten().collect()))
    }
}
