//! The BOSH machine against the XEP-0124/0206 checklist, with a fake clock: every timer is
//! exercised by moving `now`, never by sleeping.

use std::time::{Duration, Instant};

use herald_bosh::{BoshConfig, BoshOutput, BoshSession, CloseCause, RequestId, Response};
use herald_proto::{FullJid, RateLimit, StreamErrorCondition};
use herald_sasl::{Account, Credentials};
use herald_stream::{Framing, Output, StreamConfig, TlsPolicy};
use herald_xml::{Element, Limits, parse_document};

const EMPTY: &str = "<body xmlns='http://jabber.org/protocol/httpbind'/>";

fn config() -> BoshConfig {
    BoshConfig {
        max_wait: Duration::from_secs(60),
        max_hold: 1,
        inactivity: Duration::from_secs(60),
        polling: Duration::from_secs(5),
        maxpause: Duration::from_secs(120),
        max_pending: 100,
        unauthenticated_inactivity: Duration::from_secs(10),
        secure: true,
        stream: std::sync::Arc::new(StreamConfig {
            framing: Framing::Bosh,
            domain: "example.com".into(),
            limits: Limits::default(),
            tls: TlsPolicy::AlreadySecure,
            negotiation_timeout: Duration::from_secs(30),
            max_unauthenticated_bytes: 10_000,
            rate_limit: None,
            unlimited_users: Default::default(),
        }),
    }
}

fn body(xml: &str) -> Element {
    parse_document(xml.as_bytes(), Limits::default()).unwrap()
}

struct Harness {
    session: BoshSession,
    t0: Instant,
    now: Instant,
    next_request: RequestId,
}

impl Harness {
    /// A session created the way the Finesse desktop does it (ver 1.9, wait 30, hold 1).
    fn new(extra: &str) -> (Self, Response) {
        Self::with(config(), extra)
    }

    fn with(config: BoshConfig, extra: &str) -> (Self, Response) {
        let t0 = Instant::now();
        let create = body(&format!(
            "<body xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh' rid='1000' to='example.com' xml:lang='en' hold='1' ver='1.9' wait='30' xmpp:version='1.0' {extra}/>"
        ));
        let mut session = BoshSession::create("sid1".into(), "stream1".into(), 1, &create, &config, t0).unwrap();
        let response = match session.poll_output() {
            Some(BoshOutput::Respond { request: 1, response }) => response,
            other => panic!("{other:?}"),
        };
        (Self { session, t0, now: t0, next_request: 2 }, response)
    }

    fn at(&mut self, secs: u64) {
        self.now = self.t0 + Duration::from_secs(secs);
    }

    /// Sends a request; returns its id.
    fn send(&mut self, xml: &str) -> RequestId {
        let id = self.next_request;
        self.next_request += 1;
        self.session.handle_request(id, body(xml), xml.len(), self.now);
        id
    }

    /// Drains outputs, answering credentials and bind like a driver would.
    fn outputs(&mut self) -> Vec<BoshOutput> {
        let mut all = Vec::new();
        while let Some(out) = self.session.poll_output() {
            match &out {
                BoshOutput::Stream(Output::NeedCredentials { .. }) => {
                    let creds = Credentials::derive("pencil", [b"a", b"b"], 4096).unwrap();
                    self.session.handle_credentials(Ok(Account::Existing(creds)), b"rand", self.now);
                }
                BoshOutput::Stream(Output::Bind { .. }) => {
                    self.session.handle_bind(Ok(FullJid::new("user@example.com/web").unwrap()), self.now);
                }
                _ => {}
            }
            all.push(out);
        }
        all
    }

    fn response_to(&mut self, id: RequestId) -> Option<Response> {
        self.outputs().into_iter().find_map(|o| match o {
            BoshOutput::Respond { request, response } if request == id => Some(response),
            _ => None,
        })
    }

    fn timeout(&mut self) -> Vec<BoshOutput> {
        self.session.handle_timeout(self.now);
        self.outputs()
    }

