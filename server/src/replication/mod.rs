//! Replication: every key on its slot's R owners.
//!
//! A slot's primary runs every write; what the write changed (its effects record, see
//! `store::effects`) is then sent to each of the slot's replicas on this node's peer stream
//! to it (`peer::stream`): the key's whole new state (the `store::codec` encoding of its
//! value, its HLC version and absolute expiry) or its removal. Values, not commands, so
//! `SPOP`, `INCRBYFLOAT` and relative TTLs come out the same everywhere. Streams are ordered
//! and numbered; a replica applies a state only if it is newer than what it holds
//! (`Shard::apply`), so a message that arrives twice, or a snapshot that crosses a live write,
//! is harmless, and a removal leaves a tombstone so an older write never brings a key back.
//!
//! A replica acknowledges the stream position it has applied after each batch of messages
//! ([`ack`]). A primary knows, per peer, the last position acknowledged: `WAIT` and the
//! `cluster-write-concern all` directive wait on that ([`Barrier`], [`Waiter`]).
//!
//! A replica that sees a gap in a primary's stream (messages dropped or lost with a
//! connection) asks it to resend everything ([`Message::Resync`]) and stops acknowledging until
//! the resend ends ([`Message::Synced`]). When the topology changes, a primary sends a
//! snapshot of each slot to every replica that did not own it before (a node that joined or
//! restarted, or the new replica of a slot whose owner died): see `snapshot`.

pub mod anti_entropy;
mod snapshot;

use crate::node::Node;
use crate::peer::Peer;
use crate::peer::stream::{Incoming, Mark, Message};
use crate::store::effects::{ChangeKind, Effects};
use crate::store::{DbIndex, Replicated};
use bytes::Bytes;
use parking_lot::Mutex;
use shoal_cluster::slot::{Slot, SlotSet, key_slot};
use shoal_cluster::{NodeId, Topology, Version};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use snapshot::{spawn, under_replicated};

/// Where this node's writes stand with the others: what was sent, what was acknowledged.
#[derive(Default)]
pub struct Replication {
    /// The last position each peer acknowledged: (stream epoch, seq, when).
    acks: Mutex<HashMap<NodeId, (u64, u64, Instant)>>,
    /// Woken on every acknowledgement.
    acked: tokio::sync::Notify,
    /// Primaries this node lost messages from and asked for a resend: no acknowledgement to
    /// them until it ends.
    resyncing: Mutex<HashMap<NodeId, Resyncing>>,
    /// Snapshots to send: peers that asked for a resend (with the id of their request, 0
    /// for one this node decided on), or that this node dropped messages for.
    snapshot_requests: Mutex<HashMap<NodeId, u64>>,
    snapshot_wake: tokio::sync::Notify,
    /// Acknowledgements due to primaries this node did not know as members yet.
    acks_owed: Mutex<HashMap<NodeId, (u64, u64)>>,
    /// Per replica, the slots whose snapshot it has not acknowledged yet (see `snapshot`).
    pending: Mutex<HashMap<NodeId, snapshot::Pending>>,
    /// Per primary, the slots whose whole snapshot this node received from it with nothing
    /// lost since: a warming node serves once it holds every slot it learns this way (see
    /// `handoff`).
    synced_from: Mutex<HashMap<NodeId, SlotSet>>,
    /// The epoch of the last topology the snapshot task has worked out snapshots for.
    pub(crate) snapshots_planned_for: AtomicU64,
    /// Digest rounds and repairs (see `anti_entropy`).
    pub anti_entropy: anti_entropy::AntiEntropy,
    pub stats: ReplicationStats,
}

