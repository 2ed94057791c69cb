//! Issue 7 end to end: any client, any node. Real `shoal` processes on loopback; a plain
//! client on one node reaches every key, multi-key commands are split over nodes, CROSSSLOT
//! where keys must be together, transactions and blocking commands through a forwarding
//! node, RESP3 relayed byte for byte, the cluster secret on peer links, keyspace-wide
//! commands, and a killed peer failing forwarded requests with `-TRYAGAIN` instead of hanging.
//!
//! Nothing here asserts a duration: waits poll against generous deadlines, and a reply that
//! never comes fails the test through the raw client's read timeout.

use redis::{Commands, ConnectionLike, Value};
use shoal_tests::{Raw, Shoal, TestCluster};
use std::time::{Duration, Instant};

/// Slot ranges and the client port of each range's primary, from `CLUSTER SLOTS`.
struct Ring(Vec<(u16, u16, u16)>);

impl Ring {
    fn of(node: &Shoal) -> Ring {
        let mut conn = node.conn();
        let rows: Vec<Value> = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query(&mut conn)
            .expect("CLUSTER SLOTS");
        let ranges = rows
            .into_iter()
            .map(|row| {
                let Value::Array(fields) = row else {
                    panic!("slot row {row:?}")
                };
                let start: u16 = redis::from_redis_value(fields[0].clone()).expect("start");
                let end: u16 = redis::from_redis_value(fields[1].clone()).expect("end");
                let primary: Vec<Value> =
                    redis::from_redis_value(fields[2].clone()).expect("primary");
                let port: u16 = redis::from_redis_value(primary[1].clone()).expect("port");
                (start, end, port)
            })
            .collect();
        Ring(ranges)
    }

    /// The client port of `key`'s primary.
    fn owner(&self, key: &str) -> u16 {
        let slot = redis_protocol::redis_keyslot(key.as_bytes());
        self.0
            .iter()
            .find(|(a, b, _)| (*a..=*b).contains(&slot))
            .map(|r| r.2)
            .expect("every slot is covered")
    }

    /// The first `{prefix}N` key whose primary is (or, with `not`, is not) `port`.
    fn key_on(&self, prefix: &str, port: u16) -> String {
        (0..100_000)
            .map(|i| format!("{prefix}{i}"))
            .find(|k| self.owner(k) == port)
            .expect("a key on that node")
    }

    fn key_not_on(&self, prefix: &str, port: u16) -> String {
        (0..100_000)
            .map(|i| format!("{prefix}{i}"))
            .find(|k| self.owner(k) != port)
            .expect("a key elsewhere")
    }
}

/// Writes `n` keys `prefix:i` = i through `conn`, pipelined.
fn write_keys(conn: &mut impl ConnectionLike, prefix: &str, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut pipe = redis::pipe();
        for i in chunk {
            pipe.cmd("SET").arg(format!("{prefix}:{i}")).arg(i).ignore();
        }
        let () = pipe.query(conn).expect("pipelined SETs");
    }
}

/// Reads the `n` keys back through `conn` and checks every value.
fn read_keys(conn: &mut impl ConnectionLike, prefix: &str, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut pipe = redis::pipe();
        for i in chunk {
            pipe.cmd("GET").arg(format!("{prefix}:{i}"));
        }
        let values: Vec<Option<usize>> = pipe.query(conn).expect("pipelined GETs");
        let expected: Vec<Option<usize>> = chunk.iter().map(|i| Some(*i)).collect();
        assert_eq!(values, expected, "{prefix}");
    }
}

fn dbsize(node: &Shoal) -> i64 {
    redis::cmd("DBSIZE")
        .query(&mut node.conn())
        .expect("DBSIZE")
}

/// 10 000 keys written through one node are read back from every node, each stored once.
fn any_key_from_any_node(cluster: &TestCluster, writer: usize) {
    let mut conn = cluster.node(writer).conn();
    write_keys(&mut conn, "k", 10_000);
    for node in cluster.live() {
        read_keys(&mut node.conn(), "k", 10_000);
    }
    let sizes: Vec<i64> = cluster.live().map(dbsize).collect();
    assert_eq!(sizes.iter().sum::<i64>(), 10_000, "{sizes:?}");
    assert!(sizes.iter().all(|s| *s > 0), "keys spread: {sizes:?}");
}

