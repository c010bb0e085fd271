//! The element tree stanzas travel in. Small on purpose: a name, a namespace, attributes and
//! children, with just enough helpers for the server to read and build stanzas.

use crate::escape::{escape_attr, escape_text};
use crate::{NS_STREAM, NS_XML};

/// One attribute. `ns` is empty for the usual unqualified attributes; `xml:lang` has [`NS_XML`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    /// Namespace URI, empty when the attribute is unqualified.
    pub ns: String,
    /// Local name.
    pub name: String,
    /// Unescaped value.
    pub value: String,
}

/// A child of an element: another element, character data, or a shared pre-serialised element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data, unescaped.
    Text(String),
    /// One complete element already serialised by [`Element::to_xml`] (so well-formed,
    /// escaped, and declaring every namespace it uses), written verbatim. Fan-out shares one of
    /// these among thousands of recipients instead of copying and re-serialising the payload for
    /// each. Only Herald's own writer may produce the text.
    Raw(std::sync::Arc<str>),
}

/// An XML element with resolved namespaces. Stanzas are routed as `Element`s and serialised only at
/// the transport, so that the namespace context of each transport (TCP stream, BOSH body, WebSocket
/// frame) can decide which `xmlns` declarations are needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// Local name.
    pub name: String,
    /// Namespace URI (may be empty).
    pub ns: String,
    /// Attributes in document order.
    pub attrs: Vec<Attr>,
    /// Children in document order.
    pub children: Vec<Node>,
}

impl Element {
    /// A new element with no attributes and no children.
    pub fn new(name: impl Into<String>, ns: impl Into<String>) -> Self {
        Self { name: name.into(), ns: ns.into(), attrs: Vec::new(), children: Vec::new() }
    }

    /// Builder form of [`Element::set_attr`].
    pub fn with_attr(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set_attr(name, value);
        self
    }

    /// Builder form of [`Element::push_child`].
    pub fn with_child(mut self, child: Element) -> Self {
        self.push_child(child);
        self
    }

