//! `ApiError`: a refused REST request, with the HTTP status and the three fields Finesse puts in
//! `<ApiErrors><ApiError>` (finesse-domain.md §1.2); the same error inside a notification is
//! the camel-case `<apiErrors><apiError>` (§2.4), rendered by [`crate::documents`].

/// A refused request: HTTP status, `ErrorType`, `ErrorMessage`, `ErrorData`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {error_type}: {message} ({data})")]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// `ErrorType`, the human category ("Invalid Input", "Authorization Failure", …).
    pub error_type: String,
    /// `ErrorMessage`, a constant or a sentence.
    pub message: String,
    /// `ErrorData`, the offending value or CTI code.
    pub data: String,
}

impl ApiError {
    /// Any error.
    pub fn new(status: u16, error_type: &str, message: impl Into<String>, data: impl Into<String>) -> Self {
        Self { status, error_type: error_type.to_owned(), message: message.into(), data: data.into() }
    }

    /// 400 Invalid Input: a value of the wrong form (bad XML, bad characters, unknown element).
    pub fn invalid_input(message: impl Into<String>, data: impl Into<String>) -> Self {
        Self::new(400, "Invalid Input", message, data)
    }

    /// 400 Parameter Missing: a required element is absent.
    pub fn parameter_missing(parameter: &str) -> Self {
        Self::new(400, "Parameter Missing", format!("{parameter} is required"), parameter)
    }

    /// 400 Generic Error.
    pub fn generic(message: impl Into<String>, data: impl Into<String>) -> Self {
        Self::new(400, "Generic Error", message, data)
    }

    /// 400 Invalid Destination (MAKE_CALL to one's own extension).
    pub fn invalid_destination(data: impl Into<String>) -> Self {
        Self::new(400, "Invalid Destination", "The destination is the caller's own address", data)
    }

    /// 401 Authorization Failure: no or wrong credentials.
    pub fn unauthenticated() -> Self {
        Self::new(401, "Authorization Failure", "UNAUTHORIZED", "")
    }

    /// 401 Invalid Authorization User Specified: acting on another user's object.
    pub fn wrong_user(data: impl Into<String>) -> Self {
        Self::new(401, "Invalid Authorization User Specified", "The user may not act on this object", data)
    }

    /// 401 Invalid Supervisor: a supervisor acting outside its teams, or an action supervisors
    /// may not take.
    pub fn invalid_supervisor(data: impl Into<String>) -> Self {
        Self::new(401, "Invalid Supervisor", "The supervisor may not act on this object", data)
    }

    /// 403 Forbidden: the account may not use the API at all (locked out, or not a contact-center
    /// user).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message, "")
    }

    /// 404 Not Found.
    pub fn not_found(data: impl Into<String>) -> Self {
        Self::new(404, "Not Found", "The object does not exist", data)
    }

    /// 405 Method Not Allowed.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(405, "Method Not Allowed", format!("{method} is not supported on this resource"), method)
    }

    /// 415-free Finesse: a wrong content type is 400 Invalid Input.
    pub fn content_type(got: &str) -> Self {
        Self::invalid_input("Content-Type must be application/xml", got)
    }

    /// 500 Internal Server Error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "Internal Server Error", message, "")
    }

    /// 503 Service Unavailable (OUT_OF_SERVICE: CTI link down).
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::new(503, "Service Unavailable", "The web services are out of service", reason)
    }
}
