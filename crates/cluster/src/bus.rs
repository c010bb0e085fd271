//! The bus between nodes: one sending task that writes every outgoing message (posts,
//! requests, replies, directory changes) in order, and one reader of this node's inbox stream
//! that resumes from the last id it read after a Redis failure, so nothing is lost or read
//! twice. Each entry carries its sender's incarnation and sequence number: an entry written
//! twice (a retried `XADD` whose first reply was lost) is delivered once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamId, StreamReadReply};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::sender::{FIRST_BACKOFF, LONGEST_BACKOFF, Outgoing, Target, unix_ms};
use crate::{BusStats, ClusterError, Envelope, Handler, Inner, lock};

/// How much longer than its block time an `XREAD` may take before the connection is
/// considered dead.
const READ_MARGIN: Duration = Duration::from_secs(2);
/// How many entries one `XREAD` returns at most.
const READ_BATCH: usize = 512;

impl Inner {
    /// Sends a request and waits for its answer, or fails with NodeGone / Timeout.
    pub(crate) async fn request(&self, node: &str, kind: &str, body: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, ClusterError> {
        self.ensure_running()?;
        if !self.is_live(node) && !self.node_key_exists(node).await? {
            return Err(ClusterError::NodeGone { node: node.to_owned() });
        }
        let id = self.next_request.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (answer, answer_rx) = oneshot::channel();
        lock(&self.pending).insert(id, answer);
        let _forget_on_return = ForgetPending { inner: self, id };
        BusStats::bump(&self.stats.requests);
        let until = unix_ms() + timeout.as_millis() as u64;
        self.queue(Outgoing::Message {
            to: Target::Node(node.to_owned()),
            kind: kind.to_owned(),
            body,
            request: Some((id, until)),
            answers: None,
        });
        let outcome = tokio::time::timeout(timeout, answer_rx).await;
        match outcome {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(_)) => Err(ClusterError::Stopped),
            Err(_) if !self.node_key_exists(node).await? => Err(ClusterError::NodeGone { node: node.to_owned() }),
            Err(_) => Err(ClusterError::Timeout { node: node.to_owned(), after: timeout }),
        }
    }

    async fn node_key_exists(&self, node: &str) -> Result<bool, ClusterError> {
        let mut conn = self.conn.clone();
        redis::cmd("EXISTS").arg(self.keys.node(node)).query_async(&mut conn).await.map_err(|e| self.redis_error(e))
    }

    /// A connection of its own for the blocking read: no response timeout (the read blocks
    /// on purpose), so it does not delay the other commands either.
    async fn reader_connection(&self) -> redis::RedisResult<MultiplexedConnection> {
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(None).set_connection_timeout(Some(crate::CONNECT_TIMEOUT));
        self.client.get_multiplexed_async_connection_with_config(&config).await
    }
}

/// Removes a request from the waiting ones however `request` ends (also when its caller
/// drops it), so an answer that never comes leaves nothing behind.
struct ForgetPending<'a> {
    inner: &'a Inner,
    id: u64,
}

impl Drop for ForgetPending<'_> {
    fn drop(&mut self) {
        lock(&self.inner.pending).remove(&self.id);
    }
}

/// The last entry delivered from each sending node's incarnation: what was seen already.
#[derive(Default)]
struct Seen(HashMap<String, (String, u64)>);

impl Seen {
    /// Whether the entry is new (and remembers it).
    fn first_time(&mut self, from: &str, incarnation: &str, sequence: u64) -> bool {
        match self.0.get_mut(from) {
            Some((known, last)) if known == incarnation => {
                if sequence <= *last {
                    return false;
                }
                *last = sequence;
                true
            }
            _ => {
                self.0.insert(from.to_owned(), (incarnation.to_owned(), sequence));
                true
            }
        }
    }
}

