//! The topology: an immutable snapshot of members and slot owners, swapped atomically.
//!
//! A [`Topology`] is derived from membership alone: the known members (with their addresses,
//! SWIM states and phases), two slot tables, and an epoch that digests the live set and its
//! phases. Every node that sees the same live members computes the same tables and the same
//! epoch, so comparing epochs tells whether two nodes route alike. The node itself is always
//! live in its own topology, so every slot has a primary.
//!
//! The two tables (alive and suspect members own slots; down ones do not):
//!
//! - the *serving* table ([`Topology::slots`]) of the live members that serve: those in phase
//!   `Serving` or `Leaving`. It decides routing, `CLUSTER SLOTS` and who replicates what. When
//!   no live member serves yet (a cluster starting), the warming ones serve.
//! - the *target* table of the live members that will serve once hand-offs end: `Serving` and
//!   `Warming` ones. A slot's owners in the target table that do not own it in the serving
//!   table are its *learners* ([`Topology::learners`]): its primary streams them its data as
//!   it does to its replicas, and they own it once they serve (a warming node that caught up)
//!   or once the node they replace has gone (a leaving node that handed its slots over).
//!
//! The membership task builds a new snapshot on every change and publishes it through
//! [`TopologyHandle`] (an `ArcSwap`): request handlers call [`TopologyHandle::load`] per request,
//! lock-free, and keep a consistent view for as long as they hold it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arc_swap::{ArcSwap, Guard};
use sha2::{Digest, Sha256};

use crate::identity::{Generation, NodeId, NodeIdentity, Phase};
use crate::ring::{SlotCounts, SlotTable};
use crate::slot::Slot;

/// A member's SWIM state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberState {
    /// Answering probes.
    Alive,
    /// Missed a probe; declared down unless it refutes in time. Still owns its slots.
    Suspect,
    /// Crashed, left, or unreachable for longer than the node timeout. Owns nothing.
    Down,
}

impl MemberState {
    /// Alive or suspect: owns slots.
    pub fn is_live(self) -> bool {
        self != MemberState::Down
    }
}

impl From<foca::State> for MemberState {
    fn from(state: foca::State) -> Self {
        match state {
            foca::State::Alive => MemberState::Alive,
            foca::State::Suspect => MemberState::Suspect,
            foca::State::Down => MemberState::Down,
        }
    }
}

/// One member as the topology sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// Node id.
    pub id: NodeId,
    /// Announced client address (for `CLUSTER SLOTS`, `-MOVED`, forwarding).
    pub client: SocketAddr,
    /// Announced cluster bus address.
    pub bus: SocketAddr,
    /// Incarnation of the node id.
    pub generation: Generation,
    /// SWIM state.
    pub state: MemberState,
    /// Whether it serves its slots yet.
    pub phase: Phase,
}

impl MemberInfo {
    /// A member from its identity and state.
    pub fn new(identity: &NodeIdentity, state: MemberState) -> Self {
        Self {
            id: identity.id,
            client: identity.client,
            bus: identity.bus,
            generation: identity.generation,
            state,
            phase: identity.phase,
        }
    }
}

/// An immutable view of the cluster.
#[derive(Debug)]
pub struct Topology {
    epoch: u64,
    myself: usize,
    /// Every known member, sorted by id (each id once: the newest generation wins).
    members: Vec<MemberInfo>,
    /// The serving table.
    slots: Arc<SlotTable>,
    /// `slots.nodes()[i]` is `members[ring_members[i]]`.
    ring_members: Vec<usize>,
    /// The target table (the same `Arc` as `slots` when no hand-off is under way).
    target: Arc<SlotTable>,
    /// `target.nodes()[i]` is `members[target_members[i]]`.
    target_members: Vec<usize>,
    /// This node was given seeds and has not joined their cluster yet (see
    /// [`Topology::is_ok`]).
    awaiting_join: bool,
}

