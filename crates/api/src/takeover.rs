//! A cluster takeover's restore (issue 15): a node that starts the contact center because it
//! won the `cti` lease brings every agent back to the state last published on its User node —
//! every node holds those items in memory, PostgreSQL durably — before its REST router is
//! served. Finesse, after a failover, rebuilds its view from the CTI server and sends desktops
//! a snapshot; here the published items stand for the CTI server's memory, and the restore's
//! own Updates are the desktops' snapshot. Calls in flight are not carried over (the new
//! simulator has none): an agent on a call comes back in its pending state, else NOT_READY.

use std::time::Instant;

use herald_cc::takeover::{PublishedItem, published_item};
use herald_cc::{ContactCenter, RestorePlan};
use herald_cti::{CtiMachine, CtiRequest};
use herald_pubsub::{ItemQuery, PubSubError};

use crate::driver::CtiHandle;
use crate::service::CcService;

/// How many of a User node's newest items are looked at: the newest that carries a `<user>`
/// wins (refused requests publish `apiErrors` Updates on the same node, which say nothing of
/// the state).
pub const RESTORE_LOOKBACK: usize = 8;

/// What a restore did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Agents brought back to READY or NOT_READY.
    pub restored: usize,
    /// Agents whose last published state was logged out, or who had nothing published.
    pub logged_out: usize,
    /// Agents left logged out although something was published for them: an unreadable item,
    /// or a sign-in or state change the CTI side refused (each logged as a warning).
    pub skipped: usize,
}

/// What the newest items of one agent's User node say.
enum Found {
    Plan(RestorePlan),
    LoggedOut,
    Skipped,
}

/// Brings every contact-center user of `service` back to its last published state through
/// `cti` (LOGIN, then READY or NOT_READY with the reason code), waits until the CTI side
/// answered, and logs one info line with the counts.
pub async fn restore_agents<M: CtiMachine + 'static>(service: &CcService, cti: &CtiHandle<M>) -> RestoreReport {
    let began = Instant::now();
    let agents: Vec<String> = service.with_center(|cc| cc.directory().users().map(|u| u.login_id.clone()).collect());
    let mut report = RestoreReport::default();
    let mut plans = Vec::new();
    for agent in &agents {
        match find(service, agent).await {
            Found::Plan(plan) => plans.push(plan),
            Found::LoggedOut => report.logged_out += 1,
            Found::Skipped => report.skipped += 1,
        }
    }
    let requests: Vec<CtiRequest> = plans.iter().flat_map(|plan| plan.requests.iter().cloned()).collect();
    cti.with(move |machine, now| requests.into_iter().for_each(|request| machine.handle_request(now, request))).await;
    service.with_center(|cc| {
        for plan in &plans {
            if reached(cc, plan) {
                report.restored += 1;
            } else {
                report.skipped += 1;
            }
        }
    });
    tracing::info!(
        target: "webservices",
        agents = agents.len(),
        restored = report.restored,
        skipped = report.skipped,
        logged_out = report.logged_out,
        elapsed_ms = began.elapsed().as_millis() as u64,
        "takeover: agents restored from their last published state (calls in flight are not carried over)"
    );
    report
}

/// Reads `agent`'s User node and plans its restore.
async fn find(service: &CcService, agent: &str) -> Found {
    let node = format!("{}/User/{agent}", herald_cc::path::BASE);
    let page = match service.inner.core.pubsub().items(None, &node, ItemQuery::Latest(Some(RESTORE_LOOKBACK))).await {
        Ok(page) => page,
        Err(PubSubError::NodeNotFound) => return Found::LoggedOut,
        Err(err) => {
            tracing::warn!(target: "webservices", agent, %err, "takeover: the agent's User node could not be read; it stays logged out");
            return Found::Skipped;
        }
    };
    for item in page.items.iter().rev() {
        let read = match item.payload.as_deref().map(published_item) {
            Some(Ok(read)) => read,
            Some(Err(err)) => {
                tracing::warn!(target: "webservices", agent, item = item.id, %err, "takeover: the agent's last published state is unreadable; it stays logged out");
                return Found::Skipped;
            }
            None => {
                tracing::warn!(target: "webservices", agent, item = item.id, "takeover: the agent's last item has no payload; it stays logged out");
                return Found::Skipped;
            }
        };
        let PublishedItem::Agent(published) = read else { continue };
        return match service.with_center(|cc| cc.restore_plan(agent, &published)) {
            Ok(Some(plan)) => {
                if let Some(id) = plan.dropped_reason_code_id {
                    tracing::warn!(target: "webservices", agent, reason_code_id = id, "takeover: the agent's reason code is no NOT_READY code here; restored NOT_READY without it");
                }
                Found::Plan(plan)
            }
            Ok(None) => Found::LoggedOut,
            Err(err) => {
                tracing::warn!(target: "webservices", agent, %err, "takeover: the agent's last published state does not fit; it stays logged out");
                Found::Skipped
            }
        };
    }
    Found::LoggedOut
}

/// Whether the CTI side brought the agent to the plan's state (a refusal left it elsewhere).
fn reached(cc: &ContactCenter, plan: &RestorePlan) -> bool {
    let view = cc.agent_view(&plan.agent);
    if view.state == plan.target {
        return true;
    }
    tracing::warn!(
        target: "webservices",
        agent = plan.agent,
        wanted = plan.target.name(),
        now = view.state.name(),
        "takeover: the CTI side did not restore the agent's state"
    );
    false
}
