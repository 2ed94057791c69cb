//! `eviction`: how well and how smoothly redis-server and Shoal evict under the same
//! `maxmemory`, in one run.
//!
//! Both servers are started plain and then given `CONFIG SET maxmemory` and
//! `CONFIG SET maxmemory-policy` (so the runtime path is what is exercised); a server that
//! refuses either, or that reports another `maxmemory`/`maxmemory_policy` in `INFO memory`
//! afterwards, stops the run with a message saying so. The servers run one after the other
//! (redis first, then shoal), each alone on the machine.
//!
//! Part 1, hit rate. One trace is generated before either server starts: `--warmup` +
//! `--ops` key numbers drawn from Zipf(`--zipf`, default 0.99) over `--keys` keys, with a
//! precomputed CDF searched by bisection and a splitmix64 generator seeded with `--seed`,
//! so the same options give the same trace in every run. Ranks are scattered over the key
//! numbers by a fixed bijection (rank × a prime mod keys), so the hot keys are not simply
//! the lowest-numbered ones. The trace is replayed cache-aside against each server: `GET`
//! the key; on a miss `SET` it to a `--value-size`-byte value. To keep a replay to seconds,
//! GETs go in pipelined batches of `--batch`, then the keys that missed are SET (each once)
//! before the next batch; a key repeated inside a batch after missing therefore misses
//! again. `--batch 1` is the strict one-at-a-time replay. Hits and misses are counted from
//! the replies, over the part after the warm-up only.
//!
//! Part 2, GET latency during an eviction storm. On the same full server: a probe key is
//! written, then one connection GETs it in a loop, timing every round trip, first alone
//! (`quiet`), then while a second connection writes new `--storm-value-size`-byte values
//! in pipelined batches as fast as it can for `--storm-seconds` (many times maxmemory), so
//! that every batch evicts hundreds of the small keys and then the storm's own keys.
//! Reported: p50/p99/p99.9/max of the probe's round trips, the write throughput, keys
//! evicted, and the highest `used_memory` seen (sampled every 50 ms) against maxmemory
//! (and, when that overshot by more than 10%, `used_memory` half a second after the storm).
//! Once the old keys are gone the probe key is as recent as the storm's (Redis's LRU clock
//! has a resolution of one second), so an approximate LRU may evict it; a probe that finds
//! it gone re-SETs it, untimed, and the table counts those misses.
//!
//! Reading the figures: the hit rate includes compactness (a server that stores a key in
//! fewer bytes holds more keys in the same maxmemory; the table shows the keys held) as well
//! as the choice of victims. Redis's LRU clock ticks once a second, so at replay speed many
//! keys look equally old to it; that is how Redis behaves, and the replay rate is printed
//! with the hit rate. The load generator shares the cores with the server under test, so
//! latency figures include its scheduling; compare the two servers, not absolute values.
//!
//! The hidden option `--against-redis` runs a second redis-server in place of Shoal, to
//! check this program and see the run-to-run spread of the figures.

mod hit_rate;
mod storm;
mod trace;

use hit_rate::{HitRate, hit_rate};
use storm::{PROBE_KEY, Storm, storm};
use trace::trace;

use crate::args::each_flag;
use crate::resp::Reply;
use crate::servers::{Contender, Server};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::time::Instant;

/// Help text for `eviction`.
pub(crate) const USAGE: &str = "\
Usage: shoal-bench eviction [options]

Gives redis-server and shoal the same maxmemory and policy (CONFIG SET), then, on each in
turn:
  1. replays one Zipf(0.99) trace cache-aside (GET, SET on a miss) over a key universe
     larger than memory and prints the hit rate after a warm-up;
  2. times GETs of a resident key, alone and while another connection writes far past
     maxmemory (an eviction storm): p50/p99/p99.9/max.

Options:
  --maxmemory SIZE         maxmemory for both, with redis.conf units (default 64mb)
  --policy NAME            maxmemory-policy (default allkeys-lru)
  --keys N                 key universe (default 2000000)
  --value-size N           bytes per value (default 100)
  --ops N                  measured GETs of the trace (default 2000000)
  --warmup N               GETs replayed before counting (default 2000000)
  --batch N                GETs per pipelined batch; 1 = strictly one at a time
                           (default 16)
  --zipf S                 Zipf exponent (default 0.99)
  --seed N                 trace seed (default 1)
  --storm-seconds N        how long the storm writes (default 5)
  --storm-value-size N     bytes per storm value (default 16384)
  --storm-pipeline N       storm SETs per pipelined batch (default 32)
  --quiet-probes N         probe GETs timed before the storm (default 20000)
  --only PART              hit-rate or storm (default both)
  --shoal PATH             shoal binary (default: target/release/shoal, built if stale)
  -h, --help               print this text";

