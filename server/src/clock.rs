//! Wall-clock time as the keyspace sees it.
//!
//! Expiry times are absolute Unix milliseconds, as Redis stores them (`EXPIREAT`, `PEXPIRETIME`).
//! Keys remember their last access on the access clock: Unix time in 10 ms units, wrapping at
//! 32 bits (every 497 days) — finer than Redis's one-second LRU clock, so LRU eviction can tell
//! apart keys touched within the same second. `INFO`'s `lru_clock` is Redis's own clock.

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

/// Bits of Redis's LRU clock (`INFO lru_clock`).
pub const LRU_BITS: u32 = 24;
/// Largest value of Redis's LRU clock.
pub const LRU_CLOCK_MAX: u32 = (1 << LRU_BITS) - 1;

/// Redis's LRU clock at `now_ms`: seconds, wrapping at 24 bits (`INFO lru_clock`).
pub fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / 1000) as u32) & LRU_CLOCK_MAX
}

/// Milliseconds per tick of the access clock.
pub const ACCESS_TICK_MS: u64 = 10;

/// The access clock at `now_ms`: 10 ms ticks, wrapping at 32 bits.
pub fn access_clock(now_ms: u64) -> u32 {
    (now_ms / ACCESS_TICK_MS) as u32
}

/// Ticks of the access clock since `access` at `now_ms` (correct across one wrap-around).
pub fn idle_ticks(access: u32, now_ms: u64) -> u32 {
    access_clock(now_ms).wrapping_sub(access)
}

/// Milliseconds since `access` (an access clock value) at `now_ms`.
pub fn idle_ms(access: u32, now_ms: u64) -> u64 {
    u64::from(idle_ticks(access, now_ms)) * ACCESS_TICK_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_time_survives_the_clock_wrapping() {
        let now = 5 * ACCESS_TICK_MS;
        let before_wrap = u32::MAX - 2;
        assert_eq!(idle_ticks(before_wrap, now), 8);
        assert_eq!(idle_ms(access_clock(now), now + 999), 990);
    }
}
