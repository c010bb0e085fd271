//! Stanza helpers shared by the routing tests: where sessions come from, how they end, a chat
//! message, and what a session's queue holds.

use std::net::{IpAddr, Ipv4Addr};

use herald_core::{CloseCause, Origin, SessionEnd, SessionHandle, Transport};
use herald_proto::ns;
use herald_xml::Element;

/// Where the test's sessions come from.
pub(crate) const LOCAL: Origin = Origin { transport: Transport::Tcp, source: IpAddr::V4(Ipv4Addr::LOCALHOST) };

/// The end of a session whose connection dropped.
pub(crate) fn gone() -> SessionEnd {
    SessionEnd { cause: CloseCause::ConnectionLost, last_activity: std::time::Instant::now() }
}

/// A chat message from `from` to `to`.
pub(crate) fn message(from: &SessionHandle, to: &str, body: &str) -> Element {
    Element::new("message", ns::CLIENT)
        .with_attr("from", from.jid.to_string())
        .with_attr("to", to)
        .with_attr("type", "chat")
        .with_child(Element::new("body", ns::CLIENT).with_text(body))
}

/// Everything queued for `s`, taken out.
pub(crate) fn drain(s: &mut SessionHandle) -> Vec<Element> {
    let mut out = Vec::new();
    while let Some(el) = s.inbox.try_recv() {
        out.push(*el);
    }
    out
}

/// The bodies of the messages in `els`.
pub(crate) fn bodies(els: &[Element]) -> Vec<String> {
    els.iter().filter_map(|e| e.child("body", ns::CLIENT)).map(Element::text).collect()
}
