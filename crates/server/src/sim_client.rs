//! `herald sim call` and `herald sim link`: inject a call into a running server's simulator, or
//! drop, close and restore its link to the web services, through the API listener's control
//! endpoints, authenticated by the token the server wrote to `<data_dir>/sim.token` (readable by
//! whoever may run the server, nobody else).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use crate::Config;

/// The token file, under the data directory.
pub const TOKEN_FILE: &str = "sim.token";

/// A call to inject.
pub struct CallRequest {
    /// The queue's id.
    pub queue: String,
    /// The caller's number (ANI); the simulator makes one up when absent.
    pub from: Option<String>,
    /// Call variables, `name=value`.
    pub variables: Vec<(String, String)>,
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request target for `call`.
pub fn target(call: &CallRequest) -> String {
    let mut target = format!("/herald/sim/call?queue={}", encode(&call.queue));
    if let Some(from) = &call.from {
        target.push_str(&format!("&from={}", encode(from)));
    }
    for (name, value) in &call.variables {
        target.push_str(&format!("&var={}", encode(&format!("{name}={value}"))));
    }
    target
}

fn tls_connector(cert: &Path) -> anyhow::Result<tokio_rustls::TlsConnector> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(cert).with_context(|| format!("cannot read {}", cert.display()))? {
        roots.add(c.with_context(|| format!("bad certificate in {}", cert.display()))?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// The simulator's link state `herald sim link` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRequest {
    /// Gone quiet: no heartbeat, no event.
    Down,
    /// Closed: the adapter reports the connection lost, then as [`LinkRequest::Down`].
    Closed,
    /// Restored: a snapshot, then heartbeats again.
    Up,
}

impl LinkRequest {
    /// The word the endpoint takes and answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::Closed => "closed",
            Self::Up => "up",
        }
    }
}

/// The request target for setting the link to `state`.
pub fn link_target(state: LinkRequest) -> String {
    format!("{}?state={}", herald_api::SIM_LINK_PATH, state.as_str())
}

/// Sets the simulator's link of the server `config` describes; returns the state it answered.
pub async fn set_link(config: &Config, state: LinkRequest) -> anyhow::Result<String> {
    let (status, body) = post(config, &link_target(state)).await?;
    if status != hyper::StatusCode::OK {
        bail!("the server refused the link change: {status}: {body}");
    }
    let answered = herald_xml::parse_document(body.as_bytes(), herald_xml::Limits::default())
        .ok()
        .and_then(|doc| doc.child("state", "").map(|s| s.text()))
        .unwrap_or_default();
    Ok(answered)
}

/// Injects `call` into the server `config` describes; returns the call id it answered.
pub async fn inject(config: &Config, call: &CallRequest) -> anyhow::Result<String> {
    let (status, body) = post(config, &target(call)).await?;
    if status != hyper::StatusCode::ACCEPTED {
        bail!("the server refused the call: {status}: {body}");
    }
    let id = herald_xml::parse_document(body.as_bytes(), herald_xml::Limits::default())
        .ok()
        .and_then(|doc| doc.child("id", "").map(|id| id.text()))
        .unwrap_or_default();
    Ok(id)
}

/// POSTs to `target` on the API listener with the server's token; the status and body.
async fn post(config: &Config, target: &str) -> anyhow::Result<(hyper::StatusCode, String)> {
    let Some(mut addr) = config.listen.api else { bail!("listen.api is not set: the server has no API listener") };
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let token_path = config.data_dir.join(TOKEN_FILE);
    let token = std::fs::read_to_string(&token_path)
        .with_context(|| format!("cannot read {} (is the server running on this data directory?)", token_path.display()))?;
    let cert = config.tls.cert.clone().unwrap_or_else(|| config.data_dir.join("tls").join("cert.pem"));
    let tcp = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("cannot connect to {addr}"))?;
    let name = rustls::pki_types::ServerName::try_from(config.domain.clone()).context("the domain is not a valid TLS server name")?;
    let tls = tls_connector(&cert)?.connect(name, tcp).await.context("TLS handshake with the API listener failed")?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::post(target)
        .header("host", config.domain.as_str())
        .header("authorization", format!("Bearer {}", token.trim()))
        .body(Full::new(Bytes::new()))?;
    let response = sender.send_request(request).await.context("the server did not answer")?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_percent_encoded() {
        let call = CallRequest {
            queue: "100".into(),
            from: Some("+1 555".into()),
            variables: vec![("callVariable1".into(), "Chuck & Smith".into())],
        };
        assert_eq!(target(&call), "/herald/sim/call?queue=100&from=%2B1%20555&var=callVariable1%3DChuck%20%26%20Smith");
    }

    #[test]
    fn link_targets_name_the_state() {
        assert_eq!(link_target(LinkRequest::Down), "/herald/sim/link?state=down");
        assert_eq!(link_target(LinkRequest::Closed), "/herald/sim/link?state=closed");
        assert_eq!(link_target(LinkRequest::Up), "/herald/sim/link?state=up");
    }
}
