//! String commands end to end: every option Redis 7 accepts, the exact replies and the exact
//! error texts. Expected replies were taken from redis-server 7.0.15; the last test compares
//! a table of commands against a live reference server when one is installed.

use redis::Commands;
use shoal_tests::{Raw, RedisServer, Shoal, expect, expect_all, int};
use std::time::{Duration, Instant};

/// Polls until `key` is gone; fails after a generous deadline.
fn wait_until_gone(conn: &mut redis::Connection, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while conn.exists::<_, bool>(key).expect("exists") {
        assert!(Instant::now() < deadline, "{key} never expired");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";

#[test]
fn get_answers_the_stored_string_or_nil() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let missing: Option<String> = conn.get("k").expect("get");
    assert_eq!(missing, None);
    let _: () = conn.set("k", "hello").expect("set");
    let value: String = conn.get("k").expect("get");
    assert_eq!(value, "hello");
    let binary = b"a\0b\r\n\xff".to_vec();
    let _: () = conn.set("bin", &binary).expect("set");
    let back: Vec<u8> = conn.get("bin").expect("get");
    assert_eq!(back, binary);
    expect(&mut node.raw(), "GET nokey", "$-1\r\n");
}

#[test]
fn set_nx_and_xx_write_only_when_the_key_is_missing_or_present() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SET k v XX", "$-1\r\n"),
            ("EXISTS k", ":0\r\n"),
            ("SET k v NX", "+OK\r\n"),
            ("SET k v2 NX", "$-1\r\n"),
            ("SET k v3 XX", "+OK\r\n"),
            ("GET k", "$2\r\nv3\r\n"),
            ("set k v4 nx", "$-1\r\n"),
            ("set k v4 xx", "+OK\r\n"),
        ],
    );
}

#[test]
fn set_refuses_conflicting_options_and_accepts_repeated_ones() {
    let node = Shoal::start();
    let mut raw = node.raw();
    for conflicting in [
        "SET k v NX XX",
        "SET k v XX NX",
        "SET k v EX 10 PX 20",
        "SET k v EX 10 KEEPTTL",
        "SET k v KEEPTTL EX 10",
        "SET k v PX 100 EXAT 10",
        "SET k v EXAT 10 PXAT 10",
        "SET k v PXAT 10 KEEPTTL",
        "SET k v EX",
        "SET k v PX",
        "SET k v PERSIST",
        "SET k v FOO",
        // The option is refused before the time is even read.
        "SET k v EX abc NX XX",
    ] {
        expect(&mut raw, conflicting, SYNTAX);
    }
    expect(&mut raw, "EXISTS k", ":0\r\n");
    expect_all(
        &mut raw,
        &[
            ("SET k v NX NX", "+OK\r\n"),
            ("SET k v XX XX", "+OK\r\n"),
            ("SET k v GET GET", "$1\r\nv\r\n"),
            ("SET k v KEEPTTL KEEPTTL", "+OK\r\n"),
            // The same expiry twice: the last one wins.
            ("SET k v EXAT 4000000000 EXAT 4000000001", "+OK\r\n"),
            ("EXPIRETIME k", ":4000000001\r\n"),
        ],
    );
}

#[test]
fn set_rejects_invalid_expire_times() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let invalid = "-ERR invalid expire time in 'set' command\r\n";
    for (command, reply) in [
        ("SET k v EX 0", invalid),
        ("SET k v EX -1", invalid),
        ("SET k v PX 0", invalid),
        ("SET k v EXAT 0", invalid),
        ("SET k v PXAT -5", invalid),
        // Seconds that overflow once turned into milliseconds.
        ("SET k v EX 9223372036854775807", invalid),
        ("SET k v EXAT 9223372036854776", invalid),
        // Milliseconds that overflow once the current time is added.
        ("SET k v PX 9223372036854775807", invalid),
        ("SET k v EX abc", NOT_INT),
        ("SET k v EX 1.5", NOT_INT),
        ("SET k v PX 99999999999999999999", NOT_INT),
    ] {
        expect(&mut raw, command, reply);
    }
    expect(&mut raw, "EXISTS k", ":0\r\n");
    expect(
        &mut node.raw(),
        "SETEX k 0 v",
        "-ERR invalid expire time in 'setex' command\r\n",
    );
    expect(
        &mut raw,
        "PSETEX k -5 v",
        "-ERR invalid expire time in 'psetex' command\r\n",
    );
    expect(&mut raw, "SETEX k abc v", NOT_INT);
}

