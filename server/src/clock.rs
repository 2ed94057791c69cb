//! Wall-clock time as the keyspace sees it.
//!
//! Expiry times are absolute Unix milliseconds, as Redis stores them (`EXPIREAT`, `PEXPIRETIME`).
//! The LRU clock is Redis's: Unix seconds in 24 bits, used for `OBJECT IDLETIME`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Bits of the LRU clock, as Redis's `LRU_BITS`.
pub const LRU_BITS: u32 = 24;
/// Largest LRU clock value.
pub const LRU_CLOCK_MAX: u32 = (1 << LRU_BITS) - 1;

/// The LRU clock at `now_ms`: seconds, wrapping at 24 bits.
pub fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / 1000) as u32) & LRU_CLOCK_MAX
}

/// Seconds since `access` (an LRU clock value) at `now_ms`, allowing for one wrap-around.
pub fn idle_seconds(access: u32, now_ms: u64) -> u64 {
    let now = lru_clock(now_ms);
    if now >= access {
        u64::from(now - access)
    } else {
        u64::from(LRU_CLOCK_MAX - access + now)
    }
}
