//! `herald doctor`: the seed's manual diagnosis of agent disconnects, automated. Sans-IO: the
//! admin listener gathers the evidence (close records from the store, lines of the info logs,
//! the live status) and [`diagnose`] names the cause of each disconnect with the lines that show
//! it — client side (one agent's requests stopped), server side (many sessions closed at once,
//! a cluster node lost with its sessions, a service down or not listening, the CTI link lost), bad input (stream errors), overload
//! (queue drops, overactivity). A short verdict first, then the evidence; [`Diagnosis`] is also
//! serialised as JSON for tools.

use serde::Serialize;

mod agents;
mod closes;
mod cti;
mod logs;
mod node_loss;
mod report;
mod rules;
mod time;
mod verdict;

/// One ended session, as the close records keep it (times in epoch ms).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Disconnect {
    /// The user's login id (JID localpart).
    pub user: String,
    /// The full JID.
    pub jid: String,
    /// `tcp`, `websocket`, `bosh`.
    pub transport: String,
    /// The client's address.
    pub source: String,
    /// When the session bound.
    pub opened_ms: u64,
    /// When it ended.
    pub closed_ms: u64,
    /// The close cause's name (`inactivity`, `client-terminate`, `connection-lost`,
    /// `server-shutdown`, `kicked`, a stream error condition, a BOSH transport error).
    pub cause: String,
    /// When the client last sent anything (0: unknown).
    pub last_request_ms: u64,
    /// Stanzas written to the client.
    pub stanzas_sent: u64,
    /// Stanzas dropped because its queue was full.
    pub dropped: u64,
    /// Bytes written to the client.
    pub bytes_sent: u64,
}

/// A service as the live status reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ServiceState {
    /// Its name (`HTTP bind`, `c2s`, `REST API`, `admin`, `CTI link`).
    pub name: String,
    /// Whether it runs.
    pub up: bool,
    /// The address it listens on, if it is a listener and listens.
    pub listening: Option<String>,
}

/// Everything the diagnosis reads.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Close records, any order.
    pub disconnects: Vec<Disconnect>,
    /// Lines of `notification/info.log` and `webservices/info.log` (and their debug logs when
    /// present), in file order; lines the doctor does not know are ignored.
    pub log_lines: Vec<String>,
    /// The services now (empty when the server is not running: then it is down).
    pub services: Vec<ServiceState>,
    /// Whether the server answered at all.
    pub server_running: bool,
    /// Now (epoch ms).
    pub now_ms: u64,
}

/// What to look at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Only this user's disconnects (a login id).
    pub user: Option<String>,
    /// Only what happened at or after this time (epoch ms).
    pub since_ms: u64,
}

/// The class of a cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    /// One agent's client stopped (network, sleeping PC, closed or hung browser).
    ClientSide,
    /// Many sessions ended together on the server's side (shutdown, crash, error), or a cluster
    /// node died holding them.
    ServerSide,
    /// A service is down or not listening on its port.
    ServiceDown,
    /// The CTI link was lost (OUT_OF_SERVICE).
    CtiLink,
    /// A client sent bad input (not-well-formed, invalid characters).
    BadInput,
    /// Overload: queue drops, overactivity.
    Overload,
    /// An administrator ended the session (`herald ctl kick`).
    Kicked,
    /// Nothing wrong found.
    Healthy,
}

/// One named cause with its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The class.
    pub kind: VerdictKind,
    /// Who or what it concerns (a user, a service, `everyone`).
    pub subject: String,
    /// One sentence: what happened and why.
    pub summary: String,
    /// The records and log lines that show it, as text.
    pub evidence: Vec<String>,
}

/// The diagnosis: verdicts, most important first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// The verdicts.
    pub verdicts: Vec<Verdict>,
}

impl Diagnosis {
    /// The report for people: a short verdict per cause first, then the evidence.
    pub fn to_text(&self) -> String {
        report::text(self)
    }

    /// The report for tools.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Names the cause of every disconnect in `evidence` that `query` selects.
pub fn diagnose(evidence: &Evidence, query: &Query) -> Diagnosis {
    Diagnosis { verdicts: rules::run(evidence, query) }
}
