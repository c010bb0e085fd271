//! [`AnyStore`]: the backend chosen at run time from configuration, dispatching every domain
//! trait to it.

use crate::{
    AccountStore, CloseRecord, ContactCenterStore, MemoryStore, OfflineMessage, OfflinePush, OfflineQuota, OfflineStore, PubSubOp,
    PubSubStore, RosterItem, RosterStore, SessionRecordStore, StoreError, StoredCcUser, StoredCredential, StoredNode, StoredOffline,
    StoredQueue, StoredReasonCode, StoredTeam,
};

/// The store chosen at run time from configuration.
#[derive(Clone, Debug)]
pub enum AnyStore {
    /// SQLite (the embedded default).
    #[cfg(feature = "sqlite")]
    Sqlite(crate::SqliteStore),
    /// PostgreSQL (several nodes sharing one database).
    #[cfg(feature = "postgres")]
    Postgres(crate::PostgresStore),
    /// In memory (tests; nothing survives a restart).
    Memory(MemoryStore),
}

impl AnyStore {
    /// Releases the backend's resources (the SQLite pool closes, flushing its WAL; the PostgreSQL
    /// pool closes its connections); called at
    /// shutdown, after the last write.
    pub async fn close(&self) {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(s) => s.close().await,
            #[cfg(feature = "postgres")]
            Self::Postgres(s) => s.close().await,
            Self::Memory(_) => {}
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite($s) => $call.await,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres($s) => $call.await,
            AnyStore::Memory($s) => $call.await,
        }
    };
}

impl AccountStore for AnyStore {
    async fn create_user(&self, username: &str, credentials: &[StoredCredential]) -> Result<(), StoreError> {
        dispatch!(self, s => s.create_user(username, credentials))
    }
    async fn set_credentials(&self, username: &str, credentials: &[StoredCredential]) -> Result<(), StoreError> {
        dispatch!(self, s => s.set_credentials(username, credentials))
    }
    async fn delete_user(&self, username: &str) -> Result<bool, StoreError> {
        dispatch!(self, s => s.delete_user(username))
    }
    async fn list_users(&self) -> Result<Vec<String>, StoreError> {
        dispatch!(self, s => s.list_users())
    }
    async fn credentials(&self, username: &str) -> Result<Option<Vec<StoredCredential>>, StoreError> {
        dispatch!(self, s => s.credentials(username))
    }
}

impl RosterStore for AnyStore {
    async fn roster(&self, owner: &str) -> Result<Vec<RosterItem>, StoreError> {
        dispatch!(self, s => s.roster(owner))
    }
    async fn roster_item(&self, owner: &str, contact: &str) -> Result<Option<RosterItem>, StoreError> {
        dispatch!(self, s => s.roster_item(owner, contact))
    }
    async fn put_roster_item(&self, owner: &str, item: &RosterItem) -> Result<(), StoreError> {
        dispatch!(self, s => s.put_roster_item(owner, item))
    }
    async fn delete_roster_item(&self, owner: &str, contact: &str) -> Result<bool, StoreError> {
        dispatch!(self, s => s.delete_roster_item(owner, contact))
    }
    async fn roster_len(&self, owner: &str) -> Result<u64, StoreError> {
        dispatch!(self, s => s.roster_len(owner))
    }
}

impl OfflineStore for AnyStore {
    async fn push_offline(&self, username: &str, message: &OfflineMessage, quota: &OfflineQuota) -> Result<OfflinePush, StoreError> {
        dispatch!(self, s => s.push_offline(username, message, quota))
    }
    async fn offline_batch(&self, username: &str, max_messages: usize, max_bytes: u64) -> Result<Vec<StoredOffline>, StoreError> {
        dispatch!(self, s => s.offline_batch(username, max_messages, max_bytes))
    }
    async fn delete_offline(&self, username: &str, through_id: i64) -> Result<u64, StoreError> {
        dispatch!(self, s => s.delete_offline(username, through_id))
    }
}

impl PubSubStore for AnyStore {
    async fn pubsub_load(&self) -> Result<Vec<StoredNode>, StoreError> {
        dispatch!(self, s => s.pubsub_load())
    }
    async fn pubsub_apply(&self, ops: &[PubSubOp]) -> Result<(), StoreError> {
        dispatch!(self, s => s.pubsub_apply(ops))
    }
}

impl ContactCenterStore for AnyStore {
    async fn cc_put_user(&self, user: &StoredCcUser) -> Result<(), StoreError> {
        dispatch!(self, s => s.cc_put_user(user))
    }
    async fn cc_put_users(&self, users: &[StoredCcUser]) -> Result<(), StoreError> {
        dispatch!(self, s => s.cc_put_users(users))
    }
    async fn cc_create_accounts(&self, accounts: &[(String, Vec<StoredCredential>)]) -> Result<u64, StoreError> {
        dispatch!(self, s => s.cc_create_accounts(accounts))
    }
    async fn cc_users(&self) -> Result<Vec<StoredCcUser>, StoreError> {
        dispatch!(self, s => s.cc_users())
    }
    async fn cc_put_team(&self, team: &StoredTeam) -> Result<(), StoreError> {
        dispatch!(self, s => s.cc_put_team(team))
    }
    async fn cc_teams(&self) -> Result<Vec<StoredTeam>, StoreError> {
        dispatch!(self, s => s.cc_teams())
    }
    async fn cc_put_queue(&self, queue: &StoredQueue) -> Result<(), StoreError> {
        dispatch!(self, s => s.cc_put_queue(queue))
    }
    async fn cc_queues(&self) -> Result<Vec<StoredQueue>, StoreError> {
        dispatch!(self, s => s.cc_queues())
    }
    async fn cc_put_reason_code(&self, code: &StoredReasonCode) -> Result<(), StoreError> {
        dispatch!(self, s => s.cc_put_reason_code(code))
    }
    async fn cc_reason_codes(&self) -> Result<Vec<StoredReasonCode>, StoreError> {
        dispatch!(self, s => s.cc_reason_codes())
    }
    async fn cc_scenario_applied(&self) -> Result<bool, StoreError> {
        dispatch!(self, s => s.cc_scenario_applied())
    }
    async fn cc_mark_scenario_applied(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.cc_mark_scenario_applied())
    }
    async fn cc_put_roster_items(&self, items: &[(String, RosterItem)]) -> Result<(), StoreError> {
        dispatch!(self, s => s.cc_put_roster_items(items))
    }
    async fn cc_roster_items_naming(&self, contact: &str) -> Result<Vec<(String, RosterItem)>, StoreError> {
        dispatch!(self, s => s.cc_roster_items_naming(contact))
    }
}

impl SessionRecordStore for AnyStore {
    async fn add_close_records(&self, records: &[CloseRecord]) -> Result<(), StoreError> {
        dispatch!(self, s => s.add_close_records(records))
    }
    async fn close_records(&self, user: Option<&str>, since_ms: u64, limit: usize) -> Result<Vec<CloseRecord>, StoreError> {
        dispatch!(self, s => s.close_records(user, since_ms, limit))
    }
    async fn prune_close_records(&self, keep: u64) -> Result<u64, StoreError> {
        dispatch!(self, s => s.prune_close_records(keep))
    }
}
