//! Issues 7 and 14: requests that arrive during a topology change are answered correctly or
//! with a retryable error, and no change loses or hides data.
//!
//! Three real `shoal` nodes under `cluster-write-concern all`; plain `redis` crate clients
//! (proxy mode: each talks to one node only, which forwards) run SET/GET/INCR/MGET and
//! MULTI/INCR/GET/EXEC transactions on their own keys without pause while the topology
//! changes: a fourth node joins (it learns its slots
//! before it serves them), then leaves gracefully (SIGTERM: it hands its slots over first),
//! then one of the original nodes is killed with SIGKILL, then a node restarts on its port
//! (empty, it learns its slots from their owners before it serves them). Every reply must be
//!
//! - correct for the key's state as its client knows it (each client owns its keys, so it
//!   knows what they hold; after a write answered with a retryable error it accepts the old
//!   or the new value, since the write may or may not have run). Nil or an older value is a
//!   failure: an acknowledged write lost, or stale data served by a former owner;
//! - or an error whose code is `TRYAGAIN` or `CLUSTERDOWN` (retryable), or `NOREPLICAS` (the
//!   write ran but its replica did not acknowledge it in time: the killed node was one,
//!   until it is declared down), each leaving the write possibly applied.
//!
//! Anything else fails: another error, a wrong value, or a reply that does not come within
//! the socket read timeout (a hang). A client whose own node is stopped sees its connection
//! close; that ends it. When the changes have settled, the survivors agree on `CLUSTER
//! SLOTS` and new writes and reads through each of them work. The kinds of replies are
//! counted and printed, not asserted; nothing asserts a duration (waits poll against
//! generous deadlines).

use redis::Value;
use shoal_tests::TestCluster;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A reply that takes longer than this is a hang.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Keys per client.
const KEYS: usize = 100;
/// Generous deadline for every wait.
const PATIENCE: Duration = Duration::from_secs(60);

/// The topology changes, in order (phase 2k + 1 is the k-th).
const CHANGES: [&str; 4] = ["join", "graceful leave", "SIGKILL", "restart"];

/// What the clients share with the test's driver.
#[derive(Default)]
struct Shared {
    /// Topology phases: odd while a change is in progress (from just before the node is
    /// started or signalled until every live node agrees on the new ring), even when settled.
    /// A client reads it before sending a request and after its reply.
    phase: AtomicU64,
    /// Set when the clients must stop.
    stop: AtomicBool,
    /// Client ports of nodes that are being stopped: their clients' connections may close.
    stopping: Mutex<Vec<u16>>,
    /// Requests answered, all clients together (to wait for progress).
    requests: AtomicU64,
    /// Replies by kind.
    counts: Mutex<BTreeMap<String, u64>>,
    /// What went wrong (empty when the test passes).
    failures: Mutex<Vec<String>>,
}

impl Shared {
    fn count(&self, kind: &str) {
        *self
            .counts
            .lock()
            .expect("counts")
            .entry(kind.to_string())
            .or_default() += 1;
    }

    fn fail(&self, what: String) {
        eprintln!("FAILURE: {what}");
        self.failures.lock().expect("failures").push(what);
    }

    /// Marks the start or the end of a topology change.
    fn next_phase(&self) {
        self.phase.fetch_add(1, Ordering::SeqCst);
    }
}

/// What a client knows of one of its keys.
struct KeyState {
    /// The values the key may hold (`None`: missing). One, unless a write was answered with
    /// a retryable error (it may or may not have run).
    maybe: Vec<Option<i64>>,
    /// Every value the key ever held, to tell an older value from one never written.
    history: Vec<i64>,
}

/// What a value read for a key is, when it is not one the key may hold.
fn misread(state: &KeyState, value: Option<i64>) -> &'static str {
    match value {
        None => "nil: an acknowledged write lost, or data left behind on a former owner",
        Some(v) if state.history.contains(&v) => "an older value: stale data of a former owner",
        Some(_) => "a value never written",
    }
}

/// A small deterministic random number generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One client: a plain connection to `port`, hammering its own keys until told to stop.
struct Client {
    name: String,
    port: u16,
    shared: Arc<Shared>,
    keys: Vec<String>,
    states: Vec<KeyState>,
    rng: Rng,
    next_value: i64,
}

