//! `shoal-bench replication`: what replication costs, against redis-server with one replica.
//!
//! Both sides keep every key on two processes: Redis as a primary and a replica
//! (`--replicaof`), Shoal as two nodes with the default replication factor 2 (each node the
//! primary of half the slots and the replica of the other half). In one run:
//!
//! - **Throughput.** redis-benchmark SET at each pipeline depth, rounds alternating: against
//!   the Redis primary, and `--cluster` against Shoal (each key to its primary) with
//!   `cluster-write-concern local` and then `all` (every write waits for its replica's
//!   acknowledgement). Median requests/s and p99 of each; ratios to Redis.
//! - **Replication lag.** While the pipeline-1 runs load the servers, a probe writes a key on
//!   its primary every few milliseconds and polls the replica (`READONLY` on Shoal) until the
//!   value is there: p50/p99 of the time from the write's reply to the replica having it.
//! - **Filling a replica.** A node (Shoal: one of three) holding `--fill-keys` keys loses its
//!   replica copies elsewhere (Shoal: a node is killed, and the survivors send the slots that
//!   lost a copy to their new replicas; Redis: a replica is started on a loaded primary and
//!   does a full sync). Time until the copies are complete, keys per second, and GET p99 on
//!   the serving node before and during the fill.
//!
//! The servers and the load generator share the machine: read the ratios.

use crate::args::{each_flag, list, positive};
use crate::compare::median;
use crate::redis_benchmark::{self, Params};
use crate::resp::{Connection, Reply, encode_command, info_field};
use crate::servers::{self, Server};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Help text for `replication`.
pub(crate) const USAGE: &str = "\
Usage: shoal-bench replication [options]

Redis primary + replica (--replicaof) vs two Shoal nodes with replication factor 2, on
loopback. Prints SET requests/s and p99 (Shoal with cluster-write-concern local and all) and
their ratios to Redis, the replication lag (write on the primary until readable on the
replica) p50/p99 under the pipeline-1 load, and the time and GET p99 while a replica copy of
--fill-keys keys is made (Shoal: after one of three nodes is killed; Redis: a full sync).

Options:
  --rounds N               rounds of the throughput runs (default 3)
  --requests N             SETs per run at pipeline 1 (default 200000)
  --pipelined-requests N   SETs per run at pipeline > 1 (default 2000000)
  --pipelines LIST         pipeline depths (default 1,16)
  --fill-keys N            keys held when the replica copy is made (default 1000000)
  --shoal PATH             shoal binary (default: target/release/shoal, built if needed)
  --timeout SECS           kill a redis-benchmark run after this long (default 300)
  -h, --help               print this text";

/// Settings of one run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    rounds: u32,
    requests: u64,
    pipelined_requests: u64,
    pipelines: Vec<u32>,
    fill_keys: u64,
    shoal: Option<PathBuf>,
    timeout: Duration,
}

impl Options {
    /// Parses `replication`'s arguments; `Ok(None)` when help was asked for.
    pub(crate) fn parse(args: &[String]) -> anyhow::Result<Option<Options>> {
        let mut options = Options {
            rounds: 3,
            requests: 200_000,
            pipelined_requests: 2_000_000,
            pipelines: vec![1, 16],
            fill_keys: 1_000_000,
            shoal: None,
            timeout: Duration::from_secs(300),
        };
        let finished = each_flag(args, &[], |flag| {
            let value = flag.value()?;
            match flag.name {
                "--rounds" => options.rounds = flag.positive()?,
                "--requests" => options.requests = flag.positive()?,
                "--pipelined-requests" => options.pipelined_requests = flag.positive()?,
                "--pipelines" => {
                    options.pipelines = list(flag.name, value, |p| positive(flag.name, p))?
                }
                "--fill-keys" => options.fill_keys = flag.positive()?,
                "--shoal" => options.shoal = Some(PathBuf::from(value)),
                "--timeout" => options.timeout = Duration::from_secs(flag.positive()?),
                other => bail!("unknown option {other:?} for replication (see --help)"),
            }
            Ok(())
        })?;
        Ok(finished.then_some(options))
    }
}

