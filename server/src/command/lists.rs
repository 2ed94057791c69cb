//! List commands: pushes and pops at either end, access by index and range, search and
//! removal, moves between lists (LMOVE, LMPOP), and their blocking forms (BLPOP, BRPOP,
//! BLMOVE, BRPOPLPUSH, BLMPOP).
//!
//! Every command that adds elements signals the key ready so that clients blocked on it are
//! served (creating a key with `Locked::set` signals by itself). A blocking command that
//! finds nothing to take asks to wait with `Ctx::block` and is simply run again when one of
//! its keys is signalled; inside a transaction it answers its timeout reply at once.

use super::parse::{self, is};
use super::{Command, Ctx, KeySpec, Mode, flag::*};
use crate::error::{CommandResult, Error};
use crate::protocol::Reply;
use crate::store::effects::class;
use crate::store::list::{End, List};
use crate::store::{EntryMut, Value, ValueRef};

const GROUP: &str = "list";

pub const COMMANDS: &[Command] = &[
    Command::new("lpush", -3, WRITE | DENYOOM | FAST, KeySpec::ONE, lpush)
        .doc(GROUP, "1.0.0", "Adds elements at the head of a list, creating it if missing.", "O(1) per element added.", "key element...").notifies(class::LIST, "lpush"),
    Command::new("rpush", -3, WRITE | DENYOOM | FAST, KeySpec::ONE, rpush)
        .doc(GROUP, "1.0.0", "Adds elements at the tail of a list, creating it if missing.", "O(1) per element added.", "key element...").notifies(class::LIST, "rpush"),
    Command::new("lpushx", -3, WRITE | DENYOOM | FAST, KeySpec::ONE, lpushx)
        .doc(GROUP, "2.2.0", "Adds elements at the head of a list, only if the list exists.", "O(1) per element added.", "key element...").notifies(class::LIST, "lpush"),
    Command::new("rpushx", -3, WRITE | DENYOOM | FAST, KeySpec::ONE, rpushx)
        .doc(GROUP, "2.2.0", "Adds elements at the tail of a list, only if the list exists.", "O(1) per element added.", "key element...").notifies(class::LIST, "rpush"),
    Command::new("linsert", 5, WRITE | DENYOOM, KeySpec::ONE, linsert)
        .doc(GROUP, "2.2.0", "Inserts an element just before or just after the first occurrence of a pivot element.", "O(N) for the N elements walked to find the pivot, from the head.", "key (where=BEFORE | AFTER) pivot element").notifies(class::LIST, "linsert"),
    Command::new("llen", 2, READONLY | FAST, KeySpec::ONE, llen)
        .doc(GROUP, "1.0.0", "Gives the number of elements of a list.", "O(1)", "key"),
    Command::new("lindex", 3, READONLY, KeySpec::ONE, lindex)
        .doc(GROUP, "1.0.0", "Gives the element at an index of a list; negative indexes count from the tail.", "O(1) for large lists; O(N) walking a small packed list.", "key index:int"),
    Command::new("lset", 4, WRITE | DENYOOM, KeySpec::ONE, lset)
        .doc(GROUP, "1.0.0", "Replaces the element at an index of a list.", "O(1) for large lists; O(N) within a small packed list.", "key index:int element").notifies(class::LIST, "lset"),
    Command::new("lpop", -2, WRITE | FAST, KeySpec::ONE, lpop)
        .doc(GROUP, "1.0.0", "Removes and answers the first elements of a list.", "O(N) for N elements returned.", "key [count:int]").notifies(class::LIST, "lpop"),
    Command::new("rpop", -2, WRITE | FAST, KeySpec::ONE, rpop)
        .doc(GROUP, "1.0.0", "Removes and answers the last elements of a list.", "O(N) for N elements returned.", "key [count:int]").notifies(class::LIST, "rpop"),
    Command::new("lrange", 4, READONLY, KeySpec::ONE, lrange)
        .doc(GROUP, "1.0.0", "Gives the elements of a list between two indexes, both included.", "O(S+N): S to reach the start, N elements returned.", "key start:int stop:int"),
    Command::new("ltrim", 4, WRITE, KeySpec::ONE, ltrim)
        .doc(GROUP, "1.0.0", "Keeps only the elements of a list between two indexes, both included.", "O(N) for N elements removed.", "key start:int stop:int").notifies(class::LIST, "ltrim"),
    Command::new("lpos", -3, READONLY, KeySpec::ONE, lpos)
        .doc(GROUP, "6.0.6", "Finds the indexes of elements equal to a value, from the head or the tail.", "O(N) for N elements walked; MAXLEN bounds N.", "key element [RANK rank:int] [COUNT num-matches:int] [MAXLEN len:int]"),
    Command::new("lrem", 4, WRITE, KeySpec::ONE, lrem)
        .doc(GROUP, "1.0.0", "Removes elements equal to a value: a number of them from the head or the tail, or all.", "O(N+M): N elements walked, M removed.", "key count:int element").notifies(class::LIST, "lrem"),
    Command::new("rpoplpush", 3, WRITE | DENYOOM, KeySpec::TWO, rpoplpush)
        .doc(GROUP, "1.2.0", "Moves the last element of a list to the head of another (the old form of LMOVE).", "O(1)", "source:key destination:key"),
    Command::new("lmove", 5, WRITE | DENYOOM, KeySpec::TWO, lmove)
        .doc(GROUP, "6.2.0", "Moves an element from one end of a list to one end of another, and answers it.", "O(1)", "source:key destination:key (wherefrom=LEFT | RIGHT) (whereto=LEFT | RIGHT)"),
    Command::new("lmpop", -4, WRITE, KeySpec::numkeys(1), lmpop)
        .doc(GROUP, "7.0.0", "Pops elements from the first non-empty list among several keys.", "O(N+M): N keys looked at, M elements returned.", "numkeys:int key... (where=LEFT | RIGHT) [COUNT count:int]"),
    Command::new("blpop", -3, WRITE | NOSCRIPT | BLOCKING, KeySpec::range(1, -2, 1), blpop)
        .doc(GROUP, "2.0.0", "Pops the first element of the first non-empty list among several keys, waiting for one if all are empty.", "O(N) for N keys.", "key... timeout:double").notifies(class::LIST, "lpop"),
    Command::new("brpop", -3, WRITE | NOSCRIPT | BLOCKING, KeySpec::range(1, -2, 1), brpop)
        .doc(GROUP, "2.0.0", "Pops the last element of the first non-empty list among several keys, waiting for one if all are empty.", "O(N) for N keys.", "key... timeout:double").notifies(class::LIST, "rpop"),
    Command::new("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, KeySpec::TWO, brpoplpush)
        .doc(GROUP, "2.2.0", "Moves the last element of a list to the head of another, waiting for one if the source is empty.", "O(1)", "source:key destination:key timeout:double"),
    Command::new("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, KeySpec::TWO, blmove)
        .doc(GROUP, "6.2.0", "Moves an element from one end of a list to one end of another, waiting for one if the source is empty.", "O(1)", "source:key destination:key (wherefrom=LEFT | RIGHT) (whereto=LEFT | RIGHT) timeout:double"),
    Command::new("blmpop", -5, WRITE | BLOCKING, KeySpec::numkeys(2), blmpop)
        .doc(GROUP, "7.0.0", "Pops elements from the first non-empty list among several keys, waiting for one if all are empty.", "O(N+M): N keys looked at, M elements returned.", "timeout:double numkeys:int key... (where=LEFT | RIGHT) [COUNT count:int]"),
];

/// The list in a found entry, or WRONGTYPE.
fn list_ref<'e>(entry: &'e EntryMut<'_>) -> Result<&'e List, Error> {
    match entry.value() {
        ValueRef::List(list) => Ok(list),
        _ => Err(Error::WrongType),
    }
}

/// The list in a found entry, to change it (which marks the key modified), or WRONGTYPE.
/// The type is checked first, so a refused command changes nothing.
fn list_mut<'e>(entry: &'e mut EntryMut<'_>) -> Result<&'e mut List, Error> {
    list_ref(entry)?;
    match entry.value_mut() {
        Value::List(list) => Ok(list),
        _ => Err(Error::WrongType),
    }
}

/// A bulk reply that takes ownership of a popped element.
fn bulk(element: Vec<u8>) -> Reply {
    Reply::Bulk(element.into())
}

fn bulks(elements: Vec<Vec<u8>>) -> Reply {
    Reply::Array(elements.into_iter().map(bulk).collect())
}

/// `LEFT` or `RIGHT`.
fn end(arg: &[u8]) -> Result<End, Error> {
    if is(arg, "left") {
        Ok(End::Left)
    } else if is(arg, "right") {
        Ok(End::Right)
    } else {
        Err(Error::Syntax)
    }
}

/// An index counted from the head, or from the tail when negative; `None` when outside.
fn resolve(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let index = if index < 0 { index + len } else { index };
    usize::try_from(index).ok().filter(|&i| (i as i64) < len)
}

/// The indexes `start..stop` (stop excluded) that an inclusive Redis range `start stop`
/// (negative counting from the tail) covers, or `None` when it covers nothing.
fn span(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = i64::try_from(len).ok()?;
    let start = if start < 0 {
        (start + len).max(0)
    } else {
        start
    };
    let stop = if stop < 0 { stop + len } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize + 1))
}

