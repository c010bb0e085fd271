//! Accounts: who may log in, and the SCRAM credentials a login is verified against.

use std::future::Future;

use crate::StoreError;

/// One stored SCRAM credential, as plain data (the store does not interpret it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCredential {
    /// Hash name: `SHA-1` or `SHA-256`.
    pub hash: String,
    /// Salt bytes.
    pub salt: Vec<u8>,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// StoredKey.
    pub stored_key: Vec<u8>,
    /// ServerKey.
    pub server_key: Vec<u8>,
}

/// Users and their credentials: what authentication and the `herald user` commands need.
/// Deleting a user also deletes what other domains keep for it (roster, offline messages), so
/// that a re-created account starts empty.
pub trait AccountStore: Send + Sync {
    /// Creates a user with its credentials.
    fn create_user(&self, username: &str, credentials: &[StoredCredential]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces a user's credentials (password change).
    fn set_credentials(&self, username: &str, credentials: &[StoredCredential]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes a user with its roster and offline messages; false if there was no such user.
    fn delete_user(&self, username: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// All usernames, sorted.
    fn list_users(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// A user's credentials; `None` if there is no such user.
    fn credentials(&self, username: &str) -> impl Future<Output = Result<Option<Vec<StoredCredential>>, StoreError>> + Send;
}
