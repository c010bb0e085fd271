//! CORS for browser clients, one decision for both ways a request is served: the layer around
//! the router, and the header the fast path writes itself.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The header Finesse clients tag REST requests with (lower case: header names are).
const REQUEST_ID: &str = "requestid";

/// The CORS layer around a listener's router.
pub(crate) fn layer(origins: &[String]) -> CorsLayer {
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow)
        // PUT, `Authorization` and `requestId` for the Finesse REST API; `requestId` is echoed
        // on its answers and must be readable by the page.
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, HeaderName::from_static(REQUEST_ID)])
        .expose_headers([HeaderName::from_static(REQUEST_ID)])
        .max_age(Duration::from_secs(86_400))
}

/// The `Access-Control-Allow-Origin` value for `origin` under the listener's allow-list, the
/// same decision the router's CORS layer makes (and the one a WebSocket upgrade's origin check
/// needs, since CORS does not cover WebSocket).
pub fn allowed_origin<'a>(origins: &[String], origin: &'a str) -> Option<&'a str> {
    if origins.iter().any(|o| o == "*") { Some("*") } else { origins.iter().any(|o| o == origin).then_some(origin) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_follow_the_allow_list() {
        let list = vec!["https://desk".to_owned()];
        assert_eq!(allowed_origin(&list, "https://desk"), Some("https://desk"));
        assert_eq!(allowed_origin(&list, "https://evil"), None);
        assert_eq!(allowed_origin(&["*".to_owned()], "https://any"), Some("*"));
    }
}
