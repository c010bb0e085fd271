//! The domain structs built from rows, one function per struct, used by both SQL backends: a
//! row read by SQLite and the same row read by PostgreSQL make the same struct, and a value
//! Herald does not write is [`StoreError::Corrupt`] naming its table and column on both.

use std::collections::{BTreeMap, HashMap};

use super::Columns;
use crate::{
    CloseRecord, OfflineMessage, RosterItem, StoreError, StoredCcUser, StoredCredential, StoredItem, StoredNode, StoredOffline,
    StoredQueue, StoredReasonCode, StoredSubscription, StoredTeam, Subscription, SubscriptionOptions,
};

/// A `cc_users` row, with the teams it supervises taken from `supervised` (see
/// [`super::grouped`]).
pub(crate) fn cc_user(r: &impl Columns, supervised: &mut HashMap<String, Vec<String>>) -> Result<StoredCcUser, StoreError> {
    const T: &str = "cc_users";
    let login_id = r.text(T, "login_id")?;
    Ok(StoredCcUser {
        supervised_teams: supervised.remove(&login_id).unwrap_or_default(),
        login_name: r.text(T, "login_name")?,
        first_name: r.text(T, "first_name")?,
        last_name: r.text(T, "last_name")?,
        extension: r.opt_text(T, "extension")?,
        role: r.text(T, "role")?,
        team_id: r.opt_text(T, "team_id")?,
        wrap_up_incoming: r.text(T, "wrap_up_incoming")?,
        wrap_up_outgoing: r.text(T, "wrap_up_outgoing")?,
        login_id,
    })
}

/// A `cc_teams` row.
pub(crate) fn team(r: &impl Columns) -> Result<StoredTeam, StoreError> {
    Ok(StoredTeam { id: r.text("cc_teams", "id")?, name: r.text("cc_teams", "name")? })
}

/// A `cc_queues` row, with its teams taken from `teams` (see [`super::grouped`]).
pub(crate) fn queue(r: &impl Columns, teams: &mut HashMap<String, Vec<String>>) -> Result<StoredQueue, StoreError> {
    let id = r.text("cc_queues", "id")?;
    Ok(StoredQueue { teams: teams.remove(&id).unwrap_or_default(), name: r.text("cc_queues", "name")?, id })
}

/// A `cc_reason_codes` row; an id or code out of range is corrupt.
pub(crate) fn reason_code(r: &impl Columns) -> Result<StoredReasonCode, StoreError> {
    const T: &str = "cc_reason_codes";
    Ok(StoredReasonCode {
        id: r.count(T, "id")?,
        category: r.text(T, "category")?,
        code: r.count(T, "code")?,
        label: r.text(T, "label")?,
        for_all: r.flag(T, "for_all")?,
        system: r.flag(T, "system")?,
    })
}

/// A `roster` row; an unknown subscription state is corrupt.
pub(crate) fn roster_item(r: &impl Columns) -> Result<RosterItem, StoreError> {
    const T: &str = "roster";
    let groups = r.text(T, "groups")?;
    let subscription = r.text(T, "subscription")?;
    Ok(RosterItem {
        contact: r.text(T, "contact")?,
        name: r.opt_text(T, "name")?,
        subscription: Subscription::from_name(&subscription)
            .ok_or_else(|| StoreError::corrupt(T, "subscription", format!("unknown state {subscription:?}")))?,
        ask_out: r.flag(T, "ask_out")?,
        pending_in: r.flag(T, "pending_in")?,
        visible: r.flag(T, "visible")?,
        groups: groups.split('\n').filter(|g| !g.is_empty()).map(str::to_owned).collect(),
    })
}

/// A `roster` row with its owner, for the lists of items naming a contact.
pub(crate) fn owned_roster_item(r: &impl Columns) -> Result<(String, RosterItem), StoreError> {
    Ok((r.text("roster", "owner")?, roster_item(r)?))
}

/// A `credentials` row (its `hash` read apart, as it may come from an outer join).
pub(crate) fn credential(r: &impl Columns, hash: String) -> Result<StoredCredential, StoreError> {
    const T: &str = "credentials";
    Ok(StoredCredential {
        hash,
        salt: r.bytes(T, "salt")?,
        iterations: r.count(T, "iterations")?,
        stored_key: r.bytes(T, "stored_key")?,
        server_key: r.bytes(T, "server_key")?,
    })
}

