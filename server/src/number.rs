//! Numbers as Redis reads and writes them: integers (`string2ll`), and `INCRBYFLOAT`
//! arithmetic and formatting.
//!
//! Redis (on x86-64, which the reference server runs on) parses `INCRBYFLOAT` operands with
//! `strtold` into 80-bit x87 long doubles, adds them in that precision, and stores the sum
//! printed with `%.17Lf`, trailing zeros removed. That is why `10.5 + 0.1` is `10.6` but
//! `10.6 + 5000` is `5005.60000000000000009`, and why `1e400` is a valid increment. A 64-bit
//! float reproduces none of that, so this module emulates the format in software:
//!
//! - [`LongDouble`]: a 64-bit mantissa with an explicit integer bit and a binary exponent
//!   (normal and subnormal numbers, infinities, NaN), rounded to nearest, ties to even.
//! - Parsing follows glibc's `strtold` grammar (decimal, hexadecimal `0x1.8p3`, `inf`,
//!   `infinity`) with Redis's extra checks (`string2ld`): no leading space, nothing after the
//!   number, no NaN, no overflow and no underflow to zero.
//! - Exact conversions use a small arbitrary-precision integer ([`Big`]), so parsing and
//!   printing are correctly rounded, as glibc's are.

use crate::error::Error;

/// Parses a decimal integer as Redis's `string2ll` does: optional `-`, no `+`, no leading
/// zeros, no spaces.
pub fn parse_int(digits: &[u8]) -> Option<i64> {
    let (negative, body) = match digits {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, digits),
    };
    if body.is_empty() || body.len() > 19 || (body[0] == b'0' && (body.len() > 1 || negative)) {
        return None;
    }
    let mut value: i64 = 0;
    for &b in body {
        if !b.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(b - b'0');
        value = if negative {
            value.checked_mul(10)?.checked_sub(digit)?
        } else {
            value.checked_mul(10)?.checked_add(digit)?
        };
    }
    Some(value)
}

/// Longest text Redis parses as a long double (`MAX_LONG_DOUBLE_CHARS`), exclusive.
const MAX_CHARS: usize = 5 * 1024;
/// Smallest binary exponent of `mantissa × 2^exponent` (that of subnormals and the smallest
/// normal number).
const MIN_EXP: i64 = -16445;
/// Largest binary exponent of a finite value (the largest is `(2^64 - 1) × 2^16320`).
const MAX_EXP: i64 = 16320;
/// Digits `%.17Lf` prints after the point.
const DECIMALS: usize = 17;

/// `current + increment` for `INCRBYFLOAT`, formatted as Redis stores it.
pub fn incr_by_float(current: Option<&[u8]>, increment: &[u8]) -> Result<String, Error> {
    let base = match current {
        Some(text) => LongDouble::parse(text)?,
        None => LongDouble::ZERO,
    };
    let incr = LongDouble::parse(increment)?;
    let sum = base.add(incr);
    if !sum.is_finite() {
        return Err(Error::msg("ERR increment would produce NaN or Infinity"));
    }
    Ok(sum.to_human_string())
}

/// A double in plain decimal notation with the fewest digits that read back the same.
pub fn format_human(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    format!("{value}")
}

/// An x87 80-bit extended-precision number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LongDouble {
    /// `±mantissa × 2^exponent`. Normal numbers have bit 63 of the mantissa set; subnormals
    /// have exponent `MIN_EXP`; zero has mantissa 0.
    Finite {
        negative: bool,
        mantissa: u64,
        exponent: i64,
    },
    Infinite {
        negative: bool,
    },
    Nan,
}

impl LongDouble {
    const ZERO: LongDouble = LongDouble::Finite {
        negative: false,
        mantissa: 0,
        exponent: 0,
    };