/// Deletes `key` if it holds an empty list (Redis never keeps empty collections).
fn drop_if_empty(ctx: &mut Ctx<'_, '_>, key: &[u8]) {
    let db = ctx.db();
    let empty = ctx
        .keys
        .get_mut(db, key)
        .is_some_and(|entry| entry.value().is_empty_collection());
    if empty {
        ctx.keys.remove_emptied(db, key);
    }
}

/// Redis's event names for a push to and a pop from `end`.
fn push_event(end: End) -> &'static str {
    match end {
        End::Left => "lpush",
        End::Right => "rpush",
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Left => "lpop",
        End::Right => "rpop",
    }
}

/// Pushes `elements` at `end` of the list at `key`, creating it unless `only_existing`.
/// Returns the new length (0 when nothing was pushed).
fn push_elements(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    end: End,
    elements: &[&[u8]],
    only_existing: bool,
) -> Result<usize, Error> {
    let db = ctx.db();
    if let Some(mut entry) = ctx.keys.get_mut(db, key) {
        let list = list_mut(&mut entry)?;
        list.push(end, elements);
        let len = list.len();
        ctx.keys.signal_ready(db, key);
        return Ok(len);
    }
    if only_existing {
        return Ok(0);
    }
    let mut list = List::new();
    list.push(end, elements);
    let len = list.len();
    ctx.keys.set(db, key, Value::List(Box::new(list)), None);
    Ok(len)
}

