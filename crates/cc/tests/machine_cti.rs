//! The machine's CTI side: agent events published on the User and Team nodes with the
//! request's `requestId`, refusals as `apiErrors` Updates, Dialogs collection semantics, queue
//! statistics and SystemInfo (on a status change and on a change of the cluster's nodes).

mod machine_support;

use herald_cc::Effect;
use herald_cti::{AgentState, CallState, CtiEvent, CtiFailure, CtiRequest, ParticipantState, QueueStats};
use machine_support::*;

const LOGIN: &str = "<User><state>LOGIN</state><extension>1001</extension></User>";

/// PUT LOGIN by `caller` on `User/1001`, returning the CTI request's tag.
fn login(cc: &mut herald_cc::ContactCenter) -> herald_cti::RequestTag {
    assert_eq!(put(cc, "1001", "User/1001", LOGIN).status, 202);
    only_cti(cc).tag()
}

#[test]
fn an_agent_event_publishes_the_user_and_the_team_summary_with_the_request_id() {
    let mut cc = machine();
    let tag = login(&mut cc);
    cc.handle_cti(T0, agent_event(Some(tag), snapshot("1001", AgentState::NotReady, Some("1001"), None)));
    let updates = updates(&mut cc);
    assert_eq!(updates.len(), 2, "{updates:?}");
    let user = &updates[0];
    assert_eq!(user.node, "/finesse/api/User/1001");
    assert_eq!((user.event.as_str(), user.request_id.as_str(), user.source.as_str()), ("PUT", "req-1", "/finesse/api/User/1001"));
    assert_eq!(user.data.name, "user");
    assert_eq!(child_text(&user.data, "state").as_deref(), Some("NOT_READY"));
    assert_eq!(child_text(&user.data, "extension").as_deref(), Some("1001"));
    let team = &updates[1];
    assert_eq!(team.node, "/finesse/api/Team/t1/Users");
    assert_eq!((team.event.as_str(), team.request_id.as_str(), team.source.as_str()), ("PUT", "req-1", "/finesse/api/User/1001"));
    assert_eq!(team.data.name, "user");
    // The GET shows the same state.
    assert!(get(&mut cc, "1001", "User/1001").body.unwrap_or_default().contains("<state>NOT_READY</state>"));
}

#[test]
fn unsolicited_events_publish_only_visible_changes_and_a_repeated_login_is_answered() {
    let mut cc = machine();
    let not_ready = snapshot("1001", AgentState::NotReady, Some("1001"), None);
    cc.handle_cti(T0, agent_event(None, not_ready.clone()));
    let first = updates(&mut cc);
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].request_id, "");
    // Nothing changed, nothing asked: silence.
    cc.handle_cti(T0, agent_event(None, not_ready.clone()));
    assert!(effects(&mut cc).is_empty());
    // A repeated LOGIN answered by the same state still gets its publish.
    let tag = login(&mut cc);
    cc.handle_cti(T0, agent_event(Some(tag), not_ready));
    let again = updates(&mut cc);
    assert_eq!(again.len(), 2);
    assert_eq!(again[0].request_id, "req-1");
    // Unknown agents are ignored.
    cc.handle_cti(T0, agent_event(None, snapshot("9999", AgentState::Ready, Some("9999"), None)));
    assert!(effects(&mut cc).is_empty());
}

#[test]
fn reason_codes_are_mapped_back_to_their_ids() {
    let mut cc = machine();
    cc.handle_cti(T0, agent_event(None, snapshot("1001", AgentState::NotReady, Some("1001"), Some(10))));
    let user = &updates(&mut cc)[0];
    assert_eq!(child_text(&user.data, "reasonCodeId").as_deref(), Some("1"));
    // A pending NOT_READY with its reason while talking.
    let mut talking = snapshot("1001", AgentState::Talking, Some("1001"), Some(10));
    talking.pending = Some(AgentState::NotReady);
    cc.handle_cti(T0, agent_event(None, talking));
    let user = &updates(&mut cc)[0];
    assert_eq!(child_text(&user.data, "pendingState").as_deref(), Some("NOT_READY"));
    assert_eq!(child_text(&user.data, "reasonCodeId").as_deref(), Some("1"));
    // A code the directory does not know: no id.
    cc.handle_cti(T0, agent_event(None, snapshot("1001", AgentState::NotReady, Some("1001"), Some(77))));
    let user = &updates(&mut cc)[0];
    assert_eq!(child_text(&user.data, "reasonCodeId").as_deref(), Some("-1"));
}

