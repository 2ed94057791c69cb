//! String commands: GET/SET and friends, counters, ranges, LCS.

use super::parse::{self, is};
use super::{Combine, Command, Ctx, KeySpec, Routing, flag::*};
use crate::error::{CommandResult, Error};
use crate::protocol::Reply;
use crate::store::effects::class;
use crate::store::{EntryMut, StrEncoding, Value, ValueRef};

const GROUP: &str = "string";

pub const COMMANDS: &[Command] = &[
    Command::new("get", 2, READONLY | FAST, KeySpec::ONE, get)
        .doc(GROUP, "1.0.0", "Gets the string stored at a key.", "O(1)", "key"),
    Command::new("set", -3, WRITE | DENYOOM, KeySpec::ONE, set)
        .doc(GROUP, "1.0.0", "Stores a string at a key; options add a condition, an expiry or the old value as reply.", "O(1)", "key value [condition=NX | XX] [GET] [expiration=EX seconds:int | PX milliseconds:int | EXAT unix-time-seconds:time | PXAT unix-time-milliseconds:time | KEEPTTL]").notifies(class::STRING, "set"),
    Command::new("setnx", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, setnx)
        .doc(GROUP, "1.0.0", "Stores a string only if the key is missing.", "O(1)", "key value").notifies(class::STRING, "set"),
    Command::new("setex", 4, WRITE | DENYOOM, KeySpec::ONE, setex)
        .doc(GROUP, "2.0.0", "Stores a string with a time to live in seconds.", "O(1)", "key seconds:int value").notifies(class::STRING, "set"),
    Command::new("psetex", 4, WRITE | DENYOOM, KeySpec::ONE, psetex)
        .doc(GROUP, "2.6.0", "Stores a string with a time to live in milliseconds.", "O(1)", "key milliseconds:int value").notifies(class::STRING, "set"),
    Command::new("getset", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, getset)
        .doc(GROUP, "1.0.0", "Stores a new string and answers the one it replaced.", "O(1)", "key value").notifies(class::STRING, "set"),
    Command::new("getdel", 2, WRITE | FAST, KeySpec::ONE, getdel)
        .doc(GROUP, "6.2.0", "Answers the string at a key and deletes the key.", "O(1)", "key").notifies(class::GENERIC, "del"),
    Command::new("getex", -2, WRITE | FAST, KeySpec::ONE, getex)
        .doc(GROUP, "6.2.0", "Answers the string at a key, optionally setting or removing its expiry.", "O(1)", "key [expiration=EX seconds:int | PX milliseconds:int | EXAT unix-time-seconds:time | PXAT unix-time-milliseconds:time | PERSIST]"),
    Command::new("mget", -2, READONLY | FAST, KeySpec::ALL, mget)
        .doc(GROUP, "1.0.0", "Gets the strings of several keys in one step.", "O(N) for N keys.", "key...").routing(Routing::Split(Combine::ByKey)).tips(&["request_policy:multi_shard"]),
    Command::new("mset", -3, WRITE | DENYOOM, KeySpec::PAIRS, mset)
        .doc(GROUP, "1.0.1", "Stores several strings in one step.", "O(N) for N keys.", "(key value)...").notifies(class::STRING, "set").routing(Routing::Split(Combine::AllOk)).tips(&["request_policy:multi_shard", "response_policy:all_succeeded"]),
    Command::new("msetnx", -3, WRITE | DENYOOM, KeySpec::PAIRS, msetnx)
        .doc(GROUP, "1.0.1", "Stores several strings in one step, only if none of the keys exists.", "O(N) for N keys.", "(key value)...").notifies(class::STRING, "set").tips(&["request_policy:multi_shard", "response_policy:agg_min"]),
    Command::new("append", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, append)
        .doc(GROUP, "2.0.0", "Adds bytes at the end of a string, creating it if missing.", "O(1) amortized: strings grow with spare room.", "key value").notifies(class::STRING, "append"),
    Command::new("strlen", 2, READONLY | FAST, KeySpec::ONE, strlen)
        .doc(GROUP, "2.2.0", "Gives the length in bytes of a string.", "O(1)", "key"),
    Command::new("getrange", 4, READONLY, KeySpec::ONE, getrange)
        .doc(GROUP, "2.4.0", "Gives the bytes of a string between two offsets.", "O(N) for N returned bytes.", "key start:int end:int"),
    Command::new("substr", 4, READONLY, KeySpec::ONE, getrange)
        .doc(GROUP, "1.0.0", "Gives the bytes of a string between two offsets (the old name of GETRANGE).", "O(N) for N returned bytes.", "key start:int end:int"),
    Command::new("setrange", 4, WRITE | DENYOOM, KeySpec::ONE, setrange)
        .doc(GROUP, "2.2.0", "Writes bytes into a string at an offset, padding with zero bytes as needed.", "O(1) plus copying the written bytes.", "key offset:int value").notifies(class::STRING, "setrange"),
    Command::new("incr", 2, WRITE | DENYOOM | FAST, KeySpec::ONE, incr)
        .doc(GROUP, "1.0.0", "Adds 1 to an integer string; a missing key counts as 0.", "O(1)", "key").notifies(class::STRING, "incrby"),
    Command::new("decr", 2, WRITE | DENYOOM | FAST, KeySpec::ONE, decr)
        .doc(GROUP, "1.0.0", "Subtracts 1 from an integer string; a missing key counts as 0.", "O(1)", "key").notifies(class::STRING, "incrby"),
    Command::new("incrby", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, incrby)
        .doc(GROUP, "1.0.0", "Adds an integer to an integer string; a missing key counts as 0.", "O(1)", "key increment:int").notifies(class::STRING, "incrby"),
    Command::new("decrby", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, decrby)
        .doc(GROUP, "1.0.0", "Subtracts an integer from an integer string; a missing key counts as 0.", "O(1)", "key decrement:int").notifies(class::STRING, "incrby"),
    Command::new("incrbyfloat", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, incrbyfloat)
        .doc(GROUP, "2.6.0", "Adds a decimal number to a numeric string; a missing key counts as 0.", "O(1)", "key increment:double").notifies(class::STRING, "incrbyfloat"),
    Command::new("lcs", -3, READONLY, KeySpec::TWO, lcs)
        .doc(GROUP, "7.0.0", "Finds the longest common subsequence of two strings.", "O(N*M) for strings of N and M bytes.", "key1:key key2:key [LEN] [IDX] [MINMATCHLEN min-match-len:int] [WITHMATCHLEN]"),
];

