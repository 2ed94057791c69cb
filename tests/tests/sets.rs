//! Set commands end to end: every option Redis 7 accepts, the exact replies (RESP2 and RESP3)
//! and error texts, the encodings Redis 7.2 reports, and randomness. Expected replies were
//! taken from redis-server 7.0.15 (encodings from Redis 7.2's rules); the last tests
//! compare a table of commands against a live reference server when one is installed.
//! Encodings and SSCAN are in `sets/encodings.rs`, SPOP/SRANDMEMBER in `sets/random.rs`.

#[path = "sets/encodings.rs"]
mod encodings;
#[path = "sets/random.rs"]
mod random;

use redis::Commands;
use shoal_tests::{Raw, RedisServer, Shoal, expect, expect_all, int};
use std::collections::{HashMap, HashSet};

const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const EMPTY: &str = "*0\r\n";

/// Sends a command whose reply is an array (or RESP3 set) of bulk strings and returns the
/// members, sorted.
fn members(raw: &mut Raw, command: &str) -> Vec<String> {
    let args: Vec<&str> = command.split(' ').collect();
    let reply = raw.call(&args);
    let mut out = bulks(&reply).unwrap_or_else(|| panic!("{command}: {reply:?}"));
    out.sort();
    out
}

/// The bulk strings of a flat array or set reply, in order (`None` for other replies).
fn bulks(reply: &str) -> Option<Vec<String>> {
    let mut lines = reply.split("\r\n");
    let header = lines.next()?;
    if !header.starts_with(['*', '~']) {
        return None;
    }
    let n: usize = header[1..].parse().ok()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        lines.next().filter(|l| l.starts_with('$'))?;
        out.push(lines.next()?.to_string());
    }
    Some(out)
}

/// A reply with the members of a flat array or set sorted, for comparing replies whose
/// order Redis leaves unspecified.
fn sorted_reply(reply: &str) -> String {
    let Some(mut items) = bulks(reply) else {
        // A scan reply: the cursor, then the members.
        let parts: Vec<&str> = reply.splitn(4, "\r\n").collect();
        if let ["*2", cursor_len, cursor, rest] = parts[..]
            && cursor_len.starts_with('$')
        {
            return format!("*2\r\n{cursor_len}\r\n{cursor}\r\n{}", sorted_reply(rest));
        }
        return reply.to_string();
    };
    items.sort();
    let mut out = format!("{}\r\n", reply.split("\r\n").next().unwrap_or_default());
    for item in items {
        out.push_str(&format!("${}\r\n{item}\r\n", item.len()));
    }
    out
}

/// The sorted members of a reply, space-separated.
fn joined(raw: &mut Raw, command: &str) -> String {
    members(raw, command).join(" ")
}

/// `prefix0`, `prefix1`… for each number of `range`.
fn names(prefix: &str, range: std::ops::Range<i64>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i}")).collect()
}

fn encoding(raw: &mut Raw, key: &str) -> String {
    raw.call(&["OBJECT", "ENCODING", key])
}

/// `SADD key` with many members in one call.
fn sadd_all(raw: &mut Raw, key: &str, members: impl IntoIterator<Item = String>) -> String {
    let mut args = vec!["SADD".to_string(), key.to_string()];
    args.extend(members);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    raw.call(&args)
}

#[test]
fn sadd_counts_the_new_members_and_creates_the_set() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SADD s a b c", ":3\r\n"),
            ("SADD s a d d", ":1\r\n"),
            ("SADD s a", ":0\r\n"),
            ("SCARD s", ":4\r\n"),
            ("TYPE s", "+set\r\n"),
        ],
    );
    assert_eq!(joined(&mut raw, "SMEMBERS s"), "a b c d");
    let mut conn = node.conn();
    let binary = b"a\0b\r\n\xff".to_vec();
    let added: i64 = conn.sadd("bin", &binary).expect("sadd");
    assert_eq!(added, 1);
    let back: Vec<Vec<u8>> = conn.smembers("bin").expect("smembers");
    assert_eq!(back, vec![binary.clone()]);
    assert!(
        conn.sismember::<_, _, bool>("bin", &binary)
            .expect("sismember")
    );
}

