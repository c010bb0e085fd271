//! Server-side measurement from `/proc/<pid>`: resident memory and CPU time (utime + stime),
//! sampled the same way for every server.

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
