//! The BOSH session state machine.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use herald_proto::{FullJid, StanzaError, StreamErrorCondition};
use herald_sasl::{Account, SaslError};
use herald_stream::{C2sStream, CloseReason, Output, StreamConfig};
use herald_xml::{Attr, Element, StreamEvent, StreamHeader};

use crate::body::{BodyBuilder, Condition, NS_HTTPBIND, NS_XBOSH, Response, empty_body};

/// The driver's handle for one HTTP request, echoed in [`BoshOutput::Respond`].
pub type RequestId = u64;

/// Limits and defaults of BOSH sessions (`[bosh]` in the configuration).
#[derive(Clone, Debug)]
pub struct BoshConfig {
    /// Longest a request is held (the client's `wait` is capped to it).
    pub max_wait: Duration,
    /// Most requests held at once (the client's `hold` is capped to it).
    pub max_hold: u32,
    /// With no request held for this long the session is closed.
    pub inactivity: Duration,
    /// Shortest allowed interval between empty requests of a polling client.
    pub polling: Duration,
    /// Longest `pause` a client may ask for.
    pub maxpause: Duration,
    /// Most elements queued for the client between its requests; beyond, they are dropped and
    /// counted (`msgs_drop`).
    pub max_pending: usize,
    /// Until the client authenticates, the session closes after this long without a request
    /// (if shorter than `inactivity`) and is forgotten this long after it closed: a stranger's
    /// abandoned sessions go soon.
    pub unauthenticated_inactivity: Duration,
    /// Whether the session runs over HTTPS (`secure='true'`).
    pub secure: bool,
    /// The XMPP stream settings (framing must be BOSH).
    pub stream: std::sync::Arc<StreamConfig>,
}

/// Why a session ended, recorded for the diagnosis tools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseCause {
    /// No request was held for `inactivity` (or the pause ran out).
    Inactivity,
    /// The client sent `type='terminate'`.
    ClientTerminate,
    /// Too many simultaneous or too frequent requests.
    Overactivity,
    /// A rid outside the window, or a response no longer buffered.
    BadRid,
    /// A key that does not hash to the previous one.
    BadKey,
    /// A malformed request.
    BadRequest,
    /// The server shut down.
    ServerShutdown,
    /// The XMPP stream ended with this stream error (conflict, policy violation, …).
    StreamError(StreamErrorCondition),
}

impl CloseCause {
    /// A short name for logs and session records.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Inactivity => "inactivity",
            Self::ClientTerminate => "client-terminate",
            Self::Overactivity => "overactivity",
            Self::BadRid => "bad-rid",
            Self::BadKey => "bad-key",
            Self::BadRequest => "bad-request",
            Self::ServerShutdown => "server-shutdown",
            Self::StreamError(c) => c.name(),
        }
    }
}

/// What the driver must do.
#[derive(Debug, PartialEq, Eq)]
pub enum BoshOutput {
    /// Answer this HTTP request.
    Respond {
        /// The request.
        request: RequestId,
        /// The answer.
        response: Response,
    },
    /// Carry out this output of the XMPP stream (credentials, bind, route, …). `Send` and
    /// `Close` never appear here: the session turns them into responses. `NeedCredentials` is
    /// answered with [`BoshSession::handle_credentials`], `Bind` with
    /// [`BoshSession::handle_bind`]; the others need no answer.
    Stream(Output),
    /// The session is over. Stanzas that could not be delivered are handed back for offline
    /// storage. The machine still answers late requests with the terminal body until
    /// [`BoshSession::poll_timeout`] passes, then the driver drops it.
    Closed {
        /// Why.
        cause: CloseCause,
        /// When the client's last request arrived.
        last_request: Instant,
        /// Stanzas queued for the client and never sent.
        undelivered: Vec<Element>,
    },
}

/// Why [`BoshSession::deliver`] did not queue a stanza.
#[derive(Debug, PartialEq, Eq)]
pub enum Undelivered {
    /// The session is closed; the stanza is handed back.
    Closed(Element),
    /// `max_pending` elements already wait for the client; the stanza was dropped and counted.
    QueueFull,
}

