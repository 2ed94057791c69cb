//! Tombstones: what a shard remembers of the keys deleted in it, on a node with peers.
//!
//! A removal (a replicated one, or a primary's own delete) leaves the key's name with the
//! removal's version and when it arrived, so that an older state of the key arriving later
//! (a straggler write, a snapshot, a copy pushed back after a partition) does not bring it
//! back, and snapshots carry recent deletes. A tombstone is kept for
//! [`TOMBSTONE_HORIZON_MS`]; at most [`TOMBSTONES_PER_SHARD`] are kept per shard. The newest
//! version among those forgotten is remembered ([`Tombstones::forgotten`]): a key a shard has
//! no trace of may have been deleted at any version up to it.

use shoal_cluster::Version;
use std::collections::HashMap;

/// How long a removal is remembered (ms): far longer than a replication message can stay
/// in flight or a snapshot can take to arrive behind it.
pub const TOMBSTONE_HORIZON_MS: u64 = 5 * 60 * 1000;

/// Tombstones a shard keeps at most (about a million per database): past it, the older
/// half is forgotten before the horizon, so that a flood of deletes or expiries cannot grow
/// memory without bound.
pub const TOMBSTONES_PER_SHARD: usize = 16 * 1024;

/// One shard's tombstones.
#[derive(Debug, Default)]
pub struct Tombstones {
    /// Per key: the removal's version and when it arrived (unix ms).
    buried: HashMap<Box<[u8]>, (Version, u64)>,
    /// The newest version among the tombstones forgotten so far.
    forgotten: Version,
}

impl Tombstones {
    /// The version of `key`'s removal, if it is remembered.
    pub fn get(&self, key: &[u8]) -> Option<Version> {
        self.buried.get(key).map(|(version, _)| *version)
    }

    /// Forgets `key`'s tombstone (the key holds a newer value).
    pub fn remove(&mut self, key: &[u8]) {
        self.buried.remove(key);
    }

    /// Records that `key` was removed at `version` (arriving at `now`), unless a removal as
    /// new is remembered already.
    pub fn bury(&mut self, key: &[u8], version: Version, now: u64) {
        if self.get(key).is_some_and(|v| v >= version) {
            return;
        }
        self.buried.insert(key.into(), (version, now));
        self.bound();
    }

    /// How many are remembered.
    pub fn len(&self) -> usize {
        self.buried.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.buried.is_empty()
    }

    /// The newest version among the tombstones forgotten so far.
    pub fn forgotten(&self) -> Version {
        self.forgotten
    }

    /// Calls `f` on every tombstone: the key and the version of its removal.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], Version)) {
        for (key, (version, _)) in &self.buried {
            f(key, *version);
        }
    }

    /// Forgets the tombstones older than the horizon at `now`. Returns how many are left.
    pub fn forget_expired(&mut self, now: u64) -> usize {
        if !self.buried.is_empty() {
            self.forget_where(|at| at.saturating_add(TOMBSTONE_HORIZON_MS) <= now);
        }
        self.buried.len()
    }

    /// Past [`TOMBSTONES_PER_SHARD`], forgets the older half (by arrival), once per that
    /// many removals: amortised constant time.
    fn bound(&mut self) {
        if self.buried.len() <= TOMBSTONES_PER_SHARD {
            return;
        }
        let mut arrivals: Vec<u64> = self.buried.values().map(|(_, at)| *at).collect();
        let middle = arrivals.len() / 2;
        let (_, cutoff, _) = arrivals.select_nth_unstable(middle);
        let cutoff = *cutoff;
        self.forget_where(|at| at < cutoff);
        // Arrivals share milliseconds: when too many arrived with the cutoff, they go too.
        if self.buried.len() > TOMBSTONES_PER_SHARD {
            self.forget_where(|at| at <= cutoff);
        }
    }

    /// Forgets the tombstones whose arrival time `old` says yes to, raising `forgotten`.
    fn forget_where(&mut self, old: impl Fn(u64) -> bool) {
        let mut newest = self.forgotten;
        self.buried.retain(|_, (version, at)| {
            let forget = old(*at);
            if forget {
                newest = newest.max(*version);
            }
            !forget
        });
        self.forgotten = newest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgetting_remembers_the_newest_version_forgotten() {
        let mut tombstones = Tombstones::default();
        tombstones.bury(b"k", Version::at_ms(5), 10);
        tombstones.bury(b"old", Version::at_ms(3), 10);
        // An older removal does not replace a newer one.
        tombstones.bury(b"k", Version::at_ms(4), 11);
        assert_eq!(tombstones.get(b"k"), Some(Version::at_ms(5)));
        assert_eq!(tombstones.forget_expired(10 + TOMBSTONE_HORIZON_MS - 1), 2);
        assert_eq!(tombstones.forget_expired(10 + TOMBSTONE_HORIZON_MS), 0);
        assert_eq!(tombstones.get(b"k"), None);
        assert_eq!(tombstones.forgotten(), Version::at_ms(5));
    }

    #[test]
    fn tombstones_stay_bounded_and_the_newest_are_kept() {
        let mut tombstones = Tombstones::default();
        let total = TOMBSTONES_PER_SHARD * 3;
        for i in 0..total {
            let key = format!("k{i}");
            tombstones.bury(key.as_bytes(), Version::at_ms(1 + i as u64), 1 + i as u64);
            assert!(tombstones.len() <= TOMBSTONES_PER_SHARD);
        }
        assert!(tombstones.len() >= TOMBSTONES_PER_SHARD / 2);
        let last = format!("k{}", total - 1);
        assert!(
            tombstones.get(last.as_bytes()).is_some(),
            "the last delete is kept"
        );
        assert!(tombstones.forgotten() > Version::ZERO);
        // A burst within one millisecond stays bounded too.
        for i in 0..total {
            let key = format!("burst{i}");
            tombstones.bury(key.as_bytes(), Version::at_ms(1_000_000), 1_000_000);
        }
        assert!(tombstones.len() <= TOMBSTONES_PER_SHARD);
    }
}
