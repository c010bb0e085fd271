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
        https: false,
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
        nodes: 1,
        publish_rate: 50.0,
        publisher: "loadpub".into(),
        pubsub_service: None,
        server_pid: Some(std::process::id()),
        deadline: Duration::from_secs(60),
        soak: Default::default(),
        agents: Default::default(),
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

/// As desktops connect: BOSH over HTTPS on the https listener, every long poll held over TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_bosh_sessions_over_https() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.listen.http = Some("127.0.0.1:0".parse().unwrap())).await?;
    herald::users::add_range(&server.store, &server.domain, "load", 30, "pw").await?;
    let mut opts = options(&server, Transport::Bosh, Scenario::Idle);
    opts.http_port = server.https.port();
    opts.https = true;
    let report = herald_load::run(opts.clone()).await?;
    assert_eq!((report.logged_in, report.failed), (30, 0), "{:?}", report.first_error);
    assert!(report.round_trips > 0, "held polls expired and were polled again over TLS");
    // Without the certificate to trust, an HTTPS run is refused before it starts.
    opts.ca = None;
    assert!(herald_load::run(opts).await.is_err());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_bosh_long_polls_are_counted_as_round_trips() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.listen.http = Some("127.0.0.1:0".parse().unwrap())).await?;
    herald::users::add_range(&server.store, &server.domain, "load", 10, "pw").await?;
    let mut opts = options(&server, Transport::Bosh, Scenario::Idle);
    (opts.sessions, opts.wait) = (10, 1);
    let report = herald_load::run(opts).await?;
    assert_eq!((report.logged_in, report.failed), (10, 0), "{:?}", report.first_error);
    // wait=1 and a 3 s hold: each session's poll expires about three times.
    assert!((15..=50).contains(&report.round_trips), "{} round trips", report.round_trips);
    assert!(report.cpu_us_per_round_trip().is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_over_bosh_counts_every_delivery_once() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.listen.http = Some("127.0.0.1:0".parse().unwrap())).await?;
    herald::users::add_range(&server.store, &server.domain, "load", 20, "pw").await?;
    herald::users::add(&server.store, &server.domain, "loadpub", "pw").await?;
    let mut opts = options(&server, Transport::Bosh, Scenario::Fanout);
    (opts.sessions, opts.nodes, opts.publish_rate, opts.hold) = (20, 4, 40.0, Duration::from_secs(2));
    let report = herald_load::run(opts).await?;
    assert_eq!((report.logged_in, report.failed), (20, 0), "{:?}", report.first_error);
    let f = report.fanout.expect("fan-out figures");
    assert_eq!((f.nodes, f.subscriptions, f.published, f.acknowledged, f.refused), (4, 20, 80, 80, 0));
    // 80 publishes over 4 nodes with 5 subscribers each.
    assert_eq!((f.expected, f.delivered, f.lost, f.duplicated), (400, 400, 0, 0));
    assert!(f.p50_ms > 0.0 && f.p50_ms <= f.p99_ms && f.p99_ms <= f.max_ms);
    assert!(f.cpu_ms_per_1000.is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_refusals_are_reported() -> anyhow::Result<()> {
    // A publisher that is not the nodes' owner is refused by the publishers-only publish model.
    let server = TestServer::start_with(|c| c.listen.http = Some("127.0.0.1:0".parse().unwrap())).await?;
    herald::users::add_range(&server.store, &server.domain, "load", 3, "pw").await?;
    for user in ["owner", "intruder"] {
        herald::users::add(&server.store, &server.domain, user, "pw").await?;
    }
    let mut opts = options(&server, Transport::WebSocket, Scenario::Fanout);
    (opts.sessions, opts.publish_rate, opts.hold, opts.publisher) = (3, 20.0, Duration::from_secs(1), "owner".into());
    let setup = herald_load::run(opts.clone()).await?;
    assert_eq!(setup.fanout.as_ref().map(|f| f.refused), Some(0), "{:?}", setup.first_error);
    opts.publisher = "intruder".into();
    let report = herald_load::run(opts).await?;
    let f = report.fanout.expect("fan-out figures");
    assert_eq!((f.acknowledged, f.refused), (0, 20));
    assert!(report.first_error.unwrap().contains("forbidden"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_baseline_round_trips() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(herald_load::serve_http_baseline(listener, async move { drop(stopped.await) }));
    let herald = TestServer::start_with(|c| c.listen.http = Some("127.0.0.1:0".parse().unwrap())).await?;
    let mut opts = options(&herald, Transport::Bosh, Scenario::HttpBaseline);
    (opts.http_port, opts.sessions, opts.wait, opts.hold) = (port, 20, 1, Duration::from_secs(2));
    let report = herald_load::run(opts).await?;
    assert_eq!((report.logged_in, report.failed), (20, 0));
    assert!((30..=70).contains(&report.round_trips), "{} round trips", report.round_trips);
    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// The `agents` scenario end to end on a small scale: desktops log in over BOSH, sign in through
/// the REST listener (HTTPS), and every state change's Update reaches its desktop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_sign_in_through_rest_and_every_change_reaches_the_desktop() -> anyhow::Result<()> {
    let scenario = r#"
[[teams]]
id = "1"
name = "Load"

[[queues]]
id = "100"
name = "Load"
teams = ["1"]
calls_per_hour = 0

[[reason_codes]]
id = 1
category = "NOT_READY"
code = 1
label = "Break"
for_all = true

[[user_ranges]]
prefix = "agent"
start = 0
count = 12
password = "pw"
role = "agent"
team = "1"
"#;
    let mut failed = None;
    let server = TestServer::start_with(|c| {
        c.listen.http = Some("127.0.0.1:0".parse().unwrap());
        failed = herald_testkit::cc::enable_cc(c, Some(scenario)).err();
    })
    .await?;
    if let Some(err) = failed {
        return Err(err);
    }
    server.wait_api().await?;
    let mut opts = options(&server, Transport::Bosh, Scenario::Agents);
    opts.sessions = 12;
    opts.user_prefix = "agent".into();
    opts.agents = herald_load::AgentOptions {
        api_port: server.api_addr().expect("API listener").port(),
        rate: 20.0,
        duration: Duration::from_secs(1),
        reason_code_id: Some(1),
        rest_connections: 4,
        baseline: false,
        baseline_subscriber: None,
        failover_ports: Vec::new(),
    };
    let report = herald_load::run(opts).await?;
    let agents = report.agents.expect("the agents figures");
    assert_eq!((agents.logged_in, agents.signed_in, agents.sign_in_failed), (12, 12, 0), "{:?}", report.first_error);
    assert!(agents.accepted >= 10, "{agents:?}");
    assert_eq!((agents.seen, agents.lost, agents.errors, agents.refused), (agents.accepted, 0, 0, 0), "{agents:?}");
    server.stop().await?;
    Ok(())
}
