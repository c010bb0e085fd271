//! Pubsub nodes in SQLite (`pubsub_nodes`, `pubsub_affiliations`, `pubsub_subscriptions`,
//! `pubsub_items`).

use sqlx::Row;

use super::SqliteStore;
use crate::{PubSubOp, PubSubStore, StoreError, StoredItem, StoredNode, StoredSubscription};

/// Records a node's next sequence number before items are deleted, so that numbers (and the
/// item ids made from them) are never reused after a retraction or a purge and a restart.
async fn keep_high_water_mark(tx: &mut sqlx::SqliteConnection, node: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE pubsub_nodes SET next_seq = MAX(next_seq, (SELECT COALESCE(MAX(seq) + 1, 0) FROM pubsub_items WHERE node = ?1)) WHERE name = ?1",
    )
    .bind(node)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn apply_op(tx: &mut sqlx::SqliteConnection, op: &PubSubOp) -> Result<(), sqlx::Error> {
    match op {
        PubSubOp::PutNode { name, config } => {
            sqlx::query("INSERT INTO pubsub_nodes (name, config) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET config = excluded.config")
                .bind(name)
                .bind(config)
                .execute(&mut *tx)
                .await?;
        }
        PubSubOp::DeleteNode { name } => {
            sqlx::query("DELETE FROM pubsub_nodes WHERE name = ?").bind(name).execute(&mut *tx).await?;
        }
        PubSubOp::PutAffiliation { node, jid, affiliation } => {
            sqlx::query("INSERT INTO pubsub_affiliations (node, jid, affiliation) VALUES (?, ?, ?) ON CONFLICT (node, jid) DO UPDATE SET affiliation = excluded.affiliation")
                .bind(node)
                .bind(jid)
                .bind(affiliation)
                .execute(&mut *tx)
                .await?;
        }
        PubSubOp::DeleteAffiliation { node, jid } => {
            sqlx::query("DELETE FROM pubsub_affiliations WHERE node = ? AND jid = ?").bind(node).bind(jid).execute(&mut *tx).await?;
        }
        PubSubOp::PutSubscription { node, subscription: s } => {
            sqlx::query(
                "INSERT INTO pubsub_subscriptions (node, subid, jid, state, options) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (node, subid) DO UPDATE SET jid = excluded.jid, state = excluded.state, options = excluded.options",
            )
            .bind(node)
            .bind(&s.subid)
            .bind(&s.jid)
            .bind(&s.state)
            .bind(&s.options)
            .execute(&mut *tx)
            .await?;
        }
        PubSubOp::DeleteSubscription { node, subid } => {
            sqlx::query("DELETE FROM pubsub_subscriptions WHERE node = ? AND subid = ?").bind(node).bind(subid).execute(&mut *tx).await?;
        }
        PubSubOp::PutItem { node, item, keep } => {
            let seq = i64::try_from(item.seq).unwrap_or(i64::MAX);
            sqlx::query(
                "INSERT INTO pubsub_items (node, id, seq, publisher, payload, published_at) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (node, id) DO UPDATE SET seq = excluded.seq, publisher = excluded.publisher, payload = excluded.payload,
                 published_at = excluded.published_at",
            )
            .bind(node)
            .bind(&item.id)
            .bind(seq)
            .bind(&item.publisher)
            .bind(&item.payload)
            .bind(item.published_at_ms)
            .execute(&mut *tx)
            .await?;
            // The node's sequence high-water mark is not written here: loading takes it from the
            // newest item, and the deletions below write it before items disappear. One statement
            // fewer on every publish.
            // Trim to the newest `keep`: everything at or below the (keep+1)-th newest sequence
            // (an index seek; nothing when there are not that many).
            if let Some(keep) = keep {
                sqlx::query(
                    "DELETE FROM pubsub_items WHERE node = ?1 AND seq <= (SELECT seq FROM pubsub_items WHERE node = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
                )
                .bind(node)
                .bind(i64::try_from(*keep).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await?;
            }
        }
        PubSubOp::DeleteItem { node, id } => {
            keep_high_water_mark(tx, node).await?;
            sqlx::query("DELETE FROM pubsub_items WHERE node = ? AND id = ?").bind(node).bind(id).execute(&mut *tx).await?;
        }
        PubSubOp::Purge { node } => {
            keep_high_water_mark(tx, node).await?;
            sqlx::query("DELETE FROM pubsub_items WHERE node = ?").bind(node).execute(&mut *tx).await?;
        }
    }
    Ok(())
}

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
            sqlx::query("SELECT node, subid, jid, state, options FROM pubsub_subscriptions ORDER BY rowid").fetch_all(&mut *tx).await?
        {
            if let Some(n) = nodes.get_mut(row.get::<&str, _>("node")) {
                n.subscriptions.push(StoredSubscription {
                    subid: row.get("subid"),
                    jid: row.get("jid"),
                    state: row.get("state"),
                    options: row.get("options"),
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
        let mut tx = self.pool.begin().await?;
        for op in ops {
            apply_op(&mut tx, op).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
