//! A value as bytes and back: how a key's value travels to another node (replication,
//! snapshots) and is rebuilt there exactly — the same elements, in the same order where the
//! order shows (list items, a listpack's insertion order, sorted-set ranks, stream entries),
//! the same encoding for `OBJECT ENCODING`, and a stream's bookkeeping (last ID, greatest
//! deleted ID, entries ever added), on which XADD's ID checks and XINFO depend.
//!
//! This module owns the format and nothing else: collections are rebuilt through their own
//! inserters (`Hash::insert`, `List::push`, `Set::insert_member`, `ZSet::from_entries`,
//! `Stream::add`), which apply the encoding thresholds themselves.
//!
//! # Format
//!
//! A version byte ([`VERSION`]), a type byte, then the body. Counts and lengths are LEB128
//! varints; "bytes" is a length then that many raw bytes; scores are the 8 little-endian
//! bytes of the `f64`.
//!
//! - 0, string: its encoding (0 `Auto`, 1 `Plain`, 2 `Raw`), then its bytes;
//! - 1, hash: form (0 listpack, 1 hashtable, 2 listpackex, 3 hashtable with field
//!   deadlines), count, then each field's bytes and value's bytes, in iteration order (a
//!   listpack's is insertion order); forms 2 and 3 then have the number of fields with a
//!   deadline and each one's bytes and absolute deadline (unix ms, a varint), in the same
//!   order;
//! - 2, list: form (0 listpack, 1 quicklist), count, then each item's bytes, head to tail;
//! - 3, set: form (0 intset, 1 listpack, 2 hashtable), count, then each member: an intset's
//!   as a zigzag varint, the others' as bytes;
//! - 4, sorted set: form (0 listpack, 1 skiplist), count, then each member's bytes and
//!   score, in ascending order;
//! - 5, stream: last ID, greatest deleted ID, entries ever added, count, then each entry's
//!   ID, its number of fields and values (even), and their bytes.
//!
//! An ID is two varints: the first entry's as they are (`ms`, `seq`), every later one's as
//! the step from the one before (the `ms` difference, then the `seq` itself when `ms`
//! changed, else the `seq` difference minus one) — so IDs always increase. The bookkeeping
//! IDs are written as they are.
//!
//! # Rebuilding the encoding
//!
//! The form byte says which encoding the value had. A value is first rebuilt the way
//! commands would build it; when its encoding is one Redis keeps even after shrinking (a
//! hash, set or sorted set that grew past the listpack limits and lost members since, a
//! quicklist above half the listpack limit), the rebuilt value is moved to it with the
//! same public steps a client could take: a hash or sorted set gets an over-long member
//! that it then loses, a set is prepared for more members than a listpack holds, a list
//! gets an 8 KB item that it then pops. A list that was a listpack is rebuilt in one
//! `RPUSH` when that keeps it a listpack, else one item at a time.
//!
//! # Malformed bytes
//!
//! [`decode`] never panics: every read is checked, unknown versions, types and forms are
//! refused, as are duplicate members or fields, sorted-set entries out of order or scored
//! NaN, stream IDs that do not increase, an odd number of fields and values, and trailing
//! bytes. It reserves nothing on the word of a count: a count is first checked against the
//! bytes left (every item takes at least one), so what decoding allocates is a bounded
//! multiple of the input's length — beside the fixed-size probes above: a 65-byte member,
//! and the 8 KB list item, which only inputs of 1 KB or more get.
//!
//! Version 1 was the first draft of this format (commit ef62061), which kept no forms; its
//! bytes are refused.

use super::hash::{self, Hash};
use super::list::{self, End, List};
use super::set::{self, Member, Set};
use super::stream::{NewId, Stream, StreamId};
use super::value::{StrEncoding, Value, ValueRef};
use super::zset::{self, ZSet};
use std::cmp::Ordering;

/// The version of the format, the first byte of every encoding.
pub const VERSION: u8 = 2;

// Type bytes.
const STRING: u8 = 0;
const HASH: u8 = 1;
const LIST: u8 = 2;
const SET: u8 = 3;
const ZSET: u8 = 4;
const STREAM: u8 = 5;

