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

use crate::resp::{Connection, Reply, encode_command};
use crate::servers::{Contender, Server};
use anyhow::{Context, anyhow, bail};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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
        let mut iter = args.iter();
        while let Some(flag) = iter.next() {
            match flag.as_str() {
                "-h" | "--help" => return Ok(None),
                "--against-redis" => {
                    options.against_redis = true;
                    continue;
                }
                _ => {}
            }
            let value = iter
                .next()
                .with_context(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .with_context(|| format!("{flag} wants a whole number, got {value:?}"))
            };
            let positive = || match number()? {
                0 => bail!("{flag} must be greater than 0"),
                n => Ok(n),
            };
            match flag.as_str() {
                "--maxmemory" => {
                    options.maxmemory_bytes = memory_size(value)?;
                    options.maxmemory = value.clone();
                }
                "--policy" => options.policy = value.to_ascii_lowercase(),
                "--keys" => options.keys = positive()?,
                "--value-size" => options.value_size = positive()? as usize,
                "--ops" => options.ops = positive()?,
                "--warmup" => options.warmup = number()?,
                "--batch" => options.batch = positive()? as usize,
                "--zipf" => {
                    options.zipf = value
                        .parse()
                        .with_context(|| format!("--zipf wants a number, got {value:?}"))?
                }
                "--seed" => options.seed = number()?,
                "--storm-seconds" => options.storm_seconds = positive()?,
                "--storm-value-size" => options.storm_value_size = positive()? as usize,
                "--storm-pipeline" => options.storm_pipeline = positive()? as usize,
                "--quiet-probes" => options.quiet_probes = positive()?,
                "--only" => {
                    options.parts = match value.as_str() {
                        "hit-rate" => Parts::HitRate,
                        "storm" => Parts::Storm,
                        _ => bail!("--only wants hit-rate or storm, got {value:?}"),
                    }
                }
                "--shoal" => options.shoal = Some(value.into()),
                other => bail!("unknown option {other}\n\n{USAGE}"),
            }
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

/// splitmix64: a small, fast, deterministic generator (Steele, Lea and Flood).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Zipf(s) over ranks `0..n`: rank k is drawn with probability ∝ 1/(k+1)^s.
struct Zipf {
    /// `cdf[k]` = P(rank ≤ k); the last entry is 1.
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: u64, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n as usize);
        let mut total = 0.0;
        for k in 1..=n {
            total += (k as f64).powf(-s);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Zipf { cdf }
    }

    /// The rank whose CDF step contains a uniform draw.
    fn sample(&self, rng: &mut SplitMix64) -> u64 {
        let u = rng.next_f64();
        let rank = self.cdf.partition_point(|&c| c <= u);
        rank.min(self.cdf.len().saturating_sub(1)) as u64
    }
}

/// The key numbers of the whole trace (warm-up first).
fn trace(options: &Options) -> Vec<u32> {
    let zipf = Zipf::new(options.keys, options.zipf);
    let mut rng = SplitMix64(options.seed);
    // Any prime not dividing `keys` makes rank × prime mod keys a bijection.
    let prime = [1_000_000_007u64, 998_244_353, 1_000_000_009]
        .into_iter()
        .find(|&p| !options.keys.is_multiple_of(p))
        .unwrap_or(1);
    let length = options.warmup + options.ops;
    (0..length)
        .map(|_| {
            let rank = zipf.sample(&mut rng);
            ((u128::from(rank) * u128::from(prime)) % u128::from(options.keys)) as u32
        })
        .collect()
}

