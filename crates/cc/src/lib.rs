//! The contact center as the web services see it (Cisco Finesse's model): agents, teams,
//! queues, reason codes and calls; the REST resources under `/finesse/api`; and the `<Update>`
//! notifications every change publishes. Sans-IO: a [`ContactCenter`] takes REST calls and CTI
//! events with the current time and returns HTTP answers and [`Effect`]s (CTI requests,
//! publishes, client logs to store) for its driver to carry out.
//!
//! State is owned by the CTI side (`herald-cti`): a state-changing request is checked (shape,
//! authority, reason codes), forwarded as a CTI request and answered `202 Accepted`; the change
//! is published when the CTI side reports it, or an async `apiErrors` Update when it refuses.

mod authz;
mod center;
pub mod directory;
pub mod documents;
pub mod error;
pub mod fuzzing;
pub mod model;
pub mod parse;
pub mod path;
pub mod takeover;
pub mod update;
pub mod watch;

pub use center::{CcConfig, ContactCenter, Effect, Method, NodePlan, RestAnswer, RestCall, RestoreError, RestorePlan};
pub use directory::{Directory, QueueRecord, ReasonCategory, ReasonCodeRecord, Role, TeamRecord, UserRecord, WrapUpMode};
pub use documents::NodeAddress;
pub use error::ApiError;
pub use herald_cti::EpochMs;
pub use watch::{LinkConfig, LinkDownCause, LogoutAction, LogoutMode, PresenceLogoutConfig, WsLog};
