//! Pub/Sub end to end: replies and errors compared byte for byte with a live redis-server 7,
//! RESP3 pushes, slow subscribers cut off by client-output-buffer-limit, and messages across
//! the nodes of a cluster (in order, once each), sharded channels in proxy and redirect mode,
//! and keyspace events from active expiry and eviction.

use shoal_tests::{Raw, RedisServer, Shoal, TestCluster, free_port};
use std::time::{Duration, Instant};

/// Runs `script` (lines of space-separated arguments) on one connection of `port` and returns
/// every reply, raw. A line starting with `>` is sent by a second connection (a publisher)
/// and its reply is not recorded; `_` runs a command whose reply is not compared (`HELLO`);
/// `!` sends without reading a reply (`CLIENT REPLY OFF`);
/// `=ms` pauses; `~n` reads n more replies on the first connection.
fn run(port: u16, script: &[&str]) -> Vec<String> {
    let mut client = Raw::connect(port);
    let mut other = Raw::connect(port);
    let mut replies = Vec::new();
    for line in script {
        if let Some(rest) = line.strip_prefix('>') {
            let args: Vec<&str> = rest.split(' ').collect();
            other.call(&args);
        } else if let Some(ms) = line.strip_prefix('=') {
            std::thread::sleep(Duration::from_millis(ms.parse().expect("ms")));
        } else if let Some(rest) = line.strip_prefix('_') {
            let args: Vec<&str> = rest.split(' ').collect();
            client.call(&args);
        } else if let Some(rest) = line.strip_prefix('!') {
            let args: Vec<&[u8]> = rest.split(' ').map(str::as_bytes).collect();
            client.send_command(&args);
        } else if let Some(n) = line.strip_prefix('~') {
            for _ in 0..n.parse::<usize>().expect("a count") {
                replies.push(client.read_reply());
            }
        } else {
            let args: Vec<&str> = line.split(' ').collect();
            let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            client.send_command(&argv);
            // (un)subscribing to several names answers once per name.
            let names = args.len().saturating_sub(1).max(1);
            let verb = args[0].to_ascii_lowercase();
            let count = if verb.ends_with("subscribe") {
                names
            } else {
                1
            };
            for _ in 0..count {
                replies.push(client.read_reply());
            }
        }
    }
    replies
}

fn same_as_redis(script: &[&str]) {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let shoal = Shoal::start();
    let expected = run(redis.port, script);
    let got = run(shoal.port, script);
    if std::env::var("PUBSUB_DEBUG").is_ok() {
        println!("redis: {expected:#?}\nshoal: {got:#?}");
    }
    for (i, (e, g)) in expected.iter().zip(&got).enumerate() {
        assert_eq!(g, e, "reply {i} differs (script {script:?})");
    }
    assert_eq!(got.len(), expected.len());
}

#[test]
fn subscribed_mode_replies_and_errors_are_redis_s() {
    same_as_redis(&[
        "SUBSCRIBE news",
        "SUBSCRIBE chat news",
        "GET x",
        "SET x 1",
        "PING",
        "PING hi",
        "PSUBSCRIBE n*",
        ">PUBLISH news hello",
        "~2",
        ">PUBLISH nope hello",
        "~1",
        "PUNSUBSCRIBE n*",
        "UNSUBSCRIBE news",
        "UNSUBSCRIBE chat",
        "UNSUBSCRIBE",
        "PUNSUBSCRIBE",
        "GET x",
        "SSUBSCRIBE shard",
        "SPUBLISH shard x",
        ">SPUBLISH shard from-other",
        "~1",
        "SUNSUBSCRIBE shard",
        "SUNSUBSCRIBE",
        "PUBLISH news nobody",
        "SUBSCRIBE",
        "PUBSUB",
        "PUBSUB NUMPAT extra",
        "PUBSUB FOO",
    ]);
}

#[test]
fn introspection_matches_redis() {
    same_as_redis(&[
        "SUBSCRIBE a b",
        "PSUBSCRIBE p* q*",
        "SSUBSCRIBE s1",
        "RESET",
        "SUBSCRIBE news",
        ">SUBSCRIBE news",
        "RESET",
        "PUBSUB NUMSUB news nope",
        "PUBSUB NUMPAT",
        "PUBSUB CHANNELS",
        "PUBSUB SHARDCHANNELS",
        "PUBSUB SHARDNUMSUB s1",
    ]);
}

