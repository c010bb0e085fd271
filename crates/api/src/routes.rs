//! The Finesse REST listener's router: every method on `/finesse/api/…` is authenticated
//! (HTTP Basic), its body read up to the API's limit, handed to the contact center as a
//! [`RestCall`], and answered as Finesse answers (status, `application/xml` when there is a
//! body, none on 202, `requestId` echoed). CORS is the shared plumbing's (`herald_net::http`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use herald_cc::parse::MAX_BODY_BYTES;
use herald_cc::{ApiError, Method, RestAnswer, RestCall, documents, path};
use http_body_util::{BodyExt, Limited};

use crate::machine::now_ms;
use crate::service::{CcService, Inner};

/// The request header Finesse clients tag requests with, echoed on the answer.
pub const REQUEST_ID: &str = "requestId";

impl CcService {
    /// The router of the REST listener: `/finesse/api/{*rest}`, any method. Serve it with
    /// `herald_net::http::serve_http` (its settings' `max_body_bytes` at least
    /// [`MAX_BODY_BYTES`], its CORS origins those allowed to call the API).
    pub fn router(&self) -> Router {
        Router::new()
            .route(path::BASE, any(rest))
            .route(&format!("{}/", path::BASE), any(rest))
            .route(&format!("{}/{{*rest}}", path::BASE), any(rest))
            .with_state(self.inner.clone())
    }
}

/// The peer's address as the plumbing recorded it (unspecified when served without it).
pub(crate) fn source_of(request: &Request) -> IpAddr {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip())
}

fn header_text(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// An ApiErrors answer.
pub(crate) fn error_answer(error: &ApiError) -> RestAnswer {
    RestAnswer { status: error.status, body: Some(documents::api_errors_body(error).to_xml()) }
}

/// Turns an answer into a response: `application/xml` when there is a body, `requestId` echoed.
fn respond(answer: RestAnswer, request_id: Option<&HeaderValue>) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match answer.body {
        Some(body) if status != StatusCode::ACCEPTED => {
            ([(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"))], body).into_response()
        }
        _ => Body::empty().into_response(),
    };
    *response.status_mut() = status;
    if let Some(id) = request_id {
        response.headers_mut().insert(REQUEST_ID, id.clone());
    }
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Finesse\""));
    }
    response
}

fn method_of(method: &HttpMethod) -> Method {
    match *method {
        HttpMethod::GET | HttpMethod::HEAD => Method::Get,
        HttpMethod::PUT => Method::Put,
        HttpMethod::POST => Method::Post,
        HttpMethod::DELETE => Method::Delete,
        _ => Method::Other,
    }
}

/// Reads the body, refusing one over [`MAX_BODY_BYTES`] without reading it all.
async fn read_body(request: Request) -> Result<Vec<u8>, ApiError> {
    let too_large = || ApiError::invalid_input("The request body is too large", MAX_BODY_BYTES.to_string());
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    match Limited::new(request.into_body(), MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(_) => Err(ApiError::invalid_input("The request body could not be read", "")),
    }
}

/// Every request under `/finesse/api`.
async fn rest(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let route = route_of(request.uri().path());
    let request_id = request.headers().get(REQUEST_ID).cloned();
    let answer = answer(&inner, request, request_id.as_ref()).await;
    inner.core.metrics().rest_request(route, answer.status);
    respond(answer, request_id.as_ref())
}

/// The resource pattern of a request path, ids replaced (`User/{id}/Dialogs`), for the
/// `route` label of `herald_rest_requests_total`: a fixed set, `other` for anything else, so
/// that a client making up paths cannot grow the metric without bound.
pub(crate) fn route_of(path: &str) -> &'static str {
    let Some(rest) = path.strip_prefix(path::BASE) else { return "other" };
    let mut segments = rest.trim_matches('/').split('/');
    let parts: [Option<&str>; 5] = std::array::from_fn(|_| segments.next());
    match parts {
        [Some("User"), Some(_), None, ..] => "User/{id}",
        [Some("User"), Some(_), Some("Dialogs"), None, _] => "User/{id}/Dialogs",
        [Some("User"), Some(_), Some("ReasonCodes"), None, _] => "User/{id}/ReasonCodes",
        [Some("User"), Some(_), Some("ReasonCode"), Some(_), None] => "User/{id}/ReasonCode/{id}",
        [Some("User"), Some(_), Some("Queues"), None, _] => "User/{id}/Queues",
        [Some("User"), Some(_), Some("ClientLog"), None, _] => "User/{id}/ClientLog",
        [Some("Dialog"), Some(_), None, ..] => "Dialog/{id}",
        [Some("Team"), Some(_), None, ..] => "Team/{id}",
        [Some("Queue"), Some(_), None, ..] => "Queue/{id}",
        [Some("ReasonCodes"), None, ..] => "ReasonCodes",
        [Some("ReasonCode"), Some(_), None, ..] => "ReasonCode/{id}",
        [Some("SystemInfo"), None, ..] => "SystemInfo",
        _ => "other",
    }
}

/// Authenticates, reads and hands one request to the contact center: its answer.
async fn answer(inner: &Inner, request: Request, request_id: Option<&HeaderValue>) -> RestAnswer {
    let source = source_of(&request);
    let authorization = header_text(request.headers(), header::AUTHORIZATION);
    let caller = match inner.auth.authenticate(&inner.core, authorization.as_deref(), source).await {
        Ok(caller) => caller,
        Err(refusal) => return error_answer(&refusal.api_error()),
    };
    let target = request.uri().path_and_query().map_or_else(|| request.uri().path().to_owned(), |pq| pq.as_str().to_owned());
    let method = method_of(request.method());
    let content_type = header_text(request.headers(), header::CONTENT_TYPE);
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(error) => return error_answer(&error),
    };
    let id = request_id.and_then(|v| v.to_str().ok()).map(str::to_owned);
    let logged = tracing::enabled!(target: "webservices", tracing::Level::DEBUG).then(|| (method.name(), target.clone(), id.clone()));
    let call = RestCall { method, target, request_id: id, content_type, body };
    let answer = inner.machine.with(|cc| cc.handle_rest(now_ms(), &caller, call));
    if let Some((method, target, id)) = logged {
        tracing::debug!(target: "webservices", %source, caller, method, target, request_id = id.as_deref().unwrap_or(""), status = answer.status, "REST request");
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::route_of;

    #[test]
    fn routes_name_the_resource_pattern_never_the_ids() {
        for (path, route) in [
            ("/finesse/api/User/1001", "User/{id}"),
            ("/finesse/api/User/1001/", "User/{id}"),
            ("/finesse/api/User/1001/Dialogs", "User/{id}/Dialogs"),
            ("/finesse/api/User/1001/ReasonCode/12", "User/{id}/ReasonCode/{id}"),
            ("/finesse/api/User/1001/ClientLog", "User/{id}/ClientLog"),
            ("/finesse/api/Dialog/16777217", "Dialog/{id}"),
            ("/finesse/api/Team/5", "Team/{id}"),
            ("/finesse/api/ReasonCodes", "ReasonCodes"),
            ("/finesse/api/SystemInfo", "SystemInfo"),
            ("/finesse/api/User/1001/Dialogs/extra", "other"),
            ("/finesse/api/Whatever/1", "other"),
            ("/finesse/api", "other"),
            ("/elsewhere", "other"),
        ] {
            assert_eq!(route_of(path), route, "{path}");
        }
    }
}
