//! `shoal-bench join`: a fourth node joins a loaded three-node cluster under load.
//!
//! Three Shoal nodes hold `--keys` keys (replication factor 2). Client threads run GETs and
//! SETs of those keys through the first node (a plain client: the node forwards what it does
//! not own) before, during and after a fourth node joins. Printed: the time from the new
//! node's start until it serves its slots (warming: it receives them first) and until the
//! former owners have dropped what they gave up, the keys moved per second, GET/SET p50/p99
//! and the GET hit rate before, during and after the change.
//!
//! With `--baseline PATH` the same run is made first with another `shoal` binary (one built
//! before slot hand-off, say), so the hit rate during a join is compared in one run with
//! what that binary does (there, the slots the new node takes are empty on it: misses until
//! rewritten). Without it, the share of keys whose slot moved to the new node is printed:
//! the GETs that would miss without hand-off.

use crate::args::each_flag;
use crate::replication::percentile;
use crate::resp::{Connection, Reply};
use crate::servers::{self, Server};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Help text for `join`.
pub(crate) const USAGE: &str = "\
Usage: shoal-bench join [options]

A fourth node joins a three-node Shoal cluster holding --keys keys while clients run GETs
(80%) and SETs (20%) of those keys through the first node. Prints the time until the new
node serves and until the former owners dropped what moved, keys moved per second, GET and
SET p50/p99 and the GET hit rate before, during and after the join.

Options:
  --keys N          keys held before the join (default 1000000)
  --clients N       client threads (default 4)
  --phase-secs N    seconds measured before and after the join (default 5)
  --baseline PATH   also run with this shoal binary first (e.g. one without hand-off)
  --shoal PATH      shoal binary (default: target/release/shoal, built if needed)
  -h, --help        print this text";

/// Settings of one run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    keys: u64,
    clients: usize,
    phase: Duration,
    baseline: Option<PathBuf>,
    shoal: Option<PathBuf>,
}

impl Options {
    /// Parses `join`'s arguments; `Ok(None)` when help was asked for.
    pub(crate) fn parse(args: &[String]) -> anyhow::Result<Option<Options>> {
        let mut options = Options {
            keys: 1_000_000,
            clients: 4,
            phase: Duration::from_secs(5),
            baseline: None,
            shoal: None,
        };
        let finished = each_flag(args, &[], |flag| {
            let value = flag.value()?;
            match flag.name {
                "--keys" => options.keys = flag.positive()?,
                "--clients" => options.clients = flag.positive()?,
                "--phase-secs" => options.phase = Duration::from_secs(flag.positive()?),
                "--baseline" => options.baseline = Some(PathBuf::from(value)),
                "--shoal" => options.shoal = Some(PathBuf::from(value)),
                other => bail!("unknown option {other:?} for join (see --help)"),
            }
            Ok(())
        })?;
        Ok(finished.then_some(options))
    }
}

/// How long the cluster may take to settle.
const SETTLE: Duration = Duration::from_secs(300);

/// The stages of a run, as the clients record them.
const BEFORE: usize = 0;
const DURING: usize = 1;
const AFTER: usize = 2;
const STAGES: [&str; 3] = ["before", "during", "after"];

/// What the clients measured in one stage.
#[derive(Default, Clone)]
struct Stage {
    get_ms: Vec<f64>,
    set_ms: Vec<f64>,
    hits: u64,
    misses: u64,
    errors: u64,
}

/// The figures of one run.
struct Outcome {
    binary: PathBuf,
    stages: Vec<Stage>,
    serving_after: Duration,
    dropped_after: Option<Duration>,
    moved_keys: u64,
    moved_share: f64,
}

/// Runs the benchmark and prints its report.
pub(crate) fn run(options: &Options) -> anyhow::Result<()> {
    let binary = match &options.shoal {
        Some(path) => path.clone(),
        None => servers::shoal_binary()?,
    };
    let mut outcomes = Vec::new();
    if let Some(baseline) = &options.baseline {
        outcomes.push(one_run(options, baseline)?);
    }
    outcomes.push(one_run(options, &binary)?);
    println!(
        "\na 4th node joins 3 nodes holding {} keys; {} clients through node 1 (GET 80%, SET 20%)",
        options.keys, options.clients
    );
    for outcome in &outcomes {
        report(outcome);
    }
    Ok(())
}

