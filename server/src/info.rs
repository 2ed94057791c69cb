//! `INFO`: the node described in Redis's sections and field names.
//!
//! Sections and fields follow Redis 7 so that redis-cli, redis_exporter and client libraries
//! that parse `INFO` understand it. Fields for features this node does not have (persistence,
//! replicas) carry the values Redis reports when they are off.

use crate::command::connection::REDIS_VERSION;
use crate::memory;
use crate::node::Node;
use crate::store::{DbSummary, Locked, ShardStats};
use shoal_cluster::slot::key_slot;
use std::fmt::Write;
use std::sync::atomic::Ordering;

type Section = fn(&Node, &Facts, &mut String);

/// What the keyspace says about itself, gathered once per `INFO` through the command's view
/// of the shards (so `INFO` inside a transaction reads the shards the transaction holds).
pub struct Facts {
    /// `used_memory` and its peak, read before anything else is gathered (so the figure
    /// is not inflated by this command's own snapshots).
    pub memory: (usize, usize),
    pub shards: ShardStats,
    /// Per database.
    pub dbs: Vec<DbSummary>,
    /// Per database, the keys held as a replica (another node is their slot's primary);
    /// counted only for `INFO keyspace` on a node that holds some.
    pub replica_keys: Vec<usize>,
    /// Per-command and per-error counters since the last `CONFIG RESETSTAT` (INFO).
    pub commands: crate::commandstats::Snapshot,
    /// The same since the start (Prometheus).
    pub commands_total: crate::commandstats::Snapshot,
}

impl Facts {
    /// Reads the counters and sizes of every shard through `keys`.
    pub fn gather(node: &Node, keys: &mut Locked<'_>) -> Facts {
        let databases = keys.store().databases();
        Facts {
            memory: used_memory_with_peak(node),
            shards: keys.shard_stats(),
            dbs: (0..databases).map(|db| keys.summary(db)).collect(),
            replica_keys: Vec::new(),
            commands: crate::commandstats::snapshot(),
            commands_total: crate::commandstats::total_snapshot(),
        }
    }
}

/// Every section, in Redis's order: its name, its title, how it is written, and whether
/// `INFO` / `INFO default` includes it (`commandstats` and `latencystats` only come with
/// `all`, `everything` or by name, as in Redis).
const SECTIONS: &[(&str, &str, Section, bool)] = &[
    ("server", "Server", server, true),
    ("clients", "Clients", clients, true),
    ("memory", "Memory", memory_section, true),
    ("persistence", "Persistence", persistence, true),
    ("stats", "Stats", stats, true),
    ("replication", "Replication", replication, true),
    ("cpu", "CPU", cpu, true),
    ("modules", "Modules", modules, true),
    ("commandstats", "Commandstats", commandstats, false),
    ("errorstats", "Errorstats", errorstats, true),
    ("latencystats", "Latencystats", latencystats, false),
    ("cluster", "Cluster", cluster, true),
    ("keyspace", "Keyspace", keyspace, true),
];

/// Whether a requested name selects the section `name` (Redis calls the module list of
/// `INFO default` `module_list`, and also answers to `modules`).
fn selects(requested: &str, name: &str) -> bool {
    requested == name || (name == "modules" && requested == "module_list")
}

