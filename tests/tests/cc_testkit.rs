//! The contact-center test support itself, against a real server: `enable_cc` turns the REST
//! listener on and writes the test scenario, and the HTTPS client speaks real TLS (trusting only
//! the server's generated certificate) with HTTP Basic.

use herald_testkit::cc::{TEST_SCENARIO_BASE, enable_cc, test_scenario};
use herald_testkit::{Auth, TestServer, https_request_to};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_cc_binds_the_api_listener_and_points_at_the_test_scenario() -> anyhow::Result<()> {
    let plain = TestServer::start().await?;
    assert_eq!(plain.api_addr(), None, "no REST listener unless asked: never the default port 8445");
    assert!(plain.rest("GET", "/finesse/api/SystemInfo", Auth::None, &[], Vec::new()).await.is_err());
    plain.stop().await?;

    // What start_cc does before it waits for the contact center to serve.
    let mut enabled = Ok(());
    let server = TestServer::start_with(|c| enabled = enable_cc(c, Some(&test_scenario()))).await?;
    enabled?;
    let api = server.api_addr().expect("the REST listener is on");
    assert!(api.ip().is_loopback() && api.port() != 0 && api != server.https);
    let scenario = server.config().cc.scenario.clone().expect("a scenario is configured");
    let text = std::fs::read_to_string(&scenario)?;
    assert!(text.starts_with(TEST_SCENARIO_BASE) && text.contains("login_id = \"1010\""), "{}", scenario.display());
    assert_eq!(text, test_scenario());
    assert!(!text.contains("calls_per_hour = 1"), "no random arrivals in tests");

    // The HTTPS client over real TLS with Basic credentials, here to the BOSH listener, which
    // serves no /finesse path: an HTTP answer proves the handshake and the request.
    let basic = Auth::Basic("1001", "herald-demo").header().unwrap_or_default();
    let reply =
        https_request_to(&server, server.https, None, "GET", "/finesse/api/SystemInfo", &[("authorization", &basic)], Vec::new()).await?;
    assert!((400..500).contains(&reply.status), "{reply:?}");
    server.stop().await?;
    Ok(())
}
