//! What a new CTI leader reads back from the User nodes when it takes over (issue 15): the
//! agent's state as last published on `/finesse/api/User/{id}` — the `<Update>` carried as text
//! by a `<notification>` item — and the state the agent is brought back to. Pure functions: the
//! runtime (`herald-api`) reads the items and sends the requests.
//!
//! Strict: anything but a well-formed notification whose Update holds one `<user>` with a known
//! `state`, a `loginId`, and readable `pendingState`, `extension` and `reasonCodeId` is an
//! error (the agent then stays logged out). An Update holding `<apiErrors>` (a refused request
//! published on the same node) says nothing about the state: it is told apart, so that the
//! caller can look at the item before it.

use herald_cti::AgentState;
use herald_xml::{Element, Limits, parse_document};

use crate::update::NOTIFICATION_NS;

/// Largest Update text read back (a `<user>` document is about 2 KB; supervisors list teams).
const MAX_UPDATE_BYTES: usize = 256 * 1024;

/// An agent's state as its User node last published it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedAgent {
    /// `loginId`.
    pub login_id: String,
    /// `state`.
    pub state: AgentState,
    /// `pendingState` (`None`: empty).
    pub pending: Option<AgentState>,
    /// `reasonCodeId` (`None`: -1 or empty).
    pub reason_code_id: Option<u32>,
    /// `extension` (`None`: empty).
    pub extension: Option<String>,
}

/// What the newest item of a User node is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublishedItem {
    /// The agent's state.
    Agent(PublishedAgent),
    /// An `apiErrors` Update (a refused request): the state is in an earlier item.
    Refusal,
}

/// Why a published item could not be read back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TakeoverParseError {
    /// The item is not a `<notification xmlns='http://jabber.org/protocol/pubsub'>`.
    #[error("the item is not a Finesse notification")]
    NotANotification,
    /// The notification's text is not a well-formed document, or too large.
    #[error("the notification's Update is not readable XML: {0}")]
    Xml(String),
    /// The document is not `<Update><data><user>…` nor `<Update><data><apiErrors>…`.
    #[error("the Update does not carry a user document")]
    NotAUser,
    /// A field is missing, repeated or has a value outside its vocabulary.
    #[error("field {field}: {why}")]
    Field {
        /// The field's element name.
        field: &'static str,
        /// What is wrong with it.
        why: String,
    },
}

/// Reads a User node's item payload back (see the module's rules).
pub fn published_item(payload: &Element) -> Result<PublishedItem, TakeoverParseError> {
    if !payload.is("notification", NOTIFICATION_NS) || payload.elements().next().is_some() {
        return Err(TakeoverParseError::NotANotification);
    }
    let text = payload.text();
    if text.len() > MAX_UPDATE_BYTES {
        return Err(TakeoverParseError::Xml(format!("{} bytes, more than {MAX_UPDATE_BYTES}", text.len())));
    }
    let update = parse_document(text.as_bytes(), Limits::default()).map_err(|err| TakeoverParseError::Xml(err.to_string()))?;
    if !update.is("Update", "") {
        return Err(TakeoverParseError::NotAUser);
    }
    let data = single(&update, "data").ok_or(TakeoverParseError::NotAUser)?;
    let mut children = data.elements();
    let (Some(document), None) = (children.next(), children.next()) else { return Err(TakeoverParseError::NotAUser) };
    if document.is("apiErrors", "") {
        return Ok(PublishedItem::Refusal);
    }
    if !document.is("user", "") {
        return Err(TakeoverParseError::NotAUser);
    }
    user(document).map(PublishedItem::Agent)
}

/// The fields of a `<user>`.
fn user(user: &Element) -> Result<PublishedAgent, TakeoverParseError> {
    let login_id = scalar(user, "loginId")?;
    if login_id.is_empty() {
        return Err(field_error("loginId", "empty"));
    }
    let state = AgentState::parse(&scalar(user, "state")?).ok_or_else(|| field_error("state", "not a Finesse agent state"))?;
    let pending = match scalar(user, "pendingState")?.as_str() {
        "" => None,
        name => Some(AgentState::parse(name).ok_or_else(|| field_error("pendingState", "not a Finesse agent state"))?),
    };
    let reason_code_id = match scalar(user, "reasonCodeId")?.as_str() {
        "" | "-1" => None,
        id => Some(id.parse::<u32>().map_err(|_| field_error("reasonCodeId", format!("{id:?} is not a reason code id")))?),
    };
    let extension = Some(scalar(user, "extension")?).filter(|e| !e.is_empty());
    if extension.is_none() && state != AgentState::Logout {
        return Err(field_error("extension", format!("empty while {}", state.name())));
    }
    Ok(PublishedAgent { login_id, state, pending, reason_code_id, extension })
}

