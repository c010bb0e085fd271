//! The CTI side's interface: what the web services ask of the telephony system (agent state and
//! call control requests) and what it reports back (agent state, calls, failures, queue
//! statistics, heartbeats). State is owned here, not by the web services: a REST request is
//! answered `202 Accepted` and the state changes when an event says so, as in Finesse.
//!
//! Sans-IO: an adapter is a [`CtiMachine`] — requests and the current time in, events and the
//! next deadline out — driven by a thin async loop in the server. [`sim`] is the built-in
//! simulator, the default CTI side; an adapter for a real CTI server implements the same trait
//! around its protocol.
//!
//! Times are milliseconds since the Unix epoch ([`EpochMs`]): the simulator's fake clock in tests
//! is any such number, and timestamps in documents come from the same value.

pub mod sim;
mod vocabulary;

pub use vocabulary::*;

/// Milliseconds since the Unix epoch.
pub type EpochMs = u64;

/// A CTI adapter, sans-IO. The driver calls [`handle_request`](Self::handle_request) for each
/// request, [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)'s
/// deadline has passed, and drains [`poll_event`](Self::poll_event) after each call.
pub trait CtiMachine: Send {
    /// A request from the web services.
    fn handle_request(&mut self, now: EpochMs, request: CtiRequest);
    /// The clock reached (or passed) the deadline [`poll_timeout`](Self::poll_timeout) gave.
    fn handle_timeout(&mut self, now: EpochMs);
    /// The next event to hand to the web services, oldest first.
    fn poll_event(&mut self) -> Option<CtiEvent>;
    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    fn poll_timeout(&self) -> Option<EpochMs>;
}
