//! Test support: a whole Herald server in-process on `127.0.0.1:0` with its own temporary data
//! directory and SQLite database ([`TestServer`]), and a scripted raw XMPP client that does
//! STARTTLS (trusting the server's generated certificate, nothing else) and PLAIN, so tests can
//! send exactly the bytes they mean, good or bad; a BOSH client over real HTTP(S) and a WebSocket
//! client, both authenticating with SCRAM-SHA-256.

pub mod cc;
pub mod desk;
mod http;

pub use cc::{Auth, DEMO_PASSWORD, Update, updates};
pub use http::{BoshClient, HttpReply, WsClient, http_request, http_request_from, https_request_to, read_http_response};

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use herald::{Config, Listeners};
use herald_store::AnyStore;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Turns the admin API on, on an ephemeral loopback port (the server's configuration then names
/// the port actually bound, so `herald ctl` code finds it): pass to [`TestServer::start_with`].
pub fn enable_admin(config: &mut Config) {
    config.listen.admin = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
}

/// Where a Herald listens and which certificate it presents: enough for a client to connect,
/// whether the server runs in this process ([`TestServer`]) or as a separate `herald` process.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The c2s address.
    pub c2s: SocketAddr,
    /// The XMPP domain.
    pub domain: String,
    /// The server's certificate, the only one clients trust.
    pub cert: PathBuf,
}

impl Endpoint {
    /// Wraps `tcp` in TLS, trusting only the server's certificate.
    pub async fn tls_connect(&self, tcp: TcpStream) -> anyhow::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_file_iter(&self.cert)? {
            roots.add(cert?)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
        Ok(connector.connect(rustls::pki_types::ServerName::try_from("localhost")?, tcp).await?)
    }
}

impl AsRef<Endpoint> for Endpoint {
    fn as_ref(&self) -> &Endpoint {
        self
    }
}

impl AsRef<Endpoint> for TestServer {
    fn as_ref(&self) -> &Endpoint {
        &self.endpoint
    }
}

/// A running server. Dropping it without [`TestServer::stop`] aborts it.
pub struct TestServer {
    /// How clients reach it.
    pub endpoint: Endpoint,
    /// The c2s address.
    pub c2s: SocketAddr,
    /// The HTTPS address (BOSH, WebSocket).
    pub https: SocketAddr,
    /// The plain HTTP address, when the configuration enabled it.
    pub http: Option<SocketAddr>,
    /// The Finesse REST (HTTPS) address, when the configuration enabled it ([`TestServer::start_cc`]).
    pub api: Option<SocketAddr>,
    /// The admin API (plain HTTP) address, when a test turned it on ([`enable_admin`]).
    pub admin: Option<SocketAddr>,
    /// The XMPP domain (`localhost`, which the generated certificate names).
    pub domain: String,
    /// The data directory (certificate, database, logs).
    pub data_dir: tempfile::TempDir,
    /// The store the server uses.
    pub store: AnyStore,
    config: Config,
    cert: PathBuf,
    stop: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    status: herald::Status,
}

