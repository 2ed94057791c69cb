//! A Shoal node: speaks RESP to Redis clients and keeps a keyspace with expiry.
//!
//! # Layout
//!
//! Bottom-up, each layer knowing nothing of the ones above it:
//!
//! - [`protocol`]: bytes ↔ requests and replies (RESP2/RESP3, inline), no I/O.
//! - [`store`]: the keyspace: databases of locked shards, values, lazy and active expiry.
//! - [`command`]: the command table, argument parsing and one handler per command; a
//!   handler gets the shards of its keys already locked and returns a reply.
//! - [`connection`]: one client socket: read, decode a batch, execute, write once.
//! - [`server`]: accepting clients, `maxclients`, shutdown.
//! - [`workers`]: one single-threaded runtime per core; each connection lives on one.
//! - [`node`]: what all connections share (store, config, clients, stats).
//! - [`cluster`]: the `cluster-*` settings and this node's membership handle (the
//!   `shoal-cluster` crate does the rest); `CLUSTER` commands are in `command::cluster`.
//! - [`forward`]: requests for keys other nodes are primary of: routing, peer links, split
//!   multi-key commands, transactions and blocking commands on another node.
//! - [`blocking`]: clients waiting on keys (BLPOP…), served in the order they blocked.
//! - Leaves: [`config`], [`error`], [`clock`], [`glob`], [`number`], [`stats`], [`commandstats`],
//!   [`memory`], [`info`], [`client`].
//! - [`metrics`]: the Prometheus endpoint, read from the counters above at scrape time;
//!   [`slowlog`], [`latency`], [`monitor`]: SLOWLOG, LATENCY and MONITOR.
//!
//! The `shoal` binary (`main.rs`) reads the configuration, sets up logging and the runtime,
//! binds the listeners and runs [`server::run`] until shutdown.

pub mod blocking;
pub mod client;
pub mod clock;
pub mod cluster;
pub mod command;
pub mod commandstats;
pub mod config;
pub mod connection;
pub mod effects;
pub mod error;
pub mod glob;
pub mod info;
pub mod latency;
pub mod memory;
pub mod metrics;
pub mod monitor;
pub mod node;
pub mod notify;
pub mod number;
pub mod peer;
pub mod protocol;
pub mod pubsub;
pub mod request;
pub mod server;
pub mod slowlog;
pub mod stats;
pub mod store;
pub mod workers;
