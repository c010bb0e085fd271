//! The state machine behind [`C2sStream`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use herald_proto::stanza::iq_result;
use herald_proto::{FullJid, RateLimit, Stanza, StanzaError, StanzaKind, StreamErrorCondition, TokenBucket, ns};
use herald_sasl::{Account, Mechanism, SaslError, ServerSession, Step};
use herald_xml::{Element, Limits, StreamEvent, StreamHeader, StreamParser};

/// Whether and how TLS is offered on this stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsPolicy {
    /// The transport is already encrypted (or TLS is terminated in front of us).
    AlreadySecure,
    /// STARTTLS is offered and must be used before authentication.
    Required,
    /// STARTTLS is offered; plaintext authentication with SCRAM is allowed too.
    Optional,
    /// No TLS available; PLAIN is never offered.
    Unavailable,
}

/// How stream boundaries and elements are framed on the transport. The negotiation is the same;
/// only the envelope differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// RFC 6120 over TCP: `<stream:stream>` header, elements in the `jabber:client` default
    /// namespace, `</stream:stream>` at the end.
    Tcp,
    /// RFC 7395: `<open/>` and `<close/>` in the framing namespace; every element is one
    /// standalone message declaring its own namespaces.
    WebSocket,
    /// XEP-0206: the BOSH session carries the stream; headers and closes are attributes of
    /// `<body/>`, so only standalone elements are produced.
    Bosh,
}

/// Namespace of RFC 7395 `<open/>` and `<close/>`.
pub const NS_FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";

/// Settings of one stream.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// The transport's framing.
    pub framing: Framing,
    /// The domain this server serves; stream headers must address it.
    pub domain: String,
    /// Parser limits (stanza size, depth, token length).
    pub limits: Limits,
    /// TLS policy.
    pub tls: TlsPolicy,
    /// How long a client may take from connecting to binding a resource.
    pub negotiation_timeout: Duration,
    /// Largest stanza (and stream header) before authentication: a stranger gets a much
    /// smaller budget than a logged-in user (`limits.max_stanza_bytes` applies after).
    pub max_unauthenticated_bytes: usize,
    /// The client's byte budget, from its first byte (`None`: unlimited). See
    /// [`C2sStream::read_after`].
    pub rate_limit: Option<RateLimit>,
    /// Users whose streams have no byte budget once they authenticated (a publishing service
    /// sends far more than a desktop).
    pub unlimited_users: std::sync::Arc<[String]>,
}

/// Why the stream ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed the stream (`</stream:stream>`, `<close/>`, BOSH terminate).
    ClientClosed,
    /// The server sent a stream error with this condition and text.
    StreamError(StreamErrorCondition, String),
}

/// What the driver must do. Outputs are returned in order by [`C2sStream::poll_output`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes to the client. Over TCP consecutive writes are merged; over WebSocket
    /// and BOSH each `Send` is exactly one standalone element (one message).
    Send(String),
    /// Upgrade the transport to TLS, then call [`C2sStream::tls_established`]. Everything sent
    /// before this output must be flushed first.
    StartTls,
    /// Look up the user's credentials (and whether the account is locked), then call
    /// [`C2sStream::provide_credentials`].
    NeedCredentials {
        /// The username the client claims.
        username: String,
    },
    /// An authentication attempt failed (for the lockout counter and the log).
    AuthFailed {
        /// The claimed username, if the exchange got that far.
        username: Option<String>,
        /// Why.
        error: SaslError,
    },
    /// The client authenticated.
    Authenticated {
        /// The authenticated username.
        username: String,
    },
    /// Register a session for `username` with this resource (or a generated one when `None`),
    /// then call [`C2sStream::bind_result`].
    Bind {
        /// The authenticated username.
        username: String,
        /// The resource the client asked for.
        resource: Option<String>,
    },
    /// Route this stanza; its `from` is already the client's full JID.
    Stanza(Element),
    /// Close the transport; everything sent before has been flushed.
    Close(CloseReason),
}

