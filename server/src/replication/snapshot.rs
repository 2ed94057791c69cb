//! Snapshots: sending a replica every key it should hold of this node's primary slots.
//!
//! One task per node watches the topology. When it changes, each slot this node is primary
//! of gets a snapshot to every replica that did not own the slot before (a node that joined
//! or came back as a new incarnation, or a new replica after an owner died), restoring R.
//! A replica that lost messages asks for a snapshot of everything (`Message::Resync`).
//!
//! A snapshot walks the keyspace a shard at a time: under the shard's lock it encodes the
//! keys of the wanted slots, then sends them with no lock held (then the shard's tombstones
//! of those slots: recent deletes), waiting while the peer's
//! stream queue is full so that clients keep their latency and the queue never drops. It
//! ends with `Message::Synced`. Writes made meanwhile are replicated as usual; whichever
//! arrives second is ignored by the replica unless newer (versions decide).
//!
//! Until a replica acknowledges the `Synced` of its snapshot, the slots it is owed count as
//! under-replicated ([`under_replicated`], with the slots that have fewer owners than the
//! replication factor). The task also counts failovers: slots this node became primary of
//! because their primary left while this node replicated them.

use crate::node::Node;
use crate::peer::Peer;
use crate::peer::stream::{Mark, Message};
use crate::store::{SlotWalk, WalkStep};
use bytes::Bytes;
use shoal_cluster::slot::{SLOTS, SlotSet, key_slot};
use shoal_cluster::{NodeId, Topology};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A peer's stream queue above this many bytes holds the snapshot back (or above half of
/// `repl-backlog-size`, when that is smaller: a snapshot must never overflow the queue).
const QUEUE_HIGH: u64 = 8 * 1024 * 1024;
/// Keys (or, in a shard without a slot index, buckets) a walk looks at per lock.
const PART: usize = 512;
/// How long a throttled snapshot waits before looking at the queue again.
const THROTTLE: Duration = Duration::from_millis(2);

/// Slots a replica is owed a snapshot of, and the `Synced` that ends it once sent.
pub(super) struct Pending {
    slots: SlotSet,
    synced: Option<Mark>,
}

/// Records that `peer` is owed a snapshot of `slots` (it has not been sent yet).
fn owe(node: &Node, peer: NodeId, slots: &SlotSet) {
    let mut pending = node.replication.pending.lock();
    let entry = pending.entry(peer).or_insert_with(|| Pending {
        slots: SlotSet::new(),
        synced: None,
    });
    entry.slots.union(slots);
    entry.synced = None;
}

/// The slots `peer` is owed a snapshot of and has not acknowledged yet.
pub(super) fn owed_slots(node: &Node, peer: NodeId) -> SlotSet {
    let acks = node.replication.acks.lock();
    let pending = node.replication.pending.lock();
    match pending.get(&peer) {
        Some(owed)
            if !owed
                .synced
                .is_some_and(|mark| super::is_acked(&acks, &mark)) =>
        {
            owed.slots.clone()
        }
        _ => SlotSet::new(),
    }
}

/// A mark standing for "the end of the snapshot owed to `peer`, once sent" in a barrier
/// taken before it was sent (see [`resolve`]).
const UNSENT: u64 = u64::MAX;

/// The snapshot ends owed replicas have not acknowledged yet, as marks (see [`UNSENT`]).
pub(super) fn owed(node: &Node) -> Vec<Mark> {
    node.replication
        .pending
        .lock()
        .iter()
        .map(|(peer, owed)| {
            owed.synced.unwrap_or(Mark {
                peer: *peer,
                epoch: 0,
                seq: UNSENT,
            })
        })
        .collect()
}

