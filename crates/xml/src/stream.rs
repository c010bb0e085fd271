//! The sans-IO stream parser: bytes in (any chunking), [`StreamEvent`]s out, with the limits a
//! server needs so that one client can never make it buffer without bound.

use rxml::{Event, Parse, WithOptions};

use crate::element::{Attr, Element, Node};

/// Size limits applied while parsing. Every limit is checked as bytes arrive, so an oversized
/// stanza is refused as soon as it crosses the limit, never after being buffered whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest stanza (top-level element under the stream root), counted in input bytes.
    pub max_stanza_bytes: usize,
    /// Deepest nesting inside one stanza (the stanza element itself is depth 1).
    pub max_depth: usize,
    /// Longest single token: an element or attribute name, an attribute value, or a text run
    /// the parser holds before handing it over.
    pub max_token_bytes: usize,
    /// Most attributes on one element (the stream header included).
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_stanza_bytes: 256 * 1024, max_depth: 64, max_token_bytes: 64 * 1024, max_attributes: 64 }
    }
}

/// Why a stream (or document) was refused. Each variant names the RFC 6120 stream error it maps to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The input is not well-formed XML, or contains a character outside the XML 1.0 `Char`
    /// production (raw or as a character reference). Maps to `<not-well-formed/>`.
    #[error("not well-formed: {0}")]
    NotWellFormed(String),
    /// The input uses XML that XMPP forbids: a DTD, an entity declaration, a processing
    /// instruction or a comment. Maps to `<restricted-xml/>`.
    #[error("restricted XML: {0}")]
    RestrictedXml(String),
    /// A stanza, token or nesting depth exceeded its limit. Maps to `<policy-violation/>`.
    #[error("policy violation: {0}")]
    PolicyViolation(String),
    /// Well-formed XML that is not a valid stream, such as text outside any stanza or data after
    /// the stream closed. Maps to `<bad-format/>`.
    #[error("bad format: {0}")]
    BadFormat(String),
}

/// The root element of a stream (`<stream:stream>` or RFC 7395 `<open/>`), without children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamHeader {
    /// Local name of the root element.
    pub name: String,
    /// Namespace of the root element.
    pub ns: String,
    /// Attributes of the root element.
    pub attrs: Vec<Attr>,
}

impl StreamHeader {
    /// The value of an unqualified attribute (`to`, `version`, …).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.ns.is_empty() && a.name == name).map(|a| a.value.as_str())
    }
}

/// What the parser recognised in the bytes fed so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// The stream root opened.
    Open(StreamHeader),
    /// A complete top-level element (a stanza or a negotiation element).
    Element(Element),
    /// The stream root closed.
    Close,
}

/// Push parser for one XML stream. Feed it bytes as they arrive; after a stream restart (STARTTLS,
/// SASL success) create a new one, since the new stream is a new document.
pub struct StreamParser {
    parser: rxml::Parser,
    limits: Limits,
    /// Elements being built: index 0 is the stanza, the last is the innermost open element.
    stack: Vec<Element>,
    opened: bool,
    closed: bool,
    /// Input bytes handed to rxml since the unit being read began: the stream header, one
    /// stanza, or the white space between stanzas. Counted as they are consumed, not when an
    /// event completes, so a start tag that never closes (ever more attributes, an endless
    /// header) is refused at the stanza limit instead of being held until it ends.
    unit_bytes: usize,
    failed: Option<XmlError>,
}

fn map_rxml_error(err: rxml::Error) -> XmlError {
    match err {
        rxml::Error::RestrictedXml(what @ ("event too long" | "long name or reference")) => {
            XmlError::PolicyViolation(format!("token longer than the limit ({what})"))
        }
        rxml::Error::RestrictedXml(what) => XmlError::RestrictedXml(format!("{what} are not allowed")),
        rxml::Error::InvalidChar(_, cp, _) => XmlError::NotWellFormed(format!("character U+{cp:04X} is not allowed in XML")),
        rxml::Error::InvalidUtf8Byte(b) => XmlError::NotWellFormed(format!("invalid UTF-8 byte 0x{b:02x}")),
        // A DTD shows up as `<!` followed by something other than a comment or CDATA section.
        rxml::Error::UnexpectedToken(_, tok, _) if tok.contains("DOCTYPE") || tok.contains("<!") => {
            XmlError::RestrictedXml("document type declarations are not allowed".into())
        }
        rxml::Error::InvalidSyntax(what) if what.contains("cdata or comment section start") => {
            XmlError::RestrictedXml("document type declarations are not allowed".into())
        }
        other => XmlError::NotWellFormed(other.to_string()),
    }
}

fn attrs_from(map: rxml::AttrMap) -> Vec<Attr> {
    map.into_iter().map(|((ns, name), value)| Attr { ns: ns.to_string(), name: name.to_string(), value }).collect()
}

