//! The table of bound sessions: who is connected with which resource, their presence, and the
//! queue each transport drains. Locks are held only for table lookups, never across an await.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use crate::time::epoch_ms;

use crate::queue::{QueueError, QueueReceiver, QueueSender};
use herald_proto::{FullJid, LogThrottle};
use herald_xml::Element;

/// Orders a session's transport driver must act on, besides delivering stanzas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// Another connection bound the same full JID: close with `<conflict/>`.
    Replaced,
    /// An administrator closed the session (`herald ctl kick`): close with
    /// `<policy-violation/>` and report [`crate::CloseCause::Kicked`].
    Kicked,
    /// This node was out of its cluster and may have missed what was sent to the session
    /// meanwhile: close with `<system-shutdown/>` (a client reconnects, to this node or another,
    /// and catches up from the node history) and report [`crate::CloseCause::NodeRejoined`].
    Reconnect,
}

/// What a session's transport counts while it runs, read by the admin listing
/// ([`crate::Core::sessions`]) and kept in the close record ([`crate::CoreEvent::SessionUnbound`]).
/// Atomics: the transport updates them without a lock, readers take a snapshot.
#[derive(Debug, Default)]
pub struct SessionStats {
    stanzas_sent: AtomicU64,
    bytes_sent: AtomicU64,
    /// When the client last sent a request or data (epoch ms; 0: not yet).
    last_request_ms: AtomicU64,
    held_requests: AtomicU32,
    /// The transport's own name for the session: the BOSH sid, or the connection's peer.
    label: OnceLock<String>,
}

impl SessionStats {
    /// `stanzas` stanzas (in `bytes` bytes on the wire) were written to the client.
    pub fn sent(&self, stanzas: u64, bytes: u64) {
        self.stanzas_sent.fetch_add(stanzas, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The client sent a request (BOSH) or data (TCP, WebSocket) now.
    pub fn client_request(&self) {
        self.last_request_ms.store(epoch_ms(), Ordering::Relaxed);
    }

    /// The number of the client's requests the server holds now (BOSH long polls; 0 for
    /// streams).
    pub fn set_held(&self, held: u32) {
        self.held_requests.store(held, Ordering::Relaxed);
    }

    /// Names the session as its transport knows it (set once: later calls are ignored).
    pub fn set_label(&self, label: impl Into<String>) {
        let _ = self.label.set(label.into());
    }

    /// Stanzas written to the client.
    pub fn stanzas_sent(&self) -> u64 {
        self.stanzas_sent.load(Ordering::Relaxed)
    }

    /// Bytes written to the client.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    /// When the client last sent anything (epoch ms; 0: never since the bind).
    pub fn last_request_ms(&self) -> u64 {
        self.last_request_ms.load(Ordering::Relaxed)
    }

    /// Requests held now.
    pub fn held_requests(&self) -> u32 {
        self.held_requests.load(Ordering::Relaxed)
    }

    /// The transport's name for the session (empty until set).
    pub fn label(&self) -> &str {
        self.label.get().map_or("", String::as_str)
    }
}

/// One bound session as the admin listing shows it, and as its close record keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The binding's id.
    pub id: u64,
    /// The bound full JID.
    pub jid: FullJid,
    /// The transport's name for it (BOSH sid, connection peer).
    pub label: String,
    /// Its transport.
    pub transport: crate::Transport,
    /// The client's address.
    pub source: std::net::IpAddr,
    /// When it bound (epoch ms).
    pub opened_ms: u64,
    /// When the client last sent anything (epoch ms; 0: never since the bind).
    pub last_request_ms: u64,
    /// Stanzas written to the client.
    pub stanzas_sent: u64,
    /// Stanzas waiting in its queue.
    pub queued: usize,
    /// Stanzas dropped because its queue was full.
    pub dropped: u64,
    /// Bytes written to the client.
    pub bytes_sent: u64,
    /// Requests held now (BOSH).
    pub held_requests: u32,
    /// Whether it sent available presence.
    pub available: bool,
}

/// What the core and a session's driver share besides the queue: whether the session was
/// replaced, and its drops (counted for [`crate::CoreEvent::SessionUnbound`], summarised in the
/// log). What the driver sends is the driver's to count.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Stanzas dropped because the session's queue was full.
    pub(crate) dropped: AtomicU64,
    /// Set when another login took this full JID; the session's inbox is closed at the same
    /// moment, so the driver learns it when its queue ends (a second queue per session for this
    /// one rare order would cost every idle session its storage).
    pub(crate) replaced: AtomicBool,
    /// Summarises this session's drop warnings: a flood into a full queue writes a line per
    /// 10 s with a count, not a line per stanza.
    pub(crate) drop_log: Mutex<LogThrottle>,
    /// Set when an administrator kicked the session; its inbox is closed at the same moment.
    pub(crate) kicked: AtomicBool,
    /// Set when the node asked its clients to reconnect; its inbox is closed at the same moment.
    pub(crate) reconnect: AtomicBool,
    /// What the transport counts.
    pub(crate) stats: SessionStats,
    /// Where the session came from.
    pub(crate) origin: crate::Origin,
    /// When it bound (epoch ms).
    pub(crate) opened_ms: u64,
    /// The server-wide `herald_queue_drops_total`, held so that a drop costs no look-up.
    pub(crate) queue_drops: herald_metrics::Counter,
}

