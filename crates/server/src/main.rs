//! The `herald` command: `serve` runs the server on the embedded defaults; `user` manages accounts
//! in the same store while the server runs or not.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use herald::{Config, Listeners, users};
use herald_store::Store;

#[derive(Parser)]
#[command(name = "herald", version, about = "Real-time notification platform for contact-center agent desktops")]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Common {
    /// TOML configuration file.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory (database, certificate, logs); overrides `data_dir`.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// XMPP domain; overrides `domain`.
    #[arg(long, global = true)]
    domain: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Manage agent accounts.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account.
    Add(PasswordArgs),
    /// Change an account's password.
    Passwd(PasswordArgs),
    /// Delete an account with its roster and offline messages.
    Del {
        /// The LoginID.
        login_id: String,
    },
    /// List accounts.
    List,
}

#[derive(Args)]
struct PasswordArgs {
    /// The LoginID (the localpart of the agent's JID).
    login_id: String,
    /// The password (visible in the process list; prefer --password-stdin).
    #[arg(long, conflicts_with = "password_stdin", required_unless_present = "password_stdin")]
    password: Option<String>,
    /// Read the password from standard input (one line).
    #[arg(long)]
    password_stdin: bool,
}

impl PasswordArgs {
    fn password(&self) -> anyhow::Result<String> {
        if let Some(p) = &self.password {
            return Ok(p.clone());
        }
        let mut input = String::new();
        std::io::stdin().read_to_string(&mut input).context("reading the password from standard input")?;
        let line = input.lines().next().unwrap_or_default().to_owned();
        if line.is_empty() {
            bail!("no password on standard input");
        }
        Ok(line)
    }
}

fn load_config(common: &Common) -> anyhow::Result<Config> {
    let mut config = Config::load(common.config.as_deref())?;
    if let Some(dir) = &common.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(domain) = &common.domain {
        config.domain = domain.to_ascii_lowercase();
    }
    Ok(config)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = load_config(&cli.common)?;
    match cli.command {
        Command::Serve => {
            herald_observe::init(&config.data_dir.join("logs"), config.log.debug)?;
            let listeners = Listeners::bind(&config).await?;
            let store = herald::open_store(&config).await?;
            tracing::info!(target: "notification", c2s = %config.listen.c2s, data_dir = %config.data_dir.display(), "starting Herald for {}", config.domain);
            herald::run(listeners, config, store, shutdown_signal()).await
        }
        Command::User(cmd) => {
            let store = herald::open_store(&config).await?;
            match cmd {
                UserCommand::Add(args) => {
                    let name = users::add(&store, &config.domain, &args.login_id, &args.password()?).await?;
                    println!("created {name}@{}", config.domain);
                }
                UserCommand::Passwd(args) => {
                    users::passwd(&store, &config.domain, &args.login_id, &args.password()?).await?;
                    println!("password changed for {}", args.login_id);
                }
                UserCommand::Del { login_id } => {
                    let name = users::normalise_login_id(&login_id, &config.domain)?;
                    if !store.delete_user(&name).await? {
                        bail!("no such user: {name}");
                    }
                    println!("deleted {name}");
                }
                UserCommand::List => {
                    for name in store.list_users().await? {
                        println!("{name}");
                    }
                }
            }
            Ok(())
        }
    }
}
