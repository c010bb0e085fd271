//! BOSH over HTTP: the `/http-bind/` handler and one task per session that owns its
//! `BoshSession` machine. Requests reach the task through a channel; the task answers each
//! when the machine says so (at once, when data arrives, or after `wait`): through a oneshot
//! to the router's handler, or on the fast-path connection itself, parked with the session
//! meanwhile (`crate::http::Parked`). So a held long poll costs its session's task and no task
//! of its own. In a cluster, a request naming a sid another node holds is forwarded to it
//! (`super::peers`), and a request another node forwarded is taken here like a client's.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use herald_bosh::{BoshOutput, BoshSession, CloseCause, Condition, RequestId, Response as BoshResponse, Undelivered};
use herald_core::queue::{QueueError, QueueReceiver, QueueSender, queue};
use herald_core::{CloseCause as CoreCause, Origin, SessionEnd, SessionHandle, Transport};
use herald_proto::{FullJid, LogThrottle, StanzaError, StreamErrorCondition, redact_xml};
use herald_sasl::{Account, SaslError};
use herald_stream::Output;
use herald_xml::{Element, Limits};
use tokio::sync::oneshot;

use super::context::{AppState, HttpContext};
use super::peers::Elsewhere;
use super::registry::{Message, Reply, Request};
use super::session::{self, FromCore};
use crate::admission::UnauthenticatedTicket;
use crate::http::Begun;

/// The content type of every BOSH answer.
pub(crate) const CONTENT_TYPE: &str = "text/xml; charset=utf-8";
/// BOSH answers are never cached (XEP-0124 §6: intermediaries must not replay them).
pub(crate) const CACHE_CONTROL: &str = "no-store";

fn xml(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, [(header::CONTENT_TYPE, CONTENT_TYPE), (header::CACHE_CONTROL, CACHE_CONTROL)], body).into_response()
}

fn logged(sid: &str, response: herald_bosh::Response) -> (u16, String) {
    tracing::debug!(target: "notification", "HTTPBindLog: HTTP SENT({sid}): {}", redact_xml(&response.body));
    (response.status, response.body)
}

/// `GET /http-bind/`: a short explanation, as peers give, so an operator's browser check shows
/// that the service is up.
pub(crate) async fn describe() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Herald BOSH endpoint (XEP-0124/XEP-0206): POST <body/> documents here.\n",
    )
        .into_response()
}

/// `POST /http-bind/` on a connection the router serves.
pub(crate) async fn handle(State(app): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, bytes: Bytes) -> Response {
    let (status, body) = answer(begin(&app, peer.ip(), &bytes)).await;
    xml(status, body)
}

/// The answer to a begun request: at once, or when its session (here or on another node) sends it.
pub(crate) async fn answer(begun: Begun<ForSession>) -> (u16, String) {
    match begun {
        Begun::Now(status, body) => (status, body),
        Begun::Later(request) => {
            let (tx, rx) = oneshot::channel();
            request.send(Reply::Channel(tx));
            rx.await.unwrap_or((404, String::new()))
        }
    }
}

/// A parsed BOSH request for a live session, to be sent with where its answer goes: what the
/// fast path holds between [`FastPath::begin`](crate::http::FastPath::begin) and
/// [`FastPath::park`](crate::http::FastPath::park).
pub struct ForSession(Destination);

/// Where a [`ForSession`] goes.
enum Destination {
    /// A session of this node.
    Here { body: Element, bytes: usize, session: QueueSender<Message> },
    /// Possibly a session of another node of the cluster (boxed: rare, and larger).
    Elsewhere(Box<Elsewhere>),
}

impl ForSession {
    /// Hands the request to its session's task, which answers through `reply`; if the session
    /// has just ended, its client gets a 404 at once, as for an unknown sid. A request for
    /// another node's session is forwarded there by a task of its own, which answers `reply`
    /// with what comes back.
    pub(crate) fn send(self, reply: Reply) {
        let (body, bytes, session) = match self.0 {
            Destination::Here { body, bytes, session } => (body, bytes, session),
            Destination::Elsewhere(elsewhere) => {
                tokio::spawn(elsewhere.forward(reply));
                return;
            }
        };
        let request = Box::new(Request { body, bytes, reply });
        if let Err(QueueError::Closed(Message::Request(request)) | QueueError::Full(Message::Request(request))) =
            session.try_send(Message::Request(request))
        {
            request.reply.send_unknown();
        }
    }
}

/// Who sent a request: a client of this node (from this address), or another node of the
/// cluster that forwarded it (see [`begin_forwarded`]).
#[derive(Clone, Copy)]
enum Sender {
    Client(IpAddr),
    Peer,
}

