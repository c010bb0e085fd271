//! The core's event seam: what happened to sessions (bound, presence changed, unbound with its
//! cause), told to the subscribers registered when the core starts. Layers that react to
//! sessions (presence-driven logout, metrics, diagnosis, a cluster directory) hang off this
//! instead of reaching into the session table.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use herald_proto::{FullJid, StreamErrorCondition};

/// The transport a session came over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A TCP stream (port 5222, STARTTLS).
    Tcp,
    /// XMPP over WebSocket (RFC 7395).
    WebSocket,
    /// BOSH (XEP-0124/XEP-0206).
    Bosh,
    /// A session the server itself holds, with no connection (the web-services user
    /// `finesse@<domain>`).
    Internal,
}

impl Transport {
    /// A short name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::WebSocket => "websocket",
            Self::Bosh => "bosh",
            Self::Internal => "internal",
        }
    }
}

/// Where a binding comes from: told to [`crate::Core::bind`] by the transport, passed on in
/// [`CoreEvent::SessionBound`] (the core keeps none of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The transport.
    pub transport: Transport,
    /// The client's IP address.
    pub source: IpAddr,
}

/// Why a session ended, as its transport saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseCause {
    /// The client ended the stream (`</stream:stream>`, a WebSocket `<close/>`, a BOSH
    /// `type='terminate'`).
    ClientTerminate,
    /// The client sent nothing for too long (BOSH inactivity, a stream timeout).
    Inactivity,
    /// The connection dropped or a write to it failed, without a close from either side.
    ConnectionLost,
    /// A new login bound the same full JID (`<conflict/>`).
    Replaced,
    /// The server is shutting down.
    ServerShutdown,
    /// The server closed the stream with this error (a limit, malformed input, …).
    StreamError(StreamErrorCondition),
    /// The client broke its transport's rules below the stream (BOSH: a bad rid or key, a
    /// malformed request, too many requests); the name says which.
    TransportError(&'static str),
    /// An administrator closed it (`herald ctl kick`).
    Kicked,
    /// Its node had been out of the cluster (a stall, a lost Redis) and asked its client to
    /// reconnect and catch up on what it may have missed.
    NodeRejoined,
}

impl CloseCause {
    /// The cause of a stream that ended with `condition`: the conditions that have their own
    /// cause (conflict, system shutdown, connection timeout) become it.
    pub fn from_stream_error(condition: StreamErrorCondition) -> Self {
        match condition {
            StreamErrorCondition::Conflict => Self::Replaced,
            StreamErrorCondition::SystemShutdown => Self::ServerShutdown,
            StreamErrorCondition::ConnectionTimeout => Self::Inactivity,
            other => Self::StreamError(other),
        }
    }

    /// A short name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientTerminate => "client-terminate",
            Self::Inactivity => "inactivity",
            Self::ConnectionLost => "connection-lost",
            Self::Replaced => "replaced",
            Self::ServerShutdown => "server-shutdown",
            Self::StreamError(condition) => condition.name(),
            Self::TransportError(name) => name,
            Self::Kicked => "kicked",
            Self::NodeRejoined => "node-rejoined",
        }
    }
}

/// How a session ended, told to [`crate::Core::unbind`] by its transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionEnd {
    /// Why.
    pub cause: CloseCause,
    /// When the client last sent anything.
    pub last_activity: Instant,
}

/// What happened to a session. Events of one session come in order: bound, then availability
/// changes, then unbound; an available session that ends is first told unavailable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreEvent {
    /// A session bound its full JID.
    SessionBound {
        /// The binding's id (unique for the server's life).
        session: u64,
        /// The bound full JID.
        jid: FullJid,
        /// Its transport and source address.
        origin: Origin,
    },
    /// A session became available (initial presence) or unavailable (unavailable presence, or
    /// its end). Updates of an available presence (show, status) are not changes.
    PresenceChanged {
        /// The binding's id.
        session: u64,
        /// The session's full JID.
        jid: FullJid,
        /// Whether it is now available.
        available: bool,
        /// No other resource of the account is available: an available session is the
        /// account's first, an unavailable one leaves the account unavailable.
        last_resource: bool,
    },
    /// A session ended. A session replaced by a new login with the same resource leaves the
    /// table when the new one binds, without a presence change (its full JID lives on); its
    /// unbound event comes when its transport has closed, with [`CloseCause::Replaced`].
    SessionUnbound {
        /// The binding's id.
        session: u64,
        /// The full JID it had.
        jid: FullJid,
        /// Why it ended.
        cause: CloseCause,
        /// When the client last sent anything.
        last_activity: Instant,
        /// Stanzas dropped during its life because its queue was full.
        dropped: u64,
        /// The session as it ended: origin, open time, the transport's counters (the close
        /// record's raw material).
        info: Box<crate::SessionInfo>,
    },
}

/// A subscriber to [`CoreEvent`]s. Called on the task that caused the event, outside the core's
/// locks: it must be quick and must not block (a subscriber with I/O to do sends the event to
/// its own task).
pub trait EventSink: Send + Sync {
    /// One event.
    fn event(&self, event: &CoreEvent);
}

/// The subscribers a core tells its events to, fixed when it starts (in
/// [`crate::CoreConfig::events`]).
#[derive(Clone, Default)]
pub struct Subscribers {
    sinks: Vec<Arc<dyn EventSink>>,
}

impl Subscribers {
    /// Adds a subscriber; each is told every event, in the order they were registered.
    pub fn register(&mut self, sink: Arc<dyn EventSink>) {
        self.sinks.push(sink);
    }

    /// Whether anyone listens (the event is not even built otherwise).
    pub(crate) fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// Tells every subscriber, building the event only if there is one.
    pub(crate) fn emit(&self, event: impl FnOnce() -> CoreEvent) {
        if self.is_empty() {
            return;
        }
        let event = event();
        for sink in &self.sinks {
            sink.event(&event);
        }
    }
}

impl fmt::Debug for Subscribers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subscribers({})", self.sinks.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_errors_with_a_cause_of_their_own_become_it() {
        assert_eq!(CloseCause::from_stream_error(StreamErrorCondition::Conflict), CloseCause::Replaced);
        assert_eq!(CloseCause::from_stream_error(StreamErrorCondition::SystemShutdown), CloseCause::ServerShutdown);
        assert_eq!(CloseCause::from_stream_error(StreamErrorCondition::ConnectionTimeout), CloseCause::Inactivity);
        let policy = CloseCause::from_stream_error(StreamErrorCondition::PolicyViolation);
        assert_eq!((policy, policy.name()), (CloseCause::StreamError(StreamErrorCondition::PolicyViolation), "policy-violation"));
    }
}
