//! Roster management (RFC 6121 §2): get, set, remove, and pushes to every interested resource,
//! within the roster caps (items per roster, name and group lengths, groups per item); and every
//! roster read and write of the core, through the roster cache of live accounts.

use herald_proto::stanza::iq_result;
use herald_proto::{BareJid, FullJid, Jid, Stanza, StanzaError, StanzaErrorType, ns};
use std::sync::Arc;

use herald_store::{RosterItem, RosterStore, StoreError, Subscription};
use herald_xml::Element;

use crate::config::StateLimits;
use crate::roster_cache::Roster;
use crate::router::Core;
use crate::throttle::LimitKind;

/// Why a roster set's item is refused by the field caps (RFC 6121 §2.3.3: `<not-acceptable/>`).
fn oversized_fields(limits: &StateLimits, name: Option<&str>, groups: &[String]) -> Option<String> {
    if name.is_some_and(|n| n.len() > limits.max_roster_name_bytes) {
        return Some(format!("the name is longer than {} bytes", limits.max_roster_name_bytes));
    }
    if groups.len() > limits.max_roster_groups {
        return Some(format!("an item may be in at most {} groups", limits.max_roster_groups));
    }
    if groups.iter().any(|g| g.len() > limits.max_roster_group_bytes) {
        return Some(format!("a group name is longer than {} bytes", limits.max_roster_group_bytes));
    }
    None
}

/// The `<item/>` of a roster item as the owner sees it.
pub(crate) fn item_element(item: &RosterItem, removed: bool) -> Element {
    let mut el = Element::new("item", ns::ROSTER).with_attr("jid", item.contact.clone());
    if removed {
        el.set_attr("subscription", "remove");
        return el;
    }
    el.set_attr("subscription", item.subscription.as_str());
    if let Some(name) = &item.name {
        el.set_attr("name", name.clone());
    }
    if item.ask_out {
        el.set_attr("ask", "subscribe");
    }
    for group in &item.groups {
        el.push_child(Element::new("group", ns::ROSTER).with_text(group.clone()));
    }
    el
}

impl Core {
    pub(crate) async fn handle_roster_iq(&self, from: &FullJid, session_id: u64, iq: &Element) {
        let owner_bare = from.to_bare();
        if iq.stanza_type() == "get" {
            let items = match self.roster_of(&owner_bare).await {
                Ok(items) => items,
                Err(err) => {
                    tracing::error!(target: "notification", %err, "roster read failed");
                    return self.bounce(iq, StanzaError::internal());
                }
            };
            let mut query = Element::new("query", ns::ROSTER);
            for item in items.values().filter(|i| i.visible) {
                query.push_child(item_element(item, false));
            }
            if let Some(s) = self.table().session_mut(from.to_bare().as_str(), session_id) {
                s.interested = true;
            }
            return self.send_reply(iq_result(iq, Some(query)));
        }
        let query = iq.child("query", ns::ROSTER).expect("checked by the caller");
        let mut items = query.elements().filter(|e| e.is("item", ns::ROSTER));
        let (Some(item), None) = (items.next(), items.next()) else {
            return self.bounce(iq, StanzaError::bad_request().with_text("a roster set carries exactly one item"));
        };
        let Some(contact) = item.attr("jid").and_then(|j| Jid::new(j).ok()).map(|j| j.to_bare()) else {
            return self.bounce(iq, StanzaError::bad_request().with_text("the item needs a valid jid"));
        };
        if contact == owner_bare {
            return self
                .bounce(iq, StanzaError::new(herald_proto::StanzaErrorType::Cancel, "not-allowed").with_text("you cannot add yourself"));
        }
        let existing = self.find_item(&owner_bare, &contact).await;
        if item.attr("subscription") == Some("remove") {
            let Some(existing) = existing else { return self.bounce(iq, StanzaError::item_not_found()) };
            self.send_reply(iq_result(iq, None));
            return self.remove_contact(&owner_bare, existing).await;
        }
        let name = item.attr("name").filter(|n| !n.is_empty()).map(str::to_owned);
        let mut groups: Vec<String> =
            item.elements().filter(|e| e.is("group", ns::ROSTER)).map(Element::text).filter(|g| !g.is_empty()).collect();
        groups.dedup();
        if let Some(why) = oversized_fields(&self.inner.config.state, name.as_deref(), &groups) {
            self.inner.limit_warnings.warn(LimitKind::Roster, owner_bare.as_str(), "roster item over the field limits; refused");
            return self.bounce(iq, StanzaError::new(StanzaErrorType::Modify, "not-acceptable").with_text(why));
        }
        if existing.is_none() && !self.roster_has_room(&owner_bare).await {
            return self.bounce(iq, self.roster_full(&owner_bare));
        }
        let mut updated = existing.unwrap_or_else(|| Self::new_item(&contact));
        updated.visible = true;
        updated.name = name;
        updated.groups = groups;
        if let Err(err) = self.write_roster_item(&owner_bare, &updated).await {
            tracing::error!(target: "notification", %err, "roster write failed");
            return self.bounce(iq, StanzaError::internal());
        }
        self.send_reply(iq_result(iq, None));
        self.roster_push(&owner_bare, &updated, false);
    }