fn report(outcome: &Outcome) {
    println!("\n{}", outcome.binary.display());
    println!(
        "  new node serving after {:.2} s; former owners dropped what moved after {}",
        outcome.serving_after.as_secs_f64(),
        outcome
            .dropped_after
            .map_or("(nothing dropped)".to_string(), |d| format!(
                "{:.2} s",
                d.as_secs_f64()
            )),
    );
    println!(
        "  keys sent in snapshots {} ({:.0} keys/s until serving); {:.1}% of the keys have their primary on the new node",
        outcome.moved_keys,
        outcome.moved_keys as f64 / outcome.serving_after.as_secs_f64().max(0.001),
        outcome.moved_share * 100.0
    );
    println!(
        "  {:<7} {:>9} {:>10} {:>10} {:>10} {:>10} {:>9} {:>7}",
        "stage", "requests", "GET p50", "GET p99", "SET p50", "SET p99", "hit rate", "errors"
    );
    let sorted = |samples: &[f64]| {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted
    };
    for (name, stage) in STAGES.iter().zip(&outcome.stages) {
        let (get_ms, set_ms) = (sorted(&stage.get_ms), sorted(&stage.set_ms));
        let gets = stage.hits + stage.misses;
        println!(
            "  {:<7} {:>9} {:>7.3} ms {:>7.3} ms {:>7.3} ms {:>7.3} ms {:>8.2}% {:>7}",
            name,
            stage.get_ms.len() + stage.set_ms.len(),
            percentile(&get_ms, 0.50),
            percentile(&get_ms, 0.99),
            percentile(&set_ms, 0.50),
            percentile(&set_ms, 0.99),
            if gets == 0 {
                0.0
            } else {
                stage.hits as f64 * 100.0 / gets as f64
            },
            stage.errors
        );
    }
}

fn one_run(options: &Options, binary: &Path) -> anyhow::Result<Outcome> {
    println!(
        "{}: starting 3 nodes and loading {} keys",
        binary.display(),
        options.keys
    );
    let args = ["--cluster-node-timeout", "2000"];
    let first = Server::start_shoal(binary, &args)?;
    let seed = format!("127.0.0.1:{}", first.cluster_port);
    let mut join_args = args.to_vec();
    join_args.extend(["--join", seed.as_str()]);
    let mut nodes = vec![first];
    for _ in 1..3 {
        nodes.push(Server::start_shoal(binary, &join_args)?);
    }
    wait_until("the 3 nodes to agree", || servers::settled(&nodes, 3))?;
    crate::replication::load(nodes[0].port, options.keys)?;
    let stage = Arc::new(AtomicUsize::new(BEFORE));
    let stop = Arc::new(AtomicBool::new(false));
    let stages = Arc::new(Mutex::new(vec![Stage::default(); 3]));
    let clients: Vec<_> = (0..options.clients)
        .map(|id| {
            let (stage, stop, stages) = (stage.clone(), stop.clone(), stages.clone());
            let (port, keys) = (nodes[0].port, options.keys);
            std::thread::spawn(move || client(id, port, keys, &stage, &stop, &stages))
        })
        .collect();
    std::thread::sleep(options.phase);
    let snapshot_keys_before =
        servers::info_sum(&nodes, "replication", "shoal_repl_snapshot_keys")?;
    stage.store(DURING, Ordering::SeqCst);
    let started = Instant::now();
    nodes.push(Server::start_shoal(binary, &join_args)?);
    wait_until("the new node to serve", || servers::settled(&nodes, 4))?;
    let serving_after = started.elapsed();
    stage.store(AFTER, Ordering::SeqCst);
    let dropped_after = wait_for_drops(&nodes[..3], started)?;
    let moved_keys = servers::info_sum(&nodes, "replication", "shoal_repl_snapshot_keys")?
        - snapshot_keys_before;
    std::thread::sleep(options.phase);
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client
            .join()
            .map_err(|_| anyhow::anyhow!("a client panicked"))??;
    }
    let moved_share = primary_share(&nodes[0], nodes[3].port)?;
    let stages = stages
        .lock()
        .map_err(|_| anyhow::anyhow!("stages"))?
        .clone();
    Ok(Outcome {
        binary: binary.to_path_buf(),
        stages,
        serving_after,
        dropped_after,
        moved_keys,
        moved_share,
    })
}

