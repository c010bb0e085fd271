//! A cluster node lost: its lease expired (killed, hung, cut off from Redis) and the survivors
//! counted its sessions as disconnected. The node driving the CTI side writes one
//! `agent session lost with its node` line per agent session it held, the survivor that reaped
//! it one `node lost: its lease expired` line. Server-side verdicts: one per lost session of the
//! user asked about (with what the presence-driven logout did next), or one per lost node for
//! everyone. A close the dead node's own store record gives of the same session (a node that
//! hung rather than died closes it later) is the same disconnect and is explained here too.

use std::collections::{HashMap, HashSet};

use crate::agents::{FOLLOW_MS, aftermath};
use crate::closes::{Close, NODE_LOST, resource_of, user_of};
use crate::logs::{Event, LogEvent, Logout};
use crate::verdict::{Timed, verdict, wanted};
use crate::{Query, VerdictKind, time};

/// How far apart (ms) the agent lines and the summary line of one node's loss may be.
const SAME_LOSS_MS: u64 = 60_000;
/// How long after a loss (ms) a close of a session opened before it is still that disconnect
/// (the hung node closing the session the cluster already counted as lost).
const SAME_SESSION_MS: u64 = 120_000;
/// Agents a node verdict names; the rest are counted.
const MAX_NAMED: usize = 10;
/// Agent lines kept as a node verdict's evidence; the rest are counted.
const MAX_AGENT_LINES: usize = 20;

/// One node's loss: its summary line, the sessions it took with it.
struct Loss {
    /// The node's id.
    node: String,
    /// When the loss was first told.
    at_ms: u64,
    /// The sessions the summary line counts.
    sessions: Option<u64>,
    /// The summary line.
    summary_line: Option<String>,
    /// Indices into the closes of the sessions lost with it.
    lost: Vec<usize>,
}

/// The node-loss verdicts, marking the closes they explain.
pub(crate) fn verdicts(events: &[LogEvent], all: &[Close], query: &Query, explained: &mut [bool]) -> Vec<Timed> {
    let losses = losses(events, all);
    let refs: Vec<&LogEvent> = events.iter().collect();
    let sessions = closes_by_session(all);
    let mut out = Vec::new();
    for loss in &losses {
        for &i in &loss.lost {
            let Some(c) = all.get(i) else { continue };
            let same_session = absorb(c, all, &sessions, explained);
            if let Some(done) = explained.get_mut(i) {
                *done = true;
            }
            if query.user.is_some() && wanted(query, &c.user) && c.at_ms >= query.since_ms {
                out.push((c.at_ms, session_verdict(loss, c, &same_session, all, &refs)));
            }
        }
        if query.user.is_none() && loss.at_ms >= query.since_ms {
            out.push((loss.at_ms, node_verdict(loss, all, events)));
        }
    }
    out
}

/// The losses the lines tell, in time order: a summary line, and the lost sessions of that node
/// within [`SAME_LOSS_MS`] of it (sessions without a summary line make a loss of their own).
fn losses(events: &[LogEvent], all: &[Close]) -> Vec<Loss> {
    let mut out: Vec<Loss> = Vec::new();
    for e in events {
        if let Event::NodeLost { node, sessions } = &e.event {
            out.push(Loss {
                node: node.clone(),
                at_ms: e.at_ms,
                sessions: *sessions,
                summary_line: Some(e.line.clone()),
                lost: Vec::new(),
            });
        }
    }
    for (i, c) in all.iter().enumerate() {
        let Some(node) = c.node.as_deref().filter(|_| c.cause == NODE_LOST) else { continue };
        match out.iter_mut().find(|l| l.node == node && l.at_ms.abs_diff(c.at_ms) <= SAME_LOSS_MS) {
            Some(loss) => {
                loss.at_ms = loss.at_ms.min(c.at_ms);
                loss.lost.push(i);
            }
            None => out.push(Loss { node: node.to_owned(), at_ms: c.at_ms, sessions: None, summary_line: None, lost: vec![i] }),
        }
    }
    out.sort_by_key(|l| l.at_ms);
    out
}

/// The closes that may be a lost session's own (not a loss themselves, opened at a known time),
/// by user and resource.
fn closes_by_session(all: &[Close]) -> HashMap<(&str, &str), Vec<usize>> {
    let mut by_session: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, c) in all.iter().enumerate().filter(|(_, c)| c.cause != NODE_LOST && c.opened_ms.is_some()) {
        by_session.entry((c.user.as_str(), resource_of(&c.jid))).or_default().push(i);
    }
    by_session
}

