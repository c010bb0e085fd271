//! Herald's configuration: defaults, then a TOML file, then `HERALD_`-prefixed environment
//! variables (`__` separates a section from its key), then command-line flags. Unknown keys are an
//! error that names the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod cluster;
mod contact_center;
mod store;

pub use cluster::ClusterConfig;
pub use contact_center::{ContactCenter, Cti, CtiBackend, Desktop, LogoutMode, PresenceLogout};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
pub use store::{StoreBackend, StoreConfig};

/// The whole configuration. Every field has a default, so no file is needed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The XMPP domain (JIDs are `LoginID@domain`). Default: this machine's host name.
    pub domain: String,
    /// Where the database, generated certificate and logs live.
    pub data_dir: PathBuf,
    /// Listening addresses.
    pub listen: Listen,
    /// TLS certificate and policy.
    pub tls: Tls,
    /// Limits that protect the server from any one client.
    pub limits: Limits,
    /// Authentication policy.
    pub auth: Auth,
    /// BOSH sessions.
    pub bosh: Bosh,
    /// XMPP over WebSocket.
    pub websocket: WebSocket,
    /// The HTTP layer shared by BOSH and WebSocket.
    pub http: Http,
    /// Publish-subscribe.
    pub pubsub: PubSub,
    /// Logging.
    pub log: Log,
    /// Storage backend.
    pub store: StoreConfig,
    /// The contact-center layer (Finesse web services, CTI side).
    pub cc: ContactCenter,
    /// Presence-driven logout.
    pub presence_logout: PresenceLogout,
    /// The CTI link's supervision.
    pub cti: Cti,
    /// The agent desktop.
    pub desktop: Desktop,
    /// The cluster (Redis; none by default).
    pub cluster: ClusterConfig,
}

/// `[listen]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    /// XMPP client connections (STARTTLS). Default `0.0.0.0:5222`.
    pub c2s: SocketAddr,
    /// HTTPS: BOSH at `/http-bind/`, WebSocket at `/ws/`. Default `0.0.0.0:7443`.
    pub https: SocketAddr,
    /// Plain HTTP with the same endpoints; off unless set (like the port 7071 Finesse disabled).
    pub http: Option<SocketAddr>,
    /// HTTPS: the Finesse web services at `/finesse/api/` (and the simulator's control
    /// endpoint). Default `0.0.0.0:8445`; unset to run the notification service alone.
    pub api: Option<SocketAddr>,
    /// HTTP: the admin API (`herald ctl`, `herald doctor`, token in `<data_dir>/admin.token`)
    /// and `/metrics` (no token). Default `127.0.0.1:9090`, loopback only; unset to turn it off.
    pub admin: Option<SocketAddr>,
}

/// `[bosh]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Bosh {
    /// Cap on the client's `wait`, seconds (default 60; the desktop asks 30).
    pub max_wait_secs: u64,
    /// Cap on the client's `hold` (default 1).
    pub max_hold: u32,
    /// A session with no request held for this long is closed, seconds (default 60).
    pub inactivity_secs: u64,
    /// Shortest interval between empty polls, seconds (default 5).
    pub polling_secs: u64,
    /// Longest pause a client may request, seconds (default 120).
    pub maxpause_secs: u64,
    /// Elements queued for a client between its requests before further ones are dropped
    /// and counted (default 1024).
    pub max_pending: usize,
    /// Sessions that have not authenticated yet, over all sources (default 10,000); beyond it
    /// new sessions get 503.
    pub max_unauthenticated_sessions: usize,
    /// Sessions that have not authenticated yet from one source address (default 500);
    /// beyond it new sessions from that address get 429.
    pub max_unauthenticated_per_source: usize,
    /// New sessions one source address may create per second, sustained (default 200)...
    pub creation_rate_per_source: u32,
    /// ...and in one burst (default 1,000: a site's desktops reconnecting at once).
    pub creation_burst_per_source: u32,
    /// A session that has not authenticated closes after this long without a request, and is
    /// forgotten this long after it closed, seconds (default 10).
    pub unauthenticated_inactivity_secs: u64,
}

