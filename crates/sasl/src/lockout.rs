//! Failed-login limits, sans-IO (time is passed in):
//!
//! - the Finesse rule per account *and source address*: after `max_failures` failures from one
//!   source an existing account is locked for that source only, so a stranger elsewhere cannot
//!   lock an agent out at their desk;
//! - a ban per source (as ejabberd's `mod_fail2ban`): a source with `source_max_failures` failed
//!   logins, on any accounts, existing or not, within `source_ban` is refused for `source_ban`.
//!
//! Attempts on an existing account are counted when they start as well as when they fail, so
//! that exchanges run in parallel cannot get more guesses past the lock than one after another
//! (`failures + attempts under way` may not pass `max_failures`). An attempt that never ends (its
//! client vanished mid-exchange) stops counting once `attempt_window`, the longest an exchange
//! can last, has passed since the last one began.
//!
//! Both tables are bounded ([`LockoutConfig::max_entries`] each) and forget expired entries.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::table::{ExpiringMap, Slot};
use crate::{Network, SaslError, source_key};

/// The limits.
#[derive(Clone, Debug)]
pub struct LockoutConfig {
    /// Failures from one source that lock an account for that source (0: never).
    pub max_failures: u32,
    /// How long the lock lasts; also how long a failure is remembered toward it.
    pub lock_duration: Duration,
    /// Failed logins from one source, any accounts, that ban it (0: never).
    pub source_max_failures: u32,
    /// How long a ban lasts; also the window its failures are counted in.
    pub source_ban: Duration,
    /// Most entries in each table; the ones that would expire soonest are evicted beyond it.
    pub max_entries: usize,
    /// Sources never banned (e.g. a contact center's NAT or a reverse proxy).
    pub exempt: Vec<Network>,
    /// The longest a login exchange can last (the stream's negotiation timeout): attempts begun
    /// longer ago than this have ended, one way or another.
    pub attempt_window: Duration,
}

impl Default for LockoutConfig {
    /// Five failures lock an account for a source for five minutes (as Finesse); twenty from
    /// one source, any accounts, ban it for five minutes; 100,000 entries per table.
    fn default() -> Self {
        Self {
            max_failures: 5,
            lock_duration: Duration::from_secs(300),
            source_max_failures: 20,
            source_ban: Duration::from_secs(300),
            max_entries: 100_000,
            exempt: Vec::new(),
            attempt_window: Duration::from_secs(30),
        }
    }
}

impl LockoutConfig {
    /// Whether `source` is exempt from the ban.
    pub fn is_exempt(&self, source: IpAddr) -> bool {
        self.exempt.iter().any(|n| n.contains(source))
    }

    /// Whether `failures` of an account from one source lock it for that source.
    pub fn locks(&self, failures: u64) -> bool {
        self.max_failures > 0 && failures >= u64::from(self.max_failures)
    }

    /// Whether `failures` from one source, any accounts, ban it.
    pub fn bans(&self, failures: u64) -> bool {
        self.source_max_failures > 0 && failures >= u64::from(self.source_max_failures)
    }
}

/// Failures of one (account, source) pair, and the attempts under way.
#[derive(Debug)]
struct Login {
    failures: u32,
    locked: bool,
    /// Exchanges begun and not yet ended.
    attempts: u32,
    /// When the last of them began.
    last_attempt: Instant,
}

/// A new (account, source) entry, expiring at once unless a failure or an attempt keeps it.
fn fresh_login(now: Instant) -> Slot<Login> {
    Slot { value: Login { failures: 0, locked: false, attempts: 0, last_attempt: now }, expires: now }
}

/// Failures of one source.
#[derive(Debug)]
struct Source {
    failures: u32,
    banned: bool,
}

/// The two tables. Keys are [`source_key`]s, so an IPv6 host counts once per /64.
#[derive(Debug)]
pub struct Lockout {
    config: LockoutConfig,
    logins: ExpiringMap<(String, IpAddr), Login>,
    sources: ExpiringMap<IpAddr, Source>,
}

/// What recording a failure led to, for the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// This failure locked the account for the source.
    pub locked_account: bool,
    /// This failure banned the source.
    pub banned_source: bool,
}

