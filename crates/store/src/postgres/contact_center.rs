//! Contact-center configuration in PostgreSQL (`cc_users` with `cc_supervision`, `cc_teams`,
//! `cc_queues` with `cc_queue_teams`, `cc_reason_codes`, `cc_meta`), and the bulk roster writes
//! that provision the web-services user (`roster`).

use std::collections::HashMap;

use sqlx::PgConnection;
use sqlx::postgres::PgRow;

use super::roster::{roster_item_from, write_roster_item};
use super::{PostgresStore, column, int_column, no_such_user};
use crate::{ContactCenterStore, RosterItem, StoreError, StoredCcUser, StoredCredential, StoredQueue, StoredReasonCode, StoredTeam};

const USERS: &str = "cc_users";
const REASONS: &str = "cc_reason_codes";

async fn write_user(tx: &mut PgConnection, u: &StoredCcUser) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cc_users (login_id, login_name, first_name, last_name, extension, role, team_id, wrap_up_incoming, wrap_up_outgoing)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (login_id) DO UPDATE SET login_name = excluded.login_name, first_name = excluded.first_name,
         last_name = excluded.last_name, extension = excluded.extension, role = excluded.role, team_id = excluded.team_id,
         wrap_up_incoming = excluded.wrap_up_incoming, wrap_up_outgoing = excluded.wrap_up_outgoing",
    )
    .bind(&u.login_id)
    .bind(&u.login_name)
    .bind(&u.first_name)
    .bind(&u.last_name)
    .bind(&u.extension)
    .bind(&u.role)
    .bind(&u.team_id)
    .bind(&u.wrap_up_incoming)
    .bind(&u.wrap_up_outgoing)
    .execute(&mut *tx)
    .await
    .map_err(no_such_user(&u.login_id))?;
    write_team_list(tx, &SUPERVISION, &u.login_id, &u.supervised_teams).await
}

/// A position-ordered list of team ids kept in a child table (`key`, `position`, `team_id`).
struct TeamList {
    /// Removes a key's list.
    delete: &'static str,
    /// Adds one entry: key, position, team id.
    insert: &'static str,
}

/// The teams a supervisor supervises.
const SUPERVISION: TeamList = TeamList {
    delete: "DELETE FROM cc_supervision WHERE login_id = $1",
    insert: "INSERT INTO cc_supervision (login_id, position, team_id) VALUES ($1, $2, $3)",
};

/// The teams that take a queue's calls.
const QUEUE_TEAMS: TeamList = TeamList {
    delete: "DELETE FROM cc_queue_teams WHERE queue_id = $1",
    insert: "INSERT INTO cc_queue_teams (queue_id, position, team_id) VALUES ($1, $2, $3)",
};

/// Replaces `key`'s list in `list`'s table with `teams`, keeping their order.
async fn write_team_list(tx: &mut PgConnection, list: &TeamList, key: &str, teams: &[String]) -> Result<(), StoreError> {
    sqlx::query(list.delete).bind(key).execute(&mut *tx).await?;
    for (position, team) in teams.iter().enumerate() {
        sqlx::query(list.insert).bind(key).bind(position as i64).bind(team).execute(&mut *tx).await?;
    }
    Ok(())
}

/// Rows `(key, value)` of a child list table, grouped by key in position order.
fn grouped(rows: &[PgRow], table: &'static str, key: &'static str) -> Result<HashMap<String, Vec<String>>, StoreError> {
    let mut lists: HashMap<String, Vec<String>> = HashMap::new();
    for row in rows {
        lists.entry(column(row, table, key)?).or_default().push(column(row, table, "team_id")?);
    }
    Ok(lists)
}

impl ContactCenterStore for PostgresStore {
    async fn cc_put_user(&self, user: &StoredCcUser) -> Result<(), StoreError> {
        self.cc_put_users(std::slice::from_ref(user)).await
    }

