//! Every CTI constant the simulator reports in one table: failure constants and codes for call
//! control, system reason codes, and the numbering rules for destinations.

use crate::CtiFailure;

/// Reason code an agent gets when a routed call rang unanswered (RONA), as CCE reports it.
pub(super) const REASON_RONA: u16 = 32767;

/// A destination of at least this many digits that is no known extension is an outside number;
/// shorter unknown numbers are unknown extensions.
pub(super) const OUTSIDE_MIN_DIGITS: usize = 7;

/// The first call id handed out (CallIDs look like a CTI server's).
pub(super) const FIRST_CALL_ID: u64 = 16_777_216;

/// The most DTMF digits one SEND_DTMF may carry.
pub(super) const MAX_DTMF: usize = 32;

/// The call does not exist, or the agent is not one of its parties.
pub(super) fn invalid_call() -> CtiFailure {
    CtiFailure::call_operation("CF_INVALID_CALL", 3)
}

/// The action is not allowed in the party's or the call's current state.
pub(super) fn invalid_call_state() -> CtiFailure {
    CtiFailure::call_operation("CF_INVALID_OBJECT_STATE", 22)
}

/// The consulted extension is not signed in.
pub(super) fn out_of_service() -> CtiFailure {
    CtiFailure::call_operation("CF_RESOURCE_OUT_OF_SERVICE", 34)
}

/// The consulted agent is busy.
pub(super) fn resource_busy() -> CtiFailure {
    CtiFailure::call_operation("CF_RESOURCE_BUSY", 35)
}

/// The number dialled is no extension and no outside number.
pub(super) fn invalid_destination() -> CtiFailure {
    CtiFailure::call_operation("CF_INVALID_DESTINATION", 29)
}

/// DTMF digits other than `0-9*#`, none, or too many.
pub(super) fn invalid_dtmf() -> CtiFailure {
    CtiFailure::call_operation("CF_INVALID_DTMF_DIGITS", 44)
}
