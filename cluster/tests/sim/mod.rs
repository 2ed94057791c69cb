//! A simulated network for the sans-IO membership core: many `Membership`s in one process,
//! a simulated clock, per-datagram loss and delay drawn from a seeded RNG. No sockets, no
//! sleeping: time jumps from one event (a delivery, a timer) to the next.
//!
//! Like the real shell, each node that is not part of a cluster re-announces to its seed (and
//! to members it believes down) every `join_retry`.

#![allow(dead_code, unreachable_pub)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::{RngExt, SeedableRng, rngs::StdRng};
use shoal_cluster::{
    ClusterStats, MemberState, Membership, MembershipEvent, NodeId, NodeIdentity, Timings,
};

enum Action {
    Deliver {
        from: usize,
        to: SocketAddr,
        datagram: Bytes,
    },
    Wake(usize),
    Retry(usize),
}

struct Event {
    at: Duration,
    seq: u64,
    action: Action,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

pub struct SimNode {
    pub core: Membership,
    pub stats: Arc<ClusterStats>,
    /// Running (false once crashed or left).
    pub up: bool,
    pub seed: Option<SocketAddr>,
    wake_at: Option<Duration>,
}

/// A recorded membership event.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Duration,
    pub observer: usize,
    pub event: MembershipEvent,
}

pub struct Sim {
    pub now: Duration,
    pub nodes: Vec<SimNode>,
    pub timings: Timings,
    pub loss: f64,
    pub delay: (Duration, Duration),
    pub secret: Option<Vec<u8>>,
    pub delivered: u64,
    pub lost: u64,
    pub seen: Vec<Seen>,
    /// Partition group of each node (datagrams only flow within a group); empty: none.
    groups: Vec<usize>,
    by_addr: HashMap<SocketAddr, usize>,
    queue: BinaryHeap<Reverse<Event>>,
    seq: u64,
    rng: StdRng,
}

impl Sim {
    pub fn new(seed: u64, timings: Timings, loss: f64, delay: (Duration, Duration)) -> Self {
        Self {
            now: Duration::ZERO,
            nodes: Vec::new(),
            timings,
            loss,
            delay,
            secret: None,
            delivered: 0,
            lost: 0,
            seen: Vec::new(),
            groups: Vec::new(),
            by_addr: HashMap::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn addr(index: usize) -> SocketAddr {
        let [a, b] = u16::try_from(index).expect("small sim").to_be_bytes();
        SocketAddr::from(([127, 1, a, b], 17000))
    }

    fn new_core(&mut self, index: usize) -> (Membership, Arc<ClusterStats>) {
        let addr = Self::addr(index);
        let id = NodeId::random(&mut self.rng);
        // Generations are unix milliseconds in real life; the simulated clock will do.
        let generation = 1 + self.now.as_millis() as u64;
        let identity = NodeIdentity::with_generation(id, addr, addr, generation);
        let stats = Arc::new(ClusterStats::default());
        let rng = StdRng::seed_from_u64(self.rng.random());
        let core = Membership::new(
            identity,
            self.timings,
            self.secret.as_deref(),
            rng,
            Arc::clone(&stats),
        );
        (core, stats)
    }

    /// Starts a node; with a seed it joins through it.
    pub fn add_node(&mut self, seed: Option<usize>) -> usize {
        let index = self.nodes.len();
        let (core, stats) = self.new_core(index);
        self.by_addr.insert(Self::addr(index), index);
        self.nodes.push(SimNode {
            core,
            stats,
            up: true,
            seed: seed.map(Self::addr),
            wake_at: None,
        });
        self.retry(index);
        index
    }

    /// Kills node `index` and starts a new incarnation (new id) on the same address.
    pub fn restart(&mut self, index: usize, seed: usize) {
        let (core, stats) = self.new_core(index);
        let node = &mut self.nodes[index];
        node.core = core;
        node.stats = stats;
        node.up = true;
        node.seed = Some(Self::addr(seed));
        node.wake_at = None;
        self.retry(index);
    }

    /// Splits the network: node i only reaches nodes with the same `groups[i]`.
    pub fn partition(&mut self, groups: Vec<usize>) {
        self.groups = groups;
    }

    /// Heals any partition.
    pub fn heal(&mut self) {
        self.groups.clear();
    }

    /// Stops a node without a word.
    pub fn crash(&mut self, index: usize) {
        self.nodes[index].up = false;
    }

    /// Leaves gracefully, then stops.
    pub fn leave(&mut self, index: usize) {
        let now = self.now;
        self.nodes[index].core.leave(now);
        self.after(index);
        self.nodes[index].up = false;
    }

    pub fn id(&self, index: usize) -> NodeId {
        self.nodes[index].core.identity().id
    }

    /// What `observer` believes about `subject` (`None`: unknown).
    pub fn view(&self, observer: usize, subject: usize) -> Option<MemberState> {
        let id = self.id(subject);
        self.nodes[observer]
            .core
            .members()
            .find(|(m, _)| m.id == id)
            .map(|(_, state)| state)
    }

    /// Whether every running node other than `subject` sees it in a state `ok` accepts.
    pub fn all_see(&self, subject: usize, ok: impl Fn(Option<MemberState>) -> bool) -> bool {
        (0..self.nodes.len())
            .filter(|&i| i != subject && self.nodes[i].up)
            .all(|i| ok(self.view(i, subject)))
    }

    /// Whether every running node sees every other running node alive or suspect.
    pub fn converged(&self) -> bool {
        let up: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].up)
            .collect();
        up.iter()
            .all(|&s| self.all_see(s, |state| state.is_some_and(MemberState::is_live)))
    }

