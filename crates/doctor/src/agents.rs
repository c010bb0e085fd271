//! Verdicts about one client: its requests stopped or its connection went (client side), it
//! sent bad input, it could not keep up (overload), an administrator kicked it, its node asked
//! it to reconnect after being out of its cluster; each with what
//! the presence-driven logout did next and whether a CTI outage was going on.

use crate::closes::{Close, user_of};
use crate::cti::Outage;
use crate::logs::{Event, LogEvent, Logout};
use crate::verdict::{Timed, verdict, wanted};
use crate::{Query, VerdictKind, time};

/// How long after a close (ms) a presence-driven logout is still its consequence.
pub(crate) const FOLLOW_MS: u64 = 600_000;
/// How close (ms) other closes must be to say others were affected.
const OTHERS_MS: u64 = 60_000;
/// How far apart (ms) a stream error line and its close may be.
const SAME_MS: u64 = 2_000;

/// Close causes and stream error conditions that mean the client sent something refused.
pub(crate) fn is_bad_input(cause: &str) -> bool {
    matches!(
        cause,
        "not-well-formed"
            | "restricted-xml"
            | "policy-violation"
            | "invalid-xml"
            | "bad-format"
            | "invalid-from"
            | "invalid-namespace"
            | "unsupported-stanza-type"
            | "unsupported-version"
            | "bad-request"
    )
}

/// The per-client verdicts for the closes the verdicts about everyone left unexplained, and for
/// the drops, stream errors and presence-driven logouts in the window.
pub(crate) fn verdicts(remaining: &[&Close], all: &[Close], events: &[LogEvent], outages: &[Outage], query: &Query) -> Vec<Timed> {
    let in_window: Vec<&LogEvent> = events.iter().filter(|e| e.at_ms >= query.since_ms).collect();
    let mut used_errors = vec![false; in_window.len()];
    let mut out = Vec::new();
    for c in remaining {
        let v = if is_bad_input(&c.cause) {
            bad_input(c, &in_window, &mut used_errors)
        } else if c.cause == "overactivity" {
            let summary = format!(
                "{} was closed for overactivity at {}: it sent requests faster than the polling interval allows (a misbehaving client or script)",
                c.jid,
                time::format(c.at_ms)
            );
            verdict(VerdictKind::Overload, &c.user, summary, c.evidence.clone())
        } else if c.cause == "node-rejoined" {
            let summary = format!(
                "{} was asked to reconnect at {}: its Herald node had been out of the cluster (stalled for longer than its lease, or Redis restarted) and may have missed events for it; a desktop logs in again and catches up",
                c.jid,
                time::format(c.at_ms)
            );
            verdict(VerdictKind::ServerSide, &c.user, summary, c.evidence.clone())
        } else if c.cause == "kicked" {
            let summary = format!("{} was kicked by an administrator at {}", c.jid, time::format(c.at_ms));
            verdict(VerdictKind::Kicked, &c.user, summary, c.evidence.clone())
        } else {
            client_side(c, all, &in_window, outages)
        };
        out.push((c.at_ms, v));
    }
    for (e, used) in in_window.iter().zip(&used_errors) {
        if let Event::StreamError { peer, condition, text } = &e.event
            && !used
            && is_bad_input(condition)
            && query.user.is_none()
        {
            let subject = if peer.is_empty() { "unknown client" } else { peer.as_str() };
            let summary =
                format!("the client at {subject} sent bad input at {}: {condition} ({text}); its stream was closed", time::format(e.at_ms));
            out.push((e.at_ms, verdict(VerdictKind::BadInput, subject, summary, vec![e.line.clone()])));
        }
    }
    out.extend(overload(all, &in_window, query));
    // A logout after a close in the window belongs to that close's verdict (per agent, or the
    // server-side one that explained it); only a logout whose close is unknown stands alone.
    let follows_a_close = |agent: &str, at: u64| {
        all.iter().any(|c| {
            c.user == agent && c.at_ms >= query.since_ms && c.at_ms <= at.saturating_add(1_000) && at <= c.at_ms.saturating_add(FOLLOW_MS)
        })
    };
    for e in &in_window {
        if let Event::PresenceLogout { agent, what: Logout::Forced { .. } } = &e.event
            && wanted(query, agent)
            && !follows_a_close(agent, e.at_ms)
        {
            let summary = format!(
                "{agent} was signed out by a presence-driven logout at {}: its desktop had no available resource for the grace time (no record of its session's close was found)",
                time::format(e.at_ms)
            );
            out.push((e.at_ms, verdict(VerdictKind::ClientSide, agent, summary, vec![e.line.clone()])));
        }
    }
    out
}

