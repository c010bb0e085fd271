//! The soak, short (the long one is `bench/soak`): 1,000 BOSH desktops churn for a minute
//! against an in-process Herald with a short inactivity timeout — logins, messages, a publisher's
//! items, clean terminates and kills without terminate, reconnects — then every client stops,
//! and the server must end every session, hold no connection, and not have grown in memory.

use std::time::{Duration, Instant};

use herald_load::{Options, Scenario, SoakOptions};
use herald_store::AccountStore;
use herald_testkit::TestServer;

const SESSIONS: usize = 1000;
/// The server's BOSH inactivity timeout: killed sessions must expire within the run.
const INACTIVITY_SECS: u64 = 5;
/// The BOSH `wait` the desktops ask for.
const WAIT_SECS: u32 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churning_bosh_sessions_leave_no_session_connection_or_memory_behind() -> anyhow::Result<()> {
    let test_started = Instant::now();
    let server = TestServer::start_with(|c| {
        c.listen.http = Some("127.0.0.1:0".parse().unwrap());
        c.bosh.inactivity_secs = INACTIVITY_SECS;
    })
    .await?;
    // One set of credentials (one salt) for every account: PBKDF2 is paid once here and once
    // by the clients, which a debug build could not afford a thousand times.
    let credentials = herald::users::credentials_for("pw")?;
    for n in 0..SESSIONS {
        server.store.create_user(&format!("soak{n}"), &credentials).await?;
    }
    herald::users::add(&server.store, &server.domain, "soakpub", "pw").await?;
    let opts = Options {
        domain: server.domain.clone(),
        http_port: server.http.unwrap().port(),
        scenario: Scenario::Soak,
        sessions: SESSIONS,
        user_prefix: "soak".into(),
        password: "pw".into(),
        concurrency: 100,
        wait: WAIT_SECS,
        hold: Duration::from_secs(60),
        nodes: 20,
        publish_rate: 4.0,
        publisher: "soakpub".into(),
        server_pid: Some(std::process::id()),
        deadline: Duration::from_secs(100),
        soak: SoakOptions {
            life: Duration::from_secs(8),
            kill_ratio: 0.5,
            pause: Duration::from_millis(500),
            message_every: Duration::from_secs(5),
            drain: Duration::from_secs(10),
            server_log: None,
        },
        ..Options::default()
    };
    let report = herald_load::run(opts.clone()).await?;
    eprintln!("{}", report.to_table(&opts));
    let soak = report.soak.clone().expect("soak figures");
    assert_eq!((report.logged_in, report.failed), (SESSIONS, 0), "{:?}", report.first_error);
    assert!(soak.errors.is_empty(), "errors {:?}, first: {:?}", soak.errors, report.first_error);
    // The desktops really churned: every one left and came back at least once on average.
    assert!(soak.logins >= 2 * SESSIONS as u64, "{} logins", soak.logins);
    assert!(
        soak.kills >= SESSIONS as u64 / 2 && soak.terminates >= SESSIONS as u64 / 2,
        "{} kills, {} terminates",
        soak.kills,
        soak.terminates
    );
    assert!(soak.messages_sent > 0 && soak.messages_received > 0, "{} sent, {} received", soak.messages_sent, soak.messages_received);
    let published = &soak.publishing;
    assert!(published.published > 0 && published.acknowledged == published.published, "{published:?}");
    assert!(published.delivered > 0, "{published:?}");
    // Every client is gone: the server holds none of their connections ...
    assert_eq!(soak.connections_left, Some(0));
    // ... and ends every session once the held polls of the killed ones expire, its inactivity
    // timeout passes, and the ended sessions' grace for late requests passes too.
    let status = server.status();
    let until = Instant::now() + Duration::from_secs(u64::from(WAIT_SECS) + 2 * INACTIVITY_SECS + 5);
    loop {
        let live = (status.bound_sessions(), status.bosh_sessions());
        if live == (Some(0), Some(0)) {
            break;
        }
        assert!(Instant::now() < until, "sessions leaked (bound, BOSH): {live:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Memory is flat: the end of the churn within a generous margin of its middle (this
    // process holds the clients too).
    let growth = soak.rss_growth_percent().expect("RSS sampled");
    assert!(growth < 25.0, "RSS grew {growth:.1} % from the middle to the end of the churn");
    eprintln!("the soak test took {:.0} s", test_started.elapsed().as_secs_f64());
    Ok(())
}