#[test]
fn set_get_answers_the_old_value_even_when_nx_or_xx_stop_the_write() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SET k v1 GET", "$-1\r\n"),
            ("SET k v2 GET", "$2\r\nv1\r\n"),
            ("SET k v3 NX GET", "$2\r\nv2\r\n"),
            ("GET k", "$2\r\nv2\r\n"),
            ("SET k v4 XX GET", "$2\r\nv2\r\n"),
            ("GET k", "$2\r\nv4\r\n"),
            ("SET missing v XX GET", "$-1\r\n"),
            ("EXISTS missing", ":0\r\n"),
            ("SET missing v NX GET", "$-1\r\n"),
            ("GET missing", "$1\r\nv\r\n"),
        ],
    );
}

#[test]
fn set_expiry_options_set_the_ttl_and_keepttl_keeps_it() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "SET k v EX 100", "+OK\r\n");
    let ttl = int(&mut raw, "TTL k");
    assert!((1..=100).contains(&ttl), "ttl {ttl}");
    expect(&mut raw, "SET k v PX 100000", "+OK\r\n");
    let pttl = int(&mut raw, "PTTL k");
    assert!((1..=100_000).contains(&pttl), "pttl {pttl}");
    // Absolute times are stored exactly.
    expect(&mut raw, "SET k v EXAT 4000000000", "+OK\r\n");
    expect(&mut raw, "PEXPIRETIME k", ":4000000000000\r\n");
    expect(&mut raw, "SET k v PXAT 4000000000123", "+OK\r\n");
    expect(&mut raw, "PEXPIRETIME k", ":4000000000123\r\n");
    // KEEPTTL keeps it, with or without GET; a plain SET drops it.
    expect(&mut raw, "SET k v2 KEEPTTL", "+OK\r\n");
    expect(&mut raw, "PEXPIRETIME k", ":4000000000123\r\n");
    expect(&mut raw, "SET k v3 KEEPTTL GET", "$2\r\nv2\r\n");
    expect(&mut raw, "PEXPIRETIME k", ":4000000000123\r\n");
    expect(&mut raw, "SET k v4 XX", "+OK\r\n");
    expect(&mut raw, "TTL k", ":-1\r\n");
    // NX that does not write leaves the old expiry alone.
    expect(&mut raw, "SET k v EXAT 4000000000", "+OK\r\n");
    expect(&mut raw, "SET k other NX EX 5", "$-1\r\n");
    expect(&mut raw, "EXPIRETIME k", ":4000000000\r\n");
}

#[test]
fn set_with_an_absolute_time_in_the_past_leaves_no_key() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SET k v EXAT 1", "+OK\r\n"),
            ("GET k", "$-1\r\n"),
            ("EXISTS k", ":0\r\n"),
            ("SET k v PXAT 1 GET", "$-1\r\n"),
            ("TTL k", ":-2\r\n"),
        ],
    );
}

#[test]
fn keys_set_with_a_short_expiry_vanish() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .arg("PX")
        .arg(150)
        .query(&mut conn)
        .expect("set px");
    let _: () = redis::cmd("PSETEX")
        .arg("p")
        .arg(150)
        .arg("v")
        .query(&mut conn)
        .expect("psetex");
    wait_until_gone(&mut conn, "k");
    wait_until_gone(&mut conn, "p");
    let value: Option<String> = conn.get("k").expect("get");
    assert_eq!(value, None);
}

