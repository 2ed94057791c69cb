//! The general form of a sorted set (what Redis calls `skiplist`): the entries in order, cut
//! into blocks, plus a hash table from member to score.
//!
//! - Order: a vector of blocks, each a sorted vector of at most [`BLOCK`] entries; read one
//!   after the other they are the whole set in (score, member) order. Finding a position is
//!   a binary search over the blocks (by their last entry) and then inside one block;
//!   inserting or removing shifts at most one block's entries. A full block is split in two
//!   (or, when appending at either end, a new block is started, so sets filled in order
//!   end up with full blocks); a block that falls under a quarter full is merged with a
//!   neighbour or takes some of its entries.
//! - Ranks: a Fenwick tree over the block lengths gives the number of entries before any
//!   block, and the block holding any rank, in O(log B) for B blocks. Changing one block's
//!   length updates it in O(log B); adding or removing a block rebuilds it in O(B), which
//!   happens at most once every `BLOCK / 4` insertions or removals.
//! - Lookups: a hash table of (member, score) answers ZSCORE in O(1) and gives the score
//!   needed to find a member's position. Members are reference-counted and shared by the
//!   table and the blocks: one allocation per member.
//!
//! So an insertion or removal costs O(log N + BLOCK), a rank O(log N), and a walk over M
//! entries from a known rank O(M).

use super::{Entry, before};
use hashbrown::HashTable;
use rand::{Rng, RngExt};
use std::hash::BuildHasher;
use std::sync::{Arc, LazyLock};

/// Most entries a block holds.
const BLOCK: usize = 256;
/// A block with fewer entries is merged with a neighbour.
const MIN_BLOCK: usize = BLOCK / 4;
/// How full blocks are made when a set is built at once (room to grow without splitting).
const BUILD_FILL: usize = BLOCK * 3 / 4;
/// A member table this small is never shrunk (it would only thrash).
const KEEP_BUCKETS: usize = 64;
/// Bits of a ZSCAN cursor that hold the member table's generation.
const GENERATION_BITS: u32 = 16;
const GENERATION_MASK: u64 = (1 << GENERATION_BITS) - 1;

/// Hashes members: seeded once per process.
static HASHER: LazyLock<foldhash::fast::RandomState> = LazyLock::new(Default::default);

fn hash(member: &[u8]) -> u64 {
    HASHER.hash_one(member)
}

/// One member and its score.
#[derive(Clone, Debug)]
struct Item {
    member: Arc<[u8]>,
    score: f64,
}

impl Item {
    fn entry(&self) -> Entry<'_> {
        Entry {
            member: &self.member,
            score: self.score,
        }
    }

    /// Whether this item sorts before (`score`, `member`).
    fn is_before(&self, member: &[u8], score: f64) -> bool {
        before(&self.member, self.score, member, score)
    }
}

/// Prefix sums of block lengths (a Fenwick tree, 1-based inside).
#[derive(Clone, Debug, Default)]
struct Counts(Vec<usize>);

impl Counts {
    fn rebuild(&mut self, blocks: &[Vec<Item>]) {
        let n = blocks.len();
        self.0.clear();
        self.0.resize(n + 1, 0);
        for (i, block) in blocks.iter().enumerate() {
            let node = i + 1;
            self.0[node] += block.len();
            let parent = node + (node & node.wrapping_neg());
            if parent <= n {
                let carried = self.0[node];
                self.0[parent] += carried;
            }
        }
    }

    fn add(&mut self, block: usize, grow: bool) {
        let mut node = block + 1;
        while node < self.0.len() {
            if grow {
                self.0[node] += 1;
            } else {
                self.0[node] -= 1;
            }
            node += node & node.wrapping_neg();
        }
    }

    /// Entries in blocks `0..block`.
    fn before(&self, block: usize) -> usize {
        let mut node = block;
        let mut sum = 0;
        while node > 0 {
            sum += self.0[node];
            node -= node & node.wrapping_neg();
        }
        sum
    }

    /// The block holding `rank` and the rank's offset in it (every block being non-empty).
    fn find(&self, rank: usize) -> (usize, usize) {
        let n = self.0.len() - 1;
        let mut node = 0;
        let mut left = rank;
        let mut step = if n == 0 { 0 } else { 1 << n.ilog2() };
        while step > 0 {
            let next = node + step;
            if next <= n && self.0[next] <= left {
                node = next;
                left -= self.0[next];
            }
            step >>= 1;
        }
        (node, left)
    }
}

