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
    assert!(!out.status.success() && stderr.contains("sqllite") && stderr.contains("`sqlite` or `memory`"), "{stderr}");
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
