//! Generic key commands end to end: deletion, existence, renaming, copying, expiry, iteration,
//! databases and OBJECT, with the exact replies and error texts of Redis 7. Expected replies
//! were taken from redis-server 7.0.15; the last test compares a table of commands against a
//! live reference server when one is installed.

use redis::Commands;
use shoal_tests::{Raw, RedisServer, Shoal, expect, expect_all, int};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// A connection to database `db`.
fn conn_to(node: &Shoal, db: u8) -> redis::Connection {
    redis::Client::open(format!("{}{db}", node.url()))
        .expect("url")
        .get_connection()
        .expect("connect")
}

/// `KEYS pattern`, sorted.
fn keys(conn: &mut redis::Connection, pattern: &str) -> Vec<String> {
    let mut found: Vec<String> = conn.keys(pattern).expect("keys");
    found.sort();
    found
}

const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const OUT_OF_RANGE: &str = "-ERR DB index is out of range\r\n";
const SAME: &str = "-ERR source and destination objects are the same\r\n";
const INT_RANGE: &str =
    "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n";

#[test]
fn del_and_unlink_count_only_the_keys_that_existed() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("MSET a 1 b 2 c 3", "+OK\r\n"),
            ("DEL a b nokey", ":2\r\n"),
            ("DEL a", ":0\r\n"),
            // A key named twice is deleted once.
            ("DEL c c", ":1\r\n"),
            ("MSET a 1 b 2", "+OK\r\n"),
            ("UNLINK a b b nokey", ":2\r\n"),
            ("EXISTS a b", ":0\r\n"),
            (
                "DEL",
                "-ERR wrong number of arguments for 'del' command\r\n",
            ),
        ],
    );
}

#[test]
fn exists_and_touch_count_every_existing_argument_and_type_names_the_value() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("MSET a 1 b 2", "+OK\r\n"),
            ("EXISTS a", ":1\r\n"),
            ("EXISTS nokey", ":0\r\n"),
            // A key named several times counts each time.
            ("EXISTS a a a nokey", ":3\r\n"),
            ("TOUCH a nokey b a", ":3\r\n"),
            ("TOUCH nokey", ":0\r\n"),
            ("TYPE a", "+string\r\n"),
            ("TYPE nokey", "+none\r\n"),
        ],
    );
}

#[test]
fn rename_moves_the_value_and_its_ttl_over_any_target() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SET a 1 EXAT 4000000000", "+OK\r\n"),
            ("SET b 2", "+OK\r\n"),
            ("RENAME a b", "+OK\r\n"),
            ("GET b", "$1\r\n1\r\n"),
            ("EXPIRETIME b", ":4000000000\r\n"),
            ("EXISTS a", ":0\r\n"),
            // A target with an expiry loses it to the source's (none here).
            ("SET c 3", "+OK\r\n"),
            ("SET d 4 EXAT 4000000000", "+OK\r\n"),
            ("RENAME c d", "+OK\r\n"),
            ("TTL d", ":-1\r\n"),
            ("RENAME nokey x", "-ERR no such key\r\n"),
            ("RENAME nokey nokey", "-ERR no such key\r\n"),
            // Renaming a key to itself changes nothing.
            ("RENAME b b", "+OK\r\n"),
            ("GET b", "$1\r\n1\r\n"),
        ],
    );
}

#[test]
fn renamenx_renames_only_onto_a_free_name() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("MSET a 1 b 2", "+OK\r\n"),
            ("RENAMENX a b", ":0\r\n"),
            ("MGET a b", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"),
            ("RENAMENX a c", ":1\r\n"),
            ("GET c", "$1\r\n1\r\n"),
            ("RENAMENX c c", ":0\r\n"),
            ("RENAMENX nokey x", "-ERR no such key\r\n"),
            ("RENAMENX nokey nokey", "-ERR no such key\r\n"),
        ],
    );
}

