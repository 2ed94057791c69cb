//! `shoal --dev-cluster N`: N nodes on one machine, joined into one cluster, for trying Shoal
//! out (part of the `shoal` binary, not of the library).
//!
//! The parent starts N children of the same binary with the user's other flags, on client
//! ports P..P+N-1 (P from `--port`, default 6379), metrics ports M..M+N-1 (unless metrics are
//! off) and, when `--cluster-port` is given, bus ports B..B+N-1 (else each bus is at its client
//! port + 10000). Each child after the first joins the first one's bus. Every flag the parent
//! sets per node is removed from the user's flags first, so a child's command line names each
//! setting once.
//!
//! Children's output goes through the parent, each line prefixed with the node it came from.
//! A child that exits (killed to try failover, say) is reported and the others keep running;
//! SIGINT (Ctrl-C) or SIGTERM stops them all, gracefully (each leaves the cluster); the parent
//! exits when every child has.

use anyhow::Context;
use shoal_server::config::Config;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Flags the parent sets for each child itself.
const PER_NODE_FLAGS: &[&str] = &[
    "dev-cluster",
    "port",
    "metrics-port",
    "cluster-port",
    "join",
];

/// How long children get to leave gracefully before they are killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// One child node.
struct DevNode {
    /// 1-based, as shown in log prefixes.
    number: u16,
    port: u16,
    child: Child,
    /// Set once the exit was reported.
    exited: Option<ExitStatus>,
}

/// Runs `--dev-cluster` (at `args[at]`) until stopped.
pub(crate) fn run(args: &[String], at: usize) -> anyhow::Result<()> {
    let count: u16 = args
        .get(at + 1)
        .and_then(|n| n.parse().ok())
        .filter(|n| (1..=100).contains(n))
        .context("--dev-cluster takes a number of nodes between 1 and 100")?;
    let groups = flag_groups(args);
    if groups.iter().any(|(name, _)| name == "join") {
        anyhow::bail!("--dev-cluster starts its own cluster; it cannot --join another");
    }
    let shared: Vec<String> = groups
        .iter()
        .filter(|(name, _)| !PER_NODE_FLAGS.contains(&name.as_str()))
        .flat_map(|(name, values)| std::iter::once(format!("--{name}")).chain(values.clone()))
        .collect();
    let mut all = args.to_vec();
    all.drain(at..at + 2);
    let env = shoal_server::config::shoal_environment()?;
    let (config, _) = Config::from_args_and_env(&all, &env)?;
    let base = if config.port == 0 { 6379 } else { config.port };
    let bus_base = match config.cluster.port {
        0 => base.checked_add(shoal_cluster::config::BUS_PORT_OFFSET),
        port => Some(port),
    };
    let (Some(_), Some(bus_base)) = (base.checked_add(count - 1), bus_base) else {
        anyhow::bail!("ports {base}..{base}+{count} do not fit");
    };
    let exe = std::env::current_exe().context("finding the shoal binary")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    // Installed before any child starts: a signal right after a node says it is ready must
    // reach the handlers, not kill the parent and orphan its children.
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        let _entered = runtime.enter();
        (
            signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        )
    };
    let mut nodes = Vec::new();
    for i in 0..count {
        let port = base + i;
        let mut command = Command::new(&exe);
        // The parent sets these per node: the same settings from the environment would
        // give every child the same port, or the first child a seed.
        for name in PER_NODE_FLAGS {
            command.env_remove(shoal_server::config::directive_env_var(name));
        }
        command.args(&shared).args(["--port", &port.to_string()]);
        if config.metrics_port != 0 {
            let metrics = config.metrics_port.saturating_add(i);
            command.args(["--metrics-port", &metrics.to_string()]);
        } else {
            command.args(["--metrics-port", "0"]);
        }
        if config.cluster.port != 0 {
            let bus = bus_base.saturating_add(i);
            command.args(["--cluster-port", &bus.to_string()]);
        }
        if i > 0 {
            command.args(["--join", &format!("127.0.0.1:{bus_base}")]);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("starting node {}", i + 1))?;
        let prefix = format!("node-{} ({port}) | ", i + 1);
        if let Some(out) = child.stdout.take() {
            relay(out, prefix.clone(), false);
        }
        if let Some(err) = child.stderr.take() {
            relay(err, prefix, true);
        }
        nodes.push(DevNode {
            number: i + 1,
            port,
            child,
            exited: None,
        });
    }
    let metrics = if config.metrics_port == 0 {
        String::new()
    } else {
        format!(
            ", metrics on {}-{}",
            config.metrics_port,
            config.metrics_port.saturating_add(count - 1)
        )
    };
    eprintln!(
        "shoal: dev cluster of {count} nodes on ports {base}-{}{metrics}; try: redis-cli -c -p {base} cluster nodes",
        base + count - 1
    );
    let stopped = runtime.block_on(supervise(&mut nodes, signals));
    stop_all(&mut nodes);
    if !stopped && nodes.iter().any(|n| n.exited.is_some_and(|s| !s.success())) {
        anyhow::bail!("every node has exited");
    }
    Ok(())
}

