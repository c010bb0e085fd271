//! Fan-out: turning one committed change into the notification its recipients get, with the
//! event serialised once for all of them, and choosing the recipients (subscribed, delivering,
//! and still passing the access check at delivery time). Handing it to sessions is the
//! [`Delivery`] seam's work: the core resolves the targets to its bound sessions.

use std::collections::HashMap;
use std::sync::Arc;

use herald_proto::ns as xmpp;
use herald_xml::{Element, Node as XmlNode};

use crate::access;
use crate::model::{Item, Node, SubState, Subscription};
use crate::ns;

/// Hands notifications to sessions. The core implements it: it knows which sessions are bound
/// and available; the pubsub service only knows JIDs.
pub trait Delivery: Send + Sync + 'static {
    /// Queues `notification` to the sessions of each of its targets bound now: a bare target's
    /// available sessions, a full target's session with that resource. Never blocks.
    fn deliver(&self, notification: &Notification);
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
}

/// One recipient of a notification.
#[derive(Clone, Debug)]
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

impl crate::PubSub {
    /// A notification from this service.
    pub(crate) fn notification(&self, targets: Vec<Target>, event: Arc<str>, id: String) -> Notification {
        Notification { targets, from: self.shared.jid.clone(), event, id }
    }

    /// Delivers a notification at once (not tied to a commit).
    pub(crate) fn send_now(&self, notification: &Notification) {
        self.shared.delivery.deliver(notification);
    }

    /// The recipients of a node's notifications: subscribed, delivering, and still passing the
    /// access check (an O(1) lookup each, so no path delivers to someone who lost access; skipped
    /// when the node is not whitelist and has no outcast, as then everyone passes).
    pub(crate) fn targets(node: &Node) -> Vec<Target> {
        let check = access::may_exclude(node);
        let receives = |s: &&Subscription| s.state == SubState::Subscribed && s.deliver && (!check || access::may_receive(node, &s.bare));
        let mut per_bare: HashMap<&str, usize> = HashMap::new();
        for s in node.subscriptions.iter().filter(receives) {
            *per_bare.entry(s.jid.as_str()).or_default() += 1;
        }
        node.subscriptions
            .iter()
            .filter(receives)
            .map(|s| Target {
                bare: s.bare.clone(),
                resource: s.resource.clone(),
                subid: (per_bare[s.jid.as_str()] > 1).then(|| s.subid.clone()),
            })
            .collect()
    }

    pub(crate) fn event(node: &str, child: Element) -> Arc<str> {
        Element::new("event", ns::EVENT)
            .with_child(Element::new("items", ns::EVENT).with_attr("node", node).with_child(child))
            .to_xml()
            .into()
    }

    pub(crate) fn event_item(item: &Item, with_payload: bool) -> Element {
        let mut el = Element::new("item", ns::EVENT).with_attr("id", item.id.clone());
        if !item.publisher.is_empty() {
            el.set_attr("publisher", item.publisher.clone());
        }
        if let (true, Some(payload)) = (with_payload, &item.payload) {
            el.push_child(payload.as_ref().clone());
        }
        el
    }
}
