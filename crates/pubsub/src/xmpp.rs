//! XEP-0060 over XMPP: an iq to `pubsub.<domain>` is parsed into a [`Request`] (`request.rs`),
//! executed against the service, and answered; [`PubSubError`]s become XEP-0060 stanza errors.

use herald_proto::stanza::iq_result;
use herald_proto::{BareJid, FullJid, Stanza, StanzaError, StanzaErrorType, ns as xmpp};
use herald_xml::Element;

use crate::PubSub;
use crate::error::PubSubError;
use crate::forms::form;
use crate::items::{ItemQuery, ItemsPage};
use crate::model::NodeConfig;
use crate::ns;
use crate::request::Request;

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

fn app(kind: StanzaErrorType, condition: &'static str, name: &str) -> StanzaError {
    StanzaError::new(kind, condition).with_app_condition(Element::new(name, ns::ERRORS))
}

impl From<PubSubError> for StanzaError {
    /// The XEP-0060 error for each refusal (§§ 6-8), with the service's reason as text where
    /// it helps the client.
    fn from(e: PubSubError) -> Self {
        use StanzaErrorType::{Auth, Cancel, Modify};
        let text = e.to_string();
        match e {
            PubSubError::NodeNotFound | PubSubError::NotInHistory => StanzaError::item_not_found().with_text(text),
            PubSubError::ItemNotFound => StanzaError::item_not_found(),
            PubSubError::NodeExists => StanzaError::new(Cancel, "conflict").with_text(text),
            PubSubError::EmptyNodeName => StanzaError::bad_request().with_text(text),
            PubSubError::UsersCannotCreate | PubSubError::TooManyNodes { .. } => StanzaError::new(Cancel, "not-allowed").with_text(text),
            PubSubError::Forbidden => StanzaError::forbidden(),
            PubSubError::ReservedName(_) => StanzaError::forbidden().with_text(text),
            PubSubError::NodeNameTooLong(_) => StanzaError::new(Modify, "not-acceptable").with_text(text),
            PubSubError::ItemIdTooLong(_) => app(Modify, "not-acceptable", "invalid-payload").with_text(text),
            PubSubError::TooManySubscriptions { .. } => app(Cancel, "not-allowed", "too-many-subscriptions").with_text(text),
            PubSubError::InvalidJid => app(Modify, "bad-request", "invalid-jid"),
            PubSubError::NotSubscribed => app(Cancel, "unexpected-request", "not-subscribed"),
            PubSubError::NoSuchSubscription => app(Modify, "unexpected-request", "not-subscribed"),
            PubSubError::SubidRequired => app(Modify, "bad-request", "subid-required"),
            PubSubError::InvalidSubid => app(Modify, "not-acceptable", "invalid-subid"),
            PubSubError::NotApprovedSubscriber => app(Auth, "not-authorized", "not-subscribed"),
            PubSubError::Config(_) => StanzaError::new(Modify, "not-acceptable").with_text(text),
            PubSubError::Storage(_) => StanzaError::internal().with_text("the change could not be stored"),
            PubSubError::WriterStopped => StanzaError::internal().with_text(text),
        }
    }
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

fn config_form(config: &NodeConfig) -> Element {
    form("form", "http://jabber.org/protocol/pubsub#node_config", &config.fields())
}

/// `config` with submitted form fields applied.
fn configured(mut config: NodeConfig, fields: &[(String, String)]) -> Result<NodeConfig, PubSubError> {
    for (var, value) in fields {
        config.set(var, value)?;
    }
    Ok(config)
}

fn wrap(namespace: &str, child: Element) -> Option<Element> {
    Some(Element::new("pubsub", namespace).with_child(child))
}

impl PubSub {
    /// Answers an iq addressed to the service: the result or error reply to send back to
    /// `from` (`None` for an iq that needs no answer).
    pub async fn handle_iq(&self, from: &FullJid, iq: &Element) -> Option<Element> {
        let who = from.to_bare();
        let answer = match Request::from_iq(iq) {
            Ok(request) => self.execute(&who, request).await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(payload) => Some(iq_result(iq, payload)),
            Err(error) => iq.error_reply(&error),
        }
    }

