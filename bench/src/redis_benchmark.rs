//! Running `redis-benchmark` once and reading its `--csv` output.
//!
//! redis-benchmark 7.0 prints a header and one row per test:
//!
//! ```text
//! "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
//! "SET","338983.06","1.979","0.216","1.175","5.039","6.279","6.399"
//! ```
//!
//! Columns are looked up by name in the header. Every other line it prints (on stdout or
//! stderr) is kept: since 7.0 it exits on the first error reply (`Error from server: ...`),
//! and it prints connection errors and warnings such as `WARNING: Could not fetch server
//! CONFIG`. Runs have a timeout because redis-benchmark spins forever, without exiting,
//! when it cannot connect.

use anyhow::{Context, bail};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What to run: `redis-benchmark -h 127.0.0.1 -p PORT -t TEST -P PIPELINE ...`.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    pub(crate) port: u16,
    /// A redis-benchmark test name, e.g. `set` or `get`.
    pub(crate) test: String,
    pub(crate) pipeline: u32,
    pub(crate) clients: u32,
    pub(crate) requests: u64,
    /// Keys are `key:NNNNNNNNNNNN` with N in `0..keyspace` (`-r`).
    pub(crate) keyspace: u64,
    /// Value size in bytes (`-d`).
    pub(crate) data_size: u32,
    /// The run is killed and reported as an error after this long.
    pub(crate) timeout: Duration,
    /// `--cluster`: route each key to its slot's primary, as a cluster client.
    pub(crate) cluster: bool,
}

/// One CSV row: the figures of one test.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) test: String,
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

/// The result of one run.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) rows: Vec<Row>,
    /// Lines that are neither the CSV header nor a CSV row and that mention an error.
    pub(crate) errors: Vec<String>,
    /// Other unexpected lines (warnings, notices).
    pub(crate) other: Vec<String>,
    /// Wall-clock time of the run.
    pub(crate) elapsed: Duration,
}

/// Runs redis-benchmark once. A non-zero exit, a timeout, or missing CSV rows are errors;
/// error lines printed alongside a successful run are returned in [`Outcome::errors`].
pub(crate) fn run(params: &Params) -> anyhow::Result<Outcome> {
    let mut command = Command::new("redis-benchmark");
    command
        .args(["-h", "127.0.0.1"])
        .args(["-p", &params.port.to_string()])
        .args(["-t", &params.test])
        .args(["-P", &params.pipeline.to_string()])
        .args(["-c", &params.clients.to_string()])
        .args(["-n", &params.requests.to_string()])
        .args(["-r", &params.keyspace.to_string()])
        .args(["-d", &params.data_size.to_string()])
        .args(params.cluster.then_some("--cluster"))
        .arg("--csv")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .context("starting redis-benchmark (is it installed? apt-get install redis-tools)")?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let stderr = child.stderr.take().context("no stderr pipe")?;
    let stdout_reader = std::thread::spawn(move || read_all(stdout));
    let stderr_reader = std::thread::spawn(move || read_all(stderr));
    let deadline = started + params.timeout;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for redis-benchmark")? {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    let stdout = stdout_reader.join().unwrap_or_default();
    let stderr = stderr_reader.join().unwrap_or_default();
    let Some(status) = status else {
        bail!(
            "redis-benchmark ({command:?}) did not finish within {:?}; it printed:\n{stdout}{stderr}",
            params.timeout
        );
    };
    if !status.success() {
        bail!("redis-benchmark ({command:?}) failed ({status}); it printed:\n{stdout}{stderr}");
    }
    let mut outcome = parse(&stdout, &stderr)?;
    outcome.elapsed = elapsed;
    if outcome.rows.is_empty() {
        bail!("redis-benchmark ({command:?}) printed no CSV rows:\n{stdout}{stderr}");
    }
    Ok(outcome)
}

/// Everything a pipe delivers, as (lossy) text.
fn read_all(mut pipe: impl Read) -> String {
    let mut bytes = Vec::new();
    let _ = pipe.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Splits redis-benchmark's output into CSV rows, error lines and other lines.
fn parse(stdout: &str, stderr: &str) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome {
        rows: Vec::new(),
        errors: Vec::new(),
        other: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let mut header: Option<Vec<String>> = None;
    // redis-benchmark may redraw a progress line with '\r'; only the last part counts.
    let lines = stdout
        .lines()
        .chain(stderr.lines())
        .map(|line| line.rsplit('\r').next().unwrap_or(line).trim());
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let fields = csv_fields(line);
        if fields.first().map(String::as_str) == Some("test") {
            header = Some(fields);
            continue;
        }
        if let Some(columns) = &header
            && line.starts_with('"')
            && fields.len() == columns.len()
        {
            outcome.rows.push(row(columns, &fields)?);
            continue;
        }
        if line.to_ascii_lowercase().contains("error") || line.starts_with("ERR") {
            outcome.errors.push(line.to_string());
        } else {
            outcome.other.push(line.to_string());
        }
    }
    Ok(outcome)
}

/// Splits one line of redis-benchmark's CSV: comma-separated, each field in double quotes
/// (the fields themselves never contain commas or quotes).
fn csv_fields(line: &str) -> Vec<String> {
    line.split(',')
        .map(|field| field.trim().trim_matches('"').to_string())
        .collect()
}

/// A [`Row`] from the header's column names and one line's fields.
fn row(columns: &[String], fields: &[String]) -> anyhow::Result<Row> {
    let column = |name: &str| -> anyhow::Result<&str> {
        let index = columns
            .iter()
            .position(|c| c == name)
            .with_context(|| format!("redis-benchmark's CSV has no {name:?} column"))?;
        fields
            .get(index)
            .map(String::as_str)
            .with_context(|| format!("CSV row without a {name:?} field"))
    };
    let number = |name: &str| -> anyhow::Result<f64> {
        let text = column(name)?;
        text.parse()
            .with_context(|| format!("{name} {text:?} in redis-benchmark's CSV is not a number"))
    };
    Ok(Row {
        test: column("test")?.to_string(),
        rps: number("rps")?,
        p50_ms: number("p50_latency_ms")?,
        p99_ms: number("p99_latency_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_csv_rows_and_sorts_other_lines() -> anyhow::Result<()> {
        let stdout = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\
                      \"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\
                      \"SET\",\"338983.06\",\"1.979\",\"0.216\",\"1.175\",\"5.039\",\"6.279\",\"6.399\"\n";
        let stderr = "WARNING: Could not fetch server CONFIG\nError from server: ERR unknown\n";
        let outcome = parse(stdout, stderr)?;
        assert_eq!(
            outcome.rows,
            vec![Row {
                test: "SET".into(),
                rps: 338983.06,
                p50_ms: 1.175,
                p99_ms: 6.279,
            }]
        );
        assert_eq!(outcome.errors, vec!["Error from server: ERR unknown"]);
        assert_eq!(
            outcome.other,
            vec!["WARNING: Could not fetch server CONFIG"]
        );
        Ok(())
    }

    #[test]
    fn a_non_numeric_figure_is_an_error() {
        let stdout = "\"test\",\"rps\",\"p50_latency_ms\",\"p99_latency_ms\"\n\
                      \"GET\",\"fast\",\"1\",\"2\"\n";
        assert!(parse(stdout, "").is_err());
    }
}
