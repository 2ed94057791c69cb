//! `shoal-bench tracking`: client-side caching, Shoal vs Redis: how long an invalidation takes
//! to reach a reader, and what the server remembers per tracked key.
//!
//! - **Invalidation latency.** A reader with `CLIENT TRACKING ON REDIRECT <listener>` reads a
//!   key; a writer then sets it, and the time from sending the SET to the listener receiving
//!   the `__redis__:invalidate` message is one sample (RESP2 redirect: the same invalidation
//!   path as a RESP3 push, readable with the harness's RESP2 client). Setups: one redis-server,
//!   one Shoal node, and a 3-node Shoal cluster with the reader and listener on the first node
//!   and the writer on the second (keys spread over all three, so most writes run on another
//!   node than the reader's). Redis Cluster has no cross-node tracking: no row for it.
//! - **Memory per tracked key.** `--keys` keys are written, then read by one tracking client;
//!   `used_memory` after the reads minus before, per key (the tracking table's cost).
//!
//! - **redis-py's client cache.** One redis-py client (`client_cache.py`, run with the
//!   `python3` on the PATH) does a 99% GET / 1% SET Zipf(0.99) workload over `--py-keys`
//!   keys for `--py-seconds`, with and without its cache (`protocol=3, cache_config=
//!   CacheConfig()`), against one Shoal node and through one node of the 3-node cluster;
//!   redis-server 7.0 gives the no-cache baseline (redis-py caches only for 7.4 and later).
//!   Every read is checked against the client's own last write (`stale` must be 0).

use crate::args::each_flag;
use crate::resp::{Connection, Reply, encode_command};
use crate::servers::{self, Server};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Help text for `tracking`.
pub(crate) const USAGE: &str = "\
Usage: shoal-bench tracking [options]

Client-side caching: the time from a SET to the invalidation reaching a tracking reader
(redis-server, one Shoal node, a 3-node Shoal cluster with the writer on another node than
the reader), p50/p99; used_memory per key tracked, Shoal vs Redis; and the throughput of a
redis-py client with and without its own cache on a 99% read Zipf workload.

Options:
  --rounds N     rounds over the setups (default 3)
  --samples N    invalidations timed per run (default 5000)
  --keys N       keys tracked for the memory figure (default 100000)
  --py-seconds N seconds per redis-py client-cache run (default 5; 0 skips it)
  --py-keys N    keys of the redis-py workload (default 10000)
  --shoal PATH   shoal binary (default: target/release/shoal, built if needed)
  -h, --help     print this text";

/// Settings of one run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    rounds: u32,
    samples: usize,
    keys: usize,
    py_seconds: u32,
    py_keys: usize,
    shoal: Option<PathBuf>,
}

impl Options {
    /// Parses `tracking`'s arguments; `Ok(None)` when help was asked for.
    pub(crate) fn parse(args: &[String]) -> anyhow::Result<Option<Options>> {
        let mut options = Options {
            rounds: 3,
            samples: 5000,
            keys: 100_000,
            py_seconds: 5,
            py_keys: 10_000,
            shoal: None,
        };
        let finished = each_flag(args, &[], |flag| {
            let value = flag.value()?;
            match flag.name {
                "--rounds" => options.rounds = flag.positive()?,
                "--samples" => options.samples = flag.positive()?,
                "--keys" => options.keys = flag.positive()?,
                "--py-seconds" => {
                    options.py_seconds = value.parse().context("--py-seconds: a number")?
                }
                "--py-keys" => options.py_keys = flag.positive()?,
                "--shoal" => options.shoal = Some(PathBuf::from(value)),
                other => bail!("unknown option {other:?} for tracking (see --help)"),
            }
            Ok(())
        })?;
        Ok(finished.then_some(options))
    }
}

const SETUPS: [&str; 3] = ["redis", "shoal", "shoal cluster"];

