//! The diagnosis end to end on synthetic evidence built from the real line shapes: each verdict
//! class, the user and since filters, mixed cases, the ordering, garbage.

mod common;

use common::{T, evidence, kinds, line, record};
use herald_doctor::{Disconnect, Query, ServiceState, VerdictKind, diagnose};
use proptest::prelude::*;

/// Agent 1001's desktop went silent at T-60 s; closed at T; logged out at T+60 s.
fn idle_story() -> (Vec<Disconnect>, Vec<String>) {
    let records = vec![record("1001", T - 600_000, T, "inactivity", T - 60_000)];
    let lines = vec![
        line(
            T,
            "notification",
            "Closing idle session (id=5448): 1001@localhost/desktop after inactivity for more than threshold value of 60",
        ),
        line(T + 8, "notification", "A session is closed for 1001@localhost/desktop"),
        line(
            T + 9,
            "notification",
            "session record: closed transport=\"bosh\" id=\"5448\" jid=\"1001@localhost/desktop\" cause=\"inactivity\" last_activity_ms_ago=60009",
        ),
        line(
            T + 2,
            "webservices",
            "AGENT_PRESENCE_MONITOR: agent 1001 (RESERVED) has no available resource since x; presence-driven logout at y unless it comes back",
        ),
        line(
            T + 60_004,
            "webservices",
            "PRESENCE DRIVEN LOGOUT: agent 1001 (NOT_READY) unavailable since x, grace ended at y: forcing NOT_READY with reason code 255",
        ),
        line(
            T + 60_005,
            "webservices",
            "MESSAGE_TO_CTI_SERVER: SetAgentState agentid: 1001, agentext: 1001, agentstate: NOT_READY, reason code: 255",
        ),
    ];
    (records, lines)
}

#[test]
fn one_agent_idle_is_client_side_with_its_logout() {
    let (records, lines) = idle_story();
    let d = diagnose(&evidence(records, lines), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::ClientSide, "1001".to_owned())]);
    let v = &d.verdicts[0];
    assert!(v.summary.contains("requests stopped at 2026-12-01 18:58:31.000Z (last request)"), "{}", v.summary);
    assert!(v.summary.contains("closed by inactivity at 2026-12-01 18:59:31.000Z (60.0 s later)"), "{}", v.summary);
    assert!(v.summary.contains("others unaffected; the agent's side: network, sleeping PC, closed or hung browser"), "{}", v.summary);
    assert!(v.summary.contains("a presence-driven logout followed at 2026-12-01 19:00:31.004Z"), "{}", v.summary);
    assert_eq!(v.evidence.len(), 6, "{:?}", v.evidence);
    assert!(v.evidence[0].starts_with("close record: 1001@localhost/desktop bosh"));
    let text = d.to_text();
    assert!(text.starts_with("CLIENT-SIDE  1001: requests stopped"), "{text}");
    assert!(text.contains("\n    2026-12-01T19:00:31.004Z  INFO webservices: PRESENCE DRIVEN LOGOUT"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&d.to_json()).unwrap();
    assert_eq!(json["verdicts"][0]["kind"], "client-side");
}

#[test]
fn from_the_lines_alone_and_with_a_cancelled_logout() {
    let lines = vec![
        line(
            T,
            "notification",
            "Closing idle session (id=5448): 1002@localhost/desktop after inactivity for more than threshold value of 60",
        ),
        line(
            T + 80,
            "webservices",
            "AGENT_PRESENCE_MONITOR: agent 1002 available again (1002@localhost/ws) at x; presence-driven logout timer cancelled (it would have fired at y)",
        ),
    ];
    let d = diagnose(&evidence(vec![], lines), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::ClientSide, "1002".to_owned())]);
    let s = &d.verdicts[0].summary;
    assert!(s.contains("closed by inactivity at 2026-12-01 18:59:31.000Z"), "{s}");
    assert!(s.contains("the desktop came back at 2026-12-01 18:59:31.080Z (presence-driven logout cancelled)"), "{s}");
}

