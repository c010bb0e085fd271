//! The contact-center machine: REST calls and CTI events in, answers and effects out. This
//! module holds the public types and the machine's state; [`rest`] answers REST calls, [`cti`]
//! mirrors CTI events and publishes them, [`nodes`] plans the pubsub nodes, [`pending`]
//! remembers which request caused which events, [`presence`] runs the presence-driven logout
//! and [`link`] supervises the CTI link (issue 12); [`restore`] brings agents back after a
//! cluster takeover (issue 15).

mod cti;
mod link;
mod nodes;
mod pending;
mod presence;
mod rest;
mod rest_change;
mod rest_get;
mod restore;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use herald_cti::{CallId, CallSnapshot, CtiEvent, CtiRequest, ParticipantState, QueueStats};
use herald_xml::Element;

use crate::EpochMs;
use crate::directory::{Directory, UserRecord};
use crate::documents::{self, NodeAddress, SystemInfo};
use crate::model::AgentView;
use crate::update::{self, UpdateEvent};
use crate::watch::{LinkConfig, LinkDownCause, PresenceLogoutConfig, WsLog};

use link::LinkWatch;
use pending::PendingRequests;
use presence::PresenceWatch;
pub use restore::{RestoreError, RestorePlan};

/// The base of every node and `source` name.
const API: &str = crate::path::BASE;

/// `xmppPort` reported until [`ContactCenter::set_xmpp_ports`] says otherwise.
const DEFAULT_XMPP_PORT: u16 = 5222;
/// `xmppSecurePort` reported until [`ContactCenter::set_xmpp_ports`] says otherwise.
const DEFAULT_XMPP_SECURE_PORT: u16 = 5223;

/// What the machine needs to know about its deployment (SystemInfo, limits).
#[derive(Clone, Debug)]
pub struct CcConfig {
    /// The XMPP domain (`xmppDomain`, the local node's FQDN).
    pub xmpp_domain: String,
    /// `pubsub.<domain>`.
    pub pubsub_domain: String,
    /// UCCE or UCCX.
    pub deployment_type: String,
    /// `primaryNode/host` (this node unless configured).
    pub primary_host: String,
    /// `secondaryNode/host` (`None`: single node).
    pub secondary_host: Option<String>,
    /// `primaryNode/httpsPort`: the primary's REST port (this listener's unless configured).
    pub primary_https_port: u16,
    /// `secondaryNode/httpsPort`: the secondary's REST port, where a failing-over desktop signs in.
    pub secondary_https_port: u16,
    /// Minutes east of GMT (`timezoneOffset`).
    pub timezone_offset_minutes: i32,
    /// `peripheralId`.
    pub peripheral_id: String,
    /// `[presence_logout]`.
    pub presence_logout: PresenceLogoutConfig,
    /// `[cti]`: the link's supervision.
    pub link: LinkConfig,
}

impl CcConfig {
    /// One node serving `domain`: UCCE, REST on 8445, GMT, peripheral 5000, the default
    /// presence-logout and link supervision (tests and tools; the server builds its own).
    pub fn new(domain: &str) -> Self {
        Self {
            xmpp_domain: domain.to_owned(),
            pubsub_domain: format!("pubsub.{domain}"),
            deployment_type: "UCCE".to_owned(),
            primary_host: domain.to_owned(),
            secondary_host: None,
            primary_https_port: 8445,
            secondary_https_port: 8445,
            timezone_offset_minutes: 0,
            peripheral_id: "5000".to_owned(),
            presence_logout: PresenceLogoutConfig::default(),
            link: LinkConfig::default(),
        }
    }
}

/// An HTTP method as far as the API cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET (and HEAD).
    Get,
    /// PUT.
    Put,
    /// POST.
    Post,
    /// DELETE.
    Delete,
    /// Anything else: 405.
    Other,
}

impl Method {
    /// The name reported in a 405's `ErrorData`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Put => "PUT",
            Self::Post => "POST",
            Self::Delete => "DELETE",
            Self::Other => "OTHER",
        }
    }
}

