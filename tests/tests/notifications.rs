//! Keyspace notifications compared with a live redis-server 7: the same script of writing
//! commands runs against both, a subscriber on `__key*__:*` records what each publishes, and
//! the two recordings must be equal, message for message and in order. Then the
//! notifications of keys owned by other nodes of a cluster reach a subscriber on any node.

use shoal_tests::{Raw, RedisServer, Shoal, TestCluster};
use std::time::{Duration, Instant};

/// Every writing command group, with the edge cases where Redis emits nothing, `del` after an
/// emptied collection, `new`, `expired`, `keymiss`...
const SCRIPT: &[&str] = &[
    // Strings.
    "SET s1 v",
    "SET s1 v2 EX 100",
    "SET s1 v3 KEEPTTL",
    "SET s1 v4 NX",
    "SET s1 v5 XX GET",
    "SETNX s1 x",
    "SETNX s2 x",
    "SETEX s3 100 v",
    "PSETEX s4 100000 v",
    "MSET m1 1 m2 2",
    "MSETNX m3 1 m4 2",
    "MSETNX m3 1 m5 1",
    "GETSET s1 new",
    "GETDEL s2",
    "GETDEL nokey",
    "GETEX s1 EX 100",
    "GETEX s1 PERSIST",
    "GETEX s1",
    "GETEX s3 PXAT 1",
    "INCR n",
    "INCRBY n 5",
    "DECR n",
    "DECRBY n 2",
    "INCRBYFLOAT f 1.5",
    "APPEND a x",
    "APPEND a y",
    "SETRANGE r 5 x",
    "SETRANGE r2 0 \"\"",
    "SETRANGE a 0 \"\"",
    "SETRANGE a 1 z",
    "GET nokey",
    "STRLEN nokey",
    // Keys.
    "DEL m1 nokey",
    "UNLINK m2",
    "EXISTS m3 nokey",
    "RENAME s1 rn1",
    "RENAME rn1 m3",
    "RENAMENX m3 m4",
    "RENAMENX m3 rnx",
    "MOVE rnx 1",
    "MOVE nokey 1",
    "COPY s4 cp",
    "COPY s4 cp",
    "COPY s4 cp REPLACE",
    "COPY s4 cp1 DB 2",
    "EXPIRE cp 100",
    "EXPIRE cp 100 NX",
    "PEXPIRE cp 100000",
    "EXPIRE nokey 100",
    "EXPIREAT cp 1",
    "PERSIST s4",
    "PERSIST s4",
    "TOUCH s4 nokey",
    "TYPE nokey",
    // Lists.
    "LPUSH l a b",
    "RPUSH l c",
    "LPUSHX l z",
    "LPUSHX nol z",
    "RPUSHX l y",
    "LINSERT l BEFORE c d",
    "LINSERT l BEFORE nope d",
    "LSET l 0 q",
    "LREM l 0 nope",
    "LREM l 1 d",
    "LTRIM l 0 3",
    "LTRIM l 0 -1",
    "LPOP l",
    "RPOP l 2",
    "LMOVE l l2 LEFT RIGHT",
    "RPOPLPUSH l2 l",
    "LMOVE l l LEFT LEFT",
    "LMPOP 1 l LEFT",
    "LPUSH l a b c",
    "LMPOP 2 nope l RIGHT COUNT 5",
    "LPUSH bl x",
    "BLPOP bl 1",
    "RPUSH l3 a b",
    "BLMOVE l3 l4 RIGHT LEFT 1",
    "BRPOPLPUSH l3 l4 1",
    "LTRIM l4 5 10",
    "LRANGE nokey 0 -1",
    // Sets.
    "SADD s a b c",
    "SADD s a",
    "SREM s a nope",
    "SMOVE s s2 b",
    "SMOVE s s2 nope",
    "SPOP s",
    "SADD t 1 2 3",
    "SPOP t 3",
    "SADD u 1",
    "SADD v 2",
    "SINTERSTORE dst u v",
    "SUNIONSTORE dst u v",
    "SINTERSTORE dst u v",
    "SDIFFSTORE dst u v",
    "SDIFFSTORE dst u u",
    "SMEMBERS nokey",
    // Sorted sets.
    "ZADD z 1 a 2 b",
    "ZADD z XX 3 a",
    "ZADD z NX 1 a",
    "ZADD z 3 a",
    "ZADD z INCR 1 a",
    "ZINCRBY z 1 b",
    "ZREM z nope",
    "ZREM z a",
    "ZADD z 1 x 2 y 3 w",
    "ZREMRANGEBYRANK z 0 0",
    "ZREMRANGEBYSCORE z 2 2",
    "ZREMRANGEBYLEX z (z +",
    "ZPOPMIN z",
    "ZPOPMAX z",
    "ZADD z2 1 a 2 b",
    "ZUNIONSTORE zu 2 z2 nope",
    "ZINTERSTORE zi 2 z2 nope",
    "ZINTERSTORE zu 2 z2 nope",
    "ZDIFFSTORE zd 1 z2",
    "ZRANGESTORE zr z2 0 -1",
    "ZRANGESTORE zr z2 5 10",
    "ZMPOP 1 z2 MIN",
    "BZPOPMAX z2 1",
    "ZADD z3 1 a",
    "BZMPOP 1 1 z3 MAX",
    "ZSCORE nokey a",
    // Hashes.
    "HSET h a 1 b 2",
    "HSET h a 1",
    "HSETNX h a 1",
    "HSETNX h c 3",
    "HMSET h d 4",
    "HINCRBY h n 1",
    "HINCRBYFLOAT h f 1.5",
    "HDEL h nope",
    "HDEL h a b c d n f",
    "HGET nokey a",
    // Streams.
    "XADD x 1-1 a 1",
    "XADD x MAXLEN 1 2-1 b 2",
    "XADD x 3-1 c 3",
    "XDEL x 3-1",
    "XDEL x 9-9",
    "XTRIM x MAXLEN 0",
    "XTRIM x MAXLEN 0",
    // Bitmaps and HyperLogLogs.
    "SETBIT b 7 1",
    "SETBIT b 7 1",
    "BITFIELD b SET u8 0 1",
    "BITFIELD b GET u8 0",
    "BITOP OR bo b nope",
    "BITOP AND bo nope nope2",
    "PFADD p a",
    "PFADD p a",
    "PFMERGE pm p",
    "PFCOUNT p",
];

