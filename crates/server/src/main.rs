//! The `herald` command: `serve` runs the server on the embedded defaults; `user` manages accounts
//! in the same store while the server runs or not.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use herald::{Config, Listeners, users};
use herald_store::AccountStore;

/// mimalloc instead of glibc's malloc: under a cluster's replication traffic (batches decoded,
/// payloads parsed and freed on the async workers) glibc kept creating and unmapping its
/// per-thread heaps — a third of a desktop node's CPU went to mmap, munmap and page faults.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Generate load against an XMPP server (Herald or a peer) on this machine.
    Load(Box<LoadArgs>),
    /// Drive the built-in CTI simulator of a running server.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Administer a running server through its admin API (address from the configuration,
    /// token from `<data_dir>/admin.token`).
    #[command(subcommand)]
    Ctl(CtlCommand),
    /// Name the cause of agent disconnects from the close records, the logs and the live
    /// services (offline, from the data directory, when the server does not answer).
    Doctor {
        /// Only this agent's disconnects (login id).
        #[arg(long)]
        user: Option<String>,
        /// Only what happened since this time: an age (`90s`, `30m`, `2h`, `1d`) or epoch seconds.
        #[arg(long, value_parser = parse_since)]
        since: Option<u64>,
        /// The diagnosis as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CtlCommand {
    /// Every service with its address, the CTI link, sessions per transport.
    Status,
    /// The bound sessions with their counters.
    Sessions {
        /// Only this account's sessions.
        #[arg(long)]
        user: Option<String>,
    },
    /// Debug logging: `enable` (it costs; say `disable` when done), `disable`, `status`.
    Logging {
        #[arg(value_enum)]
        action: LoggingAction,
    },
    /// End one session (its close record says `kicked`).
    Kick {
        /// The session's full JID, `user@domain/resource`.
        jid: String,
    },
    /// Download the log bundle (logs, client logs, close records, status, configuration without
    /// secrets) as a `.tar.gz`.
    CollectLogs {
        /// Only files modified and records closed since this time: an age (`90s`, `30m`, `2h`,
        /// `1d`) or epoch seconds.
        #[arg(long, value_parser = parse_since)]
        since: Option<u64>,
        /// Where to write the bundle.
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LoggingAction {
    Enable,
    Disable,
    Status,
}

#[derive(Subcommand)]
enum SimCommand {
    /// Inject a call into a queue; it is routed to the READY agent who has waited longest.
    Call {
        /// The queue's id (scenario `queues[].id`).
        #[arg(long)]
        queue: String,
        /// The caller's number (ANI); made up when absent.
        #[arg(long)]
        from: Option<String>,
        /// A call variable, `name=value` (repeatable): `callVariable1=Chuck Smith`, `user.account=42`.
        #[arg(long = "var", value_parser = parse_variable)]
        variables: Vec<(String, String)>,
    },
    /// Drop or restore the simulator's link to the web services (CTI failover, issue 12).
    Link {
        /// `down`: heartbeats and events stop while the ACD goes on; `up`: a snapshot of the
        /// CTI side's state, then heartbeats again.
        #[arg(value_enum)]
        state: LinkState,
        /// With `down`: the adapter also reports the connection closed, so the web services
        /// go out of service at once instead of after missed heartbeats.
        #[arg(long)]
        closed: bool,
    },
}

/// `herald sim link`'s states.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LinkState {
    /// Drop the link.
    Down,
    /// Restore it.
    Up,
}

/// `name=value`.
fn parse_variable(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("{s:?} is not name=value")),
    }
}

