//! The scenarios: sessions log in the way a desktop does (SASL SCRAM, restart, bind, presence),
//! at a ramp rate with bounded concurrency, then hold their long polls or leave; the server is
//! sampled before, after the logins and while sessions are held.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use herald_sasl::{HashAlg, ScramClient};
use herald_xml::Element;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::bosh::BoshClient;
use crate::fanout::{Fanout, FanoutFigures};
use crate::measure::{ProcSample, sample};
use crate::soak::SoakFigures;
use crate::tcp::{TcpClient, tls_connector};
use crate::ws::WsClient;
use crate::{LoadError, Mechanism, Options, Scenario, Transport};

/// What the login sequence needs from a transport.
pub(crate) trait XmppIo {
    /// Sends one or more serialised elements.
    fn send(&mut self, xml: &str) -> impl Future<Output = Result<(), LoadError>> + Send;
    /// The next element from the server.
    fn next(&mut self) -> impl Future<Output = Result<Element, LoadError>> + Send;
    /// Restarts the stream after SASL success.
    fn restart(&mut self) -> impl Future<Output = Result<(), LoadError>> + Send;
    /// Sends without waiting for an answer: over BOSH it rides on the next request, as a
    /// desktop's presence does (a server may hold that request for `wait` seconds).
    fn send_soon(&mut self, xml: &str) -> impl Future<Output = Result<(), LoadError>> + Send;
}

/// Salted passwords computed so far, by (salt, iterations): a real client keeps its own, so
/// repeated logins do not pay PBKDF2 again, and neither does this generator. Every account of a
/// run has the same password, so the salt and iteration count alone say what was salted.
pub(crate) type SaltCache = Arc<Mutex<HashMap<(String, u32), Vec<u8>>>>;

pub(crate) async fn next_named<T: XmppIo>(io: &mut T, name: &str) -> Result<Element, LoadError> {
    loop {
        let el = io.next().await?;
        if el.name == name {
            return Ok(el);
        }
        if el.name == "failure" || (el.name == "error" && name != "error") {
            return Err(LoadError::Auth(el.to_xml()));
        }
    }
}

/// SASL SCRAM, restart, bind of `resource` and initial presence.
pub(crate) async fn login<T: XmppIo>(io: &mut T, opts: &Options, user: &str, resource: &str, cache: &SaltCache) -> Result<(), LoadError> {
    let features = next_named(io, "features").await?;
    let (hash, name) = match opts.mechanism {
        Mechanism::ScramSha1 => (HashAlg::Sha1, "SCRAM-SHA-1"),
        Mechanism::ScramSha256 => (HashAlg::Sha256, "SCRAM-SHA-256"),
    };
    if !features.to_xml().contains(&format!(">{name}<")) {
        return Err(LoadError::Protocol(format!("{name} not offered")));
    }
    let mut client = ScramClient::new(hash, user, &opts.password, &rand::random::<[u8; 12]>());
    io.send(&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{name}'>{}</auth>", B64.encode(client.client_first())))
        .await?;
    let challenge = next_named(io, "challenge").await?;
    let server_first = String::from_utf8(B64.decode(challenge.text().trim()).map_err(|e| LoadError::Protocol(e.to_string()))?)
        .map_err(|e| LoadError::Protocol(e.to_string()))?;
    let salt = server_first.split(',').find_map(|p| p.strip_prefix("s=")).unwrap_or_default().to_owned();
    let iterations: u32 = server_first.split(',').find_map(|p| p.strip_prefix("i=")).and_then(|i| i.parse().ok()).unwrap_or(0);
    let key = (salt, iterations);
    if let Some(salted) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned() {
        client = client.with_salted_password(salted);
    }
    let fin = client.client_final(&server_first).map_err(|e| LoadError::Auth(e.to_string()))?;
    if let Some(salted) = client.salted() {
        cache.lock().unwrap_or_else(|e| e.into_inner()).insert(key, salted.to_vec());
    }
    io.send(&format!("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>", B64.encode(fin))).await?;
    let success = next_named(io, "success").await?;
    let verifier = String::from_utf8(B64.decode(success.text().trim()).unwrap_or_default()).unwrap_or_default();
    client.verify_server_final(&verifier).map_err(|_| LoadError::Auth("the server's signature is wrong".into()))?;
    io.restart().await?;
    next_named(io, "features").await?;
    io.send(&format!(
        "<iq xmlns='jabber:client' type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"
    ))
    .await?;
    let bound = next_named(io, "iq").await?;
    if bound.attr("type") != Some("result") {
        return Err(LoadError::Protocol(format!("bind failed: {}", bound.to_xml())));
    }
    io.send_soon("<presence xmlns='jabber:client'/>").await
}

/// The outcome of a run, with the server-side figures.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Sessions asked for.
    pub sessions: usize,
    /// Sessions that logged in.
    pub logged_in: usize,
    /// Sessions that failed (the first error is in `first_error`).
    pub failed: usize,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// Time from the first login attempt to the last login.
    pub login_time: Duration,
    /// Server sample before the run.
    pub before: Option<ProcSample>,
    /// Server sample when every login was done.
    pub after_logins: Option<ProcSample>,
    /// Highest RSS seen while sessions were held.
    pub peak_rss_kib: u64,
    /// Server sample at the end of the hold.
    pub end: Option<ProcSample>,
    /// BOSH long polls answered while the sessions were held.
    pub round_trips: u64,
    /// The fan-out figures, for that scenario.
    pub fanout: Option<FanoutFigures>,
    /// The soak's figures, for that scenario.
    pub soak: Option<SoakFigures>,
}

