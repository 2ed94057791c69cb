//! The Grafana dashboard, docker/grafana/shoal-dashboard.json, against what a node exposes.
//!
//! Every PromQL expression of the dashboard must only name series a node serves on
//! `/metrics`, use them as their type allows (counters and histogram buckets through `rate`,
//! gauges as they are) and follow the `instance` variable. That the queries also run and
//! return data on a real Prometheus is checked in prometheus.rs.

use serde_json::Value;
use shoal_tests::{Shoal, free_port, workspace};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The dashboard file, parsed.
fn dashboard() -> Value {
    let path = workspace().join("docker/grafana/shoal-dashboard.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every panel, those inside collapsed rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        all.push(panel);
        all.extend(panel["panels"].as_array().into_iter().flatten());
    }
    all
}

/// (panel title, PromQL) for every query of every panel.
fn exprs(dashboard: &Value) -> Vec<(String, String)> {
    panels(dashboard)
        .into_iter()
        .flat_map(|panel| {
            let title = panel["title"].as_str().unwrap_or("?").to_string();
            panel["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(move |t| Some((title.clone(), t["expr"].as_str()?.to_string())))
        })
        .collect()
}

/// Each `shoal_…` identifier in a PromQL expression (outside quoted strings), with its byte
/// offset.
fn metric_names(expr: &str) -> Vec<(usize, String)> {
    let bytes = expr.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    let mut names = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'\'' | b'`') => {
                // Skip the string, escapes included.
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b if is_ident(b) => {
                let start = i;
                while i < bytes.len() && is_ident(bytes[i]) {
                    i += 1;
                }
                let word = &expr[start..i];
                if word.starts_with("shoal_") {
                    names.push((start, word.to_string()));
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// A node's `/metrics` page after a little of every kind of traffic, as family name → type
/// and the sample names present.
struct Exposed {
    types: BTreeMap<String, String>,
    samples: BTreeSet<String>,
}

impl Exposed {
    /// The family a referenced name belongs to: `_bucket`, `_sum` and `_count` are stripped
    /// only where what remains is a histogram.
    fn family_of<'a>(&self, name: &'a str) -> &'a str {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix)
                && self.types.get(base).map(String::as_str) == Some("histogram")
            {
                return base;
            }
        }
        name
    }
}

fn exposed() -> Exposed {
    let metrics_port = free_port();
    let node = Shoal::start_with(&["--metrics-port", &metrics_port.to_string()]);
    let mut conn = node.conn();
    let _: () = redis::cmd("SET")
        .arg("a")
        .arg("text")
        .query(&mut conn)
        .expect("SET");
    let _: () = redis::cmd("SET")
        .arg("b")
        .arg("1")
        .arg("EX")
        .arg(3600)
        .query(&mut conn)
        .expect("SET EX");
    let _: Option<String> = redis::cmd("GET").arg("a").query(&mut conn).expect("GET");
    let _: Option<String> = redis::cmd("GET").arg("nope").query(&mut conn).expect("GET");
    let failed: redis::RedisResult<i64> = redis::cmd("INCR").arg("a").query(&mut conn);
    assert!(failed.is_err(), "INCR on text fails");

    let mut stream = TcpStream::connect(("127.0.0.1", metrics_port)).expect("connect /metrics");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: shoal\r\n\r\n")
        .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read /metrics");
    let (head, page) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    let mut exposed = Exposed {
        types: BTreeMap::new(),
        samples: BTreeSet::new(),
    };
    for line in page.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name type");
            exposed.types.insert(name.into(), kind.trim().into());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            exposed.samples.insert(line[..end].to_string());
        }
    }
    exposed
}

#[test]
fn the_dashboard_is_a_grafana_dashboard_with_datasource_and_instance_variables() {
    let dashboard = dashboard();
    let schema = dashboard["schemaVersion"].as_u64().expect("schemaVersion");
    assert!((36..=41).contains(&schema), "schemaVersion {schema}");
    for field in ["title", "uid"] {
        assert!(
            dashboard[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field}"
        );
    }
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("templating.list");
    let variable = |name: &str| {
        variables
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no template variable {name}"))
    };
    let datasource = variable("DS_PROMETHEUS");
    assert_eq!(datasource["type"], "datasource");
    assert_eq!(datasource["query"], "prometheus");
    let instance = variable("instance");
    assert_eq!(instance["type"], "query");
    assert_eq!(instance["datasource"]["uid"], "${DS_PROMETHEUS}");
    assert_eq!(instance["includeAll"], true);
    assert_eq!(instance["multi"], true);
    assert_eq!(instance["allValue"], ".*");
    let query = instance["query"]["query"].as_str().expect("instance query");
    assert!(
        query.starts_with("label_values(shoal_") && query.ends_with(", instance)"),
        "{query}"
    );

    let mut ids = BTreeSet::new();
    let mut cells: BTreeMap<(u64, u64), String> = BTreeMap::new();
    for panel in panels(&dashboard) {
        let title = panel["title"].as_str().expect("every panel has a title");
        let id = panel["id"].as_u64().expect("every panel has an id");
        assert!(ids.insert(id), "panel id {id} twice");
        let grid = &panel["gridPos"];
        let [h, w, x, y] = ["h", "w", "x", "y"].map(|k| {
            grid[k]
                .as_u64()
                .unwrap_or_else(|| panic!("{title}: gridPos.{k}"))
        });
        assert!(x + w <= 24 && w > 0 && h > 0, "{title}: {grid}");
        // No two panels share a grid cell (Grafana would move them).
        for row in y..y + h {
            for column in x..x + w {
                if let Some(other) = cells.insert((row, column), title.to_string()) {
                    panic!("panels {other:?} and {title:?} overlap at ({column}, {row})");
                }
            }
        }
        if panel["type"] == "row" {
            continue;
        }
        assert!(
            panel["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{title}: a description says what the panel shows"
        );
        assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no queries");
        let mut ref_ids = BTreeSet::new();
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
            assert!(
                target["expr"].as_str().is_some_and(|e| !e.is_empty()),
                "{title}"
            );
            let ref_id = target["refId"].as_str().expect("refId");
            assert!(ref_ids.insert(ref_id), "{title}: refId {ref_id} twice");
        }
    }
}

