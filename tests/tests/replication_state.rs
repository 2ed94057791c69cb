//! What a node tells about replication, and what it keeps: `INFO keyspace` splits held keys
//! into primary and replica ones, `INFO replication` and `/metrics` count under-replicated
//! slots and failovers, `repl-backlog-size` bounds a peer's queue (a replica that misses
//! messages is resynced), and eviction leaves keys held as a replica to their primary until
//! memory passes `maxmemory` by a tenth. Real `shoal` processes on loopback.
//!
//! Nothing here asserts a duration: waits poll against generous deadlines.

use shoal_harness::resp::info_field;
use shoal_tests::{Raw, TestCluster, eventually, http_get, primary_port};
use std::time::Duration;

/// `INFO <section>` of the node on `port`, as text.
fn info(port: u16, section: &str) -> String {
    let mut conn = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection())
        .expect("connect");
    redis::cmd("INFO")
        .arg(section)
        .query(&mut conn)
        .expect("INFO")
}

fn info_number(port: u16, section: &str, field: &str) -> u64 {
    let text = info(port, section);
    info_field(&text, field)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in {text}"))
}

/// (keys held, keys held as a replica) in db0 from `INFO keyspace`.
fn held(port: u16) -> (u64, u64) {
    let text = info(port, "keyspace");
    let Some(line) = info_field(&text, "db0") else {
        return (0, 0);
    };
    let field = |name: &str| {
        line.split(',')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {line}"))
    };
    (field("keys"), field("replica_keys"))
}

fn dbsize(port: u16) -> u64 {
    let reply = Raw::connect(port).call(&["DBSIZE"]);
    reply
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .expect("DBSIZE")
}

/// Writes `n` keys of `size` bytes through `port` and waits until a replica has them all.
fn fill(port: u16, prefix: &str, n: usize, size: usize) {
    let mut raw = Raw::connect(port);
    let value = "x".repeat(size);
    for i in 0..n {
        assert_eq!(
            raw.call(&["SET", &format!("{prefix}:{i}"), &value]),
            "+OK\r\n"
        );
    }
    assert_eq!(raw.call(&["WAIT", "1", "30000"]), ":1\r\n");
}

#[test]
fn info_splits_primary_and_replica_keys_and_counts_under_replicated_slots() {
    let mut cluster = TestCluster::start(3, &["--cluster-node-timeout", "1000"]);
    let ports: Vec<u16> = cluster.live().map(|n| n.port).collect();
    fill(ports[0], "k", 900, 10);
    for &port in &ports {
        eventually("replicas to be filled", Duration::from_secs(30), || {
            info_number(port, "replication", "shoal_under_replicated_slots") == 0
        });
    }
    // DBSIZE counts primary keys; INFO keyspace every key held, and which are a replica's.
    let mut primaries = 0;
    let mut replicas = 0;
    for &port in &ports {
        let (keys, replica_keys) = held(port);
        assert_eq!(keys, dbsize(port) + replica_keys, "node {port}");
        primaries += keys - replica_keys;
        replicas += replica_keys;
    }
    assert_eq!(primaries, 900);
    assert_eq!(replicas, 900, "R = 2: one replica copy of every key");
    // INFO replication summarises each node's roles: every slot has one primary and one
    // replica among the three.
    let sum = |field: &str| -> u64 {
        ports
            .iter()
            .map(|&p| info_number(p, "replication", field))
            .sum()
    };
    assert_eq!(sum("shoal_primary_slots"), 16384);
    assert_eq!(sum("shoal_replica_slots"), 16384);
    assert!(sum("shoal_primary_slot_ranges") >= 3);
    // A node alone holds no replica keys and says nothing of them.
    let single = shoal_tests::Shoal::start_with(&["--cluster-enabled", "no"]);
    assert_eq!(
        Raw::connect(single.port).call(&["SET", "a", "1"]),
        "+OK\r\n"
    );
    let text = info(single.port, "keyspace");
    assert_eq!(
        info_field(&text, "db0"),
        Some("keys=1,expires=0,avg_ttl=0,subexpiry=0")
    );

    // Kill a node: the survivors take over its slots (a failover each), fill the new
    // replicas, and are fully replicated again.
    drop(cluster.take(2));
    cluster.wait_until_agreed(2, Duration::from_secs(30));
    let survivors = [ports[0], ports[1]];
    for &port in &survivors {
        eventually(
            "replicas to be filled again",
            Duration::from_secs(30),
            || info_number(port, "replication", "shoal_under_replicated_slots") == 0,
        );
    }
    let failovers: u64 = survivors
        .iter()
        .map(|&p| info_number(p, "replication", "shoal_repl_failovers"))
        .sum();
    assert!(failovers >= 1, "a survivor took over slots");
    let (keys0, replica0) = held(ports[0]);
    let (keys1, replica1) = held(ports[1]);
    assert_eq!((keys0, keys1), (900, 900), "each survivor holds every key");
    assert_eq!(replica0 + replica1, 900);
    assert!(info_number(ports[0], "replication", "shoal_repl_acks") > 0);
}

