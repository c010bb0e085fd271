//! Who may see a node, at every step: when a request arrives (subscribe, items, disco), when an
//! affiliation or the access model changes (the subscriptions that no longer pass are dropped,
//! persisted, and their holders told), and again at delivery, so no path keeps access that was
//! taken away.
//!
//! Whitelist and presence nodes are hidden from outsiders: every answer to them is the same
//! item-not-found a missing node gets (XEP-0060 allows it), so nobody learns which such nodes
//! exist.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use herald_proto::BareJid;
use herald_store::PubSubOp;
use herald_xml::Element;

use crate::PubSub;
use crate::delivery::Target;
use crate::error::PubSubError;
use crate::model::{AccessModel, Affiliation, Node, NodeConfig, Subscription};
use crate::ns;
use crate::undo::{NodeUndo, Undo};

/// Answers the `presence` access model's question. The core implements it from its rosters.
pub trait RosterCheck: Send + Sync + 'static {
    /// Whether the roster of `owner` (a bare JID) grants `contact` (a bare JID) a presence
    /// subscription (`from` or `both`).
    fn grants_presence<'a>(&'a self, owner: &'a str, contact: &'a str) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>>;
}

/// The one answer for a node that is missing or hidden from the requester.
pub(crate) fn not_found() -> PubSubError {
    PubSubError::NodeNotFound
}

/// Whether nodes of `model` hide their existence from those who may not access them.
pub(crate) fn hides(model: AccessModel) -> bool {
    matches!(model, AccessModel::Whitelist | AccessModel::Presence)
}

/// Whether `bare` is an outsider of a hidden node: an outcast, or not affiliated where only
/// affiliates (or owners' contacts, whom this does not look up) may look.
pub(crate) fn hidden_from(node: &Node, bare: &str) -> bool {
    hides(node.config.access_model) && node.affiliation(bare) < Affiliation::Member
}

/// The node named `name`, unless it is missing or hidden from `who` (`None`: the server).
pub(crate) fn visible<'a>(node: Option<&'a mut Node>, who: Option<&BareJid>) -> Result<&'a mut Node, PubSubError> {
    match node {
        Some(n) if who.is_none_or(|w| !hidden_from(n, w.as_str())) => Ok(n),
        _ => Err(not_found()),
    }
}

/// The delivery-time check: whether a subscription of `bare` may still receive the node's
/// notifications. Two hash lookups, no store query. Presence-model access was checked against
/// the roster at subscribe time and is checked again when the model changes.
pub(crate) fn may_receive(node: &Node, bare: &str) -> bool {
    match node.affiliation(bare) {
        Affiliation::Outcast => false,
        a => node.config.access_model != AccessModel::Whitelist || a >= Affiliation::Member,
    }
}

/// Whether [`may_receive`] can be false for anyone on this node: whitelist nodes, and nodes
/// with an outcast (affiliation lists are short; subscriber lists may be long).
pub(crate) fn may_exclude(node: &Node) -> bool {
    node.config.access_model == AccessModel::Whitelist || node.affiliations.values().any(|a| *a == Affiliation::Outcast)
}

/// Whether a subscription has lost its access. `roster_ok`, when given, lists the JIDs an
/// owner's roster lets read a presence node; without it the roster is not judged.
pub(crate) fn lost(node: &Node, sub: &Subscription, roster_ok: Option<&HashSet<String>>) -> bool {
    let presence_denied = || {
        node.config.access_model == AccessModel::Presence
            && node.affiliation(&sub.bare) < Affiliation::Member
            && roster_ok.is_some_and(|ok| !ok.contains(&sub.bare))
    };
    !may_receive(node, &sub.bare) || presence_denied()
}

/// The facts an access decision needs.
pub(crate) struct AccessInfo {
    pub(crate) config: NodeConfig,
    pub(crate) affiliation: Affiliation,
    pub(crate) subscribed: bool,
    pub(crate) owners: Vec<String>,
}

/// The bare JIDs owning a node.
pub(crate) fn owners(node: &Node) -> Vec<String> {
    node.affiliations.iter().filter(|(_, a)| **a == Affiliation::Owner).map(|(j, _)| j.clone()).collect()
}

impl PubSub {
    /// What an access decision needs to know about a node, taken under the lock without copying
    /// the node (which may hold thousands of subscriptions).
    pub(crate) fn access_info(&self, node: &str, who: Option<&BareJid>) -> Result<AccessInfo, PubSubError> {
        let nodes = self.nodes();
        let n = nodes.get(node).ok_or_else(not_found)?;
        let who = who.map(|w| w.as_str());
        Ok(AccessInfo {
            config: n.config.clone(),
            affiliation: who.map_or(Affiliation::Owner, |w| n.affiliation(w)),
            subscribed: who.is_some_and(|w| n.is_subscribed(w)),
            owners: owners(n),
        })
    }

