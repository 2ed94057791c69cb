//! Reading scores and ranges the way Redis does: C's `strtod` grammar, score intervals
//! (`(1.5`, `-inf`, `+inf`) and lexicographic intervals (`[a`, `(a`, `-`, `+`).
//!
//! Redis reads scores in two ways. Scores and weights that are stored (ZADD, ZINCRBY,
//! WEIGHTS) must be a whole number in `strtod`'s grammar with no leading space, and may not
//! overflow to an infinity or underflow to zero (`1e400`, `1e-400`) unless written as one.
//! Interval bounds (ZRANGEBYSCORE, ZCOUNT…) are read by `strtod` alone: leading spaces are
//! skipped, overflow saturates to an infinity, and an empty bound reads as 0.

use crate::error::Error;
use crate::store::zset::{Entry, ZSet};

/// What `strtod` made of a whole string.
struct Parsed {
    value: f64,
    /// Overflowed to an infinity or underflowed to zero (`errno == ERANGE`).
    out_of_range: bool,
}

/// Reads all of `text` as C's `strtod` would (after any leading space, which the caller
/// handles): an optional sign, then `inf`/`infinity`, `nan`, a hexadecimal float (`0x1.8p3`)
/// or a decimal one (`1.5e3`, `.5`, `5.`). `None` if some of `text` would be left over.
fn strtod(text: &[u8]) -> Option<Parsed> {
    let (negative, body) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let magnitude = if lower == b"inf" || lower == b"infinity" {
        Parsed {
            value: f64::INFINITY,
            out_of_range: false,
        }
    } else if lower.starts_with(b"nan") {
        // `nan` and `nan(chars)`: a NaN, which every caller refuses.
        Parsed {
            value: f64::NAN,
            out_of_range: false,
        }
    } else if lower.starts_with(b"0x") && lower.len() > 2 {
        hex(&lower[2..])?
    } else {
        decimal(body)?
    };
    Some(Parsed {
        value: if negative {
            -magnitude.value
        } else {
            magnitude.value
        },
        out_of_range: magnitude.out_of_range,
    })
}