impl TestServer {
    /// Starts a server with the default configuration.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `adjust` has changed the configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        Self::start_in(data_dir, adjust).await
    }

    /// Starts a server after `adjust` has changed the configuration, with `events` subscribed to
    /// the core's events through the server's own wiring.
    pub async fn start_with_events(events: herald::Subscribers, adjust: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        Self::start_observed(tempfile::tempdir()?, events, adjust).await
    }

    /// Starts a server on an existing data directory (to test what survives a restart).
    pub async fn start_in(data_dir: tempfile::TempDir, adjust: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        Self::start_observed(data_dir, herald::Subscribers::default(), adjust).await
    }

    async fn start_observed(
        data_dir: tempfile::TempDir,
        events: herald::Subscribers,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let mut config = Config { domain: "localhost".into(), data_dir: data_dir.path().to_owned(), ..Config::default() };
        config.listen.c2s = "127.0.0.1:0".parse()?;
        config.listen.https = "127.0.0.1:0".parse()?;
        // The REST listener only when a test asks for it (`cc::enable_cc`): never the default port.
        config.listen.api = None;
        config.listen.admin = None;
        adjust(&mut config);
        let listeners = Listeners::bind(&config).await?;
        let c2s = listeners.c2s.local_addr()?;
        let https = listeners.https.local_addr()?;
        let http = listeners.http.as_ref().map(|l| l.local_addr()).transpose()?;
        let api = listeners.api.as_ref().map(|l| l.local_addr()).transpose()?;
        let admin = listeners.admin.as_ref().map(|l| l.local_addr()).transpose()?;
        // `herald ctl` reads the address from the configuration: the one actually bound.
        config.listen.admin = admin;
        // Load (or generate) the certificate now so clients can trust it before connecting.
        let configured = config.tls.cert.clone().zip(config.tls.key.clone()).map(|(cert, key)| herald_net::TlsFiles { cert, key });
        let (_, files) = herald_net::load_or_generate(configured, &config.data_dir, &config.domain)?;
        let store = herald::open_store(&config).await?;
        let (stop, stopped) = oneshot::channel::<()>();
        let status = herald::Status::default();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(herald::run_with_status(
            listeners,
            config.clone(),
            store.clone(),
            shutdown,
            status.clone(),
            events,
            herald::detached_log_control(&config),
        ));
        let endpoint = Endpoint { c2s, domain: config.domain.clone(), cert: files.cert.clone() };
        Ok(Self {
            endpoint,
            c2s,
            https,
            http,
            api,
            admin,
            domain: config.domain.clone(),
            data_dir,
            store,
            config,
            cert: files.cert,
            stop: std::sync::Mutex::new(Some(stop)),
            task: Some(task),
            status,
        })
    }

    /// Creates an account.
    pub async fn add_user(&self, login_id: &str, password: &str) -> anyhow::Result<()> {
        herald::users::add(&self.store, &self.domain, login_id, password).await.map(|_| ())
    }

    /// The server's certificate, to trust in clients.
    pub fn cert_path(&self) -> PathBuf {
        self.cert.clone()
    }

    /// Wraps `tcp` in TLS, trusting only the server's certificate.
    pub async fn tls_connect(&self, tcp: TcpStream) -> anyhow::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        self.endpoint.tls_connect(tcp).await
    }

    /// What the server holds live (bound and BOSH sessions).
    pub fn status(&self) -> &herald::Status {
        &self.status
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Starts stopping the server, as SIGTERM does, without waiting.
    pub fn begin_stop(&self) {
        if let Some(stop) = self.stop.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = stop.send(());
        }
    }

    /// Stops the server the way SIGTERM does and waits for it; returns the data directory.
    pub async fn stop(mut self) -> anyhow::Result<tempfile::TempDir> {
        self.begin_stop();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), task).await.context("server did not stop")???;
        }
        let dir = tempfile::tempdir()?;
        Ok(std::mem::replace(&mut self.data_dir, dir))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    Gone,
}

impl Conn {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf).await,
            Self::Tls(s) => s.read(buf).await,
            Self::Gone => Ok(0),
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Plain(s) => write_flush(s, data).await,
            Self::Tls(s) => write_flush(s, data).await,
            Self::Gone => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }
}

async fn write_flush<S: AsyncWrite + Unpin>(s: &mut S, data: &[u8]) -> std::io::Result<()> {
    s.write_all(data).await?;
    s.flush().await
}

/// The resident memory of this process, KiB: the test server runs in it, so this is what the
/// memory-bound tests assert on (with a generous margin: the clients live here too).
pub fn rss_kib() -> u64 {
    herald_load::sample(std::process::id()).map_or(0, |s| s.rss_kib)
}

/// Connects to `addr` from the loopback address `source` (`None`: the system's choice), so a
/// test can be several clients on several machines: the server's per-address limits treat
/// 127.0.0.2 as another host than 127.0.0.1.
pub async fn connect_from(addr: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let Some(source) = source else { return TcpStream::connect(addr).await };
    let socket = if source.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(addr).await
}

/// A raw XMPP client: it sends what it is told and reads what comes back.
pub struct RawClient {
    io: Conn,
    /// Everything received and not yet consumed by [`RawClient::read_until`].
    pub buffer: String,
}

/// How long a test waits for an expected answer before failing.
pub const WAIT: Duration = Duration::from_secs(10);

impl RawClient {
    /// Opens a plain TCP connection (nothing sent yet).
    pub async fn connect(server: &impl AsRef<Endpoint>) -> anyhow::Result<Self> {
        Self::connect_from(server, None).await
    }

    /// Opens a plain TCP connection from `source` (see [`connect_from`]).
    pub async fn connect_from(server: &impl AsRef<Endpoint>, source: Option<IpAddr>) -> anyhow::Result<Self> {
        Ok(Self { io: Conn::Plain(connect_from(server.as_ref().c2s, source).await?), buffer: String::new() })
    }

