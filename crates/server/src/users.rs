//! Account administration shared by the `herald user` commands, the scenario file and the test
//! kit: LoginIDs are checked as JID localparts, passwords become SCRAM credentials with fresh
//! random salts, and `herald user add` makes the account a contact-center user ([`add_agent`]).

use anyhow::{Context, bail};
use herald_cc::{Role, UserRecord};
use herald_sasl::Credentials;
use herald_store::{AccountStore, ContactCenterStore, StoredCredential, StoredTeam};

/// Validates a LoginID as the localpart of a JID on `domain` and returns its normalised form.
pub fn normalise_login_id(login_id: &str, domain: &str) -> anyhow::Result<String> {
    let jid =
        herald_proto::BareJid::new(&format!("{login_id}@{domain}")).with_context(|| format!("{login_id:?} is not a valid LoginID"))?;
    match jid.node() {
        Some(node) => Ok(node.to_string()),
        None => bail!("{login_id:?} is not a valid LoginID"),
    }
}

/// SCRAM-SHA-1 and SCRAM-SHA-256 credentials for `password`, ready to store.
pub fn credentials_for(password: &str) -> anyhow::Result<Vec<StoredCredential>> {
    if password.is_empty() {
        bail!("the password must not be empty");
    }
    let salts: [[u8; 16]; 2] = [rand::random(), rand::random()];
    let creds = Credentials::derive(password, [&salts[0], &salts[1]], Credentials::DEFAULT_ITERATIONS)
        .context("the password contains characters SASLprep forbids")?;
    Ok(herald_core::stored_credentials(creds))
}

/// Creates an account.
pub async fn add<S: AccountStore>(store: &S, domain: &str, login_id: &str, password: &str) -> anyhow::Result<String> {
    let name = normalise_login_id(login_id, domain)?;
    store.create_user(&name, &credentials_for(password)?).await?;
    Ok(name)
}

/// Changes an account's password.
pub async fn passwd<S: AccountStore>(store: &S, domain: &str, login_id: &str, password: &str) -> anyhow::Result<()> {
    let name = normalise_login_id(login_id, domain)?;
    store.set_credentials(&name, &credentials_for(password)?).await?;
    Ok(())
}

