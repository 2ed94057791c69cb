//! Hash commands end to end: every option Redis 7 accepts, the exact replies (RESP2 and
//! RESP3), the exact error texts, the listpack → hashtable conversion, random picks and
//! cursor walks. Expected replies were taken from redis-server 7.0.15; the last tests compare
//! a table of commands against a live reference server when one is installed.

use redis::Commands;
use shoal_tests::{Raw, RedisServer, Shoal, expect, expect_all, int};
use std::collections::{HashMap, HashSet};

const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// A bulk string as RESP writes it.
fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// Parses a flat RESP2 array of bulk strings (what HKEYS, HRANDFIELD... answer).
fn bulks(reply: &str) -> Vec<String> {
    let mut lines = reply.split("\r\n");
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with('*'), "not an array: {reply:?}");
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        if line.starts_with('$') {
            out.push(lines.next().unwrap_or_default().to_string());
        }
    }
    out
}

/// Sends one command whose arguments may hold spaces.
fn call(raw: &mut Raw, args: &[&str]) -> String {
    raw.call(args)
}

/// HSETs `n` fields `f0..` with values `v0..` into `key`.
fn fill(raw: &mut Raw, key: &str, n: usize) {
    for i in 0..n {
        let (field, value) = (format!("f{i}"), format!("v{i}"));
        assert_eq!(call(raw, &["HSET", key, &field, &value]), ":1\r\n");
    }
}

#[test]
fn hset_stores_fields_and_counts_only_the_new_ones() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let _: () = conn
        .hset_multiple("h", &[("a", "1"), ("b", "2")])
        .expect("hmset");
    let added: i64 = conn.hset("h", "c", "3").expect("hset");
    assert_eq!(added, 1);
    let value: String = conn.hget("h", "a").expect("hget");
    assert_eq!(value, "1");
    let all: HashMap<String, String> = conn.hgetall("h").expect("hgetall");
    assert_eq!(all.len(), 3);
    let binary = b"\0\r\n\xff".to_vec();
    let _: i64 = conn.hset("h", &binary, &binary).expect("hset binary");
    let back: Vec<u8> = conn.hget("h", &binary).expect("hget binary");
    assert_eq!(back, binary);

    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("HSET k a 1 b 2", ":2\r\n"),
            ("HSET k a 10 c 3", ":1\r\n"),
            // A field named twice in one call counts once; the last value wins.
            ("HSET k d 1 d 2", ":1\r\n"),
            ("HGET k d", "$1\r\n2\r\n"),
            ("HMSET k a 11 e 5", "+OK\r\n"),
            ("HGET k a", "$2\r\n11\r\n"),
            ("HLEN k", ":5\r\n"),
            ("hset k A x", ":1\r\n"),
            (
                "HSET k a",
                "-ERR wrong number of arguments for 'hset' command\r\n",
            ),
            (
                "HSET k a 1 b",
                "-ERR wrong number of arguments for 'hset' command\r\n",
            ),
            (
                "HMSET k a 1 b",
                "-ERR wrong number of arguments for 'hmset' command\r\n",
            ),
            (
                "HSET k",
                "-ERR wrong number of arguments for 'hset' command\r\n",
            ),
        ],
    );
    assert_eq!(call(&mut raw, &["HSET", "e", "", ""]), ":1\r\n");
    assert_eq!(call(&mut raw, &["HGET", "e", ""]), "$0\r\n\r\n");
}

#[test]
fn hsetnx_sets_a_field_only_when_it_is_missing() {
    let node = Shoal::start();
    expect_all(
        &mut node.raw(),
        &[
            ("HSETNX h a 1", ":1\r\n"),
            ("HSETNX h a 2", ":0\r\n"),
            ("HGET h a", "$1\r\n1\r\n"),
            ("HSETNX h b 2", ":1\r\n"),
            (
                "HGETALL h",
                "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
            ),
        ],
    );
}

