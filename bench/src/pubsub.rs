//! `shoal-bench pubsub`: PUBLISH throughput and fan-out latency, Shoal vs Redis, one node and
//! three.
//!
//! One publisher sends `--messages` PUBLISHes (pipelined `--batch` at a time) to a channel
//! that `--subscribers` clients subscribe to; each message carries the time it was sent, and
//! each subscriber records how long every message took to reach it. Reported per setup: the
//! publish rate until the last subscriber had the last message (messages/s; deliveries are
//! that times the subscribers), and the fan-out latency p50/p99 over every delivery.
//!
//! Setups, measured in turn in each round so noise falls on all alike:
//! - `redis`: one redis-server; `shoal`: one Shoal node;
//! - `redis cluster`: a 3-node Redis Cluster, subscribers spread over its nodes, the
//!   publisher on the first (Redis Cluster forwards every PUBLISH over its bus);
//! - `shoal cluster`: a 3-node Shoal cluster, the same way (Shoal sends it on its peer
//!   streams).

use crate::args::{each_flag, positive};
use crate::cluster::{start_redis_cluster, start_shoal_cluster};
use crate::resp::{Connection, Reply, encode_command};
use crate::servers::{self, Server};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Help text for `pubsub`.
pub(crate) const USAGE: &str = "\
Usage: shoal-bench pubsub [options]

Starts redis-server, a Shoal node, a 3-node Redis Cluster and a 3-node Shoal cluster, then
for each: subscribers on one channel (spread over the nodes of a cluster) and one publisher
(on the first node) sending timestamped messages. Prints the publish rate until every
subscriber had every message, and the fan-out latency p50/p99, with Shoal/Redis ratios.

Options:
  --rounds N        rounds over the four setups (default 3)
  --messages N      messages per run (default 20000)
  --subscribers N   subscribers (default 100)
  --payload N       message size in bytes, at least 24 (default 64)
  --batch N         PUBLISHes pipelined per write (default 50)
  --shoal PATH      shoal binary (default: target/release/shoal, built if needed)
  -h, --help        print this text";

/// Settings of one run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    rounds: u32,
    messages: usize,
    subscribers: usize,
    payload: usize,
    batch: usize,
    shoal: Option<PathBuf>,
}

impl Options {
    /// Parses `pubsub`'s arguments; `Ok(None)` when help was asked for.
    pub(crate) fn parse(args: &[String]) -> anyhow::Result<Option<Options>> {
        let mut options = Options {
            rounds: 3,
            messages: 20_000,
            subscribers: 100,
            payload: 64,
            batch: 50,
            shoal: None,
        };
        let finished = each_flag(args, &[], |flag| {
            let value = flag.value()?;
            match flag.name {
                "--rounds" => options.rounds = flag.positive()?,
                "--messages" => options.messages = flag.positive()?,
                "--subscribers" => options.subscribers = flag.positive()?,
                "--payload" => options.payload = positive::<usize>(flag.name, value)?.max(24),
                "--batch" => options.batch = flag.positive()?,
                "--shoal" => options.shoal = Some(PathBuf::from(value)),
                other => bail!("unknown option {other:?} for pubsub (see --help)"),
            }
            Ok(())
        })?;
        Ok(finished.then_some(options))
    }
}

/// What one run measured.
#[derive(Debug, Clone, Copy)]
struct Figures {
    /// Messages per second, from the first PUBLISH to the last delivery.
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
}

const SETUPS: [&str; 4] = ["redis", "shoal", "redis cluster", "shoal cluster"];

/// Runs the benchmark and prints its report.
pub(crate) fn run(options: &Options) -> anyhow::Result<()> {
    let binary = match &options.shoal {
        Some(path) => path.clone(),
        None => servers::shoal_binary()?,
    };
    let redis = Server::start_redis()?;
    let shoal = Server::start_shoal(&binary, &[])?;
    let config_dir =
        std::env::temp_dir().join(format!("shoal-bench-pubsub-{}", std::process::id()));
    std::fs::create_dir_all(&config_dir).context("creating a directory for nodes.conf")?;
    let redis_cluster = start_redis_cluster(&config_dir);
    let _ = std::fs::remove_dir_all(&config_dir);
    let redis_cluster = redis_cluster?;
    let shoal_cluster = start_shoal_cluster(&binary)?;
    let port_sets: [Vec<u16>; 4] = [
        vec![redis.port],
        vec![shoal.port],
        redis_cluster.iter().map(|s| s.port).collect(),
        shoal_cluster.iter().map(|s| s.port).collect(),
    ];
    println!(
        "pubsub: {} messages of {} B to {} subscribers, published {} per write; shoal {}",
        options.messages,
        options.payload,
        options.subscribers,
        options.batch,
        binary.display()
    );
    let mut results: [Vec<Figures>; 4] = Default::default();
    for round in 1..=options.rounds {
        for (setup, ports) in port_sets.iter().enumerate() {
            let figures = measure(ports, options)
                .with_context(|| format!("round {round}, {}", SETUPS[setup]))?;
            eprintln!(
                "round {round}/{} {:<14} {:>10.0} msg/s  p50 {:.3} ms  p99 {:.3} ms",
                options.rounds, SETUPS[setup], figures.rate, figures.p50_ms, figures.p99_ms
            );
            results[setup].push(figures);
        }
    }
    let medians: Vec<Figures> = results.iter().map(|r| median_figures(r)).collect();
    println!(
        "\n{:<14} {:>12} {:>10} {:>10}",
        "setup", "msg/s", "p50 ms", "p99 ms"
    );
    for (setup, figures) in SETUPS.iter().zip(&medians) {
        println!(
            "{:<14} {:>12.0} {:>10.3} {:>10.3}",
            setup, figures.rate, figures.p50_ms, figures.p99_ms
        );
    }
    for (label, redis, shoal) in [
        ("one node", medians[0], medians[1]),
        ("three nodes", medians[2], medians[3]),
    ] {
        println!(
            "shoal/redis, {label}: rate {:.2}, p50 {:.2}, p99 {:.2}",
            shoal.rate / redis.rate,
            shoal.p50_ms / redis.p50_ms,
            shoal.p99_ms / redis.p99_ms
        );
    }
    drop((redis, shoal, redis_cluster, shoal_cluster));
    Ok(())
}

