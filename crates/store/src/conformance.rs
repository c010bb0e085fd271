//! The behaviour every [`Store`] must have, as one async suite. Each backend's tests call
//! [`run`] on a fresh, empty store.

use crate::{OfflineMessage, PubSubOp, RosterItem, Store, StoreError, StoredCredential, StoredItem, StoredSubscription, Subscription};

fn credential(hash: &str, byte: u8) -> StoredCredential {
    StoredCredential {
        hash: hash.into(),
        salt: vec![byte; 16],
        iterations: 4096,
        stored_key: vec![byte; 32],
        server_key: vec![byte + 1; 32],
    }
}

/// Runs every check against `store`, which must start empty. Panics with the failed expectation.
pub async fn run<S: Store>(store: S) {
    users(&store).await;
    rosters(&store).await;
    offline(&store).await;
    deleting_a_user_removes_everything(&store).await;
    pubsub(&store).await;
}

async fn pubsub<S: Store>(store: &S) {
    let node = "/finesse/api/User/1001";
    let item = |seq: u64, id: &str| StoredItem {
        seq,
        id: id.into(),
        publisher: "admin@x".into(),
        payload: format!("<p n='{seq}'/>"),
        published_at_ms: 1000 + seq as i64,
    };
    let sub = StoredSubscription { subid: "s1".into(), jid: "1001@x".into(), state: "subscribed".into(), options: "deliver=1".into() };
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

async fn users<S: Store>(store: &S) {
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

async fn rosters<S: Store>(store: &S) {
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
}

async fn offline<S: Store>(store: &S) {
    for i in 0..3 {
        let m = OfflineMessage { stanza: format!("<message id='{i}'/>"), stored_at_ms: 1_700_000_000_000 + i };
        assert!(store.push_offline("bob", &m, 3).await.unwrap());
    }
    let over = OfflineMessage { stanza: "<message id='x'/>".into(), stored_at_ms: 0 };
    assert!(!store.push_offline("bob", &over, 3).await.unwrap(), "the limit must hold");
    let taken = store.take_offline("bob").await.unwrap();
    assert_eq!(
        taken.iter().map(|m| m.stanza.as_str()).collect::<Vec<_>>(),
        ["<message id='0'/>", "<message id='1'/>", "<message id='2'/>"]
    );
    assert_eq!(taken[2].stored_at_ms, 1_700_000_000_002);
    assert!(store.take_offline("bob").await.unwrap().is_empty());
}

async fn deleting_a_user_removes_everything<S: Store>(store: &S) {
    let m = OfflineMessage { stanza: "<message/>".into(), stored_at_ms: 1 };
    store.push_offline("alice", &m, 10).await.unwrap();
    assert!(store.delete_user("alice").await.unwrap());
    assert!(!store.delete_user("alice").await.unwrap());
    assert_eq!(store.credentials("alice").await.unwrap(), None);
    assert!(store.roster("alice").await.unwrap().is_empty());
    store.create_user("alice", &[]).await.unwrap();
    assert!(store.take_offline("alice").await.unwrap().is_empty());
    assert!(store.roster("alice").await.unwrap().is_empty());
}
