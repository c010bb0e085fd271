//! The in-memory store: the reference behaviour in the fewest lines, for tests. All domains
//! share one lock, so that deleting a user removes its roster, offline messages and
//! contact-center user atomically; each domain's trait is implemented in its own module.

mod accounts;
mod contact_center;
mod offline;
mod pubsub;
mod roster;
mod session_records;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::{CloseRecord, RosterItem, StoredCredential, StoredNode, StoredOffline};
use contact_center::CcData;

#[derive(Default, Debug)]
struct Data {
    users: BTreeMap<String, Vec<StoredCredential>>,
    rosters: HashMap<String, BTreeMap<String, RosterItem>>,
    offline: HashMap<String, Vec<StoredOffline>>,
    next_offline_id: i64,
    nodes: BTreeMap<String, StoredNode>,
    cc: CcData,
    close_records: Vec<CloseRecord>,
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
