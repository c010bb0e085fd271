//! herald-api: the Finesse web services on the API listener, and the runtime that drives the
//! sans-IO contact center (`herald-cc`) and its CTI side (`herald-cti`).
//!
//! - [`start`] sets up the contact center's pubsub nodes, then runs the effect executor
//!   (publishes in order, CTI requests, client logs) and the CTI driver; it returns the
//!   [`CcService`] and a [`CtiHandle`] to the CTI machine.
//! - [`CcService::router`] serves `/finesse/api/…` (HTTP Basic with the XMPP accounts' lock-out
//!   and a short cache); [`sim_router`] serves the simulator's call injection and link control.
//! - [`restore_agents`] brings agents back to their last published state when a cluster node
//!   takes the contact center over (issue 15).
//! - Both are served with `herald_net::http::serve_http`, which brings TLS, admission, deadlines
//!   and CORS.

mod auth;
mod driver;
mod machine;
mod nodes;
mod routes;
mod service;
mod sim;
mod takeover;

pub use driver::CtiHandle;
pub use machine::now_ms;
pub use nodes::{SetupReport, node_config, setup as setup_nodes};
pub use routes::REQUEST_ID;
pub use service::{CcService, PresenceInput, ServiceConfig, start};
pub use sim::{SIM_CALL_PATH, SIM_LINK_PATH, sim_router};
pub use takeover::{RESTORE_LOOKBACK, RestoreReport, restore_agents};