#[test]
fn hget_hmget_hexists_hstrlen_and_hlen_read_fields_or_answer_empty() {
    let node = Shoal::start();
    expect_all(
        &mut node.raw(),
        &[
            ("HGET h a", "$-1\r\n"),
            ("HMGET h a b", "*2\r\n$-1\r\n$-1\r\n"),
            ("HEXISTS h a", ":0\r\n"),
            ("HSTRLEN h a", ":0\r\n"),
            ("HLEN h", ":0\r\n"),
            ("HSET h a hello b 12345", ":2\r\n"),
            ("HGET h nope", "$-1\r\n"),
            (
                "HMGET h b nope a",
                "*3\r\n$5\r\n12345\r\n$-1\r\n$5\r\nhello\r\n",
            ),
            ("HEXISTS h a", ":1\r\n"),
            ("HEXISTS h nope", ":0\r\n"),
            ("HSTRLEN h a", ":5\r\n"),
            ("HSTRLEN h b", ":5\r\n"),
            ("HSTRLEN h nope", ":0\r\n"),
            ("HLEN h", ":2\r\n"),
        ],
    );
}

#[test]
fn hgetall_hkeys_and_hvals_answer_in_insertion_order_while_small() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("HGETALL h", "*0\r\n"),
            ("HKEYS h", "*0\r\n"),
            ("HVALS h", "*0\r\n"),
            ("HSET h z 1 a 2 m 3", ":3\r\n"),
            ("HSET h a 20", ":0\r\n"),
            (
                "HGETALL h",
                "*6\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\na\r\n$2\r\n20\r\n$1\r\nm\r\n$1\r\n3\r\n",
            ),
            ("HKEYS h", "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nm\r\n"),
            ("HVALS h", "*3\r\n$1\r\n1\r\n$2\r\n20\r\n$1\r\n3\r\n"),
        ],
    );
}

#[test]
fn resp3_answers_hgetall_with_a_map() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["HELLO", "3"]);
    expect_all(
        &mut raw,
        &[
            ("HGETALL h", "%0\r\n"),
            ("HKEYS h", "*0\r\n"),
            ("HGET h a", "_\r\n"),
            ("HMGET h a", "*1\r\n_\r\n"),
            ("HSET h a 1 b 2", ":2\r\n"),
            (
                "HGETALL h",
                "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
            ),
            ("HKEYS h", "*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
            ("HEXISTS h a", ":1\r\n"),
        ],
    );
}

#[test]
fn hdel_counts_removed_fields_and_deletes_an_emptied_hash() {
    let node = Shoal::start();
    expect_all(
        &mut node.raw(),
        &[
            ("HDEL h a", ":0\r\n"),
            ("HSET h a 1 b 2 c 3", ":3\r\n"),
            ("HDEL h nope", ":0\r\n"),
            ("HDEL h a a nope", ":1\r\n"),
            ("HLEN h", ":2\r\n"),
            ("HDEL h b c", ":2\r\n"),
            ("EXISTS h", ":0\r\n"),
            ("TYPE h", "+none\r\n"),
        ],
    );
}

#[test]
fn hincrby_adds_to_integer_values_with_redis_errors() {
    let node = Shoal::start();
    expect_all(
        &mut node.raw(),
        &[
            ("HINCRBY h n 5", ":5\r\n"),
            ("HINCRBY h n -7", ":-2\r\n"),
            ("HGET h n", "$2\r\n-2\r\n"),
            ("HINCRBY h n x", NOT_INT),
            ("HINCRBY h n 1.5", NOT_INT),
            ("HINCRBY h n 99999999999999999999", NOT_INT),
            ("HSET h s abc z 007 sp 1", ":3\r\n"),
            ("HINCRBY h s 1", "-ERR hash value is not an integer\r\n"),
            ("HINCRBY h z 1", "-ERR hash value is not an integer\r\n"),
            ("HSET h big 9223372036854775807", ":1\r\n"),
            (
                "HINCRBY h big 1",
                "-ERR increment or decrement would overflow\r\n",
            ),
            ("HINCRBY h big -1", ":9223372036854775806\r\n"),
            (
                "HINCRBY h small -9223372036854775808",
                ":-9223372036854775808\r\n",
            ),
            (
                "HINCRBY h small -1",
                "-ERR increment or decrement would overflow\r\n",
            ),
            ("HINCRBY h small 0", ":-9223372036854775808\r\n"),
            // A refused increment creates nothing.
            ("HINCRBY new f x", NOT_INT),
            ("EXISTS new", ":0\r\n"),
        ],
    );
}

