//! The pubsub state, its operations (shared by XMPP requests and the in-process API), the
//! group-commit writer and fan-out.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use herald_proto::{BareJid, Jid, StanzaError, StanzaErrorType};
use herald_store::{AnyStore, PubSubOp, Store, StoredItem, StoredNode, StoredSubscription, SubscriptionOptions};
use herald_xml::{Element, Limits, parse_document};
use tokio::sync::{mpsc, oneshot};

use super::access::{self, not_found};
use super::fanout::{Fanout, Target};
use super::model::{AccessModel, Affiliation, Item, Node, NodeConfig, PublishModel, SubState, Subscription};
use super::ns;
use super::state::State;
use crate::router::{Core, Inner};
use crate::time::now_ms;

/// Pubsub settings.
#[derive(Clone, Debug)]
pub struct PubSubConfig {
    /// Items a new node keeps (`pubsub#max_items` default; 100).
    pub default_max_items: usize,
    /// Whether any local user may create nodes (true, as ejabberd) or only the server itself
    /// through the in-process API (false, as Prosody's default).
    pub users_create_nodes: bool,
    /// Longest node name, in bytes (default 1,024): names are keys held in memory and stored.
    pub max_node_name_bytes: usize,
    /// Longest item id, in bytes (default 1,024).
    pub max_item_id_bytes: usize,
    /// Most nodes one bare JID may own (default 1,000); the server's own requests are not capped.
    pub max_nodes_per_owner: usize,
    /// Most subscriptions one bare JID may hold over all nodes (default 1,000); the server's own
    /// requests are not capped.
    pub max_subscriptions_per_jid: usize,
}

impl Default for PubSubConfig {
    fn default() -> Self {
        Self {
            default_max_items: 100,
            users_create_nodes: true,
            max_node_name_bytes: 1024,
            max_item_id_bytes: 1024,
            max_nodes_per_owner: 1000,
            max_subscriptions_per_jid: 1000,
        }
    }
}

/// What a subscribe request produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscribeOutcome {
    /// Subscription id.
    pub subid: String,
    /// The subscribed JID.
    pub jid: String,
    /// Subscribed, or pending an owner's approval.
    pub state: SubState,
}

/// Which items to return.
#[derive(Clone, Debug)]
pub enum ItemQuery {
    /// The newest `max` items (all when `None`), oldest first.
    Latest(Option<usize>),
    /// These ids.
    Ids(Vec<String>),
    /// XEP-0059: the items published after this id, at most `max`.
    After(String, Option<usize>),
}

/// Items returned, with what XEP-0059 reports about the page.
#[derive(Clone, Debug)]
pub struct ItemsPage {
    /// The items, oldest first.
    pub items: Vec<Item>,
    /// How many items the query matched in all.
    pub count: usize,
}

