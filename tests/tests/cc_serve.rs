//! `herald serve` on a fresh data directory with no scenario configured: the embedded sample is
//! applied on first start, so agent 1001 with the documented demo password signs in over BOSH,
//! goes READY through REST, and a call injected into queue 100 arrives as a Dialogs POST.

use herald_testkit::cc::{Received, element_text, enable_cc};
use herald_testkit::{BoshClient, DEMO_PASSWORD, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_server_runs_the_sample_scenario() -> anyhow::Result<()> {
    let mut enabled = Ok(());
    let server = TestServer::start_with(|c| enabled = enable_cc(c, None)).await?;
    enabled?;
    server.wait_api().await?;
    assert_eq!(server.config().cc.scenario, None, "nothing configured: the sample");

    let mut bosh = BoshClient::new(&server, true);
    bosh.wait = 5;
    bosh.login("1001", DEMO_PASSWORD, "desktop-sample").await?;
    let mut got = Received::default();
    let first = bosh.send("<presence xmlns='jabber:client'/>").await?;
    got.text.push_str(&first.body);

    let user = server.rest_get("/finesse/api/User/1001", "1001").await?;
    assert_eq!(user.status, 200, "{user:?}");
    assert_eq!(element_text(&user.body, "teamName").as_deref(), Some("Sales"), "{}", user.body);
    let team = server.rest_get("/finesse/api/Team/1", "2001").await?;
    assert_eq!(team.status, 200, "the sample's supervisor 2001 reads team 1: {team:?}");

    let login = server
        .rest_put("/finesse/api/User/1001", "1001", Some("sample-login"), "<User><state>LOGIN</state><extension>1001</extension></User>")
        .await?;
    assert_eq!(login.status, 202, "{login:?}");
    bosh.wait_update(&mut got, |u| u.request_id == "sample-login").await?;
    let ready = server.rest_put("/finesse/api/User/1001", "1001", Some("sample-ready"), "<User><state>READY</state></User>").await?;
    assert_eq!(ready.status, 202, "{ready:?}");
    let update = bosh.wait_update(&mut got, |u| u.request_id == "sample-ready").await?;
    assert_eq!(element_text(&update.data, "state").as_deref(), Some("READY"));

    let injected = server.inject_call("100", Some("5550199"), &[("callVariable1", "sample caller")]).await?;
    assert_eq!(injected.status, 202, "{injected:?}");
    let call_id = element_text(&injected.body, "id").unwrap_or_default();
    assert!(!call_id.is_empty(), "the simulator names the call: {injected:?}");
    let dialogs = "/finesse/api/User/1001/Dialogs";
    let posted = bosh
        .wait_update(&mut got, |u| {
            u.node == dialogs && u.event == "POST" && element_text(&u.data, "id").as_deref() == Some(call_id.as_str())
        })
        .await?;
    assert_eq!(posted.source, dialogs);
    assert!(posted.data.starts_with("<dialogs><Dialog>"), "{}", posted.data);
    assert_eq!(element_text(&posted.data, "queueNumber").as_deref(), Some("100"), "{}", posted.data);
    assert!(posted.data.contains("<action>ANSWER</action>"), "{}", posted.data);
    server.stop().await?;
    Ok(())
}
