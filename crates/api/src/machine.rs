//! The contact center as the drivers share it: the sans-IO machine behind a mutex, with the
//! channel its effects leave by, the wall clock every call is given, and the task that calls
//! its timeout when its deadline passes (presence-logout graces, the CTI link's heartbeat
//! deadline).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use herald_cc::{ContactCenter, Effect};
use herald_cti::EpochMs;
use tokio::sync::{Notify, mpsc};

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
    /// Wakes the timer task when a call moved the machine's deadline before the one it sleeps to.
    rearm: Notify,
    /// The deadline the timer task sleeps to (`u64::MAX`: none).
    armed: AtomicU64,
}

impl Machine {
    /// The machine, its effects sent to `effects`.
    pub(crate) fn new(cc: ContactCenter, effects: mpsc::UnboundedSender<Effect>) -> Self {
        Self { cc: Mutex::new(cc), effects, rearm: Notify::new(), armed: AtomicU64::new(u64::MAX) }
    }

    /// Runs `f` on the contact center, then queues the effects it emitted, in order.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut ContactCenter) -> R) -> R {
        let (result, deadline) = {
            let mut cc = self.cc.lock().unwrap_or_else(|e| e.into_inner());
            let result = f(&mut cc);
            while let Some(effect) = cc.poll_effect() {
                // The executor only stops with the service; effects after that have nowhere to go.
                let _ = self.effects.send(effect);
            }
            (result, cc.poll_timeout())
        };
        if deadline.is_some_and(|at| at < self.armed.load(Ordering::Acquire)) {
            self.rearm.notify_one();
        }
        result
    }

    /// Calls the machine's timeout whenever its deadline passes, for ever (the service aborts
    /// the task when it stops). An exact timer: it sleeps until the earliest deadline, and is
    /// woken when a call brings a deadline before it (a later one it finds when it wakes).
    pub(crate) async fn run_timers(&self) {
        loop {
            let deadline = self.arm();
            let now = now_ms();
            match deadline {
                Some(at) if at <= now => self.with(|cc| cc.handle_timeout(now)),
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(at - now)) => {}
                        () = self.rearm.notified() => {}
                    }
                }
                None => self.rearm.notified().await,
            }
        }
    }

    /// The machine's deadline, recorded as the one the timer task sleeps to under the lock, so
    /// that a call after it that brings an earlier one is sure to wake the task.
    fn arm(&self) -> Option<EpochMs> {
        let cc = self.cc.lock().unwrap_or_else(|e| e.into_inner());
        let deadline = cc.poll_timeout();
        self.armed.store(deadline.unwrap_or(u64::MAX), Ordering::Release);
        deadline
    }
}