fn push(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], end: End, only_existing: bool) -> CommandResult {
    let len = push_elements(ctx, args[1], end, &args[2..], only_existing)?;
    Ok(Reply::Int(len as i64))
}

fn lpush(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    push(ctx, args, End::Left, false)
}

fn rpush(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    push(ctx, args, End::Right, false)
}

fn lpushx(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    push(ctx, args, End::Left, true)
}

fn rpushx(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    push(ctx, args, End::Right, true)
}

fn linsert(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (key, pivot, element) = (args[1], args[3], args[4]);
    let after = if is(args[2], "after") {
        true
    } else if is(args[2], "before") {
        false
    } else {
        return Err(Error::Syntax);
    };
    let db = ctx.db();
    let Some(mut entry) = ctx.keys.get_mut(db, key) else {
        return Ok(Reply::Int(0));
    };
    let Some(at) = list_ref(&entry)?.iter().position(|e| e == pivot) else {
        return Ok(Reply::Int(-1));
    };
    let list = list_mut(&mut entry)?;
    list.insert(at + usize::from(after), element);
    let len = list.len();
    ctx.keys.signal_ready(db, key);
    Ok(Reply::Int(len as i64))
}

fn llen(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    Ok(match ctx.keys.get(db, args[1]) {
        Some(entry) => Reply::Int(list_ref(&entry)?.len() as i64),
        None => Reply::Int(0),
    })
}

