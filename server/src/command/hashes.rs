//! Hash commands: HSET HSETNX HGET HMGET HMSET HGETALL HDEL HEXISTS HLEN HSTRLEN HKEYS HVALS
//! HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN, and Redis 7.4's field expiry: HEXPIRE HPEXPIRE
//! HEXPIREAT HPEXPIREAT HTTL HPTTL HEXPIRETIME HPEXPIRETIME HPERSIST.
//!
//! Reads see a hash as it is at the command's time ([`Live`]: fields past their deadline
//! are skipped); a write first reclaims such fields (notifying `hexpired`, see
//! `store::field_expiry`), then makes its change.
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
use crate::store::hash::{Hash, Live};
use crate::store::{DbIndex, EntryMut, Store, Value, ValueRef};

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
        .doc(GROUP, "2.8.0", "Walks the fields and values of a hash a few at a time with a cursor.", "O(1) per call; O(N) for a whole walk over N fields.", "key cursor:int [MATCH pattern:pattern] [COUNT count:int] [NOVALUES]").tips(&["nondeterministic_output"]),
    Command::new("hexpire", -6, WRITE | DENYOOM | FAST, KeySpec::ONE, hexpire)
        .doc(GROUP, "7.4.0", "Gives hash fields a time to live in seconds.", "O(N) for N fields named.", "key seconds:int [condition=NX | XX | GT | LT] FIELDS (fields=numfields:int field...)").notifies(class::HASH, "hexpire"),
    Command::new("hpexpire", -6, WRITE | DENYOOM | FAST, KeySpec::ONE, hpexpire)
        .doc(GROUP, "7.4.0", "Gives hash fields a time to live in milliseconds.", "O(N) for N fields named.", "key milliseconds:int [condition=NX | XX | GT | LT] FIELDS (fields=numfields:int field...)").notifies(class::HASH, "hexpire"),
    Command::new("hexpireat", -6, WRITE | DENYOOM | FAST, KeySpec::ONE, hexpireat)
        .doc(GROUP, "7.4.0", "Makes hash fields expire at a Unix time in seconds.", "O(N) for N fields named.", "key unix-time-seconds:time [condition=NX | XX | GT | LT] FIELDS (fields=numfields:int field...)").notifies(class::HASH, "hexpire"),
    Command::new("hpexpireat", -6, WRITE | DENYOOM | FAST, KeySpec::ONE, hpexpireat)
        .doc(GROUP, "7.4.0", "Makes hash fields expire at a Unix time in milliseconds.", "O(N) for N fields named.", "key unix-time-milliseconds:time [condition=NX | XX | GT | LT] FIELDS (fields=numfields:int field...)").notifies(class::HASH, "hexpire"),
    Command::new("httl", -5, READONLY | FAST, KeySpec::ONE, httl)
        .doc(GROUP, "7.4.0", "Gives the seconds hash fields have left to live.", "O(N) for N fields named.", "key FIELDS (fields=numfields:int field...)").tips(&["nondeterministic_output"]),
    Command::new("hpttl", -5, READONLY | FAST, KeySpec::ONE, hpttl)
        .doc(GROUP, "7.4.0", "Gives the milliseconds hash fields have left to live.", "O(N) for N fields named.", "key FIELDS (fields=numfields:int field...)").tips(&["nondeterministic_output"]),
    Command::new("hexpiretime", -5, READONLY | FAST, KeySpec::ONE, hexpiretime)
        .doc(GROUP, "7.4.0", "Gives the Unix time in seconds at which hash fields expire.", "O(N) for N fields named.", "key FIELDS (fields=numfields:int field...)"),
    Command::new("hpexpiretime", -5, READONLY | FAST, KeySpec::ONE, hpexpiretime)
        .doc(GROUP, "7.4.0", "Gives the Unix time in milliseconds at which hash fields expire.", "O(N) for N fields named.", "key FIELDS (fields=numfields:int field...)"),
    Command::new("hpersist", -5, WRITE | FAST, KeySpec::ONE, hpersist)
        .doc(GROUP, "7.4.0", "Makes hash fields live forever again.", "O(N) for N fields named.", "key FIELDS (fields=numfields:int field...)").notifies(class::HASH, "hpersist"),
];

