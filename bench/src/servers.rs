//! Starting and stopping the servers under test: `redis-server` and the release `shoal`.
//!
//! Both listen on 127.0.0.1 on a port chosen for this run. Shoal is started with
//! `--port 0` and reports the port it bound in its startup line; `redis-server` cannot do
//! that, so it gets a port that was free a moment ago (and is retried on another port if it
//! loses the race). Either way, once a server answers we check with `INFO server` that its
//! `process_id` is the process we started, so a benchmark can never hit a stranger's server
//! that happens to listen on the same port.
//!
//! [`shoal_binary`] builds `target/release/shoal` when it is missing or older than the
//! sources. Every [`Server`] is killed when dropped.

use crate::resp::{self, Connection, Reply};
use anyhow::{Context, bail};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// How long a server may take to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How many of a server's last output lines we keep for error messages.
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
    child: Child,
    /// The last lines the process printed (stdout and stderr).
    output: Arc<Mutex<VecDeque<String>>>,
}

impl Server {
    /// Starts `redis-server` with persistence off, bound to 127.0.0.1.
    pub(crate) fn start_redis() -> anyhow::Result<Server> {
        Server::start_redis_with(|_| Vec::new())
    }

    /// Starts `redis-server` like [`Server::start_redis`], plus the arguments `extra` gives
    /// for the port it got (a cluster node's config file, say).
    pub(crate) fn start_redis_with(extra: impl Fn(u16) -> Vec<String>) -> anyhow::Result<Server> {
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
            command.args(extra(port));
            let (child, output, _lines) = spawn_captured(command, Kind::Redis)?;
            let mut server = Server {
                kind: Kind::Redis,
                port,
                cluster_port: 0,
                child,
                output,
            };
            match server.wait_ready() {
                Ok(()) => return Ok(server),
                Err(error) => last_error = Some(error),
            }
        }
        match last_error {
            Some(error) => Err(error.context("redis-server did not start")),
            None => bail!("redis-server did not start"),
        }
    }

    /// Starts `shoal` from `binary` on a port of its own choosing, bound to 127.0.0.1, with
    /// `extra` arguments (its metrics endpoint is off unless `extra` turns it on).
    pub(crate) fn start_shoal(binary: &Path, extra: &[&str]) -> anyhow::Result<Server> {
        let mut command = Command::new(binary);
        command.args(["--port", "0", "--bind", "127.0.0.1"]);
        if !extra.contains(&"--metrics-port") {
            command.args(["--metrics-port", "0"]);
        }
        command.args(extra);
        let (child, output, lines) = spawn_captured(command, Kind::Shoal)?;
        let mut server = Server {
            kind: Kind::Shoal,
            port: 0,
            cluster_port: 0,
            child,
            output,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match lines.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => bail!(
                    "shoal exited or did not report readiness within {START_TIMEOUT:?}; \
                     output:\n{}",
                    server.recent_output()
                ),
            };
            if !line.contains("ready to accept connections") {
                continue;
            }
            let port = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix("port="))
                .and_then(|port| port.parse().ok());
            match port {
                Some(port) => {
                    server.port = port;
                    server.cluster_port = line
                        .split_whitespace()
                        .find_map(|word| word.strip_prefix("cluster_port="))
                        .and_then(|port| port.parse().ok())
                        .unwrap_or(0);
                    break;
                }
                None => bail!("no port=N in shoal's ready line {line:?}"),
            }
        }
        server.wait_ready()?;
        Ok(server)
    }

    /// Waits until the server answers `PING` and checks that it is our process.
    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            self.check_running()?;
            if let Ok(mut connection) = Connection::connect(self.port)
                && let Ok(Reply::Simple(pong)) = connection.call(&[b"PING"])
                && pong == "PONG"
            {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "{} on port {} did not answer PING within {START_TIMEOUT:?}; output:\n{}",
                    self.kind.name(),
                    self.port,
                    self.recent_output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let info = self.info("server")?;
        let pid = resp::info_field(&info, "process_id").unwrap_or("?");
        if pid != self.child.id().to_string() {
            bail!(
                "port {} is answered by process {pid}, not by the {} we started (pid {})",
                self.port,
                self.kind.name(),
                self.child.id()
            );
        }
        Ok(())
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
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => bail!(
                "{} exited ({status}); last output:\n{}",
                self.kind.name(),
                self.recent_output()
            ),
            Err(error) => Err(error).context("checking the server process"),
        }
    }

    /// The last lines the server printed, joined.
    pub(crate) fn recent_output(&self) -> String {
        let lines = self.output.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
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

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `command` with stdout and stderr read by background threads: every line goes
/// into the kept output and down the returned channel (which nobody has to read).
#[allow(clippy::type_complexity)]
fn spawn_captured(
    mut command: Command,
    kind: Kind,
) -> anyhow::Result<(Child, Arc<Mutex<VecDeque<String>>>, mpsc::Receiver<String>)> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {} ({command:?})", kind.name()))?;
    let output = Arc::new(Mutex::new(VecDeque::new()));
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let stderr = child.stderr.take().context("no stderr pipe")?;
    for pipe in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
        let (tx, output) = (tx.clone(), output.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                {
                    let mut kept = output.lock().unwrap_or_else(|e| e.into_inner());
                    if kept.len() == KEPT_LINES {
                        kept.pop_front();
                    }
                    kept.push_back(line.clone());
                }
                let _ = tx.send(line);
            }
        });
    }
    Ok((child, output, rx))
}

