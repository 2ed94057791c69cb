//! Bitmap commands on string values: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO.
//!
//! A bitmap is an ordinary string. Bit 0 is the most significant bit of the first byte, so
//! bit `n` lives in byte `n / 8` under the mask `0x80 >> (n % 8)`. Reads past the end see
//! zero bits; writes grow the string with zero bytes. A string written by a bit command is
//! `raw`-encoded afterwards, as in Redis.

use super::parse::{self, is};
use super::strings::as_str;
use super::{Command, Ctx, KeySpec, flag::*};
use crate::error::{CommandResult, Error};
use crate::number::parse_int;
use crate::protocol::Reply;
use crate::store::effects::class;
use crate::store::{EntryMut, StrEncoding, Value, ValueRef};

const GROUP: &str = "bitmap";

pub const COMMANDS: &[Command] = &[
    Command::new("setbit", 4, WRITE | DENYOOM, KeySpec::ONE, setbit).doc(
        GROUP,
        "2.2.0",
        "Sets or clears one bit of a string and answers its previous value.",
        "O(1)",
        "key offset:int value:int",
    ),
    Command::new("getbit", 3, READONLY | FAST, KeySpec::ONE, getbit).doc(
        GROUP,
        "2.2.0",
        "Answers the value of one bit of a string (0 past its end).",
        "O(1)",
        "key offset:int",
    ),
    Command::new("bitcount", -2, READONLY, KeySpec::ONE, bitcount).doc(
        GROUP,
        "2.6.0",
        "Counts the bits set to 1 in a string, or in a range of its bytes or bits.",
        "O(N)",
        "key [index=start:int end:int [index_unit=BYTE | BIT]]",
    ),
    Command::new("bitpos", -3, READONLY, KeySpec::ONE, bitpos).doc(
        GROUP,
        "2.8.7",
        "Finds the first bit set to 1 or 0 in a string, or in a range of its bytes or bits.",
        "O(N)",
        "key bit:int [index=start:int [end_index=end:int [index_unit=BYTE | BIT]]]",
    ),
    Command::new("bitop", -4, WRITE | DENYOOM, KeySpec::range(2, -1, 1), bitop).doc(
        GROUP,
        "2.6.0",
        "Combines strings bit by bit (AND, OR, XOR, NOT) and stores the result.",
        "O(N)",
        "operation destkey:key key...",
    ),
    Command::new("bitfield", -2, WRITE | DENYOOM, KeySpec::ONE, bitfield).doc(
        GROUP,
        "3.2.0",
        "Reads, writes and increments integers of any width at any bit offset of a string.",
        "O(1) for each subcommand specified",
        "key [operation=(encoding_offset=GET encoding offset:int) | (write=[wrap_sat_fail=OVERFLOW (WRAP | SAT | FAIL)] (write_operation=(encoding_offset_value=SET encoding offset:int value:int) | (encoding_offset_increment=INCRBY encoding offset:int increment:int)))]...",
    ),
    Command::new("bitfield_ro", -2, READONLY | FAST, KeySpec::ONE, bitfield_ro).doc(
        GROUP,
        "6.0.0",
        "Reads integers of any width at any bit offset of a string (BITFIELD's GET only).",
        "O(1) for each subcommand specified",
        "key [encoding_offset=GET encoding offset:int]...",
    ),
];

const BAD_OFFSET: Error = Error::msg("ERR bit offset is not an integer or out of range");
const BAD_BIT: Error = Error::msg("ERR bit is not an integer or out of range");
const BAD_TYPE: Error = Error::msg(
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
);

/// A bit offset argument. With `width` (BITFIELD), `#N` means the N-th field of that width.
/// The byte it falls in must stay below `proto-max-bulk-len`.
fn bit_offset(ctx: &Ctx<'_, '_>, arg: &[u8], width: Option<u32>) -> Result<u64, Error> {
    let (digits, multiplier) = match (arg.first(), width) {
        (Some(b'#'), Some(width)) => (&arg[1..], i64::from(width)),
        _ => (arg, 1),
    };
    // Like Redis, a huge `#N` wraps around rather than failing early.
    let offset = parse_int(digits)
        .ok_or(BAD_OFFSET)?
        .wrapping_mul(multiplier);
    if offset < 0 || (offset >> 3) as u64 >= ctx.node.limits.proto_max_bulk_len() as u64 {
        return Err(BAD_OFFSET);
    }
    Ok(offset as u64)
}

