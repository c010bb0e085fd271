//! BOSH across the nodes of a cluster, with two in-process servers (two HTTP contexts, each with
//! its own sessions, on one core) joined by an in-test `BoshPeers`: a session created on node 0
//! is served through node 1 — login, bind, a long poll held there and released by a stanza,
//! terminate and a late request after it — and what no node holds gets the 404 of an unknown
//! sid, never forwarded twice. A poll held through a node that stops is sent again to another.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use herald_bosh::BoshConfig;
use herald_core::{Core, CoreConfig, Origin, Transport};
use herald_net::http::{HttpSettings, serve_http};
use herald_net::xmpp::{BoshAnswer, BoshPeers, ForwardError, HttpContext, PeerFuture, Registry, WebSocketConfig, XmppHttp};
use herald_net::{Admission, AdmissionConfig, ShutdownTrigger};
use herald_proto::ns;
use herald_sasl::Credentials;
use herald_store::{AccountStore, AnyStore, MemoryStore};
use herald_stream::{Framing, StreamConfig, TlsPolicy};
use herald_xml::{Element, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const HTTPBIND: &str = "http://jabber.org/protocol/httpbind";
/// `\0carol\0pencil`, SASL PLAIN.
const CAROL_PLAIN: &str = "AGNhcm9sAHBlbmNpbA==";
const PATIENCE: Duration = Duration::from_secs(10);
/// The largest request body either node takes.
const MAX_BODY: usize = 65_536;

/// The nodes' sessions as a cluster would know them, and the way between the nodes.
#[derive(Default)]
struct Mesh {
    /// Each node's transports, by index (its node id).
    nodes: OnceLock<Vec<XmppHttp>>,
    owners: Mutex<HashMap<String, usize>>,
    forwarded: AtomicUsize,
}

/// One node's view of the mesh.
struct Peer {
    mesh: Arc<Mesh>,
    me: usize,
}

impl BoshPeers for Peer {
    fn created(&self, sid: &str) {
        self.mesh.owners.lock().unwrap().insert(sid.to_owned(), self.me);
    }

    fn ended(&self, sid: &str) {
        let mut owners = self.mesh.owners.lock().unwrap();
        if owners.get(sid) == Some(&self.me) {
            owners.remove(sid);
        }
    }

    fn owner<'a>(&'a self, sid: &'a str) -> PeerFuture<'a, Option<String>> {
        let owner = self.mesh.owners.lock().unwrap().get(sid).filter(|&&n| n != self.me).map(|n| n.to_string());
        Box::pin(async move { owner })
    }

    fn forward(&self, node: &str, body: Bytes) -> PeerFuture<'static, Result<BoshAnswer, ForwardError>> {
        self.mesh.forwarded.fetch_add(1, Ordering::SeqCst);
        let index: usize = node.parse().unwrap();
        // Through the wire encoding, as a cluster's bus carries it.
        let serving = self.mesh.nodes.get().unwrap()[index].serve_forwarded_bosh(&body);
        Box::pin(async move { Ok(BoshAnswer::decode(&serving.await.encode()).expect("an encoded answer")) })
    }
}

/// BOSH as a desktop uses it (one held request), over "HTTPS" (so that PLAIN is offered).
fn bosh_config() -> BoshConfig {
    let stream = StreamConfig {
        domain: "example.com".into(),
        framing: Framing::Bosh,
        tls: TlsPolicy::AlreadySecure,
        limits: Limits { max_stanza_bytes: MAX_BODY, ..Limits::default() },
        max_unauthenticated_bytes: MAX_BODY,
        negotiation_timeout: PATIENCE,
        unlimited_users: Arc::from(Vec::new()),
        rate_limit: None,
    };
    BoshConfig {
        stream: Arc::new(stream),
        secure: true,
        max_hold: 1,
        max_pending: 100,
        max_wait: 4 * PATIENCE,
        inactivity: 4 * PATIENCE,
        unauthenticated_inactivity: 2 * PATIENCE,
        maxpause: 8 * PATIENCE,
        polling: Duration::ZERO,
    }
}

