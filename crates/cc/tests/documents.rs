//! Schema tests: every document pinned, byte for byte, against the shapes of finesse-domain.md
//! (§1.2 ApiErrors, §1.3 User, §1.4 ReasonCode, §1.5 Dialog, §1.6 Team, §1.7 Queue, §1.8
//! SystemInfo, §2.1/§2.3/§2.4 Update and apiErrors): element names, case, nesting, order, and
//! empty-vs-absent. Where the domain note's hand-typed examples and the captured payloads
//! disagree on order, the captures' alphabetical order wins (see docs/architecture.d/wire.md).
//! The expected texts are written out here by hand from those sections.

use herald_cc::ApiError;
use herald_cc::directory::{Directory, QueueRecord, ReasonCategory, ReasonCodeRecord, Role, TeamRecord, UserRecord, WrapUpMode};
use herald_cc::documents::{self, Case, NodeAddress, SystemInfo};
use herald_cc::model::AgentView;
use herald_cc::update::{UpdateEvent, notification, update};
use herald_cti::{AgentState, CallSnapshot, CallState, CallType, Participant, ParticipantState, QueueRef, QueueStats};
use herald_xml::{Element, Limits, parse_document};
use proptest::prelude::*;

/// The expected text with the line breaks and indentation between tags removed.
fn compact(pretty: &str) -> String {
    pretty.lines().map(str::trim).collect()
}

/// Checks `doc` serialises to exactly `expected`, and that the text parses back to `doc`.
fn pin(doc: &Element, expected: &str) {
    let want = compact(expected);
    let got = doc.to_xml();
    assert_eq!(got, want);
    let back = parse_document(got.as_bytes(), Limits::default()).expect("a document parses");
    assert_eq!(back.to_xml(), got);
}

const T_2012: u64 = 1_330_624_701_234; // 2012-03-01T17:58:21.234Z
const T_2017: u64 = 1_507_911_475_401; // 2017-10-13T16:17:55.401Z

fn directory() -> Directory {
    let mut dir = Directory::default();
    dir.put_team(TeamRecord { id: "500".into(), name: "Sales".into() });
    dir.put_team(TeamRecord { id: "2001".into(), name: "Support".into() });
    dir.put_reason_code(ReasonCodeRecord {
        id: 16,
        category: ReasonCategory::NotReady,
        code: 10,
        label: "Team Meeting".into(),
        for_all: true,
        system: false,
    });
    dir.put_reason_code(ReasonCodeRecord {
        id: 1,
        category: ReasonCategory::NotReady,
        code: 12,
        label: "Lunch Break".into(),
        for_all: false,
        system: false,
    });
    dir.put_user(UserRecord {
        login_id: "1001001".into(),
        login_name: "csmith".into(),
        first_name: "Chris".into(),
        last_name: "Smith".into(),
        extension: Some("1001001".into()),
        role: Role::Supervisor,
        team_id: Some("500".into()),
        supervised_teams: vec!["2001".into()],
        wrap_up_incoming: WrapUpMode::Optional,
        wrap_up_outgoing: WrapUpMode::NotAllowed,
    });
    let mut agent = UserRecord::agent("1234");
    agent.team_id = Some("500".into());
    agent.wrap_up_incoming = WrapUpMode::RequiredWithWrapUpData;
    agent.wrap_up_outgoing = WrapUpMode::Required;
    dir.put_user(agent);
    dir
}

fn not_ready(reason: u32) -> AgentView {
    AgentView {
        state: AgentState::NotReady,
        pending: None,
        reason_code_id: Some(reason),
        extension: Some("1001001".into()),
        state_changed: Some(T_2012),
    }
}

// ---- §1.3 User ----

