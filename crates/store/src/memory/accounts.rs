//! Users and credentials in memory.

use super::MemoryStore;
use crate::{AccountStore, StoreError, StoredCredential};

impl AccountStore for MemoryStore {
    async fn create_user(&self, username: &str, credentials: &[StoredCredential]) -> Result<(), StoreError> {
        self.with(|d| {
            if d.users.contains_key(username) {
                return Err(StoreError::UserExists(username.into()));
            }
            d.users.insert(username.into(), credentials.to_vec());
            Ok(())
        })
    }

    async fn set_credentials(&self, username: &str, credentials: &[StoredCredential]) -> Result<(), StoreError> {
        self.with(|d| match d.users.get_mut(username) {
            Some(c) => {
                *c = credentials.to_vec();
                Ok(())
            }
            None => Err(StoreError::NoSuchUser(username.into())),
        })
    }

    async fn delete_user(&self, username: &str) -> Result<bool, StoreError> {
        Ok(self.with(|d| {
            d.rosters.remove(username);
            d.offline.remove(username);
            d.cc.users.remove(username);
            d.close_records.retain(|r| r.user != username);
            d.users.remove(username).is_some()
        }))
    }

    async fn list_users(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.with(|d| d.users.keys().cloned().collect()))
    }

    async fn credentials(&self, username: &str) -> Result<Option<Vec<StoredCredential>>, StoreError> {
        Ok(self.with(|d| d.users.get(username).cloned()))
    }
}
