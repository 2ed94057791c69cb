//! `/metrics` as Prometheus reads it.
//!
//! Two tests run a real Prometheus (Debian's `prometheus`; CI installs it) that scrapes a node
//! every second: one sends known traffic and queries the scraped series through Prometheus's
//! HTTP API, the other runs every query of the Grafana dashboard. The others read `/metrics`
//! directly: the text format and the naming conventions of every family, agreement with
//! `INFO`, `CONFIG RESETSTAT`, and what the metrics port serves (and, at 0, that there is none).

#[path = "prometheus/exposition.rs"]
mod exposition;

use exposition::{convention_violations, lookup, parse_page};
use serde_json::Value;
use shoal_tests::{Shoal, free_port, workspace};
use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long Prometheus gets to start, scrape and answer as expected.
const DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// HTTP

/// An HTTP response, read whole.
struct Response {
    status: u16,
    content_type: String,
    body: String,
}

/// `GET path` on 127.0.0.1:port over HTTP/1.0 (so the body is neither chunked nor kept alive).
fn http_get(port: u16, path: &str) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(std::io::Error::other(format!(
            "no end of headers: {text:?}"
        )));
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status: {head:?}")))?;
    let content_type = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.trim().to_string())
        .unwrap_or_default();
    Ok(Response {
        status,
        content_type,
        body: body.to_string(),
    })
}

/// The `/metrics` page of a node.
fn scrape(metrics_port: u16) -> String {
    let response = http_get(metrics_port, "/metrics").expect("GET /metrics");
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(
        response
            .content_type
            .starts_with("text/plain; version=0.0.4"),
        "Content-Type {:?}",
        response.content_type
    );
    response.body
}

/// Percent-encodes a query-string value.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Nodes and traffic

/// A node serving `/metrics` on a free port, and that port.
fn node_with_metrics() -> (Shoal, u16) {
    let metrics_port = free_port();
    let node = Shoal::start_with(&["--metrics-port", &metrics_port.to_string()]);
    (node, metrics_port)
}