#[test]
fn three_nodes_serve_every_key_from_every_node() {
    let cluster = TestCluster::start(3, &[]);
    any_key_from_any_node(&cluster, 0);
}

#[test]
fn five_nodes_serve_plain_and_cluster_clients_alike() {
    let cluster = TestCluster::start(5, &[]);
    any_key_from_any_node(&cluster, 2);
    // The redis crate's cluster client routes by CLUSTER SLOTS: same workload, and what it
    // wrote is read back by a plain client on any node.
    let urls: Vec<String> = cluster.live().map(|n| n.url()).collect();
    let client = redis::cluster::ClusterClient::new(urls).expect("cluster client");
    let mut conn = client.get_connection().expect("cluster connection");
    for i in 0..10_000 {
        let value: usize = conn.get(format!("k:{i}")).expect("GET via cluster client");
        assert_eq!(value, i);
    }
    for i in 0..2_000 {
        let () = conn
            .set(format!("c:{i}"), i)
            .expect("SET via cluster client");
    }
    for node in cluster.live() {
        read_keys(&mut node.conn(), "c", 2_000);
    }
}

#[test]
fn multi_key_commands_are_split_over_nodes_and_merged_in_order() {
    let cluster = TestCluster::start(3, &[]);
    let ring = Ring::of(cluster.node(0));
    let mut conn = cluster.node(1).conn();
    let keys: Vec<String> = (0..30).map(|i| format!("m:{i}")).collect();
    let owners: std::collections::BTreeSet<u16> = keys.iter().map(|k| ring.owner(k)).collect();
    assert_eq!(owners.len(), 3, "the keys are on every node");
    let pairs: Vec<(String, usize)> = keys.iter().cloned().zip(0..).collect();
    let () = conn.mset(&pairs).expect("MSET across nodes");
    // MGET from another node, with missing keys in between, in the client's order.
    let mut asked: Vec<String> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        asked.push(key.clone());
        if i % 7 == 0 {
            asked.push(format!("missing:{i}"));
        }
    }
    let values: Vec<Option<usize>> = cluster
        .node(2)
        .conn()
        .mget(&asked)
        .expect("MGET across nodes");
    let expected: Vec<Option<usize>> = asked
        .iter()
        .map(|k| k.strip_prefix("m:").map(|i| i.parse().expect("index")))
        .collect();
    assert_eq!(values, expected);
    // EXISTS counts every key named, duplicates included; TOUCH and DEL count what existed.
    let mut c0 = cluster.node(0).conn();
    let exists: usize = redis::cmd("EXISTS")
        .arg(&keys[..10])
        .arg(&keys[0])
        .arg("missing")
        .query(&mut c0)
        .expect("EXISTS");
    assert_eq!(exists, 11);
    let touched: usize = redis::cmd("TOUCH")
        .arg(&keys[..10])
        .query(&mut c0)
        .expect("TOUCH");
    assert_eq!(touched, 10);
    let deleted: usize = redis::cmd("DEL")
        .arg(&keys[..20])
        .arg("missing")
        .query(&mut c0)
        .expect("DEL");
    assert_eq!(deleted, 20);
    let unlinked: usize = redis::cmd("UNLINK")
        .arg(&keys[15..])
        .query(&mut c0)
        .expect("UNLINK");
    assert_eq!(unlinked, 10);
    let left: usize = cluster.live().map(|n| dbsize(n) as usize).sum();
    assert_eq!(left, 0);
    // Malformed requests get the local handler's error, not a split.
    let mut raw = cluster.node(0).raw();
    assert_eq!(
        raw.call(&["MSET", &keys[0], "1", &keys[1]]),
        "-ERR wrong number of arguments for 'mset' command\r\n"
    );
}

