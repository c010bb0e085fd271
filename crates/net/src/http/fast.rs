//! The fast path: a hook that may claim a request before hyper sees it, and the HTTP/1.1
//! connection handling that serves what it claims. A held long poll is nearly all an agent
//! desktop's connection ever does, and a general-purpose HTTP server keeps its read and write
//! buffers for the whole life of every connection (about 24 KiB per connection with hyper,
//! measured with massif). Here a request is read into a buffer that is released as soon as the
//! request has been taken out of it, and the response is written in one piece. A request the
//! path answers later does not keep the connection's task waiting: the connection is
//! [`Parked`] with whatever answers it (a session's task, say) and its own task ends; the
//! answer is written, and the connection served on, in a new task. So a held long poll costs
//! the parked connection's state and no task of its own. The first request the [`FastPath`]
//! does not claim (a CORS preflight, a WebSocket upgrade, a `GET`, a chunked body) hands the
//! connection, with the bytes already read, to hyper and the router for the rest of its life.

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::cors::allowed_origin;
use super::handover::{self, Accepted};

/// A hook that serves some requests itself, ahead of hyper: `POST`s with a plain
/// `Content-Length` body to the paths it [`claims`](FastPath::claims). It answers with a status
/// and a body, at once or later through the [`Parked`] connection; the connection handling adds
/// the framing, CORS and keep-alive.
pub trait FastPath: Send + Sync + 'static {
    /// Headers every answer of this path carries (beside `content-length`, CORS and
    /// `connection`), as `name: value` pairs.
    const HEADERS: &'static [(&'static str, &'static str)];

    /// A request this path answers later, as [`begin`](FastPath::begin) leaves it until
    /// [`park`](FastPath::park) gives it its connection.
    type Later: Send + 'static;

    /// Whether this path serves `POST`s to `path` (with a plain `Content-Length` body, no
    /// upgrade); what it does not claim goes to the router.
    fn claims(&self, path: &str) -> bool;

    /// Starts answering a claimed request from `peer` whose body is `body`: its answer now, or
    /// the request to answer later. The body is borrowed from the connection's read buffer,
    /// which is released before the connection is parked.
    fn begin(&self, peer: IpAddr, body: &[u8]) -> Begun<Self::Later>;

    /// Parks the connection of a request [`begin`](FastPath::begin) left for later: whoever
    /// answers it calls [`Parked::answer`] when it decides. Dropped unanswered, the connection
    /// is closed without a word.
    fn park(&self, later: Self::Later, connection: Parked);
}

/// What [`FastPath::begin`] made of a request.
pub enum Begun<L> {
    /// The HTTP status and body, written at once.
    Now(u16, String),
    /// Answered later, through the connection parked with it.
    Later(L),
}

/// A connection parked with the request it waits on, and no task of its own: its answer is
/// written with [`Parked::answer`], after which the connection is served on (keep-alive,
/// CORS, the listener's deadlines and shutdown, its connection permit, all as before parking).
pub struct Parked {
    connection: Box<dyn Resume>,
}

impl Parked {
    /// Writes `status` and `body` on the connection and serves it on, in a task of its own
    /// (spawned on the current runtime).
    pub fn answer(self, status: u16, body: String) {
        self.connection.resume(status, body);
    }
}

/// A parked connection, whatever its stream and fast path: what [`Parked`] hides.
trait Resume: Send {
    fn resume(self: Box<Self>, status: u16, body: String);
}

/// The fast path of a listener that has none: it cannot be made, so `None::<NoFastPath>`
/// hands every connection to hyper from its first byte.
pub enum NoFastPath {}

impl FastPath for NoFastPath {
    const HEADERS: &'static [(&'static str, &'static str)] = &[];
    type Later = NoFastPath;

    fn claims(&self, _path: &str) -> bool {
        match *self {}
    }

    fn begin(&self, _peer: IpAddr, _body: &[u8]) -> Begun<NoFastPath> {
        match *self {}
    }

    fn park(&self, later: NoFastPath, _connection: Parked) {
        match later {}
    }
}

/// Largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Most headers in a request head.
const MAX_HEADERS: usize = 48;
/// What one read asks for.
const READ_CHUNK: usize = 4096;

