//! Verdicts that concern everyone: the server not answering or a service down or not listening,
//! a cluster node lost ([`node_loss`]), many sessions closed together (a stop, a crash, an
//! error), the CTI link lost. Then hands the
//! closes these do not explain to the per-agent rules, orders the verdicts, and says `Healthy`
//! when nothing was found.

use crate::closes::{self, Close};
use crate::cti::{cti_verdict, is_listener, outages};
use crate::logs::{self, Event, LogEvent};
use crate::verdict::{Timed, verdict, wanted};
use crate::{Evidence, Query, Verdict, VerdictKind, agents, node_loss, time};

/// The longest span (ms) of closes counted as "at the same time".
const CLUSTER_MS: u64 = 5_000;
/// How long after a stop line (ms) the closes it caused may come.
const STOP_MS: u64 = 15_000;
/// The fewest sessions closed together that point at the server.
const CLUSTER_MIN: usize = 3;

/// Close causes the server gives when it stops.
pub(crate) fn is_shutdown(cause: &str) -> bool {
    matches!(cause, "server-shutdown" | "system-shutdown")
}

/// Close causes that one client chose or caused alone: never part of a server-side cluster.
fn is_own_doing(cause: &str) -> bool {
    matches!(cause, "client-terminate" | "client-closed" | "conflict" | "replaced" | "kicked" | "overactivity")
        || agents::is_bad_input(cause)
}

/// The whole diagnosis.
pub(crate) fn run(evidence: &Evidence, query: &Query) -> Vec<Verdict> {
    let mut events: Vec<LogEvent> = evidence.log_lines.iter().filter_map(|l| logs::parse_line(l)).collect();
    events.sort_by_key(|e| e.at_ms);
    let all = closes::gather(&evidence.disconnects, &events);
    let since = query.since_ms;
    let outages = outages(&events, evidence);

    let mut out: Vec<Timed> = Vec::new();
    out.extend(service_down(evidence, &events));
    let mut explained = vec![false; all.len()];
    out.extend(node_loss::verdicts(&events, &all, query, &mut explained));
    out.extend(stops(&events, &all, since, &mut explained));
    out.extend(clusters(&all, query, &mut explained));
    for o in outages.iter().filter(|o| o.until_ms.unwrap_or(u64::MAX) >= since) {
        out.push((o.from_ms, cti_verdict(o, evidence.now_ms)));
    }
    let global = out.len();
    let remaining: Vec<&Close> =
        all.iter().zip(&explained).filter(|(c, done)| !**done && c.at_ms >= since && wanted(query, &c.user)).map(|(c, _)| c).collect();
    out.extend(agents::verdicts(&remaining, &all, &events, &outages, query));
    let (first, rest) = out.split_at_mut(global);
    first.sort_by_key(|(at, v)| (rank(v.kind), *at));
    rest.sort_by_key(|(at, _)| *at);
    let mut verdicts: Vec<Verdict> = out.into_iter().map(|(_, v)| v).collect();
    if verdicts.is_empty() {
        verdicts.push(healthy(evidence, query, events.len()));
    }
    verdicts
}

/// The order of the verdicts about everyone.
fn rank(kind: VerdictKind) -> u8 {
    match kind {
        VerdictKind::ServiceDown => 0,
        VerdictKind::ServerSide => 1,
        VerdictKind::CtiLink => 2,
        _ => 3,
    }
}

/// The server not answering, a service down or a listener not listening.
fn service_down(evidence: &Evidence, events: &[LogEvent]) -> Vec<Timed> {
    let now = evidence.now_ms;
    if !evidence.server_running {
        let last_stop = events.iter().rev().find(|e| matches!(e.event, Event::ShuttingDown | Event::ServiceStopped { .. }));
        let summary = match last_stop {
            Some(e) => format!("the server does not answer: it is not running (last stop line at {})", time::format(e.at_ms)),
            None => "the server does not answer: it is not running, or its admin listener is unreachable".to_owned(),
        };
        let lines = last_stop.map(|e| e.line.clone()).into_iter().collect();
        return vec![(now, verdict(VerdictKind::ServiceDown, "herald", summary, lines))];
    }
    let mut out = Vec::new();
    for s in evidence.services.iter().filter(|s| is_listener(&s.name)) {
        let summary = if !s.up {
            format!("the {} service is down: its clients cannot connect", s.name)
        } else if s.listening.is_none() {
            format!("the {} service runs but does not listen on its port", s.name)
        } else {
            continue;
        };
        let state = format!("status: {} up={} listening={}", s.name, s.up, s.listening.as_deref().unwrap_or("no"));
        let mut lines = vec![state];
        let stopped = |e: &&LogEvent| matches!(&e.event, Event::ServiceStopped { name } if *name == s.name);
        lines.extend(events.iter().rev().find(stopped).map(|e| e.line.clone()));
        out.push((now, verdict(VerdictKind::ServiceDown, &s.name, summary, lines)));
    }
    out
}

