//! A small contact center for the machine tests: two teams, two queues, reason codes (two of
//! them system codes), agents 1001–1003 and `Alice`, supervisor 2001 of team t1; and helpers to
//! call it and read what it publishes.
#![allow(dead_code, unreachable_pub)]

use herald_cc::{
    CcConfig, ContactCenter, Directory, Effect, Method, QueueRecord, ReasonCategory, ReasonCodeRecord, RestAnswer, RestCall, Role,
    TeamRecord, UserRecord,
};
use herald_cti::{
    AgentSnapshot, AgentState, CallSnapshot, CallState, CallType, CtiEvent, CtiRequest, Participant, ParticipantState, RequestTag,
};
use herald_xml::{Element, Limits, parse_document};

pub const T0: u64 = 1_700_000_000_000;

pub fn config() -> CcConfig {
    CcConfig {
        xmpp_domain: "fin1.example".into(),
        pubsub_domain: "pubsub.fin1.example".into(),
        deployment_type: "UCCE".into(),
        primary_host: "fin1.example".into(),
        secondary_host: None,
        primary_https_port: 8445,
        secondary_https_port: 8445,
        timezone_offset_minutes: 60,
        peripheral_id: "5000".into(),
        presence_logout: Default::default(),
        link: Default::default(),
    }
}

pub fn agent(id: &str, team: &str, ext: &str) -> UserRecord {
    UserRecord { team_id: Some(team.into()), extension: Some(ext.into()), first_name: format!("F{id}"), ..UserRecord::agent(id) }
}

pub fn directory() -> Directory {
    let mut dir = Directory::default();
    dir.put_team(TeamRecord { id: "t1".into(), name: "Sales".into() });
    dir.put_team(TeamRecord { id: "t2".into(), name: "Support".into() });
    dir.put_queue(QueueRecord { id: "q1".into(), name: "Sales Q".into(), teams: vec!["t1".into()] });
    dir.put_queue(QueueRecord { id: "q2".into(), name: "Support Q".into(), teams: vec!["t2".into()] });
    let code =
        |id, category, code, label: &str, system| ReasonCodeRecord { id, category, code, label: label.into(), for_all: true, system };
    dir.put_reason_code(code(1, ReasonCategory::NotReady, 10, "Lunch", false));
    dir.put_reason_code(code(2, ReasonCategory::Logout, 20, "End of shift", false));
    dir.put_reason_code(code(3, ReasonCategory::NotReady, 255, "Forced", true));
    dir.put_reason_code(code(4, ReasonCategory::Logout, 255, "Forced", true));
    dir.put_user(agent("1001", "t1", "1001"));
    dir.put_user(agent("1002", "t1", "1002"));
    dir.put_user(agent("1003", "t2", "1003"));
    dir.put_user(agent("Alice", "t2", "3001"));
    dir.put_user(UserRecord { role: Role::Supervisor, supervised_teams: vec!["t1".into()], ..agent("2001", "t1", "2001") });
    dir
}

pub fn machine() -> ContactCenter {
    ContactCenter::new(config(), directory())
}

pub fn call(method: Method, target: &str, body: &str) -> RestCall {
    RestCall {
        method,
        target: target.into(),
        request_id: Some("req-1".into()),
        content_type: Some("application/xml".into()),
        body: body.as_bytes().to_vec(),
    }
}

pub fn get(cc: &mut ContactCenter, caller: &str, path: &str) -> RestAnswer {
    cc.handle_rest(T0, caller, call(Method::Get, &format!("/finesse/api/{path}"), ""))
}

pub fn put(cc: &mut ContactCenter, caller: &str, path: &str, body: &str) -> RestAnswer {
    cc.handle_rest(T0, caller, call(Method::Put, &format!("/finesse/api/{path}"), body))
}

pub fn post(cc: &mut ContactCenter, caller: &str, path: &str, body: &str) -> RestAnswer {
    cc.handle_rest(T0, caller, call(Method::Post, &format!("/finesse/api/{path}"), body))
}

pub fn effects(cc: &mut ContactCenter) -> Vec<Effect> {
    std::iter::from_fn(|| cc.poll_effect()).collect()
}

/// The one CTI request queued, and nothing else.
pub fn only_cti(cc: &mut ContactCenter) -> CtiRequest {
    match effects(cc).as_slice() {
        [Effect::Cti(request)] => request.clone(),
        other => panic!("expected one CTI request, got {other:?}"),
    }
}

/// An error answer's status and `ErrorType`.
pub fn refusal(answer: &RestAnswer) -> (u16, String) {
    let body = answer.body.as_deref().expect("an error body");
    let root = parse_document(body.as_bytes(), Limits::default()).expect("error body parses");
    assert_eq!(root.name, "ApiErrors", "{body}");
    let error = root.child("ApiError", &root.ns).expect("ApiError");
    (answer.status, error.child("ErrorType", &root.ns).expect("ErrorType").text())
}