    fn is_finite(self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// Parses `text` as Redis's `string2ld` does; any failure is "not a valid float".
    fn parse(text: &[u8]) -> Result<LongDouble, Error> {
        if text.is_empty() || text.len() >= MAX_CHARS || is_c_space(text[0]) {
            return Err(Error::NotFloat);
        }
        let (negative, body) = match text[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Ok(LongDouble::Infinite { negative });
        }
        let exact = match body {
            [b'0', b'x' | b'X', rest @ ..] => parse_hex(rest),
            _ => parse_decimal(body),
        }
        .ok_or(Error::NotFloat)?;
        match exact {
            // A literal zero (`0`, `0.0e99`) is fine; anything else that rounds to zero or
            // to infinity is refused, as `strtold` reports ERANGE for it.
            Exact::Zero => Ok(LongDouble::Finite {
                negative,
                mantissa: 0,
                exponent: 0,
            }),
            Exact::Value { n, exp, sticky } => match round(&n, exp, sticky, negative) {
                LongDouble::Finite { mantissa: 0, .. } | LongDouble::Infinite { .. } => {
                    Err(Error::NotFloat)
                }
                value => Ok(value),
            },
        }
    }

    /// The correctly rounded sum, as the x87 unit computes it.
    fn add(self, other: LongDouble) -> LongDouble {
        use LongDouble::*;
        match (self, other) {
            (Nan, _) | (_, Nan) => Nan,
            (Infinite { negative: a }, Infinite { negative: b }) if a != b => Nan,
            (Infinite { negative }, _) | (_, Infinite { negative }) => Infinite { negative },
            (Finite { mantissa: 0, .. }, Finite { mantissa: 0, .. }) => {
                // -0 + -0 is -0, any other sum of zeros +0 (the sign never shows when printed).
                let negative = self.is_negative() && other.is_negative();
                Finite {
                    negative,
                    mantissa: 0,
                    exponent: 0,
                }
            }
            (Finite { mantissa: 0, .. }, _) => other,
            (_, Finite { mantissa: 0, .. }) => self,
            (
                Finite {
                    negative: na,
                    mantissa: ma,
                    exponent: ea,
                },
                Finite {
                    negative: nb,
                    mantissa: mb,
                    exponent: eb,
                },
            ) => {
                // Align both to the smaller exponent; the sum is then an exact integer.
                let low = ea.min(eb);
                let a = Big::from_u64(ma).shl((ea - low) as u64);
                let b = Big::from_u64(mb).shl((eb - low) as u64);
                let (n, negative) = if na == nb {
                    (a.add(&b), na)
                } else {
                    match a.cmp(&b) {
                        std::cmp::Ordering::Greater => (a.sub(&b), na),
                        std::cmp::Ordering::Less => (b.sub(&a), nb),
                        std::cmp::Ordering::Equal => return LongDouble::ZERO,
                    }
                };
                round(&n, low, false, negative)
            }
        }
    }

    fn is_negative(self) -> bool {
        match self {
            LongDouble::Finite { negative, .. } | LongDouble::Infinite { negative } => negative,
            LongDouble::Nan => false,
        }
    }

    /// Redis's `ld2string(.., LD_STR_HUMAN)`: `%.17Lf`, then trailing zeros and a bare point
    /// removed, and `-0` written `0`.
    fn to_human_string(self) -> String {
        let (negative, mantissa, exponent) = match self {
            LongDouble::Finite {
                negative,
                mantissa,
                exponent,
            } => (negative, mantissa, exponent),
            LongDouble::Infinite { negative: false } => return "inf".into(),
            LongDouble::Infinite { negative: true } => return "-inf".into(),
            LongDouble::Nan => return "nan".into(),
        };
        let mut text = String::new();
        if negative {
            text.push('-');
        }
        if exponent >= 0 {
            // An integer: the 17 decimals are all zeros and get trimmed away.
            text.push_str(&Big::from_u64(mantissa).shl(exponent as u64).to_decimal());
        } else {
            // value × 10^17 = mantissa × 10^17 / 2^shift, rounded half to even as glibc does.
            let shift = (-exponent) as u64;
            let scaled = u128::from(mantissa) * 10u128.pow(DECIMALS as u32);
            let units = if shift >= 128 {
                // scaled < 2^121, less than half of 2^shift: rounds to zero.
                0
            } else {
                let quotient = scaled >> shift;
                let rest = scaled & ((1u128 << shift) - 1);
                let half = 1u128 << (shift - 1);
                if rest > half || (rest == half && quotient & 1 == 1) {
                    quotient + 1
                } else {
                    quotient
                }
            };
            let digits = format!("{units:0>width$}", width = DECIMALS + 1);
            let (int_part, frac_part) = digits.split_at(digits.len() - DECIMALS);
            text.push_str(int_part);
            let frac_part = frac_part.trim_end_matches('0');
            if !frac_part.is_empty() {
                text.push('.');
                text.push_str(frac_part);
            }
        }
        if text == "-0" {
            text = "0".into();
        }
        text
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A parsed number before rounding: `n × 2^exp`, plus whether nonzero bits were cut below.
enum Exact {
    Zero,
    Value { n: Big, exp: i64, sticky: bool },
}

/// Parses the digits of an optional exponent (`e-5`, `p+3`): `Some(0)` when `text` is empty,
/// `None` when it is not a complete exponent. Huge exponents saturate (they only matter as
/// "overflow" or "underflow").
fn parse_exponent(text: &[u8], marker: fn(u8) -> bool) -> Option<i64> {
    let Some((&first, rest)) = text.split_first() else {
        return Some(0);
    };
    if !marker(first) {
        return None;
    }
    let (negative, digits) = match rest {
        [b'-', digits @ ..] => (true, digits),
        [b'+', digits @ ..] => (false, digits),
        digits => (false, digits),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().fold(0i64, |acc, &d| {
        (acc * 10 + i64::from(d - b'0')).min(1_000_000_000)
    });
    Some(if negative { -value } else { value })
}

/// Splits `digits[.digits]` at the first byte that is not part of it. Returns the integer
/// and fraction digits and the rest; `None` if there is no digit at all.
fn split_mantissa(text: &[u8], is_digit: fn(&u8) -> bool) -> Option<(&[u8], &[u8], &[u8])> {
    let int_len = text.iter().take_while(|b| is_digit(b)).count();
    let (int_part, rest) = text.split_at(int_len);
    let (frac_part, rest) = match rest {
        [b'.', after @ ..] => {
            let frac_len = after.iter().take_while(|b| is_digit(b)).count();
            after.split_at(frac_len)
        }
        _ => (&rest[..0], rest),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    Some((int_part, frac_part, rest))
}

/// `ddd.ddd[e±ddd]`.
fn parse_decimal(text: &[u8]) -> Option<Exact> {
    let (int_part, frac_part, rest) = split_mantissa(text, u8::is_ascii_digit)?;
    let exponent = parse_exponent(rest, |b| b == b'e' || b == b'E')?;
    let mut digits: Vec<u8> = int_part.iter().chain(frac_part).copied().collect();
    let mut exp10 = exponent - frac_part.len() as i64;
    let leading = digits.iter().take_while(|&&d| d == b'0').count();
    digits.drain(..leading);
    while digits.last() == Some(&b'0') {
        digits.pop();
        exp10 += 1;
    }
    if digits.is_empty() {
        return Some(Exact::Zero);
    }
    // value is in [10^(len-1+exp10), 10^(len+exp10)). Far outside the long double range the
    // result is certain (infinity or zero) without computing it.
    let len = digits.len() as i64;
    if len - 1 + exp10 >= 4933 {
        return Some(Exact::Value {
            n: Big::from_u64(1),
            exp: MAX_EXP + 64,
            sticky: false,
        });
    }
    if len + exp10 <= -4952 {
        return Some(Exact::Value {
            n: Big::from_u64(1),
            exp: MIN_EXP - 2,
            sticky: false,
        });
    }
    let mut n = Big::from_decimal(&digits);
    if exp10 >= 0 {
        n.mul_pow10(exp10 as u64);
        return Some(Exact::Value {
            n,
            exp: 0,
            sticky: false,
        });
    }
    // n / 10^-exp10: take a quotient of at least 66 bits so the rounding below is exact.
    let mut den = Big::from_u64(1);
    den.mul_pow10((-exp10) as u64);
    let k = 67 + den.bits() as i64 - n.bits() as i64;
    let (num, den) = if k >= 0 {
        (n.shl(k as u64), den)
    } else {
        (n, den.shl((-k) as u64))
    };
    let (quotient, remainder) = num.div_rem(&den);
    Some(Exact::Value {
        n: quotient,
        exp: -k,
        sticky: !remainder.is_zero(),
    })
}

/// `hhh.hhh[p±ddd]` (after `0x`).
fn parse_hex(text: &[u8]) -> Option<Exact> {
    let (int_part, frac_part, rest) = split_mantissa(text, u8::is_ascii_hexdigit)?;
    let exponent = parse_exponent(rest, |b| b == b'p' || b == b'P')?;
    let mut n = Big::from_u64(0);
    for &d in int_part.iter().chain(frac_part) {
        let value = (d as char).to_digit(16).unwrap_or(0);
        n = n.shl(4);
        n.add_small(u64::from(value));
    }
    if n.is_zero() {
        return Some(Exact::Zero);
    }
    Some(Exact::Value {
        n,
        exp: exponent - 4 * frac_part.len() as i64,
        sticky: false,
    })
}

/// Rounds `n × 2^exp` (plus something below its last bit if `sticky`) to a long double,
/// to nearest, ties to even. With `sticky`, `n` must have at least 66 bits.
fn round(n: &Big, exp: i64, sticky: bool, negative: bool) -> LongDouble {
    if n.is_zero() {
        return LongDouble::Finite {
            negative,
            mantissa: 0,
            exponent: 0,
        };
    }
    let bits = n.bits() as i64;
    // Keep 64 bits, or fewer if the exponent would drop below the subnormal one.
    let shift = (bits - 64).max(MIN_EXP - exp);
    let (mantissa, exponent) = if shift <= 0 {
        (n.bits_at(0) << (-shift), exp + shift)
    } else {
        let shift_u = shift as u64;
        let mut mantissa = n.bits_at(shift_u);
        let mut exponent = exp + shift;
        let half = n.bit(shift_u - 1);
        let below = sticky || n.any_below(shift_u - 1);
        if half && (below || mantissa & 1 == 1) {
            mantissa = match mantissa.checked_add(1) {
                Some(m) => m,
                None => {
                    exponent += 1;
                    1 << 63
                }
            };
        }
        (mantissa, exponent)
    };
    if mantissa == 0 {
        return LongDouble::Finite {
            negative,
            mantissa: 0,
            exponent: 0,
        };
    }
    if exponent > MAX_EXP {
        return LongDouble::Infinite { negative };
    }
    LongDouble::Finite {
        negative,
        mantissa,
        exponent,
    }
}

/// A non-negative integer of any size, little-endian 64-bit limbs without trailing zeros.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big {
    limbs: Vec<u64>,
}

impl Big {
    fn from_u64(value: u64) -> Big {
        let mut big = Big { limbs: vec![value] };
        big.trim();
        big
    }

    /// From ASCII decimal digits.
    fn from_decimal(digits: &[u8]) -> Big {
        let mut big = Big::from_u64(0);
        for chunk in digits.chunks(19) {
            let value = chunk
                .iter()
                .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
            big.mul_small(10u64.pow(chunk.len() as u32));
            big.add_small(value);
        }
        big
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    /// Number of significant bits.
    fn bits(&self) -> u64 {
        match self.limbs.last() {
            Some(top) => 64 * (self.limbs.len() as u64 - 1) + u64::from(64 - top.leading_zeros()),
            None => 0,
        }
    }

    fn bit(&self, index: u64) -> bool {
        let limb = (index / 64) as usize;
        self.limbs
            .get(limb)
            .is_some_and(|l| (l >> (index % 64)) & 1 == 1)
    }

    /// Whether any bit below `index` is set.
    fn any_below(&self, index: u64) -> bool {
        let whole = ((index / 64) as usize).min(self.limbs.len());
        if self.limbs[..whole].iter().any(|&l| l != 0) {
            return true;
        }
        let part = index % 64;
        part != 0
            && self
                .limbs
                .get(whole)
                .is_some_and(|l| l & ((1u64 << part) - 1) != 0)
    }

    /// The 64 bits starting at bit `index`.
    fn bits_at(&self, index: u64) -> u64 {
        let limb = (index / 64) as usize;
        let offset = index % 64;
        let low = self.limbs.get(limb).copied().unwrap_or(0) >> offset;
        let high = match offset {
            0 => 0,
            _ => self.limbs.get(limb + 1).copied().unwrap_or(0) << (64 - offset),
        };
        low | high
    }

    fn shl(&self, bits: u64) -> Big {
        if self.is_zero() {
            return self.clone();
        }
        let whole = (bits / 64) as usize;
        let part = bits % 64;
        let mut limbs = vec![0u64; whole];
        limbs.reserve(self.limbs.len() + 1);
        let mut carry = 0u64;
        for &l in &self.limbs {
            if part == 0 {
                limbs.push(l);
            } else {
                limbs.push((l << part) | carry);
                carry = l >> (64 - part);
            }
        }
        limbs.push(carry);
        let mut big = Big { limbs };
        big.trim();
        big
    }

    fn mul_small(&mut self, factor: u64) {
        let mut carry = 0u128;
        for l in &mut self.limbs {
            let product = u128::from(*l) * u128::from(factor) + carry;
            *l = product as u64;
            carry = product >> 64;
        }
        if carry != 0 {
            self.limbs.push(carry as u64);
        }
        self.trim();
    }

    fn mul_pow10(&mut self, mut power: u64) {
        while power >= 19 {
            self.mul_small(10u64.pow(19));
            power -= 19;
        }
        self.mul_small(10u64.pow(power as u32));
    }

    fn add_small(&mut self, value: u64) {
        let mut carry = value;
        for l in &mut self.limbs {
            if carry == 0 {
                break;
            }
            let (sum, overflow) = l.overflowing_add(carry);
            *l = sum;
            carry = u64::from(overflow);
        }
        if carry != 0 {
            self.limbs.push(carry);
        }
    }

    fn add(&self, other: &Big) -> Big {
        let len = self.limbs.len().max(other.limbs.len());
        let mut limbs = Vec::with_capacity(len + 1);
        let mut carry = false;
        for i in 0..len {
            let a = self.limbs.get(i).copied().unwrap_or(0);
            let b = other.limbs.get(i).copied().unwrap_or(0);
            let (sum, o1) = a.overflowing_add(b);
            let (sum, o2) = sum.overflowing_add(u64::from(carry));
            limbs.push(sum);
            carry = o1 || o2;
        }
        limbs.push(u64::from(carry));
        let mut big = Big { limbs };
        big.trim();
        big
    }

    /// `self - other`; `self` must not be smaller.
    fn sub(&self, other: &Big) -> Big {
        let mut result = self.clone();
        result.sub_assign(other);
        result
    }

    /// `self -= other`; `self` must not be smaller.
    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = false;
        for (i, l) in self.limbs.iter_mut().enumerate() {
            let b = other.limbs.get(i).copied().unwrap_or(0);
            if b == 0 && !borrow && i >= other.limbs.len() {
                break;
            }
            let (diff, o1) = l.overflowing_sub(b);
            let (diff, o2) = diff.overflowing_sub(u64::from(borrow));
            *l = diff;
            borrow = o1 || o2;
        }
        self.trim();
    }

    /// `self >>= 1`.
    fn shr1(&mut self) {
        let mut carry = 0u64;
        for l in self.limbs.iter_mut().rev() {
            let next = *l << 63;
            *l = (*l >> 1) | carry;
            carry = next;
        }
        self.trim();
    }

    fn cmp(&self, other: &Big) -> std::cmp::Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }

    /// Quotient and remainder, by shift-and-subtract (the quotients here are short).
    fn div_rem(&self, divisor: &Big) -> (Big, Big) {
        let mut remainder = self.clone();
        let mut quotient = Big::from_u64(0);
        if self.bits() < divisor.bits() {
            return (quotient, remainder);
        }
        let top = self.bits() - divisor.bits();
        quotient.limbs = vec![0; (top / 64) as usize + 1];
        let mut shifted = divisor.shl(top);
        for shift in (0..=top).rev() {
            if remainder.cmp(&shifted) != std::cmp::Ordering::Less {
                remainder.sub_assign(&shifted);
                quotient.limbs[(shift / 64) as usize] |= 1 << (shift % 64);
            }
            shifted.shr1();
        }
        quotient.trim();
        (quotient, remainder)
    }

    /// Divides in place by a small divisor and returns the remainder.
    fn div_small(&mut self, divisor: u64) -> u64 {
        let mut rest = 0u128;
        for l in self.limbs.iter_mut().rev() {
            let current = (rest << 64) | u128::from(*l);
            *l = (current / u128::from(divisor)) as u64;
            rest = current % u128::from(divisor);
        }
        self.trim();
        rest as u64
    }

    fn to_decimal(&self) -> String {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_small(10u64.pow(19)));
        }
        let Some((top, rest)) = chunks.split_last() else {
            return "0".into();
        };
        let mut text = top.to_string();
        for chunk in rest.iter().rev() {
            text.push_str(&format!("{chunk:019}"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_like_string2ll() {
        assert_eq!(parse_int(b"0"), Some(0));
        assert_eq!(parse_int(b"-12"), Some(-12));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"01",
            b"-0",
            b"+1",
            b" 1",
            b"9223372036854775808",
            b"1a",
        ] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
    }

    fn incr(current: Option<&str>, by: &str) -> Result<String, Error> {
        incr_by_float(current.map(str::as_bytes), by.as_bytes())
    }

    fn show(text: &str) -> Result<String, Error> {
        LongDouble::parse(text.as_bytes()).map(LongDouble::to_human_string)
    }

    // Expected values are what redis-server 7.0.15 on x86-64 answers.
    #[test]
    fn sums_print_like_redis_long_doubles() {
        assert_eq!(incr(Some("10.50"), "0.1").as_deref(), Ok("10.6"));
        assert_eq!(
            incr(Some("5.6"), "5.0e3").as_deref(),
            Ok("5005.60000000000000009")
        );
        assert_eq!(incr(Some("1.1"), "2.2").as_deref(), Ok("3.3"));
        assert_eq!(incr(None, "5.0e3").as_deref(), Ok("5000"));
        assert_eq!(incr(Some("3.0"), "-3").as_deref(), Ok("0"));
        assert_eq!(incr(Some("-0.5"), "0.25").as_deref(), Ok("-0.25"));
        assert_eq!(incr(Some("1"), "1e-20").as_deref(), Ok("1"));
        assert_eq!(incr(None, "1e-18").as_deref(), Ok("0"));
        assert_eq!(incr(None, "1.1e-17").as_deref(), Ok("0.00000000000000001"));
        assert_eq!(
            incr(None, "3.14159265358979323846").as_deref(),
            Ok("3.14159265358979324")
        );
        assert_eq!(
            incr(None, "1e100").as_deref(),
            Ok(
                "9999999999999999999669353532207342619498699019828496079271391541752018669482644324418977840117055488"
            )
        );
        assert_eq!(incr(None, "0x10").as_deref(), Ok("16"));
        assert_eq!(incr(None, "0x1.8p1").as_deref(), Ok("3"));
    }

    #[test]
    fn the_long_double_range_is_wider_than_f64() {
        let sum = incr(Some("1.7e308"), "1.7e308").expect("fits a long double");
        assert!(sum.starts_with("340000000000000000006273556050395193590540427"));
        assert_eq!(sum.len(), 309);
        assert!(incr(None, "1e400").is_ok());
        assert_eq!(incr(None, "1e5000"), Err(Error::NotFloat));
        assert_eq!(incr(None, "1e-5000"), Err(Error::NotFloat));
        assert_eq!(incr(None, "0e5000").as_deref(), Ok("0"));
    }

    #[test]
    fn invalid_operands_and_infinities_are_refused() {
        for bad in [
            "abc", "", " 1", "1 ", "nan", "-nan", "1e", "1e+", ".", "0x", "0xg", "1.5.", "+",
        ] {
            assert_eq!(incr(Some("1"), bad), Err(Error::NotFloat), "{bad:?}");
            assert_eq!(incr(Some(bad), "1"), Err(Error::NotFloat), "{bad:?}");
        }
        let nan_or_inf = Err(Error::msg("ERR increment would produce NaN or Infinity"));
        assert_eq!(incr(Some("1"), "inf"), nan_or_inf);
        assert_eq!(incr(Some("-Infinity"), "1"), nan_or_inf);
        assert_eq!(incr(Some("inf"), "-inf"), nan_or_inf);
    }

    #[test]
    fn parsing_accepts_what_strtold_accepts() {
        assert_eq!(show(".5").as_deref(), Ok("0.5"));
        assert_eq!(show("5.").as_deref(), Ok("5"));
        assert_eq!(show("+1").as_deref(), Ok("1"));
        assert_eq!(show("-0").as_deref(), Ok("0"));
        assert_eq!(show("1E3").as_deref(), Ok("1000"));
        assert_eq!(show("0.1").as_deref(), Ok("0.1"));
        assert_eq!(show("-0.000000000000000001").as_deref(), Ok("0"));
        assert_eq!(show("INF").as_deref(), Ok("inf"));
    }
}
