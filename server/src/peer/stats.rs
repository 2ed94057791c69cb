//! Forwarding counters for `/metrics`: requests and failures by peer, link state by peer,
//! the forward latency histogram and redirects sent.
//!
//! Per-peer counters are `Arc`s the link pools keep beside their links, so counting a request
//! is one relaxed atomic add; the map from peer to counters is locked only when a pool first
//! meets a peer and when metrics are scraped.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the forward latency histogram, in µs (25 µs … 1 s).
pub const LATENCY_BOUNDS_US: [u64; 14] = [
    25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
];

/// Counters of one peer.
#[derive(Default)]
pub struct PeerStats {
    /// Requests sent to the peer (each part of a split command counts once).
    pub forwarded: AtomicU64,
    /// Requests that failed because the link was down or lost.
    pub failed: AtomicU64,
    /// Links to the peer that are connected and authenticated right now.
    pub links_up: AtomicI64,
    /// Connection attempts that failed (refused, timed out, handshake refused).
    pub connect_failures: AtomicU64,
}

/// Every forwarding counter of the node.
#[derive(Default)]
pub struct ForwardStats {
    peers: Mutex<BTreeMap<SocketAddr, Arc<PeerStats>>>,
    /// Per bucket of [`LATENCY_BOUNDS_US`], then one for slower requests.
    latency_buckets: [AtomicU64; LATENCY_BOUNDS_US.len() + 1],
    latency_sum_us: AtomicU64,
    /// `-MOVED` replies sent (redirect mode).
    pub redirects: AtomicU64,
}

impl ForwardStats {
    /// The counters of `peer`, created on first use.
    pub fn peer(&self, peer: SocketAddr) -> Arc<PeerStats> {
        self.peers.lock().entry(peer).or_default().clone()
    }

    /// Every peer met so far and its counters.
    pub fn peers(&self) -> Vec<(SocketAddr, Arc<PeerStats>)> {
        self.peers
            .lock()
            .iter()
            .map(|(peer, stats)| (*peer, stats.clone()))
            .collect()
    }

    /// Records the time from sending a request to its reply.
    pub fn record_latency(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BOUNDS_US
            .iter()
            .position(|bound| us <= *bound)
            .unwrap_or(LATENCY_BOUNDS_US.len());
        self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// The histogram: per-bucket counts (the last one past every bound) and the sum in µs.
    pub fn latency(&self) -> (Vec<u64>, u64) {
        let buckets = self
            .latency_buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        (buckets, self.latency_sum_us.load(Ordering::Relaxed))
    }
}
