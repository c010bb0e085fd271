//! The pubsub data model: node configuration, affiliations, subscriptions and items, with the
//! text form a node's configuration is stored in (`var=value` lines, read back through the same
//! typed [`NodeConfig::set`] as a submitted form).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use herald_xml::Element;

use crate::error::ConfigError;

/// Who may subscribe to a node and read its items (XEP-0060 §4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessModel {
    /// Anyone.
    Open,
    /// Contacts with a presence subscription to an owner.
    Presence,
    /// Only JIDs with an affiliation (member, publisher, owner): how Finesse restricts a user's
    /// node to that user and the team's supervisors.
    Whitelist,
    /// Anyone may ask; an owner approves.
    Authorize,
}

/// Who may publish (XEP-0060 §16.4.3 `pubsub#publish_model`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishModel {
    /// Owners and publishers.
    Publishers,
    /// Also subscribers.
    Subscribers,
    /// Anyone who is not an outcast.
    Open,
}

/// An entity's relation to a node (XEP-0060 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Affiliation {
    /// Banned: cannot subscribe, read or publish.
    Outcast,
    /// No affiliation.
    None,
    /// May subscribe and read whitelist nodes.
    Member,
    /// May publish.
    Publisher,
    /// Full control.
    Owner,
}

macro_rules! names {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// The XEP-0060 name.
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }
            /// Parses [`Self::name`].
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

names!(AccessModel { Open => "open", Presence => "presence", Whitelist => "whitelist", Authorize => "authorize" });
names!(PublishModel { Publishers => "publishers", Subscribers => "subscribers", Open => "open" });
names!(Affiliation { Outcast => "outcast", None => "none", Member => "member", Publisher => "publisher", Owner => "owner" });

/// A node's configuration (`pubsub#node_config`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// `pubsub#access_model`.
    pub access_model: AccessModel,
    /// `pubsub#publish_model`.
    pub publish_model: PublishModel,
    /// `pubsub#max_items`: how many items the node keeps for retrieval and catch-up.
    pub max_items: usize,
    /// `pubsub#deliver_payloads`.
    pub deliver_payloads: bool,
    /// `pubsub#send_last_published_item`: `on_sub` when true, `never` when false.
    pub send_last_on_subscribe: bool,
    /// `pubsub#notify_retract`.
    pub notify_retract: bool,
    /// `pubsub#title`.
    pub title: String,
}

impl NodeConfig {
    /// The defaults, keeping `max_items` items.
    pub fn with_max_items(max_items: usize) -> Self {
        Self {
            access_model: AccessModel::Open,
            publish_model: PublishModel::Publishers,
            max_items,
            deliver_payloads: true,
            send_last_on_subscribe: true,
            notify_retract: true,
            title: String::new(),
        }
    }

    /// Applies one `pubsub#…` field; `Err` names a field or value that is not acceptable.
    pub fn set(&mut self, var: &str, value: &str) -> Result<(), ConfigError> {
        let flag = |v: &str| matches!(v, "1" | "true");
        match var {
            "pubsub#access_model" => self.access_model = AccessModel::parse(value).ok_or_else(|| ConfigError::AccessModel(value.into()))?,
            "pubsub#publish_model" => {
                self.publish_model = PublishModel::parse(value).ok_or_else(|| ConfigError::PublishModel(value.into()))?
            }
            "pubsub#max_items" => {
                self.max_items = match value {
                    "max" => 10_000,
                    v => v.parse::<usize>().map_err(|_| ConfigError::MaxItems(v.into()))?.clamp(1, 10_000),
                }
            }
            "pubsub#deliver_payloads" => self.deliver_payloads = flag(value),
            "pubsub#send_last_published_item" => match value {
                "never" => self.send_last_on_subscribe = false,
                "on_sub" | "on_sub_and_presence" => self.send_last_on_subscribe = true,
                v => return Err(ConfigError::SendLast(v.into())),
            },
            "pubsub#notify_retract" => self.notify_retract = flag(value),
            "pubsub#title" => self.title = value.to_owned(),
            "FORM_TYPE" => {}
            // Options Herald does not implement are accepted only at their fixed values.
            "pubsub#persist_items" if flag(value) => {}
            "pubsub#node_type" if value == "leaf" => {}
            "pubsub#notify_delete" | "pubsub#notify_config" | "pubsub#presence_based_delivery" | "pubsub#purge_offline" | "pubsub#type" => {
            }
            other => return Err(ConfigError::Field(other.into())),
        }
        Ok(())
    }

