//! Unit tests of the sans-IO core over a lossless, instant in-memory network.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use rand::{SeedableRng, rngs::StdRng};

use super::*;
use crate::identity::{NodeId, Phase};
use crate::wire::MAGIC;

const MS: Duration = Duration::from_millis(1);

fn bus(i: usize) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 20000 + i as u16))
}

fn node(i: usize, secret: Option<&[u8]>) -> Membership {
    let mut rng = StdRng::seed_from_u64(i as u64);
    let identity = NodeIdentity::with_generation(NodeId::random(&mut rng), bus(i), bus(i), 1);
    let timings = Timings::from_node_timeout(Duration::from_millis(1500));
    Membership::new(
        identity,
        timings,
        secret,
        StdRng::seed_from_u64(100 + i as u64),
        Arc::new(ClusterStats::default()),
    )
}

/// Instant, lossless delivery between nodes; `up[i]` false drops everything to and from i.
struct Net {
    nodes: Vec<Membership>,
    up: Vec<bool>,
    now: Duration,
}

impl Net {
    fn new(nodes: Vec<Membership>) -> Self {
        let up = vec![true; nodes.len()];
        Self {
            nodes,
            up,
            now: Duration::ZERO,
        }
    }

    fn pump(&mut self) {
        loop {
            let mut in_flight = Vec::new();
            for (i, node) in self.nodes.iter_mut().enumerate() {
                let from = node.identity().bus;
                let sent: Vec<Outgoing> = node.drain_outbox().collect();
                if self.up[i] {
                    in_flight.extend(sent.into_iter().map(|out| (from, out)));
                }
            }
            if in_flight.is_empty() {
                return;
            }
            for (from, out) in in_flight {
                if let Some(j) = self.nodes.iter().position(|n| n.identity().bus == out.to)
                    && self.up[j]
                {
                    self.nodes[j].handle_datagram(self.now, from, &out.datagram);
                }
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while self.now < end {
            self.now += MS;
            for (i, node) in self.nodes.iter_mut().enumerate() {
                if self.up[i] {
                    node.handle_timers(self.now);
                }
            }
            self.pump();
        }
    }

    fn sees(&self, observer: usize, subject: usize) -> Option<MemberState> {
        let id = self.nodes[subject].identity().id;
        self.nodes[observer]
            .members()
            .find(|(m, _)| m.id == id)
            .map(|(_, state)| state)
    }
}

#[test]
fn a_node_joins_through_a_seed_known_only_by_address() {
    let mut net = Net::new(vec![node(0, None), node(1, None), node(2, None)]);
    net.nodes[1].announce(net.now, bus(0));
    net.nodes[2].announce(net.now, bus(0));
    net.pump();
    net.advance(Duration::from_secs(2));
    for i in 0..3 {
        assert!(net.nodes[i].is_joined());
        for j in (0..3).filter(|&j| j != i) {
            assert_eq!(net.sees(i, j), Some(MemberState::Alive), "{i} sees {j}");
        }
    }
    let events: Vec<_> = net.nodes[1].drain_events().collect();
    assert!(events.contains(&MembershipEvent::Joined));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, MembershipEvent::MemberUp(_)))
    );
    assert!(net.nodes[0].take_changed());
}

#[test]
fn a_leave_is_known_at_once_and_a_crash_after_the_timeout() {
    let mut net = Net::new((0..4).map(|i| node(i, None)).collect());
    for i in 1..4 {
        net.nodes[i].announce(net.now, bus(0));
    }
    net.pump();
    net.advance(Duration::from_secs(2));

    net.nodes[3].leave(net.now);
    net.pump();
    assert!(net.nodes[3].has_left());
    for i in 0..3 {
        assert_eq!(
            net.sees(i, 3),
            Some(MemberState::Down),
            "{i} learnt of the leave"
        );
    }

    // Simulated time: the bound is a number of protocol steps, not the machine's clock.
    net.up[2] = false;
    let detected_after = (1..=1_000).find(|_| {
        net.advance(10 * MS);
        (0..2).all(|i| net.sees(i, 2) == Some(MemberState::Down))
    });
    let steps = detected_after.expect("crash never detected in 1000 simulated steps");
    println!("crash detected by both survivors after {steps} simulated 10 ms steps");
}

#[test]
fn a_node_with_another_secret_never_joins() {
    let mut net = Net::new(vec![node(0, Some(b"right")), node(1, Some(b"wrong"))]);
    for _ in 0..5 {
        net.nodes[1].announce(net.now, bus(0));
        net.pump();
        net.advance(Duration::from_millis(500));
    }
    assert!(!net.nodes[1].is_joined());
    assert_eq!(net.nodes[0].members().count(), 0);
    assert!(net.nodes[0].stats.snapshot().dropped_unauthenticated >= 5);
    // The seed answers with refusals, which tell the joiner why it is not let in, and which
    // change nothing else.
    assert!(net.nodes[0].stats.snapshot().refusals_sent >= 1);
    assert!(net.nodes[1].stats.snapshot().refusals_received >= 1);
    assert_eq!(
        net.nodes[1].refused_within(net.now, Duration::from_secs(5)),
        Some(bus(0))
    );
    assert_eq!(net.nodes[1].members().count(), 0);
}

#[test]
fn a_node_without_a_secret_is_refused_by_one_with_a_secret_and_refusals_are_rate_limited() {
    let mut net = Net::new(vec![node(0, Some(b"secret")), node(1, None)]);
    for _ in 0..20 {
        net.nodes[1].announce(net.now, bus(0));
        net.pump();
    }
    // Twenty packets at one instant: one refusal.
    assert_eq!(net.nodes[0].stats.snapshot().refusals_sent, 1);
    assert!(net.nodes[1].refused_within(net.now, MS).is_some());
    assert!(
        net.nodes[1]
            .refused_within(net.now + Duration::from_secs(10), Duration::from_secs(5))
            .is_none()
    );
}

