//! SCRAM message syntax (RFC 5802 §5–7) shared by the server mechanism and the client.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::{HashAlg, SaslError, ScramCredentials, saslprep};

/// Splits `a=x,b=y` into (key, value) pairs, keeping order.
pub(crate) fn attributes(msg: &str) -> Result<Vec<(char, &str)>, SaslError> {
    msg.split(',')
        .map(|part| {
            let mut chars = part.chars();
            match (chars.next(), chars.next()) {
                (Some(k), Some('=')) if k.is_ascii_alphabetic() => Ok((k, &part[2..])),
                _ => Err(SaslError::MalformedRequest("attribute is not of the form k=value")),
            }
        })
        .collect()
}

/// Decodes a SCRAM `saslname` (`=2C` is `,` and `=3D` is `=`).
pub(crate) fn decode_saslname(name: &str) -> Result<String, SaslError> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(pos) = rest.find('=') {
        out.push_str(&rest[..pos]);
        match rest.get(pos..pos + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(SaslError::MalformedRequest("bad escape in username")),
        }
        rest = &rest[pos + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

fn encode_saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

pub(crate) fn b64(data: &[u8]) -> String {
    B64.encode(data)
}

pub(crate) fn unb64(data: &str) -> Result<Vec<u8>, SaslError> {
    B64.decode(data).map_err(|_| SaslError::IncorrectEncoding)
}

/// A printable nonce from random bytes (the caller supplies them).
pub(crate) fn nonce_from(random: &[u8]) -> String {
    b64(random).replace(',', "")
}

/// The client side of SCRAM, used by Herald's test kit and load generator (a real client would
/// cache the salted password per user, and so does this one through [`ScramClient::salted`]).
#[derive(Debug)]
pub struct ScramClient {
    hash: HashAlg,
    password: String,
    client_first_bare: String,
    nonce: String,
    auth_message: String,
    server_signature: Vec<u8>,
    salted: Option<Vec<u8>>,
}

impl ScramClient {
    /// A client for `user` with `password`; `random` seeds the client nonce.
    pub fn new(hash: HashAlg, user: &str, password: &str, random: &[u8]) -> Self {
        let nonce = nonce_from(random);
        Self {
            hash,
            password: password.to_owned(),
            client_first_bare: format!("n={},r={nonce}", encode_saslname(user)),
            nonce,
            auth_message: String::new(),
            server_signature: Vec::new(),
            salted: None,
        }
    }

    /// Reuses a salted password computed earlier for the same salt and iteration count, skipping
    /// the expensive PBKDF2 step.
    pub fn with_salted_password(mut self, salted: Vec<u8>) -> Self {
        self.salted = Some(salted);
        self
    }

    /// The salted password computed during the exchange, for caching.
    pub fn salted(&self) -> Option<&[u8]> {
        self.salted.as_deref()
    }

    /// The client-first message (with the `n,,` GS2 header).
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// Processes server-first and returns client-final.
    pub fn client_final(&mut self, server_first: &str) -> Result<String, SaslError> {
        let attrs = attributes(server_first)?;
        let find = |k: char| attrs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        let nonce = find('r').ok_or(SaslError::MalformedRequest("no nonce"))?;
        if !nonce.starts_with(&self.nonce) {
            return Err(SaslError::MalformedRequest("server nonce does not extend ours"));
        }
        let salt = unb64(find('s').ok_or(SaslError::MalformedRequest("no salt"))?)?;
        let iterations: u32 = find('i').and_then(|i| i.parse().ok()).ok_or(SaslError::MalformedRequest("bad iteration count"))?;
        let salted = match self.salted.take() {
            Some(s) => s,
            None => self.hash.salted_password(saslprep(&self.password)?.as_bytes(), &salt, iterations),
        };
        let creds = ScramCredentials::from_salted_password(self.hash, &salted, &salt, iterations);
        self.salted = Some(salted.clone());
        let without_proof = format!("c=biws,r={nonce}");
        self.auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_key = self.hash.hmac(&salted, b"Client Key");
        let signature = self.hash.hmac(&creds.stored_key, self.auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        self.server_signature = self.hash.hmac(&creds.server_key, self.auth_message.as_bytes());
        Ok(format!("{without_proof},p={}", b64(&proof)))
    }

    /// Checks the server-final message: a server that does not know the password cannot produce it.
    pub fn verify_server_final(&self, server_final: &str) -> Result<(), SaslError> {
        match server_final.strip_prefix("v=") {
            Some(v) if unb64(v)? == self.server_signature => Ok(()),
            _ => Err(SaslError::NotAuthorized),
        }
    }
}