#[test]
fn a_refused_state_change_becomes_an_api_errors_update_with_the_request_id() {
    let mut cc = machine();
    assert_eq!(put(&mut cc, "1001", "User/1001", "<User><state>READY</state></User>").status, 202);
    let tag = only_cti(&mut cc).tag();
    cc.handle_cti(T0, CtiEvent::Failure { tag, failure: CtiFailure::invalid_state() });
    let updates = updates(&mut cc);
    assert_eq!(updates.len(), 1);
    let error = &updates[0];
    assert_eq!(error.node, "/finesse/api/User/1001");
    assert_eq!((error.event.as_str(), error.request_id.as_str(), error.source.as_str()), ("PUT", "req-1", "/finesse/api/User/1001"));
    assert_eq!(error.data.name, "apiErrors");
    assert!(error.text.contains("<errorType>Invalid State</errorType>"), "{}", error.text);
    assert!(error.text.contains("<errorMessage>CF_INVALID_OBJECT_STATE</errorMessage>"), "{}", error.text);
    assert!(error.text.contains("<errorData>22</errorData>"), "{}", error.text);
    // The tag is spent; unknown tags are ignored.
    cc.handle_cti(T0, CtiEvent::Failure { tag, failure: CtiFailure::invalid_state() });
    assert!(effects(&mut cc).is_empty());
}

#[test]
fn call_failures_go_to_the_dialogs_node() {
    let mut cc = machine();
    signed_in(&mut cc, "1001", "1001");
    let make_call =
        "<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>1001</fromAddress><toAddress>1002</toAddress></Dialog>";
    assert_eq!(post(&mut cc, "1001", "User/1001/Dialogs", make_call).status, 202);
    let tag = only_cti(&mut cc).tag();
    cc.handle_cti(T0, CtiEvent::Failure { tag, failure: CtiFailure::call_operation("CF_RESOURCE_OUT_OF_SERVICE", 34) });
    let error = &updates(&mut cc)[0];
    assert_eq!((error.node.as_str(), error.source.as_str()), ("/finesse/api/User/1001/Dialogs", "/finesse/api/User/1001/Dialogs"));
    assert!(error.text.contains("<errorType>Call Operation Failure</errorType>"));

    let snapshot = a_call(5, CallState::Active, vec![participant("1001", Some("1001"), ParticipantState::Active)]);
    cc.handle_cti(T0, CtiEvent::Call { tag: None, snapshot });
    effects(&mut cc);
    assert_eq!(
        put(
            &mut cc,
            "1001",
            "Dialog/5",
            "<Dialog><requestedAction>HOLD</requestedAction><targetMediaAddress>1001</targetMediaAddress></Dialog>"
        )
        .status,
        202
    );
    let tag = only_cti(&mut cc).tag();
    cc.handle_cti(T0, CtiEvent::Failure { tag, failure: CtiFailure::call_operation("CF_GENERIC", 1) });
    let error = &updates(&mut cc)[0];
    assert_eq!(
        (error.node.as_str(), error.source.as_str(), error.request_id.as_str()),
        ("/finesse/api/User/1001/Dialogs", "/finesse/api/Dialog/5", "req-1")
    );
    assert_eq!(error.event, "PUT");
}

#[test]
fn remembered_requests_expire_after_a_minute() {
    let mut cc = machine();
    let tag = login(&mut cc);
    cc.handle_cti(T0 + 60_000, CtiEvent::Heartbeat);
    cc.handle_cti(T0 + 60_000, CtiEvent::Failure { tag, failure: CtiFailure::invalid_device() });
    assert!(effects(&mut cc).is_empty());
    let tag = login(&mut cc);
    cc.handle_cti(T0 + 59_999, CtiEvent::Failure { tag, failure: CtiFailure::invalid_device() });
    assert_eq!(updates(&mut cc).len(), 1);
}