#[test]
fn a_restarted_node_on_the_same_address_replaces_the_old_one() {
    let mut net = Net::new(vec![node(0, None), node(1, None)]);
    net.nodes[1].announce(net.now, bus(0));
    net.pump();
    net.advance(Duration::from_secs(1));
    let old = net.nodes[1].identity().clone();

    let mut rng = StdRng::seed_from_u64(77);
    let restarted = NodeIdentity::with_generation(NodeId::random(&mut rng), bus(1), bus(1), 2);
    net.nodes[1] = Membership::new(
        restarted.clone(),
        *net.nodes[0].timings(),
        None,
        StdRng::seed_from_u64(78),
        Arc::new(ClusterStats::default()),
    );
    net.nodes[1].announce(net.now, bus(0));
    net.pump();
    let events: Vec<_> = net.nodes[0].drain_events().collect();
    assert!(events.contains(&MembershipEvent::MemberReplaced {
        old,
        new: restarted.clone()
    }));
    let members: Vec<_> = net.nodes[0]
        .members()
        .map(|(m, s)| (m.clone(), s))
        .collect();
    assert_eq!(members, [(restarted, MemberState::Alive)]);
}

#[test]
fn a_phase_change_replaces_the_identity_everywhere_without_a_down() {
    let mut net = Net::new((0..4).map(|i| node(i, None)).collect());
    for i in 1..4 {
        net.nodes[i].announce(net.now, bus(0));
    }
    net.pump();
    net.advance(Duration::from_secs(2));
    for node in &mut net.nodes {
        let _ = node.drain_events().count();
    }
    let id = net.nodes[2].identity().id;
    net.nodes[2].set_phase(net.now, Phase::Serving);
    assert_eq!(net.nodes[2].identity().phase, Phase::Serving);
    // Every observer ends up with the serving incarnation, alive, and at no step counts the
    // node as down (which would move its slots away for a moment).
    for _ in 0..2000 {
        net.advance(MS);
        for (i, node) in net.nodes.iter().enumerate() {
            let down = node
                .members()
                .any(|(m, state)| m.id == id && m.phase == Phase::Serving && !state.is_live());
            assert!(!down, "{i} counts the serving incarnation as down");
            let live = node
                .members()
                .filter(|(m, state)| m.id == id && state.is_live())
                .count();
            assert!(live <= 1, "{i} sees two live incarnations");
            assert!(i == 2 || live == 1, "{i} sees no live incarnation");
        }
    }
    for i in [0, 1, 3] {
        let seen: Vec<(Phase, MemberState)> = net.nodes[i]
            .members()
            .filter(|(m, _)| m.id == id)
            .map(|(m, state)| (m.phase, state))
            .collect();
        assert!(
            seen.contains(&(Phase::Serving, MemberState::Alive)),
            "{i} sees {seen:?}"
        );
        let events: Vec<_> = net.nodes[i].drain_events().collect();
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, MembershipEvent::MemberDown(m) if m.id == id)),
            "{i}: {events:?}"
        );
    }
    assert!(net.nodes[2].is_joined());
}

#[test]
fn two_members_changing_phase_at_once_still_hear_each_other() {
    let mut net = Net::new((0..2).map(|i| node(i, None)).collect());
    net.nodes[1].announce(net.now, bus(0));
    net.pump();
    net.advance(Duration::from_secs(2));
    // Both change identity before either hears of the other's change: each one's messages
    // are addressed to the other's previous identity.
    for node in &mut net.nodes {
        node.set_phase(net.now, Phase::Serving);
    }
    net.advance(Duration::from_secs(10));
    for i in 0..2 {
        let other = net.nodes[1 - i].identity().clone();
        let seen: Vec<(Phase, MemberState)> = net.nodes[i]
            .members()
            .filter(|(m, _)| m.id == other.id)
            .map(|(m, state)| (m.phase, state))
            .collect();
        assert!(
            seen.contains(&(Phase::Serving, MemberState::Alive)),
            "{i} sees {seen:?}"
        );
        assert_eq!(net.nodes[i].live_members(), 1, "{i} is in touch");
    }
}

#[test]
fn packets_claiming_to_be_from_ourselves_are_rejected() {
    let mut net = Net::new(vec![node(0, None), node(1, None)]);
    net.nodes[1].announce(net.now, bus(0));
    let echoed: Vec<Outgoing> = net.nodes[1].drain_outbox().collect();
    for out in &echoed {
        net.nodes[1].handle_datagram(net.now, bus(1), &out.datagram);
    }
    assert_eq!(net.nodes[1].stats.snapshot().dropped_rejected, 1);
}

proptest! {
    #[test]
    fn garbage_never_panics_and_is_counted(
        payload in proptest::collection::vec(any::<u8>(), 0..1500),
        enveloped in any::<bool>(),
    ) {
        let mut plain = node(0, None);
        let mut keyed = node(1, Some(b"k"));
        let mut datagram = payload.clone();
        if enveloped {
            datagram.splice(0..0, [MAGIC, 0]);
        }
        plain.handle_datagram(Duration::ZERO, bus(9), &datagram);
        keyed.handle_datagram(Duration::ZERO, bus(9), &datagram);
        for core in [&plain, &keyed] {
            let stats = core.stats.snapshot();
            prop_assert_eq!(stats.packets_received, 1);
            prop_assert!(stats.packets_dropped() <= 1);
            prop_assert_eq!(core.members().count(), 0);
        }
        let keyed_stats = keyed.stats.snapshot();
        prop_assert_eq!(keyed_stats.packets_dropped() + keyed_stats.refusals_received, 1);
    }
}
