//! The tools around a cluster: `shoal --dev-cluster N` (starts N joined nodes, survives a
//! killed one, stops them together) and `redis-benchmark --cluster`.

use super::*;

/// Whether TCP and UDP `port` are free on loopback.
fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
        && std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
}

/// The pid a node reports in `INFO server`.
fn process_id(port: u16) -> u32 {
    let info = redis_cli(port, &["INFO", "server"]);
    info_field(&info, "process_id").trim().parse().expect("pid")
}

#[test]
fn dev_cluster_starts_n_joined_nodes_survives_a_killed_one_and_stops_them_together() {
    // Three consecutive client ports whose buses (+10000) are free too.
    let base = (0..200)
        .map(|i| 21000 + (std::process::id() as u16 % 100) * 40 + i * 3)
        .find(|&p| (0..3).all(|i| port_is_free(p + i) && port_is_free(p + i + 10000)))
        .expect("free ports");
    // The user's own --port and --hz: the parent sets ports per node, passes the rest once.
    let mut parent = Shoal::start_with(&[
        "--dev-cluster",
        "3",
        "--port",
        &base.to_string(),
        "--hz",
        "20",
    ]);
    let deadline = Instant::now() + PATIENCE;
    let mut agreed = false;
    while Instant::now() < deadline && !agreed {
        agreed = (0..3).all(|i| {
            try_cluster_command(base + i, "INFO")
                .is_ok_and(|info| info.contains("cluster_known_nodes:3\r\n"))
        });
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(agreed, "the 3 nodes found each other");

    // One config epoch per incarnation, even for nodes started together.
    let nodes = parse_nodes(&try_cluster_command(base, "NODES").expect("nodes"));
    let epochs: BTreeSet<String> = try_cluster_command(base, "NODES")
        .expect("nodes")
        .lines()
        .map(|l| l.split(' ').nth(6).unwrap_or_default().to_string())
        .collect();
    assert_eq!((nodes.len(), epochs.len()), (3, 3), "{epochs:?}");

    // Each child's command line names every setting once.
    let pids: Vec<u32> = (0..3).map(|i| process_id(base + i)).collect();
    for pid in &pids {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .filter(|a| a.starts_with(b"--"))
            .map(|a| String::from_utf8_lossy(a).to_string())
            .collect();
        let distinct: BTreeSet<&String> = args.iter().collect();
        assert_eq!(distinct.len(), args.len(), "duplicated flags: {args:?}");
        assert!(args.contains(&"--hz".to_string()), "{args:?}");
    }

    // Killing one node (to try failover) leaves the others running; the parent reports it.
    let status = std::process::Command::new("kill")
        .args(["-9", &pids[1].to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(
        wait_for_line(&parent, "node-2 (port"),
        "the parent reports the exit"
    );
    assert!(parent.is_running(), "the parent keeps running");
    let deadline = Instant::now() + PATIENCE;
    // Both survivors see it gone and serve (a take-over fences keys for a moment).
    let settled = |port: u16| {
        try_cluster_command(port, "INFO")
            .is_ok_and(|i| i.contains("cluster_size:2\r\n") && i.contains("cluster_state:ok\r\n"))
    };
    while !(settled(base) && settled(base + 2)) {
        assert!(Instant::now() < deadline, "the survivors see the node go");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Right after a failover a write may still be answered retryably: retry those.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let reply = redis_cli(base + 2, &["SET", "after", "kill"]);
        let reply = reply.trim();
        if reply == "OK" {
            break;
        }
        assert!(
            reply.starts_with("TRYAGAIN") || reply.starts_with("CLUSTERDOWN"),
            "{reply}"
        );
        assert!(Instant::now() < deadline, "{reply}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The other survivor serves it too. Right after the kill a survivor may be fenced
    // (`-CLUSTERDOWN`, retryable) or, if the other had briefly declared it down too (SWIM
    // with one helper gone), answer from its old view until it hears so (issue 20 measures
    // that window): what must hold is that it answers the write once both settle.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = redis_cli(base, &["GET", "after"]);
        if got.trim() == "kill" {
            break;
        }
        assert!(Instant::now() < deadline, "GET after: {got:?}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Every log line says which node wrote it.
    let output = parent.output.lock().expect("output").clone();
    let node_lines: Vec<&String> = output.iter().filter(|l| l.contains(" INFO ")).collect();
    assert!(!node_lines.is_empty());
    assert!(
        node_lines.iter().all(|l| l.starts_with("node-")),
        "{node_lines:?}"
    );

    parent.signal("TERM");
    let exited = parent.wait_exit(PATIENCE).is_some();
    let deadline = Instant::now() + PATIENCE;
    while (0..3).any(|i| !port_is_free(base + i)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(exited, "the parent exits on SIGTERM");
    assert!((0..3).all(|i| port_is_free(base + i)), "every node stopped");
}

#[test]
fn redis_benchmark_in_cluster_mode_runs_without_errors() {
    let cluster = TestCluster::start(3, &[]);
    let node = cluster.node(0);
    let out = std::process::Command::new("redis-benchmark")
        .args(["--cluster", "-p", &node.port.to_string()])
        .args(["-t", "set,get", "-n", "3000", "-q"])
        .output()
        .expect("redis-benchmark is installed (apt-get install redis-tools)");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Cluster has 3 master nodes"), "{text}");
    assert!(!text.to_ascii_lowercase().contains("error"), "{text}");
    // It wrote one key per master, each through the node that owns it.
    for node in cluster.live() {
        let mut conn = node.conn();
        let keys: i64 = redis::cmd("DBSIZE").query(&mut conn).expect("dbsize");
        assert!(keys >= 1, "node {} has no key", node.port);
        let errors: String = redis::cmd("INFO")
            .arg("errorstats")
            .query(&mut conn)
            .expect("info");
        assert!(!errors.contains("MOVED"), "{errors}");
    }
}