#[test]
fn resp3_subscribers_get_pushes_and_may_run_any_command() {
    same_as_redis(&[
        "_HELLO 3",
        "SUBSCRIBE news",
        "GET x",
        "PING",
        ">PUBLISH news hello",
        "~1",
        "PSUBSCRIBE n*",
        ">PUBLISH news again",
        "~2",
        "!CLIENT REPLY OFF",
        "=100",
        ">PUBLISH news silent",
        "=100",
        "CLIENT REPLY ON",
        ">PUBLISH news heard",
        "~1",
        "UNSUBSCRIBE",
        "PUNSUBSCRIBE",
    ]);
}

#[test]
fn client_list_info_and_pubsub_counts_follow_subscriptions() {
    let node = Shoal::start();
    let mut subscriber = node.raw();
    subscriber.call(&["SUBSCRIBE", "a"]);
    subscriber.send(b"PSUBSCRIBE p*\r\nSSUBSCRIBE s\r\n");
    subscriber.read_reply();
    subscriber.read_reply();
    let mut raw = node.raw();
    let list = raw.call(&["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains("cmd=ssubscribe"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains(" flags=P "), "{line}");
    assert!(line.contains(" sub=1 psub=1 ssub=1 "), "{line}");
    let info = raw.call(&["INFO", "stats"]);
    for field in [
        "pubsub_channels:1",
        "pubsub_patterns:1",
        "pubsubshard_channels:1",
    ] {
        assert!(info.contains(field), "{field} in {info}");
    }
    drop(subscriber);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !raw.call(&["INFO", "stats"]).contains("pubsub_channels:0") {
        assert!(
            Instant::now() < deadline,
            "a closed subscriber leaves every channel"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(raw.call(&["PUBSUB", "NUMPAT"]), ":0\r\n");
}

#[test]
fn a_subscriber_that_stops_reading_is_cut_off_and_memory_stays_bounded() {
    let metrics_port = free_port();
    let node = Shoal::start_with(&[
        "--client-output-buffer-limit",
        "pubsub 1mb 256kb 2",
        "--metrics-port",
        &metrics_port.to_string(),
    ]);
    let mut info = node.raw();
    let used = |raw: &mut Raw| -> u64 {
        let text = raw.call(&["INFO", "memory"]);
        text.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("used_memory")
    };
    // A subscriber with a tiny socket buffer that never reads.
    let stream = std::net::TcpStream::connect(("127.0.0.1", node.port)).expect("connect");
    let socket = socket2::SockRef::from(&stream);
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let mut lazy = Raw::from_stream(stream);
    lazy.call(&["SUBSCRIBE", "firehose"]);
    let before = used(&mut info);
    let mut publisher = node.raw();
    let payload = "x".repeat(16 * 1024);
    let mut received = Vec::new();
    let started = Instant::now();
    // 64 MB published: far past the hard limit.
    for _ in 0..4096 {
        received.push(publisher.call(&["PUBLISH", "firehose", &payload]));
    }
    assert_eq!(received.first().map(String::as_str), Some(":1\r\n"));
    assert_eq!(
        received.last().map(String::as_str),
        Some(":0\r\n"),
        "the subscriber is gone by the end"
    );
    let after = used(&mut info);
    println!(
        "used_memory before {before}, after 64 MB published: {after} ({:?})",
        started.elapsed()
    );
    assert!(
        after < before + 16 * 1024 * 1024,
        "memory stayed bounded: {before} -> {after}"
    );
    // The node closed it (the test's tiny receive buffer would take long to drain what the
    // kernel still holds, so the node's client list is what tells).
    let deadline = Instant::now() + Duration::from_secs(10);
    while info.call(&["CLIENT", "LIST"]).contains("cmd=subscribe") {
        assert!(
            Instant::now() < deadline,
            "the slow subscriber was disconnected"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = info.call(&["INFO", "stats"]);
    assert!(
        stats.contains("client_output_buffer_limit_disconnections:1\r\n"),
        "{stats}"
    );
    drop(lazy);
    // Prometheus counts it.
    let scrape = shoal_tests::http_get(metrics_port, "/metrics");
    assert!(
        scrape
            .contains("shoal_client_output_buffer_limit_disconnections_total{class=\"pubsub\"} 1"),
        "{scrape}"
    );
    // Other clients were unaffected.
    assert_eq!(info.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn client_output_buffer_limit_is_configured_with_redis_syntax() {
    same_as_redis(&[
        "CONFIG GET client-output-buffer-limit",
        "CONFIG SET client-output-buffer-limit pubsub 1mb 512kb 10",
        "CONFIG GET client-output-buffer-limit",
        "CONFIG SET client-output-buffer-limit pubsub 1mb",
        "CONFIG SET client-output-buffer-limit bogus 1 1 1",
        "CONFIG SET client-output-buffer-limit pubsub x 1 1",
        "CONFIG GET notify-keyspace-events",
        "CONFIG SET notify-keyspace-events KEA",
        "CONFIG GET notify-keyspace-events",
        "CONFIG SET notify-keyspace-events Z",
        "CONFIG SET notify-keyspace-events g$lshzxetdmn",
        "CONFIG GET notify-keyspace-events",
    ]);
}

/// Reads `n` published messages from a subscriber as payloads.
fn payloads(subscriber: &mut Raw, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let reply = subscriber.read_reply();
            let parts: Vec<&str> = reply.split("\r\n").collect();
            // *3 $7 message $n channel $n payload (or smessage)
            parts.get(6).map(|p| p.to_string()).unwrap_or(reply)
        })
        .collect()
}

#[test]
fn messages_cross_the_cluster_once_each_and_in_order() {
    let cluster = TestCluster::start(3, &[]);
    let mut subscriber = cluster.node(0).raw();
    assert!(
        subscriber
            .call(&["SUBSCRIBE", "news"])
            .contains("subscribe")
    );
    let mut publisher = cluster.node(2).raw();
    let count = 10_000;
    let mut batch = Vec::new();
    for i in 0..count {
        batch.extend(shoal_tests::encode_command(&[
            b"PUBLISH",
            b"news",
            format!("m{i}").as_bytes(),
        ]));
    }
    publisher.send(&batch);
    for _ in 0..count {
        // Node 2 has no subscriber of its own: each PUBLISH answers 0.
        assert_eq!(publisher.read_reply(), ":0\r\n");
    }
    let got = payloads(&mut subscriber, count);
    let expected: Vec<String> = (0..count).map(|i| format!("m{i}")).collect();
    assert!(got == expected, "out of order or missing");
    // Nothing more arrives: each message came once.
    subscriber.send_command(&[b"PING"]);
    let next = subscriber.read_reply();
    assert!(next.contains("pong"), "an extra message: {next}");
}

#[test]
fn sharded_channels_work_through_any_node_and_redirect_as_redis_cluster() {
    let mut cluster = TestCluster::start(3, &[]);
    // A shard channel owned by node 1.
    let channel = (0..10_000)
        .map(|i| format!("orders:{i}"))
        .find(|c| {
            let port = shoal_tests::primary_port(cluster.node(0).port, c);
            port == cluster.node(1).port
        })
        .expect("a channel owned by node 1");
    // Subscribed through node 0, published through node 2.
    let mut subscriber = cluster.node(0).raw();
    assert!(
        subscriber
            .call(&["SSUBSCRIBE", &channel])
            .contains("ssubscribe")
    );
    let mut publisher = cluster.node(2).raw();
    assert_eq!(publisher.call(&["SPUBLISH", &channel, "hello"]), ":0\r\n");
    let reply = subscriber.read_reply();
    assert!(
        reply.contains("smessage") && reply.contains("hello"),
        "{reply}"
    );
    // In redirect mode, Redis Cluster's answer.
    let index = cluster.add(&["--cluster-mode", "redirect"]);
    cluster.wait_until_agreed(4, Duration::from_secs(30));
    let node = cluster.node(index);
    let elsewhere = (0..10_000)
        .map(|i| format!("ch:{i}"))
        .find(|c| shoal_tests::primary_port(node.port, c) != node.port)
        .expect("a channel owned elsewhere");
    let reply = node.raw().call(&["SSUBSCRIBE", &elsewhere]);
    assert!(reply.starts_with("-MOVED "), "{reply}");
}

#[test]
fn expired_and_evicted_keys_notify_from_the_active_cycle_and_eviction() {
    let node = Shoal::start_with(&["--notify-keyspace-events", "Exe"]);
    let mut subscriber = node.raw();
    subscriber.call(&["PSUBSCRIBE", "__keyevent@0__:*"]);
    let mut client = node.raw();
    assert_eq!(client.call(&["SET", "short", "v", "PX", "50"]), "+OK\r\n");
    // Nobody reads it: the active cycle reclaims it and says so.
    let reply = subscriber.read_reply();
    assert!(
        reply.contains("__keyevent@0__:expired") && reply.contains("short"),
        "{reply}"
    );
    // Eviction: fill past a small maxmemory.
    client.call(&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]);
    let used: u64 = client
        .call(&["INFO", "memory"])
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory");
    client.call(&[
        "CONFIG",
        "SET",
        "maxmemory",
        &(used + 2_000_000).to_string(),
    ]);
    let value = "v".repeat(1000);
    for i in 0..10_000 {
        client.call(&["SET", &format!("fill:{i}"), &value]);
    }
    let reply = subscriber.read_reply();
    assert!(reply.contains("__keyevent@0__:evicted"), "{reply}");
}
