//! Sorted set commands end to end, reply by reply: every option Redis 7 accepts, the exact
//! replies (RESP2 and RESP3) and the exact error texts. Expected replies were taken from
//! redis-server 7.0.15 (ZRANK and ZREVRANK's WITHSCORE from Redis 7.2's definition); the
//! last test compares a table of commands against a live reference server when one is
//! installed. Blocking pops, large sets, encodings and random picks are in
//! `zsets_blocking_and_scale.rs`.

use shoal_tests::{Raw, RedisServer, Shoal, expect_all};

/// Switches a raw connection to RESP3.
fn resp3(raw: &mut Raw) {
    assert!(raw.call(&["HELLO", "3"]).starts_with('%'));
}

/// Sends one command made of `args` (which may hold spaces or be empty) and returns the reply.
fn call(raw: &mut Raw, args: &[&str]) -> String {
    raw.call(args)
}

#[test]
fn zadd_adds_and_updates_members_with_every_option() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), ZADD);
}

#[test]
fn zadd_and_zincrby_refuse_bad_arguments_and_nan_results() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(&mut raw, ZADD_ERRORS);
    // string2d refuses an empty score or one with spaces around it.
    for score in ["", " 1", "1 "] {
        assert_eq!(
            call(&mut raw, &["ZADD", "z", score, "a"]),
            "-ERR value is not a valid float\r\n"
        );
    }
}

#[test]
fn zrem_zcard_zscore_and_zmscore_read_and_remove_members() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), MEMBERS);
}

#[test]
fn zrank_and_zrevrank_answer_positions_and_with_withscore_the_score_too() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("ZADD z 1 a 2 b 3.5 c", ":3\r\n"),
            ("ZRANK z a", ":0\r\n"),
            ("ZRANK z c", ":2\r\n"),
            ("ZREVRANK z a", ":2\r\n"),
            ("ZRANK z nothere", "$-1\r\n"),
            ("ZRANK nokey a", "$-1\r\n"),
            // Redis 7.2's WITHSCORE: [rank, score], or a nil array.
            ("ZRANK z c WITHSCORE", "*2\r\n:2\r\n$3\r\n3.5\r\n"),
            ("ZREVRANK z c withscore", "*2\r\n:0\r\n$3\r\n3.5\r\n"),
            ("ZRANK z nothere WITHSCORE", "*-1\r\n"),
            ("ZRANK nokey a WITHSCORE", "*-1\r\n"),
            ("ZRANK z a FOO", "-ERR syntax error\r\n"),
            (
                "ZRANK z a WITHSCORE x",
                "-ERR wrong number of arguments for 'zrank' command\r\n",
            ),
            (
                "ZREVRANK z",
                "-ERR wrong number of arguments for 'zrevrank' command\r\n",
            ),
        ],
    );
    resp3(&mut raw);
    expect_all(
        &mut raw,
        &[
            ("ZRANK z b WITHSCORE", "*2\r\n:1\r\n,2\r\n"),
            ("ZRANK z nothere WITHSCORE", "_\r\n"),
            ("ZRANK z nothere", "_\r\n"),
        ],
    );
}

#[test]
fn zrange_selects_by_rank_score_or_lex_in_either_direction() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), ZRANGE);
}

#[test]
fn zrange_refuses_options_that_do_not_combine() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), ZRANGE_ERRORS);
}

#[test]
fn the_older_range_commands_are_fixed_forms_of_zrange() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), OLDER);
}

#[test]
fn score_and_lex_intervals_read_bounds_as_redis_does() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(&mut raw, INTERVALS);
    // Interval bounds are read by strtod: leading spaces are skipped and an empty bound is 0.
    let cases: &[(&[&str], &str)] = &[
        (
            &["ZRANGEBYSCORE", "z", " 2", " 3"],
            "*2\r\n$1\r\nb\r\n$1\r\nc\r\n",
        ),
        (&["ZCOUNT", "z", "", "(1"], ":0\r\n"),
        (&["ZCOUNT", "z", "(", "+inf"], ":5\r\n"),
        (
            &["ZCOUNT", "z", "1 ", "2"],
            "-ERR min or max is not a float\r\n",
        ),
        (
            &["ZLEXCOUNT", "z", "", "+"],
            "-ERR min or max not valid string range item\r\n",
        ),
    ];
    for (args, reply) in cases {
        assert_eq!(call(&mut raw, args), *reply, "{args:?}");
    }
}

#[test]
fn zrangestore_stores_a_range_and_deletes_the_destination_when_empty() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), ZRANGESTORE);
}

#[test]
fn zremrangeby_commands_remove_ranges_and_the_emptied_key() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), ZREMRANGE);
}

#[test]
fn zpopmin_and_zpopmax_pop_from_either_end() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(&mut raw, POPS);
    // RESP3: a count makes [member, score] pairs; without one the reply stays flat.
    resp3(&mut raw);
    expect_all(
        &mut raw,
        &[
            ("ZADD z 1 a 2 b 3 c", ":3\r\n"),
            ("ZPOPMIN z", "*2\r\n$1\r\na\r\n,1\r\n"),
            ("ZPOPMAX z 1", "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
            ("ZPOPMIN nokey 1", "*0\r\n"),
        ],
    );
}