#[test]
fn hincrbyfloat_uses_redis_long_double_arithmetic_and_errors() {
    let node = Shoal::start();
    expect_all(
        &mut node.raw(),
        &[
            ("HINCRBYFLOAT h f 10.5", "$4\r\n10.5\r\n"),
            ("HINCRBYFLOAT h f 0.1", "$4\r\n10.6\r\n"),
            ("HINCRBYFLOAT h f 5000", "$22\r\n5010.60000000000000009\r\n"),
            ("HINCRBYFLOAT h g 0x10", "$2\r\n16\r\n"),
            ("HINCRBYFLOAT h g -0", "$2\r\n16\r\n"),
            ("HINCRBYFLOAT h z -0.0", "$1\r\n0\r\n"),
            ("HINCRBYFLOAT h e 1e3", "$4\r\n1000\r\n"),
            ("HSET h i 7", ":1\r\n"),
            ("HINCRBYFLOAT h i 1", "$1\r\n8\r\n"),
            ("HINCRBYFLOAT h f abc", NOT_FLOAT),
            ("HINCRBYFLOAT h f nan", NOT_FLOAT),
            ("HINCRBYFLOAT h f 1e-5000", NOT_FLOAT),
            ("HINCRBYFLOAT h f inf", "-ERR value is NaN or Infinity\r\n"),
            ("HINCRBYFLOAT h f -inf", "-ERR value is NaN or Infinity\r\n"),
            ("HSET h s abc", ":1\r\n"),
            ("HINCRBYFLOAT h s 1", "-ERR hash value is not a float\r\n"),
            ("HSET h huge 1.1e4932", ":1\r\n"),
            (
                "HINCRBYFLOAT h huge 1e4931",
                "-ERR increment would produce NaN or Infinity\r\n",
            ),
            ("HGET h huge", "$8\r\n1.1e4932\r\n"),
            (
                "HINCRBYFLOAT new f inf",
                "-ERR value is NaN or Infinity\r\n",
            ),
            ("EXISTS new", ":0\r\n"),
        ],
    );
}

#[test]
fn every_hash_command_refuses_a_key_of_another_type() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "SET s x", "+OK\r\n");
    for command in [
        "HSET s a 1",
        "HMSET s a 1",
        "HSETNX s a 1",
        "HGET s a",
        "HMGET s a",
        "HGETALL s",
        "HDEL s a",
        "HEXISTS s a",
        "HLEN s",
        "HSTRLEN s a",
        "HKEYS s",
        "HVALS s",
        "HINCRBY s a 1",
        "HINCRBYFLOAT s a 1",
        "HRANDFIELD s",
        "HRANDFIELD s 0",
        "HRANDFIELD s -3 WITHVALUES",
        "HSCAN s 0",
        // The type is checked before the options.
        "HSCAN s 0 BAD",
    ] {
        expect(&mut raw, command, WRONGTYPE);
    }
    expect(&mut raw, "GET s", "$1\r\nx\r\n");
    // Arguments are checked before the type, as in Redis.
    expect_all(
        &mut raw,
        &[
            ("HINCRBY s a x", NOT_INT),
            ("HINCRBYFLOAT s a x", NOT_FLOAT),
            ("HRANDFIELD s x", NOT_INT),
            ("HRANDFIELD s 1 BAD", SYNTAX),
            ("HSCAN s x", "-ERR invalid cursor\r\n"),
            (
                "HSET s a",
                "-ERR wrong number of arguments for 'hset' command\r\n",
            ),
        ],
    );
}

