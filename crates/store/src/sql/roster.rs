//! Rosters (`roster`): the same statements on both SQL backends.

use sqlx::Pool;

use super::{Affected as _, Binds, Columns as _, Sql, SqlStore, no_such_user, rows};
use crate::{RosterItem, RosterStore, StoreError};

/// Inserts or replaces one roster item on `connection` (a pooled connection or a transaction of
/// many items); an owner with no account is [`StoreError::NoSuchUser`].
pub(crate) async fn write_roster_item<DB: Sql>(connection: &mut DB::Connection, owner: &str, item: &RosterItem) -> Result<(), StoreError> {
    let query = sqlx::query(
        "INSERT INTO roster (owner, contact, name, subscription, ask_out, pending_in, visible, groups) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (owner, contact) DO UPDATE SET name = excluded.name, subscription = excluded.subscription,
         ask_out = excluded.ask_out, pending_in = excluded.pending_in, visible = excluded.visible, groups = excluded.groups",
    )
    .text(owner)
    .text(&item.contact)
    .opt_text(item.name.as_deref())
    .text(item.subscription.as_str())
    .flag(item.ask_out)
    .flag(item.pending_in)
    .flag(item.visible)
    .text(&item.groups.join("\n"));
    DB::execute(connection, query).await.map_err(no_such_user(owner))?;
    Ok(())
}

/// [`crate::RosterStore::roster`].
pub(crate) async fn roster<DB: Sql>(pool: &Pool<DB>, owner: &str) -> Result<Vec<RosterItem>, StoreError> {
    let query = sqlx::query("SELECT * FROM roster WHERE owner = $1 ORDER BY contact").text(owner);
    let rows = DB::fetch_all(&mut *pool.acquire().await?, query).await?;
    rows.iter().map(rows::roster_item).collect()
}

/// [`crate::RosterStore::roster_item`].
pub(crate) async fn roster_item<DB: Sql>(pool: &Pool<DB>, owner: &str, contact: &str) -> Result<Option<RosterItem>, StoreError> {
    let query = sqlx::query("SELECT * FROM roster WHERE owner = $1 AND contact = $2").text(owner).text(contact);
    let row = DB::fetch_optional(&mut *pool.acquire().await?, query).await?;
    row.as_ref().map(rows::roster_item).transpose()
}

/// [`crate::RosterStore::put_roster_item`].
pub(crate) async fn put_roster_item<DB: Sql>(pool: &Pool<DB>, owner: &str, item: &RosterItem) -> Result<(), StoreError> {
    write_roster_item::<DB>(&mut *pool.acquire().await?, owner, item).await
}

/// [`crate::RosterStore::delete_roster_item`].
pub(crate) async fn delete_roster_item<DB: Sql>(pool: &Pool<DB>, owner: &str, contact: &str) -> Result<bool, StoreError> {
    let query = sqlx::query("DELETE FROM roster WHERE owner = $1 AND contact = $2").text(owner).text(contact);
    Ok(DB::execute(&mut *pool.acquire().await?, query).await?.rows_affected() > 0)
}

/// [`crate::RosterStore::roster_len`].
pub(crate) async fn roster_len<DB: Sql>(pool: &Pool<DB>, owner: &str) -> Result<u64, StoreError> {
    let query = sqlx::query("SELECT COUNT(*) AS items FROM roster WHERE owner = $1").text(owner);
    let row = DB::fetch_optional(&mut *pool.acquire().await?, query).await?.ok_or(sqlx::Error::RowNotFound)?;
    row.count("roster", "items")
}

/// Rosters, the same on both backends.
impl<S: SqlStore> RosterStore for S {
    async fn roster(&self, owner: &str) -> Result<Vec<RosterItem>, StoreError> {
        roster(self.pool(), owner).await
    }
    async fn roster_item(&self, owner: &str, contact: &str) -> Result<Option<RosterItem>, StoreError> {
        roster_item(self.pool(), owner, contact).await
    }
    async fn put_roster_item(&self, owner: &str, item: &RosterItem) -> Result<(), StoreError> {
        put_roster_item(self.pool(), owner, item).await
    }
    async fn delete_roster_item(&self, owner: &str, contact: &str) -> Result<bool, StoreError> {
        delete_roster_item(self.pool(), owner, contact).await
    }
    async fn roster_len(&self, owner: &str) -> Result<u64, StoreError> {
        roster_len(self.pool(), owner).await
    }
}
