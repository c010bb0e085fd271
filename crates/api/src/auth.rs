//! HTTP Basic against the XMPP accounts, with the lock-out SASL logins have: the per-source ban
//! and the per-account lock come from the core, a plain password is checked against the stored
//! SCRAM entry (decoys for unknown names cost the same), and PBKDF2 runs off the async threads.
//! A successful (login, SHA-256 of password) is remembered for a short while so that a desktop's
//! requests do not each cost a PBKDF2; failures are never remembered, and a locked account or a
//! banned source is refused even when remembered.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use herald_cc::ApiError;
use herald_core::Core;
use herald_sasl::{Account, MAX_USERNAME_BYTES, SaslError};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why a request was not authenticated.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No, malformed or wrong credentials, a locked account, a banned source: 401.
    Unauthenticated,
    /// The credentials could not be read (the store failed): 503.
    Unavailable,
}

impl Refusal {
    /// The error answered.
    pub(crate) fn api_error(&self) -> ApiError {
        match self {
            Self::Unauthenticated => ApiError::unauthenticated(),
            Self::Unavailable => ApiError::unavailable("the account store is unavailable"),
        }
    }
}

/// A remembered login.
struct Cached {
    digest: [u8; 32],
    expires: Instant,
}

/// The Basic authenticator: the cache of recent successes and a count of PBKDF2 runs.
pub(crate) struct BasicAuth {
    ttl: Duration,
    max_entries: usize,
    cache: Mutex<HashMap<String, Cached>>,
    checks: AtomicU64,
}

/// `user:password` from an `Authorization: Basic …` value; the login id lower-cased as JID
/// localparts are compared.
pub(crate) fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    if user.is_empty() {
        return None;
    }
    Some((user.to_lowercase(), password.to_owned()))
}

fn digest(password: &str) -> [u8; 32] {
    Sha256::digest(password.as_bytes()).into()
}

impl BasicAuth {
    /// An authenticator remembering successes for `ttl`, at most `max_entries` of them.
    pub(crate) fn new(ttl: Duration, max_entries: usize) -> Self {
        Self { ttl, max_entries, cache: Mutex::new(HashMap::new()), checks: AtomicU64::new(0) }
    }

    /// PBKDF2 runs so far.
    pub(crate) fn password_checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cached(&self, user: &str, digest: &[u8; 32], now: Instant) -> bool {
        let cache = self.cache();
        cache.get(user).is_some_and(|c| c.expires > now && bool::from(c.digest.ct_eq(digest)))
    }

    fn remember(&self, user: &str, digest: [u8; 32], now: Instant) {
        if self.ttl.is_zero() || self.max_entries == 0 {
            return;
        }
        let mut cache = self.cache();
        if cache.len() >= self.max_entries && !cache.contains_key(user) {
            cache.retain(|_, c| c.expires > now);
            if cache.len() >= self.max_entries
                && let Some(oldest) = cache.iter().min_by_key(|(_, c)| c.expires).map(|(u, _)| u.clone())
            {
                cache.remove(&oldest);
            }
        }
        cache.insert(user.to_owned(), Cached { digest, expires: now + self.ttl });
    }

    fn forget(&self, user: &str) {
        self.cache().remove(user);
    }

    /// Authenticates an `Authorization` header from `source`: the login id on success.
    pub(crate) async fn authenticate(&self, core: &Core, header: Option<&str>, source: IpAddr) -> Result<String, Refusal> {
        let Some((user, password)) = header.and_then(parse_basic) else { return Err(Refusal::Unauthenticated) };
        if user.len() > MAX_USERNAME_BYTES {
            core.auth_failed(None, &SaslError::UsernameTooLong, source, Instant::now());
            return Err(Refusal::Unauthenticated);
        }
        let hashed = digest(&password);
        if self.cached(&user, &hashed, Instant::now()) {
            // A remembered password: only the ban and the lock are checked, without a store read.
            return match core.standing(&user, source, Instant::now()) {
                Ok(()) => {
                    core.auth_succeeded(&user, source);
                    Ok(user)
                }
                Err(error) => {
                    tracing::info!(target: "webservices", username = user, %source, reason = ?error, "HTTP Basic authentication refused");
                    // Counted, not charged again: the ban or the lock already stands.
                    core.metrics().auth_failed(herald_core::failure_kind(&error));
                    self.forget(&user);
                    Err(Refusal::Unauthenticated)
                }
            };
        }
        let account = match core.credentials(&user, source, Instant::now()).await {
            Ok(account) => account,
            Err(error @ SaslError::SourceBanned(_)) => {
                // Counted only: a banned source's refusals are not charged against it.
                core.auth_failed(None, &error, source, Instant::now());
                return Err(Refusal::Unauthenticated);
            }
            Err(_) => return Err(Refusal::Unavailable),
        };
        let (credentials, standing) = match account {
            Account::Existing(c) => (c, Ok(())),
            Account::Locked(c) => (c, Err(SaslError::AccountLocked)),
            Account::Unknown(c) => (c, Err(SaslError::UnknownAccount)),
        };
        self.checks.fetch_add(1, Ordering::Relaxed);
        let matched = tokio::task::spawn_blocking(move || credentials.verify_password(&password)).await.unwrap_or(false);
        let verdict = match standing {
            Ok(()) if matched => Ok(()),
            Ok(()) => Err(SaslError::NotAuthorized),
            Err(refusal) => Err(refusal),
        };
        match verdict {
            Ok(()) => {
                core.auth_succeeded(&user, source);
                self.remember(&user, hashed, Instant::now());
                Ok(user)
            }
            Err(error) => {
                tracing::info!(target: "webservices", username = user, %source, reason = ?error, "HTTP Basic authentication failed");
                core.auth_failed(Some(&user), &error, source, Instant::now());
                self.forget(&user);
                Err(Refusal::Unauthenticated)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(text: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(text))
    }

    #[test]
    fn basic_headers_parse_and_login_ids_are_lower_cased() {
        assert_eq!(parse_basic(&basic("Agent1:pw:with:colons")), Some(("agent1".into(), "pw:with:colons".into())));
        assert_eq!(parse_basic(&format!("basic {}", &basic("a:b")[6..])), Some(("a".into(), "b".into())));
        for bad in ["", "Basic", "Bearer abc", "Basic !!!", &basic("nocolon"), &basic(":pw")] {
            assert_eq!(parse_basic(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_cache_is_bounded_and_expires() {
        let auth = BasicAuth::new(Duration::from_secs(60), 2);
        let t0 = Instant::now();
        auth.remember("a", digest("x"), t0);
        auth.remember("b", digest("y"), t0 + Duration::from_secs(1));
        auth.remember("c", digest("z"), t0 + Duration::from_secs(2));
        assert_eq!(auth.cache().len(), 2);
        assert!(!auth.cached("a", &digest("x"), t0 + Duration::from_secs(3)), "the oldest was evicted");
        assert!(auth.cached("c", &digest("z"), t0 + Duration::from_secs(3)));
        assert!(!auth.cached("c", &digest("other"), t0 + Duration::from_secs(3)), "another password is not a hit");
        assert!(!auth.cached("c", &digest("z"), t0 + Duration::from_secs(63)), "expired");
        let off = BasicAuth::new(Duration::ZERO, 10);
        off.remember("a", digest("x"), t0);
        assert!(!off.cached("a", &digest("x"), t0));
    }
}
