//! The server side of a SASL exchange as a state machine: start with the client's mechanism and
//! initial response, supply the user's credentials when asked, feed each client response.

use subtle::ConstantTimeEq;

use crate::scram::{attributes, b64, decode_saslname, nonce_from, unb64};
use crate::{Credentials, HashAlg, SaslError, ScramCredentials, saslprep};

/// The mechanisms Herald offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// SCRAM-SHA-256 (RFC 7677), preferred.
    ScramSha256,
    /// SCRAM-SHA-1 (RFC 5802), for older clients.
    ScramSha1,
    /// PLAIN (RFC 4616); offered only on encrypted streams.
    Plain,
}

impl Mechanism {
    /// All mechanisms, strongest first.
    pub const ALL: [Mechanism; 3] = [Self::ScramSha256, Self::ScramSha1, Self::Plain];

    /// The IANA name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha1 => "SCRAM-SHA-1",
            Self::Plain => "PLAIN",
        }
    }

    /// Parses an IANA name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether the mechanism sends the password itself and so needs an encrypted stream.
    pub fn needs_encryption(self) -> bool {
        self == Self::Plain
    }
}

/// Longest username accepted, in bytes: the RFC 7622 cap on a JID localpart. Longer ones are
/// refused before SASLprep and before any look-up.
pub const MAX_USERNAME_BYTES: usize = 1023;

/// What the server verifies a login against. Every variant carries credentials so that every
/// exchange sends the same kind of challenge and does the same work; only an existing,
/// unlocked account can succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Account {
    /// The account exists: its stored credentials.
    Existing(Credentials),
    /// The account exists but is locked for this client: its stored credentials (its salt, as
    /// always), refused at the end with [`SaslError::AccountLocked`].
    Locked(Credentials),
    /// No such account: decoy credentials (see [`crate::DecoySecret`]), refused at the end
    /// with [`SaslError::UnknownAccount`].
    Unknown(Credentials),
}

impl Account {
    fn credentials(&self) -> &Credentials {
        match self {
            Self::Existing(c) | Self::Locked(c) | Self::Unknown(c) => c,
        }
    }

    fn standing(&self) -> Standing {
        match self {
            Self::Existing(_) => Standing::Existing,
            Self::Locked(_) => Standing::Locked,
            Self::Unknown(_) => Standing::Unknown,
        }
    }
}

/// Which kind of [`Account`] an exchange runs against, kept until the verdict.
#[derive(Clone, Copy, Debug)]
enum Standing {
    Existing,
    Locked,
    Unknown,
}

impl Standing {
    /// `Ok` for an existing account whose secret matched; the refusal otherwise.
    fn verdict(self, matched: bool) -> Result<(), SaslError> {
        match self {
            Self::Existing if matched => Ok(()),
            Self::Existing => Err(SaslError::NotAuthorized),
            Self::Locked => Err(SaslError::AccountLocked),
            Self::Unknown => Err(SaslError::UnknownAccount),
        }
    }
}

/// Refuses an over-long username before anything is done with it.
fn check_length(username: &str) -> Result<(), SaslError> {
    if username.len() > MAX_USERNAME_BYTES { Err(SaslError::UsernameTooLong) } else { Ok(()) }
}

/// What the server must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Look up the credentials of `username` and call [`ServerSession::provide_credentials`].
    NeedCredentials {
        /// The SASLprep'd username the client claims.
        username: String,
    },
    /// Send this challenge to the client and wait for its response.
    Challenge(Vec<u8>),
    /// Authentication succeeded; send `additional` data with the success.
    Success {
        /// The authenticated username.
        username: String,
        /// Data to carry in `<success/>` (SCRAM's server-final), if any.
        additional: Option<Vec<u8>>,
    },
}

#[derive(Debug)]
enum State {
    PlainAwaitingCredentials {
        username: String,
        password: String,
    },
    ScramAwaitingCredentials {
        hash: HashAlg,
        username: String,
        client_first_bare: String,
        client_nonce: String,
        gs2_header: String,
    },
    ScramAwaitingFinal {
        username: String,
        creds: ScramCredentials,
        nonce: String,
        auth_prefix: String,
        gs2_header: String,
        /// The kind of account the credentials came from (which decides the verdict).
        standing: Standing,
    },
    Done,
}