/// One REST request, authenticated by the driver (`caller` is a login id known to the store's
/// accounts; the machine checks it is a contact-center user and what it may do).
#[derive(Clone, Debug)]
pub struct RestCall {
    /// The method.
    pub method: Method,
    /// The request target: path and query (`/finesse/api/User/1001?nocache=…`).
    pub target: String,
    /// The `requestId` header.
    pub request_id: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// The HTTP answer: 200 with an XML body, 202 with none, or an error with an ApiErrors body.
/// The driver adds `Content-Type: application/xml` when there is a body and echoes `requestId`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestAnswer {
    /// The status.
    pub status: u16,
    /// The XML body (serialised), if any.
    pub body: Option<String>,
}

/// What the driver must do, in order.
#[derive(Clone, Debug)]
pub enum Effect {
    /// Send a request to the CTI side.
    Cti(CtiRequest),
    /// Publish `payload` (a `<notification>` element) as a new item of `node`, as the server.
    Publish {
        /// The node (`/finesse/api/User/1001`).
        node: String,
        /// The item payload.
        payload: Element,
    },
    /// Store a client log as `logs/clientlogs/<file_name>`, then publish the POST event given.
    StoreClientLog {
        /// The file name: login id and timestamp.
        file_name: String,
        /// The log text.
        text: String,
        /// The node to publish on once stored (`User/{id}/ClientLog`).
        node: String,
        /// The payload to publish.
        payload: Element,
    },
    /// Write a line to the web-services log (info).
    Log(WsLog),
}

/// A node the server creates (or reconfigures) at start: whitelist access, these members, and
/// these users subscribed with their bare JIDs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePlan {
    /// The node name.
    pub node: String,
    /// Open to every user (SystemInfo) instead of a whitelist.
    pub open: bool,
    /// Login ids allowed to subscribe (whitelist members).
    pub members: Vec<String>,
    /// Login ids subscribed by the server.
    pub subscribers: Vec<String>,
}

/// The contact-center machine.
pub struct ContactCenter {
    config: CcConfig,
    directory: Directory,
    /// Each agent's state as last reported (absent: never reported, logged out).
    agents: BTreeMap<String, AgentView>,
    /// Each call as last reported, while some agent still has it.
    calls: BTreeMap<CallId, CallSnapshot>,
    /// The calls in each agent's Dialogs collection (what a POST added and no DELETE removed).
    dialogs_of: BTreeMap<String, BTreeSet<CallId>>,
    /// The other way round: the agents whose Dialogs hold each call.
    holders: BTreeMap<CallId, BTreeSet<String>>,
    /// Queue statistics as last reported.
    queue_stats: BTreeMap<String, QueueStats>,
    in_service: bool,
    status_reason: String,
    /// `xmppPort` and `xmppSecurePort` in SystemInfo.
    xmpp_ports: (u16, u16),
    /// The cluster's live nodes SystemInfo names (empty: not clustered, the configured pair).
    nodes: Vec<NodeAddress>,
    pending: PendingRequests,
    /// The presence monitor: resources, graces, held logouts.
    watch: PresenceWatch,
    /// The CTI link's supervision.
    link: LinkWatch,
    effects: VecDeque<Effect>,
}

impl ContactCenter {
    /// A machine over `directory`, every agent logged out, in service.
    pub fn new(config: CcConfig, directory: Directory) -> Self {
        Self {
            config,
            directory,
            agents: BTreeMap::new(),
            calls: BTreeMap::new(),
            dialogs_of: BTreeMap::new(),
            holders: BTreeMap::new(),
            queue_stats: BTreeMap::new(),
            in_service: true,
            status_reason: String::new(),
            xmpp_ports: (DEFAULT_XMPP_PORT, DEFAULT_XMPP_SECURE_PORT),
            nodes: Vec::new(),
            pending: PendingRequests::default(),
            watch: PresenceWatch::default(),
            link: LinkWatch::default(),
            effects: VecDeque::new(),
        }
    }

