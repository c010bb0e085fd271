//! Every backend passes the same suites, one test per domain trait and backend, each on a
//! fresh store.

use herald_store::conformance;

/// One test per conformance suite for the backend that `$open` (an async block yielding the
/// store and whatever must outlive it) creates.
macro_rules! conforms {
    ($backend:ident, $open:expr) => {
        mod $backend {
            use super::*;

            #[tokio::test]
            async fn accounts() {
                let (store, _keep) = $open.await;
                conformance::accounts(&store).await;
            }

            #[tokio::test]
            async fn rosters() {
                let (store, _keep) = $open.await;
                conformance::rosters(&store).await;
            }

            #[tokio::test]
            async fn offline() {
                let (store, _keep) = $open.await;
                conformance::offline(&store).await;
            }

            #[tokio::test]
            async fn offline_byte_quotas() {
                let (store, _keep) = $open.await;
                conformance::offline_byte_quotas(&store).await;
            }

            #[tokio::test]
            async fn pubsub() {
                let (store, _keep) = $open.await;
                conformance::pubsub(&store).await;
            }

            #[tokio::test]
            async fn contact_center_users() {
                let (store, _keep) = $open.await;
                conformance::contact_center_users(&store).await;
            }

            #[tokio::test]
            async fn contact_center_configuration() {
                let (store, _keep) = $open.await;
                conformance::contact_center_configuration(&store).await;
            }

            #[tokio::test]
            async fn close_records() {
                let (store, _keep) = $open.await;
                conformance::close_records(&store).await;
            }

            #[tokio::test]
            async fn contact_center_rosters() {
                let (store, _keep) = $open.await;
                conformance::contact_center_rosters(&store).await;
            }

            #[tokio::test]
            async fn deleting_a_user_removes_everything() {
                let (store, _keep) = $open.await;
                conformance::deleting_a_user_removes_everything(&store).await;
            }
        }
    };
}

conforms!(memory, async { (herald_store::MemoryStore::new(), ()) });

#[cfg(feature = "sqlite")]
conforms!(sqlite, async {
    let dir = tempfile::tempdir().unwrap();
    (herald_store::SqliteStore::open(&dir.path().join("herald.db")).await.unwrap(), dir)
});

// The same suites through the run-time choice, as the server uses it.
conforms!(any_memory, async { (herald_store::AnyStore::Memory(herald_store::MemoryStore::new()), ()) });

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
