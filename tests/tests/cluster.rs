//! Issue 6 end to end: real `shoal` processes that find each other over the cluster bus, the
//! CLUSTER commands in Redis's formats (read with the `redis` crate and with redis-cli),
//! failure detection after `kill -9`, graceful leave, restarts. Joining and the cluster
//! secret are in `cluster/joining.rs`, the dev cluster and redis-benchmark in
//! `cluster/tools.rs`.
//!
//! Times are measured and printed (`-- --nocapture`), never asserted: each wait polls against
//! a generous deadline.

#[path = "cluster/joining.rs"]
mod joining;
#[path = "cluster/tools.rs"]
mod tools;

use redis::Value;
use shoal_tests::{Shoal, TestCluster, free_port, redis_cli, try_cluster_command};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Deadline for anything that should take a second or two.
const PATIENCE: Duration = Duration::from_secs(20);

/// One `CLUSTER NODES` line.
#[derive(Debug)]
struct NodeLine {
    id: String,
    addr: String,
    flags: Vec<String>,
    master: String,
    link: String,
    /// (start, end) inclusive.
    slots: Vec<(u16, u16)>,
}

fn parse_nodes(text: &str) -> Vec<NodeLine> {
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert!(fields.len() >= 8, "short CLUSTER NODES line: {line:?}");
            assert_eq!(fields[0].len(), 40, "{line}");
            assert!(fields[4].parse::<u64>().is_ok(), "ping-sent: {line}");
            assert!(fields[5].parse::<u64>().is_ok(), "pong-recv: {line}");
            assert!(fields[6].parse::<u64>().is_ok(), "config epoch: {line}");
            let slots = fields[8..]
                .iter()
                .map(|range| match range.split_once('-') {
                    Some((a, b)) => (a.parse().expect("slot"), b.parse().expect("slot")),
                    None => {
                        let slot = range.parse().expect("slot");
                        (slot, slot)
                    }
                })
                .collect();
            NodeLine {
                id: fields[0].to_string(),
                addr: fields[1].to_string(),
                flags: fields[2].split(',').map(str::to_string).collect(),
                master: fields[3].to_string(),
                link: fields[7].to_string(),
                slots,
            }
        })
        .collect()
}

fn cluster_text(node: &Shoal, sub: &str) -> String {
    try_cluster_command(node.port, sub).unwrap_or_else(|e| panic!("CLUSTER {sub}: {e}"))
}

fn info_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
        .to_string()
}

/// `CLUSTER SLOTS` read with the `redis` crate: (start, end, [(ip, port, id)]).
type SlotRow = (i64, i64, Vec<(String, i64, String)>);

fn cluster_slots(node: &Shoal) -> Vec<SlotRow> {
    let mut conn = node.conn();
    let value: Value = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query(&mut conn)
        .expect("CLUSTER SLOTS");
    let Value::Array(rows) = value else {
        panic!("CLUSTER SLOTS is not an array: {value:?}");
    };
    rows.into_iter()
        .map(|row| {
            let Value::Array(items) = row else {
                panic!("row {row:?}")
            };
            let start: i64 = redis::from_redis_value(items[0].clone()).expect("start");
            let end: i64 = redis::from_redis_value(items[1].clone()).expect("end");
            let owners = items[2..]
                .iter()
                .map(|owner| {
                    let Value::Array(parts) = owner else {
                        panic!("owner {owner:?}")
                    };
                    assert_eq!(parts.len(), 4, "ip, port, id, metadata: {parts:?}");
                    (
                        redis::from_redis_value(parts[0].clone()).expect("ip"),
                        redis::from_redis_value(parts[1].clone()).expect("port"),
                        redis::from_redis_value(parts[2].clone()).expect("id"),
                    )
                })
                .collect();
            (start, end, owners)
        })
        .collect()
}

