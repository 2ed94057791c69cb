//! Shoal's node-to-node layer.
//!
//! This crate owns everything that concerns more than one node: how keys map to Redis
//! Cluster's 16384 slots (`slot`), and — as the cluster issues land — identity, SWIM
//! membership, the slot ring, the topology snapshot, peer links, replication and
//! invalidation fan-out. It moves keys, slots, versions and opaque values; it never parses a
//! Redis command. The server crate depends on this one, never the other way round.

pub mod slot;