    /// Removing a contact cancels both directions, telling the contact (RFC 6121 §2.5.2).
    async fn remove_contact(&self, owner: &BareJid, item: RosterItem) {
        if let Err(err) = self.delete_roster_item(owner, &item.contact).await {
            tracing::error!(target: "notification", %err, "roster delete failed");
        }
        self.roster_push(owner, &item, true);
        let Ok(contact) = BareJid::new(&item.contact) else { return };
        if item.subscription.has_to() || item.ask_out {
            self.subscription_effect_on_contact(owner, &contact, "unsubscribe").await;
        }
        if item.subscription.has_from() || item.pending_in {
            self.subscription_effect_on_contact(owner, &contact, "unsubscribed").await;
        }
        if item.subscription.has_from() {
            self.inner.pubsub.roster_revoked(owner, contact.as_str()).await;
        }
    }

    /// Sends a roster push for `item` to every resource of `owner` that asked for the roster.
    pub(crate) fn roster_push(&self, owner: &BareJid, item: &RosterItem, removed: bool) {
        let table = self.table();
        for session in table.sessions(owner.as_str()).iter().filter(|s| s.interested) {
            let push = Element::new("iq", ns::CLIENT)
                .with_attr("type", "set")
                .with_attr("id", format!("push{:x}", rand::random::<u32>()))
                .with_attr("to", format!("{owner}/{}", session.resource))
                .with_child(Element::new("query", ns::ROSTER).with_child(item_element(item, removed)));
            session.deliver(push);
        }
    }

    /// A new item for `contact`, with no subscription, not yet visible.
    pub(crate) fn new_item(contact: &BareJid) -> RosterItem {
        RosterItem { contact: contact.to_string(), subscription: Subscription::None, ..Default::default() }
    }

    /// The error for an item that would not fit in `owner`'s roster (logged, rate-limited).
    pub(crate) fn roster_full(&self, owner: &BareJid) -> StanzaError {
        self.inner.limit_warnings.warn(LimitKind::Roster, owner.as_str(), "roster item limit reached; item refused");
        let max = self.inner.config.state.max_roster_items;
        StanzaError::new(StanzaErrorType::Modify, "policy-violation").with_text(format!("the roster is full ({max} items)"))
    }

    /// Saves an item, pushing it to the owner if the owner can see it.
    pub(crate) async fn save_item(&self, owner: &BareJid, item: &RosterItem) {
        if let Err(err) = self.write_roster_item(owner, item).await {
            return tracing::error!(target: "notification", %err, "roster write failed");
        }
        if item.visible {
            self.roster_push(owner, item, false);
        }
    }
}

fn username(owner: &BareJid) -> String {
    owner.node().map(|n| n.to_string()).unwrap_or_default()
}

impl Core {
    /// The roster of `owner`: from the cache when the account is live, else from the store (and
    /// then cached if the account is live).
    pub(crate) async fn roster_of(&self, owner: &BareJid) -> Result<Roster, StoreError> {
        let cached = self.table().rosters.lookup(owner.as_str());
        let stamp = match cached {
            Ok(roster) => return Ok(roster),
            Err(stamp) => stamp,
        };
        let items = self.inner.store.roster(&username(owner)).await?;
        let roster: Roster = Arc::new(items.into_iter().map(|i| (i.contact.clone(), i)).collect());
        if let Some(stamp) = stamp {
            self.table().rosters.fill(owner.as_str(), stamp, &roster);
        }
        Ok(roster)
    }

    /// The item `owner` holds for `contact`, if any.
    pub(crate) async fn find_item(&self, owner: &BareJid, contact: &BareJid) -> Option<RosterItem> {
        let cached = self.table().rosters.lookup(owner.as_str());
        if let Ok(roster) = cached {
            return roster.get(contact.as_str()).cloned();
        }
        self.inner.store.roster_item(&username(owner), contact.as_str()).await.ok().flatten()
    }

    /// Whether `owner`'s roster may take one more item.
    pub(crate) async fn roster_has_room(&self, owner: &BareJid) -> bool {
        let max = self.inner.config.state.max_roster_items;
        let cached = self.table().rosters.lookup(owner.as_str()).map(|roster| roster.len() as u64);
        let len = match cached {
            Ok(len) => len,
            Err(_) => self.inner.store.roster_len(&username(owner)).await.unwrap_or(u64::MAX),
        };
        len < max as u64
    }

    /// Stores an item and updates the cache.
    pub(crate) async fn write_roster_item(&self, owner: &BareJid, item: &RosterItem) -> Result<(), StoreError> {
        self.inner.store.put_roster_item(&username(owner), item).await?;
        self.table().rosters.apply(owner.as_str(), &item.contact, Some(item));
        self.roster_changed(owner, &item.contact).await;
        Ok(())
    }

    /// Removes an item from the store and the cache.
    pub(crate) async fn delete_roster_item(&self, owner: &BareJid, contact: &str) -> Result<bool, StoreError> {
        let removed = self.inner.store.delete_roster_item(&username(owner), contact).await?;
        self.table().rosters.apply(owner.as_str(), contact, None);
        self.roster_changed(owner, contact).await;
        Ok(removed)
    }
}
