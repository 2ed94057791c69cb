//! Slot hand-off: when ownership changes hands, the data moves before the ownership does.
//!
//! Every node carries a phase in its gossip identity (`shoal_cluster::Phase`). The topology
//! routes by the *serving* members and plans by the *target* ones (serving and warming, not
//! leaving); a target owner that does not own a slot yet is its *learner* and follows the
//! slot's primary as a replica does (live writes, then a snapshot: see `replication`). This
//! task moves the node through the phases:
//!
//! - **Warming → serving.** A node starts warming (a node alone, with nothing to learn, at
//!   once serves). Once it holds every slot it learns whole (the snapshot of each slot's
//!   current primary arrived, with nothing lost since: `replication::caught_up`) and every
//!   live member answers the same topology epoch, it turns serving: the slots move to it
//!   in the next topology. It refuses keys (`-CLUSTERDOWN`, retryable) from just before
//!   the switch until every member agrees on the topology in which it serves them, so that
//!   no two nodes answer for a slot at once.
//! - **Dropping what it no longer owns.** Data of slots the node neither owns nor learns
//!   is dropped once the topology has been still for [`DROP_GRACE`] (requests placed on the
//!   previous topology finish meanwhile, and their writes reach the new owners). A later
//!   return of the slot starts from the new owner's snapshot, never from old data.
//! - **Declared down while alive.** A node renewed that way comes back warming and asks every
//!   primary for its slots again; snapshots carry recent deletes (tombstones) with the keys,
//!   and the higher version wins, so what it held from before neither hides a newer value
//!   nor brings back a key deleted meanwhile (within the tombstone horizon).
//! - **Leaving** ([`leave`]): SIGTERM or SHUTDOWN turn the node leaving; it keeps serving
//!   while the next owners of its slots learn them, waits until they have acknowledged
//!   everything (bounded by `cluster-leave-timeout`), then shuts down and leaves the cluster.

use crate::node::Node;
use crate::store::{SlotWalk, WalkStep};
use shoal_cluster::slot::{SLOTS, SlotSet};
use shoal_cluster::{NodeId, Phase, Topology};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often the task looks again when nothing woke it.
const TICK: Duration = Duration::from_millis(100);
/// How long the topology must stay unchanged before data of slots this node no longer owns
/// is dropped.
pub const DROP_GRACE: Duration = Duration::from_secs(1);
/// How long a warming node waits, with the topology still, for the snapshots it lacks before
/// it asks their primaries to send them again.
const ASK_AGAIN: Duration = Duration::from_secs(3);
/// Buckets of a shard's table looked at per lock when dropping.
const DROP_PART: usize = 1024;

/// Counters for INFO and `/metrics`.
#[derive(Debug, Default)]
pub struct HandoffStats {
    /// Times this node turned serving after warming.
    pub took_over: AtomicU64,
    /// Keys dropped because their slot moved to other nodes.
    pub dropped_keys: AtomicU64,
    /// Graceful leaves that ended with every next owner caught up.
    pub leaves_completed: AtomicU64,
    /// Graceful leaves cut short by `cluster-leave-timeout`.
    pub leaves_timed_out: AtomicU64,
}

/// Starts the hand-off task (a no-op without a cluster). Must run inside the node's runtime.
pub fn spawn(node: &Arc<Node>) {
    if node.cluster.get().is_some() {
        tokio::spawn(run(node.clone()));
    }
}

/// The slots whose data this node keeps in `topology`: those it owns or learns.
fn kept(topology: &Topology) -> SlotSet {
    SlotSet::from_fn(|slot| topology.is_owner(slot) || topology.is_learner(slot))
}

/// Per primary of `previous`, the slots whose primary is another in `current`.
fn primaries_changed(previous: &Topology, current: &Topology) -> HashMap<NodeId, SlotSet> {
    let mut changed: HashMap<NodeId, SlotSet> = HashMap::new();
    for slot in 0..SLOTS {
        let before = previous.primary(slot).id;
        if current.primary(slot).id != before {
            changed.entry(before).or_default().insert(slot);
        }
    }
    changed
}