/// Counters for INFO and `/metrics`.
#[derive(Debug, Default)]
pub struct ReplicationStats {
    /// Key states sent to replicas as writes happened.
    pub sent: AtomicU64,
    /// Key states sent in snapshots.
    pub snapshot_keys: AtomicU64,
    /// Snapshots sent (one per peer and topology change or resend).
    pub snapshots: AtomicU64,
    /// Key states received and applied (newer than what was held).
    pub applied: AtomicU64,
    /// Key states received and ignored (not newer).
    pub stale: AtomicU64,
    /// Key states received with a value that could not be decoded.
    pub malformed: AtomicU64,
    /// Resends this node asked for after losing messages.
    pub resyncs_requested: AtomicU64,
    /// Writes that could not get their acknowledgements in time (`cluster-write-concern all`).
    pub write_concern_failures: AtomicU64,
    /// Acknowledgements received from replicas.
    pub acks: AtomicU64,
    /// Topology changes in which this node became the primary of slots whose primary was no
    /// longer live (it was their replica: a failover).
    pub failovers: AtomicU64,
    /// Slots this node took over that way.
    pub failover_slots: AtomicU64,
}

/// Sends what `effects` changed in slots this node is primary of to their replicas. Returns
/// the stream positions of the messages sent, one per peer (the last); nothing, and no
/// allocation, on a node alone.
#[inline]
pub fn replicate(node: &Node, effects: &Effects) -> Vec<Mark> {
    match node.cluster.get() {
        Some(cluster) if !cluster.topology.is_single_node() => send_changes(node, effects, cluster),
        _ => Vec::new(),
    }
}

fn send_changes(
    node: &Node,
    effects: &Effects,
    cluster: &crate::cluster::NodeCluster,
) -> Vec<Mark> {
    let mut marks: Vec<Mark> = Vec::new();
    let topology = cluster.topology.load();
    let now = crate::clock::now_ms();
    let me = topology.myself().id;
    let mut value = Vec::new();
    let anti_entropy = &node.replication.anti_entropy;
    for (change, key) in effects.changes() {
        let slot = key_slot(key);
        anti_entropy.touch(slot, change.version.raw());
        let primary = topology.is_primary(slot);
        // A write this node ran as primary while the slot was moving away (its request was
        // placed on the previous topology) goes to the slot's current owners instead; a
        // replica's own expiry and eviction go nowhere (its primary decides those).
        if !primary && !matches!(change.kind, ChangeKind::Written | ChangeKind::Deleted) {
            continue;
        }
        let message = match change.kind {
            ChangeKind::Written => {
                let state = node.store.peek(change.db, key, now, |entry| {
                    value.clear();
                    crate::store::codec::encode(entry.value(), &mut value);
                    (entry.version(), entry.expire_at().unwrap_or(0))
                });
                // Gone since (a later command removed it, and replicates that itself).
                let Some((version, expire_at)) = state else {
                    continue;
                };
                Message::Replicate {
                    db: change.db as u32,
                    key: Bytes::copy_from_slice(key),
                    version,
                    expire_at,
                    value: Some(Bytes::copy_from_slice(&value)),
                    repair: false,
                }
            }
            ChangeKind::Deleted | ChangeKind::Expired | ChangeKind::Evicted => Message::Replicate {
                db: change.db as u32,
                key: Bytes::copy_from_slice(key),
                version: change.version.raw(),
                expire_at: 0,
                value: None,
                repair: false,
            },
        };
        let targets = topology
            .owners(slot)
            .skip(usize::from(primary))
            .chain(topology.learners(slot))
            .filter(|m| m.id != me);
        for target in targets {
            let peer = Peer {
                id: target.id,
                addr: target.client,
            };
            let mark = node.forward.streams.send(node, peer, message.clone());
            node.replication.stats.sent.fetch_add(1, Ordering::Relaxed);
            match marks.iter_mut().find(|m| m.peer == mark.peer) {
                Some(known) => *known = mark,
                None => marks.push(mark),
            }
        }
    }
    marks
}

/// A key's state as a peer sent it (see `Message::Replicate`).
#[derive(Clone, Copy, Debug)]
pub struct State<'a> {
    pub version: u64,
    /// Absolute expiry in unix ms, 0 for none.
    pub expire_at: u64,
    /// The `store::codec` encoding of the value; `None` for a removal.
    pub value: Option<&'a [u8]>,
    /// Sent by anti-entropy to mend a difference.
    pub repair: bool,
}

