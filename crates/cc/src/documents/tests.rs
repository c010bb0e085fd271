//! Unit tests of the document builders: shapes, empty-vs-absent, sanitising, timestamps.

use herald_cti::{AgentState, CallSnapshot, CallState, CallType, FailureCause, Participant, ParticipantState, QueueRef, QueueStats};
use herald_xml::Element;

use super::*;
use crate::directory::{Directory, QueueRecord, ReasonCategory, ReasonCodeRecord, Role, TeamRecord, UserRecord};
use crate::model::AgentView;

fn names(e: &Element) -> Vec<&str> {
    e.elements().map(|c| c.name.as_str()).collect()
}

fn text_of(e: &Element, path: &[&str]) -> Option<String> {
    let mut cur = e;
    for p in path {
        cur = cur.child(p, "")?;
    }
    Some(cur.text())
}

fn directory() -> Directory {
    let mut dir = Directory::default();
    dir.put_team(TeamRecord { id: "500".into(), name: "Sales".into() });
    dir.put_team(TeamRecord { id: "501".into(), name: "Support".into() });
    dir.put_reason_code(ReasonCodeRecord {
        id: 16,
        category: ReasonCategory::NotReady,
        code: 10,
        label: "Team Meeting".into(),
        for_all: true,
        system: false,
    });
    let mut agent = UserRecord::agent("1001");
    agent.first_name = "Chris".into();
    agent.last_name = "Smith".into();
    agent.login_name = "csmith".into();
    agent.team_id = Some("500".into());
    dir.put_user(agent);
    let mut sup = UserRecord::agent("2001");
    sup.role = Role::Supervisor;
    sup.team_id = Some("500".into());
    sup.supervised_teams = vec!["500".into(), "501".into()];
    dir.put_user(sup);
    dir
}

fn not_ready_view() -> AgentView {
    AgentView {
        state: AgentState::NotReady,
        pending: None,
        reason_code_id: Some(16),
        extension: Some("1001001".into()),
        state_changed: Some(1_330_624_701_234),
    }
}