#[test]
fn srem_counts_removed_members_and_deletes_an_emptied_set() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SREM nokey a", ":0\r\n"),
            ("SADD s a b c 1 2", ":5\r\n"),
            ("SREM s a x a", ":1\r\n"),
            ("SREM s x y", ":0\r\n"),
            ("SREM s 1 2", ":2\r\n"),
            ("SREM s b c d", ":2\r\n"),
            ("EXISTS s", ":0\r\n"),
            ("SADD n 1 2 3", ":3\r\n"),
            ("SREM n 01 1.0 3", ":1\r\n"),
            ("SREM n 1 2 2", ":2\r\n"),
            ("EXISTS n", ":0\r\n"),
        ],
    );
}

#[test]
fn membership_questions_answer_zero_for_missing_keys_and_members() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SCARD nokey", ":0\r\n"),
            ("SISMEMBER nokey a", ":0\r\n"),
            ("SMISMEMBER nokey a b", "*2\r\n:0\r\n:0\r\n"),
            ("SMEMBERS nokey", EMPTY),
            ("SADD s a 1", ":2\r\n"),
            ("SISMEMBER s a", ":1\r\n"),
            ("SISMEMBER s 1", ":1\r\n"),
            ("SISMEMBER s 01", ":0\r\n"),
            ("SISMEMBER s b", ":0\r\n"),
            ("SMISMEMBER s a b 1 a", "*4\r\n:1\r\n:0\r\n:1\r\n:1\r\n"),
        ],
    );
}

#[test]
fn smembers_lists_every_member_of_each_encoding() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "SADD ints 3 -1 2", ":3\r\n");
    // An intset answers its integers in ascending order.
    expect(
        &mut raw,
        "SMEMBERS ints",
        "*3\r\n$2\r\n-1\r\n$1\r\n2\r\n$1\r\n3\r\n",
    );
    expect(&mut raw, "SADD small b a", ":2\r\n");
    assert_eq!(joined(&mut raw, "SMEMBERS small"), "a b");
    let big: Vec<String> = names("m", 0..1000);
    assert_eq!(sadd_all(&mut raw, "big", big.clone()), ":1000\r\n");
    let mut expected = big;
    expected.sort();
    assert_eq!(members(&mut raw, "SMEMBERS big"), expected);
}

#[test]
fn smove_moves_a_member_creating_or_deleting_sets_and_checks_types() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SMOVE nokey dst a", ":0\r\n"),
            ("SADD src a b", ":2\r\n"),
            ("SMOVE src dst x", ":0\r\n"),
            ("EXISTS dst", ":0\r\n"),
            ("SMOVE src dst a", ":1\r\n"),
            ("SMEMBERS dst", "*1\r\n$1\r\na\r\n"),
            ("SADD dst b", ":1\r\n"),
            // Already in the destination: it only leaves the source.
            ("SMOVE src dst b", ":1\r\n"),
            ("EXISTS src", ":0\r\n"),
            ("SCARD dst", ":2\r\n"),
            // The same key: a membership test.
            ("SMOVE dst dst a", ":1\r\n"),
            ("SMOVE dst dst z", ":0\r\n"),
            ("SCARD dst", ":2\r\n"),
            ("SADD n 5", ":1\r\n"),
            ("SMOVE n newints 5", ":1\r\n"),
            ("OBJECT ENCODING newints", "$6\r\nintset\r\n"),
            ("SMOVE dst n a", ":1\r\n"),
            ("OBJECT ENCODING n", "$8\r\nlistpack\r\n"),
        ],
    );
    // Types are checked once the source is known to exist.
    expect_all(
        &mut raw,
        &[
            ("SET str x", "+OK\r\n"),
            ("SADD s a", ":1\r\n"),
            ("SMOVE nokey str a", ":0\r\n"),
            ("SMOVE str s a", WRONGTYPE),
            ("SMOVE s str a", WRONGTYPE),
            ("SMOVE s str nomember", WRONGTYPE),
            ("SCARD s", ":1\r\n"),
            ("GET str", "$1\r\nx\r\n"),
        ],
    );
}