    fn login(&mut self) -> u64 {
        let r = self.send("<body xmlns='http://jabber.org/protocol/httpbind' rid='1001' sid='sid1'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHVzZXIAcGVuY2ls</auth></body>");
        assert!(self.response_to(r).unwrap().body.contains("<success"));
        let r = self.send("<body xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh' rid='1002' sid='sid1' to='example.com' xmpp:restart='true'/>");
        let features = self.response_to(r).unwrap().body;
        assert!(
            features.contains("xmlns:stream='http://etherx.jabber.org/streams'")
                && features.contains("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"),
            "{features}"
        );
        let r = self.send("<body xmlns='http://jabber.org/protocol/httpbind' rid='1003' sid='sid1'><iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq></body>");
        assert!(self.response_to(r).unwrap().body.contains("<jid>user@example.com/web</jid>"));
        1004
    }
}

fn closed(outs: &[BoshOutput]) -> Option<CloseCause> {
    outs.iter().find_map(|o| match o {
        BoshOutput::Closed { cause, .. } => Some(cause.clone()),
        _ => None,
    })
}

#[test]
fn creation_response_carries_every_attribute_and_the_features() {
    let (_, r) = Harness::new("");
    assert_eq!(r.status, 200);
    for attr in [
        "sid='sid1'",
        "wait='30'",
        "hold='1'",
        "requests='2'",
        "inactivity='60'",
        "polling='5'",
        "maxpause='120'",
        "ver='1.9'",
        "authid='stream1'",
        "from='example.com'",
        "secure='true'",
        "xmpp:version='1.0'",
        "xmpp:restartlogic='true'",
        "xmlns:xmpp='urn:xmpp:xbosh'",
        "xmlns:stream='http://etherx.jabber.org/streams'",
    ] {
        assert!(r.body.contains(attr), "{attr} missing from {}", r.body);
    }
    assert!(r.body.contains("<mechanism>PLAIN</mechanism>") && !r.body.contains("starttls"), "{}", r.body);
    assert!(!r.body.contains("ack="), "no ack unless the client asked");
}

#[test]
fn wait_is_capped_and_hold_limited() {
    let t0 = Instant::now();
    let b = body("<body xmlns='http://jabber.org/protocol/httpbind' rid='1' to='example.com' wait='600' hold='5' ver='1.11'/>");
    let mut s = BoshSession::create("s".into(), "x".into(), 1, &b, &config(), t0).unwrap();
    let Some(BoshOutput::Respond { response, .. }) = s.poll_output() else { panic!() };
    assert!(
        response.body.contains("wait='60'") && response.body.contains("hold='1'") && response.body.contains("requests='2'"),
        "{}",
        response.body
    );
}

#[test]
fn bad_creation_requests() {
    let t0 = Instant::now();
    let unknown = body("<body xmlns='http://jabber.org/protocol/httpbind' rid='1' to='other.org' ver='1.6'/>");
    let err = BoshSession::create("s".into(), "x".into(), 1, &unknown, &config(), t0).err().unwrap();
    assert!(err.body.contains("condition='host-unknown'") && err.status == 200);
    let no_rid_legacy = body("<body xmlns='http://jabber.org/protocol/httpbind' to='example.com'/>");
    assert_eq!(BoshSession::create("s".into(), "x".into(), 1, &no_rid_legacy, &config(), t0).err().unwrap().status, 400);
}

#[test]
fn held_request_gets_an_empty_body_after_wait_and_the_session_goes_on() {
    let (mut h, _) = Harness::new("");
    let rid = h.login();
    let r = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid1'/>"));
    assert!(h.response_to(r).is_none(), "held");
    h.at(29);
    assert!(h.timeout().is_empty());
    h.at(30);
    let outs = h.timeout();
    assert!(matches!(&outs[..], [BoshOutput::Respond { response, .. }] if response.body == EMPTY), "{outs:?}");
    // 35 s of silence from the client is within inactivity; the next request continues.
    h.at(65);
    assert!(h.timeout().is_empty());
    let r = h.send(&format!(
        "<body xmlns='http://jabber.org/protocol/httpbind' rid='{}' sid='sid1'><presence xmlns='jabber:client'/></body>",
        rid + 1
    ));
    assert!(h.response_to(r).is_none());
    assert!(!h.session.is_closed());
}