impl Lockout {
    /// Empty tables under `config`.
    pub fn new(config: LockoutConfig) -> Self {
        let max = config.max_entries;
        Self { config, logins: ExpiringMap::new(max), sources: ExpiringMap::new(max) }
    }

    fn exempt(&self, source: IpAddr) -> bool {
        self.config.is_exempt(source)
    }

    /// `Err(SourceBanned)` while `source` is banned: the login is refused before any look-up.
    pub fn check_source(&mut self, source: IpAddr, now: Instant) -> Result<(), SaslError> {
        self.check_source_counting(source, now, 0)
    }

    /// [`Lockout::check_source`], also banned when `shared_failures` (the source's failures
    /// counted across a cluster) reach the ban; such a ban is reported as lasting `source_ban`.
    pub fn check_source_counting(&mut self, source: IpAddr, now: Instant, shared_failures: u64) -> Result<(), SaslError> {
        let banned_elsewhere = !self.exempt(source) && self.config.bans(shared_failures);
        match self.sources.get_mut(&source_key(source), now) {
            Some(Slot { value: Source { banned: true, .. }, expires }) => Err(SaslError::SourceBanned((*expires - now).as_secs().max(1))),
            _ if banned_elsewhere => Err(SaslError::SourceBanned(self.config.source_ban.as_secs().max(1))),
            _ => Ok(()),
        }
    }

    /// Whether `user` is locked for `source`: the exchange then runs as usual and is refused at
    /// the end, the right password included.
    pub fn is_locked(&mut self, user: &str, source: IpAddr, now: Instant) -> bool {
        let key = (user.to_owned(), source_key(source));
        self.logins.get_mut(&key, now).is_some_and(|s| s.value.locked)
    }

    /// An exchange for the existing account `user` from `source` begins; every one is counted
    /// until [`Lockout::end_attempt`]. `false` when it must be answered as a locked account is:
    /// the account is locked for the source, or the failures so far plus the attempts already
    /// under way reach the lock, so a guess in parallel gets no further than one in sequence.
    pub fn begin_attempt(&mut self, user: &str, source: IpAddr, now: Instant) -> bool {
        self.begin_attempt_counting(user, source, now, 0)
    }

    /// [`Lockout::begin_attempt`], counting the larger of this table's failures and
    /// `shared_failures` (the pair's failures counted across a cluster).
    pub fn begin_attempt_counting(&mut self, user: &str, source: IpAddr, now: Instant, shared_failures: u64) -> bool {
        let max = self.config.max_failures;
        if max == 0 {
            return true;
        }
        let window = self.config.attempt_window;
        let slot = self.logins.get_or_insert((user.to_owned(), source_key(source)), now, || fresh_login(now));
        if now.saturating_duration_since(slot.value.last_attempt) >= window {
            slot.value.attempts = 0;
        }
        let failures = u64::from(slot.value.failures).max(shared_failures);
        let allowed = !slot.value.locked && failures + u64::from(slot.value.attempts) < u64::from(max);
        slot.value.attempts += 1;
        slot.value.last_attempt = now;
        slot.expires = slot.expires.max(now + window);
        allowed
    }

    /// An exchange begun with [`Lockout::begin_attempt`] ended (a failure is recorded apart).
    pub fn end_attempt(&mut self, user: &str, source: IpAddr, now: Instant) {
        if let Some(slot) = self.logins.get_mut(&(user.to_owned(), source_key(source)), now) {
            slot.value.attempts = slot.value.attempts.saturating_sub(1);
        }
    }

    /// Records a failed login from `source`. `existing_account` is the account's name when it
    /// exists and the password was wrong: only those count toward a lock, so names that do not
    /// exist take no room. Every failure counts toward the source's ban.
    pub fn record_failure(&mut self, existing_account: Option<&str>, source: IpAddr, now: Instant) -> Verdict {
        let key = source_key(source);
        let mut verdict = Verdict::default();
        if let Some(user) = existing_account
            && self.config.max_failures > 0
        {
            let (max, duration) = (self.config.max_failures, self.config.lock_duration);
            let slot = self.logins.get_or_insert((user.to_owned(), key), now, || fresh_login(now));
            if !slot.value.locked {
                slot.value.failures += 1;
                slot.expires = slot.expires.max(now + duration);
                if slot.value.failures >= max {
                    slot.value.locked = true;
                    verdict.locked_account = true;
                }
            }
        }
        if self.config.source_max_failures > 0 && !self.exempt(source) {
            let (max, ban) = (self.config.source_max_failures, self.config.source_ban);
            let slot = self.sources.get_or_insert(key, now, || Slot { value: Source { failures: 0, banned: false }, expires: now + ban });
            if !slot.value.banned {
                slot.value.failures += 1;
                if slot.value.failures >= max {
                    slot.value.banned = true;
                    slot.expires = now + ban;
                    verdict.banned_source = true;
                }
            }
        }
        verdict
    }