#[test]
fn sinter_answers_the_common_members_and_nothing_when_a_key_is_missing() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SADD a 1 2 3 x y", ":5\r\n"),
            ("SADD b 2 3 4 y z", ":5\r\n"),
            ("SADD c 3 y w", ":3\r\n"),
        ],
    );
    assert_eq!(joined(&mut raw, "SINTER a"), "1 2 3 x y");
    assert_eq!(joined(&mut raw, "SINTER a b"), "2 3 y");
    assert_eq!(joined(&mut raw, "SINTER a b c"), "3 y");
    assert_eq!(joined(&mut raw, "SINTER a a b a"), "2 3 y");
    expect(&mut raw, "SINTER a nokey b", EMPTY);
    // A type error is found even after a missing key.
    expect(&mut raw, "SET str v", "+OK\r\n");
    expect(&mut raw, "SINTER nokey str", WRONGTYPE);
    expect(&mut raw, "SINTER a str", WRONGTYPE);
    // Big sets, intersected in chunks.
    sadd_all(&mut raw, "evens", (0..3000).map(|i| format!("k{}", 2 * i)));
    sadd_all(&mut raw, "threes", (0..2000).map(|i| format!("k{}", 3 * i)));
    let got = members(&mut raw, "SINTER evens threes");
    let mut expected: Vec<String> = (0..1000).map(|i| format!("k{}", 6 * i)).collect();
    expected.sort();
    assert_eq!(got, expected);
}

#[test]
fn sintercard_counts_the_intersection_up_to_its_limit_and_checks_its_arguments() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SADD a 1 2 3 x y", ":5\r\n"),
            ("SADD b 2 3 4 y z", ":5\r\n"),
            ("SINTERCARD 1 a", ":5\r\n"),
            ("SINTERCARD 2 a b", ":3\r\n"),
            ("SINTERCARD 2 a b LIMIT 0", ":3\r\n"),
            ("SINTERCARD 2 a b LIMIT 2", ":2\r\n"),
            ("SINTERCARD 2 a b limit 10", ":3\r\n"),
            ("SINTERCARD 2 a b LIMIT 1 LIMIT 2", ":2\r\n"),
            ("SINTERCARD 2 a nokey", ":0\r\n"),
            ("SINTERCARD 1 nokey LIMIT 5", ":0\r\n"),
            // The key count decides what is a key: here LIMIT and 2 are set names.
            ("SINTERCARD 3 a LIMIT 2", ":0\r\n"),
        ],
    );
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    let negative = "-ERR LIMIT can't be negative\r\n";
    expect_all(
        &mut raw,
        &[
            ("SET str v", "+OK\r\n"),
            ("SINTERCARD 0 a", numkeys),
            ("SINTERCARD -1 a", numkeys),
            ("SINTERCARD abc a", numkeys),
            (
                "SINTERCARD 2 a",
                "-ERR Number of keys can't be greater than number of args\r\n",
            ),
            ("SINTERCARD 1 a LIMIT -1", negative),
            ("SINTERCARD 1 a LIMIT abc", negative),
            ("SINTERCARD 1 a LIMIT", SYNTAX),
            ("SINTERCARD 1 a FOO 1", SYNTAX),
            ("SINTERCARD 1 str", WRONGTYPE),
            ("SINTERCARD 2 nokey str", WRONGTYPE),
        ],
    );
}

