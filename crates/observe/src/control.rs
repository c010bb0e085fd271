//! Debug logging switched at run time: the [`LogControl`] flag, the `debug.log` files that are
//! opened when it goes on and closed when it goes off, and the per-layer filter that reads it.
//!
//! Cost with debug off: the gate answers `never` for every call site while the flag is off and
//! reports `OFF` as its most verbose level, and each switch rebuilds tracing's call-site interest
//! cache. So with debug off (and `RUST_LOG` not asking standard error for debug) the global
//! maximum level is INFO, and a `debug!` is one relaxed atomic load and a compare before it
//! returns: no filter runs, no field is formatted.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tracing::Metadata;
use tracing::subscriber::Interest;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Filter};

use crate::rotate::{RotatingFile, Rotation};
use crate::{LogError, open_log};

/// Switches debug logging on and off while the server runs (`herald ctl logging enable`), as
/// the seed's `utils finesse notification logging enable` does. Cheap to clone. A control
/// made with [`LogControl::default`] is attached to no subscriber (an embedded server in a
/// test): it keeps the flag, which the session statistics lines also follow.
#[derive(Clone, Debug, Default)]
pub struct LogControl {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    debug: AtomicBool,
    /// The `debug.log` files; empty when the control is detached.
    sinks: Vec<Arc<DebugSink>>,
}

impl LogControl {
    pub(crate) fn attached(sinks: Vec<Arc<DebugSink>>) -> Self {
        Self { inner: Arc::new(Inner { debug: AtomicBool::new(false), sinks }) }
    }

    /// Whether debug logging is on.
    pub fn debug(&self) -> bool {
        self.inner.debug.load(Ordering::Relaxed)
    }

    /// Turns debug logging on or off: the `debug.log` files are created (if missing) and start
    /// growing, or are closed and stop growing, without a restart. Turning it on writes a
    /// warning about its cost to `notification/info.log`; off, an info line. Fails, leaving
    /// debug logging off, when a `debug.log` cannot be created.
    pub fn set_debug(&self, on: bool) -> Result<(), LogError> {
        if self.inner.sinks.is_empty() {
            self.inner.debug.store(on, Ordering::Relaxed);
            return Ok(());
        }
        if on {
            self.switch_on()?;
            tracing::warn!(
                target: "notification",
                "debug logging enabled at run time: every BOSH request and stanza is written to debug.log; \
                 turn it off with herald ctl logging disable"
            );
        } else {
            self.switch_off();
            tracing::info!(target: "notification", "debug logging disabled at run time: debug.log is no longer written");
        }
        Ok(())
    }

    /// Opens the files and raises the flag, without a line (at start).
    pub(crate) fn switch_on(&self) -> Result<(), LogError> {
        for sink in &self.inner.sinks {
            if let Err(e) = sink.open() {
                self.switch_off();
                return Err(e);
            }
        }
        self.inner.debug.store(true, Ordering::SeqCst);
        tracing::callsite::rebuild_interest_cache();
        Ok(())
    }

    fn switch_off(&self) {
        self.inner.debug.store(false, Ordering::SeqCst);
        tracing::callsite::rebuild_interest_cache();
        for sink in &self.inner.sinks {
            sink.close();
        }
    }
}

/// One `debug.log`: closed while debug logging is off, opened (created if missing) when it
/// goes on, rotating like every other file.
#[derive(Debug)]
pub(crate) struct DebugSink {
    path: PathBuf,
    rotation: Rotation,
    file: Mutex<Option<RotatingFile>>,
}

impl DebugSink {
    pub(crate) fn new(path: &Path, rotation: Rotation) -> Arc<Self> {
        Arc::new(Self { path: path.to_owned(), rotation, file: Mutex::new(None) })
    }

    fn lock(&self) -> MutexGuard<'_, Option<RotatingFile>> {
        self.file.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn open(&self) -> Result<(), LogError> {
        let mut file = self.lock();
        // Reopened even if open: a file removed or moved away by an operator comes back.
        *file = Some(open_log(&self.path, self.rotation)?);
        Ok(())
    }

    fn close(&self) {
        *self.lock() = None;
    }
}

/// The writer of a [`DebugSink`]: lines reaching a closed sink (an event already past the
/// filter when debug logging went off) are dropped.
#[derive(Clone, Debug)]
pub(crate) struct DebugWriter(pub(crate) Arc<DebugSink>);

/// The locked `debug.log` while one line is written.
pub(crate) struct DebugGuard<'a>(MutexGuard<'a, Option<RotatingFile>>);

impl Write for DebugGuard<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.as_mut() {
            Some(file) => file.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl<'a> MakeWriter<'a> for DebugWriter {
    type Writer = DebugGuard<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        DebugGuard(self.0.lock())
    }
}

/// The filter of a `debug.log` layer: its targets at debug level, while the flag is up.
#[derive(Debug)]
pub(crate) struct DebugGate {
    control: LogControl,
    targets: Targets,
}

impl DebugGate {
    pub(crate) fn new(control: LogControl, targets: Targets) -> Self {
        Self { control, targets }
    }

    fn wants(&self, meta: &Metadata<'_>) -> bool {
        self.control.debug() && self.targets.would_enable(meta.target(), meta.level())
    }
}

impl<S> Filter<S> for DebugGate {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.wants(meta)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        // Exact for the flag's current value; every switch rebuilds the cache.
        if self.wants(meta) { Interest::always() } else { Interest::never() }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(if self.control.debug() { LevelFilter::DEBUG } else { LevelFilter::OFF })
    }
}
