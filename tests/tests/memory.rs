//! maxmemory: each eviction policy evicts the keys Redis's would, `noeviction` refuses writes
//! with Redis's OOM error and loses nothing, the limit changes at runtime, and the memory
//! commands and INFO fields report what happened.

use shoal_tests::Shoal;
use std::time::{Duration, Instant};

fn q<T: redis::FromRedisValue>(conn: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(conn).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// The error text of a command expected to fail.
fn error(conn: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<redis::Value>(conn) {
        Ok(v) => panic!("{args:?} succeeded: {v:?}"),
        Err(e) => redis_error_text(&e),
    }
}

/// An error as the server wrote it: code and message.
fn redis_error_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

fn info_field(conn: &mut redis::Connection, section: &str, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg(section).query(conn).expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
        .to_string()
}

fn used_memory(conn: &mut redis::Connection) -> u64 {
    info_field(conn, "memory", "used_memory")
        .parse()
        .expect("used_memory")
}

fn evicted(conn: &mut redis::Connection) -> u64 {
    info_field(conn, "stats", "evicted_keys")
        .parse()
        .expect("evicted_keys")
}

/// Writes `count` keys `{prefix}:{i}` with values of `size` bytes (optionally with a TTL in
/// seconds), pipelined; returns the replies that were errors.
fn fill(
    conn: &mut redis::Connection,
    prefix: &str,
    count: usize,
    size: usize,
    ttl: Option<u64>,
) -> Vec<String> {
    let value = "v".repeat(size);
    let mut errors = Vec::new();
    for chunk in (0..count).collect::<Vec<_>>().chunks(100) {
        let mut pipe = redis::pipe();
        for i in chunk {
            let cmd = pipe.cmd("SET").arg(format!("{prefix}:{i}")).arg(&value);
            if let Some(seconds) = ttl {
                cmd.arg("EX").arg(seconds);
            }
        }
        let replies: Vec<redis::Value> = pipe.ignore_errors().query(conn).expect("pipeline");
        for reply in replies {
            if let redis::Value::ServerError(e) = reply {
                errors.push(format!("{} {}", e.code(), e.details().unwrap_or_default()));
            }
        }
    }
    errors
}

/// How many of `{prefix}:{0..count}` still exist.
fn surviving(conn: &mut redis::Connection, prefix: &str, count: usize) -> usize {
    let keys: Vec<String> = (0..count).map(|i| format!("{prefix}:{i}")).collect();
    keys.chunks(500)
        .map(|chunk| {
            let mut cmd = redis::cmd("EXISTS");
            for key in chunk {
                cmd.arg(key);
            }
            cmd.query::<usize>(conn).expect("exists")
        })
        .sum()
}

/// A node with `policy` whose limit is `headroom` bytes above what it uses now.
fn node_with_headroom(policy: &str, headroom: u64) -> (Shoal, redis::Connection, u64) {
    let node = Shoal::start_with(&["--maxmemory-policy", policy]);
    let mut c = node.conn();
    let limit = used_memory(&mut c) + headroom;
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    (node, c, limit)
}

/// Polls until memory is back under `limit` and eviction has stopped (it finishes in the
/// background); returns the memory used then.
fn wait_under(conn: &mut redis::Connection, limit: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last_evicted = evicted(conn);
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let used = used_memory(conn);
        let now_evicted = evicted(conn);
        if (used <= limit && now_evicted == last_evicted) || Instant::now() > deadline {
            return used;
        }
        last_evicted = now_evicted;
    }
}

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
const MB: u64 = 1024 * 1024;