impl Topology {
    /// A one-node cluster: `myself` owns every slot.
    pub fn single(myself: &NodeIdentity, tokens_per_node: u16, replicas: usize) -> Self {
        Self::derive(myself, [], tokens_per_node, replicas, None)
    }

    /// Derives the topology from the members we know (`myself` is added as alive). When the
    /// live set is the same as `previous`'s, its slot table is reused.
    pub fn derive(
        myself: &NodeIdentity,
        others: impl IntoIterator<Item = (NodeIdentity, MemberState)>,
        tokens_per_node: u16,
        replicas: usize,
        previous: Option<&Topology>,
    ) -> Self {
        let mut members: Vec<MemberInfo> = others
            .into_iter()
            .filter(|(identity, _)| identity.id != myself.id && !identity.is_seed_placeholder())
            .map(|(identity, state)| MemberInfo::new(&identity, state))
            .collect();
        members.push(MemberInfo::new(myself, MemberState::Alive));
        // One entry per id: live before down, then the newest generation.
        members.sort_by(|a, b| {
            (a.id, !a.state.is_live(), std::cmp::Reverse(a.generation)).cmp(&(
                b.id,
                !b.state.is_live(),
                std::cmp::Reverse(b.generation),
            ))
        });
        members.dedup_by(|later, kept| later.id == kept.id);

        let live = |phases: &[Phase]| -> Vec<NodeId> {
            members
                .iter()
                .filter(|m| m.state.is_live() && phases.contains(&m.phase))
                .map(|m| m.id)
                .collect()
        };
        let mut serving = live(&[Phase::Serving, Phase::Leaving]);
        if serving.is_empty() {
            serving = live(&[Phase::Warming]);
        }
        let mut target = live(&[Phase::Serving, Phase::Warming]);
        if target.is_empty() {
            target.clone_from(&serving);
        }
        let table = |nodes: Vec<NodeId>, reuse: Option<&Arc<SlotTable>>| match reuse {
            Some(prev)
                if prev.nodes() == nodes.as_slice()
                    && prev.replication() == replicas.min(nodes.len()) =>
            {
                Arc::clone(prev)
            }
            _ => Arc::new(SlotTable::build(nodes, tokens_per_node, replicas)),
        };
        let slots = table(serving.clone(), previous.map(|p| &p.slots));
        let target = if target == serving {
            Arc::clone(&slots)
        } else {
            table(target, previous.map(|p| &p.target))
        };
        let indexes = |table: &SlotTable| -> Vec<usize> {
            table
                .nodes()
                .iter()
                .filter_map(|id| members.binary_search_by(|m| m.id.cmp(id)).ok())
                .collect()
        };
        let ring_members = indexes(&slots);
        let target_members = indexes(&target);
        let myself_index = members
            .binary_search_by(|m| m.id.cmp(&myself.id))
            .unwrap_or_default();
        let epoch = epoch_of(&members, tokens_per_node, replicas);
        Self {
            epoch,
            myself: myself_index,
            members,
            slots,
            ring_members,
            target,
            target_members,
            awaiting_join: false,
        }
    }

    /// Marks this topology as that of a node still waiting to join its seeds' cluster.
    pub fn awaiting_join(mut self, awaiting: bool) -> Self {
        self.awaiting_join = awaiting;
        self
    }

    /// Whether this node serves keys: false while it was given seeds and has not yet joined
    /// their cluster (Redis's `cluster_state:fail`; keyed commands get `-CLUSTERDOWN`), so a
    /// node that cannot reach its cluster never accepts writes as a cluster of its own.
    pub fn is_ok(&self) -> bool {
        !self.awaiting_join
    }

    /// Digest of the live members (ids and addresses) and ring parameters: equal on every node
    /// that routes the same way.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// This node.
    pub fn myself(&self) -> &MemberInfo {
        &self.members[self.myself]
    }

    /// Every known member (alive, suspect and down), sorted by id.
    pub fn members(&self) -> &[MemberInfo] {
        &self.members
    }