/// A connection this path can serve.
pub(crate) trait Connection: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Waits until reading would make progress, without holding a buffer meanwhile. Plain TCP
    /// waits on the socket; TLS returns at once (its decrypted bytes may already be buffered).
    fn ready(&self) -> impl Future<Output = io::Result<()>> + Send;

    /// Appends what can be read without waiting, through a scratch buffer on the stack, so that
    /// no read buffer is allocated and freed for every request; `None` when this connection
    /// cannot (or nothing was there after all) and an ordinary read must wait.
    fn read_now(&self, buf: &mut Vec<u8>) -> io::Result<Option<usize>>;
}

impl Connection for TcpStream {
    async fn ready(&self) -> io::Result<()> {
        self.readable().await
    }

    fn read_now(&self, buf: &mut Vec<u8>) -> io::Result<Option<usize>> {
        let mut scratch = [0u8; READ_CHUNK];
        match self.try_read(&mut scratch) {
            Ok(n) => {
                buf.extend_from_slice(&scratch[..n]);
                Ok(Some(n))
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(err) => Err(err),
        }
    }
}

impl Connection for tokio_rustls::server::TlsStream<TcpStream> {
    async fn ready(&self) -> io::Result<()> {
        Ok(())
    }

    fn read_now(&self, _buf: &mut Vec<u8>) -> io::Result<Option<usize>> {
        Ok(None)
    }
}

/// What the head of a request says, parsed out of the read buffer.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    /// Bytes of the head, up to and including the blank line.
    len: usize,
    /// A request the fast path claims, with a plain `Content-Length` body.
    claimed: bool,
    content_length: usize,
    expect_continue: bool,
    keep_alive: bool,
    origin: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Complete(Head),
    Partial,
    Invalid,
}

/// Parses a request head; `claims` says whether the fast path wants a `POST` to its path.
fn parse_head(buf: &[u8], claims: impl FnOnce(&str) -> bool) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Invalid,
    };
    let path = request.path.unwrap_or_default();
    let mut head = Head {
        len,
        claimed: request.method == Some("POST") && claims(path),
        content_length: 0,
        expect_continue: false,
        keep_alive: request.version == Some(1),
        origin: None,
    };
    let mut has_length = false;
    for h in request.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or_default().trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            match content_length(value) {
                Some(n) if !has_length || n == head.content_length => head.content_length = n,
                _ => return Parsed::Invalid,
            }
            has_length = true;
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") || h.name.eq_ignore_ascii_case("upgrade") {
            head.claimed = false;
        } else if h.name.eq_ignore_ascii_case("expect") {
            head.expect_continue = value.eq_ignore_ascii_case("100-continue");
        } else if h.name.eq_ignore_ascii_case("connection") {
            if value.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")) {
                head.keep_alive = false;
            } else if value.split(',').any(|t| t.trim().eq_ignore_ascii_case("keep-alive")) {
                head.keep_alive = true;
            }
        } else if h.name.eq_ignore_ascii_case("origin") {
            head.origin = Some(value.to_owned());
        }
    }
    if head.claimed && !has_length {
        head.claimed = false;
    }
    Parsed::Complete(head)
}

/// The fuzzing and corpus-replay entry point for the request-head reader: any bytes, in any
/// amount, give a complete head, a partial one or a refusal, never a panic; a complete head
/// never claims more bytes than it was given, and every prefix of it is partial or refused.
/// Every path is claimed, so that the checks on a claimed request are all reached.
pub fn fuzz_head(data: &[u8]) {
    if let Parsed::Complete(head) = parse_head(data, |_| true) {
        assert!(head.len <= data.len());
        for cut in [0, head.len / 2, head.len.saturating_sub(1)] {
            assert!(!matches!(parse_head(&data[..cut], |_| true), Parsed::Complete(_)) || cut == head.len);
        }
    }
}