#[test]
fn timestamps_are_utc_with_millis() {
    assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(timestamp(1_330_624_701_234), "2012-03-01T17:58:21.234Z");
    assert_eq!(timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(timestamp(1_704_067_199_999), "2023-12-31T23:59:59.999Z");
    assert_eq!(timestamp(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
}

#[test]
fn user_has_every_field_in_order() {
    let dir = directory();
    let u = user(&dir, dir.user("1001").expect("user"), &not_ready_view(), Case::Rest);
    assert_eq!(u.name, "User");
    assert_eq!(
        names(&u),
        [
            "dialogs",
            "extension",
            "firstName",
            "lastName",
            "loginId",
            "loginName",
            "mediaType",
            "pendingState",
            "ReasonCode",
            "reasonCodeId",
            "roles",
            "settings",
            "state",
            "stateChangeTime",
            "teamId",
            "teamName",
            "teams",
            "uri"
        ]
    );
    assert_eq!(text_of(&u, &["reasonCodeId"]).as_deref(), Some("16"));
    assert_eq!(text_of(&u, &["ReasonCode", "label"]).as_deref(), Some("Team Meeting"));
    assert_eq!(text_of(&u, &["teamName"]).as_deref(), Some("Sales"));
    assert_eq!(text_of(&u, &["stateChangeTime"]).as_deref(), Some("2012-03-01T17:58:21.234Z"));
    assert_eq!(text_of(&u, &["uri"]).as_deref(), Some("/finesse/api/User/1001"));
    assert_eq!(u.child("teams", "").map(|t| t.elements().count()), Some(0));
    assert_eq!(u.child("roles", "").map(|r| r.elements().map(Element::text).collect::<Vec<_>>()), Some(vec!["Agent".into()]));
}

#[test]
fn logged_out_user_has_empty_fields_not_missing_ones() {
    let dir = directory();
    let u = user(&dir, dir.user("1001").expect("user"), &AgentView::default(), Case::Notification);
    assert_eq!(u.name, "user");
    assert!(u.child("ReasonCode", "").is_none());
    assert_eq!(text_of(&u, &["reasonCodeId"]).as_deref(), Some("-1"));
    for empty in ["extension", "pendingState", "stateChangeTime"] {
        assert_eq!(text_of(&u, &[empty]).as_deref(), Some(""), "{empty}");
    }
    assert_eq!(text_of(&u, &["state"]).as_deref(), Some("LOGOUT"));
}

#[test]
fn supervisor_lists_roles_and_teams() {
    let dir = directory();
    let u = user(&dir, dir.user("2001").expect("user"), &AgentView::default(), Case::Rest);
    let roles: Vec<String> = u.child("roles", "").map(|r| r.elements().map(Element::text).collect()).unwrap_or_default();
    assert_eq!(roles, ["Agent", "Supervisor"]);
    let teams = u.child("teams", "").expect("teams");
    let first = teams.elements().next().expect("a team");
    assert_eq!(names(first), ["id", "name", "uri"]);
    assert_eq!(
        teams.elements().map(|t| t.child("name", "").map(Element::text)).collect::<Vec<_>>(),
        [Some("Sales".into()), Some("Support".into())]
    );
}

#[test]
fn team_lists_member_summaries() {
    let dir = directory();
    let t = team(&dir, dir.team("500").expect("team"), &|id| if id == "1001" { not_ready_view() } else { AgentView::default() });
    assert_eq!(names(&t), ["id", "name", "uri", "users"]);
    let users: Vec<&Element> = t.child("users", "").expect("users").elements().collect();
    assert_eq!(users.len(), 2);
    assert_eq!(
        names(users[0]),
        ["dialogs", "extension", "firstName", "lastName", "loginId", "pendingState", "reasonCode", "state", "stateChangeTime", "uri"]
    );
    assert_eq!(names(users[0].child("reasonCode", "").expect("rc")), ["category", "code", "id", "label", "uri"]);
    assert!(users[1].child("reasonCode", "").is_none());
    let summary = team_member(&dir, dir.user("1001").expect("user"), &not_ready_view(), Case::Notification);
    assert_eq!(summary.name, "user");
}

fn call() -> CallSnapshot {
    CallSnapshot {
        id: 53_149_720,
        associated: None,
        from: "335892".into(),
        to: "215194".into(),
        state: CallState::Alerting,
        call_type: CallType::OtherIn,
        dialed_number: "215194".into(),
        queue: Some(QueueRef { id: "7".into(), name: "Sales".into() }),
        variables: vec![("callVariable1".into(), "Chuck\u{1}Smith".into()), ("user.bad".into(), "x\u{FFFE}".into())],
        wrap_up_reason: None,
        participants: vec![
            Participant {
                address: "215194".into(),
                agent: Some("1001".into()),
                state: ParticipantState::Alerting,
                cause: None,
                start: 1_507_911_475_401,
                state_changed: 1_507_911_475_401,
            },
            Participant {
                address: "335892".into(),
                agent: None,
                state: ParticipantState::Failed,
                cause: Some(FailureCause::Busy),
                start: 1_507_911_475_000,
                state_changed: 1_507_911_475_000,
            },
        ],
    }
}

#[test]
fn dialog_shape_and_actions() {
    let d = dialog(&call(), &|_| false);
    assert_eq!(
        names(&d),
        [
            "associatedDialogUri",
            "fromAddress",
            "id",
            "mediaProperties",
            "mediaType",
            "participants",
            "secondaryId",
            "state",
            "toAddress",
            "uri"
        ]
    );
    assert_eq!(text_of(&d, &["uri"]).as_deref(), Some("/finesse/api/Dialog/53149720"));
    assert_eq!(text_of(&d, &["associatedDialogUri"]).as_deref(), Some(""));
    assert_eq!(text_of(&d, &["mediaProperties", "queueNumber"]).as_deref(), Some("7"));
    let parts: Vec<&Element> = d.child("participants", "").expect("participants").elements().collect();
    assert_eq!(names(parts[0]), ["actions", "mediaAddress", "mediaAddressType", "startTime", "state", "stateCause", "stateChangeTime"]);
    assert_eq!(text_of(parts[0], &["mediaAddressType"]).as_deref(), Some("AGENT_DEVICE"));
    assert_eq!(parts[0].child("actions", "").map(|a| a.elements().map(Element::text).collect::<Vec<_>>()), Some(vec!["ANSWER".into()]));
    assert_eq!(text_of(parts[1], &["mediaAddressType"]).as_deref(), Some(""));
    assert_eq!(parts[1].child("actions", "").map(|a| a.elements().count()), Some(0), "outside parties get no actions");
    assert_eq!(text_of(parts[1], &["stateCause"]).as_deref(), Some("BUSY"));
    let mut assoc = call();
    assoc.associated = Some(9);
    assert_eq!(text_of(&dialog(&assoc, &|_| false), &["associatedDialogUri"]).as_deref(), Some("/finesse/api/Dialog/9"));
}

#[test]
fn call_variables_are_sanitised() {
    let d = dialog(&call(), &|_| false);
    let vars: Vec<String> = d
        .child("mediaProperties", "")
        .and_then(|m| m.child("callvariables", ""))
        .map(|c| c.elements().filter_map(|v| v.child("value", "").map(Element::text)).collect())
        .unwrap_or_default();
    assert_eq!(vars, ["Chuck\u{FFFD}Smith", "x\u{FFFD}"]);
    let xml = d.to_xml();
    assert!(xml.chars().all(herald_xml::is_xml_char));
}

#[test]
fn actions_follow_participant_state() {
    use ParticipantState as P;
    assert_eq!(participant_actions(P::Initiating, false), ["UPDATE_CALL_DATA", "DROP"]);
    assert_eq!(participant_actions(P::Initiated, true), ["UPDATE_CALL_DATA", "DROP"]);
    assert_eq!(participant_actions(P::Alerting, false), ["ANSWER"]);
    assert_eq!(participant_actions(P::Active, false), ["HOLD", "DROP", "UPDATE_CALL_DATA", "CONSULT_CALL", "SEND_DTMF"]);
    assert_eq!(participant_actions(P::Held, false), ["RETRIEVE", "DROP", "UPDATE_CALL_DATA"]);
    assert_eq!(participant_actions(P::Held, true), ["RETRIEVE", "DROP", "UPDATE_CALL_DATA", "TRANSFER", "CONFERENCE"]);
    assert_eq!(participant_actions(P::Failed, false), ["DROP"]);
    assert_eq!(participant_actions(P::WrapUp, false), ["UPDATE_CALL_DATA"]);
    assert!(participant_actions(P::Dropped, true).is_empty());
    assert!(participant_actions(P::Accepted, true).is_empty());
}

#[test]
fn held_agent_with_other_active_call_may_transfer() {
    let mut c = call();
    c.participants[0].state = ParticipantState::Held;
    let d = dialog(&c, &|agent| agent == "1001");
    let first = d.child("participants", "").and_then(|p| p.elements().next()).expect("participant");
    let actions: Vec<String> = first.child("actions", "").map(|a| a.elements().map(Element::text).collect()).unwrap_or_default();
    assert!(actions.contains(&"TRANSFER".to_owned()) && actions.contains(&"CONFERENCE".to_owned()));
}

#[test]
fn dialogs_case() {
    let c = call();
    assert_eq!(dialogs(&[&c], &|_| false, Case::Rest).name, "Dialogs");
    let n = dialogs(&[&c, &c], &|_| false, Case::Notification);
    assert_eq!(n.name, "dialogs");
    assert_eq!(names(&n), ["Dialog", "Dialog"]);
}

#[test]
fn queue_statistics_known_and_unknown() {
    let q = QueueRecord { id: "7".into(), name: "Sales".into(), teams: vec!["500".into()] };
    let stats = QueueStats {
        queue: "7".into(),
        calls_in_queue: 3,
        longest_since: Some(1_329_328_701_000),
        agents_ready: 2,
        ..QueueStats::default()
    };
    let known = queue(&q, Some(&stats));
    assert_eq!(names(&known), ["name", "statistics", "uri"]);
    assert_eq!(text_of(&known, &["statistics", "callsInQueue"]).as_deref(), Some("3"));
    assert_eq!(text_of(&known, &["statistics", "agentsNotReady"]).as_deref(), Some("0"));
    assert_eq!(text_of(&known, &["statistics", "startTimeOfLongestCallInQueue"]).as_deref(), Some("2012-02-15T17:58:21.000Z"));
    let unknown = queue(&q, None);
    let st = unknown.child("statistics", "").expect("statistics");
    assert_eq!(st.elements().count(), 11);
    for e in st.elements() {
        let want = if e.name == "startTimeOfLongestCallInQueue" { "" } else { "-1" };
        assert_eq!(e.text(), want, "{}", e.name);
    }
    assert_eq!(queues(&[(&q, None)], Case::Rest).name, "Queues");
    assert_eq!(queues(&[], Case::Notification).name, "queues");
}

#[test]
fn reason_code_documents() {
    let dir = directory();
    let rc = dir.reason_code(16).expect("rc");
    let e = reason_code(rc);
    assert_eq!(names(&e), ["uri", "category", "code", "label", "forAll", "systemCode", "id"]);
    assert_eq!(text_of(&e, &["forAll"]).as_deref(), Some("true"));
    assert_eq!(text_of(&e, &["systemCode"]).as_deref(), Some("false"));
    let all = reason_codes(&[rc, rc]);
    assert_eq!(all.name, "ReasonCodes");
    assert_eq!(names(&all), ["ReasonCode", "ReasonCode"]);
}

fn info() -> SystemInfo {
    SystemInfo {
        in_service: true,
        status_reason: String::new(),
        now: 1_704_103_200_000,
        deployment_type: "UCCX".into(),
        xmpp_domain: "finesse1.xyz.com".into(),
        pubsub_domain: "pubsub.finesse1.xyz.com".into(),
        primary_host: "finesse1.xyz.com".into(),
        secondary_host: None,
        primary_https_port: 8445,
        secondary_https_port: 8445,
        xmpp_port: 5222,
        xmpp_secure_port: 5223,
        timezone_offset_minutes: -480,
        peripheral_id: "5000".into(),
    }
}

#[test]
fn system_info_single_node() {
    let e = system_info(&info());
    assert_eq!(text_of(&e, &["currentTimestamp"]).as_deref(), Some("2024-01-01T10:00:00.000Z"));
    assert_eq!(text_of(&e, &["status"]).as_deref(), Some("IN_SERVICE"));
    assert_eq!(text_of(&e, &["primaryNode", "xmppPort"]).as_deref(), Some("5222"));
    assert_eq!(text_of(&e, &["primaryNode", "xmppSecurePort"]).as_deref(), Some("5223"));
    assert_eq!(text_of(&e, &["primaryNode", "httpsPort"]).as_deref(), Some("8445"));
    assert_eq!(text_of(&e, &["secondaryNode", "host"]).as_deref(), Some(""));
    assert_eq!(text_of(&e, &["timezoneOffset"]).as_deref(), Some("-480"));
    assert_eq!(text_of(&e, &["uri"]).as_deref(), Some("/finesse/api/SystemInfo"));
    let mut out = info();
    out.in_service = false;
    out.status_reason = "CTI link down".into();
    out.secondary_host = Some("finesse2.xyz.com".into());
    let e = system_info(&out);
    assert_eq!(text_of(&e, &["status"]).as_deref(), Some("OUT_OF_SERVICE"));
    assert_eq!(text_of(&e, &["statusReason"]).as_deref(), Some("CTI link down"));
    assert_eq!(text_of(&e, &["secondaryNode", "host"]).as_deref(), Some("finesse2.xyz.com"));
    assert_eq!(text_of(&e, &["secondaryNode", "httpsPort"]).as_deref(), Some("8445"));
}

#[test]
fn system_info_names_each_nodes_rest_port() {
    let mut pair = info();
    pair.secondary_host = Some("finesse2.xyz.com".into());
    pair.primary_https_port = 18445;
    pair.secondary_https_port = 28445;
    let e = system_info(&pair);
    assert_eq!(text_of(&e, &["primaryNode", "httpsPort"]).as_deref(), Some("18445"));
    assert_eq!(text_of(&e, &["secondaryNode", "httpsPort"]).as_deref(), Some("28445"), "a failing-over desktop signs in there");
    assert_eq!(text_of(&e, &["secondaryNode", "xmppPort"]).as_deref(), Some("5222"));
}

#[test]
fn api_errors_both_cases() {
    let body = api_errors_body(&ApiError::invalid_input("bad", "x\u{1}"));
    assert_eq!(
        body.to_xml(),
        "<ApiErrors><ApiError><ErrorType>Invalid Input</ErrorType><ErrorMessage>bad</ErrorMessage>\
         <ErrorData>x\u{FFFD}</ErrorData></ApiError></ApiErrors>"
    );
    let n = api_errors_notification("Invalid State", "CF_INVALID_OBJECT_STATE", "22");
    assert_eq!(
        n.to_xml(),
        "<apiErrors><apiError><errorType>Invalid State</errorType><errorMessage>CF_INVALID_OBJECT_STATE</errorMessage>\
         <errorData>22</errorData></apiError></apiErrors>"
    );
}

#[test]
fn client_log_event_data() {
    let e = client_log_stored("1001", "1001_2012-03-01T17-58-21.234Z.log", 1_330_624_701_234);
    assert_eq!(names(&e), ["fileName", "loginId", "storedTime", "uri"]);
    assert_eq!(text_of(&e, &["uri"]).as_deref(), Some("/finesse/api/User/1001/ClientLog"));
    assert_eq!(text_of(&e, &["storedTime"]).as_deref(), Some("2012-03-01T17:58:21.234Z"));
}

#[test]
fn names_from_outside_are_sanitised() {
    let mut dir = directory();
    let mut u = UserRecord::agent("3001");
    u.first_name = "Ann\u{1}".into();
    u.last_name = "B\u{FFFE}".into();
    dir.put_user(u);
    let doc = user(&dir, dir.user("3001").expect("user"), &AgentView::default(), Case::Rest);
    assert_eq!(text_of(&doc, &["firstName"]).as_deref(), Some("Ann\u{FFFD}"));
    assert_eq!(text_of(&doc, &["lastName"]).as_deref(), Some("B\u{FFFD}"));
}
