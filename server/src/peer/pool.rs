//! The links of this worker thread to each peer (by node id), replaced with backoff when they
//! fail.
//!
//! Every worker thread keeps its own small pool per peer ([`LINKS_PER_PEER`] links), so that
//! forwarding from a connection never crosses threads: the link tasks run on the worker that
//! opened them, like the connections that use them. A client always uses the same link to a
//! given peer (chosen by its id), so its requests to that peer arrive in the order it sent
//! them. A link that failed is replaced on the next request: at once if it had been up,
//! otherwise after a backoff (50 ms doubling to 2 s) during which requests to that peer fail
//! immediately instead of waiting. A link closes (failing what waits on it) when its socket
//! does, or when the cluster declares the peer down.

use super::link::{Link, Outgoing};
use super::stats::PeerStats;
use super::{Forwarder, Peer};
use bytes::Bytes;
use shoal_cluster::{NodeId, TopologyHandle};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Links per peer per worker thread.
pub const LINKS_PER_PEER: usize = 2;
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// This thread's links to one peer.
struct PeerLinks {
    links: Vec<Option<Link>>,
    stats: Arc<PeerStats>,
    /// Consecutive failed connection attempts, and when the next may start.
    failures: u32,
    retry_at: Instant,
}

thread_local! {
    static POOLS: RefCell<HashMap<NodeId, PeerLinks>> = RefCell::new(HashMap::new());
}

/// Sends a request to `peer` on the link of `client_id`. `None`: the peer cannot be reached
/// now (its links failed and the backoff has not passed); the caller answers an error.
///
/// `topology` is asked for only when a link is opened: the link closes once the cluster no
/// longer counts the peer as live.
pub fn send(
    peer: Peer,
    client_id: u64,
    bytes: Vec<u8>,
    forwarder: &Forwarder,
    topology: impl FnOnce() -> Option<TopologyHandle>,
) -> Option<oneshot::Receiver<Bytes>> {
    let stats = &forwarder.stats;
    POOLS.with(|pools| {
        let mut pools = pools.borrow_mut();
        let links = pools.entry(peer.id).or_insert_with(|| PeerLinks {
            links: (0..LINKS_PER_PEER).map(|_| None).collect(),
            stats: stats.peer(peer.addr),
            failures: 0,
            retry_at: Instant::now(),
        });
        let index = (client_id % LINKS_PER_PEER as u64) as usize;
        let usable = links.links[index].as_ref().is_some_and(Link::is_alive);
        if !usable {
            let had_connected = links.links[index].as_ref().is_some_and(Link::was_up);
            if had_connected || links.links[index].is_none() {
                links.failures = 0;
            } else {
                let now = Instant::now();
                if now < links.retry_at {
                    links.stats.failed.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
                links.failures = links.failures.saturating_add(1);
                links.retry_at = now + backoff(links.failures);
            }
            links.links[index] = Some(Link::open(
                peer,
                forwarder.secret.clone(),
                topology(),
                links.stats.clone(),
                stats.clone(),
            ));
        }
        let link = links.links[index].as_ref()?;
        let (tx, rx) = oneshot::channel();
        if link.send(Outgoing { bytes, reply: tx }).is_err() {
            links.stats.failed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        links.stats.forwarded.fetch_add(1, Ordering::Relaxed);
        Some(rx)
    })
}

fn backoff(failures: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << failures.min(8))
        .min(MAX_BACKOFF)
}
