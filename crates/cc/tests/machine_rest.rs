//! The machine's REST side: state-changing requests forwarded to the CTI side, GETs, and every
//! refusal (503, 401, 404, 405, 400).

mod machine_support;

use herald_cc::{Effect, Method, RestCall};
use herald_cti::{AgentState, CallAction, CallState, CtiEvent, CtiRequest, ParticipantState, RequestedState};
use machine_support::*;

const LOGIN: &str = "<User><state>LOGIN</state><extension>1001</extension></User>";
const READY: &str = "<User><state>READY</state></User>";

#[test]
fn login_is_accepted_and_forwarded_with_a_fresh_tag() {
    let mut cc = machine();
    let answer = put(&mut cc, "1001", "User/1001", LOGIN);
    assert_eq!((answer.status, answer.body), (202, None));
    let CtiRequest::AgentState { tag, agent, state, reason_code, forced } = only_cti(&mut cc) else { panic!("not a state request") };
    assert_eq!(agent, "1001");
    assert_eq!(state, RequestedState::Login { extension: "1001".into() });
    assert_eq!((reason_code, forced), (None, false));
    put(&mut cc, "1001", "User/1001", READY);
    assert_ne!(only_cti(&mut cc).tag(), tag, "every request has its own tag");
}

#[test]
fn login_ids_match_in_any_case() {
    let mut cc = machine();
    assert_eq!(put(&mut cc, "ALICE", "User/alice", "<User><state>LOGIN</state><extension>3001</extension></User>").status, 202);
    let CtiRequest::AgentState { agent, .. } = only_cti(&mut cc) else { panic!() };
    assert_eq!(agent, "alice");
    assert_eq!(get(&mut cc, "alice", "User/ALICE").status, 200);
}

#[test]
fn reason_codes_are_checked_and_their_code_forwarded() {
    let mut cc = machine();
    assert_eq!(put(&mut cc, "1001", "User/1001", "<User><state>NOT_READY</state><reasonCodeId>1</reasonCodeId></User>").status, 202);
    let CtiRequest::AgentState { state, reason_code, .. } = only_cti(&mut cc) else { panic!() };
    assert_eq!((state, reason_code), (RequestedState::NotReady, Some(10)));
    assert_eq!(put(&mut cc, "1001", "User/1001", "<User><state>LOGOUT</state><reasonCodeId>2</reasonCodeId></User>").status, 202);
    let CtiRequest::AgentState { state, reason_code, .. } = only_cti(&mut cc) else { panic!() };
    assert_eq!((state, reason_code), (RequestedState::Logout, Some(20)));
    // Wrong category, system code, unknown id.
    for (state, id) in [("NOT_READY", 2), ("LOGOUT", 1), ("NOT_READY", 3), ("LOGOUT", 4), ("NOT_READY", 99)] {
        let body = format!("<User><state>{state}</state><reasonCodeId>{id}</reasonCodeId></User>");
        assert_eq!(refusal(&put(&mut cc, "1001", "User/1001", &body)), (400, "Invalid Input".into()), "{state} {id}");
        assert!(effects(&mut cc).is_empty());
    }
}

#[test]
fn agents_act_only_on_their_own_objects() {
    let mut cc = machine();
    let wrong = (401, "Invalid Authorization User Specified".to_string());
    for path in
        ["User/1002", "User/1002/Dialogs", "User/1002/Queues", "User/1002/ReasonCodes", "User/1002/ReasonCode/1", "User/nobody", "Team/t1"]
    {
        assert_eq!(refusal(&get(&mut cc, "1001", path)), wrong, "{path}");
    }
    assert_eq!(refusal(&put(&mut cc, "1001", "User/1002", READY)), wrong);
    // An id that names nobody is refused the same way: existence is not revealed.
    assert_eq!(refusal(&put(&mut cc, "1001", "User/nobody", READY)), wrong);
    assert_eq!(refusal(&post(&mut cc, "1001", "User/1002/ClientLog", "<ClientLog><logData>x</logData></ClientLog>")), wrong);
    assert_eq!(refusal(&get(&mut cc, "1001", "Queue/q2")), wrong);
    assert!(effects(&mut cc).is_empty());
}

