//! Properties of the machine under arbitrary sequences of REST calls and CTI events: it never
//! panics; every answer is one of the statuses Finesse uses with the body that status carries; a
//! refused call has no effect and an accepted one exactly one; every publish is a well-formed
//! Update.

mod machine_support;

use herald_cc::{Effect, Method, RestCall};
use herald_cti::{AgentState, CallState, CtiEvent, CtiFailure, ParticipantState, QueueStats, RequestTag};
use machine_support::*;
use proptest::prelude::*;

const CALLERS: &[&str] = &["1001", "1002", "1003", "2001", "alice", "ALICE", "stranger"];
const PATHS: &[&str] = &[
    "User/1001",
    "User/1002",
    "User/ALICE",
    "User/nobody",
    "User/1001/Dialogs",
    "User/3001/Dialogs",
    "User/1001/ClientLog",
    "User/1001/Queues",
    "User/1001/ReasonCodes?category=NOT_READY",
    "User/1001/ReasonCode/1",
    "Dialog/1",
    "Dialog/2",
    "Dialog/x",
    "Team/t1",
    "Team/t2",
    "Queue/q1",
    "ReasonCodes",
    "ReasonCodes?category=BAD",
    "ReasonCode/3",
    "SystemInfo",
    "Nothing",
];
const BODIES: &[&str] = &[
    "<User><state>LOGIN</state><extension>1001</extension></User>",
    "<User><state>READY</state></User>",
    "<User><state>NOT_READY</state><reasonCodeId>1</reasonCodeId></User>",
    "<User><state>LOGOUT</state><reasonCodeId>2</reasonCodeId></User>",
    "<User><state>LOGOUT</state><reasonCodeId>1</reasonCodeId></User>",
    "<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>1001</fromAddress><toAddress>1002</toAddress></Dialog>",
    "<Dialog><requestedAction>ANSWER</requestedAction><targetMediaAddress>1001</targetMediaAddress></Dialog>",
    "<Dialog><requestedAction>DROP</requestedAction></Dialog>",
    "<ClientLog><logData>hello</logData></ClientLog>",
    "<User><state>READY</state><x/></User>",
    "<User>",
    "",
];
const METHODS: &[Method] = &[Method::Get, Method::Put, Method::Post, Method::Delete, Method::Other];
const TYPES: &[Option<&str>] = &[Some("application/xml"), Some("text/xml; charset=utf-8"), Some("application/json"), None];
const AGENTS: &[&str] = &["1001", "1002", "alice", "ghost"];
const STATES: &[AgentState] = &[AgentState::Logout, AgentState::NotReady, AgentState::Ready, AgentState::Talking, AgentState::Work];
const PARTICIPANT_STATES: &[ParticipantState] =
    &[ParticipantState::Alerting, ParticipantState::Active, ParticipantState::Held, ParticipantState::Dropped, ParticipantState::WrapUp];

#[derive(Clone, Debug)]
enum Step {
    Rest { caller: usize, method: usize, path: usize, body: usize, content_type: usize },
    Agent { tag: Option<u64>, agent: usize, state: usize, reason: Option<u16> },
    Call { tag: Option<u64>, id: u64, parties: Vec<(usize, usize)> },
    Ended { tag: Option<u64>, id: u64, agents: Vec<usize> },
    Failure { tag: u64 },
    Stats { calls: u32 },
    Service { up: bool },
}

fn step() -> impl Strategy<Value = Step> {
    let tag = proptest::option::of(1u64..20);
    prop_oneof![
        4 => (0..CALLERS.len(), 0..METHODS.len(), 0..PATHS.len(), 0..BODIES.len(), 0..TYPES.len())
            .prop_map(|(caller, method, path, body, content_type)| Step::Rest { caller, method, path, body, content_type }),
        2 => (tag.clone(), 0..AGENTS.len(), 0..STATES.len(), proptest::option::of(prop_oneof![Just(10u16), Just(20), Just(99)]))
            .prop_map(|(tag, agent, state, reason)| Step::Agent { tag, agent, state, reason }),
        2 => (tag.clone(), 1u64..3, proptest::collection::vec((0..AGENTS.len(), 0..PARTICIPANT_STATES.len()), 0..3))
            .prop_map(|(tag, id, parties)| Step::Call { tag, id, parties }),
        1 => (tag, 1u64..3, proptest::collection::vec(0..AGENTS.len(), 0..3)).prop_map(|(tag, id, agents)| Step::Ended { tag, id, agents }),
        1 => (1u64..20).prop_map(|tag| Step::Failure { tag }),
        1 => (0u32..3).prop_map(|calls| Step::Stats { calls }),
        1 => any::<bool>().prop_map(|up| Step::Service { up }),
    ]
}

fn check_publishes(effects: &[Effect]) {
    for effect in effects {
        if let Effect::Publish { node, payload } | Effect::StoreClientLog { node, payload, .. } = effect {
            let update = parse_update(node, payload);
            assert!(["POST", "PUT", "DELETE"].contains(&update.event.as_str()), "{}", update.text);
            assert!(update.source.starts_with("/finesse/api/"), "{}", update.text);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_keeps_the_answers_well_formed(steps in proptest::collection::vec(step(), 1..40)) {
        let mut cc = machine();
        let mut now = T0;
        for step in steps {
            now += 1_000;
            match step {
                Step::Rest { caller, method, path, body, content_type } => {
                    let call = RestCall {
                        method: METHODS[method],
                        target: format!("/finesse/api/{}", PATHS[path]),
                        request_id: Some("r".into()),
                        content_type: TYPES[content_type].map(str::to_owned),
                        body: BODIES[body].as_bytes().to_vec(),
                    };
                    let answer = cc.handle_rest(now, CALLERS[caller], call);
                    let effects = effects(&mut cc);
                    match answer.status {
                        200 => prop_assert!(answer.body.is_some() && effects.is_empty()),
                        202 => prop_assert!(answer.body.is_none() && effects.len() == 1),
                        400 | 401 | 404 | 405 | 503 => {
                            refusal(&answer);
                            prop_assert!(effects.is_empty());
                        }
                        other => prop_assert!(false, "status {other}"),
                    }
                    check_publishes(&effects);
                }
                Step::Agent { tag, agent, state, reason } => {
                    let ext = (STATES[state] != AgentState::Logout).then_some("1001");
                    let event = agent_event(tag.map(RequestTag), snapshot(AGENTS[agent], STATES[state], ext, reason));
                    cc.handle_cti(now, event);
                }
                Step::Call { tag, id, parties } => {
                    let participants = parties.iter().map(|(a, s)| participant(AGENTS[*a], Some(AGENTS[*a]), PARTICIPANT_STATES[*s])).collect();
                    cc.handle_cti(now, CtiEvent::Call { tag: tag.map(RequestTag), snapshot: a_call(id, CallState::Active, participants) });
                }
                Step::Ended { tag, id, agents } => {
                    let agents = agents.iter().map(|a| AGENTS[*a].to_owned()).collect();
                    cc.handle_cti(now, CtiEvent::CallEnded { tag: tag.map(RequestTag), call: id, agents });
                }
                Step::Failure { tag } => cc.handle_cti(now, CtiEvent::Failure { tag: RequestTag(tag), failure: CtiFailure::invalid_state() }),
                Step::Stats { calls } => cc.handle_cti(now, CtiEvent::QueueStats(QueueStats { queue: "q1".into(), calls_in_queue: calls, ..QueueStats::default() })),
                Step::Service { up } => cc.set_in_service(now, up, "CTI link down"),
            }
            let effects = effects(&mut cc);
            check_publishes(&effects);
        }
    }
}