#[test]
fn a_hash_becomes_a_hashtable_past_512_fields_and_stays_one() {
    let node = Shoal::start();
    let mut raw = node.raw();
    fill(&mut raw, "h", 512);
    expect(&mut raw, "OBJECT ENCODING h", "$8\r\nlistpack\r\n");
    expect(&mut raw, "HSET h one-more x", ":1\r\n");
    expect(&mut raw, "OBJECT ENCODING h", "$9\r\nhashtable\r\n");
    assert_eq!(int(&mut raw, "HLEN h"), 513);
    for i in 0..512 {
        let field = format!("f{i}");
        assert_eq!(
            call(&mut raw, &["HGET", "h", &field]),
            bulk(&format!("v{i}"))
        );
    }
    for i in 0..510 {
        assert_eq!(call(&mut raw, &["HDEL", "h", &format!("f{i}")]), ":1\r\n");
    }
    expect(&mut raw, "OBJECT ENCODING h", "$9\r\nhashtable\r\n");
    assert_eq!(int(&mut raw, "HLEN h"), 3);
}

#[test]
fn a_field_or_value_over_64_bytes_makes_a_hashtable() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let (at_limit, over) = ("x".repeat(64), "x".repeat(65));
    assert_eq!(call(&mut raw, &["HSET", "v", "f", &at_limit]), ":1\r\n");
    assert_eq!(call(&mut raw, &["HSET", "k", &at_limit, "v"]), ":1\r\n");
    expect(&mut raw, "OBJECT ENCODING v", "$8\r\nlistpack\r\n");
    expect(&mut raw, "OBJECT ENCODING k", "$8\r\nlistpack\r\n");
    assert_eq!(call(&mut raw, &["HSET", "v", "f", &over]), ":0\r\n");
    assert_eq!(call(&mut raw, &["HSETNX", "k", &over, "v"]), ":1\r\n");
    expect(&mut raw, "OBJECT ENCODING v", "$9\r\nhashtable\r\n");
    expect(&mut raw, "OBJECT ENCODING k", "$9\r\nhashtable\r\n");
    assert_eq!(call(&mut raw, &["HGET", "v", "f"]), bulk(&over));
    // HSETNX on an existing field changes nothing, so nothing converts.
    assert_eq!(call(&mut raw, &["HSET", "n", "f", "1"]), ":1\r\n");
    assert_eq!(call(&mut raw, &["HSETNX", "n", "f", &over]), ":0\r\n");
    expect(&mut raw, "OBJECT ENCODING n", "$8\r\nlistpack\r\n");
    // A counter whose text grows past 64 bytes converts too.
    expect(
        &mut raw,
        "HINCRBYFLOAT c f 1e20",
        "$21\r\n100000000000000000000\r\n",
    );
    expect(&mut raw, "OBJECT ENCODING c", "$8\r\nlistpack\r\n");
    let long = raw.call(&["HINCRBYFLOAT", "c", "f", "1e70"]);
    assert!(long.starts_with("$71\r\n1000000000"), "{long:?}");
    expect(&mut raw, "OBJECT ENCODING c", "$9\r\nhashtable\r\n");
}

#[test]
fn hrandfield_without_a_count_answers_one_field_or_nil() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "HRANDFIELD h", "$-1\r\n");
    expect(&mut raw, "HSET h a 1 b 2 c 3", ":3\r\n");
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let reply = raw.call(&["HRANDFIELD", "h"]);
        let field = reply.lines().nth(1).unwrap_or_default().to_string();
        assert!(["a", "b", "c"].contains(&field.as_str()), "{reply:?}");
        seen.insert(field);
    }
    assert_eq!(
        seen.len(),
        3,
        "200 picks among 3 fields should see them all"
    );
    raw.call(&["HELLO", "3"]);
    expect(&mut raw, "HRANDFIELD nokey", "_\r\n");
}

