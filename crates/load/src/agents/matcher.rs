//! Where a state change ends: the User `<Update>` carrying its `requestId`, found in what an
//! agent's desktop receives (finesse-domain.md §2.1: a pubsub event whose item holds a
//! `<notification>` with the Update as escaped text), and the table of changes still waiting
//! for theirs. The same items read from a node's history (an items query's result, as a desktop
//! catching up after a failover gets them) are parsed here too.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use herald_xml::{Element, Limits, parse_document};
use tokio::sync::oneshot;

const NS_EVENT: &str = "http://jabber.org/protocol/pubsub#event";
const NS_PUBSUB: &str = "http://jabber.org/protocol/pubsub";

/// One Update seen in a pubsub event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UpdateSeen {
    /// The node the item was published on.
    pub(crate) node: String,
    /// The item's id (empty when it has none).
    pub(crate) item: String,
    /// The Update's `<requestId>` (empty for unsolicited events).
    pub(crate) request_id: String,
    /// The Update's data is an `<apiErrors>`: the request was refused after its 202.
    pub(crate) refused: bool,
}

/// The Updates a stanza carries: every `event/items/item/notification` (the notification's
/// namespace varies between Finesse versions, so only its local name is matched), its text
/// parsed as the `<Update>` document. Anything else yields nothing.
pub(crate) fn updates_in(stanza: &Element) -> Vec<UpdateSeen> {
    stanza.child("event", NS_EVENT).and_then(|e| e.child("items", NS_EVENT)).map(updates_in_items).unwrap_or_default()
}

/// The Updates an items query's result carries (`iq/pubsub/items/item/notification`), in the
/// node's order.
pub(crate) fn updates_in_history(result: &Element) -> Vec<UpdateSeen> {
    result.child("pubsub", NS_PUBSUB).and_then(|p| p.child("items", NS_PUBSUB)).map(updates_in_items).unwrap_or_default()
}

/// The Updates in an `<items>` element, whichever namespace it is in.
fn updates_in_items(items: &Element) -> Vec<UpdateSeen> {
    let node = items.attr("node").unwrap_or_default();
    items
        .elements()
        .filter(|item| item.name == "item")
        .flat_map(|item| item.elements().filter(|e| e.name == "notification").map(move |n| (item.attr("id").unwrap_or_default(), n)))
        .filter_map(|(item, notification)| {
            let text = notification.text();
            let update = parse_document(text.trim().as_bytes(), Limits::default()).ok()?;
            if update.name != "Update" {
                return None;
            }
            let request_id = update.elements().find(|e| e.name == "requestId").map(|e| e.text()).unwrap_or_default();
            let refused = update.elements().filter(|e| e.name == "data").any(|d| d.elements().any(|e| e.name == "apiErrors"));
            Some(UpdateSeen { node: node.to_owned(), item: item.to_owned(), request_id: request_id.trim().to_owned(), refused })
        })
        .collect()
}

/// When and how a change's Update arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Arrival {
    /// When the desktop received it.
    pub(crate) at: Instant,
    /// It carried `apiErrors`.
    pub(crate) refused: bool,
}

struct Waiting {
    agent: usize,
    answer: oneshot::Sender<Arrival>,
}

/// The changes sent and not yet seen, by `requestId`. A desktop hands it every stanza it
/// receives; an Update whose `requestId` is waiting, and that reached the desktop of the agent
/// the change was for, completes that change.
#[derive(Default)]
pub(crate) struct Matcher {
    waiting: Mutex<HashMap<String, Waiting>>,
}

impl Matcher {
    /// Registers a change for `agent` about to be sent with `request_id`; the receiver gets its
    /// Update's arrival. Registering happens before the request goes out, since the Update may
    /// reach the desktop before the HTTP answer reaches the sender.
    pub(crate) fn expect(&self, request_id: String, agent: usize) -> oneshot::Receiver<Arrival> {
        let (answer, arrival) = oneshot::channel();
        self.lock().insert(request_id, Waiting { agent, answer });
        arrival
    }

    /// Stops waiting for `request_id` (refused over HTTP, or given up as lost).
    pub(crate) fn forget(&self, request_id: &str) {
        self.lock().remove(request_id);
    }