#[test]
fn sunion_and_sdiff_combine_any_number_of_sets() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SADD a 1 2 3 x", ":4\r\n"),
            ("SADD b 2 y", ":2\r\n"),
            ("SADD c 3 z", ":2\r\n"),
        ],
    );
    assert_eq!(joined(&mut raw, "SUNION a b c nokey"), "1 2 3 x y z");
    assert_eq!(joined(&mut raw, "SUNION nokey"), "");
    assert_eq!(joined(&mut raw, "SDIFF a b c"), "1 x");
    assert_eq!(joined(&mut raw, "SDIFF a nokey"), "1 2 3 x");
    assert_eq!(joined(&mut raw, "SDIFF b a"), "y");
    expect_all(
        &mut raw,
        &[
            ("SDIFF nokey a", EMPTY),
            // The first set named again leaves nothing.
            ("SDIFF a b a", EMPTY),
            ("SDIFF a a", EMPTY),
        ],
    );
    // A big first set with many small others takes the copy-and-remove path.
    sadd_all(&mut raw, "big", names("m", 0..50));
    for i in 0..10 {
        raw.call(&["SADD", &format!("small{i}"), &format!("m{i}")]);
    }
    let smalls: Vec<String> = names("small", 0..10);
    let got = members(&mut raw, &format!("SDIFF big {}", smalls.join(" ")));
    let mut expected: Vec<String> = names("m", 10..50);
    expected.sort();
    assert_eq!(got, expected);
    expect(&mut raw, "SET str v", "+OK\r\n");
    expect(&mut raw, "SUNION a str", WRONGTYPE);
    expect(&mut raw, "SDIFF nokey str", WRONGTYPE);
    expect(&mut raw, "SDIFF str nokey", WRONGTYPE);
}

#[test]
fn store_commands_replace_the_destination_and_count_the_result() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SADD a 1 2 3 x", ":4\r\n"),
            ("SADD b 2 3 y", ":3\r\n"),
            ("SET dst old EX 100", "+OK\r\n"),
            ("SINTERSTORE dst a b", ":2\r\n"),
            ("TYPE dst", "+set\r\n"),
            // The old value's expiry went with it.
            ("TTL dst", ":-1\r\n"),
            ("SUNIONSTORE u a b", ":5\r\n"),
            ("SDIFFSTORE d a b", ":2\r\n"),
            // A source may be the destination.
            ("SUNIONSTORE a a b", ":5\r\n"),
            ("SCARD a", ":5\r\n"),
            ("SDIFFSTORE a a b", ":2\r\n"),
        ],
    );
    assert_eq!(joined(&mut raw, "SMEMBERS dst"), "2 3");
    assert_eq!(joined(&mut raw, "SMEMBERS u"), "1 2 3 x y");
    assert_eq!(joined(&mut raw, "SMEMBERS d"), "1 x");
    assert_eq!(joined(&mut raw, "SMEMBERS a"), "1 x");
}

#[test]
fn store_commands_with_an_empty_result_delete_the_destination() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SADD a x", ":1\r\n"),
            ("SADD b y", ":1\r\n"),
            ("SET dst v", "+OK\r\n"),
            ("SINTERSTORE dst a b", ":0\r\n"),
            ("EXISTS dst", ":0\r\n"),
            ("SET dst v", "+OK\r\n"),
            ("SINTERSTORE dst a nokey", ":0\r\n"),
            ("EXISTS dst", ":0\r\n"),
            ("SADD dst z", ":1\r\n"),
            ("SUNIONSTORE dst nokey other", ":0\r\n"),
            ("EXISTS dst", ":0\r\n"),
            ("SET dst v", "+OK\r\n"),
            ("SDIFFSTORE dst a a", ":0\r\n"),
            ("EXISTS dst", ":0\r\n"),
            ("SDIFFSTORE dst nokey a", ":0\r\n"),
            ("EXISTS dst", ":0\r\n"),
            // The destination's type does not matter; the sources' types do.
            ("SET str v", "+OK\r\n"),
            ("SINTERSTORE str a", ":1\r\n"),
            ("TYPE str", "+set\r\n"),
            ("SET str v", "+OK\r\n"),
            ("SUNIONSTORE dst str", WRONGTYPE),
            ("SINTERSTORE dst nokey str", WRONGTYPE),
            ("SDIFFSTORE dst a str", WRONGTYPE),
        ],
    );
}

