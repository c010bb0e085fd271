//! Rate-limited warnings: a client hammering a limit must not turn the log into its own
//! amplifier. One line per interval per kind of event, saying how many were left out.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Decides, from the instants it is given, whether a warning may be logged now.
#[derive(Debug)]
pub(crate) struct Throttle {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    pub(crate) fn new(interval: Duration) -> Self {
        Self { interval, last: None, suppressed: 0 }
    }

    /// `Some(n)` when a line may be written at `now` (`n` events were left out since the last
    /// one); `None` when this event is only counted.
    pub(crate) fn allow(&mut self, now: Instant) -> Option<u64> {
        if self.last.is_some_and(|last| now.saturating_duration_since(last) < self.interval) {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// The limits of this module's slice, each with its own throttle so that one noisy kind does
/// not hide another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LimitKind {
    Offline,
    Roster,
    Directed,
    Resources,
}

/// One throttle per [`LimitKind`], shared by every task of the core.
#[derive(Debug)]
pub(crate) struct LimitWarnings {
    throttles: Mutex<[Throttle; 4]>,
}

/// How often each kind of limit may be logged.
const WARN_INTERVAL: Duration = Duration::from_secs(10);

impl Default for LimitWarnings {
    fn default() -> Self {
        Self { throttles: Mutex::new(std::array::from_fn(|_| Throttle::new(WARN_INTERVAL))) }
    }
}

impl LimitWarnings {
    /// Logs `message` about `account` at warning level unless a line of this kind was written
    /// within the interval.
    pub(crate) fn warn(&self, kind: LimitKind, account: &str, message: &str) {
        let allowed = self.throttles.lock().unwrap_or_else(|e| e.into_inner())[kind as usize].allow(Instant::now());
        if let Some(suppressed) = allowed {
            tracing::warn!(target: "notification", account, suppressed, limit = ?kind, "{message}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_counting_the_rest() {
        let start = Instant::now();
        let mut t = Throttle::new(Duration::from_secs(10));
        assert_eq!(t.allow(start), Some(0));
        assert_eq!(t.allow(start + Duration::from_secs(1)), None);
        assert_eq!(t.allow(start + Duration::from_secs(9)), None);
        assert_eq!(t.allow(start + Duration::from_secs(10)), Some(2));
        assert_eq!(t.allow(start + Duration::from_secs(11)), None);
        assert_eq!(t.allow(start + Duration::from_secs(30)), Some(1));
    }
}