/// The ways SET runs, in the order of each round.
const SIDES: [&str; 3] = ["redis+replica", "shoal local", "shoal all"];

/// One pipeline depth's (requests/s, p99 ms) per side, one per round.
type Runs = (u32, [Vec<(f64, f64)>; 3]);

/// How long replication may take to settle before a figure is taken.
const SETTLE: Duration = Duration::from_secs(120);

/// Runs the benchmark and prints its report.
pub(crate) fn run(options: &Options) -> anyhow::Result<()> {
    let binary = match &options.shoal {
        Some(path) => path.clone(),
        None => servers::shoal_binary()?,
    };
    throughput_and_lag(options, &binary)?;
    fill(options, &binary)
}

fn throughput_and_lag(options: &Options, binary: &std::path::Path) -> anyhow::Result<()> {
    let primary = Server::start_redis()?;
    let replica = start_redis_replica(&primary)?;
    let shoal = start_shoal_nodes(binary, 2)?;
    println!(
        "redis primary {} + replica {} vs shoal nodes {} and {} ({})",
        primary.port,
        replica.port,
        shoal[0].port,
        shoal[1].port,
        binary.display()
    );
    let probes = [
        Probe::redis(primary.port, replica.port),
        Probe::shoal(shoal[0].port, shoal[1].port)?,
    ];
    let mut figures: Vec<Runs> = options
        .pipelines
        .iter()
        .map(|&p| (p, Default::default()))
        .collect();
    let mut lags: [Vec<f64>; 3] = Default::default();
    for round in 1..=options.rounds {
        for (pipeline, per_side) in figures.iter_mut() {
            for (side, name) in SIDES.iter().enumerate() {
                let port = if side == 0 {
                    primary.port
                } else {
                    shoal[0].port
                };
                if side > 0 {
                    let concern = if side == 1 { "local" } else { "all" };
                    for node in &shoal {
                        let reply = node.connect()?.call(&[
                            b"CONFIG",
                            b"SET",
                            b"cluster-write-concern",
                            concern.as_bytes(),
                        ])?;
                        if reply != Reply::Simple("OK".into()) {
                            bail!("CONFIG SET cluster-write-concern {concern}: {reply:?}");
                        }
                    }
                }
                let probe = (*pipeline == 1).then(|| probes[side.min(1)].start());
                let outcome = redis_benchmark::run(&Params {
                    port,
                    test: "set".into(),
                    pipeline: *pipeline,
                    clients: 50,
                    requests: if *pipeline > 1 {
                        options.pipelined_requests
                    } else {
                        options.requests
                    },
                    keyspace: 100_000,
                    data_size: 3,
                    timeout: options.timeout,
                    cluster: side > 0,
                })
                .with_context(|| format!("{name} SET -P {pipeline}"))?;
                if let Some(probe) = probe {
                    lags[side].extend(probe.stop()?);
                }
                if let Some(error) = outcome.errors.first() {
                    bail!("{name} SET -P {pipeline}: {error}");
                }
                let row = outcome.rows.first().context("a CSV row")?;
                per_side[side].push((row.rps, row.p99_ms));
            }
            eprintln!("round {round}: SET -P {pipeline} done");
        }
    }
    println!(
        "\n{:<4} {:>3} {:>15} {:>9} {:>13} {:>9} {:>7} {:>13} {:>9} {:>7}",
        "test",
        "-P",
        "redis+replica",
        "p99 ms",
        "shoal local",
        "p99 ms",
        "ratio",
        "shoal all",
        "p99 ms",
        "ratio"
    );
    for (pipeline, per_side) in figures {
        let [redis, local, all] = per_side.map(|runs| {
            let rps = median(runs.iter().map(|r| r.0).collect());
            let p99 = median(runs.iter().map(|r| r.1).collect());
            (rps, p99)
        });
        println!(
            "{:<4} {:>3} {:>15.0} {:>9.3} {:>13.0} {:>9.3} {:>7.2} {:>13.0} {:>9.3} {:>7.2}",
            "SET",
            pipeline,
            redis.0,
            redis.1,
            local.0,
            local.1,
            local.0 / redis.0,
            all.0,
            all.1,
            all.0 / redis.0
        );
    }
    println!(
        "\nreplication lag under SET -P 1 load (reply on the primary until readable on the replica):"
    );
    for (side, samples) in lags.iter_mut().enumerate() {
        samples.sort_by(f64::total_cmp);
        println!(
            "  {:<14} {:>5} probes  p50 {:>8.3} ms  p99 {:>8.3} ms",
            SIDES[side],
            samples.len(),
            percentile(samples, 0.50),
            percentile(samples, 0.99)
        );
    }
    Ok(())
}

