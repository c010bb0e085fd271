//! The end of a failover run: tells apart the accepted changes no desktop had seen when the run
//! settled. Some are late (their Update arrives live within one more loss bound); of the rest,
//! each agent's User node history is read by a session of its own that sends no presence (so
//! the agent's presence, and the logout it drives, are untouched): an Update found there was
//! kept by the server but never delivered to the desktop; one not found was lost by the server.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::failover::{Failover, history_query, is_history_answer, user_node};
use super::matcher::updates_in_history;
use super::{LOSS_TIMEOUT, Run};
use crate::LoadError;
use crate::agent_figures::FailoverAudit;
use crate::bosh::BoshClient;
use crate::xmpp::{SaltCache, XmppIo, authenticate_and_bind};

/// Histories read at once.
const CONCURRENCY: usize = 32;
/// Agents whose history is read at most (the rest are counted as not audited).
const MOST_AGENTS: usize = 5_000;
/// Longest one history read may take, login included.
const READ_LIMIT: Duration = Duration::from_secs(30);
/// The audit session's resource: the desktop's is `load`, and a second resource must not
/// replace it.
const RESOURCE: &str = "audit";

/// Waits one loss bound for late Updates, then reads the history of every agent with an
/// accepted change still unseen (`at_settle` of them were when the run settled).
pub(crate) async fn audit(
    run: &Arc<Run>,
    failover: &Failover,
    at_settle: usize,
    tls: Option<&tokio_rustls::TlsConnector>,
    cache: &SaltCache,
) -> FailoverAudit {
    if at_settle == 0 {
        return FailoverAudit::default();
    }
    eprintln!("  {at_settle} accepted changes unseen: waiting {} s for late Updates, then reading the histories", LOSS_TIMEOUT.as_secs());
    tokio::time::sleep(LOSS_TIMEOUT).await;
    let mut by_agent: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let unseen = failover.unseen();
    for (agent, request_id) in &unseen {
        by_agent.entry(*agent).or_default().push(request_id.clone());
    }
    let mut counts = FailoverAudit { late: (at_settle - unseen.len()) as u64, ..FailoverAudit::default() };
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let mut reads = tokio::task::JoinSet::new();
    for (index, (agent, request_ids)) in by_agent.into_iter().enumerate() {
        if index >= MOST_AGENTS {
            counts.not_audited += request_ids.len() as u64;
            continue;
        }
        let (run, tls, cache, slots) = (run.clone(), tls.cloned(), cache.clone(), slots.clone());
        let port = failover.port_for(agent, 0);
        reads.spawn(async move {
            let _slot = slots.acquire_owned().await;
            let read = async {
                let port = port.ok_or_else(|| LoadError::Config("no failover port".into()))?;
                read_history(&run, agent, port, tls.as_ref(), &cache).await
            };
            let found = tokio::time::timeout(READ_LIMIT, read)
                .await
                .unwrap_or_else(|_| Err(LoadError::Protocol(format!("reading the history took longer than {} s", READ_LIMIT.as_secs()))));
            if let Err(e) = &found {
                run.note_error(format!("{} auditing the history: {e}", run.login_id(agent)));
            }
            (request_ids, found.ok())
        });
    }
    while let Some(read) = reads.join_next().await {
        if let Ok((request_ids, found)) = read {
            counts.tally(&request_ids, found.as_ref());
        }
    }
    counts
}

impl FailoverAudit {
    /// Counts an agent's unseen `request_ids` against the `requestId`s its history keeps
    /// (`None`: the history could not be read).
    fn tally(&mut self, request_ids: &[String], history: Option<&HashSet<String>>) {
        match history {
            None => self.not_audited += request_ids.len() as u64,
            Some(history) => {
                let kept = request_ids.iter().filter(|id| history.contains(*id)).count() as u64;
                self.in_history += kept;
                self.not_in_history += request_ids.len() as u64 - kept;
            }
        }
    }
}

/// The `requestId`s of the Updates agent `agent`'s User node keeps, read on the node at `port`.
async fn read_history(
    run: &Run,
    agent: usize,
    port: u16,
    tls: Option<&tokio_rustls::TlsConnector>,
    cache: &SaltCache,
) -> Result<HashSet<String>, LoadError> {
    let opts = crate::Options { http_port: port, ..(*run.opts).clone() };
    let login = run.login_id(agent);
    let mut session = BoshClient::connect(&opts, agent, tls.filter(|_| opts.https)).await?;
    session.create().await?;
    authenticate_and_bind(&mut session, &opts, &login, RESOURCE, cache).await?;
    session.send(&history_query(&opts.pubsub_service(), &user_node(&login), None).to_xml()).await?;
    let answer = loop {
        let stanza = session.next().await?;
        if is_history_answer(&stanza) {
            break stanza;
        }
    };
    if answer.attr("type") != Some("result") {
        return Err(LoadError::Protocol(format!("history query refused: {}", answer.to_xml())));
    }
    let _ = session.terminate().await;
    Ok(updates_in_history(&answer).into_iter().map(|u| u.request_id).filter(|id| !id.is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unseen_changes_are_kept_in_the_history_lost_or_not_audited() {
        let mut counts = FailoverAudit { late: 2, ..FailoverAudit::default() };
        let history: HashSet<String> = ["r-1", "r-3"].map(String::from).into();
        counts.tally(&["r-1".into(), "r-2".into()], Some(&history));
        counts.tally(&["r-3".into()], Some(&history));
        counts.tally(&["r-4".into(), "r-5".into()], None);
        assert_eq!(counts, FailoverAudit { late: 2, in_history: 2, not_in_history: 1, not_audited: 2 });
    }
}