#[test]
fn maxmemory_settings_come_from_flags_files_and_config_set_with_redis_errors() {
    let dir = std::env::temp_dir().join(format!("shoal-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("shoal.conf");
    std::fs::write(&file, "maxmemory 64mb\nmaxmemory-policy allkeys-lfu\n").expect("conf");
    let node = Shoal::start_with(&[
        "--config",
        file.to_str().expect("path"),
        "--maxmemory-samples",
        "10",
    ]);
    let mut c = node.conn();
    let get = |c: &mut redis::Connection, name: &str| -> String {
        let pair: Vec<String> = q(c, &["CONFIG", "GET", name]);
        pair[1].clone()
    };
    assert_eq!(get(&mut c, "maxmemory"), (64 * MB).to_string());
    assert_eq!(get(&mut c, "maxmemory-policy"), "allkeys-lfu");
    assert_eq!(get(&mut c, "maxmemory-samples"), "10");
    assert_eq!(
        info_field(&mut c, "memory", "maxmemory"),
        (64 * MB).to_string()
    );
    assert_eq!(info_field(&mut c, "memory", "maxmemory_human"), "64.00M");
    assert_eq!(
        info_field(&mut c, "memory", "maxmemory_policy"),
        "allkeys-lfu"
    );

    let _: () = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            "1gb",
            "maxmemory-policy",
            "VOLATILE-TTL",
        ],
    );
    assert_eq!(get(&mut c, "maxmemory"), (1024 * MB).to_string());
    assert_eq!(get(&mut c, "maxmemory-policy"), "volatile-ttl");
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "100k"]);
    assert_eq!(get(&mut c, "maxmemory"), "100000");

    for bad in ["garbage", "-1", "12xb", ""] {
        assert_eq!(
            error(&mut c, &["CONFIG", "SET", "maxmemory", bad]),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value",
            "maxmemory {bad:?}"
        );
    }
    assert_eq!(
        error(&mut c, &["CONFIG", "SET", "maxmemory-policy", "lru"]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"
    );
    assert_eq!(
        error(&mut c, &["CONFIG", "SET", "maxmemory-samples", "0"]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 64 inclusive"
    );
    assert_eq!(
        error(&mut c, &["CONFIG", "SET", "lfu-log-factor", "-1"]),
        "ERR CONFIG SET failed (possibly related to argument 'lfu-log-factor') - argument must be between 0 and 2147483647 inclusive"
    );
    // A refused CONFIG SET changes nothing, even the valid parts of it.
    assert!(
        error(
            &mut c,
            &["CONFIG", "SET", "maxmemory", "5mb", "lfu-decay-time", "x"]
        )
        .contains("lfu-decay-time")
    );
    assert_eq!(get(&mut c, "maxmemory"), "100000");
    assert_eq!(get(&mut c, "lfu-decay-time"), "1");
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    let _: () = q(&mut c, &["SET", "still", "works"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn noeviction_refuses_growing_writes_with_oom_and_keeps_every_key() {
    let (node, mut c, limit) = node_with_headroom("noeviction", 2 * MB);
    let _: () = q(&mut c, &["SET", "victim", "old"]);
    let errors = fill(&mut c, "k", 4_000, 1_000, None);
    assert!(!errors.is_empty(), "4 MB of values fit in 2 MB of headroom");
    assert!(errors.iter().all(|e| e == OOM), "{:?}", &errors[..1]);
    let stored = 4_000 - errors.len();
    assert_eq!(surviving(&mut c, "k", 4_000), stored, "no key was evicted");
    assert_eq!(evicted(&mut c), 0);

    // A value bigger than the limit is refused and the old one stays.
    let huge = "x".repeat(3 * MB as usize);
    let refused = redis::cmd("SET")
        .arg("victim")
        .arg(&huge)
        .query::<()>(&mut c)
        .expect_err("a 3 MB value over a 2 MB headroom");
    assert_eq!(redis_error_text(&refused), OOM);
    assert_eq!(q::<String>(&mut c, &["GET", "victim"]), "old");

    // Reads and deletions keep working; every growing write is refused.
    assert_eq!(q::<String>(&mut c, &["GET", "k:0"]).len(), 1_000);
    assert_eq!(error(&mut c, &["LPUSH", "list", "a"]), OOM);
    assert_eq!(error(&mut c, &["HSET", "h", "f", "v"]), OOM);
    assert_eq!(error(&mut c, &["APPEND", "victim", "more"]), OOM);

    // Inside MULTI a refusal fails the transaction, as in Redis.
    let mut raw = node.raw();
    shoal_tests::expect(&mut raw, "MULTI", "+OK\r\n");
    shoal_tests::expect(&mut raw, "SET a b", &format!("-{OOM}\r\n"));
    // Any queued command is refused while memory is full, as in Redis.
    shoal_tests::expect(&mut raw, "GET a", &format!("-{OOM}\r\n"));
    shoal_tests::expect(
        &mut raw,
        "EXEC",
        "-EXECABORT Transaction discarded because of previous errors.\r\n",
    );

    // Freeing memory makes room again.
    let deleted: usize = (0..stored)
        .collect::<Vec<_>>()
        .chunks(500)
        .map(|chunk| {
            let mut cmd = redis::cmd("DEL");
            for i in chunk {
                cmd.arg(format!("k:{i}"));
            }
            cmd.query::<usize>(&mut c).expect("del")
        })
        .sum();
    assert_eq!(deleted, stored);
    assert!(wait_under(&mut c, limit) <= limit);
    let _: () = q(&mut c, &["SET", "victim", "new"]);
    assert_eq!(q::<String>(&mut c, &["GET", "victim"]), "new");
}

#[test]
fn exec_is_refused_when_memory_filled_up_after_a_growing_command_was_queued() {
    let node = Shoal::start();
    let mut c = node.conn();
    let mut raw = node.raw();
    shoal_tests::expect(&mut raw, "MULTI", "+OK\r\n");
    shoal_tests::expect(&mut raw, "SET a b", "+QUEUED\r\n");
    shoal_tests::expect(&mut raw, "GET a", "+QUEUED\r\n");
    // Another client lowers the limit under what is in use.
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "1"]);
    shoal_tests::expect(
        &mut raw,
        "EXEC",
        &format!("-EXECABORT Transaction discarded because of: {OOM}\r\n"),
    );
    // The transaction is gone and nothing of it ran.
    shoal_tests::expect(&mut raw, "EXEC", "-ERR EXEC without MULTI\r\n");
    // Reads still work outside a transaction, and a transaction of reads runs once there
    // is room.
    shoal_tests::expect(&mut raw, "GET a", "$-1\r\n");
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    shoal_tests::expect(&mut raw, "MULTI", "+OK\r\n");
    shoal_tests::expect(&mut raw, "GET a", "+QUEUED\r\n");
    shoal_tests::expect(&mut raw, "EXEC", "*1\r\n$-1\r\n");
}

#[test]
fn allkeys_lru_evicts_the_keys_read_longest_ago() {
    let (_node, mut c, limit) = node_with_headroom("allkeys-lru", 4 * MB);
    // About 2.6 MB of old keys, then a tenth of them read again.
    assert!(fill(&mut c, "old", 2_500, 1_000, None).is_empty());
    std::thread::sleep(Duration::from_millis(50));
    // Only keys still there can be read again (eviction may have begun while filling).
    let read_again: Vec<String> = (0..2_500)
        .step_by(10)
        .map(|i| format!("old:{i}"))
        .filter(|key| q::<Option<String>>(&mut c, &["GET", key]).is_some())
        .collect();
    let old_before = surviving(&mut c, "old", 2_500);
    let evicted_before = evicted(&mut c) as usize;
    std::thread::sleep(Duration::from_millis(50));
    // 2 MB of new keys: unread old keys must make room (sampled LRU, like Redis's, is
    // exact only while such keys are common enough to show up in samples).
    assert!(
        fill(&mut c, "new", 2_000, 1_000, None).is_empty(),
        "LRU never refuses"
    );
    assert!(wait_under(&mut c, limit) <= limit);
    let mut exists = redis::cmd("EXISTS");
    for key in &read_again {
        exists.arg(key);
    }
    let hot = read_again.len();
    let hot_left: usize = exists.query(&mut c).expect("exists");
    let old_left = surviving(&mut c, "old", 2_500);
    let new_left = surviving(&mut c, "new", 2_000);
    let unread_evicted = (old_before - hot) - (old_left - hot_left);
    // Counted from the keys that are gone (the INFO counter may have moved on by a key or
    // two since, as memory hovers at the limit).
    let total_evicted = (hot - hot_left) + unread_evicted + (2_000 - new_left);
    assert!(evicted(&mut c) as usize - evicted_before >= total_evicted);
    assert!(total_evicted >= 300, "evicted {total_evicted}");
    assert!(
        hot_left * 100 >= hot * 98,
        "{hot_left} of {hot} recently read keys survived"
    );
    assert!(new_left >= 1_950, "{new_left} of 2000 new keys survived");
    assert!(
        unread_evicted * 100 >= total_evicted * 95,
        "only {unread_evicted} of {total_evicted} evicted keys were the unread old ones"
    );
}

#[test]
fn allkeys_lfu_keeps_a_frequently_read_key_through_a_scan_of_cold_keys() {
    let (_node, mut c, limit) = node_with_headroom("allkeys-lfu", 2 * MB);
    let _: () = q(&mut c, &["SET", "hot", "value"]);
    for _ in 0..200 {
        let _: String = q(&mut c, &["GET", "hot"]);
    }
    let freq: i64 = q(&mut c, &["OBJECT", "FREQ", "hot"]);
    assert!(freq > 5, "frequency {freq} after 200 reads");
    // A scan: 8 MB of keys written once and read once, four times the memory.
    for round in 0..4 {
        let prefix = format!("cold{round}");
        assert!(fill(&mut c, &prefix, 2_000, 1_000, None).is_empty());
        for i in (0..2_000).step_by(4) {
            let _: Option<String> = q(&mut c, &["GET", &format!("{prefix}:{i}")]);
        }
    }
    assert!(evicted(&mut c) >= 4_000, "evicted {}", evicted(&mut c));
    assert_eq!(
        q::<Option<String>>(&mut c, &["GET", "hot"]).as_deref(),
        Some("value")
    );
    assert!(wait_under(&mut c, limit) <= limit);
}

#[test]
fn allkeys_random_evicts_until_memory_fits() {
    let (_node, mut c, limit) = node_with_headroom("allkeys-random", 2 * MB);
    assert!(fill(&mut c, "k", 6_000, 1_000, None).is_empty());
    assert!(wait_under(&mut c, limit) <= limit);
    // Memory hovers at the limit; lift it so that the counts below hold still.
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    let left = surviving(&mut c, "k", 6_000);
    let count: usize = q(&mut c, &["DBSIZE"]);
    assert_eq!(left, count);
    assert!(left < 3_000, "{left} of 6000 keys of 1 KB fit in 2 MB");
    assert_eq!(evicted(&mut c), 6_000 - left as u64);
    // Random means the early keys are not all gone.
    assert!(surviving(&mut c, "k", 1_000) > 0);
}

#[test]
fn volatile_policies_evict_only_keys_with_a_ttl() {
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let (_node, mut c, limit) = node_with_headroom(policy, 3 * MB);
        assert!(fill(&mut c, "persistent", 1_000, 1_000, None).is_empty());
        let errors = fill(&mut c, "volatile", 4_000, 1_000, Some(3_600));
        assert!(
            errors.is_empty(),
            "{policy}: {} errors: {:?}",
            errors.len(),
            errors.first()
        );
        assert!(evicted(&mut c) > 0, "{policy}");
        assert_eq!(surviving(&mut c, "persistent", 1_000), 1_000, "{policy}");
        assert!(surviving(&mut c, "volatile", 4_000) < 4_000, "{policy}");
        assert!(wait_under(&mut c, limit) <= limit, "{policy}");

        // With no key left that may go, growing writes are refused.
        let _: () = q(&mut c, &["FLUSHALL"]);
        assert!(wait_under(&mut c, limit) <= limit);
        let errors = fill(&mut c, "only-persistent", 5_000, 1_000, None);
        assert!(!errors.is_empty(), "{policy}");
        assert!(
            errors.iter().all(|e| e == OOM),
            "{policy}: {:?}",
            &errors[..1]
        );
        assert_eq!(
            q::<usize>(&mut c, &["DBSIZE"]),
            5_000 - errors.len(),
            "{policy}: persistent keys are never evicted"
        );
    }
}

#[test]
fn volatile_ttl_evicts_the_keys_closest_to_expiring_first() {
    let (_node, mut c, _limit) = node_with_headroom("volatile-ttl", 3 * MB);
    assert!(fill(&mut c, "soon", 2_000, 1_000, Some(1_000)).is_empty());
    assert!(fill(&mut c, "later", 1_000, 1_000, Some(100_000)).is_empty());
    // 1 MB more: the evicted keys must come from the ones expiring soon.
    assert!(fill(&mut c, "last", 1_000, 1_000, Some(200_000)).is_empty());
    let soon_evicted = 2_000 - surviving(&mut c, "soon", 2_000);
    let later_evicted = 1_000 - surviving(&mut c, "later", 1_000);
    assert!(soon_evicted > 0);
    assert!(
        later_evicted * 10 <= soon_evicted,
        "evicted {later_evicted} long-lived and {soon_evicted} short-lived keys"
    );
}

#[test]
fn lowering_maxmemory_at_runtime_evicts_in_the_background() {
    let node = Shoal::start_with(&["--maxmemory-policy", "allkeys-lru"]);
    let mut c = node.conn();
    let before = used_memory(&mut c);
    assert!(fill(&mut c, "k", 5_000, 1_000, None).is_empty());
    let limit = before + 2 * MB;
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    // No further command is needed: the background thread evicts. (Any command would evict
    // for a millisecond too, far from enough for half the keys in a debug build.)
    std::thread::sleep(Duration::from_secs(2));
    let left: usize = q(&mut c, &["DBSIZE"]);
    assert!(left < 2_500, "{left} keys left");
    let used = wait_under(&mut c, limit);
    assert!(used <= limit, "used {used} > limit {limit}");
    // Memory hovers at the limit, so a key may still go between two readings.
    let evicted_before = evicted(&mut c) as usize;
    let left: usize = q(&mut c, &["DBSIZE"]);
    let evicted_after = evicted(&mut c) as usize;
    assert!(evicted_before + left <= 5_000 && 5_000 <= evicted_after + left);
    // CONFIG RESETSTAT zeroes the counter (with the limit lifted, so nothing more goes;
    // an eviction round already under way may still finish, so wait for the count to rest).
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    let mut last = evicted(&mut c);
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let now = evicted(&mut c);
        if now == last {
            break;
        }
        last = now;
    }
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]);
    assert_eq!(evicted(&mut c), 0);
}

