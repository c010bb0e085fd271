//! Helpers shared by the core's tests.

use herald_core::{Core, SessionHandle};
use herald_proto::ns;
use herald_xml::Element;

/// Sends presence of `kind` (`None`: available) from `s` with no `to`: a broadcast.
pub(crate) async fn presence(core: &Core, s: &SessionHandle, kind: Option<&str>) {
    let mut p = Element::new("presence", ns::CLIENT).with_attr("from", s.jid.to_string());
    if let Some(kind) = kind {
        p.set_attr("type", kind);
    }
    core.route(&s.jid, s.id, p).await;
}
