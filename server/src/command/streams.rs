//! Stream commands: XADD XLEN XRANGE XREVRANGE XDEL XTRIM XREAD (with BLOCK).
//!
//! Consumer groups (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM), XINFO and
//! XSETID are not implemented: they answer as unknown commands.
//!
//! IDs are read as Redis reads them (`streamGenericParseIDOrReply`): `ms-seq` or `ms` alone,
//! each part a `strtoull` number, `-` and `+` where a range allows them, `ms-*` in XADD,
//! `(id` for an exclusive range bound.
//!
//! `XREAD BLOCK` that finds nothing waits through [`Ctx::block`]: its `$` IDs are resolved
//! to the streams' last IDs first, and the command runs again with those IDs and a COUNT of
//! 1000 when none was given (the limit Redis 7.0 applies to a client served after waiting),
//! so the retry returns what arrived since, or waits again. Being a full re-run, the answer
//! lists every stream that has something new, as Redis 7.2 does; Redis 7.0 answered with
//! the one stream whose write woke the client.
//!
//! Approximate trimming (`~`) removes whole blocks of entries from the head, as Redis
//! removes whole nodes; blocks start and end where Redis's nodes do (see `store::stream`).

use super::parse::{self, is};
use super::{Command, Ctx, KeySpec, flag::*};
use crate::error::{CommandResult, Error};
use crate::protocol::{Protocol, Reply};
use crate::store::effects::class;
use crate::store::stream::{AddError, Fields, NewId, Stream, StreamId, Trim};
use crate::store::{EntryMut, Value, ValueRef};

const GROUP: &str = "stream";

/// The trimming options XADD and XTRIM share, as `COMMAND DOCS` shows them.
macro_rules! trim_syntax {
    () => {
        "(strategy=MAXLEN | MINID) [operator=equal== | approximately=~] threshold [LIMIT count:int]"
    };
}

pub const COMMANDS: &[Command] = &[
    Command::new("xadd", -5, WRITE | DENYOOM | FAST, KeySpec::ONE, xadd)
        .doc(GROUP, "5.0.0", "Appends an entry to a stream (creating the stream unless NOMKSTREAM) and optionally trims its oldest entries.", "O(1) to append, plus O(N) for N entries trimmed.", concat!("key [NOMKSTREAM] [trim=", trim_syntax!(), "] (id_or_auto=auto_id=* | id) (field_value=field value)...")).notifies(class::STREAM, "xadd").tips(&["nondeterministic_output"]),
    Command::new("xlen", 2, READONLY | FAST, KeySpec::ONE, xlen)
        .doc(GROUP, "5.0.0", "Counts the entries of a stream.", "O(1)", "key"),
    Command::new("xrange", -4, READONLY, KeySpec::ONE, xrange)
        .doc(GROUP, "5.0.0", "Lists the entries of a stream between two IDs, oldest first.", "O(log N) to find the start, plus O(M) for M entries returned.", "key start end [COUNT count:int]"),
    Command::new("xrevrange", -4, READONLY, KeySpec::ONE, xrevrange)
        .doc(GROUP, "5.0.0", "Lists the entries of a stream between two IDs, newest first.", "O(log N) to find the start, plus O(M) for M entries returned.", "key end start [COUNT count:int]"),
    Command::new("xdel", -3, WRITE | FAST, KeySpec::ONE, xdel)
        .doc(GROUP, "5.0.0", "Removes entries from a stream by ID.", "O(log N) per ID.", "key id...").notifies(class::STREAM, "xdel"),
    Command::new("xtrim", -4, WRITE, KeySpec::ONE, xtrim)
        .doc(GROUP, "5.0.0", "Removes the oldest entries of a stream beyond a length or below an ID.", "O(N) for N entries removed; whole blocks of entries go at once.", concat!("key (trim=", trim_syntax!(), ")")).notifies(class::STREAM, "xtrim").tips(&["nondeterministic_output"]),
    Command::new("xread", -4, READONLY | BLOCKING, KeySpec::after_keyword("STREAMS"), xread)
        .doc(GROUP, "5.0.0", "Reads the entries newer than given IDs from one or more streams, optionally waiting for some to arrive.", "O(log N + M) per stream for M entries returned.", "[COUNT count:int] [BLOCK milliseconds:int] (STREAMS key... id...)"),
];

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
/// The entries XREAD returns per stream after waiting, when no COUNT was given.
const BLOCKED_DEFAULT_COUNT: usize = 1000;
/// The limit on entries trimmed by `~` when LIMIT is not given: 100 blocks of 100.
const APPROX_DEFAULT_LIMIT: usize = 10_000;

