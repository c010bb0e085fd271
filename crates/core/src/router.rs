//! [`Core`]: binding and unbinding sessions and the routing of every stanza a client sends
//! (RFC 6120 §10, RFC 6121 §8). Authentication look-ups are in `auth`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use herald_proto::stanza::iq_result;
use herald_proto::{BareJid, FullJid, Jid, Stanza, StanzaError, StanzaErrorType, StanzaKind, ns};
use herald_sasl::Lockout;
use herald_store::AnyStore;
use herald_xml::Element;

use crate::sessions::{Session, SessionHandle, SessionInfo, Shared, Table};
use crate::throttle::LimitKind;
use crate::{CoreConfig, CoreEvent, Origin, SessionEnd};

pub(crate) struct Inner {
    pub(crate) config: CoreConfig,
    pub(crate) store: AnyStore,
    /// Shared with the pubsub delivery seam, which resolves a notification's sessions in it.
    pub(crate) table: Arc<Mutex<Table>>,
    pub(crate) pubsub: herald_pubsub::PubSub,
    /// Accounts whose offline messages are being delivered (one delivery per account at once).
    pub(crate) draining: Mutex<std::collections::HashSet<String>>,
    /// Rate limits on the warnings logged when a state limit is hit.
    pub(crate) limit_warnings: crate::throttle::LimitWarnings,
    pub(crate) lockout: Mutex<Lockout>,
    /// The cluster's shared failure counters, when configured.
    pub(crate) shared_lockout: Option<crate::shared_lockout::SharedUpdates>,
    next_id: AtomicU64,
}

/// The routing core. Cheap to clone; every transport shares one.
#[derive(Clone)]
pub struct Core {
    pub(crate) inner: Arc<Inner>,
}

/// Where a stanza is addressed, once parsed.
pub(crate) enum Target {
    /// The server itself (`to` is the domain).
    Server,
    /// The publish-subscribe service (`pubsub.<domain>`).
    PubSub,
    /// A local account, bare or full.
    Local(BareJid, Option<String>),
    /// Another domain: Herald has no server-to-server links.
    Remote,
}

impl Core {
    /// Starts a core over `store`: loads the publish-subscribe state and starts its writer task
    /// (so this must run inside a tokio runtime).
    pub async fn start(config: CoreConfig, store: AnyStore) -> Result<Self, herald_store::StoreError> {
        let lockout = Lockout::new(config.lockout.clone());
        let loaded = herald_pubsub::PubSub::load(&store, &config.pubsub).await?;
        let table = Arc::new(Mutex::new(Table::default()));
        let inner = Arc::new(Inner {
            pubsub: herald_pubsub::PubSub::new(
                &config.domain,
                config.pubsub.clone(),
                loaded,
                Arc::new(store.clone()),
                Arc::new(crate::pubsub::SessionDelivery { table: Arc::downgrade(&table), metrics: config.metrics.clone() }),
                Arc::new(crate::pubsub::StoredRosters { store: store.clone() }),
                config.replicator.clone(),
            ),
            shared_lockout: config.shared_lockout.clone().map(crate::shared_lockout::SharedUpdates::start),
            config,
            store,
            table,
            draining: Mutex::default(),
            limit_warnings: Default::default(),
            lockout: Mutex::new(lockout),
            next_id: AtomicU64::new(1),
        });
        Ok(Self { inner })
    }

    /// The domain served.
    pub fn domain(&self) -> &str {
        &self.inner.config.domain
    }

    /// The store, for the administrative commands.
    pub fn store(&self) -> &AnyStore {
        &self.inner.store
    }

    pub(crate) fn table(&self) -> MutexGuard<'_, Table> {
        self.inner.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The server's metrics (`/metrics`).
    pub fn metrics(&self) -> &herald_metrics::Metrics {
        &self.inner.config.metrics
    }

    /// Number of bound sessions.
    pub fn session_count(&self) -> usize {
        self.table().count()
    }

