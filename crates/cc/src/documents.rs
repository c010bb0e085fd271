//! Every document the API serves and publishes, in Finesse's exact shapes (finesse-domain.md
//! §1.3–§1.8, §2): `User`, the Team summary user, `Dialog`, `Dialogs`, `Team`, `Queue`,
//! `Queues`, `ReasonCode(s)`, `SystemInfo`, `ApiErrors` and the notification `apiErrors`. Every
//! text that came from outside (names, call variables, labels) has characters outside XML 1.0
//! replaced. OWNED BY THE WIRE SLICE — signatures agreed, bodies to write.

use herald_cti::{CallSnapshot, ParticipantState, QueueStats};
use herald_xml::Element;

use crate::directory::{Directory, QueueRecord, ReasonCodeRecord, TeamRecord, UserRecord};
use crate::model::AgentView;
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
    /// `httpsPort` of the nodes (the API listener's port).
    pub https_port: u16,
    /// `timezoneOffset`, minutes east of GMT.
    pub timezone_offset_minutes: i32,
    /// `peripheralId`.
    pub peripheral_id: String,
}

/// `<User>` (REST) or `<user>` (User node notification): every field clients read.
pub fn user(dir: &Directory, user: &UserRecord, view: &AgentView, case: Case) -> Element {
    let _ = (dir, user, view, case);
    todo!("wire slice")
}

/// The summary `<User>` inside `<Team><users>` (REST) or `<user>` on `Team/{id}/Users`.
pub fn team_member(dir: &Directory, user: &UserRecord, view: &AgentView, case: Case) -> Element {
    let _ = (dir, user, view, case);
    todo!("wire slice")
}

/// `<Team>` with its members' summaries; `view_of` gives each member's state.
pub fn team(dir: &Directory, team: &TeamRecord, view_of: &dyn Fn(&str) -> AgentView) -> Element {
    let _ = (dir, team, view_of);
    todo!("wire slice")
}

/// The actions a participant in `state` may take (finesse-domain.md §1.5);
/// `other_call_active`: the agent has another active call (TRANSFER/CONFERENCE from HELD).
pub fn participant_actions(state: ParticipantState, other_call_active: bool) -> Vec<&'static str> {
    let _ = (state, other_call_active);
    todo!("wire slice")
}

/// `<Dialog>` (both cases); `other_call_active(agent)` as for [`participant_actions`].
pub fn dialog(call: &CallSnapshot, other_call_active: &dyn Fn(&str) -> bool) -> Element {
    let _ = (call, other_call_active);
    todo!("wire slice")
}

/// `<Dialogs>` (REST) or `<dialogs>` (notification) holding these dialogs.
pub fn dialogs(calls: &[&CallSnapshot], other_call_active: &dyn Fn(&str) -> bool, case: Case) -> Element {
    let _ = (calls, other_call_active, case);
    todo!("wire slice")
}

/// `<Queue>` with statistics (`None`: not assigned / unknown ⇒ -1 everywhere).
pub fn queue(queue: &QueueRecord, stats: Option<&QueueStats>) -> Element {
    let _ = (queue, stats);
    todo!("wire slice")
}

/// `<Queues>` (REST) or `<queues>` (notification).
pub fn queues(list: &[(&QueueRecord, Option<&QueueStats>)], case: Case) -> Element {
    let _ = (list, case);
    todo!("wire slice")
}

/// `<ReasonCode>`.
pub fn reason_code(code: &ReasonCodeRecord) -> Element {
    let _ = code;
    todo!("wire slice")
}

/// `<ReasonCodes>` of these codes.
pub fn reason_codes(codes: &[&ReasonCodeRecord]) -> Element {
    let _ = codes;
    todo!("wire slice")
}

/// `<SystemInfo>`.
pub fn system_info(info: &SystemInfo) -> Element {
    let _ = info;
    todo!("wire slice")
}

/// The HTTP error body `<ApiErrors><ApiError><ErrorType/><ErrorMessage/><ErrorData/>`.
pub fn api_errors_body(error: &ApiError) -> Element {
    let _ = error;
    todo!("wire slice")
}

/// The notification error data `<apiErrors><apiError><errorType/><errorMessage/><errorData/>`.
pub fn api_errors_notification(error_type: &str, message: &str, data: &str) -> Element {
    let _ = (error_type, message, data);
    todo!("wire slice")
}

/// The data of the POST event on `User/{id}/ClientLog` after a log is stored.
pub fn client_log_stored(login_id: &str, file_name: &str, at: EpochMs) -> Element {
    let _ = (login_id, file_name, at);
    todo!("wire slice")
}

/// ISO 8601 UTC with milliseconds (`2012-03-01T17:58:21.234Z`), as Finesse writes times.
pub fn timestamp(at: EpochMs) -> String {
    let _ = at;
    todo!("wire slice")
}
