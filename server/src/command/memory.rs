//! The MEMORY command: USAGE of one key, STATS, DOCTOR, MALLOC-STATS, HELP.
//!
//! Figures come from jemalloc (allocated, active, resident) and from the sizes the keyspace
//! keeps of its entries and tables. MEMORY USAGE accepts `SAMPLES` as Redis does, but every
//! collection here keeps its byte count as it changes, so the figure is always the whole value,
//! whatever the sample count. MEMORY PURGE would need an unsafe call into jemalloc, which this
//! codebase forbids; it is refused with an error saying so.

use super::parse;
use super::{Command, Ctx, KeySpec, flag::*, help_reply};
use crate::error::{CommandResult, Error};
use crate::memory;
use crate::protocol::Reply;
use crate::store::Entry;
use crate::store::locked::Access;

const GROUP: &str = "server";

pub const COMMANDS: &[Command] =
    &[
        Command::new("memory", -2, 0, KeySpec::NONE, Command::container)
            .doc(
                GROUP,
                "4.0.0",
                "Container for the memory diagnostic subcommands.",
                "Depends on the subcommand.",
                "",
            )
            .subcommands(SUBCOMMANDS),
    ];

const SUBCOMMANDS: &[Command] = &[
    Command::new("usage", -3, READONLY, KeySpec::range(2, 2, 1), usage).doc(
        GROUP,
        "4.0.0",
        "Estimates the memory usage of a key.",
        "O(1)",
        "key [SAMPLES count:int]",
    ),
    Command::new("stats", 2, 0, KeySpec::NONE, stats)
        .doc(
            GROUP,
            "4.0.0",
            "Returns details about memory usage.",
            "O(1)",
            "",
        )
        .tips(&[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ]),
    Command::new("doctor", 2, 0, KeySpec::NONE, doctor)
        .doc(
            GROUP,
            "4.0.0",
            "Outputs a memory problems report.",
            "O(1)",
            "",
        )
        .tips(&[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ]),
    Command::new("malloc-stats", 2, 0, KeySpec::NONE, malloc_stats)
        .doc(
            GROUP,
            "4.0.0",
            "Returns the allocator statistics.",
            "Depends on how much memory is allocated, could be slow",
            "",
        )
        .tips(&[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ]),
    Command::new("purge", 2, 0, KeySpec::NONE, purge)
        .doc(
            GROUP,
            "4.0.0",
            "Asks the allocator to release memory (not supported by Shoal).",
            "Depends on how much memory is allocated, could be slow",
            "",
        )
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    Command::new("help", 2, LOADING | STALE, KeySpec::NONE, help).doc(
        GROUP,
        "4.0.0",
        "Returns helpful text about the different subcommands.",
        "O(1)",
        "",
    ),
];

/// Bytes a key costs besides its heap allocations: its table slot and control byte.
const SLOT_BYTES: usize = std::mem::size_of::<Entry>() + 1;

fn usage(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let mut rest = &args[3..];
    while let [option, tail @ ..] = rest {
        match tail {
            [count, more @ ..] if parse::is(option, "samples") => {
                if parse::int(count)? < 0 {
                    return Err(Error::Syntax);
                }
                rest = more;
            }
            _ => return Err(Error::Syntax),
        }
    }
    let db = ctx.db();
    Ok(match ctx.keys.lookup(db, args[2], Access::Peek) {
        Some(entry) => Reply::Int((entry.heap_size() + SLOT_BYTES) as i64),
        None => Reply::Null,
    })
}

/// What `MEMORY STATS` and `MEMORY DOCTOR` read.
struct Figures {
    peak: usize,
    used: usize,
    startup: usize,
    clients: usize,
    /// Per database with keys: (index, table bytes, expiry bytes, keys).
    dbs: Vec<(usize, usize, usize, usize)>,
    allocated: usize,
    active: usize,
    resident: usize,
    rss: usize,
    maxmemory: usize,
    evicting: bool,
}