/// The `q` quantile of sorted `samples` (0 when empty).
/// The `q` quantile of `samples`, which must be sorted.
pub(crate) fn percentile(samples: &[f64], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let index = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[index.min(samples.len() - 1)]
}

/// Measures replication lag: writes on a primary, polls a replica.
#[derive(Clone)]
struct Probe {
    primary: u16,
    replica: u16,
    /// A key whose primary is `primary` and that `replica` holds a copy of.
    key: String,
    /// Commands the replica connection needs first (`READONLY` on Shoal).
    readonly: bool,
}

/// A running probe.
struct RunningProbe {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<anyhow::Result<Vec<f64>>>,
}

impl Probe {
    fn redis(primary: u16, replica: u16) -> Probe {
        Probe {
            primary,
            replica,
            key: "lag:probe".into(),
            readonly: false,
        }
    }

    /// A probe on a key node `a` is the primary of (node `b` is then its replica: two nodes,
    /// R = 2).
    fn shoal(a: u16, b: u16) -> anyhow::Result<Probe> {
        let mut conn = Connection::connect(a)?;
        for i in 0..10_000 {
            let key = format!("lag:probe:{i}");
            let slot = conn.call_int(&["CLUSTER", "KEYSLOT", &key])?;
            let owned = conn.call(&[b"CLUSTER", b"SLOTS"])?;
            if primary_port_of(&owned, slot) == Some(a) {
                return Ok(Probe {
                    primary: a,
                    replica: b,
                    key,
                    readonly: true,
                });
            }
        }
        bail!("no probe key on node {a}")
    }

    fn start(&self) -> RunningProbe {
        let stop = Arc::new(AtomicBool::new(false));
        let probe = self.clone();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || probe.run(&flag));
        RunningProbe { stop, thread }
    }

    fn run(&self, stop: &AtomicBool) -> anyhow::Result<Vec<f64>> {
        let mut writer = Connection::connect(self.primary)?;
        let mut reader = Connection::connect(self.replica)?;
        if self.readonly {
            reader.call(&[b"READONLY"])?;
        }
        let mut lags = Vec::new();
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let value = n.to_string();
            writer.call(&[b"SET", self.key.as_bytes(), value.as_bytes()])?;
            let written = Instant::now();
            loop {
                let reply = reader.call(&[b"GET", self.key.as_bytes()])?;
                if reply == Reply::Bulk(Some(value.clone().into_bytes())) {
                    break;
                }
                if written.elapsed() > Duration::from_secs(10) {
                    bail!("the replica did not get {} within 10 s", self.key);
                }
            }
            lags.push(written.elapsed().as_secs_f64() * 1000.0);
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(lags)
    }
}

impl RunningProbe {
    fn stop(self) -> anyhow::Result<Vec<f64>> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the lag probe panicked"))?
    }
}

