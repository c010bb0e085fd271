//! Log lines: finds the timestamp (any of the three shapes, after any prefix, or a JSON line's
//! `timestamp`) and recognises the lines of `docs/operations.md` the diagnosis reads. Every
//! other line is ignored; nothing here panics on any input.

use crate::time;

/// The longest line text kept as evidence (characters); longer ones are cut.
const EVIDENCE_CHARS: usize = 400;
/// How many leading words may precede the timestamp (`0000001043: 10.0.0.1: Jun 17 …`).
const PREFIX_WORDS: usize = 8;

/// What a recognised line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// `Closing idle session (id=…): <jid> after inactivity …`.
    IdleClose { jid: String },
    /// `session record: closed transport=… id=… jid=… cause=… last_activity_ms_ago=…`.
    Closed { transport: String, jid: String, cause: String, silent_ms: Option<u64> },
    /// `stream closed with an error: <text> peer=… condition=…`.
    StreamError { peer: String, condition: String, text: String },
    /// `session queue full; stanzas dropped … to=<jid> dropped=<n>` (or `who=`).
    QueueDrop { jid: String, dropped: u64 },
    /// `session replaced …`.
    Replaced { jid: String },
    /// `session kicked by an administrator jid=…`.
    Kicked { jid: String },
    /// `CTI_LINK: link to the CTI server lost (…)`.
    CtiLost { why: String },
    /// `CTI_LINK: link to the CTI server restored …`.
    CtiRestored,
    /// `PRESENCE DRIVEN LOGOUT: agent <id> …`.
    PresenceLogout { agent: String, what: Logout },
    /// `AGENT_PRESENCE_MONITOR: agent <id> … timer cancelled …`.
    LogoutCancelled { agent: String },
    /// `AGENT_PRESENCE_MONITOR: agent <id> … has no available resource …` (the grace started).
    GraceStarted { agent: String },
    /// `MESSAGE_TO_CTI_SERVER: … agentid: <id>, …`.
    ToCti { agent: String },
    /// `<name> service started`, `Herald notification service started`, `c2s listener started`.
    ServiceStarted { name: String },
    /// `<name> service stopped`, `c2s listener stopped`.
    ServiceStopped { name: String },
    /// `shutting down: closing every client stream`.
    ShuttingDown,
    /// `agent session lost with its node: user=… resource=… node=…` (web services log, on the
    /// node driving the CTI side): a cluster node died holding this agent's session.
    NodeSessionLost { user: String, resource: String, node: String },
    /// `node lost: its lease expired; its sessions count as disconnected node=… sessions=…`
    /// (notification log, on the survivor that reaped it).
    NodeLost { node: String, sessions: Option<u64> },
}

/// What a `PRESENCE DRIVEN LOGOUT` line says was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Logout {
    /// The grace ended: a forced request (`LOGOUT`, `NOT_READY`) went to the CTI side.
    Forced { action: String },
    /// The agent had signed out already: no request.
    AlreadyOut,
    /// Held (the CTI link is down); decided again later.
    Held { why: String },
}

/// A recognised line with its time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogEvent {
    /// When (epoch ms, UTC).
    pub(crate) at_ms: u64,
    /// What.
    pub(crate) event: Event,
    /// The line as evidence (trimmed, cut to a sane length).
    pub(crate) line: String,
}

/// Reads one line; `None` for a line without a timestamp or one the doctor does not know.
pub(crate) fn parse_line(line: &str) -> Option<LogEvent> {
    let trimmed = line.trim();
    let (at_ms, text) = if trimmed.starts_with('{') {
        json_line(trimmed)?
    } else {
        let (at_ms, words) = timestamp(trimmed)?;
        (at_ms, format!(" {}", after_words(trimmed, words)))
    };
    let event = recognise(&text)?;
    Some(LogEvent { at_ms, event, line: cut(trimmed) })
}

/// The line cut to [`EVIDENCE_CHARS`] characters.
fn cut(line: &str) -> String {
    match line.char_indices().nth(EVIDENCE_CHARS) {
        Some((at, _)) => format!("{}…", line.get(..at).unwrap_or_default()),
        None => line.to_owned(),
    }
}

/// The first timestamp among the line's leading words, with the words after it.
fn timestamp(line: &str) -> Option<(u64, usize)> {
    let words: Vec<&str> = line.split_whitespace().take(PREFIX_WORDS + 5).collect();
    let clean = |w: &str| w.trim_end_matches([':', ',', ']']).trim_start_matches('[').to_owned();
    for i in 0..words.len().min(PREFIX_WORDS + 1) {
        let w = clean(words.get(i)?);
        if let Some(ms) = time::rfc3339(&w) {
            return Some((ms, i + 1));
        }
        if let Some(next) = words.get(i + 1)
            && let Some(ms) = time::seed(&w, &clean(next))
        {
            return Some((ms, i + 2));
        }
        if let Some(rest) = words.get(i + 1..i + 5)
            && let [day, year, clock, offset] = rest
            && let Some(ms) = time::month_style(&w, day, year, clock, &clean(offset))
        {
            return Some((ms, i + 5));
        }
    }
    None
}

/// What follows the first `n` whitespace-separated words.
fn after_words(line: &str, n: usize) -> &str {
    let mut rest = line.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest.get(end..).unwrap_or_default().trim_start();
    }
    rest
}