/// The hash in a found entry, whatever its deadlines, or WRONGTYPE.
fn as_hash<'e>(entry: &'e EntryMut<'_>) -> Result<&'e Hash, Error> {
    match entry.value() {
        ValueRef::Hash(hash) => Ok(hash),
        _ => Err(Error::WrongType),
    }
}

/// The hash in a found entry as a reader sees it at `now`, or WRONGTYPE.
fn live<'e>(entry: &'e EntryMut<'_>, now: u64) -> Result<Live<'e>, Error> {
    Ok(as_hash(entry)?.live(now))
}

/// The hash in a found entry, to change it (which marks the key changed), or WRONGTYPE
/// (leaving it unmarked). Fields past their deadline at `now` are removed first; their
/// number is added to `expired`, for [`expired_fields`] once the entry is let go.
fn as_hash_mut<'e>(
    entry: &'e mut EntryMut<'_>,
    now: u64,
    expired: &mut usize,
) -> Result<&'e mut Hash, Error> {
    as_hash(entry)?;
    match entry.value_mut() {
        Value::Hash(hash) => {
            *expired += hash.reclaim(now);
            Ok(hash)
        }
        _ => Err(Error::WrongType),
    }
}

/// Notes that a write removed `count` fields of `key` past their deadline (see
/// [`as_hash_mut`]).
fn expired_fields(ctx: &mut Ctx<'_, '_>, db: DbIndex, key: &[u8], count: usize) {
    if count > 0 {
        crate::store::field_expiry::note_reclaimed(ctx.keys, db, key, count);
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
    let (db, now, mut expired) = (ctx.db(), ctx.keys.now, 0);
    if let Some(mut entry) = ctx.keys.get_mut(db, args[1]) {
        let hash = as_hash_mut(&mut entry, now, &mut expired)?;
        let mut added = 0;
        for (field, value) in pairs {
            added += usize::from(hash.insert(field, value));
        }
        expired_fields(ctx, db, args[1], expired);
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
    let (db, now, mut expired) = (ctx.db(), ctx.keys.now, 0);
    if let Some(mut entry) = ctx.keys.get_mut(db, key) {
        if live(&entry, now)?.contains(field) {
            return Ok(Reply::Int(0));
        }
        as_hash_mut(&mut entry, now, &mut expired)?.insert(field, value);
        expired_fields(ctx, db, key, expired);
        return Ok(Reply::Int(1));
    }
    create(ctx, key, [(field, value)]);
    Ok(Reply::Int(1))
}

fn hget(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (db, now) = (ctx.db(), ctx.keys.now);
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Null);
    };
    Ok(live(&entry, now)?
        .get(args[2])
        .map_or(Reply::Null, Reply::bulk))
}

fn hmget(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (db, now) = (ctx.db(), ctx.keys.now);
    let fields = &args[2..];
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Array(vec![Reply::Null; fields.len()]));
    };
    let hash = live(&entry, now)?;
    Ok(Reply::Array(
        fields
            .iter()
            .map(|field| hash.get(field).map_or(Reply::Null, Reply::bulk))
            .collect(),
    ))
}

fn hgetall(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (db, now) = (ctx.db(), ctx.keys.now);
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Map(Vec::new()));
    };
    Ok(Reply::Map(
        live(&entry, now)?
            .iter()
            .map(|(field, value)| (Reply::bulk(field), Reply::bulk(value)))
            .collect(),
    ))
}