/// The string in a found entry, or WRONGTYPE.
pub fn as_str<'e>(entry: &'e EntryMut<'_>) -> Result<&'e [u8], Error> {
    match entry.value() {
        ValueRef::Str(s, _) => Ok(s),
        _ => Err(Error::WrongType),
    }
}

/// The string value of `key` in the caller's database (None if missing), or WRONGTYPE.
fn read(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let db = ctx.db();
    match ctx.keys.get(db, key) {
        Some(entry) => Ok(Some(as_str(&entry)?.to_vec())),
        None => Ok(None),
    }
}

fn bulk_or_null(value: Option<Vec<u8>>) -> Reply {
    value.map_or(Reply::Null, |v| Reply::Bulk(v.into()))
}

fn get(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    Ok(match ctx.keys.get(db, args[1]) {
        Some(entry) => Reply::bulk(as_str(&entry)?),
        None => Reply::Null,
    })
}

/// Expiry options shared by SET and GETEX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expiry {
    /// Relative seconds / milliseconds, absolute seconds / milliseconds.
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// Turns an expiry argument into an absolute Unix-ms time, with Redis's checks.
fn expire_at(kind: Expiry, arg: &[u8], now: u64, command: &'static str) -> Result<u64, Error> {
    let n = parse::int(arg)?;
    let invalid = Error::InvalidExpireTime(command);
    if n <= 0 {
        return Err(invalid);
    }
    let ms = match kind {
        Expiry::Ex | Expiry::ExAt => n.checked_mul(1000).ok_or(invalid.clone())?,
        Expiry::Px | Expiry::PxAt => n,
    };
    let at = match kind {
        Expiry::Ex | Expiry::Px => ms.checked_add(now as i64).ok_or(invalid)?,
        Expiry::ExAt | Expiry::PxAt => ms,
    };
    Ok(at as u64)
}

