//! Generic key commands: DEL, UNLINK, EXISTS, TYPE, RENAME, RENAMENX, COPY, MOVE, TOUCH and
//! OBJECT. Expiry commands are in `expire`, whole-database ones in `keyspace`.

use super::parse::{self, is};
use super::{Combine, Command, Ctx, KeySpec, Routing, flag::*};
use crate::error::{CommandResult, Error};
use crate::protocol::Reply;
use crate::store::DbIndex;
use crate::store::access::{self, Tracking};
use crate::store::effects::class;
use crate::store::locked::Access;

const GROUP: &str = "generic";

pub const COMMANDS: &[Command] = &[
    Command::new("del", -2, WRITE, KeySpec::ALL, del)
        .doc(
            GROUP,
            "1.0.0",
            "Removes keys and counts those that existed.",
            "O(N) for N keys, plus the size of the removed values.",
            "key...",
        )
        .notifies(class::GENERIC, "del")
        .routing(Routing::Split(Combine::Sum))
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"]),
    Command::new("unlink", -2, WRITE | FAST, KeySpec::ALL, unlink)
        .doc(
            GROUP,
            "4.0.0",
            "Removes keys, freeing large values in the background.",
            "O(1) per key.",
            "key...",
        )
        .notifies(class::GENERIC, "del")
        .routing(Routing::Split(Combine::Sum))
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"]),
    Command::new("exists", -2, READONLY | FAST, KeySpec::ALL, exists)
        .doc(
            GROUP,
            "1.0.0",
            "Counts how many of the named keys exist.",
            "O(N) for N keys.",
            "key...",
        )
        .routing(Routing::Split(Combine::Sum))
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"]),
    Command::new("type", 2, READONLY | FAST, KeySpec::ONE, type_).doc(
        GROUP,
        "1.0.0",
        "Names the type of the value at a key.",
        "O(1)",
        "key",
    ),
    Command::new("rename", 3, WRITE, KeySpec::TWO, rename).doc(
        GROUP,
        "1.0.0",
        "Gives a key a new name, replacing any key already there.",
        "O(1)",
        "key newkey:key",
    ),
    Command::new("renamenx", 3, WRITE | FAST, KeySpec::TWO, renamenx).doc(
        GROUP,
        "1.0.0",
        "Gives a key a new name, only if that name is free.",
        "O(1)",
        "key newkey:key",
    ),
    Command::new("copy", -3, WRITE | DENYOOM, KeySpec::TWO, copy).doc(
        GROUP,
        "6.2.0",
        "Duplicates a key's value and expiry under another name or database.",
        "O(1) for strings, O(N) for a collection of N items.",
        "source:key destination:key [DB destination-db:int] [REPLACE]",
    ),
    Command::new("move", 3, WRITE | FAST, KeySpec::ONE, move_).doc(
        GROUP,
        "1.0.0",
        "Transfers a key into another database.",
        "O(1)",
        "key db:int",
    ),
    Command::new("touch", -2, READONLY | FAST, KeySpec::ALL, touch)
        .doc(
            GROUP,
            "3.2.1",
            "Marks keys as just used and counts those that exist.",
            "O(N) for N keys.",
            "key...",
        )
        .routing(Routing::Split(Combine::Sum))
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"]),
    Command::new("object", -2, 0, KeySpec::NONE, Command::container)
        .doc(
            GROUP,
            "2.2.3",
            "Subcommands that describe how a key's value is kept.",
            "See each subcommand.",
            "",
        )
        .subcommands(OBJECT),
];

const OBJECT: &[Command] = &[
    Command::new(
        "encoding",
        3,
        READONLY,
        KeySpec::range(2, 2, 1),
        object_encoding,
    )
    .doc(
        GROUP,
        "2.2.3",
        "Names the internal representation of a key's value.",
        "O(1)",
        "key",
    )
    .tips(&["nondeterministic_output"]),
    Command::new("freq", 3, READONLY, KeySpec::range(2, 2, 1), object_freq)
        .doc(
            GROUP,
            "4.0.0",
            "Gives a key's access frequency counter (LFU policies only).",
            "O(1)",
            "key",
        )
        .tips(&["nondeterministic_output"]),
    Command::new(
        "idletime",
        3,
        READONLY,
        KeySpec::range(2, 2, 1),
        object_idletime,
    )
    .doc(
        GROUP,
        "2.2.3",
        "Gives the seconds since a key was last used.",
        "O(1)",
        "key",
    )
    .tips(&["nondeterministic_output"]),
    Command::new(
        "refcount",
        3,
        READONLY,
        KeySpec::range(2, 2, 1),
        object_refcount,
    )
    .doc(
        GROUP,
        "2.2.3",
        "Gives how many references a key's value has.",
        "O(1)",
        "key",
    )
    .tips(&["nondeterministic_output"]),
    Command::new("help", 2, LOADING | STALE, KeySpec::NONE, object_help).doc(
        GROUP,
        "6.2.0",
        "Lists the OBJECT subcommands.",
        "O(1)",
        "",
    ),
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
pub(super) fn parse_c_int(arg: &[u8]) -> Result<i64, Error> {
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
pub(super) fn read_untouched<T>(
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
            ctx.keys.store().dispose(entry.into_value());
        }
    }
    Ok(Reply::Int(removed))
}

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
            if let Some(old) = replaced {
                // Redis deletes the old destination and adds the key anew: `new` either way.
                ctx.keys.notify(class::NEW, "new", db, to);
                ctx.keys.store().dispose(old);
            }
            ctx.keys.notify(class::GENERIC, "rename_from", db, from);
            ctx.keys.notify(class::GENERIC, "rename_to", db, to);
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
    let (value, expire) = (entry.value().to_owned(), entry.expire_at());
    if !options.replace && ctx.keys.exists(target, dst) {
        return Ok(Reply::Int(0));
    }
    if ctx.keys.set(target, dst, value, expire).is_some() {
        // Redis deletes the old destination and adds the copy anew: `new` either way.
        ctx.keys.notify(class::NEW, "new", target, dst);
    }
    ctx.keys.notify(class::GENERIC, "copy_to", target, dst);
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
    if moved.is_some() {
        ctx.keys.notify(class::GENERIC, "move_from", db, args[1]);
        ctx.keys.notify(class::GENERIC, "move_to", target, args[1]);
    }
    Ok(Reply::Int(i64::from(moved.is_some())))
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

fn object_encoding(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    Ok(
        match read_untouched(ctx, args[2], |entry| entry.value().encoding()) {
            Some(encoding) => Reply::bulk_static(encoding),
            None => Reply::Null,
        },
    )
}

fn object_freq(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let now = ctx.keys.now;
    let Some(access) = read_untouched(ctx, args[2], |entry| entry.access()) else {
        return Ok(Reply::Null);
    };
    match ctx.node.store.evictor.settings.tracking() {
        Tracking::Lfu { decay_minutes, .. } => Ok(Reply::Int(i64::from(access::lfu_decayed(
            access,
            now,
            decay_minutes,
        )))),
        Tracking::Lru => Err(Error::msg(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        )),
    }
}

fn object_idletime(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let now = ctx.keys.now;
    let Some(access) = read_untouched(ctx, args[2], |entry| entry.access()) else {
        return Ok(Reply::Null);
    };
    match ctx.node.store.evictor.settings.tracking() {
        Tracking::Lru => Ok(Reply::Int(
            (crate::clock::idle_ms(access, now) / 1000) as i64,
        )),
        Tracking::Lfu { .. } => Err(Error::msg(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        )),
    }
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