/// Takes one BOSH request, whichever HTTP layer carried it: parses it, creates a session (an
/// answer now) or finds its session (the request to send it, answered later). `peer` is the
/// client's address: a new session is counted against its limits and keeps it for the lockout.
pub(crate) fn begin(app: &AppState, peer: IpAddr, bytes: &[u8]) -> Begun<ForSession> {
    take(app, Sender::Client(peer), bytes)
}

/// Takes a request another node forwarded (its client named a sid that node does not hold):
/// parsed under the same limits, for a session of this node only. It never creates a session
/// (a client's first request is served where it lands) and is never forwarded again: a sid
/// unknown here too gets the 404 of an unknown sid.
pub(crate) fn begin_forwarded(app: &AppState, bytes: &[u8]) -> Begun<ForSession> {
    take(app, Sender::Peer, bytes)
}

fn take(app: &AppState, sender: Sender, bytes: &[u8]) -> Begun<ForSession> {
    let ctx = &app.ctx;
    let limits = Limits { max_stanza_bytes: ctx.max_body_bytes, ..ctx.bosh.stream.limits };
    let body = match herald_xml::parse_document(bytes, limits) {
        Ok(body) => body,
        Err(err) => {
            // Not a parsable <body/>: the session (if any) is unknown, so this is the legacy
            // bad-request of XEP-0124 §17.3, as Openfire answers it.
            tracing::debug!(target: "notification", %err, "HTTPBindLog: unparsable request ({} bytes)", bytes.len());
            return Begun::Now(400, String::new());
        }
    };
    let sid = body.attr("sid");
    // SASL payloads and BOSH keys are redacted: a PLAIN <auth> is the password in base64.
    tracing::debug!(target: "notification", "HTTPBindLog: HTTP RECV({}): {}", sid.unwrap_or("new"), redact_xml(&String::from_utf8_lossy(bytes)));
    let Some(sid) = sid else {
        let Sender::Client(peer) = sender else {
            tracing::warn!(target: "notification", "HTTPBindLog: a request without a sid was forwarded by another node: refused");
            return Begun::Now(400, String::new());
        };
        let (status, body) = create(app, peer, body, bytes.len());
        return Begun::Now(status, body);
    };
    if let Some(session) = ctx.registry.get(sid) {
        return Begun::Later(ForSession(Destination::Here { body, bytes: bytes.len(), session }));
    }
    match (sender, &ctx.bosh_peers) {
        (Sender::Client(_), Some(peers)) => Begun::Later(ForSession(Destination::Elsewhere(Box::new(Elsewhere {
            sid: sid.to_owned(),
            body: Bytes::copy_from_slice(bytes),
            peers: peers.clone(),
            shutdown: ctx.shutdown.clone(),
        })))),
        // Unknown sid: 404 as Openfire does, whatever the client's version (the session, and
        // so its version, is unknown).
        _ => Begun::Now(404, String::new()),
    }
}

fn create(app: &AppState, peer: IpAddr, body: Element, bytes: usize) -> (u16, String) {
    let ctx = app.ctx.clone();
    if bytes > ctx.bosh.stream.max_unauthenticated_bytes {
        tracing::debug!(target: "notification", %peer, bytes, "HTTPBindLog: session request larger than the pre-authentication limit");
        return (200, BoshResponse::terminal(Condition::PolicyViolation, body.attr("ver").is_none()).body);
    }
    // Counted against the limits on sessions that have not logged in, until this one does.
    let ticket = match ctx.admission.create_session(peer) {
        Ok(ticket) => ticket,
        Err(refusal) => return (refusal.status(), String::new()),
    };
    let config = &app.listener.bosh;
    let sid = format!("{:032x}", rand::random::<u128>());
    let stream_id = format!("{:016x}", rand::random::<u64>());
    let mut machine = match BoshSession::create(sid.clone(), stream_id, 0, &body, config, Instant::now()) {
        Ok(machine) => machine,
        Err(response) => return logged("new", response),
    };
    let first = match machine.poll_output() {
        Some(BoshOutput::Respond { response, .. }) => response,
        _ => return (500, String::new()),
    };
    ctx.core.metrics().bosh_response(carries_data(&first));
    // Unbounded: the machine itself refuses more than `requests` outstanding requests, and the
    // connection limit bounds how many can be on their way.
    let (tx, rx) = queue(usize::MAX);
    ctx.registry.insert(sid.clone(), tx);
    if let Some(peers) = &ctx.bosh_peers {
        peers.created(&sid);
    }
    session::record_open("bosh", &sid);
    // Spawned boxed: a task's cell is cache-line aligned and padded around the future it holds
    // inline; a box keeps the padding off every idle session.
    tokio::spawn(Box::pin(run(ctx.clone(), Box::new(machine), rx, Some(ticket), peer)));
    logged(&sid, first)
}

