//! Settings of the core.

/// What the core needs to know; filled from Herald's configuration file.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// The XMPP domain served.
    pub domain: String,
    /// Capacity of each session's outbound queue; stanzas beyond it are dropped and counted.
    pub session_queue: usize,
    /// Most offline messages kept per user; beyond it senders get `service-unavailable`.
    pub max_offline_per_user: u64,
    /// Failed-login limits: the lock per account and source, the ban per source, table sizes.
    pub lockout: herald_sasl::LockoutConfig,
    /// The secret decoy credentials for unknown names are derived from; it must persist across
    /// restarts (the server keeps it in its data directory).
    pub decoy_secret: herald_sasl::DecoySecret,
    /// Publish-subscribe settings.
    pub pubsub: crate::pubsub::PubSubConfig,
}

impl CoreConfig {
    /// Defaults for `domain`: 1,024-stanza queues, 1,000 offline messages, the default
    /// [`herald_sasl::LockoutConfig`] (5 failures from a source lock an account for it for 5
    /// minutes, as Finesse does) and a fresh random decoy secret.
    pub fn new(domain: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            session_queue: 1024,
            max_offline_per_user: 1000,
            lockout: Default::default(),
            decoy_secret: herald_sasl::DecoySecret::new(rand::random()),
            pubsub: Default::default(),
        }
    }
}
