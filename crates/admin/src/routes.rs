//! The admin routes (plain HTTP, loopback by default): status, the session listing, kicking a
//! session, debug logging on and off, the log bundle, the doctor and `/metrics`. Every route
//! but `/metrics` needs `Authorization: Bearer <token>`, the token written fresh at each start
//! to `<data_dir>/admin.token` (owner-only). `herald ctl` is its client ([`crate::client`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use herald_store::SessionRecordStore as _;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use crate::{AdminState, bundle, report};

/// What `herald ctl logging enable` answers: debug logging costs.
pub const DEBUG_WARNING: &str = "Debug logging is on: it writes every stanza and request to logs/*/debug.log and slows the server \
     under load. Turn it off with `herald ctl logging disable` once the problem is captured (a restart also turns it off).";

type Shared = State<Arc<AdminState>>;

/// The admin routes over `state`.
pub fn router(state: Arc<AdminState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/admin/status", get(status_route))
        .route("/admin/sessions", get(sessions))
        .route("/admin/logging", get(logging).post(logging))
        .route("/admin/kick", post(kick))
        .route("/admin/collect-logs", get(collect))
        .route("/admin/doctor", get(doctor))
        .with_state(state)
}

/// The 401 for a request without the admin token (compared in constant time); none when it
/// has it.
pub(crate) fn refusal(state: &AdminState, headers: &HeaderMap) -> Option<Response> {
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token) if bool::from(token.trim().as_bytes().ct_eq(state.token.as_bytes())) => None,
        _ => Some((StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "admin token required\n").into_response()),
    }
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response {
    let body = serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body + "\n").into_response()
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    json(status, &serde_json::json!({ "error": message }))
}

/// Sets the contact-center gauges from the machine and the cluster's from the cluster, then encodes every family (no token: a
/// scraper holds none).
async fn metrics(State(state): Shared) -> Response {
    let metrics = state.core.metrics();
    if let Some(cc) = &state.cti {
        cc.refresh_metrics();
    }
    if let Some(cluster) = &state.cluster {
        cluster.refresh_metrics();
    }
    let body = metrics.encode();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

async fn status_route(State(state): Shared, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    json(StatusCode::OK, &report::report_with_cluster(&state).await)
}

/// `?user=ID`: one account's sessions only.
#[derive(Deserialize)]
struct UserQuery {
    user: Option<String>,
}

async fn sessions(State(state): Shared, headers: HeaderMap, Query(q): Query<UserQuery>) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    json(StatusCode::OK, &report::sessions(&state.core, q.user.as_deref()))
}

/// `?action=enable|disable|status` (GET: status).
#[derive(Deserialize)]
struct LoggingQuery {
    action: Option<String>,
}

async fn logging(State(state): Shared, method: axum::http::Method, headers: HeaderMap, Query(q): Query<LoggingQuery>) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    let action = q.action.as_deref().unwrap_or("status");
    let wanted = match (method == axum::http::Method::POST, action) {
        (_, "status") => None,
        (true, "enable") => Some(true),
        (true, "disable") => Some(false),
        (false, "enable" | "disable") => return error(StatusCode::METHOD_NOT_ALLOWED, "enable and disable are POSTs"),
        _ => return error(StatusCode::BAD_REQUEST, "action must be enable, disable or status"),
    };
    if let Some(on) = wanted {
        if let Err(err) = state.log.set_debug(on) {
            return error(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string());
        }
        tracing::info!(target: "notification", "debug logging {} through the admin API", if on { "enabled" } else { "disabled" });
    }
    let debug = state.log.debug();
    let warning = debug.then_some(DEBUG_WARNING);
    json(StatusCode::OK, &serde_json::json!({ "debug": debug, "warning": warning }))
}

/// `?jid=user@domain/resource`.
#[derive(Deserialize)]
struct KickQuery {
    jid: Option<String>,
}

async fn kick(State(state): Shared, headers: HeaderMap, Query(q): Query<KickQuery>) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    let Some(raw) = q.jid else { return error(StatusCode::BAD_REQUEST, "jid is required") };
    let Ok(jid) = raw.parse::<herald_proto::FullJid>() else { return error(StatusCode::BAD_REQUEST, "jid must be a full JID") };
    if state.core.kick(&jid) {
        tracing::info!(target: "notification", %jid, "session kicked through the admin API");
        json(StatusCode::OK, &serde_json::json!({ "kicked": jid.to_string() }))
    } else {
        error(StatusCode::NOT_FOUND, "no such session")
    }
}

/// `?user=ID&since=T&json=true`: `T` in epoch seconds.
#[derive(Deserialize)]
struct DoctorQuery {
    user: Option<String>,
    since: Option<u64>,
    json: Option<bool>,
}

/// The diagnosis of the disconnects `q` selects, from the close records, the info logs and
/// the live services; text, or JSON with `json=true`.
async fn doctor(State(state): Shared, headers: HeaderMap, Query(q): Query<DoctorQuery>) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    let query = herald_doctor::Query { user: q.user, since_ms: q.since.unwrap_or(0).saturating_mul(1000) };
    let services = report::doctor_services(&report::report(&state));
    let now_ms = report::now_secs().saturating_mul(1000);
    let evidence = match crate::evidence::gather(&state.data_dir, &state.store, &query, services, true, now_ms).await {
        Ok(evidence) => evidence,
        Err(err) => return error(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot gather the evidence: {err}")),
    };
    let diagnosis = herald_doctor::diagnose(&evidence, &query);
    if q.json.unwrap_or(false) {
        (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], diagnosis.to_json() + "\n").into_response()
    } else {
        (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], diagnosis.to_text()).into_response()
    }
}

/// Close records put in a bundle at most.
const MAX_RECORDS: usize = 100_000;

/// `?since=T`: only files modified and records closed since `T` (epoch seconds).
#[derive(Deserialize)]
struct Since {
    since: Option<u64>,
}

/// The log bundle ([`bundle`]), built off the runtime's threads.
async fn collect(State(state): Shared, headers: HeaderMap, Query(q): Query<Since>) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    let since_secs = q.since.unwrap_or(0);
    let records = match crate::sendable(state.store.close_records(None, since_secs.saturating_mul(1000), MAX_RECORDS)).await {
        Ok(records) => records,
        Err(err) => return error(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot read the close records: {err}")),
    };
    let status = serde_json::to_string_pretty(&report::report_with_cluster(&state).await).unwrap_or_default();
    let config = state.config_json.clone();
    let dirs = vec![("logs".to_owned(), state.data_dir.join("logs")), ("client-logs".to_owned(), state.client_log_dir.clone())];
    let since = SystemTime::UNIX_EPOCH + Duration::from_secs(since_secs);
    let built = tokio::task::spawn_blocking(move || bundle::build(&dirs, since, &records, &status, &config)).await;
    match built {
        Ok(Ok(bytes)) => {
            let name = format!("attachment; filename=\"herald-logs-{}.tar.gz\"", report::now_secs());
            ([(header::CONTENT_TYPE, "application/gzip".to_owned()), (header::CONTENT_DISPOSITION, name)], bytes).into_response()
        }
        Ok(Err(err)) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot build the bundle: {err}")),
        Err(err) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot build the bundle: {err}")),
    }
}

#[cfg(test)]
mod tests;
