//! What every transport driver does with the core, written once: answering the c2s machine's
//! credential and bind requests, the lockout counter, routing stanzas, and handing a finished
//! session back (its undelivered stanzas go to offline storage).

use std::time::Instant;

use herald_core::{CloseCause, Control, Core, Origin, SessionEnd, SessionHandle};
use herald_proto::{FullJid, LogThrottle, StanzaError, StreamErrorCondition};
use herald_sasl::{Account, SaslError};
use herald_stream::{C2sStream, CloseReason, Output};

/// Where a driver's answers to the stream's requests go: the bare c2s machine (TCP,
/// WebSocket), or a machine wrapping one, which carries what the stream says next on itself
/// (the BOSH session, to its held requests).
pub(crate) trait Answers {
    /// The account a login is verified against, or the error refusing it; `random` seeds the
    /// SCRAM server nonce.
    fn credentials(&mut self, account: Result<Account, SaslError>, random: &[u8]);
    /// The full JID a bind registered, or the error to return.
    fn bound(&mut self, result: Result<FullJid, StanzaError>);
}

impl Answers for C2sStream {
    fn credentials(&mut self, account: Result<Account, SaslError>, random: &[u8]) {
        self.provide_credentials(account, random);
    }

    fn bound(&mut self, result: Result<FullJid, StanzaError>) {
        self.bind_result(result);
    }
}

/// Carries out `output` if it needs the core; returns it when it is the transport's business
/// (`Send`, `StartTls`, `Close`). `peer` names the connection in logs; `origin` is its transport
/// and the client's IP address, which the lockout and the per-source ban count by.
pub(crate) async fn apply(
    core: &Core,
    machine: &mut impl Answers,
    session: &mut Option<SessionHandle>,
    output: Output,
    peer: &str,
    origin: Origin,
) -> Option<Output> {
    let source = origin.source;
    match output {
        Output::NeedCredentials { username } => {
            let credentials = core.credentials(&username, source, Instant::now()).await;
            machine.credentials(credentials, &rand::random::<[u8; 18]>());
        }
        Output::AuthFailed { username, error } => {
            // The log says why (wrong password, unknown account, locked); the client's answer does not.
            let condition = error.condition();
            tracing::info!(target: "notification", peer, %source, username = ?username, condition, reason = ?error, "authentication failed");
            core.auth_failed(username.as_deref(), &error, source, Instant::now());
        }
        Output::Authenticated { username } => core.auth_succeeded(&username, source),
        Output::Bind { username, resource } => match core.bind(&username, resource, origin) {
            Ok(handle) => {
                // The bind came in a request from the client: its last request is now.
                handle.stats().set_label(peer);
                handle.stats().client_request();
                machine.bound(Ok(handle.jid.clone()));
                *session = Some(handle);
            }
            Err(err) => machine.bound(Err(err)),
        },
        Output::Stanza(el) => {
            if let Some(s) = session.as_ref() {
                core.route(&s.jid, s.id, el).await;
            }
        }
        other => return Some(other),
    }
    None
}

/// Unbinds a finished session, if it was bound, telling the core how it ended; the core takes
/// back the stanzas still queued for it (and `more`) so that nothing addressed to it is lost.
pub(crate) async fn finish(core: &Core, session: Option<SessionHandle>, more: Vec<herald_xml::Element>, end: SessionEnd) {
    if let Some(session) = session {
        core.unbind(session, more, end).await;
    }
}

/// The text of the stream error a kicked session is closed with.
pub(crate) const KICKED_TEXT: &str = "session closed by an administrator";

/// What the core sends a bound session.
pub(crate) enum FromCore {
    /// A stanza to deliver.
    Stanza(herald_xml::Element),
    /// An order (close as replaced).
    Control(Control),
}

/// The next stanza or order for a bound session; never resolves while unbound.
pub(crate) async fn from_core(session: &mut Option<SessionHandle>) -> FromCore {
    let Some(s) = session else { return std::future::pending().await };
    match s.inbox.recv().await {
        Some(el) => FromCore::Stanza(*el),
        // The queue ends when the core drops the session: replaced (said once), or unbinding.
        None if s.take_replaced() => FromCore::Control(Control::Replaced),
        None if s.take_kicked() => FromCore::Control(Control::Kicked),
        None if s.take_reconnect() => FromCore::Control(Control::Reconnect),
        None => std::future::pending().await,
    }
}

/// Sleeps until `deadline`, or forever when there is none.
pub(crate) async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// The next tick of an optional interval; never, when there is none.
pub(crate) async fn next_tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => drop(i.tick().await),
        None => std::future::pending().await,
    }
}

/// The text of the stream error a session asked to reconnect is closed with.
pub(crate) const RECONNECT_TEXT: &str = "this node was out of the cluster and may have missed events: reconnect to catch up";

/// How a driver closes its stream on the core's order: the condition, its text, and the cause
/// the close is recorded with (`None`: the condition's own).
pub(crate) fn ordered_close(order: &Control) -> (StreamErrorCondition, &'static str, Option<CloseCause>) {
    match order {
        Control::Replaced => (StreamErrorCondition::Conflict, "replaced by a new connection with the same resource", None),
        Control::Kicked => (StreamErrorCondition::PolicyViolation, KICKED_TEXT, Some(CloseCause::Kicked)),
        Control::Reconnect => (StreamErrorCondition::SystemShutdown, RECONNECT_TEXT, Some(CloseCause::NodeRejoined)),
    }
}

