//! Presence (RFC 6121 §3–4): broadcast of a session's own presence to its subscribers and its other
//! resources, probes answered from the session table at initial presence, directed presence, and
//! the four subscription presences with their roster effects on both accounts.

use herald_proto::{BareJid, FullJid, Stanza, StanzaError, StanzaErrorType, ns};
use herald_store::AccountStore;
use herald_xml::Element;

use crate::roster_cache::Roster;
use crate::router::{Core, Target};
use crate::throttle::LimitKind;

fn presence(kind: Option<&str>, from: &str, to: &str) -> Element {
    let mut p = Element::new("presence", ns::CLIENT).with_attr("from", from).with_attr("to", to);
    if let Some(kind) = kind {
        p.set_attr("type", kind);
    }
    p
}

impl Core {
    fn owner_name(jid: &BareJid) -> String {
        jid.node().map(|n| n.to_string()).unwrap_or_default()
    }

    /// Delivers a copy of `el` to every available session of `bare`, addressed to each.
    pub(crate) fn deliver_to_available(&self, bare: &str, el: &Element) {
        let table = self.table();
        for session in table.available(bare) {
            let mut copy = el.clone();
            copy.set_attr("to", format!("{bare}/{}", session.resource));
            session.deliver(copy);
        }
    }

    /// Sends the current presence of every available session of `from` to every available
    /// session of `to` (or unavailable presence from each, when `unavailable`), on every node.
    async fn share_presence(&self, from: &BareJid, to: &BareJid, unavailable: bool) {
        let presences: Vec<Element> = self
            .table()
            .available(from.as_str())
            .map(|s| {
                let full = format!("{from}/{}", s.resource);
                match (&s.presence, unavailable) {
                    (Some(p), false) => {
                        let mut p = p.clone();
                        p.set_attr("from", full);
                        p.set_attr("to", to.as_str());
                        p
                    }
                    _ => presence(Some("unavailable"), &full, to.as_str()),
                }
            })
            .collect();
        for p in presences {
            self.send_anywhere(p).await;
        }
        // `from`'s sessions on other nodes: their nodes answer a probe on `to`'s behalf.
        if unavailable {
            self.remote_unavailable(from, to).await;
        } else {
            self.probe_remote(to.as_str(), from).await;
        }
    }

    pub(crate) async fn handle_own_presence(&self, from: &FullJid, session_id: u64, p: Element) {
        let bare = from.to_bare();
        match p.stanza_type() {
            "available" => {
                let priority = p.child("priority", ns::CLIENT).and_then(|e| e.text().trim().parse::<i8>().ok()).unwrap_or(0);
                let (initial, first, local) = {
                    let mut table = self.table();
                    // Counted before this session turns available: none means it is the first.
                    let first = table.available(bare.as_str()).all(|s| s.id == session_id);
                    let Some(session) = table.session_mut(bare.as_str(), session_id) else { return };
                    let initial = session.presence.is_none();
                    session.presence = Some(p.clone());
                    session.priority = priority;
                    (initial, first, session.node_local())
                };
                if initial {
                    self.emit_presence(session_id, from, true, first);
                }
                let roster = self.roster_for_broadcast(&bare).await;
                self.broadcast_presence(from, &p, Vec::new(), &roster);
                if !local {
                    self.broadcast_remote(from, &p, &[], &roster).await;
                }
                if initial {
                    self.answer_probes(from).await;
                    if priority >= 0 {
                        self.deliver_offline(from).await;
                    }
                }
            }
            "unavailable" => {
                let (directed, was_available, last, local) = {
                    let mut table = self.table();
                    let Some(session) = table.session_mut(bare.as_str(), session_id) else { return };
                    let was_available = session.presence.take().is_some();
                    let directed = std::mem::take(&mut session.directed);
                    let local = session.node_local();
                    (directed, was_available, table.available(bare.as_str()).next().is_none(), local)
                };
                if was_available {
                    self.emit_presence(session_id, from, false, last);
                }
                let roster = self.roster_for_broadcast(&bare).await;
                let directed: Vec<String> = directed.into_iter().collect();
                self.broadcast_presence(from, &p, directed.clone(), &roster);
                if !local {
                    self.broadcast_remote(from, &p, &directed, &roster).await;
                }
            }
            _ => {}
        }
    }

