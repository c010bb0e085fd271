//! REST requests carried between nodes: a node that does not drive the CTI side hands each
//! `/finesse/api/…` and `/herald/sim/…` request to the node that does, over the cluster's bus,
//! and answers its client with what came back. The leader runs the request through the same
//! router it serves its own clients with, so a forwarded request is answered exactly as a direct
//! one (authentication, lock-out by the client's address, `requestId`, ApiErrors).

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use herald_cc::{ApiError, documents};
use http_body_util::{BodyExt, Limited};
use serde::{Deserialize, Serialize};

/// The bus message kind of a forwarded REST request.
pub(crate) const KIND: &str = "rest";

/// A request as it crosses the bus.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct WireRequest {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    /// Base64: a body may be any bytes.
    body: String,
    /// The client's address, which the leader's lock-out and logs see as the source.
    source: IpAddr,
}

/// An answer as it crosses the bus.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct WireResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// Headers that belong to one connection, not to the request (RFC 9110 §7.6.1).
fn hop_by_hop(name: &str) -> bool {
    ["connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "content-length"]
        .contains(&name.to_ascii_lowercase().as_str())
}

fn wire_headers(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !hop_by_hop(name.as_str()))
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect()
}

fn put_headers(target: &mut axum::http::HeaderMap, headers: Vec<(String, String)>) {
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            target.append(name, value);
        }
    }
}

/// An ApiErrors answer (the shape Finesse clients parse) with `status`.
pub(crate) fn api_error(error: &ApiError) -> Response<Body> {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(Body::from(documents::api_errors_body(error).to_xml()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    response
}

impl WireRequest {
    /// Reads `request` whole (its body up to `max_body` bytes).
    pub(crate) async fn read(request: Request<Body>, max_body: usize) -> Result<Self, Response<Body>> {
        let source = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip());
        let (parts, body) = request.into_parts();
        let bytes = match Limited::new(body, max_body).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return Err(api_error(&ApiError::invalid_input("The request body is too large or was cut off", max_body.to_string())));
            }
        };
        Ok(Self {
            method: parts.method.as_str().to_owned(),
            uri: parts.uri.to_string(),
            headers: wire_headers(&parts.headers),
            body: STANDARD.encode(&bytes),
            source,
        })
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// The request again, as the leader's router takes it (the client's address in
    /// `ConnectInfo`, as the listener would have put it).
    pub(crate) fn into_request(self) -> Option<Request<Body>> {
        let body = STANDARD.decode(self.body).ok()?;
        let mut request = Request::builder().method(self.method.as_str()).uri(self.uri.as_str()).body(Body::from(body)).ok()?;
        put_headers(request.headers_mut(), self.headers);
        request.extensions_mut().insert(ConnectInfo(SocketAddr::new(self.source, 0)));
        Some(request)
    }
}

impl WireResponse {
    /// Reads `response` whole.
    pub(crate) async fn read(response: Response<Body>) -> Self {
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        Self { status: parts.status.as_u16(), headers: wire_headers(&parts.headers), body: STANDARD.encode(&bytes) }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The answer for the client; an unreadable one becomes a 502 saying so.
    pub(crate) fn decode_response(bytes: &[u8]) -> Response<Body> {
        let Some(wire) = serde_json::from_slice::<Self>(bytes).ok() else {
            return api_error(&ApiError::new(502, "Bad Gateway", "The node driving the CTI side sent an unreadable answer", ""));
        };
        let body = STANDARD.decode(wire.body).unwrap_or_default();
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = StatusCode::from_u16(wire.status).unwrap_or(StatusCode::BAD_GATEWAY);
        put_headers(response.headers_mut(), wire.headers);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_crosses_the_bus_whole() {
        let mut request = Request::builder()
            .method("PUT")
            .uri("/finesse/api/User/1001?x=1")
            .header("authorization", "Basic MTAwMTpwdw==")
            .header("requestId", "r-7")
            .header("connection", "keep-alive")
            .body(Body::from(&b"<User><state>READY</state></User>"[..]))
            .unwrap();
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 9], 5555))));
        let wire = WireRequest::read(request, 1 << 20).await.unwrap();
        let again = WireRequest::decode(&wire.encode()).unwrap();
        assert_eq!(again, wire);
        let rebuilt = again.into_request().unwrap();
        assert_eq!(rebuilt.method(), "PUT");
        assert_eq!(rebuilt.uri(), "/finesse/api/User/1001?x=1");
        assert_eq!(rebuilt.headers()["requestid"], "r-7");
        assert!(rebuilt.headers().get("connection").is_none(), "hop-by-hop headers stay on their connection");
        let ConnectInfo(source) = rebuilt.extensions().get::<ConnectInfo<SocketAddr>>().copied().unwrap();
        assert_eq!(source.ip(), IpAddr::from([10, 0, 0, 9]));
        let body = rebuilt.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"<User><state>READY</state></User>");
    }

    #[tokio::test]
    async fn an_oversized_body_is_refused_with_an_api_error() {
        let request = Request::builder().uri("/finesse/api/User/1001").body(Body::from(vec![b'x'; 100])).unwrap();
        let refused = WireRequest::read(request, 10).await.unwrap_err();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn an_answer_crosses_back_with_status_headers_and_body() {
        let response = api_error(&ApiError::not_found("User 9"));
        let wire = WireResponse::read(response).await;
        let back = WireResponse::decode_response(&wire.encode());
        assert_eq!(back.status(), StatusCode::NOT_FOUND);
        assert_eq!(back.headers()["content-type"], "application/xml");
        let body = back.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("<ErrorData>User 9</ErrorData>"));
        assert_eq!(WireResponse::decode_response(b"garbage").status(), StatusCode::BAD_GATEWAY);
    }
}