#[test]
fn object_freq_and_idletime_follow_the_policy_with_redis_errors() {
    let node = Shoal::start();
    let mut c = node.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(
        error(&mut c, &["OBJECT", "FREQ", "k"]),
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    );
    std::thread::sleep(Duration::from_millis(2_100));
    let idle: i64 = q(&mut c, &["OBJECT", "IDLETIME", "k"]);
    assert!((2..=4).contains(&idle), "idle {idle}");
    let _: String = q(&mut c, &["GET", "k"]);
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "k"]), 0);

    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
    );
    let _: () = q(&mut c, &["SET", "f", "v"]);
    assert_eq!(
        q::<i64>(&mut c, &["OBJECT", "FREQ", "f"]),
        5,
        "LFU_INIT_VAL"
    );
    for _ in 0..100 {
        let _: String = q(&mut c, &["GET", "f"]);
    }
    let freq: i64 = q(&mut c, &["OBJECT", "FREQ", "f"]);
    assert!((6..=20).contains(&freq), "frequency {freq} after 100 reads");
    // Overwriting keeps the counter (and counts as one more access).
    let _: () = q(&mut c, &["SET", "f", "w"]);
    assert!(q::<i64>(&mut c, &["OBJECT", "FREQ", "f"]) >= freq);
    assert_eq!(
        error(&mut c, &["OBJECT", "IDLETIME", "f"]),
        "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    );
    assert_eq!(
        q::<Option<i64>>(&mut c, &["OBJECT", "FREQ", "missing"]),
        None
    );
}