fn lindex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Null);
    };
    let list = list_ref(&entry)?;
    let index = parse::int(args[2])?;
    Ok(resolve(index, list.len())
        .and_then(|i| list.get(i))
        .map_or(Reply::Null, Reply::bulk))
}

fn lset(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let Some(mut entry) = ctx.keys.get_mut(db, args[1]) else {
        return Err(Error::NoSuchKey);
    };
    let len = list_ref(&entry)?.len();
    let index = parse::int(args[2])?;
    let Some(index) = resolve(index, len) else {
        return Err(Error::msg("ERR index out of range"));
    };
    list_mut(&mut entry)?.set(index, args[3]);
    Ok(Reply::Ok)
}

/// A count that must not be negative, with Redis's error for any bad value.
fn positive(arg: &[u8]) -> Result<usize, Error> {
    parse::count(arg).map_err(|_| Error::msg("ERR value is out of range, must be positive"))
}

fn pop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], end: End) -> CommandResult {
    if args.len() > 3 {
        let name = if end == End::Left { "lpop" } else { "rpop" };
        return Err(Error::err(format!(
            "wrong number of arguments for '{name}' command"
        )));
    }
    let count = args.get(2).map(|arg| positive(arg)).transpose()?;
    let (db, key) = (ctx.db(), args[1]);
    let Some(mut entry) = ctx.keys.get_mut(db, key) else {
        return Ok(if count.is_some() {
            Reply::NullArray
        } else {
            Reply::Null
        });
    };
    list_ref(&entry)?;
    let reply = match count {
        Some(0) => return Ok(Reply::Array(Vec::new())),
        Some(count) => bulks(list_mut(&mut entry)?.pop_many(end, count)),
        None => list_mut(&mut entry)?.pop(end).map_or(Reply::Null, bulk),
    };
    drop_if_empty(ctx, key);
    Ok(reply)
}

fn lpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    pop(ctx, args, End::Left)
}

fn rpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    pop(ctx, args, End::Right)
}

fn lrange(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (start, stop) = (parse::int(args[2])?, parse::int(args[3])?);
    let db = ctx.db();
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let list = list_ref(&entry)?;
    Ok(match span(start, stop, list.len()) {
        Some((from, to)) => Reply::bulks(list.range(from, to)),
        None => Reply::Array(Vec::new()),
    })
}

fn ltrim(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (start, stop) = (parse::int(args[2])?, parse::int(args[3])?);
    let (db, key) = (ctx.db(), args[1]);
    let Some(mut entry) = ctx.keys.get_mut(db, key) else {
        return Ok(Reply::Ok);
    };
    let list = list_mut(&mut entry)?;
    match span(start, stop, list.len()) {
        Some((from, to)) => list.retain_range(from, to),
        None => list.retain_range(0, 0),
    }
    drop_if_empty(ctx, key);
    Ok(Reply::Ok)
}

/// LPOS options, as Redis reads them: each may repeat, the last one wins.
struct LposOptions {
    rank: i64,
    /// `None`: no COUNT (answer one index); `Some(0)`: every match.
    count: Option<i64>,
    /// 0: no limit.
    maxlen: i64,
}

