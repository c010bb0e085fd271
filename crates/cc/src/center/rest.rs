//! A REST call's checks in the order Finesse applies them — service status (503), the caller
//! (401), the path (404), the method (405), the content type (400) — then the GET or the change.

use crate::ApiError;
use crate::directory::UserRecord;
use crate::path::{self, Resource};

use super::{ContactCenter, Method, RestAnswer, RestCall};
use crate::EpochMs;

impl ContactCenter {
    /// Answers one call, or the error to answer with.
    pub(super) fn rest(&mut self, now: EpochMs, caller: &str, call: &RestCall) -> Result<RestAnswer, ApiError> {
        let resource = path::parse(&call.target);
        let system_info_get = call.method == Method::Get && matches!(resource, Ok(Resource::SystemInfo));
        if !self.in_service && !system_info_get {
            return Err(ApiError::unavailable(self.status_reason.clone()));
        }
        let caller: UserRecord = self.directory.user(caller).cloned().ok_or_else(ApiError::unauthenticated)?;
        let resource = resource?;
        check_method(call.method, &resource)?;
        if matches!(call.method, Method::Put | Method::Post) {
            check_content_type(call.content_type.as_deref())?;
        }
        match (call.method, resource) {
            (Method::Get, resource) => self.get(now, &caller, resource).map(|doc| RestAnswer { status: 200, body: Some(doc.to_xml()) }),
            (Method::Put, Resource::User(id)) => self.change_state(now, &caller, &id, call),
            (Method::Post, Resource::UserDialogs(id)) => self.make_call(now, &caller, &id, call),
            (Method::Put, Resource::Dialog(id)) => self.act_on_call(now, &caller, &id, call),
            (Method::Post, Resource::UserClientLog(id)) => self.client_log(now, &caller, &id, call),
            (method, _) => Err(ApiError::method_not_allowed(method.name())),
        }
    }
}

/// 202 Accepted, no body.
pub(super) fn accepted() -> RestAnswer {
    RestAnswer { status: 202, body: None }
}

/// The methods each resource supports (finesse-domain.md §1): others are 405.
fn check_method(method: Method, resource: &Resource) -> Result<(), ApiError> {
    let allowed: &[Method] = match resource {
        Resource::UserClientLog(_) => &[Method::Post],
        Resource::User(_) => &[Method::Get, Method::Put],
        Resource::UserDialogs(_) => &[Method::Get, Method::Post],
        Resource::Dialog(_) => &[Method::Get, Method::Put],
        Resource::UserReasonCodes(..)
        | Resource::UserReasonCode(..)
        | Resource::UserQueues(_)
        | Resource::Team(_)
        | Resource::Queue(_)
        | Resource::ReasonCodes(_)
        | Resource::ReasonCode(_)
        | Resource::SystemInfo => &[Method::Get],
    };
    if allowed.contains(&method) { Ok(()) } else { Err(ApiError::method_not_allowed(method.name())) }
}

/// A body must be `application/xml` or `text/xml` (parameters such as `charset` allowed).
fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let got = content_type.unwrap_or_default();
    let media = got.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case("application/xml") || media.eq_ignore_ascii_case("text/xml") {
        Ok(())
    } else {
        Err(ApiError::content_type(got))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(check_content_type(Some("application/xml")).is_ok());
        assert!(check_content_type(Some("Text/XML; charset=UTF-8")).is_ok());
        for bad in [None, Some(""), Some("application/json"), Some("application/xml+foo"), Some("xml")] {
            assert_eq!(check_content_type(bad).map_err(|e| e.status), Err(400), "{bad:?}");
        }
    }

    #[test]
    fn methods() {
        assert!(check_method(Method::Post, &Resource::UserClientLog("a".into())).is_ok());
        assert!(check_method(Method::Get, &Resource::UserClientLog("a".into())).is_err());
        assert!(check_method(Method::Put, &Resource::SystemInfo).is_err());
        assert!(check_method(Method::Delete, &Resource::User("a".into())).is_err());
        assert!(check_method(Method::Other, &Resource::Dialog("1".into())).is_err());
    }
}
