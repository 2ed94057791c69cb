//! The servers under test: `redis-server` and the release `shoal`, started through
//! `shoal-harness` (free loopback ports, output captured, the answering process checked to
//! be ours, killed on drop), with what the benchmarks ask of them (`INFO`, connections).
//!
//! [`shoal_binary`] builds `target/release/shoal` when it is missing or older than the
//! sources.

use crate::resp::{self, Connection, info_field};
use anyhow::{Context, bail};
use shoal_harness::{Process, Profile, RedisServer, ShoalNode};
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) use shoal_harness::free_port;

/// How many of a server's last output lines go into error messages.
const KEPT_LINES: usize = 200;

/// Which server a [`Server`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Redis,
    Shoal,
}

impl Kind {
    /// A short display name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Redis => "redis",
            Kind::Shoal => "shoal",
        }
    }
}

/// A running server process, killed on drop.
pub(crate) struct Server {
    pub(crate) kind: Kind,
    pub(crate) port: u16,
    /// Shoal's cluster bus port, from its ready line (0 for redis-server).
    pub(crate) cluster_port: u16,
    process: Process,
}

impl Server {
    /// Starts `redis-server` with persistence off, bound to 127.0.0.1.
    pub(crate) fn start_redis() -> anyhow::Result<Server> {
        Server::start_redis_with(|_| Vec::new())
    }

    /// Starts `redis-server` like [`Server::start_redis`], plus the arguments `extra` gives
    /// for the port it got (a cluster node's config file, say).
    pub(crate) fn start_redis_with(extra: impl Fn(u16) -> Vec<String>) -> anyhow::Result<Server> {
        let RedisServer { process, port } = RedisServer::start(extra)?;
        Ok(Server {
            kind: Kind::Redis,
            port,
            cluster_port: 0,
            process,
        })
    }

    /// Starts `shoal` from `binary` on a port of its own choosing, bound to 127.0.0.1, with
    /// `extra` arguments (its metrics endpoint is off unless `extra` turns it on).
    pub(crate) fn start_shoal(binary: &Path, extra: &[&str]) -> anyhow::Result<Server> {
        let mut args = vec!["--bind", "127.0.0.1"];
        args.extend_from_slice(extra);
        let ShoalNode {
            mut process,
            port,
            cluster_port,
            ..
        } = ShoalNode::start(binary, &args)?;
        shoal_harness::servers::wait_ready(&mut process, port)?;
        Ok(Server {
            kind: Kind::Shoal,
            port,
            cluster_port,
            process,
        })
    }

    /// `INFO section` as text.
    pub(crate) fn info(&self, section: &str) -> anyhow::Result<String> {
        Connection::connect(self.port)?
            .call_text(&["INFO", section])
            .with_context(|| format!("INFO {section} from {}", self.kind.name()))
    }

    /// A numeric field of `INFO section` (a fraction is truncated), or an error naming it.
    pub(crate) fn info_u64(&self, section: &str, field: &str) -> anyhow::Result<u64> {
        let info = self.info(section)?;
        let text = resp::info_field(&info, field)
            .with_context(|| format!("INFO {section} from {} has no {field}", self.kind.name()))?;
        let number: f64 = text
            .parse()
            .with_context(|| format!("INFO {section} {field} = {text:?}"))?;
        Ok(number as u64)
    }

    /// A new connection to the server.
    pub(crate) fn connect(&self) -> anyhow::Result<Connection> {
        Connection::connect(self.port)
    }

    /// An error (with the server's last output) if the process has exited.
    pub(crate) fn check_running(&mut self) -> anyhow::Result<()> {
        match self.process.exited() {
            None => Ok(()),
            Some(status) => bail!(
                "{} exited ({status}); last output:\n{}",
                self.kind.name(),
                self.recent_output()
            ),
        }
    }

    /// The last lines the server printed, joined.
    pub(crate) fn recent_output(&self) -> String {
        self.process.recent_output(KEPT_LINES)
    }
}

/// What runs on the Shoal side of a comparison.
#[derive(Debug, Clone)]
pub(crate) enum Contender {
    /// `shoal` from this binary.
    Shoal(PathBuf),
    /// A second redis-server, to check a benchmark program itself (and see its run-to-run
    /// noise) before Shoal supports what the program measures.
    Redis,
}

impl Contender {
    /// From a command's `--shoal PATH` and hidden `--against-redis` options; without a path,
    /// `target/release/shoal`, built if stale.
    pub(crate) fn resolve(shoal: Option<&Path>, against_redis: bool) -> anyhow::Result<Contender> {
        if against_redis {
            return Ok(Contender::Redis);
        }
        match shoal {
            Some(path) => Ok(Contender::Shoal(path.to_path_buf())),
            None => Ok(Contender::Shoal(shoal_binary()?)),
        }
    }

    /// The name printed for this side.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Contender::Shoal(_) => "shoal",
            Contender::Redis => "redis-b",
        }
    }

    /// Starts this side's server (Shoal with no extra arguments).
    pub(crate) fn start(&self) -> anyhow::Result<Server> {
        match self {
            Contender::Shoal(binary) => Server::start_shoal(binary, &[]),
            Contender::Redis => Server::start_redis(),
        }
    }

    /// What this side runs, for the report's header.
    pub(crate) fn describe(&self) -> String {
        match self {
            Contender::Shoal(binary) => format!("{} ({})", binary.display(), version_of(binary)),
            Contender::Redis => "a second redis-server (--against-redis)".to_string(),
        }
    }
}

/// `target/release/shoal`, built first with `cargo build --release` if it is missing or
/// older than any source it is built from.
pub(crate) fn shoal_binary() -> anyhow::Result<PathBuf> {
    shoal_harness::shoal_binary(Profile::Release)
}

/// The first line `program --version` prints, or why it could not be run.
pub(crate) fn version_of(program: &Path) -> String {
    match Command::new(program).arg("--version").output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("(no output)")
            .trim()
            .to_string(),
        Err(error) => format!("(could not run {}: {error})", program.display()),
    }
}

/// Whether `n` nodes see each other, report the same topology epoch and serve (a binary
/// without phases reports none: it serves as soon as it agrees).
pub(crate) fn settled(nodes: &[Server], n: usize) -> anyhow::Result<bool> {
    let mut epochs = Vec::new();
    for node in nodes {
        let Ok(info) = node.connect()?.call_text(&["CLUSTER", "INFO"]) else {
            return Ok(false);
        };
        let field = |name: &str| info_field(&info, name).map(str::to_string);
        if field("cluster_known_nodes") != Some(n.to_string())
            || field("cluster_state").as_deref() != Some("ok")
            || field("shoal_phase").is_some_and(|p| p != "serving")
        {
            return Ok(false);
        }
        epochs.push(field("shoal_topology_epoch"));
    }
    Ok(epochs.windows(2).all(|w| w[0] == w[1]))
}

/// The sum over `nodes` of a numeric `INFO section` field (a node without it counts 0).
pub(crate) fn info_sum(nodes: &[Server], section: &str, field: &str) -> anyhow::Result<u64> {
    let mut total = 0;
    for node in nodes {
        let info = node.info(section)?;
        total += info_field(&info, field)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(total)
}