    /// Every bound session (of `user`, a localpart, when given), for the admin listing.
    pub fn sessions(&self, user: Option<&str>) -> Vec<SessionInfo> {
        let table = self.table();
        let mut out = Vec::new();
        for (bare, sessions) in &table.accounts {
            let local = bare.split('@').next().unwrap_or(bare);
            if user.is_some_and(|u| !u.eq_ignore_ascii_case(local)) {
                continue;
            }
            out.extend(sessions.iter().filter_map(|s| s.info(bare)));
        }
        out.sort_by_key(|info| info.id);
        out
    }

    /// Closes the session bound to `jid` as an administrator's order: its driver closes the
    /// stream with `<policy-violation/>` and the session ends with [`crate::CloseCause::Kicked`].
    /// Whether such a session was bound.
    pub fn kick(&self, jid: &FullJid) -> bool {
        let table = self.table();
        let bare = jid.to_bare().to_string();
        let Some(session) = table.by_resource(&bare, jid.resource().as_str()) else { return false };
        session.shared.kicked.store(true, Ordering::Release);
        // The driver's queue ends: it takes what is queued, then sees it was kicked.
        session.inbox.close();
        tracing::info!(target: "notification", jid = %jid, "session kicked by an administrator");
        true
    }

    /// Asks every client session (not the server's own, in process) to reconnect: its driver
    /// closes the stream with `<system-shutdown/>` and the session ends with
    /// [`crate::CloseCause::NodeRejoined`]. For a cluster node that was out of the cluster: what
    /// was sent to its sessions meanwhile may not have reached it, and a client that logs in
    /// again catches up from the node history. How many sessions were asked.
    pub fn ask_clients_to_reconnect(&self) -> usize {
        let table = self.table();
        let mut asked = 0;
        for session in table.accounts.values().flatten().filter(|s| !s.node_local()) {
            session.shared.reconnect.store(true, Ordering::Release);
            // The driver's queue ends: it takes what is queued, then sees the order.
            session.inbox.close();
            asked += 1;
        }
        asked
    }

    /// Registers a session for `username`, come from `origin`. A session already bound to the
    /// same full JID is told to close with `<conflict/>` and the new one takes its place (RFC
    /// 6120 §7.7.2.2); beyond `max_resources` other sessions, binding fails with
    /// `<resource-constraint/>` (§7.6.2.1). Subscribers are told [`CoreEvent::SessionBound`].
    pub fn bind(&self, username: &str, resource: Option<String>, origin: Origin) -> Result<SessionHandle, StanzaError> {
        let resource = resource.unwrap_or_else(|| format!("herald-{:016x}", rand::random::<u64>()));
        let jid = FullJid::new(&format!("{username}@{}/{resource}", self.domain()))
            .map_err(|_| StanzaError::bad_request().with_text("invalid resource"))?;
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (inbox_tx, inbox) = crate::queue::queue(self.inner.config.session_queue.max(1));
        let shared = Arc::new(Shared::new(origin, self.metrics().queue_drops.clone()));
        let bare = jid.to_bare().to_string();
        let resource = jid.resource().to_string();
        let mut table = self.table();
        if let Some(old) = table.by_resource(&bare, &resource) {
            old.shared.replaced.store(true, Ordering::Release);
            // The old driver's queue ends: it takes what is queued, then sees it was replaced.
            old.inbox.close();
            let old_id = old.id;
            table.remove(&bare, old_id);
            tracing::info!(target: "notification", jid = %jid, "session replaced by a new login with the same resource");
        } else if table.sessions(&bare).len() >= self.inner.config.state.max_resources {
            drop(table);
            let max = self.inner.config.state.max_resources;
            self.inner.limit_warnings.warn(LimitKind::Resources, &bare, "resource limit reached; bind refused");
            return Err(StanzaError::new(StanzaErrorType::Wait, "resource-constraint")
                .with_text(format!("this account already has {max} sessions, the most allowed")));
        }
        table.rosters.open(&bare);
        // Nearly every agent has one session: no room reserved for more.
        table.accounts.entry(bare).or_insert_with(|| Vec::with_capacity(1)).push(Session {
            id,
            resource,
            inbox: inbox_tx,
            presence: None,
            priority: 0,
            interested: false,
            directed: Default::default(),
            shared: shared.clone(),
        });
        drop(table);
        self.metrics().session_delta(origin.transport.name(), 1);
        tracing::info!(target: "notification", jid = %jid, "session bound");
        self.inner.config.events.emit(|| CoreEvent::SessionBound { session: id, jid: jid.clone(), origin });
        Ok(SessionHandle { id, jid, inbox, shared })
    }