#[test]
fn setnx_setex_and_psetex_store_strings() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SETNX k a", ":1\r\n"),
            ("SETNX k b", ":0\r\n"),
            ("GET k", "$1\r\na\r\n"),
            ("SETEX k 100 b", "+OK\r\n"),
            ("GET k", "$1\r\nb\r\n"),
            ("PSETEX k 100000 c", "+OK\r\n"),
            ("GET k", "$1\r\nc\r\n"),
            (
                "SETEX k 1 2 3",
                "-ERR wrong number of arguments for 'setex' command\r\n",
            ),
        ],
    );
    let ttl = int(&mut raw, "PTTL k");
    assert!((1..=100_000).contains(&ttl), "pttl {ttl}");
}

#[test]
fn getset_replaces_the_value_and_drops_the_ttl() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("GETSET k a", "$-1\r\n"),
            ("SET k b EX 100", "+OK\r\n"),
            ("GETSET k c", "$1\r\nb\r\n"),
            ("GET k", "$1\r\nc\r\n"),
            ("TTL k", ":-1\r\n"),
        ],
    );
}

#[test]
fn getdel_answers_the_value_and_removes_the_key() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SET k v", "+OK\r\n"),
            ("GETDEL k", "$1\r\nv\r\n"),
            ("EXISTS k", ":0\r\n"),
            ("GETDEL k", "$-1\r\n"),
        ],
    );
}

#[test]
fn getex_sets_or_removes_the_expiry() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("GETEX missing", "$-1\r\n"),
            ("SET k v", "+OK\r\n"),
            ("GETEX k", "$1\r\nv\r\n"),
            ("TTL k", ":-1\r\n"),
            ("GETEX k EXAT 4000000000", "$1\r\nv\r\n"),
            ("EXPIRETIME k", ":4000000000\r\n"),
            ("GETEX k PXAT 4000000000123", "$1\r\nv\r\n"),
            ("PEXPIRETIME k", ":4000000000123\r\n"),
            // Without options the expiry is left alone.
            ("GETEX k", "$1\r\nv\r\n"),
            ("PEXPIRETIME k", ":4000000000123\r\n"),
            ("GETEX k PERSIST", "$1\r\nv\r\n"),
            ("TTL k", ":-1\r\n"),
            ("GETEX k PERSIST PERSIST", "$1\r\nv\r\n"),
            ("GETEX k EXAT 4000000000 EXAT 4000000001", "$1\r\nv\r\n"),
            ("EXPIRETIME k", ":4000000001\r\n"),
        ],
    );
    expect(&mut raw, "GETEX k PX 100000", "$1\r\nv\r\n");
    let pttl = int(&mut raw, "PTTL k");
    assert!((1..=100_000).contains(&pttl), "pttl {pttl}");
    for bad in [
        "GETEX k EX 10 PERSIST",
        "GETEX k PERSIST EX 10",
        "GETEX k EX 10 PX 20",
        "GETEX k KEEPTTL",
        "GETEX k NX",
        "GETEX k XX",
        "GETEX k GET",
        "GETEX k EX",
        "GETEX missing FOO",
    ] {
        expect(&mut raw, bad, SYNTAX);
    }
    // The time is checked only once the key is known to exist.
    let invalid = "-ERR invalid expire time in 'getex' command\r\n";
    expect(&mut raw, "GETEX missing EX -1", "$-1\r\n");
    expect(&mut raw, "GETEX k EX -1", invalid);
    expect(&mut raw, "GETEX k PX 0", invalid);
    expect(&mut raw, "GETEX k EXAT 9223372036854776", invalid);
    expect(&mut raw, "GETEX k EX abc", NOT_INT);
    // An absolute time already past deletes the key, after answering its value.
    expect(&mut raw, "GETEX k EXAT 1", "$1\r\nv\r\n");
    expect(&mut raw, "EXISTS k", ":0\r\n");
    expect(&mut raw, "SET k v", "+OK\r\n");
    expect(&mut raw, "GETEX k PXAT 1", "$1\r\nv\r\n");
    expect(&mut raw, "GET k", "$-1\r\n");
}

