//! Part 1 of `eviction`: the trace replayed cache-aside (GET, SET on a miss) against one
//! server, counting hits and misses after the warm-up.

use super::Options;
use super::trace::key;
use crate::resp::{Connection, Reply, encode_command};
use crate::servers::Server;
use anyhow::bail;
use std::time::Instant;

/// Hits and misses of one stretch of the trace.
#[derive(Debug, Default)]
pub(super) struct Counts {
    pub(super) hits: u64,
    pub(super) misses: u64,
    /// SETs refused (OOM under noeviction or a volatile policy), and the first reason.
    pub(super) set_errors: u64,
    pub(super) first_set_error: Option<String>,
}

/// Part 1's figures for one server.
pub(super) struct HitRate {
    pub(super) warm: Counts,
    pub(super) measured: Counts,
    /// Keys the server held at the end.
    pub(super) held: u64,
    /// `evicted_keys` at the end of the warm-up and at the end.
    pub(super) evicted_warm: u64,
    pub(super) evicted: u64,
    pub(super) used_memory: u64,
    pub(super) measured_secs: f64,
}

impl HitRate {
    pub(super) fn rate(&self) -> f64 {
        let total = self.measured.hits + self.measured.misses;
        self.measured.hits as f64 / total.max(1) as f64
    }
}

/// Replays the trace cache-aside: warm-up, then the measured part.
pub(super) fn hit_rate(
    server: &Server,
    label: &str,
    trace: &[u32],
    options: &Options,
) -> anyhow::Result<HitRate> {
    let mut conn = server.connect()?;
    let value = vec![b'x'; options.value_size];
    let warmup = (options.warmup as usize).min(trace.len());
    let (warm_trace, measured_trace) = trace.split_at(warmup);
    eprintln!("{label}: warm-up, {} GETs ...", warm_trace.len());
    let mut warm = Counts::default();
    replay(
        &mut conn,
        label,
        warm_trace,
        &value,
        options.batch,
        &mut warm,
    )?;
    let evicted_warm = server.info_u64("stats", "evicted_keys")?;
    let used = server.info_u64("memory", "used_memory")?;
    if used > options.maxmemory_bytes.saturating_mul(3) / 2 {
        bail!(
            "{label} accepted maxmemory {} ({} bytes) but uses {used} bytes after the \
             warm-up, having evicted {evicted_warm} keys: it does not enforce maxmemory",
            options.maxmemory,
            options.maxmemory_bytes
        );
    }
    eprintln!("{label}: measuring, {} GETs ...", measured_trace.len());
    let started = Instant::now();
    let mut measured = Counts::default();
    replay(
        &mut conn,
        label,
        measured_trace,
        &value,
        options.batch,
        &mut measured,
    )?;
    let measured_secs = started.elapsed().as_secs_f64();
    Ok(HitRate {
        warm,
        measured,
        held: conn.call_int(&["DBSIZE"])?.max(0) as u64,
        evicted_warm,
        evicted: server.info_u64("stats", "evicted_keys")?,
        used_memory: server.info_u64("memory", "used_memory")?,
        measured_secs,
    })
}

/// GETs `ids` in batches of `batch`, then SETs each key of the batch that missed.
pub(super) fn replay(
    conn: &mut Connection,
    label: &str,
    ids: &[u32],
    value: &[u8],
    batch: usize,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    let mut missed: Vec<u32> = Vec::with_capacity(batch);
    for chunk in ids.chunks(batch) {
        bytes.clear();
        for &id in chunk {
            bytes.extend_from_slice(&encode_command(&[b"GET", key(id).as_bytes()]));
        }
        conn.send(&bytes)?;
        missed.clear();
        for &id in chunk {
            match conn.read_reply()? {
                Reply::Bulk(Some(_)) => counts.hits += 1,
                Reply::Bulk(None) => {
                    counts.misses += 1;
                    if !missed.contains(&id) {
                        missed.push(id);
                    }
                }
                other => bail!("{label}: GET {} answered {other:?}", key(id)),
            }
        }
        if missed.is_empty() {
            continue;
        }
        bytes.clear();
        for &id in &missed {
            bytes.extend_from_slice(&encode_command(&[b"SET", key(id).as_bytes(), value]));
        }
        conn.send(&bytes)?;
        for &id in &missed {
            match conn.read_reply()? {
                Reply::Simple(ok) if ok == "OK" => {}
                Reply::Error(error) => {
                    counts.set_errors += 1;
                    counts.first_set_error.get_or_insert(error);
                }
                other => bail!("{label}: SET {} answered {other:?}", key(id)),
            }
        }
    }
    Ok(())
}