#[test]
fn copy_duplicates_the_value_and_ttl() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SET src v EXAT 4000000000", "+OK\r\n"),
            ("COPY src dst", ":1\r\n"),
            ("GET dst", "$1\r\nv\r\n"),
            ("EXPIRETIME dst", ":4000000000\r\n"),
            ("GET src", "$1\r\nv\r\n"),
            ("SET src w", "+OK\r\n"),
            ("COPY src dst", ":0\r\n"),
            ("GET dst", "$1\r\nv\r\n"),
            ("COPY src dst REPLACE", ":1\r\n"),
            ("GET dst", "$1\r\nw\r\n"),
            ("TTL dst", ":-1\r\n"),
            ("COPY nokey x", ":0\r\n"),
            ("COPY src src", SAME),
            ("COPY src src DB 0", SAME),
            ("COPY nokey nokey", SAME),
            ("COPY src src REPLACE REPLACE", SAME),
            ("COPY src x FOO", SYNTAX),
            ("COPY src x DB", SYNTAX),
        ],
    );
}

#[test]
fn copy_into_another_database_checks_the_index() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SET a v", "+OK\r\n"),
            ("COPY a a DB 1", ":1\r\n"),
            ("COPY a a DB 1", ":0\r\n"),
            ("COPY a b DB 1 REPLACE", ":1\r\n"),
            // Repeated DB options: each is checked, the last one wins.
            ("COPY a c DB 1 DB 2", ":1\r\n"),
            ("COPY a c DB 1 DB 99", OUT_OF_RANGE),
            ("COPY a c DB 99 FOO", OUT_OF_RANGE),
            ("COPY a c DB 1 FOO", SYNTAX),
            ("COPY a a DB 16", OUT_OF_RANGE),
            ("COPY a a DB -1", OUT_OF_RANGE),
            ("COPY a a DB abc", NOT_INT),
            ("COPY a a DB 2147483648", INT_RANGE),
            ("COPY a a DB -2147483649", INT_RANGE),
        ],
    );
    let mut db1 = conn_to(&node, 1);
    assert_eq!(keys(&mut db1, "*"), ["a", "b"]);
    let mut db2 = conn_to(&node, 2);
    assert_eq!(keys(&mut db2, "*"), ["c"]);
}

#[test]
fn move_transfers_a_key_and_its_ttl_to_another_database() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SET a v EXAT 4000000000", "+OK\r\n"),
            ("MOVE a 1", ":1\r\n"),
            ("EXISTS a", ":0\r\n"),
            ("MOVE a 1", ":0\r\n"),
            ("MOVE nokey 1", ":0\r\n"),
            ("SET b v", "+OK\r\n"),
            ("MOVE b 0", SAME),
            ("MOVE b 16", OUT_OF_RANGE),
            ("MOVE b -1", OUT_OF_RANGE),
            ("MOVE b abc", NOT_INT),
            ("MOVE b 1.5", NOT_INT),
            ("MOVE b 9999999999", INT_RANGE),
            ("SELECT 1", "+OK\r\n"),
            ("GET a", "$1\r\nv\r\n"),
            ("EXPIRETIME a", ":4000000000\r\n"),
            ("SET b other", "+OK\r\n"),
            ("SELECT 0", "+OK\r\n"),
            // The target already has the key: nothing moves.
            ("MOVE b 1", ":0\r\n"),
            ("GET b", "$1\r\nv\r\n"),
        ],
    );
}

#[test]
fn expire_conditions_nx_xx_gt_lt_decide_whether_to_write() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SET a 1", "+OK\r\n"),
            // No expiry yet: XX and GT refuse (no TTL counts as infinite), LT accepts.
            ("EXPIREAT a 4000000000 XX", ":0\r\n"),
            ("EXPIREAT a 4000000000 GT", ":0\r\n"),
            ("EXPIREAT a 4000000000 LT", ":1\r\n"),
            ("PERSIST a", ":1\r\n"),
            ("EXPIREAT a 4000000000 NX", ":1\r\n"),
            ("EXPIREAT a 4000000100 NX", ":0\r\n"),
            ("EXPIREAT a 4000000100 XX", ":1\r\n"),
            ("EXPIRETIME a", ":4000000100\r\n"),
            ("EXPIREAT a 4000000050 GT", ":0\r\n"),
            ("EXPIREAT a 4000000100 GT", ":0\r\n"),
            ("EXPIREAT a 4000000200 GT", ":1\r\n"),
            ("EXPIREAT a 4000000300 LT", ":0\r\n"),
            ("EXPIREAT a 4000000200 LT", ":0\r\n"),
            ("PEXPIREAT a 4000000150000 LT", ":1\r\n"),
            ("EXPIRETIME a", ":4000000150\r\n"),
            ("EXPIREAT a 4000000100 XX GT", ":0\r\n"),
            ("EXPIREAT a 4000000100 XX LT", ":1\r\n"),
            ("EXPIREAT a 4000000000 nx", ":0\r\n"),
            ("EXPIREAT nokey 4000000000", ":0\r\n"),
            ("EXPIRE nokey 100 NX", ":0\r\n"),
        ],
    );
}

