//! Sorted sets end to end, beyond single replies: blocking pops woken by other clients (and
//! their order, timeouts and transactions), random picks, ZSCAN walks, encoding changes and
//! a set of a hundred thousand members, and WATCH seeing only real changes. Replies were
//! checked against redis-server 7.0.15.

use shoal_tests::{Raw, Shoal, expect, expect_all, int};
use std::collections::BTreeMap;
use std::time::Duration;

/// Switches a raw connection to RESP3.
fn resp3(raw: &mut Raw) {
    assert!(raw.call(&["HELLO", "3"]).starts_with('%'));
}

/// Sends one command made of `args` (which may hold spaces or be empty) and returns the reply.
fn call(raw: &mut Raw, args: &[&str]) -> String {
    raw.call(args)
}

/// The bulk strings of a flat array reply, in order.
fn bulks(reply: &str) -> Vec<String> {
    let mut lines = reply.split("\r\n");
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        if line.starts_with('$') && line != "$-1" {
            out.push(lines.next().unwrap_or_default().to_string());
        }
    }
    out
}

/// Sends a blocking command on its own connection and returns the connection, to read the
/// reply from later.
fn block(node: &Shoal, command: &str) -> Raw {
    let mut raw = node.raw();
    let args: Vec<&[u8]> = command.split(' ').map(str::as_bytes).collect();
    raw.send_command(&args);
    raw
}

/// Waits until `clients` connections are blocked (as INFO clients counts them), so that
/// what follows happens after they blocked.
fn wait_blocked(raw: &mut Raw, clients: usize) {
    for _ in 0..500 {
        let info = raw.call(&["INFO", "clients"]);
        let blocked = info
            .lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        if blocked == Some(clients) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{clients} clients never blocked");
}

#[test]
fn bzpopmin_waits_until_another_client_adds_a_member() {
    let node = Shoal::start();
    let mut waiting = block(&node, "BZPOPMIN nokey z 0");
    let mut raw = node.raw();
    wait_blocked(&mut raw, 1);
    expect(&mut raw, "ZADD z 2 b 1 a", ":2\r\n");
    assert_eq!(
        waiting.read_reply(),
        "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    expect(&mut raw, "ZRANGE z 0 -1", "*1\r\n$1\r\nb\r\n");
    // BZPOPMAX, woken by ZINCRBY creating the key.
    let mut waiting = block(&node, "BZPOPMAX other 0");
    wait_blocked(&mut raw, 1);
    raw.call(&["ZINCRBY", "other", "5", "m"]);
    assert_eq!(
        waiting.read_reply(),
        "*3\r\n$5\r\nother\r\n$1\r\nm\r\n$1\r\n5\r\n"
    );
    expect(&mut raw, "EXISTS other", ":0\r\n");
}

#[test]
fn bzmpop_waits_and_pops_what_another_client_added() {
    let node = Shoal::start();
    let mut waiting = block(&node, "BZMPOP 0 2 a b MAX COUNT 2");
    let mut raw = node.raw();
    wait_blocked(&mut raw, 1);
    expect(&mut raw, "ZADD b 1 x 2 y 3 z", ":3\r\n");
    assert_eq!(
        waiting.read_reply(),
        "*2\r\n$1\r\nb\r\n*2\r\n*2\r\n$1\r\nz\r\n$1\r\n3\r\n*2\r\n$1\r\ny\r\n$1\r\n2\r\n"
    );
    expect(&mut raw, "ZRANGE b 0 -1", "*1\r\n$1\r\nx\r\n");
}

#[test]
fn a_blocking_pop_times_out_with_a_nil_array() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "BZPOPMIN nokey 0.05", "*-1\r\n");
    expect(&mut raw, "BZMPOP 0.05 1 nokey MIN", "*-1\r\n");
    resp3(&mut raw);
    expect(&mut raw, "BZPOPMAX nokey 0.05", "_\r\n");
}

