//! A set of byte strings, kept in the three encodings Redis 7.2 uses for sets.
//!
//! - `intset`: while every member is a 64-bit integer written canonically (`12`, not `012`)
//!   and there are at most [`MAX_INTSET_ENTRIES`], the members are kept as sorted integers,
//!   all at the narrowest width (2, 4 or 8 bytes) that holds each of them. Lookups are a
//!   binary search; a wider integer widens them all.
//! - `listpack`: while there are at most [`MAX_LISTPACK_ENTRIES`] members of at most
//!   [`MAX_LISTPACK_VALUE`] bytes, they are packed one after another (a length byte, then the
//!   bytes) in the order they were added, and found by walking them.
//! - `hashtable`: past those limits, a hash table of boxed members.
//!
//! Both packed forms are one byte buffer with a one-byte header (the integer width, or the
//! member count). Up to [`INLINE`] bytes of it live inside the `Set` itself, so a small set
//! costs a single allocation (the boxed `Set` in `Value`); beyond that, one more.
//!
//! Conversions follow Redis: an intset that gets a non-integer becomes a listpack if it had
//! fewer than 128 members and the new one is short, else a hash table; an intset past 512
//! members and a listpack past its limits become hash tables. Sets never convert back by
//! themselves; the few commands that rebuild a set (SPOP with a large count, SINTERSTORE)
//! choose the new encoding as Redis does, through [`Set::packed`] and [`Set::compact_ints`].
//!
//! This module owns the representation; the commands that use it live in `command/sets.rs`.

use crate::number::parse_int;
use hashbrown::HashTable;
use rand::{Rng, RngExt};
use smallvec::SmallVec;
use std::hash::BuildHasher;
use std::sync::LazyLock;

/// Most members an intset holds (Redis's `set-max-intset-entries`).
pub const MAX_INTSET_ENTRIES: usize = 512;
/// Most members a listpack holds (Redis's `set-max-listpack-entries`).
pub const MAX_LISTPACK_ENTRIES: usize = 128;
/// Longest member a listpack holds (Redis's `set-max-listpack-value`).
pub const MAX_LISTPACK_VALUE: usize = 64;
/// Bytes of a packed set (header included) kept inside the `Set` without an allocation.
pub const INLINE: usize = 32;

// A listpack's member count must fit its one-byte header, and its lengths one byte each.
const _: () = assert!(MAX_LISTPACK_ENTRIES <= u8::MAX as usize);
const _: () = assert!(MAX_LISTPACK_VALUE <= u8::MAX as usize);

type Buf = SmallVec<[u8; INLINE]>;

/// Hashes members of hash-table sets: seeded once per process.
static HASHER: LazyLock<foldhash::fast::RandomState> = LazyLock::new(Default::default);

fn hash(member: &[u8]) -> u64 {
    HASHER.hash_one(member)
}

/// A member as a set hands it out or takes it: an integer (from an intset) or bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Member<'_> {
    /// The member as an integer, if its bytes are one written canonically.
    pub fn as_int(self) -> Option<i64> {
        match self {
            Member::Int(n) => Some(n),
            Member::Str(s) => parse_int(s),
        }
    }

    /// Runs `f` on the member's bytes (an integer is formatted on the stack).
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(n) => f(itoa::Buffer::new().format(n).as_bytes()),
            Member::Str(s) => f(s),
        }
    }

    /// Length of the member's bytes.
    pub fn byte_len(self) -> usize {
        self.with_bytes(<[u8]>::len)
    }

    /// The member's bytes, copied.
    pub fn to_vec(self) -> Vec<u8> {
        self.with_bytes(<[u8]>::to_vec)
    }

    /// An owned copy.
    pub fn to_buf(self) -> MemberBuf {
        match self {
            Member::Int(n) => MemberBuf::Int(n),
            Member::Str(s) => MemberBuf::Str(s.into()),
        }
    }
}

/// An owned member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberBuf {
    Int(i64),
    Str(Box<[u8]>),
}

impl MemberBuf {
    /// The member, borrowed.
    pub fn as_member(&self) -> Member<'_> {
        match self {
            MemberBuf::Int(n) => Member::Int(*n),
            MemberBuf::Str(s) => Member::Str(s),
        }
    }
}