/// `[websocket]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebSocket {
    /// Largest message accepted, bytes (default 262144).
    pub max_message_bytes: usize,
    /// Server ping interval for idle connections, seconds (default 30).
    pub ping_interval_secs: u64,
    /// Redirect every new WebSocket stream here (`<close see-other-uri/>`), e.g. during
    /// maintenance. Off by default.
    pub see_other_uri: Option<String>,
}

/// `[http]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
    /// Origins browsers may call BOSH from (CORS); `"*"` allows any (default).
    pub cors_origins: Vec<String>,
    /// Largest request body, bytes (default 524288).
    pub max_body_bytes: usize,
    /// A request, head and body, must arrive in full within this many seconds of its first
    /// byte (default 10); slower clients get 408 and are disconnected.
    pub request_timeout_secs: u64,
    /// Seconds a new connection may wait before it starts its first request (default 10).
    pub first_request_timeout_secs: u64,
    /// Seconds a kept-alive BOSH connection may wait for its next request (default 120).
    pub idle_timeout_secs: u64,
}

impl Default for Bosh {
    fn default() -> Self {
        Self {
            max_wait_secs: 60,
            max_hold: 1,
            inactivity_secs: 60,
            polling_secs: 5,
            maxpause_secs: 120,
            max_pending: 1024,
            max_unauthenticated_sessions: 10_000,
            max_unauthenticated_per_source: 500,
            creation_rate_per_source: 200,
            creation_burst_per_source: 1000,
            unauthenticated_inactivity_secs: 10,
        }
    }
}

impl Default for WebSocket {
    fn default() -> Self {
        Self { max_message_bytes: 256 * 1024, ping_interval_secs: 30, see_other_uri: None }
    }
}

impl Default for Http {
    fn default() -> Self {
        Self {
            cors_origins: vec!["*".into()],
            max_body_bytes: 512 * 1024,
            request_timeout_secs: 10,
            first_request_timeout_secs: 10,
            idle_timeout_secs: 120,
        }
    }
}

/// `[tls]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Tls {
    /// PEM certificate chain; with `key`, replaces the generated self-signed certificate.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
    /// Refuse authentication before STARTTLS (default true; PLAIN is never offered in clear).
    pub require_starttls: bool,
}

/// `[limits]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest stanza accepted, in bytes (default 256 KiB); larger gets `<policy-violation/>`.
    pub max_stanza_bytes: usize,
    /// Deepest element nesting inside a stanza (default 64).
    pub max_depth: usize,
    /// Seconds a client may take from connecting to binding a resource (default 30).
    pub negotiation_timeout_secs: u64,
    /// Stanzas queued per session before further ones are dropped and counted (default 1024).
    pub session_queue: usize,
    /// Simultaneous client connections (default 100,000).
    pub max_connections: usize,
    /// Listen backlog of every listener (default 4096, capped by the kernel's somaxconn): room
    /// for a login storm's simultaneous connects.
    pub listen_backlog: u32,
    /// Offline messages kept per user (default 1000).
    pub max_offline_per_user: u64,
    /// Largest stanza or stream header before authentication, bytes (default 10,000, as
    /// Prosody's unauthenticated limit): a stranger cannot make the server buffer more.
    pub max_unauthenticated_bytes: usize,
    /// Most attributes on one XML element (default 64).
    pub max_attributes: usize,
    /// Simultaneous connections from one source address, over all listeners (default 1,000;
    /// raise it when many desktops share one NAT address).
    pub max_connections_per_source: usize,
    /// Seconds a TLS handshake may take, on every listener (default 10): a client that starts
    /// one and stalls holds a connection no longer.
    pub tls_handshake_timeout_secs: u64,
    /// Seconds a write to a TCP client may take before its connection is dropped as stuck
    /// (default 30).
    pub write_timeout_secs: u64,
    /// Seconds a stopping server waits for its connections and sessions to close after telling
    /// them to (default 10); it then stops anyway.
    pub shutdown_grace_secs: u64,
    /// Bytes of offline messages kept per user (default 1 MiB); this also bounds what the
    /// user's next login loads.
    pub max_offline_bytes_per_user: u64,
    /// Bytes of offline messages one sender may have waiting, across all recipients (default
    /// 4 MiB).
    pub max_offline_bytes_per_sender: u64,
    /// Items per roster (default 1000).
    pub max_roster_items: usize,
    /// Longest roster item name, in bytes (default 1023).
    pub max_roster_name_bytes: usize,
    /// Groups per roster item (default 16).
    pub max_roster_groups: usize,
    /// Longest roster group name, in bytes (default 255).
    pub max_roster_group_bytes: usize,
    /// JIDs one session may send directed presence to (default 100).
    pub max_directed_presences: usize,
    /// Sessions (resources) bound to one account at once (default 10).
    pub max_resources_per_user: usize,
    /// Bytes per second a client may send, sustained, on any transport, from its first byte
    /// (default 10240, as Prosody's `mod_limits`; 0 turns the limit off). Over it, the server
    /// stops reading from that client until its budget refills.
    pub client_bytes_per_sec: u32,
    /// Bytes a client may send at once after a quiet spell (default 262144: one largest
    /// stanza, or a whole login with its roster, passes without any wait).
    pub client_burst_bytes: u32,
    /// LoginIDs with no byte budget once authenticated (default none), as Prosody's
    /// `unlimited_jids`: a service that publishes for many desktops.
    pub client_unlimited_users: Vec<String>,
}

