//! Cross-node routing: the [`Remote`] seam through which a core in a cluster reaches the
//! sessions bound on other nodes, the helpers the router and presence code call when a local
//! look-up does not settle a stanza, and [`Core::deliver_forwarded`], where a stanza another node
//! forwarded is delivered to this node's sessions only (never forwarded again, so no loops).

use std::future::Future;
use std::pin::Pin;

use herald_proto::{BareJid, FullJid, Jid, Stanza, StanzaError, StanzaKind, ns};
use herald_store::{RosterItem, RosterStore};
use herald_xml::Element;

use crate::router::{Core, Target};

/// A session of an account bound on another node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteSession {
    /// The node holding it.
    pub node: String,
    /// Its resource.
    pub resource: String,
}

/// What the core needs of the cluster: where an account's other sessions are, and a way to
/// hand a stanza to another node. The server implements it over Redis; a single node has none.
pub trait Remote: Send + Sync + 'static {
    /// Sessions of `bare` on OTHER nodes (empty when none or when the directory cannot be
    /// read: the implementation logs that).
    fn locate<'a>(&'a self, bare: &'a str) -> Pin<Box<dyn Future<Output = Vec<RemoteSession>> + Send + 'a>>;
    /// Hands `stanza` (with `from` and `to` set) to `node`, whose core then calls
    /// [`Core::deliver_forwarded`]. Never blocks; in order per destination node.
    fn forward(&self, node: &str, stanza: Element);
}

impl std::fmt::Debug for dyn Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Remote")
    }
}

/// The distinct nodes of `sessions`, sorted by id.
fn nodes_of(sessions: Vec<RemoteSession>) -> Vec<String> {
    let mut nodes: Vec<String> = sessions.into_iter().map(|s| s.node).collect();
    nodes.sort();
    nodes.dedup();
    nodes
}

/// Forwarding, used by the router and presence code (all of it a no-op on a single node).
impl Core {
    fn remote(&self) -> Option<&dyn Remote> {
        self.inner.config.remote.as_deref()
    }

    /// Sessions of `bare` on other nodes (none on a single node).
    async fn remote_sessions(&self, bare: &str) -> Vec<RemoteSession> {
        match self.remote() {
            Some(remote) => remote.locate(bare).await,
            None => Vec::new(),
        }
    }

    /// Forwards `stanza` to the node holding `bare/resource`; false when no node does.
    pub(crate) async fn forward_to_resource(&self, bare: &str, resource: &str, stanza: Element) -> bool {
        let Some(remote) = self.remote() else { return false };
        let sessions = remote.locate(bare).await;
        let Some(session) = sessions.into_iter().find(|s| s.resource == resource) else { return false };
        remote.forward(&session.node, stanza);
        true
    }

    /// Forwards `stanza` to the first node (by id) holding sessions of `bare`; false when none.
    pub(crate) async fn forward_to_one(&self, bare: &str, stanza: Element) -> bool {
        let Some(remote) = self.remote() else { return false };
        let Some(node) = nodes_of(remote.locate(bare).await).into_iter().next() else { return false };
        remote.forward(&node, stanza);
        true
    }

    /// Forwards `stanza` to every other node holding sessions of `bare`.
    pub(crate) async fn forward_to_holders(&self, bare: &str, stanza: &Element) {
        let Some(remote) = self.remote() else { return };
        for node in nodes_of(remote.locate(bare).await) {
            remote.forward(&node, stanza.clone());
        }
    }

    /// Sends `el` to its `to` wherever that is: a full JID's session here or on its node, or a
    /// bare JID's available sessions here and on every node holding some.
    pub(crate) async fn send_anywhere(&self, el: Element) {
        let Ok(Some(to)) = el.recipient_jid() else { return };
        let Target::Local(bare, resource) = self.target(&to) else { return };
        match resource {
            Some(resource) => {
                if !self.deliver_full(bare.as_str(), &resource, el.clone()) {
                    self.forward_to_resource(bare.as_str(), &resource, el).await;
                }
            }
            None => {
                self.deliver_to_available(bare.as_str(), &el);
                self.forward_to_holders(bare.as_str(), &el).await;
            }
        }
    }