pub(crate) struct Job {
    ops: Vec<PubSubOp>,
    fanout: Option<Fanout>,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

/// The pubsub part of the core.
pub(crate) struct PubSub {
    pub(crate) jid: String,
    pub(crate) config: PubSubConfig,
    nodes: Mutex<State>,
    writer: mpsc::UnboundedSender<Job>,
}

fn err(kind: StanzaErrorType, condition: &'static str, app: Option<&str>) -> StanzaError {
    let e = StanzaError::new(kind, condition);
    match app {
        Some(name) => e.with_app_condition(Element::new(name, ns::ERRORS)),
        None => e,
    }
}

fn forbidden() -> StanzaError {
    StanzaError::forbidden()
}

fn limits() -> Limits {
    Limits { max_stanza_bytes: 16 << 20, max_depth: 256, max_token_bytes: 16 << 20, ..Limits::default() }
}

fn to_stored_item(item: &Item) -> StoredItem {
    StoredItem {
        seq: item.seq,
        id: item.id.clone(),
        publisher: item.publisher.clone(),
        payload: item.payload.as_ref().map(|p| p.to_xml()).unwrap_or_default(),
        published_at_ms: item.published_at_ms,
    }
}

fn to_stored_sub(sub: &Subscription) -> StoredSubscription {
    StoredSubscription {
        subid: sub.subid.clone(),
        jid: sub.jid.clone(),
        state: sub.state.name().into(),
        options: SubscriptionOptions { deliver: sub.deliver },
    }
}

fn subscription(jid: &Jid, subid: String, state: SubState, deliver: bool) -> Subscription {
    Subscription {
        subid,
        jid: jid.to_string(),
        bare: jid.to_bare().to_string(),
        resource: jid.resource().map(|r| r.to_string()),
        state,
        deliver,
    }
}

fn node_from_stored(stored: StoredNode, default_max_items: usize) -> Node {
    let config = NodeConfig::deserialise(&stored.config, default_max_items);
    let affiliations = stored.affiliations.into_iter().filter_map(|(jid, a)| Some((jid, Affiliation::parse(&a)?))).collect();
    let subscriptions = stored
        .subscriptions
        .into_iter()
        .filter_map(|s| {
            let jid = Jid::new(&s.jid).ok()?;
            let state = if s.state == "pending" { SubState::Pending } else { SubState::Subscribed };
            Some(subscription(&jid, s.subid, state, s.options.deliver))
        })
        .collect();
    let items = stored
        .items
        .into_iter()
        .map(|i| Item {
            seq: i.seq,
            id: i.id,
            publisher: i.publisher,
            payload: (!i.payload.is_empty()).then(|| parse_document(i.payload.as_bytes(), limits()).ok().map(Arc::new)).flatten(),
            published_at_ms: i.published_at_ms,
        })
        .collect();
    Node { name: stored.name, config, affiliations, subscriptions, items, next_seq: stored.next_seq }
}

impl PubSub {
    /// Loads every node from `store` and starts the writer task.
    pub(crate) async fn start(
        domain: &str,
        config: PubSubConfig,
        store: &AnyStore,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Job>), herald_store::StoreError> {
        let nodes =
            store.pubsub_load().await?.into_iter().map(|n| (n.name.clone(), node_from_stored(n, config.default_max_items))).collect();
        let (writer, jobs) = mpsc::unbounded_channel();
        Ok((Self { jid: format!("pubsub.{domain}"), config, nodes: Mutex::new(State::new(nodes)), writer }, jobs))
    }

    pub(crate) fn nodes(&self) -> MutexGuard<'_, State> {
        self.nodes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Commits queued changes in batches, then delivers the batch's notifications in order.
pub(crate) async fn run_writer(core: Weak<Inner>, store: AnyStore, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let ops: Vec<PubSubOp> = batch.iter().flat_map(|j| j.ops.iter().cloned()).collect();
        let result = if ops.is_empty() { Ok(()) } else { store.pubsub_apply(&ops).await.map_err(|e| e.to_string()) };
        if let Err(e) = &result {
            tracing::error!(target: "notification", error = %e, "pubsub changes could not be stored; the publishers get an error");
        }
        let core = core.upgrade().map(|inner| Core { inner });
        for job in batch {
            if let (Ok(()), Some(fanout), Some(core)) = (&result, job.fanout, &core) {
                core.fan_out(&fanout);
            }
            if let Some(done) = job.done {
                let _ = done.send(result.clone());
            }
        }
    }
}

impl Core {
    fn pubsub(&self) -> &PubSub {
        &self.inner.pubsub
    }

    /// Items a node keeps unless configured otherwise.
    pub fn pubsub_default_max_items(&self) -> usize {
        self.inner.pubsub.config.default_max_items
    }

    /// The pubsub service's JID (`pubsub.<domain>`).
    pub fn pubsub_jid(&self) -> &str {
        &self.inner.pubsub.jid
    }

