//! Redis 7.4's hash-field expiration end to end: HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT,
//! HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME and HPERSIST. Their per-field reply codes, the exact
//! error texts, fields really expiring (lazily and actively) for every hash read, what other
//! writes do to a field's TTL, encodings, keyspace notifications, INFO, client tracking, RESP3
//! and a cluster. Expected replies were read off Redis 7.4.1's `src/t_hash.c` (no 7.4 server
//! is installed to compare with), so they are written out literally. Timing is never asserted:
//! what must happen after a deadline is polled for, within generous limits.

use shoal_tests::{
    Raw, Shoal, TestCluster, eventually, expect, expect_all, int, key_slot, primary_port,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2100-01-01T00:00:00Z in seconds: a fixed deadline far enough away.
const T: i64 = 4_102_444_800;
/// The largest deadline Redis accepts, in ms (`EB_EXPIRE_TIME_MAX >> 2`, 2^46 - 1).
const MAX_MS: i64 = 70_368_744_177_663;
const PATIENCE: Duration = Duration::from_secs(10);

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NO_FIELDS: &str =
    "-ERR Mandatory argument FIELDS is missing or not at the right position\r\n";
const MISMATCH: &str = "-ERR The `numfields` parameter must match the number of arguments\r\n";
/// The HEXPIRE family's refusal of a `numfields` of 0, negative or not a number...
const SET_NUMFIELDS: &str = "-ERR Parameter `numFields` should be greater than 0\r\n";
/// ...and HTTL's, HPTTL's, HEXPIRETIME's, HPEXPIRETIME's and HPERSIST's.
const GET_NUMFIELDS: &str = "-ERR Number of fields must be a positive integer\r\n";
const NEGATIVE: &str = "-ERR invalid expire time, must be >= 0\r\n";

const SETTERS: [&str; 4] = ["HEXPIRE", "HPEXPIRE", "HEXPIREAT", "HPEXPIREAT"];
const GETTERS: [&str; 4] = ["HTTL", "HPTTL", "HEXPIRETIME", "HPEXPIRETIME"];

/// An array of integers as RESP writes it (the same in RESP2 and RESP3).
fn ints(values: &[i64]) -> String {
    let mut out = format!("*{}\r\n", values.len());
    for v in values {
        out.push_str(&format!(":{v}\r\n"));
    }
    out
}

/// Sends a command (arguments split on spaces) and checks its array of integer codes.
#[track_caller]
fn codes(raw: &mut Raw, command: &str, values: &[i64]) {
    expect(raw, command, &ints(values));
}

/// Parses an array of integers.
fn parse_ints(reply: &str) -> Vec<i64> {
    assert!(reply.starts_with('*'), "not an array: {reply:?}");
    reply
        .split("\r\n")
        .skip(1)
        .filter_map(|l| l.strip_prefix(':'))
        .map(|n| n.parse().expect("an integer"))
        .collect()
}

/// The one integer of a one-field command's reply (arguments split on spaces).
#[track_caller]
fn one(raw: &mut Raw, command: &str) -> i64 {
    let args: Vec<&str> = command.split(' ').collect();
    let values = parse_ints(&raw.call(&args));
    assert_eq!(values.len(), 1, "{command}");
    values[0]
}

/// Parses a flat array of bulk strings (what HKEYS, HRANDFIELD... answer; HSCAN's cursor too).
fn bulks(reply: &str) -> Vec<String> {
    assert!(reply.starts_with('*'), "not an array: {reply:?}");
    let mut lines = reply.split("\r\n").skip(1);
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        if line.starts_with('$') && line != "$-1" {
            out.push(lines.next().unwrap_or_default().to_string());
        }
    }
    out
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

/// Every field and value HSCAN walks, sorted.
fn hscan_all(raw: &mut Raw, key: &str) -> Vec<String> {
    let (mut cursor, mut out) = ("0".to_string(), Vec::new());
    loop {
        let items = bulks(&raw.call(&["HSCAN", key, &cursor]));
        let (next, rest) = items.split_first().expect("a cursor");
        out.extend_from_slice(rest);
        if next == "0" {
            return sorted(out);
        }
        cursor = next.clone();
    }
}

fn call_owned(raw: &mut Raw, args: &[String]) -> String {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    raw.call(&args)
}

/// HSET of `n` fields `f0..` with values `v0..` in one call.
fn fill(raw: &mut Raw, key: &str, n: usize) {
    let mut args = vec!["HSET".to_string(), key.to_string()];
    for i in 0..n {
        args.push(format!("f{i}"));
        args.push(format!("v{i}"));
    }
    assert_eq!(call_owned(raw, &args), format!(":{n}\r\n"));
}

fn now_ms() -> i64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    i64::try_from(ms).expect("ms fit")
}

