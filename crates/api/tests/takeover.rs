//! A cluster takeover's restore (issue 15), in process: a first service (the old CTI leader)
//! publishes its agents' states through REST and the simulator; it stops, and a fresh machine
//! and simulator started over the same core (whose pubsub holds those items, as every node's
//! does) come up, after `restore_agents`, with each agent in its published state — in the
//! machine, in the simulator, and in a fresh Update on its User node — while an agent whose
//! newest item is unreadable stays logged out.

mod common;

use common::Bench;
use herald_api::{RestoreReport, ServiceConfig, restore_agents};
use herald_cc::ContactCenter;
use herald_cti::AgentState;
use herald_cti::sim::{SimAgent, SimConfig, Simulator};
use herald_pubsub::ItemQuery;
use herald_xml::Element;

const XML: (&str, &str) = ("content-type", "application/xml");

/// The built-in simulator with the bench's agents on their own extensions, and no calls.
fn simulator() -> Simulator {
    let agents = ["1001", "1002", "carol", "2001"]
        .iter()
        .map(|id| SimAgent {
            agent: (*id).into(),
            extension: Some((*id).into()),
            queues: Vec::new(),
            wrap_up_incoming: false,
            wrap_up_outgoing: false,
        })
        .collect();
    Simulator::new(SimConfig { agents, ..SimConfig::default() }, herald_api::now_ms())
}

/// `PUT User/{agent}` with `state` (and what follows it in the body), as the agent.
async fn change(bench: &Bench<Simulator>, agent: &str, body: &str, wanted: &[&str]) {
    let node = format!("/finesse/api/User/{agent}");
    let reply = bench.as_user(agent, "PUT", &node, &[XML], &format!("<User>{body}</User>")).await;
    assert_eq!(reply.status, 202, "{agent} {body}: {reply:?}");
    bench.wait_item(&node, wanted).await;
}

#[tokio::test]
async fn a_new_leader_comes_up_with_the_published_states() {
    let old = Bench::start(simulator()).await;
    for agent in ["1001", "1002", "carol"] {
        change(&old, agent, &format!("<state>LOGIN</state><extension>{agent}</extension>"), &["NOT_READY"]).await;
    }
    change(&old, "1001", "<state>READY</state>", &["&lt;state&gt;READY&lt;"]).await;
    change(&old, "1002", "<state>NOT_READY</state><reasonCodeId>16</reasonCodeId>", &["&lt;reasonCodeId&gt;16&lt;"]).await;
    change(&old, "carol", "<state>READY</state>", &["&lt;state&gt;READY&lt;"]).await;
    // A refused request: carol's newest item is an apiErrors Update, her state is in the one before.
    change(&old, "carol", "<state>LOGOUT</state>", &["apiErrors"]).await;
    // 2001 never signed in; its newest item is something no Finesse node publishes.
    let odd = Element::new("notification", herald_cc::update::NOTIFICATION_NS).with_text("<Update><data><user/></data></Update>");
    old.core.pubsub().publish(None, "/finesse/api/User/2001", None, Some(odd)).await.unwrap();
    let core = old.core.clone();
    old.stop().await;

    let logs = tempfile::tempdir().unwrap();
    let config = ServiceConfig { client_log_dir: logs.path().join("clientlogs"), ..ServiceConfig::default() };
    let machine = ContactCenter::new(common::cc_config(), common::directory());
    let (service, cti) = herald_api::start(core.clone(), machine, simulator(), config).await.unwrap();
    let before = service.with_center(|cc| cc.agent_view("1001").state);
    assert_eq!(before, AgentState::Logout, "a fresh machine knows nobody");

    let report = restore_agents(&service, &cti).await;
    assert_eq!(report, RestoreReport { restored: 3, logged_out: 0, skipped: 1 });

    let view = |agent: &'static str| service.with_center(move |cc| cc.agent_view(agent));
    let (one, two, carol, sup) = (view("1001"), view("1002"), view("carol"), view("2001"));
    assert_eq!((one.state, one.extension.as_deref()), (AgentState::Ready, Some("1001")));
    assert_eq!((two.state, two.reason_code_id, two.extension.as_deref()), (AgentState::NotReady, Some(16), Some("1002")));
    assert_eq!(carol.state, AgentState::Ready);
    assert_eq!(sup.state, AgentState::Logout, "unreadable: stays logged out");

    // The simulator agrees: the states are the CTI side's, not only the machine's.
    let sim = cti.with(|sim, _| ["1001", "1002", "carol", "2001"].map(|a| sim.agent(a).map(|s| (s.state, s.reason_code)))).await;
    assert_eq!(sim[..3], [Some((AgentState::Ready, None)), Some((AgentState::NotReady, Some(10))), Some((AgentState::Ready, None))]);
    assert!(sim[3].is_none_or(|(state, _)| state == AgentState::Logout), "{sim:?}");

    // Desktops get a fresh snapshot: the newest item on each restored node is the restored
    // state, unsolicited (no requestId).
    for (agent, needle) in [("1001", "&lt;state&gt;READY&lt;"), ("1002", "&lt;reasonCodeId&gt;16&lt;"), ("carol", "&lt;state&gt;READY&lt;")]
    {
        let node = format!("/finesse/api/User/{agent}");
        let newest = wait_newest(&core, &node, needle).await;
        assert!(newest.contains("&lt;requestId/&gt;"), "{agent}: {newest}");
    }
    service.stop().await;
}

/// Waits (bounded) until the newest item of `node` contains `needle`; returns its XML.
async fn wait_newest(core: &herald_core::Core, node: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let page = core.pubsub().items(None, node, ItemQuery::Latest(Some(1))).await.unwrap();
        let newest = page.items.last().and_then(|i| i.payload.as_ref()).map(|p| p.to_xml()).unwrap_or_default();
        if newest.contains(needle) {
            return newest;
        }
        assert!(std::time::Instant::now() < deadline, "the newest item of {node} never held {needle}: {newest}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
