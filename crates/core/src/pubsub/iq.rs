//! XEP-0060 over XMPP: the iq requests to `pubsub.<domain>` (entity and owner use cases, service
//! discovery) turned into calls of the service, and their answers and errors.

use herald_proto::stanza::iq_result;
use herald_proto::{BareJid, FullJid, Jid, Stanza, StanzaError, StanzaErrorType, ns as xmpp};
use herald_xml::Element;

use super::forms::{form, submitted};
use super::model::{Affiliation, NodeConfig, SubState};
use super::ns;
use super::service::{ItemQuery, ItemsPage};
use crate::router::Core;

const FEATURES: &[&str] = &[
    "access-authorize",
    "access-open",
    "access-presence",
    "access-whitelist",
    "config-node",
    "create-and-configure",
    "create-nodes",
    "delete-items",
    "delete-nodes",
    "instant-nodes",
    "item-ids",
    "last-published",
    "manage-subscriptions",
    "member-affiliation",
    "modify-affiliations",
    "multi-subscribe",
    "outcast-affiliation",
    "persistent-items",
    "publish",
    "publisher-affiliation",
    "purge-nodes",
    "retract-items",
    "retrieve-affiliations",
    "retrieve-items",
    "retrieve-subscriptions",
    "subscribe",
    "subscription-options",
];

fn bad_request(text: &str) -> StanzaError {
    StanzaError::bad_request().with_text(text)
}

fn node_attr(el: &Element) -> Result<String, StanzaError> {
    el.attr("node")
        .map(str::to_owned)
        .ok_or_else(|| StanzaError::bad_request().with_app_condition(Element::new("nodeid-required", ns::ERRORS)))
}

fn jid_attr(el: &Element) -> Result<Jid, StanzaError> {
    el.attr("jid")
        .and_then(|j| Jid::new(j).ok())
        .ok_or_else(|| StanzaError::bad_request().with_app_condition(Element::new("invalid-jid", ns::ERRORS)))
}

fn config_from(el: Option<&Element>, mut config: NodeConfig) -> Result<NodeConfig, StanzaError> {
    if let Some(fields) = el.and_then(submitted) {
        for (var, value) in fields {
            config
                .set(&var, &value)
                .map_err(|e| StanzaError::new(StanzaErrorType::Modify, "not-acceptable").with_text(format!("unsupported {e}")))?;
        }
    }
    Ok(config)
}

fn items_element(name: &str, node: &str, page: &ItemsPage, with_payloads: bool) -> Element {
    let mut items = Element::new("items", name).with_attr("node", node);
    for item in &page.items {
        let mut el = Element::new("item", name).with_attr("id", item.id.clone());
        if !item.publisher.is_empty() {
            el.set_attr("publisher", item.publisher.clone());
        }
        if let (true, Some(p)) = (with_payloads, &item.payload) {
            el.push_child(p.as_ref().clone());
        }
        items.push_child(el);
    }
    items
}

impl Core {
    /// Handles an iq addressed to the pubsub service and sends the answer.
    pub(crate) async fn handle_pubsub_iq(&self, from: &FullJid, iq: Element) {
        let result = self.pubsub_request(from, &iq).await;
        match result {
            Ok(payload) => self.send_reply(iq_result(&iq, payload)),
            Err(error) => self.bounce(&iq, error),
        }
    }

    async fn pubsub_request(&self, from: &FullJid, iq: &Element) -> Result<Option<Element>, StanzaError> {
        let payload = iq.elements().next().ok_or_else(|| bad_request("empty request"))?;
        let who = from.to_bare();
        let get = iq.stanza_type() == "get";
        if get && payload.is("query", xmpp::DISCO_INFO) {
            return self.pubsub_disco_info(&who, payload).await.map(Some);
        }
        if get && payload.is("query", xmpp::DISCO_ITEMS) {
            return self.pubsub_disco_items(&who, payload).await.map(Some);
        }
        if payload.is("pubsub", ns::PUBSUB) {
            return self.entity_request(from, &who, get, payload).await;
        }
        if payload.is("pubsub", ns::OWNER) {
            return self.owner_request(&who, get, payload).await;
        }
        Err(StanzaError::service_unavailable())
    }

