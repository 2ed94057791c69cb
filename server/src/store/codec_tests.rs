//! Unit tests of the value codec: round trips of every type and encoding, and malformed
//! input refused without panics or large reservations.

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
fn hash_field_deadlines_travel_with_the_hash() {
    for n in [3, 600] {
        let mut hash = hash_of(n, b"v");
        hash.set_deadline(b"f0", 1_900_000_000_000);
        hash.set_deadline(b"f2", 1);
        let back = round_trip(&Value::Hash(hash.clone()));
        let Value::Hash(back) = back else {
            panic!("a hash")
        };
        assert_eq!(back.deadline(b"f0"), Some(1_900_000_000_000));
        assert_eq!(back.deadline(b"f2"), Some(1));
        assert_eq!(back.deadline(b"f1"), None);
        // Once every deadline is gone a small hash stays a listpackex, as in Redis.
        hash.clear_deadline(b"f0");
        hash.clear_deadline(b"f2");
        round_trip(&Value::Hash(hash));
    }
    // A deadline for a field the hash does not have is refused.
    let mut hash = hash_of(1, b"v");
    hash.set_deadline(b"f0", 5);
    let mut bytes = encoded(&Value::Hash(hash));
    let at = bytes.len() - 1 - 3;
    bytes[at + 1] = b'x';
    assert!(decode(&bytes).is_none());
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
