//! Publish-subscribe (XEP-0060) at `pubsub.<domain>`: nodes named by any string (Finesse uses REST
//! URLs), affiliations and access models, subscriptions, item history with catch-up (XEP-0059
//! `after`), and fan-out of each publish to the subscribers' sessions.
//!
//! State lives in memory; every change is also queued to one writer task that commits the queued
//! changes in a single transaction (group commit). A publish is acknowledged, and its
//! notifications delivered, only after its transaction committed, in publish order: a crash never
//! loses an acknowledged item, and no subscriber sees an item that a crash could take back. The
//! publish path does no database work per subscriber.

mod access;
mod caps;
mod fanout;
mod forms;
mod iq;
mod model;
pub(crate) mod service;
mod state;

pub use caps::RESERVED_PREFIX;
pub use model::{AccessModel, Affiliation, Item, NodeConfig, PublishModel, SubState};
pub use service::{ItemQuery, ItemsPage, PubSubConfig, SubscribeOutcome};

/// XEP-0060 namespaces.
pub mod ns {
    /// Entity use cases.
    pub const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
    /// Owner use cases.
    pub const OWNER: &str = "http://jabber.org/protocol/pubsub#owner";
    /// Notifications.
    pub const EVENT: &str = "http://jabber.org/protocol/pubsub#event";
    /// Application-specific error conditions.
    pub const ERRORS: &str = "http://jabber.org/protocol/pubsub#errors";
    /// XEP-0059 result set management.
    pub const RSM: &str = "http://jabber.org/protocol/rsm";
    /// XEP-0131 headers (SubID on notifications).
    pub const SHIM: &str = "http://jabber.org/protocol/shim";
    /// XEP-0004 data forms.
    pub const DATA: &str = "jabber:x:data";
}
