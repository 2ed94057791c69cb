//! [`Live`]: a hash as a reader sees it at one instant (fields past their deadline left
//! out). See the parent module's doc.

use super::Hash;
use rand::{Rng, RngExt};

/// A hash as a reader sees it at one instant: the fields past their deadline left out
/// (they stay stored until reclaimed). When no field is due, every call is the hash's own.
#[derive(Clone, Copy)]
pub struct Live<'a> {
    hash: &'a Hash,
    now: u64,
    /// Some field may be past its deadline: filter.
    filtering: bool,
}

impl<'a> Live<'a> {
    /// `hash` as it is at `now`.
    pub(super) fn new(hash: &'a Hash, now: u64) -> Live<'a> {
        Live {
            hash,
            now,
            filtering: hash.overdue(now),
        }
    }

    /// The value of a live `field`.
    pub fn get(&self, field: &[u8]) -> Option<&'a [u8]> {
        let value = self.hash.get(field)?;
        (!self.filtering || self.hash.is_live(field, self.now)).then_some(value)
    }

    /// Whether `field` is live.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Number of live fields.
    pub fn len(&self) -> usize {
        if self.filtering {
            self.iter().count()
        } else {
            self.hash.len()
        }
    }

    /// Whether no field is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live pairs, in the hash's order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let (hash, now, filtering) = (self.hash, self.now, self.filtering);
        hash.iter()
            .filter(move |(field, _)| !filtering || hash.is_live(field, now))
    }

    /// One HSCAN step (see [`Hash::scan`]), live pairs only.
    pub fn scan(&self, cursor: u64, count: usize, out: &mut Vec<(&'a [u8], &'a [u8])>) -> u64 {
        let start = out.len();
        let next = self.hash.scan(cursor, count, out);
        if self.filtering {
            let mut i = start;
            while i < out.len() {
                if self.hash.is_live(out[i].0, self.now) {
                    i += 1;
                } else {
                    out.swap_remove(i);
                }
            }
        }
        next
    }

    /// The live pairs, collected (for random picks while some field is due).
    fn collected(&self) -> Vec<(&'a [u8], &'a [u8])> {
        self.iter().collect()
    }

    /// A live pair chosen uniformly at random.
    pub fn random_pair<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(&'a [u8], &'a [u8])> {
        if !self.filtering {
            return self.hash.random_pair(rng);
        }
        let all = self.collected();
        (!all.is_empty()).then(|| all[rng.random_range(0..all.len())])
    }

    /// `count` live pairs chosen independently at random (see [`Hash::random_pairs`]).
    pub fn random_pairs<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        count: usize,
    ) -> Vec<(&'a [u8], &'a [u8])> {
        if !self.filtering {
            return self.hash.random_pairs(rng, count);
        }
        let all = self.collected();
        if all.is_empty() {
            return Vec::new();
        }
        (0..count)
            .map(|_| all[rng.random_range(0..all.len())])
            .collect()
    }

    /// `count` distinct live pairs chosen at random (see [`Hash::random_distinct`]).
    pub fn random_distinct<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        count: usize,
    ) -> Vec<(&'a [u8], &'a [u8])> {
        if !self.filtering {
            return self.hash.random_distinct(rng, count);
        }
        let all = self.collected();
        if count >= all.len() {
            return all;
        }
        rand::seq::index::sample(rng, all.len(), count)
            .into_iter()
            .map(|i| all[i])
            .collect()
    }
}
