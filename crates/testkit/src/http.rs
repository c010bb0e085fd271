//! HTTP-side test clients: one request over a fresh connection (HTTP or HTTPS), a BOSH client
//! that keeps its rid and sid, and an RFC 7395 WebSocket client.

use std::net::{IpAddr, SocketAddr};

use anyhow::{Context, bail};
use base64::Engine;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use herald_sasl::{HashAlg, ScramClient};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::{TestServer, WAIT};

/// An HTTP answer.
#[derive(Debug)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl HttpReply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

async fn exchange<S>(io: S, request: hyper::Request<Full<Bytes>>) -> anyhow::Result<HttpReply>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(conn);
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let headers = response.headers().iter().map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned())).collect();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(HttpReply { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

/// Sends one request on a new connection: HTTPS when `secure` (trusting the server's
/// certificate), else the server's plain HTTP listener.
pub async fn http_request(
    server: &TestServer,
    secure: bool,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> anyhow::Result<HttpReply> {
    http_request_from(server, None, secure, method, path, headers, body).await
}

/// [`http_request`] from a chosen loopback source address (`None`: the system's choice), as
/// a client elsewhere on the network would come.
pub async fn http_request_from(
    server: &TestServer,
    source: Option<IpAddr>,
    secure: bool,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> anyhow::Result<HttpReply> {
    let addr = if secure { server.https } else { server.http.context("the test server has no plain HTTP listener")? };
    let mut request = hyper::Request::builder().method(method).uri(path).header("host", format!("localhost:{}", addr.port()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(body)))?;
    let tcp = crate::connect_from(addr, source).await?;
    let fut = async { if secure { exchange(server.tls_connect(tcp).await?, request).await } else { exchange(tcp, request).await } };
    tokio::time::timeout(WAIT * 7, fut).await.context("HTTP request timed out")?
}

/// Sends one request over HTTPS to `addr` (any of the server's TLS listeners, e.g. the REST
/// one), trusting the server's certificate, from `source` (`None`: the system's choice). The
/// server may run in this process or be a `herald` process ([`crate::Endpoint`]).
pub async fn https_request_to(
    server: &impl AsRef<crate::Endpoint>,
    addr: SocketAddr,
    source: Option<IpAddr>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> anyhow::Result<HttpReply> {
    let mut request = hyper::Request::builder().method(method).uri(path).header("host", format!("localhost:{}", addr.port()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(body)))?;
    let fut = async {
        let tcp = crate::connect_from(addr, source).await?;
        exchange(server.as_ref().tls_connect(tcp).await?, request).await
    };
    tokio::time::timeout(WAIT, fut).await.with_context(|| format!("HTTPS {method} {path} to {addr} timed out"))?
}

/// Reads one HTTP/1.1 response (head and `content-length` body) from a raw connection; `got`
/// keeps what was read beyond it (a pipelined response) for the next call.
pub async fn read_http_response<S: tokio::io::AsyncRead + Unpin>(conn: &mut S, got: &mut Vec<u8>) -> anyhow::Result<String> {
    use tokio::io::AsyncReadExt;
    loop {
        let text = String::from_utf8_lossy(got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>()))
                .transpose()?
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                let response: Vec<u8> = got.drain(..end + 4 + length).collect();
                return Ok(String::from_utf8_lossy(&response).into_owned());
            }
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(WAIT, conn.read(&mut chunk)).await??;
        anyhow::ensure!(n > 0, "connection closed after {:?}", String::from_utf8_lossy(got));
        got.extend_from_slice(&chunk[..n]);
    }
}

fn between(s: &str, start: &str, end: &str) -> anyhow::Result<String> {
    let a = s.find(start).with_context(|| format!("{start} not in {s}"))? + start.len();
    let b = s[a..].find(end).with_context(|| format!("{end} not in {s}"))? + a;
    Ok(s[a..b].to_owned())
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn unb64(data: &str) -> anyhow::Result<String> {
    Ok(String::from_utf8(base64::engine::general_purpose::STANDARD.decode(data)?)?)
}

/// Where a [`BoshClient`] sends its requests.
enum BoshTarget<'a> {
    /// A server in this process (HTTPS or plain HTTP).
    Server(&'a TestServer),
    /// A `herald` process: its HTTPS listener at `https`, trusting the endpoint's certificate.
    Process { endpoint: crate::Endpoint, https: SocketAddr },
}

/// A BOSH client over real HTTP(S).
pub struct BoshClient<'a> {
    target: BoshTarget<'a>,
    secure: bool,
    /// The next rid to send.
    pub rid: u64,
    /// The session id, once created.
    pub sid: Option<String>,
    /// The full JID, once bound.
    pub jid: Option<String>,
    /// The `wait` asked for at creation (the desktop asks 30).
    pub wait: u32,
    /// The `hold` asked for at creation (the desktop asks 1; 0 makes a polling session).
    pub hold: u32,
    /// The loopback address requests come from (`None`: the system's choice).
    pub source: Option<IpAddr>,
}

impl<'a> BoshClient<'a> {
    /// A client for `server` over HTTPS (`secure`) or plain HTTP; the first rid is random.
    pub fn new(server: &'a TestServer, secure: bool) -> Self {
        Self::with_target(BoshTarget::Server(server), secure)
    }

    /// A client over HTTPS for a server running as a process (`herald serve`), whose HTTPS
    /// listener is `https` and which `endpoint` names.
    pub fn to_process(endpoint: crate::Endpoint, https: SocketAddr) -> BoshClient<'static> {
        BoshClient::with_target(BoshTarget::Process { endpoint, https }, true)
    }

    fn with_target(target: BoshTarget<'a>, secure: bool) -> Self {
        Self { target, secure, rid: 1_000_000 + u64::from(rand_u16()), sid: None, jid: None, wait: 30, hold: 1, source: None }
    }

    /// The XMPP domain of the server it talks to.
    fn domain(&self) -> &str {
        match &self.target {
            BoshTarget::Server(server) => &server.domain,
            BoshTarget::Process { endpoint, .. } => &endpoint.domain,
        }
    }

    /// Posts a raw document to `/http-bind/`.
    pub async fn post_raw(&self, body: impl Into<Vec<u8>>) -> anyhow::Result<HttpReply> {
        let headers = [("content-type", "text/xml; charset=utf-8")];
        match &self.target {
            BoshTarget::Server(server) => {
                http_request_from(server, self.source, self.secure, "POST", "/http-bind/", &headers, body.into()).await
            }
            BoshTarget::Process { endpoint, https } => {
                https_request_to(endpoint, *https, self.source, "POST", "/http-bind/", &headers, body.into()).await
            }
        }
    }

    /// Creates the session with [`BoshClient::wait`] and [`BoshClient::hold`] and extra attributes.
    pub async fn create(&mut self, extra: &str) -> anyhow::Result<HttpReply> {
        self.create_with_wait(self.wait, extra).await
    }

    /// Creates the session asking for `wait` seconds.
    pub async fn create_with_wait(&mut self, wait: u32, extra: &str) -> anyhow::Result<HttpReply> {
        let body = format!(
            "<body xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh' rid='{}' to='{}' xml:lang='en' hold='{}' ver='1.9' wait='{wait}' xmpp:version='1.0' {extra}/>",
            self.rid,
            self.domain(),
            self.hold
        );
        self.rid += 1;
        let reply = self.post_raw(body).await?;
        self.sid = Some(between(&reply.body, "sid='", "'")?);
        Ok(reply)
    }

    /// Sends `payload` in the next request with extra body attributes; returns the answer.
    pub async fn send_with(&mut self, attrs: &str, payload: &str) -> anyhow::Result<HttpReply> {
        let body = self.next_body(attrs, payload)?;
        self.post_raw(body).await
    }

    /// Builds the next request body (and consumes its rid) without sending it, for tests that
    /// need concurrent or reordered requests.
    pub fn next_body(&mut self, attrs: &str, payload: &str) -> anyhow::Result<String> {
        let sid = self.sid.clone().context("no session")?;
        let body = format!("<body xmlns='http://jabber.org/protocol/httpbind' rid='{}' sid='{sid}' {attrs}>{payload}</body>", self.rid);
        self.rid += 1;
        Ok(body)
    }

    /// Sends `payload` in the next request.
    pub async fn send(&mut self, payload: &str) -> anyhow::Result<HttpReply> {
        self.send_with("", payload).await
    }

    /// Creates a session and logs in with SCRAM-SHA-256, restart and bind, the way a desktop does.
    pub async fn login(&mut self, user: &str, password: &str, resource: &str) -> anyhow::Result<()> {
        let created = self.create("").await?;
        if !created.body.contains("SCRAM-SHA-256") {
            bail!("no SCRAM-SHA-256 offered: {}", created.body);
        }
        let mut scram = ScramClient::new(HashAlg::Sha256, user, password, &rand_u16().to_be_bytes());
        let reply = self
            .send(&format!(
                "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>{}</auth>",
                b64(scram.client_first().as_bytes())
            ))
            .await?;
        let challenge = unb64(&between(&reply.body, "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>", "</challenge>")?)?;
        let fin = scram.client_final(&challenge)?;
        let reply = self.send(&format!("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>", b64(fin.as_bytes()))).await?;
        let verifier = unb64(&between(&reply.body, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>", "</success>")?)?;
        scram.verify_server_final(&verifier)?;
        let reply = self.send_with(&format!("xmlns:xmpp='urn:xmpp:xbosh' xmpp:restart='true' to='{}'", self.domain()), "").await?;
        if !reply.body.contains("urn:ietf:params:xml:ns:xmpp-bind") {
            bail!("no bind feature after restart: {}", reply.body);
        }
        let reply = self
            .send(&format!("<iq xmlns='jabber:client' type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"))
            .await?;
        self.jid = Some(between(&reply.body, "<jid>", "</jid>")?);
        Ok(())
    }
}

fn rand_u16() -> u16 {
    // Test-only variety for rids and nonces; the server never relies on it.
    (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos()) % 60_000) as u16
}

type WsStream = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

/// An RFC 7395 client over `wss://`.
pub struct WsClient {
    ws: WsStream,
}

impl WsClient {
    /// Connects to `/ws/` offering the given subprotocol (`None`: none); returns the HTTP status
    /// on a refused upgrade.
    pub async fn connect(server: &TestServer, protocol: Option<&str>) -> anyhow::Result<Result<Self, u16>> {
        Self::connect_from(server, protocol, None).await
    }

    /// [`WsClient::connect`] from the local address `source` (see [`crate::connect_from`]).
    pub async fn connect_from(
        server: &TestServer,
        protocol: Option<&str>,
        source: Option<std::net::IpAddr>,
    ) -> anyhow::Result<Result<Self, u16>> {
        let tcp = crate::connect_from(server.https, source).await?;
        let tls = server.tls_connect(tcp).await?;
        let mut request = format!("wss://localhost:{}/ws/", server.https.port()).into_client_request()?;
        if let Some(p) = protocol {
            request.headers_mut().insert("sec-websocket-protocol", p.parse()?);
        }
        match tokio_tungstenite::client_async(request, tls).await {
            Ok((ws, response)) => {
                if protocol.is_some() && response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()) != Some("xmpp") {
                    bail!("server did not select the xmpp subprotocol");
                }
                Ok(Ok(Self { ws }))
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Ok(Err(response.status().as_u16())),
            Err(err) => Err(err.into()),
        }
    }

    /// Sends one text message.
    pub async fn send(&mut self, text: &str) -> anyhow::Result<()> {
        self.ws.send(Message::Text(text.into())).await?;
        Ok(())
    }

    /// The next text message; `None` when the connection closed.
    pub async fn recv(&mut self) -> anyhow::Result<Option<String>> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await.context("no WebSocket message in time")? {
                Some(Ok(Message::Text(t))) => return Ok(Some(t.to_string())),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(None),
                Some(Ok(_)) => {}
            }
        }
    }

    /// Waits for the server's next WebSocket ping (text messages meanwhile are discarded).
    pub async fn next_ping(&mut self) -> anyhow::Result<()> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await.context("no ping in time")? {
                Some(Ok(Message::Ping(_))) => return Ok(()),
                Some(Ok(_)) => {}
                _ => bail!("connection closed while waiting for a ping"),
            }
        }
    }

    /// Receives until a message contains `needle`.
    pub async fn recv_until(&mut self, needle: &str) -> anyhow::Result<String> {
        loop {
            match self.recv().await? {
                Some(m) if m.contains(needle) => return Ok(m),
                Some(_) => {}
                None => bail!("connection closed while waiting for {needle}"),
            }
        }
    }

    /// Opens the stream and logs in with SCRAM-SHA-256, restart and bind.
    pub async fn login(&mut self, domain: &str, user: &str, password: &str, resource: &str) -> anyhow::Result<String> {
        let open = format!("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{domain}' version='1.0'/>");
        self.send(&open).await?;
        self.recv_until("<open").await?;
        self.recv_until("SCRAM-SHA-256").await?;
        let mut scram = ScramClient::new(HashAlg::Sha256, user, password, &rand_u16().to_be_bytes());
        self.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>{}</auth>",
            b64(scram.client_first().as_bytes())
        ))
        .await?;
        let challenge = self.recv_until("<challenge").await?;
        let fin = scram.client_final(&unb64(&between(&challenge, "'>", "</challenge>")?)?)?;
        self.send(&format!("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>", b64(fin.as_bytes()))).await?;
        self.recv_until("<success").await?;
        self.send(&open).await?;
        self.recv_until("urn:ietf:params:xml:ns:xmpp-bind").await?;
        self.send(&format!("<iq xmlns='jabber:client' type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>")).await?;
        between(&self.recv_until("<jid>").await?, "<jid>", "</jid>")
    }
}