    /// A successful login clears the account's failures from that source (not the source's
    /// count: one good account must not let a source go on guessing others).
    pub fn record_success(&mut self, user: &str, source: IpAddr) {
        self.logins.remove(&(user.to_owned(), source_key(source)));
    }

    /// Entries held in the (account, source) and the source tables.
    pub fn sizes(&self) -> (usize, usize) {
        (self.logins.len(), self.sources.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_attempts_get_no_more_guesses_than_sequential_ones() {
        let t0 = Instant::now();
        let mut l = Lockout::new(LockoutConfig::default());
        // Five exchanges begun at once: all five may run (five failures lock), a sixth may not.
        assert!((0..5).all(|_| l.begin_attempt("carol", STRANGER, t0)));
        assert!(!l.begin_attempt("carol", STRANGER, t0), "a sixth guess in parallel");
        assert!(l.begin_attempt("carol", DESK, t0), "another source is not affected");
        // Two fail; three are still under way, the sixth ended too: still no room.
        for _ in 0..2 {
            l.end_attempt("carol", STRANGER, t0);
            l.record_failure(Some("carol"), STRANGER, t0);
        }
        l.end_attempt("carol", STRANGER, t0);
        assert!(!l.begin_attempt("carol", STRANGER, t0));
        l.end_attempt("carol", STRANGER, t0);
        // Attempts whose clients vanished stop counting after the attempt window.
        let later = t0 + Duration::from_secs(31);
        assert!(l.begin_attempt("carol", STRANGER, later), "two failures and one attempt");
        // A success clears everything for that source.
        l.record_success("carol", STRANGER);
        assert!((0..5).all(|_| l.begin_attempt("carol", STRANGER, later)));
    }

    const DESK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const STRANGER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 9));

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn lockout(source_max_failures: u32) -> Lockout {
        Lockout::new(LockoutConfig { source_max_failures, ..LockoutConfig::default() })
    }

    #[test]
    fn failures_counted_elsewhere_lock_and_ban_here() {
        let t0 = Instant::now();
        let mut l = lockout(20);
        assert!(l.begin_attempt_counting("carol", STRANGER, t0, 4), "four failures elsewhere leave one guess");
        assert!(!l.begin_attempt_counting("carol", STRANGER, t0, 4), "and only one");
        assert!(!l.begin_attempt_counting("carol", DESK, t0, 5), "five lock");
        assert_eq!(l.check_source_counting(STRANGER, t0, 19), Ok(()));
        assert_eq!(l.check_source_counting(STRANGER, t0, 20), Err(SaslError::SourceBanned(300)));
        let exempt = Lockout::new(LockoutConfig { exempt: vec!["192.0.2.0/24".parse().unwrap()], ..LockoutConfig::default() });
        assert!(exempt.config.is_exempt(STRANGER) && !exempt.config.is_exempt(DESK));
        assert!(!LockoutConfig { max_failures: 0, ..LockoutConfig::default() }.locks(100), "0: never");
    }

    #[test]
    fn five_failures_lock_the_account_for_that_source_only() {
        let t0 = Instant::now();
        let mut l = lockout(0);
        for i in 0..4 {
            assert_eq!(l.record_failure(Some("carol"), STRANGER, t0 + secs(i)), Verdict::default());
            assert!(!l.is_locked("carol", STRANGER, t0 + secs(i)));
        }
        assert!(l.record_failure(Some("carol"), STRANGER, t0 + secs(4)).locked_account);
        assert!(l.is_locked("carol", STRANGER, t0 + secs(10)));
        assert!(!l.is_locked("carol", DESK, t0 + secs(10)), "her desk is another source");
        assert!(!l.is_locked("dave", STRANGER, t0 + secs(10)));
        assert!(l.is_locked("carol", STRANGER, t0 + secs(303)));
        assert!(!l.is_locked("carol", STRANGER, t0 + secs(304)), "the lock lasts lock_duration");
        // Unlocked with a clean slate.
        assert_eq!(l.record_failure(Some("carol"), STRANGER, t0 + secs(305)), Verdict::default());
    }