    async fn pubsub_disco_info(&self, who: &BareJid, query: &Element) -> Result<Element, StanzaError> {
        let mut out = Element::new("query", xmpp::DISCO_INFO);
        match query.attr("node") {
            None => {
                out.push_child(
                    Element::new("identity", xmpp::DISCO_INFO)
                        .with_attr("category", "pubsub")
                        .with_attr("type", "service")
                        .with_attr("name", "Herald publish-subscribe"),
                );
                for var in [xmpp::DISCO_INFO, xmpp::DISCO_ITEMS, ns::PUBSUB, ns::RSM] {
                    out.push_child(Element::new("feature", xmpp::DISCO_INFO).with_attr("var", var));
                }
                for f in FEATURES {
                    out.push_child(Element::new("feature", xmpp::DISCO_INFO).with_attr("var", format!("{}#{f}", ns::PUBSUB)));
                }
            }
            Some(node) => {
                // Missing, and hidden from this requester, answer alike.
                self.node_visible(who, node).await?;
                out.set_attr("node", node);
                out.push_child(Element::new("identity", xmpp::DISCO_INFO).with_attr("category", "pubsub").with_attr("type", "leaf"));
                out.push_child(Element::new("feature", xmpp::DISCO_INFO).with_attr("var", ns::PUBSUB));
            }
        }
        Ok(out)
    }

    async fn pubsub_disco_items(&self, who: &BareJid, query: &Element) -> Result<Element, StanzaError> {
        let mut out = Element::new("query", xmpp::DISCO_ITEMS);
        if let Some(node) = query.attr("node") {
            // The items of a node, by id (XEP-0060 §5.5); a missing or hidden node is an error,
            // other refusals (authorize, not subscribed) an empty list.
            self.node_visible(who, node).await?;
            out.set_attr("node", node);
            if let Ok(page) = self.items(Some(who), node, ItemQuery::Latest(None)).await {
                for item in page.items {
                    out.push_child(Element::new("item", xmpp::DISCO_ITEMS).with_attr("jid", self.pubsub_jid()).with_attr("name", item.id));
                }
            }
            return Ok(out);
        }
        for (node, title) in self.visible_nodes(Some(who)) {
            let mut item = Element::new("item", xmpp::DISCO_ITEMS).with_attr("jid", self.pubsub_jid()).with_attr("node", node);
            if !title.is_empty() {
                item.set_attr("name", title);
            }
            out.push_child(item);
        }
        Ok(out)
    }

