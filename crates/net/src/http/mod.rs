//! The HTTPS listener (port 7443) and the optional plain-HTTP one: one accept loop with a
//! connection limit; BOSH `POST`s served by `http1`, everything else (and every later request
//! of a connection once something else came) by hyper HTTP/1.1 with upgrades and an axum router
//! for BOSH (`/http-bind/`) and XMPP over WebSocket (`/ws/`), with CORS for browser clients.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, header};
use axum::routing::{get, post};
use herald_bosh::BoshConfig;
use herald_core::Core;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::admission::{Admission, ConnectionPermit};
use crate::bosh::Registry;

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
    /// Origins allowed by CORS; `*` allows any.
    pub cors_origins: Vec<String>,
    /// Largest HTTP request body (a BOSH `<body/>`).
    pub max_body_bytes: usize,
    /// Connection slots and per-source limits (shared with the c2s listener), and the limits
    /// on BOSH sessions that have not authenticated.
    pub admission: Arc<Admission>,
    /// A request, head and body, must arrive within this time of its first byte.
    pub request_timeout: Duration,
    /// Longest the TLS handshake of an HTTPS connection may take.
    pub tls_handshake_timeout: Duration,
    /// How often each BOSH session writes its statistics lines to the debug log (`None`: never).
    pub session_stats: Option<Duration>,
    /// Live BOSH sessions.
    pub registry: Registry,
    /// Turns true when the server stops.
    pub shutdown: watch::Receiver<bool>,
    /// Dropped by every task when it ends, so shutdown can wait for all of them.
    pub done: mpsc::Sender<()>,
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
    fn new(ctx: &HttpContext, secure: bool) -> Self {
        use herald_stream::{Framing, TlsPolicy};
        let tls = if secure { TlsPolicy::AlreadySecure } else { TlsPolicy::Unavailable };
        let stream = |framing| Arc::new(herald_stream::StreamConfig { framing, tls, ..(*ctx.bosh.stream).clone() });
        Self { bosh: BoshConfig { secure, stream: stream(Framing::Bosh), ..ctx.bosh.clone() }, websocket: stream(Framing::WebSocket) }
    }
}

fn cors(origins: &[String]) -> CorsLayer {
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(Duration::from_secs(86_400))
}

/// The router of one listener.
pub(crate) fn router(state: AppState) -> Router {
    let limit = state.ctx.max_body_bytes;
    let cors = cors(&state.ctx.cors_origins);
    Router::new()
        .route("/http-bind", post(crate::bosh::handle).get(crate::bosh::describe))
        .route("/http-bind/", post(crate::bosh::handle).get(crate::bosh::describe))
        .route("/ws", get(crate::ws::upgrade))
        .route("/ws/", get(crate::ws::upgrade))
        .layer(DefaultBodyLimit::max(limit))
        .layer(cors)
        .with_state(state)
}

/// Serves HTTP on `listener` (HTTPS when `tls` is given) until the context's shutdown.
pub async fn serve_http(listener: TcpListener, tls: Option<TlsAcceptor>, ctx: Arc<HttpContext>) {
    let secure = tls.is_some();
    let listener_settings = Arc::new(ListenerSettings::new(&ctx, secure));
    let app = router(AppState { ctx: ctx.clone(), listener: listener_settings.clone() });
    let shutdown = ctx.shutdown.clone();
    let addr = listener.local_addr().ok();
    tracing::info!(target: "notification", ?addr, secure, "HTTP bind service started");
    crate::accept::accept_loop(listener, ctx.admission.clone(), shutdown.clone(), |socket, addr, permit| {
        let (app, tls, shutdown, done) = (app.clone(), tls.clone(), shutdown.clone(), ctx.done.clone());
        let state = AppState { ctx: ctx.clone(), listener: listener_settings.clone() };
        let client = Client { addr, permit };
        async move {
            // Both branches are boxed, and in a statement of their own (a temporary alive across
            // an await stays in the future's layout): a task's future is as large as its largest
            // state, and the TLS stream's would otherwise be carried by every plain-HTTP
            // connection (measured with massif and heaptrack).
            let serving: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> = match tls {
                Some(acceptor) => Box::pin(serve_tls(acceptor, socket, state, app, client, shutdown)),
                None => Box::pin(crate::http1::serve(socket, state, app, client, shutdown)),
            };
            serving.await;
            drop(done);
        }
    })
    .await;
    ctx.registry.close_all();
    tracing::info!(target: "notification", ?addr, "HTTP bind service stopped");
}

/// The TLS handshake (bounded in time), then the connection.
async fn serve_tls(
    acceptor: TlsAcceptor,
    socket: tokio::net::TcpStream,
    state: AppState,
    app: Router,
    client: Client,
    shutdown: watch::Receiver<bool>,
) {
    let peer = client.addr;
    let handshake = Box::pin(tokio::time::timeout(state.ctx.tls_handshake_timeout, acceptor.accept(socket)));
    match handshake.await {
        Ok(Ok(stream)) => crate::http1::serve(stream, state, app, client, shutdown).await,
        Ok(Err(err)) => tracing::debug!(target: "notification", %peer, %err, "TLS handshake failed"),
        Err(_) => tracing::debug!(target: "notification", %peer, "TLS handshake timed out"),
    }
}

/// One accepted HTTP client: its address, and its place under the connection limits, which
/// whatever serves the connection (or an upgraded WebSocket) holds while it lives.
#[derive(Clone)]
pub(crate) struct Client {
    pub(crate) addr: SocketAddr,
    pub(crate) permit: Arc<ConnectionPermit>,
}

/// Serves a connection with hyper and the router (WebSocket upgrades, CORS preflights, and
/// whatever else is not a plain BOSH `POST`; see `http1`). A request's head must arrive within
/// `request_timeout` (hyper times the whole head) and so must its body (one deadline for the
/// whole body, not one per read).
pub(crate) async fn serve_connection<S>(
    stream: S,
    app: Router,
    client: Client,
    request_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let peer = client.addr;
    let service = tower::ServiceBuilder::new()
        .map_request(move |mut request: axum::http::Request<hyper::body::Incoming>| {
            // The handlers learn the client's address (per-address limits, the lockout) from
            // the request's extensions, as axum's `ConnectInfo`, and a WebSocket upgrade takes
            // the connection's permit along (the upgraded socket outlives this future).
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            request.extensions_mut().insert(client.permit.clone());
            request
        })
        .layer(tower_http::timeout::RequestBodyDeadlineLayer::new(request_timeout))
        .service(app.into_service());
    let service = TowerToHyperService::new(service);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(request_timeout).keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(target: "notification", %peer, %err, "HTTP connection ended with an error");
    }
}
