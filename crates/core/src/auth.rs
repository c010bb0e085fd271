//! Authentication look-ups for the transports: what a login is verified against (stored
//! credentials, the same credentials marked locked, or decoys for unknown names), the per-source
//! ban checked before any look-up, and the failure and success bookkeeping of the lockout (this
//! node's, and in a cluster the shared counters: `shared_lockout`).

use std::net::IpAddr;
use std::sync::MutexGuard;
use std::time::Instant;

use herald_sasl::{Account, Credentials, HashAlg, Lockout, SaslError, ScramCredentials};
use herald_store::{AccountStore, StoredCredential};

use crate::Core;
use crate::shared_lockout::{LockoutKind, SharedUpdate, source_key, user_key};

/// The form the store keeps credentials in: one row per hash, the password itself never.
pub fn stored_credentials(credentials: Credentials) -> Vec<StoredCredential> {
    credentials
        .entries
        .into_iter()
        .map(|c| StoredCredential {
            hash: c.hash.name().into(),
            salt: c.salt,
            iterations: c.iterations,
            stored_key: c.stored_key,
            server_key: c.server_key,
        })
        .collect()
}

/// The `kind` label of `herald_auth_failures_total` for a refusal: the reason the log gives,
/// which the client's answer hides (a fixed set, so the label stays bounded).
pub fn failure_kind(error: &SaslError) -> &'static str {
    match error {
        SaslError::InvalidMechanism => "invalid-mechanism",
        SaslError::MalformedRequest(_) => "malformed-request",
        SaslError::IncorrectEncoding => "incorrect-encoding",
        SaslError::InvalidAuthzid => "invalid-authzid",
        SaslError::NotAuthorized => "not-authorized",
        SaslError::UnknownAccount => "unknown-account",
        SaslError::AccountLocked => "account-locked",
        SaslError::SourceBanned(_) => "source-banned",
        SaslError::UsernameTooLong => "username-too-long",
        SaslError::Aborted => "aborted",
        SaslError::TemporaryFailure => "temporary-failure",
        SaslError::Prohibited => "prohibited",
    }
}

impl Core {
    fn lockout(&self) -> MutexGuard<'_, Lockout> {
        self.inner.lockout.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What a login as `username` from `source` is verified against. A banned source is refused
    /// at once (`SourceBanned`); otherwise the exchange runs the same way whether the account
    /// exists, is locked for this source, or does not exist (decoys derived from the server's
    /// secret), so neither the answer nor its timing tells them apart.
    pub async fn credentials(&self, username: &str, source: IpAddr, now: Instant) -> Result<Account, SaslError> {
        let config = &self.inner.config.lockout;
        let shared_source =
            if config.source_max_failures > 0 { self.shared_failures(LockoutKind::Source, || source_key(source)).await } else { 0 };
        self.lockout().check_source_counting(source, now, shared_source)?;
        // Read for unknown names too, so that the round trip does not tell them apart.
        let shared_user =
            if config.max_failures > 0 { self.shared_failures(LockoutKind::User, || user_key(username, source)).await } else { 0 };
        let stored = self.inner.store.credentials(username).await.map_err(|err| {
            tracing::error!(target: "notification", %err, username, "credential look-up failed");
            SaslError::TemporaryFailure
        })?;
        let secret = &self.inner.config.decoy_secret;
        let iterations = Credentials::DEFAULT_ITERATIONS;
        let Some(list) = stored else { return Ok(Account::Unknown(secret.credentials(username, iterations))) };
        let mut credentials = Credentials {
            entries: list
                .into_iter()
                .filter_map(|c| {
                    Some(ScramCredentials {
                        hash: HashAlg::from_name(&c.hash)?,
                        salt: c.salt,
                        iterations: c.iterations,
                        stored_key: c.stored_key,
                        server_key: c.server_key,
                    })
                })
                .collect(),
        };
        secret.complete(&mut credentials, username, iterations);
        // Counted from now until the exchange ends, so that guesses run in parallel get no
        // further than guesses one after another.
        let allowed = self.lockout().begin_attempt_counting(username, source, now, shared_user);
        Ok(if allowed { Account::Existing(credentials) } else { Account::Locked(credentials) })
    }

    /// The failures the cluster counted under `key` (0 on a single node).
    async fn shared_failures(&self, kind: LockoutKind, key: impl FnOnce() -> String) -> u64 {
        match &self.inner.shared_lockout {
            Some(shared) => shared.counters().failures(kind, &key()).await,
            None => 0,
        }
    }

    /// Queues `update` for the cluster's shared counters (nothing on a single node).
    fn share(&self, update: impl FnOnce() -> SharedUpdate) {
        if let Some(shared) = &self.inner.shared_lockout {
            shared.push(update());
        }
    }

    /// Counts a failed login from `source`: toward the account's lock for that source when the
    /// account exists and the password was wrong, and toward the source's ban for every refused
    /// login (existing account or not) and every over-long username. Logs the lock and the ban
    /// once each, when they begin.
    pub fn auth_failed(&self, username: Option<&str>, error: &SaslError, source: IpAddr, now: Instant) {
        self.metrics().auth_failed(failure_kind(error));
        if let Some(user) = username {
            self.lockout().end_attempt(user, source, now);
        }
        if !error.counts_against_source() {
            return;
        }
        let existing = if *error == SaslError::NotAuthorized { username } else { None };
        let verdict = self.lockout().record_failure(existing, source, now);
        let config = &self.inner.config.lockout;
        if let Some(user) = existing
            && config.max_failures > 0
        {
            self.share(|| SharedUpdate::Failure { kind: LockoutKind::User, key: user_key(user, source), window: config.lock_duration });
        }
        if config.source_max_failures > 0 && !config.is_exempt(source) {
            self.share(|| SharedUpdate::Failure { kind: LockoutKind::Source, key: source_key(source), window: config.source_ban });
        }
        if verdict.locked_account {
            let (username, failures, secs) =
                (existing.unwrap_or_default(), self.inner.config.lockout.max_failures, self.inner.config.lockout.lock_duration.as_secs());
            tracing::warn!(target: "notification", username, %source, failures, lock_secs = secs, "account locked for this source after repeated failed logins");
        }
        if verdict.banned_source {
            let (failures, secs) = (self.inner.config.lockout.source_max_failures, self.inner.config.lockout.source_ban.as_secs());
            tracing::info!(target: "notification", %source, failures, ban_secs = secs, "source banned after repeated failed logins");
        }
    }

    /// Whether a login whose password the caller has already verified (the web services remember
    /// an HTTP Basic password for a short while) may go ahead now: the source is not banned and
    /// the account is not locked for it. Reads no store, so a remembered password costs no
    /// look-up; the full check ([`Core::credentials`]) runs when the memory expires. In a
    /// cluster it reads this node's counts only (not the shared ones), for the same reason.
    pub fn standing(&self, username: &str, source: IpAddr, now: Instant) -> Result<(), SaslError> {
        let mut lockout = self.lockout();
        lockout.check_source(source, now)?;
        if lockout.is_locked(username, source, now) {
            return Err(SaslError::AccountLocked);
        }
        Ok(())
    }

    /// Clears the account's failures from `source` after a successful login.
    pub fn auth_succeeded(&self, username: &str, source: IpAddr) {
        self.metrics().logins.inc();
        self.lockout().record_success(username, source);
        self.share(|| SharedUpdate::Clear { kind: LockoutKind::User, key: user_key(username, source) });
    }
}
