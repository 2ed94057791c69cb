//! A stream: entries ordered by ID, each a list of field-value pairs.
//!
//! # Layout
//!
//! Entries live in blocks, kept in a `BTreeMap` by the ID of the first entry ever appended
//! to the block, so finding where a range starts is O(log n). A block packs its entries
//! (the same role as Redis's radix-tree nodes holding listpacks):
//!
//! - `ids`: the IDs of its live entries, ascending (binary search inside a block);
//! - `spans`: for each live entry, where its fields and values are in `data`;
//! - `data`: every field and value appended to the block, each framed as `[len: u32 LE]
//!   bytes`. Deleting an entry drops its ID and span and leaves its bytes behind, as Redis
//!   leaves a tombstone; the bytes go when the whole block does.
//!
//! So a block costs three allocations whatever the number of its entries.
//!
//! # Blocks follow Redis's nodes
//!
//! New entries go to the last block until it holds 100 entries (deleted ones included) or
//! its listpack in Redis would weigh, with the new fields and values, 4096 bytes or more
//! (the defaults of `stream-node-max-entries` and `stream-node-max-bytes`); each block keeps
//! what that listpack would weigh, element encodings included. Blocks therefore start and
//! end where Redis's nodes do, and approximate trimming (`MAXLEN ~`, `MINID ~`), which only
//! drops whole blocks from the head as Redis drops whole nodes, removes the same entries
//! Redis would.
//!
//! # Bookkeeping
//!
//! As Redis, a stream remembers the last ID it generated (which never goes back, even after
//! the top entry is deleted), how many entries were ever added, and the greatest ID deleted
//! by `XDEL`. An empty stream is a valid value.
//!
//! This module owns the representation; the commands are in `command/streams.rs`.

use crate::number::parse_int;
use std::collections::BTreeMap;
use std::fmt;

/// Most entries (live or deleted) in one block: Redis's `stream-node-max-entries`.
const NODE_MAX_ENTRIES: usize = 100;
/// A block whose listpack would reach this many bytes with the next entry is closed:
/// Redis's `stream-node-max-bytes`.
const NODE_MAX_BYTES: usize = 4096;
/// Largest total of field and value bytes one entry may carry (Redis's listpack limit).
const ENTRY_MAX_BYTES: usize = 1 << 30;
/// Bytes of an empty listpack: the header and the end marker.
const LISTPACK_EMPTY: usize = 7;
/// Entry flags as Redis encodes them: deleted, and "same fields as the master entry".
const FLAG_SAME_FIELDS: i64 = 2;

/// A stream entry ID: a millisecond time and a sequence number, ordered by both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    /// `0-0`, the smallest ID (`-`).
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The greatest ID (`+`).
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next ID, or `None` after the greatest.
    pub fn next(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId::new(ms + 1, 0)),
            (ms, seq) => Some(StreamId::new(ms, seq + 1)),
        }
    }

    /// The previous ID, or `None` before the smallest.
    pub fn prev(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId::new(ms - 1, u64::MAX)),
            (ms, seq) => Some(StreamId::new(ms, seq - 1)),
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// The ID a new entry asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewId {
    /// `*`: the current time, or just after the last ID if that is later.
    Auto,
    /// `ms-*`: this time, with the next free sequence number.
    Ms(u64),
    /// `ms-seq`.
    Exact(StreamId),
}

/// Why an entry cannot be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddError {
    /// The stream's last ID is the greatest there is.
    Exhausted,
    /// The ID is not greater than the stream's last ID.
    NotGreater,
    /// The fields and values are too large for one entry, or `ms-*` found no free sequence
    /// number (Redis answers both with the same error).
    TooLarge,
}

/// How to trim a stream from its head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Keep no entry with a smaller ID.
    MinId(StreamId),
}

/// What a trim will remove: whole blocks from the head, then entries from the next one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrimPlan {
    blocks: usize,
    front: usize,
    /// Entries removed in all.
    pub deleted: usize,
}

impl TrimPlan {
    /// Whether the trim changes nothing (not even an emptied block to drop).
    pub fn is_noop(&self) -> bool {
        self.blocks == 0 && self.front == 0
    }
}

