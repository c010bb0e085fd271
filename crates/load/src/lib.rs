//! `herald load`: a load generator that speaks XMPP over BOSH, WebSocket and TCP (STARTTLS) to any
//! server, Herald or a peer, and measures the server process from `/proc` the same way for
//! every server, so that efficiency is reported per session, per login and per delivery
//! whatever else the machine is doing. Every loop is bounded in count and time, and targets are
//! loopback addresses only.

mod agent_figures;
mod agents;
mod baseline;
mod bosh;
mod fanout;
mod measure;
mod progress;
mod report;
mod scenario;
mod session;
mod soak;
mod tcp;
mod ws;
mod xmpp;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub use agent_figures::AgentFigures;
pub use agents::{AgentOptions, FailoverAudit, FailoverFigures};
pub use baseline::serve as serve_http_baseline;
pub use fanout::FanoutFigures;
pub use measure::{LogBalance, ProcSample, log_balance, sample, tcp_connections};
pub use report::{Report, SoakFigures};
pub use scenario::run;
pub use soak::SoakOptions;

/// Why a load run failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A connection or TLS failure.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The server answered something unexpected.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The server refused the login.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The run was set up wrongly (non-loopback target, missing CA for TLS, …).
    #[error("configuration: {0}")]
    Config(String),
    /// A step took longer than its bound.
    #[error("timed out: {0}")]
    Timeout(&'static str),
}

impl LoadError {
    /// A short name for the kind of failure, by which the soak counts its errors: `io`,
    /// `auth`, `timeout`, `config`, `terminated-<condition>` (the server ended the session),
    /// `http-<status>`, or `protocol`.
    pub fn kind(&self) -> String {
        match self {
            LoadError::Io(_) => "io".into(),
            LoadError::Auth(_) => "auth".into(),
            LoadError::Config(_) => "config".into(),
            LoadError::Timeout(_) => "timeout".into(),
            LoadError::Protocol(m) if m.starts_with("session terminated: ") => {
                format!("terminated-{}", m.trim_start_matches("session terminated: "))
            }
            LoadError::Protocol(m) => match m.strip_prefix("HTTP ") {
                Some(status) => format!("http-{}", status.split_whitespace().next().unwrap_or_default()),
                None => "protocol".into(),
            },
        }
    }
}

/// Which transport the simulated clients use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// BOSH over plain HTTP, long polls held as a desktop holds them.
    Bosh,
    /// XMPP over TCP with STARTTLS.
    Tcp,
    /// XMPP over WebSocket (RFC 7395) on the plain HTTP port.
    WebSocket,
}

/// What to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Log in, send presence, hold long polls, and stay for the hold time.
    Idle,
    /// Log in as fast as the server takes it; time to all logged in.
    LoginStorm,
    /// Sessions subscribe to pubsub nodes (session `n` to node `n % nodes`); a publisher
    /// publishes at a fixed rate for the hold time; every delivery's latency is measured.
    Fanout,
    /// BOSH sessions churn for the hold time: each logs in, holds its long polls, sends
    /// messages to other sessions and receives the publisher's items, then terminates or is
    /// killed (connection dropped without terminate) and reconnects; afterwards every client
    /// stops and the server must end up with no session left.
    Soak,
    /// No XMPP: each connection POSTs an empty BOSH body every `wait` seconds to a plain HTTP
    /// server, the ceiling a BOSH round trip is compared with.
    HttpBaseline,
    /// Contact-center desktops: log in over BOSH or WebSocket, sign in through the REST web
    /// services, then change state at a fixed total rate; each change's latency runs to its
    /// Update at the desktop, and its server CPU is set against a bare pubsub publish.
    Agents,
}

/// The SASL mechanism the clients use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// SCRAM-SHA-1 (every peer supports it).
    ScramSha1,
    /// SCRAM-SHA-256.
    ScramSha256,
}