#[test]
fn expire_options_are_checked_before_anything_else() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["SET", "a", "1"]);
    let nx_with_others = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
    let gt_and_lt = "-ERR GT and LT options at the same time are not compatible\r\n";
    for command in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
        expect_all(
            &mut raw,
            &[
                (&format!("{command} a 100 NX XX"), nx_with_others),
                (&format!("{command} a 100 NX GT"), nx_with_others),
                (&format!("{command} a 100 LT NX"), nx_with_others),
                (&format!("{command} a 100 GT LT"), gt_and_lt),
                (&format!("{command} a 100 XX GT LT"), gt_and_lt),
                (
                    &format!("{command} a 100 FOO"),
                    "-ERR Unsupported option FOO\r\n",
                ),
                (
                    &format!("{command} a 100 NX bar"),
                    "-ERR Unsupported option bar\r\n",
                ),
                // Options are read before the time.
                (
                    &format!("{command} a abc foo"),
                    "-ERR Unsupported option foo\r\n",
                ),
                (&format!("{command} a abc"), NOT_INT),
                (&format!("{command} a 1.5"), NOT_INT),
                (&format!("{command} nokey abc"), NOT_INT),
                (&format!("{command} a 4000000000000 NX NX"), ":1\r\n"),
                ("PERSIST a", ":1\r\n"),
            ],
        );
    }
    // Times that overflow in milliseconds, for each command's name.
    for (command, reply) in [
        ("EXPIRE a 9223372036854776", "'expire'"),
        ("EXPIRE a -9223372036854776", "'expire'"),
        ("EXPIREAT a 9223372036854776", "'expireat'"),
        ("PEXPIRE a 9223372036854775807", "'pexpire'"),
    ] {
        expect(
            &mut raw,
            command,
            &format!("-ERR invalid expire time in {reply} command\r\n"),
        );
    }
    expect(&mut raw, "PEXPIREAT a 9223372036854775807", ":1\r\n");
    expect(&mut raw, "PEXPIRETIME a", ":9223372036854775807\r\n");
}

#[test]
fn negative_or_past_expiry_times_delete_the_key() {
    let node = Shoal::start();
    let mut raw = node.raw();
    for command in [
        "EXPIRE k -1",
        "EXPIRE k 0",
        "PEXPIRE k -100",
        "EXPIREAT k 1",
        "PEXPIREAT k 0",
        "PEXPIREAT k -9223372036854775808",
        "EXPIRE k -9223372036854775",
    ] {
        expect(&mut raw, "SET k v", "+OK\r\n");
        expect(&mut raw, command, ":1\r\n");
        expect(&mut raw, "EXISTS k", ":0\r\n");
    }
    // LT accepts a past time on a key without expiry; GT never does.
    expect(&mut raw, "SET k v", "+OK\r\n");
    expect(&mut raw, "EXPIRE k -1 GT", ":0\r\n");
    expect(&mut raw, "EXPIRE k -1 LT", ":1\r\n");
    expect(&mut raw, "EXISTS k", ":0\r\n");
}

#[test]
fn keys_with_a_short_pexpire_vanish() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let _: () = conn.set("k", "v").expect("set");
    let set: bool = conn.pexpire("k", 200).expect("pexpire");
    assert!(set);
    let deadline = Instant::now() + Duration::from_secs(10);
    while conn.exists::<_, bool>("k").expect("exists") {
        assert!(Instant::now() < deadline, "k never expired");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ttl: i64 = conn.ttl("k").expect("ttl");
    assert_eq!(ttl, -2);
}