    /// Queues changes and waits until they are committed (and their notifications delivered).
    pub(super) async fn commit(&self, ops: Vec<PubSubOp>, fanout: Option<Fanout>) -> Result<(), StanzaError> {
        let (done, committed) = oneshot::channel();
        if self.pubsub().writer.send(Job { ops, fanout, done: Some(done) }).is_err() {
            return Err(StanzaError::internal().with_text("the pubsub writer stopped"));
        }
        match committed.await {
            Ok(Ok(())) => Ok(()),
            _ => Err(StanzaError::internal().with_text("the change could not be stored")),
        }
    }

    /// Waits until every pubsub change queued so far is committed (used at shutdown).
    pub async fn flush(&self) {
        let _ = self.commit(Vec::new(), None).await;
    }

    /// Creates a node. `owner` is the requesting user (`None`: the server itself, with no
    /// owner entry). Returns the node's name (generated when `name` is `None`).
    pub async fn create_node(
        &self,
        owner: Option<&BareJid>,
        name: Option<&str>,
        config: Option<NodeConfig>,
    ) -> Result<String, StanzaError> {
        if owner.is_some() && !self.pubsub().config.users_create_nodes {
            return Err(err(StanzaErrorType::Cancel, "not-allowed", None).with_text("only the server creates nodes here"));
        }
        if let Some(o) = owner
            && o.domain().as_str() != self.domain()
        {
            return Err(forbidden());
        }
        let name = match name {
            Some("") => return Err(StanzaError::bad_request().with_text("empty node name")),
            Some(n) => n.to_owned(),
            None => format!("{:016x}", rand::random::<u64>()),
        };
        self.pubsub().config.check_node_name(&name, owner.is_some())?;
        let config = config.unwrap_or_else(|| NodeConfig::with_max_items(self.pubsub().config.default_max_items));
        let mut ops = vec![PubSubOp::PutNode { name: name.clone(), config: config.serialise() }];
        {
            let mut nodes = self.pubsub().nodes();
            if let Some(o) = owner {
                self.pubsub().config.check_owned(o.as_str(), nodes.counts.owned(o.as_str()))?;
            }
            if nodes.contains_key(&name) {
                return Err(StanzaError::new(StanzaErrorType::Cancel, "conflict").with_text("the node exists"));
            }
            let mut node = Node {
                name: name.clone(),
                config,
                affiliations: HashMap::new(),
                subscriptions: Vec::new(),
                items: VecDeque::new(),
                next_seq: 0,
            };
            if let Some(o) = owner {
                node.affiliations.insert(o.to_string(), Affiliation::Owner);
                ops.push(PubSubOp::PutAffiliation { node: name.clone(), jid: o.to_string(), affiliation: "owner".into() });
            }
            nodes.insert_node(node);
        }
        self.commit(ops, None).await?;
        Ok(name)
    }

    /// Runs `f` on the state once the requester is known to own `node` (`None`: the server
    /// itself). Outsiders of a hidden node are told it does not exist.
    fn with_owned_state<T>(
        &self,
        who: Option<&BareJid>,
        node: &str,
        f: impl FnOnce(&mut State) -> Result<T, StanzaError>,
    ) -> Result<T, StanzaError> {
        let mut nodes = self.pubsub().nodes();
        let n = access::visible(nodes.get_mut(node), who)?;
        if let Some(w) = who
            && n.affiliation(w.as_str()) != Affiliation::Owner
        {
            return Err(forbidden());
        }
        f(&mut nodes)
    }

    /// Runs `f` on a node the requester owns (`None`: the server itself).
    fn with_owned_node<T>(
        &self,
        who: Option<&BareJid>,
        node: &str,
        f: impl FnOnce(&mut Node) -> Result<T, StanzaError>,
    ) -> Result<T, StanzaError> {
        self.with_owned_state(who, node, |st| f(st.get_mut(node).ok_or_else(not_found)?))
    }

    /// A node's configuration (owners only).
    pub fn node_config(&self, who: Option<&BareJid>, node: &str) -> Result<NodeConfig, StanzaError> {
        self.with_owned_node(who, node, |n| Ok(n.config.clone()))
    }