    /// Whether `who` may see the node (subscribe, retrieve items, discover it). `None` is the
    /// server itself. Outsiders of hidden nodes get [`not_found`].
    pub(crate) async fn check_access(&self, info: &AccessInfo, who: Option<&BareJid>) -> Result<(), PubSubError> {
        let Some(who) = who else { return Ok(()) };
        let hidden = hides(info.config.access_model);
        if info.affiliation == Affiliation::Outcast {
            return Err(if hidden { not_found() } else { PubSubError::Forbidden });
        }
        if info.affiliation >= Affiliation::Member {
            return Ok(());
        }
        match info.config.access_model {
            AccessModel::Open | AccessModel::Authorize => Ok(()),
            AccessModel::Whitelist => Err(not_found()),
            AccessModel::Presence if self.in_owners_roster(&info.owners, who.as_str()).await => Ok(()),
            AccessModel::Presence => Err(not_found()),
        }
    }

    /// `Ok` when `node` exists and is not hidden from `who`; the same [`not_found`] otherwise.
    pub(crate) async fn node_visible(&self, who: &BareJid, node: &str) -> Result<(), PubSubError> {
        let info = self.access_info(node, Some(who))?;
        match self.check_access(&info, Some(who)).await {
            Err(_) if hides(info.config.access_model) => Err(not_found()),
            _ => Ok(()),
        }
    }

    /// Whether an owner has granted `who` a presence subscription (the presence access model).
    async fn in_owners_roster(&self, owners: &[String], who: &str) -> bool {
        for owner in owners {
            if self.shared.roster.grants_presence(owner, who).await {
                return true;
            }
        }
        false
    }

    /// The unaffiliated subscribers of `node` whom an owner's roster lets read it under the
    /// presence model (asked before a node becomes presence-only).
    pub(crate) async fn roster_readers(&self, node: &str) -> HashSet<String> {
        let (owners, candidates): (Vec<String>, HashSet<String>) = {
            let nodes = self.nodes();
            let Some(n) = nodes.get(node) else { return HashSet::new() };
            let candidates = n.subscriptions.iter().filter(|s| n.affiliation(&s.bare) < Affiliation::Member).map(|s| s.bare.clone());
            (owners(n), candidates.collect())
        };
        let mut ok = HashSet::new();
        for bare in candidates {
            if self.in_owners_roster(&owners, &bare).await {
                ok.insert(bare);
            }
        }
        ok
    }

    /// Called when `owner`'s roster stops granting `contact` a presence subscription: the
    /// contact's subscriptions to presence-model nodes `owner` owns are dropped (and the contact
    /// told) unless it is affiliated or another owner's roster still grants it. This is what
    /// keeps the delivery-time check of presence nodes a hash lookup.
    pub async fn roster_revoked(&self, owner: &BareJid, contact: &str) {
        let reliant = |n: &Node| n.config.access_model == AccessModel::Presence && n.affiliation(contact) < Affiliation::Member;
        let candidates: Vec<(String, Vec<String>)> = {
            let nodes = self.nodes();
            nodes
                .values()
                .filter(|n| n.affiliation(owner.as_str()) == Affiliation::Owner && reliant(n))
                .filter(|n| n.subscriptions.iter().any(|s| s.bare == contact))
                .map(|n| (n.name.clone(), owners(n)))
                .collect()
        };
        for (node, owners) in candidates {
            if self.in_owners_roster(&owners, contact).await {
                continue;
            }
            let gone = self.nodes().remove_subscriptions(&node, |n, s| s.bare == contact && reliant(n));
            if gone.is_empty() {
                continue;
            }
            if let Err(e) = self.commit(Self::drop_ops(&node, &gone), None, Some(Self::undo_drop(&node, &gone))).await {
                // Rolled back: the subscriptions stay, as stored.
                tracing::error!(target: "notification", node, error = %e, "dropping pubsub subscriptions could not be stored");
                continue;
            }
            self.tell_dropped(&node, &gone);
        }
    }

    /// How to put back the subscriptions `gone` from `node`.
    pub(crate) fn undo_drop(node: &str, gone: &[Subscription]) -> Undo {
        Undo::Changed(NodeUndo { removed_subscriptions: gone.to_vec(), ..NodeUndo::of(node) })
    }

    /// The store changes that drop `gone` from `node`.
    pub(crate) fn drop_ops(node: &str, gone: &[Subscription]) -> Vec<PubSubOp> {
        gone.iter().map(|s| PubSubOp::DeleteSubscription { node: node.to_owned(), subid: s.subid.clone() }).collect()
    }

    /// Tells each holder of a dropped subscription (XEP-0060 §8.8.4 shape), after the drop was
    /// committed, and logs it.
    pub(crate) fn tell_dropped(&self, node: &str, gone: &[Subscription]) {
        for s in gone {
            tracing::info!(target: "notification", node, jid = %s.jid, subid = %s.subid, "pubsub subscription dropped: access lost");
            let event: Arc<str> = Element::new("event", ns::EVENT)
                .with_child(
                    Element::new("subscription", ns::EVENT)
                        .with_attr("node", node)
                        .with_attr("jid", s.jid.clone())
                        .with_attr("subid", s.subid.clone())
                        .with_attr("subscription", "none"),
                )
                .to_xml()
                .into();
            let target = Target { bare: s.bare.clone(), resource: s.resource.clone(), subid: None };
            self.send_now(&self.notification(vec![target], event, format!("revoked-{}", s.subid)));
        }
    }
}
