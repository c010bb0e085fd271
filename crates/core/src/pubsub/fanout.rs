//! Fan-out: turning one committed change into the messages its recipients get, with the event
//! serialised once for all of them, and choosing the recipients (subscribed, delivering, and
//! still passing the access check at delivery time).

use std::collections::HashMap;
use std::sync::Arc;

use herald_proto::ns as xmpp;
use herald_xml::{Element, Node as XmlNode};

use super::access;
use super::model::{Item, Node, SubState, Subscription};
use super::ns;
use crate::router::Core;

/// One committed-then-delivered notification.
pub(crate) struct Fanout {
    pub(crate) targets: Vec<Target>,
    /// The `<event/>` element, serialised once for every recipient.
    pub(crate) event: Arc<str>,
    pub(crate) id: String,
}

/// One recipient of a notification.
pub(crate) struct Target {
    pub(crate) bare: String,
    pub(crate) resource: Option<String>,
    /// Set when the JID has several subscriptions to the node (XEP-0060 §12.5).
    pub(crate) subid: Option<String>,
}

impl Core {
    /// Delivers one notification to its targets, holding the session table once.
    pub(crate) fn fan_out(&self, fanout: &Fanout) {
        // Resolve recipients under the table lock, then build and queue messages without it.
        let recipients: Vec<(crate::sessions::Mailbox, String, Option<&String>)> = {
            let table = self.table();
            let mut out = Vec::with_capacity(fanout.targets.len());
            for target in &fanout.targets {
                match &target.resource {
                    Some(resource) => {
                        if let Some(s) = table.by_resource(&target.bare, resource) {
                            out.push((s.mailbox(), format!("{}/{resource}", target.bare), target.subid.as_ref()));
                        }
                    }
                    None => {
                        for s in table.available(&target.bare) {
                            out.push((s.mailbox(), format!("{}/{}", target.bare, s.resource), target.subid.as_ref()));
                        }
                    }
                }
            }
            out
        };
        let from = self.pubsub_jid();
        for (mailbox, to, subid) in recipients {
            let mut m =
                Element::new("message", xmpp::CLIENT).with_attr("from", from).with_attr("to", to).with_attr("id", fanout.id.clone());
            m.children.push(XmlNode::Raw(fanout.event.clone()));
            if let Some(subid) = subid {
                m.push_child(
                    Element::new("headers", ns::SHIM)
                        .with_child(Element::new("header", ns::SHIM).with_attr("name", "SubID").with_text(subid.clone())),
                );
            }
            mailbox.deliver(m);
        }
    }

    /// The recipients of a node's notifications: subscribed, delivering, and still passing the
    /// access check (an O(1) lookup each, so no path delivers to someone who lost access; skipped
    /// when the node is not whitelist and has no outcast, as then everyone passes).
    pub(super) fn targets(node: &Node) -> Vec<Target> {
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

    pub(super) fn event(node: &str, child: Element) -> Arc<str> {
        Element::new("event", ns::EVENT)
            .with_child(Element::new("items", ns::EVENT).with_attr("node", node).with_child(child))
            .to_xml()
            .into()
    }

    pub(super) fn event_item(item: &Item, with_payload: bool) -> Element {
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
