//! Sans-IO throttles shared by the transports and the core: the per-session byte budget
//! ([`TokenBucket`], bytes per second with a burst, as Prosody's `mod_limits`) and the summary of
//! repeated warnings ([`LogThrottle`]). The clock is passed in, so both are tested with fake
//! `Instant`s.

use std::time::{Duration, Instant};

/// A byte budget: `bytes_per_sec` sustained, `burst_bytes` at once after a quiet spell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained rate, bytes per second (more than zero).
    pub bytes_per_sec: u32,
    /// Bytes that may arrive at once after the client was quiet (the bucket's size).
    pub burst_bytes: u32,
}

/// A token bucket: `bytes_per_sec` tokens earned per second, up to `burst_bytes`. Over bytes
/// received from a client, reads are never refused: bytes already read are charged, the bucket
/// may go into debt, and the driver does not read again before [`TokenBucket::ready_at`] (so TCP
/// backpressure, or a delayed BOSH answer, slows the client). Over other things (sessions an
/// address creates) [`TokenBucket::try_take`] takes a token only when there is one.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    /// Bytes available at `at`; negative when in debt.
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        Self { limit, tokens: f64::from(limit.burst_bytes), at: now }
    }

    /// Counts `bytes` received at `now`.
    pub fn charge(&mut self, bytes: usize, now: Instant) {
        self.refill(now);
        self.tokens -= bytes as f64;
    }

    /// Takes `amount` tokens at `now` if the bucket holds them; `false` (and nothing taken)
    /// otherwise.
    pub fn try_take(&mut self, amount: f64, now: Instant) -> bool {
        self.refill(now);
        let taken = self.tokens >= amount;
        if taken {
            self.tokens -= amount;
        }
        taken
    }

    /// Whether the bucket would be full at `now`: nothing it remembers still matters.
    pub fn is_full(&self, now: Instant) -> bool {
        let earned = now.saturating_duration_since(self.at).as_secs_f64() * self.rate();
        self.tokens + earned >= f64::from(self.limit.burst_bytes)
    }

    /// When the client may be read from again: `None` while the bucket is not in debt.
    pub fn ready_at(&self) -> Option<Instant> {
        (self.tokens < 0.0).then(|| self.at + Duration::from_secs_f64(-self.tokens / self.rate()))
    }

    fn rate(&self) -> f64 {
        f64::from(self.limit.bytes_per_sec.max(1))
    }

    fn refill(&mut self, now: Instant) {
        if now > self.at {
            let earned = now.duration_since(self.at).as_secs_f64() * self.rate();
            self.tokens = (self.tokens + earned).min(f64::from(self.limit.burst_bytes));
            self.at = now;
        }
    }
}

/// How often a summarised warning may be written (per session).
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// Summarises a warning that can repeat for every stanza (a full queue, a closing session):
/// the first occurrence is written at once, later ones are counted and written as one line at
/// most every [`WARN_EVERY`], carrying how many happened since the last line. A flood then
/// costs a handful of lines, not one per stanza.
#[derive(Clone, Debug, Default)]
pub struct LogThrottle {
    last_line: Option<Instant>,
    unlogged: u64,
}

impl LogThrottle {
    /// Records one occurrence at `now`. `Some(n)` means: write a line now, saying `n`
    /// occurrences happened since the previous line (this one included).
    pub fn hit(&mut self, now: Instant) -> Option<u64> {
        self.unlogged += 1;
        if self.last_line.is_some_and(|t| now.saturating_duration_since(t) < WARN_EVERY) {
            return None;
        }
        self.last_line = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit { bytes_per_sec: 1000, burst_bytes: 4000 };

    #[test]
    fn the_burst_passes_then_the_rate_holds() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(LIMIT, t0);
        bucket.charge(4000, t0);
        assert_eq!(bucket.ready_at(), None, "a whole burst is allowed at once");
        bucket.charge(500, t0);
        let ready = bucket.ready_at().expect("in debt");
        assert_eq!(ready.duration_since(t0).as_millis(), 500, "500 bytes of debt at 1000 B/s");
        // At the ready time the debt is paid, and the next read may go ahead.
        bucket.charge(0, ready);
        assert_eq!(bucket.ready_at(), None);
    }

    #[test]
    fn tokens_are_taken_only_when_there_are_enough() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(RateLimit { bytes_per_sec: 2, burst_bytes: 3 }, t0);
        assert!((0..3).all(|_| bucket.try_take(1.0, t0)));
        assert!(!bucket.try_take(1.0, t0), "the burst is spent");
        assert!(!bucket.is_full(t0));
        assert!(bucket.try_take(1.0, t0 + Duration::from_millis(500)), "two a second come back");
        assert!(bucket.is_full(t0 + Duration::from_secs(2)));
    }

    #[test]
    fn quiet_time_refills_up_to_the_burst_only() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(LIMIT, t0);
        bucket.charge(4000, t0);
        let later = t0 + Duration::from_secs(3600);
        bucket.charge(4000, later);
        assert_eq!(bucket.ready_at(), None);
        bucket.charge(1, later);
        assert!(bucket.ready_at().is_some(), "an hour of silence still earns only one burst");
    }

    #[test]
    fn a_flood_is_held_to_the_rate() {
        // A client that reads whenever allowed, 4 KiB at a time, for 10 s of fake time.
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(LIMIT, t0);
        let (mut now, mut total) = (t0, 0usize);
        while now < t0 + Duration::from_secs(10) {
            bucket.charge(4096, now);
            total += 4096;
            now = bucket.ready_at().unwrap_or(now).max(now);
        }
        // 4000 burst + 10 s × 1000 B/s, give or take the one read that overshoots.
        assert!((14_000..=14_000 + 4096).contains(&total), "{total}");
    }

    #[test]
    fn repeated_warnings_become_one_line_per_interval_with_a_count() {
        let t0 = Instant::now();
        let mut log = LogThrottle::default();
        assert_eq!(log.hit(t0), Some(1), "the first is written at once");
        for i in 1..1000 {
            assert_eq!(log.hit(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(log.hit(t0 + WARN_EVERY), Some(1000), "the next line counts the suppressed ones");
        assert_eq!(log.hit(t0 + WARN_EVERY + Duration::from_secs(1)), None);
        assert_eq!(log.hit(t0 + WARN_EVERY * 3), Some(2));
    }
}
