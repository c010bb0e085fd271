//! Every document the API serves and publishes, in Finesse's exact shapes (finesse-domain.md
//! §1.3–§1.8, §2): `User`, the Team summary user, `Dialog`, `Dialogs`, `Team`, `Queue`,
//! `Queues`, `ReasonCode(s)`, `SystemInfo`, `ApiErrors` and the notification `apiErrors`. Every
//! text that came from outside (names, call variables, labels) has characters outside XML 1.0
//! replaced. The agent documents live in `user`, calls in `dialog`, queues in `queue`;
//! this module holds the small ones and the shared helpers.

mod dialog;
mod queue;
mod user;

pub use dialog::{dialog, dialogs, participant_actions};
pub use queue::{queue, queues};
pub use user::{team, team_member, user};

use herald_xml::{Element, sanitize_text};

use crate::directory::ReasonCodeRecord;
use crate::path::BASE;
use crate::{ApiError, EpochMs};

/// Where a document goes: REST bodies have PascalCase roots (`<User>`, `<Dialogs>`),
/// notifications lower-case data roots (`<user>`, `<dialogs>`; `<Dialog>` stays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// A REST GET body.
    Rest,
    /// Inside an Update's `<data>`.
    Notification,
}

impl Case {
    /// `rest` for a REST body, `notification` inside an Update.
    fn pick(self, rest: &'static str, notification: &'static str) -> &'static str {
        match self {
            Self::Rest => rest,
            Self::Notification => notification,
        }
    }
}

/// What `SystemInfo` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemInfo {
    /// IN_SERVICE (true) or OUT_OF_SERVICE.
    pub in_service: bool,
    /// `statusReason` (empty when in service).
    pub status_reason: String,
    /// `currentTimestamp`.
    pub now: EpochMs,
    /// `deploymentType`: UCCE or UCCX.
    pub deployment_type: String,
    /// `xmppDomain`.
    pub xmpp_domain: String,
    /// `xmppPubSubDomain`.
    pub pubsub_domain: String,
    /// `primaryNode/host`.
    pub primary_host: String,
    /// `secondaryNode/host` (`None`: single node, element empty).
    pub secondary_host: Option<String>,
    /// `primaryNode/httpsPort` (the primary's REST port).
    pub primary_https_port: u16,
    /// `secondaryNode/httpsPort` (the secondary's REST port).
    pub secondary_https_port: u16,
    /// `xmppPort` of the nodes (client-to-server XMPP, usually 5222).
    pub xmpp_port: u16,
    /// `xmppSecurePort` of the nodes (direct TLS XMPP, usually 5223).
    pub xmpp_secure_port: u16,
    /// `timezoneOffset`, minutes east of GMT.
    pub timezone_offset_minutes: i32,
    /// `peripheralId`.
    pub peripheral_id: String,
}

/// An element with no namespace (Finesse documents carry none) and no children.
pub(crate) fn node(name: &str) -> Element {
    Element::new(name, "")
}

/// `<name>text</name>`, the text cleared of characters outside XML 1.0; empty text gives an
/// empty element (never an absent one).
pub(crate) fn leaf(name: &str, text: &str) -> Element {
    let e = node(name);
    if text.is_empty() { e } else { e.with_text(sanitize_text(text).into_owned()) }
}

/// `<name>` holding `children` in order.
pub(crate) fn parent(name: &str, children: impl IntoIterator<Item = Element>) -> Element {
    let mut e = node(name);
    for child in children {
        e.push_child(child);
    }
    e
}

/// A time, or the empty string when it is unknown.
pub(crate) fn time_or_empty(at: Option<EpochMs>) -> String {
    at.map(timestamp).unwrap_or_default()
}

/// `/finesse/api/ReasonCode/{id}`.
pub(crate) fn reason_code_uri(code: &ReasonCodeRecord) -> String {
    format!("{BASE}/ReasonCode/{}", code.id)
}

/// `<ReasonCode>` (finesse-domain.md §1.4: uri, category, code, label, forAll, systemCode, id).
pub fn reason_code(code: &ReasonCodeRecord) -> Element {
    parent(
        "ReasonCode",
        [
            leaf("uri", &reason_code_uri(code)),
            leaf("category", code.category.name()),
            leaf("code", &code.code.to_string()),
            leaf("label", &code.label),
            leaf("forAll", bool_name(code.for_all)),
            leaf("systemCode", bool_name(code.system)),
            leaf("id", &code.id.to_string()),
        ],
    )
}

/// `<ReasonCodes>` of these codes.
pub fn reason_codes(codes: &[&ReasonCodeRecord]) -> Element {
    parent("ReasonCodes", codes.iter().map(|c| reason_code(c)))
}

/// `true` / `false` as Finesse writes booleans.
pub(crate) fn bool_name(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// One live node of a Herald cluster as SystemInfo names it (issue 15): where a failing-over
/// desktop signs in (`https_port`, the node's REST listener, which serves the page and the API)
/// and where an XMPP client connects (`xmpp_port`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAddress {
    /// The host name desktops reach the node by.
    pub host: String,
    /// The node's REST port (`httpsPort`).
    pub https_port: u16,
    /// The node's client-to-server XMPP port (`xmppPort`).
    pub xmpp_port: u16,
}