/// A replicated key state arrived from `from`: applies it if newer. A state that is newer
/// here while this node is the slot's primary (a repair, a former owner's data after a
/// partition, the last writes of a previous primary) goes on to the slot's other followers.
pub fn apply(node: &Node, from: NodeId, db: DbIndex, key: &[u8], state: State<'_>) {
    let stats = &node.replication.stats;
    let value = match state.value {
        None => None,
        Some(bytes) => match crate::store::codec::decode(bytes) {
            Some(value) => Some(value),
            None => {
                stats.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%from, "replicated value could not be decoded; ignored");
                return;
            }
        },
    };
    if state.repair && state.value.is_some() && refuse_resurrection(node, from, db, key, &state) {
        return;
    }
    let write = Replicated {
        version: Version::from_raw(state.version),
        value,
        expire_at: (state.expire_at != 0).then_some(state.expire_at),
    };
    let now = crate::clock::now_ms();
    if !node.store.apply_replicated(db, key, write, now) {
        stats.stale.fetch_add(1, Ordering::Relaxed);
        return;
    }
    stats.applied.fetch_add(1, Ordering::Relaxed);
    node.tracking.changed_key(node, key);
    // Touched now, whatever the state's version (a repair or snapshot carries old ones): a
    // comparison running meanwhile must skip the slot.
    let slot = key_slot(key);
    let touched = Version::at_ms(now).raw().max(state.version);
    node.replication.anti_entropy.touch(slot, touched);
    if state.repair {
        node.replication
            .anti_entropy
            .stats
            .repaired_keys
            .fetch_add(1, Ordering::Relaxed);
    }
    pass_on(node, from, db, key, slot, state);
}

/// A primary refuses a repair state for a key it has no trace of when the state is no newer
/// than the tombstones it has forgotten: the key may have been deleted here since (the
/// follower missed the delete), and bringing it back would serve a deleted key. It answers
/// with a removal at that version instead, so the follower's copy goes too. Returns whether
/// it refused.
fn refuse_resurrection(
    node: &Node,
    from: NodeId,
    db: DbIndex,
    key: &[u8],
    state: &State<'_>,
) -> bool {
    let Some(cluster) = node.cluster.get() else {
        return false;
    };
    if !cluster.topology.load().is_primary(key_slot(key)) {
        return false;
    }
    let Some(forgotten) = node.store.forgotten_if_absent(db, key) else {
        return false;
    };
    if state.version > forgotten.raw() {
        return false;
    }
    node.replication.stats.stale.fetch_add(1, Ordering::Relaxed);
    if let Some(peer) = peer_by_id(node, from) {
        let removal = Message::Replicate {
            db: db as u32,
            key: Bytes::copy_from_slice(key),
            version: forgotten.raw(),
            expire_at: 0,
            value: None,
            repair: true,
        };
        node.forward.streams.send(node, peer, removal);
    }
    true
}