#[test]
fn ttl_commands_answer_minus_two_minus_one_or_the_time() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("TTL nokey", ":-2\r\n"),
            ("PTTL nokey", ":-2\r\n"),
            ("EXPIRETIME nokey", ":-2\r\n"),
            ("PEXPIRETIME nokey", ":-2\r\n"),
            ("SET k v", "+OK\r\n"),
            ("TTL k", ":-1\r\n"),
            ("PTTL k", ":-1\r\n"),
            ("EXPIRETIME k", ":-1\r\n"),
            ("PEXPIRETIME k", ":-1\r\n"),
            ("PEXPIREAT k 4000000000499", ":1\r\n"),
            ("PEXPIRETIME k", ":4000000000499\r\n"),
            // Seconds are rounded to the nearest.
            ("EXPIRETIME k", ":4000000000\r\n"),
            ("PEXPIREAT k 4000000000500", ":1\r\n"),
            ("EXPIRETIME k", ":4000000001\r\n"),
            ("PERSIST k", ":1\r\n"),
            ("PERSIST k", ":0\r\n"),
            ("PERSIST nokey", ":0\r\n"),
            ("TTL k", ":-1\r\n"),
        ],
    );
    expect(&mut raw, "EXPIRE k 100", ":1\r\n");
    let ttl = int(&mut raw, "TTL k");
    assert!((1..=100).contains(&ttl), "ttl {ttl}");
    let pttl = int(&mut raw, "PTTL k");
    assert!((1..=100_000).contains(&pttl), "pttl {pttl}");
}

#[test]
fn keys_lists_the_names_matching_a_glob_pattern() {
    let node = Shoal::start();
    let mut conn = node.conn();
    for key in [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "a\\b", "[x]", "",
    ] {
        let _: () = conn.set(key, 1).expect("set");
    }
    let all = [
        "", "[x]", "a\\b", "h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo",
    ];
    assert_eq!(keys(&mut conn, "*"), all);
    for (pattern, expected) in [
        ("h?llo", &["h*llo", "hallo", "hello", "hxllo"][..]),
        (
            "h*llo",
            &["h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo"],
        ),
        ("h[ae]llo", &["hallo", "hello"]),
        ("h[^e]llo", &["h*llo", "hallo", "hxllo"]),
        ("h[a-b]llo", &["hallo"]),
        ("h[b-a]llo", &["hallo"]),
        ("h\\*llo", &["h*llo"]),
        ("\\[x\\]", &["[x]"]),
        ("[[]x]", &["[x]"]),
        ("a\\\\b", &["a\\b"]),
        ("nomatch", &[]),
        ("[]x", &[]),
        // An unterminated class runs to the end of the pattern.
        ("h[a-", &[]),
        ("h[xa", &[]),
        // The empty key matches only the empty pattern (and `*`, which lists everything).
        ("", &[""]),
        (
            "**",
            &[
                "[x]", "a\\b", "h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo",
            ],
        ),
    ] {
        assert_eq!(keys(&mut conn, pattern), expected, "{pattern}");
    }
    let mut other = conn_to(&node, 3);
    assert!(keys(&mut other, "*").is_empty());
}

/// One SCAN call: the next cursor and the keys returned.
fn scan(conn: &mut redis::Connection, cursor: &str, options: &[&str]) -> (String, Vec<String>) {
    redis::cmd("SCAN")
        .arg(cursor)
        .arg(options)
        .query(conn)
        .expect("scan")
}

/// A full SCAN with the given options; every key returned, possibly repeated.
fn scan_all(conn: &mut redis::Connection, options: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut cursor = "0".to_string();
    for _ in 0..1_000_000 {
        let (next, batch) = scan(conn, &cursor, options);
        found.extend(batch);
        if next == "0" {
            return found;
        }
        cursor = next;
    }
    panic!("SCAN never finished");
}

