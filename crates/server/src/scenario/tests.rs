//! Tests of the scenario file: the sample, every refusal, and applying on first start only.

use super::*;
use herald_store::{AccountStore, ContactCenterStore, MemoryStore};

const MINIMAL: &str = "[[teams]]\nid = 1\nname = \"Sales\"\n";

fn refused(text: &str, expected: &[&str]) {
    let err = format!("{:#}", parse(text).expect_err("must be refused"));
    for part in expected {
        assert!(err.contains(part), "{err:?} should mention {part:?}");
    }
}

#[test]
fn the_sample_is_the_documented_contact_center() {
    let s = load(None).unwrap();
    assert_eq!(s.contact_center.deployment_type, DeploymentType::Ucce);
    assert_eq!(s.teams.iter().map(|t| (t.id.0.as_str(), t.name.as_str())).collect::<Vec<_>>(), [("1", "Sales"), ("2", "Support")]);
    let queues: Vec<_> = s.queues.iter().map(|q| (q.id.0.as_str(), q.teams.len())).collect();
    assert_eq!(queues, [("100", 1), ("200", 1), ("300", 2)]);
    assert!(s.queues.iter().all(|q| q.calls_per_hour > 0.0 && q.calls_per_hour <= 60.0), "modest arrival rates");
    let not_ready: Vec<_> =
        s.reason_codes.iter().filter(|r| r.category == CategorySpec::NotReady && !r.system).map(|r| r.label.as_str()).collect();
    assert_eq!(not_ready, ["Break", "Lunch", "Meeting", "Training"]);
    // The presence-driven logout's code 255, in both categories it can end in.
    let forced: Vec<_> = s.reason_codes.iter().filter(|r| r.code == 255).map(|r| (r.category, r.system, r.label.as_str())).collect();
    assert_eq!(forced, [(CategorySpec::Logout, true, "Forced logout"), (CategorySpec::NotReady, true, "Desktop disconnected")]);
    let users = s.all_users();
    assert_eq!(users.len(), 11);
    assert!(users.iter().all(|u| u.password == "herald-demo" && !u.user.first_name.is_empty() && !u.user.last_name.is_empty()));
    for u in &users[..10] {
        let n: u32 = u.user.login_id.parse().unwrap();
        assert_eq!(u.user.extension.as_deref(), Some(u.user.login_id.as_str()));
        assert_eq!(u.user.team_id.as_deref(), Some(if n <= 1005 { "1" } else { "2" }));
        assert_eq!(u.user.role, "agent");
    }
    let sup = &users[10].user;
    assert_eq!((sup.login_id.as_str(), sup.role.as_str(), sup.team_id.as_deref()), ("2001", "supervisor", Some("1")));
    assert_eq!(sup.supervised_teams, ["1", "2"]);
    assert_eq!(s.simulator, SimulatorSpec::default());
}

#[test]
fn simulator_settings_default_one_by_one() {
    let s = parse(&format!("{MINIMAL}[simulator]\nseed = 7\nwrap_up_secs = 3\n")).unwrap();
    assert_eq!(s.simulator, SimulatorSpec { seed: Some(7), wrap_up_secs: 3, ..SimulatorSpec::default() });
    assert_eq!(SimulatorSpec::default().talk_time_secs, [30, 180]);
    assert_eq!(SimulatorSpec::default().outside_answer_secs, [2, 6]);
    let empty = parse("").unwrap();
    assert_eq!(empty, Scenario::default());
}

