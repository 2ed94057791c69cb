//! Snapshots: sending a replica every key it should hold of this node's primary slots.
//!
//! One task per node watches the topology. When it changes, each slot this node is primary
//! of gets a snapshot to every replica that did not own the slot before (a node that joined
//! or came back as a new incarnation, or a new replica after an owner died), restoring R.
//! A replica that lost messages asks for a snapshot of everything (`Message::Resync`).
//!
//! A snapshot walks the keyspace a shard at a time: under the shard's lock it encodes the
//! keys of the wanted slots, then sends them with no lock held, waiting while the peer's
//! stream queue is full so that clients keep their latency and the queue never drops. It
//! ends with `Message::Synced`. Writes made meanwhile are replicated as usual; whichever
//! arrives second is ignored by the replica unless newer (versions decide).

use crate::node::Node;
use crate::peer::Peer;
use crate::peer::stream::Message;
use bytes::Bytes;
use shoal_cluster::slot::{SLOTS, Slot, key_slot};
use shoal_cluster::{NodeId, Topology};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A peer's stream queue above this many bytes holds the snapshot back.
const QUEUE_HIGH: u64 = 8 * 1024 * 1024;
/// How long a throttled snapshot waits before looking at the queue again.
const THROTTLE: Duration = Duration::from_millis(2);

/// A set of slots.
#[derive(Clone)]
struct Slots(Box<[u64]>);

impl Slots {
    fn new() -> Slots {
        Slots(vec![0; usize::from(SLOTS) / 64].into_boxed_slice())
    }

    fn insert(&mut self, slot: Slot) {
        self.0[slot as usize / 64] |= 1 << (slot % 64);
    }

    fn contains(&self, slot: Slot) -> bool {
        self.0[slot as usize / 64] & (1 << (slot % 64)) != 0
    }

    fn union(&mut self, other: &Slots) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= b;
        }
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
}

/// Starts the snapshot task (a no-op without a cluster). Must run inside the node's runtime.
pub fn spawn(node: &Arc<Node>) {
    let Some(cluster) = node.cluster.get() else {
        return;
    };
    let changes = cluster.handle.subscribe();
    tokio::spawn(run(node.clone(), changes));
}

async fn run(node: Arc<Node>, mut changes: tokio::sync::watch::Receiver<Arc<Topology>>) {
    let mut previous = changes.borrow_and_update().clone();
    let has_peers = |t: &Topology| t.live_members().count() > 1;
    node.store.set_changes_wanted(has_peers(&previous));
    let mut due: HashMap<NodeId, Slots> = HashMap::new();
    loop {
        if due.is_empty() {
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                () = node.replication.snapshot_wake.notified() => {}
            }
        }
        let current = changes.borrow_and_update().clone();
        node.store.set_changes_wanted(has_peers(&current));
        if !Arc::ptr_eq(&current, &previous) {
            for (peer, slots) in new_replicas(&previous, &current) {
                due.entry(peer).or_insert_with(Slots::new).union(&slots);
            }
            previous = current.clone();
        }
        let requested: Vec<NodeId> = node.replication.snapshot_requests.lock().drain().collect();
        for peer in requested {
            let slots = replicated_to(&current, peer);
            due.entry(peer).or_insert_with(Slots::new).union(&slots);
        }
        let Some(peer) = due.keys().next().copied() else {
            continue;
        };
        let slots = due.remove(&peer).unwrap_or_else(Slots::new);
        let Some(member) = current.member(&peer).filter(|m| m.state.is_live()) else {
            continue;
        };
        let peer = Peer {
            id: member.id,
            addr: member.client,
        };
        send(&node, peer, &slots).await;
    }
}

/// For each peer, the slots this node is primary of in `current` that it replicates but did
/// not own in `previous`.
fn new_replicas(previous: &Topology, current: &Topology) -> HashMap<NodeId, Slots> {
    let mut due: HashMap<NodeId, Slots> = HashMap::new();
    for slot in 0..SLOTS {
        if !current.is_primary(slot) {
            continue;
        }
        for replica in current.owners(slot).skip(1) {
            if previous.owners(slot).any(|o| o.id == replica.id) {
                continue;
            }
            due.entry(replica.id)
                .or_insert_with(Slots::new)
                .insert(slot);
        }
    }
    due
}

/// The slots this node is primary of that `peer` replicates.
fn replicated_to(topology: &Topology, peer: NodeId) -> Slots {
    let mut slots = Slots::new();
    for slot in 0..SLOTS {
        if topology.is_primary(slot) && topology.owners(slot).skip(1).any(|o| o.id == peer) {
            slots.insert(slot);
        }
    }
    slots
}

/// Sends `peer` every live key of `slots`, then `Synced`.
async fn send(node: &Node, peer: Peer, slots: &Slots) {
    let started = std::time::Instant::now();
    let mut keys = 0u64;
    if !slots.is_empty() {
        let now = crate::clock::now_ms();
        let mut batch: Vec<Message> = Vec::new();
        for db in 0..node.store.databases() {
            for shard in 0..crate::store::SHARDS {
                node.store.visit_shard(db, shard, now, |entry| {
                    if !slots.contains(key_slot(entry.key())) {
                        return;
                    }
                    let mut value = Vec::new();
                    crate::store::codec::encode(entry.value(), &mut value);
                    batch.push(Message::Replicate {
                        db: db as u32,
                        key: Bytes::copy_from_slice(entry.key()),
                        version: entry.version(),
                        expire_at: entry.expire_at().unwrap_or(0),
                        value: Some(Bytes::from(value)),
                    });
                });
                for message in batch.drain(..) {
                    while node.forward.streams.queued_bytes(peer.id) > QUEUE_HIGH {
                        tokio::time::sleep(THROTTLE).await;
                    }
                    let _ = node.forward.streams.send(node, peer, message);
                    keys += 1;
                }
                tokio::task::yield_now().await;
            }
        }
    }
    let _ = node.forward.streams.send(node, peer, Message::Synced);
    let stats = &node.replication.stats;
    stats.snapshots.fetch_add(1, Ordering::Relaxed);
    stats.snapshot_keys.fetch_add(keys, Ordering::Relaxed);
    tracing::info!(
        peer = %peer.addr,
        keys,
        ms = started.elapsed().as_millis() as u64,
        "sent a replica its snapshot"
    );
}