#[test]
fn scan_visits_every_key_and_filters_by_match_and_type() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let names: Vec<String> = (0..1000).map(|i| format!("key:{i}")).collect();
    for chunk in names.chunks(100) {
        let pairs: Vec<(&str, &str)> = chunk.iter().map(|k| (k.as_str(), "v")).collect();
        let _: () = conn.mset(&pairs).expect("mset");
    }
    let _: () = conn.set("other", "v").expect("set");
    let expected: HashSet<String> = names.iter().cloned().chain(["other".into()]).collect();
    for options in [
        &[][..],
        &["COUNT", "1"],
        &["COUNT", "1000"],
        &["count", "7"],
    ] {
        let seen: HashSet<String> = scan_all(&mut conn, options).into_iter().collect();
        assert_eq!(seen, expected, "{options:?}");
    }
    let matched: HashSet<String> = scan_all(&mut conn, &["MATCH", "key:1?", "COUNT", "50"])
        .into_iter()
        .collect();
    assert_eq!(matched, (10..20).map(|i| format!("key:{i}")).collect());
    let strings = scan_all(&mut conn, &["TYPE", "STRING", "MATCH", "oth*"]);
    assert_eq!(strings, ["other"]);
    assert!(scan_all(&mut conn, &["TYPE", "list"]).is_empty());
    assert!(scan_all(&mut conn, &["TYPE", "nosuchtype"]).is_empty());
}

#[test]
fn scan_misses_no_key_while_others_are_added_during_the_iteration() {
    let node = Shoal::start();
    let mut conn = node.conn();
    // Keys are added faster than the scan walks them (6 per call of COUNT 2), so tables keep
    // resizing under the cursor: the keyspace grows about twentyfold before the scan ends.
    // A lost key is a matter of luck in where resizes land, hence several rounds.
    for round in 0..6 {
        let _: () = redis::cmd("FLUSHALL").query(&mut conn).expect("flushall");
        let originals: Vec<String> = (0..300).map(|i| format!("orig:{i}")).collect();
        let pairs: Vec<(&str, &str)> = originals.iter().map(|k| (k.as_str(), "v")).collect();
        let _: () = conn.mset(&pairs).expect("mset");
        let mut seen = HashSet::new();
        let mut cursor = "0".to_string();
        let mut added = 0;
        for _ in 0..100_000 {
            let (next, batch) = scan(&mut conn, &cursor, &["COUNT", "2"]);
            seen.extend(batch);
            let pairs: Vec<(String, &str)> = (added..added + 6)
                .map(|i| (format!("new:{i}"), "v"))
                .collect();
            let _: () = conn.mset(&pairs).expect("mset");
            added += 6;
            if next == "0" {
                break;
            }
            cursor = next;
        }
        assert!(
            added > 600,
            "round {round}: the scan ended before the keyspace grew"
        );
        let missed: Vec<&String> = originals.iter().filter(|k| !seen.contains(*k)).collect();
        assert!(missed.is_empty(), "round {round}: SCAN missed {missed:?}");
    }
}

#[test]
fn scan_refuses_bad_cursors_and_options() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["SET", "a", "1"]);
    let invalid = "-ERR invalid cursor\r\n";
    expect_all(
        &mut raw,
        &[
            ("SCAN 0 COUNT 0", SYNTAX),
            ("SCAN 0 COUNT -1", SYNTAX),
            ("SCAN 0 COUNT abc", NOT_INT),
            ("SCAN 0 COUNT", SYNTAX),
            ("SCAN 0 MATCH", SYNTAX),
            ("SCAN 0 TYPE", SYNTAX),
            ("SCAN 0 FOO bar", SYNTAX),
            ("SCAN abc", invalid),
            ("SCAN 1.5", invalid),
            ("SCAN -", invalid),
            ("SCAN 18446744073709551616", invalid),
            (
                "SCAN 0 COUNT 9223372036854775807",
                "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n",
            ),
            // Read as C's strtoul: a sign is allowed, and the empty string is 0.
            ("SCAN +0", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"),
            ("SCAN 00", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"),
        ],
    );
    assert_eq!(
        raw.call(&["SCAN", ""]),
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"
    );
    assert_eq!(raw.call(&["SCAN", " 0"]), invalid);
    assert_eq!(raw.call(&["SCAN", "0 "]), invalid);
    // Any other number is a cursor too (of no use, but never an error).
    for cursor in ["-1", "18446744073709551615", "123456789"] {
        let reply = raw.call(&["SCAN", cursor]);
        assert!(reply.starts_with("*2\r\n$"), "{cursor}: {reply}");
    }
}

#[test]
fn randomkey_and_dbsize_look_at_the_selected_database() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("RANDOMKEY", "$-1\r\n"),
            ("DBSIZE", ":0\r\n"),
            ("MSET a 1 b 2 c 3", "+OK\r\n"),
            ("DBSIZE", ":3\r\n"),
            ("SELECT 1", "+OK\r\n"),
            ("DBSIZE", ":0\r\n"),
            ("RANDOMKEY", "$-1\r\n"),
            ("SELECT 0", "+OK\r\n"),
        ],
    );
    let mut conn = node.conn();
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let key: String = redis::cmd("RANDOMKEY").query(&mut conn).expect("randomkey");
        seen.insert(key);
    }
    assert!(seen.iter().all(|k| ["a", "b", "c"].contains(&k.as_str())));
}

