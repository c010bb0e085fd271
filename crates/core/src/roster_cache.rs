//! The roster cache: the roster of every account with a bound session, held in memory so that
//! presence broadcasts, probes and roster gets never read the store. A slot is made when an
//! account binds its first session, filled at first need, kept up to date by every roster
//! change the core makes, and dropped with the account's last session, so the cache is bounded
//! by the live accounts (and each roster by `max_roster_items`). Reads and writes through it are
//! the core's (`roster`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use herald_store::RosterItem;

/// A roster: contact bare JID → item, in contact order (the order a roster get lists).
pub(crate) type Roster = Arc<BTreeMap<String, RosterItem>>;

#[derive(Debug)]
struct Slot {
    /// Stamp of the last change seen (unique across slots, so a slot dropped and made again
    /// never matches a stamp taken from the old one).
    stamp: u64,
    items: Option<Roster>,
}

/// The slots of live accounts, keyed by bare JID. Lives inside the session table, under its lock,
/// so that slots come and go exactly with the accounts' sessions.
#[derive(Debug, Default)]
pub(crate) struct RosterCache {
    slots: HashMap<String, Slot>,
    next_stamp: u64,
}

impl RosterCache {
    fn stamp(&mut self) -> u64 {
        self.next_stamp += 1;
        self.next_stamp
    }

    /// Makes the slot of an account that just bound a session (kept if already there).
    pub(crate) fn open(&mut self, bare: &str) {
        if !self.slots.contains_key(bare) {
            let stamp = self.stamp();
            self.slots.insert(bare.to_owned(), Slot { stamp, items: None });
        }
    }

    /// Drops the slot of an account whose last session ended.
    pub(crate) fn close(&mut self, bare: &str) {
        self.slots.remove(bare);
    }

    /// The cached roster, or the stamp to read the store under (`None`: no live session, so
    /// nothing will be cached).
    pub(crate) fn lookup(&self, bare: &str) -> Result<Roster, Option<u64>> {
        match self.slots.get(bare) {
            Some(Slot { items: Some(items), .. }) => Ok(items.clone()),
            Some(slot) => Err(Some(slot.stamp)),
            None => Err(None),
        }
    }

    /// Caches `items`, read from the store after `stamp` was taken, unless a change came in
    /// since (then what was read may be stale, and the next need reads again).
    pub(crate) fn fill(&mut self, bare: &str, stamp: u64, items: &Roster) {
        if let Some(slot) = self.slots.get_mut(bare)
            && slot.stamp == stamp
            && slot.items.is_none()
        {
            slot.items = Some(items.clone());
        }
    }

    /// Records a change the store already has: `item` replaces the contact's entry, or `None`
    /// removes it.
    pub(crate) fn apply(&mut self, bare: &str, contact: &str, item: Option<&RosterItem>) {
        let stamp = self.stamp();
        let Some(slot) = self.slots.get_mut(bare) else { return };
        slot.stamp = stamp;
        if let Some(items) = &mut slot.items {
            let items = Arc::make_mut(items);
            match item {
                Some(item) => items.insert(contact.to_owned(), item.clone()),
                None => items.remove(contact),
            };
        }
    }

    /// Number of cached rosters (for tests).
    #[cfg(test)]
    fn loaded(&self) -> usize {
        self.slots.values().filter(|s| s.items.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(contacts: &[&str]) -> Roster {
        Arc::new(contacts.iter().map(|c| (c.to_string(), RosterItem { contact: c.to_string(), ..Default::default() })).collect())
    }

    #[test]
    fn only_live_accounts_are_cached_and_closing_drops_them() {
        let mut cache = RosterCache::default();
        assert_eq!(cache.lookup("a@x"), Err(None), "no session: nothing to cache");
        cache.open("a@x");
        let Err(Some(stamp)) = cache.lookup("a@x") else { panic!("an open slot is empty") };
        cache.fill("a@x", stamp, &roster(&["b@x"]));
        assert_eq!(cache.lookup("a@x").unwrap().len(), 1);
        cache.open("a@x");
        assert_eq!(cache.loaded(), 1, "a second session keeps the cached roster");
        cache.close("a@x");
        assert_eq!(cache.loaded(), 0);
        assert_eq!(cache.lookup("a@x"), Err(None));
    }

    #[test]
    fn a_change_during_a_load_keeps_the_stale_read_out() {
        let mut cache = RosterCache::default();
        cache.open("a@x");
        let Err(Some(stamp)) = cache.lookup("a@x") else { panic!() };
        // The store changed after the stamp was taken: what was read may predate it.
        cache.apply("a@x", "c@x", Some(&RosterItem { contact: "c@x".into(), ..Default::default() }));
        cache.fill("a@x", stamp, &roster(&["b@x"]));
        assert!(matches!(cache.lookup("a@x"), Err(Some(_))), "not cached");
        // A slot made again after a close never matches an old stamp.
        cache.close("a@x");
        cache.open("a@x");
        cache.fill("a@x", stamp, &roster(&["b@x"]));
        assert!(cache.lookup("a@x").is_err());
    }

    #[test]
    fn changes_apply_to_a_loaded_roster() {
        let mut cache = RosterCache::default();
        cache.open("a@x");
        let Err(Some(stamp)) = cache.lookup("a@x") else { panic!() };
        cache.fill("a@x", stamp, &roster(&["b@x", "c@x"]));
        let before = cache.lookup("a@x").unwrap();
        cache.apply("a@x", "d@x", Some(&RosterItem { contact: "d@x".into(), name: Some("D".into()), ..Default::default() }));
        cache.apply("a@x", "b@x", None);
        let after = cache.lookup("a@x").unwrap();
        assert_eq!(after.keys().collect::<Vec<_>>(), ["c@x", "d@x"]);
        assert_eq!(after["d@x"].name.as_deref(), Some("D"));
        assert_eq!(before.len(), 2, "a reader's snapshot is not changed under it");
    }
}
