//! A hash: field → value, kept in one of two forms, as Redis keeps it.
//!
//! - Packed (what Redis calls `listpack`) while the hash has at most [`MAX_PACKED_FIELDS`]
//!   fields and no field or value is longer than [`MAX_PACKED_LEN`] bytes: a single
//!   allocation laid out as `[pair count: 2 bytes] ([field length] field [value length]
//!   value)...`, every length one byte. Lookups scan it from the start, as Redis scans its
//!   listpack, and a pair costs two bytes beyond its own.
//! - Table (`hashtable`) once either limit is passed, for good (Redis never converts back):
//!   a hash table whose entries are one allocation each, `[field length as LEB128] field
//!   value`.
//!
//! A field may have a deadline (Redis 7.4's HEXPIRE family): the hash then keeps its pairs
//! in either form inside an [`Expiring`] box beside a map of field → absolute deadline in
//! unix ms (Redis's `listpackex` for a packed one; a table stays `hashtable`). It stays in
//! that box once it has had a deadline, as Redis keeps `listpackex`. Pairs past their
//! deadline stay until reclaimed ([`Hash::reclaim`], by the active expiry cycle or by the
//! next write on the key's primary); readers see the hash at an instant through [`Live`],
//! which skips them.
//!
//! HSCAN walks a table by bucket index. The table carries a generation that changes whenever
//! entries may have moved to other buckets (growth, in-place rehash, shrinking), and a cursor
//! carries the generation it was issued for: a stale cursor restarts the walk, so fields
//! present throughout are never missed (they may be seen twice, as Redis allows).
//!
//! This module owns the representation; the commands are in `command/hashes.rs`.

use hashbrown::HashTable;
use rand::{Rng, RngExt};
use std::hash::BuildHasher;

mod live;
mod packed;

pub use live::Live;

/// Most fields a packed hash holds: Redis 7's built-in default `hash-max-listpack-entries`
/// (512; the sample `redis.conf` says 128 for older versions' sake, but a server started
/// without a file, like the reference, converts at 513).
pub const MAX_PACKED_FIELDS: usize = 512;
/// Longest field or value a packed hash holds (Redis's `hash-max-listpack-value`).
pub const MAX_PACKED_LEN: usize = 64;

/// A hash: field → value. Small hashes are one packed allocation (Redis's listpack); large
/// ones a hash table.
#[derive(Clone, Default)]
pub struct Hash {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// See [`packed`]. Empty (no allocation) when the hash is empty.
    Packed(Box<[u8]>),
    Table(Box<Table>),
    /// A hash that has had field deadlines. Its `pairs` are never `Expiring` themselves.
    Expiring(Box<Expiring>),
}

/// The pairs of a hash with field deadlines, and the deadlines.
#[derive(Clone, Default)]
struct Expiring {
    pairs: Hash,
    /// Field → absolute deadline (unix ms). Only fields present in `pairs`.
    deadlines: hashbrown::HashMap<Box<[u8]>, u64>,
    /// The earliest deadline (`u64::MAX` when there is none).
    next: u64,
}

impl Expiring {
    /// Recomputes `next`.
    fn recompute_next(&mut self) {
        self.next = self.deadlines.values().copied().min().unwrap_or(u64::MAX);
    }

    /// Drops the deadline of `field`; returns whether it had one. Keeps `next` exact.
    fn drop_deadline(&mut self, field: &[u8]) -> bool {
        match self.deadlines.remove(field) {
            Some(at) => {
                if at == self.next {
                    self.recompute_next();
                }
                true
            }
            None => false,
        }
    }
}

impl Default for Repr {
    fn default() -> Repr {
        Repr::Packed(Box::default())
    }
}

