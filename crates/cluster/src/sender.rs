//! The sending task: everything this node writes to Redis on the bus (posts, requests,
//! answers, directory changes), in the order queued. Whatever is queued at one moment goes in
//! one pipeline (order kept); a message is fanned out by a script at send time, to the nodes
//! whose key exists then, so a node that joined a moment ago gets it and a reaped node's inbox
//! is never created again. Each item has a deadline from when it was queued: what could not be
//! written by then is dropped and counted, and the queue itself is bounded.

use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::Value;
use tokio::sync::{mpsc, oneshot};

use crate::{BusStats, Inner, lock};

/// Where a queued message goes.
#[derive(Debug)]
pub(crate) enum Target {
    Node(String),
    All,
}

/// What the sending task does, in the order queued.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// A message to `to`; `request` asks for an answer with that id (to come before `until`,
    /// Unix ms), `answers` is the answer to the request with that id.
    Message {
        to: Target,
        kind: String,
        body: Vec<u8>,
        request: Option<(u64, u64)>,
        answers: Option<u64>,
    },
    /// The directory: a session bound here, or gone.
    Bound(String),
    Unbound(String),
    /// The ownership registry: a key of a kind claimed by this node, or released.
    Claimed {
        kind: String,
        key: String,
    },
    Released {
        kind: String,
        key: String,
    },
    /// Answered once everything queued before it was sent (leave waits for it).
    Flush(oneshot::Sender<()>),
}

/// An [`Outgoing`] with when it was queued.
#[derive(Debug)]
pub(crate) struct Queued {
    item: Outgoing,
    at: Instant,
}

impl Queued {
    pub(crate) fn now(item: Outgoing) -> Self {
        Self { item, at: Instant::now() }
    }
}

/// How many items may wait in the queue; beyond, new ones are dropped and counted.
pub(crate) const MAX_QUEUED: usize = 1_000_000;
/// How many queued items one pipeline carries at most.
const SEND_BATCH: usize = 512;
/// The first and the longest wait between two attempts while Redis is failing.
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(25);
pub(crate) const LONGEST_BACKOFF: Duration = Duration::from_secs(1);
/// How often a full queue is warned about.
const OVERFLOW_WARNING_EVERY: Duration = Duration::from_secs(10);

/// XADDs one entry to `ARGV[3]`'s inbox, or (`ARGV[3]` empty) to every other node of
/// `P:nodes`, each only while its node key exists; answers how many inboxes got it.
/// ARGV: prefix, sender, target, MAXLEN, then the entry's fields and values.
const FAN_OUT: &str = r"
local prefix, sender, target, maxlen = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
local targets
if target == '' then targets = redis.call('SMEMBERS', prefix .. ':nodes') else targets = {target} end
local sent = 0
for _, node in ipairs(targets) do
  if (target ~= '' or node ~= sender) and redis.call('EXISTS', prefix .. ':node:' .. node) == 1 then
    redis.call('XADD', prefix .. ':inbox:' .. node, 'MAXLEN', '~', maxlen, '*', unpack(fields))
    sent = sent + 1
  end
end
return sent
";
/// Binds: KEYS dir hash, JID set; ARGV resource, node, full JID. Claims likewise: KEYS own
/// hash, owned set; ARGV key, node, `{kind}:{key}`.
const BIND: &str = "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) redis.call('SADD', KEYS[2], ARGV[3]) return 1";
/// Unbinds, leaving a newer binding elsewhere alone: same keys and arguments as [`BIND`].
const UNBIND: &str = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end \
    redis.call('SREM', KEYS[2], ARGV[3]) return 1";

/// The scripts, loaded at the head of each pipeline and called by their hash.
static FAN_OUT_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(FAN_OUT));
static BIND_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(BIND));
static UNBIND_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(UNBIND));

/// Milliseconds since the Unix epoch (the requests' deadlines, shared between nodes).
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
}

/// How a write's reply is counted.
enum Expect {
    /// A message to one node: 0 inboxes means no such node.
    One,
    /// A message to all: any number.
    All,
    /// A directory or ownership change.
    Directory,
}

/// One command of a pipeline, with its deadline.
struct Write {
    cmd: redis::Cmd,
    expect: Expect,
    deadline: Instant,
    what: String,
}

