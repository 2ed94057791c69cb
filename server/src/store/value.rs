//! Values: what a key holds.
//!
//! A value is an enum over the Redis types; this node has strings so far, and each later type
//! adds a variant. Strings are raw bytes, never `String`: Redis values are binary-safe.

/// Longest string Redis stores as `embstr` (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
const EMBSTR_MAX: usize = 44;

/// The value of one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A string. One modified in place (`APPEND`, `SETRANGE`) keeps spare capacity, as
    /// Redis's `raw` strings do.
    Str(Vec<u8>),
}

impl Value {
    /// A string value holding a copy of `bytes`.
    pub fn string(bytes: &[u8]) -> Value {
        Value::Str(bytes.to_vec())
    }

    /// The type name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    /// The encoding `OBJECT ENCODING` reports, following Redis's rules: a string that is a
    /// canonical 64-bit integer is `int`, a short one `embstr`, a long one `raw`. Strings
    /// grown in place keep spare capacity, which is how Redis's `raw` sds strings look too.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) if s.len() <= 20 && crate::protocol::request::parse_int(s).is_some() => {
                "int"
            }
            Value::Str(s) if s.len() <= EMBSTR_MAX && s.capacity() == s.len() => "embstr",
            Value::Str(_) => "raw",
        }
    }

    /// How many allocations dropping this value frees: big collections are freed on the
    /// lazy-free thread (`UNLINK`, `FLUSHALL ASYNC`).
    pub fn free_cost(&self) -> usize {
        match self {
            Value::Str(_) => 1,
        }
    }

    /// Approximate bytes this value occupies on the heap.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.capacity(),
        }
    }
}