#[test]
fn supervisors_read_their_teams_and_set_only_ready_or_logout() {
    let mut cc = machine();
    for path in ["User/1001", "User/1002/Dialogs", "User/1001/Queues", "Team/t1", "Queue/q1", "User/1001/ReasonCodes"] {
        assert_eq!(get(&mut cc, "2001", path).status, 200, "{path}");
    }
    assert_eq!(put(&mut cc, "2001", "User/1001", READY).status, 202);
    let CtiRequest::AgentState { agent, state, .. } = only_cti(&mut cc) else { panic!() };
    assert_eq!((agent.as_str(), state), ("1001", RequestedState::Ready));
    assert_eq!(put(&mut cc, "2001", "User/1002", "<User><state>LOGOUT</state><reasonCodeId>2</reasonCodeId></User>").status, 202);
    assert!(matches!(only_cti(&mut cc), CtiRequest::AgentState { state: RequestedState::Logout, reason_code: Some(20), .. }));

    let invalid = (401, "Invalid Supervisor".to_string());
    assert_eq!(refusal(&put(&mut cc, "2001", "User/1001", "<User><state>NOT_READY</state></User>")), invalid);
    assert_eq!(refusal(&put(&mut cc, "2001", "User/1001", LOGIN)), invalid);
    for path in ["User/1003", "User/alice/Dialogs", "Team/t2", "Queue/q2", "User/nobody"] {
        assert_eq!(refusal(&get(&mut cc, "2001", path)), invalid, "{path}");
    }
    assert_eq!(refusal(&put(&mut cc, "2001", "User/1003", READY)), invalid);
    assert_eq!(refusal(&post(&mut cc, "2001", "User/1001/ClientLog", "<ClientLog><logData>x</logData></ClientLog>")), invalid);
    let make_call =
        "<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>1001</fromAddress><toAddress>1002</toAddress></Dialog>";
    assert_eq!(refusal(&post(&mut cc, "2001", "User/1001/Dialogs", make_call)), invalid);
    assert!(effects(&mut cc).is_empty());
}

#[test]
fn callers_outside_the_contact_center_are_refused() {
    let mut cc = machine();
    for answer in [get(&mut cc, "stranger", "SystemInfo"), put(&mut cc, "stranger", "User/stranger", READY)] {
        assert_eq!(refusal(&answer), (401, "Authorization Failure".into()));
    }
}

#[test]
fn unknown_objects_are_not_found() {
    let mut cc = machine();
    for path in
        ["Dialog/42", "Dialog/abc", "ReasonCode/99", "ReasonCode/3", "User/1001/ReasonCode/4", "Queue/q9", "Users", "User/1001/Nothing"]
    {
        assert_eq!(refusal(&get(&mut cc, "1001", path)).0, 404, "{path}");
    }
}

#[test]
fn methods_outside_each_resource_are_refused() {
    let mut cc = machine();
    let cases = [
        (Method::Get, "User/1001/ClientLog"),
        (Method::Put, "User/1001/ClientLog"),
        (Method::Put, "SystemInfo"),
        (Method::Post, "ReasonCodes"),
        (Method::Put, "Team/t1"),
        (Method::Post, "Queue/q1"),
        (Method::Post, "User/1001"),
        (Method::Delete, "User/1001"),
        (Method::Put, "User/1001/Dialogs"),
        (Method::Post, "Dialog/1"),
        (Method::Other, "User/1001"),
    ];
    for (method, path) in cases {
        let answer = cc.handle_rest(T0, "1001", call(method, &format!("/finesse/api/{path}"), READY));
        assert_eq!(refusal(&answer), (405, "Method Not Allowed".into()), "{method:?} {path}");
    }
}

#[test]
fn bodies_need_an_xml_content_type() {
    let mut cc = machine();
    for content_type in [None, Some("application/json"), Some("text/plain; charset=utf-8"), Some("")] {
        let answer = cc.handle_rest(
            T0,
            "1001",
            RestCall { content_type: content_type.map(str::to_owned), ..call(Method::Put, "/finesse/api/User/1001", READY) },
        );
        assert_eq!(refusal(&answer), (400, "Invalid Input".into()), "{content_type:?}");
    }
    for content_type in ["text/xml", "application/xml; charset=UTF-8"] {
        let answer = cc.handle_rest(
            T0,
            "1001",
            RestCall { content_type: Some(content_type.into()), ..call(Method::Put, "/finesse/api/User/1001", READY) },
        );
        assert_eq!(answer.status, 202, "{content_type}");
    }
    assert_eq!(effects(&mut cc).len(), 2);
}