#[derive(Args)]
struct LoadArgs {
    /// `bosh` (plain HTTP), `websocket` (plain HTTP) or `tcp` (STARTTLS).
    #[arg(long, default_value = "bosh")]
    transport: String,
    /// `idle`, `login-storm`, `fanout`, `soak` (BOSH only), `http-baseline` or `agents`
    /// (contact-center desktops: BOSH or WebSocket plus REST state changes).
    #[arg(long, default_value = "idle")]
    scenario: String,
    /// Sessions, one account each (`<user-prefix><n>`).
    #[arg(long, default_value_t = 100)]
    sessions: usize,
    /// Server address (loopback only).
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// XMPP domain of the accounts (default: the configured domain).
    #[arg(long = "target-domain")]
    target_domain: Option<String>,
    /// Port of BOSH over plain HTTP.
    #[arg(long, default_value_t = 7070)]
    http_port: u16,
    /// BOSH path.
    #[arg(long, default_value = "/http-bind/")]
    bosh_path: String,
    /// WebSocket path.
    #[arg(long, default_value = "/ws/")]
    ws_path: String,
    /// Port of XMPP over TCP.
    #[arg(long, default_value_t = 5222)]
    c2s_port: u16,
    /// PEM certificate to trust for STARTTLS (and HTTPS).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// BOSH over HTTPS on --http-port (Herald's https listener, 7443 by default), trusting --ca.
    #[arg(long)]
    https: bool,
    /// Account name prefix.
    #[arg(long, default_value = "load")]
    user_prefix: String,
    /// Password of every account.
    #[arg(long)]
    password: String,
    /// `scram-sha-1` or `scram-sha-256`.
    #[arg(long, default_value = "scram-sha-1")]
    mechanism: String,
    /// New logins per second (0: as fast as the server takes them).
    #[arg(long, default_value_t = 0.0)]
    ramp: f64,
    /// Most logins in progress at once.
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// BOSH wait asked for, seconds.
    #[arg(long, default_value_t = 30)]
    wait: u32,
    /// How long idle sessions stay after the last login (fanout: how long to publish), seconds.
    #[arg(long, default_value_t = 10)]
    hold_secs: u64,
    /// Fanout: pubsub nodes (session n subscribes to node n % nodes).
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Fanout: publishes per second.
    #[arg(long, default_value_t = 100.0)]
    publish_rate: f64,
    /// Fanout: the publisher's account (it creates the nodes).
    #[arg(long, default_value = "loadpub")]
    publisher: String,
    /// Fanout: the pubsub service (default `pubsub.<domain>`).
    #[arg(long)]
    pubsub_service: Option<String>,
    /// The server's process id, to measure its memory and CPU.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Upper bound on the run, seconds.
    #[arg(long, default_value_t = 600)]
    deadline_secs: u64,
    /// Write the report as JSON here too.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Soak: mean time a session stays logged in, seconds (each stay: half to 1.5 times this).
    #[arg(long, default_value_t = 60.0)]
    life_secs: f64,
    /// Soak: share of departures that are kills (connection dropped without terminate).
    #[arg(long, default_value_t = 0.5)]
    kill_ratio: f64,
    /// Soak: mean pause before a session that left logs in again, seconds.
    #[arg(long, default_value_t = 2.0)]
    pause_secs: f64,
    /// Soak: mean interval between two messages a session sends, seconds.
    #[arg(long, default_value_t = 30.0)]
    message_every_secs: f64,
    /// Soak: longest wait, after every client stopped, for the server to end their sessions, seconds.
    #[arg(long, default_value_t = 150)]
    drain_secs: u64,
    /// Soak: Herald's info.log, to count the sessions still live at the end from its lines.
    #[arg(long)]
    server_log: Option<PathBuf>,
    /// Agents: port of the REST web services (HTTPS trusting --ca when given, plain HTTP otherwise).
    #[arg(long, default_value_t = 8445)]
    api_port: u16,
    /// Agents: state changes per second, all agents together.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Agents: how long state changes go on, seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Agents: the NOT_READY reason code's id (none: NOT_READY without a reason).
    #[arg(long)]
    reason_code_id: Option<u32>,
    /// Agents: most REST connections open at once.
    #[arg(long, default_value_t = 64)]
    rest_connections: usize,
    /// Agents: skip the bare pubsub publish baseline (publisher --publisher).
    #[arg(long)]
    no_baseline: bool,
    /// Agents: BOSH ports of the nodes a desktop whose session dies reconnects to (comma-separated;
    /// the failover benchmark): it logs in there and catches up on its User node's history.
    #[arg(long, value_delimiter = ',')]
    failover_ports: Vec<u16>,
    /// Agents: the baseline's subscriber account (default: the first agent, on a second resource).
    #[arg(long)]
    baseline_subscriber: Option<String>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account, also a contact-center user (an agent unless --role supervisor).
    Add(AddArgs),
    /// Change an account's password.
    Passwd(PasswordArgs),
    /// Delete an account with its roster and offline messages.
    Del {
        /// The LoginID.
        login_id: String,
    },
    /// List accounts.
    List,
    /// Create numbered accounts `<prefix><n>` for n in 0..count (load tests), each with its own salt.
    AddRange {
        /// Name prefix.
        #[arg(long, default_value = "load")]
        prefix: String,
        /// How many.
        #[arg(long)]
        count: usize,
        /// Password of every account.
        #[arg(long)]
        password: String,
    },
}