#[test]
fn every_set_command_refuses_a_key_of_another_type() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "SET str v", "+OK\r\n");
    let commands = "SADD str a; SREM str a; SCARD str; SMEMBERS str; SISMEMBER str a;
        SMISMEMBER str a b; SPOP str; SPOP str 2; SPOP str 0; SRANDMEMBER str; SRANDMEMBER str 2;
        SRANDMEMBER str 0; SRANDMEMBER str -2; SINTER str; SINTERCARD 1 str; SUNION str; SDIFF str;
        SINTERSTORE d str; SUNIONSTORE d str; SDIFFSTORE d str; SSCAN str 0; SSCAN str 0 COUNT 0";
    for command in commands.split(';').map(str::trim) {
        expect(&mut raw, command, WRONGTYPE);
    }
    expect(&mut raw, "GET str", "$1\r\nv\r\n");
    expect(&mut raw, "EXISTS d", ":0\r\n");
}

#[test]
fn resp3_answers_member_lists_as_sets() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["HELLO", "3"]);
    expect_all(
        &mut raw,
        &[
            ("SADD s 2 1", ":2\r\n"),
            ("SADD t 2 3", ":2\r\n"),
            ("SMEMBERS s", "~2\r\n$1\r\n1\r\n$1\r\n2\r\n"),
            ("SINTER s t", "~1\r\n$1\r\n2\r\n"),
            ("SDIFF s t", "~1\r\n$1\r\n1\r\n"),
            ("SMEMBERS nokey", "~0\r\n"),
            ("SINTER s nokey", "~0\r\n"),
            ("SUNION nokey", "~0\r\n"),
            ("SDIFF nokey", "~0\r\n"),
            ("SPOP nokey", "_\r\n"),
            ("SPOP nokey 2", "~0\r\n"),
            ("SPOP s 0", "~0\r\n"),
            ("SRANDMEMBER nokey", "_\r\n"),
            // SRANDMEMBER's list may repeat members: an array, never a set.
            ("SRANDMEMBER nokey 2", "*0\r\n"),
            ("SRANDMEMBER s 0", "*0\r\n"),
            ("SMISMEMBER s 1 9", "*2\r\n:1\r\n:0\r\n"),
            ("SISMEMBER s 1", ":1\r\n"),
            ("SSCAN nokey 0", "*2\r\n$1\r\n0\r\n*0\r\n"),
            ("SSCAN s 0", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n"),
        ],
    );
    let union = raw.call(&["SUNION", "s", "t"]);
    assert!(union.starts_with("~3\r\n"), "{union:?}");
    let random = raw.call(&["SRANDMEMBER", "s", "-3"]);
    assert!(random.starts_with("*3\r\n"), "{random:?}");
    let popped = raw.call(&["SPOP", "t", "1"]);
    assert!(popped.starts_with("~1\r\n"), "{popped:?}");
    let rest = raw.call(&["SPOP", "t", "5"]);
    assert!(rest.starts_with("~1\r\n"), "{rest:?}");
}

#[test]
fn commands_that_change_nothing_leave_a_watched_set_alone() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "SADD s a b", ":2\r\n");
    if raw.call(&["WATCH", "s"]) != "+OK\r\n" {
        println!("WATCH is not available: skipping");
        return;
    }
    expect_all(
        &mut raw,
        &[
            ("SADD s a", ":0\r\n"),
            ("SREM s x", ":0\r\n"),
            ("SMOVE s other x", ":0\r\n"),
            ("SPOP s 0", EMPTY),
            ("MULTI", "+OK\r\n"),
            ("SCARD s", "+QUEUED\r\n"),
            ("EXEC", "*1\r\n:2\r\n"),
            ("WATCH s", "+OK\r\n"),
            ("SADD s c", ":1\r\n"),
            ("MULTI", "+OK\r\n"),
            ("SCARD s", "+QUEUED\r\n"),
            ("EXEC", "*-1\r\n"),
        ],
    );
}