#[test]
fn mget_mset_and_msetnx_work_on_many_keys() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("MGET a b", "*2\r\n$-1\r\n$-1\r\n"),
            ("MSET a 1 b 2", "+OK\r\n"),
            ("MGET a nokey b", "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n"),
            (
                "MSET a",
                "-ERR wrong number of arguments for 'mset' command\r\n",
            ),
            (
                "MSET a 1 b",
                "-ERR wrong number of arguments for 'mset' command\r\n",
            ),
            (
                "MSETNX a 1 b",
                "-ERR wrong number of arguments for 'msetnx' command\r\n",
            ),
            (
                "MSETNX a",
                "-ERR wrong number of arguments for 'msetnx' command\r\n",
            ),
            // All or nothing: one existing key stops every write.
            ("MSETNX c 3 a 9", ":0\r\n"),
            ("MGET a c", "*2\r\n$1\r\n1\r\n$-1\r\n"),
            ("MSETNX c 3 d 4", ":1\r\n"),
            ("MGET c d", "*2\r\n$1\r\n3\r\n$1\r\n4\r\n"),
            // A key named twice: the last value wins.
            ("MSET x 1 x 2", "+OK\r\n"),
            ("GET x", "$1\r\n2\r\n"),
            ("MSETNX y 1 y 2", ":1\r\n"),
            ("GET y", "$1\r\n2\r\n"),
            // MSET drops expiries like SET does.
            ("SET t v EX 100", "+OK\r\n"),
            ("MSET t w", "+OK\r\n"),
            ("TTL t", ":-1\r\n"),
        ],
    );
}

#[test]
fn append_grows_strings_and_strlen_measures_them() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.send_command(&[b"APPEND", b"k", b"hello"]);
    assert_eq!(raw.read_reply(), ":5\r\n");
    raw.send_command(&[b"APPEND", b"k", b" world"]);
    assert_eq!(raw.read_reply(), ":11\r\n");
    expect_all(
        &mut raw,
        &[
            ("GET k", "$11\r\nhello world\r\n"),
            ("STRLEN k", ":11\r\n"),
            ("STRLEN nokey", ":0\r\n"),
            ("SET n 12345", "+OK\r\n"),
            ("STRLEN n", ":5\r\n"),
            ("APPEND n 6", ":6\r\n"),
            ("GET n", "$6\r\n123456\r\n"),
            ("SET t v EXAT 4000000000", "+OK\r\n"),
            ("APPEND t w", ":2\r\n"),
            ("EXPIRETIME t", ":4000000000\r\n"),
        ],
    );
    raw.send_command(&[b"APPEND", b"k", b""]);
    assert_eq!(raw.read_reply(), ":11\r\n");
    // Appending nothing to a missing key still creates it, empty.
    raw.send_command(&[b"APPEND", b"empty", b""]);
    assert_eq!(raw.read_reply(), ":0\r\n");
    expect(&mut raw, "EXISTS empty", ":1\r\n");
}

#[test]
fn getrange_clamps_negative_and_out_of_range_indexes() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["SET", "s", "Hello World"]);
    for (range, reply) in [
        ("0 3", "$4\r\nHell\r\n"),
        ("-3 -1", "$3\r\nrld\r\n"),
        ("0 -1", "$11\r\nHello World\r\n"),
        ("10 100", "$1\r\nd\r\n"),
        ("-100 100", "$11\r\nHello World\r\n"),
        ("-100 -50", "$1\r\nH\r\n"),
        ("-1 -5", "$0\r\n\r\n"),
        ("5 3", "$0\r\n\r\n"),
        ("100 200", "$0\r\n\r\n"),
        ("11 11", "$0\r\n\r\n"),
        ("3 -100", "$0\r\n\r\n"),
        ("0 9223372036854775807", "$11\r\nHello World\r\n"),
        ("-9223372036854775808 -1", "$11\r\nHello World\r\n"),
        ("a 1", NOT_INT),
        ("0 1.5", NOT_INT),
        ("0 9223372036854775808", NOT_INT),
    ] {
        expect(&mut raw, &format!("GETRANGE s {range}"), reply);
        expect(&mut raw, &format!("SUBSTR s {range}"), reply);
    }
    expect(&mut raw, "GETRANGE nokey 0 -1", "$0\r\n\r\n");
    // Indexes are read before the key, so a bad one is an error even for a missing key.
    expect(&mut raw, "GETRANGE nokey x 1", NOT_INT);
    raw.send_command(&[b"SET", b"e", b""]);
    raw.read_reply();
    expect(&mut raw, "GETRANGE e 0 -1", "$0\r\n\r\n");
    expect(&mut raw, "GETRANGE e -1 0", "$0\r\n\r\n");
}

