//! Server-wide counters that connections bump without sharing a cache line.
//!
//! A [`Counter`] is an array of cache-padded atomics; each thread adds to its own slot and a
//! reader sums the slots. Bumping one costs a relaxed add on a line no other core writes.

use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Slots per counter: enough that the runtime's worker threads rarely share one.
const SLOTS: usize = 16;

/// A counter sharded by thread. It never goes down: `reset` (CONFIG RESETSTAT) sets a
/// baseline that [`Counter::get`] subtracts, while [`Counter::total`] keeps counting since the
/// start (what Prometheus exports: its counters must only go down on a restart).
pub struct Counter {
    slots: [CachePadded<AtomicU64>; SLOTS],
    baseline: AtomicU64,
}

impl Default for Counter {
    fn default() -> Self {
        Counter {
            slots: std::array::from_fn(|_| CachePadded::new(AtomicU64::new(0))),
            baseline: AtomicU64::new(0),
        }
    }
}

fn slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS;
    }
    SLOT.with(|s| *s)
}

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.slots[slot()].fetch_add(n, Ordering::Relaxed);
    }

    /// The count since the process started.
    pub fn total(&self) -> u64 {
        self.slots.iter().map(|s| s.load(Ordering::Relaxed)).sum()
    }

    /// The count since the last [`Counter::reset`] (what INFO shows).
    pub fn get(&self) -> u64 {
        self.total()
            .saturating_sub(self.baseline.load(Ordering::Relaxed))
    }

    /// Makes [`Counter::get`] start again from zero.
    pub fn reset(&self) {
        self.baseline.store(self.total(), Ordering::Relaxed);
    }
}

/// The counters `INFO stats` reports.
#[derive(Default)]
pub struct Stats {
    pub connections_received: Counter,
    pub rejected_connections: Counter,
    pub commands_processed: Counter,
    pub net_input_bytes: Counter,
    pub net_output_bytes: Counter,
    pub error_replies: Counter,
    /// Socket reads and writes performed for clients.
    pub reads_processed: Counter,
    pub writes_processed: Counter,
    /// Clients closed for passing `client-query-buffer-limit`.
    pub query_buffer_limit_disconnections: Counter,
    /// Commands per second, averaged over the last samples (see `Sampler`).
    pub ops_per_sec: AtomicU64,
}

impl Stats {
    /// Zeroes what `CONFIG RESETSTAT` resets.
    pub fn reset(&self) {
        self.connections_received.reset();
        self.rejected_connections.reset();
        self.commands_processed.reset();
        self.net_input_bytes.reset();
        self.net_output_bytes.reset();
        self.error_replies.reset();
        self.reads_processed.reset();
        self.writes_processed.reset();
        self.query_buffer_limit_disconnections.reset();
    }
}

/// Computes `instantaneous_ops_per_sec` as Redis does: the mean rate over the last 16
/// samples taken every 100 ms.
#[derive(Default)]
pub struct Sampler {
    samples: [u64; 16],
    next: usize,
    last_count: u64,
    last_ms: u64,
}

impl Sampler {
    /// Records the counter at `now_ms`; returns the new average rate.
    pub fn sample(&mut self, count: u64, now_ms: u64) -> u64 {
        if self.last_ms != 0 && now_ms > self.last_ms {
            let ops = count.saturating_sub(self.last_count);
            self.samples[self.next] = ops * 1000 / (now_ms - self.last_ms);
            self.next = (self.next + 1) % self.samples.len();
        }
        self.last_count = count;
        self.last_ms = now_ms;
        self.samples.iter().sum::<u64>() / self.samples.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_sum_over_threads() {
        let counter = std::sync::Arc::new(Counter::default());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let c = counter.clone();
                std::thread::spawn(move || (0..1000).for_each(|_| c.add(1)))
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().expect("thread"));
        assert_eq!(counter.get(), 4000);
    }

    #[test]
    fn sampler_averages_rates() {
        let mut s = Sampler::default();
        s.sample(0, 1000);
        let mut rate = 0;
        for i in 1..=16 {
            rate = s.sample(i * 100, 1000 + i * 100);
        }
        assert_eq!(rate, 1000);
    }
}