#[test]
fn data_is_answered_at_once_on_the_held_request() {
    let (mut h, _) = Harness::new("");
    let rid = h.login();
    let r = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid1'/>"));
    h.outputs();
    let msg = body("<message xmlns='jabber:client' from='a@example.com/x' to='user@example.com/web'><body>hi</body></message>");
    h.session.deliver(msg, h.now).unwrap();
    let response = h.response_to(r).unwrap();
    assert_eq!(
        response.body,
        "<body xmlns='http://jabber.org/protocol/httpbind'><message xmlns='jabber:client' from='a@example.com/x' to='user@example.com/web'><body>hi</body></message></body>"
    );
    assert_eq!(h.session.stats().msgs_sent, 4);
}

/// A logged-in session whose one held request is answered empty at t=30 (wait 30): from then
/// on nothing is held.
fn logged_in_and_idle_from_30() -> Harness {
    let (mut h, _) = Harness::new("");
    let rid = h.login();
    let r = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid1'/>"));
    h.outputs();
    h.at(30);
    assert!(h.timeout().iter().any(|o| matches!(o, BoshOutput::Respond { request, .. } if *request == r)));
    h
}

#[test]
fn inactivity_closes_at_exactly_the_threshold_and_returns_queued_stanzas() {
    let mut h = logged_in_and_idle_from_30();
    // Nothing held from t=30: the session must close at t=90, not later.
    h.session.deliver(body("<message xmlns='jabber:client'><body>late</body></message>"), h.now).unwrap();
    assert_eq!(h.session.poll_timeout(), Some(h.t0 + Duration::from_secs(90)));
    h.at(89);
    assert!(closed(&h.timeout()).is_none());
    h.at(90);
    let outs = h.timeout();
    assert_eq!(closed(&outs), Some(CloseCause::Inactivity));
    let undelivered = outs.iter().find_map(|o| match o {
        BoshOutput::Closed { undelivered, last_request, .. } => Some((undelivered.len(), *last_request)),
        _ => None,
    });
    assert_eq!(undelivered, Some((1, h.t0)));
    assert!(h.session.deliver(body("<message xmlns='jabber:client'/>"), h.now).is_err(), "a closed session hands stanzas back");
}

#[test]
fn a_session_that_never_logs_in_closes_soon_and_is_forgotten_soon() {
    let (mut h, _) = Harness::new("");
    // Not the 60 s of a logged-in session: 10 s without a request.
    assert_eq!(h.session.poll_timeout(), Some(h.t0 + Duration::from_secs(10)));
    h.at(9);
    assert!(closed(&h.timeout()).is_none());
    h.at(10);
    assert_eq!(closed(&h.timeout()), Some(CloseCause::Inactivity));
    assert_eq!(h.session.poll_timeout(), Some(h.t0 + Duration::from_secs(20)), "late requests answered for 10 s, not 60");
    // A session that logged in keeps the full inactivity.
    let h = logged_in_and_idle_from_30();
    assert_eq!(h.session.poll_timeout(), Some(h.t0 + Duration::from_secs(90)));
}

