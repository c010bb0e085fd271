//! This process as a node of a Herald cluster (issue 15; `docs/architecture/cluster.md`): it
//! joins Redis before the core loads its state, gives the core its cross-node seams (`seams`),
//! takes what other nodes send (`NodeHandler`), contends for the CTI lease and runs the contact
//! center while it holds it (`leader`; on a takeover it restores the agents' states and learns
//! who has sessions, `takeover`), and forwards to the leader the REST requests only it can
//! answer (`forward`); BOSH requests for a session another node holds go to that node (`bosh`).

mod bosh;
mod forward;
mod leader;
mod ops;
mod seams;
mod takeover;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::{Request, State};
use axum::response::Response;
use herald_cc::ApiError;
use herald_cluster::{Cluster, ClusterSettings, Envelope, Handler, NodeInfo};
use herald_core::Core;
use herald_net::Shutdown;
use herald_pubsub::Replicated;
use herald_store::AnyStore;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::{cc, webservices_user};
pub(crate) use bosh::{ForwardedBosh, peers as bosh_peers};
use forward::{WireRequest, WireResponse, api_error};
pub(crate) use leader::LeaderView;
use leader::{CTI_LEASE, Leader, Leadership, PRESENCE, PresenceChange};
use seams::{ClusterLockout, ClusterRemote, ClusterReplicator, DirectoryFeed, PUBSUB, STANZA};

/// How often a forwarded REST request checks whether the CTI lease moved (the view of it
/// changes at each refresh, every lease / 3).
const LEASE_MOVE_POLL: Duration = Duration::from_millis(100);

/// Where this node's listeners are, for the other nodes and `herald ctl status`.
pub(crate) struct Addresses {
    pub(crate) c2s: Option<SocketAddr>,
    pub(crate) https: Option<SocketAddr>,
    pub(crate) api: Option<SocketAddr>,
    pub(crate) admin: Option<SocketAddr>,
}

