//! Thin views over stanza elements and builders for the replies the server sends itself.

use herald_xml::Element;

use crate::{Jid, StanzaError, ns};

/// The three stanza kinds of RFC 6120 §8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StanzaKind {
    /// `<message/>`
    Message,
    /// `<presence/>`
    Presence,
    /// `<iq/>`
    Iq,
}

/// Helpers on an element known to be a stanza.
pub trait Stanza {
    /// Which stanza kind this is, if it is one (`jabber:client` namespace).
    fn stanza_kind(&self) -> Option<StanzaKind>;
    /// The `type` attribute, or the kind's default (`normal` for messages, `available` for presence).
    fn stanza_type(&self) -> &str;
    /// The parsed `to` address; `Ok(None)` when absent, `Err` when malformed.
    fn recipient_jid(&self) -> Result<Option<Jid>, crate::JidError>;
    /// The parsed `from` address.
    fn sender_jid(&self) -> Result<Option<Jid>, crate::JidError>;
    /// A reply that swaps `to` and `from` and keeps `id`, with no children.
    fn reply_shell(&self, kind: &str) -> Element;
    /// The error reply for this stanza (RFC 6120 §8.3.1), or `None` when the stanza is itself an
    /// error, which must never be answered with another error.
    fn error_reply(&self, error: &StanzaError) -> Option<Element>;
}

fn parse_opt(value: Option<&str>) -> Result<Option<Jid>, crate::JidError> {
    value.map(Jid::new).transpose()
}

impl Stanza for Element {
    fn stanza_kind(&self) -> Option<StanzaKind> {
        if self.ns != ns::CLIENT {
            return None;
        }
        match self.name.as_str() {
            "message" => Some(StanzaKind::Message),
            "presence" => Some(StanzaKind::Presence),
            "iq" => Some(StanzaKind::Iq),
            _ => None,
        }
    }

    fn stanza_type(&self) -> &str {
        match (self.attr("type"), self.name.as_str()) {
            (Some(t), _) => t,
            (None, "message") => "normal",
            (None, "presence") => "available",
            (None, _) => "",
        }
    }

    fn recipient_jid(&self) -> Result<Option<Jid>, crate::JidError> {
        parse_opt(self.attr("to"))
    }

    fn sender_jid(&self) -> Result<Option<Jid>, crate::JidError> {
        parse_opt(self.attr("from"))
    }

    fn reply_shell(&self, kind: &str) -> Element {
        let mut reply = Element::new(self.name.clone(), ns::CLIENT).with_attr("type", kind);
        if let Some(id) = self.attr("id") {
            reply.set_attr("id", id);
        }
        if let Some(from) = self.attr("from") {
            reply.set_attr("to", from);
        }
        if let Some(to) = self.attr("to") {
            reply.set_attr("from", to);
        }
        reply
    }

    fn error_reply(&self, error: &StanzaError) -> Option<Element> {
        if self.stanza_type() == "error" {
            return None;
        }
        let mut reply = self.reply_shell("error");
        // Message and presence errors carry the original payload so the sender can tell which
        // stanza failed; an iq error carries the request's child too (RFC 6120 §8.3.1).
        for child in self.elements() {
            reply.push_child(child.clone());
        }
        reply.push_child(error.to_element());
        Some(reply)
    }
}

/// An `<iq type='result'/>` answering `request`, with an optional payload.
pub fn iq_result(request: &Element, payload: Option<Element>) -> Element {
    let mut reply = request.reply_shell("result");
    if let Some(p) = payload {
        reply.push_child(p);
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reply_swaps_addresses_and_never_answers_errors() {
        let iq = Element::new("iq", ns::CLIENT)
            .with_attr("type", "get")
            .with_attr("id", "7")
            .with_attr("from", "a@x/r")
            .with_attr("to", "x")
            .with_child(Element::new("query", "urn:unknown"));
        let reply = iq.error_reply(&StanzaError::service_unavailable()).unwrap();
        assert_eq!(reply.attr("to"), Some("a@x/r"));
        assert_eq!(reply.attr("from"), Some("x"));
        assert_eq!(reply.attr("type"), Some("error"));
        assert!(reply.child("error", ns::CLIENT).unwrap().child("service-unavailable", ns::STANZAS_ERRORS).is_some());
        assert!(reply.error_reply(&StanzaError::bad_request()).is_none());
    }

    #[test]
    fn stream_error_text_uses_xml_lang() {
        let e = crate::StreamErrorCondition::NotWellFormed.to_element(Some("bad char"));
        assert_eq!(
            e.to_xml_in(ns::CLIENT),
            "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>bad char</text></stream:error>"
        );
    }
}
