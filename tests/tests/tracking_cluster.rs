//! Client-side caching across the cluster (issue 15): a client tracking through one node is
//! invalidated when a key it read changes through any other node, by expiry on the key's
//! primary, in BCAST mode and through a RESP2 redirect; when the key's primary dies or a node
//! joins, the keys that moved are invalidated for their readers, and a new node sends its
//! writes to the cluster's readers. Real `shoal` processes on loopback, raw RESP connections.
//!
//! Nothing here asserts a duration: a push that never comes fails through the raw client's
//! read timeout.

use shoal_tests::{Raw, TestCluster, free_port, http_get, primary_port};
use std::collections::BTreeSet;
use std::time::Duration;

/// Reads frames until every key of `wanted` was invalidated (keys of other frames are
/// ignored); each frame must be an invalidation.
fn read_invalidations(conn: &mut Raw, wanted: &[String]) {
    let mut missing: BTreeSet<String> = wanted.iter().cloned().collect();
    while !missing.is_empty() {
        let frame = conn.read_reply();
        assert!(
            frame.starts_with(">2\r\n$10\r\ninvalidate\r\n")
                || frame.starts_with("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"),
            "not an invalidation: {frame:?} (waiting for {missing:?})"
        );
        if frame.ends_with("_\r\n") || frame.ends_with("$-1\r\n") {
            missing.clear();
        }
        for key in frame.split("\r\n") {
            missing.remove(key);
        }
    }
}

/// Sends a command on a tracking connection and returns its reply, passing over the
/// invalidation pushes that come before it (a change that crossed a read may be told after
/// the read: a spurious invalidation, harmless).
fn call(conn: &mut Raw, args: &[&str]) -> String {
    call_noting(conn, args, &mut Vec::new())
}

/// [`call`], adding the pushes passed over to `pushes`.
fn call_noting(conn: &mut Raw, args: &[&str], pushes: &mut Vec<String>) -> String {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    conn.send_command(&args);
    loop {
        let frame = conn.read_reply();
        if !frame.starts_with(">2\r\n$10\r\ninvalidate\r\n") {
            return frame;
        }
        pushes.push(frame);
    }
}

/// `count` keys `prefix<i>` whose primary is the node at `port`, as `at` sees the ring.
fn keys_on(at: u16, port: u16, prefix: &str, count: usize) -> Vec<String> {
    (0..10_000)
        .map(|i| format!("{prefix}{i}"))
        .filter(|k| primary_port(at, k) == port)
        .take(count)
        .collect()
}

#[test]
fn a_reader_on_one_node_is_invalidated_by_writes_through_the_others() {
    let cluster = TestCluster::start(3, &[]);
    cluster.wait_until_agreed(3, Duration::from_secs(60));
    let ports: Vec<u16> = (0..3).map(|i| cluster.node(i).port).collect();
    let mut reader = Raw::connect(ports[0]);
    reader.call(&["HELLO", "3"]);
    assert_eq!(reader.call(&["CLIENT", "TRACKING", "ON"]), "+OK\r\n");
    // Keys owned by each of the three nodes, read through the first.
    let mut keys = Vec::new();
    for &port in &ports {
        keys.extend(keys_on(ports[0], port, "tk:", 3));
    }
    let mut writers: Vec<Raw> = ports[1..].iter().map(|&p| Raw::connect(p)).collect();
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(writers[i % 2].call(&["SET", key, "v1"]), "+OK\r\n");
    }
    for key in &keys {
        assert_eq!(call(&mut reader, &["GET", key]), "$2\r\nv1\r\n", "{key}");
    }
    // Each write through another node reaches the reader, whoever owns the key.
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(writers[(i + 1) % 2].call(&["SET", key, "v2"]), "+OK\r\n");
        read_invalidations(&mut reader, std::slice::from_ref(key));
        assert_eq!(call(&mut reader, &["GET", key]), "$2\r\nv2\r\n", "{key}");
    }
    // Expiry on the key's primary.
    let expiring = keys_on(ports[0], ports[2], "te:", 1);
    writers[0].call(&["SET", &expiring[0], "x", "PX", "1000"]);
    assert_eq!(call(&mut reader, &["GET", &expiring[0]]), "$1\r\nx\r\n");
    read_invalidations(&mut reader, &expiring);
    // FLUSHALL through another node: a null invalidation (from each node it ran on).
    assert_eq!(writers[1].call(&["FLUSHALL"]), "+OK\r\n");
    read_invalidations(&mut reader, &["never-a-key".to_string()]);
    reader.send_command(&[b"PING"]);
    loop {
        let frame = reader.read_reply();
        if frame == "+PONG\r\n" {
            break;
        }
        assert_eq!(frame, ">2\r\n$10\r\ninvalidate\r\n_\r\n");
    }
}

