//! The packed form of a small sorted set (what Redis calls `listpack`): one byte buffer
//! holding the entries in (score, member) order.
//!
//! Each entry is `[length] member [score] [length]`: the member's length in one byte (members
//! are at most [`super::MAX_PACKED_LEN`] bytes), the member, its score as 8 little-endian
//! bytes, and the length again so the buffer can be walked from either end. An entry costs
//! ten bytes beyond its member. A score of -0 is stored as 0, as Redis's listpack does. Every operation walks the buffer, which at the sizes this
//! form is kept for (at most [`super::MAX_PACKED_MEMBERS`] entries) is as fast as anything
//! cleverer.

use super::{Entry, before};

/// Bytes an entry takes beyond its member.
const OVERHEAD: usize = 10;

/// Entries packed one after another, in order.
#[derive(Clone, Default)]
pub(super) struct Packed {
    bytes: Vec<u8>,
    len: usize,
}

/// The entry starting at byte `at`, and where the next one starts.
fn entry_at(bytes: &[u8], at: usize) -> (Entry<'_>, usize) {
    let len = usize::from(bytes[at]);
    let member = &bytes[at + 1..at + 1 + len];
    let score = read_score(&bytes[at + 1 + len..at + 9 + len]);
    (Entry { member, score }, at + OVERHEAD + len)
}

/// The entry ending at byte `end` (exclusive), and where it starts.
fn entry_before(bytes: &[u8], end: usize) -> (Entry<'_>, usize) {
    let len = usize::from(bytes[end - 1]);
    let start = end - OVERHEAD - len;
    (entry_at(bytes, start).0, start)
}

fn read_score(bytes: &[u8]) -> f64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(bytes);
    f64::from_le_bytes(raw)
}

fn encode(member: &[u8], score: f64) -> Vec<u8> {
    // Redis's listpack stores an integral score as an integer, which turns -0 into 0.
    let score = if score == 0.0 { 0.0 } else { score };
    // Callers keep members within the packed limit, far below 256 bytes.
    let len = member.len() as u8;
    let mut out = Vec::with_capacity(OVERHEAD + member.len());
    out.push(len);
    out.extend_from_slice(member);
    out.extend_from_slice(&score.to_le_bytes());
    out.push(len);
    out
}

impl Packed {
    /// Packs entries given in order.
    pub(super) fn from_sorted<'a>(entries: impl Iterator<Item = Entry<'a>>) -> Packed {
        let mut packed = Packed::default();
        for entry in entries {
            packed
                .bytes
                .extend_from_slice(&encode(entry.member, entry.score));
            packed.len += 1;
        }
        packed
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn heap_size(&self) -> usize {
        self.bytes.capacity()
    }

    pub(super) fn iter(&self) -> Iter<'_> {
        Iter {
            bytes: &self.bytes,
            front: 0,
            back: self.bytes.len(),
            remaining: self.len,
        }
    }

    /// The entries of ranks `start..end` (which must be within the set).
    pub(super) fn range(&self, start: usize, end: usize) -> Iter<'_> {
        let mut iter = self.iter();
        let from_back = self.len - end;
        // Walk in from the nearer end for each bound.
        for _ in 0..start {
            iter.next();
        }
        for _ in 0..from_back {
            iter.next_back();
        }
        iter
    }

    /// The byte offset, rank and score of `member`.
    fn find(&self, member: &[u8]) -> Option<(usize, usize, f64)> {
        let mut at = 0;
        let mut rank = 0;
        while at < self.bytes.len() {
            let (entry, next) = entry_at(&self.bytes, at);
            if entry.member == member {
                return Some((at, rank, entry.score));
            }
            at = next;
            rank += 1;
        }
        None
    }

    pub(super) fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|(_, _, score)| score)
    }

    pub(super) fn rank(&self, member: &[u8]) -> Option<usize> {
        self.find(member).map(|(_, rank, _)| rank)
    }

    /// Adds an entry for a member that is not in the set.
    pub(super) fn insert_new(&mut self, member: &[u8], score: f64) {
        let mut at = 0;
        while at < self.bytes.len() {
            let (entry, next) = entry_at(&self.bytes, at);
            if before(member, score, entry.member, entry.score) {
                break;
            }
            at = next;
        }
        let encoded = encode(member, score);
        self.bytes.splice(at..at, encoded);
        self.len += 1;
    }

    /// Removes `member`; returns its score if it was there.
    pub(super) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (at, _, score) = self.find(member)?;
        self.bytes.drain(at..at + OVERHEAD + member.len());
        self.len -= 1;
        Some(score)
    }

    /// Number of leading entries for which `pred` holds.
    pub(super) fn count_while(&self, mut pred: impl FnMut(Entry<'_>) -> bool) -> usize {
        self.iter().take_while(|e| pred(*e)).count()
    }

    /// Removes the entries of ranks `start..end` (which must be within the set).
    pub(super) fn remove_range(&mut self, start: usize, end: usize) {
        let iter = self.range(start, end);
        let (from, to) = (iter.front, iter.back);
        self.bytes.drain(from..to);
        self.len -= end - start;
    }
}

/// The entries of a packed set, in order, from either end.
#[derive(Clone)]
pub(super) struct Iter<'a> {
    bytes: &'a [u8],
    front: usize,
    back: usize,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let (entry, next) = entry_at(self.bytes, self.front);
        self.front = next;
        self.remaining -= 1;
        Some(entry)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let (entry, start) = entry_before(self.bytes, self.back);
        self.back = start;
        self.remaining -= 1;
        Some(entry)
    }
}

impl ExactSizeIterator for Iter<'_> {}