/// Per-session counters: the seed's `msgs_sent`, `msgs_queue`, `msgs_drop`, `bytes_sent`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Elements sent to the client.
    pub msgs_sent: u64,
    /// Elements waiting for the client's next request.
    pub msgs_queue: u64,
    /// Elements dropped because the queue was full.
    pub msgs_drop: u64,
    /// Body bytes sent.
    pub bytes_sent: u64,
}

#[derive(Debug)]
struct Held {
    rid: u64,
    request: RequestId,
    deadline: Instant,
}

#[derive(Debug)]
enum Pending {
    /// Produced by the XMPP stream (features, SASL answers, iq results, stream errors).
    Raw(String),
    /// Routed to this session by the core; handed back if never sent.
    Stanza(Element),
}

/// One BOSH session.
pub struct BoshSession {
    sid: String,
    c2s: C2sStream,
    wait: Duration,
    hold: usize,
    requests: usize,
    inactivity: Duration,
    unauthenticated_inactivity: Duration,
    polling: Duration,
    maxpause: Duration,
    max_pending: usize,
    legacy: bool,
    acks: bool,
    next_rid: u64,
    out_of_order: BTreeMap<u64, (RequestId, Element)>,
    /// Requests that arrived while the client was over its byte budget, with their sizes:
    /// handled in order once the budget allows.
    throttled: VecDeque<(RequestId, Element, usize)>,
    held: VecDeque<Held>,
    /// The last answers by rid, ascending (a handful: a map's nodes would cost more than they
    /// save on every idle session).
    /// `None` stands for the empty body, what nearly every idle answer is, so it is not stored.
    answered: VecDeque<(u64, Option<String>, Instant)>,
    pending: Vec<Pending>,
    last_request: Instant,
    idle_deadline: Option<Instant>,
    last_empty_request: Option<Instant>,
    key: Option<String>,
    terminal: Option<Response>,
    closed_at: Option<Instant>,
    stats: SessionStats,
    out: VecDeque<BoshOutput>,
}

fn attr_u64(body: &Element, name: &str) -> Option<u64> {
    body.attr(name).and_then(|v| v.trim().parse().ok())
}

fn xbosh_attr<'a>(body: &'a Element, name: &str) -> Option<&'a str> {
    body.attrs.iter().find(|a| a.ns == NS_XBOSH && a.name == name).map(|a| a.value.as_str())
}