async fn run(node: Arc<Node>) {
    let Some(cluster) = node.cluster.get() else {
        return;
    };
    let mut changes = cluster.handle.subscribe();
    let mut leave_asked = node.leave_signal();
    let mut previous = changes.borrow_and_update().clone();
    let mut changed_at = Instant::now();
    let mut to_drop = SlotSet::new();
    let mut sessions = HashMap::new();
    let mut asked_at = Instant::now();
    loop {
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = leave_asked.changed() => {}
            () = tokio::time::sleep(TICK) => {}
        }
        if *leave_asked.borrow_and_update() {
            leave(&node).await;
            return;
        }
        let current = changes.borrow_and_update().clone();
        if !Arc::ptr_eq(&current, &previous) {
            changed_at = Instant::now();
            let changed = primaries_changed(&previous, &current);
            let mut moved = SlotSet::new();
            for slots in changed.values() {
                moved.union(slots);
            }
            node.tracking.topology_changed(&node, &moved);
            crate::replication::forget_synced(&node, changed);
            // What it kept and no longer does waits to be dropped; what it keeps again, not.
            to_drop.union(&kept(&previous));
            to_drop.remove_all(&kept(&current));
            if previous.my_phase() != Phase::Warming && current.my_phase() == Phase::Warming {
                rejoin(&node);
            }
            previous = current.clone();
        }
        if current.my_phase() == Phase::Warming {
            if ready_to_serve(&node, &current, &mut sessions).await {
                take_over(&node, &mut changes, &mut sessions).await;
                continue;
            }
            // A snapshot may never come (the primary's view went from before to after a
            // change this node saw in between): after a while, ask for it.
            if changed_at.elapsed() >= ASK_AGAIN && asked_at.elapsed() >= ASK_AGAIN {
                asked_at = Instant::now();
                for primary in crate::replication::missing_from(&node, &current) {
                    crate::replication::lost(&node, primary);
                }
            }
        }
        if !to_drop.is_empty() && changed_at.elapsed() >= DROP_GRACE {
            if drop_slots(&node, &to_drop, current.epoch()).await {
                to_drop = SlotSet::new();
            } else {
                changed_at = Instant::now();
            }
        }
    }
}

/// Whether this warming node may serve: it has joined, holds every slot it learns whole,
/// and every live member answers its topology epoch.
async fn ready_to_serve(
    node: &Node,
    topology: &Topology,
    sessions: &mut HashMap<NodeId, crate::peer::session::Session>,
) -> bool {
    if !topology.is_ok() || !crate::replication::caught_up(node, topology) {
        return false;
    }
    let secret = node.config().cluster.secret.clone();
    crate::cluster::others_agree(topology, sessions, secret.as_deref(), agree_limit(node)).await
}

/// How long one member may take to answer its epoch.
fn agree_limit(node: &Node) -> Duration {
    Duration::from_millis(node.config().cluster.node_timeout.max(100))
}