    /// The roster a broadcast goes by (cached while the account is live; empty if the store
    /// fails, which is logged).
    pub(crate) async fn roster_for_broadcast(&self, bare: &BareJid) -> Roster {
        self.roster_of(bare).await.unwrap_or_else(|err| {
            tracing::error!(target: "notification", %err, "roster read failed during presence broadcast");
            Roster::default()
        })
    }

    /// Sends `p` to the subscribers in `roster` (`from`'s account's), to the account's available
    /// resources (the sender included, RFC 6121 §4.2.2) and to `extra` JIDs owed it by directed
    /// presence.
    pub(crate) fn broadcast_presence(&self, from: &FullJid, p: &Element, extra: Vec<String>, roster: &Roster) {
        let bare = from.to_bare();
        let mut p = p.clone();
        p.set_attr("from", from.to_string());
        for item in roster.values().filter(|i| i.subscription.has_from()) {
            if let Ok(contact) = BareJid::new(&item.contact)
                && contact.domain().as_str() == self.domain()
            {
                self.deliver_to_available(contact.as_str(), &p);
            }
        }
        self.deliver_to_available(bare.as_str(), &p);
        for jid in extra {
            if let Ok(to) = herald_proto::Jid::new(&jid) {
                self.deliver_directed(&to, &p);
            }
        }
    }

    fn deliver_directed(&self, to: &herald_proto::Jid, p: &Element) {
        if let Target::Local(bare, resource) = self.target(to) {
            let mut copy = p.clone();
            copy.set_attr("to", to.to_string());
            match resource {
                Some(resource) => {
                    self.deliver_full(bare.as_str(), &resource, copy);
                }
                None => self.deliver_to_available(bare.as_str(), &copy),
            }
        }
    }

    /// The current presence of each available session of `contact` here, addressed to `to`: what
    /// a probe from `to` is answered with.
    pub(crate) fn presences_of(&self, contact: &BareJid, to: &str) -> Vec<Element> {
        self.table()
            .available(contact.as_str())
            .filter_map(|s| {
                let mut p = s.presence.clone()?;
                p.set_attr("from", format!("{contact}/{}", s.resource));
                p.set_attr("to", to);
                Some(p)
            })
            .collect()
    }

    /// At initial presence: the presence of every contact the user is subscribed to, and the
    /// subscription requests still waiting for an answer.
    async fn answer_probes(&self, from: &FullJid) {
        let bare = from.to_bare();
        let Ok(roster) = self.roster_of(&bare).await else { return };
        for item in roster.values() {
            let Ok(contact) = BareJid::new(&item.contact) else { continue };
            if item.subscription.has_to() {
                for p in self.presences_of(&contact, from.as_str()) {
                    self.deliver_full(bare.as_str(), from.resource().as_str(), p);
                }
                self.probe_remote(from.as_str(), &contact).await;
            }
            if item.pending_in {
                let request = presence(Some("subscribe"), contact.as_str(), from.as_str());
                self.deliver_full(bare.as_str(), from.resource().as_str(), request);
            }
        }
    }

    pub(crate) async fn route_presence(&self, from: &FullJid, session_id: u64, p: Element, target: Target) {
        let Target::Local(to_bare, resource) = target else { return };
        let kind = p.stanza_type().to_owned();
        match kind.as_str() {
            "subscribe" | "subscribed" | "unsubscribe" | "unsubscribed" => {
                if let Err(err) = self.outbound_subscription(from, &to_bare, &kind).await {
                    self.bounce(&p, err);
                }
            }
            "available" | "unavailable" => {
                let to = p.recipient_jid().ok().flatten().expect("target was parsed from it");
                let owner = from.to_bare();
                let max = self.inner.config.state.max_directed_presences;
                let refused = {
                    let mut table = self.table();
                    let Some(session) = table.session_mut(owner.as_str(), session_id) else { return };
                    if kind == "unavailable" {
                        session.directed.remove(to.as_str());
                        false
                    } else if session.directed.len() >= max && !session.directed.contains(to.as_str()) {
                        true
                    } else {
                        session.directed.insert(to.to_string());
                        false
                    }
                };
                if refused {
                    self.inner.limit_warnings.warn(
                        LimitKind::Directed,
                        owner.as_str(),
                        "directed presence limit reached; presence refused",
                    );
                    let text = format!("this session has sent directed presence to {max} JIDs, the most allowed");
                    return self.bounce(&p, StanzaError::new(StanzaErrorType::Modify, "policy-violation").with_text(text));
                }
                self.deliver_directed(&to, &p);
                self.forward_directed(&to, &p).await;
            }
            "error" => {
                if let Some(resource) = resource
                    && !self.deliver_full(to_bare.as_str(), &resource, p.clone())
                {
                    self.forward_to_resource(to_bare.as_str(), &resource, p).await;
                }
            }
            _ => {} // probes come from servers, not clients
        }
    }