fn lpos_options(args: &[&[u8]]) -> Result<LposOptions, Error> {
    let mut options = LposOptions {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut i = 0;
    while i < args.len() {
        let (option, value) = match args.get(i + 1) {
            Some(value) => (args[i], *value),
            None => return Err(Error::Syntax),
        };
        let non_negative = |message: &'static str| {
            parse::int(value)
                .ok()
                .filter(|n| *n >= 0)
                .ok_or(Error::msg(message))
        };
        if is(option, "rank") {
            options.rank = parse::int(value)?;
            if options.rank == 0 {
                return Err(Error::msg(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(option, "count") {
            options.count = Some(non_negative("ERR COUNT can't be negative")?);
        } else if is(option, "maxlen") {
            options.maxlen = non_negative("ERR MAXLEN can't be negative")?;
        } else {
            return Err(Error::Syntax);
        }
        i += 2;
    }
    Ok(options)
}

fn lpos(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let wanted = args[2];
    let options = lpos_options(&args[3..])?;
    let db = ctx.db();
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(match options.count {
            Some(_) => Reply::Array(Vec::new()),
            None => Reply::Null,
        });
    };
    let list = list_ref(&entry)?;
    // A negative rank searches from the tail. Like Redis, the smallest rank stays negative
    // when negated, which makes every match count from the first one.
    let from_tail = options.rank < 0;
    let rank = if from_tail {
        options.rank.wrapping_neg()
    } else {
        options.rank
    };
    let walked = if options.maxlen == 0 {
        usize::MAX
    } else {
        usize::try_from(options.maxlen).unwrap_or(usize::MAX)
    };
    let elements = list.iter().enumerate();
    let candidates: Box<dyn Iterator<Item = (usize, &[u8])>> = if from_tail {
        Box::new(elements.rev().take(walked))
    } else {
        Box::new(elements.take(walked))
    };
    let mut found = Vec::new();
    let mut matches: i64 = 0;
    for (index, element) in candidates {
        if element != wanted {
            continue;
        }
        matches += 1;
        if matches < rank {
            continue;
        }
        found.push(Reply::Int(index as i64));
        match options.count {
            None => break,
            Some(0) => {}
            Some(count) if matches.wrapping_sub(rank).wrapping_add(1) >= count => break,
            Some(_) => {}
        }
    }
    Ok(match options.count {
        Some(_) => Reply::Array(found),
        None => found.pop().unwrap_or(Reply::Null),
    })
}

fn lrem(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let count = parse::int(args[2])?;
    let (key, element) = (args[1], args[3]);
    let db = ctx.db();
    let Some(mut entry) = ctx.keys.get_mut(db, key) else {
        return Ok(Reply::Int(0));
    };
    if !list_ref(&entry)?.iter().any(|e| e == element) {
        return Ok(Reply::Int(0));
    }
    let from = if count < 0 { End::Right } else { End::Left };
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = list_mut(&mut entry)?.remove_matching(element, limit, from);
    drop_if_empty(ctx, key);
    Ok(Reply::Int(removed as i64))
}

/// Moves one element from `from` of `source` to `to` of `destination` and returns it;
/// `None` when the source is missing. Both keys are checked to be lists before anything
/// changes. With one key as both, the list rotates and is never deleted on the way.
fn move_element(
    ctx: &mut Ctx<'_, '_>,
    source: &[u8],
    destination: &[u8],
    from: End,
    to: End,
) -> Result<Option<Vec<u8>>, Error> {
    let db = ctx.db();
    let Some(entry) = ctx.keys.get_mut(db, source) else {
        return Ok(None);
    };
    if list_ref(&entry)?.is_empty() {
        return Ok(None);
    }
    if let Some(entry) = ctx.keys.get_mut(db, destination) {
        list_ref(&entry)?;
    }
    let Some(mut entry) = ctx.keys.get_mut(db, source) else {
        return Ok(None);
    };
    let Some(element) = list_mut(&mut entry)?.pop(from) else {
        return Ok(None);
    };
    push_elements(ctx, destination, to, &[&element], false)?;
    // Redis's order: the push, then the pop, then the emptied source's `del`.
    ctx.keys
        .notify(class::LIST, push_event(to), db, destination);
    ctx.keys.notify(class::LIST, pop_event(from), db, source);
    drop_if_empty(ctx, source);
    Ok(Some(element))
}

fn lmove(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (from, to) = (end(args[3])?, end(args[4])?);
    let moved = move_element(ctx, args[1], args[2], from, to)?;
    Ok(moved.map_or(Reply::Null, bulk))
}

fn rpoplpush(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let moved = move_element(ctx, args[1], args[2], End::Right, End::Left)?;
    Ok(moved.map_or(Reply::Null, bulk))
}

/// What LMPOP and BLMPOP read after their `numkeys`: the keys, the end and the count.
struct MpopArgs<'a> {
    keys: &'a [&'a [u8]],
    end: End,
    count: usize,
}

/// Reads `numkeys key... LEFT|RIGHT [COUNT count]` starting at `args[at]`, with Redis's
/// errors in Redis's order.
fn mpop_args<'a>(args: &'a [&'a [u8]], at: usize) -> Result<MpopArgs<'a>, Error> {
    let numkeys = parse::count(args[at])
        .ok()
        .filter(|n| *n > 0)
        .ok_or(Error::msg("ERR numkeys should be greater than 0"))?;
    let where_at = numkeys
        .checked_add(at + 1)
        .filter(|&i| i < args.len())
        .ok_or(Error::Syntax)?;
    let end = end(args[where_at])?;
    let mut count = None;
    let mut i = where_at + 1;
    while i < args.len() {
        match args.get(i + 1) {
            Some(value) if count.is_none() && is(args[i], "count") => {
                let n = parse::count(value)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(Error::msg("ERR count should be greater than 0"))?;
                count = Some(n);
                i += 2;
            }
            _ => return Err(Error::Syntax),
        }
    }
    Ok(MpopArgs {
        keys: &args[at + 1..where_at],
        end,
        count: count.unwrap_or(1),
    })
}

/// Pops from the first non-empty list among `keys`: one element answered as `[key,
/// element]` when `count` is `None`, else up to `count` as `[key, [elements]]`. `None`
/// when every list is empty. When run again for a waiting client, a key that has meanwhile
/// taken another type is passed over, as Redis only serves waiters from lists.
fn pop_first(
    ctx: &mut Ctx<'_, '_>,
    keys: &[&[u8]],
    end: End,
    count: Option<usize>,
) -> Result<Option<Reply>, Error> {
    let db = ctx.db();
    ctx.keys.usual_event(Some((class::LIST, pop_event(end))));
    for &key in keys {
        let Some(mut entry) = ctx.keys.get_mut(db, key) else {
            continue;
        };
        match list_ref(&entry) {
            Ok(list) if list.is_empty() => continue,
            Ok(_) => {}
            Err(_) if ctx.mode == Mode::Retry => continue,
            Err(error) => return Err(error),
        }
        let list = list_mut(&mut entry)?;
        let reply = match count {
            None => list.pop(end).map_or(Reply::Null, bulk),
            Some(count) => bulks(list.pop_many(end, count)),
        };
        drop_if_empty(ctx, key);
        return Ok(Some(Reply::Array(vec![Reply::bulk(key), reply])));
    }
    Ok(None)
}

fn lmpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let MpopArgs { keys, end, count } = mpop_args(args, 1)?;
    Ok(pop_first(ctx, keys, end, Some(count))?.unwrap_or(Reply::NullArray))
}

/// Waits on `keys` until the timeout; the reply on timeout is a nil array, as Redis gives
/// for every list command.
fn wait_for(
    ctx: &mut Ctx<'_, '_>,
    keys: &[&[u8]],
    timeout: Option<std::time::Duration>,
) -> CommandResult {
    let keys = keys.iter().map(|key| key.to_vec()).collect();
    ctx.block(keys, timeout, Reply::NullArray, None)
}

fn blocking_pop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], end: End) -> CommandResult {
    let last = args.len() - 1;
    let timeout = parse::timeout_secs(args[last])?;
    let keys = &args[1..last];
    match pop_first(ctx, keys, end, None)? {
        Some(reply) => Ok(reply),
        None => wait_for(ctx, keys, timeout),
    }
}