/// One entry's fields and values, in order.
#[derive(Clone, Copy, Debug)]
pub struct Fields<'a> {
    data: &'a [u8],
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (len, rest) = self.data.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        let item = rest.get(..len)?;
        self.data = &rest[len..];
        Some(item)
    }
}

/// A run of entries with their fields.
#[derive(Clone, Debug, Default, PartialEq)]
struct Block {
    /// IDs of the live entries, ascending.
    ids: Vec<StreamId>,
    /// Where each live entry's fields are in `data` (start, end).
    spans: Vec<(u32, u32)>,
    /// The framed fields and values of every entry appended, deleted ones included. A block
    /// stays under 4 KB plus one entry of at most 1 GB, so `u32` offsets are enough.
    data: Vec<u8>,
    /// Entries ever appended, live or deleted.
    appended: usize,
    /// ID of the first entry appended (the key of the block), and of the last one.
    first: StreamId,
    last: StreamId,
    /// Field count and end in `data` of the first entry, whose field names Redis keeps as
    /// the node's master entry.
    master_fields: usize,
    master_end: u32,
    /// What Redis's listpack for this node weighs, without its two counters.
    listpack_body: usize,
}

impl Block {
    /// A block holding one new entry.
    fn new(id: StreamId, fields: &[&[u8]]) -> Block {
        let pairs = fields.len() / 2;
        let mut block = Block {
            first: id,
            master_fields: pairs,
            listpack_body: LISTPACK_EMPTY + int_elem(pairs as i64) + int_elem(0),
            ..Block::default()
        };
        block.listpack_body += fields.iter().step_by(2).map(|f| str_elem(f)).sum::<usize>();
        block.push(id, fields, true);
        block.master_end = block.data.len() as u32;
        block
    }

    /// Bytes of Redis's listpack for this node.
    fn listpack_bytes(&self) -> usize {
        let live = self.ids.len();
        self.listpack_body + int_elem(live as i64) + int_elem((self.appended - live) as i64)
    }

    /// Whether an entry of `payload` field and value bytes still goes in this block.
    fn has_room(&self, payload: usize) -> bool {
        self.listpack_bytes() + payload < NODE_MAX_BYTES && self.appended < NODE_MAX_ENTRIES
    }

    /// Whether `fields` names the same fields, in order, as the block's first entry.
    fn same_fields(&self, fields: &[&[u8]]) -> bool {
        let master = Fields {
            data: &self.data[..self.master_end as usize],
        };
        fields.len() / 2 == self.master_fields
            && master
                .step_by(2)
                .zip(fields.iter().step_by(2))
                .all(|(a, b)| a == *b)
    }

    /// Appends an entry; `first` for the entry that opens the block.
    fn push(&mut self, id: StreamId, fields: &[&[u8]], first: bool) {
        let same = first || self.same_fields(fields);
        let pairs = fields.len() / 2;
        let ms_delta = id.ms.wrapping_sub(self.first.ms) as i64;
        let seq_delta = id.seq.wrapping_sub(self.first.seq) as i64;
        let mut weight = int_elem(if same { FLAG_SAME_FIELDS } else { 0 })
            + int_elem(ms_delta)
            + int_elem(seq_delta);
        let mut pieces = pairs + 3;
        if !same {
            weight += int_elem(pairs as i64);
            weight += fields.iter().step_by(2).map(|f| str_elem(f)).sum::<usize>();
            pieces += pairs + 1;
        }
        weight += fields
            .iter()
            .skip(1)
            .step_by(2)
            .map(|v| str_elem(v))
            .sum::<usize>();
        weight += int_elem(pieces as i64);
        self.listpack_body += weight;

        let start = self.data.len();
        for item in fields {
            self.data
                .extend_from_slice(&(item.len() as u32).to_le_bytes());
            self.data.extend_from_slice(item);
        }
        self.ids.push(id);
        self.spans.push((start as u32, self.data.len() as u32));
        self.appended += 1;
        self.last = id;
    }

