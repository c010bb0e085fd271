//! Every backend passes the same suite.

use herald_store::{MemoryStore, SqliteStore, Store, StoredCredential, conformance};

#[tokio::test]
async fn memory_store_conforms() {
    conformance::run(MemoryStore::new()).await;
}

#[tokio::test]
async fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run(SqliteStore::open(&dir.path().join("herald.db")).await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_data_survives_reopening() {
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