/// A stream's end as the session record names it and as the core records it: a stream closed
/// on the core's order (an administrator's kick closes with `<policy-violation/>` like any
/// policy breach) is recorded as that order (`ordered`) rather than the condition.
pub(crate) fn stream_end(reason: &CloseReason, ordered: Option<CloseCause>) -> (&'static str, CloseCause) {
    match ordered {
        Some(cause) => (cause.name(), cause),
        None => (cause_of(reason), core_cause_of(reason)),
    }
}

/// Counts what a stream driver wrote to its bound client (`stanzas` elements in `bytes` bytes).
pub(crate) fn count_sent(session: &Option<SessionHandle>, stanzas: u64, bytes: usize) {
    if let Some(s) = session {
        s.stats().sent(stanzas, bytes as u64);
    }
}

/// Notes that the bound client sent something now.
pub(crate) fn count_request(session: &Option<SessionHandle>) {
    if let Some(s) = session {
        s.stats().client_request();
    }
}

/// The cause name of a stream's end, as session records and logs give it.
pub(crate) fn cause_of(reason: &CloseReason) -> &'static str {
    match reason {
        CloseReason::ClientClosed => "client-closed",
        CloseReason::StreamError(condition, _) => condition.name(),
    }
}

/// The core's cause for a stream's end.
pub(crate) fn core_cause_of(reason: &CloseReason) -> CloseCause {
    match reason {
        CloseReason::ClientClosed => CloseCause::ClientTerminate,
        CloseReason::StreamError(condition, _) => CloseCause::from_stream_error(*condition),
    }
}

/// The core's cause for a BOSH session's end.
pub(crate) fn core_cause_of_bosh(cause: &herald_bosh::CloseCause) -> CloseCause {
    use herald_bosh::CloseCause as Bosh;
    match cause {
        Bosh::Inactivity => CloseCause::Inactivity,
        Bosh::ClientTerminate => CloseCause::ClientTerminate,
        Bosh::ServerShutdown => CloseCause::ServerShutdown,
        Bosh::StreamError(condition) => CloseCause::from_stream_error(*condition),
        Bosh::Overactivity | Bosh::BadRid | Bosh::BadKey | Bosh::BadRequest => CloseCause::TransportError(cause.name()),
    }
}

/// Logs why a stream ended, with its condition for the troubleshooting greps.
pub(crate) fn log_close(peer: &str, reason: &CloseReason) {
    match reason {
        CloseReason::ClientClosed => tracing::debug!(target: "notification", peer, "client closed the stream"),
        CloseReason::StreamError(cond, text) => {
            tracing::info!(target: "notification", peer, condition = cond.name(), "stream closed with an error: {text}")
        }
    }
}

/// Writes the record a BOSH session leaves when it is created: unlike a stream, it outlives its
/// connections, so its start and end (below) are both logged. At debug: a stranger can create
/// sessions by the hundred before any login (capped and short-lived, see `admission`), and
/// `info.log` keeps the sessions that bind (`session bound`).
pub(crate) fn record_open(transport: &'static str, id: &str) {
    tracing::debug!(target: "notification", transport, id, "session record: opened");
}

/// Writes the record every transport leaves when a client's connection or session ends: which
/// transport, which connection or BOSH session, whose JID, the cause, and how long before the end
/// the client last sent anything. The diagnosis tools tell client-side from server-side patterns
/// from these records.
pub(crate) fn record_close(transport: &'static str, id: &str, jid: Option<&str>, cause: &str, last_activity: Instant) {
    let last_activity_ms_ago = last_activity.elapsed().as_millis() as u64;
    match jid {
        Some(jid) => tracing::info!(target: "notification", transport, id, jid, cause, last_activity_ms_ago, "session record: closed"),
        // Never bound: no agent's session, and a stranger can make any number of these, so
        // they stay out of info.log.
        None => {
            tracing::debug!(target: "notification", transport, id, jid = "(not bound)", cause, last_activity_ms_ago, "session record: closed")
        }
    }
}

/// When the driver may read from the client again, if not now: the client is over its byte
/// budget. The first time in a while, says so (summarised per connection by `log`).
pub(crate) fn paused_until(machine: &C2sStream, log: &mut LogThrottle, who: impl FnOnce() -> String) -> Option<Instant> {
    let now = Instant::now();
    let until = machine.read_after().filter(|t| *t > now)?;
    if let Some(times) = log.hit(now) {
        tracing::info!(target: "notification", who = who(), times, "client over its byte budget (limits.client_bytes_per_sec): reading from it paused");
    }
    Some(until)
}

/// Warns that stanzas for a session were dropped: one line per session per 10 s at most,
/// with how many since the last line.
pub(crate) fn warn_dropped(log: &mut LogThrottle, who: impl FnOnce() -> String, why: &'static str) {
    if let Some(dropped) = log.hit(Instant::now()) {
        tracing::warn!(target: "notification", who = who(), why, dropped, "stanzas dropped for a session (one line per session per 10 s at most)");
    }
}
