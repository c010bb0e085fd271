//! Account administration shared by the `herald user` commands and the test kit: LoginIDs are
//! checked as JID localparts, passwords become SCRAM credentials with fresh random salts.

use anyhow::{Context, bail};
use herald_sasl::Credentials;
use herald_store::{AccountStore, StoredCredential};

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
