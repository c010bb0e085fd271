//! The admin API and `herald ctl`'s client against a running server over real HTTP: status,
//! sessions with their counters, kick (and its close record), debug logging, the token, the
//! log bundle without secrets, and `/metrics` in the Prometheus text format.

use std::io::Read as _;
use std::time::Duration;

use herald::admin::{SessionRow, StatusReport};
use herald::ctl_client::request;
use herald_store::SessionRecordStore as _;
use herald_testkit::{BoshClient, RawClient, TestServer, enable_admin};

const ALICE_PW: &str = "alice-Secret-pw-93";
const BOB_PW: &str = "bob-Secret-pw-71";

async fn server() -> anyhow::Result<TestServer> {
    let server = TestServer::start_cc(enable_admin).await?;
    server.add_user("alice", ALICE_PW).await?;
    server.add_user("bob", BOB_PW).await?;
    Ok(server)
}

/// A plain HTTP request to the admin listener with the given headers.
async fn raw_admin(server: &TestServer, method: &str, path: &str, headers: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(server.admin.expect("admin on")).await?;
    tcp.write_all(format!("{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n{headers}\r\n").as_bytes()).await?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await??;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn status_sessions_logging_and_kick() -> anyhow::Result<()> {
    let server = server().await?;
    let config = server.config().clone();
    let mut alice = RawClient::login(&server, "alice", ALICE_PW, "desk").await?;
    alice.send("<presence/>").await?;
    alice.read_until("<presence").await?;
    let mut bob = BoshClient::new(&server, true);
    bob.login("bob", BOB_PW, "web").await?;

    let status: StatusReport = serde_json::from_slice(&request(&config, "GET", "/admin/status").await?.ok()?)?;
    let address = |name: &str| status.services.iter().find(|s| s.name == name && s.up).and_then(|s| s.address.clone());
    assert_eq!(address("c2s"), Some(server.c2s.to_string()), "{status:?}");
    assert_eq!(address("HTTP bind"), Some(server.https.to_string()));
    assert_eq!(address("REST API"), server.api.map(|a| a.to_string()));
    assert_eq!(address("admin"), server.admin.map(|a| a.to_string()));
    assert_eq!(status.cti_link_up, Some(true));
    assert_eq!(status.sessions.get("tcp"), Some(&1));
    assert_eq!(status.sessions.get("bosh"), Some(&1));
    assert!(!status.version.is_empty());

    let rows: Vec<SessionRow> = serde_json::from_slice(&request(&config, "GET", "/admin/sessions").await?.ok()?)?;
    let alice_row = rows.iter().find(|r| r.jid == "alice@localhost/desk").expect("alice listed");
    assert_eq!(alice_row.transport, "tcp");
    // The counters are the transports' (herald-net fills `SessionStats`); here only that they
    // are listed: the other slices' tests check that they move.
    assert_eq!(alice_row.source, "127.0.0.1", "{alice_row:?}");
    let bob_row = rows.iter().find(|r| r.jid == "bob@localhost/web").expect("bob listed");
    assert_eq!(bob_row.transport, "bosh");
    let only_bob: Vec<SessionRow> = serde_json::from_slice(&request(&config, "GET", "/admin/sessions?user=bob").await?.ok()?)?;
    assert!(only_bob.iter().all(|r| r.jid.starts_with("bob@")) && !only_bob.is_empty());

    let on: serde_json::Value = serde_json::from_slice(&request(&config, "POST", "/admin/logging?action=enable").await?.ok()?)?;
    assert_eq!(on["debug"], true);
    assert!(on["warning"].as_str().is_some_and(|w| w.contains("disable")));
    let now: serde_json::Value = serde_json::from_slice(&request(&config, "GET", "/admin/logging").await?.ok()?)?;
    assert_eq!(now["debug"], true);
    let off: serde_json::Value = serde_json::from_slice(&request(&config, "POST", "/admin/logging?action=disable").await?.ok()?)?;
    assert_eq!(off["debug"], false);
    assert_eq!(request(&config, "POST", "/admin/logging?action=sideways").await?.status, 400);
    assert_eq!(request(&config, "GET", "/admin/logging?action=enable").await?.status, 405);

    assert_eq!(request(&config, "POST", "/admin/kick?jid=alice%40localhost%2Fdesk").await?.status, 200);
    alice.read_until("</stream:stream>").await?;
    assert_eq!(request(&config, "POST", "/admin/kick?jid=alice%40localhost%2Fdesk").await?.status, 404);
    assert_eq!(request(&config, "POST", "/admin/kick?jid=not-a-full-jid").await?.status, 400);
    let record = close_record_of(&server, "alice").await?;
    assert_eq!((record.transport.as_str(), record.jid.as_str()), ("tcp", "alice@localhost/desk"));
    assert!(record.closed_ms >= record.opened_ms && record.remote == "127.0.0.1");
    assert!(server.store.close_records(Some("finesse"), 0, 10).await?.is_empty(), "internal sessions are not recorded");
    server.stop().await?;
    Ok(())
}

/// The newest close record of `user`, once the recorder has written it.
async fn close_record_of(server: &TestServer, user: &str) -> anyhow::Result<herald_store::CloseRecord> {
    for _ in 0..100 {
        if let Some(record) = server.store.close_records(Some(user), 0, 10).await?.into_iter().next() {
            return Ok(record);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("no close record for {user}")
}

/// The close record of a kicked session says so (the transports end a session on
/// `Control::Kicked` with `CloseCause::Kicked`: herald-net's part of issue 13).
#[tokio::test]
async fn a_kicked_session_is_recorded_as_kicked() -> anyhow::Result<()> {
    let server = server().await?;
    let mut alice = RawClient::login(&server, "alice", ALICE_PW, "desk").await?;
    assert_eq!(request(server.config(), "POST", "/admin/kick?jid=alice%40localhost%2Fdesk").await?.status, 200);
    alice.read_until("</stream:stream>").await?;
    assert_eq!(close_record_of(&server, "alice").await?.cause, "kicked");
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn the_doctor_route_answers_text_or_json() -> anyhow::Result<()> {
    let server = server().await?;
    let config = server.config().clone();
    let answer = request(&config, "GET", "/admin/doctor?user=alice&since=0&json=true").await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let diagnosis: serde_json::Value = serde_json::from_slice(&answer.body)?;
    assert!(diagnosis["verdicts"].is_array(), "{diagnosis}");
    assert_eq!(request(&config, "GET", "/admin/doctor").await?.status, 200);
    assert_eq!(request(&config, "GET", "/admin/doctor?since=yesterday").await?.status, 400);
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn every_route_but_metrics_needs_the_token() -> anyhow::Result<()> {
    let server = server().await?;
    let token = std::fs::read_to_string(server.data_dir.path().join("admin.token"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(server.data_dir.path().join("admin.token"))?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    for (method, path) in [
        ("GET", "/admin/status"),
        ("GET", "/admin/sessions"),
        ("GET", "/admin/logging"),
        ("POST", "/admin/logging?action=enable"),
        ("POST", "/admin/kick?jid=a%40b%2Fc"),
        ("GET", "/admin/collect-logs"),
        ("GET", "/admin/doctor"),
    ] {
        let none = raw_admin(&server, method, path, "").await?;
        assert!(none.starts_with("HTTP/1.1 401"), "{method} {path}: {none}");
        let wrong = raw_admin(&server, method, path, "authorization: Bearer 0123\r\n").await?;
        assert!(wrong.starts_with("HTTP/1.1 401"), "{method} {path}: {wrong}");
    }
    let right = raw_admin(&server, "GET", "/admin/status", &format!("authorization: Bearer {}\r\n", token.trim())).await?;
    assert!(right.starts_with("HTTP/1.1 200"), "{right}");
    let metrics = raw_admin(&server, "GET", "/metrics", "").await?;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    server.stop().await?;
    Ok(())
}

/// A strict reader of the Prometheus text format: `# HELP`/`# TYPE`/`# EOF` comments, then
/// `name{label="value",…} number` samples; anything else fails.
fn parse_prometheus(text: &str) -> Vec<(String, f64)> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line == "# EOF" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            assert!(rest.starts_with("HELP ") || rest.starts_with("TYPE ") || rest.starts_with("UNIT "), "bad comment {line:?}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value in {line:?}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "bad name {line:?}");
        if name_end < series.len() {
            let labels = series[name_end..].strip_prefix('{').and_then(|l| l.strip_suffix('}')).expect("braces");
            for pair in labels.split(',').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("bad label {pair:?}"));
                assert!(k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "bad label name {line:?}");
                assert!(v.starts_with('"') && v.ends_with('"') && v.len() >= 2, "bad label value {line:?}");
            }
        }
        samples.push((series.to_owned(), value));
    }
    samples
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_the_cti_gauge() -> anyhow::Result<()> {
    let server = server().await?;
    let reply = http_request_plain_metrics(&server).await?;
    let samples = parse_prometheus(&reply);
    let value = |name: &str| samples.iter().find(|(s, _)| s == name).map(|(_, v)| *v);
    assert_eq!(value("herald_cti_link_up"), Some(1.0), "{reply}");
    assert!(samples.iter().any(|(s, _)| s.starts_with("herald_logins")), "{reply}");
    server.stop().await?;
    Ok(())
}

/// The counters move with what clients do (the core and the transports count: the metrics
/// slice of issue 13).
#[tokio::test]
async fn metrics_count_a_login_and_its_session() -> anyhow::Result<()> {
    let server = server().await?;
    let before = parse_prometheus(&http_request_plain_metrics(&server).await?);
    let _alice = RawClient::login(&server, "alice", ALICE_PW, "desk").await?;
    // An agent signs in through REST: a request counted by route and status, and its state
    // published to its nodes.
    let login = "<User><state>LOGIN</state><extension>1001</extension></User>";
    assert_eq!(server.rest_put("/finesse/api/User/1001", "1001", None, login).await?.status, 202);
    let value = |samples: &[(String, f64)], name: &str| samples.iter().find(|(s, _)| s == name).map_or(0.0, |(_, v)| *v);
    let mut after = parse_prometheus(&http_request_plain_metrics(&server).await?);
    for _ in 0..100 {
        if value(&after, "herald_agents{state=\"NOT_READY\"}") >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = parse_prometheus(&http_request_plain_metrics(&server).await?);
    }
    // alice's login and the agent's REST Basic check.
    assert_eq!(value(&after, "herald_logins_total") - value(&before, "herald_logins_total"), 2.0);
    assert_eq!(value(&after, "herald_sessions{transport=\"tcp\"}"), 1.0);
    assert_eq!(value(&after, "herald_rest_requests_total{route=\"User/{id}\",status=\"202\"}"), 1.0);
    assert!(value(&after, "herald_pubsub_publishes_total") >= value(&before, "herald_pubsub_publishes_total") + 2.0, "User and Team nodes");
    assert_eq!(value(&after, "herald_agents{state=\"NOT_READY\"}"), 1.0);
    assert_eq!(value(&after, "herald_cti_link_up"), 1.0);
    server.stop().await?;
    Ok(())
}

async fn http_request_plain_metrics(server: &TestServer) -> anyhow::Result<String> {
    let reply = raw_admin(server, "GET", "/metrics", "").await?;
    let (head, body) = reply.split_once("\r\n\r\n").expect("a head");
    assert!(head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{head}");
    Ok(body.to_owned())
}

#[tokio::test]
async fn the_log_bundle_holds_the_evidence_and_no_secret() -> anyhow::Result<()> {
    let server = server().await?;
    let config = server.config().clone();
    let logs = server.data_dir.path().join("logs").join("notification");
    std::fs::create_dir_all(&logs)?;
    std::fs::write(logs.join("info.log"), "2026.12.01 10:00:00 INFO notification: current line\n")?;
    std::fs::write(logs.join("info.log.1"), "2026.12.01 09:00:00 INFO notification: rotated line\n")?;
    std::fs::write(logs.join("stray.token"), "never-bundle-me")?;
    let alice = RawClient::login(&server, "alice", ALICE_PW, "desk").await?;
    drop(alice);
    for _ in 0..100 {
        if !server.store.close_records(Some("alice"), 0, 1).await?.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bundle = request(&config, "GET", "/admin/collect-logs").await?.ok()?;
    let mut tar_bytes = Vec::new();
    flate2::read::GzDecoder::new(&bundle[..]).read_to_end(&mut tar_bytes)?;
    let mut names = Vec::new();
    let mut contents = std::collections::HashMap::new();
    for entry in tar::Archive::new(&tar_bytes[..]).entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let mut text = String::new();
        entry.read_to_string(&mut text)?;
        names.push(name.clone());
        contents.insert(name, text);
    }
    assert!(contents.get("logs/notification/info.log").is_some_and(|t| t.contains("current line")), "{names:?}");
    assert!(contents.get("logs/notification/info.log.1").is_some_and(|t| t.contains("rotated line")), "{names:?}");
    assert!(!names.iter().any(|n| n.ends_with(".token") || n.ends_with(".db") || n.contains("auth-secret")), "{names:?}");
    let records = contents.get("close-records.jsonl").expect("records");
    let first: serde_json::Value = serde_json::from_str(records.lines().next().expect("one record"))?;
    assert_eq!(first["user"], "alice");
    let status: StatusReport = serde_json::from_str(contents.get("status.json").expect("status"))?;
    assert!(status.services.iter().any(|s| s.name == "c2s"));
    let config_json: serde_json::Value = serde_json::from_str(contents.get("config.json").expect("config"))?;
    assert_eq!(config_json["domain"], "localhost");
    // No secret anywhere, in any byte of the archive.
    let dir = server.data_dir.path();
    let mut secrets = vec![ALICE_PW.as_bytes().to_vec(), BOB_PW.as_bytes().to_vec(), b"never-bundle-me".to_vec()];
    secrets.push(std::fs::read_to_string(dir.join("admin.token"))?.trim().as_bytes().to_vec());
    secrets.push(std::fs::read_to_string(dir.join("sim.token"))?.trim().as_bytes().to_vec());
    let auth = std::fs::read(dir.join("auth-secret"))?;
    secrets.push(auth.clone());
    secrets.push(auth.iter().map(|b| format!("{b:02x}")).collect::<String>().into_bytes());
    for secret in &secrets {
        assert!(!tar_bytes.windows(secret.len()).any(|w| w == &secret[..]), "a secret is in the bundle");
    }
    // `since` filters files by modification time.
    let later = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() + 3600;
    let empty = request(&config, "GET", &format!("/admin/collect-logs?since={later}")).await?.ok()?;
    let mut tar_bytes = Vec::new();
    flate2::read::GzDecoder::new(&empty[..]).read_to_end(&mut tar_bytes)?;
    let names: Vec<String> = tar::Archive::new(&tar_bytes[..])
        .entries()?
        .map(|e| e.and_then(|e| e.path().map(|p| p.to_string_lossy().into_owned())))
        .collect::<Result<_, _>>()?;
    assert!(!names.iter().any(|n| n.starts_with("logs/")), "{names:?}");
    server.stop().await?;
    Ok(())
}