/// `name` of `INFO section`.
fn info_field(raw: &mut Raw, section: &str, name: &str) -> String {
    let info = raw.call(&["INFO", section]);
    info.split("\r\n")
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_default()
        .to_string()
}

fn expired_subkeys(raw: &mut Raw) -> i64 {
    info_field(raw, "stats", "expired_subkeys")
        .parse()
        .expect("expired_subkeys in INFO stats")
}

/// The next keyspace event a `__keyevent@0__:*` subscriber hears, as `event key`.
fn next_event(subscriber: &mut Raw) -> String {
    loop {
        let reply = subscriber.read_reply();
        let parts: Vec<&str> = reply.split("\r\n").collect();
        // *4 $8 pmessage $n pattern $n channel $n key
        if parts.get(2) == Some(&"pmessage") {
            let event = parts[6].strip_prefix("__keyevent@0__:").expect("an event");
            return format!("{event} {}", parts[8]);
        }
    }
}

#[test]
fn a_missing_key_answers_minus_two_for_every_field_and_stays_missing() {
    let node = Shoal::start();
    let mut raw = node.raw();
    for command in SETTERS {
        codes(
            &mut raw,
            &format!("{command} nokey {T} FIELDS 2 a b"),
            &[-2, -2],
        );
    }
    for command in GETTERS.iter().chain(&["HPERSIST"]) {
        codes(
            &mut raw,
            &format!("{command} nokey FIELDS 3 a b a"),
            &[-2, -2, -2],
        );
    }
    expect(&mut raw, "EXISTS nokey", ":0\r\n");
}

#[test]
fn each_command_answers_a_code_per_field() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "HSET h a 1 b 2 c 3", ":3\r\n");
    // No TTL yet: -1 for a field, -2 for a missing one, from every reader and HPERSIST.
    for command in GETTERS.iter().chain(&["HPERSIST"]) {
        codes(&mut raw, &format!("{command} h FIELDS 2 a nope"), &[-1, -2]);
    }
    let before = now_ms();
    codes(&mut raw, "HEXPIRE h 100 FIELDS 2 a nope", &[1, -2]);
    let after = now_ms();
    let ttl = parse_ints(&raw.call(&["HTTL", "h", "FIELDS", "3", "a", "b", "nope"]));
    assert!(
        (90..=100).contains(&ttl[0]) && ttl[1..] == [-1, -2],
        "HTTL {ttl:?}"
    );
    let pttl = one(&mut raw, "HPTTL h FIELDS 1 a");
    assert!((90_000..=100_000).contains(&pttl), "HPTTL {pttl}");
    let at_ms = one(&mut raw, "HPEXPIRETIME h FIELDS 1 a");
    assert!(
        (before + 100_000..=after + 100_000).contains(&at_ms),
        "HPEXPIRETIME {at_ms}"
    );
    // HEXPIRETIME rounds the deadline up to a whole second.
    codes(
        &mut raw,
        "HEXPIRETIME h FIELDS 1 a",
        &[(at_ms + 999) / 1000],
    );
    // HPERSIST removes it: 1 once, then -1.
    codes(&mut raw, "HPERSIST h FIELDS 3 a b nope", &[1, -1, -2]);
    codes(&mut raw, "HPERSIST h FIELDS 1 a", &[-1]);
    codes(&mut raw, "HPTTL h FIELDS 1 a", &[-1]);
    // Keywords in any case; a field named twice is set twice (NX: only the first time).
    codes(&mut raw, "hpexpire h 100000 nx fields 2 b b", &[1, 0]);
    codes(&mut raw, "HPEXPIRE h 100000 FIELDS 2 b b", &[1, 1]);
    // A time that is now or past deletes the field (2), with or without a TTL.
    codes(&mut raw, "HEXPIRE h 0 FIELDS 1 a", &[2]);
    codes(&mut raw, "HEXPIREAT h 1 FIELDS 2 b nope", &[2, -2]);
    expect_all(
        &mut raw,
        &[
            ("HEXISTS h a", ":0\r\n"),
            ("HEXISTS h b", ":0\r\n"),
            ("HGETALL h", "*2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
            ("HLEN h", ":1\r\n"),
        ],
    );
    // Deleting the last field deletes the key.
    codes(&mut raw, "HPEXPIREAT h 0 FIELDS 2 c c", &[2, -2]);
    expect(&mut raw, "EXISTS h", ":0\r\n");
    codes(&mut raw, "HTTL h FIELDS 1 c", &[-2]);
}

