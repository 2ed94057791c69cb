//! Commands on single members: ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK, and
//! ZRANDMEMBER and ZSCAN.

use super::super::Ctx;
use super::super::parse::{self, is};
use super::super::scan::{self, ScanOptions};
use super::{as_zset, bounds, change_zset, entries_reply, member_reply, with_zset};
use crate::error::{CommandResult, Error};
use crate::protocol::Reply;
use crate::protocol::reply::format_double;
use crate::store::Value;
use crate::store::effects::class;
use crate::store::locked::Access;
use crate::store::zset::{Insert, ZSet};

/// Most members a ZRANDMEMBER with a negative count answers (each may repeat): a bound on
/// the reply's size, as SRANDMEMBER has.
const MAX_REPEATED: u64 = 1 << 24;

/// ZADD's options (ZINCRBY is ZADD with INCR).
#[derive(Clone, Copy, Debug, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What one score-member pair would do to a set.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Plan {
    /// Nothing, because of NX, XX, GT or LT.
    Skip,
    /// Set the score (which may be the current one).
    Set(f64),
}

const NAN_SCORE: Error = Error::msg("ERR resulting score is not a number (NaN)");

fn plan(zset: &ZSet, member: &[u8], score: f64, flags: AddFlags) -> Result<Plan, Error> {
    let Some(current) = zset.score(member) else {
        return Ok(if flags.xx {
            Plan::Skip
        } else {
            Plan::Set(score)
        });
    };
    if flags.nx {
        return Ok(Plan::Skip);
    }
    let new = if flags.incr { current + score } else { score };
    if new.is_nan() {
        return Err(NAN_SCORE);
    }
    if (flags.lt && new >= current) || (flags.gt && new <= current) {
        return Ok(Plan::Skip);
    }
    Ok(Plan::Set(new))
}

/// What a ZADD did.
#[derive(Clone, Copy, Debug, Default)]
struct Outcome {
    added: i64,
    updated: i64,
    /// The score of the last pair that was not skipped (the INCR reply).
    last: Option<f64>,
}

impl Outcome {
    fn changed(&self) -> bool {
        self.added + self.updated > 0
    }

    fn reply(&self, flags: AddFlags) -> Reply {
        if flags.incr {
            self.last.map_or(Reply::Null, Reply::Double)
        } else if flags.ch {
            Reply::Int(self.added + self.updated)
        } else {
            Reply::Int(self.added)
        }
    }
}

/// Applies the pairs in order.
fn apply(zset: &mut ZSet, pairs: &[(f64, &[u8])], flags: AddFlags) -> Result<Outcome, Error> {
    let mut outcome = Outcome::default();
    for &(score, member) in pairs {
        if let Plan::Set(score) = plan(zset, member, score, flags)? {
            match zset.insert(member, score) {
                Insert::Added => outcome.added += 1,
                Insert::Updated => outcome.updated += 1,
                Insert::Unchanged => {}
            }
            outcome.last = Some(score);
        }
    }
    Ok(outcome)
}

/// What applying the pairs would answer, as long as it changes nothing: stops (with
/// `changed`) at the first pair that would change the set. Changes never come after a pair
/// that changed nothing, so this tells whether [`apply`] would change anything.
fn dry_run(zset: &ZSet, pairs: &[(f64, &[u8])], flags: AddFlags) -> Result<Outcome, Error> {
    let mut outcome = Outcome::default();
    for &(score, member) in pairs {
        if let Plan::Set(score) = plan(zset, member, score, flags)? {
            if zset.score(member) != Some(score) {
                outcome.added = 1;
                return Ok(outcome);
            }
            outcome.last = Some(score);
        }
    }
    Ok(outcome)
}

/// ZADD and ZINCRBY once their arguments are read.
fn add(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    pairs: &[(f64, &[u8])],
    flags: AddFlags,
) -> CommandResult {
    let db = ctx.db();
    let found = with_zset(ctx, key, Access::Write, |z| dry_run(z, pairs, flags))?;
    let outcome = match found {
        None if flags.xx => Outcome::default(),
        None => {
            let mut zset = ZSet::new();
            let outcome = apply(&mut zset, pairs, flags)?;
            // Storing a new sorted set signals clients waiting on the key.
            ctx.keys.set(db, key, Value::ZSet(Box::new(zset)), None);
            outcome
        }
        Some(dry) => {
            let dry = dry?;
            if !dry.changed() {
                dry
            } else {
                let outcome =
                    change_zset(ctx, key, |z| apply(z, pairs, flags))?.unwrap_or(Ok(dry))?;
                ctx.keys.signal_ready(db, key);
                outcome
            }
        }
    };
    Ok(outcome.reply(flags))
}

