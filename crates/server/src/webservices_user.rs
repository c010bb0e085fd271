//! The web-services user `finesse@<domain>`: the XMPP entity that stands for the web services,
//! as in Cisco Finesse. Desktops wait for its presence before they call themselves connected
//! (unavailable means the web services are down), and it sees every agent's presence (the
//! next issue's presence-driven logout watches it).
//!
//! [`provision`] makes its account (with a random password nobody knows) and puts it and every
//! contact-center user in each other's rosters with a mutual subscription, in bulk. [`start`]
//! binds its session inside the core, with no connection, and makes it available; its mailbox is
//! drained by a task that counts the presence it receives and hands each agent resource's
//! available/unavailable presence to a [`PresenceWatcher`] (the presence-driven logout).
//! [`WebServicesUser::stop`] makes it unavailable and unbinds it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use herald_core::{CloseCause, Core, Origin, SessionEnd, SessionHandle, Transport};
use herald_proto::{FullJid, Stanza, StanzaKind, ns};
use herald_store::{AccountStore, ContactCenterStore, RosterItem, RosterStore, Store, StoreError, Subscription};
use herald_xml::Element;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The web-services user's localpart.
pub const USERNAME: &str = "finesse";

/// The resource of its session.
pub const RESOURCE: &str = "webservices";

/// `item` (or a new item for `contact`) with a mutual subscription, visible, nothing pending;
/// its name and groups kept.
fn mutual(existing: Option<&RosterItem>, contact: &str) -> RosterItem {
    let base = existing.cloned().unwrap_or_else(|| RosterItem { contact: contact.to_owned(), ..Default::default() });
    RosterItem { subscription: Subscription::Both, ask_out: false, pending_in: false, visible: true, ..base }
}

fn is_mutual(item: &RosterItem) -> bool {
    item.subscription == Subscription::Both && item.visible && !item.ask_out && !item.pending_in
}

/// Makes sure the account `finesse` exists with a fresh random password (so that nobody can
/// sign in as it), and that `finesse` and every user of `logins` have each other in their
/// rosters with subscription `both`. Only the missing or different items are written, in one
/// transaction, so it is quick for thousands of users and changes nothing the second time.
pub async fn provision<S: Store>(store: &S, domain: &str, logins: &[String]) -> anyhow::Result<()> {
    let secret = format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
    let credentials = crate::users::credentials_for(&secret)?;
    match store.create_user(USERNAME, &credentials).await {
        Ok(()) => {}
        Err(StoreError::UserExists(_)) => store.set_credentials(USERNAME, &credentials).await?,
        Err(err) => return Err(err).context("creating the web-services user"),
    }
    let finesse_jid = format!("{USERNAME}@{domain}");
    let holding: HashMap<String, RosterItem> = ContactCenterStore::cc_roster_items_naming(store, &finesse_jid).await?.into_iter().collect();
    let own: HashMap<String, RosterItem> =
        RosterStore::roster(store, USERNAME).await?.into_iter().map(|item| (item.contact.clone(), item)).collect();
    let mut items = Vec::new();
    for login in logins.iter().filter(|l| l.as_str() != USERNAME) {
        let held = holding.get(login);
        if !held.is_some_and(is_mutual) {
            items.push((login.clone(), mutual(held, &finesse_jid)));
        }
        let user_jid = format!("{login}@{domain}");
        let item = own.get(&user_jid);
        if !item.is_some_and(is_mutual) {
            items.push((USERNAME.to_owned(), mutual(item, &user_jid)));
        }
    }
    if !items.is_empty() {
        store.cc_put_roster_items(&items).await.context("writing the web-services user's roster items")?;
    }
    tracing::info!(target: "notification", users = logins.len(), items_written = items.len(), "web-services user {finesse_jid} provisioned");
    Ok(())
}

/// Puts a user added while the server may be running (`herald user add`) and the web-services
/// user in each other's rosters, mutually subscribed, if the web-services user exists (it is
/// made at the first start); returns whether it did. Its initial presence then probes `finesse`
/// from the fresh roster, so the new agent sees the web services without a restart.
pub async fn link_user<S: AccountStore + ContactCenterStore>(store: &S, domain: &str, login: &str) -> anyhow::Result<bool> {
    if login == USERNAME || store.credentials(USERNAME).await?.is_none() {
        return Ok(false);
    }
    let items = [
        (login.to_owned(), mutual(None, &format!("{USERNAME}@{domain}"))),
        (USERNAME.to_owned(), mutual(None, &format!("{login}@{domain}"))),
    ];
    store.cc_put_roster_items(&items).await?;
    Ok(true)
}

/// Told of every available or unavailable presence from a resource of this domain's users:
/// `(localpart, resource, available)`.
pub type PresenceWatcher = Arc<dyn Fn(&str, &str, bool) + Send + Sync>;

/// What the web-services user has received, counted by its mailbox task.
#[derive(Debug, Default)]
pub struct Seen {
    available: AtomicU64,
    unavailable: AtomicU64,
    other: AtomicU64,
}

