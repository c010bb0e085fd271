//! An iq to `pubsub.<domain>` parsed into a typed [`Request`], before anything runs: every
//! malformed request is refused here with its XEP-0060 error, and `xmpp.rs` executes only
//! well-formed ones.

use herald_proto::{Jid, Stanza, StanzaError, StanzaErrorType, ns as xmpp};
use herald_xml::Element;

use crate::forms::submitted;
use crate::items::ItemQuery;
use crate::model::{Affiliation, SubState};
use crate::ns;

/// One pubsub request, as the XMPP adapter understood it.
#[derive(Debug)]
pub(crate) enum Request {
    /// Service discovery of the service, or of one node.
    DiscoInfo { node: Option<String> },
    /// The nodes, or one node's items, by disco.
    DiscoItems { node: Option<String> },
    /// Create a node (named, or instant) with submitted configuration fields.
    Create { node: Option<String>, fields: Vec<(String, String)> },
    /// Subscribe, optionally setting `pubsub#deliver` at once.
    Subscribe { node: String, jid: Jid, deliver: Option<bool> },
    /// Unsubscribe.
    Unsubscribe { node: String, jid: Jid, subid: Option<String> },
    /// Publish one item.
    Publish { node: String, id: Option<String>, payload: Option<Element> },
    /// Retract one item.
    Retract { node: String, id: String, notify: bool },
    /// Retrieve items; `rsm` when the answer must carry an XEP-0059 set.
    Items { node: String, query: ItemQuery, rsm: bool },
    /// The requester's subscriptions.
    Subscriptions { node: Option<String> },
    /// The requester's affiliations.
    Affiliations { node: Option<String> },
    /// Read (`set: None`) or change a subscription's `pubsub#deliver`.
    Options { node: String, jid: Jid, subid: Option<String>, set: Option<Option<bool>> },
    /// The default node configuration, in the entity (`owner: false`) or owner namespace.
    Default { owner: bool },
    /// A node's configuration form.
    GetConfig { node: String },
    /// Change a node's configuration.
    Configure { node: String, fields: Vec<(String, String)> },
    /// Delete a node.
    Delete { node: String },
    /// Remove every item.
    Purge { node: String },
    /// A node's affiliations.
    GetAffiliations { node: String },
    /// Set affiliations.
    SetAffiliations { node: String, entries: Vec<(Jid, Affiliation)> },
    /// A node's subscriptions.
    GetSubscriptions { node: String },
    /// Set subscriptions (`None`: remove).
    SetSubscriptions { node: String, entries: Vec<(Jid, Option<String>, Option<SubState>)> },
}

fn bad_request(text: &str) -> StanzaError {
    StanzaError::bad_request().with_text(text)
}

fn app_error(kind: StanzaErrorType, condition: &'static str, app: &str) -> StanzaError {
    StanzaError::new(kind, condition).with_app_condition(Element::new(app, ns::ERRORS))
}

fn node_attr(el: &Element) -> Result<String, StanzaError> {
    el.attr("node").map(str::to_owned).ok_or_else(|| app_error(StanzaErrorType::Modify, "bad-request", "nodeid-required"))
}

fn jid_attr(el: &Element) -> Result<Jid, StanzaError> {
    el.attr("jid").and_then(|j| Jid::new(j).ok()).ok_or_else(|| app_error(StanzaErrorType::Modify, "bad-request", "invalid-jid"))
}

fn flag(v: &str) -> bool {
    matches!(v, "1" | "true")
}

/// `pubsub#deliver` in a submitted form, if there.
fn deliver_field(fields: Vec<(String, String)>) -> Option<bool> {
    fields.into_iter().find(|(k, _)| k == "pubsub#deliver").map(|(_, v)| flag(&v))
}

fn rsm_max(rsm: Option<&Element>) -> Option<usize> {
    rsm.and_then(|s| s.child("max", ns::RSM)).and_then(|m| m.text().parse().ok())
}

impl Request {
    /// Parses an iq addressed to the service.
    pub(crate) fn from_iq(iq: &Element) -> Result<Self, StanzaError> {
        let payload = iq.elements().next().ok_or_else(|| bad_request("empty request"))?;
        let get = iq.stanza_type() == "get";
        let node = || payload.attr("node").map(str::to_owned);
        if get && payload.is("query", xmpp::DISCO_INFO) {
            return Ok(Self::DiscoInfo { node: node() });
        }
        if get && payload.is("query", xmpp::DISCO_ITEMS) {
            return Ok(Self::DiscoItems { node: node() });
        }
        if payload.is("pubsub", ns::PUBSUB) {
            return Self::entity(get, payload);
        }
        if payload.is("pubsub", ns::OWNER) {
            return Self::owner(get, payload);
        }
        Err(StanzaError::service_unavailable())
    }