#[test]
fn nx_xx_gt_and_lt_are_checked_field_by_field() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let t = T * 1000;
    expect(&mut raw, "HSET c a 1 b 2 c 3 d 4", ":4\r\n");
    codes(&mut raw, &format!("HPEXPIREAT c {t} FIELDS 1 a"), &[1]);
    // NX: only fields without a TTL.
    let nx = format!("HPEXPIREAT c {} NX FIELDS 3 a b nope", t + 1000);
    codes(&mut raw, &nx, &[0, 1, -2]);
    // XX: only fields with one (c has none).
    let xx = format!("HPEXPIREAT c {} XX FIELDS 2 a c", t + 2000);
    codes(&mut raw, &xx, &[1, 0]);
    // GT: a later deadline only; a field without a TTL counts as never expiring.
    let gt = format!("HPEXPIREAT c {} GT FIELDS 3 a b c", t + 1500);
    codes(&mut raw, &gt, &[0, 1, 0]);
    // LT: an earlier one only (an equal one is not); no TTL counts as later than any.
    let lt = format!("HPEXPIREAT c {} LT FIELDS 3 a b c", t + 1500);
    codes(&mut raw, &lt, &[1, 0, 1]);
    let times = [t + 1500, t + 1500, t + 1500, -1, -2];
    codes(&mut raw, "HPEXPIRETIME c FIELDS 5 a b c d nope", &times);
    // The condition is checked before a past time deletes anything.
    codes(&mut raw, "HPEXPIREAT c 1 XX FIELDS 1 d", &[0]);
    codes(&mut raw, "HPEXPIREAT c 1 GT FIELDS 1 a", &[0]);
    codes(&mut raw, "HPEXPIREAT c 1 NX FIELDS 2 a d", &[0, 2]);
    codes(&mut raw, "HPEXPIREAT c 1 LT FIELDS 1 a", &[2]);
    assert_eq!(sorted(bulks(&raw.call(&["HKEYS", "c"]))), ["b", "c"]);
}

#[test]
fn absolute_deadlines_are_kept_to_the_millisecond_up_to_the_limit() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "HSET e a 1 b 2", ":2\r\n");
    codes(&mut raw, &format!("HEXPIREAT e {T} FIELDS 1 a"), &[1]);
    let ms = T * 1000 + 123;
    codes(&mut raw, &format!("HPEXPIREAT e {ms} FIELDS 1 b"), &[1]);
    let both = ints(&[T * 1000, ms]);
    expect(&mut raw, "HPEXPIRETIME e FIELDS 2 a b", &both);
    // Seconds round up (KEY-level EXPIRETIME rounds to the nearest second instead).
    codes(&mut raw, "HEXPIRETIME e FIELDS 2 a b", &[T, T + 1]);
    // The largest deadline accepted, in both units.
    codes(&mut raw, &format!("HPEXPIREAT e {MAX_MS} FIELDS 1 a"), &[1]);
    codes(&mut raw, "HPEXPIRETIME e FIELDS 1 a", &[MAX_MS]);
    codes(&mut raw, "HEXPIRETIME e FIELDS 1 a", &[MAX_MS / 1000 + 1]);
    let max_s = MAX_MS / 1000;
    codes(&mut raw, &format!("HEXPIREAT e {max_s} FIELDS 1 b"), &[1]);
    codes(&mut raw, "HPEXPIRETIME e FIELDS 1 b", &[max_s * 1000]);
    // One past it, or a relative time that lands past it, is refused naming the command.
    let refused = [
        format!("HPEXPIREAT e {} FIELDS 1 a", MAX_MS + 1),
        format!("HEXPIREAT e {} FIELDS 1 a", max_s + 1),
        format!("HEXPIRE e {max_s} FIELDS 1 a"),
        format!("HPEXPIRE e {MAX_MS} FIELDS 1 a"),
        "HEXPIRE e 9223372036854775807 FIELDS 1 a".to_string(),
        "HPEXPIRE e 9223372036854775807 FIELDS 1 a".to_string(),
    ];
    for command in &refused {
        let name = command.split(' ').next().expect("a name").to_lowercase();
        expect(
            &mut raw,
            command,
            &format!("-ERR invalid expire time in '{name}' command\r\n"),
        );
    }
    codes(
        &mut raw,
        "HPEXPIRETIME e FIELDS 2 a b",
        &[MAX_MS, max_s * 1000],
    );
}

