//! The `fanout` scenario: subscribers spread over pubsub nodes, one publisher publishing at a
//! fixed rate. Every payload carries the run's id, a sequence number and its send time, so each
//! delivery's latency is measured where it arrives, and every lost or duplicated delivery is
//! counted against the publishes the server acknowledged.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use herald_xml::Element;

use crate::measure::{ProcSample, sample};
use crate::xmpp::{XmppIo, next_named};
use crate::{LoadError, Options};

const NS_PUBSUB: &str = "http://jabber.org/protocol/pubsub";
const NS_EVENT: &str = "http://jabber.org/protocol/pubsub#event";
const NS_SHIM: &str = "http://jabber.org/protocol/shim";
/// Namespace of the timestamped payload.
pub(crate) const NS_TICK: &str = "urn:herald:load";
/// Creations sent before their answers are awaited.
const CREATE_WINDOW: usize = 200;
/// Longest wait for deliveries still in flight after the last publish was acknowledged.
const DRAIN: Duration = Duration::from_secs(15);

/// What a fan-out run measured.
#[derive(Clone, Debug, Default)]
pub struct FanoutFigures {
    /// Nodes published to.
    pub nodes: usize,
    /// Subscriptions in place when publishing began.
    pub subscriptions: usize,
    /// Publishes sent.
    pub published: u64,
    /// Publishes the server acknowledged.
    pub acknowledged: u64,
    /// Publishes the server refused (the first refusal is in the report's `first_error`).
    pub refused: u64,
    /// Achieved publish rate, per second.
    pub publish_rate: f64,
    /// Deliveries owed for the acknowledged publishes.
    pub expected: u64,
    /// Distinct deliveries received.
    pub delivered: u64,
    /// Owed deliveries that never arrived.
    pub lost: u64,
    /// Deliveries received more than once.
    pub duplicated: u64,
    /// Delivery latency percentiles and maximum, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Maximum.
    pub max_ms: f64,
    /// Server CPU per 1,000 deliveries, milliseconds (from the publishing start to the drain).
    pub cpu_ms_per_1000: Option<f64>,
}

#[derive(Default)]
struct DeliveryLog {
    latencies_us: Vec<u64>,
    /// (subscriber, sequence) pairs received: what loss is counted against.
    seen: HashSet<(usize, u64)>,
    /// The same with the notification's SubID: a server may notify a JID once per subscription
    /// it holds (XEP-0060 §12.18, with SubID headers), which is not a duplicate.
    seen_per_subscription: HashSet<(usize, u64, String)>,
    duplicated: u64,
}

/// Shared state of one fan-out run: which subscriber listens where, and what arrived.
pub(crate) struct Fanout {
    pub(crate) run: u64,
    epoch: Instant,
    service: String,
    nodes: usize,
    subscribed: Vec<AtomicUsize>,
    log: Mutex<DeliveryLog>,
}

impl Fanout {
    pub(crate) fn new(opts: &Options) -> Self {
        let nodes = opts.nodes.max(1);
        Self {
            run: rand::random::<u32>().into(),
            epoch: Instant::now(),
            service: opts.pubsub_service(),
            nodes,
            subscribed: (0..nodes).map(|_| AtomicUsize::new(0)).collect(),
            log: Mutex::default(),
        }
    }

    fn node_name(&self, index: usize) -> String {
        format!("load-fanout-{index}")
    }

    /// Creates every node from the publisher's session; a node that exists already is fine.
    pub(crate) async fn create_nodes<T: XmppIo>(&self, io: &mut T) -> Result<(), LoadError> {
        // One element per send: over WebSocket each must be a message of its own (RFC 7395 §3.3.3).
        for window in (0..self.nodes).collect::<Vec<_>>().chunks(CREATE_WINDOW) {
            for i in window {
                io.send(&format!(
                    "<iq xmlns='jabber:client' type='set' to='{}' id='c{i}'><pubsub xmlns='{NS_PUBSUB}'><create node='{}'/></pubsub></iq>",
                    self.service,
                    self.node_name(*i)
                ))
                .await?;
            }
            for _ in window {
                let answer = next_named(io, "iq").await?;
                let conflict = answer.elements().filter(|e| e.name == "error").any(|e| e.elements().any(|c| c.name == "conflict"));
                if answer.attr("type") != Some("result") && !conflict {
                    return Err(LoadError::Protocol(format!("node creation refused: {}", answer.to_xml())));
                }
            }
        }
        Ok(())
    }