#[derive(Args)]
struct AddArgs {
    #[command(flatten)]
    account: PasswordArgs,
    /// `agent` or `supervisor` (a supervisor supervises --team).
    #[arg(long, default_value = "agent", value_parser = ["agent", "supervisor"])]
    role: String,
    /// The user's team id; a team that does not exist yet is created, named by its id.
    #[arg(long)]
    team: Option<String>,
    /// The extension the agent signs in on.
    #[arg(long)]
    extension: Option<String>,
    /// First name.
    #[arg(long, default_value = "")]
    first_name: String,
    /// Last name.
    #[arg(long, default_value = "")]
    last_name: String,
}

impl AddArgs {
    fn options(&self) -> anyhow::Result<users::AgentOptions> {
        let role = herald::directory::parse_role(&self.role).with_context(|| format!("unknown role {} (agent, supervisor)", self.role))?;
        Ok(users::AgentOptions {
            role,
            team: self.team.clone(),
            extension: self.extension.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
        })
    }
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
        Command::Load(args) => load(*args, &config).await,
        Command::Sim(SimCommand::Call { queue, from, variables }) => {
            let id =
                herald::sim_client::inject(&config, &herald::sim_client::CallRequest { queue: queue.clone(), from, variables }).await?;
            println!("call {id} queued on {queue}");
            Ok(())
        }
        Command::Sim(SimCommand::Link { state, closed }) => {
            use herald::sim_client::LinkRequest;
            let request = match (state, closed) {
                (LinkState::Down, false) => LinkRequest::Down,
                (LinkState::Down, true) => LinkRequest::Closed,
                (LinkState::Up, false) => LinkRequest::Up,
                (LinkState::Up, true) => anyhow::bail!("--closed goes with `down` only"),
            };
            let answered = herald::sim_client::set_link(&config, request).await?;
            println!("simulator link {answered}");
            Ok(())
        }
        Command::Ctl(cmd) => ctl(cmd, &config).await,
        Command::Doctor { user, since, json } => doctor(user, since, json, &config).await,
        Command::Serve => {
            let rotation = herald_observe::Rotation { max_bytes: config.log.max_file_mib << 20, keep: config.log.keep_files };
            let format = match config.log.format {
                herald::config::LogFormatName::Text => herald_observe::LogFormat::Text,
                herald::config::LogFormatName::Json => herald_observe::LogFormat::Json,
            };
            let options = herald_observe::LogOptions { debug: config.log.debug, rotation, format };
            // The control switches debug logging at run time (`herald ctl logging …`).
            let log = herald_observe::init_with(&config.data_dir.join("logs"), options)?;
            let listeners = Listeners::bind(&config).await?;
            let store = herald::open_store(&config).await?;
            tracing::info!(target: "notification", c2s = %config.listen.c2s, data_dir = %config.data_dir.display(), "starting Herald for {}", config.domain);
            let (status, events) = (herald::Status::default(), herald::Subscribers::default());
            herald::run_with_status(listeners, config, store, shutdown_signal(), status, events, log).await
        }
        Command::User(cmd) => {
            let store = herald::open_store(&config).await?;
            match cmd {
                UserCommand::Add(args) => {
                    let options = args.options()?;
                    let name =
                        users::add_agent(&store, &config.domain, &args.account.login_id, &args.account.password()?, &options).await?;
                    herald::webservices_user::link_user(&store, &config.domain, &name).await?;
                    println!("created {name}@{} ({})", config.domain, args.role);
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
                UserCommand::AddRange { prefix, count, password } => {
                    let created = users::add_range(&store, &config.domain, &prefix, count, &password).await?;
                    println!("created {created} accounts {prefix}0..{prefix}{}", count.saturating_sub(1));
                }
            }
            Ok(())
        }
    }
}