#[test]
fn zmpop_pops_from_the_first_non_empty_key() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(&mut raw, ZMPOP);
    resp3(&mut raw);
    expect_all(
        &mut raw,
        &[
            ("ZADD z 1 a 2 b", ":2\r\n"),
            (
                "ZMPOP 1 z MAX",
                "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n,2\r\n",
            ),
            (
                "ZMPOP 1 z MAX",
                "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n,1\r\n",
            ),
            ("ZMPOP 1 z MAX", "_\r\n"),
        ],
    );
}

#[test]
fn blocking_pops_answer_at_once_when_a_key_has_members() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), BZPOP);
}

#[test]
fn zunion_zinter_and_zdiff_combine_sorted_sets_and_sets() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), ALGEBRA);
}

#[test]
fn the_store_forms_write_or_delete_the_destination() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), ALGEBRA_STORE);
}

#[test]
fn set_algebra_refuses_bad_arguments() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), ALGEBRA_ERRORS);
}

#[test]
fn zscan_answers_a_packed_set_whole_and_refuses_bad_options() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), SCAN);
}

#[test]
fn every_sorted_set_command_refuses_a_key_of_another_type() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), WRONGTYPE);
}

#[test]
fn resp3_clients_get_doubles_and_member_score_pairs() {
    let node = Shoal::start();
    let mut raw = node.raw();
    resp3(&mut raw);
    expect_all(&mut raw, RESP3);
}

/// Commands whose replies do not depend on randomness or hash order, compared byte for byte.
const COMPARED: &[&[&str]] = &[
    &["ZADD", "z", "1", "a", "2", "b", "3.25", "c", "0.1", "d"],
    &["ZADD", "z", "GT", "CH", "5", "a", "1", "b", "4", "e"],
    &["ZADD", "z", "INCR", "1e-3", "a"],
    &["ZINCRBY", "z", "-inf", "e"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &[
        "ZRANGE",
        "z",
        "(0.1",
        "5",
        "BYSCORE",
        "REV",
        "LIMIT",
        "1",
        "2",
        "WITHSCORES",
    ],
    &["ZRANGEBYSCORE", "z", "", "(3.25"],
    &["ZRANGEBYSCORE", "z", "0x1p1", "1e999"],
    // Lex ranges are specified only when all scores are equal.
    &["ZADD", "lex", "0", "b", "0", "a", "0", "c"],
    &["ZREVRANGEBYLEX", "lex", "+", "[b"],
    &["ZCOUNT", "z", "-inf", "(2"],
    &["ZMSCORE", "z", "a", "e", "zz"],
    &["ZRANGESTORE", "d", "z", "-2", "-1"],
    &[
        "ZUNIONSTORE",
        "u",
        "2",
        "z",
        "d",
        "WEIGHTS",
        "0.5",
        "2",
        "AGGREGATE",
        "MAX",
    ],
    &["ZRANGE", "u", "0", "-1", "WITHSCORES"],
    &["ZINTER", "2", "z", "d", "AGGREGATE", "MIN", "WITHSCORES"],
    &["ZDIFF", "2", "z", "d", "WITHSCORES"],
    &["ZPOPMAX", "z", "2"],
    &["ZMPOP", "2", "nokey", "z", "MIN", "COUNT", "1"],
    &["ZREMRANGEBYLEX", "z", "-", "+"],
    &["EXISTS", "z"],
    &["ZADD", "z", "1", "only"],
    &["ZRANK", "z", "only"],
    &["ZSCAN", "z", "0"],
];

#[test]
fn sorted_set_replies_match_the_reference_redis() {
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
            assert_eq!(ours.call(command), theirs.call(command), "{command:?}");
        }
    }
}

// Expected replies, as redis-server 7.0.15 gives them.

#[rustfmt::skip]
const ZADD: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c", ":3\r\n"),
    ("ZADD z 10 a 4 d", ":1\r\n"),
    ("ZADD z CH 11 a 4 d 5 e", ":2\r\n"),
    ("ZRANGE z 0 -1 WITHSCORES", "*10\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\na\r\n$2\r\n11\r\n"),
    // XX only updates; NX only adds.
    ("ZADD z XX 20 a 1 nothere", ":0\r\n"),
    ("ZADD z XX CH 21 a 1 nothere", ":1\r\n"),
    ("ZSCORE z nothere", "$-1\r\n"),
    ("ZADD z NX 0 a 6 f", ":1\r\n"),
    ("ZSCORE z a", "$2\r\n21\r\n"),
    // GT and LT only move scores up or down (and still add new members).
    ("ZADD z GT CH 1 a 30 b 7 g", ":2\r\n"),
    ("ZADD z LT CH 100 a 1 c 8 h", ":2\r\n"),
    ("ZADD z GT XX CH 50 a 50 nothere2", ":1\r\n"),
    ("ZRANGE z 0 -1 WITHSCORES", "*16\r\n$1\r\nc\r\n$1\r\n1\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nf\r\n$1\r\n6\r\n$1\r\ng\r\n$1\r\n7\r\n$1\r\nh\r\n$1\r\n8\r\n$1\r\nb\r\n$2\r\n30\r\n$1\r\na\r\n$2\r\n50\r\n"),
    // INCR answers the new score, or nil when a condition stopped it.
    ("ZADD z INCR 5 a", "$2\r\n55\r\n"),
    ("ZADD z NX INCR 5 a", "$-1\r\n"),
    ("ZADD z XX INCR 5 nothere", "$-1\r\n"),
    ("ZADD z GT INCR -1 a", "$-1\r\n"),
    ("ZADD z LT INCR -1 a", "$2\r\n54\r\n"),
    ("ZADD z INCR 2 newbie", "$1\r\n2\r\n"),
    // Options in any case and repeated.
    ("ZADD z nx NX ch 1 lower", ":1\r\n"),
    // XX on a missing key creates nothing.
    ("ZADD missing XX 1 a", ":0\r\n"),
    ("ZADD missing XX INCR 1 a", "$-1\r\n"),
    ("EXISTS missing", ":0\r\n"),
    // Hexadecimal and exponent scores, as strtod reads them.
    ("ZADD n 0x10 hex 1e2 exp -.5 frac +inf top -inf bottom", ":5\r\n"),
    ("ZRANGE n 0 -1 WITHSCORES", "*10\r\n$6\r\nbottom\r\n$4\r\n-inf\r\n$4\r\nfrac\r\n$4\r\n-0.5\r\n$3\r\nhex\r\n$2\r\n16\r\n$3\r\nexp\r\n$3\r\n100\r\n$3\r\ntop\r\n$3\r\ninf\r\n"),
];

