//! REST request bodies: `<User>` state changes, `<Dialog>` requests, `<ClientLog>`. Strict:
//! malformed or oversized XML, characters outside XML 1.0, unknown elements, a missing required
//! element ⇒ an [`ApiError`] (400) and nothing changes. OWNED BY THE WIRE SLICE.

use herald_cti::CallAction;

use crate::ApiError;

/// Largest body accepted (the ClientLog limit of 1,048,576 characters, up to 4 bytes each,
/// plus markup).
pub const MAX_BODY_BYTES: usize = 4 * 1_048_576 + 4096;

/// A `PUT User/{id}` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRequest {
    /// `<state>LOGIN</state><extension>…</extension>`.
    Login {
        /// The extension.
        extension: String,
    },
    /// `<state>READY</state>`.
    Ready,
    /// `<state>NOT_READY</state>[<reasonCodeId>…</reasonCodeId>]`.
    NotReady {
        /// The reason code's id.
        reason_code_id: Option<u32>,
    },
    /// `<state>LOGOUT</state>[<reasonCodeId>…</reasonCodeId>]`.
    Logout {
        /// The reason code's id.
        reason_code_id: Option<u32>,
    },
}

/// A `PUT Dialog/{id}` or `POST User/{id}/Dialogs` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialogRequest {
    /// `MAKE_CALL` with `fromAddress` and `toAddress`.
    MakeCall {
        /// The caller's extension.
        from: String,
        /// The number dialled.
        to: String,
    },
    /// Any other `requestedAction`, with `targetMediaAddress` (the acting agent's extension).
    Action {
        /// The action.
        action: CallAction,
        /// `targetMediaAddress`.
        target: Option<String>,
    },
}

/// Parses a `<User>` state change.
pub fn user_request(body: &[u8]) -> Result<UserRequest, ApiError> {
    let _ = body;
    todo!("wire slice")
}

/// Parses a `<Dialog>` request.
pub fn dialog_request(body: &[u8]) -> Result<DialogRequest, ApiError> {
    let _ = body;
    todo!("wire slice")
}

/// Parses a `<ClientLog><logData>…</logData></ClientLog>` and returns the text (≤ 1,048,576
/// characters).
pub fn client_log(body: &[u8]) -> Result<String, ApiError> {
    let _ = body;
    todo!("wire slice")
}