/// A `Content-Length` value: one or more ASCII digits and nothing else (RFC 9110 §8.6), the rule
/// hyper applies on the same listener. `usize::from_str` alone would also take a leading `+`.
fn content_length(value: &str) -> Option<usize> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// One whole response: status line, the fast path's headers, body.
fn response(status: u16, headers: &[(&str, &str)], body: &str, allow_origin: Option<&str>, keep_alive: bool) -> Vec<u8> {
    use std::fmt::Write as _;
    // One allocation for the whole response.
    let mut out = String::with_capacity(256 + body.len());
    let _ = write!(out, "HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    let _ = write!(out, "content-length: {}\r\n", body.len());
    if let Some(origin) = allow_origin {
        out.push_str("access-control-allow-origin: ");
        out.push_str(origin);
        out.push_str("\r\nvary: origin, access-control-request-method, access-control-request-headers\r\n");
    }
    if !keep_alive {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

/// Reads more bytes into `buf`; `Ok(false)` when the peer has closed.
async fn fill<S: Connection>(stream: &mut S, buf: &mut Vec<u8>) -> io::Result<bool> {
    stream.ready().await?;
    if let Some(n) = stream.read_now(buf)? {
        return Ok(n > 0);
    }
    buf.reserve(READ_CHUNK);
    Ok(stream.read_buf(buf).await? > 0)
}

/// Why reading a request stopped short of a claimed request to answer.
enum Stop {
    /// The peer closed, the server stops, or the connection idled out: close without a word.
    Quietly,
    /// Answer with this status and close.
    Reject(u16),
    /// Not claimed by the fast path: hyper and the router take the connection.
    HandOver,
}

/// Reads one claimed request, head and body, into `buf`: waits for its first bytes (holding no
/// buffer meanwhile, up to `wait`), then for the rest, all of it within `limit` of the first
/// byte: one deadline for the whole request, so a client dripping a byte at a time cannot hold
/// a connection (and its buffer) for longer.
async fn read_request<S: Connection, F: FastPath>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    wait: Duration,
    fast: &F,
    accepted: &Accepted,
) -> Result<Head, Stop> {
    let (max_body, limit) = (accepted.settings.max_body_bytes, accepted.settings.request_timeout);
    // Bytes already here (pipelined behind the last request) start the clock now.
    let mut deadline = (!buf.is_empty()).then(|| Instant::now() + limit);
    let head = loop {
        match parse_head(buf, |path| fast.claims(path)) {
            Parsed::Complete(head) if head.len > MAX_HEAD => return Err(Stop::Reject(431)),
            Parsed::Complete(head) => break head,
            Parsed::Invalid => return Err(Stop::Reject(400)),
            Parsed::Partial if buf.len() > MAX_HEAD => return Err(Stop::Reject(431)),
            Parsed::Partial => {}
        }
        let idle = deadline.is_none();
        let until = deadline.unwrap_or_else(|| Instant::now() + wait);
        tokio::select! {
            read = tokio::time::timeout_at(until, fill(stream, buf)) => match read {
                Ok(Ok(true)) => deadline = deadline.or_else(|| Some(Instant::now() + limit)),
                Ok(Ok(false) | Err(_)) => return Err(Stop::Quietly),
                Err(_) if idle => return Err(Stop::Quietly),
                Err(_) => return Err(Stop::Reject(408)),
            },
            () = accepted.shutdown.recv(), if idle => return Err(Stop::Quietly),
        }
    };
    if !head.claimed {
        return Err(Stop::HandOver);
    }
    if head.content_length > max_body {
        return Err(Stop::Reject(413));
    }
    let end = head.len + head.content_length;
    if head.expect_continue && buf.len() < end && stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.is_err() {
        return Err(Stop::Quietly);
    }
    let deadline = deadline.unwrap_or_else(|| Instant::now() + limit);
    while buf.len() < end {
        match tokio::time::timeout_at(deadline, fill(stream, buf)).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false) | Err(_)) => return Err(Stop::Quietly),
            Err(_) => return Err(Stop::Reject(408)),
        }
    }
    Ok(head)
}

/// Serves one connection until it closes, the server stops, it is handed to hyper, or it is
/// parked with a request answered later (whose answer serves it on).
pub(crate) async fn serve<S: Connection, F: FastPath>(stream: S, fast: Arc<F>, accepted: Accepted) {
    let wait = accepted.settings.first_request_timeout;
    Conn { stream, buf: Vec::new(), fast, accepted }.run(wait).await
}

