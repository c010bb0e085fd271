//! Message routing to accounts (RFC 6121 §8.5) and offline storage: a message for an account with
//! no available session is stored, within quotas per recipient (count, bytes) and per sender
//! (bytes), and delivered in bounded batches, stamped with XEP-0203 delay, at the account's next
//! available presence.

use herald_proto::{BareJid, FullJid, Jid, Stanza, StanzaError, ns};
use herald_store::{AccountStore, OfflineMessage, OfflinePush, OfflineQuota, OfflineStore};
use herald_xml::{Element, Limits, parse_document};

use crate::router::{Core, Target};
use crate::throttle::LimitKind;
use crate::time::{format_timestamp, now_ms};

impl Core {
    /// Routes a message sent on this node: to this node's sessions, else (in a cluster) to the
    /// node holding the addressed resource or one node holding the account, else offline.
    pub(crate) async fn route_message(&self, msg: Element, target: Target) {
        self.route_message_with(msg, target, true).await;
    }

    /// Routes a message another node forwarded: this node's sessions or offline storage only.
    pub(crate) async fn route_message_here(&self, msg: Element, target: Target) {
        self.route_message_with(msg, target, false).await;
    }

    async fn route_message_with(&self, msg: Element, target: Target, cross: bool) {
        let (bare, resource) = match target {
            Target::Remote => return self.bounce(&msg, StanzaError::remote_server_not_found()),
            Target::Server | Target::PubSub => return self.bounce(&msg, StanzaError::service_unavailable()),
            Target::Local(bare, resource) => (bare, resource),
        };
        if let Some(resource) = &resource
            && (self.deliver_full(bare.as_str(), resource, msg.clone())
                || (cross && self.forward_to_resource(bare.as_str(), resource, msg.clone()).await))
        {
            return;
        }
        let kind = msg.stanza_type().to_owned();
        let delivered = {
            let table = self.table();
            match kind.as_str() {
                "groupchat" => false,
                "headline" => {
                    // Headlines go to every available resource and are never stored.
                    for session in table.available(bare.as_str()).filter(|s| s.priority >= 0) {
                        session.deliver(msg.clone());
                    }
                    true
                }
                _ => {
                    let best = table.best(bare.as_str());
                    for session in &best {
                        session.deliver(msg.clone());
                    }
                    !best.is_empty()
                }
            }
        };
        if cross && kind == "headline" {
            return self.forward_to_holders(bare.as_str(), &msg).await;
        }
        if delivered || (cross && kind != "groupchat" && self.forward_to_one(bare.as_str(), msg.clone()).await) {
            return;
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
        let sender = msg.attr("from").and_then(|f| Jid::new(f).ok()).map(|j| j.to_bare().to_string()).unwrap_or_default();
        let record = OfflineMessage { sender, stanza: xml, stored_at_ms: now_ms() };
        let limits = &self.inner.config.state;
        let quota = OfflineQuota {
            max_messages: limits.max_offline_messages,
            max_bytes: limits.max_offline_bytes,
            max_sender_bytes: limits.max_offline_sender_bytes,
        };
        let text = match store.push_offline(&username, &record, &quota).await {
            Ok(OfflinePush::Stored) => return,
            Ok(OfflinePush::RecipientFull) => "offline storage for this user is full",
            Ok(OfflinePush::SenderFull) => "you have too many messages waiting in offline storage",
            Err(err) => {
                tracing::error!(target: "notification", %err, "offline storage failed");
                return self.bounce(&msg, StanzaError::internal());
            }
        };
        let warning = format!("offline quota reached; message from {} refused: {text}", record.sender);
        self.inner.limit_warnings.warn(LimitKind::Offline, bare.as_str(), &warning);
        // RFC 6121 §8.5.2.1.1 lets the server refuse to store with <service-unavailable/>.
        self.bounce(&msg, StanzaError::service_unavailable().with_text(text));
    }

    /// Delivers the stored messages of `jid`'s account to that session, each with a delay stamp,
    /// in batches (load, queue, delete, next) so that a login holds one batch in memory, not the
    /// whole queue. A message is deleted only once queued to the session; if the session goes
    /// away or its queue is full, the rest stay stored for the next login.
    pub(crate) async fn deliver_offline(&self, jid: &FullJid) {
        let Some(username) = jid.node().map(|n| n.to_string()) else { return };
        let bare = jid.to_bare();
        // Two resources logging in at once must not both deliver the same messages.
        let Some(_draining) = Draining::start(self, bare.as_str()) else { return };
        let limits = Limits { max_stanza_bytes: usize::MAX >> 1, ..Limits::default() };
        loop {
            let batch = match self.inner.store.offline_batch(&username, OFFLINE_BATCH_MESSAGES, OFFLINE_BATCH_BYTES).await {
                Ok(batch) => batch,
                Err(err) => return tracing::error!(target: "notification", %err, "reading offline messages failed"),
            };
            let Some(last) = batch.last().map(|m| m.id) else { return };
            let mut done = None;
            for stored in batch {
                let Ok(mut msg) = parse_document(stored.message.stanza.as_bytes(), limits) else {
                    tracing::error!(target: "notification", stanza = %stored.message.stanza, "stored offline message no longer parses; dropped");
                    done = Some(stored.id);
                    continue;
                };
                msg.push_child(
                    Element::new("delay", ns::DELAY)
                        .with_attr("from", self.domain())
                        .with_attr("stamp", format_timestamp(stored.message.stored_at_ms)),
                );
                if !self.deliver_full(bare.as_str(), jid.resource().as_str(), msg) {
                    break;
                }
                done = Some(stored.id);
            }
            if let Some(id) = done
                && let Err(err) = self.inner.store.delete_offline(&username, id).await
            {
                return tracing::error!(target: "notification", %err, "deleting delivered offline messages failed");
            }
            if done != Some(last) {
                return tracing::warn!(target: "notification", jid = %jid, "session gone or its queue full; the rest of its offline messages stay stored");
            }
        }
    }
}

/// Most messages loaded per offline batch.
const OFFLINE_BATCH_MESSAGES: usize = 100;
/// About the most stanza bytes loaded per offline batch.
const OFFLINE_BATCH_BYTES: u64 = 256 * 1024;

/// Marks an account's offline messages as being delivered until dropped.
struct Draining<'a> {
    core: &'a Core,
    bare: String,
}

impl<'a> Draining<'a> {
    /// `None` if another session of the account is already delivering them.
    fn start(core: &'a Core, bare: &str) -> Option<Self> {
        let fresh = core.inner.draining.lock().unwrap_or_else(|e| e.into_inner()).insert(bare.to_owned());
        fresh.then(|| Self { core, bare: bare.to_owned() })
    }
}

impl Drop for Draining<'_> {
    fn drop(&mut self) {
        self.core.inner.draining.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.bare);
    }
}
