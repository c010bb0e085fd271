//! The text line of each log file: the timestamp in the service's shape, the level, the target,
//! the spans in scope, then the message and its fields (`key=value`).
//!
//! - notification (Openfire's): `2017.04.14 21:34:21 INFO  notification: message key=value`
//! - web services (Finesse's): `Jun 17 2017 00:16:04.630 +0000: INFO webservices: message key=value`

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::stamp::{FinesseTime, OpenfireTime};

/// Which service's line shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// Openfire's: the level padded to five columns after the time.
    Openfire,
    /// The Finesse web services': a colon after the time, then the level.
    Finesse,
}

/// A [`FormatEvent`] writing lines in one service's shape.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeedFormat {
    style: Style,
}

impl SeedFormat {
    pub(crate) fn new(style: Style) -> Self {
        Self { style }
    }
}

impl<S, N> FormatEvent<S, N> for SeedFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        match self.style {
            Style::Openfire => {
                OpenfireTime.format_time(&mut writer)?;
                write!(writer, " {:<5} ", meta.level().as_str())?;
            }
            Style::Finesse => {
                FinesseTime.format_time(&mut writer)?;
                write!(writer, ": {} ", meta.level().as_str())?;
            }
        }
        write!(writer, "{}: ", meta.target())?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                writer.write_str(span.name())?;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>().filter(|f| !f.is_empty()) {
                    write!(writer, "{{{fields}}}")?;
                }
                writer.write_str(": ")?;
            }
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
