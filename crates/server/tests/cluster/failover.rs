//! A node SIGKILLed under its desktops: they come back on the survivors and catch up with what
//! was published while they were away (XEP-0059 `after` the last item seen), and the
//! presence-driven logout fires once, on one node, only for the agents that did not come back.

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

/// Signs `agent` in on `desk_on` over TCP, then LOGIN and READY through REST on `rest_on`;
/// returns the desktop and the last event of its User node it saw.
async fn ready_desktop(cluster: &Cluster, desk_on: &str, rest_on: &str, agent: &str) -> (RawClient, Event) {
    let mut desk = cluster.agent(desk_on, agent, "desk").await.unwrap();
    let mut got = Received::default();
    let node = user_node(agent);
    cluster.set_state(rest_on, agent, &format!("<state>LOGIN</state><extension>{agent}</extension>")).await.unwrap();
    for state in ["NOT_READY", "READY"] {
        if state == "READY" {
            cluster.set_state(rest_on, agent, "<state>READY</state>").await.unwrap();
        }
        let seen = desk
            .wait_update(&mut got, |u| u.node == node && herald_testkit::cc::element_text(&u.data, "state").as_deref() == Some(state))
            .await;
        if let Err(err) = seen {
            panic!("{agent} {state} on its desktop on {desk_on}: {err:#}\n{}", cluster.tails());
        }
    }
    let last = events(&got.text, &node).pop().unwrap_or_else(|| panic!("{agent}: no event with an item id in {}", got.text));
    assert_eq!(last.state, "READY", "{agent}'s last event");
    (desk, last)
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
        let (desk, last) = ready_desktop(&cluster, "a", "b", agent).await;
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