#[rustfmt::skip]
const ZADD_ERRORS: &[(&str, &str)] = &[
    ("ZADD z 1", "-ERR wrong number of arguments for 'zadd' command\r\n"),
    ("ZADD z 1 a 2", "-ERR syntax error\r\n"),
    ("ZADD z NX", "-ERR wrong number of arguments for 'zadd' command\r\n"),
    ("ZADD z NX XX 1 a", "-ERR XX and NX options at the same time are not compatible\r\n"),
    ("ZADD z GT LT 1 a", "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"),
    ("ZADD z GT NX 1 a", "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"),
    ("ZADD z LT NX 1 a", "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"),
    ("ZADD z INCR 1 a 2 b", "-ERR INCR option supports a single increment-element pair\r\n"),
    ("ZADD z abc a", "-ERR value is not a valid float\r\n"),
    ("ZADD z 1 a abc b", "-ERR value is not a valid float\r\n"),
    ("ZADD z nan a", "-ERR value is not a valid float\r\n"),
    ("ZADD z 1e400 a", "-ERR value is not a valid float\r\n"),
    ("ZADD z 1e-400 a", "-ERR value is not a valid float\r\n"),
    ("ZADD z 1.5x a", "-ERR value is not a valid float\r\n"),
    ("ZADD z FOO 1 a", "-ERR syntax error\r\n"),
    ("ZINCRBY z abc a", "-ERR value is not a valid float\r\n"),
    ("ZINCRBY z nan a", "-ERR value is not a valid float\r\n"),
    ("EXISTS z", ":0\r\n"),
    // NaN results are refused.
    ("ZADD z +inf a", ":1\r\n"),
    ("ZADD z INCR -inf a", "-ERR resulting score is not a number (NaN)\r\n"),
    ("ZINCRBY z -inf a", "-ERR resulting score is not a number (NaN)\r\n"),
    ("ZSCORE z a", "$3\r\ninf\r\n"),
    ("ZINCRBY z 1.5 b", "$3\r\n1.5\r\n"),
    ("ZINCRBY z 1 b", "$3\r\n2.5\r\n"),
    ("ZINCRBY z -0.5 new", "$4\r\n-0.5\r\n"),
];

#[rustfmt::skip]
const MEMBERS: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c", ":3\r\n"),
    ("ZREM z a nothere a", ":1\r\n"),
    ("ZREM z nothere", ":0\r\n"),
    ("ZREM nokey a", ":0\r\n"),
    ("ZCARD z", ":2\r\n"),
    ("ZCARD nokey", ":0\r\n"),
    ("ZSCORE z b", "$1\r\n2\r\n"),
    ("ZSCORE z nothere", "$-1\r\n"),
    ("ZSCORE nokey b", "$-1\r\n"),
    ("ZMSCORE z b nothere c", "*3\r\n$1\r\n2\r\n$-1\r\n$1\r\n3\r\n"),
    ("ZMSCORE nokey a b", "*2\r\n$-1\r\n$-1\r\n"),
    ("ZREM z b c", ":2\r\n"),
    ("EXISTS z", ":0\r\n"),
    ("ZADD f 0.1 a 1.5e20 b 3 c -2.25 d", ":4\r\n"),
    ("ZRANGE f 0 -1 WITHSCORES", "*8\r\n$1\r\nd\r\n$5\r\n-2.25\r\n$1\r\na\r\n$19\r\n0.10000000000000001\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$7\r\n1.5e+20\r\n"),
    ("ZSCORE f a", "$19\r\n0.10000000000000001\r\n"),
];

