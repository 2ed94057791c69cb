//! The sans-IO membership core: one `foca::Foca`, its timers, and the packet envelope.
//!
//! [`Membership`] never touches a socket or a clock. The caller passes in received datagrams,
//! the current time (a `Duration` since any fixed origin) and commands (announce, leave); the
//! core drives foca with an `AccumulatingRuntime` and drains it after every call: packets to
//! send go to an outbox (already sealed, addressed to the bus address), timers go to a min-heap
//! ordered by due time, notifications become [`MembershipEvent`]s. The caller sends the outbox,
//! publishes the events and calls [`Membership::handle_timers`] at
//! [`Membership::next_deadline`]. Every timer is delivered, in order, from one heap (no sleeping
//! task per timer: those fire out of order under lag, caio/foca#26).
//!
//! The async shell (`node.rs`) runs it over UDP with tokio's clock; the simulation tests run
//! a hundred of them over a simulated network with a simulated clock.
//!
//! Peers cannot make this code panic or fail: a datagram that is oversized, not ours,
//! unauthenticated or undecodable is dropped and counted in [`ClusterStats`].

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use foca::{AccumulatingRuntime, Foca, NoCustomBroadcast, OwnedNotification, Timer};
use rand::rngs::StdRng;

use crate::config::Timings;
use crate::identity::{NodeIdentity, Phase};
use crate::stats::ClusterStats;
use crate::topology::MemberState;
use crate::wire::{DropReason, Envelope, REFUSAL, WireCodec};

/// A datagram to send.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The peer's bus address.
    pub to: SocketAddr,
    /// The sealed datagram.
    pub datagram: Bytes,
}

/// A change in membership, as this node learnt it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipEvent {
    /// A member joined, or came back.
    MemberUp(NodeIdentity),
    /// A member was declared down, or left.
    MemberDown(NodeIdentity),
    /// A member was replaced by a newer incarnation on the same bus address (a restart).
    MemberReplaced {
        /// The incarnation we knew.
        old: NodeIdentity,
        /// The one that replaced it.
        new: NodeIdentity,
    },
    /// We are part of a cluster: at least one other member knows us.
    Joined,
    /// Every other member is down or gone: we are alone.
    Isolated,
    /// The cluster declared us down while we were alive; we rejoined with this identity (same
    /// node id, next generation).
    Renewed(NodeIdentity),
    /// We are down for good (we left the cluster).
    Defunct,
}

type Swim = Foca<NodeIdentity, WireCodec, StdRng, NoCustomBroadcast>;

/// A foca timer due at a given time; ordered by (due, insertion order).
struct Scheduled {
    due: Duration,
    seq: u64,
    timer: Timer<NodeIdentity>,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// The membership state machine of one node.
pub struct Membership {
    foca: Swim,
    runtime: AccumulatingRuntime<NodeIdentity>,
    timers: BinaryHeap<Reverse<Scheduled>>,
    next_seq: u64,
    envelope: Envelope,
    timings: Timings,
    /// (live cluster size, discovering) the foca config was last computed for.
    sized_for: (usize, bool),
    /// Announce fast until then (a member joined recently).
    discovery_until: Duration,
    stats: Arc<ClusterStats>,
    outbox: Vec<Outgoing>,
    events: Vec<MembershipEvent>,
    /// Membership or member states changed since the last [`Membership::take_changed`].
    changed: bool,
    joined: bool,
    left: bool,
    /// (alive, suspect, down) at the last count, this node included as alive.
    counts: (usize, usize, usize),
    /// The last refusal of our packets a peer sent back.
    refused: Option<Refused>,
    /// When we last sent a refusal.
    last_refusal_sent: Option<Duration>,
    /// When we last warned about refused packets, and how many were refused since.
    last_refusal_log: Option<Duration>,
    refusals_unlogged: u64,
}

/// A peer refused our packets as unauthenticated.
#[derive(Clone, Copy, Debug)]
struct Refused {
    by: SocketAddr,
    at: Duration,
}

/// Least time between two refusals we send.
const REFUSAL_INTERVAL: Duration = Duration::from_millis(200);
/// Least time between two warnings about refused packets.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

impl Membership {
    /// A node with `identity`, not yet part of any cluster.
    pub fn new(
        identity: NodeIdentity,
        timings: Timings,
        secret: Option<&[u8]>,
        rng: StdRng,
        stats: Arc<ClusterStats>,
    ) -> Self {
        let foca = Foca::new(identity, timings.foca_config(1, true), rng, WireCodec);
        ClusterStats::set(&stats.members_alive, 1);
        Self {
            foca,
            runtime: AccumulatingRuntime::new(),
            timers: BinaryHeap::new(),
            next_seq: 0,
            envelope: Envelope::new(secret),
            timings,
            sized_for: (1, true),
            discovery_until: timings.discovery_window,
            stats,
            outbox: Vec::new(),
            events: Vec::new(),
            changed: false,
            joined: false,
            left: false,
            counts: (1, 0, 0),
            refused: None,
            last_refusal_sent: None,
            last_refusal_log: None,
            refusals_unlogged: 0,
        }
    }

