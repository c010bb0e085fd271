//! Thin transport drivers around the sans-IO cores: TLS set-up (a self-signed certificate on
//! first start) and the TCP c2s listener with STARTTLS. Each driver only moves bytes between a
//! socket and a `herald-stream` machine and carries out the machine's outputs against the core.

mod c2s;
mod session;
mod tls;

pub use c2s::{C2sContext, serve_c2s};
pub use tls::{TlsError, TlsFiles, load_or_generate};