#[test]
fn flushdb_and_flushall_empty_one_or_every_database() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let fill = |raw: &mut Raw| {
        for db in ["0", "1"] {
            raw.call(&["SELECT", db]);
            raw.call(&["MSET", "a", "1", "b", "2"]);
        }
        raw.call(&["SELECT", "0"]);
    };
    for mode in ["", " ASYNC", " SYNC", " async"] {
        fill(&mut raw);
        expect(&mut raw, &format!("FLUSHDB{mode}"), "+OK\r\n");
        expect(&mut raw, "DBSIZE", ":0\r\n");
        expect(&mut raw, "SELECT 1", "+OK\r\n");
        expect(&mut raw, "DBSIZE", ":2\r\n");
        expect(&mut raw, "SELECT 0", "+OK\r\n");
        expect(&mut raw, &format!("FLUSHALL{mode}"), "+OK\r\n");
        expect(&mut raw, "SELECT 1", "+OK\r\n");
        expect(&mut raw, "DBSIZE", ":0\r\n");
        expect(&mut raw, "SELECT 0", "+OK\r\n");
    }
    fill(&mut raw);
    for bad in [
        "FLUSHDB FOO",
        "FLUSHDB SYNC ASYNC",
        "FLUSHALL FOO",
        "FLUSHALL ASYNC SYNC",
    ] {
        expect(&mut raw, bad, SYNTAX);
    }
    expect(&mut raw, "DBSIZE", ":2\r\n");
}

#[test]
fn swapdb_exchanges_two_databases() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SET a zero EXAT 4000000000", "+OK\r\n"),
            ("SELECT 1", "+OK\r\n"),
            ("MSET b one c one", "+OK\r\n"),
            ("SWAPDB 0 1", "+OK\r\n"),
            // The connection stays on database 1, which now holds what 0 held.
            ("DBSIZE", ":1\r\n"),
            ("GET a", "$4\r\nzero\r\n"),
            ("EXPIRETIME a", ":4000000000\r\n"),
            ("SELECT 0", "+OK\r\n"),
            ("DBSIZE", ":2\r\n"),
            ("SWAPDB 0 0", "+OK\r\n"),
            ("DBSIZE", ":2\r\n"),
            ("SWAPDB 0 16", OUT_OF_RANGE),
            ("SWAPDB -1 0", OUT_OF_RANGE),
            ("SWAPDB a 0", "-ERR invalid first DB index\r\n"),
            ("SWAPDB 0 a", "-ERR invalid second DB index\r\n"),
            ("SWAPDB 1.5 0", "-ERR invalid first DB index\r\n"),
            ("SWAPDB 9999999999 0", "-ERR invalid first DB index\r\n"),
            ("SWAPDB 0 9999999999", "-ERR invalid second DB index\r\n"),
        ],
    );
}

