//! Strophe.js in headless Chromium logs in over BOSH and over WebSocket and exchanges messages
//! with a slixmpp user on TCP; the BOSH session survives 35 s of silence (longer than `wait`).

use std::process::Stdio;
use std::time::Duration;

use herald_testkit::TestServer;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strophe_over_bosh_and_websocket_with_slixmpp_on_tcp() -> anyhow::Result<()> {
    let browser_dir = herald_tests::interop_dir().join("../browser");
    if !herald_tests::python_module_available("slixmpp")? || !herald_tests::browser_tools_available(&browser_dir)? {
        eprintln!("skipped: needs slixmpp, /usr/bin/chromium and tests/browser/node_modules (scripts/test installs them)");
        return Ok(());
    }
    let server = TestServer::start().await?;
    for user in ["alice", "bob", "carol"] {
        server.add_user(user, "s3cret-pw").await?;
    }
    let mut echo = tokio::process::Command::new("python3")
        .arg(herald_tests::interop_dir().join("slixmpp_echo.py"))
        .args(["--port", &server.c2s.port().to_string(), "--password", "s3cret-pw"])
        .arg("--cafile")
        .arg(server.cert_path())
        .args(["--expect", "bosh", "--expect", "bosh after silence", "--expect", "websocket"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(echo.stdout.take().expect("piped")).lines();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await??;
        match line {
            Some(l) if l == "READY" => break,
            Some(_) => {}
            None => anyhow::bail!("the slixmpp peer exited before logging in"),
        }
    }
    let browser = tokio::process::Command::new("node")
        .arg(browser_dir.join("strophe_interop.mjs"))
        .args(["--https", &server.https.port().to_string(), "--password", "s3cret-pw", "--peer", "alice@localhost"])
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
    let mut echo_out = Vec::new();
    while let Ok(Ok(Some(line))) = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await {
        echo_out.push(line);
    }
    assert!(echo_out.iter().any(|l| l == "PASS"), "slixmpp peer: {echo_out:?}");
    assert!(echo.wait().await?.success());
    server.stop().await?;
    Ok(())
}
