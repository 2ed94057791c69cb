//! Generic keyspace commands: deletion, existence, renaming, expiry, iteration, databases.

use super::parse::{self, is};
use super::{Command, Ctx, Doc, KeySpec, flag::*};
use crate::error::{CommandResult, Error};
use crate::glob::Pattern;
use crate::protocol::Reply;
use crate::store::{DbIndex, SHARDS, Shard, Store};
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
            "Deletes one or more keys.",
            "O(N) where N is the number of keys that will be removed.",
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
            "Asynchronously deletes one or more keys.",
            "O(1) for each key removed regardless of its size.",
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
            "Determines whether one or more keys exist.",
            "O(N) where N is the number of keys to check.",
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
            "Determines the type of value stored at a key.",
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
            "Renames a key and overwrites the destination.",
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
            "Renames a key only when the target key name doesn't exist.",
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
            "Copies the value of a key to a new key.",
            "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
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
            "Moves a key to another database.",
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
            "Sets the expiration time of a key in seconds.",
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
            "Sets the expiration time of a key in milliseconds.",
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
            "Sets the expiration time of a key to a Unix timestamp.",
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
            "Sets the expiration time of a key to a Unix milliseconds timestamp.",
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
            "Returns the expiration time in seconds of a key.",
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
            "Returns the expiration time in milliseconds of a key.",
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
            "Returns the expiration time of a key as a Unix timestamp.",
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
            "Returns the expiration time of a key as a Unix milliseconds timestamp.",
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
        doc: doc(
            "2.2.0",
            "Removes the expiration time of a key.",
            "O(1)",
            "key",
        ),
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
            "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
            "O(N) where N is the number of keys that will be touched.",
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
            "Returns all key names that match a pattern.",
            "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
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
            "Iterates over the key names in the database.",
            "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
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
        doc: doc(
            "1.0.0",
            "Returns a random key name from the database.",
            "O(1)",
            "",
        ),
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
                "Returns the number of keys in the database.",
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
                "Remove all keys from the current database.",
                "O(N) where N is the number of keys in the selected database",
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
                "Removes all keys from all databases.",
                "O(N) where N is the total number of keys in all databases",
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
                "Swaps two Redis databases.",
                "O(N) where N is the count of clients watching or blocking on keys from both databases.",
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
            "A container for object introspection commands.",
            "Depends on subcommand.",
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
            "Returns the internal encoding of a Redis object.",
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
            "Returns the logarithmic access frequency counter of a Redis object.",
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
            "Returns the time since the last access to a Redis object.",
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
            "Returns the reference count of a value of a key.",
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
        doc: doc(
            "6.2.0",
            "Returns helpful text about the different subcommands.",
            "O(1)",
            "",
        ),
        run: object_help,
        subcommands: &[],
    },
];

/// For commands that also touch a key in another database (`MOVE key db`, `COPY src dst DB
/// n`): that database and the argument index of the key, so dispatch can lock it too.
pub fn cross_db_key(
    command: &Command,
    args: &[&[u8]],
    databases: usize,
) -> Option<(DbIndex, usize)> {
    let valid = |arg: &[u8]| {
        parse::int(arg)
            .ok()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n < databases)
    };
    match command.name {
        "move" => valid(args[2]).map(|db| (db, 1)),
        "copy" => {
            let at = args.iter().skip(3).position(|a| is(a, "db"))? + 3;
            valid(args.get(at + 1)?).map(|db| (db, 2))
        }
        _ => None,
    }
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
    let db = ctx.db();
    let found = args[1..]
        .iter()
        .filter(|key| ctx.keys.exists(db, key))
        .count();
    Ok(Reply::Int(found as i64))
}

fn type_(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let name = match ctx
        .keys
        .lookup(db, args[1], crate::store::locked::Access::Peek)
    {
        Some(entry) => entry.value().type_name(),
        None => "none",
    };
    Ok(Reply::status(name))
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
    let Some(entry) = ctx.keys.remove(db, from) else {
        return Err(Error::NoSuchKey);
    };
    let expire = entry.expire_at();
    if let Some(old) = ctx.keys.set(db, to, entry.into_value(), expire) {
        ctx.keys.store().free_later(Box::new(old));
    }
    Ok(true)
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

/// A database index argument: not an integer → NotInteger, outside the range → out of range.
fn db_index(ctx: &Ctx<'_, '_>, arg: &[u8]) -> Result<DbIndex, Error> {
    let n = parse::int(arg)?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n < ctx.node.store.databases())
        .ok_or(Error::DbIndexOutOfRange)
}