pub(super) fn zadd(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let mut flags = AddFlags::default();
    let mut at = 2;
    while let Some(arg) = args.get(at) {
        if is(arg, "nx") {
            flags.nx = true;
        } else if is(arg, "xx") {
            flags.xx = true;
        } else if is(arg, "ch") {
            flags.ch = true;
        } else if is(arg, "incr") {
            flags.incr = true;
        } else if is(arg, "gt") {
            flags.gt = true;
        } else if is(arg, "lt") {
            flags.lt = true;
        } else {
            break;
        }
        at += 1;
    }
    let rest = &args[at..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(Error::Syntax);
    }
    if flags.nx && flags.xx {
        return Err(Error::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(Error::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if flags.incr && rest.len() > 2 {
        return Err(Error::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let pairs = rest
        .chunks_exact(2)
        .map(|pair| Ok((bounds::score(pair[0]).ok_or(Error::NotFloat)?, pair[1])))
        .collect::<Result<Vec<_>, Error>>()?;
    if flags.incr {
        ctx.keys.usual_event(Some((class::ZSET, "zincr")));
    }
    add(ctx, args[1], &pairs, flags)
}

pub(super) fn zincrby(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let increment = bounds::score(args[2]).ok_or(Error::NotFloat)?;
    let flags = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    add(ctx, args[1], &[(increment, args[3])], flags)
}

pub(super) fn zrem(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let members = &args[2..];
    let present = with_zset(ctx, args[1], Access::Write, |z| {
        members.iter().any(|m| z.score(m).is_some())
    })?;
    if present != Some(true) {
        return Ok(Reply::Int(0));
    }
    let removed = change_zset(ctx, args[1], |z| {
        members.iter().filter(|m| z.remove(m).is_some()).count()
    })?;
    Ok(Reply::Int(removed.unwrap_or(0) as i64))
}

pub(super) fn zcard(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let len = with_zset(ctx, args[1], Access::Read, ZSet::len)?;
    Ok(Reply::Int(len.unwrap_or(0) as i64))
}

pub(super) fn zscore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let score = with_zset(ctx, args[1], Access::Read, |z| z.score(args[2]))?.flatten();
    Ok(score.map_or(Reply::Null, Reply::Double))
}

pub(super) fn zmscore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let members = &args[2..];
    let scores = with_zset(ctx, args[1], Access::Read, |z| {
        members.iter().map(|m| z.score(m)).collect::<Vec<_>>()
    })?
    .unwrap_or_else(|| vec![None; members.len()]);
    Ok(Reply::Array(
        scores
            .into_iter()
            .map(|s| s.map_or(Reply::Null, Reply::Double))
            .collect(),
    ))
}

/// ZRANK and ZREVRANK, with Redis 7.2's WITHSCORE.
fn rank(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], reverse: bool, name: &str) -> CommandResult {
    if args.len() > 4 {
        return Err(Error::err(format!(
            "wrong number of arguments for '{name}' command"
        )));
    }
    let withscore = match args.get(3) {
        None => false,
        Some(arg) if is(arg, "withscore") => true,
        Some(_) => return Err(Error::Syntax),
    };
    let found = with_zset(ctx, args[1], Access::Read, |z| {
        let rank = z.rank(args[2])?;
        let rank = if reverse { z.len() - 1 - rank } else { rank };
        Some((rank, z.score(args[2]).unwrap_or(0.0)))
    })?
    .flatten();
    Ok(match (found, withscore) {
        (Some((rank, _)), false) => Reply::Int(rank as i64),
        (Some((rank, score)), true) => {
            Reply::Array(vec![Reply::Int(rank as i64), Reply::Double(score)])
        }
        (None, false) => Reply::Null,
        (None, true) => Reply::NullArray,
    })
}

pub(super) fn zrank(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    rank(ctx, args, false, "zrank")
}

pub(super) fn zrevrank(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    rank(ctx, args, true, "zrevrank")
}

pub(super) fn zrandmember(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let mut rng = rand::rng();
    if args.len() == 2 {
        let Some(entry) = ctx.keys.get(db, args[1]) else {
            return Ok(Reply::Null);
        };
        let picked = as_zset(entry.value())?.random(&mut rng);
        return Ok(picked.map_or(Reply::Null, |e| member_reply(e.member)));
    }
    // Checked in Redis's order: the count, the options, then the key.
    let count = parse::int(args[2])?;
    if count == i64::MIN {
        return Err(Error::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withscores = match args.get(3) {
        None => false,
        Some(option) if args.len() == 4 && is(option, "withscores") => true,
        Some(_) => return Err(Error::Syntax),
    };
    // Twice as many replies would overflow the reply length.
    if withscores && count.unsigned_abs() > (i64::MAX / 2) as u64 {
        return Err(Error::msg("ERR value is out of range"));
    }
    if count < 0 && count.unsigned_abs() > MAX_REPEATED {
        return Err(Error::msg("ERR value is out of range"));
    }
    let protocol = ctx.client.protocol;
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let zset = as_zset(entry.value())?;
    let wanted = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let picked = if count >= 0 {
        zset.random_distinct(&mut rng, wanted)
    } else {
        zset.random_many(&mut rng, wanted)
    };
    Ok(entries_reply(picked.into_iter(), withscores, protocol))
}

pub(super) fn zscan(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let cursor = scan::cursor(args[2])?;
    let db = ctx.db();
    let Some(entry) = ctx.keys.get(db, args[1]) else {
        return Ok(scan::reply(0, Vec::new()));
    };
    let zset = as_zset(entry.value())?;
    // Options are read once the key is known to hold a sorted set, as Redis does.
    let options = ScanOptions::parse(&args[3..], false)?;
    let mut found = Vec::new();
    let next = zset.scan(cursor, options.count, &mut found);
    let mut items = Vec::with_capacity(found.len() * 2);
    for entry in found {
        if options.matches(entry.member) {
            items.push(member_reply(entry.member));
            items.push(Reply::bulk_string(format_double(entry.score)));
        }
    }
    Ok(scan::reply(next, items))
}