    /// The fields as (var, value) pairs, in form order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let b = |v: bool| if v { "1".to_owned() } else { "0".to_owned() };
        vec![
            ("pubsub#title", self.title.clone()),
            ("pubsub#access_model", self.access_model.name().to_owned()),
            ("pubsub#publish_model", self.publish_model.name().to_owned()),
            ("pubsub#max_items", self.max_items.to_string()),
            ("pubsub#persist_items", "1".to_owned()),
            ("pubsub#deliver_payloads", b(self.deliver_payloads)),
            ("pubsub#send_last_published_item", if self.send_last_on_subscribe { "on_sub" } else { "never" }.to_owned()),
            ("pubsub#notify_retract", b(self.notify_retract)),
        ]
    }

    /// The stored text form: one `var=value` per line.
    pub fn serialise(&self) -> String {
        self.fields().into_iter().map(|(k, v)| format!("{k}={}\n", v.replace('\n', " "))).collect()
    }

    /// Parses [`NodeConfig::serialise`] over the defaults. A line this version does not accept
    /// (written by a later one, or edited by hand) keeps its default and is logged, so that one
    /// odd field never loses a node at start.
    pub fn deserialise(text: &str, default_max_items: usize) -> Self {
        let mut config = Self::with_max_items(default_max_items);
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=')
                && let Err(e) = config.set(k, v)
            {
                tracing::warn!(target: "notification", error = %e, "stored pubsub node configuration: line ignored");
            }
        }
        config
    }
}

/// State of a subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SubState {
    /// Receiving notifications.
    Subscribed,
    /// Waiting for an owner's approval.
    Pending,
}

impl SubState {
    /// The XEP-0060 name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Subscribed => "subscribed",
            Self::Pending => "pending",
        }
    }
}

/// One subscription.
#[derive(Clone, Debug)]
pub(crate) struct Subscription {
    /// Subscription id.
    pub subid: String,
    /// The subscribed JID as given (bare or full).
    pub jid: String,
    /// Its bare part, precomputed for delivery.
    pub bare: String,
    /// Its resource, for full-JID subscriptions.
    pub resource: Option<String>,
    /// State.
    pub state: SubState,
    /// `pubsub#deliver`: whether notifications are sent.
    pub deliver: bool,
}

/// One item in a node's history.
#[derive(Clone, Debug)]
pub struct Item {
    /// Position in the node's history.
    pub seq: u64,
    /// Item id.
    pub id: String,
    /// Bare JID of the publisher (empty when the server published it).
    pub publisher: String,
    /// The payload.
    pub payload: Option<Arc<Element>>,
    /// Publication time, ms since the epoch.
    pub published_at_ms: i64,
}

/// One node.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// Node name.
    pub name: String,
    /// Configuration.
    pub config: NodeConfig,
    /// Bare JID → affiliation (absent means none).
    pub affiliations: HashMap<String, Affiliation>,
    /// Subscriptions in creation order.
    pub subscriptions: Vec<Subscription>,
    /// The newest `max_items` items, oldest first.
    pub items: VecDeque<Item>,
    /// Sequence number of the next item.
    pub next_seq: u64,
}

impl Node {
    /// A new node with no affiliation, subscription or item.
    pub(crate) fn empty(name: &str, config: NodeConfig) -> Self {
        Self { name: name.to_owned(), config, affiliations: HashMap::new(), subscriptions: Vec::new(), items: VecDeque::new(), next_seq: 0 }
    }

    /// The affiliation of a bare JID.
    pub(crate) fn affiliation(&self, bare: &str) -> Affiliation {
        self.affiliations.get(bare).copied().unwrap_or(Affiliation::None)
    }

    /// Whether `bare` has a subscription in state subscribed.
    pub(crate) fn is_subscribed(&self, bare: &str) -> bool {
        self.subscriptions.iter().any(|s| s.bare == bare && s.state == SubState::Subscribed)
    }

    /// Items published after `after` (by id), oldest first; `None` if that item is no longer
    /// (or never was) in the history, which tells a reconnecting client it missed more than the
    /// node keeps.
    pub(crate) fn items_after(&self, after: &str) -> Option<impl Iterator<Item = &Item>> {
        let pos = self.items.iter().position(|i| i.id == after)?;
        Some(self.items.iter().skip(pos + 1))
    }
}
