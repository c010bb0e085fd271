//! A node SIGKILLed under its desktops: they come back on the survivors and catch up with what
//! was published while they were away (XEP-0059 `after` the last item seen), then follow
//! new changes live. A node that stalls for longer than its lease: when it comes back it reloads
//! the pubsub state and asks its desktops to reconnect, so that nothing published meanwhile is
//! missed by them or by its own view.

use std::time::{Duration, Instant};

use herald_testkit::RawClient;
use herald_testkit::cc::Received;

use crate::harness::{Cluster, EXTRA_AGENTS, Event, events};

/// The sample's agents and the extra ones: twenty.
fn agents() -> Vec<String> {
    (1001..=1010).chain(EXTRA_AGENTS).map(|n| n.to_string()).collect()
}

fn user_node(agent: &str) -> String {
    format!("/finesse/api/User/{agent}")
}

/// The items of `node` published after item `after`, as `client` fetches them (XEP-0059).
async fn items_after(client: &mut RawClient, node: &str, after: &str, id: &str) -> anyhow::Result<Vec<Event>> {
    client
        .send(&format!(
            "<iq type='get' id='{id}' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{node}'/>\
             <set xmlns='http://jabber.org/protocol/rsm'><after>{after}</after></set></pubsub></iq>"
        ))
        .await?;
    client.read_until(&format!("id='{id}'")).await?;
    let answer = client.read_until("</iq>").await?;
    Ok(events(&answer, node))
}

#[tokio::test]
async fn desktops_of_a_killed_node_catch_up_on_the_survivors() {
    // `b` drives the CTI side; the desktops are on `a`, which is killed.
    let Some(mut cluster) = Cluster::up(&["b", "a", "c"], &[]) else { return };
    let agents = agents();
    let mut last_seen = Vec::new();
    let mut away = Vec::new();
    for agent in &agents {
        let (desk, got) = cluster.ready_agent("a", "b", agent).await;
        let last = events(&got.text, &user_node(agent)).pop().unwrap_or_else(|| panic!("{agent}: no event in {}", got.text));
        assert_eq!(last.state, "READY", "{agent}'s last event");
        last_seen.push(last);
        away.push(desk);
    }
    // The desktops stay connected until the crash, so that they are lost with `a`.
    cluster.kill("a");
    drop(away);
    // While they are away: three changes each through REST on `b`.
    let changes = [
        ("<state>NOT_READY</state><reasonCodeId>1</reasonCodeId>", "NOT_READY"),
        ("<state>READY</state>", "READY"),
        ("<state>NOT_READY</state><reasonCodeId>2</reasonCodeId>", "NOT_READY"),
    ];
    let expected: Vec<&str> = changes.iter().map(|(_, state)| *state).collect();
    for agent in &agents {
        for (fields, _) in &changes {
            cluster.set_state("b", agent, fields).await.unwrap();
        }
    }
    // Back on `b` or `c`: exactly the changes published after the last item seen, in order.
    let mut desks = Vec::new();
    for (n, (agent, last)) in agents.iter().zip(&last_seen).enumerate() {
        let on = if n % 2 == 0 { "b" } else { "c" };
        let mut desk = cluster.agent(on, agent, "desk").await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let missed = loop {
            let missed = items_after(&mut desk, &last.node, &last.item, &format!("catch-up-{n}")).await.unwrap();
            if missed.len() >= expected.len() || Instant::now() > deadline {
                break missed;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let states: Vec<&str> = missed.iter().map(|e| e.state.as_str()).collect();
        assert_eq!(states, expected, "{agent} catches up on {on} after item {}: {missed:#?}\n{}", last.item, cluster.tails());
        let mut ids: Vec<&str> = missed.iter().map(|e| e.item.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), expected.len(), "{agent}: distinct items {missed:#?}");
        assert!(!ids.contains(&last.item.as_str()), "{agent}: the last item seen is not sent again");
        desks.push((agent, desk));
    }
    // And new changes arrive live on the new node.
    for (agent, desk) in &mut desks {
        cluster.set_state("c", agent, "<state>READY</state>").await.unwrap();
        let node = user_node(agent);
        let mut got = Received::default();
        let seen = desk
            .wait_update(&mut got, |u| u.node == node && herald_testkit::cc::element_text(&u.data, "state").as_deref() == Some("READY"))
            .await;
        if let Err(err) = seen {
            panic!("{agent}: a live change after the catch-up: {err:#}\n{}", cluster.tails());
        }
    }
}

#[tokio::test]
async fn a_node_back_from_a_stall_reloads_its_view_and_asks_its_desktops_to_reconnect() {
    // `b` drives the CTI side; the desktop is on `a`, which stalls for two leases.
    let Some(cluster) = Cluster::up(&["b", "a"], &[]) else { return };
    let agent = "1001";
    let node = user_node(agent);
    let (mut desk, got) = cluster.ready_agent("a", "b", agent).await;
    let last = events(&got.text, &node).pop().unwrap_or_else(|| panic!("no event in {}", got.text));
    cluster.node("a").pause().unwrap();
    let resume_at = Instant::now() + Duration::from_secs(5);
    // While `a` is stopped (its key expires after the lease, 2 s, and `b` reaps it): a change
    // through `b`, made once `b` no longer counts `a` among the nodes it sends to.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let changed = cluster.set_state("b", agent, "<state>NOT_READY</state><reasonCodeId>1</reasonCodeId>").await;
    tokio::time::sleep(resume_at.saturating_duration_since(Instant::now())).await;
    cluster.node("a").resume().unwrap();
    changed.unwrap_or_else(|err| panic!("the change while `a` is stalled: {err:#}"));
    // Back: `a` asks its desktop to reconnect.
    let closed = desk.read_until("system-shutdown").await;
    assert!(closed.is_ok(), "the desktop on `a` is asked to reconnect: {closed:?}\n{}", cluster.tails());
    drop(desk);
    // Logged in again on `a` itself: `a`'s view has the change made while it was out.
    let mut desk = cluster.agent("a", agent, "desk").await.unwrap();
    let missed = items_after(&mut desk, &node, &last.item, "catch-up").await.unwrap();
    let states: Vec<&str> = missed.iter().map(|e| e.state.as_str()).collect();
    assert_eq!(states, ["NOT_READY"], "{agent} catches up on `a` after item {}: {missed:#?}\n{}", last.item, cluster.tails());
}
