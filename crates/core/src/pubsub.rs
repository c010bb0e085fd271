//! The core's side of the seams to the publish-subscribe service (`herald-pubsub`): delivery of
//! its notifications to bound sessions, and the roster answers its `presence` access model
//! needs. The service knows JIDs only; which sessions a JID has is the core's business.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, Weak};

use herald_pubsub::{Delivery, Notification, RosterCheck};
use herald_store::{AnyStore, RosterStore};

use crate::sessions::Table;

/// Delivers pubsub notifications to the sessions bound now.
pub(crate) struct SessionDelivery {
    /// The core's session table. Weak: the core owns the service, which owns this.
    pub(crate) table: Weak<Mutex<Table>>,
    /// `herald_pubsub_publishes_total`, `herald_pubsub_deliveries_total` and the delivery
    /// latency, held rather than looked up per notification.
    pub(crate) metrics: herald_metrics::Metrics,
}

impl Delivery for SessionDelivery {
    fn deliver(&self, notification: &Notification) {
        let Some(table) = self.table.upgrade() else { return };
        // Resolve recipients under the table lock, then build and queue messages without it.
        let recipients: Vec<(crate::sessions::Mailbox, String, usize)> = {
            let table = table.lock().unwrap_or_else(|e| e.into_inner());
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
        let mut queued = 0u64;
        for (mailbox, to, index) in recipients {
            queued += u64::from(mailbox.deliver(notification.message(to, &notification.targets[index])));
        }
        if queued > 0 {
            self.metrics.deliveries.inc_by(queued);
            // One clock read per notification: the latency of its last recipient, the slowest.
            self.metrics.delivery_latency.observe(notification.at.elapsed().as_secs_f64());
        }
    }

    fn published(&self) {
        self.metrics.publishes.inc();
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
