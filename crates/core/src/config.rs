//! Settings of the core.

use std::time::Duration;

/// What the core needs to know; filled from Herald's configuration file.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// The XMPP domain served.
    pub domain: String,
    /// Capacity of each session's outbound queue; stanzas beyond it are dropped and counted.
    pub session_queue: usize,
    /// Most offline messages kept per user; beyond it senders get `service-unavailable`.
    pub max_offline_per_user: u64,
    /// Consecutive failed logins that lock an account (0: never).
    pub lockout_failures: u32,
    /// How long a locked account stays locked.
    pub lockout_duration: Duration,
    /// Publish-subscribe settings.
    pub pubsub: crate::pubsub::PubSubConfig,
}

impl CoreConfig {
    /// Defaults for `domain`: 1,024-stanza queues, 1,000 offline messages, 5 failures lock for
    /// 5 minutes (as Finesse does).
    pub fn new(domain: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            session_queue: 1024,
            max_offline_per_user: 1000,
            lockout_failures: 5,
            lockout_duration: Duration::from_secs(300),
            pubsub: Default::default(),
        }
    }
}