#[test]
fn rid_window_retransmission_and_out_of_order() {
    let (mut h, _) = Harness::new("");
    let rid = h.login();
    // Retransmission of an answered rid returns the same body.
    let again = h.send("<body xmlns='http://jabber.org/protocol/httpbind' rid='1003' sid='sid1'/>");
    assert!(h.response_to(again).unwrap().body.contains("<jid>user@example.com/web</jid>"));
    // rid+1 arrives before rid: held back until the gap is filled, then processed in order.
    let later = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{}' sid='sid1'><message xmlns='jabber:client' to='a@example.com'><body>2</body></message></body>", rid + 1));
    assert!(h.outputs().iter().all(|o| !matches!(o, BoshOutput::Stream(Output::Stanza(_)))));
    let first = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid1'><message xmlns='jabber:client' to='a@example.com'><body>1</body></message></body>"));
    let outs = h.outputs();
    let order: Vec<String> = outs
        .iter()
        .filter_map(|o| match o {
            BoshOutput::Stream(Output::Stanza(m)) => Some(m.child("body", "jabber:client").unwrap().text()),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["1", "2"]);
    assert!(outs.iter().any(|o| matches!(o, BoshOutput::Respond { request, response } if *request == first && response.body == EMPTY)));
    assert!(!outs.iter().any(|o| matches!(o, BoshOutput::Respond { request, .. } if *request == later)), "hold=1 keeps the newest");
}

#[test]
fn rid_far_outside_the_window_terminates_with_item_not_found() {
    let (mut h, _) = Harness::new("");
    let r = h.send("<body xmlns='http://jabber.org/protocol/httpbind' rid='5000' sid='sid1'/>");
    let outs = h.outputs();
    assert!(outs.iter().any(
        |o| matches!(o, BoshOutput::Respond { request, response } if *request == r && response.body.contains("condition='item-not-found'"))
    ));
    assert_eq!(closed(&outs), Some(CloseCause::BadRid));
    // Afterwards the session answers with the terminal body.
    let late = h.send("<body xmlns='http://jabber.org/protocol/httpbind' rid='1001' sid='sid1'/>");
    assert!(h.response_to(late).unwrap().body.contains("type='terminate'"));
}

#[test]
fn a_rid_too_old_to_be_buffered_is_item_not_found() {
    let (mut h, _) = Harness::new("");
    h.login();
    let r = h.send("<body xmlns='http://jabber.org/protocol/httpbind' rid='1000' sid='sid1'/>");
    assert!(h.response_to(r).unwrap().body.contains("condition='item-not-found'"));
}

#[test]
fn legacy_clients_get_http_status_codes() {
    let t0 = Instant::now();
    let create = body("<body xmlns='http://jabber.org/protocol/httpbind' rid='1' to='example.com' wait='30' hold='1'/>");
    let mut s = BoshSession::create("s".into(), "x".into(), 1, &create, &config(), t0).unwrap();
    s.poll_output();
    s.handle_request(2, body("<body xmlns='http://jabber.org/protocol/httpbind' rid='99' sid='s'/>"), 60, t0);
    let Some(BoshOutput::Respond { response, .. }) = s.poll_output() else { panic!() };
    assert_eq!((response.status, response.body.as_str()), (404, ""));
}

#[test]
fn polling_too_fast_is_a_policy_violation() {
    let (mut h, _) = Harness::new("");
    let rid = h.login();
    h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid1'/>"));
    h.outputs();
    h.at(1);
    let r = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{}' sid='sid1'/>", rid + 1));
    let outs = h.outputs();
    assert!(
        outs.iter()
            .any(|o| matches!(o, BoshOutput::Respond { request, response } if *request == r && response.body.contains("policy-violation")))
    );
    assert_eq!(closed(&outs), Some(CloseCause::Overactivity));
}

#[test]
fn pause_answers_held_requests_and_is_bounded_by_maxpause() {
    let (mut h, _) = Harness::new("");
    let rid = h.login();
    let held = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid1'/>"));
    h.outputs();
    let p = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{}' sid='sid1' pause='100'/>", rid + 1));
    let outs = h.outputs();
    for id in [held, p] {
        assert!(outs.iter().any(|o| matches!(o, BoshOutput::Respond { request, response } if *request == id && response.body == EMPTY)));
    }
    h.at(99);
    assert!(closed(&h.timeout()).is_none(), "the pause extends inactivity");
    h.at(100);
    assert_eq!(closed(&h.timeout()), Some(CloseCause::Inactivity));

    let (mut h, _) = Harness::new("");
    let rid = h.login();
    let p = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid1' pause='121'/>"));
    assert!(h.response_to(p).unwrap().body.contains("policy-violation"));
}

#[test]
fn terminate_forwards_payload_and_closes() {
    let (mut h, _) = Harness::new("");
    let rid = h.login();
    let t = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid1' type='terminate'><presence xmlns='jabber:client' type='unavailable'/></body>"));
    let outs = h.outputs();
    assert!(outs.iter().any(|o| matches!(o, BoshOutput::Stream(Output::Stanza(p)) if p.attr("type") == Some("unavailable"))));
    assert!(
        outs.iter()
            .any(|o| matches!(o, BoshOutput::Respond { request, response } if *request == t && response.body.contains("type='terminate'")))
    );
    assert_eq!(closed(&outs), Some(CloseCause::ClientTerminate));
}

#[test]
fn stream_errors_become_remote_stream_error() {
    let (mut h, _) = Harness::new("");
    let rid = h.login();
    let r = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid1'/>"));
    h.outputs();
    h.session.close(StreamErrorCondition::Conflict, "replaced", h.now);
    let response = h.response_to(r).unwrap();
    assert!(
        response.body.contains("condition='remote-stream-error'")
            && response.body.contains("<conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"),
        "{}",
        response.body
    );
    let (mut h, _) = Harness::new("");
    let rid = h.login();
    let r = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid1'/>"));
    h.outputs();
    h.session.close(StreamErrorCondition::SystemShutdown, "bye", h.now);
    assert!(h.response_to(r).unwrap().body.contains("condition='system-shutdown'"));
}

#[test]
fn key_sequencing() {
    // K(n) = SHA-1(K(n+1)) in hex; the client reveals keys in reverse order.
    use sha1::Digest;
    let hex = |s: &str| sha1::Sha1::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>();
    let k2 = "seed";
    let k1 = hex(k2);
    let k0 = hex(&k1);
    let (mut h, _) = Harness::new(&format!("newkey='{k0}'"));
    let r = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='1001' sid='sid1' key='{k1}'/>"));
    assert!(h.response_to(r).is_none(), "a valid key is accepted and the request held");
    let r = h.send("<body xmlns='http://jabber.org/protocol/httpbind' rid='1002' sid='sid1' key='wrong'/>");
    let outs = h.outputs();
    assert!(
        outs.iter()
            .any(|o| matches!(o, BoshOutput::Respond { request, response } if *request == r && response.body.contains("item-not-found")))
    );
    assert_eq!(closed(&outs), Some(CloseCause::BadKey));
}

#[test]
fn acks_report_lost_responses() {
    let (mut h, created) = Harness::new("ack='1'");
    assert!(created.body.contains("ack='1000'"));
    let rid = h.login();
    let r1 = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid1' ack='{}'/>", rid - 1));
    h.outputs();
    h.at(30);
    assert!(h.timeout().iter().any(|o| matches!(o, BoshOutput::Respond { request, .. } if *request == r1)));
    // The client never saw that answer: its next request still acknowledges the one before.
    h.at(70);
    let r2 = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{}' sid='sid1' ack='{}'/>", rid + 1, rid - 1));
    let response = h.response_to(r2).unwrap();
    assert!(response.body.contains(&format!("report='{rid}'")) && response.body.contains("time='40000'"), "{}", response.body);
}

#[test]
fn fuzz_corpus_replays() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/bosh_body");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        herald_bosh::fuzz_requests(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n > 0);
}