#[test]
fn a_presence_logout_without_its_close_is_still_named() {
    let lines = vec![line(
        T,
        "webservices",
        "PRESENCE DRIVEN LOGOUT: agent 1003 (READY) unavailable since x, grace ended at y: forcing LOGOUT with reason code 255",
    )];
    let d = diagnose(&evidence(vec![], lines), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::ClientSide, "1003".to_owned())]);
    assert!(d.verdicts[0].summary.contains("presence-driven logout at 2026-12-01 18:59:31.000Z"));
}

#[test]
fn other_closes_nearby_are_counted_not_hidden() {
    let records = vec![
        record("1001", T - 600_000, T, "inactivity", T - 60_000),
        record("1002", T - 600_000, T + 30_000, "client-terminate", T + 30_000),
    ];
    let d = diagnose(&evidence(records, vec![]), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::ClientSide, "1001".to_owned()), (VerdictKind::ClientSide, "1002".to_owned())]);
    assert!(d.verdicts[0].summary.contains("1 other session(s) closed within 60 s"));
    assert!(d.verdicts[1].summary.contains("the client ended its session"));
}

#[test]
fn a_stop_closes_everyone_server_side() {
    let mut records: Vec<_> =
        ["1001", "1002", "1003", "1004"].iter().map(|u| record(u, T - 600_000, T + 120, "server-shutdown", T - 5_000)).collect();
    records.push(record("1005", T - 600_000, T - 900_000, "inactivity", T - 960_000));
    let lines = vec![
        line(T, "notification", "shutting down: closing every client stream"),
        line(T + 150, "notification", "HTTP bind service stopped addr=0.0.0.0:7443"),
        line(T + 200, "notification", "Herald notification service stopped"),
    ];
    let d = diagnose(&evidence(records, lines), &Query { user: None, since_ms: T - 60_000 });
    assert_eq!(kinds(&d), vec![(VerdictKind::ServerSide, "everyone".to_owned())]);
    let v = &d.verdicts[0];
    assert!(v.summary.contains("the server was stopped at 2026-12-01 18:59:31.000Z: 4 session(s) closed with it"), "{}", v.summary);
    assert!(v.summary.contains("no start line since"), "{}", v.summary);
    assert_eq!(v.evidence.len(), 7);
}

#[test]
fn a_restart_is_said() {
    let lines = vec![
        line(T, "notification", "Herald notification service stopped"),
        line(T + 5_000, "notification", "Herald notification service started domain=localhost"),
    ];
    let d = diagnose(&evidence(vec![], lines), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::ServerSide, "everyone".to_owned())]);
    assert!(d.verdicts[0].summary.contains("started again at 2026-12-01 18:59:36.000Z"));
}

#[test]
fn many_closes_at_once_are_server_side_few_are_not() {
    let open_long = |u: &str| record(u, T - 600_000, T + 3_000_000, "client-terminate", T + 3_000_000);
    let mut records = vec![
        record("1001", T - 600_000, T, "connection-lost", T - 1_000),
        record("1002", T - 600_000, T + 1_000, "connection-lost", T - 1_000),
        record("1003", T - 600_000, T + 2_500, "internal-server-error", T - 1_000),
    ];
    records.push(open_long("1004"));
    let d = diagnose(&evidence(records.clone(), vec![]), &Query { user: None, since_ms: T - 1 });
    assert_eq!(d.verdicts[0].kind, VerdictKind::ServerSide);
    assert!(d.verdicts[0].summary.starts_with("3 sessions (1001, 1002, 1003) closed within 2.5 s"), "{}", d.verdicts[0].summary);
    // Explained by the cluster: no verdict of their own (1004 signed out later, its own doing).
    assert_eq!(kinds(&d)[1..], [(VerdictKind::ClientSide, "1004".to_owned())]);

    // Asked about one of them, the cluster is told; about someone else, it is not.
    let d = diagnose(&evidence(records.clone(), vec![]), &Query { user: Some("1002".into()), since_ms: T - 1 });
    assert_eq!(kinds(&d), vec![(VerdictKind::ServerSide, "everyone".to_owned())]);
    let d = diagnose(&evidence(records.clone(), vec![]), &Query { user: Some("1004".into()), since_ms: T - 1 });
    assert_eq!(kinds(&d), vec![(VerdictKind::ClientSide, "1004".to_owned())]);

    // Their presence-driven logouts a minute later belong to that verdict, not to three more.
    let logouts = ["1001", "1002", "1003"]
        .iter()
        .map(|a| {
            line(
                T + 61_000,
                "webservices",
                &format!(
                    "PRESENCE DRIVEN LOGOUT: agent {a} (READY) unavailable since x, grace ended at y: forcing LOGOUT with reason code 255"
                ),
            )
        })
        .collect();
    let d = diagnose(&evidence(records.clone(), logouts), &Query { user: None, since_ms: T - 1 });
    assert_eq!(kinds(&d).len(), 2, "{:?}", kinds(&d));

    // The same three among ten open sessions: less than half, so each is its own client's.
    for u in ["1005", "1006", "1007", "1008", "1009", "1010"] {
        records.push(open_long(u));
    }
    let d = diagnose(&evidence(records, vec![]), &Query { user: None, since_ms: T - 1 });
    assert!(d.verdicts.iter().take(3).all(|v| v.kind == VerdictKind::ClientSide), "{:?}", kinds(&d));
}