/// The mark to wait for in place of `mark`: itself, or for an [`UNSENT`] snapshot end the
/// snapshot's end now that it was sent, or `None` when that snapshot is no longer owed
/// (acknowledged, or its replica left).
pub(super) fn resolve(node: &Node, mark: &Mark) -> Option<Mark> {
    if mark.seq != UNSENT {
        return Some(*mark);
    }
    let pending = node.replication.pending.lock();
    let owed = pending.get(&mark.peer)?;
    Some(owed.synced.unwrap_or(*mark))
}

/// Slots this node is primary of that are under-replicated: they have fewer owners than the
/// replication factor, or a replica has not acknowledged its snapshot of them yet.
pub fn under_replicated(node: &Node) -> usize {
    let Some(cluster) = node.cluster.get() else {
        return 0;
    };
    let topology = cluster.topology.load_full();
    let acks = node.replication.acks.lock();
    let mut pending = node.replication.pending.lock();
    pending.retain(|peer, owed| {
        topology.member(peer).is_some_and(|m| m.state.is_live())
            && !owed
                .synced
                .is_some_and(|mark| super::is_acked(&acks, &mark))
    });
    drop(acks);
    (0..SLOTS)
        .filter(|&slot| {
            topology.is_primary(slot)
                && (topology.owners(slot).count() < cluster.replicas
                    || pending.values().any(|owed| owed.slots.contains(slot)))
        })
        .count()
}

/// Tells the store what the topology means for it: whether effects records must note key
/// changes (replication reads them, and deletes leave tombstones, once the node has had
/// peers: a node cut off from the others still keeps its deletes' tombstones, so that they
/// win over older copies when the cut heals), and which slots it holds as a replica
/// (eviction leaves those keys to their primary). `had_peers` remembers whether it had. When
/// the node first has peers, its shards start keeping their keys by slot, on a blocking
/// thread (a pass over the keys held then: a CRC16 and a hash each, one shard locked at a
/// time).
fn tell_store(node: &Arc<Node>, topology: &Topology, had_peers: &mut bool) {
    let first = !*had_peers && topology.live_members().count() > 1;
    *had_peers |= first;
    if first {
        let node = node.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let keys = node.store.index_slots();
            tracing::info!(
                keys,
                ms = started.elapsed().as_millis() as u64,
                "indexed the keyspace by slot (the node has peers)"
            );
        });
    }
    node.store.set_changes_wanted(*had_peers);
    node.store.evictor.replica_slots.set(|slot| {
        (topology.is_owner(slot) && !topology.is_primary(slot)) || topology.is_learner(slot)
    });
}

