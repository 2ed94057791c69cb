//! `shoal` and `redis-server` on loopback, killed when dropped.
//!
//! Shoal is started with `--port 0` (unless the caller names a port) and reports the ports
//! it bound in its ready line. `redis-server` cannot do that, so it gets a port that was
//! free a moment ago, and another one if it loses the race. Either way, once the server
//! answers, `INFO server`'s `process_id` must be the process we started, so a test or a
//! benchmark never talks to a stranger's server on the same port.

use crate::process::Process;
use crate::resp::{Connection, Reply, info_field};
use anyhow::{Context, bail};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a server may take to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A loopback port nobody listened on a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr().context("finding a free port")?.port())
}

/// A running `shoal` node.
pub struct ShoalNode {
    pub process: Process,
    /// Its client port.
    pub port: u16,
    /// Its cluster bus port (0 with `--cluster-enabled no`).
    pub cluster_port: u16,
    /// Its node id (empty with `--cluster-enabled no`).
    pub node_id: String,
}

impl ShoalNode {
    /// Starts `binary` with `args` (adding `--port 0` and `--metrics-port 0` unless given)
    /// and waits for its ready line. The error carries what it printed.
    pub fn start(binary: &Path, args: &[&str]) -> anyhow::Result<ShoalNode> {
        ShoalNode::start_launched(&[], binary, args)
    }

    /// As [`ShoalNode::start`], run through `launcher` (a command that runs the rest of its
    /// arguments, such as `ip netns exec NAME`; empty: none).
    pub fn start_launched(
        launcher: &[&str],
        binary: &Path,
        args: &[&str],
    ) -> anyhow::Result<ShoalNode> {
        let mut command = match launcher.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        if !args.contains(&"--port") {
            command.args(["--port", "0"]);
        }
        // Nodes run side by side: metrics only where asked for.
        if !args.contains(&"--metrics-port") {
            command.args(["--metrics-port", "0"]);
        }
        command.args(args);
        let process = Process::spawn(command)?;
        let Some(line) =
            process.wait_for_line(START_TIMEOUT, |l| l.contains("ready to accept connections"))
        else {
            bail!(
                "shoal exited or did not report readiness within {START_TIMEOUT:?}; output:\n{}",
                process.recent_output(200)
            );
        };
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .map(str::to_string)
        };
        let port = field("port=")
            .and_then(|p| p.parse().ok())
            .with_context(|| format!("no port=N in shoal's ready line {line:?}"))?;
        Ok(ShoalNode {
            port,
            cluster_port: field("cluster_port=")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0),
            node_id: field("node_id=").unwrap_or_default(),
            process,
        })
    }
}

/// A running `redis-server` with persistence off.
pub struct RedisServer {
    pub process: Process,
    pub port: u16,
}

impl RedisServer {
    /// Starts `redis-server` bound to 127.0.0.1 with `extra(port)` arguments added (a cluster
    /// node's config file, say), and waits until it answers as the process we started.
    pub fn start(extra: impl Fn(u16) -> Vec<String>) -> anyhow::Result<RedisServer> {
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port()?;
            let mut command = Command::new("redis-server");
            command.args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ]);
            // A fresh directory of its own: a replica writes the RDB it receives there, and a
            // server started in a directory holding a dump.rdb would load it.
            let dir = std::env::temp_dir().join(format!("shoal-redis-{port}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir)?;
            command.arg("--dir").arg(&dir);
            command.args(extra(port));
            let mut process = Process::spawn(command)?;
            match wait_ready(&mut process, port) {
                Ok(()) => return Ok(RedisServer { process, port }),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error
            .unwrap_or_else(|| anyhow::anyhow!("no attempt"))
            .context("redis-server did not start"))
    }
}

/// Waits until the process answers `PING` on `port`, and checks it is the one answering.
pub fn wait_ready(process: &mut Process, port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = process.exited() {
            bail!(
                "the server exited ({status}); output:\n{}",
                process.recent_output(200)
            );
        }
        if let Ok(mut connection) = Connection::connect(port)
            && let Ok(Reply::Simple(pong)) = connection.call(&[b"PING"])
            && pong == "PONG"
        {
            let info = connection.call_text(&["INFO", "server"])?;
            let pid = info_field(&info, "process_id").unwrap_or("?");
            if pid != process.pid().to_string() {
                bail!(
                    "port {port} is answered by process {pid}, not by ours (pid {})",
                    process.pid()
                );
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "port {port} did not answer PING within {START_TIMEOUT:?}; output:\n{}",
                process.recent_output(200)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
