//! The web-services user over a real core and a memory store, with agents as sessions bound in
//! the same core.

use super::*;
use herald_core::CoreConfig;
use herald_store::{AccountStore, AnyStore, MemoryStore};

const DOMAIN: &str = "example.com";

async fn core_with_agents(agents: &[&str]) -> (Core, MemoryStore) {
    let store = MemoryStore::new();
    for agent in agents {
        store.create_user(agent, &[]).await.unwrap();
    }
    let logins: Vec<String> = agents.iter().map(|a| (*a).to_owned()).collect();
    provision(&store, DOMAIN, &logins).await.unwrap();
    let core = Core::start(CoreConfig::new(DOMAIN), AnyStore::Memory(store.clone())).await.unwrap();
    (core, store)
}

fn origin() -> Origin {
    Origin { transport: Transport::Tcp, source: IpAddr::V4(Ipv4Addr::LOCALHOST) }
}

/// Binds `agent` and sends its initial presence.
async fn sign_in(core: &Core, agent: &str) -> SessionHandle {
    let handle = core.bind(agent, Some("desk".into()), origin()).unwrap();
    let presence = Element::new("presence", ns::CLIENT).with_attr("from", handle.jid.to_string());
    core.route(&handle.jid.clone(), handle.id, presence).await;
    handle
}

/// The presence stanzas from the web-services user queued for `handle`, by type.
fn finesse_presence(handle: &mut SessionHandle) -> Vec<String> {
    let mut found = Vec::new();
    while let Some(stanza) = handle.inbox.try_recv() {
        if stanza.stanza_kind() == Some(StanzaKind::Presence) && stanza.attr("from") == Some(&format!("{USERNAME}@{DOMAIN}/{RESOURCE}")) {
            found.push(stanza.stanza_type().to_owned());
        }
    }
    found
}

/// What a recording watcher was told: `(localpart, resource, available)`, in order.
type Told = Arc<std::sync::Mutex<Vec<(String, String, bool)>>>;

/// A watcher that records what it is told.
fn recorder() -> (PresenceWatcher, Told) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let watcher: PresenceWatcher = Arc::new(move |user: &str, resource: &str, available: bool| {
        sink.lock().unwrap().push((user.to_owned(), resource.to_owned(), available));
    });
    (watcher, seen)
}

/// Lets the mailbox task run until `done` holds (bounded, no sleeping).
async fn settle(done: impl Fn() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the mailbox task did not see the presence");
}

#[tokio::test]
async fn an_agent_signing_in_sees_finesse_available_and_then_unavailable_after_stop() {
    let (core, _store) = core_with_agents(&["1001"]).await;
    let finesse = start(&core, recorder().0).await.unwrap();
    assert_eq!(finesse.jid().to_string(), "finesse@example.com/webservices");
    let mut agent = sign_in(&core, "1001").await;
    assert_eq!(finesse_presence(&mut agent), ["available"], "the probe of finesse is answered");
    settle(|| finesse.seen().available() == 1).await;
    finesse.stop().await.unwrap();
    assert_eq!(finesse_presence(&mut agent), ["unavailable"]);
    assert_eq!(core.session_count(), 1, "only the agent's session is left");
}

#[tokio::test]
async fn an_agent_already_signed_in_sees_finesse_come_and_finesse_sees_it() {
    let (core, _store) = core_with_agents(&["1001", "1002"]).await;
    let mut agent = sign_in(&core, "1001").await;
    assert!(finesse_presence(&mut agent).is_empty(), "no web services yet");
    let (watcher, told) = recorder();
    let finesse = start(&core, watcher).await.unwrap();
    assert_eq!(finesse_presence(&mut agent), ["available"]);
    // Its probes bring the presence of the agents already available.
    settle(|| finesse.seen().available() == 1).await;
    // An agent leaving is seen.
    let end = SessionEnd { cause: CloseCause::ClientTerminate, last_activity: Instant::now() };
    core.unbind(agent, Vec::new(), end).await;
    settle(|| finesse.seen().unavailable() == 1).await;
    finesse.stop().await.unwrap();
    // The watcher was told of the agent's resource, by localpart and resource, in order (its
    // own presence coming back is not an agent's).
    let told = told.lock().unwrap().clone();
    assert_eq!(told, [("1001".to_owned(), "desk".to_owned(), true), ("1001".to_owned(), "desk".to_owned(), false)]);
}