    /// Our current identity (its generation changes if we renew).
    pub fn identity(&self) -> &NodeIdentity {
        self.foca.identity()
    }

    /// Whether at least one other member knows us.
    pub fn is_joined(&self) -> bool {
        self.joined
    }

    /// Whether we left the cluster.
    pub fn has_left(&self) -> bool {
        self.left
    }

    /// The timings in use.
    pub fn timings(&self) -> &Timings {
        &self.timings
    }

    /// Every member we know (not ourselves), with its state.
    pub fn members(&self) -> impl Iterator<Item = (&NodeIdentity, MemberState)> + '_ {
        self.foca
            .iter_membership_state()
            .map(|m| (m.id(), MemberState::from(m.state())))
    }

    /// Members we know that are alive or suspect (not ourselves).
    pub fn live_members(&self) -> usize {
        self.foca.num_members()
    }

    /// Handles one datagram received from `from`.
    pub fn handle_datagram(&mut self, now: Duration, from: SocketAddr, datagram: &[u8]) {
        ClusterStats::add(&self.stats.packets_received, 1);
        ClusterStats::add(&self.stats.bytes_received, datagram.len() as u64);
        if Envelope::is_refusal(datagram) {
            ClusterStats::add(&self.stats.refusals_received, 1);
            self.refused = Some(Refused { by: from, at: now });
            return;
        }
        let payload = match self.envelope.open(datagram) {
            Ok(payload) => payload,
            Err(reason) => {
                tracing::trace!(?reason, len = datagram.len(), "dropped gossip datagram");
                self.stats.dropped(reason);
                if reason == DropReason::Unauthenticated {
                    self.refuse(now, from);
                }
                return;
            }
        };
        if let Err(error) = self.foca.handle_data(payload, &mut self.runtime) {
            let reason = match error {
                foca::Error::DataTooBig => DropReason::Oversized,
                foca::Error::Decode(_)
                | foca::Error::MalformedPacket
                | foca::Error::CustomBroadcast(_) => DropReason::Malformed,
                _ => DropReason::Rejected,
            };
            tracing::debug!(%error, "gossip packet refused");
            self.stats.dropped(reason);
        }
        self.drain(now);
    }

    /// Answers a packet dropped as unauthenticated with a refusal (at most one per
    /// [`REFUSAL_INTERVAL`]), and warns about such packets at most once per
    /// [`REFUSAL_LOG_INTERVAL`]: a node with the wrong secret, or none, is trying to join.
    fn refuse(&mut self, now: Duration, from: SocketAddr) {
        if self
            .last_refusal_sent
            .is_none_or(|at| now.saturating_sub(at) >= REFUSAL_INTERVAL)
        {
            self.last_refusal_sent = Some(now);
            ClusterStats::add(&self.stats.refusals_sent, 1);
            self.outbox.push(Outgoing {
                to: from,
                datagram: Bytes::from_static(&REFUSAL),
            });
        }
        self.refusals_unlogged += 1;
        if self
            .last_refusal_log
            .is_none_or(|at| now.saturating_sub(at) >= REFUSAL_LOG_INTERVAL)
        {
            tracing::warn!(
                %from,
                refused = self.refusals_unlogged,
                "refused gossip packets not authenticated with this cluster's secret: a node \
                 with a different cluster-secret (or none) is trying to join"
            );
            self.last_refusal_log = Some(now);
            self.refusals_unlogged = 0;
        }
    }

    /// The last refusal a peer sent us, if it came within `window` before `now`: our packets
    /// are not authenticated with its secret.
    pub fn refused_within(&self, now: Duration, window: Duration) -> Option<SocketAddr> {
        self.refused
            .filter(|r| now.saturating_sub(r.at) <= window)
            .map(|r| r.by)
    }

