//! The agents scenario's failover mode (`--failover-ports`): a desktop whose session dies (the
//! bench kills its node) reconnects to the next node in the list, logs in again, asks its User
//! node's history for the items published `after` the last one it saw (XEP-0059) and counts
//! what it missed; every desktop keeps a ledger of the items and `requestId`s it saw, live or
//! from the history, so that at the end every change accepted with 202 is checked against it
//! (lost) and every item seen twice is counted (duplicated).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use herald_xml::Element;
use tokio::sync::watch;

use super::Run;
use super::login::log_in;
use super::matcher::{UpdateSeen, updates_in_history};
use crate::LoadError;
use crate::agent_figures::{FailoverAudit, FailoverFigures};
use crate::session::{Session, hold};
use crate::xmpp::{SaltCache, XmppIo};

/// Reconnection attempts a desktop makes before it gives up.
const ATTEMPTS: u32 = 40;
/// The pause between two attempts, as a desktop's reconnect back-off.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// Longest a history query may take.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(60);
const NS_PUBSUB: &str = "http://jabber.org/protocol/pubsub";
const NS_RSM: &str = "http://jabber.org/protocol/rsm";

/// What one desktop saw of its User node.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// The last item seen, the one the history query starts after.
    last_item: Option<String>,
    items: HashSet<String>,
    request_ids: HashSet<String>,
    duplicated: u64,
}

impl Ledger {
    /// Counts `updates` seen on `node` (others are ignored); returns how many were new.
    fn record(&mut self, node: &str, updates: &[UpdateSeen]) -> u64 {
        let mut new = 0;
        for update in updates.iter().filter(|u| u.node == node && !u.item.is_empty()) {
            if self.items.insert(update.item.clone()) {
                self.last_item = Some(update.item.clone());
                self.request_ids.insert(update.request_id.clone());
                new += 1;
            } else {
                self.duplicated += 1;
            }
        }
        new
    }
}

/// The run's failover state: the nodes to fail over to, each desktop's ledger, the changes
/// accepted, and the recovery's clock and tallies.
pub(crate) struct Failover {
    ports: Vec<u16>,
    ledgers: Vec<Mutex<Ledger>>,
    accepted: Mutex<Vec<(usize, String)>>,
    first_loss: OnceLock<Instant>,
    sessions_lost: AtomicUsize,
    back: AtomicUsize,
    caught_up: AtomicUsize,
    failed: AtomicUsize,
    last_back_us: AtomicU64,
    last_caught_up_us: AtomicU64,
    missed_items: AtomicU64,
}

impl Failover {
    pub(crate) fn new(ports: Vec<u16>, desktops: usize) -> Self {
        Self {
            ports,
            ledgers: (0..desktops).map(|_| Mutex::default()).collect(),
            accepted: Mutex::default(),
            first_loss: OnceLock::new(),
            sessions_lost: AtomicUsize::new(0),
            back: AtomicUsize::new(0),
            caught_up: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            last_back_us: AtomicU64::new(0),
            last_caught_up_us: AtomicU64::new(0),
            missed_items: AtomicU64::new(0),
        }
    }

    /// The port desktop `n` tries at `attempt`: the list is spread over the desktops (so the
    /// survivors share them) and each new attempt moves on to the next node.
    pub(super) fn port_for(&self, n: usize, attempt: u32) -> Option<u16> {
        (!self.ports.is_empty()).then(|| self.ports[(n + attempt as usize) % self.ports.len()])
    }

    fn ledger(&self, agent: usize) -> Option<std::sync::MutexGuard<'_, Ledger>> {
        self.ledgers.get(agent).map(|l| l.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Counts what `agent`'s desktop saw on its User node `node`; returns how many were new.
    pub(crate) fn record(&self, agent: usize, node: &str, updates: &[UpdateSeen]) -> u64 {
        self.ledger(agent).map_or(0, |mut l| l.record(node, updates))
    }

    /// A change for `agent` was accepted with 202 under `request_id`.
    pub(crate) fn accepted(&self, agent: usize, request_id: &str) {
        self.accepted.lock().unwrap_or_else(|e| e.into_inner()).push((agent, request_id.to_owned()));
    }

    /// Microseconds since the first loss (which is now if none was seen yet).
    fn since_first_loss(&self) -> u64 {
        self.first_loss.get_or_init(Instant::now).elapsed().as_micros() as u64
    }

    /// Whether every desktop that lost its session has caught up or given up, and `desktops`
    /// lost theirs.
    pub(crate) fn settled(&self, desktops: usize) -> bool {
        let lost = self.sessions_lost.load(Ordering::Relaxed);
        lost >= desktops && self.caught_up.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed) >= lost
    }

