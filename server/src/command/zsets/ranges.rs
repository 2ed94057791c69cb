//! Ranges: ZRANGE (by rank, score or lex, either direction, with LIMIT), its older forms
//! (ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX), ZRANGESTORE, ZCOUNT, ZLEXCOUNT and
//! ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX.

use super::super::Ctx;
use super::super::parse::{self, is};
use super::bounds::{LexRange, ScoreRange};
use super::{change_zset, push_entry, store_zset, with_zset};
use crate::error::{CommandResult, Error};
use crate::protocol::Reply;
use crate::store::locked::Access;
use crate::store::zset::ZSet;

/// What a range is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// A range parsed from a command's arguments.
#[derive(Clone, Debug, PartialEq)]
enum Bounds {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

impl Bounds {
    fn parse(by: By, min: &[u8], max: &[u8]) -> Result<Bounds, Error> {
        Ok(match by {
            By::Rank => Bounds::Rank(parse::int(min)?, parse::int(max)?),
            By::Score => Bounds::Score(ScoreRange::parse(min, max)?),
            By::Lex => Bounds::Lex(LexRange::parse(min, max)?),
        })
    }
}

/// The ranks `start..end` selected by a rank range (negative counting from the end), or
/// `None` when it selects nothing; with `reverse` the positions count from the highest.
fn rank_span(len: usize, start: i64, stop: i64, reverse: bool) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    let stop = stop.min(len - 1);
    let (start, stop) = if reverse {
        (len - 1 - stop, len - 1 - start)
    } else {
        (start, stop)
    };
    Some((start as usize, stop as usize + 1))
}

/// The ranks a range selects in `zset`, in ascending order (to be walked backwards when
/// reversed), after LIMIT's offset and count (a negative count means no limit, a negative
/// offset selects nothing, as in Redis).
fn select(
    zset: &ZSet,
    bounds: &Bounds,
    reverse: bool,
    limit: Option<(i64, i64)>,
) -> (usize, usize) {
    let (start, end) = match bounds {
        Bounds::Rank(start, stop) => {
            return rank_span(zset.len(), *start, *stop, reverse).unwrap_or((0, 0));
        }
        Bounds::Score(range) => range.ranks(zset),
        Bounds::Lex(range) => range.ranks(zset),
    };
    let Some((offset, count)) = limit else {
        return (start, end);
    };
    if offset < 0 {
        return (0, 0);
    }
    let available = end - start;
    let skip = usize::try_from(offset).unwrap_or(usize::MAX).min(available);
    let take = if count < 0 {
        available - skip
    } else {
        usize::try_from(count)
            .unwrap_or(usize::MAX)
            .min(available - skip)
    };
    if reverse {
        (end - skip - take, end - skip)
    } else {
        (start + skip, start + skip + take)
    }
}

/// The fixed parts of a range command: what it ranges over and its direction, when the
/// command itself decides them (`None`: ZRANGE's options decide).
struct Form {
    by: Option<By>,
    reverse: Option<bool>,
}

/// The options after `key min max`.
struct Options {
    by: By,
    reverse: bool,
    withscores: bool,
    limit: Option<(i64, i64)>,
}

fn options(args: &[&[u8]], form: &Form, store: bool) -> Result<Options, Error> {
    let mut by = form.by;
    let mut reverse = form.reverse;
    let mut withscores = false;
    let mut limit = None;
    let mut at = 0;
    while at < args.len() {
        let arg = args[at];
        let left = args.len() - at - 1;
        if !store && is(arg, "withscores") {
            withscores = true;
        } else if is(arg, "limit") && left >= 2 {
            limit = Some((parse::int(args[at + 1])?, parse::int(args[at + 2])?));
            at += 2;
        } else if reverse.is_none() && is(arg, "rev") {
            reverse = Some(true);
        } else if by.is_none() && is(arg, "bylex") {
            by = Some(By::Lex);
        } else if by.is_none() && is(arg, "byscore") {
            by = Some(By::Score);
        } else {
            return Err(Error::Syntax);
        }
        at += 1;
    }
    let by = by.unwrap_or(By::Rank);
    // Redis takes a count of -1 for "no LIMIT given".
    let limited = limit.is_some_and(|(_, count)| count != -1);
    if limited && by == By::Rank {
        return Err(Error::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && by == By::Lex {
        return Err(Error::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    Ok(Options {
        by,
        reverse: reverse.unwrap_or(false),
        withscores,
        limit,
    })
}

/// Every range command: `args[at]` is the source key, followed by the two bounds and the
/// options; `store` is ZRANGESTORE's destination.
fn range(
    ctx: &mut Ctx<'_, '_>,
    args: &[&[u8]],
    at: usize,
    store: Option<&[u8]>,
    form: Form,
) -> CommandResult {
    let options = options(&args[at + 3..], &form, store.is_some())?;
    let (mut min, mut max) = (args[at + 1], args[at + 2]);
    if options.reverse && options.by != By::Rank {
        // Reversed score and lex ranges are written max first.
        std::mem::swap(&mut min, &mut max);
    }
    let bounds = Bounds::parse(options.by, min, max)?;
    let reverse = options.reverse;
    let protocol = ctx.client.protocol;
    let withscores = options.withscores;
    let found = with_zset(ctx, args[at], Access::Read, |zset| {
        let (start, end) = select(zset, &bounds, reverse, options.limit);
        let entries = zset.range(start, end);
        if store.is_some() {
            let taken: Vec<(Vec<u8>, f64)> =
                entries.map(|e| (e.member.to_vec(), e.score)).collect();
            return Err(taken);
        }
        let mut out = Vec::with_capacity(entries.len() * if withscores { 2 } else { 1 });
        let mut push = |e: crate::store::zset::Entry<'_>| {
            push_entry(&mut out, e.member, e.score, withscores, protocol);
        };
        if reverse {
            entries.rev().for_each(&mut push);
        } else {
            entries.for_each(&mut push);
        }
        Ok(Reply::Array(out))
    })?;
    match (found, store) {
        (Some(Ok(reply)), _) => Ok(reply),
        (None, None) => Ok(Reply::Array(Vec::new())),
        (Some(Err(taken)), Some(dst)) => {
            let stored = store_zset(ctx, dst, ZSet::from_entries(taken), "zrangestore");
            Ok(Reply::Int(stored as i64))
        }
        (_, Some(dst)) => {
            store_zset(ctx, dst, ZSet::new(), "zrangestore");
            Ok(Reply::Int(0))
        }
        (Some(Err(_)), None) => Ok(Reply::Array(Vec::new())),
    }
}

const AUTO: Form = Form {
    by: None,
    reverse: None,
};

pub(super) fn zrange(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    range(ctx, args, 1, None, AUTO)
}

pub(super) fn zrangestore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    range(ctx, args, 2, Some(args[1]), AUTO)
}

pub(super) fn zrevrange(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let form = Form {
        by: Some(By::Rank),
        reverse: Some(true),
    };
    range(ctx, args, 1, None, form)
}

fn by(by: By, reverse: bool) -> Form {
    Form {
        by: Some(by),
        reverse: Some(reverse),
    }
}

pub(super) fn zrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    range(ctx, args, 1, None, by(By::Score, false))
}

pub(super) fn zrevrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    range(ctx, args, 1, None, by(By::Score, true))
}

