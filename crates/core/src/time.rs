//! The wall clock for the core's stamps; the format is `herald_proto::time`'s.

pub use herald_proto::time::format_timestamp;

/// Milliseconds since the Unix epoch, now, by the wall clock: what stamps, session records and
/// the admin listing carry.
pub fn epoch_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// [`epoch_ms`] as the store's signed milliseconds.
pub(crate) fn now_ms() -> i64 {
    i64::try_from(epoch_ms()).unwrap_or(i64::MAX)
}
