//! Herald's Prometheus metrics, served at `/metrics` on the admin listener: one [`Metrics`]
//! made at start and cloned into every layer that counts something (the core, the transports,
//! publish-subscribe, the web services). Each field is a `prometheus-client` metric, itself an
//! atomic behind an `Arc`: updating one costs an atomic add, and clones share the values.
//!
//! What the sans-IO contact center knows (agents by state, the CTI link) is set by its driver
//! before each scrape ([`Metrics::set_agents`], [`Metrics::cti_link_up`]). The cluster's
//! families (`herald_cluster_*`, `herald_node_info`) are registered on a single node too, at
//! zero, so that dashboards need no second shape; the server sets them
//! ([`Metrics::cluster_refresh`], [`Metrics::bus_totals`], [`Metrics::forwarded`], …).

use std::sync::{Arc, Mutex};

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

/// A state: an agent's (`READY`, `NOT_READY`, …) or a cluster node's (`live`, `dead`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    /// The state's name (an agent state's Finesse name).
    pub state: String,
}

/// Which way a message crossed the bus between cluster nodes (`sent`, `received`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabel {
    /// `sent` or `received`.
    pub direction: String,
}

/// A node's id in the cluster (`[cluster] node_id`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NodeLabel {
    /// The node's id.
    pub node: String,
}

/// What a node handed to another node because it is not the one to act on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forwarded {
    /// A REST request (`/finesse/api/…`, `/herald/sim/…`) forwarded to the node driving the CTI
    /// side, or a BOSH request forwarded to the node holding its session.
    Rest,
    /// A stanza forwarded to the node holding its recipient's session.
    Stanza,
}