/// Creates accounts `<prefix><n>` for n in 0..count, each with its own salts (the PBKDF2 work is
/// spread over the machine's cores). Existing accounts are left as they are. Returns how many
/// were created.
pub async fn add_range<S: AccountStore>(store: &S, domain: &str, prefix: &str, count: usize, password: &str) -> anyhow::Result<usize> {
    let mut created = 0;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    for chunk_start in (0..count).step_by(256) {
        let names: Vec<String> = (chunk_start..(chunk_start + 256).min(count)).map(|n| format!("{prefix}{n}")).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for part in names.chunks(names.len().div_ceil(workers).max(1)) {
            let (part, password) = (part.to_vec(), password.to_owned());
            tasks
                .spawn_blocking(move || part.into_iter().map(|n| Ok((n, credentials_for(&password)?))).collect::<anyhow::Result<Vec<_>>>());
        }
        while let Some(done) = tasks.join_next().await {
            for (name, creds) in done?? {
                let name = normalise_login_id(&name, domain)?;
                match store.create_user(&name, &creds).await {
                    Ok(()) => created += 1,
                    Err(herald_store::StoreError::UserExists(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(created)
}

/// Credentials for many `(login, password)` pairs, the PBKDF2 work spread over the machine's
/// cores (each account gets its own salts). The order is kept.
pub async fn derive_credentials(accounts: Vec<(String, String)>) -> anyhow::Result<Vec<(String, Vec<StoredCredential>)>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per_worker = accounts.len().div_ceil(workers).max(1);
    let mut tasks = Vec::new();
    let mut rest = accounts;
    while !rest.is_empty() {
        let tail = rest.split_off(per_worker.min(rest.len()));
        let part = std::mem::replace(&mut rest, tail);
        tasks.push(tokio::task::spawn_blocking(move || {
            part.into_iter()
                .map(|(name, password)| {
                    let creds = credentials_for(&password).with_context(|| format!("the password of {name}"))?;
                    Ok((name, creds))
                })
                .collect::<anyhow::Result<Vec<_>>>()
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.context("deriving credentials")??);
    }
    Ok(all)
}

/// What `herald user add` says about the contact-center user besides its password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentOptions {
    /// Agent (default) or supervisor.
    pub role: Role,
    /// The user's team; created, named by its id, if no team has that id. A supervisor
    /// supervises it.
    pub team: Option<String>,
    /// The extension.
    pub extension: Option<String>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
}

impl Default for AgentOptions {
    /// A plain agent with no team, extension or names.
    fn default() -> Self {
        Self { role: Role::Agent, team: None, extension: None, first_name: String::new(), last_name: String::new() }
    }
}

/// Creates an account that is also a contact-center user (every user is an agent; a
/// supervisor too). A team named that does not exist yet is created with its id as its name.
/// `herald user add` then links it with the web-services user
/// ([`crate::webservices_user::link_user`]).
/// All or nothing: if the contact-center part fails, the new account is deleted again.
pub async fn add_agent<S: AccountStore + ContactCenterStore>(
    store: &S,
    domain: &str,
    login_id: &str,
    password: &str,
    options: &AgentOptions,
) -> anyhow::Result<String> {
    let name = normalise_login_id(login_id, domain)?;
    for (what, value) in [("--team", &options.team), ("--extension", &options.extension)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            bail!("{what} must not be empty");
        }
    }
    let credentials = credentials_for(password)?;
    store.create_user(&name, &credentials).await?;
    let mut record = UserRecord::agent(&name);
    record.first_name.clone_from(&options.first_name);
    record.last_name.clone_from(&options.last_name);
    record.extension.clone_from(&options.extension);
    record.role = options.role;
    record.team_id.clone_from(&options.team);
    if options.role == Role::Supervisor {
        record.supervised_teams = options.team.iter().cloned().collect();
    }
    let cc = async {
        if let Some(team) = &options.team
            && !store.cc_teams().await?.iter().any(|t| &t.id == team)
        {
            store.cc_put_team(&StoredTeam { id: team.clone(), name: team.clone() }).await?;
        }
        store.cc_put_user(&crate::directory::stored_user(&record)).await
    };
    if let Err(err) = cc.await {
        if let Err(undo) = store.delete_user(&name).await {
            tracing::error!(target: "notification", %undo, "cannot delete {name} after its contact-center user failed");
        }
        return Err(err).context("creating the contact-center user");
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_store::MemoryStore;

    #[tokio::test]
    async fn a_plain_add_is_an_agent_with_no_team() {
        let store = MemoryStore::new();
        let name = add_agent(&store, "example.com", "Agent7", "pw", &AgentOptions::default()).await.unwrap();
        assert_eq!(name, "agent7");
        assert!(store.credentials("agent7").await.unwrap().is_some());
        let users = store.cc_users().await.unwrap();
        assert_eq!(users.len(), 1);
        let user = crate::directory::user_record(&users[0]).unwrap();
        assert_eq!(user, UserRecord::agent("agent7"));
        assert!(store.cc_teams().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_supervisor_supervises_its_team_which_is_created_if_missing() {
        let store = MemoryStore::new();
        store.cc_put_team(&StoredTeam { id: "1".into(), name: "Sales".into() }).await.unwrap();
        let options = AgentOptions {
            role: Role::Supervisor,
            team: Some("9".into()),
            extension: Some("2009".into()),
            first_name: "Grace".into(),
            last_name: "Walker".into(),
        };
        add_agent(&store, "example.com", "2009", "pw", &options).await.unwrap();
        let teams = store.cc_teams().await.unwrap();
        assert_eq!(teams, [StoredTeam { id: "1".into(), name: "Sales".into() }, StoredTeam { id: "9".into(), name: "9".into() }]);
        let directory = crate::directory::load(&store).await.unwrap();
        let user = directory.user_or_extension("2009").unwrap();
        assert_eq!((user.role, user.team_id.as_deref(), user.first_name.as_str()), (Role::Supervisor, Some("9"), "Grace"));
        assert_eq!(user.supervised_teams, ["9"]);
        // An existing team keeps its name.
        let agent = AgentOptions { team: Some("1".into()), ..AgentOptions::default() };
        add_agent(&store, "example.com", "1001", "pw", &agent).await.unwrap();
        assert_eq!(store.cc_teams().await.unwrap()[0].name, "Sales");
    }

    #[tokio::test]
    async fn refusals_leave_nothing_behind() {
        let store = MemoryStore::new();
        add_agent(&store, "example.com", "1001", "pw", &AgentOptions::default()).await.unwrap();
        let err = add_agent(&store, "example.com", "1001", "pw", &AgentOptions::default()).await.unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        for options in [
            AgentOptions { team: Some(" ".into()), ..AgentOptions::default() },
            AgentOptions { extension: Some(String::new()), ..AgentOptions::default() },
        ] {
            let err = add_agent(&store, "example.com", "1002", "pw", &options).await.unwrap_err();
            assert!(err.to_string().contains("must not be empty"), "{err}");
        }
        assert!(add_agent(&store, "example.com", "a@b", "pw", &AgentOptions::default()).await.is_err());
        assert!(add_agent(&store, "example.com", "1003", "", &AgentOptions::default()).await.is_err());
        assert_eq!(store.list_users().await.unwrap(), ["1001"]);
        assert_eq!(store.cc_users().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn credentials_are_derived_in_order_with_their_own_salts() {
        let accounts: Vec<(String, String)> = (0..9).map(|n| (format!("u{n}"), "pw".to_owned())).collect();
        let derived = derive_credentials(accounts).await.unwrap();
        assert_eq!(derived.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"]);
        assert_ne!(derived[0].1[0].salt, derived[1].1[0].salt);
        assert!(derive_credentials(vec![("x".into(), String::new())]).await.unwrap_err().to_string().contains("x"));
        assert!(derive_credentials(Vec::new()).await.unwrap().is_empty());
    }
}
