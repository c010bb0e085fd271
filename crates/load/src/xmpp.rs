//! The client side of XMPP that every transport and scenario shares: what a transport must offer
//! ([`XmppIo`]), waiting for a named element, and the login a desktop makes (SASL SCRAM, restart,
//! bind, initial presence) with its cache of salted passwords.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use herald_sasl::{HashAlg, ScramClient};
use herald_xml::Element;

use crate::{LoadError, Mechanism, Options};

/// What the login sequence needs from a transport.
pub(crate) trait XmppIo {
    /// Sends one or more serialised elements.
    fn send(&mut self, xml: &str) -> impl Future<Output = Result<(), LoadError>> + Send;
    /// The next element from the server.
    fn next(&mut self) -> impl Future<Output = Result<Element, LoadError>> + Send;
    /// Restarts the stream after SASL success.
    fn restart(&mut self) -> impl Future<Output = Result<(), LoadError>> + Send;
    /// Sends without waiting for an answer: over BOSH it rides on the next request, as a
    /// desktop's presence does (a server may hold that request for `wait` seconds).
    fn send_soon(&mut self, xml: &str) -> impl Future<Output = Result<(), LoadError>> + Send;
}

/// Salted passwords computed so far, by (salt, iterations): a real client keeps its own, so
/// repeated logins do not pay PBKDF2 again, and neither does this generator. Every account of a
/// run has the same password, so the salt and iteration count alone say what was salted.
pub(crate) type SaltCache = Arc<Mutex<HashMap<(String, u32), Vec<u8>>>>;

pub(crate) async fn next_named<T: XmppIo>(io: &mut T, name: &str) -> Result<Element, LoadError> {
    loop {
        let el = io.next().await?;
        if el.name == name {
            return Ok(el);
        }
        if el.name == "failure" || (el.name == "error" && name != "error") {
            return Err(LoadError::Auth(el.to_xml()));
        }
    }
}

/// SASL SCRAM, restart, bind of `resource` and initial presence.
pub(crate) async fn login<T: XmppIo>(io: &mut T, opts: &Options, user: &str, resource: &str, cache: &SaltCache) -> Result<(), LoadError> {
    authenticate_and_bind(io, opts, user, resource, cache).await?;
    io.send_soon("<presence xmlns='jabber:client'/>").await
}

/// SASL SCRAM, restart and bind of `resource`, without presence: a session that is not
/// available (an audit of a node's history) and so changes nothing an agent's presence drives.
pub(crate) async fn authenticate_and_bind<T: XmppIo>(
    io: &mut T,
    opts: &Options,
    user: &str,
    resource: &str,
    cache: &SaltCache,
) -> Result<(), LoadError> {
    let features = next_named(io, "features").await?;
    let (hash, name) = match opts.mechanism {
        Mechanism::ScramSha1 => (HashAlg::Sha1, "SCRAM-SHA-1"),
        Mechanism::ScramSha256 => (HashAlg::Sha256, "SCRAM-SHA-256"),
    };
    if !features.to_xml().contains(&format!(">{name}<")) {
        return Err(LoadError::Protocol(format!("{name} not offered")));
    }
    let mut client = ScramClient::new(hash, user, &opts.password, &rand::random::<[u8; 12]>());
    io.send(&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{name}'>{}</auth>", B64.encode(client.client_first())))
        .await?;
    let challenge = next_named(io, "challenge").await?;
    let server_first = String::from_utf8(B64.decode(challenge.text().trim()).map_err(|e| LoadError::Protocol(e.to_string()))?)
        .map_err(|e| LoadError::Protocol(e.to_string()))?;
    let salt = server_first.split(',').find_map(|p| p.strip_prefix("s=")).unwrap_or_default().to_owned();
    let iterations: u32 = server_first.split(',').find_map(|p| p.strip_prefix("i=")).and_then(|i| i.parse().ok()).unwrap_or(0);
    let key = (salt, iterations);
    if let Some(salted) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned() {
        client = client.with_salted_password(salted);
    }
    let fin = client.client_final(&server_first).map_err(|e| LoadError::Auth(e.to_string()))?;
    if let Some(salted) = client.salted() {
        cache.lock().unwrap_or_else(|e| e.into_inner()).insert(key, salted.to_vec());
    }
    io.send(&format!("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>", B64.encode(fin))).await?;
    let success = next_named(io, "success").await?;
    let verifier = String::from_utf8(B64.decode(success.text().trim()).unwrap_or_default()).unwrap_or_default();
    client.verify_server_final(&verifier).map_err(|_| LoadError::Auth("the server's signature is wrong".into()))?;
    io.restart().await?;
    next_named(io, "features").await?;
    io.send(&format!(
        "<iq xmlns='jabber:client' type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"
    ))
    .await?;
    let bound = next_named(io, "iq").await?;
    if bound.attr("type") != Some("result") {
        return Err(LoadError::Protocol(format!("bind failed: {}", bound.to_xml())));
    }
    Ok(())
}
