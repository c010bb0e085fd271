//! The seed's disconnect story end to end, over real HTTPS and BOSH with short timers: a desktop
//! signs in and goes READY, then stops polling; the BOSH session closes at its inactivity, the
//! web services see the agent's presence go unavailable, and after the grace the agent is
//! logged out (UCCX) or made NOT_READY (UCCE) with reason code 255, which a supervisor watching
//! the Team node receives. A desktop that comes back over another transport within the grace is
//! not logged out. The web-services log tells both stories line by line. One test in its own
//! process, because it installs the global log subscriber.

use std::path::Path;
use std::time::Duration;

use herald::config::LogoutMode;
use herald_testkit::cc::{Received, element_text};
use herald_testkit::desk::{log_line, wait_log_line};
use herald_testkit::{DEMO_PASSWORD, TestServer, WsClient};

/// BOSH inactivity and the grace, seconds: the story takes about four seconds, not two minutes.
const INACTIVITY_SECS: u64 = 2;
const GRACE_SECS: u64 = 2;

async fn server(mode: LogoutMode, logout_on_disconnect: bool) -> anyhow::Result<TestServer> {
    TestServer::start_cc(|c| {
        c.bosh.inactivity_secs = INACTIVITY_SECS;
        c.presence_logout.grace_secs = GRACE_SECS;
        c.presence_logout.mode = Some(mode);
        c.presence_logout.logout_on_disconnect = logout_on_disconnect;
    })
    .await
}

/// `agent` (team 1, watched by supervisor 2001) signs in, goes READY and vanishes; returns
/// once the supervisor has seen it end in `expected` with reason code 255, and the REST view
/// agrees.
async fn desktop_vanishes(server: &TestServer, agent: &str, expected: &str) -> anyhow::Result<()> {
    let mut supervisor = server.watch_node("2001", "/finesse/api/Team/1/Users").await?;
    let mut got = Received::default();
    let desktop = server.desktop_ready(agent, "desktop", &mut got).await?;
    // The browser vanishes: no request is ever sent again on its session.
    drop(desktop);
    // (Signing in made it NOT_READY with no reason first: the change looked for carries 255.)
    let mut seen = Received::default();
    supervisor
        .wait_update(&mut seen, |u| {
            u.node == "/finesse/api/Team/1/Users"
                && element_text(&u.data, "loginId").as_deref() == Some(agent)
                && element_text(&u.data, "state").as_deref() == Some(expected)
                && element_text(&u.data, "code").as_deref() == Some("255")
        })
        .await?;
    let user = server.rest_get(&format!("/finesse/api/User/{agent}"), agent).await?;
    assert_eq!(element_text(&user.body, "state").as_deref(), Some(expected), "{}", user.body);
    assert!(user.body.contains("<code>255</code>"), "{}", user.body);
    Ok(())
}

/// `agent`'s desktop vanishes over BOSH, then the agent comes back over WebSocket while the
/// grace runs: it stays READY, and the log says the timer was cancelled.
async fn desktop_returns(server: &TestServer, log: &Path, agent: &str) -> anyhow::Result<()> {
    let mut got = Received::default();
    let desktop = server.desktop_ready(agent, "desktop", &mut got).await?;
    drop(desktop);
    let started = format!("AGENT_PRESENCE_MONITOR: agent {agent} ");
    wait_log_line(log, &[&started, "has no available resource"], Duration::from_secs(INACTIVITY_SECS + 10)).await?;
    let mut ws = WsClient::connect(server, Some("xmpp")).await?.map_err(|status| anyhow::anyhow!("WebSocket refused: {status}"))?;
    ws.login(&server.domain, agent, DEMO_PASSWORD, "ws").await?;
    ws.send("<presence xmlns='jabber:client'/>").await?;
    let jid = format!("{agent}@{}/ws", server.domain);
    log_line(log, &[&started, "available again", &jid, "timer cancelled"]).await?;
    // Well past the grace: still READY, never logged out.
    tokio::time::sleep(Duration::from_secs(GRACE_SECS + 1)).await;
    let user = server.rest_get(&format!("/finesse/api/User/{agent}"), agent).await?;
    assert_eq!(element_text(&user.body, "state").as_deref(), Some("READY"), "{}", user.body);
    Ok(())
}