#[test]
fn a_lone_shutdown_close_is_server_side() {
    let d = diagnose(&evidence(vec![record("1001", T - 60_000, T, "server-shutdown", T - 1_000)], vec![]), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::ServerSide, "everyone".to_owned())]);
    assert!(d.verdicts[0].summary.contains("the server closed them (shutdown)"));
}

#[test]
fn server_not_running_and_services_down_come_first() {
    let (records, lines) = idle_story();
    let mut e = evidence(records.clone(), lines.clone());
    e.server_running = false;
    e.services.clear();
    let d = diagnose(&e, &Query::default());
    assert_eq!(d.verdicts[0].kind, VerdictKind::ServiceDown);
    assert_eq!(d.verdicts[0].subject, "herald");
    assert!(d.verdicts[0].summary.contains("not running"));
    assert_eq!(d.verdicts[1].kind, VerdictKind::ClientSide);

    let mut e = evidence(records, lines);
    e.services = vec![
        ServiceState { name: "HTTP bind".into(), up: false, listening: None },
        ServiceState { name: "REST API".into(), up: true, listening: None },
        ServiceState { name: "CTI link".into(), up: false, listening: None },
    ];
    let d = diagnose(&e, &Query::default());
    assert_eq!(
        kinds(&d),
        vec![
            (VerdictKind::ServiceDown, "HTTP bind".to_owned()),
            (VerdictKind::ServiceDown, "REST API".to_owned()),
            (VerdictKind::CtiLink, "CTI link".to_owned()),
            (VerdictKind::ClientSide, "1001".to_owned()),
        ]
    );
    assert!(d.verdicts[0].summary.contains("is down"));
    assert!(d.verdicts[1].summary.contains("does not listen on its port"));
    assert!(d.verdicts[2].summary.contains("still down"));
}

fn cti_lines() -> Vec<String> {
    vec![
        line(
            T - 10_000,
            "webservices",
            "CTI_LINK: link to the CTI server lost (3 heartbeats missed), last heard at x; OUT_OF_SERVICE at y",
        ),
        line(
            T + 7_000,
            "webservices",
            "CTI_LINK: link to the CTI server restored at x after 17.0 s down; republished 11 agents and 0 calls; IN_SERVICE",
        ),
        line(T + 9_000, "webservices", "CTI_LINK: link to the CTI server lost (connection lost), last heard at x; OUT_OF_SERVICE at y"),
    ]
}

