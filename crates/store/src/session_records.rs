//! Close records: one row per ended client session (who, over what, from where, how long, why
//! it ended, what it was sent), kept for diagnosis and pruned to a bound.

use std::future::Future;

use crate::StoreError;

/// What is kept of one ended session, for `herald doctor` and the log bundle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloseRecord {
    /// The account (the full JID's local part).
    pub user: String,
    /// The full JID the session had.
    pub jid: String,
    /// Its transport (`tcp`, `bosh`, `websocket`).
    pub transport: String,
    /// The client's address.
    pub remote: String,
    /// When it bound, milliseconds since the Unix epoch.
    pub opened_ms: u64,
    /// When it ended, milliseconds since the Unix epoch.
    pub closed_ms: u64,
    /// Why it ended (the core's close cause, e.g. `timeout`, `kicked`).
    pub cause: String,
    /// When the client last sent a request (epoch ms; 0: never after the bind).
    pub last_request_ms: u64,
    /// Stanzas written to the client.
    pub stanzas_sent: u64,
    /// Stanzas still queued for it when it ended.
    pub queued: u64,
    /// Stanzas dropped because its queue was full.
    pub dropped: u64,
    /// Bytes written to the client.
    pub bytes_sent: u64,
}

/// The bounded history of ended sessions. Records of a user go with the account
/// ([`crate::AccountStore::delete_user`]).
pub trait SessionRecordStore: Send + Sync {
    /// Stores `records` in one transaction.
    fn add_close_records(&self, records: &[CloseRecord]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The records closed at or after `since_ms`, of `user` only if given, newest first, at
    /// most `limit`.
    fn close_records(
        &self,
        user: Option<&str>,
        since_ms: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<CloseRecord>, StoreError>> + Send;
    /// Keeps only the `keep` most recently closed records; returns how many went.
    fn prune_close_records(&self, keep: u64) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
