//! Values: what a key holds.
//!
//! A value is an enum over the Redis types. Strings are raw bytes, never `String`: Redis
//! values are binary-safe. Each collection type lives in its own module (`hash`, `list`,
//! `set`, `zset`, `stream`) with a compact encoding while small and a general one once it
//! grows, as Redis's listpack/hashtable/skiplist encodings; bitmaps and HyperLogLogs are
//! strings, as in Redis.

use super::hash::Hash;
use super::list::List;
use super::set::Set;
use super::stream::Stream;
use super::zset::ZSet;

/// Longest string Redis stores as `embstr` (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
const EMBSTR_MAX: usize = 44;

/// How Redis would have encoded a string when it was written, for `OBJECT ENCODING`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrEncoding {
    /// Written whole (`SET`, `INCR`…): `int` when it is a canonical 64-bit integer, else
    /// `embstr` up to 44 bytes, else `raw`.
    Auto,
    /// Created as a fresh string object (`INCRBYFLOAT`): `embstr` up to 44 bytes, else `raw`.
    Plain,
    /// Changed in place (`APPEND`, `SETRANGE`): always `raw`.
    Raw,
}

/// The value of one key.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string, and the encoding Redis would report for it.
    Str(Vec<u8>, StrEncoding),
    /// Inline: a hash is a handle no larger than a string's `Vec`, so boxing it would only add an
    /// allocation.
    Hash(Hash),
    List(Box<List>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
    Stream(Box<Stream>),
}

/// A value seen in place, without owning it: how a stored entry lends its value (a packed
/// string is a slice of the entry's block, see `entry.rs`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    Str(&'a [u8], StrEncoding),
    Hash(&'a Hash),
    List(&'a List),
    Set(&'a Set),
    ZSet(&'a ZSet),
    Stream(&'a Stream),
}

impl ValueRef<'_> {
    /// A copy of the value.
    pub fn to_owned(self) -> Value {
        match self {
            ValueRef::Str(s, encoding) => Value::Str(s.to_vec(), encoding),
            ValueRef::Hash(h) => Value::Hash(h.clone()),
            ValueRef::List(l) => Value::List(Box::new(l.clone())),
            ValueRef::Set(s) => Value::Set(Box::new(s.clone())),
            ValueRef::ZSet(z) => Value::ZSet(Box::new(z.clone())),
            ValueRef::Stream(s) => Value::Stream(Box::new(s.clone())),
        }
    }

    /// The type name `TYPE` reports.
    pub fn type_name(self) -> &'static str {
        match self {
            ValueRef::Str(..) => "string",
            ValueRef::Hash(_) => "hash",
            ValueRef::List(_) => "list",
            ValueRef::Set(_) => "set",
            ValueRef::ZSet(_) => "zset",
            ValueRef::Stream(_) => "stream",
        }
    }

    /// Whether this is a collection with no element left (Redis deletes such keys).
    pub fn is_empty_collection(self) -> bool {
        match self {
            ValueRef::Str(..) => false,
            ValueRef::Hash(h) => h.is_empty(),
            ValueRef::List(l) => l.is_empty(),
            ValueRef::Set(s) => s.is_empty(),
            ValueRef::ZSet(z) => z.is_empty(),
            // An empty stream is a valid value (XADD ... MAXLEN 0, XDEL of every entry).
            ValueRef::Stream(_) => false,
        }
    }

    /// The encoding `OBJECT ENCODING` reports, following Redis's rules.
    pub fn encoding(self) -> &'static str {
        match self {
            ValueRef::Str(s, StrEncoding::Auto)
                if s.len() <= 20 && crate::number::parse_int(s).is_some() =>
            {
                "int"
            }
            ValueRef::Str(s, StrEncoding::Auto | StrEncoding::Plain) if s.len() <= EMBSTR_MAX => {
                "embstr"
            }
            ValueRef::Str(..) => "raw",
            ValueRef::Hash(h) => h.encoding(),
            ValueRef::List(l) => l.encoding(),
            ValueRef::Set(s) => s.encoding(),
            ValueRef::ZSet(z) => z.encoding(),
            ValueRef::Stream(_) => "stream",
        }
    }

    /// Approximate bytes the value occupies on the heap.
    pub fn heap_size(self) -> usize {
        match self {
            ValueRef::Str(s, _) => s.len(),
            ValueRef::Hash(h) => h.heap_size(),
            ValueRef::List(l) => l.heap_size(),
            ValueRef::Set(s) => s.heap_size(),
            ValueRef::ZSet(z) => z.heap_size(),
            ValueRef::Stream(s) => s.heap_size(),
        }
    }
}

impl Value {
    /// The value seen through a [`ValueRef`].
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Str(s, encoding) => ValueRef::Str(s, *encoding),
            Value::Hash(h) => ValueRef::Hash(h),
            Value::List(l) => ValueRef::List(l),
            Value::Set(s) => ValueRef::Set(s),
            Value::ZSet(z) => ValueRef::ZSet(z),
            Value::Stream(s) => ValueRef::Stream(s),
        }
    }

    /// A string value holding a copy of `bytes`, as `SET` writes it.
    pub fn string(bytes: &[u8]) -> Value {
        Value::Str(bytes.to_vec(), StrEncoding::Auto)
    }

    /// The type name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        self.as_ref().type_name()
    }

    /// Whether this is a collection with no element left (Redis deletes such keys).
    pub fn is_empty_collection(&self) -> bool {
        self.as_ref().is_empty_collection()
    }

    /// Whether a client blocked on this key (BLPOP, BZPOPMIN, XREAD BLOCK) may now be served.
    pub fn can_unblock(&self) -> bool {
        matches!(self, Value::List(_) | Value::ZSet(_) | Value::Stream(_))
    }

    /// The encoding `OBJECT ENCODING` reports, following Redis's rules.
    pub fn encoding(&self) -> &'static str {
        self.as_ref().encoding()
    }

    /// How many allocations dropping this value frees: big collections are freed on the
    /// lazy-free thread (`UNLINK`, `FLUSHALL ASYNC`).
    pub fn free_cost(&self) -> usize {
        match self {
            Value::Str(..) => 1,
            Value::Hash(h) => h.free_cost(),
            Value::List(l) => l.free_cost(),
            Value::Set(s) => s.free_cost(),
            Value::ZSet(z) => z.free_cost(),
            Value::Stream(s) => s.free_cost(),
        }
    }

    /// Approximate bytes this value occupies on the heap.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s, _) => s.capacity(),
            Value::Hash(h) => h.heap_size(),
            Value::List(l) => l.heap_size(),
            Value::Set(s) => s.heap_size(),
            Value::ZSet(z) => z.heap_size(),
            Value::Stream(s) => s.heap_size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_encodings_follow_redis_rules() {
        assert_eq!(Value::string(b"12345").encoding(), "int");
        assert_eq!(Value::string(b"-9223372036854775808").encoding(), "int");
        assert_eq!(Value::string(b"012").encoding(), "embstr");
        assert_eq!(Value::string(&[b'x'; 44]).encoding(), "embstr");
        assert_eq!(Value::string(&[b'x'; 45]).encoding(), "raw");
        assert_eq!(
            Value::Str(b"1".to_vec(), StrEncoding::Plain).encoding(),
            "embstr"
        );
        assert_eq!(
            Value::Str(b"1".to_vec(), StrEncoding::Raw).encoding(),
            "raw"
        );
        assert_eq!(Value::string(b"x").free_cost(), 1);
    }
}