/// Checks that `rows` cover 0..=16383 in order, once each, and returns the ids of primaries.
/// Checks a `CLUSTER SLOTS` reply of a cluster with `replication` owners per slot: the ranges
/// cover every slot once; every node is met first as a primary (the first entries are one slot
/// of each node with its primary alone, for redis-py); every other entry lists all owners.
/// Returns the primaries' ids.
fn assert_covers_every_slot(rows: &[SlotRow], replication: usize) -> BTreeSet<String> {
    let mut primaries = BTreeSet::new();
    let mut met: BTreeSet<&String> = BTreeSet::new();
    let mut leads = 0;
    for (start, end, owners) in rows {
        assert!(!owners.is_empty(), "owners of {start}-{end}");
        let primary = &owners[0].2;
        primaries.insert(primary.clone());
        for (rank, owner) in owners.iter().enumerate() {
            if met.insert(&owner.2) {
                assert_eq!(rank, 0, "{} is met first as a replica", owner.2);
            }
        }
        if owners.len() != replication {
            assert!(
                replication > 1 && owners.len() == 1 && start == end,
                "{start}-{end}"
            );
            leads += 1;
        }
        let distinct: BTreeSet<&String> = owners.iter().map(|o| &o.2).collect();
        assert_eq!(distinct.len(), owners.len(), "owners are distinct");
    }
    if replication > 1 {
        assert_eq!(leads, primaries.len(), "one lone-primary slot per node");
        assert!(
            rows[..leads].iter().all(|r| r.2.len() == 1),
            "leads come first"
        );
    }
    let mut sorted: Vec<&SlotRow> = rows.iter().collect();
    sorted.sort_by_key(|r| r.0);
    let mut next = 0;
    for (start, end, _) in sorted {
        assert_eq!(*start, next, "ranges must be contiguous");
        assert!(end >= start);
        next = end + 1;
    }
    assert_eq!(next, 16384);
    primaries
}