/// The byte holding bit `offset`, and the bit's mask in it.
fn locate(offset: u64) -> (usize, u8) {
    ((offset >> 3) as usize, 0x80 >> (offset & 7))
}

/// Makes the string in `entry` raw and at least `len` bytes long, and hands it out for
/// writing. Fails with WRONGTYPE for other types.
fn writable<'e>(entry: &'e mut EntryMut<'_>, len: usize) -> Result<&'e mut Vec<u8>, Error> {
    match entry.value_mut() {
        Value::Str(s, encoding) => {
            if s.len() < len {
                s.resize(len, 0);
            }
            *encoding = StrEncoding::Raw;
            Ok(s)
        }
        _ => Err(Error::WrongType),
    }
}

fn setbit(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let offset = bit_offset(ctx, args[2], None)?;
    let on = match parse_int(args[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(BAD_BIT),
    };
    let (byte, mask) = locate(offset);
    let db = ctx.db();
    let Some(mut entry) = ctx.keys.get_mut(db, args[1]) else {
        let mut s = vec![0; byte + 1];
        if on {
            s[byte] = mask;
        }
        ctx.keys
            .set(db, args[1], Value::Str(s, StrEncoding::Raw), None);
        ctx.keys.notify(class::STRING, "setbit", db, args[1]);
        return Ok(Reply::Int(0));
    };
    let s = as_str(&entry)?;
    let was = s.get(byte).is_some_and(|b| b & mask != 0);
    let unchanged =
        was == on && byte < s.len() && matches!(entry.value(), ValueRef::Str(_, StrEncoding::Raw));
    // Redis notifies only a bit that changed or a string that grew (leaving an unchanged
    // string raw-encoded, as SETBIT leaves it, is no event).
    let changed = was != on || byte >= s.len();
    if !unchanged {
        let s = writable(&mut entry, byte + 1)?;
        if on {
            s[byte] |= mask;
        } else {
            s[byte] &= !mask;
        }
    }
    if changed {
        ctx.keys.notify(class::STRING, "setbit", db, args[1]);
    }
    Ok(Reply::Int(i64::from(was)))
}

fn getbit(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let offset = bit_offset(ctx, args[2], None)?;
    let (byte, mask) = locate(offset);
    let db = ctx.db();
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Int(0));
    };
    let s = as_str(&entry)?;
    let set = s.get(byte).is_some_and(|b| b & mask != 0);
    Ok(Reply::Int(i64::from(set)))
}

/// Whether a range counts bytes (the default) or bits: the optional `BYTE | BIT` argument.
fn unit_is_bit(arg: &[u8]) -> Result<bool, Error> {
    if is(arg, "bit") {
        Ok(true)
    } else if is(arg, "byte") {
        Ok(false)
    } else {
        Err(Error::Syntax)
    }
}

/// Resolves `start..=end` (negative counts from the end) over `total` units, clamped to
/// what exists. `None` when nothing is left.
fn resolve(start: i64, end: i64, total: i64) -> Option<(u64, u64)> {
    let from_end = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let (start, end) = (from_end(start), from_end(end).min(total - 1));
    (start <= end).then_some((start as u64, end as u64))
}

/// Number of bits set in `s` from bit `first` to bit `last`, both included and in range.
fn count_ones(s: &[u8], first: u64, last: u64) -> u64 {
    let (first_byte, last_byte) = ((first >> 3) as usize, (last >> 3) as usize);
    let bytes = &s[first_byte..=last_byte];
    let mut words = bytes.chunks_exact(8);
    let mut count: u64 = words
        .by_ref()
        .map(|w| u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]))
        .map(|w| u64::from(w.count_ones()))
        .sum();
    count += words
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>();
    // Take back the bits of the edge bytes that fall outside the range.
    let before = !(0xffu32 >> (first & 7)) as u8;
    let after = (0xffu32 >> ((last & 7) + 1)) as u8;
    count -= u64::from((s[first_byte] & before).count_ones());
    count -= u64::from((s[last_byte] & after).count_ones());
    count
}

