//! HyperLogLog commands on string values: PFADD PFCOUNT PFMERGE.
//!
//! A HyperLogLog is a string in Redis's own format (see [`hll`]), so `GET` hands out bytes
//! a real Redis accepts and `SET` of a Redis-made HyperLogLog works here. Any command that
//! reads one first checks that the string is a well-formed HyperLogLog; corrupted register
//! data found while working on it is reported as Redis reports it.

use super::strings::as_str;
use super::{Command, Ctx, KeySpec, flag::*};
use crate::error::{CommandResult, Error};
use crate::protocol::Reply;
use crate::store::effects::class;
use crate::store::{EntryMut, StrEncoding, Value, ValueRef};

use crate::store::hll;

const GROUP: &str = "hyperloglog";

pub const COMMANDS: &[Command] = &[
    Command::new("pfadd", -2, WRITE | DENYOOM | FAST, KeySpec::ONE, pfadd).doc(
        GROUP,
        "2.8.9",
        "Adds elements to a HyperLogLog, creating it if missing; answers 1 if its estimate may have changed.",
        "O(1) to add every element.",
        "key [element...]",
    ).notifies(class::STRING, "pfadd"),
    Command::new("pfcount", -2, READONLY, KeySpec::ALL, pfcount).doc(
        GROUP,
        "2.8.9",
        "Estimates the number of distinct elements added to a HyperLogLog, or to the union of several.",
        "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.",
        "key...",
    ),
    Command::new("pfmerge", -2, WRITE | DENYOOM, KeySpec::ALL, pfmerge).doc(
        GROUP,
        "2.8.9",
        "Stores in a HyperLogLog the union of itself and other HyperLogLogs.",
        "O(N) to merge N HyperLogLogs, but with high constant times.",
        "destkey:key sourcekey:key...",
    ).notifies(class::STRING, "pfadd"),
];

const NOT_HLL: Error = Error::msg("WRONGTYPE Key is not a valid HyperLogLog string value.");
const CORRUPTED: Error = Error::msg("INVALIDOBJ Corrupted HLL object detected");

/// The HyperLogLog in a found entry: WRONGTYPE for other types and for strings that are
/// not HyperLogLogs.
fn as_hll<'e>(entry: &'e EntryMut<'_>) -> Result<&'e [u8], Error> {
    let s = as_str(entry)?;
    if hll::is_valid(s) {
        Ok(s)
    } else {
        Err(NOT_HLL)
    }
}

/// The HyperLogLog in a found entry (checked with `as_hll` first), for changing it: it
/// becomes a raw string.
fn hll_mut<'e>(entry: &'e mut EntryMut<'_>) -> Result<&'e mut Vec<u8>, Error> {
    match entry.value_mut() {
        Value::Str(s, encoding) => {
            *encoding = StrEncoding::Raw;
            Ok(s)
        }
        _ => Err(Error::WrongType),
    }
}

/// Whether the string in `entry` is not raw yet (a command that works on a HyperLogLog
/// leaves it raw, as Redis does).
fn needs_raw(entry: &EntryMut<'_>) -> bool {
    !matches!(entry.value(), ValueRef::Str(_, StrEncoding::Raw))
}

fn pfadd(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let (key, elements) = (args[1], &args[2..]);
    let Some(mut entry) = ctx.keys.get_mut(db, key) else {
        let mut s = hll::new_sparse();
        for element in elements {
            hll::add(&mut s, element).map_err(|_| CORRUPTED)?;
        }
        hll::invalidate_cache(&mut s);
        ctx.keys.set(db, key, Value::Str(s, StrEncoding::Raw), None);
        return Ok(Reply::Int(1));
    };
    // Leave the value untouched when no register would grow, so that a no-op is not seen
    // as a change (WATCH).
    let s = as_hll(&entry)?;
    let grows = elements
        .iter()
        .any(|e| hll::would_grow(s, e).unwrap_or(true));
    if !grows && !needs_raw(&entry) {
        return Ok(Reply::Int(0));
    }
    let s = hll_mut(&mut entry)?;
    let mut updated = false;
    for element in elements {
        updated |= hll::add(s, element).map_err(|_| CORRUPTED)?;
    }
    if updated {
        hll::invalidate_cache(s);
    }
    Ok(Reply::Int(i64::from(updated)))
}

fn pfcount(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    if args.len() > 2 {
        // The estimate of the union, leaving every key as it is.
        let mut registers = hll::Registers::new();
        for key in &args[1..] {
            if let Some(entry) = ctx.keys.get(db, key) {
                registers.merge(as_hll(&entry)?).map_err(|_| CORRUPTED)?;
            }
        }
        return Ok(Reply::Int(registers.estimate()));
    }
    let Some(mut entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Int(0));
    };
    let s = as_hll(&entry)?;
    if let Some(cached) = hll::cached_estimate(s) {
        if needs_raw(&entry) {
            hll_mut(&mut entry)?;
        }
        return Ok(Reply::Int(cached));
    }
    let estimate = hll::estimate(s).map_err(|_| CORRUPTED)?;
    hll::set_cache(hll_mut(&mut entry)?, estimate);
    Ok(Reply::Int(estimate))
}

fn pfmerge(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    // The destination takes part in the union too.
    let mut registers = hll::Registers::new();
    let mut dense = false;
    for key in &args[1..] {
        if let Some(entry) = ctx.keys.get(db, key) {
            let s = as_hll(&entry)?;
            dense |= hll::is_dense(s);
            registers.merge(s).map_err(|_| CORRUPTED)?;
        }
    }
    let write = |s: &mut Vec<u8>| -> Result<(), Error> {
        if dense {
            hll::to_dense(s).map_err(|_| CORRUPTED)?;
        }
        registers.store(s);
        hll::invalidate_cache(s);
        Ok(())
    };
    match ctx.keys.get_mut(db, args[1]) {
        Some(mut entry) => write(hll_mut(&mut entry)?)?,
        None => {
            let mut s = hll::new_sparse();
            write(&mut s)?;
            ctx.keys
                .set(db, args[1], Value::Str(s, StrEncoding::Raw), None);
        }
    }
    Ok(Reply::Ok)
}