#[test]
fn keys_needed_together_on_several_nodes_are_crossslot_and_hashtags_work() {
    let cluster = TestCluster::start(3, &[]);
    let node = cluster.node(0);
    let ring = Ring::of(node);
    let a = ring.key_on("x", cluster.node(1).port);
    let b = ring.key_on("y", cluster.node(2).port);
    let mut raw = node.raw();
    raw.call(&["SET", &a, "1"]);
    raw.call(&["SADD", &format!("s{a}"), "m"]);
    let crossslot = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";
    for command in [
        vec!["RENAME", &a, &b],
        vec!["SINTERSTORE", &a, &b, "zz"],
        vec!["LMOVE", &a, &b, "LEFT", "RIGHT"],
        vec!["MSETNX", &a, "1", &b, "2"],
    ] {
        assert_eq!(raw.call(&command), crossslot, "{command:?}");
    }
    // Keys that share a slot through a hashtag work through any node.
    let tag = ring.key_not_on("{t", node.port);
    let (one, two) = (format!("{tag}}}:one"), format!("{tag}}}:two"));
    assert_eq!(raw.call(&["SET", &one, "v"]), "+OK\r\n");
    assert_eq!(raw.call(&["RENAME", &one, &two]), "+OK\r\n");
    assert_eq!(raw.call(&["GET", &two]), "$1\r\nv\r\n");
    assert_eq!(raw.call(&["LPUSH", &one, "e"]), ":1\r\n");
    assert_eq!(
        raw.call(&["LMOVE", &one, &two, "LEFT", "RIGHT"]),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
}

#[test]
fn replies_are_relayed_byte_for_byte_in_the_clients_protocol_and_database() {
    let cluster = TestCluster::start(3, &[]);
    let node = cluster.node(0);
    let ring = Ring::of(node);
    let key = ring.key_not_on("h", node.port);
    let owner = ring.owner(&key);
    let mut via = node.raw();
    let mut direct = Raw::connect(owner);
    via.call(&["HSET", &key, "f", "1", "g", "2.5"]);
    for raw in [&mut via, &mut direct] {
        assert!(raw.call(&["HELLO", "3"]).starts_with('%'));
    }
    for command in [
        vec!["HGETALL", key.as_str()],
        vec!["HINCRBYFLOAT", key.as_str(), "g", "0"],
        vec!["HRANDFIELD", key.as_str(), "-2", "WITHVALUES"],
        vec!["HGET", key.as_str(), "nope"],
        vec!["GET", key.as_str()],
    ] {
        let relayed = via.call(&command);
        let local = direct.call(&command);
        if command[0] != "HRANDFIELD" {
            assert_eq!(relayed, local, "{command:?}");
        }
        assert!(!relayed.starts_with("-TRYAGAIN"), "{relayed}");
    }
    assert!(via.call(&["HGETALL", &key]).starts_with("%2\r\n"));
    assert_eq!(via.call(&["HGET", &key, "nope"]), "_\r\n");
    via.call(&["HELLO", "2"]);
    assert!(via.call(&["HGETALL", &key]).starts_with("*4\r\n"));
    assert_eq!(via.call(&["HGET", &key, "nope"]), "$-1\r\n");
    // The selected database travels with the request.
    via.call(&["SELECT", "3"]);
    assert_eq!(via.call(&["SET", &key, "in3"]), "+OK\r\n");
    direct.call(&["SELECT", "3"]);
    assert_eq!(direct.call(&["GET", &key]), "$3\r\nin3\r\n");
    direct.call(&["SELECT", "0"]);
    assert_eq!(direct.call(&["TYPE", &key]), "+hash\r\n");
}

#[test]
fn transactions_run_on_the_slots_primary_through_a_forwarding_node() {
    let cluster = TestCluster::start(3, &[]);
    let node = cluster.node(0);
    let ring = Ring::of(node);
    let tag = ring.key_not_on("{tx", node.port);
    let (a, l) = (format!("{tag}}}a"), format!("{tag}}}l"));
    let mut raw = node.raw();
    for (command, reply) in [
        (vec!["MULTI"], "+OK\r\n"),
        (vec!["SET", &a, "1"], "+QUEUED\r\n"),
        (vec!["INCR", &a], "+QUEUED\r\n"),
        (vec!["LPUSH", &l, "x"], "+QUEUED\r\n"),
        (vec!["EXEC"], "*3\r\n+OK\r\n:2\r\n:1\r\n"),
    ] {
        assert_eq!(raw.call(&command), reply, "{command:?}");
    }
    let mut owner = Raw::connect(ring.owner(&a));
    assert_eq!(owner.call(&["GET", &a]), "$1\r\n2\r\n");
    // WATCH through the forwarding node: a change by another client makes EXEC fail...
    let other = cluster.node(1);
    assert_eq!(raw.call(&["WATCH", &a]), "+OK\r\n");
    assert_eq!(other.raw().call(&["SET", &a, "5"]), "+OK\r\n");
    raw.call(&["MULTI"]);
    raw.call(&["SET", &a, "9"]);
    assert_eq!(raw.call(&["EXEC"]), "*-1\r\n");
    assert_eq!(owner.call(&["GET", &a]), "$1\r\n5\r\n");
    // ...and without one it succeeds.
    assert_eq!(raw.call(&["WATCH", &a]), "+OK\r\n");
    raw.call(&["MULTI"]);
    raw.call(&["INCR", &a]);
    assert_eq!(raw.call(&["EXEC"]), "*1\r\n:6\r\n");
    // A transaction whose keys are on two nodes is refused, and EXEC aborts.
    let elsewhere = (0..1000)
        .map(|i| format!("z{i}"))
        .find(|k| ring.owner(k) != ring.owner(&a))
        .expect("a key on another node");
    raw.call(&["MULTI"]);
    assert_eq!(raw.call(&["SET", &a, "1"]), "+QUEUED\r\n");
    assert_eq!(
        raw.call(&["SET", &elsewhere, "1"]),
        "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
    assert!(raw.call(&["EXEC"]).starts_with("-EXECABORT"));
    // DISCARD forgets a transaction bound elsewhere.
    raw.call(&["MULTI"]);
    raw.call(&["GET", &a]);
    assert_eq!(raw.call(&["DISCARD"]), "+OK\r\n");
    assert_eq!(raw.call(&["GET", &a]), "$1\r\n6\r\n");
}

/// Polls until `check` holds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn blocked_clients(port: u16) -> i64 {
    let info = Raw::connect(port).call(&["INFO", "clients"]);
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("blocked_clients")
}

#[test]
fn blpop_through_a_forwarding_node_is_woken_by_a_push_on_a_third_node() {
    let cluster = TestCluster::start(3, &[]);
    let ring = Ring::of(cluster.node(0));
    let owner = cluster.node(1).port;
    let list = ring.key_on("queue", owner);
    let mut waiting = cluster.node(0).raw();
    waiting.send_command(&[b"BLPOP", list.as_bytes(), b"0"]);
    eventually("the BLPOP to wait on its primary", || {
        blocked_clients(owner) == 1
    });
    let mut pusher = cluster.node(2).raw();
    assert_eq!(pusher.call(&["LPUSH", &list, "hello"]), ":1\r\n");
    assert_eq!(
        waiting.read_reply(),
        format!("*2\r\n${}\r\n{list}\r\n$5\r\nhello\r\n", list.len())
    );
    // A timeout answers nil, and the connection goes on.
    assert_eq!(waiting.call(&["BLPOP", &list, "0.05"]), "*-1\r\n");
    assert_eq!(waiting.call(&["PING"]), "+PONG\r\n");
    // A client that leaves while blocked never takes an element.
    let mut leaving = cluster.node(0).raw();
    leaving.send_command(&[b"BLPOP", list.as_bytes(), b"0"]);
    eventually("the second BLPOP to wait", || blocked_clients(owner) == 1);
    drop(leaving);
    eventually("the peer to drop the gone client", || {
        blocked_clients(owner) == 0
    });
    assert_eq!(pusher.call(&["LPUSH", &list, "kept"]), ":1\r\n");
    assert_eq!(pusher.call(&["LLEN", &list]), ":1\r\n");
}

#[test]
fn a_killed_peer_fails_forwarded_requests_at_once() {
    // A long node timeout keeps the dead node in the ring: requests keep going to it.
    let mut cluster = TestCluster::start(3, &["--cluster-node-timeout", "60000"]);
    let node = cluster.node(0);
    let ring = Ring::of(node);
    let dead_port = cluster.node(2).port;
    let key = ring.key_on("d", dead_port);
    let live = ring.key_on("l", cluster.node(1).port);
    let mut raw = node.raw();
    assert_eq!(raw.call(&["SET", &key, "v"]), "+OK\r\n");
    let list = ring.key_on("q", dead_port);
    let mut blocked = node.raw();
    blocked.send_command(&[b"BLPOP", list.as_bytes(), b"0"]);
    eventually("the BLPOP to wait on the doomed node", || {
        blocked_clients(dead_port) == 1
    });
    drop(cluster.take(2));
    // Every forwarded request to the dead node is answered with a retryable error.
    for _ in 0..5 {
        let reply = raw.call(&["GET", &key]);
        assert!(reply.starts_with("-TRYAGAIN "), "{reply}");
    }
    let reply = raw.call(&["MGET", &live, &key]);
    assert!(reply.starts_with("-TRYAGAIN "), "{reply}");
    let reply = blocked.read_reply();
    assert!(reply.starts_with("-TRYAGAIN "), "{reply}");
    // Other nodes' keys still work through the same node.
    assert_eq!(raw.call(&["SET", &live, "1"]), "+OK\r\n");
    assert_eq!(raw.call(&["GET", &live]), "$1\r\n1\r\n");
}

#[test]
fn peer_links_authenticate_with_the_cluster_secret() {
    let cluster = TestCluster::start(3, &["--cluster-secret", "s3cret"]);
    any_key_from_any_node(&cluster, 1);
    let mut raw = cluster.node(0).raw();
    let noauth = "-NOAUTH Authentication required.\r\n";
    assert_eq!(
        raw.call(&["SHOAL.FWD", "1", "0", "2", "-", "GET", "k:1"]),
        noauth
    );
    assert!(raw.call(&["SHOAL.NONCE"]).starts_with("$32\r\n"));
    assert!(raw.call(&["SHOAL.AUTH", "00"]).starts_with("-WRONGPASS"));
    // The nonce was used up: even the right proof now needs a new one.
    assert!(raw.call(&["SHOAL.AUTH", "00"]).starts_with("-WRONGPASS"));
    assert_eq!(
        raw.call(&["SHOAL.FWD", "1", "0", "2", "-", "GET", "k:1"]),
        noauth
    );

    // A node's own handshake: the proof of a fresh nonce under the secret.
    let nonce = raw.call(&["SHOAL.NONCE"]);
    let nonce = nonce.lines().nth(1).expect("nonce");
    let proof = shoal_cluster::peer_auth::proof(Some("s3cret"), nonce.as_bytes());
    assert_eq!(raw.call(&["SHOAL.AUTH", &proof]), "+OK\r\n");
    let ring = Ring::of(cluster.node(0));
    let remote = ring.key_not_on("k:", cluster.node(0).port);
    // An envelope runs the request as a forwarded one: on to the primary...
    let value = raw.call(&["SHOAL.FWD", "1", "0", "2", "-", "GET", &remote]);
    assert!(value.starts_with('$'), "{value}");
    // ...unless it was forwarded too many times already.
    let reply = raw.call(&["SHOAL.FWD", "3", "0", "2", "-", "GET", &remote]);
    assert!(
        reply.starts_with("-TRYAGAIN Forwarding hop limit"),
        "{reply}"
    );
    // A forwarded keyspace command is this node's part only.
    let local = dbsize(cluster.node(0));
    assert_eq!(
        raw.call(&["SHOAL.FWD", "1", "0", "2", "-", "DBSIZE"]),
        format!(":{local}\r\n")
    );
}

#[test]
fn flushall_empties_the_cluster_and_keyspace_commands_can_cover_it() {
    let cluster = TestCluster::start(3, &[]);
    let mut conn = cluster.node(0).conn();
    write_keys(&mut conn, "f", 300);
    let mut raw = cluster.node(1).raw();
    // Local by default: this node's keys, as cluster clients sum them.
    let local = dbsize(cluster.node(1));
    assert!(local > 0 && local < 300, "{local}");
    assert_eq!(
        raw.call(&["CONFIG", "SET", "cluster-keyspace-commands", "whole"]),
        "+OK\r\n"
    );
    assert_eq!(raw.call(&["DBSIZE"]), ":300\r\n");
    assert!(raw.call(&["KEYS", "f:*"]).starts_with("*300\r\n"));
    // SCAN walks every node in turn: its cursor names the node.
    let mut conn1 = cluster.node(1).conn();
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(50)
            .query(&mut conn1)
            .expect("SCAN");
        seen.extend(keys);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 300);
    raw.call(&["SELECT", "5"]);
    raw.call(&["SET", "in5", "x"]);
    assert_eq!(raw.call(&["FLUSHDB"]), "+OK\r\n");
    assert_eq!(raw.call(&["DBSIZE"]), ":0\r\n");
    raw.call(&["SELECT", "0"]);
    assert_eq!(raw.call(&["DBSIZE"]), ":300\r\n");
    assert_eq!(raw.call(&["FLUSHALL"]), "+OK\r\n");
    for node in cluster.live() {
        assert_eq!(dbsize(node), 0);
    }
}