#[test]
fn metrics_show_replication_health() {
    let metrics_port = shoal_tests::free_port();
    let metrics_flag = metrics_port.to_string();
    let cluster = TestCluster::start(2, &[]);
    let extra = ["--metrics-port", metrics_flag.as_str()];
    let node = cluster.try_join(&extra).expect("a third node");
    eventually(
        "the new node to serve keys",
        Duration::from_secs(30),
        || node.is_serving(),
    );
    fill(node.port, "m", 200, 10);
    eventually(
        "a scrape with replication health",
        Duration::from_secs(30),
        || {
            let page = http_get(metrics_port, "/metrics");
            page.contains("shoal_replication_under_replicated_slots 0")
                && page.contains("shoal_replication_acks_total")
                && page.contains("shoal_replication_failovers_total")
        },
    );
}

#[test]
fn repl_backlog_size_is_a_memory_directive() {
    let cluster = TestCluster::start(2, &["--repl-backlog-size", "2mb"]);
    let mut raw = cluster.node(0).raw();
    assert_eq!(
        raw.call(&["CONFIG", "GET", "repl-backlog-size"]),
        "*2\r\n$17\r\nrepl-backlog-size\r\n$7\r\n2097152\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "SET", "repl-backlog-size", "lots"]),
        "-ERR CONFIG SET failed (possibly related to argument 'repl-backlog-size') - argument must be a memory value\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "SET", "repl-snapshot-rate", "1mb"]),
        "+OK\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "GET", "repl-snapshot-rate"]),
        "*2\r\n$18\r\nrepl-snapshot-rate\r\n$7\r\n1048576\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "SET", "repl-snapshot-rate", "-1"]),
        "-ERR CONFIG SET failed (possibly related to argument 'repl-snapshot-rate') - argument must be a memory value\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "SET", "repl-snapshot-rate", "0"]),
        "+OK\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "SET", "repl-backlog-size", "1mb"]),
        "+OK\r\n"
    );
    // While the replica is stopped, the socket buffers fill and then the 1 MiB queue: the
    // writes beyond are dropped for it. Once it runs again it is resent everything and
    // ends with every value.
    let port = cluster.node(0).port;
    let snapshots_before = info_number(port, "replication", "shoal_repl_snapshots");
    let value = "v".repeat(64 * 1024);
    let keys: Vec<String> = (0..2000)
        .map(|i| format!("b:{i}"))
        .filter(|k| primary_port(port, k) == port)
        .take(400)
        .collect();
    assert_eq!(keys.len(), 400);
    cluster.node(1).signal("STOP");
    for key in &keys {
        assert_eq!(raw.call(&["SET", key, &value]), "+OK\r\n");
    }
    cluster.node(1).signal("CONT");
    assert_eq!(raw.call(&["WAIT", "1", "60000"]), ":1\r\n");
    let replica = cluster.node(1).port;
    let mut reader = Raw::connect(replica);
    assert_eq!(reader.call(&["READONLY"]), "+OK\r\n");
    for key in &keys {
        assert_eq!(
            reader.call(&["STRLEN", key]),
            format!(":{}\r\n", value.len()),
            "{key} on the replica"
        );
    }
    // The primary resent the replica everything at least once.
    let resends = info_number(port, "replication", "shoal_repl_snapshots");
    assert!(
        resends > snapshots_before,
        "the writes overflowed the 1 MiB backlog"
    );
}

