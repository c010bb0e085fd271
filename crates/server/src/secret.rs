//! The server secret decoy credentials are derived from (`<data_dir>/auth-secret`): 32 random
//! bytes made on first start, readable by the server's user only, and kept so that the salt
//! offered for an unknown name stays the same across restarts, as a real account's does.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use herald_sasl::DecoySecret;

/// The file's name in the data directory.
pub const FILE: &str = "auth-secret";

/// Reads the secret, or creates it (mode 0600) when the data directory has none yet.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<DecoySecret> {
    let path = data_dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice()) else {
                bail!("{} must hold exactly 32 bytes; delete it to make a new one", path.display())
            };
            Ok(DecoySecret::new(bytes))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
            let bytes: [u8; 32] = rand::random();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path).with_context(|| format!("cannot create {}", path.display()))?;
            file.write_all(&bytes).and_then(|()| file.sync_all()).with_context(|| format!("cannot write {}", path.display()))?;
            tracing::info!(target: "notification", path = %path.display(), "created the authentication secret");
            Ok(DecoySecret::new(bytes))
        }
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(first.credentials("ghost", 4096), again.credentials("ghost", 4096));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by the owner only");
        }
        std::fs::write(dir.path().join(FILE), b"short").unwrap();
        assert!(load_or_create(dir.path()).unwrap_err().to_string().contains("32 bytes"));
    }
}