fn key(id: u32) -> String {
    format!("key:{id:012}")
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

/// Hits and misses of one stretch of the trace.
#[derive(Debug, Default)]
struct Counts {
    hits: u64,
    misses: u64,
    /// SETs refused (OOM under noeviction or a volatile policy), and the first reason.
    set_errors: u64,
    first_set_error: Option<String>,
}

/// Part 1's figures for one server.
struct HitRate {
    warm: Counts,
    measured: Counts,
    /// Keys the server held at the end.
    held: u64,
    /// `evicted_keys` at the end of the warm-up and at the end.
    evicted_warm: u64,
    evicted: u64,
    used_memory: u64,
    measured_secs: f64,
}

impl HitRate {
    fn rate(&self) -> f64 {
        let total = self.measured.hits + self.measured.misses;
        self.measured.hits as f64 / total.max(1) as f64
    }
}

/// Replays the trace cache-aside: warm-up, then the measured part.
fn hit_rate(
    server: &Server,
    label: &str,
    trace: &[u32],
    options: &Options,
) -> anyhow::Result<HitRate> {
    let mut conn = server.connect()?;
    let value = vec![b'x'; options.value_size];
    let warmup = (options.warmup as usize).min(trace.len());
    let (warm_trace, measured_trace) = trace.split_at(warmup);
    eprintln!("{label}: warm-up, {} GETs ...", warm_trace.len());
    let mut warm = Counts::default();
    replay(
        &mut conn,
        label,
        warm_trace,
        &value,
        options.batch,
        &mut warm,
    )?;
    let evicted_warm = server.info_u64("stats", "evicted_keys")?;
    let used = server.info_u64("memory", "used_memory")?;
    if used > options.maxmemory_bytes.saturating_mul(3) / 2 {
        bail!(
            "{label} accepted maxmemory {} ({} bytes) but uses {used} bytes after the \
             warm-up, having evicted {evicted_warm} keys: it does not enforce maxmemory",
            options.maxmemory,
            options.maxmemory_bytes
        );
    }
    eprintln!("{label}: measuring, {} GETs ...", measured_trace.len());
    let started = Instant::now();
    let mut measured = Counts::default();
    replay(
        &mut conn,
        label,
        measured_trace,
        &value,
        options.batch,
        &mut measured,
    )?;
    let measured_secs = started.elapsed().as_secs_f64();
    Ok(HitRate {
        warm,
        measured,
        held: conn.call_int(&["DBSIZE"])?.max(0) as u64,
        evicted_warm,
        evicted: server.info_u64("stats", "evicted_keys")?,
        used_memory: server.info_u64("memory", "used_memory")?,
        measured_secs,
    })
}

/// GETs `ids` in batches of `batch`, then SETs each key of the batch that missed.
fn replay(
    conn: &mut Connection,
    label: &str,
    ids: &[u32],
    value: &[u8],
    batch: usize,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    let mut missed: Vec<u32> = Vec::with_capacity(batch);
    for chunk in ids.chunks(batch) {
        bytes.clear();
        for &id in chunk {
            bytes.extend_from_slice(&encode_command(&[b"GET", key(id).as_bytes()]));
        }
        conn.send(&bytes)?;
        missed.clear();
        for &id in chunk {
            match conn.read_reply()? {
                Reply::Bulk(Some(_)) => counts.hits += 1,
                Reply::Bulk(None) => {
                    counts.misses += 1;
                    if !missed.contains(&id) {
                        missed.push(id);
                    }
                }
                other => bail!("{label}: GET {} answered {other:?}", key(id)),
            }
        }
        if missed.is_empty() {
            continue;
        }
        bytes.clear();
        for &id in &missed {
            bytes.extend_from_slice(&encode_command(&[b"SET", key(id).as_bytes(), value]));
        }
        conn.send(&bytes)?;
        for &id in &missed {
            match conn.read_reply()? {
                Reply::Simple(ok) if ok == "OK" => {}
                Reply::Error(error) => {
                    counts.set_errors += 1;
                    counts.first_set_error.get_or_insert(error);
                }
                other => bail!("{label}: SET {} answered {other:?}", key(id)),
            }
        }
    }
    Ok(())
}

/// Round-trip times of a stretch of probe GETs, in nanoseconds.
#[derive(Debug, Default)]
struct Probes {
    nanos: Vec<u64>,
    /// GETs that found the probe key gone (evicted).
    nils: u64,
}

impl Probes {
    /// The `q` quantile (0..=1) in microseconds, from sorted `nanos`.
    fn quantile_us(&self, q: f64) -> f64 {
        if self.nanos.is_empty() {
            return 0.0;
        }
        let rank = ((q * self.nanos.len() as f64).ceil() as usize).clamp(1, self.nanos.len());
        self.nanos[rank - 1] as f64 / 1000.0
    }
}

/// Part 2's figures for one server.
struct Storm {
    quiet: Probes,
    storm: Probes,
    written: u64,
    secs: f64,
    set_errors: u64,
    first_set_error: Option<String>,
    evicted: u64,
    peak_used: u64,
    /// `used_memory` half a second after the storm.
    settled_used: u64,
}

const PROBE_KEY: &str = "probe:key";

/// Times probe GETs alone and then during a storm of big writes.
fn storm(server: &Server, label: &str, options: &Options) -> anyhow::Result<Storm> {
    let mut probe = server.connect()?;
    fill(server, label, options)?;
    set_probe(&mut probe, label)?;
    let get = encode_command(&[b"GET", PROBE_KEY.as_bytes()]);
    eprintln!("{label}: {} quiet probes ...", options.quiet_probes);
    let quiet = time_probes(&mut probe, label, &get, None, options.quiet_probes)?;

    let evicted_before = server.info_u64("stats", "evicted_keys")?;
    let duration = Duration::from_secs(options.storm_seconds);
    eprintln!(
        "{label}: storm, writing values of {} bytes for {duration:?} ...",
        options.storm_value_size
    );
    let mut writer = server.connect()?;
    let stop = AtomicBool::new(false);
    let (written, outcome) = std::thread::scope(|scope| {
        let prober = scope.spawn(|| time_probes(&mut probe, label, &get, Some(&stop), u64::MAX));
        let started = Instant::now();
        let written = write_storm(server, &mut writer, label, duration, options);
        let secs = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let probes = prober
            .join()
            .map_err(|_| anyhow!("{label}: the probe thread panicked"))
            .and_then(|probes| probes);
        (written.map(|w| (w, secs)), probes)
    });
    let (written, secs) = written?;
    let storm = outcome?;
    std::thread::sleep(Duration::from_millis(500));
    let settled_used = server.info_u64("memory", "used_memory")?;
    Ok(Storm {
        quiet,
        storm,
        written: written.bytes,
        secs,
        set_errors: written.errors,
        first_set_error: written.first_error,
        evicted: server
            .info_u64("stats", "evicted_keys")?
            .saturating_sub(evicted_before),
        peak_used: written.peak_used,
        settled_used,
    })
}

/// Writes the probe key (a refusal, e.g. OOM under noeviction, is reported, not fatal: the
/// probes then time GETs that miss).
fn set_probe(conn: &mut Connection, label: &str) -> anyhow::Result<()> {
    match conn.call(&[b"SET", PROBE_KEY.as_bytes(), b"probe-value"])? {
        Reply::Simple(ok) if ok == "OK" => Ok(()),
        Reply::Error(_) => Ok(()),
        other => bail!("{label}: SET {PROBE_KEY} answered {other:?}"),
    }
}

/// Writes small keys (as the hit-rate replay does) until the server starts evicting, or
/// refuses a write, or all `--keys` are written: a storm-only run starts from a full server.
fn fill(server: &Server, label: &str, options: &Options) -> anyhow::Result<()> {
    const BATCH: u64 = 1000;
    let evicted = server.info_u64("stats", "evicted_keys")?;
    if evicted > 0 {
        return Ok(());
    }
    eprintln!("{label}: filling to maxmemory ...");
    let mut conn = server.connect()?;
    let value = vec![b'x'; options.value_size];
    let mut next = 0;
    while next < options.keys {
        let end = (next + BATCH).min(options.keys);
        let mut bytes = Vec::new();
        for id in next..end {
            bytes.extend_from_slice(&encode_command(&[
                b"SET",
                key(id as u32).as_bytes(),
                &value,
            ]));
        }
        conn.send(&bytes)?;
        let mut refused = false;
        for id in next..end {
            match conn.read_reply()? {
                Reply::Simple(ok) if ok == "OK" => {}
                Reply::Error(_) => refused = true,
                other => bail!("{label}: SET {} answered {other:?}", key(id as u32)),
            }
        }
        next = end;
        if refused {
            break;
        }
        // Every 50 batches (~5 MB of 100-byte values), see whether eviction has begun.
        if (next / BATCH).is_multiple_of(50) && server.info_u64("stats", "evicted_keys")? > 0 {
            break;
        }
    }
    Ok(())
}

/// What the storm writer did.
struct Written {
    bytes: u64,
    errors: u64,
    first_error: Option<String>,
    peak_used: u64,
}

/// Writes new big values in pipelined batches for `duration`, sampling `used_memory` every
/// 50 ms.
fn write_storm(
    server: &Server,
    conn: &mut Connection,
    label: &str,
    duration: Duration,
    options: &Options,
) -> anyhow::Result<Written> {
    let value = vec![b's'; options.storm_value_size];
    let mut written = Written {
        bytes: 0,
        errors: 0,
        first_error: None,
        peak_used: server.info_u64("memory", "used_memory")?,
    };
    let mut next_key = 0u64;
    let mut last_sample = Instant::now();
    let mut bytes = Vec::new();
    let started = Instant::now();
    while started.elapsed() < duration {
        bytes.clear();
        for _ in 0..options.storm_pipeline {
            let key = format!("storm:{next_key:012}");
            next_key += 1;
            bytes.extend_from_slice(&encode_command(&[b"SET", key.as_bytes(), &value]));
        }
        conn.send(&bytes)?;
        for _ in 0..options.storm_pipeline {
            match conn.read_reply()? {
                Reply::Simple(ok) if ok == "OK" => {}
                Reply::Error(error) => {
                    written.errors += 1;
                    written.first_error.get_or_insert(error);
                }
                other => bail!("{label}: storm SET answered {other:?}"),
            }
        }
        written.bytes += (options.storm_pipeline * options.storm_value_size) as u64;
        if last_sample.elapsed() >= Duration::from_millis(50) {
            let used = server.info_u64("memory", "used_memory")?;
            written.peak_used = written.peak_used.max(used);
            last_sample = Instant::now();
        }
    }
    let used = server.info_u64("memory", "used_memory")?;
    written.peak_used = written.peak_used.max(used);
    Ok(written)
}

/// Sends the encoded `get` and times each round trip, `count` times or until `stop`. A GET
/// that finds the key gone counts as a nil and SETs it again, untimed.
fn time_probes(
    conn: &mut Connection,
    label: &str,
    get: &[u8],
    stop: Option<&AtomicBool>,
    count: u64,
) -> anyhow::Result<Probes> {
    let mut probes = Probes::default();
    let mut done = 0;
    while done < count && !stop.is_some_and(|stop| stop.load(Ordering::Relaxed)) {
        let started = Instant::now();
        conn.send(get)?;
        let reply = conn.read_reply()?;
        probes.nanos.push(started.elapsed().as_nanos() as u64);
        match reply {
            Reply::Bulk(Some(_)) => {}
            Reply::Bulk(None) => {
                probes.nils += 1;
                set_probe(conn, label)?;
            }
            other => bail!("{label}: GET {PROBE_KEY} answered {other:?}"),
        }
        done += 1;
    }
    probes.nanos.sort_unstable();
    Ok(probes)
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

    #[test]
    fn zipf_is_skewed_and_deterministic() {
        let zipf = Zipf::new(1000, 0.99);
        let draw = |seed| {
            let mut rng = SplitMix64(seed);
            (0..10_000)
                .map(|_| zipf.sample(&mut rng))
                .collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7));
        assert!(a.iter().all(|&r| r < 1000));
        // P(rank 0) = 1/H(1000, 0.99) ≈ 0.13; rank 0 is by far the most drawn.
        let zeros = a.iter().filter(|&&r| r == 0).count();
        assert!((1000..1700).contains(&zeros), "{zeros}");
        let tail = a.iter().filter(|&&r| r >= 500).count();
        assert!(
            tail < zeros,
            "{tail} draws in the upper half vs {zeros} of rank 0"
        );
    }
}
