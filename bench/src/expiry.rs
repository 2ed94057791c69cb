//! `expiry`: how soon each server gives back the memory of keys that expire unread, and what
//! that costs in CPU.
//!
//! Both servers get the same load: `--keys` keys written with `SET key value PX ttl`
//! (pipelined), then nobody reads them. We poll `DBSIZE`, `used_memory` and the server's CPU
//! time until every key is reclaimed, and report for each server: the memory the keys took,
//! how long after the last key's expiry the keyspace was empty, how much memory came back,
//! and the CPU the server spent meanwhile (its active expiry cycle, as nothing else runs).

use crate::args::each_flag;
use crate::resp::{self, encode_command};
use crate::servers::{self, Server};
use anyhow::{Context, bail};
use std::time::{Duration, Instant};

pub(crate) const USAGE: &str = "\
Usage: shoal-bench expiry [options]

Writes keys with a TTL to redis-server and shoal (one after the other), reads none of them,
and measures how fast each server reclaims them and at what CPU cost.

Options:
  --keys N          keys to write (default 1000000)
  --ttl-ms N        their TTL in milliseconds (default 1000)
  --value-size N    bytes per value (default 32)
  --timeout N       give up waiting after N seconds (default 60)
  --shoal PATH      shoal binary (default: target/release/shoal, built if stale)";

/// What `expiry` runs with.
pub(crate) struct Options {
    keys: u64,
    ttl_ms: u64,
    value_size: usize,
    timeout: Duration,
    shoal: Option<std::path::PathBuf>,
}

impl Options {
    /// Parses the command line; `None` for `--help`.
    pub(crate) fn parse(args: &[String]) -> anyhow::Result<Option<Options>> {
        let mut options = Options {
            keys: 1_000_000,
            ttl_ms: 1000,
            value_size: 32,
            timeout: Duration::from_secs(60),
            shoal: None,
        };
        let finished = each_flag(args, &[], |flag| {
            match flag.name {
                "--keys" => options.keys = flag.number()?.max(1),
                "--ttl-ms" => options.ttl_ms = flag.number()?.max(1),
                "--value-size" => options.value_size = flag.number()? as usize,
                "--timeout" => options.timeout = Duration::from_secs(flag.number()?),
                "--shoal" => options.shoal = Some(flag.value()?.into()),
                other => bail!("unknown option {other}\n\n{USAGE}"),
            }
            Ok(())
        })?;
        if !finished {
            return Ok(None);
        }
        Ok(Some(options))
    }
}

/// One server's figures.
struct Outcome {
    name: &'static str,
    baseline: u64,
    loaded: u64,
    load_secs: f64,
    /// From the moment the last key expired until `DBSIZE` was 0.
    reclaim_secs: Option<f64>,
    after: u64,
    cpu_secs: f64,
    window_secs: f64,
    expired_keys: u64,
}

