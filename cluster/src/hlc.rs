//! Versions: a hybrid logical clock (HLC) in one `u64`.
//!
//! Every write stamps its entry with a [`Version`]: the physical time in milliseconds in the
//! high 48 bits (enough until the year 10889) and a logical counter in the low 16. Versions are
//! ordered like the numbers they are, and comparable across nodes: two versions of one key
//! written on different nodes order by wall-clock time first, so a write that happened later
//! (by more than the clock skew) wins.
//!
//! [`Hlc`] hands out versions that only grow, even when the wall clock stands still or steps
//! back: a new version is the later of "now" and "the last one plus one" (more than 65536
//! versions in one millisecond carry into the millisecond part, which then runs a little ahead
//! of the wall clock, and falls back in step as time passes). [`Hlc::observe`] moves the clock
//! past a version seen from elsewhere (a replicated or migrated write), so anything written here
//! afterwards is newer than it.
//!
//! Equal versions of one key from two nodes can only come from two nodes writing the key as
//! its primary at once, which a correct topology never allows (a split brain); whoever compares
//! them breaks the tie by node id.
//!
//! The clock is a plain value with `&mut self` methods and the time passed in: deterministic
//! and testable. The server keeps one per shard of its keyspace (each used under that shard's
//! lock, so no write contends on a shared clock); they read the same wall clock, so together
//! they are the node's HLC.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Bits of the logical counter.
pub const LOGICAL_BITS: u32 = 16;
const LOGICAL_MASK: u64 = (1 << LOGICAL_BITS) - 1;

/// A point of a hybrid logical clock: physical ms (high 48 bits) and a counter (low 16).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Version(u64);

impl Version {
    /// No version: older than any write.
    pub const ZERO: Version = Version(0);

    /// The version whose raw value is `raw` (as stored in an entry or sent on the wire).
    pub const fn from_raw(raw: u64) -> Version {
        Version(raw)
    }

    /// The raw `u64`.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// The first version of millisecond `ms`.
    pub const fn at_ms(ms: u64) -> Version {
        Version(ms << LOGICAL_BITS)
    }

    /// The physical part: unix milliseconds.
    pub const fn physical_ms(self) -> u64 {
        self.0 >> LOGICAL_BITS
    }

    /// The logical counter within the millisecond.
    pub const fn logical(self) -> u16 {
        (self.0 & LOGICAL_MASK) as u16
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.physical_ms(), self.logical())
    }
}

/// A hybrid logical clock: hands out ever-growing [`Version`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hlc {
    last: Version,
}

impl Hlc {
    /// A new version at wall-clock time `now_ms`, later than every version handed out or
    /// observed before.
    #[inline]
    pub fn tick(&mut self, now_ms: u64) -> Version {
        let wall = Version::at_ms(now_ms);
        self.last = if wall > self.last {
            wall
        } else {
            Version(self.last.0.saturating_add(1))
        };
        self.last
    }

    /// Moves the clock past `seen` (a version written elsewhere), so the next tick is newer.
    pub fn observe(&mut self, seen: Version) {
        if seen > self.last {
            self.last = seen;
        }
    }

    /// The last version handed out or observed.
    pub fn last(&self) -> Version {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn versions_carry_the_wall_clock_and_a_counter() {
        let mut clock = Hlc::default();
        let first = clock.tick(1_000);
        assert_eq!((first.physical_ms(), first.logical()), (1_000, 0));
        let second = clock.tick(1_000);
        assert_eq!((second.physical_ms(), second.logical()), (1_000, 1));
        let later = clock.tick(1_005);
        assert_eq!((later.physical_ms(), later.logical()), (1_005, 0));
        assert_eq!(later.to_string(), "1005.0");
    }

    #[test]
    fn a_clock_that_steps_back_still_hands_out_newer_versions() {
        let mut clock = Hlc::default();
        let before = clock.tick(5_000);
        let after = clock.tick(4_000);
        assert!(after > before);
        assert_eq!(after.physical_ms(), 5_000);
    }

    #[test]
    fn a_full_millisecond_carries_into_the_next() {
        let mut clock = Hlc::default();
        clock.observe(Version::from_raw(Version::at_ms(7).raw() | LOGICAL_MASK));
        let next = clock.tick(7);
        assert_eq!((next.physical_ms(), next.logical()), (8, 0));
        // The wall clock catching up gives no duplicate.
        assert!(clock.tick(8) > next);
    }

    #[test]
    fn observing_a_remote_version_makes_later_writes_newer() {
        let mut here = Hlc::default();
        let mut there = Hlc::default();
        let remote = there.tick(9_000);
        here.observe(remote);
        // Our wall clock is behind theirs: we still write after what we saw.
        assert!(here.tick(8_000) > remote);
        // An older observation changes nothing.
        let last = here.last();
        here.observe(Version::at_ms(1));
        assert_eq!(here.last(), last);
    }

    proptest! {
        #[test]
        fn ticks_only_grow(times in proptest::collection::vec(0u64..1u64 << 40, 1..200)) {
            let mut clock = Hlc::default();
            let mut previous = Version::ZERO;
            for now in times {
                let v = clock.tick(now);
                prop_assert!(v > previous);
                prop_assert!(v.physical_ms() >= now.min(previous.physical_ms()));
                previous = v;
            }
        }
    }
}