#[test]
fn plain_redis_benchmark_against_one_node_of_a_cluster_has_no_errors() {
    let cluster = TestCluster::start(3, &[]);
    let node = cluster.node(0);
    let out = std::process::Command::new("redis-benchmark")
        .args(["-p", &node.port.to_string()])
        .args([
            "-t",
            "set,get,mset",
            "-n",
            "5000",
            "-r",
            "10000",
            "-P",
            "8",
            "-q",
        ])
        .output()
        .expect("redis-benchmark is installed (apt-get install redis-tools)");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(!text.to_ascii_lowercase().contains("error"), "{text}");
    let info = node.raw().call(&["INFO", "errorstats"]);
    assert!(!info.contains("errorstat_"), "{info}");
}

#[test]
fn a_hung_peer_fails_forwarded_requests_once_it_is_declared_down() {
    let mut cluster = TestCluster::start(3, &["--cluster-node-timeout", "3000"]);
    let node = cluster.node(0);
    let ring = Ring::of(node);
    let hung = cluster.node(2);
    let key = ring.key_on("h", hung.port);
    let list = ring.key_on("q", hung.port);
    let mut raw = node.raw();
    assert_eq!(raw.call(&["SET", &key, "v"]), "+OK\r\n");
    let mut blocked = node.raw();
    blocked.send_command(&[b"BLPOP", list.as_bytes(), b"0"]);
    eventually("the BLPOP to wait on the node", || {
        blocked_clients(hung.port) == 1
    });
    // The process stops answering but its sockets stay open: only the failure detector can
    // tell. Requests already sent to it fail when it is declared down.
    hung.signal("STOP");
    // SIGSTOP takes effect asynchronously: a request sent too soon could still be served.
    let stat = format!("/proc/{}/stat", hung.pid());
    eventually("the node to be stopped", || {
        std::fs::read_to_string(&stat).is_ok_and(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('T'))
        })
    });
    raw.send_command(&[b"GET", key.as_bytes()]);
    let reply = raw.read_reply();
    assert!(reply.starts_with("-TRYAGAIN "), "{reply}");
    let reply = blocked.read_reply();
    assert!(reply.starts_with("-TRYAGAIN "), "{reply}");
    // Its slots now have another primary: the replica, which holds the key (once the
    // take-over has settled, the reply may still be a retryable error).
    eventually("the replica to answer for the key", || {
        let reply = raw.call(&["GET", &key]);
        assert!(
            reply == "$1\r\nv\r\n"
                || reply.starts_with("-TRYAGAIN")
                || reply.starts_with("-CLUSTERDOWN"),
            "{reply}"
        );
        reply == "$1\r\nv\r\n"
    });
    let hung = cluster.take(2);
    hung.signal("CONT");
}

