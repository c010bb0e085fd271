//! TLS configuration: a configured certificate and key, or a self-signed pair generated into the
//! data directory on first start and reused afterwards. rustls with the ring provider, chosen
//! explicitly rather than through process-wide state.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The PEM data is not a usable certificate chain or private key.
    #[error("{path}: {reason}")]
    BadPem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Generating the self-signed certificate failed.
    #[error("generating a self-signed certificate failed: {0}")]
    Generate(String),
    /// rustls refused the certificate and key.
    #[error("the certificate and key do not form a usable TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Where the certificate and key live.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io { path: path.to_owned(), source }
}

/// Loads `configured` if given; otherwise uses `<data_dir>/tls/{cert,key}.pem`, generating a
/// self-signed certificate for `domain` (and `localhost`) there when absent.
pub fn load_or_generate(configured: Option<TlsFiles>, data_dir: &Path, domain: &str) -> Result<(Arc<ServerConfig>, TlsFiles), TlsError> {
    let files = match configured {
        Some(files) => files,
        None => {
            let dir = data_dir.join("tls");
            let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
            if !files.cert.exists() || !files.key.exists() {
                std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
                let names = vec![domain.to_owned(), "localhost".to_owned(), format!("pubsub.{domain}")];
                let generated = rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
                std::fs::write(&files.cert, generated.cert.pem()).map_err(io_err(&files.cert))?;
                std::fs::write(&files.key, generated.signing_key.serialize_pem()).map_err(io_err(&files.key))?;
                tracing::info!(cert = %files.cert.display(), "generated a self-signed TLS certificate for {domain}");
            }
            files
        }
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::BadPem { path: files.cert.clone(), reason: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::BadPem { path: files.cert.clone(), reason: "no certificate found".into() });
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsError::BadPem { path: files.key.clone(), reason: e.to_string() })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok((Arc::new(config), files))
}