    /// Replaces a node's configuration (owners only); history is trimmed to the new `max_items`.
    /// Subscriptions the new access model no longer admits are dropped and their holders told.
    pub async fn configure_node(&self, who: Option<&BareJid>, node: &str, config: NodeConfig) -> Result<(), StanzaError> {
        let roster_ok = match config.access_model {
            AccessModel::Presence => Some(self.roster_readers(node).await),
            _ => None,
        };
        let (ops, gone) = self.with_owned_state(who, node, |st| {
            let n = st.get_mut(node).ok_or_else(not_found)?;
            let mut ops = vec![PubSubOp::PutNode { name: node.to_owned(), config: config.serialise() }];
            while n.items.len() > config.max_items {
                if let Some(old) = n.items.pop_front() {
                    ops.push(PubSubOp::DeleteItem { node: node.to_owned(), id: old.id });
                }
            }
            n.config = config;
            let gone = st.remove_subscriptions(node, |n, s| access::lost(n, s, roster_ok.as_ref()));
            ops.extend(Self::drop_ops(node, &gone));
            Ok((ops, gone))
        })?;
        self.commit(ops, None).await?;
        self.tell_dropped(node, &gone);
        Ok(())
    }

    /// Deletes a node (owners only); subscribers are told.
    pub async fn delete_node(&self, who: Option<&BareJid>, node: &str) -> Result<(), StanzaError> {
        let targets = self.with_owned_state(who, node, |st| Ok(st.remove_node(node).map(|n| Self::targets(&n)).unwrap_or_default()))?;
        let event: Arc<str> =
            Element::new("event", ns::EVENT).with_child(Element::new("delete", ns::EVENT).with_attr("node", node)).to_xml().into();
        let fanout = Fanout { targets, event, id: format!("delete-{:x}", rand::random::<u32>()) };
        self.commit(vec![PubSubOp::DeleteNode { name: node.to_owned() }], Some(fanout)).await
    }

    /// Removes every item (owners only); subscribers are told.
    pub async fn purge_node(&self, who: Option<&BareJid>, node: &str) -> Result<(), StanzaError> {
        let targets = self.with_owned_node(who, node, |n| {
            n.items.clear();
            Ok(Self::targets(n))
        })?;
        let event: Arc<str> =
            Element::new("event", ns::EVENT).with_child(Element::new("purge", ns::EVENT).with_attr("node", node)).to_xml().into();
        let fanout = Fanout { targets, event, id: format!("purge-{:x}", rand::random::<u32>()) };
        self.commit(vec![PubSubOp::Purge { node: node.to_owned() }], Some(fanout)).await
    }

    /// Sets an affiliation (owners only). `None` affiliation removes it. This is how a
    /// whitelist is kept: the JID's subscriptions that no longer pass the access check (an
    /// outcast's, or a former member's of a whitelist node) are dropped and their holders told.
    pub async fn set_affiliation(
        &self,
        who: Option<&BareJid>,
        node: &str,
        jid: &BareJid,
        affiliation: Affiliation,
    ) -> Result<(), StanzaError> {
        let (ops, gone) = self.with_owned_state(who, node, |st| {
            let was = st.get(node).map(|n| n.affiliation(jid.as_str()));
            if who.is_some() && affiliation == Affiliation::Owner && was != Some(Affiliation::Owner) {
                self.pubsub().config.check_owned(jid.as_str(), st.counts.owned(jid.as_str()))?;
            }
            st.set_affiliation(node, jid.as_str(), affiliation);
            let mut ops = vec![match affiliation {
                Affiliation::None => PubSubOp::DeleteAffiliation { node: node.to_owned(), jid: jid.to_string() },
                a => PubSubOp::PutAffiliation { node: node.to_owned(), jid: jid.to_string(), affiliation: a.name().into() },
            }];
            let gone = st.remove_subscriptions(node, |n, s| s.bare == jid.as_str() && access::lost(n, s, None));
            ops.extend(Self::drop_ops(node, &gone));
            Ok((ops, gone))
        })?;
        self.commit(ops, None).await?;
        self.tell_dropped(node, &gone);
        Ok(())
    }

