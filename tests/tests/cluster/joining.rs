//! Joining: the cluster secret (a node with another secret never joins; its packets are
//! counted), seeds that do not answer, and seeds that all name the node itself.

use super::*;

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

/// The value of one series (name with its labels, as printed) on a node's `/metrics`.
fn metric(metrics_port: u16, series: &str) -> f64 {
    let body = scrape(metrics_port);
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn a_node_with_the_wrong_secret_cannot_join_and_its_packets_are_counted() {
    let cluster = TestCluster::start(2, &["--cluster-secret", "right"]);
    let metrics_port = free_port();
    let seed = cluster.seed().expect("seed");
    // Restart node 0's peer view: node 1 reports its drops on its metrics port.
    let intruder = Shoal::start_with(&["--cluster-secret", "wrong", "--join", &seed]);
    let watcher = cluster.try_join(&["--metrics-port", &metrics_port.to_string()]);
    let watcher = watcher.expect("a node with the right secret joins");
    let mut members: Vec<String> = cluster.live().map(|n| n.node_id.clone()).collect();
    members.push(watcher.node_id.clone());
    members.sort();
    // The right node gets in; the intruder keeps trying (it announces every join retry).
    let deadline = Instant::now() + PATIENCE;
    while TestCluster::live_ids_seen_by(watcher.port) != members {
        assert!(Instant::now() < deadline, "the right secret joins");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Give the intruder several join rounds (and its client-port guess) to fail.
    std::thread::sleep(Duration::from_secs(3));
    for node in cluster.live().chain([&watcher]) {
        assert_eq!(TestCluster::live_ids_seen_by(node.port), members);
    }
    assert_eq!(
        TestCluster::live_ids_seen_by(intruder.port),
        vec![intruder.node_id.clone()],
        "the intruder stays alone"
    );
    let intruder_info = cluster_text(&intruder, "INFO");
    assert_eq!(info_field(&intruder_info, "cluster_known_nodes"), "1");
    // Not a silent cluster of its own: it reports the failure, refuses keys, says why in its
    // log, and the seed says who it refused.
    assert_eq!(info_field(&intruder_info, "cluster_state"), "fail");
    let mut intruder_raw = intruder.raw();
    assert_eq!(
        intruder_raw.call(&["SET", "k", "v"]),
        "-CLUSTERDOWN The cluster is down\r\n"
    );
    assert_eq!(intruder_raw.call(&["PING"]), "+PONG\r\n");
    assert!(
        wait_for_line(
            &intruder,
            "NOT JOINED: the seed refused our packets as unauthenticated"
        ),
        "the intruder says why it is not joined: {:?}",
        intruder.output.lock().expect("output")
    );
    assert!(
        wait_for_line(
            cluster.node(0),
            "refused gossip packets not authenticated with this cluster's secret"
        ),
        "the seed warns about the refused packets"
    );

    // The members drop what the intruder sends; the watcher's Prometheus page shows it once
    // the intruder announces to it too (it only knows the seed, so point it at the watcher).
    let mut raw = intruder.raw();
    let meet = raw.call(&[
        "CLUSTER",
        "MEET",
        "127.0.0.1",
        &watcher.port.to_string(),
        &watcher.cluster_port.to_string(),
    ]);
    assert_eq!(meet, "+OK\r\n");
    let series = "shoal_cluster_gossip_packets_dropped_total{reason=\"unauthenticated\"}";
    let deadline = Instant::now() + PATIENCE;
    while metric(metrics_port, series) < 1.0 {
        assert!(Instant::now() < deadline, "drops are counted");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        metric(metrics_port, "shoal_cluster_members{state=\"alive\"}"),
        3.0
    );
    assert!(metric(metrics_port, "shoal_cluster_gossip_packets_received_total") > 0.0);
    assert!(metric(metrics_port, "shoal_cluster_gossip_packets_sent_total") > 0.0);
    assert!(metric(metrics_port, "shoal_cluster_slots{role=\"primary\"}") > 0.0);
    assert!(metric(metrics_port, "shoal_cluster_slots{role=\"replica\"}") > 0.0);
    assert!(metric(metrics_port, "shoal_cluster_membership_changes_total") >= 2.0);
    assert!(metric(metrics_port, "shoal_cluster_topology_epoch") > 0.0);
}

#[test]
fn a_node_whose_seed_does_not_answer_refuses_keys_until_it_joins() {
    let seed = Shoal::start();
    // A port nobody listens on (a typo in --join).
    let wrong = format!("127.0.0.1:{}", free_port());
    let lost = Shoal::start_with(&["--join", &wrong]);
    let mut raw = lost.raw();
    assert_eq!(
        raw.call(&["SET", "k", "v"]),
        "-CLUSTERDOWN The cluster is down\r\n"
    );
    assert_eq!(
        raw.call(&["GET", "k"]),
        "-CLUSTERDOWN The cluster is down\r\n"
    );
    assert_eq!(raw.call(&["DBSIZE"]), ":0\r\n");
    assert_eq!(
        info_field(&cluster_text(&lost, "INFO"), "cluster_state"),
        "fail"
    );
    assert!(
        wait_for_line(&lost, "NOT JOINED: no answer from any seed"),
        "it says so: {:?}",
        lost.output.lock().expect("output")
    );
    // Pointed at a live member, it joins and serves.
    let meet = raw.call(&[
        "CLUSTER",
        "MEET",
        "127.0.0.1",
        &seed.port.to_string(),
        &seed.cluster_port.to_string(),
    ]);
    assert_eq!(meet, "+OK\r\n");
    // It joins warming, then serves once it has its slots' data and the others agree.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let info = cluster_text(&lost, "INFO");
        if info_field(&info, "cluster_state") == "ok"
            && info_field(&info, "shoal_phase") == "serving"
        {
            break;
        }
        assert!(Instant::now() < deadline, "it joins after CLUSTER MEET");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(raw.call(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(seed.raw().call(&["GET", "k"]), "$1\r\nv\r\n");
}

#[test]
fn a_node_whose_seeds_all_name_itself_starts_a_new_cluster() {
    let port = free_port();
    let node = Shoal::start_with(&[
        "--port",
        &port.to_string(),
        "--join",
        &format!("127.0.0.1:{port}"),
    ]);
    let deadline = Instant::now() + PATIENCE;
    while info_field(&cluster_text(&node, "INFO"), "cluster_state") != "ok" {
        assert!(Instant::now() < deadline, "a self-seeded node serves");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(node.raw().call(&["SET", "k", "v"]), "+OK\r\n");
}
