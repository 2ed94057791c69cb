//! Test harness: real `shoal` processes on free loopback ports, and real clients for them.
//!
//! Processes are started through `shoal-harness` (shared with the benchmarks). [`Shoal::start`]
//! builds the binary if needed (with the same profile as the tests), starts it with `--port
//! 0`, reads the port it bound from its startup line, and kills it on drop. [`RedisServer`]
//! does the same for a reference `redis-server`, for tests that compare replies. Helpers speak raw RESP over TCP for protocol-level tests. [`TestCluster`] starts
//! several nodes joined into one cluster.

pub mod netns;

use shoal_harness::{Process, Profile, ShoalNode};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Whether the tests run under CI (`CI=true`, set by the CI runner): there a missing tool
/// fails a test instead of skipping it.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    shoal_harness::workspace()
}

/// Path to the `shoal` binary, built once per test process with the tests' own profile.
/// `SHOAL_BIN` overrides it.
pub fn shoal_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Ok(path) = std::env::var("SHOAL_BIN") {
                return PathBuf::from(path);
            }
            let profile = if cfg!(debug_assertions) {
                Profile::Debug
            } else {
                Profile::Release
            };
            shoal_harness::shoal_binary(profile).unwrap_or_else(|e| panic!("building shoal: {e:#}"))
        })
        .clone()
}

/// A running `shoal` process, killed on drop.
pub struct Shoal {
    process: Process,
    pub port: u16,
    /// The UDP port of its cluster bus (0 with `--cluster-enabled no`).
    pub cluster_port: u16,
    /// Its cluster node id (40 hex characters; empty with `--cluster-enabled no`).
    pub node_id: String,
    /// Lines the process printed (stdout and stderr), for assertions and debugging.
    pub output: Arc<Mutex<Vec<String>>>,
}

impl Shoal {
    /// Starts a node with default settings on a free port.
    pub fn start() -> Shoal {
        Shoal::start_with(&[])
    }

    /// Starts a node with extra command-line arguments (`--port` is chosen by the harness
    /// unless given).
    pub fn start_with(args: &[&str]) -> Shoal {
        Shoal::try_start(args).unwrap_or_else(|e| panic!("shoal did not start: {e}"))
    }

    /// Starts a node; `Err` carries what it printed if it exited or never became ready.
    pub fn try_start(args: &[&str]) -> Result<Shoal, String> {
        Shoal::try_start_launched(&[], args)
    }

    /// As [`Shoal::try_start`], run through `launcher` (`ip netns exec NAME`: see `netns`).
    pub fn try_start_launched(launcher: &[&str], args: &[&str]) -> Result<Shoal, String> {
        let node = ShoalNode::start_launched(launcher, &shoal_binary(), args)
            .map_err(|e| format!("{e:#}"))?;
        Ok(Shoal {
            output: node.process.output.clone(),
            process: node.process,
            port: node.port,
            cluster_port: node.cluster_port,
            node_id: node.node_id,
        })
    }