#[test]
fn object_encoding_follows_redis_rules_for_strings() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let embstr_max = "a".repeat(44);
    let raw_min = "a".repeat(45);
    raw.call(&["SET", "short", &embstr_max]);
    raw.call(&["SET", "long", &raw_min]);
    expect_all(
        &mut raw,
        &[
            ("SET n 123", "+OK\r\n"),
            ("OBJECT ENCODING n", "$3\r\nint\r\n"),
            ("SET n -9223372036854775808", "+OK\r\n"),
            ("OBJECT ENCODING n", "$3\r\nint\r\n"),
            ("SET big 123456789012345678901", "+OK\r\n"),
            ("OBJECT ENCODING big", "$6\r\nembstr\r\n"),
            ("SET z 01", "+OK\r\n"),
            ("OBJECT ENCODING z", "$6\r\nembstr\r\n"),
            ("SET s abc", "+OK\r\n"),
            ("OBJECT ENCODING s", "$6\r\nembstr\r\n"),
            ("OBJECT ENCODING short", "$6\r\nembstr\r\n"),
            ("OBJECT ENCODING long", "$3\r\nraw\r\n"),
            // Strings changed in place become raw, and a copy keeps the encoding.
            ("APPEND s d", ":4\r\n"),
            ("OBJECT ENCODING s", "$3\r\nraw\r\n"),
            ("COPY s s2", ":1\r\n"),
            ("OBJECT ENCODING s2", "$3\r\nraw\r\n"),
            ("SETRANGE short 0 b", ":44\r\n"),
            ("OBJECT ENCODING short", "$3\r\nraw\r\n"),
            ("INCR counter", ":1\r\n"),
            ("OBJECT ENCODING counter", "$3\r\nint\r\n"),
            ("OBJECT ENCODING nokey", "$-1\r\n"),
            ("object encoding n", "$3\r\nint\r\n"),
        ],
    );
}

#[test]
fn object_refcount_freq_idletime_and_help() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let lfu = "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n";
    expect_all(
        &mut raw,
        &[
            ("SET s abc", "+OK\r\n"),
            ("SET n 1", "+OK\r\n"),
            // Shoal never shares values, so this is always 1 (Redis 7.0 says 2147483647 for
            // its shared small integers, like n here).
            ("OBJECT REFCOUNT s", ":1\r\n"),
            ("OBJECT REFCOUNT n", ":1\r\n"),
            ("OBJECT REFCOUNT nokey", "$-1\r\n"),
            // The policy is noeviction: no frequencies, but a missing key is still nil.
            ("OBJECT FREQ s", lfu),
            ("OBJECT FREQ nokey", "$-1\r\n"),
            ("OBJECT IDLETIME nokey", "$-1\r\n"),
            (
                "OBJECT FOO",
                "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n",
            ),
            (
                "OBJECT FOO bar",
                "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n",
            ),
            (
                "OBJECT ENCODING",
                "-ERR wrong number of arguments for 'object|encoding' command\r\n",
            ),
            (
                "OBJECT HELP extra",
                "-ERR wrong number of arguments for 'object|help' command\r\n",
            ),
        ],
    );
    let idle = int(&mut raw, "OBJECT IDLETIME s");
    assert!(idle >= 0);
    let help: Vec<String> = redis::cmd("OBJECT")
        .arg("HELP")
        .query(&mut node.conn())
        .expect("help");
    assert!(help[0].starts_with("OBJECT <subcommand>"), "{help:?}");
    for sub in [
        "ENCODING <key>",
        "FREQ <key>",
        "IDLETIME <key>",
        "REFCOUNT <key>",
        "HELP",
    ] {
        assert!(
            help.iter().any(|line| line == sub),
            "{sub} missing: {help:?}"
        );
    }
}

#[test]
fn looking_at_a_key_does_not_reset_its_idle_time_but_touch_does() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["SET", "k", "v"]);
    // Idle times count whole seconds: after two of them the key is at least 2s idle.
    std::thread::sleep(Duration::from_millis(2100));
    for look in [
        "TTL k",
        "PTTL k",
        "EXPIRETIME k",
        "TYPE k",
        "EXISTS k",
        "OBJECT ENCODING k",
    ] {
        let reply = raw.call(&look.split(' ').collect::<Vec<_>>());
        assert!(!reply.starts_with('-'), "{look}: {reply}");
    }
    let idle = int(&mut raw, "OBJECT IDLETIME k");
    assert!(idle >= 2, "idle {idle} after TTL/TYPE/EXISTS/OBJECT");
    // TOUCH and the idle time query go in one write, so they run back to back.
    raw.send(
        &[
            shoal_tests::encode_command(&[b"TOUCH", b"k"]),
            shoal_tests::encode_command(&[b"OBJECT", b"IDLETIME", b"k"]),
        ]
        .concat(),
    );
    assert_eq!(raw.read_reply(), ":1\r\n");
    let after: i64 = raw.read_reply()[1..].trim_end().parse().expect("idle");
    assert!(after < idle, "TOUCH left the idle time at {after}");
}

