//! The desktops' REST side: `PUT /finesse/api/User/<id>` over a bounded pool of keep-alive
//! HTTP/1.1 connections to the API listener, HTTPS trusting the run's CA (plain HTTP when none
//! is given), HTTP Basic with the agent's own credentials and a `requestId` header, as a
//! desktop's JavaScript library sends them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::{LoadError, Options};

/// Longest a REST request may take, connection included.
const REQUEST_LIMIT: Duration = Duration::from_secs(30);

/// The state an agent is asked to enter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum UserChange {
    /// Sign in on `extension`.
    Login {
        /// The agent's extension.
        extension: String,
    },
    /// READY.
    Ready,
    /// NOT_READY with a reason code (`None`: without one).
    NotReady {
        /// The ReasonCode's id.
        reason_code_id: Option<u32>,
    },
}

impl UserChange {
    /// The request body (finesse-domain.md §1.3).
    pub(crate) fn body(&self) -> String {
        match self {
            UserChange::Login { extension } => {
                format!("<User><state>LOGIN</state><extension>{}</extension></User>", escape(extension))
            }
            UserChange::Ready => "<User><state>READY</state></User>".into(),
            UserChange::NotReady { reason_code_id: Some(id) } => {
                format!("<User><state>NOT_READY</state><reasonCodeId>{id}</reasonCodeId></User>")
            }
            UserChange::NotReady { reason_code_id: None } => "<User><state>NOT_READY</state></User>".into(),
        }
    }
}

/// Escapes text for an XML element's content.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `Basic base64(login:password)`.
pub(crate) fn basic_auth(login: &str, password: &str) -> String {
    format!("Basic {}", B64.encode(format!("{login}:{password}")))
}

/// A bounded pool of keep-alive connections to the API listener.
pub(crate) struct RestPool {
    opts: Arc<Options>,
    port: u16,
    tls: Option<tokio_rustls::TlsConnector>,
    idle: std::sync::Mutex<Vec<SendRequest<Full<Bytes>>>>,
    slots: Semaphore,
    opened: AtomicUsize,
}

/// One connection taken from the pool, ready to send; it goes back to the pool after an
/// answer read in full, and is closed otherwise.
pub(crate) struct RestConnection<'a> {
    pool: &'a RestPool,
    sender: SendRequest<Full<Bytes>>,
    _slot: SemaphorePermit<'a>,
}

impl RestPool {
    /// At most `connections` connections to `opts.host:port`, TLS through `tls` when given.
    pub(crate) fn new(opts: Arc<Options>, port: u16, tls: Option<tokio_rustls::TlsConnector>, connections: usize) -> Self {
        Self { opts, port, tls, idle: std::sync::Mutex::default(), slots: Semaphore::new(connections.max(1)), opened: AtomicUsize::new(0) }
    }

    /// Connections opened so far (reconnections included).
    pub(crate) fn opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }

    /// Waits for a free slot and returns a connection ready for a request: an idle one, or a
    /// new one.
    pub(crate) async fn acquire(&self) -> Result<RestConnection<'_>, LoadError> {
        let slot = self.slots.acquire().await.map_err(|_| LoadError::Protocol("the REST pool is closed".into()))?;
        loop {
            let Some(mut sender) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() else { break };
            if sender.ready().await.is_ok() {
                return Ok(RestConnection { pool: self, sender, _slot: slot });
            }
        }
        let sender = tokio::time::timeout(REQUEST_LIMIT, self.connect()).await.map_err(|_| LoadError::Timeout("REST connection"))??;
        Ok(RestConnection { pool: self, sender, _slot: slot })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, LoadError> {
        let n = self.opened.fetch_add(1, Ordering::Relaxed);
        // Spread over source addresses after the desktops' own connections.
        let stream = self.opts.connect(self.opts.sessions + 1 + n, self.port).await?;
        let failed = |e: hyper::Error| LoadError::Protocol(e.to_string());
        let sender = match &self.tls {
            Some(tls) => {
                let name =
                    rustls::pki_types::ServerName::try_from(self.opts.domain.clone()).map_err(|e| LoadError::Config(e.to_string()))?;
                let stream = tls.connect(name, stream).await?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(failed)?;
                tokio::spawn(async move { drop(conn.await) });
                sender
            }
            None => {
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(failed)?;
                tokio::spawn(async move { drop(conn.await) });
                sender
            }
        };
        Ok(sender)
    }
}

