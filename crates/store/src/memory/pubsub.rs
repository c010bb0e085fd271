//! Pubsub nodes in memory.

use std::collections::BTreeMap;

use super::MemoryStore;
use crate::{PubSubOp, PubSubStore, StoreError, StoredNode};

fn apply(nodes: &mut BTreeMap<String, StoredNode>, op: &PubSubOp) {
    match op {
        PubSubOp::PutNode { name, config } => {
            let node = nodes.entry(name.clone()).or_insert_with(|| StoredNode { name: name.clone(), ..Default::default() });
            node.config = config.clone();
        }
        PubSubOp::DeleteNode { name } => {
            nodes.remove(name);
        }
        PubSubOp::PutAffiliation { node, jid, affiliation } => {
            if let Some(n) = nodes.get_mut(node) {
                n.affiliations.retain(|(j, _)| j != jid);
                n.affiliations.push((jid.clone(), affiliation.clone()));
            }
        }
        PubSubOp::DeleteAffiliation { node, jid } => {
            if let Some(n) = nodes.get_mut(node) {
                n.affiliations.retain(|(j, _)| j != jid);
            }
        }
        PubSubOp::PutSubscription { node, subscription } => {
            if let Some(n) = nodes.get_mut(node) {
                n.subscriptions.retain(|s| s.subid != subscription.subid);
                n.subscriptions.push(subscription.clone());
            }
        }
        PubSubOp::DeleteSubscription { node, subid } => {
            if let Some(n) = nodes.get_mut(node) {
                n.subscriptions.retain(|s| &s.subid != subid);
            }
        }
        PubSubOp::PutItem { node, item, keep } => {
            if let Some(n) = nodes.get_mut(node) {
                n.items.retain(|i| i.id != item.id);
                n.items.push(item.clone());
                n.items.sort_by_key(|i| i.seq);
                let keep = keep.map_or(usize::MAX, |k| usize::try_from(k).unwrap_or(usize::MAX));
                let excess = n.items.len().saturating_sub(keep);
                n.items.drain(..excess);
                n.next_seq = n.next_seq.max(item.seq + 1);
            }
        }
        PubSubOp::DeleteItem { node, id } => {
            if let Some(n) = nodes.get_mut(node) {
                n.items.retain(|i| &i.id != id);
            }
        }
        PubSubOp::Purge { node } => {
            if let Some(n) = nodes.get_mut(node) {
                n.items.clear();
            }
        }
    }
}

impl PubSubStore for MemoryStore {
    async fn pubsub_load(&self) -> Result<Vec<StoredNode>, StoreError> {
        Ok(self.with(|d| d.nodes.values().cloned().collect()))
    }

    async fn pubsub_apply(&self, ops: &[PubSubOp]) -> Result<(), StoreError> {
        self.with(|d| {
            for op in ops {
                apply(&mut d.nodes, op);
            }
        });
        Ok(())
    }
}
