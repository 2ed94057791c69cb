//! Hash commands: HSET HSETNX HGET HMGET HMSET HGETALL HDEL HEXISTS HLEN HSTRLEN HKEYS HVALS
//! HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN.
//!
//! Handlers read and check everything before changing anything, so a refused command (a
//! wrong type, a value that is not a number, an HSETNX on an existing field, an HDEL of
//! missing fields) leaves the key untouched, its version included (`WATCH` compares it). A
//! hash left without fields is deleted, as Redis deletes it. The representation is
//! `store::hash`.

use super::parse::{self, is};
use super::scan::{self, ScanOptions};
use super::{Command, Ctx, KeySpec, flag::*};
use crate::error::{CommandResult, Error};
use crate::protocol::{Protocol, Reply};
use crate::store::effects::class;
use crate::store::hash::Hash;
use crate::store::{EntryMut, Value, ValueRef};

const GROUP: &str = "hash";

pub const COMMANDS: &[Command] = &[
    Command::new("hset", -4, WRITE | DENYOOM | FAST, KeySpec::ONE, hset)
        .doc(GROUP, "2.0.0", "Sets hash fields to values, creating the hash if needed, and counts the fields that were new.", "O(1) per field set.", "key (data=field value)...").notifies(class::HASH, "hset"),
    Command::new("hsetnx", 4, WRITE | DENYOOM | FAST, KeySpec::ONE, hsetnx)
        .doc(GROUP, "2.0.0", "Sets a hash field only when the hash does not have it yet.", "O(1)", "key field value").notifies(class::HASH, "hset"),
    Command::new("hget", 3, READONLY | FAST, KeySpec::ONE, hget)
        .doc(GROUP, "2.0.0", "Gives the value of one hash field.", "O(1)", "key field"),
    Command::new("hmget", -3, READONLY | FAST, KeySpec::ONE, hmget)
        .doc(GROUP, "2.0.0", "Gives the values of several hash fields, nil for those missing.", "O(N) for N fields asked for.", "key field..."),
    Command::new("hmset", -4, WRITE | DENYOOM | FAST, KeySpec::ONE, hmset)
        .doc(GROUP, "2.0.0", "Sets hash fields to values and answers OK (the older form of HSET).", "O(1) per field set.", "key (data=field value)...").notifies(class::HASH, "hset"),
    Command::new("hgetall", 2, READONLY, KeySpec::ONE, hgetall)
        .doc(GROUP, "2.0.0", "Gives every field of a hash with its value.", "O(N) for a hash of N fields.", "key").tips(&["nondeterministic_output_order"]),
    Command::new("hdel", -3, WRITE | FAST, KeySpec::ONE, hdel)
        .doc(GROUP, "2.0.0", "Removes fields from a hash and counts those that were there; a hash left empty is deleted.", "O(N) for N fields removed.", "key field...").notifies(class::HASH, "hdel"),
    Command::new("hexists", 3, READONLY | FAST, KeySpec::ONE, hexists)
        .doc(GROUP, "2.0.0", "Tells whether a hash has a field.", "O(1)", "key field"),
    Command::new("hlen", 2, READONLY | FAST, KeySpec::ONE, hlen)
        .doc(GROUP, "2.0.0", "Counts the fields of a hash.", "O(1)", "key"),
    Command::new("hstrlen", 3, READONLY | FAST, KeySpec::ONE, hstrlen)
        .doc(GROUP, "3.2.0", "Gives the length in bytes of a hash field's value.", "O(1)", "key field"),
    Command::new("hkeys", 2, READONLY, KeySpec::ONE, hkeys)
        .doc(GROUP, "2.0.0", "Lists the fields of a hash.", "O(N) for a hash of N fields.", "key").tips(&["nondeterministic_output_order"]),
    Command::new("hvals", 2, READONLY, KeySpec::ONE, hvals)
        .doc(GROUP, "2.0.0", "Lists the values of a hash.", "O(N) for a hash of N fields.", "key").tips(&["nondeterministic_output_order"]),
    Command::new("hincrby", 4, WRITE | DENYOOM | FAST, KeySpec::ONE, hincrby)
        .doc(GROUP, "2.0.0", "Adds an integer to an integer hash value; a missing field counts as 0.", "O(1)", "key field increment:int").notifies(class::HASH, "hincrby"),
    Command::new("hincrbyfloat", 4, WRITE | DENYOOM | FAST, KeySpec::ONE, hincrbyfloat)
        .doc(GROUP, "2.6.0", "Adds a decimal number to a numeric hash value; a missing field counts as 0.", "O(1)", "key field increment:double").notifies(class::HASH, "hincrbyfloat"),
    Command::new("hrandfield", -2, READONLY, KeySpec::ONE, hrandfield)
        .doc(GROUP, "6.2.0", "Picks random fields of a hash, distinct ones for a positive count, possibly repeated ones for a negative count, optionally with their values.", "O(N) for N fields answered.", "key [options=count:int [WITHVALUES]]").tips(&["nondeterministic_output"]),
    Command::new("hscan", -3, READONLY, KeySpec::ONE, hscan)
        .doc(GROUP, "2.8.0", "Walks the fields and values of a hash a few at a time with a cursor.", "O(1) per call; O(N) for a whole walk over N fields.", "key cursor:int [MATCH pattern:pattern] [COUNT count:int]").tips(&["nondeterministic_output"]),
];