/// Waits until `node` has printed a line containing `text`.
fn wait_for_line(node: &Shoal, text: &str) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if node
            .output
            .lock()
            .expect("output")
            .iter()
            .any(|line| line.contains(text))
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn a_lone_node_is_a_one_node_cluster_owning_every_slot() {
    let node = Shoal::start();
    assert_eq!(node.node_id.len(), 40);
    assert_eq!(cluster_text(&node, "MYID"), node.node_id);

    let info = cluster_text(&node, "INFO");
    for (field, value) in [
        ("cluster_state", "ok"),
        ("cluster_slots_assigned", "16384"),
        ("cluster_slots_ok", "16384"),
        ("cluster_slots_pfail", "0"),
        ("cluster_slots_fail", "0"),
        ("cluster_known_nodes", "1"),
        ("cluster_size", "1"),
    ] {
        assert_eq!(info_field(&info, field), value, "{info}");
    }
    assert_eq!(
        info_field(&info, "cluster_current_epoch"),
        info_field(&info, "cluster_my_epoch")
    );

    let nodes = parse_nodes(&cluster_text(&node, "NODES"));
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].id, node.node_id);
    assert_eq!(
        nodes[0].addr,
        format!("127.0.0.1:{}@{}", node.port, node.cluster_port)
    );
    assert_eq!(nodes[0].flags, ["myself", "master"]);
    assert_eq!(nodes[0].master, "-");
    assert_eq!(nodes[0].link, "connected");
    assert_eq!(nodes[0].slots, [(0, 16383)]);

    let slots = cluster_slots(&node);
    assert_eq!(
        slots,
        [(
            0,
            16383,
            vec![(
                "127.0.0.1".to_string(),
                i64::from(node.port),
                node.node_id.clone()
            )]
        )]
    );

    // Byte-exact replies of the small subcommands, RESP2 and RESP3.
    let mut raw = node.raw();
    let me = &node.node_id;
    let port = node.port;
    shoal_tests::expect_all(
        &mut raw,
        &[
            ("CLUSTER KEYSLOT foo", ":12182\r\n"),
            ("CLUSTER KEYSLOT {user1000}.following", ":3443\r\n"),
            ("CLUSTER COUNTKEYSINSLOT 12182", ":0\r\n"),
            ("SET foo 1", "+OK\r\n"),
            ("SET {foo}.b 2", "+OK\r\n"),
            ("SET bar 3", "+OK\r\n"),
            ("CLUSTER COUNTKEYSINSLOT 12182", ":2\r\n"),
            ("CLUSTER GETKEYSINSLOT 12182 0", "*0\r\n"),
            ("CLUSTER COUNTKEYSINSLOT 16384", "-ERR Invalid slot\r\n"),
            ("CLUSTER COUNTKEYSINSLOT -1", "-ERR Invalid slot\r\n"),
            (
                "CLUSTER COUNTKEYSINSLOT x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "CLUSTER GETKEYSINSLOT 1 -1",
                "-ERR Invalid slot or number of keys\r\n",
            ),
            (
                "CLUSTER GETKEYSINSLOT 16384 1",
                "-ERR Invalid slot or number of keys\r\n",
            ),
            (
                "CLUSTER KEYSLOT",
                "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n",
            ),
            (
                "CLUSTER NOSUCH",
                "-ERR unknown subcommand 'NOSUCH'. Try CLUSTER HELP.\r\n",
            ),
            ("CLUSTER REPLICAS abc", "-ERR Unknown node abc\r\n"),
            ("CLUSTER LINKS", "*0\r\n"),
            ("READONLY", "+OK\r\n"),
            ("READWRITE", "+OK\r\n"),
            ("ASKING", "+OK\r\n"),
            (
                "CLUSTER MEET 127.0.0.1 x",
                "-ERR Invalid base port specified: x\r\n",
            ),
            (
                "CLUSTER MEET nohost 7000",
                "-ERR Invalid node address specified: nohost:7000\r\n",
            ),
        ],
    );
    let one = raw.call(&["CLUSTER", "GETKEYSINSLOT", "12182", "1"]);
    assert!(
        one == "*1\r\n$3\r\nfoo\r\n" || one == "*1\r\n$7\r\n{foo}.b\r\n",
        "{one}"
    );
    assert_eq!(
        raw.call(&["CLUSTER", "GETKEYSINSLOT", "12182", "10"])
            .lines()
            .filter(|l| !l.starts_with('$') && !l.starts_with('*'))
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["foo", "{foo}.b"])
    );
    assert_eq!(
        raw.call(&["CLUSTER", "REPLICAS", me]),
        "*0\r\n",
        "a lone node has no replicas"
    );
    assert_eq!(
        raw.call(&["CLUSTER", "SLOTS"]),
        format!(
            "*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:{port}\r\n$40\r\n{me}\r\n*0\r\n"
        )
    );
    let shards = raw.call(&["CLUSTER", "SHARDS"]);
    assert_eq!(
        shards,
        format!(
            "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n*14\r\n\
             $2\r\nid\r\n$40\r\n{me}\r\n$4\r\nport\r\n:{port}\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n\
             $8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n\
             $18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
        )
    );
    raw.call(&["HELLO", "3"]);
    assert!(
        raw.call(&["CLUSTER", "SHARDS"])
            .starts_with("*1\r\n%2\r\n$5\r\nslots\r\n")
    );
    assert!(
        raw.call(&["CLUSTER", "SLOTS"])
            .ends_with(&format!("$40\r\n{me}\r\n%0\r\n"))
    );
    assert!(raw.call(&["CLUSTER", "INFO"]).starts_with("=")); // verbatim txt, as Redis
    let help = raw.call(&["CLUSTER", "HELP"]);
    assert!(help.contains("+COUNTKEYSINSLOT <slot>\r\n"), "{help}");

    // INFO and HELLO say cluster mode, as a Redis cluster node does.
    let info = node.cli(&["INFO", "cluster"]);
    assert!(info.contains("cluster_enabled:1"), "{info}");
    let server = node.cli(&["INFO", "server"]);
    assert!(server.contains("redis_mode:cluster"), "{server}");
}

#[test]
fn cluster_enabled_no_gives_a_standalone_server() {
    let node = Shoal::start_with(&["--cluster-enabled", "no"]);
    assert_eq!(node.cluster_port, 0);
    let mut raw = node.raw();
    assert_eq!(
        raw.call(&["CLUSTER", "INFO"]),
        "-ERR This instance has cluster support disabled\r\n"
    );
    assert_eq!(
        raw.call(&["READONLY"]),
        "-ERR This instance has cluster support disabled\r\n"
    );
    assert!(node.cli(&["INFO", "cluster"]).contains("cluster_enabled:0"));
}

