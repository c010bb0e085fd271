//! The behaviour every backend must have, one async suite per domain trait. Each suite takes
//! a fresh, empty store and asks only for the traits it exercises (plus [`AccountStore`] where
//! the domain's rows belong to users); a backend's tests run every suite, each on its own
//! store (see `tests/conformance.rs`). Each suite panics with the failed expectation.

use crate::{
    AccountStore, OfflineMessage, OfflinePush, OfflineQuota, OfflineStore, PubSubOp, PubSubStore, RosterItem, RosterStore, Store,
    StoreError, StoredCredential, StoredItem, StoredSubscription, Subscription, SubscriptionOptions,
};

fn credential(hash: &str, byte: u8) -> StoredCredential {
    StoredCredential {
        hash: hash.into(),
        salt: vec![byte; 16],
        iterations: 4096,
        stored_key: vec![byte; 32],
        server_key: vec![byte + 1; 32],
    }
}

/// Creates the users a suite's rows belong to (backends with referential integrity refuse rows
/// of unknown users).
async fn create_users<S: AccountStore>(store: &S, names: &[&str]) {
    for name in names {
        store.create_user(name, &[]).await.unwrap();
    }
}

/// Pubsub nodes, affiliations, subscriptions and items: batches apply in order, item history is
/// trimmed, sequence numbers are never reused.
pub async fn pubsub<S: PubSubStore>(store: &S) {
    let node = "/finesse/api/User/1001";
    let item = |seq: u64, id: &str| StoredItem {
        seq,
        id: id.into(),
        publisher: "admin@x".into(),
        payload: format!("<p n='{seq}'/>"),
        published_at_ms: 1000 + seq as i64,
    };
    let sub = StoredSubscription {
        subid: "s1".into(),
        jid: "1001@x".into(),
        state: "subscribed".into(),
        options: SubscriptionOptions { deliver: false },
    };
    store
        .pubsub_apply(&[
            PubSubOp::PutNode { name: node.into(), config: "max_items=2".into() },
            PubSubOp::PutAffiliation { node: node.into(), jid: "admin@x".into(), affiliation: "owner".into() },
            PubSubOp::PutAffiliation { node: node.into(), jid: "1001@x".into(), affiliation: "member".into() },
            PubSubOp::PutSubscription { node: node.into(), subscription: sub.clone() },
            PubSubOp::PutItem { node: node.into(), item: item(0, "a"), keep: Some(2) },
            PubSubOp::PutItem { node: node.into(), item: item(1, "b"), keep: Some(2) },
            PubSubOp::PutItem { node: node.into(), item: item(2, "c"), keep: Some(2) },
            // Re-publishing an id moves it to the newest position.
            PubSubOp::PutItem { node: node.into(), item: item(3, "b"), keep: Some(2) },
        ])
        .await
        .unwrap();
    let loaded = store.pubsub_load().await.unwrap();
    assert_eq!(loaded.len(), 1);
    let n = &loaded[0];
    assert_eq!((n.name.as_str(), n.config.as_str(), n.next_seq), (node, "max_items=2", 4));
    assert_eq!(n.items, vec![item(2, "c"), item(3, "b")], "only the newest `keep`, in publish order");
    let mut affs = n.affiliations.clone();
    affs.sort();
    assert_eq!(affs, vec![("1001@x".to_owned(), "member".to_owned()), ("admin@x".to_owned(), "owner".to_owned())]);
    assert_eq!(n.subscriptions, vec![sub]);
    store
        .pubsub_apply(&[
            PubSubOp::DeleteSubscription { node: node.into(), subid: "s1".into() },
            PubSubOp::DeleteAffiliation { node: node.into(), jid: "1001@x".into() },
            PubSubOp::DeleteItem { node: node.into(), id: "c".into() },
            PubSubOp::PutNode { name: node.into(), config: "max_items=5".into() },
        ])
        .await
        .unwrap();
    let n = store.pubsub_load().await.unwrap().remove(0);
    assert!(n.subscriptions.is_empty() && n.affiliations.len() == 1 && n.items == vec![item(3, "b")] && n.config == "max_items=5");
    store.pubsub_apply(&[PubSubOp::Purge { node: node.into() }]).await.unwrap();
    let n = store.pubsub_load().await.unwrap().remove(0);
    assert!(n.items.is_empty());
    assert_eq!(n.next_seq, 4, "sequence numbers are never reused after a purge");
    // Nor after retracting the newest item.
    store.pubsub_apply(&[PubSubOp::PutItem { node: node.into(), item: item(7, "z"), keep: Some(5) }]).await.unwrap();
    store.pubsub_apply(&[PubSubOp::DeleteItem { node: node.into(), id: "z".into() }]).await.unwrap();
    assert_eq!(store.pubsub_load().await.unwrap().remove(0).next_seq, 8, "sequence numbers are never reused after a retraction");
    store.pubsub_apply(&[PubSubOp::DeleteNode { name: node.into() }]).await.unwrap();
    assert!(store.pubsub_load().await.unwrap().is_empty());
}