/// Digits, an optional point with digits, an optional exponent: all of `text`.
fn decimal(text: &[u8]) -> Option<Parsed> {
    let mut i = 0;
    let mut digits = 0;
    let mut nonzero = false;
    while i < text.len() && (text[i].is_ascii_digit() || text[i] == b'.') {
        if text[i] == b'.' {
            if text[..i].contains(&b'.') {
                return None;
            }
        } else {
            digits += 1;
            nonzero |= text[i] != b'0';
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < text.len() {
        if text[i] != b'e' && text[i] != b'E' {
            return None;
        }
        let exponent = &text[i + 1..];
        let exponent = exponent
            .strip_prefix(b"-")
            .or_else(|| exponent.strip_prefix(b"+"))
            .unwrap_or(exponent);
        if exponent.is_empty() || !exponent.iter().all(u8::is_ascii_digit) {
            return None;
        }
    }
    // The grammar is checked: Rust's parser rounds exactly as glibc does.
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    Some(Parsed {
        value,
        out_of_range: value.is_infinite() || (value == 0.0 && nonzero),
    })
}

/// Hexadecimal digits with an optional point, then an optional `p` exponent: all of `text`
/// (after `0x`). Up to 15 significant digits are kept exactly; more are rounded.
fn hex(text: &[u8]) -> Option<Parsed> {
    let mut mantissa: u64 = 0;
    let mut exponent: i64 = 0;
    let mut digits = 0;
    let mut kept = 0;
    let mut sticky = false;
    let mut seen_point = false;
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        if c == b'.' {
            if seen_point {
                return None;
            }
            seen_point = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            digits += 1;
            if kept < 15 {
                if mantissa != 0 || d != 0 {
                    kept += 1;
                }
                mantissa = mantissa * 16 + u64::from(d);
                if seen_point {
                    exponent -= 4;
                }
            } else {
                sticky |= d != 0;
                if !seen_point {
                    exponent += 4;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < text.len() {
        if text[i] != b'p' {
            return None;
        }
        let rest = &text[i + 1..];
        let (sign, rest) = match rest {
            [b'-', r @ ..] => (-1, r),
            [b'+', r @ ..] => (1, r),
            r => (1, r),
        };
        if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let power = rest
            .iter()
            .fold(0i64, |acc, d| (acc * 10 + i64::from(d - b'0')).min(1 << 20));
        exponent += sign * power;
    }
    // A dropped non-zero digit only matters for rounding: it becomes a sticky low bit.
    let mantissa = (mantissa << 1) | u64::from(sticky);
    let value = scale(mantissa as f64, exponent - 1);
    Some(Parsed {
        value,
        out_of_range: value.is_infinite() || (value == 0.0 && mantissa != 0),
    })
}

/// `x × 2^exp` with at most one rounding (powers of two are exact until the extremes).
fn scale(mut x: f64, mut exp: i64) -> f64 {
    while exp > 1000 {
        x *= 2f64.powi(1000);
        exp -= 1000;
    }
    while exp < -1000 {
        x *= 2f64.powi(-1000);
        exp += 1000;
    }
    x * 2f64.powi(exp as i32)
}

/// A stored score as Redis reads it (`string2d`): the whole argument, no leading space, no
/// NaN, no overflow or underflow.
pub(super) fn score(arg: &[u8]) -> Option<f64> {
    if arg.first().is_none_or(|&b| is_c_space(b)) {
        return None;
    }
    let parsed = strtod(arg)?;
    if parsed.value.is_nan() || parsed.out_of_range {
        return None;
    }
    Some(parsed.value)
}

/// One end of a score interval as `strtod` reads it: spaces skipped, the argument taken up
/// to its first NUL byte (as a C string), nothing after the number.
fn interval_bound(arg: &[u8]) -> Option<f64> {
    let text = arg.split(|&b| b == 0).next().unwrap_or_default();
    let start = text
        .iter()
        .position(|b| !is_c_space(*b))
        .unwrap_or(text.len());
    let text = &text[start..];
    if text.is_empty() {
        // No number at all: strtod answers 0 and stops at the end of the string.
        return Some(0.0);
    }
    let value = strtod(text)?.value;
    (!value.is_nan()).then_some(value)
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A score interval: `min` and `max`, each inclusive unless written with `(`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct ScoreRange {
    pub min: f64,
    pub min_exclusive: bool,
    pub max: f64,
    pub max_exclusive: bool,
}

impl ScoreRange {
    /// Reads `min` and `max` (ZRANGEBYSCORE, ZCOUNT, ZREMRANGEBYSCORE…).
    pub(super) fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, Error> {
        let bound = |arg: &[u8]| match arg.strip_prefix(b"(") {
            Some(rest) => interval_bound(rest).map(|v| (v, true)),
            None => interval_bound(arg).map(|v| (v, false)),
        };
        match (bound(min), bound(max)) {
            (Some((min, min_exclusive)), Some((max, max_exclusive))) => Ok(ScoreRange {
                min,
                min_exclusive,
                max,
                max_exclusive,
            }),
            _ => Err(Error::msg("ERR min or max is not a float")),
        }
    }

    fn below_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score <= self.min
        } else {
            score < self.min
        }
    }

    fn within_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }

    /// The ranks `start..end` of the members in the interval.
    pub(super) fn ranks(&self, zset: &ZSet) -> (usize, usize) {
        let start = zset.count_while(|e| self.below_min(e.score));
        let end = zset.count_while(|e| self.within_max(e.score));
        (start, end.max(start))
    }
}

/// One end of a lexicographic interval.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LexBound {
    /// `-`: before every member.
    Lowest,
    /// `+`: after every member.
    Highest,
    /// `[member`.
    Inclusive(Vec<u8>),
    /// `(member`.
    Exclusive(Vec<u8>),
}

impl LexBound {
    fn parse(arg: &[u8]) -> Option<LexBound> {
        match arg {
            b"-" => Some(LexBound::Lowest),
            b"+" => Some(LexBound::Highest),
            [b'[', rest @ ..] => Some(LexBound::Inclusive(rest.to_vec())),
            [b'(', rest @ ..] => Some(LexBound::Exclusive(rest.to_vec())),
            _ => None,
        }
    }
}

/// A lexicographic interval (ZRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX). Meaningful when every
/// member has the same score, as in Redis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LexRange {
    min: LexBound,
    max: LexBound,
}

impl LexRange {
    /// Reads `min` and `max`.
    pub(super) fn parse(min: &[u8], max: &[u8]) -> Result<LexRange, Error> {
        match (LexBound::parse(min), LexBound::parse(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(Error::msg("ERR min or max not valid string range item")),
        }
    }

    fn below_min(&self, member: &[u8]) -> bool {
        match &self.min {
            LexBound::Lowest => false,
            LexBound::Highest => true,
            LexBound::Inclusive(m) => member < m.as_slice(),
            LexBound::Exclusive(m) => member <= m.as_slice(),
        }
    }

    fn within_max(&self, member: &[u8]) -> bool {
        match &self.max {
            LexBound::Lowest => false,
            LexBound::Highest => true,
            LexBound::Inclusive(m) => member <= m.as_slice(),
            LexBound::Exclusive(m) => member < m.as_slice(),
        }
    }

    /// The ranks `start..end` of the members in the interval.
    pub(super) fn ranks(&self, zset: &ZSet) -> (usize, usize) {
        let start = zset.count_while(|e: Entry<'_>| self.below_min(e.member));
        let end = zset.count_while(|e: Entry<'_>| self.within_max(e.member));
        (start, end.max(start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_scores_follow_string2d() {
        let ok = [
            ("1", 1.0),
            ("-1.5", -1.5),
            ("+2", 2.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("1E-2", 0.01),
            ("inf", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("+inf", f64::INFINITY),
            ("0x10", 16.0),
            ("0x1.8p1", 3.0),
            ("-0X.8", -0.5),
            ("0e-400", 0.0),
            ("4e-320", 4e-320),
            ("0x1p-1074", 5e-324),
            ("0xffffffffffffffffff", 4722366482869645213696.0),
        ];
        for (text, value) in ok {
            assert_eq!(score(text.as_bytes()), Some(value), "{text}");
        }
        for bad in [
            "",
            " 1",
            "1 ",
            "nan",
            "-nan",
            "1e400",
            "-1e400",
            "1e-400",
            "0x",
            "1e",
            "1.2.3",
            "abc",
            "1x",
            "infx",
            "0x1p",
            ".",
            "e5",
            "\t1",
            "0x1p1024",
            "0x1p-1080",
        ] {
            assert_eq!(score(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn score_intervals_follow_strtod() {
        let range = ScoreRange::parse(b"(1.5", b"+inf").expect("valid");
        assert_eq!((range.min, range.min_exclusive), (1.5, true));
        assert_eq!((range.max, range.max_exclusive), (f64::INFINITY, false));
        // Leading spaces, overflow, empty bounds and text after a NUL are all accepted.
        let range = ScoreRange::parse(b" 2", b"1e400").expect("valid");
        assert_eq!((range.min, range.max), (2.0, f64::INFINITY));
        let range = ScoreRange::parse(b"", b"(").expect("valid");
        assert_eq!(
            (range.min, range.max, range.max_exclusive),
            (0.0, 0.0, true)
        );
        assert!(ScoreRange::parse(b"1\0x", b"2").is_ok());
        let not_float = Err(Error::msg("ERR min or max is not a float"));
        for (min, max) in [
            ("str", "1"),
            ("1", "nan"),
            ("((1", "2"),
            ("1 ", "2"),
            ("[1", "2"),
        ] {
            assert_eq!(
                ScoreRange::parse(min.as_bytes(), max.as_bytes()),
                not_float,
                "{min} {max}"
            );
        }
    }

    #[test]
    fn lex_intervals_need_a_bracket_or_an_infinity() {
        assert!(LexRange::parse(b"-", b"+").is_ok());
        assert!(LexRange::parse(b"[a", b"(b").is_ok());
        assert!(LexRange::parse(b"(", b"[").is_ok());
        let invalid = Err(Error::msg("ERR min or max not valid string range item"));
        for (min, max) in [
            ("a", "[b"),
            ("[a", "b"),
            ("+x", "[b"),
            ("-x", "+"),
            ("", "+"),
        ] {
            assert_eq!(
                LexRange::parse(min.as_bytes(), max.as_bytes()),
                invalid,
                "{min} {max}"
            );
        }
    }

    #[test]
    fn intervals_select_ranks() {
        let zset = ZSet::from_entries(
            [("a", 1.0), ("b", 2.0), ("c", 2.0), ("d", 3.0)]
                .iter()
                .map(|(m, s)| (m.as_bytes().to_vec(), *s))
                .collect(),
        );
        let ranks = |min: &str, max: &str| {
            ScoreRange::parse(min.as_bytes(), max.as_bytes())
                .expect("valid")
                .ranks(&zset)
        };
        assert_eq!(ranks("-inf", "+inf"), (0, 4));
        assert_eq!(ranks("(1", "2"), (1, 3));
        assert_eq!(ranks("2", "(3"), (1, 3));
        assert_eq!(ranks("3", "1"), (3, 3));
        let lex = |min: &str, max: &str| {
            LexRange::parse(min.as_bytes(), max.as_bytes())
                .expect("valid")
                .ranks(&zset)
        };
        assert_eq!(lex("-", "+"), (0, 4));
        assert_eq!(lex("+", "-"), (4, 4));
    }
}