/// `<SystemInfo>` (finesse-domain.md §1.8 order). A single node has a `secondaryNode` whose
/// `host` is empty, which is how the Finesse JS library tells it is single.
pub fn system_info(info: &SystemInfo) -> Element {
    cluster_system_info(info, &[])
}

/// `<SystemInfo>` of a cluster whose live nodes are `nodes` (in the order given: the driver
/// passes them sorted by node id). With none it is exactly [`system_info`]. Otherwise the
/// first node is the `primaryNode`, the second the `secondaryNode` (empty when alone), so a
/// Finesse client still sees a pair; and a Herald element after the standard ones,
/// `<nodes><node><host/><httpsPort/><xmppPort/></node>…</nodes>`, lists every node, so a
/// Herald desktop on the third node of three still has somewhere to fail over to (a Finesse
/// client ignores an element it does not know).
pub fn cluster_system_info(info: &SystemInfo, nodes: &[NodeAddress]) -> Element {
    let configured_primary =
        NodeAddress { host: info.primary_host.clone(), https_port: info.primary_https_port, xmpp_port: info.xmpp_port };
    let configured_secondary = info.secondary_host.as_ref().map(|host| NodeAddress {
        host: host.clone(),
        https_port: info.secondary_https_port,
        xmpp_port: info.xmpp_port,
    });
    let (primary, secondary) = match nodes {
        [] => (Some(&configured_primary), configured_secondary.as_ref()),
        [first, rest @ ..] => (Some(first), rest.first()),
    };
    let mut document = parent(
        "SystemInfo",
        [
            leaf("currentTimestamp", &timestamp(info.now)),
            leaf("deploymentType", &info.deployment_type),
            leaf("status", if info.in_service { "IN_SERVICE" } else { "OUT_OF_SERVICE" }),
            leaf("statusReason", &info.status_reason),
            leaf("xmppDomain", &info.xmpp_domain),
            leaf("xmppPubSubDomain", &info.pubsub_domain),
            pair_node("primaryNode", primary, info.xmpp_secure_port),
            pair_node("secondaryNode", secondary, info.xmpp_secure_port),
            leaf("peripheralId", &info.peripheral_id),
            leaf("timezoneOffset", &info.timezone_offset_minutes.to_string()),
            leaf("license", ""),
            leaf("systemAuthMode", ""),
            leaf("uri", &format!("{BASE}/SystemInfo")),
        ],
    );
    if !nodes.is_empty() {
        let listed = nodes.iter().map(|node| {
            parent(
                "node",
                [leaf("host", &node.host), leaf("httpsPort", &node.https_port.to_string()), leaf("xmppPort", &node.xmpp_port.to_string())],
            )
        });
        document.push_child(parent("nodes", listed));
    }
    document
}

/// `primaryNode` or `secondaryNode`: the node's host and ports, or every child empty when there
/// is no such node (a single node's `secondaryNode`). Herald knows one direct-TLS XMPP port,
/// the one this deployment reports for every node.
fn pair_node(name: &str, node: Option<&NodeAddress>, xmpp_secure_port: u16) -> Element {
    let (host, ports) = match node {
        Some(node) => (node.host.as_str(), [node.https_port, node.xmpp_port, xmpp_secure_port].map(|port| port.to_string())),
        None => ("", [String::new(), String::new(), String::new()]),
    };
    let [https_port, xmpp_port, secure_port] = ports;
    parent(name, [leaf("host", host), leaf("httpsPort", &https_port), leaf("xmppPort", &xmpp_port), leaf("xmppSecurePort", &secure_port)])
}

/// The HTTP error body `<ApiErrors><ApiError><ErrorType/><ErrorMessage/><ErrorData/>`.
pub fn api_errors_body(error: &ApiError) -> Element {
    let one =
        parent("ApiError", [leaf("ErrorType", &error.error_type), leaf("ErrorMessage", &error.message), leaf("ErrorData", &error.data)]);
    parent("ApiErrors", [one])
}

/// The notification error data `<apiErrors><apiError><errorType/><errorMessage/><errorData/>`.
pub fn api_errors_notification(error_type: &str, message: &str, data: &str) -> Element {
    let one = parent("apiError", [leaf("errorType", error_type), leaf("errorMessage", message), leaf("errorData", data)]);
    parent("apiErrors", [one])
}

/// The data of the POST event on `User/{id}/ClientLog` after a log is stored:
/// `<clientLog><fileName/><loginId/><storedTime/><uri/></clientLog>`. Finesse's own payload is
/// not public (finesse-domain.md §7.3); the desktop only waits for a POST on the node.
pub fn client_log_stored(login_id: &str, file_name: &str, at: EpochMs) -> Element {
    parent(
        "clientLog",
        [
            leaf("fileName", file_name),
            leaf("loginId", login_id),
            leaf("storedTime", &timestamp(at)),
            leaf("uri", &format!("{BASE}/User/{login_id}/ClientLog")),
        ],
    )
}

/// ISO 8601 UTC with milliseconds (`2012-03-01T17:58:21.234Z`), as Finesse writes times: the
/// XEP-0082 form the XMPP side already writes.
pub fn timestamp(at: EpochMs) -> String {
    herald_proto::time::format_timestamp(i64::try_from(at).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests;