/// Sorted distinct integers: `[width, value, value, ...]`, each value little-endian in
/// `width` bytes (2, 4 or 8).
#[derive(Clone, Debug)]
struct Ints(Buf);

/// The narrowest width that holds `n`.
fn width_for(n: i64) -> usize {
    if i16::try_from(n).is_ok() {
        2
    } else if i32::try_from(n).is_ok() {
        4
    } else {
        8
    }
}

impl Ints {
    fn new() -> Ints {
        Ints(SmallVec::from_slice(&[2]))
    }

    fn width(&self) -> usize {
        usize::from(self.0[0])
    }

    fn len(&self) -> usize {
        (self.0.len() - 1) / self.width()
    }

    /// The `i`-th smallest value (`i < len`).
    fn get(&self, i: usize) -> i64 {
        let width = self.width();
        let at = 1 + i * width;
        let mut le = [0u8; 8];
        le[..width].copy_from_slice(&self.0[at..at + width]);
        // Shift the value to the top and back to extend its sign.
        let unused = 64 - 8 * width as u32;
        (i64::from_le_bytes(le) << unused) >> unused
    }

    fn search(&self, n: i64) -> Result<usize, usize> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match self.get(mid).cmp(&n) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(low)
    }

    fn contains(&self, n: i64) -> bool {
        self.search(n).is_ok()
    }

    /// Adds `n`, widening every value first if `n` needs more bytes. False if present.
    fn insert(&mut self, n: i64) -> bool {
        let width = width_for(n);
        if width > self.width() {
            let mut wider = Buf::with_capacity(1 + (self.len() + 1) * width);
            wider.push(width as u8);
            for i in 0..self.len() {
                wider.extend_from_slice(&self.get(i).to_le_bytes()[..width]);
            }
            self.0 = wider;
        }
        match self.search(n) {
            Ok(_) => false,
            Err(at) => {
                let width = self.width();
                // Grow to the exact size, as Redis reallocates its intsets: the allocator
                // resizes in place within a size class, and no slack is kept.
                self.0.reserve_exact(width);
                self.0
                    .insert_from_slice(1 + at * width, &n.to_le_bytes()[..width]);
                true
            }
        }
    }

    fn remove(&mut self, n: i64) -> bool {
        match self.search(n) {
            Ok(at) => {
                let start = 1 + at * self.width();
                self.0.drain(start..start + self.width());
                true
            }
            Err(_) => false,
        }
    }
}

/// Members in insertion order: `[count, len, bytes..., len, bytes..., ...]`.
#[derive(Clone, Debug)]
struct Packed(Buf);

impl Packed {
    fn new() -> Packed {
        Packed(SmallVec::from_slice(&[0]))
    }

    fn len(&self) -> usize {
        usize::from(self.0[0])
    }

    /// The member starting at byte `at` and where the next one starts.
    fn entry_at(&self, at: usize) -> Option<(&[u8], usize)> {
        let len = usize::from(*self.0.get(at)?);
        let member = self.0.get(at + 1..at + 1 + len)?;
        Some((member, at + 1 + len))
    }

    /// The byte offset of `member`'s entry.
    fn find(&self, member: &[u8]) -> Option<usize> {
        let mut at = 1;
        while let Some((found, next)) = self.entry_at(at) {
            if found == member {
                return Some(at);
            }
            at = next;
        }
        None
    }

    /// The byte offset of the `index`-th entry.
    fn offset_of(&self, index: usize) -> usize {
        let mut at = 1;
        for _ in 0..index {
            match self.entry_at(at) {
                Some((_, next)) => at = next,
                None => break,
            }
        }
        at
    }

    /// Appends a member known to be absent; the caller keeps the limits.
    fn push(&mut self, member: &[u8]) {
        debug_assert!(self.len() < MAX_LISTPACK_ENTRIES && member.len() <= MAX_LISTPACK_VALUE);
        // Exact growth, as for intsets.
        self.0.reserve_exact(1 + member.len());
        self.0.push(member.len() as u8);
        self.0.extend_from_slice(member);
        self.0[0] += 1;
    }

    /// Removes the entry at byte offset `at` and returns its member.
    fn remove_at(&mut self, at: usize) -> Box<[u8]> {
        let Some((member, next)) = self.entry_at(at) else {
            return Box::default();
        };
        let member: Box<[u8]> = member.into();
        self.0.drain(at..next);
        self.0[0] -= 1;
        member
    }
}

