//! The log lines the seed's troubleshooting relies on (SPEC.md §4) are written, with the same
//! meaning and each service's timestamp shape, to the real log files, after a scripted scenario:
//! a BOSH login, an idle close, an offline message and a presence-driven logout, with debug
//! logging switched on and off at run time. One test in its own process, because it installs the
//! global subscriber.

use std::path::Path;
use std::time::Duration;

use herald::config::LogoutMode;
use herald_observe::stamp::line_has_shape as has_shape;
use herald_testkit::cc::Received;
use herald_testkit::desk::wait_log_line;
use herald_testkit::{BoshClient, RawClient, TestServer};

/// Every line of `text` starts with one of `shapes`.
fn assert_shapes(name: &str, text: &str, shapes: &[&str]) {
    assert!(!text.is_empty(), "{name} is empty");
    for line in text.lines() {
        assert!(shapes.iter().any(|shape| has_shape(line, shape)), "{name}: a line not in {shapes:?}:\n{line}");
    }
}

fn assert_has(name: &str, text: &str, needles: &[&str]) {
    assert!(text.lines().any(|line| needles.iter().all(|n| line.contains(n))), "{name} lacks a line with {needles:?}:\n{text}");
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

const OPENFIRE: [&str; 4] = [
    "9999.99.99 99:99:99 INFO  notification: ",
    "9999.99.99 99:99:99 WARN  notification: ",
    "9999.99.99 99:99:99 INFO  herald",
    "9999.99.99 99:99:99 WARN  herald",
];
const FINESSE: [&str; 3] = [
    "AAA 99 9999 99:99:99.999 +0000: INFO webservices: ",
    "AAA 99 9999 99:99:99.999 +0000: WARN webservices: ",
    "AAA 99 9999 99:99:99.999 +0000: ERROR webservices: ",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_log_lines_are_written() -> anyhow::Result<()> {
    let logs = tempfile::tempdir()?;
    let control = herald_observe::init(logs.path(), false, herald_observe::Rotation::default())?;
    let debug_log = logs.path().join("notification/debug.log");
    let web_debug_log = logs.path().join("webservices/debug.log");
    let web_log = logs.path().join("webservices/info.log");
    let server = TestServer::start_cc(|c| {
        c.bosh.inactivity_secs = 2;
        c.presence_logout.grace_secs = 2;
        c.presence_logout.mode = Some(LogoutMode::Uccx);
        c.log.debug = true;
        c.log.session_stats_secs = 1;
    })
    .await?;
    assert!(!debug_log.exists() && !web_debug_log.exists(), "debug logging is off until switched on");

    // Debug logging switched on while the server runs.
    control.set_debug(true)?;
    assert!(control.debug() && debug_log.exists() && web_debug_log.exists());
    server.add_user("alice", "pw-a").await?;
    server.add_user("bob", "pw-b").await?;
    let mut bob = BoshClient::new(&server, true);
    bob.wait = 2;
    bob.login("bob", "pw-b", "desk").await?;
    let sid = bob.sid.clone().unwrap_or_default();
    bob.send("<presence xmlns='jabber:client'/>").await?;
    // Bob's browser stops polling: after 2 s with no request held the session closes.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let mut alice = RawClient::login(&server, "alice", "pw-a", "tcp").await?;
    alice.send("<message to='bob@localhost' type='chat'><body>while away</body></message>").await?;
    alice.send("<iq type='get' id='sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>").await?;
    alice.read_until("id='sync'").await?;

    // Off again: the debug files stop growing while the rest of the story runs.
    control.set_debug(false)?;
    assert!(!control.debug());
    let (debug_size, web_debug_size) = (size(&debug_log), size(&web_debug_log));

    // Agent 1001's desktop signs in, goes READY and vanishes: presence-driven logout.
    let mut got = Received::default();
    let desktop = server.desktop_ready("1001", "desktop", &mut got).await?;
    drop(desktop);
    wait_log_line(&web_log, &["DECODED_MESSAGE:", "agentid: 1001,"], Duration::from_secs(20)).await?;
    server.stop().await?;
    assert_eq!((size(&debug_log), size(&web_debug_log)), (debug_size, web_debug_size), "debug.log grew while off");

    let info = std::fs::read_to_string(logs.path().join("notification/info.log"))?;
    let debug = std::fs::read_to_string(&debug_log)?;
    let web = std::fs::read_to_string(&web_log)?;
    let web_debug = std::fs::read_to_string(&web_debug_log)?;
    assert_shapes("notification/info.log", &info, &OPENFIRE);
    assert_shapes(
        "notification/debug.log",
        &debug,
        &["9999.99.99 99:99:99 DEBUG notification: ", "9999.99.99 99:99:99 DEBUG herald"].into_iter().chain(OPENFIRE).collect::<Vec<_>>(),
    );
    assert_shapes("webservices/info.log", &web, &FINESSE);
    // (Nothing in this story logs to the web services at debug: the file exists, maybe empty.)
    if !web_debug.is_empty() {
        assert_shapes(
            "webservices/debug.log",
            &web_debug,
            &["AAA 99 9999 99:99:99.999 +0000: DEBUG webservices: "].into_iter().chain(FINESSE).collect::<Vec<_>>(),
        );
    }

    let notification = "notification/info.log";
    for needles in [
        &["INFO  notification: HTTP bind service started"][..],
        &["INFO  notification: c2s listener started"],
        &["INFO  notification: REST API service started"],
        &["WARN  notification: debug logging enabled at run time: every BOSH request and stanza is written to debug.log; \
             turn it off with herald ctl logging disable"],
        &["INFO  notification: debug logging disabled at run time"],
        &[&format!("Closing idle session (id={sid}): bob@localhost/desk after inactivity for more than threshold value of 2")],
        &["A session is closed for bob@localhost/desk"],
        &[&format!("session record: closed transport=\"bosh\" id=\"{sid}\" jid=\"bob@localhost/desk\" cause=\"inactivity\"")],
        &["A session is closed for 1001@localhost/desktop"],
        &["INFO  notification: HTTP bind service stopped"],
        &["INFO  notification: c2s listener stopped"],
        &["INFO  notification: REST API service stopped"],
    ] {
        assert_has(notification, &info, needles);
    }
    for needles in [
        &[&format!("DEBUG notification: HTTPBindLog: HTTP RECV({sid}): <body")[..]][..],
        &[&format!("HTTPBindLog: HTTP SENT({sid}): <body")],
        &[&format!("Session (id={sid}) was last active "), " ms ago: bob@localhost/desk"],
        &["time=", ",JID=bob@localhost/desk,msgs_sent=", ",msgs_queue=", ",msgs_drop=", ",bytes_sent="],
        &["Unable to route packet. No session is available so store offline. <message", "while away"],
    ] {
        assert_has("notification/debug.log", &debug, needles);
    }
    assert!(!debug.contains("1001@localhost"), "the agent's session ran with debug logging off:\n{debug}");

    let jid = "1001@localhost/desktop";
    for needles in [
        &[": INFO webservices: CTI link service started"][..],
        &["PRESENCE:", "unavailable", jid],
        &["UNSUBSCRIBE:", jid, "0 available"],
        &["AGENT_PRESENCE_MONITOR:", "agent 1001 ", "(READY)", "no available resource"],
        &["PRESENCE DRIVEN LOGOUT:", "agent 1001 ", "forcing LOGOUT", "255"],
        &["MESSAGE_TO_CTI_SERVER:", "agentid: 1001,", "agentstate: LOGOUT", "reason code: 255", "forceflag: 1"],
        &["DECODED_MESSAGE:", "agentid: 1001,", "agentState=LOGOUT", "eventReasonCode=255"],
        &[": INFO webservices: CTI link service stopped"],
    ] {
        assert_has("webservices/info.log", &web, needles);
    }
    Ok(())
}
