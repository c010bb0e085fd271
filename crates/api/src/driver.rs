//! The CTI driver: the task that runs a sans-IO [`CtiMachine`] on the wall clock. It feeds the
//! machine the requests the contact center emits, calls its timeout when its deadline passes,
//! and hands every event it produces to the contact center. [`CtiHandle`] runs code on the
//! machine from elsewhere (the simulator's call injection) with the same draining afterwards.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use herald_cti::{CtiEvent, CtiMachine, CtiRequest, EpochMs};
use tokio::sync::{Notify, mpsc};

use crate::machine::{Machine, now_ms};

/// What the driver and the handles share: the CTI machine and the contact center its events go
/// to. Lock order: the CTI machine, then the contact center.
struct Shared<M> {
    cti: Mutex<M>,
    cc: Arc<Machine>,
    /// Woken when a handle changed the machine's deadline.
    rearm: Notify,
}

impl<M: CtiMachine> Shared<M> {
    fn cti(&self) -> MutexGuard<'_, M> {
        self.cti.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drains the machine's events into the contact center (the CTI lock held by the caller).
    fn drain(&self, cti: &mut M, now: EpochMs) {
        let events: Vec<CtiEvent> = std::iter::from_fn(|| cti.poll_event()).collect();
        for event in &events {
            log_event(event);
        }
        if !events.is_empty() {
            self.cc.with(|cc| events.into_iter().for_each(|event| cc.handle_cti(now, event)));
        }
    }
}

/// Runs closures on the CTI machine behind the driver, as the driver itself would: the events
/// they cause reach the contact center at once and the driver's timer follows the machine's new
/// deadline. Cheap to clone.
pub struct CtiHandle<M> {
    shared: Arc<Shared<M>>,
}

impl<M> Clone for CtiHandle<M> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<M: CtiMachine + 'static> CtiHandle<M> {
    /// Runs `f` on the machine with the current time, then hands the events it caused to the
    /// contact center and re-arms the driver's timer. Works whether or not the driver still runs.
    pub async fn with<R>(&self, f: impl FnOnce(&mut M, EpochMs) -> R + Send + 'static) -> R {
        let now = now_ms();
        let result = {
            let mut cti = self.shared.cti();
            let result = f(&mut cti, now);
            self.shared.drain(&mut cti, now);
            result
        };
        self.shared.rearm.notify_one();
        result
    }
}

/// Starts the driver task over `cti`: it takes requests from `requests` until that channel
/// closes (the service stopped).
pub(crate) fn spawn<M: CtiMachine + 'static>(
    cti: M,
    cc: Arc<Machine>,
    mut requests: mpsc::UnboundedReceiver<CtiRequest>,
) -> (CtiHandle<M>, tokio::task::JoinHandle<()>) {
    let shared = Arc::new(Shared { cti: Mutex::new(cti), cc, rearm: Notify::new() });
    let handle = CtiHandle { shared: shared.clone() };
    let task = tokio::spawn(async move {
        // The seed's troubleshooting greps every service's start and stop lines; the stop line
        // is written however the task ends (its channel closed, or aborted by the service's stop).
        tracing::info!(target: "webservices", "CTI link service started");
        let _stopped = StopLine;
        // What the machine reported before the driver ran (the snapshot a CTI side sends when
        // its link comes up) goes to the contact center at once.
        {
            let mut cti = shared.cti();
            shared.drain(&mut cti, now_ms());
        }
        loop {
            let deadline = shared.cti().poll_timeout();
            let sleep = deadline.map(|at| Duration::from_millis(at.saturating_sub(now_ms())));
            tokio::select! {
                request = requests.recv() => {
                    let Some(first) = request else { break };
                    let now = now_ms();
                    let mut cti = shared.cti();
                    tracing::debug!(target: "webservices", request = ?first, "to the CTI side");
                    cti.handle_request(now, first);
                    while let Ok(next) = requests.try_recv() {
                        tracing::debug!(target: "webservices", request = ?next, "to the CTI side");
                        cti.handle_request(now, next);
                    }
                    shared.drain(&mut cti, now);
                }
                () = async { if let Some(d) = sleep { tokio::time::sleep(d).await } else { std::future::pending().await } } => {
                    let now = now_ms();
                    let mut cti = shared.cti();
                    if cti.poll_timeout().is_some_and(|at| at <= now) {
                        cti.handle_timeout(now);
                    }
                    shared.drain(&mut cti, now);
                }
                () = shared.rearm.notified() => {}
            }
        }
    });
    (handle, task)
}

/// Writes `CTI link service stopped` when the driver task ends or is dropped.
struct StopLine;

impl Drop for StopLine {
    fn drop(&mut self) {
        tracing::info!(target: "webservices", "CTI link service stopped");
    }
}

/// The web-services log of what the CTI side reports: each agent state event (the decoded
/// event the seed's troubleshooting reads) and call event at debug, as thousands a second would
/// flood info; refusals, which an operator asks about, at info.
fn log_event(event: &CtiEvent) {
    match event {
        CtiEvent::Agent { tag, snapshot } => tracing::debug!(
            target: "webservices",
            agent = snapshot.agent,
            state = snapshot.state.name(),
            pending = snapshot.pending.map_or("", |p| p.name()),
            reason_code = snapshot.reason_code.map_or(-1, i64::from),
            extension = snapshot.extension.as_deref().unwrap_or(""),
            tag = tag.map(|t| t.0),
            "agent state event from the CTI side"
        ),
        CtiEvent::Failure { tag, failure } => tracing::info!(
            target: "webservices",
            tag = tag.0,
            error_type = failure.kind,
            error_message = failure.constant,
            error_data = failure.code,
            "the CTI side refused a request"
        ),
        CtiEvent::Call { snapshot, .. } => {
            tracing::debug!(target: "webservices", call = snapshot.id, state = snapshot.state.name(), "call event from the CTI side")
        }
        CtiEvent::CallEnded { call, agents, .. } => tracing::debug!(target: "webservices", call, ?agents, "call ended"),
        CtiEvent::QueueStats(_) | CtiEvent::Heartbeat | CtiEvent::Snapshot { .. } => {}
        CtiEvent::LinkLost => tracing::warn!(target: "webservices", "the CTI adapter lost its connection"),
    }
}
