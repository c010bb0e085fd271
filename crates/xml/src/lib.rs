//! Herald's XML layer for XMPP streams: a sans-IO push parser that turns bytes (in any chunking) into
//! stream events, the [`Element`] tree that stanzas are carried in, and a writer that escapes correctly.
//!
//! Nothing here touches a socket or a clock: callers feed bytes and act on the events returned.

mod element;
mod escape;
mod stream;

pub mod fuzzing;

pub use element::{Attr, Element, Node};
pub use escape::{escape_attr, escape_text, is_xml_char, sanitize_text};
pub use stream::{Limits, StreamEvent, StreamHeader, StreamParser, XmlError, parse_document};

/// Namespace of the stream root and of `<stream:features>`/`<stream:error>`; the writer gives it the
/// `stream:` prefix.
pub const NS_STREAM: &str = "http://etherx.jabber.org/streams";

/// Namespace of the `xml:` prefix; `xml:lang` is the one attribute XMPP uses from it.
pub const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";