    /// Builder form of [`Element::push_text`].
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.push_text(text);
        self
    }

    /// Whether this element has the given local name and namespace.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name == name && self.ns == ns
    }

    /// The value of an unqualified attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.ns.is_empty() && a.name == name).map(|a| a.value.as_str())
    }

    /// The `xml:lang` attribute, which XMPP carries on streams and stanzas.
    pub fn lang(&self) -> Option<&str> {
        self.attrs.iter().find(|a| a.ns == NS_XML && a.name == "lang").map(|a| a.value.as_str())
    }

    /// Sets (or replaces) an unqualified attribute.
    pub fn set_attr(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.attrs.iter_mut().find(|a| a.ns.is_empty() && a.name == name) {
            Some(a) => a.value = value,
            None => self.attrs.push(Attr { ns: String::new(), name: name.to_owned(), value }),
        }
    }

    /// Removes an unqualified attribute, returning its value.
    pub fn remove_attr(&mut self, name: &str) -> Option<String> {
        let pos = self.attrs.iter().position(|a| a.ns.is_empty() && a.name == name)?;
        Some(self.attrs.remove(pos).value)
    }

    /// Appends a child element.
    pub fn push_child(&mut self, child: Element) {
        self.children.push(Node::Element(child));
    }

    /// Appends character data, merging with a preceding text node.
    pub fn push_text(&mut self, text: impl Into<String>) {
        let text = text.into();
        if let Some(Node::Text(last)) = self.children.last_mut() {
            last.push_str(&text);
        } else if !text.is_empty() {
            self.children.push(Node::Text(text));
        }
    }

    /// Child elements in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) | Node::Raw(_) => None,
        })
    }

    /// The first child element with this name and namespace.
    pub fn child(&self, name: &str, ns: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(name, ns))
    }

    /// Mutable access to the first child element with this name and namespace.
    pub fn child_mut(&mut self, name: &str, ns: &str) -> Option<&mut Element> {
        self.children.iter_mut().find_map(|n| match n {
            Node::Element(e) if e.is(name, ns) => Some(e),
            _ => None,
        })
    }

    /// Removes every child element with this name and namespace.
    pub fn remove_children(&mut self, name: &str, ns: &str) {
        self.children.retain(|n| !matches!(n, Node::Element(e) if e.is(name, ns)));
    }

    /// All character data directly inside this element, concatenated.
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) | Node::Raw(_) => None,
            })
            .collect()
    }

    /// Serialises the element. `parent_ns` is the default namespace in force where it is written:
    /// an `xmlns` declaration is emitted only when this element's namespace differs from it, so a
    /// stanza written into a `jabber:client` stream carries no redundant declaration.
    ///
    /// Elements in the streams namespace are written with the `stream:` prefix that every stream
    /// root declares (`<stream:features>`, `<stream:error>`), since some clients match on it, and
    /// they leave the default namespace of their children unchanged.
    pub fn write_to(&self, out: &mut String, parent_ns: &str) {
        self.write_inner(out, parent_ns, false);
    }

    fn write_inner(&self, out: &mut String, parent_ns: &str, declare_stream_prefix: bool) {
        let prefixed = self.ns == NS_STREAM;
        let child_ns = if prefixed { parent_ns } else { self.ns.as_str() };
        out.push('<');
        if prefixed {
            out.push_str("stream:");
        }
        out.push_str(&self.name);
        if declare_stream_prefix {
            out.push_str(" xmlns:stream='");
            out.push_str(NS_STREAM);
            out.push('\'');
        }
        if !prefixed && self.ns != parent_ns {
            out.push_str(" xmlns='");
            escape_attr(out, &self.ns);
            out.push('\'');
        }
        let mut foreign = 0usize;
        for attr in &self.attrs {
            out.push(' ');
            if attr.ns == NS_XML {
                out.push_str("xml:");
            } else if !attr.ns.is_empty() {
                // Attributes in other namespaces get a prefix declared on this element.
                out.push_str(&format!("xmlns:a{foreign}='"));
                escape_attr(out, &attr.ns);
                out.push_str(&format!("' a{foreign}:"));
                foreign += 1;
            }
            out.push_str(&attr.name);
            out.push_str("='");
            escape_attr(out, &attr.value);
            out.push('\'');
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for child in &self.children {
            match child {
                Node::Element(e) => e.write_inner(out, child_ns, false),
                Node::Text(t) => escape_text(out, t),
                Node::Raw(xml) => out.push_str(xml),
            }
        }
        out.push_str("</");
        if prefixed {
            out.push_str("stream:");
        }
        out.push_str(&self.name);
        out.push('>');
    }

    /// The element as a string, declaring its own namespace.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write_inner(&mut out, "", self.uses_stream_ns());
        out
    }

    fn uses_stream_ns(&self) -> bool {
        self.ns == NS_STREAM || self.elements().any(Element::uses_stream_ns)
    }

    /// The element as a string inside a stream whose default namespace is `stream_ns`.
    pub fn to_xml_in(&self, stream_ns: &str) -> String {
        let mut out = String::new();
        self.write_to(&mut out, stream_ns);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_namespaces_only_where_they_change() {
        let e = Element::new("message", "jabber:client")
            .with_attr("to", "a@b")
            .with_child(Element::new("body", "jabber:client").with_text("1 < 2 & 3"))
            .with_child(Element::new("x", "urn:x"));
        assert_eq!(e.to_xml_in("jabber:client"), "<message to='a@b'><body>1 &lt; 2 &amp; 3</body><x xmlns='urn:x'/></message>");
        assert_eq!(e.to_xml(), "<message xmlns='jabber:client' to='a@b'><body>1 &lt; 2 &amp; 3</body><x xmlns='urn:x'/></message>");
    }

    #[test]
    fn stream_namespace_uses_its_prefix() {
        let f =
            Element::new("features", NS_STREAM).with_child(Element::new("bind", "urn:b")).with_child(Element::new("x", "jabber:client"));
        assert_eq!(f.to_xml_in("jabber:client"), "<stream:features><bind xmlns='urn:b'/><x/></stream:features>");
        assert_eq!(
            f.to_xml(),
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:b'/><x xmlns='jabber:client'/></stream:features>"
        );
    }

    #[test]
    fn raw_children_are_written_verbatim_and_shared() {
        let payload: std::sync::Arc<str> = Element::new("event", "urn:e").with_child(Element::new("x", "urn:e")).to_xml().into();
        let a = Element::new("message", "jabber:client").with_attr("to", "a@x");
        let mut a = a;
        a.children.push(Node::Raw(payload.clone()));
        assert_eq!(a.to_xml_in("jabber:client"), "<message to='a@x'><event xmlns='urn:e'><x/></event></message>");
        assert_eq!(a.to_xml(), "<message xmlns='jabber:client' to='a@x'><event xmlns='urn:e'><x/></event></message>");
        assert_eq!(std::sync::Arc::strong_count(&payload), 2);
    }

    #[test]
    fn attribute_helpers() {
        let mut e = Element::new("iq", "jabber:client").with_attr("id", "1");
        e.set_attr("id", "2");
        assert_eq!(e.attr("id"), Some("2"));
        assert_eq!(e.remove_attr("id").as_deref(), Some("2"));
        assert_eq!(e.attr("id"), None);
    }
}