    /// The cross-node part of a presence broadcast by `from` (see `broadcast_presence`): `p` to
    /// the other nodes holding sessions of each contact subscribed to `from`, of `from`'s own
    /// account, and of the JIDs in `directed`.
    pub(crate) async fn broadcast_remote(&self, from: &FullJid, p: &Element, directed: &[String], roster: &crate::roster_cache::Roster) {
        if self.remote().is_none() {
            return;
        }
        let bare = from.to_bare();
        let mut p = p.clone();
        p.set_attr("from", from.to_string());
        let contacts = roster.values().filter(|i| i.subscription.has_from()).map(|i| i.contact.as_str());
        for contact in contacts.chain([bare.as_str()]) {
            if let Ok(contact) = BareJid::new(contact)
                && contact.domain().as_str() == self.domain()
            {
                let mut copy = p.clone();
                copy.set_attr("to", contact.as_str());
                self.forward_to_holders(contact.as_str(), &copy).await;
            }
        }
        for jid in directed {
            if let Ok(to) = Jid::new(jid) {
                self.forward_directed(&to, &p).await;
            }
        }
    }

    /// The cross-node part of directed presence `p` to `to`: its node when `to` is a full JID
    /// with no session here, every node holding sessions of it when bare.
    pub(crate) async fn forward_directed(&self, to: &Jid, p: &Element) {
        let Target::Local(bare, resource) = self.target(to) else { return };
        let mut copy = p.clone();
        copy.set_attr("to", to.to_string());
        match resource {
            Some(resource) => {
                if self.table().by_resource(bare.as_str(), &resource).is_none() {
                    self.forward_to_resource(bare.as_str(), &resource, copy).await;
                }
            }
            None => self.forward_to_holders(bare.as_str(), &copy).await,
        }
    }

    /// At initial presence of `prober`: asks the other nodes holding sessions of `contact` for
    /// their presence (they answer through [`Core::deliver_forwarded`]).
    pub(crate) async fn probe_remote(&self, prober: &str, contact: &BareJid) {
        if self.remote().is_none() {
            return;
        }
        let probe =
            Element::new("presence", ns::CLIENT).with_attr("type", "probe").with_attr("from", prober).with_attr("to", contact.as_str());
        self.forward_to_holders(contact.as_str(), &probe).await;
    }

    /// Tells the other nodes holding sessions of `owner` that its item for `contact` changed in
    /// the store, so that they refresh their roster cache and push the item to `owner`'s
    /// resources there. The notice is a roster push from the account to itself, a form no client
    /// stanza reaching [`Core::deliver_forwarded`] has.
    pub(crate) async fn roster_changed(&self, owner: &BareJid, contact: &str) {
        if self.remote().is_none() {
            return;
        }
        let notice = Element::new("iq", ns::CLIENT)
            .with_attr("type", "set")
            .with_attr("id", "roster-changed")
            .with_attr("from", owner.as_str())
            .with_attr("to", owner.as_str())
            .with_child(Element::new("query", ns::ROSTER).with_child(Element::new("item", ns::ROSTER).with_attr("jid", contact)));
        self.forward_to_holders(owner.as_str(), &notice).await;
    }

    /// Unavailable presence from each session of `from` on other nodes, sent to `to` (when
    /// `from` revokes or loses a subscription).
    pub(crate) async fn remote_unavailable(&self, from: &BareJid, to: &BareJid) {
        for session in self.remote_sessions(from.as_str()).await {
            let p = Element::new("presence", ns::CLIENT)
                .with_attr("type", "unavailable")
                .with_attr("from", format!("{from}/{}", session.resource))
                .with_attr("to", to.as_str());
            self.send_anywhere(p).await;
        }
    }
}

/// The receiving side.
impl Core {
    /// This node is back in its cluster after being out of it (a stall longer than its lease,
    /// or Redis restarted empty): the other nodes sent it nothing meanwhile, and may have counted
    /// its sessions as lost. Reloads the pubsub view from the shared store, then asks every
    /// client to reconnect (`<system-shutdown/>`): a desktop logs in again, its presence counts
    /// afresh, and it catches up from the node history on what did not reach it. Call it where
    /// the other nodes' pubsub batches are applied, in their order. How many sessions were asked.
    pub async fn rejoined_cluster(&self) -> Result<usize, herald_store::StoreError> {
        self.pubsub().reload(self.store()).await?;
        let asked = self.ask_clients_to_reconnect();
        tracing::warn!(target: "notification", sessions = asked, "this node was out of the cluster: its clients are asked to reconnect and catch up");
        Ok(asked)
    }