/// The argument as C code sees it: up to its first zero byte.
fn c_str(arg: &[u8]) -> &[u8] {
    arg.iter()
        .position(|&b| b == 0)
        .map_or(arg, |end| &arg[..end])
}

/// An unsigned number as Redis's `string2ull` reads it: a canonical integer, else what
/// `strtoull` accepts in full (leading spaces, a sign, leading zeros; `-` wraps around).
fn parse_u64(text: &[u8]) -> Option<u64> {
    if let Some(n) = crate::number::parse_int(text) {
        return u64::try_from(n).ok();
    }
    let start = text
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))?;
    let (negative, digits) = match &text[start..] {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// Reads a stream ID: `ms-seq`, or `ms` alone with `missing_seq` as its sequence; `-` and
/// `+` unless `strict`; `ms-*` when `seq_star`. Returns the ID and whether its sequence was
/// given (false only for `ms-*`).
fn parse_id(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    seq_star: bool,
) -> Result<(StreamId, bool), Error> {
    let invalid = || Error::msg(INVALID_ID);
    if arg.len() > 127 {
        return Err(invalid());
    }
    let text = c_str(arg);
    match text {
        b"-" | b"+" if strict => Err(invalid()),
        b"-" => Ok((StreamId::MIN, true)),
        b"+" => Ok((StreamId::MAX, true)),
        _ => {
            let (ms, seq) = match text.iter().position(|&b| b == b'-') {
                Some(dash) => (&text[..dash], Some(&text[dash + 1..])),
                None => (text, None),
            };
            let ms = parse_u64(ms).ok_or_else(invalid)?;
            match seq {
                None => Ok((StreamId::new(ms, missing_seq), true)),
                Some(b"*") if seq_star => Ok((StreamId::new(ms, 0), false)),
                Some(seq) => Ok((StreamId::new(ms, parse_u64(seq).ok_or_else(invalid)?), true)),
            }
        }
    }
}

/// Reads a range bound: an ID, or `(id` for an exclusive one. Returns the ID and whether
/// it is exclusive.
fn parse_bound(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), Error> {
    match arg {
        [b'(', rest @ ..] if !rest.is_empty() => {
            Ok((parse_id(rest, missing_seq, true, false)?.0, true))
        }
        _ => Ok((parse_id(arg, missing_seq, false, false)?.0, false)),
    }
}

/// The stream in a found entry, or WRONGTYPE.
fn as_stream<'e>(entry: &'e EntryMut<'_>) -> Result<&'e Stream, Error> {
    match entry.value() {
        ValueRef::Stream(stream) => Ok(stream),
        _ => Err(Error::WrongType),
    }
}

/// The stream in a found entry, to change (the caller checked the type).
fn stream_mut<'e>(entry: &'e mut EntryMut<'_>) -> Option<&'e mut Stream> {
    match entry.value_mut() {
        Value::Stream(stream) => Some(stream),
        _ => None,
    }
}

/// One entry as replies show it: `[id, [field, value, ...]]`.
fn entry_reply((id, fields): (StreamId, Fields<'_>)) -> Reply {
    Reply::Array(vec![
        Reply::bulk_string(id.to_string()),
        Reply::Array(fields.map(Reply::bulk).collect()),
    ])
}

/// Trimming asked of XADD or XTRIM.
#[derive(Clone, Copy, Debug)]
struct TrimOptions {
    trim: Trim,
    approx: bool,
    /// Most entries to remove (0: no limit).
    limit: usize,
}

impl TrimOptions {
    fn apply(&self, stream: &mut Stream) -> usize {
        stream.trim(self.trim, self.approx, self.limit)
    }
}

/// What XADD or XTRIM asked for.
struct AddOptions {
    trim: Option<TrimOptions>,
    no_mkstream: bool,
    id: NewId,
    /// Where the ID is (XADD); the fields follow it.
    id_at: usize,
}

/// Reads the options of XADD (`xadd`) or XTRIM, in Redis's order and with its errors.
fn parse_add_or_trim(args: &[&[u8]], xadd: bool) -> Result<AddOptions, Error> {
    let mut trim = None;
    let mut approx = false;
    let mut limit = None;
    let mut no_mkstream = false;
    let mut id = NewId::Auto;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = args[i];
        let maxlen = is(opt, "maxlen");
        if xadd && c_str(opt) == b"*" {
            break;
        } else if (maxlen || is(opt, "minid")) && more > 0 {
            if trim.is_some() {
                return Err(Error::msg(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            let operator = c_str(args[i + 1]);
            approx = more >= 2 && operator == b"~";
            if more >= 2 && (operator == b"~" || operator == b"=") {
                i += 1;
            }
            let threshold = args[i + 1];
            trim = Some(if maxlen {
                let max = parse::int(threshold)?;
                if max < 0 {
                    return Err(Error::msg("ERR The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(max as u64)
            } else {
                Trim::MinId(parse_id(threshold, 0, true, false)?.0)
            });
            i += 1;
        } else if is(opt, "limit") && more > 0 {
            let n = parse::int(args[i + 1])?;
            if n < 0 {
                return Err(Error::msg("ERR The LIMIT argument must be >= 0."));
            }
            limit = Some(n as usize);
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            no_mkstream = true;
        } else if xadd {
            let (given, seq_given) = parse_id(opt, 0, true, true)?;
            id = if seq_given {
                NewId::Exact(given)
            } else {
                NewId::Ms(given.ms)
            };
            break;
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    if limit.is_some_and(|n| n != 0) && trim.is_none() {
        return Err(Error::msg(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && trim.is_none() {
        return Err(Error::msg(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    let limit = match limit {
        Some(_) if !approx => {
            return Err(Error::msg(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
        Some(n) => n,
        None if approx => APPROX_DEFAULT_LIMIT,
        None => 0,
    };
    Ok(AddOptions {
        trim: trim.map(|trim| TrimOptions {
            trim,
            approx,
            limit,
        }),
        no_mkstream,
        id,
        id_at: i,
    })
}

fn add_error(error: AddError) -> Error {
    Error::msg(match error {
        AddError::Exhausted => {
            "ERR The stream has exhausted the last possible ID, unable to add more items"
        }
        AddError::NotGreater => {
            "ERR The ID specified in XADD is equal or smaller than the target stream top item"
        }
        AddError::TooLarge => "ERR Elements are too large to be stored",
    })
}

fn xadd(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let options = parse_add_or_trim(args, true)?;
    let fields = args.get(options.id_at + 1..).unwrap_or_default();
    if fields.len() < 2 || !fields.len().is_multiple_of(2) {
        return Err(Error::err("wrong number of arguments for 'xadd' command"));
    }
    if options.id == NewId::Exact(StreamId::MIN) {
        return Err(Error::msg(
            "ERR The ID specified in XADD must be greater than 0-0",
        ));
    }
    let (db, key, now) = (ctx.db(), args[1], ctx.keys.now);
    let mut trimmed = 0;
    let id = match ctx.keys.get_mut(db, key) {
        Some(mut entry) => {
            // Check first, so a refused entry leaves the key untouched (WATCH sees no change).
            let id = as_stream(&entry)?
                .next_id(options.id, fields, now)
                .map_err(add_error)?;
            if let Some(stream) = stream_mut(&mut entry) {
                stream.append(id, fields);
                if let Some(trim) = &options.trim {
                    trimmed = trim.apply(stream);
                }
            }
            id
        }
        None if options.no_mkstream => return Ok(Reply::Null),
        None => {
            let mut stream = Stream::new();
            let id = stream.add(options.id, fields, now).map_err(add_error)?;
            if let Some(trim) = &options.trim {
                trimmed = trim.apply(&mut stream);
            }
            ctx.keys.set(db, key, Value::Stream(Box::new(stream)), None);
            id
        }
    };
    if trimmed > 0 {
        ctx.keys.notify(class::STREAM, "xtrim", db, key);
    }
    ctx.keys.signal_ready(db, key);
    Ok(Reply::bulk_string(id.to_string()))
}

fn xlen(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    Ok(match ctx.keys.get(db, args[1]) {
        Some(entry) => Reply::Int(as_stream(&entry)?.len() as i64),
        None => Reply::Int(0),
    })
}

fn xrange(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    range_command(ctx, args, false)
}

fn xrevrange(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    range_command(ctx, args, true)
}

/// XRANGE key start end [COUNT n], and XREVRANGE key end start [COUNT n].
fn range_command(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], rev: bool) -> CommandResult {
    let (start, end) = if rev {
        (args[3], args[2])
    } else {
        (args[2], args[3])
    };
    let (mut start, exclusive) = parse_bound(start, 0)?;
    if exclusive {
        start = start
            .next()
            .ok_or_else(|| Error::err("invalid start ID for the interval"))?;
    }
    let (mut end, exclusive) = parse_bound(end, u64::MAX)?;
    if exclusive {
        end = end
            .prev()
            .ok_or_else(|| Error::err("invalid end ID for the interval"))?;
    }
    let mut count = None;
    let mut i = 4;
    while i < args.len() {
        if is(args[i], "count") && i + 1 < args.len() {
            count = Some(parse::int(args[i + 1])?.max(0) as usize);
            i += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    let db = ctx.db();
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let stream = as_stream(&entry)?;
    let limit = match count {
        Some(0) => return Ok(Reply::NullArray),
        Some(n) => n,
        None => usize::MAX,
    };
    let entries = if rev {
        stream
            .rev_range(start, end)
            .take(limit)
            .map(entry_reply)
            .collect()
    } else {
        stream
            .range(start, end)
            .take(limit)
            .map(entry_reply)
            .collect()
    };
    Ok(Reply::Array(entries))
}

fn xdel(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let Some(mut entry) = ctx.keys.get_mut(db, args[1]) else {
        return Ok(Reply::Int(0));
    };
    let stream = as_stream(&entry)?;
    // Every ID is checked before any entry goes.
    let ids = args[2..]
        .iter()
        .map(|arg| parse_id(arg, 0, true, false).map(|(id, _)| id))
        .collect::<Result<Vec<_>, _>>()?;
    if !ids.iter().any(|id| stream.contains(*id)) {
        return Ok(Reply::Int(0));
    }
    let deleted = match stream_mut(&mut entry) {
        Some(stream) => ids.into_iter().filter(|id| stream.delete(*id)).count(),
        None => 0,
    };
    Ok(Reply::Int(deleted as i64))
}

fn xtrim(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let Some(trim) = parse_add_or_trim(args, false)?.trim else {
        return Err(Error::Syntax);
    };
    let db = ctx.db();
    let Some(mut entry) = ctx.keys.get_mut(db, args[1]) else {
        return Ok(Reply::Int(0));
    };
    let plan = as_stream(&entry)?.plan_trim(trim.trim, trim.approx, trim.limit);
    if plan.is_noop() {
        return Ok(Reply::Int(0));
    }
    let deleted = stream_mut(&mut entry).map_or(0, |stream| stream.apply_trim(plan));
    Ok(Reply::Int(deleted as i64))
}

/// XREAD [COUNT n] [BLOCK ms] STREAMS key... id...
fn xread(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let mut block = None;
    let mut count = 0;
    let mut streams_at = None;
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = args[i];
        if is(opt, "block") && more > 0 {
            i += 1;
            block = Some((parse::timeout_ms(args[i])?, args[i]));
        } else if is(opt, "count") && more > 0 {
            i += 1;
            count = parse::int(args[i])?.max(0) as usize;
        } else if is(opt, "streams") && more > 0 {
            if !more.is_multiple_of(2) {
                return Err(Error::msg(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            streams_at = Some(i + 1);
            break;
        } else if is(opt, "group") && more >= 2 {
            return Err(Error::msg(
                "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
            ));
        } else if is(opt, "noack") {
            return Err(Error::msg(
                "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
            ));
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    let Some(at) = streams_at else {
        return Err(Error::Syntax);
    };
    let n = (args.len() - at) / 2;
    let (keys, id_args) = args[at..].split_at(n);
    let db = ctx.db();

    // Each key's type is checked before its ID is read; `$` is the stream's last ID, `+`
    // (Redis 7.4) the one just before it, so that the last entry is read.
    let mut after = Vec::with_capacity(n);
    for (key, arg) in keys.iter().zip(id_args) {
        let last = match ctx.keys.get(db, key) {
            Some(entry) => Some(as_stream(&entry)?.last_id()),
            None => None,
        };
        after.push(match c_str(arg) {
            b"$" => last.unwrap_or(StreamId::MIN),
            b"+" => match last {
                None => StreamId::MIN,
                Some(last) => last
                    .prev()
                    .ok_or(Error::msg("ERR the stream last element ID is 0-0"))?,
            },
            b">" => {
                return Err(Error::msg(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ));
            }
            _ => parse_id(arg, 0, true, false)?.0,
        });
    }

    let limit = if count == 0 { usize::MAX } else { count };
    let mut served = Vec::new();
    for (key, &after) in keys.iter().zip(&after) {
        let Some(entry) = ctx.keys.get(db, key) else {
            continue;
        };
        let stream = as_stream(&entry)?;
        let Some(start) = stream
            .last_entry_id()
            .filter(|top| *top > after)
            .and_then(|_| after.next())
        else {
            continue;
        };
        let entries = stream.range(start, StreamId::MAX).take(limit);
        served.push((
            Reply::bulk(key),
            Reply::Array(entries.map(entry_reply).collect()),
        ));
    }
    if !served.is_empty() {
        return Ok(if ctx.client.protocol == Protocol::Resp3 {
            Reply::Map(served)
        } else {
            let pairs = served.into_iter().map(|(k, v)| Reply::Array(vec![k, v]));
            Reply::Array(pairs.collect())
        });
    }
    let Some((timeout, block_arg)) = block else {
        return Ok(Reply::NullArray);
    };
    // Wait, then read again from the IDs resolved now (`$` must not move on).
    let count = if count == 0 {
        BLOCKED_DEFAULT_COUNT
    } else {
        count
    };
    let mut retry: Vec<Vec<u8>> = vec![
        args[0].to_vec(),
        b"COUNT".to_vec(),
        count.to_string().into_bytes(),
        b"BLOCK".to_vec(),
        block_arg.to_vec(),
        b"STREAMS".to_vec(),
    ];
    retry.extend(keys.iter().map(|key| key.to_vec()));
    retry.extend(after.iter().map(|id| id.to_string().into_bytes()));
    let keys = keys.iter().map(|key| key.to_vec()).collect();
    ctx.block(keys, timeout, Reply::NullArray, Some(retry))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> Result<(StreamId, bool), Error> {
        parse_id(text.as_bytes(), 7, true, true)
    }

    #[test]
    fn ids_are_read_as_redis_reads_them() {
        assert_eq!(id("5-3"), Ok((StreamId::new(5, 3), true)));
        assert_eq!(id("5"), Ok((StreamId::new(5, 7), true)));
        assert_eq!(id("5-*"), Ok((StreamId::new(5, 0), false)));
        assert_eq!(id("0005-+2"), Ok((StreamId::new(5, 2), true)));
        assert_eq!(id(" 5-1"), Ok((StreamId::new(5, 1), true)));
        assert_eq!(id("5- -1"), Ok((StreamId::new(5, u64::MAX), true)));
        assert_eq!(id("5-3\0junk"), Ok((StreamId::new(5, 3), true)));
        assert_eq!(
            id("18446744073709551615-18446744073709551615"),
            Ok((StreamId::MAX, true))
        );
        for bad in [
            "-",
            "+",
            "",
            "x",
            "5-",
            "-5",
            "5--1",
            "5-3-1",
            "5-x",
            "18446744073709551616",
            "5-*",
        ] {
            let strict_no_star = parse_id(bad.as_bytes(), 0, true, false);
            assert_eq!(strict_no_star, Err(Error::msg(INVALID_ID)), "{bad:?}");
        }
        assert_eq!(parse_id(b"-", 0, false, false), Ok((StreamId::MIN, true)));
        assert_eq!(parse_id(b"+", 0, false, false), Ok((StreamId::MAX, true)));
        assert!(parse_id(&[b'1'; 128], 0, false, false).is_err());
    }

    #[test]
    fn range_bounds_may_be_exclusive() {
        assert_eq!(parse_bound(b"(5", 0), Ok((StreamId::new(5, 0), true)));
        assert_eq!(
            parse_bound(b"5", u64::MAX),
            Ok((StreamId::new(5, u64::MAX), false))
        );
        assert_eq!(parse_bound(b"-", 0), Ok((StreamId::MIN, false)));
        for bad in [&b"("[..], b"(-", b"(+", b"((5"] {
            assert_eq!(parse_bound(bad, 0), Err(Error::msg(INVALID_ID)), "{bad:?}");
        }
    }

    #[test]
    fn trim_options_follow_redis_rules() {
        let parse = |line: &str, xadd: bool| {
            let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
            parse_add_or_trim(&args, xadd)
                .map(|o| (o.trim.map(|t| (t.trim, t.approx, t.limit)), o.id, o.id_at))
        };
        assert_eq!(
            parse("xadd s MAXLEN ~ 5 * f v", true),
            Ok((Some((Trim::MaxLen(5), true, 10_000)), NewId::Auto, 5))
        );
        assert_eq!(
            parse("xadd s NOMKSTREAM MINID = 3 LIMIT 0 9-* f v", true).map_err(|e| e.text()),
            Err("ERR syntax error, LIMIT cannot be used without the special ~ option".into())
        );
        assert_eq!(
            parse("xadd s LIMIT 5 MINID ~ 3-1 9-* f v", true),
            Ok((
                Some((Trim::MinId(StreamId::new(3, 1)), true, 5)),
                NewId::Ms(9),
                7
            ))
        );
        assert_eq!(
            parse("xtrim s MAXLEN 5", false),
            Ok((Some((Trim::MaxLen(5), false, 0)), NewId::Auto, 4))
        );
        assert_eq!(
            parse("xtrim s NOMKSTREAM MAXLEN 5", false),
            Err(Error::Syntax)
        );
    }

    #[test]
    fn numbers_parse_like_strtoull() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"-0"), Some(0));
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b"\t-1"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"1 "), None);
        assert_eq!(parse_u64(b"  "), None);
    }
}