#[test]
fn malformed_commands_get_redis_errors_and_change_nothing() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "HSET h a 1 b 2", ":2\r\n");
    expect(&mut raw, "SET s v", "+OK\r\n");
    let cases: &[(&str, &str)] = &[
        // FIELDS missing, misspelled, or after a second condition.
        ("HEXPIRE h 100 FELDS 1 a", NO_FIELDS),
        ("HEXPIRE h 100 1 FIELDS a", NO_FIELDS),
        ("HPEXPIRE h 100 NX XX FIELDS 1 a", NO_FIELDS),
        ("HTTL h FELDS 1 a", NO_FIELDS),
        ("HPERSIST h 1 FIELDS a", NO_FIELDS),
        ("HPEXPIRETIME h NX FIELDS 1 a", NO_FIELDS),
        // numfields against the fields given.
        ("HEXPIRE h 100 FIELDS 2 a", MISMATCH),
        ("HEXPIREAT h 100 FIELDS 1 a b", MISMATCH),
        ("HPEXPIRE h 100 NX FIELDS 1", MISMATCH),
        ("HPTTL h FIELDS 3 a b", MISMATCH),
        ("HPERSIST h FIELDS 1 a b", MISMATCH),
        // numfields not positive: two texts.
        ("HEXPIRE h 100 FIELDS 0 a", SET_NUMFIELDS),
        ("HPEXPIRE h 100 FIELDS -1 a", SET_NUMFIELDS),
        ("HPEXPIREAT h 100 GT FIELDS x a", SET_NUMFIELDS),
        ("HEXPIRE nokey 100 FIELDS 0 a", SET_NUMFIELDS),
        ("HTTL h FIELDS 0 a", GET_NUMFIELDS),
        ("HEXPIRETIME h FIELDS -3 a", GET_NUMFIELDS),
        ("HPERSIST h FIELDS x a", GET_NUMFIELDS),
        ("HPTTL nokey FIELDS 0 a", GET_NUMFIELDS),
        // The time, checked before FIELDS.
        ("HEXPIRE h -1 FIELDS 1 a", NEGATIVE),
        ("HPEXPIREAT h -9223372036854775808 FIELDS 1 a", NEGATIVE),
        ("HEXPIRE h -1 NOPE 1 a", NEGATIVE),
        ("HEXPIRE nokey -5 FIELDS 1 a", NEGATIVE),
        ("HEXPIRE h abc FIELDS 1 a", NOT_INT),
        ("HPEXPIRE h 1.5 FIELDS 1 a", NOT_INT),
        ("HEXPIREAT h 9223372036854775808 FIELDS 1 a", NOT_INT),
        // Another type, checked before the arguments.
        ("HEXPIRE s 100 FIELDS 1 a", WRONGTYPE),
        ("HPEXPIREAT s -1 NOPE 1 a", WRONGTYPE),
        ("HTTL s FIELDS 1 a", WRONGTYPE),
        ("HPEXPIRETIME s FIELDS 0 a", WRONGTYPE),
        ("HPERSIST s FIELDS 1 a", WRONGTYPE),
    ];
    for (command, reply) in cases {
        expect(&mut raw, command, reply);
        expect(&mut raw, "PING", "+PONG\r\n");
    }
    // Arity: -6 for the HEXPIRE family, -5 for the others.
    for (command, name) in [
        ("HEXPIRE h 100 FIELDS 1", "hexpire"),
        ("HPEXPIREAT h", "hpexpireat"),
        ("HTTL h FIELDS 1", "httl"),
        ("HPERSIST h", "hpersist"),
        ("HPEXPIRETIME h FIELDS", "hpexpiretime"),
    ] {
        let error = format!("-ERR wrong number of arguments for '{name}' command\r\n");
        expect(&mut raw, command, &error);
    }
    expect_all(
        &mut raw,
        &[
            (
                "HGETALL h",
                "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
            ),
            ("HTTL h FIELDS 2 a b", "*2\r\n:-1\r\n:-1\r\n"),
            ("EXISTS nokey", ":0\r\n"),
            ("GET s", "$1\r\nv\r\n"),
        ],
    );
}

#[test]
fn expired_fields_are_invisible_to_every_read() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "HSET h f1 v1 f2 v2 f3 v3 f4 v4", ":4\r\n");
    codes(&mut raw, "HPEXPIRE h 100 FIELDS 2 f1 f3", &[1, 1]);
    eventually("f1 expired", PATIENCE, || {
        raw.call(&["HGET", "h", "f1"]) == "$-1\r\n"
    });
    // f3 had the same deadline: whether or not it was reclaimed yet, no read shows it.
    expect_all(
        &mut raw,
        &[
            ("HGET h f3", "$-1\r\n"),
            (
                "HMGET h f1 f2 f3 f4",
                "*4\r\n$-1\r\n$2\r\nv2\r\n$-1\r\n$2\r\nv4\r\n",
            ),
            ("HEXISTS h f3", ":0\r\n"),
            ("HEXISTS h f4", ":1\r\n"),
            ("HSTRLEN h f3", ":0\r\n"),
            ("HSTRLEN h f2", ":2\r\n"),
            ("HTTL h FIELDS 3 f1 f2 f3", "*3\r\n:-2\r\n:-1\r\n:-2\r\n"),
            ("HPERSIST h FIELDS 1 f3", "*1\r\n:-2\r\n"),
            ("HEXPIRE h 100 FIELDS 1 f3", "*1\r\n:-2\r\n"),
        ],
    );
    let live = ["f2", "f4"].map(String::from).to_vec();
    let pairs = ["f2", "f4", "v2", "v4"].map(String::from).to_vec();
    assert_eq!(sorted(bulks(&raw.call(&["HGETALL", "h"]))), pairs);
    assert_eq!(sorted(bulks(&raw.call(&["HKEYS", "h"]))), live);
    assert_eq!(sorted(bulks(&raw.call(&["HVALS", "h"]))), ["v2", "v4"]);
    assert_eq!(hscan_all(&mut raw, "h"), pairs);
    assert_eq!(sorted(bulks(&raw.call(&["HRANDFIELD", "h", "10"]))), live);
    let with_values = bulks(&raw.call(&["HRANDFIELD", "h", "10", "WITHVALUES"]));
    assert_eq!(sorted(with_values), pairs);
    let picks = bulks(&raw.call(&["HRANDFIELD", "h", "-20"]));
    assert_eq!(picks.len(), 20);
    assert!(picks.iter().all(|p| live.contains(p)), "{picks:?}");
    let pick = raw.call(&["HRANDFIELD", "h"]);
    assert!(pick == "$2\r\nf2\r\n" || pick == "$2\r\nf4\r\n", "{pick:?}");
    // Once reclaimed, HLEN counts what is left.
    eventually("expired fields reclaimed", PATIENCE, || {
        int(&mut raw, "HLEN h") == 2
    });
}

