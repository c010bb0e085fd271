//! Users and credentials in SQLite (`users`, `credentials`).

use super::{SqliteStore, column, int_column};
use crate::{AccountStore, StoreError, StoredCredential};

const TABLE: &str = "credentials";

impl SqliteStore {
    /// Replaces `username`'s credentials inside the caller's transaction.
    pub(super) async fn write_credentials(
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

impl AccountStore for SqliteStore {
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
        rows.iter().map(|r| column(r, "users", "username")).collect()
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
        let read = |r| {
            Ok(StoredCredential {
                hash: column(r, TABLE, "hash")?,
                salt: column(r, TABLE, "salt")?,
                iterations: int_column(r, TABLE, "iterations")?,
                stored_key: column(r, TABLE, "stored_key")?,
                server_key: column(r, TABLE, "server_key")?,
            })
        };
        rows.iter().map(read).collect::<Result<_, _>>().map(Some)
    }
}