/// Renders the requested sections (`all`, `everything`, `default` or section names, lower
/// case); no section means `default`. Unknown names add nothing, as in Redis.
pub fn render(node: &Node, keys: &mut Locked<'_>, requested: &[String]) -> String {
    let mut facts = Facts::gather(node, keys);
    let all = requested
        .iter()
        .any(|r| matches!(r.as_str(), "all" | "everything"));
    let default = requested.is_empty() || requested.iter().any(|r| r == "default");
    if (all || default || requested.iter().any(|r| r == "keyspace"))
        && node.store.evictor.replica_slots.any()
    {
        facts.replica_keys = count_replica_keys(node, keys);
    }
    let mut out = String::new();
    for (name, title, render_section, in_default) in SECTIONS {
        let wanted = all || (default && *in_default) || requested.iter().any(|r| selects(r, name));
        if !wanted {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n");
        render_section(node, &facts, &mut out);
    }
    out
}

fn line(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{key}:{value}\r\n");
}

fn server(node: &Node, _facts: &Facts, out: &mut String) {
    let config = node.config();
    let uptime = node.started.elapsed().as_secs();
    let uname = uname();
    line(out, "redis_version", REDIS_VERSION);
    line(out, "shoal_version", env!("CARGO_PKG_VERSION"));
    line(out, "redis_git_sha1", "00000000");
    line(out, "redis_git_dirty", 0);
    line(out, "redis_build_id", "0");
    let mode = match node.cluster.get() {
        Some(_) => "cluster",
        None => "standalone",
    };
    line(out, "redis_mode", mode);
    line(out, "os", uname);
    line(out, "arch_bits", usize::BITS);
    line(out, "monotonic_clock", "POSIX clock_gettime");
    line(out, "multiplexing_api", "epoll");
    line(out, "atomicvar_api", "c11-builtin");
    line(out, "gcc_version", "0.0.0");
    line(out, "process_id", std::process::id());
    line(out, "process_supervised", "no");
    line(out, "run_id", &node.run_id);
    line(out, "tcp_port", node.port.load(Ordering::Relaxed));
    line(out, "server_time_usec", crate::clock::now_us());
    line(out, "uptime_in_seconds", uptime);
    line(out, "uptime_in_days", uptime / 86_400);
    line(out, "hz", config.hz);
    line(out, "configured_hz", config.hz);
    line(
        out,
        "lru_clock",
        crate::clock::lru_clock(crate::clock::now_ms()),
    );
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    line(out, "executable", exe);
    let file = config
        .config_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    line(out, "config_file", file);
    line(out, "io_threads_active", 0);
}

fn uname() -> String {
    let read = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/kernel/{name}"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "{} {} {}",
        read("ostype"),
        read("osrelease"),
        std::env::consts::ARCH
    )
}

