//! Anti-entropy end to end (issue 14): real `shoal` processes on loopback. A copy made to
//! drift behind the stream's back (`DEBUG DROP-LOCAL`, on a replica and on a primary) is
//! found by the digest rounds and repaired, both ways; copies that agree stay quiet, also
//! under writes that cross the rounds; the directives answer as Redis's do.
//!
//! Nothing here asserts a duration: waits poll against generous deadlines.

use shoal_harness::resp::info_field;
use shoal_tests::{Raw, TestCluster, eventually, primary_port};
use std::time::Duration;

/// Fast failure detection and a digest round every 300 ms.
const ARGS: &[&str] = &[
    "--cluster-node-timeout",
    "1000",
    "--cluster-anti-entropy-interval",
    "300",
];

/// The sum over the running nodes of an INFO replication counter.
fn total(cluster: &TestCluster, field: &str) -> u64 {
    cluster
        .live()
        .map(|node| {
            let info = node.raw().call(&["INFO", "replication"]);
            info_field(&info, field)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{field} missing from INFO replication"))
        })
        .sum()
}

/// A `READONLY` connection to `port`: reads of keys it replicates are served from its copy.
fn local_reader(port: u16) -> Raw {
    let mut raw = Raw::connect(port);
    assert_eq!(raw.call(&["READONLY"]), "+OK\r\n");
    raw
}

#[test]
fn copies_that_drifted_apart_are_repaired_both_ways() {
    let cluster = TestCluster::start(3, ARGS);
    let port0 = cluster.node(0).port;
    let mut raw = cluster.node(0).raw();
    for i in 0..200 {
        assert_eq!(
            raw.call(&["SET", &format!("ae:{i}"), &format!("v{i}")]),
            "+OK\r\n"
        );
    }
    assert_eq!(raw.call(&["WAIT", "1", "10000"]), ":1\r\n");
    let ports: Vec<u16> = cluster.live().map(|n| n.port).collect();

    // `ae:1` vanishes from its replica's copy only.
    let primary_a = primary_port(port0, "ae:1");
    let replicas_a: Vec<u16> = ports
        .iter()
        .copied()
        .filter(|&p| p != primary_a)
        .filter(|&p| Raw::connect(p).call(&["DEBUG", "DROP-LOCAL", "ae:1"]) == ":1\r\n")
        .collect();
    assert_eq!(replicas_a.len(), 1, "one replica held ae:1");
    let mut replica_a = local_reader(replicas_a[0]);
    assert_eq!(
        replica_a.call(&["GET", "ae:1"]),
        "$-1\r\n",
        "the drift is real"
    );

    // `ae:2` vanishes from its primary's copy only: the replica's copy is what is left.
    let primary_b = primary_port(port0, "ae:2");
    let mut on_primary_b = Raw::connect(primary_b);
    assert_eq!(
        on_primary_b.call(&["DEBUG", "DROP-LOCAL", "ae:2"]),
        ":1\r\n"
    );
    assert_eq!(on_primary_b.call(&["GET", "ae:2"]), "$-1\r\n");
    // Gone again: nothing was left to drop.
    assert_eq!(
        on_primary_b.call(&["DEBUG", "DROP-LOCAL", "ae:2"]),
        ":0\r\n"
    );

    eventually(
        "anti-entropy to repair both copies",
        Duration::from_secs(60),
        || {
            replica_a.call(&["GET", "ae:1"]) == "$2\r\nv1\r\n"
                && on_primary_b.call(&["GET", "ae:2"]) == "$2\r\nv2\r\n"
        },
    );
    // Every node reads the repaired values, through any node.
    for &port in &ports {
        let mut through = Raw::connect(port);
        assert_eq!(through.call(&["GET", "ae:1"]), "$2\r\nv1\r\n");
        assert_eq!(through.call(&["GET", "ae:2"]), "$2\r\nv2\r\n");
    }
    assert!(total(&cluster, "shoal_anti_entropy_repaired_keys") >= 2);
    assert!(total(&cluster, "shoal_anti_entropy_slots_repaired") >= 1);
    assert!(total(&cluster, "shoal_anti_entropy_rounds") > 0);

    // Copies that agree: further rounds find nothing different (the sums of both sides are
    // the same for the same keys).
    let differing = total(&cluster, "shoal_anti_entropy_slots_differing");
    let compared = total(&cluster, "shoal_anti_entropy_compared");
    eventually("several more comparisons", Duration::from_secs(60), || {
        total(&cluster, "shoal_anti_entropy_compared") >= compared + 12
    });
    assert_eq!(
        total(&cluster, "shoal_anti_entropy_slots_differing"),
        differing,
        "copies that agree were found different"
    );
    assert!(total(&cluster, "shoal_anti_entropy_repaired_keys") <= 4);

    // Writes that cross rounds (a key changed between the primary's walk and the replica's)
    // are left out of comparisons, not repaired: under a steady write load nothing differs.
    let repaired = total(&cluster, "shoal_anti_entropy_slots_repaired");
    let compared = total(&cluster, "shoal_anti_entropy_compared");
    let mut round = 0;
    while total(&cluster, "shoal_anti_entropy_compared") < compared + 12 {
        for i in 0..200 {
            let reply = raw.call(&["SET", &format!("ae:{i}"), &format!("w{round}")]);
            assert_eq!(reply, "+OK\r\n");
        }
        round += 1;
        assert!(round < 10_000, "the comparisons stopped");
    }
    assert_eq!(
        total(&cluster, "shoal_anti_entropy_slots_differing"),
        differing,
        "writes crossing rounds were taken for drift"
    );
    assert_eq!(
        total(&cluster, "shoal_anti_entropy_slots_repaired"),
        repaired
    );
    assert!(total(&cluster, "shoal_anti_entropy_slots_skipped") > 0);
}

#[test]
fn the_directives_take_and_refuse_values_as_redis_config_does() {
    let cluster = TestCluster::start(1, &[]);
    let mut raw = cluster.node(0).raw();
    assert_eq!(
        raw.call(&["CONFIG", "GET", "cluster-anti-entropy-interval"]),
        "*2\r\n$29\r\ncluster-anti-entropy-interval\r\n$5\r\n60000\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "SET", "cluster-anti-entropy-interval", "0"]),
        "+OK\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "SET", "cluster-anti-entropy-rate", "5000"]),
        "+OK\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "GET", "cluster-anti-entropy-rate"]),
        "*2\r\n$25\r\ncluster-anti-entropy-rate\r\n$4\r\n5000\r\n"
    );
    let refused = raw.call(&["CONFIG", "SET", "cluster-anti-entropy-interval", "-1"]);
    assert!(
        refused.starts_with(
            "-ERR CONFIG SET failed (possibly related to argument 'cluster-anti-entropy-interval')"
        ),
        "{refused}"
    );
    assert_eq!(
        raw.call(&["DEBUG", "DROP-LOCAL"]),
        "-ERR unknown subcommand or wrong number of arguments for 'DROP-LOCAL'. Try DEBUG HELP.\r\n"
    );
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
}