/// Runs the benchmark and prints its report.
pub(crate) fn run(options: &Options) -> anyhow::Result<()> {
    let binary = match &options.shoal {
        Some(path) => path.clone(),
        None => servers::shoal_binary()?,
    };
    println!(
        "tracking: {} invalidations timed per run, {} keys tracked for memory; shoal {}",
        options.samples,
        options.keys,
        binary.display()
    );
    let redis = Server::start_redis()?;
    let shoal = Server::start_shoal(&binary, &[])?;
    let cluster = crate::cluster::start_shoal_cluster(&binary)?;
    let setups: [(u16, u16); 3] = [
        (redis.port, redis.port),
        (shoal.port, shoal.port),
        (cluster[0].port, cluster[1].port),
    ];
    let mut results: [Vec<(f64, f64)>; 3] = Default::default();
    for round in 1..=options.rounds {
        for (setup, (reader, writer)) in setups.iter().enumerate() {
            let figures = latency(*reader, *writer, options.samples)
                .with_context(|| format!("round {round}, {}", SETUPS[setup]))?;
            eprintln!(
                "round {round}/{} {:<14} p50 {:.3} ms  p99 {:.3} ms",
                options.rounds, SETUPS[setup], figures.0, figures.1
            );
            results[setup].push(figures);
        }
    }
    drop((redis, shoal, cluster));
    println!("\n{:<14} {:>10} {:>10}", "setup", "p50 ms", "p99 ms");
    let mut medians = Vec::new();
    for (setup, runs) in SETUPS.iter().zip(&results) {
        let p50 = median(runs.iter().map(|r| r.0).collect());
        let p99 = median(runs.iter().map(|r| r.1).collect());
        println!("{setup:<14} {p50:>10.3} {p99:>10.3}");
        medians.push((p50, p99));
    }
    println!(
        "shoal/redis, one node: p50 {:.2}, p99 {:.2}",
        medians[1].0 / medians[0].0,
        medians[1].1 / medians[0].1
    );
    // Memory: fresh servers, so nothing else is in their tables.
    let redis = Server::start_redis()?;
    let redis_bytes = memory_per_key(&redis, options.keys).context("redis memory")?;
    drop(redis);
    let shoal = Server::start_shoal(&binary, &[])?;
    let shoal_bytes = memory_per_key(&shoal, options.keys).context("shoal memory")?;
    drop(shoal);
    println!(
        "\nbytes per tracked key: redis {redis_bytes:.1}, shoal {shoal_bytes:.1} (shoal/redis {:.2})",
        shoal_bytes / redis_bytes
    );
    if options.py_seconds > 0 {
        client_cache(&binary, options)?;
    }
    Ok(())
}

/// The redis-py workload (see the module doc).
const CLIENT_CACHE_PY: &str = include_str!("client_cache.py");

/// What one redis-py run measured.
struct PyRun {
    ops_per_sec: f64,
    stale: u64,
}