#[test]
fn setrange_pads_with_zero_bytes_and_checks_the_offset() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let len: i64 = conn.setrange("k", 5, "hi").expect("setrange");
    assert_eq!(len, 7);
    let value: Vec<u8> = conn.get("k").expect("get");
    assert_eq!(value, b"\0\0\0\0\0hi");
    let len: i64 = conn.setrange("k", 0, "abc").expect("setrange");
    assert_eq!(len, 7);
    let value: Vec<u8> = conn.get("k").expect("get");
    assert_eq!(value, b"abc\0\0hi");

    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SETRANGE k -1 x", "-ERR offset is out of range\r\n"),
            ("SETRANGE k abc x", NOT_INT),
            ("SETRANGE k 1.5 x", NOT_INT),
            ("SETRANGE k 9223372036854775808 x", NOT_INT),
            // proto-max-bulk-len (512MB) bounds the result; nothing is allocated.
            (
                "SETRANGE k 536870912 x",
                "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
            ),
            (
                "SETRANGE k 9223372036854775807 x",
                "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
            ),
            ("SET n 10", "+OK\r\n"),
            ("SETRANGE n 1 5", ":2\r\n"),
            ("GET n", "$2\r\n15\r\n"),
            ("SET t v EXAT 4000000000", "+OK\r\n"),
            ("SETRANGE t 0 w", ":1\r\n"),
            ("EXPIRETIME t", ":4000000000\r\n"),
        ],
    );
    // An empty value writes nothing: the length of what is there, and no new key.
    for (args, reply) in [
        (&[&b"SETRANGE"[..], b"k", b"0", b""], ":7\r\n"),
        (&[&b"SETRANGE"[..], b"new", b"10", b""], ":0\r\n"),
        (&[&b"SETRANGE"[..], b"new", b"536870912", b""], ":0\r\n"),
        (
            &[&b"SETRANGE"[..], b"new", b"-1", b""],
            "-ERR offset is out of range\r\n",
        ),
    ] {
        raw.send_command(args);
        assert_eq!(raw.read_reply(), reply, "{args:?}");
    }
    expect(&mut raw, "EXISTS new", ":0\r\n");
}

#[test]
fn incr_and_decr_count_and_keep_the_ttl() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("INCR i", ":1\r\n"),
            ("INCR i", ":2\r\n"),
            ("DECR i", ":1\r\n"),
            ("INCRBY i 10", ":11\r\n"),
            ("INCRBY i -20", ":-9\r\n"),
            ("DECRBY i 5", ":-14\r\n"),
            ("DECRBY i -5", ":-9\r\n"),
            ("GET i", "$2\r\n-9\r\n"),
            ("DECR fresh", ":-1\r\n"),
            (
                "INCRBY new -9223372036854775808",
                ":-9223372036854775808\r\n",
            ),
            (
                "DECRBY new2 9223372036854775807",
                ":-9223372036854775807\r\n",
            ),
            ("SET t 5 EXAT 4000000000", "+OK\r\n"),
            ("INCR t", ":6\r\n"),
            ("EXPIRETIME t", ":4000000000\r\n"),
        ],
    );
}