/// One connection of a fast path and what serving it needs.
struct Conn<S, F> {
    stream: S,
    /// Bytes read and not yet taken; released while nothing is pipelined.
    buf: Vec<u8>,
    fast: Arc<F>,
    accepted: Accepted,
}

/// A connection parked with its request, with what its answer's head needs.
struct Waiting<S, F> {
    conn: Conn<S, F>,
    origin: Option<String>,
    keep_alive: bool,
}

impl<S: Connection, F: FastPath> Resume for Waiting<S, F> {
    fn resume(self: Box<Self>, status: u16, body: String) {
        let Waiting { mut conn, origin, keep_alive } = *self;
        // Not boxed: this task lives from one answer to the next request (then it parks again
        // and ends), so its size is not paid by idle connections, and a box would be one more
        // allocation per round trip.
        tokio::spawn(async move {
            if conn.respond(status, &body, origin.as_deref(), keep_alive).await {
                drop((body, origin));
                let wait = conn.accepted.settings.idle_timeout;
                conn.run(wait).await;
            }
        });
    }
}

impl<S: Connection, F: FastPath> Conn<S, F> {
    /// Serves requests, the first within `wait`.
    async fn run(mut self, mut wait: Duration) {
        loop {
            // Reading is boxed, in a statement of its own: this future is what a connection
            // between requests keeps, so it holds only what that wait needs (a temporary alive
            // across an await would be laid out inside it).
            let reading = Box::pin(read_request(&mut self.stream, &mut self.buf, wait, &*self.fast, &self.accepted));
            let head = match reading.await {
                Ok(head) => head,
                Err(Stop::Quietly) => return,
                Err(Stop::Reject(status)) => {
                    let rejecting = Box::pin(reject(&mut self.stream, status));
                    return rejecting.await;
                }
                Err(Stop::HandOver) => {
                    let Conn { stream, buf, accepted, .. } = self;
                    let hyper = Box::pin(handover::serve_connection(Rewind { read: buf, at: 0, inner: stream }, accepted));
                    return hyper.await;
                }
            };
            let end = head.len + head.content_length;
            let begun = self.fast.begin(self.accepted.addr.ip(), &self.buf[head.len..end]);
            self.buf.drain(..end);
            if self.buf.is_empty() {
                // Nothing pipelined behind it: release the buffer while the request is held.
                self.buf = Vec::new();
            }
            let (status, answer) = match begun {
                Begun::Now(status, answer) => (status, answer),
                Begun::Later(later) => {
                    // The connection waits with its request; this task ends.
                    let fast = self.fast.clone();
                    let waiting = Waiting { conn: self, origin: head.origin, keep_alive: head.keep_alive };
                    fast.park(later, Parked { connection: Box::new(waiting) });
                    return;
                }
            };
            if !self.respond(status, &answer, head.origin.as_deref(), head.keep_alive).await {
                return;
            }
            wait = self.accepted.settings.idle_timeout;
        }
    }

    /// Writes one answer; whether the connection goes on.
    async fn respond(&mut self, status: u16, body: &str, origin: Option<&str>, keep_alive: bool) -> bool {
        let allow = origin.and_then(|o| allowed_origin(&self.accepted.settings.cors_origins, o));
        let out = response(status, F::HEADERS, body, allow, keep_alive);
        if self.stream.write_all(&out).await.is_err() || !keep_alive {
            let _ = self.stream.shutdown().await;
            return false;
        }
        true
    }
}

/// Answers a request this path cannot take with an empty error response and closes.
async fn reject<S: Connection>(stream: &mut S, status: u16) {
    let _ = stream.write_all(&response(status, &[], "", None, false)).await;
    let _ = stream.shutdown().await;
}

/// A stream that first yields bytes already read from it: how a connection is handed to hyper
/// with the request this path read but does not serve.
struct Rewind<S> {
    read: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.at < self.read.len() {
            let n = out.remaining().min(self.read.len() - self.at);
            out.put_slice(&self.read[self.at..self.at + n]);
            self.at += n;
            if self.at == self.read.len() {
                self.read = Vec::new();
                self.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, out)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the bytes, the head reader answers without panicking.
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            fuzz_head(&data);
        }

