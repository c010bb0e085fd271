//! Who may come in: one connection limit shared by every listener (kept below the process's
//! open-file limit), a cap on connections per source address, and for BOSH the sessions that
//! have not authenticated yet, capped over all sources and per source, with a per-source rate
//! limit on creating them. One stranger opening connections or creating sessions as fast as
//! it can runs into its own limits long before the server runs out of memory or descriptors,
//! and everyone else goes on being served.
//!
//! A source is an IPv4 address or an IPv6 /64 (`herald_sasl::source_key`, as the lockout
//! counts them): one IPv6 host usually holds a whole /64 and could otherwise rotate through it
//! past every per-source limit.
//!
//! [`SourceTable`] is the bookkeeping alone (time passed in, no locks, no I/O) and is tested
//! with a fake clock; [`Admission`] wraps it for the drivers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use herald_proto::{LogThrottle, RateLimit, TokenBucket};
use herald_sasl::source_key;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits [`Admission`] enforces.
#[derive(Clone, Debug)]
pub struct AdmissionConfig {
    /// Simultaneous connections over every listener.
    pub max_connections: usize,
    /// Simultaneous connections from one source address.
    pub max_connections_per_source: usize,
    /// BOSH sessions not yet authenticated, over every source.
    pub max_unauthenticated_sessions: usize,
    /// BOSH sessions not yet authenticated, from one source address.
    pub max_unauthenticated_per_source: usize,
    /// New BOSH sessions one source may create per second, sustained.
    pub creation_rate_per_source: u32,
    /// New BOSH sessions one source may create in one burst.
    pub creation_burst_per_source: u32,
}

/// Why a new BOSH session was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionRefusal {
    /// The source creates sessions faster than its rate allows (HTTP 429).
    #[error("this address creates sessions too fast")]
    TooFast,
    /// The source has too many sessions that have not authenticated (HTTP 429).
    #[error("this address has too many sessions that have not logged in")]
    SourceBusy,
    /// The server has too many sessions that have not authenticated (HTTP 503).
    #[error("the server has too many sessions that have not logged in")]
    ServerBusy,
}

impl SessionRefusal {
    /// The HTTP status the refusal is answered with.
    pub fn status(self) -> u16 {
        match self {
            Self::TooFast | Self::SourceBusy => 429,
            Self::ServerBusy => 503,
        }
    }
}

/// What one source address holds and has used.
#[derive(Debug)]
struct Source {
    connections: usize,
    unauthenticated: usize,
    /// Session creations: one token each.
    creations: TokenBucket,
}

/// Per-source bookkeeping. An entry lives while its source holds a connection or a session,
/// or its creation bucket is still refilling; entries past that are swept, so the table is
/// bounded by the sources active in the last `burst / rate` seconds.
#[derive(Debug)]
pub struct SourceTable {
    config: AdmissionConfig,
    sources: HashMap<IpAddr, Source>,
    unauthenticated: usize,
    /// Table size after the last sweep; the next sweep comes when it has doubled.
    swept_at: usize,
}

impl SourceTable {
    /// An empty table enforcing `config`.
    pub fn new(config: AdmissionConfig) -> Self {
        Self { config, sources: HashMap::new(), unauthenticated: 0, swept_at: 64 }
    }

    fn source(&mut self, ip: IpAddr, now: Instant) -> &mut Source {
        if self.sources.len() >= self.swept_at {
            self.sweep(now);
        }
        let limit = RateLimit { bytes_per_sec: self.config.creation_rate_per_source, burst_bytes: self.config.creation_burst_per_source };
        self.sources.entry(ip).or_insert_with(|| Source { connections: 0, unauthenticated: 0, creations: TokenBucket::new(limit, now) })
    }

    /// Whether an entry holds nothing and would start afresh anyway.
    fn forgettable(source: &Source, now: Instant) -> bool {
        source.connections == 0 && source.unauthenticated == 0 && source.creations.is_full(now)
    }

    fn sweep(&mut self, now: Instant) {
        self.sources.retain(|_, s| !Self::forgettable(s, now));
        self.swept_at = (self.sources.len() * 2).max(64);
    }

    fn release(&mut self, ip: IpAddr, now: Instant, what: impl FnOnce(&mut Source)) {
        let Some(source) = self.sources.get_mut(&ip) else { return };
        what(source);
        if Self::forgettable(source, now) {
            self.sources.remove(&ip);
        }
    }

    /// Counts a new connection from `ip`; false when that source already has its share.
    pub fn connect(&mut self, ip: IpAddr, now: Instant) -> bool {
        let ip = source_key(ip);
        let max = self.config.max_connections_per_source;
        let source = self.source(ip, now);
        if source.connections >= max {
            return false;
        }
        source.connections += 1;
        true
    }