#[test]
fn incr_refuses_overflow_and_values_that_are_not_integers() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let overflow = "-ERR increment or decrement would overflow\r\n";
    expect_all(
        &mut raw,
        &[
            ("SET i 9223372036854775807", "+OK\r\n"),
            ("INCR i", overflow),
            ("INCRBY i 1", overflow),
            ("DECR i", ":9223372036854775806\r\n"),
            ("SET i -9223372036854775808", "+OK\r\n"),
            ("DECR i", overflow),
            ("DECRBY i 1", overflow),
            ("INCRBY i -1", overflow),
            ("GET i", "$20\r\n-9223372036854775808\r\n"),
            (
                "DECRBY i -9223372036854775808",
                "-ERR decrement would overflow\r\n",
            ),
            ("INCRBY i abc", NOT_INT),
            ("INCRBY i 1.5", NOT_INT),
            ("INCRBY i 9223372036854775808", NOT_INT),
            ("DECRBY i abc", NOT_INT),
        ],
    );
    // Only canonical integers count: no spaces, signs, leading zeros or decimals.
    for stored in [
        "abc",
        "1 ",
        " 1",
        "01",
        "-0",
        "+1",
        "1.0",
        "99999999999999999999",
        "",
    ] {
        raw.send_command(&[b"SET", b"v", stored.as_bytes()]);
        assert_eq!(raw.read_reply(), "+OK\r\n");
        expect(&mut raw, "INCR v", NOT_INT);
        expect(&mut raw, "DECRBY v 1", NOT_INT);
    }
}

#[test]
fn incrbyfloat_formats_sums_like_redis_long_doubles() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("INCRBYFLOAT f 10.5", "$4\r\n10.5\r\n"),
            ("INCRBYFLOAT f 0.1", "$4\r\n10.6\r\n"),
            ("INCRBYFLOAT f -5", "$3\r\n5.6\r\n"),
            // 80-bit long double arithmetic shows through, exactly as in Redis.
            ("INCRBYFLOAT f 5.0e3", "$22\r\n5005.60000000000000009\r\n"),
            ("GET f", "$22\r\n5005.60000000000000009\r\n"),
            ("SET g 5", "+OK\r\n"),
            ("INCRBYFLOAT g 0.5", "$3\r\n5.5\r\n"),
            ("INCRBYFLOAT g 1.0e1", "$4\r\n15.5\r\n"),
            ("INCRBYFLOAT g -15.5", "$1\r\n0\r\n"),
            ("INCRBYFLOAT h 3.0e3", "$4\r\n3000\r\n"),
            (
                "INCRBYFLOAT pi 3.14159265358979323846",
                "$19\r\n3.14159265358979324\r\n",
            ),
            ("INCRBYFLOAT tiny 1e-18", "$1\r\n0\r\n"),
            (
                "INCRBYFLOAT tiny2 1.1e-17",
                "$19\r\n0.00000000000000001\r\n",
            ),
            ("INCRBYFLOAT hex 0x10", "$2\r\n16\r\n"),
            ("INCRBYFLOAT dot .5", "$3\r\n0.5\r\n"),
            ("INCRBYFLOAT plus +1", "$1\r\n1\r\n"),
            ("INCRBYFLOAT neg -0", "$1\r\n0\r\n"),
            ("SET i 10", "+OK\r\n"),
            ("INCRBYFLOAT i 1e-20", "$2\r\n10\r\n"),
        ],
    );
    // Beyond what an f64 holds: long doubles reach about 1.19e4932.
    let big = raw.call(&["INCRBYFLOAT", "big", "1e100"]);
    assert_eq!(
        big,
        "$100\r\n9999999999999999999669353532207342619498699019828496079271391541752018669482644324418977840117055488\r\n"
    );
    raw.call(&["SET", "huge", "1.7e308"]);
    let sum = raw.call(&["INCRBYFLOAT", "huge", "1.7e308"]);
    assert!(
        sum.starts_with("$309\r\n340000000000000000006273556050"),
        "{sum}"
    );
    // The TTL is kept.
    raw.call(&["SET", "t", "1", "EXAT", "4000000000"]);
    expect(&mut raw, "INCRBYFLOAT t 1.5", "$3\r\n2.5\r\n");
    expect(&mut raw, "EXPIRETIME t", ":4000000000\r\n");
}