/// The `/metrics` page of a node.
fn scrape(metrics_port: u16) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", metrics_port)) else {
        return String::new();
    };
    let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    body
}

/// The value of one series (name with its labels, as printed).
fn metric(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn forwarding_and_redirects_are_counted_in_metrics() {
    let mut cluster = TestCluster::start(2, &[]);
    let metrics_port = shoal_tests::free_port();
    let port_arg = metrics_port.to_string();
    let index = cluster.add(&["--metrics-port", &port_arg]);
    cluster.wait_until_agreed(3, Duration::from_secs(30));
    let node = cluster.node(index);
    let ring = Ring::of(node);
    let peer = cluster.node(0).port;
    let key = ring.key_on("p", peer);
    let mut raw = node.raw();
    for _ in 0..10 {
        assert_eq!(raw.call(&["SET", &key, "v"]), "+OK\r\n");
    }
    let page = scrape(metrics_port);
    let label = format!("{{peer=\"127.0.0.1:{peer}\"}}");
    assert!(
        metric(&page, &format!("shoal_forwarded_requests_total{label}")) >= 10.0,
        "{page}"
    );
    assert!(metric(&page, &format!("shoal_peer_links_up{label}")) >= 1.0);
    assert!(metric(&page, "shoal_forward_duration_seconds_count") >= 10.0);
    assert!(page.contains("shoal_forward_duration_seconds_bucket{le=\"0.001\"}"));
    assert_eq!(
        raw.call(&["CONFIG", "SET", "cluster-mode", "redirect"]),
        "+OK\r\n"
    );
    assert!(raw.call(&["GET", &key]).starts_with("-MOVED "));
    assert_eq!(metric(&scrape(metrics_port), "shoal_redirects_total"), 1.0);
}
