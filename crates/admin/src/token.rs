//! Control tokens: 32 random bytes (64 hex digits) written fresh at each start to a file under
//! the data directory, readable by the owner only — the admin API's `admin.token`, the
//! simulator's `sim.token`.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;

/// The admin API's token file, under the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// Writes a fresh random token to `data_dir/name` (mode 0600), replacing the previous one.
pub fn write_token(data_dir: &Path, name: &str) -> anyhow::Result<String> {
    let token: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    write_given_token(data_dir, name, token)
}

/// Writes `token` to `data_dir/name` (mode 0600), replacing the previous one: a token every
/// node of a cluster shares (the simulator's, which any node forwards to the one running it).
pub fn write_given_token(data_dir: &Path, name: &str, token: String) -> anyhow::Result<String> {
    let path = data_dir.join(name);
    let _ = std::fs::remove_file(&path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(token.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_token_is_new_and_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_token(dir.path(), ADMIN_TOKEN_FILE).unwrap();
        let second = write_token(dir.path(), ADMIN_TOKEN_FILE).unwrap();
        assert_ne!(first, second);
        assert_eq!(second.len(), 64);
        assert_eq!(std::fs::read_to_string(dir.path().join(ADMIN_TOKEN_FILE)).unwrap(), second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(ADMIN_TOKEN_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(write_token(&dir.path().join("missing"), ADMIN_TOKEN_FILE).is_err());
    }
}
