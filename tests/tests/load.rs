//! `herald load` against a real Herald: its sessions really log in over BOSH and over TCP, and the
//! server is measured from /proc. (Figures come from bench/, not from here.)

use std::time::Duration;

use herald_load::{Mechanism, Options, Scenario, Transport};
use herald_testkit::TestServer;

fn options(server: &TestServer, transport: Transport, scenario: Scenario) -> Options {
    Options {
        host: "127.0.0.1".parse().unwrap(),
        domain: server.domain.clone(),
        http_port: server.http.unwrap().port(),
        bosh_path: "/http-bind/".into(),
        ws_path: "/ws/".into(),
        c2s_port: server.c2s.port(),
        ca: Some(server.cert_path()),
        transport,
        scenario,
        sessions: 30,
        user_prefix: "load".into(),
        password: "pw".into(),
        mechanism: Mechanism::ScramSha1,
        ramp_per_sec: 0.0,
        concurrency: 30,
        wait: 2,
        hold: Duration::from_secs(3),
        server_pid: Some(std::process::id()),
        deadline: Duration::from_secs(60),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_bosh_sessions_log_in_and_hold_their_polls() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.listen.http = Some("127.0.0.1:0".parse().unwrap())).await?;
    herald::users::add_range(&server.store, &server.domain, "load", 30, "pw").await?;
    let report = herald_load::run(options(&server, Transport::Bosh, Scenario::Idle)).await?;
    assert_eq!((report.logged_in, report.failed), (30, 0), "{:?}", report.first_error);
    assert!(report.before.is_some() && report.after_logins.is_some() && report.end.is_some());
    assert!(report.kib_per_session().is_some() && report.cpu_ms_per_login().is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_login_storm_with_starttls_and_scram() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.listen.http = Some("127.0.0.1:0".parse().unwrap())).await?;
    herald::users::add_range(&server.store, &server.domain, "load", 30, "pw").await?;
    let mut opts = options(&server, Transport::Tcp, Scenario::LoginStorm);
    opts.mechanism = Mechanism::ScramSha256;
    let report = herald_load::run(opts).await?;
    assert_eq!((report.logged_in, report.failed), (30, 0), "{:?}", report.first_error);
    // Wrong passwords are reported as failures, not hidden.
    let mut opts = options(&server, Transport::Tcp, Scenario::LoginStorm);
    opts.password = "wrong".into();
    opts.sessions = 3;
    let report = herald_load::run(opts).await?;
    assert_eq!((report.logged_in, report.failed), (0, 3));
    assert!(report.first_error.unwrap().contains("authentication failed"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_websocket_sessions() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.listen.http = Some("127.0.0.1:0".parse().unwrap())).await?;
    herald::users::add_range(&server.store, &server.domain, "load", 30, "pw").await?;
    let report = herald_load::run(options(&server, Transport::WebSocket, Scenario::Idle)).await?;
    assert_eq!((report.logged_in, report.failed), (30, 0), "{:?}", report.first_error);
    Ok(())
}

#[tokio::test]
async fn only_loopback_targets() {
    let server = TestServer::start_with(|c| c.listen.http = Some("127.0.0.1:0".parse().unwrap())).await.unwrap();
    let mut opts = options(&server, Transport::Bosh, Scenario::Idle);
    opts.host = "10.0.0.1".parse().unwrap();
    assert!(herald_load::run(opts).await.unwrap_err().to_string().contains("loopback"));
}