fn sha1_hex(data: &str) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(data.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares BOSH versions `major.minor` numerically.
fn version_key(v: &str) -> (u32, u32) {
    let mut parts = v.split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

impl BoshSession {
    /// Creates a session from the client's first request (one without `sid`). `sid` must be
    /// unpredictable (128 bits from a CSPRNG); `stream_id` names the XMPP stream. On a bad
    /// request the answer to send is returned instead.
    pub fn create(
        sid: String,
        stream_id: String,
        request: RequestId,
        body: &Element,
        config: &BoshConfig,
        now: Instant,
    ) -> Result<Self, Response> {
        let legacy = body.attr("ver").is_none();
        if !body.is("body", NS_HTTPBIND) {
            return Err(Response::terminal(Condition::BadRequest, legacy));
        }
        let Some(rid) = attr_u64(body, "rid") else { return Err(Response::terminal(Condition::BadRequest, legacy)) };
        let domain = &config.stream.domain;
        if !body.attr("to").is_some_and(|to| to.eq_ignore_ascii_case(domain)) {
            return Err(Response::terminal(Condition::HostUnknown, legacy));
        }
        let max_wait = config.max_wait.as_secs();
        let wait = attr_u64(body, "wait").map_or(max_wait, |w| w.min(max_wait));
        let hold = attr_u64(body, "hold").map_or(1, |h| h.min(u64::from(config.max_hold))) as usize;
        let ver = match body.attr("ver") {
            Some(v) if version_key(v) < (1, 11) => v.to_owned(),
            _ => "1.11".to_owned(),
        };
        let mut session = Self {
            sid,
            c2s: C2sStream::new(config.stream.clone(), stream_id, now),
            wait: Duration::from_secs(wait),
            hold,
            requests: hold + 1,
            inactivity: config.inactivity,
            unauthenticated_inactivity: config.unauthenticated_inactivity,
            polling: config.polling,
            maxpause: config.maxpause,
            max_pending: config.max_pending,
            legacy,
            acks: body.attr("ack") == Some("1"),
            next_rid: rid.wrapping_add(1),
            out_of_order: BTreeMap::new(),
            throttled: VecDeque::new(),
            // Sized for what a desktop uses (hold=1: one held request, two answers kept), where
            // a first push would reserve room for four.
            held: VecDeque::with_capacity(hold.clamp(1, 2)),
            answered: VecDeque::with_capacity((hold + 1).clamp(2, 3)),
            pending: Vec::new(),
            last_request: now,
            idle_deadline: Some(now + config.inactivity.min(config.unauthenticated_inactivity)),
            last_empty_request: None,
            key: body.attr("newkey").map(str::to_owned),
            terminal: None,
            closed_at: None,
            stats: SessionStats::default(),
            out: VecDeque::new(),
        };
        session.open_stream(body, now);
        let features = session.take_raw_pending();
        let mut start = BodyBuilder::new()
            .attr("xmlns:xmpp", NS_XBOSH)
            .attr("sid", &session.sid)
            .attr("wait", &wait.to_string())
            .attr("hold", &hold.to_string())
            .attr("requests", &session.requests.to_string())
            .attr("inactivity", &config.inactivity.as_secs().to_string())
            .attr("polling", &config.polling.as_secs().to_string())
            .attr("maxpause", &config.maxpause.as_secs().to_string())
            .attr("ver", &ver)
            .attr("authid", session.c2s.stream_id())
            .attr("from", domain)
            .attr("secure", if config.secure { "true" } else { "false" })
            .attr("xmpp:version", "1.0")
            .attr("xmpp:restartlogic", "true");
        if session.acks {
            start = start.attr("ack", &rid.to_string());
        }
        let text = start.finish(&features);
        session.record_answer(rid, request, text, now);
        Ok(session)
    }

    /// How long the session may go without a request: shorter until the client authenticates.
    fn idle_limit(&self) -> Duration {
        if self.c2s.is_authenticated() { self.inactivity } else { self.inactivity.min(self.unauthenticated_inactivity) }
    }

    /// The session id.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// The XMPP stream inside.
    pub fn stream(&self) -> &C2sStream {
        &self.c2s
    }

    /// Counters for the per-session statistics log line.
    pub fn stats(&self) -> SessionStats {
        SessionStats { msgs_queue: self.pending.len() as u64, ..self.stats }
    }

    /// When the client's last request arrived.
    pub fn last_request(&self) -> Instant {
        self.last_request
    }

    /// Whether the session has ended (it may still answer late requests).
    pub fn is_closed(&self) -> bool {
        self.closed_at.is_some()
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<BoshOutput> {
        herald_proto::pop_releasing(&mut self.out)
    }

    /// When [`BoshSession::handle_timeout`] must next be called; after the session closed, the
    /// time at which the driver may forget it.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if let Some(closed) = self.closed_at {
            return Some(closed + self.idle_limit());
        }
        let release = self.throttled.front().and(self.c2s.read_after());
        [self.held.front().map(|h| h.deadline), self.idle_deadline, self.c2s.poll_timeout(), release].into_iter().flatten().min()
    }

    /// The answer to [`Output::NeedCredentials`]: the account the login is verified against,
    /// or the error that refuses it at once. `random` seeds the SCRAM server nonce. What the
    /// stream says next (a challenge, a failure) is already on its way to a held request, or
    /// queued for the next one, when this returns.
    pub fn handle_credentials(&mut self, account: Result<Account, SaslError>, random: &[u8], now: Instant) {
        self.c2s.provide_credentials(account, random);
        self.pump(now);
    }

    /// The answer to [`Output::Bind`]: the full JID now registered, or the error to return.
    /// The bind result is already on its way to the client when this returns.
    pub fn handle_bind(&mut self, result: Result<FullJid, StanzaError>, now: Instant) {
        self.c2s.bind_result(result);
        self.pump(now);
    }

    /// Carries the XMPP stream's outputs on: its text to the pending queue (and from there to a
    /// held request), its close to the session's end, the rest to the driver.
    fn pump(&mut self, now: Instant) {
        while let Some(output) = self.c2s.poll_output() {
            match output {
                Output::Send(text) => self.pending.push(Pending::Raw(text)),
                Output::Close(reason) => {
                    let (condition, cause) = match reason {
                        CloseReason::ClientClosed => (None, CloseCause::ClientTerminate),
                        CloseReason::StreamError(StreamErrorCondition::SystemShutdown, _) => {
                            (Some(Condition::SystemShutdown), CloseCause::ServerShutdown)
                        }
                        CloseReason::StreamError(c, _) => (Some(Condition::RemoteStreamError), CloseCause::StreamError(c)),
                    };
                    // The stream error element (if any) is already pending and goes in the body.
                    return self.terminate(condition, cause, now);
                }
                other => self.out.push_back(BoshOutput::Stream(other)),
            }
        }
        self.flush(now);
    }

    /// A stanza the core routed to this session. A closed session hands it back so that the
    /// driver can route it again (to offline storage); a full queue drops and counts it, and
    /// says so for the driver's (summarised) warning.
    pub fn deliver(&mut self, stanza: Element, now: Instant) -> Result<(), Undelivered> {
        if self.closed_at.is_some() {
            return Err(Undelivered::Closed(stanza));
        }
        if self.pending.len() >= self.max_pending {
            self.stats.msgs_drop += 1;
            return Err(Undelivered::QueueFull);
        }
        self.pending.push(Pending::Stanza(stanza));
        self.flush(now);
        Ok(())
    }

    /// Closes the session from the server side (shutdown, replaced login, idle detection).
    pub fn close(&mut self, condition: StreamErrorCondition, text: &str, now: Instant) {
        if self.closed_at.is_none() {
            self.c2s.close(condition, text);
            self.pump(now);
        }
    }

    /// One HTTP request for this session (its `sid` already matched), `bytes` long. A client
    /// over its byte budget (`stream.rate_limit`) has the request handled later, when the
    /// budget allows ([`BoshSession::poll_timeout`] says when); requests already held are
    /// still answered at their deadline, so the BOSH timing holds. More requests waiting than
    /// the session allows outstanding is overactivity, as without a budget. Before login a
    /// request over the stream's pre-authentication limit ends the session (`policy-violation`).
    pub fn handle_request(&mut self, request: RequestId, body: Element, bytes: usize, now: Instant) {
        if self.terminal.is_none() && !self.c2s.admits_request_of(bytes) {
            self.close(StreamErrorCondition::PolicyViolation, "request larger than allowed before authentication", now);
        }
        let over_budget = self.c2s.read_after().is_some_and(|t| t > now);
        if self.terminal.is_none() && (over_budget || !self.throttled.is_empty()) {
            let outstanding = self.held.len() + self.out_of_order.len() + self.throttled.len() + 1;
            if outstanding > self.requests + 1 {
                self.respond_raw(request, Response::terminal(Condition::PolicyViolation, self.legacy));
                return self.terminate(Some(Condition::PolicyViolation), CloseCause::Overactivity, now);
            }
            self.last_request = now;
            // A request is waiting: the client is not idle (and no past deadline may stay armed).
            self.idle_deadline = None;
            return self.throttled.push_back((request, body, bytes));
        }
        self.c2s.charge(bytes, now);
        self.process_request(request, body, now);
    }

    /// Handles the requests that waited for the budget, as far as it now allows.
    fn release_throttled(&mut self, now: Instant) {
        while self.closed_at.is_none() && self.c2s.read_after().is_none_or(|t| t <= now) {
            let Some((request, body, bytes)) = self.throttled.pop_front() else { break };
            self.c2s.charge(bytes, now);
            self.process_request(request, body, now);
        }
    }

    fn process_request(&mut self, request: RequestId, body: Element, now: Instant) {
        if let Some(terminal) = &self.terminal {
            let response = terminal.clone();
            return self.respond_raw(request, response);
        }
        self.last_request = now;
        let Some(rid) = attr_u64(&body, "rid") else {
            self.respond_raw(request, Response::terminal(Condition::BadRequest, self.legacy));
            return self.terminate(Some(Condition::BadRequest), CloseCause::BadRequest, now);
        };
        if rid < self.next_rid {
            return self.repeated_rid(rid, request, now);
        }
        if rid >= self.next_rid.saturating_add(self.requests as u64) {
            self.respond_raw(request, Response::terminal(Condition::ItemNotFound, self.legacy));
            return self.terminate(Some(Condition::ItemNotFound), CloseCause::BadRid, now);
        }
        // More unanswered requests than `requests` (one extra is allowed for pause/terminate).
        let special = body.attr("type") == Some("terminate") || body.attr("pause").is_some();
        let outstanding = self.held.len() + self.out_of_order.len() + 1;
        if outstanding > self.requests + usize::from(special) {
            self.respond_raw(request, Response::terminal(Condition::PolicyViolation, self.legacy));
            return self.terminate(Some(Condition::PolicyViolation), CloseCause::Overactivity, now);
        }
        if let Some((old, _)) = self.out_of_order.insert(rid, (request, body)) {
            self.respond_raw(old, Response::ok(empty_body()));
        }
        while let Some((request, body)) = self.out_of_order.remove(&self.next_rid) {
            let rid = self.next_rid;
            self.next_rid += 1;
            self.process(rid, request, body, now);
            if self.closed_at.is_some() {
                break;
            }
        }
        if self.out_of_order.is_empty() {
            // An emptied map keeps its first node; an idle session should not.
            self.out_of_order = BTreeMap::new();
        }
        self.flush(now);
    }

    /// The clock reached [`BoshSession::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed_at.is_some() {
            return;
        }
        self.release_throttled(now);
        while self.held.front().is_some_and(|h| h.deadline <= now) {
            let held = self.held.pop_front().expect("checked");
            self.answer(held, String::new(), now);
        }
        self.c2s.handle_timeout(now);
        self.pump(now);
        let waiting = !self.held.is_empty() || !self.throttled.is_empty();
        if self.closed_at.is_none() && !waiting && self.idle_deadline.is_some_and(|d| d <= now) {
            self.c2s.close(StreamErrorCondition::ConnectionTimeout, "BOSH session inactive");
            while self.c2s.poll_output().is_some() {}
            self.finish(CloseCause::Inactivity, now);
        }
    }

    fn open_stream(&mut self, body: &Element, now: Instant) {
        let mut attrs =
            vec![Attr { ns: String::new(), name: "version".into(), value: xbosh_attr(body, "version").unwrap_or("1.0").to_owned() }];
        if let Some(to) = body.attr("to") {
            attrs.push(Attr { ns: String::new(), name: "to".into(), value: to.to_owned() });
        }
        let header = StreamHeader { name: "stream".into(), ns: herald_proto::ns::STREAM.into(), attrs };
        self.c2s.handle_event(StreamEvent::Open(header));
        self.pump(now);
    }

    fn take_raw_pending(&mut self) -> String {
        let mut text = String::new();
        self.pending.retain(|p| match p {
            Pending::Raw(s) => {
                text.push_str(s);
                false
            }
            Pending::Stanza(_) => true,
        });
        text
    }

    fn repeated_rid(&mut self, rid: u64, request: RequestId, now: Instant) {
        if let Some(held) = self.held.iter_mut().find(|h| h.rid == rid) {
            // The client gave up on a held request and sent it again: answer the old one empty
            // and hold the new one in its place.
            let old = std::mem::replace(&mut held.request, request);
            return self.respond_raw(old, Response::ok(empty_body()));
        }
        if let Some((_, text, _)) = self.answered.iter().find(|a| a.0 == rid) {
            let response = Response::ok(text.clone().unwrap_or_else(empty_body));
            return self.respond_raw(request, response);
        }
        self.respond_raw(request, Response::terminal(Condition::ItemNotFound, self.legacy));
        self.terminate(Some(Condition::ItemNotFound), CloseCause::BadRid, now);
    }

    fn process(&mut self, rid: u64, request: RequestId, body: Element, now: Instant) {
        if !body.is("body", NS_HTTPBIND) {
            self.respond_raw(request, Response::terminal(Condition::BadRequest, self.legacy));
            return self.terminate(Some(Condition::BadRequest), CloseCause::BadRequest, now);
        }
        if let Some(expected) = &self.key {
            match body.attr("key") {
                Some(key) if sha1_hex(key).eq_ignore_ascii_case(expected) => {
                    self.key = Some(body.attr("newkey").unwrap_or(key).to_owned());
                }
                _ => {
                    self.respond_raw(request, Response::terminal(Condition::ItemNotFound, self.legacy));
                    return self.terminate(Some(Condition::ItemNotFound), CloseCause::BadKey, now);
                }
            }
        }
        let mut report = None;
        if self.acks
            && let Some(ack) = attr_u64(&body, "ack")
        {
            self.answered.retain(|a| a.0 > ack);
            // A response the client has not acknowledged for longer than `wait` was probably
            // lost: say so at once (XEP-0124 §9.3) so the client asks for it again.
            if let Some((lost, sent)) = self.answered.iter().find(|a| a.0 < rid).map(|a| (a.0, a.2))
                && now.duration_since(sent) > self.wait
            {
                report = Some((lost, now.duration_since(sent).as_millis()));
            }
        }
        let terminate = body.attr("type") == Some("terminate");
        let pause = attr_u64(&body, "pause");
        let restart = xbosh_attr(&body, "restart") == Some("true");
        let is_empty = body.children.iter().all(|n| matches!(n, herald_xml::Node::Text(t) if t.trim().is_empty()))
            && !terminate
            && pause.is_none()
            && !restart;
        if is_empty {
            let too_soon = self.last_empty_request.is_some_and(|t| now.duration_since(t) < self.polling);
            if too_soon && (self.hold == 0 || self.held.len() >= self.hold) {
                self.respond_raw(request, Response::terminal(Condition::PolicyViolation, self.legacy));
                return self.terminate(Some(Condition::PolicyViolation), CloseCause::Overactivity, now);
            }
            self.last_empty_request = Some(now);
        }
        if restart {
            if !self.c2s.awaiting_header() {
                self.respond_raw(request, Response::terminal(Condition::BadRequest, self.legacy));
                return self.terminate(Some(Condition::BadRequest), CloseCause::BadRequest, now);
            }
            self.open_stream(&body, now);
        } else {
            for child in body.elements() {
                self.c2s.handle_event(StreamEvent::Element(child.clone()));
            }
        }
        if terminate {
            self.c2s.handle_event(StreamEvent::Close);
            self.held.push_back(Held { rid, request, deadline: now + self.wait });
            return self.pump(now);
        }
        if let Some(pause) = pause {
            let pause = Duration::from_secs(pause);
            if pause > self.maxpause {
                self.respond_raw(request, Response::terminal(Condition::PolicyViolation, self.legacy));
                return self.terminate(Some(Condition::PolicyViolation), CloseCause::Overactivity, now);
            }
            while let Some(held) = self.held.pop_front() {
                self.answer(held, String::new(), now);
            }
            self.answer(Held { rid, request, deadline: now }, String::new(), now);
            self.idle_deadline = Some(now + pause);
            return;
        }
        if let Some((lost, millis)) = report {
            let text = BodyBuilder::new().attr("report", &lost.to_string()).attr("time", &millis.to_string()).finish("");
            self.record_answer(rid, request, text, now);
            return self.pump(now);
        }
        self.held.push_back(Held { rid, request, deadline: now + self.wait });
        self.idle_deadline = None;
        self.pump(now);
    }

    /// Sends pending data on the oldest held request, and keeps at most `hold` requests held.
    fn flush(&mut self, now: Instant) {
        if self.closed_at.is_some() {
            return;
        }
        if !self.pending.is_empty()
            && let Some(held) = self.held.pop_front()
        {
            let mut payload = String::new();
            let mut count = 0u64;
            for item in std::mem::take(&mut self.pending) {
                match item {
                    Pending::Raw(text) => payload.push_str(&text),
                    Pending::Stanza(el) => payload.push_str(&el.to_xml()),
                }
                count += 1;
            }
            self.stats.msgs_sent += count;
            self.answer(held, payload, now);
        }
        while self.held.len() > self.hold {
            let held = self.held.pop_front().expect("longer than hold");
            self.answer(held, String::new(), now);
        }
        if self.held.is_empty() && self.idle_deadline.is_none() {
            self.idle_deadline = Some(now + self.idle_limit());
        }
    }

    fn answer(&mut self, held: Held, payload: String, now: Instant) {
        let highest = self.next_rid - 1;
        let text = if self.acks && highest != held.rid {
            BodyBuilder::new().attr("ack", &highest.to_string()).finish(&payload)
        } else if payload.is_empty() {
            empty_body()
        } else {
            BodyBuilder::new().finish(&payload)
        };
        self.record_answer(held.rid, held.request, text, now);
        if self.held.is_empty() && self.idle_deadline.is_none() {
            self.idle_deadline = Some(now + self.idle_limit());
        }
    }

    fn record_answer(&mut self, rid: u64, request: RequestId, text: String, now: Instant) {
        self.stats.bytes_sent += text.len() as u64;
        let kept = (text != crate::body::EMPTY_BODY).then(|| text.clone());
        let at = self.answered.partition_point(|a| a.0 < rid);
        match self.answered.get_mut(at) {
            Some(same) if same.0 == rid => *same = (rid, kept, now),
            _ => self.answered.insert(at, (rid, kept, now)),
        }
        // Keep what a retransmission may ask for: the last `requests` answers (more while the
        // client has not acknowledged them, up to a fixed bound).
        // Without acks, a client that sent this rid has received every answer older than its
        // `requests - 1` previous ones (it may not have more outstanding), so only those can
        // be asked for again.
        let keep = if self.acks { 16 } else { (self.requests - 1).max(1) };
        while self.answered.len() > keep {
            self.answered.pop_front();
        }
        self.respond_raw(request, Response::ok(text));
    }

    fn respond_raw(&mut self, request: RequestId, response: Response) {
        self.out.push_back(BoshOutput::Respond { request, response });
    }

    /// Ends the session: the oldest held request carries the terminate body (with any pending
    /// stream error), the others are answered empty.
    fn terminate(&mut self, condition: Option<Condition>, cause: CloseCause, now: Instant) {
        if self.closed_at.is_some() {
            return;
        }
        let payload = self.take_raw_pending();
        let mut start = BodyBuilder::new().attr("type", "terminate");
        if let Some(c) = condition {
            start = start.attr("condition", c.name());
        }
        let text = start.finish(&payload);
        let response = match condition {
            Some(c) if self.legacy => Response { status: c.legacy_status(), body: String::new() },
            _ => Response::ok(text),
        };
        let mut held = std::mem::take(&mut self.held);
        if let Some(first) = held.pop_front() {
            self.respond_raw(first.request, response.clone());
        }
        for other in held {
            self.respond_raw(other.request, Response::ok(empty_body()));
        }
        for (_, (request, _)) in std::mem::take(&mut self.out_of_order) {
            self.respond_raw(request, response.clone());
        }
        self.terminal = Some(response);
        while self.c2s.poll_output().is_some() {}
        self.finish(cause, now);
    }

    fn finish(&mut self, cause: CloseCause, now: Instant) {
        if self.terminal.is_none() {
            self.terminal = Some(Response::terminal(Condition::ItemNotFound, self.legacy));
        }
        for held in std::mem::take(&mut self.held) {
            self.respond_raw(held.request, Response::ok(empty_body()));
        }
        let terminal = self.terminal.clone().unwrap_or_else(|| Response::ok(empty_body()));
        for (request, _, _) in std::mem::take(&mut self.throttled) {
            self.respond_raw(request, terminal.clone());
        }
        self.closed_at = Some(now);
        self.idle_deadline = None;
        let undelivered = std::mem::take(&mut self.pending)
            .into_iter()
            .filter_map(|p| match p {
                Pending::Stanza(el) => Some(el),
                Pending::Raw(_) => None,
            })
            .collect();
        self.out.push_back(BoshOutput::Closed { cause, last_request: self.last_request, undelivered });
    }
}