/// Joins the cluster `[cluster]` names (before the core loads the shared state, so that nothing
/// another node changes meanwhile is missed: it waits in this node's inbox).
pub(crate) async fn join(config: &Config, at: &Addresses) -> anyhow::Result<Cluster> {
    let c = &config.cluster;
    let node_id = c.node_id.clone().unwrap_or_else(crate::config::host_name);
    let port = |a: Option<SocketAddr>| a.map_or(0, |a| a.port());
    let info = NodeInfo {
        id: node_id.clone(),
        host: c.advertise_host.clone().unwrap_or_else(|| config.domain.clone()),
        c2s_port: port(at.c2s),
        https_port: port(at.https),
        rest_port: at.api.map(|a| a.port()),
        admin: at.admin.map(|a| a.to_string()),
        started_ms: herald_core::epoch_ms(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let settings = ClusterSettings {
        redis_url: c.redis.clone().unwrap_or_default(),
        node_id,
        lease: Duration::from_secs(c.lease_secs),
        key_prefix: c.key_prefix.clone(),
        stream_max_len: 100_000,
        info,
    };
    // From here on every message to all nodes reaches this one too (the sender fans out to the
    // nodes whose key exists when it sends), so nothing committed after this is missed.
    let cluster = Cluster::join(settings).await.context("joining the cluster")?;
    tracing::info!(target: "notification", node = cluster.node_id(), "joined the cluster");
    Ok(cluster)
}

/// The secret the decoy SCRAM salts of unknown names derive from, shared by every node (made by
/// the first node to ask, kept in Redis).
pub(crate) async fn decoy_secret(cluster: &Cluster) -> anyhow::Result<herald_sasl::DecoySecret> {
    let hex = cluster.shared_secret("decoy").await.context("reading the cluster's decoy secret")?;
    let bytes: Vec<u8> = (0..hex.len()).step_by(2).filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
    let bytes =
        <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| anyhow::anyhow!("the cluster's decoy secret in Redis is not 64 hex digits"))?;
    Ok(herald_sasl::DecoySecret::new(bytes))
}

/// The core's seams for a cluster.
pub(crate) struct Seams {
    pub(crate) remote: Arc<dyn herald_core::Remote>,
    pub(crate) replicator: Arc<dyn herald_pubsub::Replicator>,
    pub(crate) lockout: Arc<dyn herald_core::SharedLockout>,
    /// Register it with the core's event subscribers.
    pub(crate) directory: Arc<dyn herald_core::EventSink>,
}

/// The core's seams for `cluster`: the remote routing, the pubsub replication, the shared
/// lock-out counters and the directory feed.
pub(crate) fn seams(cluster: &Cluster, domain: &str, metrics: &herald_metrics::Metrics) -> Seams {
    metrics.set_node(cluster.node_id());
    let local_only = format!("{}@{domain}", webservices_user::USERNAME);
    Seams {
        remote: Arc::new(ClusterRemote { cluster: cluster.clone(), metrics: metrics.clone(), local_only: local_only.clone() }),
        replicator: Arc::new(ClusterReplicator { cluster: cluster.clone() }),
        lockout: Arc::new(ClusterLockout { cluster: cluster.clone() }),
        directory: Arc::new(DirectoryFeed { cluster: cluster.clone(), local_only, bound: Mutex::new(HashMap::new()) }),
    }
}

/// What arrives from other nodes for this node's core, taken in the order it arrived.
enum Inbound {
    Stanza(Vec<u8>),
    PubSub(Vec<u8>),
    /// This node is back after being out of the cluster: what came before this was sent before
    /// the return, what comes after it is applied after the pubsub view is reloaded.
    Rejoined,
}

/// Takes what the bus brings.
struct NodeHandler {
    inbound: mpsc::UnboundedSender<Inbound>,
    bosh: Arc<ForwardedBosh>,
    leadership: Arc<Leadership>,
    domain: String,
}

impl Handler for NodeHandler {
    fn message(&self, envelope: Envelope) {
        let inbound = match envelope.kind.as_str() {
            STANZA => Inbound::Stanza(envelope.body),
            PUBSUB => Inbound::PubSub(envelope.body),
            PRESENCE => {
                match serde_json::from_slice::<Vec<PresenceChange>>(&envelope.body) {
                    Ok(changes) => self.leadership.presence(changes),
                    Err(err) => {
                        tracing::warn!(target: "notification", from = envelope.from, %err, "unreadable presence from another node; dropped")
                    }
                }
                return;
            }
            other => {
                tracing::warn!(target: "notification", from = envelope.from, kind = other, "unknown message from another node; dropped");
                return;
            }
        };
        let _ = self.inbound.send(inbound);
    }

    fn request(&self, envelope: Envelope) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<u8>> + Send + 'static>> {
        if envelope.kind == bosh::KIND {
            return self.bosh.serve(&envelope.body);
        }
        let leadership = self.leadership.clone();
        Box::pin(async move {
            if envelope.kind == forward::KIND {
                leadership.serve_forwarded(envelope.body).await
            } else {
                tracing::warn!(target: "notification", from = envelope.from, kind = envelope.kind, "unknown request from another node");
                Vec::new()
            }
        })
    }

    fn node_lost(&self, node: &str, jids: Vec<String>) {
        let changes: Vec<PresenceChange> =
            jids.iter().filter_map(|jid| PresenceChange::of_agent(jid, &self.domain, false, node, true)).collect();
        tracing::warn!(target: "notification", node, sessions = jids.len(), "node lost: its lease expired; its sessions count as disconnected");
        // The reap reported only the sessions whose directory entry still named the dead node: a
        // desktop already back elsewhere (same resource) is not among them.
        self.leadership.presence(changes);
    }

    fn rejoined(&self) {
        let _ = self.inbound.send(Inbound::Rejoined);
    }
}

/// Delivers what other nodes sent, in order: stanzas to this node's sessions, pubsub changes to
/// the memory view and this node's subscribers.
async fn deliver_inbound(core: Core, limits: herald_xml::Limits, mut inbound: mpsc::UnboundedReceiver<Inbound>) {
    while let Some(message) = inbound.recv().await {
        match message {
            Inbound::Stanza(bytes) => match herald_xml::parse_document(&bytes, limits) {
                Ok(stanza) => core.deliver_forwarded(stanza).await,
                Err(err) => tracing::warn!(target: "notification", %err, "unreadable stanza from another node; dropped"),
            },
            Inbound::PubSub(bytes) => {
                match Replicated::decode(&bytes) {
                    Ok(batch) => core.pubsub().apply_replicated(batch),
                    Err(err) => tracing::warn!(target: "notification", %err, "unreadable pubsub changes from another node; dropped"),
                }
                // A backlog of batches (a first start's setup: hundreds of thousands of ops) is
                // ready at once and the channel would hand this task one after another without
                // a pause; yielding after each lets this worker's other tasks run between
                // them (the membership refresh, PostgreSQL connections, the logins).
                tokio::task::yield_now().await;
            }
            Inbound::Rejoined => {
                if let Err(err) = core.rejoined_cluster().await {
                    // The view stays as it was; the clients stay, and a restart reloads it.
                    tracing::error!(target: "notification", %err, "this node is back in the cluster but could not reload the pubsub state from the store; restart it");
                }
            }
        }
    }
}

