//! `herald serve` as a real process for the tests that need several (a failover pair, a
//! cluster): its own data directory and loopback ports, started from the binary the calling
//! test names, waited for by a line in its logs, killed (SIGKILL, as a crash) when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// A loopback port free right now, for a listener a process must name in advance.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

/// The sample contact center (`sample`: the text of `scenario/sample.toml`) without background
/// calls (every call in a run is one the test places), with a 2-second wrap-up and queue
/// statistics every second.
pub fn quiet_scenario(sample: &str) -> anyhow::Result<String> {
    let quiet: String = sample
        .lines()
        .map(|l| match l {
            _ if l.starts_with("calls_per_hour") => "calls_per_hour = 0\n".to_owned(),
            _ if l.starts_with("wrap_up_secs") => "wrap_up_secs = 2\n".to_owned(),
            _ if l.starts_with("stats_interval_secs") => "stats_interval_secs = 1\n".to_owned(),
            _ => format!("{l}\n"),
        })
        .collect();
    if quiet == sample {
        bail!("the sample's queues have no arrival rates to turn off");
    }
    Ok(quiet)
}

/// One `herald serve` process.
pub struct HeraldProcess {
    /// The process (killed when dropped).
    pub child: Child,
    /// Its data directory.
    pub data: tempfile::TempDir,
    /// The `HERALD_*` settings it runs with (also given to `herald ctl` against it).
    pub env: Vec<(String, String)>,
    /// Its listeners' ports on 127.0.0.1.
    pub c2s: u16,
    /// HTTPS: BOSH and WebSocket.
    pub https: u16,
    /// The Finesse REST listener.
    pub api: u16,
    /// The admin API.
    pub admin: u16,
    bin: PathBuf,
}

impl HeraldProcess {
    /// Starts `bin serve` (domain `localhost`) with the quiet sample scenario, the REST listener
    /// on `api` (a peer may have to name it in advance) and `extra` settings, and waits until
    /// `ready` appears in `logs/webservices/info.log`.
    pub fn start(bin: &Path, sample: &str, api: u16, extra: &[(&str, String)], ready: &str) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let scenario = data.path().join("quiet.toml");
        std::fs::write(&scenario, quiet_scenario(sample)?)?;
        let (c2s, https, admin) = (free_port(), free_port(), free_port());
        let mut env: Vec<(String, String)> = vec![
            ("HERALD_LISTEN__C2S".into(), format!("127.0.0.1:{c2s}")),
            ("HERALD_LISTEN__HTTPS".into(), format!("127.0.0.1:{https}")),
            ("HERALD_LISTEN__API".into(), format!("127.0.0.1:{api}")),
            ("HERALD_LISTEN__ADMIN".into(), format!("127.0.0.1:{admin}")),
            ("HERALD_CC__SCENARIO".into(), scenario.display().to_string()),
        ];
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let mut cmd = Command::new(bin);
        cmd.arg("--data-dir").arg(data.path()).args(["--domain", "localhost", "serve"]);
        // Standard error to a file: a pipe nobody reads would stall a chatty process.
        let stderr = std::fs::File::create(data.path().join("stderr.log"))?;
        cmd.envs(env.iter().map(|(k, v)| (k, v))).stdout(Stdio::null()).stderr(stderr);
        let child = cmd.spawn().with_context(|| format!("starting {}", bin.display()))?;
        let mut process = Self { child, data, env, c2s, https, api, admin, bin: bin.to_owned() };
        if let Err(err) = process.wait_log("logs/webservices/info.log", ready, Duration::from_secs(60)) {
            process.kill();
            bail!("{err:#}\nstderr:\n{}", process.log("stderr.log"));
        }
        Ok(process)
    }

    /// Waits until `needle` appears in the log file `file` (under the data directory); returns
    /// the file's text then. Fails when the process exited or `within` passed.
    pub fn wait_log(&mut self, file: &str, needle: &str, within: Duration) -> anyhow::Result<String> {
        let path = self.data.path().join(file);
        let deadline = Instant::now() + within;
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains(needle) {
                return Ok(text);
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("herald exited ({status}) before {needle:?} appeared in {file}");
            }
            if Instant::now() > deadline {
                bail!("{needle:?} did not appear in {} within {within:?}", path.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The text of a log file under the data directory (empty when missing).
    pub fn log(&self, file: &str) -> String {
        std::fs::read_to_string(self.data.path().join(file)).unwrap_or_default()
    }

    /// The simulator's token.
    pub fn sim_token(&self) -> String {
        std::fs::read_to_string(self.data.path().join("sim.token")).unwrap_or_default().trim().to_owned()
    }

    /// The certificate it serves (generated in its data directory unless configured).
    pub fn cert(&self) -> PathBuf {
        self.env
            .iter()
            .find(|(k, _)| k == "HERALD_TLS__CERT")
            .map_or_else(|| self.data.path().join("tls/cert.pem"), |(_, v)| PathBuf::from(v))
    }

    /// `herald <args>` against this process (its data directory and listeners).
    pub fn herald(&self, args: &[&str]) -> std::io::Result<std::process::Output> {
        Command::new(&self.bin)
            .arg("--data-dir")
            .arg(self.data.path())
            .args(["--domain", "localhost"])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .output()
    }

    /// Asks it to stop (SIGTERM, as systemd does) and waits until it has, at most `within`.
    pub fn terminate(&mut self, within: Duration) -> anyhow::Result<()> {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status()?;
        if !status.success() {
            bail!("kill -TERM failed: {status}");
        }
        let deadline = Instant::now() + within;
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                bail!("herald did not stop within {within:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Stops it (SIGSTOP: a process that hangs, or a paused virtual machine, as its clients
    /// and peers see it) until [`HeraldProcess::resume`].
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal("-STOP")
    }

    /// Lets a paused process go on (SIGCONT).
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let status = Command::new("kill").args([signal, &self.child.id().to_string()]).status()?;
        if !status.success() {
            bail!("kill {signal} failed: {status}");
        }
        Ok(())
    }

    /// Kills it with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HeraldProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
