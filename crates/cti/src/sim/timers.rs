//! The simulator's timers: one ordered map of deadlines, so that the next deadline and the due
//! timers cost a log, whatever the number of agents and calls, and any timer can be cancelled
//! by the key its owner keeps.

use std::collections::BTreeMap;

use crate::{CallId, EpochMs};

/// What a deadline means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Timer {
    /// The next Poisson arrival in a queue (queue index).
    Arrival(usize),
    /// A routed call was not answered in time.
    Rona(CallId),
    /// The customer (or outside party) of a call hangs up.
    Hangup(CallId),
    /// The outside party of a call answers.
    OutsideAnswer(CallId),
    /// An agent's wrap-up ends (agent index).
    WrapUp(usize),
    /// Queue statistics are due.
    Stats,
    /// A heartbeat is due.
    Heartbeat,
}

/// Identifies one scheduled timer, for cancelling it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct TimerKey(EpochMs, u64);

/// Deadlines in order of time, then of scheduling.
#[derive(Debug, Default)]
pub(super) struct Timers {
    due: BTreeMap<TimerKey, Timer>,
    seq: u64,
}

impl Timers {
    /// Schedules `timer` at `at`.
    pub(super) fn add(&mut self, at: EpochMs, timer: Timer) -> TimerKey {
        self.seq += 1;
        let key = TimerKey(at, self.seq);
        self.due.insert(key, timer);
        key
    }

    /// Cancels a timer (nothing if it already fired).
    pub(super) fn cancel(&mut self, key: Option<TimerKey>) {
        if let Some(key) = key {
            self.due.remove(&key);
        }
    }

    /// The earliest deadline.
    pub(super) fn next(&self) -> Option<EpochMs> {
        self.due.keys().next().map(|k| k.0)
    }

    /// Removes and returns the earliest timer due at or before `now`, with its deadline.
    pub(super) fn pop_due(&mut self, now: EpochMs) -> Option<(EpochMs, Timer)> {
        let (&key, _) = self.due.iter().next()?;
        if key.0 > now {
            return None;
        }
        self.due.remove(&key).map(|t| (key.0, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_cancel() {
        let mut t = Timers::default();
        let a = t.add(20, Timer::Stats);
        t.add(10, Timer::Heartbeat);
        t.add(20, Timer::WrapUp(3));
        assert_eq!(t.next(), Some(10));
        assert_eq!(t.pop_due(9), None);
        assert_eq!(t.pop_due(30), Some((10, Timer::Heartbeat)));
        t.cancel(Some(a));
        assert_eq!(t.pop_due(30), Some((20, Timer::WrapUp(3))));
        assert_eq!(t.pop_due(30), None);
        assert_eq!(t.next(), None);
    }
}
