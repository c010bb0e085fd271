//! Users and credentials in SQLite (`users`, `credentials`); the statements shared with
//! PostgreSQL are in [`crate::sql::accounts`].

use sqlx::Sqlite;

use super::SqliteStore;
use crate::sql::accounts;
use crate::{AccountStore, StoreError, StoredCredential};

impl AccountStore for SqliteStore {
    async fn create_user(&self, username: &str, credentials: &[StoredCredential]) -> Result<(), StoreError> {
        accounts::create_user(&self.pool, username, credentials).await
    }

    async fn set_credentials(&self, username: &str, credentials: &[StoredCredential]) -> Result<(), StoreError> {
        accounts::set_credentials(&self.pool, "SELECT 1 FROM users WHERE username = $1", username, credentials).await
    }

    /// Everything of the user goes by cascade, close records by trigger.
    async fn delete_user(&self, username: &str) -> Result<bool, StoreError> {
        let done = sqlx::query::<Sqlite>("DELETE FROM users WHERE username = ?").bind(username).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_users(&self) -> Result<Vec<String>, StoreError> {
        accounts::list_users(&self.pool).await
    }

    async fn credentials(&self, username: &str) -> Result<Option<Vec<StoredCredential>>, StoreError> {
        accounts::credentials(&self.pool, username).await
    }
}
