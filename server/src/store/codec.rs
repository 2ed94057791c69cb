//! A value as bytes and back: how a key's value travels to another node (replication,
//! snapshots) and is rebuilt there with the same contents.
//!
//! Format: a version byte (1), a type byte, then the contents, lengths and counts as LEB128
//! varints, scores as 8-byte little-endian `f64` bits:
//!
//! - string: encoding byte (0 auto, 1 plain, 2 raw), the bytes;
//! - hash: count, then field and value of each; list: count, then each item in order;
//!   set: count, then each member; sorted set: count, then member and score of each;
//! - stream: last ID, greatest deleted ID, entries ever added, count, then each entry's ID,
//!   its number of fields and values, and each of them.
//!
//! Collections are rebuilt through their ordinary inserters, so a rebuilt value takes the
//! encoding the same contents would take when built by commands. [`decode`] never panics and
//! reserves nothing on the word of a count: malformed bytes give `None`.

use super::hash::Hash;
use super::list::{End, List};
use super::set::Set;
use super::stream::{Stream, StreamId};
use super::value::{StrEncoding, Value, ValueRef};
use super::zset::ZSet;

const VERSION: u8 = 1;
const STRING: u8 = 0;
const HASH: u8 = 1;
const LIST: u8 = 2;
const SET: u8 = 3;
const ZSET: u8 = 4;
const STREAM: u8 = 5;

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_id(out: &mut Vec<u8>, id: StreamId) {
    put_varint(out, id.ms);
    put_varint(out, id.seq);
}

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
            out.extend_from_slice(bytes);
        }
        ValueRef::Hash(hash) => {
            out.push(HASH);
            put_varint(out, hash.len() as u64);
            for (field, value) in hash.iter() {
                put_bytes(out, field);
                put_bytes(out, value);
            }
        }
        ValueRef::List(list) => {
            out.push(LIST);
            put_varint(out, list.len() as u64);
            for item in list.iter() {
                put_bytes(out, item);
            }
        }
        ValueRef::Set(set) => {
            out.push(SET);
            put_varint(out, set.len() as u64);
            for member in set.iter() {
                put_bytes(out, &member.to_vec());
            }
        }
        ValueRef::ZSet(zset) => {
            out.push(ZSET);
            put_varint(out, zset.len() as u64);
            for entry in zset.iter() {
                put_bytes(out, entry.member);
                out.extend_from_slice(&entry.score.to_bits().to_le_bytes());
            }
        }
        ValueRef::Stream(stream) => {
            out.push(STREAM);
            put_id(out, stream.last_id());
            put_id(out, stream.max_deleted_id());
            put_varint(out, stream.entries_added());
            put_varint(out, stream.len() as u64);
            for (id, fields) in stream.range(StreamId::MIN, StreamId::MAX) {
                put_id(out, id);
                let fields: Vec<&[u8]> = fields.collect();
                put_varint(out, fields.len() as u64);
                for field in fields {
                    put_bytes(out, field);
                }
            }
        }
    }
}

/// Reads encoded bytes front to back.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            n |= u64::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    /// A count of items that each take at least one byte: never more than what is left.
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.varint()?).ok()?;
        (n <= self.0.len()).then_some(n)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        let bytes = self.0.get(..len)?;
        self.0 = &self.0[len..];
        Some(bytes)
    }

    fn f64(&mut self) -> Option<f64> {
        let (bits, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(f64::from_bits(u64::from_le_bytes(*bits)))
    }

    fn id(&mut self) -> Option<StreamId> {
        Some(StreamId::new(self.varint()?, self.varint()?))
    }
}