/// `[pubsub]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PubSub {
    /// Items each node keeps for retrieval and catch-up unless configured otherwise (default 100).
    pub max_items: usize,
    /// Whether any local user may create nodes (default true, like ejabberd); when false only the
    /// server itself creates them (the contact-center layer does), like Prosody's default.
    pub users_create_nodes: bool,
    /// Longest node name a create may use, in bytes (default 1,024).
    pub max_node_name_bytes: usize,
    /// Longest item id a publish may use, in bytes (default 1,024).
    pub max_item_id_bytes: usize,
    /// Most nodes one user may own (default 1,000).
    pub max_nodes_per_owner: usize,
    /// Most subscriptions one user may hold over all nodes (default 1,000).
    pub max_subscriptions_per_jid: usize,
}

impl Default for PubSub {
    fn default() -> Self {
        Self {
            max_items: 100,
            users_create_nodes: true,
            max_node_name_bytes: 1024,
            max_item_id_bytes: 1024,
            max_nodes_per_owner: 1000,
            max_subscriptions_per_jid: 1000,
        }
    }
}

/// `[auth]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// Failed logins from one source address that lock an account for that address (default 5,
    /// as Finesse; 0 disables). Only existing accounts are counted; other addresses are not locked.
    pub lockout_failures: u32,
    /// Seconds an account stays locked for that address (default 300); a failure older than
    /// this no longer counts.
    pub lockout_secs: u64,
    /// Failed logins from one source address, on any accounts, existing or not, within
    /// `source_ban_secs` that ban the address (default 20, as ejabberd's `mod_fail2ban`; 0 disables).
    pub source_max_failures: u32,
    /// Seconds a banned address is refused (default 300).
    pub source_ban_secs: u64,
    /// Addresses or networks never banned (e.g. `["10.20.0.0/16"]` for a NAT or reverse proxy that
    /// all desktops come through). Default none. The per-account lock still applies to them.
    pub source_ban_exempt: Vec<String>,
    /// Most entries in each lockout table, (account, address) and address (default 100,000);
    /// beyond it the entries that would expire soonest are dropped.
    pub max_tracked: usize,
}