    /// `redis://127.0.0.1:PORT/` with an optional database.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A `redis` crate client for this node.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("valid url")
    }

    /// A synchronous connection.
    pub fn conn(&self) -> redis::Connection {
        self.client().get_connection().expect("connect to shoal")
    }

    /// A multiplexed async connection.
    pub async fn async_conn(&self) -> redis::aio::MultiplexedConnection {
        self.client()
            .get_multiplexed_async_connection()
            .await
            .expect("connect to shoal")
    }

    /// A raw TCP connection for protocol-level tests.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// Runs `redis-cli -p PORT args...` and returns its stdout (stderr appended on failure).
    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.port, args)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.exited().is_none()
    }

    /// Waits up to `timeout` for the process to exit; returns its exit status if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.process.wait_exit(timeout)
    }

    /// Sends a signal (`"TERM"`, `"INT"`, `"KILL"`) to the process.
    pub fn signal(&self, name: &str) {
        self.process
            .signal(name)
            .unwrap_or_else(|e| panic!("kill -{name}: {e:#}"));
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether this node serves its slots: it has joined, its warming is over (it holds
    /// their data) and its keys are not fenced (`CLUSTER INFO`).
    pub fn is_serving(&self) -> bool {
        try_cluster_command(self.port, "INFO").is_ok_and(|info| {
            let lines: Vec<&str> = info.lines().collect();
            lines.contains(&"cluster_state:ok") && lines.contains(&"shoal_phase:serving")
        })
    }
}

/// Several `shoal` nodes joined into one cluster: the first starts alone, the others join
/// it through its bus port. A node can be killed, stopped and restarted by index.
pub struct TestCluster {
    /// The nodes by index; `None` once stopped.
    pub nodes: Vec<Option<Shoal>>,
    /// Arguments every node gets (a secret, a node timeout...).
    pub args: Vec<String>,
}

impl TestCluster {
    /// Starts `n` nodes with `args` each and waits until every node sees all of them live.
    pub fn start(n: usize, args: &[&str]) -> TestCluster {
        let mut cluster = TestCluster {
            nodes: Vec::new(),
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        for _ in 0..n {
            cluster.add(&[]);
        }
        cluster.wait_until_agreed(n, Duration::from_secs(30));
        cluster
    }

    /// `host:port` of the first live node's bus, to join through.
    pub fn seed(&self) -> Option<String> {
        self.live()
            .next()
            .map(|node| format!("127.0.0.1:{}", node.cluster_port))
    }

    /// Starts one more node (joining the others, if any) with the cluster's arguments plus
    /// `extra`; returns its index.
    pub fn add(&mut self, extra: &[&str]) -> usize {
        let node = self
            .try_join(extra)
            .unwrap_or_else(|e| panic!("shoal did not start: {e}"));
        self.nodes.push(Some(node));
        self.nodes.len() - 1
    }

    /// The arguments of a new node: the cluster's, `--join` to a live node, then `extra`.
    pub fn node_args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        args
    }

    /// Starts a node joining the cluster with `extra` arguments, without adding it.
    pub fn try_join(&self, extra: &[&str]) -> Result<Shoal, String> {
        let seed = self.seed().unwrap_or_default();
        let mut args = self.node_args(extra);
        if !seed.is_empty() && !args.contains(&"--join") {
            args.extend(["--join", seed.as_str()]);
        }
        Shoal::try_start(&args)
    }

    /// Every running node.
    pub fn live(&self) -> impl Iterator<Item = &Shoal> + '_ {
        self.nodes.iter().flatten()
    }

    /// The node at `index` (panics if it was stopped).
    pub fn node(&self, index: usize) -> &Shoal {
        self.nodes[index].as_ref().expect("node is running")
    }

    /// Takes the node at `index` out of the cluster (the caller kills or stops it).
    pub fn take(&mut self, index: usize) -> Shoal {
        self.nodes[index].take().expect("node is running")
    }

    /// The ids of the members `port` sees live (alive or suspect), sorted, from CLUSTER NODES.
    pub fn live_ids_seen_by(port: u16) -> Vec<String> {
        try_cluster_command(port, "NODES")
            .map(|text| live_ids(&text))
            .unwrap_or_default()
    }

    /// Waits until every running node sees exactly the running nodes as live, serves (its
    /// warming is over, its keys are not fenced) and reports the same topology epoch; panics after `timeout`. Returns
    /// how long it took.
    pub fn wait_until_agreed(&self, expected: usize, timeout: Duration) -> Duration {
        let started = Instant::now();
        let mut wanted: Vec<String> = self.live().map(|n| n.node_id.clone()).collect();
        wanted.sort();
        assert_eq!(wanted.len(), expected, "running nodes");
        loop {
            let views: Vec<Vec<String>> = self
                .live()
                .map(|n| TestCluster::live_ids_seen_by(n.port))
                .collect();
            let infos: Vec<String> = self
                .live()
                .map(|n| try_cluster_command(n.port, "INFO").unwrap_or_default())
                .collect();
            let field = |info: &str, name: &str| -> String {
                info.lines()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                    .unwrap_or_default()
                    .to_string()
            };
            let epochs: Vec<String> = infos
                .iter()
                .map(|i| field(i, "shoal_topology_epoch"))
                .collect();
            let phases: Vec<String> = infos.iter().map(|i| field(i, "shoal_phase")).collect();
            // `cluster_state:ok` too: a node that just turned serving fences its keys until
            // the others have seen it.
            let states: Vec<String> = infos.iter().map(|i| field(i, "cluster_state")).collect();
            // And settled: every node has seen the others answer its topology (until then a
            // node in redirect mode forwards what it would answer `-MOVED`).
            let settled = infos
                .iter()
                .all(|i| field(i, "shoal_topology_settled") == "1");
            if views.iter().all(|v| *v == wanted)
                && phases.iter().all(|p| p == "serving")
                && states.iter().all(|s| s == "ok")
                && settled
                && epochs.windows(2).all(|w| w[0] == w[1])
            {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < timeout,
                "nodes did not agree within {timeout:?}: want {wanted:?}, views {views:?}, phases {phases:?}, states {states:?}, epochs {epochs:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The ids of the members a `CLUSTER NODES` text lists without the `fail` flag, sorted.
pub fn live_ids(nodes: &str) -> Vec<String> {
    let mut ids: Vec<String> = nodes
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let flags = fields.get(2)?;
            (!flags.split(',').any(|f| f == "fail")).then(|| fields[0].to_string())
        })
        .collect();
    ids.sort();
    ids
}

/// `CLUSTER <sub>` on 127.0.0.1:port as text (verbatim and bulk replies).
pub fn try_cluster_command(port: u16, sub: &str) -> Result<String, String> {
    let client =
        redis::Client::open(format!("redis://127.0.0.1:{port}/")).map_err(|e| e.to_string())?;
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    redis::cmd("CLUSTER")
        .arg(sub)
        .query::<String>(&mut conn)
        .map_err(|e| e.to_string())
}

/// Runs `redis-cli -p port args...`.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli is installed (apt-get install redis-tools)");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        text.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    text
}

/// A reference `redis-server` on a free port, killed on drop (for comparing replies).
pub struct RedisServer {
    _process: Process,
    pub port: u16,
}

impl RedisServer {
    /// A `redis` crate connection to this server.
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .expect("valid url")
            .get_connection()
            .expect("connect to redis-server")
    }

    /// Starts `redis-server` with persistence off, or `None` if it is not installed (tests
    /// then skip their comparison with Redis; under CI a missing `redis-server` fails instead,
    /// so a skip there cannot hide a test that never ran).
    pub fn start() -> Option<RedisServer> {
        let installed = Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !installed {
            assert!(
                !under_ci(),
                "redis-server cannot run under CI: .ci/run installs it"
            );
            return None;
        }
        let server = shoal_harness::RedisServer::start(|_| Vec::new())
            .unwrap_or_else(|e| panic!("redis-server did not start: {e:#}"));
        Some(RedisServer {
            _process: server.process,
            port: server.port,
        })
    }

    /// A raw connection.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }
}