    /// The client-to-server XMPP ports SystemInfo reports (plain, direct TLS); the defaults are
    /// 5222 and 5223.
    pub fn set_xmpp_ports(&mut self, xmpp_port: u16, xmpp_secure_port: u16) {
        self.xmpp_ports = (xmpp_port, xmpp_secure_port);
    }

    /// The cluster's live nodes (issue 15), in the order SystemInfo lists them (the driver
    /// passes them sorted by node id): the first is `primaryNode`, the second `secondaryNode`,
    /// and all are listed in `<nodes>`. When the set changes, SystemInfo is published (a PUT on
    /// `/finesse/api/SystemInfo`, as Finesse does when its status changes), so that connected
    /// desktops learn where they can fail over to. Never called on a single node: SystemInfo
    /// then names the configured pair.
    pub fn set_nodes(&mut self, now: EpochMs, nodes: Vec<NodeAddress>) {
        if nodes != self.nodes {
            self.nodes = nodes;
            self.publish_system_info(now);
        }
    }

    /// The directory.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Adds or replaces a user at run time (returns the nodes it needs).
    pub fn put_user(&mut self, user: UserRecord) -> Vec<NodePlan> {
        let before = self.node_plan();
        self.directory.put_user(user);
        let mut after = self.node_plan();
        after.retain(|plan| !before.contains(plan));
        after
    }

    /// Every node the configuration needs, with members and automatic subscriptions.
    pub fn node_plan(&self) -> Vec<NodePlan> {
        nodes::plan(&self.directory)
    }

    /// A REST call by `caller` (already authenticated).
    pub fn handle_rest(&mut self, now: EpochMs, caller: &str, call: RestCall) -> RestAnswer {
        self.pending.expire(now);
        match self.rest(now, caller, &call) {
            Ok(answer) => answer,
            Err(error) => RestAnswer { status: error.status, body: Some(documents::api_errors_body(&error).to_xml()) },
        }
    }

    /// An event from the CTI side. Every event but [`CtiEvent::LinkLost`] says the link is
    /// alive; the first one after an outage brings the web services back in service.
    pub fn handle_cti(&mut self, now: EpochMs, event: CtiEvent) {
        self.pending.expire(now);
        if matches!(event, CtiEvent::LinkLost) {
            self.link_lost(now, LinkDownCause::ConnectionLost);
            return;
        }
        let down_since = self.link_heard(now);
        match event {
            CtiEvent::Agent { tag, snapshot } => self.agent_event(now, tag, snapshot),
            CtiEvent::Call { tag, snapshot } => self.on_call(tag, snapshot),
            CtiEvent::CallEnded { tag, call, agents } => self.on_call_ended(tag, call, &agents),
            CtiEvent::Failure { tag, failure } => {
                self.forced_refused(tag);
                self.on_failure(tag, &failure);
            }
            CtiEvent::QueueStats(stats) => self.on_queue_stats(stats),
            CtiEvent::Snapshot { agents, calls } => self.on_snapshot(now, agents, calls),
            CtiEvent::Heartbeat | CtiEvent::LinkLost => {}
        }
        if let Some(down_since) = down_since {
            self.link_restored(now, down_since);
        }
    }

    /// A presence from an agent's resource, as the web-services user received it: `user` is the
    /// JID's localpart (a login id), `resource` its resource. Drives the presence-driven logout.
    pub fn presence(&mut self, now: EpochMs, user: &str, resource: &str, available: bool) {
        self.on_presence(now, user, resource, available);
    }

