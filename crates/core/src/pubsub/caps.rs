//! The caps on what one user may make the pubsub service hold: node name and item id lengths,
//! the reserved `/finesse/` namespace, nodes per owner and subscriptions per JID. Each refusal
//! is an XMPP error with a text saying which cap, and a log line.

use herald_proto::{StanzaError, StanzaErrorType};
use herald_xml::Element;

use super::ns;
use super::service::PubSubConfig;

/// Node names under this prefix are the server's own (the contact-center layer creates them
/// through the in-process API); no user may create one.
pub const RESERVED_PREFIX: &str = "/finesse/";

fn refused(condition: &'static str, kind: StanzaErrorType, app: Option<&str>, text: String) -> StanzaError {
    tracing::info!(target: "notification", condition, reason = %text, "pubsub request refused by a cap");
    let e = StanzaError::new(kind, condition).with_text(text);
    match app {
        Some(name) => e.with_app_condition(Element::new(name, ns::ERRORS)),
        None => e,
    }
}

impl PubSubConfig {
    /// Checks the name of a node about to be created; `by_user` is false for the server itself.
    pub(super) fn check_node_name(&self, name: &str, by_user: bool) -> Result<(), StanzaError> {
        if name.len() > self.max_node_name_bytes {
            let text = format!("node names are limited to {} bytes", self.max_node_name_bytes);
            return Err(refused("not-acceptable", StanzaErrorType::Modify, None, text));
        }
        if by_user && name.starts_with(RESERVED_PREFIX) {
            return Err(refused("forbidden", StanzaErrorType::Auth, None, format!("nodes under {RESERVED_PREFIX} are the server's own")));
        }
        Ok(())
    }

    /// Checks the id of an item about to be published.
    pub(super) fn check_item_id(&self, id: &str) -> Result<(), StanzaError> {
        if id.len() > self.max_item_id_bytes {
            let text = format!("item ids are limited to {} bytes", self.max_item_id_bytes);
            return Err(refused("not-acceptable", StanzaErrorType::Modify, Some("invalid-payload"), text));
        }
        Ok(())
    }

    /// Checks that `bare`, owning `owned` nodes, may own one more.
    pub(super) fn check_owned(&self, bare: &str, owned: usize) -> Result<(), StanzaError> {
        if owned >= self.max_nodes_per_owner {
            let text = format!("{bare} already owns {owned} nodes, the most one JID may own");
            return Err(refused("not-allowed", StanzaErrorType::Cancel, None, text));
        }
        Ok(())
    }

    /// Checks that `bare`, holding `held` subscriptions, may hold one more.
    pub(super) fn check_subscriptions(&self, bare: &str, held: usize) -> Result<(), StanzaError> {
        if held >= self.max_subscriptions_per_jid {
            let text = format!("{bare} already holds {held} subscriptions, the most one JID may hold");
            return Err(refused("not-allowed", StanzaErrorType::Cancel, Some("too-many-subscriptions"), text));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_refuse_at_the_limit_with_their_conditions() {
        let c = PubSubConfig {
            max_node_name_bytes: 8,
            max_item_id_bytes: 4,
            max_nodes_per_owner: 2,
            max_subscriptions_per_jid: 3,
            ..Default::default()
        };
        assert!(c.check_node_name("12345678", true).is_ok());
        assert_eq!(c.check_node_name("123456789", false).unwrap_err().condition, "not-acceptable");
        let c = PubSubConfig { max_node_name_bytes: 64, ..c };
        assert_eq!(c.check_node_name("/finesse/", true).unwrap_err().condition, "forbidden");
        assert!(c.check_node_name("/finesse/api/User/1", false).is_ok(), "the server may create them");
        assert!(c.check_node_name("/finesse", true).is_ok());
        assert!(c.check_item_id("abcd").is_ok());
        assert_eq!(c.check_item_id("abcde").unwrap_err().condition, "not-acceptable");
        assert!(c.check_owned("a@x", 1).is_ok());
        assert_eq!(c.check_owned("a@x", 2).unwrap_err().condition, "not-allowed");
        assert!(c.check_subscriptions("a@x", 2).is_ok());
        let e = c.check_subscriptions("a@x", 3).unwrap_err();
        assert_eq!(e.app_condition.map(|a| a.name), Some("too-many-subscriptions".into()));
    }
}