#[test]
fn five_nodes_agree_then_a_killed_node_is_declared_down_and_its_restart_is_accepted() {
    let mut cluster = TestCluster::start(5, &[]);
    let ids: BTreeSet<String> = cluster.live().map(|n| n.node_id.clone()).collect();

    // Every node describes the same ring, covering every slot with 2 owners.
    let reference = cluster_slots(cluster.node(0));
    let primaries = assert_covers_every_slot(&reference, 2);
    assert_eq!(primaries, ids, "every node is primary of some slots");
    for node in cluster.live() {
        assert_eq!(cluster_slots(node), reference, "node {}", node.port);
        let nodes = parse_nodes(&cluster_text(node, "NODES"));
        assert_eq!(nodes.len(), 5);
        let mut covered = 0;
        for line in &nodes {
            assert!(ids.contains(&line.id));
            assert!(line.flags.contains(&"master".to_string()), "{line:?}");
            assert_eq!(
                line.flags.contains(&"myself".to_string()),
                line.id == node.node_id
            );
            covered += line
                .slots
                .iter()
                .map(|(a, b)| u32::from(b - a) + 1)
                .sum::<u32>();
        }
        assert_eq!(
            covered, 16384,
            "primary ranges in CLUSTER NODES cover every slot"
        );
        let info = cluster_text(node, "INFO");
        assert_eq!(info_field(&info, "cluster_known_nodes"), "5");
        assert_eq!(info_field(&info, "cluster_size"), "5");
    }

    // kill -9: the others declare it down and agree on a ring without it.
    let victim = cluster.take(2);
    let (victim_port, victim_bus, victim_id) =
        (victim.port, victim.cluster_port, victim.node_id.clone());
    victim.signal("KILL");
    drop(victim);
    let killed = Instant::now();
    cluster.wait_until_agreed(4, PATIENCE);
    println!(
        "kill -9: all 4 survivors agreed on the new topology after {:?}",
        killed.elapsed()
    );
    for node in cluster.live() {
        let nodes = parse_nodes(&cluster_text(node, "NODES"));
        let dead = nodes
            .iter()
            .find(|n| n.id == victim_id)
            .expect("still listed");
        assert!(dead.flags.contains(&"fail".to_string()), "{dead:?}");
        assert_eq!(dead.link, "disconnected");
        assert!(dead.slots.is_empty());
        let rows = cluster_slots(node);
        assert_covers_every_slot(&rows, 2);
        assert!(rows.iter().all(|r| r.2.iter().all(|o| o.2 != victim_id)));
    }

    // Restart on the same ports: a new incarnation, accepted by everyone.
    // It joins through a DNS name this time.
    let port = victim_port.to_string();
    let bus = victim_bus.to_string();
    let seed = format!("localhost:{}", cluster.node(0).cluster_port);
    let restarted = cluster
        .try_join(&["--port", &port, "--cluster-port", &bus, "--join", &seed])
        .expect("restart on the same address");
    let restarted_id = restarted.node_id.clone();
    assert_ne!(restarted_id, victim_id);
    cluster.nodes[2] = Some(restarted);
    let started = Instant::now();
    cluster.wait_until_agreed(5, PATIENCE);
    println!("restart: all 5 agreed after {:?}", started.elapsed());
    assert_covers_every_slot(&cluster_slots(cluster.node(2)), 2);
}

