//! What one HTTP listener is held to, whatever it serves: connection admission, the time a
//! client gets for its TLS handshake and its requests, the largest body, the CORS allow-list.

use std::sync::Arc;
use std::time::Duration;

use crate::admission::Admission;

/// The settings of an HTTP listener, shared by all its connections.
pub struct HttpSettings {
    /// What the listener serves, for the log (`"HTTP bind"`: "HTTP bind service started").
    pub name: &'static str,
    /// Connection slots and per-source limits (shared with every other listener).
    pub admission: Arc<Admission>,
    /// Longest the TLS handshake of an HTTPS connection may take.
    pub tls_handshake_timeout: Duration,
    /// A request, head and body, must arrive within this time of its first byte.
    pub request_timeout: Duration,
    /// A new connection must begin its first request within this time.
    pub first_request_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Origins allowed by CORS; `*` allows any.
    pub cors_origins: Vec<String>,
}
