//! Part 2 of `eviction`: GET round trips of a resident key, alone and while another
//! connection writes far past maxmemory.

use super::Options;
use super::trace::key;
use crate::resp::{Connection, Reply, encode_command};
use crate::servers::Server;
use anyhow::{anyhow, bail};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Round-trip times of a stretch of probe GETs, in nanoseconds.
#[derive(Debug, Default)]
pub(super) struct Probes {
    pub(super) nanos: Vec<u64>,
    /// GETs that found the probe key gone (evicted).
    pub(super) nils: u64,
}

impl Probes {
    /// The `q` quantile (0..=1) in microseconds, from sorted `nanos`.
    pub(super) fn quantile_us(&self, q: f64) -> f64 {
        if self.nanos.is_empty() {
            return 0.0;
        }
        let rank = ((q * self.nanos.len() as f64).ceil() as usize).clamp(1, self.nanos.len());
        self.nanos[rank - 1] as f64 / 1000.0
    }
}

/// Part 2's figures for one server.
pub(super) struct Storm {
    pub(super) quiet: Probes,
    pub(super) storm: Probes,
    pub(super) written: u64,
    pub(super) secs: f64,
    pub(super) set_errors: u64,
    pub(super) first_set_error: Option<String>,
    pub(super) evicted: u64,
    pub(super) peak_used: u64,
    /// `used_memory` half a second after the storm.
    pub(super) settled_used: u64,
}

pub(super) const PROBE_KEY: &str = "probe:key";

/// Times probe GETs alone and then during a storm of big writes.
pub(super) fn storm(server: &Server, label: &str, options: &Options) -> anyhow::Result<Storm> {
    let mut probe = server.connect()?;
    fill(server, label, options)?;
    set_probe(&mut probe, label)?;
    let get = encode_command(&[b"GET", PROBE_KEY.as_bytes()]);
    eprintln!("{label}: {} quiet probes ...", options.quiet_probes);
    let quiet = time_probes(&mut probe, label, &get, None, options.quiet_probes)?;

    let evicted_before = server.info_u64("stats", "evicted_keys")?;
    let duration = Duration::from_secs(options.storm_seconds);
    eprintln!(
        "{label}: storm, writing values of {} bytes for {duration:?} ...",
        options.storm_value_size
    );
    let mut writer = server.connect()?;
    let stop = AtomicBool::new(false);
    let (written, outcome) = std::thread::scope(|scope| {
        let prober = scope.spawn(|| time_probes(&mut probe, label, &get, Some(&stop), u64::MAX));
        let started = Instant::now();
        let written = write_storm(server, &mut writer, label, duration, options);
        let secs = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let probes = prober
            .join()
            .map_err(|_| anyhow!("{label}: the probe thread panicked"))
            .and_then(|probes| probes);
        (written.map(|w| (w, secs)), probes)
    });
    let (written, secs) = written?;
    let storm = outcome?;
    std::thread::sleep(Duration::from_millis(500));
    let settled_used = server.info_u64("memory", "used_memory")?;
    Ok(Storm {
        quiet,
        storm,
        written: written.bytes,
        secs,
        set_errors: written.errors,
        first_set_error: written.first_error,
        evicted: server
            .info_u64("stats", "evicted_keys")?
            .saturating_sub(evicted_before),
        peak_used: written.peak_used,
        settled_used,
    })
}

/// Writes the probe key (a refusal, e.g. OOM under noeviction, is reported, not fatal: the
/// probes then time GETs that miss).
pub(super) fn set_probe(conn: &mut Connection, label: &str) -> anyhow::Result<()> {
    match conn.call(&[b"SET", PROBE_KEY.as_bytes(), b"probe-value"])? {
        Reply::Simple(ok) if ok == "OK" => Ok(()),
        Reply::Error(_) => Ok(()),
        other => bail!("{label}: SET {PROBE_KEY} answered {other:?}"),
    }
}