/// The primary's port of `slot` in a `CLUSTER SLOTS` reply.
fn primary_port_of(slots: &Reply, slot: i64) -> Option<u16> {
    let Reply::Array(Some(rows)) = slots else {
        return None;
    };
    rows.iter().find_map(|row| {
        let Reply::Array(Some(fields)) = row else {
            return None;
        };
        let (Some(Reply::Int(start)), Some(Reply::Int(end)), Some(Reply::Array(Some(primary)))) =
            (fields.first(), fields.get(1), fields.get(2))
        else {
            return None;
        };
        if !(*start..=*end).contains(&slot) {
            return None;
        }
        match primary.get(1) {
            Some(Reply::Int(port)) => u16::try_from(*port).ok(),
            _ => None,
        }
    })
}

/// A redis-server replicating `primary`, once its link is up.
fn start_redis_replica(primary: &Server) -> anyhow::Result<Server> {
    let port = primary.port.to_string();
    let replica =
        Server::start_redis_with(|_| vec!["--replicaof".into(), "127.0.0.1".into(), port.clone()])?;
    wait_until(SETTLE, "the Redis replica's link", || {
        Ok(replica
            .info("replication")?
            .contains("master_link_status:up"))
    })?;
    Ok(replica)
}

/// `n` Shoal nodes, the others joining the first, once each sees them all.
fn start_shoal_nodes(binary: &std::path::Path, n: usize) -> anyhow::Result<Vec<Server>> {
    let first = Server::start_shoal(binary, &["--cluster-node-timeout", "2000"])?;
    let seed = format!("127.0.0.1:{}", first.cluster_port);
    let mut nodes = vec![first];
    for _ in 1..n {
        nodes.push(Server::start_shoal(
            binary,
            &["--cluster-node-timeout", "2000", "--join", &seed],
        )?);
    }
    wait_until(SETTLE, "the Shoal nodes to agree", || {
        servers::settled(&nodes, n)
    })?;
    Ok(nodes)
}

