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
            timezone_offset_minutes: 0,
            peripheral_id: "5000".into(),
            client_log_dir: PathBuf::from("logs/clientlogs"),
            basic_auth_cache_secs: 60,
            sim_seed: None,
        }
    }
}
