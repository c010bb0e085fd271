//! Herald's persistent state behind one [`Store`] trait: users and their SCRAM credentials,
//! rosters, offline messages, and publish-subscribe nodes with their items. SQLite is the embedded default; [`MemoryStore`] serves tests; both
//! pass the same [`conformance`] suite, and later backends must too.

pub mod conformance;
mod memory;
mod sqlite;
mod sqlite_pubsub;

use std::future::Future;

pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

/// Errors from a store. Each says whether the caller did something wrong or the backend failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The user to create already exists.
    #[error("user {0} already exists")]
    UserExists(String),
    /// The user addressed does not exist.
    #[error("no such user: {0}")]
    NoSuchUser(String),
    /// The database failed (I/O, corruption, lock timeout); the operation did not happen.
    #[error("database error: {0}")]
    Backend(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        Self::Backend(err.to_string())
    }
}

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

/// A roster subscription state (RFC 6121 §2.1.2.5), without the pending flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Subscription {
    /// Neither side sees the other's presence.
    #[default]
    None,
    /// The owner sees the contact's presence.
    To,
    /// The contact sees the owner's presence.
    From,
    /// Both directions.
    Both,
}

impl Subscription {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::To => "to",
            Self::From => "from",
            Self::Both => "both",
        }
    }

    /// Parses [`Subscription::as_str`]; anything else is `None`.
    pub fn parse(s: &str) -> Self {
        match s {
            "to" => Self::To,
            "from" => Self::From,
            "both" => Self::Both,
            _ => Self::None,
        }
    }

    /// Whether the owner receives the contact's presence.
    pub fn has_to(self) -> bool {
        matches!(self, Self::To | Self::Both)
    }

    /// Whether the contact receives the owner's presence.
    pub fn has_from(self) -> bool {
        matches!(self, Self::From | Self::Both)
    }

    /// The state with the `to` direction set or cleared.
    pub fn with_to(self, on: bool) -> Self {
        Self::from_flags(on, self.has_from())
    }

    /// The state with the `from` direction set or cleared.
    pub fn with_from(self, on: bool) -> Self {
        Self::from_flags(self.has_to(), on)
    }

    fn from_flags(to: bool, from: bool) -> Self {
        match (to, from) {
            (true, true) => Self::Both,
            (true, false) => Self::To,
            (false, true) => Self::From,
            (false, false) => Self::None,
        }
    }
}

/// One roster entry of one owner.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RosterItem {
    /// The contact's bare JID.
    pub contact: String,
    /// Display name chosen by the owner.
    pub name: Option<String>,
    /// Subscription state.
    pub subscription: Subscription,
    /// The owner asked to see the contact's presence and awaits an answer (`ask='subscribe'`).
    pub ask_out: bool,
    /// The contact asked to see the owner's presence and awaits an answer.
    pub pending_in: bool,
    /// Whether the item is in the owner's visible roster (an item created only by an incoming
    /// request is not, RFC 6121 §3.1.3).
    pub visible: bool,
    /// Roster groups.
    pub groups: Vec<String>,
}

/// A message stored for a user who had no session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfflineMessage {
    /// The bare JID that sent it: its bytes count toward that sender's quota.
    pub sender: String,
    /// The serialised stanza; its length in bytes is what the quotas count.
    pub stanza: String,
    /// When it was stored, milliseconds since the Unix epoch.
    pub stored_at_ms: i64,
}

/// One stored offline message with its position in the recipient's queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOffline {
    /// Increases with every message stored; [`Store::delete_offline`] removes up to one.
    pub id: i64,
    /// The message.
    pub message: OfflineMessage,
}

/// The limits one offline push must stay within, so that neither one recipient nor one sender
/// can make the store (and the recipient's next login) arbitrarily large.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfflineQuota {
    /// Most messages stored per recipient.
    pub max_messages: u64,
    /// Most stanza bytes stored per recipient.
    pub max_bytes: u64,
    /// Most stanza bytes one sender may have stored, across all recipients.
    pub max_sender_bytes: u64,
}

