//! The presence-driven logout across nodes (finesse-domain.md §5): a node SIGKILLed under READY
//! agents; those that sign in again on a survivor (within the grace, or even before the node is
//! declared dead) are left alone, the one that does not is forced out exactly once, by the one
//! node driving the CTI side; and the CTI leader itself killed under its agents.

use std::time::{Duration, Instant};

use herald_testkit::cc::element_text;

use crate::harness::Cluster;

/// The log line of a presence-driven logout (herald-cc's `WsLog::PresenceDrivenLogout`).
const FORCED: &str = "PRESENCE DRIVEN LOGOUT: agent";

/// Every node's presence-driven logout lines for `agent`.
fn forced_lines(cluster: &Cluster, agent: &str) -> Vec<(String, String)> {
    let needle = format!("{FORCED} {agent} ");
    cluster.nodes.iter().flat_map(|(id, _)| cluster.log_lines(id, &[&needle]).into_iter().map(move |line| (id.clone(), line))).collect()
}

/// `agent`'s state and reason code as the REST API gives them on node `id`.
async fn state(cluster: &Cluster, id: &str, agent: &str) -> (String, String) {
    let reply = cluster.rest(id, "GET", &format!("/finesse/api/User/{agent}"), agent, "").await.unwrap();
    assert_eq!(reply.status, 200, "{reply:?}");
    let code = element_text(&reply.body, "ReasonCode").and_then(|r| element_text(&r, "code")).unwrap_or_default();
    (element_text(&reply.body, "state").unwrap_or_default(), code)
}

#[tokio::test]
async fn a_killed_nodes_agents_are_forced_out_once_unless_they_come_back() {
    let grace = [("HERALD_PRESENCE_LOGOUT__GRACE_SECS", "4".to_owned())];
    // `lead` drives the CTI side and survives; the desktops are on `a`, which is killed.
    let Some(mut cluster) = Cluster::up(&["lead", "a"], &grace) else { return };
    let back = cluster.ready_agent("a", "lead", "1001").await.0;
    let gone = cluster.ready_agent("a", "lead", "1002").await.0;
    let quick = cluster.ready_agent("a", "lead", "1003").await.0;
    cluster.kill("a");
    drop((back, gone, quick));
    // 1003's desktop is back on the leader's node at once, with the same resource, before
    // `a`'s lease has expired (its sessions are reaped afterwards).
    let _quick_again = cluster.agent("lead", "1003", "desk").await.unwrap();
    let lost = "agent session lost with its node";
    assert_eq!(cluster.log_lines("lead", &[lost]), Vec::<String>::new(), "1003 signed in again before a's sessions were reaped");
    // Once the leader counts 1001's desktop as lost (a's lease expired, its sessions reaped),
    // 1001 signs in again on the leader's node within the grace.
    cluster.wait_log(&["lead"], &["AGENT_PRESENCE_MONITOR: agent 1001 ", "has no available resource"], Duration::from_secs(10)).unwrap();
    let _again = cluster.agent("lead", "1001", "desk").await.unwrap();
    cluster.wait_log(&["lead"], &["AGENT_PRESENCE_MONITOR: agent 1001 available again"], Duration::from_secs(5)).unwrap();
    // 1002 does not come back: forced to NOT_READY (UCCE) with reason code 255, once.
    let (node, line) = cluster.wait_log(&["lead"], &[&format!("{FORCED} 1002 ")], Duration::from_secs(10)).unwrap();
    println!("node {node}: {line}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (state, code) = state(&cluster, "lead", "1002").await;
        if (state.as_str(), code.as_str()) == ("NOT_READY", "255") {
            break;
        }
        assert!(Instant::now() < deadline, "1002 is {state} ({code}), not forced NOT_READY (255)\n{}", cluster.tails());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(forced_lines(&cluster, "1002").len(), 1, "one forced logout of 1002 on one node\n{}", cluster.tails());
    // 1001's grace ended at the same time as 1002's: it would have been forced by now.
    assert_eq!(forced_lines(&cluster, "1001"), Vec::new(), "1001 came back within the grace");
    assert_eq!(state(&cluster, "lead", "1001").await, ("READY".to_owned(), String::new()), "1001 stays READY");
    assert_eq!(forced_lines(&cluster, "1003"), Vec::new(), "1003 came back before its node was declared dead\n{}", cluster.tails());
    assert_eq!(state(&cluster, "lead", "1003").await, ("READY".to_owned(), String::new()), "1003 stays READY");
}

#[tokio::test]
async fn after_the_leader_is_killed_the_new_one_restores_its_agents_and_forces_out_the_one_not_back() {
    let grace = [("HERALD_PRESENCE_LOGOUT__GRACE_SECS", "4".to_owned())];
    // `a` drives the CTI side (its simulator holds the agents' states) and has the desktops.
    let Some(mut cluster) = Cluster::up(&["a", "b"], &grace) else { return };
    let back = cluster.ready_agent("a", "b", "1001").await.0;
    let gone = cluster.ready_agent("a", "b", "1002").await.0;
    cluster.kill("a");
    drop((back, gone));
    // 1001's desktop is back on `b` at once, before `b` has taken over.
    let _again = cluster.agent("b", "1001", "desk").await.unwrap();
    cluster.wait_log(&["b"], &[crate::harness::LEADS], Duration::from_secs(10)).unwrap();
    // The new leader brings both agents back in their last published state (READY), as
    // Finesse's snapshot after a failover does...
    assert_eq!(state(&cluster, "b", "1001").await.0, "READY", "restored from the published state\n{}", cluster.tails());
    // ...and 1002, whose desktop never came back, is forced out once after the grace.
    cluster.wait_log(&["b"], &[&format!("{FORCED} 1002 ")], Duration::from_secs(15)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while state(&cluster, "b", "1002").await != ("NOT_READY".to_owned(), "255".to_owned()) {
        assert!(Instant::now() < deadline, "1002 forced NOT_READY (255)\n{}", cluster.tails());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(forced_lines(&cluster, "1002").len(), 1, "one forced logout of 1002 on one node\n{}", cluster.tails());
    assert_eq!(forced_lines(&cluster, "1001"), Vec::new(), "1001 came back: no forced logout\n{}", cluster.tails());
    assert_eq!(state(&cluster, "b", "1001").await.0, "READY", "1001 stays READY");
}

#[tokio::test]
async fn a_cleanly_stopped_nodes_agents_are_forced_out_unless_they_come_back() {
    let grace = [("HERALD_PRESENCE_LOGOUT__GRACE_SECS", "4".to_owned())];
    // `lead` drives the CTI side; `a`, with two desktops, is stopped as an operator would.
    let Some(mut cluster) = Cluster::up(&["lead", "a"], &grace) else { return };
    let back = cluster.ready_agent("a", "lead", "1001").await.0;
    let gone = cluster.ready_agent("a", "lead", "1002").await.0;
    cluster.terminate("a");
    drop((back, gone));
    let _again = cluster.agent("lead", "1001", "desk").await.unwrap();
    // 1002's session ended with the node: its unavailable presence reached the leader before
    // `a` left, so the grace runs and it is forced out once.
    cluster.wait_log(&["lead"], &[&format!("{FORCED} 1002 ")], Duration::from_secs(15)).unwrap();
    assert_eq!(forced_lines(&cluster, "1002").len(), 1, "one forced logout of 1002\n{}", cluster.tails());
    assert_eq!(forced_lines(&cluster, "1001"), Vec::new(), "1001 came back within the grace\n{}", cluster.tails());
    assert_eq!(state(&cluster, "lead", "1001").await.0, "READY");
}
