//! The generic HTTP plumbing on its own, with a router and a fast path that know nothing of
//! XMPP: what the fast path claims it answers (with CORS and keep-alive), everything else goes
//! to the router, a listener without a fast path is hyper's from the first byte, and the
//! listener stops, and its connections end, on the one shutdown signal. A request the fast path
//! answers later parks its connection, which the answer serves on.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use herald_net::http::{Begun, FastPath, HttpSettings, NoFastPath, Parked, serve_http};
use herald_net::{Admission, AdmissionConfig, ShutdownTrigger};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Answers `POST /echo` with its body reversed, at once, and parks `POST /later`: its body and
/// parked connection go to `held`, for the test to answer.
struct Echo {
    held: Option<mpsc::UnboundedSender<(String, Parked)>>,
}

impl FastPath for Echo {
    const HEADERS: &'static [(&'static str, &'static str)] = &[("content-type", "text/plain")];
    type Later = String;

    fn claims(&self, path: &str) -> bool {
        path == "/echo" || (path == "/later" && self.held.is_some())
    }

    fn begin(&self, _peer: IpAddr, body: &[u8]) -> Begun<String> {
        let text = String::from_utf8_lossy(body);
        match text.strip_prefix("later:") {
            Some(rest) => Begun::Later(rest.to_owned()),
            None => Begun::Now(200, text.chars().rev().collect()),
        }
    }

    fn park(&self, later: String, connection: Parked) {
        if let Some(held) = &self.held {
            let _ = held.send((later, connection));
        }
    }
}

fn settings() -> Arc<HttpSettings> {
    Arc::new(HttpSettings {
        name: "test HTTP",
        admission: Admission::new(AdmissionConfig {
            max_connections: 16,
            max_connections_per_source: 16,
            max_unauthenticated_sessions: 16,
            max_unauthenticated_per_source: 16,
            creation_rate_per_source: 16,
            creation_burst_per_source: 16,
        }),
        tls_handshake_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
        first_request_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        max_body_bytes: 1024,
        cors_origins: vec!["https://desk".to_owned()],
    })
}

fn router() -> Router {
    Router::new().route("/hello", get(|| async { "hi" }))
}

/// Reads one response whose body has `content-length` bytes.
async fn response(stream: &mut TcpStream) -> String {
    let mut raw = Vec::new();
    loop {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk)).await.expect("a response in time").unwrap();
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&raw));
        raw.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&raw).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse::<usize>().unwrap()))
                .unwrap_or(0);
            if raw.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

#[tokio::test]
async fn the_fast_path_takes_what_it_claims_and_the_router_the_rest() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (trigger, shutdown) = ShutdownTrigger::new();
    let server = tokio::spawn(serve_http(listener, None, settings(), router(), Some(Arc::new(Echo { held: None })), shutdown));

    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nOrigin: https://desk\r\nContent-Length: 3\r\n\r\nabc").await.unwrap();
    let answer = response(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n"), "{answer}");
    assert!(answer.contains("access-control-allow-origin: https://desk\r\n") && answer.ends_with("\r\n\r\ncba"), "{answer}");
    // The next request on the same connection is not claimed: hyper and the router take over.
    client.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answer = response(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("\r\n\r\nhi"), "{answer}");
    // From then on the router answers everything, a claimed path too (it has no such route).
    client.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc").await.unwrap();
    assert!(response(&mut client).await.starts_with("HTTP/1.1 404"));
    // An origin outside the allow-list gets no CORS header from the fast path.
    let mut other = TcpStream::connect(addr).await.unwrap();
    other.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nOrigin: https://evil\r\nContent-Length: 2\r\n\r\nxy").await.unwrap();
    let answer = response(&mut other).await;
    assert!(answer.ends_with("\r\n\r\nyx") && !answer.contains("access-control-allow-origin"), "{answer}");

    trigger.trigger();
    server.await.unwrap();
    // Both connections close on the signal: the idle fast-path one at once, hyper's gracefully.
    for mut stream in [client, other] {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await.expect("closed in time").unwrap();
    }
    assert!(trigger.wait(Duration::from_secs(5)).await, "a connection outlived the shutdown");
}

#[tokio::test]
async fn without_a_fast_path_every_request_is_the_routers() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (trigger, shutdown) = ShutdownTrigger::new();
    let server = tokio::spawn(serve_http(listener, None, settings(), router(), None::<Arc<NoFastPath>>, shutdown));

    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc").await.unwrap();
    assert!(response(&mut client).await.starts_with("HTTP/1.1 404"));
    client
        .write_all(b"OPTIONS /hello HTTP/1.1\r\nHost: x\r\nOrigin: https://desk\r\nAccess-Control-Request-Method: GET\r\n\r\n")
        .await
        .unwrap();
    let preflight = response(&mut client).await.to_ascii_lowercase();
    assert!(preflight.contains("access-control-allow-origin: https://desk\r\n"), "{preflight}");

    trigger.trigger();
    server.await.unwrap();
    drop(client);
    assert!(trigger.wait(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_request_answered_later_parks_its_connection_which_the_answer_serves_on() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (trigger, shutdown) = ShutdownTrigger::new();
    let (held, mut parked) = mpsc::unbounded_channel();
    let fast = Arc::new(Echo { held: Some(held) });
    let server = tokio::spawn(serve_http(listener, None, settings(), router(), Some(fast), shutdown));

    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(b"POST /later HTTP/1.1\r\nHost: x\r\nOrigin: https://desk\r\nContent-Length: 8\r\n\r\nlater:ab").await.unwrap();
    let (body, connection) = tokio::time::timeout(Duration::from_secs(5), parked.recv()).await.unwrap().unwrap();
    assert_eq!(body, "ab");
    // Nothing is written until the answer comes.
    let mut early = [0u8; 1];
    assert!(tokio::time::timeout(Duration::from_millis(200), client.read(&mut early)).await.is_err());
    connection.answer(403, "done".to_owned());
    let answer = response(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 4\r\n"), "{answer}");
    assert!(
        answer.contains("content-type: text/plain\r\n") && answer.contains("access-control-allow-origin: https://desk\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("\r\n\r\ndone"), "{answer}");
    // Served on: the next request on the same connection, answered now, and then one parked
    // again and dropped unanswered, which closes the connection.
    client.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz").await.unwrap();
    assert!(response(&mut client).await.ends_with("\r\n\r\nzyx"));
    client.write_all(b"POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nlater:").await.unwrap();
    let (_, connection) = tokio::time::timeout(Duration::from_secs(5), parked.recv()).await.unwrap().unwrap();
    drop(connection);
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut rest)).await.expect("closed in time").unwrap();
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));

    // A parked connection counts as running until it is answered: the server waits for it.
    let mut last = TcpStream::connect(addr).await.unwrap();
    last.write_all(b"POST /later HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 6\r\n\r\nlater:").await.unwrap();
    let (_, connection) = tokio::time::timeout(Duration::from_secs(5), parked.recv()).await.unwrap().unwrap();
    trigger.trigger();
    server.await.unwrap();
    let trigger = tokio::spawn(trigger.wait(Duration::from_secs(5)));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!trigger.is_finished(), "the server stopped waiting while a connection was parked");
    connection.answer(200, String::new());
    assert!(response(&mut last).await.contains("connection: close\r\n"));
    assert!(trigger.await.unwrap(), "a connection outlived the shutdown");
}
