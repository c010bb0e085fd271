//! The server's one stop signal, and its count of what is still running. A [`Shutdown`] is held
//! by every listener, connection and session task: it resolves [`Shutdown::recv`] when the
//! server stops, and the [`ShutdownTrigger`] that made it learns that every task has ended when
//! the last copy is dropped (as mini-redis pairs its broadcast with a completion channel, here
//! in one value so that nothing can hold one half and forget the other).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

/// What the tasks hold: cheap to clone (one pointer, as the completion sender it replaces), and
/// counted until dropped.
#[derive(Clone)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

struct Inner {
    /// Turns true when the server stops.
    signal: watch::Receiver<bool>,
    /// Dropped with the last [`Shutdown`]: how the trigger learns that every task has ended.
    _alive: mpsc::Sender<()>,
}

impl Shutdown {
    /// Resolves once the server is stopping (at once if it already is), and also if the
    /// trigger is gone without a word (a server that no longer exists is stopping). Cancel-safe:
    /// it may be polled afresh in every turn of a `select!` loop.
    pub async fn recv(&self) {
        let mut signal = self.inner.signal.clone();
        let _ = signal.wait_for(|stopping| *stopping).await;
    }

    /// Whether the server is stopping.
    pub fn is_shutdown(&self) -> bool {
        *self.inner.signal.borrow()
    }
}

/// The server's side: tells every [`Shutdown`] to stop, then waits for all of them to be gone.
pub struct ShutdownTrigger {
    signal: watch::Sender<bool>,
    all_done: mpsc::Receiver<()>,
}

impl ShutdownTrigger {
    /// A trigger and the first listener, to be cloned into every task.
    pub fn new() -> (Self, Shutdown) {
        let (signal, listener) = watch::channel(false);
        let (alive, all_done) = mpsc::channel(1);
        (Self { signal, all_done }, Shutdown { inner: Arc::new(Inner { signal: listener, _alive: alive }) })
    }

    /// Tells every listener that the server is stopping.
    pub fn trigger(&self) {
        self.signal.send_replace(true);
    }

    /// Waits until every [`Shutdown`] has been dropped, for at most `grace`; `false` when some
    /// task was still running then.
    pub async fn wait(mut self, grace: Duration) -> bool {
        tokio::time::timeout(grace, self.all_done.recv()).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn listeners_hear_the_trigger_and_the_trigger_hears_them_end() {
        let (trigger, shutdown) = ShutdownTrigger::new();
        let task = shutdown.clone();
        let ended = tokio::spawn(async move {
            task.recv().await;
            // Level-triggered: a second wait (the next turn of a loop) resolves at once too.
            task.recv().await;
            task.is_shutdown()
        });
        assert!(!shutdown.is_shutdown());
        tokio::task::yield_now().await;
        assert!(!ended.is_finished());
        trigger.trigger();
        assert!(ended.await.unwrap());
        let late = shutdown.clone();
        late.recv().await;
        drop((shutdown, late));
        assert!(trigger.wait(Duration::from_secs(1)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_gives_up_on_a_task_that_never_ends() {
        let (trigger, shutdown) = ShutdownTrigger::new();
        trigger.trigger();
        assert!(!trigger.wait(Duration::from_secs(10)).await);
        drop(shutdown);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_trigger_stops_every_listener() {
        let (trigger, shutdown) = ShutdownTrigger::new();
        drop(trigger);
        shutdown.recv().await;
    }
}