/// One load run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The server's address (must be loopback).
    pub host: IpAddr,
    /// XMPP domain of the accounts.
    pub domain: String,
    /// Port of BOSH over plain HTTP.
    pub http_port: u16,
    /// BOSH path (`/http-bind/`; Prosody and ejabberd use `/http-bind` too).
    pub bosh_path: String,
    /// WebSocket path (`/ws/`; Prosody uses `/xmpp-websocket`, ejabberd what it is configured with).
    pub ws_path: String,
    /// Port of XMPP over TCP.
    pub c2s_port: u16,
    /// PEM certificate to trust for STARTTLS (and for HTTPS, with `https`).
    pub ca: Option<PathBuf>,
    /// BOSH over HTTPS: TLS on `http_port`, trusting `ca`, as desktops connect (port 7443).
    pub https: bool,
    /// Transport.
    pub transport: Transport,
    /// Scenario.
    pub scenario: Scenario,
    /// Number of sessions, one account each (`<prefix><n>`, n from 0).
    pub sessions: usize,
    /// Account name prefix.
    pub user_prefix: String,
    /// Password of every account.
    pub password: String,
    /// SASL mechanism.
    pub mechanism: Mechanism,
    /// New logins per second (0: as fast as possible, at most `concurrency` at once).
    pub ramp_per_sec: f64,
    /// Most logins in progress at once.
    pub concurrency: usize,
    /// BOSH `wait` asked for.
    pub wait: u32,
    /// How long idle sessions stay after the last login (fan-out: how long the publisher
    /// publishes).
    pub hold: Duration,
    /// Fan-out: number of pubsub nodes.
    pub nodes: usize,
    /// Fan-out: publishes per second.
    pub publish_rate: f64,
    /// Fan-out: the publisher's account (it creates the nodes, so it must be allowed to).
    pub publisher: String,
    /// Fan-out: the pubsub service's JID (`pubsub.<domain>` when `None`).
    pub pubsub_service: Option<String>,
    /// The server's process id, to measure its memory and CPU.
    pub server_pid: Option<u32>,
    /// Upper bound on the whole run.
    pub deadline: Duration,
    /// Soak: how sessions churn and how the end is checked.
    pub soak: SoakOptions,
    /// Agents: the REST side and the state changes.
    pub agents: AgentOptions,
}

impl Default for Options {
    /// The `herald load` command's defaults: 100 idle BOSH sessions against a Herald on
    /// 127.0.0.1 with its default ports, accounts `load<n>` (the password must still be set).
    fn default() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            domain: "localhost".into(),
            http_port: 7070,
            bosh_path: "/http-bind/".into(),
            ws_path: "/ws/".into(),
            c2s_port: 5222,
            ca: None,
            https: false,
            transport: Transport::Bosh,
            scenario: Scenario::Idle,
            sessions: 100,
            user_prefix: "load".into(),
            password: String::new(),
            mechanism: Mechanism::ScramSha1,
            ramp_per_sec: 0.0,
            concurrency: 200,
            wait: 30,
            hold: Duration::from_secs(10),
            nodes: 1,
            publish_rate: 100.0,
            publisher: "loadpub".into(),
            pubsub_service: None,
            server_pid: None,
            deadline: Duration::from_secs(600),
            soak: SoakOptions::default(),
            agents: AgentOptions::default(),
        }
    }
}

impl Options {
    /// Checks the run is allowed and well-formed.
    pub fn validate(&self) -> Result<(), LoadError> {
        if !self.host.is_loopback() {
            return Err(LoadError::Config("load runs target loopback addresses only".into()));
        }
        if self.transport == Transport::Tcp && self.ca.is_none() {
            return Err(LoadError::Config("TCP runs need --ca with the server's certificate".into()));
        }
        if self.https && (self.transport != Transport::Bosh || self.ca.is_none()) {
            return Err(LoadError::Config("HTTPS runs are BOSH runs and need --ca with the server's certificate".into()));
        }
        if self.sessions == 0 || self.sessions > 200_000 {
            return Err(LoadError::Config("sessions must be between 1 and 200000".into()));
        }
        if self.scenario == Scenario::Soak {
            self.soak.validate(self.transport)?;
        }
        if self.scenario == Scenario::Agents {
            if self.transport == Transport::Tcp {
                return Err(LoadError::Config("agent desktops connect over BOSH or WebSocket".into()));
            }
            self.agents.validate()?;
        }
        if matches!(self.scenario, Scenario::Fanout | Scenario::Soak) && !(self.publish_rate > 0.0 && self.publish_rate <= 100_000.0) {
            return Err(LoadError::Config("the publish rate must be between 0 and 100000 per second".into()));
        }
        Ok(())
    }

    /// The pubsub service addressed by the fan-out scenario.
    pub fn pubsub_service(&self) -> String {
        self.pubsub_service.clone().unwrap_or_else(|| format!("pubsub.{}", self.domain))
    }

    /// Connection `n` to `port`, from a source address spread over 127.0.0.2–127.0.0.254 so that
    /// more connections fit than one source address has ephemeral ports.
    pub(crate) async fn connect(&self, n: usize, port: u16) -> Result<tokio::net::TcpStream, LoadError> {
        let socket = if self.host.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        if self.host.is_ipv4() {
            let last = 2 + (n % 253) as u8;
            socket.bind(SocketAddr::from(([127, 0, 0, last], 0)))?;
        }
        let stream = socket.connect((self.host, port).into()).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}
