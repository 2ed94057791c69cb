//! Counters and gauges of the cluster layer, for the server to export.
//!
//! Plain relaxed atomics written by the membership task; [`ClusterStats::snapshot`] copies them
//! into a [`StatsSnapshot`] for `INFO` and the metrics exporter. Counters only grow; gauges
//! (members by state, epoch, slots owned, joined) hold the latest value.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::wire::DropReason;

macro_rules! stats {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Live counters, shared between the membership task and readers.
        #[derive(Debug, Default)]
        pub struct ClusterStats {
            $($(#[$doc])* pub(crate) $name: AtomicU64,)*
        }

        /// A copy of every counter and gauge at one moment.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct StatsSnapshot {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl ClusterStats {
            /// Reads every counter (each one atomically; the set is not one atomic cut).
            pub fn snapshot(&self) -> StatsSnapshot {
                StatsSnapshot { $($name: self.$name.load(Relaxed),)* }
            }
        }
    };
}

stats! {
    /// Gossip datagrams sent.
    packets_sent,
    /// Bytes of gossip datagrams sent.
    bytes_sent,
    /// Gossip datagrams received (accepted or not).
    packets_received,
    /// Bytes of gossip datagrams received.
    bytes_received,
    /// Received datagrams dropped for being larger than the datagram limit.
    dropped_oversized,
    /// Received datagrams dropped as not ours or undecodable.
    dropped_malformed,
    /// Received datagrams dropped for a missing or wrong HMAC tag.
    dropped_unauthenticated,
    /// Received datagrams decoded but refused by SWIM (e.g. claiming to come from us).
    dropped_rejected,
    /// Refusals sent back for packets dropped as unauthenticated (rate-limited).
    refusals_sent,
    /// Refusals received: a peer dropped our packets as unauthenticated.
    refusals_received,
    /// Datagrams we failed to send (socket buffer full, unreachable network).
    send_errors,
    /// Members seen coming up, going down or being replaced by a new incarnation.
    membership_changes,
    /// Times a member became suspect (most are refuted; the rest end declared down).
    suspicions,
    /// Topology snapshots published.
    topology_changes,
    /// Gauge: members alive (this node included).
    members_alive,
    /// Gauge: members suspected of having failed.
    members_suspect,
    /// Gauge: members declared down and still remembered.
    members_down,
    /// Gauge: epoch of the current topology.
    topology_epoch,
    /// Gauge: slots this node owns as primary.
    slots_primary,
    /// Gauge: slots this node owns as replica.
    slots_replica,
    /// Gauge: 1 while this node is part of a cluster with at least one other member.
    joined,
}

impl StatsSnapshot {
    /// Every dropped incoming datagram, whatever the reason.
    pub fn packets_dropped(&self) -> u64 {
        self.dropped_oversized
            + self.dropped_malformed
            + self.dropped_unauthenticated
            + self.dropped_rejected
    }
}

impl ClusterStats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub(crate) fn set(gauge: &AtomicU64, value: u64) {
        gauge.store(value, Relaxed);
    }

    pub(crate) fn dropped(&self, reason: DropReason) {
        let counter = match reason {
            DropReason::Oversized => &self.dropped_oversized,
            DropReason::Malformed => &self.dropped_malformed,
            DropReason::Unauthenticated => &self.dropped_unauthenticated,
            DropReason::Rejected => &self.dropped_rejected,
        };
        Self::add(counter, 1);
    }
}