    /// Removes a session when its transport ends, for any reason (`end` says which, and when the
    /// client last sent anything). Contacts get unavailable presence if the session was
    /// available, and stanzas still queued for it (after `undelivered`, which the transport
    /// held) are routed again as if newly sent to its bare JID (so messages end up in offline
    /// storage, never lost). Subscribers are told [`CoreEvent::PresenceChanged`] if it was
    /// available, then [`CoreEvent::SessionUnbound`].
    pub async fn unbind(&self, session: SessionHandle, mut undelivered: Vec<Element>, end: SessionEnd) {
        let SessionHandle { id, jid, mut inbox, shared } = session;
        inbox.close();
        while let Some(el) = inbox.try_recv() {
            undelivered.push(*el);
        }
        let bare = jid.to_bare();
        let owes_presence = self.table().session_mut(bare.as_str(), id).is_some_and(|s| s.presence.is_some() || !s.directed.is_empty());
        // Taken while the session still keeps the account's roster cached.
        let roster = if owes_presence { Some(self.roster_for_broadcast(&bare).await) } else { None };
        let removed = {
            let mut table = self.table();
            let removed = table.remove(bare.as_str(), id);
            removed.map(|session| (session, table.available(bare.as_str()).next().is_none()))
        };
        // Already gone: replaced by a new login, which holds the full JID now.
        if let Some((session, last_resource)) = removed {
            let was_available = session.presence.is_some();
            let local = session.node_local();
            if let Some(roster) = roster
                && (was_available || !session.directed.is_empty())
            {
                let unavailable = Element::new("presence", ns::CLIENT).with_attr("type", "unavailable").with_attr("from", jid.to_string());
                let directed: Vec<String> = session.directed.into_iter().collect();
                self.broadcast_presence(&jid, &unavailable, directed.clone(), &roster);
                if !local {
                    self.broadcast_remote(&jid, &unavailable, &directed, &roster).await;
                }
            }
            if was_available {
                self.emit_presence(id, &jid, false, last_resource);
            }
            for mut stanza in undelivered {
                if stanza.stanza_kind() == Some(StanzaKind::Message) {
                    stanza.set_attr("to", bare.to_string());
                    self.route_message(stanza, Target::Local(bare.clone(), None)).await;
                }
            }
            tracing::info!(target: "notification", "A session is closed for {jid}");
        }
        let dropped = shared.dropped.load(Ordering::Relaxed);
        let metrics = self.metrics();
        metrics.session_delta(shared.origin.transport.name(), -1);
        metrics.session_closed(end.cause.name());
        let info = crate::sessions::info_of(id, jid.clone(), &shared, 0, false);
        self.inner.config.events.emit(|| CoreEvent::SessionUnbound {
            session: id,
            jid,
            cause: end.cause,
            last_activity: end.last_activity,
            dropped,
            info: Box::new(info),
        });
    }

    /// Tells subscribers that session `id` became available or unavailable.
    pub(crate) fn emit_presence(&self, id: u64, jid: &FullJid, available: bool, last_resource: bool) {
        self.inner.config.events.emit(|| CoreEvent::PresenceChanged { session: id, jid: jid.clone(), available, last_resource });
    }

