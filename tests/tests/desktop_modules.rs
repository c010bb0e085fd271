//! The desktop's modules (`crates/desktop/assets/js/`, served at `/desktop/`) in headless Chromium
//! against an in-process server: its XMPP client (SCRAM over BOSH and over WebSocket, bind,
//! `finesse` presence, pubsub subscribe allowed and refused, items, live events, a wrong
//! password, a forged server signature, one BOSH request cut and resent, a clean disconnect;
//! `tests/browser/desktop_xmpp.mjs`), and the pure parts one by one (model updates, client log,
//! reconnect schedule, the failover choice in a pair and among a cluster's nodes, catch-up, REST
//! errors; `tests/browser/desktop_units.mjs`).

use std::time::Duration;

use herald_testkit::TestServer;

/// Runs `script` with the server's ports and the demo password; passes when it prints PASS.
async fn run_script(script: &str) -> anyhow::Result<()> {
    let browser_dir = herald_tests::interop_dir().join("../browser");
    if !herald_tests::browser_tools_available(&browser_dir)? {
        eprintln!("skipped: needs /usr/bin/chromium and tests/browser/node_modules (scripts/test installs them)");
        return Ok(());
    }
    let server = TestServer::start_cc(|_| {}).await?;
    let api = server.api_addr().expect("start_cc turns the REST listener on");
    let browser = tokio::process::Command::new("node")
        .arg(browser_dir.join(script))
        .args(["--https", &server.https.port().to_string(), "--api", &api.port().to_string()])
        .args(["--domain", &server.domain, "--password", herald_testkit::DEMO_PASSWORD])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(150), browser).await??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(output.status.success() && stdout.contains("PASS"), "{script} failed\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    server.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktops_xmpp_client_works_over_bosh_and_websocket() -> anyhow::Result<()> {
    run_script("desktop_xmpp.mjs").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktops_modules_apply_updates_log_and_choose_nodes_as_documented() -> anyhow::Result<()> {
    run_script("desktop_units.mjs").await
}
