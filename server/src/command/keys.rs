//! Generic keyspace commands: deletion, existence, renaming, expiry, iteration, databases.

use super::parse::{self, is};
use super::{Command, Ctx, Doc, KeySpec, flag::*};
use crate::error::{CommandResult, Error};
use crate::glob::Pattern;
use crate::protocol::Reply;
use crate::store::locked::Access;
use crate::store::{DbIndex, SHARDS, Store};
use rand::RngExt;

const fn doc(
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    args: &'static str,
) -> Doc {
    Doc {
        group: "generic",
        since,
        summary,
        complexity,
        args,
    }
}

pub const COMMANDS: &[Command] = &[
    Command {
        name: "del",
        arity: -2,
        flags: WRITE,
        keys: KeySpec::ALL,
        doc: doc(
            "1.0.0",
            "Removes keys and counts those that existed.",
            "O(N) for N keys, plus the size of the removed values.",
            "key...",
        ),
        run: del,
        subcommands: &[],
    },
    Command {
        name: "unlink",
        arity: -2,
        flags: WRITE | FAST,
        keys: KeySpec::ALL,
        doc: doc(
            "4.0.0",
            "Removes keys, freeing large values in the background.",
            "O(1) per key.",
            "key...",
        ),
        run: unlink,
        subcommands: &[],
    },
    Command {
        name: "exists",
        arity: -2,
        flags: READONLY | FAST,
        keys: KeySpec::ALL,
        doc: doc(
            "1.0.0",
            "Counts how many of the named keys exist.",
            "O(N) for N keys.",
            "key...",
        ),
        run: exists,
        subcommands: &[],
    },
    Command {
        name: "type",
        arity: 2,
        flags: READONLY | FAST,
        keys: KeySpec::ONE,
        doc: doc(
            "1.0.0",
            "Names the type of the value at a key.",
            "O(1)",
            "key",
        ),
        run: type_,
        subcommands: &[],
    },
    Command {
        name: "rename",
        arity: 3,
        flags: WRITE,
        keys: KeySpec::TWO,
        doc: doc(
            "1.0.0",
            "Gives a key a new name, replacing any key already there.",
            "O(1)",
            "key newkey:key",
        ),
        run: rename,
        subcommands: &[],
    },
    Command {
        name: "renamenx",
        arity: 3,
        flags: WRITE | FAST,
        keys: KeySpec::TWO,
        doc: doc(
            "1.0.0",
            "Gives a key a new name, only if that name is free.",
            "O(1)",
            "key newkey:key",
        ),
        run: renamenx,
        subcommands: &[],
    },
    Command {
        name: "copy",
        arity: -3,
        flags: WRITE | DENYOOM,
        keys: KeySpec::TWO,
        doc: doc(
            "6.2.0",
            "Duplicates a key's value and expiry under another name or database.",
            "O(1) for strings, O(N) for a collection of N items.",
            "source:key destination:key [DB destination-db:int] [REPLACE]",
        ),
        run: copy,
        subcommands: &[],
    },
    Command {
        name: "move",
        arity: 3,
        flags: WRITE | FAST,
        keys: KeySpec::ONE,
        doc: doc(
            "1.0.0",
            "Transfers a key into another database.",
            "O(1)",
            "key db:int",
        ),
        run: move_,
        subcommands: &[],
    },
    Command {
        name: "expire",
        arity: -3,
        flags: WRITE | FAST,
        keys: KeySpec::ONE,
        doc: doc(
            "1.0.0",
            "Gives a key a time to live in seconds.",
            "O(1)",
            "key seconds:int [condition=NX | XX | GT | LT]",
        ),
        run: expire,
        subcommands: &[],
    },
    Command {
        name: "pexpire",
        arity: -3,
        flags: WRITE | FAST,
        keys: KeySpec::ONE,
        doc: doc(
            "2.6.0",
            "Gives a key a time to live in milliseconds.",
            "O(1)",
            "key milliseconds:int [condition=NX | XX | GT | LT]",
        ),
        run: pexpire,
        subcommands: &[],
    },
    Command {
        name: "expireat",
        arity: -3,
        flags: WRITE | FAST,
        keys: KeySpec::ONE,
        doc: doc(
            "1.2.0",
            "Makes a key expire at a Unix time in seconds.",
            "O(1)",
            "key unix-time-seconds:time [condition=NX | XX | GT | LT]",
        ),
        run: expireat,
        subcommands: &[],
    },
    Command {
        name: "pexpireat",
        arity: -3,
        flags: WRITE | FAST,
        keys: KeySpec::ONE,
        doc: doc(
            "2.6.0",
            "Makes a key expire at a Unix time in milliseconds.",
            "O(1)",
            "key unix-time-milliseconds:time [condition=NX | XX | GT | LT]",
        ),
        run: pexpireat,
        subcommands: &[],
    },
    Command {
        name: "ttl",
        arity: 2,
        flags: READONLY | FAST,
        keys: KeySpec::ONE,
        doc: doc(
            "1.0.0",
            "Gives the seconds a key has left to live.",
            "O(1)",
            "key",
        ),
        run: ttl,
        subcommands: &[],
    },
    Command {
        name: "pttl",
        arity: 2,
        flags: READONLY | FAST,
        keys: KeySpec::ONE,
        doc: doc(
            "2.6.0",
            "Gives the milliseconds a key has left to live.",
            "O(1)",
            "key",
        ),
        run: pttl,
        subcommands: &[],
    },
    Command {
        name: "expiretime",
        arity: 2,
        flags: READONLY | FAST,
        keys: KeySpec::ONE,
        doc: doc(
            "7.0.0",
            "Gives the Unix time in seconds at which a key expires.",
            "O(1)",
            "key",
        ),
        run: expiretime,
        subcommands: &[],
    },
    Command {
        name: "pexpiretime",
        arity: 2,
        flags: READONLY | FAST,
        keys: KeySpec::ONE,
        doc: doc(
            "7.0.0",
            "Gives the Unix time in milliseconds at which a key expires.",
            "O(1)",
            "key",
        ),
        run: pexpiretime,
        subcommands: &[],
    },
    Command {
        name: "persist",
        arity: 2,
        flags: WRITE | FAST,
        keys: KeySpec::ONE,
        doc: doc("2.2.0", "Makes a key live forever again.", "O(1)", "key"),
        run: persist,
        subcommands: &[],
    },
    Command {
        name: "touch",
        arity: -2,
        flags: READONLY | FAST,
        keys: KeySpec::ALL,
        doc: doc(
            "3.2.1",
            "Marks keys as just used and counts those that exist.",
            "O(N) for N keys.",
            "key...",
        ),
        run: touch,
        subcommands: &[],
    },
    Command {
        name: "keys",
        arity: 2,
        flags: READONLY | KEYSPACE,
        keys: KeySpec::NONE,
        doc: doc(
            "1.0.0",
            "Lists the keys whose names match a glob pattern.",
            "O(N) for N keys in the database.",
            "pattern:pattern",
        ),
        run: keys,
        subcommands: &[],
    },
    Command {
        name: "scan",
        arity: -2,
        flags: READONLY | KEYSPACE,
        keys: KeySpec::NONE,
        doc: doc(
            "2.8.0",
            "Walks the key names of the database a few at a time with a cursor.",
            "O(1) per call, O(N) for a whole iteration over N keys.",
            "cursor:int [MATCH pattern:pattern] [COUNT count:int] [TYPE type]",
        ),
        run: scan,
        subcommands: &[],
    },
    Command {
        name: "randomkey",
        arity: 1,
        flags: READONLY | KEYSPACE,
        keys: KeySpec::NONE,
        doc: doc("1.0.0", "Picks the name of a random key.", "O(1)", ""),
        run: randomkey,
        subcommands: &[],
    },
    Command {
        name: "dbsize",
        arity: 1,
        flags: READONLY | FAST | KEYSPACE,
        keys: KeySpec::NONE,
        doc: Doc {
            group: "server",
            ..doc(
                "1.0.0",
                "Counts the keys of the selected database.",
                "O(1)",
                "",
            )
        },
        run: dbsize,
        subcommands: &[],
    },
    Command {
        name: "flushdb",
        arity: -1,
        flags: WRITE | KEYSPACE,
        keys: KeySpec::NONE,
        doc: Doc {
            group: "server",
            ..doc(
                "1.0.0",
                "Empties the selected database.",
                "O(N) for N keys in the database.",
                "[flush-type=ASYNC | SYNC]",
            )
        },
        run: flushdb,
        subcommands: &[],
    },
    Command {
        name: "flushall",
        arity: -1,
        flags: WRITE | KEYSPACE,
        keys: KeySpec::NONE,
        doc: Doc {
            group: "server",
            ..doc(
                "1.0.0",
                "Empties every database.",
                "O(N) for N keys in all databases.",
                "[flush-type=ASYNC | SYNC]",
            )
        },
        run: flushall,
        subcommands: &[],
    },
    Command {
        name: "swapdb",
        arity: 3,
        flags: WRITE | FAST | KEYSPACE,
        keys: KeySpec::NONE,
        doc: Doc {
            group: "server",
            ..doc(
                "4.0.0",
                "Exchanges the contents of two databases.",
                "O(1)",
                "index1:int index2:int",
            )
        },
        run: swapdb,
        subcommands: &[],
    },
    Command {
        name: "object",
        arity: -2,
        flags: 0,
        keys: KeySpec::NONE,
        doc: doc(
            "2.2.3",
            "Subcommands that describe how a key's value is kept.",
            "See each subcommand.",
            "",
        ),
        run: Command::container,
        subcommands: OBJECT,
    },
];

