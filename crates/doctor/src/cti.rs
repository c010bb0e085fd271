//! The CTI link: its outages from the `CTI_LINK … lost` / `… restored` lines (and the live
//! status when no line tells), and one `CtiLink` verdict per outage.

use crate::logs::{Event, LogEvent};
use crate::verdict::verdict;
use crate::{Evidence, Verdict, VerdictKind, time};

/// A CTI link outage: lost at, restored at (None: still down), the lines.
#[derive(Clone, Debug)]
pub(crate) struct Outage {
    /// When the link was declared lost.
    pub(crate) from_ms: u64,
    /// When it came back.
    pub(crate) until_ms: Option<u64>,
    /// Why (`3 heartbeats missed`, `connection lost`).
    pub(crate) why: String,
    /// The lines.
    pub(crate) lines: Vec<String>,
}

/// Whether a service is a listener (everything but the CTI link, which connects out).
pub(crate) fn is_listener(name: &str) -> bool {
    !name.to_ascii_uppercase().contains("CTI")
}

/// The CTI link's outages, in order, from its lines (and the live status when no line says so).
pub(crate) fn outages(events: &[LogEvent], evidence: &Evidence) -> Vec<Outage> {
    let mut out: Vec<Outage> = Vec::new();
    for e in events {
        match &e.event {
            Event::CtiLost { why } => match out.last_mut().filter(|o| o.until_ms.is_none()) {
                Some(open) => open.lines.push(e.line.clone()),
                None => out.push(Outage { from_ms: e.at_ms, until_ms: None, why: why.clone(), lines: vec![e.line.clone()] }),
            },
            Event::CtiRestored => {
                if let Some(open) = out.last_mut().filter(|o| o.until_ms.is_none()) {
                    open.until_ms = Some(e.at_ms);
                    open.lines.push(e.line.clone());
                }
            }
            _ => {}
        }
    }
    let cti_down = evidence.services.iter().find(|s| !is_listener(&s.name) && !s.up);
    if let Some(s) = cti_down
        && out.last().is_none_or(|o| o.until_ms.is_some())
    {
        let line = format!("status: {} up=false", s.name);
        out.push(Outage { from_ms: evidence.now_ms, until_ms: None, why: "the status reports it down".to_owned(), lines: vec![line] });
    }
    out
}

/// One outage as a verdict.
pub(crate) fn cti_verdict(o: &Outage, now: u64) -> Verdict {
    let back = match o.until_ms {
        Some(t) => format!("restored at {} after {}", time::format(t), time::secs(t.saturating_sub(o.from_ms))),
        None => format!("still down ({} so far)", time::secs(now.saturating_sub(o.from_ms))),
    };
    let why = if o.why.is_empty() { String::new() } else { format!(" ({})", o.why) };
    let summary = format!(
        "the link to the CTI server was lost at {}{why}: OUT_OF_SERVICE for every desktop, REST requests refused, presence-driven logouts held; {back}",
        time::format(o.from_ms)
    );
    verdict(VerdictKind::CtiLink, "CTI link", summary, o.lines.clone())
}
