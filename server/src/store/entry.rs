//! An entry: a key and everything stored with it, laid out to cost as little memory as
//! possible.
//!
//! A shard's table holds one 16-byte [`Entry`] per key, in one of two layouts:
//!
//! - **packed**: a string value written whole (`SET`, `INCR`…) lives with its key and metadata
//!   in a single allocation — for a 16-byte key and a 32-byte value, 62 bytes in jemalloc's
//!   64-byte class, the whole key for about 100 bytes with its table slot;
//! - **boxed**: anything else (a collection, or a string changed in place by `APPEND`,
//!   `SETRANGE`, `SETBIT`… which keeps spare capacity for the next change) sits in a `Box`
//!   with its metadata, its key (inline up to 16 bytes) and the [`Value`].
//!
//! Packed layout, little-endian: `flags` (1 byte: has-expiry, string encoding), `access` (4
//! bytes: the access clock or the LFU counter, see `evict`), `version` (8 bytes), `expire_at` (8 bytes, only
//! with the has-expiry flag), the key length (LEB128), the key, then the value to the end.
//! Everything outside this module sees fields and a [`ValueRef`]; changing a packed value in
//! place turns the entry boxed.

use super::value::{StrEncoding, Value, ValueRef};
use smallvec::SmallVec;

const HAS_EXPIRY: u8 = 1;
const ENCODING_SHIFT: u8 = 1;
const ACCESS_AT: usize = 1;
const VERSION_AT: usize = 5;
const EXPIRY_AT: usize = 13;

/// A key of up to this many bytes is kept inside a boxed entry's own allocation.
const INLINE_KEY: usize = 16;

/// Metadata of a boxed entry.
#[derive(Debug)]
struct Boxed {
    /// Absolute expiry in Unix ms; 0 means none.
    expire_at: u64,
    access: u32,
    version: u64,
    /// Inline up to [`INLINE_KEY`] bytes (fits the 80-byte allocation anyway), else on the
    /// heap.
    key: SmallVec<[u8; INLINE_KEY]>,
    value: Value,
}

#[derive(Debug)]
enum Layout {
    Packed(Box<[u8]>),
    Boxed(Box<Boxed>),
}

/// A key and everything stored with it.
#[derive(Debug)]
pub struct Entry(Layout);

/// Offsets inside a packed block.
struct Offsets {
    key: usize,
    value: usize,
}

fn encoding_bits(encoding: StrEncoding) -> u8 {
    match encoding {
        StrEncoding::Auto => 0,
        StrEncoding::Plain => 1,
        StrEncoding::Raw => 2,
    }
}

fn encoding_of(flags: u8) -> StrEncoding {
    match (flags >> ENCODING_SHIFT) & 3 {
        0 => StrEncoding::Auto,
        1 => StrEncoding::Plain,
        _ => StrEncoding::Raw,
    }
}

