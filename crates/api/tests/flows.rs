//! End to end over real HTTPS with the real machine and the built-in simulator as the CTI
//! side: sign-in and state changes answered 202 and published on the User node with their
//! `requestId`, an impossible change answered by an async apiErrors Update, a call injected
//! through the simulator's endpoint arriving on the Dialogs node and answered through REST, and
//! a client log stored in its directory with its POST event published.

mod common;

use std::time::Duration;

use common::Bench;
use herald_api::{ServiceConfig, sim_router};
use herald_cti::sim::{SimAgent, SimConfig, SimQueue, Simulator};

const TOKEN: &str = "s3cret-token";
const XML: (&str, &str) = ("content-type", "application/xml");

fn simulator() -> Simulator {
    simulator_with(SimConfig::default())
}

fn simulator_with(base: SimConfig) -> Simulator {
    let agent = |id: &str| SimAgent {
        agent: id.into(),
        extension: Some(id.into()),
        queues: vec!["sales".into()],
        wrap_up_incoming: false,
        wrap_up_outgoing: false,
    };
    let config = SimConfig {
        queues: vec![SimQueue { id: "sales".into(), name: "Sales".into(), dialed_number: "5000".into(), calls_per_hour: 0.0 }],
        agents: vec![agent("1001"), agent("1002"), agent("carol"), agent("2001")],
        talk_time_ms: (600_000, 600_000),
        ..base
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    Simulator::new(config, now)
}

async fn bench() -> Bench<Simulator> {
    bench_over(simulator()).await
}

async fn bench_over(sim: Simulator) -> Bench<Simulator> {
    Bench::start_routed(sim, ServiceConfig::default(), |handle| sim_router(handle.clone(), TOKEN.into())).await
}

/// The value of `<name>` in an escaped Update (the notification's text).
fn field(xml: &str, name: &str) -> Option<String> {
    let open = format!("&lt;{name}&gt;");
    let close = format!("&lt;/{name}&gt;");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(xml[start..end].to_owned())
}

#[tokio::test]
async fn sign_in_and_ready_are_published_with_their_request_ids_in_order() {
    let bench = bench().await;
    let node = "/finesse/api/User/1001";
    let login = "<User><state>LOGIN</state><extension>1001</extension></User>";
    let reply = bench.as_user("1001", "PUT", node, &[XML, ("requestId", "login-1")], login).await;
    assert_eq!((reply.status, reply.body.as_str(), reply.header("requestid")), (202, "", Some("login-1")), "{reply:?}");
    assert_eq!(reply.header("content-type"), None, "{reply:?}");
    let update = bench.wait_item(node, &["login-1", "NOT_READY"]).await;
    assert_eq!(field(&update, "event").as_deref(), Some("PUT"), "{update}");
    assert_eq!(field(&update, "source").as_deref(), Some(node), "{update}");
    assert_eq!(field(&update, "extension").as_deref(), Some("1001"), "{update}");

    let ready = "<User><state>READY</state></User>";
    assert_eq!(bench.as_user("1001", "PUT", node, &[XML, ("requestId", "ready-1")], ready).await.status, 202);
    bench.wait_item(node, &["ready-1", "&lt;state&gt;READY&lt;/state&gt;"]).await;
    // Stored in the order they were made.
    let items = bench.core.pubsub().items(None, node, herald_pubsub::ItemQuery::Latest(None)).await.unwrap().items;
    let ids: Vec<String> = items.iter().filter_map(|i| i.payload.as_ref()).filter_map(|p| field(&p.to_xml(), "requestId")).collect();
    let (a, b) = (ids.iter().position(|i| i == "login-1"), ids.iter().position(|i| i == "ready-1"));
    assert!(a.is_some() && a < b, "{ids:?}");

    // The GET reflects it.
    let user = bench.as_user("1001", "GET", node, &[], "").await;
    assert!(user.body.contains("<state>READY</state>"), "{user:?}");

    // LOGOUT from READY is refused by the CTI side: 202, then an apiErrors Update.
    let logout = "<User><state>LOGOUT</state></User>";
    assert_eq!(bench.as_user("1001", "PUT", node, &[XML, ("requestId", "out-1")], logout).await.status, 202);
    let error = bench.wait_item(node, &["out-1", "apiErrors"]).await;
    assert!(error.contains("errorType"), "{error}");
    bench.stop().await;
}

#[tokio::test]
async fn an_injected_call_reaches_the_ready_agent_and_is_answered_through_rest() {
    let bench = bench().await;
    let node = "/finesse/api/User/1002";
    let login = "<User><state>LOGIN</state><extension>1002</extension></User>";
    assert_eq!(bench.as_user("1002", "PUT", node, &[XML], login).await.status, 202);
    bench.wait_item(node, &["NOT_READY"]).await;
    assert_eq!(bench.as_user("1002", "PUT", node, &[XML], "<User><state>READY</state></User>").await.status, 202);
    bench.wait_item(node, &["&lt;state&gt;READY&lt;/state&gt;"]).await;

    let auth = format!("Bearer {TOKEN}");
    let path = "/herald/sim/call?queue=sales&from=5551234&var=callVariable1%3DChuck+Smith";
    let injected = bench.request("POST", path, &[("authorization", &auth)], "").await;
    assert_eq!(injected.status, 202, "{injected:?}");
    assert_eq!(injected.header("content-type"), Some("application/xml"));
    let id = injected.body.strip_prefix("<Call><id>").and_then(|r| r.strip_suffix("</id></Call>")).expect("a call id").to_owned();
    let dialogs = "/finesse/api/User/1002/Dialogs";
    let added = bench.wait_item(dialogs, &["ALERTING", "Chuck Smith", "5551234"]).await;
    assert_eq!(field(&added, "event").as_deref(), Some("POST"), "{added}");

    let answer = "<Dialog><requestedAction>ANSWER</requestedAction><targetMediaAddress>1002</targetMediaAddress></Dialog>";
    let reply = bench.as_user("1002", "PUT", &format!("/finesse/api/Dialog/{id}"), &[XML, ("requestId", "ans-1")], answer).await;
    assert_eq!(reply.status, 202, "{reply:?}");
    bench.wait_item(dialogs, &["ans-1", "ACTIVE"]).await;
    // Another agent may not act on it.
    let other = bench.as_user("1001", "PUT", &format!("/finesse/api/Dialog/{id}"), &[XML], answer).await;
    assert_eq!(other.status, 401, "{other:?}");
    bench.stop().await;
}

#[tokio::test]
async fn the_sim_endpoint_refuses_bad_tokens_unknown_queues_and_bad_parameters() {
    let bench = bench().await;
    let path = "/herald/sim/call?queue=sales";
    for auth in [None, Some("Bearer wrong"), Some("Bearer "), Some("Basic czNjcmV0LXRva2Vu")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let reply = bench.request("POST", path, &headers, "").await;
        assert_eq!(reply.status, 401, "{auth:?}: {reply:?}");
        assert!(reply.body.contains("<ApiErrors>"), "{reply:?}");
    }
    let auth = format!("Bearer {TOKEN}");
    let unknown = bench.request("POST", "/herald/sim/call?queue=nope", &[("authorization", &auth)], "").await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    for bad in ["/herald/sim/call", "/herald/sim/call?queue=sales&var=novalue", "/herald/sim/call?queue=sales&x=1"] {
        assert_eq!(bench.request("POST", bad, &[("authorization", &auth)], "").await.status, 400, "{bad}");
    }
    assert_eq!(bench.request("GET", path, &[("authorization", &auth)], "").await.status, 405);
    bench.stop().await;
}

#[tokio::test]
async fn a_client_log_is_stored_in_its_directory_and_its_post_event_published() {
    let bench = bench().await;
    let body = "<ClientLog><logData>line one&#10;line &lt;two&gt;</logData></ClientLog>";
    let reply = bench.as_user("1001", "POST", "/finesse/api/User/1001/ClientLog", &[XML, ("requestId", "log-1")], body).await;
    assert_eq!(reply.status, 202, "{reply:?}");
    let update = bench.wait_item("/finesse/api/User/1001/ClientLog", &[]).await;
    assert_eq!(field(&update, "event").as_deref(), Some("POST"), "{update}");
    let mut files = Vec::new();
    for _ in 0..100 {
        files = std::fs::read_dir(&bench.log_dir).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
        if !files.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].file_name().unwrap().to_string_lossy().starts_with("1001"), "{files:?}");
    assert_eq!(std::fs::read_to_string(&files[0]).unwrap(), "line one\nline <two>");
    // Another agent's log is refused and nothing is written.
    let other = bench.as_user("1002", "POST", "/finesse/api/User/1001/ClientLog", &[XML], body).await;
    assert_eq!(other.status, 401, "{other:?}");
    bench.stop().await;
}

