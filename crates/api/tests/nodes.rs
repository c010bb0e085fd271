//! Node set-up at start: nodes created with their access model, members and automatic
//! subscriptions; a second run changes nothing; a member taken out of the configuration loses
//! membership and subscription; and the time 15,000 users take.

mod common;

use std::time::Instant;

use herald_api::{SetupReport, node_config, setup_nodes};
use herald_cc::directory::{QueueRecord, Role, TeamRecord, UserRecord};
use herald_cc::{ContactCenter, Directory, NodePlan};
use herald_proto::BareJid;
use herald_pubsub::{AccessModel, Affiliation};

fn jid(login: &str) -> BareJid {
    BareJid::new(&format!("{login}@{}", common::DOMAIN)).unwrap()
}

#[tokio::test]
async fn nodes_are_created_reconciled_and_left_alone_when_they_match() {
    let core = common::core(&[]).await;
    let cc = ContactCenter::new(common::cc_config(), common::directory());
    let plans = cc.node_plan();
    let first = setup_nodes(&core, &plans, 50, 64).await.unwrap();
    assert_eq!(first.created, plans.len());
    assert!(first.members_added > 0 && first.subscribed > 0, "{first:?}");
    let pubsub = core.pubsub();
    let user_node = "/finesse/api/User/1001";
    assert_eq!(pubsub.node_config(None, user_node).unwrap(), node_config(false, 50));
    assert_eq!(pubsub.node_config(None, "/finesse/api/SystemInfo").unwrap().access_model, AccessModel::Open);
    let affiliations = pubsub.affiliations(None, user_node).unwrap();
    assert!(affiliations.contains(&(jid("1001").to_string(), Affiliation::Member)), "{affiliations:?}");
    assert!(affiliations.contains(&(jid("2001").to_string(), Affiliation::Member)), "the supervisor: {affiliations:?}");
    assert!(!affiliations.iter().any(|(j, _)| j == jid("1002").as_str()), "another agent: {affiliations:?}");
    let subs: Vec<String> = pubsub.node_subscriptions(None, user_node).unwrap().into_iter().map(|(j, _, _)| j).collect();
    assert_eq!(subs, vec![jid("1001").to_string()]);
    assert_eq!(pubsub.subscription_count("/finesse/api/SystemInfo"), 4, "every user on SystemInfo");

    // Nothing to do the second time.
    assert_eq!(setup_nodes(&core, &plans, 50, 64).await.unwrap(), SetupReport::default());

    // The supervisor leaves team 1's supervision: its memberships there go; a changed
    // max_items is corrected.
    let mut dir = common::directory();
    let mut sup = dir.user("2001").unwrap().clone();
    sup.supervised_teams.clear();
    dir.put_user(sup);
    let plans = ContactCenter::new(common::cc_config(), dir).node_plan();
    let again = setup_nodes(&core, &plans, 60, 64).await.unwrap();
    assert_eq!(again.reconfigured, plans.len());
    assert!(again.members_removed >= 3, "{again:?}");
    assert!(!pubsub.affiliations(None, user_node).unwrap().iter().any(|(j, _)| j == jid("2001").as_str()));
}

#[tokio::test]
async fn a_user_added_while_running_gets_its_nodes() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let bench = common::Bench::start(herald_cti::sim::Simulator::new(Default::default(), now)).await;
    let mut user = UserRecord::agent("1003");
    user.team_id = Some("1".into());
    let report = bench.service.put_user(user).await.unwrap();
    assert_eq!(report.created, 4, "{report:?}");
    let pubsub = bench.core.pubsub();
    let affiliations = pubsub.affiliations(None, "/finesse/api/User/1003").unwrap();
    assert!(affiliations.contains(&(jid("2001").to_string(), Affiliation::Member)), "{affiliations:?}");
    assert_eq!(pubsub.subscription_count("/finesse/api/SystemInfo"), 5, "the new user on SystemInfo too");
    bench.stop().await;
}