/// Runs the measurement on both servers and prints the comparison.
pub(crate) fn run(options: &Options) -> anyhow::Result<()> {
    let binary = match &options.shoal {
        Some(path) => path.clone(),
        None => servers::shoal_binary()?,
    };
    println!(
        "{} keys, TTL {} ms, values of {} bytes; nothing reads them",
        options.keys, options.ttl_ms, options.value_size
    );
    let redis = measure(&Server::start_redis()?, "redis", options)?;
    let shoal = measure(&Server::start_shoal(&binary, &[])?, "shoal", options)?;
    println!();
    println!(
        "{:<6} {:>12} {:>10} {:>9} {:>14} {:>12} {:>10} {:>12} {:>12}",
        "server",
        "keys MB",
        "B/key",
        "load s",
        "reclaimed in s",
        "left MB",
        "cpu s",
        "cpu/window",
        "expired_keys"
    );
    for o in [&redis, &shoal] {
        let keys_bytes = o.loaded.saturating_sub(o.baseline);
        println!(
            "{:<6} {:>12.1} {:>10.1} {:>9.2} {:>14} {:>12.1} {:>10.2} {:>11.0}% {:>12}",
            o.name,
            mb(keys_bytes),
            keys_bytes as f64 / options.keys as f64,
            o.load_secs,
            o.reclaim_secs
                .map_or("timeout".to_string(), |s| format!("{s:.2}")),
            mb(o.after.saturating_sub(o.baseline)),
            o.cpu_secs,
            100.0 * o.cpu_secs / o.window_secs.max(1e-9),
            o.expired_keys
        );
    }
    println!();
    println!(
        "reclaimed in: from the last key's expiry until DBSIZE is 0. left: used_memory above \
         the empty server's once reclaimed. cpu: server CPU from the end of loading until \
         reclaimed (its expiry cycle), and that over the wall time of the same window."
    );
    Ok(())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn number(info: &str, field: &str) -> anyhow::Result<f64> {
    resp::info_field(info, field)
        .with_context(|| format!("INFO has no {field}"))?
        .parse()
        .with_context(|| format!("INFO {field}"))
}

fn used_memory(server: &Server) -> anyhow::Result<u64> {
    Ok(number(&server.info("memory")?, "used_memory")? as u64)
}

fn cpu_seconds(server: &Server) -> anyhow::Result<f64> {
    let cpu = server.info("cpu")?;
    Ok(number(&cpu, "used_cpu_user")? + number(&cpu, "used_cpu_sys")?)
}

fn measure(server: &Server, name: &'static str, options: &Options) -> anyhow::Result<Outcome> {
    let mut conn = server.connect()?;
    let baseline = used_memory(server)?;
    let value = vec![b'v'; options.value_size];
    let ttl = options.ttl_ms.to_string();
    let started = Instant::now();
    const BATCH: u64 = 10_000;
    let mut written = 0;
    while written < options.keys {
        let n = BATCH.min(options.keys - written);
        let mut bytes = Vec::new();
        for i in written..written + n {
            let key = format!("key:{i:012}");
            bytes.extend(encode_command(&[
                b"SET",
                key.as_bytes(),
                &value,
                b"PX",
                ttl.as_bytes(),
            ]));
        }
        conn.send(&bytes)?;
        for _ in 0..n {
            if let resp::Reply::Error(e) = conn.read_reply()? {
                bail!("{name}: SET failed: {e}");
            }
        }
        written += n;
    }
    let load_secs = started.elapsed().as_secs_f64();
    let loaded = used_memory(server)?;
    let cpu_before = cpu_seconds(server)?;
    let window_start = Instant::now();
    // The last key was written just before `window_start`, so it expires `ttl` after it.
    let last_expiry = window_start + Duration::from_millis(options.ttl_ms);
    let deadline = window_start + options.timeout;
    let mut reclaimed_at = None;
    println!();
    println!("{name}: loaded in {load_secs:.2} s; keys and used_memory while waiting:");
    let mut next_report = window_start;
    while Instant::now() < deadline {
        let keys = conn.call_int(&["DBSIZE"])?;
        if Instant::now() >= next_report || keys == 0 {
            println!(
                "  t={:>5.1}s  keys={:>8}  used_memory={:>8.1} MB",
                window_start.elapsed().as_secs_f64(),
                keys,
                mb(used_memory(server)?)
            );
            next_report += Duration::from_millis(500);
        }
        if keys == 0 {
            reclaimed_at = Some(Instant::now());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let window_secs = window_start.elapsed().as_secs_f64();
    let cpu_secs = cpu_seconds(server)? - cpu_before;
    // Let the allocator settle before reading what is left.
    std::thread::sleep(Duration::from_millis(500));
    let after = used_memory(server)?;
    let stats = server.info("stats")?;
    Ok(Outcome {
        name,
        baseline,
        loaded,
        load_secs,
        reclaim_secs: reclaimed_at.map(|t| t.saturating_duration_since(last_expiry).as_secs_f64()),
        after,
        cpu_secs,
        window_secs,
        expired_keys: number(&stats, "expired_keys")? as u64,
    })
}