/// Writes small keys (as the hit-rate replay does) until the server starts evicting, or
/// refuses a write, or all `--keys` are written: a storm-only run starts from a full server.
pub(super) fn fill(server: &Server, label: &str, options: &Options) -> anyhow::Result<()> {
    const BATCH: u64 = 1000;
    let evicted = server.info_u64("stats", "evicted_keys")?;
    if evicted > 0 {
        return Ok(());
    }
    eprintln!("{label}: filling to maxmemory ...");
    let mut conn = server.connect()?;
    let value = vec![b'x'; options.value_size];
    let mut next = 0;
    while next < options.keys {
        let end = (next + BATCH).min(options.keys);
        let mut bytes = Vec::new();
        for id in next..end {
            bytes.extend_from_slice(&encode_command(&[
                b"SET",
                key(id as u32).as_bytes(),
                &value,
            ]));
        }
        conn.send(&bytes)?;
        let mut refused = false;
        for id in next..end {
            match conn.read_reply()? {
                Reply::Simple(ok) if ok == "OK" => {}
                Reply::Error(_) => refused = true,
                other => bail!("{label}: SET {} answered {other:?}", key(id as u32)),
            }
        }
        next = end;
        if refused {
            break;
        }
        // Every 50 batches (~5 MB of 100-byte values), see whether eviction has begun.
        if (next / BATCH).is_multiple_of(50) && server.info_u64("stats", "evicted_keys")? > 0 {
            break;
        }
    }
    Ok(())
}

/// What the storm writer did.
pub(super) struct Written {
    pub(super) bytes: u64,
    pub(super) errors: u64,
    pub(super) first_error: Option<String>,
    pub(super) peak_used: u64,
}

/// Writes new big values in pipelined batches for `duration`, sampling `used_memory` every
/// 50 ms.
pub(super) fn write_storm(
    server: &Server,
    conn: &mut Connection,
    label: &str,
    duration: Duration,
    options: &Options,
) -> anyhow::Result<Written> {
    let value = vec![b's'; options.storm_value_size];
    let mut written = Written {
        bytes: 0,
        errors: 0,
        first_error: None,
        peak_used: server.info_u64("memory", "used_memory")?,
    };
    let mut next_key = 0u64;
    let mut last_sample = Instant::now();
    let mut bytes = Vec::new();
    let started = Instant::now();
    while started.elapsed() < duration {
        bytes.clear();
        for _ in 0..options.storm_pipeline {
            let key = format!("storm:{next_key:012}");
            next_key += 1;
            bytes.extend_from_slice(&encode_command(&[b"SET", key.as_bytes(), &value]));
        }
        conn.send(&bytes)?;
        for _ in 0..options.storm_pipeline {
            match conn.read_reply()? {
                Reply::Simple(ok) if ok == "OK" => {}
                Reply::Error(error) => {
                    written.errors += 1;
                    written.first_error.get_or_insert(error);
                }
                other => bail!("{label}: storm SET answered {other:?}"),
            }
        }
        written.bytes += (options.storm_pipeline * options.storm_value_size) as u64;
        if last_sample.elapsed() >= Duration::from_millis(50) {
            let used = server.info_u64("memory", "used_memory")?;
            written.peak_used = written.peak_used.max(used);
            last_sample = Instant::now();
        }
    }
    let used = server.info_u64("memory", "used_memory")?;
    written.peak_used = written.peak_used.max(used);
    Ok(written)
}

/// Sends the encoded `get` and times each round trip, `count` times or until `stop`. A GET
/// that finds the key gone counts as a nil and SETs it again, untimed.
pub(super) fn time_probes(
    conn: &mut Connection,
    label: &str,
    get: &[u8],
    stop: Option<&AtomicBool>,
    count: u64,
) -> anyhow::Result<Probes> {
    let mut probes = Probes::default();
    let mut done = 0;
    while done < count && !stop.is_some_and(|stop| stop.load(Ordering::Relaxed)) {
        let started = Instant::now();
        conn.send(get)?;
        let reply = conn.read_reply()?;
        probes.nanos.push(started.elapsed().as_nanos() as u64);
        match reply {
            Reply::Bulk(Some(_)) => {}
            Reply::Bulk(None) => {
                probes.nils += 1;
                set_probe(conn, label)?;
            }
            other => bail!("{label}: GET {PROBE_KEY} answered {other:?}"),
        }
        done += 1;
    }
    probes.nanos.sort_unstable();
    Ok(probes)
}