    /// Subscribes session `n` to its node: its full JID (`resource` given, as a desktop does for
    /// its session) or its bare JID (a subscription that outlives sessions, as the soak's do).
    pub(crate) async fn subscribe<T: XmppIo>(
        &self,
        io: &mut T,
        opts: &Options,
        user: &str,
        resource: Option<&str>,
        n: usize,
    ) -> Result<(), LoadError> {
        let node = n % self.nodes;
        let resource = resource.map(|r| format!("/{r}")).unwrap_or_default();
        io.send(&format!(
            "<iq xmlns='jabber:client' type='set' to='{}' id='sub'><pubsub xmlns='{NS_PUBSUB}'><subscribe node='{}' jid='{user}@{}{resource}'/></pubsub></iq>",
            self.service,
            self.node_name(node),
            opts.domain
        ))
        .await?;
        let answer = next_named(io, "iq").await?;
        if answer.attr("type") != Some("result") {
            return Err(LoadError::Protocol(format!("subscription refused: {}", answer.to_xml())));
        }
        self.subscribed[node].fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Records what subscriber `n` received, if it is one of this run's payloads.
    pub(crate) fn record(&self, n: usize, el: &Element) {
        let now_us = self.epoch.elapsed().as_micros() as u64;
        let subid = el
            .child("headers", NS_SHIM)
            .into_iter()
            .flat_map(|h| h.elements())
            .find(|h| h.attr("name") == Some("SubID"))
            .map(|h| h.text())
            .unwrap_or_default();
        let ticks = el
            .child("event", NS_EVENT)
            .and_then(|e| e.child("items", NS_EVENT))
            .into_iter()
            .flat_map(|items| items.elements())
            .filter_map(|item| item.child("tick", NS_TICK));
        for tick in ticks {
            let field = |name| tick.attr(name).and_then(|v| v.parse::<u64>().ok());
            let (Some(run), Some(seq), Some(sent)) = (field("run"), field("seq"), field("t")) else { continue };
            if run != self.run {
                continue;
            }
            let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
            if !log.seen_per_subscription.insert((n, seq, subid.clone())) {
                log.duplicated += 1;
            } else if log.seen.insert((n, seq)) {
                log.latencies_us.push(now_us.saturating_sub(sent));
            }
        }
    }

    fn delivered(&self) -> u64 {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).seen.len() as u64
    }

    /// Publishes at `opts.publish_rate` for `opts.hold`, reads the acknowledgements, waits for the
    /// deliveries to drain (unless `churning`: subscribers come and go, so no delivery is owed),
    /// and measures the server over that window.
    pub(crate) async fn publish<T: XmppIo>(
        &self,
        io: &mut T,
        opts: &Options,
        churning: bool,
    ) -> Result<(FanoutFigures, Option<String>), LoadError> {
        let total = (opts.publish_rate * opts.hold.as_secs_f64()).round().max(1.0) as u64;
        let before: Option<ProcSample> = opts.server_pid.and_then(sample);
        let started = Instant::now();
        let mut acked_per_node = vec![0u64; self.nodes];
        let (mut sent, mut acknowledged, mut refused, mut first_error) = (0u64, 0u64, 0u64, None);
        let mut ticker = tokio::time::interval(Duration::from_millis(5));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let ack_deadline = started + opts.hold + DRAIN;
        while acknowledged + refused < total && Instant::now() < ack_deadline {
            tokio::select! {
                _ = ticker.tick(), if sent < total => {
                    let due = ((started.elapsed().as_secs_f64() * opts.publish_rate) as u64 + 1).min(total);
                    for seq in sent..due {
                        let t = self.epoch.elapsed().as_micros();
                        io.send(&format!(
                            "<iq xmlns='jabber:client' type='set' to='{}' id='p{seq}'><pubsub xmlns='{NS_PUBSUB}'><publish node='{}'><item><tick xmlns='{NS_TICK}' run='{}' seq='{seq}' t='{t}'/></item></publish></pubsub></iq>",
                            self.service, self.node_name(seq as usize % self.nodes), self.run
                        )).await?;
                    }
                    sent = due;
                }
                answer = io.next() => {
                    let answer = answer?;
                    let Some(seq) = answer.attr("id").and_then(|id| id.strip_prefix('p')).and_then(|s| s.parse::<u64>().ok()) else { continue };
                    if answer.attr("type") == Some("result") {
                        acknowledged += 1;
                        acked_per_node[seq as usize % self.nodes] += 1;
                    } else {
                        refused += 1;
                        first_error.get_or_insert_with(|| format!("publish refused: {}", answer.to_xml()));
                    }
                }
                _ = tokio::time::sleep_until(ack_deadline.into()) => break,
            }
        }
        let publishing = started.elapsed();
        let expected: u64 = if churning {
            0
        } else {
            acked_per_node.iter().zip(&self.subscribed).map(|(acked, subs)| acked * subs.load(Ordering::Relaxed) as u64).sum()
        };
        let drain_until = Instant::now() + DRAIN;
        while self.delivered() < expected && Instant::now() < drain_until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let after = opts.server_pid.and_then(sample);
        let mut log = std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()));
        log.latencies_us.sort_unstable();
        let delivered = log.seen.len() as u64;
        let percentile = |p: f64| {
            let v = &log.latencies_us;
            if v.is_empty() { 0.0 } else { v[((v.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0 }
        };
        let figures = FanoutFigures {
            nodes: self.nodes,
            subscriptions: self.subscribed.iter().map(|s| s.load(Ordering::Relaxed)).sum(),
            published: sent,
            acknowledged,
            refused,
            publish_rate: sent as f64 / publishing.as_secs_f64().max(1e-9),
            expected,
            delivered,
            lost: expected.saturating_sub(delivered),
            duplicated: log.duplicated,
            p50_ms: percentile(0.5),
            p99_ms: percentile(0.99),
            p999_ms: percentile(0.999),
            max_ms: percentile(1.0),
            cpu_ms_per_1000: before
                .zip(after)
                .map(|(b, a)| a.cpu.saturating_sub(b.cpu).as_secs_f64() * 1000.0 / (delivered.max(1) as f64 / 1000.0)),
        };
        Ok((figures, first_error))
    }
}