/// The body of `GET path` on 127.0.0.1:port (empty if nothing answers).
pub fn http_get(port: u16, path: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    );
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    body
}

/// The client port of the primary of `key`'s slot, from `CLUSTER SLOTS` of the node at `port`.
pub fn primary_port(port: u16, key: &str) -> u16 {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("url");
    let mut conn = client.get_connection().expect("connect");
    let rows: Vec<redis::Value> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query(&mut conn)
        .expect("CLUSTER SLOTS");
    let slot = i64::from(key_slot(key.as_bytes()));
    for row in rows {
        let redis::Value::Array(fields) = row else {
            continue;
        };
        let (Some(start), Some(end), Some(primary)) =
            (fields.first(), fields.get(1), fields.get(2))
        else {
            continue;
        };
        let start: i64 = redis::from_redis_value(start.clone()).expect("start");
        let end: i64 = redis::from_redis_value(end.clone()).expect("end");
        if (start..=end).contains(&slot) {
            let node: Vec<redis::Value> = redis::from_redis_value(primary.clone()).expect("node");
            return redis::from_redis_value(node[1].clone()).expect("port");
        }
    }
    panic!("slot {slot} is not covered");
}

/// Redis Cluster's slot of a key (CRC16 of the key or its `{hashtag}`, mod 16384).
pub fn key_slot(key: &[u8]) -> u16 {
    let key = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(0) | None => key,
            Some(close) => &key[open + 1..open + 1 + close],
        },
        None => key,
    };
    let mut crc: u16 = 0;
    for &byte in key {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    shoal_harness::free_port().expect("a free port")
}