/// One server-side SASL exchange.
#[derive(Debug)]
pub struct ServerSession {
    state: State,
}

impl ServerSession {
    /// Starts an exchange. `initial` is the decoded initial response (empty when the client sent
    /// none; SCRAM then gets an empty challenge first — see [`ServerSession::awaiting_initial`]).
    pub fn start(mechanism: Mechanism, initial: &[u8]) -> Result<(Self, Step), SaslError> {
        let text = std::str::from_utf8(initial).map_err(|_| SaslError::MalformedRequest("not UTF-8"))?;
        match mechanism {
            Mechanism::Plain => {
                let mut parts = text.split('\0');
                let (Some(authzid), Some(authcid), Some(password), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
                    return Err(SaslError::MalformedRequest("PLAIN needs authzid NUL authcid NUL password"));
                };
                check_length(authcid)?;
                let username = saslprep(authcid)?;
                check_length(&username)?;
                if username.is_empty() {
                    return Err(SaslError::MalformedRequest("empty username"));
                }
                if !authzid.is_empty() && !authzid_matches(authzid, &username) {
                    return Err(SaslError::InvalidAuthzid);
                }
                let step = Step::NeedCredentials { username: username.clone() };
                Ok((Self { state: State::PlainAwaitingCredentials { username, password: password.to_owned() } }, step))
            }
            Mechanism::ScramSha1 | Mechanism::ScramSha256 => {
                let hash = if mechanism == Mechanism::ScramSha1 { HashAlg::Sha1 } else { HashAlg::Sha256 };
                let (gs2_header, bare) = split_gs2(text)?;
                let attrs = attributes(bare)?;
                let (Some(('n', name)), Some(('r', nonce))) = (attrs.first().copied(), attrs.get(1).copied()) else {
                    return Err(SaslError::MalformedRequest("client-first must start with n= and r="));
                };
                if attrs.iter().any(|(k, _)| *k == 'm') {
                    return Err(SaslError::MalformedRequest("mandatory extensions are not supported"));
                }
                // An escaped name is at most three times as long as the name.
                if name.len() > 3 * MAX_USERNAME_BYTES {
                    return Err(SaslError::UsernameTooLong);
                }
                let decoded = decode_saslname(name)?;
                check_length(&decoded)?;
                let username = saslprep(&decoded)?;
                check_length(&username)?;
                if username.is_empty() || nonce.is_empty() || !nonce.chars().all(|c| c.is_ascii_graphic() && c != ',') {
                    return Err(SaslError::MalformedRequest("empty username or bad nonce"));
                }
                if let Some(authzid) = gs2_header.split(',').nth(1).and_then(|a| a.strip_prefix("a="))
                    && !authzid_matches(&decode_saslname(authzid)?, &username)
                {
                    return Err(SaslError::InvalidAuthzid);
                }
                let step = Step::NeedCredentials { username: username.clone() };
                let state = State::ScramAwaitingCredentials {
                    hash,
                    username,
                    client_first_bare: bare.to_owned(),
                    client_nonce: nonce.to_owned(),
                    gs2_header: gs2_header.to_owned(),
                };
                Ok((Self { state }, step))
            }
        }
    }

    /// Whether a SCRAM exchange was started without an initial response; the driver then sends an
    /// empty challenge and calls [`ServerSession::start`] again with the client's response.
    pub fn awaiting_initial(mechanism: Mechanism, initial: &[u8]) -> bool {
        mechanism != Mechanism::Plain && initial.is_empty()
    }

    /// Supplies what the claimed username is verified against. `random` seeds the server nonce.
    /// Whatever the account, the same challenge is sent and the same work done; the verdict
    /// comes at the end (see [`Account`]).
    pub fn provide_credentials(&mut self, account: &Account, random: &[u8]) -> Result<Step, SaslError> {
        self.provide_credentials_with_nonce(account, &nonce_from(random))
    }

