//! The core's side of the seams to the publish-subscribe service (`herald-pubsub`): delivery of
//! its notifications to bound sessions, and the roster answers its `presence` access model
//! needs. The service knows JIDs only; which sessions a JID has is the core's business.

use std::future::Future;
use std::pin::Pin;
use std::sync::Weak;

use herald_pubsub::{Delivery, Notification, RosterCheck};
use herald_store::{AnyStore, RosterStore};

use crate::router::{Core, Inner};

/// Delivers pubsub notifications to the sessions bound now.
pub(crate) struct SessionDelivery {
    /// Weak: the core owns the service, which owns this.
    pub(crate) core: Weak<Inner>,
}

impl Delivery for SessionDelivery {
    fn deliver(&self, notification: &Notification) {
        let Some(inner) = self.core.upgrade() else { return };
        let core = Core { inner };
        // Resolve recipients under the table lock, then build and queue messages without it.
        let recipients: Vec<(crate::sessions::Mailbox, String, usize)> = {
            let table = core.table();
            let mut out = Vec::with_capacity(notification.targets.len());
            for (index, target) in notification.targets.iter().enumerate() {
                match &target.resource {
                    Some(resource) => {
                        if let Some(s) = table.by_resource(&target.bare, resource) {
                            out.push((s.mailbox(), format!("{}/{resource}", target.bare), index));
                        }
                    }
                    None => {
                        for s in table.available(&target.bare) {
                            out.push((s.mailbox(), format!("{}/{}", target.bare, s.resource), index));
                        }
                    }
                }
            }
            out
        };
        for (mailbox, to, index) in recipients {
            mailbox.deliver(notification.message(to, &notification.targets[index]));
        }
    }
}

/// Answers the presence access model from the stored rosters.
pub(crate) struct StoredRosters {
    pub(crate) store: AnyStore,
}

impl RosterCheck for StoredRosters {
    fn grants_presence<'a>(&'a self, owner: &'a str, contact: &'a str) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(async move {
            let Some((local, _)) = owner.split_once('@') else { return false };
            matches!(self.store.roster_item(local, contact).await, Ok(Some(item)) if item.subscription.has_from())
        })
    }
}

impl Core {
    /// The publish-subscribe service (`pubsub.<domain>`), for the in-process API.
    pub fn pubsub(&self) -> &herald_pubsub::PubSub {
        &self.inner.pubsub
    }

    /// The pubsub service's JID (`pubsub.<domain>`).
    pub fn pubsub_jid(&self) -> &str {
        self.inner.pubsub.jid()
    }

    /// Waits until every pubsub change queued so far is committed (used at shutdown).
    pub async fn flush(&self) {
        self.inner.pubsub.flush().await;
    }

    /// Hands an iq for the pubsub service to it and sends the answer.
    pub(crate) async fn handle_pubsub_iq(&self, from: &herald_proto::FullJid, iq: herald_xml::Element) {
        if let Some(reply) = self.inner.pubsub.handle_iq(from, &iq).await {
            self.send_reply(reply);
        }
    }
}