#[rustfmt::skip]
const ZRANGE: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c 4 d 5 e 6 f", ":6\r\n"),
    ("ZRANGE z 0 -1", "*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n"),
    ("ZRANGE z -2 -1 WITHSCORES", "*4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nf\r\n$1\r\n6\r\n"),
    ("ZRANGE z -100 100", "*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n"),
    ("ZRANGE z 2 1", "*0\r\n"),
    ("ZRANGE z 6 10", "*0\r\n"),
    ("ZRANGE z 0 1 REV", "*2\r\n$1\r\nf\r\n$1\r\ne\r\n"),
    ("ZRANGE z 1 2 REV WITHSCORES", "*4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nd\r\n$1\r\n4\r\n"),
    ("ZRANGE z 2 5 BYSCORE", "*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"),
    ("ZRANGE z (2 (5 BYSCORE WITHSCORES", "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n"),
    ("ZRANGE z 5 2 BYSCORE REV", "*4\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n"),
    ("ZRANGE z -inf +inf BYSCORE LIMIT 1 2", "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"),
    ("ZRANGE z +inf -inf BYSCORE REV LIMIT 1 2", "*2\r\n$1\r\ne\r\n$1\r\nd\r\n"),
    ("ZRANGE z -inf +inf BYSCORE LIMIT 2 -1", "*4\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n"),
    ("ZRANGE z -inf +inf BYSCORE LIMIT -1 2", "*0\r\n"),
    ("ZRANGE z -inf +inf BYSCORE LIMIT 2 0", "*0\r\n"),
    ("ZRANGE z -inf +inf BYSCORE LIMIT 100 1", "*0\r\n"),
    ("ZRANGE z 0 1 LIMIT 0 -1", "*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
    ("ZRANGE z [b [d BYLEX", "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"),
    ("ZRANGE z - + BYLEX LIMIT 1 2", "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"),
    ("ZRANGE z + - BYLEX REV LIMIT 1 2", "*2\r\n$1\r\ne\r\n$1\r\nd\r\n"),
    ("ZRANGE z (b (e BYLEX", "*2\r\n$1\r\nc\r\n$1\r\nd\r\n"),
    ("ZRANGE nokey 0 -1", "*0\r\n"),
    ("ZRANGE z 0 1 withscores rev", "*4\r\n$1\r\nf\r\n$1\r\n6\r\n$1\r\ne\r\n$1\r\n5\r\n"),
];

#[rustfmt::skip]
const ZRANGE_ERRORS: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b", ":2\r\n"),
    ("ZRANGE z 0 1 REV REV", "-ERR syntax error\r\n"),
    ("ZRANGE z 0 1 BYSCORE BYLEX", "-ERR syntax error\r\n"),
    ("ZRANGE z 0 1 BYSCORE BYSCORE", "-ERR syntax error\r\n"),
    ("ZRANGE z 0 1 LIMIT 0 1", "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"),
    ("ZRANGE z 0 1 LIMIT 0", "-ERR syntax error\r\n"),
    ("ZRANGE z 0 1 BYSCORE LIMIT x 1", "-ERR value is not an integer or out of range\r\n"),
    ("ZRANGE z 0 1 BYSCORE LIMIT 0 1.5", "-ERR value is not an integer or out of range\r\n"),
    ("ZRANGE z [a [b BYLEX WITHSCORES", "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n"),
    ("ZRANGE z a b BYLEX", "-ERR min or max not valid string range item\r\n"),
    ("ZRANGE z x y BYSCORE", "-ERR min or max is not a float\r\n"),
    ("ZRANGE z 1.5 3", "-ERR value is not an integer or out of range\r\n"),
    ("ZRANGE z 0 1 FOO", "-ERR syntax error\r\n"),
    ("ZRANGE nokey x y", "-ERR value is not an integer or out of range\r\n"),
    ("ZRANGE nokey 0 1 FOO", "-ERR syntax error\r\n"),
];

#[rustfmt::skip]
const OLDER: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5\r\n"),
    ("ZREVRANGE z 0 1", "*2\r\n$1\r\ne\r\n$1\r\nd\r\n"),
    ("ZREVRANGE z 0 1 WITHSCORES", "*4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nd\r\n$1\r\n4\r\n"),
    ("ZREVRANGE z 0 1 LIMIT 0 1", "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"),
    ("ZREVRANGE z 0 1 REV", "-ERR syntax error\r\n"),
    ("ZREVRANGE z 0 1 BYSCORE", "-ERR syntax error\r\n"),
    ("ZRANGEBYSCORE z 2 4", "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"),
    ("ZRANGEBYSCORE z 2 4 WITHSCORES LIMIT 1 5", "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n"),
    ("ZRANGEBYSCORE z (2 +inf", "*3\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"),
    ("ZRANGEBYSCORE z 2 4 REV", "-ERR syntax error\r\n"),
    ("ZRANGEBYSCORE z 2 4 BYLEX", "-ERR syntax error\r\n"),
    ("ZRANGEBYSCORE z 2 4 LIMIT 1", "-ERR syntax error\r\n"),
    ("ZREVRANGEBYSCORE z 4 2", "*3\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n"),
    ("ZREVRANGEBYSCORE z 4 2 WITHSCORES LIMIT 1 1", "*2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
    ("ZREVRANGEBYSCORE z 2 4", "*0\r\n"),
    ("ZADD l 0 alpha 0 bar 0 cool 0 down 0 elephant 0 foo", ":6\r\n"),
    ("ZRANGEBYLEX l [bar [down", "*3\r\n$3\r\nbar\r\n$4\r\ncool\r\n$4\r\ndown\r\n"),
    ("ZRANGEBYLEX l (bar (down", "*1\r\n$4\r\ncool\r\n"),
    ("ZRANGEBYLEX l - + LIMIT 2 2", "*2\r\n$4\r\ncool\r\n$4\r\ndown\r\n"),
    ("ZRANGEBYLEX l [b (d", "*2\r\n$3\r\nbar\r\n$4\r\ncool\r\n"),
    ("ZRANGEBYLEX l [bar [down WITHSCORES", "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n"),
    ("ZREVRANGEBYLEX l + -", "*6\r\n$3\r\nfoo\r\n$8\r\nelephant\r\n$4\r\ndown\r\n$4\r\ncool\r\n$3\r\nbar\r\n$5\r\nalpha\r\n"),
    ("ZREVRANGEBYLEX l [down [bar LIMIT 0 2", "*2\r\n$4\r\ndown\r\n$4\r\ncool\r\n"),
    ("ZREVRANGEBYLEX l - +", "*0\r\n"),
];