fn put_leb128(out: &mut Vec<u8>, mut n: usize) {
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

/// Reads a LEB128 number at `at`; returns it and the offset after it.
#[inline]
fn get_leb128(bytes: &[u8], mut at: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    while let Some(&byte) = bytes.get(at) {
        at += 1;
        n |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (n, at)
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

fn pack(
    key: &[u8],
    value: &[u8],
    encoding: StrEncoding,
    expire_at: u64,
    access: u32,
    version: u64,
) -> Box<[u8]> {
    let has_expiry = expire_at != 0;
    let mut block = Vec::with_capacity(EXPIRY_AT + 8 + 5 + key.len() + value.len());
    block.push((u8::from(has_expiry) * HAS_EXPIRY) | (encoding_bits(encoding) << ENCODING_SHIFT));
    block.extend_from_slice(&access.to_le_bytes());
    block.extend_from_slice(&version.to_le_bytes());
    if has_expiry {
        block.extend_from_slice(&expire_at.to_le_bytes());
    }
    put_leb128(&mut block, key.len());
    block.extend_from_slice(key);
    block.extend_from_slice(value);
    block.into_boxed_slice()
}

fn packed_access(block: &[u8]) -> u32 {
    u32::from_le_bytes([
        block[ACCESS_AT],
        block[ACCESS_AT + 1],
        block[ACCESS_AT + 2],
        block[ACCESS_AT + 3],
    ])
}

#[inline]
fn offsets(block: &[u8]) -> Offsets {
    let length_at = if block[0] & HAS_EXPIRY != 0 {
        EXPIRY_AT + 8
    } else {
        EXPIRY_AT
    };
    let (key_len, key) = get_leb128(block, length_at);
    Offsets {
        key,
        value: key + key_len,
    }
}

impl Entry {
    /// An entry for `key` holding `value`. Strings written whole are packed.
    pub(super) fn new(
        key: &[u8],
        value: Value,
        expire_at: u64,
        access: u32,
        version: u64,
    ) -> Entry {
        match value {
            Value::Str(bytes, encoding) if encoding != StrEncoding::Raw => Entry(Layout::Packed(
                pack(key, &bytes, encoding, expire_at, access, version),
            )),
            value => Entry(Layout::Boxed(Box::new(Boxed {
                expire_at,
                access,
                version,
                key: SmallVec::from_slice(key),
                value,
            }))),
        }
    }

    /// The key.
    #[inline]
    pub fn key(&self) -> &[u8] {
        match &self.0 {
            Layout::Packed(block) => {
                let at = offsets(block);
                &block[at.key..at.value]
            }
            Layout::Boxed(boxed) => &boxed.key,
        }
    }

    /// The value, to read.
    pub fn value(&self) -> ValueRef<'_> {
        match &self.0 {
            Layout::Packed(block) => {
                ValueRef::Str(&block[offsets(block).value..], encoding_of(block[0]))
            }
            Layout::Boxed(boxed) => boxed.value.as_ref(),
        }
    }

    /// The value, to change in place (a packed string becomes boxed first).
    pub(super) fn value_mut(&mut self) -> &mut Value {
        if let Layout::Packed(block) = &self.0 {
            let at = offsets(block);
            let boxed = Boxed {
                expire_at: self.expiry_ms(),
                access: self.access(),
                version: self.version(),
                key: SmallVec::from_slice(&block[at.key..at.value]),
                value: Value::Str(block[at.value..].to_vec(), encoding_of(block[0])),
            };
            self.0 = Layout::Boxed(Box::new(boxed));
        }
        match &mut self.0 {
            Layout::Boxed(boxed) => &mut boxed.value,
            Layout::Packed(_) => unreachable!("just boxed"),
        }
    }

    /// Replaces the value (keeping key and metadata) and returns the old one.
    pub(super) fn replace_value(&mut self, value: Value) -> Value {
        let packs = matches!(value, Value::Str(_, encoding) if encoding != StrEncoding::Raw);
        if let (Layout::Boxed(boxed), false) = (&mut self.0, packs) {
            return std::mem::replace(&mut boxed.value, value);
        }
        let (expire_at, access, version) = (self.expiry_ms(), self.access(), self.version());
        let key = self.key().to_vec();
        let old = std::mem::replace(self, Entry::new(&key, value, expire_at, access, version));
        old.into_value()
    }

    /// Whether dropping this entry means many deallocations (a big collection), as
    /// `Value::free_cost` counts them.
    pub fn free_cost(&self) -> usize {
        match &self.0 {
            Layout::Packed(_) => 1,
            Layout::Boxed(boxed) => 2 + boxed.value.free_cost(),
        }
    }

    /// The value, taken apart from the key.
    pub fn into_value(self) -> Value {
        match self.0 {
            Layout::Packed(block) => {
                let at = offsets(&block);
                Value::Str(block[at.value..].to_vec(), encoding_of(block[0]))
            }
            Layout::Boxed(boxed) => boxed.value,
        }
    }

    /// Absolute expiry in Unix ms, if any.
    pub fn expire_at(&self) -> Option<u64> {
        let at = self.expiry_ms();
        (at != 0).then_some(at)
    }

    /// Absolute expiry in Unix ms, 0 for none.
    pub(super) fn expiry_ms(&self) -> u64 {
        match &self.0 {
            Layout::Packed(block) if block[0] & HAS_EXPIRY != 0 => read_u64(block, EXPIRY_AT),
            Layout::Packed(_) => 0,
            Layout::Boxed(boxed) => boxed.expire_at,
        }
    }

    /// Sets or clears the expiry. Adding or removing one re-lays a packed entry.
    pub(super) fn set_expire_at(&mut self, expire_at: Option<u64>) {
        let expire_at = expire_at.unwrap_or(0);
        match &mut self.0 {
            Layout::Boxed(boxed) => boxed.expire_at = expire_at,
            Layout::Packed(block) => {
                let had = block[0] & HAS_EXPIRY != 0;
                if had && expire_at != 0 {
                    block[EXPIRY_AT..EXPIRY_AT + 8].copy_from_slice(&expire_at.to_le_bytes());
                } else if had || expire_at != 0 {
                    let at = offsets(block);
                    *block = pack(
                        &block[at.key..at.value],
                        &block[at.value..],
                        encoding_of(block[0]),
                        expire_at,
                        packed_access(block),
                        read_u64(block, VERSION_AT),
                    );
                }
            }
        }
    }

    /// The access clock or LFU counter (see `evict`).
    pub fn access(&self) -> u32 {
        match &self.0 {
            Layout::Packed(block) => packed_access(block),
            Layout::Boxed(boxed) => boxed.access,
        }
    }

    /// Sets the access clock or LFU counter.
    pub(super) fn set_access(&mut self, access: u32) {
        match &mut self.0 {
            Layout::Packed(block) => {
                block[ACCESS_AT..ACCESS_AT + 4].copy_from_slice(&access.to_le_bytes())
            }
            Layout::Boxed(boxed) => boxed.access = access,
        }
    }

    /// The version: it changes with every change of value or expiry (`WATCH`).
    pub fn version(&self) -> u64 {
        match &self.0 {
            Layout::Packed(block) => read_u64(block, VERSION_AT),
            Layout::Boxed(boxed) => boxed.version,
        }
    }

    /// Sets the version.
    pub(super) fn set_version(&mut self, version: u64) {
        match &mut self.0 {
            Layout::Packed(block) => {
                block[VERSION_AT..VERSION_AT + 8].copy_from_slice(&version.to_le_bytes())
            }
            Layout::Boxed(boxed) => boxed.version = version,
        }
    }

    /// Whether the entry has expired at `now`.
    pub fn is_expired(&self, now: u64) -> bool {
        let at = self.expiry_ms();
        at != 0 && at <= now
    }

    /// Bytes this entry holds outside its table slot (`MEMORY USAGE`, eviction's count of
    /// what it freed), in the allocator's size classes.
    pub fn heap_size(&self) -> usize {
        use crate::memory::allocation_size;
        match &self.0 {
            Layout::Packed(block) => allocation_size(block.len()),
            Layout::Boxed(boxed) => {
                allocation_size(std::mem::size_of::<Boxed>())
                    + if boxed.key.spilled() {
                        allocation_size(boxed.key.len())
                    } else {
                        0
                    }
                    + boxed.value.heap_size()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_fits_a_sixteen_byte_slot() {
        assert_eq!(std::mem::size_of::<Entry>(), 16);
        // A boxed entry with its inline key stays in jemalloc's 80-byte class.
        assert!(std::mem::size_of::<Boxed>() <= 80);
    }

    #[test]
    fn packed_strings_keep_every_field() {
        let mut e = Entry::new(
            b"key:000000000001",
            Value::string(&[b'v'; 32]),
            0,
            0x8012_3456,
            7,
        );
        assert_eq!(e.heap_size(), 64, "62 bytes, in the 64-byte class");
        assert_eq!(e.key(), b"key:000000000001");
        assert_eq!(e.value(), ValueRef::Str(&[b'v'; 32], StrEncoding::Auto));
        assert_eq!(
            (e.expire_at(), e.access(), e.version()),
            (None, 0x8012_3456, 7)
        );
        e.set_expire_at(Some(1_234));
        assert_eq!(
            (e.expire_at(), e.access(), e.version()),
            (Some(1_234), 0x8012_3456, 7)
        );
        assert_eq!(e.key(), b"key:000000000001");
        e.set_expire_at(Some(99));
        e.set_access(5);
        e.set_version(8);
        assert_eq!((e.expire_at(), e.access(), e.version()), (Some(99), 5, 8));
        e.set_expire_at(None);
        assert_eq!(e.expire_at(), None);
        assert_eq!(e.value(), ValueRef::Str(&[b'v'; 32], StrEncoding::Auto));
    }

    #[test]
    fn long_keys_and_empty_values_pack_too() {
        let key = vec![b'k'; 300];
        let e = Entry::new(&key, Value::Str(Vec::new(), StrEncoding::Plain), 5, 1, 2);
        assert_eq!(e.key(), &key[..]);
        assert_eq!(e.value(), ValueRef::Str(b"", StrEncoding::Plain));
        assert_eq!(e.into_value(), Value::Str(Vec::new(), StrEncoding::Plain));
    }

    #[test]
    fn changing_a_string_in_place_boxes_it() {
        let mut e = Entry::new(b"k", Value::string(b"abc"), 42, 3, 4);
        if let Value::Str(s, encoding) = e.value_mut() {
            s.extend_from_slice(b"def");
            *encoding = StrEncoding::Raw;
        }
        assert_eq!(e.value(), ValueRef::Str(b"abcdef", StrEncoding::Raw));
        assert_eq!(
            (e.key(), e.expire_at(), e.access(), e.version()),
            (&b"k"[..], Some(42), 3, 4)
        );
        let old = e.replace_value(Value::string(b"x"));
        assert_eq!(old, Value::Str(b"abcdef".to_vec(), StrEncoding::Raw));
        assert_eq!(e.value(), ValueRef::Str(b"x", StrEncoding::Auto));
        assert_eq!(e.expire_at(), Some(42));
    }
}
