//! One state change from request to Update ([`send`]), and the measured phase that sends them at
//! the run's rate, round-robin over the signed-in agents ([`drive`]), with its tallies.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::pace::{RoundRobin, due, percentile_ms};
use super::rest::UserChange;
use super::{AgentFigures, LOSS_TIMEOUT, Run};
use crate::LoadError;

/// What became of a change.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Accepted (202) and its Update reached the agent's desktop after `latency`.
    Seen {
        /// From just before the request was sent to the Update's arrival.
        latency: Duration,
        /// The Update carried `apiErrors`: refused after the 202.
        refused: bool,
    },
    /// Accepted (202), but no Update within [`LOSS_TIMEOUT`].
    Lost,
    /// Answered with another status than 202.
    Status(u16),
    /// The request itself failed (connection, timeout).
    Failed(LoadError),
}

/// Sends `change` for `agent` (as the agent, Basic auth) with a fresh `requestId` and waits for
/// its Update at the agent's desktop.
pub(crate) async fn send(run: &Run, agent: usize, change: &UserChange) -> Outcome {
    let login = run.login_id(agent);
    let connection = match run.rest.acquire().await {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e),
    };
    let request_id = run.request_id();
    let arrival = run.matcher.expect(request_id.clone(), agent);
    let sent = Instant::now();
    match connection.put_user(&login, &run.opts.password, change, &request_id).await {
        Ok(202) => run.accepted(agent, &request_id),
        Ok(status) => {
            run.matcher.forget(&request_id);
            return Outcome::Status(status);
        }
        Err(e) => {
            run.matcher.forget(&request_id);
            return Outcome::Failed(e);
        }
    }
    match tokio::time::timeout_at((sent + LOSS_TIMEOUT).into(), arrival).await {
        Ok(Ok(a)) => Outcome::Seen { latency: a.at.saturating_duration_since(sent), refused: a.refused },
        _ => {
            run.matcher.forget(&request_id);
            Outcome::Lost
        }
    }
}

/// The measured phase's tallies.
#[derive(Default)]
pub(crate) struct Changes {
    attempted: AtomicU64,
    accepted: AtomicU64,
    seen: AtomicU64,
    refused: AtomicU64,
    lost: AtomicU64,
    errors: AtomicU64,
    not_sent: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
    errors_by_kind: Mutex<BTreeMap<String, u64>>,
}

impl Changes {
    /// Counts one outcome.
    pub(crate) fn record(&self, outcome: &Outcome) {
        self.attempted.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Outcome::Seen { latency, refused } => {
                self.accepted.fetch_add(1, Ordering::Relaxed);
                if *refused {
                    self.refused.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.seen.fetch_add(1, Ordering::Relaxed);
                    self.latencies_us.lock().unwrap_or_else(|e| e.into_inner()).push(latency.as_micros() as u64);
                }
            }
            Outcome::Lost => {
                self.accepted.fetch_add(1, Ordering::Relaxed);
                self.lost.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Status(status) => self.error(format!("http-{status}")),
            Outcome::Failed(e) => self.error(e.kind()),
        }
    }

    fn error(&self, kind: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self.errors_by_kind.lock().unwrap_or_else(|e| e.into_inner()).entry(kind).or_default() += 1;
    }

