//! HyperLogLog commands end to end: PFADD PFCOUNT PFMERGE, the cached estimate in the header,
//! sparse and dense strings, invalid and corrupted values, estimates for large sets, and
//! byte-for-byte agreement with a reference redis-server 7.0.15 (when one is installed):
//! the same commands give the same strings, and a HyperLogLog copied from one server to the
//! other keeps working.

use redis::Commands;
use shoal_tests::{Raw, RedisServer, Shoal, expect, expect_all};

const NOT_HLL: &str = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
const CORRUPTED: &str = "-INVALIDOBJ Corrupted HLL object detected\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
/// Length of a dense HyperLogLog string.
const DENSE_SIZE: usize = 16 + 16384 * 6 / 8;

/// An empty sparse HyperLogLog as Redis writes it, with the given cached-estimate bytes.
fn empty_hll(card: [u8; 8]) -> Vec<u8> {
    let mut s = b"HYLL\x01\0\0\0".to_vec();
    s.extend_from_slice(&card);
    s.extend_from_slice(&[0x7f, 0xff]);
    s
}

/// The bytes stored at `key`, if any.
fn bytes(conn: &mut redis::Connection, key: &str) -> Option<Vec<u8>> {
    conn.get(key).expect("GET")
}

fn set(conn: &mut redis::Connection, key: &str, value: &[u8]) {
    let _: () = conn.set(key, value).expect("SET");
}

fn pfcount(conn: &mut redis::Connection, keys: &[&str]) -> i64 {
    redis::cmd("PFCOUNT")
        .arg(keys)
        .query(conn)
        .expect("PFCOUNT")
}

/// Adds `element:{from}`..`element:{to}` to `key`, a thousand per PFADD, pipelined.
fn add_range(conn: &mut redis::Connection, key: &str, from: u64, to: u64) {
    let mut pipe = redis::pipe();
    let mut start = from;
    while start < to {
        let end = (start + 1000).min(to);
        let elements: Vec<String> = (start..end).map(|i| format!("element:{i}")).collect();
        pipe.cmd("PFADD").arg(key).arg(elements).ignore();
        start = end;
    }
    let _: () = pipe.query(conn).expect("PFADD pipeline");
}

/// Sends a command whose arguments may hold raw bytes and returns the raw reply.
fn call(raw: &mut Raw, args: &[&[u8]]) -> String {
    raw.send_command(args);
    raw.read_reply()
}

#[test]
fn pfadd_answers_1_only_when_a_register_grows() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            // Creating the key counts as a change, even with no element.
            ("PFADD h", ":1\r\n"),
            ("PFADD h", ":0\r\n"),
            ("PFCOUNT h", ":0\r\n"),
            ("PFADD h a b c", ":1\r\n"),
            ("PFADD h a", ":0\r\n"),
            ("PFADD h c b a", ":0\r\n"),
            ("PFADD h a d", ":1\r\n"),
            ("PFCOUNT h", ":4\r\n"),
            ("TYPE h", "+string\r\n"),
            (
                "PFADD",
                "-ERR wrong number of arguments for 'pfadd' command\r\n",
            ),
        ],
    );
    // The empty string is an element like any other.
    assert_eq!(call(&mut raw, &[b"PFADD", b"e", b""]), ":1\r\n");
    assert_eq!(call(&mut raw, &[b"PFCOUNT", b"e"]), ":1\r\n");
}

#[test]
fn a_new_hyperloglog_is_redis_s_empty_sparse_string() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let _: i64 = conn.pfadd("h", &[] as &[&str]).expect("PFADD");
    // A new key's cached estimate is marked stale...
    assert_eq!(
        bytes(&mut conn, "h"),
        Some(empty_hll([0, 0, 0, 0, 0, 0, 0, 0x80]))
    );
    assert_eq!(pfcount(&mut conn, &["h"]), 0);
    // ...until PFCOUNT stores it.
    assert_eq!(bytes(&mut conn, "h"), Some(empty_hll([0; 8])));
    let _: () = redis::cmd("PFMERGE")
        .arg("m")
        .query(&mut conn)
        .expect("PFMERGE");
    assert_eq!(
        bytes(&mut conn, "m"),
        Some(empty_hll([0, 0, 0, 0, 0, 0, 0, 0x80]))
    );
}