/// A `[log] format = "json"` line: its time and its message with the other fields as
/// `key=value`, so the text rules read it.
fn json_line(line: &str) -> Option<(u64, String)> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let stamp = value.get("timestamp")?.as_str()?;
    let at_ms = time::rfc3339(stamp).or_else(|| timestamp(stamp).map(|(ms, _)| ms))?;
    let fields = value.get("fields")?.as_object()?;
    let mut text = format!(" {}", fields.get("message")?.as_str()?);
    for (key, v) in fields.iter().filter(|(k, _)| k.as_str() != "message") {
        text.push(' ');
        text.push_str(key);
        text.push('=');
        text.push_str(&v.to_string());
    }
    Some((at_ms, text))
}

/// The value of `key=` in a tracing line: quoted (`"…"`, backslash escapes) or up to a space.
pub(crate) fn field(text: &str, key: &str) -> Option<String> {
    let pattern = format!(" {key}=");
    let at = text.rfind(&pattern)? + pattern.len();
    let rest = text.get(at..)?;
    if let Some(quoted) = rest.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(out),
                '\\' => out.push(chars.next()?),
                c => out.push(c),
            }
        }
        None
    } else {
        let v: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
        (!v.is_empty()).then_some(v)
    }
}

/// The word after `marker` (up to a space, comma or parenthesis).
fn word_after(text: &str, marker: &str) -> Option<String> {
    let rest = text.get(text.find(marker)? + marker.len()..)?;
    let w: String = rest.trim_start().chars().take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '(' | ')')).collect();
    (!w.is_empty()).then_some(w)
}

/// The event a line's text names.
fn recognise(text: &str) -> Option<Event> {
    if text.contains("agent session lost with its node") {
        return Some(Event::NodeSessionLost { user: field(text, "user")?, resource: field(text, "resource")?, node: field(text, "node")? });
    }
    if text.contains("node lost: its lease expired") {
        return Some(Event::NodeLost { node: field(text, "node")?, sessions: field(text, "sessions").and_then(|n| n.parse().ok()) });
    }
    if let Some(at) = text.find("Closing idle session (id=") {
        let rest = text.get(at..)?;
        let jid = word_after(rest, "): ")?;
        return Some(Event::IdleClose { jid });
    }
    if text.contains("session record: closed") {
        let jid = field(text, "jid").filter(|j| j != "(not bound)")?;
        let silent_ms = field(text, "last_activity_ms_ago").and_then(|v| v.parse().ok());
        let transport = field(text, "transport").unwrap_or_default();
        return Some(Event::Closed { transport, jid, cause: field(text, "cause")?, silent_ms });
    }
    if let Some(at) = text.find("stream closed with an error:") {
        let condition = field(text, "condition")?;
        let peer = field(text, "peer").unwrap_or_default();
        let rest = text.get(at + "stream closed with an error:".len()..)?;
        let end = rest.find(" peer=").or_else(|| rest.find(" condition=")).unwrap_or(rest.len());
        let text = rest.get(..end).unwrap_or_default().trim().to_owned();
        return Some(Event::StreamError { peer, condition, text });
    }
    if text.contains("stanzas dropped") {
        let jid = field(text, "to").or_else(|| field(text, "who"))?;
        let dropped = field(text, "dropped").and_then(|v| v.parse().ok()).unwrap_or(1);
        return Some(Event::QueueDrop { jid, dropped });
    }
    if text.contains("session replaced") {
        return Some(Event::Replaced { jid: field(text, "jid")? });
    }
    if text.contains("session kicked by an administrator") {
        return Some(Event::Kicked { jid: field(text, "jid")? });
    }
    if let Some(at) = text.find("CTI_LINK: link to the CTI server ") {
        let rest = text.get(at..)?;
        if rest.contains(" lost") {
            let why = rest.split_once(" lost (").and_then(|(_, r)| r.split_once(')')).map(|(w, _)| w.to_owned());
            return Some(Event::CtiLost { why: why.unwrap_or_default() });
        }
        return rest.contains(" restored").then_some(Event::CtiRestored);
    }
    if text.contains("PRESENCE DRIVEN LOGOUT:") {
        let agent = word_after(text, "PRESENCE DRIVEN LOGOUT: agent")?;
        let what = if text.contains(" already logged out") {
            Logout::AlreadyOut
        } else if let Some((_, after)) = text.split_once(" held at ") {
            let why = after.split_once("Z: ").map_or("", |(_, why)| why).trim().to_owned();
            Logout::Held { why }
        } else {
            Logout::Forced { action: word_after(text, "forcing").unwrap_or_default() }
        };
        return Some(Event::PresenceLogout { agent, what });
    }
    if text.contains("AGENT_PRESENCE_MONITOR:") {
        let agent = word_after(text, "AGENT_PRESENCE_MONITOR: agent")?;
        if text.contains("timer cancelled") {
            return Some(Event::LogoutCancelled { agent });
        }
        return text.contains("no available resource").then_some(Event::GraceStarted { agent });
    }
    if text.contains("MESSAGE_TO_CTI_SERVER:") {
        return Some(Event::ToCti { agent: word_after(text, "agentid:")? });
    }
    if text.contains("shutting down: closing every client stream") {
        return Some(Event::ShuttingDown);
    }
    let suffixes = [(" service started", true), (" service stopped", false), (" listener started", true), (" listener stopped", false)];
    for (suffix, started) in suffixes {
        if let Some(at) = text.find(suffix) {
            let before = text.get(..at)?;
            let name = service_name(before)?;
            return Some(if started { Event::ServiceStarted { name } } else { Event::ServiceStopped { name } });
        }
    }
    None
}

/// The service's name before ` service started`: after the `<target>: ` of a text line.
fn service_name(before: &str) -> Option<String> {
    let name = match before.rfind(": ") {
        Some(at) => before.get(at + 2..)?,
        None => before,
    };
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests;
