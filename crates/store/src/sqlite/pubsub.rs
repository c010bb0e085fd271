//! Pubsub nodes in SQLite (`pubsub_nodes`, `pubsub_affiliations`, `pubsub_subscriptions`,
//! `pubsub_items`).

use std::collections::BTreeMap;

use super::{SqliteStore, column, int_column};
use crate::{PubSubOp, PubSubStore, StoreError, StoredItem, StoredNode, StoredSubscription, SubscriptionOptions};

impl PubSubStore for SqliteStore {
    async fn pubsub_load(&self) -> Result<Vec<StoredNode>, StoreError> {
        const NODES: &str = "pubsub_nodes";
        const AFFILIATIONS: &str = "pubsub_affiliations";
        const SUBSCRIPTIONS: &str = "pubsub_subscriptions";
        const ITEMS: &str = "pubsub_items";
        let mut tx = self.pool.begin().await?;
        let mut nodes: BTreeMap<String, StoredNode> = BTreeMap::new();
        for row in sqlx::query("SELECT name, config, next_seq FROM pubsub_nodes").fetch_all(&mut *tx).await? {
            let name: String = column(&row, NODES, "name")?;
            let node = StoredNode {
                name: name.clone(),
                config: column(&row, NODES, "config")?,
                next_seq: int_column(&row, NODES, "next_seq")?,
                ..Default::default()
            };
            nodes.insert(name, node);
        }
        for row in sqlx::query("SELECT node, jid, affiliation FROM pubsub_affiliations").fetch_all(&mut *tx).await? {
            if let Some(n) = nodes.get_mut(column::<&str>(&row, AFFILIATIONS, "node")?) {
                n.affiliations.push((column(&row, AFFILIATIONS, "jid")?, column(&row, AFFILIATIONS, "affiliation")?));
            }
        }
        for row in
            sqlx::query("SELECT node, subid, jid, state, deliver FROM pubsub_subscriptions ORDER BY rowid").fetch_all(&mut *tx).await?
        {
            if let Some(n) = nodes.get_mut(column::<&str>(&row, SUBSCRIPTIONS, "node")?) {
                n.subscriptions.push(StoredSubscription {
                    subid: column(&row, SUBSCRIPTIONS, "subid")?,
                    jid: column(&row, SUBSCRIPTIONS, "jid")?,
                    state: column(&row, SUBSCRIPTIONS, "state")?,
                    options: SubscriptionOptions { deliver: column(&row, SUBSCRIPTIONS, "deliver")? },
                });
            }
        }
        for row in sqlx::query("SELECT node, id, seq, publisher, payload, published_at FROM pubsub_items ORDER BY node, seq")
            .fetch_all(&mut *tx)
            .await?
        {
            if let Some(n) = nodes.get_mut(column::<&str>(&row, ITEMS, "node")?) {
                let seq: u64 = int_column(&row, ITEMS, "seq")?;
                n.next_seq = n.next_seq.max(seq + 1);
                n.items.push(StoredItem {
                    seq,
                    id: column(&row, ITEMS, "id")?,
                    publisher: column(&row, ITEMS, "publisher")?,
                    payload: column(&row, ITEMS, "payload")?,
                    published_at_ms: column(&row, ITEMS, "published_at")?,
                });
            }
        }
        tx.commit().await?;
        Ok(nodes.into_values().collect())
    }

    async fn pubsub_apply(&self, ops: &[PubSubOp]) -> Result<(), StoreError> {
        self.pubsub.apply(ops).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::MIGRATIONS;
    use super::*;

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