impl Hash {
    /// An empty hash, in the packed form.
    pub fn new() -> Hash {
        Hash::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed(bytes) => packed::len(bytes),
            Repr::Table(table) => table.entries.len(),
            Repr::Expiring(e) => e.pairs.len(),
        }
    }

    /// Whether there is no field.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Packed(_) => "listpack",
            Repr::Table(_) => "hashtable",
            Repr::Expiring(e) if matches!(e.pairs.repr, Repr::Packed(_)) => "listpackex",
            Repr::Expiring(_) => "hashtable",
        }
    }

    /// Allocations freed when this value is dropped (large ones are freed lazily).
    pub fn free_cost(&self) -> usize {
        match &self.repr {
            Repr::Packed(_) => 1,
            // One per pair, plus the table's own buckets.
            Repr::Table(table) => table.entries.len() + 1,
            Repr::Expiring(e) => e.pairs.free_cost() + e.deadlines.len() + 2,
        }
    }

    /// Approximate heap bytes held (the struct itself lives inline in a `Value`).
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Packed(bytes) => crate::memory::allocation_size(bytes.len()),
            Repr::Table(table) => table.heap_size(),
            Repr::Expiring(e) => {
                let deadlines: usize = e
                    .deadlines
                    .keys()
                    .map(|field| crate::memory::allocation_size(field.len()))
                    .sum();
                crate::memory::allocation_size(std::mem::size_of::<Expiring>())
                    + e.pairs.heap_size()
                    + deadlines
                    + e.deadlines.capacity() * (std::mem::size_of::<(Box<[u8]>, u64)>() + 1)
            }
        }
    }

    /// The value of `field`, whatever its deadline (see [`Live`] for a reader's view).
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Packed(bytes) => packed::get(bytes, field),
            Repr::Table(table) => table.get(field).map(Pair::value),
            Repr::Expiring(e) => e.pairs.get(field),
        }
    }

    /// Whether `field` is present.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value` and drops its deadline (as HSET does); returns whether the
    /// field is new. A new field goes after the others in the packed form. Converts to a
    /// table when a limit is passed.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Repr::Expiring(e) = &mut self.repr {
            e.drop_deadline(field);
            return e.pairs.insert(field, value);
        }
        self.insert_keeping_deadline(field, value)
    }

    /// Sets `field` to `value`, keeping its deadline (as HINCRBY does); returns whether the
    /// field is new.
    pub fn insert_keeping_deadline(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Repr::Expiring(e) = &mut self.repr {
            return e.pairs.insert(field, value);
        }
        if matches!(self.repr, Repr::Packed(_))
            && (field.len() > MAX_PACKED_LEN || value.len() > MAX_PACKED_LEN)
        {
            self.convert_to_table();
        }
        let added = match &mut self.repr {
            Repr::Packed(bytes) => packed::set(bytes, field, value),
            Repr::Table(table) => table.insert(field, value),
            Repr::Expiring(e) => e.pairs.insert(field, value),
        };
        if self.len() > MAX_PACKED_FIELDS && matches!(self.repr, Repr::Packed(_)) {
            self.convert_to_table();
        }
        added
    }

    /// Removes `field`; returns whether it was present.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Packed(bytes) => packed::remove(bytes, field),
            Repr::Table(table) => table.remove(field),
            Repr::Expiring(e) => {
                e.drop_deadline(field);
                e.pairs.remove(field)
            }
        }
    }

    /// The deadline of `field` (absolute unix ms), if it has one.
    pub fn deadline(&self, field: &[u8]) -> Option<u64> {
        match &self.repr {
            Repr::Expiring(e) => e.deadlines.get(field).copied(),
            _ => None,
        }
    }

    /// Gives `field` (which must be present) the deadline `at`.
    pub fn set_deadline(&mut self, field: &[u8], at: u64) {
        if !self.contains(field) {
            return;
        }
        if !matches!(self.repr, Repr::Expiring(_)) {
            let pairs = std::mem::take(self);
            self.repr = Repr::Expiring(Box::new(Expiring {
                pairs,
                deadlines: hashbrown::HashMap::new(),
                next: u64::MAX,
            }));
        }
        if let Repr::Expiring(e) = &mut self.repr {
            match e.deadlines.get_mut(field) {
                Some(old) => {
                    let was_next = *old == e.next;
                    *old = at;
                    if was_next {
                        e.recompute_next();
                    }
                }
                None => {
                    e.deadlines.insert(field.into(), at);
                }
            }
            e.next = e.next.min(at);
        }
    }

    /// Drops the deadline of `field` (HPERSIST); returns whether it had one.
    pub fn clear_deadline(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Expiring(e) => e.drop_deadline(field),
            _ => false,
        }
    }

    /// Whether some field has a deadline.
    pub fn has_deadlines(&self) -> bool {
        matches!(&self.repr, Repr::Expiring(e) if !e.deadlines.is_empty())
    }

    /// The earliest field deadline, if a field has one.
    pub fn next_deadline(&self) -> Option<u64> {
        match &self.repr {
            Repr::Expiring(e) if !e.deadlines.is_empty() => Some(e.next),
            _ => None,
        }
    }

    /// Number of fields with a deadline.
    pub fn deadlines(&self) -> usize {
        match &self.repr {
            Repr::Expiring(e) => e.deadlines.len(),
            _ => 0,
        }
    }

    /// Whether some field is past its deadline at `now`.
    pub fn overdue(&self, now: u64) -> bool {
        matches!(&self.repr, Repr::Expiring(e) if e.next <= now)
    }

    /// Whether `field` is present and not past its deadline at `now`.
    fn is_live(&self, field: &[u8], now: u64) -> bool {
        self.deadline(field).is_none_or(|at| at > now)
    }

    /// Removes the fields past their deadline at `now`; returns how many.
    pub fn reclaim(&mut self, now: u64) -> usize {
        let Repr::Expiring(e) = &mut self.repr else {
            return 0;
        };
        if e.next > now {
            return 0;
        }
        let due: Vec<Box<[u8]>> = e
            .deadlines
            .iter()
            .filter(|&(_, &at)| at <= now)
            .map(|(field, _)| field.clone())
            .collect();
        for field in &due {
            e.deadlines.remove(field);
            e.pairs.remove(field);
        }
        e.recompute_next();
        due.len()
    }

    /// The hash as a reader sees it at `now`: fields past their deadline left out.
    pub fn live(&self, now: u64) -> Live<'_> {
        Live::new(self, now)
    }

    /// Every (field, value) pair: in insertion order while packed, in table order after.
    pub fn iter(&self) -> Iter<'_> {
        match &self.repr {
            Repr::Packed(bytes) => Iter(IterRepr::Packed(packed::iter(bytes))),
            Repr::Table(table) => Iter(IterRepr::Table(table.entries.iter())),
            Repr::Expiring(e) => e.pairs.iter(),
        }
    }

    /// One step of HSCAN from `cursor`: adds about `count` pairs to `out` and returns the
    /// cursor to continue from, 0 when the walk is over. A packed hash is returned whole in
    /// one step, as Redis does.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        out: &mut Vec<(&'a [u8], &'a [u8])>,
    ) -> u64 {
        match &self.repr {
            Repr::Packed(bytes) => {
                out.extend(packed::iter(bytes));
                0
            }
            Repr::Table(table) => table.scan(cursor, count, out),
            Repr::Expiring(e) => e.pairs.scan(cursor, count, out),
        }
    }

    /// A pair chosen uniformly at random, `None` when empty.
    pub fn random_pair<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Packed(bytes) => {
                let len = packed::len(bytes);
                if len == 0 {
                    return None;
                }
                packed::iter(bytes).nth(rng.random_range(0..len))
            }
            Repr::Table(table) => table.random(rng).map(Pair::split),
            Repr::Expiring(e) => e.pairs.random_pair(rng),
        }
    }

    /// `count` pairs chosen independently at random (the same pair may come several times);
    /// empty when the hash is.
    pub fn random_pairs<R: Rng + ?Sized>(&self, rng: &mut R, count: usize) -> Vec<(&[u8], &[u8])> {
        if let Repr::Expiring(e) = &self.repr {
            return e.pairs.random_pairs(rng, count);
        }
        let mut out = Vec::with_capacity(count.min(1024));
        match &self.repr {
            Repr::Packed(bytes) => {
                // A few hundred pairs at most: index them once instead of walking for
                // every pick.
                let all: Vec<_> = packed::iter(bytes).collect();
                if !all.is_empty() {
                    out.extend((0..count).map(|_| all[rng.random_range(0..all.len())]));
                }
            }
            Repr::Table(table) => {
                for _ in 0..count {
                    match table.random(rng) {
                        Some(pair) => out.push(pair.split()),
                        None => break,
                    }
                }
            }
            Repr::Expiring(_) => {}
        }
        out
    }

    /// `count` distinct pairs chosen at random, in random order; the whole hash (in its own
    /// order) when it has no more than `count` fields.
    pub fn random_distinct<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        count: usize,
    ) -> Vec<(&[u8], &[u8])> {
        if let Repr::Expiring(e) = &self.repr {
            return e.pairs.random_distinct(rng, count);
        }
        let len = self.len();
        if count >= len {
            return self.iter().collect();
        }
        if let Repr::Table(table) = &self.repr
            && count.saturating_mul(3) <= len
        {
            // Few picks from many: draw until enough distinct ones came up.
            let mut seen = std::collections::HashSet::with_capacity(count);
            let mut out = Vec::with_capacity(count);
            while out.len() < count {
                let Some(pair) = table.random(rng) else { break };
                let (field, value) = pair.split();
                if seen.insert(field) {
                    out.push((field, value));
                }
            }
            return out;
        }
        // Many picks (or a small hash): choose among all of them at once.
        let all: Vec<_> = self.iter().collect();
        rand::seq::index::sample(rng, len, count)
            .into_iter()
            .map(|i| all[i])
            .collect()
    }

    /// Moves the pairs into a table, for good.
    fn convert_to_table(&mut self) {
        let Repr::Packed(bytes) = &self.repr else {
            return;
        };
        let mut table = Table::with_capacity(packed::len(bytes));
        for (field, value) in packed::iter(bytes) {
            table.insert(field, value);
        }
        self.repr = Repr::Table(Box::new(table));
    }
}

