//! The agent desktop in a real browser against real servers: three `herald serve` processes on
//! loopback (S for the agent, supervisor, lost-connection and error-report runs; A and B, a
//! pair naming each other in SystemInfo, for failover), driven by `tests/browser/desktop.mjs`
//! through playwright-core and Debian's headless Chromium. The script signs in, works a
//! simulated call from the page, watches a supervisor's view change live, cuts `/http-bind/`,
//! takes the simulator's link down, sends an error report, kills A and follows the desktop to
//! B, and leaves screenshots. This side then checks what only the server shows: the uploaded
//! client log in `logs/clientlogs/` and in `herald ctl collect-logs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use herald_tests::process::{HeraldProcess, free_port};

/// The repository's `tests/browser`, where the npm packages are installed.
fn browser_dir() -> PathBuf {
    herald_tests::interop_dir().join("../browser")
}

/// One `herald serve` with its own data directory and ports; killed when dropped.
type Node = HeraldProcess;

/// Starts a node with the REST listener on `api` (a peer must name it in advance) and `extra`
/// settings (`HERALD_*` variables), and waits until its web services answer.
fn start_on(api: u16, extra: &[(&str, String)]) -> Node {
    let sample = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenario/sample.toml")).unwrap();
    HeraldProcess::start(Path::new(env!("CARGO_BIN_EXE_herald")), &sample, api, extra, "web services ready").unwrap()
}

/// [`start_on`] a free port.
fn start(extra: &[(&str, String)]) -> Node {
    start_on(free_port(), extra)
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
    let s = start(&[("HERALD_BOSH__INACTIVITY_SECS", "10".into()), ("HERALD_CTI__HEARTBEAT_SECS", "1".into())]);
    // A pair on one host: A is primary, B secondary, each naming the other's REST port.
    let a_api = free_port();
    let b = start(&[
        ("HERALD_CC__PRIMARY_HOST", "127.0.0.1".into()),
        ("HERALD_CC__PRIMARY_HTTPS_PORT", a_api.to_string()),
        ("HERALD_CC__SECONDARY_HOST", "127.0.0.1".into()),
    ]);
    let a = start_on(
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
        .arg(s.cert())
        .arg("--a-cert")
        .arg(a.cert())
        .arg("--b-cert")
        .arg(b.cert())
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
    let out = s.herald(&["ctl", "collect-logs", "--output", bundle.to_str().unwrap()]).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listing = Command::new("tar").arg("tzf").arg(&bundle).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let name = reports[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(listing.lines().any(|l| l.ends_with(&name)), "{name} in the bundle:\n{listing}");
    drop(a);
}