#[test]
fn blocked_clients_are_served_in_the_order_they_blocked() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let mut first = block(&node, "BZPOPMIN z 0");
    wait_blocked(&mut raw, 1);
    let mut second = block(&node, "BZPOPMIN z 0");
    wait_blocked(&mut raw, 2);
    expect(&mut raw, "ZADD z 1 a", ":1\r\n");
    assert_eq!(
        first.read_reply(),
        "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    expect(&mut raw, "ZADD z 2 b", ":1\r\n");
    assert_eq!(
        second.read_reply(),
        "*3\r\n$1\r\nz\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
}

#[test]
fn store_commands_wake_blocked_clients() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "ZADD src 1 a 2 b", ":2\r\n");
    let mut waiting = block(&node, "BZPOPMAX union 0");
    wait_blocked(&mut raw, 1);
    expect(&mut raw, "ZUNIONSTORE union 1 src", ":2\r\n");
    assert_eq!(
        waiting.read_reply(),
        "*3\r\n$5\r\nunion\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    let mut waiting = block(&node, "BZPOPMIN range 0");
    wait_blocked(&mut raw, 1);
    expect(&mut raw, "ZRANGESTORE range src 0 0", ":1\r\n");
    assert_eq!(
        waiting.read_reply(),
        "*3\r\n$5\r\nrange\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
}

#[test]
fn zrandmember_picks_distinct_members_or_repeats_them_with_a_negative_count() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(&mut raw, RANDMEMBER);
    for (size, name) in [(20, "small"), (300, "big")] {
        let mut args = vec!["ZADD".to_string(), name.to_string()];
        for i in 0..size {
            args.push(i.to_string());
            args.push(format!("m{i}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(call(&mut raw, &args), format!(":{size}\r\n"));
        // A positive count: distinct members, all of them when it is large enough.
        let mut picked = bulks(&call(&mut raw, &["ZRANDMEMBER", name, "10"]));
        picked.sort();
        picked.dedup();
        assert_eq!(picked.len(), 10);
        let all = bulks(&call(&mut raw, &["ZRANDMEMBER", name, "1000"]));
        assert_eq!(all.len(), size);
        // A negative count: exactly that many, repeats allowed.
        let repeated = bulks(&call(&mut raw, &["ZRANDMEMBER", name, "-1000"]));
        assert_eq!(repeated.len(), 1000);
        assert!(repeated.iter().all(|m| m.starts_with('m')));
        // WITHSCORES pairs each member with its own score.
        let pairs = bulks(&call(&mut raw, &["ZRANDMEMBER", name, "-50", "WITHSCORES"]));
        assert_eq!(pairs.len(), 100);
        for pair in pairs.chunks(2) {
            assert_eq!(pair[0], format!("m{}", pair[1]));
        }
    }
    resp3(&mut raw);
    let reply = call(&mut raw, &["ZRANDMEMBER", "z", "-2", "WITHSCORES"]);
    assert_eq!(
        reply,
        "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\na\r\n,1\r\n"
    );
}

#[test]
fn zscan_walks_every_member_of_a_large_set_with_match_and_count() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let mut args = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..1000 {
        args.push(format!("{i}.5"));
        args.push(format!("m{i}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(call(&mut raw, &args), ":1000\r\n");
    let mut seen = BTreeMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let reply = call(&mut raw, &["ZSCAN", "big", &cursor, "COUNT", "50"]);
        let items = bulks(&reply);
        cursor = items[0].clone();
        for pair in items[1..].chunks(2) {
            seen.insert(pair[0].clone(), pair[1].clone());
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    assert!(calls > 5, "a large set is walked in several steps");
    assert!(
        seen.iter()
            .all(|(m, s)| format!("m{s}").replace(".5", "") == *m)
    );
    // MATCH filters members, not scores.
    let mut matched = 0;
    let mut cursor = "0".to_string();
    loop {
        let items = bulks(&call(&mut raw, &["ZSCAN", "big", &cursor, "MATCH", "m99*"]));
        cursor = items[0].clone();
        matched += (items.len() - 1) / 2;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(matched, 11);
}

/// `ZADD key` with members `m0..` (scores their numbers) in one command.
fn fill(raw: &mut Raw, key: &str, members: usize, prefix: &str) {
    let mut args = vec!["ZADD".to_string(), key.to_string()];
    for i in 0..members {
        args.push(i.to_string());
        args.push(format!("{prefix}{i}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(call(raw, &args), format!(":{members}\r\n"));
}

#[test]
fn sorted_sets_switch_from_listpack_to_skiplist_past_the_limits() {
    let node = Shoal::start();
    let mut raw = node.raw();
    fill(&mut raw, "z", 128, "m");
    expect(&mut raw, "OBJECT ENCODING z", "$8\r\nlistpack\r\n");
    expect(&mut raw, "ZADD z 500 one-more", ":1\r\n");
    expect(&mut raw, "OBJECT ENCODING z", "$8\r\nskiplist\r\n");
    // Never back by itself, however small it gets.
    expect(&mut raw, "ZREMRANGEBYRANK z 0 -2", ":128\r\n");
    expect(&mut raw, "OBJECT ENCODING z", "$8\r\nskiplist\r\n");
    let long = "x".repeat(65);
    assert_eq!(
        call(&mut raw, &["ZADD", "l", "1", &"x".repeat(64)]),
        ":1\r\n"
    );
    expect(&mut raw, "OBJECT ENCODING l", "$8\r\nlistpack\r\n");
    assert_eq!(call(&mut raw, &["ZADD", "l", "2", &long]), ":1\r\n");
    expect(&mut raw, "OBJECT ENCODING l", "$8\r\nskiplist\r\n");
    // Built results are packed when they fit, whatever their inputs were.
    fill(&mut raw, "w", 200, "m");
    expect_all(
        &mut raw,
        &[
            ("ZRANGESTORE d w 0 127", ":128\r\n"),
            ("OBJECT ENCODING d", "$8\r\nlistpack\r\n"),
            ("ZRANGESTORE d w 0 128", ":129\r\n"),
            ("OBJECT ENCODING d", "$8\r\nskiplist\r\n"),
            ("ZUNIONSTORE d 1 z", ":1\r\n"),
            ("OBJECT ENCODING d", "$8\r\nlistpack\r\n"),
            ("ZUNIONSTORE d 1 l", ":2\r\n"),
            ("OBJECT ENCODING d", "$8\r\nskiplist\r\n"),
            ("ZINTERSTORE d 2 w w", ":200\r\n"),
            ("OBJECT ENCODING d", "$8\r\nskiplist\r\n"),
            (
                "ZRANGE d 100 101 WITHSCORES",
                "*4\r\n$4\r\nm100\r\n$3\r\n200\r\n$4\r\nm101\r\n$3\r\n202\r\n",
            ),
        ],
    );
}

#[test]
fn negative_zero_is_kept_only_by_the_skiplist_encoding() {
    let node = Shoal::start();
    let mut raw = node.raw();
    // A listpack stores integral scores as integers, which turns -0 into 0.
    expect(&mut raw, "ZADD small -0 a", ":1\r\n");
    expect(&mut raw, "ZSCORE small a", "$1\r\n0\r\n");
    fill(&mut raw, "big", 200, "m");
    expect(&mut raw, "ZADD big -0 a", ":1\r\n");
    expect(&mut raw, "ZSCORE big a", "$2\r\n-0\r\n");
    // -0 and 0 are the same score: not an update.
    expect(&mut raw, "ZADD big CH 0 a", ":0\r\n");
}

#[test]
fn a_hundred_thousand_members_keep_ranks_and_ranges_right() {
    let node = Shoal::start();
    let mut raw = node.raw();
    const N: usize = 100_000;
    // Scores are a permutation of 0..N, so member order and score order differ.
    let score = |i: usize| (i * 7919) % N;
    for chunk in (0..N).collect::<Vec<_>>().chunks(5_000) {
        let mut args = vec!["ZADD".to_string(), "big".to_string()];
        for &i in chunk {
            args.push(score(i).to_string());
            args.push(format!("m{i}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(call(&mut raw, &args), format!(":{}\r\n", chunk.len()));
    }
    // The member with score s has rank s.
    let mut by_score = vec![0; N];
    for i in 0..N {
        by_score[score(i)] = i;
    }
    expect(&mut raw, "ZCARD big", ":100000\r\n");
    for s in [0, 1, 4_999, 50_000, 77_777, N - 1] {
        let member = format!("m{}", by_score[s]);
        assert_eq!(int(&mut raw, &format!("ZRANK big {member}")), s as i64);
        assert_eq!(
            int(&mut raw, &format!("ZREVRANK big {member}")),
            (N - 1 - s) as i64
        );
    }
    let range = bulks(&call(&mut raw, &["ZRANGE", "big", "60000", "60009"]));
    let want: Vec<String> = (60_000..60_010)
        .map(|s| format!("m{}", by_score[s]))
        .collect();
    assert_eq!(range, want);
    let range = bulks(&call(
        &mut raw,
        &[
            "ZRANGE", "big", "(40000", "+inf", "BYSCORE", "LIMIT", "5", "3",
        ],
    ));
    let want: Vec<String> = (40_006..40_009)
        .map(|s| format!("m{}", by_score[s]))
        .collect();
    assert_eq!(range, want);
    let range = bulks(&call(
        &mut raw,
        &["ZREVRANGEBYSCORE", "big", "999", "-inf", "LIMIT", "0", "2"],
    ));
    let want: Vec<String> = [999, 998]
        .iter()
        .map(|&s| format!("m{}", by_score[s]))
        .collect();
    assert_eq!(range, want);
    expect(&mut raw, "ZCOUNT big 1000 (2000", ":1000\r\n");
    expect(&mut raw, "ZREMRANGEBYRANK big 10000 59999", ":50000\r\n");
    expect(&mut raw, "ZCARD big", ":50000\r\n");
    let member = format!("m{}", by_score[60_000]);
    assert_eq!(int(&mut raw, &format!("ZRANK big {member}")), 10_000);
    expect(&mut raw, "ZREMRANGEBYSCORE big -inf (5000", ":5000\r\n");
    let popped = bulks(&call(&mut raw, &["ZPOPMIN", "big", "3"]));
    let want: Vec<String> = (5_000..5_003)
        .flat_map(|s| [format!("m{}", by_score[s]), s.to_string()])
        .collect();
    assert_eq!(popped, want);
    expect(&mut raw, "ZCARD big", ":44997\r\n");
    let member = format!("m{}", by_score[N - 1]);
    assert_eq!(int(&mut raw, &format!("ZRANK big {member}")), 44_996);
}
#[rustfmt::skip]
const RANDMEMBER: &[(&str, &str)] = &[
    ("ZADD z 1 a", ":1\r\n"),
    ("ZRANDMEMBER z", "$1\r\na\r\n"),
    ("ZRANDMEMBER z 1 WITHSCORES", "*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
    ("ZRANDMEMBER z -3 WITHSCORES", "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n"),
    ("ZRANDMEMBER z 5", "*1\r\n$1\r\na\r\n"),
    ("ZRANDMEMBER z 0", "*0\r\n"),
    ("ZRANDMEMBER nokey", "$-1\r\n"),
    ("ZRANDMEMBER nokey 5", "*0\r\n"),
    ("ZRANDMEMBER z -9223372036854775808", "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"),
    ("ZRANDMEMBER z -9223372036854775807 WITHSCORES", "-ERR value is out of range\r\n"),
    ("ZRANDMEMBER z 4611686018427387904 WITHSCORES", "-ERR value is out of range\r\n"),
    ("ZRANDMEMBER z 1 FOO", "-ERR syntax error\r\n"),
    ("ZRANDMEMBER z 1 WITHSCORES x", "-ERR syntax error\r\n"),
    ("ZRANDMEMBER z x", "-ERR value is not an integer or out of range\r\n"),
];

#[test]
fn commands_that_change_nothing_leave_a_watched_key_alone() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let mut other = node.raw();
    expect(&mut raw, "ZADD z 1 a 2 b", ":2\r\n");
    for unchanged in [
        "ZADD z NX 5 a",
        "ZADD z XX 1 nothere",
        "ZADD z 1 a",
        "ZADD z GT 0 a",
        "ZREM z nothere",
        "ZPOPMIN z 0",
        "ZREMRANGEBYSCORE z 10 20",
        "ZREMRANGEBYRANK z 5 10",
        "ZREMRANGEBYLEX z [x [y",
    ] {
        expect(&mut raw, "WATCH z", "+OK\r\n");
        other.call(&unchanged.split(' ').collect::<Vec<_>>());
        expect(&mut raw, "MULTI", "+OK\r\n");
        expect(&mut raw, "ZCARD z", "+QUEUED\r\n");
        expect(&mut raw, "EXEC", "*1\r\n:2\r\n");
    }
    for changing in ["ZADD z 3 a", "ZINCRBY z 1 b", "ZREM z b"] {
        expect(&mut raw, "WATCH z", "+OK\r\n");
        other.call(&changing.split(' ').collect::<Vec<_>>());
        expect(&mut raw, "MULTI", "+OK\r\n");
        expect(&mut raw, "ZCARD z", "+QUEUED\r\n");
        expect(&mut raw, "EXEC", "*-1\r\n");
    }
}
