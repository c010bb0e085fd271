//! Every backend passes the same suites, one test per domain trait and backend, each on a
//! fresh store.

use herald_store::conformance;

/// One test per conformance suite for the backend that `$open` (an async block yielding the
/// store and whatever must outlive it, or `None` when the backend cannot run here and the test
/// is skipped) creates.
macro_rules! conforms {
    ($backend:ident, $open:expr) => {
        mod $backend {
            use super::*;

            #[tokio::test]
            async fn accounts() {
                let Some((store, _keep)) = $open.await else { return };
                conformance::accounts(&store).await;
            }

            #[tokio::test]
            async fn rosters() {
                let Some((store, _keep)) = $open.await else { return };
                conformance::rosters(&store).await;
            }

            #[tokio::test]
            async fn offline() {
                let Some((store, _keep)) = $open.await else { return };
                conformance::offline(&store).await;
            }

            #[tokio::test]
            async fn offline_byte_quotas() {
                let Some((store, _keep)) = $open.await else { return };
                conformance::offline_byte_quotas(&store).await;
            }

            #[tokio::test]
            async fn pubsub() {
                let Some((store, _keep)) = $open.await else { return };
                conformance::pubsub(&store).await;
            }

            #[tokio::test]
            async fn contact_center_users() {
                let Some((store, _keep)) = $open.await else { return };
                conformance::contact_center_users(&store).await;
            }

            #[tokio::test]
            async fn contact_center_configuration() {
                let Some((store, _keep)) = $open.await else { return };
                conformance::contact_center_configuration(&store).await;
            }

            #[tokio::test]
            async fn close_records() {
                let Some((store, _keep)) = $open.await else { return };
                conformance::close_records(&store).await;
            }

            #[tokio::test]
            async fn contact_center_rosters() {
                let Some((store, _keep)) = $open.await else { return };
                conformance::contact_center_rosters(&store).await;
            }

            #[tokio::test]
            async fn deleting_a_user_removes_everything() {
                let Some((store, _keep)) = $open.await else { return };
                conformance::deleting_a_user_removes_everything(&store).await;
            }
        }
    };
}

conforms!(memory, async { Some((herald_store::MemoryStore::new(), ())) });

#[cfg(feature = "sqlite")]
conforms!(sqlite, async {
    let dir = tempfile::tempdir().unwrap();
    Some((herald_store::SqliteStore::open(&dir.path().join("herald.db")).await.unwrap(), dir))
});

// The same suites through the run-time choice, as the server uses it.
conforms!(any_memory, async { Some((herald_store::AnyStore::Memory(herald_store::MemoryStore::new()), ())) });

#[cfg(feature = "postgres")]
conforms!(postgres, async { pg::store().await.map(|s| (s, ())) });

#[cfg(feature = "postgres")]
conforms!(any_postgres, async { pg::store().await.map(|s| (herald_store::AnyStore::Postgres(s), ())) });

/// The one PostgreSQL server of this test binary (it takes about 1.5 s to start), a database of
/// its own for each test.
#[cfg(feature = "postgres")]
mod pg {
    use std::sync::OnceLock;

    use herald_dbtest::TempPostgres;
    use herald_store::PostgresStore;

    static SERVER: OnceLock<Option<TempPostgres>> = OnceLock::new();

    /// The server, started by the first test that needs it; `None` (the test passes, saying it
    /// was skipped) when PostgreSQL is not installed, unless `CI` is set: then it fails.
    pub(crate) fn server() -> Option<&'static TempPostgres> {
        SERVER
            .get_or_init(|| {
                if !TempPostgres::available() {
                    assert!(std::env::var_os("CI").is_none(), "PostgreSQL is not installed (initdb, pg_ctl), and CI needs it");
                    return None;
                }
                let server = TempPostgres::start().expect("PostgreSQL starts");
                server.stop_when_process_exits().expect("the watchdog starts");
                Some(server)
            })
            .as_ref()
            .or_else(|| {
                eprintln!("skipped: PostgreSQL is not installed (initdb, pg_ctl)");
                None
            })
    }

    /// The URL of a new, empty database on the shared server.
    pub(crate) fn new_database() -> Option<String> {
        Some(server()?.new_database().expect("createdb"))
    }

    /// A store on a new database of the shared server.
    pub(crate) async fn store() -> Option<PostgresStore> {
        Some(PostgresStore::open(&new_database()?, 4).await.expect("the store opens"))
    }
}