#[derive(Debug)]
enum Phase {
    /// Waiting for the client's stream header (at start and after each restart).
    AwaitingHeader,
    /// Header answered, features sent; negotiation elements expected.
    Negotiating,
    /// `<proceed/>` sent; waiting for the driver's TLS handshake.
    TlsHandshake,
    /// SCRAM started without an initial response; the next `<response/>` carries client-first.
    SaslAwaitingInitial(Mechanism),
    /// Waiting for the driver to supply credentials. (The SASL state is boxed: it is large and
    /// short-lived, and a bound session should not carry room for it.)
    SaslAwaitingCredentials(Box<ServerSession>),
    /// Challenge sent; waiting for the client's `<response/>`.
    SaslAwaitingResponse(Box<ServerSession>),
    /// Waiting for the driver to register the session.
    BindPending(Element),
    /// Bound: stanzas flow.
    Bound(FullJid),
    /// The stream is over.
    Closed,
}

/// One client stream.
pub struct C2sStream {
    /// Shared by every stream of a listener: a copy per session would cost every idle session
    /// the settings and the domain string.
    config: Arc<StreamConfig>,
    /// The byte-stream parser, made on the first bytes: BOSH hands in whole elements and never
    /// needs one, and an idle BOSH session should not carry its state.
    parser: Option<Box<StreamParser>>,
    phase: Phase,
    secure: bool,
    username: Option<String>,
    /// The username of the SASL exchange in progress, for the lockout counter.
    username_claimed: Option<String>,
    header_sent: bool,
    stream_id: String,
    restarts: u32,
    deadline: Option<Instant>,
    pending: VecDeque<StreamEvent>,
    out: VecDeque<Output>,
    /// Bytes received against the client's budget.
    budget: Option<TokenBucket>,
}

const SERVER_HEADER_TAIL: &str = "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='en'>";

impl C2sStream {
    /// A new stream accepted at `now`; `stream_id` must be unique (the driver draws it at random).
    pub fn new(config: impl Into<Arc<StreamConfig>>, stream_id: String, now: Instant) -> Self {
        let config = config.into();
        let secure = config.tls == TlsPolicy::AlreadySecure;
        let budget = config.rate_limit.map(|limit| TokenBucket::new(limit, now));
        Self {
            parser: None,
            deadline: Some(now + config.negotiation_timeout),
            config,
            phase: Phase::AwaitingHeader,
            secure,
            username: None,
            username_claimed: None,
            header_sent: false,
            stream_id,
            restarts: 0,
            pending: VecDeque::new(),
            out: VecDeque::new(),
            budget,
        }
    }

    /// The bound full JID, once bound.
    pub fn jid(&self) -> Option<&FullJid> {
        match &self.phase {
            Phase::Bound(jid) => Some(jid),
            _ => None,
        }
    }

    /// Whether the client has authenticated.
    pub fn is_authenticated(&self) -> bool {
        self.username.is_some()
    }

    /// Whether a request of `bytes` (a whole BOSH body) may be taken now: before login no more
    /// than the pre-authentication limit, after it anything the transport let through.
    pub fn admits_request_of(&self, bytes: usize) -> bool {
        self.username.is_some() || bytes <= self.config.max_unauthenticated_bytes
    }

    /// The parser limits in force now: the small pre-authentication budget until the client
    /// has authenticated (the parser is made anew at the restart that follows).
    fn limits(&self) -> Limits {
        let mut limits = self.config.limits;
        if self.username.is_none() {
            limits.max_stanza_bytes = limits.max_stanza_bytes.min(self.config.max_unauthenticated_bytes);
        }
        limits
    }