/// Users and credentials: creation, duplicates, listing, replacement.
pub async fn accounts<S: AccountStore>(store: &S) {
    assert!(store.list_users().await.unwrap().is_empty());
    let creds = vec![credential("SHA-1", 1), credential("SHA-256", 2)];
    store.create_user("alice", &creds).await.unwrap();
    store.create_user("bob", &creds[..1]).await.unwrap();
    assert!(matches!(store.create_user("alice", &creds).await, Err(StoreError::UserExists(_))));
    assert_eq!(store.list_users().await.unwrap(), vec!["alice", "bob"]);
    assert_eq!(store.credentials("alice").await.unwrap(), Some(creds.clone()));
    assert_eq!(store.credentials("nobody").await.unwrap(), None);
    let new = vec![credential("SHA-256", 9)];
    store.set_credentials("bob", &new).await.unwrap();
    assert_eq!(store.credentials("bob").await.unwrap(), Some(new));
    assert!(matches!(store.set_credentials("nobody", &creds).await, Err(StoreError::NoSuchUser(_))));
}

/// Roster items: insert, replace, list in contact order, delete, count.
pub async fn rosters<S: AccountStore + RosterStore>(store: &S) {
    create_users(store, &["alice", "bob"]).await;
    let item = RosterItem {
        contact: "bob@example.com".into(),
        name: Some("Bob, \"the\" builder".into()),
        subscription: Subscription::To,
        ask_out: false,
        pending_in: true,
        visible: true,
        groups: vec!["Team A".into(), "Supervisors".into()],
    };
    store.put_roster_item("alice", &item).await.unwrap();
    assert_eq!(store.roster_item("alice", "bob@example.com").await.unwrap(), Some(item.clone()));
    let updated = RosterItem { subscription: Subscription::Both, pending_in: false, groups: vec![], name: None, ..item.clone() };
    store.put_roster_item("alice", &updated).await.unwrap();
    let other = RosterItem { contact: "carol@example.com".into(), ..Default::default() };
    store.put_roster_item("alice", &other).await.unwrap();
    assert_eq!(store.roster("alice").await.unwrap(), vec![updated, other]);
    assert!(store.roster("bob").await.unwrap().is_empty());
    assert!(store.delete_roster_item("alice", "carol@example.com").await.unwrap());
    assert!(!store.delete_roster_item("alice", "carol@example.com").await.unwrap());
    assert_eq!(store.roster("alice").await.unwrap().len(), 1);
    assert_eq!(store.roster_len("alice").await.unwrap(), 1);
    assert_eq!(store.roster_len("bob").await.unwrap(), 0);
}

fn offline_message(sender: &str, stanza: String, stored_at_ms: i64) -> OfflineMessage {
    OfflineMessage { sender: sender.into(), stanza, stored_at_ms }
}

/// Every stored message of `username`, oldest first, removed.
async fn take_all<S: OfflineStore>(store: &S, username: &str) -> Vec<OfflineMessage> {
    let all = store.offline_batch(username, usize::MAX, u64::MAX).await.unwrap();
    if let Some(last) = all.last() {
        assert_eq!(store.delete_offline(username, last.id).await.unwrap(), all.len() as u64);
    }
    all.into_iter().map(|m| m.message).collect()
}

const ROOMY: OfflineQuota = OfflineQuota { max_messages: 3, max_bytes: u64::MAX, max_sender_bytes: u64::MAX };