/// Sends a state this node applied from `from` to the other followers of the key's slot,
/// when this node is its primary.
fn pass_on(node: &Node, from: NodeId, db: DbIndex, key: &[u8], slot: Slot, state: State<'_>) {
    let Some(cluster) = node.cluster.get() else {
        return;
    };
    let topology = cluster.topology.load();
    if !topology.is_primary(slot) {
        return;
    }
    let me = topology.myself().id;
    let message = Message::Replicate {
        db: db as u32,
        key: Bytes::copy_from_slice(key),
        version: state.version,
        expire_at: state.expire_at,
        value: state.value.map(Bytes::copy_from_slice),
        repair: state.repair,
    };
    for target in topology
        .followers(slot)
        .filter(|m| m.id != me && m.id != from)
    {
        let peer = Peer {
            id: target.id,
            addr: target.client,
        };
        node.forward.streams.send(node, peer, message.clone());
        node.replication.stats.sent.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sends `from` the acknowledgement of everything its stream delivered so far on the
/// connection `incoming` describes (called once per batch of stream messages).
pub fn ack(node: &Node, incoming: &Incoming) {
    if node
        .replication
        .resyncing
        .lock()
        .contains_key(&incoming.from)
    {
        return;
    }
    send_ack(node, incoming.from, incoming.epoch, incoming.next_seq - 1);
}

/// Acknowledges position `seq` of `from`'s stream `epoch`. A primary that just joined may
/// send before gossip told this node about it: the acknowledgement is then owed and goes
/// once it is known (see `send_owed_acks`); a newer one replaces it.
fn send_ack(node: &Node, from: NodeId, epoch: u64, seq: u64) {
    match peer_by_id(node, from) {
        Some(peer) => {
            let _ = node
                .forward
                .streams
                .send(node, peer, Message::Ack { epoch, seq });
        }
        None => {
            node.replication.acks_owed.lock().insert(from, (epoch, seq));
        }
    }
}

/// Sends the acknowledgements and resend requests owed to primaries that were not known
/// members when they were due and now are (called on every topology change).
pub fn send_owed_acks(node: &Node) {
    let unasked: Vec<(NodeId, u64)> = node
        .replication
        .resyncing
        .lock()
        .iter()
        .filter(|(_, r)| !r.asked)
        .map(|(from, r)| (*from, r.id))
        .collect();
    for (from, id) in unasked {
        ask_resync(node, from, id);
    }
    let owed: Vec<(NodeId, (u64, u64))> = node.replication.acks_owed.lock().drain().collect();
    for (from, (epoch, seq)) in owed {
        send_ack(node, from, epoch, seq);
    }
}

/// `peer` acknowledged position `seq` of our stream `epoch`.
pub fn acked(node: &Node, peer: NodeId, epoch: u64, seq: u64) {
    node.replication.stats.acks.fetch_add(1, Ordering::Relaxed);
    {
        let mut acks = node.replication.acks.lock();
        let entry = acks.entry(peer).or_insert((epoch, 0, Instant::now()));
        if entry.0 != epoch || seq >= entry.1 {
            *entry = (epoch, seq, Instant::now());
        }
    }
    node.replication.acked.notify_waiters();
}

/// A resend this node asked a primary for.
#[derive(Clone, Copy, Debug)]
struct Resyncing {
    /// The request's id (the `Synced` that ends it carries it).
    id: u64,
    /// More messages were lost after the request: the resend may have passed their keys
    /// already, so another is asked for when it ends.
    lost_again: bool,
    /// The request went out (not yet when the primary was not a known member).
    asked: bool,
}

/// Messages from `from` were lost: asks it to resend everything, or, while a resend is
/// under way, for another once it ends.
pub fn lost(node: &Node, from: NodeId) {
    node.replication.synced_from.lock().remove(&from);
    let id = {
        let mut resyncing = node.replication.resyncing.lock();
        if let Some(under_way) = resyncing.get_mut(&from) {
            under_way.lost_again = true;
            return;
        }
        let id = rand::random::<u64>() >> 1 | 1;
        resyncing.insert(
            from,
            Resyncing {
                id,
                lost_again: false,
                asked: false,
            },
        );
        id
    };
    ask_resync(node, from, id);
}

/// Sends resend request `id` to `from`, if it is a known member (else it goes with the
/// owed acknowledgements, see `send_owed_acks`).
fn ask_resync(node: &Node, from: NodeId, id: u64) {
    let Some(peer) = peer_by_id(node, from) else {
        return;
    };
    node.replication
        .stats
        .resyncs_requested
        .fetch_add(1, Ordering::Relaxed);
    let _ = node
        .forward
        .streams
        .send(node, peer, Message::Resync { id });
    if let Some(under_way) = node.replication.resyncing.lock().get_mut(&from) {
        under_way.asked |= under_way.id == id;
    }
}

/// `from` lost messages of ours (it asked with request `id`), or this node dropped some
/// (`id` 0): sends it a snapshot of every slot it replicates of ours.
pub fn resync_requested(node: &Node, from: NodeId, id: u64) {
    {
        let mut requests = node.replication.snapshot_requests.lock();
        let wanted = requests.entry(from).or_insert(0);
        if id != 0 {
            *wanted = id;
        }
    }
    node.replication.snapshot_wake.notify_one();
}

/// A snapshot of `slots` from `incoming.from` ended. If it answers this node's resend
/// request, acknowledgements resume, unless more was lost meanwhile: then another resend is
/// asked. The slots count as held whole from that primary (`synced_from`) unless messages
/// from it were lost and no resend has made up for them yet.
pub fn synced(node: &Node, incoming: &Incoming, id: u64, slots: SlotSet) {
    let (again, whole) = {
        let mut resyncing = node.replication.resyncing.lock();
        match resyncing.get_mut(&incoming.from) {
            None => (None, true),
            Some(under_way) if under_way.id == id && id != 0 => {
                if under_way.lost_again {
                    under_way.id = rand::random::<u64>() >> 1 | 1;
                    under_way.lost_again = false;
                    under_way.asked = false;
                    (Some(under_way.id), false)
                } else {
                    resyncing.remove(&incoming.from);
                    (None, true)
                }
            }
            Some(_) => (None, false),
        }
    };
    if whole {
        node.replication
            .synced_from
            .lock()
            .entry(incoming.from)
            .or_default()
            .union(&slots);
    }
    if let Some(id) = again {
        ask_resync(node, incoming.from, id);
    }
}

/// Forgets that slots of `primaries` were received whole from them: called when they stop
/// being those slots' primaries (a later return needs a new snapshot). `primaries` maps each
/// former primary to the slots it gave up.
pub fn forget_synced(node: &Node, primaries: HashMap<NodeId, SlotSet>) {
    let mut synced_from = node.replication.synced_from.lock();
    for (primary, slots) in primaries {
        if let Some(held) = synced_from.get_mut(&primary) {
            held.remove_all(&slots);
        }
    }
}

/// Forgets every slot received whole, and asks every live peer to send everything again:
/// for a node whose data may be behind (it was declared down while alive, see `handoff`).
pub fn resync_all(node: &Node) {
    node.replication.synced_from.lock().clear();
    let Some(cluster) = node.cluster.get() else {
        return;
    };
    let topology = cluster.topology.load_full();
    let me = topology.myself().id;
    for member in topology.live_members().filter(|m| m.id != me) {
        lost(node, member.id);
    }
}

/// Whether this node holds, whole, every slot it is learning (see `Topology::learners`):
/// for each, the snapshot of the slot's current primary arrived with nothing lost since.
pub fn caught_up(node: &Node, topology: &Topology) -> bool {
    missing_from(node, topology).is_empty()
}

/// The primaries of the slots this node learns and does not hold whole yet.
pub fn missing_from(node: &Node, topology: &Topology) -> Vec<NodeId> {
    let synced_from = node.replication.synced_from.lock();
    let mut missing: Vec<NodeId> = (0..shoal_cluster::slot::SLOTS)
        .filter(|&slot| topology.is_learner(slot))
        .map(|slot| (slot, topology.primary(slot).id))
        .filter(|(slot, primary)| {
            !synced_from
                .get(primary)
                .is_some_and(|slots| slots.contains(*slot))
        })
        .map(|(_, primary)| primary)
        .collect();
    missing.sort_unstable();
    missing.dedup();
    missing
}

/// Holds background work (a snapshot, a digest walk) to a rate: after each part it sleeps as
/// long as the amount done so far is ahead of the rate, and yields at least.
pub(crate) struct Pace {
    started: Instant,
    done: u64,
}

impl Pace {
    pub(crate) fn new() -> Pace {
        Pace {
            started: Instant::now(),
            done: 0,
        }
    }

    /// Counts `amount` more done, then waits until that is within `per_sec` per second
    /// since the start (0: no limit).
    pub(crate) async fn spend(&mut self, amount: u64, per_sec: u64) {
        self.done += amount;
        if per_sec == 0 {
            tokio::task::yield_now().await;
            return;
        }
        let due = Duration::from_secs_f64(self.done as f64 / per_sec as f64);
        match due.checked_sub(self.started.elapsed()) {
            Some(ahead) if !ahead.is_zero() => tokio::time::sleep(ahead).await,
            _ => tokio::task::yield_now().await,
        }
    }
}

/// The live member with id `id`, as a peer.
pub(crate) fn peer_by_id(node: &Node, id: NodeId) -> Option<Peer> {
    let cluster = node.cluster.get()?;
    let topology = cluster.topology.load();
    topology
        .member(&id)
        .filter(|m| m.state.is_live())
        .map(|m| Peer {
            id: m.id,
            addr: m.client,
        })
}

/// How many replicas a write has here: R - 1, capped by the other live members.
fn degree(topology: &Topology) -> usize {
    let others = topology.live_members().count().saturating_sub(1);
    topology.slots().replication().saturating_sub(1).min(others)
}

/// Whether `mark` has been acknowledged.
fn is_acked(acks: &HashMap<NodeId, (u64, u64, Instant)>, mark: &Mark) -> bool {
    acks.get(&mark.peer)
        .is_some_and(|(epoch, seq, _)| *epoch == mark.epoch && *seq >= mark.seq)
}

/// The last replication message sent to every peer at one moment: once each is
/// acknowledged, every write made here before has reached its replicas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Barrier(Vec<Mark>);

impl Barrier {
    /// Where replication stands now: the last message sent to each live peer, and for each
    /// replica still owed a snapshot, the snapshot's end (the writes made before its slots
    /// got that replica reach it in the snapshot; a replica that died takes its marks along).
    pub fn now(node: &Node) -> Barrier {
        let Some(cluster) = node.cluster.get() else {
            return Barrier::default();
        };
        let topology = cluster.topology.load();
        let live = |peer: &NodeId| topology.member(peer).is_some_and(|m| m.state.is_live());
        let mut marks: Vec<Mark> = node
            .forward
            .streams
            .replication_marks()
            .into_iter()
            .filter(|m| live(&m.peer))
            .collect();
        marks.extend(snapshot::owed(node).into_iter().filter(|m| live(&m.peer)));
        Barrier(marks)
    }

    /// From a set of marks (the positions one client's writes reached).
    pub fn of(marks: &[Mark]) -> Barrier {
        Barrier(marks.to_vec())
    }

    /// How many replicas every write before the barrier has reached, at least: the number
    /// of replicas a write has here, less the peers that have not acknowledged their marks
    /// (each may be the one replica of some write).
    pub fn achieved(&self, node: &Node) -> usize {
        let Some(cluster) = node.cluster.get() else {
            return 0;
        };
        let degree = degree(&cluster.topology.load());
        let acks = node.replication.acks.lock();
        let mut missing: Vec<NodeId> = self
            .0
            .iter()
            .filter_map(|m| snapshot::resolve(node, m))
            .filter(|m| !is_acked(&acks, m))
            .map(|m| m.peer)
            .collect();
        missing.sort_unstable();
        missing.dedup();
        degree.saturating_sub(missing.len())
    }

    /// Whether every write before the barrier has reached its followers: each mark is
    /// acknowledged, or stands for a snapshot no longer owed, or its peer is no longer live.
    pub fn settled(&self, node: &Node) -> bool {
        let Some(cluster) = node.cluster.get() else {
            return true;
        };
        let topology = cluster.topology.load();
        let acks = node.replication.acks.lock();
        self.0
            .iter()
            .filter_map(|m| snapshot::resolve(node, m))
            .all(|m| {
                is_acked(&acks, &m) || topology.member(&m.peer).is_none_or(|p| !p.state.is_live())
            })
    }

    /// Text form for `SHOAL.BARRIER`: `peer:epoch:seq` marks separated by commas.
    pub fn render(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|m| format!("{}:{}:{}", m.peer, m.epoch, m.seq))
            .collect();
        parts.join(",")
    }

    /// Reads [`Barrier::render`]'s text (`None`: malformed).
    pub fn parse(text: &[u8]) -> Option<Barrier> {
        let text = std::str::from_utf8(text).ok()?;
        if text.is_empty() {
            return Some(Barrier::default());
        }
        text.split(',')
            .map(|part| {
                let mut fields = part.split(':');
                let mark = Mark {
                    peer: fields.next()?.parse().ok()?,
                    epoch: fields.next()?.parse().ok()?,
                    seq: fields.next()?.parse().ok()?,
                };
                fields.next().is_none().then_some(mark)
            })
            .collect::<Option<Vec<Mark>>>()
            .map(Barrier)
    }
}

/// Waits until every mark is acknowledged or `deadline` passes; true if acknowledged.
pub async fn wait_acked(node: &Node, marks: &[Mark], deadline: Instant) -> bool {
    loop {
        let notified = node.replication.acked.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let acks = node.replication.acks.lock();
            if marks.iter().all(|m| is_acked(&acks, m)) {
                return true;
            }
        }
        if tokio::time::timeout_at(deadline.into(), notified)
            .await
            .is_err()
        {
            return false;
        }
    }
}