#[test]
fn cti_outages_say_when_they_ended() {
    let d = diagnose(&evidence(vec![], cti_lines()), &Query::default());
    assert_eq!(d.verdicts.len(), 2);
    assert!(d.verdicts.iter().all(|v| v.kind == VerdictKind::CtiLink));
    assert!(d.verdicts[0].summary.contains("lost at 2026-12-01 18:59:21.000Z (3 heartbeats missed)"), "{}", d.verdicts[0].summary);
    assert!(d.verdicts[0].summary.contains("restored at 2026-12-01 18:59:38.000Z after 17.0 s"), "{}", d.verdicts[0].summary);
    assert!(d.verdicts[1].summary.contains("(connection lost)"));
    assert!(d.verdicts[1].summary.contains("still down"));
    // The first outage ended before the window: only the second is named.
    let d = diagnose(&evidence(vec![], cti_lines()), &Query { user: None, since_ms: T + 8_000 });
    assert_eq!(d.verdicts.len(), 1);
    assert!(d.verdicts[0].summary.contains("still down"));
}

#[test]
fn an_idle_close_during_a_cti_outage_is_still_client_side() {
    let (records, mut lines) = idle_story();
    lines.extend(cti_lines());
    let d = diagnose(&evidence(records, lines), &Query::default());
    assert_eq!(
        kinds(&d),
        vec![
            (VerdictKind::CtiLink, "CTI link".to_owned()),
            (VerdictKind::CtiLink, "CTI link".to_owned()),
            (VerdictKind::ClientSide, "1001".to_owned())
        ]
    );
    assert!(d.verdicts[2].summary.contains("during the CTI link outage from 2026-12-01 18:59:21.000Z"), "{}", d.verdicts[2].summary);
}

#[test]
fn bad_input_names_the_client() {
    let mut r = record("1001", T - 60_000, T, "not-well-formed", T);
    r.source = "10.0.0.7".into();
    let lines = vec![
        line(
            T + 1,
            "notification",
            "stream closed with an error: invalid character U+0001 in XML peer=\"10.0.0.7:50123\" condition=\"not-well-formed\"",
        ),
        line(T + 5_000, "notification", "stream closed with an error: DTD refused peer=\"10.0.0.9:41000\" condition=\"restricted-xml\""),
        line(T + 6_000, "notification", "stream closed with an error: replaced peer=\"10.0.0.9:41001\" condition=\"conflict\""),
    ];
    let d = diagnose(&evidence(vec![r], lines.clone()), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::BadInput, "1001".to_owned()), (VerdictKind::BadInput, "10.0.0.9:41000".to_owned())]);
    let s = &d.verdicts[0].summary;
    assert!(s.contains("1001@localhost/desktop from 10.0.0.7 sent bad input at 2026-12-01 18:59:31.000Z: not-well-formed"), "{s}");
    assert!(s.contains("invalid character U+0001 in XML; peer 10.0.0.7:50123"), "{s}");
    assert_eq!(d.verdicts[0].evidence.len(), 2);
    assert!(d.verdicts[1].summary.contains("restricted-xml (DTD refused)"));
    // A user filter keeps the client it can name and drops the anonymous peer.
    let d = diagnose(&evidence(vec![], lines), &Query { user: Some("1001".into()), since_ms: 0 });
    assert_eq!(kinds(&d), vec![(VerdictKind::Healthy, "1001".to_owned())]);
}

#[test]
fn queue_drops_and_overactivity_are_overload() {
    let mut r = record("1002", T - 60_000, T + 20_000, "client-terminate", T + 20_000);
    r.dropped = 40;
    let lines = vec![
        line(
            T,
            "notification",
            "session queue full; stanzas dropped (one line per session per 10 s at most) to=1002@localhost/desktop dropped=17",
        ),
        line(
            T + 10_000,
            "notification",
            "session queue full; stanzas dropped (one line per session per 10 s at most) to=1002@localhost/desktop dropped=3",
        ),
    ];
    let over = record("1003", T - 60_000, T + 30_000, "overactivity", T + 30_000);
    let d = diagnose(&evidence(vec![r, over], lines), &Query::default());
    let ks = kinds(&d);
    assert!(ks.contains(&(VerdictKind::Overload, "1002".to_owned())), "{ks:?}");
    assert!(ks.contains(&(VerdictKind::Overload, "1003".to_owned())), "{ks:?}");
    let drops = d.verdicts.iter().find(|v| v.kind == VerdictKind::Overload && v.subject == "1002").unwrap();
    assert!(
        drops.summary.starts_with("40 stanza(s) dropped for 1002@localhost/desktop from 2026-12-01 18:59:31.000Z"),
        "{}",
        drops.summary
    );
    assert_eq!(drops.evidence.len(), 3);
    let over = d.verdicts.iter().find(|v| v.subject == "1003").unwrap();
    assert!(over.summary.contains("overactivity"));
}