/// How a request ended, when it did not give a value to check.
enum Outcome<T> {
    Value(T),
    /// A retryable error (counted already).
    Retry,
    /// The client must end (connection closed by its stopped node, or a failure recorded).
    End,
}

impl Client {
    fn run(mut self) {
        let client =
            redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).expect("valid url");
        let mut conn = match client.get_connection_with_timeout(READ_TIMEOUT) {
            Ok(conn) => conn,
            Err(e) => {
                self.shared.fail(format!(
                    "{}: cannot connect to {}: {e}",
                    self.name, self.port
                ));
                return;
            }
        };
        conn.set_read_timeout(Some(READ_TIMEOUT)).expect("timeout");
        conn.set_write_timeout(Some(READ_TIMEOUT)).expect("timeout");
        while !self.shared.stop.load(Ordering::SeqCst) {
            let go_on = match self.rng.below(11) {
                0..=2 => self.set(&mut conn),
                3..=5 => self.get(&mut conn),
                6..=7 => self.incr(&mut conn),
                8 => self.transaction(&mut conn),
                _ => self.mget(&mut conn),
            };
            if !go_on {
                return;
            }
            self.shared.requests.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn phase(&self) -> u64 {
        self.shared.phase.load(Ordering::SeqCst)
    }

    /// Sends one command; classifies errors.
    fn call(&self, conn: &mut redis::Connection, cmd: &redis::Cmd, what: &str) -> Outcome<Value> {
        let before = self.phase();
        let reply = cmd.query::<Value>(conn);
        let after = self.phase();
        if before % 2 == 1 || after != before {
            let change = if before % 2 == 1 { before } else { before + 1 };
            let name = CHANGES.get(change as usize / 2).unwrap_or(&"?");
            self.shared
                .count(&format!("(requests sent or answered during the {name})"));
        }
        match reply {
            Ok(value) => Outcome::Value(value),
            Err(e) => self.classify(&e, what),
        }
    }

    /// Classifies an error reply or a failed connection.
    fn classify(&self, e: &redis::RedisError, what: &str) -> Outcome<Value> {
        match e {
            e if e.is_timeout() => {
                self.shared.fail(format!(
                    "{}: {what} through {}: no reply within {READ_TIMEOUT:?} (hang): {e}",
                    self.name, self.port
                ));
                Outcome::End
            }
            e if e.is_io_error() || e.is_connection_dropped() => {
                if self
                    .shared
                    .stopping
                    .lock()
                    .expect("stopping")
                    .contains(&self.port)
                {
                    self.shared
                        .count("connection closed by the client's stopped node");
                } else {
                    self.shared.fail(format!(
                        "{}: {what} through {}: connection lost though the node runs: {e}",
                        self.name, self.port
                    ));
                }
                Outcome::End
            }
            e => match e.code() {
                Some("TRYAGAIN") => {
                    let text = e.to_string();
                    let kind = if text.contains("hop limit") {
                        "TRYAGAIN (hop limit)"
                    } else if text.contains("unreachable") {
                        "TRYAGAIN (peer unreachable)"
                    } else {
                        "TRYAGAIN (other)"
                    };
                    self.shared.count(kind);
                    Outcome::Retry
                }
                Some("CLUSTERDOWN") => {
                    self.shared.count("CLUSTERDOWN");
                    Outcome::Retry
                }
                // A command queued in MULTI got a retryable error: the transaction did not
                // run (its key state is left as maybe-applied all the same).
                Some("EXECABORT") => {
                    self.shared
                        .count("EXECABORT (a queued command was refused)");
                    Outcome::Retry
                }
                Some("NOREPLICAS") => {
                    self.shared
                        .count("NOREPLICAS (a replica did not acknowledge in time)");
                    Outcome::Retry
                }
                _ => {
                    self.shared.fail(format!(
                        "{}: {what} through {}: non-retryable error: {e}",
                        self.name, self.port
                    ));
                    Outcome::End
                }
            },
        }
    }

    fn set(&mut self, conn: &mut redis::Connection) -> bool {
        let i = self.rng.below(KEYS);
        self.next_value += 1;
        let value = self.next_value;
        let what = format!("SET {} {value}", self.keys[i]);
        let outcome = self.call(conn, redis::cmd("SET").arg(&self.keys[i]).arg(value), &what);
        let state = &mut self.states[i];
        state.history.push(value);
        match outcome {
            Outcome::Value(Value::Okay) => {
                self.shared.count("SET ok");
                state.maybe = vec![Some(value)];
            }
            Outcome::Value(other) => {
                self.shared
                    .fail(format!("{}: {what}: wrong reply {other:?}", self.name));
                return false;
            }
            Outcome::Retry => state.maybe.push(Some(value)),
            Outcome::End => return false,
        }
        true
    }

    /// An increment of key `i` answered `n`: it read n - 1 (nil counts as 0), which must be
    /// a value the key may hold, and wrote n.
    fn incremented(&mut self, i: usize, n: i64, before: u64, after: u64, what: &str) -> bool {
        let state = &self.states[i];
        let read = if n == 1 && !state.maybe.contains(&Some(0)) {
            None
        } else {
            Some(n - 1)
        };
        if !self.check_read(i, read, before, after, what) {
            return false;
        }
        let state = &mut self.states[i];
        state.history.push(n);
        state.maybe = vec![Some(n)];
        self.next_value = self.next_value.max(n);
        true
    }

    /// An increment of key `i` answered with a retryable error may have run: the key holds
    /// any of its possible values, or that plus one.
    fn maybe_incremented(&mut self, i: usize) {
        let state = &mut self.states[i];
        let incremented: Vec<Option<i64>> = state
            .maybe
            .iter()
            .map(|v| Some(v.unwrap_or(0) + 1))
            .collect();
        for v in incremented {
            if let Some(n) = v {
                state.history.push(n);
            }
            state.maybe.push(v);
        }
    }

    /// Checks a value read for key `i` between phases `before` and `after`.
    fn check_read(
        &mut self,
        i: usize,
        value: Option<i64>,
        before: u64,
        after: u64,
        what: &str,
    ) -> bool {
        let state = &mut self.states[i];
        if !state.maybe.contains(&value) {
            self.shared.fail(format!(
                "{}: {what} through {}: read {value:?} ({}), expected one of {:?} (phases {before}..{after})",
                self.name,
                self.port,
                misread(state, value),
                state.maybe
            ));
            return false;
        }
        self.shared.count("value correct (GET, MGET element, INCR)");
        // What was read is now the client's knowledge of the key.
        state.maybe = vec![value];
        true
    }

    fn get(&mut self, conn: &mut redis::Connection) -> bool {
        let i = self.rng.below(KEYS);
        let before = self.phase();
        let what = format!("GET {}", self.keys[i]);
        let outcome = self.call(conn, redis::cmd("GET").arg(&self.keys[i]), &what);
        let after = self.phase();
        match outcome {
            Outcome::Value(value) => match parse(&value) {
                Some(value) => self.check_read(i, value, before, after, &what),
                None => {
                    self.shared
                        .fail(format!("{}: {what}: wrong reply {value:?}", self.name));
                    false
                }
            },
            Outcome::Retry => true,
            Outcome::End => false,
        }
    }

    /// Sends `MULTI`, `INCR key`, `GET key`, `EXEC` for key `i`; the outcome is EXEC's (a
    /// refused queued command discards the transaction: retryable, it did not run).
    fn exec_incr_get(&self, conn: &mut redis::Connection, i: usize, what: &str) -> Outcome<Value> {
        let key = &self.keys[i];
        match self.call(conn, &redis::cmd("MULTI"), what) {
            Outcome::Value(Value::Okay) => {}
            Outcome::Value(other) => {
                self.shared
                    .fail(format!("{}: {what}: MULTI answered {other:?}", self.name));
                return Outcome::End;
            }
            other => return other,
        }
        for command in ["INCR", "GET"] {
            match self.call(conn, redis::cmd(command).arg(key), what) {
                Outcome::Value(Value::SimpleString(queued)) if queued == "QUEUED" => {}
                Outcome::Value(other) => {
                    self.shared.fail(format!(
                        "{}: {what}: {command} answered {other:?}",
                        self.name
                    ));
                    return Outcome::End;
                }
                Outcome::Retry => {
                    let _ = redis::cmd("DISCARD").query::<Value>(conn);
                    return Outcome::Retry;
                }
                Outcome::End => return Outcome::End,
            }
        }
        self.call(conn, &redis::cmd("EXEC"), what)
    }

    fn incr(&mut self, conn: &mut redis::Connection) -> bool {
        self.increment(conn, false)
    }

    /// `MULTI`, `INCR key`, `GET key`, `EXEC`: both results must agree with each other and
    /// with what the key held.
    fn transaction(&mut self, conn: &mut redis::Connection) -> bool {
        self.increment(conn, true)
    }

    /// Increments one of the client's keys, alone or in a transaction, and checks the reply
    /// against what the key may hold.
    fn increment(&mut self, conn: &mut redis::Connection, in_transaction: bool) -> bool {
        let i = self.rng.below(KEYS);
        let before = self.phase();
        let (what, outcome) = if in_transaction {
            let what = format!("MULTI INCR/GET {} EXEC", self.keys[i]);
            let outcome = self.exec_incr_get(conn, i, &what);
            (what, outcome)
        } else {
            let what = format!("INCR {}", self.keys[i]);
            let outcome = self.call(conn, redis::cmd("INCR").arg(&self.keys[i]), &what);
            (what, outcome)
        };
        let after = self.phase();
        match outcome {
            Outcome::Value(value) => match self.incremented_to(&value, in_transaction, &what) {
                Some(n) => self.incremented(i, n, before, after, &what),
                None => false,
            },
            Outcome::Retry => {
                // It may have run: the key holds any of its possible values, plus one.
                self.maybe_incremented(i);
                true
            }
            Outcome::End => false,
        }
    }

    /// The value an increment's reply says the key now holds (an integer; in a transaction,
    /// INCR's and GET's results, which must agree); `None`, and a failure recorded, for
    /// anything else.
    fn incremented_to(&self, value: &Value, in_transaction: bool, what: &str) -> Option<i64> {
        let n = match (value, in_transaction) {
            (Value::Int(n), false) => Some(*n),
            (Value::Array(results), true) if results.len() == 2 => {
                match (&results[0], parse(&results[1])) {
                    (Value::Int(n), Some(Some(read))) if read == *n => {
                        self.shared.count("transaction correct");
                        Some(*n)
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if n.is_none() {
            self.shared
                .fail(format!("{}: {what}: wrong reply {value:?}", self.name));
        }
        n
    }

    fn mget(&mut self, conn: &mut redis::Connection) -> bool {
        let picked: Vec<usize> = (0..8).map(|_| self.rng.below(KEYS)).collect();
        let mut cmd = redis::cmd("MGET");
        for &i in &picked {
            cmd.arg(&self.keys[i]);
        }
        let before = self.phase();
        let what = format!("MGET of {} keys", picked.len());
        let outcome = self.call(conn, &cmd, &what);
        let after = self.phase();
        match outcome {
            Outcome::Value(Value::Array(values)) if values.len() == picked.len() => {
                for (&i, value) in picked.iter().zip(&values) {
                    let Some(value) = parse(value) else {
                        self.shared
                            .fail(format!("{}: {what}: wrong element {value:?}", self.name));
                        return false;
                    };
                    let what = format!("{what} ({})", self.keys[i]);
                    if !self.check_read(i, value, before, after, &what) {
                        return false;
                    }
                }
                true
            }
            Outcome::Value(other) => {
                self.shared
                    .fail(format!("{}: {what}: wrong reply {other:?}", self.name));
                false
            }
            Outcome::Retry => true,
            Outcome::End => false,
        }
    }
}

/// A string reply holding an integer, or nil; `None` for anything else.
fn parse(value: &Value) -> Option<Option<i64>> {
    match value {
        Value::Nil => Some(None),
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok().map(Some),
        _ => None,
    }
}

/// Starts `n` clients on `port`, named after `node`.
fn start_clients(shared: &Arc<Shared>, node: &str, port: u16, n: usize) -> Vec<JoinHandle<()>> {
    (0..n)
        .map(|c| {
            let name = format!("{node}/client{c}");
            let keys: Vec<String> = (0..KEYS).map(|i| format!("tc:{name}:{i}")).collect();
            let client = Client {
                port,
                shared: shared.clone(),
                states: (0..KEYS)
                    .map(|_| KeyState {
                        maybe: vec![None],
                        history: Vec::new(),
                    })
                    .collect(),
                keys,
                rng: Rng(0x9E37_79B9_7F4A_7C15 ^ (u64::from(port) << 8 | c as u64)),
                next_value: 0,
                name,
            };
            std::thread::spawn(move || client.run())
        })
        .collect()
}

/// Waits until the clients together have had `n` more requests answered.
fn wait_for_requests(shared: &Shared, n: u64, during: &str) {
    let start = shared.requests.load(Ordering::SeqCst);
    let deadline = Instant::now() + PATIENCE;
    while shared.requests.load(Ordering::SeqCst) < start + n {
        assert!(
            shared.failures.lock().expect("failures").is_empty(),
            "failures {during}: {:?}",
            shared.failures.lock().expect("failures")
        );
        assert!(
            Instant::now() < deadline,
            "the clients made no progress {during}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A number from `INFO replication` of the node on `port`.
fn info_number(port: u16, field: &str) -> u64 {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("url");
    let mut conn = client
        .get_connection_with_timeout(READ_TIMEOUT)
        .expect("connect");
    let text: String = redis::cmd("INFO")
        .arg("replication")
        .query(&mut conn)
        .expect("INFO");
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in {text}"))
}

/// `CLUSTER SLOTS` of a node, as (start, end, owner ports) rows.
fn slots(port: u16) -> Vec<(i64, i64, Vec<i64>)> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("url");
    let mut conn = client
        .get_connection_with_timeout(READ_TIMEOUT)
        .expect("connect");
    conn.set_read_timeout(Some(READ_TIMEOUT)).expect("timeout");
    let rows: Vec<Value> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query(&mut conn)
        .expect("CLUSTER SLOTS");
    rows.into_iter()
        .map(|row| {
            let Value::Array(fields) = row else {
                panic!("slot row {row:?}")
            };
            let start: i64 = redis::from_redis_value(fields[0].clone()).expect("start");
            let end: i64 = redis::from_redis_value(fields[1].clone()).expect("end");
            let owners = fields[2..]
                .iter()
                .map(|owner| {
                    let owner: Vec<Value> = redis::from_redis_value(owner.clone()).expect("owner");
                    redis::from_redis_value(owner[1].clone()).expect("port")
                })
                .collect();
            (start, end, owners)
        })
        .collect()
}

#[test]
fn requests_during_join_leave_and_kill_are_answered_correctly_or_retryably() {
    // A node timeout longer than the default keeps a busy 2-core machine from false
    // suspicions; a SIGKILLed node is still declared down well within PATIENCE.
    let mut cluster = TestCluster::start(
        3,
        &[
            "--cluster-node-timeout",
            "4000",
            "--cluster-write-concern",
            "all",
            "--cluster-write-timeout",
            "2000",
        ],
    );
    let shared = Arc::new(Shared::default());
    let ports: Vec<u16> = cluster.live().map(|n| n.port).collect();
    let mut clients = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        clients.extend(start_clients(&shared, &format!("node{i}"), *port, 2));
    }
    wait_for_requests(&shared, 1_000, "before any change");

    // A fourth node joins.
    shared.next_phase();
    let joined = cluster.add(&[]);
    cluster.wait_until_agreed(4, PATIENCE);
    shared.next_phase();
    let joined_port = cluster.node(joined).port;
    assert_eq!(
        info_number(joined_port, "shoal_handoff_takeovers"),
        1,
        "the new node served once it had learned its slots"
    );
    clients.extend(start_clients(&shared, "node3", joined_port, 2));
    wait_for_requests(&shared, 1_000, "after the join");
    // Once the topology has been still for a moment, the former owners of the slots that
    // moved to the new node drop their keys.
    let deadline = Instant::now() + PATIENCE;
    while cluster
        .live()
        .map(|n| info_number(n.port, "shoal_handoff_dropped_keys"))
        .sum::<u64>()
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "former owners drop the keys of slots that moved"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // It leaves gracefully.
    shared.next_phase();
    shared.stopping.lock().expect("stopping").push(joined_port);
    let mut leaver = cluster.take(joined);
    leaver.signal("TERM");
    assert!(
        leaver.wait_exit(PATIENCE).is_some(),
        "SIGTERM: the node exits"
    );
    let said = leaver.output.lock().expect("output").join("\n");
    assert!(
        said.contains("the next owners of this node's slots have caught up"),
        "the leaver handed its slots over before it went: {said}"
    );
    cluster.wait_until_agreed(3, PATIENCE);
    shared.next_phase();
    wait_for_requests(&shared, 1_000, "after the leave");

    // An original node is killed.
    shared.next_phase();
    let victim_port = cluster.node(2).port;
    shared.stopping.lock().expect("stopping").push(victim_port);
    let victim = cluster.take(2);
    victim.signal("KILL");
    drop(victim);
    cluster.wait_until_agreed(2, PATIENCE);
    shared.next_phase();
    wait_for_requests(&shared, 1_000, "after the kill");

    // A node restarts on the killed node's port, empty.
    shared.next_phase();
    let port_arg = victim_port.to_string();
    let restarted = cluster.add(&["--port", &port_arg]);
    cluster.wait_until_agreed(3, PATIENCE);
    shared.next_phase();
    assert_eq!(info_number(victim_port, "shoal_handoff_takeovers"), 1);

    clients.extend(start_clients(
        &shared,
        "restarted",
        cluster.node(restarted).port,
        2,
    ));
    wait_for_requests(&shared, 1_000, "after the restart");

    shared.stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().expect("client thread");
    }
    println!("replies seen during the topology changes:");
    for (kind, n) in shared.counts.lock().expect("counts").iter() {
        println!("  {n:>8}  {kind}");
    }
    let failures = shared.failures.lock().expect("failures");
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );

    // Settled: the survivors agree on the ring...
    let survivors: Vec<u16> = cluster.live().map(|n| n.port).collect();
    let reference = slots(survivors[0]);
    let covered: i64 = reference.iter().map(|(a, b, _)| b - a + 1).sum();
    assert_eq!(covered, 16384, "every slot is covered");
    for port in &survivors {
        let rows = slots(*port);
        assert_eq!(rows, reference, "CLUSTER SLOTS of {port}");
        assert!(
            rows.iter()
                .all(|(_, _, owners)| owners.iter().all(|o| survivors.contains(&(*o as u16)))),
            "only survivors own slots: {rows:?}"
        );
    }
    // ...and new writes and reads through every survivor work, on keys of every node.
    for (w, writer) in survivors.iter().enumerate() {
        let mut conn = redis::Client::open(format!("redis://127.0.0.1:{writer}/"))
            .expect("url")
            .get_connection_with_timeout(READ_TIMEOUT)
            .expect("connect");
        conn.set_read_timeout(Some(READ_TIMEOUT)).expect("timeout");
        for i in 0..500 {
            let () = redis::cmd("SET")
                .arg(format!("after:{w}:{i}"))
                .arg(i)
                .query(&mut conn)
                .expect("SET after the changes");
        }
        for reader in &survivors {
            let mut conn = redis::Client::open(format!("redis://127.0.0.1:{reader}/"))
                .expect("url")
                .get_connection_with_timeout(READ_TIMEOUT)
                .expect("connect");
            conn.set_read_timeout(Some(READ_TIMEOUT)).expect("timeout");
            for i in 0..500 {
                let value: Option<i64> = redis::cmd("GET")
                    .arg(format!("after:{w}:{i}"))
                    .query(&mut conn)
                    .expect("GET after the changes");
                assert_eq!(
                    value,
                    Some(i),
                    "after:{w}:{i} written through {writer}, read through {reader}"
                );
            }
        }
    }
}