    /// A connection from `ip` ended.
    pub fn disconnect(&mut self, ip: IpAddr, now: Instant) {
        let ip = source_key(ip);
        self.release(ip, now, |s| s.connections = s.connections.saturating_sub(1));
    }

    /// Counts a new session from `ip` that has not authenticated yet, or says why not.
    pub fn create_session(&mut self, ip: IpAddr, now: Instant) -> Result<(), SessionRefusal> {
        let ip = source_key(ip);
        if self.unauthenticated >= self.config.max_unauthenticated_sessions {
            return Err(SessionRefusal::ServerBusy);
        }
        let max = self.config.max_unauthenticated_per_source;
        let source = self.source(ip, now);
        if source.unauthenticated >= max {
            return Err(SessionRefusal::SourceBusy);
        }
        if !source.creations.try_take(1.0, now) {
            return Err(SessionRefusal::TooFast);
        }
        source.unauthenticated += 1;
        self.unauthenticated += 1;
        Ok(())
    }

    /// A session from `ip` authenticated or ended before it did.
    pub fn session_settled(&mut self, ip: IpAddr, now: Instant) {
        let ip = source_key(ip);
        let mut counted = false;
        self.release(ip, now, |s| {
            counted = s.unauthenticated > 0;
            s.unauthenticated = s.unauthenticated.saturating_sub(1);
        });
        if counted {
            self.unauthenticated -= 1;
        }
    }

    /// Sessions not yet authenticated, over every source.
    pub fn unauthenticated(&self) -> usize {
        self.unauthenticated
    }

    /// Source addresses the table holds an entry for.
    pub fn sources(&self) -> usize {
        self.sources.len()
    }
}

/// The shared admission state of one server: a [`SourceTable`] behind a lock, and the
/// connection slots every listener takes from.
#[derive(Debug)]
pub struct Admission {
    slots: Arc<Semaphore>,
    max_connections: usize,
    table: Mutex<SourceTable>,
    /// Refusals are logged at most once per interval, with how many were not, so that a flood
    /// of refused clients cannot flood the log instead.
    refusals: Mutex<LogThrottle>,
}

/// A connection's place: its global slot and its count against its source, both given back
/// when dropped.
#[derive(Debug)]
pub(crate) struct ConnectionPermit {
    admission: Arc<Admission>,
    ip: IpAddr,
    _slot: OwnedSemaphorePermit,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.admission.table().disconnect(self.ip, Instant::now());
    }
}

/// A BOSH session's count against the not-yet-authenticated limits, given back when it
/// authenticates or ends (dropped).
#[derive(Debug)]
pub(crate) struct UnauthenticatedTicket {
    admission: Arc<Admission>,
    ip: IpAddr,
}

impl Drop for UnauthenticatedTicket {
    fn drop(&mut self) {
        self.admission.table().session_settled(self.ip, Instant::now());
    }
}

