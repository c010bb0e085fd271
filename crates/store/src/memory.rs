//! The in-memory store: the reference behaviour in the fewest lines, for tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::{
    OfflineMessage, OfflinePush, OfflineQuota, PubSubOp, RosterItem, Store, StoreError, StoredCredential, StoredNode, StoredOffline,
    offline_batch_len,
};

#[derive(Default, Debug)]
struct Data {
    users: BTreeMap<String, Vec<StoredCredential>>,
    rosters: HashMap<String, BTreeMap<String, RosterItem>>,
    offline: HashMap<String, Vec<StoredOffline>>,
    next_offline_id: i64,
    nodes: BTreeMap<String, StoredNode>,
}

fn apply(nodes: &mut BTreeMap<String, StoredNode>, op: &PubSubOp) {
    match op {
        PubSubOp::PutNode { name, config } => {
            let node = nodes.entry(name.clone()).or_insert_with(|| StoredNode { name: name.clone(), ..Default::default() });
            node.config = config.clone();
        }
        PubSubOp::DeleteNode { name } => {
            nodes.remove(name);
        }
        PubSubOp::PutAffiliation { node, jid, affiliation } => {
            if let Some(n) = nodes.get_mut(node) {
                n.affiliations.retain(|(j, _)| j != jid);
                n.affiliations.push((jid.clone(), affiliation.clone()));
            }
        }
        PubSubOp::DeleteAffiliation { node, jid } => {
            if let Some(n) = nodes.get_mut(node) {
                n.affiliations.retain(|(j, _)| j != jid);
            }
        }
        PubSubOp::PutSubscription { node, subscription } => {
            if let Some(n) = nodes.get_mut(node) {
                n.subscriptions.retain(|s| s.subid != subscription.subid);
                n.subscriptions.push(subscription.clone());
            }
        }
        PubSubOp::DeleteSubscription { node, subid } => {
            if let Some(n) = nodes.get_mut(node) {
                n.subscriptions.retain(|s| &s.subid != subid);
            }
        }
        PubSubOp::PutItem { node, item, keep } => {
            if let Some(n) = nodes.get_mut(node) {
                n.items.retain(|i| i.id != item.id);
                n.items.push(item.clone());
                n.items.sort_by_key(|i| i.seq);
                let keep = keep.map_or(usize::MAX, |k| usize::try_from(k).unwrap_or(usize::MAX));
                let excess = n.items.len().saturating_sub(keep);
                n.items.drain(..excess);
                n.next_seq = n.next_seq.max(item.seq + 1);
            }
        }
        PubSubOp::DeleteItem { node, id } => {
            if let Some(n) = nodes.get_mut(node) {
                n.items.retain(|i| &i.id != id);
            }
        }
        PubSubOp::Purge { node } => {
            if let Some(n) = nodes.get_mut(node) {
                n.items.clear();
            }
        }
    }
}

/// A store that lives as long as the process.
#[derive(Clone, Default, Debug)]
pub struct MemoryStore {
    data: Arc<Mutex<Data>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Data) -> T) -> T {
        f(&mut self.data.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Store for MemoryStore {
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
            d.users.remove(username).is_some()
        }))
    }

    async fn list_users(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.with(|d| d.users.keys().cloned().collect()))
    }

    async fn credentials(&self, username: &str) -> Result<Option<Vec<StoredCredential>>, StoreError> {
        Ok(self.with(|d| d.users.get(username).cloned()))
    }

    async fn roster(&self, owner: &str) -> Result<Vec<RosterItem>, StoreError> {
        Ok(self.with(|d| d.rosters.get(owner).map(|r| r.values().cloned().collect()).unwrap_or_default()))
    }

    async fn roster_item(&self, owner: &str, contact: &str) -> Result<Option<RosterItem>, StoreError> {
        Ok(self.with(|d| d.rosters.get(owner).and_then(|r| r.get(contact)).cloned()))
    }

    async fn put_roster_item(&self, owner: &str, item: &RosterItem) -> Result<(), StoreError> {
        self.with(|d| d.rosters.entry(owner.into()).or_default().insert(item.contact.clone(), item.clone()));
        Ok(())
    }

    async fn delete_roster_item(&self, owner: &str, contact: &str) -> Result<bool, StoreError> {
        Ok(self.with(|d| d.rosters.get_mut(owner).and_then(|r| r.remove(contact)).is_some()))
    }

    async fn roster_len(&self, owner: &str) -> Result<u64, StoreError> {
        Ok(self.with(|d| d.rosters.get(owner).map_or(0, |r| r.len() as u64)))
    }

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

    async fn pubsub_load(&self) -> Result<Vec<StoredNode>, StoreError> {
        Ok(self.with(|d| d.nodes.values().cloned().collect()))
    }

    async fn pubsub_apply(&self, ops: &[PubSubOp]) -> Result<(), StoreError> {
        self.with(|d| {
            for op in ops {
                apply(&mut d.nodes, op);
            }
        });
        Ok(())
    }
}