#[test]
fn a_hash_whose_fields_all_expire_is_deleted_without_being_read() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let start = expired_subkeys(&mut raw);
    expect(&mut raw, "HSET gone x 1 y 2", ":2\r\n");
    codes(&mut raw, "HPEXPIRE gone 100 FIELDS 2 x y", &[1, 1]);
    expect(&mut raw, "HSET kept x 1 y 2", ":2\r\n");
    codes(&mut raw, "HPEXPIRE kept 100 FIELDS 1 x", &[1]);
    // DBSIZE and INFO do not look inside the hashes: only the active cycle deletes them.
    eventually("the emptied hash deleted", PATIENCE, || {
        int(&mut raw, "DBSIZE") == 1
    });
    eventually("both hashes' fields reclaimed", PATIENCE, || {
        expired_subkeys(&mut raw) == start + 3
    });
    expect_all(
        &mut raw,
        &[
            ("EXISTS gone", ":0\r\n"),
            ("HLEN kept", ":1\r\n"),
            ("HGETALL kept", "*2\r\n$1\r\ny\r\n$1\r\n2\r\n"),
        ],
    );
}

#[test]
fn writes_keep_or_drop_field_ttls_as_redis_does() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let t = T * 1000;
    expect(&mut raw, "HSET {w}1 a 1 b 2 n 5 x 1.5", ":4\r\n");
    codes(
        &mut raw,
        &format!("HPEXPIREAT {{w}}1 {t} FIELDS 4 a b n x"),
        &[1; 4],
    );
    expect_all(
        &mut raw,
        &[
            // HSET overwrites the field and its TTL.
            ("HSET {w}1 a 10", ":0\r\n"),
            ("HTTL {w}1 FIELDS 1 a", "*1\r\n:-1\r\n"),
            ("HGET {w}1 a", "$2\r\n10\r\n"),
            // HSETNX changes nothing; HINCRBY and HINCRBYFLOAT keep the TTL.
            ("HSETNX {w}1 b 3", ":0\r\n"),
            ("HINCRBY {w}1 n 2", ":7\r\n"),
            ("HINCRBYFLOAT {w}1 x 1.5", "$1\r\n3\r\n"),
        ],
    );
    codes(&mut raw, "HPEXPIRETIME {w}1 FIELDS 3 b n x", &[t, t, t]);
    // HDEL removes the field and its TTL: set again, it has none.
    expect_all(
        &mut raw,
        &[
            ("HDEL {w}1 b", ":1\r\n"),
            ("HTTL {w}1 FIELDS 1 b", "*1\r\n:-2\r\n"),
            ("HSET {w}1 b 2", ":1\r\n"),
            ("HTTL {w}1 FIELDS 1 b", "*1\r\n:-1\r\n"),
            ("HPERSIST {w}1 FIELDS 2 n n", "*2\r\n:1\r\n:-1\r\n"),
            ("HTTL {w}1 FIELDS 1 n", "*1\r\n:-1\r\n"),
            // RENAME moves the TTLs with the hash.
            ("RENAME {w}1 {w}2", "+OK\r\n"),
            ("EXISTS {w}1", ":0\r\n"),
        ],
    );
    codes(
        &mut raw,
        "HPEXPIRETIME {w}2 FIELDS 4 a b n x",
        &[-1, -1, -1, t],
    );
    // COPY copies them; the copy's TTLs are its own.
    expect(&mut raw, "COPY {w}2 {w}3", ":1\r\n");
    codes(
        &mut raw,
        "HPEXPIRETIME {w}3 FIELDS 4 a b n x",
        &[-1, -1, -1, t],
    );
    codes(&mut raw, "HPERSIST {w}3 FIELDS 1 x", &[1]);
    codes(&mut raw, "HPEXPIRETIME {w}2 FIELDS 1 x", &[t]);
    // And a copied short TTL expires in both.
    codes(&mut raw, "HPEXPIRE {w}2 200 FIELDS 1 a", &[1]);
    expect(&mut raw, "COPY {w}2 {w}4", ":1\r\n");
    eventually("a expired in the original", PATIENCE, || {
        int(&mut raw, "HEXISTS {w}2 a") == 0
    });
    eventually("a expired in the copy", PATIENCE, || {
        int(&mut raw, "HEXISTS {w}4 a") == 0
    });
    expect(&mut raw, "HGET {w}4 x", "$1\r\n3\r\n");
}