mod properties {
    use proptest::prelude::*;

    fn request() -> impl Strategy<Value = String> {
        let rid = 995u64..1010;
        let attrs = proptest::sample::select(vec![
            "",
            " type='terminate'",
            " pause='3'",
            " pause='500'",
            " ack='1000'",
            " key='x'",
            " xmlns:xmpp='urn:xmpp:xbosh' xmpp:restart='true'",
        ]);
        let payload = proptest::sample::select(vec![
            "",
            "<presence xmlns='jabber:client'/>",
            "<message xmlns='jabber:client' to='a@example.com'><body>x</body></message>",
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHVzZXIAcGVuY2ls</auth>",
            "garbage",
            "<iq/>",
        ]);
        (rid, attrs, payload).prop_map(|(rid, attrs, payload)| {
            format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid'{attrs}>{payload}</body>")
        })
    }

    proptest! {
        /// Any sequence of requests (good, repeated, out of order, out of window, malformed)
        /// gets every request answered at most once and never panics.
        #[test]
        fn any_request_sequence_is_handled(requests in proptest::collection::vec(request(), 0..12)) {
            let mut data = String::from("<body xmlns='http://jabber.org/protocol/httpbind' rid='1000' to='example.com' ver='1.6' wait='30' hold='1' ack='1'/>");
            for r in requests {
                data.push('\n');
                data.push_str(&r);
            }
            herald_bosh::fuzz_requests(data.as_bytes());
        }
    }
}

