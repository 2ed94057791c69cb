//! Set commands: SADD SREM SCARD SMEMBERS SISMEMBER SMISMEMBER SPOP SRANDMEMBER SMOVE, the
//! set algebra (SINTER SUNION SDIFF, their STORE forms, SINTERCARD) and SSCAN.
//!
//! Handlers check everything before changing anything, and leave a set alone (its version
//! included, which `WATCH` compares) when a command would not change it. A set left without
//! members is deleted, as Redis deletes it. The representation is `store::set`.
//!
//! A lookup borrows the locked view, so a command holds one set at a time. The multi-key
//! commands therefore go in passes: a first pass looks every source up once, as Redis does
//! (type checks, keyspace hits and misses), and notes its size and encoding; then members
//! are copied out of one set a chunk at a time and checked against the others through
//! lookups that count nothing.

use super::parse::{self, is};
use super::scan::{self, ScanOptions};
use super::{Command, Ctx, KeySpec, flag::*};
use crate::error::{CommandResult, Error};
use crate::protocol::Reply;
use crate::store::effects::class;
use crate::store::locked::Access;
use crate::store::set::{Member, MemberBuf, Set};
use crate::store::{Value, ValueRef};
use bytes::Bytes;

const GROUP: &str = "set";

pub const COMMANDS: &[Command] = &[
    Command::new("sadd", -3, WRITE | DENYOOM | FAST, KeySpec::ONE, sadd)
        .doc(GROUP, "1.0.0", "Puts members into a set, creating it if needed, and counts those that were new.", "O(1) per member added.", "key member...").notifies(class::SET, "sadd"),
    Command::new("srem", -3, WRITE | FAST, KeySpec::ONE, srem)
        .doc(GROUP, "1.0.0", "Takes members out of a set and counts those that were there; a set left empty is deleted.", "O(1) per member removed.", "key member...").notifies(class::SET, "srem"),
    Command::new("scard", 2, READONLY | FAST, KeySpec::ONE, scard)
        .doc(GROUP, "1.0.0", "Counts the members of a set.", "O(1)", "key"),
    Command::new("smembers", 2, READONLY, KeySpec::ONE, smembers)
        .doc(GROUP, "1.0.0", "Lists every member of a set.", "O(N) for a set of N members.", "key").tips(&["nondeterministic_output_order"]),
    Command::new("sismember", 3, READONLY | FAST, KeySpec::ONE, sismember)
        .doc(GROUP, "1.0.0", "Tells whether a value is a member of a set.", "O(1)", "key member"),
    Command::new("smismember", -3, READONLY | FAST, KeySpec::ONE, smismember)
        .doc(GROUP, "6.2.0", "Tells, for each of several values, whether it is a member of a set.", "O(N) for N values asked about.", "key member..."),
    Command::new("spop", -2, WRITE | FAST, KeySpec::ONE, spop)
        .doc(GROUP, "1.0.0", "Removes random members from a set and answers them: one without a count, up to count distinct ones with it.", "O(1) without a count, else O(N) for N members removed.", "key [count:int]").notifies(class::SET, "spop").tips(&["nondeterministic_output"]),
    Command::new("srandmember", -2, READONLY, KeySpec::ONE, srandmember)
        .doc(GROUP, "1.0.0", "Picks random members of a set without removing them: distinct ones for a positive count, possibly repeated ones for a negative count.", "O(1) without a count, else O(N) for N members answered.", "key [count:int]").tips(&["nondeterministic_output"]),
    Command::new("smove", 4, WRITE | FAST, KeySpec::TWO, smove)
        .doc(GROUP, "1.0.0", "Moves a member from one set to another.", "O(1)", "source:key destination:key member"),
    Command::new("sinter", -2, READONLY, KeySpec::ALL, sinter)
        .doc(GROUP, "1.0.0", "Lists the members common to all the given sets.", "O(N*M) worst case for the smallest set of N members and M sets.", "key...").tips(&["nondeterministic_output_order"]),
    // SINTERCARD names its keys with a count; until KeySpec can say so, every argument from
    // the first key on is locked (the LIMIT words too, which is harmless).
    Command::new("sintercard", -3, READONLY, KeySpec::numkeys(1), sintercard)
        .doc(GROUP, "7.0.0", "Counts the members common to all the given sets, stopping early at an optional limit.", "O(N*M) worst case for the smallest set of N members and M sets.", "numkeys:int key... [LIMIT limit:int]"),
    Command::new("sinterstore", -3, WRITE | DENYOOM, KeySpec::ALL, sinterstore)
        .doc(GROUP, "1.0.0", "Stores the members common to all the given sets at a key and counts them; an empty result deletes the key.", "O(N*M) worst case for the smallest set of N members and M sets.", "destination:key key..."),
    Command::new("sunion", -2, READONLY, KeySpec::ALL, sunion)
        .doc(GROUP, "1.0.0", "Lists the members found in any of the given sets.", "O(N) for N members in all the sets.", "key...").tips(&["nondeterministic_output_order"]),
    Command::new("sunionstore", -3, WRITE | DENYOOM, KeySpec::ALL, sunionstore)
        .doc(GROUP, "1.0.0", "Stores the members found in any of the given sets at a key and counts them; an empty result deletes the key.", "O(N) for N members in all the sets.", "destination:key key..."),
    Command::new("sdiff", -2, READONLY, KeySpec::ALL, sdiff)
        .doc(GROUP, "1.0.0", "Lists the members of the first set found in none of the others.", "O(N) for N members in all the sets.", "key...").tips(&["nondeterministic_output_order"]),
    Command::new("sdiffstore", -3, WRITE | DENYOOM, KeySpec::ALL, sdiffstore)
        .doc(GROUP, "1.0.0", "Stores the members of the first set found in none of the others at a key and counts them; an empty result deletes the key.", "O(N) for N members in all the sets.", "destination:key key..."),
    Command::new("sscan", -3, READONLY, KeySpec::ONE, sscan)
        .doc(GROUP, "2.8.0", "Walks the members of a set a few at a time with a cursor, optionally only those matching a glob pattern.", "O(1) per call, O(N) for a whole iteration over N members.", "key cursor:int [MATCH pattern:pattern] [COUNT count:int]").tips(&["nondeterministic_output"]),
];

