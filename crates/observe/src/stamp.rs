//! The timestamps of each log, in the shapes the seed's troubleshooting reads: Openfire's
//! `2017.04.14 21:34:21` for the notification service, the Finesse web services'
//! `Jun 17 2017 00:16:04.630 +0000` for the web services. Always UTC. The calendar arithmetic is
//! done here (days to civil date) so that no date crate is needed for two fixed shapes.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A UTC instant broken into its calendar fields, to the millisecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The year (proleptic Gregorian).
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    /// 0 to 23.
    pub hour: u32,
    /// 0 to 59.
    pub minute: u32,
    /// 0 to 59.
    pub second: u32,
    /// 0 to 999.
    pub milli: u32,
}

impl Stamp {
    /// The calendar fields of `ms` milliseconds after the Unix epoch, UTC.
    pub fn from_epoch_ms(ms: u64) -> Self {
        let days = i64::try_from(ms / 86_400_000).unwrap_or(i64::MAX / 2);
        let in_day = ms % 86_400_000;
        let (year, month, day) = herald_proto::time::civil_from_days(days);
        // Every value below is bounded by the modulus above, so the casts cannot truncate.
        let secs = (in_day / 1000) as u32;
        Self { year, month, day, hour: secs / 3600, minute: secs / 60 % 60, second: secs % 60, milli: (in_day % 1000) as u32 }
    }

    /// The current instant (the wall clock).
    pub fn now() -> Self {
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self::from_epoch_ms(ms)
    }

    /// Openfire's shape: `2017.04.14 21:34:21`.
    pub fn openfire(&self) -> impl fmt::Display + '_ {
        Shape(self, |s, f| write!(f, "{:04}.{:02}.{:02} {:02}:{:02}:{:02}", s.year, s.month, s.day, s.hour, s.minute, s.second))
    }

    /// The Finesse web services' shape: `Jun 17 2017 00:16:04.630 +0000`.
    pub fn finesse(&self) -> impl fmt::Display + '_ {
        Shape(self, |s, f| {
            let month = MONTHS.get(s.month.saturating_sub(1) as usize).copied().unwrap_or("???");
            write!(f, "{month} {:02} {:04} {:02}:{:02}:{:02}.{:03} +0000", s.day, s.year, s.hour, s.minute, s.second, s.milli)
        })
    }
}

/// A stamp written through one of its shapes.
struct Shape<'a>(&'a Stamp, fn(&Stamp, &mut fmt::Formatter<'_>) -> fmt::Result);

impl fmt::Display for Shape<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.1)(self.0, f)
    }
}

/// The notification service's timer: `2017.04.14 21:34:21`, UTC.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenfireTime;

impl FormatTime for OpenfireTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        write!(w, "{}", Stamp::now().openfire())
    }
}

/// The web services' timer: `Jun 17 2017 00:16:04.630 +0000`, UTC.
#[derive(Clone, Copy, Debug, Default)]
pub struct FinesseTime;

impl FormatTime for FinesseTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        write!(w, "{}", Stamp::now().finesse())
    }
}

/// Whether a log line starts with `shape`, a pattern of its stamp and prefix where `9` is any
/// digit, `A` any ASCII letter and anything else itself (`9999.99.99 99:99:99 INFO  `): how tests
/// and tools check that every line of a file carries its file's stamp.
pub fn line_has_shape(line: &str, shape: &str) -> bool {
    line.len() >= shape.len()
        && line.chars().zip(shape.chars()).all(|(c, s)| match s {
            '9' => c.is_ascii_digit(),
            'A' => c.is_ascii_alphabetic(),
            _ => c == s,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_instants_are_written_in_the_seeds_shapes() {
        // 2017-04-14T21:34:21Z and 2017-06-17T00:16:04.630Z, the seed's own examples.
        assert_eq!(Stamp::from_epoch_ms(1_492_205_661_000).openfire().to_string(), "2017.04.14 21:34:21");
        assert_eq!(Stamp::from_epoch_ms(1_497_658_564_630).finesse().to_string(), "Jun 17 2017 00:16:04.630 +0000");
    }

    #[test]
    fn calendar_edges() {
        assert_eq!(Stamp::from_epoch_ms(0).openfire().to_string(), "1970.01.01 00:00:00");
        // Leap day, end of a leap year, a century that is not a leap year.
        assert_eq!(Stamp::from_epoch_ms(951_782_400_000).openfire().to_string(), "2000.02.29 00:00:00");
        assert_eq!(Stamp::from_epoch_ms(1_609_459_199_999).finesse().to_string(), "Dec 31 2020 23:59:59.999 +0000");
        assert_eq!(Stamp::from_epoch_ms(4_107_542_400_000).openfire().to_string(), "2100.03.01 00:00:00");
        // Far beyond any clock: no panic.
        let _ = Stamp::from_epoch_ms(u64::MAX).finesse().to_string();
    }
}