const OBJECT: &[Command] = &[
    Command {
        name: "encoding",
        arity: 3,
        flags: READONLY,
        keys: KeySpec {
            first: 2,
            last: 2,
            step: 1,
        },
        doc: doc(
            "2.2.3",
            "Names the internal representation of a key's value.",
            "O(1)",
            "key",
        ),
        run: object_encoding,
        subcommands: &[],
    },
    Command {
        name: "freq",
        arity: 3,
        flags: READONLY,
        keys: KeySpec {
            first: 2,
            last: 2,
            step: 1,
        },
        doc: doc(
            "4.0.0",
            "Gives a key's access frequency counter (LFU policies only).",
            "O(1)",
            "key",
        ),
        run: object_freq,
        subcommands: &[],
    },
    Command {
        name: "idletime",
        arity: 3,
        flags: READONLY,
        keys: KeySpec {
            first: 2,
            last: 2,
            step: 1,
        },
        doc: doc(
            "2.2.3",
            "Gives the seconds since a key was last used.",
            "O(1)",
            "key",
        ),
        run: object_idletime,
        subcommands: &[],
    },
    Command {
        name: "refcount",
        arity: 3,
        flags: READONLY,
        keys: KeySpec {
            first: 2,
            last: 2,
            step: 1,
        },
        doc: doc(
            "2.2.3",
            "Gives how many references a key's value has.",
            "O(1)",
            "key",
        ),
        run: object_refcount,
        subcommands: &[],
    },
    Command {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        keys: KeySpec::NONE,
        doc: doc("6.2.0", "Lists the OBJECT subcommands.", "O(1)", ""),
        run: object_help,
        subcommands: &[],
    },
];