    /// Runs until `done` holds (checked every `step`), at most `limit`; the time it took.
    pub fn run_until(
        &mut self,
        limit: Duration,
        step: Duration,
        mut done: impl FnMut(&Sim) -> bool,
    ) -> Option<Duration> {
        let start = self.now;
        while self.now - start <= limit {
            if done(self) {
                return Some(self.now - start);
            }
            let until = self.now + step;
            self.run_to(until);
        }
        None
    }

    pub fn run_for(&mut self, by: Duration) {
        let until = self.now + by;
        self.run_to(until);
    }

    fn run_to(&mut self, until: Duration) {
        while let Some(Reverse(next)) = self.queue.peek() {
            if next.at > until {
                break;
            }
            let Some(Reverse(event)) = self.queue.pop() else {
                break;
            };
            self.now = event.at;
            match event.action {
                Action::Deliver { from, to, datagram } => {
                    if let Some(&index) = self.by_addr.get(&to)
                        && self.nodes[index].up
                        && self.groups.get(from) == self.groups.get(index)
                    {
                        let now = self.now;
                        let sender = self.nodes[from].core.identity().bus;
                        self.nodes[index]
                            .core
                            .handle_datagram(now, sender, &datagram);
                        self.after(index);
                    }
                }
                Action::Wake(index) => {
                    if self.nodes[index].up {
                        self.nodes[index].wake_at = None;
                        let now = self.now;
                        self.nodes[index].core.handle_timers(now);
                        self.after(index);
                    }
                }
                Action::Retry(index) => self.retry(index),
            }
        }
        self.now = until;
    }

    fn push(&mut self, at: Duration, action: Action) {
        self.seq += 1;
        self.queue.push(Reverse(Event {
            at,
            seq: self.seq,
            action,
        }));
    }

    /// The shell's join retry: announce to the seed and to down members while alone.
    fn retry(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        if !node.up {
            return;
        }
        if !node.core.is_joined() {
            let now = self.now;
            if let Some(seed) = node.seed {
                node.core.announce(now, seed);
            }
            node.core.announce_to_down_members(now);
            self.after(index);
        }
        let at = self.now + self.timings.join_retry;
        self.push(at, Action::Retry(index));
    }

    /// Moves a node's output onto the network and schedules its next timer.
    fn after(&mut self, index: usize) {
        let now = self.now;
        let out: Vec<_> = self.nodes[index].core.drain_outbox().collect();
        for packet in out {
            if self.rng.random_bool(self.loss) {
                self.lost += 1;
                continue;
            }
            self.delivered += 1;
            let (low, high) = self.delay;
            let delay = if high > low {
                low + (high - low).mul_f64(self.rng.random())
            } else {
                low
            };
            self.push(
                now + delay,
                Action::Deliver {
                    from: index,
                    to: packet.to,
                    datagram: packet.datagram,
                },
            );
        }
        let events: Vec<_> = self.nodes[index].core.drain_events().collect();
        for event in events {
            self.seen.push(Seen {
                at: now,
                observer: index,
                event,
            });
        }
        let _ = self.nodes[index].core.take_changed();
        if let Some(deadline) = self.nodes[index].core.next_deadline() {
            let node = &mut self.nodes[index];
            if node.wake_at.is_none_or(|at| deadline < at || at < now) {
                node.wake_at = Some(deadline);
                self.push(deadline, Action::Wake(index));
            }
        }
    }

    /// Down verdicts about nodes that were running, and renewals (a live node learning it was
    /// declared down): false positives.
    pub fn false_downs(&self) -> Vec<Seen> {
        self.seen
            .iter()
            .filter(|seen| match &seen.event {
                MembershipEvent::MemberDown(id) => self.by_addr.get(&id.bus).is_some_and(|&i| {
                    self.nodes[i].up && self.nodes[i].core.identity().id == id.id
                }),
                MembershipEvent::Renewed(_) => true,
                _ => false,
            })
            .cloned()
            .collect()
    }

    /// Total suspicions raised, over all nodes.
    pub fn suspicions(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| n.stats.snapshot().suspicions)
            .sum()
    }
}