fn admission() -> Arc<Admission> {
    Admission::new(AdmissionConfig {
        max_connections: 64,
        max_connections_per_source: 64,
        max_unauthenticated_sessions: 64,
        max_unauthenticated_per_source: 64,
        creation_rate_per_source: 64,
        creation_burst_per_source: 64,
    })
}

/// The two nodes: their addresses, contexts and the mesh between them.
struct Cluster {
    core: Core,
    addrs: Vec<SocketAddr>,
    contexts: Vec<Arc<HttpContext>>,
    mesh: Arc<Mesh>,
    triggers: Vec<ShutdownTrigger>,
}

/// Starts two nodes serving BOSH (fast path and router, "secure" so that PLAIN is offered) on
/// one core whose store holds carol (password `pencil`).
async fn two_nodes() -> Cluster {
    let store = MemoryStore::new();
    let creds = Credentials::derive("pencil", [b"0123456789abcdef", b"fedcba9876543210"], 64).unwrap();
    store.create_user("carol", &herald_core::stored_credentials(creds)).await.unwrap();
    let core = Core::start(CoreConfig::new("example.com"), AnyStore::Memory(store)).await.unwrap();
    let mesh = Arc::new(Mesh::default());
    let (mut addrs, mut contexts, mut triggers, mut transports) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for me in 0..2 {
        let (trigger, shutdown) = ShutdownTrigger::new();
        let admission = admission();
        let ctx = Arc::new(HttpContext {
            core: core.clone(),
            bosh: bosh_config(),
            websocket: WebSocketConfig { max_message_bytes: 65_536, ping_interval: Duration::from_secs(60), see_other_uri: None },
            cors_origins: Vec::new(),
            max_body_bytes: MAX_BODY,
            admission: admission.clone(),
            session_stats: Duration::from_secs(60),
            log: herald_observe::LogControl::default(),
            registry: Registry::default(),
            bosh_peers: Some(Arc::new(Peer { mesh: mesh.clone(), me })),
            shutdown: shutdown.clone(),
        });
        let settings = Arc::new(HttpSettings {
            name: "test BOSH",
            admission,
            tls_handshake_timeout: PATIENCE,
            request_timeout: PATIENCE,
            first_request_timeout: PATIENCE,
            idle_timeout: PATIENCE,
            max_body_bytes: MAX_BODY,
            cors_origins: Vec::new(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(listener.local_addr().unwrap());
        let xmpp = XmppHttp::new(ctx.clone(), true);
        tokio::spawn(serve_http(listener, None, settings, xmpp.bosh_routes(), Some(xmpp.bosh_fast_path()), shutdown));
        transports.push(XmppHttp::new(ctx.clone(), true));
        contexts.push(ctx);
        triggers.push(trigger);
    }
    assert!(mesh.nodes.set(transports).is_ok());
    Cluster { core, addrs, contexts, mesh, triggers }
}

/// POSTs `body` to `/http-bind/` at `addr` on a new connection (through the fast path, or with a
/// chunked body, which the fast path leaves to hyper and the router); the status and body.
async fn post(addr: SocketAddr, body: &str, chunked: bool) -> (u16, String) {
    try_post(addr, body, chunked).await.expect("an answer before the connection closed")
}

/// [`post`], or `None` when the server closes the connection without answering.
async fn try_post(addr: SocketAddr, body: &str, chunked: bool) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = if chunked {
        format!("POST /http-bind/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len())
    } else {
        format!("POST /http-bind/ HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len())
    };
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut chunk)).await.expect("an answer in time").unwrap();
        if n == 0 {
            assert!(raw.is_empty(), "closed in the middle of an answer: {:?}", String::from_utf8_lossy(&raw));
            return None;
        }
        raw.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let Some(end) = text.find("\r\n\r\n") else { continue };
        let length = text[..end]
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse::<usize>().unwrap()))
            .expect("a content-length");
        if raw.len() >= end + 4 + length {
            let status = text[9..12].parse().unwrap();
            return Some((status, text[end + 4..end + 4 + length].to_owned()));
        }
    }
}