fn answered(outs: &[BoshOutput], id: RequestId) -> bool {
    outs.iter().any(|o| matches!(o, BoshOutput::Respond { request, .. } if *request == id))
}

/// A session logged in under a byte budget of `rate` bytes/s and `burst`; its next rid.
fn logged_in_with_budget(rate: u32, burst: u32) -> (Harness, u64) {
    let mut limited = config();
    std::sync::Arc::make_mut(&mut limited.stream).rate_limit = Some(RateLimit { bytes_per_sec: rate, burst_bytes: burst });
    let (mut h, _) = Harness::with(limited, "");
    let rid = h.login();
    (h, rid)
}

/// A client over its byte budget has its next request handled only when the budget allows;
/// the request already held is still answered at its `wait` deadline.
#[test]
fn a_client_over_its_budget_waits_but_held_requests_keep_their_deadline() {
    let (mut h, rid) = logged_in_with_budget(1000, 2000);
    // 40 kB of presence: taken (the bucket goes into debt), and held as usual.
    let big = format!("<presence xmlns='jabber:client'><status>{}</status></presence>", "x".repeat(40_000));
    let held = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid1'>{big}</body>"));
    assert!(!answered(&h.outputs(), held));
    // The next request waits for the budget: about 39 s of debt at 1000 B/s.
    let next = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{}' sid='sid1'/>", rid + 1));
    assert!(h.outputs().is_empty(), "neither answered nor handled yet");
    // The held request is answered at its deadline (wait = 30 s) even so.
    assert_eq!(h.session.poll_timeout(), Some(h.t0 + Duration::from_secs(30)));
    h.at(30);
    let outs = h.timeout();
    assert!(answered(&outs, held), "{outs:?}");
    assert!(!answered(&outs, next) && !h.session.is_closed());
    let release = h.session.poll_timeout().unwrap();
    let debt = release.duration_since(h.t0).as_secs_f64();
    assert!((38.0..40.0).contains(&debt), "{debt}");
    // Once released, the waiting request is handled (and held, as an empty one is).
    assert_eq!(h.session.poll_timeout(), Some(release));
    h.now = release;
    let outs = h.timeout();
    assert!(!answered(&outs, next) && !h.session.is_closed(), "{outs:?}");
    assert_eq!(h.session.poll_timeout(), Some(release + Duration::from_secs(30)), "now held for `wait`");
}

