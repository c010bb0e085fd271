//! SystemInfo in a real cluster (issue 15): three `herald serve` processes on one Redis and one
//! PostgreSQL (`herald-dbtest`). Asked on any node, SystemInfo (answered by the node driving the
//! CTI side) names the live nodes sorted by id — the first two as `primaryNode` and
//! `secondaryNode`, all three in Herald's `<nodes>` with each node's REST and XMPP ports — and a
//! node killed with SIGKILL leaves the list once its lease expires, so desktops fail over only
//! to nodes that are alive.

use std::path::Path;
use std::time::{Duration, Instant};

use herald_dbtest::{TempPostgres, TempRedis};
use herald_testkit::{Auth, DEMO_PASSWORD, Endpoint, read_http_response};
use herald_tests::process::{HeraldProcess, free_port};
use tokio::io::AsyncWriteExt as _;

/// The cluster's lease: short, so a killed node leaves the list within seconds.
const LEASE_SECS: &str = "2";

/// Starts node `id` of the cluster on `redis` and `database`.
fn start_node(id: &str, redis: &str, database: &str) -> anyhow::Result<HeraldProcess> {
    let sample = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenario/sample.toml"))?;
    let settings = [
        ("HERALD_STORE__BACKEND", "postgres".to_owned()),
        ("HERALD_STORE__URL", database.to_owned()),
        ("HERALD_STORE__MAX_CONNECTIONS", "4".to_owned()),
        ("HERALD_CLUSTER__REDIS", redis.to_owned()),
        ("HERALD_CLUSTER__NODE_ID", id.to_owned()),
        ("HERALD_CLUSTER__LEASE_SECS", LEASE_SECS.to_owned()),
        ("HERALD_CLUSTER__ADVERTISE_HOST", "127.0.0.1".to_owned()),
    ];
    HeraldProcess::start(Path::new(env!("CARGO_BIN_EXE_herald")), &sample, free_port(), &settings, "web services ready")
}

/// `GET /finesse/api/SystemInfo` on `node`'s REST listener as agent 1001: the status and body.
async fn system_info(node: &HeraldProcess) -> anyhow::Result<(u16, String)> {
    let endpoint = Endpoint { c2s: ([127, 0, 0, 1], node.c2s).into(), domain: "localhost".into(), cert: node.cert() };
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", node.api)).await?;
    let mut tls = endpoint.tls_connect(tcp).await?;
    let authorization = Auth::Basic("1001", DEMO_PASSWORD).header().unwrap_or_default();
    let request = format!(
        "GET /finesse/api/SystemInfo HTTP/1.1\r\nhost: localhost:{}\r\nauthorization: {authorization}\r\nconnection: close\r\n\r\n",
        node.api
    );
    tls.write_all(request.as_bytes()).await?;
    let response = tokio::time::timeout(Duration::from_secs(20), read_http_response(&mut tls, &mut Vec::new())).await??;
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// `<node>…</node>` as SystemInfo lists it.
fn listed(node: &HeraldProcess) -> String {
    format!("<node><host>127.0.0.1</host><httpsPort>{}</httpsPort><xmppPort>{}</xmppPort></node>", node.api, node.c2s)
}

/// Asks `node` for SystemInfo until its body contains `want` (bounded): the list follows the
/// cluster's refresh (every lease / 3), and a dead node leaves it once its lease expired.
async fn until_system_info_has(node: &HeraldProcess, want: &str, within: Duration) -> anyhow::Result<String> {
    let deadline = Instant::now() + within;
    loop {
        let answer = system_info(node).await;
        if let Ok((200, body)) = &answer
            && body.contains(want)
        {
            return Ok(body.clone());
        }
        anyhow::ensure!(Instant::now() < deadline, "SystemInfo never held {want}; last answer: {answer:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_info_lists_the_clusters_live_nodes_and_drops_a_killed_one() -> anyhow::Result<()> {
    if !(TempRedis::available() && TempPostgres::available()) {
        anyhow::ensure!(std::env::var_os("CI").is_none(), "redis-server or PostgreSQL is missing under CI: .ci/run must install them");
        eprintln!("skipped: needs redis-server and PostgreSQL (apt-get install redis-server postgresql)");
        return Ok(());
    }
    let redis = TempRedis::start()?;
    let postgres = TempPostgres::start()?;
    let database = postgres.new_database()?;
    // Started one after another: the first applies the scenario to the shared database.
    let a = tokio::task::block_in_place(|| start_node("node-a", &redis.url(), &database))?;
    let b = tokio::task::block_in_place(|| start_node("node-b", &redis.url(), &database))?;
    let mut c = tokio::task::block_in_place(|| start_node("node-c", &redis.url(), &database))?;

    let all = format!("<nodes>{}{}{}</nodes>", listed(&a), listed(&b), listed(&c));
    let body = until_system_info_has(&c, &all, Duration::from_secs(30)).await?;
    for (role, node) in [("primaryNode", &a), ("secondaryNode", &b)] {
        let named = format!("<{role}><host>127.0.0.1</host><httpsPort>{}</httpsPort><xmppPort>{}</xmppPort>", node.api, node.c2s);
        assert!(body.contains(&named), "the first two nodes by id are the Finesse pair: {named}\n{body}");
    }
    assert!(body.contains("<status>IN_SERVICE</status>"), "{body}");
    // Every node answers the same list (forwarded to the node driving the CTI side).
    for node in [&a, &b] {
        let (status, other) = system_info(node).await?;
        assert!(status == 200 && other.contains(&all), "{status} {other}");
    }

    tokio::task::block_in_place(|| c.kill());
    let both = format!("<nodes>{}{}</nodes>", listed(&a), listed(&b));
    until_system_info_has(&a, &both, Duration::from_secs(30)).await?;
    Ok(())
}
