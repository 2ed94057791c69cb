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
    Hash(Box<Hash>),
    List(Box<List>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
    Stream(Box<Stream>),
}

impl Value {
    /// A string value holding a copy of `bytes`, as `SET` writes it.
    pub fn string(bytes: &[u8]) -> Value {
        Value::Str(bytes.to_vec(), StrEncoding::Auto)
    }

    /// The type name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(..) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// Whether this is a collection with no element left (Redis deletes such keys).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(..) => false,
            Value::Hash(h) => h.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            // An empty stream is a valid value (XADD ... MAXLEN 0, XDEL of every entry).
            Value::Stream(_) => false,
        }
    }

    /// Whether a client blocked on this key (BLPOP, BZPOPMIN, XREAD BLOCK) may now be served.
    pub fn can_unblock(&self) -> bool {
        matches!(self, Value::List(_) | Value::ZSet(_) | Value::Stream(_))
    }

    /// The encoding `OBJECT ENCODING` reports, following Redis's rules.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s, StrEncoding::Auto)
                if s.len() <= 20 && crate::protocol::request::parse_int(s).is_some() =>
            {
                "int"
            }
            Value::Str(s, StrEncoding::Auto | StrEncoding::Plain) if s.len() <= EMBSTR_MAX => {
                "embstr"
            }
            Value::Str(..) => "raw",
            Value::Hash(h) => h.encoding(),
            Value::List(l) => l.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
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
