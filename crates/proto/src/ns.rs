//! Namespace URIs the server reads or writes.

/// Client-to-server stanzas (RFC 6120 §4.8.3).
pub const CLIENT: &str = "jabber:client";
/// The `<stream:stream>` root and `<stream:features>`/`<stream:error>`.
pub const STREAM: &str = herald_xml::NS_STREAM;
/// STARTTLS negotiation.
pub const TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// SASL negotiation.
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// Resource binding.
pub const BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// The legacy session establishment of RFC 3921, still sent by old clients.
pub const SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
/// Stream error conditions.
pub const STREAMS_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
/// Stanza error conditions.
pub const STANZAS_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// Rosters (RFC 6121 §2).
pub const ROSTER: &str = "jabber:iq:roster";
/// XEP-0030 service discovery, info.
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// XEP-0030 service discovery, items.
pub const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
/// XEP-0199 XMPP ping.
pub const PING: &str = "urn:xmpp:ping";
/// XEP-0203 delayed delivery.
pub const DELAY: &str = "urn:xmpp:delay";
/// XEP-0092 software version.
pub const VERSION: &str = "jabber:iq:version";