#[test]
fn a_small_hash_turns_listpackex_and_a_big_one_stays_hashtable() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let t = T * 1000;
    expect_all(
        &mut raw,
        &[
            ("HSET small a 1 b 2", ":2\r\n"),
            ("OBJECT ENCODING small", "$8\r\nlistpack\r\n"),
            ("HEXPIRE small 100 FIELDS 1 a", "*1\r\n:1\r\n"),
            ("OBJECT ENCODING small", "$10\r\nlistpackex\r\n"),
        ],
    );
    // More than hash-max-listpack-entries (512) fields.
    fill(&mut raw, "big", 600);
    expect(&mut raw, "OBJECT ENCODING big", "$9\r\nhashtable\r\n");
    codes(
        &mut raw,
        &format!("HPEXPIREAT big {t} FIELDS 2 f0 f599"),
        &[1, 1],
    );
    expect(&mut raw, "OBJECT ENCODING big", "$9\r\nhashtable\r\n");
    codes(
        &mut raw,
        "HPEXPIRETIME big FIELDS 3 f0 f1 f599",
        &[t, -1, t],
    );
    // A value longer than hash-max-listpack-value (64).
    let long = "x".repeat(65);
    assert_eq!(raw.call(&["HSET", "wide", "a", &long]), ":1\r\n");
    codes(&mut raw, "HEXPIRE wide 100 FIELDS 1 a", &[1]);
    expect(&mut raw, "OBJECT ENCODING wide", "$9\r\nhashtable\r\n");
    // A listpackex hash outgrowing either limit converts with its TTLs.
    expect(&mut raw, "HSET grow a 1", ":1\r\n");
    codes(&mut raw, &format!("HPEXPIREAT grow {t} FIELDS 1 a"), &[1]);
    fill(&mut raw, "grow", 600);
    expect(&mut raw, "OBJECT ENCODING grow", "$9\r\nhashtable\r\n");
    codes(&mut raw, "HPEXPIRETIME grow FIELDS 2 a f0", &[t, -1]);
    expect(&mut raw, "HSET lv a 1 b 2", ":2\r\n");
    codes(&mut raw, &format!("HPEXPIREAT lv {t} FIELDS 1 a"), &[1]);
    assert_eq!(raw.call(&["HSET", "lv", "b", &long]), ":0\r\n");
    expect(&mut raw, "OBJECT ENCODING lv", "$9\r\nhashtable\r\n");
    codes(&mut raw, "HPEXPIRETIME lv FIELDS 2 a b", &[t, -1]);
}