#[cfg(feature = "sqlite")]
mod sqlite_files {
    use herald_store::{AccountStore, SqliteStore, StoreError, StoredCredential};

    #[tokio::test]
    async fn data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.db");
        let cred = StoredCredential { hash: "SHA-256".into(), salt: vec![1], iterations: 4096, stored_key: vec![2], server_key: vec![3] };
        {
            let store = SqliteStore::open(&path).await.unwrap();
            store.create_user("alice", std::slice::from_ref(&cred)).await.unwrap();
            store.close().await;
        }
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(store.credentials("alice").await.unwrap(), Some(vec![cred]));
    }

    #[tokio::test]
    async fn a_database_that_cannot_be_opened_is_a_typed_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-directory").join("herald.db");
        match SqliteStore::open(&path).await {
            Err(err @ StoreError::Open { .. }) => {
                assert!(err.is_backend());
                assert!(err.to_string().contains("missing-directory"), "{err}");
                assert!(std::error::Error::source(&err).is_some(), "the driver's error is the source");
            }
            other => panic!("expected StoreError::Open, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.db");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let err = SqliteStore::open(&path).await.unwrap_err();
        assert!(matches!(err, StoreError::Open { .. } | StoreError::Migration { version: 0, .. }), "{err:?}");
    }
}

/// The PostgreSQL store as a cluster uses it: a real server, several stores (nodes) on one
/// database, the server going away and coming back.
#[cfg(feature = "postgres")]
mod postgres_server {
    use std::time::{Duration, Instant};

    use herald_dbtest::TempPostgres;
    use herald_store::{
        AccountStore, OfflineMessage, OfflinePush, OfflineQuota, OfflineStore, PostgresStore, PubSubOp, PubSubStore, StoreError,
        StoredCredential, StoredItem,
    };

    use super::pg;

    const PASSWORD: &str = "s3cret-Pa55";

    fn cred() -> StoredCredential {
        StoredCredential { hash: "SHA-256".into(), salt: vec![1, 0, 255], iterations: 4096, stored_key: vec![2], server_key: vec![3] }
    }

    fn item(seq: u64, id: &str) -> StoredItem {
        StoredItem { seq, id: id.into(), publisher: "admin@x".into(), payload: format!("<p id='{id}'/>"), published_at_ms: 1 }
    }

    /// `url` with a password in it (the test server trusts loopback, so any password works).
    fn with_password(url: &str) -> String {
        url.replacen("://herald@", &format!("://herald:{PASSWORD}@"), 1)
    }

    #[tokio::test]
    async fn data_survives_reopening() {
        let Some(url) = pg::new_database() else { return };
        let store = PostgresStore::open(&url, 2).await.unwrap();
        store.create_user("alice", &[cred()]).await.unwrap();
        store.close().await;
        let store = PostgresStore::open(&url, 2).await.unwrap();
        assert_eq!(store.credentials("alice").await.unwrap(), Some(vec![cred()]));
        assert_eq!(store.schema_versions().await.unwrap(), [1, 2, 3, 4], "reopening applies nothing twice");
    }

    fn assert_open_error(result: Result<PostgresStore, StoreError>, names: &str) {
        match result {
            Err(err @ StoreError::Open { .. }) => {
                let text = err.to_string();
                eprintln!("open error: {text}");
                assert!(err.is_backend());
                assert!(text.contains(names), "{text:?} should name {names:?}");
                assert!(!text.contains(PASSWORD) && !format!("{err:?}").contains(PASSWORD), "the password leaked: {err:?}");
            }
            Err(other) => panic!("expected StoreError::Open, got {other:?}"),
            Ok(_) => panic!("expected StoreError::Open, got a store"),
        }
    }

