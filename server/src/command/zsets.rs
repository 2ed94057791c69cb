//! Sorted set commands: ZADD and friends, ranges by rank/score/lex, pops (and the blocking
//! BZPOPMIN BZPOPMAX BZMPOP), set algebra (ZUNION ZINTER ZDIFF and STORE forms), ZSCAN.
//!
//! This file holds the command table and what the handlers share (finding a key's sorted
//! set, building replies); the handlers are grouped in the modules below:
//!
//! - `bounds`: score and lex intervals, and reading scores as Redis does.
//! - `members`: ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ZRANDMEMBER ZSCAN.
//! - `ranges`: ZRANGE and its older forms, ZRANGESTORE, ZCOUNT ZLEXCOUNT, ZREMRANGEBY*.
//! - `pops`: ZPOPMIN ZPOPMAX ZMPOP and the blocking BZPOPMIN BZPOPMAX BZMPOP.
//! - `algebra`: ZUNION ZINTER ZDIFF, their STORE forms, ZINTERCARD.

mod algebra;
mod bounds;
mod members;
mod pops;
mod ranges;

use super::{Command, Ctx, KeySpec, flag::*};
use crate::error::Error;
use crate::protocol::{Protocol, Reply};
use crate::store::effects::class;
use crate::store::locked::Access;
use crate::store::zset::{Entry, ZSet};
use crate::store::{Value, ValueRef};

const GROUP: &str = "sorted-set";

