//! Fan-out: turning one committed change into the notification its recipients get, with the
//! event serialised once for all of them, and choosing the recipients (subscribed, delivering,
//! and still passing the access check at delivery time). Handing it to sessions is the
//! [`Delivery`](crate::Delivery) seam's work: the core resolves the targets to its bound sessions.

use std::collections::HashMap;
use std::sync::Arc;

use herald_xml::Element;

use crate::access;
use crate::delivery::{Notification, Target};
use crate::model::{Item, Node, SubState, Subscription};
use crate::ns;
use crate::replication::{Replicated, WireNotification};

impl crate::PubSub {
    /// A notification from this service.
    pub(crate) fn notification(&self, targets: Vec<Target>, event: Arc<str>, id: String) -> Notification {
        Notification { targets, from: self.shared.jid.clone(), event, id, at: std::time::Instant::now(), published_ms: crate::now_ms() }
    }

    /// Delivers a notification at once (not tied to a commit: it follows one the caller awaited)
    /// here and, in a cluster, on the other nodes, whose sessions its targets may be bound to.
    pub(crate) fn send_now(&self, notification: &Notification) {
        self.replicate(Replicated { ops: Vec::new(), notifications: vec![WireNotification::of(notification)] });
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
