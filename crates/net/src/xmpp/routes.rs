//! BOSH and XMPP over WebSocket as a listener's routes, and BOSH's fast path: what the server
//! composes and hands to the generic HTTP plumbing (`crate::http`).

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use super::context::{AppState, HttpContext, ListenerSettings};
use super::peers::BoshAnswer;
use super::registry::Reply;
use super::{bosh, ws};
use crate::http::{Begun, FastPath, Parked};

/// Where BOSH is served (with and without the trailing slash, as clients spell it).
const BOSH_PATHS: [&str; 2] = ["/http-bind", "/http-bind/"];
/// Where XMPP over WebSocket is served.
const WEBSOCKET_PATHS: [&str; 2] = ["/ws", "/ws/"];

/// The XMPP transports of one HTTP listener, sharing `ctx`; `secure` says whether the listener
/// is HTTPS (the sessions' TLS policy follows it).
pub struct XmppHttp {
    state: AppState,
}

impl XmppHttp {
    /// The transports of one listener; their stream settings are made once, here.
    pub fn new(ctx: Arc<HttpContext>, secure: bool) -> Self {
        let listener = Arc::new(ListenerSettings::new(&ctx, secure));
        Self { state: AppState { ctx, listener } }
    }

    /// BOSH (XEP-0124/XEP-0206): `POST` a `<body/>`, or `GET` a short description.
    pub fn bosh_routes(&self) -> Router {
        BOSH_PATHS
            .iter()
            .fold(Router::new(), |router, path| router.route(path, post(bosh::handle).get(bosh::describe)))
            .with_state(self.state.clone())
    }

    /// XMPP over WebSocket (RFC 7395): the upgrade.
    pub fn websocket_routes(&self) -> Router {
        WEBSOCKET_PATHS.iter().fold(Router::new(), |router, path| router.route(path, get(ws::upgrade))).with_state(self.state.clone())
    }

    /// BOSH's fast path: its `POST`s served without hyper, so that a held long poll keeps
    /// nothing but its parked connection.
    pub fn bosh_fast_path(&self) -> Arc<BoshFastPath> {
        Arc::new(BoshFastPath { state: self.state.clone() })
    }

    /// Serves a BOSH request another node of the cluster forwarded (`body` as its client sent
    /// it): through the same session machinery as a request of this node's clients (held
    /// requests, the rid window, retransmission), under the same limits. Resolves when the
    /// session answers (up to its `wait` later); a sid this node does not hold gets the 404 of
    /// an unknown sid, and a request without one a 400 (sessions are created where clients land).
    pub fn serve_forwarded_bosh(&self, body: &[u8]) -> impl Future<Output = BoshAnswer> + Send + 'static {
        let begun = bosh::begin_forwarded(&self.state, body);
        async move {
            let (status, body) = bosh::answer(begun).await;
            BoshAnswer { status, body }
        }
    }
}

/// BOSH `POST`s taken ahead of hyper (see `crate::http::FastPath`); they get the same answers
/// as through the router.
pub struct BoshFastPath {
    state: AppState,
}

impl FastPath for BoshFastPath {
    const HEADERS: &'static [(&'static str, &'static str)] =
        &[("content-type", bosh::CONTENT_TYPE), ("cache-control", bosh::CACHE_CONTROL)];

    fn claims(&self, path: &str) -> bool {
        BOSH_PATHS.contains(&path)
    }

    type Later = bosh::ForSession;

    fn begin(&self, peer: IpAddr, body: &[u8]) -> Begun<bosh::ForSession> {
        bosh::begin(&self.state, peer, body)
    }

    /// The session's task keeps the connection with the request and answers on it.
    fn park(&self, later: bosh::ForSession, connection: Parked) {
        later.send(Reply::Connection(connection));
    }
}
