//! The contact-center service runtime: the sans-IO [`ContactCenter`] behind a mutex, the task
//! that carries out its effects in the order it emitted them (publishes, CTI requests, client
//! logs), the CTI driver, and the node setup at start. [`start`] builds it; the REST router
//! (`routes`) and the simulator's endpoint (`sim`) call into it.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use herald_cc::{ContactCenter, Effect, LogoutAction, LogoutMode, WsLog};
use herald_core::Core;
use herald_cti::{CtiMachine, CtiRequest};
use herald_pubsub::Committing;
use herald_xml::Element;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::auth::BasicAuth;
use crate::driver::{self, CtiHandle};
use crate::machine::Machine;
use crate::nodes;

/// How the service runs.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// Where `POST User/{id}/ClientLog` bodies are stored (`logs/clientlogs/` under the data
    /// directory); created when missing.
    pub client_log_dir: PathBuf,
    /// How long a successful HTTP Basic login is remembered, so that a desktop's requests do not
    /// each cost a PBKDF2 (60 s by default; zero disables the cache).
    pub basic_cache: Duration,
    /// Most remembered logins (a few per signed-in user).
    pub basic_cache_entries: usize,
    /// Items each contact-center node keeps, so that a reconnecting desktop catches up with
    /// `after`.
    pub node_max_items: usize,
    /// Node set-up operations run at once at start.
    pub setup_concurrency: usize,
}

impl Default for ServiceConfig {
    /// `logs/clientlogs` in the working directory, a 60-second cache of 100,000 logins, 50
    /// items per node, 256 set-up operations at once.
    fn default() -> Self {
        Self {
            client_log_dir: PathBuf::from("logs/clientlogs"),
            basic_cache: Duration::from_secs(60),
            basic_cache_entries: 100_000,
            node_max_items: 50,
            setup_concurrency: 256,
        }
    }
}

/// What the request handlers share.
pub(crate) struct Inner {
    pub(crate) core: Core,
    pub(crate) machine: Arc<Machine>,
    pub(crate) auth: BasicAuth,
    node_max_items: usize,
    setup_concurrency: usize,
}

/// The contact center's presence input, cheap to clone: the presence-driven logout watches
/// what arrives here.
#[derive(Clone)]
pub struct PresenceInput {
    machine: Arc<Machine>,
}

impl PresenceInput {
    /// A presence the web-services user received from `user`'s resource `resource` (available
    /// or not).
    pub fn presence(&self, user: &str, resource: &str, available: bool) {
        self.machine.with(|cc| cc.presence(crate::now_ms(), user, resource, available));
    }
}

/// The running contact-center service: serves the REST router, stops with [`CcService::stop`].
pub struct CcService {
    pub(crate) inner: Arc<Inner>,
    tasks: Vec<JoinHandle<()>>,
}

impl CcService {
    /// How many times HTTP Basic ran PBKDF2 (a cache hit does not): for tests and statistics.
    pub fn password_checks(&self) -> u64 {
        self.inner.auth.password_checks()
    }

    /// Runs `f` on the contact center (for status pages and tests); its effects are carried out
    /// as any others.
    pub fn with_center<R>(&self, f: impl FnOnce(&mut ContactCenter) -> R) -> R {
        self.inner.machine.with(f)
    }

    /// Sets the gauges only the contact center knows, `herald_agents{state}` and
    /// `herald_cti_link_up`, from its state now. The admin listener calls it before each scrape
    /// of `/metrics`: cheaper than after every call into the machine, and as fresh.
    pub fn refresh_metrics(&self) {
        let (agents, up) = self.inner.machine.with(|cc| (cc.agents_by_state(), cc.in_service()));
        let metrics = self.inner.core.metrics();
        metrics.set_agents(&agents);
        metrics.cti_link_up.set(i64::from(up));
    }

    /// What the web-services user hands the presence it receives to.
    pub fn presence_watcher(&self) -> PresenceInput {
        PresenceInput { machine: self.inner.machine.clone() }
    }