    async fn entity_request(&self, from: &FullJid, who: &BareJid, get: bool, pubsub: &Element) -> Result<Option<Element>, StanzaError> {
        let mut children = pubsub.elements();
        let first = children.next().ok_or_else(|| bad_request("empty pubsub request"))?;
        let second = children.next();
        let wrap = |child: Element| Some(Element::new("pubsub", ns::PUBSUB).with_child(child));
        match (get, first.name.as_str()) {
            (false, "create") => {
                let config = config_from(
                    second.filter(|c| c.is("configure", ns::PUBSUB)),
                    NodeConfig::with_max_items(self.pubsub_default_max_items()),
                )?;
                let name = self.create_node(Some(who), first.attr("node"), Some(config)).await?;
                // Instant nodes report the generated name.
                Ok(first
                    .attr("node")
                    .is_none()
                    .then(|| Element::new("pubsub", ns::PUBSUB).with_child(Element::new("create", ns::PUBSUB).with_attr("node", name))))
            }
            (false, "subscribe") => {
                let node = node_attr(first)?;
                let jid = jid_attr(first)?;
                let outcome = self.subscribe(Some(who), &node, &jid).await?;
                if let Some(deliver) = second
                    .filter(|c| c.is("options", ns::PUBSUB))
                    .and_then(submitted)
                    .and_then(|f| f.into_iter().find(|(k, _)| k == "pubsub#deliver"))
                {
                    self.subscription_deliver(
                        Some(who),
                        &node,
                        &jid,
                        Some(&outcome.subid),
                        Some(matches!(deliver.1.as_str(), "1" | "true")),
                    )
                    .await?;
                }
                Ok(wrap(
                    Element::new("subscription", ns::PUBSUB)
                        .with_attr("node", node)
                        .with_attr("jid", outcome.jid)
                        .with_attr("subid", outcome.subid)
                        .with_attr("subscription", outcome.state.name()),
                ))
            }
            (false, "unsubscribe") => {
                let node = node_attr(first)?;
                let jid = jid_attr(first)?;
                self.unsubscribe(Some(who), &node, &jid, first.attr("subid")).await?;
                Ok(None)
            }
            (false, "publish") => {
                let node = node_attr(first)?;
                let mut items = first.elements().filter(|e| e.is("item", ns::PUBSUB));
                let item = items.next();
                if items.next().is_some() {
                    return Err(bad_request("publish one item at a time").with_app_condition(Element::new("invalid-payload", ns::ERRORS)));
                }
                let payload = item.and_then(|i| {
                    let mut payloads = i.elements();
                    payloads.next().cloned().filter(|_| payloads.next().is_none())
                });
                if item.is_some_and(|i| i.elements().count() > 1) {
                    return Err(bad_request("one payload per item").with_app_condition(Element::new("invalid-payload", ns::ERRORS)));
                }
                let id = self.publish(Some(who), &node, item.and_then(|i| i.attr("id")).map(str::to_owned), payload).await?;
                Ok(wrap(
                    Element::new("publish", ns::PUBSUB)
                        .with_attr("node", node)
                        .with_child(Element::new("item", ns::PUBSUB).with_attr("id", id)),
                ))
            }
            (false, "retract") => {
                let node = node_attr(first)?;
                let item = first
                    .child("item", ns::PUBSUB)
                    .and_then(|i| i.attr("id"))
                    .ok_or_else(|| StanzaError::bad_request().with_app_condition(Element::new("item-required", ns::ERRORS)))?;
                let notify = matches!(first.attr("notify"), Some("1" | "true"));
                self.retract(Some(who), &node, item, notify).await?;
                Ok(None)
            }
            (true, "items") => {
                let node = node_attr(first)?;
                let ids: Vec<String> =
                    first.elements().filter(|e| e.is("item", ns::PUBSUB)).filter_map(|e| e.attr("id")).map(str::to_owned).collect();
                let max = first.attr("max_items").and_then(|m| m.parse().ok());
                let rsm = pubsub.child("set", ns::RSM);
                let query = match (rsm.and_then(|s| s.child("after", ns::RSM)), ids.is_empty()) {
                    (Some(after), _) => ItemQuery::After(
                        after.text(),
                        rsm.and_then(|s| s.child("max", ns::RSM)).and_then(|m| m.text().parse().ok()).or(max),
                    ),
                    (None, false) => ItemQuery::Ids(ids),
                    (None, true) => {
                        ItemQuery::Latest(max.or_else(|| rsm.and_then(|s| s.child("max", ns::RSM)).and_then(|m| m.text().parse().ok())))
                    }
                };
                let page = self.items(Some(who), &node, query).await?;
                let mut out = Element::new("pubsub", ns::PUBSUB).with_child(items_element(ns::PUBSUB, &node, &page, true));
                if rsm.is_some() {
                    let mut set = Element::new("set", ns::RSM).with_child(Element::new("count", ns::RSM).with_text(page.count.to_string()));
                    if let (Some(first), Some(last)) = (page.items.first(), page.items.last()) {
                        set.push_child(Element::new("first", ns::RSM).with_text(first.id.clone()));
                        set.push_child(Element::new("last", ns::RSM).with_text(last.id.clone()));
                    }
                    out.push_child(set);
                }
                Ok(Some(out))
            }
            (true, "subscriptions") => {
                let mut list = Element::new("subscriptions", ns::PUBSUB);
                if let Some(node) = first.attr("node") {
                    list.set_attr("node", node);
                }
                for (node, jid, subid, state) in self.subscriptions_of(who, first.attr("node")) {
                    list.push_child(
                        Element::new("subscription", ns::PUBSUB)
                            .with_attr("node", node)
                            .with_attr("jid", jid)
                            .with_attr("subid", subid)
                            .with_attr("subscription", state.name()),
                    );
                }
                Ok(wrap(list))
            }
            (true, "affiliations") => {
                let mut list = Element::new("affiliations", ns::PUBSUB);
                for (node, affiliation) in self.affiliations_of(who, first.attr("node")) {
                    list.push_child(
                        Element::new("affiliation", ns::PUBSUB).with_attr("node", node).with_attr("affiliation", affiliation.name()),
                    );
                }
                Ok(wrap(list))
            }
            (_, "options") => {
                let node = node_attr(first)?;
                let jid = jid_attr(first)?;
                let set = if get {
                    None
                } else {
                    let fields = submitted(first).ok_or_else(|| bad_request("options need a data form"))?;
                    fields.into_iter().find(|(k, _)| k == "pubsub#deliver").map(|(_, v)| matches!(v.as_str(), "1" | "true"))
                };
                let (subid, deliver) = self.subscription_deliver(Some(who), &node, &jid, first.attr("subid"), set).await?;
                if !get {
                    return Ok(None);
                }
                let options = Element::new("options", ns::PUBSUB)
                    .with_attr("node", node)
                    .with_attr("jid", jid.to_string())
                    .with_attr("subid", subid)
                    .with_child(form(
                        "form",
                        "http://jabber.org/protocol/pubsub#subscribe_options",
                        &[("pubsub#deliver", if deliver { "1" } else { "0" }.to_owned())],
                    ));
                Ok(wrap(options))
            }
            (true, "default") => Ok(wrap(Element::new("default", ns::PUBSUB).with_child(self.default_config_form()))),
            _ => {
                tracing::debug!(target: "notification", %from, request = %first.name, "unsupported pubsub request");
                Err(StanzaError::new(StanzaErrorType::Cancel, "feature-not-implemented")
                    .with_app_condition(Element::new("unsupported", ns::ERRORS).with_attr("feature", first.name.clone())))
            }
        }
    }

