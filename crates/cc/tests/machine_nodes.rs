//! The node plan: each user's nodes with the user and its team's supervisors as members, the
//! automatic subscriptions, team and queue nodes, SystemInfo; and what a new user touches.

mod machine_support;

use herald_cc::{NodePlan, Role, UserRecord};
use machine_support::*;

fn find<'a>(plans: &'a [NodePlan], node: &str) -> &'a NodePlan {
    plans.iter().find(|p| p.node == node).unwrap_or_else(|| panic!("no plan for {node}"))
}

#[test]
fn agents_and_supervisors_get_their_nodes() {
    let cc = machine();
    let plans = cc.node_plan();
    let user = find(&plans, "/finesse/api/User/1001");
    assert_eq!(
        (user.open, user.members.as_slice(), user.subscribers.as_slice()),
        (false, &["1001".to_string(), "2001".into()][..], &["1001".to_string()][..])
    );
    assert_eq!(find(&plans, "/finesse/api/User/1001/Dialogs"), &NodePlan { node: "/finesse/api/User/1001/Dialogs".into(), ..user.clone() });
    for sub in ["ClientLog", "Queues"] {
        let plan = find(&plans, &format!("/finesse/api/User/1001/{sub}"));
        assert_eq!(plan.members, user.members);
        assert!(plan.subscribers.is_empty());
    }
    // Team t2 has no supervisor: only the agent.
    assert_eq!(find(&plans, "/finesse/api/User/1003").members, ["1003"]);
    // The supervisor's own nodes do not list it twice.
    assert_eq!(find(&plans, "/finesse/api/User/2001").members, ["2001"]);
    assert_eq!(find(&plans, "/finesse/api/Team/t1/Users").members, ["2001"]);
    assert!(find(&plans, "/finesse/api/Team/t1/Users").subscribers.is_empty());
    assert!(find(&plans, "/finesse/api/Team/t2/Users").members.is_empty());
    assert_eq!(find(&plans, "/finesse/api/Queue/q1").members, ["1001", "1002", "2001"]);
    assert_eq!(find(&plans, "/finesse/api/Queue/q2").members, ["1003", "alice"]);
    let info = find(&plans, "/finesse/api/SystemInfo");
    assert!(info.open);
    assert_eq!(info.subscribers, ["1001", "1002", "1003", "2001", "alice"]);
    assert_eq!(plans.len(), 5 * 4 + 2 + 2 + 1);
}

#[test]
fn put_user_returns_the_plans_it_touches() {
    let mut cc = machine();
    let plans = cc.put_user(agent("1004", "t1", "1004"));
    let nodes: Vec<&str> = plans.iter().map(|p| p.node.as_str()).collect();
    assert_eq!(
        nodes,
        [
            "/finesse/api/User/1004",
            "/finesse/api/User/1004/Dialogs",
            "/finesse/api/User/1004/ClientLog",
            "/finesse/api/User/1004/Queues",
            "/finesse/api/Queue/q1",
            "/finesse/api/SystemInfo",
        ]
    );
    assert_eq!(find(&plans, "/finesse/api/User/1004").members, ["1004", "2001"]);
    // The same record again touches nothing.
    assert!(cc.put_user(agent("1004", "t1", "1004")).is_empty());
    // A new supervisor of t2 joins the whitelists of t2's agents and of its team node.
    let sup = UserRecord { role: Role::Supervisor, supervised_teams: vec!["t2".into()], ..agent("2002", "t2", "2002") };
    let plans = cc.put_user(sup);
    assert_eq!(find(&plans, "/finesse/api/User/1003").members, ["1003", "2002"]);
    assert_eq!(find(&plans, "/finesse/api/User/alice/Dialogs").members, ["alice", "2002"]);
    assert_eq!(find(&plans, "/finesse/api/Team/t2/Users").members, ["2002"]);
    assert!(!plans.iter().any(|p| p.node.starts_with("/finesse/api/User/1001")));
    assert!(cc.directory().user("2002").is_some());
}