#[test]
fn hrandfield_with_a_positive_count_answers_distinct_fields() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("HRANDFIELD nokey 3", "*0\r\n"),
            ("HRANDFIELD nokey 3 WITHVALUES", "*0\r\n"),
            ("HSET h a 1 b 2 c 3", ":3\r\n"),
            ("HRANDFIELD h 0", "*0\r\n"),
            ("HRANDFIELD h 0 WITHVALUES", "*0\r\n"),
            // More than there are: the whole hash, in its order.
            ("HRANDFIELD h 5", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
            (
                "HRANDFIELD h 3 withvalues",
                "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
            ),
        ],
    );
    for (key, size) in [("small", 20), ("large", 600)] {
        fill(&mut raw, key, size);
        for count in [1, 2, size / 4, size / 2, size - 1] {
            let reply = call(&mut raw, &["HRANDFIELD", key, &count.to_string()]);
            let fields = bulks(&reply);
            assert_eq!(fields.len(), count, "{key} {count}");
            let distinct: HashSet<_> = fields.iter().collect();
            assert_eq!(distinct.len(), count, "{key} {count}: repeated fields");
            let with = call(
                &mut raw,
                &["HRANDFIELD", key, &count.to_string(), "WITHVALUES"],
            );
            let items = bulks(&with);
            assert_eq!(items.len(), 2 * count);
            for pair in items.chunks(2) {
                assert_eq!(
                    pair[1],
                    pair[0].replace('f', "v"),
                    "{key}: value of {}",
                    pair[0]
                );
            }
        }
    }
    // Random: two picks of 5 among 600 are almost never the same.
    let picks: HashSet<_> = (0..10)
        .map(|_| call(&mut raw, &["HRANDFIELD", "large", "5"]))
        .collect();
    assert!(picks.len() > 1, "ten picks were all the same");
}

#[test]
fn hrandfield_with_a_negative_count_may_repeat_fields() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("HSET one f v", ":1\r\n"),
            (
                "HRANDFIELD one -3",
                "*3\r\n$1\r\nf\r\n$1\r\nf\r\n$1\r\nf\r\n",
            ),
            (
                "HRANDFIELD one -2 WITHVALUES",
                "*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nf\r\n$1\r\nv\r\n",
            ),
            ("HRANDFIELD nokey -2", "*0\r\n"),
        ],
    );
    for (key, size) in [("small", 5), ("large", 600)] {
        fill(&mut raw, key, size);
        let fields = bulks(&call(&mut raw, &["HRANDFIELD", key, "-2000"]));
        assert_eq!(fields.len(), 2000);
        let distinct: HashSet<_> = fields.iter().collect();
        assert!(distinct.len() < 2000, "{key}: 2000 picks never repeated");
        assert!(fields.iter().all(|f| f.starts_with('f')));
        if size == 5 {
            assert_eq!(distinct.len(), 5, "2000 picks should reach all 5 fields");
        }
    }
}

#[test]
fn hrandfield_refuses_bad_counts_and_options() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "HSET h a 1", ":1\r\n");
    expect_all(
        &mut raw,
        &[
            ("HRANDFIELD h x", NOT_INT),
            ("HRANDFIELD h 1.5", NOT_INT),
            (
                "HRANDFIELD h -9223372036854775808",
                "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
            ),
            ("HRANDFIELD h 1 WITHSCORES", SYNTAX),
            ("HRANDFIELD h 1 WITHVALUES x", SYNTAX),
            (
                "HRANDFIELD h 4611686018427387904 WITHVALUES",
                "-ERR value is out of range\r\n",
            ),
            (
                "HRANDFIELD h -4611686018427387904 WITHVALUES",
                "-ERR value is out of range\r\n",
            ),
            // Half the range is still accepted (the hash answers whole).
            (
                "HRANDFIELD h 4611686018427387903 WITHVALUES",
                "*2\r\n$1\r\na\r\n$1\r\n1\r\n",
            ),
        ],
    );
}

#[test]
fn resp3_answers_hrandfield_withvalues_as_pairs() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["HELLO", "3"]);
    expect_all(
        &mut raw,
        &[
            ("HSET h a 1 b 2", ":2\r\n"),
            (
                "HRANDFIELD h 2 WITHVALUES",
                "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
            ),
            ("HRANDFIELD h 2", "*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
            ("HSET one f v", ":1\r\n"),
            (
                "HRANDFIELD one -2 WITHVALUES",
                "*2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
            ),
            ("HRANDFIELD nokey 2 WITHVALUES", "*0\r\n"),
        ],
    );
}

