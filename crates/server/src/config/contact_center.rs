//! `[cc]`: the contact-center layer — which scenario seeds it, which CTI side drives it, what
//! SystemInfo tells desktops about this node and its peer, and where client logs go.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which CTI side drives agent and call state.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CtiBackend {
    /// The built-in simulator (routes the scenario's queues to READY agents).
    #[default]
    Simulator,
}

/// `[cc]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ContactCenter {
    /// The scenario file (teams, queues, reason codes, agents, simulator settings), applied on
    /// the first start only. Default: the sample scenario built into the binary.
    pub scenario: Option<PathBuf>,
    /// The CTI side (default `simulator`).
    pub cti: CtiBackend,
    /// `SystemInfo/primaryNode/host` (default: the XMPP domain, i.e. this node).
    pub primary_host: Option<String>,
    /// `SystemInfo/secondaryNode/host`, the peer desktops fail over to (default: none, a single
    /// node).
    pub secondary_host: Option<String>,
    /// `SystemInfo/primaryNode/httpsPort`, the primary's REST port (default: this node's).
    pub primary_https_port: Option<u16>,
    /// `SystemInfo/secondaryNode/httpsPort`, the secondary's REST port (default: this node's;
    /// a Finesse pair runs both on 8445). A failing-over desktop signs in there.
    pub secondary_https_port: Option<u16>,
    /// `SystemInfo/timezoneOffset`, minutes east of GMT (default 0).
    pub timezone_offset_minutes: i32,
    /// `SystemInfo/peripheralId` (default 5000).
    pub peripheral_id: String,
    /// Where `POST User/{id}/ClientLog` uploads are stored, relative to `data_dir` (default
    /// `logs/clientlogs`).
    pub client_log_dir: PathBuf,
    /// How long a verified HTTP Basic password is remembered, seconds (default 60), so that a
    /// desktop's requests do not each cost a PBKDF2.
    pub basic_auth_cache_secs: u64,
    /// Simulator seed (default: a fresh one each start; set it for a reproducible day).
    pub sim_seed: Option<u64>,
}

impl Default for ContactCenter {
    fn default() -> Self {
        Self {
            scenario: None,
            cti: CtiBackend::Simulator,
            primary_host: None,
            secondary_host: None,
            primary_https_port: None,
            secondary_https_port: None,
            timezone_offset_minutes: 0,
            peripheral_id: "5000".into(),
            client_log_dir: PathBuf::from("logs/clientlogs"),
            basic_auth_cache_secs: 60,
            sim_seed: None,
        }
    }
}

/// `[presence_logout] mode`: what a presence-driven logout does (finesse-domain.md §5).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogoutMode {
    /// Unified CCX: the agent is logged out.
    Uccx,
    /// Unified CCE: NOT_READY, or LOGOUT with `logout_on_disconnect` (LOAD=1).
    Ucce,
}

/// `[presence_logout]`: the web services log out an agent whose desktop went away and did not
/// come back within the grace, as Finesse does.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PresenceLogout {
    /// Off: presence changes are still logged, nobody is logged out (default on).
    pub enabled: bool,
    /// `uccx` or `ucce` (default: the scenario's deployment type).
    pub mode: Option<LogoutMode>,
    /// Seconds between the agent's last resource going unavailable and the forced request
    /// (default 60, as Finesse; it also covers a browser refresh).
    pub grace_secs: u64,
    /// UCCE's "Logout on Agent Disconnect" (LOAD=1): LOGOUT at once, even mid-call, instead of
    /// NOT_READY (default off).
    pub logout_on_disconnect: bool,
}

impl Default for PresenceLogout {
    fn default() -> Self {
        Self { enabled: true, mode: None, grace_secs: 60, logout_on_disconnect: false }
    }
}

/// `[cti]`: the supervision of the link to the CTI side.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Cti {
    /// The CTI side's heartbeat interval, seconds (default 5, as Finesse's CTI server); the
    /// built-in simulator sends its heartbeats this often.
    pub heartbeat_secs: u64,
    /// The link is declared lost after this many heartbeats in a row are missed (default 3).
    pub missed_heartbeats: u32,
}

impl Default for Cti {
    fn default() -> Self {
        Self { heartbeat_secs: 5, missed_heartbeats: 3 }
    }
}

/// `[desktop]`: the agent desktop served on the REST listener at `/desktop/`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Desktop {
    /// Serve it (default on; it needs the REST listener).
    pub enabled: bool,
    /// The notification transport the sign-in form starts on, `bosh` (default) or `websocket`.
    pub transport: herald_desktop::Transport,
    /// The notification service's port as browsers reach it (default: the `[listen] https`
    /// port; set it when a proxy or NAT publishes another).
    pub notification_port: Option<u16>,
    /// Seconds between the desktop's XMPP pings (default 20).
    pub ping_secs: u32,
    /// Seconds between two clock-drift and round-trip measurements (default 600).
    pub drift_secs: u32,
    /// Serve the desktop's files from this directory instead of the copies built into the
    /// binary (for working on the desktop; default: the built-in copies).
    pub assets_dir: Option<PathBuf>,
}

impl Default for Desktop {
    fn default() -> Self {
        Self {
            enabled: true,
            transport: herald_desktop::Transport::Bosh,
            notification_port: None,
            ping_secs: 20,
            drift_secs: 600,
            assets_dir: None,
        }
    }
}