impl Report {
    /// Logins per second.
    pub fn logins_per_sec(&self) -> f64 {
        self.logged_in as f64 / self.login_time.as_secs_f64().max(1e-9)
    }

    /// Server memory added per logged-in session, KiB.
    pub fn kib_per_session(&self) -> Option<f64> {
        let (b, a) = (self.before?, self.after_logins?);
        Some(a.rss_kib.saturating_sub(b.rss_kib) as f64 / self.logged_in.max(1) as f64)
    }

    /// Server CPU per login, ms.
    pub fn cpu_ms_per_login(&self) -> Option<f64> {
        let (b, a) = (self.before?, self.after_logins?);
        Some(a.cpu.saturating_sub(b.cpu).as_secs_f64() * 1000.0 / self.logged_in.max(1) as f64)
    }

    /// Server CPU while the sessions were held, ms per 1,000 sessions per minute.
    pub fn idle_cpu_ms(&self, hold: Duration) -> Option<f64> {
        let (a, e) = (self.after_logins?, self.end?);
        let minutes = hold.as_secs_f64() / 60.0;
        Some(e.cpu.saturating_sub(a.cpu).as_secs_f64() * 1000.0 / (self.logged_in.max(1) as f64 / 1000.0) / minutes.max(1e-9))
    }

    /// Server CPU per answered long poll while the sessions were held, microseconds.
    pub fn cpu_us_per_round_trip(&self) -> Option<f64> {
        let (a, e) = (self.after_logins?, self.end?);
        (self.round_trips > 0).then(|| e.cpu.saturating_sub(a.cpu).as_secs_f64() * 1e6 / self.round_trips as f64)
    }

