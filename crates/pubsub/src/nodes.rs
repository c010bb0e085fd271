//! Node operations: create, configure, delete, purge, and affiliations, with what a requester
//! may list. Each change is made in memory, queued to the writer with how to undo it, and
//! acknowledged once committed.

use std::sync::Arc;

use herald_proto::BareJid;
use herald_store::PubSubOp;
use herald_xml::Element;

use crate::access::{self, not_found};
use crate::error::PubSubError;
use crate::model::{AccessModel, Affiliation, Node, NodeConfig};
use crate::state::State;
use crate::undo::{NodeUndo, Undo};
use crate::{PubSub, ns};

impl PubSub {
    /// Creates a node. `owner` is the requesting user (`None`: the server itself, with no
    /// owner entry). Returns the node's name (generated when `name` is `None`).
    pub async fn create_node(
        &self,
        owner: Option<&BareJid>,
        name: Option<&str>,
        config: Option<NodeConfig>,
    ) -> Result<String, PubSubError> {
        if owner.is_some() && !self.config().users_create_nodes {
            return Err(PubSubError::UsersCannotCreate);
        }
        if let Some(o) = owner
            && o.domain().as_str() != self.shared.domain
        {
            return Err(PubSubError::Forbidden);
        }
        let name = match name {
            Some("") => return Err(PubSubError::EmptyNodeName),
            Some(n) => n.to_owned(),
            None => format!("{:016x}", rand::random::<u64>()),
        };
        self.config().check_node_name(&name, owner.is_some())?;
        let config = config.unwrap_or_else(|| NodeConfig::with_max_items(self.config().default_max_items));
        let mut ops = vec![PubSubOp::PutNode { name: name.clone(), config: config.serialise() }];
        {
            let mut nodes = self.nodes();
            if let Some(o) = owner {
                self.config().check_owned(o.as_str(), nodes.counts.owned(o.as_str()))?;
            }
            if nodes.contains_key(&name) {
                return Err(PubSubError::NodeExists);
            }
            let mut node = Node::empty(&name, config);
            if let Some(o) = owner {
                node.affiliations.insert(o.to_string(), Affiliation::Owner);
                ops.push(PubSubOp::PutAffiliation { node: name.clone(), jid: o.to_string(), affiliation: "owner".into() });
            }
            nodes.insert_node(node);
        }
        self.commit(ops, None, Some(Undo::Created(name.clone()))).await?;
        Ok(name)
    }

    /// Runs `f` on the state once the requester is known to own `node` (`None`: the server
    /// itself). Outsiders of a hidden node are told it does not exist.
    pub(crate) fn with_owned_state<T>(
        &self,
        who: Option<&BareJid>,
        node: &str,
        f: impl FnOnce(&mut State) -> Result<T, PubSubError>,
    ) -> Result<T, PubSubError> {
        let mut nodes = self.nodes();
        let n = access::visible(nodes.get_mut(node), who)?;
        if let Some(w) = who
            && n.affiliation(w.as_str()) != Affiliation::Owner
        {
            return Err(PubSubError::Forbidden);
        }
        f(&mut nodes)
    }

    /// Runs `f` on a node the requester owns (`None`: the server itself).
    pub(crate) fn with_owned_node<T>(
        &self,
        who: Option<&BareJid>,
        node: &str,
        f: impl FnOnce(&mut Node) -> Result<T, PubSubError>,
    ) -> Result<T, PubSubError> {
        self.with_owned_state(who, node, |st| f(st.get_mut(node).ok_or_else(not_found)?))
    }

    /// A node's configuration (owners only).
    pub fn node_config(&self, who: Option<&BareJid>, node: &str) -> Result<NodeConfig, PubSubError> {
        self.with_owned_node(who, node, |n| Ok(n.config.clone()))
    }

    /// Replaces a node's configuration (owners only); history is trimmed to the new `max_items`.
    /// Subscriptions the new access model no longer admits are dropped and their holders told.
    pub async fn configure_node(&self, who: Option<&BareJid>, node: &str, config: NodeConfig) -> Result<(), PubSubError> {
        let roster_ok = match config.access_model {
            AccessModel::Presence => Some(self.roster_readers(node).await),
            _ => None,
        };
        let (ops, gone, undo) = self.with_owned_state(who, node, |st| {
            let n = st.get_mut(node).ok_or_else(not_found)?;
            let mut ops = vec![PubSubOp::PutNode { name: node.to_owned(), config: config.serialise() }];
            let mut undo = NodeUndo::of(node);
            while n.items.len() > config.max_items {
                if let Some(old) = n.items.pop_front() {
                    ops.push(PubSubOp::DeleteItem { node: node.to_owned(), id: old.id.clone() });
                    undo.removed_items.push(old);
                }
            }
            undo.config = Some(std::mem::replace(&mut n.config, config));
            let gone = st.remove_subscriptions(node, |n, s| access::lost(n, s, roster_ok.as_ref()));
            ops.extend(Self::drop_ops(node, &gone));
            undo.removed_subscriptions = gone.clone();
            Ok((ops, gone, undo))
        })?;
        self.commit(ops, None, Some(Undo::Changed(undo))).await?;
        self.tell_dropped(node, &gone);
        Ok(())
    }