/// What became of an offline push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfflinePush {
    /// The message is stored.
    Stored,
    /// The recipient's message count or byte quota would be exceeded; nothing stored.
    RecipientFull,
    /// The sender's byte quota would be exceeded; nothing stored.
    SenderFull,
}

/// Where an offline batch ends: at most `max_messages`, and no more than `max_bytes` of stanzas
/// unless the first message alone is larger (a batch always makes progress). `sizes` are the
/// byte sizes of the queue's oldest messages, oldest first; returns how many to take.
pub fn offline_batch_len(sizes: impl IntoIterator<Item = u64>, max_messages: usize, max_bytes: u64) -> usize {
    let mut total = 0u64;
    let mut taken = 0usize;
    for size in sizes.into_iter().take(max_messages) {
        total = total.saturating_add(size);
        if taken > 0 && total > max_bytes {
            break;
        }
        taken += 1;
    }
    taken
}

/// The persistent state of one publish-subscribe node, as loaded at start.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StoredNode {
    /// Node name (any string, `/` included).
    pub name: String,
    /// Configuration, serialised by the pubsub service (the store does not interpret it).
    pub config: String,
    /// The sequence number the next item gets; never reused, even after a purge.
    pub next_seq: u64,
    /// (bare JID, affiliation name).
    pub affiliations: Vec<(String, String)>,
    /// Subscriptions.
    pub subscriptions: Vec<StoredSubscription>,
    /// Items, oldest first.
    pub items: Vec<StoredItem>,
}

/// One subscription to a node.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StoredSubscription {
    /// Subscription id.
    pub subid: String,
    /// Subscribed JID (bare or full).
    pub jid: String,
    /// `subscribed`, `pending` or `unconfigured`.
    pub state: String,
    /// Subscription options (XEP-0060 §6.3), as data.
    pub options: SubscriptionOptions,
}

/// The options of one subscription, each its own column: nothing is parsed back from text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubscriptionOptions {
    /// `pubsub#deliver`: whether notifications are sent (true unless the subscriber paused them).
    pub deliver: bool,
}

impl Default for SubscriptionOptions {
    fn default() -> Self {
        Self { deliver: true }
    }
}

/// One published item.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StoredItem {
    /// Position in the node's history; increases with every publish.
    pub seq: u64,
    /// Item id.
    pub id: String,
    /// Bare JID of the publisher.
    pub publisher: String,
    /// The payload element, serialised (empty for notification-only items).
    pub payload: String,
    /// Publication time, ms since the Unix epoch.
    pub published_at_ms: i64,
}

/// One change to the pubsub state. The service batches these and applies each batch in one
/// transaction, so a publish costs one write whatever the number of subscribers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PubSubOp {
    /// Creates a node or replaces its configuration.
    PutNode {
        /// Node name.
        name: String,
        /// Serialised configuration.
        config: String,
    },
    /// Deletes a node with everything in it.
    DeleteNode {
        /// Node name.
        name: String,
    },
    /// Sets an affiliation.
    PutAffiliation {
        /// Node name.
        node: String,
        /// Bare JID.
        jid: String,
        /// Affiliation name.
        affiliation: String,
    },
    /// Removes an affiliation (back to `none`).
    DeleteAffiliation {
        /// Node name.
        node: String,
        /// Bare JID.
        jid: String,
    },
    /// Creates or replaces a subscription.
    PutSubscription {
        /// Node name.
        node: String,
        /// The subscription.
        subscription: StoredSubscription,
    },
    /// Removes a subscription.
    DeleteSubscription {
        /// Node name.
        node: String,
        /// Subscription id.
        subid: String,
    },
    /// Stores an item (replacing one with the same id) and keeps only the newest `keep` items.
    PutItem {
        /// Node name.
        node: String,
        /// The item.
        item: StoredItem,
        /// How many items the node keeps, when this publish may have pushed one out (`None`:
        /// the node is below its limit, and nothing needs trimming: one statement fewer).
        keep: Option<u64>,
    },
    /// Removes one item.
    DeleteItem {
        /// Node name.
        node: String,
        /// Item id.
        id: String,
    },
    /// Removes every item of a node.
    Purge {
        /// Node name.
        node: String,
    },
}