#[test]
fn hscan_returns_a_small_hash_whole_with_cursor_zero() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("HSCAN nokey 0", "*2\r\n$1\r\n0\r\n*0\r\n"),
            // A missing key answers before the options are read.
            ("HSCAN nokey 0 COUNT 0", "*2\r\n$1\r\n0\r\n*0\r\n"),
            ("HSET h a 1 ab 2 b 3", ":3\r\n"),
            (
                "HSCAN h 0 COUNT 1",
                "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n3\r\n",
            ),
            (
                "HSCAN h 0 MATCH a*",
                "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n2\r\n",
            ),
            ("HSCAN h 0 match x* count 100", "*2\r\n$1\r\n0\r\n*0\r\n"),
            // Options repeat; the last one wins.
            (
                "HSCAN h 0 MATCH x* MATCH b",
                "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n3\r\n",
            ),
        ],
    );
    raw.call(&["HELLO", "3"]);
    expect(
        &mut raw,
        "HSCAN h 0 MATCH b",
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n3\r\n",
    );
}

#[test]
fn hscan_refuses_bad_cursors_and_options() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "HSET h a 1", ":1\r\n");
    expect(&mut raw, "SADD s a", ":1\r\n");
    expect_all(
        &mut raw,
        &[
            ("HSCAN h x", "-ERR invalid cursor\r\n"),
            ("HSCAN h 1x", "-ERR invalid cursor\r\n"),
            ("HSCAN h 18446744073709551616", "-ERR invalid cursor\r\n"),
            ("HSCAN nokey x", "-ERR invalid cursor\r\n"),
            ("HSCAN h 0 COUNT 0", SYNTAX),
            ("HSCAN h 0 COUNT -1", SYNTAX),
            ("HSCAN h 0 COUNT x", NOT_INT),
            ("HSCAN h 0 COUNT", SYNTAX),
            ("HSCAN h 0 MATCH", SYNTAX),
            ("HSCAN h 0 TYPE string", SYNTAX),
            // NOVALUES (Redis 7.4) gives the fields alone, wherever it comes; only HSCAN
            // takes it.
            ("HSCAN h 0 NOVALUES", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"),
            (
                "HSCAN h 0 novalues MATCH a* COUNT 5",
                "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n",
            ),
            ("HSCAN nokey 0 NOVALUES", "*2\r\n$1\r\n0\r\n*0\r\n"),
            ("HSCAN h 0 NOVALUES COUNT", SYNTAX),
            (
                "SCAN 0 NOVALUES",
                "-ERR NOVALUES option can only be used in HSCAN\r\n",
            ),
            (
                "SSCAN s 0 NOVALUES",
                "-ERR NOVALUES option can only be used in HSCAN\r\n",
            ),
            // Any cursor on a small hash answers it whole.
            (
                "HSCAN h 12345",
                "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
            ),
        ],
    );
}

/// Walks `key` with HSCAN until the cursor comes back to 0; returns the pairs seen and how
/// many calls it took.
fn walk(raw: &mut Raw, key: &str, options: &[&str]) -> (Vec<(String, String)>, usize) {
    let mut cursor = "0".to_string();
    let mut pairs = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["HSCAN", key, cursor.as_str()];
        args.extend_from_slice(options);
        let reply = raw.call(&args);
        calls += 1;
        let items = bulks(&reply);
        let (next, rest) = items.split_first().expect("a cursor");
        for pair in rest.chunks(2) {
            pairs.push((pair[0].clone(), pair[1].clone()));
        }
        cursor = next.clone();
        if cursor == "0" {
            return (pairs, calls);
        }
        assert!(calls < 100_000, "the walk never ended");
    }
}

#[test]
fn hscan_walks_a_large_hash_with_a_cursor_seeing_every_field() {
    let node = Shoal::start();
    let mut raw = node.raw();
    fill(&mut raw, "h", 2000);
    let (pairs, calls) = walk(&mut raw, "h", &[]);
    assert!(calls > 10, "2000 fields came back in {calls} calls");
    let fields: HashSet<_> = pairs.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(fields.len(), 2000);
    assert!(pairs.iter().all(|(f, v)| *v == f.replace('f', "v")));
    let (_, fewer_calls) = walk(&mut raw, "h", &["COUNT", "500"]);
    assert!(fewer_calls < calls);
    let (matched, _) = walk(&mut raw, "h", &["MATCH", "f1?", "COUNT", "100"]);
    let matched: HashSet<_> = matched.into_iter().map(|(f, _)| f).collect();
    let expected: HashSet<_> = (10..20).map(|i| format!("f{i}")).collect();
    assert_eq!(matched, expected);
}