#[test]
fn rename_and_move_keep_the_idle_time() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "SET a v", "+OK\r\n");
    expect(&mut raw, "SET b v", "+OK\r\n");
    // Idle times count whole seconds: after two of them the keys are at least 2s idle.
    std::thread::sleep(Duration::from_millis(2100));
    expect(&mut raw, "RENAME a a2", "+OK\r\n");
    expect(&mut raw, "MOVE b 1", ":1\r\n");
    assert!(int(&mut raw, "OBJECT IDLETIME a2") >= 2);
    expect(&mut raw, "SELECT 1", "+OK\r\n");
    assert!(int(&mut raw, "OBJECT IDLETIME b") >= 2);
}

#[test]
fn key_lookups_count_keyspace_hits_and_misses_like_redis() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["SET", "a", "1"]);
    let stats = |raw: &mut Raw| {
        let info = raw.call(&["INFO", "stats"]);
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or_else(|| panic!("no {name} in INFO"))
        };
        (field("keyspace_hits:"), field("keyspace_misses:"))
    };
    let before = stats(&mut raw);
    // Five hits (for a) and five misses (for nokey), as in Redis.
    for command in [
        "EXISTS a nokey",
        "TOUCH a nokey",
        "TYPE a",
        "TYPE nokey",
        "TTL a",
        "PTTL nokey",
        "OBJECT ENCODING a",
        "OBJECT ENCODING nokey",
    ] {
        raw.call(&command.split(' ').collect::<Vec<_>>());
    }
    // Writes count nothing.
    for command in [
        "EXPIRE a 100",
        "PERSIST a",
        "DEL nokey",
        "RENAME a b",
        "MOVE b 1",
    ] {
        raw.call(&command.split(' ').collect::<Vec<_>>());
    }
    let after = stats(&mut raw);
    assert_eq!((after.0 - before.0, after.1 - before.1), (5, 5));
}

/// Commands whose replies do not depend on time or hash order, compared byte for byte.
const COMPARED: &[&[&str]] = &[
    &["MSET", "a", "1", "b", "2", "c", "3"],
    &["DEL", "a", "a", "nokey"],
    &["EXISTS", "b", "b", "c", "nokey"],
    &["TYPE", "b"],
    &["RENAME", "nokey", "x"],
    &["RENAME", "b", "b"],
    &["RENAMENX", "b", "c"],
    &["RENAMENX", "b", "b"],
    &["COPY", "b", "b"],
    &["COPY", "b", "x", "DB", "1", "DB", "2"],
    &["COPY", "b", "x", "DB", "2147483648"],
    &["COPY", "b", "x", "REPLACE", "FOO"],
    &["MOVE", "b", "0"],
    &["MOVE", "b", "-2147483649"],
    &["MOVE", "c", "1"],
    &["EXPIRE", "x", "100", "NX", "XX"],
    &["EXPIRE", "x", "100", "GT", "LT"],
    &["EXPIRE", "x", "100", "FOO"],
    &["EXPIRE", "b", "9223372036854776"],
    &["EXPIREAT", "b", "4000000000", "LT"],
    &["EXPIREAT", "b", "4000000001", "GT"],
    &["PEXPIRETIME", "b"],
    &["EXPIRETIME", "b"],
    &["PERSIST", "b"],
    &["TTL", "b"],
    &["PEXPIREAT", "b", "1"],
    &["EXISTS", "b"],
    &["TOUCH", "c", "nokey"],
    &["SCAN", "0", "COUNT", "0"],
    &["SCAN", "x"],
    &["KEYS", "nomatch*"],
    &["DBSIZE"],
    &["FLUSHDB", "FOO"],
    &["FLUSHALL", "SYNC", "ASYNC"],
    &["SWAPDB", "0", "9999999999"],
    &["SWAPDB", "0", "99"],
    &["SET", "e", "5"],
    &["OBJECT", "ENCODING", "e"],
    &["OBJECT", "FREQ", "e"],
    &["OBJECT", "FREQ", "nokey"],
    &["OBJECT", "REFCOUNT", "nokey"],
    &["OBJECT", "NOPE"],
    &["FLUSHALL"],
    &["RANDOMKEY"],
];

#[test]
fn key_replies_match_the_reference_redis() {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.raw(), redis.raw());
    for command in COMPARED {
        assert_eq!(ours.call(command), theirs.call(command), "{command:?}");
    }
}