    /// The changes accepted with 202 whose Update no desktop has seen yet, live or from the
    /// history, as (agent, `requestId`).
    pub(crate) fn unseen(&self) -> Vec<(usize, String)> {
        let accepted = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
        accepted.iter().filter(|(agent, id)| self.ledger(*agent).is_none_or(|l| !l.request_ids.contains(id))).cloned().collect()
    }

    /// The figures, once the run is over (`audit`: what the end of the run found of the changes
    /// unseen when it settled).
    pub(crate) fn figures(&self, unseen_at_settle: usize, audit: FailoverAudit) -> FailoverFigures {
        let accepted = self.accepted.lock().unwrap_or_else(|e| e.into_inner()).len();
        FailoverFigures {
            sessions_lost: self.sessions_lost.load(Ordering::Relaxed),
            back: self.back.load(Ordering::Relaxed),
            caught_up: self.caught_up.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            all_back_secs: self.last_back_us.load(Ordering::Relaxed) as f64 / 1e6,
            all_caught_up_secs: self.last_caught_up_us.load(Ordering::Relaxed) as f64 / 1e6,
            missed_items: self.missed_items.load(Ordering::Relaxed),
            accepted: accepted as u64,
            unseen_at_settle: unseen_at_settle as u64,
            audit,
            duplicated: self.ledgers.iter().map(|l| l.lock().unwrap_or_else(|e| e.into_inner()).duplicated).sum(),
        }
    }
}