#[test]
fn hscan_misses_no_field_present_throughout_while_the_hash_changes() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let mut writer = node.raw();
    fill(&mut raw, "h", 1000);
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut step = 0;
    loop {
        let items = bulks(&call(&mut raw, &["HSCAN", "h", &cursor, "COUNT", "20"]));
        let (next, rest) = items.split_first().expect("a cursor");
        seen.extend(rest.chunks(2).map(|pair| pair[0].clone()));
        cursor = next.clone();
        step += 1;
        // Grow the table a lot, then remove what was added (it shrinks back).
        if step == 3 {
            for i in 0..3000 {
                writer.call(&["HSET", "h", &format!("g{i}"), "x"]);
            }
        }
        if step == 10 {
            for i in 0..3000 {
                writer.call(&["HDEL", "h", &format!("g{i}")]);
            }
        }
        if cursor == "0" {
            break;
        }
    }
    for i in 0..1000 {
        assert!(seen.contains(&format!("f{i}")), "f{i} was missed");
    }
}

#[test]
fn a_refused_or_empty_change_does_not_abort_a_watching_transaction() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let mut other = node.raw();
    expect(&mut raw, "HSET h a 1", ":1\r\n");
    expect(&mut raw, "WATCH h", "+OK\r\n");
    expect_all(
        &mut other,
        &[
            ("HSETNX h a 2", ":0\r\n"),
            ("HDEL h nope", ":0\r\n"),
            ("HINCRBY h a x", NOT_INT),
        ],
    );
    expect(&mut raw, "MULTI", "+OK\r\n");
    expect(&mut raw, "HGET h a", "+QUEUED\r\n");
    expect(&mut raw, "EXEC", "*1\r\n$1\r\n1\r\n");
    // A real change does abort it.
    expect(&mut raw, "WATCH h", "+OK\r\n");
    expect(&mut other, "HINCRBY h a 1", ":2\r\n");
    expect(&mut raw, "MULTI", "+OK\r\n");
    expect(&mut raw, "HGET h a", "+QUEUED\r\n");
    expect(&mut raw, "EXEC", "*-1\r\n");
}

#[test]
fn changing_a_hash_keeps_its_time_to_live() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let _: i64 = conn.hset("h", "a", "1").expect("hset");
    let _: bool = conn.expire("h", 1000).expect("expire");
    let _: i64 = conn.hset("h", "b", "2").expect("hset");
    let _: i64 = conn.hincr("h", "n", 1).expect("hincrby");
    let _: i64 = conn.hdel("h", "a").expect("hdel");
    let ttl: i64 = conn.ttl("h").expect("ttl");
    assert!(ttl > 0 && ttl <= 1000, "{ttl}");
}

#[test]
fn hash_commands_are_described_in_command_info_and_docs() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let info = raw.call(&["COMMAND", "INFO", "hset", "hrandfield"]);
    assert!(
        info.starts_with("*2\r\n*10\r\n$4\r\nhset\r\n:-4\r\n*3\r\n+write\r\n+denyoom\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"),
        "{info:?}"
    );
    assert!(
        info.contains("$10\r\nhrandfield\r\n:-2\r\n*1\r\n+readonly\r\n"),
        "{info:?}"
    );
    let docs = raw.call(&["COMMAND", "DOCS", "hscan"]);
    assert!(docs.contains("$4\r\nhash\r\n"), "{docs:?}");
    assert!(docs.contains("$5\r\nMATCH\r\n"), "{docs:?}");
    let count = int(&mut raw, "COMMAND COUNT");
    assert!(count > 16);
}

