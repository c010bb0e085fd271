//! The desktop's own XMPP client (`crates/desktop/assets/js/xmpp.js`, served at `/desktop/`) in
//! headless Chromium against an in-process server: SCRAM over BOSH and over WebSocket, bind,
//! `finesse` presence, pubsub subscribe (allowed and refused), items, live events, a wrong
//! password, one BOSH request cut and resent, and a clean disconnect
//! (`tests/browser/desktop_xmpp.mjs`).

use std::time::Duration;

use herald_testkit::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktops_xmpp_client_works_over_bosh_and_websocket() -> anyhow::Result<()> {
    let browser_dir = herald_tests::interop_dir().join("../browser");
    if !herald_tests::browser_tools_available(&browser_dir)? {
        eprintln!("skipped: needs /usr/bin/chromium and tests/browser/node_modules (scripts/test installs them)");
        return Ok(());
    }
    let server = TestServer::start_cc(|_| {}).await?;
    let api = server.api_addr().expect("start_cc turns the REST listener on");
    let browser = tokio::process::Command::new("node")
        .arg(browser_dir.join("desktop_xmpp.mjs"))
        .args(["--https", &server.https.port().to_string(), "--api", &api.port().to_string()])
        .args(["--domain", &server.domain, "--password", herald_testkit::DEMO_PASSWORD, "--token", &server.sim_token()?])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(150), browser).await??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success() && stdout.contains("PASS"),
        "browser run failed\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    server.stop().await?;
    Ok(())
}
