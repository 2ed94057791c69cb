//! What SCAN, SSCAN, HSCAN and ZSCAN share: the cursor argument, the `MATCH`/`COUNT` (and
//! SCAN's `TYPE`) options, and the `[cursor, [items...]]` reply. Each command walks its own
//! structure.

use super::parse::{self, is};
use crate::error::Error;
use crate::glob::Pattern;
use crate::protocol::Reply;

/// A walk's options.
pub struct ScanOptions {
    /// Entries to visit per call (`COUNT`, default 10): a hint, as in Redis.
    pub count: usize,
    /// Only names matching it are returned (`MATCH`; `None` for `*` or no option).
    pattern: Option<Pattern>,
    /// SCAN's `TYPE`: only keys of this type (lowercase, as `TYPE` answers).
    type_filter: Option<Vec<u8>>,
}

impl ScanOptions {
    /// Reads the options following the cursor. `TYPE` is accepted when `with_type` (SCAN).
    /// Redis's errors: a missing value or unknown option is a syntax error, a COUNT below 1
    /// too.
    pub fn parse(options: &[&[u8]], with_type: bool) -> Result<ScanOptions, Error> {
        let mut parsed = ScanOptions {
            count: 10,
            pattern: None,
            type_filter: None,
        };
        let mut i = 0;
        while i < options.len() {
            if is(options[i], "novalues") {
                // HSCAN's own option (Redis 7.4), which it takes out before calling this.
                return Err(Error::msg("ERR NOVALUES option can only be used in HSCAN"));
            }
            let value = options.get(i + 1).copied().ok_or(Error::Syntax)?;
            if is(options[i], "count") {
                let n = parse::int(value)?;
                if n < 1 {
                    return Err(Error::Syntax);
                }
                parsed.count = usize::try_from(n).unwrap_or(usize::MAX);
            } else if is(options[i], "match") {
                parsed.pattern = Some(Pattern::new(value, false)).filter(|p| !p.matches_all());
            } else if with_type && is(options[i], "type") {
                parsed.type_filter = Some(value.to_ascii_lowercase());
            } else {
                return Err(Error::Syntax);
            }
            i += 2;
        }
        Ok(parsed)
    }

    /// Whether `name` passes `MATCH`.
    pub fn matches(&self, name: &[u8]) -> bool {
        self.pattern.as_ref().is_none_or(|p| p.matches(name))
    }

    /// Whether a key of type `kind` passes `TYPE`.
    pub fn of_type(&self, kind: &str) -> bool {
        self.type_filter
            .as_deref()
            .is_none_or(|t| t == kind.as_bytes())
    }
}

/// A cursor argument, read as Redis's `strtoul` reads it.
pub fn cursor(arg: &[u8]) -> Result<u64, Error> {
    parse::cursor(arg).ok_or(Error::msg("ERR invalid cursor"))
}

/// The reply of every SCAN command: the next cursor (a bulk string) and the items.
pub fn reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::bulk_string(cursor.to_string()),
        Reply::Array(items),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_read_as_strtoul_reads_them() {
        assert_eq!(cursor(b"0"), Ok(0));
        assert_eq!(cursor(b""), Ok(0));
        assert_eq!(cursor(b"123"), Ok(123));
        assert_eq!(cursor(b"+7"), Ok(7));
        assert_eq!(cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(cursor(b"18446744073709551615"), Ok(u64::MAX));
        for bad in [&b"18446744073709551616"[..], b" 1", b"1x", b"-"] {
            assert_eq!(
                cursor(bad),
                Err(Error::msg("ERR invalid cursor")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn options_are_read_with_redis_errors() {
        let options = ScanOptions::parse(&[b"MATCH", b"a*", b"count", b"5"], false).expect("valid");
        assert_eq!(options.count, 5);
        assert!(options.matches(b"abc") && !options.matches(b"xyz"));
        let everything = ScanOptions::parse(&[b"match", b"*"], false).expect("valid");
        assert!(everything.pattern.is_none());
        let typed = ScanOptions::parse(&[b"TYPE", b"HASH"], true).expect("valid");
        assert!(typed.of_type("hash") && !typed.of_type("string"));
        for bad in [
            &[&b"COUNT"[..], b"0"][..],
            &[b"COUNT"],
            &[b"TYPE", b"hash"],
            &[b"LIMIT", b"1"],
        ] {
            assert_eq!(
                ScanOptions::parse(bad, false).err(),
                Some(Error::Syntax),
                "{bad:?}"
            );
        }
        assert_eq!(
            ScanOptions::parse(&[b"COUNT", b"x"], false).err(),
            Some(Error::NotInteger)
        );
    }
}
