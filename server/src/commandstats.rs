//! Per-command statistics (`INFO commandstats`, `latencystats`, `errorstats`, Prometheus).
//!
//! Every thread that runs commands keeps its own counters — calls, microseconds, failed and
//! rejected calls and a latency histogram per command, and a count per error code — which
//! only that thread writes. Recording is a few plain stores on memory no other core writes;
//! readers (INFO, a scrape) sum all threads' counters. `CONFIG RESETSTAT` does not write into
//! other threads' counters either: it records a baseline that later readings subtract.
//!
//! Latencies go into a log-linear histogram: 1..9 µs one by one, then ten buckets per
//! decade (10, 12, 15, 20, 25, 30, 40, 50, 60, 80 × 10ⁿ µs) up to 10 s, which contains
//! every Prometheus bucket boundary we export (10 µs … 1 s) and gives percentiles within
//! about 25%.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

/// Upper bounds (µs, inclusive) of the latency buckets; above the last is the overflow bucket.
pub static BOUNDS_US: LazyLock<Vec<u64>> = LazyLock::new(|| {
    let mut bounds: Vec<u64> = (1..10).collect();
    let mut scale = 1;
    for _decade in 0..6 {
        bounds.extend(
            [10, 12, 15, 20, 25, 30, 40, 50, 60, 80]
                .iter()
                .map(|m| m * scale),
        );
        scale *= 10;
    }
    bounds.push(10 * scale);
    bounds
});

/// Number of latency buckets, the overflow bucket included.
fn bucket_count() -> usize {
    BOUNDS_US.len() + 1
}

/// The bucket a duration falls in.
fn bucket_of(us: u64) -> usize {
    BOUNDS_US.partition_point(|&bound| bound < us)
}

/// One command's counters in one thread.
struct Counters {
    calls: AtomicU64,
    usec: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
    buckets: Box<[AtomicU64]>,
}

impl Counters {
    fn new() -> Counters {
        Counters {
            calls: AtomicU64::new(0),
            usec: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            buckets: (0..bucket_count()).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// Adds `n` to a counter only this thread writes (no read-modify-write instruction needed).
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
}

/// One thread's counters.
struct ThreadStats {
    commands: Box<[Counters]>,
    errors: Mutex<HashMap<String, u64>>,
}

/// Every thread's counters, and the baseline `CONFIG RESETSTAT` took.
struct Registry {
    threads: Mutex<Vec<Arc<ThreadStats>>>,
    baseline: Mutex<Snapshot>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| Registry {
    threads: Mutex::new(Vec::new()),
    baseline: Mutex::new(Snapshot::default()),
});

thread_local! {
    static MINE: Arc<ThreadStats> = {
        let stats = Arc::new(ThreadStats {
            commands: (0..crate::command::table::ids()).map(|_| Counters::new()).collect(),
            errors: Mutex::new(HashMap::new()),
        });
        REGISTRY.threads.lock().push(stats.clone());
        stats
    };
}

/// Records a call of command `id` that took `us` microseconds (`failed`: it answered an error).
pub fn record_call(id: usize, us: u64, failed: bool) {
    MINE.with(|mine| {
        let Some(c) = mine.commands.get(id) else {
            return;
        };
        bump(&c.calls, 1);
        bump(&c.usec, us);
        if failed {
            bump(&c.failed, 1);
        }
        bump(&c.buckets[bucket_of(us)], 1);
    });
}

/// Records that command `id` was refused before running (wrong arity, inside MULTI…).
pub fn record_rejected(id: usize) {
    MINE.with(|mine| {
        if let Some(c) = mine.commands.get(id) {
            bump(&c.rejected, 1);
        }
    });
}

/// Most distinct error codes tracked, as Redis (beyond it, errors are not broken down).
const MAX_ERROR_CODES: usize = 128;

/// Records an error reply by its code (the first word: `ERR`, `WRONGTYPE`…).
pub fn record_error(text: &str) {
    let code = text
        .split(' ')
        .next()
        .filter(|c| !c.is_empty())
        .unwrap_or("ERR");
    MINE.with(|mine| {
        let mut errors = mine.errors.lock();
        if let Some(count) = errors.get_mut(code) {
            *count += 1;
        } else if errors.len() < MAX_ERROR_CODES {
            errors.insert(code.to_string(), 1);
        }
    });
}

/// Summed counters of one command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandTotals {
    pub calls: u64,
    pub usec: u64,
    pub failed: u64,
    pub rejected: u64,
    /// Per latency bucket (see [`BOUNDS_US`]).
    pub buckets: Vec<u64>,
}

impl CommandTotals {
    /// The latency (µs, a bucket's upper bound) below which `percentile` % of calls fell.
    pub fn percentile_us(&self, percentile: f64) -> u64 {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return 0;
        }
        let wanted = ((percentile / 100.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (index, count) in self.buckets.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                return BOUNDS_US.get(index).copied().unwrap_or(u64::MAX);
            }
        }
        u64::MAX
    }