/// Rebuilds a value from [`encode`]'s bytes; `None` if they are malformed.
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
            let bytes = std::mem::take(&mut r.0);
            Value::Str(bytes.to_vec(), encoding)
        }
        HASH => {
            let mut hash = Hash::new();
            for _ in 0..r.count()? {
                let (field, value) = (r.bytes()?, r.bytes()?);
                hash.insert(field, value);
            }
            Value::Hash(hash)
        }
        LIST => {
            let mut list = List::new();
            for _ in 0..r.count()? {
                list.push(End::Right, &[r.bytes()?]);
            }
            Value::List(Box::new(list))
        }
        SET => {
            let mut set = Set::new();
            for _ in 0..r.count()? {
                set.insert(r.bytes()?);
            }
            Value::Set(Box::new(set))
        }
        ZSET => {
            let mut zset = ZSet::new();
            for _ in 0..r.count()? {
                let member = r.bytes()?;
                let score = r.f64()?;
                if score.is_nan() {
                    return None;
                }
                zset.insert(member, score);
            }
            Value::ZSet(Box::new(zset))
        }
        STREAM => {
            let (last_id, max_deleted, added) = (r.id()?, r.id()?, r.varint()?);
            let mut stream = Stream::new();
            for _ in 0..r.count()? {
                let id = r.id()?;
                let n = r.count()?;
                if n % 2 != 0 || id <= stream.last_id() {
                    return None;
                }
                let mut fields = Vec::with_capacity(n);
                for _ in 0..n {
                    fields.push(r.bytes()?);
                }
                stream.append(id, &fields);
            }
            stream.restore_history(last_id, max_deleted, added);
            Value::Stream(Box::new(stream))
        }
        _ => return None,
    };
    r.0.is_empty().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: &Value) {
        let mut out = Vec::new();
        encode(value_ref(value), &mut out);
        let back = decode(&out).expect("decodes");
        match value {
            // A rebuilt stream packs its entries into blocks afresh: same entries and
            // bookkeeping, so the same encoding.
            Value::Stream(_) => {
                let mut again = Vec::new();
                encode(value_ref(&back), &mut again);
                assert!(again == out, "stream differs after a round trip");
            }
            _ => assert!(&back == value, "value differs after a round trip"),
        }
        assert_eq!(value_ref(&back).encoding(), value_ref(value).encoding());
        // Every truncation is refused, never a panic.
        for cut in 0..out.len() {
            let _ = decode(&out[..cut]);
        }
    }

    fn value_ref(value: &Value) -> ValueRef<'_> {
        match value {
            Value::Str(s, e) => ValueRef::Str(s, *e),
            Value::Hash(h) => ValueRef::Hash(h),
            Value::List(l) => ValueRef::List(l),
            Value::Set(s) => ValueRef::Set(s),
            Value::ZSet(z) => ValueRef::ZSet(z),
            Value::Stream(s) => ValueRef::Stream(s),
        }
    }

    #[test]
    fn every_type_round_trips_small_and_large() {
        round_trip(&Value::Str(b"".to_vec(), StrEncoding::Auto));
        round_trip(&Value::Str(b"12345".to_vec(), StrEncoding::Auto));
        round_trip(&Value::Str(vec![0, 255, 13, 10], StrEncoding::Raw));
        round_trip(&Value::Str(b"1.5".to_vec(), StrEncoding::Plain));
        for n in [1usize, 200] {
            let mut hash = Hash::new();
            let mut list = List::new();
            let mut set = Set::new();
            let mut ints = Set::new();
            let mut zset = ZSet::new();
            let mut stream = Stream::new();
            for i in 0..n {
                let item = format!("item-{i}");
                hash.insert(item.as_bytes(), b"v");
                list.push(End::Right, &[item.as_bytes()]);
                set.insert(item.as_bytes());
                ints.insert(i.to_string().as_bytes());
                zset.insert(item.as_bytes(), (i % 3) as f64);
                stream.append(StreamId::new(i as u64 + 1, 0), &[b"f", item.as_bytes()]);
            }
            zset.insert(b"low", f64::NEG_INFINITY);
            zset.insert(b"high", f64::INFINITY);
            stream.delete(StreamId::new(1, 0));
            round_trip(&Value::Hash(hash));
            round_trip(&Value::List(Box::new(list)));
            round_trip(&Value::Set(Box::new(set)));
            round_trip(&Value::Set(Box::new(ints)));
            round_trip(&Value::ZSet(Box::new(zset)));
            round_trip(&Value::Stream(Box::new(stream)));
        }
    }

    #[test]
    fn malformed_bytes_are_refused() {
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[2, STRING, 0]), None, "unknown version");
        assert_eq!(decode(&[VERSION, 9]), None, "unknown type");
        assert_eq!(decode(&[VERSION, STRING, 7]), None, "unknown encoding");
        // A count far beyond the bytes that follow reserves nothing and fails.
        let mut huge = vec![VERSION, LIST];
        put_varint(&mut huge, u64::MAX);
        assert_eq!(decode(&huge), None);
        let mut nan = vec![VERSION, ZSET, 1, 1, b'm'];
        nan.extend_from_slice(&f64::NAN.to_bits().to_le_bytes());
        assert_eq!(decode(&nan), None);
        // Trailing bytes after a collection.
        let mut out = Vec::new();
        encode(ValueRef::List(&List::new()), &mut out);
        out.push(0);
        assert_eq!(decode(&out), None);
    }
}