impl Shared {
    /// A session's shared part, bound now from `origin`; its drops also count in `queue_drops`.
    pub(crate) fn new(origin: crate::Origin, queue_drops: herald_metrics::Counter) -> Self {
        Self {
            dropped: AtomicU64::new(0),
            replaced: AtomicBool::new(false),
            drop_log: Mutex::default(),
            kicked: AtomicBool::new(false),
            reconnect: AtomicBool::new(false),
            stats: SessionStats::default(),
            origin,
            opened_ms: epoch_ms(),
            queue_drops,
        }
    }
}

/// What a transport driver holds for its bound session.
#[derive(Debug)]
pub struct SessionHandle {
    /// Unique id of this binding (a replaced session keeps its own id).
    pub id: u64,
    /// The bound full JID.
    pub jid: FullJid,
    /// Stanzas to deliver to the client (boxed: a queued element is moved, not copied, and
    /// the queue's storage stays small).
    pub inbox: QueueReceiver<Box<Element>>,
    pub(crate) shared: Arc<Shared>,
}

impl SessionHandle {
    /// Whether another login took this session's full JID, said once: the driver asks when its
    /// inbox has ended, and closes the stream with `<conflict/>` if so.
    pub fn take_replaced(&self) -> bool {
        self.shared.replaced.swap(false, Ordering::AcqRel)
    }

    /// Whether an administrator kicked this session, said once (asked, like
    /// [`SessionHandle::take_replaced`], when the inbox has ended).
    pub fn take_kicked(&self) -> bool {
        self.shared.kicked.swap(false, Ordering::AcqRel)
    }

    /// Whether the node asked this session's client to reconnect, said once (asked, like
    /// [`SessionHandle::take_replaced`], when the inbox has ended).
    pub fn take_reconnect(&self) -> bool {
        self.shared.reconnect.swap(false, Ordering::AcqRel)
    }

    /// The counters the transport keeps up to date.
    pub fn stats(&self) -> &SessionStats {
        &self.shared.stats
    }
}

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) id: u64,
    pub(crate) resource: String,
    pub(crate) inbox: QueueSender<Box<Element>>,
    /// The last available presence broadcast, `None` until initial presence.
    pub(crate) presence: Option<Element>,
    pub(crate) priority: i8,
    /// Asked for the roster, so gets roster pushes.
    pub(crate) interested: bool,
    /// JIDs sent directed available presence, owed an unavailable at the end.
    pub(crate) directed: HashSet<String>,
    pub(crate) shared: Arc<Shared>,
}

impl Session {
    /// Whether the session is the server's own, bound in process on every node of a cluster
    /// (the web-services user): its presence is this node's business and never crosses to
    /// another node, where the same entity has a session of its own.
    pub(crate) fn node_local(&self) -> bool {
        self.shared.origin.transport == crate::Transport::Internal
    }

    pub(crate) fn deliver(&self, el: Element) -> bool {
        self.mailbox().deliver(el)
    }

    /// What the admin listing shows of it, as of now.
    pub(crate) fn info(&self, bare: &str) -> Option<SessionInfo> {
        let jid = FullJid::new(&format!("{bare}/{}", self.resource)).ok()?;
        Some(info_of(self.id, jid, &self.shared, self.inbox.len(), self.presence.is_some()))
    }

    /// A handle to this session's queue that outlives the table lock.
    pub(crate) fn mailbox(&self) -> Mailbox {
        Mailbox { inbox: self.inbox.clone(), shared: self.shared.clone() }
    }
}