/// Members copied out of a set at a time by the multi-key commands.
const CHUNK: usize = 256;

fn as_set(value: ValueRef<'_>) -> Result<&Set, Error> {
    match value {
        ValueRef::Set(set) => Ok(set),
        _ => Err(Error::WrongType),
    }
}

fn as_set_mut(value: &mut Value) -> Result<&mut Set, Error> {
    match value {
        Value::Set(set) => Ok(set),
        _ => Err(Error::WrongType),
    }
}

/// Runs `f` on the set at `key` (`None` if the key is missing), looked up with `access`.
fn with_set<R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    access: Access,
    f: impl FnOnce(&Set) -> R,
) -> Result<Option<R>, Error> {
    let db = ctx.db();
    match ctx.keys.lookup(db, key, access) {
        Some(entry) => Ok(Some(f(as_set(entry.value())?))),
        None => Ok(None),
    }
}

fn member_reply(member: Member<'_>) -> Reply {
    member.with_bytes(Reply::bulk)
}

fn owned_reply(member: MemberBuf) -> Reply {
    match member {
        MemberBuf::Int(n) => member_reply(Member::Int(n)),
        MemberBuf::Str(bytes) => Reply::Bulk(Bytes::from(bytes)),
    }
}

/// Drops a value that left the keyspace, on the lazy-free thread when it is big.
fn discard(ctx: &mut Ctx<'_, '_>, value: Value) {
    ctx.keys.store().dispose(value);
}