fn clients(node: &Node, _facts: &Facts, out: &mut String) {
    let mut all = node.clients.all();
    // A killed client is gone for Redis even before its connection has closed.
    all.retain(|c| !c.is_killed());
    let max_in = all
        .iter()
        .map(|c| c.query_buffer.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    let max_out = all
        .iter()
        .map(|c| c.output_buffer.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    line(out, "connected_clients", all.len());
    line(out, "cluster_connections", 0);
    line(out, "maxclients", node.limits.maxclients());
    line(out, "client_recent_max_input_buffer", max_in);
    line(out, "client_recent_max_output_buffer", max_out);
    line(out, "blocked_clients", node.blocked.count());
    line(out, "tracking_clients", node.tracking.counts().0);
    let subscribed = |c: &&std::sync::Arc<crate::client::ClientInfo>| {
        c.subscriptions
            .iter()
            .any(|n| n.load(Ordering::Relaxed) > 0)
    };
    line(out, "pubsub_clients", all.iter().filter(subscribed).count());
    // Distinct (database, key) pairs watched, as Redis counts its per-database dicts.
    let mut watched = std::collections::HashSet::new();
    let mut watching = 0;
    for client in &all {
        let keys = client.watched_keys.lock();
        watching += usize::from(!keys.is_empty());
        watched.extend(keys.iter().cloned());
    }
    line(out, "watching_clients", watching);
    line(out, "clients_in_timeout_table", 0);
    line(out, "total_watched_keys", watched.len());
    line(out, "total_blocking_keys", node.blocked.keys());
    line(out, "total_blocking_keys_on_nokey", 0);
}

/// Samples `used_memory` and keeps the peak up to date.
pub fn used_memory_with_peak(node: &Node) -> (usize, usize) {
    let used = memory::used_memory();
    let peak = node
        .peak_memory
        .fetch_max(used, Ordering::Relaxed)
        .max(used);
    (used, peak)
}

fn memory_section(node: &Node, facts: &Facts, out: &mut String) {
    let (used, peak) = facts.memory;
    let rss = memory::rss();
    let total = memory::total_system_memory();
    line(out, "used_memory", used);
    line(out, "used_memory_human", memory::human(used));
    line(out, "used_memory_rss", rss);
    line(out, "used_memory_rss_human", memory::human(rss));
    line(out, "used_memory_peak", peak);
    line(out, "used_memory_peak_human", memory::human(peak));
    let peak_perc = if peak == 0 {
        0.0
    } else {
        used as f64 * 100.0 / peak as f64
    };
    line(out, "used_memory_peak_perc", format!("{peak_perc:.2}%"));
    line(out, "total_system_memory", total);
    line(out, "total_system_memory_human", memory::human(total));
    let settings = &node.store.evictor.settings;
    line(out, "maxmemory", settings.maxmemory());
    line(out, "maxmemory_human", memory::human(settings.maxmemory()));
    line(out, "maxmemory_policy", settings.policy().name());
    let ratio = if used == 0 {
        0.0
    } else {
        rss as f64 / used as f64
    };
    line(out, "mem_fragmentation_ratio", format!("{ratio:.2}"));
    line(out, "mem_allocator", "jemalloc-5.3.0");
    line(out, "lazyfree_pending_objects", 0);
}

fn persistence(_node: &Node, _facts: &Facts, out: &mut String) {
    // Shoal keeps no data on disk: these are the values of a Redis with persistence off.
    line(out, "loading", 0);
    line(out, "async_loading", 0);
    line(out, "rdb_changes_since_last_save", 0);
    line(out, "rdb_bgsave_in_progress", 0);
    line(out, "rdb_last_bgsave_status", "ok");
    line(out, "aof_enabled", 0);
    line(out, "aof_rewrite_in_progress", 0);
    line(out, "aof_last_bgrewrite_status", "ok");
}

fn stats(node: &Node, facts: &Facts, out: &mut String) {
    let s = &node.stats;
    let shards = facts.shards.since(*node.shard_stats_baseline.lock());
    line(
        out,
        "total_connections_received",
        s.connections_received.get(),
    );
    line(out, "total_commands_processed", s.commands_processed.get());
    line(
        out,
        "instantaneous_ops_per_sec",
        s.ops_per_sec.load(Ordering::Relaxed),
    );
    line(out, "total_net_input_bytes", s.net_input_bytes.get());
    line(out, "total_net_output_bytes", s.net_output_bytes.get());
    line(out, "rejected_connections", s.rejected_connections.get());
    line(out, "expired_subkeys", shards.expired_fields);
    line(out, "expired_keys", shards.expired);
    line(out, "evicted_keys", node.evicted_keys());
    // No scripts run yet, so none is evicted.
    line(out, "evicted_scripts", 0);
    line(out, "keyspace_hits", shards.hits);
    line(out, "keyspace_misses", shards.misses);
    let (channels, patterns, shard_channels) = node.pubsub.counts();
    line(out, "pubsub_channels", channels);
    line(out, "pubsub_patterns", patterns);
    line(out, "pubsubshard_channels", shard_channels);
    line(out, "total_forks", 0);
    let (_, keys, items, prefixes) = node.tracking.counts();
    line(out, "tracking_total_keys", keys);
    line(out, "tracking_total_items", items);
    line(out, "tracking_total_prefixes", prefixes);
    line(out, "total_error_replies", s.error_replies.get());
    line(out, "total_reads_processed", s.reads_processed.get());
    line(out, "total_writes_processed", s.writes_processed.get());
    line(
        out,
        "client_query_buffer_limit_disconnections",
        s.query_buffer_limit_disconnections.get(),
    );
    let disconnected = &node.pubsub.disconnected;
    line(
        out,
        "client_output_buffer_limit_disconnections",
        disconnected[0].load(Ordering::Relaxed) + disconnected[1].load(Ordering::Relaxed),
    );
}

/// Every node is the primary of its own slots and a replica of others' (see
/// `crate::replication`), so it reports `role:master` with a line per replica peer. Offsets
/// count replication stream messages, not bytes: `offset` is what the peer acknowledged,
/// `sent` what was sent to it, `lag` the seconds since its last acknowledgement.
fn replication(node: &Node, _facts: &Facts, out: &mut String) {
    line(out, "role", "master");
    let topology = node.cluster.get().map(|c| c.topology.load_full());
    let peers = crate::replication::peers(node);
    let live: Vec<_> = peers
        .iter()
        .filter_map(|(id, sent, acked, since)| {
            let member = topology.as_ref()?.member(id)?;
            member
                .state
                .is_live()
                .then_some((member.client, *sent, *acked, *since))
        })
        .collect();
    line(out, "connected_slaves", live.len());
    for (i, (addr, sent, acked, since)) in live.iter().enumerate() {
        let lag = if *since == u64::MAX {
            -1
        } else {
            (*since / 1000) as i64
        };
        let state = if acked >= sent {
            "online"
        } else {
            "catching-up"
        };
        line(
            out,
            &format!("slave{i}"),
            format!(
                "ip={},port={},state={state},offset={acked},lag={lag},sent={sent}",
                addr.ip(),
                addr.port()
            ),
        );
    }
    // The node's roles, summarised: slots (and runs of consecutive slots) it is primary
    // and replica of; CLUSTER SLOTS lists the ranges.
    if let Some(topology) = &topology {
        let role = |slot: u16| {
            if topology.is_primary(slot) {
                1
            } else if topology.is_owner(slot) {
                2
            } else {
                0
            }
        };
        let (mut slots, mut runs) = ([0usize; 3], [0usize; 3]);
        let mut previous = None;
        for slot in 0..shoal_cluster::slot::SLOTS {
            let r = role(slot);
            slots[r] += 1;
            if previous != Some(r) {
                runs[r] += 1;
            }
            previous = Some(r);
        }
        line(out, "shoal_primary_slots", slots[1]);
        line(out, "shoal_primary_slot_ranges", runs[1]);
        line(out, "shoal_replica_slots", slots[2]);
        line(out, "shoal_replica_slot_ranges", runs[2]);
    }
    line(out, "master_failover_state", "no-failover");
    line(out, "master_replid", &node.run_id);
    let offset: u64 = peers.iter().map(|(_, sent, _, _)| sent).sum();
    line(out, "master_repl_offset", offset);
    let stats = &node.replication.stats;
    let anti_entropy = &node.replication.anti_entropy.stats;
    line(out, "repl_backlog_active", 0);
    let counters = [
        ("shoal_repl_sent", &stats.sent),
        ("shoal_repl_applied", &stats.applied),
        ("shoal_repl_snapshots", &stats.snapshots),
        ("shoal_repl_snapshot_keys", &stats.snapshot_keys),
        ("shoal_repl_resyncs_requested", &stats.resyncs_requested),
        ("shoal_repl_acks", &stats.acks),
        ("shoal_repl_failovers", &stats.failovers),
        ("shoal_handoff_takeovers", &node.handoff.took_over),
        ("shoal_handoff_dropped_keys", &node.handoff.dropped_keys),
        ("shoal_handoff_leaves", &node.handoff.leaves_completed),
        (
            "shoal_handoff_leave_timeouts",
            &node.handoff.leaves_timed_out,
        ),
        ("shoal_anti_entropy_rounds", &anti_entropy.rounds),
        ("shoal_anti_entropy_compared", &anti_entropy.compared),
        (
            "shoal_anti_entropy_slots_differing",
            &anti_entropy.slots_differing,
        ),
        (
            "shoal_anti_entropy_slots_skipped",
            &anti_entropy.slots_skipped,
        ),
        (
            "shoal_anti_entropy_slots_repaired",
            &anti_entropy.slots_repaired,
        ),
        (
            "shoal_anti_entropy_repaired_keys",
            &anti_entropy.repaired_keys,
        ),
    ];
    for (name, counter) in counters {
        line(
            out,
            name,
            counter.load(std::sync::atomic::Ordering::Relaxed),
        );
    }
    line(
        out,
        "shoal_under_replicated_slots",
        crate::replication::under_replicated(node),
    );
}

fn cpu(_node: &Node, _facts: &Facts, out: &mut String) {
    let [user, sys, child_user, child_sys] = cpu_times();
    line(out, "used_cpu_sys", format!("{sys:.6}"));
    line(out, "used_cpu_user", format!("{user:.6}"));
    line(out, "used_cpu_sys_children", format!("{child_sys:.6}"));
    line(out, "used_cpu_user_children", format!("{child_user:.6}"));
}

/// CPU seconds (user, system, children's user, children's system) from `/proc/self/stat`.
fn cpu_times() -> [f64; 4] {
    // Linux reports these in clock ticks of 1/100 s (USER_HZ) on every platform Shoal runs on.
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime, stime, cutime, cstime are fields 14-17 of the line, 12-15 after the name.
    std::array::from_fn(|i| {
        fields
            .get(11 + i)
            .and_then(|f| f.parse::<f64>().ok())
            .map_or(0.0, |ticks| ticks / TICKS_PER_SECOND)
    })
}

fn modules(_node: &Node, _facts: &Facts, _out: &mut String) {
    // No modules can be loaded: the section is only its title, as in a Redis without modules.
}

fn cluster(node: &Node, _facts: &Facts, out: &mut String) {
    line(
        out,
        "cluster_enabled",
        u8::from(node.cluster.get().is_some()),
    );
}

/// Per database, the keys whose slot this node holds as a replica (counted as `keys` counts,
/// expired ones not reclaimed yet included): from each shard's slot index, or, in a shard
/// that keeps none yet, by a walk of its keys with a CRC16 each.
fn count_replica_keys(node: &Node, keys: &mut Locked<'_>) -> Vec<usize> {
    let replica_slots = node.store.evictor.replica_slots.to_set();
    (0..keys.store().databases())
        .map(|db| {
            let mut count = 0;
            keys.for_each_shard(db, |shard| {
                count += match shard.slot_index() {
                    Some(index) => index.count_in(&replica_slots),
                    None => {
                        let mut held = 0;
                        shard.for_each_live(0, |entry| {
                            held += usize::from(replica_slots.contains(key_slot(entry.key())));
                        });
                        held
                    }
                };
            });
            count
        })
        .collect()
}

/// `keys` counts every key this node holds, as a Redis replica counts the keys it holds;
/// on a node of a cluster, `replica_keys` says how many of them it holds as a replica (their
/// slot's primary is another node; `DBSIZE` counts the others).
fn keyspace(_node: &Node, facts: &Facts, out: &mut String) {
    for (db, summary) in facts.dbs.iter().enumerate() {
        if summary.keys > 0 {
            let _ = write!(
                out,
                "db{db}:keys={},expires={},avg_ttl={},subexpiry={}",
                summary.keys, summary.volatile, summary.avg_ttl, summary.field_expiring
            );
            if let Some(replica) = facts.replica_keys.get(db) {
                let _ = write!(out, ",replica_keys={replica}");
            }
            out.push_str("\r\n");
        }
    }
}

/// The full name (`get`, `client|list`) of each command with a record, sorted.
fn named_commands(facts: &Facts) -> Vec<(&'static str, &crate::commandstats::CommandTotals)> {
    let mut named: Vec<_> = facts
        .commands
        .commands
        .iter()
        .enumerate()
        .filter(|(_, t)| t.calls > 0 || t.failed > 0 || t.rejected > 0)
        .filter_map(|(id, t)| Some((crate::command::table::name_of(id)?, t)))
        .collect();
    named.sort_by_key(|(name, _)| *name);
    named
}

fn commandstats(_node: &Node, facts: &Facts, out: &mut String) {
    for (name, t) in named_commands(facts) {
        let per_call = if t.calls == 0 {
            0.0
        } else {
            t.usec as f64 / t.calls as f64
        };
        let _ = write!(
            out,
            "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
            t.calls, t.usec, t.rejected, t.failed
        );
    }
}

fn errorstats(_node: &Node, facts: &Facts, out: &mut String) {
    let mut errors: Vec<_> = facts.commands.errors.iter().collect();
    errors.sort();
    for (code, count) in errors {
        let _ = write!(out, "errorstat_{code}:count={count}\r\n");
    }
}

fn latencystats(_node: &Node, facts: &Facts, out: &mut String) {
    for (name, t) in named_commands(facts)
        .into_iter()
        .filter(|(_, t)| t.calls > 0)
    {
        let p = |q: f64| t.percentile_us(q) as f64;
        let _ = write!(
            out,
            "latency_percentiles_usec_{name}:p50={:.3},p99={:.3},p99.9={:.3}\r\n",
            p(50.0),
            p(99.0),
            p(99.9)
        );
    }
}