    #[tokio::test]
    async fn a_wrong_port_or_database_is_an_open_error_naming_it_without_the_password() {
        let Some(server) = pg::server() else { return };
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = with_password(&format!("postgres://herald@127.0.0.1:{closed}/herald"));
        let started = Instant::now();
        assert_open_error(PostgresStore::open(&url, 2).await, &format!("127.0.0.1:{closed}/herald"));
        assert!(started.elapsed() < Duration::from_secs(2), "a refused connection fails at once, not after {:?}", started.elapsed());
        let url = with_password(&server.url("no_such_database"));
        assert_open_error(PostgresStore::open(&url, 2).await, &format!("127.0.0.1:{}/no_such_database", server.port()));
        assert_open_error(PostgresStore::open(&format!("postgres://herald:{PASSWORD}@127.0.0.1:notaport/x"), 2).await, "herald@");
    }

    #[tokio::test]
    async fn two_nodes_on_one_database_see_each_others_writes() {
        let Some(url) = pg::new_database() else { return };
        let (a, b) = (PostgresStore::open(&url, 2).await.unwrap(), PostgresStore::open(&url, 2).await.unwrap());
        a.create_user("alice", &[cred()]).await.unwrap();
        assert_eq!(b.credentials("alice").await.unwrap(), Some(vec![cred()]));
        assert!(matches!(b.create_user("alice", &[]).await, Err(StoreError::UserExists(_))));
        let node = "/finesse/api/User/1001";
        a.pubsub_apply(&[
            PubSubOp::PutNode { name: node.into(), config: String::new() },
            PubSubOp::PutItem { node: node.into(), item: item(0, "from-a"), keep: None },
        ])
        .await
        .unwrap();
        let seen = b.pubsub_load().await.unwrap().remove(0);
        assert_eq!((seen.items.clone(), seen.next_seq), (vec![item(0, "from-a")], 1));
        // Both nodes propose the number their own view says is next: the database hands out
        // increasing ones.
        b.pubsub_apply(&[PubSubOp::PutItem { node: node.into(), item: item(1, "from-b"), keep: None }]).await.unwrap();
        a.pubsub_apply(&[PubSubOp::PutItem { node: node.into(), item: item(1, "from-a-2"), keep: None }]).await.unwrap();
        let listed = a.pubsub_load().await.unwrap().remove(0);
        let order: Vec<(u64, &str)> = listed.items.iter().map(|i| (i.seq, i.id.as_str())).collect();
        assert_eq!(order, [(0, "from-a"), (1, "from-b"), (2, "from-a-2")]);
        assert_eq!(listed.next_seq, 3);
    }

    #[tokio::test]
    async fn concurrent_publishes_from_two_nodes_get_distinct_increasing_numbers() {
        let Some(url) = pg::new_database() else { return };
        let (a, b) = (PostgresStore::open(&url, 4).await.unwrap(), PostgresStore::open(&url, 4).await.unwrap());
        let node = "n";
        a.pubsub_apply(&[PubSubOp::PutNode { name: node.into(), config: String::new() }]).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40 {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            // Every writer proposes 0, as two nodes with the same stale view would.
            tasks.spawn(async move {
                store.pubsub_apply(&[PubSubOp::PutItem { node: node.into(), item: item(0, &format!("i{i}")), keep: None }]).await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().unwrap();
        }
        let n = b.pubsub_load().await.unwrap().remove(0);
        let seqs: Vec<u64> = n.items.iter().map(|i| i.seq).collect();
        assert_eq!(seqs, (0..40).collect::<Vec<u64>>(), "every item its own number, none lost");
        assert_eq!(n.next_seq, 40);
    }

    #[tokio::test]
    async fn a_pubsub_batch_that_fails_part_way_writes_nothing() {
        let Some(store) = pg::store().await else { return };
        let err = store
            .pubsub_apply(&[
                PubSubOp::PutNode { name: "kept-out".into(), config: String::new() },
                PubSubOp::PutItem { node: "no-such-node".into(), item: item(0, "x"), keep: None },
            ])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Database(_)), "{err:?}");
        assert!(store.pubsub_load().await.unwrap().is_empty(), "the node of the failed batch was rolled back");
    }

