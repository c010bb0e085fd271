//! A map whose entries expire and whose size is capped, for the lockout's counters: whatever
//! clients send, it never holds more than its maximum, and expired entries go when they are
//! touched, at a sweep at most once a minute, and before anything is evicted. Time is passed in.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How often a touch sweeps every expired entry out (a full pass over the map).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// One entry and the moment it stops counting.
#[derive(Debug)]
pub(crate) struct Slot<V> {
    pub(crate) value: V,
    pub(crate) expires: Instant,
}

/// A bounded map of expiring entries.
#[derive(Debug)]
pub(crate) struct ExpiringMap<K, V> {
    map: HashMap<K, Slot<V>>,
    max: usize,
    next_sweep: Option<Instant>,
}

impl<K: Hash + Eq, V> ExpiringMap<K, V> {
    /// A map of at most `max` entries (at least one).
    pub(crate) fn new(max: usize) -> Self {
        Self { map: HashMap::new(), max: max.max(1), next_sweep: None }
    }

    /// The live entry for `key`; an expired one is removed instead.
    pub(crate) fn get_mut(&mut self, key: &K, now: Instant) -> Option<&mut Slot<V>> {
        self.maybe_sweep(now);
        if self.map.get(key).is_some_and(|s| s.expires <= now) {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }

    /// The live entry for `key`, created by `fresh` when there is none; makes room first when
    /// the map is full.
    pub(crate) fn get_or_insert(&mut self, key: K, now: Instant, fresh: impl FnOnce() -> Slot<V>) -> &mut Slot<V> {
        if self.get_mut(&key, now).is_none() && self.map.len() >= self.max {
            self.make_room(now);
        }
        self.map.entry(key).or_insert_with(fresh)
    }

    /// Forgets `key`.
    pub(crate) fn remove(&mut self, key: &K) {
        self.map.remove(key);
    }

    /// Entries held (live or not yet swept).
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    fn maybe_sweep(&mut self, now: Instant) {
        if self.next_sweep.is_none_or(|at| now >= at) {
            self.sweep(now);
            self.next_sweep = Some(now + SWEEP_EVERY);
        }
    }

    /// Drops expired entries and gives back memory a burst left behind.
    fn sweep(&mut self, now: Instant) {
        self.map.retain(|_, s| s.expires > now);
        if self.map.capacity() > 64 && self.map.len() < self.map.capacity() / 4 {
            self.map.shrink_to_fit();
        }
    }

    /// Sweeps; if the map is still full, evicts the eighth of it that would expire soonest (a
    /// batch, so that the pass over the map is paid once per many insertions).
    fn make_room(&mut self, now: Instant) {
        self.sweep(now);
        if self.map.len() < self.max {
            return;
        }
        let evict = (self.max / 8).max(1);
        let mut expiries: Vec<Instant> = self.map.values().map(|s| s.expires).collect();
        let cutoff = *expiries.select_nth_unstable(evict - 1).1;
        let mut removed = 0;
        self.map.retain(|_, s| {
            let goes = removed < evict && s.expires <= cutoff;
            removed += usize::from(goes);
            !goes
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(v: u32, expires: Instant) -> Slot<u32> {
        Slot { value: v, expires }
    }

    #[test]
    fn expired_entries_vanish_when_touched() {
        let t0 = Instant::now();
        let mut m = ExpiringMap::new(10);
        m.get_or_insert("a", t0, || slot(1, t0 + Duration::from_secs(5)));
        assert_eq!(m.get_mut(&"a", t0 + Duration::from_secs(4)).map(|s| s.value), Some(1));
        assert!(m.get_mut(&"a", t0 + Duration::from_secs(5)).is_none());
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn the_sweep_drops_every_expired_entry() {
        let t0 = Instant::now();
        let mut m = ExpiringMap::new(1000);
        for i in 0..100u32 {
            m.get_or_insert(i, t0, || slot(i, t0 + Duration::from_secs(10)));
        }
        m.get_or_insert(1000, t0, || slot(0, t0 + Duration::from_secs(600)));
        assert_eq!(m.len(), 101);
        // Touching an unrelated key after the sweep interval clears the expired ones.
        assert!(m.get_mut(&5000, t0 + SWEEP_EVERY + Duration::from_secs(1)).is_none());
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn a_full_map_evicts_what_expires_soonest() {
        let t0 = Instant::now();
        let mut m = ExpiringMap::new(16);
        for i in 0..16u32 {
            m.get_or_insert(i, t0, || slot(i, t0 + Duration::from_secs(100 + u64::from(i))));
        }
        m.get_or_insert(99, t0, || slot(99, t0 + Duration::from_secs(500)));
        assert!(m.len() <= 16);
        // The two soonest to expire (an eighth of 16) went; the newest is there.
        assert!(m.get_mut(&0, t0).is_none() && m.get_mut(&1, t0).is_none());
        assert!(m.get_mut(&2, t0).is_some() && m.get_mut(&99, t0).is_some());
        for i in 0..10_000u32 {
            m.get_or_insert(1000 + i, t0, || slot(i, t0 + Duration::from_secs(50)));
            assert!(m.len() <= 16);
        }
    }
}