/// Which parts to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parts {
    Both,
    HitRate,
    Storm,
}

/// What `eviction` runs with.
pub(crate) struct Options {
    /// As given, passed to `CONFIG SET` unchanged.
    maxmemory: String,
    maxmemory_bytes: u64,
    policy: String,
    keys: u64,
    value_size: usize,
    ops: u64,
    warmup: u64,
    batch: usize,
    zipf: f64,
    seed: u64,
    storm_seconds: u64,
    storm_value_size: usize,
    storm_pipeline: usize,
    quiet_probes: u64,
    parts: Parts,
    shoal: Option<PathBuf>,
    /// Hidden: a second redis-server instead of shoal, to check the program itself.
    against_redis: bool,
}

impl Options {
    /// Parses the command line; `None` for `--help`.
    pub(crate) fn parse(args: &[String]) -> anyhow::Result<Option<Options>> {
        let mut options = Options {
            maxmemory: "64mb".into(),
            maxmemory_bytes: 64 << 20,
            policy: "allkeys-lru".into(),
            keys: 2_000_000,
            value_size: 100,
            ops: 2_000_000,
            warmup: 2_000_000,
            batch: 16,
            zipf: 0.99,
            seed: 1,
            storm_seconds: 5,
            storm_value_size: 16384,
            storm_pipeline: 32,
            quiet_probes: 20_000,
            parts: Parts::Both,
            shoal: None,
            against_redis: false,
        };
        let finished = each_flag(args, &["--against-redis"], |flag| {
            match flag.name {
                "--against-redis" => options.against_redis = true,
                "--maxmemory" => {
                    let value = flag.value()?;
                    options.maxmemory_bytes = memory_size(value)?;
                    options.maxmemory = value.to_string();
                }
                "--policy" => options.policy = flag.value()?.to_ascii_lowercase(),
                "--keys" => options.keys = flag.positive()?,
                "--value-size" => options.value_size = flag.positive()?,
                "--ops" => options.ops = flag.positive()?,
                "--warmup" => options.warmup = flag.number()?,
                "--batch" => options.batch = flag.positive()?,
                "--zipf" => {
                    let value = flag.value()?;
                    options.zipf = value
                        .parse()
                        .with_context(|| format!("--zipf wants a number, got {value:?}"))?
                }
                "--seed" => options.seed = flag.number()?,
                "--storm-seconds" => options.storm_seconds = flag.positive()?,
                "--storm-value-size" => options.storm_value_size = flag.positive()?,
                "--storm-pipeline" => options.storm_pipeline = flag.positive()?,
                "--quiet-probes" => options.quiet_probes = flag.positive()?,
                "--only" => {
                    options.parts = match flag.value()? {
                        "hit-rate" => Parts::HitRate,
                        "storm" => Parts::Storm,
                        other => bail!("--only wants hit-rate or storm, got {other:?}"),
                    }
                }
                "--shoal" => options.shoal = Some(flag.value()?.into()),
                other => bail!("unknown option {other}\n\n{USAGE}"),
            }
            Ok(())
        })?;
        if !finished {
            return Ok(None);
        }
        if options.keys > u64::from(u32::MAX) {
            bail!("--keys must be at most {}", u32::MAX);
        }
        Ok(Some(options))
    }

    fn hit_rate(&self) -> bool {
        self.parts != Parts::Storm
    }

    fn storm(&self) -> bool {
        self.parts != Parts::HitRate
    }
}

/// A size as redis.conf writes it: `100`, `100b`, `64k` (1000), `64kb` (1024), `64m`,
/// `64mb`, `1g`, `1gb`, case-insensitive. Zero is refused: it means "no limit".
fn memory_size(text: &str) -> anyhow::Result<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let number: u64 = digits
        .parse()
        .with_context(|| format!("--maxmemory {text:?}: no number"))?;
    let unit: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1_000_000,
        "mb" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" => 1 << 30,
        _ => bail!("--maxmemory {text:?}: unknown unit {unit:?}"),
    };
    match number.checked_mul(unit) {
        Some(0) => bail!("--maxmemory must be greater than 0 (0 means no limit)"),
        Some(bytes) => Ok(bytes),
        None => bail!("--maxmemory {text:?} is too large"),
    }
}

