//! Per-key access tracking: what an entry's `access` field means, and how a touch changes it.
//!
//! Under an LRU policy (and random, TTL or no eviction) it is the access clock of the last
//! touch (10 ms ticks, see `clock`). Under an LFU policy it is Redis's logarithmic frequency
//! counter in the low 8 bits and the minute of its last decrement in the 24 above (Redis's
//! scheme with a longer minute field). Eviction (`evict`) reads it to choose victims;
//! `OBJECT IDLETIME` and `OBJECT FREQ` report it.

use crate::clock;

/// How an access is recorded in an entry's `access` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tracking {
    /// The access clock of the last touch.
    Lru,
    /// Redis's logarithmic frequency counter, decayed by one every `decay_minutes`.
    Lfu { log_factor: u32, decay_minutes: u32 },
}

/// The counter a new key starts with under LFU, as Redis's `LFU_INIT_VAL`: new keys get a
/// chance to be read again before they are the first to go.
pub const LFU_INIT_VAL: u8 = 5;

fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) as u32) & 0x00ff_ffff
}

/// The LFU counter stored in `access`.
pub fn lfu_counter(access: u32) -> u8 {
    (access & 0xff) as u8
}

/// The LFU counter of `access` decayed to `now_ms`: one less per `decay_minutes` elapsed.
pub fn lfu_decayed(access: u32, now_ms: u64, decay_minutes: u32) -> u8 {
    let counter = lfu_counter(access);
    if decay_minutes == 0 {
        return counter;
    }
    let elapsed = lfu_minutes(now_ms).wrapping_sub(access >> 8) & 0x00ff_ffff;
    let periods = elapsed / decay_minutes;
    counter.saturating_sub(periods.min(255) as u8)
}

/// Redis's `LFULogIncr`: the counter grows with probability 1 / ((counter - 5) × factor + 1).
fn lfu_log_incr(counter: u8, log_factor: u32) -> u8 {
    if counter == u8::MAX {
        return counter;
    }
    let base = f64::from(counter.saturating_sub(LFU_INIT_VAL));
    let p = 1.0 / (base * f64::from(log_factor) + 1.0);
    if rand::random::<f64>() < p {
        counter + 1
    } else {
        counter
    }
}

fn lfu_pack(counter: u8, now_ms: u64) -> u32 {
    (lfu_minutes(now_ms) << 8) | u32::from(counter)
}

impl Tracking {
    /// `access` for a key created at `now_ms`.
    pub fn initial(self, now_ms: u64) -> u32 {
        match self {
            Tracking::Lru => clock::access_clock(now_ms),
            Tracking::Lfu { .. } => lfu_pack(LFU_INIT_VAL, now_ms),
        }
    }

    /// `access` after a touch at `now_ms` of a key whose field was `access`.
    pub fn touched(self, access: u32, now_ms: u64) -> u32 {
        match self {
            Tracking::Lru => clock::access_clock(now_ms),
            Tracking::Lfu {
                log_factor,
                decay_minutes,
            } => {
                let counter = lfu_decayed(access, now_ms, decay_minutes);
                lfu_pack(lfu_log_incr(counter, log_factor), now_ms)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_counters_grow_logarithmically_and_decay() {
        let tracking = Tracking::Lfu {
            log_factor: 10,
            decay_minutes: 1,
        };
        let now = 10 * 60_000;
        let mut access = tracking.initial(now);
        assert_eq!(lfu_counter(access), LFU_INIT_VAL);
        for _ in 0..1_000 {
            access = tracking.touched(access, now);
        }
        let after_1k = lfu_counter(access);
        // Redis's table for factor 10: about 18 after 1k hits, 255 only after ~1M.
        assert!((12..=30).contains(&after_1k), "counter {after_1k}");
        assert_eq!(lfu_decayed(access, now + 3 * 60_000, 1), after_1k - 3);
        assert_eq!(lfu_decayed(access, now + 3 * 60_000, 0), after_1k);
        assert_eq!(lfu_decayed(access, now + 1_000 * 60_000, 1), 0);
    }
}