/// The machine takes the core's answers itself and carries what the stream says next to its
/// held requests.
impl session::Answers for BoshSession {
    fn credentials(&mut self, account: Result<Account, SaslError>, random: &[u8]) {
        self.handle_credentials(account, random, Instant::now());
    }

    fn bound(&mut self, result: Result<FullJid, StanzaError>) {
        self.handle_bind(result, Instant::now());
    }
}

/// Whether a BOSH answer carries anything (`herald_bosh_responses_total{kind="data"}`), or is
/// a `<body/>` with nothing inside (`kind="empty"`: a long poll answered when `wait` ran out, a
/// request answered at once with nothing to say, a bare terminate).
fn carries_data(response: &BoshResponse) -> bool {
    response.body.ends_with("</body>")
}

/// What a session's task reports of itself to the session listing and the metrics: one source,
/// the machine's own counters (those of the debug statistics line), copied after each turn.
#[derive(Default)]
struct Reported {
    msgs_sent: u64,
    bytes_sent: u64,
    held: usize,
}

impl Reported {
    /// Copies what changed since the last turn: sent counts (into the bound session's stats,
    /// including what was sent before the bind, so both agree with the statistics line) and the
    /// requests held now (into the stats and `herald_bosh_held_requests`).
    fn update(&mut self, ctx: &HttpContext, machine: &BoshSession, handle: &Option<SessionHandle>, held: usize) {
        if held != self.held {
            ctx.core.metrics().bosh_held_requests.inc_by(held as i64 - self.held as i64);
            self.held = held;
        }
        let Some(handle) = handle else { return };
        let stats = machine.stats();
        let (msgs, bytes) = (stats.msgs_sent.saturating_sub(self.msgs_sent), stats.bytes_sent.saturating_sub(self.bytes_sent));
        if msgs != 0 || bytes != 0 {
            handle.stats().sent(msgs, bytes);
            (self.msgs_sent, self.bytes_sent) = (stats.msgs_sent, stats.bytes_sent);
        }
        handle.stats().set_held(u32::try_from(held).unwrap_or(u32::MAX));
    }
}

/// The statistics lines' timer, made while debug logging is on and dropped when it is off
/// (checked on each turn of the session's loop: an idle session pays nothing for it when off).
fn stats_timer(ctx: &HttpContext, timer: &mut Option<tokio::time::Interval>) {
    let on = ctx.log.debug();
    if on != timer.is_some() {
        let every = ctx.session_stats;
        *timer = on.then(|| tokio::time::interval_at(tokio::time::Instant::now() + every, every));
    }
}

fn epoch_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

