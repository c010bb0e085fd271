//! The scenarios: sessions log in the way a desktop does (SASL SCRAM, restart, bind, presence),
//! at a ramp rate with bounded concurrency, then hold their long polls or leave; the server is
//! sampled before, after the logins and while sessions are held.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, watch};

use crate::fanout::Fanout;
use crate::measure::sample;
use crate::progress::{login_slot, record_failure, wait_for_logins};
use crate::report::Report;
use crate::session::{establish, hold, publisher};
use crate::tcp::tls_connector;
use crate::xmpp::SaltCache;
use crate::{LoadError, Options, Scenario, Transport};

/// Runs one scenario against one server.
pub async fn run(opts: Options) -> Result<Report, LoadError> {
    opts.validate()?;
    match opts.scenario {
        Scenario::HttpBaseline => return crate::baseline::run(opts).await,
        Scenario::Soak => return crate::soak::run(opts).await,
        Scenario::Agents => return crate::agents::run(opts).await,
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