    pub(crate) fn target(&self, to: &Jid) -> Target {
        let domain = to.domain().as_str();
        if to.node().is_none() && to.resource().is_none() && domain.eq_ignore_ascii_case(self.pubsub_jid()) {
            return Target::PubSub;
        }
        if !domain.eq_ignore_ascii_case(self.domain()) {
            return Target::Remote;
        }
        match to.node() {
            None => Target::Server,
            Some(_) => Target::Local(to.to_bare(), to.resource().map(|r| r.to_string())),
        }
    }

    /// Sends `el` to one full JID if it has a session; false otherwise.
    pub(crate) fn deliver_full(&self, bare: &str, resource: &str, el: Element) -> bool {
        self.table().by_resource(bare, resource).is_some_and(|s| s.deliver(el))
    }

    /// Sends the error reply for `stanza` back to its sender.
    pub(crate) fn bounce(&self, stanza: &Element, error: StanzaError) {
        if let Some(reply) = stanza.error_reply(&error) {
            self.send_reply(reply);
        }
    }

    /// Routes one stanza sent by `from` (already stamped on the stanza by the stream).
    pub async fn route(&self, from: &FullJid, session_id: u64, stanza: Element) {
        let target = match stanza.recipient_jid() {
            Ok(Some(to)) => self.target(&to),
            Ok(None) => match stanza.stanza_kind() {
                // No `to`: presence is a broadcast, other stanzas go to the sender's own account.
                Some(StanzaKind::Presence) => return self.handle_own_presence(from, session_id, stanza).await,
                _ => Target::Local(from.to_bare(), None),
            },
            Err(_) => return self.bounce(&stanza, StanzaError::new(StanzaErrorType::Modify, "jid-malformed")),
        };
        match stanza.stanza_kind() {
            Some(StanzaKind::Message) => self.route_message(stanza, target).await,
            Some(StanzaKind::Presence) => self.route_presence(from, session_id, stanza, target).await,
            Some(StanzaKind::Iq) => self.route_iq(from, session_id, stanza, target).await,
            None => {}
        }
    }

    async fn route_iq(&self, from: &FullJid, session_id: u64, iq: Element, target: Target) {
        let kind = iq.stanza_type().to_owned();
        let is_request = kind == "get" || kind == "set";
        if !is_request && kind != "result" && kind != "error" {
            return self.bounce(&iq, StanzaError::bad_request().with_text("iq type must be get, set, result or error"));
        }
        if is_request && (iq.elements().count() != 1 || iq.attr("id").is_none()) {
            return self.bounce(&iq, StanzaError::bad_request().with_text("an iq request needs an id and exactly one child"));
        }
        match target {
            Target::Remote => {
                if is_request {
                    self.bounce(&iq, StanzaError::remote_server_not_found());
                }
            }
            Target::Server if is_request => self.handle_server_iq(iq),
            Target::PubSub if is_request => self.handle_pubsub_iq(from, iq).await,
            Target::Server | Target::PubSub => {}
            Target::Local(bare, None) if bare == from.to_bare() && is_request => self.handle_own_iq(from, session_id, iq).await,
            Target::Local(bare, Some(resource)) => {
                let delivered = self.deliver_full(bare.as_str(), &resource, iq.clone())
                    || self.forward_to_resource(bare.as_str(), &resource, iq.clone()).await;
                if !delivered && is_request {
                    self.bounce(&iq, StanzaError::service_unavailable());
                }
            }
            // An iq to another account's bare JID is answered by the server on its behalf.
            Target::Local(..) => {
                if is_request {
                    self.bounce(&iq, StanzaError::service_unavailable());
                }
            }
        }
    }