/// Each set command's name and Redis arity.
const ARITIES: &str = "sadd -3 srem -3 scard 2 smembers 2 sismember 3 smismember -3 spop -2 \
    srandmember -2 smove 4 sinter -2 sintercard -3 sinterstore -3 sunion -2 sunionstore -3 \
    sdiff -2 sdiffstore -3 sscan -3";

#[test]
fn set_commands_check_their_arity_and_are_documented() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let words: Vec<&str> = ARITIES.split_whitespace().collect();
    for pair in words.chunks(2) {
        let (name, arity): (&str, i64) = (pair[0], pair[1].parse().expect("arity"));
        let wrong = format!("-ERR wrong number of arguments for '{name}' command\r\n");
        // One argument too few, and for a fixed arity one too many.
        let mut args = vec![name; arity.unsigned_abs() as usize - 1];
        assert_eq!(raw.call(&args), wrong, "{name}");
        if arity > 0 {
            args.extend([name, name]);
            assert_eq!(raw.call(&args), wrong, "{name}");
        }
        let info = raw.call(&["COMMAND", "INFO", name]);
        let head = format!("*1\r\n*10\r\n${}\r\n{name}\r\n:{arity}\r\n", name.len());
        assert!(info.starts_with(&head), "{name}: {info:?}");
        let docs = raw.call(&["COMMAND", "DOCS", name]);
        assert!(docs.contains("$5\r\ngroup\r\n$3\r\nset\r\n"), "{name}");
    }
}

/// Commands whose replies are deterministic once members are sorted, `;` between them.
const COMPARED: &str =
    "SADD s a b c 1 2 3; SADD s a x; SADD t b c d 3 4; SADD u 1 2 3 4 5; SET str v
    SCARD s; SMEMBERS s; SMEMBERS u; SISMEMBER s a; SISMEMBER s 01; SMISMEMBER s a z 1
    SINTER s t; SINTER s t u; SINTER s nokey; SINTER nokey str
    SINTERCARD 2 s t; SINTERCARD 2 s t LIMIT 1; SINTERCARD 0 s; SINTERCARD 3 s t
    SINTERCARD 1 s LIMIT -3; SINTERCARD 1 s LIMIT; SINTERCARD 1
    SUNION s t u nokey; SDIFF s t u; SDIFF s nokey; SDIFF s s
    SINTERSTORE d1 s t; SMEMBERS d1; SUNIONSTORE d2 s t; SDIFFSTORE d3 s t; SMEMBERS d3
    SINTERSTORE d1 s nokey; EXISTS d1; SDIFFSTORE str2 s str
    SMOVE s t a; SMOVE s t nomember; SMOVE nokey str a; SMOVE s str b; SMOVE t t b
    SREM s a b c; SREM s zzz; SPOP nokey; SPOP nokey 3; SPOP s -2; SPOP s x; SPOP u 10; EXISTS u
    SRANDMEMBER nokey; SRANDMEMBER nokey 3; SRANDMEMBER t 0; SRANDMEMBER t 100
    SRANDMEMBER t -9223372036854775808; SRANDMEMBER t 1 2; SMISMEMBER
    SSCAN t 0; SSCAN t x; SSCAN t 0 COUNT 0; SSCAN t 0 MATCH; SSCAN nokey 0 COUNT 0
    SSCAN str 0; SADD str a; SMEMBERS str";

#[test]
fn replies_match_a_reference_redis_server() {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let node = Shoal::start();
    for resp3 in [false, true] {
        let (mut ours, mut theirs) = (node.raw(), redis.raw());
        ours.call(&["FLUSHALL"]);
        theirs.call(&["FLUSHALL"]);
        if resp3 {
            ours.call(&["HELLO", "3"]);
            theirs.call(&["HELLO", "3"]);
        }
        for command in COMPARED.split([';', '\n']).map(str::trim) {
            let args: Vec<&str> = command.split(' ').collect();
            assert_eq!(
                sorted_reply(&ours.call(&args)),
                sorted_reply(&theirs.call(&args)),
                "{command} (RESP{})",
                if resp3 { 3 } else { 2 }
            );
        }
    }
}
