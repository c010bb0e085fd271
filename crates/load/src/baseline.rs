//! The raw HTTP baseline: connections that POST an empty BOSH body every `wait` seconds to a
//! server that answers at once, the same request rate and size as sessions whose long polls
//! expire after `wait`. The server's CPU per answered request is the ceiling a BOSH round trip
//! is measured against.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::bosh::BoshClient;
use crate::measure::sample;
use crate::progress::wait_for_logins;
use crate::report::Report;
use crate::{LoadError, Options};

/// Opens `opts.sessions` connections, then measures the server over `opts.hold`.
pub(crate) async fn run(opts: Options) -> Result<Report, LoadError> {
    let opts = Arc::new(opts);
    let (connected, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let round_trips = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut report = Report { sessions: opts.sessions, before: opts.server_pid.and_then(sample), ..Report::default() };
    let started = Instant::now();
    let cycle = Duration::from_secs(u64::from(opts.wait.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..opts.sessions {
        let (opts, connected, failed, round_trips, mut stop) =
            (opts.clone(), connected.clone(), failed.clone(), round_trips.clone(), stop_rx.clone());
        tasks.spawn(async move {
            let Ok(mut client) = BoshClient::connect(&opts, n, None).await else {
                failed.fetch_add(1, Ordering::Relaxed);
                return;
            };
            connected.fetch_add(1, Ordering::Relaxed);
            // Spread the connections' cycles evenly over one cycle, as expiring polls spread.
            let mut next = Instant::now() + cycle.mul_f64((n % 1000) as f64 / 1000.0);
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(next.into()) => {}
                    _ = stop.changed() => return,
                }
                next += cycle;
                if client.post_unparsed().await.is_err() {
                    return;
                }
                round_trips.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    wait_for_logins(&mut report, &connected, &failed, started, started + opts.deadline).await;
    tokio::time::sleep(cycle).await;
    report.after_logins = opts.server_pid.and_then(sample);
    let before = round_trips.load(Ordering::Relaxed);
    tokio::time::sleep(opts.hold).await;
    report.end = opts.server_pid.and_then(sample);
    report.round_trips = round_trips.load(Ordering::Relaxed) - before;
    report.peak_rss_kib = report.end.map_or(0, |s| s.rss_kib);
    let _ = stop_tx.send(true);
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    Ok(report)
}

/// The baseline server: HTTP/1.1 on `listener`, every request answered at once with an empty
/// 200, until `shutdown` resolves. Plain hyper with nothing on top, so that it is the ceiling
/// any HTTP-based long poll can reach on this machine.
pub async fn serve(listener: tokio::net::TcpListener, shutdown: impl std::future::Future<Output = ()>) -> std::io::Result<()> {
    use http_body_util::Empty;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => return Ok(()),
        };
        tokio::spawn(async move {
            let answer =
                service_fn(|_request| async { Ok::<_, std::convert::Infallible>(hyper::Response::new(Empty::<bytes::Bytes>::new())) });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), answer).await;
        });
    }
}