#[test]
fn user_rest_supervisor_not_ready_with_reason() {
    let dir = directory();
    let doc = documents::user(&dir, dir.user("1001001").expect("user"), &not_ready(16), Case::Rest);
    pin(
        &doc,
        "<User>
           <dialogs>/finesse/api/User/1001001/Dialogs</dialogs>
           <extension>1001001</extension>
           <firstName>Chris</firstName>
           <lastName>Smith</lastName>
           <loginId>1001001</loginId>
           <loginName>csmith</loginName>
           <mediaType>1</mediaType>
           <pendingState/>
           <ReasonCode>
             <category>NOT_READY</category>
             <uri>/finesse/api/ReasonCode/16</uri>
             <code>10</code>
             <label>Team Meeting</label>
             <forAll>true</forAll>
             <systemCode>false</systemCode>
             <id>16</id>
           </ReasonCode>
           <reasonCodeId>16</reasonCodeId>
           <roles><role>Agent</role><role>Supervisor</role></roles>
           <settings><wrapUpOnIncoming>OPTIONAL</wrapUpOnIncoming><wrapUpOnOutgoing>NOT_ALLOWED</wrapUpOnOutgoing></settings>
           <state>NOT_READY</state>
           <stateChangeTime>2012-03-01T17:58:21.234Z</stateChangeTime>
           <teamId>500</teamId>
           <teamName>Sales</teamName>
           <teams><Team><id>2001</id><name>Support</name><uri>/finesse/api/Team/2001</uri></Team></teams>
           <uri>/finesse/api/User/1001001</uri>
         </User>",
    );
}

#[test]
fn user_notification_agent_logged_out() {
    let dir = directory();
    let doc = documents::user(&dir, dir.user("1234").expect("user"), &AgentView::default(), Case::Notification);
    pin(
        &doc,
        "<user>
           <dialogs>/finesse/api/User/1234/Dialogs</dialogs>
           <extension/>
           <firstName/>
           <lastName/>
           <loginId>1234</loginId>
           <loginName>1234</loginName>
           <mediaType>1</mediaType>
           <pendingState/>
           <reasonCodeId>-1</reasonCodeId>
           <roles><role>Agent</role></roles>
           <settings><wrapUpOnIncoming>REQUIRED_WITH_WRAP_UP_DATA</wrapUpOnIncoming><wrapUpOnOutgoing>REQUIRED</wrapUpOnOutgoing></settings>
           <state>LOGOUT</state>
           <stateChangeTime/>
           <teamId>500</teamId>
           <teamName>Sales</teamName>
           <teams/>
           <uri>/finesse/api/User/1234</uri>
         </user>",
    );
}