impl Admission {
    /// Admission enforcing `config`.
    pub fn new(config: AdmissionConfig) -> Arc<Self> {
        Arc::new(Self {
            slots: Arc::new(Semaphore::new(config.max_connections)),
            max_connections: config.max_connections,
            table: Mutex::new(SourceTable::new(config)),
            refusals: Mutex::new(LogThrottle::default()),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, SourceTable> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most simultaneous connections.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Waits for a free connection slot (further clients wait in the kernel's backlog).
    pub(crate) async fn slot(&self) -> OwnedSemaphorePermit {
        self.slots.clone().acquire_owned().await.expect("the semaphore is never closed")
    }

    /// Admits a connection from `ip` holding `slot`, or refuses it (logged, throttled) when its
    /// source already has its share.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr, slot: OwnedSemaphorePermit) -> Option<ConnectionPermit> {
        if self.table().connect(ip, Instant::now()) {
            return Some(ConnectionPermit { admission: self.clone(), ip, _slot: slot });
        }
        self.log_refusal(ip, "connection refused: too many connections from this address (limits.max_connections_per_source)");
        None
    }

    /// Counts a new BOSH session from `ip` against the not-yet-authenticated limits.
    pub(crate) fn create_session(self: &Arc<Self>, ip: IpAddr) -> Result<UnauthenticatedTicket, SessionRefusal> {
        let result = self.table().create_session(ip, Instant::now());
        match result {
            Ok(()) => Ok(UnauthenticatedTicket { admission: self.clone(), ip }),
            Err(refusal) => {
                self.log_refusal(ip, &format!("BOSH session refused: {refusal}"));
                Err(refusal)
            }
        }
    }

    /// BOSH sessions not yet authenticated, over every source.
    pub fn unauthenticated_sessions(&self) -> usize {
        self.table().unauthenticated()
    }

    /// Source addresses currently tracked.
    pub fn tracked_sources(&self) -> usize {
        self.table().sources()
    }

    fn log_refusal(&self, ip: IpAddr, what: &str) {
        let logged = self.refusals.lock().unwrap_or_else(|e| e.into_inner()).hit(Instant::now());
        // `hit` counts this refusal too: the others are the ones not logged.
        let Some(suppressed) = logged.map(|n| n - 1) else { return };
        tracing::warn!(target: "notification", %ip, suppressed, "{what} ({suppressed} more refusals in the last interval not logged)");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn config() -> AdmissionConfig {
        AdmissionConfig {
            max_connections: 100,
            max_connections_per_source: 3,
            max_unauthenticated_sessions: 5,
            max_unauthenticated_per_source: 4,
            creation_rate_per_source: 2,
            creation_burst_per_source: 3,
        }
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    #[test]
    fn connections_per_source_are_capped_and_given_back() {
        let (mut t, now) = (SourceTable::new(config()), Instant::now());
        assert!((0..3).all(|_| t.connect(ip(1), now)));
        assert!(!t.connect(ip(1), now), "a fourth from the same address");
        assert!(t.connect(ip(2), now), "another address is not affected");
        t.disconnect(ip(1), now);
        assert!(t.connect(ip(1), now));
        for _ in 0..3 {
            t.disconnect(ip(1), now);
        }
        t.disconnect(ip(2), now);
        assert_eq!(t.sources(), 0, "nothing held, nothing kept");
    }

    #[test]
    fn session_creation_is_rate_limited_per_source() {
        let (mut t, t0) = (SourceTable::new(config()), Instant::now());
        for _ in 0..3 {
            t.create_session(ip(1), t0).unwrap();
            t.session_settled(ip(1), t0);
        }
        assert_eq!(t.create_session(ip(1), t0), Err(SessionRefusal::TooFast), "the burst is spent");
        t.create_session(ip(2), t0).expect("another source has its own bucket");
        // Two per second come back.
        t.create_session(ip(1), t0 + Duration::from_millis(500)).unwrap();
        assert_eq!(t.create_session(ip(1), t0 + Duration::from_millis(600)), Err(SessionRefusal::TooFast));
        assert_eq!(t.unauthenticated(), 2);
    }

    #[test]
    fn unauthenticated_sessions_are_capped_per_source_and_overall() {
        let config = AdmissionConfig { creation_burst_per_source: 100, creation_rate_per_source: 100, ..config() };
        let (mut t, now) = (SourceTable::new(config), Instant::now());
        for _ in 0..4 {
            t.create_session(ip(1), now).unwrap();
        }
        assert_eq!(t.create_session(ip(1), now), Err(SessionRefusal::SourceBusy));
        t.create_session(ip(2), now).unwrap();
        assert_eq!(t.create_session(ip(3), now), Err(SessionRefusal::ServerBusy));
        t.session_settled(ip(1), now);
        t.create_session(ip(3), now).expect("a settled session frees its place");
        // Settling more than was counted never underflows.
        for _ in 0..10 {
            t.session_settled(ip(9), now);
        }
        assert_eq!(t.unauthenticated(), 5);
    }

    #[test]
    fn an_ipv6_host_counts_once_for_its_whole_64() {
        let (mut t, now) = (SourceTable::new(config()), Instant::now());
        let host = |last: u16| IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, last]);
        assert!((1..=3).all(|n| t.connect(host(n), now)));
        assert!(!t.connect(host(99), now), "another address in the same /64 is the same host");
        assert!(t.connect(IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1]), now), "another /64 is another host");
        // An IPv4-mapped address is its IPv4 address.
        assert!((0..3).all(|_| t.connect(ip(7), now)));
        assert!(!t.connect("::ffff:127.0.0.7".parse().unwrap(), now));
        t.disconnect(host(42), now);
        assert!(t.connect(host(5), now), "released under the same key");
    }

    #[test]
    fn the_table_forgets_idle_sources() {
        let (mut t, t0) = (SourceTable::new(config()), Instant::now());
        for n in 0..200u8 {
            t.create_session(ip(n), t0).unwrap();
            t.session_settled(ip(n), t0);
        }
        // Each spent one token: kept until its bucket is full again.
        assert!(t.sources() > 0);
        let later = t0 + Duration::from_secs(2);
        for n in 0..200u8 {
            assert!(t.connect(IpAddr::from([10, 0, 1, n]), later));
        }
        assert!(t.sources() <= 200 + 64, "swept on growth: {}", t.sources());
        for n in 0..200u8 {
            t.disconnect(IpAddr::from([10, 0, 1, n]), later);
        }
        t.sweep(later);
        assert_eq!(t.sources(), 0);
    }
}
