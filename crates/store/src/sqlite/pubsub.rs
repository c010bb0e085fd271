//! Pubsub nodes in SQLite (`pubsub_nodes`, `pubsub_affiliations`, `pubsub_subscriptions`,
//! `pubsub_items`).

use sqlx::Row;

use super::SqliteStore;
use crate::{PubSubOp, PubSubStore, StoreError, StoredItem, StoredNode, StoredSubscription, SubscriptionOptions};

impl PubSubStore for SqliteStore {
    async fn pubsub_load(&self) -> Result<Vec<StoredNode>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut nodes: std::collections::BTreeMap<String, StoredNode> = std::collections::BTreeMap::new();
        for row in sqlx::query("SELECT name, config, next_seq FROM pubsub_nodes").fetch_all(&mut *tx).await? {
            let name: String = row.get("name");
            let next_seq = u64::try_from(row.get::<i64, _>("next_seq")).unwrap_or(0);
            nodes.insert(name.clone(), StoredNode { name, config: row.get("config"), next_seq, ..Default::default() });
        }
        for row in sqlx::query("SELECT node, jid, affiliation FROM pubsub_affiliations").fetch_all(&mut *tx).await? {
            if let Some(n) = nodes.get_mut(row.get::<&str, _>("node")) {
                n.affiliations.push((row.get("jid"), row.get("affiliation")));
            }
        }
        for row in
            sqlx::query("SELECT node, subid, jid, state, deliver FROM pubsub_subscriptions ORDER BY rowid").fetch_all(&mut *tx).await?
        {
            if let Some(n) = nodes.get_mut(row.get::<&str, _>("node")) {
                n.subscriptions.push(StoredSubscription {
                    subid: row.get("subid"),
                    jid: row.get("jid"),
                    state: row.get("state"),
                    options: SubscriptionOptions { deliver: row.get("deliver") },
                });
            }
        }
        for row in sqlx::query("SELECT node, id, seq, publisher, payload, published_at FROM pubsub_items ORDER BY node, seq")
            .fetch_all(&mut *tx)
            .await?
        {
            if let Some(n) = nodes.get_mut(row.get::<&str, _>("node")) {
                let seq = u64::try_from(row.get::<i64, _>("seq")).unwrap_or(0);
                n.next_seq = n.next_seq.max(seq + 1);
                n.items.push(StoredItem {
                    seq,
                    id: row.get("id"),
                    publisher: row.get("publisher"),
                    payload: row.get("payload"),
                    published_at_ms: row.get("published_at"),
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