/// The command line as (flag name without `--`, its values) groups, as `Config::from_args`
/// reads them.
fn flag_groups(args: &[String]) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for arg in args {
        match arg.strip_prefix("--") {
            Some(name) => groups.push((name.to_ascii_lowercase(), Vec::new())),
            None => {
                if let Some((_, values)) = groups.last_mut() {
                    values.push(arg.clone());
                }
            }
        }
    }
    groups
}

/// Copies a child's output to ours, line by line, each line behind `prefix`.
fn relay(pipe: impl Read + Send + 'static, prefix: String, to_stderr: bool) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let written = if to_stderr {
                writeln!(std::io::stderr().lock(), "{prefix}{line}")
            } else {
                writeln!(std::io::stdout().lock(), "{prefix}{line}")
            };
            if written.is_err() {
                break;
            }
        }
    });
}

/// Waits for SIGINT or SIGTERM (returns true) or for every child to exit (false), reporting
/// each child that exits on its own.
async fn supervise(
    nodes: &mut [DevNode],
    (mut term, mut int): (tokio::signal::unix::Signal, tokio::signal::unix::Signal),
) -> bool {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = term.recv() => return true,
            _ = int.recv() => return true,
            _ = tick.tick() => {
                for i in 0..nodes.len() {
                    let node = &mut nodes[i];
                    if node.exited.is_some() {
                        continue;
                    }
                    if let Ok(Some(status)) = node.child.try_wait() {
                        node.exited = Some(status);
                        let (number, port) = (node.number, node.port);
                        let left = nodes_running(nodes);
                        eprintln!(
                            "shoal: node-{number} (port {port}) exited ({status}); {left} still running"
                        );
                    }
                }
                if nodes_running(nodes) == 0 {
                    return false;
                }
            }
        }
    }
}

fn nodes_running(nodes: &[DevNode]) -> usize {
    nodes.iter().filter(|n| n.exited.is_none()).count()
}

/// SIGTERM to every running child (each leaves the cluster and closes its clients), then
/// waits, killing those still there after [`STOP_TIMEOUT`].
fn stop_all(nodes: &mut [DevNode]) {
    for node in nodes.iter().filter(|n| n.exited.is_none()) {
        let _ = Command::new("kill")
            .args(["-TERM", &node.child.id().to_string()])
            .status();
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    for node in nodes.iter_mut() {
        while matches!(node.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = node.child.kill();
        if let Ok(status) = node.child.wait() {
            node.exited.get_or_insert(status);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_grouped_with_their_values() {
        let args: Vec<String> = "--dev-cluster 3 --port 7000 --bind 127.0.0.1 ::1 --Join a:1"
            .split(' ')
            .map(str::to_string)
            .collect();
        let groups = flag_groups(&args);
        assert_eq!(groups.len(), 4);
        assert_eq!(
            groups[2],
            ("bind".into(), vec!["127.0.0.1".into(), "::1".into()])
        );
        assert_eq!(groups[3].0, "join");
    }
}
