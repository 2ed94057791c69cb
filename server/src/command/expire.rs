//! Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX XX GT LT), TTL, PTTL,
//! EXPIRETIME, PEXPIRETIME and PERSIST.
//!
//! Expiry times are absolute Unix milliseconds in the store; a time already past deletes the
//! key at once, as Redis does.

use super::keys::read_untouched;
use super::parse::{self, is};
use super::{Command, Ctx, KeySpec, flag::*};
use crate::error::{CommandResult, Error};
use crate::protocol::Reply;
use crate::store::effects::class;

const GROUP: &str = "generic";

pub const COMMANDS: &[Command] = &[
    Command::new("expire", -3, WRITE | FAST, KeySpec::ONE, expire)
        .doc(
            GROUP,
            "1.0.0",
            "Gives a key a time to live in seconds.",
            "O(1)",
            "key seconds:int [condition=NX | XX | GT | LT]",
        )
        .notifies(class::GENERIC, "expire"),
    Command::new("pexpire", -3, WRITE | FAST, KeySpec::ONE, pexpire)
        .doc(
            GROUP,
            "2.6.0",
            "Gives a key a time to live in milliseconds.",
            "O(1)",
            "key milliseconds:int [condition=NX | XX | GT | LT]",
        )
        .notifies(class::GENERIC, "expire"),
    Command::new("expireat", -3, WRITE | FAST, KeySpec::ONE, expireat)
        .doc(
            GROUP,
            "1.2.0",
            "Makes a key expire at a Unix time in seconds.",
            "O(1)",
            "key unix-time-seconds:time [condition=NX | XX | GT | LT]",
        )
        .notifies(class::GENERIC, "expire"),
    Command::new("pexpireat", -3, WRITE | FAST, KeySpec::ONE, pexpireat)
        .doc(
            GROUP,
            "2.6.0",
            "Makes a key expire at a Unix time in milliseconds.",
            "O(1)",
            "key unix-time-milliseconds:time [condition=NX | XX | GT | LT]",
        )
        .notifies(class::GENERIC, "expire"),
    Command::new("ttl", 2, READONLY | FAST, KeySpec::ONE, ttl)
        .doc(
            GROUP,
            "1.0.0",
            "Gives the seconds a key has left to live.",
            "O(1)",
            "key",
        )
        .tips(&["nondeterministic_output"]),
    Command::new("pttl", 2, READONLY | FAST, KeySpec::ONE, pttl)
        .doc(
            GROUP,
            "2.6.0",
            "Gives the milliseconds a key has left to live.",
            "O(1)",
            "key",
        )
        .tips(&["nondeterministic_output"]),
    Command::new("expiretime", 2, READONLY | FAST, KeySpec::ONE, expiretime).doc(
        GROUP,
        "7.0.0",
        "Gives the Unix time in seconds at which a key expires.",
        "O(1)",
        "key",
    ),
    Command::new("pexpiretime", 2, READONLY | FAST, KeySpec::ONE, pexpiretime).doc(
        GROUP,
        "7.0.0",
        "Gives the Unix time in milliseconds at which a key expires.",
        "O(1)",
        "key",
    ),
    Command::new("persist", 2, WRITE | FAST, KeySpec::ONE, persist)
        .doc(
            GROUP,
            "2.2.0",
            "Makes a key live forever again.",
            "O(1)",
            "key",
        )
        .notifies(class::GENERIC, "persist"),
];

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
        // A time in the past deletes the key: Redis notifies `del`, not `expire`.
        ctx.keys.usual_event(Some((class::GENERIC, "del")));
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
