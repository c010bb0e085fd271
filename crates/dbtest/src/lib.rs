//! Throwaway database servers for tests, real ones from Debian's packages: [`TempPostgres`]
//! runs `initdb` and `postgres` in a temporary directory on a free loopback port (as the
//! `postgres` user when the tests run as root, since PostgreSQL refuses to run as root) and
//! stops it when dropped. Each test asks it for a database of its own. [`TempRedis`] does the
//! same for `redis-server` (in memory only).

mod redis;

pub use redis::TempRedis;

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context as _, bail};

/// A PostgreSQL server of its own: data directory and socket in a temporary directory, TCP on
/// `127.0.0.1:<port>`, trust authentication for the `herald` role (loopback only), `fsync` off
/// (a test's data need not survive a power cut). `synchronous_commit` stays on: a commit is in
/// the WAL (written, not synced) before it is acknowledged, so what a test committed survives
/// [`TempPostgres::kill`], as it would a crash of the server process.
pub struct TempPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
    next_db: AtomicU32,
}

impl TempPostgres {
    /// Whether PostgreSQL's server programs are installed (`initdb`, `pg_ctl`).
    pub fn available() -> bool {
        bin_dir().is_some()
    }

    /// Starts a fresh server; fails with what is missing or what the server said.
    pub fn start() -> anyhow::Result<Self> {
        let bin = bin_dir().context("PostgreSQL is not installed (no initdb/pg_ctl): apt-get install postgresql")?;
        let dir = tempfile::Builder::new().prefix("herald-pg-").tempdir()?;
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown").arg("-R").arg("postgres").arg(dir.path()), "chown the directory to postgres")?;
        }
        let data = dir.path().join("data");
        let mut initdb = program(&bin, "initdb", as_postgres);
        initdb.arg("-D").arg(&data).args(["-A", "trust", "-U", "herald", "-E", "UTF8", "--no-sync", "--locale=C"]);
        run(&mut initdb, "initdb")?;
        let port = free_port()?;
        let server = Self { bin, dir, port, as_postgres, next_db: AtomicU32::new(0) };
        if let Err(e) = server.pg_ctl_start() {
            bail!("{e:#}\nserver log:\n{}", server.log());
        }
        Ok(server)
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` on this server (it need not exist yet).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://herald@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a new empty database and returns its URL: one per test, so tests sharing the
    /// server never see each other's rows.
    pub fn new_database(&self) -> anyhow::Result<String> {
        let name = format!("t{}", self.next_db.fetch_add(1, Ordering::Relaxed));
        let mut createdb = program(&self.bin, "createdb", self.as_postgres);
        createdb.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "herald", &name]);
        run(&mut createdb, "createdb")?;
        Ok(self.url(&name))
    }

    /// The server's own log (what to show when something fails).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`).
    pub fn kill(&self) -> anyhow::Result<()> {
        self.stop_with("immediate")
    }

    fn stop_with(&self, mode: &str) -> anyhow::Result<()> {
        let mut stop = program(&self.bin, "pg_ctl", self.as_postgres);
        stop.arg("-D").arg(self.dir.path().join("data")).args(["-m", mode, "-w", "stop"]);
        run(&mut stop, "pg_ctl stop")
    }

    /// Stops the server and removes its directory once this process has exited, however it
    /// exits: for a server kept in a `static` (one per test binary), whose `Drop` never runs.
    /// A detached shell polls for this process and then runs `pg_ctl stop -m immediate`.
    pub fn stop_when_process_exits(&self) -> anyhow::Result<()> {
        let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
        let run_as = if self.as_postgres { "runuser -u postgres -- " } else { "" };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {run_as}{pg_ctl} -D {data} -m immediate -w stop; rm -rf {dir}",
            pid = std::process::id(),
            pg_ctl = quote(&self.bin.join("pg_ctl")),
            data = quote(&self.dir.path().join("data")),
            dir = quote(self.dir.path()),
        );
        // In a process group of its own: a Ctrl-C or a CI timeout that kills the test's group
        // must not take the watchdog with it (the postmaster is already detached by pg_ctl).
        Command::new("sh")
            .args(["-c", &script])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start the watchdog that stops PostgreSQL")?;
        Ok(())
    }

    /// Starts it again after [`TempPostgres::kill`], on the same port and data.
    pub fn restart(&self) -> anyhow::Result<()> {
        self.pg_ctl_start()
    }

    /// `pg_ctl start` on this server's data, port and socket directory, with the options every
    /// start uses (loopback only, no fsync: a test's data need not survive a power cut).
    fn pg_ctl_start(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let mut start = program(&self.bin, "pg_ctl", self.as_postgres);
        start.arg("-D").arg(self.dir.path().join("data")).arg("-l").arg(self.dir.path().join("server.log"));
        start.args(["-w", "-t", "30", "-o", &options, "start"]);
        run(&mut start, "pg_ctl start")
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let _ = self.stop_with("fast");
    }
}

/// Where `initdb` and `pg_ctl` are: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> Option<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let has_tools = |dir: &Path| dir.join("initdb").exists() && dir.join("pg_ctl").exists();
    if let Some(dir) = from_pg_config.filter(|d| has_tools(d)) {
        return Some(dir);
    }
    let mut versions: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok().map(|e| e.path().join("bin"))).collect();
    versions.sort();
    versions.into_iter().rev().find(|d| has_tools(d))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// `bin/<name>`, run as `postgres` through `runuser` when `as_postgres`.
fn program(bin: &Path, name: &str, as_postgres: bool) -> Command {
    if as_postgres {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(bin.join(name));
        cmd
    } else {
        Command::new(bin.join(name))
    }
}

/// Runs `cmd`, failing with its output when it fails.
fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.stdin(Stdio::null()).output().with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        bail!("{what} failed ({}): {}{}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// A loopback port free right now.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
