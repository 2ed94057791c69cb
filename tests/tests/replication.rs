//! Replication end to end (issue 13): real `shoal` processes on loopback. Every key reaches
//! its slot's replica; a primary killed with SIGKILL costs no key that `WAIT` acknowledged;
//! deletes and expiries stay done after a failover; a new replica is filled after a loss;
//! `WAIT` and `cluster-write-concern all` answer as documented, errors as Redis's.
//!
//! Nothing here asserts a duration: waits poll against generous deadlines.

use redis::Commands;
use shoal_tests::{Raw, TestCluster, eventually, primary_port};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A short node timeout so that failovers happen within the test.
const FAST: &[&str] = &["--cluster-node-timeout", "1000"];

/// Writes `n` keys of every type through `conn`; returns the string values written.
fn write_everything(conn: &mut redis::Connection, n: usize) -> HashMap<String, String> {
    let mut strings = HashMap::new();
    for i in 0..n {
        let key = format!("s:{i}");
        let value = format!("value-{i}");
        let () = conn.set(&key, &value).expect("SET");
        strings.insert(key, value);
    }
    let () = redis::cmd("HSET")
        .arg("h")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2")
        .query(conn)
        .expect("HSET");
    let () = redis::cmd("RPUSH")
        .arg("l")
        .arg(&["x", "y", "z"])
        .query(conn)
        .map(|_: i64| ())
        .expect("RPUSH");
    let _: i64 = redis::cmd("SADD")
        .arg("set")
        .arg(&["m1", "m2"])
        .query(conn)
        .expect("SADD");
    let _: i64 = redis::cmd("ZADD")
        .arg("z")
        .arg(&["1.5", "one", "2.5", "two"])
        .query(conn)
        .expect("ZADD");
    let _: String = redis::cmd("INCRBYFLOAT")
        .arg("f")
        .arg("0.1")
        .query(conn)
        .expect("INCRBYFLOAT");
    let _: String = redis::cmd("XADD")
        .arg("x")
        .arg("1-1")
        .arg("k")
        .arg("v")
        .query(conn)
        .expect("XADD");
    // Written, then deleted: must stay deleted everywhere.
    for i in 0..50 {
        let () = conn.set(format!("gone:{i}"), "v").expect("SET");
        let _: i64 = conn.del(format!("gone:{i}")).expect("DEL");
    }
    strings
}

/// Checks everything [`write_everything`] wrote, through `conn`.
fn check_everything(conn: &mut redis::Connection, strings: &HashMap<String, String>) {
    for (key, value) in strings {
        let got: Option<String> = conn.get(key).expect("GET");
        assert_eq!(got.as_deref(), Some(value.as_str()), "{key}");
    }
    let hash: HashMap<String, String> = conn.hgetall("h").expect("HGETALL");
    assert_eq!(hash.len(), 2);
    assert_eq!(hash["a"], "1");
    let list: Vec<String> = conn.lrange("l", 0, -1).expect("LRANGE");
    assert_eq!(list, ["x", "y", "z"]);
    let mut set: Vec<String> = conn.smembers("set").expect("SMEMBERS");
    set.sort();
    assert_eq!(set, ["m1", "m2"]);
    let zset: Vec<(String, f64)> = conn.zrange_withscores("z", 0, -1).expect("ZRANGE");
    assert_eq!(zset, [("one".to_string(), 1.5), ("two".to_string(), 2.5)]);
    let f: String = conn.get("f").expect("GET f");
    assert_eq!(f, "0.1");
    let len: i64 = redis::cmd("XLEN").arg("x").query(conn).expect("XLEN");
    assert_eq!(len, 1);
    for i in 0..50 {
        let exists: i64 = conn.exists(format!("gone:{i}")).expect("EXISTS");
        assert_eq!(exists, 0, "gone:{i} came back");
    }
}

fn wait_reply(conn: &mut redis::Connection, replicas: i64, timeout_ms: i64) -> i64 {
    redis::cmd("WAIT")
        .arg(replicas)
        .arg(timeout_ms)
        .query(conn)
        .expect("WAIT")
}

fn dbsize(port: u16) -> i64 {
    let mut raw = Raw::connect(port);
    let reply = raw.call(&["DBSIZE"]);
    reply
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .unwrap_or_else(|_| panic!("DBSIZE {reply}"))
}