    /// The stream header a client sends.
    pub fn header(domain: &str) -> String {
        format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{domain}' version='1.0'>"
        )
    }

    /// Connects, negotiates STARTTLS and opens the encrypted stream (features read).
    pub async fn connect_tls(server: &impl AsRef<Endpoint>) -> anyhow::Result<Self> {
        Self::connect_tls_from(server, None).await
    }

    /// [`RawClient::connect_tls`] from `source` (see [`connect_from`]).
    pub async fn connect_tls_from(server: &impl AsRef<Endpoint>, source: Option<IpAddr>) -> anyhow::Result<Self> {
        let server = server.as_ref();
        let mut client = Self::connect_from(server, source).await?;
        client.send(&Self::header(&server.domain)).await?;
        client.read_until("</stream:features>").await?;
        client.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").await?;
        client.read_until("<proceed").await?;
        let Conn::Plain(tcp) = std::mem::replace(&mut client.io, Conn::Gone) else { bail!("already encrypted") };
        client.io = Conn::Tls(Box::new(server.tls_connect(tcp).await?));
        client.buffer.clear();
        client.send(&Self::header(&server.domain)).await?;
        client.read_until("</stream:features>").await?;
        Ok(client)
    }

    /// Connects with TLS and authenticates with PLAIN; returns the SASL outcome text.
    pub async fn authenticate(server: &impl AsRef<Endpoint>, user: &str, password: &str) -> anyhow::Result<(Self, String)> {
        Self::authenticate_from(server, None, user, password).await
    }

    /// [`RawClient::authenticate`] from `source` (see [`connect_from`]).
    pub async fn authenticate_from(
        server: &impl AsRef<Endpoint>,
        source: Option<IpAddr>,
        user: &str,
        password: &str,
    ) -> anyhow::Result<(Self, String)> {
        let mut client = Self::connect_tls_from(server, source).await?;
        let outcome = client.plain(user, password).await?;
        Ok((client, outcome))
    }

    /// Sends a PLAIN `<auth/>` on an open stream; returns the outcome text (a failed attempt
    /// leaves the stream open for another).
    pub async fn plain(&mut self, user: &str, password: &str) -> anyhow::Result<String> {
        let payload = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        self.send(&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>")).await?;
        self.read_until_any(&["</success>", "<success", "</failure>"]).await
    }

    /// Authenticates, restarts the stream, binds `resource` and sends initial presence.
    pub async fn login(server: &impl AsRef<Endpoint>, user: &str, password: &str, resource: &str) -> anyhow::Result<Self> {
        let server = server.as_ref();
        let (mut client, outcome) = Self::authenticate(server, user, password).await?;
        if !outcome.contains("<success") {
            bail!("login failed: {outcome}");
        }
        client.buffer.clear();
        client.send(&Self::header(&server.domain)).await?;
        client.read_until("</stream:features>").await?;
        client
            .send(&format!(
                "<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"
            ))
            .await?;
        client.read_until("</iq>").await?;
        Ok(client)
    }

    /// Sends raw bytes.
    pub async fn send(&mut self, data: &str) -> anyhow::Result<()> {
        self.send_bytes(data.as_bytes()).await
    }

    /// Sends raw bytes, which need not be UTF-8.
    pub async fn send_bytes(&mut self, data: &[u8]) -> anyhow::Result<()> {
        Ok(self.io.write_all(data).await?)
    }

    /// Reads until `needle` has arrived; returns everything up to and including it.
    pub async fn read_until(&mut self, needle: &str) -> anyhow::Result<String> {
        self.read_until_any(&[needle]).await
    }

    /// Reads until any of `needles` has arrived; returns everything up to and including it.
    pub async fn read_until_any(&mut self, needles: &[&str]) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some((pos, len)) = needles.iter().filter_map(|n| self.buffer.find(n).map(|p| (p, n.len()))).min() {
                let rest = self.buffer.split_off(pos + len);
                return Ok(std::mem::replace(&mut self.buffer, rest));
            }
            let mut chunk = [0u8; 8192];
            let n = tokio::time::timeout_at(deadline, self.io.read(&mut chunk))
                .await
                .with_context(|| format!("timed out waiting for {needles:?}; received so far: {}", self.buffer))??;
            if n == 0 {
                bail!("connection closed while waiting for {needles:?}; received: {}", self.buffer);
            }
            self.buffer.push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    }

    /// Reads for at most `wait`; returns whether anything arrived (it is appended to the buffer).
    pub async fn try_read(&mut self, wait: Duration) -> bool {
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout(wait, self.io.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                self.buffer.push_str(&String::from_utf8_lossy(&chunk[..n]));
                true
            }
            _ => false,
        }
    }

    /// Reads until the server closes the connection; returns everything received.
    pub async fn read_to_close(&mut self) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let mut chunk = [0u8; 8192];
            match tokio::time::timeout_at(deadline, self.io.read(&mut chunk)).await.context("the server did not close the connection")? {
                Ok(0) | Err(_) => return Ok(std::mem::take(&mut self.buffer)),
                Ok(n) => self.buffer.push_str(&String::from_utf8_lossy(&chunk[..n])),
            }
        }
    }
}