impl Seen {
    /// Available presences received from others (agents' initial presence and probe answers).
    pub fn available(&self) -> u64 {
        self.available.load(Ordering::Relaxed)
    }

    /// Unavailable presences received (agents going away).
    pub fn unavailable(&self) -> u64 {
        self.unavailable.load(Ordering::Relaxed)
    }

    /// Every other stanza received.
    pub fn other(&self) -> u64 {
        self.other.load(Ordering::Relaxed)
    }

    fn count(&self, own: &FullJid, stanza: &Element, watcher: &PresenceWatcher) {
        // Its own presence comes back to it (RFC 6121 §4.2.2): not an agent's.
        if stanza.attr("from") == Some(own.as_str()) {
            return;
        }
        let (counter, available) = match stanza.stanza_kind() {
            Some(StanzaKind::Presence) if stanza.stanza_type() == "available" => (&self.available, Some(true)),
            Some(StanzaKind::Presence) if stanza.stanza_type() == "unavailable" => (&self.unavailable, Some(false)),
            _ => (&self.other, None),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(target: "notification", from = stanza.attr("from").unwrap_or_default(), name = %stanza.name, kind = stanza.stanza_type(), "web-services user received");
        let Some(available) = available else { return };
        // Only a full JID of this domain is an agent's desktop session.
        let from = stanza.attr("from").and_then(|from| FullJid::new(from).ok());
        if let Some(from) = from.filter(|f| f.domain() == own.domain())
            && let Some(user) = from.node()
        {
            watcher(user.as_str(), from.resource().as_str(), available);
        }
    }
}

/// The web-services user's live session: available until [`WebServicesUser::stop`].
pub struct WebServicesUser {
    core: Core,
    jid: FullJid,
    session: u64,
    seen: Arc<Seen>,
    stop: oneshot::Sender<()>,
    mailbox: JoinHandle<SessionHandle>,
}

/// Binds `finesse@<domain>/webservices` in `core` (an internal session from 127.0.0.1), sends
/// its initial available presence (its contacts see it; it probes theirs) and drains its
/// mailbox in a task, which tells `watcher` of the agents' presence. Its account and roster
/// must have been made by [`provision`].
pub async fn start(core: &Core, watcher: PresenceWatcher) -> anyhow::Result<WebServicesUser> {
    let origin = Origin { transport: Transport::Internal, source: IpAddr::V4(Ipv4Addr::LOCALHOST) };
    let handle = core
        .bind(USERNAME, Some(RESOURCE.to_owned()), origin)
        .map_err(|e| anyhow::anyhow!("cannot bind the web-services user's session: {e:?}"))?;
    let (jid, session) = (handle.jid.clone(), handle.id);
    let seen = Arc::new(Seen::default());
    let (stop, stopped) = oneshot::channel();
    let mailbox = tokio::spawn(drain(handle, seen.clone(), watcher, stopped));
    let presence = Element::new("presence", ns::CLIENT).with_attr("from", jid.to_string());
    core.route(&jid, session, presence).await;
    tracing::info!(target: "notification", jid = %jid, "web-services user available");
    Ok(WebServicesUser { core: core.clone(), jid, session, seen, stop, mailbox })
}

/// Takes what arrives for the web-services user until told to stop (or its queue ends), then
/// hands the session back for unbinding.
async fn drain(mut handle: SessionHandle, seen: Arc<Seen>, watcher: PresenceWatcher, mut stop: oneshot::Receiver<()>) -> SessionHandle {
    loop {
        tokio::select! {
            _ = &mut stop => break,
            next = handle.inbox.recv() => match next {
                Some(stanza) => seen.count(&handle.jid, &stanza, &watcher),
                None => {
                    tracing::warn!(target: "notification", jid = %handle.jid, "the web-services user's session queue ended");
                    // Wait for stop, so that the session is unbound once, by stop.
                    let _ = (&mut stop).await;
                    break;
                }
            },
        }
    }
    handle
}

impl WebServicesUser {
    /// Its full JID.
    pub fn jid(&self) -> &FullJid {
        &self.jid
    }

    /// What it has received so far.
    pub fn seen(&self) -> &Seen {
        &self.seen
    }

    /// Sends unavailable presence (desktops learn the web services are gone) and unbinds the
    /// session as a server shutdown.
    pub async fn stop(self) -> anyhow::Result<()> {
        let unavailable = Element::new("presence", ns::CLIENT).with_attr("type", "unavailable").with_attr("from", self.jid.to_string());
        self.core.route(&self.jid, self.session, unavailable).await;
        let _ = self.stop.send(());
        let handle = self.mailbox.await.context("the web-services user's mailbox task failed")?;
        let end = SessionEnd { cause: CloseCause::ServerShutdown, last_activity: Instant::now() };
        self.core.unbind(handle, Vec::new(), end).await;
        tracing::info!(target: "notification", jid = %self.jid, "web-services user unavailable");
        Ok(())
    }
}

#[cfg(test)]
mod tests;