    /// Members that own slots (alive and suspect), sorted by id.
    pub fn live_members(&self) -> impl Iterator<Item = &MemberInfo> + '_ {
        self.members.iter().filter(|m| m.state.is_live())
    }

    /// The member with this id.
    pub fn member(&self, id: &NodeId) -> Option<&MemberInfo> {
        let index = self.members.binary_search_by(|m| m.id.cmp(id)).ok()?;
        self.members.get(index)
    }

    /// The serving table: who owns each slot now.
    pub fn slots(&self) -> &SlotTable {
        &self.slots
    }

    /// Whether a hand-off is under way: some slots have learners.
    pub fn is_handing_off(&self) -> bool {
        !Arc::ptr_eq(&self.slots, &self.target)
    }

    /// This node's phase.
    pub fn my_phase(&self) -> Phase {
        self.myself().phase
    }

    /// The owners of `slot`, primary first.
    pub fn owners(&self, slot: Slot) -> impl Iterator<Item = &MemberInfo> + '_ {
        self.slots
            .owners(slot)
            .iter()
            .map(|&index| &self.members[self.ring_members[usize::from(index)]])
    }

    /// The learners of `slot`: members that will own it once a hand-off ends and are being
    /// sent its data meanwhile (see the module doc). Empty when no hand-off is under way.
    pub fn learners(&self, slot: Slot) -> impl Iterator<Item = &MemberInfo> + '_ {
        let owners = self.slots.owners(slot);
        let nodes = self.slots.nodes();
        let handing_off = self.is_handing_off();
        self.target
            .owners(slot)
            .iter()
            .filter(move |_| handing_off)
            .map(|&index| &self.members[self.target_members[usize::from(index)]])
            .filter(move |m| !owners.iter().any(|&o| nodes[usize::from(o)] == m.id))
    }

    /// Who the primary of `slot` streams its writes to: its replicas, then its learners.
    pub fn followers(&self, slot: Slot) -> impl Iterator<Item = &MemberInfo> + '_ {
        self.owners(slot).skip(1).chain(self.learners(slot))
    }

    /// Whether this node is a learner of `slot`.
    pub fn is_learner(&self, slot: Slot) -> bool {
        let me = self.myself().id;
        self.learners(slot).any(|m| m.id == me)
    }

    /// The primary of `slot`.
    pub fn primary(&self, slot: Slot) -> &MemberInfo {
        self.owners(slot).next().unwrap_or_else(|| self.myself())
    }

    /// Whether this node is the primary of `slot`.
    pub fn is_primary(&self, slot: Slot) -> bool {
        self.primary(slot).id == self.myself().id
    }

    /// Whether this node owns `slot`, as primary or replica.
    pub fn is_owner(&self, slot: Slot) -> bool {
        let me = self.myself().id;
        self.owners(slot).any(|m| m.id == me)
    }

    /// Slots this node owns as primary and as replica.
    pub fn my_slots(&self) -> SlotCounts {
        self.slots.counts(&self.myself().id)
    }
}