pub const COMMANDS: &[Command] = &[
    Command::new("zadd", -4, WRITE | DENYOOM | FAST, KeySpec::ONE, members::zadd).doc(
        GROUP,
        "1.2.0",
        "Adds members with scores or changes their scores; options restrict which members change, or add to a score.",
        "O(log(N)) per member, N being the size of the set.",
        "key [condition=NX | XX] [comparison=GT | LT] [change=CH] [increment=INCR] (score_member=score:double member)...",
    ).notifies(class::ZSET, "zadd"),
    Command::new("zincrby", 4, WRITE | DENYOOM | FAST, KeySpec::ONE, members::zincrby).doc(
        GROUP,
        "1.2.0",
        "Adds a number to the score of a member, adding the member if missing.",
        "O(log(N)), N being the size of the set.",
        "key increment:int member",
    ).notifies(class::ZSET, "zincr"),
    Command::new("zrem", -3, WRITE | FAST, KeySpec::ONE, members::zrem).doc(
        GROUP,
        "1.2.0",
        "Removes members; the key goes when its last member does.",
        "O(M*log(N)) for M members removed from a set of N.",
        "key member...",
    ).notifies(class::ZSET, "zrem"),
    Command::new("zcard", 2, READONLY | FAST, KeySpec::ONE, members::zcard).doc(
        GROUP,
        "1.2.0",
        "Counts the members of a sorted set.",
        "O(1)",
        "key",
    ),
    Command::new("zscore", 3, READONLY | FAST, KeySpec::ONE, members::zscore).doc(
        GROUP,
        "1.2.0",
        "Gives the score of a member.",
        "O(1)",
        "key member",
    ),
    Command::new("zmscore", -3, READONLY | FAST, KeySpec::ONE, members::zmscore).doc(
        GROUP,
        "6.2.0",
        "Gives the scores of several members, nil for missing ones.",
        "O(M) for M members asked.",
        "key member...",
    ),
    Command::new("zrank", -3, READONLY | FAST, KeySpec::ONE, members::zrank).doc(
        GROUP,
        "2.0.0",
        "Gives the position of a member counted from the lowest score, optionally with its score.",
        "O(log(N)), N being the size of the set.",
        "key member [WITHSCORE]",
    ),
    Command::new("zrevrank", -3, READONLY | FAST, KeySpec::ONE, members::zrevrank).doc(
        GROUP,
        "2.0.0",
        "Gives the position of a member counted from the highest score, optionally with its score.",
        "O(log(N)), N being the size of the set.",
        "key member [WITHSCORE]",
    ),
    Command::new("zcount", 4, READONLY | FAST, KeySpec::ONE, ranges::zcount).doc(
        GROUP,
        "2.0.0",
        "Counts the members whose scores are within an interval.",
        "O(log(N)), N being the size of the set.",
        "key min:double max:double",
    ),
    Command::new("zlexcount", 4, READONLY | FAST, KeySpec::ONE, ranges::zlexcount).doc(
        GROUP,
        "2.8.9",
        "Counts the members within a lexicographic interval (for members of equal scores).",
        "O(log(N)), N being the size of the set.",
        "key min max",
    ),
    Command::new("zrange", -4, READONLY, KeySpec::ONE, ranges::zrange).doc(
        GROUP,
        "1.2.0",
        "Lists the members within a range of positions, scores or member names, in either order.",
        "O(log(N)+M) to list M members of a set of N.",
        "key start stop [sortby=BYSCORE | BYLEX] [REV] [offset_count=LIMIT offset:int count:int] [WITHSCORES]",
    ),
    Command::new("zrangestore", -5, WRITE | DENYOOM, KeySpec::TWO, ranges::zrangestore).doc(
        GROUP,
        "6.2.0",
        "Stores the members of a range of another sorted set in a new sorted set.",
        "O(log(N)+M) to store M members of a set of N.",
        "dst:key src:key min max [sortby=BYSCORE | BYLEX] [REV] [offset_count=LIMIT offset:int count:int]",
    ),
    Command::new("zrangebyscore", -4, READONLY, KeySpec::ONE, ranges::zrangebyscore).doc(
        GROUP,
        "1.0.5",
        "Lists the members whose scores are within an interval, lowest first.",
        "O(log(N)+M) to list M members of a set of N.",
        "key min:double max:double [WITHSCORES] [offset_count=LIMIT offset:int count:int]",
    ),
    Command::new("zrevrangebyscore", -4, READONLY, KeySpec::ONE, ranges::zrevrangebyscore)
        .doc(
            GROUP,
            "2.2.0",
            "Lists the members whose scores are within an interval, highest first.",
            "O(log(N)+M) to list M members of a set of N.",
            "key max:double min:double [WITHSCORES] [offset_count=LIMIT offset:int count:int]",
        ),
    Command::new("zrangebylex", -4, READONLY, KeySpec::ONE, ranges::zrangebylex).doc(
        GROUP,
        "2.8.9",
        "Lists the members within a lexicographic interval, in ascending order.",
        "O(log(N)+M) to list M members of a set of N.",
        "key min max [offset_count=LIMIT offset:int count:int]",
    ),
    Command::new("zrevrangebylex", -4, READONLY, KeySpec::ONE, ranges::zrevrangebylex).doc(
        GROUP,
        "2.8.9",
        "Lists the members within a lexicographic interval, in descending order.",
        "O(log(N)+M) to list M members of a set of N.",
        "key max min [offset_count=LIMIT offset:int count:int]",
    ),
    Command::new("zrevrange", -4, READONLY, KeySpec::ONE, ranges::zrevrange).doc(
        GROUP,
        "1.2.0",
        "Lists the members within a range of positions counted from the highest score.",
        "O(log(N)+M) to list M members of a set of N.",
        "key start:int stop:int [WITHSCORES]",
    ),
    Command::new("zremrangebyrank", 4, WRITE, KeySpec::ONE, ranges::zremrangebyrank).doc(
        GROUP,
        "2.0.0",
        "Removes the members within a range of positions.",
        "O(log(N)+M) to remove M members of a set of N.",
        "key start:int stop:int",
    ).notifies(class::ZSET, "zremrangebyrank"),
    Command::new("zremrangebyscore", 4, WRITE, KeySpec::ONE, ranges::zremrangebyscore).doc(
        GROUP,
        "1.2.0",
        "Removes the members whose scores are within an interval.",
        "O(log(N)+M) to remove M members of a set of N.",
        "key min:double max:double",
    ).notifies(class::ZSET, "zremrangebyscore"),
    Command::new("zremrangebylex", 4, WRITE, KeySpec::ONE, ranges::zremrangebylex).doc(
        GROUP,
        "2.8.9",
        "Removes the members within a lexicographic interval.",
        "O(log(N)+M) to remove M members of a set of N.",
        "key min max",
    ).notifies(class::ZSET, "zremrangebylex"),
    Command::new("zpopmin", -2, WRITE | FAST, KeySpec::ONE, pops::zpopmin).doc(
        GROUP,
        "5.0.0",
        "Removes and answers the members with the lowest scores.",
        "O(log(N)*M) to pop M members of a set of N.",
        "key [count:int]",
    ).notifies(class::ZSET, "zpopmin"),
    Command::new("zpopmax", -2, WRITE | FAST, KeySpec::ONE, pops::zpopmax).doc(
        GROUP,
        "5.0.0",
        "Removes and answers the members with the highest scores.",
        "O(log(N)*M) to pop M members of a set of N.",
        "key [count:int]",
    ).notifies(class::ZSET, "zpopmax"),
    Command::new("zmpop", -4, WRITE, KeySpec::numkeys(1), pops::zmpop).doc(
        GROUP,
        "7.0.0",
        "Removes and answers the lowest or highest members of the first non-empty sorted set among several keys.",
        "O(K) + O(M*log(N)) for K keys and M members popped from a set of N.",
        "numkeys:int key... (where=MIN | MAX) [COUNT count:int]",
    ),
    Command::new("bzpopmin", -3, WRITE | NOSCRIPT | BLOCKING | FAST, KeySpec::range(1, -2, 1), pops::bzpopmin).doc(
        GROUP,
        "5.0.0",
        "Removes and answers the lowest member of the first non-empty sorted set among several keys, waiting for one if all are empty.",
        "O(log(N)), N being the size of the set.",
        "key... timeout:double",
    ).notifies(class::ZSET, "zpopmin"),
    Command::new("bzpopmax", -3, WRITE | NOSCRIPT | BLOCKING | FAST, KeySpec::range(1, -2, 1), pops::bzpopmax).doc(
        GROUP,
        "5.0.0",
        "Removes and answers the highest member of the first non-empty sorted set among several keys, waiting for one if all are empty.",
        "O(log(N)), N being the size of the set.",
        "key... timeout:double",
    ).notifies(class::ZSET, "zpopmax"),
    Command::new("bzmpop", -5, WRITE | BLOCKING, KeySpec::numkeys(2), pops::bzmpop).doc(
        GROUP,
        "7.0.0",
        "Like ZMPOP, but waits for a member when every sorted set is empty.",
        "O(K) + O(M*log(N)) for K keys and M members popped from a set of N.",
        "timeout:double numkeys:int key... (where=MIN | MAX) [COUNT count:int]",
    ),
    Command::new("zrandmember", -2, READONLY, KeySpec::ONE, members::zrandmember).doc(
        GROUP,
        "6.2.0",
        "Picks random members; a negative count allows the same member more than once.",
        "O(N) for N members answered.",
        "key [options=count:int [WITHSCORES]]",
    ).tips(&["nondeterministic_output"]),
    Command::new("zunion", -3, READONLY, KeySpec::numkeys(1), algebra::zunion).doc(
        GROUP,
        "6.2.0",
        "Answers the union of sorted sets (sets count as score 1), with weighted scores combined by sum, minimum or maximum.",
        "O(N)+O(M*log(M)) for N input members and M members in the result.",
        "numkeys:int key... [WEIGHTS weight:int...] [aggregate=AGGREGATE (SUM | MIN | MAX)] [WITHSCORES]",
    ),
    Command::new("zinter", -3, READONLY, KeySpec::numkeys(1), algebra::zinter).doc(
        GROUP,
        "6.2.0",
        "Answers the intersection of sorted sets (sets count as score 1), with weighted scores combined by sum, minimum or maximum.",
        "O(N*K)+O(M*log(M)) for the smallest input of N members, K inputs and M members in the result.",
        "numkeys:int key... [WEIGHTS weight:int...] [aggregate=AGGREGATE (SUM | MIN | MAX)] [WITHSCORES]",
    ),
    Command::new("zdiff", -3, READONLY, KeySpec::numkeys(1), algebra::zdiff).doc(
        GROUP,
        "6.2.0",
        "Answers the members of the first sorted set that are in none of the others.",
        "O(L + (N-K)log(N)) for L input members, N in the first set and K in the result.",
        "numkeys:int key... [WITHSCORES]",
    ),
    Command::new("zunionstore", -4, WRITE | DENYOOM, KeySpec::ONE.and_numkeys(2), algebra::zunionstore).doc(
        GROUP,
        "2.0.0",
        "Stores the union of sorted sets (sets count as score 1) at a key.",
        "O(N)+O(M*log(M)) for N input members and M members in the result.",
        "destination:key numkeys:int key... [WEIGHTS weight:int...] [aggregate=AGGREGATE (SUM | MIN | MAX)]",
    ),
    Command::new("zinterstore", -4, WRITE | DENYOOM, KeySpec::ONE.and_numkeys(2), algebra::zinterstore).doc(
        GROUP,
        "2.0.0",
        "Stores the intersection of sorted sets (sets count as score 1) at a key.",
        "O(N*K)+O(M*log(M)) for the smallest input of N members, K inputs and M members in the result.",
        "destination:key numkeys:int key... [WEIGHTS weight:int...] [aggregate=AGGREGATE (SUM | MIN | MAX)]",
    ),
    Command::new("zdiffstore", -4, WRITE | DENYOOM, KeySpec::ONE.and_numkeys(2), algebra::zdiffstore).doc(
        GROUP,
        "6.2.0",
        "Stores the members of the first sorted set that are in none of the others at a key.",
        "O(L + (N-K)log(N)) for L input members, N in the first set and K in the result.",
        "destination:key numkeys:int key...",
    ),
    Command::new("zintercard", -3, READONLY, KeySpec::numkeys(1), algebra::zintercard).doc(
        GROUP,
        "7.0.0",
        "Counts the members common to sorted sets, optionally stopping at a limit.",
        "O(N*K) for the smallest input of N members and K inputs.",
        "numkeys:int key... [LIMIT limit:int]",
    ),
    Command::new("zscan", -3, READONLY, KeySpec::ONE, members::zscan).doc(
        GROUP,
        "2.8.0",
        "Walks the members and scores of a sorted set a few at a time with a cursor.",
        "O(1) per call, O(N) for a whole iteration over N members.",
        "key cursor:int [MATCH pattern:pattern] [COUNT count:int]",
    ).tips(&["nondeterministic_output"]),
];

