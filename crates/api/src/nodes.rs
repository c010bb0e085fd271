//! Node set-up at start: every node the contact center's configuration needs
//! ([`ContactCenter::node_plan`](herald_cc::ContactCenter::node_plan)) is created when missing,
//! given its access model, its whitelist members and the server's automatic subscriptions, and
//! reconciled with the configuration on every start (members no longer configured lose their
//! membership, and with it their subscriptions). Nodes that already match cost only look-ups;
//! the rest run many at once so that their commits share the pubsub writer's batches.

use std::collections::HashSet;

use futures_util::StreamExt;
use herald_cc::NodePlan;
use herald_core::Core;
use herald_proto::{BareJid, Jid};
use herald_pubsub::{AccessModel, Affiliation, NodeConfig, PubSub, PubSubError};

/// What the set-up did, for the log and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetupReport {
    /// Nodes created.
    pub created: usize,
    /// Nodes whose configuration was corrected.
    pub reconfigured: usize,
    /// Memberships granted.
    pub members_added: usize,
    /// Memberships withdrawn.
    pub members_removed: usize,
    /// Automatic subscriptions made.
    pub subscribed: usize,
    /// Login ids that are not valid JID localparts (skipped and logged).
    pub invalid_logins: usize,
}

impl SetupReport {
    fn add(&mut self, other: Self) {
        self.created += other.created;
        self.reconfigured += other.reconfigured;
        self.members_added += other.members_added;
        self.members_removed += other.members_removed;
        self.subscribed += other.subscribed;
        self.invalid_logins += other.invalid_logins;
    }
}

/// The configuration every contact-center node has: whitelist (or open), `max_items` kept for
/// catch-up, published by the server only, no last item sent on subscribe (Finesse sends none).
pub fn node_config(open: bool, max_items: usize) -> NodeConfig {
    let mut config = NodeConfig::with_max_items(max_items);
    config.access_model = if open { AccessModel::Open } else { AccessModel::Whitelist };
    config.send_last_on_subscribe = false;
    config
}

/// One change a node needs beyond its existence and configuration.
enum Change {
    /// Grant membership (whitelist access).
    AddMember(String, BareJid),
    /// Withdraw membership; the JID's subscriptions go with it.
    RemoveMember(String, BareJid),
    /// Subscribe the bare JID as the server.
    Subscribe(String, BareJid),
}

/// One set-up operation in flight.
type Step<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<SetupReport, PubSubError>> + Send + 'a>>;

/// Sets up every planned node, `concurrency` operations at a time: first the nodes themselves,
/// then every membership and subscription they lack (look-ups decide, so a node that already
/// matches costs no commit).
pub async fn setup(core: &Core, plans: &[NodePlan], max_items: usize, concurrency: usize) -> Result<SetupReport, PubSubError> {
    let domain = core.domain().to_owned();
    let pubsub = core.pubsub();
    let concurrency = concurrency.max(1);
    let mut report = SetupReport::default();
    // Boxed one by one before they are streamed: a closure over `&NodePlan` handed to the stream
    // would make this future impossible to prove `Send` inside `herald::run`.
    let pending: Vec<Step<'_>> = plans.iter().map(|plan| Box::pin(ensure_node(pubsub, plan, max_items)) as Step<'_>).collect();
    let mut nodes = futures_util::stream::iter(pending).buffer_unordered(concurrency);
    while let Some(result) = nodes.next().await {
        report.add(result?);
    }
    drop(nodes);
    let mut changes = Vec::new();
    for plan in plans {
        changes_of(pubsub, &domain, plan, &mut changes, &mut report)?;
    }
    let pending: Vec<Step<'_>> = changes.into_iter().map(|change| Box::pin(apply(pubsub, change)) as Step<'_>).collect();
    let mut applied = futures_util::stream::iter(pending).buffer_unordered(concurrency);
    while let Some(result) = applied.next().await {
        report.add(result?);
    }
    Ok(report)
}

fn jid_of(login: &str, domain: &str, report: &mut SetupReport) -> Option<BareJid> {
    match BareJid::new(&format!("{login}@{domain}")) {
        Ok(jid) => Some(jid),
        Err(err) => {
            tracing::warn!(target: "notification", login, %err, "contact-center user is not a valid JID: no node access");
            report.invalid_logins += 1;
            None
        }
    }
}

/// Creates the node, or corrects its configuration.
async fn ensure_node(pubsub: &PubSub, plan: &NodePlan, max_items: usize) -> Result<SetupReport, PubSubError> {
    let mut report = SetupReport::default();
    let node = plan.node.as_str();
    let wanted = node_config(plan.open, max_items);
    if !pubsub.node_exists(node) {
        match pubsub.create_node(None, Some(node), Some(wanted)).await {
            Ok(_) => report.created += 1,
            Err(PubSubError::NodeExists) => {}
            Err(err) => return Err(err),
        }
    } else if pubsub.node_config(None, node)? != wanted {
        pubsub.configure_node(None, node, wanted).await?;
        report.reconfigured += 1;
    }
    Ok(report)
}

/// What `plan`'s node lacks or has too much of, by look-ups.
fn changes_of(pubsub: &PubSub, domain: &str, plan: &NodePlan, out: &mut Vec<Change>, report: &mut SetupReport) -> Result<(), PubSubError> {
    let node = &plan.node;
    let members: Vec<BareJid> = plan.members.iter().filter_map(|m| jid_of(m, domain, report)).collect();
    let current = pubsub.affiliations(None, node)?;
    let wanted_members: HashSet<&str> = members.iter().map(|j| j.as_str()).collect();
    for jid in members.iter() {
        let has = current.iter().find(|(j, _)| j == jid.as_str()).map_or(Affiliation::None, |(_, a)| *a);
        if has < Affiliation::Member && has != Affiliation::Outcast {
            out.push(Change::AddMember(node.clone(), jid.clone()));
        }
    }
    for (jid, affiliation) in &current {
        if *affiliation == Affiliation::Member
            && !wanted_members.contains(jid.as_str())
            && let Ok(bare) = BareJid::new(jid)
        {
            out.push(Change::RemoveMember(node.clone(), bare));
        }
    }
    // Only a subscription of the bare JID itself counts: it reaches every resource.
    let subscribed: HashSet<String> = pubsub.node_subscriptions(None, node)?.into_iter().map(|(jid, _, _)| jid).collect();
    for login in &plan.subscribers {
        if let Some(jid) = jid_of(login, domain, report)
            && !subscribed.contains(jid.as_str())
        {
            out.push(Change::Subscribe(node.clone(), jid));
        }
    }
    Ok(())
}

async fn apply(pubsub: &PubSub, change: Change) -> Result<SetupReport, PubSubError> {
    let mut report = SetupReport::default();
    match change {
        Change::AddMember(node, jid) => {
            pubsub.set_affiliation(None, &node, &jid, Affiliation::Member).await?;
            report.members_added += 1;
        }
        Change::RemoveMember(node, jid) => {
            pubsub.set_affiliation(None, &node, &jid, Affiliation::None).await?;
            report.members_removed += 1;
        }
        Change::Subscribe(node, jid) => {
            pubsub.subscribe(None, &node, &Jid::from(jid)).await?;
            report.subscribed += 1;
        }
    }
    Ok(report)
}
