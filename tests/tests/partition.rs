//! Partition and heal (issue 14): three real `shoal` nodes, each on a host of its own (a
//! network namespace, see `shoal_tests::netns`). One node is cut off from the other two; both
//! sides take writes and deletes; after the cut heals, every node answers every key with the
//! newest value acknowledged on either side, and deletes stay deleted.
//!
//! Needs root, `ip` and `iptables`: skipped where they are missing, except under CI.
//! Nothing here asserts a duration: waits poll against generous deadlines.

use shoal_harness::resp::info_field;
use shoal_tests::netns::Net;
use shoal_tests::{Raw, Shoal, under_ci};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The client port of every node (each has a host of its own).
const PORT: u16 = 7000;

/// A node on host `host` of `net`, joining host 0's node unless it is that node.
fn start(net: &Net, host: usize) -> Shoal {
    let launcher = net.launcher(host);
    let launcher: Vec<&str> = launcher.iter().map(String::as_str).collect();
    let ip = net.ip(host);
    let seed = format!("{}:{}", net.ip(0), PORT + 10_000);
    let port = PORT.to_string();
    let mut args = vec![
        "--bind",
        ip.as_str(),
        "--port",
        port.as_str(),
        "--cluster-node-timeout",
        "1000",
        "--cluster-anti-entropy-interval",
        "500",
    ];
    if host != 0 {
        args.extend(["--join", seed.as_str()]);
    }
    Shoal::try_start_launched(&launcher, &args).unwrap_or_else(|e| panic!("shoal: {e}"))
}

/// A connection to the node on host `host`.
fn connect(net: &Net, host: usize) -> Raw {
    Raw::connect_to(&net.ip(host), PORT)
}

/// `CLUSTER INFO` field `name` of the node on `host`.
fn cluster_info(net: &Net, host: usize, name: &str) -> String {
    let info = connect(net, host).call(&["CLUSTER", "INFO"]);
    info_field(&info, name).unwrap_or_default().to_string()
}

/// How many members the node on `host` sees live.
fn live_seen(net: &Net, host: usize) -> usize {
    let nodes = connect(net, host).call(&["CLUSTER", "NODES"]);
    nodes
        .lines()
        .filter(|l| l.contains(":7000@"))
        .filter(|l| !l.split(' ').nth(2).unwrap_or("").contains("fail"))
        .count()
}

/// Waits until `check` holds, polling, at most `limit`.
fn wait(what: &str, limit: Duration, check: impl FnMut() -> bool) {
    wait_or(what, limit, check, Vec::new);
}

