//! Herald's Prometheus metrics, served at `/metrics` on the admin listener: one [`Metrics`]
//! made at start and cloned into every layer that counts something (the core, the transports,
//! publish-subscribe, the web services). Each field is a `prometheus-client` metric, itself an
//! atomic behind an `Arc`: updating one costs an atomic add, and clones share the values.
//!
//! What the sans-IO contact center knows (agents by state, the CTI link) is set by its driver
//! before each scrape ([`Metrics::set_agents`], [`Metrics::cti_link_up`]).

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
pub use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
pub use prometheus_client::metrics::gauge::Gauge;
pub use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// A label set with one `transport` label (`tcp`, `websocket`, `bosh`, `internal`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabel {
    /// The transport's short name.
    pub transport: String,
}

/// A label set with one `cause` label (a session close cause's name).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CauseLabel {
    /// The cause's short name (`inactivity`, `client-terminate`, …).
    pub cause: String,
}

/// A label set with one `kind` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// What kind (`empty` or `data` for BOSH responses; the reason for auth failures).
    pub kind: String,
}

/// A REST request's route (the resource's pattern, ids replaced: `User/{id}`) and status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    /// The resource pattern.
    pub route: String,
    /// The HTTP status code.
    pub status: u16,
}

/// An agent state (`READY`, `NOT_READY`, …).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    /// The state's Finesse name.
    pub state: String,
}

/// A presence-driven logout's mode and action (`uccx`/`ucce`, `LOGOUT`/`NOT_READY`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LogoutLabel {
    /// `uccx` or `ucce`.
    pub mode: String,
    /// `LOGOUT` or `NOT_READY`.
    pub action: String,
}

/// Every metric Herald exports. Cheap to clone: clones update the same values.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

/// The metrics themselves, public to the layers through [`Metrics`]'s `Deref`.
pub struct Inner {
    /// `herald_sessions{transport}`: bound sessions now.
    pub sessions: Family<TransportLabel, Gauge>,
    /// `herald_bosh_held_requests`: BOSH requests held by the server now (long polls).
    pub bosh_held_requests: Gauge,
    /// `herald_bosh_responses_total{kind}`: BOSH responses, `empty` (a long poll answered with
    /// nothing) or `data`.
    pub bosh_responses: Family<KindLabel, Counter>,
    /// `herald_session_closes_total{cause}`: sessions ended, by cause.
    pub session_closes: Family<CauseLabel, Counter>,
    /// `herald_logins_total`: successful authentications (XMPP and REST).
    pub logins: Counter,
    /// `herald_auth_failures_total{kind}`: failed authentications, by reason.
    pub auth_failures: Family<KindLabel, Counter>,
    /// `herald_pubsub_publishes_total`: items published.
    pub publishes: Counter,
    /// `herald_pubsub_deliveries_total`: notifications handed to sessions.
    pub deliveries: Counter,
    /// `herald_pubsub_delivery_latency_seconds`: from a publish to its notification being
    /// queued for its subscribers' sessions, one observation per notification delivered to any
    /// (measured when the last of them had it queued).
    pub delivery_latency: Histogram,
    /// `herald_queue_drops_total`: stanzas dropped because a session's queue was full.
    pub queue_drops: Counter,
    /// `herald_rest_requests_total{route,status}`: Finesse REST requests answered.
    pub rest_requests: Family<RouteLabel, Counter>,
    /// `herald_agents{state}`: agents by state, as the contact center mirrors them.
    pub agents: Family<StateLabel, Gauge>,
    /// `herald_cti_link_up`: 1 while the CTI link is up (in service), else 0.
    pub cti_link_up: Gauge,
    /// `herald_presence_logouts_total{mode,action}`: presence-driven logouts sent to the CTI side.
    pub presence_logouts: Family<LogoutLabel, Counter>,
    /// `bosh_responses{kind="empty"}` and `{kind="data"}`, held: one is counted per answer, and
    /// a family look-up takes a lock.
    bosh_empty: Counter,
    bosh_data: Counter,
    registry: Registry,
}

