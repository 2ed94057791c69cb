//! A shard's keys by cluster slot, so that the keys of some slots can be counted and walked
//! without looking at the rest of the keyspace (snapshots for a new replica, anti-entropy
//! digests, dropping slots handed over, `CLUSTER COUNTKEYSINSLOT`/`GETKEYSINSLOT`, the
//! replica key count of `INFO`).
//!
//! The index holds one `(slot, hash)` pair per key (the hash the shard's table files the key
//! under), ordered, so a slot's keys are one range. Two keys of one slot with the same 64-bit
//! hash share a pair; the shard keeps the pair until the last of them goes. A shard builds
//! its index when the node first has peers (see `Store::index_slots`) and keeps it exact
//! from then on under its own lock; a node that never has peers pays nothing for it.
//!
//! Cost: about 17–24 bytes per key (B-tree nodes of 16-byte pairs), and one CRC16 and one
//! B-tree insert or removal when a key is created or removed (reads and overwrites are
//! untouched). Redis 7 pays 16 bytes per key for the same purpose in cluster mode (the
//! slot-to-keys links in each dict entry's metadata).

use shoal_cluster::slot::{Slot, SlotSet};
use std::collections::BTreeSet;
use std::ops::Bound;

/// A key's place in the index: its slot and its hash.
pub type SlotKey = (Slot, u64);

/// The `(slot, hash)` pairs of a shard's keys.
#[derive(Debug, Default)]
pub struct SlotIndex {
    keys: BTreeSet<SlotKey>,
}

impl SlotIndex {
    /// An index of the given pairs (in any order, repeats allowed).
    pub fn build(mut pairs: Vec<SlotKey>) -> SlotIndex {
        pairs.sort_unstable();
        pairs.dedup();
        SlotIndex {
            keys: pairs.into_iter().collect(),
        }
    }

    /// Notes a key of `slot` filed under `hash`.
    pub fn insert(&mut self, slot: Slot, hash: u64) {
        self.keys.insert((slot, hash));
    }

    /// Forgets the pair (the shard has no key of `slot` under `hash` any more).
    pub fn remove(&mut self, slot: Slot, hash: u64) {
        self.keys.remove(&(slot, hash));
    }

    /// Forgets every pair.
    pub fn clear(&mut self) {
        self.keys.clear();
    }

    /// Number of pairs (keys, but for the rare keys that share a slot and a hash).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds no pair.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Pairs of `slot`.
    pub fn count(&self, slot: Slot) -> usize {
        self.keys.range(Self::slot_range(slot)).count()
    }

    /// Pairs of the slots in `slots`.
    pub fn count_in(&self, slots: &SlotSet) -> usize {
        let mut count = 0;
        self.walk(slots, None, |_| {
            count += 1;
            true
        });
        count
    }

    /// The pairs of `slot`, in order.
    pub fn of_slot(&self, slot: Slot) -> impl Iterator<Item = SlotKey> + '_ {
        self.keys.range(Self::slot_range(slot)).copied()
    }

    /// Appends to `out` the pairs of `slots` that come after `after` (from the first with
    /// `None`), in order, until `out` holds `budget`. Returns whether pairs of `slots` remain
    /// past the last one appended.
    pub fn next_in(
        &self,
        slots: &SlotSet,
        after: Option<SlotKey>,
        budget: usize,
        out: &mut Vec<SlotKey>,
    ) -> bool {
        let mut more = false;
        self.walk(slots, after, |pair| {
            if out.len() >= budget {
                more = true;
                return false;
            }
            out.push(pair);
            true
        });
        more
    }

    /// Calls `f` on the pairs of `slots` after `after`, in order, while it returns true.
    /// Runs of slots outside `slots` are jumped over, not walked.
    fn walk(&self, slots: &SlotSet, after: Option<SlotKey>, mut f: impl FnMut(SlotKey) -> bool) {
        let mut lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        'ranges: loop {
            for &(slot, hash) in self.keys.range((lower, Bound::Unbounded)) {
                if slots.contains(slot) {
                    if !f((slot, hash)) {
                        return;
                    }
                    continue;
                }
                match slots.next_from(slot) {
                    Some(next) => {
                        lower = Bound::Included((next, 0));
                        continue 'ranges;
                    }
                    None => return,
                }
            }
            return;
        }
    }

    fn slot_range(slot: Slot) -> (Bound<SlotKey>, Bound<SlotKey>) {
        (
            Bound::Included((slot, 0)),
            Bound::Included((slot, u64::MAX)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_counted_and_walked_by_slot() {
        let mut index = SlotIndex::build(vec![(7, 3), (7, 1), (2, 9), (7, 1), (16383, 5)]);
        assert_eq!(index.len(), 4);
        assert_eq!(index.count(7), 2);
        assert_eq!(index.count(3), 0);
        assert_eq!(index.of_slot(7).collect::<Vec<_>>(), [(7, 1), (7, 3)]);
        index.insert(9, u64::MAX);
        index.insert(9, 0);
        let odd = SlotSet::from_fn(|s| s % 2 == 1);
        assert_eq!(index.count_in(&odd), 5);
        let mut out = Vec::new();
        assert!(index.next_in(&odd, None, 2, &mut out));
        assert_eq!(out, [(7, 1), (7, 3)]);
        out.clear();
        assert!(index.next_in(&odd, Some((7, 3)), 2, &mut out));
        assert_eq!(out, [(9, 0), (9, u64::MAX)]);
        out.clear();
        assert!(!index.next_in(&odd, Some((9, u64::MAX)), 2, &mut out));
        assert_eq!(out, [(16383, 5)]);
        out.clear();
        assert!(!index.next_in(&SlotSet::from_fn(|s| s == 2), None, 1, &mut out));
        assert_eq!(out, [(2, 9)]);
        index.remove(7, 1);
        assert_eq!(index.count(7), 1);
        index.clear();
        assert!(index.is_empty());
    }

    #[test]
    fn a_walk_skips_slots_not_asked_for() {
        let pairs: Vec<SlotKey> = (0..16384u16).map(|s| (s, u64::from(s))).collect();
        let index = SlotIndex::build(pairs);
        let wanted = SlotSet::from_fn(|s| s == 0 || s == 8000 || s == 16383);
        let mut out = Vec::new();
        assert!(!index.next_in(&wanted, None, 10, &mut out));
        assert_eq!(out, [(0, 0), (8000, 8000), (16383, 16383)]);
        assert_eq!(index.count_in(&SlotSet::new()), 0);
    }
}