#[test]
fn memory_usage_stats_and_doctor_report_the_keyspace() {
    let node = Shoal::start();
    let mut c = node.conn();
    let _: () = q(&mut c, &["SET", "key:000000000001", &"v".repeat(32)]);
    let small: i64 = q(&mut c, &["MEMORY", "USAGE", "key:000000000001"]);
    assert!((48..=200).contains(&small), "usage {small}");
    let fields: Vec<String> = (0..1_000).map(|i| format!("field{i}")).collect();
    let mut hset = redis::cmd("HSET");
    hset.arg("big");
    for f in &fields {
        hset.arg(f).arg("some value");
    }
    let _: usize = hset.query(&mut c).expect("hset");
    let big: i64 = q(&mut c, &["MEMORY", "USAGE", "big", "SAMPLES", "0"]);
    assert!(big > 1_000 * 20, "a 1000-field hash uses {big} bytes");
    assert_eq!(
        q::<i64>(&mut c, &["MEMORY", "USAGE", "big", "samples", "5"]),
        big
    );
    assert_eq!(
        q::<Option<i64>>(&mut c, &["MEMORY", "USAGE", "missing"]),
        None
    );
    assert_eq!(
        error(&mut c, &["MEMORY", "USAGE", "big", "SAMPLES", "-1"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["MEMORY", "USAGE", "big", "SAMPLES", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut c, &["MEMORY", "USAGE", "big", "FOO", "1"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["MEMORY", "USAGE"]),
        "ERR wrong number of arguments for 'memory|usage' command"
    );

    let stats: Vec<redis::Value> = q(&mut c, &["MEMORY", "STATS"]);
    let mut names = Vec::new();
    let mut keys_count = None;
    for pair in stats.chunks(2) {
        let name = match &pair[0] {
            redis::Value::SimpleString(s) => s.clone(),
            redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("name {other:?}"),
        };
        if name == "keys.count" {
            keys_count = Some(pair[1].clone());
        }
        names.push(name);
    }
    for expected in [
        "peak.allocated",
        "total.allocated",
        "startup.allocated",
        "db.0",
        "overhead.total",
        "keys.count",
        "keys.bytes-per-key",
        "dataset.bytes",
        "allocator.allocated",
        "allocator.resident",
        "fragmentation",
        // Redis 7.4's.
        "overhead.db.hashtable.lut",
        "overhead.db.hashtable.rehashing",
        "db.dict.rehashing.count",
        "allocator.muzzy",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert_eq!(keys_count, Some(redis::Value::Int(2)));
    let doctor: String = q(&mut c, &["MEMORY", "DOCTOR"]);
    assert!(!doctor.is_empty());
    assert!(q::<String>(&mut c, &["MEMORY", "MALLOC-STATS"]).contains("jemalloc"));
    assert!(error(&mut c, &["MEMORY", "PURGE"]).starts_with("ERR MEMORY PURGE is not supported"));

    // INFO carries the figures the issue names.
    for (section, field) in [
        ("memory", "used_memory"),
        ("memory", "used_memory_human"),
        ("memory", "used_memory_peak"),
        ("memory", "maxmemory"),
        ("memory", "maxmemory_policy"),
        ("memory", "mem_fragmentation_ratio"),
        ("stats", "evicted_keys"),
        ("stats", "expired_keys"),
        ("stats", "keyspace_hits"),
        ("stats", "keyspace_misses"),
    ] {
        assert!(!info_field(&mut c, section, field).is_empty(), "{field}");
    }
    let used: u64 = info_field(&mut c, "memory", "used_memory")
        .parse()
        .expect("int");
    let peak: u64 = info_field(&mut c, "memory", "used_memory_peak")
        .parse()
        .expect("int");
    assert!(peak >= used && used > 1_000 * 20);
}
