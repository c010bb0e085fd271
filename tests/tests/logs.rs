//! The log lines the seed's troubleshooting relies on are written, with the same meaning, to the
//! real log files. One test in its own process, because it installs the global subscriber.

use std::time::Duration;

use herald_testkit::{BoshClient, RawClient, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_log_lines_are_written() -> anyhow::Result<()> {
    let logs = tempfile::tempdir()?;
    herald_observe::init(logs.path(), true, herald_observe::Rotation::default())?;
    let server = TestServer::start_with(|c| {
        c.bosh.inactivity_secs = 2;
        c.log.debug = true;
        c.log.session_stats_secs = 1;
    })
    .await?;
    server.add_user("alice", "pw-a").await?;
    server.add_user("bob", "pw-b").await?;
    let mut bob = BoshClient::new(&server, true);
    bob.wait = 2;
    bob.login("bob", "pw-b", "desk").await?;
    let sid = bob.sid.clone().unwrap();
    bob.send("<presence xmlns='jabber:client'/>").await?;
    // Bob's browser stops polling: after 2 s with no request held the session closes.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let mut alice = RawClient::login(&server, "alice", "pw-a", "tcp").await?;
    alice.send("<message to='bob@localhost' type='chat'><body>while away</body></message>").await?;
    alice.send("<iq type='get' id='sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>").await?;
    alice.read_until("id='sync'").await?;
    server.stop().await?;

    let info = std::fs::read_to_string(logs.path().join("notification/info.log"))?;
    let debug = std::fs::read_to_string(logs.path().join("notification/debug.log"))?;
    for line in [
        "HTTP bind service started".to_owned(),
        format!("Closing idle session (id={sid}): bob@localhost/desk after inactivity for more than threshold value of 2"),
        "A session is closed for bob@localhost/desk".to_owned(),
        format!("session record: closed transport=\"bosh\" id=\"{sid}\" jid=\"bob@localhost/desk\" cause=\"inactivity\""),
        "HTTP bind service stopped".to_owned(),
    ] {
        assert!(info.contains(&line), "info.log lacks {line:?}:\n{info}");
    }
    for line in [
        format!("HTTPBindLog: HTTP RECV({sid}): <body"),
        format!("HTTPBindLog: HTTP SENT({sid}): <body"),
        format!("Session (id={sid}) was last active "),
        ",JID=bob@localhost/desk,msgs_sent=".to_owned(),
        "Unable to route packet. No session is available so store offline. <message".to_owned(),
    ] {
        assert!(debug.contains(&line), "debug.log lacks {line:?}");
    }
    assert!(debug.contains("msgs_queue=") && debug.contains("msgs_drop=") && debug.contains("bytes_sent="));
    Ok(())
}
