//! Publish → delivery through Herald's pubsub service, in process: N sessions subscribe to one
//! node (full-JID subscriptions, the way desktops subscribe), a publisher publishes M items one
//! after the other, and a task per session drains its queue the way a transport driver does,
//! timing every delivery from the start of its publish. The store is SQLite on disk, so every
//! publish includes its durable commit. Reports latency percentiles, lost and duplicated
//! deliveries, throughput, and server CPU per 1,000 deliveries (utime + stime of this process
//! from /proc, so the figure does not depend on how busy the machine is).
//!
//! Usage: `pubsub-fanout [SUBSCRIBERS[,SUBSCRIBERS…]] [PUBLISHES]` (default `1,100,10000 200`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald_core::{Core, CoreConfig, Origin, Transport};
use herald_proto::Jid;
use herald_store::{AnyStore, SqliteStore};
use herald_xml::Element;

/// CPU time this process has used (utime + stime), from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0) + fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
    // Linux reports in USER_HZ, which is 100 on every architecture Herald targets.
    Duration::from_millis(ticks * 10)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

struct Outcome {
    subscribers: usize,
    publishes: usize,
    delivered: usize,
    duplicated: usize,
    latencies_us: Vec<u64>,
    wall: Duration,
    cpu: Duration,
}

async fn run(subscribers: usize, publishes: usize) -> anyhow::Result<Outcome> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("bench.db")).await?;
    let mut config = CoreConfig::new("bench.example");
    config.session_queue = publishes + 16;
    let core = Core::start(config, AnyStore::Sqlite(store)).await?;
    let node = "/finesse/api/Team/1/Users";
    core.pubsub().create_node(None, Some(node), None).await?;
    let sent: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; publishes]));
    let mut consumers = Vec::with_capacity(subscribers);
    for i in 0..subscribers {
        let origin = Origin { transport: Transport::Tcp, source: std::net::Ipv4Addr::LOCALHOST.into() };
        let mut session = core.bind(&format!("agent{i}"), Some("desk".into()), origin)?;
        core.pubsub().subscribe(None, node, &Jid::from(session.jid.clone())).await?;
        let sent = sent.clone();
        consumers.push(tokio::spawn(async move {
            let mut seen = vec![false; publishes];
            let (mut latencies, mut duplicated) = (Vec::with_capacity(publishes), 0usize);
            let mut received = 0;
            while received < publishes {
                let Some(message) = session.inbox.recv().await else { break };
                let received_at = Instant::now();
                // Serialise as a transport would, so the shared payload is really written out.
                let wire = message.to_xml();
                std::hint::black_box(&wire);
                let seq: usize = message.attr("id").and_then(|id| id.rsplit('#').next()).and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);
                let Some(start) = sent.lock().unwrap().get(seq).copied().flatten() else { continue };
                if std::mem::replace(&mut seen[seq], true) {
                    duplicated += 1;
                }
                latencies.push(received_at.duration_since(start).as_micros() as u64);
                received += 1;
            }
            (latencies, duplicated, session)
        }));
    }
    let cpu_before = cpu_time();
    let started = Instant::now();
    for seq in 0..publishes {
        let payload = Element::new("notification", "http://jabber.org/protocol/pubsub").with_text(format!(
            "<Update><data><user><loginId>{seq}</loginId><state>READY</state></user></data><event>PUT</event></Update>"
        ));
        sent.lock().unwrap()[seq] = Some(Instant::now());
        core.pubsub().publish(None, node, None, Some(payload)).await?;
    }
    let mut latencies_us = Vec::with_capacity(subscribers * publishes);
    let mut duplicated = 0;
    for consumer in consumers {
        let (l, d, _session) = tokio::time::timeout(Duration::from_secs(120), consumer).await??;
        latencies_us.extend(l);
        duplicated += d;
    }
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    latencies_us.sort_unstable();
    Ok(Outcome { subscribers, publishes, delivered: latencies_us.len(), duplicated, latencies_us, wall, cpu })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let sizes: Vec<usize> = args.next().unwrap_or_else(|| "1,100,10000".into()).split(',').map(|s| s.parse()).collect::<Result<_, _>>()?;
    let publishes: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(200);
    println!(
        "| subscribers | publishes | deliveries | lost | duplicated | p50 ms | p99 ms | p99.9 ms | max ms | publishes/s | deliveries/s | CPU ms per 1,000 deliveries |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for subscribers in sizes {
        // Fewer publishes for the largest size keeps the run bounded (and within queue sizes).
        let publishes = if subscribers >= 10_000 { publishes.min(100) } else { publishes };
        let o = run(subscribers, publishes).await?;
        let expected = o.subscribers * o.publishes;
        let l = &o.latencies_us;
        println!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} |",
            o.subscribers,
            o.publishes,
            o.delivered,
            expected.saturating_sub(o.delivered),
            o.duplicated,
            percentile(l, 0.5),
            percentile(l, 0.99),
            percentile(l, 0.999),
            percentile(l, 1.0),
            o.publishes as f64 / o.wall.as_secs_f64(),
            o.delivered as f64 / o.wall.as_secs_f64(),
            o.cpu.as_secs_f64() * 1000.0 * 1000.0 / (o.delivered.max(1) as f64),
        );
    }
    Ok(())
}