        /// A claimed POST's length is taken exactly as sent, digits only, and a head split
        /// anywhere is partial until its blank line has arrived.
        #[test]
        fn claimed_posts_parse_whatever_the_cut(length in 0usize..1_000_000, sign in proptest::option::of("[+-]"), cut in 0usize..200) {
            let value = format!("{}{length}", sign.clone().unwrap_or_default());
            let raw = format!("POST /http-bind/ HTTP/1.1\r\nHost: h\r\nContent-Length: {value}\r\n\r\n");
            let parsed = parse_head(raw.as_bytes(), bind);
            if sign.is_some() {
                prop_assert_eq!(parsed, Parsed::Invalid);
            } else {
                let Parsed::Complete(head) = parsed else { panic!("{parsed:?}") };
                prop_assert_eq!((head.len, head.content_length, head.claimed), (raw.len(), length, true));
                let cut = cut.min(raw.len() - 1);
                prop_assert_eq!(parse_head(&raw.as_bytes()[..cut], bind), Parsed::Partial);
            }
        }
    }

    /// The claim of a fast path serving `/http-bind` (as BOSH's does).
    fn bind(path: &str) -> bool {
        matches!(path, "/http-bind" | "/http-bind/")
    }

    fn complete(raw: &str) -> Head {
        match parse_head(raw.as_bytes(), bind) {
            Parsed::Complete(head) => head,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fuzz_corpus_replays() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/http_head");
        let mut replayed = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            fuzz_head(&std::fs::read(entry.unwrap().path()).unwrap());
            replayed += 1;
        }
        assert!(replayed > 0);
    }

    #[test]
    fn a_claimed_post_is_taken_here() {
        let raw = "POST /http-bind/ HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nOrigin: https://desk\r\n\r\n<body rid=1/>";
        let head = complete(raw);
        assert_eq!((head.claimed, head.content_length, head.keep_alive), (true, 12, true));
        assert_eq!(head.origin.as_deref(), Some("https://desk"));
        assert_eq!(&raw[head.len..], "<body rid=1/>");
    }

    #[test]
    fn everything_else_goes_to_the_router() {
        for raw in [
            "GET /http-bind/ HTTP/1.1\r\n\r\n",
            "OPTIONS /http-bind/ HTTP/1.1\r\nOrigin: x\r\n\r\n",
            "GET /ws/ HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            "POST /http-bind/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /http-bind/ HTTP/1.1\r\n\r\n",
            "POST /other HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        ] {
            assert!(!complete(raw).claimed, "{raw}");
        }
    }

    #[test]
    fn partial_invalid_and_conflicting_heads() {
        assert_eq!(parse_head(b"POST /http-bind/ HTTP/1.1\r\nContent-Le", bind), Parsed::Partial);
        assert_eq!(parse_head(b"\x01\x02 garbage\r\n\r\n", bind), Parsed::Invalid);
        assert_eq!(parse_head(b"POST /http-bind/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", bind), Parsed::Invalid);
        assert_eq!(parse_head(b"POST /http-bind/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n", bind), Parsed::Invalid);
        for bad in ["+5", "5 5", "0x5", "", " ", "5,5", "1e3", "\u{660}"] {
            let raw = format!("POST /http-bind/ HTTP/1.1\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(parse_head(raw.as_bytes(), bind), Parsed::Invalid, "Content-Length: {bad:?}");
        }
    }

    #[test]
    fn keep_alive_follows_version_and_connection_header() {
        assert!(!complete("POST /http-bind HTTP/1.0\r\nContent-Length: 0\r\n\r\n").keep_alive);
        assert!(complete("POST /http-bind HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").keep_alive);
        assert!(!complete("POST /http-bind HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keep_alive);
    }

    #[test]
    fn responses_are_complete_http() {
        let headers = [("content-type", "text/xml"), ("cache-control", "no-store")];
        let out = String::from_utf8(response(200, &headers, "<body/>", Some("https://desk"), true)).unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncache-control: no-store\r\ncontent-length: 7\r\n"));
        assert!(out.contains("content-length: 7\r\n") && out.contains("access-control-allow-origin: https://desk\r\n"));
        assert!(out.ends_with("\r\n\r\n<body/>"));
        assert!(String::from_utf8(response(413, &[], "", None, false)).unwrap().contains("connection: close\r\n"));
    }
}
