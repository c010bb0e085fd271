//! slixmpp, a client we did not write, logs users in over STARTTLS with SCRAM-SHA-256 and
//! exercises presence, messages, ping, disco and offline delivery, then publish-subscribe
//! (XEP-0060) with its pubsub plugin, against a real Herald.

use std::time::Duration;

use herald_testkit::TestServer;

/// Runs one slixmpp script against a fresh server with users alice, bob and carol.
async fn run_script(name: &str) -> anyhow::Result<()> {
    if !herald_tests::python_module_available("slixmpp")? {
        eprintln!("skipped: python3 cannot import slixmpp (run scripts/test, which installs it)");
        return Ok(());
    }
    let server = TestServer::start().await?;
    for user in ["alice", "bob", "carol"] {
        server.add_user(user, "s3cret-pw").await?;
    }
    let script = herald_tests::interop_dir().join(name);
    let child = tokio::process::Command::new("python3")
        .arg(&script)
        .args(["--port", &server.c2s.port().to_string(), "--domain", &server.domain, "--password", "s3cret-pw"])
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slixmpp_im_over_starttls() -> anyhow::Result<()> {
    run_script("slixmpp_im.py").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slixmpp_pubsub() -> anyhow::Result<()> {
    run_script("slixmpp_pubsub.py").await
}
