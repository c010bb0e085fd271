//! The `agents` scenario (`herald load --scenario agents`): contact-center desktops. Each logs
//! in over BOSH (or WebSocket) as `<prefix><n>`, sends its initial presence, and signs in through
//! the REST web services (`PUT /finesse/api/User/<id>` LOGIN on its extension, then NOT_READY
//! with a reason code). Then state changes (READY ⇄ NOT_READY) go out at a steady total rate,
//! round-robin over the agents, each with a unique `requestId`; a change's latency runs from
//! just before its request is sent to the moment the User Update carrying that `requestId`
//! reaches that agent's desktop. The server's CPU per change is set against a bare pubsub publish
//! to one subscriber measured in the same run ([`baseline`]). With failover ports, a desktop
//! whose node dies reconnects to another and catches up on what it missed ([`failover`]).

mod audit;
mod baseline;
mod change;
mod desktop;
mod failover;
mod login;
mod matcher;
mod pace;
mod rest;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald_xml::Element;
use tokio::sync::{Semaphore, watch};

pub(crate) use crate::agent_figures::AgentFigures;

pub use crate::agent_figures::{FailoverAudit, FailoverFigures};
use crate::measure::sample;
use crate::progress::login_slot;
use crate::report::Report;
use crate::tcp::tls_connector;
use crate::xmpp::SaltCache;
use crate::{LoadError, Options};
use change::Changes;
use failover::{Failover, user_node};
use matcher::{Matcher, updates_in};
use rest::{RestPool, UserChange};

/// How long a change accepted with 202 may wait for its Update before it counts as lost.
pub(crate) const LOSS_TIMEOUT: Duration = Duration::from_secs(10);

/// What the agents scenario needs beyond the common options.
#[derive(Clone, Debug)]
pub struct AgentOptions {
    /// Port of the REST web services (`[listen] api`, 8445 by default): HTTPS trusting `ca`
    /// when one is given, plain HTTP otherwise.
    pub api_port: u16,
    /// State changes per second, all agents together.
    pub rate: f64,
    /// How long state changes go on.
    pub duration: Duration,
    /// The NOT_READY reason code's id (`None`: NOT_READY without a reason).
    pub reason_code_id: Option<u32>,
    /// Most REST connections open at once (keep-alive, shared by every desktop).
    pub rest_connections: usize,
    /// Measure the bare pubsub publish baseline after the changes (publisher `Options::publisher`).
    pub baseline: bool,
    /// The baseline's subscriber account (`None`: the first agent's, on a second resource).
    pub baseline_subscriber: Option<String>,
    /// BOSH ports of the nodes a desktop whose session dies reconnects to (empty: none, the
    /// desktop stays down); with them the run waits at the end for every desktop to lose its
    /// session and come back, and reports the failover.
    pub failover_ports: Vec<u16>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            api_port: 8445,
            rate: 100.0,
            duration: Duration::from_secs(10),
            reason_code_id: None,
            rest_connections: 64,
            baseline: true,
            baseline_subscriber: None,
            failover_ports: Vec::new(),
        }
    }
}

impl AgentOptions {
    /// Checks the rate, duration and pool size.
    pub(crate) fn validate(&self) -> Result<(), LoadError> {
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= 100_000.0) {
            return Err(LoadError::Config("the state change rate must be between 0 and 100000 per second".into()));
        }
        if self.duration.is_zero() || self.duration > Duration::from_secs(3600) {
            return Err(LoadError::Config("the duration must be between 1 s and 1 hour".into()));
        }
        if self.rest_connections == 0 || self.rest_connections > 4096 {
            return Err(LoadError::Config("REST connections must be between 1 and 4096".into()));
        }
        Ok(())
    }
}

/// Everything the desktops and the changes share.
pub(crate) struct Run {
    pub(crate) opts: Arc<Options>,
    pub(crate) rest: RestPool,
    pub(crate) matcher: Matcher,
    /// The failover ledger, with failover ports.
    pub(crate) failover: Option<Failover>,
    /// The run's random tag, so that `requestId`s never repeat across runs.
    tag: u32,
    sequence: AtomicU64,
    /// Agents with a change in flight.
    busy: Vec<AtomicBool>,
    /// Agents whose next change is READY (else NOT_READY).
    next_ready: Vec<AtomicBool>,
    pub(crate) logged_in: AtomicUsize,
    pub(crate) signed_in: AtomicUsize,
    pub(crate) login_failed: AtomicUsize,
    pub(crate) sign_in_failed: AtomicUsize,
    /// Agents signed in, in the order they did.
    pub(crate) ready_agents: Mutex<Vec<usize>>,
    pub(crate) first_error: Mutex<Option<String>>,
}

