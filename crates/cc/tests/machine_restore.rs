//! A takeover's restore (issue 15): what the machine publishes on a User node reads back as the
//! state it published (a property over every state, pending state, reason code and extension);
//! the restore plan asks the CTI side for LOGIN then READY or NOT_READY with the reason code;
//! its events publish the agent's state with no `requestId`, and its refusals publish nothing.

mod machine_support;

use herald_cc::takeover::{PublishedAgent, PublishedItem, published_item};
use herald_cc::{Effect, RestoreError};
use herald_cti::{AgentState, CtiEvent, CtiFailure, CtiRequest, RequestTag, RequestedState};
use herald_xml::Element;
use machine_support::*;
use proptest::prelude::*;

const STATES: &[AgentState] = &[
    AgentState::Logout,
    AgentState::NotReady,
    AgentState::Ready,
    AgentState::Reserved,
    AgentState::ReservedOutbound,
    AgentState::ReservedOutboundPreview,
    AgentState::Talking,
    AgentState::Hold,
    AgentState::Work,
    AgentState::WorkReady,
    AgentState::Unknown,
];

/// The payload of the one publish on `User/{agent}` among `effects`.
fn user_item(effects: &[Effect], agent: &str) -> Element {
    let node = format!("/finesse/api/User/{agent}");
    let mut items = effects.iter().filter_map(|e| match e {
        Effect::Publish { node: n, payload } if *n == node => Some(payload.clone()),
        _ => None,
    });
    let item = items.next().expect("a publish on the User node");
    assert!(items.next().is_none(), "one publish");
    item
}

fn published(cc: &mut herald_cc::ContactCenter, agent: &str) -> PublishedAgent {
    match published_item(&user_item(&effects(cc), agent)) {
        Ok(PublishedItem::Agent(agent)) => agent,
        other => panic!("not an agent: {other:?}"),
    }
}

proptest! {
    /// Whatever state the CTI side reports, the document the machine publishes reads back as it.
    #[test]
    fn what_is_published_reads_back(
        state in proptest::sample::select(STATES),
        pending in proptest::option::of(proptest::sample::select(STATES)),
        code in proptest::option::of(proptest::sample::select(&[10u16, 20, 255, 99][..])),
        extension in "[0-9]{1,6}",
    ) {
        let mut cc = machine();
        let mut snap = snapshot("1001", state, Some(&extension), code);
        snap.pending = pending;
        cc.handle_cti(T0, agent_event(None, snap));
        let read = published(&mut cc, "1001");
        let view = cc.agent_view("1001");
        prop_assert_eq!(read.login_id.as_str(), "1001");
        prop_assert_eq!(read.state, view.state);
        prop_assert_eq!(read.pending, view.pending);
        prop_assert_eq!(read.reason_code_id, view.reason_code_id);
        prop_assert_eq!(read.extension, view.extension);
    }

    /// Reading back never panics, whatever the notification holds.
    #[test]
    fn any_text_is_read_or_refused(text in "\\PC{0,200}", wrapped in any::<bool>()) {
        let text = if wrapped { format!("<Update><data><user>{text}</user></data></Update>") } else { text };
        let payload = Element::new("notification", herald_cc::update::NOTIFICATION_NS).with_text(text);
        let _ = published_item(&payload);
    }
}

fn agent(login: &str, state: AgentState, reason_code_id: Option<u32>) -> PublishedAgent {
    PublishedAgent { login_id: login.into(), state, pending: None, reason_code_id, extension: Some("1001".into()) }
}

