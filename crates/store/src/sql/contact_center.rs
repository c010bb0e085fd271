//! The contact-center configuration (`cc_users` with `cc_supervision`, `cc_teams`, `cc_queues`
//! with `cc_queue_teams`, `cc_reason_codes`, `cc_meta`) and the bulk roster writes that
//! provision the web-services user: the same statements on both SQL backends.

use sqlx::Pool;

use super::accounts::{insert_user, write_credentials};
use super::roster::write_roster_item;
use super::{Binds, Sql, SqlStore, grouped, no_such_user, rows};
use crate::{ContactCenterStore, RosterItem, StoreError, StoredCcUser, StoredCredential, StoredQueue, StoredReasonCode, StoredTeam};

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
async fn write_team_list<DB: Sql>(tx: &mut DB::Connection, list: &TeamList, key: &str, teams: &[String]) -> Result<(), StoreError> {
    DB::execute(tx, sqlx::query(list.delete).text(key)).await?;
    for (position, team) in teams.iter().enumerate() {
        DB::execute(tx, sqlx::query(list.insert).text(key).int(position as i64).text(team)).await?;
    }
    Ok(())
}

async fn write_user<DB: Sql>(tx: &mut DB::Connection, u: &StoredCcUser) -> Result<(), StoreError> {
    let query = sqlx::query(
        "INSERT INTO cc_users (login_id, login_name, first_name, last_name, extension, role, team_id, wrap_up_incoming, wrap_up_outgoing)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (login_id) DO UPDATE SET login_name = excluded.login_name, first_name = excluded.first_name,
         last_name = excluded.last_name, extension = excluded.extension, role = excluded.role, team_id = excluded.team_id,
         wrap_up_incoming = excluded.wrap_up_incoming, wrap_up_outgoing = excluded.wrap_up_outgoing",
    )
    .text(&u.login_id)
    .text(&u.login_name)
    .text(&u.first_name)
    .text(&u.last_name)
    .opt_text(u.extension.as_deref())
    .text(&u.role)
    .opt_text(u.team_id.as_deref())
    .text(&u.wrap_up_incoming)
    .text(&u.wrap_up_outgoing);
    DB::execute(tx, query).await.map_err(no_such_user(&u.login_id))?;
    write_team_list::<DB>(tx, &SUPERVISION, &u.login_id, &u.supervised_teams).await
}

/// [`crate::ContactCenterStore::cc_put_users`]: all in one transaction.
pub(crate) async fn put_users<DB: Sql>(pool: &Pool<DB>, users: &[StoredCcUser]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for user in users {
        write_user::<DB>(&mut tx, user).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// [`crate::ContactCenterStore::cc_create_accounts`]: the accounts that do not exist yet, in
/// one transaction; how many were created.
pub(crate) async fn create_accounts<DB: Sql>(pool: &Pool<DB>, accounts: &[(String, Vec<StoredCredential>)]) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    let mut created = 0;
    for (name, credentials) in accounts {
        if !insert_user::<DB>(&mut tx, name).await? {
            continue;
        }
        created += 1;
        write_credentials::<DB>(&mut tx, name, credentials).await?;
    }
    tx.commit().await?;
    Ok(created)
}

/// [`crate::ContactCenterStore::cc_users`]: users and their supervised teams from one
/// transaction.
pub(crate) async fn users<DB: Sql>(pool: &Pool<DB>) -> Result<Vec<StoredCcUser>, StoreError> {
    let mut tx = pool.begin().await?;
    let rows = DB::fetch_all(&mut tx, sqlx::query("SELECT * FROM cc_users ORDER BY login_id")).await?;
    let supervision =
        DB::fetch_all(&mut tx, sqlx::query("SELECT login_id, team_id FROM cc_supervision ORDER BY login_id, position")).await?;
    tx.commit().await?;
    let mut supervised = grouped(&supervision, "cc_supervision", "login_id")?;
    rows.iter().map(|r| rows::cc_user(r, &mut supervised)).collect()
}

/// [`crate::ContactCenterStore::cc_put_team`].
pub(crate) async fn put_team<DB: Sql>(pool: &Pool<DB>, team: &StoredTeam) -> Result<(), StoreError> {
    let query = sqlx::query("INSERT INTO cc_teams (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name");
    DB::execute(&mut *pool.acquire().await?, query.text(&team.id).text(&team.name)).await?;
    Ok(())
}

/// [`crate::ContactCenterStore::cc_teams`].
pub(crate) async fn teams<DB: Sql>(pool: &Pool<DB>) -> Result<Vec<StoredTeam>, StoreError> {
    let rows = DB::fetch_all(&mut *pool.acquire().await?, sqlx::query("SELECT id, name FROM cc_teams ORDER BY id")).await?;
    rows.iter().map(rows::team).collect()
}

/// [`crate::ContactCenterStore::cc_put_queue`]: the queue and its teams in one transaction.
pub(crate) async fn put_queue<DB: Sql>(pool: &Pool<DB>, queue: &StoredQueue) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let query = sqlx::query("INSERT INTO cc_queues (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name");
    DB::execute(&mut tx, query.text(&queue.id).text(&queue.name)).await?;
    write_team_list::<DB>(&mut tx, &QUEUE_TEAMS, &queue.id, &queue.teams).await?;
    tx.commit().await?;
    Ok(())
}

