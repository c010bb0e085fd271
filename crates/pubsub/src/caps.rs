//! The pubsub settings and the caps on what one user may make the service hold: node name and
//! item id lengths, the reserved `/finesse/` namespace, nodes per owner and subscriptions per
//! JID. Each refusal is a [`PubSubError`] saying which cap, and a log line.

use crate::error::PubSubError;

/// Pubsub settings.
#[derive(Clone, Debug)]
pub struct PubSubConfig {
    /// Items a new node keeps (`pubsub#max_items` default; 100).
    pub default_max_items: usize,
    /// Whether any local user may create nodes (true, as ejabberd) or only the server itself
    /// through the in-process API (false, as Prosody's default).
    pub users_create_nodes: bool,
    /// Longest node name, in bytes (default 1,024): names are keys held in memory and stored.
    pub max_node_name_bytes: usize,
    /// Longest item id, in bytes (default 1,024).
    pub max_item_id_bytes: usize,
    /// Most nodes one bare JID may own (default 1,000); the server's own requests are not capped.
    pub max_nodes_per_owner: usize,
    /// Most subscriptions one bare JID may hold over all nodes (default 1,000); the server's own
    /// requests are not capped.
    pub max_subscriptions_per_jid: usize,
}

impl Default for PubSubConfig {
    fn default() -> Self {
        Self {
            default_max_items: 100,
            users_create_nodes: true,
            max_node_name_bytes: 1024,
            max_item_id_bytes: 1024,
            max_nodes_per_owner: 1000,
            max_subscriptions_per_jid: 1000,
        }
    }
}

/// Node names under this prefix are the server's own (the contact-center layer creates them
/// through the in-process API); no user may create one.
pub const RESERVED_PREFIX: &str = "/finesse/";

fn refused(error: PubSubError) -> PubSubError {
    tracing::info!(target: "notification", reason = %error, "pubsub request refused by a cap");
    error
}

impl PubSubConfig {
    /// Checks the name of a node about to be created; `by_user` is false for the server itself.
    pub(crate) fn check_node_name(&self, name: &str, by_user: bool) -> Result<(), PubSubError> {
        if name.len() > self.max_node_name_bytes {
            return Err(refused(PubSubError::NodeNameTooLong(self.max_node_name_bytes)));
        }
        if by_user && name.starts_with(RESERVED_PREFIX) {
            return Err(refused(PubSubError::ReservedName(RESERVED_PREFIX)));
        }
        Ok(())
    }

    /// Checks the id of an item about to be published.
    pub(crate) fn check_item_id(&self, id: &str) -> Result<(), PubSubError> {
        if id.len() > self.max_item_id_bytes {
            return Err(refused(PubSubError::ItemIdTooLong(self.max_item_id_bytes)));
        }
        Ok(())
    }

    /// Checks that `bare`, owning `owned` nodes, may own one more.
    pub(crate) fn check_owned(&self, bare: &str, owned: usize) -> Result<(), PubSubError> {
        if owned >= self.max_nodes_per_owner {
            return Err(refused(PubSubError::TooManyNodes { jid: bare.to_owned(), owned }));
        }
        Ok(())
    }

    /// Checks that `bare`, holding `held` subscriptions, may hold one more.
    pub(crate) fn check_subscriptions(&self, bare: &str, held: usize) -> Result<(), PubSubError> {
        if held >= self.max_subscriptions_per_jid {
            return Err(refused(PubSubError::TooManySubscriptions { jid: bare.to_owned(), held }));
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
        assert!(matches!(c.check_node_name("123456789", false), Err(PubSubError::NodeNameTooLong(8))));
        let c = PubSubConfig { max_node_name_bytes: 64, ..c };
        assert!(matches!(c.check_node_name("/finesse/", true), Err(PubSubError::ReservedName(_))));
        assert!(c.check_node_name("/finesse/api/User/1", false).is_ok(), "the server may create them");
        assert!(c.check_node_name("/finesse", true).is_ok());
        assert!(c.check_item_id("abcd").is_ok());
        assert!(matches!(c.check_item_id("abcde"), Err(PubSubError::ItemIdTooLong(4))));
        assert!(c.check_owned("a@x", 1).is_ok());
        assert!(matches!(c.check_owned("a@x", 2), Err(PubSubError::TooManyNodes { owned: 2, .. })));
        assert!(c.check_subscriptions("a@x", 2).is_ok());
        assert!(matches!(c.check_subscriptions("a@x", 3), Err(PubSubError::TooManySubscriptions { held: 3, .. })));
    }
}