/// Polls `check` every 20 ms until it holds. `limit` is a generous bound on something that
/// must happen, not a measure of how fast it happens: past it the test fails, naming `what`.
pub fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        if Instant::now() > deadline {
            panic!("{what} never happened (gave up after {limit:?})");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `INFO clients` through `raw` until the server counts `n` blocked clients, so a
/// write sent next is sure to find them waiting (in the order they blocked).
pub fn wait_for_blocked(raw: &mut Raw, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let wanted = format!("blocked_clients:{n}\r\n");
    loop {
        let info = raw.call(&["INFO", "clients"]);
        if info.contains(&wanted) {
            return;
        }
        assert!(Instant::now() < deadline, "never {wanted:?}: {info}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A raw RESP connection: send bytes, read exactly one reply back as bytes.
pub struct Raw {
    stream: BufReader<TcpStream>,
}

impl Raw {
    /// Connects to 127.0.0.1:port.
    pub fn connect(port: u16) -> Raw {
        Raw::connect_to("127.0.0.1", port)
    }

    /// Connects to host:port.
    pub fn connect_to(host: &str, port: u16) -> Raw {
        let stream = TcpStream::connect((host, port)).expect("connect");
        Raw::from_stream(stream)
    }

    /// Wraps a connected socket (one whose buffers a test set up itself).
    pub fn from_stream(stream: TcpStream) -> Raw {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Raw {
            stream: BufReader::new(stream),
        }
    }

    /// Writes bytes as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.get_mut().write_all(bytes).expect("write");
    }

    /// Sends one command as a RESP array.
    pub fn send_command(&mut self, args: &[&[u8]]) {
        self.send(&encode_command(args));
    }

    /// Sends a command and returns its raw reply.
    pub fn call(&mut self, args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send_command(&args);
        self.read_reply()
    }

    /// Reads one complete reply (any RESP2/RESP3 type) and returns its bytes as text.
    pub fn read_reply(&mut self) -> String {
        let mut out = Vec::new();
        self.read_value(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn read_line(&mut self, out: &mut Vec<u8>) -> String {
        let mut line = Vec::new();
        self.stream
            .read_until(b'\n', &mut line)
            .expect("read reply line");
        assert!(
            !line.is_empty(),
            "connection closed while a reply was expected"
        );
        out.extend_from_slice(&line);
        String::from_utf8_lossy(&line).trim_end().to_string()
    }

    fn read_value(&mut self, out: &mut Vec<u8>) {
        let line = self.read_line(out);
        let (kind, rest) = line.split_at(1);
        let n: i64 = rest.parse().unwrap_or(0);
        match kind {
            "$" | "=" | "!" if n >= 0 => {
                let mut body = vec![0; n as usize + 2];
                self.stream.read_exact(&mut body).expect("read bulk");
                out.extend_from_slice(&body);
            }
            "*" | "~" | ">" if n > 0 => (0..n).for_each(|_| self.read_value(out)),
            "%" | "|" if n > 0 => (0..2 * n).for_each(|_| self.read_value(out)),
            _ => {}
        }
    }

    /// What has arrived and not been read yet (without waiting for more): what a client
    /// that checks its socket before serving from its cache would see.
    pub fn buffered(&self) -> String {
        String::from_utf8_lossy(self.stream.buffer()).into_owned()
    }

    /// True when the server closed the connection (end of stream or a reset within the read
    /// timeout); false when data arrived or nothing did.
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        match self.stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }

    /// Reads whatever arrives until the connection closes or `timeout` passes.
    pub fn read_to_close(&mut self, timeout: Duration) -> Vec<u8> {
        self.stream
            .get_ref()
            .set_read_timeout(Some(timeout))
            .expect("timeout");
        let mut out = Vec::new();
        let _ = self.stream.read_to_end(&mut out);
        out
    }
}

/// Sends a command (arguments split on spaces) and checks its raw reply.
#[track_caller]
pub fn expect(raw: &mut Raw, command: &str, reply: &str) {
    let args: Vec<&str> = command.split(' ').collect();
    assert_eq!(raw.call(&args), reply, "{command}");
}

/// Runs `(command, raw reply)` pairs in order.
#[track_caller]
pub fn expect_all(raw: &mut Raw, cases: &[(&str, &str)]) {
    for (command, reply) in cases {
        expect(raw, command, reply);
    }
}

/// The reply to an integer command (arguments split on spaces), parsed.
#[track_caller]
pub fn int(raw: &mut Raw, command: &str) -> i64 {
    let args: Vec<&str> = command.split(' ').collect();
    let reply = raw.call(&args);
    reply
        .strip_prefix(':')
        .and_then(|r| r.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("{command}: not an integer reply: {reply:?}"))
}

pub use shoal_harness::encode_command;

/// A `COMMAND DOCS` entry without what differs from Redis 7.0 by design: texts, history,
/// versions, 7.2's display texts and key-spec indexes (one key spec per command here).
fn docs_shape(value: redis::Value) -> redis::Value {
    const DROPPED: [&[u8]; 6] = [
        b"summary",
        b"complexity",
        b"since",
        b"history",
        b"display_text",
        b"key_spec_index",
    ];
    let redis::Value::Array(items) = value else {
        return value;
    };
    let is_map = items.len() % 2 == 0
        && matches!(items.first(), Some(redis::Value::BulkString(k)) if k == b"summary" || k == b"name");
    if !is_map {
        return redis::Value::Array(items.into_iter().map(docs_shape).collect());
    }
    let mut kept = Vec::new();
    let mut items = items.into_iter();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        if !matches!(&key, redis::Value::BulkString(k) if DROPPED.contains(&k.as_slice())) {
            kept.push(key);
            kept.push(docs_shape(value));
        }
    }
    redis::Value::Array(kept)
}

/// `COMMAND DOCS name`, shaped by `docs_shape` so that Shoal's and Redis 7.0's replies can be
/// compared.
pub fn command_docs(conn: &mut redis::Connection, name: &str) -> redis::Value {
    let reply: redis::Value = redis::cmd("COMMAND")
        .arg("DOCS")
        .arg(name)
        .query(conn)
        .expect("COMMAND DOCS");
    docs_shape(reply)
}