/// Runs both parts against both servers and prints the comparison.
pub(crate) fn run(options: &Options) -> anyhow::Result<()> {
    let contender = Contender::resolve(options.shoal.as_deref(), options.against_redis)?;
    println!(
        "redis: {}",
        crate::servers::version_of(std::path::Path::new("redis-server"))
    );
    println!("{}: {}", contender.label(), contender.describe());
    println!(
        "maxmemory {} ({} bytes), maxmemory-policy {}",
        options.maxmemory, options.maxmemory_bytes, options.policy
    );
    let universe = options.keys * (options.value_size as u64 + 16);
    if options.hit_rate() && universe <= options.maxmemory_bytes {
        println!(
            "warning: {} keys of {} bytes ({:.0} MB of payload) fit in maxmemory; \
             nothing will be evicted",
            options.keys,
            options.value_size,
            mb(universe)
        );
    }
    let trace = if options.hit_rate() {
        let started = Instant::now();
        let trace = trace(options);
        eprintln!(
            "trace: {} GETs over {} keys, Zipf {} (seed {}), generated in {:.1} s",
            trace.len(),
            options.keys,
            options.zipf,
            options.seed,
            started.elapsed().as_secs_f64()
        );
        trace
    } else {
        Vec::new()
    };

    let redis = side(&Server::start_redis()?, "redis", &trace, options)?;
    let other = contender
        .start()
        .and_then(|server| side(&server, contender.label(), &trace, options));
    let results: Vec<&Side> = match &other {
        Ok(other) => vec![&redis, other],
        Err(_) => vec![&redis],
    };
    report(&results, options);
    match other {
        Ok(_) => Ok(()),
        Err(error) => Err(error.context(format!(
            "the {} side failed; the figures above are redis's only",
            contender.label()
        ))),
    }
}

/// One server's results.
struct Side {
    label: &'static str,
    hit_rate: Option<HitRate>,
    storm: Option<Storm>,
}

/// Runs the parts asked for on one freshly started server.
fn side(
    server: &Server,
    label: &'static str,
    trace: &[u32],
    options: &Options,
) -> anyhow::Result<Side> {
    configure(server, label, options)?;
    let hit_rate = if options.hit_rate() {
        Some(hit_rate(server, label, trace, options)?)
    } else {
        None
    };
    let storm = if options.storm() {
        Some(storm(server, label, options)?)
    } else {
        None
    };
    Ok(Side {
        label,
        hit_rate,
        storm,
    })
}