#[test]
fn a_kick_is_named() {
    let lines = vec![line(T, "notification", "session kicked by an administrator jid=1004@localhost/desktop")];
    let d = diagnose(&evidence(vec![record("1004", T - 60_000, T + 3, "kicked", T - 500)], lines), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::Kicked, "1004".to_owned())]);
    assert_eq!(d.verdicts[0].evidence.len(), 2);
}

#[test]
fn the_user_and_since_filters() {
    let (mut records, mut lines) = idle_story();
    records.push(record("1002", T - 600_000, T + 200_000, "inactivity", T + 140_000));
    records.push(record("1001", T - 7_200_000, T - 3_600_000, "connection-lost", T - 3_600_000));
    lines.extend(cti_lines());
    let only = Query { user: Some("1002".into()), since_ms: 0 };
    let d = diagnose(&evidence(records.clone(), lines.clone()), &only);
    // The outages concern everyone, 1002 included; 1001's closes are left out.
    assert_eq!(
        kinds(&d),
        vec![
            (VerdictKind::CtiLink, "CTI link".to_owned()),
            (VerdictKind::CtiLink, "CTI link".to_owned()),
            (VerdictKind::ClientSide, "1002".to_owned())
        ]
    );
    let d = diagnose(&evidence(records.clone(), vec![]), &Query { user: Some("1001".into()), since_ms: 0 });
    assert_eq!(d.verdicts.len(), 2);
    let d = diagnose(&evidence(records.clone(), vec![]), &Query { user: Some("1001".into()), since_ms: T - 60_000 });
    assert_eq!(kinds(&d), vec![(VerdictKind::ClientSide, "1001".to_owned())]);
    let d = diagnose(&evidence(records, vec![]), &Query { user: Some("1001".into()), since_ms: T + 1 });
    assert_eq!(kinds(&d), vec![(VerdictKind::Healthy, "1001".to_owned())]);
    assert!(d.verdicts[0].summary.contains("since 2026-12-01 18:59:31.001Z"));
}

#[test]
fn nothing_found_says_what_was_looked_at() {
    let lines = vec![line(T, "notification", "HTTP bind service started addr=0.0.0.0:7443"), "garbage".to_owned()];
    let d = diagnose(&evidence(vec![], lines), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::Healthy, "everyone".to_owned())]);
    assert_eq!(
        d.verdicts[0].summary,
        "no disconnect, outage or error found: looked at 0 close records, 2 log lines (1 recognised), 3 of 3 services up"
    );
    assert!(d.to_text().starts_with("HEALTHY  everyone: no disconnect"));
}

#[test]
fn seed_web_services_and_json_shapes_give_the_same_verdict() {
    let seed = vec![
        "2026.12.01 18:59:31 Closing idle session (id=f382a015): 1001@localhost/desktop".to_owned(),
        "after inactivity for more than threshold value of 60".to_owned(),
        "0000001060: 10.0.0.1:: Dec 02 2026 00:30:31.632 +0530: %CCBU_CoreImpl-worker12-6-PRESENCE DRIVEN LOGOUT: agent 1001 (NOT_READY) unavailable".to_owned(),
    ];
    let json = vec![
        r#"{"timestamp":"2026-12-01T18:59:31Z","level":"INFO","target":"notification","fields":{"message":"session record: closed","transport":"bosh","id":"f3","jid":"1001@localhost/desktop","cause":"inactivity","last_activity_ms_ago":60000}}"#.to_owned(),
        r#"{"timestamp":"2026-12-01T19:00:31.632Z","level":"INFO","target":"webservices","fields":{"message":"PRESENCE DRIVEN LOGOUT: agent 1001 (NOT_READY) unavailable"}}"#.to_owned(),
    ];
    for lines in [seed, json] {
        let d = diagnose(&evidence(vec![], lines), &Query::default());
        assert_eq!(kinds(&d), vec![(VerdictKind::ClientSide, "1001".to_owned())]);
        assert!(d.verdicts[0].summary.contains("closed by inactivity at 2026-12-01 18:59:31.000Z"), "{}", d.verdicts[0].summary);
        assert!(
            d.verdicts[0].summary.contains("a presence-driven logout followed at 2026-12-01 19:00:31.632Z"),
            "{}",
            d.verdicts[0].summary
        );
    }
}

