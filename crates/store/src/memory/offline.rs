//! Offline message queues in memory.

use super::MemoryStore;
use crate::{OfflineMessage, OfflinePush, OfflineQuota, OfflineStore, StoreError, StoredOffline, offline_batch_len};

impl OfflineStore for MemoryStore {
    async fn push_offline(&self, username: &str, message: &OfflineMessage, quota: &OfflineQuota) -> Result<OfflinePush, StoreError> {
        let size = message.stanza.len() as u64;
        Ok(self.with(|d| {
            let bytes = |m: &StoredOffline| m.message.stanza.len() as u64;
            let queue = d.offline.get(username).map_or(&[][..], Vec::as_slice);
            let recipient_bytes: u64 = queue.iter().map(bytes).sum();
            if queue.len() as u64 >= quota.max_messages || recipient_bytes + size > quota.max_bytes {
                return OfflinePush::RecipientFull;
            }
            let sender_bytes: u64 = d.offline.values().flatten().filter(|m| m.message.sender == message.sender).map(bytes).sum();
            if sender_bytes + size > quota.max_sender_bytes {
                return OfflinePush::SenderFull;
            }
            d.next_offline_id += 1;
            let stored = StoredOffline { id: d.next_offline_id, message: message.clone() };
            d.offline.entry(username.into()).or_default().push(stored);
            OfflinePush::Stored
        }))
    }

    async fn offline_batch(&self, username: &str, max_messages: usize, max_bytes: u64) -> Result<Vec<StoredOffline>, StoreError> {
        Ok(self.with(|d| {
            let queue = d.offline.get(username).map_or(&[][..], Vec::as_slice);
            let len = offline_batch_len(queue.iter().map(|m| m.message.stanza.len() as u64), max_messages, max_bytes);
            queue[..len].to_vec()
        }))
    }

    async fn delete_offline(&self, username: &str, through_id: i64) -> Result<u64, StoreError> {
        Ok(self.with(|d| {
            let Some(queue) = d.offline.get_mut(username) else { return 0 };
            let before = queue.len();
            queue.retain(|m| m.id > through_id);
            let removed = (before - queue.len()) as u64;
            if queue.is_empty() {
                d.offline.remove(username);
            }
            removed
        }))
    }
}
