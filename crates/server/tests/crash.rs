//! A crash of the server process (SIGKILL, no shutdown at all) loses no publish that was
//! acknowledged: the iq result is sent only after the item's transaction committed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use herald_testkit::{Endpoint, RawClient};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn herald(dir: &std::path::Path, c2s: u16, https: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.arg("--data-dir")
        .arg(dir)
        .args(["--domain", "localhost"])
        .env("HERALD_LISTEN__C2S", format!("127.0.0.1:{c2s}"))
        .env("HERALD_LISTEN__HTTPS", format!("127.0.0.1:{https}"));
    cmd
}

/// A running `herald serve`, killed (SIGKILL) and reaped when dropped, even if the test fails.
struct Server(Child);

impl Server {
    /// Crashes the server: SIGKILL, no shutdown at all.
    fn crash(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &std::path::Path, c2s: u16, https: u16, starts: usize) -> Server {
    let child = Server(herald(dir, c2s, https).arg("serve").stderr(Stdio::null()).spawn().unwrap());
    let info = dir.join("logs/notification/info.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&info).unwrap_or_default().matches("notification service started").count() < starts {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_publish() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (c2s, https) = (free_port(), free_port());
    assert!(herald(dir.path(), c2s, https).args(["user", "add", "alice", "--password", "pw"]).status()?.success());
    let server = serve(dir.path(), c2s, https, 1);
    let endpoint = Endpoint { c2s: format!("127.0.0.1:{c2s}").parse()?, domain: "localhost".into(), cert: dir.path().join("tls/cert.pem") };
    let mut alice = RawClient::login(&endpoint, "alice", "pw", "desk").await?;
    alice.send("<iq type='set' id='create' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><create node='/desk/api/User/alice'/></pubsub></iq>").await?;
    assert!(alice.read_until("id='create'").await?.contains("type='result'"));
    for i in 0..50 {
        alice
            .send(&format!(
                "<iq type='set' id='p{i}' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='/desk/api/User/alice'><item id='state-{i:02}'><state xmlns='urn:herald:test'>{i}</state></item></publish></pubsub></iq>"
            ))
            .await?;
        let answer = alice.read_until("</iq>").await?;
        assert!(answer.contains(&format!("id='p{i}'")) && answer.contains("type='result'"), "{answer}");
    }
    // Crash: no shutdown, no flush.
    server.crash();
    let server = serve(dir.path(), c2s, https, 2);
    let mut alice = RawClient::login(&endpoint, "alice", "pw", "desk").await?;
    alice.send("<iq type='get' id='items' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='/desk/api/User/alice'/></pubsub></iq>").await?;
    let items = alice.read_until("</iq>").await?;
    for i in 0..50 {
        assert!(
            items.contains(&format!(
                "<item id='state-{i:02}' publisher='alice@localhost'><state xmlns='urn:herald:test'>{i}</state></item>"
            )),
            "item {i} lost:\n{items}"
        );
    }
    server.crash();
    Ok(())
}