/// Runs `client_cache.py` against `port`.
fn py_run(port: u16, cache: bool, options: &Options) -> anyhow::Result<PyRun> {
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(CLIENT_CACHE_PY)
        .arg(port.to_string())
        .arg(options.py_seconds.to_string())
        .arg(if cache { "1" } else { "0" })
        .arg(options.py_keys.to_string())
        .output()
        .context("running python3 (with redis-py installed)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "client_cache.py failed: {}{}",
            text,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let field = |name: &str| -> anyhow::Result<f64> {
        text.split_whitespace()
            .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no {name} in {text:?}"))
    };
    Ok(PyRun {
        ops_per_sec: field("ops")? / field("seconds")?,
        stale: field("stale")? as u64,
    })
}

/// redis-py's read throughput with and without its cache (see the module doc).
fn client_cache(binary: &std::path::Path, options: &Options) -> anyhow::Result<()> {
    println!(
        "\nredis-py, one client, 99% GET / 1% SET, Zipf(0.99) over {} keys, {} s per run",
        options.py_keys, options.py_seconds
    );
    let redis = Server::start_redis()?;
    let shoal = Server::start_shoal(binary, &[])?;
    let cluster = crate::cluster::start_shoal_cluster(binary)?;
    let runs: [(&str, u16, bool); 5] = [
        ("redis", redis.port, false),
        ("shoal", shoal.port, false),
        ("shoal cached", shoal.port, true),
        ("cluster", cluster[0].port, false),
        ("cluster cached", cluster[0].port, true),
    ];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    for round in 1..=options.rounds {
        for (i, &(name, port, cache)) in runs.iter().enumerate() {
            let run = py_run(port, cache, options).context(name)?;
            eprintln!(
                "round {round}/{} {name:<15} {:>9.0} ops/s  stale {}",
                options.rounds, run.ops_per_sec, run.stale
            );
            if run.stale > 0 {
                bail!(
                    "{name}: {} reads did not see the client's own write",
                    run.stale
                );
            }
            rates[i].push(run.ops_per_sec);
        }
    }
    drop((redis, shoal, cluster));
    println!("{:<15} {:>12}", "setup", "ops/s");
    let medians: Vec<f64> = rates.into_iter().map(median).collect();
    for ((name, _, _), rate) in runs.iter().zip(&medians) {
        println!("{name:<15} {rate:>12.0}");
    }
    println!(
        "cache on/off: one node {:.2}, cluster {:.2}; shoal/redis without cache {:.2}",
        medians[2] / medians[1],
        medians[4] / medians[3],
        medians[1] / medians[0]
    );
    Ok(())
}

/// p50 and p99 (ms) of `samples` invalidations: read through `reader_port`, written through
/// `writer_port`, heard by a listener on `reader_port`.
fn latency(reader_port: u16, writer_port: u16, samples: usize) -> anyhow::Result<(f64, f64)> {
    let mut listener = Connection::connect(reader_port)?;
    let id = listener.call_int(&["CLIENT", "ID"])?;
    listener.call(&[b"SUBSCRIBE", b"__redis__:invalidate"])?;
    let mut reader = Connection::connect(reader_port)?;
    let id = id.to_string();
    match reader.call(&[b"CLIENT", b"TRACKING", b"ON", b"REDIRECT", id.as_bytes()])? {
        Reply::Simple(_) => {}
        other => bail!("CLIENT TRACKING answered {other:?}"),
    }
    let mut writer = Connection::connect(writer_port)?;
    let mut took = Vec::with_capacity(samples);
    for i in 0..samples {
        let key = format!("trk:{}", i % 1000);
        reader.call(&[b"GET", key.as_bytes()])?;
        let started = Instant::now();
        writer.send(&encode_command(&[b"SET", key.as_bytes(), b"v"]))?;
        wait_for_invalidation(&mut listener, key.as_bytes())?;
        took.push(started.elapsed());
        writer.read_reply()?;
    }
    took.sort_unstable();
    let at = |q: f64| {
        let index = ((took.len() as f64 - 1.0) * q).round() as usize;
        took.get(index).copied().unwrap_or_default().as_secs_f64() * 1e3
    };
    Ok((at(0.50), at(0.99)))
}

/// Reads `__redis__:invalidate` messages until one names `key` (a change that crossed an
/// earlier read may be told late: such messages are passed over).
fn wait_for_invalidation(listener: &mut Connection, key: &[u8]) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Reply::Array(Some(parts)) = listener.read_reply()? else {
            bail!("the listener got something else than a message");
        };
        if let Some(Reply::Array(Some(keys))) = parts.get(2)
            && keys
                .iter()
                .any(|k| matches!(k, Reply::Bulk(Some(bytes)) if bytes == key))
        {
            return Ok(());
        }
    }
    bail!(
        "no invalidation of {} within 30 s",
        String::from_utf8_lossy(key)
    )
}

/// `used_memory` grown per key when one tracking client reads `keys` keys.
fn memory_per_key(server: &Server, keys: usize) -> anyhow::Result<f64> {
    let mut writer = server.connect()?;
    let mut reader = server.connect()?;
    reader.call(&[b"CLIENT", b"TRACKING", b"ON"])?;
    pipelined(&mut writer, keys, |key| {
        encode_command(&[b"SET", key, b"value"])
    })?;
    std::thread::sleep(Duration::from_millis(200));
    let before = server.info_u64("memory", "used_memory")?;
    pipelined(&mut reader, keys, |key| encode_command(&[b"GET", key]))?;
    let after = server.info_u64("memory", "used_memory")?;
    Ok(after.saturating_sub(before) as f64 / keys as f64)
}

/// Sends the command `make` builds for each of `keys` keys, a thousand per write, and reads
/// every reply.
fn pipelined(
    conn: &mut Connection,
    keys: usize,
    make: impl Fn(&[u8]) -> Vec<u8>,
) -> anyhow::Result<()> {
    const BATCH: usize = 1000;
    let mut start = 0;
    while start < keys {
        let end = (start + BATCH).min(keys);
        let mut out = Vec::new();
        for i in start..end {
            out.extend(make(format!("mem:{i:08}").as_bytes()));
        }
        conn.send(&out)?;
        for _ in start..end {
            conn.read_reply()?;
        }
        start = end;
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