#[tokio::test]
async fn the_driver_wakes_for_the_simulators_deadlines() {
    // Ring-no-answer after 300 ms: only the driver's timer, re-armed after the injection through
    // the handle, can make the agent NOT_READY.
    let bench = bench_over(simulator_with(SimConfig { ring_no_answer_ms: 300, ..SimConfig::default() })).await;
    let node = "/finesse/api/User/carol";
    let login = "<User><state>LOGIN</state><extension>carol</extension></User>";
    assert_eq!(bench.as_user("carol", "PUT", node, &[XML], login).await.status, 202);
    bench.wait_item(node, &["NOT_READY"]).await;
    assert_eq!(bench.as_user("carol", "PUT", node, &[XML, ("requestId", "r")], "<User><state>READY</state></User>").await.status, 202);
    bench.wait_item(node, &["&lt;state&gt;READY&lt;/state&gt;"]).await;
    let id = bench
        .cti
        .with(|sim, now| sim.inject_call(now, herald_cti::sim::InjectedCall { queue: "sales".into(), ..Default::default() }))
        .await;
    assert!(id.is_ok(), "{id:?}");
    bench.wait_item(node, &["RESERVED"]).await;
    let items = || async {
        let page = bench.core.pubsub().items(None, node, herald_pubsub::ItemQuery::Latest(Some(1))).await.unwrap();
        page.items.last().and_then(|i| i.payload.as_ref()).map(|p| p.to_xml()).unwrap_or_default()
    };
    for _ in 0..100 {
        if items().await.contains("&lt;state&gt;NOT_READY&lt;/state&gt;") {
            bench.stop().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no NOT_READY after ring-no-answer: {}", items().await);
}
