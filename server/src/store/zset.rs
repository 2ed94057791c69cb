//! A sorted set: members ordered by (score, member), with rank queries and member → score
//! lookups, kept in one of two forms as Redis keeps it.
//!
//! - Packed (`listpack`) while the set has at most [`MAX_PACKED_MEMBERS`] members of at most
//!   [`MAX_PACKED_LEN`] bytes: one buffer of entries in order, walked for every operation
//!   (see `packed`).
//! - Tree (`skiplist`) past either limit, for good: ordered blocks with a Fenwick tree of
//!   their lengths for ranks, and a hash table member → score (see `tree`). Insertions,
//!   removals and ranks are O(log N); range walks cost O(log N) to start and O(1) per entry.
//!
//! Order is by score, then by member bytes (shorter first when one is a prefix of the other);
//! scores are never NaN, and `-0` and `0` compare equal, as in Redis. Commands that rebuild
//! a set (ZUNIONSTORE, ZRANGESTORE…) choose the form with [`ZSet::from_entries`], which
//! packs a result within the limits, as Redis does.
//!
//! This module owns the representation; the commands that use it live in `command/zsets.rs`.

mod packed;
#[cfg(test)]
mod tests;
mod tree;

use packed::Packed;
use rand::{Rng, RngExt};
use std::cmp::Ordering;
use tree::Tree;

/// Most members a packed set holds (Redis's `zset-max-listpack-entries`).
pub const MAX_PACKED_MEMBERS: usize = 128;
/// Longest member a packed set holds (Redis's `zset-max-listpack-value`).
pub const MAX_PACKED_LEN: usize = 64;

// Packed lengths are one byte each.
const _: () = assert!(MAX_PACKED_LEN <= u8::MAX as usize);

/// A member and its score, borrowed from a set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry<'a> {
    pub member: &'a [u8],
    pub score: f64,
}

/// The order of entries: by score, then by member bytes.
pub fn compare(a_member: &[u8], a_score: f64, b_member: &[u8], b_score: f64) -> Ordering {
    if a_score < b_score {
        Ordering::Less
    } else if a_score > b_score {
        Ordering::Greater
    } else {
        a_member.cmp(b_member)
    }
}

/// Whether (`a_score`, `a_member`) sorts strictly before (`b_score`, `b_member`).
fn before(a_member: &[u8], a_score: f64, b_member: &[u8], b_score: f64) -> bool {
    compare(a_member, a_score, b_member, b_score) == Ordering::Less
}

/// What [`ZSet::insert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insert {
    /// The member was not there.
    Added,
    /// The member was there with another score.
    Updated,
    /// The member was there with this score already.
    Unchanged,
}

/// A sorted set. See the module documentation.
#[derive(Clone, Default)]
pub struct ZSet {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Packed(Packed),
    Tree(Box<Tree>),
}

impl Default for Repr {
    fn default() -> Repr {
        Repr::Packed(Packed::default())
    }
}