#[test]
fn pfcount_caches_its_estimate_in_the_header() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("PFADD h a b c", ":1\r\n"),
            ("GETRANGE h 15 15", "$1\r\n\u{fffd}\r\n"),
            ("PFCOUNT h", ":3\r\n"),
            ("GETRANGE h 8 15", "$8\r\n\u{3}\0\0\0\0\0\0\0\r\n"),
            // No register grew: the cache stays valid.
            ("PFADD h a b c", ":0\r\n"),
            ("GETRANGE h 15 15", "$1\r\n\0\r\n"),
            ("PFADD h 1 2 3", ":1\r\n"),
            ("GETRANGE h 15 15", "$1\r\n\u{fffd}\r\n"),
            ("PFCOUNT h", ":6\r\n"),
        ],
    );
    // A valid cache is answered as it is, without looking at the registers.
    let mut conn = node.conn();
    set(&mut conn, "c", &empty_hll([5, 0, 0, 0, 0, 0, 0, 0]));
    assert_eq!(pfcount(&mut conn, &["c"]), 5);
    let _: i64 = conn.pfadd("c", "a").expect("PFADD");
    assert_eq!(pfcount(&mut conn, &["c"]), 1);
}

#[test]
fn pfcount_of_several_keys_estimates_the_union_and_changes_nothing() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let _: i64 = conn.pfadd("a", &["1", "2", "3"]).expect("PFADD");
    let _: i64 = conn.pfadd("b", &["3", "4", "5", "6"]).expect("PFADD");
    let (before_a, before_b) = (bytes(&mut conn, "a"), bytes(&mut conn, "b"));
    assert_eq!(pfcount(&mut conn, &["a", "b"]), 6);
    assert_eq!(pfcount(&mut conn, &["a", "b", "missing"]), 6);
    assert_eq!(pfcount(&mut conn, &["a", "a"]), 3);
    assert_eq!(pfcount(&mut conn, &["missing", "other"]), 0);
    // Not even the cached estimates are written.
    assert_eq!(bytes(&mut conn, "a"), before_a);
    assert_eq!(bytes(&mut conn, "b"), before_b);
    assert!(!conn.exists::<_, bool>("missing").expect("EXISTS"));
}

#[test]
fn pfmerge_stores_the_union_including_the_destination() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let mut raw = node.raw();
    let _: i64 = conn.pfadd("a", &["1", "2", "3"]).expect("PFADD");
    let _: i64 = conn.pfadd("b", &["3", "4"]).expect("PFADD");
    let _: i64 = conn.pfadd("d", &["x", "y"]).expect("PFADD");
    expect_all(
        &mut raw,
        &[
            ("EXPIRE d 100", ":1\r\n"),
            ("PFMERGE d a b missing", "+OK\r\n"),
            ("PFCOUNT d", ":6\r\n"),
            // The destination keeps its expiry.
            ("PERSIST d", ":1\r\n"),
            ("PFMERGE new a", "+OK\r\n"),
            ("PFCOUNT new", ":3\r\n"),
            ("PFMERGE a", "+OK\r\n"),
            ("PFCOUNT a", ":3\r\n"),
            ("PFMERGE empty missing", "+OK\r\n"),
            ("PFCOUNT empty", ":0\r\n"),
            ("EXISTS missing", ":0\r\n"),
        ],
    );
    // Same registers as its only source.
    let registers = |s: Option<Vec<u8>>| s.map(|s| s[16..].to_vec());
    assert_eq!(
        registers(bytes(&mut conn, "new")),
        registers(bytes(&mut conn, "a"))
    );
}

#[test]
fn strings_that_are_not_hyperloglogs_are_refused() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let mut dense_too_short = b"HYLL\0\0\0\0\0\0\0\0\0\0\0\0".to_vec();
    dense_too_short.resize(DENSE_SIZE - 1, 0);
    let mut bad_encoding = empty_hll([0; 8]);
    bad_encoding[4] = 2;
    let mut bad_magic = empty_hll([0; 8]);
    bad_magic[3] = b'X';
    let cases: [(&str, &[u8]); 5] = [
        ("text", b"hello world, this is not a HyperLogLog"),
        ("header", b"HYLL"),
        ("dense", &dense_too_short),
        ("encoding", &bad_encoding),
        ("magic", &bad_magic),
    ];
    let mut raw = node.raw();
    let _: i64 = conn.pfadd("ok", "x").expect("PFADD");
    for (key, value) in cases {
        set(&mut conn, key, value);
        for command in [
            format!("PFADD {key} a"),
            format!("PFADD {key}"),
            format!("PFCOUNT {key}"),
            format!("PFCOUNT ok {key}"),
            format!("PFMERGE {key} ok"),
            format!("PFMERGE ok {key}"),
            format!("PFMERGE dest ok {key}"),
        ] {
            expect(&mut raw, &command, NOT_HLL);
        }
        assert_eq!(bytes(&mut conn, key).as_deref(), Some(value), "{key}");
    }
    expect(&mut raw, "EXISTS dest", ":0\r\n");
}