async fn ctl(cmd: CtlCommand, config: &Config) -> anyhow::Result<()> {
    use herald::ctl_client::{encode, format_sessions, format_status, request};
    match cmd {
        CtlCommand::Status => {
            let body = request(config, "GET", "/admin/status").await?.ok()?;
            let report: herald::admin::StatusReport = serde_json::from_slice(&body).context("unreadable status")?;
            print!("{}", format_status(&report));
        }
        CtlCommand::Sessions { user } => {
            let target = match user {
                Some(user) => format!("/admin/sessions?user={}", encode(&user)),
                None => "/admin/sessions".to_owned(),
            };
            let body = request(config, "GET", &target).await?.ok()?;
            let rows: Vec<herald::admin::SessionRow> = serde_json::from_slice(&body).context("unreadable sessions")?;
            print!("{}", format_sessions(&rows));
        }
        CtlCommand::Logging { action } => {
            let (method, word) = match action {
                LoggingAction::Enable => ("POST", "enable"),
                LoggingAction::Disable => ("POST", "disable"),
                LoggingAction::Status => ("GET", "status"),
            };
            let body = request(config, method, &format!("/admin/logging?action={word}")).await?.ok()?;
            let answer: serde_json::Value = serde_json::from_slice(&body).context("unreadable answer")?;
            let on = answer.get("debug").and_then(serde_json::Value::as_bool).unwrap_or(false);
            println!("debug logging is {}", if on { "on" } else { "off" });
            if let Some(warning) = answer.get("warning").and_then(serde_json::Value::as_str) {
                println!("WARNING: {warning}");
            }
        }
        CtlCommand::Kick { jid } => {
            request(config, "POST", &format!("/admin/kick?jid={}", encode(&jid))).await?.ok()?;
            println!("kicked {jid}");
        }
        CtlCommand::CollectLogs { since, output } => {
            let target = match since {
                Some(since) => format!("/admin/collect-logs?since={since}"),
                None => "/admin/collect-logs".to_owned(),
            };
            let body = request(config, "GET", &target).await?.ok()?;
            std::fs::write(&output, &body).with_context(|| format!("cannot write {}", output.display()))?;
            println!("wrote {} ({} bytes)", output.display(), body.len());
        }
    }
    Ok(())
}

/// `--since`: an age before now (`90s`, `30m`, `2h`, `1d`) or a time in epoch seconds; returns
/// epoch seconds.
fn parse_since(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if let Ok(epoch) = text.parse::<u64>() {
        return Ok(epoch);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} is neither an age (90s, 30m, 2h, 1d) nor epoch seconds")),
    };
    let amount: u64 = number.parse().map_err(|_| format!("{text:?}: no number before {unit:?}"))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Ok(now.saturating_sub(amount.saturating_mul(unit_secs)))
}

async fn doctor(user: Option<String>, since: Option<u64>, json: bool, config: &Config) -> anyhow::Result<()> {
    use herald::ctl_client::{encode, request};
    let mut target = format!("/admin/doctor?json={json}");
    if let Some(user) = &user {
        target.push_str(&format!("&user={}", encode(user)));
    }
    if let Some(since) = since {
        target.push_str(&format!("&since={since}"));
    }
    // The server's answer when it runs; else the same diagnosis offline, "server not running"
    // being evidence itself.
    if let Ok(answer) = request(config, "GET", &target).await {
        print!("{}", String::from_utf8_lossy(&answer.ok()?));
        return Ok(());
    }
    let store = herald::open_store(config).await?;
    let query = herald_doctor::Query { user, since_ms: since.unwrap_or(0).saturating_mul(1000) };
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let evidence = herald::admin::evidence::gather(&config.data_dir, &store, &query, Vec::new(), false, now_ms).await?;
    store.close().await;
    let diagnosis = herald_doctor::diagnose(&evidence, &query);
    if json {
        println!("{}", diagnosis.to_json());
    } else {
        print!("{}", diagnosis.to_text());
    }
    Ok(())
}