impl ZSet {
    /// An empty set, in the packed form.
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// A set of `entries` (distinct members, any order), packed when it is within the limits
    /// (as Redis chooses for the sets ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE and ZRANGESTORE
    /// build).
    pub fn from_entries(mut entries: Vec<(Vec<u8>, f64)>) -> ZSet {
        entries.sort_by(|a, b| compare(&a.0, a.1, &b.0, b.1));
        let borrowed = entries.iter().map(|(member, score)| Entry {
            member,
            score: *score,
        });
        let packable = entries.len() <= MAX_PACKED_MEMBERS
            && entries.iter().all(|(m, _)| m.len() <= MAX_PACKED_LEN);
        let repr = if packable {
            Repr::Packed(Packed::from_sorted(borrowed))
        } else {
            Repr::Tree(Box::new(Tree::from_sorted(borrowed)))
        };
        ZSet { repr }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.len(),
            Repr::Tree(t) => t.len(),
        }
    }

    /// Whether there is no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Packed(_) => "listpack",
            Repr::Tree(_) => "skiplist",
        }
    }

    /// Allocations freed when this value is dropped (large ones are freed lazily).
    pub fn free_cost(&self) -> usize {
        match &self.repr {
            Repr::Packed(_) => 1,
            Repr::Tree(t) => t.free_cost(),
        }
    }

    /// Approximate heap bytes held.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.heap_size(),
            Repr::Tree(t) => std::mem::size_of::<Tree>() + t.heap_size(),
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Packed(p) => p.score(member),
            Repr::Tree(t) => t.score(member),
        }
    }

    /// The 0-based position of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Packed(p) => p.rank(member),
            Repr::Tree(t) => t.rank(member),
        }
    }

    /// The entry at 0-based position `rank` in ascending order.
    pub fn get(&self, rank: usize) -> Option<Entry<'_>> {
        match &self.repr {
            Repr::Packed(p) => p.iter().nth(rank),
            Repr::Tree(t) => t.get(rank),
        }
    }

    /// Sets the score of `member`, adding it if missing (converting a packed set that would
    /// pass a limit). A NaN score is the caller's to refuse.
    pub fn insert(&mut self, member: &[u8], score: f64) -> Insert {
        match self.score(member) {
            Some(old) if old == score => return Insert::Unchanged,
            Some(_) => {
                match &mut self.repr {
                    Repr::Packed(p) => {
                        p.remove(member);
                        p.insert_new(member, score);
                    }
                    Repr::Tree(t) => t.update(member, score),
                }
                return Insert::Updated;
            }
            None => {}
        }
        if let Repr::Packed(p) = &self.repr
            && (p.len() + 1 > MAX_PACKED_MEMBERS || member.len() > MAX_PACKED_LEN)
        {
            self.repr = Repr::Tree(Box::new(Tree::from_sorted(p.iter())));
        }
        match &mut self.repr {
            Repr::Packed(p) => p.insert_new(member, score),
            Repr::Tree(t) => t.insert_new(member, score),
        }
        Insert::Added
    }

    /// Removes `member`; returns its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Packed(p) => p.remove(member),
            Repr::Tree(t) => t.remove(member),
        }
    }

    /// Every entry, in ascending order (reverse it for descending).
    pub fn iter(&self) -> Iter<'_> {
        self.range(0, self.len())
    }

    /// The entries of ranks `start..end` in ascending order; bounds past the end are cut.
    pub fn range(&self, start: usize, end: usize) -> Iter<'_> {
        let end = end.min(self.len());
        let start = start.min(end);
        Iter(match &self.repr {
            Repr::Packed(p) => IterRepr::Packed(p.range(start, end)),
            Repr::Tree(t) => IterRepr::Tree(t.range(start, end)),
        })
    }

    /// Number of leading entries (in ascending order) for which `pred` holds. `pred` must
    /// hold for a prefix of the set and not after it (a lower bound on the score, say): this
    /// is a binary search on the tree form.
    pub fn count_while(&self, pred: impl FnMut(Entry<'_>) -> bool) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.count_while(pred),
            Repr::Tree(t) => t.count_while(pred),
        }
    }

    /// Removes the entries of ranks `start..end`; bounds past the end are cut. Returns how
    /// many were removed.
    pub fn remove_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        match &mut self.repr {
            Repr::Packed(p) => p.remove_range(start, end),
            Repr::Tree(t) => t.remove_range(start, end),
        }
        end - start
    }

    /// Removes and returns up to `count` entries from the low end (or the high end with
    /// `highest`), in the order they are taken.
    pub fn pop(&mut self, count: usize, highest: bool) -> Vec<(Vec<u8>, f64)> {
        let len = self.len();
        let count = count.min(len);
        let (start, end) = if highest {
            (len - count, len)
        } else {
            (0, count)
        };
        let range = self.range(start, end);
        let taken: Vec<(Vec<u8>, f64)> = if highest {
            range.rev().map(|e| (e.member.to_vec(), e.score)).collect()
        } else {
            range.map(|e| (e.member.to_vec(), e.score)).collect()
        };
        self.remove_range(start, end);
        taken
    }

    /// One step of ZSCAN from `cursor`: adds about `count` entries to `out` and returns the
    /// cursor to continue from, 0 at the end. A packed set is returned whole in one step, as
    /// Redis does.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, out: &mut Vec<Entry<'a>>) -> u64 {
        match &self.repr {
            Repr::Packed(p) => {
                out.extend(p.iter());
                0
            }
            Repr::Tree(t) => t.scan(cursor, count, out),
        }
    }

    /// An entry chosen uniformly at random; `None` when empty.
    pub fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<Entry<'_>> {
        match &self.repr {
            Repr::Packed(p) => {
                if p.len() == 0 {
                    return None;
                }
                p.iter().nth(rng.random_range(0..p.len()))
            }
            Repr::Tree(t) => t.random(rng),
        }
    }

    /// `count` entries chosen independently at random (the same one may come several times);
    /// empty when the set is.
    pub fn random_many<R: Rng + ?Sized>(&self, rng: &mut R, count: usize) -> Vec<Entry<'_>> {
        let mut out = Vec::with_capacity(count.min(1024));
        match &self.repr {
            Repr::Packed(p) => {
                // At most 128 entries: index them once instead of walking for every pick.
                let all: Vec<Entry<'_>> = p.iter().collect();
                if !all.is_empty() {
                    out.extend((0..count).map(|_| all[rng.random_range(0..all.len())]));
                }
            }
            Repr::Tree(t) => {
                for _ in 0..count {
                    match t.random(rng) {
                        Some(entry) => out.push(entry),
                        None => break,
                    }
                }
            }
        }
        out
    }

    /// `count` distinct entries chosen at random; the whole set in order when it has no more
    /// than `count` members.
    pub fn random_distinct<R: Rng + ?Sized>(&self, rng: &mut R, count: usize) -> Vec<Entry<'_>> {
        let len = self.len();
        if count >= len {
            return self.iter().collect();
        }
        // Distinct ranks, drawn without replacement, then looked up.
        rand::seq::index::sample(rng, len, count)
            .into_iter()
            .filter_map(|rank| self.get(rank))
            .collect()
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &ZSet) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|e| (String::from_utf8_lossy(e.member), e.score)),
            )
            .finish()
    }
}

/// Entries of a set in ascending order, from either end.
#[derive(Clone)]
pub struct Iter<'a>(IterRepr<'a>);

#[derive(Clone)]
enum IterRepr<'a> {
    Packed(packed::Iter<'a>),
    Tree(tree::Iter<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        match &mut self.0 {
            IterRepr::Packed(i) => i.next(),
            IterRepr::Tree(i) => i.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Packed(i) => i.size_hint(),
            IterRepr::Tree(i) => i.size_hint(),
        }
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Packed(i) => i.next_back(),
            IterRepr::Tree(i) => i.next_back(),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}
