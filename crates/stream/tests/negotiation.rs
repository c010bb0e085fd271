//! The c2s machine driven with byte strings and a fake clock: full negotiation, and each kind of
//! bad input ending in its documented stream error.

use std::time::{Duration, Instant};

use herald_proto::{FullJid, StreamErrorCondition};
use herald_sasl::{Account, Credentials, DecoySecret, HashAlg, ScramClient};
use herald_stream::{C2sStream, CloseReason, Framing, Output, StreamConfig, TlsPolicy};
use herald_xml::Limits;

const OPEN: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>";

fn config(tls: TlsPolicy) -> StreamConfig {
    StreamConfig {
        framing: Framing::Tcp,
        domain: "example.com".into(),
        limits: Limits::default(),
        tls,
        negotiation_timeout: Duration::from_secs(30),
        max_unauthenticated_bytes: 10_000,
        rate_limit: None,
        unlimited_users: Default::default(),
    }
}

struct Harness {
    stream: C2sStream,
    now: Instant,
    creds: Credentials,
}

impl Harness {
    fn new(tls: TlsPolicy) -> Self {
        let now = Instant::now();
        Self {
            stream: C2sStream::new(config(tls), "s1".into(), now),
            now,
            creds: Credentials::derive("pencil", [b"a", b"b"], 4096).unwrap(),
        }
    }

    /// Feeds input, answers credential and bind requests like a driver, returns sent text and
    /// the other outputs.
    fn input(&mut self, data: &str) -> (String, Vec<Output>) {
        self.stream.handle_input(data.as_bytes(), self.now);
        self.drain()
    }

    fn drain(&mut self) -> (String, Vec<Output>) {
        let mut sent = String::new();
        let mut others = Vec::new();
        while let Some(out) = self.stream.poll_output() {
            match out {
                Output::Send(s) => sent.push_str(&s),
                Output::NeedCredentials { ref username } => {
                    let account = if username == "user" {
                        Account::Existing(self.creds.clone())
                    } else {
                        Account::Unknown(DecoySecret::new([1; 32]).credentials(username, 4096))
                    };
                    others.push(out);
                    self.stream.provide_credentials(Ok(account), b"server-random");
                }
                Output::Bind { ref username, ref resource } => {
                    let jid = FullJid::new(&format!("{username}@example.com/{}", resource.clone().unwrap_or("gen".into()))).unwrap();
                    others.push(out);
                    self.stream.bind_result(Ok(jid));
                }
                other => others.push(other),
            }
        }
        (sent, others)
    }