/// The one child `name` of `parent`, if there is exactly one.
fn single<'a>(parent: &'a Element, name: &str) -> Option<&'a Element> {
    let mut matching = parent.elements().filter(|e| e.is(name, ""));
    match (matching.next(), matching.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// The trimmed text of the one text-only child `name`.
fn scalar(parent: &Element, name: &'static str) -> Result<String, TakeoverParseError> {
    let element = single(parent, name).ok_or_else(|| field_error(name, "missing or repeated"))?;
    if element.elements().next().is_some() {
        return Err(field_error(name, "has child elements"));
    }
    Ok(element.text().trim().to_owned())
}

fn field_error(field: &'static str, why: impl Into<String>) -> TakeoverParseError {
    TakeoverParseError::Field { field, why: why.into() }
}

/// The state an agent is brought back to after a takeover. Calls in flight are not carried
/// over (the new simulator has none), so an agent on a call comes back in the state it asked to
/// reach after the call (`pendingState`), else NOT_READY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoredState {
    /// Leave the agent logged out (it was, or asked to be after its call).
    LoggedOut,
    /// Sign in on `extension`, then READY.
    Ready {
        /// The extension.
        extension: String,
    },
    /// Sign in on `extension`, then NOT_READY with this reason code id (if any).
    NotReady {
        /// The extension.
        extension: String,
        /// The reason code's id.
        reason_code_id: Option<u32>,
    },
}