#[test]
fn user_pending_state_and_no_team() {
    let mut dir = directory();
    dir.put_user(UserRecord::agent("77"));
    let view = AgentView {
        state: AgentState::Talking,
        pending: Some(AgentState::NotReady),
        reason_code_id: None,
        extension: Some("2077".into()),
        state_changed: Some(0),
    };
    let doc = documents::user(&dir, dir.user("77").expect("user"), &view, Case::Rest);
    let text = doc.to_xml();
    for part in [
        "<extension>2077</extension>",
        "<pendingState>NOT_READY</pendingState>",
        "<reasonCodeId>-1</reasonCodeId>",
        "<state>TALKING</state>",
        "<stateChangeTime>1970-01-01T00:00:00.000Z</stateChangeTime>",
        "<teamId/><teamName/><teams/>",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    assert!(!text.contains("ReasonCode>"), "no ReasonCode without a reason: {text}");
}

// ---- §1.4 ReasonCode ----

#[test]
fn reason_code_and_list() {
    let dir = directory();
    let rc = dir.reason_code(1).expect("rc");
    pin(
        &documents::reason_code(rc),
        "<ReasonCode>
           <uri>/finesse/api/ReasonCode/1</uri>
           <category>NOT_READY</category>
           <code>12</code>
           <label>Lunch Break</label>
           <forAll>false</forAll>
           <systemCode>false</systemCode>
           <id>1</id>
         </ReasonCode>",
    );
    let logout =
        ReasonCodeRecord { id: 9, category: ReasonCategory::Logout, code: 255, label: "Forced".into(), for_all: true, system: true };
    pin(
        &documents::reason_codes(&[&logout]),
        "<ReasonCodes><ReasonCode>
           <uri>/finesse/api/ReasonCode/9</uri><category>LOGOUT</category><code>255</code><label>Forced</label>
           <forAll>true</forAll><systemCode>true</systemCode><id>9</id>
         </ReasonCode></ReasonCodes>",
    );
    pin(&documents::reason_codes(&[]), "<ReasonCodes/>");
}

// ---- §1.5 Dialog ----

fn alerting_call() -> CallSnapshot {
    CallSnapshot {
        id: 53_149_720,
        associated: None,
        from: "335892".into(),
        to: "215194".into(),
        state: CallState::Alerting,
        call_type: CallType::OtherIn,
        dialed_number: "215194".into(),
        queue: None,
        variables: vec![("callVariable1".into(), "Chuck Smith".into())],
        wrap_up_reason: None,
        participants: vec![
            Participant {
                address: "215194".into(),
                agent: Some("1234".into()),
                state: ParticipantState::Alerting,
                cause: None,
                start: T_2017,
                state_changed: T_2017,
            },
            Participant {
                address: "335892".into(),
                agent: None,
                state: ParticipantState::Initiated,
                cause: None,
                start: T_2017,
                state_changed: T_2017,
            },
        ],
    }
}

const ALERTING_DIALOG: &str = "<Dialog>
       <associatedDialogUri/>
       <fromAddress>335892</fromAddress>
       <id>53149720</id>
       <mediaProperties>
         <DNIS>215194</DNIS>
         <callKeyCallId/>
         <callKeyPrefix/>
         <callKeySequenceNum/>
         <callType>OTHER_IN</callType>
         <callvariables><CallVariable><name>callVariable1</name><value>Chuck Smith</value></CallVariable></callvariables>
         <dialedNumber>215194</dialedNumber>
         <mediaId>1</mediaId>
         <outboundClassification/>
         <queueName/>
         <queueNumber/>
         <wrapUpReason/>
       </mediaProperties>
       <mediaType>Voice</mediaType>
       <participants>
         <Participant>
           <actions><action>ANSWER</action></actions>
           <mediaAddress>215194</mediaAddress>
           <mediaAddressType>AGENT_DEVICE</mediaAddressType>
           <startTime>2017-10-13T16:17:55.401Z</startTime>
           <state>ALERTING</state>
           <stateCause/>
           <stateChangeTime>2017-10-13T16:17:55.401Z</stateChangeTime>
         </Participant>
         <Participant>
           <actions/>
           <mediaAddress>335892</mediaAddress>
           <mediaAddressType/>
           <startTime>2017-10-13T16:17:55.401Z</startTime>
           <state>INITIATED</state>
           <stateCause/>
           <stateChangeTime>2017-10-13T16:17:55.401Z</stateChangeTime>
         </Participant>
       </participants>
       <secondaryId/>
       <state>ALERTING</state>
       <toAddress>215194</toAddress>
       <uri>/finesse/api/Dialog/53149720</uri>
     </Dialog>";

#[test]
fn dialog_alerting() {
    pin(&documents::dialog(&alerting_call(), &|_| false), ALERTING_DIALOG);
}

#[test]
fn dialog_held_consult_with_queue_and_wrap_up() {
    let mut call = alerting_call();
    call.id = 7;
    call.associated = Some(6);
    call.state = CallState::Held;
    call.call_type = CallType::Consult;
    call.queue = Some(QueueRef { id: "5000".into(), name: "Sales Q".into() });
    call.wrap_up_reason = Some("Sold".into());
    call.variables.clear();
    call.participants.truncate(1);
    call.participants[0].state = ParticipantState::Held;
    pin(
        &documents::dialog(&call, &|agent| agent == "1234"),
        "<Dialog>
           <associatedDialogUri>/finesse/api/Dialog/6</associatedDialogUri>
           <fromAddress>335892</fromAddress>
           <id>7</id>
           <mediaProperties>
             <DNIS>215194</DNIS><callKeyCallId/><callKeyPrefix/><callKeySequenceNum/><callType>CONSULT</callType><callvariables/>
             <dialedNumber>215194</dialedNumber><mediaId>1</mediaId><outboundClassification/>
             <queueName>Sales Q</queueName><queueNumber>5000</queueNumber><wrapUpReason>Sold</wrapUpReason>
           </mediaProperties>
           <mediaType>Voice</mediaType>
           <participants><Participant>
             <actions><action>RETRIEVE</action><action>DROP</action><action>UPDATE_CALL_DATA</action><action>TRANSFER</action><action>CONFERENCE</action></actions>
             <mediaAddress>215194</mediaAddress><mediaAddressType>AGENT_DEVICE</mediaAddressType>
             <startTime>2017-10-13T16:17:55.401Z</startTime><state>HELD</state><stateCause/>
             <stateChangeTime>2017-10-13T16:17:55.401Z</stateChangeTime>
           </Participant></participants>
           <secondaryId/>
           <state>HELD</state>
           <toAddress>215194</toAddress>
           <uri>/finesse/api/Dialog/7</uri>
         </Dialog>",
    );
}

#[test]
fn dialogs_rest_and_notification() {
    let call = alerting_call();
    pin(&documents::dialogs(&[&call], &|_| false, Case::Rest), &format!("<Dialogs>{ALERTING_DIALOG}</Dialogs>"));
    pin(&documents::dialogs(&[], &|_| false, Case::Rest), "<Dialogs/>");
    pin(&documents::dialogs(&[&call], &|_| false, Case::Notification), &format!("<dialogs>{ALERTING_DIALOG}</dialogs>"));
}

#[test]
fn dialog_call_data_with_bad_characters_still_makes_a_stanza() {
    let mut call = alerting_call();
    call.variables = vec![("callVariable1".into(), "a\u{1}b".into()), ("user.ecc\u{FFFE}".into(), "\u{FFFF}<&>".into())];
    call.wrap_up_reason = Some("x\u{B}".into());
    call.from = "33\u{0}5".into();
    let doc = documents::dialog(&call, &|_| false);
    let text = doc.to_xml();
    assert!(text.contains("<CallVariable><name>callVariable1</name><value>a\u{FFFD}b</value></CallVariable>"), "{text}");
    assert!(text.contains("<CallVariable><name>user.ecc\u{FFFD}</name><value>\u{FFFD}&lt;&amp;&gt;</value></CallVariable>"), "{text}");
    assert!(text.contains("<wrapUpReason>x\u{FFFD}</wrapUpReason>") && text.contains("<fromAddress>33\u{FFFD}5</fromAddress>"), "{text}");
    // Wrapped as a notification, the whole stanza payload is still well-formed XML twice over.
    let payload = notification(&update(doc, UpdateEvent::Put, "", "/finesse/api/Dialog/53149720")).to_xml();
    let outer = parse_document(payload.as_bytes(), Limits::default()).expect("notification parses");
    parse_document(outer.text().as_bytes(), Limits::default()).expect("update parses");
}

// ---- §1.6 Team ----

#[test]
fn team_with_member_summaries() {
    let dir = directory();
    let view_of = |id: &str| if id == "1234" { AgentView { extension: Some("1001".into()), ..not_ready(1) } } else { AgentView::default() };
    pin(
        &documents::team(&dir, dir.team("500").expect("team"), &view_of),
        "<Team>
           <id>500</id>
           <name>Sales</name>
           <uri>/finesse/api/Team/500</uri>
           <users>
             <User>
               <dialogs>/finesse/api/User/1001001/Dialogs</dialogs><extension/><firstName>Chris</firstName><lastName>Smith</lastName>
               <loginId>1001001</loginId><pendingState/><state>LOGOUT</state><stateChangeTime/><uri>/finesse/api/User/1001001</uri>
             </User>
             <User>
               <dialogs>/finesse/api/User/1234/Dialogs</dialogs><extension>1001</extension><firstName/><lastName/>
               <loginId>1234</loginId><pendingState/>
               <reasonCode><category>NOT_READY</category><code>12</code><id>1</id><label>Lunch Break</label><uri>/finesse/api/ReasonCode/1</uri></reasonCode>
               <state>NOT_READY</state><stateChangeTime>2012-03-01T17:58:21.234Z</stateChangeTime><uri>/finesse/api/User/1234</uri>
             </User>
           </users>
         </Team>",
    );
    pin(
        &documents::team(&dir, dir.team("2001").expect("team"), &view_of),
        "<Team><id>2001</id><name>Support</name><uri>/finesse/api/Team/2001</uri><users/></Team>",
    );
}

#[test]
fn team_users_notification_summary() {
    let dir = directory();
    pin(
        &documents::team_member(&dir, dir.user("1234").expect("user"), &AgentView::default(), Case::Notification),
        "<user><dialogs>/finesse/api/User/1234/Dialogs</dialogs><extension/><firstName/><lastName/><loginId>1234</loginId>
         <pendingState/><state>LOGOUT</state><stateChangeTime/><uri>/finesse/api/User/1234</uri></user>",
    );
}

// ---- §1.7 Queue ----

#[test]
fn queue_known_and_unassigned() {
    let q = QueueRecord { id: "5000".into(), name: "Sales".into(), teams: vec!["500".into()] };
    let stats = QueueStats {
        queue: "5000".into(),
        calls_in_queue: 3,
        longest_since: Some(1_329_328_701_000),
        agents_ready: 1,
        agents_not_ready: 2,
        agents_busy_other: 3,
        agents_logged_on: 4,
        agents_talking_inbound: 5,
        agents_talking_outbound: 6,
        agents_talking_internal: 7,
        agents_wrap_up_not_ready: 8,
        agents_wrap_up_ready: 9,
    };
    pin(
        &documents::queue(&q, Some(&stats)),
        "<Queue><name>Sales</name><statistics>
           <agentsBusyOther>3</agentsBusyOther><agentsLoggedOn>4</agentsLoggedOn><agentsNotReady>2</agentsNotReady><agentsReady>1</agentsReady>
           <agentsTalkingInbound>5</agentsTalkingInbound><agentsTalkingInternal>7</agentsTalkingInternal><agentsTalkingOutbound>6</agentsTalkingOutbound>
           <agentsWrapUpNotReady>8</agentsWrapUpNotReady><agentsWrapUpReady>9</agentsWrapUpReady><callsInQueue>3</callsInQueue>
           <startTimeOfLongestCallInQueue>2012-02-15T17:58:21.000Z</startTimeOfLongestCallInQueue>
         </statistics><uri>/finesse/api/Queue/5000</uri></Queue>",
    );
    let unassigned = "<Queue><name>Sales</name><statistics>
           <agentsBusyOther>-1</agentsBusyOther><agentsLoggedOn>-1</agentsLoggedOn><agentsNotReady>-1</agentsNotReady><agentsReady>-1</agentsReady>
           <agentsTalkingInbound>-1</agentsTalkingInbound><agentsTalkingInternal>-1</agentsTalkingInternal><agentsTalkingOutbound>-1</agentsTalkingOutbound>
           <agentsWrapUpNotReady>-1</agentsWrapUpNotReady><agentsWrapUpReady>-1</agentsWrapUpReady><callsInQueue>-1</callsInQueue>
           <startTimeOfLongestCallInQueue/>
         </statistics><uri>/finesse/api/Queue/5000</uri></Queue>";
    pin(&documents::queue(&q, None), unassigned);
    pin(&documents::queues(&[(&q, None)], Case::Rest), &format!("<Queues>{unassigned}</Queues>"));
    pin(&documents::queues(&[(&q, None)], Case::Notification), &format!("<queues>{unassigned}</queues>"));
    // Known statistics with no call waiting: counts, and an empty oldest-call time.
    let idle = QueueStats { queue: "5000".into(), ..QueueStats::default() };
    let text = documents::queue(&q, Some(&idle)).to_xml();
    assert!(text.contains("<callsInQueue>0</callsInQueue><startTimeOfLongestCallInQueue/>"), "{text}");
}

// ---- §1.8 SystemInfo ----

fn system_info(secondary: Option<&str>, in_service: bool) -> SystemInfo {
    SystemInfo {
        in_service,
        status_reason: if in_service { String::new() } else { "CTI link down".into() },
        now: 1_704_103_200_000,
        deployment_type: "UCCE".into(),
        xmpp_domain: "finesse1.xyz.com".into(),
        pubsub_domain: "pubsub.finesse1.xyz.com".into(),
        primary_host: "finesse1.xyz.com".into(),
        secondary_host: secondary.map(str::to_owned),
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
    pin(
        &documents::system_info(&system_info(None, true)),
        "<SystemInfo>
           <currentTimestamp>2024-01-01T10:00:00.000Z</currentTimestamp>
           <deploymentType>UCCE</deploymentType>
           <status>IN_SERVICE</status>
           <statusReason/>
           <xmppDomain>finesse1.xyz.com</xmppDomain>
           <xmppPubSubDomain>pubsub.finesse1.xyz.com</xmppPubSubDomain>
           <primaryNode><host>finesse1.xyz.com</host><httpsPort>8445</httpsPort><xmppPort>5222</xmppPort><xmppSecurePort>5223</xmppSecurePort></primaryNode>
           <secondaryNode><host/><httpsPort/><xmppPort/><xmppSecurePort/></secondaryNode>
           <peripheralId>5000</peripheralId>
           <timezoneOffset>-480</timezoneOffset>
           <license/>
           <systemAuthMode/>
           <uri>/finesse/api/SystemInfo</uri>
         </SystemInfo>",
    );
}

#[test]
fn system_info_pair_out_of_service() {
    let text = documents::system_info(&system_info(Some("finesse2.xyz.com"), false)).to_xml();
    for part in [
        "<status>OUT_OF_SERVICE</status><statusReason>CTI link down</statusReason>",
        "<secondaryNode><host>finesse2.xyz.com</host><httpsPort>8445</httpsPort><xmppPort>5222</xmppPort><xmppSecurePort>5223</xmppSecurePort></secondaryNode>",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
}

fn cluster_node(host: &str, https_port: u16, xmpp_port: u16) -> NodeAddress {
    NodeAddress { host: host.into(), https_port, xmpp_port }
}

#[test]
fn system_info_of_a_cluster_with_no_known_node_is_the_configured_pair() {
    let text = documents::cluster_system_info(&system_info(Some("finesse2.xyz.com"), true), &[]).to_xml();
    assert!(text.contains("<primaryNode><host>finesse1.xyz.com</host>"), "{text}");
    assert!(text.contains("<secondaryNode><host>finesse2.xyz.com</host>"), "{text}");
    assert!(!text.contains("<nodes>") && text.ends_with("<uri>/finesse/api/SystemInfo</uri></SystemInfo>"), "no Herald element: {text}");
}

#[test]
fn system_info_of_a_one_node_cluster_names_it_primary_and_lists_it() {
    // Configured with a peer, but the cluster has one live node: it alone is named, as a single
    // node (the empty secondary pinned above), plus the list.
    let configured = system_info(Some("configured-peer.xyz.com"), true);
    let text = documents::cluster_system_info(&configured, &[cluster_node("node-a.xyz.com", 18445, 15222)]).to_xml();
    let mut alone = system_info(None, true);
    alone.primary_host = "node-a.xyz.com".into();
    alone.primary_https_port = 18445;
    alone.xmpp_port = 15222;
    let listed = "<nodes><node><host>node-a.xyz.com</host><httpsPort>18445</httpsPort><xmppPort>15222</xmppPort></node></nodes>";
    assert_eq!(text, documents::system_info(&alone).to_xml().replace("</SystemInfo>", &format!("{listed}</SystemInfo>")));
    assert!(text.contains("<secondaryNode><host/><httpsPort/><xmppPort/><xmppSecurePort/></secondaryNode>"), "{text}");
    assert!(parse_document(text.as_bytes(), Limits::default()).is_ok(), "{text}");
}

#[test]
fn system_info_of_a_three_node_cluster_pairs_the_first_two_and_lists_all_three() {
    let nodes = [cluster_node("a.xyz.com", 18445, 15222), cluster_node("b.xyz.com", 28445, 25222), cluster_node("c.xyz.com", 38445, 35222)];
    let text = documents::cluster_system_info(&system_info(None, false), &nodes).to_xml();
    for part in [
        "<status>OUT_OF_SERVICE</status>",
        "<primaryNode><host>a.xyz.com</host><httpsPort>18445</httpsPort><xmppPort>15222</xmppPort><xmppSecurePort>5223</xmppSecurePort></primaryNode>\
         <secondaryNode><host>b.xyz.com</host><httpsPort>28445</httpsPort><xmppPort>25222</xmppPort><xmppSecurePort>5223</xmppSecurePort></secondaryNode>",
        "<uri>/finesse/api/SystemInfo</uri><nodes>\
         <node><host>a.xyz.com</host><httpsPort>18445</httpsPort><xmppPort>15222</xmppPort></node>\
         <node><host>b.xyz.com</host><httpsPort>28445</httpsPort><xmppPort>25222</xmppPort></node>\
         <node><host>c.xyz.com</host><httpsPort>38445</httpsPort><xmppPort>35222</xmppPort></node>\
         </nodes></SystemInfo>",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
}

// ---- §1.2 ApiErrors, §2.4 apiErrors ----

#[test]
fn api_errors_http_body() {
    pin(
        &documents::api_errors_body(&ApiError::new(400, "Invalid State", "CF_INVALID_OBJECT_STATE", "22")),
        "<ApiErrors><ApiError>
           <ErrorType>Invalid State</ErrorType><ErrorMessage>CF_INVALID_OBJECT_STATE</ErrorMessage><ErrorData>22</ErrorData>
         </ApiError></ApiErrors>",
    );
    pin(
        &documents::api_errors_body(&ApiError::unauthenticated()),
        "<ApiErrors><ApiError><ErrorType>Authorization Failure</ErrorType><ErrorMessage>UNAUTHORIZED</ErrorMessage><ErrorData/></ApiError></ApiErrors>",
    );
}

#[test]
fn api_errors_in_an_update() {
    let data = documents::api_errors_notification("Invalid State", "CF_INVALID_OBJECT_STATE", "22");
    let doc = update(data, UpdateEvent::Put, "4d1a2b", "/finesse/api/User/6021");
    pin(
        &doc,
        "<Update>
           <data><apiErrors><apiError>
             <errorType>Invalid State</errorType><errorMessage>CF_INVALID_OBJECT_STATE</errorMessage><errorData>22</errorData>
           </apiError></apiErrors></data>
           <event>PUT</event>
           <requestId>4d1a2b</requestId>
           <source>/finesse/api/User/6021</source>
         </Update>",
    );
}

// ---- §2.1 / §2.3 Update and notification ----

#[test]
fn user_update_in_a_notification() {
    let dir = directory();
    let data = documents::user(&dir, dir.user("1234").expect("user"), &AgentView::default(), Case::Notification);
    let doc = update(data, UpdateEvent::Put, "", "/finesse/api/User/1234");
    let text = doc.to_xml();
    assert!(text.starts_with("<Update><data><user><dialogs>"), "{text}");
    assert!(text.ends_with("</user></data><event>PUT</event><requestId/><source>/finesse/api/User/1234</source></Update>"), "{text}");
    let payload = notification(&doc);
    assert_eq!((payload.name.as_str(), payload.ns.as_str()), ("notification", "http://jabber.org/protocol/pubsub"));
    let xml = payload.to_xml();
    assert!(xml.starts_with("<notification xmlns='http://jabber.org/protocol/pubsub'>&lt;Update&gt;&lt;data&gt;&lt;user&gt;"), "{xml}");
    assert!(!xml.contains("xmlns=&apos;") && !xml.contains("xmlns=\"\""), "no namespace inside the text: {xml}");
    // The text carried is exactly the Update's serialisation.
    let back = parse_document(xml.as_bytes(), Limits::default()).expect("parses");
    assert_eq!(back.text(), text);
}

#[test]
fn dialog_added_update() {
    let call = alerting_call();
    let doc =
        update(documents::dialogs(&[&call], &|_| false, Case::Notification), UpdateEvent::Post, "", "/finesse/api/User/215194/Dialogs");
    pin(
        &doc,
        &format!(
            "<Update><data><dialogs>{ALERTING_DIALOG}</dialogs></data><event>POST</event><requestId/><source>/finesse/api/User/215194/Dialogs</source></Update>"
        ),
    );
    let changed = update(documents::dialog(&call, &|_| false), UpdateEvent::Put, "xxx", "/finesse/api/Dialog/53149720");
    pin(
        &changed,
        &format!(
            "<Update><data>{ALERTING_DIALOG}</data><event>PUT</event><requestId>xxx</requestId><source>/finesse/api/Dialog/53149720</source></Update>"
        ),
    );
    let removed =
        update(documents::dialogs(&[&call], &|_| false, Case::Notification), UpdateEvent::Delete, "", "/finesse/api/User/215194/Dialogs");
    assert!(removed.to_xml().contains("<event>DELETE</event>"));
}

#[test]
fn client_log_stored_event() {
    let doc = update(
        documents::client_log_stored("1234", "Desktop-1234-2012-03-01T17-58-21.234Z.txt", T_2012),
        UpdateEvent::Post,
        "",
        "/finesse/api/User/1234/ClientLog",
    );
    pin(
        &doc,
        "<Update><data><clientLog>
           <fileName>Desktop-1234-2012-03-01T17-58-21.234Z.txt</fileName><loginId>1234</loginId>
           <storedTime>2012-03-01T17:58:21.234Z</storedTime><uri>/finesse/api/User/1234/ClientLog</uri>
         </clientLog></data><event>POST</event><requestId/><source>/finesse/api/User/1234/ClientLog</source></Update>",
    );
}

// ---- any text from outside still makes well-formed stanzas ----

/// A document, wrapped as a notification, is well-formed XML twice over and holds only XML 1.0
/// characters, and its text parses back to the document.
fn well_formed_twice(doc: Element) -> Result<(), TestCaseError> {
    let text = doc.to_xml();
    prop_assert!(text.chars().all(herald_xml::is_xml_char));
    let back = parse_document(text.as_bytes(), Limits { max_stanza_bytes: 1 << 20, max_token_bytes: 1 << 20, ..Limits::default() });
    prop_assert_eq!(back.map(|b| b.to_xml()), Ok(text));
    let payload = notification(&update(doc, UpdateEvent::Put, "", "/finesse/api/x")).to_xml();
    let outer = parse_document(payload.as_bytes(), Limits { max_stanza_bytes: 1 << 20, max_token_bytes: 1 << 20, ..Limits::default() });
    prop_assert!(outer.is_ok());
    Ok(())
}

proptest! {
    #[test]
    fn any_outside_text_gives_well_formed_documents(
        texts in proptest::collection::vec(any::<String>(), 8),
        vars in proptest::collection::vec((any::<String>(), any::<String>()), 0..6),
    ) {
        let t = |i: usize| texts.get(i).cloned().unwrap_or_default();
        let mut dir = Directory::default();
        dir.put_team(TeamRecord { id: t(0), name: t(1) });
        dir.put_reason_code(ReasonCodeRecord { id: 3, category: ReasonCategory::Logout, code: 3, label: t(2), for_all: false, system: false });
        let mut u = UserRecord::agent("a");
        u.first_name = t(3);
        u.last_name = t(4);
        u.login_name = t(5);
        u.team_id = Some(t(0));
        u.role = Role::Supervisor;
        u.supervised_teams = vec![t(0)];
        dir.put_user(u);
        let view = AgentView { reason_code_id: Some(3), extension: Some(t(6)), ..AgentView::default() };
        let user = dir.user("a").expect("user");
        well_formed_twice(documents::user(&dir, user, &view, Case::Notification))?;
        well_formed_twice(documents::team(&dir, dir.team(&t(0)).expect("team"), &|_| view.clone()))?;
        let mut call = alerting_call();
        call.variables = vars;
        call.from = t(6);
        call.wrap_up_reason = Some(t(7));
        call.queue = Some(QueueRef { id: t(0), name: t(1) });
        well_formed_twice(documents::dialog(&call, &|_| true))?;
        well_formed_twice(documents::queue(&QueueRecord { id: t(0), name: t(1), teams: vec![] }, None))?;
        well_formed_twice(documents::api_errors_notification(&t(2), &t(3), &t(4)))?;
        well_formed_twice(documents::api_errors_body(&ApiError::invalid_input(t(5), t(6))))?;
    }
}