    /// The summary figures, once for both renderings: (JSON key, table heading, value when
    /// measured, decimals).
    fn figures(&self, opts: &Options) -> Vec<(&'static str, &'static str, Option<f64>, usize)> {
        let mut figures = vec![
            ("sessions", "sessions", Some(self.sessions as f64), 0),
            ("logged_in", "logged in", Some(self.logged_in as f64), 0),
            ("failed", "failed", Some(self.failed as f64), 0),
            ("login_seconds", "login time s", Some(self.login_time.as_secs_f64()), 2),
            ("logins_per_sec", "logins/s", Some(self.logins_per_sec()), 0),
            ("kib_per_session", "server KiB per session", self.kib_per_session(), 2),
            ("cpu_ms_per_login", "server CPU ms per login", self.cpu_ms_per_login(), 2),
            ("idle_cpu_ms_per_1000_sessions_per_min", "idle CPU ms per 1,000 sessions per min", self.idle_cpu_ms(opts.hold), 2),
        ];
        if self.round_trips > 0 {
            figures.push(("round_trips", "round trips", Some(self.round_trips as f64), 0));
            figures.push(("cpu_us_per_round_trip", "server CPU µs per round trip", self.cpu_us_per_round_trip(), 1));
        }
        if let Some(f) = &self.fanout {
            figures.extend([
                ("nodes", "nodes", Some(f.nodes as f64), 0),
                ("subscriptions", "subscriptions", Some(f.subscriptions as f64), 0),
                ("published", "published", Some(f.published as f64), 0),
                ("acknowledged", "acknowledged", Some(f.acknowledged as f64), 0),
                ("refused", "refused", Some(f.refused as f64), 0),
                ("publish_rate", "publishes/s", Some(f.publish_rate), 0),
                ("expected", "deliveries owed", Some(f.expected as f64), 0),
                ("delivered", "delivered", Some(f.delivered as f64), 0),
                ("lost", "lost", Some(f.lost as f64), 0),
                ("duplicated", "duplicated", Some(f.duplicated as f64), 0),
                ("p50_ms", "p50 ms", Some(f.p50_ms), 2),
                ("p99_ms", "p99 ms", Some(f.p99_ms), 2),
                ("p999_ms", "p99.9 ms", Some(f.p999_ms), 2),
                ("max_ms", "max ms", Some(f.max_ms), 2),
                ("cpu_ms_per_1000_deliveries", "server CPU ms per 1,000 deliveries", f.cpu_ms_per_1000, 2),
            ]);
        }
        if let Some(soak) = &self.soak {
            figures.extend(soak.figures());
        }
        figures
    }

    /// The report as a markdown table (header, separator, one row).
    pub fn to_table(&self, opts: &Options) -> String {
        let figures = self.figures(opts);
        let heading: Vec<&str> = figures.iter().map(|f| f.1).collect();
        let values: Vec<String> = figures.iter().map(|(_, _, v, d)| v.map_or("-".to_owned(), |v| format!("{v:.d$}"))).collect();
        format!("| {} |\n|{}\n| {} |", heading.join(" | "), "---:|".repeat(figures.len()), values.join(" | "))
    }

    /// The report as one JSON object.
    pub fn to_json(&self, opts: &Options) -> String {
        let mut fields = vec![format!("\"scenario\":\"{:?}\"", opts.scenario), format!("\"transport\":\"{:?}\"", opts.transport)];
        for (key, _, value, decimals) in self.figures(opts) {
            fields.push(format!("\"{key}\":{}", value.map_or("null".to_owned(), |v| format!("{v:.decimals$}"))));
        }
        for (key, sample) in [("server_rss_kib_before", self.before), ("server_rss_kib_after_logins", self.after_logins)] {
            fields.push(format!("\"{key}\":{}", sample.map_or(0, |s| s.rss_kib)));
        }
        fields.push(format!("\"server_rss_kib_peak\":{}", self.peak_rss_kib));
        if let Some(soak) = &self.soak {
            fields.push(format!("\"errors_by_kind\":{}", soak.errors_json()));
        }
        format!("{{{}}}", fields.join(","))
    }
}

/// Logs a session in over its transport and, for the fan-out scenario, subscribes it.
async fn establish(
    opts: &Options,
    n: usize,
    user: &str,
    tls: Option<&tokio_rustls::TlsConnector>,
    cache: &SaltCache,
    fanout: Option<&Fanout>,
) -> Result<Session, LoadError> {
    let mut session = match (opts.transport, tls) {
        (Transport::Tcp, Some(tls)) => Session::Tcp(Box::new(TcpClient::connect(opts, n, tls).await?)),
        (Transport::WebSocket, _) => Session::WebSocket(Box::new(WsClient::connect(opts, n).await?)),
        _ => {
            let mut c = BoshClient::connect(opts, n, tls.filter(|_| opts.https)).await?;
            c.create().await?;
            Session::Bosh(c)
        }
    };
    login(&mut session, opts, user, "load", cache).await?;
    if let Some(fanout) = fanout {
        fanout.subscribe(&mut session, opts, user, Some("load"), n).await?;
    }
    Ok(session)
}