/// Splits a script line into arguments (`""` is an empty argument).
fn args(line: &str) -> Vec<String> {
    line.split(' ')
        .map(|a| {
            if a == "\"\"" {
                String::new()
            } else {
                a.to_string()
            }
        })
        .collect()
}

/// Reads push messages from `subscriber` until the marker message, as `channel message` lines.
fn recorded(subscriber: &mut Raw) -> Vec<String> {
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "no marker; got {lines:?}");
        let reply = subscriber.read_reply();
        let parts: Vec<&str> = reply.split("\r\n").collect();
        // *4 $8 pmessage $n pattern $n channel $n payload  /  *3 $7 message $n channel $n payload
        match parts.get(2).copied() {
            Some("pmessage") => lines.push(format!("{} {}", parts[6], parts[8])),
            Some("message") if parts.get(4) == Some(&"marker") => return lines,
            _ => {}
        }
    }
}

/// Runs the script against the server on `port` (FLUSHALL first) and returns what a
/// subscriber to every keyspace channel heard.
fn notifications_of(port: u16, flags: &str) -> Vec<String> {
    let mut client = Raw::connect(port);
    assert_eq!(client.call(&["FLUSHALL"]), "+OK\r\n");
    assert_eq!(
        client.call(&["CONFIG", "SET", "notify-keyspace-events", flags]),
        "+OK\r\n"
    );
    let mut subscriber = Raw::connect(port);
    subscriber.call(&["PSUBSCRIBE", "__key*__:*"]);
    subscriber.call(&["SUBSCRIBE", "marker"]);
    for line in SCRIPT {
        let owned = args(line);
        let argv: Vec<&str> = owned.iter().map(String::as_str).collect();
        client.call(&argv);
    }
    // A key expiring lazily, found by a read.
    client.call(&["SET", "short", "v", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(20));
    client.call(&["GET", "short"]);
    client.call(&["PUBLISH", "marker", "end"]);
    let heard = recorded(&mut subscriber);
    client.call(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    heard
}

/// A line diff of two recordings (longest common subsequence): `-` lines only Redis sent,
/// `+` lines only Shoal sent, each with the last line both sent before it.
fn diff(expected: &[String], got: &[String]) -> String {
    let (n, m) = (expected.len(), got.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == got[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    let mut last_same = String::new();
    while i < n || j < m {
        if i < n && j < m && expected[i] == got[j] {
            last_same = expected[i].clone();
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+ {}    (after: {last_same})\n", got[j]));
            j += 1;
        } else {
            out.push_str(&format!("- {}    (after: {last_same})\n", expected[i]));
            i += 1;
        }
    }
    out
}

fn compare(flags: &str) {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let shoal = Shoal::start();
    let expected = notifications_of(redis.port, flags);
    let got = notifications_of(shoal.port, flags);
    if expected != got {
        panic!(
            "notifications differ from Redis's (- Redis only, + Shoal only):\n{}",
            diff(&expected, &got)
        );
    }
    assert!(
        expected.len() > 100,
        "the script notifies: {}",
        expected.len()
    );
}

#[test]
fn every_writing_command_notifies_as_redis_does() {
    compare("KEA");
}

#[test]
fn new_keys_and_key_misses_notify_as_redis_does() {
    compare("KEnm");
}

#[test]
fn keyspace_events_of_every_node_reach_a_subscriber_on_any_node() {
    let cluster = TestCluster::start(3, &["--notify-keyspace-events", "KEA"]);
    let mut subscriber = cluster.node(0).raw();
    subscriber.call(&["PSUBSCRIBE", "__keyspace@0__:*"]);
    subscriber.call(&["SUBSCRIBE", "marker"]);
    // Keys written through node 2; most are owned by nodes 1 and 2.
    let mut writer = cluster.node(2).raw();
    for i in 0..100 {
        let key = format!("key:{i}");
        assert_eq!(writer.call(&["SET", &key, "v"]), "+OK\r\n");
        assert_eq!(writer.call(&["DEL", &key]), ":1\r\n");
    }
    // The marker goes through node 2 too: published after every write, it arrives after
    // their events from node 2's own keys (one stream), but events of keys owned by node 1
    // come on node 1's stream, so wait for all of them.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut heard: Vec<String> = Vec::new();
    while heard.len() < 200 {
        assert!(
            Instant::now() < deadline,
            "heard {} of 200: {heard:?}",
            heard.len()
        );
        let reply = subscriber.read_reply();
        let parts: Vec<&str> = reply.split("\r\n").collect();
        if parts.get(2) == Some(&"pmessage") {
            heard.push(format!("{} {}", parts[6], parts[8]));
        }
    }
    // Each key's events in the order the key changed.
    for i in 0..100 {
        let key = format!("__keyspace@0__:key:{i}");
        let events: Vec<&str> = heard
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("{key} ")))
            .collect();
        assert_eq!(events, vec!["set", "del"], "{key}");
    }
}
