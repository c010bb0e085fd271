//! The contact center with clients we did not write: Strophe.js in headless Chromium as an agent
//! desktop (BOSH, then WebSocket) calling the REST web services cross-origin, and slixmpp over
//! TCP as a supervisor and as agents whose subscriptions must be refused.

use std::time::Duration;

use herald_testkit::TestServer;

/// The origin the browser test's page is served from (routed by Playwright), allowed by CORS.
const DESK_ORIGIN: &str = "https://desk.herald.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strophe_desktop_signs_in_takes_a_call_and_signs_out_over_bosh_and_websocket() -> anyhow::Result<()> {
    let browser_dir = herald_tests::interop_dir().join("../browser");
    if !herald_tests::browser_tools_available(&browser_dir)? {
        eprintln!("skipped: needs /usr/bin/chromium and tests/browser/node_modules (scripts/test installs them)");
        return Ok(());
    }
    let server = TestServer::start_cc(|c| c.http.cors_origins = vec![DESK_ORIGIN.to_owned()]).await?;
    let api = server.api_addr().expect("start_cc turns the REST listener on");
    let browser = tokio::process::Command::new("node")
        .arg(browser_dir.join("cc_desktop.mjs"))
        .args(["--https", &server.https.port().to_string(), "--api", &api.port().to_string()])
        .args(["--domain", &server.domain, "--origin", DESK_ORIGIN, "--token", &server.sim_token()?])
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slixmpp_supervisor_sees_its_team_and_agents_are_refused_others_nodes() -> anyhow::Result<()> {
    if !herald_tests::python_module_available("slixmpp")? {
        eprintln!("skipped: python3 cannot import slixmpp (run scripts/test, which installs it)");
        return Ok(());
    }
    let server = TestServer::start_cc(|_| {}).await?;
    let api = server.api_addr().expect("start_cc turns the REST listener on");
    let child = tokio::process::Command::new("python3")
        .arg(herald_tests::interop_dir().join("slixmpp_cc.py"))
        .args(["--port", &server.c2s.port().to_string(), "--api", &api.port().to_string()])
        .args(["--domain", &server.domain, "--password", herald_testkit::DEMO_PASSWORD])
        .arg("--cafile")
        .arg(server.cert_path())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), child).await??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stdout.contains("PASS"), "slixmpp run failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    println!("{stdout}");
    server.stop().await?;
    Ok(())
}
