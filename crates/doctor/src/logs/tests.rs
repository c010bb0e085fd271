//! Tests of the log line reader: every line shape, every timestamp shape, JSON lines, garbage.

use super::*;
use proptest::prelude::*;

/// 2026-12-01T18:59:31.615Z.
const T: u64 = 1_796_151_571_615;

fn ev(line: &str) -> Event {
    parse_line(line).expect(line).event
}

#[test]
fn the_three_timestamp_shapes_and_their_prefixes() {
    let msg = "Closing idle session (id=f382a015): 1001@localhost/desktop after inactivity for more than threshold value of 60";
    for line in [
        format!("2026-12-01T18:59:31.615822955Z  INFO notification: {msg}"),
        format!("notification/info.log: 2026-12-01T18:59:31.615822955Z  INFO notification: {msg}"),
        format!("2026.12.01 18:59:31.615 INFO notification: {msg}"),
        format!("0000001043: 10.0.0.1: Dec 01 2026 18:59:31.615 +0000: %CCBU_Smack-6-X: {msg}"),
        format!("0000001043: 10.0.0.1:: Dec 2 2026 00:29:31.615 +0530: {msg}"),
    ] {
        let e = parse_line(&line).expect(&line);
        assert_eq!(e.at_ms, T, "{line}");
        assert_eq!(e.event, Event::IdleClose { jid: "1001@localhost/desktop".into() });
    }
    let seed = parse_line(&format!("2026.12.01 18:59:31 {msg}")).unwrap();
    assert_eq!(seed.at_ms, T - 615);
}

#[test]
fn lines_without_a_time_or_unknown_are_ignored() {
    assert_eq!(parse_line("Closing idle session (id=1): a@b/c after inactivity"), None);
    assert_eq!(parse_line("2026.12.01 18:59:31 INFO notification: session bound jid=a@b/c"), None);
    assert_eq!(parse_line(""), None);
    assert_eq!(parse_line("{\"timestamp\": 5}"), None);
    assert_eq!(parse_line("{not json"), None);
}