#[test]
fn other_types_are_refused_with_the_usual_wrongtype() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let made = ["RPUSH l a", "HSET l f v", "SADD l m", "ZADD l 1 m"]
        .iter()
        .any(|command| {
            let args: Vec<&str> = command.split(' ').collect();
            raw.call(&args) == ":1\r\n"
        });
    if !made {
        println!("no collection type is available yet: skipping the WRONGTYPE checks");
        return;
    }
    for command in [
        "PFADD l a",
        "PFCOUNT l",
        "PFCOUNT missing l",
        "PFMERGE l",
        "PFMERGE d l",
    ] {
        expect(&mut raw, command, WRONGTYPE);
    }
    expect(&mut raw, "EXISTS d", ":0\r\n");
}

#[test]
fn corrupted_register_data_is_detected() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let mut raw = node.raw();
    // Sparse runs covering 16383 registers instead of 16384.
    let mut short = empty_hll([0, 0, 0, 0, 0, 0, 0, 0x80]);
    short[17] = 0xfe;
    set(&mut conn, "short", &short);
    expect_all(
        &mut raw,
        &[
            ("PFCOUNT short", CORRUPTED),
            ("PFCOUNT ok short", CORRUPTED),
            ("PFMERGE dest short", CORRUPTED),
            ("EXISTS dest", ":0\r\n"),
            // Adding still works where the runs reach, as in Redis.
            ("PFADD short a", ":1\r\n"),
            ("PFCOUNT short", CORRUPTED),
        ],
    );
    // Bytes after the last run.
    let _: i64 = conn.pfadd("long", &["a", "b", "c"]).expect("PFADD");
    let _: i64 = conn.append("long", "hello").expect("APPEND");
    expect_all(
        &mut raw,
        &[
            ("PFCOUNT long", CORRUPTED),
            ("PFCOUNT long ok", CORRUPTED),
            ("PFMERGE long", CORRUPTED),
        ],
    );
    // A stale-looking cache is not trusted, a valid one is.
    let mut cached = short.clone();
    cached[15] = 0;
    cached[8] = 7;
    set(&mut conn, "cached", &cached);
    expect(&mut raw, "PFCOUNT cached", ":7\r\n");
}

#[test]
fn random_bytes_never_bring_the_server_down() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let mut raw = node.raw();
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let _: i64 = conn
        .pfadd("base", &["a", "b", "c", "d", "e"])
        .expect("PFADD");
    let base = bytes(&mut conn, "base").expect("base");
    for round in 0..500 {
        let mut value = base.clone();
        let at = 16 + (next() as usize) % (value.len() - 16);
        value[at] = next() as u8;
        if round % 3 == 0 {
            value.push(next() as u8);
        }
        set(&mut conn, "fuzz", &value);
        for command in [
            "PFADD fuzz x y z",
            "PFCOUNT fuzz",
            "PFCOUNT fuzz base",
            "PFMERGE fuzz base",
        ] {
            let args: Vec<&str> = command.split(' ').collect();
            let reply = raw.call(&args);
            assert!(
                reply.starts_with(':') || reply == "+OK\r\n" || reply == CORRUPTED,
                "{command}: {reply:?}"
            );
        }
    }
    expect(&mut raw, "PING", "+PONG\r\n");
}

#[test]
fn commands_on_a_hyperloglog_leave_it_raw() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let mut raw = node.raw();
    for (key, command) in [("x", "PFADD x"), ("y", "PFCOUNT y"), ("z", "PFMERGE z")] {
        set(&mut conn, key, &empty_hll([0; 8]));
        expect(
            &mut raw,
            &format!("OBJECT ENCODING {key}"),
            "$6\r\nembstr\r\n",
        );
        let args: Vec<&str> = command.split(' ').collect();
        assert!(!raw.call(&args).starts_with('-'), "{command}");
        expect(&mut raw, &format!("OBJECT ENCODING {key}"), "$3\r\nraw\r\n");
    }
}

