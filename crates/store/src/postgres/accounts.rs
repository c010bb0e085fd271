//! Users and credentials in PostgreSQL (`users`, `credentials`); the statements shared with
//! SQLite are in [`crate::sql::accounts`].

use super::PostgresStore;
use crate::sql::accounts;
use crate::{AccountStore, StoreError, StoredCredential};

impl AccountStore for PostgresStore {
    async fn create_user(&self, username: &str, credentials: &[StoredCredential]) -> Result<(), StoreError> {
        accounts::create_user(&self.pool, username, credentials).await
    }

    async fn set_credentials(&self, username: &str, credentials: &[StoredCredential]) -> Result<(), StoreError> {
        // The user's row locked, so that a concurrent delete cannot leave credentials behind.
        accounts::set_credentials(&self.pool, "SELECT 1 FROM users WHERE username = $1 FOR UPDATE", username, credentials).await
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
        accounts::list_users(&self.pool).await
    }

    async fn credentials(&self, username: &str) -> Result<Option<Vec<StoredCredential>>, StoreError> {
        accounts::credentials(&self.pool, username).await
    }
}