#[test]
fn eviction_leaves_replica_keys_to_their_primary_until_the_margin() {
    let cluster = TestCluster::start(2, &["--maxmemory-policy", "allkeys-random"]);
    let (a, b) = (cluster.node(0).port, cluster.node(1).port);
    // 16 MB of values, half primary on each node; each node holds all of it.
    fill(a, "e", 8000, 2000);
    let (keys_b, replica_b) = held(b);
    assert_eq!(keys_b, 8000);
    let primary_b = keys_b - replica_b;
    assert!(
        primary_b > 1000 && replica_b > 1000,
        "{primary_b} {replica_b}"
    );
    let (_, replica_a) = held(a);
    // A limit a little under what b uses (less than the tenth of margin): b evicts only
    // keys it is primary of, and its evictions reach a as deletes.
    let used = info_number(b, "memory", "used_memory");
    let limit = used - 1_000_000;
    let mut raw = Raw::connect(b);
    assert_eq!(
        raw.call(&["CONFIG", "SET", "maxmemory", &limit.to_string()]),
        "+OK\r\n"
    );
    eventually("b to evict", Duration::from_secs(30), || {
        info_number(b, "stats", "evicted_keys") > 0
            && info_number(b, "memory", "used_memory") <= limit
    });
    let (keys_after, replica_after) = held(b);
    assert_eq!(replica_after, replica_b, "no replica key evicted on b");
    assert!(keys_after < keys_b);
    // b may still evict a few more while its memory settles: compare with its count as it is.
    eventually("a to apply b's evictions", Duration::from_secs(30), || {
        held(a).1 == replica_a - info_number(b, "stats", "evicted_keys")
    });
    // Past the margin, replica keys go too.
    let limit = info_number(b, "memory", "used_memory") / 2;
    assert_eq!(
        raw.call(&["CONFIG", "SET", "maxmemory", &limit.to_string()]),
        "+OK\r\n"
    );
    eventually("b to evict replica keys", Duration::from_secs(30), || {
        held(b).1 < replica_b && info_number(b, "memory", "used_memory") <= limit
    });
    // a's keys are a's: it still has every key it is primary of.
    assert_eq!(dbsize(a), held(a).0 - held(a).1);
    assert_eq!(dbsize(a), 8000 - primary_b);
}

#[test]
fn the_redis_crate_cluster_client_reads_from_replicas() {
    let cluster = TestCluster::start(3, &[]);
    let urls: Vec<String> = cluster
        .live()
        .map(|n| format!("redis://127.0.0.1:{}/", n.port))
        .collect();
    let writer = redis::cluster::ClusterClient::new(urls.clone()).expect("cluster client");
    let mut conn = writer.get_connection().expect("cluster connection");
    for i in 0..200 {
        let () = redis::cmd("SET")
            .arg(format!("rr:{i}"))
            .arg(i)
            .query(&mut conn)
            .expect("SET");
    }
    for node in cluster.live() {
        assert_eq!(node.raw().call(&["WAIT", "1", "10000"]), ":1\r\n");
    }
    let reader = redis::cluster::ClusterClientBuilder::new(urls)
        .read_routing_strategy(redis::cluster_read_routing::RandomReplicaStrategy)
        .build()
        .expect("replica-reading client");
    let mut conn = reader.get_connection().expect("cluster connection");
    for i in 0..200 {
        let value: i64 = redis::cmd("GET")
            .arg(format!("rr:{i}"))
            .query(&mut conn)
            .expect("GET");
        assert_eq!(value, i);
    }
    // The client said READONLY to the replicas it read from, and they served reads.
    let readonly: usize = cluster
        .live()
        .filter(|n| info(n.port, "commandstats").contains("cmdstat_readonly:"))
        .count();
    assert!(readonly > 0, "no node was read as a replica");
}

#[test]
fn replicas_reclaim_expired_keys_without_reads() {
    let cluster = TestCluster::start(3, &[]);
    let ports: Vec<u16> = cluster.live().map(|n| n.port).collect();
    let mut raw = Raw::connect(ports[0]);
    for i in 0..3000 {
        assert_eq!(
            raw.call(&["SET", &format!("ttl:{i}"), "v", "PX", "300"]),
            "+OK\r\n"
        );
    }
    assert_eq!(raw.call(&["WAIT", "1", "10000"]), ":1\r\n");
    let replicas: u64 = ports.iter().map(|&p| held(p).1).sum();
    assert!(replicas > 0, "replicas hold copies");
    // Nobody reads them: active expiry on every node, primaries and replicas, reclaims them.
    eventually("every copy to expire", Duration::from_secs(30), || {
        ports.iter().all(|&p| held(p) == (0, 0))
    });
}