/// For commands that also touch a key in another database (`MOVE key db`, `COPY src dst DB
/// n`): that database and the argument index of the key, so dispatch can lock it too. Reads
/// the arguments exactly as the handlers do; invalid ones lock nothing (the handler refuses
/// them before touching any key).
pub fn cross_db_key(
    command: &Command,
    args: &[&[u8]],
    databases: usize,
) -> Option<(DbIndex, usize)> {
    match command.name {
        "move" => parse_db_index(args.get(2)?, databases)
            .ok()
            .map(|db| (db, 1)),
        "copy" => copy_options(args, databases).ok()?.db.map(|db| (db, 2)),
        _ => None,
    }
}

/// Redis's `getIntFromObjectOrReply`: an integer in the C `int` range.
fn parse_c_int(arg: &[u8]) -> Result<i64, Error> {
    let n = parse::int(arg)?;
    if i32::try_from(n).is_err() {
        return Err(Error::msg(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    Ok(n)
}

/// A database index argument, with Redis's errors: not an integer, outside the C `int`
/// range, or not an existing database.
fn parse_db_index(arg: &[u8], databases: usize) -> Result<DbIndex, Error> {
    let n = parse_c_int(arg)?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n < databases)
        .ok_or(Error::DbIndexOutOfRange)
}

/// `COPY`'s options: the target database if `DB` was given (the last one wins, each one is
/// checked as it is read) and `REPLACE`.
struct CopyOptions {
    db: Option<DbIndex>,
    replace: bool,
}

fn copy_options(args: &[&[u8]], databases: usize) -> Result<CopyOptions, Error> {
    let mut options = CopyOptions {
        db: None,
        replace: false,
    };
    let mut i = 3;
    while i < args.len() {
        if is(args[i], "replace") {
            options.replace = true;
        } else if is(args[i], "db") && i + 1 < args.len() {
            options.db = Some(parse_db_index(args[i + 1], databases)?);
            i += 1;
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    Ok(options)
}

/// Runs `f` on the live entry of `key` the way Redis's `LOOKUP_NOTOUCH` reads do (`EXISTS`,
/// `TYPE`, `TTL`, `OBJECT`): a keyspace hit or miss is counted, the LRU clock is left alone.
fn read_untouched<T>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(&crate::store::EntryMut<'_>) -> T,
) -> Option<T> {
    let db = ctx.db();
    let touch = std::mem::replace(&mut ctx.keys.touch, false);
    let result = ctx
        .keys
        .lookup(db, key, Access::Read)
        .map(|entry| f(&entry));
    ctx.keys.touch = touch;
    result
}

fn del(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let removed = args[1..]
        .iter()
        .filter(|key| ctx.keys.remove(db, key).is_some())
        .count();
    Ok(Reply::Int(removed as i64))
}

fn unlink(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let mut removed = 0;
    for key in &args[1..] {
        if let Some(entry) = ctx.keys.remove(db, key) {
            removed += 1;
            if entry.value().free_cost() > LAZY_FREE_THRESHOLD {
                ctx.keys.store().free_later(Box::new(entry));
            }
        }
    }
    Ok(Reply::Int(removed))
}

/// Values needing more frees than this are released on the lazy-free thread (as Redis's
/// `LAZYFREE_THRESHOLD`).
const LAZY_FREE_THRESHOLD: usize = 64;

fn exists(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    // Every argument counts, so a key named twice counts twice.
    let found = args[1..]
        .iter()
        .filter(|key| read_untouched(ctx, key, |_| ()).is_some())
        .count();
    Ok(Reply::Int(found as i64))
}

fn type_(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let name = read_untouched(ctx, args[1], |entry| entry.value().type_name());
    Ok(Reply::status(name.unwrap_or("none")))
}

/// Moves `from` to `to` in the caller's database. `Ok(false)` when `to` exists and `nx`.
fn rename_key(ctx: &mut Ctx<'_, '_>, from: &[u8], to: &[u8], nx: bool) -> Result<bool, Error> {
    let db = ctx.db();
    if !ctx.keys.exists(db, from) {
        return Err(Error::NoSuchKey);
    }
    if from == to {
        return Ok(!nx);
    }
    if nx && ctx.keys.exists(db, to) {
        return Ok(false);
    }
    match ctx.keys.move_key(db, from, db, to) {
        None => Err(Error::NoSuchKey),
        Some(replaced) => {
            if let Some(old) = replaced.filter(|v| v.free_cost() > LAZY_FREE_THRESHOLD) {
                ctx.keys.store().free_later(Box::new(old));
            }
            Ok(true)
        }
    }
}

fn rename(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    rename_key(ctx, args[1], args[2], false)?;
    Ok(Reply::Ok)
}

fn renamenx(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    Ok(Reply::Int(i64::from(rename_key(
        ctx, args[1], args[2], true,
    )?)))
}

fn copy(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (src, dst) = (args[1], args[2]);
    let options = copy_options(args, ctx.node.store.databases())?;
    let db = ctx.db();
    let target = options.db.unwrap_or(db);
    if src == dst && db == target {
        return Err(Error::msg(
            "ERR source and destination objects are the same",
        ));
    }
    let Some(entry) = ctx.keys.get(db, src) else {
        return Ok(Reply::Int(0));
    };
    let (value, expire) = (entry.value().clone(), entry.expire_at());
    if !options.replace && ctx.keys.exists(target, dst) {
        return Ok(Reply::Int(0));
    }
    ctx.keys.set(target, dst, value, expire);
    Ok(Reply::Int(1))
}

fn move_(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let target = parse_db_index(args[2], ctx.node.store.databases())?;
    let db = ctx.db();
    if target == db {
        return Err(Error::msg(
            "ERR source and destination objects are the same",
        ));
    }
    if !ctx.keys.exists(db, args[1]) || ctx.keys.exists(target, args[1]) {
        return Ok(Reply::Int(0));
    }
    let moved = ctx.keys.move_key(db, args[1], target, args[1]);
    Ok(Reply::Int(i64::from(moved.is_some())))
}

/// EXPIRE's NX/XX/GT/LT conditions.
#[derive(Default)]
struct ExpireCondition {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn expire_condition(args: &[&[u8]]) -> Result<ExpireCondition, Error> {
    let mut c = ExpireCondition::default();
    for arg in args {
        match () {
            _ if is(arg, "nx") => c.nx = true,
            _ if is(arg, "xx") => c.xx = true,
            _ if is(arg, "gt") => c.gt = true,
            _ if is(arg, "lt") => c.lt = true,
            _ => {
                return Err(Error::err(format!(
                    "Unsupported option {}",
                    parse::text(arg)
                )));
            }
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        return Err(Error::msg(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if c.gt && c.lt {
        return Err(Error::msg(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(c)
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: `seconds` says the unit, `relative` the base.
fn expire_generic(
    ctx: &mut Ctx<'_, '_>,
    args: &[&[u8]],
    seconds: bool,
    relative: bool,
    name: &'static str,
) -> CommandResult {
    let condition = expire_condition(&args[3..])?;
    let mut when = parse::int(args[2])?;
    let invalid = Error::InvalidExpireTime(name);
    if seconds {
        when = when.checked_mul(1000).ok_or(invalid.clone())?;
    }
    if relative {
        when = when.checked_add(ctx.keys.now as i64).ok_or(invalid)?;
    }
    let db = ctx.db();
    let now = ctx.keys.now as i64;
    let Some(mut entry) = ctx.keys.get_mut(db, args[1]) else {
        return Ok(Reply::Int(0));
    };
    let current = entry.expire_at().map(|t| t as i64);
    let refused = (condition.nx && current.is_some())
        || (condition.xx && current.is_none())
        || (condition.gt && current.is_none_or(|c| when <= c))
        || (condition.lt && current.is_some_and(|c| when >= c));
    if refused {
        return Ok(Reply::Int(0));
    }
    if when <= now {
        ctx.keys.remove(db, args[1]);
    } else {
        entry.set_expire_at(Some(when as u64));
    }
    Ok(Reply::Int(1))
}

fn expire(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    expire_generic(ctx, args, true, true, "expire")
}

fn pexpire(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    expire_generic(ctx, args, false, true, "pexpire")
}

fn expireat(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    expire_generic(ctx, args, true, false, "expireat")
}

fn pexpireat(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    expire_generic(ctx, args, false, false, "pexpireat")
}

/// TTL and friends: -2 missing, -1 no expiry, else the remaining or absolute time.
fn ttl_generic(ctx: &mut Ctx<'_, '_>, key: &[u8], millis: bool, absolute: bool) -> CommandResult {
    let now = ctx.keys.now;
    let Some(expire_at) = read_untouched(ctx, key, |entry| entry.expire_at()) else {
        return Ok(Reply::Int(-2));
    };
    let Some(at) = expire_at else {
        return Ok(Reply::Int(-1));
    };
    let ms = if absolute { at } else { at.saturating_sub(now) } as i64;
    Ok(Reply::Int(if millis { ms } else { (ms + 500) / 1000 }))
}

fn ttl(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    ttl_generic(ctx, args[1], false, false)
}

fn pttl(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    ttl_generic(ctx, args[1], true, false)
}

fn expiretime(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    ttl_generic(ctx, args[1], false, true)
}

fn pexpiretime(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    ttl_generic(ctx, args[1], true, true)
}

fn persist(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    Ok(Reply::Int(match ctx.keys.get_mut(db, args[1]) {
        Some(mut entry) if entry.expire_at().is_some() => {
            entry.set_expire_at(None);
            1
        }
        _ => 0,
    }))
}

fn touch(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    // TOUCH updates access times even for clients in NO-TOUCH mode, and counts as a read.
    let touch = std::mem::replace(&mut ctx.keys.touch, true);
    let found = args[1..]
        .iter()
        .filter(|key| ctx.keys.lookup(db, key, Access::Read).is_some())
        .count();
    ctx.keys.touch = touch;
    Ok(Reply::Int(found as i64))
}

fn keys(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let pattern = Pattern::new(args[1], false);
    let db = ctx.db();
    let now = ctx.keys.now;
    let mut found = Vec::new();
    ctx.keys.for_each_shard(db, |shard| {
        for index in 0..shard.buckets() {
            if let Some(entry) = shard.live_at(index, now)
                && pattern.matches(entry.key())
            {
                found.push(Reply::bulk(entry.key()));
            }
        }
    });
    Ok(Reply::Array(found))
}

/// A SCAN cursor: which shard, which bucket, and the generation of the shard's table the
/// bucket index belongs to (its low 10 bits). Packed as `bucket << 16 | generation << 6 |
/// shard`; 0 is both the start and the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScanCursor {
    shard: usize,
    generation: u32,
    bucket: usize,
}

/// Bits of a table generation a cursor keeps.
const GENERATION_MASK: u32 = (1 << 10) - 1;

impl ScanCursor {
    const START: ScanCursor = ScanCursor {
        shard: 0,
        generation: 0,
        bucket: 0,
    };

    fn decode(cursor: u64) -> ScanCursor {
        ScanCursor {
            shard: (cursor & 63) as usize,
            generation: ((cursor >> 6) as u32) & GENERATION_MASK,
            bucket: (cursor >> 16) as usize,
        }
    }

    fn encode(self) -> u64 {
        ((self.bucket as u64) << 16)
            | (u64::from(self.generation & GENERATION_MASK) << 6)
            | self.shard as u64
    }
}

fn scan(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let cursor = parse_cursor(args[1]).ok_or(Error::msg("ERR invalid cursor"))?;
    let mut count = 10usize;
    let mut pattern = None;
    let mut type_filter = None;
    let mut i = 2;
    while i < args.len() {
        let value = args.get(i + 1).copied().ok_or(Error::Syntax)?;
        if is(args[i], "count") {
            let n = parse::int(value)?;
            if n < 1 {
                return Err(Error::Syntax);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if is(args[i], "match") {
            pattern = Some(Pattern::new(value, false)).filter(|p| !p.matches_all());
        } else if is(args[i], "type") {
            type_filter = Some(value.to_ascii_lowercase());
        } else {
            return Err(Error::Syntax);
        }
        i += 2;
    }
    let db = ctx.db();
    let now = ctx.keys.now;
    let mut at = ScanCursor::decode(cursor);
    if at.shard >= SHARDS {
        return Ok(scan_reply(0, Vec::new()));
    }
    let mut keys = Vec::new();
    // Bound the work of one call, empty buckets included (Redis visits at most 10×COUNT).
    let mut budget = count.saturating_mul(10);
    loop {
        let shard = ctx.keys.shard(db, at.shard);
        let generation = shard.generation() & GENERATION_MASK;
        if generation != at.generation {
            // The table was rebuilt since the cursor was issued: entries moved to other
            // buckets, so rescan this shard from its start (duplicates are allowed, misses
            // are not).
            at.bucket = 0;
            at.generation = generation;
        }
        while at.bucket < shard.buckets() && keys.len() < count && budget > 0 {
            if let Some(entry) = shard.live_at(at.bucket, now) {
                keys.push((entry.key().to_vec(), entry.value().type_name()));
            }
            at.bucket += 1;
            budget -= 1;
        }
        if at.bucket < shard.buckets() {
            break;
        }
        // This shard is done; the next one starts at bucket 0, valid for any generation.
        at = ScanCursor {
            shard: at.shard + 1,
            ..ScanCursor::START
        };
        if at.shard == SHARDS {
            at = ScanCursor::START;
            break;
        }
        if keys.len() >= count || budget == 0 {
            break;
        }
    }
    let next = at.encode();
    let keys = keys
        .into_iter()
        .filter(|(key, kind)| {
            pattern.as_ref().is_none_or(|p| p.matches(key))
                && type_filter.as_deref().is_none_or(|t| t == kind.as_bytes())
        })
        .map(|(key, _)| Reply::bulk(&key))
        .collect();
    Ok(scan_reply(next, keys))
}

fn scan_reply(cursor: u64, keys: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::bulk_string(cursor.to_string()),
        Reply::Array(keys),
    ])
}

/// A cursor as Redis reads it (`strtoul` on the C string): no leading space, optional sign
/// (a minus wraps around, so `-1` is the largest cursor), decimal digits, nothing after
/// them; an empty string is 0 and a value above 2^64 - 1 is refused.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
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

fn randomkey(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let now = ctx.keys.now;
    let mut rng = rand::rng();
    let start = rng.random_range(0..SHARDS);
    for offset in 0..SHARDS {
        let shard = ctx.keys.shard(db, (start + offset) % SHARDS);
        if shard.is_empty() {
            continue;
        }
        let buckets = shard.buckets();
        // Random probes first; a full sweep from a random point guarantees an answer.
        for _ in 0..64 {
            if let Some(entry) = shard.live_at(rng.random_range(0..buckets), now) {
                return Ok(Reply::bulk(entry.key()));
            }
        }
        let from = rng.random_range(0..buckets);
        for index in (from..buckets).chain(0..from) {
            if let Some(entry) = shard.live_at(index, now) {
                return Ok(Reply::bulk(entry.key()));
            }
        }
    }
    Ok(Reply::Null)
}

fn dbsize(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let mut total = 0;
    ctx.keys.for_each_shard(db, |shard| total += shard.len());
    Ok(Reply::Int(total as i64))
}

/// FLUSHDB / FLUSHALL's optional ASYNC or SYNC: true for asynchronous.
fn flush_mode(args: &[&[u8]]) -> Result<bool, Error> {
    match args {
        [] => Ok(false),
        [mode] if is(mode, "async") => Ok(true),
        [mode] if is(mode, "sync") => Ok(false),
        _ => Err(Error::Syntax),
    }
}

fn flush_db(ctx: &mut Ctx<'_, '_>, db: DbIndex, lazy: bool) {
    let store: &Store = ctx.keys.store();
    ctx.keys.for_each_shard(db, |shard| {
        let old = shard.take_all();
        if lazy {
            store.free_later(Box::new(old));
        }
    });
}

fn flushdb(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let lazy = flush_mode(&args[1..])?;
    let db = ctx.db();
    flush_db(ctx, db, lazy);
    Ok(Reply::Ok)
}

fn flushall(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let lazy = flush_mode(&args[1..])?;
    for db in 0..ctx.node.store.databases() {
        flush_db(ctx, db, lazy);
    }
    Ok(Reply::Ok)
}

fn swapdb(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let a = parse_c_int(args[1]).map_err(|_| Error::msg("ERR invalid first DB index"))?;
    let b = parse_c_int(args[2]).map_err(|_| Error::msg("ERR invalid second DB index"))?;
    let databases = ctx.node.store.databases() as i64;
    if !(0..databases).contains(&a) || !(0..databases).contains(&b) {
        return Err(Error::DbIndexOutOfRange);
    }
    ctx.keys.swap_databases(a as usize, b as usize);
    Ok(Reply::Ok)
}

fn object_encoding(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    Ok(
        match read_untouched(ctx, args[2], |entry| entry.value().encoding()) {
            Some(encoding) => Reply::bulk_static(encoding),
            None => Reply::Null,
        },
    )
}

fn object_freq(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    if read_untouched(ctx, args[2], |_| ()).is_none() {
        return Ok(Reply::Null);
    }
    // Access frequencies are tracked only under an LFU maxmemory-policy, which this node
    // does not have yet (its policy is noeviction).
    Err(Error::msg(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
    ))
}

fn object_idletime(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let now = ctx.keys.now;
    Ok(match read_untouched(ctx, args[2], |entry| entry.access()) {
        Some(access) => Reply::Int(crate::clock::idle_seconds(access, now) as i64),
        None => Reply::Null,
    })
}

fn object_refcount(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    // Values are never shared between keys here, so every live value has one reference
    // (Redis 7.0 shares small integers and reports 2147483647 for them).
    Ok(match read_untouched(ctx, args[2], |_| ()) {
        Some(()) => Reply::Int(1),
        None => Reply::Null,
    })
}

fn object_help(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(super::help_reply(
        "OBJECT",
        &[
            "ENCODING <key>",
            "    The internal representation of the value at <key> (int, embstr, raw...).",
            "FREQ <key>",
            "    The access frequency counter of <key>; needs an LFU maxmemory-policy.",
            "IDLETIME <key>",
            "    Seconds since <key> was last read or written.",
            "REFCOUNT <key>",
            "    References to the value at <key>; always 1 here, values are never shared.",
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;

    #[test]
    fn scan_cursors_round_trip() {
        let c = ScanCursor {
            shard: 63,
            generation: 1023,
            bucket: 123_456,
        };
        assert_eq!(ScanCursor::decode(c.encode()), c);
        assert_eq!(ScanCursor::decode(0), ScanCursor::START);
    }

    #[test]
    fn values_know_their_free_cost() {
        assert_eq!(Value::string(b"x").free_cost(), 1);
    }
}
