//! Numbers as Redis writes them in string values: `INCRBYFLOAT` arithmetic and formatting.
//!
//! Redis adds `INCRBYFLOAT` operands as 80-bit long doubles and prints the sum with 17
//! decimals, trailing zeros removed, so `10.5 + 0.1` is `10.6`. A 64-bit float cannot do
//! that, so sums of plain decimal numbers (up to 17 decimals) are computed exactly in fixed
//! point; anything else (exponents beyond that, huge values) falls back to `f64` printed in
//! its shortest round-trip form.

use crate::command::parse;
use crate::error::Error;

/// Fixed-point scale: 17 decimal places, as Redis's `%.17Lf`.
const SCALE: i128 = 100_000_000_000_000_000;
const DECIMALS: usize = 17;

/// `current + increment` for `INCRBYFLOAT`, formatted as Redis stores it.
pub fn incr_by_float(current: Option<&[u8]>, increment: &[u8]) -> Result<String, Error> {
    let incr = parse::float(increment)?;
    let base = match current {
        Some(text) => parse::float(text)?,
        None => 0.0,
    };
    let sum = base + incr;
    if !sum.is_finite() {
        return Err(Error::msg("ERR increment would produce NaN or Infinity"));
    }
    let exact = fixed_point(current.unwrap_or(b"0"))
        .zip(fixed_point(increment))
        .and_then(|(a, b)| a.checked_add(b));
    Ok(match exact {
        Some(total) => format_fixed(total),
        None => format_human(sum),
    })
}

/// A decimal text (`-12.5`, `3e2`, `.5`) as an integer count of 1e-17 units, if it fits
/// exactly.
fn fixed_point(text: &[u8]) -> Option<i128> {
    let text = std::str::from_utf8(text).ok()?;
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], body[at + 1..].parse::<i32>().ok()?),
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits: String = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 36 {
        return None;
    }
    let mut value: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    // value × 10^(exponent - frac_len) × 10^17 units
    let shift = exponent - frac_part.len() as i32 + DECIMALS as i32;
    if shift >= 0 {
        value = value.checked_mul(10i128.checked_pow(shift as u32)?)?;
    } else {
        let divisor = 10i128.checked_pow((-shift) as u32)?;
        if value % divisor != 0 {
            return None;
        }
        value /= divisor;
    }
    Some(if negative { -value } else { value })
}

/// Prints a fixed-point value with trailing zeros (and a bare point) removed.
fn format_fixed(units: i128) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let abs = units.unsigned_abs();
    let int_part = abs / SCALE as u128;
    let frac = abs % SCALE as u128;
    if frac == 0 {
        return format!("{sign}{int_part}");
    }
    let frac = format!("{frac:0DECIMALS$}");
    format!("{sign}{int_part}.{}", frac.trim_end_matches('0'))
}

/// A double in plain decimal notation with the fewest digits that read back the same.
pub fn format_human(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    format!("{value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(current: Option<&str>, by: &str) -> Result<String, Error> {
        incr_by_float(current.map(str::as_bytes), by.as_bytes())
    }

    #[test]
    fn sums_print_like_redis_long_doubles() {
        assert_eq!(incr(Some("10.50"), "0.1").as_deref(), Ok("10.6"));
        assert_eq!(incr(Some("1.1"), "2.2").as_deref(), Ok("3.3"));
        assert_eq!(incr(None, "5.0e3").as_deref(), Ok("5000"));
        assert_eq!(incr(Some("3.0"), "-3").as_deref(), Ok("0"));
        assert_eq!(incr(Some("-0.5"), "0.25").as_deref(), Ok("-0.25"));
        assert_eq!(incr(Some("1"), "1e-20").as_deref(), Ok("1"));
    }

    #[test]
    fn invalid_operands_and_overflow_are_refused() {
        assert_eq!(incr(Some("abc"), "1"), Err(Error::NotFloat));
        assert_eq!(incr(Some("1"), "x"), Err(Error::NotFloat));
        assert!(incr(Some("1.7e308"), "1.7e308").is_err());
    }
}
