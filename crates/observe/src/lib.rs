//! Herald's logs, laid out as the seed's troubleshooting expects: `logs/notification/info.log`
//! and `logs/webservices/info.log` always, their `debug.log` while debug logging is on (switched
//! at run time through [`LogControl`]), and a copy on standard error.
//! Lines carry a UTC timestamp in each service's shape ([`stamp`]), the level, the target and the
//! message with its fields, or are JSON objects ([`LogFormat::Json`]).

mod control;
mod format;
mod rotate;
pub mod stamp;

use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::time::UtcTime;
use tracing_subscriber::layer::{Filter, Layered, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry, fmt};

pub use control::LogControl;
pub use rotate::{RotatingFile, Rotation};

use control::{DebugGate, DebugSink, DebugWriter};
use format::{SeedFormat, Style};

#[cfg(test)]
mod tests;

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

pub(crate) fn open_log(path: &Path, rotation: Rotation) -> Result<RotatingFile, LogError> {
    let err = |source| LogError::Io { path: path.display().to_string(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    RotatingFile::open(path, rotation).map_err(err)
}

/// Installs the global subscriber, text lines. `debug` starts with `debug.log` written: every
/// debug line of Herald's crates (the seed warns that debug logging costs; so does ours). `RUST_LOG` overrides the
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
    /// The seed's style: `2017.04.14 21:34:21 INFO  notification: message key=value` (notification),
    /// `Jun 17 2017 00:16:04.630 +0000: INFO webservices: message key=value` (web services), UTC.
    #[default]
    Text,
    /// One JSON object per line: `timestamp` (RFC 3339, UTC), `level`, `target`, `message` and every
    /// field of the event at the top level, with the spans in scope.
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

/// Installs the global subscriber with `options`; returns the control of its debug logging.
pub fn init_with(log_dir: &Path, options: LogOptions) -> Result<LogControl, LogError> {
    let (subscriber, control) = build(log_dir, options, true)?;
    subscriber.try_init().map_err(|_| LogError::AlreadyInitialised)?;
    if options.debug {
        control.switch_on()?;
    }
    Ok(control)
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The subscriber [`init_with`] installs (without standard error when `stderr` is false, for
/// tests), and the control of its debug files, still off.
fn build(log_dir: &Path, options: LogOptions, stderr: bool) -> Result<(Layered<Vec<BoxedLayer>, Registry>, LogControl), LogError> {
    let LogOptions { debug: _, rotation, format } = options;
    let notification = |level: LevelFilter| Targets::new().with_target("herald", level).with_target("notification", level);
    let webservices = |level: LevelFilter| Targets::new().with_target("webservices", level);
    let file = |path: &str| -> Result<Mutex<RotatingFile>, LogError> { Ok(Mutex::new(open_log(&log_dir.join(path), rotation)?)) };
    let notification_debug = DebugSink::new(&log_dir.join("notification/debug.log"), rotation);
    let webservices_debug = DebugSink::new(&log_dir.join("webservices/debug.log"), rotation);
    let control = LogControl::attached(vec![notification_debug.clone(), webservices_debug.clone()]);
    let mut layers = vec![
        file_layer(file("notification/info.log")?, format, Style::Openfire, notification(LevelFilter::INFO)),
        file_layer(file("webservices/info.log")?, format, Style::Finesse, webservices(LevelFilter::INFO)),
        file_layer(
            DebugWriter(notification_debug),
            format,
            Style::Openfire,
            DebugGate::new(control.clone(), notification(LevelFilter::DEBUG)),
        ),
        file_layer(
            DebugWriter(webservices_debug),
            format,
            Style::Finesse,
            DebugGate::new(control.clone(), webservices(LevelFilter::DEBUG)),
        ),
    ];
    if stderr {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        layers.push(fmt::layer().with_writer(std::io::stderr).with_timer(UtcTime::rfc_3339()).with_filter(filter).boxed());
    }
    Ok((tracing_subscriber::registry().with(layers), control))
}

/// One file's layer: its writer, its line shape (or JSON), its filter.
fn file_layer<W, F>(writer: W, format: LogFormat, style: Style, filter: F) -> BoxedLayer
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    F: Filter<Registry> + Send + Sync + 'static,
{
    match format {
        LogFormat::Text => {
            fmt::layer().with_writer(writer).with_ansi(false).event_format(SeedFormat::new(style)).with_filter(filter).boxed()
        }
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_timer(UtcTime::rfc_3339())
            .with_writer(writer)
            .with_ansi(false)
            .with_filter(filter)
            .boxed(),
    }
}