fn blpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    blocking_pop(ctx, args, End::Left)
}

fn brpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    blocking_pop(ctx, args, End::Right)
}

fn blmpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let MpopArgs { keys, end, count } = mpop_args(args, 2)?;
    let timeout = parse::timeout_secs(args[1])?;
    match pop_first(ctx, keys, end, Some(count))? {
        Some(reply) => Ok(reply),
        None => wait_for(ctx, keys, timeout),
    }
}

/// BLMOVE and BRPOPLPUSH: an LMOVE that waits for the source. Like Redis, a transaction
/// answers a plain nil at once (not the nil array a timeout gives), and a source that
/// changed type while waiting keeps the client waiting.
fn blocking_move(
    ctx: &mut Ctx<'_, '_>,
    args: &[&[u8]],
    from: End,
    to: End,
    timeout: Option<std::time::Duration>,
) -> CommandResult {
    let (source, destination) = (args[1], args[2]);
    if ctx.mode == Mode::Retry {
        let db = ctx.db();
        let waiting = ctx
            .keys
            .get_mut(db, source)
            .is_some_and(|entry| list_ref(&entry).is_err());
        if waiting {
            return wait_for(ctx, &[source], timeout);
        }
    }
    match move_element(ctx, source, destination, from, to)? {
        Some(element) => Ok(bulk(element)),
        None if ctx.mode == Mode::Transaction => Ok(Reply::Null),
        None => wait_for(ctx, &[source], timeout),
    }
}

