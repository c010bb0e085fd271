//! Thin transport drivers around the sans-IO cores: TLS set-up (a self-signed certificate on
//! first start), the TCP c2s listener with STARTTLS, and the HTTP(S) listener carrying BOSH and
//! XMPP over WebSocket. Each driver only moves bytes between a
//! socket and a `herald-stream` machine and carries out the machine's outputs against the core.

mod accept;
mod admission;
#[path = "xmpp/bosh.rs"]
mod bosh;
#[path = "xmpp/c2s.rs"]
mod c2s;
#[path = "http/mod.rs"]
mod http;
#[path = "http/fast.rs"]
mod http1;
#[path = "xmpp/session.rs"]
mod session;
mod tls;
#[path = "xmpp/ws.rs"]
mod ws;

pub use admission::{Admission, AdmissionConfig, SessionRefusal, SourceTable};
pub use bosh::Registry;
pub use c2s::{C2sContext, serve_c2s};
pub use http::{HttpContext, WebSocketConfig, serve_http};
pub use http1::fuzz_head;
pub use tls::{TlsError, TlsFiles, load_or_generate};