impl Run {
    /// Agent `n`'s login id (also its extension).
    pub(crate) fn login_id(&self, n: usize) -> String {
        format!("{}{n}", self.opts.user_prefix)
    }

    /// A `requestId` no other request of any run carries.
    pub(crate) fn request_id(&self) -> String {
        format!("load-{:08x}-{}", self.tag, self.sequence.fetch_add(1, Ordering::Relaxed))
    }

    /// Agent `n` has a change in flight (an agent unknown to the run counts as busy).
    pub(crate) fn is_busy(&self, n: usize) -> bool {
        self.busy.get(n).is_none_or(|b| b.load(Ordering::Acquire))
    }

    /// Marks agent `n`'s change in flight, or ended.
    pub(crate) fn set_busy(&self, n: usize, busy: bool) {
        if let Some(b) = self.busy.get(n) {
            b.store(busy, Ordering::Release);
        }
    }

    /// Agent `n`'s next change: READY after NOT_READY and the other way round.
    pub(crate) fn next_change(&self, n: usize) -> UserChange {
        if self.next_ready.get(n).is_some_and(|r| r.load(Ordering::Relaxed)) {
            UserChange::Ready
        } else {
            UserChange::NotReady { reason_code_id: self.opts.agents.reason_code_id }
        }
    }

    /// Agent `n` entered the state asked: its next change is the other one.
    pub(crate) fn changed(&self, n: usize) {
        if let Some(r) = self.next_ready.get(n) {
            r.fetch_xor(true, Ordering::Relaxed);
        }
    }

    /// Hands what agent `n`'s desktop received to the changes waiting for it and, in a failover
    /// run, to its ledger.
    pub(crate) fn received(&self, n: usize, stanza: &Element) {
        let at = Instant::now();
        let updates = updates_in(stanza);
        if updates.is_empty() {
            return;
        }
        self.matcher.completed(n, &updates, at);
        if let Some(failover) = &self.failover {
            failover.record(n, &user_node(&self.login_id(n)), &updates);
        }
    }

    /// A change for `agent` was accepted with 202.
    pub(crate) fn accepted(&self, agent: usize, request_id: &str) {
        if let Some(failover) = &self.failover {
            failover.accepted(agent, request_id);
        }
    }

    /// Keeps the first error of the run for the report.
    pub(crate) fn note_error(&self, error: String) {
        let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(error);
        }
    }
}