#[test]
fn unknown_keys_and_wrong_types_are_refused_with_their_line() {
    refused(&format!("{MINIMAL}colour = \"red\"\n"), &["colour", "line 4"]);
    refused("[[teams]]\nid = 1\nnmae = \"Sales\"\n", &["nmae", "line 3"]);
    refused("[simulator]\ntalk_secs = 3\n", &["talk_secs"]);
    refused("[contact_center]\ndeployment_type = \"PCCE\"\n", &["PCCE", "line 2"]);
    refused(&format!("{MINIMAL}[[reason_codes]]\nid = 1\ncategory = \"BREAK\"\ncode = 1\nlabel = \"x\"\n"), &["BREAK"]);
    refused("[[teams]]\nid = -1\nname = \"x\"\n", &["negative"]);
    refused("[[teams]]\nid = \"\"\nname = \"x\"\n", &["empty"]);
    refused("[[users]]\nlogin_id = 1\npassword = \"p\"\nrole = \"boss\"\n", &["boss"]);
}

#[test]
fn ids_must_be_unique_and_teams_must_exist() {
    refused(&format!("{MINIMAL}[[teams]]\nid = \"1\"\nname = \"Other\"\n"), &["teams[1].id", "twice"]);
    let queue = |id: u32, teams: &str| format!("[[queues]]\nid = {id}\nname = \"Q\"\nteams = [{teams}]\n");
    refused(&format!("{MINIMAL}{}{}", queue(100, "1"), queue(100, "1")), &["queues[1].id", "100"]);
    refused(&format!("{MINIMAL}{}", queue(100, "1, 9")), &["queues[0].teams[1]", "9"]);
    refused(&format!("{MINIMAL}[[queues]]\nid = 1\nname = \"Q\"\ncalls_per_hour = -1.0\n"), &["queues[0].calls_per_hour"]);
    let user = |login: &str, extra: &str| format!("[[users]]\nlogin_id = \"{login}\"\npassword = \"p\"\n{extra}");
    refused(&format!("{MINIMAL}{}{}", user("a", ""), user("A", "")), &["users[1].login_id", "twice"]);
    refused(&format!("{MINIMAL}{}", user("a", "team = 2\n")), &["users[0].team", "2"]);
    refused(&format!("{MINIMAL}{}", user("a", "role = \"supervisor\"\nsupervises = [1, 3]\n")), &["users[0].supervises[1]"]);
    refused(&format!("{MINIMAL}{}", user("a", "supervises = [1]\n")), &["users[0].supervises", "supervisor"]);
    refused(&format!("{MINIMAL}{}", user("a", "wrap_up_incoming = \"LATER\"\n")), &["users[0].wrap_up_incoming", "LATER"]);
    refused(&format!("{MINIMAL}[[users]]\nlogin_id = 1\npassword = \"\"\n"), &["users[0].password"]);
    let range = |prefix: &str, start: u64, count: u64, extra: &str| {
        format!("[[user_ranges]]\nprefix = \"{prefix}\"\nstart = {start}\ncount = {count}\npassword = \"p\"\n{extra}")
    };
    refused(&format!("{MINIMAL}{}{}", user("a5", ""), range("a", 1, 10, "")), &["user_ranges[0]", "a5"]);
    refused(&format!("{MINIMAL}{}{}", range("", 1, 10, ""), range("", 10, 2, "")), &["user_ranges[1]", "10"]);
    refused(&format!("{MINIMAL}{}", range("", 1, 1, "team = 4\n")), &["user_ranges[0].team"]);
    refused(&format!("{MINIMAL}{}", range("", 1, 1_000_001, "")), &["user_ranges[0].count", "at most"]);
    refused(&format!("{MINIMAL}[[user_ranges]]\nstart = 1\ncount = 1\npassword = \"\"\n"), &["user_ranges[0].password"]);
}