    /// Adds or replaces a contact-center user while running (`herald user add` on a live
    /// server) and sets up the nodes it needs, as at start. The CTI side is told of the agent
    /// by its owner (the simulator's `put_agent` through the [`CtiHandle`]).
    pub async fn put_user(&self, user: herald_cc::UserRecord) -> anyhow::Result<nodes::SetupReport> {
        let plans = self.inner.machine.with(|cc| cc.put_user(user));
        Ok(nodes::setup(&self.inner.core, &plans, self.inner.node_max_items, self.inner.setup_concurrency).await?)
    }

    /// Stops the effect executor, the CTI driver and the timer task. Publishes already queued to the pubsub
    /// writer still complete; effects emitted afterwards are dropped.
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Starts the service: sets up (or reconciles) every node the contact center's configuration
/// needs, then the effect executor and the CTI driver over `cti`.
pub async fn start<M: CtiMachine + 'static>(
    core: Core,
    cc: ContactCenter,
    cti: M,
    config: ServiceConfig,
) -> anyhow::Result<(CcService, CtiHandle<M>)> {
    let began = std::time::Instant::now();
    let plans = cc.node_plan();
    let report = nodes::setup(&core, &plans, config.node_max_items, config.setup_concurrency).await?;
    tracing::info!(target: "webservices", nodes = plans.len(), ?report, elapsed_ms = began.elapsed().as_millis() as u64, "contact-center nodes ready");
    tokio::fs::create_dir_all(&config.client_log_dir).await?;

    let (effects_tx, effects_rx) = mpsc::unbounded_channel();
    let (cti_tx, cti_rx) = mpsc::unbounded_channel();
    let mode = logout_mode_name(cc.logout_mode());
    let machine = Arc::new(Machine::new(cc, effects_tx));
    let executor = tokio::spawn(execute(core.clone(), effects_rx, cti_tx, config.client_log_dir.clone(), mode));
    let (handle, driver) = driver::spawn(cti, machine.clone(), cti_rx);
    let timers = tokio::spawn({
        let machine = machine.clone();
        async move { machine.run_timers().await }
    });
    let auth = BasicAuth::new(config.basic_cache, config.basic_cache_entries);
    let inner = Arc::new(Inner { core, machine, auth, node_max_items: config.node_max_items, setup_concurrency: config.setup_concurrency });
    Ok((CcService { inner, tasks: vec![executor, driver, timers] }, handle))
}

/// The effect executor: publishes are queued to pubsub one after another (so their order is
/// kept) and their commits awaited together; CTI requests go to the driver; client logs are
/// written, then published.
/// The `mode` label of `herald_presence_logouts_total`.
fn logout_mode_name(mode: LogoutMode) -> &'static str {
    match mode {
        LogoutMode::Uccx => "uccx",
        LogoutMode::Ucce => "ucce",
    }
}

/// The `action` label of `herald_presence_logouts_total`: the state requested, as Finesse names it.
fn logout_action_name(action: LogoutAction) -> &'static str {
    match action {
        LogoutAction::Logout => "LOGOUT",
        LogoutAction::NotReady => "NOT_READY",
    }
}

/// Counts a presence-driven logout when its request to the CTI side is logged (`mode`: the
/// contact center's logout mode).
fn count_logout(core: &Core, line: &WsLog, mode: &str) {
    if let WsLog::MessageToCti { action, .. } = line {
        core.metrics().presence_logout(mode, logout_action_name(*action));
    }
}

async fn execute(
    core: Core,
    mut effects: mpsc::UnboundedReceiver<Effect>,
    cti: mpsc::UnboundedSender<CtiRequest>,
    log_dir: PathBuf,
    logout_mode: &'static str,
) {
    let mut commits: FuturesUnordered<futures_util::future::BoxFuture<'static, ()>> = FuturesUnordered::new();
    loop {
        let effect = tokio::select! {
            effect = effects.recv() => match effect { Some(e) => e, None => break },
            Some(()) = commits.next(), if !commits.is_empty() => continue,
        };
        match effect {
            Effect::Publish { node, payload } => {
                if let Some(commit) = publish(&core, &node, payload) {
                    commits.push(Box::pin(commit));
                }
            }
            Effect::Cti(request) => {
                if cti.send(request).is_err() {
                    tracing::error!(target: "webservices", "CTI driver gone: request dropped");
                }
            }
            Effect::Log(line) => {
                count_logout(&core, &line, logout_mode);
                tracing::info!(target: "webservices", "{line}");
            }
            Effect::StoreClientLog { file_name, text, node, payload } => {
                let (core, dir) = (core.clone(), log_dir.clone());
                tokio::spawn(async move {
                    match store_client_log(&dir, &file_name, &text).await {
                        Ok(path) => {
                            tracing::info!(target: "webservices", path = %path.display(), bytes = text.len(), "client log stored");
                            if let Some(commit) = publish(&core, &node, payload) {
                                commit.await;
                            }
                        }
                        Err(err) => tracing::error!(target: "webservices", %err, file_name, "client log not stored"),
                    }
                });
            }
        }
    }
    while commits.next().await.is_some() {}
}