/// What a node needs to start the contact center when it becomes the leader.
pub(crate) struct LeaderStart {
    pub(crate) config: Config,
    pub(crate) store: AnyStore,
    pub(crate) core: Core,
    pub(crate) api_port: u16,
    pub(crate) sim_token: String,
}

impl LeaderStart {
    async fn start(&self, cluster: &Cluster) -> anyhow::Result<Leader> {
        let prepared = cc::sendable(cc::prepare(&self.config, &self.store)).await?;
        let cc::Service { service, router, cti } =
            cc::sendable(cc::start_service(&self.config, prepared, &self.core, self.api_port, self.sim_token.clone())).await?;
        // A takeover: the agents come back in their last published states before REST is served.
        herald_api::restore_agents(&service, &cti).await;
        takeover::resume_presence(cluster, &service, &self.config.domain).await;
        Ok(Leader::new(service, router))
    }
}

/// A running cluster node.
pub(crate) struct Node {
    cluster: Cluster,
    leadership: Arc<Leadership>,
    user: webservices_user::WebServicesUser,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    timeout: Duration,
    metrics: herald_metrics::Metrics,
}

impl Node {
    /// Starts taking the bus's messages (BOSH requests forwarded here are served through
    /// `bosh`), the `finesse` session of this node, and the contention for the CTI lease
    /// (`start` runs the contact center whenever this node wins it).
    pub(crate) async fn start(
        cluster: Cluster,
        config: &Config,
        core: &Core,
        start: Option<LeaderStart>,
        bosh: Arc<ForwardedBosh>,
        shutdown: Shutdown,
    ) -> anyhow::Result<Arc<Self>> {
        let leadership = Arc::new(Leadership::new(cluster.clone()));
        let (inbound, taken) = mpsc::unbounded_channel();
        let limits = herald_xml::Limits {
            max_stanza_bytes: config.limits.max_stanza_bytes.max(1 << 20),
            max_depth: config.limits.max_depth,
            max_attributes: config.limits.max_attributes,
            ..Default::default()
        };
        let mut tasks = vec![tokio::spawn(deliver_inbound(core.clone(), limits, taken))];
        cluster.start(Arc::new(NodeHandler { inbound, bosh, leadership: leadership.clone(), domain: config.domain.clone() }));
        let watcher = leadership.clone();
        let here = cluster.node_id().to_owned();
        let user = webservices_user::start(
            core,
            Arc::new(move |user: &str, resource: &str, available: bool| {
                let (user, resource, node) = (user.to_owned(), resource.to_owned(), here.clone());
                watcher.presence(vec![PresenceChange { user, resource, available, node, lost_with: None }]);
            }),
        )
        .await?;
        let every = Duration::from_secs(config.cluster.lease_secs).div_f64(3.0);
        tasks.push(tokio::spawn(ops::watch_gauges(cluster.clone(), core.metrics().clone(), every)));
        tasks.push(tokio::spawn(flush_presence(leadership.clone(), every)));
        if let Some(start) = start {
            let lease = cluster.lease(CTI_LEASE);
            tasks.push(tokio::spawn(lead(leadership.clone(), lease, start, every, shutdown)));
        }
        let timeout = Duration::from_secs(config.cluster.forward_timeout_secs);
        let metrics = core.metrics().clone();
        Ok(Arc::new(Self { cluster, leadership, user, tasks, timeout, metrics }))
    }

    /// This node's id in the cluster.
    pub(crate) fn id(&self) -> &str {
        self.cluster.node_id()
    }

    /// The cluster's view for the admin API (`herald ctl status`, `/metrics`).
    pub(crate) fn operations(&self) -> ops::Operations {
        ops::Operations { cluster: self.cluster.clone(), metrics: self.metrics.clone() }
    }

    /// The node holding the CTI lease when it is another one.
    fn other_holder(&self) -> Option<String> {
        self.cluster.holder(CTI_LEASE).filter(|h| h != self.cluster.node_id())
    }

    /// Resolves when the CTI lease is no longer `holder`'s: `Some` the other node holding it,
    /// `None` when this node leads now. A forwarded request waits on this too: the leader may
    /// die with it (its answer never comes, and the forwarding timeout is long), while the
    /// new holder, which this node sees at its next refresh, answers at once.
    async fn lease_moved(&self, holder: &str) -> Option<String> {
        loop {
            tokio::time::sleep(LEASE_MOVE_POLL).await;
            if self.leadership.current().is_some() {
                return None;
            }
            if let Some(next) = self.other_holder().filter(|next| next != holder) {
                return Some(next);
            }
        }
    }