#[test]
fn reason_codes_are_checked_as_finesse_does() {
    let code = |id: u32, category: &str, code: u32, label: &str| {
        format!("[[reason_codes]]\nid = {id}\ncategory = \"{category}\"\ncode = {code}\nlabel = \"{label}\"\n")
    };
    // The same code or label in another category is fine.
    parse(&format!("{}{}", code(1, "NOT_READY", 1, "Break"), code(2, "LOGOUT", 1, "Break"))).unwrap();
    parse(&code(1, "NOT_READY", 65535, &"x".repeat(40))).unwrap();
    refused(&format!("{}{}", code(1, "NOT_READY", 1, "Break"), code(1, "LOGOUT", 2, "Home")), &["reason_codes[1].id", "twice"]);
    refused(&format!("{}{}", code(1, "NOT_READY", 1, "Break"), code(2, "NOT_READY", 1, "Lunch")), &["reason_codes[1].code", "NOT_READY"]);
    refused(&format!("{}{}", code(1, "LOGOUT", 1, "Home"), code(2, "LOGOUT", 2, "Home")), &["reason_codes[1].label", "Home"]);
    refused(&code(1, "NOT_READY", 0, "Break"), &["reason_codes[0].code", "1–65535"]);
    refused(&code(1, "NOT_READY", 65536, "Break"), &["reason_codes[0].code"]);
    refused(&code(1, "NOT_READY", 1, &"x".repeat(41)), &["reason_codes[0].label", "41"]);
    refused(&code(1, "NOT_READY", 1, ""), &["reason_codes[0].label"]);
}

#[test]
fn simulator_timings_must_make_sense() {
    refused("[simulator]\ntalk_time_secs = [10, 5]\n", &["simulator.talk_time_secs"]);
    refused("[simulator]\noutside_answer_secs = [3, 1]\n", &["simulator.outside_answer_secs"]);
    refused("[simulator]\nstats_interval_secs = 0\n", &["simulator.stats_interval_secs"]);
    // The heartbeat interval is the link's setting (`[cti] heartbeat_secs`), not the scenario's.
    refused("[simulator]\nheartbeat_interval_secs = 5\n", &["heartbeat_interval_secs"]);
    refused("[simulator]\ntalk_time_secs = [10]\n", &["talk_time_secs"]);
}

#[test]
fn a_scenario_file_is_read_and_its_errors_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cc.toml");
    std::fs::write(&path, MINIMAL).unwrap();
    assert_eq!(load(Some(&path)).unwrap().teams.len(), 1);
    std::fs::write(&path, "[[teams]]\nid = 1\n").unwrap();
    let err = format!("{:#}", load(Some(&path)).unwrap_err());
    assert!(err.contains("cc.toml") && err.contains("name"), "{err}");
    let missing = dir.path().join("nope.toml");
    let err = format!("{:#}", load(Some(&missing)).unwrap_err());
    assert!(err.contains("nope.toml"), "{err}");
}

#[test]
fn ranges_number_their_users_and_numeric_logins_are_extensions() {
    let s = parse(&format!(
        "{MINIMAL}[[user_ranges]]\nstart = 5000\ncount = 3\npassword = \"p\"\nteam = 1\n\
         [[user_ranges]]\nprefix = \"lt\"\nstart = 0\ncount = 2\npassword = \"q\"\nrole = \"supervisor\"\nteam = 1\n"
    ))
    .unwrap();
    let users = s.all_users();
    let logins: Vec<_> = users.iter().map(|u| (u.user.login_id.as_str(), u.user.extension.as_deref())).collect();
    assert_eq!(logins, [("5000", Some("5000")), ("5001", Some("5001")), ("5002", Some("5002")), ("lt0", None), ("lt1", None)]);
    assert_eq!(users[3].user.supervised_teams, ["1"], "a supervisor range supervises its team");
    assert!(users[0].user.supervised_teams.is_empty());
    assert_eq!((users[4].password.as_str(), users[4].user.role.as_str()), ("q", "supervisor"));
}