/// A request of session `sid` with `rid`, its attributes and payload.
fn request(sid: &str, rid: u64, attrs: &str, payload: &str) -> String {
    format!("<body xmlns='{HTTPBIND}' xmlns:xmpp='urn:xmpp:xbosh' sid='{sid}' rid='{rid}' {attrs}>{payload}</body>")
}

fn sid_of(answer: &str) -> String {
    let body = herald_xml::parse_document(answer.as_bytes(), Limits::default()).unwrap();
    body.attr("sid").expect("a sid").to_owned()
}

/// A session's first request, with `rid`.
fn creation(rid: u64) -> String {
    format!(
        "<body xmlns='{HTTPBIND}' xmlns:xmpp='urn:xmpp:xbosh' rid='{rid}' wait='30' hold='1' to='example.com' ver='1.6' xmpp:version='1.0'/>"
    )
}

/// Creates a session on node 0 (rid 1000) and logs carol in as `carol@example.com/desk` with
/// every later request (rids 1001 to 1003) sent to `through`; the sid.
async fn carol_on_node_0(cluster: &Cluster, through: SocketAddr) -> String {
    let (status, created) = post(cluster.addrs[0], &creation(1000), false).await;
    assert_eq!(status, 200, "{created}");
    assert!(created.contains("<mechanism>PLAIN</mechanism>"), "{created}");
    let sid = sid_of(&created);
    let auth = format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{CAROL_PLAIN}</auth>");
    let (status, answer) = post(through, &request(&sid, 1001, "", &auth), false).await;
    assert!(status == 200 && answer.contains("<success"), "{status} {answer}");
    let (_, answer) = post(through, &request(&sid, 1002, "xmpp:restart='true'", ""), false).await;
    assert!(answer.contains("urn:ietf:params:xml:ns:xmpp-bind"), "{answer}");
    let bind =
        "<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>desk</resource></bind></iq>";
    let (_, answer) = post(through, &request(&sid, 1003, "", bind), false).await;
    assert!(answer.contains("<jid>carol@example.com/desk</jid>"), "{answer}");
    sid
}

