//! [`TempRedis`]: a `redis-server` of its own on a free loopback port, in memory only, its
//! working directory and log in a temporary directory; killed when dropped.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How long a start may take before it fails (with the server's log).
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A Redis server of its own: `127.0.0.1:<port>`, no persistence (`--save ""`, no AOF), so a
/// [`TempRedis::kill`] and [`TempRedis::restart`] is a Redis that lost everything, as a
/// restarted cache would.
pub struct TempRedis {
    program: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Mutex<Option<Child>>,
}

impl TempRedis {
    /// Whether `redis-server` is installed (on PATH or in /usr/bin).
    pub fn available() -> bool {
        program().is_some()
    }

    /// Starts a fresh server and waits until it answers PING.
    pub fn start() -> anyhow::Result<Self> {
        let program = program().context("redis-server is not installed: apt-get install redis-server")?;
        let dir = tempfile::Builder::new().prefix("herald-redis-").tempdir()?;
        let server = Self { program, dir, port: crate::free_port()?, child: Mutex::new(None) };
        server.spawn()?;
        Ok(server)
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The server's own log (what to show when something fails).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child().take() {
            child.kill().context("cannot kill redis-server")?;
            child.wait().context("cannot reap redis-server")?;
        }
        Ok(())
    }

    /// Starts it again after [`TempRedis::kill`], on the same port (empty: nothing is saved).
    pub fn restart(&self) -> anyhow::Result<()> {
        self.kill()?;
        self.spawn()
    }

    fn child(&self) -> MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    /// Runs `redis-server` in the foreground of a child process and waits for its PING.
    fn spawn(&self) -> anyhow::Result<()> {
        let child = Command::new(&self.program)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--dir"])
            .arg(self.dir.path())
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile"])
            .arg(self.log_path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start redis-server")?;
        *self.child() = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while !ping(self.port) {
            if let Some(status) = self.child().as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!("redis-server exited ({status}):\n{}", self.log());
            }
            if Instant::now() > deadline {
                bail!("redis-server did not answer PING within {START_TIMEOUT:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for TempRedis {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Whether a Redis on `127.0.0.1:port` answers `PING` with `+PONG`.
fn ping(port: u16) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(1)))?;
        stream.write_all(b"PING\r\n")?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply)?;
        Ok(&reply == b"+PONG\r\n")
    };
    attempt().unwrap_or(false)
}

/// `redis-server` on PATH, else /usr/bin/redis-server.
fn program() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file());
    on_path.or_else(|| Some(PathBuf::from("/usr/bin/redis-server")).filter(|p| p.is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_dies_and_comes_back_on_its_port() {
        if !TempRedis::available() {
            assert!(std::env::var_os("CI").is_none(), "redis-server is missing under CI: run scripts/test-deps");
            eprintln!("skipped: redis-server is not installed");
            return;
        }
        let redis = TempRedis::start().unwrap();
        assert!(ping(redis.port()));
        assert_eq!(redis.url(), format!("redis://127.0.0.1:{}/0", redis.port()));
        redis.kill().unwrap();
        assert!(!ping(redis.port()), "killed");
        redis.restart().unwrap();
        assert!(ping(redis.port()), "back on the same port");
        assert!(redis.log().contains("Ready to accept connections"), "{}", redis.log());
    }
}
