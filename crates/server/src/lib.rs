//! The Herald server as a library: [`run`] starts every service on listeners the caller bound
//! (tests bind `127.0.0.1:0`) and stops cleanly when the `shutdown` future completes, so a whole
//! server can be embedded in a test. The `herald` binary is a thin CLI around it.

mod cc;
mod cluster;
pub mod config;
pub mod ctl_client;
pub mod directory;
mod records;
pub mod scenario;
pub mod secret;
pub mod sim_client;
pub mod users;
pub mod webservices_user;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use anyhow::Context;
pub use config::Config;
use config::StoreBackend;
/// The admin API's types (`herald ctl` parses its answers with them).
pub use herald_admin as admin;
use herald_bosh::BoshConfig;
/// The core's event seam, for whoever embeds the server ([`run_with_status`]).
pub use herald_core::{CloseCause, CoreEvent, EventSink, Origin, Subscribers, Transport};
use herald_core::{Core, CoreConfig};
use herald_net::http::{HttpSettings, NoFastPath, serve_http};
use herald_net::xmpp::{C2sContext, HttpContext, Registry, WebSocketConfig, XmppHttp};
use herald_net::{Admission, AdmissionConfig, Shutdown, ShutdownTrigger, TlsFiles};
pub use herald_observe::LogControl;
use herald_pubsub::PubSubConfig;
use herald_store::{AnyStore, MemoryStore};
use herald_stream::{Framing, StreamConfig, TlsPolicy};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The sockets Herald serves on, bound before [`run`] so the caller knows the ports.
pub struct Listeners {
    /// XMPP client-to-server (STARTTLS).
    pub c2s: TcpListener,
    /// HTTPS for BOSH and WebSocket.
    pub https: TcpListener,
    /// Optional plain HTTP for BOSH and WebSocket.
    pub http: Option<TcpListener>,
    /// HTTPS for the Finesse web services (`[listen] api`); none runs the notification service
    /// alone.
    pub api: Option<TcpListener>,
    /// Plain HTTP for the admin API (`[listen] admin`); none runs without it.
    pub admin: Option<TcpListener>,
}

/// Binds with a listen backlog large enough for a login storm (the std and tokio default of 128
/// drops SYNs when a few hundred desktops reconnect at once, and each dropped SYN costs the
/// client a one-second retransmission). The kernel caps it at `net.core.somaxconn`.
fn bind(addr: std::net::SocketAddr, backlog: u32, what: &str) -> anyhow::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() }
        .with_context(|| format!("cannot create a socket for {what}"))?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr).with_context(|| format!("cannot listen for {what} on {addr}"))?;
    socket.listen(backlog).with_context(|| format!("cannot listen for {what} on {addr}"))
}

impl Listeners {
    /// Binds every listener the configuration names.
    pub async fn bind(config: &Config) -> anyhow::Result<Self> {
        let backlog = config.limits.listen_backlog;
        let c2s = bind(config.listen.c2s, backlog, "c2s")?;
        let https = bind(config.listen.https, backlog, "HTTPS (BOSH, WebSocket)")?;
        let http = match config.listen.http {
            Some(addr) => Some(bind(addr, backlog, "HTTP (BOSH, WebSocket)")?),
            None => None,
        };
        let api = match config.listen.api {
            Some(addr) => Some(bind(addr, backlog, "HTTPS (Finesse web services)")?),
            None => None,
        };
        let admin = match config.listen.admin {
            Some(addr) => Some(bind(addr, backlog, "the admin API")?),
            None => None,
        };
        Ok(Self { c2s, https, http, api, admin })
    }
}

