//! Offline messages: stanzas kept for a user with no session, within per-recipient and
//! per-sender quotas, delivered in bounded batches at the next login.

use std::future::Future;

use crate::StoreError;

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
    /// Increases with every message stored; [`OfflineStore::delete_offline`] removes up to one.
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

/// Each user's queue of offline messages. Pushing checks the quotas and stores atomically;
/// reading a batch removes nothing until the caller has delivered it and deletes it.
pub trait OfflineStore: Send + Sync {
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