/// As [`wait`], printing `describe()` when it gives up.
fn wait_or(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> bool,
    describe: impl Fn() -> Vec<String>,
) {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < limit,
            "{what}: not within {limit:?}; {:?}",
            describe()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until every node in `hosts` sees exactly them live, serves, and all agree on the
/// topology epoch.
fn wait_agreed(net: &Net, hosts: &[usize]) {
    let states = || -> Vec<String> {
        hosts
            .iter()
            .map(|&h| {
                format!(
                    "host {h}: sees {} live, {}, {}, epoch {}",
                    live_seen(net, h),
                    cluster_info(net, h, "shoal_phase"),
                    cluster_info(net, h, "cluster_state"),
                    cluster_info(net, h, "shoal_topology_epoch")
                )
            })
            .collect()
    };
    let what = format!("hosts {hosts:?} to agree");
    wait_or(
        &what,
        Duration::from_secs(60),
        || {
            let epochs: Vec<String> = hosts
                .iter()
                .map(|&h| cluster_info(net, h, "shoal_topology_epoch"))
                .collect();
            hosts.iter().all(|&h| {
                live_seen(net, h) == hosts.len()
                    && cluster_info(net, h, "shoal_phase") == "serving"
                    && cluster_info(net, h, "cluster_state") == "ok"
            }) && epochs.windows(2).all(|w| w[0] == w[1])
        },
        states,
    );
}

/// Sends `args` through the node on `host` until it is acknowledged (a node taking over
/// slots answers `-CLUSTERDOWN`/`-TRYAGAIN` for a moment); returns the reply.
fn acknowledged(net: &Net, host: usize, args: &[&str]) -> String {
    let started = Instant::now();
    loop {
        let reply = connect(net, host).call(args);
        if !reply.starts_with("-CLUSTERDOWN") && !reply.starts_with("-TRYAGAIN") {
            return reply;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{args:?} through host {host}: {reply}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn both_sides_of_a_healed_partition_converge_on_the_newest_values() {
    let net = match Net::create(3) {
        Ok(net) => net,
        Err(why) if !under_ci() => {
            eprintln!("skipped: cannot make network namespaces here ({why})");
            return;
        }
        Err(why) => panic!("network namespaces are needed under CI: {why}"),
    };
    let nodes: Vec<Shoal> = (0..3).map(|host| start(&net, host)).collect();
    wait_agreed(&net, &[0, 1, 2]);

    let key = |i: usize| format!("p:{i}");
    for i in 0..400 {
        assert_eq!(
            acknowledged(&net, 0, &["SET", &key(i), "before"]),
            "+OK\r\n"
        );
    }
    assert_eq!(connect(&net, 0).call(&["WAIT", "1", "10000"]), ":1\r\n");

    // Host 2 is cut off; each side declares the other down and takes over its slots.
    net.cut(&[0, 1], &[2]).expect("cut");
    wait(
        "each side to see the other down",
        Duration::from_secs(60),
        || live_seen(&net, 0) == 2 && live_seen(&net, 1) == 2 && live_seen(&net, 2) == 1,
    );
    wait_agreed(&net, &[0, 1]);
    wait_agreed(&net, &[2]);

    let mut expected: HashMap<String, Option<&str>> = HashMap::new();
    for i in 0..400 {
        expected.insert(key(i), Some("before"));
    }
    // Written or deleted on one side only.
    for i in 0..100 {
        assert_eq!(
            acknowledged(&net, 0, &["SET", &key(i), "majority"]),
            "+OK\r\n"
        );
        expected.insert(key(i), Some("majority"));
    }
    for i in 100..200 {
        assert_eq!(
            acknowledged(&net, 2, &["SET", &key(i), "minority"]),
            "+OK\r\n"
        );
        expected.insert(key(i), Some("minority"));
    }
    for i in 200..250 {
        assert_eq!(acknowledged(&net, 1, &["DEL", &key(i)]), ":1\r\n");
        expected.insert(key(i), None);
    }
    // The cut-off node holds two thirds of the keys (R = 2 of 3): alone, it answers from
    // the copies it holds, so a key it lacks looks absent there and its DEL deletes nothing.
    let mut minority_deletes = 0;
    for i in 250..300 {
        match acknowledged(&net, 2, &["DEL", &key(i)]).as_str() {
            ":1\r\n" => {
                expected.insert(key(i), None);
                minority_deletes += 1;
            }
            ":0\r\n" => {}
            other => panic!("DEL {}: {other}", key(i)),
        }
    }
    assert!(
        minority_deletes > 0,
        "the cut-off node held none of the keys"
    );
    // Written on both sides: the later write wins.
    for i in 300..350 {
        assert_eq!(acknowledged(&net, 0, &["SET", &key(i), "early"]), "+OK\r\n");
    }
    for i in 300..350 {
        assert_eq!(acknowledged(&net, 2, &["SET", &key(i), "late"]), "+OK\r\n");
        expected.insert(key(i), Some("late"));
    }
    // Deleted on one side after the other side wrote it: the delete wins.
    for i in 350..400 {
        assert_eq!(
            acknowledged(&net, 2, &["SET", &key(i), "doomed"]),
            "+OK\r\n"
        );
    }
    for i in 350..400 {
        assert_eq!(acknowledged(&net, 0, &["DEL", &key(i)]), ":1\r\n");
        expected.insert(key(i), None);
    }

    net.heal().expect("heal");
    wait_agreed(&net, &[0, 1, 2]);

    let wrong = |host: usize| -> Vec<String> {
        let mut raw = connect(&net, host);
        let mut wrong = Vec::new();
        for i in 0..400 {
            let reply = raw.call(&["GET", &key(i)]);
            let want = match expected[&key(i)] {
                Some(value) => format!("${}\r\n{value}\r\n", value.len()),
                None => "$-1\r\n".to_string(),
            };
            if reply != want {
                wrong.push(format!("{}: {reply:?} (want {want:?})", key(i)));
            }
        }
        wrong
    };
    let started = Instant::now();
    loop {
        let wrong: Vec<String> = (0..3).flat_map(wrong).collect();
        if wrong.is_empty() {
            break;
        }
        if started.elapsed() >= Duration::from_secs(60) {
            for (host, node) in nodes.iter().enumerate() {
                let output = node.output.lock().map(|o| o.clone()).unwrap_or_default();
                for line in output.iter().filter(|l| !l.contains(" DEBUG ")) {
                    eprintln!("host {host}: {line}");
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "after the heal, {} reads differ from the newest acknowledged values: {:?}",
            wrong.len(),
            &wrong
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
