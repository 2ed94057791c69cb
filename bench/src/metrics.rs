//! `shoal-bench metrics`: what serving Prometheus costs the request path.
//!
//! Two Shoal nodes from the same binary run side by side: one with its metrics endpoint off,
//! one with it on and scraped every second (as a Prometheus with a 1 s interval would).
//! redis-benchmark drives them alternately, round after round; the table gives the medians
//! and the on/off ratio, which should stay within a few percent of 1.

use crate::args::each_flag;
use crate::redis_benchmark::{self, Params};
use crate::servers::{self, Server};
use anyhow::bail;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

pub(crate) const USAGE: &str = "\
Usage: shoal-bench metrics [options]

Runs redis-benchmark SET and GET (pipeline 1 and 16, 50 clients) alternately against two
shoal nodes: metrics off, and metrics on with /metrics scraped every second. Prints the
median requests/s of each and the on/off ratio.

Options:
  --rounds N      rounds (default 5)
  --shoal PATH    shoal binary (default: target/release/shoal, built if stale)";

/// Parses options; `None` for `--help`.
pub(crate) fn parse(args: &[String]) -> anyhow::Result<Option<(u32, Option<std::path::PathBuf>)>> {
    let (mut rounds, mut shoal) = (5, None);
    let finished = each_flag(args, &[], |flag| {
        match flag.name {
            "--rounds" => rounds = flag.positive()?,
            "--shoal" => shoal = Some(flag.value()?.into()),
            other => bail!("unknown option {other}\n\n{USAGE}"),
        }
        Ok(())
    })?;
    if !finished {
        return Ok(None);
    }
    Ok(Some((rounds, shoal)))
}

/// Fetches `/metrics` once a second until `stop`; counts successful scrapes.
fn scrape_every_second(port: u16, stop: Arc<AtomicBool>, scrapes: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n");
            let mut page = String::new();
            if stream.read_to_string(&mut page).is_ok() && page.starts_with("HTTP/1.1 200") {
                scrapes.fetch_add(1, Ordering::Relaxed);
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Runs the comparison.
pub(crate) fn run(rounds: u32, shoal: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let binary = match shoal {
        Some(path) => path,
        None => servers::shoal_binary()?,
    };
    let metrics_port = servers::free_port()?;
    let port_arg = metrics_port.to_string();
    let off = Server::start_shoal(&binary, &[])?;
    let on = Server::start_shoal(&binary, &["--metrics-port", &port_arg])?;
    let stop = Arc::new(AtomicBool::new(false));
    let scrapes = Arc::new(AtomicU64::new(0));
    let scraper = {
        let (stop, scrapes) = (stop.clone(), scrapes.clone());
        std::thread::spawn(move || scrape_every_second(metrics_port, stop, scrapes))
    };
    let cases = [
        ("set", 1u32, 200_000u64),
        ("get", 1, 200_000),
        ("set", 16, 3_000_000),
        ("get", 16, 3_000_000),
    ];
    let mut results: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); cases.len()];
    for round in 1..=rounds {
        for (index, (test, pipeline, requests)) in cases.iter().enumerate() {
            for (server, into_on) in [(&off, false), (&on, true)] {
                let outcome = redis_benchmark::run(&Params {
                    port: server.port,
                    test: test.to_string(),
                    pipeline: *pipeline,
                    clients: 50,
                    requests: *requests,
                    keyspace: 100_000,
                    data_size: 3,
                    timeout: Duration::from_secs(300),
                    cluster: false,
                })?;
                let rps = outcome.rows.first().map_or(0.0, |r| r.rps);
                eprintln!(
                    "round {round}/{rounds} {test} -P {pipeline} metrics {}: {rps:.0} rps",
                    if into_on { "on " } else { "off" }
                );
                if into_on {
                    results[index].1.push(rps);
                } else {
                    results[index].0.push(rps);
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = scraper.join();
    println!();
    println!(
        "{:<5} {:>4} {:>14} {:>14} {:>8}",
        "test", "pipe", "metrics off", "metrics on", "on/off"
    );
    for ((test, pipeline, _), (off_rps, on_rps)) in cases.iter().zip(results) {
        let (a, b) = (median(off_rps), median(on_rps));
        println!(
            "{test:<5} {pipeline:>4} {a:>14.0} {b:>14.0} {:>8.3}",
            b / a.max(1.0)
        );
    }
    println!(
        "\nthe 'on' node was scraped {} times (once a second) during the runs",
        scrapes.load(Ordering::Relaxed)
    );
    Ok(())
}
