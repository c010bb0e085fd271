//! The pacing and progress every scenario shares: when each session may log in (ramp rate and
//! concurrency), waiting for the logins with a progress line, and recording failures.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Options;
use crate::report::Report;

/// When session `n` may start logging in: its turn at the ramp rate (from `started`), and a free
/// slot among the `concurrency` logins in progress.
pub(crate) async fn login_slot(opts: &Options, n: usize, started: Instant, slots: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    if opts.ramp_per_sec > 0.0 {
        tokio::time::sleep_until((started + Duration::from_secs_f64(n as f64 / opts.ramp_per_sec)).into()).await;
    }
    slots.clone().acquire_owned().await.expect("never closed")
}

/// Waits until every session has logged in or failed (or the deadline passes), with a progress
/// line, and records the count and the time taken.
pub(crate) async fn wait_for_logins(
    report: &mut Report,
    logged_in: &AtomicUsize,
    failed: &AtomicUsize,
    started: Instant,
    deadline: Instant,
) {
    while logged_in.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < report.sessions && Instant::now() < deadline {
        progress(logged_in, failed, report.sessions, started, "\r");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    progress(logged_in, failed, report.sessions, started, "\n");
    report.login_time = started.elapsed();
    report.logged_in = logged_in.load(Ordering::Relaxed);
    report.failed = failed.load(Ordering::Relaxed);
}

/// The progress line: `\r` to overwrite it, `\n` to end it.
fn progress(logged_in: &AtomicUsize, failed: &AtomicUsize, of: usize, started: Instant, end: &str) {
    let (ok, bad) = (logged_in.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprint!("\r  logged in {ok} / {of}, failed {bad}, {:.1} s   {}", started.elapsed().as_secs_f64(), if end == "\n" { "\n" } else { "" });
}

pub(crate) fn record_failure(failed: &AtomicUsize, first: &Mutex<Option<String>>, error: String) {
    failed.fetch_add(1, Ordering::Relaxed);
    let mut first = first.lock().unwrap_or_else(|e| e.into_inner());
    if first.is_none() {
        *first = Some(error);
    }
}
