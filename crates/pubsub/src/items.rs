//! Item operations: publish (stored, then fanned out), retract, and retrieval with XEP-0059
//! catch-up. A publish's memory change is undone if its commit fails, so `items` never serves
//! an item the store does not hold once the publisher got its error.

use std::sync::Arc;

use herald_proto::BareJid;
use herald_store::PubSubOp;
use herald_xml::Element;

use crate::access::{self, not_found};
use crate::error::PubSubError;
use crate::model::{AccessModel, Affiliation, Item, PublishModel};
use crate::persistence::to_stored_item;
use crate::undo::{NodeUndo, Undo};
use crate::writer::Committing;
use crate::{PubSub, now_ms, ns};

/// Which items to return.
#[derive(Clone, Debug)]
pub enum ItemQuery {
    /// The newest `max` items (all when `None`), oldest first.
    Latest(Option<usize>),
    /// These ids.
    Ids(Vec<String>),
    /// XEP-0059: the items published after this id, at most `max`.
    After(String, Option<usize>),
}

/// Items returned, with what XEP-0059 reports about the page.
#[derive(Clone, Debug)]
pub struct ItemsPage {
    /// The items, oldest first.
    pub items: Vec<Item>,
    /// How many items the query matched in all.
    pub count: usize,
}

impl PubSub {
    /// Publishes an item. The id is generated (increasing per node) when not given; an existing
    /// id is replaced and becomes the newest. Returns after the item is stored and every
    /// subscriber session has been handed its notification.
    pub async fn publish(
        &self,
        who: Option<&BareJid>,
        node: &str,
        id: Option<String>,
        payload: Option<Element>,
    ) -> Result<String, PubSubError> {
        let (id, committing) = self.publish_queued(who, node, id, payload)?;
        committing.wait().await?;
        Ok(id)
    }

    /// [`publish`](Self::publish) without waiting: the item is in memory and queued to the
    /// writer when this returns, so publishes made one after another from one task are stored
    /// and delivered in that order while their commits share batches. Returns the item id and
    /// the pending commit.
    pub fn publish_queued(
        &self,
        who: Option<&BareJid>,
        node: &str,
        id: Option<String>,
        payload: Option<Element>,
    ) -> Result<(String, Committing), PubSubError> {
        if let Some(id) = &id {
            self.config().check_item_id(id)?;
        }
        let (notification, op, undo, item_id) = {
            let mut nodes = self.nodes();
            let n = access::visible(nodes.get_mut(node), who)?;
            if let Some(w) = who {
                let affiliation = n.affiliation(w.as_str());
                let allowed = match n.config.publish_model {
                    PublishModel::Publishers => affiliation >= Affiliation::Publisher,
                    PublishModel::Subscribers => affiliation >= Affiliation::Publisher || n.is_subscribed(w.as_str()),
                    PublishModel::Open => affiliation != Affiliation::Outcast,
                };
                if !allowed || affiliation == Affiliation::Outcast {
                    return Err(PubSubError::Forbidden);
                }
            }
            let seq = n.next_seq;
            n.next_seq += 1;
            let id = id.filter(|i| !i.is_empty()).unwrap_or_else(|| format!("{seq:016x}"));
            let item = Item {
                seq,
                id: id.clone(),
                publisher: who.map(|w| w.to_string()).unwrap_or_default(),
                payload: payload.map(Arc::new),
                published_at_ms: now_ms(),
            };
            let mut undo = NodeUndo { added_item: Some(seq), ..NodeUndo::of(node) };
            if let Some(pos) = n.items.iter().position(|i| i.id == id) {
                undo.removed_items.extend(n.items.remove(pos));
            }
            n.items.push_back(item.clone());
            let full = n.items.len() > n.config.max_items;
            while n.items.len() > n.config.max_items {
                undo.removed_items.extend(n.items.pop_front());
            }
            let event = Self::event(node, Self::event_item(&item, n.config.deliver_payloads));
            let notification = self.notification(Self::targets(n), event, format!("{node}#{seq}"));
            let op =
                PubSubOp::PutItem { node: node.to_owned(), item: to_stored_item(&item), keep: full.then_some(n.config.max_items as u64) };
            (notification, op, Undo::Changed(undo), id)
        };
        let committing = self.enqueue(vec![op], Some(notification), Some(undo))?;
        self.shared.delivery.published();
        Ok((item_id, committing))
    }

    /// Removes an item (its publisher or an owner); subscribers are told when configured.
    pub async fn retract(&self, who: Option<&BareJid>, node: &str, id: &str, notify: bool) -> Result<(), PubSubError> {
        let (notification, undo) = {
            let mut nodes = self.nodes();
            let n = access::visible(nodes.get_mut(node), who)?;
            let pos = n.items.iter().position(|i| i.id == id).ok_or(PubSubError::ItemNotFound)?;
            if let Some(w) = who {
                let affiliation = n.affiliation(w.as_str());
                if affiliation < Affiliation::Publisher && n.items[pos].publisher != w.as_str() {
                    return Err(PubSubError::Forbidden);
                }
            }
            let removed: Vec<Item> = n.items.remove(pos).into_iter().collect();
            let notification = (notify || n.config.notify_retract).then(|| {
                let event = Self::event(node, Element::new("retract", ns::EVENT).with_attr("id", id));
                self.notification(Self::targets(n), event, format!("retract-{id}"))
            });
            (notification, Undo::Changed(NodeUndo { removed_items: removed, ..NodeUndo::of(node) }))
        };
        self.commit(vec![PubSubOp::DeleteItem { node: node.to_owned(), id: id.to_owned() }], notification, Some(undo)).await
    }

    /// Items of a node the requester may see.
    pub async fn items(&self, who: Option<&BareJid>, node: &str, query: ItemQuery) -> Result<ItemsPage, PubSubError> {
        let info = self.access_info(node, who)?;
        self.check_access(&info, who).await?;
        if who.is_some() && info.config.access_model == AccessModel::Authorize && info.affiliation < Affiliation::Member && !info.subscribed
        {
            return Err(PubSubError::NotApprovedSubscriber);
        }
        let nodes = self.nodes();
        let snapshot = nodes.get(node).ok_or_else(not_found)?;
        Ok(match query {
            ItemQuery::Latest(max) => {
                let skip = max.map_or(0, |m| snapshot.items.len().saturating_sub(m));
                let items: Vec<Item> = snapshot.items.iter().skip(skip).cloned().collect();
                ItemsPage { count: snapshot.items.len(), items }
            }
            ItemQuery::Ids(ids) => {
                let items: Vec<Item> = snapshot.items.iter().filter(|i| ids.contains(&i.id)).cloned().collect();
                if items.is_empty() {
                    return Err(PubSubError::ItemNotFound);
                }
                ItemsPage { count: items.len(), items }
            }
            ItemQuery::After(after, max) => {
                let missed: Vec<Item> = snapshot.items_after(&after).ok_or(PubSubError::NotInHistory)?.cloned().collect();
                let count = missed.len();
                ItemsPage { items: missed.into_iter().take(max.unwrap_or(usize::MAX)).collect(), count }
            }
        })
    }
}
