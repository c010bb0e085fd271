//! A BOSH session's statistics lines follow debug logging while the server runs (`herald ctl
//! logging enable|disable`): none while it is off, lines from the session's next request once it
//! is on, none again once it is off; and the counters in them are those the session listing
//! shows. One test in its own process, because it installs the global subscriber.

use std::time::Duration;

use herald_testkit::{BoshClient, TestServer};

fn stats_lines(debug_log: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(debug_log).unwrap_or_default();
    Ok(text.lines().filter(|l| l.contains(",JID=bob@localhost/desk,msgs_sent=")).map(str::to_owned).collect())
}

/// Long polls (each answered empty after the 1 s `wait`) for `secs` seconds.
async fn poll_for(bob: &mut BoshClient<'_>, secs: u64) -> anyhow::Result<()> {
    let until = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < until {
        bob.send("").await?;
    }
    Ok(())
}

/// `key=value` of a statistics line.
fn field(line: &str, key: &str) -> Option<u64> {
    let start = line.find(&format!("{key}="))? + key.len() + 1;
    line[start..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_lines_start_and_stop_with_debug_logging() -> anyhow::Result<()> {
    let logs = tempfile::tempdir()?;
    // The subscriber writes debug lines; whether sessions make them is the server's switch.
    herald_observe::init(logs.path(), true, herald_observe::Rotation::default())?;
    let server = TestServer::start_with(|c| {
        c.log.debug = false;
        c.log.session_stats_secs = 1;
        c.bosh.max_wait_secs = 1;
    })
    .await?;
    server.add_user("bob", "pw-b").await?;
    let ctx = server.status().http_context().expect("running");
    let mut bob = BoshClient::new(&server, true);
    bob.login("bob", "pw-b", "desk").await?;
    let debug_log = logs.path().join("notification/debug.log");
    poll_for(&mut bob, 3).await?;
    assert!(stats_lines(&debug_log)?.is_empty(), "no statistics lines while debug logging is off");

    ctx.log.set_debug(true)?;
    poll_for(&mut bob, 3).await?;
    // Silent now: a tick later, the line's counters are final, and the listing's.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let lines = stats_lines(&debug_log)?;
    let last = lines.last().expect("statistics lines once debug logging is on");
    let info = ctx.core.sessions(Some("bob")).pop().expect("listed");
    assert_eq!(field(last, "msgs_sent"), Some(info.stanzas_sent), "{last} / {info:?}");
    assert_eq!(field(last, "bytes_sent"), Some(info.bytes_sent), "{last} / {info:?}");

    ctx.log.set_debug(false)?;
    poll_for(&mut bob, 3).await?;
    let after = stats_lines(&debug_log)?.len();
    assert!(after <= lines.len() + 1, "at most the tick already under way once off: {} then {after}", lines.len());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(stats_lines(&debug_log)?.len(), after, "no lines while off");
    server.stop().await?;
    Ok(())
}