fn copy(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (src, dst) = (args[1], args[2]);
    let mut target = ctx.db();
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if is(args[i], "replace") {
            replace = true;
        } else if is(args[i], "db") && i + 1 < args.len() {
            target = db_index(ctx, args[i + 1])?;
            i += 1;
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    let db = ctx.db();
    if src == dst && db == target {
        return Err(Error::msg(
            "ERR source and destination objects are the same",
        ));
    }
    let Some(entry) = ctx.keys.get(db, src) else {
        return Ok(Reply::Int(0));
    };
    let (value, expire) = (entry.value().clone(), entry.expire_at());
    if !replace && ctx.keys.exists(target, dst) {
        return Ok(Reply::Int(0));
    }
    ctx.keys.set(target, dst, value, expire);
    Ok(Reply::Int(1))
}

fn move_(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let target = db_index(ctx, args[2])?;
    let db = ctx.db();
    if target == db {
        return Err(Error::msg(
            "ERR source and destination objects are the same",
        ));
    }
    if !ctx.keys.exists(db, args[1]) || ctx.keys.exists(target, args[1]) {
        return Ok(Reply::Int(0));
    }
    let Some(entry) = ctx.keys.remove(db, args[1]) else {
        return Ok(Reply::Int(0));
    };
    let expire = entry.expire_at();
    ctx.keys.set(target, args[1], entry.into_value(), expire);
    Ok(Reply::Int(1))
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
    let db = ctx.db();
    let now = ctx.keys.now;
    let Some(entry) = ctx.keys.lookup(db, key, crate::store::locked::Access::Read) else {
        return Ok(Reply::Int(-2));
    };
    let Some(at) = entry.expire_at() else {
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
    // TOUCH updates access times even for clients in NO-TOUCH mode.
    ctx.keys.touch = true;
    let found = args[1..]
        .iter()
        .filter(|key| {
            ctx.keys
                .lookup(db, key, crate::store::locked::Access::Write)
                .is_some()
        })
        .count();
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

/// A SCAN cursor: which shard, which bucket, and the table size the bucket index belongs to.
/// Packed as `bucket << 12 | log2(buckets) << 6 | shard`; 0 is both the start and the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScanCursor {
    shard: usize,
    size_log2: u32,
    bucket: usize,
}

impl ScanCursor {
    fn decode(cursor: u64) -> ScanCursor {
        ScanCursor {
            shard: (cursor & 63) as usize,
            size_log2: ((cursor >> 6) & 63) as u32,
            bucket: (cursor >> 12) as usize,
        }
    }

    fn encode(self) -> u64 {
        ((self.bucket as u64) << 12) | (u64::from(self.size_log2) << 6) | self.shard as u64
    }
}

fn size_log2(shard: &Shard) -> u32 {
    shard.buckets().checked_ilog2().unwrap_or(0)
}

fn scan(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let cursor = std::str::from_utf8(args[1])
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or(Error::msg("ERR invalid cursor"))?;
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
        if size_log2(shard) != at.size_log2 {
            // The table was resized since the cursor was issued: bucket indexes moved, so
            // rescan this shard from the start (duplicates are allowed, misses are not).
            at.bucket = 0;
            at.size_log2 = size_log2(shard);
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
        at = ScanCursor {
            shard: at.shard + 1,
            size_log2: 0,
            bucket: 0,
        };
        if at.shard == SHARDS {
            at = ScanCursor {
                shard: 0,
                size_log2: 0,
                bucket: 0,
            };
            break;
        }
        if keys.len() >= count || budget == 0 {
            break;
        }
    }
    let next = match at {
        ScanCursor {
            shard: 0,
            bucket: 0,
            ..
        } => 0,
        _ => {
            let shard = ctx.keys.shard(db, at.shard);
            if at.bucket == 0 {
                at.size_log2 = size_log2(shard);
            }
            at.encode()
        }
    };
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
    let a = parse::int(args[1]).map_err(|_| Error::msg("ERR invalid first DB index"))?;
    let b = parse::int(args[2]).map_err(|_| Error::msg("ERR invalid second DB index"))?;
    let databases = ctx.node.store.databases() as i64;
    if !(0..databases).contains(&a) || !(0..databases).contains(&b) {
        return Err(Error::DbIndexOutOfRange);
    }
    ctx.keys.swap_databases(a as usize, b as usize);
    Ok(Reply::Ok)
}

fn object_entry<'a>(ctx: &'a mut Ctx<'_, '_>, key: &[u8]) -> Option<crate::store::EntryMut<'a>> {
    let db = ctx.db();
    ctx.keys.lookup(db, key, crate::store::locked::Access::Peek)
}

fn object_encoding(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    Ok(match object_entry(ctx, args[2]) {
        Some(entry) => Reply::bulk_static(entry.value().encoding()),
        None => Reply::Null,
    })
}

fn object_freq(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    // Access frequencies are tracked only under an LFU maxmemory-policy, which this node
    // does not have yet (its policy is noeviction).
    Err(Error::msg(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
    ))
}

fn object_idletime(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let now = ctx.keys.now;
    Ok(match object_entry(ctx, args[2]) {
        Some(entry) => Reply::Int(crate::clock::idle_seconds(entry.access(), now) as i64),
        None => Reply::Null,
    })
}

fn object_refcount(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    // Values are never shared between keys here, so every live value has one reference.
    Ok(match object_entry(ctx, args[2]) {
        Some(_) => Reply::Int(1),
        None => Reply::Null,
    })
}

fn object_help(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(super::help_reply(
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
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
            size_log2: 20,
            bucket: 123_456,
        };
        assert_eq!(ScanCursor::decode(c.encode()), c);
        assert_eq!(
            ScanCursor::decode(0),
            ScanCursor {
                shard: 0,
                size_log2: 0,
                bucket: 0
            }
        );
    }

    #[test]
    fn values_know_their_free_cost() {
        assert_eq!(Value::string(b"x").free_cost(), 1);
    }
}
