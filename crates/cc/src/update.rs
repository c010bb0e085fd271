//! The `<Update>` document every notification carries (finesse-domain.md §2.1), and the
//! `<notification xmlns='http://jabber.org/protocol/pubsub'>` element holding it as escaped
//! text. OWNED BY THE WIRE SLICE — signatures agreed, bodies to write.

use herald_xml::Element;

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

/// `<Update><data>{data}</data><event/><requestId/><source/></Update>` (children in
/// alphabetical order as captures show). `request_id` empty for unsolicited events.
pub fn update(data: Element, event: UpdateEvent, request_id: &str, source: &str) -> Element {
    let _ = (data, event, request_id, source);
    todo!("wire slice")
}

/// The pubsub item payload: `<notification>` whose text is the serialised `update` (escaped by
/// the writer; any character outside XML 1.0 already replaced).
pub fn notification(update: &Element) -> Element {
    let _ = update;
    todo!("wire slice")
}