/// A hash table of members.
#[derive(Clone, Debug)]
struct Table {
    members: HashTable<Box<[u8]>>,
    /// Sum of the members' lengths (for `heap_size`).
    member_bytes: usize,
    /// Changes whenever the table may have been rebuilt, which moves members to other
    /// buckets: SSCAN cursors carry it and start over when it changed.
    generation: u32,
}

/// Bits of the generation an SSCAN cursor keeps (the rest is a bucket index).
const GENERATION_BITS: u32 = 16;
const GENERATION_MASK: u64 = (1 << GENERATION_BITS) - 1;

impl Table {
    fn with_capacity(capacity: usize) -> Table {
        Table {
            members: HashTable::with_capacity(capacity),
            member_bytes: 0,
            generation: 0,
        }
    }

    fn contains(&self, member: &[u8]) -> bool {
        self.members
            .find(hash(member), |m| **m == *member)
            .is_some()
    }

    fn insert(&mut self, member: &[u8]) -> bool {
        let hash = hash(member);
        if self.members.find(hash, |m| **m == *member).is_some() {
            return false;
        }
        // With no room left, hashbrown rebuilds the table to insert.
        if self.members.len() == self.members.capacity() {
            self.generation = self.generation.wrapping_add(1);
        }
        self.members
            .insert_unique(hash, member.into(), |m| self::hash(m));
        self.member_bytes += member.len();
        true
    }

    fn remove(&mut self, member: &[u8]) -> bool {
        match self.members.find_entry(hash(member), |m| **m == *member) {
            Ok(found) => {
                let (removed, _) = found.remove();
                self.removed(&removed);
                true
            }
            Err(_) => false,
        }
    }

    /// Bookkeeping after a member left: gives memory back once the table is mostly empty,
    /// as Redis resizes a set's dict when it falls under 10% full.
    fn removed(&mut self, member: &[u8]) {
        self.member_bytes -= member.len();
        let capacity = self.members.capacity();
        if capacity > 64 && self.members.len() * 8 < capacity {
            self.members
                .shrink_to(self.members.len() * 2, |m| self::hash(m));
            self.generation = self.generation.wrapping_add(1);
        }
    }

    /// The index of a full bucket picked at random (the table must not be empty): random
    /// probes first, then a sweep from a random point, which always finds one.
    fn random_bucket(&self, rng: &mut (impl Rng + ?Sized)) -> usize {
        let buckets = self.members.num_buckets();
        for _ in 0..64 {
            let index = rng.random_range(0..buckets);
            if self.members.get_bucket(index).is_some() {
                return index;
            }
        }
        let from = rng.random_range(0..buckets);
        (from..buckets)
            .chain(0..from)
            .find(|&index| self.members.get_bucket(index).is_some())
            .unwrap_or(0)
    }

    fn take_bucket(&mut self, index: usize) -> Option<Box<[u8]>> {
        let (member, _) = self.members.get_bucket_entry(index).ok()?.remove();
        self.removed(&member);
        Some(member)
    }
}

#[derive(Clone, Debug)]
enum Repr {
    Ints(Ints),
    Packed(Packed),
    Table(Box<Table>),
}

/// A set of byte strings (see the module documentation for its encodings).
#[derive(Clone, Debug)]
pub struct Set {
    repr: Repr,
}

impl Default for Set {
    fn default() -> Set {
        Set::new()
    }
}

impl PartialEq for Set {
    /// Same members, whatever the encodings.
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains_member(m))
    }
}

impl Set {
    /// An empty set that starts as an intset (as Redis's set algebra starts its results).
    pub fn new() -> Set {
        Set {
            repr: Repr::Ints(Ints::new()),
        }
    }

    /// An empty set that starts as a listpack.
    pub fn packed() -> Set {
        Set {
            repr: Repr::Packed(Packed::new()),
        }
    }

    /// An empty set in the encoding Redis picks for a new key whose first member is `first`
    /// and which is about to get about `size_hint` members.
    pub fn for_first(first: &[u8], size_hint: usize) -> Set {
        if parse_int(first).is_some() && size_hint <= MAX_INTSET_ENTRIES {
            Set::new()
        } else if size_hint <= MAX_LISTPACK_ENTRIES {
            Set::packed()
        } else {
            Set {
                repr: Repr::Table(Box::new(Table::with_capacity(size_hint))),
            }
        }
    }