    /// The contact center's view for the admin API.
    pub(crate) fn leader_view(&self) -> LeaderView {
        LeaderView(Arc::downgrade(&self.leadership))
    }

    /// The REST listener's router for what is not the desktop: served here while this node
    /// leads, forwarded to the leader otherwise.
    pub(crate) fn rest_router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new().fallback(front).with_state(self.clone())
    }

    /// Stops leading (if it did), takes `finesse` offline here and leaves the cluster (its
    /// leases free at once for the others).
    pub(crate) async fn stop(self: Arc<Self>) {
        for task in &self.tasks {
            task.abort();
        }
        if let Some(leader) = self.leadership.set(None) {
            stop_leader(&leader).await;
        }
        self.cluster.leave().await;
        match Arc::try_unwrap(self) {
            Ok(node) => {
                if let Err(err) = node.user.stop().await {
                    tracing::warn!(target: "webservices", %err, "the web-services user did not sign off cleanly");
                }
            }
            Err(_) => tracing::warn!(target: "webservices", "the cluster node is still referenced at shutdown; finesse is left bound"),
        }
    }
}

async fn stop_leader(leader: &Leader) {
    let service = leader.service.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(service) = service {
        service.stop().await;
    }
}

/// Follows the CTI lease: starts the contact center when this node wins it, stops it when the
/// node loses it, tells it the live nodes (SystemInfo names them), and sends the presence that
/// waited for a leader.
async fn lead(
    leadership: Arc<Leadership>,
    mut lease: tokio::sync::watch::Receiver<bool>,
    start: LeaderStart,
    every: Duration,
    shutdown: Shutdown,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            () = shutdown.recv() => break,
            changed = lease.changed() => if changed.is_err() { break },
            _ = tick.tick() => {}
        }
        let held = *lease.borrow();
        match (held, leadership.current().is_some()) {
            (true, false) => {
                let began = std::time::Instant::now();
                match start.start(&leadership.cluster).await {
                    Ok(leader) => {
                        leadership.set(Some(Arc::new(leader)));
                        tracing::info!(target: "webservices", node = leadership.cluster.node_id(), elapsed_ms = began.elapsed().as_millis() as u64, "this node now drives the CTI side (cti lease won)");
                    }
                    Err(err) => {
                        tracing::error!(target: "webservices", err = format!("{err:#}"), "the contact center could not start on this node; retrying")
                    }
                }
            }
            (false, true) => {
                if let Some(leader) = leadership.set(None) {
                    tracing::warn!(target: "webservices", node = leadership.cluster.node_id(), "this node no longer drives the CTI side (cti lease lost)");
                    stop_leader(&leader).await;
                }
            }
            _ => {}
        }
        if let Some(leader) = leadership.current() {
            leader.set_nodes(&leadership.cluster.live_nodes());
        }
    }
}

/// Sends the presence that waited for a leader as soon as there is one (every node: a node
/// without a REST listener never leads but still reports its agents' presence).
async fn flush_presence(leadership: Arc<Leadership>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        leadership.flush();
    }
}

/// Serves a REST request: here while this node leads, forwarded to the leader otherwise.
async fn front(State(node): State<Arc<Node>>, request: Request) -> Response {
    if node.leadership.current().is_some() {
        return node.leadership.answer(request).await;
    }
    let Some(mut holder) = node.other_holder() else {
        return api_error(&ApiError::unavailable("no node drives the CTI side at the moment; one takes over within a few seconds"));
    };
    let wire = match WireRequest::read(request, herald_cc::parse::MAX_BODY_BYTES).await {
        Ok(wire) => wire,
        Err(refused) => return refused,
    };
    node.metrics.forwarded(herald_metrics::Forwarded::Rest);
    let body = wire.encode();
    let deadline = tokio::time::Instant::now() + node.timeout;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let moved = tokio::select! {
            answer = node.cluster.request(&holder, forward::KIND, body.clone(), left) => match answer {
                Ok(bytes) => return WireResponse::decode_response(&bytes),
                Err(err) => {
                    tracing::warn!(target: "webservices", node = holder, %err, "a REST request forwarded to the node driving the CTI side failed");
                    return api_error(&ApiError::unavailable(format!("the node driving the CTI side ({holder}) did not answer")));
                }
            },
            moved = node.lease_moved(&holder) => moved,
        };
        tracing::info!(target: "webservices", from = holder, to = moved.as_deref().unwrap_or(node.id()), "the cti lease moved while a forwarded REST request waited; asking the new holder");
        match moved {
            Some(next) => holder = next,
            None => return WireResponse::decode_response(&node.leadership.serve_forwarded(body).await),
        }
    }
}