#[test]
fn dialogs_are_posted_then_put_then_deleted() {
    let mut cc = machine();
    let ringing = a_call(
        42,
        CallState::Alerting,
        vec![participant("1001", Some("1001"), ParticipantState::Alerting), participant("5550100", None, ParticipantState::Active)],
    );
    cc.handle_cti(T0, CtiEvent::Call { tag: None, snapshot: ringing.clone() });
    let posted = updates(&mut cc);
    assert_eq!(posted.len(), 1);
    let post = &posted[0];
    assert_eq!(
        (post.node.as_str(), post.event.as_str(), post.source.as_str()),
        ("/finesse/api/User/1001/Dialogs", "POST", "/finesse/api/User/1001/Dialogs")
    );
    assert_eq!(post.data.name, "dialogs");
    assert_eq!(post.data.elements().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["Dialog"]);

    // The same snapshot again changes nothing.
    cc.handle_cti(T0, CtiEvent::Call { tag: None, snapshot: ringing.clone() });
    assert!(effects(&mut cc).is_empty());

    // Answered, by request: PUT with the request id; a second agent joining gets a POST.
    assert_eq!(
        put(
            &mut cc,
            "1001",
            "Dialog/42",
            "<Dialog><requestedAction>ANSWER</requestedAction><targetMediaAddress>1001</targetMediaAddress></Dialog>"
        )
        .status,
        202
    );
    let tag = only_cti(&mut cc).tag();
    let mut active = ringing.clone();
    active.state = CallState::Active;
    active.participants[0].state = ParticipantState::Active;
    cc.handle_cti(T0, CtiEvent::Call { tag: Some(tag), snapshot: active.clone() });
    let put_update = &updates(&mut cc)[0];
    assert_eq!(
        (put_update.event.as_str(), put_update.source.as_str(), put_update.request_id.as_str()),
        ("PUT", "/finesse/api/Dialog/42", "req-1")
    );
    assert_eq!(put_update.data.name, "Dialog");

    active.participants.push(participant("1002", Some("1002"), ParticipantState::Alerting));
    cc.handle_cti(T0, CtiEvent::Call { tag: None, snapshot: active.clone() });
    let both = updates(&mut cc);
    let events: Vec<_> = both.iter().map(|u| (u.node.as_str(), u.event.as_str())).collect();
    assert_eq!(events, [("/finesse/api/User/1001/Dialogs", "PUT"), ("/finesse/api/User/1002/Dialogs", "POST")]);
    assert!(get(&mut cc, "1002", "User/1002/Dialogs").body.unwrap_or_default().contains("<id>42</id>"));

    // Gone for 1001 only: DELETE there; 1002 still has it.
    cc.handle_cti(T0, CtiEvent::CallEnded { tag: None, call: 42, agents: vec!["1001".into()] });
    let deleted = updates(&mut cc);
    assert_eq!(deleted.len(), 1);
    let delete = &deleted[0];
    assert_eq!(
        (delete.node.as_str(), delete.event.as_str(), delete.source.as_str()),
        ("/finesse/api/User/1001/Dialogs", "DELETE", "/finesse/api/User/1001/Dialogs")
    );
    assert_eq!(delete.data.name, "dialogs");
    assert!(delete.text.contains("<id>42</id>"));
    assert!(!get(&mut cc, "1001", "User/1001/Dialogs").body.unwrap_or_default().contains("<id>42</id>"));
    assert_eq!(get(&mut cc, "1002", "Dialog/42").status, 200);

    // Gone for 1002 too: the call is forgotten; a repeated end publishes nothing.
    cc.handle_cti(T0, CtiEvent::CallEnded { tag: None, call: 42, agents: vec!["1002".into()] });
    assert_eq!(updates(&mut cc).len(), 1);
    assert_eq!(refusal(&get(&mut cc, "1002", "Dialog/42")).0, 404);
    cc.handle_cti(T0, CtiEvent::CallEnded { tag: None, call: 42, agents: vec!["1001".into(), "1002".into()] });
    assert!(effects(&mut cc).is_empty());
}