impl Inner {
    /// Hands `item` to the sending task, or counts it as a send error once the node stopped
    /// or the queue is full.
    pub(crate) fn queue(&self, item: Outgoing) {
        if self.queued.load(Ordering::Relaxed) >= MAX_QUEUED {
            BusStats::bump(&self.stats.send_errors);
            let mut warned = lock(&self.overflow_warned);
            if warned.is_none_or(|at| at.elapsed() >= OVERFLOW_WARNING_EVERY) {
                *warned = Some(Instant::now());
                tracing::warn!(node = %self.node_id(), "the bus queue is full ({MAX_QUEUED} items): dropping what is posted");
            }
            return;
        }
        if self.stopped.load(Ordering::SeqCst) || !self.hand_to_sender(item) {
            BusStats::bump(&self.stats.send_errors);
            tracing::debug!(node = %self.node_id(), "nothing can be sent: this node left the cluster");
        }
    }

    /// Puts `item` in the outbox, counted (before the sender can take it, so the count never
    /// goes below zero); false when the sending task is gone.
    pub(crate) fn hand_to_sender(&self, item: Outgoing) -> bool {
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.outbox.send(Queued::now(item)).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// How long a queued item may wait to be written: two leases (at least 2 s), after which
    /// the other nodes consider this one dead anyway.
    fn send_deadline(&self) -> Duration {
        (self.settings.lease * 2).max(Duration::from_secs(2))
    }

    /// The write for one queued item (None for a flush, or a JID that is not a full JID).
    fn write_for(&self, queued: Queued, sequence: &mut u64, flushes: &mut Vec<oneshot::Sender<()>>) -> Option<Write> {
        let deadline = queued.at + self.send_deadline();
        match queued.item {
            Outgoing::Message { to, kind, body, request, answers } => {
                *sequence += 1;
                let (target, expect) = match to {
                    Target::Node(node) => (node, Expect::One),
                    Target::All => (String::new(), Expect::All),
                };
                let mut cmd = redis::cmd("EVALSHA");
                cmd.arg(FAN_OUT_SCRIPT.get_hash()).arg(0).arg(self.keys.prefix()).arg(self.node_id()).arg(&target);
                cmd.arg(self.settings.stream_max_len);
                cmd.arg("from").arg(self.node_id()).arg("inc").arg(&self.incarnation).arg("seq").arg(*sequence);
                cmd.arg("kind").arg(&kind).arg("body").arg(body);
                if let Some((id, until)) = request {
                    cmd.arg("reply").arg(id).arg("until").arg(until);
                }
                if let Some(id) = answers {
                    cmd.arg("re").arg(id);
                }
                let to = if target.is_empty() { "all".to_owned() } else { target };
                Some(Write { cmd, expect, deadline, what: format!("{kind} to {to}") })
            }
            Outgoing::Bound(full_jid) => self.directory_write(&BIND_SCRIPT, full_jid, deadline),
            Outgoing::Unbound(full_jid) => self.directory_write(&UNBIND_SCRIPT, full_jid, deadline),
            Outgoing::Claimed { kind, key } => Some(self.claim_write(&BIND_SCRIPT, &kind, &key, deadline)),
            Outgoing::Released { kind, key } => Some(self.claim_write(&UNBIND_SCRIPT, &kind, &key, deadline)),
            Outgoing::Flush(done) => {
                flushes.push(done);
                None
            }
        }
    }

    fn directory_write(&self, script: &redis::Script, full_jid: String, deadline: Instant) -> Option<Write> {
        let Some((bare, resource)) = crate::directory::split_full_jid(&full_jid) else {
            tracing::warn!(node = %self.node_id(), %full_jid, "not a full JID: not in the directory");
            return None;
        };
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(script.get_hash()).arg(2).arg(self.keys.dir(bare)).arg(self.keys.jids(self.node_id()));
        cmd.arg(resource).arg(self.node_id()).arg(&full_jid);
        Some(Write { cmd, expect: Expect::Directory, deadline, what: format!("directory change of {full_jid}") })
    }

    /// A claim (`BIND`) or release (`UNBIND`) in the ownership registry: the same scripts on
    /// `P:own:{kind}` and `P:owned:{id}`.
    fn claim_write(&self, script: &redis::Script, kind: &str, key: &str, deadline: Instant) -> Write {
        let member = crate::ownership::member(kind, key);
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(script.get_hash()).arg(2).arg(self.keys.own(kind)).arg(self.keys.owned(self.node_id()));
        cmd.arg(key).arg(self.node_id()).arg(&member);
        Write { cmd, expect: Expect::Directory, deadline, what: format!("ownership change of {member}") }
    }

    /// Writes `writes` in one pipeline, retrying with a bounded backoff while Redis fails;
    /// each write is dropped (and counted) once past its deadline. After a batch gave up, the
    /// next one gets a single attempt until Redis answers again (a backlog fails fast).
    async fn send_batch(&self, mut writes: Vec<Write>, outage: &mut Outage) {
        let mut conn = self.conn.clone();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let now = Instant::now();
            writes.retain(|write| {
                let alive = write.deadline > now && !outage.gave_up;
                if !alive {
                    BusStats::bump(&self.stats.send_errors);
                    tracing::debug!(node = %self.node_id(), "dropped, too late to send: {}", write.what);
                }
                alive
            });
            if writes.is_empty() {
                return;
            }
            let mut pipe = redis::pipe();
            for code in [FAN_OUT, BIND, UNBIND] {
                pipe.cmd("SCRIPT").arg("LOAD").arg(code).ignore();
            }
            for write in &writes {
                pipe.add_command(write.cmd.clone());
            }
            match pipe.query_async::<Vec<Value>>(&mut conn).await {
                Ok(replies) => {
                    if outage.failing {
                        tracing::info!(node = %self.node_id(), url = %self.url, "Redis answers again: the bus sends again");
                    }
                    *outage = Outage::default();
                    for (write, reply) in writes.iter().zip(replies) {
                        self.count(write, &reply);
                    }
                    return;
                }
                Err(e) => {
                    if !outage.failing {
                        tracing::warn!(node = %self.node_id(), url = %self.url, "cannot send on the bus, retrying: {e}");
                        outage.failing = true;
                    }
                    let next = Instant::now() + backoff;
                    if writes.iter().all(|write| write.deadline <= next) || outage.after_give_up {
                        tracing::error!(node = %self.node_id(), url = %self.url, "gave up sending {} items on the bus: {e}", writes.len());
                        outage.gave_up = true;
                        outage.after_give_up = true;
                        continue;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(LONGEST_BACKOFF);
                }
            }
        }
    }

    fn count(&self, write: &Write, reply: &Value) {
        let inboxes = match reply {
            Value::Int(n) => *n,
            _ => 0,
        };
        match write.expect {
            Expect::One if inboxes == 0 => {
                BusStats::bump(&self.stats.send_errors);
                tracing::warn!(node = %self.node_id(), "not sent: no live node by that id: {}", write.what);
            }
            Expect::One | Expect::All => {
                self.stats.sent.fetch_add(inboxes.max(0) as u64, Ordering::Relaxed);
            }
            Expect::Directory => {}
        }
    }
}

/// The sender's view of a Redis outage.
#[derive(Default)]
struct Outage {
    /// Logged once per outage.
    failing: bool,
    /// The current batch gave up: drop what is left of it.
    gave_up: bool,
    /// A batch gave up during this outage: the next ones get one attempt each.
    after_give_up: bool,
}

/// Sends what is queued, in order: each time, everything queued by then (up to
/// [`SEND_BATCH`]) in one pipeline.
pub(crate) async fn run_sender(inner: Arc<Inner>, mut queue: mpsc::UnboundedReceiver<Queued>) {
    let mut sequence = 0u64;
    let mut outage = Outage::default();
    let mut batch = Vec::with_capacity(SEND_BATCH);
    while queue.recv_many(&mut batch, SEND_BATCH).await > 0 {
        inner.queued.fetch_sub(batch.len(), Ordering::Relaxed);
        let mut flushes = Vec::new();
        let writes: Vec<Write> = batch.drain(..).filter_map(|queued| inner.write_for(queued, &mut sequence, &mut flushes)).collect();
        outage.gave_up = false;
        inner.send_batch(writes, &mut outage).await;
        for done in flushes {
            let _ = done.send(());
        }
    }
}