impl PartialEq for Hash {
    /// Same fields with the same values and deadlines, whatever the form.
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len()
            && self.deadlines() == other.deadlines()
            && self
                .iter()
                .all(|(f, v)| other.get(f) == Some(v) && other.deadline(f) == self.deadline(f))
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        f.debug_map()
            .entries(self.iter().map(|(k, v)| (text(k), text(v))))
            .finish()
    }
}

/// The pairs of a hash, borrowed.
pub struct Iter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Packed(packed::Iter<'a>),
    Table(hashbrown::hash_table::Iter<'a, Pair>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Packed(it) => it.next(),
            IterRepr::Table(it) => it.next().map(Pair::split),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Packed(it) => it.size_hint(),
            IterRepr::Table(it) => it.size_hint(),
        }
    }
}

/// The table form.
#[derive(Clone)]
struct Table {
    entries: HashTable<Pair>,
    hasher: foldhash::fast::RandomState,
    /// Changes whenever entries may have moved to other buckets.
    generation: u32,
    /// Sum of the pairs' allocation sizes.
    pair_bytes: usize,
}

/// Bits of an HSCAN cursor that hold the table generation (the bucket index is above them).
const GENERATION_BITS: u32 = 16;
const GENERATION_MASK: u64 = (1 << GENERATION_BITS) - 1;
/// A table this small is never shrunk (it would only thrash).
const KEEP_BUCKETS: usize = 64;

