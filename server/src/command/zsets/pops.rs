//! Pops: ZPOPMIN ZPOPMAX ZMPOP, and the blocking BZPOPMIN BZPOPMAX BZMPOP.
//!
//! A blocking pop that finds every key empty waits through `Ctx::block`: the connection
//! runs the same command again once a key is signalled ready (or answers nil at the
//! timeout), so serving a woken client is just this code running again.

use super::super::Ctx;
use super::super::parse::{self, is};
use super::{change_zset, member_reply, with_zset};
use crate::error::{CommandResult, Error};
use crate::protocol::{Protocol, Reply};
use crate::store::effects::class;
use crate::store::locked::Access;

/// Popped members and their scores, in the order they were taken.
type Popped = Vec<(Vec<u8>, f64)>;

/// Pops up to `count` members from the low end (or the high end with `highest`) of the
/// sorted set at `key`. `None` if the key is missing; WRONGTYPE for another type.
fn pop(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    count: usize,
    highest: bool,
) -> Result<Option<Popped>, Error> {
    if with_zset(ctx, key, Access::Write, |_| ())?.is_none() {
        return Ok(None);
    }
    if count == 0 {
        return Ok(Some(Vec::new()));
    }
    let event = if highest { "zpopmax" } else { "zpopmin" };
    ctx.keys.usual_event(Some((class::ZSET, event)));
    change_zset(ctx, key, |zset| zset.pop(count, highest))
}

/// Popped members as [member, score] pairs (`nested`) or one flat array.
fn popped_reply(popped: Popped, nested: bool) -> Vec<Reply> {
    let mut out = Vec::with_capacity(popped.len() * if nested { 1 } else { 2 });
    for (member, score) in popped {
        if nested {
            out.push(Reply::Array(vec![
                member_reply(&member),
                Reply::Double(score),
            ]));
        } else {
            out.push(member_reply(&member));
            out.push(Reply::Double(score));
        }
    }
    out
}

/// ZPOPMIN and ZPOPMAX.
fn zpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], highest: bool) -> CommandResult {
    if args.len() > 3 {
        return Err(Error::Syntax);
    }
    let count = match args.get(2) {
        None => None,
        Some(arg) => {
            // Redis gives the same message for a negative count and for no number at all.
            let n = parse::int(arg)
                .ok()
                .filter(|n| *n >= 0)
                .ok_or(Error::msg("ERR value is out of range, must be positive"))?;
            Some(usize::try_from(n).unwrap_or(usize::MAX))
        }
    };
    let popped = pop(ctx, args[1], count.unwrap_or(1), highest)?.unwrap_or_default();
    // With a count, RESP3 clients get [member, score] pairs; otherwise one flat array.
    let nested = count.is_some() && ctx.client.protocol == Protocol::Resp3;
    Ok(Reply::Array(popped_reply(popped, nested)))
}

pub(super) fn zpopmin(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    zpop(ctx, args, false)
}

pub(super) fn zpopmax(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    zpop(ctx, args, true)
}

/// Pops from the first of `keys` that exists: `[key, [[member, score]...]]` (ZMPOP's
/// shape), or `None` when none exists.
fn pop_first_key(
    ctx: &mut Ctx<'_, '_>,
    keys: &[&[u8]],
    count: usize,
    highest: bool,
) -> Result<Option<Reply>, Error> {
    for key in keys {
        if let Some(popped) = pop(ctx, key, count, highest)? {
            return Ok(Some(Reply::Array(vec![
                member_reply(key),
                Reply::Array(popped_reply(popped, true)),
            ])));
        }
    }
    Ok(None)
}

/// ZMPOP's and BZMPOP's arguments from `numkeys` on: the keys, the end to pop from and the
/// count.
struct Multi<'a> {
    keys: &'a [&'a [u8]],
    highest: bool,
    count: usize,
}

fn multi_args<'a>(args: &'a [&'a [u8]], numkeys_at: usize) -> Result<Multi<'a>, Error> {
    let numkeys = parse::int(args[numkeys_at])
        .ok()
        .filter(|n| *n >= 1)
        .ok_or(Error::msg("ERR numkeys should be greater than 0"))?;
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    let where_at = numkeys_at.saturating_add(numkeys).saturating_add(1);
    let Some(end) = args.get(where_at) else {
        return Err(Error::Syntax);
    };
    let highest = if is(end, "min") {
        false
    } else if is(end, "max") {
        true
    } else {
        return Err(Error::Syntax);
    };
    let mut count = None;
    let mut at = where_at + 1;
    while at < args.len() {
        match args.get(at + 1) {
            Some(value) if count.is_none() && is(args[at], "count") => {
                let n = parse::int(value)
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or(Error::msg("ERR count should be greater than 0"))?;
                count = Some(usize::try_from(n).unwrap_or(usize::MAX));
                at += 2;
            }
            _ => return Err(Error::Syntax),
        }
    }
    Ok(Multi {
        keys: &args[numkeys_at + 1..where_at],
        highest,
        count: count.unwrap_or(1),
    })
}

pub(super) fn zmpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let multi = multi_args(args, 1)?;
    let found = pop_first_key(ctx, multi.keys, multi.count, multi.highest)?;
    Ok(found.unwrap_or(Reply::NullArray))
}

/// Waits on `keys` until one is ready or the timeout passes (nil array then).
fn wait(ctx: &mut Ctx<'_, '_>, keys: &[&[u8]], timeout: &[u8]) -> CommandResult {
    let timeout = parse::timeout_secs(timeout)?;
    let keys = keys.iter().map(|k| k.to_vec()).collect();
    ctx.block(keys, timeout, Reply::NullArray, None)
}

/// BZPOPMIN and BZPOPMAX: `[key, member, score]` from the first non-empty key.
fn bzpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], highest: bool) -> CommandResult {
    let (timeout, keys) = match args[1..].split_last() {
        Some((timeout, keys)) => (*timeout, keys),
        None => return Err(Error::Syntax),
    };
    // The timeout is checked before any key, as Redis does.
    parse::timeout_secs(timeout)?;
    for key in keys {
        if let Some(popped) = pop(ctx, key, 1, highest)? {
            let mut out = vec![member_reply(key)];
            out.extend(popped_reply(popped, false));
            return Ok(Reply::Array(out));
        }
    }
    wait(ctx, keys, timeout)
}

pub(super) fn bzpopmin(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    bzpop(ctx, args, false)
}

pub(super) fn bzpopmax(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    bzpop(ctx, args, true)
}

pub(super) fn bzmpop(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let multi = multi_args(args, 2)?;
    // Then the timeout, then the keys.
    parse::timeout_secs(args[1])?;
    if let Some(reply) = pop_first_key(ctx, multi.keys, multi.count, multi.highest)? {
        return Ok(reply);
    }
    wait(ctx, multi.keys, args[1])
}