impl Figures {
    fn read(ctx: &mut Ctx<'_, '_>) -> Figures {
        let (used, peak) = crate::info::used_memory_with_peak(ctx.node);
        let clients = ctx
            .node
            .clients
            .all()
            .iter()
            .map(|c| {
                c.query_buffer.load(std::sync::atomic::Ordering::Relaxed)
                    + c.output_buffer.load(std::sync::atomic::Ordering::Relaxed)
            })
            .sum();
        let mut dbs = Vec::new();
        for db in 0..ctx.node.store.databases() {
            let (mut table, mut expires, mut keys) = (0, 0, 0);
            ctx.keys.for_each_shard(db, |shard| {
                table += std::mem::size_of::<crate::store::Shard>() + shard.table_bytes();
                // An expiry is 8 bytes inside its entry; there is no second table.
                expires += 8 * shard.volatile();
                keys += shard.len();
            });
            if keys > 0 {
                dbs.push((db, table, expires, keys));
            }
        }
        let (allocated, active, resident) = memory::allocator_stats();
        let settings = &ctx.node.store.evictor.settings;
        Figures {
            peak,
            used,
            startup: ctx.node.startup_memory,
            clients,
            dbs,
            allocated,
            active,
            resident,
            rss: memory::rss(),
            maxmemory: settings.maxmemory(),
            evicting: settings.policy() != crate::store::evict::Policy::NoEviction,
        }
    }

    fn keys(&self) -> usize {
        self.dbs.iter().map(|d| d.3).sum()
    }

