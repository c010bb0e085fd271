//! `herald doctor` against a real server, one scripted fault per verdict class, read back
//! through the admin API (`/admin/doctor`, what `herald doctor` asks): a BOSH desktop that goes
//! silent (client side, then its presence-driven logout), the CTI link dropped by the simulator,
//! a client sending an invalid character (bad input, naming the client), and the server stopped
//! under its clients (server side, seen after the restart). The logs are the real files under
//! the server's data directory. One test in its own process: it installs the global subscriber.

use std::time::Duration;

use herald::config::LogoutMode;
use herald_testkit::cc::{Received, enable_cc, test_scenario};
use herald_testkit::desk::{log_line, wait_log_line};
use herald_testkit::{DEMO_PASSWORD, RawClient, TestServer, enable_admin};

/// The doctor's JSON for `user` (all users when `None`) since `since` (epoch seconds).
async fn doctor(server: &TestServer, user: Option<&str>, since: u64) -> anyhow::Result<serde_json::Value> {
    let mut target = format!("/admin/doctor?json=true&since={since}");
    if let Some(user) = user {
        target.push_str(&format!("&user={user}"));
    }
    let answer = herald::ctl_client::request(server.config(), "GET", &target).await?.ok()?;
    Ok(serde_json::from_slice(&answer)?)
}

/// The verdicts of `kind` in a diagnosis.
fn verdicts<'a>(diagnosis: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    diagnosis["verdicts"].as_array().into_iter().flatten().filter(|v| v["kind"] == kind).collect()
}

fn text(verdict: &serde_json::Value) -> String {
    let evidence: Vec<&str> = verdict["evidence"].as_array().into_iter().flatten().filter_map(|e| e.as_str()).collect();
    format!("{} | {} | {}", verdict["subject"], verdict["summary"], evidence.join(" / "))
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn configure(c: &mut herald::Config) {
    enable_admin(c);
    let _ = enable_cc(c, Some(&test_scenario()));
    c.bosh.inactivity_secs = 2;
    c.presence_logout.grace_secs = 2;
    c.presence_logout.mode = Some(LogoutMode::Uccx);
    c.cti.heartbeat_secs = 1;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_is_named_with_its_evidence() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    herald_observe::init(&logs, false, herald_observe::Rotation::default())?;
    let webservices = logs.join("webservices/info.log");
    let server = TestServer::start_in(dir, configure).await?;
    server.wait_api().await?;

    // Client side: agent 1001's browser stops polling while agent 1002 stays connected.
    let began = now_secs();
    let mut other = RawClient::login(&server, "1002", DEMO_PASSWORD, "desk").await?;
    other.send("<presence/>").await?;
    let mut got = Received::default();
    let desktop = server.desktop_ready("1001", "desktop", &mut got).await?;
    drop(desktop);
    wait_log_line(&webservices, &["DECODED_MESSAGE:", "agentid: 1001,"], Duration::from_secs(15)).await?;
    let diagnosis = doctor(&server, Some("1001"), began).await?;
    let client = verdicts(&diagnosis, "client-side");
    assert_eq!(client.len(), 1, "{diagnosis:#}");
    let told = text(client[0]);
    assert!(told.contains("1001") && told.contains("inactivity"), "{told}");
    assert!(told.to_lowercase().contains("presence-driven logout"), "the logout that followed is told: {told}");
    assert!(verdicts(&diagnosis, "server-side").is_empty() && verdicts(&diagnosis, "cti-link").is_empty(), "{diagnosis:#}");

    // The CTI link dropped by the simulator.
    let began = now_secs();
    assert_eq!(server.sim_link("down").await?.status, 200);
    log_line(&webservices, &["CTI_LINK:", "lost"]).await?;
    assert_eq!(server.sim_link("up").await?.status, 200);
    log_line(&webservices, &["CTI_LINK:", "restored"]).await?;
    let diagnosis = doctor(&server, None, began).await?;
    let link = verdicts(&diagnosis, "cti-link");
    assert_eq!(link.len(), 1, "{diagnosis:#}");
    let told = text(link[0]);
    assert!(told.contains("heartbeats missed") || told.contains("lost"), "{told}");

    // Bad input: a client sends a character XML 1.0 forbids.
    let began = now_secs();
    let mut bad = RawClient::login(&server, "1003", DEMO_PASSWORD, "broken").await?;
    bad.send_bytes(b"<message to='1002@localhost' type='chat'><body>bell \x07 here</body></message>").await?;
    let closed = bad.read_to_close().await?;
    assert!(closed.contains("not-well-formed"), "{closed}");
    let diagnosis = doctor(&server, None, began).await?;
    let input = verdicts(&diagnosis, "bad-input");
    assert_eq!(input.len(), 1, "{diagnosis:#}");
    let told = text(input[0]);
    assert!(told.contains("1003@localhost/broken") && told.contains("not-well-formed"), "the client is named: {told}");

    // Server side: the server stops under its clients, and the doctor says so after the restart.
    let began = now_secs();
    let mut clients = Vec::new();
    for agent in ["1004", "1005", "1006"] {
        let mut client = RawClient::login(&server, agent, DEMO_PASSWORD, "desk").await?;
        client.send("<presence/>").await?;
        clients.push(client);
    }
    drop(other);
    let dir = server.stop().await?;
    let server = TestServer::start_in(dir, configure).await?;
    server.wait_api().await?;
    let diagnosis = doctor(&server, None, began).await?;
    let everyone = verdicts(&diagnosis, "server-side");
    assert!(!everyone.is_empty(), "{diagnosis:#}");
    let told = everyone.iter().map(|v| text(v)).collect::<Vec<_>>().join("\n");
    assert!(told.contains("server-shutdown") || told.contains("shut"), "{told}");
    assert!(
        verdicts(&diagnosis, "client-side").iter().all(|v| !text(v).contains("1004")),
        "a stop is not three client faults: {diagnosis:#}"
    );
    // The report for people leads with the verdicts.
    let report = herald::ctl_client::request(server.config(), "GET", &format!("/admin/doctor?since={began}")).await?.ok()?;
    let report = String::from_utf8(report.to_vec())?;
    assert!(report.starts_with("SERVER"), "{report}");
    drop(clients);
    server.stop().await?;
    Ok(())
}