/// Desktop `n` lost its session: reconnects to the next node, catches up on its User node's
/// history, and holds the new session until `stop`. Gives up (counted) after [`ATTEMPTS`].
pub(crate) async fn recover(
    run: &Arc<Run>,
    failover: &Failover,
    n: usize,
    tls: Option<&tokio_rustls::TlsConnector>,
    cache: &SaltCache,
    stop: &mut watch::Receiver<bool>,
) {
    failover.since_first_loss();
    failover.sessions_lost.fetch_add(1, Ordering::Relaxed);
    let login = run.login_id(n);
    for attempt in 1..=ATTEMPTS {
        if *stop.borrow() {
            return;
        }
        let Some(port) = failover.port_for(n, attempt) else { break };
        let opts = crate::Options { http_port: port, ..(*run.opts).clone() };
        let mut session = match log_in(&opts, n, &login, tls, cache).await {
            Ok(session) => session,
            Err(e) => {
                run.note_error(format!("{login} reconnecting to port {port}: {e}"));
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
        };
        failover.back.fetch_add(1, Ordering::Relaxed);
        failover.last_back_us.fetch_max(failover.since_first_loss(), Ordering::Relaxed);
        match tokio::time::timeout(CATCH_UP_LIMIT, catch_up(run, failover, n, &mut session)).await {
            Ok(Ok(missed)) => {
                failover.missed_items.fetch_add(missed, Ordering::Relaxed);
                failover.caught_up.fetch_add(1, Ordering::Relaxed);
                failover.last_caught_up_us.fetch_max(failover.since_first_loss(), Ordering::Relaxed);
            }
            Ok(Err(e)) => {
                run.note_error(format!("{login} catching up: {e}"));
                failover.failed.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                run.note_error(format!("{login} catching up took longer than {} s", CATCH_UP_LIMIT.as_secs()));
                failover.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        let round_trips = AtomicU64::new(0);
        hold(session, stop, &round_trips, |stanza| run.received(n, &stanza)).await;
        return;
    }
    failover.failed.fetch_add(1, Ordering::Relaxed);
}

/// Asks the history of desktop `n`'s User node for the items after the last one it saw and
/// records them (what arrives live meanwhile is recorded too); returns how many were new.
async fn catch_up(run: &Run, failover: &Failover, n: usize, session: &mut Session) -> Result<u64, LoadError> {
    let node = user_node(&run.login_id(n));
    let after = failover.ledger(n).and_then(|l| l.last_item.clone());
    session.send(&history_query(&run.opts.pubsub_service(), &node, after.as_deref()).to_xml()).await?;
    loop {
        let stanza = session.next().await?;
        if !is_history_answer(&stanza) {
            run.received(n, &stanza);
            continue;
        }
        if stanza.attr("type") != Some("result") {
            return Err(LoadError::Protocol(format!("history query refused: {}", stanza.to_xml())));
        }
        let updates = updates_in_history(&stanza);
        run.matcher.completed(n, &updates, Instant::now());
        return Ok(failover.record(n, &node, &updates));
    }
}

const CATCH_UP_ID: &str = "catch-up";

/// Whether `stanza` answers [`history_query`].
pub(super) fn is_history_answer(stanza: &Element) -> bool {
    stanza.name == "iq" && stanza.attr("id") == Some(CATCH_UP_ID)
}

/// Agent `login`'s User node.
pub(crate) fn user_node(login: &str) -> String {
    format!("/finesse/api/User/{login}")
}

/// The items query for `node` after item `after` (XEP-0059), or its whole history without one.
pub(super) fn history_query(service: &str, node: &str, after: Option<&str>) -> Element {
    let mut pubsub = Element::new("pubsub", NS_PUBSUB).with_child(Element::new("items", NS_PUBSUB).with_attr("node", node));
    if let Some(after) = after {
        pubsub.push_child(Element::new("set", NS_RSM).with_child(Element::new("after", NS_RSM).with_text(after)));
    }
    Element::new("iq", "jabber:client").with_attr("type", "get").with_attr("id", CATCH_UP_ID).with_attr("to", service).with_child(pubsub)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(node: &str, item: &str, request_id: &str) -> UpdateSeen {
        UpdateSeen { node: node.into(), item: item.into(), request_id: request_id.into(), refused: false }
    }

    #[test]
    fn the_ledger_keeps_the_last_new_item_and_counts_repeats() {
        let mut ledger = Ledger::default();
        let node = "/finesse/api/User/agent1";
        assert_eq!(ledger.record(node, &[seen(node, "i1", "r-1"), seen(node, "i2", "r-2")]), 2);
        assert_eq!(ledger.record(node, &[seen(node, "i2", "r-2"), seen(node, "i3", "")]), 1, "i2 again is a duplicate");
        assert_eq!((ledger.last_item.as_deref(), ledger.duplicated), (Some("i3"), 1));
        assert_eq!(
            ledger.record(node, &[seen("/finesse/api/Team/1", "t1", "r-9"), seen(node, "", "r-8")]),
            0,
            "other nodes and id-less items"
        );
        assert!(ledger.request_ids.contains("r-2") && !ledger.request_ids.contains("r-9"));
    }

    #[test]
    fn lost_changes_are_the_accepted_ones_no_ledger_saw() {
        let failover = Failover::new(vec![1, 2], 2);
        let node = user_node("agent0");
        failover.record(0, &node, &[seen(&node, "i1", "r-1")]);
        failover.record(0, &node, &[seen(&node, "i1", "r-1")]);
        for (agent, id) in [(0, "r-1"), (0, "r-2"), (1, "r-1"), (7, "r-3")] {
            failover.accepted(agent, id);
        }
        assert_eq!(
            failover.unseen(),
            [(0, "r-2".to_owned()), (1, "r-1".to_owned()), (7, "r-3".to_owned())],
            "r-1 reached agent 0 only; agent 7 is unknown"
        );
        let figures = failover.figures(3, FailoverAudit::default());
        assert_eq!((figures.accepted, figures.unseen_at_settle, figures.duplicated), (4, 3, 1));
    }

    #[test]
    fn desktops_spread_over_the_survivors_and_move_on_at_each_attempt() {
        let failover = Failover::new(vec![10, 20], 0);
        assert_eq!([failover.port_for(0, 1), failover.port_for(1, 1), failover.port_for(0, 2)], [Some(20), Some(10), Some(10)]);
        assert_eq!(Failover::new(Vec::new(), 0).port_for(0, 1), None);
    }

    #[test]
    fn settled_needs_every_desktop_lost_and_each_back_or_given_up() {
        let failover = Failover::new(vec![1], 3);
        assert!(!failover.settled(2), "nothing lost yet");
        failover.sessions_lost.store(2, Ordering::Relaxed);
        failover.caught_up.store(1, Ordering::Relaxed);
        assert!(!failover.settled(2));
        failover.failed.store(1, Ordering::Relaxed);
        assert!(failover.settled(2));
        assert!(!failover.settled(3), "a desktop has not lost its session yet");
    }

    #[test]
    fn the_history_query_asks_after_the_last_item() {
        let xml = history_query("pubsub.localhost", "/finesse/api/User/agent1", Some("i<7>")).to_xml();
        assert!(xml.contains("to='pubsub.localhost'") || xml.contains("to=\"pubsub.localhost\""), "{xml}");
        assert!(xml.contains("node='/finesse/api/User/agent1'") || xml.contains("node=\"/finesse/api/User/agent1\""), "{xml}");
        assert!(xml.contains("<after>i&lt;7&gt;</after>"), "{xml}");
        assert!(!history_query("p", "n", None).to_xml().contains("after"));
    }
}