/// The sorted set a value holds, or WRONGTYPE.
fn as_zset(value: ValueRef<'_>) -> Result<&ZSet, Error> {
    match value {
        ValueRef::ZSet(z) => Ok(z),
        _ => Err(Error::WrongType),
    }
}

/// Runs `f` on the sorted set at `key` (`None` if the key is missing), or answers WRONGTYPE.
/// `access` says how the lookup counts (a read counts a keyspace hit or miss).
fn with_zset<R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    access: Access,
    f: impl FnOnce(&ZSet) -> R,
) -> Result<Option<R>, Error> {
    let db = ctx.db();
    match ctx.keys.lookup(db, key, access) {
        Some(entry) => Ok(Some(f(as_zset(entry.value())?))),
        None => Ok(None),
    }
}

/// Changes the sorted set at `key` with `f` (nothing if the key is missing; WRONGTYPE for
/// another type) and deletes the key if it ends up empty. Only for changes that do change
/// something: the key's version moves (WATCH sees it).
fn change_zset<R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(&mut ZSet) -> R,
) -> Result<Option<R>, Error> {
    let db = ctx.db();
    let Some(mut entry) = ctx.keys.get_mut(db, key) else {
        return Ok(None);
    };
    as_zset(entry.value())?;
    let Value::ZSet(zset) = entry.value_mut() else {
        return Err(Error::WrongType);
    };
    let out = f(zset);
    if zset.is_empty() {
        ctx.keys.remove_emptied(db, key);
    }
    Ok(Some(out))
}

