//! The `soak` scenario: BOSH desktops churning for the hold time. Each logs in (SCRAM, bind,
//! presence), holds its long polls, sends messages to other desktops' accounts, receives the
//! items a publisher account publishes to the nodes it subscribed to once, and after a while
//! either terminates cleanly or is killed (its connection dropped without a word), then logs in
//! again after a pause. At the end every client stops and the server must come down to no
//! connection and no live session; the server's memory is sampled at the start, middle and end
//! of the churn.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald_xml::Element;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::bosh::BoshClient;
use crate::fanout::{Fanout, NS_TICK};
use crate::measure::{LogFollower, sample, tcp_connections};
use crate::progress::{login_slot, wait_for_logins};
use crate::report::{Report, SoakFigures};
use crate::session::publisher;
use crate::tcp::tls_connector;
use crate::xmpp::{SaltCache, XmppIo, login};
use crate::{LoadError, Options, Transport};

/// Most logins one desktop makes in a run: a bound on its loop whatever the timings.
const MAX_ROUNDS: u64 = 100_000;
/// Longest a login may take.
const LOGIN_LIMIT: Duration = Duration::from_secs(60);
/// How often progress is printed during the churn.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// How the soak's desktops churn, and how its end is checked.
#[derive(Clone, Debug)]
pub struct SoakOptions {
    /// Mean time a desktop stays logged in; each stay is drawn between half and one and a half
    /// times this.
    pub life: Duration,
    /// Share of departures that are kills (connection dropped, no terminate); the rest terminate.
    pub kill_ratio: f64,
    /// Mean pause before a desktop that left logs in again (drawn the same way as stays).
    pub pause: Duration,
    /// Mean interval between two messages a desktop sends to another desktop's account.
    pub message_every: Duration,
    /// Longest wait, once every client has stopped, for the server to end the sessions of the
    /// clients killed last (it needs their BOSH `wait`, then its inactivity timeout, twice).
    pub drain: Duration,
    /// Herald's `info.log`: live sessions are counted from its lines (`None`: not counted, only
    /// the server's connections are).
    pub server_log: Option<PathBuf>,
}

impl Default for SoakOptions {
    fn default() -> Self {
        Self {
            life: Duration::from_secs(60),
            kill_ratio: 0.5,
            pause: Duration::from_secs(2),
            message_every: Duration::from_secs(30),
            drain: Duration::from_secs(150),
            server_log: None,
        }
    }
}

impl SoakOptions {
    /// Checks the soak's settings.
    pub(crate) fn validate(&self, transport: Transport) -> Result<(), LoadError> {
        if transport != Transport::Bosh {
            return Err(LoadError::Config("the soak runs over BOSH only".into()));
        }
        if !(0.0..=1.0).contains(&self.kill_ratio) {
            return Err(LoadError::Config("the kill ratio must be between 0 and 1".into()));
        }
        if self.life < Duration::from_secs(1) || self.message_every < Duration::from_millis(100) {
            return Err(LoadError::Config("stays must last at least 1 s and messages be at least 100 ms apart".into()));
        }
        if self.pause > Duration::from_secs(600) || self.drain > Duration::from_secs(3600) {
            return Err(LoadError::Config("the pause must be at most 600 s and the drain at most 3600 s".into()));
        }
        Ok(())
    }
}

/// What the desktops count, shared by all of them.
#[derive(Default)]
struct Counters {
    first_logins: AtomicUsize,
    first_failures: AtomicUsize,
    logins: AtomicU64,
    terminates: AtomicU64,
    kills: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    first_error: Mutex<Option<String>>,
}

impl Counters {
    fn error(&self, error: &LoadError) {
        *self.errors.lock().unwrap_or_else(|e| e.into_inner()).entry(error.kind()).or_default() += 1;
        self.first_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(|| error.to_string());
    }

