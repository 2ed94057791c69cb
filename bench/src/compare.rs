//! `shoal-bench compare`: redis-server and Shoal side by side under redis-benchmark.
//!
//! Both servers run for the whole comparison on loopback ports; their keyspaces are
//! prefilled identically (`key:NNNNNNNNNNNN` for every N in `0..keyspace`, values of
//! `data-size` bytes of `x`, as redis-benchmark writes them) so that GETs hit. Then, for
//! each round, each test and each pipeline depth, redis-benchmark runs against redis and
//! then immediately against Shoal, so machine noise hits both alike. Each figure reported
//! is the median over the rounds.

use crate::args::{each_flag, list, positive};
use crate::redis_benchmark::{self, Params, Row};
use crate::resp::{self, Reply};
use crate::servers::{self, Kind, Server};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Help text for `compare`.
pub(crate) const USAGE: &str = "\
Usage: shoal-bench compare [options]

Starts redis-server (persistence off) and the release shoal on free loopback ports,
prefills both with the same keys, then runs redis-benchmark against each in turn
(redis, shoal, redis, shoal, ...) for every test and pipeline depth, for several rounds.
Prints the median requests/s and p50/p99 latency of each, and Shoal/Redis ratios.

What it measures: ratios between the two servers on the same machine in the same run,
not absolute capacity. redis-benchmark (one thread) runs on the same cores as the server
it drives and competes with it for CPU; on a small machine it is often the bottleneck
and compresses the difference between the servers. Other load on the machine (builds,
tests) adds noise; the alternation and medians spread it evenly, not away.

Options:
  --rounds N               rounds of every test against both servers (default 5)
  --requests N             requests per run at pipeline 1 (-n, default 200000)
  --pipelined-requests N   requests per run at pipeline > 1 (default 3000000; pipelined
                           runs are ~10x faster, so this keeps runs a few seconds long)
  --clients N              parallel connections (-c, default 50)
  --tests LIST             comma-separated redis-benchmark tests (-t, default set,get)
  --pipelines LIST         comma-separated pipeline depths (-P, default 1,16)
  --data-size N            value size in bytes (-d, default 3)
  --keyspace N             random keys key:0..N-1 (-r) and keys prefilled (default 100000)
  --shoal PATH             shoal binary to run (default: target/release/shoal, built with
                           cargo build --release if missing or older than the sources)
  --timeout SECS           kill a redis-benchmark run after this long (default 300)
  -h, --help               print this text";

/// Settings of one comparison.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    rounds: u32,
    requests: u64,
    pipelined_requests: u64,
    clients: u32,
    tests: Vec<String>,
    pipelines: Vec<u32>,
    data_size: u32,
    keyspace: u64,
    shoal: Option<PathBuf>,
    timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            rounds: 5,
            requests: 200_000,
            pipelined_requests: 3_000_000,
            clients: 50,
            tests: vec!["set".into(), "get".into()],
            pipelines: vec![1, 16],
            data_size: 3,
            keyspace: 100_000,
            shoal: None,
            timeout: Duration::from_secs(300),
        }
    }
}

impl Options {
    /// Parses `compare`'s arguments; `Ok(None)` when help was asked for.
    pub(crate) fn parse(args: &[String]) -> anyhow::Result<Option<Options>> {
        let mut options = Options::default();
        let finished = each_flag(args, &[], |flag| {
            let value = flag.value()?;
            match flag.name {
                "--rounds" => options.rounds = flag.positive()?,
                "--requests" => options.requests = flag.positive()?,
                "--pipelined-requests" => options.pipelined_requests = flag.positive()?,
                "--clients" => options.clients = flag.positive()?,
                "--tests" => {
                    options.tests = list(flag.name, value, |t| Ok(t.to_ascii_lowercase()))?
                }
                "--pipelines" => {
                    options.pipelines = list(flag.name, value, |p| positive(flag.name, p))?
                }
                "--data-size" => options.data_size = flag.positive()?,
                "--keyspace" => options.keyspace = flag.positive()?,
                "--shoal" => options.shoal = Some(PathBuf::from(value)),
                "--timeout" => options.timeout = Duration::from_secs(flag.positive()?),
                other => bail!("unknown option {other:?} for compare (see --help)"),
            }
            Ok(())
        })?;
        if !finished {
            return Ok(None);
        }
        Ok(Some(options))
    }