#[tokio::test]
async fn provisioning_makes_mutual_subscriptions_once_and_keeps_names() {
    let store = MemoryStore::new();
    for user in ["1001", "1002"] {
        store.create_user(user, &[]).await.unwrap();
    }
    // An item the agent made, with a name and a group, pending.
    let mine = RosterItem {
        contact: "finesse@example.com".into(),
        name: Some("Web services".into()),
        subscription: Subscription::To,
        groups: vec!["System".into()],
        ..Default::default()
    };
    store.put_roster_item("1001", &mine).await.unwrap();
    let logins = vec!["1001".to_owned(), "1002".to_owned(), USERNAME.to_owned()];
    provision(&store, DOMAIN, &logins).await.unwrap();
    let first = store.credentials(USERNAME).await.unwrap().unwrap();
    for user in ["1001", "1002"] {
        let item = store.roster_item(user, "finesse@example.com").await.unwrap().unwrap();
        assert!(is_mutual(&item), "{user}: {item:?}");
        let back = store.roster_item(USERNAME, &format!("{user}@example.com")).await.unwrap().unwrap();
        assert!(is_mutual(&back), "{back:?}");
    }
    let kept = store.roster_item("1001", "finesse@example.com").await.unwrap().unwrap();
    assert_eq!((kept.name.as_deref(), kept.groups.as_slice()), (Some("Web services"), &["System".to_owned()][..]));
    assert!(store.roster_item(USERNAME, "finesse@example.com").await.unwrap().is_none(), "not its own contact");
    // Again: nothing changes but the password, which nobody knows either way.
    provision(&store, DOMAIN, &logins).await.unwrap();
    assert_eq!(store.roster_len(USERNAME).await.unwrap(), 2);
    assert_eq!(store.roster_len("1002").await.unwrap(), 1);
    assert_ne!(store.credentials(USERNAME).await.unwrap().unwrap(), first, "a fresh random password at each start");
}

#[tokio::test]
async fn provisioning_refuses_a_login_without_an_account() {
    let store = MemoryStore::new();
    let err = provision(&store, DOMAIN, &["ghost".to_owned()]).await.unwrap_err();
    assert!(format!("{err:#}").contains("ghost"), "{err:#}");
    assert!(store.roster(USERNAME).await.unwrap().is_empty(), "nothing written");
}

#[tokio::test]
async fn an_agent_added_after_the_first_start_gets_the_web_services_user() {
    let store = MemoryStore::new();
    crate::users::add_agent(&store, "example.com", "1001", "pw", &crate::users::AgentOptions::default()).await.unwrap();
    assert!(!link_user(&store, "example.com", "1001").await.unwrap(), "no web-services user yet");
    assert!(store.roster("1001").await.unwrap().is_empty());
    provision(&store, "example.com", &["1001".to_owned()]).await.unwrap();
    crate::users::add_agent(&store, "example.com", "1002", "pw", &crate::users::AgentOptions::default()).await.unwrap();
    assert!(link_user(&store, "example.com", "1002").await.unwrap());
    assert!(!link_user(&store, "example.com", USERNAME).await.unwrap(), "not with itself");
    let item = store.roster_item("1002", "finesse@example.com").await.unwrap().unwrap();
    assert_eq!((item.subscription, item.visible), (herald_store::Subscription::Both, true));
    let back = store.roster_item("finesse", "1002@example.com").await.unwrap().unwrap();
    assert_eq!(back.subscription, herald_store::Subscription::Both);
}