/// The hash in a found entry, or WRONGTYPE.
fn as_hash<'e>(entry: &'e EntryMut<'_>) -> Result<&'e Hash, Error> {
    match entry.value() {
        ValueRef::Hash(hash) => Ok(hash),
        _ => Err(Error::WrongType),
    }
}

/// The hash in a found entry, to change it (which marks the key changed), or WRONGTYPE
/// (leaving it unmarked).
fn as_hash_mut<'e>(entry: &'e mut EntryMut<'_>) -> Result<&'e mut Hash, Error> {
    as_hash(entry)?;
    match entry.value_mut() {
        Value::Hash(hash) => Ok(hash),
        _ => Err(Error::WrongType),
    }
}

/// Stores a new hash at `key` holding the given pairs; answers how many fields it has.
fn create<'a>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> usize {
    let mut hash = Hash::new();
    for (field, value) in pairs {
        hash.insert(field, value);
    }
    let len = hash.len();
    let db = ctx.db();
    ctx.keys.set(db, key, Value::Hash(hash), None);
    len
}

/// HSET and HMSET: sets the field/value pairs after the key; answers how many were new.
fn set_pairs(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], name: &str) -> Result<usize, Error> {
    // The name, the key, then pairs: an odd count is a field without its value.
    if !args.len().is_multiple_of(2) {
        return Err(Error::err(format!(
            "wrong number of arguments for '{name}' command"
        )));
    }
    let pairs = args[2..].chunks_exact(2).map(|pair| (pair[0], pair[1]));
    let db = ctx.db();
    if let Some(mut entry) = ctx.keys.get_mut(db, args[1]) {
        let hash = as_hash_mut(&mut entry)?;
        let mut added = 0;
        for (field, value) in pairs {
            added += usize::from(hash.insert(field, value));
        }
        return Ok(added);
    }
    // A field named twice counts once.
    Ok(create(ctx, args[1], pairs))
}

fn hset(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    Ok(Reply::Int(set_pairs(ctx, args, "hset")? as i64))
}

fn hmset(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    set_pairs(ctx, args, "hmset")?;
    Ok(Reply::Ok)
}

fn hsetnx(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (key, field, value) = (args[1], args[2], args[3]);
    let db = ctx.db();
    if let Some(mut entry) = ctx.keys.get_mut(db, key) {
        if as_hash(&entry)?.contains(field) {
            return Ok(Reply::Int(0));
        }
        as_hash_mut(&mut entry)?.insert(field, value);
        return Ok(Reply::Int(1));
    }
    create(ctx, key, [(field, value)]);
    Ok(Reply::Int(1))
}