#[test]
fn queue_statistics_are_kept_and_published_when_they_change() {
    let mut cc = machine();
    let stats = QueueStats { queue: "q1".into(), calls_in_queue: 3, agents_ready: 1, ..QueueStats::default() };
    cc.handle_cti(T0, CtiEvent::QueueStats(stats.clone()));
    let published = updates(&mut cc);
    assert_eq!(published.len(), 1);
    assert_eq!(
        (published[0].node.as_str(), published[0].source.as_str(), published[0].event.as_str()),
        ("/finesse/api/Queue/q1", "/finesse/api/Queue/q1", "PUT")
    );
    assert!(published[0].text.contains("<callsInQueue>3</callsInQueue>"), "{}", published[0].text);
    cc.handle_cti(T0, CtiEvent::QueueStats(stats));
    assert!(effects(&mut cc).is_empty());
    assert!(get(&mut cc, "1001", "Queue/q1").body.unwrap_or_default().contains("<callsInQueue>3</callsInQueue>"));
    cc.handle_cti(T0, CtiEvent::QueueStats(QueueStats { queue: "nope".into(), ..QueueStats::default() }));
    cc.handle_cti(T0, CtiEvent::Heartbeat);
    assert!(effects(&mut cc).is_empty());
}

#[test]
fn system_info_is_published_when_the_status_changes() {
    let mut cc = machine();
    cc.set_in_service(T0, true, "");
    assert!(effects(&mut cc).is_empty());
    cc.set_in_service(T0 + 1, false, "CTI link down");
    let down = updates(&mut cc);
    assert_eq!(down.len(), 1);
    assert_eq!(
        (down[0].node.as_str(), down[0].source.as_str(), down[0].event.as_str()),
        ("/finesse/api/SystemInfo", "/finesse/api/SystemInfo", "PUT")
    );
    assert_eq!(child_text(&down[0].data, "status").as_deref(), Some("OUT_OF_SERVICE"));
    cc.set_in_service(T0 + 2, false, "still down");
    assert!(effects(&mut cc).is_empty());
    cc.set_in_service(T0 + 3, true, "");
    assert_eq!(child_text(&updates(&mut cc)[0].data, "status").as_deref(), Some("IN_SERVICE"));
}

#[test]
fn system_info_is_published_when_the_clusters_nodes_change() {
    let node = |host: &str, port: u16| herald_cc::NodeAddress { host: host.into(), https_port: port, xmpp_port: port + 1 };
    let three = vec![node("a", 1000), node("b", 2000), node("c", 3000)];
    let mut cc = machine();
    cc.set_nodes(T0, three.clone());
    let first = updates(&mut cc);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        (first[0].node.as_str(), first[0].source.as_str(), first[0].event.as_str()),
        ("/finesse/api/SystemInfo", "/finesse/api/SystemInfo", "PUT")
    );
    let hosts = |data: &herald_xml::Element| -> Vec<String> {
        let nodes = data.child("nodes", &data.ns).expect("<nodes>");
        nodes.elements().filter_map(|n| child_text(n, "host")).collect()
    };
    assert_eq!(hosts(&first[0].data), ["a", "b", "c"]);
    cc.set_nodes(T0 + 1, three.clone());
    assert!(effects(&mut cc).is_empty(), "the same nodes again: nothing to tell");
    cc.set_nodes(T0 + 2, vec![node("b", 2000), node("c", 3000)]);
    let after_loss = updates(&mut cc);
    assert_eq!(after_loss.len(), 1);
    assert_eq!(hosts(&after_loss[0].data), ["b", "c"]);
    let primary = after_loss[0].data.child("primaryNode", &after_loss[0].data.ns).expect("primaryNode");
    assert_eq!(child_text(primary, "host").as_deref(), Some("b"));
    let body = get(&mut cc, "1001", "SystemInfo").body.unwrap_or_default();
    assert!(body.contains("<secondaryNode><host>c</host><httpsPort>3000</httpsPort><xmppPort>3001</xmppPort>"), "{body}");
    cc.set_nodes(T0 + 3, vec![node("b", 2000), node("c", 3000), node("d", 4000)]);
    assert_eq!(hosts(&updates(&mut cc)[0].data), ["b", "c", "d"], "a node joining is told too");
}