/// Offline queues: the count quota, bounded batches, nothing removed until deleted.
pub async fn offline<S: AccountStore + OfflineStore>(store: &S) {
    create_users(store, &["bob"]).await;
    for i in 0..3 {
        let m = offline_message("alice@x", format!("<message id='{i}'/>"), 1_700_000_000_000 + i);
        assert_eq!(store.push_offline("bob", &m, &ROOMY).await.unwrap(), OfflinePush::Stored);
    }
    let over = offline_message("alice@x", "<message id='x'/>".into(), 0);
    assert_eq!(store.push_offline("bob", &over, &ROOMY).await.unwrap(), OfflinePush::RecipientFull, "the count limit must hold");
    // Batches are the oldest messages, bounded in number, and nothing is removed until asked.
    let first = store.offline_batch("bob", 2, u64::MAX).await.unwrap();
    assert_eq!(first.iter().map(|m| m.message.stanza.as_str()).collect::<Vec<_>>(), ["<message id='0'/>", "<message id='1'/>"]);
    assert_eq!(store.offline_batch("bob", 2, u64::MAX).await.unwrap(), first, "reading a batch removes nothing");
    assert_eq!(store.delete_offline("bob", first[0].id).await.unwrap(), 1);
    let taken = take_all(store, "bob").await;
    assert_eq!(taken.iter().map(|m| m.stanza.as_str()).collect::<Vec<_>>(), ["<message id='1'/>", "<message id='2'/>"]);
    assert_eq!(taken[1].stored_at_ms, 1_700_000_000_002);
    assert_eq!(taken[1].sender, "alice@x");
    assert!(take_all(store, "bob").await.is_empty());
}

/// Offline byte quotas per recipient and per sender, and byte-bounded batches.
pub async fn offline_byte_quotas<S: AccountStore + OfflineStore>(store: &S) {
    let quota = OfflineQuota { max_messages: 100, max_bytes: 250, max_sender_bytes: 300 };
    let m = |sender: &str, n: usize| offline_message(sender, "x".repeat(n), 1);
    create_users(store, &["bob", "dave"]).await;
    // Per recipient: 100 + 100 fit in 250, a third 100 does not; a smaller one still does.
    assert_eq!(store.push_offline("bob", &m("alice@x", 100), &quota).await.unwrap(), OfflinePush::Stored);
    assert_eq!(store.push_offline("bob", &m("alice@x", 100), &quota).await.unwrap(), OfflinePush::Stored);
    assert_eq!(store.push_offline("bob", &m("carol@x", 100), &quota).await.unwrap(), OfflinePush::RecipientFull);
    assert_eq!(store.push_offline("bob", &m("carol@x", 50), &quota).await.unwrap(), OfflinePush::Stored);
    // Per sender, across recipients: alice has 200 stored, so 150 more to dave is too much.
    assert_eq!(store.push_offline("dave", &m("alice@x", 150), &quota).await.unwrap(), OfflinePush::SenderFull);
    assert_eq!(store.push_offline("dave", &m("alice@x", 100), &quota).await.unwrap(), OfflinePush::Stored);
    // Byte-bounded batches: 100 + 100 > 150, so one message; a first message larger than the
    // bound still comes alone.
    assert_eq!(store.offline_batch("bob", 10, 150).await.unwrap().len(), 1);
    assert_eq!(store.offline_batch("bob", 10, 10).await.unwrap().len(), 1);
    assert_eq!(store.offline_batch("bob", 10, 200).await.unwrap().len(), 2);
    // Delivered bytes no longer count against the sender.
    assert_eq!(take_all(store, "bob").await.len(), 3);
    assert_eq!(store.push_offline("dave", &m("alice@x", 150), &quota).await.unwrap(), OfflinePush::Stored);
    assert_eq!(take_all(store, "dave").await.len(), 2);
}

/// Across domains: deleting a user removes its roster and offline messages, so that a
/// re-created account starts empty.
pub async fn deleting_a_user_removes_everything<S: Store>(store: &S) {
    create_users(store, &["alice"]).await;
    let item = RosterItem { contact: "bob@x".into(), ..Default::default() };
    store.put_roster_item("alice", &item).await.unwrap();
    let m = offline_message("bob@x", "<message/>".into(), 1);
    store.push_offline("alice", &m, &ROOMY).await.unwrap();
    assert!(store.delete_user("alice").await.unwrap());
    assert!(!store.delete_user("alice").await.unwrap());
    assert_eq!(store.credentials("alice").await.unwrap(), None);
    assert!(store.roster("alice").await.unwrap().is_empty());
    store.create_user("alice", &[]).await.unwrap();
    assert!(take_all(store, "alice").await.is_empty());
    assert!(store.roster("alice").await.unwrap().is_empty());
}
