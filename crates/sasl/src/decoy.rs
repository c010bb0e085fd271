//! Decoy credentials for names that have no account: derived from a server secret and the name,
//! so that a SCRAM challenge for an unknown name carries a salt that is as stable as a real
//! account's, and verifying a password against them costs the same PBKDF2 work.

use crate::{Credentials, HashAlg, ScramCredentials};

/// The server's secret for decoy credentials. It must survive restarts (a salt that changed on
/// restart would mark the name as unknown) and never leave the server.
#[derive(Clone)]
pub struct DecoySecret([u8; 32]);

impl std::fmt::Debug for DecoySecret {
    /// Never prints the secret itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecoySecret(..)")
    }
}

/// Length of a decoy salt: the length of the salts Herald gives real accounts.
const SALT_BYTES: usize = 16;

impl DecoySecret {
    /// Wraps 32 secret bytes (the caller generates and keeps them).
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// HMAC-SHA-256(secret, label NUL hash NUL username): one independent value per use.
    fn derive(&self, label: &str, hash: HashAlg, username: &str) -> Vec<u8> {
        let data = [label.as_bytes(), b"\0", hash.name().as_bytes(), b"\0", username.as_bytes()].concat();
        HashAlg::Sha256.hmac(&self.0, &data)
    }

    /// Decoy credentials for `hash` and `username`: a stable salt, the iteration count real
    /// accounts use, and keys no password matches (finding one is a hash pre-image).
    pub fn entry(&self, hash: HashAlg, username: &str, iterations: u32) -> ScramCredentials {
        let key_len = hash.hash(b"").len();
        let mut salt = self.derive("salt", hash, username);
        salt.truncate(SALT_BYTES);
        let mut stored_key = self.derive("stored-key", hash, username);
        stored_key.truncate(key_len);
        let mut server_key = self.derive("server-key", hash, username);
        server_key.truncate(key_len);
        ScramCredentials { hash, salt, iterations, stored_key, server_key }
    }

    /// Decoy credentials for every hash Herald offers.
    pub fn credentials(&self, username: &str, iterations: u32) -> Credentials {
        Credentials { entries: [HashAlg::Sha1, HashAlg::Sha256].into_iter().map(|h| self.entry(h, username, iterations)).collect() }
    }

    /// Adds a decoy entry for every hash `credentials` lacks, so that a real account stored
    /// without one is refused after the same work rather than at once.
    pub fn complete(&self, credentials: &mut Credentials, username: &str, iterations: u32) {
        for hash in [HashAlg::Sha1, HashAlg::Sha256] {
            if credentials.get(hash).is_none() {
                credentials.entries.push(self.entry(hash, username, iterations));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoys_are_stable_per_name_and_secret() {
        let a = DecoySecret::new([1; 32]);
        let b = DecoySecret::new([2; 32]);
        let first = a.credentials("ghost", 4096);
        assert_eq!(first, a.credentials("ghost", 4096));
        assert_ne!(first, a.credentials("ghost2", 4096));
        assert_ne!(first, b.credentials("ghost", 4096));
        let sha1 = first.get(HashAlg::Sha1).unwrap();
        let sha256 = first.get(HashAlg::Sha256).unwrap();
        assert_ne!(sha1.salt, sha256.salt);
        assert_eq!((sha1.salt.len(), sha1.stored_key.len(), sha256.stored_key.len()), (16, 20, 32));
        assert!(!first.verify_password("ghost"));
        assert_eq!(format!("{a:?}"), "DecoySecret(..)");
    }

    #[test]
    fn complete_fills_only_missing_hashes() {
        let secret = DecoySecret::new([3; 32]);
        let real = ScramCredentials::derive(HashAlg::Sha256, "pw", b"salt", 64).unwrap();
        let mut creds = Credentials { entries: vec![real.clone()] };
        secret.complete(&mut creds, "u", 64);
        assert_eq!(creds.get(HashAlg::Sha256), Some(&real));
        assert_eq!(creds.get(HashAlg::Sha1), Some(&secret.entry(HashAlg::Sha1, "u", 64)));
    }
}
