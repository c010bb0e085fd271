//! The agent desktop in a real browser against real servers: three `herald serve` processes on
//! loopback (S for the agent, supervisor, lost-connection and error-report runs; A and B, a
//! pair naming each other in SystemInfo, for failover), driven by `tests/browser/desktop.mjs`
//! through playwright-core and Debian's headless Chromium. The script signs in, works a
//! simulated call from the page, watches a supervisor's view change live, cuts `/http-bind/`,
//! takes the simulator's link down, sends an error report, kills A and follows the desktop to
//! B, and leaves screenshots. This side then checks what only the server shows: the uploaded
//! client log in `logs/clientlogs/` and in `herald ctl collect-logs`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback port free right now, for a listener `herald serve` must name in advance.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The repository's `tests/browser`, where the npm packages are installed.
fn browser_dir() -> PathBuf {
    herald_tests::interop_dir().join("../browser")
}

/// One `herald serve` with its own data directory and ports; killed when dropped.
struct Node {
    child: Child,
    data: tempfile::TempDir,
    env: Vec<(String, String)>,
    api: u16,
    https: u16,
}

impl Node {
    /// Starts a node with `extra` settings (`HERALD_*` variables) and waits until its web
    /// services answer.
    fn start(extra: &[(&str, String)]) -> Node {
        Node::start_on(free_port(), extra)
    }

    /// [`Node::start`] with the REST listener on `api` (a peer must name it in advance).
    fn start_on(api: u16, extra: &[(&str, String)]) -> Node {
        let data = tempfile::tempdir().unwrap();
        // The sample contact center without its background calls (every call in the run is one
        // the test places, so no agent is offered a call it did not expect) and with a short
        // wrap-up (the dropped call leaves the screen when it ends), queue statistics every second.
        let sample = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenario/sample.toml")).unwrap();
        let quiet: String = sample
            .lines()
            .map(|l| match l {
                _ if l.starts_with("calls_per_hour") => "calls_per_hour = 0\n".to_owned(),
                _ if l.starts_with("wrap_up_secs") => "wrap_up_secs = 2\n".to_owned(),
                _ if l.starts_with("stats_interval_secs") => "stats_interval_secs = 1\n".to_owned(),
                _ => format!("{l}\n"),
            })
            .collect();
        assert_ne!(quiet, sample, "the sample's queues have arrival rates to turn off");
        let scenario = data.path().join("quiet.toml");
        std::fs::write(&scenario, quiet).unwrap();
        let (https, admin) = (free_port(), free_port());
        let mut env: Vec<(String, String)> = vec![
            ("HERALD_LISTEN__C2S".into(), "127.0.0.1:0".into()),
            ("HERALD_LISTEN__HTTPS".into(), format!("127.0.0.1:{https}")),
            ("HERALD_LISTEN__API".into(), format!("127.0.0.1:{api}")),
            ("HERALD_LISTEN__ADMIN".into(), format!("127.0.0.1:{admin}")),
            ("HERALD_CC__SCENARIO".into(), scenario.display().to_string()),
        ];
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
        cmd.arg("--data-dir").arg(data.path()).args(["--domain", "localhost", "serve"]);
        cmd.envs(env.iter().map(|(k, v)| (k, v))).stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().unwrap();
        let node = Node { child, data, env, api, https };
        let info = node.data.path().join("logs/webservices/info.log");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !std::fs::read_to_string(&info).unwrap_or_default().contains("web services ready") {
            assert!(Instant::now() < deadline, "herald serve did not get ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        node
    }

    fn sim_token(&self) -> String {
        std::fs::read_to_string(self.data.path().join("sim.token")).unwrap().trim().to_owned()
    }

    /// `herald <args>` against this node (its data directory and listeners).
    fn herald(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_herald"))
            .arg("--data-dir")
            .arg(self.data.path())
            .args(["--domain", "localhost"])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_desktop_works_a_call_survives_a_lost_connection_fails_over_and_sends_its_log() {
    // Under CI their absence is a failure, not a skip.
    if !herald_tests::browser_tools_available(&browser_dir()).unwrap() {
        eprintln!("skipped: needs /usr/bin/chromium and tests/browser/node_modules (scripts/test installs them)");
        return;
    }
    // S: a short BOSH inactivity so a cut connection really loses its session (and the desktop
    // must catch up), a fast CTI heartbeat so a dropped link is noticed in about 3 s.
    let s = Node::start(&[("HERALD_BOSH__INACTIVITY_SECS", "10".into()), ("HERALD_CTI__HEARTBEAT_SECS", "1".into())]);
    // A pair on one host: A is primary, B secondary, each naming the other's REST port.
    let a_api = free_port();
    let b = Node::start(&[
        ("HERALD_CC__PRIMARY_HOST", "127.0.0.1".into()),
        ("HERALD_CC__PRIMARY_HTTPS_PORT", a_api.to_string()),
        ("HERALD_CC__SECONDARY_HOST", "127.0.0.1".into()),
    ]);
    let a = Node::start_on(
        a_api,
        &[
            ("HERALD_CC__PRIMARY_HOST", "127.0.0.1".into()),
            ("HERALD_CC__SECONDARY_HOST", "127.0.0.1".into()),
            ("HERALD_CC__SECONDARY_HTTPS_PORT", b.api.to_string()),
        ],
    );
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("desktop-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let run = Command::new("node")
        .arg(browser_dir().join("desktop.mjs"))
        .args(["--s-api", &s.api.to_string(), "--s-token", &s.sim_token()])
        .args(["--a-api", &a.api.to_string(), "--a-token", &a.sim_token(), "--a-pid", &a.child.id().to_string()])
        .args(["--b-api", &b.api.to_string(), "--b-https", &b.https.to_string()])
        .arg("--shots")
        .arg(&shots)
        // The test's own requests verify each node's generated certificate.
        .arg("--s-cert")
        .arg(s.data.path().join("tls/cert.pem"))
        .arg("--a-cert")
        .arg(a.data.path().join("tls/cert.pem"))
        .arg("--b-cert")
        .arg(b.data.path().join("tls/cert.pem"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}");
    assert!(run.status.success() && stdout.contains("PASS"), "browser run failed\n{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    for shot in ["agent.png", "supervisor.png", "banner.png", "narrow.png"] {
        let len = std::fs::metadata(shots.join(shot)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "{shot}: a real screenshot ({len} bytes)");
    }
    println!("screenshots in {}", shots.display());

    // The error report landed as a file named by the agent, with the page's log in it.
    let client_logs = s.data.path().join("logs/clientlogs");
    let reports: Vec<PathBuf> = std::fs::read_dir(&client_logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("1001_"))
        .collect();
    assert_eq!(reports.len(), 1, "one report from 1001 in {}", client_logs.display());
    let text = std::fs::read_to_string(&reports[0]).unwrap();
    assert!(text.contains("Drift:") && text.contains("Network Latency (round trip):"), "drift header line in the report:\n{text}");
    assert!(text.contains("Chrome"), "the report starts with the browser's user agent");
    // And in the operator's bundle.
    let bundle = s.data.path().join("bundle.tar.gz");
    let out = s.herald(&["ctl", "collect-logs", "--output", bundle.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listing = Command::new("tar").arg("tzf").arg(&bundle).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let name = reports[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(listing.lines().any(|l| l.ends_with(&name)), "{name} in the bundle:\n{listing}");
    drop(a);
}
