//! A cluster node lost with its sessions: the lines the node driving the CTI side and the
//! survivor that reaped it write, read back as server-side verdicts — per agent when asked about
//! one, per node for everyone — ranked above the client-side causes.

mod common;

use common::{T, evidence, kinds, line, record, stamp};
use herald_doctor::{Query, VerdictKind, diagnose};

/// A web-services line as the Finesse-shaped log writes it (`Dec 01 2026 18:59:31.000 +0000:`).
fn webservices(ms: u64, msg: &str) -> String {
    let rfc = stamp(ms);
    let clock = rfc.get(11..23).unwrap();
    format!("Dec 01 2026 {clock} +0000: WARN webservices: {msg}")
}

/// `user`'s session `resource` lost with node `herald-b` at `ms`.
fn lost(ms: u64, user: &str) -> String {
    webservices(ms, &format!("agent session lost with its node: user={user} resource=desk-1 node=herald-b"))
}

/// The survivor's summary line for `herald-b`.
fn node_lost(ms: u64, sessions: u32) -> String {
    line(
        ms,
        "notification",
        &format!("node lost: its lease expired; its sessions count as disconnected node=\"herald-b\" sessions={sessions}"),
    )
    .replace(" INFO ", " WARN ")
}

fn came_back(ms: u64, user: &str) -> String {
    line(
        ms,
        "webservices",
        &format!(
            "AGENT_PRESENCE_MONITOR: agent {user} available again ({user}@localhost/desk-1) at x; presence-driven logout timer cancelled (it would have fired at y)"
        ),
    )
}

fn grace(ms: u64, user: &str) -> String {
    line(
        ms,
        "webservices",
        &format!(
            "AGENT_PRESENCE_MONITOR: agent {user} (READY) has no available resource since x; presence-driven logout at y unless it comes back"
        ),
    )
}

fn forced(ms: u64, user: &str) -> String {
    line(
        ms,
        "webservices",
        &format!("PRESENCE DRIVEN LOGOUT: agent {user} (READY) unavailable since x, grace ended at y: forcing LOGOUT with reason code 255"),
    )
}

fn for_user(user: &str) -> Query {
    Query { user: Some(user.into()), since_ms: 0 }
}

/// Node `herald-b` died at T holding 1001 (back on another node within the grace), 1002 (not
/// back: signed out) and 1003 (nothing followed yet).
fn three_lost() -> Vec<String> {
    vec![
        node_lost(T, 12),
        lost(T + 3, "1001"),
        lost(T + 4, "1002"),
        lost(T + 5, "1003"),
        grace(T + 6, "1001"),
        grace(T + 7, "1002"),
        came_back(T + 4_000, "1001"),
        forced(T + 60_007, "1002"),
    ]
}

#[test]
fn an_agent_lost_with_its_node_is_server_side_with_what_followed() {
    let d = diagnose(&evidence(vec![], three_lost()), &for_user("1001"));
    assert_eq!(kinds(&d), vec![(VerdictKind::ServerSide, "1001".to_owned())]);
    let v = &d.verdicts[0];
    assert!(
        v.summary.starts_with(
            "the Herald node herald-b holding the agent's session (desk-1) stopped (its cluster lease expired; lost at 2026-12-01 18:59:31.003Z); the desktop had to reconnect to another node"
        ),
        "{}",
        v.summary
    );
    assert!(v.summary.ends_with("; the desktop came back at 2026-12-01 18:59:35.000Z (presence-driven logout cancelled)"), "{}", v.summary);
    assert!(v.evidence[0].contains("agent session lost with its node: user=1001"), "{:?}", v.evidence);
    assert!(v.evidence[1].contains("node lost: its lease expired"), "{:?}", v.evidence);
    assert_eq!(v.evidence.len(), 4, "the lost line, the summary, the grace, the return: {:?}", v.evidence);
    assert!(d.to_text().starts_with("SERVER-SIDE  1001: the Herald node herald-b"), "{}", d.to_text());

    let d = diagnose(&evidence(vec![], three_lost()), &for_user("1002"));
    assert_eq!(kinds(&d), vec![(VerdictKind::ServerSide, "1002".to_owned())], "the forced logout is this verdict's, not one of its own");
    assert!(
        d.verdicts[0].summary.contains("a presence-driven logout followed at 2026-12-01 19:00:31.007Z (forcing LOGOUT"),
        "{:?}",
        d.verdicts[0]
    );
}

#[test]
fn the_node_loss_ranks_above_the_agents_client_side_disconnects() {
    let mut lines = three_lost();
    lines.push(line(
        T - 3_600_000,
        "notification",
        "Closing idle session (id=7): 1001@localhost/desk-1 after inactivity for more than threshold value of 60",
    ));
    // The node hung rather than died: an hour-old session of 1001 it held is closed (inactivity)
    // a minute after the cluster counted it lost — the same disconnect.
    let on_desk = |mut r: herald_doctor::Disconnect| {
        r.jid = "1001@localhost/desk-1".into();
        r
    };
    let records = vec![
        on_desk(record("1001", T - 3_000_000, T + 60_000, "inactivity", T - 1_000)),
        // The session 1001 opened on another node after the loss, closed later: its own story.
        on_desk(record("1001", T + 4_000, T + 90_000, "client-terminate", T + 89_000)),
    ];
    let d = diagnose(&evidence(records, lines), &for_user("1001"));
    assert_eq!(
        kinds(&d),
        vec![
            (VerdictKind::ServerSide, "1001".to_owned()),
            (VerdictKind::ClientSide, "1001".to_owned()),
            (VerdictKind::ClientSide, "1001".to_owned()),
        ],
        "{}",
        d.to_text()
    );
    let node = &d.verdicts[0];
    assert!(
        node.evidence.iter().any(|e| e.starts_with("close record: 1001@localhost/desk-1 bosh") && e.contains("cause=inactivity")),
        "{:?}",
        node.evidence
    );
    assert!(d.verdicts[1].summary.contains("closed by inactivity at 2026-12-01 17:59:31.000Z"), "{}", d.verdicts[1].summary);
    assert!(d.verdicts[2].summary.contains("the client ended its session"), "{}", d.verdicts[2].summary);
}

