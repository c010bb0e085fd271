//! Rate-limited warnings: a client hammering a limit must not turn the log into its own
//! amplifier. One line per interval ([`herald_proto::LogThrottle`]) per kind of event, saying
//! how many were left out.

use std::sync::Mutex;
use std::time::Instant;

use herald_proto::LogThrottle;

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
#[derive(Debug, Default)]
pub(crate) struct LimitWarnings {
    throttles: Mutex<[LogThrottle; 4]>,
}

impl LimitWarnings {
    /// Logs `message` about `account` at warning level unless a line of this kind was written
    /// within the interval.
    pub(crate) fn warn(&self, kind: LimitKind, account: &str, message: &str) {
        let logged = self.throttles.lock().unwrap_or_else(|e| e.into_inner())[kind as usize].hit(Instant::now());
        // `hit` counts this event too: the others are the ones left out.
        if let Some(suppressed) = logged.map(|n| n - 1) {
            tracing::warn!(target: "notification", account, suppressed, limit = ?kind, "{message}");
        }
    }
}
