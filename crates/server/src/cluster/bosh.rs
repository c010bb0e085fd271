//! BOSH across the cluster: any node serves any BOSH request. A node claims each session it
//! creates in the cluster's ownership registry (kind `bosh`, key the sid), so that another node
//! receiving a request for that sid finds the owner and hands the request to it over the bus
//! (`request`, kind `bosh`); the owner runs it through its own session machinery
//! (`XmppHttp::serve_forwarded_bosh`) and sends back the answer, as late as the session's `wait`.
//! No sticky load balancer is needed.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::body::Bytes;
use herald_cluster::Cluster;
use herald_net::xmpp::{BoshAnswer, BoshPeers, ForwardError, HttpContext, PeerFuture, XmppHttp};
use herald_proto::LogThrottle;

/// The ownership kind of a BOSH session, and the bus request kind of a forwarded BOSH request.
pub(crate) const KIND: &str = "bosh";

/// How much longer than the longest `wait` a forwarding node waits for the owner's answer: the
/// bus's two legs and the owner's turn.
const MARGIN: Duration = Duration::from_secs(5);

/// The seam over `herald-cluster`.
struct ClusterBoshPeers {
    cluster: Cluster,
    /// `[bosh] max_wait_secs` + [`MARGIN`]: no held request is answered later than that.
    timeout: Duration,
    /// Counts each forwarded request (`herald_cluster_forwarded_total{kind="rest"}`).
    metrics: herald_metrics::Metrics,
    /// Summarises the warnings of a Redis outage or a lost node, which may come once per
    /// request of thousands of sessions.
    failures: Arc<Mutex<LogThrottle>>,
}

impl ClusterBoshPeers {
    /// Warns that `what` failed (`err`), at most once every few seconds with a count.
    fn warn(failures: &Mutex<LogThrottle>, what: &str, err: &dyn std::fmt::Display) {
        let logged = failures.lock().unwrap_or_else(|e| e.into_inner()).hit(std::time::Instant::now());
        if let Some(times) = logged {
            tracing::warn!(target: "notification", times, "{what}: {err}");
        }
    }
}

/// The [`BoshPeers`] of this node: its sessions' claims, and the way to the other nodes'.
pub(crate) fn peers(cluster: &Cluster, max_wait: Duration, metrics: &herald_metrics::Metrics) -> Arc<dyn BoshPeers> {
    let failures = Arc::new(Mutex::new(LogThrottle::default()));
    Arc::new(ClusterBoshPeers { cluster: cluster.clone(), timeout: max_wait + MARGIN, metrics: metrics.clone(), failures })
}

impl BoshPeers for ClusterBoshPeers {
    fn created(&self, sid: &str) {
        self.cluster.claim(KIND, sid);
    }

    fn ended(&self, sid: &str) {
        self.cluster.release(KIND, sid);
    }

    fn owner<'a>(&'a self, sid: &'a str) -> PeerFuture<'a, Option<String>> {
        Box::pin(async move {
            match self.cluster.owner(KIND, sid).await {
                Ok(owner) => owner.filter(|node| node != self.cluster.node_id()),
                Err(err) => {
                    Self::warn(
                        &self.failures,
                        "the BOSH sessions' owners cannot be read; requests for sessions of other nodes are refused",
                        &err,
                    );
                    None
                }
            }
        })
    }

    fn forward(&self, node: &str, body: Bytes) -> PeerFuture<'static, Result<BoshAnswer, ForwardError>> {
        self.metrics.forwarded(herald_metrics::Forwarded::Rest);
        let (cluster, node, timeout, failures) = (self.cluster.clone(), node.to_owned(), self.timeout, self.failures.clone());
        Box::pin(async move {
            let failed = |reason: String| ForwardError { node: node.clone(), reason };
            let answer = match cluster.request(&node, KIND, body.to_vec(), timeout).await {
                Ok(bytes) => BoshAnswer::decode(&bytes).ok_or_else(|| failed("its answer is not a BOSH answer".to_owned())),
                Err(err) => Err(failed(err.to_string())),
            };
            if let Err(err) = &answer {
                Self::warn(&failures, "BOSH requests forwarded to their session's node got no answer (their clients get a 404)", err);
            }
            answer
        })
    }
}

/// The owner's side: serves the BOSH requests other nodes forward, through this node's HTTP
/// context. Holds it weakly: the context holds the cluster (through its peers), which holds
/// this (through the bus handler), and a context never dropped would keep the server's
/// shutdown waiting for it.
pub(crate) struct ForwardedBosh {
    http: Weak<HttpContext>,
}

impl ForwardedBosh {
    pub(crate) fn new(http: &Arc<HttpContext>) -> Arc<Self> {
        Arc::new(Self { http: Arc::downgrade(http) })
    }

    /// The encoded answer to a forwarded request's `body` (a 404, as for an unknown sid, once
    /// the server is stopping).
    pub(crate) fn serve(&self, body: &[u8]) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send + 'static>> {
        let Some(http) = self.http.upgrade() else {
            return Box::pin(std::future::ready(BoshAnswer { status: 404, body: String::new() }.encode()));
        };
        // Sessions are never created by a forwarded request, so the listener's TLS policy does
        // not matter here.
        let serving = XmppHttp::new(http, true).serve_forwarded_bosh(body);
        Box::pin(async move { serving.await.encode() })
    }
}
