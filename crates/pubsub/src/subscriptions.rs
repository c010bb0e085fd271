//! Subscription operations: subscribe (with the owners' approval for `authorize` nodes and the
//! last item sent at once), unsubscribe, the owners' management of subscriptions, and the
//! `pubsub#deliver` option. Each change is made in memory, queued with how to undo it, and
//! acknowledged once committed.

use std::sync::Arc;

use herald_proto::{BareJid, Jid};
use herald_store::PubSubOp;

use crate::PubSub;
use crate::access::{self, not_found};
use crate::delivery::Target;
use crate::error::PubSubError;
use crate::forms::form;
use crate::model::{AccessModel, Affiliation, SubState, Subscription};
use crate::persistence::{subscription, to_stored_sub};
use crate::undo::{NodeUndo, Undo};

/// What a subscribe request produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscribeOutcome {
    /// Subscription id.
    pub subid: String,
    /// The subscribed JID.
    pub jid: String,
    /// Subscribed, or pending an owner's approval.
    pub state: SubState,
}

impl PubSub {
    /// Subscribes `jid` to a node. A user may subscribe only its own JIDs; the server may
    /// subscribe anyone. The last item is sent at once when the node is so configured.
    pub async fn subscribe(&self, who: Option<&BareJid>, node: &str, jid: &Jid) -> Result<SubscribeOutcome, PubSubError> {
        if let Some(w) = who
            && &jid.to_bare() != w
        {
            return Err(PubSubError::InvalidJid);
        }
        let info = self.access_info(node, who)?;
        self.check_access(&info, who).await?;
        let pending = who.is_some() && info.config.access_model == AccessModel::Authorize && info.affiliation < Affiliation::Member;
        let state = if pending { SubState::Pending } else { SubState::Subscribed };
        let sub = subscription(jid, format!("{:016x}", rand::random::<u64>()), state, true);
        let (last, owners) = {
            let mut nodes = self.nodes();
            if let Some(w) = who {
                self.config().check_subscriptions(w.as_str(), nodes.counts.subscriptions(w.as_str()))?;
            }
            let n = nodes.get(node).ok_or_else(not_found)?;
            // Access may have been taken away while the roster was read.
            if who.is_some_and(|w| !access::may_receive(n, w.as_str())) {
                return Err(not_found());
            }
            let last = n.items.back().cloned().filter(|_| n.config.send_last_on_subscribe && !pending);
            let owners = access::owners(n);
            nodes.push_subscription(node, sub.clone());
            (last, owners)
        };
        let undo = Undo::Changed(NodeUndo { added_subscription: Some(sub.subid.clone()), ..NodeUndo::of(node) });
        self.commit(vec![PubSubOp::PutSubscription { node: node.to_owned(), subscription: to_stored_sub(&sub) }], None, Some(undo)).await?;
        // The roster read above may be stale: a contact's presence subscription revoked, or the
        // node made presence-only, while it was read, found no subscription yet to drop. Now that
        // every revocation sees this one, check again and undo it if it no longer passes.
        if let Some(w) = who {
            let still = match self.access_info(node, Some(w)) {
                Ok(now) => self.check_access(&now, Some(w)).await.is_ok(),
                Err(_) => false,
            };
            if !still {
                let gone = self.nodes().remove_subscriptions(node, |_, s| s.subid == sub.subid);
                self.commit(Self::drop_ops(node, &gone), None, Some(Self::undo_drop(node, &gone))).await?;
                return Err(not_found());
            }
        }
        if let Some(item) = last {
            let target = Target { bare: sub.bare.clone(), resource: sub.resource.clone(), subid: None };
            let event = Self::event(node, Self::event_item(&item, info.config.deliver_payloads));
            self.send_now(&self.notification(vec![target], event, format!("last-{}", item.seq)));
        }
        if pending {
            self.ask_owners(node, &sub, &owners);
        }
        Ok(SubscribeOutcome { subid: sub.subid, jid: sub.jid, state })
    }

    /// Sends owners the XEP-0060 §8.6 authorisation form for a pending subscription.
    fn ask_owners(&self, node: &str, sub: &Subscription, owners: &[String]) {
        let form = form(
            "form",
            "http://jabber.org/protocol/pubsub#subscribe_authorization",
            &[
                ("pubsub#subid", sub.subid.clone()),
                ("pubsub#node", node.to_owned()),
                ("pubsub#subscriber_jid", sub.jid.clone()),
                ("pubsub#allow", "0".to_owned()),
            ],
        );
        let event: Arc<str> = form.to_xml().into();
        let targets = owners.iter().map(|o| Target { bare: o.clone(), resource: None, subid: None }).collect();
        self.send_now(&self.notification(targets, event, format!("auth-{}", sub.subid)));
    }

