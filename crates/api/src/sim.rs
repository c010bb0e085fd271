//! The simulator's endpoints, with `Authorization: Bearer <token>` (the server's token, compared
//! in constant time): `POST /herald/sim/call?queue=Q&from=ANI&var=name%3Dvalue…` puts a call
//! into a queue of the running built-in simulator (what `herald sim call` sends);
//! `POST /herald/sim/link?state=down|closed|up` drops, closes or restores the simulator's link
//! to the web services (what `herald sim link` sends), answering the link's state.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use herald_cc::ApiError;
use herald_cti::sim::{InjectedCall, SimError, SimLink, Simulator};
use herald_xml::Element;
use subtle::ConstantTimeEq;

use crate::driver::CtiHandle;
use crate::routes::error_answer;

/// The path of the call-injection endpoint.
pub const SIM_CALL_PATH: &str = "/herald/sim/call";

/// The path of the endpoint that drops, closes or restores the simulator's link.
pub const SIM_LINK_PATH: &str = "/herald/sim/link";

struct SimState {
    handle: CtiHandle<Simulator>,
    token: String,
}

/// The router of the simulator's endpoints (call injection, link), to be merged into the API listener's router.
pub fn sim_router(handle: CtiHandle<Simulator>, token: String) -> Router {
    Router::new().route(SIM_CALL_PATH, post(inject)).route(SIM_LINK_PATH, post(link)).with_state(Arc::new(SimState { handle, token }))
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space, `%XX` a byte;
/// a malformed escape is kept as it is); invalid UTF-8 is replaced.
pub(crate) fn decode_component(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                match hex.and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The call a query string asks for, or the parameter that is wrong.
pub(crate) fn injected_call(query: &str) -> Result<InjectedCall, ApiError> {
    let mut call = InjectedCall::default();
    let mut queue = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode_component(value);
        match decode_component(key).as_str() {
            "queue" => queue = Some(value),
            "from" if !value.is_empty() => call.from = Some(value),
            "from" => {}
            "var" => {
                let (name, val) = value.split_once('=').ok_or_else(|| ApiError::invalid_input("var must be name=value", value.clone()))?;
                if name.is_empty() {
                    return Err(ApiError::invalid_input("var must be name=value", value.clone()));
                }
                call.variables.push((name.to_owned(), val.to_owned()));
            }
            other => return Err(ApiError::invalid_input("Unknown parameter", other.to_owned())),
        }
    }
    call.queue = queue.filter(|q| !q.is_empty()).ok_or_else(|| ApiError::parameter_missing("queue"))?;
    Ok(call)
}

/// The word for a link state in `?state=` and in the answer (`Silent` is `down`).
pub(crate) fn link_name(link: SimLink) -> &'static str {
    match link {
        SimLink::Up => "up",
        SimLink::Silent => "down",
        SimLink::Closed => "closed",
    }
}

/// The link state a query string asks for, or the parameter that is wrong.
pub(crate) fn requested_link(query: &str) -> Result<SimLink, ApiError> {
    let mut state = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match decode_component(key).as_str() {
            "state" => state = Some(decode_component(value)),
            other => return Err(ApiError::invalid_input("Unknown parameter", other.to_owned())),
        }
    }
    match state.as_deref() {
        None | Some("") => Err(ApiError::parameter_missing("state")),
        Some("up") => Ok(SimLink::Up),
        Some("down") => Ok(SimLink::Silent),
        Some("closed") => Ok(SimLink::Closed),
        Some(other) => Err(ApiError::invalid_input("state must be down, closed or up", other.to_owned())),
    }
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"))], body).into_response()
}

fn refuse(error: &ApiError) -> Response {
    let answer = error_answer(error);
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = xml(status, answer.body.unwrap_or_default());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"Herald simulator\""));
    }
    response
}

