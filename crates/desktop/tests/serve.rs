//! The desktop's routes as a browser meets them: every file under `assets/` is embedded and
//! served with a media type a module script accepts, the security and caching headers, `304` for
//! a current copy, `404` for anything else (including paths that climb out of the directory when
//! serving from disk), the redirect to `/desktop/`, and `config.json`.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use herald_desktop::{DesktopSettings, Transport, router};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

fn assets_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets")
}

/// Every file below `dir`, as paths relative to it with `/`.
fn files_below(dir: &std::path::Path, prefix: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            files_below(&path, &format!("{prefix}{name}/"), out);
        } else {
            out.push(format!("{prefix}{name}"));
        }
    }
}

async fn get(settings: &DesktopSettings, uri: &str, if_none_match: Option<&str>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::get(uri);
    if let Some(tag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    let response = router(settings).oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

#[tokio::test]
async fn every_asset_is_embedded_and_served_with_its_type_and_headers() {
    let mut on_disk = Vec::new();
    files_below(&assets_dir(), "", &mut on_disk);
    on_disk.sort();
    let mut embedded: Vec<String> = herald_desktop::asset_paths().map(str::to_owned).collect();
    embedded.sort();
    assert_eq!(embedded, on_disk, "build.rs embeds exactly the files under assets/");
    assert!(embedded.iter().any(|p| p == "index.html") && embedded.iter().any(|p| p == "js/app.js"));
    let settings = DesktopSettings::new(7443);
    for path in &embedded {
        let (status, headers, body) = get(&settings, &format!("/desktop/{path}"), None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body, std::fs::read(assets_dir().join(path)).unwrap(), "{path} is served as it is");
        let kind = headers[header::CONTENT_TYPE].to_str().unwrap();
        if path.ends_with(".js") {
            assert_eq!(kind, "text/javascript; charset=utf-8", "module scripts need a JavaScript type");
        }
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    }
}

#[tokio::test]
async fn the_index_answers_at_the_directory_and_a_current_copy_gets_304() {
    let settings = DesktopSettings::new(7443);
    let (status, headers, body) = get(&settings, "/desktop/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(String::from_utf8_lossy(&body).contains("js/app.js"));
    let tag = headers[header::ETAG].to_str().unwrap().to_owned();
    let (again, _, body) = get(&settings, "/desktop/", Some(&tag)).await;
    assert_eq!((again, body.len()), (StatusCode::NOT_MODIFIED, 0));
    let (stale, _, _) = get(&settings, "/desktop/", Some("\"0000\"")).await;
    assert_eq!(stale, StatusCode::OK, "another version is sent in full");
    let (redirect, headers, _) = get(&settings, "/desktop", None).await;
    assert_eq!(redirect, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(headers[header::LOCATION], "/desktop/");
}

#[tokio::test]
async fn unknown_files_are_404_and_config_json_describes_the_node() {
    let mut settings = DesktopSettings::new(17443);
    settings.transport = Transport::Websocket;
    for uri in ["/desktop/nope.js", "/desktop/js/", "/desktop/js/../../Cargo.toml", "/desktop/%2e%2e/Cargo.toml"] {
        assert_eq!(get(&settings, uri, None).await.0, StatusCode::NOT_FOUND, "{uri}");
    }
    let (status, headers, body) = get(&settings, "/desktop/config.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let config: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(config["notificationPort"], 17443);
    assert_eq!(config["transport"], "websocket");
    assert_eq!(config["boshPath"], "/http-bind/");
    assert_eq!(config["websocketPath"], "/ws/");
    assert_eq!(config["pingSecs"], 20);
    assert!(config.get("assetsDir").is_none(), "where files are read from is not the page's business");
}

#[tokio::test]
async fn serving_from_disk_reads_each_request_and_stays_inside_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("js")).unwrap();
    std::fs::write(dir.path().join("index.html"), "<p>one</p>").unwrap();
    std::fs::write(dir.path().join("js/app.js"), "export {};").unwrap();
    std::fs::write(dir.path().join(".secret"), "no").unwrap();
    let outside = dir.path().parent().unwrap().join(format!("{}-outside.js", dir.path().file_name().unwrap().to_string_lossy()));
    std::fs::write(&outside, "no").unwrap();
    let mut settings = DesktopSettings::new(7443);
    settings.assets_dir = Some(dir.path().to_owned());
    assert_eq!(get(&settings, "/desktop/", None).await.2, b"<p>one</p>");
    std::fs::write(dir.path().join("index.html"), "<p>two</p>").unwrap();
    let (status, headers, body) = get(&settings, "/desktop/", None).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, b"<p>two</p>".as_slice()), "an edit shows at the next request");
    assert_eq!(get(&settings, "/desktop/", headers[header::ETAG].to_str().ok()).await.0, StatusCode::NOT_MODIFIED);
    assert_eq!(get(&settings, "/desktop/js/app.js", None).await.0, StatusCode::OK);
    let escape = format!("/desktop/..%2F{}", outside.file_name().unwrap().to_string_lossy());
    for uri in ["/desktop/.secret", "/desktop/js/../.secret", escape.as_str(), "/desktop/missing.js"] {
        assert_eq!(get(&settings, uri, None).await.0, StatusCode::NOT_FOUND, "{uri}");
    }
    std::fs::remove_file(outside).unwrap();
}