/// The fan-out publisher: over TCP when a CA is given, over WebSocket otherwise (either pushes
/// publishes without waiting for each answer).
pub(crate) async fn publisher(opts: &Options, tls: Option<&tokio_rustls::TlsConnector>, cache: &SaltCache) -> Result<Session, LoadError> {
    let mut session = match tls {
        Some(tls) => Session::Tcp(Box::new(TcpClient::connect(opts, opts.sessions, tls).await?)),
        None => Session::WebSocket(Box::new(WsClient::connect(opts, opts.sessions).await?)),
    };
    login(&mut session, opts, &opts.publisher, "load", cache).await?;
    Ok(session)
}

/// Runs one scenario against one server.
pub async fn run(opts: Options) -> Result<Report, LoadError> {
    opts.validate()?;
    match opts.scenario {
        Scenario::HttpBaseline => return crate::baseline::run(opts).await,
        Scenario::Soak => return crate::soak::run(opts).await,
        _ => {}
    }
    let opts = Arc::new(opts);
    let tls = match (opts.transport, &opts.ca) {
        (Transport::Tcp, _) | (_, Some(_)) => Some(tls_connector(&opts)?),
        (Transport::Bosh | Transport::WebSocket, None) => None,
    };
    let cache: SaltCache = Arc::default();
    let fanout = (opts.scenario == Scenario::Fanout).then(|| Arc::new(Fanout::new(&opts)));
    let mut publishing = None;
    if let Some(fanout) = &fanout {
        let mut session = publisher(&opts, tls.as_ref(), &cache).await?;
        fanout.create_nodes(&mut session).await?;
        publishing = Some(session);
    }
    let logged_in = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let round_trips = Arc::new(AtomicU64::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut report = Report { sessions: opts.sessions, before: opts.server_pid.and_then(sample), ..Report::default() };
    let started = Instant::now();
    let deadline = started + opts.deadline;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..opts.sessions {
        let permit = login_slot(&opts, n, started, &slots).await;
        let (opts, tls, cache, logged_in, failed, first_error, mut stop, fanout, round_trips) = (
            opts.clone(),
            tls.clone(),
            cache.clone(),
            logged_in.clone(),
            failed.clone(),
            first_error.clone(),
            stop_rx.clone(),
            fanout.clone(),
            round_trips.clone(),
        );
        tasks.spawn(async move {
            let user = format!("{}{n}", opts.user_prefix);
            let outcome = establish(&opts, n, &user, tls.as_ref(), &cache, fanout.as_deref());
            let session = match tokio::time::timeout(Duration::from_secs(60), outcome).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return record_failure(&failed, &first_error, e.to_string()),
                Err(_) => return record_failure(&failed, &first_error, "login took longer than 60 s".into()),
            };
            logged_in.fetch_add(1, Ordering::Relaxed);
            drop(permit);
            if opts.scenario != Scenario::LoginStorm {
                hold(session, &mut stop, &round_trips, |el| {
                    if let Some(f) = &fanout {
                        f.record(n, &el);
                    }
                })
                .await;
            }
        });
        if Instant::now() > deadline {
            break;
        }
    }
    wait_for_logins(&mut report, &logged_in, &failed, started, deadline).await;
    report.first_error = first_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // Let the server settle (held requests in place) before sampling memory.
    tokio::time::sleep(Duration::from_millis(500)).await;
    report.after_logins = opts.server_pid.and_then(sample);
    report.peak_rss_kib = report.after_logins.map_or(0, |s| s.rss_kib);
    let polls_before = round_trips.load(Ordering::Relaxed);
    match (&fanout, publishing.as_mut()) {
        (Some(fanout), Some(session)) => {
            eprintln!("  publishing {:.0}/s for {} s to {} nodes", opts.publish_rate, opts.hold.as_secs(), opts.nodes);
            let (figures, error) = fanout.publish(session, &opts, false).await?;
            if report.first_error.is_none() {
                report.first_error = error;
            }
            report.fanout = Some(figures);
        }
        _ if opts.scenario == Scenario::Idle => {
            let until = Instant::now() + opts.hold.min(deadline.saturating_duration_since(Instant::now()));
            while Instant::now() < until {
                tokio::time::sleep(Duration::from_secs(1).min(until.saturating_duration_since(Instant::now()))).await;
                if let Some(s) = opts.server_pid.and_then(sample) {
                    report.peak_rss_kib = report.peak_rss_kib.max(s.rss_kib);
                }
            }
            report.end = opts.server_pid.and_then(sample);
            report.round_trips = round_trips.load(Ordering::Relaxed) - polls_before;
        }
        _ => {}
    }
    let _ = stop_tx.send(true);
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    Ok(report)
}