/// The closes of the same session (same user and resource) that opened before the loss and
/// ended within [`SAME_SESSION_MS`] after it: marked explained, returned as evidence.
fn absorb(lost: &Close, all: &[Close], sessions: &HashMap<(&str, &str), Vec<usize>>, explained: &mut [bool]) -> Vec<String> {
    let mut lines = Vec::new();
    for &i in sessions.get(&(lost.user.as_str(), resource_of(&lost.jid))).into_iter().flatten() {
        let (Some(c), Some(done)) = (all.get(i), explained.get_mut(i)) else { continue };
        let opened_before = c.opened_ms.is_some_and(|o| o <= lost.at_ms);
        let soon_after = c.at_ms >= lost.at_ms && c.at_ms <= lost.at_ms.saturating_add(SAME_SESSION_MS);
        if !*done && opened_before && soon_after {
            *done = true;
            lines.extend(c.evidence.iter().cloned());
        }
    }
    lines
}

/// One user's session lost with its node.
fn session_verdict(loss: &Loss, c: &Close, same_session: &[String], all: &[Close], events: &[&LogEvent]) -> crate::Verdict {
    let after = aftermath(&c.user, c.at_ms, all, events);
    let summary = format!(
        "the Herald node {} holding the agent's session ({}) stopped (its cluster lease expired; lost at {}); the desktop had to reconnect to another node{}",
        loss.node,
        resource_of(&c.jid),
        time::format(c.at_ms),
        after.summary
    );
    let mut lines = c.evidence.clone();
    lines.extend(loss.summary_line.iter().cloned());
    lines.extend(same_session.iter().cloned());
    lines.extend(after.lines);
    verdict(VerdictKind::ServerSide, &c.user, summary, lines)
}

/// A node's loss for everyone: how many sessions, whose, and what the presence-driven logouts did.
fn node_verdict(loss: &Loss, all: &[Close], events: &[LogEvent]) -> crate::Verdict {
    let lost: Vec<&Close> = loss.lost.iter().filter_map(|&i| all.get(i)).collect();
    let count = loss.sessions.unwrap_or(lost.len() as u64);
    let mut users: Vec<&str> = lost.iter().map(|c| c.user.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    let (back, forced) = logout_outcomes(loss.at_ms, &users, events);
    let mut summary = format!(
        "the Herald node {} stopped (its cluster lease expired) at {}: its {count} session(s) count as disconnected, their desktops had to reconnect to another node",
        loss.node,
        time::format(loss.at_ms)
    );
    if !users.is_empty() {
        let named = users.iter().take(MAX_NAMED).copied().collect::<Vec<_>>().join(", ");
        let more = users.len().saturating_sub(MAX_NAMED);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        summary.push_str(&format!("; agents {named}{more}"));
    }
    if back + forced > 0 {
        summary.push_str(&format!("; {back} came back within the grace, {forced} signed out by a presence-driven logout"));
    }
    let mut lines: Vec<String> = loss.summary_line.iter().cloned().collect();
    lines.extend(lost.iter().take(MAX_AGENT_LINES).flat_map(|c| c.evidence.first().cloned()));
    if lost.len() > MAX_AGENT_LINES {
        lines.push(format!("… and {} more lost session line(s)", lost.len() - MAX_AGENT_LINES));
    }
    verdict(VerdictKind::ServerSide, &loss.node, summary, lines)
}

/// How many of `users` came back within the grace (the logout cancelled) and how many were
/// signed out by a presence-driven logout, after a loss at `at_ms`: the first outcome of each
/// within [`FOLLOW_MS`], in one pass over the lines (a lost node may hold thousands of agents).
fn logout_outcomes(at_ms: u64, users: &[&str], events: &[LogEvent]) -> (usize, usize) {
    let wanted: HashSet<&str> = users.iter().copied().collect();
    let mut decided: HashSet<&str> = HashSet::new();
    let (mut back, mut forced) = (0, 0);
    let from = events.partition_point(|e| e.at_ms.saturating_add(1_000) < at_ms);
    let until = at_ms.saturating_add(FOLLOW_MS);
    for e in events.get(from..).unwrap_or_default().iter().take_while(|e| e.at_ms < until) {
        // Some(true): came back; Some(false): forced out; None: had signed out already.
        let (agent, came_back) = match &e.event {
            Event::LogoutCancelled { agent } => (agent, Some(true)),
            Event::PresenceLogout { agent, what: Logout::Forced { .. } } => (agent, Some(false)),
            Event::PresenceLogout { agent, what: Logout::AlreadyOut } => (agent, None),
            _ => continue,
        };
        let Some(&user) = wanted.get(user_of(agent)) else { continue };
        if decided.insert(user) {
            match came_back {
                Some(true) => back += 1,
                Some(false) => forced += 1,
                None => {}
            }
        }
    }
    (back, forced)
}
