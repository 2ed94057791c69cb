//! `shoal-bench cluster`: a 3-node Shoal cluster against a 3-node Redis Cluster, and the cost
//! of one forwarding hop.
//!
//! Both clusters run on loopback for the whole comparison. Redis Cluster is three
//! `redis-server --cluster-enabled yes` with the slots assigned by `redis-cli --cluster
//! create` (no replicas); Shoal is three nodes joined through the first. For each round,
//! test and pipeline depth, redis-benchmark runs three times in a row:
//!
//! - `redis cluster`: `--cluster` against Redis Cluster (each key sent to its primary);
//! - `shoal cluster`: `--cluster` against Shoal, the same way;
//! - `shoal plain`: without `--cluster` against one Shoal node, which forwards the requests
//!   for keys it is not the primary of (about 2/3 of them) and relays the replies.
//!
//! The first two compare the clusters; the last two give the cost of forwarding. Each figure
//! is the median over the rounds.

use crate::args::{each_flag, list, positive};
use crate::compare::median;
use crate::redis_benchmark::{self, Params};
use crate::resp::Connection;
use crate::servers::{self, Server};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Help text for `cluster`.
pub(crate) const USAGE: &str = "\
Usage: shoal-bench cluster [options]

Starts a 3-node Redis Cluster (redis-server --cluster-enabled yes, slots assigned with
redis-cli --cluster create) and a 3-node Shoal cluster on loopback, then runs
redis-benchmark in turn: --cluster against Redis Cluster, --cluster against Shoal, and
plain against one Shoal node (which forwards what it does not own). Prints the median
requests/s of each, Shoal/Redis Cluster and plain/cluster ratios.

All six servers and redis-benchmark share the machine's cores: the figures are ratios
within one run, not capacity.

Options:
  --rounds N               rounds (default 3)
  --requests N             requests per run at pipeline 1 (-n, default 200000)
  --pipelined-requests N   requests per run at pipeline > 1 (default 2000000)
  --pipelines LIST         comma-separated pipeline depths (-P, default 1,16)
  --shoal PATH             shoal binary (default: target/release/shoal, built if needed)
  --timeout SECS           kill a redis-benchmark run after this long (default 300)
  -h, --help               print this text";

/// Settings of one comparison.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    rounds: u32,
    requests: u64,
    pipelined_requests: u64,
    pipelines: Vec<u32>,
    shoal: Option<PathBuf>,
    timeout: Duration,
}

impl Options {
    /// Parses `cluster`'s arguments; `Ok(None)` when help was asked for.
    pub(crate) fn parse(args: &[String]) -> anyhow::Result<Option<Options>> {
        let mut options = Options {
            rounds: 3,
            requests: 200_000,
            pipelined_requests: 2_000_000,
            pipelines: vec![1, 16],
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
                "--shoal" => options.shoal = Some(PathBuf::from(value)),
                "--timeout" => options.timeout = Duration::from_secs(flag.positive()?),
                other => bail!("unknown option {other:?} for cluster (see --help)"),
            }
            Ok(())
        })?;
        if !finished {
            return Ok(None);
        }
        Ok(Some(options))
    }
}

/// How long a cluster may take to form.
const FORM_TIMEOUT: Duration = Duration::from_secs(30);

/// The three ways of driving the clusters, in the order they run.
const SIDES: [&str; 3] = ["redis cluster", "shoal cluster", "shoal plain"];

