//! Close records in memory, in the order they were added.

use super::MemoryStore;
use crate::{CloseRecord, SessionRecordStore, StoreError};

impl SessionRecordStore for MemoryStore {
    async fn add_close_records(&self, records: &[CloseRecord]) -> Result<(), StoreError> {
        self.with(|d| d.close_records.extend_from_slice(records));
        Ok(())
    }

    async fn close_records(&self, user: Option<&str>, since_ms: u64, limit: usize) -> Result<Vec<CloseRecord>, StoreError> {
        Ok(self.with(|d| {
            let mut found: Vec<CloseRecord> =
                d.close_records.iter().filter(|r| r.closed_ms >= since_ms && user.is_none_or(|u| r.user == u)).cloned().collect();
            // Stable: records closed in the same millisecond stay newest (last added) first.
            found.reverse();
            found.sort_by_key(|r| std::cmp::Reverse(r.closed_ms));
            found.truncate(limit);
            found
        }))
    }

    async fn prune_close_records(&self, keep: u64) -> Result<u64, StoreError> {
        Ok(self.with(|d| {
            let keep = usize::try_from(keep).unwrap_or(usize::MAX);
            if d.close_records.len() <= keep {
                return 0;
            }
            // Oldest closed first; ties keep insertion order.
            d.close_records.sort_by_key(|r| r.closed_ms);
            let gone = d.close_records.len() - keep;
            d.close_records.drain(..gone);
            gone as u64
        }))
    }
}
