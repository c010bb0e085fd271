//! The gauges only the contact center knows, refreshed before a scrape: agents by state as the
//! CTI side reported them, and the CTI link; and REST requests counted by route.

mod common;

use common::Bench;
use herald_api::ServiceConfig;
use herald_cti::sim::{SimAgent, SimConfig, Simulator};

const XML: (&str, &str) = ("content-type", "application/xml");

fn simulator() -> Simulator {
    let agent = |id: &str| SimAgent {
        agent: id.into(),
        extension: Some(id.into()),
        queues: Vec::new(),
        wrap_up_incoming: false,
        wrap_up_outgoing: false,
    };
    let config = SimConfig { agents: vec![agent("1001"), agent("1002")], ..SimConfig::default() };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    Simulator::new(config, now)
}

#[tokio::test]
async fn agents_by_state_and_the_cti_link_are_set_before_a_scrape() {
    let bench = Bench::start_with(simulator(), ServiceConfig::default()).await;
    let node = "/finesse/api/User/1001";
    let login = "<User><state>LOGIN</state><extension>1001</extension></User>";
    assert_eq!(bench.as_user("1001", "PUT", node, &[XML], login).await.status, 202);
    bench.wait_item(node, &["NOT_READY"]).await;
    assert_eq!(bench.as_user("1001", "PUT", node, &[XML], "<User><state>READY</state></User>").await.status, 202);
    bench.wait_item(node, &["&lt;state&gt;READY&lt;/state&gt;"]).await;
    let metrics = bench.core.metrics();
    assert!(!metrics.encode().contains("herald_agents{"), "nothing set until refreshed");
    bench.service.refresh_metrics();
    let text = metrics.encode();
    assert!(text.contains("herald_agents{state=\"READY\"} 1"), "{text}");
    assert!(text.contains("herald_cti_link_up 1"), "{text}");
    assert!(text.contains("herald_rest_requests_total{route=\"User/{id}\",status=\"202\"} 2"), "{text}");
    bench.stop().await;
}
