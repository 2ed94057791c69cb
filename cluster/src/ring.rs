//! The slot ring: which nodes own each of the 16384 slots. Pure and deterministic.
//!
//! Positions are `u64`s on a ring. Slot `s` sits at `s << 50` (the 16384 slots, in order, evenly
//! spaced). Each node has V tokens at `u64(SHA-256(node id ‖ k)[..8])`, k = 0..V. A slot's
//! primary is the node of the first token at or after the slot's position (wrapping round), and
//! its replicas are the next distinct nodes met walking on clockwise: R owners in all, primary
//! first, R capped by the number of nodes.
//!
//! Every node that sees the same live members builds the same [`SlotTable`], whatever order it
//! learnt them in. Adding a node moves to it only the slots its tokens now precede (≈ 1/N of
//! them), and each replica set changes only by taking the new node in; removing one is the
//! mirror image. A node's tokens cover contiguous runs of slots, so the table has about N×V
//! ranges ([`SlotTable::ranges`]) — what `CLUSTER SLOTS` lists.
//!
//! # Choosing V
//!
//! Measured by the tests below (max/avg primary slots per node, 16384 slots, mean over 20 random
//! clusters; `cargo test -p shoal-cluster ring::tests::balance_by_tokens -- --nocapture
//! --ignored`):
//!
//! | V | N=3 | N=5 | N=10 | N=16 | N=32 | N=64 |
//! |---|---|---|---|---|---|---|
//! | 16 | 1.20 | 1.33 | 1.40 | 1.54 | 1.55 | 1.70 |
//! | 32 | 1.15 | 1.17 | 1.27 | 1.36 | 1.36 | 1.47 |
//! | 64 | 1.11 | 1.13 | 1.18 | 1.22 | 1.25 | 1.32 |
//! | 128 | 1.07 | 1.12 | 1.14 | 1.15 | 1.18 | 1.23 |
//! | **256** | **1.05** | **1.07** | **1.10** | **1.10** | **1.15** | **1.16** |
//! | 512 | 1.04 | 1.05 | 1.07 | 1.08 | 1.10 | 1.14 |
//!
//! The default, V = 256, keeps the busiest node within about 10% of the mean up to 16 nodes and
//! 16% at 64, and the slots moved by one join or leave within 0.84–1.10× of the ideal 1/N
//! (primaries) and 0.93–1.05× (replica sets) for N = 3…64. 512 gains little more balance while
//! doubling the ranges clients must track: `CLUSTER SLOTS` has 528 ranges at N = 3, 2121 at
//! N = 10, 10197 at N = 64 (merged runs; at most N×V and 16384).

use sha2::{Digest, Sha256};

use crate::identity::NodeId;
use crate::slot::{SLOTS, Slot};

/// Index of a node in [`SlotTable::nodes`].
pub type NodeIndex = u16;

/// Bits a slot number is shifted by to give its ring position (16384 = 2^14 slots on 2^64).
const SLOT_SHIFT: u32 = 64 - 14;

/// The ring position of token `k` of node `id`.
pub fn token(id: &NodeId, k: u16) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(id.as_bytes());
    hasher.update(u32::from(k).to_be_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The ring position of a slot.
pub const fn slot_position(slot: Slot) -> u64 {
    (slot as u64) << SLOT_SHIFT
}

/// A run of consecutive slots with the same owners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotRange {
    /// First slot of the run.
    pub start: Slot,
    /// Last slot of the run (inclusive, as in `CLUSTER SLOTS`).
    pub end: Slot,
}

/// How many slots a node owns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlotCounts {
    /// Slots where it is the primary.
    pub primary: u32,
    /// Slots where it is one of the replicas.
    pub replica: u32,
}

/// Slot → owners for one set of live nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotTable {
    /// The live nodes, sorted by id; owners are indexes into this.
    nodes: Vec<NodeId>,
    /// Owners per slot: min(R, nodes).
    replication: usize,
    /// `SLOTS × replication` node indexes, slot-major, primary first.
    owners: Box<[NodeIndex]>,
    /// Maximal runs of slots with identical owner lists, in slot order.
    ranges: Vec<SlotRange>,
    /// Per node: slots owned as primary and as replica.
    counts: Vec<SlotCounts>,
}

