//! The delivery seam: the [`Notification`] a committed change becomes, its [`Target`]s, and the
//! [`Delivery`] trait through which the core hands it to bound sessions (the service knows JIDs,
//! the core knows sessions).

use std::sync::Arc;
use std::time::Instant;

use herald_proto::ns as xmpp;
use herald_xml::{Element, Node as XmlNode};
use serde::{Deserialize, Serialize};

use crate::ns;

/// Hands notifications to sessions. The core implements it: it knows which sessions are bound
/// and available; the pubsub service only knows JIDs.
pub trait Delivery: Send + Sync + 'static {
    /// Queues `notification` to the sessions of each of its targets bound now: a bare target's
    /// available sessions, a full target's session with that resource. Never blocks.
    fn deliver(&self, notification: &Notification);

    /// An item was published (accepted and queued to be stored): for the service's counters.
    /// Nothing by default.
    fn published(&self) {}
}

/// One committed-then-delivered notification.
#[derive(Clone, Debug)]
pub struct Notification {
    /// Who gets it.
    pub targets: Vec<Target>,
    /// The service's JID, the `from` of every message.
    pub from: Arc<str>,
    /// The `<event/>` element, serialised once for every recipient.
    pub event: Arc<str>,
    /// The message id.
    pub id: String,
    /// When the change was made (the publish call): what delivery latency is measured from,
    /// read once per change, not once per recipient.
    pub at: Instant,
    /// The same moment as ms since the Unix epoch, for a node that receives the notification
    /// from another one (its latency is measured from it).
    pub published_ms: i64,
}

/// One recipient of a notification (serialisable: notifications also go to the other nodes of
/// a cluster, which resolve the targets to their own sessions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Bare JID.
    pub bare: String,
    /// The resource of a full-JID subscription; `None`: every available session of `bare`.
    pub resource: Option<String>,
    /// Set when the JID has several subscriptions to the node (XEP-0060 §12.5).
    pub subid: Option<String>,
}

impl Notification {
    /// The `<message/>` for one session, addressed `to` its full JID, on behalf of `target`.
    pub fn message(&self, to: String, target: &Target) -> Element {
        let mut m =
            Element::new("message", xmpp::CLIENT).with_attr("from", &*self.from).with_attr("to", to).with_attr("id", self.id.clone());
        m.children.push(XmlNode::Raw(self.event.clone()));
        if let Some(subid) = &target.subid {
            m.push_child(
                Element::new("headers", ns::SHIM)
                    .with_child(Element::new("header", ns::SHIM).with_attr("name", "SubID").with_text(subid.clone())),
            );
        }
        m
    }
}
