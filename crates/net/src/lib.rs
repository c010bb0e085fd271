//! Herald's network layer. `http` is HTTP plumbing that knows nothing of XMPP (accepting, TLS,
//! a fast path ahead of hyper, the request deadline, CORS), `xmpp` the client transports (c2s
//! over TCP, BOSH and WebSocket as routes for that plumbing); beside them, what every listener
//! shares: the admission of connections, the accept loop, TLS set-up (a self-signed certificate
//! on first start) and the one [`Shutdown`] signal.

mod accept;
mod admission;
pub mod http;
mod shutdown;
mod tls;
pub mod xmpp;

pub use admission::{Admission, AdmissionConfig, SessionRefusal, SourceTable};
pub use shutdown::{Shutdown, ShutdownTrigger};
pub use tls::{TlsError, TlsFiles, load_or_generate};