    /// [`ServerSession::provide_credentials`] with the server's nonce part given as printable text,
    /// which is how the RFC test vectors state it.
    pub fn provide_credentials_with_nonce(&mut self, account: &Account, server_nonce: &str) -> Result<Step, SaslError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::PlainAwaitingCredentials { username, password } => {
                // The same PBKDF2 work whatever the account (decoys are verified too).
                account.standing().verdict(account.credentials().verify_password(&password))?;
                Ok(Step::Success { username, additional: None })
            }
            State::ScramAwaitingCredentials { hash, username, client_first_bare, client_nonce, gs2_header } => {
                // Herald stores every hash for every account and completes decoys; a missing
                // entry can only be refused.
                let creds = account.credentials().get(hash).cloned().ok_or(SaslError::NotAuthorized)?;
                let nonce = format!("{client_nonce}{server_nonce}");
                let server_first = format!("r={nonce},s={},i={}", b64(&creds.salt), creds.iterations);
                let auth_prefix = format!("{client_first_bare},{server_first}");
                let standing = account.standing();
                self.state = State::ScramAwaitingFinal { username, creds, nonce, auth_prefix, gs2_header, standing };
                Ok(Step::Challenge(server_first.into_bytes()))
            }
            State::ScramAwaitingFinal { .. } | State::Done => Err(SaslError::MalformedRequest("credentials were not asked for")),
        }
    }

    /// Feeds a client response (decoded from base64).
    pub fn respond(&mut self, data: &[u8]) -> Result<Step, SaslError> {
        let State::ScramAwaitingFinal { username, creds, nonce, auth_prefix, gs2_header, standing } =
            std::mem::replace(&mut self.state, State::Done)
        else {
            return Err(SaslError::MalformedRequest("no response expected"));
        };
        let text = std::str::from_utf8(data).map_err(|_| SaslError::MalformedRequest("not UTF-8"))?;
        let proof_at = text.rfind(",p=").ok_or(SaslError::MalformedRequest("client-final has no proof"))?;
        let (without_proof, proof) = (&text[..proof_at], &text[proof_at + 3..]);
        let attrs = attributes(without_proof)?;
        let (Some(('c', binding)), Some(('r', final_nonce))) = (attrs.first().copied(), attrs.get(1).copied()) else {
            return Err(SaslError::MalformedRequest("client-final must start with c= and r="));
        };
        if unb64(binding)? != gs2_header.as_bytes() {
            return Err(SaslError::MalformedRequest("channel binding does not match the GS2 header"));
        }
        if final_nonce != nonce {
            return Err(SaslError::MalformedRequest("nonce changed"));
        }
        let proof = unb64(proof)?;
        let auth_message = format!("{auth_prefix},{without_proof}");
        let hash = creds.hash;
        let signature = hash.hmac(&creds.stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        let matches: bool = hash.hash(&client_key).ct_eq(&creds.stored_key).into();
        standing.verdict(matches && proof.len() == signature.len())?;
        let server_signature = hash.hmac(&creds.server_key, auth_message.as_bytes());
        Ok(Step::Success { username, additional: Some(format!("v={}", b64(&server_signature)).into_bytes()) })
    }
}

fn authzid_matches(authzid: &str, username: &str) -> bool {
    authzid == username || authzid.split('@').next() == Some(username)
}

/// Splits `gs2-header client-first-bare`; channel binding (`p=`) is refused since no -PLUS
/// mechanism is offered.
fn split_gs2(text: &str) -> Result<(&str, &str), SaslError> {
    let first = text.find(',').ok_or(SaslError::MalformedRequest("no GS2 header"))?;
    let second = text[first + 1..].find(',').map(|p| p + first + 1).ok_or(SaslError::MalformedRequest("no GS2 header"))?;
    match &text[..first] {
        "n" | "y" => Ok((&text[..=second], &text[second + 1..])),
        _ => Err(SaslError::MalformedRequest("channel binding is not offered")),
    }
}
