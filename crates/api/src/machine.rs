//! The contact center as the drivers share it: the sans-IO machine behind a mutex, with the
//! channel its effects leave by, and the wall clock every call is given.

use std::sync::Mutex;

use herald_cc::{ContactCenter, Effect};
use herald_cti::EpochMs;
use tokio::sync::mpsc;

/// Milliseconds since the Unix epoch by the wall clock: the `now` every sans-IO call gets (and
/// the one a CTI machine is built with).
pub fn now_ms() -> EpochMs {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The contact center and the channel its effects leave by. Every call goes through
/// [`Machine::with`], which drains the effects under the same lock: they reach the executor in
/// the order the machine emitted them, whichever task caused them.
pub(crate) struct Machine {
    cc: Mutex<ContactCenter>,
    effects: mpsc::UnboundedSender<Effect>,
}

impl Machine {
    /// The machine, its effects sent to `effects`.
    pub(crate) fn new(cc: ContactCenter, effects: mpsc::UnboundedSender<Effect>) -> Self {
        Self { cc: Mutex::new(cc), effects }
    }

    /// Runs `f` on the contact center, then queues the effects it emitted, in order.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut ContactCenter) -> R) -> R {
        let mut cc = self.cc.lock().unwrap_or_else(|e| e.into_inner());
        let result = f(&mut cc);
        while let Some(effect) = cc.poll_effect() {
            // The executor only stops with the service; effects after that have nowhere to go.
            let _ = self.effects.send(effect);
        }
        result
    }
}