/// A published Update, parsed.
#[derive(Debug)]
pub struct Update {
    pub node: String,
    pub event: String,
    pub request_id: String,
    pub source: String,
    pub data: Element,
    pub text: String,
}

pub fn parse_update(node: &str, payload: &Element) -> Update {
    assert_eq!(payload.name, "notification");
    assert_eq!(payload.ns, "http://jabber.org/protocol/pubsub");
    let text = payload.text();
    let root = parse_document(text.as_bytes(), Limits::default()).expect("the Update parses");
    assert_eq!(root.name, "Update", "{text}");
    let field = |name: &str| root.child(name, &root.ns).map(|e| e.text()).unwrap_or_else(|| panic!("no {name} in {text}"));
    let data = root.child("data", &root.ns).and_then(|d| d.elements().next().cloned()).expect("data holds an element");
    Update { node: node.into(), event: field("event"), request_id: field("requestId"), source: field("source"), data, text: text.clone() }
}

/// Every publish queued (client logs included), parsed.
pub fn updates(cc: &mut ContactCenter) -> Vec<Update> {
    effects(cc)
        .iter()
        .filter_map(|e| match e {
            Effect::Publish { node, payload } | Effect::StoreClientLog { node, payload, .. } => Some(parse_update(node, payload)),
            Effect::Log(_) => None,
            Effect::Cti(r) => panic!("unexpected CTI request {r:?}"),
        })
        .collect()
}

/// The text of a child element (`None`: absent).
pub fn child_text(el: &Element, name: &str) -> Option<String> {
    el.child(name, &el.ns).map(Element::text)
}

pub fn snapshot(agent: &str, state: AgentState, extension: Option<&str>, reason: Option<u16>) -> AgentSnapshot {
    AgentSnapshot { agent: agent.into(), state, pending: None, reason_code: reason, extension: extension.map(str::to_owned), since: T0 }
}

pub fn agent_event(tag: Option<RequestTag>, snapshot: AgentSnapshot) -> CtiEvent {
    CtiEvent::Agent { tag, snapshot }
}

/// Signs `agent` in on `ext` as the CTI side would report it (no request).
pub fn signed_in(cc: &mut ContactCenter, agent: &str, ext: &str) {
    cc.handle_cti(T0, agent_event(None, snapshot(agent, AgentState::NotReady, Some(ext), None)));
    effects(cc);
}

pub fn participant(address: &str, agent: Option<&str>, state: ParticipantState) -> Participant {
    Participant { address: address.into(), agent: agent.map(str::to_owned), state, cause: None, start: T0, state_changed: T0 }
}

/// A call from an outside number to the given agent participants.
pub fn a_call(id: u64, state: CallState, participants: Vec<Participant>) -> CallSnapshot {
    CallSnapshot {
        id,
        associated: None,
        from: "5550100".into(),
        to: "1001".into(),
        state,
        call_type: CallType::AcdIn,
        dialed_number: "1001".into(),
        queue: None,
        variables: vec![("callVariable1".into(), "Chuck".into())],
        wrap_up_reason: None,
        participants,
    }
}

/// What a step of the machine produced, split by kind (order kept within each kind).
#[derive(Debug, Default)]
pub struct Out {
    pub logs: Vec<herald_cc::WsLog>,
    pub cti: Vec<CtiRequest>,
    pub updates: Vec<Update>,
}

/// Drains every effect queued, split by kind.
pub fn drain(cc: &mut ContactCenter) -> Out {
    let mut out = Out::default();
    for effect in effects(cc) {
        match effect {
            Effect::Log(line) => out.logs.push(line),
            Effect::Cti(request) => out.cti.push(request),
            Effect::Publish { node, payload } | Effect::StoreClientLog { node, payload, .. } => {
                out.updates.push(parse_update(&node, &payload))
            }
        }
    }
    out
}

/// A machine with these presence-logout and link settings.
pub fn machine_with(presence: herald_cc::PresenceLogoutConfig, link: herald_cc::LinkConfig) -> ContactCenter {
    ContactCenter::new(CcConfig { presence_logout: presence, link, ..config() }, directory())
}

/// Runs the fake clock up to `until`: every deadline `poll_timeout` gives on the way is handled
/// at exactly that time. Returns what happened, with the time of each step.
pub fn run_until(cc: &mut ContactCenter, until: u64) -> Vec<(u64, Out)> {
    let mut steps = Vec::new();
    while let Some(deadline) = cc.poll_timeout().filter(|d| *d <= until) {
        cc.handle_timeout(deadline);
        steps.push((deadline, drain(cc)));
    }
    steps
}

/// Puts `agent` in `state` on its own extension, as the CTI side reports it (no request).
pub fn in_state(cc: &mut ContactCenter, at: u64, agent: &str, state: AgentState) {
    cc.handle_cti(at, agent_event(None, snapshot(agent, state, Some(agent), None)));
    effects(cc);
}