#[test]
fn without_a_user_one_finding_per_lost_node() {
    let d = diagnose(&evidence(vec![], three_lost()), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::ServerSide, "herald-b".to_owned())], "{}", d.to_text());
    let v = &d.verdicts[0];
    assert_eq!(
        v.summary,
        "the Herald node herald-b stopped (its cluster lease expired) at 2026-12-01 18:59:31.000Z: its 12 session(s) count as disconnected, \
         their desktops had to reconnect to another node; agents 1001, 1002, 1003; 1 came back within the grace, 1 signed out by a presence-driven logout"
    );
    assert_eq!(v.evidence.len(), 4, "the summary line, then each lost session: {:?}", v.evidence);
    assert!(v.evidence[0].contains("node lost"), "{:?}", v.evidence);
}

#[test]
fn the_summary_line_alone_or_the_agent_lines_alone_still_tell_the_loss() {
    let d = diagnose(&evidence(vec![], vec![node_lost(T, 0)]), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::ServerSide, "herald-b".to_owned())]);
    assert!(d.verdicts[0].summary.contains("its 0 session(s) count as disconnected"), "{}", d.verdicts[0].summary);

    let many: Vec<String> = (0..25).map(|i| lost(T + i, &format!("2{i:03}"))).collect();
    let d = diagnose(&evidence(vec![], many), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::ServerSide, "herald-b".to_owned())]);
    let v = &d.verdicts[0];
    assert!(v.summary.contains("its 25 session(s)") && v.summary.contains("2009 and 15 more"), "{}", v.summary);
    assert_eq!(v.evidence.len(), 21, "{:?}", v.evidence);
    assert_eq!(v.evidence[20], "… and 5 more lost session line(s)");
}

#[test]
fn other_agents_and_an_earlier_loss_are_left_out() {
    let d = diagnose(&evidence(vec![], three_lost()), &for_user("1004"));
    assert_eq!(kinds(&d), vec![(VerdictKind::Healthy, "1004".to_owned())]);
    let d = diagnose(&evidence(vec![], three_lost()), &Query { user: None, since_ms: T + 1 });
    assert_eq!(kinds(&d), vec![(VerdictKind::Healthy, "everyone".to_owned())], "{}", d.to_text());
}

#[test]
fn a_node_lost_with_fifteen_thousand_agents_is_one_finding() {
    const AGENTS: u64 = 15_000;
    let mut lines = vec![node_lost(T, 15_000)];
    lines.extend((0..AGENTS).map(|i| lost(T + i % 1_000, &format!("a{i}"))));
    lines.extend((0..AGENTS).map(|i| grace(T + 1_000 + i % 1_000, &format!("a{i}"))));
    // Two in three come back on another node; the others are signed out when the grace ends.
    lines.extend(
        (0..AGENTS).map(|i| if i % 3 == 2 { forced(T + 61_000, &format!("a{i}")) } else { came_back(T + 5_000, &format!("a{i}")) }),
    );
    let d = diagnose(&evidence(vec![], lines), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::ServerSide, "herald-b".to_owned())]);
    let v = &d.verdicts[0];
    assert!(v.summary.contains("its 15000 session(s)") && v.summary.contains("and 14990 more"), "{}", v.summary);
    assert!(v.summary.ends_with("; 10000 came back within the grace, 5000 signed out by a presence-driven logout"), "{}", v.summary);
    assert_eq!(v.evidence.len(), 22, "the summary line, 20 agent lines, the rest counted");
}

#[test]
fn a_client_asked_to_reconnect_by_a_node_back_in_the_cluster_is_a_server_side_cause() {
    let lines =
        vec![line(T, "notification", "this node was out of the cluster: its clients are asked to reconnect and catch up sessions=1")];
    let d = diagnose(&evidence(vec![record("1004", T - 60_000, T + 3, "node-rejoined", T - 500)], lines), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::ServerSide, "1004".to_owned())]);
    assert!(d.verdicts[0].summary.contains("out of the cluster"), "{:?}", d.verdicts[0]);
}

#[test]
fn many_clients_asked_to_reconnect_together_are_one_server_side_verdict_naming_why() {
    let records: Vec<_> = ["1001", "1002", "1003"].iter().map(|u| record(u, T - 60_000, T + 3, "node-rejoined", T - 500)).collect();
    let d = diagnose(&evidence(records, Vec::new()), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::ServerSide, "everyone".to_owned())]);
    assert!(d.verdicts[0].summary.contains("out of the cluster"), "{:?}", d.verdicts[0]);
}
