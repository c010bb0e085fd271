//! The `herald` binary as an operator uses it: account commands, `serve` on the defaults plus an
//! environment override, the log files, and SIGTERM ending in exit code 0.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn herald(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.arg("--data-dir").arg(data_dir).args(["--domain", "example.com"]);
    cmd
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("herald runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn user_commands_manage_accounts() {
    let dir = tempfile::tempdir().unwrap();
    run_ok(herald(dir.path()).args(["user", "add", "1001", "--password", "pw1"]));
    let mut child = herald(dir.path()).args(["user", "add", "1002", "--password-stdin"]).stdin(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"pw2\n").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(run_ok(herald(dir.path()).args(["user", "list"])), "1001\n1002\n");
    run_ok(herald(dir.path()).args(["user", "passwd", "1001", "--password", "new"]));
    run_ok(herald(dir.path()).args(["user", "del", "1002"]));
    assert_eq!(run_ok(herald(dir.path()).args(["user", "list"])), "1001\n");
    let dup = herald(dir.path()).args(["user", "add", "1001", "--password", "x"]).output().unwrap();
    assert!(!dup.status.success() && String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let bad = herald(dir.path()).args(["user", "add", "a@b", "--password", "x"]).output().unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("not a valid LoginID"));
}

#[test]
fn unknown_configuration_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = herald(dir.path()).env("HERALD_LIMITS__MAX_STANZA_BYTE", "1").args(["user", "list"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_stanza_byte"), "{}", String::from_utf8_lossy(&out.stderr));
    let file = dir.path().join("herald.toml");
    std::fs::write(&file, "domain = \"example.com\"\n[listen]\nc2s = \"127.0.0.1:0\"\nbosh = \"x\"\n").unwrap();
    let out = herald(dir.path()).arg("--config").arg(&file).args(["user", "list"]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("bosh"));
}

#[test]
fn a_mistyped_store_backend_is_refused_naming_the_allowed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = herald(dir.path()).env("HERALD_STORE__BACKEND", "sqllite").args(["user", "list"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("sqllite") && stderr.contains("`sqlite`, `memory`, `postgres`"), "{stderr}");
    assert!(!dir.path().join("herald.db").exists(), "nothing was opened");
    // The SQLite file can live elsewhere; a relative path is under the data directory.
    run_ok(herald(dir.path()).env("HERALD_STORE__PATH", "db/accounts.db").args(["user", "add", "1001", "--password", "pw"]));
    assert!(dir.path().join("db/accounts.db").exists());
    assert_eq!(run_ok(herald(dir.path()).env("HERALD_STORE__PATH", "db/accounts.db").args(["user", "list"])), "1001\n");
    assert_eq!(run_ok(herald(dir.path()).args(["user", "list"])), "", "the default file is another database");
}

#[test]
fn serve_starts_on_defaults_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = herald(dir.path()).env("HERALD_LISTEN__C2S", "127.0.0.1:0").arg("serve").stderr(Stdio::null()).spawn().unwrap();
    let info = dir.path().join("logs/notification/info.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&info).unwrap_or_default().contains("notification service started") {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dir.path().join("tls/cert.pem").exists() && dir.path().join("herald.db").exists());
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    assert!(std::fs::read_to_string(&info).unwrap().contains("Herald notification service stopped"));
}

/// A loopback port free right now, for a listener `herald serve` must name in advance.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn ctl_status_talks_to_a_running_serve_and_doctor_runs_offline_after() {
    let dir = tempfile::tempdir().unwrap();
    let admin = format!("127.0.0.1:{}", free_port());
    // Every listener on its own port: the test beside this one serves on the defaults.
    let api = format!("127.0.0.1:{}", free_port());
    let with_env = |cmd: &mut Command| {
        cmd.env("HERALD_LISTEN__C2S", "127.0.0.1:0")
            .env("HERALD_LISTEN__HTTPS", "127.0.0.1:0")
            .env("HERALD_LISTEN__API", &api)
            .env("HERALD_LISTEN__ADMIN", &admin);
    };
    let mut serve = herald(dir.path());
    with_env(&mut serve);
    let mut child = serve.arg("serve").stderr(Stdio::null()).spawn().unwrap();
    let info = dir.path().join("logs/notification/info.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&info).unwrap_or_default().contains("notification service started") {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut status = herald(dir.path());
    with_env(&mut status);
    let text = run_ok(status.args(["ctl", "status"]));
    assert!(text.contains(&format!("admin            up    {admin}")), "{text}");
    assert!(text.contains("c2s              up    127.0.0.1:"), "{text}");
    let mut logging = herald(dir.path());
    with_env(&mut logging);
    assert_eq!(run_ok(logging.args(["ctl", "logging", "status"])), "debug logging is off\n");
    let mut online = herald(dir.path());
    with_env(&mut online);
    let diagnosis: serde_json::Value = serde_json::from_str(&run_ok(online.args(["doctor", "--json"]))).unwrap();
    assert!(diagnosis.get("verdicts").is_some(), "{diagnosis}");
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    // Stopped: ctl fails saying so; the doctor still answers, from the data directory.
    let mut refused = herald(dir.path());
    with_env(&mut refused);
    let out = refused.args(["ctl", "status"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect to the admin API"), "{}", String::from_utf8_lossy(&out.stderr));
    let mut offline = herald(dir.path());
    with_env(&mut offline);
    let diagnosis: serde_json::Value = serde_json::from_str(&run_ok(offline.args(["doctor", "--json"]))).unwrap();
    assert!(diagnosis.get("verdicts").is_some(), "{diagnosis}");
}