    fn minus(&self, base: &CommandTotals) -> CommandTotals {
        CommandTotals {
            calls: self.calls.saturating_sub(base.calls),
            usec: self.usec.saturating_sub(base.usec),
            failed: self.failed.saturating_sub(base.failed),
            rejected: self.rejected.saturating_sub(base.rejected),
            buckets: self
                .buckets
                .iter()
                .enumerate()
                .map(|(i, n)| n.saturating_sub(base.buckets.get(i).copied().unwrap_or(0)))
                .collect(),
        }
    }
}

/// Every command's and error code's totals at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// By command id.
    pub commands: Vec<CommandTotals>,
    /// By error code.
    pub errors: HashMap<String, u64>,
}

/// Totals since the process started, whatever `CONFIG RESETSTAT` did (for Prometheus, whose
/// counters may only go down on a restart).
pub fn total_snapshot() -> Snapshot {
    raw_snapshot()
}

fn raw_snapshot() -> Snapshot {
    let ids = crate::command::table::ids();
    let mut commands = vec![
        CommandTotals {
            buckets: vec![0; bucket_count()],
            ..CommandTotals::default()
        };
        ids
    ];
    let mut errors: HashMap<String, u64> = HashMap::new();
    for thread in REGISTRY.threads.lock().iter() {
        for (total, c) in commands.iter_mut().zip(thread.commands.iter()) {
            total.calls += c.calls.load(Ordering::Relaxed);
            total.usec += c.usec.load(Ordering::Relaxed);
            total.failed += c.failed.load(Ordering::Relaxed);
            total.rejected += c.rejected.load(Ordering::Relaxed);
            for (sum, bucket) in total.buckets.iter_mut().zip(c.buckets.iter()) {
                *sum += bucket.load(Ordering::Relaxed);
            }
        }
        for (code, count) in thread.errors.lock().iter() {
            *errors.entry(code.clone()).or_default() += count;
        }
    }
    Snapshot { commands, errors }
}

/// Totals since the start (or the last [`reset`]).
pub fn snapshot() -> Snapshot {
    let now = raw_snapshot();
    let base = REGISTRY.baseline.lock();
    if base.commands.is_empty() {
        return now;
    }
    Snapshot {
        commands: now
            .commands
            .iter()
            .zip(base.commands.iter())
            .map(|(n, b)| n.minus(b))
            .collect(),
        errors: now
            .errors
            .iter()
            .map(|(code, n)| {
                (
                    code.clone(),
                    n.saturating_sub(base.errors.get(code).copied().unwrap_or(0)),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect(),
    }
}

/// Starts counting from zero (`CONFIG RESETSTAT`).
pub fn reset() {
    *REGISTRY.baseline.lock() = raw_snapshot();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_contain_every_prometheus_boundary() {
        for bound in [
            10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000,
            250_000, 500_000, 1_000_000,
        ] {
            assert!(BOUNDS_US.contains(&bound), "{bound}");
        }
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 0);
        assert_eq!(
            bucket_of(10),
            BOUNDS_US.iter().position(|&b| b == 10).unwrap_or(0)
        );
        assert_eq!(
            bucket_of(11),
            BOUNDS_US.iter().position(|&b| b == 12).unwrap_or(0)
        );
        assert_eq!(bucket_of(u64::MAX), BOUNDS_US.len());
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        let mut totals = CommandTotals {
            buckets: vec![0; bucket_count()],
            ..CommandTotals::default()
        };
        for us in [1u64; 98].into_iter().chain([1_000, 100_000]) {
            totals.buckets[bucket_of(us)] += 1;
        }
        assert_eq!(totals.percentile_us(50.0), 1);
        assert_eq!(totals.percentile_us(99.0), 1_000);
        assert_eq!(totals.percentile_us(99.9), 100_000);
    }
}
