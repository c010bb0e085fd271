//! Contact-center configuration in memory.

use std::collections::BTreeMap;

use super::{Data, MemoryStore};
use crate::{ContactCenterStore, RosterItem, StoreError, StoredCcUser, StoredCredential, StoredQueue, StoredReasonCode, StoredTeam};

/// The contact-center part of the memory store's data.
#[derive(Default, Debug)]
pub(super) struct CcData {
    pub(super) users: BTreeMap<String, StoredCcUser>,
    teams: BTreeMap<String, StoredTeam>,
    queues: BTreeMap<String, StoredQueue>,
    reason_codes: BTreeMap<u32, StoredReasonCode>,
    scenario_applied: bool,
}

/// Refuses the first user of `users` that has no account.
fn check_accounts<'a>(d: &Data, users: impl IntoIterator<Item = &'a str>) -> Result<(), StoreError> {
    match users.into_iter().find(|u| !d.users.contains_key(*u)) {
        Some(missing) => Err(StoreError::NoSuchUser(missing.into())),
        None => Ok(()),
    }
}

impl ContactCenterStore for MemoryStore {
    async fn cc_put_user(&self, user: &StoredCcUser) -> Result<(), StoreError> {
        self.cc_put_users(std::slice::from_ref(user)).await
    }

    async fn cc_put_users(&self, users: &[StoredCcUser]) -> Result<(), StoreError> {
        self.with(|d| {
            check_accounts(d, users.iter().map(|u| u.login_id.as_str()))?;
            for user in users {
                d.cc.users.insert(user.login_id.clone(), user.clone());
            }
            Ok(())
        })
    }

    async fn cc_create_accounts(&self, accounts: &[(String, Vec<StoredCredential>)]) -> Result<u64, StoreError> {
        Ok(self.with(|d| {
            let mut created = 0;
            for (name, credentials) in accounts {
                if !d.users.contains_key(name) {
                    d.users.insert(name.clone(), credentials.clone());
                    created += 1;
                }
            }
            created
        }))
    }

    async fn cc_users(&self) -> Result<Vec<StoredCcUser>, StoreError> {
        Ok(self.with(|d| d.cc.users.values().cloned().collect()))
    }

    async fn cc_put_team(&self, team: &StoredTeam) -> Result<(), StoreError> {
        self.with(|d| d.cc.teams.insert(team.id.clone(), team.clone()));
        Ok(())
    }

    async fn cc_teams(&self) -> Result<Vec<StoredTeam>, StoreError> {
        Ok(self.with(|d| d.cc.teams.values().cloned().collect()))
    }

    async fn cc_put_queue(&self, queue: &StoredQueue) -> Result<(), StoreError> {
        self.with(|d| d.cc.queues.insert(queue.id.clone(), queue.clone()));
        Ok(())
    }

    async fn cc_queues(&self) -> Result<Vec<StoredQueue>, StoreError> {
        Ok(self.with(|d| d.cc.queues.values().cloned().collect()))
    }

    async fn cc_put_reason_code(&self, code: &StoredReasonCode) -> Result<(), StoreError> {
        self.with(|d| d.cc.reason_codes.insert(code.id, code.clone()));
        Ok(())
    }

    async fn cc_reason_codes(&self) -> Result<Vec<StoredReasonCode>, StoreError> {
        Ok(self.with(|d| d.cc.reason_codes.values().cloned().collect()))
    }

    async fn cc_scenario_applied(&self) -> Result<bool, StoreError> {
        Ok(self.with(|d| d.cc.scenario_applied))
    }

    async fn cc_mark_scenario_applied(&self) -> Result<(), StoreError> {
        self.with(|d| d.cc.scenario_applied = true);
        Ok(())
    }

    async fn cc_put_roster_items(&self, items: &[(String, RosterItem)]) -> Result<(), StoreError> {
        self.with(|d| {
            check_accounts(d, items.iter().map(|(owner, _)| owner.as_str()))?;
            for (owner, item) in items {
                d.rosters.entry(owner.clone()).or_default().insert(item.contact.clone(), item.clone());
            }
            Ok(())
        })
    }

    async fn cc_roster_items_naming(&self, contact: &str) -> Result<Vec<(String, RosterItem)>, StoreError> {
        Ok(self.with(|d| {
            let mut found: Vec<(String, RosterItem)> =
                d.rosters.iter().filter_map(|(owner, r)| r.get(contact).map(|i| (owner.clone(), i.clone()))).collect();
            found.sort_by(|a, b| a.0.cmp(&b.0));
            found
        }))
    }
}