#[test]
fn waiting_requests_are_released_in_order_and_more_than_allowed_is_overactivity() {
    let (mut h, rid) = logged_in_with_budget(1000, 2000);
    let big = format!("<message xmlns='jabber:client' to='a@example.com'><body>{}</body></message>", "y".repeat(3000));
    let first = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{rid}' sid='sid1'>{big}</body>"));
    h.outputs();
    let second = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{}' sid='sid1'/>", rid + 1));
    assert!(h.outputs().is_empty());
    let release = h.session.poll_timeout().unwrap();
    assert!(release < h.t0 + Duration::from_secs(3), "about 1.7 s of debt");
    h.now = release;
    let outs = h.timeout();
    // Handling the second request answers the first (hold = 1), and holds the second.
    assert!(answered(&outs, first) && !answered(&outs, second), "{outs:?}");
    // Two more while over budget: the second of them is one more than `requests` allows.
    let extra = format!("<message xmlns='jabber:client' to='a@example.com'><body>{}</body></message>", "z".repeat(3000));
    let third = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{}' sid='sid1'>{extra}</body>", rid + 2));
    h.outputs();
    let _fourth = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{}' sid='sid1'/>", rid + 3));
    let _fifth = h.send(&format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{}' sid='sid1'/>", rid + 4));
    let outs = h.outputs();
    assert_eq!(closed(&outs), Some(CloseCause::Overactivity), "{outs:?}");
    assert!(answered(&outs, second) && answered(&outs, third), "every request gets an answer: {outs:?}");
}

#[test]
fn a_full_queue_says_so() {
    let (mut h, _) = Harness::new("");
    h.login();
    for _ in 0..100 {
        h.session.deliver(body("<message xmlns='jabber:client'><body>m</body></message>"), h.now).unwrap();
    }
    let dropped = h.session.deliver(body("<message xmlns='jabber:client'><body>m</body></message>"), h.now);
    assert_eq!(dropped, Err(herald_bosh::Undelivered::QueueFull));
    assert_eq!(h.session.stats().msgs_drop, 1);
}

/// What the driver answers goes in through the session, and the stream's reply is on the held
/// request as soon as the answering call returns: no further call is needed to carry it.
#[test]
fn answers_reach_the_held_request_when_they_are_given() {
    let (mut h, _) = Harness::new("");
    // SCRAM-SHA-1 client-first-message "n,,n=user,r=abc": the machine asks for credentials and
    // the request waits for them.
    let r = h.send("<body xmlns='http://jabber.org/protocol/httpbind' rid='1001' sid='sid1'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>biwsbj11c2VyLHI9YWJj</auth></body>");
    let asked = std::iter::from_fn(|| h.session.poll_output()).collect::<Vec<_>>();
    assert!(matches!(asked.as_slice(), [BoshOutput::Stream(Output::NeedCredentials { .. })]), "{asked:?}");
    let creds = Credentials::derive("pencil", [b"a", b"b"], 4096).unwrap();
    h.session.handle_credentials(Ok(Account::Existing(creds)), b"rand", h.now);
    match h.session.poll_output() {
        Some(BoshOutput::Respond { request, response }) => {
            assert_eq!(request, r);
            assert!(response.body.contains("<challenge"), "{}", response.body);
        }
        other => panic!("{other:?}"),
    }
    // A refused bind goes back the same way, as an error result on the held request.
    let (mut h, _) = Harness::new("");
    h.send("<body xmlns='http://jabber.org/protocol/httpbind' rid='1001' sid='sid1'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHVzZXIAcGVuY2ls</auth></body>");
    h.outputs();
    h.send("<body xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh' rid='1002' sid='sid1' to='example.com' xmpp:restart='true'/>");
    h.outputs();
    let r = h.send("<body xmlns='http://jabber.org/protocol/httpbind' rid='1003' sid='sid1'><iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq></body>");
    let asked = std::iter::from_fn(|| h.session.poll_output()).collect::<Vec<_>>();
    assert!(matches!(asked.as_slice(), [BoshOutput::Stream(Output::Bind { .. })]), "{asked:?}");
    h.session.handle_bind(Err(herald_proto::StanzaError::new(herald_proto::StanzaErrorType::Cancel, "conflict")), h.now);
    match h.session.poll_output() {
        Some(BoshOutput::Respond { request, response }) => {
            assert_eq!(request, r);
            assert!(response.body.contains("type='error'") && response.body.contains("<conflict"), "{}", response.body);
        }
        other => panic!("{other:?}"),
    }
}