fn blmove(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (from, to) = (end(args[3])?, end(args[4])?);
    let timeout = parse::timeout_secs(args[5])?;
    blocking_move(ctx, args, from, to, timeout)
}

fn brpoplpush(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let timeout = parse::timeout_secs(args[3])?;
    blocking_move(ctx, args, End::Right, End::Left, timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_count_from_either_end() {
        assert_eq!(resolve(0, 3), Some(0));
        assert_eq!(resolve(-1, 3), Some(2));
        assert_eq!(resolve(-3, 3), Some(0));
        assert_eq!(resolve(-4, 3), None);
        assert_eq!(resolve(3, 3), None);
        assert_eq!(resolve(i64::MIN, 3), None);
        assert_eq!(resolve(i64::MAX, 3), None);
    }

    #[test]
    fn ranges_clamp_like_redis() {
        assert_eq!(span(0, -1, 5), Some((0, 5)));
        assert_eq!(span(-100, 100, 5), Some((0, 5)));
        assert_eq!(span(1, 2, 5), Some((1, 3)));
        assert_eq!(span(3, 1, 5), None);
        assert_eq!(span(5, 10, 5), None);
        assert_eq!(span(0, -6, 5), None);
        assert_eq!(span(i64::MIN, i64::MAX, 5), Some((0, 5)));
        assert_eq!(span(0, 0, 0), None);
    }

    #[test]
    fn mpop_arguments_are_checked_in_redis_order() {
        let args = |line: &'static str| -> Vec<&'static [u8]> {
            line.split(' ').map(str::as_bytes).collect()
        };
        let numkeys = Err(Error::msg("ERR numkeys should be greater than 0"));
        let count = Err(Error::msg("ERR count should be greater than 0"));
        let check = |line, at| mpop_args(&args(line), at).map(|m| (m.keys.len(), m.end, m.count));
        assert_eq!(check("lmpop 2 a b left", 1), Ok((2, End::Left, 1)));
        assert_eq!(check("lmpop 1 a RIGHT COUNT 5", 1), Ok((1, End::Right, 5)));
        assert_eq!(check("lmpop 0 a left", 1), numkeys);
        assert_eq!(check("lmpop x a left", 1), numkeys);
        assert_eq!(check("lmpop 2 a left", 1), Err(Error::Syntax));
        assert_eq!(check("lmpop 1 a up", 1), Err(Error::Syntax));
        assert_eq!(check("lmpop 1 a left count 0", 1), count);
        assert_eq!(check("lmpop 1 a left count", 1), Err(Error::Syntax));
        assert_eq!(
            check("lmpop 1 a left count 1 count 2", 1),
            Err(Error::Syntax)
        );
        assert_eq!(check("lmpop 99999999999999999999 a left", 1), numkeys);
        assert_eq!(
            check("lmpop 9223372036854775807 a left", 1),
            Err(Error::Syntax)
        );
        assert_eq!(check("blmpop 0 1 a left", 2), Ok((1, End::Left, 1)));
    }

    #[test]
    fn every_list_command_is_in_the_list_group_with_parsable_syntax() {
        for command in COMMANDS {
            assert_eq!(command.doc.group, "list");
            assert!(
                super::super::docs::parse_syntax(command.doc.args).is_ok(),
                "{}",
                command.name
            );
        }
    }
}