impl Auth {
    /// The lockout settings for the core (the exempt networks were checked by `validate`).
    pub fn lockout(&self) -> herald_sasl::LockoutConfig {
        herald_sasl::LockoutConfig {
            max_failures: self.lockout_failures,
            lock_duration: Duration::from_secs(self.lockout_secs),
            source_max_failures: self.source_max_failures,
            source_ban: Duration::from_secs(self.source_ban_secs),
            max_entries: self.max_tracked,
            exempt: self.source_ban_exempt.iter().filter_map(|n| n.parse().ok()).collect(),
            ..Default::default()
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.lockout_failures > 0 && self.lockout_secs == 0 {
            return Err(ConfigError::Range("auth.lockout_secs must be positive when auth.lockout_failures is".into()));
        }
        if self.source_max_failures > 0 && self.source_ban_secs == 0 {
            return Err(ConfigError::Range("auth.source_ban_secs must be positive when auth.source_max_failures is".into()));
        }
        if !(100..=10_000_000).contains(&self.max_tracked) {
            return Err(ConfigError::Range("auth.max_tracked must be between 100 and 10000000".into()));
        }
        for network in &self.source_ban_exempt {
            network.parse::<herald_sasl::Network>().map_err(|err| ConfigError::Range(format!("auth.source_ban_exempt: {err}")))?;
        }
        Ok(())
    }
}

/// `[log]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// Write `logs/notification/debug.log` (costly under load, as the seed warns).
    pub debug: bool,
    /// With debug on, how often each BOSH session writes its `was last active` and
    /// `msgs_sent/msgs_queue/msgs_drop/bytes_sent` lines, seconds (default 30, as Finesse).
    pub session_stats_secs: u64,
    /// A log file is rotated (`info.log` → `info.log.1`, …) before it grows past this many MiB
    /// (default 100).
    pub max_file_mib: u64,
    /// Rotated files kept of each log (default 10), so each log takes at most
    /// `max_file_mib × (keep_files + 1)` of disk.
    pub keep_files: usize,
    /// `text` (the seed's style, default) or `json` (one object per line, the same events as
    /// fields).
    pub format: LogFormatName,
    /// Session close records kept in the store for diagnosis, newest first (default 100,000).
    pub close_records_keep: u64,
}

/// `[log] format`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormatName {
    /// The seed's style.
    #[default]
    Text,
    /// JSON lines.
    Json,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            debug: false,
            session_stats_secs: 30,
            max_file_mib: 100,
            keep_files: 10,
            format: LogFormatName::Text,
            close_records_keep: 100_000,
        }
    }
}

pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

impl Default for Config {
    fn default() -> Self {
        Self {
            domain: host_name(),
            data_dir: PathBuf::from("./herald-data"),
            listen: Listen::default(),
            tls: Tls::default(),
            limits: Limits::default(),
            bosh: Bosh::default(),
            websocket: WebSocket::default(),
            http: Http::default(),
            pubsub: PubSub::default(),
            auth: Auth::default(),
            log: Log::default(),
            store: StoreConfig::default(),
            cc: ContactCenter::default(),
            presence_logout: PresenceLogout::default(),
            cti: Cti::default(),
            desktop: Desktop::default(),
            cluster: ClusterConfig::default(),
        }
    }
}

impl Default for Listen {
    fn default() -> Self {
        Self {
            c2s: SocketAddr::from(([0, 0, 0, 0], 5222)),
            https: SocketAddr::from(([0, 0, 0, 0], 7443)),
            http: None,
            api: Some(SocketAddr::from(([0, 0, 0, 0], 8445))),
            admin: Some(SocketAddr::from(([127, 0, 0, 1], 9090))),
        }
    }
}

impl Default for Tls {
    fn default() -> Self {
        Self { cert: None, key: None, require_starttls: true }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_stanza_bytes: 256 * 1024,
            max_depth: 64,
            negotiation_timeout_secs: 30,
            session_queue: 1024,
            max_connections: 100_000,
            listen_backlog: 4096,
            max_offline_per_user: 1000,
            max_unauthenticated_bytes: 10_000,
            max_attributes: 64,
            max_connections_per_source: 1000,
            tls_handshake_timeout_secs: 10,
            write_timeout_secs: 30,
            shutdown_grace_secs: 10,
            max_offline_bytes_per_user: 1024 * 1024,
            max_offline_bytes_per_sender: 4 * 1024 * 1024,
            max_roster_items: 1000,
            max_roster_name_bytes: 1023,
            max_roster_groups: 16,
            max_roster_group_bytes: 255,
            max_directed_presences: 100,
            max_resources_per_user: 10,
            client_bytes_per_sec: 10 * 1024,
            client_burst_bytes: 256 * 1024,
            client_unlimited_users: Vec::new(),
        }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            lockout_failures: 5,
            lockout_secs: 300,
            source_max_failures: 20,
            source_ban_secs: 300,
            source_ban_exempt: Vec::new(),
            max_tracked: 100_000,
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value or key is wrong; the message names the key and the source (file or variable).
    #[error("configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    /// A value is out of range.
    #[error("configuration: {0}")]
    Range(String),
}