    fn overhead(&self) -> usize {
        self.startup + self.clients + self.dbs.iter().map(|d| d.1 + d.2).sum::<usize>()
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn stats(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let f = Figures::read(ctx);
    let int = |n: usize| Reply::Int(n as i64);
    let signed = |a: usize, b: usize| Reply::Int(a as i64 - b as i64);
    let mut map: Vec<(Reply, Reply)> = Vec::new();
    let mut put = |name: &'static str, value: Reply| map.push((Reply::status(name), value));
    put("peak.allocated", int(f.peak));
    put("total.allocated", int(f.used));
    put("startup.allocated", int(f.startup));
    put("replication.backlog", int(0));
    put("clients.slaves", int(0));
    put("clients.normal", int(f.clients));
    put("cluster.links", int(0));
    put("aof.buffer", int(0));
    put("lua.caches", int(0));
    put("functions.caches", int(0));
    for &(db, table, expires, _) in &f.dbs {
        let fields = vec![
            (Reply::status("overhead.hashtable.main"), int(table)),
            (Reply::status("overhead.hashtable.expires"), int(expires)),
        ];
        map.push((Reply::Status(format!("db.{db}").into()), Reply::Map(fields)));
    }
    let mut put = |name: &'static str, value: Reply| map.push((Reply::status(name), value));
    let overhead = f.overhead();
    let net = f.used.saturating_sub(f.startup);
    let dataset = f.used.saturating_sub(overhead);
    // Redis 7.4's figures of its per-slot dictionaries: the bucket arrays (here, the
    // tables), and what an incremental rehash holds (none: tables grow at once).
    put(
        "overhead.db.hashtable.lut",
        int(f.dbs.iter().map(|d| d.1).sum()),
    );
    put("overhead.db.hashtable.rehashing", int(0));
    put("overhead.total", int(overhead));
    put("db.dict.rehashing.count", int(0));
    put("keys.count", int(f.keys()));
    put(
        "keys.bytes-per-key",
        int(net.checked_div(f.keys()).unwrap_or(0)),
    );
    put("dataset.bytes", int(dataset));
    put(
        "dataset.percentage",
        Reply::Double(ratio(dataset, net) * 100.0),
    );
    put(
        "peak.percentage",
        Reply::Double(ratio(f.used, f.peak) * 100.0),
    );
    put("allocator.allocated", int(f.allocated));
    put("allocator.active", int(f.active));
    put("allocator.resident", int(f.resident));
    put("allocator.muzzy", int(memory::allocator_muzzy()));
    put(
        "allocator-fragmentation.ratio",
        Reply::Double(ratio(f.active, f.allocated)),
    );
    put(
        "allocator-fragmentation.bytes",
        signed(f.active, f.allocated),
    );
    put(
        "allocator-rss.ratio",
        Reply::Double(ratio(f.resident, f.active)),
    );
    put("allocator-rss.bytes", signed(f.resident, f.active));
    put(
        "rss-overhead.ratio",
        Reply::Double(ratio(f.rss, f.resident)),
    );
    put("rss-overhead.bytes", signed(f.rss, f.resident));
    put("fragmentation", Reply::Double(ratio(f.rss, f.used)));
    put("fragmentation.bytes", signed(f.rss, f.used));
    Ok(Reply::Map(map))
}

/// A short report of what looks wrong with memory, in plain words.
fn doctor(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    const SMALL: usize = 5 * 1024 * 1024;
    let f = Figures::read(ctx);
    let mut findings = Vec::new();
    if f.used < SMALL {
        return Ok(Reply::Verbatim(
            "This node holds almost nothing yet (under 5 MB allocated): there is nothing to diagnose. Ask again once it holds data.\n"
                .into(),
        ));
    }
    if f.peak > f.used + f.used / 2 {
        findings.push(format!(
            "* Peak: allocation once reached {} and is {} now; the difference was freed to the allocator but may still be held by the process (RSS {}).",
            memory::human(f.peak),
            memory::human(f.used),
            memory::human(f.rss)
        ));
    }
    let fragmentation = ratio(f.rss, f.used);
    if fragmentation > 1.4 {
        findings.push(format!(
            "* Fragmentation: the process is resident with {:.2} times the bytes it has allocated. Churn of values of very different sizes causes this; a restart (or a fresh node taking over) returns it.",
            fragmentation
        ));
    }
    if f.maxmemory == 0 {
        findings.push(
            "* No limit: maxmemory is 0, so this node grows until the machine runs out of memory. Set maxmemory and an eviction policy to use it as a cache.".to_string(),
        );
    } else if f.used > f.maxmemory && !f.evicting {
        findings.push(format!(
            "* Full: {} allocated is over maxmemory {} under the noeviction policy, so writes are refused with OOM. Raise maxmemory or choose an eviction policy.",
            memory::human(f.used),
            memory::human(f.maxmemory)
        ));
    }
    if f.clients > f.used / 4 {
        findings.push(format!(
            "* Clients: connection buffers hold {}, a large share of memory; look for clients with big pipelines or slow readers (CLIENT LIST qbuf and omem).",
            memory::human(f.clients)
        ));
    }
    let text = if findings.is_empty() {
        "No memory problem found: fragmentation, peak and limits look normal.\n".to_string()
    } else {
        format!(
            "Memory report for this node:\n\n{}\n",
            findings.join("\n\n")
        )
    };
    Ok(Reply::Verbatim(text.into()))
}

fn malloc_stats(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(Reply::Verbatim(memory::allocator_report().into()))
}

fn purge(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Err(Error::msg(
        "ERR MEMORY PURGE is not supported by Shoal: jemalloc returns freed pages to the OS on its own (decay)",
    ))
}

fn help(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(help_reply(
        "MEMORY",
        &[
            "DOCTOR",
            "    Reports memory problems, if any, in plain words.",
            "MALLOC-STATS",
            "    Returns the allocator's statistics report.",
            "PURGE",
            "    Not supported here (the allocator releases pages on its own).",
            "STATS",
            "    Returns details about memory usage.",
            "USAGE <key> [SAMPLES <count>]",
            "    Returns the bytes used by <key> and its value (always the whole value here;",
            "    the sample count is accepted for compatibility).",
        ],
    ))
}
