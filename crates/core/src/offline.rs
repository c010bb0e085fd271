//! Message routing to accounts (RFC 6121 §8.5) and offline storage: a message for an account with
//! no available session is stored and delivered, stamped with XEP-0203 delay, at the account's
//! next available presence.

use herald_proto::{BareJid, FullJid, Stanza, StanzaError, ns};
use herald_store::{OfflineMessage, Store};
use herald_xml::{Element, Limits, parse_document};

use crate::router::{Core, Target};
use crate::time::{format_timestamp, now_ms};

impl Core {
    pub(crate) async fn route_message(&self, msg: Element, target: Target) {
        let (bare, resource) = match target {
            Target::Remote => return self.bounce(&msg, StanzaError::remote_server_not_found()),
            Target::Server | Target::PubSub => return self.bounce(&msg, StanzaError::service_unavailable()),
            Target::Local(bare, resource) => (bare, resource),
        };
        if let Some(resource) = &resource
            && self.deliver_full(bare.as_str(), resource, msg.clone())
        {
            return;
        }
        let kind = msg.stanza_type().to_owned();
        {
            let table = self.table();
            match kind.as_str() {
                "groupchat" => {}
                "headline" => {
                    // Headlines go to every available resource and are never stored.
                    for session in table.available(bare.as_str()).filter(|s| s.priority >= 0) {
                        session.deliver(msg.clone());
                    }
                    return;
                }
                _ => {
                    let best = table.best(bare.as_str());
                    if !best.is_empty() {
                        for session in best {
                            session.deliver(msg.clone());
                        }
                        return;
                    }
                }
            }
        }
        match kind.as_str() {
            "groupchat" => self.bounce(&msg, StanzaError::service_unavailable()),
            "headline" | "error" => {}
            _ => self.store_offline(&bare, msg).await,
        }
    }

    async fn store_offline(&self, bare: &BareJid, msg: Element) {
        let Some(username) = bare.node().map(|n| n.to_string()) else { return };
        let store = &self.inner.store;
        match store.credentials(&username).await {
            Ok(Some(_)) => {}
            Ok(None) => return self.bounce(&msg, StanzaError::service_unavailable()),
            Err(err) => {
                tracing::error!(target: "notification", %err, "offline storage failed");
                return self.bounce(&msg, StanzaError::internal());
            }
        }
        let xml = msg.to_xml();
        tracing::debug!(target: "notification", "Unable to route packet. No session is available so store offline. {xml}");
        let record = OfflineMessage { stanza: xml, stored_at_ms: now_ms() };
        match store.push_offline(&username, &record, self.inner.config.max_offline_per_user).await {
            Ok(true) => {}
            Ok(false) => self.bounce(&msg, StanzaError::service_unavailable().with_text("offline storage for this user is full")),
            Err(err) => {
                tracing::error!(target: "notification", %err, "offline storage failed");
                self.bounce(&msg, StanzaError::internal());
            }
        }
    }

    /// Delivers the stored messages of `jid`'s account to that session, each with a delay stamp.
    pub(crate) async fn deliver_offline(&self, jid: &FullJid) {
        let Some(username) = jid.node().map(|n| n.to_string()) else { return };
        let messages = match self.inner.store.take_offline(&username).await {
            Ok(m) => m,
            Err(err) => return tracing::error!(target: "notification", %err, "reading offline messages failed"),
        };
        let bare = jid.to_bare();
        let limits = Limits { max_stanza_bytes: usize::MAX >> 1, ..Limits::default() };
        for stored in messages {
            let Ok(mut msg) = parse_document(stored.stanza.as_bytes(), limits) else {
                tracing::error!(target: "notification", stanza = %stored.stanza, "stored offline message no longer parses; dropped");
                continue;
            };
            msg.push_child(
                Element::new("delay", ns::DELAY).with_attr("from", self.domain()).with_attr("stamp", format_timestamp(stored.stored_at_ms)),
            );
            if !self.deliver_full(bare.as_str(), jid.resource().as_str(), msg.clone()) {
                // The session went away meanwhile: route it again so it is stored once more.
                self.route_message(msg, Target::Local(bare.clone(), None)).await;
            }
        }
    }
}
