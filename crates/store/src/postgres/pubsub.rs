//! Pubsub nodes in PostgreSQL (`pubsub_nodes`, `pubsub_affiliations`, `pubsub_subscriptions`,
//! `pubsub_items`).
//!
//! A batch is one transaction. An item's sequence number comes from its node's row: the publish
//! raises `next_seq` past the number the caller proposes (`UPDATE … RETURNING`), which locks the
//! row until the batch commits. Two nodes publishing to the same pubsub node therefore take
//! turns, and the second one's item gets the next free number even if both proposed the same:
//! numbers increase and are never reused, whoever publishes.

use sqlx::PgConnection;

use super::PostgresStore;
use crate::sql::{int, records};
use crate::{PubSubOp, PubSubStore, StoreError, StoredNode};

async fn apply_op(tx: &mut PgConnection, op: &PubSubOp) -> Result<(), StoreError> {
    match op {
        PubSubOp::PutNode { name, config } => {
            sqlx::query(
                "INSERT INTO pubsub_nodes (name, config) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET config = excluded.config",
            )
            .bind(name)
            .bind(config)
            .execute(&mut *tx)
            .await?;
        }
        PubSubOp::DeleteNode { name } => {
            sqlx::query("DELETE FROM pubsub_nodes WHERE name = $1").bind(name).execute(&mut *tx).await?;
        }
        PubSubOp::PutAffiliation { node, jid, affiliation } => {
            sqlx::query(
                "INSERT INTO pubsub_affiliations (node, jid, affiliation) VALUES ($1, $2, $3)
                 ON CONFLICT (node, jid) DO UPDATE SET affiliation = excluded.affiliation",
            )
            .bind(node)
            .bind(jid)
            .bind(affiliation)
            .execute(&mut *tx)
            .await?;
        }
        PubSubOp::DeleteAffiliation { node, jid } => {
            sqlx::query("DELETE FROM pubsub_affiliations WHERE node = $1 AND jid = $2").bind(node).bind(jid).execute(&mut *tx).await?;
        }
        PubSubOp::PutSubscription { node, subscription: s } => {
            sqlx::query(
                "INSERT INTO pubsub_subscriptions (node, subid, jid, state, deliver) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (node, subid) DO UPDATE SET jid = excluded.jid, state = excluded.state, deliver = excluded.deliver",
            )
            .bind(node)
            .bind(&s.subid)
            .bind(&s.jid)
            .bind(&s.state)
            .bind(s.options.deliver)
            .execute(&mut *tx)
            .await?;
        }
        PubSubOp::DeleteSubscription { node, subid } => {
            sqlx::query("DELETE FROM pubsub_subscriptions WHERE node = $1 AND subid = $2").bind(node).bind(subid).execute(&mut *tx).await?;
        }
        PubSubOp::PutItem { node, item, keep } => {
            // The number: the proposed one unless another writer took it (or a later one) first.
            let allocated: Option<i64> =
                sqlx::query_scalar("UPDATE pubsub_nodes SET next_seq = GREATEST(next_seq, $2) + 1 WHERE name = $1 RETURNING next_seq - 1")
                    .bind(node)
                    .bind(int(item.seq))
                    .fetch_optional(&mut *tx)
                    .await?;
            // No such node: the insert below fails on the foreign key, as in SQLite.
            let seq = allocated.unwrap_or(int(item.seq));
            sqlx::query(
                "INSERT INTO pubsub_items (node, id, seq, publisher, payload, published_at) VALUES ($1, $2, $3, $4, $5, $6)
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
            // Trim to the newest `keep`: everything at or below the (keep+1)-th newest sequence.
            if let Some(keep) = keep {
                sqlx::query(
                    "DELETE FROM pubsub_items WHERE node = $1
                     AND seq <= (SELECT seq FROM pubsub_items WHERE node = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)",
                )
                .bind(node)
                .bind(int(*keep))
                .execute(&mut *tx)
                .await?;
            }
        }
        // `next_seq` is already past every item ever stored: deleting items cannot lower it.
        PubSubOp::DeleteItem { node, id } => {
            sqlx::query("DELETE FROM pubsub_items WHERE node = $1 AND id = $2").bind(node).bind(id).execute(&mut *tx).await?;
        }
        PubSubOp::Purge { node } => {
            sqlx::query("DELETE FROM pubsub_items WHERE node = $1").bind(node).execute(&mut *tx).await?;
        }
    }
    Ok(())
}

impl PubSubStore for PostgresStore {
    async fn pubsub_load(&self) -> Result<Vec<StoredNode>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One snapshot for the four reads, whatever other nodes commit meanwhile.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
        let subscriptions = "SELECT node, subid, jid, state, deliver FROM pubsub_subscriptions ORDER BY position";
        let nodes = records::pubsub_nodes::<sqlx::Postgres>(&mut tx, subscriptions).await?;
        tx.commit().await?;
        Ok(nodes)
    }

    async fn pubsub_apply(&self, ops: &[PubSubOp]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // Two Herald nodes' batches touching the same pubsub nodes in different orders would
        // each hold one node's row and wait for the other's: lock every node the batch touches
        // first, in name order, so batches meet in one order and take turns instead.
        let mut touched: Vec<&str> = ops.iter().map(PubSubOp::node).collect();
        touched.sort_unstable();
        touched.dedup();
        sqlx::query("SELECT name FROM pubsub_nodes WHERE name = ANY($1) ORDER BY name FOR UPDATE")
            .bind(&touched)
            .fetch_all(&mut *tx)
            .await?;
        for op in ops {
            apply_op(&mut tx, op).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