    /// Handles every timer due at `now`. A `ChangeSuspectToDown` whose suspicion was refuted
    /// in the meantime is dropped (see `still_relevant`: foca 2.0 would tell the member it is
    /// down).
    pub fn handle_timers(&mut self, now: Duration) {
        let mut due = Vec::new();
        while let Some(Reverse(next)) = self.timers.peek() {
            if next.due > now {
                break;
            }
            if let Some(Reverse(next)) = self.timers.pop() {
                due.push(next.timer);
            }
        }
        // Under lag several timers come due together: foca wants them in its own order (an
        // indirect probe before the next probe), which `Timer`'s `Ord` gives.
        due.sort();
        for timer in due {
            if !self.still_relevant(&timer) {
                continue;
            }
            if let Err(error) = self.foca.handle_timer(timer, &mut self.runtime) {
                tracing::debug!(%error, "foca timer");
            }
            self.drain(now);
        }
    }

    /// Whether a timer still has work to do. foca 2.0 answers a `ChangeSuspectToDown` whose
    /// suspicion was refuted by sending the member `TurnUndead` anyway (it only checks that the
    /// member exists), which makes every live member that refuted a suspicion believe it was
    /// declared down and renew its identity. So such a timer is delivered only while the member
    /// is still suspect at the same incarnation — exactly when foca would declare it down.
    fn still_relevant(&self, timer: &Timer<NodeIdentity>) -> bool {
        match timer {
            Timer::ChangeSuspectToDown {
                member_id,
                incarnation,
                ..
            } => self.foca.iter_membership_state().any(|m| {
                m.id() == member_id
                    && m.state() == foca::State::Suspect
                    && m.incarnation() == *incarnation
            }),
            _ => true,
        }
    }