pub(super) fn zrangebylex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    range(ctx, args, 1, None, by(By::Lex, false))
}

pub(super) fn zrevrangebylex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    range(ctx, args, 1, None, by(By::Lex, true))
}

/// ZCOUNT and ZLEXCOUNT: the size of an interval.
fn count(ctx: &mut Ctx<'_, '_>, key: &[u8], bounds: Bounds) -> CommandResult {
    let counted = with_zset(ctx, key, Access::Read, |zset| {
        let (start, end) = select(zset, &bounds, false, None);
        end - start
    })?;
    Ok(Reply::Int(counted.unwrap_or(0) as i64))
}

pub(super) fn zcount(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let bounds = Bounds::parse(By::Score, args[2], args[3])?;
    count(ctx, args[1], bounds)
}

pub(super) fn zlexcount(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let bounds = Bounds::parse(By::Lex, args[2], args[3])?;
    count(ctx, args[1], bounds)
}

/// ZREMRANGEBY*: removes what a range selects.
fn remove(ctx: &mut Ctx<'_, '_>, args: &[&[u8]], by: By) -> CommandResult {
    let bounds = Bounds::parse(by, args[2], args[3])?;
    let span = with_zset(ctx, args[1], Access::Write, |zset| {
        select(zset, &bounds, false, None)
    })?;
    let Some((start, end)) = span.filter(|(start, end)| start < end) else {
        return Ok(Reply::Int(0));
    };
    let removed = change_zset(ctx, args[1], |zset| zset.remove_range(start, end))?;
    Ok(Reply::Int(removed.unwrap_or(0) as i64))
}

pub(super) fn zremrangebyrank(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    remove(ctx, args, By::Rank)
}

pub(super) fn zremrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    remove(ctx, args, By::Score)
}

pub(super) fn zremrangebylex(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    remove(ctx, args, By::Lex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_spans_follow_redis_index_rules() {
        assert_eq!(rank_span(5, 0, -1, false), Some((0, 5)));
        assert_eq!(rank_span(5, -2, -1, false), Some((3, 5)));
        assert_eq!(rank_span(5, -100, 1, false), Some((0, 2)));
        assert_eq!(rank_span(5, 3, 100, false), Some((3, 5)));
        assert_eq!(rank_span(5, 5, 10, false), None);
        assert_eq!(rank_span(5, 2, 1, false), None);
        assert_eq!(rank_span(5, 0, -6, false), None);
        // Reversed: positions count from the highest score.
        assert_eq!(rank_span(5, 0, 1, true), Some((3, 5)));
        assert_eq!(rank_span(5, 1, -1, true), Some((0, 4)));
        assert_eq!(rank_span(0, 0, -1, false), None);
    }

    #[test]
    fn limits_cut_score_ranges_from_either_end() {
        let zset = ZSet::from_entries((0..10).map(|i| (vec![b'a' + i], f64::from(i))).collect());
        let all = Bounds::parse(By::Score, b"-inf", b"+inf").expect("valid");
        assert_eq!(select(&zset, &all, false, Some((2, 3))), (2, 5));
        assert_eq!(select(&zset, &all, true, Some((2, 3))), (5, 8));
        assert_eq!(select(&zset, &all, false, Some((8, -5))), (8, 10));
        assert_eq!(select(&zset, &all, false, Some((20, 1))), (10, 10));
        let (start, end) = select(&zset, &all, false, Some((-1, 5)));
        assert_eq!(start, end);
        let (start, end) = select(&zset, &all, false, Some((0, 0)));
        assert_eq!(start, end);
    }
}