#[test]
fn bcast_and_resp2_redirect_readers_hear_of_changes_anywhere() {
    let cluster = TestCluster::start(3, &[]);
    cluster.wait_until_agreed(3, Duration::from_secs(60));
    let ports: Vec<u16> = (0..3).map(|i| cluster.node(i).port).collect();
    let mut bcast = Raw::connect(ports[0]);
    bcast.call(&["HELLO", "3"]);
    assert_eq!(
        bcast.call(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:"]),
        "+OK\r\n"
    );
    // A RESP2 reader redirecting to a subscriber on the same node.
    let mut listener = Raw::connect(ports[0]);
    let listener_id = listener.call(&["CLIENT", "ID"]);
    let listener_id = listener_id[1..].trim_end().to_string();
    listener.call(&["SUBSCRIBE", "__redis__:invalidate"]);
    let mut reader = Raw::connect(ports[0]);
    assert_eq!(
        reader.call(&["CLIENT", "TRACKING", "ON", "REDIRECT", &listener_id]),
        "+OK\r\n"
    );
    let mut writer = Raw::connect(ports[1]);
    for port in &ports {
        let keys = keys_on(ports[0], *port, "user:", 2);
        for key in &keys {
            call(&mut reader, &["GET", key]);
            assert_eq!(writer.call(&["SET", key, "1"]), "+OK\r\n");
        }
        read_invalidations(&mut bcast, &keys);
        read_invalidations(&mut listener, &keys);
    }
    // Keys outside the prefix do not reach the BCAST client.
    writer.call(&["SET", "other", "1"]);
    assert_eq!(bcast.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn keys_of_a_dead_primary_are_invalidated_for_their_readers() {
    let mut cluster = TestCluster::start(3, &[]);
    cluster.wait_until_agreed(3, Duration::from_secs(60));
    let ports: Vec<u16> = (0..3).map(|i| cluster.node(i).port).collect();
    let mut reader = Raw::connect(ports[0]);
    reader.call(&["HELLO", "3"]);
    reader.call(&["CLIENT", "TRACKING", "ON"]);
    let doomed = keys_on(ports[0], ports[2], "td:", 5);
    let mut writer = Raw::connect(ports[1]);
    let mut pushes = Vec::new();
    let mut read = Vec::new();
    for key in &doomed {
        assert_eq!(writer.call(&["SET", key, "v"]), "+OK\r\n");
        let reply = call_noting(&mut reader, &["GET", key], &mut pushes);
        // A node starved long enough fences keys for a moment (`-CLUSTERDOWN`): the reader
        // then holds nothing to invalidate.
        if reply == "$1\r\nv\r\n" {
            read.push(key.clone());
        }
    }
    assert!(!read.is_empty(), "no read succeeded");
    // A write's invalidation may come after the read that followed it (harmless: the
    // reader drops what it read): that key is not tracked any more.
    let doomed: Vec<String> = read
        .into_iter()
        .filter(|k| !pushes.iter().any(|p| p.contains(&format!("\r\n{k}\r\n"))))
        .collect();
    drop(cluster.take(2));
    cluster.wait_until_agreed(2, Duration::from_secs(60));
    // Once the survivors take the dead node's slots, its keys are invalidated: a write the
    // reader could not have heard of may have happened on the new primary meanwhile.
    read_invalidations(&mut reader, &doomed);
}

#[test]
fn a_join_invalidates_moved_keys_and_the_new_node_tells_the_reader_of_its_writes() {
    let mut cluster = TestCluster::start(3, &[]);
    cluster.wait_until_agreed(3, Duration::from_secs(60));
    let first = cluster.node(0).port;
    let mut reader = Raw::connect(first);
    reader.call(&["HELLO", "3"]);
    reader.call(&["CLIENT", "TRACKING", "ON"]);
    let keys: Vec<String> = (0..60).map(|i| format!("tj:{i}")).collect();
    let mut writer = Raw::connect(cluster.node(1).port);
    let mut pushes = Vec::new();
    let mut read = Vec::new();
    for key in &keys {
        assert_eq!(writer.call(&["SET", key, "v1"]), "+OK\r\n");
        if call_noting(&mut reader, &["GET", key], &mut pushes) == "$2\r\nv1\r\n" {
            read.push(key.clone());
        }
    }
    let before: Vec<u16> = read.iter().map(|k| primary_port(first, k)).collect();
    let joined = cluster.add(&[]);
    cluster.wait_until_agreed(4, Duration::from_secs(60));
    let new_port = cluster.node(joined).port;
    // The keys that moved to the new node were invalidated for the reader (unless a late
    // write's invalidation had already done it before the join).
    let moved: Vec<String> = read
        .iter()
        .zip(&before)
        .filter(|(k, was)| primary_port(first, k) != **was)
        .map(|(k, _)| k.clone())
        .filter(|k| !pushes.iter().any(|p| p.contains(&format!("\r\n{k}\r\n"))))
        .collect();
    assert!(
        read.iter().any(|k| primary_port(first, k) == new_port),
        "no key moved to the new node"
    );
    read_invalidations(&mut reader, &moved);
    // The new node learnt that the reader's node tracks: its own writes reach the reader.
    let on_new = keys_on(first, new_port, "tn:", 3);
    let mut new_writer = Raw::connect(new_port);
    for key in &on_new {
        assert_eq!(new_writer.call(&["SET", key, "v1"]), "+OK\r\n");
        assert_eq!(call(&mut reader, &["GET", key]), "$2\r\nv1\r\n");
        assert_eq!(new_writer.call(&["SET", key, "v2"]), "+OK\r\n");
        read_invalidations(&mut reader, std::slice::from_ref(key));
        assert_eq!(call(&mut reader, &["GET", key]), "$2\r\nv2\r\n");
    }
}

/// A stream that had to drop invalidations (its queue past `repl-backlog-size` while the
/// reader's node could not take them) tells the reader's node so, even when nothing else
/// follows: the reader gets a null invalidation instead of keeping stale copies forever.
#[test]
fn invalidations_dropped_on_a_full_stream_end_in_a_flush_for_the_reader() {
    // Two nodes, no replicas: the owner's stream to the reader's node carries nothing but
    // invalidations.
    let mut cluster = TestCluster::start(
        1,
        &[
            "--cluster-replication-factor",
            "1",
            "--cluster-node-timeout",
            "10000",
        ],
    );
    let metrics_port = free_port();
    cluster.add(&["--metrics-port", &metrics_port.to_string()]);
    cluster.wait_until_agreed(2, Duration::from_secs(60));
    let (reader_port, owner_port) = (cluster.node(0).port, cluster.node(1).port);
    // Long keys, so that their invalidations fill the socket buffers quickly.
    let filler = "x".repeat(64 * 1024);
    let keys: Vec<String> = keys_on(reader_port, owner_port, "tq:", 256)
        .into_iter()
        .map(|k| format!("{k}{{{k}}}{filler}"))
        .collect();
    let mut reader = Raw::connect(reader_port);
    reader.call(&["HELLO", "3"]);
    assert_eq!(reader.call(&["CLIENT", "TRACKING", "ON"]), "+OK\r\n");
    for key in &keys {
        assert_eq!(call(&mut reader, &["GET", key]), "_\r\n");
    }
    let mut writer = Raw::connect(owner_port);
    assert_eq!(
        writer.call(&["CONFIG", "SET", "repl-backlog-size", "1"]),
        "+OK\r\n"
    );
    // The reader's node stops reading: the owner's stream fills, then drops.
    cluster.node(0).signal("STOP");
    for key in &keys {
        assert_eq!(writer.call(&["SET", key, "v"]), "+OK\r\n");
    }
    cluster.node(0).signal("CONT");
    read_invalidations(&mut reader, &keys);
    // The stream did drop messages (else this test proved nothing).
    let metrics = http_get(metrics_port, "/metrics");
    let dropped: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("shoal_peer_stream_messages_dropped_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the dropped-messages counter");
    assert!(dropped > 0.0, "no message was dropped");
}

/// A tracking client that writes a key owned by another node gets the invalidation of its
/// own copy with the write's reply: a client cache (redis-py's) then never serves its own
/// write's old value. The primary's invalidation comes later, over the stream;
/// the node that forwarded the write invalidates at once.
#[test]
fn a_tracking_writer_is_invalidated_before_its_next_reply() {
    let cluster = TestCluster::start(3, &[]);
    cluster.wait_until_agreed(3, Duration::from_secs(60));
    let ports: Vec<u16> = (0..3).map(|i| cluster.node(i).port).collect();
    let mut client = Raw::connect(ports[0]);
    client.call(&["HELLO", "3"]);
    assert_eq!(client.call(&["CLIENT", "TRACKING", "ON"]), "+OK\r\n");
    let mut keys = keys_on(ports[0], ports[1], "tw:", 10);
    keys.extend(keys_on(ports[0], ports[2], "tw:", 10));
    for (round, key) in keys.iter().enumerate() {
        call(&mut client, &["GET", key]);
        let value = format!("v{round}");
        let mut pushes = Vec::new();
        assert_eq!(
            call_noting(&mut client, &["SET", key, &value], &mut pushes),
            "+OK\r\n"
        );
        // Before the reply, or in the same delivery: what redis-py checks before it serves
        // its next read from its cache.
        let invalidation = format!("\r\n{key}\r\n");
        assert!(
            pushes.iter().any(|p| p.contains(&invalidation))
                || client.buffered().contains(&invalidation),
            "{key}: the reply came without the invalidation: {pushes:?}"
        );
        assert_eq!(
            call_noting(&mut client, &["PING"], &mut pushes),
            "+PONG\r\n"
        );
        // Read again: the fresh value (and tracked again for the next round).
        assert_eq!(
            call(&mut client, &["GET", key]),
            format!("${}\r\n{value}\r\n", value.len())
        );
    }
}