#[rustfmt::skip]
const INTERVALS: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5\r\n"),
    ("ZRANGEBYSCORE z 1e400 +inf", "*0\r\n"),
    ("ZRANGEBYSCORE z -1e400 1", "*1\r\n$1\r\na\r\n"),
    ("ZRANGEBYSCORE z 0x2 0x3", "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"),
    ("ZRANGEBYSCORE z -inf (1", "*0\r\n"),
    ("ZRANGEBYSCORE z str 1", "-ERR min or max is not a float\r\n"),
    ("ZRANGEBYSCORE z 1 str", "-ERR min or max is not a float\r\n"),
    ("ZRANGEBYSCORE z 1 nan", "-ERR min or max is not a float\r\n"),
    ("ZRANGEBYSCORE z ((1 2", "-ERR min or max is not a float\r\n"),
    ("ZRANGEBYSCORE z [1 2", "-ERR min or max is not a float\r\n"),
    ("ZCOUNT z (1 (5", ":3\r\n"),
    ("ZCOUNT z -inf +inf", ":5\r\n"),
    ("ZCOUNT z 5 1", ":0\r\n"),
    ("ZCOUNT z x 1", "-ERR min or max is not a float\r\n"),
    ("ZCOUNT nokey 0 1", ":0\r\n"),
    ("ZADD l 0 a 0 b 0 c 0 d", ":4\r\n"),
    ("ZLEXCOUNT l - +", ":4\r\n"),
    ("ZLEXCOUNT l [b [c", ":2\r\n"),
    ("ZLEXCOUNT l (b (c", ":0\r\n"),
    ("ZLEXCOUNT l + -", ":0\r\n"),
    ("ZLEXCOUNT l [c [b", ":0\r\n"),
    ("ZLEXCOUNT l b c", "-ERR min or max not valid string range item\r\n"),
    ("ZLEXCOUNT l +x [b", "-ERR min or max not valid string range item\r\n"),
    ("ZLEXCOUNT l -x [b", "-ERR min or max not valid string range item\r\n"),
    ("ZLEXCOUNT nokey - +", ":0\r\n"),
    ("ZRANGEBYLEX l ( [", "*0\r\n"),
    ("ZRANGEBYLEX l [ +", "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"),
];

#[rustfmt::skip]
const ZRANGESTORE: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5\r\n"),
    ("ZRANGESTORE dst z 0 1", ":2\r\n"),
    ("ZRANGE dst 0 -1 WITHSCORES", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"),
    ("ZRANGESTORE dst z 4 2 BYSCORE REV LIMIT 0 2", ":2\r\n"),
    ("ZRANGE dst 0 -1 WITHSCORES", "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n"),
    ("ZRANGESTORE dst z [b [c BYLEX", ":2\r\n"),
    ("ZRANGE dst 0 -1 WITHSCORES", "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
    ("ZRANGESTORE dst z 0 1 WITHSCORES", "-ERR syntax error\r\n"),
    ("ZRANGESTORE dst z 0 1 LIMIT 0 1", "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"),
    ("ZRANGESTORE dst z 10 20", ":0\r\n"),
    ("EXISTS dst", ":0\r\n"),
    ("ZRANGESTORE dst z 0 1", ":2\r\n"),
    ("ZRANGESTORE dst nokey 0 -1", ":0\r\n"),
    ("EXISTS dst", ":0\r\n"),
    ("SET str x", "+OK\r\n"),
    ("ZRANGESTORE dst str 0 -1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZRANGESTORE str z 0 0", ":1\r\n"),
    ("TYPE str", "+zset\r\n"),
];

#[rustfmt::skip]
const ZREMRANGE: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c 4 d 5 e 6 f", ":6\r\n"),
    ("ZREMRANGEBYRANK z 0 0", ":1\r\n"),
    ("ZREMRANGEBYRANK z -1 -1", ":1\r\n"),
    ("ZREMRANGEBYRANK z 10 20", ":0\r\n"),
    ("ZREMRANGEBYRANK z 2 1", ":0\r\n"),
    ("ZREMRANGEBYRANK z x 1", "-ERR value is not an integer or out of range\r\n"),
    ("ZRANGE z 0 -1", "*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"),
    ("ZREMRANGEBYSCORE z (2 3", ":1\r\n"),
    ("ZREMRANGEBYSCORE z a b", "-ERR min or max is not a float\r\n"),
    ("ZREMRANGEBYSCORE nokey 1 2", ":0\r\n"),
    ("ZRANGE z 0 -1", "*3\r\n$1\r\nb\r\n$1\r\nd\r\n$1\r\ne\r\n"),
    ("ZADD l 0 a 0 b 0 c 0 d", ":4\r\n"),
    ("ZREMRANGEBYLEX l [b (d", ":2\r\n"),
    ("ZREMRANGEBYLEX l a b", "-ERR min or max not valid string range item\r\n"),
    ("ZREMRANGEBYLEX l - +", ":2\r\n"),
    ("EXISTS l", ":0\r\n"),
    ("ZREMRANGEBYSCORE z -inf +inf", ":3\r\n"),
    ("EXISTS z", ":0\r\n"),
    ("ZREMRANGEBYRANK nokey 0 -1", ":0\r\n"),
];