impl SlotTable {
    /// Builds the table for `members` (duplicates ignored) with `tokens_per_node` tokens each and
    /// `replicas` owners per slot (capped by the number of members). At most 65535 members.
    pub fn build(
        members: impl IntoIterator<Item = NodeId>,
        tokens_per_node: u16,
        replicas: usize,
    ) -> Self {
        let mut nodes: Vec<NodeId> = members.into_iter().collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes.truncate(usize::from(NodeIndex::MAX));
        let tokens_per_node = tokens_per_node.max(1);
        let replication = replicas.min(nodes.len());

        let mut tokens: Vec<(u64, NodeIndex)> =
            Vec::with_capacity(nodes.len() * usize::from(tokens_per_node));
        for (index, id) in (0..).zip(&nodes) {
            tokens.extend((0..tokens_per_node).map(|k| (token(id, k), index)));
        }
        // Ties (vanishingly rare) are broken by node index, itself ordered by id.
        tokens.sort_unstable();

        let mut owners = vec![0; usize::from(SLOTS) * replication].into_boxed_slice();
        let mut counts = vec![SlotCounts::default(); nodes.len()];
        if replication > 0 {
            let mut next = 0;
            let mut walked: Option<(usize, Vec<NodeIndex>)> = None;
            for (slot, row) in owners.chunks_exact_mut(replication).enumerate() {
                let position = slot_position(slot as Slot);
                while next < tokens.len() && tokens[next].0 < position {
                    next += 1;
                }
                let first = if next == tokens.len() { 0 } else { next };
                let list = match &walked {
                    Some((at, list)) if *at == first => list,
                    _ => &walked.insert((first, walk(&tokens, first, replication))).1,
                };
                row.copy_from_slice(list);
                for (rank, &node) in list.iter().enumerate() {
                    let count = &mut counts[usize::from(node)];
                    if rank == 0 {
                        count.primary += 1;
                    } else {
                        count.replica += 1;
                    }
                }
            }
        }

        let mut table = Self {
            nodes,
            replication,
            owners,
            ranges: Vec::new(),
            counts,
        };
        table.ranges = table.compute_ranges();
        table
    }

    fn compute_ranges(&self) -> Vec<SlotRange> {
        let mut ranges: Vec<SlotRange> = Vec::new();
        if self.replication == 0 {
            return ranges;
        }
        for slot in 0..SLOTS {
            match ranges.last_mut() {
                Some(range) if self.owners(range.start) == self.owners(slot) => range.end = slot,
                _ => ranges.push(SlotRange {
                    start: slot,
                    end: slot,
                }),
            }
        }
        ranges
    }

    /// The live nodes, sorted by id.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// Owners per slot: the replication factor capped by the number of nodes.
    pub fn replication(&self) -> usize {
        self.replication
    }

    /// Indexes (into [`Self::nodes`]) of the owners of `slot`, primary first. Empty when the
    /// table has no nodes.
    pub fn owners(&self, slot: Slot) -> &[NodeIndex] {
        let start = usize::from(slot % SLOTS) * self.replication;
        &self.owners[start..start + self.replication]
    }

    /// The ids of the owners of `slot`, primary first.
    pub fn owner_ids(&self, slot: Slot) -> impl Iterator<Item = &NodeId> + '_ {
        self.owners(slot)
            .iter()
            .map(|&index| &self.nodes[usize::from(index)])
    }

    /// The primary of `slot` (`None` only for an empty table).
    pub fn primary(&self, slot: Slot) -> Option<&NodeId> {
        self.owner_ids(slot).next()
    }

    /// Maximal runs of consecutive slots with identical owner lists, in slot order.
    pub fn ranges(&self) -> &[SlotRange] {
        &self.ranges
    }

    /// The index of `id` in [`Self::nodes`], if it is in the table.
    pub fn index_of(&self, id: &NodeId) -> Option<NodeIndex> {
        let index = self.nodes.binary_search(id).ok()?;
        NodeIndex::try_from(index).ok()
    }

    /// Slots owned by `id` as primary and as replica (zero if it is not in the table).
    pub fn counts(&self, id: &NodeId) -> SlotCounts {
        self.index_of(id)
            .map(|index| self.counts[usize::from(index)])
            .unwrap_or_default()
    }

    /// Runs of consecutive slots whose primary is `id` (for `CLUSTER NODES`), in slot order.
    pub fn primary_ranges(&self, id: &NodeId) -> Vec<SlotRange> {
        self.ranges_where(id, |owners, index| owners.first() == Some(&index))
    }

    /// Runs of consecutive slots that `id` holds as a replica, in slot order.
    pub fn replica_ranges(&self, id: &NodeId) -> Vec<SlotRange> {
        self.ranges_where(id, |owners, index| {
            owners.iter().skip(1).any(|&o| o == index)
        })
    }

    fn ranges_where(
        &self,
        id: &NodeId,
        holds: impl Fn(&[NodeIndex], NodeIndex) -> bool,
    ) -> Vec<SlotRange> {
        let Some(index) = self.index_of(id) else {
            return Vec::new();
        };
        let mut out: Vec<SlotRange> = Vec::new();
        for range in self
            .ranges
            .iter()
            .filter(|r| holds(self.owners(r.start), index))
        {
            match out.last_mut() {
                Some(last) if last.end + 1 == range.start => last.end = range.end,
                _ => out.push(*range),
            }
        }
        out
    }
}

/// The first `replication` distinct nodes met walking clockwise from token `first`.
fn walk(tokens: &[(u64, NodeIndex)], first: usize, replication: usize) -> Vec<NodeIndex> {
    let mut list = Vec::with_capacity(replication);
    for &(_, node) in tokens[first..].iter().chain(&tokens[..first]) {
        if !list.contains(&node) {
            list.push(node);
            if list.len() == replication {
                break;
            }
        }
    }
    list
}

#[cfg(test)]
#[path = "ring_tests.rs"]
mod tests;