    /// When [`ContactCenter::handle_timeout`] must next be called (a grace ending, a heartbeat
    /// overdue).
    pub fn poll_timeout(&self) -> Option<EpochMs> {
        let link = self.link.deadline(self.config.link);
        match (self.watch.next_deadline(), link) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The clock reached (or passed) the deadline [`ContactCenter::poll_timeout`] gave. The
    /// link is judged first, so a grace ending at the same instant sees it down.
    pub fn handle_timeout(&mut self, now: EpochMs) {
        self.pending.expire(now);
        self.link_due(now);
        self.graces_due(now);
    }

    /// Whether the web services are in service (the CTI link is up).
    pub fn in_service(&self) -> bool {
        self.in_service
    }

    /// How many agents are in each state, as last reported by the CTI side (agents never
    /// reported are not counted): the `herald_agents{state}` gauge, read before a scrape.
    pub fn agents_by_state(&self) -> Vec<(&'static str, i64)> {
        let mut counts: BTreeMap<&'static str, i64> = BTreeMap::new();
        for view in self.agents.values() {
            *counts.entry(view.state.name()).or_default() += 1;
        }
        counts.into_iter().collect()
    }

    /// The presence-driven logout's mode (`[presence_logout] mode`).
    pub fn logout_mode(&self) -> crate::LogoutMode {
        self.config.presence_logout.mode
    }

    /// In or out of service (CTI link up/down, issue 12): publishes SystemInfo when it changes;
    /// while out of service every REST call but GET SystemInfo is 503.
    pub fn set_in_service(&mut self, now: EpochMs, in_service: bool, reason: &str) {
        let changed = self.in_service != in_service;
        self.in_service = in_service;
        self.status_reason = if in_service { String::new() } else { reason.to_owned() };
        if changed {
            self.publish_system_info(now);
        }
    }

    /// Publishes SystemInfo as of `now` (a PUT whose source is the node itself).
    fn publish_system_info(&mut self, now: EpochMs) {
        let node = format!("{API}/SystemInfo");
        let data = self.system_info_document(now);
        self.publish(node.clone(), data, UpdateEvent::Put, "", &node);
    }

    /// The next effect, oldest first.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// The `<SystemInfo>` document as of `now`: the configured pair, or the cluster's nodes.
    fn system_info_document(&self, now: EpochMs) -> Element {
        documents::cluster_system_info(&self.system_info(now), &self.nodes)
    }

    /// SystemInfo as of `now`.
    fn system_info(&self, now: EpochMs) -> SystemInfo {
        let c = &self.config;
        SystemInfo {
            in_service: self.in_service,
            status_reason: self.status_reason.clone(),
            now,
            deployment_type: c.deployment_type.clone(),
            xmpp_domain: c.xmpp_domain.clone(),
            pubsub_domain: c.pubsub_domain.clone(),
            primary_host: c.primary_host.clone(),
            secondary_host: c.secondary_host.clone(),
            primary_https_port: c.primary_https_port,
            secondary_https_port: c.secondary_https_port,
            xmpp_port: self.xmpp_ports.0,
            xmpp_secure_port: self.xmpp_ports.1,
            timezone_offset_minutes: c.timezone_offset_minutes,
            peripheral_id: c.peripheral_id.clone(),
        }
    }

    /// An agent's state as last reported (logged out if never).
    fn view(&self, login_id: &str) -> AgentView {
        self.agents.get(login_id).cloned().unwrap_or_default()
    }

    /// Whether `agent` is an ACTIVE participant of one of its calls (TRANSFER and CONFERENCE are
    /// offered on its held calls then). Looks only at the agent's own Dialogs.
    fn has_active_call(&self, agent: &str) -> bool {
        let calls = self.dialogs_of.get(agent).or_else(|| self.directory.user(agent).and_then(|u| self.dialogs_of.get(&u.login_id)));
        calls.into_iter().flatten().filter_map(|id| self.calls.get(id)).any(|call| {
            call.participants
                .iter()
                .any(|p| p.state == ParticipantState::Active && p.agent.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(agent)))
        })
    }

    /// Queues `Publish` of an Update on `node`.
    fn publish(&mut self, node: String, data: Element, event: UpdateEvent, request_id: &str, source: &str) {
        let payload = update::notification(&update::update(data, event, request_id, source));
        self.effects.push_back(Effect::Publish { node, payload });
    }
}
