//! The log bundle (`GET /admin/collect-logs?since=T`): one `.tar.gz` with what a diagnosis needs — every file
//! under `<data_dir>/logs/` (rotated ones too), the client logs, the close records (JSON lines),
//! the status and the configuration with its secrets removed. Never the database, the
//! authentication secret, a token or a TLS key: only those two directories are walked, and even
//! there such files are skipped.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use herald_store::CloseRecord;

/// Whether a key names a secret: its value is masked.
fn secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "key", "cert", "hash"].iter().any(|word| key.contains(word))
}

/// Replaces the value of every secret-like key (`password`, `secret`, `token`, `key`, `cert`,
/// `hash`) at any depth with `(removed)`, and the password of any URL; absent values stay null.
pub fn mask(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if secret_key(key) {
                    if !v.is_null() {
                        *v = serde_json::Value::String("(removed)".into());
                    }
                } else {
                    mask(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask),
        serde_json::Value::String(text) => {
            if let Some(masked) = without_url_password(text) {
                *text = masked;
            }
        }
        _ => {}
    }
}

/// `scheme://user:password@host/…` with the password masked (a database URL such as
/// `store.url` carries one), in the user-info (which ends at the last `@` before the query, so a
/// raw `/` in a password is still masked) and in a `password=` query parameter; `None` when
/// `text` holds no password.
fn without_url_password(text: &str) -> Option<String> {
    let (scheme, rest) = text.split_once("://")?;
    let (head, tail) = rest.split_at(rest.find(['?', '#']).unwrap_or(rest.len()));
    let mut changed = false;
    let head = match head.rfind('@').and_then(|at| Some((head[..at].split_once(':')?.0, &head[at..]))) {
        Some((user, host)) => {
            changed = true;
            format!("{user}:(removed){host}")
        }
        None => head.to_owned(),
    };
    let (query, fragment) = tail.split_at(tail.find('#').unwrap_or(tail.len()));
    let query = query
        .split('&')
        .map(|pair| {
            let (lead, pair) = pair.strip_prefix('?').map_or(("", pair), |p| ("?", p));
            match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                    changed = true;
                    format!("{lead}{name}=(removed)")
                }
                _ => format!("{lead}{pair}"),
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    changed.then(|| format!("{scheme}://{head}{query}{fragment}"))
}

/// `config` (any serialisable configuration) as pretty JSON with every secret masked.
pub fn sanitized_json(config: &impl serde::Serialize) -> String {
    let mut value = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    mask(&mut value);
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// Files never bundled, wherever they are.
fn forbidden(name: &str) -> bool {
    name.ends_with(".token")
        || name == "auth-secret"
        || name.ends_with(".db")
        || name.contains(".db-")
        || name.ends_with(".pem")
        || name.ends_with(".key")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            files_under(&entry.path(), out);
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}

fn append(tar: &mut tar::Builder<impl std::io::Write>, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut head = tar::Header::new_gnu();
    head.set_size(bytes.len() as u64);
    head.set_mode(0o600);
    head.set_mtime(crate::report::now_secs());
    head.set_cksum();
    tar.append_data(&mut head, name, bytes)
}

/// The bundle: the files under each `(prefix, dir)` modified since `since` (named
/// `prefix/relative path`), the records as JSON lines, the status and the configuration.
pub(crate) fn build(
    dirs: &[(String, PathBuf)],
    since: SystemTime,
    records: &[CloseRecord],
    status: &str,
    config: &str,
) -> std::io::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (prefix, dir) in dirs {
        let mut files = Vec::new();
        files_under(dir, &mut files);
        files.sort();
        for path in files {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            if forbidden(name) {
                continue;
            }
            let recent = std::fs::metadata(&path).and_then(|m| m.modified()).is_ok_and(|m| m >= since);
            let Ok(relative) = path.strip_prefix(dir) else { continue };
            if recent {
                // A file may rotate away between the listing and the read: skip it then.
                let _ = tar.append_path_with_name(&path, Path::new(prefix).join(relative));
            }
        }
    }
    let mut lines = Vec::new();
    for r in records {
        serde_json::to_writer(&mut lines, &record_json(r)).map_err(std::io::Error::other)?;
        lines.write_all(b"\n")?;
    }
    append(&mut tar, "close-records.jsonl", &lines)?;
    append(&mut tar, "status.json", status.as_bytes())?;
    append(&mut tar, "config.json", config.as_bytes())?;
    tar.into_inner()?.finish()
}

/// A close record as JSON (also the offline doctor's and `herald ctl`'s shape).
pub fn record_json(r: &CloseRecord) -> serde_json::Value {
    serde_json::json!({
        "user": r.user, "jid": r.jid, "transport": r.transport, "remote": r.remote,
        "opened_ms": r.opened_ms, "closed_ms": r.closed_ms, "cause": r.cause,
        "last_request_ms": r.last_request_ms, "stanzas_sent": r.stanzas_sent, "queued": r.queued,
        "dropped": r.dropped, "bytes_sent": r.bytes_sent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let mut v = serde_json::json!({"auth": {"admin_password": "pw", "rounds": 3}, "tls": {"key": "/k", "cert": null},
            "users": [{"api_token": "t"}], "domain": "x"});
        mask(&mut v);
        assert_eq!(v["auth"]["admin_password"], "(removed)");
        assert_eq!(v["auth"]["rounds"], 3);
        assert_eq!(v["tls"]["key"], "(removed)");
        assert!(v["tls"]["cert"].is_null());
        assert_eq!(v["users"][0]["api_token"], "(removed)");
        assert_eq!(v["domain"], "x");
    }

    #[test]
    fn url_passwords_are_masked_and_the_rest_kept() {
        let mut v = serde_json::json!({"store": {"url": "postgres://herald:s3cr%40t@db.example:5432/herald?sslmode=require"},
            "other": "postgres://herald@db/herald", "plain": "a:b@c", "site": "https://example.com/a@b"});
        mask(&mut v);
        assert_eq!(v["store"]["url"], "postgres://herald:(removed)@db.example:5432/herald?sslmode=require");
        assert_eq!(v["other"], "postgres://herald@db/herald", "no password, nothing to mask");
        assert_eq!(v["plain"], "a:b@c");
        assert_eq!(v["site"], "https://example.com/a@b", "an @ after the host is not a password");
        let mut v = serde_json::json!({"slash": "postgres://u:pa/ss@db/herald", "query": "postgres://herald@db/herald?sslmode=disable&password=x#f"});
        mask(&mut v);
        assert_eq!(v["slash"], "postgres://u:(removed)@db/herald", "a raw / in the password is masked too");
        assert_eq!(v["query"], "postgres://herald@db/herald?sslmode=disable&password=(removed)#f");
    }

    #[test]
    fn secret_files_are_never_bundled() {
        for name in ["admin.token", "sim.token", "auth-secret", "herald.db", "herald.db-wal", "key.pem", "server.key"] {
            assert!(forbidden(name), "{name}");
        }
        assert!(!forbidden("info.log.1"));
    }
}