/// Raises the process's soft open-file limit to its hard limit (many systems start services
/// with a soft limit of 1,024, far below what one Herald holds) and returns how many client
/// connections fit under it: the configured `max_connections`, or fewer when the limit leaves
/// no room for them beside the listeners, the database and the log files. Past that many,
/// clients wait in the listen backlog instead of an accept failing with "too many open files"
/// while a real user logs in.
fn connection_budget(configured: usize) -> usize {
    use rlimit::Resource;
    let (soft, hard) = match rlimit::increase_nofile_limit(u64::MAX).and_then(|_| Resource::NOFILE.get()) {
        Ok(limits) => limits,
        Err(err) => {
            tracing::warn!(target: "notification", %err, "cannot read or raise the open-file limit; max_connections left as configured");
            return configured;
        }
    };
    let reserve = (soft / 100).clamp(64, 1024);
    let fit = usize::try_from(soft.saturating_sub(reserve)).unwrap_or(usize::MAX).max(1);
    let max = configured.min(fit);
    tracing::info!(
        target: "notification",
        "open-file limit: soft {soft}, hard {hard}; max_connections {max} (configured {configured}, {reserve} descriptors kept for listeners, database and logs)"
    );
    if max < configured {
        tracing::warn!(target: "notification", "max_connections lowered to {max} to stay below the open-file limit; raise the hard limit (LimitNOFILE, ulimit -Hn) for more");
    }
    max
}

/// Opens the configured store (a relative SQLite path is under the data directory).
pub async fn open_store(config: &Config) -> anyhow::Result<AnyStore> {
    match config.store.backend {
        StoreBackend::Memory => Ok(AnyStore::Memory(MemoryStore::new())),
        StoreBackend::Sqlite => open_sqlite(&config.data_dir.join(&config.store.path)).await,
        StoreBackend::Postgres => open_postgres(config.store.url.as_deref().unwrap_or_default(), config.store.max_connections).await,
    }
}

/// Connects to PostgreSQL and brings its schema up to date (once, whichever node of a cluster
/// gets there first).
#[cfg(feature = "postgres")]
async fn open_postgres(url: &str, max_connections: u32) -> anyhow::Result<AnyStore> {
    Ok(AnyStore::Postgres(herald_store::PostgresStore::open(url, max_connections).await?))
}

/// Without the `postgres` feature there is no PostgreSQL backend: refused at start.
#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str, _max_connections: u32) -> anyhow::Result<AnyStore> {
    anyhow::bail!(
        "store.backend = \"postgres\", but this herald was built without the `postgres` feature: rebuild with the default features"
    )
}

/// Opens the SQLite database at `path`, creating its directory first.
#[cfg(feature = "sqlite")]
async fn open_sqlite(path: &std::path::Path) -> anyhow::Result<AnyStore> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create data directory {}", dir.display()))?;
    }
    Ok(AnyStore::Sqlite(herald_store::SqliteStore::open(path).await?))
}

/// Without the `sqlite` feature there is no SQLite backend: refused at start, saying what to do.
#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(_path: &std::path::Path) -> anyhow::Result<AnyStore> {
    anyhow::bail!(
        "store.backend = \"sqlite\", but this herald was built without the `sqlite` feature: set store.backend = \"memory\" or rebuild with the default features"
    )
}

/// What a running server holds live: bound sessions and BOSH sessions. There is no
/// administrative endpoint yet, so it is read in-process (the soak test checks with it that
/// nothing outlives its clients). It observes and keeps nothing alive.
#[derive(Clone, Default)]
pub struct Status {
    http: Arc<OnceLock<Weak<HttpContext>>>,
    bound: Arc<BoundSessions>,
}

/// Counts sessions from the core's events: bound and not yet unbound.
#[derive(Default)]
struct BoundSessions(AtomicUsize);

impl EventSink for BoundSessions {
    fn event(&self, event: &CoreEvent) {
        match event {
            CoreEvent::SessionBound { .. } => drop(self.0.fetch_add(1, Ordering::Relaxed)),
            CoreEvent::SessionUnbound { .. } => drop(self.0.fetch_sub(1, Ordering::Relaxed)),
            CoreEvent::PresenceChanged { .. } => {}
        }
    }
}

impl Status {
    fn http(&self) -> Option<Arc<HttpContext>> {
        self.http.get().and_then(Weak::upgrade)
    }

    /// Sessions bound over any transport and not yet unbound (a session replaced by a new login
    /// counts until its transport has closed), from the core's events; `None` unless the server
    /// is running.
    pub fn bound_sessions(&self) -> Option<usize> {
        self.http().map(|_| self.bound.0.load(Ordering::Relaxed))
    }

    /// BOSH sessions, including ended ones still answering late requests; `None` unless the
    /// server is running.
    pub fn bosh_sessions(&self) -> Option<usize> {
        self.http().map(|h| h.registry.len())
    }