/// The bus's counters since the node joined, as `herald-cluster`'s `BusStats` keeps them; read
/// before each scrape and handed to [`Metrics::bus_totals`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BusTotals {
    /// Messages (and requests, answers) this node put on the bus.
    pub sent: u64,
    /// Messages this node read from its inbox.
    pub received: u64,
    /// Messages that could not be sent (Redis refused or unreachable).
    pub errors: u64,
    /// Dead nodes this node reaped (it won the reap lock).
    pub lost_nodes: u64,
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
    /// `herald_cluster_nodes{state}`: nodes of the cluster now, `live` (lease held) or `dead`
    /// (lease expired, not yet reaped); 0 and 0 on a single node.
    pub cluster_nodes: Family<StateLabel, Gauge>,
    /// `herald_cluster_cti_leader`: 1 while this node holds the `cti` lease and so drives the
    /// CTI side (the contact-center machine, the simulator or an adapter), else 0.
    pub cluster_cti_leader: Gauge,
    /// `herald_cluster_bus_messages_total{direction}`: messages between nodes, `sent` by this
    /// node or `received` from its inbox stream (requests and their answers included).
    pub cluster_bus_messages: Family<DirectionLabel, Counter>,
    /// `herald_cluster_bus_errors_total`: messages this node could not put on the bus (Redis
    /// refused or unreachable); each is also logged.
    pub cluster_bus_errors: Counter,
    /// `herald_cluster_forwarded_total{kind}`: what this node handed to another node to act on:
    /// `rest` (REST and BOSH requests), `stanza` (stanzas for a session held elsewhere).
    pub cluster_forwarded: Family<KindLabel, Counter>,
    /// `herald_cluster_lost_nodes_total`: dead nodes this node reaped (their lease expired; it
    /// won the reap lock and counted their sessions as disconnected).
    pub cluster_lost_nodes: Counter,
    /// `herald_node_info{node}`: always 1, labelled with this node's id, so that a scrape of
    /// several nodes tells them apart. Not exported until [`Metrics::set_node`] names the node
    /// (the server does at start, a single node too: its `[cluster] node_id` or host name).
    pub node_info: Family<NodeLabel, Gauge>,
    /// `cluster_bus_messages{direction="sent"}`, `{direction="received"}`, and
    /// `cluster_forwarded{kind="rest"}`, `{kind="stanza"}`, held: no family look-up per message.
    bus_sent: Counter,
    bus_received: Counter,
    forwarded_rest: Counter,
    forwarded_stanza: Counter,
    /// Serialises [`Metrics::bus_totals`]: two scrapes at once must not both add the same
    /// difference.
    totals: Mutex<()>,
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
        let cluster_nodes = Family::<StateLabel, Gauge>::default();
        registry.register(
            "cluster_nodes",
            "Cluster nodes now, live (lease held) or dead (lease expired, not yet reaped)",
            cluster_nodes.clone(),
        );
        for state in ["live", "dead"] {
            let _ = cluster_nodes.get_or_create(&StateLabel { state: state.to_owned() });
        }
        let cluster_cti_leader = Gauge::default();
        registry.register(
            "cluster_cti_leader",
            "1 while this node holds the cti lease and drives the CTI side",
            cluster_cti_leader.clone(),
        );
        let cluster_bus_messages = Family::<DirectionLabel, Counter>::default();
        registry.register(
            "cluster_bus_messages",
            "Messages between cluster nodes, sent or received by this node",
            cluster_bus_messages.clone(),
        );
        let cluster_bus_errors = Counter::default();
        registry.register("cluster_bus_errors", "Messages this node could not put on the cluster bus", cluster_bus_errors.clone());
        let cluster_forwarded = Family::<KindLabel, Counter>::default();
        registry.register(
            "cluster_forwarded",
            "Requests (rest) and stanzas (stanza) this node handed to another node",
            cluster_forwarded.clone(),
        );
        let cluster_lost_nodes = Counter::default();
        registry.register("cluster_lost_nodes", "Dead nodes this node reaped (their lease expired)", cluster_lost_nodes.clone());
        let node_info = Family::<NodeLabel, Gauge>::default();
        registry.register("node_info", "Always 1, labelled with this node's id", node_info.clone());
        let direction = |direction: &str| cluster_bus_messages.get_or_create(&DirectionLabel { direction: direction.to_owned() }).clone();
        let (bus_sent, bus_received) = (direction("sent"), direction("received"));
        let kind_of = |family: &Family<KindLabel, Counter>, kind: &str| family.get_or_create(&KindLabel { kind: kind.to_owned() }).clone();
        let (forwarded_rest, forwarded_stanza) = (kind_of(&cluster_forwarded, "rest"), kind_of(&cluster_forwarded, "stanza"));
        let (bosh_empty, bosh_data) = (kind_of(&bosh_responses, "empty"), kind_of(&bosh_responses, "data"));
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
                cluster_nodes,
                cluster_cti_leader,
                cluster_bus_messages,
                cluster_bus_errors,
                cluster_forwarded,
                cluster_lost_nodes,
                node_info,
                bus_sent,
                bus_received,
                forwarded_rest,
                forwarded_stanza,
                totals: Mutex::new(()),
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

    /// Names this node: `herald_node_info{node="<id>"} 1` (replacing any earlier id).
    pub fn set_node(&self, id: &str) {
        self.node_info.clear();
        self.node_info.get_or_create(&NodeLabel { node: id.to_owned() }).set(1);
    }

    /// What the last refresh of the cluster saw: `live` and `dead` nodes, and whether this node
    /// drives the CTI side.
    pub fn cluster_refresh(&self, live: usize, dead: usize, cti_leader: bool) {
        let set = |state: &str, n: usize| {
            self.cluster_nodes.get_or_create(&StateLabel { state: state.to_owned() }).set(i64::try_from(n).unwrap_or(i64::MAX));
        };
        set("live", live);
        set("dead", dead);
        self.cluster_cti_leader.set(i64::from(cti_leader));
    }

    /// `n` messages put on the bus.
    pub fn bus_sent(&self, n: u64) {
        self.bus_sent.inc_by(n);
    }

    /// `n` messages read from this node's inbox.
    pub fn bus_received(&self, n: u64) {
        self.bus_received.inc_by(n);
    }

    /// A message that could not be put on the bus.
    pub fn bus_error(&self) {
        self.cluster_bus_errors.inc();
    }

    /// A dead node reaped by this node.
    pub fn node_lost(&self) {
        self.cluster_lost_nodes.inc();
    }

    /// One request or stanza handed to another node.
    pub fn forwarded(&self, what: Forwarded) {
        match what {
            Forwarded::Rest => &self.forwarded_rest,
            Forwarded::Stanza => &self.forwarded_stanza,
        }
        .inc();
    }

    /// Raises the bus counters to the cluster's own totals (read before a scrape): a counter
    /// only grows, so each is raised by what its total gained since, never lowered.
    pub fn bus_totals(&self, totals: BusTotals) {
        let _one_at_a_time = self.totals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (counter, total) in [
            (&self.bus_sent, totals.sent),
            (&self.bus_received, totals.received),
            (&self.cluster_bus_errors, totals.errors),
            (&self.cluster_lost_nodes, totals.lost_nodes),
        ] {
            counter.inc_by(total.saturating_sub(counter.get()));
        }
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

    #[test]
    fn the_cluster_families_read_zero_on_a_single_node() {
        let text = Metrics::new().encode();
        for line in [
            "herald_cluster_nodes{state=\"live\"} 0",
            "herald_cluster_nodes{state=\"dead\"} 0",
            "herald_cluster_cti_leader 0",
            "herald_cluster_bus_messages_total{direction=\"sent\"} 0",
            "herald_cluster_bus_messages_total{direction=\"received\"} 0",
            "herald_cluster_bus_errors_total 0",
            "herald_cluster_forwarded_total{kind=\"rest\"} 0",
            "herald_cluster_forwarded_total{kind=\"stanza\"} 0",
            "herald_cluster_lost_nodes_total 0",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(!text.contains("herald_node_info"), "an empty family is not exported: no node named yet:\n{text}");
    }

    #[test]
    fn the_cluster_families_carry_what_the_server_sets() {
        let m = Metrics::new();
        m.set_node("herald-a");
        m.set_node("herald-b");
        m.cluster_refresh(2, 1, true);
        m.bus_sent(3);
        m.bus_received(2);
        m.bus_error();
        m.node_lost();
        m.forwarded(Forwarded::Rest);
        m.forwarded(Forwarded::Stanza);
        m.forwarded(Forwarded::Stanza);
        let text = m.encode();
        for line in [
            "herald_node_info{node=\"herald-b\"} 1",
            "herald_cluster_nodes{state=\"live\"} 2",
            "herald_cluster_nodes{state=\"dead\"} 1",
            "herald_cluster_cti_leader 1",
            "herald_cluster_bus_messages_total{direction=\"sent\"} 3",
            "herald_cluster_bus_messages_total{direction=\"received\"} 2",
            "herald_cluster_bus_errors_total 1",
            "herald_cluster_lost_nodes_total 1",
            "herald_cluster_forwarded_total{kind=\"rest\"} 1",
            "herald_cluster_forwarded_total{kind=\"stanza\"} 2",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(!text.contains("node=\"herald-a\""), "one node id at a time:\n{text}");
        m.cluster_refresh(1, 0, false);
        let text = m.encode();
        assert!(text.contains("herald_cluster_cti_leader 0") && text.contains("herald_cluster_nodes{state=\"dead\"} 0"), "{text}");
    }

    #[test]
    fn bus_totals_raise_the_counters_and_never_lower_them() {
        let m = Metrics::new();
        m.bus_totals(BusTotals { sent: 10, received: 7, errors: 1, lost_nodes: 1 });
        m.bus_totals(BusTotals { sent: 12, received: 7, errors: 0, lost_nodes: 1 });
        let text = m.encode();
        for line in [
            "herald_cluster_bus_messages_total{direction=\"sent\"} 12",
            "herald_cluster_bus_messages_total{direction=\"received\"} 7",
            "herald_cluster_bus_errors_total 1",
            "herald_cluster_lost_nodes_total 1",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