/// Queues a publish as the server; the returned future logs a failed commit.
fn publish(core: &Core, node: &str, payload: Element) -> Option<impl Future<Output = ()> + Send + 'static> {
    match core.pubsub().publish_queued(None, node, None, Some(payload)) {
        Ok((_, committing)) => Some(log_commit(node.to_owned(), committing)),
        Err(err) => {
            tracing::error!(target: "webservices", %err, node, "contact-center publish refused");
            None
        }
    }
}

async fn log_commit(node: String, committing: Committing) {
    if let Err(err) = committing.wait().await {
        tracing::error!(target: "webservices", %err, node, "contact-center publish not committed");
    }
}

/// Why a client log was not stored.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientLogError {
    /// The name is not one plain file name (no directories, no `..`).
    #[error("refused file name {0:?}")]
    BadName(String),
    /// Writing failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Writes `text` as `dir/file_name`, creating `dir`; `file_name` must be one plain component
/// of `[A-Za-z0-9._-]`, so nothing is ever written outside `dir`.
pub(crate) async fn store_client_log(dir: &Path, file_name: &str, text: &str) -> Result<PathBuf, ClientLogError> {
    let plain = !file_name.is_empty()
        && file_name.len() <= 255
        && file_name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && matches!(Path::new(file_name).components().collect::<Vec<_>>().as_slice(), [Component::Normal(_)]);
    if !plain {
        return Err(ClientLogError::BadName(file_name.to_owned()));
    }
    let path = dir.join(file_name);
    let io = |source| ClientLogError::Io { path: path.clone(), source };
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    tokio::fs::write(&path, text.as_bytes()).await.map_err(io)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn presence_driven_logouts_are_counted_by_mode_and_action() {
        let store = herald_store::AnyStore::Memory(herald_store::MemoryStore::new());
        let core = Core::start(herald_core::CoreConfig::new("example.com"), store).await.unwrap();
        let sent = |action| WsLog::MessageToCti { agent: "1001".into(), action, reason_code: 255, forced: true, extension: None, at: 0 };
        count_logout(&core, &sent(LogoutAction::NotReady), logout_mode_name(LogoutMode::Ucce));
        count_logout(&core, &sent(LogoutAction::Logout), logout_mode_name(LogoutMode::Uccx));
        count_logout(&core, &WsLog::LogoutHeld { agent: "1001".into(), at: 0, why: "on a call" }, "uccx");
        let text = core.metrics().encode();
        assert!(text.contains("herald_presence_logouts_total{mode=\"ucce\",action=\"NOT_READY\"} 1"), "{text}");
        assert!(text.contains("herald_presence_logouts_total{mode=\"uccx\",action=\"LOGOUT\"} 1"), "{text}");
        assert_eq!(text.matches("herald_presence_logouts_total{").count(), 2, "a held logout is not a logout sent");
    }

    #[tokio::test]
    async fn client_logs_never_leave_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs/clientlogs");
        for bad in ["", ".", "..", "../x.log", "a/b.log", "/etc/passwd", "a\\b", "é.log"] {
            assert!(matches!(store_client_log(&logs, bad, "x").await, Err(ClientLogError::BadName(_))), "{bad:?}");
        }
        let path = store_client_log(&logs, "1001_20260101T000000.000.log", "hello").await.unwrap();
        assert_eq!(path, logs.join("1001_20260101T000000.000.log"));
        assert_eq!(std::fs::read_to_string(path).unwrap(), "hello");
    }
}