async fn load(args: LoadArgs, config: &Config) -> anyhow::Result<()> {
    let transport = match args.transport.as_str() {
        "bosh" => herald_load::Transport::Bosh,
        "tcp" => herald_load::Transport::Tcp,
        "websocket" => herald_load::Transport::WebSocket,
        other => bail!("unknown transport {other} (bosh, websocket, tcp)"),
    };
    let scenario = match args.scenario.as_str() {
        "idle" => herald_load::Scenario::Idle,
        "login-storm" => herald_load::Scenario::LoginStorm,
        "fanout" => herald_load::Scenario::Fanout,
        "http-baseline" => herald_load::Scenario::HttpBaseline,
        "soak" => herald_load::Scenario::Soak,
        "agents" => herald_load::Scenario::Agents,
        other => bail!("unknown scenario {other} (idle, login-storm, fanout, soak, http-baseline, agents)"),
    };
    let mechanism = match args.mechanism.as_str() {
        "scram-sha-1" => herald_load::Mechanism::ScramSha1,
        "scram-sha-256" => herald_load::Mechanism::ScramSha256,
        other => bail!("unknown mechanism {other}"),
    };
    let opts = herald_load::Options {
        host: args.host,
        domain: args.target_domain.unwrap_or_else(|| config.domain.clone()),
        http_port: args.http_port,
        bosh_path: args.bosh_path,
        ws_path: args.ws_path,
        c2s_port: args.c2s_port,
        ca: args.ca,
        https: args.https,
        transport,
        scenario,
        sessions: args.sessions,
        user_prefix: args.user_prefix,
        password: args.password,
        mechanism,
        ramp_per_sec: args.ramp,
        concurrency: args.concurrency,
        wait: args.wait,
        hold: std::time::Duration::from_secs(args.hold_secs),
        nodes: args.nodes,
        publish_rate: args.publish_rate,
        publisher: args.publisher,
        pubsub_service: args.pubsub_service,
        server_pid: args.server_pid,
        deadline: std::time::Duration::from_secs(args.deadline_secs),
        soak: herald_load::SoakOptions {
            life: secs(args.life_secs, "--life-secs")?,
            kill_ratio: args.kill_ratio,
            pause: secs(args.pause_secs, "--pause-secs")?,
            message_every: secs(args.message_every_secs, "--message-every-secs")?,
            drain: std::time::Duration::from_secs(args.drain_secs),
            server_log: args.server_log,
        },
        agents: herald_load::AgentOptions {
            api_port: args.api_port,
            rate: args.rate,
            duration: std::time::Duration::from_secs(args.duration),
            reason_code_id: args.reason_code_id,
            rest_connections: args.rest_connections,
            baseline: !args.no_baseline,
            baseline_subscriber: args.baseline_subscriber,
            failover_ports: args.failover_ports,
        },
    };
    let report = herald_load::run(opts.clone()).await?;
    match &report.agents {
        Some(agents) => println!("{}", agents.summary()),
        None => println!("{}", report.to_table(&opts)),
    }
    if let Some(error) = &report.first_error {
        eprintln!("first failure: {error}");
    }
    if let Some(path) = args.json {
        std::fs::write(&path, report.to_json(&opts) + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(soak) = &report.soak {
        eprintln!("errors by kind: {:?}", soak.errors);
    }
    if report.failed > 0 {
        bail!("{} of {} sessions failed", report.failed, report.sessions);
    }
    Ok(())
}

/// A duration given in seconds on the command line.
fn secs(value: f64, what: &str) -> anyhow::Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(value).map_err(|_| anyhow::anyhow!("{what} must be a non-negative number of seconds"))
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_takes_an_age_or_epoch_seconds() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(parse_since("1700000000"), Ok(1_700_000_000));
        for (age, secs) in [("90s", 90), ("30m", 1_800), ("2h", 7_200), ("1d", 86_400)] {
            let at = parse_since(age).unwrap();
            assert!(at <= now - secs && at + 5 >= now - secs, "{age}: {at}");
        }
        for bad in ["", "m", "10w", "ten minutes", "-5m"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}