fn expiry_option(arg: &[u8]) -> Option<Expiry> {
    [
        ("ex", Expiry::Ex),
        ("px", Expiry::Px),
        ("exat", Expiry::ExAt),
        ("pxat", Expiry::PxAt),
    ]
    .into_iter()
    .find(|(name, _)| is(arg, name))
    .map(|(_, kind)| kind)
}

#[derive(Default)]
struct SetOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    expire: Option<(Expiry, &'a [u8])>,
}

fn set_options<'a>(args: &[&'a [u8]]) -> Result<SetOptions<'a>, Error> {
    let mut o = SetOptions::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        let next = args.get(i + 1).copied();
        if is(arg, "nx") && !o.xx {
            o.nx = true;
        } else if is(arg, "xx") && !o.nx {
            o.xx = true;
        } else if is(arg, "get") {
            o.get = true;
        } else if is(arg, "keepttl") && o.expire.is_none() {
            o.keepttl = true;
        } else if let (Some(kind), Some(value)) = (expiry_option(arg), next) {
            if o.keepttl || o.expire.is_some_and(|(k, _)| k != kind) {
                return Err(Error::Syntax);
            }
            o.expire = Some((kind, value));
            i += 1;
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

fn set(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (key, value) = (args[1], args[2]);
    let options = set_options(&args[3..])?;
    let now = ctx.keys.now;
    let expire = match options.expire {
        Some((kind, arg)) => Some(expire_at(kind, arg, now, "set")?),
        None => None,
    };
    let db = ctx.db();
    if !(options.get || options.nx || options.xx || options.keepttl) {
        // Plain SET: nothing depends on the old value, so skip looking it up.
        ctx.keys.set(db, key, Value::string(value), expire);
        notify_expire(ctx, db, key, expire);
        return Ok(Reply::Ok);
    }
    // With GET the old value is read as GET reads it (counting a keyspace hit or miss).
    let old = if options.get {
        match ctx.keys.get(db, key) {
            Some(entry) => Some((Some(as_str(&entry)?.to_vec()), entry.expire_at())),
            None => None,
        }
    } else {
        ctx.keys
            .get_mut(db, key)
            .map(|entry| (None, entry.expire_at()))
    };
    let found = old.is_some();
    let (old_value, old_expire) = old.unwrap_or((None, None));
    if (options.nx && found) || (options.xx && !found) {
        return Ok(if options.get {
            bulk_or_null(old_value)
        } else {
            Reply::Null
        });
    }
    let kept = if options.keepttl { old_expire } else { expire };
    ctx.keys.set(db, key, Value::string(value), kept);
    notify_expire(ctx, db, key, expire);
    Ok(if options.get {
        bulk_or_null(old_value)
    } else {
        Reply::Ok
    })
}

/// A SET that gave its key an expiry notifies `expire` after `set`, as Redis.
fn notify_expire(ctx: &mut Ctx<'_, '_>, db: usize, key: &[u8], expire: Option<u64>) {
    if expire.is_some() {
        ctx.keys.notify(class::GENERIC, "expire", db, key);
    }
}

fn setnx(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    if ctx.keys.exists(db, args[1]) {
        return Ok(Reply::Int(0));
    }
    ctx.keys.set(db, args[1], Value::string(args[2]), None);
    Ok(Reply::Int(1))
}

fn set_with_expiry(
    ctx: &mut Ctx<'_, '_>,
    args: &[&[u8]],
    kind: Expiry,
    name: &'static str,
) -> CommandResult {
    let at = expire_at(kind, args[2], ctx.keys.now, name)?;
    let db = ctx.db();
    ctx.keys.set(db, args[1], Value::string(args[3]), Some(at));
    notify_expire(ctx, db, args[1], Some(at));
    Ok(Reply::Ok)
}

fn setex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    set_with_expiry(ctx, args, Expiry::Ex, "setex")
}

fn psetex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    set_with_expiry(ctx, args, Expiry::Px, "psetex")
}

fn getset(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let old = read(ctx, args[1])?;
    let db = ctx.db();
    ctx.keys.set(db, args[1], Value::string(args[2]), None);
    Ok(bulk_or_null(old))
}