/// Stops of the server (`shutting down`, `… service stopped`) in the window, with the closes
/// that followed them and whether it started again.
fn stops(events: &[LogEvent], all: &[Close], since: u64, explained: &mut [bool]) -> Vec<Timed> {
    let is_stop = |e: &LogEvent| matches!(e.event, Event::ShuttingDown | Event::ServiceStopped { .. });
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(first) = events.get(i) {
        if !is_stop(first) || first.at_ms < since {
            i += 1;
            continue;
        }
        let mut lines = Vec::new();
        let mut end = first.at_ms;
        while let Some(e) = events.get(i).filter(|e| e.at_ms <= end.saturating_add(STOP_MS)) {
            if is_stop(e) {
                lines.push(e.line.clone());
                end = e.at_ms;
            }
            i += 1;
        }
        let mut closed = 0;
        for (c, done) in all.iter().zip(explained.iter_mut()) {
            let near = c.at_ms.saturating_add(2_000) >= first.at_ms && c.at_ms <= end.saturating_add(STOP_MS);
            if !*done && near && (is_shutdown(&c.cause) || !is_own_doing(&c.cause)) {
                *done = true;
                closed += 1;
                lines.extend(c.evidence.first().cloned());
            }
        }
        let restart = events.iter().find(|e| e.at_ms >= end && matches!(&e.event, Event::ServiceStarted { .. }));
        let after = match restart {
            Some(e) => format!("started again at {}", time::format(e.at_ms)),
            None => "no start line since".to_owned(),
        };
        lines.extend(restart.map(|e| e.line.clone()));
        let who = match closed {
            0 => "no client session was open".to_owned(),
            n => format!("{n} session(s) closed with it, everyone was disconnected"),
        };
        let summary = format!("the server was stopped at {}: {who}; {after}", time::format(first.at_ms));
        out.push((first.at_ms, verdict(VerdictKind::ServerSide, "everyone", summary, lines)));
    }
    out
}

/// How many sessions were open at `t` as far as the evidence knows: those bound before and
/// ended at or after it.
fn open_at(all: &[Close], t: u64) -> usize {
    all.iter().filter(|c| c.opened_ms.is_some_and(|o| o <= t) && c.at_ms >= t).count()
}

/// Many sessions closed within [`CLUSTER_MS`] (at least [`CLUSTER_MIN`] and half of those open),
/// or any closed with a shutdown cause: the server's side. With a user asked for, only the
/// clusters that closed one of that user's sessions are told.
fn clusters(all: &[Close], query: &Query, explained: &mut [bool]) -> Vec<Timed> {
    let since = query.since_ms;
    let mut out = Vec::new();
    let candidate = |c: &Close, done: bool| !done && c.at_ms >= since && !is_own_doing(&c.cause);
    let mut i = 0;
    while i < all.len() {
        let Some(first) = all.get(i).filter(|c| candidate(c, explained.get(i).copied().unwrap_or(true))) else {
            i += 1;
            continue;
        };
        let members: Vec<usize> = (i..all.len())
            .filter(|&j| {
                all.get(j).is_some_and(|c| {
                    c.at_ms <= first.at_ms.saturating_add(CLUSTER_MS) && candidate(c, explained.get(j).copied().unwrap_or(true))
                })
            })
            .collect();
        let group: Vec<&Close> = members.iter().filter_map(|&j| all.get(j)).collect();
        let unknown_open = group.iter().filter(|c| c.opened_ms.is_none()).count();
        let open = open_at(all, first.at_ms) + unknown_open;
        let many = group.len() >= CLUSTER_MIN && group.len() * 2 >= open;
        let shutdown: Vec<&Close> = group.iter().copied().filter(|c| is_shutdown(&c.cause)).collect();
        let chosen: Vec<usize> = if many {
            members.clone()
        } else if !shutdown.is_empty() {
            members.iter().copied().filter(|&j| all.get(j).is_some_and(|c| is_shutdown(&c.cause))).collect()
        } else {
            i += 1;
            continue;
        };
        let picked: Vec<&Close> = chosen.iter().filter_map(|&j| all.get(j)).collect();
        let start = picked.iter().map(|c| c.at_ms).min().unwrap_or(first.at_ms);
        let last = picked.iter().map(|c| c.at_ms).max().unwrap_or(start);
        let mut causes: Vec<&str> = picked.iter().map(|c| c.cause.as_str()).collect();
        causes.sort_unstable();
        causes.dedup();
        let users: Vec<&str> = picked.iter().map(|c| c.user.as_str()).collect();
        let why = if causes.iter().all(|c| is_shutdown(c)) {
            "the server closed them (shutdown)".to_owned()
        } else if causes.iter().all(|c| *c == "node-rejoined") {
            "their Herald node had been out of the cluster (stalled for longer than its lease, or Redis restarted) and asked them to reconnect and catch up".to_owned()
        } else if causes.iter().all(|c| *c == "inactivity" || *c == "connection-lost") {
            "their requests stopped together: the network between them and the server, or the server stopped answering".to_owned()
        } else {
            "the server's side: a crash, a stop or an error".to_owned()
        };
        let summary = format!(
            "{} sessions ({}) closed within {} from {} with cause {}: {why}",
            picked.len(),
            users.join(", "),
            time::secs(last.saturating_sub(start)),
            time::format(start),
            causes.join("/"),
        );
        let lines = picked.iter().flat_map(|c| c.evidence.iter().cloned()).collect();
        if picked.iter().any(|c| wanted(query, &c.user)) {
            out.push((start, verdict(VerdictKind::ServerSide, "everyone", summary, lines)));
        }
        for j in chosen {
            if let Some(done) = explained.get_mut(j) {
                *done = true;
            }
        }
        i += 1;
    }
    out
}

/// Nothing found: says what was looked at.
fn healthy(evidence: &Evidence, query: &Query, known_lines: usize) -> Verdict {
    let who = query.user.as_deref().map_or_else(|| "everyone".to_owned(), |u| u.to_owned());
    let window = if query.since_ms > 0 { format!(" since {}", time::format(query.since_ms)) } else { String::new() };
    let up = evidence.services.iter().filter(|s| s.up).count();
    let summary = format!(
        "no disconnect, outage or error found{window}: looked at {} close records, {} log lines ({known_lines} recognised), {up} of {} services up",
        evidence.disconnects.len(),
        evidence.log_lines.len(),
        evidence.services.len()
    );
    verdict(VerdictKind::Healthy, &who, summary, Vec::new())
}
