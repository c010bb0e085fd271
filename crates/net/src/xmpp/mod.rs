//! The XMPP client transports: c2s over TCP with STARTTLS, and over HTTP, BOSH (with its fast
//! path) and XMPP over WebSocket, offered as routes for the generic HTTP plumbing. Each driver
//! only moves bytes between a socket and a `herald-stream` machine and carries out the
//! machine's outputs against the core. In a cluster, a BOSH request for a session another node
//! holds is forwarded there through the [`BoshPeers`] seam.

mod bosh;
mod c2s;
mod context;
mod peers;
mod registry;
mod routes;
mod session;
mod ws;

pub use bosh::ForSession;
pub use c2s::{C2sContext, serve_c2s};
pub use context::{HttpContext, WebSocketConfig};
pub use peers::{BoshAnswer, BoshPeers, ForwardError, PeerFuture};
pub use registry::Registry;
pub use routes::{BoshFastPath, XmppHttp};
