//! Herald's persistent state, split by concern: one trait per domain, each with its types in
//! its own module —
//!
//! - [`accounts`]: users and their SCRAM credentials ([`AccountStore`]);
//! - [`roster`]: each user's contacts and subscription states ([`RosterStore`]);
//! - [`offline`]: messages kept for users with no session ([`OfflineStore`]);
//! - [`pubsub`]: publish-subscribe nodes with their items ([`PubSubStore`]);
//! - [`contact_center`]: agents, teams, queues and reason codes ([`ContactCenterStore`]);
//! - [`session_records`]: close records of ended sessions, bounded ([`SessionRecordStore`]).
//!
//! Callers depend on the narrowest trait they need; [`Store`] bundles them all for wiring. Each
//! backend implements every trait (the SQL ones sharing `sql/`): [`SqliteStore`] (the embedded default,
//! behind the `sqlite` cargo feature, on by default), `PostgresStore` (several nodes on one
//! database, behind the `postgres` feature, on by default) and [`MemoryStore`] (tests; nothing
//! survives a restart). [`AnyStore`] is the one chosen at run time. Every backend passes the
//! same [`conformance`] suite, domain by domain.
//!
//! # Adding a domain
//!
//! A new domain keeps the shape of the five above, so that nothing else in this crate changes
//! (the contact center, issue 11, was added this way):
//!
//! 1. a module with its types and its trait;
//! 2. its implementation per backend: once for both SQL backends in `sql/` (generic over the
//!    database, for every `sql::SqlStore`), with only what differs in `sqlite/` and
//!    `postgres/` (each with a new entry appended to its migrations, never an edit of an
//!    applied one), and in `memory/`;
//! 3. its section in [`conformance`], run against every backend;
//! 4. the trait added to the [`Store`] bundle and dispatched by [`AnyStore`] (in `any.rs`).
//!
//! Deleting a user ([`AccountStore::delete_user`]) must then also delete what the new domain
//! keeps for that user, or refuse while the user is still referenced.

pub mod accounts;
mod any;
pub mod conformance;
pub mod contact_center;
mod error;
mod memory;
pub mod offline;
#[cfg(feature = "postgres")]
mod postgres;
pub mod pubsub;
pub mod roster;
pub mod session_records;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use accounts::{AccountStore, StoredCredential};
pub use any::AnyStore;
pub use contact_center::{ContactCenterStore, StoredCcUser, StoredQueue, StoredReasonCode, StoredTeam};
#[cfg(feature = "sqlite")]
pub use error::WriterError;
pub use error::{DatabaseError, StoreError};
pub use memory::MemoryStore;
pub use offline::{OfflineMessage, OfflinePush, OfflineQuota, OfflineStore, StoredOffline, offline_batch_len};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use pubsub::{PubSubOp, PubSubStore, StoredItem, StoredNode, StoredSubscription, SubscriptionOptions};
pub use roster::{RosterItem, RosterStore, Subscription};
pub use session_records::{CloseRecord, SessionRecordStore};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// Everything Herald persists: every domain trait, for code that wires a whole server (the
/// core, the `herald` binary). Methods are async and `Send` so that they can be called from any
/// task; implementations must make each call atomic. Implemented for every type that
/// implements all the domain traits.
pub trait Store:
    AccountStore + RosterStore + OfflineStore + PubSubStore + ContactCenterStore + SessionRecordStore + Clone + 'static
{
}

impl<T> Store for T where
    T: AccountStore + RosterStore + OfflineStore + PubSubStore + ContactCenterStore + SessionRecordStore + Clone + 'static
{
}
