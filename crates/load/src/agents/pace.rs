//! The pure arithmetic of the agents scenario: how many state changes are due at a given moment
//! for a steady total rate, which agent changes next (round-robin, never one with a change still
//! in flight), and latency percentiles.

use std::time::Duration;

/// Changes due `elapsed` after the start at `rate` per second, out of `total`: the first one at
/// once, then one every `1 / rate` seconds, never more than `total`.
pub(crate) fn due(elapsed: Duration, rate: f64, total: u64) -> u64 {
    if rate.is_nan() || rate <= 0.0 {
        return 0;
    }
    let owed = (elapsed.as_secs_f64() * rate).floor();
    if owed >= total as f64 { total } else { (owed as u64 + 1).min(total) }
}

/// Round-robin over `len` agents, skipping those that still have a change in flight, so that
/// every agent gets its turn in order and no agent ever has two changes outstanding.
#[derive(Clone, Debug)]
pub(crate) struct RoundRobin {
    next: usize,
    len: usize,
}

impl RoundRobin {
    /// A rotation over agents `0..len`, starting at 0.
    pub(crate) fn new(len: usize) -> Self {
        Self { next: 0, len }
    }

    /// The next agent (in rotation order) that `busy` says is free, or `None` when every agent
    /// is busy; the rotation continues after the agent picked.
    pub(crate) fn pick(&mut self, busy: impl Fn(usize) -> bool) -> Option<usize> {
        for _ in 0..self.len {
            let candidate = self.next;
            self.next = (self.next + 1) % self.len;
            if !busy(candidate) {
                return Some(candidate);
            }
        }
        None
    }
}

/// The `p`-quantile (0.0–1.0, nearest rank) of latencies in microseconds, `sorted` ascending,
/// in milliseconds; 0 when there is none.
pub(crate) fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() - 1) as f64 * p.clamp(0.0, 1.0)).round() as usize;
    sorted.get(rank).copied().unwrap_or_default() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_change_is_due_at_once_then_one_per_interval() {
        assert_eq!(due(Duration::ZERO, 100.0, 500), 1);
        assert_eq!(due(Duration::from_millis(9), 100.0, 500), 1);
        assert_eq!(due(Duration::from_millis(10), 100.0, 500), 2);
        assert_eq!(due(Duration::from_millis(995), 100.0, 500), 100);
        assert_eq!(due(Duration::from_secs(1), 2000.0, 60_000), 2001);
    }

    #[test]
    fn never_more_than_the_total_is_due() {
        assert_eq!(due(Duration::from_secs(5), 100.0, 500), 500);
        assert_eq!(due(Duration::from_secs(3600), 100.0, 500), 500);
        assert_eq!(due(Duration::from_millis(4_999), 100.0, 500), 500);
    }

    #[test]
    fn no_rate_means_nothing_is_due() {
        assert_eq!(due(Duration::from_secs(10), 0.0, 500), 0);
        assert_eq!(due(Duration::from_secs(10), f64::NAN, 500), 0);
        assert_eq!(due(Duration::from_secs(10), -1.0, 500), 0);
    }

    #[test]
    fn round_robin_visits_every_agent_in_order() {
        let mut rr = RoundRobin::new(3);
        let picks: Vec<_> = (0..7).map(|_| rr.pick(|_| false)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2, 0].map(Some));
    }

    #[test]
    fn round_robin_skips_busy_agents_and_gives_up_when_all_are_busy() {
        let mut rr = RoundRobin::new(4);
        assert_eq!(rr.pick(|i| i == 0), Some(1));
        assert_eq!(rr.pick(|i| i == 2), Some(3));
        assert_eq!(rr.pick(|i| i != 2), Some(2));
        assert_eq!(rr.pick(|_| true), None);
        assert_eq!(RoundRobin::new(0).pick(|_| false), None);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<u64> = (1..=1000).map(|ms| ms * 1000).collect();
        assert_eq!(percentile_ms(&v, 0.5), 501.0);
        assert_eq!(percentile_ms(&v, 0.99), 990.0);
        assert_eq!(percentile_ms(&v, 0.999), 999.0);
        assert_eq!(percentile_ms(&v, 1.0), 1000.0);
        assert_eq!(percentile_ms(&v, 0.0), 1.0);
        assert_eq!(percentile_ms(&[], 0.99), 0.0);
        assert_eq!(percentile_ms(&[1500], 0.5), 1.5);
    }
}