/// Routes a chat message with `text` from dave (bound on the core) to carol's desk.
async fn to_carol(core: &Core, text: &str) {
    let dave = core.bind("dave", Some("pc".into()), Origin { transport: Transport::Tcp, source: IpAddr::V4(Ipv4Addr::LOCALHOST) }).unwrap();
    let message = Element::new("message", ns::CLIENT)
        .with_attr("from", dave.jid.to_string())
        .with_attr("to", "carol@example.com/desk")
        .with_attr("type", "chat")
        .with_child(Element::new("body", ns::CLIENT).with_text(text));
    core.route(&dave.jid, dave.id, message).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_created_on_one_node_is_served_through_another() {
    let cluster = two_nodes().await;
    let (one, two) = (cluster.addrs[0], cluster.addrs[1]);
    // Created on node 0; login and bind, every request through node 1.
    let sid = carol_on_node_0(&cluster, two).await;
    assert_eq!(cluster.mesh.forwarded.load(Ordering::SeqCst), 3);
    assert_eq!(cluster.contexts[1].registry.len(), 0, "the session stays on node 0");

    // A long poll through node 1 is held on node 0 until a stanza comes for carol.
    let held = request(&sid, 1004, "", "");
    let mut poll = tokio::spawn(async move { post(two, &held, false).await });
    assert!(tokio::time::timeout(Duration::from_millis(300), &mut poll).await.is_err(), "the poll is held");
    to_carol(&cluster.core, "across the nodes").await;
    let (status, answer) = tokio::time::timeout(PATIENCE, poll).await.expect("released by the stanza").unwrap();
    assert!(status == 200 && answer.contains("across the nodes"), "{status} {answer}");

    // Terminate, through node 1's router this time (a chunked body is hyper's).
    let (status, answer) =
        post(two, &request(&sid, 1005, "type='terminate'", "<presence xmlns='jabber:client' type='unavailable'/>"), true).await;
    assert!(status == 200 && answer.contains("type='terminate'"), "{status} {answer}");
    // Ended: a late request, through either node, gets the same terminal answer from node 0.
    let late = request(&sid, 1006, "", "");
    let (through_two, at_one) = (post(two, &late, false).await, post(one, &late, false).await);
    assert_eq!(through_two, at_one);
    assert!(at_one.1.contains("type='terminate'"), "{at_one:?}");
    assert_eq!(cluster.contexts[1].registry.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_requests_are_served_only_for_sessions_held_here_and_never_forwarded_again() {
    let cluster = two_nodes().await;
    let create = creation(7);
    let (_, created) = post(cluster.addrs[0], &create, false).await;
    let sid = sid_of(&created);
    let node = |i: usize| &cluster.mesh.nodes.get().unwrap()[i];
    // A forwarded request never creates a session (sessions are created where clients land).
    assert_eq!(node(1).serve_forwarded_bosh(create.as_bytes()).await.status, 400);
    assert_eq!(cluster.contexts[1].registry.len(), 0);
    // Node 1 does not hold the session, and does not send it on to node 0 (which does).
    assert_eq!(node(1).serve_forwarded_bosh(request(&sid, 8, "", "").as_bytes()).await.status, 404);
    assert_eq!(cluster.mesh.forwarded.load(Ordering::SeqCst), 0);
    // Unparsable, or over the size limit: refused as from a client.
    assert_eq!(node(0).serve_forwarded_bosh(b"<body").await.status, 400);
    let huge = request(&sid, 8, "", &"<x/>".repeat(20_000));
    assert_eq!(node(0).serve_forwarded_bosh(huge.as_bytes()).await.status, 400);
    // Held here for node 0's own rid window: the right next request is answered.
    let answer = node(0).serve_forwarded_bosh(request(&sid, 8, "type='terminate'", "").as_bytes()).await;
    assert!(answer.status == 200 && answer.body.contains("type='terminate'"), "{answer:?}");
    // A sid no node holds, sent by a client to either node: unknown.
    assert_eq!(post(cluster.addrs[1], &request("nobody", 1, "", ""), false).await.0, 404);
    assert_eq!(cluster.mesh.forwarded.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_held_through_a_node_that_stops_is_sent_again_to_another() {
    let cluster = two_nodes().await;
    let (one, two) = (cluster.addrs[0], cluster.addrs[1]);
    let sid = carol_on_node_0(&cluster, two).await;
    let held = request(&sid, 1004, "", "");
    let mut poll = tokio::spawn({
        let held = held.clone();
        async move { try_post(two, &held, false).await }
    });
    assert!(tokio::time::timeout(Duration::from_millis(300), &mut poll).await.is_err(), "the poll is held");
    // Node 1 stops: its client's connection closes unanswered (the session lives on at node 0)…
    cluster.triggers[1].trigger();
    assert_eq!(tokio::time::timeout(PATIENCE, poll).await.expect("closed at once").unwrap(), None);
    // …and the same request sent again to node 0 gets what the session has for it, whether it
    // takes the held one's place or the held one was answered first (then it is retransmitted).
    let again = tokio::spawn(async move { post(one, &held, false).await });
    to_carol(&cluster.core, "after the failover").await;
    let (status, answer) = tokio::time::timeout(PATIENCE, again).await.expect("released by the stanza").unwrap();
    assert!(status == 200 && answer.contains("after the failover"), "{status} {answer}");
}
