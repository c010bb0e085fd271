//! The test bench: a real `Core` over a `MemoryStore` with agents whose passwords are stored as
//! SCRAM credentials, the real contact-center machine over a small directory, the service
//! started on it, and its router served over HTTPS on 127.0.0.1:0 by the shared plumbing; a
//! client that trusts the generated certificate.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use herald_api::{CcService, CtiHandle, ServiceConfig};
use herald_cc::directory::{QueueRecord, ReasonCategory, ReasonCodeRecord, Role, TeamRecord, UserRecord};
use herald_cc::{CcConfig, ContactCenter, Directory};
use herald_core::{Core, CoreConfig};
use herald_cti::CtiMachine;
use herald_net::http::{HttpSettings, NoFastPath, serve_http};
use herald_net::{Admission, AdmissionConfig, ShutdownTrigger};
use herald_pubsub::ItemQuery;
use herald_sasl::{Credentials, DecoySecret};
use herald_store::{AccountStore, AnyStore, MemoryStore};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

pub const DOMAIN: &str = "localhost";
pub const ORIGIN: &str = "https://desk.example";
pub const PASSWORD: &str = "herald-demo";

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// The directory: team 1 with agents 1001, 1002 and carol (extensions the same) and supervisor 2001,
/// queue `sales` served by team 1, a NOT_READY and a LOGOUT reason code.
pub fn directory() -> Directory {
    let mut dir = Directory::default();
    dir.put_team(TeamRecord { id: "1".into(), name: "Sales".into() });
    for id in ["1001", "1002", "carol"] {
        let mut user = UserRecord::agent(id);
        user.extension = Some(id.into());
        user.team_id = Some("1".into());
        user.first_name = "Agent".into();
        user.last_name = id.into();
        dir.put_user(user);
    }
    let mut sup = UserRecord::agent("2001");
    sup.role = Role::Supervisor;
    sup.team_id = Some("1".into());
    sup.supervised_teams = vec!["1".into()];
    sup.extension = Some("2001".into());
    dir.put_user(sup);
    dir.put_queue(QueueRecord { id: "sales".into(), name: "Sales".into(), teams: vec!["1".into()] });
    dir.put_reason_code(ReasonCodeRecord {
        id: 16,
        category: ReasonCategory::NotReady,
        code: 10,
        label: "Meeting".into(),
        for_all: true,
        system: false,
    });
    dir.put_reason_code(ReasonCodeRecord {
        id: 17,
        category: ReasonCategory::Logout,
        code: 20,
        label: "Home".into(),
        for_all: true,
        system: false,
    });
    dir
}

pub fn cc_config() -> CcConfig {
    CcConfig {
        xmpp_domain: DOMAIN.into(),
        pubsub_domain: format!("pubsub.{DOMAIN}"),
        deployment_type: "UCCE".into(),
        primary_host: DOMAIN.into(),
        secondary_host: None,
        primary_https_port: 8445,
        secondary_https_port: 8445,
        timezone_offset_minutes: 0,
        peripheral_id: "5000".into(),
        presence_logout: Default::default(),
        link: Default::default(),
    }
}

/// A core over a memory store holding `users` (password [`PASSWORD`]; few PBKDF2 iterations to
/// keep the tests quick).
pub async fn core(users: &[&str]) -> Core {
    let store = MemoryStore::new();
    for user in users {
        let creds = Credentials::derive(PASSWORD, [b"0123456789abcdef", b"fedcba9876543210"], 64).unwrap();
        store.create_user(user, &herald_core::stored_credentials(creds)).await.unwrap();
    }
    let mut config = CoreConfig::new(DOMAIN);
    config.decoy_secret = DecoySecret::new([7; 32]);
    Core::start(config, AnyStore::Memory(store)).await.unwrap()
}

/// The whole service over HTTPS.
pub struct Bench<M: CtiMachine + 'static> {
    pub core: Core,
    pub service: CcService,
    pub cti: CtiHandle<M>,
    pub addr: SocketAddr,
    pub cert: PathBuf,
    pub log_dir: PathBuf,
    trigger: ShutdownTrigger,
    _dir: tempfile::TempDir,
}

impl<M: CtiMachine + 'static> Bench<M> {
    pub async fn start(cti: M) -> Self {
        Self::start_with(cti, ServiceConfig::default()).await
    }

    pub async fn start_with(cti: M, config: ServiceConfig) -> Self {
        Self::start_routed(cti, config, |_| axum::Router::new()).await
    }

    /// [`Bench::start_with`], with `extra` routes (made from the CTI handle) merged in.
    pub async fn start_routed(cti: M, mut config: ServiceConfig, extra: impl FnOnce(&CtiHandle<M>) -> axum::Router) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let core = core(&["1001", "1002", "2001", "carol", "xmpponly"]).await;
        config.client_log_dir = dir.path().join("logs/clientlogs");
        let log_dir = config.client_log_dir.clone();
        let cc = ContactCenter::new(cc_config(), directory());
        let (service, handle) = herald_api::start(core.clone(), cc, cti, config).await.unwrap();
        let (tls, files) = herald_net::load_or_generate(None, dir.path(), DOMAIN).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let settings = Arc::new(HttpSettings {
            name: "Finesse API",
            admission: Admission::new(AdmissionConfig {
                max_connections: 1000,
                max_connections_per_source: 1000,
                max_unauthenticated_sessions: 100,
                max_unauthenticated_per_source: 100,
                creation_rate_per_source: 100,
                creation_burst_per_source: 100,
            }),
            tls_handshake_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            first_request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_body_bytes: 16 * 1024 * 1024,
            cors_origins: vec![ORIGIN.into()],
        });
        let (trigger, shutdown) = ShutdownTrigger::new();
        let router = service.router().merge(extra(&handle));
        tokio::spawn(serve_http(listener, Some(tokio_rustls::TlsAcceptor::from(tls)), settings, router, None::<Arc<NoFastPath>>, shutdown));
        Self { core, service, cti: handle, addr, cert: files.cert, log_dir, trigger, _dir: dir }
    }

    /// One request on a new TLS connection.
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Reply {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::pem::PemObject::pem_file_iter(&self.cert).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let stream = tokio_rustls::TlsConnector::from(Arc::new(tls)).connect(name, tcp).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(conn);
        let mut request = hyper::Request::builder().method(method).uri(path).header("host", "localhost");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = sender.send_request(request.body(Full::new(body.into())).unwrap()).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().iter().map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned())).collect();
        let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        Reply { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
    }

    /// A request as `user` with the demo password.
    pub async fn as_user(&self, user: &str, method: &str, path: &str, extra: &[(&str, &str)], body: &str) -> Reply {
        let auth = basic(user, PASSWORD);
        let mut headers = vec![("authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        self.request(method, path, &headers, body.to_owned()).await
    }

    /// Waits until `node` holds an item whose payload text contains every one of `needles`;
    /// returns that payload's XML.
    pub async fn wait_item(&self, node: &str, needles: &[&str]) -> String {
        for _ in 0..200 {
            if let Ok(page) = self.core.pubsub().items(None, node, ItemQuery::Latest(None)).await {
                for item in page.items.iter().rev() {
                    let xml = item.payload.as_ref().map(|p| p.to_xml()).unwrap_or_default();
                    if needles.iter().all(|n| xml.contains(n)) {
                        return xml;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no item on {node} containing {needles:?}");
    }

    pub async fn stop(self) {
        self.trigger.trigger();
        self.service.stop().await;
    }
}
