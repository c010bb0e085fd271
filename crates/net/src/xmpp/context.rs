//! What the XMPP transports over HTTP share: the core, the BOSH and WebSocket settings, the
//! live BOSH sessions, the server's stop signal; and the per-listener state their handlers get.

use std::sync::Arc;
use std::time::Duration;

use herald_bosh::BoshConfig;
use herald_core::Core;

use super::peers::BoshPeers;
use super::registry::Registry;
use crate::admission::Admission;
use crate::shutdown::Shutdown;

/// WebSocket settings.
#[derive(Clone, Debug)]
pub struct WebSocketConfig {
    /// Largest message accepted.
    pub max_message_bytes: usize,
    /// How often the server pings an idle client.
    pub ping_interval: Duration,
    /// When set, every new stream is redirected here with `<close see-other-uri/>` (RFC 7395
    /// §3.6), e.g. to move clients to another node during maintenance.
    pub see_other_uri: Option<String>,
}

/// Everything the HTTP transports share.
pub struct HttpContext {
    /// The routing core.
    pub core: Core,
    /// BOSH session settings; `secure` is set per listener.
    pub bosh: BoshConfig,
    /// WebSocket settings.
    pub websocket: WebSocketConfig,
    /// Origins allowed to open a WebSocket (the listener's CORS allow-list); `*` allows any.
    pub cors_origins: Vec<String>,
    /// Largest BOSH `<body/>` parsed (the listener's largest request body).
    pub max_body_bytes: usize,
    /// The limits on BOSH sessions that have not authenticated (and the connection limits
    /// shared with every listener).
    pub admission: Arc<Admission>,
    /// How often each BOSH session writes its statistics lines to the debug log, while debug
    /// logging is on.
    pub session_stats: Duration,
    /// Whether debug logging is on now (`herald ctl logging enable|disable`): the sessions'
    /// statistics lines start and stop with it, without a restart.
    pub log: herald_observe::LogControl,
    /// Live BOSH sessions.
    pub registry: Registry,
    /// The other nodes of the cluster, when this node is one: a BOSH request naming a sid held
    /// by another node is forwarded there. `None`: an unknown sid is unknown.
    pub bosh_peers: Option<Arc<dyn BoshPeers>>,
    /// The server's stop signal. Every task holding this context (WebSocket streams, BOSH
    /// sessions) counts as running until it ends, through this copy.
    pub shutdown: Shutdown,
}

/// Per-listener state handed to the handlers.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) ctx: Arc<HttpContext>,
    /// The session settings of this listener, made once and shared by all its sessions.
    pub(crate) listener: Arc<ListenerSettings>,
}

/// What differs between the HTTPS and the plain-HTTP listener: the sessions' TLS policy.
pub(crate) struct ListenerSettings {
    /// BOSH sessions (`secure`, BOSH framing).
    pub(crate) bosh: BoshConfig,
    /// XMPP over WebSocket streams.
    pub(crate) websocket: Arc<herald_stream::StreamConfig>,
}

impl ListenerSettings {
    pub(crate) fn new(ctx: &HttpContext, secure: bool) -> Self {
        use herald_stream::{Framing, TlsPolicy};
        let tls = if secure { TlsPolicy::AlreadySecure } else { TlsPolicy::Unavailable };
        let stream = |framing| Arc::new(herald_stream::StreamConfig { framing, tls, ..(*ctx.bosh.stream).clone() });
        Self { bosh: BoshConfig { secure, stream: stream(Framing::Bosh), ..ctx.bosh.clone() }, websocket: stream(Framing::WebSocket) }
    }
}
