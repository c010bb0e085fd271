//! The agent desktop: a browser app of plain JavaScript modules, embedded in the binary (every
//! file under `assets/`, by `build.rs`) and served on the REST listener at `/desktop/`, so the page
//! and the web services share an origin. `/desktop/config.json` tells the page where this node's
//! notification service listens; a desktop failing over asks the other node the same question.
//!
//! The files are served as they are: no build step, nothing fetched at run time. Each answer
//! carries a strong `ETag` (the file's hash, computed once) and `Cache-Control: no-cache`, so a
//! browser revalidates and an upgraded server is never shadowed by a stale cached module; and a
//! Content-Security-Policy that allows scripts and styles from the page's own origin only.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Where the desktop is served.
pub const DESKTOP_PATH: &str = "/desktop/";

/// The notification transport a desktop uses unless the person signing in picks the other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// XEP-0124/0206 long polling at `/http-bind/` (what Finesse desktops use).
    #[default]
    Bosh,
    /// RFC 7395 at `/ws/`.
    Websocket,
}

/// What `/desktop/config.json` tells the page about this node. The page combines it with the
/// host name it reached the node by (the server cannot know which name that was).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesktopSettings {
    /// The HTTPS port of the notification service (BOSH and WebSocket), 7443 by default.
    pub notification_port: u16,
    /// The BOSH path (`/http-bind/`).
    pub bosh_path: String,
    /// The WebSocket path (`/ws/`).
    pub websocket_path: String,
    /// The transport the sign-in form starts on.
    pub transport: Transport,
    /// BOSH `wait` the page asks for, seconds (Finesse's CAXL asks 30).
    pub bosh_wait_secs: u32,
    /// Seconds between the page's XMPP pings (20, as Finesse 12.5 desktops).
    pub ping_secs: u32,
    /// Lines the client log keeps before dropping the oldest (the buffer is also capped at
    /// 1.5 MiB of escaped text, as Finesse's).
    pub log_lines: u32,
    /// Seconds between two drift and round-trip measurements against `SystemInfo`.
    pub drift_secs: u32,
    /// Serve the files from this directory, read at each request, instead of the copies built
    /// into the binary: for working on the desktop without rebuilding the server.
    #[serde(skip)]
    pub assets_dir: Option<PathBuf>,
}

impl DesktopSettings {
    /// The settings for a notification service on `notification_port` with Herald's defaults.
    pub fn new(notification_port: u16) -> Self {
        Self {
            notification_port,
            bosh_path: "/http-bind/".into(),
            websocket_path: "/ws/".into(),
            transport: Transport::Bosh,
            bosh_wait_secs: 30,
            ping_secs: 20,
            log_lines: 10_000,
            drift_secs: 600,
            assets_dir: None,
        }
    }
}

/// One embedded file ready to serve.
struct Asset {
    bytes: Bytes,
    content_type: &'static str,
    etag: HeaderValue,
}

/// The served files by path below `/desktop/`, and the settings as JSON.
struct Site {
    assets: HashMap<&'static str, Asset>,
    config: Vec<u8>,
    from_disk: Option<PathBuf>,
}

/// The routes: `/desktop` (redirect), `/desktop/`, `/desktop/config.json`, `/desktop/<file>`.
pub fn router(settings: &DesktopSettings) -> Router {
    let assets = ASSETS
        .iter()
        .map(|(path, bytes)| (*path, Asset { bytes: Bytes::from_static(bytes), content_type: content_type(path), etag: etag_of(bytes) }))
        .collect();
    let config = serde_json::to_vec(settings).unwrap_or_default();
    let site = Arc::new(Site { assets, config, from_disk: settings.assets_dir.clone() });
    Router::new()
        .route("/desktop", get(|| async { Redirect::permanent(DESKTOP_PATH) }))
        .route(DESKTOP_PATH, get(index))
        .route("/desktop/config.json", get(config_json))
        .route("/desktop/{*path}", get(file))
        .with_state(site)
}

/// The paths of the embedded files (the tests check that every file under `assets/` is one).
pub fn asset_paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|(path, _)| *path)
}

async fn index(State(site): State<Arc<Site>>, headers: HeaderMap) -> Response {
    serve(&site, "index.html", &headers).await
}

async fn file(State(site): State<Arc<Site>>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&site, &path, &headers).await
}

async fn config_json(State(site): State<Arc<Site>>) -> Response {
    let mut response = (StatusCode::OK, site.config.clone()).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The file at `path`, a `304` when the browser's copy is current, or a `404`.
async fn serve(site: &Site, path: &str, headers: &HeaderMap) -> Response {
    if let Some(dir) = &site.from_disk {
        return match read_from(dir, path).await {
            Some(bytes) => {
                let etag = etag_of(&bytes);
                respond(&Asset { bytes: Bytes::from(bytes), content_type: content_type(path), etag }, headers)
            }
            None => not_found(),
        };
    }
    match site.assets.get(path) {
        Some(asset) => respond(asset, headers),
        None => not_found(),
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "Not found\n").into_response()
}

/// `path` under `dir`, when it is a plain relative path (no `..`, no hidden or odd names).
async fn read_from(dir: &std::path::Path, path: &str) -> Option<Vec<u8>> {
    let plain =
        |part: &str| !part.is_empty() && !part.starts_with('.') && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !path.split('/').all(plain) {
        return None;
    }
    let file = dir.join(path);
    tokio::task::spawn_blocking(move || std::fs::read(file).ok()).await.ok().flatten()
}

/// The answer for `asset`, with its caching and security headers.
fn respond(asset: &Asset, headers: &HeaderMap) -> Response {
    let current = headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == asset.etag.as_bytes());
    let mut response =
        if current { StatusCode::NOT_MODIFIED.into_response() } else { (StatusCode::OK, asset.bytes.clone()).into_response() };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::ETAG, asset.etag.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self' https: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    response
}

/// The media type browsers need for a file (modules must be served as JavaScript).
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// A strong `ETag` for `bytes`.
fn etag_of(bytes: &[u8]) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{:016x}\"", fnv1a(bytes))).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// FNV-1a, 64 bits: enough to tell two versions of a file apart for `ETag`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}
