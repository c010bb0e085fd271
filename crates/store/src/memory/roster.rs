//! Rosters in memory.

use super::MemoryStore;
use crate::{RosterItem, RosterStore, StoreError};

impl RosterStore for MemoryStore {
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
}
