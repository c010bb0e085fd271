//! Pubsub nodes in SQLite (`pubsub_nodes`, `pubsub_affiliations`, `pubsub_subscriptions`,
//! `pubsub_items`): loaded by the statements shared with PostgreSQL
//! ([`crate::sql::records::pubsub_nodes`]), written by the writer thread.

use super::SqliteStore;
use crate::sql::records;
use crate::{PubSubOp, PubSubStore, StoreError, StoredNode};

impl PubSubStore for SqliteStore {
    async fn pubsub_load(&self) -> Result<Vec<StoredNode>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let subscriptions = "SELECT node, subid, jid, state, deliver FROM pubsub_subscriptions ORDER BY rowid";
        let nodes = records::pubsub_nodes::<sqlx::Sqlite>(&mut tx, subscriptions).await?;
        tx.commit().await?;
        Ok(nodes)
    }

    async fn pubsub_apply(&self, ops: &[PubSubOp]) -> Result<(), StoreError> {
        self.pubsub.apply(ops).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::MIGRATIONS;
    use super::*;
    use crate::{StoredSubscription, SubscriptionOptions};

    #[tokio::test]
    async fn a_corrupt_pubsub_row_is_corrupt_data_naming_its_column_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("herald.db")).await.unwrap();
        sqlx::query("INSERT INTO pubsub_nodes (name, config, next_seq) VALUES ('n', '', -5)").execute(&store.pool).await.unwrap();
        let err = store.pubsub_load().await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { table: "pubsub_nodes", column: "next_seq", .. }), "{err:?}");
    }

    #[tokio::test]
    async fn subscription_options_stored_as_text_become_columns_after_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::connect(&dir.path().join("herald.db")).await.unwrap();
        store.migrate(&MIGRATIONS[..3]).await.unwrap();
        sqlx::query("INSERT INTO pubsub_nodes (name, config) VALUES ('n', '')").execute(&store.pool).await.unwrap();
        for (subid, options) in [("paused", "deliver=0"), ("on", "deliver=1"), ("blank", "")] {
            sqlx::query("INSERT INTO pubsub_subscriptions (node, subid, jid, state, options) VALUES ('n', ?, 'a@x', 'subscribed', ?)")
                .bind(subid)
                .bind(options)
                .execute(&store.pool)
                .await
                .unwrap();
        }
        store.migrate(MIGRATIONS).await.unwrap();
        let node = store.pubsub_load().await.unwrap().remove(0);
        let delivers: Vec<(&str, bool)> = node.subscriptions.iter().map(|s| (s.subid.as_str(), s.options.deliver)).collect();
        assert_eq!(delivers, vec![("paused", false), ("on", true), ("blank", true)]);
        // The writer thread writes the new column.
        let paused = StoredSubscription { options: SubscriptionOptions { deliver: false }, ..node.subscriptions[1].clone() };
        store.pubsub_apply(&[PubSubOp::PutSubscription { node: "n".into(), subscription: paused }]).await.unwrap();
        assert!(!store.pubsub_load().await.unwrap()[0].subscriptions[1].options.deliver);
    }
}