#[test]
fn effects_come_out_in_order() {
    let mut cc = machine();
    let tag = login(&mut cc);
    put(&mut cc, "1001", "User/1001", "<User><state>READY</state></User>");
    cc.handle_cti(T0, agent_event(Some(tag), snapshot("1001", AgentState::NotReady, Some("1001"), None)));
    let kinds: Vec<&str> = effects(&mut cc)
        .iter()
        .map(|e| match e {
            Effect::Cti(CtiRequest::AgentState { .. }) => "cti",
            Effect::Publish { .. } => "publish",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["cti", "publish", "publish"]);
}

#[test]
fn a_held_call_is_republished_when_another_call_becomes_active() {
    let mut cc = machine();
    let held = a_call(
        1,
        CallState::Held,
        vec![participant("1001", Some("1001"), ParticipantState::Held), participant("5550100", None, ParticipantState::Active)],
    );
    cc.handle_cti(T0, CtiEvent::Call { tag: None, snapshot: held });
    assert_eq!(updates(&mut cc).len(), 1);
    let dialing = a_call(2, CallState::Initiated, vec![participant("1001", Some("1001"), ParticipantState::Initiated)]);
    cc.handle_cti(T0, CtiEvent::Call { tag: None, snapshot: dialing.clone() });
    let posted = updates(&mut cc);
    assert_eq!(posted.iter().map(|u| u.event.as_str()).collect::<Vec<_>>(), ["POST"]);
    assert!(!posted[0].text.contains("TRANSFER"));
    // The consult call is answered: the held call now offers TRANSFER and CONFERENCE.
    let mut active = dialing;
    active.state = CallState::Active;
    active.participants[0].state = ParticipantState::Active;
    cc.handle_cti(T0, CtiEvent::Call { tag: None, snapshot: active });
    let both = updates(&mut cc);
    let sources: Vec<_> = both.iter().map(|u| (u.event.as_str(), u.source.as_str())).collect();
    assert_eq!(sources, [("PUT", "/finesse/api/Dialog/2"), ("PUT", "/finesse/api/Dialog/1")]);
    assert!(both[1].text.contains("<action>TRANSFER</action>"), "{}", both[1].text);
    // The consult call ends: the held call loses them again.
    cc.handle_cti(T0, CtiEvent::CallEnded { tag: None, call: 2, agents: vec!["1001".into()] });
    let after = updates(&mut cc);
    let events: Vec<_> = after.iter().map(|u| (u.event.as_str(), u.source.as_str())).collect();
    assert_eq!(events, [("DELETE", "/finesse/api/User/1001/Dialogs"), ("PUT", "/finesse/api/Dialog/1")]);
    assert!(!after[1].text.contains("TRANSFER"));
}

#[test]
fn an_agent_who_left_a_call_still_gets_its_changes_until_the_delete() {
    let mut cc = machine();
    let mut call = a_call(
        9,
        CallState::Active,
        vec![participant("1001", Some("1001"), ParticipantState::Active), participant("1002", Some("1002"), ParticipantState::Active)],
    );
    cc.handle_cti(T0, CtiEvent::Call { tag: None, snapshot: call.clone() });
    assert_eq!(updates(&mut cc).len(), 2);
    call.participants.remove(0);
    cc.handle_cti(T0, CtiEvent::Call { tag: None, snapshot: call });
    let nodes: Vec<_> = updates(&mut cc).into_iter().map(|u| (u.node, u.event)).collect();
    assert_eq!(
        nodes,
        [("/finesse/api/User/1001/Dialogs".to_string(), "PUT".to_string()), ("/finesse/api/User/1002/Dialogs".into(), "PUT".into())]
    );
}