/// Deletes `key` (when it exists), a set that was emptied or a store command's empty result:
/// Redis notifies `del`.
fn delete(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> bool {
    let db = ctx.db();
    match ctx.keys.remove_emptied(db, key) {
        Some(entry) => {
            discard(ctx, entry.into_value());
            true
        }
        None => false,
    }
}

fn sadd(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (key, members) = (args[1], &args[2..]);
    let db = ctx.db();
    let Some(mut entry) = ctx.keys.get_mut(db, key) else {
        let mut set = Set::for_first(members[0], members.len());
        let added = members.iter().filter(|m| set.insert(m)).count();
        ctx.keys.set(db, key, Value::Set(Box::new(set)), None);
        return Ok(Reply::Int(added as i64));
    };
    let set = as_set(entry.value())?;
    if !set.needs_table_for(members.len()) && members.iter().all(|m| set.contains(m)) {
        return Ok(Reply::Int(0));
    }
    let set = as_set_mut(entry.value_mut())?;
    set.prepare_for(members.len());
    let added = members.iter().filter(|m| set.insert(m)).count();
    Ok(Reply::Int(added as i64))
}

fn srem(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (key, members) = (args[1], &args[2..]);
    let db = ctx.db();
    let Some(mut entry) = ctx.keys.get_mut(db, key) else {
        return Ok(Reply::Int(0));
    };
    let set = as_set(entry.value())?;
    if !members.iter().any(|m| set.contains(m)) {
        return Ok(Reply::Int(0));
    }
    let set = as_set_mut(entry.value_mut())?;
    let mut removed = 0;
    for member in members {
        if set.remove(member) {
            removed += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    if set.is_empty() {
        delete(ctx, key);
    }
    Ok(Reply::Int(removed))
}

fn scard(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let len = with_set(ctx, args[1], Access::Read, Set::len)?;
    Ok(Reply::Int(len.unwrap_or(0) as i64))
}

fn smembers(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let members = with_set(ctx, args[1], Access::Read, |set| {
        set.iter().map(member_reply).collect()
    })?;
    Ok(Reply::Set(members.unwrap_or_default()))
}

fn sismember(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let found = with_set(ctx, args[1], Access::Read, |set| set.contains(args[2]))?;
    Ok(Reply::Int(i64::from(found.unwrap_or(false))))
}

fn smismember(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let answers = |set: Option<&Set>| {
        let answer = |m: &&[u8]| Reply::Int(i64::from(set.is_some_and(|s| s.contains(m))));
        Reply::Array(args[2..].iter().map(answer).collect())
    };
    let reply = with_set(ctx, args[1], Access::Read, |set| answers(Some(set)))?;
    Ok(reply.unwrap_or_else(|| answers(None)))
}

fn spop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    match args.len() {
        2 => {}
        3 => return spop_count(ctx, args),
        _ => return Err(Error::Syntax),
    }
    let (key, db) = (args[1], ctx.db());
    let Some(mut entry) = ctx.keys.get_mut(db, key) else {
        return Ok(Reply::Null);
    };
    as_set(entry.value())?;
    let set = as_set_mut(entry.value_mut())?;
    let popped = set.pop_random(&mut rand::rng());
    if set.is_empty() {
        delete(ctx, key);
    }
    Ok(popped.map_or(Reply::Null, owned_reply))
}

fn spop_count(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let negative = Error::msg("ERR value is out of range, must be positive");
    let count = parse::int(args[2]).map_err(|_| negative.clone())?;
    let count = usize::try_from(count).map_err(|_| negative)?;
    let (key, db) = (args[1], ctx.db());
    let Some(mut entry) = ctx.keys.get_mut(db, key) else {
        return Ok(Reply::Set(Vec::new()));
    };
    let len = as_set(entry.value())?.len();
    if count == 0 {
        return Ok(Reply::Set(Vec::new()));
    }
    if count >= len {
        // Everything goes: hand the whole set out and delete the key.
        let removed = ctx.keys.remove_emptied(db, key);
        let Some(Value::Set(set)) = removed.map(|e| e.into_value()) else {
            return Ok(Reply::Set(Vec::new()));
        };
        return Ok(Reply::Set(
            set.into_members().into_iter().map(owned_reply).collect(),
        ));
    }
    let set = as_set_mut(entry.value_mut())?;
    let popped = set.pop_many(count, &mut rand::rng());
    Ok(Reply::Set(popped.into_iter().map(owned_reply).collect()))
}

fn srandmember(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let mut rng = rand::rng();
    match args.len() {
        2 => {
            let picked = with_set(ctx, args[1], Access::Read, |set| {
                set.random(&mut rng).map_or(Reply::Null, member_reply)
            })?;
            return Ok(picked.unwrap_or(Reply::Null));
        }
        3 => {}
        _ => return Err(Error::Syntax),
    }
    // The count is read before the key is looked up, as Redis does.
    let count = parse::int(args[2])?;
    if count == i64::MIN {
        return Err(Error::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    if count < 0 && count.unsigned_abs() > parse::MAX_RANDOM_REPEATS {
        return Err(Error::msg("ERR value is out of range"));
    }
    let picked = with_set(ctx, args[1], Access::Read, |set| {
        let wanted = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        let members = if count < 0 || count == 1 {
            // Independent picks: members may repeat.
            (0..wanted).filter_map(|_| set.random(&mut rng)).collect()
        } else if wanted >= set.len() {
            set.iter().collect()
        } else {
            set.sample(wanted, &mut rng)
        };
        Reply::Array(members.into_iter().map(member_reply).collect())
    })?;
    Ok(picked.unwrap_or(Reply::Array(Vec::new())))
}

fn smove(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (source, destination, member) = (args[1], args[2], args[3]);
    let db = ctx.db();
    let Some(present) = with_set(ctx, source, Access::Write, |set| set.contains(member))? else {
        return Ok(Reply::Int(0));
    };
    let in_destination = with_set(ctx, destination, Access::Write, |set| set.contains(member))?;
    if source == destination || !present {
        return Ok(Reply::Int(i64::from(present && source == destination)));
    }
    if let Some(mut entry) = ctx.keys.get_mut(db, source) {
        let set = as_set_mut(entry.value_mut())?;
        set.remove(member);
        let emptied = set.is_empty();
        ctx.keys.notify(class::SET, "srem", db, source);
        if emptied {
            delete(ctx, source);
        }
    }
    match in_destination {
        Some(true) => return Ok(Reply::Int(1)),
        Some(false) => {
            if let Some(mut entry) = ctx.keys.get_mut(db, destination) {
                as_set_mut(entry.value_mut())?.insert(member);
            }
        }
        None => {
            let mut set = Set::for_first(member, 1);
            set.insert(member);
            ctx.keys
                .set(db, destination, Value::Set(Box::new(set)), None);
        }
    }
    ctx.keys.notify(class::SET, "sadd", db, destination);
    Ok(Reply::Int(1))
}

/// What the first pass learned about a source key.
struct Source {
    len: usize,
    encoding: &'static str,
}

/// Looks every source up once (counting hits and misses): `None` for a missing key,
/// WRONGTYPE for one that is not a set.
fn sources(ctx: &mut Ctx<'_, '_>, keys: &[&[u8]]) -> Result<Vec<Option<Source>>, Error> {
    keys.iter()
        .map(|key| {
            with_set(ctx, key, Access::Read, |set| Source {
                len: set.len(),
                encoding: set.encoding(),
            })
        })
        .collect()
}

/// Calls `each` with the members of the set at `key`, copied out a chunk at a time, until
/// it returns false or every member was given.
fn chunks(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    mut each: impl FnMut(&mut Ctx<'_, '_>, Vec<MemberBuf>) -> bool,
) {
    let mut at = Some(0);
    while let Some(from) = at {
        let mut chunk = Vec::with_capacity(CHUNK);
        at = with_set(ctx, key, Access::Peek, |set| {
            set.chunk(from, CHUNK, &mut chunk)
        })
        .ok()
        .flatten()
        .flatten();
        if !each(ctx, chunk) {
            return;
        }
    }
}

/// Keeps the members of `chunk` that are (`wanted` true) or are not in the set at `key`.
fn retain_in(ctx: &mut Ctx<'_, '_>, key: &[u8], chunk: &mut Vec<MemberBuf>, wanted: bool) {
    let _ = with_set(ctx, key, Access::Peek, |set| {
        chunk.retain(|m| set.contains_member(m.as_member()) == wanted)
    });
}

/// How an intersection goes: the keys sorted by size, smallest first, and the encoding of
/// the smallest set.
struct Plan<'a> {
    keys: Vec<&'a [u8]>,
    smallest: &'static str,
}

/// The first pass of an intersection, or `None` when a key is missing (the result is empty).
fn intersection_plan<'a>(
    ctx: &mut Ctx<'_, '_>,
    keys: &[&'a [u8]],
) -> Result<Option<Plan<'a>>, Error> {
    let sources = sources(ctx, keys)?;
    let Some(mut found) = keys
        .iter()
        .zip(sources)
        .map(|(key, source)| source.map(|s| (*key, s)))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    found.sort_by_key(|(_, source)| source.len);
    Ok(Some(Plan {
        smallest: found[0].1.encoding,
        keys: found.into_iter().map(|(key, _)| key).collect(),
    }))
}

/// Calls `found` with each member of the intersection of `keys` (sorted by size), in the
/// order of the smallest set, until it returns false.
fn intersect(ctx: &mut Ctx<'_, '_>, keys: &[&[u8]], mut found: impl FnMut(MemberBuf) -> bool) {
    let (first, others) = (keys[0], &keys[1..]);
    chunks(ctx, first, |ctx, mut chunk| {
        for key in others.iter().filter(|key| **key != first) {
            retain_in(ctx, key, &mut chunk, true);
        }
        chunk.into_iter().all(&mut found)
    });
}

fn sinter(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let mut members = Vec::new();
    if let Some(plan) = intersection_plan(ctx, &args[1..])? {
        intersect(ctx, &plan.keys, |m| {
            members.push(owned_reply(m));
            true
        });
    }
    Ok(Reply::Set(members))
}

fn sintercard(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let numkeys = parse::int(args[1])
        .ok()
        .filter(|&n| n > 0)
        .ok_or(Error::msg("ERR numkeys should be greater than 0"))?;
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > args.len() - 2 {
        return Err(Error::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0;
    let mut i = 2 + numkeys;
    while i < args.len() {
        if !is(args[i], "limit") || i + 1 == args.len() {
            return Err(Error::Syntax);
        }
        limit = parse::int(args[i + 1])
            .ok()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(Error::msg("ERR LIMIT can't be negative"))?;
        i += 2;
    }
    let mut count = 0;
    if let Some(plan) = intersection_plan(ctx, &args[2..2 + numkeys])? {
        intersect(ctx, &plan.keys, |_| {
            count += 1;
            limit == 0 || count < limit
        });
    }
    Ok(Reply::Int(count as i64))
}

fn sinterstore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let Some(plan) = intersection_plan(ctx, &args[2..])? else {
        return store(ctx, args[1], Set::new(), "sinterstore");
    };
    // As in Redis: an intset when the smallest source is one, else a listpack that
    // converts as it grows; a result of few enough integers ends as an intset.
    let mut result = if plan.smallest == "intset" {
        Set::new()
    } else {
        Set::packed()
    };
    intersect(ctx, &plan.keys, |m| {
        result.insert_member(m.as_member());
        true
    });
    result.compact_ints();
    store(ctx, args[1], result, "sinterstore")
}

/// Stores `result` at `destination` (no expiry), notifies `event`, and answers its size; an
/// empty result deletes `destination` instead (notifying `del` if it existed).
fn store(
    ctx: &mut Ctx<'_, '_>,
    destination: &[u8],
    mut result: Set,
    event: &'static str,
) -> CommandResult {
    if result.is_empty() {
        delete(ctx, destination);
        return Ok(Reply::Int(0));
    }
    result.shrink_to_fit();
    let len = result.len();
    let db = ctx.db();
    if let Some(old) = ctx
        .keys
        .set(db, destination, Value::Set(Box::new(result)), None)
    {
        discard(ctx, old);
    }
    ctx.keys.notify(class::SET, event, db, destination);
    Ok(Reply::Int(len as i64))
}

/// The union of the sets at `keys`, built as Redis builds it (starting as an intset).
fn union(ctx: &mut Ctx<'_, '_>, keys: &[&[u8]]) -> Result<Set, Error> {
    let sources = sources(ctx, keys)?;
    let mut result = Set::new();
    for (key, _) in keys.iter().zip(sources).filter(|(_, s)| s.is_some()) {
        with_set(ctx, key, Access::Peek, |set| {
            set.iter().for_each(|m| {
                result.insert_member(m);
            })
        })?;
    }
    Ok(result)
}

/// The members of the first set at `keys` in none of the others, computed with whichever
/// of Redis's two algorithms it would pick: checking each member of the first set against
/// the others (largest first), or copying the first set and removing the others' members.
fn difference(ctx: &mut Ctx<'_, '_>, keys: &[&[u8]]) -> Result<Set, Error> {
    let sources = sources(ctx, keys)?;
    let mut result = Set::new();
    let Some(first) = &sources[0] else {
        return Ok(result);
    };
    let present: Vec<(&[u8], usize)> = keys
        .iter()
        .zip(&sources)
        .filter_map(|(key, source)| source.as_ref().map(|s| (*key, s.len)))
        .collect();
    // The first set named again: nothing can be left.
    if present[1..].iter().any(|(key, _)| *key == keys[0]) {
        return Ok(result);
    }
    let check_each = first.len * present.len() / 2;
    let copy_and_remove: usize = present.iter().map(|(_, len)| len).sum();
    if check_each <= copy_and_remove {
        let mut others = present[1..].to_vec();
        others.sort_by_key(|(_, len)| std::cmp::Reverse(*len));
        chunks(ctx, keys[0], |ctx, mut chunk| {
            for (key, _) in &others {
                retain_in(ctx, key, &mut chunk, false);
            }
            for member in chunk {
                result.insert_member(member.as_member());
            }
            true
        });
        return Ok(result);
    }
    for (i, (key, _)) in present.iter().enumerate() {
        with_set(ctx, key, Access::Peek, |set| {
            for member in set.iter() {
                if i == 0 {
                    result.insert_member(member);
                } else {
                    result.remove_member(member);
                }
            }
        })?;
        if result.is_empty() {
            break;
        }
    }
    Ok(result)
}

fn set_reply(result: Set) -> Reply {
    Reply::Set(result.into_members().into_iter().map(owned_reply).collect())
}

fn sunion(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    Ok(set_reply(union(ctx, &args[1..])?))
}

fn sunionstore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let result = union(ctx, &args[2..])?;
    store(ctx, args[1], result, "sunionstore")
}

fn sdiff(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    Ok(set_reply(difference(ctx, &args[1..])?))
}

fn sdiffstore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let result = difference(ctx, &args[2..])?;
    store(ctx, args[1], result, "sdiffstore")
}

fn sscan(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    // Checked in Redis's order: the cursor, the key, then the options.
    let cursor = scan::cursor(args[2])?;
    if with_set(ctx, args[1], Access::Read, |_| ())?.is_none() {
        return Ok(scan::reply(0, Vec::new()));
    }
    let options = ScanOptions::parse(&args[3..], false)?;
    let mut found = Vec::new();
    let next = with_set(ctx, args[1], Access::Peek, |set| {
        set.scan(cursor, options.count, &mut found)
    })?
    .unwrap_or(0);
    found.retain(|m| m.as_member().with_bytes(|b| options.matches(b)));
    Ok(scan::reply(
        next,
        found.into_iter().map(owned_reply).collect(),
    ))
}
