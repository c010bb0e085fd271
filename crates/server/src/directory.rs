//! Between the store and the contact center: [`load`] builds herald-cc's [`Directory`] from
//! the stored users, teams, queues and reason codes (a stored value the contact center cannot
//! understand is an error naming the record and the value, never a guess), and [`stored_user`]
//! turns a [`UserRecord`] back into the stored form (`herald user add`).

use anyhow::{Context, anyhow};
use herald_cc::{Directory, QueueRecord, ReasonCategory, ReasonCodeRecord, Role, TeamRecord, UserRecord, WrapUpMode};
use herald_store::{ContactCenterStore, StoredCcUser, StoredQueue, StoredReasonCode, StoredTeam};

/// The role as stored.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Agent => "agent",
        Role::Supervisor => "supervisor",
    }
}

/// Parses [`role_name`].
pub fn parse_role(name: &str) -> Option<Role> {
    match name {
        "agent" => Some(Role::Agent),
        "supervisor" => Some(Role::Supervisor),
        _ => None,
    }
}

/// The stored form of a user.
pub fn stored_user(user: &UserRecord) -> StoredCcUser {
    StoredCcUser {
        login_id: user.login_id.clone(),
        login_name: user.login_name.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        extension: user.extension.clone(),
        role: role_name(user.role).into(),
        team_id: user.team_id.clone(),
        supervised_teams: user.supervised_teams.clone(),
        wrap_up_incoming: user.wrap_up_incoming.name().into(),
        wrap_up_outgoing: user.wrap_up_outgoing.name().into(),
    }
}

/// The stored form of a team.
pub fn stored_team(team: &TeamRecord) -> StoredTeam {
    StoredTeam { id: team.id.clone(), name: team.name.clone() }
}

/// The stored form of a queue.
pub fn stored_queue(queue: &QueueRecord) -> StoredQueue {
    StoredQueue { id: queue.id.clone(), name: queue.name.clone(), teams: queue.teams.clone() }
}

/// The stored form of a reason code.
pub fn stored_reason_code(code: &ReasonCodeRecord) -> StoredReasonCode {
    StoredReasonCode {
        id: code.id,
        category: code.category.name().into(),
        code: code.code,
        label: code.label.clone(),
        for_all: code.for_all,
        system: code.system,
    }
}

/// A stored user as the contact center's record; an unknown role or wrap-up mode is an error
/// naming the user and the value.
pub fn user_record(user: &StoredCcUser) -> anyhow::Result<UserRecord> {
    let login = &user.login_id;
    let wrap_up = |field: &str, value: &str| {
        WrapUpMode::parse(value).ok_or_else(|| anyhow!("contact-center user {login}: {field} {value:?} is not a wrap-up mode"))
    };
    Ok(UserRecord {
        login_id: login.clone(),
        login_name: user.login_name.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        extension: user.extension.clone(),
        role: parse_role(&user.role)
            .ok_or_else(|| anyhow!("contact-center user {login}: role {:?} is not agent or supervisor", user.role))?,
        team_id: user.team_id.clone(),
        supervised_teams: user.supervised_teams.clone(),
        wrap_up_incoming: wrap_up("wrap_up_incoming", &user.wrap_up_incoming)?,
        wrap_up_outgoing: wrap_up("wrap_up_outgoing", &user.wrap_up_outgoing)?,
    })
}

/// A stored reason code as the contact center's record; an unknown category or a code of 0 is
/// an error naming the reason code.
pub fn reason_code_record(code: &StoredReasonCode) -> anyhow::Result<ReasonCodeRecord> {
    let category = ReasonCategory::parse(&code.category)
        .ok_or_else(|| anyhow!("reason code {}: category {:?} is not NOT_READY or LOGOUT", code.id, code.category))?;
    if code.code == 0 {
        return Err(anyhow!("reason code {}: code 0 is not in 1–65535", code.id));
    }
    Ok(ReasonCodeRecord { id: code.id, category, code: code.code, label: code.label.clone(), for_all: code.for_all, system: code.system })
}