/// Stores `zset` at `key` (replacing whatever was there) and notifies `event`, or deletes
/// `key` when the set is empty (notifying `del` if it existed), as the STORE commands do.
/// Returns the stored size.
fn store_zset(ctx: &mut Ctx<'_, '_>, key: &[u8], zset: ZSet, event: &'static str) -> usize {
    let db = ctx.db();
    let len = zset.len();
    let old = if len == 0 {
        ctx.keys
            .remove_emptied(db, key)
            .map(|entry| entry.into_value())
    } else {
        // Storing a sorted set signals clients waiting on the key.
        let old = ctx.keys.set(db, key, Value::ZSet(Box::new(zset)), None);
        ctx.keys.notify(class::ZSET, event, db, key);
        old
    };
    if let Some(old) = old {
        ctx.keys.store().dispose(old);
    }
    len
}

/// A member as a bulk reply.
fn member_reply(member: &[u8]) -> Reply {
    Reply::bulk(member)
}

/// Members, optionally with their scores: a flat array in RESP2; with scores in RESP3, an
/// array of [member, score] pairs (how Redis answers ZRANGE, ZUNION, ZRANDMEMBER…).
fn entries_reply<'a>(
    entries: impl Iterator<Item = Entry<'a>>,
    withscores: bool,
    protocol: Protocol,
) -> Reply {
    let mut out = Vec::with_capacity(entries.size_hint().0 * if withscores { 2 } else { 1 });
    for entry in entries {
        push_entry(&mut out, entry.member, entry.score, withscores, protocol);
    }
    Reply::Array(out)
}

/// Adds one entry to a reply being built, shaped as [`entries_reply`] describes.
fn push_entry(
    out: &mut Vec<Reply>,
    member: &[u8],
    score: f64,
    withscores: bool,
    protocol: Protocol,
) {
    if !withscores {
        out.push(member_reply(member));
    } else if protocol == Protocol::Resp3 {
        out.push(Reply::Array(vec![
            member_reply(member),
            Reply::Double(score),
        ]));
    } else {
        out.push(member_reply(member));
        out.push(Reply::Double(score));
    }
}