/// Runs the agents scenario.
pub(crate) async fn run(opts: Options) -> Result<Report, LoadError> {
    opts.agents.validate()?;
    let opts = Arc::new(opts);
    let tls = opts.ca.as_ref().map(|_| tls_connector(&opts)).transpose()?;
    let run = Arc::new(Run {
        opts: opts.clone(),
        rest: RestPool::new(opts.clone(), opts.agents.api_port, tls.clone(), opts.agents.rest_connections),
        matcher: Matcher::default(),
        failover: (!opts.agents.failover_ports.is_empty()).then(|| Failover::new(opts.agents.failover_ports.clone(), opts.sessions)),
        tag: rand::random(),
        sequence: AtomicU64::new(0),
        busy: (0..opts.sessions).map(|_| AtomicBool::new(false)).collect(),
        next_ready: (0..opts.sessions).map(|_| AtomicBool::new(true)).collect(),
        logged_in: AtomicUsize::new(0),
        signed_in: AtomicUsize::new(0),
        login_failed: AtomicUsize::new(0),
        sign_in_failed: AtomicUsize::new(0),
        ready_agents: Mutex::default(),
        first_error: Mutex::default(),
    });
    let cache: SaltCache = Arc::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut report = Report { sessions: opts.sessions, before: opts.server_pid.and_then(sample), ..Report::default() };
    let started = Instant::now();
    let deadline = started + opts.deadline;
    let mut desktops = tokio::task::JoinSet::new();
    for n in 0..opts.sessions {
        let permit = login_slot(&opts, n, started, &slots).await;
        let (run, tls, cache, stop) = (run.clone(), tls.clone(), cache.clone(), stop_rx.clone());
        desktops.spawn(async move { desktop::desktop(run, n, tls, cache, stop, permit).await });
        if Instant::now() > deadline {
            break;
        }
    }
    wait_for_sign_ins(&run, started, deadline).await;
    report.login_time = started.elapsed();
    report.logged_in = run.logged_in.load(Ordering::Relaxed);
    report.failed = run.login_failed.load(Ordering::Relaxed) + run.sign_in_failed.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    report.after_logins = opts.server_pid.and_then(sample);
    report.peak_rss_kib = report.after_logins.map_or(0, |s| s.rss_kib);

    let agents = run.ready_agents.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut figures = AgentFigures {
        desktops: opts.sessions,
        logged_in: report.logged_in,
        signed_in: agents.len(),
        sign_in_failed: run.sign_in_failed.load(Ordering::Relaxed),
        sign_in_seconds: report.login_time.as_secs_f64(),
        ..AgentFigures::default()
    };
    if !agents.is_empty() {
        eprintln!("  state changes at {:.0}/s for {} s over {} agents", opts.agents.rate, opts.agents.duration.as_secs(), agents.len());
        let changes = Arc::new(Changes::default());
        let before = opts.server_pid.and_then(sample);
        let window = change::drive(&run, &agents, &changes, deadline).await;
        let after = opts.server_pid.and_then(sample);
        changes.fill(&mut figures, window);
        figures.cpu_us_per_change = before
            .zip(after)
            .filter(|_| figures.accepted > 0)
            .map(|(b, a)| a.cpu.saturating_sub(b.cpu).as_secs_f64() * 1e6 / figures.accepted as f64);
    }
    if let Some(failover) = &run.failover {
        wait_for_failover(&run, failover, deadline).await;
        let unseen_at_settle = failover.unseen().len();
        let audit = audit::audit(&run, failover, unseen_at_settle, tls.as_ref(), &cache).await;
        figures.failover = Some(failover.figures(unseen_at_settle, audit));
    }
    figures.rest_connections = run.rest.opened();
    if opts.agents.baseline && Instant::now() < deadline {
        eprintln!(
            "  baseline: bare pubsub publishes at {:.0}/s for {} s to one subscriber",
            opts.agents.rate,
            opts.agents.duration.as_secs()
        );
        let subscriber = opts.agents.baseline_subscriber.clone().unwrap_or_else(|| run.login_id(0));
        match baseline::measure(&opts, tls.as_ref(), &cache, &subscriber).await {
            Ok(base) => figures.set_baseline(base),
            Err(e) => figures.baseline_error = Some(e.to_string()),
        }
    }
    report.first_error = run.first_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
    report.agents = Some(figures);
    let _ = stop_tx.send(true);
    desktops.abort_all();
    while desktops.join_next().await.is_some() {}
    Ok(report)
}

/// Waits (at most two minutes, and not past the deadline) until every desktop signed in has lost
/// its session and has caught up on another node or given up.
async fn wait_for_failover(run: &Run, failover: &Failover, deadline: Instant) {
    let desktops = run.signed_in.load(Ordering::Relaxed);
    let until = deadline.min(Instant::now() + Duration::from_secs(120));
    eprintln!("  waiting for the {desktops} desktops to fail over and catch up");
    while !failover.settled(desktops) && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until every desktop has signed in or failed (or the deadline passes), with a progress
/// line.
async fn wait_for_sign_ins(run: &Run, started: Instant, deadline: Instant) {
    let total = run.opts.sessions;
    loop {
        let (logged, signed) = (run.logged_in.load(Ordering::Relaxed), run.signed_in.load(Ordering::Relaxed));
        let (login_failed, sign_in_failed) = (run.login_failed.load(Ordering::Relaxed), run.sign_in_failed.load(Ordering::Relaxed));
        let done = signed + login_failed + sign_in_failed >= total || Instant::now() >= deadline;
        eprint!(
            "\r  logged in {logged} / {total}, signed in {signed}, failed {} (login) {} (sign-in), {:.1} s   {}",
            login_failed,
            sign_in_failed,
            started.elapsed().as_secs_f64(),
            if done { "\n" } else { "" }
        );
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