    /// The request count for a run at `pipeline`.
    fn requests_at(&self, pipeline: u32) -> u64 {
        if pipeline > 1 {
            self.pipelined_requests
        } else {
            self.requests
        }
    }
}

/// The figures of one (test, pipeline) case: one row per successful round per server.
struct Case {
    /// The test name as redis-benchmark reports it (e.g. `SET`).
    test: String,
    pipeline: u32,
    redis: Vec<Row>,
    shoal: Vec<Row>,
}

/// A problem seen while benchmarking one server.
struct Problem {
    kind: Kind,
    what: String,
}

/// Counters sampled from a server before and after the runs.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    hits: f64,
    misses: f64,
    cpu_seconds: f64,
}

/// Runs the comparison and prints its report.
pub(crate) fn run(options: &Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let shoal_binary = match &options.shoal {
        Some(path) => path.clone(),
        None => servers::shoal_binary()?,
    };
    print_machine(&shoal_binary);
    println!(
        "settings: rounds {}, clients {}, requests {} (pipeline 1) / {} (pipelined), \
         keyspace {} keys, data size {} B, tests {}, pipelines {}",
        options.rounds,
        options.clients,
        options.requests,
        options.pipelined_requests,
        options.keyspace,
        options.data_size,
        options.tests.join(","),
        options
            .pipelines
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );

    let mut redis = Server::start_redis()?;
    let mut shoal = Server::start_shoal(&shoal_binary, &[])?;
    let claimed = shoal
        .info("server")
        .ok()
        .and_then(|info| resp::info_field(&info, "redis_version").map(str::to_string))
        .unwrap_or_else(|| "?".into());
    println!(
        "servers: redis on port {}, shoal on port {} (INFO redis_version {claimed})",
        redis.port, shoal.port
    );
    for server in [&redis, &shoal] {
        prefill(server, options.keyspace, options.data_size)?;
    }
    let before = [counters(&redis)?, counters(&shoal)?];

    let mut cases: Vec<Case> = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    let mut run_time = [Duration::ZERO; 2];
    for round in 1..=options.rounds {
        for test in &options.tests {
            for &pipeline in &options.pipelines {
                for server in [&mut redis, &mut shoal] {
                    let params = Params {
                        port: server.port,
                        test: test.clone(),
                        pipeline,
                        clients: options.clients,
                        requests: options.requests_at(pipeline),
                        keyspace: options.keyspace,
                        data_size: options.data_size,
                        timeout: options.timeout,
                        cluster: false,
                    };
                    let outcome = redis_benchmark::run(&params);
                    server.check_running()?;
                    let outcome = match outcome {
                        Ok(outcome) => outcome,
                        Err(error) => {
                            eprintln!("{} {test} -P {pipeline}: {error:#}", server.kind.name());
                            problems.push(Problem {
                                kind: server.kind,
                                what: format!("-t {test} -P {pipeline}: {error:#}"),
                            });
                            continue;
                        }
                    };
                    run_time[server.kind as usize] += outcome.elapsed;
                    for line in outcome.errors.iter().chain(&outcome.other) {
                        problems.push(Problem {
                            kind: server.kind,
                            what: format!("-t {test} -P {pipeline}: {line}"),
                        });
                    }
                    for row in outcome.rows {
                        eprintln!(
                            "round {round}/{}  {:<5} -P {:<3} {:<6} {:>10.0} rps  \
                             p50 {:.3} ms  p99 {:.3} ms  ({:.1} s)",
                            options.rounds,
                            row.test,
                            pipeline,
                            server.kind.name(),
                            row.rps,
                            row.p50_ms,
                            row.p99_ms,
                            outcome.elapsed.as_secs_f64()
                        );
                        record(&mut cases, server.kind, pipeline, row);
                    }
                }
            }
        }
    }

    let after = [counters(&redis)?, counters(&shoal)?];
    drop(shoal);
    drop(redis);

    print_table(&cases);
    print_rounds(&cases);
    println!();
    for kind in [Kind::Redis, Kind::Shoal] {
        let (b, a) = (before[kind as usize], after[kind as usize]);
        let wall = run_time[kind as usize].as_secs_f64();
        let cpu = a.cpu_seconds - b.cpu_seconds;
        println!(
            "{:<5}: keyspace hits {:.0}, misses {:.0} during the runs; server CPU {:.1} s \
             over {:.1} s of runs ({:.2} cores busy)",
            kind.name(),
            a.hits - b.hits,
            a.misses - b.misses,
            cpu,
            wall,
            if wall > 0.0 { cpu / wall } else { 0.0 }
        );
    }
    let count = |kind: Kind| problems.iter().filter(|p| p.kind == kind).count();
    println!(
        "redis-benchmark error/unexpected lines: redis {}, shoal {}",
        count(Kind::Redis),
        count(Kind::Shoal)
    );
    for problem in &problems {
        println!("  {}: {}", problem.kind.name(), problem.what);
    }
    println!(
        "total time {:.0} s; load average at the end: {}",
        started.elapsed().as_secs_f64(),
        read_trimmed("/proc/loadavg")
    );
    if !problems.is_empty() {
        bail!("redis-benchmark reported {} problem(s)", problems.len());
    }
    Ok(())
}