/// The task that owns one session until it closes and its late-request grace passes.
///
/// The machine comes boxed: an async fn keeps its arguments and their moved-in copies side by
/// side in its state, so an inline machine would be paid for twice by every idle session.
async fn run(
    ctx: Arc<HttpContext>,
    mut machine: Box<BoshSession>,
    mut requests: QueueReceiver<Message>,
    mut unauthenticated: Option<UnauthenticatedTicket>,
    source: IpAddr,
) {
    let core = ctx.core.clone();
    // Where each outstanding request's answer goes (one or two at a time: a list, not a map).
    let mut replies: Vec<(RequestId, Reply)> = Vec::with_capacity(2);
    let timer = tokio::time::sleep_until(tokio::time::Instant::now());
    tokio::pin!(timer);
    let mut armed: Option<Instant> = None;
    let mut next_request: RequestId = 1;
    let mut handle: Option<SessionHandle> = None;
    // The bound JID for the logs, made when a line needs it rather than kept by every session.
    let jid_of = |handle: &Option<SessionHandle>| handle.as_ref().map_or_else(|| "(not bound)".to_owned(), |h| h.jid.to_string());
    let mut stopping = false;
    // Summarise this session's drop and over-budget lines (a flood must not flood the log).
    let (mut drop_log, mut throttle_log) = (LogThrottle::default(), LogThrottle::default());
    // Only with debug logging on: a timer per idle session is not free.
    let mut stats = None;
    let mut reported = Reported::default();
    let mut ordered = None;
    loop {
        while let Some(output) = machine.poll_output() {
            match output {
                BoshOutput::Respond { request, response } => {
                    if let Some(at) = replies.iter().position(|(id, _)| *id == request) {
                        let (_, reply) = replies.swap_remove(at);
                        core.metrics().bosh_response(carries_data(&response));
                        let (status, body) = logged(machine.sid(), response);
                        reply.send(status, body);
                    }
                }
                BoshOutput::Stream(output) => {
                    if matches!(output, Output::Authenticated { .. }) {
                        // Logged in: no longer counted against the strangers' limits.
                        drop(unauthenticated.take());
                    }
                    // These rare steps (logins, stanzas from the client) hold store queries: boxed,
                    // so that an idle session's task is not as large as their largest state, and
                    // with a copy of the sid made only for them.
                    let sid = machine.sid().to_owned();
                    let origin = Origin { transport: Transport::Bosh, source };
                    let applying = Box::pin(session::apply(&core, &mut *machine, &mut handle, output, &sid, origin));
                    let _ = applying.await;
                }
                BoshOutput::Closed { cause, last_request, undelivered } => {
                    let (jid, sid) = (jid_of(&handle), machine.sid().to_owned());
                    if cause == CloseCause::Inactivity {
                        tracing::info!(
                            target: "notification",
                            "Closing idle session (id={sid}): {jid} after inactivity for more than threshold value of {}",
                            ctx.bosh.inactivity.as_secs()
                        );
                    }
                    let cause = ordered.unwrap_or_else(|| session::core_cause_of_bosh(&cause));
                    session::record_close("bosh", &sid, handle.as_ref().map(|_| jid.as_str()), cause.name(), last_request);
                    reported.update(&ctx, &machine, &handle, replies.len());
                    let end = SessionEnd { cause, last_activity: last_request };
                    let finishing = Box::pin(session::finish(&core, handle.take(), undelivered, end));
                    finishing.await;
                }
            }
        }
        reported.update(&ctx, &machine, &handle, replies.len());
        stats_timer(&ctx, &mut stats);
        let now = Instant::now();
        if machine.is_closed() && (stopping || machine.poll_timeout().is_none_or(|t| t <= now)) {
            break;
        }
        // One timer for the session's life, moved only when the machine's deadline moves:
        // a new timer on every turn of the loop would be registered and removed each time.
        if armed != machine.poll_timeout() {
            armed = machine.poll_timeout();
            if let Some(deadline) = armed {
                timer.as_mut().reset(deadline.into());
            }
        }
        tokio::select! {
            message = requests.recv() => match message {
                Some(Message::Shutdown) => {
                    if !stopping {
                        stopping = true;
                        machine.close(StreamErrorCondition::SystemShutdown, "the server is shutting down", Instant::now());
                    }
                }
                Some(Message::Request(request)) => {
                    let Request { body, bytes, reply } = *request;
                    let id = next_request;
                    next_request += 1;
                    replies.push((id, reply));
                    if let Some(h) = &handle {
                        h.stats().client_request();
                    }
                    machine.handle_request(id, body, bytes, Instant::now());
                    session::paused_until(machine.stream(), &mut throttle_log, || jid_of(&handle));
                }
                None => break,
            },
            from_core = session::from_core(&mut handle) => match from_core {
                FromCore::Stanza(el) => {
                    let why = match machine.deliver(el, Instant::now()) {
                        Ok(()) => None,
                        Err(Undelivered::QueueFull) => Some("queue full (bosh.max_pending)"),
                        Err(Undelivered::Closed(_)) => Some("session closing"),
                    };
                    if let Some(why) = why {
                        session::warn_dropped(&mut drop_log, || jid_of(&handle), why);
                    }
                }
                FromCore::Control(order) => {
                    let (condition, text, cause) = session::ordered_close(&order);
                    ordered = cause;
                    machine.close(condition, text, Instant::now());
                }
            },
            () = &mut timer, if armed.is_some() => {
                armed = None;
                machine.handle_timeout(Instant::now());
            }
            () = session::next_tick(&mut stats), if !machine.is_closed() && ctx.log.debug() => {
                let s = machine.stats();
                let (jid, sid) = (jid_of(&handle), machine.sid());
                tracing::debug!(target: "notification", "Session (id={sid}) was last active {} ms ago: {jid}", machine.last_request().elapsed().as_millis());
                tracing::debug!(
                    target: "notification",
                    "time={},JID={jid},msgs_sent={},msgs_queue={},msgs_drop={},bytes_sent={}",
                    epoch_ms(), s.msgs_sent, s.msgs_queue, s.msgs_drop, s.bytes_sent
                );
            }
        }
    }
    ctx.registry.remove(machine.sid());
    if let Some(peers) = &ctx.bosh_peers {
        peers.ended(machine.sid());
    }
    // Its held requests are answered below: no longer held.
    reported.update(&ctx, &machine, &handle, 0);
    // Requests still unanswered, held or still queued (the queue closed first, so that none
    // slips in behind), get what an unknown session's would.
    requests.close();
    for (_, reply) in replies {
        reply.send_unknown();
    }
    while let Some(message) = requests.try_recv() {
        if let Message::Request(request) = message {
            request.reply.send_unknown();
        }
    }
    // Still bound only if the task ended before its machine closed: its requests stopped coming.
    let end = SessionEnd { cause: CoreCause::ConnectionLost, last_activity: machine.last_request() };
    let finishing = Box::pin(session::finish(&core, handle.take(), Vec::new(), end));
    finishing.await;
}