/// Commands whose replies are deterministic, compared byte for byte with Redis.
const COMPARED: &[&[&str]] = &[
    &["HSET", "h", "a", "1", "b", "2", "a", "3"],
    &["HSET", "h", "a"],
    &["HMSET", "h", "c", "3"],
    &["HSETNX", "h", "c", "4"],
    &["HSETNX", "h", "d", "4"],
    &["HGETALL", "h"],
    &["HKEYS", "h"],
    &["HVALS", "h"],
    &["HMGET", "h", "a", "x", "d"],
    &["HGET", "h", "x"],
    &["HEXISTS", "h", "a"],
    &["HSTRLEN", "h", "a"],
    &["HLEN", "h"],
    &["HINCRBY", "h", "a", "10"],
    &["HINCRBY", "h", "a", "x"],
    &["HINCRBY", "h", "x", "9223372036854775807"],
    &["HINCRBY", "h", "x", "1"],
    &["HINCRBYFLOAT", "h", "f", "1.1"],
    &["HINCRBYFLOAT", "h", "f", "3.0e3"],
    &["HINCRBYFLOAT", "h", "f", "-inf"],
    &["HINCRBYFLOAT", "h", "f", "1e-5000"],
    &["HINCRBYFLOAT", "h", "a", "0.5"],
    &["HSET", "h", "t", "12 "],
    &["HINCRBYFLOAT", "h", "t", "1"],
    &["HINCRBY", "h", "t", "1"],
    &["HRANDFIELD", "h", "100"],
    &["HRANDFIELD", "h", "100", "WITHVALUES"],
    &["HRANDFIELD", "h", "0"],
    &["HRANDFIELD", "h", "1", "2"],
    &["HRANDFIELD", "h", "-9223372036854775808"],
    &["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"],
    &["HRANDFIELD", "nokey"],
    &["HRANDFIELD", "nokey", "-5"],
    &["HSCAN", "h", "0"],
    &["HSCAN", "h", "0", "MATCH", "[a-c]", "COUNT", "1"],
    &["HSCAN", "h", "0", "MATCH", "*"],
    &["HSCAN", "h", "-1"],
    &["HSCAN", "h", "0", "COUNT", "0"],
    &["HSCAN", "h", "0", "MATCH"],
    &["HSCAN", "nokey", "0", "TYPE", "x"],
    &["HDEL", "h", "a", "a", "zz"],
    &["HDEL", "h", "b", "c", "d", "x", "f", "t"],
    &["EXISTS", "h"],
    &["SET", "s", "v"],
    &["HGET", "s", "a"],
    &["HSCAN", "s", "0", "BAD"],
    &["HRANDFIELD", "s", "1", "WITHVALUES"],
    &["HSET", "e", "", ""],
    &["HGETALL", "e"],
    &["OBJECT", "ENCODING", "e"],
];

#[test]
fn hash_replies_match_the_reference_redis() {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.raw(), redis.raw());
    for protocol in ["2", "3"] {
        ours.call(&["HELLO", protocol]);
        theirs.call(&["HELLO", protocol]);
        ours.call(&["FLUSHALL"]);
        theirs.call(&["FLUSHALL"]);
        for command in COMPARED {
            assert_eq!(
                ours.call(command),
                theirs.call(command),
                "RESP{protocol} {command:?}"
            );
        }
    }
}

#[test]
fn small_hash_orders_and_encodings_match_the_reference_redis() {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.raw(), redis.raw());
    let mut both = |args: &[&str]| {
        assert_eq!(ours.call(args), theirs.call(args), "{args:?}");
    };
    for i in 0..512 {
        both(&["HSET", "h", &format!("field:{i}"), &i.to_string()]);
        if i % 7 == 0 {
            both(&["HDEL", "h", &format!("field:{}", i / 2)]);
        }
    }
    both(&["OBJECT", "ENCODING", "h"]);
    both(&["HGETALL", "h"]);
    both(&["HSCAN", "h", "0", "MATCH", "field:1*"]);
    for i in 0..600 {
        both(&["HSET", "h", &format!("more:{i}"), "x"]);
    }
    both(&["OBJECT", "ENCODING", "h"]);
    both(&["HLEN", "h"]);
    both(&["HSET", "v", "f", &"y".repeat(64)]);
    both(&["OBJECT", "ENCODING", "v"]);
    both(&["HSET", "v", "g", &"y".repeat(65)]);
    both(&["OBJECT", "ENCODING", "v"]);
}