impl RestConnection<'_> {
    /// `PUT /finesse/api/User/<login>` with `change`, as `login`, carrying `request_id`; the
    /// HTTP status.
    pub(crate) async fn put_user(mut self, login: &str, password: &str, change: &UserChange, request_id: &str) -> Result<u16, LoadError> {
        let request = hyper::Request::put(format!("/finesse/api/User/{login}"))
            .header("host", format!("{}:{}", self.pool.opts.domain, self.pool.port))
            .header("authorization", basic_auth(login, password))
            .header("content-type", "application/xml")
            .header("requestId", request_id)
            .body(Full::new(Bytes::from(change.body())))
            .map_err(|e| LoadError::Protocol(e.to_string()))?;
        let exchange = async {
            let response = self.sender.send_request(request).await.map_err(|e| LoadError::Protocol(e.to_string()))?;
            let status = response.status().as_u16();
            response.into_body().collect().await.map_err(|e| LoadError::Protocol(e.to_string()))?;
            Ok::<_, LoadError>(status)
        };
        let status = tokio::time::timeout(REQUEST_LIMIT, exchange).await.map_err(|_| LoadError::Timeout("REST request"))??;
        self.pool.idle.lock().unwrap_or_else(|e| e.into_inner()).push(self.sender);
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_the_finesse_user_api() {
        assert_eq!(
            UserChange::Login { extension: "agent7".into() }.body(),
            "<User><state>LOGIN</state><extension>agent7</extension></User>"
        );
        assert_eq!(UserChange::Ready.body(), "<User><state>READY</state></User>");
        assert_eq!(
            UserChange::NotReady { reason_code_id: Some(16) }.body(),
            "<User><state>NOT_READY</state><reasonCodeId>16</reasonCodeId></User>"
        );
        assert_eq!(UserChange::NotReady { reason_code_id: None }.body(), "<User><state>NOT_READY</state></User>");
        assert_eq!(
            UserChange::Login { extension: "a<&>".into() }.body(),
            "<User><state>LOGIN</state><extension>a&lt;&amp;&gt;</extension></User>"
        );
    }

    /// A plain HTTP/1.1 server on loopback answering every request with `status`, counting the
    /// connections it accepted and handing each request's method, path and headers out.
    async fn server(
        status: u16,
    ) -> (u16, Arc<AtomicUsize>, tokio::sync::mpsc::UnboundedReceiver<(String, String, hyper::HeaderMap, String)>) {
        use hyper::service::service_fn;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (seen_tx, seen) = tokio::sync::mpsc::unbounded_channel();
        let counted = accepted.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                counted.fetch_add(1, Ordering::Relaxed);
                let seen_tx = seen_tx.clone();
                tokio::spawn(async move {
                    let answer = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let seen_tx = seen_tx.clone();
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = String::from_utf8_lossy(&body.collect().await?.to_bytes()).into_owned();
                            let _ = seen_tx.send((parts.method.to_string(), parts.uri.to_string(), parts.headers, body));
                            let mut response = hyper::Response::new(http_body_util::Empty::<Bytes>::new());
                            *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            Ok::<_, hyper::Error>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), answer).await;
                });
            }
        });
        (port, accepted, seen)
    }

    #[tokio::test]
    async fn puts_carry_the_finesse_headers_and_reuse_the_connection() {
        let (port, accepted, mut seen) = server(202).await;
        let opts = Arc::new(Options { password: "pw".into(), ..Options::default() });
        let pool = RestPool::new(opts, port, None, 4);
        for n in 0..3 {
            let status = pool.acquire().await.unwrap().put_user("agent1", "pw", &UserChange::Ready, &format!("r-{n}")).await.unwrap();
            assert_eq!(status, 202);
        }
        assert_eq!(pool.opened(), 1, "one keep-alive connection served the three requests");
        assert_eq!(accepted.load(Ordering::Relaxed), 1);
        let (method, path, headers, body) = seen.recv().await.unwrap();
        assert_eq!((method.as_str(), path.as_str()), ("PUT", "/finesse/api/User/agent1"));
        assert_eq!(headers["requestid"], "r-0");
        assert_eq!(headers["content-type"], "application/xml");
        assert_eq!(headers["authorization"], basic_auth("agent1", "pw").as_str());
        assert_eq!(body, "<User><state>READY</state></User>");
    }

    #[tokio::test]
    async fn the_status_is_returned_and_the_pool_is_bounded() {
        let (port, _, _seen) = server(401).await;
        let pool = RestPool::new(Arc::new(Options::default()), port, None, 1);
        let first = pool.acquire().await.unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(100), pool.acquire()).await;
        assert!(waiting.is_err(), "a pool of one has no second connection while the first is out");
        assert_eq!(first.put_user("agent1", "bad", &UserChange::Ready, "r").await.unwrap(), 401);
        assert!(tokio::time::timeout(Duration::from_secs(5), pool.acquire()).await.is_ok());
    }

    #[tokio::test]
    async fn an_unreachable_api_is_an_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let pool = RestPool::new(Arc::new(Options::default()), port, None, 1);
        assert!(matches!(pool.acquire().await, Err(LoadError::Io(_))));
    }

    #[test]
    fn basic_credentials_are_base64_of_login_and_password() {
        assert_eq!(basic_auth("1001", "herald-demo"), "Basic MTAwMTpoZXJhbGQtZGVtbw==");
    }
}
