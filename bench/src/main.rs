//! `shoal-bench`: benchmarks that run Shoal and redis-server side by side on this machine.
//!
//! Every subcommand starts its own servers on free loopback ports and stops them when it
//! ends; nothing outside the process is touched. The figures worth trusting are the
//! ratios between the two servers measured in one run, not the absolute numbers: the
//! load generator shares the machine (and its cores) with the servers.
//!
//! Subcommands:
//! - `compare` ([`compare`]): redis-benchmark SET/GET at several pipeline depths against
//!   both servers, alternately, with medians over rounds.
//! - `cluster` ([`cluster`]): a 3-node Shoal cluster vs a 3-node Redis Cluster under
//!   redis-benchmark --cluster, and plain redis-benchmark on one Shoal node (forwarding).
//! - `metrics` ([`metrics`]): throughput with the Prometheus endpoint off, and on and scraped.
//! - `expiry` ([`expiry`]): keys written with a TTL and never read; how fast each server
//!   reclaims their memory and at what CPU cost.
//! - `memory` ([`memory`]): bytes per key for 1M small strings and 100k small hashes.
//! - `eviction` ([`eviction`]): hit rate of a Zipf trace under the same maxmemory, and GET
//!   latency while a write storm forces eviction.
//! - `pubsub` ([`pubsub`]): PUBLISH rate and fan-out latency to many subscribers, one node
//!   and a 3-node cluster each.
//! - `replication` ([`replication`]): SET with R = 2 (write concern local and all) against a
//!   Redis primary with a replica, replication lag, and filling a replica copy.
//! - `join` ([`join`]): a fourth node joins a loaded three-node cluster under load: time
//!   until it serves, keys moved per second, latency and hit rate before, during and after.
//! - `tracking` ([`tracking`]): client-side caching: invalidation latency on one node and
//!   across a cluster, and memory per tracked key.
//!
//! Modules: [`servers`] starts and stops the servers (through `shoal-harness`, which the
//! tests share), [`redis_benchmark`] runs redis-benchmark and parses its CSV; `resp` (from
//! the harness) is a tiny client for prefilling and `INFO`.

mod args;
mod cluster;
mod compare;
mod eviction;
mod expiry;
mod join;
mod memory;
mod metrics;
mod pubsub;
mod redis_benchmark;
mod replication;
mod servers;
mod tracking;

use shoal_harness::resp;

const USAGE: &str = "\
Usage: shoal-bench <command> [options]

Benchmarks Shoal against redis-server on this machine, in one run, and reports ratios.
The load generator runs on the same cores as the servers and competes with them, so
absolute figures understate both servers; compare the ratios.

Commands:
  compare    redis-benchmark SET/GET, pipeline 1 and 16, redis and shoal alternately
  expiry     1M keys with a 1 s TTL, never read: time and CPU to reclaim their memory
  memory     used_memory per key: 1M strings (16 B keys, 32 B values), 100k 10-field hashes
  eviction   same maxmemory: Zipf(0.99) cache-aside hit rate, GET latency in an eviction storm
  cluster    3-node Shoal vs 3-node Redis Cluster; cost of one forwarding hop
  metrics    throughput with the metrics endpoint off vs on and scraped every second
  pubsub     PUBLISH rate and fan-out latency to 100 subscribers, one node and three
  replication  SET with R = 2 (local/all) vs Redis + replica, replication lag, replica fill
  join       a 4th node joins 3 holding 1M keys under load: time, keys/s, latency, hit rate
  tracking   CLIENT TRACKING: SET-to-invalidation latency (one node, across 3), bytes per key
  help [command]

Run `shoal-bench <command> --help` for a command's options, e.g.
  cargo run -p shoal-bench --release -- compare --rounds 3";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => {}
        Err(error) => {
            eprintln!("shoal-bench: {error:#}");
            std::process::exit(1);
        }
    }
}

/// Dispatches to a subcommand.
fn run(args: &[String]) -> anyhow::Result<()> {
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(());
    };
    match command.as_str() {
        "compare" => match compare::Options::parse(rest)? {
            Some(options) => compare::run(&options),
            None => {
                println!("{}", compare::USAGE);
                Ok(())
            }
        },
        "pubsub" => match pubsub::Options::parse(rest)? {
            Some(options) => pubsub::run(&options),
            None => {
                println!("{}", pubsub::USAGE);
                Ok(())
            }
        },
        "cluster" => match cluster::Options::parse(rest)? {
            Some(options) => cluster::run(&options),
            None => {
                println!("{}", cluster::USAGE);
                Ok(())
            }
        },
        "expiry" => match expiry::Options::parse(rest)? {
            Some(options) => expiry::run(&options),
            None => {
                println!("{}", expiry::USAGE);
                Ok(())
            }
        },
        "memory" => match memory::Options::parse(rest)? {
            Some(options) => memory::run(&options),
            None => {
                println!("{}", memory::USAGE);
                Ok(())
            }
        },
        "eviction" => match eviction::Options::parse(rest)? {
            Some(options) => eviction::run(&options),
            None => {
                println!("{}", eviction::USAGE);
                Ok(())
            }
        },
        "join" => match join::Options::parse(rest)? {
            Some(options) => join::run(&options),
            None => {
                println!("{}", join::USAGE);
                Ok(())
            }
        },
        "tracking" => match tracking::Options::parse(rest)? {
            Some(options) => tracking::run(&options),
            None => {
                println!("{}", tracking::USAGE);
                Ok(())
            }
        },
        "replication" => match replication::Options::parse(rest)? {
            Some(options) => replication::run(&options),
            None => {
                println!("{}", replication::USAGE);
                Ok(())
            }
        },
        "metrics" => match metrics::parse(rest)? {
            Some((rounds, shoal)) => metrics::run(rounds, shoal),
            None => {
                println!("{}", metrics::USAGE);
                Ok(())
            }
        },
        "help" | "-h" | "--help" => {
            match rest.first().map(String::as_str) {
                Some("compare") => println!("{}", compare::USAGE),
                Some("cluster") => println!("{}", cluster::USAGE),
                Some("expiry") => println!("{}", expiry::USAGE),
                Some("memory") => println!("{}", memory::USAGE),
                Some("eviction") => println!("{}", eviction::USAGE),
                Some("metrics") => println!("{}", metrics::USAGE),
                Some("pubsub") => println!("{}", pubsub::USAGE),
                Some("replication") => println!("{}", replication::USAGE),
                Some("join") => println!("{}", join::USAGE),
                Some("tracking") => println!("{}", tracking::USAGE),
                _ => println!("{USAGE}"),
            }
            Ok(())
        }
        other => anyhow::bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}