    /// A node's affiliations (owners only).
    pub fn affiliations(&self, who: Option<&BareJid>, node: &str) -> Result<Vec<(String, Affiliation)>, StanzaError> {
        self.with_owned_node(who, node, |n| {
            let mut list: Vec<(String, Affiliation)> = n.affiliations.iter().map(|(j, a)| (j.clone(), *a)).collect();
            list.sort();
            Ok(list)
        })
    }

    /// Subscribes `jid` to a node. A user may subscribe only its own JIDs; the server may
    /// subscribe anyone. The last item is sent at once when the node is so configured.
    pub async fn subscribe(&self, who: Option<&BareJid>, node: &str, jid: &Jid) -> Result<SubscribeOutcome, StanzaError> {
        if let Some(w) = who
            && &jid.to_bare() != w
        {
            return Err(err(StanzaErrorType::Modify, "bad-request", Some("invalid-jid")));
        }
        let info = self.access_info(node, who)?;
        self.check_access(&info, who).await?;
        let pending = who.is_some() && info.config.access_model == AccessModel::Authorize && info.affiliation < Affiliation::Member;
        let state = if pending { SubState::Pending } else { SubState::Subscribed };
        let sub = subscription(jid, format!("{:016x}", rand::random::<u64>()), state, true);
        let (last, owners) = {
            let mut nodes = self.pubsub().nodes();
            if let Some(w) = who {
                self.pubsub().config.check_subscriptions(w.as_str(), nodes.counts.subscriptions(w.as_str()))?;
            }
            let n = nodes.get(node).ok_or_else(not_found)?;
            // Access may have been taken away while the roster was read.
            if who.is_some_and(|w| !access::may_receive(n, w.as_str())) {
                return Err(not_found());
            }
            let last = n.items.back().cloned().filter(|_| n.config.send_last_on_subscribe && !pending);
            let owners = access::owners(n);
            nodes.push_subscription(node, sub.clone());
            (last, owners)
        };
        self.commit(vec![PubSubOp::PutSubscription { node: node.to_owned(), subscription: to_stored_sub(&sub) }], None).await?;
        // The roster read above may be stale: a contact's presence subscription revoked, or the
        // node made presence-only, while it was read, found no subscription yet to drop. Now that
        // every revocation sees this one, check again and undo it if it no longer passes.
        if let Some(w) = who {
            let still = match self.access_info(node, Some(w)) {
                Ok(now) => self.check_access(&now, Some(w)).await.is_ok(),
                Err(_) => false,
            };
            if !still {
                let gone = self.pubsub().nodes().remove_subscriptions(node, |_, s| s.subid == sub.subid);
                self.commit(Self::drop_ops(node, &gone), None).await?;
                return Err(not_found());
            }
        }
        if let Some(item) = last {
            let target = Target { bare: sub.bare.clone(), resource: sub.resource.clone(), subid: None };
            let event = Self::event(node, Self::event_item(&item, info.config.deliver_payloads));
            self.fan_out(&Fanout { targets: vec![target], event, id: format!("last-{}", item.seq) });
        }
        if pending {
            self.ask_owners(node, &sub, &owners);
        }
        Ok(SubscribeOutcome { subid: sub.subid, jid: sub.jid, state })
    }

    /// Sends owners the XEP-0060 §8.6 authorisation form for a pending subscription.
    fn ask_owners(&self, node: &str, sub: &Subscription, owners: &[String]) {
        let form = super::forms::form(
            "form",
            "http://jabber.org/protocol/pubsub#subscribe_authorization",
            &[
                ("pubsub#subid", sub.subid.clone()),
                ("pubsub#node", node.to_owned()),
                ("pubsub#subscriber_jid", sub.jid.clone()),
                ("pubsub#allow", "0".to_owned()),
            ],
        );
        let event: Arc<str> = form.to_xml().into();
        let targets = owners.iter().map(|o| Target { bare: o.clone(), resource: None, subid: None }).collect();
        self.fan_out(&Fanout { targets, event, id: format!("auth-{}", sub.subid) });
    }

