//! Reading command arguments: integers, floats and option words, with Redis's errors.

use crate::error::Error;
use crate::number::parse_int;

/// Whether `arg` equals `word`, ignoring ASCII case (option names: `NX`, `withscores`).
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// A 64-bit integer, as Redis's `getLongLongFromObject`.
pub fn int(arg: &[u8]) -> Result<i64, Error> {
    parse_int(arg).ok_or(Error::NotInteger)
}

/// A non-negative integer that fits a `usize`.
pub fn count(arg: &[u8]) -> Result<usize, Error> {
    usize::try_from(int(arg)?).map_err(|_| Error::NotInteger)
}

/// A double, as Redis's `getLongDoubleFromObject`: no spaces, no NaN, `inf` allowed.
pub fn float(arg: &[u8]) -> Result<f64, Error> {
    let text = std::str::from_utf8(arg).map_err(|_| Error::NotFloat)?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Err(Error::NotFloat);
    }
    match text.parse::<f64>() {
        Ok(value) if !value.is_nan() => Ok(value),
        _ => Err(Error::NotFloat),
    }
}

/// A blocking command's timeout in seconds (fractions allowed), as Redis reads it: `None` for
/// 0 (wait forever).
pub fn timeout_secs(arg: &[u8]) -> Result<Option<std::time::Duration>, Error> {
    let secs = float(arg).map_err(|_| Error::msg("ERR timeout is not a float or out of range"))?;
    let ms = (secs * 1000.0).ceil();
    if ms < 0.0 {
        return Err(Error::msg("ERR timeout is negative"));
    }
    if !ms.is_finite() || ms > i64::MAX as f64 {
        return Err(Error::msg("ERR timeout is out of range"));
    }
    Ok((ms > 0.0).then(|| std::time::Duration::from_millis(ms as u64)))
}

/// A timeout in milliseconds (`XREAD BLOCK`): `None` for 0 (wait forever).
pub fn timeout_ms(arg: &[u8]) -> Result<Option<std::time::Duration>, Error> {
    let ms = int(arg).map_err(|_| Error::msg("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(Error::msg("ERR timeout is negative"));
    }
    Ok((ms > 0).then(|| std::time::Duration::from_millis(ms as u64)))
}

/// Most elements a random-member command (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER) answers for
/// a negative count, where members may repeat. Redis streams such a reply as it builds it;
/// here a reply is built whole, so a count in the billions would exhaust memory: larger
/// counts are refused with "ERR value is out of range".
pub const MAX_RANDOM_REPEATS: u64 = 1 << 24;

/// A cursor as Redis reads it (`strtoul` on the C string): no leading space, optional sign
/// (a minus wraps around, so `-1` is the largest cursor), decimal digits, nothing after
/// them; an empty string is 0 and a value above 2^64 - 1 is refused.
pub fn cursor(arg: &[u8]) -> Option<u64> {
    // The C string ends at the first NUL byte.
    let text = arg.split(|&b| b == 0).next().unwrap_or_default();
    let (negative, digits) = match text {
        [] => return Some(0),
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })?;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// Text for messages that quote an argument (lossy for non-UTF-8 bytes).
pub fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// `ON`/`OFF` as a bool; anything else is a syntax error.
pub fn on_off(arg: &[u8]) -> Result<bool, Error> {
    if is(arg, "on") {
        Ok(true)
    } else if is(arg, "off") {
        Ok(false)
    } else {
        Err(Error::Syntax)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_follow_redis_rules() {
        use std::time::Duration;
        assert_eq!(timeout_secs(b"0"), Ok(None));
        assert_eq!(timeout_secs(b"0.0001"), Ok(Some(Duration::from_millis(1))));
        assert_eq!(timeout_secs(b"1.5"), Ok(Some(Duration::from_millis(1500))));
        assert_eq!(
            timeout_secs(b"-1"),
            Err(Error::msg("ERR timeout is negative"))
        );
        assert_eq!(
            timeout_secs(b"x"),
            Err(Error::msg("ERR timeout is not a float or out of range"))
        );
        assert_eq!(timeout_ms(b"100"), Ok(Some(Duration::from_millis(100))));
        assert_eq!(
            timeout_ms(b"1.5"),
            Err(Error::msg("ERR timeout is not an integer or out of range"))
        );
    }

    #[test]
    fn floats_follow_redis_rules() {
        assert_eq!(float(b"1.5"), Ok(1.5));
        assert_eq!(float(b"-inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(float(b"1e3"), Ok(1000.0));
        for bad in [&b""[..], b" 1", b"nan", b"1x", b"1 "] {
            assert_eq!(float(bad), Err(Error::NotFloat), "{bad:?}");
        }
    }
}