fn getdel(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let old = read(ctx, args[1])?;
    if old.is_some() {
        let db = ctx.db();
        ctx.keys.remove(db, args[1]);
    }
    Ok(bulk_or_null(old))
}

fn getex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let mut expire: Option<(Expiry, &[u8])> = None;
    let mut persist = false;
    let mut i = 2;
    while i < args.len() {
        match (expiry_option(args[i]), args.get(i + 1)) {
            (Some(kind), Some(value)) if !persist && expire.is_none_or(|(k, _)| k == kind) => {
                expire = Some((kind, value));
                i += 2;
            }
            (None, _) if is(args[i], "persist") && expire.is_none() => {
                persist = true;
                i += 1;
            }
            _ => return Err(Error::Syntax),
        }
    }
    let db = ctx.db();
    let now = ctx.keys.now;
    let Some(value) = read(ctx, args[1])? else {
        return Ok(Reply::Null);
    };
    let at = match expire {
        Some((kind, arg)) => Some(expire_at(kind, arg, now, "getex")?),
        None => None,
    };
    let key = args[1];
    if let Some(at) = at {
        if at <= now {
            ctx.keys.remove(db, key);
            ctx.keys.notify(class::GENERIC, "del", db, key);
        } else if let Some(mut entry) = ctx.keys.get_mut(db, key) {
            entry.set_expire_at(Some(at));
            ctx.keys.notify(class::GENERIC, "expire", db, key);
        }
    } else if persist
        && let Some(mut entry) = ctx.keys.get_mut(db, key)
        && entry.expire_at().is_some()
    {
        entry.set_expire_at(None);
        ctx.keys.notify(class::GENERIC, "persist", db, key);
    }
    Ok(Reply::Bulk(value.into()))
}

fn mget(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let values = args[1..]
        .iter()
        .map(|key| match ctx.keys.get(db, key) {
            // MGET answers nil for keys of other types, as Redis does.
            Some(entry) => match entry.value() {
                ValueRef::Str(s, _) => Reply::bulk(s),
                _ => Reply::Null,
            },
            None => Reply::Null,
        })
        .collect();
    Ok(Reply::Array(values))
}

fn check_pairs(args: &[&[u8]], name: &str) -> Result<(), Error> {
    if args.len().is_multiple_of(2) {
        return Err(Error::err(format!(
            "wrong number of arguments for '{name}' command"
        )));
    }
    Ok(())
}

fn mset(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    check_pairs(args, "mset")?;
    let db = ctx.db();
    for pair in args[1..].chunks_exact(2) {
        ctx.keys.set(db, pair[0], Value::string(pair[1]), None);
    }
    Ok(Reply::Ok)
}

fn msetnx(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    check_pairs(args, "msetnx")?;
    let db = ctx.db();
    if args[1..]
        .chunks_exact(2)
        .any(|pair| ctx.keys.exists(db, pair[0]))
    {
        return Ok(Reply::Int(0));
    }
    for pair in args[1..].chunks_exact(2) {
        ctx.keys.set(db, pair[0], Value::string(pair[1]), None);
    }
    Ok(Reply::Int(1))
}

/// Fails when a string would grow past `proto-max-bulk-len`.
fn check_size(ctx: &Ctx<'_, '_>, len: u64) -> Result<(), Error> {
    if len > ctx.node.limits.proto_max_bulk_len() as u64 {
        return Err(Error::StringTooLong);
    }
    Ok(())
}

fn append(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let limit = ctx.node.limits.proto_max_bulk_len() as u64;
    if let Some(mut entry) = ctx.keys.get_mut(db, args[1]) {
        let Value::Str(s, encoding) = entry.value_mut() else {
            return Err(Error::WrongType);
        };
        if (s.len() + args[2].len()) as u64 > limit {
            return Err(Error::StringTooLong);
        }
        // Grow greedily, as Redis's sds does, so repeated appends stay amortised O(1).
        if s.capacity() - s.len() < args[2].len() {
            s.reserve((s.len() + args[2].len()).min(1 << 20));
        }
        s.extend_from_slice(args[2]);
        *encoding = StrEncoding::Raw;
        return Ok(Reply::Int(s.len() as i64));
    }
    ctx.keys.set(db, args[1], Value::string(args[2]), None);
    Ok(Reply::Int(args[2].len() as i64))
}