/// Runs a command expected to succeed.
fn ok(conn: &mut redis::Connection, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query::<redis::Value>(conn)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

/// Runs a command expected to answer an error.
fn fails(conn: &mut redis::Connection, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    let reply = cmd.query::<redis::Value>(conn);
    assert!(reply.is_err(), "{args:?} should fail, got {reply:?}");
}

/// A little of everything: sets (one with a TTL), a hit and a miss, a failed call, a rejected
/// call, an unknown command and a wrong type; so every per-command and per-error series exists.
fn mixed_traffic(conn: &mut redis::Connection) {
    ok(conn, &["SET", "a", "text"]);
    ok(conn, &["SET", "b", "1", "EX", "3600"]);
    ok(conn, &["GET", "a"]);
    ok(conn, &["GET", "missing"]);
    ok(conn, &["INCR", "b"]);
    fails(conn, &["INCR", "a"]);
    fails(conn, &["GET"]);
    fails(conn, &["NOSUCHCOMMAND", "x"]);
    fails(conn, &["LPUSH", "a", "x"]);
}

/// TCP ports the process `pid` listens on (from its socket inodes and /proc/net/tcp{,6}).
fn listening_ports(pid: u32) -> BTreeSet<u16> {
    let inodes: BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/PID/fd")
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            Some(
                link.strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect();
    let mut ports = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for row in text.lines().skip(1) {
            let fields: Vec<&str> = row.split_whitespace().collect();
            // local_address is field 1 (ADDR:PORT in hex), st field 3 (0A: LISTEN), inode 9.
            if fields.len() > 9 && fields[3] == "0A" && inodes.contains(fields[9]) {
                let port = fields[1].rsplit(':').next().unwrap_or("");
                ports.insert(u16::from_str_radix(port, 16).expect("hex port"));
            }
        }
    }
    ports
}

// ---------------------------------------------------------------------------------------------
// A real Prometheus

/// A Prometheus server scraping shoal nodes every second, everything it writes in its own
/// temporary directory; killed (and the directory removed) on drop.
struct Prometheus {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Prometheus {
    /// Starts Prometheus scraping `127.0.0.1:<port>/metrics` for each of `metrics_ports` as
    /// job `shoal`, and waits until it is ready.
    fn start(metrics_ports: &[u16]) -> Prometheus {
        let binary = std::env::var("PROMETHEUS_BIN").unwrap_or_else(|_| "prometheus".into());
        match Command::new(&binary).arg("--version").output() {
            Ok(output) if output.status.success() => {}
            Ok(output) => panic!(
                "`{binary} --version` failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => panic!(
                "these tests need a real Prometheus, and `{binary}` cannot run ({error}): \
                 install it (`apt-get install prometheus`; CI installs it) or point \
                 PROMETHEUS_BIN at a prometheus binary"
            ),
        }
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "shoal-prometheus-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).expect("create the Prometheus directory");
        let targets: Vec<String> = metrics_ports
            .iter()
            .map(|p| format!("'127.0.0.1:{p}'"))
            .collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: shoal\n    metrics_path: /metrics\n    \
             static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        std::fs::write(dir.join("prometheus.yml"), config).expect("write prometheus.yml");
        // A port found free may be taken before Prometheus binds it: try a few.
        let log_path = dir.join("prometheus.log");
        let mut log = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let log_file = std::fs::File::create(&log_path).expect("create the log");
            let mut child = Command::new(&binary)
                .current_dir(&dir)
                .arg(format!(
                    "--config.file={}",
                    dir.join("prometheus.yml").display()
                ))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg(format!("--web.console.templates={}", dir.display()))
                .arg(format!("--web.console.libraries={}", dir.display()))
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("clone the log"))
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
            let deadline = Instant::now() + DEADLINE;
            while Instant::now() < deadline {
                if matches!(http_get(port, "/-/ready"), Ok(r) if r.status == 200) {
                    return Prometheus { child, dir, port };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            log = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("Prometheus did not become ready; its log:\n{log}");
    }

    /// What Prometheus logged so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// Runs an instant query: `Ok(result vector)`, or `Err` if Prometheus refused the query
    /// (a PromQL error) or did not answer.
    fn query(&self, promql: &str) -> Result<Vec<Value>, String> {
        let path = format!("/api/v1/query?query={}", urlencode(promql));
        let response = http_get(self.port, &path).map_err(|e| format!("{promql}: {e}"))?;
        let json: Value = serde_json::from_str(&response.body)
            .map_err(|e| format!("{promql}: {e}: {}", response.body))?;
        if json["status"] != "success" {
            return Err(format!("{promql}: {}", response.body));
        }
        match &json["data"]["result"] {
            Value::Array(result) => Ok(result.clone()),
            other => Err(format!("{promql}: not a vector: {other}")),
        }
    }

    /// The value of the single series `promql` returns, or why there is none.
    fn single(&self, promql: &str) -> Result<f64, String> {
        let result = self.query(promql)?;
        match result.as_slice() {
            [series] => value_of(series).ok_or_else(|| format!("{promql}: no value in {series}")),
            [] => Err(format!("{promql}: no series yet")),
            more => Err(format!("{promql}: {} series: {more:?}", more.len())),
        }
    }

    /// Waits until Prometheus has scraped every target successfully.
    fn wait_for_targets(&self, count: usize) {
        eventually("Prometheus scrapes shoal", || {
            let up = self.query("up{job=\"shoal\"} == 1")?;
            if up.len() == count {
                Ok(())
            } else {
                Err(format!(
                    "{} of {count} targets up; log:\n{}",
                    up.len(),
                    self.log()
                ))
            }
        });
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The number in a result vector element (`"value": [time, "text"]`).
fn value_of(series: &Value) -> Option<f64> {
    series["value"][1].as_str()?.parse().ok()
}

/// Calls `check` until it returns `Ok` or [`DEADLINE`] passes, then panics with its last error.
fn eventually<T>(what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match check() {
            Ok(value) => return value,
            Err(error) if Instant::now() >= deadline => {
                panic!("{what}: not so after {DEADLINE:?}:\n{error}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// What a query must return.
enum Expect {
    Exactly(f64),
    AtLeast(f64),
}

// ---------------------------------------------------------------------------------------------
// Tests with Prometheus

#[test]
fn prometheus_scrapes_exactly_the_traffic_a_node_served() {
    let (node, metrics_port) = node_with_metrics();
    let prometheus = Prometheus::start(&[metrics_port]);
    prometheus.wait_for_targets(1);

    let mut conn = node.conn();
    // Two idle clients besides the one sending traffic: three connected, three accepted.
    let _idle = (node.conn(), node.conn());

    // First 1000 SETs, seen by a scrape, then the rest: the set series then grows between
    // scrapes, which gives rate() something to measure.
    for i in 0..1000 {
        ok(
            &mut conn,
            &["SET", &format!("key:{i}"), &format!("value-{i}")],
        );
    }
    eventually("the first 1000 SETs are scraped", || {
        let sets = prometheus.single("shoal_commands_total{job=\"shoal\",cmd=\"set\"}")?;
        if sets == 1000.0 {
            Ok(())
        } else {
            Err(format!("set: {sets}"))
        }
    });
    for i in 1000..1224 {
        ok(
            &mut conn,
            &["SET", &format!("key:{i}"), &format!("value-{i}")],
        );
    }
    for i in 1224..1234 {
        ok(
            &mut conn,
            &["SET", &format!("key:{i}"), "with-ttl", "EX", "3600"],
        );
    }
    for i in 0..400 {
        ok(&mut conn, &["GET", &format!("key:{i}")]);
    }
    for i in 0..167 {
        ok(&mut conn, &["GET", &format!("missing:{i}")]);
    }
    for _ in 0..3 {
        fails(&mut conn, &["INCR", "key:0"]); // ERR not an integer: a failed INCR
    }
    fails(&mut conn, &["GET"]); // ERR wrong number of arguments: a rejected GET
    for _ in 0..2 {
        fails(&mut conn, &["NOSUCHCOMMAND", "x"]); // ERR unknown command
    }
    fails(&mut conn, &["LPUSH", "key:1", "x"]); // WRONGTYPE: a failed LPUSH

    use Expect::{AtLeast, Exactly};
    let expected: &[(&str, Expect)] = &[
        ("shoal_commands_total{cmd=\"set\"}", Exactly(1234.0)),
        ("shoal_commands_total{cmd=\"get\"}", Exactly(567.0)),
        ("shoal_commands_total{cmd=\"incr\"}", Exactly(3.0)),
        ("shoal_command_failed_total{cmd=\"incr\"}", Exactly(3.0)),
        ("shoal_command_failed_total{cmd=\"set\"}", Exactly(0.0)),
        ("shoal_command_failed_total{cmd=\"lpush\"}", Exactly(1.0)),
        ("shoal_command_rejected_total{cmd=\"get\"}", Exactly(1.0)),
        ("shoal_keyspace_hits_total", Exactly(400.0)),
        ("shoal_keyspace_misses_total", Exactly(167.0)),
        (
            "shoal_command_duration_seconds_count{cmd=\"set\"}",
            Exactly(1234.0),
        ),
        (
            "shoal_command_duration_seconds_bucket{cmd=\"set\",le=\"+Inf\"}",
            Exactly(1234.0),
        ),
        (
            "shoal_command_duration_seconds_count{cmd=\"get\"}",
            Exactly(567.0),
        ),
        ("shoal_errors_total{type=\"ERR\"}", Exactly(6.0)),
        ("shoal_errors_total{type=\"WRONGTYPE\"}", Exactly(1.0)),
        ("shoal_error_replies_total", Exactly(7.0)),
        ("shoal_keys{db=\"0\"}", Exactly(1234.0)),
        ("shoal_keys{db=\"1\"}", Exactly(0.0)),
        ("shoal_keys_with_expiry{db=\"0\"}", Exactly(10.0)),
        ("shoal_expired_keys_total", Exactly(0.0)),
        ("shoal_evicted_keys_total", Exactly(0.0)),
        ("shoal_connected_clients", Exactly(3.0)),
        ("shoal_blocked_clients", Exactly(0.0)),
        ("shoal_connections_received_total", Exactly(3.0)),
        ("shoal_connections_rejected_total", Exactly(0.0)),
        (
            "shoal_commands_processed_total",
            AtLeast(1234.0 + 567.0 + 4.0),
        ),
        ("shoal_net_input_bytes_total", AtLeast(1.0)),
        ("shoal_net_output_bytes_total", AtLeast(1.0)),
        ("shoal_memory_used_bytes", AtLeast(1.0)),
        ("shoal_memory_rss_bytes", AtLeast(1.0)),
        ("shoal_uptime_seconds", AtLeast(0.0)),
        ("shoal_maxclients", AtLeast(1.0)),
    ];
    eventually("Prometheus has the traffic's series", || {
        let mismatches: Vec<String> = expected
            .iter()
            .filter_map(|(promql, expect)| {
                let got = match prometheus.single(promql) {
                    Ok(value) => value,
                    Err(error) => return Some(error),
                };
                let fine = match expect {
                    Exactly(want) => got == *want,
                    AtLeast(least) => got >= *least,
                };
                (!fine).then(|| format!("{promql} = {got}"))
            })
            .collect();
        if mismatches.is_empty() {
            Ok(())
        } else {
            Err(mismatches.join("\n"))
        }
    });

    // The series carry the target's labels.
    let uptime = prometheus.query("shoal_uptime_seconds").expect("query");
    assert_eq!(uptime.len(), 1, "{uptime:?}");
    assert_eq!(
        uptime[0]["metric"]["instance"],
        format!("127.0.0.1:{metrics_port}")
    );
    assert_eq!(uptime[0]["metric"]["job"], "shoal");

    // Quantiles over the histogram's rate: a number within the buckets' range (the rate
    // covers the scrapes before and after the last 234 SETs).
    let p99 = "histogram_quantile(0.99, sum by (le) \
               (rate(shoal_command_duration_seconds_bucket{cmd=\"set\"}[1m])))";
    let value = eventually("p99 of SET is a number", || {
        let value = prometheus.single(p99)?;
        if value.is_finite() {
            Ok(value)
        } else {
            Err(format!("{p99} = {value}"))
        }
    });
    assert!((0.0..=1.0).contains(&value), "{p99} = {value}");
    let by_command = prometheus
        .query(
            "histogram_quantile(0.5, sum by (cmd, le) \
             (rate(shoal_command_duration_seconds_bucket[1m])))",
        )
        .expect("p50 by command");
    let set = by_command
        .iter()
        .find(|s| s["metric"]["cmd"] == "set")
        .unwrap_or_else(|| panic!("no cmd=\"set\" in {by_command:?}"));
    let p50 = value_of(set).expect("a value");
    assert!(p50.is_finite() && (0.0..=1.0).contains(&p50), "{set}");
}

/// The PromQL expressions of a Grafana dashboard's panels (collapsed rows included).
fn dashboard_exprs(dashboard: &Value) -> Vec<(String, String)> {
    let mut exprs = Vec::new();
    let mut stack: Vec<&Value> = dashboard["panels"]
        .as_array()
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    while let Some(panel) = stack.pop() {
        if let Some(nested) = panel["panels"].as_array() {
            stack.extend(nested);
        }
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                let title = panel["title"].as_str().unwrap_or("?");
                exprs.push((title.to_string(), expr.to_string()));
            }
        }
    }
    exprs
}

/// A dashboard expression with Grafana's variables replaced as Grafana would for "All".
fn substitute_grafana_variables(expr: &str) -> String {
    let mut expr = expr.to_string();
    for (variable, value) in [
        ("${__rate_interval}", "1m"),
        ("$__rate_interval", "1m"),
        ("${__interval}", "15s"),
        ("$__interval", "15s"),
        ("${__range}", "1m"),
        ("$__range", "1m"),
        ("${instance:regex}", ".*"),
        ("${instance}", ".*"),
        ("$instance", ".*"),
    ] {
        expr = expr.replace(variable, value);
    }
    assert!(!expr.contains('$'), "an unknown Grafana variable in {expr}");
    expr
}

#[test]
fn every_dashboard_query_runs_on_prometheus_and_returns_series() {
    let path = workspace().join("docker/grafana/shoal-dashboard.json");
    let text = std::fs::read_to_string(&path).expect("read the dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let exprs = dashboard_exprs(&dashboard);
    assert!(!exprs.is_empty(), "no queries in {}", path.display());

    let (node, metrics_port) = node_with_metrics();
    let prometheus = Prometheus::start(&[metrics_port]);
    prometheus.wait_for_targets(1);
    let mut conn = node.conn();
    mixed_traffic(&mut conn);
    eventually("the first traffic is scraped", || {
        prometheus
            .single("shoal_commands_total{cmd=\"set\"}")
            .map(|_| ())
    });
    mixed_traffic(&mut conn);

    eventually("every dashboard query returns series", || {
        let mut empty = Vec::new();
        for (title, expr) in &exprs {
            let promql = substitute_grafana_variables(expr);
            let result = match prometheus.query(&promql) {
                Ok(result) => result,
                // Prometheus answered but refused the query: wrong PromQL, no point waiting.
                Err(error) if error.contains("\"status\":\"error\"") => {
                    panic!("panel {title:?}: Prometheus refuses {promql}: {error}")
                }
                Err(error) => return Err(error),
            };
            // A `> 0` filter may legitimately drop everything (no maxmemory, say).
            if result.is_empty() && !promql.contains("> 0") {
                empty.push(format!("panel {title:?}: {promql}"));
            }
        }
        if empty.is_empty() {
            Ok(())
        } else {
            Err(format!("no series for:\n{}", empty.join("\n")))
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Tests of /metrics itself

#[test]
fn every_metric_family_follows_prometheus_conventions() {
    let (node, metrics_port) = node_with_metrics();
    mixed_traffic(&mut node.conn());
    let page = scrape(metrics_port);
    let families = parse_page(&page);
    let problems = convention_violations(&families);
    assert!(
        problems.is_empty(),
        "convention violations:\n{}\n\npage:\n{page}",
        problems.join("\n")
    );
    // What the conventions were checked on.
    for (name, kind) in [
        ("shoal_commands_total", "counter"),
        ("shoal_command_duration_seconds", "histogram"),
        ("shoal_connected_clients", "gauge"),
        ("shoal_memory_used_bytes", "gauge"),
        ("shoal_net_input_bytes_total", "counter"),
        ("shoal_uptime_seconds", "gauge"),
    ] {
        assert_eq!(
            families.get(name).and_then(|f| f.kind.as_deref()),
            Some(kind),
            "{name}"
        );
    }
}

/// `INFO` fields `prefix<name>:k=v,k=v` as name → (k → v).
fn info_records(info: &str, prefix: &str) -> HashMap<String, HashMap<String, f64>> {
    info.lines()
        .filter_map(|line| {
            let (name, fields) = line.trim_end().strip_prefix(prefix)?.split_once(':')?;
            let fields = fields
                .split(',')
                .filter_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    Some((k.to_string(), v.parse().ok()?))
                })
                .collect();
            Some((name.to_string(), fields))
        })
        .collect()
}

/// An `INFO` field `name:value` as a number.
fn info_field(info: &str, name: &str) -> f64 {
    info.lines()
        .find_map(|line| line.trim_end().strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {name} in INFO"))
}

#[test]
fn metrics_agree_with_info() {
    let (node, metrics_port) = node_with_metrics();
    let mut conn = node.conn();
    mixed_traffic(&mut conn);
    mixed_traffic(&mut conn);
    ok(&mut conn, &["SELECT", "3"]);
    ok(&mut conn, &["SET", "in-db-3", "x"]);
    let families = parse_page(&scrape(metrics_port));
    // INFO runs after the scrape and is recorded after it answers: the rest is unchanged.
    let info: String = redis::cmd("INFO")
        .arg("everything")
        .query(&mut conn)
        .expect("INFO");
    let metric = |selector: String| {
        lookup(&families, &selector).unwrap_or_else(|| panic!("no {selector} on /metrics"))
    };

    let commands = info_records(&info, "cmdstat_");
    assert!(commands.contains_key("set") && commands.contains_key("get"));
    for (cmd, stats) in commands.iter().filter(|(cmd, _)| *cmd != "info") {
        let label = format!("{{cmd=\"{cmd}\"}}");
        for (family, field) in [
            ("shoal_commands_total", "calls"),
            ("shoal_command_failed_total", "failed_calls"),
            ("shoal_command_rejected_total", "rejected_calls"),
        ] {
            assert_eq!(
                metric(format!("{family}{label}")),
                stats[field],
                "{cmd} {field}"
            );
        }
        if stats["calls"] > 0.0 {
            let count = metric(format!("shoal_command_duration_seconds_count{label}"));
            assert_eq!(count, stats["calls"], "{cmd}: histogram _count");
            let sum = metric(format!("shoal_command_duration_seconds_sum{label}"));
            let usec = stats["usec"];
            assert!(
                (sum - usec / 1e6).abs() < 1e-9,
                "{cmd}: _sum {sum} vs usec {usec}"
            );
        }
    }
    let errors = info_records(&info, "errorstat_");
    assert_eq!(errors["ERR"]["count"], 6.0);
    assert_eq!(errors["WRONGTYPE"]["count"], 2.0);
    for (code, stats) in &errors {
        let errors = metric(format!("shoal_errors_total{{type=\"{code}\"}}"));
        assert_eq!(errors, stats["count"], "errors of type {code}");
    }
    let keyspace = info_records(&info, "db");
    assert_eq!(keyspace["0"]["keys"], 2.0);
    assert_eq!(keyspace["3"]["keys"], 1.0);
    for db in 0..16 {
        let (keys, expires) = keyspace
            .get(&db.to_string())
            .map_or((0.0, 0.0), |d| (d["keys"], d["expires"]));
        assert_eq!(metric(format!("shoal_keys{{db=\"{db}\"}}")), keys);
        let with_expiry = metric(format!("shoal_keys_with_expiry{{db=\"{db}\"}}"));
        assert_eq!(with_expiry, expires, "db{db}");
    }
    for (name, field) in [
        ("shoal_keyspace_hits_total", "keyspace_hits"),
        ("shoal_keyspace_misses_total", "keyspace_misses"),
        ("shoal_expired_keys_total", "expired_keys"),
        ("shoal_evicted_keys_total", "evicted_keys"),
        ("shoal_error_replies_total", "total_error_replies"),
        (
            "shoal_connections_received_total",
            "total_connections_received",
        ),
        ("shoal_connections_rejected_total", "rejected_connections"),
        ("shoal_connected_clients", "connected_clients"),
        ("shoal_blocked_clients", "blocked_clients"),
        ("shoal_maxclients", "maxclients"),
    ] {
        assert_eq!(metric(name.into()), info_field(&info, field), "{name}");
    }
}

#[test]
fn exported_counters_keep_counting_across_config_resetstat() {
    // Prometheus expects a counter to go down only when the process restarts: CONFIG
    // RESETSTAT resets what INFO shows, the exported counters keep counting.
    let (node, metrics_port) = node_with_metrics();
    let mut conn = node.conn();
    mixed_traffic(&mut conn);
    for i in 0..10 {
        ok(&mut conn, &["SET", &format!("k{i}"), "v"]);
    }
    let before = parse_page(&scrape(metrics_port));
    assert_eq!(
        lookup(&before, "shoal_commands_total{cmd=\"set\"}"),
        Some(12.0)
    );
    let hits_before = lookup(&before, "shoal_keyspace_hits_total").unwrap_or(0.0);
    ok(&mut conn, &["CONFIG", "RESETSTAT"]);
    ok(&mut conn, &["SET", "after", "v"]);
    let after = parse_page(&scrape(metrics_port));
    assert_eq!(
        lookup(&after, "shoal_commands_total{cmd=\"set\"}"),
        Some(13.0)
    );
    assert_eq!(
        lookup(&after, "shoal_command_duration_seconds_count{cmd=\"set\"}"),
        Some(13.0)
    );
    assert_eq!(
        lookup(&after, "shoal_keyspace_hits_total"),
        Some(hits_before)
    );
    // INFO, on the other hand, starts again from zero.
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut conn)
        .expect("info");
    assert!(info.contains("cmdstat_set:calls=1,"), "{info}");
    let stats: String = redis::cmd("INFO")
        .arg("stats")
        .query(&mut conn)
        .expect("info");
    assert!(stats.contains("keyspace_hits:0\r\n"), "{stats}");
}

#[test]
fn the_metrics_port_answers_404_off_metrics() {
    let (_node, metrics_port) = node_with_metrics();
    for path in ["/other", "/", "/metricsfoo"] {
        let response = http_get(metrics_port, path).expect("GET");
        assert_eq!(response.status, 404, "GET {path}: {}", response.body);
        assert!(!response.body.contains("shoal_"), "GET {path}");
    }
    let response = http_get(metrics_port, "/metrics?name[]=x").expect("GET");
    assert_eq!(response.status, 200);
}

#[test]
fn metrics_port_zero_serves_nothing() {
    let node = Shoal::start(); // The harness passes --metrics-port 0.
    let startup = node.output.lock().expect("output").join("\n");
    assert!(startup.contains("metrics_port=0"), "{startup}");
    let mut conn = node.conn();
    let config: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("metrics-port")
        .query(&mut conn)
        .expect("CONFIG GET");
    assert_eq!(config, ["metrics-port", "0"]);
    assert_eq!(
        listening_ports(node.pid()),
        BTreeSet::from([node.port]),
        "a node without metrics listens on its client port only"
    );
    // The same check sees the metrics port when there is one.
    let (with_metrics, metrics_port) = node_with_metrics();
    assert_eq!(
        listening_ports(with_metrics.pid()),
        BTreeSet::from([with_metrics.port, metrics_port])
    );
}
