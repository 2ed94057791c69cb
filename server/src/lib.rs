//! A Shoal node: speaks RESP to Redis clients and keeps a keyspace with expiry.
//!
//! # Layout
//!
//! Dependencies point down this list; a module never imports one above it (leaves excepted).
//!
//! - [`connection`]: one client socket: read, decode a batch, hand each request to
//!   [`request`], act on the [`request::Outcome`] (reply, forward, block, close, sleep,
//!   MONITOR), write once per batch, deliver Pub/Sub messages. No command logic.
//! - [`request`]: one request from arguments to outcome: lookup, routing (the pure
//!   `request::route::decide`), `maxmemory`, MULTI queueing, locking, and `request::run`, the
//!   one function that calls command handlers (for plain requests, EXEC and blocked retries).
//! - [`command`]: the command table (arity, flags, key positions, routing, usual keyspace
//!   event, docs) and one handler per command, by Redis group. A handler gets a
//!   [`command::Ctx`]: the locked keys, the client's own state, the node; it returns a reply.
//! - [`store`]: the keyspace: databases of locked shards, values, lazy and active expiry,
//!   access tracking and eviction, and the effects record of every change
//!   (`store::effects`).
//! - [`effects`]: who hears of changes (replication, keyspace notifications, tracking
//!   invalidations, blocked clients): the one place effects records are handed on.
//! - [`peer`]: the other nodes, by node id: forwarding plans, pooled links, sessions, the
//!   one-way message streams, and the internal commands peers send (`SHOAL.*`).
//! - [`replication`]: every key on its slot's R owners: effects sent to replicas, applied by
//!   version, acknowledged (`WAIT`, `cluster-write-concern`), snapshots to new replicas.
//! - [`pubsub`], [`notify`], [`tracking`], [`blocking`]: Pub/Sub subscriptions and delivery,
//!   keyspace notifications, client-side-cache invalidation, clients waiting on keys.
//! - [`server`], [`workers`], [`node`]: accepting clients, the worker threads, what every
//!   connection shares.
//! - [`cluster`]: the `cluster-*` settings and this node's membership handle (the
//!   `shoal-cluster` crate does the rest).
//! - Leaves: [`protocol`] (bytes ↔ requests and replies, no I/O), [`config`], [`error`],
//!   [`clock`], [`glob`], [`number`], [`stats`], [`commandstats`], [`memory`], [`info`],
//!   [`client`]; and the read-only views [`metrics`], [`slowlog`], [`latency`], [`monitor`].
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
pub mod handoff;
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
pub mod replication;
pub mod request;
pub mod server;
pub mod slowlog;
pub mod stats;
pub mod store;
pub mod tracking;
pub mod workers;
