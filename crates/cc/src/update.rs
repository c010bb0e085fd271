//! The `<Update>` document every notification carries (finesse-domain.md §2.1), and the
//! `<notification xmlns='http://jabber.org/protocol/pubsub'>` element holding it as escaped
//! text. The Update and its children carry no namespace, so its text has no `xmlns` in it.

use herald_xml::{Element, sanitize_text};

/// The namespace of `<notification>` (SPEC.md §2: as in the seed).
pub const NOTIFICATION_NS: &str = "http://jabber.org/protocol/pubsub";

/// `<event>` of an Update, always upper case on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateEvent {
    /// Added to a collection.
    Post,
    /// Changed.
    Put,
    /// Removed.
    Delete,
}

impl UpdateEvent {
    /// The name on the wire: the Finesse JS library switches on these exact upper-case words.
    pub fn name(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }
}

/// A text-only child with no namespace.
fn leaf(name: &str, text: &str) -> Element {
    let e = Element::new(name, "");
    if text.is_empty() { e } else { e.with_text(sanitize_text(text).into_owned()) }
}

/// `<Update><data>{data}</data><event/><requestId/><source/></Update>` (children in
/// alphabetical order as captures show). `request_id` empty for unsolicited events.
pub fn update(data: Element, event: UpdateEvent, request_id: &str, source: &str) -> Element {
    Element::new("Update", "")
        .with_child(Element::new("data", "").with_child(data))
        .with_child(leaf("event", event.name()))
        .with_child(leaf("requestId", request_id))
        .with_child(leaf("source", source))
}

/// The pubsub item payload: `<notification>` whose text is the serialised `update` (escaped by
/// the writer; any character outside XML 1.0 already replaced).
pub fn notification(update: &Element) -> Element {
    Element::new("notification", NOTIFICATION_NS).with_text(update.to_xml())
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_xml::{Limits, parse_document};

    #[test]
    fn update_has_alphabetical_children_and_no_namespace() {
        let data = Element::new("user", "").with_child(leaf("state", "READY"));
        let u = update(data, UpdateEvent::Put, "req-1", "/finesse/api/User/1001");
        assert_eq!(
            u.to_xml(),
            "<Update><data><user><state>READY</state></user></data><event>PUT</event>\
             <requestId>req-1</requestId><source>/finesse/api/User/1001</source></Update>"
        );
    }

    #[test]
    fn empty_request_id_is_an_empty_element() {
        let u = update(Element::new("dialogs", ""), UpdateEvent::Post, "", "/s");
        assert_eq!(u.to_xml(), "<Update><data><dialogs/></data><event>POST</event><requestId/><source>/s</source></Update>");
        let d = update(Element::new("x", ""), UpdateEvent::Delete, "", "/s");
        assert!(d.to_xml().contains("<event>DELETE</event>"));
    }

    #[test]
    fn notification_escapes_the_update_as_text() {
        let data = Element::new("Dialog", "").with_child(leaf("fromAddress", "a<b&c"));
        let n = notification(&update(data, UpdateEvent::Put, "", "/finesse/api/Dialog/1"));
        let xml = n.to_xml();
        assert!(xml.starts_with("<notification xmlns='http://jabber.org/protocol/pubsub'>&lt;Update&gt;&lt;data&gt;"), "{xml}");
        assert!(!xml.contains("xmlns=''") && !xml.contains("xmlns=\"\""), "{xml}");
        // The text, read back, is the Update document again, which parses.
        let back = parse_document(xml.as_bytes(), Limits::default()).expect("notification parses");
        let inner = parse_document(back.text().as_bytes(), Limits::default()).expect("update parses");
        assert_eq!(inner.child("data", "").and_then(|d| d.child("Dialog", "")).map(|d| d.elements().count()), Some(1));
        assert_eq!(
            inner.child("data", "").and_then(|d| d.child("Dialog", "")).and_then(|d| d.child("fromAddress", "")).map(Element::text),
            Some("a<b&c".into())
        );
    }

    #[test]
    fn bad_characters_never_reach_the_text() {
        let u = update(Element::new("user", ""), UpdateEvent::Put, "r\u{1}\u{FFFE}", "/s");
        let n = notification(&u).to_xml();
        assert!(!n.chars().any(|c| !herald_xml::is_xml_char(c)));
        assert!(n.contains("r\u{FFFD}\u{FFFD}"));
        parse_document(n.as_bytes(), Limits::default()).expect("still well-formed");
    }
}
