//! What the end-to-end tests (`tests/`) and the benchmarks (`bench/`) share: starting real
//! `shoal` and `redis-server` processes on free loopback ports and stopping them, finding
//! (and building) the `shoal` binary, and speaking just enough RESP to drive them.
//!
//! # Layout
//!
//! - [`build`]: the workspace root and the `shoal` binary of a profile, built when stale.
//! - [`process`]: a child process whose output is captured line by line, killed on drop.
//! - [`servers`]: `shoal` (its ports read from its ready line) and `redis-server` (a port
//!   that was free a moment ago, retried if it loses the race), each checked to be the
//!   process answering on its port.
//! - [`resp`]: encoding commands, reading replies, a small blocking client, `INFO` fields.
//!
//! Errors are `anyhow` errors carrying the process's last output: the tests turn them into
//! panics, the benchmarks into messages.

pub mod build;
pub mod process;
pub mod resp;
pub mod servers;

pub use build::{Profile, shoal_binary, workspace};
pub use process::Process;
pub use resp::{Connection, Reply, encode_command, info_field};
pub use servers::{RedisServer, ShoalNode, free_port};
