//! The heart of the notification service, independent of any transport: the table of bound
//! sessions, RFC 6120/6121 routing (messages, presence, iq), rosters and subscriptions, offline
//! storage, and the server's own iq handlers (disco, ping, version). Transports hand it stanzas
//! already stamped with the sender's full JID and receive stanzas through each session's bounded
//! queue. It is async (the store is) but owns no sockets. What happens to sessions is told to
//! subscribers through the event seam (`events`).

mod auth;
mod config;
mod events;
mod offline;
mod presence;
mod pubsub;
pub mod queue;
mod remote;
mod roster;
mod roster_cache;
mod router;
mod sessions;
mod shared_lockout;
mod throttle;
mod time;

pub use auth::{failure_kind, stored_credentials};
pub use config::{CoreConfig, StateLimits};
pub use events::{CloseCause, CoreEvent, EventSink, Origin, SessionEnd, Subscribers, Transport};
pub use remote::{Remote, RemoteSession};
pub use router::Core;
pub use sessions::{Control, SessionHandle, SessionInfo, SessionStats};
pub use shared_lockout::{LockoutKind, SharedLockout};
pub use time::{epoch_ms, format_timestamp};