/// Adds one server's row to its case, creating the case on first sight.
fn record(cases: &mut Vec<Case>, kind: Kind, pipeline: u32, row: Row) {
    let index = match cases
        .iter()
        .position(|c| c.test == row.test && c.pipeline == pipeline)
    {
        Some(index) => index,
        None => {
            cases.push(Case {
                test: row.test.clone(),
                pipeline,
                redis: Vec::new(),
                shoal: Vec::new(),
            });
            cases.len() - 1
        }
    };
    match kind {
        Kind::Redis => cases[index].redis.push(row),
        Kind::Shoal => cases[index].shoal.push(row),
    }
}

/// Writes `key:NNNNNNNNNNNN` = `x` × `data_size` for every key of the keyspace, in
/// pipelined batches, and checks that the server then holds exactly that many keys.
fn prefill(server: &Server, keyspace: u64, data_size: u32) -> anyhow::Result<()> {
    const BATCH: u64 = 1000;
    let mut connection = server.connect()?;
    match connection.call(&[b"FLUSHALL"])? {
        Reply::Simple(ok) if ok == "OK" => {}
        other => bail!("FLUSHALL on {} answered {other:?}", server.kind.name()),
    }
    let value = vec![b'x'; data_size as usize];
    let mut start = 0;
    while start < keyspace {
        let end = (start + BATCH).min(keyspace);
        let mut batch = Vec::new();
        for n in start..end {
            let key = format!("key:{n:012}");
            batch.extend_from_slice(&resp::encode_command(&[b"SET", key.as_bytes(), &value]));
        }
        connection.send(&batch)?;
        for n in start..end {
            match connection.read_reply()? {
                Reply::Simple(ok) if ok == "OK" => {}
                other => bail!(
                    "prefilling {}: SET key:{n:012} answered {other:?}",
                    server.kind.name()
                ),
            }
        }
        start = end;
    }
    let size = connection.call_int(&["DBSIZE"])?;
    if u64::try_from(size).ok() != Some(keyspace) {
        bail!(
            "{} holds {size} keys after prefilling {keyspace}",
            server.kind.name()
        );
    }
    Ok(())
}

/// Keyspace hits/misses and CPU seconds from `INFO`.
fn counters(server: &Server) -> anyhow::Result<Counters> {
    let stats = server.info("stats")?;
    let cpu = server.info("cpu")?;
    let number = |info: &str, field: &str| -> anyhow::Result<f64> {
        let text = resp::info_field(info, field)
            .with_context(|| format!("{} INFO has no {field}", server.kind.name()))?;
        text.parse()
            .with_context(|| format!("{} INFO {field} {text:?}", server.kind.name()))
    };
    Ok(Counters {
        hits: number(&stats, "keyspace_hits")?,
        misses: number(&stats, "keyspace_misses")?,
        cpu_seconds: number(&cpu, "used_cpu_user")? + number(&cpu, "used_cpu_sys")?,
    })
}