/// A loopback port nobody listened on a moment ago.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr().context("finding a free port")?.port())
}

/// The workspace root (this crate lives in `bench/`).
pub(crate) fn workspace() -> PathBuf {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    bench.parent().unwrap_or(bench).to_path_buf()
}

/// `target/release/shoal`, built first with `cargo build --release` if it is missing or
/// older than any source it is built from.
pub(crate) fn shoal_binary() -> anyhow::Result<PathBuf> {
    let root = workspace();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let binary = target.join("release").join("shoal");
    let built = std::fs::metadata(&binary).and_then(|m| m.modified()).ok();
    let mut newest_source = SystemTime::UNIX_EPOCH;
    for path in [
        root.join("Cargo.toml"),
        root.join("Cargo.lock"),
        root.join("server"),
        root.join("cluster"),
    ] {
        newest_source = newest_source.max(newest_mtime(&path)?);
    }
    let stale = match built {
        Some(built) => built < newest_source,
        None => true,
    };
    if stale {
        eprintln!(
            "building {} (missing or older than the sources) ...",
            binary.display()
        );
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(&root)
            .args(["build", "--release", "-p", "shoal-server", "--bin", "shoal"])
            .status()
            .context("running cargo build")?;
        if !status.success() {
            bail!("cargo build --release -p shoal-server failed ({status})");
        }
    }
    if !binary.is_file() {
        bail!("{} does not exist after building", binary.display());
    }
    Ok(binary)
}

/// The latest modification time of `path` or of any file below it (skipping `target`
/// and hidden directories). A missing path counts as the epoch.
fn newest_mtime(path: &Path) -> anyhow::Result<SystemTime> {
    let Ok(metadata) = std::fs::metadata(path) else {
        return Ok(SystemTime::UNIX_EPOCH);
    };
    if !metadata.is_dir() {
        return metadata
            .modified()
            .with_context(|| format!("mtime of {}", path.display()));
    }
    let mut newest = SystemTime::UNIX_EPOCH;
    let entries = std::fs::read_dir(path).with_context(|| format!("listing {}", path.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", path.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "target" || name.starts_with('.') {
            continue;
        }
        newest = newest.max(newest_mtime(&entry.path())?);
    }
    Ok(newest)
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