#[test]
fn bad_bodies_are_refused_and_change_nothing() {
    let mut cc = machine();
    for body in ["", "<User>", "<User><state>DANCING</state></User>", "<User><state>READY</state><bogus/></User>", "not xml"] {
        assert_eq!(refusal(&put(&mut cc, "1001", "User/1001", body)).0, 400, "{body}");
    }
    assert_eq!(refusal(&post(&mut cc, "1001", "User/1001/ClientLog", "<ClientLog/>")).0, 400);
    assert_eq!(refusal(&post(&mut cc, "1001", "User/1001/Dialogs", "<Dialog/>")).0, 400);
    assert!(effects(&mut cc).is_empty());
}

#[test]
fn out_of_service_answers_503_but_for_system_info() {
    let mut cc = machine();
    cc.set_in_service(T0, false, "CTI link down");
    effects(&mut cc);
    assert_eq!(refusal(&put(&mut cc, "1001", "User/1001", READY)), (503, "Service Unavailable".into()));
    assert_eq!(refusal(&get(&mut cc, "1001", "User/1001")).0, 503);
    assert_eq!(refusal(&get(&mut cc, "stranger", "User/1001")).0, 503);
    let info = get(&mut cc, "1001", "SystemInfo");
    assert_eq!(info.status, 200);
    assert!(info.body.unwrap_or_default().contains("OUT_OF_SERVICE"));
    assert!(effects(&mut cc).is_empty());
    cc.set_in_service(T0, true, "");
    effects(&mut cc);
    assert_eq!(get(&mut cc, "1001", "User/1001").status, 200);
}

#[test]
fn make_call_must_come_from_the_signed_in_extension() {
    let mut cc = machine();
    let body = |from: &str, to: &str| {
        format!("<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>{from}</fromAddress><toAddress>{to}</toAddress></Dialog>")
    };
    // Logged out: no extension to call from.
    assert_eq!(refusal(&post(&mut cc, "1001", "User/1001/Dialogs", &body("1001", "1002"))).0, 400);
    signed_in(&mut cc, "1001", "1001");
    assert_eq!(refusal(&post(&mut cc, "1001", "User/1001/Dialogs", &body("1001", "1001"))), (400, "Invalid Destination".into()));
    assert_eq!(refusal(&post(&mut cc, "1001", "User/1001/Dialogs", &body("1009", "1002"))), (400, "Invalid Input".into()));
    assert_eq!(post(&mut cc, "1001", "User/1001/Dialogs", &body("1001", "1002")).status, 202);
    let CtiRequest::MakeCall { agent, from, to, .. } = only_cti(&mut cc) else { panic!() };
    assert_eq!((agent.as_str(), from.as_str(), to.as_str()), ("1001", "1001", "1002"));
    // As Cisco's sample does: the extension names the agent.
    signed_in(&mut cc, "alice", "3001");
    assert_eq!(post(&mut cc, "alice", "User/3001/Dialogs", &body("3001", "1002")).status, 202);
    let CtiRequest::MakeCall { agent, .. } = only_cti(&mut cc) else { panic!() };
    assert_eq!(agent, "alice");
    assert_eq!(refusal(&post(&mut cc, "1001", "User/3001/Dialogs", &body("1001", "1002"))).0, 401);
}

