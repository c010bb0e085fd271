//! Stored SCRAM credentials and the hash functions they are computed with (RFC 5802 §3).

use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;

use crate::{SaslError, saslprep};

/// The hash a SCRAM credential is computed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-1, for SCRAM-SHA-1 (RFC 5802).
    Sha1,
    /// SHA-256, for SCRAM-SHA-256 (RFC 7677).
    Sha256,
}

impl HashAlg {
    /// The name used in storage and configuration.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
        }
    }

    /// Parses [`HashAlg::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "SHA-1" => Some(Self::Sha1),
            "SHA-256" => Some(Self::Sha256),
            _ => None,
        }
    }

    /// HMAC(key, data).
    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => {
                let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes any key length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            Self::Sha256 => {
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    /// H(data).
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    /// Hi(password, salt, i) = PBKDF2 with HMAC of this hash.
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            Self::Sha1 => pbkdf2::pbkdf2_hmac_array::<sha1::Sha1, 20>(password, salt, iterations).to_vec(),
            Self::Sha256 => pbkdf2::pbkdf2_hmac_array::<sha2::Sha256, 32>(password, salt, iterations).to_vec(),
        }
    }
}

/// What the server keeps for one hash: enough to verify a SCRAM proof or a plain password, not
/// enough to log in as the user (the StoredKey is a hash of the ClientKey).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScramCredentials {
    /// Which hash these were computed with.
    pub hash: HashAlg,
    /// Random per-user salt.
    pub salt: Vec<u8>,
    /// PBKDF2 iteration count (4096 by default).
    pub iterations: u32,
    /// H(HMAC(SaltedPassword, "Client Key")).
    pub stored_key: Vec<u8>,
    /// HMAC(SaltedPassword, "Server Key").
    pub server_key: Vec<u8>,
}

impl ScramCredentials {
    /// Computes the credentials for `password` (SASLprep'd first, as the client will do).
    pub fn derive(hash: HashAlg, password: &str, salt: &[u8], iterations: u32) -> Result<Self, SaslError> {
        let salted = hash.salted_password(saslprep(password)?.as_bytes(), salt, iterations);
        Ok(Self::from_salted_password(hash, &salted, salt, iterations))
    }

    /// Computes the credentials from an already salted password.
    pub fn from_salted_password(hash: HashAlg, salted: &[u8], salt: &[u8], iterations: u32) -> Self {
        let client_key = hash.hmac(salted, b"Client Key");
        Self { hash, salt: salt.to_vec(), iterations, stored_key: hash.hash(&client_key), server_key: hash.hmac(salted, b"Server Key") }
    }

    /// Checks a plain password (PLAIN, HTTP Basic) against the stored key, in constant time.
    pub fn verify_password(&self, password: &str) -> bool {
        let Ok(prepared) = saslprep(password) else { return false };
        let salted = self.hash.salted_password(prepared.as_bytes(), &self.salt, self.iterations);
        let client_key = self.hash.hmac(&salted, b"Client Key");
        self.hash.hash(&client_key).ct_eq(&self.stored_key).into()
    }
}

/// All stored credentials of one user, one entry per hash.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Credentials {
    /// One entry per hash algorithm.
    pub entries: Vec<ScramCredentials>,
}

impl Credentials {
    /// Default PBKDF2 iteration count, the RFC 7677 minimum.
    pub const DEFAULT_ITERATIONS: u32 = 4096;

    /// Derives SHA-1 and SHA-256 credentials for `password`. `salts` supplies one random salt per
    /// hash (the caller owns randomness).
    pub fn derive(password: &str, salts: [&[u8]; 2], iterations: u32) -> Result<Self, SaslError> {
        Ok(Self {
            entries: vec![
                ScramCredentials::derive(HashAlg::Sha1, password, salts[0], iterations)?,
                ScramCredentials::derive(HashAlg::Sha256, password, salts[1], iterations)?,
            ],
        })
    }

    /// The entry for `hash`.
    pub fn get(&self, hash: HashAlg) -> Option<&ScramCredentials> {
        self.entries.iter().find(|c| c.hash == hash)
    }

    /// Checks a plain password against the strongest stored entry.
    pub fn verify_password(&self, password: &str) -> bool {
        self.get(HashAlg::Sha256).or_else(|| self.entries.first()).is_some_and(|c| c.verify_password(password))
    }
}
