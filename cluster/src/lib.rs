//! Shoal's node-to-node layer: who the members are, who owns each slot, and how writes are
//! versioned.
//!
//! This crate decides (membership over SWIM gossip, the slot ring, topology snapshots, join
//! retries) and provides what crosses nodes without being a command (HLC versions, the
//! arithmetic of peer-link authentication). It never parses a Redis command. What travels
//! between nodes as RESP (forwarded requests, peer message streams) is the server crate's
//! `peer` module. The server crate depends on this one, never the other way round.
//!
//! # Layout
//!
//! Pure, deterministic parts (no I/O; `identity` reads the wall clock once, for a
//! generation):
//!
//! - `slot`: key → slot, exactly as Redis Cluster (CRC16-XMODEM, `{hashtags}`, 16384 slots).
//! - `ring`: the slot table — V tokens per node, R owners per slot — from a set of live nodes.
//! - `topology`: an immutable snapshot (members, slot table, epoch) published with `ArcSwap`.
//! - `identity`: node ids and foca's `Identity` (addresses, generation).
//! - `hlc`: versions of writes, from a hybrid logical clock.
//! - `config`: [`ClusterConfig`] and how the node timeout maps onto SWIM timings.
//! - `wire`: the gossip datagram envelope (HMAC-SHA256 when a secret is set) and foca's codec.
//! - `peer_auth`: the challenge–response that authenticates peer links with the secret.
//! - `membership`: the sans-IO SWIM core around `foca::Foca`: datagrams and time in, datagrams,
//!   timers and events out.
//!
//! The thin async shell:
//!
//! - `node`: [`Cluster`], one tokio task running the core over UDP, publishing the topology.
//! - `stats`: counters the server exports as metrics.
//!
//! # Using it from the server
//!
//! ```no_run
//! # async fn example() -> Result<(), shoal_cluster::ClusterError> {
//! use shoal_cluster::{Cluster, ClusterConfig, slot::key_slot};
//!
//! let mut config = ClusterConfig::new("127.0.0.1:7001".parse().expect("address"));
//! config.seeds = vec!["127.0.0.1:17000".into()]; // --join; empty: a one-node cluster
//! let cluster = Cluster::start(config, &tokio::runtime::Handle::current())?;
//!
//! let topology = cluster.topology_handle(); // clone into every connection task
//! let current = topology.load(); // per request, lock-free
//! let primary = current.primary(key_slot(b"user:1"));
//! println!("primary {} at {}", primary.id, primary.client);
//!
//! cluster.leave().await?; // on SIGTERM / SHUTDOWN
//! # Ok(())
//! # }
//! ```

pub mod config;
pub mod error;
pub mod hlc;
pub mod identity;
pub mod membership;
pub mod node;
pub mod peer_auth;
pub mod ring;
pub mod slot;
pub mod stats;
pub mod topology;
pub mod wire;

pub use config::{ClusterConfig, Timings};
pub use error::{ClusterError, ConfigError};
pub use hlc::{Hlc, Version};
pub use identity::{NodeId, NodeIdentity, Phase};
pub use membership::{Membership, MembershipEvent};
pub use node::Cluster;
pub use ring::{SlotCounts, SlotRange, SlotTable};
pub use stats::{ClusterStats, StatsSnapshot};
pub use topology::{MemberInfo, MemberState, Topology, TopologyHandle};