#[test]
fn dialog_actions_need_a_participant() {
    let mut cc = machine();
    let snapshot = a_call(
        77,
        CallState::Alerting,
        vec![participant("1001", Some("1001"), ParticipantState::Alerting), participant("5550100", None, ParticipantState::Active)],
    );
    cc.handle_cti(T0, CtiEvent::Call { tag: None, snapshot });
    effects(&mut cc);
    let answer = "<Dialog><requestedAction>ANSWER</requestedAction><targetMediaAddress>1001</targetMediaAddress></Dialog>";
    assert_eq!(put(&mut cc, "1001", "Dialog/77", answer).status, 202);
    let CtiRequest::CallControl { agent, call, action, .. } = only_cti(&mut cc) else { panic!() };
    assert_eq!((agent.as_str(), call, action), ("1001", 77, CallAction::Answer));

    assert_eq!(refusal(&put(&mut cc, "1002", "Dialog/77", answer)), (401, "Invalid Authorization User Specified".into()));
    assert_eq!(refusal(&put(&mut cc, "2001", "Dialog/77", answer)), (401, "Invalid Supervisor".into()));
    assert_eq!(refusal(&put(&mut cc, "1001", "Dialog/78", answer)).0, 404);
    let other_device = "<Dialog><requestedAction>ANSWER</requestedAction><targetMediaAddress>1002</targetMediaAddress></Dialog>";
    assert_eq!(refusal(&put(&mut cc, "1001", "Dialog/77", other_device)).0, 400);
    assert!(effects(&mut cc).is_empty());
    // Reading: the participant and its supervisor, nobody else.
    assert_eq!(get(&mut cc, "1001", "Dialog/77").status, 200);
    assert_eq!(get(&mut cc, "2001", "Dialog/77").status, 200);
    assert_eq!(refusal(&get(&mut cc, "1003", "Dialog/77")).0, 401);
    let dialogs = get(&mut cc, "1001", "User/1001/Dialogs").body.unwrap_or_default();
    assert!(dialogs.starts_with("<Dialogs") && dialogs.contains("<id>77</id>"), "{dialogs}");
}

#[test]
fn gets_render_the_documents() {
    let mut cc = machine();
    cc.handle_cti(T0, agent_event(None, snapshot("1001", AgentState::NotReady, Some("1001"), Some(10))));
    let user = get(&mut cc, "1001", "User/1001").body.unwrap_or_default();
    assert!(user.starts_with("<User"), "{user}");
    assert!(user.contains("<state>NOT_READY</state>") && user.contains("<reasonCodeId>1</reasonCodeId>"), "{user}");

    let codes = get(&mut cc, "1001", "ReasonCodes?category=NOT_READY").body.unwrap_or_default();
    assert!(codes.contains("Lunch") && !codes.contains("End of shift") && !codes.contains("Forced"), "{codes}");
    let all = get(&mut cc, "1001", "User/1001/ReasonCodes").body.unwrap_or_default();
    assert!(all.contains("Lunch") && all.contains("End of shift") && !all.contains("Forced"), "{all}");
    assert_eq!(refusal(&get(&mut cc, "1001", "ReasonCodes?category=LUNCH")), (400, "Invalid Input".into()));
    assert_eq!(refusal(&get(&mut cc, "1001", "User/1001/ReasonCodes?category=x")).0, 400);
    assert!(get(&mut cc, "1001", "ReasonCode/2").body.unwrap_or_default().contains("End of shift"));
    assert!(get(&mut cc, "1001", "User/1001/ReasonCode/1").body.unwrap_or_default().contains("Lunch"));

    let queues = get(&mut cc, "1001", "User/1001/Queues").body.unwrap_or_default();
    assert!(queues.contains("Sales Q") && !queues.contains("Support Q"), "{queues}");
    assert!(get(&mut cc, "1001", "Queue/q1").body.unwrap_or_default().contains("Sales Q"));
    let team = get(&mut cc, "2001", "Team/t1").body.unwrap_or_default();
    assert!(team.contains("1001") && team.contains("1002") && !team.contains("1003"), "{team}");

    let info = cc.handle_rest(T0 + 5, "1001", call(Method::Get, "/finesse/api/SystemInfo?nocache=1", ""));
    let info = info.body.unwrap_or_default();
    assert!(info.contains("IN_SERVICE") && info.contains("fin1.example") && info.contains("2023-11-14T22:13:20.005Z"), "{info}");
}

#[test]
fn client_logs_are_stored_then_announced() {
    let mut cc = machine();
    let answer = post(&mut cc, "1001", "User/1001/ClientLog", "<ClientLog><logData>line one</logData></ClientLog>");
    assert_eq!((answer.status, answer.body), (202, None));
    let effects = effects(&mut cc);
    let [Effect::StoreClientLog { file_name, text, node, payload }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(file_name, "1001_20231114T221320.000.log");
    assert_eq!(text, "line one");
    assert_eq!(node, "/finesse/api/User/1001/ClientLog");
    let update = parse_update(node, payload);
    assert_eq!((update.event.as_str(), update.source.as_str(), update.request_id.as_str()), ("POST", node.as_str(), "req-1"));
}
