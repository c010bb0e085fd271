//! The BOSH side of a simulated desktop: one HTTP/1.1 connection per session (from a spread of
//! loopback source addresses), requests in rid order, long polls held by the server.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use herald_xml::{Element, Limits, parse_document};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use crate::xmpp::XmppIo;
use crate::{LoadError, Options};

const NS_HTTPBIND: &str = "http://jabber.org/protocol/httpbind";

/// One BOSH session.
pub(crate) struct BoshClient {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
    path: String,
    domain: String,
    sid: Option<String>,
    rid: u64,
    wait: u32,
    pending: VecDeque<Element>,
    /// Payload for the next request.
    outgoing: String,
    /// The task driving the HTTP connection: aborted when the client goes, so that a dropped
    /// client closes its connection at once, as a killed desktop's does, even with a long poll
    /// in flight.
    conn: tokio::task::JoinHandle<()>,
}

impl Drop for BoshClient {
    fn drop(&mut self) {
        self.conn.abort();
    }
}

impl BoshClient {
    /// Opens the HTTP connection for session number `n`: HTTPS when `tls` is given.
    pub(crate) async fn connect(opts: &Options, n: usize, tls: Option<&tokio_rustls::TlsConnector>) -> Result<Self, LoadError> {
        let stream = opts.connect(n, opts.http_port).await?;
        let handshake_failed = |e: hyper::Error| LoadError::Protocol(e.to_string());
        let (sender, conn) = match tls {
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(opts.domain.clone()).map_err(|e| LoadError::Config(e.to_string()))?;
                let stream = tls.connect(name, stream).await?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(handshake_failed)?;
                (sender, tokio::spawn(async move { drop(conn.await) }))
            }
            None => {
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(handshake_failed)?;
                (sender, tokio::spawn(async move { drop(conn.await) }))
            }
        };
        Ok(Self {
            sender,
            host: format!("{}:{}", opts.host, opts.http_port),
            path: opts.bosh_path.clone(),
            domain: opts.domain.clone(),
            sid: None,
            rid: 1_000_000 + u64::from(rand::random::<u32>() >> 4),
            wait: opts.wait,
            pending: VecDeque::new(),
            outgoing: String::new(),
            conn,
        })
    }

    /// Sends one request and collects its answer's bytes.
    async fn exchange(&mut self, body: String) -> Result<Bytes, LoadError> {
        let request = hyper::Request::post(&self.path)
            .header("host", &self.host)
            .header("content-type", "text/xml; charset=utf-8")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| LoadError::Protocol(e.to_string()))?;
        let limit = Duration::from_secs(u64::from(self.wait) + 30);
        let response = tokio::time::timeout(limit, self.sender.send_request(request))
            .await
            .map_err(|_| LoadError::Timeout("BOSH request"))?
            .map_err(|e| LoadError::Protocol(e.to_string()))?;
        if !response.status().is_success() {
            return Err(LoadError::Protocol(format!("HTTP {}", response.status())));
        }
        Ok(response.into_body().collect().await.map_err(|e| LoadError::Protocol(e.to_string()))?.to_bytes())
    }

    async fn post(&mut self, body: String) -> Result<Element, LoadError> {
        let bytes = self.exchange(body).await?;
        let body = parse_document(&bytes, Limits { max_stanza_bytes: 4 << 20, ..Limits::default() })
            .map_err(|e| LoadError::Protocol(e.to_string()))?;
        if body.attr("type") == Some("terminate") {
            return Err(LoadError::Protocol(format!("session terminated: {}", body.attr("condition").unwrap_or("no condition"))));
        }
        Ok(body)
    }

    fn wrap(&mut self, attrs: &str, payload: &str) -> String {
        let rid = self.rid;
        self.rid += 1;
        let sid = self.sid.as_deref().map(|s| format!(" sid='{s}'")).unwrap_or_default();
        format!("<body xmlns='{NS_HTTPBIND}' rid='{rid}'{sid} {attrs}>{payload}</body>")
    }

    /// Creates the session (features arrive with it).
    pub(crate) async fn create(&mut self) -> Result<(), LoadError> {
        let attrs = format!(
            "xmlns:xmpp='urn:xmpp:xbosh' to='{}' xml:lang='en' hold='1' ver='1.6' wait='{}' xmpp:version='1.0'",
            self.domain, self.wait
        );
        let body = self.wrap(&attrs, "");
        let answer = self.post(body).await?;
        self.sid = Some(answer.attr("sid").ok_or_else(|| LoadError::Protocol("no sid in the creation response".into()))?.to_owned());
        self.stash(answer);
        Ok(())
    }

    fn stash(&mut self, body: Element) {
        self.pending.extend(body.elements().cloned());
    }

    /// Elements received during the login that nobody has read yet.
    pub(crate) fn take_pending(&mut self) -> Vec<Element> {
        self.pending.drain(..).collect()
    }

    /// POSTs an empty body and checks only the status: the raw HTTP baseline's request.
    pub(crate) async fn post_unparsed(&mut self) -> Result<(), LoadError> {
        if self.sid.is_none() {
            self.sid = Some(format!("{:032x}", rand::random::<u128>()));
        }
        let body = self.wrap("", "");
        self.exchange(body).await.map(drop)
    }

    /// Ends the session cleanly (XEP-0124 §12: a `terminate` body with unavailable presence)
    /// and waits for the server's answer.
    pub(crate) async fn terminate(mut self) -> Result<(), LoadError> {
        let payload = std::mem::take(&mut self.outgoing) + "<presence xmlns='jabber:client' type='unavailable'/>";
        let body = self.wrap("type='terminate'", &payload);
        self.exchange(body).await.map(drop)
    }

    /// One long poll: returns when the server answers (data, or empty after `wait`).
    pub(crate) async fn poll(&mut self) -> Result<Vec<Element>, LoadError> {
        let payload = std::mem::take(&mut self.outgoing);
        let body = self.wrap("", &payload);
        let answer = self.post(body).await?;
        Ok(answer.elements().cloned().collect())
    }
}

impl XmppIo for BoshClient {
    async fn send(&mut self, xml: &str) -> Result<(), LoadError> {
        let body = self.wrap("", xml);
        let answer = self.post(body).await?;
        self.stash(answer);
        Ok(())
    }

    async fn next(&mut self) -> Result<Element, LoadError> {
        loop {
            if let Some(el) = self.pending.pop_front() {
                return Ok(el);
            }
            let answer = self.poll().await?;
            self.pending.extend(answer);
        }
    }

    async fn send_soon(&mut self, xml: &str) -> Result<(), LoadError> {
        self.outgoing.push_str(xml);
        Ok(())
    }

    async fn restart(&mut self) -> Result<(), LoadError> {
        let attrs = format!("xmlns:xmpp='urn:xmpp:xbosh' xmpp:restart='true' to='{}' xml:lang='en'", self.domain);
        let body = self.wrap(&attrs, "");
        let answer = self.post(body).await?;
        self.stash(answer);
        Ok(())
    }
}