/// When session `n` may start logging in: its turn at the ramp rate (from `started`), and a free
/// slot among the `concurrency` logins in progress.
pub(crate) async fn login_slot(opts: &Options, n: usize, started: Instant, slots: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    if opts.ramp_per_sec > 0.0 {
        tokio::time::sleep_until((started + Duration::from_secs_f64(n as f64 / opts.ramp_per_sec)).into()).await;
    }
    slots.clone().acquire_owned().await.expect("never closed")
}

/// Waits until every session has logged in or failed (or the deadline passes), with a progress
/// line, and records the count and the time taken.
pub(crate) async fn wait_for_logins(
    report: &mut Report,
    logged_in: &AtomicUsize,
    failed: &AtomicUsize,
    started: Instant,
    deadline: Instant,
) {
    while logged_in.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < report.sessions && Instant::now() < deadline {
        progress(logged_in, failed, report.sessions, started, "\r");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    progress(logged_in, failed, report.sessions, started, "\n");
    report.login_time = started.elapsed();
    report.logged_in = logged_in.load(Ordering::Relaxed);
    report.failed = failed.load(Ordering::Relaxed);
}

/// The progress line: `\r` to overwrite it, `\n` to end it.
fn progress(logged_in: &AtomicUsize, failed: &AtomicUsize, of: usize, started: Instant, end: &str) {
    let (ok, bad) = (logged_in.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprint!("\r  logged in {ok} / {of}, failed {bad}, {:.1} s   {}", started.elapsed().as_secs_f64(), if end == "\n" { "\n" } else { "" });
}

pub(crate) enum Session {
    Bosh(BoshClient),
    Tcp(Box<TcpClient>),
    WebSocket(Box<WsClient>),
}

impl XmppIo for Session {
    async fn send(&mut self, xml: &str) -> Result<(), LoadError> {
        match self {
            Session::Bosh(c) => c.send(xml).await,
            Session::Tcp(c) => c.send(xml).await,
            Session::WebSocket(c) => c.send(xml).await,
        }
    }

    async fn next(&mut self) -> Result<Element, LoadError> {
        match self {
            Session::Bosh(c) => c.next().await,
            Session::Tcp(c) => c.next().await,
            Session::WebSocket(c) => c.next().await,
        }
    }

    async fn restart(&mut self) -> Result<(), LoadError> {
        match self {
            Session::Bosh(c) => c.restart().await,
            Session::Tcp(c) => c.restart().await,
            Session::WebSocket(c) => c.restart().await,
        }
    }

    async fn send_soon(&mut self, xml: &str) -> Result<(), LoadError> {
        match self {
            Session::Bosh(c) => c.send_soon(xml).await,
            Session::Tcp(c) => c.send_soon(xml).await,
            Session::WebSocket(c) => c.send_soon(xml).await,
        }
    }
}

/// Keeps a session alive as a desktop does (a BOSH long poll always held, a stream read),
/// handing every element the server pushes to `on_element` and counting answered long polls.
async fn hold(mut session: Session, stop: &mut watch::Receiver<bool>, round_trips: &AtomicU64, mut on_element: impl FnMut(Element)) {
    if let Session::Bosh(c) = &mut session {
        c.take_pending().into_iter().for_each(&mut on_element);
        loop {
            tokio::select! {
                polled = c.poll() => match polled {
                    Ok(elements) => {
                        round_trips.fetch_add(1, Ordering::Relaxed);
                        elements.into_iter().for_each(&mut on_element);
                    }
                    Err(_) => return,
                },
                _ = stop.changed() => return,
            }
        }
    }
    loop {
        tokio::select! {
            read = session.next() => match read {
                Ok(el) => on_element(el),
                Err(_) => return,
            },
            _ = stop.changed() => return,
        }
    }
}

pub(crate) fn record_failure(failed: &AtomicUsize, first: &Mutex<Option<String>>, error: String) {
    failed.fetch_add(1, Ordering::Relaxed);
    let mut first = first.lock().unwrap_or_else(|e| e.into_inner());
    if first.is_none() {
        *first = Some(error);
    }
}