#[test]
fn a_graceful_leave_is_seen_at_once_not_after_the_node_timeout() {
    // With a one-minute node timeout, only the leave message can make the others see it
    // go within the deadline.
    let mut cluster = TestCluster::start(3, &["--cluster-node-timeout", "60000"]);
    let leaver = cluster.take(1);
    let id = leaver.node_id.clone();
    let stopped = Instant::now();
    leaver.signal("TERM");
    let mut leaver = leaver;
    assert!(leaver.wait_exit(PATIENCE).is_some(), "the node exits");
    cluster.wait_until_agreed(2, PATIENCE);
    println!(
        "SIGTERM: both others saw the leave after {:?}",
        stopped.elapsed()
    );
    for node in cluster.live() {
        let nodes = parse_nodes(&cluster_text(node, "NODES"));
        let gone = nodes.iter().find(|n| n.id == id).expect("listed");
        assert!(gone.flags.contains(&"fail".to_string()));
    }

    // SHUTDOWN leaves the same way.
    let leaver = cluster.take(0);
    let id = leaver.node_id.clone();
    let stopped = Instant::now();
    let _ = leaver.cli(&["SHUTDOWN"]);
    let mut leaver = leaver;
    assert!(leaver.wait_exit(PATIENCE).is_some());
    cluster.wait_until_agreed(1, PATIENCE);
    println!(
        "SHUTDOWN: the last node saw the leave after {:?}",
        stopped.elapsed()
    );
    assert!(!TestCluster::live_ids_seen_by(cluster.node(2).port).contains(&id));
}

#[test]
fn config_get_shows_the_ports_in_use() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let shown = raw.call(&["CONFIG", "GET", "cluster-port"]);
    let bus = node.cluster_port.to_string();
    assert_eq!(
        shown,
        format!("*2\r\n$12\r\ncluster-port\r\n${}\r\n{bus}\r\n", bus.len())
    );
    let port = node.port.to_string();
    assert_eq!(
        raw.call(&["CONFIG", "GET", "port"]),
        format!("*2\r\n$4\r\nport\r\n${}\r\n{port}\r\n", port.len())
    );
}