    /// Approves or denies a pending subscription, or changes/removes one (owners only).
    pub async fn set_subscription(
        &self,
        who: Option<&BareJid>,
        node: &str,
        jid: &Jid,
        subid: Option<&str>,
        state: Option<SubState>,
    ) -> Result<(), StanzaError> {
        let ops = self.with_owned_state(who, node, |st| {
            let matches = |s: &Subscription| s.jid == jid.as_str() && subid.is_none_or(|id| id == s.subid);
            let n = st.get_mut(node).ok_or_else(not_found)?;
            if !n.subscriptions.iter().any(matches) {
                return Err(err(StanzaErrorType::Modify, "unexpected-request", Some("not-subscribed")));
            }
            Ok(match state {
                Some(state) => n
                    .subscriptions
                    .iter_mut()
                    .filter(|s| matches(s))
                    .map(|s| {
                        s.state = state;
                        PubSubOp::PutSubscription { node: node.to_owned(), subscription: to_stored_sub(s) }
                    })
                    .collect(),
                None => Self::drop_ops(node, &st.remove_subscriptions(node, |_, s| matches(s))),
            })
        })?;
        self.commit(ops, None).await
    }

    /// A node's subscriptions (owners only).
    pub fn node_subscriptions(&self, who: Option<&BareJid>, node: &str) -> Result<Vec<(String, String, SubState)>, StanzaError> {
        self.with_owned_node(who, node, |n| Ok(n.subscriptions.iter().map(|s| (s.jid.clone(), s.subid.clone(), s.state)).collect()))
    }

    /// Ends a subscription of the requester's own JID (XEP-0060 §6.2).
    pub async fn unsubscribe(&self, who: Option<&BareJid>, node: &str, jid: &Jid, subid: Option<&str>) -> Result<(), StanzaError> {
        if let Some(w) = who
            && &jid.to_bare() != w
        {
            return Err(err(StanzaErrorType::Modify, "bad-request", Some("invalid-jid")));
        }
        let ops = {
            let mut nodes = self.pubsub().nodes();
            let n = access::visible(nodes.get_mut(node), who)?;
            let mine: Vec<&Subscription> = n.subscriptions.iter().filter(|s| s.jid == jid.as_str()).collect();
            let gone = match (subid, mine.as_slice()) {
                (_, []) => return Err(err(StanzaErrorType::Cancel, "unexpected-request", Some("not-subscribed"))),
                (None, [one]) => one.subid.clone(),
                (None, _) => return Err(err(StanzaErrorType::Modify, "bad-request", Some("subid-required"))),
                (Some(id), _) => mine
                    .iter()
                    .find(|s| s.subid == id)
                    .map(|s| s.subid.clone())
                    .ok_or_else(|| err(StanzaErrorType::Modify, "not-acceptable", Some("invalid-subid")))?,
            };
            Self::drop_ops(node, &nodes.remove_subscriptions(node, |_, s| s.subid == gone))
        };
        self.commit(ops, None).await
    }

    /// Reads or changes `pubsub#deliver` of one of the requester's subscriptions.
    pub async fn subscription_deliver(
        &self,
        who: Option<&BareJid>,
        node: &str,
        jid: &Jid,
        subid: Option<&str>,
        set: Option<bool>,
    ) -> Result<(String, bool), StanzaError> {
        if let Some(w) = who
            && &jid.to_bare() != w
        {
            return Err(forbidden());
        }
        let (subid, deliver, op) = {
            let mut nodes = self.pubsub().nodes();
            let n = access::visible(nodes.get_mut(node), who)?;
            let matches: Vec<usize> = n
                .subscriptions
                .iter()
                .enumerate()
                .filter(|(_, s)| s.jid == jid.as_str() && subid.is_none_or(|id| id == s.subid))
                .map(|(i, _)| i)
                .collect();
            let index = match matches.as_slice() {
                [] => return Err(err(StanzaErrorType::Modify, "unexpected-request", Some("not-subscribed"))),
                [one] => *one,
                _ => return Err(err(StanzaErrorType::Modify, "bad-request", Some("subid-required"))),
            };
            let sub = &mut n.subscriptions[index];
            if let Some(d) = set {
                sub.deliver = d;
            }
            (
                sub.subid.clone(),
                sub.deliver,
                set.map(|_| PubSubOp::PutSubscription { node: node.to_owned(), subscription: to_stored_sub(sub) }),
            )
        };
        if let Some(op) = op {
            self.commit(vec![op], None).await?;
        }
        Ok((subid, deliver))
    }