    #[tokio::test]
    async fn concurrent_offline_pushes_from_two_nodes_stay_within_the_quotas() {
        let Some(url) = pg::new_database() else { return };
        let (a, b) = (PostgresStore::open(&url, 4).await.unwrap(), PostgresStore::open(&url, 4).await.unwrap());
        for user in ["bob", "carol", "dave"] {
            a.create_user(user, &[]).await.unwrap();
        }
        let quota = OfflineQuota { max_messages: 1000, max_bytes: 100, max_sender_bytes: 250 };
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..90 {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let recipient = ["bob", "carol", "dave"][i % 3];
            let message = OfflineMessage { sender: "alice@x".into(), stanza: "0123456789".into(), stored_at_ms: 1 };
            tasks.spawn(async move { store.push_offline(recipient, &message, &quota).await });
        }
        let mut stored = 0;
        while let Some(done) = tasks.join_next().await {
            if done.unwrap().unwrap() == OfflinePush::Stored {
                stored += 1;
            }
        }
        assert_eq!(stored, 25, "the sender's 250 bytes, no more");
        let mut total = 0;
        for user in ["bob", "carol", "dave"] {
            let kept = a.offline_batch(user, 1000, u64::MAX).await.unwrap().len();
            assert!(kept <= 10, "{user} holds {kept} messages of 10 bytes, above its 100");
            total += kept;
        }
        assert_eq!(total, 25);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_pushes_from_many_senders_stay_within_the_recipients_quota() {
        let Some(url) = pg::new_database() else { return };
        let (a, b) = (PostgresStore::open(&url, 4).await.unwrap(), PostgresStore::open(&url, 4).await.unwrap());
        a.create_user("bob", &[]).await.unwrap();
        // Every push from its own sender: only the recipient's lock keeps them apart.
        let quota = OfflineQuota { max_messages: 1000, max_bytes: 100, max_sender_bytes: 1000 };
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..60 {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let message = OfflineMessage { sender: format!("sender{i}@x"), stanza: "0123456789".into(), stored_at_ms: 1 };
            tasks.spawn(async move { store.push_offline("bob", &message, &quota).await });
        }
        let mut stored = 0;
        while let Some(done) = tasks.join_next().await {
            if done.unwrap().unwrap() == OfflinePush::Stored {
                stored += 1;
            }
        }
        assert_eq!(stored, 10, "bob's 100 bytes hold ten 10-byte messages, no more");
        assert_eq!(a.offline_batch("bob", 1000, u64::MAX).await.unwrap().len(), 10);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nodes_opening_at_once_migrate_exactly_once() {
        let Some(url) = pg::new_database() else { return };
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                async move { PostgresStore::open(&url, 2).await }
            })
            .collect();
        let stores = join_all(opens).await;
        for store in &stores {
            assert!(store.is_ok(), "{:?}", store.as_ref().err());
        }
        let store = stores.into_iter().next().unwrap().unwrap();
        assert_eq!(store.schema_versions().await.unwrap(), [1, 2, 3, 4]);
    }

    /// Runs the futures at once on their own tasks, results in order.
    async fn join_all<F>(futures: Vec<F>) -> Vec<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_that_goes_away_fails_calls_with_a_backend_error_and_its_return_heals_the_store() {
        if pg::server().is_none() {
            return;
        }
        // A server of its own: killing the shared one would fail the other tests.
        let server = TempPostgres::start().unwrap();
        let store = PostgresStore::open(&server.new_database().unwrap(), 2).await.unwrap();
        store.create_user("alice", &[cred()]).await.unwrap();
        server.kill().unwrap();
        let started = Instant::now();
        let err = store.credentials("alice").await.unwrap_err();
        assert!(err.is_backend() && matches!(err, StoreError::Database(_)), "{err:?}");
        eprintln!("after kill: {err} ({:?})", started.elapsed());
        assert!(started.elapsed() < Duration::from_secs(10), "failed only after {:?}", started.elapsed());
        let err = store.create_user("bob", &[]).await.unwrap_err();
        assert!(err.is_backend() && matches!(err, StoreError::Database(_)), "{err:?}");
        server.restart().unwrap();
        assert_eq!(store.credentials("alice").await.unwrap(), Some(vec![cred()]));
        store.create_user("bob", &[]).await.unwrap();
        assert_eq!(store.list_users().await.unwrap(), ["alice", "bob"]);
    }
}