fn hget(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Null);
    };
    Ok(as_hash(&entry)?
        .get(args[2])
        .map_or(Reply::Null, Reply::bulk))
}

fn hmget(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let fields = &args[2..];
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Array(vec![Reply::Null; fields.len()]));
    };
    let hash = as_hash(&entry)?;
    Ok(Reply::Array(
        fields
            .iter()
            .map(|field| hash.get(field).map_or(Reply::Null, Reply::bulk))
            .collect(),
    ))
}

fn hgetall(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Map(Vec::new()));
    };
    Ok(Reply::Map(
        as_hash(&entry)?
            .iter()
            .map(|(field, value)| (Reply::bulk(field), Reply::bulk(value)))
            .collect(),
    ))
}

/// HKEYS (`values` false) and HVALS (`values` true).
fn list_side(ctx: &mut Ctx<'_, '_>, key: &[u8], values: bool) -> CommandResult {
    let db = ctx.db();
    let Some(entry) = ctx.keys.get(db, key) else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(Reply::Array(
        as_hash(&entry)?
            .iter()
            .map(|(field, value)| Reply::bulk(if values { value } else { field }))
            .collect(),
    ))
}

fn hkeys(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    list_side(ctx, args[1], false)
}

fn hvals(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    list_side(ctx, args[1], true)
}

fn hdel(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (key, fields) = (args[1], &args[2..]);
    let db = ctx.db();
    let (deleted, now_empty) = {
        let Some(mut entry) = ctx.keys.get_mut(db, key) else {
            return Ok(Reply::Int(0));
        };
        let hash = as_hash(&entry)?;
        if !fields.iter().any(|field| hash.contains(field)) {
            return Ok(Reply::Int(0));
        }
        let hash = as_hash_mut(&mut entry)?;
        let deleted = fields.iter().filter(|field| hash.remove(field)).count();
        (deleted, hash.is_empty())
    };
    if now_empty {
        ctx.keys.remove_emptied(db, key);
    }
    Ok(Reply::Int(deleted as i64))
}

/// What a read of one field answers with: `missing` when the key is, else `found` of the
/// hash (WRONGTYPE for another type).
fn read_field(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    missing: Reply,
    found: impl FnOnce(&Hash) -> Reply,
) -> CommandResult {
    let db = ctx.db();
    match ctx.keys.get(db, key) {
        Some(entry) => Ok(found(as_hash(&entry)?)),
        None => Ok(missing),
    }
}

fn hexists(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    read_field(ctx, args[1], Reply::Int(0), |hash| {
        Reply::Int(i64::from(hash.contains(args[2])))
    })
}

fn hlen(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    read_field(ctx, args[1], Reply::Int(0), |hash| {
        Reply::Int(hash.len() as i64)
    })
}

fn hstrlen(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    read_field(ctx, args[1], Reply::Int(0), |hash| {
        Reply::Int(hash.get(args[2]).map_or(0, |v| v.len() as i64))
    })
}

fn hincrby(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (key, field) = (args[1], args[2]);
    let increment = parse::int(args[3])?;
    let mut digits = itoa::Buffer::new();
    let db = ctx.db();
    if let Some(mut entry) = ctx.keys.get_mut(db, key) {
        let current = match as_hash(&entry)?.get(field) {
            Some(text) => crate::number::parse_int(text)
                .ok_or(Error::msg("ERR hash value is not an integer"))?,
            None => 0,
        };
        let next = current.checked_add(increment).ok_or(Error::Overflow)?;
        as_hash_mut(&mut entry)?.insert(field, digits.format(next).as_bytes());
        return Ok(Reply::Int(next));
    }
    create(ctx, key, [(field, digits.format(increment).as_bytes())]);
    Ok(Reply::Int(increment))
}

