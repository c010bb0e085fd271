//! The typed errors of the pubsub service. They say what went wrong in the service's terms; each
//! protocol adapter maps them to its own errors (the XMPP one in `xmpp.rs`, to XEP-0060 stanza
//! errors), so that the coming REST layer can map the same values to HTTP statuses.

use std::sync::Arc;

use herald_store::StoreError;

/// Why a pubsub operation was refused or failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PubSubError {
    /// The node does not exist, or is hidden from the requester (both answer alike).
    #[error("no such node")]
    NodeNotFound,
    /// The item does not exist.
    #[error("no such item")]
    ItemNotFound,
    /// A catch-up asked for the items after one that is no longer in the history.
    #[error("that item is no longer in the history; fetch the latest items")]
    NotInHistory,
    /// A node of that name exists.
    #[error("the node exists")]
    NodeExists,
    /// A node name must not be empty.
    #[error("empty node name")]
    EmptyNodeName,
    /// Only the server itself creates nodes (`[pubsub] users_create_nodes = false`).
    #[error("only the server creates nodes here")]
    UsersCannotCreate,
    /// The requester lacks the affiliation the operation needs.
    #[error("forbidden")]
    Forbidden,
    /// A node name longer than the cap.
    #[error("node names are limited to {0} bytes")]
    NodeNameTooLong(usize),
    /// A user tried to create a node under the server's reserved prefix.
    #[error("nodes under {0} are the server's own")]
    ReservedName(&'static str),
    /// An item id longer than the cap.
    #[error("item ids are limited to {0} bytes")]
    ItemIdTooLong(usize),
    /// The JID owns as many nodes as one may.
    #[error("{jid} already owns {owned} nodes, the most one JID may own")]
    TooManyNodes {
        /// The bare JID.
        jid: String,
        /// Nodes it owns.
        owned: usize,
    },
    /// The JID holds as many subscriptions as one may.
    #[error("{jid} already holds {held} subscriptions, the most one JID may hold")]
    TooManySubscriptions {
        /// The bare JID.
        jid: String,
        /// Subscriptions it holds.
        held: usize,
    },
    /// A user may subscribe or unsubscribe only its own JIDs.
    #[error("the JID is not the requester's")]
    InvalidJid,
    /// An unsubscribe from a node the JID has no subscription to.
    #[error("not subscribed")]
    NotSubscribed,
    /// No subscription matches the JID (and subid) given.
    #[error("no such subscription")]
    NoSuchSubscription,
    /// The JID has several subscriptions; the request must name one.
    #[error("several subscriptions: a subid is required")]
    SubidRequired,
    /// The subid names none of the JID's subscriptions.
    #[error("no subscription with that subid")]
    InvalidSubid,
    /// Items of an `authorize` node are for its approved subscribers.
    #[error("only approved subscribers may read this node")]
    NotApprovedSubscriber,
    /// A configuration field or value the service does not accept.
    #[error("unsupported {0}")]
    Config(#[from] ConfigError),
    /// The change could not be stored; nothing of it was kept.
    #[error("the change could not be stored: {0}")]
    Storage(#[source] Arc<StoreError>),
    /// The writer task is gone (the server is stopping).
    #[error("the pubsub writer stopped")]
    WriterStopped,
}

/// A node configuration field or value that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not an access model.
    #[error("access model {0}")]
    AccessModel(String),
    /// Not a publish model.
    #[error("publish model {0}")]
    PublishModel(String),
    /// `max_items` neither a number nor `max`.
    #[error("max_items {0}")]
    MaxItems(String),
    /// A `send_last_published_item` value other than `never`, `on_sub`, `on_sub_and_presence`.
    #[error("send_last_published_item {0}")]
    SendLast(String),
    /// A field not implemented, or not at its fixed value.
    #[error("field {0}")]
    Field(String),
}