/// The median of some figures (0 for none).
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// `a / b`, or NaN (printed as `NaN`) when `b` is zero.
fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { f64::NAN } else { a / b }
}

/// The main table: medians per case and Shoal/Redis ratios.
fn print_table(cases: &[Case]) {
    println!();
    println!(
        "medians over rounds (latency in ms; ratios are shoal/redis: rps higher is better \
         for shoal, latency lower is better)"
    );
    println!(
        "{:<6} {:>4} {:>11} {:>11} {:>7} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>6}",
        "test",
        "pipe",
        "redis rps",
        "shoal rps",
        "rps s/r",
        "redis p50",
        "redis p99",
        "shoal p50",
        "shoal p99",
        "p50 s/r",
        "p99 s/r",
        "runs"
    );
    for case in cases {
        let figure = |rows: &[Row], get: fn(&Row) -> f64| median(rows.iter().map(get).collect());
        let redis_rps = figure(&case.redis, |r| r.rps);
        let shoal_rps = figure(&case.shoal, |r| r.rps);
        let redis_p50 = figure(&case.redis, |r| r.p50_ms);
        let shoal_p50 = figure(&case.shoal, |r| r.p50_ms);
        let redis_p99 = figure(&case.redis, |r| r.p99_ms);
        let shoal_p99 = figure(&case.shoal, |r| r.p99_ms);
        println!(
            "{:<6} {:>4} {:>11.0} {:>11.0} {:>7.2} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>7.2} {:>7.2} {:>6}",
            case.test,
            case.pipeline,
            redis_rps,
            shoal_rps,
            ratio(shoal_rps, redis_rps),
            redis_p50,
            redis_p99,
            shoal_p50,
            shoal_p99,
            ratio(shoal_p50, redis_p50),
            ratio(shoal_p99, redis_p99),
            format!("{}+{}", case.redis.len(), case.shoal.len())
        );
    }
}

/// Requests/s of every round, to show how noisy the medians are.
fn print_rounds(cases: &[Case]) {
    println!();
    println!("requests/s per round (thousands), in run order:");
    for case in cases {
        let rounds = |rows: &[Row]| {
            rows.iter()
                .map(|r| format!("{:.0}", r.rps / 1000.0))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "  {:<5} -P {:<3} redis: {:<40} shoal: {}",
            case.test,
            case.pipeline,
            rounds(&case.redis),
            rounds(&case.shoal)
        );
    }
}

/// Cores, CPU model, memory, kernel, load, and the versions of the programs involved.
fn print_machine(shoal_binary: &Path) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            (name.trim() == "model name").then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .map(|m| m.trim().to_string())
        .unwrap_or_else(|| "?".into());
    println!("machine: {cores} cores available ({model}), memory {memory}");
    println!(
        "kernel {}; load average at the start: {}",
        read_trimmed("/proc/sys/kernel/osrelease"),
        read_trimmed("/proc/loadavg")
    );
    println!(
        "redis-server: {}",
        servers::version_of(Path::new("redis-server"))
    );
    println!(
        "redis-benchmark: {}",
        servers::version_of(Path::new("redis-benchmark"))
    );
    println!(
        "shoal: {} ({})",
        servers::version_of(shoal_binary),
        shoal_binary.display()
    );
}

/// A small text file's contents, trimmed, or `?`.
fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }

    #[test]
    fn parses_options() -> anyhow::Result<()> {
        let options = Options::parse(&args("--rounds 3 --tests SET,get,incr --pipelines 1,4"))?
            .context("options")?;
        assert_eq!(options.rounds, 3);
        assert_eq!(options.tests, vec!["set", "get", "incr"]);
        assert_eq!(options.pipelines, vec![1, 4]);
        assert_eq!(options.requests_at(1), 200_000);
        assert_eq!(options.requests_at(4), 3_000_000);
        assert!(Options::parse(&args("--help"))?.is_none());
        assert!(Options::parse(&args("--rounds 0")).is_err());
        assert!(Options::parse(&args("--rounds")).is_err());
        assert!(Options::parse(&args("--pipelines ,")).is_err());
        assert!(Options::parse(&args("--bogus 1")).is_err());
        Ok(())
    }
}