fn bitcount(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    // Redis 7.4 reads every argument before the key, so a missing key does not hide a bad
    // one.
    let bounds = match args.len() {
        2 => None,
        4 | 5 => {
            let start = parse::int(args[2])?;
            let end = parse::int(args[3])?;
            let in_bits = args.len() == 5 && unit_is_bit(args[4])?;
            Some((start, end, in_bits))
        }
        _ => return Err(Error::Syntax),
    };
    let db = ctx.db();
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Int(0));
    };
    let s = as_str(&entry)?;
    let len = s.len() as i64;
    let range = match bounds {
        None => resolve(0, -1, len).map(|(a, b)| (a * 8, b * 8 + 7)),
        // Both from the end and crossed: nothing, whatever the unit.
        Some((start, end, _)) if start < 0 && end < 0 && start > end => None,
        Some((start, end, true)) => resolve(start, end, len * 8),
        Some((start, end, false)) => resolve(start, end, len).map(|(a, b)| (a * 8, b * 8 + 7)),
    };
    let count = range.map_or(0, |(first, last)| count_ones(s, first, last));
    Ok(Reply::Int(count as i64))
}

/// The first bit equal to `bit` from bit `first` to bit `last` (both included, in range).
fn find_bit(s: &[u8], first: u64, last: u64, bit: bool) -> Option<u64> {
    let (first_byte, last_byte) = ((first >> 3) as usize, (last >> 3) as usize);
    // Look for ones in the byte itself, or in its complement when looking for zeros.
    let look = |i: usize| if bit { s[i] } else { !s[i] };
    let edge = |i: usize| {
        let mut b = look(i);
        if i == first_byte {
            b &= (0xffu32 >> (first & 7)) as u8;
        }
        if i == last_byte {
            b &= !(0xffu32 >> ((last & 7) + 1)) as u8;
        }
        b
    };
    let hit = |i: usize, b: u8| Some(i as u64 * 8 + u64::from(b.leading_zeros()));
    let b = edge(first_byte);
    if b != 0 {
        return hit(first_byte, b);
    }
    if last_byte == first_byte {
        return None;
    }
    let skip = if bit { 0x00 } else { 0xff };
    let middle = &s[first_byte + 1..last_byte];
    if let Some(i) = middle.iter().position(|&b| b != skip) {
        let i = first_byte + 1 + i;
        return hit(i, look(i));
    }
    match edge(last_byte) {
        0 => None,
        b => hit(last_byte, b),
    }
}

fn bitpos(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let bit = match parse::int(args[2])? {
        0 => false,
        1 => true,
        _ => return Err(Error::msg("ERR The bit argument must be 1 or 0.")),
    };
    // Every argument is read before the key (Redis 7.4): start, the unit, then end.
    let bounds = match args.len() {
        3 => None,
        4..=6 => {
            let start = parse::int(args[3])?;
            let in_bits = args.len() == 6 && unit_is_bit(args[5])?;
            let end = args.get(4).map(|arg| parse::int(arg)).transpose()?;
            Some((start, end, in_bits))
        }
        _ => return Err(Error::Syntax),
    };
    let db = ctx.db();
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        // A missing key is an endless run of zero bits.
        return Ok(Reply::Int(if bit { -1 } else { 0 }));
    };
    let s = as_str(&entry)?;
    let len = s.len() as i64;
    let (range, end_given) = match bounds {
        None => (resolve(0, -1, len).map(|(a, b)| (a * 8, b * 8 + 7)), false),
        Some((start, end, in_bits)) => {
            let range = if in_bits {
                resolve(start, end.unwrap_or(-1), len * 8)
            } else {
                resolve(start, end.unwrap_or(-1), len).map(|(a, b)| (a * 8, b * 8 + 7))
            };
            (range, end.is_some())
        }
    };
    let Some((first, last)) = range else {
        return Ok(Reply::Int(-1));
    };
    let pos = match find_bit(s, first, last, bit) {
        Some(pos) => pos as i64,
        // Without an explicit end the string counts as padded with zeros on the right.
        None if !bit && !end_given => last as i64 + 1,
        None => -1,
    };
    Ok(Reply::Int(pos))
}