/// A close with a bad-input cause, with the stream error line that says what was wrong.
fn bad_input(c: &Close, events: &[&LogEvent], used: &mut [bool]) -> crate::Verdict {
    let mut lines = c.evidence.clone();
    let mut detail = String::new();
    for (e, u) in events.iter().zip(used.iter_mut()) {
        if let Event::StreamError { peer, condition, text } = &e.event
            && *condition == c.cause
            && e.at_ms.abs_diff(c.at_ms) <= SAME_MS
            && (c.source.is_empty() || peer.starts_with(&c.source))
        {
            *u = true;
            lines.push(e.line.clone());
            if detail.is_empty() {
                detail = format!(" ({text}; peer {peer})");
            }
        }
    }
    let from = if c.source.is_empty() { String::new() } else { format!(" from {}", c.source) };
    let summary = format!("{}{from} sent bad input at {}: {}{detail}; its session was closed", c.jid, time::format(c.at_ms), c.cause);
    verdict(VerdictKind::BadInput, &c.user, summary, lines)
}

/// Why one client's session ended on its own side, what followed, who else was affected.
fn client_side(c: &Close, all: &[Close], events: &[&LogEvent], outages: &[Outage]) -> crate::Verdict {
    let at = time::format(c.at_ms);
    let last = c.last_request_ms.map(time::format);
    let mut summary = match (c.cause.as_str(), &last) {
        ("inactivity", Some(last)) => format!(
            "requests stopped at {last} (last request), closed by inactivity at {at} ({} later)",
            time::secs(c.at_ms.saturating_sub(c.last_request_ms.unwrap_or(c.at_ms)))
        ),
        ("inactivity", None) => format!("no request held for the inactivity time: closed by inactivity at {at}"),
        ("connection-lost", _) => {
            format!("its connection was lost at {at}{}", last.map(|l| format!(" (last request at {l})")).unwrap_or_default())
        }
        ("client-terminate" | "client-closed", _) => {
            format!("the client ended its session at {at} (signed out, or closed the tab or browser)")
        }
        ("conflict" | "replaced", _) => format!("replaced at {at} by a new login with the same resource (another browser or tab)"),
        ("bad-rid" | "bad-key" | "item-not-found", _) => {
            format!(
                "its requests went out of sequence ({}) at {at}: a hung or restored browser tab, or a proxy replaying requests",
                c.cause
            )
        }
        ("connection-timeout", _) => format!("it did not finish logging in in time: closed at {at}"),
        (cause, _) => format!("closed at {at} with cause {cause}"),
    };
    let others = all.iter().filter(|o| o.user != c.user && o.at_ms.abs_diff(c.at_ms) <= OTHERS_MS).count();
    if others == 0 {
        summary.push_str("; others unaffected");
    } else {
        summary.push_str(&format!("; {others} other session(s) closed within 60 s"));
    }
    if matches!(c.cause.as_str(), "inactivity" | "connection-lost") {
        summary.push_str("; the agent's side: network, sleeping PC, closed or hung browser");
    }
    if let Some(o) = outages.iter().find(|o| o.from_ms <= c.at_ms && o.until_ms.is_none_or(|u| u >= c.at_ms)) {
        summary.push_str(&format!("; during the CTI link outage from {}", time::format(o.from_ms)));
    }
    let mut lines = c.evidence.clone();
    let after = aftermath(&c.user, c.at_ms, all, events);
    summary.push_str(&after.summary);
    lines.extend(after.lines);
    verdict(VerdictKind::ClientSide, &c.user, summary, lines)
}

/// [`aftermath`]'s answer.
pub(crate) struct Aftermath {
    /// `; …` clauses to append to a verdict's summary (empty when nothing followed).
    pub(crate) summary: String,
    /// The lines that show it.
    pub(crate) lines: Vec<String>,
}