    /// Publishes an item. The id is generated (increasing per node) when not given; an existing
    /// id is replaced and becomes the newest. Returns after the item is stored and every
    /// subscriber session has been handed its notification.
    pub async fn publish(
        &self,
        who: Option<&BareJid>,
        node: &str,
        id: Option<String>,
        payload: Option<Element>,
    ) -> Result<String, StanzaError> {
        if let Some(id) = &id {
            self.pubsub().config.check_item_id(id)?;
        }
        let (fanout, op, item_id) = {
            let mut nodes = self.pubsub().nodes();
            let n = access::visible(nodes.get_mut(node), who)?;
            if let Some(w) = who {
                let affiliation = n.affiliation(w.as_str());
                let allowed = match n.config.publish_model {
                    PublishModel::Publishers => affiliation >= Affiliation::Publisher,
                    PublishModel::Subscribers => affiliation >= Affiliation::Publisher || n.is_subscribed(w.as_str()),
                    PublishModel::Open => affiliation != Affiliation::Outcast,
                };
                if !allowed || affiliation == Affiliation::Outcast {
                    return Err(forbidden());
                }
            }
            let seq = n.next_seq;
            n.next_seq += 1;
            let id = id.filter(|i| !i.is_empty()).unwrap_or_else(|| format!("{seq:016x}"));
            let item = Item {
                seq,
                id: id.clone(),
                publisher: who.map(|w| w.to_string()).unwrap_or_default(),
                payload: payload.map(Arc::new),
                published_at_ms: now_ms(),
            };
            n.items.retain(|i| i.id != id);
            n.items.push_back(item.clone());
            let full = n.items.len() > n.config.max_items;
            while n.items.len() > n.config.max_items {
                n.items.pop_front();
            }
            let event = Self::event(node, Self::event_item(&item, n.config.deliver_payloads));
            let fanout = Fanout { targets: Self::targets(n), event, id: format!("{node}#{seq}") };
            let op =
                PubSubOp::PutItem { node: node.to_owned(), item: to_stored_item(&item), keep: full.then_some(n.config.max_items as u64) };
            (fanout, op, id)
        };
        self.commit(vec![op], Some(fanout)).await?;
        Ok(item_id)
    }

    /// Removes an item (its publisher or an owner); subscribers are told when configured.
    pub async fn retract(&self, who: Option<&BareJid>, node: &str, id: &str, notify: bool) -> Result<(), StanzaError> {
        let fanout = {
            let mut nodes = self.pubsub().nodes();
            let n = access::visible(nodes.get_mut(node), who)?;
            let pos = n.items.iter().position(|i| i.id == id).ok_or_else(StanzaError::item_not_found)?;
            if let Some(w) = who {
                let affiliation = n.affiliation(w.as_str());
                if affiliation < Affiliation::Publisher && n.items[pos].publisher != w.as_str() {
                    return Err(forbidden());
                }
            }
            n.items.remove(pos);
            (notify || n.config.notify_retract).then(|| Fanout {
                targets: Self::targets(n),
                event: Self::event(node, Element::new("retract", ns::EVENT).with_attr("id", id)),
                id: format!("retract-{id}"),
            })
        };
        self.commit(vec![PubSubOp::DeleteItem { node: node.to_owned(), id: id.to_owned() }], fanout).await
    }