/// [`crate::ContactCenterStore::cc_queues`]: queues and their teams from one transaction.
pub(crate) async fn queues<DB: Sql>(pool: &Pool<DB>) -> Result<Vec<StoredQueue>, StoreError> {
    let mut tx = pool.begin().await?;
    let rows = DB::fetch_all(&mut tx, sqlx::query("SELECT id, name FROM cc_queues ORDER BY id")).await?;
    let teams = DB::fetch_all(&mut tx, sqlx::query("SELECT queue_id, team_id FROM cc_queue_teams ORDER BY queue_id, position")).await?;
    tx.commit().await?;
    let mut teams = grouped(&teams, "cc_queue_teams", "queue_id")?;
    rows.iter().map(|r| rows::queue(r, &mut teams)).collect()
}

/// [`crate::ContactCenterStore::cc_put_reason_code`].
pub(crate) async fn put_reason_code<DB: Sql>(pool: &Pool<DB>, code: &StoredReasonCode) -> Result<(), StoreError> {
    let query = sqlx::query(
        "INSERT INTO cc_reason_codes (id, category, code, label, for_all, system) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET category = excluded.category, code = excluded.code, label = excluded.label,
         for_all = excluded.for_all, system = excluded.system",
    )
    .int(i64::from(code.id))
    .text(&code.category)
    .int(i64::from(code.code))
    .text(&code.label)
    .flag(code.for_all)
    .flag(code.system);
    DB::execute(&mut *pool.acquire().await?, query).await?;
    Ok(())
}

/// [`crate::ContactCenterStore::cc_reason_codes`].
pub(crate) async fn reason_codes<DB: Sql>(pool: &Pool<DB>) -> Result<Vec<StoredReasonCode>, StoreError> {
    let rows = DB::fetch_all(&mut *pool.acquire().await?, sqlx::query("SELECT * FROM cc_reason_codes ORDER BY id")).await?;
    rows.iter().map(rows::reason_code).collect()
}

/// [`crate::ContactCenterStore::cc_scenario_applied`].
pub(crate) async fn scenario_applied<DB: Sql>(pool: &Pool<DB>) -> Result<bool, StoreError> {
    let query = sqlx::query("SELECT 1 FROM cc_meta WHERE key = 'scenario_applied'");
    Ok(DB::fetch_optional(&mut *pool.acquire().await?, query).await?.is_some())
}

/// [`crate::ContactCenterStore::cc_mark_scenario_applied`].
pub(crate) async fn mark_scenario_applied<DB: Sql>(pool: &Pool<DB>) -> Result<(), StoreError> {
    let query = sqlx::query("INSERT INTO cc_meta (key, value) VALUES ('scenario_applied', '1') ON CONFLICT (key) DO NOTHING");
    DB::execute(&mut *pool.acquire().await?, query).await?;
    Ok(())
}

/// [`crate::ContactCenterStore::cc_put_roster_items`]: all in one transaction.
pub(crate) async fn put_roster_items<DB: Sql>(pool: &Pool<DB>, items: &[(String, RosterItem)]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for (owner, item) in items {
        write_roster_item::<DB>(&mut tx, owner, item).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// [`crate::ContactCenterStore::cc_roster_items_naming`].
pub(crate) async fn roster_items_naming<DB: Sql>(pool: &Pool<DB>, contact: &str) -> Result<Vec<(String, RosterItem)>, StoreError> {
    let query = sqlx::query("SELECT * FROM roster WHERE contact = $1 ORDER BY owner").text(contact);
    let rows = DB::fetch_all(&mut *pool.acquire().await?, query).await?;
    rows.iter().map(rows::owned_roster_item).collect()
}

/// The contact center, the same on both backends.
impl<S: SqlStore> ContactCenterStore for S {
    async fn cc_put_user(&self, user: &StoredCcUser) -> Result<(), StoreError> {
        put_users(self.pool(), std::slice::from_ref(user)).await
    }
    async fn cc_put_users(&self, users: &[StoredCcUser]) -> Result<(), StoreError> {
        put_users(self.pool(), users).await
    }
    async fn cc_create_accounts(&self, accounts: &[(String, Vec<StoredCredential>)]) -> Result<u64, StoreError> {
        create_accounts(self.pool(), accounts).await
    }
    async fn cc_users(&self) -> Result<Vec<StoredCcUser>, StoreError> {
        users(self.pool()).await
    }
    async fn cc_put_team(&self, team: &StoredTeam) -> Result<(), StoreError> {
        put_team(self.pool(), team).await
    }
    async fn cc_teams(&self) -> Result<Vec<StoredTeam>, StoreError> {
        teams(self.pool()).await
    }
    async fn cc_put_queue(&self, queue: &StoredQueue) -> Result<(), StoreError> {
        put_queue(self.pool(), queue).await
    }
    async fn cc_queues(&self) -> Result<Vec<StoredQueue>, StoreError> {
        queues(self.pool()).await
    }
    async fn cc_put_reason_code(&self, code: &StoredReasonCode) -> Result<(), StoreError> {
        put_reason_code(self.pool(), code).await
    }
    async fn cc_reason_codes(&self) -> Result<Vec<StoredReasonCode>, StoreError> {
        reason_codes(self.pool()).await
    }
    async fn cc_scenario_applied(&self) -> Result<bool, StoreError> {
        scenario_applied(self.pool()).await
    }
    async fn cc_mark_scenario_applied(&self) -> Result<(), StoreError> {
        mark_scenario_applied(self.pool()).await
    }
    async fn cc_put_roster_items(&self, items: &[(String, RosterItem)]) -> Result<(), StoreError> {
        put_roster_items(self.pool(), items).await
    }
    async fn cc_roster_items_naming(&self, contact: &str) -> Result<Vec<(String, RosterItem)>, StoreError> {
        roster_items_naming(self.pool(), contact).await
    }
}