// Forms: which encoding a collection had.
const LISTPACK: u8 = 0;
const HASHTABLE: u8 = 1;
const HASH_LISTPACK_EX: u8 = 2;
const HASHTABLE_EX: u8 = 3;
const QUICKLIST: u8 = 1;
const SET_INTSET: u8 = 0;
const SET_LISTPACK: u8 = 1;
const SET_HASHTABLE: u8 = 2;
const SKIPLIST: u8 = 1;

/// Bytes of an encoded score.
const SCORE_BYTES: usize = 8;

/// Appends the encoding of `value` to `out`.
pub fn encode(value: ValueRef<'_>, out: &mut Vec<u8>) {
    out.push(VERSION);
    match value {
        ValueRef::Str(bytes, encoding) => {
            out.push(STRING);
            out.push(match encoding {
                StrEncoding::Auto => 0,
                StrEncoding::Plain => 1,
                StrEncoding::Raw => 2,
            });
            put_bytes(out, bytes);
        }
        ValueRef::Hash(hash) => {
            out.push(HASH);
            let with_deadlines = hash.encoding() == "listpackex" || hash.has_deadlines();
            out.push(match (hash.encoding() == "hashtable", with_deadlines) {
                (false, false) => LISTPACK,
                (true, false) => HASHTABLE,
                (false, true) => HASH_LISTPACK_EX,
                (true, true) => HASHTABLE_EX,
            });
            put_len(out, hash.len());
            for (field, value) in hash.iter() {
                put_bytes(out, field);
                put_bytes(out, value);
            }
            if with_deadlines {
                // In the pairs' order, so that equal hashes encode alike.
                put_len(out, hash.deadlines());
                for (field, _) in hash.iter() {
                    if let Some(at) = hash.deadline(field) {
                        put_bytes(out, field);
                        put_varint(out, at);
                    }
                }
            }
        }
        ValueRef::List(list) => {
            out.push(LIST);
            out.push(if list.encoding() == "quicklist" {
                QUICKLIST
            } else {
                LISTPACK
            });
            put_len(out, list.len());
            for item in list.iter() {
                put_bytes(out, item);
            }
        }
        ValueRef::Set(set) => encode_set(set, out),
        ValueRef::ZSet(zset) => {
            out.push(ZSET);
            out.push(if zset.encoding() == "skiplist" {
                SKIPLIST
            } else {
                LISTPACK
            });
            put_len(out, zset.len());
            for entry in zset.iter() {
                put_bytes(out, entry.member);
                out.extend_from_slice(&entry.score.to_bits().to_le_bytes());
            }
        }
        ValueRef::Stream(stream) => encode_stream(stream, out),
    }
}

fn encode_set(set: &Set, out: &mut Vec<u8>) {
    out.push(SET);
    // An intset hands out integers only; the check keeps the encoder total all the same.
    let ints = set.encoding() == "intset" && set.iter().all(|m| matches!(m, Member::Int(_)));
    out.push(match set.encoding() {
        _ if ints => SET_INTSET,
        "hashtable" => SET_HASHTABLE,
        _ => SET_LISTPACK,
    });
    put_len(out, set.len());
    for member in set.iter() {
        match member {
            Member::Int(n) if ints => put_varint(out, zigzag(n)),
            member => member.with_bytes(|bytes| put_bytes(out, bytes)),
        }
    }
}

