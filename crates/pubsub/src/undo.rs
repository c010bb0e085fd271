//! Rollback of memory changes whose commit failed. Every operation changes the in-memory state
//! under the lock when it queues its store changes (so that later requests see it, in order) and
//! records here how to take the change back; the writer applies these records, newest first,
//! to every job of a batch the store refused. Nothing that was never stored stays served.

use crate::model::{Affiliation, Item, Node, NodeConfig, Subscription};
use crate::state::State;

/// How to take back one operation's memory changes.
pub(crate) enum Undo {
    /// A created node goes again.
    Created(String),
    /// A deleted node comes back.
    Deleted(Box<Node>),
    /// Changes inside one node are reverted.
    Changed(NodeUndo),
}

/// The reverse of changes inside one node. Every field left at its default means "unchanged".
#[derive(Default)]
pub(crate) struct NodeUndo {
    /// The node.
    pub(crate) node: String,
    /// Its configuration before.
    pub(crate) config: Option<NodeConfig>,
    /// Sequence number of an item added (removed again).
    pub(crate) added_item: Option<u64>,
    /// Items removed (replaced, trimmed, retracted, purged): put back in sequence order.
    pub(crate) removed_items: Vec<Item>,
    /// Subscription id of a subscription added (removed again).
    pub(crate) added_subscription: Option<String>,
    /// Subscriptions removed (put back).
    pub(crate) removed_subscriptions: Vec<Subscription>,
    /// Subscriptions as they were before being changed in place.
    pub(crate) changed_subscriptions: Vec<Subscription>,
    /// A bare JID's affiliation before it was set.
    pub(crate) affiliation: Option<(String, Affiliation)>,
}

impl NodeUndo {
    /// Nothing to undo yet for `node`.
    pub(crate) fn of(node: &str) -> Self {
        Self { node: node.to_owned(), ..Self::default() }
    }
}

impl Undo {
    /// Reverts the change on `state`.
    pub(crate) fn apply(self, state: &mut State) {
        match self {
            Self::Created(name) => {
                state.remove_node(&name);
            }
            Self::Deleted(node) => {
                if !state.contains_key(&node.name) {
                    state.insert_node(*node);
                }
            }
            Self::Changed(undo) => undo.apply(state),
        }
    }
}

impl NodeUndo {
    fn apply(self, state: &mut State) {
        let name = self.node;
        if let Some((jid, affiliation)) = self.affiliation {
            state.set_affiliation(&name, &jid, affiliation);
        }
        if let Some(subid) = self.added_subscription {
            state.remove_subscriptions(&name, |_, s| s.subid == subid);
        }
        for sub in self.removed_subscriptions {
            state.push_subscription(&name, sub);
        }
        let Some(node) = state.get_mut(&name) else { return };
        if let Some(config) = self.config {
            node.config = config;
        }
        for old in self.changed_subscriptions {
            if let Some(s) = node.subscriptions.iter_mut().find(|s| s.subid == old.subid) {
                *s = old;
            }
        }
        if let Some(seq) = self.added_item {
            node.items.retain(|i| i.seq != seq);
        }
        for item in self.removed_items {
            if node.items.iter().any(|i| i.id == item.id) {
                continue;
            }
            let at = node.items.iter().position(|i| i.seq > item.seq).unwrap_or(node.items.len());
            node.items.insert(at, item);
        }
    }
}