#[tokio::test]
async fn invalid_login_ids_are_skipped_not_fatal() {
    let core = common::core(&[]).await;
    let plans = vec![NodePlan {
        node: "/finesse/api/User/x".into(),
        open: false,
        members: vec!["a b@c".into()],
        subscribers: vec!["a b@c".into()],
    }];
    let report = setup_nodes(&core, &plans, 50, 8).await.unwrap();
    assert_eq!((report.created, report.invalid_logins, report.members_added), (1, 2, 0));
}

/// `users` agents in teams of 20 with one supervisor each, one queue per team.
fn big_directory(users: usize) -> Directory {
    let mut dir = common::directory();
    for team in 0..users.div_ceil(20) {
        let id = format!("t{team}");
        dir.put_team(TeamRecord { id: id.clone(), name: id.clone() });
        dir.put_queue(QueueRecord { id: format!("q{team}"), name: id.clone(), teams: vec![id.clone()] });
        let mut sup = UserRecord::agent(&format!("s{team}"));
        sup.role = Role::Supervisor;
        sup.supervised_teams = vec![id.clone()];
        dir.put_user(sup);
    }
    for n in 0..users {
        let mut agent = UserRecord::agent(&format!("a{n}"));
        agent.team_id = Some(format!("t{}", n / 20));
        agent.extension = Some(format!("{}", 100_000 + n));
        dir.put_user(agent);
    }
    dir
}

async fn measure(users: usize) -> (usize, std::time::Duration, std::time::Duration) {
    let core = common::core(&[]).await;
    let plans = ContactCenter::new(common::cc_config(), big_directory(users)).node_plan();
    let began = Instant::now();
    let report = setup_nodes(&core, &plans, 50, 256).await.unwrap();
    let first = began.elapsed();
    assert_eq!(report.created, plans.len());
    let began = Instant::now();
    assert_eq!(setup_nodes(&core, &plans, 50, 256).await.unwrap(), SetupReport::default());
    (plans.len(), first, began.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_users_are_set_up_and_rechecked() {
    let (nodes, first, second) = measure(2_000).await;
    eprintln!("2,000 users: {nodes} nodes set up in {first:?}, rechecked in {second:?}");
}

/// The figure for 15,000 users (≈75,000 nodes); run with `--ignored` (in release for the
/// number that matters).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo test -p herald-api --release --test nodes -- --ignored --nocapture"]
async fn fifteen_thousand_users() {
    let (nodes, first, second) = measure(15_000).await;
    eprintln!("15,000 users: {nodes} nodes set up in {first:?}, rechecked in {second:?}");
}

/// 15,000 users over SQLite, as `herald serve` runs: the first start, then a restart that loads
/// the nodes back and finds nothing to change. Run with `--ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo test -p herald-api --release --test nodes -- --ignored --nocapture"]
async fn fifteen_thousand_users_over_sqlite() {
    use herald_store::{AnyStore, SqliteStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.db");
    let plans = ContactCenter::new(common::cc_config(), big_directory(15_000)).node_plan();
    let start = async || {
        let store = SqliteStore::open(&path).await.unwrap();
        herald_core::Core::start(herald_core::CoreConfig::new(common::DOMAIN), AnyStore::Sqlite(store)).await.unwrap()
    };
    let core = start().await;
    let began = Instant::now();
    let report = setup_nodes(&core, &plans, 50, 256).await.unwrap();
    let first = began.elapsed();
    assert_eq!(report.created, plans.len());
    drop(core);
    let began = Instant::now();
    let core = start().await;
    let loaded = began.elapsed();
    let began = Instant::now();
    assert_eq!(setup_nodes(&core, &plans, 50, 256).await.unwrap(), SetupReport::default());
    eprintln!(
        "15,000 users over SQLite: {} nodes set up in {first:?}; restart loaded them in {loaded:?} and rechecked in {:?}",
        plans.len(),
        began.elapsed()
    );
}