/// Waits until the former owners have dropped keys (a binary without hand-off never does:
/// then `None` after a few seconds).
fn wait_for_drops(nodes: &[Server], started: Instant) -> anyhow::Result<Option<Duration>> {
    let limit = Instant::now() + Duration::from_secs(10);
    while Instant::now() < limit {
        if servers::info_sum(nodes, "replication", "shoal_handoff_dropped_keys")? > 0 {
            return Ok(Some(started.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(None)
}

/// The share of slots whose primary is on `port`, from `node`'s `CLUSTER SLOTS`.
fn primary_share(node: &Server, port: u16) -> anyhow::Result<f64> {
    let Reply::Array(Some(rows)) = node.connect()?.call(&[b"CLUSTER", b"SLOTS"])? else {
        bail!("CLUSTER SLOTS: not an array");
    };
    let mut owned = 0i64;
    for row in rows {
        let Reply::Array(Some(fields)) = row else {
            bail!("CLUSTER SLOTS row");
        };
        let (Some(Reply::Int(start)), Some(Reply::Int(end)), Some(Reply::Array(Some(primary)))) =
            (fields.first(), fields.get(1), fields.get(2))
        else {
            bail!("CLUSTER SLOTS row fields");
        };
        if matches!(primary.get(1), Some(Reply::Int(p)) if *p == i64::from(port)) {
            owned += end - start + 1;
        }
    }
    Ok(owned as f64 / 16384.0)
}

fn wait_until(what: &str, mut done: impl FnMut() -> anyhow::Result<bool>) -> anyhow::Result<()> {
    let started = Instant::now();
    while !done()? {
        if started.elapsed() > SETTLE {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// One client: GETs and SETs of random keys through `port`, recorded in the current stage.
fn client(
    id: usize,
    port: u16,
    keys: u64,
    stage: &AtomicUsize,
    stop: &AtomicBool,
    stages: &Mutex<Vec<Stage>>,
) -> anyhow::Result<()> {
    let mut conn = Connection::connect(port).context("a client connection")?;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (id as u64 + 1);
    let mut local: Vec<Stage> = vec![Stage::default(); 3];
    let mut flushed = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let key = seed % keys;
        let name = format!("fill:{key}");
        let now = stage.load(Ordering::Relaxed);
        let started = Instant::now();
        let is_get = !seed.is_multiple_of(5);
        let reply = if is_get {
            conn.call(&[b"GET", name.as_bytes()])?
        } else {
            conn.call(&[b"SET", name.as_bytes(), &[b'v'; 32]])?
        };
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let stage = &mut local[now];
        match reply {
            Reply::Error(_) => stage.errors += 1,
            Reply::Bulk(Some(_)) => {
                stage.hits += 1;
                stage.get_ms.push(ms);
            }
            Reply::Bulk(None) => {
                stage.misses += 1;
                stage.get_ms.push(ms);
            }
            _ => stage.set_ms.push(ms),
        }
        if flushed.elapsed() > Duration::from_millis(200) {
            flush(&mut local, stages)?;
            flushed = Instant::now();
        }
    }
    flush(&mut local, stages)
}

fn flush(local: &mut [Stage], stages: &Mutex<Vec<Stage>>) -> anyhow::Result<()> {
    let mut shared = stages.lock().map_err(|_| anyhow::anyhow!("stages"))?;
    for (into, from) in shared.iter_mut().zip(local.iter_mut()) {
        into.get_ms.append(&mut from.get_ms);
        into.set_ms.append(&mut from.set_ms);
        into.hits += std::mem::take(&mut from.hits);
        into.misses += std::mem::take(&mut from.misses);
        into.errors += std::mem::take(&mut from.errors);
    }
    Ok(())
}