    fn config_form(&self, config: &NodeConfig) -> Element {
        form("form", "http://jabber.org/protocol/pubsub#node_config", &config.fields())
    }

    fn default_config_form(&self) -> Element {
        self.config_form(&NodeConfig::with_max_items(self.pubsub_default_max_items()))
    }

    async fn owner_request(&self, who: &BareJid, get: bool, pubsub: &Element) -> Result<Option<Element>, StanzaError> {
        let first = pubsub.elements().next().ok_or_else(|| bad_request("empty pubsub#owner request"))?;
        let wrap = |child: Element| Some(Element::new("pubsub", ns::OWNER).with_child(child));
        match (get, first.name.as_str()) {
            (true, "configure") => {
                let node = node_attr(first)?;
                let config = self.node_config(Some(who), &node)?;
                Ok(wrap(Element::new("configure", ns::OWNER).with_attr("node", node).with_child(self.config_form(&config))))
            }
            (false, "configure") => {
                let node = node_attr(first)?;
                let config = config_from(Some(first), self.node_config(Some(who), &node)?)?;
                self.configure_node(Some(who), &node, config).await?;
                Ok(None)
            }
            (true, "default") => Ok(wrap(Element::new("default", ns::OWNER).with_child(self.default_config_form()))),
            (false, "delete") => {
                self.delete_node(Some(who), &node_attr(first)?).await?;
                Ok(None)
            }
            (false, "purge") => {
                self.purge_node(Some(who), &node_attr(first)?).await?;
                Ok(None)
            }
            (true, "affiliations") => {
                let node = node_attr(first)?;
                let mut list = Element::new("affiliations", ns::OWNER).with_attr("node", node.clone());
                for (jid, affiliation) in self.affiliations(Some(who), &node)? {
                    list.push_child(
                        Element::new("affiliation", ns::OWNER).with_attr("jid", jid).with_attr("affiliation", affiliation.name()),
                    );
                }
                Ok(wrap(list))
            }
            (false, "affiliations") => {
                let node = node_attr(first)?;
                for entry in first.elements().filter(|e| e.is("affiliation", ns::OWNER)) {
                    let jid = jid_attr(entry)?.to_bare();
                    let affiliation =
                        entry.attr("affiliation").and_then(Affiliation::parse).ok_or_else(|| bad_request("unknown affiliation"))?;
                    self.set_affiliation(Some(who), &node, &jid, affiliation).await?;
                }
                Ok(None)
            }
            (true, "subscriptions") => {
                let node = node_attr(first)?;
                let mut list = Element::new("subscriptions", ns::OWNER).with_attr("node", node.clone());
                for (jid, subid, state) in self.node_subscriptions(Some(who), &node)? {
                    list.push_child(
                        Element::new("subscription", ns::OWNER)
                            .with_attr("jid", jid)
                            .with_attr("subid", subid)
                            .with_attr("subscription", state.name()),
                    );
                }
                Ok(wrap(list))
            }
            (false, "subscriptions") => {
                let node = node_attr(first)?;
                for entry in first.elements().filter(|e| e.is("subscription", ns::OWNER)) {
                    let jid = jid_attr(entry)?;
                    let state = match entry.attr("subscription") {
                        Some("subscribed") => Some(SubState::Subscribed),
                        Some("pending") => Some(SubState::Pending),
                        Some("none") => None,
                        _ => return Err(bad_request("subscription must be subscribed, pending or none")),
                    };
                    self.set_subscription(Some(who), &node, &jid, entry.attr("subid"), state).await?;
                }
                Ok(None)
            }
            _ => Err(StanzaError::new(StanzaErrorType::Cancel, "feature-not-implemented")),
        }
    }
}