fn encode_stream(stream: &Stream, out: &mut Vec<u8>) {
    out.push(STREAM);
    put_id(out, stream.last_id());
    put_id(out, stream.max_deleted_id());
    put_varint(out, stream.entries_added());
    put_len(out, stream.len());
    let mut prev: Option<StreamId> = None;
    for (id, fields) in stream.range(StreamId::MIN, StreamId::MAX) {
        match prev {
            Some(prev) if id.ms == prev.ms => {
                put_varint(out, 0);
                put_varint(out, id.seq.wrapping_sub(prev.seq).wrapping_sub(1));
            }
            Some(prev) => {
                put_varint(out, id.ms.wrapping_sub(prev.ms));
                put_varint(out, id.seq);
            }
            None => put_id(out, id),
        }
        prev = Some(id);
        put_len(out, fields.count());
        for item in fields {
            put_bytes(out, item);
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    put_varint(out, n as u64);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn put_id(out: &mut Vec<u8>, id: StreamId) {
    put_varint(out, id.ms);
    put_varint(out, id.seq);
}

/// Small magnitudes of either sign as small unsigned numbers: 0, -1, 1, -2… → 0, 1, 2, 3…
fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// Rebuilds a value from [`encode`]'s bytes; `None` if the bytes are malformed (never
/// panics, and allocates a bounded multiple of the input's length).
pub fn decode(bytes: &[u8]) -> Option<Value> {
    let mut r = Reader(bytes);
    if r.byte()? != VERSION {
        return None;
    }
    let value = match r.byte()? {
        STRING => {
            let encoding = match r.byte()? {
                0 => StrEncoding::Auto,
                1 => StrEncoding::Plain,
                2 => StrEncoding::Raw,
                _ => return None,
            };
            Value::Str(r.bytes()?.to_vec(), encoding)
        }
        HASH => Value::Hash(decode_hash(&mut r)?),
        LIST => Value::List(Box::new(decode_list(&mut r, bytes.len())?)),
        SET => Value::Set(Box::new(decode_set(&mut r)?)),
        ZSET => Value::ZSet(Box::new(decode_zset(&mut r)?)),
        STREAM => Value::Stream(Box::new(decode_stream(&mut r)?)),
        _ => return None,
    };
    r.0.is_empty().then_some(value)
}

fn decode_hash(r: &mut Reader<'_>) -> Option<Hash> {
    let form = r.byte()?;
    if form > HASHTABLE_EX {
        return None;
    }
    let mut hash = Hash::new();
    for _ in 0..r.count(2)? {
        let (field, value) = (r.bytes()?, r.bytes()?);
        if !hash.insert(field, value) {
            return None;
        }
    }
    if form == HASH_LISTPACK_EX || form == HASHTABLE_EX {
        let fields = r.count(2)?;
        if fields == 0 && hash.encoding() == "listpack" {
            // A listpackex whose deadlines all went: still a listpackex.
            if let Some((field, _)) = hash.iter().next() {
                let field = field.to_vec();
                hash.set_deadline(&field, u64::MAX);
                hash.clear_deadline(&field);
            }
        }
        for _ in 0..fields {
            let (field, at) = (r.bytes()?, r.varint()?);
            if !hash.contains(field) || hash.deadline(field).is_some() {
                return None;
            }
            hash.set_deadline(field, at);
        }
    }
    if (form == HASHTABLE || form == HASHTABLE_EX) && hash.encoding() != "hashtable" {
        // A table that shrank stays a table (as in Redis): a field too long for a listpack
        // converts the hash for good, and goes again. No field of a listpack is that long.
        let long = [0u8; hash::MAX_PACKED_LEN + 1];
        if !hash.contains(&long) {
            hash.insert(&long, b"");
            hash.remove(&long);
        }
    }
    Some(hash)
}

fn decode_list(r: &mut Reader<'_>, input_len: usize) -> Option<List> {
    let form = r.byte()?;
    if form != LISTPACK && form != QUICKLIST {
        return None;
    }
    let n = r.count(1)?;
    let mut items: Vec<&[u8]> = Vec::with_capacity(n);
    for _ in 0..n {
        items.push(r.bytes()?);
    }
    // As one RPUSH: a listpack if the items' bytes fit one (the list weighs them once).
    let mut list = List::new();
    list.push(End::Right, &items);
    if form == LISTPACK && list.encoding() != "listpack" {
        // Items that weigh less than their bytes (long integers) may fit one at a time.
        list = List::new();
        for item in &items {
            list.push(End::Right, &[*item]);
        }
    }
    // A quicklist stays one until it shrinks to half the listpack limit: an item too big
    // for a listpack converts the list, and popping it keeps the quicklist if it is still
    // above that. A quicklist weighs more than 4 KB as a listpack, and an item at most
    // twice its bytes here, so a shorter input cannot be one: it gets no 8 KB probe.
    if form == QUICKLIST
        && list.encoding() != "quicklist"
        && input_len >= list::MAX_PACKED_BYTES / 8
    {
        list.push(End::Right, &[vec![0u8; list::MAX_PACKED_BYTES]]);
        list.pop(End::Right);
    }
    Some(list)
}

fn decode_set(r: &mut Reader<'_>) -> Option<Set> {
    let form = r.byte()?;
    let n = r.count(1)?;
    let mut set = match form {
        SET_INTSET => Set::new(),
        SET_LISTPACK => Set::packed(),
        SET_HASHTABLE => {
            // Sized for its members, and a table even if they are few (it was one).
            let mut set = Set::packed();
            set.prepare_for(n.max(set::MAX_LISTPACK_ENTRIES + 1));
            set
        }
        _ => return None,
    };
    for _ in 0..n {
        let added = if form == SET_INTSET {
            set.insert_member(Member::Int(unzigzag(r.varint()?)))
        } else {
            set.insert(r.bytes()?)
        };
        if !added {
            return None;
        }
    }
    Some(set)
}

fn decode_zset(r: &mut Reader<'_>) -> Option<ZSet> {
    let form = r.byte()?;
    if form != LISTPACK && form != SKIPLIST {
        return None;
    }
    let n = r.count(1 + SCORE_BYTES)?;
    let mut entries: Vec<(Vec<u8>, f64)> = Vec::with_capacity(n);
    let mut members: hashbrown::HashSet<&[u8]> = hashbrown::HashSet::with_capacity(n);
    for _ in 0..n {
        let member = r.bytes()?;
        let score = r.score()?;
        if score.is_nan() || !members.insert(member) {
            return None;
        }
        if let Some((last, last_score)) = entries.last()
            && zset::compare(last, *last_score, member, score) != Ordering::Less
        {
            return None;
        }
        entries.push((member.to_vec(), score));
    }
    let mut zset = ZSet::from_entries(entries);
    if form == SKIPLIST && zset.encoding() != "skiplist" {
        // As for a hash: a member too long for a listpack converts the set for good.
        let long = [0u8; zset::MAX_PACKED_LEN + 1];
        if zset.score(&long).is_none() {
            zset.insert(&long, 0.0);
            zset.remove(&long);
        }
    }
    Some(zset)
}

fn decode_stream(r: &mut Reader<'_>) -> Option<Stream> {
    let last_id = r.id()?;
    let max_deleted = r.id()?;
    let added = r.varint()?;
    // An entry takes at least three bytes: its ID and its number of fields.
    let n = r.count(3)?;
    let mut stream = Stream::new();
    let mut fields: Vec<&[u8]> = Vec::new();
    let mut prev: Option<StreamId> = None;
    for _ in 0..n {
        let (a, b) = (r.varint()?, r.varint()?);
        let id = match prev {
            None => StreamId::new(a, b),
            Some(prev) if a == 0 => {
                StreamId::new(prev.ms, prev.seq.checked_add(b)?.checked_add(1)?)
            }
            Some(prev) => StreamId::new(prev.ms.checked_add(a)?, b),
        };
        prev = Some(id);
        let items = r.count(1)?;
        if !items.is_multiple_of(2) {
            return None;
        }
        fields.clear();
        fields.reserve(items);
        for _ in 0..items {
            fields.push(r.bytes()?);
        }
        // Refuses an ID not above the last, or an entry too large, as XADD would.
        stream.add(NewId::Exact(id), &fields, 0).ok()?;
    }
    stream.restore_history(last_id, max_deleted, added);
    Some(stream)
}

/// Reads an encoding front to back; every read fails rather than run past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }

    /// A LEB128 number of at most ten bytes that fits 64 bits.
    fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for i in 0..10 {
            let byte = self.byte()?;
            if i == 9 && byte > 1 {
                return None;
            }
            n |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    /// A count of items that take at least `min_bytes` each: refused if more than the bytes
    /// left could hold.
    fn count(&mut self, min_bytes: usize) -> Option<usize> {
        let n = usize::try_from(self.varint()?).ok()?;
        (n <= self.0.len() / min_bytes).then_some(n)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        if len > self.0.len() {
            return None;
        }
        let (bytes, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(bytes)
    }

    fn score(&mut self) -> Option<f64> {
        let (bits, rest) = self.0.split_first_chunk::<SCORE_BYTES>()?;
        self.0 = rest;
        Some(f64::from_bits(u64::from_le_bytes(*bits)))
    }

    fn id(&mut self) -> Option<StreamId> {
        Some(StreamId::new(self.varint()?, self.varint()?))
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