    fn fields(&self, index: usize) -> Fields<'_> {
        let (start, end) = self.spans[index];
        Fields {
            data: &self.data[start as usize..end as usize],
        }
    }

    /// Drops the first `n` live entries.
    fn remove_front(&mut self, n: usize) {
        self.ids.drain(..n);
        self.spans.drain(..n);
    }

    fn heap_size(&self) -> usize {
        self.ids.capacity() * std::mem::size_of::<StreamId>()
            + self.spans.capacity() * std::mem::size_of::<(u32, u32)>()
            + self.data.capacity()
    }
}

/// Encoded size of an integer element in a listpack, its back-length included.
fn int_elem(v: i64) -> usize {
    let encoded = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    };
    encoded + 1
}

/// Encoded size of a string element in a listpack (strings that read as integers are
/// stored as integers), its back-length included.
fn str_elem(s: &[u8]) -> usize {
    if s.len() < 21
        && let Some(v) = parse_int(s)
    {
        return int_elem(v);
    }
    let encoded = match s.len() {
        n if n < 64 => 1 + n,
        n if n < 4096 => 2 + n,
        n => 5 + n,
    };
    let back = match encoded {
        n if n <= 127 => 1,
        n if n < 16_383 => 2,
        n if n < 2_097_151 => 3,
        n if n < 268_435_455 => 4,
        _ => 5,
    };
    encoded + back
}

/// A stream: entries ordered by ID, each a list of field-value pairs.
///
/// Two streams compare equal when they hold the same blocks and bookkeeping.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream {
    /// Blocks by the ID of the first entry appended to each.
    blocks: BTreeMap<StreamId, Block>,
    /// Live entries.
    len: usize,
    /// The greatest ID ever added (or set); new IDs must be greater.
    last_id: StreamId,
    /// The greatest ID removed by `XDEL`.
    max_deleted: StreamId,
    /// Entries ever added.
    entries_added: u64,
}