/// Counts a failover if this node became the primary of slots in `current` that it
/// replicated in `previous` while their primary there is no longer live.
fn count_failover(node: &Node, previous: &Topology, current: &Topology) {
    let me = current.myself().id;
    let taken = (0..SLOTS)
        .filter(|&slot| {
            current.is_primary(slot)
                && !previous.is_primary(slot)
                && previous.owners(slot).skip(1).any(|o| o.id == me)
                && current
                    .member(&previous.primary(slot).id)
                    .is_none_or(|m| !m.state.is_live())
        })
        .count() as u64;
    if taken > 0 {
        let stats = &node.replication.stats;
        stats.failovers.fetch_add(1, Ordering::Relaxed);
        stats.failover_slots.fetch_add(taken, Ordering::Relaxed);
        tracing::info!(
            slots = taken,
            "took over slots whose primary left (failover)"
        );
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
    let mut had_peers = false;
    tell_store(&node, &previous, &mut had_peers);
    let mut due: HashMap<NodeId, SlotSet> = HashMap::new();
    // The resend request each due snapshot answers, if one asked for it.
    let mut request_ids: HashMap<NodeId, u64> = HashMap::new();
    loop {
        // Repair snapshots (see `anti_entropy`) wait in their queue, sent after those owed.
        if due.is_empty() && !super::anti_entropy::repairs_queued(&node) {
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
        tell_store(&node, &current, &mut had_peers);
        super::send_owed_acks(&node);
        if !Arc::ptr_eq(&current, &previous) {
            count_failover(&node, &previous, &current);
            for (peer, slots) in new_replicas(&previous, &current) {
                owe(&node, peer, &slots);
                due.entry(peer).or_default().union(&slots);
            }
            previous = current.clone();
        }
        node.replication
            .snapshots_planned_for
            .store(current.epoch(), Ordering::SeqCst);
        let requested: Vec<(NodeId, u64)> =
            node.replication.snapshot_requests.lock().drain().collect();
        for (peer, id) in requested {
            let slots = replicated_to(&current, peer);
            owe(&node, peer, &slots);
            due.entry(peer).or_default().union(&slots);
            if id != 0 {
                request_ids.insert(peer, id);
            }
        }
        let Some(peer) = due.keys().next().copied() else {
            if let Some((peer, slots)) = super::anti_entropy::take_repair(&node)
                && let Some(member) = current.member(&peer).filter(|m| m.state.is_live())
            {
                let peer = Peer {
                    id: member.id,
                    addr: member.client,
                };
                send(&node, peer, &slots, Kind::Repair).await;
            }
            continue;
        };
        let slots = due.remove(&peer).unwrap_or_default();
        let Some(member) = current.member(&peer).filter(|m| m.state.is_live()) else {
            continue;
        };
        let peer = Peer {
            id: member.id,
            addr: member.client,
        };
        let id = request_ids.remove(&peer.id).unwrap_or(0);
        let synced = send(&node, peer, &slots, Kind::Whole { id }).await;
        if !due.contains_key(&peer.id)
            && let Some(synced) = synced
            && let Some(owed) = node.replication.pending.lock().get_mut(&peer.id)
        {
            owed.synced = Some(synced);
        }
    }
}

/// For each peer, the slots this node is primary of in `current` that the peer follows
/// (as a replica or a learner, see `Topology::followers`) and needs whole: a replica that did
/// not own the slot in `previous`, a learner that was not already learning it from this node.
fn new_replicas(previous: &Topology, current: &Topology) -> HashMap<NodeId, SlotSet> {
    let mut due: HashMap<NodeId, SlotSet> = HashMap::new();
    for slot in 0..SLOTS {
        if !current.is_primary(slot) {
            continue;
        }
        let was_primary = previous.is_primary(slot);
        for follower in current.followers(slot) {
            // A learner counts a slot as held only once a snapshot of it from its primary
            // arrived (`replication::caught_up`): one that already learned it from this
            // node needs none, one that followed it as a replica (it turned warming) does.
            let learned = was_primary && previous.learners(slot).any(|o| o.id == follower.id);
            let owned = previous.owners(slot).any(|o| o.id == follower.id);
            let learns = current.learners(slot).any(|o| o.id == follower.id);
            if learned || (owned && !learns) {
                continue;
            }
            due.entry(follower.id).or_default().insert(slot);
        }
    }
    due
}

/// The slots this node is primary of that `peer` follows.
fn replicated_to(topology: &Topology, peer: NodeId) -> SlotSet {
    SlotSet::from_fn(|slot| {
        topology.is_primary(slot) && topology.followers(slot).any(|o| o.id == peer)
    })
}

/// Queues `batch` on the stream to `peer`, waiting while its queue is above the high mark;
/// returns how many messages it queued.
async fn send_throttled(node: &Node, peer: Peer, batch: &mut Vec<Message>) -> u64 {
    let high = QUEUE_HIGH.min(node.forward.settings.backlog_bytes() / 2);
    let mut sent = 0;
    for message in batch.drain(..) {
        loop {
            let queued = node.forward.streams.queued_bytes(peer.id);
            if queued == 0 || queued + message.size() <= high {
                break;
            }
            // A peer that died with a full queue never drains it: the rest of the batch is
            // dropped (with the drain).
            if super::peer_by_id(node, peer.id).is_none() {
                return sent;
            }
            tokio::time::sleep(THROTTLE).await;
        }
        let _ = node.forward.streams.send(node, peer, message);
        sent += 1;
    }
    sent
}

/// Queues `batch` on the stream to `peer` ([`send_throttled`]), then holds to the pace;
/// returns how many messages it queued.
async fn send_paced(
    node: &Node,
    peer: Peer,
    batch: &mut Vec<Message>,
    pace: &mut super::Pace,
) -> u64 {
    let bytes: u64 = batch.iter().map(Message::size).sum();
    let sent = send_throttled(node, peer, batch).await;
    pace.spend(bytes, node.forward.settings.snapshot_rate())
        .await;
    sent
}

/// What a snapshot is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Everything a replica should hold of the slots; it ends with `Synced` answering resend
    /// request `id` (0: none asked).
    Whole { id: u64 },
    /// This node's copy of slots that differed from another owner's (see `anti_entropy`):
    /// sent as `repair` states, with no `Synced`.
    Repair,
}

/// Sends `peer` every live key of `slots` and their tombstones; for a whole snapshot, then
/// `Synced`, whose stream position it returns.
async fn send(node: &Node, peer: Peer, slots: &SlotSet, kind: Kind) -> Option<Mark> {
    let started = std::time::Instant::now();
    let repair = kind == Kind::Repair;
    let mut keys = 0u64;
    if !slots.is_empty() {
        let now = crate::clock::now_ms();
        let mut batch: Vec<Message> = Vec::new();
        // Held to `repl-snapshot-rate` bytes per second, so that filling a replica leaves
        // the node's cores to its clients.
        let mut pace = super::Pace::new();
        for db in 0..node.store.databases() {
            for shard in 0..crate::store::SHARDS {
                // A part of the shard at a time (a walk that starts over resends what it
                // sent: harmless).
                let mut walk = SlotWalk::Start;
                loop {
                    let step = node.store.visit_slots_part(
                        (db, shard),
                        slots,
                        &mut walk,
                        PART,
                        now,
                        |entry| {
                            let mut value = Vec::new();
                            crate::store::codec::encode(entry.value(), &mut value);
                            batch.push(Message::Replicate {
                                db: db as u32,
                                key: Bytes::copy_from_slice(entry.key()),
                                version: entry.version(),
                                expire_at: entry.expire_at().unwrap_or(0),
                                value: Some(Bytes::from(value)),
                                repair,
                            });
                        },
                    );
                    keys += send_paced(node, peer, &mut batch, &mut pace).await;
                    if step == WalkStep::Done {
                        break;
                    }
                }
                // The shard's recent deletes, so that a copy the peer holds from before
                // (a node that rejoins) does not outlive them.
                node.store.visit_tombstones(db, shard, |key, version| {
                    if slots.contains(key_slot(key)) {
                        batch.push(Message::Replicate {
                            db: db as u32,
                            key: Bytes::copy_from_slice(key),
                            version: version.raw(),
                            expire_at: 0,
                            value: None,
                            repair,
                        });
                    }
                });
                keys += send_paced(node, peer, &mut batch, &mut pace).await;
            }
        }
    }
    let stats = &node.replication.stats;
    let Kind::Whole { id } = kind else {
        tracing::info!(
            peer = %peer.addr,
            slots = slots.len(),
            keys,
            ms = started.elapsed().as_millis() as u64,
            "anti-entropy: sent a peer this node's copy of slots that differed"
        );
        return None;
    };
    let synced = node.forward.streams.send(
        node,
        peer,
        Message::Synced {
            id,
            slots: slots.clone(),
        },
    );
    stats.snapshots.fetch_add(1, Ordering::Relaxed);
    stats.snapshot_keys.fetch_add(keys, Ordering::Relaxed);
    tracing::info!(
        peer = %peer.addr,
        keys,
        ms = started.elapsed().as_millis() as u64,
        "sent a replica its snapshot"
    );
    Some(synced)
}
