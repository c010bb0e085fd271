//! Stream and stanza error conditions (RFC 6120 §4.9 and §8.3) as values, with their XML forms.
//! Protocol failures in Herald become one of these, never a panic.

use herald_xml::Element;

use crate::ns;

/// A stream-level error condition (RFC 6120 §4.9.3). The stream is closed after sending it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamErrorCondition {
    /// The entity sent XML that cannot be processed in this stream (text outside stanzas, …).
    BadFormat,
    /// The client took too long to negotiate or was idle past the limit.
    ConnectionTimeout,
    /// A new session bound the same full JID and this one is replaced.
    Conflict,
    /// The stream header addressed a domain this server does not serve.
    HostUnknown,
    /// Something went wrong inside the server.
    InternalServerError,
    /// The `from` of a stanza does not match the authenticated JID.
    InvalidFrom,
    /// The stream or a stanza used a namespace the server does not accept there.
    InvalidNamespace,
    /// The client sent stanzas before authenticating and binding.
    NotAuthorized,
    /// The input was not well-formed XML (including characters outside XML 1.0).
    NotWellFormed,
    /// A limit was exceeded: stanza size, nesting depth, token length or a rate.
    PolicyViolation,
    /// The input used XML that XMPP forbids (DTD, PI, comment, entity declaration).
    RestrictedXml,
    /// The server is shutting down.
    SystemShutdown,
    /// A top-level element the server does not understand.
    UnsupportedStanzaType,
    /// The stream header asked for a version other than 1.0.
    UnsupportedVersion,
    /// The stream is being closed for a reason that has no more specific condition.
    UndefinedCondition,
}

impl StreamErrorCondition {
    /// The element name of the condition.
    pub fn name(self) -> &'static str {
        match self {
            Self::BadFormat => "bad-format",
            Self::ConnectionTimeout => "connection-timeout",
            Self::Conflict => "conflict",
            Self::HostUnknown => "host-unknown",
            Self::InternalServerError => "internal-server-error",
            Self::InvalidFrom => "invalid-from",
            Self::InvalidNamespace => "invalid-namespace",
            Self::NotAuthorized => "not-authorized",
            Self::NotWellFormed => "not-well-formed",
            Self::PolicyViolation => "policy-violation",
            Self::RestrictedXml => "restricted-xml",
            Self::SystemShutdown => "system-shutdown",
            Self::UnsupportedStanzaType => "unsupported-stanza-type",
            Self::UnsupportedVersion => "unsupported-version",
            Self::UndefinedCondition => "undefined-condition",
        }
    }

    /// The `<stream:error>` element carrying this condition and an optional human-readable text.
    pub fn to_element(self, text: Option<&str>) -> Element {
        let mut err = Element::new("error", ns::STREAM).with_child(Element::new(self.name(), ns::STREAMS_ERRORS));
        if let Some(text) = text {
            err.push_child(Element::new("text", ns::STREAMS_ERRORS).with_attr("xml:lang", "en").with_text(text));
            // `xml:lang` must be in the xml namespace, not an unqualified attribute named so.
            if let Some(herald_xml::Node::Element(t)) = err.children.last_mut() {
                t.attrs.clear();
                t.attrs.push(herald_xml::Attr { ns: herald_xml::NS_XML.into(), name: "lang".into(), value: "en".into() });
            }
        }
        err
    }
}

impl From<&herald_xml::XmlError> for StreamErrorCondition {
    fn from(err: &herald_xml::XmlError) -> Self {
        match err {
            herald_xml::XmlError::NotWellFormed(_) => Self::NotWellFormed,
            herald_xml::XmlError::RestrictedXml(_) => Self::RestrictedXml,
            herald_xml::XmlError::PolicyViolation(_) => Self::PolicyViolation,
            herald_xml::XmlError::BadFormat(_) => Self::BadFormat,
        }
    }
}

/// The `type` of a stanza error (RFC 6120 §8.3.2): what the sender should do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StanzaErrorType {
    /// Retry after providing credentials.
    Auth,
    /// Do not retry.
    Cancel,
    /// Proceed; the condition was only a warning.
    Continue,
    /// Retry after changing the data sent.
    Modify,
    /// Retry later.
    Wait,
}

impl StanzaErrorType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Cancel => "cancel",
            Self::Continue => "continue",
            Self::Modify => "modify",
            Self::Wait => "wait",
        }
    }
}

/// A stanza error: its type, its defined condition (e.g. `service-unavailable`), any
/// application-specific condition element, and an optional text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StanzaError {
    /// What the sender should do.
    pub kind: StanzaErrorType,
    /// The RFC 6120 §8.3.3 condition name.
    pub condition: &'static str,
    /// An application-specific condition (XEP-0060 puts `<closed-node/>` and the like here).
    pub app_condition: Option<Box<Element>>,
    /// Human-readable description.
    pub text: Option<String>,
}

impl std::fmt::Display for StanzaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.condition, self.kind.as_str())?;
        if let Some(app) = &self.app_condition {
            write!(f, " {}", app.name)?;
        }
        if let Some(text) = &self.text {
            write!(f, ": {text}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StanzaError {}

impl StanzaError {
    /// An error with the given type and condition.
    pub fn new(kind: StanzaErrorType, condition: &'static str) -> Self {
        Self { kind, condition, app_condition: None, text: None }
    }

    /// `<bad-request/>`, type modify.
    pub fn bad_request() -> Self {
        Self::new(StanzaErrorType::Modify, "bad-request")
    }

    /// `<service-unavailable/>`, type cancel: the answer for anything nobody handles.
    pub fn service_unavailable() -> Self {
        Self::new(StanzaErrorType::Cancel, "service-unavailable")
    }

    /// `<item-not-found/>`, type cancel.
    pub fn item_not_found() -> Self {
        Self::new(StanzaErrorType::Cancel, "item-not-found")
    }

    /// `<forbidden/>`, type auth.
    pub fn forbidden() -> Self {
        Self::new(StanzaErrorType::Auth, "forbidden")
    }

    /// `<remote-server-not-found/>`, type cancel: Herald has no server-to-server links.
    pub fn remote_server_not_found() -> Self {
        Self::new(StanzaErrorType::Cancel, "remote-server-not-found")
    }

    /// `<internal-server-error/>`, type wait.
    pub fn internal() -> Self {
        Self::new(StanzaErrorType::Wait, "internal-server-error")
    }

    /// Attaches a human-readable text.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Attaches an application-specific condition element.
    pub fn with_app_condition(mut self, el: Element) -> Self {
        self.app_condition = Some(Box::new(el));
        self
    }

    /// The `<error/>` child element.
    pub fn to_element(&self) -> Element {
        let mut err = Element::new("error", ns::CLIENT)
            .with_attr("type", self.kind.as_str())
            .with_child(Element::new(self.condition, ns::STANZAS_ERRORS));
        if let Some(app) = &self.app_condition {
            err.push_child(app.as_ref().clone());
        }
        if let Some(text) = &self.text {
            err.push_child(Element::new("text", ns::STANZAS_ERRORS).with_text(text.clone()));
        }
        err
    }
}