impl Config {
    /// Loads defaults, then `file` (if given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Range(format!("config file {} does not exist", file.display())));
            }
            figment = figment.merge(Toml::file(file));
        }
        let config: Config = figment.merge(Env::prefixed("HERALD_").split("__")).extract().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.domain.is_empty() || herald_proto::BareJid::new(&self.domain).is_err() {
            return Err(ConfigError::Range(format!("domain {:?} is not a valid XMPP domain", self.domain)));
        }
        if self.limits.max_stanza_bytes < 1024 {
            return Err(ConfigError::Range("limits.max_stanza_bytes must be at least 1024".into()));
        }
        self.validate_state_limits()?;
        if self.limits.client_bytes_per_sec > 0 && self.limits.client_burst_bytes < 4096 {
            return Err(ConfigError::Range("limits.client_burst_bytes must be at least 4096 (one read)".into()));
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err(ConfigError::Range("tls.cert and tls.key must be given together".into()));
        }
        if self.bosh.max_wait_secs == 0 || self.bosh.inactivity_secs == 0 {
            return Err(ConfigError::Range("bosh.max_wait_secs and bosh.inactivity_secs must be positive".into()));
        }
        if !(1..=10_000).contains(&self.pubsub.max_items) {
            return Err(ConfigError::Range("pubsub.max_items must be between 1 and 10000".into()));
        }
        if self.log.max_file_mib == 0 {
            return Err(ConfigError::Range("log.max_file_mib must be positive".into()));
        }
        if !(16..=65_536).contains(&self.pubsub.max_node_name_bytes) || !(16..=65_536).contains(&self.pubsub.max_item_id_bytes) {
            return Err(ConfigError::Range("pubsub.max_node_name_bytes and pubsub.max_item_id_bytes must be between 16 and 65536".into()));
        }
        if self.pubsub.max_nodes_per_owner == 0 || self.pubsub.max_subscriptions_per_jid == 0 {
            return Err(ConfigError::Range("pubsub.max_nodes_per_owner and pubsub.max_subscriptions_per_jid must be positive".into()));
        }
        if self.presence_logout.grace_secs == 0 {
            return Err(ConfigError::Range("presence_logout.grace_secs must be positive".into()));
        }
        if self.cti.heartbeat_secs == 0 || self.cti.missed_heartbeats == 0 {
            return Err(ConfigError::Range("cti.heartbeat_secs and cti.missed_heartbeats must be positive".into()));
        }
        if self.log.session_stats_secs == 0 {
            return Err(ConfigError::Range("log.session_stats_secs must be positive".into()));
        }
        if self.limits.max_unauthenticated_bytes < 1024 || self.limits.max_unauthenticated_bytes > self.limits.max_stanza_bytes {
            return Err(ConfigError::Range("limits.max_unauthenticated_bytes must be between 1024 and limits.max_stanza_bytes".into()));
        }
        if self.limits.max_attributes == 0 || self.limits.max_connections_per_source == 0 || self.limits.max_connections == 0 {
            return Err(ConfigError::Range(
                "limits.max_attributes, limits.max_connections and limits.max_connections_per_source must be positive".into(),
            ));
        }
        if self.limits.tls_handshake_timeout_secs == 0 || self.limits.write_timeout_secs == 0 {
            return Err(ConfigError::Range("limits.tls_handshake_timeout_secs and limits.write_timeout_secs must be positive".into()));
        }
        if self.http.request_timeout_secs == 0 || self.bosh.unauthenticated_inactivity_secs == 0 {
            return Err(ConfigError::Range("http.request_timeout_secs and bosh.unauthenticated_inactivity_secs must be positive".into()));
        }
        if self.http.first_request_timeout_secs == 0 || self.http.idle_timeout_secs == 0 {
            return Err(ConfigError::Range("http.first_request_timeout_secs and http.idle_timeout_secs must be positive".into()));
        }
        if self.bosh.creation_rate_per_source == 0 || self.bosh.creation_burst_per_source == 0 {
            return Err(ConfigError::Range("bosh.creation_rate_per_source and bosh.creation_burst_per_source must be positive".into()));
        }
        if self.websocket.ping_interval_secs == 0 {
            return Err(ConfigError::Range("websocket.ping_interval_secs must be positive".into()));
        }
        // A desktop pinging more often than every 5 s, or measuring drift more than once a
        // minute, costs every agent's browser and the server for nothing.
        if !(5..=300).contains(&self.desktop.ping_secs) || self.desktop.drift_secs < 60 {
            return Err(ConfigError::Range("desktop.ping_secs must be between 5 and 300, desktop.drift_secs at least 60".into()));
        }
        self.auth.validate()?;
        self.store.validate()?;
        self.cluster.validate(&self.store)?;
        Ok(())
    }

    /// Every per-account cap must let at least something through.
    fn validate_state_limits(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let caps = [
            ("max_offline_per_user", l.max_offline_per_user),
            ("max_offline_bytes_per_user", l.max_offline_bytes_per_user),
            ("max_offline_bytes_per_sender", l.max_offline_bytes_per_sender),
            ("max_roster_items", l.max_roster_items as u64),
            ("max_roster_name_bytes", l.max_roster_name_bytes as u64),
            ("max_roster_groups", l.max_roster_groups as u64),
            ("max_roster_group_bytes", l.max_roster_group_bytes as u64),
            ("max_directed_presences", l.max_directed_presences as u64),
            ("max_resources_per_user", l.max_resources_per_user as u64),
        ];
        match caps.iter().find(|(_, v)| *v == 0) {
            Some((name, _)) => Err(ConfigError::Range(format!("limits.{name} must be at least 1"))),
            None => Ok(()),
        }
    }

    /// The per-account caps the core applies.
    pub fn state_limits(&self) -> herald_core::StateLimits {
        let l = &self.limits;
        herald_core::StateLimits {
            max_offline_messages: l.max_offline_per_user,
            max_offline_bytes: l.max_offline_bytes_per_user,
            max_offline_sender_bytes: l.max_offline_bytes_per_sender,
            max_roster_items: l.max_roster_items,
            max_roster_name_bytes: l.max_roster_name_bytes,
            max_roster_groups: l.max_roster_groups,
            max_roster_group_bytes: l.max_roster_group_bytes,
            max_directed_presences: l.max_directed_presences,
            max_resources: l.max_resources_per_user,
        }
    }

    /// Every client's byte budget, `None` when `limits.client_bytes_per_sec` is 0.
    pub fn client_rate_limit(&self) -> Option<herald_proto::RateLimit> {
        let limits = &self.limits;
        (limits.client_bytes_per_sec > 0)
            .then_some(herald_proto::RateLimit { bytes_per_sec: limits.client_bytes_per_sec, burst_bytes: limits.client_burst_bytes })
    }

    /// The negotiation timeout as a duration.
    pub fn negotiation_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.negotiation_timeout_secs)
    }
}