/// What `published` comes back as: READY and WORK_READY (wrap-up, then ready) → READY; LOGOUT
/// → logged out; NOT_READY and WORK → NOT_READY with the reason; an agent on a call (RESERVED…,
/// TALKING, HOLD) or in an unknown state → its pending state if it had one, else NOT_READY
/// without a reason.
pub fn restored_state(published: &PublishedAgent) -> RestoredState {
    use AgentState as S;
    let Some(extension) = published.extension.clone() else { return RestoredState::LoggedOut };
    let not_ready = |reason_code_id| RestoredState::NotReady { extension: extension.clone(), reason_code_id };
    match published.state {
        S::Logout => RestoredState::LoggedOut,
        S::Ready | S::WorkReady => RestoredState::Ready { extension },
        S::NotReady | S::Work => not_ready(published.reason_code_id),
        S::Reserved | S::ReservedOutbound | S::ReservedOutboundPreview | S::Talking | S::Hold | S::Unknown => match published.pending {
            Some(S::Logout) => RestoredState::LoggedOut,
            Some(S::Ready | S::WorkReady) => RestoredState::Ready { extension },
            Some(S::NotReady | S::Work) => not_ready(published.reason_code_id),
            _ => not_ready(None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update::{UpdateEvent, notification, update};

    fn leaf(name: &str, text: &str) -> Element {
        let e = Element::new(name, "");
        if text.is_empty() { e } else { e.with_text(text) }
    }

    fn user_doc(fields: &[(&str, &str)]) -> Element {
        fields.iter().fold(Element::new("user", ""), |user, (name, text)| user.with_child(leaf(name, text)))
    }

    fn item(data: Element) -> Element {
        notification(&update(data, UpdateEvent::Put, "", "/finesse/api/User/1001"))
    }

    const READY: &[(&str, &str)] =
        &[("extension", "1001"), ("loginId", "1001"), ("pendingState", ""), ("reasonCodeId", "-1"), ("state", "READY")];

    #[test]
    fn a_user_update_reads_back() {
        let read = published_item(&item(user_doc(READY))).unwrap();
        let agent = PublishedAgent {
            login_id: "1001".into(),
            state: AgentState::Ready,
            pending: None,
            reason_code_id: None,
            extension: Some("1001".into()),
        };
        assert_eq!(read, PublishedItem::Agent(agent));
        let not_ready =
            user_doc(&[("extension", " 1001 "), ("loginId", "1001"), ("pendingState", ""), ("reasonCodeId", "16"), ("state", "NOT_READY")]);
        let PublishedItem::Agent(agent) = published_item(&item(not_ready)).unwrap() else { panic!("an agent") };
        assert_eq!((agent.state, agent.reason_code_id, agent.extension.as_deref()), (AgentState::NotReady, Some(16), Some("1001")));
    }

    #[test]
    fn an_api_errors_update_is_a_refusal() {
        let errors = crate::documents::api_errors_notification("Invalid State", "CF_INVALID_STATE", "0");
        assert_eq!(published_item(&item(errors)), Ok(PublishedItem::Refusal));
    }

    #[test]
    fn anything_else_is_refused() {
        let cases: Vec<(Element, &str)> = vec![
            (Element::new("notification", "urn:other").with_text("x"), "namespace"),
            (Element::new("notification", NOTIFICATION_NS).with_text("<Update><data><user>"), "truncated"),
            (Element::new("notification", NOTIFICATION_NS).with_text("<Other/>"), "root"),
            (Element::new("notification", NOTIFICATION_NS).with_child(Element::new("Update", "")), "a child instead of text"),
            (item(Element::new("dialogs", "")), "another document"),
            (item(user_doc(&READY[1..])), "no extension while READY"),
            (item(user_doc(&[READY, &[("state", "READY")]].concat())), "state twice"),
            (
                item(user_doc(&[
                    ("extension", "1001"),
                    ("loginId", "1001"),
                    ("pendingState", ""),
                    ("reasonCodeId", "-1"),
                    ("state", "ready"),
                ])),
                "lower case",
            ),
            (
                item(user_doc(&[
                    ("extension", "1001"),
                    ("loginId", "1001"),
                    ("pendingState", "SLEEPY"),
                    ("reasonCodeId", "-1"),
                    ("state", "TALKING"),
                ])),
                "pending",
            ),
            (
                item(user_doc(&[
                    ("extension", "1001"),
                    ("loginId", "1001"),
                    ("pendingState", ""),
                    ("reasonCodeId", "x"),
                    ("state", "NOT_READY"),
                ])),
                "reason",
            ),
            (
                item(user_doc(&[("extension", "1001"), ("loginId", ""), ("pendingState", ""), ("reasonCodeId", "-1"), ("state", "READY")])),
                "login",
            ),
        ];
        for (payload, why) in cases {
            assert!(published_item(&payload).is_err(), "{why}: {payload:?}");
        }
        let logged_out =
            user_doc(&[("extension", ""), ("loginId", "1001"), ("pendingState", ""), ("reasonCodeId", "-1"), ("state", "LOGOUT")]);
        assert!(published_item(&item(logged_out)).is_ok(), "LOGOUT needs no extension");
    }

    fn agent(state: AgentState, pending: Option<AgentState>, reason_code_id: Option<u32>) -> PublishedAgent {
        PublishedAgent { login_id: "1001".into(), state, pending, reason_code_id, extension: Some("1001".into()) }
    }

    #[test]
    fn states_come_back_without_their_calls() {
        use AgentState as S;
        let ready = RestoredState::Ready { extension: "1001".into() };
        let not_ready = |reason_code_id| RestoredState::NotReady { extension: "1001".into(), reason_code_id };
        assert_eq!(restored_state(&agent(S::Ready, None, None)), ready);
        assert_eq!(restored_state(&agent(S::WorkReady, None, None)), ready);
        assert_eq!(restored_state(&agent(S::NotReady, None, Some(16))), not_ready(Some(16)));
        assert_eq!(restored_state(&agent(S::Work, None, None)), not_ready(None));
        assert_eq!(restored_state(&agent(S::Logout, None, Some(17))), RestoredState::LoggedOut);
        assert_eq!(restored_state(&agent(S::Talking, None, None)), not_ready(None));
        assert_eq!(restored_state(&agent(S::Hold, Some(S::Ready), None)), ready);
        assert_eq!(restored_state(&agent(S::Reserved, Some(S::NotReady), Some(16))), not_ready(Some(16)));
        assert_eq!(restored_state(&agent(S::Talking, Some(S::Logout), Some(17))), RestoredState::LoggedOut);
        let no_extension = PublishedAgent { extension: None, ..agent(S::Ready, None, None) };
        assert_eq!(restored_state(&no_extension), RestoredState::LoggedOut);
    }
}