fn bitop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    #[derive(Clone, Copy, PartialEq)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let op = [
        ("and", Op::And),
        ("or", Op::Or),
        ("xor", Op::Xor),
        ("not", Op::Not),
    ]
    .into_iter()
    .find(|(name, _)| is(args[1], name))
    .map(|(_, op)| op)
    .ok_or(Error::Syntax)?;
    if op == Op::Not && args.len() != 4 {
        return Err(Error::msg(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let db = ctx.db();
    // Fold the sources into the result one at a time; missing bytes count as zeros.
    let mut result: Vec<u8> = Vec::new();
    for (i, key) in args[3..].iter().enumerate() {
        let entry = ctx.keys.get(db, key);
        let source = match &entry {
            Some(entry) => as_str(entry)?,
            None => &[],
        };
        if i == 0 {
            result = match op {
                Op::Not => source.iter().map(|b| !b).collect(),
                _ => source.to_vec(),
            };
            continue;
        }
        if result.len() < source.len() {
            result.resize(source.len(), 0);
        }
        match op {
            Op::And => {
                result
                    .iter_mut()
                    .zip(source.iter().chain(std::iter::repeat(&0)))
                    .for_each(|(r, s)| *r &= s);
            }
            Op::Or => result.iter_mut().zip(source).for_each(|(r, s)| *r |= s),
            Op::Xor => result.iter_mut().zip(source).for_each(|(r, s)| *r ^= s),
            Op::Not => {}
        }
    }
    let len = result.len() as i64;
    if result.is_empty() {
        ctx.keys.remove_emptied(db, args[2]);
    } else {
        ctx.keys
            .set(db, args[2], Value::Str(result, StrEncoding::Raw), None);
        ctx.keys.notify(class::STRING, "set", db, args[2]);
    }
    Ok(Reply::Int(len))
}

/// What BITFIELD does when a write does not fit its field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Overflow {
    /// Keep the low bits (two's complement for signed fields).
    Wrap,
    /// Clamp to the smallest or largest value of the field.
    Sat,
    /// Write nothing and answer nil.
    Fail,
}

/// One BITFIELD operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FieldAction {
    Get,
    Set(i64),
    IncrBy(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FieldOp {
    action: FieldAction,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

/// A field type: `i1`..`i64` or `u1`..`u63`. Like Redis, the width ends at a zero byte.
fn field_type(arg: &[u8]) -> Result<(bool, u32), Error> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(BAD_TYPE),
    };
    let digits = arg[1..].split(|&b| b == 0).next().unwrap_or_default();
    let max = if signed { 64 } else { 63 };
    match parse_int(digits) {
        Some(bits) if (1..=max).contains(&bits) => Ok((signed, bits as u32)),
        _ => Err(BAD_TYPE),
    }
}

/// Parses BITFIELD's operations, with Redis's errors in Redis's order.
fn field_ops(ctx: &Ctx<'_, '_>, args: &[&[u8]]) -> Result<Vec<FieldOp>, Error> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let name = args[j];
        let action = if is(name, "get") && left >= 2 {
            FieldAction::Get
        } else if is(name, "set") && left >= 3 {
            FieldAction::Set(0)
        } else if is(name, "incrby") && left >= 3 {
            FieldAction::IncrBy(0)
        } else if is(name, "overflow") && left >= 1 {
            overflow = match args[j + 1] {
                arg if is(arg, "wrap") => Overflow::Wrap,
                arg if is(arg, "sat") => Overflow::Sat,
                arg if is(arg, "fail") => Overflow::Fail,
                _ => return Err(Error::msg("ERR Invalid OVERFLOW type specified")),
            };
            j += 2;
            continue;
        } else {
            return Err(Error::Syntax);
        };
        let (signed, bits) = field_type(args[j + 1])?;
        let offset = bit_offset(ctx, args[j + 2], Some(bits))?;
        let action = match action {
            FieldAction::Get => FieldAction::Get,
            FieldAction::Set(_) => FieldAction::Set(parse::int(args[j + 3])?),
            FieldAction::IncrBy(_) => FieldAction::IncrBy(parse::int(args[j + 3])?),
        };
        ops.push(FieldOp {
            action,
            signed,
            bits,
            offset,
            overflow,
        });
        j += if action == FieldAction::Get { 3 } else { 4 };
    }
    Ok(ops)
}

/// The unsigned field of `bits` bits at bit `offset`; bytes past the end read as zero.
fn read_field(s: &[u8], offset: u64, bits: u32) -> u64 {
    let first = (offset >> 3) as usize;
    let mut window: u128 = 0;
    for i in 0..9 {
        let byte = first.checked_add(i).and_then(|i| s.get(i));
        window = (window << 8) | u128::from(byte.copied().unwrap_or(0));
    }
    let shift = 72 - (offset & 7) as u32 - bits;
    ((window >> shift) & ((1u128 << bits) - 1)) as u64
}

