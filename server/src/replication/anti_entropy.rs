//! Anti-entropy: the owners of a slot compare what they hold and mend what differs.
//!
//! The replication stream keeps replicas exact while nothing goes wrong, and a replica that
//! sees a gap asks for a resend. What it cannot see (a bug, a copy changed behind the
//! stream's back, writes both sides of a partition took) this heals, every
//! `cluster-anti-entropy-interval` ms:
//!
//! - A primary walks its keyspace and sums, per slot it is primary of, a hash of every key's
//!   (database, key, version, deadline), XORed together ([`sums`]). It counts only keys
//!   written more than [`SETTLED_MS`] before the round began (`at`) that live at least
//!   [`LIVES_PAST_MS`] past it (one side may have reclaimed a key about to expire and the
//!   other not yet). The walk is held to `cluster-anti-entropy-rate` keys per second, a
//!   part of a shard per lock.
//! - It sends each follower the sums of the slots it follows, on the stream
//!   ([`Message::Digest`]), after every write made before: slots whose snapshot the follower
//!   has not acknowledged yet are left out.
//! - The follower sums its own copy of those slots with the same `at` as soon as the digest
//!   arrives (digests that arrive together, and its own round if due, share one walk). A
//!   write that crossed the round (it changed a key between the two walks) would make a
//!   slot differ for nothing, so the follower leaves out every slot in which it made or
//!   applied a change since the round began ([`AntiEntropy::touch`], one atomic per change
//!   on a node with peers): under writes that keep touching a slot, the slot is compared
//!   once they pause. A slot is repaired only when it differs in two comparisons in a row:
//!   the follower asks the primary for its copy of those slots ([`Message::Repair`]) and
//!   sends its own the other way. Both are snapshots of the slots (keys and tombstones, sent
//!   as `repair` states, paced by `repl-snapshot-rate`); each side keeps the higher version
//!   of every key, and a primary passes what it took on
//!   to its other followers (see `replication::apply`).
//!
//! A node that rejoins after being declared down (a partition healed) also sends each
//! primary its copy of the primary's slots ([`push_to_primaries`]): writes it took while
//! apart reach the others, and deletes stay deleted as long as the other side still keeps
//! their tombstones (`store::tombstones`).

use super::Node;
use crate::peer::Peer;
use crate::peer::stream::Message;
use crate::store::{SlotWalk, WalkStep};
use parking_lot::Mutex;
use shoal_cluster::slot::{SLOTS, SlotSet, key_slot};
use shoal_cluster::{NodeId, Topology, Version};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Keys written this recently before a round began are left out of its sums: their
/// replication may still be on its way.
pub const SETTLED_MS: u64 = 250;
/// Keys that expire within this long after a round began are left out of its sums: one side
/// may have reclaimed them and the other not yet.
pub const LIVES_PAST_MS: u64 = 10_000;
/// Keys (or, in a shard without a slot index, buckets) a walk looks at per lock.
const PART: usize = 512;

/// This node's side of anti-entropy.
pub struct AntiEntropy {
    pub stats: AntiEntropyStats,
    /// Repair snapshots to send: per peer, the slots whose copy it is to get from this node
    /// (the snapshot task sends them, see `snapshot`).
    repairs: Mutex<HashMap<NodeId, SlotSet>>,
    /// Per primary, the slots whose sums differed in the last round compared.
    suspects: Mutex<HashMap<NodeId, SlotSet>>,
    /// Digests arrived and not compared yet, the latest per primary.
    arrived: Mutex<HashMap<NodeId, Arrived>>,
    wake: tokio::sync::Notify,
    /// Per slot, the highest version of a change this node made or applied in it: a slot
    /// changed since a round began cannot be compared in that round.
    touched: Box<[AtomicU64]>,
}

