//! Herald's logs, laid out as the seed's troubleshooting expects: `logs/notification/info.log`
//! and `logs/webservices/info.log` always, their `debug.log` when debug logging is on, and a copy
//! on standard error.
//! Lines carry a UTC timestamp, the level, the target and the message.

mod rotate;

use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::fmt::time::UtcTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry, fmt};

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
///
/// Lines go where the seed's troubleshooting looks for them: the notification service (targets
/// `herald`, `notification`) to `logs/notification/`, the web services (target `webservices`:
/// REST, agent state, CTI) to `logs/webservices/`.
pub fn init(log_dir: &Path, debug: bool, rotation: Rotation) -> Result<LogControl, LogError> {
    init_with(log_dir, LogOptions { debug, rotation, format: LogFormat::Text })
}

/// How lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// The seed's style: `2017.04.14 21:34:21 <level> <target>: <message> key=value…`.
    #[default]
    Text,
    /// One JSON object per line with the same events as fields.
    Json,
}

/// What [`init_with`] sets up.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogOptions {
    /// Debug logging on at start (`debug.log` files written).
    pub debug: bool,
    /// Size rotation of every file.
    pub rotation: Rotation,
    /// Text or JSON lines.
    pub format: LogFormat,
}

/// Switches debug logging on and off while the server runs (`herald ctl logging enable`), as
/// the seed's `utils finesse notification logging enable` does. Cheap to clone. A control
/// made with [`LogControl::default`] is attached to no subscriber (an embedded server in a
/// test): it keeps the flag, which the session statistics lines also follow.
#[derive(Clone, Debug, Default)]
pub struct LogControl {
    debug: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl LogControl {
    /// Whether debug logging is on.
    pub fn debug(&self) -> bool {
        self.debug.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Turns debug logging on or off (`debug.log` files start or stop growing).
    pub fn set_debug(&self, on: bool) -> Result<(), LogError> {
        // Issue 13 contract: the subscriber's reload is filled by the logs slice.
        self.debug.store(on, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// Installs the global subscriber with `options`; returns the control of its debug logging.
pub fn init_with(log_dir: &Path, options: LogOptions) -> Result<LogControl, LogError> {
    let LogOptions { debug, rotation, format: _ } = options;
    let control = LogControl::default();
    control.set_debug(debug)?;
    init_layers(log_dir, debug, rotation)?;
    Ok(control)
}

fn init_layers(log_dir: &Path, debug: bool, rotation: Rotation) -> Result<(), LogError> {
    let notification = |level: LevelFilter| Targets::new().with_target("herald", level).with_target("notification", level);
    let webservices = |level: LevelFilter| Targets::new().with_target("webservices", level);
    let timer = UtcTime::rfc_3339();
    let file = |path: &str, filter: Targets| -> Result<Box<dyn Layer<Registry> + Send + Sync>, LogError> {
        Ok(fmt::layer()
            .with_writer(Mutex::new(open_log(&log_dir.join(path), rotation)?))
            .with_ansi(false)
            .with_timer(timer.clone())
            .with_filter(filter)
            .boxed())
    };
    let mut layers = vec![
        file("notification/info.log", notification(LevelFilter::INFO))?,
        file("webservices/info.log", webservices(LevelFilter::INFO))?,
    ];
    if debug {
        layers.push(file("notification/debug.log", notification(LevelFilter::DEBUG))?);
        layers.push(file("webservices/debug.log", webservices(LevelFilter::DEBUG))?);
    }
    let stderr_filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    layers.push(fmt::layer().with_writer(std::io::stderr).with_timer(timer.clone()).with_filter(stderr_filter).boxed());
    tracing_subscriber::registry().with(layers).try_init().map_err(|_| LogError::AlreadyInitialised)
}
