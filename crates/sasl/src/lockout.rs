//! Failed-login lockout: after a number of failures in a row an account is refused for a while,
//! as Finesse does (five failures, five minutes). Time is passed in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::SaslError;

/// Per-account failure counts and lock expiry.
#[derive(Debug)]
pub struct Lockout {
    max_failures: u32,
    duration: Duration,
    accounts: HashMap<String, (u32, Option<Instant>)>,
}

impl Lockout {
    /// Locks an account for `duration` after `max_failures` consecutive failures. A
    /// `max_failures` of 0 disables locking.
    pub fn new(max_failures: u32, duration: Duration) -> Self {
        Self { max_failures, duration, accounts: HashMap::new() }
    }

    /// `Err(Locked)` while the account is locked; the right password does not help until then.
    pub fn check(&mut self, user: &str, now: Instant) -> Result<(), SaslError> {
        match self.accounts.get(user) {
            Some((_, Some(until))) if *until > now => Err(SaslError::Locked((*until - now).as_secs().max(1))),
            Some((_, Some(_))) => {
                self.accounts.remove(user);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Records a failed attempt; returns true when this failure locked the account.
    pub fn record_failure(&mut self, user: &str, now: Instant) -> bool {
        if self.max_failures == 0 {
            return false;
        }
        let entry = self.accounts.entry(user.to_owned()).or_insert((0, None));
        entry.0 += 1;
        if entry.0 >= self.max_failures && entry.1.is_none() {
            entry.1 = Some(now + self.duration);
            return true;
        }
        false
    }

    /// A successful login clears the failure count.
    pub fn record_success(&mut self, user: &str) {
        self.accounts.remove(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_for_five_minutes() {
        let t0 = Instant::now();
        let mut l = Lockout::new(5, Duration::from_secs(300));
        for i in 0..4 {
            assert!(!l.record_failure("a", t0 + Duration::from_secs(i)));
            l.check("a", t0).unwrap();
        }
        assert!(l.record_failure("a", t0));
        assert_eq!(l.check("a", t0 + Duration::from_secs(10)), Err(SaslError::Locked(290)));
        l.check("b", t0).unwrap();
        l.check("a", t0 + Duration::from_secs(301)).unwrap();
        // Unlocked with a clean slate.
        assert!(!l.record_failure("a", t0 + Duration::from_secs(302)));
    }

    #[test]
    fn success_resets_the_count() {
        let t0 = Instant::now();
        let mut l = Lockout::new(2, Duration::from_secs(60));
        l.record_failure("a", t0);
        l.record_success("a");
        assert!(!l.record_failure("a", t0));
    }
}