#[test]
fn every_line_the_doctor_reads() {
    let p = "2026-12-01T18:59:31.615Z  INFO notification: ";
    assert_eq!(
        ev(&format!(
            "{p}session record: closed transport=\"bosh\" id=\"5448\" jid=\"1001@localhost/desktop\" cause=\"inactivity\" last_activity_ms_ago=60012"
        )),
        Event::Closed {
            transport: "bosh".into(),
            jid: "1001@localhost/desktop".into(),
            cause: "inactivity".into(),
            silent_ms: Some(60_012)
        }
    );
    assert_eq!(
        parse_line(&format!("{p}session record: closed transport=\"tcp\" id=\"9\" jid=\"(not bound)\" cause=\"client-closed\"")),
        None
    );
    assert_eq!(
        ev(&format!("{p}stream closed with an error: invalid character in XML peer=\"10.0.0.7:50123\" condition=\"not-well-formed\"")),
        Event::StreamError { peer: "10.0.0.7:50123".into(), condition: "not-well-formed".into(), text: "invalid character in XML".into() }
    );
    assert_eq!(
        ev(
            "2026-12-01T18:59:31.615Z  WARN notification: session queue full; stanzas dropped (one line per session per 10 s at most) to=1002@localhost/desktop dropped=17"
        ),
        Event::QueueDrop { jid: "1002@localhost/desktop".into(), dropped: 17 }
    );
    assert_eq!(
        ev(&format!("{p}stanzas dropped for a session who=1003@localhost/x why=\"slow\" dropped=2")),
        Event::QueueDrop { jid: "1003@localhost/x".into(), dropped: 2 }
    );
    assert_eq!(
        ev(&format!("{p}session replaced by a new login with the same resource jid=1001@localhost/desktop")),
        Event::Replaced { jid: "1001@localhost/desktop".into() }
    );
    assert_eq!(
        ev(&format!("{p}session kicked by an administrator jid=1001@localhost/desktop")),
        Event::Kicked { jid: "1001@localhost/desktop".into() }
    );
    let w = "2026-12-01T18:59:31.615Z  INFO webservices: ";
    assert_eq!(
        ev(&format!(
            "{w}CTI_LINK: link to the CTI server lost (3 heartbeats missed), last heard at 2026-12-01T19:00:40.799Z; OUT_OF_SERVICE at x"
        )),
        Event::CtiLost { why: "3 heartbeats missed".into() }
    );
    assert_eq!(ev(&format!("{w}CTI_LINK: link to the CTI server restored at x after 7.0 s down; IN_SERVICE")), Event::CtiRestored);
    assert_eq!(
        ev(&format!(
            "{w}PRESENCE DRIVEN LOGOUT: agent 1001 (NOT_READY) unavailable since x, grace ended at y: forcing NOT_READY with reason code 255"
        )),
        Event::PresenceLogout { agent: "1001".into(), what: Logout::Forced { action: "NOT_READY".into() } }
    );
    assert_eq!(
        ev(&format!("{w}PRESENCE DRIVEN LOGOUT: agent 1001 already logged out at 2026-12-01T18:59:31.615Z; no request sent")),
        Event::PresenceLogout { agent: "1001".into(), what: Logout::AlreadyOut }
    );
    assert_eq!(
        ev(&format!("{w}PRESENCE DRIVEN LOGOUT: agent 1001 held at 2026-12-01T18:59:31.615Z: CTI link down")),
        Event::PresenceLogout { agent: "1001".into(), what: Logout::Held { why: "CTI link down".into() } }
    );
    assert_eq!(
        ev(&format!(
            "{w}AGENT_PRESENCE_MONITOR: agent 1002 available again (1002@localhost/ws) at x; presence-driven logout timer cancelled (it would have fired at y)"
        )),
        Event::LogoutCancelled { agent: "1002".into() }
    );
    assert_eq!(
        ev(&format!(
            "{w}AGENT_PRESENCE_MONITOR: agent 1002 (READY) has no available resource since x; presence-driven logout at y unless it comes back"
        )),
        Event::GraceStarted { agent: "1002".into() }
    );
    assert_eq!(
        ev(&format!("{w}MESSAGE_TO_CTI_SERVER: SetAgentState agentid: 1001, agentext: 1001, agentstate: NOT_READY")),
        Event::ToCti { agent: "1001".into() }
    );
    assert_eq!(
        ev(&format!("{p}HTTP bind service started addr=0.0.0.0:7443 secure=true")),
        Event::ServiceStarted { name: "HTTP bind".into() }
    );
    assert_eq!(ev(&format!("{p}REST API service stopped addr=0.0.0.0:8445")), Event::ServiceStopped { name: "REST API".into() });
    assert_eq!(ev("2017.04.14 21:34:21 Herald notification service stopped"), Event::ServiceStopped { name: "Herald notification".into() });
    assert_eq!(ev(&format!("{p}c2s listener stopped")), Event::ServiceStopped { name: "c2s".into() });
    assert_eq!(ev(&format!("{p}shutting down: closing every client stream")), Event::ShuttingDown);
    assert_eq!(parse_line(&format!("{w}CTI_LINK: link to the CTI server flapping")), None);
}

#[test]
fn the_lines_of_a_lost_cluster_node() {
    assert_eq!(
        ev("Dec 01 2026 18:59:31.615 +0000: WARN webservices: agent session lost with its node: user=1001 resource=desk-1 node=herald-b"),
        Event::NodeSessionLost { user: "1001".into(), resource: "desk-1".into(), node: "herald-b".into() }
    );
    assert_eq!(
        ev(
            "Dec 01 2026 18:59:31.615 +0000: WARN webservices: agent session lost with its node: user=\"1001\" resource=\"desk 1\" node=\"herald-b\""
        ),
        Event::NodeSessionLost { user: "1001".into(), resource: "desk 1".into(), node: "herald-b".into() }
    );
    let summary = "2026.12.01 18:59:31 WARN  notification: node lost: its lease expired; its sessions count as disconnected node=\"herald-b\" sessions=12";
    assert_eq!(ev(summary), Event::NodeLost { node: "herald-b".into(), sessions: Some(12) });
    let json = r#"{"timestamp":"2026-12-01T18:59:31.615Z","level":"WARN","fields":{"message":"node lost: its lease expired; its sessions count as disconnected","node":"herald-c"},"target":"notification"}"#;
    assert_eq!(ev(json), Event::NodeLost { node: "herald-c".into(), sessions: None });
    assert_eq!(
        parse_line("Dec 01 2026 18:59:31.615 +0000: WARN webservices: agent session lost with its node: user=1001 node=herald-b"),
        None
    );
}