fn hincrbyfloat(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (key, field, increment) = (args[1], args[2], args[3]);
    // The increment alone: not a number, or an infinite one (refused before any lookup).
    match crate::number::incr_by_float(None, increment) {
        Ok(_) => {}
        Err(Error::NotFloat) => return Err(Error::NotFloat),
        Err(_) => return Err(Error::msg("ERR value is NaN or Infinity")),
    }
    let db = ctx.db();
    if let Some(mut entry) = ctx.keys.get_mut(db, key) {
        // The increment is valid, so a parse failure can only be the stored value's.
        let sum = match crate::number::incr_by_float(as_hash(&entry)?.get(field), increment) {
            Err(Error::NotFloat) => Err(Error::msg("ERR hash value is not a float")),
            other => other,
        }?;
        as_hash_mut(&mut entry)?.insert(field, sum.as_bytes());
        return Ok(Reply::bulk_string(sum));
    }
    let sum = crate::number::incr_by_float(None, increment)?;
    create(ctx, key, [(field, sum.as_bytes())]);
    Ok(Reply::bulk_string(sum))
}

/// HRANDFIELD's answer to a count: the fields, or with `values` the fields and values (a flat
/// array in RESP2, an array of pairs in RESP3).
fn picked_reply(picked: Vec<(&[u8], &[u8])>, values: bool, protocol: Protocol) -> Reply {
    let items = if !values {
        picked.into_iter().map(|(f, _)| Reply::bulk(f)).collect()
    } else if protocol == Protocol::Resp3 {
        picked
            .into_iter()
            .map(|(f, v)| Reply::Array(vec![Reply::bulk(f), Reply::bulk(v)]))
            .collect()
    } else {
        picked
            .into_iter()
            .flat_map(|(f, v)| [Reply::bulk(f), Reply::bulk(v)])
            .collect()
    };
    Reply::Array(items)
}

fn hrandfield(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let mut rng = rand::rng();
    if args.len() == 2 {
        let Some(entry) = ctx.keys.get(db, args[1]) else {
            return Ok(Reply::Null);
        };
        let picked = as_hash(&entry)?.random_pair(&mut rng);
        return Ok(picked.map_or(Reply::Null, |(field, _)| Reply::bulk(field)));
    }
    // Checked in Redis's order: the count, the options, then the key.
    let count = parse::int(args[2])?;
    if count == i64::MIN {
        return Err(Error::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let values = match args.get(3) {
        None => false,
        Some(option) if args.len() == 4 && is(option, "withvalues") => true,
        Some(_) => return Err(Error::Syntax),
    };
    // Twice as many replies would overflow the reply length; repeated picks are capped.
    if (values && count.unsigned_abs() > (i64::MAX / 2) as u64)
        || (count < 0 && count.unsigned_abs() > parse::MAX_RANDOM_REPEATS)
    {
        return Err(Error::msg("ERR value is out of range"));
    }
    let protocol = ctx.client.protocol;
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let hash = as_hash(&entry)?;
    let wanted = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let picked = if count >= 0 {
        hash.random_distinct(&mut rng, wanted)
    } else {
        hash.random_pairs(&mut rng, wanted)
    };
    Ok(picked_reply(picked, values, protocol))
}

fn hscan(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let cursor = scan::cursor(args[2])?;
    let db = ctx.db();
    // A missing key is an empty, finished walk, whatever the options.
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(scan::reply(0, Vec::new()));
    };
    let hash = as_hash(&entry)?;
    let options = ScanOptions::parse(&args[3..], false)?;
    let mut found = Vec::new();
    let next = hash.scan(cursor, options.count, &mut found);
    let items = found
        .into_iter()
        .filter(|(field, _)| options.matches(field))
        .flat_map(|(field, value)| [Reply::bulk(field), Reply::bulk(value)])
        .collect();
    Ok(scan::reply(next, items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hash_command_has_a_valid_syntax_line() {
        for command in COMMANDS {
            assert!(
                super::super::docs::parse_syntax(command.doc.args).is_ok(),
                "{}",
                command.name
            );
            assert_eq!(command.doc.group, "hash");
        }
    }
}