#[test]
fn field_ttls_notify_hexpire_hpersist_hdel_and_hexpired() {
    let node = Shoal::start();
    let mut client = node.raw();
    expect(
        &mut client,
        "CONFIG SET notify-keyspace-events KEA",
        "+OK\r\n",
    );
    let mut subscriber = node.raw();
    subscriber.call(&["PSUBSCRIBE", "__keyevent@0__:*"]);
    expect_all(
        &mut client,
        &[
            ("HSET h a 1 b 2 c 3", ":3\r\n"),
            ("HEXPIRE h 100 FIELDS 1 a", "*1\r\n:1\r\n"),
            // Nothing set, persisted or deleted: nothing published.
            ("HEXPIRE h 100 NX FIELDS 1 a", "*1\r\n:0\r\n"),
            ("HEXPIRE h 100 FIELDS 1 nope", "*1\r\n:-2\r\n"),
            ("HEXPIRE nokey 100 FIELDS 1 a", "*1\r\n:-2\r\n"),
            ("HPERSIST h FIELDS 1 a", "*1\r\n:1\r\n"),
            ("HPERSIST h FIELDS 1 a", "*1\r\n:-1\r\n"),
            // A past time deletes: one `hdel` per command, however many fields.
            ("HSET m a 1 b 2 c 3", ":3\r\n"),
            ("HPEXPIREAT m 1 FIELDS 2 a b", "*2\r\n:2\r\n:2\r\n"),
            ("HEXPIRE m 100 FIELDS 1 c", "*1\r\n:1\r\n"),
            // And `del` when that empties the hash.
            ("HSET g x 1", ":1\r\n"),
            ("HEXPIRE g 0 FIELDS 2 x y", "*2\r\n:2\r\n:-2\r\n"),
            ("EXISTS g", ":0\r\n"),
        ],
    );
    for expected in [
        "hset h",
        "hexpire h",
        "hpersist h",
        "hset m",
        "hdel m",
        "hexpire m",
        "hset g",
        "hdel g",
        "del g",
    ] {
        assert_eq!(next_event(&mut subscriber), expected);
    }
    // A field expiring is `hexpired`, heard without anyone reading the hash...
    codes(&mut client, "HPEXPIRE h 100 FIELDS 1 b", &[1]);
    assert_eq!(next_event(&mut subscriber), "hexpire h");
    assert_eq!(next_event(&mut subscriber), "hexpired h");
    // ...followed by `del` when it was the last one.
    expect(&mut client, "HDEL h a", ":1\r\n");
    codes(&mut client, "HPEXPIRE h 100 FIELDS 1 c", &[1]);
    assert_eq!(next_event(&mut subscriber), "hdel h");
    assert_eq!(next_event(&mut subscriber), "hexpire h");
    assert_eq!(next_event(&mut subscriber), "hexpired h");
    assert_eq!(next_event(&mut subscriber), "del h");
    expect(&mut client, "EXISTS h", ":0\r\n");
}

#[test]
fn info_counts_expired_subkeys_and_hashes_with_field_ttls() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let start = expired_subkeys(&mut raw);
    expect_all(
        &mut raw,
        &[
            ("HSET h1 a 1 b 2 c 3", ":3\r\n"),
            ("HSET h2 a 1", ":1\r\n"),
            ("HSET h3 a 1", ":1\r\n"),
        ],
    );
    let db0 = |raw: &mut Raw| info_field(raw, "keyspace", "db0");
    assert_eq!(db0(&mut raw), "keys=3,expires=0,avg_ttl=0,subexpiry=0");
    // `subexpiry` counts hashes with a field TTL, not fields.
    codes(&mut raw, "HEXPIRE h1 100 FIELDS 2 a b", &[1, 1]);
    codes(&mut raw, "HEXPIRE h2 100 FIELDS 1 a", &[1]);
    assert_eq!(db0(&mut raw), "keys=3,expires=0,avg_ttl=0,subexpiry=2");
    assert_eq!(expired_subkeys(&mut raw), start);
    codes(&mut raw, "HPEXPIRE h1 100 FIELDS 2 a b", &[1, 1]);
    codes(&mut raw, "HPEXPIRE h2 100 FIELDS 1 a", &[1]);
    // Nobody reads them: the active cycle reclaims the three fields and deletes h2.
    eventually("three fields expired", PATIENCE, || {
        expired_subkeys(&mut raw) == start + 3
    });
    eventually("h2 deleted, no field TTL left", PATIENCE, || {
        db0(&mut raw) == "keys=2,expires=0,avg_ttl=0,subexpiry=0"
    });
    // A field deleted by a past time counts as expired too.
    codes(&mut raw, "HEXPIRE h3 0 FIELDS 1 a", &[2]);
    assert_eq!(expired_subkeys(&mut raw), start + 4);
    assert_eq!(db0(&mut raw), "keys=1,expires=0,avg_ttl=0,subexpiry=0");
    expect(&mut raw, "HLEN h1", ":1\r\n");
}

#[test]
fn resp3_replies_are_the_same_arrays_of_integers() {
    let node = Shoal::start();
    let mut raw = node.raw();
    assert!(raw.call(&["HELLO", "3"]).starts_with('%'));
    expect(&mut raw, "HSET r a 1", ":1\r\n");
    expect(
        &mut raw,
        &format!("HEXPIREAT r {T} FIELDS 2 a nope"),
        "*2\r\n:1\r\n:-2\r\n",
    );
    let cases: &[(&str, String)] = &[
        (
            "HEXPIRETIME r FIELDS 2 a nope",
            format!("*2\r\n:{T}\r\n:-2\r\n"),
        ),
        (
            "HPEXPIRETIME r FIELDS 1 a",
            format!("*1\r\n:{}\r\n", T * 1000),
        ),
        (
            "HPERSIST r FIELDS 2 a nope",
            "*2\r\n:1\r\n:-2\r\n".to_string(),
        ),
        ("HTTL r FIELDS 2 a nope", "*2\r\n:-1\r\n:-2\r\n".to_string()),
        ("HPTTL nokey FIELDS 1 a", "*1\r\n:-2\r\n".to_string()),
        ("HPEXPIRE nokey 100 FIELDS 1 a", "*1\r\n:-2\r\n".to_string()),
        ("HTTL r FIELDS 0 a", GET_NUMFIELDS.to_string()),
    ];
    for (command, reply) in cases {
        expect(&mut raw, command, reply);
    }
    codes(&mut raw, "HEXPIRE r 100 FIELDS 1 a", &[1]);
    let left = one(&mut raw, "HTTL r FIELDS 1 a");
    assert!((90..=100).contains(&left), "HTTL {left}");
}