    fn login(&mut self) {
        let (sent, _) = self.input(OPEN);
        assert!(sent.contains("SCRAM-SHA-256"), "{sent}");
        let mut client = ScramClient::new(HashAlg::Sha256, "user", "pencil", b"client");
        let first = b64(client.client_first().as_bytes());
        let (sent, _) = self.input(&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>{first}</auth>"));
        let challenge = between(&sent, "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>", "</challenge>");
        let fin = client.client_final(&String::from_utf8(unb64(&challenge)).unwrap()).unwrap();
        let (sent, outs) = self.input(&format!("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>", b64(fin.as_bytes())));
        let v = between(&sent, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>", "</success>");
        client.verify_server_final(&String::from_utf8(unb64(&v)).unwrap()).unwrap();
        assert!(outs.contains(&Output::Authenticated { username: "user".into() }));
        let (sent, _) = self.input(OPEN);
        assert!(sent.contains("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"), "{sent}");
        let (sent, _) =
            self.input("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>desk</resource></bind></iq>");
        assert!(sent.contains("<jid>user@example.com/desk</jid>"), "{sent}");
        assert_eq!(self.stream.jid().unwrap().to_string(), "user@example.com/desk");
    }
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn unb64(data: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(data).unwrap()
}

fn between(s: &str, start: &str, end: &str) -> String {
    let a = s.find(start).unwrap_or_else(|| panic!("{start} not in {s}")) + start.len();
    let b = s[a..].find(end).unwrap() + a;
    s[a..b].to_owned()
}

fn closed_with(outs: &[Output]) -> Option<StreamErrorCondition> {
    outs.iter().find_map(|o| match o {
        Output::Close(CloseReason::StreamError(c, _)) => Some(*c),
        _ => None,
    })
}

#[test]
fn starttls_is_required_before_auth() {
    let mut h = Harness::new(TlsPolicy::Required);
    let (sent, _) = h.input(OPEN);
    assert!(sent.contains("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"));
    assert!(!sent.contains("mechanisms"));
    let (sent, _) = h.input("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHVzZXIAcGVuY2ls</auth>");
    assert!(sent.contains("<encryption-required/>"), "{sent}");
    let (sent, outs) = h.input("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><injected/>");
    assert!(sent.contains("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
    assert_eq!(outs, vec![Output::StartTls]);
    h.stream.tls_established();
    assert!(h.stream.is_secure());
    let (sent, _) = h.input(OPEN);
    assert!(sent.contains("<mechanism>PLAIN</mechanism>"), "{sent}");
    assert!(!sent.contains("starttls"));
}

#[test]
fn full_login_and_stanza_stamping() {
    let mut h = Harness::new(TlsPolicy::AlreadySecure);
    h.login();
    let (_, outs) = h.input("<message to='other@example.com'><body>hi</body></message>");
    let Output::Stanza(m) = &outs[0] else { panic!("{outs:?}") };
    assert_eq!(m.attr("from"), Some("user@example.com/desk"));
    // Legacy session iq is answered by the stream itself.
    let (sent, outs) = h.input("<iq type='set' id='s'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
    assert!(sent.contains("type='result'") && outs.is_empty(), "{sent}");
    let (sent, outs) = h.input("</stream:stream>");
    assert_eq!(sent, "</stream:stream>");
    assert_eq!(outs, vec![Output::Close(CloseReason::ClientClosed)]);
}

#[test]
fn spoofed_from_is_invalid_from() {
    let mut h = Harness::new(TlsPolicy::AlreadySecure);
    h.login();
    let (_, outs) = h.input("<message from='user@example.com'><body>ok</body></message>");
    assert!(matches!(outs[0], Output::Stanza(_)));
    let (sent, outs) = h.input("<message from='boss@example.com/x' to='a@example.com'><body>x</body></message>");
    assert_eq!(closed_with(&outs), Some(StreamErrorCondition::InvalidFrom), "{sent}");
    assert!(!outs.iter().any(|o| matches!(o, Output::Stanza(_))));
}

#[test]
fn wrong_password_and_unknown_user_fail_alike() {
    for (user, pass) in [("user", "wrong"), ("ghost", "pencil")] {
        let mut h = Harness::new(TlsPolicy::AlreadySecure);
        h.input(OPEN);
        let mut client = ScramClient::new(HashAlg::Sha256, user, pass, b"c");
        let (sent, _) = h.input(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>{}</auth>",
            b64(client.client_first().as_bytes())
        ));
        let challenge = between(&sent, "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>", "</challenge>");
        let fin = client.client_final(&String::from_utf8(unb64(&challenge)).unwrap()).unwrap();
        let (sent, outs) = h.input(&format!("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>", b64(fin.as_bytes())));
        assert!(sent.contains("<not-authorized/>"), "{sent}");
        assert!(outs.iter().any(|o| matches!(o, Output::AuthFailed { username: Some(u), .. } if u == user)));
    }
}

#[test]
fn banned_source_gets_not_authorized_with_text() {
    let mut h = Harness::new(TlsPolicy::AlreadySecure);
    h.input(OPEN);
    h.stream.handle_input(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHVzZXIAcGVuY2ls</auth>", h.now);
    assert_eq!(h.stream.poll_output(), Some(Output::NeedCredentials { username: "user".into() }));
    h.stream.provide_credentials(Err(herald_sasl::SaslError::SourceBanned(240)), b"r");
    let (sent, _) = h.drain();
    assert!(sent.contains("<not-authorized/>") && sent.contains("too many failed logins from your address"), "{sent}");
}

#[test]
fn stanza_before_auth_is_not_authorized() {
    let mut h = Harness::new(TlsPolicy::AlreadySecure);
    h.input(OPEN);
    let (_, outs) = h.input("<message to='a@example.com'/>");
    assert_eq!(closed_with(&outs), Some(StreamErrorCondition::NotAuthorized));
}

#[test]
fn bad_headers() {
    for (header, condition) in [
        ("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='other.org' version='1.0'>", StreamErrorCondition::HostUnknown),
        ("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='example.com'>", StreamErrorCondition::UnsupportedVersion),
        ("<stream xmlns='urn:wrong' version='1.0'>", StreamErrorCondition::InvalidNamespace),
    ] {
        let mut h = Harness::new(TlsPolicy::AlreadySecure);
        let (sent, outs) = h.input(header);
        assert_eq!(closed_with(&outs), Some(condition), "{sent}");
        assert!(sent.starts_with("<?xml version='1.0'?><stream:stream"), "{sent}");
    }
}

#[test]
fn bad_xml_maps_to_stream_errors() {
    for (input, condition) in [
        ("<message><body>\u{1}</body></message>", StreamErrorCondition::NotWellFormed),
        ("<message><body>&#x1;</body></message>", StreamErrorCondition::NotWellFormed),
        ("<?pi x?>", StreamErrorCondition::RestrictedXml),
        ("<a>", StreamErrorCondition::PolicyViolation),
    ] {
        let mut h = Harness::new(TlsPolicy::AlreadySecure);
        h.input(OPEN);
        let data = if input == "<a>" { "<a>".repeat(10_000) } else { input.to_owned() };
        let (_, outs) = h.input(&data);
        assert_eq!(closed_with(&outs), Some(condition), "{input}");
    }
}

#[test]
fn silent_client_times_out() {
    let mut h = Harness::new(TlsPolicy::Required);
    let deadline = h.stream.poll_timeout().unwrap();
    assert_eq!(deadline, h.now + Duration::from_secs(30));
    h.stream.handle_timeout(h.now + Duration::from_secs(29));
    assert!(!h.stream.is_closed());
    h.stream.handle_timeout(deadline);
    let (sent, outs) = h.drain();
    assert_eq!(closed_with(&outs), Some(StreamErrorCondition::ConnectionTimeout));
    assert!(sent.starts_with("<?xml version='1.0'?><stream:stream") && sent.contains("<connection-timeout"), "{sent}");
}

#[test]
fn bound_stream_has_no_timeout_and_closes_on_request() {
    let mut h = Harness::new(TlsPolicy::AlreadySecure);
    h.login();
    assert_eq!(h.stream.poll_timeout(), None);
    h.stream.close(StreamErrorCondition::SystemShutdown, "server shutting down");
    let (sent, outs) = h.drain();
    assert!(sent.contains("<system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"));
    assert_eq!(closed_with(&outs), Some(StreamErrorCondition::SystemShutdown));
}

#[test]
fn scram_without_initial_response_and_bad_base64() {
    let mut h = Harness::new(TlsPolicy::AlreadySecure);
    h.input(OPEN);
    let (sent, _) = h.input("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'/>");
    assert!(sent.contains("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), "{sent}");
    let (sent, _) = h.input("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>!!!</response>");
    assert!(sent.contains("<incorrect-encoding/>"), "{sent}");
    let (sent, _) = h.input("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-UNKNOWN'/>");
    assert!(sent.contains("<invalid-mechanism/>"), "{sent}");
}

/// RFC 7395 framing: `<open/>`/`<close/>`, one standalone element per message, no STARTTLS.
#[test]
fn websocket_framing() {
    let now = Instant::now();
    let config = StreamConfig { framing: Framing::WebSocket, ..config(TlsPolicy::AlreadySecure) };
    let mut ws = C2sStream::new(config, "w1".into(), now);
    ws.handle_frame(b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.com' version='1.0'/>", now);
    let mut frames = Vec::new();
    while let Some(Output::Send(f)) = ws.poll_output() {
        frames.push(f);
    }
    assert_eq!(frames[0], "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='example.com' id='w1' version='1.0' xml:lang='en'/>");
    assert!(
        frames[1].starts_with(
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
        ),
        "{}",
        frames[1]
    );
    assert!(!frames[1].contains("starttls"));
    ws.handle_frame(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHVzZXIAcGVuY2ls</auth>", now);
    assert_eq!(ws.poll_output(), Some(Output::NeedCredentials { username: "user".into() }));
    ws.provide_credentials(Ok(Account::Existing(Credentials::derive("pencil", [b"a", b"b"], 4096).unwrap())), b"r");
    assert_eq!(ws.poll_output(), Some(Output::Send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>".into())));
    assert!(matches!(ws.poll_output(), Some(Output::Authenticated { .. })));
    assert!(ws.awaiting_header());
    ws.handle_frame(b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.com' version='1.0'/>", now);
    ws.handle_frame(b"<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>", now);
    let mut saw_bind = false;
    while let Some(out) = ws.poll_output() {
        if let Output::Bind { .. } = out {
            saw_bind = true;
            ws.bind_result(Ok(FullJid::new("user@example.com/gen").unwrap()));
        }
    }
    assert!(saw_bind);
    ws.handle_frame(b"<message xmlns='jabber:client' to='a@example.com'><body>x</body></message>", now);
    assert!(matches!(ws.poll_output(), Some(Output::Stanza(_))));
    ws.handle_frame(b"<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>", now);
    assert_eq!(ws.poll_output(), Some(Output::Send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>".into())));
    assert_eq!(ws.poll_output(), Some(Output::Close(CloseReason::ClientClosed)));
}

#[test]
fn websocket_rejects_bad_frames_and_stream_headers() {
    let now = Instant::now();
    let config = StreamConfig { framing: Framing::WebSocket, ..config(TlsPolicy::AlreadySecure) };
    let mut ws = C2sStream::new(config.clone(), "w2".into(), now);
    ws.handle_frame(OPEN.as_bytes(), now);
    let outs: Vec<Output> = std::iter::from_fn(|| ws.poll_output()).collect();
    assert_eq!(closed_with(&outs), Some(StreamErrorCondition::NotWellFormed), "an unclosed stream:stream is not a complete frame");
    let mut ws = C2sStream::new(config, "w3".into(), now);
    ws.handle_frame(b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.com' version='1.0'/>", now);
    ws.handle_frame(b"<message>\x01</message>", now);
    let outs: Vec<Output> = std::iter::from_fn(|| ws.poll_output()).collect();
    assert_eq!(closed_with(&outs), Some(StreamErrorCondition::NotWellFormed));
    assert!(matches!(&outs[outs.len() - 2], Output::Send(s) if s == "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"));
}

/// Every byte a client sends counts against its budget, from the first one; over it, the
/// driver is told not to read before the debt is paid.
#[test]
fn bytes_count_against_the_budget_and_say_when_to_read_next() {
    let t0 = Instant::now();
    let limited = StreamConfig {
        rate_limit: Some(herald_proto::RateLimit { bytes_per_sec: 1000, burst_bytes: 2000 }),
        ..config(TlsPolicy::Optional)
    };
    let mut stream = C2sStream::new(limited, "s1".into(), t0);
    stream.handle_input(OPEN.as_bytes(), t0);
    assert_eq!(stream.read_after(), None, "a login fits in the burst");
    let padding = " ".repeat(2000);
    stream.handle_input(padding.as_bytes(), t0);
    let after = stream.read_after().expect("over budget");
    let expected = (OPEN.len() as f64) / 1000.0;
    assert!((after.duration_since(t0).as_secs_f64() - expected).abs() < 0.01);
    let mut ws = C2sStream::new(StreamConfig { framing: Framing::WebSocket, ..config(TlsPolicy::AlreadySecure) }, "s2".into(), t0);
    ws.handle_frame(padding.as_bytes(), t0);
    assert_eq!(ws.read_after(), None, "no budget configured: never throttled");
}

/// A user listed in `unlimited_users` (a publishing service) has no budget once authenticated;
/// anyone else keeps it after login too.
#[test]
fn unlimited_users_lose_the_budget_when_they_authenticate() {
    let limit = Some(herald_proto::RateLimit { bytes_per_sec: 1000, burst_bytes: 4096 });
    let padding = " ".repeat(10_000);
    for (unlimited, throttled_after) in [(vec!["user".to_owned()], false), (vec!["other".to_owned()], true)] {
        let mut h = Harness::new(TlsPolicy::Optional);
        let limited = StreamConfig { rate_limit: limit, unlimited_users: unlimited.into(), ..config(TlsPolicy::Optional) };
        h.stream = C2sStream::new(limited, "s1".into(), h.now);
        h.login();
        h.input(&padding);
        assert_eq!(h.stream.read_after().is_some(), throttled_after);
    }
}
