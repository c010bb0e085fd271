//! The Herald server as a library: [`run`] starts every service on listeners the caller bound
//! (tests bind `127.0.0.1:0`) and stops cleanly when the `shutdown` future completes, so a whole
//! server can be embedded in a test. The `herald` binary is a thin CLI around it.

pub mod config;
pub mod users;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
pub use config::Config;
use herald_core::{Core, CoreConfig};
use herald_net::{C2sContext, TlsFiles};
use herald_store::{AnyStore, MemoryStore, SqliteStore};
use herald_stream::{StreamConfig, TlsPolicy};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// The sockets Herald serves on, bound before [`run`] so the caller knows the ports.
pub struct Listeners {
    /// XMPP client-to-server (STARTTLS).
    pub c2s: TcpListener,
}

impl Listeners {
    /// Binds every listener the configuration names.
    pub async fn bind(config: &Config) -> anyhow::Result<Self> {
        let c2s = TcpListener::bind(config.listen.c2s).await.with_context(|| format!("cannot listen for c2s on {}", config.listen.c2s))?;
        Ok(Self { c2s })
    }
}

/// Opens the configured store (the SQLite file lives in the data directory).
pub async fn open_store(config: &Config) -> anyhow::Result<AnyStore> {
    Ok(match config.store.backend.as_str() {
        "memory" => AnyStore::Memory(MemoryStore::new()),
        _ => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
            let path = config.data_dir.join("herald.db");
            AnyStore::Sqlite(SqliteStore::open(&path).await.with_context(|| format!("cannot open database {}", path.display()))?)
        }
    })
}

/// Runs Herald on `listeners` until `shutdown` completes; then every client is sent
/// `<system-shutdown/>`, connections are given a few seconds to close, and the store is closed.
pub async fn run(listeners: Listeners, config: Config, store: AnyStore, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let configured = config.tls.cert.clone().zip(config.tls.key.clone()).map(|(cert, key)| TlsFiles { cert, key });
    let (tls, files) = herald_net::load_or_generate(configured, &config.data_dir, &config.domain)?;
    tracing::info!(target: "notification", cert = %files.cert.display(), "TLS ready");
    let core = Core::new(
        CoreConfig {
            domain: config.domain.clone(),
            session_queue: config.limits.session_queue,
            max_offline_per_user: config.limits.max_offline_per_user,
            lockout_failures: config.auth.lockout_failures,
            lockout_duration: Duration::from_secs(config.auth.lockout_secs),
        },
        store.clone(),
    );
    let stream = StreamConfig {
        framing: herald_stream::Framing::Tcp,
        domain: config.domain.clone(),
        limits: herald_xml::Limits {
            max_stanza_bytes: config.limits.max_stanza_bytes,
            max_depth: config.limits.max_depth,
            ..Default::default()
        },
        tls: if config.tls.require_starttls { TlsPolicy::Required } else { TlsPolicy::Optional },
        negotiation_timeout: config.negotiation_timeout(),
    };
    let c2s = Arc::new(C2sContext {
        core,
        stream,
        tls: Some(tokio_rustls::TlsAcceptor::from(tls)),
        max_connections: config.limits.max_connections,
        write_timeout: Duration::from_secs(30),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let listener = tokio::spawn(herald_net::serve_c2s(listeners.c2s, c2s, stop_rx, done_tx));
    tracing::info!(target: "notification", domain = %config.domain, "Herald notification service started");
    shutdown.await;
    tracing::info!(target: "notification", "shutting down: closing every client stream");
    let _ = stop_tx.send(true);
    let _ = listener.await;
    if tokio::time::timeout(Duration::from_secs(10), done_rx.recv()).await.is_err() {
        tracing::warn!(target: "notification", "some connections did not close within 10 s");
    }
    if let AnyStore::Sqlite(sqlite) = &store {
        sqlite.close().await;
    }
    tracing::info!(target: "notification", "Herald notification service stopped");
    Ok(())
}