/// Turns this node serving, fenced until every member agrees on the topology in which it
/// serves (or until it no longer does: the fence never outlives a topology that moved on).
async fn take_over(
    node: &Node,
    changes: &mut tokio::sync::watch::Receiver<Arc<Topology>>,
    sessions: &mut HashMap<NodeId, crate::peer::session::Session>,
) {
    let Some(cluster) = node.cluster.get() else {
        return;
    };
    // A node alone answers for no slot another serves: no fence needed.
    let alone = changes.borrow().live_members().count() <= 1;
    cluster.lease.set_taking_over(!alone);
    if cluster.handle.set_phase(Phase::Serving).is_ok() {
        tracing::info!("caught up with the slots this node will own; serving them");
        node.handoff.took_over.fetch_add(1, Ordering::Relaxed);
        let secret = node.config().cluster.secret.clone();
        let limit = agree_limit(node);
        let deadline = Instant::now() + 4 * limit;
        while Instant::now() < deadline {
            let view = changes.borrow_and_update().clone();
            if view.my_phase() != Phase::Warming
                && crate::cluster::others_agree(&view, sessions, secret.as_deref(), limit).await
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    cluster.lease.set_taking_over(false);
}

/// This node was declared down while alive and came back warming: what it holds may be
/// behind, so it asks every primary to send its slots again (snapshots carry recent deletes
/// as well as keys; the higher version wins) before it serves them.
fn rejoin(node: &Node) {
    tracing::warn!(
        "rejoined after being declared down: fetching this node's slots again from their owners"
    );
    crate::replication::resync_all(node);
    // Writes this node took while apart go to the slots' primaries (newer versions win).
    crate::replication::anti_entropy::push_to_primaries(node);
}

/// Removes every key of `slots`, a part of a shard at a time. Stops early (returns false) if
/// the topology moves on from `epoch` meanwhile.
async fn drop_slots(node: &Node, slots: &SlotSet, epoch: u64) -> bool {
    let Some(cluster) = node.cluster.get() else {
        return true;
    };
    let started = Instant::now();
    let mut dropped = 0u64;
    for db in 0..node.store.databases() {
        for shard in 0..crate::store::SHARDS {
            let mut walk = SlotWalk::Start;
            loop {
                if cluster.topology.load().epoch() != epoch {
                    record_dropped(node, dropped);
                    return false;
                }
                let (step, removed) =
                    node.store
                        .drop_slots_part((db, shard), slots, &mut walk, DROP_PART);
                dropped += removed as u64;
                tokio::task::yield_now().await;
                if step == WalkStep::Done {
                    break;
                }
            }
        }
    }
    record_dropped(node, dropped);
    if dropped > 0 {
        tracing::info!(
            keys = dropped,
            ms = started.elapsed().as_millis() as u64,
            "dropped the keys of slots other nodes own now"
        );
    }
    true
}

fn record_dropped(node: &Node, dropped: u64) {
    node.handoff
        .dropped_keys
        .fetch_add(dropped, Ordering::Relaxed);
}

/// A graceful leave: turns leaving, waits (at most `cluster-leave-timeout`) until the next
/// owners of this node's slots have acknowledged everything of them, then shuts the node
/// down (which leaves the cluster: `main`).
pub async fn leave(node: &Node) {
    let Some(cluster) = node.cluster.get() else {
        node.shutdown();
        return;
    };
    let timeout = Duration::from_millis(node.config().cluster.leave_timeout);
    let deadline = Instant::now() + timeout;
    tracing::warn!(
        timeout_ms = timeout.as_millis() as u64,
        "leaving: handing this node's slots to their next owners"
    );
    let handed_over = cluster.handle.set_phase(Phase::Leaving).is_ok()
        && wait_until(deadline, || handed_over(node)).await;
    let stats = &node.handoff;
    if handed_over {
        stats.leaves_completed.fetch_add(1, Ordering::Relaxed);
        tracing::info!("the next owners of this node's slots have caught up");
    } else {
        stats.leaves_timed_out.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            "cluster-leave-timeout passed before the next owners caught up; leaving anyway"
        );
    }
    node.shutdown();
}

/// Whether this node's slots are handed over: it is leaving in the topology the snapshot
/// task has planned for, and every write and snapshot it sent has been acknowledged.
fn handed_over(node: &Node) -> bool {
    let Some(cluster) = node.cluster.get() else {
        return true;
    };
    let topology = cluster.topology.load_full();
    topology.my_phase() == Phase::Leaving
        && node
            .replication
            .snapshots_planned_for
            .load(Ordering::SeqCst)
            == topology.epoch()
        && crate::replication::Barrier::now(node).settled(node)
}

/// Polls `done` until it holds (true) or `deadline` passes (false).
async fn wait_until(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
