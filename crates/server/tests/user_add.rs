//! `herald user add` with the contact-center flags, as an operator runs it: the account and the
//! contact-center user are made together, and the team when it is new.

#![cfg(feature = "sqlite")]
use std::process::Command;

use herald_store::{AccountStore, ContactCenterStore, SqliteStore, StoredTeam};

fn herald(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.arg("--data-dir").arg(data_dir).args(["--domain", "example.com"]);
    cmd
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("herald runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test]
async fn user_add_makes_agents_and_supervisors() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = run(herald(dir.path()).args(["user", "add", "1001", "--password", "pw"]));
    assert!(ok, "{out}");
    let (ok, out) = run(herald(dir.path()).args([
        "user",
        "add",
        "2001",
        "--password",
        "pw",
        "--role",
        "supervisor",
        "--team",
        "7",
        "--extension",
        "5001",
        "--first-name",
        "Grace",
        "--last-name",
        "Walker",
    ]));
    assert!(ok && out.contains("created 2001@example.com (supervisor)"), "{out}");
    let (ok, out) = run(herald(dir.path()).args(["user", "add", "1002", "--password", "pw", "--role", "boss"]));
    assert!(!ok && out.contains("boss"), "{out}");
    let (ok, out) = run(herald(dir.path()).args(["user", "add", "1003", "--password", "pw", "--team", ""]));
    assert!(!ok && out.contains("--team must not be empty"), "{out}");
    let store = SqliteStore::open(&dir.path().join("herald.db")).await.unwrap();
    assert_eq!(store.list_users().await.unwrap(), ["1001", "2001"], "refused adds leave no account");
    assert_eq!(store.cc_teams().await.unwrap(), [StoredTeam { id: "7".into(), name: "7".into() }]);
    let directory = herald::directory::load(&store).await.unwrap();
    let agent = directory.user("1001").unwrap();
    assert_eq!((agent.role, agent.team_id.as_deref()), (herald_cc::Role::Agent, None), "a plain add is an agent");
    let sup = directory.user_or_extension("5001").unwrap();
    assert_eq!((sup.login_id.as_str(), sup.role, sup.last_name.as_str()), ("2001", herald_cc::Role::Supervisor, "Walker"));
    assert_eq!(sup.supervised_teams, ["7"]);
    // Deleting the account deletes the contact-center user.
    store.close().await;
    let (ok, out) = run(herald(dir.path()).args(["user", "del", "2001"]));
    assert!(ok, "{out}");
    let store = SqliteStore::open(&dir.path().join("herald.db")).await.unwrap();
    assert_eq!(store.cc_users().await.unwrap().len(), 1);
}