#[test]
fn incrbyfloat_refuses_invalid_numbers_nan_and_infinity() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let nan_or_inf = "-ERR increment would produce NaN or Infinity\r\n";
    raw.call(&["SET", "f", "1.5"]);
    for increment in ["abc", "", " 1", "1 ", "nan", "1e", "1.5e", "0x", "1e5000"] {
        assert_eq!(
            raw.call(&["INCRBYFLOAT", "f", increment]),
            NOT_FLOAT,
            "{increment:?}"
        );
    }
    for increment in ["inf", "-inf", "INF", "Infinity"] {
        assert_eq!(
            raw.call(&["INCRBYFLOAT", "f", increment]),
            nan_or_inf,
            "{increment}"
        );
    }
    expect(&mut raw, "GET f", "$3\r\n1.5\r\n");
    expect_all(
        &mut raw,
        &[
            ("SET s abc", "+OK\r\n"),
            ("INCRBYFLOAT s 1", NOT_FLOAT),
            ("SET s inf", "+OK\r\n"),
            ("INCRBYFLOAT s 1", nan_or_inf),
            ("SET s 1e4932", "+OK\r\n"),
            ("INCRBYFLOAT s 1e4932", nan_or_inf),
            ("EXISTS nokey", ":0\r\n"),
            ("INCRBYFLOAT nokey inf", nan_or_inf),
            ("EXISTS nokey", ":0\r\n"),
        ],
    );
}

#[test]
fn lcs_finds_the_common_subsequence_with_every_option() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["MSET", "a", "ohmytext", "b", "mynewtext"]);
    let idx = "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n";
    let with_len = "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n";
    let long_only = "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n";
    expect_all(
        &mut raw,
        &[
            ("LCS a b", "$6\r\nmytext\r\n"),
            ("LCS a b LEN", ":6\r\n"),
            ("LCS a b len", ":6\r\n"),
            ("LCS a b IDX", idx),
            ("LCS a b IDX WITHMATCHLEN", with_len),
            ("LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN", long_only),
            ("LCS a b IDX MINMATCHLEN -4", idx),
            ("LCS a b MINMATCHLEN 3 LEN", ":6\r\n"),
            ("LCS a b LEN WITHMATCHLEN", ":6\r\n"),
            ("LCS a nokey", "$0\r\n\r\n"),
            ("LCS nokey nokey2 LEN", ":0\r\n"),
            (
                "LCS nokey nokey2 IDX",
                "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n",
            ),
            ("LCS a b IDX MINMATCHLEN abc", NOT_INT),
            ("LCS a b IDX MINMATCHLEN", SYNTAX),
            ("LCS a b FOO", SYNTAX),
            (
                "LCS a b LEN IDX",
                "-ERR If you want both the length and indexes, please just use IDX.\r\n",
            ),
            (
                "LCS a",
                "-ERR wrong number of arguments for 'lcs' command\r\n",
            ),
        ],
    );
    // RESP3 clients get a map.
    raw.call(&["HELLO", "3"]);
    expect(
        &mut raw,
        "LCS a b IDX MINMATCHLEN 4",
        "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n",
    );
}

#[test]
fn reads_count_keyspace_hits_and_misses_like_redis() {
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
    // Reads count (SET ... GET reads like GET); writes do not.
    for command in [
        "GET a",
        "GET nokey",
        "SET a 2 GET",
        "SET nokey2 2 XX GET",
        "STRLEN a",
        "SET a 3",
        "INCR counter",
        "APPEND a x",
    ] {
        raw.call(&command.split(' ').collect::<Vec<_>>());
    }
    let after = stats(&mut raw);
    assert_eq!((after.0 - before.0, after.1 - before.1), (3, 2));
}