#[test]
fn json_lines_carry_the_same_events() {
    let line = r#"{"timestamp":"2026-12-01T18:59:31.615822955Z","level":"INFO","target":"notification","fields":{"message":"session record: closed","transport":"bosh","id":"5448","jid":"1001@localhost/desktop","cause":"inactivity","last_activity_ms_ago":60012}}"#;
    let e = parse_line(line).unwrap();
    assert_eq!(e.at_ms, T);
    assert_eq!(
        e.event,
        Event::Closed {
            transport: "bosh".into(),
            jid: "1001@localhost/desktop".into(),
            cause: "inactivity".into(),
            silent_ms: Some(60_012)
        }
    );
    let seed_stamp =
        r#"{"timestamp":"2026.12.01 18:59:31.615","level":"INFO","fields":{"message":"shutting down: closing every client stream"}}"#;
    assert_eq!(parse_line(seed_stamp).map(|e| (e.at_ms, e.event)), Some((T, Event::ShuttingDown)));
    let no_message = r#"{"timestamp":"2026-12-01T18:59:31Z","fields":{"jid":"a"}}"#;
    assert_eq!(parse_line(no_message), None);
}

#[test]
fn quoted_fields_unescape_and_long_lines_are_cut() {
    assert_eq!(field(r#" x text="a \"b\" c" n=5"#, "text").as_deref(), Some(r#"a "b" c"#));
    assert_eq!(field(r#" text="unterminated"#, "text"), None);
    assert_eq!(field(" n=", "n"), None);
    let long = format!("2026-12-01T18:59:31Z INFO notification: shutting down: closing every client stream {}", "é".repeat(1000));
    let e = parse_line(&long).unwrap();
    assert_eq!(e.line.chars().count(), EVIDENCE_CHARS + 1);
}

/// Real line shapes, mutated byte by byte with a fixed generator: never a panic.
#[test]
fn mutated_real_lines_never_panic() {
    let real = [
        "2026-12-01T18:59:31.615822955Z  INFO notification: Closing idle session (id=5448): 1001@localhost/desktop after inactivity for more than threshold value of 60",
        "2026.12.01 18:59:31 INFO notification: session record: closed transport=\"bosh\" id=\"5448\" jid=\"1001@localhost/desktop\" cause=\"inactivity\" last_activity_ms_ago=60012",
        "0000001060: 10.0.0.1:: Jun 17 2017 00:17:04.632 +0530: %CCBU_CoreImpl-worker12-6-PRESENCE DRIVEN LOGOUT: agent 1001003",
        r#"{"timestamp":"2026-12-01T18:59:31Z","fields":{"message":"stream closed with an error: bad","peer":"1.2.3.4:5","condition":"not-well-formed"}}"#,
        "2026-12-01T19:00:58.301787118Z  INFO webservices: CTI_LINK: link to the CTI server lost (3 heartbeats missed), last heard",
        "Dec 01 2026 18:59:31.615 +0000: WARN webservices: agent session lost with its node: user=1001 resource=desk-1 node=herald-b",
        "2026.12.01 18:59:31 WARN  notification: node lost: its lease expired; its sessions count as disconnected node=\"herald-b\" sessions=12",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for line in real {
        for _ in 0..2_000 {
            let mut bytes = line.as_bytes().to_vec();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() as usize) % (bytes.len() + 1);
                match next() % 3 {
                    0 if at < bytes.len() => bytes[at] = next() as u8,
                    1 if at < bytes.len() => {
                        bytes.truncate(at);
                    }
                    _ => bytes.insert(at.min(bytes.len()), b"\"=():. {}@"[(next() % 10) as usize]),
                }
            }
            let _ = parse_line(&String::from_utf8_lossy(&bytes));
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC*") {
        let _ = parse_line(&s);
    }

    #[test]
    fn arbitrary_suffixes_after_a_real_prefix_never_panic(s in "\\PC*") {
        let _ = parse_line(&format!("2026-12-01T18:59:31Z INFO notification: {s}"));
        let _ = parse_line(&format!("Jun 17 2017 00:16:04.630 +0000 {s}"));
    }
}