/// The contact center's directory, read from the store.
pub async fn load<S: ContactCenterStore>(store: &S) -> anyhow::Result<Directory> {
    let mut directory = Directory::default();
    for team in store.cc_teams().await.context("reading the teams")? {
        directory.put_team(TeamRecord { id: team.id, name: team.name });
    }
    for queue in store.cc_queues().await.context("reading the queues")? {
        directory.put_queue(QueueRecord { id: queue.id, name: queue.name, teams: queue.teams });
    }
    for code in store.cc_reason_codes().await.context("reading the reason codes")? {
        directory.put_reason_code(reason_code_record(&code)?);
    }
    for user in store.cc_users().await.context("reading the contact-center users")? {
        directory.put_user(user_record(&user)?);
    }
    Ok(directory)
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_store::{AccountStore, MemoryStore};

    fn agent() -> StoredCcUser {
        StoredCcUser {
            login_id: "1001".into(),
            login_name: "1001".into(),
            first_name: "Ana".into(),
            last_name: "Lima".into(),
            extension: Some("1001".into()),
            role: "supervisor".into(),
            team_id: Some("1".into()),
            supervised_teams: vec!["1".into(), "2".into()],
            wrap_up_incoming: "REQUIRED".into(),
            wrap_up_outgoing: "NOT_ALLOWED".into(),
        }
    }

    #[tokio::test]
    async fn the_stored_configuration_becomes_the_directory() {
        let store = MemoryStore::new();
        store.create_user("1001", &[]).await.unwrap();
        store.cc_put_user(&agent()).await.unwrap();
        store.cc_put_team(&StoredTeam { id: "1".into(), name: "Sales".into() }).await.unwrap();
        store.cc_put_queue(&StoredQueue { id: "100".into(), name: "Sales".into(), teams: vec!["1".into()] }).await.unwrap();
        let reason =
            StoredReasonCode { id: 3, category: "NOT_READY".into(), code: 10, label: "Lunch".into(), for_all: true, system: false };
        store.cc_put_reason_code(&reason).await.unwrap();
        let d = load(&store).await.unwrap();
        let user = d.user_or_extension("1001").unwrap();
        assert_eq!((user.role, user.wrap_up_incoming), (Role::Supervisor, WrapUpMode::Required));
        assert_eq!(d.team_supervisors("2").count(), 1);
        assert_eq!(d.team("1").unwrap().name, "Sales");
        assert_eq!(d.user_queues(user).count(), 1);
        assert_eq!(d.reason_code_by_code(ReasonCategory::NotReady, 10).unwrap().label, "Lunch");
        // And back.
        assert_eq!(stored_user(user), agent());
        assert_eq!(stored_reason_code(d.reason_code(3).unwrap()), reason);
        assert_eq!(stored_team(d.team("1").unwrap()), StoredTeam { id: "1".into(), name: "Sales".into() });
        assert_eq!(stored_queue(d.queue("100").unwrap()).teams, ["1"]);
    }

    #[tokio::test]
    async fn corrupt_values_are_errors_naming_them() {
        let store = MemoryStore::new();
        store.create_user("1001", &[]).await.unwrap();
        store.cc_put_user(&StoredCcUser { role: "boss".into(), ..agent() }).await.unwrap();
        let err = load(&store).await.unwrap_err().to_string();
        assert!(err.contains("1001") && err.contains("boss"), "{err}");
        store.cc_put_user(&StoredCcUser { wrap_up_outgoing: "SOMETIMES".into(), ..agent() }).await.unwrap();
        let err = load(&store).await.unwrap_err().to_string();
        assert!(err.contains("wrap_up_outgoing") && err.contains("SOMETIMES"), "{err}");
        store.cc_put_user(&agent()).await.unwrap();
        let bad = StoredReasonCode { id: 9, category: "BREAK".into(), code: 1, label: "x".into(), for_all: true, system: false };
        store.cc_put_reason_code(&bad).await.unwrap();
        let err = load(&store).await.unwrap_err().to_string();
        assert!(err.contains("reason code 9") && err.contains("BREAK"), "{err}");
        store.cc_put_reason_code(&StoredReasonCode { category: "LOGOUT".into(), code: 0, ..bad }).await.unwrap();
        let err = load(&store).await.unwrap_err().to_string();
        assert!(err.contains("code 0"), "{err}");
    }
}