/// The field read as a two's complement integer of `bits` bits.
fn read_signed(s: &[u8], offset: u64, bits: u32) -> i64 {
    let raw = read_field(s, offset, bits);
    if bits < 64 && raw & (1 << (bits - 1)) != 0 {
        (raw | (u64::MAX << bits)) as i64
    } else {
        raw as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`; `s` must be long enough.
fn write_field(s: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits {
        let (byte, mask) = locate(offset + u64::from(j));
        if (value >> (bits - 1 - j)) & 1 != 0 {
            s[byte] |= mask;
        } else {
            s[byte] &= !mask;
        }
    }
}

/// `value + incr` for a signed field of `bits` bits: the sum when it fits, else what
/// `overflow` makes of it (`None` for FAIL). The checks follow Redis's, including their
/// two's complement arithmetic for extreme arguments.
fn signed_sum(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let above = value > max
        || (bits != 64 && incr > max_incr)
        || (value >= 0 && incr > 0 && incr > max_incr);
    let below = value < min
        || (bits != 64 && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr);
    if !above && !below {
        return Some(value.wrapping_add(incr));
    }
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if above { max } else { min }),
        Overflow::Wrap => {
            let sum = (value as u64).wrapping_add(incr as u64);
            if bits == 64 {
                return Some(sum as i64);
            }
            let high = u64::MAX << bits;
            let negative = sum & (1 << (bits - 1)) != 0;
            Some((if negative { sum | high } else { sum & !high }) as i64)
        }
    }
}

/// `value + incr` for an unsigned field of `bits` (at most 63) bits, as `signed_sum`.
fn unsigned_sum(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = (1u64 << bits) - 1;
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = 0u64.wrapping_sub(value) as i64;
    let above = value > max || (incr > 0 && incr > max_incr);
    let below = !above && incr < 0 && incr < min_incr;
    if !above && !below {
        return Some(value.wrapping_add(incr as u64));
    }
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if above { max } else { 0 }),
        Overflow::Wrap => Some(value.wrapping_add(incr as u64) & max),
    }
}

/// The reply to a GET operation.
fn read(s: &[u8], op: &FieldOp) -> Reply {
    if op.signed {
        Reply::Int(read_signed(s, op.offset, op.bits))
    } else {
        Reply::Int(read_field(s, op.offset, op.bits) as i64)
    }
}

/// Runs one operation on the string, answering its reply.
fn apply(s: &mut [u8], op: &FieldOp) -> Reply {
    let (offset, bits) = (op.offset, op.bits);
    let (operand, increment) = match op.action {
        FieldAction::Get => return read(s, op),
        FieldAction::Set(value) => (value, false),
        FieldAction::IncrBy(incr) => (incr, true),
    };
    if op.signed {
        let old = read_signed(s, offset, bits);
        let new = if increment {
            signed_sum(old, operand, bits, op.overflow)
        } else {
            signed_sum(operand, 0, bits, op.overflow)
        };
        let Some(new) = new else {
            return Reply::Null;
        };
        write_field(s, offset, bits, new as u64);
        Reply::Int(if increment { new } else { old })
    } else {
        let old = read_field(s, offset, bits);
        let new = if increment {
            unsigned_sum(old, operand, bits, op.overflow)
        } else {
            unsigned_sum(operand as u64, 0, bits, op.overflow)
        };
        let Some(new) = new else {
            return Reply::Null;
        };
        write_field(s, offset, bits, new);
        Reply::Int(if increment { new } else { old } as i64)
    }
}

fn bitfield_generic(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], read_only: bool) -> CommandResult {
    let ops = field_ops(ctx, args)?;
    let db = ctx.db();
    let key = args[1];
    let highest = ops
        .iter()
        .filter(|op| op.action != FieldAction::Get)
        .map(|op| op.offset + u64::from(op.bits) - 1)
        .max();
    let Some(highest) = highest else {
        // Only reads: a missing key reads as zeros.
        let entry = ctx.keys.get(db, key);
        let s = match &entry {
            Some(entry) => as_str(entry)?,
            None => &[],
        };
        let replies = ops.iter().map(|op| read(s, op)).collect();
        return Ok(Reply::Array(replies));
    };
    if read_only {
        return Err(Error::msg(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let len = (highest >> 3) as usize + 1;
    let Some(mut entry) = ctx.keys.get_mut(db, key) else {
        // The key is created even if every write then fails.
        let mut s = vec![0; len];
        let replies = ops.iter().map(|op| apply(&mut s, op)).collect();
        ctx.keys.set(db, key, Value::Str(s, StrEncoding::Raw), None);
        ctx.keys.notify(class::STRING, "setbit", db, key);
        return Ok(Reply::Array(replies));
    };
    let grows = as_str(&entry)?.len() < len;
    let s = writable(&mut entry, len)?;
    // Redis notifies `setbit` when the string grew or a write changed a field's value.
    let mut changed = grows;
    let replies = ops
        .iter()
        .map(|op| {
            let read_op = FieldOp {
                action: FieldAction::Get,
                ..*op
            };
            let before = (op.action != FieldAction::Get).then(|| read(s, &read_op));
            let reply = apply(s, op);
            changed |= before.is_some_and(|before| before != read(s, &read_op));
            reply
        })
        .collect();
    if changed {
        ctx.keys.notify(class::STRING, "setbit", db, key);
    }
    Ok(Reply::Array(replies))
}

fn bitfield(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    bitfield_generic(ctx, args, false)
}

fn bitfield_ro(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    bitfield_generic(ctx, args, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_like_redis() {
        assert_eq!(resolve(0, -1, 3), Some((0, 2)));
        assert_eq!(resolve(-100, 100, 3), Some((0, 2)));
        assert_eq!(resolve(2, 1, 3), None);
        assert_eq!(resolve(0, -1, 0), None);
        assert_eq!(resolve(5, 10, 3), None);
    }

    #[test]
    fn counting_respects_bit_edges() {
        let s = [0xff, 0xf0, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(count_ones(&s, 0, 79), 8 * 8 + 1);
        assert_eq!(count_ones(&s, 4, 11), 4 + 4);
        assert_eq!(count_ones(&s, 12, 19), 0);
        assert_eq!(count_ones(&s, 79, 79), 1);
        assert_eq!(count_ones(&s, 78, 78), 0);
    }

    #[test]
    fn finding_bits_stays_inside_the_range() {
        let s = [0x00, 0xff, 0x00];
        assert_eq!(find_bit(&s, 0, 23, true), Some(8));
        assert_eq!(find_bit(&s, 10, 23, true), Some(10));
        assert_eq!(find_bit(&s, 16, 23, true), None);
        assert_eq!(find_bit(&s, 8, 15, false), None);
        assert_eq!(find_bit(&s, 8, 23, false), Some(16));
        assert_eq!(find_bit(&s, 3, 5, false), Some(3));
    }

    #[test]
    fn fields_read_and_write_across_byte_boundaries() {
        let mut s = vec![0u8; 3];
        write_field(&mut s, 7, 5, 23);
        assert_eq!(s, vec![0b0000_0001, 0b0111_0000, 0]);
        assert_eq!(read_field(&s, 7, 5), 23);
        assert_eq!(read_signed(&s, 7, 5), 23 - 32);
        write_field(&mut s, 0, 24, u64::MAX);
        assert_eq!(read_signed(&s, 0, 24), -1);
        assert_eq!(read_field(&s, 16, 63), 0xff << 55);
    }

    #[test]
    fn overflow_modes_follow_redis() {
        assert_eq!(signed_sum(100, 100, 8, Overflow::Wrap), Some(-56));
        assert_eq!(signed_sum(100, 100, 8, Overflow::Sat), Some(127));
        assert_eq!(signed_sum(-100, -100, 8, Overflow::Sat), Some(-128));
        assert_eq!(signed_sum(100, 100, 8, Overflow::Fail), None);
        assert_eq!(signed_sum(i64::MAX, 1, 64, Overflow::Wrap), Some(i64::MIN));
        assert_eq!(unsigned_sum(250, 10, 8, Overflow::Wrap), Some(4));
        assert_eq!(unsigned_sum(250, 10, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_sum(5, -10, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_sum(5, -10, 8, Overflow::Wrap), Some(251));
        assert_eq!(unsigned_sum(u64::MAX, 0, 8, Overflow::Sat), Some(255));
    }

    #[test]
    fn field_types_accept_i64_but_not_u64() {
        assert_eq!(field_type(b"i64"), Ok((true, 64)));
        assert_eq!(field_type(b"u63"), Ok((false, 63)));
        assert_eq!(field_type(b"u8\0junk"), Ok((false, 8)));
        for bad in [&b"u64"[..], b"i0", b"i65", b"I8", b"", b"u", b"u-1", b"u08"] {
            assert_eq!(field_type(bad), Err(BAD_TYPE), "{bad:?}");
        }
    }
}