/// Whether the request carries the server's token.
fn authorised(state: &SimState, request: &Request) -> bool {
    let presented = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    !state.token.is_empty() && presented.is_some_and(|p| bool::from(p.trim().as_bytes().ct_eq(state.token.as_bytes())))
}

async fn link(State(state): State<Arc<SimState>>, request: Request) -> Response {
    if !authorised(&state, &request) {
        return refuse(&ApiError::unauthenticated());
    }
    let link = match requested_link(request.uri().query().unwrap_or_default()) {
        Ok(link) => link,
        Err(error) => return refuse(&error),
    };
    let current = state
        .handle
        .with(move |sim, now| {
            sim.set_link(now, link);
            sim.link()
        })
        .await;
    tracing::info!(target: "webservices", state = link_name(current), "simulator link set");
    let body = Element::new("SimLink", "").with_child(Element::new("state", "").with_text(link_name(current)));
    xml(StatusCode::OK, body.to_xml())
}

async fn inject(State(state): State<Arc<SimState>>, request: Request) -> Response {
    if !authorised(&state, &request) {
        return refuse(&ApiError::unauthenticated());
    }
    let call = match injected_call(request.uri().query().unwrap_or_default()) {
        Ok(call) => call,
        Err(error) => return refuse(&error),
    };
    let queue = call.queue.clone();
    match state.handle.with(move |sim, now| sim.inject_call(now, call)).await {
        Ok(id) => {
            let body = Element::new("Call", "").with_child(Element::new("id", "").with_text(id.to_string()));
            tracing::info!(target: "webservices", queue, call = id, "simulated call injected");
            xml(StatusCode::ACCEPTED, body.to_xml())
        }
        Err(SimError::UnknownQueue(q)) => refuse(&ApiError::not_found(q)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_decode() {
        assert_eq!(decode_component("a+b%3Dc%26d"), "a b=c&d");
        assert_eq!(decode_component("%C3%A9"), "é");
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(decode_component("%zz%4"), "%zz%4");
        assert_eq!(decode_component("%+1"), "% 1", "a sign is not a hex digit");
        assert_eq!(decode_component("%FF"), "\u{FFFD}");
    }

    #[test]
    fn queries_become_calls() {
        let call = injected_call("queue=sales&from=5551234&var=callVariable1%3DChuck+Smith&var=user.acct%3D42%3Dx").unwrap();
        assert_eq!(call.queue, "sales");
        assert_eq!(call.from.as_deref(), Some("5551234"));
        assert_eq!(call.variables, vec![("callVariable1".into(), "Chuck Smith".into()), ("user.acct".into(), "42=x".into())]);
        assert_eq!(injected_call("queue=q").unwrap().from, None);
        assert_eq!(injected_call("").unwrap_err().status, 400);
        assert_eq!(injected_call("from=1").unwrap_err().status, 400);
        assert_eq!(injected_call("queue=q&var=novalue").unwrap_err().status, 400);
        assert_eq!(injected_call("queue=q&var=%3Dx").unwrap_err().status, 400);
        assert_eq!(injected_call("queue=q&colour=red").unwrap_err().status, 400);
    }

    #[test]
    fn queries_become_link_states() {
        assert_eq!(requested_link("state=up"), Ok(SimLink::Up));
        assert_eq!(requested_link("state=down"), Ok(SimLink::Silent));
        assert_eq!(requested_link("state=closed"), Ok(SimLink::Closed));
        for (query, title) in [
            ("", "Parameter Missing"),
            ("state=", "Parameter Missing"),
            ("state=sideways", "Invalid Input"),
            ("state=UP", "Invalid Input"),
            ("state=up&x=1", "Invalid Input"),
        ] {
            let error = requested_link(query).unwrap_err();
            assert_eq!((error.status, error.error_type.as_str()), (400, title), "{query}");
        }
        for link in [SimLink::Up, SimLink::Silent, SimLink::Closed] {
            assert_eq!(requested_link(&format!("state={}", link_name(link))), Ok(link), "names round-trip");
        }
    }
}
