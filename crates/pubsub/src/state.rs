//! The pubsub state under its one lock: the nodes, and per-JID counters (nodes owned,
//! subscriptions held) kept beside them so the caps of `[pubsub]` are checked in O(1) instead of
//! by walking every node.
//!
//! Every change that adds or removes an owner or a subscription goes through the methods here,
//! so the counters cannot drift from the nodes.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

use super::model::{Affiliation, Node, Subscription};

/// How many nodes each bare JID owns and how many subscriptions it holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    owned: HashMap<String, usize>,
    subscriptions: HashMap<String, usize>,
}

fn bump(map: &mut HashMap<String, usize>, key: &str, up: bool) {
    if up {
        *map.entry(key.to_owned()).or_default() += 1;
    } else if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl Counts {
    /// Counts what `nodes` hold (at start-up).
    pub(crate) fn of(nodes: &HashMap<String, Node>) -> Self {
        let mut counts = Self::default();
        for node in nodes.values() {
            counts.add_node(node, true);
        }
        counts
    }

    /// Adds (or, with `up` false, removes) everything `node` holds.
    fn add_node(&mut self, node: &Node, up: bool) {
        for (jid, _) in node.affiliations.iter().filter(|(_, a)| **a == Affiliation::Owner) {
            bump(&mut self.owned, jid, up);
        }
        for s in &node.subscriptions {
            bump(&mut self.subscriptions, &s.bare, up);
        }
    }

    /// Nodes `bare` owns.
    pub(crate) fn owned(&self, bare: &str) -> usize {
        self.owned.get(bare).copied().unwrap_or(0)
    }

    /// Subscriptions `bare` holds, over every node and resource.
    pub(crate) fn subscriptions(&self, bare: &str) -> usize {
        self.subscriptions.get(bare).copied().unwrap_or(0)
    }
}

/// The nodes by name, with their counters. Reading through `Deref` is free; changes to owners
/// and subscriptions must use the methods below.
pub(crate) struct State {
    nodes: HashMap<String, Node>,
    pub(crate) counts: Counts,
}

impl Deref for State {
    type Target = HashMap<String, Node>;
    fn deref(&self) -> &Self::Target {
        &self.nodes
    }
}

impl DerefMut for State {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.nodes
    }
}

impl State {
    /// The state holding `nodes`.
    pub(crate) fn new(nodes: HashMap<String, Node>) -> Self {
        let counts = Counts::of(&nodes);
        Self { nodes, counts }
    }

    /// Adds a new node, counting its owners and subscriptions.
    pub(crate) fn insert_node(&mut self, node: Node) {
        self.counts.add_node(&node, true);
        self.nodes.insert(node.name.clone(), node);
    }

    /// Removes a node, uncounting what it held.
    pub(crate) fn remove_node(&mut self, name: &str) -> Option<Node> {
        let node = self.nodes.remove(name)?;
        self.counts.add_node(&node, false);
        Some(node)
    }

    /// Sets (`Affiliation::None`: removes) an affiliation, keeping the owner count.
    pub(crate) fn set_affiliation(&mut self, node: &str, bare: &str, affiliation: Affiliation) {
        let Some(n) = self.nodes.get_mut(node) else { return };
        let was = if affiliation == Affiliation::None {
            n.affiliations.remove(bare)
        } else {
            n.affiliations.insert(bare.to_owned(), affiliation)
        };
        let (before, after) = (was == Some(Affiliation::Owner), affiliation == Affiliation::Owner);
        if before != after {
            bump(&mut self.counts.owned, bare, after);
        }
    }

    /// Adds a subscription.
    pub(crate) fn push_subscription(&mut self, node: &str, sub: Subscription) {
        if let Some(n) = self.nodes.get_mut(node) {
            bump(&mut self.counts.subscriptions, &sub.bare, true);
            n.subscriptions.push(sub);
        }
    }

    /// Replaces the subscription with `sub`'s id in place (keeping its position), or adds it.
    pub(crate) fn put_subscription(&mut self, node: &str, sub: Subscription) {
        let Some(n) = self.nodes.get_mut(node) else { return };
        match n.subscriptions.iter_mut().find(|s| s.subid == sub.subid) {
            Some(existing) => {
                if existing.bare != sub.bare {
                    bump(&mut self.counts.subscriptions, &existing.bare, false);
                    bump(&mut self.counts.subscriptions, &sub.bare, true);
                }
                *existing = sub;
            }
            None => self.push_subscription(node, sub),
        }
    }

    /// Removes the subscriptions of `node` that `drop` selects; returns them in order. `drop`
    /// sees the node's configuration and affiliations (its subscription list is being filtered
    /// in place, without reallocating).
    pub(crate) fn remove_subscriptions(&mut self, node: &str, mut drop: impl FnMut(&Node, &Subscription) -> bool) -> Vec<Subscription> {
        let Some(n) = self.nodes.get_mut(node) else { return Vec::new() };
        let mut subscriptions = std::mem::take(&mut n.subscriptions);
        let mut gone = Vec::new();
        subscriptions.retain(|s| {
            let keep = !drop(n, s);
            if !keep {
                gone.push(s.clone());
            }
            keep
        });
        n.subscriptions = subscriptions;
        for s in &gone {
            bump(&mut self.counts.subscriptions, &s.bare, false);
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NodeConfig, SubState};

    fn node(name: &str) -> Node {
        Node::empty(name, NodeConfig::with_max_items(10))
    }

    fn sub(bare: &str, id: &str) -> Subscription {
        Subscription { subid: id.into(), jid: bare.into(), bare: bare.into(), resource: None, state: SubState::Subscribed, deliver: true }
    }

    /// After any sequence of changes the counters equal a recount of the nodes.
    #[test]
    fn counters_follow_every_change() {
        let mut st = State::new(HashMap::new());
        st.insert_node(node("a"));
        st.insert_node(node("b"));
        st.set_affiliation("a", "o@x", Affiliation::Owner);
        st.set_affiliation("b", "o@x", Affiliation::Owner);
        st.set_affiliation("b", "o@x", Affiliation::Owner);
        assert_eq!(st.counts.owned("o@x"), 2);
        st.set_affiliation("b", "o@x", Affiliation::Member);
        assert_eq!(st.counts.owned("o@x"), 1);
        st.set_affiliation("b", "o@x", Affiliation::None);
        st.set_affiliation("b", "p@x", Affiliation::Owner);
        for (n, id) in [("a", "1"), ("a", "2"), ("b", "3")] {
            st.push_subscription(n, sub("s@x", id));
        }
        st.push_subscription("missing", sub("s@x", "4"));
        assert_eq!(st.counts.subscriptions("s@x"), 3);
        let gone = st.remove_subscriptions("a", |_, s| s.subid == "1");
        assert_eq!(gone.len(), 1);
        assert_eq!(st.counts.subscriptions("s@x"), 2);
        assert_eq!(st.counts, Counts::of(&st.nodes));
        st.remove_node("b");
        assert_eq!((st.counts.subscriptions("s@x"), st.counts.owned("p@x")), (1, 0));
        assert_eq!(st.counts, Counts::of(&st.nodes));
        st.remove_subscriptions("a", |_, _| true);
        assert_eq!(st.counts, Counts::default().with_owner("o@x"));
    }

    impl Counts {
        fn with_owner(mut self, bare: &str) -> Self {
            bump(&mut self.owned, bare, true);
            self
        }
    }
}