    #[test]
    fn old_failures_are_forgotten_and_success_resets() {
        let t0 = Instant::now();
        let mut l = Lockout::new(LockoutConfig { max_failures: 2, source_max_failures: 0, ..LockoutConfig::default() });
        l.record_failure(Some("a"), DESK, t0);
        assert!(!l.record_failure(Some("a"), DESK, t0 + secs(301)).locked_account, "the first failure was forgotten");
        l.record_success("a", DESK);
        assert!(!l.record_failure(Some("a"), DESK, t0 + secs(302)).locked_account);
        assert!(l.record_failure(Some("a"), DESK, t0 + secs(303)).locked_account);
    }

    #[test]
    fn unknown_names_take_no_room() {
        let t0 = Instant::now();
        let mut l = lockout(0);
        for i in 0..10_000u64 {
            l.record_failure(None, STRANGER, t0 + Duration::from_millis(i));
        }
        assert_eq!(l.sizes(), (0, 0));
    }

    #[test]
    fn a_source_failing_across_accounts_is_banned_then_released() {
        let t0 = Instant::now();
        let mut l = lockout(20);
        for i in 0..19u64 {
            let user = format!("user{i}");
            let existing = (i % 2 == 0).then_some(user.as_str());
            assert!(!l.record_failure(existing, STRANGER, t0 + secs(i)).banned_source);
        }
        l.check_source(STRANGER, t0 + secs(19)).unwrap();
        assert!(l.record_failure(None, STRANGER, t0 + secs(20)).banned_source);
        assert_eq!(l.check_source(STRANGER, t0 + secs(30)), Err(SaslError::SourceBanned(290)));
        l.check_source(DESK, t0 + secs(30)).unwrap();
        assert!(!l.record_failure(None, STRANGER, t0 + secs(31)).banned_source, "one ban, logged once");
        l.check_source(STRANGER, t0 + secs(320)).unwrap();
    }

    #[test]
    fn the_ban_window_restarts() {
        let t0 = Instant::now();
        let mut l = lockout(3);
        l.record_failure(None, STRANGER, t0);
        l.record_failure(None, STRANGER, t0 + secs(1));
        // The window of the first two has passed: counting starts again.
        assert!(!l.record_failure(None, STRANGER, t0 + secs(301)).banned_source);
        assert!(!l.record_failure(None, STRANGER, t0 + secs(302)).banned_source);
        assert!(l.record_failure(None, STRANGER, t0 + secs(303)).banned_source);
    }

    #[test]
    fn exempt_sources_and_ipv6_prefixes() {
        let t0 = Instant::now();
        let nat: Network = "10.0.0.0/8".parse().unwrap();
        let mut l = Lockout::new(LockoutConfig { source_max_failures: 2, exempt: vec![nat], ..LockoutConfig::default() });
        for _ in 0..10 {
            assert!(!l.record_failure(None, DESK, t0).banned_source);
        }
        l.check_source(DESK, t0).unwrap();
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff:2".parse().unwrap();
        l.record_failure(None, a, t0);
        assert!(l.record_failure(None, b, t0).banned_source, "one /64 is one source");
        assert!(l.check_source("2001:db8::77".parse().unwrap(), t0).is_err());
        l.check_source("2001:db8:0:1::1".parse().unwrap(), t0).unwrap();
    }

    #[test]
    fn tables_stay_bounded() {
        let t0 = Instant::now();
        let mut l = Lockout::new(LockoutConfig { max_entries: 100, ..LockoutConfig::default() });
        for i in 0..50_000u32 {
            let source = IpAddr::V4(std::net::Ipv4Addr::from(0x0b00_0000 + i));
            l.record_failure(Some(&format!("user{}", i % 500)), source, t0 + Duration::from_millis(u64::from(i)));
            let (logins, sources) = l.sizes();
            assert!(logins <= 100 && sources <= 100, "{logins} {sources}");
        }
    }
}