/// Everything Herald persists. Methods are async and `Send` so that the core can call them from
/// any task; implementations must make each call atomic.
pub trait Store: Send + Sync + Clone + 'static {
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
    /// The owner's whole roster, including invisible pending items.
    fn roster(&self, owner: &str) -> impl Future<Output = Result<Vec<RosterItem>, StoreError>> + Send;
    /// One roster item.
    fn roster_item(&self, owner: &str, contact: &str) -> impl Future<Output = Result<Option<RosterItem>, StoreError>> + Send;
    /// Inserts or replaces one roster item.
    fn put_roster_item(&self, owner: &str, item: &RosterItem) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Removes one roster item; false if absent.
    fn delete_roster_item(&self, owner: &str, contact: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The number of items in the owner's roster (invisible pending items included).
    fn roster_len(&self, owner: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Appends an offline message for `username` unless that breaks `quota` (checked and stored
    /// atomically).
    fn push_offline(
        &self,
        username: &str,
        message: &OfflineMessage,
        quota: &OfflineQuota,
    ) -> impl Future<Output = Result<OfflinePush, StoreError>> + Send;
    /// The oldest offline messages of `username`, without removing them: at most `max_messages`
    /// and about `max_bytes` (see [`offline_batch_len`]), so that a login never loads the whole
    /// queue at once.
    fn offline_batch(
        &self,
        username: &str,
        max_messages: usize,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Vec<StoredOffline>, StoreError>> + Send;
    /// Removes the offline messages of `username` up to and including `through_id`; returns how
    /// many went.
    fn delete_offline(&self, username: &str, through_id: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Every pubsub node with its affiliations, subscriptions and items.
    fn pubsub_load(&self) -> impl Future<Output = Result<Vec<StoredNode>, StoreError>> + Send;
    /// Applies a batch of pubsub changes atomically, in order.
    fn pubsub_apply(&self, ops: &[PubSubOp]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The store chosen at run time from configuration.
#[derive(Clone, Debug)]
pub enum AnyStore {
    /// SQLite (the embedded default).
    Sqlite(SqliteStore),
    /// In memory (tests; nothing survives a restart).
    Memory(MemoryStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call.await,
            AnyStore::Memory($s) => $call.await,
        }
    };
}

impl Store for AnyStore {
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
    async fn push_offline(&self, username: &str, message: &OfflineMessage, quota: &OfflineQuota) -> Result<OfflinePush, StoreError> {
        dispatch!(self, s => s.push_offline(username, message, quota))
    }
    async fn offline_batch(&self, username: &str, max_messages: usize, max_bytes: u64) -> Result<Vec<StoredOffline>, StoreError> {
        dispatch!(self, s => s.offline_batch(username, max_messages, max_bytes))
    }
    async fn delete_offline(&self, username: &str, through_id: i64) -> Result<u64, StoreError> {
        dispatch!(self, s => s.delete_offline(username, through_id))
    }
    async fn pubsub_load(&self) -> Result<Vec<StoredNode>, StoreError> {
        dispatch!(self, s => s.pubsub_load())
    }
    async fn pubsub_apply(&self, ops: &[PubSubOp]) -> Result<(), StoreError> {
        dispatch!(self, s => s.pubsub_apply(ops))
    }
}

#[cfg(test)]
mod tests {
    use super::offline_batch_len;

    #[test]
    fn offline_batches_stop_at_either_bound_but_always_progress() {
        assert_eq!(offline_batch_len([10, 10, 10], 2, 100), 2, "count bound");
        assert_eq!(offline_batch_len([10, 10, 10], 10, 25), 2, "byte bound");
        assert_eq!(offline_batch_len([10, 10, 10], 10, 30), 3, "exactly at the byte bound");
        assert_eq!(offline_batch_len([500, 1], 10, 100), 1, "an oversized first message comes alone");
        assert_eq!(offline_batch_len([], 10, 100), 0);
        assert_eq!(offline_batch_len([u64::MAX, 1], 10, u64::MAX), 2, "sizes saturate");
    }
}