/// The (state, reason code) each request of a plan asks for.
fn asked(requests: &[CtiRequest]) -> Vec<(RequestedState, Option<u16>)> {
    requests
        .iter()
        .map(|r| match r {
            CtiRequest::AgentState { state, reason_code, forced: false, agent, .. } if agent == "1001" => (state.clone(), *reason_code),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn login() -> (RequestedState, Option<u16>) {
    (RequestedState::Login { extension: "1001".into() }, None)
}

#[test]
fn plans_sign_in_then_set_the_state() {
    let mut cc = machine();
    let ready = cc.restore_plan("1001", &agent("1001", AgentState::Ready, None)).unwrap().unwrap();
    assert_eq!((ready.agent.as_str(), ready.target), ("1001", AgentState::Ready));
    assert_eq!(asked(&ready.requests), vec![login(), (RequestedState::Ready, None)]);
    let lunch = cc.restore_plan("1001", &agent("1001", AgentState::NotReady, Some(1))).unwrap().unwrap();
    assert_eq!((lunch.target, lunch.dropped_reason_code_id), (AgentState::NotReady, None));
    assert_eq!(asked(&lunch.requests), vec![login(), (RequestedState::NotReady, Some(10))]);
    let forced = cc.restore_plan("1001", &agent("1001", AgentState::NotReady, Some(3))).unwrap().unwrap();
    assert_eq!(asked(&forced.requests), vec![login(), (RequestedState::NotReady, Some(255))], "a system code is restored too");
    let plain = cc.restore_plan("1001", &agent("1001", AgentState::NotReady, None)).unwrap().unwrap();
    assert_eq!(asked(&plain.requests), vec![login()], "a sign-in ends NOT_READY already");
    for unknown in [99, 2] {
        let plan = cc.restore_plan("1001", &agent("1001", AgentState::NotReady, Some(unknown))).unwrap().unwrap();
        assert_eq!((asked(&plan.requests), plan.dropped_reason_code_id), (vec![login()], Some(unknown)), "{unknown}");
    }
    assert_eq!(cc.restore_plan("1001", &agent("1001", AgentState::Logout, Some(2))), Ok(None));
    assert!(effects(&mut cc).is_empty(), "planning emits nothing");
}

#[test]
fn plans_name_the_nodes_agent() {
    let mut cc = machine();
    assert_eq!(cc.restore_plan("nobody", &agent("nobody", AgentState::Ready, None)), Err(RestoreError::UnknownAgent("nobody".into())));
    assert!(matches!(cc.restore_plan("1001", &agent("1002", AgentState::Ready, None)), Err(RestoreError::OtherAgent { .. })));
    let alice = cc.restore_plan("alice", &agent("ALICE", AgentState::Ready, None)).unwrap().unwrap();
    assert_eq!(alice.agent, "alice", "the directory's login id, whatever the case published");
}

#[test]
fn restored_states_are_published_without_a_request_id_and_refusals_are_silent() {
    let mut cc = machine();
    let plan = cc.restore_plan("1001", &agent("1001", AgentState::NotReady, Some(1))).unwrap().unwrap();
    let tags: Vec<RequestTag> = plan.requests.iter().map(CtiRequest::tag).collect();
    cc.handle_cti(T0, agent_event(Some(tags[0]), snapshot("1001", AgentState::NotReady, Some("1001"), None)));
    cc.handle_cti(T0 + 1, agent_event(Some(tags[1]), snapshot("1001", AgentState::NotReady, Some("1001"), Some(10))));
    let published = updates(&mut cc);
    let on_user: Vec<_> = published.iter().filter(|u| u.node == "/finesse/api/User/1001").collect();
    assert_eq!(on_user.len(), 2, "{published:?}");
    assert!(on_user.iter().all(|u| u.request_id.is_empty() && u.event == "PUT"), "{on_user:?}");
    assert_eq!(child_text(&on_user[1].data, "reasonCodeId").as_deref(), Some("1"));
    let view = cc.agent_view("1001");
    assert_eq!((view.state, view.reason_code_id, view.extension.as_deref()), (AgentState::NotReady, Some(1), Some("1001")));

    let refused = cc.restore_plan("1002", &agent("1002", AgentState::Ready, None)).unwrap().unwrap();
    cc.handle_cti(T0, CtiEvent::Failure { tag: refused.requests[0].tag(), failure: CtiFailure::invalid_state() });
    assert!(updates(&mut cc).is_empty(), "no apiErrors for a restore's refusal");
    assert_eq!(cc.agent_view("1002").state, AgentState::Logout);
}

/// After a takeover the new leader learns who has sessions; a signed-in agent with none waits
/// out the grace, then is logged out once (UCCX), as after a first CTI snapshot.
#[test]
fn a_signed_in_agent_without_a_session_is_watched_once() {
    let no_heartbeats = herald_cc::LinkConfig { heartbeat_ms: 0, ..Default::default() };
    let mut cc = machine_with(Default::default(), no_heartbeats);
    in_state(&mut cc, T0, "1001", AgentState::Ready);
    in_state(&mut cc, T0, "1002", AgentState::Ready);
    cc.presence(T0, "1002", "desk", true);
    effects(&mut cc);
    assert!(!cc.watch_if_absent(T0, "1002"), "present");
    assert!(!cc.watch_if_absent(T0, "1003"), "logged out");
    assert!(!cc.watch_if_absent(T0, "nobody"), "not an agent");
    assert!(cc.watch_if_absent(T0, "1001"), "signed in, no session");
    assert!(!cc.watch_if_absent(T0 + 1, "1001"), "already watched");
    assert_eq!(cc.poll_timeout(), Some(T0 + 60_000));
    effects(&mut cc);
    let forced: Vec<CtiRequest> = run_until(&mut cc, T0 + 60_000).into_iter().flat_map(|(_, out)| out.cti).collect();
    assert!(
        matches!(forced.as_slice(), [CtiRequest::AgentState { agent, state: RequestedState::Logout, forced: true, .. }] if agent == "1001"),
        "{forced:?}"
    );
    let mut disabled = machine_with(herald_cc::PresenceLogoutConfig { enabled: false, ..Default::default() }, Default::default());
    in_state(&mut disabled, T0, "1001", AgentState::Ready);
    assert!(!disabled.watch_if_absent(T0, "1001"), "the presence-driven logout is off");
}