/// The tree form: ordered blocks, their counts and the member table.
#[derive(Clone, Debug, Default)]
pub(super) struct Tree {
    blocks: Vec<Vec<Item>>,
    counts: Counts,
    members: HashTable<Item>,
    /// Changes whenever the member table may have moved entries to other buckets.
    generation: u32,
    /// Sum of the members' lengths.
    member_bytes: usize,
}

fn new_block() -> Vec<Item> {
    Vec::with_capacity(BLOCK)
}

impl Tree {
    /// A tree of entries given in order, with distinct members.
    pub(super) fn from_sorted<'a>(entries: impl ExactSizeIterator<Item = Entry<'a>>) -> Tree {
        let mut tree = Tree {
            members: HashTable::with_capacity(entries.len()),
            ..Tree::default()
        };
        let mut block = new_block();
        for entry in entries {
            let item = Item {
                member: Arc::from(entry.member),
                score: entry.score,
            };
            tree.member_bytes += item.member.len();
            tree.members
                .insert_unique(hash(&item.member), item.clone(), |i| hash(&i.member));
            block.push(item);
            if block.len() == BUILD_FILL {
                tree.blocks.push(std::mem::replace(&mut block, new_block()));
            }
        }
        if !block.is_empty() {
            tree.blocks.push(block);
        }
        tree.counts.rebuild(&tree.blocks);
        tree
    }

    pub(super) fn len(&self) -> usize {
        self.members.len()
    }

    pub(super) fn free_cost(&self) -> usize {
        self.members.len() + self.blocks.len() + 2
    }

    pub(super) fn heap_size(&self) -> usize {
        let item = std::mem::size_of::<Item>();
        let blocks: usize = self.blocks.iter().map(|b| b.capacity() * item).sum();
        blocks
            + self.blocks.capacity() * std::mem::size_of::<Vec<Item>>()
            + self.counts.0.capacity() * std::mem::size_of::<usize>()
            + self.members.num_buckets() * (item + 1)
            // Each member's allocation: two reference counts, then the bytes.
            + self.members.len() * 16
            + self.member_bytes
    }

    pub(super) fn score(&self, member: &[u8]) -> Option<f64> {
        self.members
            .find(hash(member), |i| *i.member == *member)
            .map(|i| i.score)
    }

    /// The block and offset where (`score`, `member`) is or would go.
    fn locate(&self, member: &[u8], score: f64) -> (usize, usize) {
        let last = self.blocks.len().saturating_sub(1);
        let block = self
            .blocks
            .partition_point(|b| b.last().is_some_and(|i| i.is_before(member, score)))
            .min(last);
        let offset = self
            .blocks
            .get(block)
            .map_or(0, |b| b.partition_point(|i| i.is_before(member, score)));
        (block, offset)
    }

    pub(super) fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let (block, offset) = self.locate(member, score);
        Some(self.counts.before(block) + offset)
    }

    pub(super) fn get(&self, rank: usize) -> Option<Entry<'_>> {
        if rank >= self.len() {
            return None;
        }
        let (block, offset) = self.counts.find(rank);
        self.blocks.get(block)?.get(offset).map(Item::entry)
    }

    /// Adds a member that is not in the set.
    pub(super) fn insert_new(&mut self, member: &[u8], score: f64) {
        let item = Item {
            member: Arc::from(member),
            score,
        };
        // With no room left, inserting rebuilds the table: every bucket index changes.
        if self.members.len() == self.members.capacity() {
            self.generation = self.generation.wrapping_add(1);
        }
        self.member_bytes += member.len();
        self.members
            .insert_unique(hash(member), item.clone(), |i| hash(&i.member));
        self.place(item);
    }

    /// Changes the score of a member in the set (to a different one).
    pub(super) fn update(&mut self, member: &[u8], score: f64) {
        let Some(found) = self
            .members
            .find_mut(hash(member), |i| *i.member == *member)
        else {
            return;
        };
        let old = std::mem::replace(&mut found.score, score);
        let (block, offset) = self.locate(member, old);
        let mut item = self.take(block, offset);
        item.score = score;
        self.place(item);
    }

    /// Removes `member`; returns its score if it was there.
    pub(super) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let found = self
            .members
            .find_entry(hash(member), |i| *i.member == *member)
            .ok()?;
        let (item, _) = found.remove();
        self.member_bytes -= item.member.len();
        let (block, offset) = self.locate(member, item.score);
        self.take(block, offset);
        self.shrink_if_sparse();
        Some(item.score)
    }

    /// Puts an item in its place in the blocks.
    fn place(&mut self, item: Item) {
        if self.blocks.is_empty() {
            self.blocks.push(new_block());
            self.counts.rebuild(&self.blocks);
        }
        let (mut block, mut offset) = self.locate(&item.member, item.score);
        if self.blocks[block].len() >= BLOCK {
            let last = self.blocks.len() - 1;
            if block == last && offset == BLOCK {
                // Appending at the very end: start a new block, keep this one full.
                self.blocks.push(new_block());
                (block, offset) = (last + 1, 0);
            } else if block == 0 && offset == 0 {
                self.blocks.insert(0, new_block());
            } else {
                let mut right = new_block();
                right.extend(self.blocks[block].drain(BLOCK / 2..));
                self.blocks.insert(block + 1, right);
                if offset > BLOCK / 2 {
                    (block, offset) = (block + 1, offset - BLOCK / 2);
                }
            }
            self.blocks[block].insert(offset, item);
            self.counts.rebuild(&self.blocks);
        } else {
            self.blocks[block].insert(offset, item);
            self.counts.add(block, true);
        }
    }

    /// Takes the item at (`block`, `offset`) out of the blocks (not out of the table).
    fn take(&mut self, block: usize, offset: usize) -> Item {
        let item = self.blocks[block].remove(offset);
        if self.blocks[block].is_empty() {
            self.blocks.remove(block);
            self.counts.rebuild(&self.blocks);
        } else if self.blocks[block].len() < MIN_BLOCK && self.blocks.len() > 1 {
            self.rebalance(block);
            self.counts.rebuild(&self.blocks);
        } else {
            self.counts.add(block, false);
        }
        item
    }

    /// Evens out a small block with a neighbour: merges them when they fit in one block,
    /// else moves entries so both hold half. The caller rebuilds the counts.
    fn rebalance(&mut self, block: usize) {
        if self.blocks.len() < 2 || block >= self.blocks.len() {
            return;
        }
        let left = if block + 1 < self.blocks.len() {
            block
        } else {
            block - 1
        };
        let total = self.blocks[left].len() + self.blocks[left + 1].len();
        if total <= BLOCK {
            let right = self.blocks.remove(left + 1);
            self.blocks[left].extend(right);
            return;
        }
        let half = total / 2;
        let left_len = self.blocks[left].len();
        if left_len < half {
            let moved: Vec<Item> = self.blocks[left + 1].drain(..half - left_len).collect();
            self.blocks[left].extend(moved);
        } else {
            let moved: Vec<Item> = self.blocks[left].drain(half..).collect();
            self.blocks[left + 1].splice(0..0, moved);
        }
    }

    /// Number of leading entries for which `pred` holds (`pred` holding for a prefix).
    pub(super) fn count_while(&self, mut pred: impl FnMut(Entry<'_>) -> bool) -> usize {
        let block = self
            .blocks
            .partition_point(|b| b.last().is_some_and(|i| pred(i.entry())));
        match self.blocks.get(block) {
            None => self.len(),
            Some(b) => self.counts.before(block) + b.partition_point(|i| pred(i.entry())),
        }
    }

    /// Removes the entries of ranks `start..end` (which must be within the set).
    pub(super) fn remove_range(&mut self, start: usize, end: usize) {
        if start >= end {
            return;
        }
        if end - start == 1 {
            let (block, offset) = self.counts.find(start);
            let item = self.take(block, offset);
            self.forget(&item);
            self.shrink_if_sparse();
            return;
        }
        let (first, mut offset) = self.counts.find(start);
        let mut left = end - start;
        let mut block = first;
        while left > 0 && block < self.blocks.len() {
            let available = self.blocks[block].len() - offset;
            let taken = left.min(available);
            let drained: Vec<Item> = self.blocks[block].drain(offset..offset + taken).collect();
            for item in &drained {
                self.forget(item);
            }
            left -= taken;
            block += 1;
            offset = 0;
        }
        self.blocks.retain(|b| !b.is_empty());
        // Only the blocks at the two ends of the removed run can have become small.
        for candidate in [first + 1, first] {
            if self
                .blocks
                .get(candidate)
                .is_some_and(|b| b.len() < MIN_BLOCK)
            {
                self.rebalance(candidate);
            }
        }
        self.counts.rebuild(&self.blocks);
        self.shrink_if_sparse();
    }

    /// Removes a member taken out of the blocks from the table.
    fn forget(&mut self, item: &Item) {
        if let Ok(found) = self
            .members
            .find_entry(hash(&item.member), |i| i.member == item.member)
        {
            found.remove();
            self.member_bytes -= item.member.len();
        }
    }

    /// Gives memory back when fewer than 1/8 of the table's slots are used (as Redis resizes
    /// its dicts below 10%): a new generation.
    fn shrink_if_sparse(&mut self) {
        let capacity = self.members.capacity();
        if capacity <= KEEP_BUCKETS || self.members.len() * 8 >= capacity {
            return;
        }
        self.members
            .shrink_to((self.members.len() * 2).max(KEEP_BUCKETS / 2), |i| {
                hash(&i.member)
            });
        self.generation = self.generation.wrapping_add(1);
    }

    /// The entries of ranks `start..end` (which must be within the set).
    pub(super) fn range(&self, start: usize, end: usize) -> Iter<'_> {
        if start >= end {
            return Iter {
                blocks: &self.blocks,
                front: (0, 0),
                back: (0, 0),
                remaining: 0,
            };
        }
        let front = self.counts.find(start);
        let (last_block, last_offset) = self.counts.find(end - 1);
        Iter {
            blocks: &self.blocks,
            front,
            back: (last_block, last_offset + 1),
            remaining: end - start,
        }
    }

    /// One step of ZSCAN from `cursor`: adds about `count` entries to `out` and returns the
    /// cursor to continue from, 0 at the end. The cursor holds a bucket index of the member
    /// table and the table's generation: a cursor issued for another layout starts over, so
    /// members present throughout are never missed (some may come twice, as Redis allows).
    pub(super) fn scan<'a>(&'a self, cursor: u64, count: usize, out: &mut Vec<Entry<'a>>) -> u64 {
        let generation = u64::from(self.generation) & GENERATION_MASK;
        let mut bucket = if cursor & GENERATION_MASK == generation {
            usize::try_from(cursor >> GENERATION_BITS).unwrap_or(usize::MAX)
        } else {
            0
        };
        let buckets = self.members.num_buckets();
        let wanted = out.len().saturating_add(count);
        let mut budget = count.saturating_mul(10);
        while bucket < buckets && out.len() < wanted && budget > 0 {
            if let Some(item) = self.members.get_bucket(bucket) {
                out.push(item.entry());
            }
            bucket += 1;
            budget -= 1;
        }
        if bucket >= buckets {
            0
        } else {
            ((bucket as u64) << GENERATION_BITS) | generation
        }
    }

    /// An entry chosen uniformly at random.
    pub(super) fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<Entry<'_>> {
        if self.is_empty() {
            return None;
        }
        self.get(rng.random_range(0..self.len()))
    }

    fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Checks the invariants (tests only).
    #[cfg(test)]
    pub(super) fn check(&self) {
        let mut count = 0;
        let mut previous: Option<&Item> = None;
        for (i, block) in self.blocks.iter().enumerate() {
            assert!(!block.is_empty(), "block {i} is empty");
            assert!(block.len() <= BLOCK, "block {i} is too long");
            assert_eq!(self.counts.before(i), count, "count before block {i}");
            for item in block {
                if let Some(p) = previous {
                    assert!(p.is_before(&item.member, item.score), "order");
                }
                assert_eq!(self.score(&item.member), Some(item.score));
                previous = Some(item);
                count += 1;
            }
        }
        assert_eq!(count, self.members.len());
        let bytes: usize = self.members.iter().map(|i| i.member.len()).sum();
        assert_eq!(bytes, self.member_bytes);
    }
}

/// Entries of a tree in order, from either end.
#[derive(Clone)]
pub(super) struct Iter<'a> {
    blocks: &'a [Vec<Item>],
    /// Block and offset of the next entry from the front.
    front: (usize, usize),
    /// Block and offset just past the next entry from the back.
    back: (usize, usize),
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let (block, offset) = self.front;
        let item = self.blocks.get(block)?.get(offset)?;
        self.front = if offset + 1 < self.blocks[block].len() {
            (block, offset + 1)
        } else {
            (block + 1, 0)
        };
        self.remaining -= 1;
        Some(item.entry())
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
        let (mut block, mut offset) = self.back;
        if offset == 0 {
            block = block.checked_sub(1)?;
            offset = self.blocks.get(block)?.len();
        }
        offset -= 1;
        let item = self.blocks.get(block)?.get(offset)?;
        self.back = (block, offset);
        self.remaining -= 1;
        Some(item.entry())
    }
}

impl ExactSizeIterator for Iter<'_> {}