    async fn cc_put_users(&self, users: &[StoredCcUser]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for user in users {
            write_user(&mut tx, user).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn cc_create_accounts(&self, accounts: &[(String, Vec<StoredCredential>)]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut created = 0;
        for (name, credentials) in accounts {
            let inserted =
                sqlx::query("INSERT INTO users (username) VALUES ($1) ON CONFLICT DO NOTHING").bind(name).execute(&mut *tx).await?;
            if inserted.rows_affected() == 0 {
                continue;
            }
            created += 1;
            Self::write_credentials(&mut tx, name, credentials).await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn cc_users(&self) -> Result<Vec<StoredCcUser>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query("SELECT * FROM cc_users ORDER BY login_id").fetch_all(&mut *tx).await?;
        let supervision =
            sqlx::query("SELECT login_id, team_id FROM cc_supervision ORDER BY login_id, position").fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut supervised = grouped(&supervision, "cc_supervision", "login_id")?;
        let read = |r| {
            let login_id: String = column(r, USERS, "login_id")?;
            Ok(StoredCcUser {
                supervised_teams: supervised.remove(&login_id).unwrap_or_default(),
                login_name: column(r, USERS, "login_name")?,
                first_name: column(r, USERS, "first_name")?,
                last_name: column(r, USERS, "last_name")?,
                extension: column(r, USERS, "extension")?,
                role: column(r, USERS, "role")?,
                team_id: column(r, USERS, "team_id")?,
                wrap_up_incoming: column(r, USERS, "wrap_up_incoming")?,
                wrap_up_outgoing: column(r, USERS, "wrap_up_outgoing")?,
                login_id,
            })
        };
        rows.iter().map(read).collect()
    }

    async fn cc_put_team(&self, team: &StoredTeam) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO cc_teams (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name")
            .bind(&team.id)
            .bind(&team.name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn cc_teams(&self) -> Result<Vec<StoredTeam>, StoreError> {
        let rows = sqlx::query("SELECT id, name FROM cc_teams ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(StoredTeam { id: column(r, "cc_teams", "id")?, name: column(r, "cc_teams", "name")? })).collect()
    }

    async fn cc_put_queue(&self, queue: &StoredQueue) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO cc_queues (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name")
            .bind(&queue.id)
            .bind(&queue.name)
            .execute(&mut *tx)
            .await?;
        write_team_list(&mut tx, &QUEUE_TEAMS, &queue.id, &queue.teams).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn cc_queues(&self) -> Result<Vec<StoredQueue>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query("SELECT id, name FROM cc_queues ORDER BY id").fetch_all(&mut *tx).await?;
        let teams = sqlx::query("SELECT queue_id, team_id FROM cc_queue_teams ORDER BY queue_id, position").fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut teams = grouped(&teams, "cc_queue_teams", "queue_id")?;
        let read = |r| {
            let id: String = column(r, "cc_queues", "id")?;
            Ok(StoredQueue { teams: teams.remove(&id).unwrap_or_default(), name: column(r, "cc_queues", "name")?, id })
        };
        rows.iter().map(read).collect()
    }

    async fn cc_put_reason_code(&self, code: &StoredReasonCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cc_reason_codes (id, category, code, label, for_all, system) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET category = excluded.category, code = excluded.code, label = excluded.label,
             for_all = excluded.for_all, system = excluded.system",
        )
        .bind(i64::from(code.id))
        .bind(&code.category)
        .bind(i64::from(code.code))
        .bind(&code.label)
        .bind(code.for_all)
        .bind(code.system)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn cc_reason_codes(&self) -> Result<Vec<StoredReasonCode>, StoreError> {
        let rows = sqlx::query("SELECT * FROM cc_reason_codes ORDER BY id").fetch_all(&self.pool).await?;
        let read = |r| {
            Ok(StoredReasonCode {
                id: int_column(r, REASONS, "id")?,
                category: column(r, REASONS, "category")?,
                code: int_column(r, REASONS, "code")?,
                label: column(r, REASONS, "label")?,
                for_all: column(r, REASONS, "for_all")?,
                system: column(r, REASONS, "system")?,
            })
        };
        rows.iter().map(read).collect()
    }

    async fn cc_scenario_applied(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM cc_meta WHERE key = 'scenario_applied'").fetch_optional(&self.pool).await?;
        Ok(row.is_some())
    }

    async fn cc_mark_scenario_applied(&self) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO cc_meta (key, value) VALUES ('scenario_applied', '1') ON CONFLICT (key) DO NOTHING")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn cc_put_roster_items(&self, items: &[(String, RosterItem)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (owner, item) in items {
            write_roster_item(&mut tx, owner, item).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn cc_roster_items_naming(&self, contact: &str) -> Result<Vec<(String, RosterItem)>, StoreError> {
        let rows = sqlx::query("SELECT * FROM roster WHERE contact = $1 ORDER BY owner").bind(contact).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((column(r, "roster", "owner")?, roster_item_from(r)?))).collect()
    }
}