    /// The user's side of a subscription presence it sends, then the contact's side. Fails only
    /// when a subscription request would add an item to a full roster.
    async fn outbound_subscription(&self, from: &FullJid, contact: &BareJid, kind: &str) -> Result<(), StanzaError> {
        let owner = from.to_bare();
        if &owner == contact {
            return Ok(());
        }
        let existing = self.find_item(&owner, contact).await;
        if existing.is_none() && kind == "subscribe" && !self.roster_has_room(&owner).await {
            return Err(self.roster_full(&owner));
        }
        let mut item = existing.unwrap_or_else(|| Self::new_item(contact));
        let before = item.clone();
        match kind {
            "subscribe" => {
                if !item.subscription.has_to() {
                    item.ask_out = true;
                }
                item.visible = true;
            }
            "subscribed" => {
                if !item.pending_in {
                    return Ok(()); // no request to approve (pre-approval is not offered)
                }
                item.pending_in = false;
                item.subscription = item.subscription.with_from(true);
                item.visible = true;
            }
            "unsubscribe" => {
                item.subscription = item.subscription.with_to(false);
                item.ask_out = false;
            }
            _ => {
                item.subscription = item.subscription.with_from(false);
                item.pending_in = false;
            }
        }
        if item != before {
            self.save_item(&owner, &item).await;
            if before.subscription.has_from() && !item.subscription.has_from() {
                self.inner.pubsub.roster_revoked(&owner, contact.as_str()).await;
            }
        }
        self.subscription_effect_on_contact(&owner, contact, kind).await;
        if kind == "subscribed" {
            self.share_presence(&owner, contact, false).await;
        }
        Ok(())
    }

    /// The contact's side of a subscription presence sent by `owner` (RFC 6121 §3.1.3, §3.2.3,
    /// §3.3.3, §3.4.3), including delivery of the presence itself.
    pub(crate) async fn subscription_effect_on_contact(&self, owner: &BareJid, contact: &BareJid, kind: &str) {
        if contact.domain().as_str() != self.domain() {
            return;
        }
        match self.inner.store.credentials(&Self::owner_name(contact)).await {
            Ok(Some(_)) => {}
            _ => return, // presence to a non-existent account is silently ignored
        }
        let existing = self.find_item(contact, owner).await;
        if existing.is_none() && kind == "subscribe" && !self.roster_has_room(contact).await {
            // The request would add an item to a full roster: dropped, as a request to a
            // non-existent account is (the warning says why).
            let _ = self.roster_full(contact);
            return;
        }
        let mut item = existing.unwrap_or_else(|| Self::new_item(owner));
        let stanza = presence(Some(kind), owner.as_str(), contact.as_str());
        match kind {
            "subscribe" => {
                if item.subscription.has_from() {
                    // Already approved: the server answers for the contact.
                    self.send_anywhere(presence(Some("subscribed"), contact.as_str(), owner.as_str())).await;
                    self.share_presence(contact, owner, false).await;
                    return;
                }
                if !item.pending_in {
                    item.pending_in = true;
                    self.save_item(contact, &item).await;
                }
                self.send_anywhere(stanza).await;
            }
            "subscribed" => {
                if !item.ask_out {
                    return;
                }
                item.ask_out = false;
                item.subscription = item.subscription.with_to(true);
                self.save_item(contact, &item).await;
                self.send_anywhere(stanza).await;
            }
            "unsubscribe" => {
                if item.subscription.has_from() || item.pending_in {
                    let had_from = item.subscription.has_from();
                    item.subscription = item.subscription.with_from(false);
                    item.pending_in = false;
                    self.save_item(contact, &item).await;
                    if had_from {
                        self.inner.pubsub.roster_revoked(contact, owner.as_str()).await;
                    }
                    self.send_anywhere(stanza).await;
                }
                self.share_presence(contact, owner, true).await;
            }
            _ => {
                if item.subscription.has_to() || item.ask_out {
                    item.subscription = item.subscription.with_to(false);
                    item.ask_out = false;
                    self.save_item(contact, &item).await;
                    self.send_anywhere(stanza).await;
                }
                self.share_presence(owner, contact, true).await;
            }
        }
    }
}