    fn handle_server_iq(&self, iq: Element) {
        let Some(payload) = iq.elements().next() else { return };
        let get = iq.stanza_type() == "get";
        let reply = if get && payload.is("query", ns::DISCO_INFO) && payload.attr("node").is_none() {
            let mut query = Element::new("query", ns::DISCO_INFO).with_child(
                Element::new("identity", ns::DISCO_INFO)
                    .with_attr("category", "server")
                    .with_attr("type", "im")
                    .with_attr("name", "Herald"),
            );
            for feature in [ns::DISCO_INFO, ns::DISCO_ITEMS, ns::PING, ns::ROSTER, ns::VERSION, "msgoffline", ns::DELAY] {
                query.push_child(Element::new("feature", ns::DISCO_INFO).with_attr("var", feature));
            }
            iq_result(&iq, Some(query))
        } else if get && payload.is("query", ns::DISCO_ITEMS) && payload.attr("node").is_none() {
            let service = Element::new("item", ns::DISCO_ITEMS).with_attr("jid", self.pubsub_jid()).with_attr("name", "Publish-Subscribe");
            iq_result(&iq, Some(Element::new("query", ns::DISCO_ITEMS).with_child(service)))
        } else if get && payload.is("ping", ns::PING) {
            iq_result(&iq, None)
        } else if get && payload.is("query", ns::VERSION) {
            let query = Element::new("query", ns::VERSION)
                .with_child(Element::new("name", ns::VERSION).with_text("Herald"))
                .with_child(Element::new("version", ns::VERSION).with_text(env!("CARGO_PKG_VERSION")));
            iq_result(&iq, Some(query))
        } else if iq.stanza_type() == "set" && payload.is("session", ns::SESSION) {
            iq_result(&iq, None)
        } else {
            return self.bounce(&iq, StanzaError::service_unavailable());
        };
        self.send_reply(reply);
    }

    async fn handle_own_iq(&self, from: &FullJid, session_id: u64, iq: Element) {
        let Some(payload) = iq.elements().next() else { return };
        if payload.is("query", ns::ROSTER) {
            return self.handle_roster_iq(from, session_id, &iq).await;
        }
        if iq.stanza_type() == "get" && payload.is("ping", ns::PING) {
            return self.send_reply(iq_result(&iq, None));
        }
        if iq.stanza_type() == "get" && payload.is("query", ns::DISCO_INFO) {
            let query = Element::new("query", ns::DISCO_INFO)
                .with_child(Element::new("identity", ns::DISCO_INFO).with_attr("category", "account").with_attr("type", "registered"));
            return self.send_reply(iq_result(&iq, Some(query)));
        }
        self.bounce(&iq, StanzaError::service_unavailable());
    }

    /// Delivers a reply the server generated to the full JID in its `to`.
    pub(crate) fn send_reply(&self, reply: Element) {
        if let Ok(Some(to)) = reply.recipient_jid()
            && let Target::Local(bare, Some(resource)) = self.target(&to)
        {
            self.deliver_full(bare.as_str(), &resource, reply);
        }
    }
}

/// The publish-subscribe service as the core carries it.
impl Core {
    /// The publish-subscribe service (`pubsub.<domain>`), for the in-process API.
    pub fn pubsub(&self) -> &herald_pubsub::PubSub {
        &self.inner.pubsub
    }

    /// The pubsub service's JID (`pubsub.<domain>`).
    pub fn pubsub_jid(&self) -> &str {
        self.inner.pubsub.jid()
    }

    /// Waits until every pubsub change queued so far is committed (used at shutdown).
    pub async fn flush(&self) {
        self.inner.pubsub.flush().await;
    }

    /// Hands an iq for the pubsub service to it and sends the answer.
    pub(crate) async fn handle_pubsub_iq(&self, from: &herald_proto::FullJid, iq: herald_xml::Element) {
        if let Some(reply) = self.inner.pubsub.handle_iq(from, &iq).await {
            self.send_reply(reply);
        }
    }
}
