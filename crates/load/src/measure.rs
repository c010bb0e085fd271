//! Server-side measurement from `/proc/<pid>`: resident memory and CPU time (utime + stime),
//! sampled the same way for every server; the client connections a server still holds; and the
//! sessions Herald's log says are still live.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One sample of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcSample {
    /// Resident set size, KiB.
    pub rss_kib: u64,
    /// CPU time consumed so far (user + system).
    pub cpu: Duration,
}

/// Samples process `pid` and its threads; `None` if it is gone.
pub fn sample(pid: u32) -> Option<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')').map(|(_, r)| r)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ProcSample { rss_kib, cpu: Duration::from_millis(ticks * 10) })
}

/// Client connections process `pid` holds open: its TCP sockets (from `/proc/<pid>/fd`) in any
/// state but LISTEN, looked up in `/proc/<pid>/net/tcp` and `tcp6`. A server whose clients
/// have all gone must come down to none. `None` if the process is gone.
pub fn tcp_connections(pid: u32) -> Option<usize> {
    let mut sockets = HashSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else { continue };
        let target = target.to_string_lossy();
        if let Some(inode) = target.strip_prefix("socket:[").and_then(|t| t.strip_suffix(']')) {
            sockets.insert(inode.to_owned());
        }
    }
    let mut count = 0;
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        count += connections_in(&text, &sockets);
    }
    Some(count)
}

/// The entries of a `/proc/net/tcp` table that are not listening and whose inode is one of
/// `sockets`.
fn connections_in(table: &str, sockets: &HashSet<String>) -> usize {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            matches!((fields.get(3), fields.get(9)), (Some(&state), Some(inode)) if state != LISTEN && sockets.contains(*inode))
        })
        .count()
}

/// Sessions bound and ended according to Herald's `info.log`: every bound session is logged
/// (`session bound`) and so is its end (`A session is closed for …`, or `session replaced …`
/// when a new login takes its resource). What is bound and never ended is still live in the
/// server. (BOSH sessions that never log in are not in `info.log`, since a stranger can make any
/// number of them; the server caps them and closes them after a few seconds, and the in-process
/// soak test checks the BOSH registry itself.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogBalance {
    /// `session bound` lines.
    pub bound: u64,
    /// `A session is closed for` lines.
    pub closed: u64,
    /// `session replaced` lines.
    pub replaced: u64,
}

impl LogBalance {
    /// Counts one log line.
    pub fn add_line(&mut self, line: &str) {
        let Some((_, message)) = line.split_once(" notification: ") else { return };
        if message.starts_with("session bound") {
            self.bound += 1;
        } else if message.starts_with("A session is closed for ") {
            self.closed += 1;
        } else if message.starts_with("session replaced") {
            self.replaced += 1;
        }
    }

    /// Bound sessions still live.
    pub fn live(&self) -> i64 {
        self.bound as i64 - self.closed as i64 - self.replaced as i64
    }
}

/// Counts the lines of `text`.
pub fn log_balance(text: &str) -> LogBalance {
    let mut balance = LogBalance::default();
    text.lines().for_each(|l| balance.add_line(l));
    balance
}

/// Follows a server's log from where it ended when the run began, reading only what was
/// appended since the last look.
pub(crate) struct LogFollower {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    balance: LogBalance,
}

impl LogFollower {
    /// Starts at the current end of `path`.
    pub(crate) fn open(path: &Path) -> std::io::Result<Self> {
        let offset = std::fs::metadata(path)?.len();
        Ok(Self { path: path.to_owned(), offset, partial: Vec::new(), balance: LogBalance::default() })
    }

    /// The balance of every complete line appended since the start.
    pub(crate) fn update(&mut self) -> std::io::Result<LogBalance> {
        let mut file = std::fs::File::open(&self.path)?;
        file.seek(SeekFrom::Start(self.offset))?;
        let mut fresh = Vec::new();
        self.offset += file.read_to_end(&mut fresh)? as u64;
        self.partial.extend_from_slice(&fresh);
        if let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') {
            let complete: Vec<u8> = self.partial.drain(..=end).collect();
            String::from_utf8_lossy(&complete).lines().for_each(|l| self.balance.add_line(l));
        }
        Ok(self.balance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_balance_counts_sessions_opened_and_ended() {
        let log = "\
2026-12-01T11:00:00Z  INFO notification: session record: opened transport=\"bosh\" id=\"a1\"
2026-12-01T11:00:00Z  INFO notification: session bound jid=load1@localhost/load
2026-12-01T11:00:01Z  INFO notification: session record: opened transport=\"bosh\" id=\"b2\"
2026-12-01T11:00:01Z  INFO notification: session replaced by a new login with the same resource jid=load1@localhost/load
2026-12-01T11:00:01Z  INFO notification: session bound jid=load1@localhost/load
2026-12-01T11:00:02Z  INFO notification: session record: closed transport=\"bosh\" id=\"a1\" jid=\"load1@localhost/load\" cause=\"conflict\"
2026-12-01T11:00:03Z  INFO notification: session record: closed transport=\"c2s\" id=\"127.0.0.2:4000\" cause=\"client-closed\"
2026-12-01T11:00:03Z  INFO notification: A session is closed for load2@localhost/load
2026-12-01T11:00:03Z  INFO notification: session bound jid=load2@localhost/x
";
        let b = log_balance(log);
        assert_eq!(b, LogBalance { bound: 3, closed: 1, replaced: 1 });
        assert_eq!(b.live(), 1);
    }

    #[test]
    fn log_follower_reads_only_complete_appended_lines() {
        use std::io::Write;
        let path = std::env::temp_dir().join(format!("herald-load-follow-{}.log", std::process::id()));
        std::fs::write(&path, "x  INFO notification: session bound jid=old@localhost/a\n").unwrap();
        let mut follower = LogFollower::open(&path).unwrap();
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        write!(file, "x  INFO notification: session bound jid=a@localhost/a\nx  INFO notification: A session is clo").unwrap();
        assert_eq!(follower.update().unwrap().live(), 1);
        writeln!(file, "sed for a@localhost/a").unwrap();
        assert_eq!(follower.update().unwrap(), LogBalance { bound: 1, closed: 1, ..LogBalance::default() });
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn only_non_listening_sockets_of_the_process_count() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0
   1: 0100007F:1F90 0200007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 20 4 30 10 -1
   2: 0100007F:1F90 0300007F:C351 08 00000000:00000000 00:00000000 00000000     0        0 333 1 0 20 4 30 10 -1
   3: 0100007F:1F90 0300007F:C352 01 00000000:00000000 00:00000000 00000000     0        0 444 1 0 20 4 30 10 -1
";
        let ours: HashSet<String> = ["111", "222", "333"].map(String::from).into();
        // 111 listens, 444 belongs to another process: an established and a CLOSE_WAIT remain.
        assert_eq!(connections_in(table, &ours), 2);
    }

    #[test]
    fn this_process_sockets_are_found() {
        // Other tests of this binary open and close connections on other threads meanwhile: the
        // count must grow by exactly our two in at least one of a few tries (a broken count never
        // does).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let found = (0..20).any(|_| {
            let before = tcp_connections(std::process::id()).unwrap();
            let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, _) = listener.accept().unwrap();
            let after = tcp_connections(std::process::id()).unwrap();
            drop((client, server));
            after == before + 2
        });
        assert!(found, "the process's two new sockets were never counted");
    }
}