    /// Before adding about `size_hint` members: a packed set that could not hold that many
    /// becomes a hash table sized for them at once.
    pub fn prepare_for(&mut self, size_hint: usize) {
        if self.needs_table_for(size_hint) {
            self.convert_to_table(size_hint);
        }
    }

    /// Whether [`Set::prepare_for`] would turn this set into a hash table.
    pub fn needs_table_for(&self, size_hint: usize) -> bool {
        match &self.repr {
            Repr::Ints(_) => size_hint > MAX_INTSET_ENTRIES,
            Repr::Packed(_) => size_hint > MAX_LISTPACK_ENTRIES,
            Repr::Table(_) => false,
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(ints) => ints.len(),
            Repr::Packed(packed) => packed.len(),
            Repr::Table(table) => table.members.len(),
        }
    }

    /// Whether there is no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Ints(_) => "intset",
            Repr::Packed(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Allocations freed when this value is dropped (large ones are freed lazily): the boxed
    /// set and its buffer, or its table and one per member.
    pub fn free_cost(&self) -> usize {
        match &self.repr {
            Repr::Ints(Ints(buf)) | Repr::Packed(Packed(buf)) => 1 + usize::from(buf.spilled()),
            Repr::Table(table) => 3 + table.members.len(),
        }
    }

    /// Approximate heap bytes held, beyond the boxed `Set` itself.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Ints(Ints(buf)) | Repr::Packed(Packed(buf)) => {
                if buf.spilled() {
                    buf.capacity()
                } else {
                    0
                }
            }
            Repr::Table(table) => {
                std::mem::size_of::<Table>() + table.members.allocation_size() + table.member_bytes
            }
        }
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.contains_member(Member::Str(member))
    }

    /// Whether `member` is in the set.
    pub fn contains_member(&self, member: Member<'_>) -> bool {
        match &self.repr {
            Repr::Ints(ints) => member.as_int().is_some_and(|n| ints.contains(n)),
            Repr::Packed(packed) => member.with_bytes(|m| packed.find(m).is_some()),
            Repr::Table(table) => member.with_bytes(|m| table.contains(m)),
        }
    }

    /// Adds `member`; false if it was already there.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        self.insert_member(Member::Str(member))
    }

    /// Adds `member`, converting the encoding when a limit is passed; false if present.
    pub fn insert_member(&mut self, member: Member<'_>) -> bool {
        match &mut self.repr {
            Repr::Ints(ints) => {
                if let Some(n) = member.as_int() {
                    let added = ints.insert(n);
                    if added && ints.len() > MAX_INTSET_ENTRIES {
                        self.convert_to_table(0);
                    }
                    return added;
                }
                // Integers print in at most 20 bytes, always short enough for a listpack.
                let len = ints.len();
                if len < MAX_LISTPACK_ENTRIES && member.byte_len() <= MAX_LISTPACK_VALUE {
                    self.convert_to_packed();
                } else {
                    self.convert_to_table(len + 1);
                }
            }
            Repr::Packed(packed) => {
                if member.with_bytes(|m| packed.find(m).is_some()) {
                    return false;
                }
                let len = packed.len();
                if len < MAX_LISTPACK_ENTRIES && member.byte_len() <= MAX_LISTPACK_VALUE {
                    member.with_bytes(|m| packed.push(m));
                    return true;
                }
                self.convert_to_table(len + 1);
            }
            Repr::Table(table) => return member.with_bytes(|m| table.insert(m)),
        }
        // Converted above, to an encoding that takes the member.
        self.insert_member(member)
    }

    /// Removes `member`; false if it was not there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        self.remove_member(Member::Str(member))
    }

    /// Removes `member`; false if it was not there.
    pub fn remove_member(&mut self, member: Member<'_>) -> bool {
        match &mut self.repr {
            Repr::Ints(ints) => member.as_int().is_some_and(|n| ints.remove(n)),
            Repr::Packed(packed) => match member.with_bytes(|m| packed.find(m)) {
                Some(at) => {
                    packed.remove_at(at);
                    true
                }
                None => false,
            },
            Repr::Table(table) => member.with_bytes(|m| table.remove(m)),
        }
    }

    /// The members: ascending integers for an intset, insertion order for a listpack,
    /// table order for a hash table.
    pub fn iter(&self) -> Iter<'_> {
        Iter(match &self.repr {
            Repr::Ints(ints) => IterRepr::Ints(ints, 0),
            Repr::Packed(packed) => IterRepr::Packed(packed, 1),
            Repr::Table(table) => IterRepr::Table(table.members.iter()),
        })
    }

    /// Copies up to `max` members, starting at position `from` (0 for the first call), into
    /// `out`; returns the position to continue from, or `None` when every member was given.
    /// Positions stay valid while the set is not changed.
    pub fn chunk(&self, from: usize, max: usize, out: &mut Vec<MemberBuf>) -> Option<usize> {
        let mut taken = 0;
        match &self.repr {
            Repr::Ints(ints) => {
                let end = ints.len().min(from.saturating_add(max));
                out.extend((from..end).map(|i| MemberBuf::Int(ints.get(i))));
                (end < ints.len()).then_some(end)
            }
            Repr::Packed(packed) => {
                let mut at = from.max(1);
                while taken < max {
                    let (member, next) = packed.entry_at(at)?;
                    out.push(MemberBuf::Str(member.into()));
                    at = next;
                    taken += 1;
                }
                packed.entry_at(at).map(|_| at)
            }
            Repr::Table(table) => {
                let buckets = table.members.num_buckets();
                let mut index = from;
                while index < buckets && taken < max {
                    if let Some(member) = table.members.get_bucket(index) {
                        out.push(MemberBuf::Str(member.clone()));
                        taken += 1;
                    }
                    index += 1;
                }
                (index < buckets).then_some(index)
            }
        }
    }

    /// One SSCAN step from `cursor`: adds members to `out` and returns the next cursor (0 when
    /// done). A packed set gives everything at once. A hash table gives about `count`
    /// members, visiting at most ten times as many buckets; its cursor is a bucket index and
    /// the table's generation, and a cursor from another generation starts over, so every
    /// member present for the whole iteration is given at least once.
    pub fn scan(&self, cursor: u64, count: usize, out: &mut Vec<MemberBuf>) -> u64 {
        let Repr::Table(table) = &self.repr else {
            out.extend(self.iter().map(Member::to_buf));
            return 0;
        };
        let generation = u64::from(table.generation) & GENERATION_MASK;
        let mut index = if cursor & GENERATION_MASK == generation {
            usize::try_from(cursor >> GENERATION_BITS).unwrap_or(usize::MAX)
        } else {
            0
        };
        let buckets = table.members.num_buckets();
        let (mut found, mut budget) = (0, count.saturating_mul(10));
        while index < buckets && found < count && budget > 0 {
            if let Some(member) = table.members.get_bucket(index) {
                out.push(MemberBuf::Str(member.clone()));
                found += 1;
            }
            index += 1;
            budget -= 1;
        }
        if index >= buckets {
            0
        } else {
            ((index as u64) << GENERATION_BITS) | generation
        }
    }

    /// A member picked at random (uniformly), or `None` when empty.
    pub fn random(&self, rng: &mut (impl Rng + ?Sized)) -> Option<Member<'_>> {
        if self.is_empty() {
            return None;
        }
        match &self.repr {
            Repr::Ints(ints) => Some(Member::Int(ints.get(rng.random_range(0..ints.len())))),
            Repr::Packed(packed) => {
                let at = packed.offset_of(rng.random_range(0..packed.len()));
                packed.entry_at(at).map(|(member, _)| Member::Str(member))
            }
            Repr::Table(table) => {
                let index = table.random_bucket(rng);
                table.members.get_bucket(index).map(|m| Member::Str(m))
            }
        }
    }

    /// `count` distinct members picked at random, in random order (`count` is capped at the
    /// size). A large table is probed at random; otherwise the members are sampled.
    pub fn sample(&self, count: usize, rng: &mut (impl Rng + ?Sized)) -> Vec<Member<'_>> {
        let count = count.min(self.len());
        if let Repr::Table(table) = &self.repr
            && count.saturating_mul(3) <= self.len()
        {
            let mut picked = hashbrown::HashSet::with_capacity(count);
            let mut out = Vec::with_capacity(count);
            while out.len() < count {
                let index = table.random_bucket(rng);
                if picked.insert(index)
                    && let Some(member) = table.members.get_bucket(index)
                {
                    out.push(Member::Str(member));
                }
            }
            return out;
        }
        let all: Vec<Member<'_>> = self.iter().collect();
        rand::seq::index::sample(rng, all.len(), count)
            .into_iter()
            .map(|i| all[i])
            .collect()
    }

    /// Removes a member picked at random and returns it, or `None` when empty.
    pub fn pop_random(&mut self, rng: &mut (impl Rng + ?Sized)) -> Option<MemberBuf> {
        if self.is_empty() {
            return None;
        }
        match &mut self.repr {
            Repr::Ints(ints) => {
                let n = ints.get(rng.random_range(0..ints.len()));
                ints.remove(n);
                Some(MemberBuf::Int(n))
            }
            Repr::Packed(packed) => {
                let at = packed.offset_of(rng.random_range(0..packed.len()));
                Some(MemberBuf::Str(packed.remove_at(at)))
            }
            Repr::Table(table) => {
                let index = table.random_bucket(rng);
                table.take_bucket(index).map(MemberBuf::Str)
            }
        }
    }

    /// Removes `count` random members (`0 < count < len`) and returns them. When few would
    /// remain, it is cheaper to pick the survivors: as Redis does, they move to a new set (an
    /// intset if this one is, else a listpack that converts as it grows), and what is left
    /// of the old one is handed out.
    pub fn pop_many(&mut self, count: usize, rng: &mut (impl Rng + ?Sized)) -> Vec<MemberBuf> {
        let remaining = self.len().saturating_sub(count);
        if remaining.saturating_mul(5) > count {
            return (0..count).filter_map(|_| self.pop_random(rng)).collect();
        }
        let mut kept = match self.repr {
            Repr::Ints(_) => Set::new(),
            _ => Set::packed(),
        };
        for _ in 0..remaining {
            if let Some(member) = self.pop_random(rng) {
                kept.insert_member(member.as_member());
            }
        }
        std::mem::replace(self, kept).into_members()
    }

    /// Every member, owned (a hash table's boxed members move out without copies).
    pub fn into_members(self) -> Vec<MemberBuf> {
        match self.repr {
            Repr::Table(table) => table.members.into_iter().map(MemberBuf::Str).collect(),
            _ => self.iter().map(Member::to_buf).collect(),
        }
    }

    /// A set whose members are all integers becomes an intset, if that may hold them all (as
    /// Redis stores the result of SINTERSTORE).
    pub fn compact_ints(&mut self) {
        if matches!(self.repr, Repr::Ints(_)) || self.len() > MAX_INTSET_ENTRIES {
            return;
        }
        let mut ints = Ints::new();
        for member in self.iter() {
            match member.as_int() {
                Some(n) => ints.insert(n),
                None => return,
            };
        }
        self.repr = Repr::Ints(ints);
    }

    /// Packed buffers give back spare room.
    pub fn shrink_to_fit(&mut self) {
        match &mut self.repr {
            Repr::Ints(Ints(buf)) | Repr::Packed(Packed(buf)) => buf.shrink_to_fit(),
            Repr::Table(_) => {}
        }
    }

    fn convert_to_table(&mut self, capacity: usize) {
        let mut table = Table::with_capacity(capacity.max(self.len()));
        for member in self.iter() {
            member.with_bytes(|m| table.insert(m));
        }
        self.repr = Repr::Table(Box::new(table));
    }

    fn convert_to_packed(&mut self) {
        let mut packed = Packed::new();
        for member in self.iter() {
            member.with_bytes(|m| packed.push(m));
        }
        self.repr = Repr::Packed(packed);
    }
}

/// The members of a set (see [`Set::iter`]).
pub struct Iter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    /// The intset and the index of the next value.
    Ints(&'a Ints, usize),
    /// The listpack and the byte offset of the next entry.
    Packed(&'a Packed, usize),
    Table(hashbrown::hash_table::Iter<'a, Box<[u8]>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        match &mut self.0 {
            IterRepr::Ints(ints, next) => {
                if *next >= ints.len() {
                    return None;
                }
                *next += 1;
                Some(Member::Int(ints.get(*next - 1)))
            }
            IterRepr::Packed(packed, at) => {
                let (member, next) = packed.entry_at(*at)?;
                *at = next;
                Some(Member::Str(member))
            }
            IterRepr::Table(members) => members.next().map(|m| Member::Str(m)),
        }
    }
}

#[cfg(test)]
mod tests;
