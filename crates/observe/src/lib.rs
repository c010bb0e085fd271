//! Herald's logs, laid out as the seed's troubleshooting expects: `logs/notification/info.log`
//! always, `logs/notification/debug.log` when debug logging is on, and a copy on standard error.
//! Lines carry a UTC timestamp, the level, the target and the message.

mod rotate;

use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::fmt::time::UtcTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

pub use rotate::{RotatingFile, Rotation};

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A log directory or file could not be created.
    #[error("cannot open log file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A global subscriber was already installed.
    #[error("logging was already initialised")]
    AlreadyInitialised,
}

fn open_log(path: &Path, rotation: Rotation) -> Result<RotatingFile, LogError> {
    let err = |source| LogError::Io { path: path.display().to_string(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    RotatingFile::open(path, rotation).map_err(err)
}

/// Installs the global subscriber. `debug` adds `debug.log` with every debug line of Herald's
/// crates (the seed warns that debug logging costs; so does ours). `RUST_LOG` overrides the
/// standard-error filter. Each file rotates by size under `rotation`.
pub fn init(log_dir: &Path, debug: bool, rotation: Rotation) -> Result<(), LogError> {
    let herald_only = |level: LevelFilter| {
        Targets::new().with_target("herald", level).with_target("notification", level).with_target("webservices", level)
    };
    let timer = UtcTime::rfc_3339();
    let info = fmt::layer()
        .with_writer(Mutex::new(open_log(&log_dir.join("notification/info.log"), rotation)?))
        .with_ansi(false)
        .with_timer(timer.clone())
        .with_filter(herald_only(LevelFilter::INFO));
    let debug_layer = if debug {
        Some(
            fmt::layer()
                .with_writer(Mutex::new(open_log(&log_dir.join("notification/debug.log"), rotation)?))
                .with_ansi(false)
                .with_timer(timer.clone())
                .with_filter(herald_only(LevelFilter::DEBUG)),
        )
    } else {
        None
    };
    let stderr_filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = fmt::layer().with_writer(std::io::stderr).with_timer(timer).with_filter(stderr_filter);
    tracing_subscriber::registry().with(info).with(debug_layer).with(stderr).try_init().map_err(|_| LogError::AlreadyInitialised)
}