/// Reads this node's inbox from its first entry, in order, forever; after a Redis failure it
/// reconnects (bounded backoff, logged once per outage) and resumes from the last id read.
pub(crate) async fn run_reader(inner: Arc<Inner>, handler: Arc<dyn Handler>) {
    let inbox = inner.keys.inbox(inner.node_id());
    let block_ms = (inner.settings.lease.as_millis() / 3).max(10) as u64;
    let read_limit = Duration::from_millis(block_ms) + READ_MARGIN;
    let mut last_id = "0-0".to_owned();
    let mut trimmed_to = last_id.clone();
    let mut seen = Seen::default();
    let mut requests = JoinSet::new();
    let mut connection: Option<MultiplexedConnection> = None;
    let mut backoff = FIRST_BACKOFF;
    let mut failing = false;
    loop {
        while requests.try_join_next().is_some() {}
        let read = match connection.as_mut() {
            Some(conn) => {
                let mut xread = redis::cmd("XREAD");
                xread.arg("COUNT").arg(READ_BATCH).arg("BLOCK").arg(block_ms).arg("STREAMS").arg(&inbox).arg(&last_id);
                // A connection that died silently would block forever: give it the block time
                // and a margin, then reconnect.
                match tokio::time::timeout(read_limit, xread.query_async::<Option<StreamReadReply>>(conn)).await {
                    Ok(read) => read,
                    Err(_) => Err(redis::RedisError::from((redis::ErrorKind::Io, "no answer to XREAD in time: reconnecting"))),
                }
            }
            None => match inner.reader_connection().await {
                Ok(conn) => {
                    connection = Some(conn);
                    continue;
                }
                Err(e) => Err(e),
            },
        };
        match read {
            Ok(reply) => {
                if failing {
                    tracing::info!(node = %inner.node_id(), url = %inner.url, "Redis answers again: reading the inbox from {last_id}");
                    failing = false;
                    backoff = FIRST_BACKOFF;
                }
                let entries = reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids);
                for entry in entries {
                    last_id.clone_from(&entry.id);
                    deliver(&inner, &handler, &mut seen, &mut requests, entry);
                }
                // Trims what was read (also after a failed trim, once Redis answers again).
                if trimmed_to != last_id
                    && let Some(conn) = connection.as_mut()
                {
                    let mut xtrim = redis::cmd("XTRIM");
                    xtrim.arg(&inbox).arg("MINID").arg(&last_id);
                    let trimmed = tokio::time::timeout(read_limit, xtrim.query_async::<Value>(conn)).await;
                    match trimmed {
                        Ok(Ok(_)) => trimmed_to.clone_from(&last_id),
                        Ok(Err(e)) => tracing::debug!(node = %inner.node_id(), "cannot trim the inbox: {e}"),
                        Err(_) => {
                            tracing::debug!(node = %inner.node_id(), "no answer to XTRIM in time: reconnecting");
                            connection = None;
                        }
                    }
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(node = %inner.node_id(), url = %inner.url, "cannot read the inbox, retrying: {e}");
                    failing = true;
                }
                connection = None;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(LONGEST_BACKOFF);
            }
        }
    }
}

/// Hands one inbox entry to where it goes: a waiting request, the handler's request (answered
/// through the sending task), or the handler's message.
fn deliver(inner: &Arc<Inner>, handler: &Arc<dyn Handler>, seen: &mut Seen, requests: &mut JoinSet<()>, entry: StreamId) {
    let text = |name: &str| entry.get::<String>(name);
    let (Some(from), Some(kind)) = (text("from"), text("kind")) else {
        tracing::warn!(node = %inner.node_id(), id = %entry.id, "ignoring an inbox entry without from/kind");
        return;
    };
    let incarnation = text("inc").unwrap_or_default();
    let sequence = entry.get::<u64>("seq").unwrap_or(0);
    if !seen.first_time(&from, &incarnation, sequence) {
        tracing::debug!(node = %inner.node_id(), %from, sequence, "dropping an entry delivered before");
        return;
    }
    BusStats::bump(&inner.stats.received);
    let body = entry.get::<Vec<u8>>("body").unwrap_or_default();
    if let Some(answered) = entry.get::<u64>("re") {
        if let Some(waiting) = lock(&inner.pending).remove(&answered) {
            let _ = waiting.send(body);
        }
        return;
    }
    let envelope = Envelope { from: from.clone(), kind: kind.clone(), body };
    match entry.get::<u64>("reply") {
        Some(_) if entry.get::<u64>("until").is_some_and(|until| until < unix_ms()) => {
            tracing::debug!(node = %inner.node_id(), %from, %kind, "a request past its deadline: not served");
        }
        Some(request_id) => {
            let answer = handler.request(envelope);
            let inner = inner.clone();
            requests.spawn(async move {
                let body = answer.await;
                inner.queue(Outgoing::Message { to: Target::Node(from), kind, body, request: None, answers: Some(request_id) });
            });
        }
        None => handler.message(envelope),
    }
}

#[cfg(test)]
mod tests {
    use super::Seen;

    #[test]
    fn an_entry_written_twice_is_delivered_once() {
        let mut seen = Seen::default();
        assert!(seen.first_time("a", "one", 1));
        assert!(seen.first_time("a", "one", 2));
        assert!(!seen.first_time("a", "one", 2), "a retried write of entry 2");
        assert!(seen.first_time("b", "x", 1), "each sender has its own numbers");
        assert!(seen.first_time("a", "one", 5), "gaps: entries to other nodes");
        assert!(!seen.first_time("a", "one", 4));
        assert!(seen.first_time("a", "two", 1), "a restarted sender starts again");
    }
}