fn wait_until(
    limit: Duration,
    what: &str,
    mut done: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        if done()? {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Writes `n` keys (`fill:N`, 32-byte values) through `port` with pipelined SETs.
pub(crate) fn load(port: u16, n: u64) -> anyhow::Result<()> {
    let mut conn = Connection::connect(port)?;
    let value = [b'v'; 32];
    let mut start = 0;
    while start < n {
        let end = (start + 1000).min(n);
        let mut batch = Vec::new();
        for i in start..end {
            batch.extend(encode_command(&[
                b"SET",
                format!("fill:{i}").as_bytes(),
                &value,
            ]));
        }
        conn.send(&batch)?;
        for _ in start..end {
            match conn.read_reply()? {
                Reply::Simple(_) => {}
                other => bail!("SET while filling: {other:?}"),
            }
        }
        start = end;
    }
    Ok(())
}

/// GET p99 (ms) of a short redis-benchmark run against `port`.
fn get_p99(port: u16, options: &Options, cluster: bool) -> anyhow::Result<f64> {
    let outcome = redis_benchmark::run(&Params {
        port,
        test: "get".into(),
        pipeline: 1,
        clients: 50,
        requests: 50_000,
        keyspace: 100_000,
        data_size: 3,
        timeout: options.timeout,
        cluster,
    })?;
    if let Some(error) = outcome.errors.first() {
        bail!("GET: {error}");
    }
    Ok(outcome.rows.first().context("a CSV row")?.p99_ms)
}

/// Runs GET benchmarks against `port` until `done` says the fill ended; returns the worst
/// p99 seen and the time the fill took.
fn during(
    port: u16,
    options: &Options,
    cluster: bool,
    mut done: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<(f64, Duration)> {
    let started = Instant::now();
    let finished = Arc::new(AtomicBool::new(false));
    let flag = finished.clone();
    let opts = options.clone();
    let load = std::thread::spawn(move || -> anyhow::Result<f64> {
        let mut worst: f64 = 0.0;
        while !flag.load(Ordering::Relaxed) {
            worst = worst.max(get_p99(port, &opts, cluster)?);
        }
        Ok(worst)
    });
    let took = loop {
        if done()? {
            break started.elapsed();
        }
        if started.elapsed() > SETTLE * 5 {
            bail!("the replica copy did not complete");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    finished.store(true, Ordering::Relaxed);
    let worst = load
        .join()
        .map_err(|_| anyhow::anyhow!("the GET load panicked"))??;
    Ok((worst, took))
}

fn fill(options: &Options, binary: &std::path::Path) -> anyhow::Result<()> {
    let keys = options.fill_keys;
    // Redis: a loaded primary, then a replica's full sync (started at once, not after
    // the default 5 s wait for more replicas).
    let primary =
        Server::start_redis_with(|_| vec!["--repl-diskless-sync-delay".into(), "0".into()])?;
    load(primary.port, keys)?;
    let redis_before = get_p99(primary.port, options, false)?;
    let port = primary.port.to_string();
    let replica =
        Server::start_redis_with(|_| vec!["--replicaof".into(), "127.0.0.1".into(), port.clone()])?;
    let (redis_during, redis_took) = during(primary.port, options, false, || {
        let info = replica.info("replication")?;
        let keyspace = replica.info("keyspace")?;
        Ok(info.contains("master_link_status:up")
            && info_field(&keyspace, "db0")
                .is_some_and(|db| db.starts_with(&format!("keys={keys},"))))
    })?;
    drop(replica);
    drop(primary);
    // Shoal: three loaded nodes, one killed; the survivors restore R = 2.
    let mut shoal = start_shoal_nodes(binary, 3)?;
    load(shoal[0].port, keys)?;
    wait_until(SETTLE, "the Shoal replicas", || {
        under_replicated_zero(&shoal)
    })?;
    let shoal_before = get_p99(shoal[0].port, options, true)?;
    let copied_before: u64 =
        servers::info_sum(&shoal[..2], "replication", "shoal_repl_snapshot_keys")?;
    let failovers = |nodes: &[Server]| -> anyhow::Result<u64> {
        let mut total = 0;
        for node in nodes {
            total += node.info_u64("replication", "shoal_repl_failovers")?;
        }
        Ok(total)
    };
    let failovers_before = failovers(&shoal[..2])?;
    drop(shoal.pop());
    let survivors = shoal;
    // The survivors first notice the loss (after the node timeout) and take over its slots.
    wait_until(SETTLE, "the survivors to take over", || {
        Ok(failovers(&survivors)? > failovers_before)
    })?;
    let (shoal_during, shoal_took) = during(survivors[0].port, options, true, || {
        under_replicated_zero(&survivors)
    })?;
    let copied =
        servers::info_sum(&survivors, "replication", "shoal_repl_snapshot_keys")? - copied_before;
    println!("\nreplica copy of a node holding {keys} keys (GET -P 1 p99 on the serving node):");
    println!(
        "  {:<14} {:>9} keys in {:>7.2} s ({:>9.0} keys/s)  GET p99 before {:>7.3} ms, during {:>7.3} ms",
        "redis+replica",
        keys,
        redis_took.as_secs_f64(),
        keys as f64 / redis_took.as_secs_f64(),
        redis_before,
        redis_during
    );
    println!(
        "  {:<14} {:>9} keys in {:>7.2} s ({:>9.0} keys/s)  GET p99 before {:>7.3} ms, during {:>7.3} ms",
        "shoal",
        copied,
        shoal_took.as_secs_f64(),
        copied as f64 / shoal_took.as_secs_f64(),
        shoal_before,
        shoal_during
    );
    println!(
        "  (Redis: a full sync of the whole dataset to a new replica; Shoal: after one of three\n   \
         nodes is killed, the slots that lost a copy are sent to their new replicas, timed\n   \
         from the survivors taking over its slots; the GET load starts then too)"
    );
    Ok(())
}

/// Whether every node reports no under-replicated slot.
fn under_replicated_zero(nodes: &[Server]) -> anyhow::Result<bool> {
    for node in nodes {
        if node.info_u64("replication", "shoal_under_replicated_slots")? != 0 {
            return Ok(false);
        }
    }
    Ok(true)
}