fn epoch_of(members: &[MemberInfo], tokens_per_node: u16, replicas: usize) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(tokens_per_node.to_be_bytes());
    hasher.update((replicas as u64).to_be_bytes());
    for member in members.iter().filter(|m| m.state.is_live()) {
        hasher.update(member.id.as_bytes());
        hasher.update([member.phase as u8]);
        for addr in [member.client, member.bus] {
            match addr.ip() {
                IpAddr::V4(ip) => hasher.update(ip.octets()),
                IpAddr::V6(ip) => hasher.update(ip.octets()),
            }
            hasher.update(addr.port().to_be_bytes());
        }
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Where the current [`Topology`] is published; cheap to clone and share with every thread.
#[derive(Clone, Debug)]
pub struct TopologyHandle {
    current: Arc<ArcSwap<Topology>>,
    /// Nodes owning slots in the current topology, readable with one atomic load (the request
    /// path asks "is anyone else here?" before anything else).
    nodes: Arc<AtomicUsize>,
}

impl TopologyHandle {
    /// A handle publishing `initial`.
    pub fn new(initial: Arc<Topology>) -> Self {
        Self {
            nodes: Arc::new(AtomicUsize::new(routing_nodes(&initial))),
            current: Arc::new(ArcSwap::new(initial)),
        }
    }

    /// Whether the current topology has one node owning every slot and serving them (no
    /// routing needed). False for a node still waiting to join.
    pub fn is_single_node(&self) -> bool {
        self.nodes.load(Ordering::Acquire) <= 1
    }

    /// The current topology, lock-free: for per-request use (hold it briefly).
    pub fn load(&self) -> Guard<Arc<Topology>> {
        self.current.load()
    }

    /// The current topology as an owned `Arc`: for holding across awaits.
    pub fn load_full(&self) -> Arc<Topology> {
        self.current.load_full()
    }

    /// Publishes a new topology.
    pub(crate) fn store(&self, topology: Arc<Topology>) {
        let nodes = routing_nodes(&topology);
        self.current.store(topology);
        self.nodes.store(nodes, Ordering::Release);
    }
}

/// What [`TopologyHandle`] keeps in its atomic: the nodes owning slots, or `usize::MAX` for a
/// node that is not serving (waiting to join, or warming while others serve: the one-load
/// fast path then sends every request to the full check).
fn routing_nodes(topology: &Topology) -> usize {
    let serves = topology.slots().index_of(&topology.myself().id).is_some();
    if topology.is_ok() && serves {
        topology.slots().nodes().len()
    } else {
        usize::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    fn identity(rng: &mut StdRng, port: u16) -> NodeIdentity {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        NodeIdentity::with_generation(NodeId::random(rng), addr, addr, 1)
    }

    #[test]
    fn a_lone_node_is_primary_of_everything() {
        let mut rng = StdRng::seed_from_u64(1);
        let me = identity(&mut rng, 1);
        let topology = Topology::single(&me, 256, 2);
        assert!((0..16384).all(|slot| topology.is_primary(slot)));
        assert_eq!(
            topology.my_slots(),
            SlotCounts {
                primary: 16384,
                replica: 0
            }
        );
        assert_eq!(topology.members().len(), 1);
    }

    #[test]
    fn nodes_seeing_the_same_live_members_agree_on_epoch_and_table() {
        let mut rng = StdRng::seed_from_u64(2);
        let nodes: Vec<NodeIdentity> = (0..4).map(|i| identity(&mut rng, 10 + i)).collect();
        let down = identity(&mut rng, 99);
        let view = |me: usize| {
            let others = nodes
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != me)
                .map(|(_, n)| (n.clone(), MemberState::Alive))
                .chain([(down.clone(), MemberState::Down)]);
            Topology::derive(&nodes[me], others, 256, 2, None)
        };
        let (a, b) = (view(0), view(3));
        assert_eq!(a.epoch(), b.epoch());
        assert_eq!(a.slots(), b.slots());
        assert_eq!(a.members().len(), 5);
        assert_eq!(a.live_members().count(), 4);
        assert!((0..16384).all(|s| a.primary(s).id == b.primary(s).id));
        assert!(a.slots().index_of(&down.id).is_none());
    }

    #[test]
    fn a_suspect_keeps_its_slots_and_the_table_is_reused() {
        let mut rng = StdRng::seed_from_u64(3);
        let me = identity(&mut rng, 1);
        let other = identity(&mut rng, 2);
        let first = Topology::derive(&me, [(other.clone(), MemberState::Alive)], 256, 2, None);
        let second = Topology::derive(
            &me,
            [(other.clone(), MemberState::Suspect)],
            256,
            2,
            Some(&first),
        );
        assert!(Arc::ptr_eq(&first.slots, &second.slots));
        assert_eq!(first.epoch(), second.epoch());
        let third = Topology::derive(&me, [(other, MemberState::Down)], 256, 2, Some(&second));
        assert_ne!(third.epoch(), second.epoch());
        assert_eq!(third.my_slots().primary, 16384);
    }

    #[test]
    fn warming_members_learn_the_slots_they_will_own_and_leaving_ones_hand_theirs_over() {
        let mut rng = StdRng::seed_from_u64(6);
        let serving: Vec<NodeIdentity> = (0..3)
            .map(|i| {
                identity(&mut rng, 10 + i)
                    .in_phase(Phase::Serving)
                    .expect("phase")
            })
            .collect();
        let newcomer = identity(&mut rng, 20);
        let view = |members: &[NodeIdentity]| {
            Topology::derive(
                &members[0],
                members[1..].iter().map(|m| (m.clone(), MemberState::Alive)),
                64,
                2,
                None,
            )
        };
        // Nobody serves yet: the warming members serve (a cluster starting).
        let starting = view(std::slice::from_ref(&newcomer));
        assert!(starting.is_primary(0) && !starting.is_handing_off());

        // A warming member owns nothing yet and learns exactly what it will own.
        let mut all = serving.clone();
        all.push(newcomer.clone());
        let joining = view(&all);
        let settled = {
            let mut now_serving = serving.clone();
            now_serving.push(newcomer.in_phase(Phase::Serving).expect("phase"));
            view(&now_serving)
        };
        assert!(joining.is_handing_off() && !settled.is_handing_off());
        assert_eq!(joining.slots().index_of(&newcomer.id), None);
        assert_ne!(joining.epoch(), settled.epoch());
        for slot in 0..16384 {
            let will_own = settled.owners(slot).any(|m| m.id == newcomer.id);
            let learns: Vec<NodeId> = joining.learners(slot).map(|m| m.id).collect();
            assert_eq!(learns == vec![newcomer.id], will_own, "slot {slot}");
            assert!(learns.len() <= 1);
            assert_eq!(
                joining.followers(slot).count(),
                1 + usize::from(will_own),
                "slot {slot}: its replica, and the learner"
            );
        }

        // A leaving member keeps its slots; the members that will replace it learn them.
        let mut leaving = serving.clone();
        leaving[2] = leaving[2].in_phase(Phase::Leaving).expect("phase");
        let handing = view(&leaving);
        let after = view(&serving[..2]);
        for slot in 0..16384 {
            let owners: Vec<NodeId> = handing.owners(slot).map(|m| m.id).collect();
            assert!(owners.len() == 2);
            let mut learners: Vec<NodeId> = handing.learners(slot).map(|m| m.id).collect();
            let next: Vec<NodeId> = after.owners(slot).map(|m| m.id).collect();
            learners.extend(owners.iter().filter(|o| next.contains(o)));
            learners.sort();
            let mut next_sorted = next.clone();
            next_sorted.sort();
            assert_eq!(
                learners, next_sorted,
                "slot {slot}: the next owners follow it"
            );
        }
    }

    #[test]
    fn the_handle_swaps_snapshots() {
        let mut rng = StdRng::seed_from_u64(4);
        let me = identity(&mut rng, 1);
        let handle = TopologyHandle::new(Arc::new(Topology::single(&me, 16, 2)));
        let old = handle.load_full();
        let other = identity(&mut rng, 2);
        handle.store(Arc::new(Topology::derive(
            &me,
            [(other, MemberState::Alive)],
            16,
            2,
            Some(&old),
        )));
        assert_eq!(old.members().len(), 1);
        assert_eq!(handle.load().members().len(), 2);
    }

    #[test]
    fn a_node_awaiting_its_cluster_is_not_ok_and_not_a_single_node() {
        let mut rng = StdRng::seed_from_u64(5);
        let me = identity(&mut rng, 1);
        let alone = Topology::single(&me, 16, 2);
        assert!(alone.is_ok());
        let waiting = Topology::single(&me, 16, 2).awaiting_join(true);
        assert!(!waiting.is_ok());
        assert_eq!(waiting.epoch(), alone.epoch());
        let handle = TopologyHandle::new(Arc::new(waiting));
        assert!(!handle.is_single_node());
        handle.store(Arc::new(alone));
        assert!(handle.is_single_node());
    }
}
