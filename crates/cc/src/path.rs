//! The resources under `/finesse/api`: a request path (query string ignored but for
//! `category`) parsed into a [`Resource`]. Finesse clients add `?nocache=<ms>` to GETs.

use crate::ApiError;

/// The API's base path.
pub const BASE: &str = "/finesse/api";

/// A resource the API serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// `User/{id}`.
    User(String),
    /// `User/{id}/Dialogs` (the id may be an extension).
    UserDialogs(String),
    /// `User/{id}/ReasonCodes?category=`.
    UserReasonCodes(String, Option<String>),
    /// `User/{id}/ReasonCode/{rc}`.
    UserReasonCode(String, String),
    /// `User/{id}/Queues`.
    UserQueues(String),
    /// `User/{id}/ClientLog`.
    UserClientLog(String),
    /// `Dialog/{id}`.
    Dialog(String),
    /// `Team/{id}`.
    Team(String),
    /// `Queue/{id}`.
    Queue(String),
    /// `ReasonCodes?category=`.
    ReasonCodes(Option<String>),
    /// `ReasonCode/{id}`.
    ReasonCode(String),
    /// `SystemInfo`.
    SystemInfo,
}

/// Parses a request target (path and optional query). Unknown paths are 404; a trailing slash
/// is accepted.
pub fn parse(target: &str) -> Result<Resource, ApiError> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let category = query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == "category").map(|(_, v)| v.to_owned());
    let rest = path.strip_prefix(BASE).ok_or_else(|| ApiError::not_found(path))?;
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let owned = |s: &str| s.to_owned();
    let resource = match segments.as_slice() {
        ["User", id] => Resource::User(owned(id)),
        ["User", id, "Dialogs"] => Resource::UserDialogs(owned(id)),
        ["User", id, "ReasonCodes"] => Resource::UserReasonCodes(owned(id), category),
        ["User", id, "ReasonCode", rc] => Resource::UserReasonCode(owned(id), owned(rc)),
        ["User", id, "Queues"] => Resource::UserQueues(owned(id)),
        ["User", id, "ClientLog"] => Resource::UserClientLog(owned(id)),
        ["Dialog", id] => Resource::Dialog(owned(id)),
        ["Team", id] => Resource::Team(owned(id)),
        ["Queue", id] => Resource::Queue(owned(id)),
        ["ReasonCodes"] => Resource::ReasonCodes(category),
        ["ReasonCode", id] => Resource::ReasonCode(owned(id)),
        ["SystemInfo"] => Resource::SystemInfo,
        _ => return Err(ApiError::not_found(path)),
    };
    let empty = match &resource {
        Resource::User(id)
        | Resource::UserDialogs(id)
        | Resource::UserReasonCodes(id, _)
        | Resource::UserQueues(id)
        | Resource::UserClientLog(id)
        | Resource::Dialog(id)
        | Resource::Team(id)
        | Resource::Queue(id)
        | Resource::ReasonCode(id) => id.is_empty(),
        Resource::UserReasonCode(id, rc) => id.is_empty() || rc.is_empty(),
        Resource::ReasonCodes(_) | Resource::SystemInfo => false,
    };
    if empty {
        return Err(ApiError::not_found(path));
    }
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_with_query_and_slash() {
        assert_eq!(parse("/finesse/api/User/1001?nocache=1700000000000"), Ok(Resource::User("1001".into())));
        assert_eq!(parse("/finesse/api/User/1001/"), Ok(Resource::User("1001".into())));
        assert_eq!(
            parse("/finesse/api/User/1001/ReasonCodes?category=NOT_READY&nocache=1"),
            Ok(Resource::UserReasonCodes("1001".into(), Some("NOT_READY".into())))
        );
        assert_eq!(parse("/finesse/api/SystemInfo"), Ok(Resource::SystemInfo));
        assert_eq!(parse("/finesse/api/Dialog/42"), Ok(Resource::Dialog("42".into())));
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for p in ["/finesse/api", "/finesse/api/", "/finesse/api/Users", "/finesse/api/User//Dialogs", "/other", "/finesse/api/User/1/X"] {
            assert_eq!(parse(p).map_err(|e| e.status), Err(404), "{p}");
        }
    }
}