#[test]
fn keys_owned_elsewhere_are_moved_and_cluster_clients_follow() {
    let cluster = TestCluster::start(3, &["--cluster-mode", "redirect"]);
    let node = cluster.node(0);
    let rows = cluster_slots(node);
    let primary_of = |slot: i64| {
        rows.iter()
            .find(|(a, b, _)| (*a..=*b).contains(&slot))
            .map(|(_, _, owners)| owners[0].clone())
            .expect("slot covered")
    };
    // Find a key this node does not own, and one it owns.
    let mut raw = node.raw();
    let slot_of = |raw: &mut shoal_tests::Raw, key: &str| {
        shoal_tests::int(raw, &format!("CLUSTER KEYSLOT {key}"))
    };
    let (mut remote, mut local) = (None, None);
    for i in 0..1000 {
        let key = format!("key:{i}");
        let slot = slot_of(&mut raw, &key);
        let owner = primary_of(slot);
        if owner.2 == node.node_id {
            local.get_or_insert((key, slot));
        } else {
            remote.get_or_insert((key, slot, owner));
        }
    }
    let (remote, slot, owner) = remote.expect("a key owned elsewhere");
    let (local, _) = local.expect("a key owned here");
    assert_eq!(
        raw.call(&["SET", &remote, "v"]),
        format!("-MOVED {slot} 127.0.0.1:{}\r\n", owner.1)
    );
    assert_eq!(raw.call(&["SET", &local, "v"]), "+OK\r\n");
    assert_eq!(
        raw.call(&["MGET", &local, &remote]),
        "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
    // Inside MULTI the redirect aborts the transaction, as in Redis.
    raw.call(&["MULTI"]);
    assert!(raw.call(&["GET", &remote]).starts_with("-MOVED "));
    assert!(raw.call(&["EXEC"]).starts_with("-EXECABORT"));

    // redis-cli -c follows the redirects.
    for i in 0..20 {
        let key = format!("cli:{i}");
        assert_eq!(
            redis_cli(node.port, &["-c", "SET", &key, &i.to_string()]).trim(),
            "OK"
        );
        let other = cluster.node(i % 3);
        assert_eq!(
            redis_cli(other.port, &["-c", "GET", &key]).trim(),
            i.to_string()
        );
    }
    // redis-cli --cluster check reads CLUSTER NODES of every node and agrees.
    let check = redis_cli(
        node.port,
        &["--cluster", "check", &format!("127.0.0.1:{}", node.port)],
    );
    assert!(
        check.contains("[OK] All nodes agree about slots configuration."),
        "{check}"
    );
    assert!(check.contains("[OK] All 16384 slots covered."), "{check}");

    // The redis crate's cluster client routes by CLUSTER SLOTS.
    let urls: Vec<String> = cluster.live().map(|n| n.url()).collect();
    let client = redis::cluster::ClusterClient::new(urls).expect("cluster client");
    let mut conn = client.get_connection().expect("cluster connection");
    for i in 0..100 {
        let key = format!("rs:{i}");
        let () = redis::cmd("SET")
            .arg(&key)
            .arg(i)
            .query(&mut conn)
            .expect("SET through the cluster client");
    }
    for i in 0..100 {
        let value: i64 = redis::cmd("GET")
            .arg(format!("rs:{i}"))
            .query(&mut conn)
            .expect("GET through the cluster client");
        assert_eq!(value, i);
    }
    // Each key landed on its slot's primary only.
    let total: i64 = cluster
        .live()
        .map(|n| {
            let mut c = n.conn();
            redis::cmd("DBSIZE").query::<i64>(&mut c).expect("dbsize")
        })
        .sum();
    assert_eq!(total, 100 + 20 + 1);

    // CLUSTER SHARDS: one shard per owner list, primary first; together every slot once.
    let mut conn = node.conn();
    let shards: Value = redis::cmd("CLUSTER")
        .arg("SHARDS")
        .query(&mut conn)
        .expect("CLUSTER SHARDS");
    let Value::Array(shards) = shards else {
        panic!("{shards:?}")
    };
    let mut covered = 0;
    for shard in shards {
        let Value::Array(fields) = shard else {
            panic!("{shard:?}")
        };
        assert_eq!(fields.len(), 4, "slots and nodes");
        let slots: Vec<i64> = redis::from_redis_value(fields[1].clone()).expect("slots");
        covered += slots.chunks(2).map(|p| p[1] - p[0] + 1).sum::<i64>();
        let Value::Array(nodes) = &fields[3] else {
            panic!("nodes")
        };
        assert_eq!(nodes.len(), 2);
        let roles: Vec<String> = nodes
            .iter()
            .map(|n| {
                let map: Vec<String> = redis::from_redis_value(n.clone()).expect("node map");
                let at = map.iter().position(|f| f == "role").expect("role");
                map[at + 1].clone()
            })
            .collect();
        assert_eq!(roles, ["master", "replica"]);
    }
    assert_eq!(covered, 16384);

    // REPLICAS: the nodes holding replicas of a node's slots; LINKS: one per peer.
    let replicas: Vec<String> = redis::cmd("CLUSTER")
        .arg("REPLICAS")
        .arg(&node.node_id)
        .query(&mut conn)
        .expect("CLUSTER REPLICAS");
    assert_eq!(
        replicas.len(),
        2,
        "with 3 nodes and R = 2 both others hold replicas"
    );
    let links: Vec<Value> = redis::cmd("CLUSTER")
        .arg("LINKS")
        .query(&mut conn)
        .expect("CLUSTER LINKS");
    assert_eq!(links.len(), 2);
}

#[test]
fn announced_addresses_are_what_peers_and_clients_see() {
    let announced_port = free_port();
    let node = Shoal::start_with(&[
        "--cluster-announce-ip",
        "127.0.0.2",
        "--cluster-announce-port",
        &announced_port.to_string(),
        "--cluster-announce-bus-port",
        "30001",
    ]);
    let nodes = parse_nodes(&cluster_text(&node, "NODES"));
    assert_eq!(nodes[0].addr, format!("127.0.0.2:{announced_port}@30001"));
    let slots = cluster_slots(&node);
    assert_eq!(slots[0].2[0].0, "127.0.0.2");
    assert_eq!(slots[0].2[0].1, i64::from(announced_port));
}

/// On nodes with peers the keyspace is indexed by slot (issue 13): every owner of a slot,
/// primary or replica, counts and lists exactly the keys written to it (deleted and
/// expired ones gone), a node that does not own it holds none, and `INFO keyspace`'s
/// `replica_keys` adds up the keys of the slots each node replicates.
#[test]
fn every_owner_counts_and_lists_exactly_its_slots_keys() {
    let cluster = TestCluster::start(3, &[]);
    cluster.wait_until_agreed(3, Duration::from_secs(30));
    let mut conn = cluster.node(0).conn();
    let mut written: std::collections::BTreeMap<u16, BTreeSet<String>> = Default::default();
    for i in 0..3_000 {
        let key = format!("{{tag{}}}:{i}", i % 60);
        let slot = shoal_tests::key_slot(key.as_bytes());
        if i % 10 == 0 {
            // Written, then deleted or expired: gone from the counts on every owner.
            let () = redis::cmd("SET")
                .arg(&key)
                .arg("v")
                .arg("PX")
                .arg(if i % 20 == 0 { 1 } else { 60_000 })
                .query(&mut conn)
                .expect("SET PX");
            if i % 20 != 0 {
                let _: i64 = redis::cmd("DEL").arg(&key).query(&mut conn).expect("DEL");
            }
            written.entry(slot).or_default();
            continue;
        }
        let () = redis::cmd("SET")
            .arg(&key)
            .arg(i)
            .query(&mut conn)
            .expect("SET");
        written.entry(slot).or_default().insert(key);
    }
    let owners_of = |rows: &[SlotRow], slot: u16| -> Vec<u16> {
        rows.iter()
            .filter(|(start, end, _)| (*start..=*end).contains(&i64::from(slot)))
            .map(|(_, _, owners)| owners.iter().map(|(_, port, _)| *port as u16).collect())
            .max_by_key(|owners: &Vec<u16>| owners.len())
            .unwrap_or_default()
    };
    let mut last = String::new();
    let started = Instant::now();
    let settled = loop {
        let rows = cluster_slots(cluster.node(0));
        let mut wrong = Vec::new();
        let mut replicated: std::collections::HashMap<u16, usize> = Default::default();
        let mut skipped = false;
        for (&slot, keys) in &written {
            let owners = owners_of(&rows, slot);
            if owners.len() < 2 {
                // One of the reply's first rows, which name the primary alone.
                skipped = true;
                continue;
            }
            for (index, &port) in owners.iter().enumerate() {
                if index > 0 {
                    *replicated.entry(port).or_default() += keys.len();
                }
            }
            for node in cluster.live() {
                let mut raw = node.raw();
                let expected = if owners.contains(&node.port) {
                    keys.len()
                } else {
                    0
                };
                let count = raw.call(&["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]);
                if count != format!(":{expected}\r\n") {
                    wrong.push(format!(
                        "{}: slot {slot} {count:?} != {expected}",
                        node.port
                    ));
                    continue;
                }
                let listed: BTreeSet<String> = raw
                    .call(&["CLUSTER", "GETKEYSINSLOT", &slot.to_string(), "10000"])
                    .lines()
                    .filter(|l| !l.starts_with('$') && !l.starts_with('*'))
                    .map(str::to_string)
                    .collect();
                let expected_keys = if expected == 0 {
                    BTreeSet::new()
                } else {
                    keys.clone()
                };
                if listed != expected_keys {
                    wrong.push(format!("{}: slot {slot} lists other keys", node.port));
                }
            }
        }
        for node in cluster.live() {
            let info = node.cli(&["INFO", "keyspace"]);
            let replica_keys = info
                .split([',', '\n'])
                .find_map(|part| part.trim().strip_prefix("replica_keys="))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            // Slots with a lone owner in the reply were skipped above: then the node may
            // replicate a few more keys than counted there.
            let counted = replicated.get(&node.port).copied().unwrap_or(0);
            if replica_keys < counted || (!skipped && replica_keys != counted) {
                wrong.push(format!(
                    "{}: replica_keys {replica_keys}, expected {counted}",
                    node.port
                ));
            }
        }
        if wrong.is_empty() {
            break started.elapsed();
        }
        last = wrong.join("; ");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "owners never agreed on their slots' keys: {last}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    println!("every owner agreed on its slots' keys after {settled:?} {last}");
}