    /// Items of a node the requester may see.
    pub async fn items(&self, who: Option<&BareJid>, node: &str, query: ItemQuery) -> Result<ItemsPage, StanzaError> {
        let info = self.access_info(node, who)?;
        self.check_access(&info, who).await?;
        if who.is_some() && info.config.access_model == AccessModel::Authorize && info.affiliation < Affiliation::Member && !info.subscribed
        {
            return Err(err(StanzaErrorType::Auth, "not-authorized", Some("not-subscribed")));
        }
        let nodes = self.pubsub().nodes();
        let snapshot = nodes.get(node).ok_or_else(not_found)?;
        Ok(match query {
            ItemQuery::Latest(max) => {
                let skip = max.map_or(0, |m| snapshot.items.len().saturating_sub(m));
                let items: Vec<Item> = snapshot.items.iter().skip(skip).cloned().collect();
                ItemsPage { count: snapshot.items.len(), items }
            }
            ItemQuery::Ids(ids) => {
                let items: Vec<Item> = snapshot.items.iter().filter(|i| ids.contains(&i.id)).cloned().collect();
                if items.is_empty() {
                    return Err(StanzaError::item_not_found());
                }
                ItemsPage { count: items.len(), items }
            }
            ItemQuery::After(after, max) => {
                let missed: Vec<Item> = snapshot
                    .items_after(&after)
                    .ok_or_else(|| {
                        StanzaError::item_not_found().with_text("that item is no longer in the history; fetch the latest items")
                    })?
                    .cloned()
                    .collect();
                let count = missed.len();
                ItemsPage { items: missed.into_iter().take(max.unwrap_or(usize::MAX)).collect(), count }
            }
        })
    }

    /// The requester's subscriptions (all nodes, or one).
    pub fn subscriptions_of(&self, who: &BareJid, node: Option<&str>) -> Vec<(String, String, String, SubState)> {
        let nodes = self.pubsub().nodes();
        let mut out: Vec<(String, String, String, SubState)> = nodes
            .values()
            .filter(|n| node.is_none_or(|name| name == n.name))
            .flat_map(|n| {
                n.subscriptions.iter().filter(|s| s.bare == who.as_str()).map(|s| (n.name.clone(), s.jid.clone(), s.subid.clone(), s.state))
            })
            .collect();
        out.sort();
        out
    }

    /// The requester's affiliations (all nodes, or one).
    pub fn affiliations_of(&self, who: &BareJid, node: Option<&str>) -> Vec<(String, Affiliation)> {
        let nodes = self.pubsub().nodes();
        let mut out: Vec<(String, Affiliation)> = nodes
            .values()
            .filter(|n| node.is_none_or(|name| name == n.name))
            .filter_map(|n| n.affiliations.get(who.as_str()).map(|a| (n.name.clone(), *a)))
            .collect();
        out.sort();
        out
    }

    /// Nodes the requester may discover: hidden nodes (whitelist, presence) only when
    /// affiliated, and never a node it is an outcast of. `None` lists all.
    pub fn visible_nodes(&self, who: Option<&BareJid>) -> Vec<(String, String)> {
        let nodes = self.pubsub().nodes();
        let mut out: Vec<(String, String)> = nodes
            .values()
            .filter(|n| who.is_none_or(|w| n.affiliation(w.as_str()) != Affiliation::Outcast && !access::hidden_from(n, w.as_str())))
            .map(|n| (n.name.clone(), n.config.title.clone()))
            .collect();
        out.sort();
        out
    }

    /// Whether a node exists.
    pub fn node_exists(&self, node: &str) -> bool {
        self.pubsub().nodes().contains_key(node)
    }

    /// Number of subscriptions of a node (for tests and statistics).
    pub fn subscription_count(&self, node: &str) -> usize {
        self.pubsub().nodes().get(node).map_or(0, |n| n.subscriptions.len())
    }
}