#[cfg(test)]
// figment's `Jail` closures must return its large error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_then_validation() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("h.toml", "domain = \"fin1.example\"\n[limits]\nmax_stanza_bytes = 65536\n[auth]\nlockout_failures = 3\n")?;
            jail.set_env("HERALD_LISTEN__C2S", "127.0.0.1:15222");
            jail.set_env("HERALD_LOG__DEBUG", "true");
            let c = Config::load(Some(Path::new("h.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.domain, "fin1.example");
            assert_eq!(c.limits.max_stanza_bytes, 65536);
            assert_eq!(c.limits.max_depth, 64, "unset keys keep their defaults");
            assert_eq!(c.auth.lockout_failures, 3);
            assert_eq!(c.listen.c2s, "127.0.0.1:15222".parse().unwrap());
            assert!(c.log.debug);
            jail.set_env("HERALD_LIMITS__MAX_STANZA_BYTES", "10");
            assert!(Config::load(Some(Path::new("h.toml"))).unwrap_err().to_string().contains("at least 1024"));
            jail.set_env("HERALD_LIMITS__MAX_STANZA_BYTES", "65536");
            assert_eq!(c.client_rate_limit(), Some(herald_proto::RateLimit { bytes_per_sec: 10240, burst_bytes: 262144 }));
            jail.set_env("HERALD_LIMITS__CLIENT_BURST_BYTES", "100");
            assert!(Config::load(Some(Path::new("h.toml"))).unwrap_err().to_string().contains("client_burst_bytes"));
            jail.set_env("HERALD_LIMITS__CLIENT_BYTES_PER_SEC", "0");
            assert_eq!(Config::load(Some(Path::new("h.toml"))).map_err(|e| e.to_string())?.client_rate_limit(), None, "0 turns it off");
            Ok(())
        });
    }

    #[test]
    fn auth_limits_are_checked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("a.toml", "[auth]\nsource_ban_exempt = [\"10.0.0.0/8\", \"2001:db8::1\"]\nsource_max_failures = 7\n")?;
            let c = Config::load(Some(Path::new("a.toml"))).map_err(|e| e.to_string())?;
            let lockout = c.auth.lockout();
            assert_eq!((lockout.source_max_failures, lockout.exempt.len(), lockout.max_entries), (7, 2, 100_000));
            jail.set_env("HERALD_AUTH__SOURCE_BAN_EXEMPT", "[\"10.0.0.0/40\"]");
            assert!(Config::load(None).unwrap_err().to_string().contains("source_ban_exempt"));
            jail.set_env("HERALD_AUTH__SOURCE_BAN_EXEMPT", "[]");
            jail.set_env("HERALD_AUTH__MAX_TRACKED", "0");
            assert!(Config::load(None).unwrap_err().to_string().contains("max_tracked"));
            jail.set_env("HERALD_AUTH__MAX_TRACKED", "1000");
            jail.set_env("HERALD_AUTH__SOURCE_BAN_SECS", "0");
            assert!(Config::load(None).unwrap_err().to_string().contains("source_ban_secs"));
            Ok(())
        });
    }

    #[test]
    fn pubsub_caps_are_read_and_nonsense_is_refused() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(Config::load(None).unwrap().pubsub.max_subscriptions_per_jid, 1000);
            jail.set_env("HERALD_PUBSUB__MAX_NODES_PER_OWNER", "5");
            assert_eq!(Config::load(None).unwrap().pubsub.max_nodes_per_owner, 5);
            jail.set_env("HERALD_PUBSUB__MAX_SUBSCRIPTIONS_PER_JID", "0");
            assert!(Config::load(None).unwrap_err().to_string().contains("must be positive"));
            jail.set_env("HERALD_PUBSUB__MAX_SUBSCRIPTIONS_PER_JID", "10");
            jail.set_env("HERALD_PUBSUB__MAX_NODE_NAME_BYTES", "1");
            assert!(Config::load(None).unwrap_err().to_string().contains("between 16 and 65536"));
            Ok(())
        });
    }

    #[test]
    fn cert_without_key_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HERALD_TLS__CERT", "/x.pem");
            assert!(Config::load(None).unwrap_err().to_string().contains("together"));
            Ok(())
        });
    }

    #[test]
    fn state_limits_default_to_the_core_defaults_and_zero_is_refused() {
        assert_eq!(Config::default().state_limits(), herald_core::StateLimits::default());
        figment::Jail::expect_with(|jail| {
            jail.set_env("HERALD_LIMITS__MAX_RESOURCES_PER_USER", "0");
            assert!(Config::load(None).unwrap_err().to_string().contains("limits.max_resources_per_user must be at least 1"));
            Ok(())
        });
    }

    #[test]
    fn the_store_backend_is_one_of_the_known_names() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!((c.store.backend, c.store.path.as_path()), (StoreBackend::Sqlite, Path::new("herald.db")));
            jail.create_file("s.toml", "[store]\nbackend = \"memory\"\n")?;
            assert_eq!(Config::load(Some(Path::new("s.toml"))).map_err(|e| e.to_string())?.store.backend, StoreBackend::Memory);
            jail.set_env("HERALD_STORE__BACKEND", "sqlite");
            jail.set_env("HERALD_STORE__PATH", "/var/lib/herald/other.db");
            let c = Config::load(Some(Path::new("s.toml"))).map_err(|e| e.to_string())?;
            assert_eq!((c.store.backend, c.store.path.as_path()), (StoreBackend::Sqlite, Path::new("/var/lib/herald/other.db")));
            jail.set_env("HERALD_STORE__BACKEND", "sqlit");
            let from_env = Config::load(Some(Path::new("s.toml"))).unwrap_err().to_string().to_lowercase();
            jail.create_file("t.toml", "[store]\nbackend = \"postgress\"\n")?;
            jail.clear_env();
            let from_file = Config::load(Some(Path::new("t.toml"))).unwrap_err().to_string();
            for (err, typo) in [(from_env, "sqlit"), (from_file, "postgress")] {
                for needed in ["store.backend", typo, "`sqlite`", "`memory`"] {
                    assert!(err.contains(needed), "{needed:?} missing from: {err}");
                }
            }
            Ok(())
        });
    }

    #[test]
    fn the_desktop_section_is_read_and_nonsense_is_refused() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert!(c.desktop.enabled);
            assert_eq!(
                (c.desktop.transport, c.desktop.ping_secs, c.desktop.notification_port),
                (herald_desktop::Transport::Bosh, 20, None)
            );
            jail.create_file("d.toml", "[desktop]\ntransport = \"websocket\"\nnotification_port = 443\n[cc]\nsecondary_host = \"fin2\"\nsecondary_https_port = 9445\n")?;
            let c = Config::load(Some(Path::new("d.toml"))).map_err(|e| e.to_string())?;
            assert_eq!((c.desktop.transport, c.desktop.notification_port), (herald_desktop::Transport::Websocket, Some(443)));
            assert_eq!((c.cc.secondary_host.as_deref(), c.cc.secondary_https_port), (Some("fin2"), Some(9445)));
            jail.set_env("HERALD_DESKTOP__TRANSPORT", "carrier-pigeon");
            assert!(Config::load(None).unwrap_err().to_string().contains("carrier-pigeon"));
            jail.clear_env();
            jail.set_env("HERALD_DESKTOP__PING_SECS", "0");
            assert!(Config::load(None).unwrap_err().to_string().contains("desktop.ping_secs must be between 5 and 300"));
            jail.clear_env();
            jail.create_file("e.toml", "[desktop]\nport = 1\n")?;
            assert!(Config::load(Some(Path::new("e.toml"))).unwrap_err().to_string().contains("port"));
            Ok(())
        });
    }

    #[test]
    fn postgres_needs_its_url() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HERALD_STORE__BACKEND", "postgres");
            assert!(Config::load(None).unwrap_err().to_string().contains("needs store.url"));
            jail.set_env("HERALD_STORE__URL", "mysql://db/herald");
            assert!(Config::load(None).unwrap_err().to_string().contains("must be a postgres:// URL"));
            jail.set_env("HERALD_STORE__URL", "postgres://herald:pw@127.0.0.1:5432/herald");
            jail.set_env("HERALD_STORE__MAX_CONNECTIONS", "4");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!((c.store.backend, c.store.max_connections), (StoreBackend::Postgres, 4));
            jail.set_env("HERALD_STORE__MAX_CONNECTIONS", "0");
            assert!(Config::load(None).unwrap_err().to_string().contains("store.max_connections must be at least 1"));
            Ok(())
        });
    }
}