#[test]
fn extreme_times_do_not_overflow() {
    let records = vec![
        record("1001", 0, u64::MAX, "server-shutdown", u64::MAX),
        record("1002", u64::MAX, u64::MAX - 1, "inactivity", u64::MAX),
        record("1003", 0, 0, "connection-lost", 0),
    ];
    let lines = vec![
        "9999-12-31T23:59:59.999Z INFO notification: shutting down: closing every client stream".to_owned(),
        "9999-12-31T23:59:59.999Z INFO webservices: PRESENCE DRIVEN LOGOUT: agent 1002 (READY) unavailable since x: forcing LOGOUT"
            .to_owned(),
        "1970-01-01T00:00:00Z INFO webservices: CTI_LINK: link to the CTI server lost (connection lost)".to_owned(),
    ];
    let mut e = evidence(records, lines);
    e.now_ms = 0;
    for since in [0, u64::MAX] {
        let d = diagnose(&e, &Query { user: None, since_ms: since });
        assert!(!d.verdicts.is_empty());
        assert!(!d.to_text().is_empty());
    }
}

proptest! {
    #[test]
    fn garbage_evidence_never_panics(
        lines in proptest::collection::vec("\\PC*", 0..20),
        causes in proptest::collection::vec("[a-z-]{0,20}", 0..6),
        times in proptest::collection::vec(any::<u64>(), 0..6),
        since in any::<u64>(),
    ) {
        let records = causes.iter().zip(&times).map(|(c, t)| record("x", t / 2, *t, c, t / 3)).collect();
        let d = diagnose(&evidence(records, lines), &Query { user: None, since_ms: since });
        prop_assert!(!d.verdicts.is_empty());
        let _ = (d.to_text(), d.to_json());
    }
}

#[test]
fn a_held_logout_and_an_agent_already_signed_out() {
    let lines = vec![
        line(T, "notification", "Closing idle session (id=1): 1001@localhost/desktop after inactivity for more than threshold value of 60"),
        line(T + 60_000, "webservices", "PRESENCE DRIVEN LOGOUT: agent 1001 held at 2026-12-01T19:00:31.000Z: CTI link down"),
        line(
            T + 90_000,
            "webservices",
            "PRESENCE DRIVEN LOGOUT: agent 1001 (READY) unavailable since x, grace ended at y: forcing LOGOUT with reason code 255",
        ),
        line(
            T + 1_000,
            "notification",
            "Closing idle session (id=2): 1002@localhost/desktop after inactivity for more than threshold value of 60",
        ),
        line(
            T + 61_000,
            "webservices",
            "PRESENCE DRIVEN LOGOUT: agent 1002 already logged out at 2026-12-01T19:00:32.000Z; no request sent",
        ),
    ];
    let d = diagnose(&evidence(vec![], lines), &Query::default());
    assert_eq!(kinds(&d), vec![(VerdictKind::ClientSide, "1001".to_owned()), (VerdictKind::ClientSide, "1002".to_owned())]);
    let s = &d.verdicts[0].summary;
    assert!(s.contains("the presence-driven logout was held at 2026-12-01 19:00:31.000Z (CTI link down)"), "{s}");
    assert!(s.contains("a presence-driven logout followed at 2026-12-01 19:01:01.000Z (forcing LOGOUT, reason code 255)"), "{s}");
    assert_eq!(d.verdicts[0].evidence.len(), 3);
    assert!(d.verdicts[1].summary.contains("the agent had already signed out"), "{}", d.verdicts[1].summary);
}