/// One (test, pipeline depth) case and its requests/s per side, one figure per round.
type Case = ((&'static str, u32), [Vec<f64>; 3]);

/// Runs the comparison and prints its report.
pub(crate) fn run(options: &Options) -> anyhow::Result<()> {
    let binary = match &options.shoal {
        Some(path) => path.clone(),
        None => servers::shoal_binary()?,
    };
    let config_dir =
        std::env::temp_dir().join(format!("shoal-bench-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&config_dir).context("creating a directory for nodes.conf")?;
    let redis = start_redis_cluster(&config_dir);
    let _ = std::fs::remove_dir_all(&config_dir);
    let redis = redis?;
    let shoal = start_shoal_cluster(&binary)?;
    println!(
        "3-node Redis Cluster (ports {}) vs 3-node Shoal ({}, ports {})",
        ports(&redis),
        binary.display(),
        ports(&shoal)
    );
    let ports = [redis[0].port, shoal[0].port, shoal[0].port];
    let mut figures: Vec<Case> = Vec::new();
    for test in ["set", "get"] {
        for &pipeline in &options.pipelines {
            figures.push(((test, pipeline), Default::default()));
        }
    }
    for round in 1..=options.rounds {
        for ((test, pipeline), rps) in figures.iter_mut() {
            for (side, port) in ports.iter().enumerate() {
                let requests = if *pipeline > 1 {
                    options.pipelined_requests
                } else {
                    options.requests
                };
                let outcome = redis_benchmark::run(&Params {
                    port: *port,
                    test: test.to_string(),
                    pipeline: *pipeline,
                    clients: 50,
                    requests,
                    keyspace: 100_000,
                    data_size: 3,
                    timeout: options.timeout,
                    cluster: side < 2,
                })
                .with_context(|| format!("{} {test} -P {pipeline}", SIDES[side]))?;
                if let Some(error) = outcome.errors.first() {
                    bail!("{} {test} -P {pipeline}: {error}", SIDES[side]);
                }
                if let Some(row) = outcome.rows.first() {
                    rps[side].push(row.rps);
                }
            }
            eprintln!("round {round}: {test} -P {pipeline} done");
        }
    }
    println!(
        "\n{:<6} {:>3} {:>14} {:>14} {:>13} {:>14} {:>15}",
        "test",
        "-P",
        "redis cluster",
        "shoal cluster",
        "shoal/redis",
        "shoal plain",
        "plain/cluster"
    );
    for ((test, pipeline), rps) in figures {
        let [redis, cluster, plain] = rps.map(median);
        println!(
            "{:<6} {:>3} {:>14.0} {:>14.0} {:>13.2} {:>14.0} {:>15.2}",
            test.to_ascii_uppercase(),
            pipeline,
            redis,
            cluster,
            cluster / redis,
            plain,
            plain / cluster
        );
    }
    Ok(())
}

fn ports(servers: &[Server]) -> String {
    let ports: Vec<String> = servers.iter().map(|s| s.port.to_string()).collect();
    ports.join(",")
}

/// Three redis-server cluster nodes with every slot assigned, no replicas.
pub(crate) fn start_redis_cluster(config_dir: &std::path::Path) -> anyhow::Result<Vec<Server>> {
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(Server::start_redis_with(|port| {
            let file = config_dir.join(format!("nodes-{port}.conf"));
            vec![
                "--cluster-enabled".into(),
                "yes".into(),
                "--cluster-config-file".into(),
                file.display().to_string(),
            ]
        })?);
    }
    let addresses: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect();
    let created = Command::new("redis-cli")
        .arg("--cluster")
        .arg("create")
        .args(&addresses)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .context("running redis-cli --cluster create (apt-get install redis-tools)")?;
    if !created.status.success() {
        bail!(
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&created.stdout)
        );
    }
    wait_for(&nodes, "cluster_state:ok")?;
    Ok(nodes)
}

/// Three Shoal nodes, the second and third joining through the first.
pub(crate) fn start_shoal_cluster(binary: &std::path::Path) -> anyhow::Result<Vec<Server>> {
    let first = Server::start_shoal(binary, &[])?;
    let seed = format!("127.0.0.1:{}", first.cluster_port);
    let mut nodes = vec![first];
    for _ in 0..2 {
        nodes.push(Server::start_shoal(binary, &["--join", &seed])?);
    }
    let deadline = Instant::now() + FORM_TIMEOUT;
    while !crate::servers::settled(&nodes, 3)? {
        if Instant::now() > deadline {
            bail!("the Shoal nodes did not agree within {FORM_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(nodes)
}

/// Waits until every node's `CLUSTER INFO` contains `line`.
fn wait_for(nodes: &[Server], line: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + FORM_TIMEOUT;
    loop {
        let formed = nodes.iter().all(|node| {
            Connection::connect(node.port)
                .and_then(|mut c| c.call_text(&["CLUSTER", "INFO"]))
                .is_ok_and(|info| info.lines().any(|l| l.trim() == line))
        });
        if formed {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the cluster did not reach {line:?} within {FORM_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
