//! BOSH (XEP-0124) carrying XMPP (XEP-0206), sans-IO. A [`BoshSession`] takes parsed `<body/>`
//! requests with the driver's request handles and the current time, wraps one `herald-stream`
//! machine for the XMPP part, and returns [`BoshOutput`]s: answer this held request with that
//! body, carry out this stream output, the session closed (with its cause). Held requests, the rid
//! window, retransmission buffers and every timer live here and are tested with a fake clock.

mod body;
mod session;

pub use body::{Condition, NS_HTTPBIND, NS_XBOSH, Response, empty_body};
pub use session::{BoshConfig, BoshOutput, BoshSession, CloseCause, RequestId, SessionStats, Undelivered};

/// Drives one session with arbitrary request bodies (split on `\n`; the first creates the
/// session). Shared by the `bosh_body` fuzz target and the corpus replay in `cargo test`; it must
/// never panic, and every request must get exactly one answer.
pub fn fuzz_requests(data: &[u8]) {
    use std::time::{Duration, Instant};
    let limits = herald_xml::Limits { max_stanza_bytes: 8192, max_depth: 16, max_token_bytes: 2048, max_attributes: 64 };
    let config = BoshConfig {
        max_wait: Duration::from_secs(60),
        max_hold: 1,
        inactivity: Duration::from_secs(60),
        polling: Duration::from_secs(5),
        maxpause: Duration::from_secs(120),
        max_pending: 16,
        unauthenticated_inactivity: Duration::from_secs(10),
        secure: true,
        stream: std::sync::Arc::new(herald_stream::StreamConfig {
            framing: herald_stream::Framing::Bosh,
            domain: "example.com".into(),
            limits,
            tls: herald_stream::TlsPolicy::AlreadySecure,
            negotiation_timeout: Duration::from_secs(30),
            max_unauthenticated_bytes: 10_000,
            rate_limit: None,
            unlimited_users: Default::default(),
        }),
    };
    let now = Instant::now();
    let mut parts = data.split(|b| *b == b'\n');
    let Some(Ok(first)) = parts.next().map(|p| herald_xml::parse_document(p, limits)) else { return };
    let Ok(mut session) = BoshSession::create("sid".into(), "id".into(), 0, &first, &config, now) else { return };
    let mut answered = std::collections::HashSet::new();
    let mut sent = 0u64;
    for (i, part) in parts.enumerate() {
        let at = now + Duration::from_secs(i as u64);
        match herald_xml::parse_document(part, limits) {
            Ok(body) => {
                sent += 1;
                session.handle_request(sent, body, part.len(), at);
            }
            Err(_) => session.handle_timeout(at),
        }
        while let Some(out) = session.poll_output() {
            if let BoshOutput::Respond { request, .. } = out {
                assert!(answered.insert(request), "request {request} answered twice");
            }
        }
    }
}