    /// Changes still waiting.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.lock().len()
    }

    /// Hands what `agent`'s desktop received at `at` to the changes waiting for it; returns how
    /// many it completed.
    #[cfg(test)]
    pub(crate) fn received(&self, agent: usize, stanza: &Element, at: Instant) -> usize {
        self.completed(agent, &updates_in(stanza), at)
    }

    /// Hands the Updates `agent`'s desktop received at `at` (live or from the history) to the
    /// changes waiting for them; returns how many it completed.
    pub(crate) fn completed(&self, agent: usize, updates: &[UpdateSeen], at: Instant) -> usize {
        if updates.is_empty() {
            return 0;
        }
        let mut completed = 0;
        let mut waiting = self.lock();
        for update in updates.iter().filter(|u| !u.request_id.is_empty()) {
            if waiting.get(&update.request_id).is_some_and(|w| w.agent == agent)
                && let Some(w) = waiting.remove(&update.request_id)
            {
                // The sender may have given up already: the arrival is then simply not wanted.
                let _ = w.answer.send(Arrival { at, refused: update.refused });
                completed += 1;
            }
        }
        completed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pubsub event as Herald sends it: the Update serialised, then carried as text (escaped
    /// by the writer) in `<notification>`.
    fn event(node: &str, notification_ns: &str, update: &str) -> Element {
        let xml = format!(
            "<message xmlns='jabber:client' from='pubsub.localhost' to='agent1@localhost'><event xmlns='{NS_EVENT}'><items node='{node}'><item id='x1'>{}</item></items></event></message>",
            Element::new("notification", notification_ns).with_text(update).to_xml()
        );
        parse_document(xml.as_bytes(), Limits::default()).unwrap()
    }

    fn user_update(request_id: &str) -> String {
        format!(
            "\n<Update><data><user><loginId>agent1</loginId><state>READY</state></user></data><event>PUT</event><requestId>{request_id}</requestId><source>/finesse/api/User/agent1</source></Update>\n"
        )
    }

    #[test]
    fn the_request_id_is_read_from_the_escaped_update() {
        let stanza = event("/finesse/api/User/agent1", "http://jabber.org/protocol/pubsub", &user_update("r-42"));
        assert!(stanza.to_xml().contains("&lt;requestId&gt;r-42"), "the Update travels escaped");
        assert_eq!(
            updates_in(&stanza),
            [UpdateSeen { node: "/finesse/api/User/agent1".into(), item: "x1".into(), request_id: "r-42".into(), refused: false }]
        );
    }

    #[test]
    fn an_items_result_yields_its_updates_in_order_with_their_ids() {
        let item = |id: &str, request_id: &str| {
            format!("<item id='{id}'>{}</item>", Element::new("notification", NS_PUBSUB).with_text(user_update(request_id)).to_xml())
        };
        let xml = format!(
            "<iq xmlns='jabber:client' type='result' id='catch-up'><pubsub xmlns='{NS_PUBSUB}'><items node='/finesse/api/User/agent1'>{}{}</items><set xmlns='http://jabber.org/protocol/rsm'><count>2</count></set></pubsub></iq>",
            item("i7", "r-7"),
            item("i8", "r-8")
        );
        let result = parse_document(xml.as_bytes(), Limits::default()).unwrap();
        let seen: Vec<(String, String)> = updates_in_history(&result).into_iter().map(|u| (u.item, u.request_id)).collect();
        assert_eq!(seen, [("i7".to_owned(), "r-7".to_owned()), ("i8".to_owned(), "r-8".to_owned())]);
        assert!(updates_in(&result).is_empty(), "a result is not an event");
        let live = event("/finesse/api/User/agent1", NS_PUBSUB, &user_update("r-9"));
        assert!(updates_in_history(&live).is_empty(), "an event is not a result");
    }

    #[test]
    fn any_notification_namespace_and_empty_request_ids_are_read() {
        let stanza = event("/finesse/api/User/agent1", "urn:xmpp:push:0", &user_update(""));
        assert_eq!(updates_in(&stanza)[0].request_id, "");
        let stanza = event("/finesse/api/User/agent1", "urn:xmpp:push:0", "<Update><requestId/><event>PUT</event></Update>");
        assert_eq!(updates_in(&stanza)[0].request_id, "");
    }

    #[test]
    fn api_errors_mark_the_update_refused() {
        let update = "<Update><data><apiErrors><apiError><errorType>Invalid State</errorType><errorMessage>CF_INVALID_OBJECT_STATE</errorMessage><errorData>22</errorData></apiError></apiErrors></data><event>PUT</event><requestId>r-7</requestId><source>/finesse/api/User/agent1</source></Update>";
        let seen = updates_in(&event("/finesse/api/User/agent1", "http://jabber.org/protocol/pubsub", update));
        assert_eq!(seen.len(), 1);
        assert!(seen[0].refused);
        assert_eq!(seen[0].request_id, "r-7");
    }

    #[test]
    fn other_stanzas_and_broken_payloads_yield_nothing() {
        let presence = parse_document(b"<presence xmlns='jabber:client' from='finesse@localhost/x'/>", Limits::default()).unwrap();
        assert!(updates_in(&presence).is_empty());
        assert!(updates_in(&event("/n", "urn:xmpp:push:0", "<Update><requestId>r")).is_empty());
        assert!(updates_in(&event("/n", "urn:xmpp:push:0", "<Other><requestId>r</requestId></Other>")).is_empty());
        let tick = "<message xmlns='jabber:client'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='n'><item><tick xmlns='urn:herald:load'/></item></items></event></message>";
        assert!(updates_in(&parse_document(tick.as_bytes(), Limits::default()).unwrap()).is_empty());
    }

    #[test]
    fn an_update_completes_the_change_waiting_for_it_once() {
        let matcher = Matcher::default();
        let mut first = matcher.expect("r-1".into(), 1);
        let mut second = matcher.expect("r-2".into(), 1);
        let at = Instant::now();
        let stanza = event("/finesse/api/User/agent1", "http://jabber.org/protocol/pubsub", &user_update("r-1"));
        assert_eq!(matcher.received(1, &stanza, at), 1);
        assert_eq!(first.try_recv(), Ok(Arrival { at, refused: false }));
        assert!(second.try_recv().is_err(), "r-2 is still waiting");
        assert_eq!(matcher.received(1, &stanza, at), 0, "a repeated Update completes nothing");
        assert_eq!(matcher.waiting(), 1);
    }

    #[test]
    fn an_update_at_another_agents_desktop_or_unknown_completes_nothing() {
        let matcher = Matcher::default();
        let mut change = matcher.expect("r-1".into(), 1);
        let stanza = event("/finesse/api/User/agent1", "http://jabber.org/protocol/pubsub", &user_update("r-1"));
        assert_eq!(matcher.received(2, &stanza, Instant::now()), 0);
        let unknown = event("/finesse/api/User/agent1", "http://jabber.org/protocol/pubsub", &user_update("r-9"));
        assert_eq!(matcher.received(1, &unknown, Instant::now()), 0);
        let unsolicited = event("/finesse/api/User/agent1", "http://jabber.org/protocol/pubsub", &user_update(""));
        assert_eq!(matcher.received(1, &unsolicited, Instant::now()), 0);
        assert!(change.try_recv().is_err());
        assert_eq!(matcher.waiting(), 1);
    }

    #[test]
    fn a_forgotten_change_is_not_completed() {
        let matcher = Matcher::default();
        let mut change = matcher.expect("r-1".into(), 1);
        matcher.forget("r-1");
        let stanza = event("/finesse/api/User/agent1", "http://jabber.org/protocol/pubsub", &user_update("r-1"));
        assert_eq!(matcher.received(1, &stanza, Instant::now()), 0);
        assert!(change.try_recv().is_err());
        assert_eq!(matcher.waiting(), 0);
    }

    #[test]
    fn a_refusal_reaches_the_change() {
        let matcher = Matcher::default();
        let mut change = matcher.expect("r-3".into(), 0);
        let update = "<Update><data><apiErrors><apiError/></apiErrors></data><requestId>r-3</requestId></Update>";
        assert_eq!(matcher.received(0, &event("/n", "urn:xmpp:push:0", update), Instant::now()), 1);
        assert!(change.try_recv().unwrap().refused);
    }
}
