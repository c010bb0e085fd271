//! Building `<body/>` responses and the XEP-0124 §17 error conditions.

use herald_xml::escape_attr;

/// The BOSH namespace.
pub const NS_HTTPBIND: &str = "http://jabber.org/protocol/httpbind";
/// XEP-0206's namespace for `xmpp:version`, `xmpp:restart` and `xmpp:restartlogic`.
pub const NS_XBOSH: &str = "urn:xmpp:xbosh";

/// Terminal binding conditions (XEP-0124 §17.2) Herald sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The request is malformed (no rid, not a `<body/>`, bad attributes).
    BadRequest,
    /// The `to` domain is not served here.
    HostUnknown,
    /// Invalid rid (outside the window, or a response no longer buffered), sid or key.
    ItemNotFound,
    /// Too many simultaneous or too frequent requests, or a pause beyond `maxpause`.
    PolicyViolation,
    /// The XMPP stream ended with a stream error, carried as `<stream:error/>` in the body.
    RemoteStreamError,
    /// The server is shutting down.
    SystemShutdown,
}

impl Condition {
    /// The `condition` attribute value.
    pub fn name(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::HostUnknown => "host-unknown",
            Self::ItemNotFound => "item-not-found",
            Self::PolicyViolation => "policy-violation",
            Self::RemoteStreamError => "remote-stream-error",
            Self::SystemShutdown => "system-shutdown",
        }
    }

    /// The HTTP status a legacy client (one that sent no `ver`) gets instead (XEP-0124 §17.3).
    pub fn legacy_status(self) -> u16 {
        match self {
            Self::PolicyViolation => 403,
            Self::ItemNotFound => 404,
            _ => 400,
        }
    }
}

/// One HTTP answer: status and body text (`text/xml; charset=utf-8`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// HTTP status: 200 except for legacy clients' errors and requests for unknown sessions.
    pub status: u16,
    /// The `<body/>` document (empty for legacy error statuses).
    pub body: String,
}

impl Response {
    /// A 200 answer.
    pub fn ok(body: String) -> Self {
        Self { status: 200, body }
    }

    /// The answer to a terminal error: a terminate body, or the legacy status code.
    pub fn terminal(condition: Condition, legacy: bool) -> Self {
        if legacy {
            return Self { status: condition.legacy_status(), body: String::new() };
        }
        Self::ok(BodyBuilder::new().attr("type", "terminate").attr("condition", condition.name()).finish(""))
    }
}

/// The empty response a held request gets when `wait` expires, exactly
/// `<body xmlns='http://jabber.org/protocol/httpbind'/>` (the seed's small periodic responses).
pub fn empty_body() -> String {
    EMPTY_BODY.to_owned()
}

/// The empty body as text, to compare answers with it without building one.
pub(crate) const EMPTY_BODY: &str = "<body xmlns='http://jabber.org/protocol/httpbind'/>";

/// Incremental construction of a `<body/>` start tag.
pub(crate) struct BodyBuilder {
    start: String,
}

impl BodyBuilder {
    pub(crate) fn new() -> Self {
        Self { start: format!("<body xmlns='{NS_HTTPBIND}'") }
    }

    pub(crate) fn attr(mut self, name: &str, value: &str) -> Self {
        self.start.push(' ');
        self.start.push_str(name);
        self.start.push_str("='");
        escape_attr(&mut self.start, value);
        self.start.push('\'');
        self
    }

    /// Closes the tag around `payload` (serialised elements). Features and stream errors use the
    /// `stream:` prefix, so it is declared whenever the payload contains it (XEP-0206 §5).
    pub(crate) fn finish(mut self, payload: &str) -> String {
        if payload.is_empty() {
            self.start.push_str("/>");
            return self.start;
        }
        if payload.contains("<stream:") && !self.start.contains("xmlns:stream=") {
            self.start.push_str(" xmlns:stream='http://etherx.jabber.org/streams'");
        }
        self.start.push('>');
        self.start.push_str(payload);
        self.start.push_str("</body>");
        self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_body_has_exactly_the_namespace() {
        assert_eq!(empty_body(), "<body xmlns='http://jabber.org/protocol/httpbind'/>");
        assert_eq!(empty_body().len(), 51);
    }

    #[test]
    fn stream_prefix_is_declared_when_used() {
        let body = BodyBuilder::new().finish("<stream:features xmlns:stream='http://etherx.jabber.org/streams'/>");
        assert!(body.starts_with("<body xmlns='http://jabber.org/protocol/httpbind' xmlns:stream="));
        assert_eq!(Response::terminal(Condition::ItemNotFound, true).status, 404);
        assert!(Response::terminal(Condition::ItemNotFound, false).body.contains("condition='item-not-found'"));
    }
}
