//! Rosters in PostgreSQL (`roster`).

use sqlx::PgConnection;
use sqlx::postgres::PgRow;

use super::{PostgresStore, column, int_column, no_such_user};
use crate::{RosterItem, RosterStore, StoreError, Subscription};

const TABLE: &str = "roster";

/// The roster item of a `roster` row.
pub(super) fn roster_item_from(row: &PgRow) -> Result<RosterItem, StoreError> {
    let groups: String = column(row, TABLE, "groups")?;
    let subscription: &str = column(row, TABLE, "subscription")?;
    Ok(RosterItem {
        contact: column(row, TABLE, "contact")?,
        name: column(row, TABLE, "name")?,
        subscription: Subscription::from_name(subscription)
            .ok_or_else(|| StoreError::corrupt(TABLE, "subscription", format!("unknown state {subscription:?}")))?,
        ask_out: column(row, TABLE, "ask_out")?,
        pending_in: column(row, TABLE, "pending_in")?,
        visible: column(row, TABLE, "visible")?,
        groups: groups.split('\n').filter(|g| !g.is_empty()).map(str::to_owned).collect(),
    })
}

/// Inserts or replaces one roster item on `connection` (a pooled connection or a transaction of
/// many items); an owner with no account is [`StoreError::NoSuchUser`].
pub(super) async fn write_roster_item(connection: &mut PgConnection, owner: &str, item: &RosterItem) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO roster (owner, contact, name, subscription, ask_out, pending_in, visible, groups) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (owner, contact) DO UPDATE SET name = excluded.name, subscription = excluded.subscription,
         ask_out = excluded.ask_out, pending_in = excluded.pending_in, visible = excluded.visible, groups = excluded.groups",
    )
    .bind(owner)
    .bind(&item.contact)
    .bind(&item.name)
    .bind(item.subscription.as_str())
    .bind(item.ask_out)
    .bind(item.pending_in)
    .bind(item.visible)
    .bind(item.groups.join("\n"))
    .execute(&mut *connection)
    .await
    .map_err(no_such_user(owner))?;
    Ok(())
}

impl RosterStore for PostgresStore {
    async fn roster(&self, owner: &str) -> Result<Vec<RosterItem>, StoreError> {
        let rows = sqlx::query("SELECT * FROM roster WHERE owner = $1 ORDER BY contact").bind(owner).fetch_all(&self.pool).await?;
        rows.iter().map(roster_item_from).collect()
    }

    async fn roster_item(&self, owner: &str, contact: &str) -> Result<Option<RosterItem>, StoreError> {
        let row = sqlx::query("SELECT * FROM roster WHERE owner = $1 AND contact = $2")
            .bind(owner)
            .bind(contact)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(roster_item_from).transpose()
    }

    async fn put_roster_item(&self, owner: &str, item: &RosterItem) -> Result<(), StoreError> {
        let mut connection = self.pool.acquire().await?;
        write_roster_item(&mut connection, owner, item).await
    }

    async fn delete_roster_item(&self, owner: &str, contact: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("DELETE FROM roster WHERE owner = $1 AND contact = $2").bind(owner).bind(contact).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn roster_len(&self, owner: &str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS items FROM roster WHERE owner = $1").bind(owner).fetch_one(&self.pool).await?;
        int_column(&row, TABLE, "items")
    }
}
