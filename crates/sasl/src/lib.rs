//! SASL for Herald, sans-IO: the server side of PLAIN, SCRAM-SHA-1 and SCRAM-SHA-256 as state
//! machines, the credentials they verify against (salt, iterations, StoredKey, ServerKey — never a
//! password), decoy credentials for unknown names, a SCRAM client for tests and the load
//! generator, and the failed-login lockout and per-source ban (bounded tables).
//!
//! Randomness (nonces, salts) and time are passed in by the caller, so every exchange is
//! reproducible in tests.

mod credentials;
mod decoy;
mod lockout;
mod network;
mod scram;
mod server;
mod table;

pub use credentials::{Credentials, HashAlg, ScramCredentials};
pub use decoy::DecoySecret;
pub use lockout::{Lockout, LockoutConfig, Verdict};
pub use network::{BadNetwork, Network, source_key};
pub use scram::ScramClient;
pub use server::{Account, MAX_USERNAME_BYTES, Mechanism, ServerSession, Step};

/// The text of every `<not-authorized/>` answer to a login that reached verification, whatever
/// the cause (wrong password, unknown account, account locked for this address): the answer must
/// not tell an attacker which accounts exist or which are locked.
const REFUSED: &str = "wrong username or password (after repeated failures, logins are refused for a while)";

/// Why an authentication exchange failed. Each variant maps to the RFC 6120 §6.5 SASL failure
/// condition named by [`SaslError::condition`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// The client asked for a mechanism the server does not offer here.
    #[error("mechanism not offered")]
    InvalidMechanism,
    /// The client's message does not follow the mechanism's syntax.
    #[error("malformed request: {0}")]
    MalformedRequest(&'static str),
    /// The payload was not valid base64.
    #[error("incorrect base64 encoding")]
    IncorrectEncoding,
    /// The client asked to act as another identity.
    #[error("authorization identity not permitted")]
    InvalidAuthzid,
    /// Wrong password for an existing account. The client cannot tell this from
    /// [`SaslError::UnknownAccount`] or [`SaslError::AccountLocked`]: same condition, same text.
    #[error("{REFUSED}")]
    NotAuthorized,
    /// No such account (verified against decoy credentials, so it costs and answers the same).
    #[error("{REFUSED}")]
    UnknownAccount,
    /// The account is locked for this source address after repeated failures (the right password
    /// is refused too, with the same answer as a wrong one).
    #[error("{REFUSED}")]
    AccountLocked,
    /// The client's address failed too many logins (any accounts): refused for the remaining
    /// seconds without looking anything up.
    #[error("too many failed logins from your address; try again in {0} seconds")]
    SourceBanned(u64),
    /// The claimed username is longer than [`MAX_USERNAME_BYTES`]; refused before any look-up.
    #[error("username longer than {MAX_USERNAME_BYTES} bytes")]
    UsernameTooLong,
    /// The client aborted the exchange.
    #[error("aborted by the client")]
    Aborted,
    /// The credentials could not be read (the store failed); the client may retry.
    #[error("temporary authentication failure")]
    TemporaryFailure,
    /// A password or username could not be prepared with SASLprep.
    #[error("username or password contains prohibited characters")]
    Prohibited,
}

impl SaslError {
    /// The `<failure/>` child condition (RFC 6120 §6.5).
    pub fn condition(&self) -> &'static str {
        match self {
            Self::InvalidMechanism => "invalid-mechanism",
            Self::MalformedRequest(_) | Self::Prohibited | Self::UsernameTooLong => "malformed-request",
            Self::IncorrectEncoding => "incorrect-encoding",
            Self::InvalidAuthzid => "invalid-authzid",
            Self::NotAuthorized | Self::UnknownAccount | Self::AccountLocked | Self::SourceBanned(_) => "not-authorized",
            Self::Aborted => "aborted",
            Self::TemporaryFailure => "temporary-auth-failure",
        }
    }

    /// Whether this failure counts toward the source's ban: every refused login and every
    /// over-long username, whether or not the account exists.
    pub fn counts_against_source(&self) -> bool {
        matches!(self, Self::NotAuthorized | Self::UnknownAccount | Self::AccountLocked | Self::UsernameTooLong)
    }
}

/// SASLprep (RFC 4013) for usernames and passwords, as SCRAM and PLAIN require.
pub fn saslprep(input: &str) -> Result<String, SaslError> {
    stringprep::saslprep(input).map(|s| s.into_owned()).map_err(|_| SaslError::Prohibited)
}

/// Drives a server exchange with arbitrary bytes: the first byte picks the mechanism, the rest is
/// split on `\n` into the initial response and later responses. Shared by the fuzz target and the
/// corpus replay in `cargo test`; it must never panic.
pub fn fuzz_server(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else { return };
    let mechanism = Mechanism::ALL[usize::from(pick) % Mechanism::ALL.len()];
    let mut parts = rest.split(|b| *b == b'\n');
    let creds = Credentials::derive("pencil", [b"salt1", b"salt2"], 16).expect("static password is valid");
    let Ok((mut session, _)) = ServerSession::start(mechanism, parts.next().unwrap_or_default()) else { return };
    if session.provide_credentials(&Account::Existing(creds), b"fuzz").is_err() {
        return;
    }
    for part in parts {
        if session.respond(part).is_err() {
            return;
        }
    }
}