impl std::ops::Deref for Metrics {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Latency buckets in seconds: 100 µs to 10 s, about three per decade.
const LATENCY_BUCKETS: [f64; 16] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

impl Metrics {
    /// Every metric at zero, registered under the `herald` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("herald");
        let sessions = Family::<TransportLabel, Gauge>::default();
        registry.register("sessions", "Bound sessions now, by transport", sessions.clone());
        let bosh_held_requests = Gauge::default();
        registry.register("bosh_held_requests", "BOSH requests held by the server now", bosh_held_requests.clone());
        let bosh_responses = Family::<KindLabel, Counter>::default();
        registry.register("bosh_responses", "BOSH responses, empty or carrying data", bosh_responses.clone());
        let session_closes = Family::<CauseLabel, Counter>::default();
        registry.register("session_closes", "Sessions ended, by cause", session_closes.clone());
        let logins = Counter::default();
        registry.register("logins", "Successful authentications", logins.clone());
        let auth_failures = Family::<KindLabel, Counter>::default();
        registry.register("auth_failures", "Failed authentications, by reason", auth_failures.clone());
        let publishes = Counter::default();
        registry.register("pubsub_publishes", "Items published", publishes.clone());
        let deliveries = Counter::default();
        registry.register("pubsub_deliveries", "Notifications queued for sessions", deliveries.clone());
        let delivery_latency = Histogram::new(LATENCY_BUCKETS);
        registry.register(
            "pubsub_delivery_latency_seconds",
            "From a publish to its notification queued for its subscribers' sessions (the last of them)",
            delivery_latency.clone(),
        );
        let queue_drops = Counter::default();
        registry.register("queue_drops", "Stanzas dropped because a session's queue was full", queue_drops.clone());
        let rest_requests = Family::<RouteLabel, Counter>::default();
        registry.register("rest_requests", "Finesse REST requests answered, by route and status", rest_requests.clone());
        let agents = Family::<StateLabel, Gauge>::default();
        registry.register("agents", "Agents by state", agents.clone());
        let cti_link_up = Gauge::default();
        registry.register("cti_link_up", "1 while the CTI link is up", cti_link_up.clone());
        let presence_logouts = Family::<LogoutLabel, Counter>::default();
        registry.register("presence_logouts", "Presence-driven logouts sent to the CTI side", presence_logouts.clone());
        let bosh_kind = |kind: &str| bosh_responses.get_or_create(&KindLabel { kind: kind.to_owned() }).clone();
        let (bosh_empty, bosh_data) = (bosh_kind("empty"), bosh_kind("data"));
        Self {
            inner: Arc::new(Inner {
                sessions,
                bosh_held_requests,
                bosh_responses,
                session_closes,
                logins,
                auth_failures,
                publishes,
                deliveries,
                delivery_latency,
                queue_drops,
                rest_requests,
                agents,
                cti_link_up,
                presence_logouts,
                bosh_empty,
                bosh_data,
                registry,
            }),
        }
    }

    /// Sets `herald_agents{state}` to `counts`; states absent from it read 0.
    pub fn set_agents(&self, counts: &[(&str, i64)]) {
        self.agents.clear();
        for (state, count) in counts {
            self.agents.get_or_create(&StateLabel { state: (*state).to_owned() }).set(*count);
        }
    }

    /// The Prometheus text exposition format (version 0.0.4 / OpenMetrics text).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// A session of `transport` bound (`+1`) or ended (`-1`).
    pub fn session_delta(&self, transport: &str, delta: i64) {
        self.sessions.get_or_create(&TransportLabel { transport: transport.to_owned() }).inc_by(delta);
    }

    /// A session ended with `cause`.
    pub fn session_closed(&self, cause: &str) {
        self.session_closes.get_or_create(&CauseLabel { cause: cause.to_owned() }).inc();
    }

    /// A REST request on `route` answered `status`.
    pub fn rest_request(&self, route: &str, status: u16) {
        self.rest_requests.get_or_create(&RouteLabel { route: route.to_owned(), status }).inc();
    }

    /// An authentication failed for `reason`.
    pub fn auth_failed(&self, reason: &str) {
        self.auth_failures.get_or_create(&KindLabel { kind: reason.to_owned() }).inc();
    }

    /// A BOSH response: with data or empty.
    pub fn bosh_response(&self, data: bool) {
        if data { &self.bosh_data } else { &self.bosh_empty }.inc();
    }

    /// A presence-driven logout sent.
    pub fn presence_logout(&self, mode: &str, action: &str) {
        self.presence_logouts.get_or_create(&LogoutLabel { mode: mode.to_owned(), action: action.to_owned() }).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_exported_with_its_values() {
        let m = Metrics::new();
        m.session_delta("bosh", 2);
        m.session_delta("bosh", -1);
        m.session_closed("inactivity");
        m.rest_request("User/{id}", 202);
        m.delivery_latency.observe(0.002);
        m.set_agents(&[("READY", 3)]);
        m.cti_link_up.set(1);
        m.bosh_response(false);
        m.bosh_response(false);
        m.bosh_response(true);
        let text = m.encode();
        for line in [
            "herald_sessions{transport=\"bosh\"} 1",
            "herald_session_closes_total{cause=\"inactivity\"} 1",
            "herald_rest_requests_total{route=\"User/{id}\",status=\"202\"} 1",
            "herald_pubsub_delivery_latency_seconds_count 1",
            "herald_agents{state=\"READY\"} 3",
            "herald_cti_link_up 1",
            "herald_bosh_responses_total{kind=\"empty\"} 2",
            "herald_bosh_responses_total{kind=\"data\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        m.set_agents(&[("NOT_READY", 1)]);
        assert!(!m.encode().contains("state=\"READY\""), "cleared before each scrape");
    }
}
