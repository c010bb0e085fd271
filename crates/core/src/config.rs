//! Settings of the core.

/// What the core needs to know; filled from Herald's configuration file.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// The XMPP domain served.
    pub domain: String,
    /// Capacity of each session's outbound queue; stanzas beyond it are dropped and counted.
    pub session_queue: usize,
    /// Caps on what one account may make the server hold: offline messages, roster, directed
    /// presences, resources.
    pub state: StateLimits,
    /// Failed-login limits: the lock per account and source, the ban per source, table sizes.
    pub lockout: herald_sasl::LockoutConfig,
    /// The secret decoy credentials for unknown names are derived from; it must persist across
    /// restarts (the server keeps it in its data directory).
    pub decoy_secret: herald_sasl::DecoySecret,
    /// Publish-subscribe settings.
    pub pubsub: herald_pubsub::PubSubConfig,
    /// In a cluster: where the pubsub service's committed changes go for the other nodes.
    pub replicator: Option<std::sync::Arc<dyn herald_pubsub::Replicator>>,
    /// Who is told the core's [`crate::CoreEvent`]s (no one by default).
    pub events: crate::Subscribers,
    /// The server's metrics, which every layer holding the core updates ([`crate::Core::metrics`]).
    pub metrics: herald_metrics::Metrics,
    /// The other nodes of a cluster, reached when a stanza's recipient has no session here
    /// (`None`: a single node).
    pub remote: Option<std::sync::Arc<dyn crate::Remote>>,
    /// Failed-login counters shared by a cluster's nodes, so that a lock or ban made on one node
    /// holds on all (`None`: this node's counts only).
    pub shared_lockout: Option<std::sync::Arc<dyn crate::SharedLockout>>,
}

impl CoreConfig {
    /// Defaults for `domain`: 1,024-stanza queues, the [`StateLimits`] defaults, the default
    /// [`herald_sasl::LockoutConfig`] (5 failures from a source lock an account for it for 5
    /// minutes, as Finesse does), a fresh random decoy secret and no event subscribers.
    pub fn new(domain: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            session_queue: 1024,
            state: StateLimits::default(),
            lockout: Default::default(),
            decoy_secret: herald_sasl::DecoySecret::new(rand::random()),
            pubsub: Default::default(),
            replicator: None,
            events: Default::default(),
            metrics: herald_metrics::Metrics::new(),
            remote: None,
            shared_lockout: None,
        }
    }
}

/// Per-account state caps. Each keeps one client (or one stolen account) from growing the
/// server's memory or store without bound; the defaults leave a contact-center desktop, whose
/// offline messages are a few small chats and whose roster is at most a team, far inside them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateLimits {
    /// Most offline messages stored per recipient.
    pub max_offline_messages: u64,
    /// Most stanza bytes stored per recipient; this also bounds what a login loads.
    pub max_offline_bytes: u64,
    /// Most stanza bytes one sender may have stored, across all recipients.
    pub max_offline_sender_bytes: u64,
    /// Most items in one roster.
    pub max_roster_items: usize,
    /// Longest roster item `name`, in bytes.
    pub max_roster_name_bytes: usize,
    /// Most groups one roster item may be in.
    pub max_roster_groups: usize,
    /// Longest group name, in bytes.
    pub max_roster_group_bytes: usize,
    /// Most JIDs one session may have sent directed available presence to.
    pub max_directed_presences: usize,
    /// Most sessions (resources) bound to one account at once.
    pub max_resources: usize,
}

impl Default for StateLimits {
    /// 1,000 offline messages and 1 MiB per recipient, 4 MiB per sender (a supervisor's note to
    /// a few thousand offline agents); rosters of 1,000 items (a supervisor's team is a few
    /// hundred) with 1,023-byte names and 16 groups of 255 bytes; 100 directed presences per
    /// session; 10 resources per account (ejabberd's sample `max_user_sessions`).
    fn default() -> Self {
        Self {
            max_offline_messages: 1000,
            max_offline_bytes: 1024 * 1024,
            max_offline_sender_bytes: 4 * 1024 * 1024,
            max_roster_items: 1000,
            max_roster_name_bytes: 1023,
            max_roster_groups: 16,
            max_roster_group_bytes: 255,
            max_directed_presences: 100,
            max_resources: 10,
        }
    }
}