/// A `close_records` row; a negative count or time is corrupt.
pub(crate) fn close_record(r: &impl Columns) -> Result<CloseRecord, StoreError> {
    const T: &str = "close_records";
    Ok(CloseRecord {
        user: r.text(T, "username")?,
        jid: r.text(T, "jid")?,
        transport: r.text(T, "transport")?,
        remote: r.text(T, "remote")?,
        opened_ms: r.count(T, "opened_at")?,
        closed_ms: r.count(T, "closed_at")?,
        cause: r.text(T, "cause")?,
        last_request_ms: r.count(T, "last_request_at")?,
        stanzas_sent: r.count(T, "stanzas_sent")?,
        queued: r.count(T, "queued")?,
        dropped: r.count(T, "dropped")?,
        bytes_sent: r.count(T, "bytes_sent")?,
    })
}

/// An `offline` row's id and size, for choosing a batch before reading stanzas.
pub(crate) fn offline_size(r: &impl Columns) -> Result<(i64, u64), StoreError> {
    Ok((r.int("offline", "id")?, r.count("offline", "bytes")?))
}

/// An `offline` row.
pub(crate) fn offline(r: &impl Columns) -> Result<StoredOffline, StoreError> {
    const T: &str = "offline";
    Ok(StoredOffline {
        id: r.int(T, "id")?,
        message: OfflineMessage { sender: r.text(T, "sender")?, stanza: r.text(T, "stanza")?, stored_at_ms: r.int(T, "stored_at")? },
    })
}

/// The pubsub nodes from the rows of their four tables (as selected by
/// the pubsub node, affiliation, subscription and item queries; subscriptions in creation order),
/// in name order. Rows of a node that does not exist are passed over; a node's `next_seq` is
/// raised past its items'.
pub(crate) fn pubsub_nodes<R: Columns>(
    nodes: &[R],
    affiliations: &[R],
    subscriptions: &[R],
    items: &[R],
) -> Result<Vec<StoredNode>, StoreError> {
    const NODES: &str = "pubsub_nodes";
    const AFFILIATIONS: &str = "pubsub_affiliations";
    const SUBSCRIPTIONS: &str = "pubsub_subscriptions";
    const ITEMS: &str = "pubsub_items";
    let mut by_name: BTreeMap<String, StoredNode> = BTreeMap::new();
    for row in nodes {
        let name = row.text(NODES, "name")?;
        let node = StoredNode {
            name: name.clone(),
            config: row.text(NODES, "config")?,
            next_seq: row.count(NODES, "next_seq")?,
            ..Default::default()
        };
        by_name.insert(name, node);
    }
    for row in affiliations {
        if let Some(n) = by_name.get_mut(&row.text(AFFILIATIONS, "node")?) {
            n.affiliations.push((row.text(AFFILIATIONS, "jid")?, row.text(AFFILIATIONS, "affiliation")?));
        }
    }
    for row in subscriptions {
        if let Some(n) = by_name.get_mut(&row.text(SUBSCRIPTIONS, "node")?) {
            n.subscriptions.push(StoredSubscription {
                subid: row.text(SUBSCRIPTIONS, "subid")?,
                jid: row.text(SUBSCRIPTIONS, "jid")?,
                state: row.text(SUBSCRIPTIONS, "state")?,
                options: SubscriptionOptions { deliver: row.flag(SUBSCRIPTIONS, "deliver")? },
            });
        }
    }
    for row in items {
        if let Some(n) = by_name.get_mut(&row.text(ITEMS, "node")?) {
            let seq: u64 = row.count(ITEMS, "seq")?;
            n.next_seq = n.next_seq.max(seq.saturating_add(1));
            n.items.push(StoredItem {
                seq,
                id: row.text(ITEMS, "id")?,
                publisher: row.text(ITEMS, "publisher")?,
                payload: row.text(ITEMS, "payload")?,
                published_at_ms: row.int(ITEMS, "published_at")?,
            });
        }
    }
    Ok(by_name.into_values().collect())
}
