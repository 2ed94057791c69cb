//! A deterministic simulation of slot hand-off under churn: the real sans-IO membership core
//! of every node over an in-memory network that loses datagrams, driven by the phase rules
//! the server's `handoff.rs` follows, through random joins, graceful leaves, crashes and
//! restarts. Invariants are checked at every step; once the churn stops and the network
//! heals, every running node must serve, see exactly the running nodes, and agree on one
//! topology.
//!
//! The phase rules, as the server applies them:
//! - a node starts *warming* (the first node alone serves at once); a warming node turns
//!   *serving* once it has joined and every member it counts as live answers its topology
//!   epoch (`SHOAL.EPOCH`: here read from that node directly, and unanswered when it crashed);
//! - a node told it was declared down rejoins warming (`Renewed`);
//! - a node leaving gracefully turns *leaving*, and leaves the membership once every member it
//!   counts as live answers its epoch (they route by the topology in which it leaves).
//!   Data (snapshots, `replication::caught_up`) is not simulated: the real-process tests
//!   cover it.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::{RngExt, SeedableRng, rngs::StdRng};

use super::*;
use crate::identity::{NodeId, Phase};
use crate::topology::Topology;

const MS: Duration = Duration::from_millis(1);
/// How often each node's phase rules run (the server's hand-off task polls at about this).
const CONTROL_EVERY: Duration = Duration::from_millis(50);
const TOKENS: u16 = 16;
const REPLICAS: usize = 2;

fn bus(slot: usize) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 21000 + slot as u16))
}

/// One simulated node.
struct SimNode {
    core: Membership,
    /// Its address slot (a restart reuses it under a new node id, as a restarted process).
    slot: usize,
    /// Asked to leave gracefully.
    leaving: bool,
    /// The topology it derived last (`None`: not yet).
    topology: Option<Topology>,
}

struct Sim {
    nodes: Vec<SimNode>,
    now: Duration,
    rng: StdRng,
    /// Probability that a datagram is lost.
    loss: f64,
    /// Node ids made so far (a fresh one per start).
    started: u64,
    /// Graceful leaves completed.
    left: usize,
}

impl Sim {
    fn new(seed: u64) -> Sim {
        Sim {
            nodes: Vec::new(),
            now: Duration::ZERO,
            rng: StdRng::seed_from_u64(seed),
            loss: 0.0,
            started: 0,
            left: 0,
        }
    }

    /// Starts a node on address slot `slot`, announcing to a running node (if any).
    fn start(&mut self, slot: usize) {
        self.started += 1;
        let mut ids = StdRng::seed_from_u64(self.started * 7919 + self.rng.random::<u64>());
        let identity =
            NodeIdentity::with_generation(NodeId::random(&mut ids), bus(slot), bus(slot), 1);
        let timings = Timings::from_node_timeout(Duration::from_millis(1000));
        let mut core = Membership::new(
            identity,
            timings,
            None,
            StdRng::seed_from_u64(self.rng.random()),
            Arc::new(ClusterStats::default()),
        );
        let seed = self.nodes.iter().map(|n| n.core.identity().bus).next();
        match seed {
            Some(seed) => core.announce(self.now, seed),
            // The first node alone serves at once.
            None => core.set_phase(self.now, Phase::Serving),
        }
        self.nodes.push(SimNode {
            core,
            slot,
            leaving: false,
            topology: None,
        });
    }

    fn deliver(&mut self) {
        loop {
            let mut in_flight = Vec::new();
            for node in &mut self.nodes {
                let from = node.core.identity().bus;
                in_flight.extend(node.core.drain_outbox().map(|out| (from, out)));
            }
            if in_flight.is_empty() {
                return;
            }
            for (from, out) in in_flight {
                if self.rng.random::<f64>() < self.loss {
                    continue;
                }
                if let Some(to) = self
                    .nodes
                    .iter_mut()
                    .find(|n| n.core.identity().bus == out.to)
                {
                    to.core.handle_datagram(self.now, from, &out.datagram);
                }
            }
        }
    }

    /// Advances one millisecond: timers, delivery, and every [`CONTROL_EVERY`] the phase rules
    /// and the invariants.
    fn step(&mut self) {
        self.now += MS;
        for node in &mut self.nodes {
            node.core.handle_timers(self.now);
        }
        self.deliver();
        if self
            .now
            .as_millis()
            .is_multiple_of(CONTROL_EVERY.as_millis())
        {
            self.control();
            self.check();
        }
    }

    fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        while self.now < end {
            self.step();
        }
    }

    /// The phase rules of every node (see the module doc); removes nodes that have left.
    fn control(&mut self) {
        for node in &mut self.nodes {
            let previous = node.topology.take();
            let members: Vec<(NodeIdentity, MemberState)> = node
                .core
                .members()
                .map(|(id, state)| (id.clone(), state))
                .collect();
            node.topology = Some(Topology::derive(
                node.core.identity(),
                members,
                TOKENS,
                REPLICAS,
                previous.as_ref(),
            ));
            // A retry round, as the membership task runs one: a node that lost touch
            // announces to the members it counts as down.
            if !node.core.is_joined() && self.now.as_millis().is_multiple_of(1000) {
                node.core.announce_to_down_members(self.now);
            }
            for event in node.core.drain_events().collect::<Vec<_>>() {
                if let MembershipEvent::Renewed(_) = event {
                    // Renewed identities are warming already (`NodeIdentity::renewed`).
                    assert_eq!(node.core.identity().phase, Phase::Warming);
                }
            }
        }
        let epochs: HashMap<NodeId, u64> = self
            .nodes
            .iter()
            .filter_map(|n| Some((n.core.identity().id, n.topology.as_ref()?.epoch())))
            .collect();
        let now = self.now;
        let mut gone = Vec::new();
        for (index, node) in self.nodes.iter_mut().enumerate() {
            let Some(topology) = &node.topology else {
                continue;
            };
            let me = node.core.identity().id;
            let agree = topology
                .live_members()
                .filter(|m| m.id != me)
                .all(|m| epochs.get(&m.id) == Some(&topology.epoch()));
            match node.core.identity().phase {
                Phase::Warming if node.core.is_joined() && agree => {
                    node.core.set_phase(now, Phase::Serving);
                }
                Phase::Serving if node.leaving => node.core.set_phase(now, Phase::Leaving),
                Phase::Leaving if agree => {
                    node.core.leave(now);
                    gone.push(index);
                }
                _ => {}
            }
        }
        // A node that left sends its last datagrams, then its process ends.
        self.deliver();
        for index in gone.into_iter().rev() {
            self.nodes.remove(index);
            self.left += 1;
        }
    }

    /// What must hold at every step.
    fn check(&self) {
        for node in &self.nodes {
            // No observer counts two incarnations of one node as live.
            let mut live: Vec<NodeId> = node
                .core
                .members()
                .filter(|(_, state)| state.is_live())
                .map(|(id, _)| id.id)
                .collect();
            let count = live.len();
            live.sort_unstable();
            live.dedup();
            assert_eq!(
                live.len(),
                count,
                "{} sees a node twice",
                node.core.identity().id
            );
            let Some(topology) = &node.topology else {
                continue;
            };
            // Warming members route nothing while anyone serves; every slot has a primary.
            let serving = topology.live_members().any(|m| m.phase != Phase::Warming);
            for slot in (0..crate::slot::SLOTS).step_by(97) {
                let primary = topology.primary(slot);
                assert!(
                    !serving || primary.phase != Phase::Warming,
                    "a warming node is the primary of slot {slot} while others serve"
                );
            }
        }
    }

    /// Whether every running node serves, sees exactly the running nodes live, and all derived
    /// the same topology.
    fn settled(&self) -> bool {
        let running: BTreeSet<NodeId> = self.nodes.iter().map(|n| n.core.identity().id).collect();
        let epochs: BTreeSet<Option<u64>> = self
            .nodes
            .iter()
            .map(|n| n.topology.as_ref().map(Topology::epoch))
            .collect();
        epochs.len() == 1
            && self.nodes.iter().all(|n| {
                let seen: BTreeSet<NodeId> = n
                    .topology
                    .as_ref()
                    .map(|t| t.live_members().map(|m| m.id).collect())
                    .unwrap_or_default();
                n.core.identity().phase == Phase::Serving && seen == running
            })
    }

    fn describe(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| {
                let seen: Vec<String> = n
                    .core
                    .members()
                    .map(|(id, state)| format!("{}:{:?}:{:?}", id.id, id.phase, state))
                    .collect();
                format!(
                    "{} (slot {}) {:?} epoch {:?} sees {seen:?}",
                    n.core.identity().id,
                    n.slot,
                    n.core.identity().phase,
                    n.topology.as_ref().map(Topology::epoch)
                )
            })
            .collect()
    }
}

/// One scenario: a churn phase of random joins, graceful leaves, crashes and restarts under
/// datagram loss, then a quiet, lossless phase that must settle. Counts what it did in
/// `done` (joins, leaves asked, crashes, restarts, leaves completed).
fn churn(seed: u64, done: &mut [usize; 5]) {
    let mut sim = Sim::new(seed);
    for slot in 0..3 {
        sim.start(slot);
        sim.run_for(Duration::from_millis(200));
    }
    sim.run_for(Duration::from_secs(3));
    assert!(
        sim.settled(),
        "seed {seed}: did not form: {:#?}",
        sim.describe()
    );
    let mut next_slot = 3;
    for _ in 0..40 {
        sim.loss = [0.0, 0.02, 0.1][sim.rng.random_range(0..3)];
        let running = sim.nodes.len();
        match sim.rng.random_range(0..4) {
            0 if running < 6 => {
                sim.start(next_slot);
                next_slot += 1;
                done[0] += 1;
            }
            1 if running > 2 => {
                let index = sim.rng.random_range(0..running);
                sim.nodes[index].leaving = true;
                done[1] += 1;
            }
            2 if running > 2 => {
                // A crash: the process is gone, the others must find out.
                let index = sim.rng.random_range(0..running);
                sim.nodes.remove(index);
                done[2] += 1;
            }
            3 if running > 2 => {
                // A restart on the same address, as a new node.
                let index = sim.rng.random_range(0..running);
                let slot = sim.nodes.remove(index).slot;
                sim.start(slot);
                done[3] += 1;
            }
            _ => {}
        }
        let pause = sim.rng.random_range(100..1500);
        sim.run_for(Duration::from_millis(pause));
    }
    sim.loss = 0.0;
    let deadline = sim.now + Duration::from_secs(60);
    while !sim.settled() {
        assert!(
            sim.now < deadline,
            "seed {seed}: not settled 60 s after the churn stopped: {:#?}",
            sim.describe()
        );
        sim.run_for(CONTROL_EVERY);
    }
    done[4] += sim.left;
}

#[test]
fn hand_off_phases_settle_after_random_churn_under_loss() {
    let mut done = [0; 5];
    for seed in 0..6 {
        churn(seed, &mut done);
    }
    eprintln!("joins, leaves asked, crashes, restarts, leaves completed: {done:?}");
    // The scenarios did churn: each kind of change happened, and graceful leaves finished.
    assert!(
        done.iter().all(|&n| n > 0),
        "joins, leaves asked, crashes, restarts, leaves done: {done:?}"
    );
}