    fn entity(get: bool, pubsub: &Element) -> Result<Self, StanzaError> {
        let mut children = pubsub.elements();
        let first = children.next().ok_or_else(|| bad_request("empty pubsub request"))?;
        let second = children.next();
        Ok(match (get, first.name.as_str()) {
            (false, "create") => Self::Create {
                node: first.attr("node").map(str::to_owned),
                fields: second.filter(|c| c.is("configure", ns::PUBSUB)).and_then(submitted).unwrap_or_default(),
            },
            (false, "subscribe") => Self::Subscribe {
                node: node_attr(first)?,
                jid: jid_attr(first)?,
                deliver: second.filter(|c| c.is("options", ns::PUBSUB)).and_then(submitted).and_then(deliver_field),
            },
            (false, "unsubscribe") => {
                Self::Unsubscribe { node: node_attr(first)?, jid: jid_attr(first)?, subid: first.attr("subid").map(str::to_owned) }
            }
            (false, "publish") => Self::publish(first)?,
            (false, "retract") => Self::Retract {
                node: node_attr(first)?,
                id: first
                    .child("item", ns::PUBSUB)
                    .and_then(|i| i.attr("id"))
                    .map(str::to_owned)
                    .ok_or_else(|| app_error(StanzaErrorType::Modify, "bad-request", "item-required"))?,
                notify: first.attr("notify").is_some_and(flag),
            },
            (true, "items") => Self::items(pubsub, first)?,
            (true, "subscriptions") => Self::Subscriptions { node: first.attr("node").map(str::to_owned) },
            (true, "affiliations") => Self::Affiliations { node: first.attr("node").map(str::to_owned) },
            (_, "options") => Self::Options {
                node: node_attr(first)?,
                jid: jid_attr(first)?,
                subid: first.attr("subid").map(str::to_owned),
                set: if get { None } else { Some(deliver_field(submitted(first).ok_or_else(|| bad_request("options need a data form"))?)) },
            },
            (true, "default") => Self::Default { owner: false },
            _ => {
                tracing::debug!(target: "notification", request = %first.name, "unsupported pubsub request");
                return Err(StanzaError::new(StanzaErrorType::Cancel, "feature-not-implemented")
                    .with_app_condition(Element::new("unsupported", ns::ERRORS).with_attr("feature", first.name.clone())));
            }
        })
    }

    fn publish(first: &Element) -> Result<Self, StanzaError> {
        let node = node_attr(first)?;
        let mut items = first.elements().filter(|e| e.is("item", ns::PUBSUB));
        let item = items.next();
        if items.next().is_some() {
            return Err(bad_request("publish one item at a time").with_app_condition(Element::new("invalid-payload", ns::ERRORS)));
        }
        if item.is_some_and(|i| i.elements().count() > 1) {
            return Err(bad_request("one payload per item").with_app_condition(Element::new("invalid-payload", ns::ERRORS)));
        }
        Ok(Self::Publish {
            node,
            id: item.and_then(|i| i.attr("id")).map(str::to_owned),
            payload: item.and_then(|i| i.elements().next().cloned()),
        })
    }

    fn items(pubsub: &Element, first: &Element) -> Result<Self, StanzaError> {
        let node = node_attr(first)?;
        let ids: Vec<String> =
            first.elements().filter(|e| e.is("item", ns::PUBSUB)).filter_map(|e| e.attr("id")).map(str::to_owned).collect();
        let max = first.attr("max_items").and_then(|m| m.parse().ok());
        let rsm = pubsub.child("set", ns::RSM);
        let query = match (rsm.and_then(|s| s.child("after", ns::RSM)), ids.is_empty()) {
            (Some(after), _) => ItemQuery::After(after.text(), rsm_max(rsm).or(max)),
            (None, false) => ItemQuery::Ids(ids),
            (None, true) => ItemQuery::Latest(max.or_else(|| rsm_max(rsm))),
        };
        Ok(Self::Items { node, query, rsm: rsm.is_some() })
    }

    fn owner(get: bool, pubsub: &Element) -> Result<Self, StanzaError> {
        let first = pubsub.elements().next().ok_or_else(|| bad_request("empty pubsub#owner request"))?;
        Ok(match (get, first.name.as_str()) {
            (true, "configure") => Self::GetConfig { node: node_attr(first)? },
            (false, "configure") => Self::Configure { node: node_attr(first)?, fields: submitted(first).unwrap_or_default() },
            (true, "default") => Self::Default { owner: true },
            (false, "delete") => Self::Delete { node: node_attr(first)? },
            (false, "purge") => Self::Purge { node: node_attr(first)? },
            (true, "affiliations") => Self::GetAffiliations { node: node_attr(first)? },
            (false, "affiliations") => {
                let node = node_attr(first)?;
                let entries = first
                    .elements()
                    .filter(|e| e.is("affiliation", ns::OWNER))
                    .map(|entry| {
                        let affiliation =
                            entry.attr("affiliation").and_then(Affiliation::parse).ok_or_else(|| bad_request("unknown affiliation"))?;
                        Ok((jid_attr(entry)?, affiliation))
                    })
                    .collect::<Result<_, StanzaError>>()?;
                Self::SetAffiliations { node, entries }
            }
            (true, "subscriptions") => Self::GetSubscriptions { node: node_attr(first)? },
            (false, "subscriptions") => {
                let node = node_attr(first)?;
                let entries = first
                    .elements()
                    .filter(|e| e.is("subscription", ns::OWNER))
                    .map(|entry| {
                        let state = match entry.attr("subscription") {
                            Some("subscribed") => Some(SubState::Subscribed),
                            Some("pending") => Some(SubState::Pending),
                            Some("none") => None,
                            _ => return Err(bad_request("subscription must be subscribed, pending or none")),
                        };
                        Ok((jid_attr(entry)?, entry.attr("subid").map(str::to_owned), state))
                    })
                    .collect::<Result<_, StanzaError>>()?;
                Self::SetSubscriptions { node, entries }
            }
            _ => return Err(StanzaError::new(StanzaErrorType::Cancel, "feature-not-implemented")),
        })
    }
}