/// Waits until this node's `barrier` has reached `wanted` replicas or `deadline` passes;
/// returns what it reached.
pub async fn wait_achieved(
    node: &Node,
    barrier: &Barrier,
    wanted: usize,
    deadline: Option<Instant>,
) -> usize {
    loop {
        let notified = node.replication.acked.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let achieved = barrier.achieved(node);
        if achieved >= wanted {
            return achieved;
        }
        match deadline {
            Some(deadline) => {
                if tokio::time::timeout_at(deadline.into(), notified)
                    .await
                    .is_err()
                {
                    return barrier.achieved(node);
                }
            }
            None => notified.await,
        }
    }
}

/// `WAIT` for a client: the least number of replicas reached, over this node's barrier and
/// that of every other live node (which may have run writes this client sent through here),
/// waiting until it reaches `wanted` or `timeout` passes (`None`: no limit).
pub async fn wait(
    node: &Node,
    client: &crate::client::Client,
    wanted: usize,
    timeout: Option<Duration>,
) -> usize {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut remote: Vec<(Peer, Bytes)> = Vec::new();
    if let Some(cluster) = node.cluster.get()
        && !cluster.topology.is_single_node()
    {
        let topology = cluster.topology.load_full();
        let me = topology.myself().id;
        for member in topology.live_members().filter(|m| m.id != me) {
            let peer = Peer {
                id: member.id,
                addr: member.client,
            };
            let reply = crate::peer::call(node, client, peer, &[b"SHOAL.BARRIER"]).await;
            match crate::peer::frame::bulk(&reply) {
                Some(barrier) => remote.push((peer, Bytes::copy_from_slice(barrier))),
                // An unreachable node counts as holding writes no replica has.
                None => return 0,
            }
        }
    }
    let local = Barrier::now(node);
    let mut pause = Duration::from_millis(1);
    loop {
        let mut achieved = if remote.is_empty() {
            wait_achieved(node, &local, wanted, deadline).await
        } else {
            local.achieved(node)
        };
        for (peer, barrier) in &remote {
            if achieved == 0 {
                break;
            }
            let reply = crate::peer::call(node, client, *peer, &[b"SHOAL.ACHIEVED", barrier]).await;
            let theirs = crate::peer::frame::integer(&reply).unwrap_or(0).max(0) as usize;
            achieved = achieved.min(theirs);
        }
        let expired = deadline.is_some_and(|d| Instant::now() >= d);
        if achieved >= wanted || expired || remote.is_empty() {
            return achieved;
        }
        // Other nodes' acknowledgements are polled, more slowly as the wait goes on.
        let sleep = match deadline {
            Some(d) => pause.min(d.saturating_duration_since(Instant::now())),
            None => pause,
        };
        tokio::time::sleep(sleep).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Per peer, for INFO replication: (peer, last sent seq, acknowledged seq, ms since the last
/// acknowledgement).
pub fn peers(node: &Node) -> Vec<(NodeId, u64, u64, u64)> {
    let sent = node.forward.streams.replication_marks();
    let acks = node.replication.acks.lock();
    sent.iter()
        .map(|mark| {
            let (acked, since) = acks
                .get(&mark.peer)
                .filter(|(epoch, _, _)| *epoch == mark.epoch)
                .map_or((0, u64::MAX), |(_, seq, at)| {
                    (*seq, at.elapsed().as_millis() as u64)
                });
            (mark.peer, mark.seq, acked, since)
        })
        .collect()
}