#[test]
fn acknowledged_writes_survive_a_killed_primary() {
    let mut cluster = TestCluster::start(3, FAST);
    let mut conn = cluster.node(0).conn();
    let strings = write_everything(&mut conn, 600);
    assert_eq!(wait_reply(&mut conn, 1, 10_000), 1, "WAIT 1");
    // Every key counted once: DBSIZE reports a node's primary keys only.
    let total: i64 = cluster.live().map(|n| dbsize(n.port)).sum();
    assert_eq!(total, strings.len() as i64 + 6);
    // Kill the node holding the most primaries among the keys, whichever it is.
    let victim = (1..3)
        .max_by_key(|&i| {
            let port = cluster.node(i).port;
            strings
                .keys()
                .filter(|k| primary_port(cluster.node(0).port, k) == port)
                .count()
        })
        .expect("a victim");
    drop(cluster.take(victim));
    cluster.wait_until_agreed(2, Duration::from_secs(30));
    let mut conn = cluster.node(0).conn();
    check_everything(&mut conn, &strings);
    // The survivors restored R = 2 (each holds everything now): lose one more node and
    // everything is still there.
    let last = if victim == 1 { 2 } else { 1 };
    for node in cluster.live() {
        let mut raw = node.raw();
        eventually(
            "the new replicas to be filled",
            Duration::from_secs(30),
            || {
                let info = raw.call(&["INFO", "replication"]);
                info.contains("\r\nshoal_under_replicated_slots:0\r\n")
            },
        );
    }
    assert_eq!(wait_reply(&mut conn, 1, 10_000), 1, "WAIT 1 after failover");
    let mut other = cluster.node(last).conn();
    assert_eq!(wait_reply(&mut other, 1, 10_000), 1, "WAIT 1 on the other");
    drop(cluster.take(last));
    cluster.wait_until_agreed(1, Duration::from_secs(30));
    let mut conn = cluster.node(0).conn();
    // Between the last peer going silent and its being declared down the node may refuse
    // keys for a moment (it could be the one cut off); it serves again once alone.
    eventually(
        "the last node to serve keys",
        Duration::from_secs(10),
        || {
            redis::cmd("GET")
                .arg("s:0")
                .query::<Option<String>>(&mut conn)
                .is_ok()
        },
    );
    check_everything(&mut conn, &strings);
}

#[test]
fn a_key_never_outlives_its_deadline_after_a_failover() {
    let mut cluster = TestCluster::start(3, FAST);
    let port0 = cluster.node(0).port;
    // A key whose primary is not node 0, so that killing its primary is a failover.
    let key = (0..1000)
        .map(|i| format!("ttl:{i}"))
        .find(|k| primary_port(port0, k) != port0)
        .expect("a key elsewhere");
    let owner = primary_port(port0, &key);
    let victim = (1..3)
        .find(|&i| cluster.node(i).port == owner)
        .expect("owner index");
    let mut conn = cluster.node(0).conn();
    let () = redis::cmd("SET")
        .arg(&key)
        .arg("v")
        .arg("PX")
        .arg(4000)
        .query(&mut conn)
        .expect("SET PX");
    let deadline = Instant::now() + Duration::from_millis(4000);
    assert_eq!(wait_reply(&mut conn, 1, 10_000), 1);
    drop(cluster.take(victim));
    cluster.wait_until_agreed(2, Duration::from_secs(30));
    if Instant::now() + Duration::from_millis(200) < deadline {
        let pttl: i64 = conn.pttl(&key).expect("PTTL");
        assert!(pttl > 0 && pttl <= 4000, "PTTL {pttl}");
    }
    while Instant::now() < deadline + Duration::from_millis(50) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let value: Option<String> = conn.get(&key).expect("GET");
    assert_eq!(value, None, "a key read after its deadline");
    // And on the other survivor (its own copy expired too).
    let survivor = (1..3).find(|&i| i != victim).expect("survivor");
    let mut other = cluster.node(survivor).conn();
    let value: Option<String> = other.get(&key).expect("GET");
    assert_eq!(value, None);
}

