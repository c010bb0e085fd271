//! The hand-over to hyper: a connection (or the rest of one the fast path started) served by
//! hyper HTTP/1.1 with upgrades and the listener's router, under the request deadline and with
//! the client's address and connection permit in every request's extensions.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;

use super::settings::HttpSettings;
use crate::admission::ConnectionPermit;
use crate::shutdown::Shutdown;

/// One accepted HTTP connection: who it is, and what serves it.
pub(crate) struct Accepted {
    /// The client's address.
    pub(crate) addr: SocketAddr,
    /// Its place under the connection limits, which whatever serves the connection (or an
    /// upgraded WebSocket) holds while it lives.
    pub(crate) permit: Arc<ConnectionPermit>,
    /// The listener's router, for what the fast path does not claim.
    pub(crate) router: Router,
    /// The listener's settings.
    pub(crate) settings: Arc<HttpSettings>,
    /// The server's stop signal; held, it also counts the connection as running.
    pub(crate) shutdown: Shutdown,
}

/// Serves a connection with hyper and the router (WebSocket upgrades, CORS preflights, and
/// whatever the fast path does not claim). A request's head must arrive within
/// `request_timeout` (hyper times the whole head) and so must its body (one deadline for the
/// whole body, not one per read). When the server stops, the request in progress is finished
/// and the connection closed.
pub(crate) async fn serve_connection<S>(stream: S, accepted: Accepted)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let Accepted { addr: peer, permit, router, settings, shutdown } = accepted;
    let request_timeout = settings.request_timeout;
    let service = tower::ServiceBuilder::new()
        .map_request(move |mut request: axum::http::Request<hyper::body::Incoming>| {
            // The handlers learn the client's address (per-address limits, the lockout) from
            // the request's extensions, as axum's `ConnectInfo`, and a WebSocket upgrade takes
            // the connection's permit along (the upgraded socket outlives this future).
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            request.extensions_mut().insert(permit.clone());
            request
        })
        .layer(tower_http::timeout::RequestBodyDeadlineLayer::new(request_timeout))
        .service(router.into_service());
    let service = TowerToHyperService::new(service);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(request_timeout).keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = shutdown.recv() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(target: "notification", %peer, %err, "HTTP connection ended with an error");
    }
}
