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
//! - 1, hash: form (0 listpack, 1 hashtable), count, then each field's bytes and value's
//!   bytes, in iteration order (a listpack's is insertion order);
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
            out.push(if hash.encoding() == "hashtable" {
                HASHTABLE
            } else {
                LISTPACK
            });
            put_len(out, hash.len());
            for (field, value) in hash.iter() {
                put_bytes(out, field);
                put_bytes(out, value);
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
    if form != LISTPACK && form != HASHTABLE {
        return None;
    }
    let mut hash = Hash::new();
    for _ in 0..r.count(2)? {
        let (field, value) = (r.bytes()?, r.bytes()?);
        if !hash.insert(field, value) {
            return None;
        }
    }
    if form == HASHTABLE && hash.encoding() != "hashtable" {
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
mod tests {
    use super::*;
    use crate::store::stream::Trim;
    use proptest::prelude::*;

    fn encoded(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        encode(value.as_ref(), &mut out);
        out
    }

    /// Everything a stream shows: its entries, bookkeeping and next IDs.
    type StreamView = (Vec<(StreamId, Vec<Vec<u8>>)>, [StreamId; 2], u64, usize);

    fn stream_view(stream: &Stream) -> StreamView {
        let entries = stream
            .range(StreamId::MIN, StreamId::MAX)
            .map(|(id, fields)| (id, fields.map(<[u8]>::to_vec).collect()))
            .collect();
        (
            entries,
            [stream.last_id(), stream.max_deleted_id()],
            stream.entries_added(),
            stream.len(),
        )
    }

    /// Encodes and decodes `value`, checks the copy shows the same, and that every
    /// truncation of the bytes is refused. Returns the copy.
    fn round_trip(value: &Value) -> Value {
        let bytes = encoded(value);
        let back = decode(&bytes).expect("decodes");
        assert_eq!(back.type_name(), value.type_name());
        assert_eq!(back.encoding(), value.encoding(), "{value:?}");
        match (value, &back) {
            (Value::Stream(a), Value::Stream(b)) => {
                assert_eq!(stream_view(a), stream_view(b));
                for new in [NewId::Auto, NewId::Ms(1)] {
                    assert_eq!(
                        a.next_id(new, &[b"f", b"v"], 0),
                        b.next_id(new, &[b"f", b"v"], 0)
                    );
                }
            }
            _ => assert_eq!(&back, value),
        }
        // Where the order is the value's own, the copy encodes to the same bytes.
        let ordered = !matches!(value.encoding(), "hashtable");
        if ordered {
            assert_eq!(encoded(&back), bytes);
        }
        let step = (bytes.len() / 500).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
        }
        back
    }

    fn hash_of(n: usize, value: &[u8]) -> Hash {
        let mut hash = Hash::new();
        for i in 0..n {
            hash.insert(format!("f{i}").as_bytes(), value);
        }
        hash
    }

    fn list_of<I: AsRef<[u8]>>(items: &[I]) -> List {
        let mut list = List::new();
        list.push(End::Right, items);
        list
    }

    fn numbered(n: usize, prefix: &str) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("{prefix}{i}").into_bytes())
            .collect()
    }

    fn set_of(members: &[Vec<u8>]) -> Set {
        let mut set = Set::new();
        for member in members {
            set.insert(member);
        }
        set
    }

    fn zset_of(n: usize) -> ZSet {
        let mut zset = ZSet::new();
        for i in 0..n {
            zset.insert(format!("m{i}").as_bytes(), (i % 7) as f64);
        }
        zset
    }

    #[test]
    fn strings_keep_their_bytes_and_encoding() {
        for bytes in [
            &b""[..],
            b"12345",
            b"-9223372036854775808",
            b"012",
            &[b'x'; 45],
            b"\0\xff\r\n",
        ] {
            for encoding in [StrEncoding::Auto, StrEncoding::Plain, StrEncoding::Raw] {
                round_trip(&Value::Str(bytes.to_vec(), encoding));
            }
        }
        let big = Value::Str(
            (0..=255u8).cycle().take(100_000).collect(),
            StrEncoding::Raw,
        );
        round_trip(&big);
        assert_eq!(
            encoded(&Value::string(b"ab")),
            [VERSION, STRING, 0, 2, b'a', b'b']
        );
    }

    #[test]
    fn hashes_keep_their_pairs_order_and_encoding() {
        round_trip(&Value::Hash(Hash::new()));
        let mut binary = Hash::new();
        binary.insert(b"", b"");
        binary.insert(b"\0\xff", b"\r\n\0");
        binary.insert(b"empty", b"");
        let back = round_trip(&Value::Hash(binary));
        let Value::Hash(back) = back else {
            panic!("a hash")
        };
        let order: Vec<&[u8]> = back.iter().map(|(f, _)| f).collect();
        assert_eq!(
            order,
            [&b""[..], b"\0\xff", b"empty"],
            "listpack order kept"
        );
        for n in [1, 512, 513, 5000] {
            let back = round_trip(&Value::Hash(hash_of(n, b"v")));
            assert_eq!(
                back.encoding(),
                if n <= 512 { "listpack" } else { "hashtable" }
            );
        }
        // A long value makes a table of a small hash.
        let mut long = hash_of(3, b"v");
        long.insert(b"f1", &[b'x'; 65]);
        round_trip(&Value::Hash(long));
        // A table stays one when it shrinks, as in Redis.
        let mut shrunk = hash_of(600, b"v");
        for i in 2..600 {
            shrunk.remove(format!("f{i}").as_bytes());
        }
        assert_eq!(shrunk.encoding(), "hashtable");
        round_trip(&Value::Hash(shrunk));
    }

    #[test]
    fn lists_keep_their_items_order_and_encoding() {
        round_trip(&Value::List(Box::new(List::new())));
        let binary = list_of(&[&b""[..], b"\0", b"\xff\xfe", b"", b"12"]);
        round_trip(&Value::List(Box::new(binary)));
        for n in [1, 100, 1000, 20_000] {
            round_trip(&Value::List(Box::new(list_of(&numbered(n, "item-")))));
        }
        // One element too big for a listpack.
        round_trip(&Value::List(Box::new(list_of(&[vec![b'x'; 9000]]))));
        // One RPUSH of many short items: a listpack heavier than 8 KB in Redis's weights.
        let mut heavy = List::new();
        heavy.push(End::Right, &vec![&b"a"[..]; 4000]);
        assert_eq!(heavy.encoding(), "listpack");
        round_trip(&Value::List(Box::new(heavy)));
        // Long integers pushed one by one: more bytes than the limit, a listpack still.
        let mut ints = List::new();
        for i in 0..700 {
            ints.push(End::Left, &[format!("-92233720368547758{:02}", i % 8)]);
        }
        assert_eq!(ints.encoding(), "listpack");
        round_trip(&Value::List(Box::new(ints)));
        // A quicklist that shrank to between half the limit and the limit stays one.
        let mut shrunk = list_of(&numbered(2000, "item-"));
        assert_eq!(shrunk.encoding(), "quicklist");
        shrunk.retain_range(0, 600);
        assert_eq!(shrunk.encoding(), "quicklist");
        round_trip(&Value::List(Box::new(shrunk.clone())));
        // ... and becomes a listpack below half, as in Redis.
        shrunk.retain_range(0, 100);
        assert_eq!(shrunk.encoding(), "listpack");
        round_trip(&Value::List(Box::new(shrunk)));
    }

    #[test]
    fn sets_keep_their_members_and_encoding() {
        round_trip(&Value::Set(Box::default()));
        round_trip(&Value::Set(Box::new(Set::packed())));
        let ints: Vec<Vec<u8>> = [i64::MIN, -1, 0, 1, 300, 70_000, i64::MAX]
            .iter()
            .map(|n| n.to_string().into_bytes())
            .collect();
        assert_eq!(
            round_trip(&Value::Set(Box::new(set_of(&ints)))).encoding(),
            "intset"
        );
        for n in [512, 513] {
            let back = round_trip(&Value::Set(Box::new(set_of(&numbered(n, "")))));
            assert_eq!(
                back.encoding(),
                if n <= 512 { "intset" } else { "hashtable" }
            );
        }
        for n in [1, 128, 129, 3000] {
            let back = round_trip(&Value::Set(Box::new(set_of(&numbered(n, "m")))));
            assert_eq!(
                back.encoding(),
                if n <= 128 { "listpack" } else { "hashtable" }
            );
        }
        let binary = set_of(&[b"".to_vec(), b"\0\xff".to_vec(), b"007".to_vec()]);
        round_trip(&Value::Set(Box::new(binary)));
        // A listpack left with integers only stays a listpack.
        let mut mixed = set_of(&[b"1".to_vec(), b"x".to_vec(), b"2".to_vec()]);
        mixed.remove(b"x");
        assert_eq!(
            round_trip(&Value::Set(Box::new(mixed))).encoding(),
            "listpack"
        );
        // A table that shrank stays one.
        let mut shrunk = set_of(&numbered(200, "m"));
        for i in 1..200 {
            shrunk.remove(format!("m{i}").as_bytes());
        }
        assert_eq!(
            round_trip(&Value::Set(Box::new(shrunk))).encoding(),
            "hashtable"
        );
        let mut long = set_of(&numbered(3, "m"));
        long.insert(&[b'x'; 65]);
        round_trip(&Value::Set(Box::new(long)));
    }

    #[test]
    fn sorted_sets_keep_their_scores_ranks_and_encoding() {
        round_trip(&Value::ZSet(Box::new(ZSet::new())));
        for n in [1, 128, 129, 5000] {
            let back = round_trip(&Value::ZSet(Box::new(zset_of(n))));
            assert_eq!(
                back.encoding(),
                if n <= 128 { "listpack" } else { "skiplist" }
            );
        }
        let mut odd = ZSet::new();
        for (member, score) in [
            (&b"a"[..], 1.0),
            (&b"b"[..], 1.0),
            (&b""[..], 1.0),
            (&b"\0\xff"[..], 1.0),
            (&b"low"[..], f64::NEG_INFINITY),
            (&b"high"[..], f64::INFINITY),
            (&b"zero"[..], 0.0),
            (&b"minus-zero"[..], -0.0),
            (&b"tiny"[..], f64::MIN_POSITIVE),
            (&b"max"[..], f64::MAX),
        ] {
            odd.insert(member, score);
        }
        // The same scores, bit for bit (a listpack stores -0 as 0, a skiplist keeps it), in
        // both forms.
        let mut big = odd.clone();
        big.insert(&[b'x'; 65], 3.0);
        for zset in [odd, big] {
            let back = round_trip(&Value::ZSet(Box::new(zset.clone())));
            let Value::ZSet(back) = back else {
                panic!("a sorted set")
            };
            let bits = |z: &ZSet| -> Vec<(Vec<u8>, u64)> {
                z.iter()
                    .map(|e| (e.member.to_vec(), e.score.to_bits()))
                    .collect()
            };
            assert_eq!(bits(&back), bits(&zset));
        }
        // A skiplist that shrank stays one; a long member makes one of a small set.
        let mut shrunk = zset_of(300);
        shrunk.remove_range(0, 295);
        assert_eq!(shrunk.encoding(), "skiplist");
        round_trip(&Value::ZSet(Box::new(shrunk)));
        let mut long = zset_of(3);
        long.insert(&[b'x'; 65], 2.5);
        round_trip(&Value::ZSet(Box::new(long)));
    }

    #[test]
    fn streams_keep_entries_and_bookkeeping() {
        round_trip(&Value::Stream(Box::new(Stream::new())));
        for n in [1u64, 1000] {
            let mut stream = Stream::new();
            for i in 1..=n {
                let value = i.to_string();
                stream
                    .add(
                        NewId::Exact(StreamId::new(i * 3, i % 4)),
                        &[b"f", value.as_bytes()],
                        0,
                    )
                    .expect("add");
                // Several entries in one millisecond.
                stream
                    .add(NewId::Ms(i * 3), &[b"", b"", b"\0\xff", b"g"], 0)
                    .expect("add");
            }
            round_trip(&Value::Stream(Box::new(stream)));
        }
        let mut stream = Stream::new();
        for i in 1..=300u64 {
            stream
                .add(NewId::Exact(StreamId::new(1000 + i, 0)), &[b"f", b"v"], 0)
                .expect("add");
        }
        stream
            .add(NewId::Exact(StreamId::new(u64::MAX, 7)), &[b"f", b"v"], 0)
            .expect("add");
        // Deleted entries, the top one included, and a trimmed head.
        for ms in [1001, 1150, 1300] {
            assert!(stream.delete(StreamId::new(ms, 0)));
        }
        assert!(stream.delete(StreamId::new(u64::MAX, 7)));
        stream.trim(Trim::MaxLen(250), false, 0);
        assert_eq!(stream.max_deleted_id(), StreamId::new(u64::MAX, 7));
        assert_eq!(stream.entries_added(), 301);
        let back = round_trip(&Value::Stream(Box::new(stream)));
        let Value::Stream(back) = back else {
            panic!("a stream")
        };
        assert_eq!(back.len(), 250);
        assert_eq!(back.last_id(), StreamId::new(u64::MAX, 7));
        assert_eq!(back.last_entry_id(), Some(StreamId::new(1299, 0)));
        // Every entry deleted: an empty stream that still remembers.
        let mut emptied = Stream::new();
        emptied
            .add(NewId::Exact(StreamId::new(5, 5)), &[b"f", b"v"], 0)
            .expect("add");
        emptied.delete(StreamId::new(5, 5));
        let back = round_trip(&Value::Stream(Box::new(emptied)));
        let Value::Stream(back) = back else {
            panic!("a stream")
        };
        assert_eq!(
            (
                back.len(),
                back.last_id(),
                back.max_deleted_id(),
                back.entries_added()
            ),
            (0, StreamId::new(5, 5), StreamId::new(5, 5), 1)
        );
    }

    /// A valid encoding of every type, for the malformed-input tests.
    fn samples() -> Vec<Vec<u8>> {
        let mut stream = Stream::new();
        for i in 1..=5u64 {
            stream
                .add(NewId::Exact(StreamId::new(i, i)), &[b"f", b"v"], 0)
                .expect("add");
        }
        stream.delete(StreamId::new(3, 3));
        let mut shrunk = hash_of(600, b"v");
        for i in 1..600 {
            shrunk.remove(format!("f{i}").as_bytes());
        }
        [
            Value::Str(b"hello".to_vec(), StrEncoding::Plain),
            Value::Hash(hash_of(5, b"v")),
            Value::Hash(shrunk),
            Value::List(Box::new(list_of(&numbered(5, "i")))),
            Value::Set(Box::new(set_of(&numbered(5, "")))),
            Value::Set(Box::new(set_of(&numbered(5, "m")))),
            Value::ZSet(Box::new(zset_of(5))),
            Value::Stream(Box::new(stream)),
        ]
        .iter()
        .map(encoded)
        .collect()
    }

    #[test]
    fn truncated_or_altered_encodings_are_refused_without_panicking() {
        for bytes in samples() {
            for cut in 0..bytes.len() {
                assert_eq!(decode(&bytes[..cut]), None);
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(decode(&longer), None, "trailing byte");
            // Any single byte changed: no panic, whatever the answer.
            for at in 0..bytes.len() {
                for new in [0, 1, 2, 0x7f, 0x80, 0xff] {
                    let mut altered = bytes.clone();
                    altered[at] = new;
                    let _ = decode(&altered);
                }
            }
        }
    }

    #[test]
    fn unknown_versions_types_and_forms_are_refused() {
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[VERSION]), None);
        assert_eq!(
            decode(&[1, STRING, 0, 0]),
            None,
            "the first draft's version"
        );
        assert_eq!(
            decode(&[VERSION + 1, STRING, 0, 0]),
            None,
            "a later version"
        );
        assert_eq!(decode(&[VERSION, 6, 0]), None, "unknown type");
        assert_eq!(
            decode(&[VERSION, STRING, 3, 0]),
            None,
            "unknown string encoding"
        );
        assert!(decode(&[VERSION, STRING, 0, 0]).is_some());
        for (tag, forms) in [(HASH, 2), (LIST, 2), (SET, 3), (ZSET, 2)] {
            for form in 0..=255u8 {
                let decoded = decode(&[VERSION, tag, form, 0]);
                assert_eq!(decoded.is_some(), form < forms, "type {tag} form {form}");
            }
        }
    }

    #[test]
    fn huge_counts_and_lengths_are_refused_before_anything_is_reserved() {
        for tag in [HASH, LIST, SET, ZSET] {
            for count in [u64::MAX, 1 << 40, 3] {
                let mut bytes = vec![VERSION, tag, 0];
                put_varint(&mut bytes, count);
                bytes.extend_from_slice(b"\x01a");
                assert_eq!(decode(&bytes), None, "type {tag} count {count}");
            }
        }
        let mut string = vec![VERSION, STRING, 0];
        put_varint(&mut string, u64::MAX);
        assert_eq!(decode(&string), None);
        let mut stream = vec![VERSION, STREAM, 0, 0, 0, 0, 0];
        put_varint(&mut stream, 1 << 50);
        assert_eq!(decode(&stream), None);
        // An entry claiming a huge number of fields.
        let mut fields = vec![VERSION, STREAM, 0, 0, 0, 0, 0, 1, 1, 0];
        put_varint(&mut fields, u64::MAX - 1);
        assert_eq!(decode(&fields), None);
        // Varints longer than ten bytes or past 64 bits.
        assert_eq!(
            decode(&[
                VERSION, STRING, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0
            ]),
            None
        );
        assert_eq!(
            decode(&[
                VERSION, STRING, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02
            ]),
            None
        );
        // A list claiming to be a quicklist gets no 8 KB probe on a few bytes' word.
        let list = decode(&[VERSION, LIST, QUICKLIST, 1, 1, b'a']).expect("decodes");
        assert_eq!(
            (list.encoding(), list.heap_size() < 1024),
            ("listpack", true)
        );
    }

    #[test]
    fn contents_no_command_could_build_are_refused() {
        // Duplicate fields, members or items where they must be distinct.
        assert_eq!(decode(&[VERSION, HASH, 0, 2, 1, b'f', 0, 1, b'f', 0]), None);
        assert_eq!(
            decode(&[VERSION, SET, SET_LISTPACK, 2, 1, b'm', 1, b'm']),
            None
        );
        assert_eq!(decode(&[VERSION, SET, SET_INTSET, 2, 4, 4]), None);
        assert!(
            decode(&[VERSION, LIST, 0, 2, 1, b'i', 1, b'i']).is_some(),
            "lists repeat"
        );
        let zset = |entries: &[(&str, f64)]| {
            let mut bytes = vec![VERSION, ZSET, 0];
            put_len(&mut bytes, entries.len());
            for (member, score) in entries {
                put_bytes(&mut bytes, member.as_bytes());
                bytes.extend_from_slice(&score.to_bits().to_le_bytes());
            }
            decode(&bytes)
        };
        assert!(
            zset(&[("a", 1.0), ("b", 1.0), ("a", 2.0)]).is_none(),
            "duplicate"
        );
        assert!(zset(&[("b", 1.0), ("a", 1.0)]).is_none(), "out of order");
        assert!(zset(&[("a", 2.0), ("b", 1.0)]).is_none(), "out of order");
        assert!(zset(&[("a", f64::NAN)]).is_none(), "NaN");
        assert!(zset(&[("a", f64::NEG_INFINITY), ("b", 1.0), ("c", f64::INFINITY)]).is_some());
        // Streams: an odd number of fields and values; an ID that does not increase.
        let header = [VERSION, STREAM, 0, 0, 0, 0, 0];
        let odd = [&header[..], &[1, 1, 1, 1, 1, b'f']].concat();
        assert_eq!(decode(&odd), None);
        let zero = [&header[..], &[1, 0, 0, 2, 1, b'f', 1, b'v']].concat();
        assert_eq!(decode(&zero), None, "0-0 is not a valid entry ID");
        let past_the_end = [
            &header[..],
            &[
                2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 1, 0, 0,
            ],
        ]
        .concat();
        assert_eq!(decode(&past_the_end), None, "an ms step past u64::MAX");
        let fine = [&header[..], &[2, 1, 0, 0, 0, 0, 0]].concat();
        let Some(Value::Stream(stream)) = decode(&fine) else {
            panic!("a stream")
        };
        assert_eq!(stream.last_id(), StreamId::new(1, 1));
    }

    proptest! {
        #[test]
        fn any_bytes_decode_without_panicking(tag in 0u8..7, body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let bytes = [&[VERSION, tag][..], &body].concat();
            if let Some(value) = decode(&bytes) {
                // What decodes, encodes back to something that decodes to the same.
                let again = decode(&encoded(&value)).expect("re-decodes");
                prop_assert_eq!(again.type_name(), value.type_name());
                prop_assert_eq!(again.encoding(), value.encoding());
            }
        }

        #[test]
        fn lists_of_any_items_round_trip(items in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..300), left in any::<bool>()) {
            let mut list = List::new();
            for item in &items {
                list.push(if left { End::Left } else { End::Right }, &[item]);
            }
            let back = decode(&encoded(&Value::List(Box::new(list.clone())))).expect("decodes");
            prop_assert_eq!(back.encoding(), list.encoding());
            prop_assert_eq!(back, Value::List(Box::new(list)));
        }
    }
}
