//! CTI link supervision end to end with the built-in simulator, over real HTTPS, BOSH and TCP:
//! the simulator's link goes quiet, three heartbeats are missed and every desktop receives
//! SystemInfo OUT_OF_SERVICE; state changes are refused with 503 meanwhile; a desktop that
//! vanished during the outage has its presence-driven logout held, not lost; a call that
//! arrived unseen is republished when the link is back, with IN_SERVICE; then the held logout
//! is sent. A closed link is noticed at once. One test in its own process, because it installs
//! the global log subscriber.

use herald::config::LogoutMode;
use herald_testkit::cc::{Received, Update, element_text};
use herald_testkit::desk::log_line;
use herald_testkit::{DEMO_PASSWORD, RawClient, TestServer};

const SYSTEM_INFO: &str = "/finesse/api/SystemInfo";

fn system_status(u: &Update, status: &str) -> bool {
    u.node == SYSTEM_INFO && element_text(&u.data, "status").as_deref() == Some(status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_cti_link_takes_the_service_out_and_back_without_losing_a_logout() -> anyhow::Result<()> {
    let logs = tempfile::tempdir()?;
    herald_observe::init(logs.path(), false, herald_observe::Rotation::default())?;
    let log = logs.path().join("webservices/info.log");
    let server = TestServer::start_cc(|c| {
        c.cti.heartbeat_secs = 1;
        c.cti.missed_heartbeats = 3;
        c.bosh.inactivity_secs = 2;
        c.presence_logout.grace_secs = 6;
        c.presence_logout.mode = Some(LogoutMode::Uccx);
    })
    .await?;

    // Supervisor 2001 watches team 2; agent 1001 (team 1, queue 100) stays connected over TCP.
    let mut supervisor = server.watch_node("2001", "/finesse/api/Team/2/Users").await?;
    let mut supervisor_got = Received::default();
    let mut agent = RawClient::login(&server, "1001", DEMO_PASSWORD, "desktop").await?;
    agent.send("<presence/>").await?;
    let mut agent_got = Received::default();
    for (id, body) in [("l", "<User><state>LOGIN</state><extension>1001</extension></User>"), ("r", "<User><state>READY</state></User>")] {
        let answer = server.rest_put("/finesse/api/User/1001", "1001", Some(id), body).await?;
        assert_eq!(answer.status, 202, "{answer:?}");
        agent.wait_update(&mut agent_got, |u| u.request_id == id).await?;
    }

    // Agent 1006 (team 2) signs in over BOSH and its browser vanishes; right after, the link
    // goes quiet.
    let mut vanished_got = Received::default();
    let desktop = server.desktop_ready("1006", "desktop", &mut vanished_got).await?;
    drop(desktop);
    let down = server.sim_link("down").await?;
    assert_eq!(down.status, 200, "{down:?}");

    let out = supervisor.wait_update(&mut supervisor_got, |u| system_status(u, "OUT_OF_SERVICE")).await?;
    assert_eq!(out.event, "PUT");
    agent.wait_update(&mut agent_got, |u| system_status(u, "OUT_OF_SERVICE")).await?;
    log_line(&log, &["CTI_LINK:", "lost", "(3 heartbeats missed)", "OUT_OF_SERVICE"]).await?;
    let refused = server.rest_put("/finesse/api/User/1001", "1001", None, "<User><state>NOT_READY</state></User>").await?;
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(refused.body.contains("<ApiErrors>"), "{}", refused.body);
    let info = server.rest_get(SYSTEM_INFO, "1001").await?;
    assert_eq!(element_text(&info.body, "status").as_deref(), Some("OUT_OF_SERVICE"), "{}", info.body);

    // The ACD goes on unseen: a call arrives in queue 100 and is offered to 1001.
    let injected = server.inject_call("100", Some("5550100"), &[]).await?;
    assert_eq!(injected.status, 202, "{injected:?}");
    let call_id = element_text(&injected.body, "id").unwrap_or_default();
    // 1006's grace ends while the link is down: held.
    log_line(&log, &["PRESENCE DRIVEN LOGOUT: agent 1006 held", "CTI link down"]).await?;
    assert!(
        agent_got.find(|u| u.node.ends_with("/Dialogs")).is_none(),
        "nothing of the call reached the desktop during the outage: {:#?}",
        agent_got.updates
    );

    let up = server.sim_link("up").await?;
    assert_eq!(up.status, 200, "{up:?}");
    // The last state is republished: the call the agent was offered, and its state.
    let dialog = agent
        .wait_update(&mut agent_got, |u| {
            u.node == "/finesse/api/User/1001/Dialogs" && element_text(&u.data, "id").as_deref() == Some(&call_id)
        })
        .await?;
    assert!(dialog.data.contains("<action>ANSWER</action>"), "{}", dialog.data);
    agent
        .wait_update(&mut agent_got, |u| {
            u.node == "/finesse/api/User/1001" && element_text(&u.data, "state").as_deref() == Some("RESERVED")
        })
        .await?;
    agent.wait_update(&mut agent_got, |u| system_status(u, "IN_SERVICE")).await?;
    supervisor.wait_update(&mut supervisor_got, |u| system_status(u, "IN_SERVICE")).await?;
    // Then the held logout goes out, once.
    supervisor
        .wait_update(&mut supervisor_got, |u| {
            u.node == "/finesse/api/Team/2/Users"
                && element_text(&u.data, "loginId").as_deref() == Some("1006")
                && element_text(&u.data, "state").as_deref() == Some("LOGOUT")
                && element_text(&u.data, "code").as_deref() == Some("255")
        })
        .await?;
    log_line(&log, &["CTI_LINK:", "restored", "IN_SERVICE", "1 presence-driven logouts released"]).await?;
    log_line(&log, &["MESSAGE_TO_CTI_SERVER:", "agentid: 1006,", "reason code: 255", "forceflag: 1"]).await?;
    let ok = server.rest_put("/finesse/api/User/1001", "1001", None, "<User><state>NOT_READY</state></User>").await?;
    assert_eq!(ok.status, 202, "in service again: {ok:?}");

    // A closed connection is noticed at once, not after missed heartbeats.
    let closed = server.sim_link("closed").await?;
    assert_eq!(closed.status, 200, "{closed:?}");
    let mut again = Received::default();
    agent.wait_update(&mut again, |u| system_status(u, "OUT_OF_SERVICE")).await?;
    log_line(&log, &["CTI_LINK:", "(connection lost)", "OUT_OF_SERVICE"]).await?;
    server.sim_link("up").await?;
    agent.wait_update(&mut again, |u| system_status(u, "IN_SERVICE")).await?;
    let text = std::fs::read_to_string(&log)?;
    let sent = text.lines().filter(|l| l.contains("MESSAGE_TO_CTI_SERVER:") && l.contains("agentid: 1006,")).count();
    assert_eq!(sent, 1, "one forced logout for 1006:\n{text}");
    server.stop().await?;
    Ok(())
}
