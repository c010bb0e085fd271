//! [`serve_http`]: one HTTP(S) listener, whatever it serves. It owns accepting (through the
//! shared admission), the TLS handshake, the fast path, the hand-over to hyper, the request
//! deadline and CORS; what the requests mean is the router's and the fast path's business.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::cors;
use super::fast::{self, FastPath};
use super::handover::{self, Accepted};
use super::settings::HttpSettings;
use crate::shutdown::Shutdown;

/// Serves HTTP on `listener` (HTTPS when `tls` is given) until `shutdown`: each request goes to
/// `fast_path` when it claims it, to `router` otherwise (and every later request of that
/// connection too), under the listener's `settings`. Returns once the listener has stopped
/// accepting; connections still open end on their own (each holds a copy of `shutdown`).
pub async fn serve_http<F: FastPath>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    settings: Arc<HttpSettings>,
    router: Router,
    fast_path: Option<Arc<F>>,
    shutdown: Shutdown,
) {
    let secure = tls.is_some();
    let router = router.layer(DefaultBodyLimit::max(settings.max_body_bytes)).layer(cors::layer(&settings.cors_origins));
    let addr = listener.local_addr().ok();
    let name = settings.name;
    tracing::info!(target: "notification", ?addr, secure, "{name} service started");
    crate::accept::accept_loop(listener, settings.admission.clone(), shutdown.clone(), |socket, addr, permit| {
        let accepted = Accepted { addr, permit, router: router.clone(), settings: settings.clone(), shutdown: shutdown.clone() };
        let (tls, fast) = (tls.clone(), fast_path.clone());
        async move {
            // Every branch is boxed, and in a statement of their own (a temporary alive across
            // an await stays in the future's layout): a task's future is as large as its largest
            // state, and the TLS stream's (or hyper's) would otherwise be carried by every
            // plain-HTTP fast-path connection (measured with massif and heaptrack).
            let serving: Pin<Box<dyn Future<Output = ()> + Send>> = match (tls, fast) {
                (Some(acceptor), fast) => Box::pin(serve_tls(acceptor, socket, fast, accepted)),
                (None, Some(fast)) => Box::pin(fast::serve(socket, fast, accepted)),
                (None, None) => Box::pin(handover::serve_connection(socket, accepted)),
            };
            serving.await;
        }
    })
    .await;
    tracing::info!(target: "notification", ?addr, "{name} service stopped");
}

/// The TLS handshake (bounded in time), then the connection.
async fn serve_tls<F: FastPath>(acceptor: TlsAcceptor, socket: TcpStream, fast: Option<Arc<F>>, accepted: Accepted) {
    let peer = accepted.addr;
    let handshake = Box::pin(tokio::time::timeout(accepted.settings.tls_handshake_timeout, acceptor.accept(socket)));
    match handshake.await {
        Ok(Ok(stream)) => match fast {
            Some(fast) => fast::serve(stream, fast, accepted).await,
            // Boxed: hyper's state is far larger than a held request's.
            None => Box::pin(handover::serve_connection(stream, accepted)).await,
        },
        Ok(Err(err)) => tracing::debug!(target: "notification", %peer, %err, "TLS handshake failed"),
        Err(_) => tracing::debug!(target: "notification", %peer, "TLS handshake timed out"),
    }
}