/// One run: subscribers spread over `ports`, the publisher on the first.
fn measure(ports: &[u16], options: &Options) -> anyhow::Result<Figures> {
    let origin = Instant::now();
    let channel = format!("bench:{}", origin.elapsed().as_nanos());
    let ready = Arc::new(Barrier::new(options.subscribers + 1));
    let mut subscribers = Vec::with_capacity(options.subscribers);
    for i in 0..options.subscribers {
        let port = ports[i % ports.len()];
        let (channel, ready, count) = (channel.clone(), ready.clone(), options.messages);
        subscribers.push(std::thread::spawn(move || {
            subscribe_and_time(port, &channel, count, origin, &ready)
        }));
    }
    ready.wait();
    publish(ports[0], &channel, options, origin)?;
    let mut latencies = Vec::with_capacity(options.messages * options.subscribers);
    let mut last = Duration::ZERO;
    for subscriber in subscribers {
        let (samples, finished) = subscriber
            .join()
            .map_err(|_| anyhow::anyhow!("a subscriber thread panicked"))??;
        latencies.extend(samples);
        last = last.max(finished);
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(index).copied().unwrap_or(0) as f64 / 1e6
    };
    Ok(Figures {
        rate: options.messages as f64 / last.as_secs_f64().max(1e-9),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    })
}

/// Sends the messages, `batch` PUBLISHes per write, each carrying its send time (ns since
/// `origin`, zero-padded to the payload size).
fn publish(port: u16, channel: &str, options: &Options, origin: Instant) -> anyhow::Result<()> {
    let mut publisher = Connection::connect(port).context("connecting the publisher")?;
    let mut sent = 0;
    while sent < options.messages {
        let n = options.batch.min(options.messages - sent);
        let mut out = Vec::new();
        for _ in 0..n {
            let stamp = format!(
                "{:0width$}",
                origin.elapsed().as_nanos(),
                width = options.payload
            );
            out.extend(encode_command(&[
                b"PUBLISH",
                channel.as_bytes(),
                stamp.as_bytes(),
            ]));
        }
        publisher.send(&out)?;
        for _ in 0..n {
            match publisher.read_reply()? {
                Reply::Int(_) => {}
                other => bail!("PUBLISH answered {other:?}"),
            }
        }
        sent += n;
    }
    Ok(())
}

/// Subscribes, waits at `ready`, then reads `count` messages; returns each one's latency
/// (ns) and when the last arrived (since `origin`).
fn subscribe_and_time(
    port: u16,
    channel: &str,
    count: usize,
    origin: Instant,
    ready: &Barrier,
) -> anyhow::Result<(Vec<u64>, Duration)> {
    let mut subscriber = Connection::connect(port).context("connecting a subscriber")?;
    subscriber.call(&[b"SUBSCRIBE", channel.as_bytes()])?;
    ready.wait();
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let Reply::Array(Some(parts)) = subscriber.read_reply()? else {
            bail!("a subscriber got something else than a message");
        };
        let sent: u128 = match parts.get(2) {
            Some(Reply::Bulk(Some(payload))) => std::str::from_utf8(payload)
                .ok()
                .and_then(|p| p.parse().ok())
                .context("a message without its timestamp")?,
            _ => bail!("a message without a payload"),
        };
        let now = origin.elapsed().as_nanos();
        samples.push(now.saturating_sub(sent) as u64);
    }
    Ok((samples, origin.elapsed()))
}

fn median_figures(runs: &[Figures]) -> Figures {
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(0.0)
    };
    Figures {
        rate: median(runs.iter().map(|f| f.rate).collect()),
        p50_ms: median(runs.iter().map(|f| f.p50_ms).collect()),
        p99_ms: median(runs.iter().map(|f| f.p99_ms).collect()),
    }
}