#[test]
fn the_dashboard_covers_what_an_operator_watches() {
    let referenced: BTreeSet<String> = exprs(&dashboard())
        .iter()
        .flat_map(|(_, expr)| metric_names(expr))
        .map(|(_, name)| name)
        .collect();
    let missing: Vec<&str> = [
        "shoal_commands_total",                  // ops/s, total and by command
        "shoal_command_duration_seconds_bucket", // p50 / p99 by command
        "shoal_errors_total",                    // errors by type
        "shoal_command_failed_total",            // failed calls by command
        "shoal_command_rejected_total",          // rejected calls by command
        "shoal_keyspace_hits_total",             // hit ratio
        "shoal_keyspace_misses_total",           // hit ratio
        "shoal_keys",                            // keys per db
        "shoal_keys_with_expiry",                // keys with expiry per db
        "shoal_expired_keys_total",              // expired keys rate
        "shoal_evicted_keys_total",              // evicted keys rate
        "shoal_memory_used_bytes",               // memory used…
        "shoal_memory_max_bytes",                // …vs max
        "shoal_connected_clients",               // connections now
        "shoal_connections_received_total",      // accepted per second
        "shoal_connections_rejected_total",      // rejected per second
        "shoal_net_input_bytes_total",           // network in
        "shoal_net_output_bytes_total",          // network out
        "shoal_uptime_seconds",                  // uptime
    ]
    .into_iter()
    .filter(|name| !referenced.contains(*name))
    .collect();
    assert!(missing.is_empty(), "no panel shows {missing:?}");
    let quantiles: BTreeSet<String> = exprs(&dashboard())
        .iter()
        .filter_map(|(_, expr)| {
            let rest = expr.strip_prefix("histogram_quantile(")?;
            Some(rest.split(',').next()?.trim().to_string())
        })
        .collect();
    assert!(
        quantiles.contains("0.5") && quantiles.contains("0.99"),
        "{quantiles:?}"
    );
}

#[test]
fn every_metric_the_dashboard_queries_is_exposed_by_a_node() {
    let exposed = exposed();
    let mut missing = Vec::new();
    for (title, expr) in exprs(&dashboard()) {
        for (_, name) in metric_names(&expr) {
            let family = exposed.family_of(&name);
            if !exposed.types.contains_key(family) || !exposed.samples.contains(&name) {
                missing.push(format!("{name} (panel {title:?})"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the dashboard queries series /metrics does not serve:\n{}\nserved: {:?}",
        missing.join("\n"),
        exposed.samples
    );
}

#[test]
fn counters_and_buckets_are_rated_and_gauges_are_not() {
    let exposed = exposed();
    let mut wrong = Vec::new();
    for (title, expr) in exprs(&dashboard()) {
        for (at, name) in metric_names(&expr) {
            let family = exposed.family_of(&name);
            let kind = exposed.types.get(family).map_or("?", String::as_str);
            let before = expr[..at].trim_end();
            let rated = ["rate(", "irate(", "increase("]
                .iter()
                .any(|f| before.ends_with(f));
            let should_rate = match kind {
                "counter" => true,
                "histogram" => name.ends_with("_bucket"),
                _ => false,
            };
            if rated != should_rate {
                wrong.push(format!(
                    "{name} ({kind}) {} in panel {title:?}: {expr}",
                    if rated { "rated" } else { "not rated" }
                ));
            }
            if name.ends_with("_bucket") && !expr.starts_with("histogram_quantile(") {
                wrong.push(format!("{name} outside histogram_quantile: {expr}"));
            }
        }
        if expr.starts_with("histogram_quantile(") && !expr.contains(" le)") {
            wrong.push(format!("histogram_quantile without `by (…, le)`: {expr}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_query_follows_the_instance_variable() {
    let mut unfiltered = Vec::new();
    for (title, expr) in exprs(&dashboard()) {
        for (at, name) in metric_names(&expr) {
            let selector = &expr[at + name.len()..];
            let filtered = selector
                .strip_prefix('{')
                .and_then(|s| s.split_once('}'))
                .is_some_and(|(labels, _)| labels.contains("instance=~\"$instance\""));
            if !filtered {
                unfiltered.push(format!("{name} in panel {title:?}: {expr}"));
            }
        }
    }
    assert!(
        unfiltered.is_empty(),
        "selectors without instance=~\"$instance\":\n{}",
        unfiltered.join("\n")
    );
}

#[test]
fn metric_names_are_found_outside_strings_only() {
    let names: Vec<String> = metric_names(
        "sum by (cmd) (rate(shoal_commands_total{job=\"shoal_x\",cmd!~'shoal_y'}[1m])) \
         / on(instance) shoal_maxclients",
    )
    .into_iter()
    .map(|(_, name)| name)
    .collect();
    assert_eq!(names, ["shoal_commands_total", "shoal_maxclients"]);
}
