//! `POST /herald/sim/link?state=down|closed|up` over real HTTPS: refused without the server's
//! token (401) or with a missing or unknown state (400, ApiErrors), otherwise carried out on the
//! running simulator and answered 200 with the link's state.

mod common;

use common::Bench;
use herald_api::{SIM_LINK_PATH, ServiceConfig, sim_router};
use herald_cti::sim::{SimConfig, SimLink, Simulator};

const TOKEN: &str = "link-token";

async fn bench() -> Bench<Simulator> {
    let now = herald_api::now_ms();
    Bench::start_routed(Simulator::new(SimConfig::default(), now), ServiceConfig::default(), |handle| {
        sim_router(handle.clone(), TOKEN.into())
    })
    .await
}

async fn link(bench: &Bench<Simulator>) -> SimLink {
    bench.cti.with(|sim, _| sim.link()).await
}

#[tokio::test]
async fn the_link_endpoint_refuses_without_the_token() {
    let bench = bench().await;
    let path = format!("{SIM_LINK_PATH}?state=down");
    for auth in [None, Some("Bearer wrong"), Some("Bearer "), Some("Basic bGluay10b2tlbg==")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let reply = bench.request("POST", &path, &headers, "").await;
        assert_eq!(reply.status, 401, "{auth:?}: {reply:?}");
        assert!(reply.body.contains("<ApiErrors>"), "{reply:?}");
        assert!(reply.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")), "{reply:?}");
    }
    assert_eq!(link(&bench).await, SimLink::Up, "nothing changed");
    bench.stop().await;
}

#[tokio::test]
async fn the_link_endpoint_refuses_a_missing_or_unknown_state() {
    let bench = bench().await;
    let auth = format!("Bearer {TOKEN}");
    for (query, error) in
        [("", "Parameter Missing"), ("?state=", "Parameter Missing"), ("?state=off", "Invalid Input"), ("?state=up&x=1", "Invalid Input")]
    {
        let reply = bench.request("POST", &format!("{SIM_LINK_PATH}{query}"), &[("authorization", &auth)], "").await;
        assert_eq!(reply.status, 400, "{query}: {reply:?}");
        assert!(reply.body.contains("<ApiErrors>") && reply.body.contains(error), "{query}: {reply:?}");
    }
    assert_eq!(bench.request("GET", &format!("{SIM_LINK_PATH}?state=up"), &[("authorization", &auth)], "").await.status, 405);
    assert_eq!(link(&bench).await, SimLink::Up, "nothing changed");
    bench.stop().await;
}

#[tokio::test]
async fn the_link_goes_down_closed_and_up_and_says_so() {
    let bench = bench().await;
    let auth = format!("Bearer {TOKEN}");
    for (word, expected) in [("down", SimLink::Silent), ("down", SimLink::Silent), ("closed", SimLink::Closed), ("up", SimLink::Up)] {
        let reply = bench.request("POST", &format!("{SIM_LINK_PATH}?state={word}"), &[("authorization", &auth)], "").await;
        assert_eq!(reply.status, 200, "{word}: {reply:?}");
        assert_eq!(reply.header("content-type"), Some("application/xml"));
        assert_eq!(reply.body, format!("<SimLink><state>{word}</state></SimLink>"));
        assert_eq!(link(&bench).await, expected, "{word}");
    }
    bench.stop().await;
}