    async fn execute(&self, who: &BareJid, request: Request) -> Result<Option<Element>, StanzaError> {
        let me = Some(who);
        Ok(match request {
            Request::DiscoInfo { node } => Some(self.disco_info(who, node).await?),
            Request::DiscoItems { node } => Some(self.disco_items(who, node).await?),
            Request::Create { node, fields } => {
                let config = configured(NodeConfig::with_max_items(self.default_max_items()), &fields)?;
                let name = self.create_node(me, node.as_deref(), Some(config)).await?;
                // Instant nodes report the generated name.
                node.is_none()
                    .then(|| Element::new("pubsub", ns::PUBSUB).with_child(Element::new("create", ns::PUBSUB).with_attr("node", name)))
            }
            Request::Subscribe { node, jid, deliver } => {
                let outcome = self.subscribe(me, &node, &jid).await?;
                if deliver.is_some() {
                    self.subscription_deliver(me, &node, &jid, Some(&outcome.subid), deliver).await?;
                }
                wrap(
                    ns::PUBSUB,
                    Element::new("subscription", ns::PUBSUB)
                        .with_attr("node", node)
                        .with_attr("jid", outcome.jid)
                        .with_attr("subid", outcome.subid)
                        .with_attr("subscription", outcome.state.name()),
                )
            }
            Request::Unsubscribe { node, jid, subid } => {
                self.unsubscribe(me, &node, &jid, subid.as_deref()).await?;
                None
            }
            Request::Publish { node, id, payload } => {
                let id = self.publish(me, &node, id, payload).await?;
                wrap(
                    ns::PUBSUB,
                    Element::new("publish", ns::PUBSUB)
                        .with_attr("node", node)
                        .with_child(Element::new("item", ns::PUBSUB).with_attr("id", id)),
                )
            }
            Request::Retract { node, id, notify } => {
                self.retract(me, &node, &id, notify).await?;
                None
            }
            Request::Items { node, query, rsm } => {
                let page = self.items(me, &node, query).await?;
                let mut out = Element::new("pubsub", ns::PUBSUB).with_child(items_element(ns::PUBSUB, &node, &page, true));
                if rsm {
                    let mut set = Element::new("set", ns::RSM).with_child(Element::new("count", ns::RSM).with_text(page.count.to_string()));
                    if let (Some(first), Some(last)) = (page.items.first(), page.items.last()) {
                        set.push_child(Element::new("first", ns::RSM).with_text(first.id.clone()));
                        set.push_child(Element::new("last", ns::RSM).with_text(last.id.clone()));
                    }
                    out.push_child(set);
                }
                Some(out)
            }
            Request::Subscriptions { node } => {
                let mut list = Element::new("subscriptions", ns::PUBSUB);
                if let Some(node) = &node {
                    list.set_attr("node", node.clone());
                }
                for (node, jid, subid, state) in self.subscriptions_of(who, node.as_deref()) {
                    list.push_child(
                        Element::new("subscription", ns::PUBSUB)
                            .with_attr("node", node)
                            .with_attr("jid", jid)
                            .with_attr("subid", subid)
                            .with_attr("subscription", state.name()),
                    );
                }
                wrap(ns::PUBSUB, list)
            }
            Request::Affiliations { node } => {
                let mut list = Element::new("affiliations", ns::PUBSUB);
                for (node, affiliation) in self.affiliations_of(who, node.as_deref()) {
                    list.push_child(
                        Element::new("affiliation", ns::PUBSUB).with_attr("node", node).with_attr("affiliation", affiliation.name()),
                    );
                }
                wrap(ns::PUBSUB, list)
            }
            Request::Options { node, jid, subid, set } => {
                let (subid, deliver) = self.subscription_deliver(me, &node, &jid, subid.as_deref(), set.flatten()).await?;
                if set.is_some() {
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
                wrap(ns::PUBSUB, options)
            }
            Request::Default { owner } => {
                let namespace = if owner { ns::OWNER } else { ns::PUBSUB };
                let config = NodeConfig::with_max_items(self.default_max_items());
                wrap(namespace, Element::new("default", namespace).with_child(config_form(&config)))
            }
            Request::GetConfig { node } => {
                let config = self.node_config(me, &node)?;
                wrap(ns::OWNER, Element::new("configure", ns::OWNER).with_attr("node", node).with_child(config_form(&config)))
            }
            Request::Configure { node, fields } => {
                let config = configured(self.node_config(me, &node)?, &fields)?;
                self.configure_node(me, &node, config).await?;
                None
            }
            Request::Delete { node } => {
                self.delete_node(me, &node).await?;
                None
            }
            Request::Purge { node } => {
                self.purge_node(me, &node).await?;
                None
            }
            Request::GetAffiliations { node } => {
                let mut list = Element::new("affiliations", ns::OWNER).with_attr("node", node.clone());
                for (jid, affiliation) in self.affiliations(me, &node)? {
                    list.push_child(
                        Element::new("affiliation", ns::OWNER).with_attr("jid", jid).with_attr("affiliation", affiliation.name()),
                    );
                }
                wrap(ns::OWNER, list)
            }
            Request::SetAffiliations { node, entries } => {
                for (jid, affiliation) in entries {
                    self.set_affiliation(me, &node, &jid.to_bare(), affiliation).await?;
                }
                None
            }
            Request::GetSubscriptions { node } => {
                let mut list = Element::new("subscriptions", ns::OWNER).with_attr("node", node.clone());
                for (jid, subid, state) in self.node_subscriptions(me, &node)? {
                    list.push_child(
                        Element::new("subscription", ns::OWNER)
                            .with_attr("jid", jid)
                            .with_attr("subid", subid)
                            .with_attr("subscription", state.name()),
                    );
                }
                wrap(ns::OWNER, list)
            }
            Request::SetSubscriptions { node, entries } => {
                for (jid, subid, state) in entries {
                    self.set_subscription(me, &node, &jid, subid.as_deref(), state).await?;
                }
                None
            }
        })
    }

    async fn disco_info(&self, who: &BareJid, node: Option<String>) -> Result<Element, PubSubError> {
        let mut out = Element::new("query", xmpp::DISCO_INFO);
        match node {
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
                self.node_visible(who, &node).await?;
                out.set_attr("node", node);
                out.push_child(Element::new("identity", xmpp::DISCO_INFO).with_attr("category", "pubsub").with_attr("type", "leaf"));
                out.push_child(Element::new("feature", xmpp::DISCO_INFO).with_attr("var", ns::PUBSUB));
            }
        }
        Ok(out)
    }

    async fn disco_items(&self, who: &BareJid, node: Option<String>) -> Result<Element, PubSubError> {
        let mut out = Element::new("query", xmpp::DISCO_ITEMS);
        if let Some(node) = node {
            // The items of a node, by id (XEP-0060 §5.5); a missing or hidden node is an error,
            // other refusals (authorize, not subscribed) an empty list.
            self.node_visible(who, &node).await?;
            out.set_attr("node", node.clone());
            if let Ok(page) = self.items(Some(who), &node, ItemQuery::Latest(None)).await {
                for item in page.items {
                    out.push_child(Element::new("item", xmpp::DISCO_ITEMS).with_attr("jid", self.jid()).with_attr("name", item.id));
                }
            }
            return Ok(out);
        }
        for (node, title) in self.visible_nodes(Some(who)) {
            let mut item = Element::new("item", xmpp::DISCO_ITEMS).with_attr("jid", self.jid()).with_attr("node", node);
            if !title.is_empty() {
                item.set_attr("name", title);
            }
            out.push_child(item);
        }
        Ok(out)
    }
}