#[tokio::test]
async fn the_scenario_is_applied_on_first_start_only() {
    let store = MemoryStore::new();
    // An account that exists already keeps its password.
    let before = crate::users::credentials_for("mine").unwrap();
    store.create_user("1001", &before).await.unwrap();
    let scenario = load(None).unwrap();
    assert!(apply_first_start(&store, "example.com", &scenario).await.unwrap());
    assert_eq!(store.credentials("1001").await.unwrap(), Some(before));
    let accounts = store.list_users().await.unwrap();
    assert_eq!(accounts.len(), 11);
    assert!(store.credentials("2001").await.unwrap().is_some_and(|c| c.len() == 2));
    let directory = crate::directory::load(&store).await.unwrap();
    assert_eq!(directory.users().count(), 11);
    assert_eq!(directory.team_supervisors("2").map(|u| u.login_id.as_str()).collect::<Vec<_>>(), ["2001"]);
    assert_eq!(directory.user_or_extension("1006").unwrap().team_id.as_deref(), Some("2"));
    assert_eq!(directory.reason_codes().count(), 7);
    assert_eq!(directory.queue("300").unwrap().teams, ["1", "2"]);
    // An operator's edit survives a restart: nothing is written again.
    store.cc_put_team(&StoredTeam { id: "1".into(), name: "Inside Sales".into() }).await.unwrap();
    assert!(store.delete_user("1010").await.unwrap());
    assert!(!apply_first_start(&store, "example.com", &scenario).await.unwrap());
    assert_eq!(store.cc_teams().await.unwrap()[0].name, "Inside Sales");
    assert_eq!(store.list_users().await.unwrap().len(), 10);
}

#[tokio::test]
async fn login_ids_are_normalised_and_invalid_ones_refused() {
    let store = MemoryStore::new();
    let s = parse("[[users]]\nlogin_id = \"Alice\"\npassword = \"p\"\n").unwrap();
    apply_first_start(&store, "example.com", &s).await.unwrap();
    assert_eq!(store.list_users().await.unwrap(), ["alice"]);
    assert_eq!(store.cc_users().await.unwrap()[0].login_id, "alice");
    let store = MemoryStore::new();
    let s = parse(&format!("{MINIMAL}[[users]]\nlogin_id = \"a@b\"\npassword = \"p\"\n")).unwrap();
    let err = format!("{:#}", apply_first_start(&store, "example.com", &s).await.unwrap_err());
    assert!(err.contains("not a valid LoginID"), "{err}");
    assert!(!store.cc_scenario_applied().await.unwrap(), "a failed application is tried again at the next start");
    assert!(store.list_users().await.unwrap().is_empty() && store.cc_teams().await.unwrap().is_empty(), "nothing written");
}

/// The load test's 15,000 agents: applied and given the web-services user in seconds. Run in
/// release (`cargo test --release -p herald --lib fifteen_thousand -- --ignored --nocapture`);
/// a debug build's PBKDF2 is many times slower.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a timing check, meaningful in release builds"]
async fn fifteen_thousand_agents_take_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let store = herald_store::SqliteStore::open(&dir.path().join("herald.db")).await.unwrap();
    let s = parse(&format!("{MINIMAL}[[user_ranges]]\nstart = 100000\ncount = 15000\npassword = \"load\"\nteam = 1\n")).unwrap();
    let started = std::time::Instant::now();
    assert!(apply_first_start(&store, "example.com", &s).await.unwrap());
    let applied = started.elapsed();
    let logins: Vec<String> = store.cc_users().await.unwrap().into_iter().map(|u| u.login_id).collect();
    assert_eq!(logins.len(), 15_000);
    let started = std::time::Instant::now();
    crate::webservices_user::provision(&store, "example.com", &logins).await.unwrap();
    let provisioned = started.elapsed();
    let started = std::time::Instant::now();
    crate::webservices_user::provision(&store, "example.com", &logins).await.unwrap();
    let again = started.elapsed();
    let directory = crate::directory::load(&store).await.unwrap();
    assert_eq!(directory.users().count(), 15_000);
    println!("15,000 agents: applied in {applied:?}, provisioned in {provisioned:?}, provisioned again in {again:?}");
    assert!(applied.as_secs() < 60 && provisioned.as_secs() < 30 && again.as_secs() < 10);
}
