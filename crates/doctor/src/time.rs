//! Timestamps: the three shapes Herald's logs carry (the seed's `2017.04.14 21:34:21`, the web
//! services' `Jun 17 2017 00:16:04.630 +0000`, RFC 3339) read into epoch milliseconds (UTC),
//! and epoch milliseconds written back for the reports. Pure arithmetic: no clock.

use herald_proto::time::{civil_from_days, days_from_civil};

/// Parses a run of ASCII digits of exactly `len` characters.
fn digits(s: &str, len: usize) -> Option<u32> {
    if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Milliseconds of a fraction written after the seconds' dot (any number of digits).
fn fraction_ms(frac: &str) -> Option<u64> {
    if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ms = 0u64;
    for (i, b) in frac.bytes().take(3).enumerate() {
        ms += u64::from(b - b'0') * [100, 10, 1].get(i).copied().unwrap_or(0);
    }
    Some(ms)
}

/// `HH:MM:SS` with an optional `.fraction`, in ms since midnight.
fn clock(s: &str) -> Option<u64> {
    let (hms, frac) = match s.split_once('.') {
        Some((hms, frac)) => (hms, fraction_ms(frac)?),
        None => (s, 0),
    };
    let mut parts = hms.split(':');
    let h = digits(parts.next()?, 2)?;
    let m = digits(parts.next()?, 2)?;
    let sec = digits(parts.next()?, 2)?;
    if parts.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some((u64::from(h) * 3600 + u64::from(m) * 60 + u64::from(sec)) * 1000 + frac)
}

/// Epoch ms of a date and a time of day, shifted by an offset east of UTC in minutes.
fn epoch(y: u32, mo: u32, d: u32, day_ms: u64, offset_min: i64) -> Option<u64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    let ms = days.checked_mul(86_400_000)?.checked_add(i64::try_from(day_ms).ok()?)?;
    let ms = ms.checked_sub(offset_min.checked_mul(60_000)?)?;
    u64::try_from(ms).ok()
}

/// A date `YYYY<sep>MM<sep>DD`.
fn date(s: &str, sep: char) -> Option<(u32, u32, u32)> {
    let mut parts = s.split(sep);
    let y = digits(parts.next()?, 4)?;
    let m = digits(parts.next()?, 2)?;
    let d = digits(parts.next()?, 2)?;
    if parts.next().is_some() {
        return None;
    }
    Some((y, m, d))
}

/// RFC 3339: `2026-12-01T18:59:31.615822955Z` or with a `±HH:MM` offset.
pub(crate) fn rfc3339(s: &str) -> Option<u64> {
    let (day, rest) = s.split_once(['T', 't'])?;
    let (y, m, d) = date(day, '-')?;
    let (time, offset) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (t, off) = (rest.get(..at)?, rest.get(at..)?);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off.get(1..)?.split_once(':')?;
        (t, sign * (i64::from(digits(oh, 2)?) * 60 + i64::from(digits(om, 2)?)))
    };
    epoch(y, m, d, clock(time)?, offset)
}

/// The seed's notification logs: `2017.04.14` and `21:34:21` (UTC, optional fraction).
pub(crate) fn seed(day: &str, time: &str) -> Option<u64> {
    let (y, m, d) = date(day, '.')?;
    epoch(y, m, d, clock(time)?, 0)
}

/// The web services' logs: `Jun`, `17`, `2017`, `00:16:04.630`, `+0530`.
pub(crate) fn month_style(mon: &str, day: &str, year: &str, time: &str, offset: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let m = MONTHS.iter().position(|n| n.eq_ignore_ascii_case(mon))? as u32 + 1;
    let d = if day.len() == 1 { digits(day, 1)? } else { digits(day, 2)? };
    let y = digits(year, 4)?;
    let sign = match offset.get(..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let oh = digits(offset.get(1..3)?, 2)?;
    let om = digits(offset.get(3..)?, 2)?;
    epoch(y, m, d, clock(time)?, sign * (i64::from(oh) * 60 + i64::from(om)))
}

/// `2026-12-01 18:59:31.615Z`: how the reports write a time.
pub(crate) fn format(ms: u64) -> String {
    let days = (ms / 86_400_000) as i64;
    let rem = ms % 86_400_000;
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, frac) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{frac:03}Z")
}

/// A duration in seconds with one decimal: `60.0 s`.
pub(crate) fn secs(ms: u64) -> String {
    format!("{}.{} s", ms / 1000, ms % 1000 / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_shapes_read_to_the_same_instant() {
        let want = 1_497_658_564_630;
        assert_eq!(rfc3339("2017-06-17T00:16:04.630Z"), Some(want));
        assert_eq!(rfc3339("2017-06-17T05:46:04.630999+05:30"), Some(want));
        assert_eq!(month_style("Jun", "17", "2017", "00:16:04.630", "+0000"), Some(want));
        assert_eq!(month_style("Jun", "17", "2017", "05:46:04.630", "+0530"), Some(want));
        assert_eq!(seed("2017.06.17", "00:16:04.630"), Some(want));
        assert_eq!(seed("2017.04.14", "21:34:21"), Some(1_492_205_661_000));
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        assert_eq!(rfc3339("2017-13-17T00:16:04Z"), None);
        assert_eq!(rfc3339("2017-06-17T25:16:04Z"), None);
        assert_eq!(rfc3339("2017-06-17T00:16:04"), None);
        assert_eq!(seed("2017.06.17", "00:16"), None);
        assert_eq!(seed("17.06.2017", "00:16:04"), None);
        assert_eq!(month_style("Jux", "17", "2017", "00:16:04.630", "+0000"), None);
        assert_eq!(month_style("Jun", "17", "2017", "00:16:04.630", "0000"), None);
        assert_eq!(month_style("Jun", "17", "2017", "00:16:04.", "+0000"), None);
        assert_eq!(rfc3339("1969-12-31T23:59:59Z"), None);
    }

    #[test]
    fn formats_back() {
        assert_eq!(format(1_497_658_564_630), "2017-06-17 00:16:04.630Z");
        assert_eq!(format(0), "1970-01-01 00:00:00.000Z");
        assert_eq!(secs(60_049), "60.0 s");
        for ms in [0u64, 951_782_400_000, 1_700_000_000_123, 4_102_444_800_000] {
            let f = format(ms);
            let (d, t) = f.trim_end_matches('Z').split_once(' ').unwrap();
            assert_eq!(rfc3339(&format!("{d}T{t}Z")), Some(ms));
        }
    }
}