fn strlen(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    Ok(Reply::Int(match ctx.keys.get(db, args[1]) {
        Some(entry) => as_str(&entry)?.len() as i64,
        None => 0,
    }))
}

fn getrange(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let mut start = parse::int(args[2])?;
    let mut end = parse::int(args[3])?;
    let db = ctx.db();
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::bulk(b""));
    };
    let s = as_str(&entry)?;
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::bulk(b""));
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0).min(len - 1);
    if start > end || len == 0 {
        return Ok(Reply::bulk(b""));
    }
    Ok(Reply::bulk(&s[start as usize..=end as usize]))
}

fn setrange(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let offset = parse::int(args[2])?;
    let value = args[3];
    if offset < 0 {
        return Err(Error::msg("ERR offset is out of range"));
    }
    let offset = offset as u64;
    let db = ctx.db();
    let current_len = match ctx.keys.get_mut(db, args[1]) {
        Some(entry) => Some(as_str(&entry)?.len()),
        None => None,
    };
    if value.is_empty() {
        return Ok(Reply::Int(current_len.unwrap_or(0) as i64));
    }
    check_size(ctx, offset + value.len() as u64)?;
    let offset = offset as usize;
    let write = |s: &mut Vec<u8>| {
        if s.len() < offset + value.len() {
            s.resize(offset + value.len(), 0);
        }
        s[offset..offset + value.len()].copy_from_slice(value);
        s.len()
    };
    if current_len.is_some()
        && let Some(mut entry) = ctx.keys.get_mut(db, args[1])
    {
        let Value::Str(s, encoding) = entry.value_mut() else {
            return Err(Error::WrongType);
        };
        let len = write(s);
        *encoding = StrEncoding::Raw;
        return Ok(Reply::Int(len as i64));
    }
    let mut s = Vec::new();
    let len = write(&mut s);
    ctx.keys
        .set(db, args[1], Value::Str(s, StrEncoding::Raw), None);
    Ok(Reply::Int(len as i64))
}

/// Adds `delta` to the integer at `key`, keeping its TTL.
fn incr_by(ctx: &mut Ctx<'_, '_>, key: &[u8], delta: i64) -> CommandResult {
    let db = ctx.db();
    if let Some(mut entry) = ctx.keys.get_mut(db, key) {
        let current = crate::number::parse_int(as_str(&entry)?).ok_or(Error::NotInteger)?;
        let next = current.checked_add(delta).ok_or(Error::Overflow)?;
        entry.set_value(Value::string(itoa::Buffer::new().format(next).as_bytes()));
        return Ok(Reply::Int(next));
    }
    ctx.keys.set(
        db,
        key,
        Value::string(itoa::Buffer::new().format(delta).as_bytes()),
        None,
    );
    Ok(Reply::Int(delta))
}

fn incr(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    incr_by(ctx, args[1], 1)
}

fn decr(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    incr_by(ctx, args[1], -1)
}

fn incrby(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let delta = parse::int(args[2])?;
    incr_by(ctx, args[1], delta)
}

fn decrby(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let delta = parse::int(args[2])?;
    let delta = delta
        .checked_neg()
        .ok_or(Error::msg("ERR decrement would overflow"))?;
    incr_by(ctx, args[1], delta)
}

fn incrbyfloat(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let current = match ctx.keys.get_mut(db, args[1]) {
        Some(entry) => Some(as_str(&entry)?.to_vec()),
        None => None,
    };
    let text = crate::number::incr_by_float(current.as_deref(), args[2])?;
    // A fresh string object, never `int`-encoded, as Redis creates it.
    let value = Value::Str(text.clone().into_bytes(), StrEncoding::Plain);
    match ctx.keys.get_mut(db, args[1]) {
        Some(mut entry) => {
            entry.set_value(value);
        }
        None => {
            ctx.keys.set(db, args[1], value, None);
        }
    }
    Ok(Reply::bulk_string(text))
}