    /// Whether the transport is encrypted.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Whether the stream has ended.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        herald_proto::pop_releasing(&mut self.out)
    }

    /// Counts `bytes` received from the client at `now` against its budget. The TCP and
    /// WebSocket inputs count themselves; BOSH counts each request body.
    pub fn charge(&mut self, bytes: usize, now: Instant) {
        if let Some(budget) = &mut self.budget {
            budget.charge(bytes, now);
        }
    }

    /// When the driver may next read from the client: `None` means now. A client over its
    /// budget is not read from until then (TCP backpressure slows it down; BOSH holds its
    /// next request), which is how a flooding client is held to the configured rate without
    /// costing anyone else.
    pub fn read_after(&self) -> Option<Instant> {
        self.budget.as_ref().and_then(TokenBucket::ready_at)
    }

    /// When [`C2sStream::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// One WebSocket message: a complete element (`<open/>`, `<close/>`, or a stanza).
    pub fn handle_frame(&mut self, data: &[u8], now: Instant) {
        if self.is_closed() {
            return;
        }
        self.charge(data.len(), now);
        match herald_xml::parse_document(data, self.limits()) {
            Ok(el) if el.is("open", NS_FRAMING) => {
                self.handle_event(StreamEvent::Open(StreamHeader { name: el.name, ns: el.ns, attrs: el.attrs }))
            }
            Ok(el) if el.is("close", NS_FRAMING) => self.handle_event(StreamEvent::Close),
            Ok(el) => self.handle_event(StreamEvent::Element(el)),
            Err(err) => self.fail(StreamErrorCondition::from(&err), &err.to_string()),
        }
    }

    /// A stream event framed by the transport itself (BOSH builds the header from `<body/>`
    /// attributes and hands over each child element).
    pub fn handle_event(&mut self, event: StreamEvent) {
        if matches!(self.phase, Phase::Closed | Phase::TlsHandshake) {
            return;
        }
        self.pending.push_back(event);
        self.process_pending();
    }

    /// Whether the stream waits for a (re)start header: BOSH sends one on `xmpp:restart`.
    pub fn awaiting_header(&self) -> bool {
        matches!(self.phase, Phase::AwaitingHeader)
    }

    /// Bytes from the client (TCP framing).
    pub fn handle_input(&mut self, data: &[u8], now: Instant) {
        self.charge(data.len(), now);
        if matches!(self.phase, Phase::Closed | Phase::TlsHandshake) {
            // Plaintext after <starttls/> is discarded: it must not be interpreted inside TLS.
            return;
        }
        let mut events = Vec::new();
        let limits = self.limits();
        let result = self.parser.get_or_insert_with(|| Box::new(StreamParser::new(limits))).feed(data, &mut events);
        self.pending.extend(events);
        self.process_pending();
        if let Err(err) = result
            && !self.is_closed()
        {
            self.fail(StreamErrorCondition::from(&err), &err.to_string());
        }
    }

    /// The clock reached [`C2sStream::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| now >= d) && !self.is_closed() {
            self.deadline = None;
            self.fail(StreamErrorCondition::ConnectionTimeout, "negotiation took too long");
        }
    }

    /// Closes the stream from the server side (shutdown, replaced session, idle, …).
    pub fn close(&mut self, condition: StreamErrorCondition, text: &str) {
        if !self.is_closed() {
            self.fail(condition, text);
        }
    }

    /// The TLS handshake finished; the client now restarts the stream.
    pub fn tls_established(&mut self) {
        if matches!(self.phase, Phase::TlsHandshake) {
            self.secure = true;
            self.restart();
        }
    }

    /// Answer to [`Output::NeedCredentials`]: what the login is verified against (see
    /// [`Account`]), or the error that refuses it at once (a banned source, a failed look-up).
    /// `random` seeds the SCRAM server nonce.
    pub fn provide_credentials(&mut self, account: Result<Account, SaslError>, random: &[u8]) {
        let Phase::SaslAwaitingCredentials(mut session) = std::mem::replace(&mut self.phase, Phase::Negotiating) else {
            return;
        };
        let step = account.and_then(|a| session.provide_credentials(&a, random));
        self.sasl_step(session, step);
        self.process_pending();
    }

    /// Answer to [`Output::Bind`]: the full JID now registered, or the error to return.
    pub fn bind_result(&mut self, result: Result<FullJid, StanzaError>) {
        let Phase::BindPending(request) = std::mem::replace(&mut self.phase, Phase::Negotiating) else {
            return;
        };
        match result {
            Ok(jid) => {
                let bind = Element::new("bind", ns::BIND).with_child(Element::new("jid", ns::BIND).with_text(jid.to_string()));
                self.send_element(&iq_result(&request, Some(bind)));
                self.deadline = None;
                self.phase = Phase::Bound(jid);
            }
            Err(error) => {
                if let Some(reply) = request.error_reply(&error) {
                    self.send_element(&reply);
                }
            }
        }
        self.process_pending();
    }

    fn blocked(&self) -> bool {
        matches!(self.phase, Phase::SaslAwaitingCredentials(_) | Phase::BindPending(_) | Phase::TlsHandshake | Phase::Closed)
    }

    fn process_pending(&mut self) {
        while !self.blocked() {
            let Some(event) = herald_proto::pop_releasing(&mut self.pending) else { break };
            match event {
                StreamEvent::Open(header) => self.on_header(&header),
                StreamEvent::Element(el) => self.on_element(el),
                StreamEvent::Close => {
                    self.send_close();
                    self.finish(CloseReason::ClientClosed);
                }
            }
        }
    }

    fn send(&mut self, data: String) {
        if self.config.framing == Framing::Tcp
            && let Some(Output::Send(buf)) = self.out.back_mut()
        {
            buf.push_str(&data);
        } else {
            self.out.push_back(Output::Send(data));
        }
    }

    fn send_element(&mut self, el: &Element) {
        match self.config.framing {
            Framing::Tcp => self.send(el.to_xml_in(ns::CLIENT)),
            Framing::WebSocket | Framing::Bosh => self.send(el.to_xml()),
        }
    }

    fn send_close(&mut self) {
        match self.config.framing {
            Framing::Tcp => self.send("</stream:stream>".to_owned()),
            Framing::WebSocket => self.send(format!("<close xmlns='{NS_FRAMING}'/>")),
            Framing::Bosh => {}
        }
    }

    fn send_header(&mut self) {
        self.header_sent = true;
        let id = if self.restarts == 0 { self.stream_id.clone() } else { format!("{}-{}", self.stream_id, self.restarts) };
        let (start, tail) = match self.config.framing {
            Framing::Tcp => ("<?xml version='1.0'?><stream:stream from='", SERVER_HEADER_TAIL),
            Framing::WebSocket => ("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='", "version='1.0' xml:lang='en'/>"),
            Framing::Bosh => return,
        };
        let mut header = String::from(start);
        herald_xml::escape_attr(&mut header, &self.config.domain);
        header.push_str("' id='");
        herald_xml::escape_attr(&mut header, &id);
        header.push_str("' ");
        header.push_str(tail);
        self.send(header);
    }

    /// The id of the current stream (BOSH reports it as `authid`).
    pub fn stream_id(&self) -> &str {
        &self.stream_id
    }

    fn fail(&mut self, condition: StreamErrorCondition, text: &str) {
        if !self.header_sent {
            self.send_header();
        }
        let error = condition.to_element(Some(text));
        self.send_element(&error);
        self.send_close();
        self.finish(CloseReason::StreamError(condition, text.to_owned()));
    }

    fn finish(&mut self, reason: CloseReason) {
        self.phase = Phase::Closed;
        self.deadline = None;
        self.pending.clear();
        self.out.push_back(Output::Close(reason));
    }

    fn restart(&mut self) {
        self.parser = None;
        self.pending.clear();
        self.restarts += 1;
        self.header_sent = false;
        self.phase = Phase::AwaitingHeader;
    }

    fn on_header(&mut self, header: &StreamHeader) {
        if !matches!(self.phase, Phase::AwaitingHeader) {
            return self.fail(StreamErrorCondition::BadFormat, "unexpected stream header");
        }
        self.send_header();
        let root_ok = match self.config.framing {
            Framing::WebSocket => header.name == "open" && header.ns == NS_FRAMING,
            Framing::Tcp | Framing::Bosh => header.name == "stream" && header.ns == ns::STREAM,
        };
        if !root_ok {
            return self.fail(StreamErrorCondition::InvalidNamespace, "the stream root is not a stream header of this transport");
        }
        if header.attr("to").is_some_and(|to| !to.eq_ignore_ascii_case(&self.config.domain)) {
            return self.fail(StreamErrorCondition::HostUnknown, "this server does not serve that domain");
        }
        if header.attr("version").is_none_or(|v| v.split('.').next() != Some("1")) {
            return self.fail(StreamErrorCondition::UnsupportedVersion, "only XMPP 1.0 streams are supported");
        }
        self.phase = Phase::Negotiating;
        let features = self.features();
        self.send_element(&features);
    }

    fn features(&self) -> Element {
        let mut features = Element::new("features", ns::STREAM);
        if self.username.is_some() {
            features.push_child(Element::new("bind", ns::BIND));
            features.push_child(Element::new("session", ns::SESSION).with_child(Element::new("optional", ns::SESSION)));
            return features;
        }
        let tls_offered = !self.secure && matches!(self.config.tls, TlsPolicy::Required | TlsPolicy::Optional);
        if tls_offered {
            let mut starttls = Element::new("starttls", ns::TLS);
            if self.config.tls == TlsPolicy::Required {
                starttls.push_child(Element::new("required", ns::TLS));
                features.push_child(starttls);
                return features;
            }
            features.push_child(starttls);
        }
        let mut mechanisms = Element::new("mechanisms", ns::SASL);
        for mech in Mechanism::ALL {
            if self.secure || !mech.needs_encryption() {
                mechanisms.push_child(Element::new("mechanism", ns::SASL).with_text(mech.name()));
            }
        }
        features.push_child(mechanisms);
        features
    }

    fn on_element(&mut self, el: Element) {
        let phase = std::mem::replace(&mut self.phase, Phase::Negotiating);
        match phase {
            Phase::Bound(jid) => {
                self.phase = Phase::Bound(jid.clone());
                self.on_bound_element(el, &jid);
            }
            Phase::SaslAwaitingInitial(mech) if el.is("response", ns::SASL) => {
                if let Some(data) = self.decode_sasl(&el) {
                    self.sasl_start(mech, &data)
                }
            }
            Phase::SaslAwaitingResponse(mut session) if el.is("response", ns::SASL) => {
                if let Some(data) = self.decode_sasl(&el) {
                    let step = session.respond(&data);
                    self.sasl_step(session, step);
                }
            }
            Phase::SaslAwaitingInitial(_) | Phase::SaslAwaitingResponse(_) if el.is("abort", ns::SASL) => {
                self.sasl_failure(None, SaslError::Aborted);
            }
            Phase::AwaitingHeader => self.fail(StreamErrorCondition::BadFormat, "element before the stream header"),
            Phase::Negotiating | Phase::SaslAwaitingInitial(_) | Phase::SaslAwaitingResponse(_) => self.on_negotiation_element(el),
            Phase::TlsHandshake | Phase::SaslAwaitingCredentials(_) | Phase::BindPending(_) | Phase::Closed => {
                unreachable!("process_pending never feeds a blocked stream")
            }
        }
    }

    fn on_negotiation_element(&mut self, el: Element) {
        if el.is("starttls", ns::TLS) {
            if self.secure || self.username.is_some() || self.config.tls == TlsPolicy::Unavailable {
                self.send_element(&Element::new("failure", ns::TLS));
                self.send_close();
                return self.finish(CloseReason::StreamError(StreamErrorCondition::PolicyViolation, "STARTTLS not available here".into()));
            }
            self.send_element(&Element::new("proceed", ns::TLS));
            self.out.push_back(Output::StartTls);
            self.phase = Phase::TlsHandshake;
            return;
        }
        if el.is("auth", ns::SASL) && self.username.is_none() {
            let Some(mech) = el.attr("mechanism").and_then(Mechanism::from_name) else {
                return self.sasl_failure(None, SaslError::InvalidMechanism);
            };
            if !self.secure && (mech.needs_encryption() || self.config.tls == TlsPolicy::Required) {
                return self.sasl_condition_failure("encryption-required", "encrypt the stream with STARTTLS first");
            }
            if let Some(data) = self.decode_sasl(&el) {
                if ServerSession::awaiting_initial(mech, &data) {
                    self.send_element(&Element::new("challenge", ns::SASL));
                    self.phase = Phase::SaslAwaitingInitial(mech);
                } else {
                    self.sasl_start(mech, &data);
                }
            }
            return;
        }
        if self.username.is_some()
            && el.is("iq", ns::CLIENT)
            && el.attr("type") == Some("set")
            && let Some(bind) = el.child("bind", ns::BIND)
        {
            let resource = bind.child("resource", ns::BIND).map(Element::text).filter(|r| !r.is_empty());
            let username = self.username.clone().unwrap_or_default();
            if let Some(res) = &resource
                && FullJid::new(&format!("{username}@{}/{res}", self.config.domain)).is_err()
            {
                if let Some(reply) = el.error_reply(&StanzaError::bad_request().with_text("invalid resource")) {
                    self.send_element(&reply);
                }
                return;
            }
            self.out.push_back(Output::Bind { username, resource });
            self.phase = Phase::BindPending(el);
            return;
        }
        if el.stanza_kind().is_some() {
            return self.fail(StreamErrorCondition::NotAuthorized, "authenticate and bind a resource first");
        }
        self.fail(StreamErrorCondition::UnsupportedStanzaType, "element not understood during negotiation");
    }

    fn on_bound_element(&mut self, mut el: Element, jid: &FullJid) {
        let Some(kind) = el.stanza_kind() else {
            return self.fail(StreamErrorCondition::UnsupportedStanzaType, "only message, presence and iq are accepted");
        };
        match el.sender_jid() {
            Ok(None) => {}
            Ok(Some(from)) if from.as_str() == jid.as_str() || (from.is_bare() && from.to_bare() == jid.to_bare()) => {}
            _ => return self.fail(StreamErrorCondition::InvalidFrom, "the from address is not yours"),
        }
        el.set_attr("from", jid.to_string());
        if kind == StanzaKind::Iq && el.attr("type") == Some("set") && el.attr("to").is_none() {
            if el.child("session", ns::SESSION).is_some() {
                return self.send_element(&iq_result(&el, None));
            }
            if el.child("bind", ns::BIND).is_some() {
                let error = StanzaError::new(herald_proto::StanzaErrorType::Cancel, "not-allowed").with_text("a resource is already bound");
                if let Some(reply) = el.error_reply(&error) {
                    self.send_element(&reply);
                }
                return;
            }
        }
        self.out.push_back(Output::Stanza(el));
    }

    fn decode_sasl(&mut self, el: &Element) -> Option<Vec<u8>> {
        let text = el.text();
        let text = text.trim();
        if text == "=" || text.is_empty() {
            return Some(Vec::new());
        }
        match B64.decode(text) {
            Ok(data) => Some(data),
            Err(_) => {
                self.sasl_failure(None, SaslError::IncorrectEncoding);
                None
            }
        }
    }

    fn sasl_start(&mut self, mech: Mechanism, data: &[u8]) {
        match ServerSession::start(mech, data) {
            Ok((session, step)) => self.sasl_step(Box::new(session), Ok(step)),
            Err(err) => self.sasl_failure(None, err),
        }
    }

    fn sasl_step(&mut self, session: Box<ServerSession>, step: Result<Step, SaslError>) {
        match step {
            Ok(Step::NeedCredentials { username }) => {
                self.username_claimed = Some(username.clone());
                self.out.push_back(Output::NeedCredentials { username });
                self.phase = Phase::SaslAwaitingCredentials(session);
            }
            Ok(Step::Challenge(data)) => {
                self.send_element(&Element::new("challenge", ns::SASL).with_text(B64.encode(data)));
                self.phase = Phase::SaslAwaitingResponse(session);
            }
            Ok(Step::Success { username, additional }) => {
                let mut success = Element::new("success", ns::SASL);
                if let Some(data) = additional {
                    success.push_text(B64.encode(data));
                }
                self.send_element(&success);
                self.out.push_back(Output::Authenticated { username: username.clone() });
                if self.config.unlimited_users.contains(&username) {
                    self.budget = None;
                }
                self.username = Some(username);
                self.restart();
            }
            Err(err) => {
                let claimed = self.username_claimed.take();
                self.sasl_failure(claimed, err);
            }
        }
    }

    fn sasl_failure(&mut self, username: Option<String>, error: SaslError) {
        let text = error.to_string();
        self.sasl_condition_failure(error.condition(), &text);
        self.out.push_back(Output::AuthFailed { username, error });
    }

    fn sasl_condition_failure(&mut self, condition: &str, text: &str) {
        let failure = Element::new("failure", ns::SASL)
            .with_child(Element::new(condition, ns::SASL))
            .with_child(Element::new("text", ns::SASL).with_text(text));
        self.send_element(&failure);
        self.phase = Phase::Negotiating;
    }
}