#[test]
fn a_sparse_hyperloglog_turns_dense_before_passing_3000_bytes() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let mut last_sparse = 0;
    for i in 0..5000u32 {
        let _: i64 = conn.pfadd("h", format!("element:{i}")).expect("PFADD");
        let len: usize = conn.strlen("h").expect("STRLEN");
        if len == DENSE_SIZE {
            assert!(
                last_sparse > 2900 && last_sparse <= 3000,
                "sparse up to {last_sparse} bytes"
            );
            let estimate = pfcount(&mut conn, &["h"]) as f64;
            assert!((estimate - f64::from(i + 1)).abs() / f64::from(i + 1) < 0.05);
            return;
        }
        last_sparse = len;
    }
    panic!("still sparse after 5000 elements ({last_sparse} bytes)");
}

#[test]
fn estimates_stay_within_a_few_percent_of_the_true_count() {
    let node = Shoal::start();
    let mut conn = node.conn();
    for (key, target) in [("k1", 1_000u64), ("k100", 100_000), ("k1m", 1_000_000)] {
        add_range(&mut conn, key, 0, target);
        let estimate = pfcount(&mut conn, &[key]);
        let error = (estimate as f64 - target as f64) / target as f64;
        println!(
            "{target} distinct elements: estimate {estimate}, error {:+.3}%",
            error * 100.0
        );
        // The standard error is 0.81%: allow four of them.
        assert!(error.abs() < 0.033, "{target}: {estimate}");
    }
    // The union of all three is the largest one, as its elements include the others'.
    let union = pfcount(&mut conn, &["k1", "k100", "k1m"]);
    assert_eq!(union, pfcount(&mut conn, &["k1m"]));
}

/// Runs `command` (split on spaces) on both servers and checks the replies are equal.
#[track_caller]
fn same(ours: &mut Raw, theirs: &mut Raw, command: &str) -> String {
    let args: Vec<&str> = command.split(' ').collect();
    let reply = ours.call(&args);
    assert_eq!(reply, theirs.call(&args), "{command}");
    reply
}

#[test]
fn hyperloglogs_are_byte_identical_to_the_reference_server() {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let node = Shoal::start();
    let (mut a, mut b) = (node.conn(), redis.conn());
    let (mut ours, mut theirs) = (node.raw(), redis.raw());
    // One element at a time through the sparse encoding, its promotion and the dense one.
    for i in 0..4000u32 {
        let command = format!("PFADD grow element:{i} other:{}", i * 7);
        same(&mut ours, &mut theirs, &command);
        if i % 7 == 0 {
            same(&mut ours, &mut theirs, "PFCOUNT grow");
        }
        if i < 1500 || i % 50 == 0 {
            assert_eq!(bytes(&mut a, "grow"), bytes(&mut b, "grow"), "after {i}");
        }
    }
    assert_eq!(bytes(&mut a, "grow").map(|s| s.len()), Some(DENSE_SIZE));
    // Merges into sparse and dense destinations, from sparse and dense sources.
    for command in [
        "PFADD s1 a b c d e f g",
        "PFADD s2 e f g h i j",
        "PFMERGE m1 s1 s2",
        "PFMERGE m2 s1 grow",
        "PFMERGE s2 s1",
        "PFMERGE grow s1 s2",
        "PFCOUNT m1",
        "PFCOUNT m2",
        "PFCOUNT s1 s2 grow",
        "PFCOUNT grow",
    ] {
        same(&mut ours, &mut theirs, command);
    }
    for key in ["grow", "s1", "s2", "m1", "m2"] {
        assert_eq!(bytes(&mut a, key), bytes(&mut b, key), "GET {key}");
    }
    // Estimates agree at every size.
    for (i, target) in [10u64, 200, 3_000, 20_000, 150_000].into_iter().enumerate() {
        let key = format!("size{i}");
        add_range(&mut a, &key, 0, target);
        add_range(&mut b, &key, 0, target);
        assert_eq!(
            pfcount(&mut a, &[&key]),
            pfcount(&mut b, &[&key]),
            "{target}"
        );
        assert_eq!(bytes(&mut a, &key), bytes(&mut b, &key), "{target}");
    }
    same(
        &mut ours,
        &mut theirs,
        "PFCOUNT size0 size1 size2 size3 size4 grow",
    );
}

