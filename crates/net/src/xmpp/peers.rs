//! The seam between a node's BOSH sessions and the other nodes of a cluster ([`BoshPeers`]):
//! this node tells it which sessions it holds, asks it which node holds a sid it does not know,
//! and has it carry a request there. What crosses nodes is the request's body as the client sent
//! it and the owner's answer ([`BoshAnswer`]); the owner runs it through
//! [`XmppHttp::serve_forwarded_bosh`](super::XmppHttp::serve_forwarded_bosh), as a request of
//! its own clients. No Redis here: the server implements the seam over `herald-cluster`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;

use super::registry::Reply;
use crate::shutdown::Shutdown;

/// A future the seam returns, boxed so that the trait stays object-safe.
pub type PeerFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The other nodes of a cluster, as BOSH sees them. Set on
/// [`HttpContext::bosh_peers`](super::HttpContext::bosh_peers); `None` is a node alone.
pub trait BoshPeers: Send + Sync + 'static {
    /// A session with this sid now lives here (called before its creation is answered). Must
    /// not block.
    fn created(&self, sid: &str);
    /// The session with this sid ended here. Must not block.
    fn ended(&self, sid: &str);
    /// Another live node holding the session `sid`; `None` when none does (or the owner cannot
    /// be looked up: the request then gets what an unknown sid gets).
    fn owner<'a>(&'a self, sid: &'a str) -> PeerFuture<'a, Option<String>>;
    /// Carries a request's `body` (as the client sent it) to `node` and brings back its answer,
    /// which may come as late as the session's `wait` (a held long poll). Failures are logged
    /// here at debug level only: the seam warns about them (summarised: a lost node fails the
    /// polls of all its sessions at once).
    fn forward(&self, node: &str, body: Bytes) -> PeerFuture<'static, Result<BoshAnswer, ForwardError>>;
}

/// A BOSH answer as it crosses nodes: the HTTP status and the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoshAnswer {
    pub status: u16,
    pub body: String,
}

impl BoshAnswer {
    /// The status in three ASCII digits, then the body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("{:03}", self.status.min(999)).into_bytes();
        out.extend_from_slice(self.body.as_bytes());
        out
    }

    /// What [`BoshAnswer::encode`] made, or `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (status, body) = (bytes.get(..3)?, bytes.get(3..)?);
        if !status.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let status = std::str::from_utf8(status).ok()?.parse().ok()?;
        Some(Self { status, body: String::from_utf8(body.to_vec()).ok()? })
    }
}

/// Why a forwarded request got no answer from its owner.
#[derive(Debug, thiserror::Error)]
#[error("the BOSH request could not be served by node {node}: {reason}")]
pub struct ForwardError {
    pub node: String,
    pub reason: String,
}

/// How long a request naming a sid no node claims waits before it is looked up once more: a
/// session's claim is written by the cluster's sending task, so a client quick to send its next
/// request to another node may overtake it by a few milliseconds.
const CLAIM_GRACE: Duration = Duration::from_millis(100);

/// A request naming a sid this node does not hold, on its way to the node that does.
pub(crate) struct Elsewhere {
    pub(crate) sid: String,
    pub(crate) body: Bytes,
    pub(crate) peers: Arc<dyn BoshPeers>,
    /// This node's stop signal: a request still waiting for its owner's answer then is dropped.
    pub(crate) shutdown: Shutdown,
}

impl Elsewhere {
    /// Finds the owner, forwards the request and answers `reply` with what comes back; a sid no
    /// node holds, or an owner that does not answer, gets what an unknown sid gets (404). When
    /// this node stops first, the connection is closed without an answer: the session lives on
    /// at its owner, and the client sends the request again (to another node), which the
    /// session answers or retransmits as for any lost response.
    pub(crate) async fn forward(self, reply: Reply) {
        let shutdown = self.shutdown.clone();
        tokio::select! {
            answer = self.answer() => match answer {
                Some(BoshAnswer { status, body }) => reply.send(status, body),
                None => reply.send_unknown(),
            },
            () = shutdown.recv() => drop(reply),
        }
    }

    /// The owner's answer, or `None` when there is no owner or no answer.
    async fn answer(self) -> Option<BoshAnswer> {
        let Elsewhere { sid, body, peers, .. } = self;
        let owner = match peers.owner(&sid).await {
            Some(node) => Some(node),
            None => {
                tokio::time::sleep(CLAIM_GRACE).await;
                peers.owner(&sid).await
            }
        };
        let node = owner?;
        tracing::debug!(target: "notification", "HTTPBindLog: request for session {sid} forwarded to node {node}");
        peers
            .forward(&node, body)
            .await
            .inspect_err(|err| tracing::debug!(target: "notification", "HTTPBindLog: request for session {sid} got no answer: {err}"))
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::BoshAnswer;

    #[test]
    fn answers_cross_nodes_unchanged() {
        for answer in [BoshAnswer { status: 200, body: "<body xmlns='x'>é</body>".into() }, BoshAnswer { status: 404, body: String::new() }]
        {
            assert_eq!(BoshAnswer::decode(&answer.encode()), Some(answer));
        }
        for bad in [&b""[..], b"20", b"+20<body/>", b"abc", b"200\xff"] {
            assert_eq!(BoshAnswer::decode(bad), None, "{bad:?}");
        }
    }
}