    /// Delivers a stanza another node forwarded (with `from` and `to` set) to THIS node's
    /// sessions only: a message by the local rules (stored offline when no session here takes
    /// it), an iq to its full JID (a request with no session is bounced to its sender, wherever
    /// that is), presence to its full JID or to the bare JID's available sessions, a probe
    /// answered with the presence of this node's sessions of the probed account. Never forwards
    /// the stanza again; a malformed one is dropped with a log line.
    pub async fn deliver_forwarded(&self, stanza: Element) {
        let Some((from, bare, resource)) = self.forwarded_addresses(&stanza) else {
            tracing::warn!(target: "notification", stanza = %stanza.to_xml(), "malformed stanza forwarded by another node; dropped");
            return;
        };
        match stanza.stanza_kind() {
            Some(StanzaKind::Message) => self.route_message_here(stanza, Target::Local(bare, resource)).await,
            Some(StanzaKind::Iq) => {
                if let Some(contact) = roster_change(&stanza, &from, &bare, resource.as_deref()) {
                    return self.refresh_item(&bare, &contact).await;
                }
                let request = matches!(stanza.stanza_type(), "get" | "set");
                let delivered = resource.is_some_and(|r| self.deliver_full(bare.as_str(), &r, stanza.clone()));
                if !delivered
                    && request
                    && let Some(reply) = stanza.error_reply(&StanzaError::service_unavailable())
                {
                    self.send_anywhere(reply).await;
                }
            }
            Some(StanzaKind::Presence) => self.presence_forwarded(from, bare, resource, stanza).await,
            None => {}
        }
    }

    /// `from`, and `to` split into bare JID and resource, of a well-formed forwarded stanza for
    /// an account of this domain.
    fn forwarded_addresses(&self, stanza: &Element) -> Option<(Jid, BareJid, Option<String>)> {
        stanza.stanza_kind()?;
        let from = stanza.sender_jid().ok()??;
        let to = stanza.recipient_jid().ok()??;
        match self.target(&to) {
            Target::Local(bare, resource) => Some((from, bare, resource)),
            _ => None,
        }
    }

    /// Presence forwarded to `bare` (and `resource`). A subscription presence needs no roster
    /// work here: the sender's node changed this account's item and its notice came first.
    async fn presence_forwarded(&self, from: Jid, bare: BareJid, resource: Option<String>, p: Element) {
        match p.stanza_type() {
            "probe" => self.answer_forwarded_probe(&from, &bare).await,
            "subscribe" | "subscribed" | "unsubscribe" | "unsubscribed" => self.deliver_to_available(bare.as_str(), &p),
            _ => match resource {
                Some(resource) => {
                    self.deliver_full(bare.as_str(), &resource, p);
                }
                None => self.deliver_to_available(bare.as_str(), &p),
            },
        }
    }

    /// Answers a probe from `prober` with the presence of `contact`'s available sessions here.
    async fn answer_forwarded_probe(&self, prober: &Jid, contact: &BareJid) {
        for p in self.presences_of(contact, &prober.to_string()) {
            self.send_anywhere(p).await;
        }
    }

    /// Reads `owner`'s item for `contact` again from the store (another node changed or removed
    /// it) into the cache, and pushes it to `owner`'s interested resources here.
    async fn refresh_item(&self, owner: &BareJid, contact: &BareJid) {
        let Some(username) = owner.node().map(|n| n.to_string()) else { return };
        match self.inner.store.roster_item(&username, contact.as_str()).await {
            Ok(Some(item)) => {
                self.table().rosters.apply(owner.as_str(), &item.contact, Some(&item));
                if item.visible {
                    self.roster_push(owner, &item, false);
                }
            }
            Ok(None) => {
                self.table().rosters.apply(owner.as_str(), contact.as_str(), None);
                let removed = RosterItem { contact: contact.to_string(), ..Default::default() };
                self.roster_push(owner, &removed, true);
            }
            Err(err) => tracing::error!(target: "notification", %err, "roster read failed for a forwarded subscription"),
        }
    }
}

/// The contact of a roster-change notice (see `Core::roster_changed`): an iq set from an account
/// to itself, both bare, carrying one roster item.
fn roster_change(iq: &Element, from: &Jid, to: &BareJid, resource: Option<&str>) -> Option<BareJid> {
    if iq.stanza_type() != "set" || resource.is_some() || from.resource().is_some() || &from.to_bare() != to {
        return None;
    }
    let item = iq.child("query", ns::ROSTER)?.child("item", ns::ROSTER)?;
    BareJid::new(item.attr("jid")?).ok()
}