#[test]
fn hyperloglogs_copy_between_redis_and_shoal() {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.conn(), redis.conn());
    for (key, size) in [("sparse", 300u64), ("dense", 50_000)] {
        // Made by Redis, used here.
        add_range(&mut theirs, key, 0, size);
        let made = bytes(&mut theirs, key).expect("made by redis");
        set(&mut ours, key, &made);
        assert_eq!(
            pfcount(&mut ours, &[key]),
            pfcount(&mut theirs, &[key]),
            "{key}"
        );
        add_range(&mut ours, key, size, size + 100);
        add_range(&mut theirs, key, size, size + 100);
        assert_eq!(bytes(&mut ours, key), bytes(&mut theirs, key), "{key}");
        // Made here, used by Redis.
        let copy = format!("{key}-copy");
        add_range(&mut ours, &copy, 1_000_000, 1_000_000 + size);
        let made = bytes(&mut ours, &copy).expect("made by shoal");
        set(&mut theirs, &copy, &made);
        assert_eq!(
            pfcount(&mut theirs, &[&copy]),
            pfcount(&mut ours, &[&copy]),
            "{copy}"
        );
        let _: () = redis::cmd("PFMERGE")
            .arg(&copy)
            .arg(key)
            .query(&mut theirs)
            .expect("PFMERGE");
        let _: () = redis::cmd("PFMERGE")
            .arg(&copy)
            .arg(key)
            .query(&mut ours)
            .expect("PFMERGE");
        assert_eq!(bytes(&mut ours, &copy), bytes(&mut theirs, &copy), "{copy}");
        assert_eq!(
            pfcount(&mut theirs, &[&copy]),
            pfcount(&mut ours, &[&copy]),
            "{copy}"
        );
    }
}

#[test]
fn random_hyperloglog_commands_match_the_reference_server() {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.raw(), redis.raw());
    let (mut a, mut b) = (node.conn(), redis.conn());
    let mut seed = 0xfeed_beefu64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let keys = ["p", "q", "r", "none"];
    for round in 0..1500 {
        let key = keys[next(3) as usize];
        let command = match next(6) {
            0..=2 => {
                let elements: Vec<String> = (0..next(40)).map(|_| next(5000).to_string()).collect();
                format!("PFADD {key} {}", elements.join(" "))
                    .trim_end()
                    .to_string()
            }
            3 => format!("PFCOUNT {key}"),
            4 => format!("PFCOUNT {key} {}", keys[next(4) as usize]),
            _ => format!("PFMERGE {key} {}", keys[next(4) as usize]),
        };
        same(&mut ours, &mut theirs, &command);
        if round % 50 == 49 {
            for key in &keys[..3] {
                assert_eq!(
                    bytes(&mut a, key),
                    bytes(&mut b, key),
                    "round {round}: {key}"
                );
            }
        }
    }
}

/// `COMMAND INFO` fields that do not depend on Redis 7.2's reshaping: name, arity, flags,
/// key positions and ACL categories.
fn info_head(conn: &mut redis::Connection, name: &str) -> Vec<redis::Value> {
    let reply: redis::Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg(name)
        .query(conn)
        .expect("COMMAND INFO");
    let redis::Value::Array(mut commands) = reply else {
        panic!("COMMAND INFO {name}: {reply:?}");
    };
    let Some(redis::Value::Array(fields)) = commands.pop() else {
        panic!("COMMAND INFO {name}: no entry");
    };
    fields.into_iter().take(7).collect()
}

#[test]
fn command_info_matches_the_reference_server() {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.conn(), redis.conn());
    for name in ["pfadd", "pfmerge"] {
        assert_eq!(
            info_head(&mut ours, name),
            info_head(&mut theirs, name),
            "{name}"
        );
    }
    // Redis also flags PFCOUNT `may_replicate`, which a node without replication lacks.
    let (our_count, their_count) = (
        info_head(&mut ours, "pfcount"),
        info_head(&mut theirs, "pfcount"),
    );
    assert_eq!(our_count[..2], their_count[..2]);
    assert_eq!(our_count[3..], their_count[3..]);
}

#[test]
fn command_docs_have_the_reference_argument_structure() {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.conn(), redis.conn());
    for name in ["pfadd", "pfcount", "pfmerge"] {
        assert_eq!(
            shoal_tests::command_docs(&mut ours, name),
            shoal_tests::command_docs(&mut theirs, name),
            "{name}"
        );
    }
}
