//! Closes: one list of ended sessions from the close records and the log lines that tell the
//! same story (`session record: closed`, `Closing idle session`, `session replaced`, `session
//! kicked`), merged so that one disconnect is one entry carrying all its evidence; and the
//! sessions a dead cluster node took with it (`agent session lost with its node`), cause
//! [`NODE_LOST`].

use crate::logs::{Event, LogEvent};
use crate::{Disconnect, time};

/// The cause of a session lost with its cluster node (no record: the node died holding it).
pub(crate) const NODE_LOST: &str = "node-lost";

/// How far apart (ms) a record and a line about the same close may be.
const SAME_CLOSE_MS: u64 = 2_000;

/// One ended session, whichever source told of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Close {
    /// Login id (the JID's localpart).
    pub(crate) user: String,
    /// Full JID.
    pub(crate) jid: String,
    /// The client's address, when known.
    pub(crate) source: String,
    /// When it ended.
    pub(crate) at_ms: u64,
    /// When it bound (records only).
    pub(crate) opened_ms: Option<u64>,
    /// The close cause's name.
    pub(crate) cause: String,
    /// When the client last sent anything, when known.
    pub(crate) last_request_ms: Option<u64>,
    /// Stanzas dropped for it.
    pub(crate) dropped: u64,
    /// The cluster node that held it, when it was lost with that node.
    pub(crate) node: Option<String>,
    /// The record and lines that show it.
    pub(crate) evidence: Vec<String>,
}

impl Close {
    /// A close only one log line tells of.
    fn from_line(e: &LogEvent, jid: String, cause: &str, last_request_ms: Option<u64>) -> Close {
        Close {
            user: user_of(&jid).to_owned(),
            jid,
            source: String::new(),
            at_ms: e.at_ms,
            opened_ms: None,
            cause: cause.to_owned(),
            last_request_ms,
            dropped: 0,
            node: None,
            evidence: vec![e.line.clone()],
        }
    }
}

/// The resource of a full JID (after the first `/`); empty for a bare one.
pub(crate) fn resource_of(jid: &str) -> &str {
    jid.split_once('/').map_or("", |(_, resource)| resource)
}

/// The login id of a JID: its localpart (the JID itself when it has none).
pub(crate) fn user_of(jid: &str) -> &str {
    jid.split_once('@').map_or(jid, |(local, _)| local)
}

/// A close record as one evidence line.
fn describe(d: &Disconnect) -> String {
    let mut s = format!("close record: {} {} from {}", d.jid, d.transport, if d.source.is_empty() { "?" } else { &d.source });
    if d.opened_ms > 0 {
        s.push_str(&format!(" opened {}", time::format(d.opened_ms)));
    }
    s.push_str(&format!(" closed {} cause={}", time::format(d.closed_ms), d.cause));
    if d.last_request_ms > 0 {
        s.push_str(&format!(" last request {}", time::format(d.last_request_ms)));
    }
    s.push_str(&format!(" sent={} dropped={} bytes={}", d.stanzas_sent, d.dropped, d.bytes_sent));
    s
}

/// Whether two cause names say the same thing (a replaced session's stream ends in `conflict`).
fn same_cause(a: &str, b: &str) -> bool {
    let norm = |c: &str| if c == "replaced" { "conflict" } else { c }.to_owned();
    norm(a) == norm(b)
}

/// Merges the records and the close lines into one list, in time order.
pub(crate) fn gather(records: &[Disconnect], events: &[LogEvent]) -> Vec<Close> {
    let mut closes: Vec<Close> = records
        .iter()
        .map(|d| Close {
            user: if d.user.is_empty() { user_of(&d.jid).to_owned() } else { d.user.clone() },
            jid: d.jid.clone(),
            source: d.source.clone(),
            at_ms: d.closed_ms,
            opened_ms: (d.opened_ms > 0).then_some(d.opened_ms),
            cause: d.cause.clone(),
            last_request_ms: (d.last_request_ms > 0).then_some(d.last_request_ms),
            dropped: d.dropped,
            node: None,
            evidence: vec![describe(d)],
        })
        .collect();
    closes.sort_by_key(|c| c.at_ms);
    for e in events {
        if let Event::NodeSessionLost { user, resource, node } = &e.event {
            let lost = Close::from_line(e, format!("{user}/{resource}"), NODE_LOST, None);
            closes.push(Close { user: user.clone(), node: Some(node.clone()), ..lost });
            continue;
        }
        let (jid, cause, last) = match &e.event {
            Event::Closed { jid, cause, silent_ms, .. } => (jid, cause.as_str(), silent_ms.map(|s| e.at_ms.saturating_sub(s))),
            Event::IdleClose { jid } => (jid, "inactivity", None),
            Event::Replaced { jid } => (jid, "replaced", None),
            Event::Kicked { jid } => (jid, "kicked", None),
            _ => continue,
        };
        let near = |c: &Close| c.jid == *jid && same_cause(&c.cause, cause) && c.at_ms.abs_diff(e.at_ms) <= SAME_CLOSE_MS;
        match closes.iter_mut().find(|c| near(c)) {
            Some(c) => {
                c.evidence.push(e.line.clone());
                if c.last_request_ms.is_none() {
                    c.last_request_ms = last;
                }
            }
            None => closes.push(Close::from_line(e, jid.clone(), cause, last)),
        }
    }
    closes.sort_by_key(|c| c.at_ms);
    closes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::parse_line;

    #[test]
    fn a_record_and_its_lines_are_one_close() {
        let record = Disconnect {
            user: "1001".into(),
            jid: "1001@localhost/desktop".into(),
            transport: "bosh".into(),
            closed_ms: 1_764_615_571_615,
            cause: "inactivity".into(),
            ..Disconnect::default()
        };
        let lines = [
            "2025-12-01T18:59:31.615822955Z  INFO notification: Closing idle session (id=5448): 1001@localhost/desktop after inactivity for more than threshold value of 60",
            "2025-12-01T18:59:31.616Z  INFO notification: session record: closed transport=\"bosh\" id=\"5448\" jid=\"1001@localhost/desktop\" cause=\"inactivity\" last_activity_ms_ago=60100",
            "2025-12-01T19:09:31.616Z  INFO notification: session record: closed transport=\"bosh\" id=\"5449\" jid=\"1001@localhost/desktop\" cause=\"inactivity\" last_activity_ms_ago=60100",
        ];
        let events: Vec<_> = lines.iter().filter_map(|l| parse_line(l)).collect();
        let closes = gather(&[record], &events);
        assert_eq!(closes.len(), 2);
        assert_eq!(closes[0].evidence.len(), 3);
        assert_eq!(closes[0].last_request_ms, Some(1_764_615_571_616 - 60_100));
        assert_eq!(closes[1].user, "1001");
        assert_eq!(user_of("nolocal"), "nolocal");
    }
}