impl Stream {
    /// An empty stream.
    pub fn new() -> Stream {
        Stream::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The encoding `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        "stream"
    }

    /// Allocations freed when this value is dropped (large ones are freed lazily): the
    /// stream itself, and per block its three buffers and its share of the tree's nodes.
    pub fn free_cost(&self) -> usize {
        1 + 4 * self.blocks.len()
    }

    /// Approximate heap bytes held.
    pub fn heap_size(&self) -> usize {
        let per_block = std::mem::size_of::<(StreamId, Block)>();
        std::mem::size_of::<Stream>()
            + self
                .blocks
                .values()
                .map(|b| per_block + b.heap_size())
                .sum::<usize>()
    }

    /// The last ID added: new entries must have greater IDs.
    pub fn last_id(&self) -> StreamId {
        self.last_id
    }

    /// The greatest ID deleted by [`Stream::delete`] (`0-0` if none).
    pub fn max_deleted_id(&self) -> StreamId {
        self.max_deleted
    }

    /// Entries ever added, including those deleted or trimmed since.
    pub fn entries_added(&self) -> u64 {
        self.entries_added
    }

    /// ID of the first entry, if any.
    pub fn first_entry_id(&self) -> Option<StreamId> {
        self.blocks.values().find_map(|b| b.ids.first().copied())
    }

    /// ID of the last entry, if any (smaller than [`Stream::last_id`] when the top entries
    /// were deleted).
    pub fn last_entry_id(&self) -> Option<StreamId> {
        self.blocks
            .values()
            .rev()
            .find_map(|b| b.ids.last().copied())
    }

    /// The ID a new entry would get at time `now` (Unix ms), checking it can be added.
    pub fn next_id(&self, new: NewId, fields: &[&[u8]], now: u64) -> Result<StreamId, AddError> {
        let last = self.last_id;
        if last == StreamId::MAX {
            return Err(AddError::Exhausted);
        }
        let id = match new {
            NewId::Auto if now > last.ms => StreamId::new(now, 0),
            NewId::Auto => last.next().ok_or(AddError::Exhausted)?,
            // Redis refuses a full sequence with its size error.
            NewId::Ms(ms) if ms == last.ms => last
                .next()
                .filter(|n| n.ms == ms)
                .ok_or(AddError::TooLarge)?,
            NewId::Ms(ms) => StreamId::new(ms, 0),
            NewId::Exact(id) => id,
        };
        if id <= last {
            return Err(AddError::NotGreater);
        }
        let payload: usize = fields.iter().map(|f| f.len()).sum();
        if payload > ENTRY_MAX_BYTES {
            return Err(AddError::TooLarge);
        }
        Ok(id)
    }

    /// Adds an entry with fields and values `fields` (an even number of them) and returns
    /// its ID.
    pub fn add(&mut self, new: NewId, fields: &[&[u8]], now: u64) -> Result<StreamId, AddError> {
        let id = self.next_id(new, fields, now)?;
        self.append(id, fields);
        Ok(id)
    }

    /// Appends an entry whose ID [`Stream::next_id`] gave.
    pub fn append(&mut self, id: StreamId, fields: &[&[u8]]) {
        debug_assert!(id > self.last_id && fields.len().is_multiple_of(2));
        let payload: usize = fields.iter().map(|f| f.len()).sum();
        match self.blocks.last_entry() {
            Some(mut tail) if tail.get().has_room(payload) => {
                tail.get_mut().push(id, fields, false)
            }
            tail => {
                if let Some(mut full) = tail {
                    let full = full.get_mut();
                    full.data.shrink_to_fit();
                    full.ids.shrink_to_fit();
                    full.spans.shrink_to_fit();
                }
                self.blocks.insert(id, Block::new(id, fields));
            }
        }
        self.len += 1;
        self.entries_added += 1;
        self.last_id = id;
    }

    /// Restores the bookkeeping of a stream rebuilt from its entries (`codec`): the last ID
    /// it ever had, the greatest deleted one, and how many entries it ever had. Values below
    /// what the entries imply are ignored.
    pub fn restore_history(&mut self, last_id: StreamId, max_deleted: StreamId, added: u64) {
        self.last_id = self.last_id.max(last_id);
        self.max_deleted = self.max_deleted.max(max_deleted);
        self.entries_added = self.entries_added.max(added);
    }

    /// The block that would hold `id`: the last one starting at or before it.
    fn block_key_for(&self, id: StreamId) -> Option<StreamId> {
        self.blocks.range(..=id).next_back().map(|(key, _)| *key)
    }

    /// Whether an entry with this ID exists.
    pub fn contains(&self, id: StreamId) -> bool {
        self.block_key_for(id)
            .and_then(|key| self.blocks.get(&key))
            .is_some_and(|b| b.ids.binary_search(&id).is_ok())
    }

    /// Deletes the entry `id`; returns whether it existed. Remembers the greatest ID deleted.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some(key) = self.block_key_for(id) else {
            return false;
        };
        let Some(block) = self.blocks.get_mut(&key) else {
            return false;
        };
        let Ok(index) = block.ids.binary_search(&id) else {
            return false;
        };
        if block.ids.len() == 1 {
            // As Redis frees a node when its last live entry goes.
            self.blocks.remove(&key);
        } else {
            block.ids.remove(index);
            block.spans.remove(index);
        }
        self.len -= 1;
        self.max_deleted = self.max_deleted.max(id);
        true
    }

    /// Entries with IDs from `start` to `end` (both included), ascending.
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
    ) -> impl Iterator<Item = (StreamId, Fields<'_>)> + '_ {
        let from = self.block_key_for(start).unwrap_or(start);
        self.blocks
            .range(from..)
            .flat_map(move |(_, block)| {
                let first = block.ids.partition_point(|id| *id < start);
                (first..block.ids.len()).map(move |i| (block.ids[i], block.fields(i)))
            })
            .take_while(move |(id, _)| *id <= end)
    }

    /// Entries with IDs from `end` down to `start` (both included), descending.
    pub fn rev_range(
        &self,
        start: StreamId,
        end: StreamId,
    ) -> impl Iterator<Item = (StreamId, Fields<'_>)> + '_ {
        self.blocks
            .range(..=end)
            .rev()
            .flat_map(move |(_, block)| {
                let past = block.ids.partition_point(|id| *id <= end);
                (0..past)
                    .rev()
                    .map(move |i| (block.ids[i], block.fields(i)))
            })
            .take_while(move |(id, _)| *id >= start)
    }

    /// Works out what trimming by `trim` removes. `approx` removes whole blocks only; `limit`
    /// (0: none) caps the entries removed, and is only honoured whole block by whole block.
    pub fn plan_trim(&self, trim: Trim, approx: bool, limit: usize) -> TrimPlan {
        let mut plan = TrimPlan::default();
        let mut len = self.len;
        for block in self.blocks.values() {
            if let Trim::MaxLen(max) = trim
                && len as u64 <= max
            {
                break;
            }
            let live = block.ids.len();
            if limit != 0 && plan.deleted + live > limit {
                break;
            }
            let whole = match trim {
                Trim::MaxLen(max) => (len - live) as u64 >= max,
                Trim::MinId(min) => block.last < min,
            };
            if whole {
                plan.blocks += 1;
                plan.deleted += live;
                len -= live;
                continue;
            }
            if !approx {
                plan.front = match trim {
                    // Here len - live < max < len, so this is less than `live`.
                    Trim::MaxLen(max) => len - max as usize,
                    Trim::MinId(min) => block.ids.partition_point(|id| *id < min),
                };
                plan.deleted += plan.front;
            }
            break;
        }
        plan
    }

    /// Carries out a plan from [`Stream::plan_trim`]; returns the entries removed.
    pub fn apply_trim(&mut self, plan: TrimPlan) -> usize {
        for _ in 0..plan.blocks {
            self.blocks.pop_first();
        }
        if plan.front > 0
            && let Some(mut head) = self.blocks.first_entry()
        {
            head.get_mut().remove_front(plan.front);
        }
        self.len -= plan.deleted;
        plan.deleted
    }

    /// Trims from the head (see [`Stream::plan_trim`]); returns the entries removed.
    pub fn trim(&mut self, trim: Trim, approx: bool, limit: usize) -> usize {
        let plan = self.plan_trim(trim, approx, limit);
        self.apply_trim(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    /// A stream with entries `1-0`, `2-0`… `n-0`, each `f <i>`.
    fn numbered(n: u64) -> Stream {
        let mut s = Stream::new();
        for i in 1..=n {
            let value = i.to_string();
            s.add(NewId::Exact(id(i, 0)), &[b"f", value.as_bytes()], 0)
                .expect("add");
        }
        s
    }

    fn ids<'a>(entries: impl Iterator<Item = (StreamId, Fields<'a>)>) -> Vec<u64> {
        entries.map(|(id, _)| id.ms).collect()
    }

    #[test]
    fn ids_step_forward_and_back_across_the_sequence_boundary() {
        assert_eq!(id(1, u64::MAX).next(), Some(id(2, 0)));
        assert_eq!(id(2, 0).prev(), Some(id(1, u64::MAX)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(StreamId::MIN.prev(), None);
        assert_eq!(id(3, 4).to_string(), "3-4");
        assert!(id(1, 9) < id(2, 0));
    }

    #[test]
    fn new_ids_never_go_back() {
        let mut s = Stream::new();
        assert_eq!(s.add(NewId::Auto, &[b"f", b"v"], 1000), Ok(id(1000, 0)));
        // The clock went back: the sequence moves on instead.
        assert_eq!(s.add(NewId::Auto, &[b"f", b"v"], 900), Ok(id(1000, 1)));
        assert_eq!(s.add(NewId::Ms(1000), &[b"f", b"v"], 0), Ok(id(1000, 2)));
        assert_eq!(s.add(NewId::Ms(2000), &[b"f", b"v"], 0), Ok(id(2000, 0)));
        assert_eq!(
            s.add(NewId::Ms(1500), &[b"f", b"v"], 0),
            Err(AddError::NotGreater)
        );
        assert_eq!(
            s.add(NewId::Exact(id(2000, 0)), &[b"f", b"v"], 0),
            Err(AddError::NotGreater)
        );
        assert_eq!(s.entries_added(), 4);
        // Deleting the top entry does not lower the last ID.
        assert!(s.delete(id(2000, 0)));
        assert_eq!(s.last_id(), id(2000, 0));
        assert_eq!(s.last_entry_id(), Some(id(1000, 2)));
        assert_eq!(s.max_deleted_id(), id(2000, 0));
        assert_eq!(
            s.add(NewId::Exact(id(1999, 0)), &[b"f", b"v"], 0),
            Err(AddError::NotGreater)
        );
    }

    #[test]
    fn the_last_possible_id_exhausts_the_stream() {
        let mut s = Stream::new();
        s.add(NewId::Exact(id(5, u64::MAX)), &[b"f", b"v"], 0)
            .expect("add");
        assert_eq!(
            s.add(NewId::Ms(5), &[b"f", b"v"], 0),
            Err(AddError::TooLarge)
        );
        assert_eq!(s.add(NewId::Auto, &[b"f", b"v"], 0), Ok(id(6, 0)));
        s.add(NewId::Exact(StreamId::MAX), &[b"f", b"v"], 0)
            .expect("add");
        assert_eq!(
            s.add(NewId::Auto, &[b"f", b"v"], 0),
            Err(AddError::Exhausted)
        );
    }

    #[test]
    fn ranges_start_anywhere_and_run_both_ways() {
        let s = numbered(250);
        assert_eq!(s.len(), 250);
        assert_eq!(s.blocks.len(), 3, "blocks of 100 entries");
        let forward = ids(s.range(id(99, 1), id(103, 0)));
        assert_eq!(forward, vec![100, 101, 102, 103]);
        let backward = ids(s.rev_range(id(99, 0), id(101, 5)));
        assert_eq!(backward, vec![101, 100, 99]);
        assert_eq!(s.range(StreamId::MIN, StreamId::MAX).count(), 250);
        assert_eq!(s.rev_range(StreamId::MIN, StreamId::MAX).count(), 250);
        assert_eq!(s.range(id(300, 0), StreamId::MAX).count(), 0);
        assert_eq!(s.range(id(5, 0), id(4, 0)).count(), 0);
        assert_eq!(s.rev_range(id(5, 0), id(4, 0)).count(), 0);
        let (first, fields) = s.range(id(7, 0), StreamId::MAX).next().expect("entry");
        assert_eq!(first, id(7, 0));
        assert_eq!(fields.collect::<Vec<_>>(), vec![&b"f"[..], b"7"]);
    }

    #[test]
    fn fields_keep_their_bytes_and_order() {
        let mut s = Stream::new();
        let big = vec![b'x'; 5000];
        let fields: [&[u8]; 6] = [b"a", b"", b"\0\r\n", &big, b"a", b"2"];
        s.add(NewId::Exact(id(1, 1)), &fields, 0).expect("add");
        let (_, got) = s.range(StreamId::MIN, StreamId::MAX).next().expect("entry");
        assert_eq!(got.collect::<Vec<_>>(), fields.to_vec());
    }

    #[test]
    fn deleting_entries_keeps_order_and_drops_empty_blocks() {
        let mut s = numbered(150);
        assert!(s.delete(id(1, 0)));
        assert!(!s.delete(id(1, 0)), "already gone");
        assert!(!s.delete(id(1, 5)), "never there");
        assert!(!s.contains(id(1, 0)));
        assert!(s.contains(id(2, 0)));
        assert_eq!(s.first_entry_id(), Some(id(2, 0)));
        for i in 101..=150 {
            assert!(s.delete(id(i, 0)));
        }
        assert_eq!(s.blocks.len(), 1, "the emptied block went");
        assert_eq!(s.len(), 99);
        assert_eq!(s.last_entry_id(), Some(id(100, 0)));
        assert_eq!(s.last_id(), id(150, 0));
        assert_eq!(s.max_deleted_id(), id(150, 0));
        // The first block is full (100 appended), so the next entry opens a new one.
        s.add(NewId::Auto, &[b"f", b"v"], 0).expect("add");
        assert_eq!(s.blocks.len(), 2);
    }

    #[test]
    fn exact_trimming_keeps_exactly_what_was_asked() {
        let mut s = numbered(250);
        assert_eq!(s.trim(Trim::MaxLen(120), false, 0), 130);
        assert_eq!(s.len(), 120);
        assert_eq!(s.first_entry_id(), Some(id(131, 0)));
        assert_eq!(s.trim(Trim::MinId(id(200, 0)), false, 0), 69);
        assert_eq!(s.first_entry_id(), Some(id(200, 0)));
        assert_eq!(s.trim(Trim::MinId(id(200, 0)), false, 0), 0);
        assert_eq!(s.trim(Trim::MaxLen(0), false, 0), 51);
        assert!(s.is_empty());
        assert_eq!(s.first_entry_id(), None);
        assert_eq!(s.last_id(), id(250, 0), "trimming keeps the last ID");
        assert_eq!(s.max_deleted_id(), StreamId::MIN, "trimming is not XDEL");
    }

    #[test]
    fn approximate_trimming_removes_whole_blocks_only() {
        let mut s = numbered(250);
        // Removing the first block would leave 150 >= 120; the second would leave 50.
        assert_eq!(s.trim(Trim::MaxLen(120), true, 0), 100);
        assert_eq!(s.len(), 150);
        assert_eq!(s.trim(Trim::MaxLen(120), true, 0), 0);
        // MINID drops a block only when its last entry is below the minimum.
        assert_eq!(s.trim(Trim::MinId(id(200, 0)), true, 0), 0);
        assert_eq!(s.trim(Trim::MinId(id(201, 0)), true, 0), 100);
        assert_eq!(s.first_entry_id(), Some(id(201, 0)));
        // A limit smaller than a block stops before it.
        let mut s = numbered(250);
        assert_eq!(s.trim(Trim::MaxLen(0), true, 150), 100);
        assert_eq!(s.trim(Trim::MaxLen(0), true, 0), 150);
        assert!(s.blocks.is_empty());
    }

    #[test]
    fn a_plan_changes_nothing_until_applied() {
        let mut s = numbered(10);
        let before = s.clone();
        let plan = s.plan_trim(Trim::MaxLen(3), false, 0);
        assert_eq!(plan.deleted, 7);
        assert_eq!(s, before);
        assert_eq!(s.apply_trim(plan), 7);
        assert_eq!(ids(s.range(StreamId::MIN, StreamId::MAX)), vec![8, 9, 10]);
    }

    #[test]
    fn blocks_close_where_redis_closes_its_nodes() {
        // Entries of 1000-byte values: Redis fits 4 in a 4096-byte node.
        let mut s = Stream::new();
        let value = vec![b'v'; 1000];
        for i in 1..=10 {
            s.add(NewId::Exact(id(i, 0)), &[b"f", &value], 0)
                .expect("add");
        }
        let sizes: Vec<usize> = s.blocks.values().map(|b| b.ids.len()).collect();
        assert_eq!(sizes, vec![4, 4, 2]);
        // One small entry: header and end 7, counters 2+2, master entry (field count, "f",
        // terminator) 2+3+2, the entry (flags, two deltas, "v", piece count) 2+2+2+3+2.
        let mut s = Stream::new();
        s.add(NewId::Exact(id(1, 0)), &[b"f", b"v"], 0)
            .expect("add");
        let block = s.blocks.values().next().expect("block");
        assert_eq!(block.listpack_bytes(), 7 + 4 + 7 + 11);
        // Other fields are stored with the entry (flags, deltas, field count, "g", 12345 as a
        // 16-bit integer, piece count).
        s.add(NewId::Exact(id(1, 1)), &[b"g", b"12345"], 0)
            .expect("add");
        let block = s.blocks.values().next().expect("block");
        assert_eq!(block.listpack_bytes(), 29 + 2 + 2 + 2 + 2 + 3 + 4 + 2);
    }

    #[test]
    fn element_sizes_follow_the_listpack_encoding() {
        assert_eq!(int_elem(0), 2);
        assert_eq!(int_elem(127), 2);
        assert_eq!(int_elem(128), 3);
        assert_eq!(int_elem(-1), 3);
        assert_eq!(int_elem(40_000), 5);
        assert_eq!(int_elem(i64::MIN), 10);
        assert_eq!(str_elem(b"abc"), 5);
        assert_eq!(str_elem(b"007"), 5, "not a canonical integer");
        assert_eq!(str_elem(b"-5"), 3);
        assert_eq!(str_elem(&[b'x'; 100]), 103);
        assert_eq!(str_elem(&[b'x'; 5000]), 5007);
    }

    #[test]
    fn costs_grow_with_the_blocks() {
        let empty = Stream::new();
        assert_eq!(empty.free_cost(), 1);
        let s = numbered(1000);
        assert_eq!(s.free_cost(), 1 + 4 * 10);
        assert!(s.heap_size() > empty.heap_size() + 1000 * 16);
    }
}
