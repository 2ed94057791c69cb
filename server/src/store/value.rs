//! Values: what a key holds.
//!
//! A value is an enum over the Redis types; this node has strings so far, and each later type
//! adds a variant. Strings are raw bytes, never `String`: Redis values are binary-safe.

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A string, and the encoding Redis would report for it.
    Str(Vec<u8>, StrEncoding),
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
        }
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
        }
    }

    /// How many allocations dropping this value frees: big collections are freed on the
    /// lazy-free thread (`UNLINK`, `FLUSHALL ASYNC`).
    pub fn free_cost(&self) -> usize {
        match self {
            Value::Str(..) => 1,
        }
    }

    /// Approximate bytes this value occupies on the heap.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s, _) => s.capacity(),
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
        assert_eq!(Value::Str(b"1".to_vec(), StrEncoding::Plain).encoding(), "embstr");
        assert_eq!(Value::Str(b"1".to_vec(), StrEncoding::Raw).encoding(), "raw");
        assert_eq!(Value::string(b"x").free_cost(), 1);
    }
}