    fn errors(&self) -> BTreeMap<String, u64> {
        self.errors.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// What one desktop shares with the others.
struct Shared {
    opts: Arc<Options>,
    cache: SaltCache,
    fanout: Arc<Fanout>,
    counters: Arc<Counters>,
}

/// A duration drawn uniformly between half and one and a half times `mean`.
fn around(mean: Duration) -> Duration {
    mean.mul_f64(0.5 + rand::random::<f64>())
}

/// How a stay ended.
enum Departure {
    Terminated,
    Killed,
    Failed(LoadError),
    Stopped,
}

/// One desktop: logs in, stays, leaves, pauses, again, until told to stop.
async fn desktop(n: usize, shared: Arc<Shared>, mut stop: watch::Receiver<bool>, permit: OwnedSemaphorePermit) {
    let Shared { opts, cache, fanout, counters } = &*shared;
    let user = format!("{}{n}", opts.user_prefix);
    let mut permit = Some(permit);
    let mut subscribed = false;
    let mut fresh_resource = false;
    for round in 0..MAX_ROUNDS {
        if *stop.borrow() {
            return;
        }
        // After a kill, half the desktops come back with a new resource (the old session lingers
        // until the server's inactivity timeout ends it), the others with the same one (the new
        // login replaces the old session).
        let resource = if fresh_resource { format!("soak{round}") } else { "load".to_owned() };
        let attempt = async {
            let mut client = BoshClient::connect(opts, n, None).await?;
            client.create().await?;
            login(&mut client, opts, &user, &resource, cache).await?;
            if !subscribed {
                fanout.subscribe(&mut client, opts, &user, None, n).await?;
            }
            Ok::<_, LoadError>(client)
        };
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(LOGIN_LIMIT, attempt) => outcome.unwrap_or(Err(LoadError::Timeout("login"))),
            _ = stop.changed() => return,
        };
        let first = permit.take().is_some();
        let departure = match outcome {
            Ok(client) => {
                subscribed = true;
                counters.logins.fetch_add(1, Ordering::Relaxed);
                if first {
                    counters.first_logins.fetch_add(1, Ordering::Relaxed);
                }
                let kill = rand::random::<f64>() < opts.soak.kill_ratio;
                stay(client, n, &shared, around(opts.soak.life), kill, &mut stop).await
            }
            Err(e) => {
                if first {
                    counters.first_failures.fetch_add(1, Ordering::Relaxed);
                }
                Departure::Failed(e)
            }
        };
        fresh_resource = false;
        match departure {
            Departure::Terminated => drop(counters.terminates.fetch_add(1, Ordering::Relaxed)),
            Departure::Killed => {
                counters.kills.fetch_add(1, Ordering::Relaxed);
                fresh_resource = rand::random::<bool>();
            }
            Departure::Failed(e) => counters.error(&e),
            Departure::Stopped => return,
        }
        tokio::select! {
            () = tokio::time::sleep(around(opts.soak.pause)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One stay: long polls held until `stay` has passed, messages sent now and then; then a
/// terminate, or (`kill`) the connection dropped mid-poll.
async fn stay(
    mut client: BoshClient,
    n: usize,
    shared: &Shared,
    stay: Duration,
    kill: bool,
    stop: &mut watch::Receiver<bool>,
) -> Departure {
    let Shared { opts, fanout, counters, .. } = shared;
    let until = Instant::now() + stay;
    let mut next_message = Instant::now() + around(opts.soak.message_every);
    let mut sent = 0u64;
    let receive = |el: Element| {
        let ours = el.name == "message"
            && el.child("soak", NS_TICK).and_then(|s| s.attr("run")).and_then(|r| r.parse::<u64>().ok()) == Some(fanout.run);
        if ours {
            counters.received.fetch_add(1, Ordering::Relaxed);
        } else {
            fanout.record(n, &el);
        }
    };
    client.take_pending().into_iter().for_each(receive);
    loop {
        let now = Instant::now();
        if !kill && now >= until {
            return match client.terminate().await {
                Ok(()) => Departure::Terminated,
                Err(e) => Departure::Failed(e),
            };
        }
        if now >= next_message {
            // Rides on the next long poll, as a desktop's message does on its next request.
            let to = (n + 1 + (rand::random::<u64>() as usize) % opts.sessions.saturating_sub(1).max(1)) % opts.sessions;
            let _ = client
                .send_soon(&format!(
                    "<message xmlns='jabber:client' type='chat' to='{}{to}@{}' id='s{n}-{sent}'><body>soak</body><soak xmlns='{NS_TICK}' run='{}'/></message>",
                    opts.user_prefix, opts.domain, fanout.run
                ))
                .await;
            sent += 1;
            counters.sent.fetch_add(1, Ordering::Relaxed);
            next_message = now + around(opts.soak.message_every);
        }
        tokio::select! {
            polled = client.poll() => match polled {
                Ok(elements) => elements.into_iter().for_each(receive),
                Err(e) => return Departure::Failed(e),
            },
            () = tokio::time::sleep_until(until.into()), if kill => return Departure::Killed,
            _ = stop.changed() => return Departure::Stopped,
        }
    }
}

/// The server's samples over the churn: start, middle, end, with progress lines.
async fn sample_churn(opts: &Options, counters: &Counters, churn: Duration, figures: &mut SoakFigures) {
    let started = Instant::now();
    let (middle_at, end_at) = (started + churn / 2, started + churn);
    let mut next_progress = started + PROGRESS_EVERY;
    while Instant::now() < end_at {
        let next = [middle_at, end_at, next_progress].into_iter().filter(|t| *t > Instant::now()).min().unwrap_or(end_at);
        tokio::time::sleep_until(next.into()).await;
        let now = Instant::now();
        if figures.middle.is_none() && now >= middle_at {
            figures.middle = opts.server_pid.and_then(sample);
        }
        if now >= next_progress {
            next_progress += PROGRESS_EVERY;
            let rss = opts.server_pid.and_then(sample).map_or(0, |s| s.rss_kib / 1024);
            eprintln!(
                "  {:>4.0} s: logins {}, terminates {}, kills {}, messages {} / {}, errors {}, server RSS {rss} MiB",
                started.elapsed().as_secs_f64(),
                counters.logins.load(Ordering::Relaxed),
                counters.terminates.load(Ordering::Relaxed),
                counters.kills.load(Ordering::Relaxed),
                counters.sent.load(Ordering::Relaxed),
                counters.received.load(Ordering::Relaxed),
                counters.errors().values().sum::<u64>(),
            );
        }
    }
    figures.end = opts.server_pid.and_then(sample);
}

/// Waits, once every client has stopped, until the server holds no client connection and (with
/// its log) no live session, or `drain` passes.
async fn drain(opts: &Options, log: &mut Option<LogFollower>, figures: &mut SoakFigures) {
    let started = Instant::now();
    loop {
        figures.connections_left = opts.server_pid.and_then(tcp_connections);
        figures.log = log.as_mut().and_then(|l| l.update().ok());
        let quiet = figures.connections_left.unwrap_or(0) == 0 && figures.log.is_none_or(|l| l.live() == 0);
        if quiet || started.elapsed() >= opts.soak.drain {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    figures.drain_time = started.elapsed();
    figures.drained = opts.server_pid.and_then(sample);
}

/// Runs the soak.
pub(crate) async fn run(opts: Options) -> Result<Report, LoadError> {
    let opts = Arc::new(opts);
    let tls = opts.ca.as_ref().map(|_| tls_connector(&opts)).transpose()?;
    let shared = Arc::new(Shared {
        opts: opts.clone(),
        cache: SaltCache::default(),
        fanout: Arc::new(Fanout::new(&opts)),
        counters: Arc::default(),
    });
    // The log is followed from before the first login of the run, the publisher's included.
    let mut log = opts.soak.server_log.as_deref().map(LogFollower::open).transpose()?;
    let mut publishing = publisher(&opts, tls.as_ref(), &shared.cache).await?;
    shared.fanout.create_nodes(&mut publishing).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut report = Report { sessions: opts.sessions, before: opts.server_pid.and_then(sample), ..Report::default() };
    let started = Instant::now();
    let deadline = started + opts.deadline;
    let mut desktops = tokio::task::JoinSet::new();
    for n in 0..opts.sessions {
        let permit = login_slot(&opts, n, started, &slots).await;
        desktops.spawn(desktop(n, shared.clone(), stop_rx.clone(), permit));
        if Instant::now() > deadline {
            break;
        }
    }
    let counters = &shared.counters;
    wait_for_logins(&mut report, &counters.first_logins, &counters.first_failures, started, deadline).await;
    let mut figures = SoakFigures { start: opts.server_pid.and_then(sample), ..SoakFigures::default() };
    report.after_logins = figures.start;
    figures.churn = opts.hold.min(deadline.saturating_duration_since(Instant::now()));
    eprintln!("  churning for {} s, publishing {:.0}/s to {} nodes", figures.churn.as_secs(), opts.publish_rate, opts.nodes);
    let publish_opts = Options { hold: figures.churn, ..(*opts).clone() };
    let churn = figures.churn;
    let (published, ()) =
        tokio::join!(shared.fanout.publish(&mut publishing, &publish_opts, true), sample_churn(&opts, counters, churn, &mut figures));
    let _ = stop_tx.send(true);
    desktops.abort_all();
    while desktops.join_next().await.is_some() {}
    drop(publishing);
    eprintln!("  every client stopped; waiting for the server to end their sessions");
    drain(&opts, &mut log, &mut figures).await;
    let (publishing, publish_error) = published?;
    figures.publishing = publishing;
    figures.logins = counters.logins.load(Ordering::Relaxed);
    figures.terminates = counters.terminates.load(Ordering::Relaxed);
    figures.kills = counters.kills.load(Ordering::Relaxed);
    figures.messages_sent = counters.sent.load(Ordering::Relaxed);
    figures.messages_received = counters.received.load(Ordering::Relaxed);
    figures.errors = counters.errors();
    report.first_error = counters.first_error.lock().unwrap_or_else(|e| e.into_inner()).clone().or(publish_error);
    report.end = figures.end;
    report.peak_rss_kib = [figures.start, figures.middle, figures.end].into_iter().flatten().map(|s| s.rss_kib).max().unwrap_or(0);
    report.soak = Some(figures);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_and_pauses_are_drawn_around_their_mean() {
        for _ in 0..1000 {
            let d = around(Duration::from_secs(10));
            assert!(d >= Duration::from_secs(5) && d <= Duration::from_secs(15), "{d:?}");
        }
    }

    #[test]
    fn errors_are_counted_by_kind() {
        let counters = Counters::default();
        counters.error(&LoadError::Protocol("HTTP 404 Not Found".into()));
        counters.error(&LoadError::Protocol("HTTP 404 Not Found".into()));
        counters.error(&LoadError::Protocol("session terminated: item-not-found".into()));
        counters.error(&LoadError::Timeout("login"));
        let figures = SoakFigures { errors: counters.errors(), ..SoakFigures::default() };
        assert_eq!(figures.errors_json(), "{\"http-404\":2,\"terminated-item-not-found\":1,\"timeout\":1}");
        assert_eq!(figures.error_count(), 4);
    }

    #[test]
    fn only_bosh_soaks_with_sane_settings() {
        let good = SoakOptions::default();
        assert!(good.validate(Transport::Bosh).is_ok());
        assert!(good.validate(Transport::Tcp).is_err());
        assert!(SoakOptions { kill_ratio: 1.5, ..good.clone() }.validate(Transport::Bosh).is_err());
        assert!(SoakOptions { life: Duration::ZERO, ..good }.validate(Transport::Bosh).is_err());
    }
}