fn lcs(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let mut fetch = |key: &[u8]| -> Result<Vec<u8>, Error> {
        match ctx.keys.get(db, key) {
            Some(entry) => match entry.value() {
                ValueRef::Str(s, _) => Ok(s.to_vec()),
                _ => Err(Error::msg(
                    "ERR The specified keys must contain string values",
                )),
            },
            None => Ok(Vec::new()),
        }
    };
    let a = fetch(args[1])?;
    let b = fetch(args[2])?;
    let (mut len_only, mut idx, mut with_len, mut min_len) = (false, false, false, 0i64);
    let mut i = 3;
    while i < args.len() {
        if is(args[i], "idx") {
            idx = true;
        } else if is(args[i], "len") {
            len_only = true;
        } else if is(args[i], "withmatchlen") {
            with_len = true;
        } else if is(args[i], "minmatchlen") && i + 1 < args.len() {
            min_len = parse::int(args[i + 1])?.max(0);
            i += 1;
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    if len_only && idx {
        return Err(Error::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells * 4 > ctx.node.limits.proto_max_bulk_len() as u64 {
        return Err(Error::msg(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let result = longest_common_subsequence(&a, &b, min_len as usize);
    if idx {
        let matches = result
            .ranges
            .iter()
            .map(|r| {
                let mut item = vec![
                    Reply::Array(vec![Reply::Int(r.a.0 as i64), Reply::Int(r.a.1 as i64)]),
                    Reply::Array(vec![Reply::Int(r.b.0 as i64), Reply::Int(r.b.1 as i64)]),
                ];
                if with_len {
                    item.push(Reply::Int((r.a.1 - r.a.0 + 1) as i64));
                }
                Reply::Array(item)
            })
            .collect();
        return Ok(Reply::Map(vec![
            (Reply::bulk(b"matches"), Reply::Array(matches)),
            (Reply::bulk(b"len"), Reply::Int(result.len as i64)),
        ]));
    }
    if len_only {
        return Ok(Reply::Int(result.len as i64));
    }
    Ok(Reply::Bulk(result.common.into()))
}

/// One matching run: inclusive ranges in the first and second string.
struct MatchRange {
    a: (usize, usize),
    b: (usize, usize),
}

struct LcsResult {
    common: Vec<u8>,
    len: usize,
    /// Matching runs from the end of the strings backwards, as Redis reports them.
    ranges: Vec<MatchRange>,
}

/// The longest common subsequence by dynamic programming, walked back as Redis's `lcsCommand`
/// does so that the reported ranges are the same. Runs shorter than `min_len` are not reported.
fn longest_common_subsequence(a: &[u8], b: &[u8], min_len: usize) -> LcsResult {
    let width = b.len() + 1;
    let mut table = vec![0u32; (a.len() + 1) * width];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let len = table[a.len() * width + b.len()] as usize;
    let mut common = vec![0u8; len];
    let mut ranges = Vec::new();
    let mut current: Option<MatchRange> = None;
    let (mut i, mut j, mut idx) = (a.len(), b.len(), len);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            common[idx - 1] = a[i - 1];
            match &mut current {
                None => {
                    current = Some(MatchRange {
                        a: (i - 1, i - 1),
                        b: (j - 1, j - 1),
                    });
                }
                Some(range) if range.a.0 == i && range.b.0 == j => {
                    range.a.0 -= 1;
                    range.b.0 -= 1;
                }
                Some(_) => emit = true,
            }
            if current.as_ref().is_some_and(|r| r.a.0 == 0 || r.b.0 == 0) {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = current.is_some();
        }
        if emit
            && let Some(range) = current.take()
            && (min_len == 0 || range.a.1 - range.a.0 + 1 >= min_len)
        {
            ranges.push(range);
        }
    }
    LcsResult {
        common,
        len,
        ranges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_matches_the_redis_documentation_example() {
        let r = longest_common_subsequence(b"ohmytext", b"mynewtext", 0);
        assert_eq!(r.common, b"mytext");
        assert_eq!(r.len, 6);
        let ranges: Vec<_> = r.ranges.iter().map(|m| (m.a, m.b)).collect();
        assert_eq!(ranges, vec![((4, 7), (5, 8)), ((2, 3), (0, 1))]);
        let long = longest_common_subsequence(b"ohmytext", b"mynewtext", 4);
        assert_eq!(long.ranges.len(), 1);
    }
}