#[test]
fn wait_answers_as_redis_and_counts_replicas_per_write() {
    // One node: no replica, WAIT answers 0 (after its timeout when asked for one).
    let single = shoal_tests::Shoal::start();
    let mut raw = single.raw();
    assert_eq!(raw.call(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(raw.call(&["WAIT", "0", "0"]), ":0\r\n");
    assert_eq!(raw.call(&["WAIT", "1", "50"]), ":0\r\n");
    assert_eq!(
        raw.call(&["WAIT", "x", "0"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.call(&["WAIT", "1", "-1"]),
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(
        raw.call(&["WAIT", "1", "x"]),
        "-ERR timeout is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.call(&["WAIT", "1"]),
        "-ERR wrong number of arguments for 'wait' command\r\n"
    );
    // Inside MULTI it answers at once.
    assert_eq!(raw.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(raw.call(&["WAIT", "1", "0"]), "+QUEUED\r\n");
    assert_eq!(raw.call(&["EXEC"]), "*1\r\n:0\r\n");
    // Three nodes, R = 2: every write has one replica.
    let cluster = TestCluster::start(3, &[]);
    for node in cluster.live() {
        let mut raw = node.raw();
        for i in 0..20 {
            assert_eq!(raw.call(&["SET", &format!("w:{i}"), "v"]), "+OK\r\n");
        }
        assert_eq!(raw.call(&["WAIT", "1", "10000"]), ":1\r\n");
        // Never more than R - 1, however long it waits.
        assert_eq!(raw.call(&["WAIT", "2", "100"]), ":1\r\n");
    }
}

#[test]
fn write_concern_all_waits_for_the_replica_and_fails_clearly() {
    // A long node timeout keeps a stopped node in the ring (its replicas stay expected).
    let cluster = TestCluster::start(
        2,
        &[
            "--cluster-node-timeout",
            "60000",
            "--cluster-write-concern",
            "all",
            "--cluster-write-timeout",
            "300",
        ],
    );
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut raw = a.raw();
    assert_eq!(
        raw.call(&["CONFIG", "GET", "cluster-write-concern"]),
        "*2\r\n$21\r\ncluster-write-concern\r\n$3\r\nall\r\n"
    );
    let key = (0..1000)
        .map(|i| format!("c:{i}"))
        .find(|k| primary_port(a.port, k) == a.port)
        .expect("a key on a");
    assert_eq!(raw.call(&["SET", &key, "1"]), "+OK\r\n");
    // The replica is acknowledged before the reply: it already has the value.
    assert_eq!(b.raw().call(&["READONLY"]), "+OK\r\n");
    b.signal("STOP");
    let reply = raw.call(&["SET", &key, "2"]);
    b.signal("CONT");
    assert_eq!(reply, "-NOREPLICAS Not enough good replicas to write.\r\n");
    // The node keeps working, and once the replica is back, writes succeed again.
    eventually("writes to succeed again", Duration::from_secs(30), || {
        raw.call(&["SET", &key, "3"]) == "+OK\r\n"
    });
    assert_eq!(raw.call(&["GET", &key]), "$1\r\n3\r\n");
    assert_eq!(
        raw.call(&["CONFIG", "SET", "cluster-write-concern", "maybe"]),
        "-ERR CONFIG SET failed (possibly related to argument 'cluster-write-concern') - argument must be 'local' or 'all'\r\n"
    );
}

#[test]
fn replication_traffic_needs_the_cluster_secret() {
    let cluster = TestCluster::start(2, &["--cluster-secret", "s3cret"]);
    let mut raw = cluster.node(0).raw();
    // A stream opened without authenticating is refused, and the node keeps serving.
    assert_eq!(
        raw.call(&["SHOAL.STREAM", &cluster.node(1).node_id, "1", "1"]),
        "-NOAUTH Authentication required.\r\n"
    );
    let reply = raw.call(&["SHOAL.MSG", "1", "REPL", "0", "k", "1", "0", "x"]);
    assert!(reply.starts_with("-ERR not a peer stream"), "{reply}");
    assert!(
        raw.is_closed(),
        "a stray stream message closes the connection"
    );
    let mut raw = cluster.node(0).raw();
    assert_eq!(raw.call(&["GET", "k"]), "$-1\r\n");
    for internal in ["SHOAL.BARRIER", "SHOAL.EPOCH"] {
        assert_eq!(
            raw.call(&[internal]),
            "-NOAUTH Authentication required.\r\n"
        );
    }
}

#[test]
fn a_paused_primary_does_not_take_writes_and_rejoins_with_what_changed_meanwhile() {
    let cluster = TestCluster::start(3, FAST);
    let port0 = cluster.node(0).port;
    let key = (0..1000)
        .map(|i| format!("p:{i}"))
        .find(|k| primary_port(port0, k) != port0)
        .expect("a key elsewhere");
    let owner = primary_port(port0, &key);
    let paused = (1..3)
        .find(|&i| cluster.node(i).port == owner)
        .expect("owner index");
    // A second key of the same primary, deleted while it is paused.
    let doomed = (0..5000)
        .map(|i| format!("d:{i}"))
        .find(|k| primary_port(port0, k) == owner)
        .expect("a second key of that primary");
    let mut raw = cluster.node(0).raw();
    assert_eq!(raw.call(&["SET", &key, "before"]), "+OK\r\n");
    assert_eq!(raw.call(&["SET", &doomed, "old"]), "+OK\r\n");
    assert_eq!(raw.call(&["WAIT", "1", "10000"]), ":1\r\n");
    // A connection to the primary opened before it is paused.
    let mut stale = cluster.node(paused).raw();
    assert_eq!(stale.call(&["PING"]), "+PONG\r\n");
    cluster.node(paused).signal("STOP");
    // The others declare it down; its replica takes the slot and a new value.
    let survivors: Vec<u16> = (0..3)
        .filter(|&i| i != paused)
        .map(|i| cluster.node(i).port)
        .collect();
    eventually("the others to see it down", Duration::from_secs(30), || {
        survivors.iter().all(|&p| primary_port(p, &key) != owner)
    });
    assert_eq!(raw.call(&["SET", &key, "after"]), "+OK\r\n");
    assert_eq!(raw.call(&["DEL", &doomed]), ":1\r\n");
    assert_eq!(raw.call(&["WAIT", "1", "10000"]), ":1\r\n");
    cluster.node(paused).signal("CONT");
    // Right after it resumes, the paused node must not accept the key as its own: it knows
    // it was paused for longer than half the node timeout and refuses keys until every live
    // member answers the same topology epoch as its own. (Under heavy load the request may
    // only be read once that is so: then the others route the key to it too, and the write
    // is the cluster's, not a stale primary's.)
    let reply = stale.call(&["SET", &key, "lost"]);
    let accepted = reply == "+OK\r\n";
    if accepted {
        assert_eq!(
            primary_port(port0, &key),
            owner,
            "accepted by a stale primary"
        );
        assert_eq!(raw.call(&["GET", &key]), "$4\r\nlost\r\n");
    } else {
        assert_eq!(reply, "-CLUSTERDOWN The cluster is down\r\n");
        // The refused write landed nowhere.
        assert_ne!(raw.call(&["GET", &key]), "$4\r\nlost\r\n");
    }
    // It rejoins as a new member, warming: it fetches its slots again from the nodes that
    // stood in for it and serves them once it holds them. Then it is their primary again,
    // with the value written meanwhile, and the key deleted meanwhile stays deleted.
    eventually(
        "the resumed node to serve again",
        Duration::from_secs(60),
        || cluster.node(paused).is_serving() && primary_port(port0, &key) == owner,
    );
    let expected = if accepted {
        "$4\r\nlost\r\n"
    } else {
        "$5\r\nafter\r\n"
    };
    for node in cluster.live() {
        let mut through = node.raw();
        assert_eq!(
            through.call(&["GET", &key]),
            expected,
            "through {}",
            node.port
        );
        assert_eq!(
            through.call(&["GET", &doomed]),
            "$-1\r\n",
            "through {}",
            node.port
        );
    }
}

#[test]
fn readonly_reads_are_served_by_a_replica() {
    let cluster = TestCluster::start(3, &["--cluster-mode", "redirect"]);
    let port0 = cluster.node(0).port;
    let mut replica_of = None;
    for i in 0..5000 {
        let key = format!("ro:{i}");
        let primary = primary_port(port0, &key);
        if primary != port0 {
            replica_of = Some((key, primary));
            break;
        }
    }
    let (key, primary) = replica_of.expect("a key");
    let mut writer = Raw::connect(primary);
    assert_eq!(writer.call(&["SET", &key, "v"]), "+OK\r\n");
    assert_eq!(writer.call(&["WAIT", "1", "10000"]), ":1\r\n");
    // The node that replicates the key's slot: the one that is neither... find it by asking
    // each non-primary node with READONLY.
    let mut served = 0;
    for node in cluster.live().filter(|n| n.port != primary) {
        let mut raw = node.raw();
        let moved = raw.call(&["GET", &key]);
        assert!(moved.starts_with("-MOVED "), "{moved}");
        assert_eq!(raw.call(&["READONLY"]), "+OK\r\n");
        let reply = raw.call(&["GET", &key]);
        if reply == "$1\r\nv\r\n" {
            served += 1;
            // Writes still go to the primary.
            let write = raw.call(&["SET", &key, "w"]);
            assert!(write.starts_with("-MOVED "), "{write}");
            assert_eq!(raw.call(&["READWRITE"]), "+OK\r\n");
            let again = raw.call(&["GET", &key]);
            assert!(again.starts_with("-MOVED "), "{again}");
        } else {
            assert!(reply.starts_with("-MOVED "), "{reply}");
        }
    }
    assert_eq!(served, 1, "exactly one replica (R = 2) serves the read");
    // The redis crate's cluster client reading from replicas (random replica) sees it too.
    let nodes: Vec<String> = cluster.live().map(|n| n.url()).collect();
    let client = redis::cluster::ClusterClientBuilder::new(nodes)
        .read_routing_strategy(redis::cluster_read_routing::RandomReplicaStrategy)
        .build()
        .expect("cluster client");
    let mut conn = client.get_connection().expect("connect");
    for _ in 0..20 {
        let value: Option<String> = conn.get(&key).expect("GET");
        assert_eq!(value.as_deref(), Some("v"));
    }
}