#[test]
fn tracking_invalidates_a_hash_when_one_of_its_fields_expires() {
    const INVALIDATE: &str = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nt\r\n";
    let node = Shoal::start();
    let mut writer = node.raw();
    let mut reader = node.raw();
    reader.call(&["HELLO", "3"]);
    expect(&mut reader, "CLIENT TRACKING ON", "+OK\r\n");
    expect(&mut writer, "HSET t a 1 b 2", ":2\r\n");
    codes(&mut writer, "HPEXPIRE t 300 FIELDS 1 a", &[1]);
    // The reader caches a field without a TTL; the other one expiring changes the hash.
    expect(&mut reader, "HGET t b", "$1\r\n2\r\n");
    assert_eq!(reader.read_reply(), INVALIDATE);
    expect(&mut reader, "HGET t a", "_\r\n");
    // Setting a TTL is a write like any other.
    codes(&mut writer, "HPEXPIRE t 1000 FIELDS 1 b", &[1]);
    assert_eq!(reader.read_reply(), INVALIDATE);
    expect(&mut reader, "HGET t b", "$1\r\n2\r\n");
    // The last field expiring deletes the hash: told again.
    assert_eq!(reader.read_reply(), INVALIDATE);
    eventually("the hash deleted", PATIENCE, || {
        int(&mut writer, "EXISTS t") == 0
    });
    expect(&mut reader, "PING", "+PONG\r\n");
}

#[test]
fn every_node_of_a_cluster_sees_the_same_field_deadline_and_expiry() {
    // TestCluster::start waits until the nodes agree.
    let cluster = TestCluster::start(3, &[]);
    let port0 = cluster.node(0).port;
    // A hash owned by another node than the one written through.
    let key = (0..1000)
        .map(|i| format!("hfe:{i}"))
        .find(|k| primary_port(port0, k) != port0)
        .expect("a key elsewhere");
    let slot = key_slot(key.as_bytes()).to_string();
    let mut conns: Vec<Raw> = cluster.live().map(Shoal::raw).collect();
    assert_eq!(conns[0].call(&["HSET", &key, "a", "1", "b", "2"]), ":2\r\n");
    let before = now_ms();
    let set = conns[0].call(&["HPEXPIRE", &key, "3000", "FIELDS", "1", "a"]);
    let after = now_ms();
    assert_eq!(set, ints(&[1]));
    let deadline = parse_ints(&conns[0].call(&["HPEXPIRETIME", &key, "FIELDS", "1", "a"]))[0];
    assert!(
        (before + 3000..=after + 3000).contains(&deadline),
        "{deadline}"
    );
    for conn in &mut conns {
        let times = conn.call(&["HPEXPIRETIME", &key, "FIELDS", "3", "a", "b", "c"]);
        assert_eq!(times, ints(&[deadline, -1, -2]));
    }
    // The hash is on its primary and on its replica (CLUSTER COUNTKEYSINSLOT is local).
    let held = |conns: &mut [Raw]| -> i64 {
        conns
            .iter_mut()
            .map(|c| int(c, &format!("CLUSTER COUNTKEYSINSLOT {slot}")))
            .sum()
    };
    eventually("the hash on its primary and replica", PATIENCE, || {
        held(&mut conns[..]) == 2
    });
    for conn in &mut conns {
        eventually("a expired", PATIENCE, || {
            conn.call(&["HGET", &key, "a"]) == "$-1\r\n"
        });
        assert_eq!(
            conn.call(&["HGETALL", &key]),
            "*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
        );
        let times = conn.call(&["HPEXPIRETIME", &key, "FIELDS", "2", "a", "b"]);
        assert_eq!(times, ints(&[-2, -1]));
    }
    // The last field expires: the hash is gone through every node and from every node.
    assert_eq!(
        conns[2].call(&["HPEXPIRE", &key, "200", "FIELDS", "1", "b"]),
        ints(&[1])
    );
    for conn in &mut conns {
        eventually("the hash deleted", PATIENCE, || {
            conn.call(&["EXISTS", &key]) == ":0\r\n"
        });
    }
    eventually("no copy of the hash left", PATIENCE, || {
        held(&mut conns[..]) == 0
    });
}