    /// When [`Self::handle_timers`] must next be called.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.timers.peek().map(|Reverse(next)| next.due)
    }

    /// Asks the node at `bus` (a seed, known only by address) to let us in.
    pub fn announce(&mut self, now: Duration, bus: SocketAddr) {
        if bus == self.identity().bus || self.left {
            return;
        }
        if let Err(error) = self
            .foca
            .announce(NodeIdentity::seed(bus), &mut self.runtime)
        {
            tracing::debug!(%error, %bus, "announce");
        }
        self.drain(now);
    }

    /// Announces to every member we believe down: while we are alone this is how a partition
    /// heals (foca's own periodic announce only runs while we have live peers).
    pub fn announce_to_down_members(&mut self, now: Duration) {
        if self.left {
            return;
        }
        let down: Vec<NodeIdentity> = self
            .members()
            .filter(|(_, state)| *state == MemberState::Down)
            .map(|(id, _)| id.clone())
            .collect();
        for identity in down {
            if let Err(error) = self.foca.announce(identity, &mut self.runtime) {
                tracing::debug!(%error, "announce to down member");
            }
        }
        self.drain(now);
    }

    /// Moves this node to `phase` (see `identity::Phase`): it becomes a newer incarnation of
    /// itself carrying the phase, which gossip spreads like a restart (peers replace the
    /// older identity on the same address). Does nothing if already in `phase` or gone.
    pub fn set_phase(&mut self, now: Duration, phase: Phase) {
        if self.left || self.identity().phase == phase {
            return;
        }
        let Some(next) = self.identity().in_phase(phase) else {
            return;
        };
        tracing::info!(phase = phase.name(), "changing phase");
        let live: Vec<NodeIdentity> = self
            .members()
            .filter(|(_, state)| state.is_live())
            .map(|(id, _)| id.clone())
            .collect();
        if let Err(error) = self.foca.change_identity(next, &mut self.runtime) {
            tracing::warn!(%error, "cannot change phase");
        }
        // foca only accepts messages addressed to a member's current identity, except
        // announcements. A peer that changes its own identity at the same moment would drop
        // everything we send to its previous one and we its, leaving both out of touch for
        // good; announcing (accepted on the address) has each answer with its current
        // identity.
        for identity in live {
            if let Err(error) = self.foca.announce(identity, &mut self.runtime) {
                tracing::debug!(%error, "announce after a phase change");
            }
        }
        self.changed = true;
        self.drain(now);
    }

    /// Leaves the cluster: declares ourselves down and tells a few members, who spread it.
    pub fn leave(&mut self, now: Duration) {
        if self.left {
            return;
        }
        if let Err(error) = self.foca.leave_cluster(&mut self.runtime) {
            tracing::debug!(%error, "leave");
        }
        // A second round to other random members, so one lost datagram does not delay it.
        if let Err(error) = self.foca.gossip(&mut self.runtime) {
            tracing::debug!(%error, "leave gossip");
        }
        self.left = true;
        self.drain(now);
    }

    /// Datagrams to send, in order.
    pub fn drain_outbox(&mut self) -> std::vec::Drain<'_, Outgoing> {
        self.outbox.drain(..)
    }

    /// Membership events, in order.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, MembershipEvent> {
        self.events.drain(..)
    }

    /// Whether members or their states changed since the last call (then the topology needs
    /// rebuilding).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Moves everything foca asked for out of the runtime.
    fn drain(&mut self, now: Duration) {
        while let Some((to, packet)) = self.runtime.to_send() {
            self.outbox.push(Outgoing {
                to: to.bus,
                datagram: self.envelope.seal(&packet),
            });
        }
        while let Some((after, timer)) = self.runtime.to_schedule() {
            self.next_seq += 1;
            self.timers.push(Reverse(Scheduled {
                due: now + after,
                seq: self.next_seq,
                timer,
            }));
        }
        while let Some(notification) = self.runtime.to_notify() {
            if matches!(notification, OwnedNotification::MemberUp(_)) {
                self.discovery_until = now + self.timings.discovery_window;
            }
            self.notify(notification);
        }
        self.resize(now);
        self.count_states();
    }

    fn notify(&mut self, notification: OwnedNotification<NodeIdentity>) {
        let event = match notification {
            OwnedNotification::MemberUp(id) => MembershipEvent::MemberUp(id),
            OwnedNotification::MemberDown(id) => MembershipEvent::MemberDown(id),
            OwnedNotification::Rename(old, new) => MembershipEvent::MemberReplaced { old, new },
            OwnedNotification::Active => {
                self.joined = true;
                MembershipEvent::Joined
            }
            OwnedNotification::Idle => {
                self.joined = false;
                MembershipEvent::Isolated
            }
            OwnedNotification::Rejoin(id) => {
                self.joined = false;
                MembershipEvent::Renewed(id)
            }
            OwnedNotification::Defunct => {
                self.joined = false;
                MembershipEvent::Defunct
            }
        };
        match &event {
            MembershipEvent::MemberUp(id) => tracing::info!(member = ?id, "member up"),
            MembershipEvent::MemberDown(id) => tracing::info!(member = ?id, "member down"),
            MembershipEvent::MemberReplaced { old, new } => {
                tracing::info!(?old, ?new, "member restarted")
            }
            MembershipEvent::Renewed(id) => {
                tracing::warn!(identity = ?id, "declared down while alive, rejoined")
            }
            other => tracing::info!(event = ?other, "membership"),
        }
        if matches!(
            event,
            MembershipEvent::MemberUp(_)
                | MembershipEvent::MemberDown(_)
                | MembershipEvent::MemberReplaced { .. }
        ) {
            ClusterStats::add(&self.stats.membership_changes, 1);
        }
        ClusterStats::set(&self.stats.joined, u64::from(self.joined));
        self.changed = true;
        self.events.push(event);
    }

    /// Re-derives foca's settings that depend on the cluster size and on whether members are
    /// joining.
    fn resize(&mut self, now: Duration) {
        let wanted = (self.foca.num_members() + 1, now < self.discovery_until);
        if wanted == self.sized_for {
            return;
        }
        let current = self.timings.foca_config(self.sized_for.0, self.sized_for.1);
        let config = self.timings.foca_config(wanted.0, wanted.1);
        let differs = config.max_transmissions != current.max_transmissions
            || config.suspect_to_down_after != current.suspect_to_down_after
            || wanted.1 != self.sized_for.1;
        if differs && let Err(error) = self.foca.set_config(config) {
            tracing::warn!(%error, "cannot resize foca config");
            return;
        }
        self.sized_for = wanted;
    }

    fn count_states(&mut self) {
        let mut counts = (1, 0, 0);
        for (_, state) in self.members() {
            match state {
                MemberState::Alive => counts.0 += 1,
                MemberState::Suspect => counts.1 += 1,
                MemberState::Down => counts.2 += 1,
            }
        }
        if counts != self.counts {
            if counts.1 > self.counts.1 {
                ClusterStats::add(&self.stats.suspicions, (counts.1 - self.counts.1) as u64);
            }
            self.counts = counts;
            self.changed = true;
            ClusterStats::set(&self.stats.members_alive, counts.0 as u64);
            ClusterStats::set(&self.stats.members_suspect, counts.1 as u64);
            ClusterStats::set(&self.stats.members_down, counts.2 as u64);
        }
    }
}

#[cfg(test)]
#[path = "membership_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "handoff_sim_tests.rs"]
mod handoff_sim_tests;