/// What the presence-driven logout did after `user`'s disconnect at `at_ms`: the grace's start,
/// a hold while the CTI link is down, and how it ended — up to the user's next close, for at
/// most [`FOLLOW_MS`]. `all` and `events` are in time order: only that window is read.
pub(crate) fn aftermath(user: &str, at_ms: u64, all: &[Close], events: &[&LogEvent]) -> Aftermath {
    let until = at_ms.saturating_add(FOLLOW_MS);
    let later = all.get(all.partition_point(|o| o.at_ms <= at_ms)..).unwrap_or_default();
    let next = later.iter().take_while(|o| o.at_ms < until).find(|o| o.user == user).map(|o| o.at_ms);
    let until = next.unwrap_or(until);
    let from = events.partition_point(|e| e.at_ms.saturating_add(1_000) < at_ms);
    let mut lines = Vec::new();
    let mut outcome: Option<String> = None;
    let mut held = String::new();
    for e in events.get(from..).unwrap_or_default().iter().take_while(|e| e.at_ms < until) {
        let t = time::format(e.at_ms);
        let (agent, end) = match &e.event {
            Event::GraceStarted { agent } | Event::ToCti { agent } => (agent, None),
            Event::PresenceLogout { agent, what: Logout::Forced { action } } => {
                (agent, Some(format!("a presence-driven logout followed at {t} (forcing {action}, reason code 255)")))
            }
            Event::PresenceLogout { agent, what: Logout::AlreadyOut } => {
                (agent, Some(format!("the agent had already signed out: no presence-driven logout request ({t})")))
            }
            Event::PresenceLogout { agent, what: Logout::Held { why } } => {
                if user_of(agent) == user && outcome.is_none() && held.is_empty() {
                    held = format!("; the presence-driven logout was held at {t} ({why})");
                    lines.push(e.line.clone());
                }
                continue;
            }
            Event::LogoutCancelled { agent } => (agent, Some(format!("the desktop came back at {t} (presence-driven logout cancelled)"))),
            _ => continue,
        };
        if user_of(agent) != user || (outcome.is_some() && end.is_some()) {
            continue;
        }
        lines.push(e.line.clone());
        if end.is_some() {
            outcome = end;
        }
    }
    let mut summary = held;
    if let Some(text) = &outcome {
        summary.push_str("; ");
        summary.push_str(text);
    }
    Aftermath { summary, lines }
}

/// Stanzas dropped for clients that did not keep up, one verdict per JID.
fn overload(all: &[Close], events: &[&LogEvent], query: &Query) -> Vec<Timed> {
    let mut by_jid: Vec<(String, u64, u64, Vec<String>)> = Vec::new();
    // `n` more drops, or at least `floor` in all (a record's count covers its session's lines).
    let mut add = |jid: &str, at: u64, n: u64, floor: u64, line: &str| match by_jid.iter_mut().find(|(j, ..)| j == jid) {
        Some((_, first, total, lines)) => {
            *first = (*first).min(at);
            *total = (*total + n).max(floor);
            lines.push(line.to_owned());
        }
        None => by_jid.push((jid.to_owned(), at, n.max(floor), vec![line.to_owned()])),
    };
    for e in events {
        if let Event::QueueDrop { jid, dropped } = &e.event
            && wanted(query, user_of(jid))
        {
            add(jid, e.at_ms, *dropped, 0, &e.line);
        }
    }
    for c in all.iter().filter(|c| c.dropped > 0 && c.at_ms >= query.since_ms && wanted(query, &c.user)) {
        let line = c.evidence.first().cloned().unwrap_or_default();
        add(&c.jid, c.at_ms, 0, c.dropped, &line);
    }
    by_jid
        .into_iter()
        .map(|(jid, first, total, lines)| {
            let summary = format!(
                "{total} stanza(s) dropped for {jid} from {}: its queue was full, the client does not read fast enough (slow network, a hung tab)",
                time::format(first)
            );
            (first, verdict(VerdictKind::Overload, user_of(&jid), summary, lines))
        })
        .collect()
}