/// HKEYS (`values` false) and HVALS (`values` true).
fn list_side(ctx: &mut Ctx<'_, '_>, key: &[u8], values: bool) -> CommandResult {
    let (db, now) = (ctx.db(), ctx.keys.now);
    let Some(entry) = ctx.keys.get(db, key) else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(Reply::Array(
        live(&entry, now)?
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
    let (db, now, mut expired) = (ctx.db(), ctx.keys.now, 0);
    let (deleted, now_empty) = {
        let Some(mut entry) = ctx.keys.get_mut(db, key) else {
            return Ok(Reply::Int(0));
        };
        let hash = live(&entry, now)?;
        if !fields.iter().any(|field| hash.contains(field)) {
            return Ok(Reply::Int(0));
        }
        let hash = as_hash_mut(&mut entry, now, &mut expired)?;
        let deleted = fields.iter().filter(|field| hash.remove(field)).count();
        (deleted, hash.is_empty())
    };
    expired_fields(ctx, db, key, expired);
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
    found: impl FnOnce(Live<'_>) -> Reply,
) -> CommandResult {
    let (db, now) = (ctx.db(), ctx.keys.now);
    match ctx.keys.get(db, key) {
        Some(entry) => Ok(found(live(&entry, now)?)),
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
    let (db, now, mut expired) = (ctx.db(), ctx.keys.now, 0);
    if let Some(mut entry) = ctx.keys.get_mut(db, key) {
        let current = match live(&entry, now)?.get(field) {
            Some(text) => crate::number::parse_int(text)
                .ok_or(Error::msg("ERR hash value is not an integer"))?,
            None => 0,
        };
        let next = current.checked_add(increment).ok_or(Error::Overflow)?;
        as_hash_mut(&mut entry, now, &mut expired)?
            .insert_keeping_deadline(field, digits.format(next).as_bytes());
        expired_fields(ctx, db, key, expired);
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
    let (db, now, mut expired) = (ctx.db(), ctx.keys.now, 0);
    if let Some(mut entry) = ctx.keys.get_mut(db, key) {
        // The increment is valid, so a parse failure can only be the stored value's.
        let sum = match crate::number::incr_by_float(live(&entry, now)?.get(field), increment) {
            Err(Error::NotFloat) => Err(Error::msg("ERR hash value is not a float")),
            other => other,
        }?;
        as_hash_mut(&mut entry, now, &mut expired)?.insert_keeping_deadline(field, sum.as_bytes());
        expired_fields(ctx, db, key, expired);
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
    let (db, now) = (ctx.db(), ctx.keys.now);
    let mut rng = rand::rng();
    if args.len() == 2 {
        let Some(entry) = ctx.keys.get(db, args[1]) else {
            return Ok(Reply::Null);
        };
        let picked = live(&entry, now)?.random_pair(&mut rng);
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
    let hash = live(&entry, now)?;
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
    let (db, now) = (ctx.db(), ctx.keys.now);
    // A missing key is an empty, finished walk, whatever the options.
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(scan::reply(0, Vec::new()));
    };
    let hash = live(&entry, now)?;
    // NOVALUES (Redis 7.4) may come anywhere among the options.
    let mut options: Vec<&[u8]> = args[3..].to_vec();
    let before = options.len();
    options.retain(|option| !is(option, "novalues"));
    let with_values = options.len() == before;
    let options = ScanOptions::parse(&options, false)?;
    let mut found = Vec::new();
    let next = hash.scan(cursor, options.count, &mut found);
    let items = found
        .into_iter()
        .filter(|(field, _)| options.matches(field))
        .flat_map(|(field, value)| {
            let value = with_values.then(|| Reply::bulk(value));
            std::iter::once(Reply::bulk(field)).chain(value)
        })
        .collect();
    Ok(scan::reply(next, items))
}

/// What HEXPIRE and its kin answer per field (Redis's codes).
mod code {
    /// No such field (or no such key).
    pub(super) const NO_FIELD: i64 = -2;
    /// The field has no deadline (HTTL…, HPERSIST).
    pub(super) const NO_TTL: i64 = -1;
    /// The NX/XX/GT/LT condition was not met.
    pub(super) const NOT_MET: i64 = 0;
    /// Done.
    pub(super) const OK: i64 = 1;
    /// The time was already past: the field was deleted.
    pub(super) const DELETED: i64 = 2;
}

/// Latest deadline a field may be given (Redis's `HFE_MAX_ABS_TIME_MSEC`: 2^46 - 1 ms,
/// about the year 4199).
const MAX_FIELD_DEADLINE: i64 = (1 << 46) - 1;

/// Reads `FIELDS numfields field...` starting at `at`: the fields, or Redis's errors.
/// `count_error` is the text for a count that is not a positive integer (it differs between
/// the setters and the readers).
fn named_fields<'a>(
    args: &'a [&'a [u8]],
    at: usize,
    count_error: &'static str,
) -> Result<&'a [&'a [u8]], Error> {
    let misplaced =
        || Error::msg("ERR Mandatory argument FIELDS is missing or not at the right position");
    if !args.get(at).is_some_and(|arg| is(arg, "fields")) {
        return Err(misplaced());
    }
    let count = args.get(at + 1).ok_or_else(misplaced)?;
    let count = match parse::int(count) {
        Ok(n) if n >= 1 => n,
        _ => return Err(Error::msg(count_error)),
    };
    let fields = &args[at + 2..];
    if usize::try_from(count).ok() != Some(fields.len()) {
        return Err(Error::msg(
            "ERR The `numfields` parameter must match the number of arguments",
        ));
    }
    Ok(fields)
}

/// HEXPIRE, HPEXPIRE, HEXPIREAT and HPEXPIREAT: `base` is the time a relative argument
/// counts from (0 for the absolute forms), `unit` 1000 for seconds and 1 for milliseconds.
fn set_field_expiry(
    ctx: &mut Ctx<'_, '_>,
    args: &[&[u8]],
    name: &str,
    relative: bool,
    unit: i64,
) -> CommandResult {
    let (key, now) = (args[1], ctx.keys.now);
    let db = ctx.db();
    // Redis's order: the key's type, the time, the condition, FIELDS.
    if let Some(entry) = ctx.keys.get_mut(db, key) {
        as_hash(&entry)?;
    }
    let time = parse::int(args[2])?;
    if time < 0 {
        return Err(Error::msg("ERR invalid expire time, must be >= 0"));
    }
    let out_of_range = || Error::err(format!("invalid expire time in '{name}' command"));
    if unit == 1000 && time > MAX_FIELD_DEADLINE / 1000 {
        return Err(out_of_range());
    }
    let time = time * unit;
    let base = if relative {
        i64::try_from(now).unwrap_or(i64::MAX)
    } else {
        0
    };
    if time > MAX_FIELD_DEADLINE - base {
        return Err(out_of_range());
    }
    let at = (time + base) as u64;
    let condition = args[3].to_ascii_lowercase();
    let condition = match &condition[..] {
        b"nx" | b"xx" | b"gt" | b"lt" => Some(condition),
        _ => None,
    };
    let fields = named_fields(
        args,
        if condition.is_some() { 4 } else { 3 },
        "ERR Parameter `numFields` should be greater than 0",
    )?;
    // What each field gets, in order (a field named twice sees its first outcome), decided
    // on the hash as readers see it.
    let outcomes: Vec<i64> = {
        let Some(entry) = ctx.keys.get_mut(db, key) else {
            return Ok(Reply::Array(vec![Reply::Int(code::NO_FIELD); fields.len()]));
        };
        let hash = as_hash(&entry)?;
        let view = hash.live(now);
        // Fields this command already decided: their new deadline, `None` once deleted.
        let mut decided: Vec<(&[u8], Option<u64>)> = Vec::new();
        fields
            .iter()
            .map(|&field| {
                let state = match decided.iter().rev().find(|(f, _)| *f == field) {
                    Some(&(_, deadline)) => deadline.map(Some),
                    None => view.contains(field).then(|| hash.deadline(field)),
                };
                let Some(old) = state else {
                    return code::NO_FIELD;
                };
                let met = match (condition.as_deref(), old) {
                    (Some(b"nx"), Some(_)) | (Some(b"xx" | b"gt"), None) => false,
                    (Some(b"gt"), Some(old)) => at > old,
                    (Some(b"lt"), Some(old)) => at < old,
                    _ => true,
                };
                let outcome = match () {
                    _ if !met => code::NOT_MET,
                    _ if at <= now => code::DELETED,
                    _ => code::OK,
                };
                match outcome {
                    code::OK => decided.push((field, Some(at))),
                    code::DELETED => decided.push((field, None)),
                    _ => {}
                }
                outcome
            })
            .collect()
    };
    let replies = Reply::Array(outcomes.iter().map(|&c| Reply::Int(c)).collect());
    if !outcomes
        .iter()
        .any(|&c| c == code::OK || c == code::DELETED)
    {
        return Ok(replies);
    }
    // Redis notifies `hdel` instead of `hexpire` when a time already past deleted fields.
    if outcomes.contains(&code::DELETED) {
        ctx.keys.usual_event(Some((class::HASH, "hdel")));
    }
    let (mut expired, mut updated, mut deleted) = (0, false, 0);
    let now_empty = {
        let Some(mut entry) = ctx.keys.get_mut(db, key) else {
            return Ok(replies);
        };
        let hash = as_hash_mut(&mut entry, now, &mut expired)?;
        for (field, &outcome) in fields.iter().zip(&outcomes) {
            if outcome == code::OK {
                hash.set_deadline(field, at);
                updated = true;
            } else if outcome == code::DELETED {
                deleted += u64::from(hash.remove(field));
            }
        }
        hash.is_empty()
    };
    expired_fields(ctx, db, key, expired);
    let shard = ctx
        .keys
        .shard(db, Store::shard_of(ctx.keys.store().hash(key)));
    // Fields a past time deleted count as expired too, as in Redis.
    shard.stats.expired_fields += deleted;
    if updated && !now_empty {
        shard.expect_field_expiry(key, at);
    }
    if now_empty {
        ctx.keys.remove_emptied(db, key);
    }
    Ok(replies)
}

fn hexpire(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    set_field_expiry(ctx, args, "hexpire", true, 1000)
}

fn hpexpire(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    set_field_expiry(ctx, args, "hpexpire", true, 1)
}

fn hexpireat(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    set_field_expiry(ctx, args, "hexpireat", false, 1000)
}

fn hpexpireat(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    set_field_expiry(ctx, args, "hpexpireat", false, 1)
}

/// HTTL, HPTTL, HEXPIRETIME and HPEXPIRETIME: per field, the deadline as `answer` turns it
/// into a reply (from the deadline in ms), -1 without one, -2 for a missing field.
fn field_expiry(
    ctx: &mut Ctx<'_, '_>,
    args: &[&[u8]],
    answer: impl Fn(u64, u64) -> i64,
) -> CommandResult {
    let (key, db, now) = (args[1], ctx.db(), ctx.keys.now);
    let entry = ctx.keys.lookup(db, key, crate::store::locked::Access::Peek);
    if let Some(entry) = &entry {
        as_hash(entry)?;
    }
    let fields = named_fields(args, 2, "ERR Number of fields must be a positive integer")?;
    let Some(entry) = entry else {
        return Ok(Reply::Array(vec![Reply::Int(code::NO_FIELD); fields.len()]));
    };
    let hash = as_hash(&entry)?;
    let view = hash.live(now);
    Ok(Reply::Array(
        fields
            .iter()
            .map(|field| {
                Reply::Int(match (view.contains(field), hash.deadline(field)) {
                    (false, _) => code::NO_FIELD,
                    (true, None) => code::NO_TTL,
                    (true, Some(at)) => answer(at, now),
                })
            })
            .collect(),
    ))
}

fn httl(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    field_expiry(ctx, args, |at, now| ((at + 999 - now) / 1000) as i64)
}

fn hpttl(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    field_expiry(ctx, args, |at, now| (at - now) as i64)
}

fn hexpiretime(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    field_expiry(ctx, args, |at, _| at.div_ceil(1000) as i64)
}

fn hpexpiretime(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    field_expiry(ctx, args, |at, _| at as i64)
}

fn hpersist(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (key, db, now) = (args[1], ctx.db(), ctx.keys.now);
    if let Some(entry) = ctx.keys.get_mut(db, key) {
        as_hash(&entry)?;
    }
    let fields = named_fields(args, 2, "ERR Number of fields must be a positive integer")?;
    let mut expired = 0;
    let replies: Vec<i64> = {
        let Some(mut entry) = ctx.keys.get_mut(db, key) else {
            return Ok(Reply::Array(vec![Reply::Int(code::NO_FIELD); fields.len()]));
        };
        let hash = as_hash(&entry)?;
        let view = hash.live(now);
        // A field named twice has no deadline left the second time.
        let mut persisted: Vec<&[u8]> = Vec::new();
        let replies: Vec<i64> = fields
            .iter()
            .map(
                |&field| match (view.contains(field), hash.deadline(field)) {
                    (false, _) => code::NO_FIELD,
                    (true, None) => code::NO_TTL,
                    (true, Some(_)) if persisted.contains(&field) => code::NO_TTL,
                    (true, Some(_)) => {
                        persisted.push(field);
                        code::OK
                    }
                },
            )
            .collect();
        if replies.contains(&code::OK) {
            let hash = as_hash_mut(&mut entry, now, &mut expired)?;
            for (field, &reply) in fields.iter().zip(&replies) {
                if reply == code::OK {
                    hash.clear_deadline(field);
                }
            }
        }
        replies
    };
    expired_fields(ctx, db, key, expired);
    Ok(Reply::Array(replies.into_iter().map(Reply::Int).collect()))
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