    /// Fills the change figures; `sending` is how long the changes took to go out.
    pub(crate) fn fill(&self, figures: &mut AgentFigures, sending: Duration) {
        let mut latencies = std::mem::take(&mut *self.latencies_us.lock().unwrap_or_else(|e| e.into_inner()));
        latencies.sort_unstable();
        figures.attempted = self.attempted.load(Ordering::Relaxed);
        figures.accepted = self.accepted.load(Ordering::Relaxed);
        figures.seen = self.seen.load(Ordering::Relaxed);
        figures.refused = self.refused.load(Ordering::Relaxed);
        figures.lost = self.lost.load(Ordering::Relaxed);
        figures.errors = self.errors.load(Ordering::Relaxed);
        figures.not_sent = self.not_sent.load(Ordering::Relaxed);
        figures.errors_by_kind = self.errors_by_kind.lock().unwrap_or_else(|e| e.into_inner()).clone();
        figures.rate = figures.attempted as f64 / sending.as_secs_f64().max(1e-9);
        figures.p50_ms = percentile_ms(&latencies, 0.5);
        figures.p99_ms = percentile_ms(&latencies, 0.99);
        figures.p999_ms = percentile_ms(&latencies, 0.999);
        figures.max_ms = percentile_ms(&latencies, 1.0);
    }
}

/// Sends `rate × duration` changes at the run's rate, round-robin over `agents` (skipping any
/// with a change in flight; a change due when every agent is busy is not sent and counted), and
/// waits for every change to end. Returns how long the sending took.
pub(crate) async fn drive(run: &Arc<Run>, agents: &[usize], changes: &Arc<Changes>, deadline: Instant) -> Duration {
    let (rate, duration) = (run.opts.agents.rate, run.opts.agents.duration);
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let mut rotation = RoundRobin::new(agents.len());
    let mut tasks = tokio::task::JoinSet::new();
    let last_start = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(2));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut scheduled = 0;
    while scheduled < total && Instant::now() < deadline {
        ticker.tick().await;
        let now_due = due(started.elapsed(), rate, total);
        for _ in scheduled..now_due {
            let Some(agent) = rotation.pick(|i| agents.get(i).is_none_or(|&a| run.is_busy(a))).and_then(|i| agents.get(i).copied()) else {
                changes.not_sent.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            run.set_busy(agent, true);
            let (run, changes, last_start) = (run.clone(), changes.clone(), last_start.clone());
            tasks.spawn(async move {
                let change = run.next_change(agent);
                last_start.fetch_max(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                let outcome = send(&run, agent, &change).await;
                if matches!(outcome, Outcome::Seen { refused: false, .. }) {
                    run.changed(agent);
                }
                match &outcome {
                    Outcome::Status(status) => run.note_error(format!("{} {change:?}: HTTP {status}", run.login_id(agent))),
                    Outcome::Failed(e) => run.note_error(format!("{} {change:?}: {e}", run.login_id(agent))),
                    _ => {}
                }
                changes.record(&outcome);
                run.set_busy(agent, false);
            });
        }
        scheduled = now_due;
        while tasks.try_join_next().is_some() {}
    }
    // Every change ends within its request bound plus the loss timeout.
    while tasks.join_next().await.is_some() {}
    Duration::from_micros(last_start.load(Ordering::Relaxed)).max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_tallied_and_latencies_summarised() {
        let changes = Changes::default();
        for ms in 1..=100 {
            changes.record(&Outcome::Seen { latency: Duration::from_millis(ms), refused: false });
        }
        changes.record(&Outcome::Seen { latency: Duration::from_millis(5), refused: true });
        changes.record(&Outcome::Lost);
        changes.record(&Outcome::Status(400));
        changes.record(&Outcome::Status(400));
        changes.record(&Outcome::Failed(LoadError::Timeout("REST request")));
        let mut figures = AgentFigures::default();
        changes.fill(&mut figures, Duration::from_secs(1));
        assert_eq!((figures.attempted, figures.accepted, figures.seen), (105, 102, 100));
        assert_eq!((figures.refused, figures.lost, figures.errors), (1, 1, 3));
        assert_eq!(figures.errors_by_kind, BTreeMap::from([("http-400".to_owned(), 2), ("timeout".to_owned(), 1)]));
        assert_eq!(figures.rate, 105.0);
        assert_eq!(figures.p50_ms, 51.0);
        assert_eq!(figures.p99_ms, 99.0);
        assert_eq!(figures.max_ms, 100.0);
    }
}
