//! Whole-database commands: KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB.
//!
//! These name no key, so dispatch locks nothing for them up front: they visit the shards of
//! a database one at a time through the on-demand view (or, inside a transaction, through a
//! view holding every shard).

use super::keys::parse_c_int;
use super::parse::is;
use super::scan::{self, ScanOptions};
use super::{Combine, Command, Ctx, KeySpec, Routing, flag::*};
use crate::error::{CommandResult, Error};
use crate::glob::Pattern;
use crate::protocol::Reply;
use crate::store::{DbIndex, SHARDS, Store};
use rand::RngExt;

const GROUP: &str = "generic";

pub const COMMANDS: &[Command] = &[
    Command::new("keys", 2, READONLY | KEYSPACE, KeySpec::NONE, keys)
        .doc(
            GROUP,
            "1.0.0",
            "Lists the keys whose names match a glob pattern.",
            "O(N) for N keys in the database.",
            "pattern:pattern",
        )
        .routing(Routing::WholeKeyspace(Combine::Concat))
        .tips(&["request_policy:all_shards", "nondeterministic_output_order"]),
    Command::new("scan", -2, READONLY | KEYSPACE, KeySpec::NONE, scan)
        .doc(
            GROUP,
            "2.8.0",
            "Walks the key names of the database a few at a time with a cursor.",
            "O(1) per call, O(N) for a whole iteration over N keys.",
            "cursor:int [MATCH pattern:pattern] [COUNT count:int] [TYPE type]",
        )
        .routing(Routing::ScanNodes)
        .tips(&["nondeterministic_output", "request_policy:special"]),
    Command::new(
        "randomkey",
        1,
        READONLY | KEYSPACE,
        KeySpec::NONE,
        randomkey,
    )
    .doc(
        GROUP,
        "1.0.0",
        "Picks the name of a random key.",
        "O(1)",
        "",
    )
    .tips(&["request_policy:all_shards", "nondeterministic_output"]),
    Command::new(
        "dbsize",
        1,
        READONLY | FAST | KEYSPACE,
        KeySpec::NONE,
        dbsize,
    )
    .doc(
        "server",
        "1.0.0",
        "Counts the keys of the selected database.",
        "O(1)",
        "",
    )
    .routing(Routing::WholeKeyspace(Combine::Sum))
    .tips(&["request_policy:all_shards", "response_policy:agg_sum"]),
    Command::new("flushdb", -1, WRITE | KEYSPACE, KeySpec::NONE, flushdb)
        .doc(
            "server",
            "1.0.0",
            "Empties the selected database.",
            "O(N) for N keys in the database.",
            "[flush-type=ASYNC | SYNC]",
        )
        .routing(Routing::Everywhere(Combine::AllOk))
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    Command::new("flushall", -1, WRITE | KEYSPACE, KeySpec::NONE, flushall)
        .doc(
            "server",
            "1.0.0",
            "Empties every database.",
            "O(N) for N keys in all databases.",
            "[flush-type=ASYNC | SYNC]",
        )
        .routing(Routing::Everywhere(Combine::AllOk))
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    Command::new("swapdb", 3, WRITE | FAST | KEYSPACE, KeySpec::NONE, swapdb).doc(
        "server",
        "4.0.0",
        "Exchanges the contents of two databases.",
        "O(1)",
        "index1:int index2:int",
    ),
];

/// Which keys the keyspace commands (KEYS, SCAN, RANDOMKEY, DBSIZE) see: those of slots this
/// node is primary of. A node also holds copies of keys it replicates; they are another
/// node's to report, so that summing over the nodes counts every key once. `None`: every
/// key (a node alone owns everything).
fn primary_slots(ctx: &Ctx<'_, '_>) -> Option<std::sync::Arc<shoal_cluster::Topology>> {
    let cluster = ctx.node.cluster.get()?;
    (!cluster.topology.is_single_node()).then(|| cluster.topology.load_full())
}

/// Whether `key` is one the keyspace commands see (see [`primary_slots`]).
fn is_mine(topology: Option<&shoal_cluster::Topology>, key: &[u8]) -> bool {
    topology.is_none_or(|t| t.is_primary(shoal_cluster::slot::key_slot(key)))
}

fn keys(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let pattern = Pattern::new(args[1], false);
    let db = ctx.db();
    let now = ctx.keys.now;
    let mine = primary_slots(ctx);
    let mut found = Vec::new();
    ctx.keys.for_each_shard(db, |shard| {
        for index in 0..shard.buckets() {
            if let Some(entry) = shard.live_at(index, now)
                && pattern.matches(entry.key())
                && is_mine(mine.as_deref(), entry.key())
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
    let cursor = scan::cursor(args[1])?;
    let options = ScanOptions::parse(&args[2..], true)?;
    let count = options.count;
    let db = ctx.db();
    let now = ctx.keys.now;
    let mut at = ScanCursor::decode(cursor);
    if at.shard >= SHARDS {
        return Ok(scan::reply(0, Vec::new()));
    }
    let mine = primary_slots(ctx);
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
            if let Some(entry) = shard.live_at(at.bucket, now)
                && is_mine(mine.as_deref(), entry.key())
            {
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
        .filter(|(key, kind)| options.matches(key) && options.of_type(kind))
        .map(|(key, _)| Reply::bulk(&key))
        .collect();
    Ok(scan::reply(next, keys))
}

fn randomkey(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let now = ctx.keys.now;
    let mine = primary_slots(ctx);
    let mine = |entry: &crate::store::Entry| is_mine(mine.as_deref(), entry.key());
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
            if let Some(entry) = shard.live_at(rng.random_range(0..buckets), now)
                && mine(entry)
            {
                return Ok(Reply::bulk(entry.key()));
            }
        }
        let from = rng.random_range(0..buckets);
        for index in (from..buckets).chain(0..from) {
            if let Some(entry) = shard.live_at(index, now)
                && mine(entry)
            {
                return Ok(Reply::bulk(entry.key()));
            }
        }
    }
    Ok(Reply::Null)
}

fn dbsize(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let db = ctx.db();
    let now = ctx.keys.now;
    let mut total = 0;
    match primary_slots(ctx) {
        None => ctx.keys.for_each_shard(db, |shard| total += shard.len()),
        // Copies of other nodes' keys are here too: count this node's own.
        Some(topology) => ctx.keys.for_each_shard(db, |shard| {
            for index in 0..shard.buckets() {
                if let Some(entry) = shard.live_at(index, now)
                    && is_mine(Some(&topology), entry.key())
                {
                    total += 1;
                }
            }
        }),
    }
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
    ctx.keys.flushed(Some(db));
    ctx.node
        .keyspace_epoch
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Ok(Reply::Ok)
}

fn flushall(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let lazy = flush_mode(&args[1..])?;
    for db in 0..ctx.node.store.databases() {
        flush_db(ctx, db, lazy);
    }
    ctx.keys.flushed(None);
    ctx.node
        .keyspace_epoch
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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
    ctx.node
        .keyspace_epoch
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Ok(Reply::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