/// The lines of `log` that mention `agent` and one of the steps, in order.
fn story(log: &str, agent: &str) -> Vec<String> {
    let steps =
        ["PRESENCE:", "UNSUBSCRIBE:", "AGENT_PRESENCE_MONITOR:", "PRESENCE DRIVEN LOGOUT:", "MESSAGE_TO_CTI_SERVER:", "DECODED_MESSAGE:"];
    log.lines()
        .filter(|line| steps.iter().any(|s| line.contains(s)))
        .filter(|line| line.contains(&format!("agent {agent} ")) || line.contains(&format!("agentid: {agent},")))
        .map(str::to_owned)
        .collect()
}

/// Each expected step (every needle of it) is in `lines`, in this order.
fn assert_story(lines: &[String], expected: &[&[&str]]) {
    let mut at = 0;
    for needles in expected {
        match lines[at..].iter().position(|line| needles.iter().all(|n| line.contains(n))) {
            Some(found) => at += found + 1,
            None => panic!("no line with {needles:?} after line {at} of:\n{}", lines.join("\n")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_desktop_is_logged_out_and_a_returning_one_is_not() -> anyhow::Result<()> {
    let logs = tempfile::tempdir()?;
    herald_observe::init(logs.path(), false, herald_observe::Rotation::default())?;
    let log = logs.path().join("webservices/info.log");

    let uccx = server(LogoutMode::Uccx, false).await?;
    desktop_vanishes(&uccx, "1001", "LOGOUT").await?;
    desktop_returns(&uccx, &log, "1002").await?;
    uccx.stop().await?;

    let ucce = server(LogoutMode::Ucce, false).await?;
    desktop_vanishes(&ucce, "1003", "NOT_READY").await?;
    ucce.stop().await?;

    let load = server(LogoutMode::Ucce, true).await?;
    desktop_vanishes(&load, "1004", "LOGOUT").await?;
    load.stop().await?;

    let text = std::fs::read_to_string(&log)?;
    let domain = "localhost";
    for (agent, state) in [("1001", "LOGOUT"), ("1003", "NOT_READY"), ("1004", "LOGOUT")] {
        let jid = format!("{agent}@{domain}/desktop");
        let lines = story(&text, agent);
        assert_story(
            &lines,
            &[
                &["PRESENCE:", "unavailable", &jid],
                &["UNSUBSCRIBE:", &jid, "0 available"],
                &["AGENT_PRESENCE_MONITOR:", "(READY)", "no available resource"],
                &["PRESENCE DRIVEN LOGOUT:", &format!("forcing {state}"), "255"],
                &[
                    "MESSAGE_TO_CTI_SERVER:",
                    &format!("agentid: {agent},"),
                    &format!("agentstate: {state}"),
                    "reason code: 255",
                    "forceflag: 1",
                ],
                &["DECODED_MESSAGE:", &format!("agentid: {agent},"), &format!("agentState={state}"), "eventReasonCode=255"],
            ],
        );
        assert!(!lines.iter().any(|l| l.contains("cancelled")), "{agent} was not cancelled:\n{}", lines.join("\n"));
    }
    let returned = story(&text, "1002");
    assert_story(
        &returned,
        &[
            &["PRESENCE:", "unavailable", "1002@localhost/desktop"],
            &["AGENT_PRESENCE_MONITOR:", "no available resource"],
            &["AGENT_PRESENCE_MONITOR:", "1002@localhost/ws", "timer cancelled"],
        ],
    );
    assert!(
        !returned.iter().any(|l| l.contains("PRESENCE DRIVEN LOGOUT:") || l.contains("MESSAGE_TO_CTI_SERVER:")),
        "1002 came back in time:\n{}",
        returned.join("\n")
    );
    // The notification service's side of the same story.
    let notification = std::fs::read_to_string(logs.path().join("notification/info.log"))?;
    assert!(notification.contains("after inactivity for more than threshold value of 2"), "{notification}");
    Ok(())
}