/// A [`SessionInfo`] from a session's parts.
pub(crate) fn info_of(id: u64, jid: FullJid, shared: &Shared, queued: usize, available: bool) -> SessionInfo {
    let stats = &shared.stats;
    let (origin, opened_ms) = (shared.origin, shared.opened_ms);
    SessionInfo {
        id,
        jid,
        label: stats.label().to_owned(),
        transport: origin.transport,
        source: origin.source,
        opened_ms,
        last_request_ms: stats.last_request_ms(),
        stanzas_sent: stats.stanzas_sent(),
        queued,
        dropped: shared.dropped.load(Ordering::Relaxed),
        bytes_sent: stats.bytes_sent(),
        held_requests: stats.held_requests(),
        available,
    }
}

/// A session's queue, taken out of the table so that a large fan-out can fill queues without
/// holding the table's lock.
pub(crate) struct Mailbox {
    inbox: QueueSender<Box<Element>>,
    shared: Arc<Shared>,
}

impl Mailbox {
    /// Queues `el`; a full queue drops it and counts the drop. The warning is
    /// summarised per session ([`LogThrottle`]).
    pub(crate) fn deliver(&self, el: Element) -> bool {
        match self.inbox.try_send(Box::new(el)) {
            Ok(()) => true,
            Err(err) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                self.shared.queue_drops.inc();
                let summary = self.shared.drop_log.lock().unwrap_or_else(|e| e.into_inner()).hit(Instant::now());
                if let Some(dropped) = summary {
                    let el = match err {
                        QueueError::Full(el) | QueueError::Closed(el) => el,
                    };
                    let to = el.attr("to").unwrap_or("");
                    tracing::warn!(target: "notification", to, dropped, "session queue full; stanzas dropped (one line per session per 10 s at most)");
                }
                false
            }
        }
    }
}

/// Bare JID (as a string) → sessions of that account, and the rosters of those accounts.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub(crate) accounts: HashMap<String, Vec<Session>>,
    pub(crate) rosters: crate::roster_cache::RosterCache,
}

impl Table {
    pub(crate) fn sessions(&self, bare: &str) -> &[Session] {
        self.accounts.get(bare).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn session_mut(&mut self, bare: &str, id: u64) -> Option<&mut Session> {
        self.accounts.get_mut(bare)?.iter_mut().find(|s| s.id == id)
    }

    pub(crate) fn by_resource(&self, bare: &str, resource: &str) -> Option<&Session> {
        self.sessions(bare).iter().find(|s| s.resource == resource)
    }

    /// Available sessions with non-negative priority holding the highest priority: where a
    /// message to the bare JID goes (RFC 6121 §8.5.2.1.1).
    pub(crate) fn best(&self, bare: &str) -> Vec<&Session> {
        let available = self.sessions(bare).iter().filter(|s| s.presence.is_some() && s.priority >= 0);
        let top = available.clone().map(|s| s.priority).max();
        available.filter(|s| Some(s.priority) == top).collect()
    }

    pub(crate) fn available(&self, bare: &str) -> impl Iterator<Item = &Session> {
        self.sessions(bare).iter().filter(|s| s.presence.is_some())
    }

    pub(crate) fn remove(&mut self, bare: &str, id: u64) -> Option<Session> {
        let list = self.accounts.get_mut(bare)?;
        let pos = list.iter().position(|s| s.id == id)?;
        let session = list.remove(pos);
        if list.is_empty() {
            self.accounts.remove(bare);
            self.rosters.close(bare);
        }
        Some(session)
    }

    pub(crate) fn count(&self) -> usize {
        self.accounts.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_counts_every_drop_and_warns_once_per_interval() {
        let (inbox, _rx) = crate::queue::queue(1);
        let origin = crate::Origin { transport: crate::Transport::Tcp, source: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST) };
        let drops = herald_metrics::Counter::default();
        let shared = Arc::new(Shared::new(origin, drops.clone()));
        let mailbox = Mailbox { inbox, shared: shared.clone() };
        let message = || Element::new("message", herald_proto::ns::CLIENT);
        assert!(mailbox.deliver(message()));
        for _ in 0..100 {
            assert!(!mailbox.deliver(message()));
        }
        assert_eq!(shared.dropped.load(Ordering::Relaxed), 100);
        assert_eq!(drops.get(), 100, "the server-wide counter moves with the session's");
        // The first drop was written at once; the 99 after it wait for the next line, 10 s on.
        let later = Instant::now() + herald_proto::throttle::WARN_EVERY;
        assert_eq!(shared.drop_log.lock().unwrap().hit(later), Some(100));
    }
}