impl StreamParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Self::with_root(limits, false)
    }

    /// A parser whose stream root is already open (`opened`), as [`parse_document`] needs.
    fn with_root(limits: Limits, opened: bool) -> Self {
        let options = rxml::Options { max_token_length: limits.max_token_bytes.min(limits.max_stanza_bytes), ..Default::default() };
        let parser = rxml::Parser::with_options(options);
        Self { parser, limits, stack: Vec::new(), opened, closed: false, unit_bytes: 0, failed: None }
    }

    /// Whether the stream root has been seen.
    pub fn is_open(&self) -> bool {
        self.opened
    }

    /// Feeds bytes and appends every event they complete to `out`. After an error the parser stays
    /// failed and returns the same error: a stream cannot recover from bad XML.
    pub fn feed(&mut self, mut data: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.feed_inner(&mut data, out);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
            self.stack.clear();
        }
        result
    }

    fn feed_inner(&mut self, data: &mut &[u8], out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        // rxml may hold complete events after consuming the last byte (the end of `<a/>`), so
        // keep asking until it says it needs more input.
        loop {
            if self.closed {
                if data.iter().all(u8::is_ascii_whitespace) {
                    return Ok(());
                }
                return Err(XmlError::BadFormat("data after the end of the stream".into()));
            }
            if !self.step(data, false, out)? {
                return Ok(());
            }
        }
    }

    /// One call into rxml: counts the bytes it consumed against the unit being read, then
    /// handles the event it completed. `Ok(false)` when it needs more input (or, at the end of
    /// a document, has nothing more to say).
    fn step(&mut self, data: &mut &[u8], at_eof: bool, out: &mut Vec<StreamEvent>) -> Result<bool, XmlError> {
        let before = data.len();
        let result = self.parser.parse(data, at_eof);
        self.unit_bytes += before - data.len();
        if self.unit_bytes > self.limits.max_stanza_bytes {
            let what = if self.opened { "stanza" } else { "stream header" };
            return Err(XmlError::PolicyViolation(format!("{what} larger than {} bytes", self.limits.max_stanza_bytes)));
        }
        match result {
            Ok(Some(event)) => self.handle(event, out).map(|()| true),
            Ok(None) => Ok(false),
            Err(rxml::error::EndOrError::NeedMoreData) if at_eof => Err(XmlError::NotWellFormed("document ended early".into())),
            Err(rxml::error::EndOrError::NeedMoreData) => Ok(false),
            Err(rxml::error::EndOrError::Error(err)) => Err(map_rxml_error(err)),
        }
    }

    fn handle(&mut self, event: Event, out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        match event {
            Event::XmlDeclaration(..) => Ok(()),
            Event::StartElement(_, (ns, name), attrs) => {
                if attrs.len() > self.limits.max_attributes {
                    return Err(XmlError::PolicyViolation(format!("more than {} attributes on one element", self.limits.max_attributes)));
                }
                let element = Element { name: name.to_string(), ns: ns.to_string(), attrs: attrs_from(attrs), children: Vec::new() };
                if !self.opened {
                    self.opened = true;
                    self.unit_bytes = 0;
                    out.push(StreamEvent::Open(StreamHeader { name: element.name, ns: element.ns, attrs: element.attrs }));
                    return Ok(());
                }
                self.stack.push(element);
                if self.stack.len() > self.limits.max_depth {
                    return Err(XmlError::PolicyViolation(format!("elements nested deeper than {}", self.limits.max_depth)));
                }
                Ok(())
            }
            Event::Text(_, text) => {
                match self.stack.last_mut() {
                    Some(top) => top.push_text(text),
                    // Keepalives between stanzas: the unit they were is over.
                    None if text.chars().all(|c| c.is_ascii_whitespace()) => self.unit_bytes = 0,
                    None => return Err(XmlError::BadFormat("text outside any stanza".into())),
                }
                Ok(())
            }
            Event::EndElement(_) => {
                match self.stack.pop() {
                    None => {
                        self.closed = true;
                        out.push(StreamEvent::Close);
                    }
                    Some(done) => match self.stack.last_mut() {
                        Some(parent) => parent.children.push(Node::Element(done)),
                        None => {
                            self.unit_bytes = 0;
                            out.push(StreamEvent::Element(done));
                        }
                    },
                }
                Ok(())
            }
        }
    }
}

/// Parses one complete document (a BOSH `<body/>`, a WebSocket frame, a REST body) into its root
/// element, with the same limits and restrictions as a stream. The root itself counts as a stanza.
pub fn parse_document(data: &[u8], limits: Limits) -> Result<Element, XmlError> {
    // Wrap the document in a synthetic root so that the stream machinery (limits, depth) applies
    // to the real root exactly as to a stanza; the wrapper's bytes never reach rxml.
    let mut p = StreamParser::with_root(limits, true);
    let mut out = Vec::new();
    let mut rest = data;
    while p.step(&mut rest, true, &mut out)? {}
    let mut elements = out.into_iter().filter_map(|e| match e {
        StreamEvent::Element(el) => Some(el),
        _ => None,
    });
    match (elements.next(), p.stack.is_empty()) {
        (Some(root), true) => Ok(root),
        _ => Err(XmlError::NotWellFormed("document has no complete root element".into())),
    }
}