#[rustfmt::skip]
const POPS: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5\r\n"),
    ("ZPOPMIN z", "*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
    ("ZPOPMAX z", "*2\r\n$1\r\ne\r\n$1\r\n5\r\n"),
    ("ZPOPMIN z 2", "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
    ("ZPOPMIN z 0", "*0\r\n"),
    ("ZPOPMIN z -1", "-ERR value is out of range, must be positive\r\n"),
    ("ZPOPMIN z x", "-ERR value is out of range, must be positive\r\n"),
    ("ZPOPMIN z 1 2", "-ERR syntax error\r\n"),
    ("ZPOPMIN nokey", "*0\r\n"),
    ("ZPOPMIN nokey 3", "*0\r\n"),
    ("ZPOPMAX z 10", "*2\r\n$1\r\nd\r\n$1\r\n4\r\n"),
    ("EXISTS z", ":0\r\n"),
];

#[rustfmt::skip]
const ZMPOP: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c 4 d", ":4\r\n"),
    ("ZMPOP 1 z MIN", "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
    ("ZMPOP 2 nokey z max COUNT 2", "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
    ("ZMPOP 1 nokey MIN", "*-1\r\n"),
    ("ZMPOP 0 z MIN", "-ERR numkeys should be greater than 0\r\n"),
    ("ZMPOP x z MIN", "-ERR numkeys should be greater than 0\r\n"),
    ("ZMPOP 1 z", "-ERR wrong number of arguments for 'zmpop' command\r\n"),
    ("ZMPOP 1 z FOO", "-ERR syntax error\r\n"),
    ("ZMPOP 3 z MIN", "-ERR syntax error\r\n"),
    ("ZMPOP 1 z MIN COUNT", "-ERR syntax error\r\n"),
    ("ZMPOP 1 z MIN COUNT 0", "-ERR count should be greater than 0\r\n"),
    ("ZMPOP 1 z MIN COUNT x", "-ERR count should be greater than 0\r\n"),
    ("ZMPOP 1 z MIN COUNT 1 COUNT 1", "-ERR syntax error\r\n"),
    ("ZMPOP 1 z MIN FOO", "-ERR syntax error\r\n"),
    ("ZMPOP 1 z MIN COUNT 10", "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"),
    ("EXISTS z", ":0\r\n"),
];

#[rustfmt::skip]
const BZPOP: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c", ":3\r\n"),
    ("BZPOPMIN nokey z 0", "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"),
    ("BZPOPMAX z 0", "*3\r\n$1\r\nz\r\n$1\r\nc\r\n$1\r\n3\r\n"),
    ("BZMPOP 0 2 nokey z MIN COUNT 5", "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"),
    ("EXISTS z", ":0\r\n"),
    ("BZPOPMIN z x", "-ERR timeout is not a float or out of range\r\n"),
    ("BZPOPMIN z -1", "-ERR timeout is negative\r\n"),
    ("BZMPOP 0 0 z MIN", "-ERR numkeys should be greater than 0\r\n"),
    ("BZMPOP 0 1 z FOO", "-ERR syntax error\r\n"),
    ("BZMPOP x 1 z MIN", "-ERR timeout is not a float or out of range\r\n"),
    ("BZMPOP -1 1 z MIN", "-ERR timeout is negative\r\n"),
    ("MULTI", "+OK\r\n"),
    ("BZPOPMIN nokey 0", "+QUEUED\r\n"),
    ("BZMPOP 0 1 nokey MIN", "+QUEUED\r\n"),
    ("EXEC", "*2\r\n*-1\r\n*-1\r\n"),
];

#[rustfmt::skip]
const ALGEBRA: &[(&str, &str)] = &[
    ("ZADD a 1 x 2 y 3 z", ":3\r\n"),
    ("ZADD b 10 y 20 z 30 w", ":3\r\n"),
    ("SADD s y w v", ":3\r\n"),
    ("ZUNION 2 a b", "*4\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\nw\r\n"),
    ("ZUNION 2 a b WITHSCORES", "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n"),
    ("ZUNION 2 a b WEIGHTS 2 3 WITHSCORES", "*8\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\ny\r\n$2\r\n34\r\n$1\r\nz\r\n$2\r\n66\r\n$1\r\nw\r\n$2\r\n90\r\n"),
    ("ZUNION 2 a b AGGREGATE MIN WITHSCORES", "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n$1\r\nw\r\n$2\r\n30\r\n"),
    ("ZUNION 2 a b AGGREGATE MAX WITHSCORES", "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n10\r\n$1\r\nz\r\n$2\r\n20\r\n$1\r\nw\r\n$2\r\n30\r\n"),
    ("ZUNION 3 a b s WITHSCORES", "*10\r\n$1\r\nv\r\n$1\r\n1\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n13\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n31\r\n"),
    ("ZUNION 2 a nokey WITHSCORES", "*6\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n"),
    ("ZINTER 2 a b WITHSCORES", "*4\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n"),
    ("ZINTER 2 a b WEIGHTS 1 -1 WITHSCORES", "*4\r\n$1\r\nz\r\n$3\r\n-17\r\n$1\r\ny\r\n$2\r\n-8\r\n"),
    ("ZINTER 3 a b s WITHSCORES", "*2\r\n$1\r\ny\r\n$2\r\n13\r\n"),
    ("ZINTER 2 a nokey", "*0\r\n"),
    ("ZINTER 2 a a WITHSCORES", "*6\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\ny\r\n$1\r\n4\r\n$1\r\nz\r\n$1\r\n6\r\n"),
    ("ZINTER 2 a b AGGREGATE MAX WITHSCORES", "*4\r\n$1\r\ny\r\n$2\r\n10\r\n$1\r\nz\r\n$2\r\n20\r\n"),
    ("ZDIFF 2 a b WITHSCORES", "*2\r\n$1\r\nx\r\n$1\r\n1\r\n"),
    ("ZDIFF 2 a s WITHSCORES", "*4\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\nz\r\n$1\r\n3\r\n"),
    ("ZDIFF 2 a a", "*0\r\n"),
    ("ZDIFF 1 s WITHSCORES", "*6\r\n$1\r\nv\r\n$1\r\n1\r\n$1\r\nw\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n1\r\n"),
    ("ZDIFF 2 nokey a", "*0\r\n"),
    ("ZINTERCARD 2 a b", ":2\r\n"),
    ("ZINTERCARD 2 a b LIMIT 1", ":1\r\n"),
    ("ZINTERCARD 2 a b LIMIT 0", ":2\r\n"),
    ("ZINTERCARD 3 a b nokey", ":0\r\n"),
    // inf times 0 counts as 0, and inf + -inf too.
    ("ZADD i 1 x", ":1\r\n"),
    ("ZUNION 2 i i WEIGHTS inf -inf WITHSCORES", "*2\r\n$1\r\nx\r\n$1\r\n0\r\n"),
    ("ZINTER 2 i i WEIGHTS 0 inf WITHSCORES", "*2\r\n$1\r\nx\r\n$3\r\ninf\r\n"),
    ("ZINTER 2 i i WEIGHTS inf 0 AGGREGATE MIN WITHSCORES", "*2\r\n$1\r\nx\r\n$1\r\n0\r\n"),
];

#[rustfmt::skip]
const ALGEBRA_STORE: &[(&str, &str)] = &[
    ("ZADD a 1 x 2 y 3 z", ":3\r\n"),
    ("ZADD b 10 y 20 z 30 w", ":3\r\n"),
    ("SADD s y w v", ":3\r\n"),
    ("ZUNIONSTORE d 2 a b", ":4\r\n"),
    ("ZRANGE d 0 -1 WITHSCORES", "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n"),
    ("OBJECT ENCODING d", "$8\r\nlistpack\r\n"),
    ("ZINTERSTORE d 2 a b WEIGHTS 2 2 AGGREGATE SUM", ":2\r\n"),
    ("ZRANGE d 0 -1 WITHSCORES", "*4\r\n$1\r\ny\r\n$2\r\n24\r\n$1\r\nz\r\n$2\r\n46\r\n"),
    ("ZDIFFSTORE d 2 a b", ":1\r\n"),
    ("ZRANGE d 0 -1 WITHSCORES", "*2\r\n$1\r\nx\r\n$1\r\n1\r\n"),
    ("ZUNIONSTORE d 1 s", ":3\r\n"),
    ("ZRANGE d 0 -1 WITHSCORES", "*6\r\n$1\r\nv\r\n$1\r\n1\r\n$1\r\nw\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n1\r\n"),
    ("ZINTERSTORE d 2 a nokey", ":0\r\n"),
    ("EXISTS d", ":0\r\n"),
    ("ZDIFFSTORE d 1 nokey", ":0\r\n"),
    ("ZUNIONSTORE a 2 a b", ":4\r\n"),
    ("ZRANGE a 0 -1 WITHSCORES", "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n"),
];

#[rustfmt::skip]
const ALGEBRA_ERRORS: &[(&str, &str)] = &[
    ("ZADD a 1 x", ":1\r\n"),
    ("SET str x", "+OK\r\n"),
    ("ZUNION 0 a", "-ERR at least 1 input key is needed for 'zunion' command\r\n"),
    ("ZUNION -1 a", "-ERR at least 1 input key is needed for 'zunion' command\r\n"),
    ("ZUNION x a", "-ERR value is not an integer or out of range\r\n"),
    ("ZUNION 3 a b", "-ERR syntax error\r\n"),
    ("ZUNION 2 a b FOO", "-ERR syntax error\r\n"),
    ("ZUNION 2 a b WEIGHTS 1", "-ERR syntax error\r\n"),
    ("ZUNION 2 a b WEIGHTS 1 x", "-ERR weight value is not a float\r\n"),
    ("ZUNION 2 a b WEIGHTS 1 nan", "-ERR weight value is not a float\r\n"),
    ("ZUNION 2 a b AGGREGATE", "-ERR syntax error\r\n"),
    ("ZUNION 2 a b AGGREGATE AVG", "-ERR syntax error\r\n"),
    ("ZUNION 2 a str", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZUNION 2 str a FOO", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZDIFF 2 a b WEIGHTS 1 2", "-ERR syntax error\r\n"),
    ("ZDIFF 2 a b AGGREGATE SUM", "-ERR syntax error\r\n"),
    ("ZUNIONSTORE d 2 a b WITHSCORES", "-ERR syntax error\r\n"),
    ("ZINTERSTORE d 0 a", "-ERR at least 1 input key is needed for 'zinterstore' command\r\n"),
    ("ZDIFFSTORE d 0 a", "-ERR at least 1 input key is needed for 'zdiffstore' command\r\n"),
    ("ZDIFFSTORE d 2 a str", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZINTERCARD 0 a", "-ERR at least 1 input key is needed for 'zintercard' command\r\n"),
    ("ZINTERCARD 2 a b LIMIT -1", "-ERR LIMIT can't be negative\r\n"),
    ("ZINTERCARD 2 a b LIMIT x", "-ERR LIMIT can't be negative\r\n"),
    ("ZINTERCARD 2 a b WITHSCORES", "-ERR syntax error\r\n"),
    ("ZINTERCARD 2 a b WEIGHTS 1 1", "-ERR syntax error\r\n"),
    ("ZINTERCARD 2 a str", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
];

#[rustfmt::skip]
const SCAN: &[(&str, &str)] = &[
    ("ZADD z 1 a 2.5 b 0.1 c 3 ab", ":4\r\n"),
    ("ZSCAN z 0", "*2\r\n$1\r\n0\r\n*8\r\n$1\r\nc\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n$2\r\nab\r\n$1\r\n3\r\n"),
    ("ZSCAN z 0 MATCH a*", "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n3\r\n"),
    ("ZSCAN z 0 COUNT 1", "*2\r\n$1\r\n0\r\n*8\r\n$1\r\nc\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n$2\r\nab\r\n$1\r\n3\r\n"),
    ("ZSCAN z 0 COUNT 0", "-ERR syntax error\r\n"),
    ("ZSCAN z 0 COUNT x", "-ERR value is not an integer or out of range\r\n"),
    ("ZSCAN z 0 FOO bar", "-ERR syntax error\r\n"),
    ("ZSCAN z 0 MATCH", "-ERR syntax error\r\n"),
    ("ZSCAN z x", "-ERR invalid cursor\r\n"),
    ("ZSCAN nokey 0", "*2\r\n$1\r\n0\r\n*0\r\n"),
    ("ZSCAN nokey 0 COUNT x", "*2\r\n$1\r\n0\r\n*0\r\n"),
];

#[rustfmt::skip]
const WRONGTYPE: &[(&str, &str)] = &[
    ("SET s x", "+OK\r\n"),
    ("ZADD z 1 a", ":1\r\n"),
    ("ZADD s 1 a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZINCRBY s 1 a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZREM s a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZCARD s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZSCORE s a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZMSCORE s a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZRANK s a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZREVRANK s a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZCOUNT s 0 1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZLEXCOUNT s - +", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZRANGE s 0 -1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZRANGESTORE d s 0 -1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZRANGEBYSCORE s 0 1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZREVRANGEBYSCORE s 1 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZRANGEBYLEX s - +", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZREVRANGEBYLEX s + -", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZREVRANGE s 0 -1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZREMRANGEBYRANK s 0 -1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZREMRANGEBYSCORE s 0 1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZREMRANGEBYLEX s - +", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZPOPMIN s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZPOPMAX s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZMPOP 1 s MIN", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("BZPOPMIN s 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("BZPOPMAX s 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("BZMPOP 0 1 s MIN", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZRANDMEMBER s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZRANDMEMBER s 2", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZUNION 2 z s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZINTER 2 z s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZDIFF 2 z s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZUNIONSTORE d 2 z s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZINTERSTORE d 2 z s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZDIFFSTORE d 2 z s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZINTERCARD 2 z s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("ZSCAN s 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
];

#[rustfmt::skip]
const RESP3: &[(&str, &str)] = &[
    ("ZADD z 1 a 2.5 b 3 c", ":3\r\n"),
    ("ZSCORE z b", ",2.5\r\n"),
    ("ZSCORE z nothere", "_\r\n"),
    ("ZMSCORE z a nothere", "*2\r\n,1\r\n_\r\n"),
    ("ZINCRBY z 1 a", ",2\r\n"),
    ("ZADD z INCR 1 a", ",3\r\n"),
    ("ZADD z NX INCR 1 a", "_\r\n"),
    ("ZRANGE z 0 -1 WITHSCORES", "*3\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\na\r\n,3\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
    ("ZRANGE z 0 -1", "*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n"),
    ("ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 0 1", "*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"),
    ("ZREVRANGE z 0 0 WITHSCORES", "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
    ("ZUNION 1 z WITHSCORES", "*3\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\na\r\n,3\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
    ("ZINTER 1 z WITHSCORES", "*3\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\na\r\n,3\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
    ("ZDIFF 1 z WITHSCORES", "*3\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\na\r\n,3\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
    ("ZRANDMEMBER nokey", "_\r\n"),
    ("ZRANK nokey a", "_\r\n"),
    ("ZPOPMIN z", "*2\r\n$1\r\nb\r\n,2.5\r\n"),
    ("ZPOPMAX z 1", "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
    ("ZMPOP 1 z MIN", "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n,3\r\n"),
    ("ZMPOP 1 z MIN", "_\r\n"),
    ("ZADD z 1 a", ":1\r\n"),
    ("BZPOPMIN z 0", "*3\r\n$1\r\nz\r\n$1\r\na\r\n,1\r\n"),
    ("ZSCAN nokey 0", "*2\r\n$1\r\n0\r\n*0\r\n"),
    ("ZRANGE nokey 0 -1", "*0\r\n"),
];