impl Default for AntiEntropy {
    fn default() -> Self {
        AntiEntropy {
            stats: AntiEntropyStats::default(),
            repairs: Mutex::default(),
            suspects: Mutex::default(),
            arrived: Mutex::default(),
            wake: tokio::sync::Notify::new(),
            touched: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl AntiEntropy {
    /// Notes a change of version `version` in `slot` (a write or removal made here, or a
    /// replicated state applied).
    #[inline]
    pub fn touch(&self, slot: u16, version: u64) {
        if let Some(latest) = self.touched.get(usize::from(slot)) {
            latest.fetch_max(version, Ordering::Relaxed);
        }
    }

    /// Whether `slot` changed at or after `version`.
    fn touched_since(&self, slot: u16, version: u64) -> bool {
        self.touched
            .get(usize::from(slot))
            .is_some_and(|latest| latest.load(Ordering::Relaxed) >= version)
    }
}

/// A digest a primary sent.
struct Arrived {
    at: u64,
    slots: SlotSet,
    sums: Vec<u64>,
}

/// Counters for INFO and `/metrics`.
#[derive(Debug, Default)]
pub struct AntiEntropyStats {
    /// Digest rounds this node ran as a primary (one walk, a digest to each follower).
    pub rounds: AtomicU64,
    /// Digests this node compared with its own copy as a follower.
    pub compared: AtomicU64,
    /// Slots found different in a comparison.
    pub slots_differing: AtomicU64,
    /// Slots left out of a comparison because they changed during the round.
    pub slots_skipped: AtomicU64,
    /// Slots repaired (different twice in a row).
    pub slots_repaired: AtomicU64,
    /// Key states a repair changed here (newer than what this node held).
    pub repaired_keys: AtomicU64,
}

/// The hash of one key's state in a slot's sum: the same on every node.
fn entry_hash(db: usize, key: &[u8], version: u64, expire_at: u64) -> u64 {
    // FNV-1a over the key, then each number mixed in (splitmix64's finaliser).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    for n in [db as u64, version, expire_at] {
        h = mix(h ^ n);
    }
    h
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The sum of each slot as this node holds it (indexed by slot), for the round that began
/// at `round_at[slot]` (0: the slot is not summed); see the module doc for what counts.
/// One walk serves this node's own round and every digest it compares.
pub async fn sums(node: &Node, round_at: &[u64]) -> Vec<u64> {
    let mut sums = vec![0u64; usize::from(SLOTS)];
    if round_at.iter().all(|&at| at == 0) {
        return sums;
    }
    // Which keys count is decided by each round's `at` alone (not by this walk's clock),
    // so both sides agree however long their walks take: nothing is filtered as expired.
    let now = 0;
    // Held to `cluster-anti-entropy-rate` keys per second.
    let mut pace = super::Pace::new();
    let summed = SlotSet::from_fn(|slot| round_at[usize::from(slot)] != 0);
    for db in 0..node.store.databases() {
        for shard in 0..crate::store::SHARDS {
            // A shard's hashes are kept apart until its walk ends: a walk that starts over
            // gives them again.
            let mut found: Vec<(u16, u64)> = Vec::new();
            let mut walk = SlotWalk::Start;
            loop {
                let mut visited = 0u64;
                let step = node.store.visit_slots_part(
                    (db, shard),
                    &summed,
                    &mut walk,
                    PART,
                    now,
                    |entry| {
                        visited += 1;
                        let slot = key_slot(entry.key());
                        let at = round_at[usize::from(slot)];
                        let expire_at = entry.expire_at().unwrap_or(0);
                        let settled = Version::at_ms(at.saturating_sub(SETTLED_MS)).raw();
                        let lives = expire_at == 0 || expire_at > at.saturating_add(LIVES_PAST_MS);
                        if entry.version() < settled && lives {
                            let hash = entry_hash(db, entry.key(), entry.version(), expire_at);
                            found.push((slot, hash));
                        }
                    },
                );
                if step == WalkStep::Restarted {
                    found.clear();
                }
                let rate = node.config().cluster.anti_entropy_rate;
                pace.spend(visited, rate).await;
                if step == WalkStep::Done {
                    break;
                }
            }
            for (slot, hash) in found {
                sums[usize::from(slot)] ^= hash;
            }
        }
    }
    sums
}

/// Starts the anti-entropy task (a no-op without a cluster). Must run inside the node's
/// runtime.
pub fn spawn(node: &Arc<Node>) {
    if node.cluster.get().is_none() {
        return;
    }
    tokio::spawn(run(node.clone()));
}

async fn run(node: Arc<Node>) {
    let mut next_round = Instant::now() + interval(&node).unwrap_or(Duration::from_secs(1));
    loop {
        let wait = next_round.saturating_duration_since(Instant::now());
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = node.replication.anti_entropy.wake.notified() => {}
        }
        let Some(every) = interval(&node) else {
            // Disabled: digests that arrive are not compared; look again in a second.
            node.replication.anti_entropy.arrived.lock().clear();
            next_round = Instant::now() + Duration::from_secs(1);
            continue;
        };
        let own = Instant::now() >= next_round;
        if own {
            next_round = Instant::now() + every;
        }
        round(&node, own).await;
    }
}

/// `cluster-anti-entropy-interval` (`None`: 0, disabled).
fn interval(node: &Node) -> Option<Duration> {
    let ms = node.config().cluster.anti_entropy_interval;
    (ms > 0).then(|| Duration::from_millis(ms))
}

/// One walk of the keyspace: when `own`, sums the slots this node is primary of and sends
/// each follower the digest of those it follows; compares the digests primaries sent since
/// the last walk with this node's copy.
async fn round(node: &Node, own: bool) {
    let Some(cluster) = node.cluster.get() else {
        return;
    };
    let arrived: Vec<(NodeId, Arrived)> = node
        .replication
        .anti_entropy
        .arrived
        .lock()
        .drain()
        .collect();
    if cluster.topology.is_single_node() {
        return;
    }
    let topology = cluster.topology.load_full();
    let me = topology.myself().id;
    let at = crate::clock::now_ms();
    let mut round_at = vec![0u64; usize::from(SLOTS)];
    let mut per_peer: Vec<(Peer, SlotSet)> = Vec::new();
    for member in topology.live_members().filter(|m| own && m.id != me) {
        let owed = super::snapshot::owed_slots(node, member.id);
        let slots = SlotSet::from_fn(|slot| {
            topology.is_primary(slot)
                && !owed.contains(slot)
                && topology.followers(slot).any(|f| f.id == member.id)
        });
        if slots.is_empty() {
            continue;
        }
        for slot in slots.iter() {
            round_at[usize::from(slot)] = at;
        }
        let peer = Peer {
            id: member.id,
            addr: member.client,
        };
        per_peer.push((peer, slots));
    }
    // The digests to compare: the slots this node still follows of each primary (a resend
    // under way will bring a primary's slots whole anyway).
    let mut comparisons: Vec<(NodeId, u64, SlotSet, HashMap<u16, u64>)> = Vec::new();
    for (from, digest) in arrived {
        if node.replication.resyncing.lock().contains_key(&from) {
            continue;
        }
        let theirs: HashMap<u16, u64> = digest.slots.iter().zip(digest.sums).collect();
        let slots =
            SlotSet::from_fn(|slot| theirs.contains_key(&slot) && follows(&topology, slot, from));
        for slot in slots.iter() {
            round_at[usize::from(slot)] = digest.at;
        }
        comparisons.push((from, digest.at, slots, theirs));
    }
    if per_peer.is_empty() && comparisons.is_empty() {
        return;
    }
    let sums = sums(node, &round_at).await;
    // Digests are of the round's topology; a changed one makes the round moot.
    if cluster.topology.load().epoch() != topology.epoch() {
        return;
    }
    let stats = &node.replication.anti_entropy.stats;
    if !per_peer.is_empty() {
        for (peer, slots) in per_peer {
            let sums = slots.iter().map(|slot| sums[usize::from(slot)]).collect();
            node.forward
                .streams
                .send(node, peer, Message::Digest { at, slots, sums });
        }
        stats.rounds.fetch_add(1, Ordering::Relaxed);
    }
    for (from, at, slots, theirs) in comparisons {
        compare(node, from, at, &slots, &theirs, &sums);
    }
}

/// A primary's digest arrived (in stream order, after every write it made before the
/// round): the anti-entropy task compares it with this node's copy.
pub fn digest_arrived(node: &Node, from: NodeId, at: u64, slots: SlotSet, sums: Vec<u64>) {
    if sums.len() != slots.len() {
        return;
    }
    let anti_entropy = &node.replication.anti_entropy;
    anti_entropy
        .arrived
        .lock()
        .insert(from, Arrived { at, slots, sums });
    anti_entropy.wake.notify_one();
}

/// Compares `from`'s digest of the round that began at `at` (`theirs`, of `slots`) with
/// this node's sums; repairs the slots that differed in the previous comparison too. A slot
/// that changed here since the round began (a write crossed the round) is left out, and
/// keeps whatever suspicion it had.
fn compare(
    node: &Node,
    from: NodeId,
    at: u64,
    slots: &SlotSet,
    theirs: &HashMap<u16, u64>,
    mine: &[u64],
) {
    let anti_entropy = &node.replication.anti_entropy;
    let since = Version::at_ms(at.saturating_sub(SETTLED_MS)).raw();
    let skipped =
        SlotSet::from_fn(|slot| slots.contains(slot) && anti_entropy.touched_since(slot, since));
    let differing = SlotSet::from_fn(|slot| {
        slots.contains(slot)
            && !skipped.contains(slot)
            && theirs.get(&slot) != Some(&mine[usize::from(slot)])
    });
    let stats = &anti_entropy.stats;
    stats.compared.fetch_add(1, Ordering::Relaxed);
    stats
        .slots_differing
        .fetch_add(differing.len() as u64, Ordering::Relaxed);
    stats
        .slots_skipped
        .fetch_add(skipped.len() as u64, Ordering::Relaxed);
    let twice = {
        let mut suspects = anti_entropy.suspects.lock();
        let before = suspects.remove(&from).unwrap_or_default();
        let twice = SlotSet::from_fn(|slot| differing.contains(slot) && before.contains(slot));
        let still = SlotSet::from_fn(|slot| {
            (differing.contains(slot) && !twice.contains(slot))
                || (skipped.contains(slot) && before.contains(slot))
        });
        suspects.insert(from, still);
        twice
    };
    if twice.is_empty() {
        return;
    }
    stats
        .slots_repaired
        .fetch_add(twice.len() as u64, Ordering::Relaxed);
    tracing::info!(
        slots = twice.len(),
        primary = %from,
        "anti-entropy: slots differed from their primary twice in a row; repairing"
    );
    if let Some(peer) = super::peer_by_id(node, from) {
        node.forward.streams.send(
            node,
            peer,
            Message::Repair {
                slots: twice.clone(),
            },
        );
        queue_repair(node, from, &twice);
    }
}

/// Whether `primary` is the primary of `slot` and this node follows it.
fn follows(topology: &Topology, slot: u16, primary: NodeId) -> bool {
    let me = topology.myself().id;
    topology.primary(slot).id == primary && topology.followers(slot).any(|f| f.id == me)
}

/// A follower asked for this node's copy of `slots` (they differed twice in a row): queues
/// a repair snapshot of those this node is still primary of and `from` follows.
pub fn repair_asked(node: &Node, from: NodeId, slots: SlotSet) {
    let Some(cluster) = node.cluster.get() else {
        return;
    };
    let topology = cluster.topology.load();
    let slots = SlotSet::from_fn(|slot| {
        slots.contains(slot)
            && topology.is_primary(slot)
            && topology.followers(slot).any(|f| f.id == from)
    });
    queue_repair(node, from, &slots);
}

/// Sends every live peer this node's copy of the slots it is primary of: for a node that
/// rejoined after being declared down, whose writes while apart the others lack.
pub fn push_to_primaries(node: &Node) {
    let Some(cluster) = node.cluster.get() else {
        return;
    };
    let topology = cluster.topology.load_full();
    let me = topology.myself().id;
    for member in topology.live_members().filter(|m| m.id != me) {
        let slots = SlotSet::from_fn(|slot| topology.primary(slot).id == member.id);
        queue_repair(node, member.id, &slots);
    }
}

/// Queues a repair snapshot of `slots` to `peer` and wakes the snapshot task.
fn queue_repair(node: &Node, peer: NodeId, slots: &SlotSet) {
    if slots.is_empty() {
        return;
    }
    node.replication
        .anti_entropy
        .repairs
        .lock()
        .entry(peer)
        .or_default()
        .union(slots);
    node.replication.snapshot_wake.notify_one();
}

/// Takes one queued repair snapshot: a peer and the slots to send it.
pub(super) fn take_repair(node: &Node) -> Option<(NodeId, SlotSet)> {
    let mut repairs = node.replication.anti_entropy.repairs.lock();
    let peer = repairs.keys().next().copied()?;
    repairs.remove_entry(&peer)
}

/// Whether repair snapshots are queued.
pub(super) fn repairs_queued(node: &Node) -> bool {
    !node.replication.anti_entropy.repairs.lock().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_state_hashes_the_same_every_time_and_differs_by_each_part() {
        let base = entry_hash(0, b"user:1", 42 << 16, 0);
        assert_eq!(base, entry_hash(0, b"user:1", 42 << 16, 0));
        assert_ne!(base, entry_hash(1, b"user:1", 42 << 16, 0));
        assert_ne!(base, entry_hash(0, b"user:2", 42 << 16, 0));
        assert_ne!(base, entry_hash(0, b"user:1", 43 << 16, 0));
        assert_ne!(base, entry_hash(0, b"user:1", 42 << 16, 1));
        // A key's bytes are not confused with the numbers after them.
        assert_ne!(entry_hash(0, b"k1", 0, 0), entry_hash(0, b"k", 1, 0));
    }
}