/// Commands whose replies do not depend on time or hash order, compared byte for byte.
const COMPARED: &[&[&str]] = &[
    &["SET", "k", "v", "NX", "XX"],
    &["SET", "k", "v", "EX", "0"],
    &["SET", "k", "v", "EX", "9223372036854775807"],
    &["SET", "k", "v", "KEEPTTL", "PX", "5"],
    &["SET", "k", "v", "GET"],
    &["SET", "k", "w", "NX", "GET"],
    &["SET", "k", "v", "PXAT", "4000000000123"],
    &["PEXPIRETIME", "k"],
    &["SETEX", "k", "-1", "v"],
    &["PSETEX", "k", "abc", "v"],
    &["GETEX", "k", "PERSIST", "EX", "1"],
    &["GETEX", "k", "EX", "0"],
    &["GETEX", "k", "EXAT", "1"],
    &["GETSET", "k", "x"],
    &["GETDEL", "k"],
    &["MSET", "a", "1", "b"],
    &["MSETNX", "a", "1", "b", "2"],
    &["MGET", "a", "b", "c"],
    &["APPEND", "a", "23"],
    &["GETRANGE", "a", "-2", "-1"],
    &["SUBSTR", "a", "5", "1"],
    &["SETRANGE", "a", "5", "x"],
    &["GET", "a"],
    &["SETRANGE", "a", "-1", "x"],
    &["INCR", "a"],
    &["INCRBY", "b", "9223372036854775807"],
    &["DECRBY", "b", "-9223372036854775808"],
    &["INCRBYFLOAT", "fl", "10.5"],
    &["INCRBYFLOAT", "fl", "0.1"],
    &["INCRBYFLOAT", "fl", "5000"],
    &["INCRBYFLOAT", "fl", "-1e400"],
    &["INCRBYFLOAT", "fl", "1.5e-3"],
    &["INCRBYFLOAT", "fl", "0x1p-3"],
    &["INCRBYFLOAT", "fl", "nan"],
    &["INCRBYFLOAT", "fl", "inf"],
    &["SET", "x", "ohmytext"],
    &["SET", "y", "mynewtext"],
    &["LCS", "x", "y", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "2"],
    &["LCS", "x", "y", "IDX", "LEN"],
    &["STRLEN", "x"],
];

#[test]
fn string_replies_match_the_reference_redis() {
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

#[test]
fn object_encoding_follows_how_the_string_was_written() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SET n 123", "+OK\r\n"),
            ("OBJECT ENCODING n", "$3\r\nint\r\n"),
            ("APPEND n 4", ":4\r\n"),
            ("OBJECT ENCODING n", "$3\r\nraw\r\n"),
            ("SET m 10", "+OK\r\n"),
            ("SETRANGE m 1 5", ":2\r\n"),
            ("OBJECT ENCODING m", "$3\r\nraw\r\n"),
            ("INCRBYFLOAT f 1", "$1\r\n1\r\n"),
            ("OBJECT ENCODING f", "$6\r\nembstr\r\n"),
            ("INCR c", ":1\r\n"),
            ("OBJECT ENCODING c", "$3\r\nint\r\n"),
            ("SET s hello", "+OK\r\n"),
            ("OBJECT ENCODING s", "$6\r\nembstr\r\n"),
            ("COPY n n2", ":1\r\n"),
            ("OBJECT ENCODING n2", "$3\r\nraw\r\n"),
            ("RENAME f f2", "+OK\r\n"),
            ("OBJECT ENCODING f2", "$6\r\nembstr\r\n"),
        ],
    );
    let long = "x".repeat(45);
    assert_eq!(raw.call(&["SET", "long", &long]), "+OK\r\n");
    assert_eq!(raw.call(&["OBJECT", "ENCODING", "long"]), "$3\r\nraw\r\n");
}
