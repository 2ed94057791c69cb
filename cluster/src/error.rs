//! Typed errors of the cluster crate.
//!
//! [`ConfigError`] says which setting is wrong (reported once at startup, before anything is
//! bound); [`ClusterError`] covers starting and stopping the membership task. Errors caused by
//! peers (bad packets, failed authentication) are never returned: they are dropped and counted
//! in [`crate::ClusterStats`].

use std::io;

/// A setting in [`crate::ClusterConfig`] that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// `node_timeout_ms` is outside the supported range.
    #[error("cluster-node-timeout must be between {min} and {max} ms, got {got}")]
    NodeTimeout {
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
        /// The value given.
        got: u64,
    },
    /// `tokens_per_node` is outside the supported range.
    #[error("cluster tokens per node must be between 1 and {max}, got {got}")]
    TokensPerNode {
        /// Largest accepted value.
        max: u16,
        /// The value given.
        got: u16,
    },
    /// `replicas` is outside the supported range.
    #[error("cluster replication factor must be between 1 and {max}, got {got}")]
    Replicas {
        /// Largest accepted value.
        max: usize,
        /// The value given.
        got: usize,
    },
    /// A seed is not of the form `host:port`.
    #[error("invalid cluster seed '{0}': expected host:port")]
    Seed(String),
    /// The cluster secret is set but empty.
    #[error("the cluster secret must not be empty")]
    EmptySecret,
    /// The default bus port (client port + 10000) does not fit in a port number.
    #[error("cluster bus port {0} + 10000 is above 65535: set the cluster port explicitly")]
    BusPortOverflow(u16),
}

/// Starting or stopping a cluster node failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The configuration did not validate.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The gossip socket could not be bound (address in use, permission denied, ...).
    #[error("cannot bind the cluster bus on {addr}")]
    Bind {
        /// The address we tried to bind.
        addr: std::net::SocketAddr,
        /// What the operating system said.
        source: io::Error,
    },
    /// The membership task is no longer running (it was stopped or has left).
    #[error("the cluster membership task is not running")]
    Stopped,
}