    /// Deletes a node (owners only); subscribers are told.
    pub async fn delete_node(&self, who: Option<&BareJid>, node: &str) -> Result<(), PubSubError> {
        let removed = self.with_owned_state(who, node, |st| st.remove_node(node).ok_or_else(not_found))?;
        let event: Arc<str> =
            Element::new("event", ns::EVENT).with_child(Element::new("delete", ns::EVENT).with_attr("node", node)).to_xml().into();
        let notification = self.notification(Self::targets(&removed), event, format!("delete-{:x}", rand::random::<u32>()));
        let undo = Undo::Deleted(Box::new(removed));
        self.commit(vec![PubSubOp::DeleteNode { name: node.to_owned() }], Some(notification), Some(undo)).await
    }

    /// Removes every item (owners only); subscribers are told.
    pub async fn purge_node(&self, who: Option<&BareJid>, node: &str) -> Result<(), PubSubError> {
        let (targets, removed) = self.with_owned_node(who, node, |n| Ok((Self::targets(n), n.items.drain(..).collect())))?;
        let event: Arc<str> =
            Element::new("event", ns::EVENT).with_child(Element::new("purge", ns::EVENT).with_attr("node", node)).to_xml().into();
        let notification = self.notification(targets, event, format!("purge-{:x}", rand::random::<u32>()));
        let undo = Undo::Changed(NodeUndo { removed_items: removed, ..NodeUndo::of(node) });
        self.commit(vec![PubSubOp::Purge { node: node.to_owned() }], Some(notification), Some(undo)).await
    }

    /// Sets an affiliation (owners only). `None` affiliation removes it. This is how a
    /// whitelist is kept: the JID's subscriptions that no longer pass the access check (an
    /// outcast's, or a former member's of a whitelist node) are dropped and their holders told.
    pub async fn set_affiliation(
        &self,
        who: Option<&BareJid>,
        node: &str,
        jid: &BareJid,
        affiliation: Affiliation,
    ) -> Result<(), PubSubError> {
        let (ops, gone, undo) = self.with_owned_state(who, node, |st| {
            let was = st.get(node).map_or(Affiliation::None, |n| n.affiliation(jid.as_str()));
            if who.is_some() && affiliation == Affiliation::Owner && was != Affiliation::Owner {
                self.config().check_owned(jid.as_str(), st.counts.owned(jid.as_str()))?;
            }
            st.set_affiliation(node, jid.as_str(), affiliation);
            let mut ops = vec![match affiliation {
                Affiliation::None => PubSubOp::DeleteAffiliation { node: node.to_owned(), jid: jid.to_string() },
                a => PubSubOp::PutAffiliation { node: node.to_owned(), jid: jid.to_string(), affiliation: a.name().into() },
            }];
            let gone = st.remove_subscriptions(node, |n, s| s.bare == jid.as_str() && access::lost(n, s, None));
            ops.extend(Self::drop_ops(node, &gone));
            let undo = NodeUndo { affiliation: Some((jid.to_string(), was)), removed_subscriptions: gone.clone(), ..NodeUndo::of(node) };
            Ok((ops, gone, undo))
        })?;
        self.commit(ops, None, Some(Undo::Changed(undo))).await?;
        self.tell_dropped(node, &gone);
        Ok(())
    }

    /// A node's affiliations (owners only).
    pub fn affiliations(&self, who: Option<&BareJid>, node: &str) -> Result<Vec<(String, Affiliation)>, PubSubError> {
        self.with_owned_node(who, node, |n| {
            let mut list: Vec<(String, Affiliation)> = n.affiliations.iter().map(|(j, a)| (j.clone(), *a)).collect();
            list.sort();
            Ok(list)
        })
    }

    /// The requester's affiliations (all nodes, or one).
    pub fn affiliations_of(&self, who: &BareJid, node: Option<&str>) -> Vec<(String, Affiliation)> {
        let nodes = self.nodes();
        let mut out: Vec<(String, Affiliation)> = nodes
            .values()
            .filter(|n| node.is_none_or(|name| name == n.name))
            .filter_map(|n| n.affiliations.get(who.as_str()).map(|a| (n.name.clone(), *a)))
            .collect();
        out.sort();
        out
    }

    /// Nodes the requester may discover: hidden nodes (whitelist, presence) only when
    /// affiliated, and never a node it is an outcast of. `None` lists all.
    pub fn visible_nodes(&self, who: Option<&BareJid>) -> Vec<(String, String)> {
        let nodes = self.nodes();
        let mut out: Vec<(String, String)> = nodes
            .values()
            .filter(|n| who.is_none_or(|w| n.affiliation(w.as_str()) != Affiliation::Outcast && !access::hidden_from(n, w.as_str())))
            .map(|n| (n.name.clone(), n.config.title.clone()))
            .collect();
        out.sort();
        out
    }
}
