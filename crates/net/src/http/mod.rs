//! HTTP plumbing that knows nothing of XMPP: [`serve_http`] accepts, shakes hands over TLS,
//! lets a [`FastPath`] claim requests before hyper, hands the rest to hyper and a router, and
//! applies the request deadline and CORS. Whoever composes a listener brings its router (and
//! fast path, if any): BOSH and WebSocket today, the REST API and admin listeners later.

mod cors;
mod fast;
mod handover;
mod serve;
mod settings;

pub use cors::allowed_origin;
pub use fast::{Begun, FastPath, NoFastPath, Parked, fuzz_head};
pub use serve::serve_http;
pub use settings::HttpSettings;