impl Table {
    fn with_capacity(capacity: usize) -> Table {
        Table {
            entries: HashTable::with_capacity(capacity),
            hasher: foldhash::fast::RandomState::default(),
            generation: 0,
            pair_bytes: 0,
        }
    }

    fn heap_size(&self) -> usize {
        std::mem::size_of::<Table>()
            + self.entries.num_buckets() * (std::mem::size_of::<Pair>() + 1)
            + self.pair_bytes
    }

    fn get(&self, field: &[u8]) -> Option<&Pair> {
        let hash = self.hasher.hash_one(field);
        self.entries.find(hash, |p| p.field() == field)
    }

    fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        let hash = self.hasher.hash_one(field);
        if let Some(pair) = self.entries.find_mut(hash, |p| p.field() == field) {
            self.pair_bytes -= pair.0.len();
            pair.set_value(value);
            self.pair_bytes += pair.0.len();
            return false;
        }
        // With no room left, inserting rebuilds the table: every bucket index changes.
        if self.entries.len() == self.entries.capacity() {
            self.generation = self.generation.wrapping_add(1);
        }
        let pair = Pair::new(field, value);
        self.pair_bytes += pair.0.len();
        let hasher = &self.hasher;
        self.entries
            .insert_unique(hash, pair, |p| hasher.hash_one(p.field()));
        true
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let hash = self.hasher.hash_one(field);
        let Ok(found) = self.entries.find_entry(hash, |p| p.field() == field) else {
            return false;
        };
        let (pair, _) = found.remove();
        self.pair_bytes -= pair.0.len();
        self.shrink_if_sparse();
        true
    }

    /// Gives memory back when fewer than 1/8 of the slots are used (as Redis resizes its
    /// dicts below 10%), rebuilding at twice the length: a new generation.
    fn shrink_if_sparse(&mut self) {
        let capacity = self.entries.capacity();
        if capacity <= KEEP_BUCKETS || self.entries.len() * 8 >= capacity {
            return;
        }
        let hasher = &self.hasher;
        self.entries
            .shrink_to((self.entries.len() * 2).max(KEEP_BUCKETS / 2), |p| {
                hasher.hash_one(p.field())
            });
        self.generation = self.generation.wrapping_add(1);
    }

    /// Visits buckets from the cursor's until `count` pairs are found, the table ends, or
    /// ten buckets per wanted pair were looked at (a sparse table answers with fewer).
    fn scan<'a>(&'a self, cursor: u64, count: usize, out: &mut Vec<(&'a [u8], &'a [u8])>) -> u64 {
        let generation = u64::from(self.generation) & GENERATION_MASK;
        let mut bucket = if cursor & GENERATION_MASK == generation {
            usize::try_from(cursor >> GENERATION_BITS).unwrap_or(usize::MAX)
        } else {
            // Issued for another layout of the table: start over.
            0
        };
        let buckets = self.entries.num_buckets();
        let wanted = out.len().saturating_add(count);
        let mut budget = count.saturating_mul(10);
        while bucket < buckets && out.len() < wanted && budget > 0 {
            if let Some(pair) = self.entries.get_bucket(bucket) {
                out.push(pair.split());
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

    /// A pair chosen uniformly at random: random buckets until a full one (the table is at
    /// least 1/8 full unless tiny), with a walk to a random position as a backstop.
    fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<&Pair> {
        let len = self.entries.len();
        if len == 0 {
            return None;
        }
        let buckets = self.entries.num_buckets();
        for _ in 0..256 {
            if let Some(pair) = self.entries.get_bucket(rng.random_range(0..buckets)) {
                return Some(pair);
            }
        }
        self.entries.iter().nth(rng.random_range(0..len))
    }
}

/// One field and its value in one allocation: `[field length as LEB128] field value`.
#[derive(Clone)]
struct Pair(Box<[u8]>);

impl Pair {
    fn new(field: &[u8], value: &[u8]) -> Pair {
        let mut bytes = Vec::with_capacity(10 + field.len() + value.len());
        let mut n = field.len();
        while n >= 0x80 {
            bytes.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        bytes.push(n as u8);
        bytes.extend_from_slice(field);
        bytes.extend_from_slice(value);
        Pair(bytes.into_boxed_slice())
    }

    /// The field and the value.
    fn split(&self) -> (&[u8], &[u8]) {
        let (mut len, mut header) = (0usize, 0);
        for (i, &b) in self.0.iter().take(9).enumerate() {
            len |= usize::from(b & 0x7f) << (7 * i);
            header = i + 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        let rest = &self.0[header..];
        rest.split_at(len.min(rest.len()))
    }

    fn field(&self) -> &[u8] {
        self.split().0
    }

    fn value(&self) -> &[u8] {
        self.split().1
    }

    /// Replaces the value, in place when it has the same length.
    fn set_value(&mut self, value: &[u8]) {
        let (field, old) = self.split();
        if old.len() == value.len() {
            let start = self.0.len() - value.len();
            self.0[start..].copy_from_slice(value);
        } else {
            *self = Pair::new(field, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(hash: &Hash) -> Vec<(Vec<u8>, Vec<u8>)> {
        hash.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()
    }

    fn filled(n: usize) -> Hash {
        let mut hash = Hash::new();
        for i in 0..n {
            hash.insert(format!("f{i}").as_bytes(), format!("v{i}").as_bytes());
        }
        hash
    }

    #[test]
    fn a_small_hash_is_one_packed_buffer_in_insertion_order() {
        let mut hash = Hash::new();
        assert!(hash.is_empty());
        assert!(hash.insert(b"a", b"1"));
        assert!(hash.insert(b"b", b"22"));
        assert!(!hash.insert(b"a", b"333"));
        assert_eq!(hash.len(), 2);
        assert_eq!(hash.encoding(), "listpack");
        assert_eq!(hash.get(b"a"), Some(&b"333"[..]));
        assert_eq!(hash.get(b"c"), None);
        assert_eq!(
            pairs(&hash),
            vec![
                (b"a".to_vec(), b"333".to_vec()),
                (b"b".to_vec(), b"22".to_vec())
            ]
        );
        let Repr::Packed(bytes) = &hash.repr else {
            panic!("not packed");
        };
        assert_eq!(&bytes[..], b"\x02\x00\x01a\x03333\x01b\x0222");
    }

    #[test]
    fn removing_keeps_the_order_and_the_last_field_leaves_nothing_allocated() {
        let mut hash = filled(3);
        assert!(hash.remove(b"f1"));
        assert!(!hash.remove(b"f1"));
        assert_eq!(
            hash.iter().map(|(f, _)| f.to_vec()).collect::<Vec<_>>(),
            [b"f0".to_vec(), b"f2".to_vec()]
        );
        assert!(hash.remove(b"f0") && hash.remove(b"f2"));
        assert!(hash.is_empty());
        assert_eq!(hash.heap_size(), 0);
    }

    #[test]
    fn the_empty_field_and_value_are_stored_like_any_other() {
        let mut hash = Hash::new();
        assert!(hash.insert(b"", b""));
        assert!(hash.insert(b"x", b""));
        assert_eq!(hash.get(b""), Some(&b""[..]));
        assert_eq!(hash.len(), 2);
    }

    #[test]
    fn more_than_512_fields_turn_a_hash_into_a_table() {
        let mut hash = filled(512);
        assert_eq!(hash.encoding(), "listpack");
        hash.insert(b"one-more", b"x");
        assert_eq!(hash.encoding(), "hashtable");
        assert_eq!(hash.len(), 513);
        for i in 0..512 {
            assert_eq!(
                hash.get(format!("f{i}").as_bytes()),
                Some(format!("v{i}").as_bytes())
            );
        }
        // Never back, even when small again.
        for i in 0..512 {
            assert!(hash.remove(format!("f{i}").as_bytes()));
        }
        assert_eq!(hash.encoding(), "hashtable");
        assert_eq!(hash.len(), 1);
    }

    #[test]
    fn a_field_or_value_over_64_bytes_turns_a_hash_into_a_table() {
        let mut hash = filled(3);
        hash.insert(b"f1", &[b'x'; 64]);
        assert_eq!(hash.encoding(), "listpack");
        hash.insert(b"f1", &[b'x'; 65]);
        assert_eq!(hash.encoding(), "hashtable");
        assert_eq!(hash.get(b"f1"), Some(&[b'x'; 65][..]));
        let mut other = Hash::new();
        other.insert(&[b'k'; 65], b"v");
        assert_eq!(other.encoding(), "hashtable");
        assert_eq!(other.get(&[b'k'; 65]), Some(&b"v"[..]));
    }

    #[test]
    fn table_pairs_keep_long_fields_and_change_values_in_place() {
        let mut hash = Hash::new();
        let long = vec![b'f'; 300];
        hash.insert(&long, b"first");
        assert!(!hash.insert(&long, b"other"));
        assert_eq!(hash.get(&long), Some(&b"other"[..]));
        assert!(!hash.insert(&long, b"a longer value"));
        assert_eq!(hash.get(&long), Some(&b"a longer value"[..]));
        assert!(hash.insert(b"", b"empty"));
        assert_eq!(hash.get(b""), Some(&b"empty"[..]));
        assert!(hash.remove(&long));
        assert_eq!(hash.len(), 1);
    }

    #[test]
    fn equal_contents_compare_equal_whatever_the_form() {
        let mut packed = filled(5);
        let mut table = filled(600);
        for i in 5..600 {
            table.remove(format!("f{i}").as_bytes());
        }
        assert_eq!(packed, table);
        packed.insert(b"f0", b"changed");
        assert_ne!(packed, table);
    }

    #[test]
    fn a_packed_scan_returns_everything_with_cursor_zero() {
        let hash = filled(10);
        let mut out = Vec::new();
        assert_eq!(hash.scan(0, 1, &mut out), 0);
        assert_eq!(out.len(), 10);
    }

    #[test]
    fn a_table_scan_sees_every_field_present_throughout_despite_growth_and_shrinking() {
        let mut hash = filled(1000);
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            let mut out = Vec::new();
            cursor = hash.scan(cursor, 10, &mut out);
            seen.extend(out.iter().map(|(f, _)| f.to_vec()));
            round += 1;
            // Grow the table mid-walk, then shrink it.
            if round == 5 {
                for i in 0..5000 {
                    hash.insert(format!("g{i}").as_bytes(), b"x");
                }
            }
            if round == 20 {
                for i in 0..5000 {
                    hash.remove(format!("g{i}").as_bytes());
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(format!("f{i}").as_bytes()), "missed f{i}");
        }
    }

    #[test]
    fn a_table_scan_of_an_unchanged_hash_sees_each_field_once() {
        let hash = filled(700);
        let (mut cursor, mut out) = (0, Vec::new());
        loop {
            cursor = hash.scan(cursor, 7, &mut out);
            if cursor == 0 {
                break;
            }
        }
        let distinct: std::collections::HashSet<_> = out.iter().map(|(f, _)| *f).collect();
        assert_eq!((out.len(), distinct.len()), (700, 700));
    }

    #[test]
    fn random_picks_come_from_the_hash_and_distinct_ones_do_not_repeat() {
        let mut rng = rand::rng();
        for n in [1, 5, 512, 600] {
            let hash = filled(n);
            let (field, value) = hash.random_pair(&mut rng).expect("not empty");
            assert_eq!(hash.get(field), Some(value));
            let many = hash.random_pairs(&mut rng, 50);
            assert_eq!(many.len(), 50);
            assert!(many.iter().all(|(f, v)| hash.get(f) == Some(*v)));
            for count in [1, n / 2, n - 1, n, n + 10] {
                let distinct = hash.random_distinct(&mut rng, count);
                assert_eq!(distinct.len(), count.min(n));
                let fields: std::collections::HashSet<_> =
                    distinct.iter().map(|(f, _)| *f).collect();
                assert_eq!(fields.len(), distinct.len());
                assert!(distinct.iter().all(|(f, v)| hash.get(f) == Some(*v)));
            }
        }
        assert!(Hash::new().random_pair(&mut rng).is_none());
        assert!(Hash::new().random_pairs(&mut rng, 3).is_empty());
    }

    #[test]
    fn random_picks_reach_every_field() {
        let mut rng = rand::rng();
        for n in [10, 600] {
            let hash = filled(n);
            let seen: std::collections::HashSet<_> = hash
                .random_pairs(&mut rng, n * 50)
                .into_iter()
                .map(|(f, _)| f)
                .collect();
            assert_eq!(seen.len(), n);
        }
    }

    #[test]
    fn ten_small_fields_cost_two_bytes_each_beyond_their_own() {
        let hash = filled(10);
        let own: usize = hash.iter().map(|(f, v)| f.len() + v.len()).sum();
        assert_eq!(2 + own + 20, 62);
        assert_eq!(hash.heap_size(), 64, "62 bytes, in the 64-byte class");
        // No larger than a string value (a `Vec` and its encoding), so `Value` does not grow.
        assert!(std::mem::size_of::<Hash>() <= 24);
        assert!(std::mem::size_of::<crate::store::Value>() <= 32);
        assert_eq!(hash.free_cost(), 1);
        assert_eq!(filled(1000).free_cost(), 1001);
    }
}