    /// The running server's HTTP transports' context (its core, its debug-logging control), for
    /// tests that watch the live counters; `None` unless the server is running.
    pub fn http_context(&self) -> Option<Arc<HttpContext>> {
        self.http()
    }
}

/// What the desktop page is told about this node (`/desktop/config.json`), or nothing when
/// `[desktop] enabled` is off.
fn desktop_settings(config: &Config, https_addr: Option<std::net::SocketAddr>) -> Option<herald_desktop::DesktopSettings> {
    let d = &config.desktop;
    d.enabled.then(|| {
        let port = d.notification_port.or(https_addr.map(|a| a.port())).unwrap_or(config.listen.https.port());
        herald_desktop::DesktopSettings {
            transport: d.transport,
            ping_secs: d.ping_secs,
            drift_secs: d.drift_secs,
            assets_dir: d.assets_dir.clone(),
            ..herald_desktop::DesktopSettings::new(port)
        }
    })
}

/// BOSH and XMPP over WebSocket on one HTTP listener (HTTPS when `tls` is given): their routes
/// and BOSH's fast path, composed here and served by the generic HTTP plumbing.
async fn serve_xmpp_http(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    settings: Arc<HttpSettings>,
    ctx: Arc<HttpContext>,
    shutdown: Shutdown,
) {
    let xmpp = XmppHttp::new(ctx, tls.is_some());
    let router = axum::Router::new().merge(xmpp.bosh_routes()).merge(xmpp.websocket_routes());
    serve_http(listener, tls, settings, router, Some(xmpp.bosh_fast_path()), shutdown).await;
}

/// The web services as this process runs them: alone, or as a node of a cluster (with the REST
/// listener's task).
enum WebServices {
    Single(cc::Running),
    Node((Arc<cluster::Node>, Option<tokio::task::JoinHandle<()>>)),
}

/// Starts this node of a cluster: the bus, `finesse`, and — with a REST listener — the
/// contention for the CTI lease and the listener (served here while this node leads, forwarded
/// to the leader otherwise). A node without one carries sessions only and never leads.
async fn start_node(
    joined: herald_cluster::Cluster,
    config: &Config,
    store: &AnyStore,
    core: &Core,
    rest: Option<cc::RestListener>,
    bosh: Arc<cluster::ForwardedBosh>,
    shutdown: Shutdown,
) -> anyhow::Result<(Arc<cluster::Node>, Option<tokio::task::JoinHandle<()>>)> {
    let Some(cc::RestListener { listener, tls, settings, desktop }) = rest else {
        let node = cluster::Node::start(joined, config, core, None, bosh, shutdown).await?;
        return Ok((node, None));
    };
    let api_port = listener.local_addr()?.port();
    // Every node's simulator endpoint takes the same token: any node forwards it to the leader.
    let token = joined.shared_secret("sim").await.context("reading the cluster's simulator token")?;
    let sim_token = herald_admin::token::write_given_token(&config.data_dir, sim_client::TOKEN_FILE, token)?;
    let start = cluster::LeaderStart { config: config.clone(), store: store.clone(), core: core.clone(), api_port, sim_token };
    let node = cluster::Node::start(joined, config, core, Some(start), bosh, shutdown.clone()).await?;
    let mut router = node.rest_router();
    if let Some(desktop) = desktop {
        router = herald_desktop::router(&desktop).merge(router);
    }
    let task = tokio::spawn(serve_http(listener, Some(tls), Arc::new(settings), router, None::<Arc<NoFastPath>>, shutdown));
    tracing::info!(target: "webservices", node = node.id(), "web services ready (answered on the node driving the CTI side, forwarded to it from the others)");
    Ok((node, Some(task)))
}

/// Runs Herald on `listeners` until `shutdown` completes; then every client is sent
/// `<system-shutdown/>`, connections are given a few seconds to close, and the store is closed.
pub async fn run(listeners: Listeners, config: Config, store: AnyStore, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let log = detached_log_control(&config);
    run_with_status(listeners, config, store, shutdown, Status::default(), Subscribers::default(), log).await
}

/// A debug-logging switch attached to no subscriber (a server embedded in a program that
/// installed its own, or none), starting as `[log] debug` says: the session statistics lines
/// and `herald ctl logging` follow it.
pub fn detached_log_control(config: &Config) -> LogControl {
    let log = LogControl::default();
    // A detached control only keeps the flag: this cannot fail.
    let _ = log.set_debug(config.log.debug);
    log
}

