//! The behaviour every backend must have, one async suite per domain trait. Each suite takes
//! a fresh, empty store and asks only for the traits it exercises (plus [`AccountStore`] where
//! the domain's rows belong to users); a backend's tests run every suite, each on its own
//! store (see `tests/conformance.rs`). Each suite panics with the failed expectation.

use crate::{
    AccountStore, CloseRecord, ContactCenterStore, OfflineMessage, OfflinePush, OfflineQuota, OfflineStore, PubSubOp, PubSubStore,
    RosterItem, RosterStore, SessionRecordStore, Store, StoreError, StoredCcUser, StoredCredential, StoredItem, StoredQueue,
    StoredReasonCode, StoredSubscription, StoredTeam, Subscription, SubscriptionOptions,
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

fn cc_user(login_id: &str, role: &str, team: Option<&str>, supervises: &[&str]) -> StoredCcUser {
    StoredCcUser {
        login_id: login_id.into(),
        login_name: format!("{login_id}-name"),
        first_name: "Chris".into(),
        last_name: "O'Neil <&>".into(),
        extension: Some(format!("{login_id}0")),
        role: role.into(),
        team_id: team.map(str::to_owned),
        supervised_teams: supervises.iter().map(|t| (*t).to_owned()).collect(),
        wrap_up_incoming: "OPTIONAL".into(),
        wrap_up_outgoing: "NOT_ALLOWED".into(),
    }
}

/// Contact-center users: they need an account (one at a time and in bulk, where one missing
/// account refuses the whole batch), are replaced whole (supervised teams included), listed by
/// login id, and go with their account.
pub async fn contact_center_users<S: AccountStore + ContactCenterStore>(store: &S) {
    assert!(store.cc_users().await.unwrap().is_empty());
    // Bulk account creation keeps existing accounts as they are.
    store.create_user("1001", &[credential("SHA-1", 1)]).await.unwrap();
    let accounts = vec![("1001".to_owned(), vec![credential("SHA-1", 7)]), ("1002".to_owned(), vec![credential("SHA-256", 8)])];
    assert_eq!(store.cc_create_accounts(&accounts).await.unwrap(), 1);
    assert_eq!(store.cc_create_accounts(&accounts).await.unwrap(), 0);
    assert_eq!(store.credentials("1001").await.unwrap(), Some(vec![credential("SHA-1", 1)]), "an existing account is kept");
    assert_eq!(store.credentials("1002").await.unwrap(), Some(vec![credential("SHA-256", 8)]));
    let sup = cc_user("2001", "supervisor", Some("1"), &["2", "1"]);
    match store.cc_put_user(&sup).await {
        Err(StoreError::NoSuchUser(name)) => assert_eq!(name, "2001"),
        other => panic!("a cc user without an account must be refused, got {other:?}"),
    }
    create_users(store, &["2001"]).await;
    store.cc_put_user(&sup).await.unwrap();
    let plain = StoredCcUser { extension: None, team_id: None, ..cc_user("1002", "agent", None, &[]) };
    // A batch with one user without an account changes nothing.
    let batch = vec![cc_user("1001", "agent", Some("1"), &[]), cc_user("9999", "agent", Some("1"), &[]), plain.clone()];
    assert!(matches!(store.cc_put_users(&batch).await, Err(StoreError::NoSuchUser(name)) if name == "9999"));
    assert_eq!(store.cc_users().await.unwrap(), vec![sup.clone()], "a refused batch writes nothing");
    let agent = cc_user("1001", "agent", Some("1"), &[]);
    store.cc_put_users(&[agent.clone(), plain.clone()]).await.unwrap();
    assert_eq!(store.cc_users().await.unwrap(), vec![agent.clone(), plain.clone(), sup.clone()], "by login id");
    // Replacing a user replaces its supervised teams too.
    let demoted = StoredCcUser { role: "agent".into(), supervised_teams: vec!["3".into()], ..sup.clone() };
    store.cc_put_user(&demoted).await.unwrap();
    assert_eq!(store.cc_users().await.unwrap(), vec![agent.clone(), plain.clone(), demoted]);
    store.cc_put_user(&sup).await.unwrap();
    // Deleting the account deletes the cc user and its supervision.
    assert!(store.delete_user("2001").await.unwrap());
    assert_eq!(store.cc_users().await.unwrap(), vec![agent, plain]);
    store.create_user("2001", &[]).await.unwrap();
    let again = cc_user("2001", "agent", None, &[]);
    store.cc_put_user(&again).await.unwrap();
    assert!(store.cc_users().await.unwrap().iter().any(|u| u == &again), "a re-created account starts with no supervised teams");
}

/// Teams, queues and reason codes: insert, replace by key, list by key; the scenario mark.
pub async fn contact_center_configuration<S: ContactCenterStore>(store: &S) {
    assert!(store.cc_teams().await.unwrap().is_empty());
    assert!(store.cc_queues().await.unwrap().is_empty());
    assert!(store.cc_reason_codes().await.unwrap().is_empty());
    assert!(!store.cc_scenario_applied().await.unwrap());
    let team = |id: &str, name: &str| StoredTeam { id: id.into(), name: name.into() };
    store.cc_put_team(&team("2", "Support")).await.unwrap();
    store.cc_put_team(&team("1", "Sales")).await.unwrap();
    store.cc_put_team(&team("2", "Support & Care")).await.unwrap();
    assert_eq!(store.cc_teams().await.unwrap(), vec![team("1", "Sales"), team("2", "Support & Care")]);
    let queue = |id: &str, teams: &[&str]| StoredQueue {
        id: id.into(),
        name: format!("Q{id}"),
        teams: teams.iter().map(|t| (*t).to_owned()).collect(),
    };
    store.cc_put_queue(&queue("300", &["2", "1"])).await.unwrap();
    store.cc_put_queue(&queue("100", &["1"])).await.unwrap();
    assert_eq!(store.cc_queues().await.unwrap(), vec![queue("100", &["1"]), queue("300", &["2", "1"])], "teams keep their order");
    store.cc_put_queue(&queue("300", &[])).await.unwrap();
    assert_eq!(store.cc_queues().await.unwrap(), vec![queue("100", &["1"]), queue("300", &[])], "replacing a queue replaces its teams");
    let reason = |id: u32, category: &str, code: u16, system: bool| StoredReasonCode {
        id,
        category: category.into(),
        code,
        label: format!("label {id}"),
        for_all: !system,
        system,
    };
    store.cc_put_reason_code(&reason(7, "LOGOUT", 255, true)).await.unwrap();
    store.cc_put_reason_code(&reason(1, "NOT_READY", 65535, false)).await.unwrap();
    store.cc_put_reason_code(&reason(2, "NOT_READY", 2, false)).await.unwrap();
    store.cc_put_reason_code(&reason(2, "LOGOUT", 3, false)).await.unwrap();
    assert_eq!(
        store.cc_reason_codes().await.unwrap(),
        vec![reason(1, "NOT_READY", 65535, false), reason(2, "LOGOUT", 3, false), reason(7, "LOGOUT", 255, true)]
    );
    store.cc_mark_scenario_applied().await.unwrap();
    store.cc_mark_scenario_applied().await.unwrap();
    assert!(store.cc_scenario_applied().await.unwrap());
}

/// Bulk roster writes (the web-services user and every agent): all or nothing, an owner without
/// an account refused; and the read of everyone holding one contact.
pub async fn contact_center_rosters<S: AccountStore + RosterStore + ContactCenterStore>(store: &S) {
    create_users(store, &["finesse", "1001", "1002"]).await;
    let item =
        |contact: &str| RosterItem { contact: contact.into(), subscription: Subscription::Both, visible: true, ..Default::default() };
    let refused = vec![("1001".to_owned(), item("finesse@x")), ("ghost".to_owned(), item("finesse@x"))];
    assert!(matches!(store.cc_put_roster_items(&refused).await, Err(StoreError::NoSuchUser(name)) if name == "ghost"));
    assert!(store.roster("1001").await.unwrap().is_empty(), "a refused batch writes nothing");
    let items = vec![
        ("1002".to_owned(), item("finesse@x")),
        ("1001".to_owned(), item("finesse@x")),
        ("finesse".to_owned(), item("1001@x")),
        ("finesse".to_owned(), item("1002@x")),
    ];
    store.cc_put_roster_items(&items).await.unwrap();
    assert_eq!(store.roster("finesse").await.unwrap(), vec![item("1001@x"), item("1002@x")]);
    let other = RosterItem { contact: "carol@x".into(), ..Default::default() };
    store.put_roster_item("1001", &other).await.unwrap();
    let naming = store.cc_roster_items_naming("finesse@x").await.unwrap();
    assert_eq!(naming, vec![("1001".to_owned(), item("finesse@x")), ("1002".to_owned(), item("finesse@x"))]);
    assert!(store.cc_roster_items_naming("nobody@x").await.unwrap().is_empty());
    // Replacing through the bulk path.
    let pending = RosterItem { subscription: Subscription::To, ..item("finesse@x") };
    store.cc_put_roster_items(&[("1001".to_owned(), pending.clone())]).await.unwrap();
    assert_eq!(store.roster_item("1001", "finesse@x").await.unwrap(), Some(pending));
}

fn close_record(user: &str, resource: &str, closed_ms: u64, cause: &str) -> CloseRecord {
    CloseRecord {
        user: user.into(),
        jid: format!("{user}@x/{resource}"),
        transport: "bosh".into(),
        remote: "10.0.0.1".into(),
        opened_ms: closed_ms.saturating_sub(1000),
        closed_ms,
        cause: cause.into(),
        last_request_ms: closed_ms.saturating_sub(10),
        stanzas_sent: 3,
        queued: 1,
        dropped: 2,
        bytes_sent: u64::from(u32::MAX) + 7,
    }
}

/// Close records: read back newest first, filtered by user and time, bounded by the limit,
/// pruned to the newest `keep`, and gone with their account.
pub async fn close_records<S: AccountStore + SessionRecordStore>(store: &S) {
    create_users(store, &["alice", "bob"]).await;
    assert!(store.close_records(None, 0, 10).await.unwrap().is_empty());
    let a1 = close_record("alice", "r1", 1_000, "timeout");
    let b1 = close_record("bob", "r1", 2_000, "kicked");
    let a2 = close_record("alice", "r2", 3_000, "client");
    store.add_close_records(&[a1.clone(), b1.clone()]).await.unwrap();
    store.add_close_records(std::slice::from_ref(&a2)).await.unwrap();
    store.add_close_records(&[]).await.unwrap();
    assert_eq!(store.close_records(None, 0, 10).await.unwrap(), [a2.clone(), b1.clone(), a1.clone()], "newest first, every field");
    assert_eq!(store.close_records(Some("alice"), 0, 10).await.unwrap(), [a2.clone(), a1.clone()]);
    assert_eq!(store.close_records(Some("carol"), 0, 10).await.unwrap(), []);
    assert_eq!(store.close_records(None, 2_000, 10).await.unwrap(), [a2.clone(), b1.clone()], "since is inclusive");
    assert_eq!(store.close_records(None, 0, 1).await.unwrap(), std::slice::from_ref(&a2), "limit");
    assert_eq!(store.prune_close_records(5).await.unwrap(), 0);
    assert_eq!(store.prune_close_records(2).await.unwrap(), 1);
    assert_eq!(store.close_records(None, 0, 10).await.unwrap(), [a2.clone(), b1.clone()], "the oldest went");
    assert!(store.delete_user("bob").await.unwrap());
    assert_eq!(store.close_records(None, 0, 10).await.unwrap(), [a2], "records go with the account");
    assert_eq!(store.prune_close_records(0).await.unwrap(), 1);
    assert!(store.close_records(None, 0, 10).await.unwrap().is_empty());
}