/// `CONFIG SET maxmemory` and `maxmemory-policy`, checked in `INFO memory` afterwards.
fn configure(server: &Server, label: &str, options: &Options) -> anyhow::Result<()> {
    let mut conn = server.connect()?;
    for (name, value) in [
        ("maxmemory", options.maxmemory.as_str()),
        ("maxmemory-policy", options.policy.as_str()),
    ] {
        match conn.call(&[b"CONFIG", b"SET", name.as_bytes(), value.as_bytes()])? {
            Reply::Simple(ok) if ok == "OK" => {}
            Reply::Error(error) => bail!(
                "{label} refused `CONFIG SET {name} {value}`: {error}\n\
                 This comparison sets {name} at runtime: a server that does not support it \
                 yet (issue 4) cannot take part; otherwise check the value."
            ),
            other => bail!("{label}: `CONFIG SET {name} {value}` answered {other:?}"),
        }
    }
    let info = server.info("memory")?;
    let field = |name: &str| crate::resp::info_field(&info, name).unwrap_or("(missing)");
    if field("maxmemory") != options.maxmemory_bytes.to_string() {
        bail!(
            "{label} accepted maxmemory {} but INFO memory reports maxmemory:{}",
            options.maxmemory,
            field("maxmemory")
        );
    }
    if field("maxmemory_policy") != options.policy {
        bail!(
            "{label} accepted maxmemory-policy {} but INFO memory reports \
             maxmemory_policy:{}",
            options.policy,
            field("maxmemory_policy")
        );
    }
    Ok(())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Prints the tables for the sides that finished.
fn report(sides: &[&Side], options: &Options) {
    if options.hit_rate() {
        println!();
        println!(
            "hit rate: {} keys of {} bytes, Zipf {}, {} warm-up + {} measured GETs, \
             cache-aside in batches of {}",
            options.keys,
            options.value_size,
            options.zipf,
            options.warmup,
            options.ops,
            options.batch
        );
        println!(
            "  {:<8} {:>9} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>8} {:>10}",
            "server",
            "hit rate",
            "hits",
            "misses",
            "keys held",
            "B/key",
            "evicted",
            "used MB",
            "GETs/s",
            "warm rate"
        );
        for side in sides {
            let Some(h) = &side.hit_rate else { continue };
            let warm_total = h.warm.hits + h.warm.misses;
            println!(
                "  {:<8} {:>8.2}% {:>10} {:>10} {:>10} {:>10.0} {:>9} {:>9.1} {:>8.0} {:>9.2}%",
                side.label,
                100.0 * h.rate(),
                h.measured.hits,
                h.measured.misses,
                h.held,
                h.used_memory as f64 / h.held.max(1) as f64,
                h.evicted,
                mb(h.used_memory),
                (h.measured.hits + h.measured.misses) as f64 / h.measured_secs.max(1e-9),
                100.0 * h.warm.hits as f64 / warm_total.max(1) as f64
            );
            if h.evicted_warm == 0 {
                println!(
                    "  {}: nothing was evicted during the warm-up; the cache was not yet \
                     full (raise --warmup)",
                    side.label
                );
            }
            let errors = h.warm.set_errors + h.measured.set_errors;
            if errors > 0 {
                let first = h
                    .warm
                    .first_set_error
                    .as_ref()
                    .or(h.measured.first_set_error.as_ref());
                println!(
                    "  {}: {errors} SETs refused, first: {}",
                    side.label,
                    first.map_or("?", String::as_str)
                );
            }
        }
        if let [redis, other] = sides
            && let (Some(a), Some(b)) = (&redis.hit_rate, &other.hit_rate)
        {
            println!(
                "  {} - redis: {:+.2} percentage points",
                other.label,
                100.0 * (b.rate() - a.rate())
            );
        }
        println!("  B/key: used_memory over keys held. warm rate: hit rate during the warm-up.");
    }
    if options.storm() {
        println!();
        println!(
            "GET latency of one resident key, alone and while another connection writes \
             {}-byte values (pipeline {}) for {} s",
            options.storm_value_size, options.storm_pipeline, options.storm_seconds
        );
        println!(
            "  {:<8} {:<6} {:>8} {:>8} {:>8} {:>9} {:>9} {:>10} {:>9} {:>9} {:>12}",
            "server",
            "phase",
            "GETs",
            "p50 us",
            "p99 us",
            "p99.9 us",
            "max us",
            "write MB/s",
            "x maxmem",
            "evicted",
            "peak/maxmem"
        );
        for side in sides {
            let Some(s) = &side.storm else { continue };
            for (phase, probes) in [("quiet", &s.quiet), ("storm", &s.storm)] {
                let (rate, times, evicted, peak) = if phase == "storm" {
                    (
                        format!("{:.0}", mb(s.written) / s.secs.max(1e-9)),
                        format!("{:.0}", s.written as f64 / options.maxmemory_bytes as f64),
                        s.evicted.to_string(),
                        format!("{:.2}", s.peak_used as f64 / options.maxmemory_bytes as f64),
                    )
                } else {
                    ("".into(), "".into(), "".into(), "".into())
                };
                println!(
                    "  {:<8} {:<6} {:>8} {:>8.0} {:>8.0} {:>9.0} {:>9.0} {:>10} {:>9} {:>9} {:>12}",
                    side.label,
                    phase,
                    probes.nanos.len(),
                    probes.quantile_us(0.5),
                    probes.quantile_us(0.99),
                    probes.quantile_us(0.999),
                    probes.quantile_us(1.0),
                    rate,
                    times,
                    evicted,
                    peak
                );
                if probes.nils > 0 {
                    println!(
                        "  {}: {} of the {phase} GETs found {PROBE_KEY} evicted (and SET it again)",
                        side.label, probes.nils
                    );
                }
            }
            if s.peak_used
                > options
                    .maxmemory_bytes
                    .saturating_add(options.maxmemory_bytes / 10)
            {
                println!(
                    "  {}: used_memory rose to {:.1} MB during the storm (maxmemory {:.1} MB); \
                     {:.1} MB half a second after it",
                    side.label,
                    mb(s.peak_used),
                    mb(options.maxmemory_bytes),
                    mb(s.settled_used)
                );
            }
            if s.set_errors > 0 {
                println!(
                    "  {}: {} storm SETs refused, first: {}",
                    side.label,
                    s.set_errors,
                    s.first_set_error.as_deref().unwrap_or("?")
                );
            }
        }
        println!(
            "  x maxmem: bytes of SETs sent during the storm over maxmemory. peak/maxmem: highest \
             used_memory sampled (every 50 ms) during the storm over maxmemory."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_redis_conf_units() -> anyhow::Result<()> {
        assert_eq!(memory_size("64mb")?, 64 << 20);
        assert_eq!(memory_size("64MB")?, 64 << 20);
        assert_eq!(memory_size("64m")?, 64_000_000);
        assert_eq!(memory_size("1gb")?, 1 << 30);
        assert_eq!(memory_size("1000")?, 1000);
        assert!(memory_size("0").is_err());
        assert!(memory_size("12xb").is_err());
        assert!(memory_size("mb").is_err());
        Ok(())
    }
}