    /// Approves or denies a pending subscription, or changes/removes one (owners only).
    pub async fn set_subscription(
        &self,
        who: Option<&BareJid>,
        node: &str,
        jid: &Jid,
        subid: Option<&str>,
        state: Option<SubState>,
    ) -> Result<(), PubSubError> {
        let (ops, undo) = self.with_owned_state(who, node, |st| {
            let matches = |s: &Subscription| s.jid == jid.as_str() && subid.is_none_or(|id| id == s.subid);
            let n = st.get_mut(node).ok_or_else(not_found)?;
            if !n.subscriptions.iter().any(matches) {
                return Err(PubSubError::NoSuchSubscription);
            }
            let mut undo = NodeUndo::of(node);
            let ops = match state {
                Some(state) => n
                    .subscriptions
                    .iter_mut()
                    .filter(|s| matches(s))
                    .map(|s| {
                        undo.changed_subscriptions.push(s.clone());
                        s.state = state;
                        PubSubOp::PutSubscription { node: node.to_owned(), subscription: to_stored_sub(s) }
                    })
                    .collect(),
                None => {
                    let gone = st.remove_subscriptions(node, |_, s| matches(s));
                    undo.removed_subscriptions = gone.clone();
                    Self::drop_ops(node, &gone)
                }
            };
            Ok((ops, undo))
        })?;
        self.commit(ops, None, Some(Undo::Changed(undo))).await
    }

    /// A node's subscriptions (owners only).
    pub fn node_subscriptions(&self, who: Option<&BareJid>, node: &str) -> Result<Vec<(String, String, SubState)>, PubSubError> {
        self.with_owned_node(who, node, |n| Ok(n.subscriptions.iter().map(|s| (s.jid.clone(), s.subid.clone(), s.state)).collect()))
    }

    /// Ends a subscription of the requester's own JID (XEP-0060 §6.2).
    pub async fn unsubscribe(&self, who: Option<&BareJid>, node: &str, jid: &Jid, subid: Option<&str>) -> Result<(), PubSubError> {
        if let Some(w) = who
            && &jid.to_bare() != w
        {
            return Err(PubSubError::InvalidJid);
        }
        let gone = {
            let mut nodes = self.nodes();
            let n = access::visible(nodes.get_mut(node), who)?;
            let mine: Vec<&Subscription> = n.subscriptions.iter().filter(|s| s.jid == jid.as_str()).collect();
            let gone = match (subid, mine.as_slice()) {
                (_, []) => return Err(PubSubError::NotSubscribed),
                (None, [one]) => one.subid.clone(),
                (None, _) => return Err(PubSubError::SubidRequired),
                (Some(id), _) => mine.iter().find(|s| s.subid == id).map(|s| s.subid.clone()).ok_or(PubSubError::InvalidSubid)?,
            };
            nodes.remove_subscriptions(node, |_, s| s.subid == gone)
        };
        self.commit(Self::drop_ops(node, &gone), None, Some(Self::undo_drop(node, &gone))).await
    }

    /// Reads or changes `pubsub#deliver` of one of the requester's subscriptions.
    pub async fn subscription_deliver(
        &self,
        who: Option<&BareJid>,
        node: &str,
        jid: &Jid,
        subid: Option<&str>,
        set: Option<bool>,
    ) -> Result<(String, bool), PubSubError> {
        if let Some(w) = who
            && &jid.to_bare() != w
        {
            return Err(PubSubError::Forbidden);
        }
        let (subid, deliver, change) = {
            let mut nodes = self.nodes();
            let n = access::visible(nodes.get_mut(node), who)?;
            let matches: Vec<usize> = n
                .subscriptions
                .iter()
                .enumerate()
                .filter(|(_, s)| s.jid == jid.as_str() && subid.is_none_or(|id| id == s.subid))
                .map(|(i, _)| i)
                .collect();
            let index = match matches.as_slice() {
                [] => return Err(PubSubError::NoSuchSubscription),
                [one] => *one,
                _ => return Err(PubSubError::SubidRequired),
            };
            let sub = &mut n.subscriptions[index];
            let before = sub.clone();
            if let Some(d) = set {
                sub.deliver = d;
            }
            let change = set.map(|_| {
                let op = PubSubOp::PutSubscription { node: node.to_owned(), subscription: to_stored_sub(sub) };
                (op, Undo::Changed(NodeUndo { changed_subscriptions: vec![before], ..NodeUndo::of(node) }))
            });
            (sub.subid.clone(), sub.deliver, change)
        };
        if let Some((op, undo)) = change {
            self.commit(vec![op], None, Some(undo)).await?;
        }
        Ok((subid, deliver))
    }

    /// The requester's subscriptions (all nodes, or one).
    pub fn subscriptions_of(&self, who: &BareJid, node: Option<&str>) -> Vec<(String, String, String, SubState)> {
        let nodes = self.nodes();
        let mut out: Vec<(String, String, String, SubState)> = nodes
            .values()
            .filter(|n| node.is_none_or(|name| name == n.name))
            .flat_map(|n| {
                n.subscriptions.iter().filter(|s| s.bare == who.as_str()).map(|s| (n.name.clone(), s.jid.clone(), s.subid.clone(), s.state))
            })
            .collect();
        out.sort();
        out
    }
}