/// [`run`], with `status` showing what the server holds live while it runs and `events` told
/// what happens to sessions (besides the server's own subscribers); `log` is the debug-logging
/// switch the admin API turns (the one `herald_observe::init_with` returned).
pub async fn run_with_status(
    listeners: Listeners,
    config: Config,
    store: AnyStore,
    shutdown: impl Future<Output = ()>,
    status: Status,
    mut events: Subscribers,
    log: LogControl,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let configured = config.tls.cert.clone().zip(config.tls.key.clone()).map(|(cert, key)| TlsFiles { cert, key });
    let (tls, files) = herald_net::load_or_generate(configured, &config.data_dir, &config.domain)?;
    tracing::info!(target: "notification", cert = %files.cert.display(), "TLS ready");
    let mut decoy_secret = secret::load_or_create(&config.data_dir)?;
    events.register(status.bound.clone());
    let (recorder, record_writer) = records::start(store.clone(), config.log.close_records_keep);
    events.register(recorder);
    let local = |l: &TcpListener| l.local_addr().ok();
    let addresses = cluster::Addresses {
        c2s: local(&listeners.c2s),
        https: local(&listeners.https),
        api: listeners.api.as_ref().and_then(local),
        admin: listeners.admin.as_ref().and_then(local),
    };
    // A node joins before the core loads the shared state: what others change meanwhile waits
    // in its inbox.
    let joined = match config.cluster.enabled() {
        true => Some(cluster::join(&config, &addresses).await?),
        false => None,
    };
    let metrics = herald_metrics::Metrics::new();
    let (remote, replicator, shared_lockout) = match &joined {
        Some(joined) => {
            // Every node answers an unknown name with the same decoy salt: two nodes must not
            // tell an attacker, by disagreeing, which names do not exist.
            decoy_secret = cluster::decoy_secret(joined).await?;
            let seams = cluster::seams(joined, &config.domain, &metrics);
            events.register(seams.directory);
            (Some(seams.remote), Some(seams.replicator), Some(seams.lockout))
        }
        None => (None, None, None),
    };
    // The contact center's accounts and rosters are in the store before the core loads them.
    let prepared = match listeners.api {
        Some(_) => Some(cc::sendable(cc::prepare(&config, &store)).await.context("preparing the contact center")?),
        None => None,
    };
    let core = Core::start(
        CoreConfig {
            domain: config.domain.clone(),
            session_queue: config.limits.session_queue,
            state: config.state_limits(),
            // An exchange lasts at most the negotiation timeout: attempts begun longer ago are over.
            lockout: herald_sasl::LockoutConfig { attempt_window: config.negotiation_timeout(), ..config.auth.lockout() },
            decoy_secret,
            pubsub: PubSubConfig {
                default_max_items: config.pubsub.max_items,
                users_create_nodes: config.pubsub.users_create_nodes,
                max_node_name_bytes: config.pubsub.max_node_name_bytes,
                max_item_id_bytes: config.pubsub.max_item_id_bytes,
                max_nodes_per_owner: config.pubsub.max_nodes_per_owner,
                max_subscriptions_per_jid: config.pubsub.max_subscriptions_per_jid,
            },
            replicator,
            events,
            metrics,
            remote,
            shared_lockout,
        },
        store.clone(),
    )
    .await
    .context("loading the publish-subscribe state")?;
    let stream = StreamConfig {
        framing: herald_stream::Framing::Tcp,
        domain: config.domain.clone(),
        limits: herald_xml::Limits {
            max_stanza_bytes: config.limits.max_stanza_bytes,
            max_depth: config.limits.max_depth,
            max_attributes: config.limits.max_attributes,
            ..Default::default()
        },
        tls: if config.tls.require_starttls { TlsPolicy::Required } else { TlsPolicy::Optional },
        negotiation_timeout: config.negotiation_timeout(),
        max_unauthenticated_bytes: config.limits.max_unauthenticated_bytes,
        rate_limit: config.client_rate_limit(),
        unlimited_users: config.limits.client_unlimited_users.clone().into(),
    };
    let admission = Admission::new(AdmissionConfig {
        max_connections: connection_budget(config.limits.max_connections),
        max_connections_per_source: config.limits.max_connections_per_source,
        max_unauthenticated_sessions: config.bosh.max_unauthenticated_sessions,
        max_unauthenticated_per_source: config.bosh.max_unauthenticated_per_source,
        creation_rate_per_source: config.bosh.creation_rate_per_source,
        creation_burst_per_source: config.bosh.creation_burst_per_source,
    });
    let acceptor = TlsAcceptor::from(tls);
    let (trigger, stopping) = ShutdownTrigger::new();
    let settings = Arc::new(HttpSettings {
        name: "HTTP bind",
        admission: admission.clone(),
        tls_handshake_timeout: Duration::from_secs(config.limits.tls_handshake_timeout_secs),
        request_timeout: Duration::from_secs(config.http.request_timeout_secs),
        first_request_timeout: Duration::from_secs(config.http.first_request_timeout_secs),
        idle_timeout: Duration::from_secs(config.http.idle_timeout_secs),
        max_body_bytes: config.http.max_body_bytes,
        cors_origins: config.http.cors_origins.clone(),
    });
    let http = Arc::new(HttpContext {
        core: core.clone(),
        bosh: BoshConfig {
            max_wait: Duration::from_secs(config.bosh.max_wait_secs),
            max_hold: config.bosh.max_hold,
            inactivity: Duration::from_secs(config.bosh.inactivity_secs),
            polling: Duration::from_secs(config.bosh.polling_secs),
            maxpause: Duration::from_secs(config.bosh.maxpause_secs),
            max_pending: config.bosh.max_pending,
            unauthenticated_inactivity: Duration::from_secs(config.bosh.unauthenticated_inactivity_secs),
            secure: true,
            stream: Arc::new(StreamConfig { framing: Framing::Bosh, ..stream.clone() }),
        },
        websocket: WebSocketConfig {
            max_message_bytes: config.websocket.max_message_bytes,
            ping_interval: Duration::from_secs(config.websocket.ping_interval_secs),
            see_other_uri: config.websocket.see_other_uri.clone(),
        },
        cors_origins: config.http.cors_origins.clone(),
        max_body_bytes: config.http.max_body_bytes,
        admission: admission.clone(),
        session_stats: Duration::from_secs(config.log.session_stats_secs),
        log: log.clone(),
        registry: Registry::default(),
        // In a cluster, a request naming a session of another node is forwarded there.
        bosh_peers: joined
            .as_ref()
            .map(|joined| cluster::bosh_peers(joined, Duration::from_secs(config.bosh.max_wait_secs), core.metrics())),
        shutdown: stopping.clone(),
    });
    let c2s = Arc::new(C2sContext {
        core: core.clone(),
        stream: Arc::new(stream),
        tls: Some(acceptor.clone()),
        admission,
        write_timeout: Duration::from_secs(config.limits.write_timeout_secs),
        tls_handshake_timeout: Duration::from_secs(config.limits.tls_handshake_timeout_secs),
        shutdown: stopping.clone(),
    });
    let (c2s_addr, https_addr, api_addr) = (addresses.c2s, addresses.https, addresses.api);
    let http_addr = listeners.http.as_ref().and_then(local);
    let mut tasks = vec![
        tokio::spawn(herald_net::xmpp::serve_c2s(listeners.c2s, c2s)),
        tokio::spawn(serve_xmpp_http(listeners.https, Some(acceptor.clone()), settings.clone(), http.clone(), stopping.clone())),
    ];
    if let Some(plain) = listeners.http {
        tasks.push(tokio::spawn(serve_xmpp_http(plain, None, settings.clone(), http.clone(), stopping.clone())));
    }
    let rest = listeners.api.map(|api| cc::RestListener {
        listener: api,
        tls: acceptor.clone(),
        settings: HttpSettings {
            name: "REST API",
            admission: settings.admission.clone(),
            tls_handshake_timeout: settings.tls_handshake_timeout,
            request_timeout: settings.request_timeout,
            first_request_timeout: settings.first_request_timeout,
            idle_timeout: settings.idle_timeout,
            // A client log may be 1,048,576 characters; the web services refuse larger bodies
            // themselves, with an ApiErrors document.
            max_body_bytes: herald_cc::parse::MAX_BODY_BYTES,
            cors_origins: settings.cors_origins.clone(),
        },
        desktop: desktop_settings(&config, https_addr),
    });
    let web_services = match (joined, rest, prepared) {
        // A cluster's node prepared the store; its leader prepares again when it takes over.
        (Some(joined), rest, _) => {
            let bosh = cluster::ForwardedBosh::new(&http);
            Some(WebServices::Node(start_node(joined, &config, &store, &core, rest, bosh, stopping.clone()).await?))
        }
        (None, Some(rest), Some(prepared)) => {
            Some(WebServices::Single(cc::sendable(cc::start(&config, prepared, &core, rest, stopping.clone())).await?))
        }
        _ => None,
    };
    if let Some(listener) = listeners.admin {
        // Only what the configuration runs: an optional listener left off is not a service down.
        let mut services = vec![("c2s", c2s_addr), ("HTTP bind", https_addr)];
        if config.listen.http.is_some() {
            services.push(("HTTP bind (plain)", http_addr));
        }
        if config.listen.api.is_some() {
            services.push(("REST API", api_addr));
        }
        services.push(("admin", listener.local_addr().ok()));
        let token = herald_admin::token::write_token(&config.data_dir, herald_admin::token::ADMIN_TOKEN_FILE)?;
        let cti = web_services.as_ref().map(|w| match w {
            WebServices::Single(running) => Arc::new(cc::CenterView(running.service())) as herald_admin::CtiProbe,
            WebServices::Node((node, _)) => Arc::new(node.leader_view()) as herald_admin::CtiProbe,
        });
        let state = Arc::new(herald_admin::AdminState {
            token,
            core: core.clone(),
            store: store.clone(),
            log,
            data_dir: config.data_dir.clone(),
            client_log_dir: config.data_dir.join(&config.cc.client_log_dir),
            config_json: herald_admin::bundle::sanitized_json(&config),
            started,
            services,
            cti,
            cluster: match &web_services {
                Some(WebServices::Node((node, _))) => Some(Arc::new(node.operations()) as Arc<dyn herald_admin::ClusterView>),
                _ => None,
            },
        });
        let admin_settings = Arc::new(HttpSettings {
            name: "admin",
            admission: settings.admission.clone(),
            tls_handshake_timeout: settings.tls_handshake_timeout,
            request_timeout: settings.request_timeout,
            first_request_timeout: settings.first_request_timeout,
            idle_timeout: settings.idle_timeout,
            max_body_bytes: settings.max_body_bytes,
            // No browser is meant to call it.
            cors_origins: Vec::new(),
        });
        let router = herald_admin::router(state);
        tasks.push(tokio::spawn(serve_http(listener, None, admin_settings, router, None::<Arc<NoFastPath>>, stopping.clone())));
    }
    drop(stopping);
    let _ = status.http.set(Arc::downgrade(&http));
    tracing::info!(target: "notification", domain = %config.domain, "Herald notification service started");
    shutdown.await;
    tracing::info!(target: "notification", "shutting down: closing every client stream");
    trigger.trigger();
    // BOSH sessions wait on nothing but their mailbox while idle: they are told there.
    http.registry.close_all();
    drop(http);
    for task in tasks {
        let _ = task.await;
    }
    let grace = Duration::from_secs(config.limits.shutdown_grace_secs);
    let mut node = None;
    match web_services {
        Some(WebServices::Single(running)) => running.stop().await,
        Some(WebServices::Node((joined, task))) => {
            if let Some(task) = task {
                let _ = task.await;
            }
            node = Some(joined);
        }
        None => {}
    }
    if !trigger.wait(grace).await {
        tracing::warn!(target: "notification", "some connections did not close within {} s", grace.as_secs());
    }
    // A cluster's node leaves after its clients are gone: their sessions' ends (the agents'
    // unavailable presence, for the presence-driven logout on the node driving the CTI side) still
    // cross to the other nodes.
    if let Some(node) = node {
        node.stop().await;
    }
    core.flush().await;
    // The core and its seam go with this function; the recorder's last records are written
    // (bounded: a core clone still held elsewhere would keep the writer waiting).
    drop(core);
    if tokio::time::timeout(Duration::from_secs(5), record_writer).await.is_err() {
        tracing::warn!(target: "notification", "the last close records were not written within 5 s");
    }
    store.close().await;
    tracing::info!(target: "notification", "Herald notification service stopped");
    Ok(())
}
