//! List commands end to end: every option Redis 7 accepts, the exact replies (RESP2 and
//! RESP3) and error texts, encodings, and a comparison of many commands against a live
//! reference redis-server when one is installed. Blocking commands are in `lists/blocking.rs`.

#[path = "lists/blocking.rs"]
mod blocking;

use redis::Commands;
use shoal_tests::{Raw, RedisServer, Shoal, expect, expect_all, int};

const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const MUST_BE_POSITIVE: &str = "-ERR value is out of range, must be positive\r\n";

/// The raw reply of an array of bulk strings.
fn bulks(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for item in items {
        out.push_str(&format!("${}\r\n{item}\r\n", item.len()));
    }
    out
}

/// The elements of the list at `key`, through a `redis` connection.
fn elements(conn: &mut redis::Connection, key: &str) -> Vec<String> {
    conn.lrange(key, 0, -1).expect("lrange")
}

#[test]
fn pushes_add_at_either_end_and_answer_the_new_length() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let len: i64 = conn.rpush("l", &["b", "c"]).expect("rpush");
    assert_eq!(len, 2);
    let len: i64 = conn.lpush("l", &["a", "z"]).expect("lpush");
    assert_eq!(len, 4);
    assert_eq!(elements(&mut conn, "l"), ["z", "a", "b", "c"]);
    let binary = b"x\0y\r\n\xff".to_vec();
    let _: i64 = conn.rpush("l", &binary).expect("rpush");
    let last: Vec<u8> = conn.lindex("l", -1).expect("lindex");
    assert_eq!(last, binary);
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            (
                "LPUSH",
                "-ERR wrong number of arguments for 'lpush' command\r\n",
            ),
            (
                "RPUSH l",
                "-ERR wrong number of arguments for 'rpush' command\r\n",
            ),
            ("TYPE l", "+list\r\n"),
        ],
    );
}

#[test]
fn pushx_adds_only_to_an_existing_list() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("LPUSHX l a", ":0\r\n"),
            ("RPUSHX l a b", ":0\r\n"),
            ("EXISTS l", ":0\r\n"),
            ("RPUSH l m", ":1\r\n"),
            ("LPUSHX l b a", ":3\r\n"),
            ("RPUSHX l y z", ":5\r\n"),
        ],
    );
    expect(
        &mut raw,
        "LRANGE l 0 -1",
        &bulks(&["a", "b", "m", "y", "z"]),
    );
}

#[test]
fn every_list_command_refuses_a_key_of_another_type() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "SET s text", "+OK\r\n");
    expect(&mut raw, "RPUSH l a", ":1\r\n");
    for command in [
        "LPUSH s a",
        "RPUSH s a",
        "LPUSHX s a",
        "RPUSHX s a",
        "LINSERT s BEFORE a b",
        "LLEN s",
        "LINDEX s 0",
        "LSET s 0 a",
        "LPOP s",
        "RPOP s 2",
        "LRANGE s 0 -1",
        "LTRIM s 0 1",
        "LPOS s a",
        "LREM s 0 a",
        "RPOPLPUSH s l",
        "RPOPLPUSH l s",
        "LMOVE s l LEFT LEFT",
        "LMOVE l s LEFT LEFT",
        "LMPOP 2 nokey s LEFT",
        "BLPOP s 0",
        "BRPOP nokey s 0",
        "BRPOPLPUSH s l 0",
        "BRPOPLPUSH l s 0",
        "BLMOVE s l LEFT RIGHT 0",
        "BLMOVE l s LEFT RIGHT 0",
        "BLMPOP 0 1 s RIGHT",
    ] {
        expect(&mut raw, command, WRONGTYPE);
    }
    expect(&mut raw, "GET s", "$4\r\ntext\r\n");
    expect(&mut raw, "LRANGE l 0 -1", &bulks(&["a"]));
}

#[test]
fn lpop_and_rpop_take_one_element_or_a_count() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "RPUSH l a b c d e f", ":6\r\n");
    expect_all(
        &mut raw,
        &[
            ("LPOP l", "$1\r\na\r\n"),
            ("RPOP l", "$1\r\nf\r\n"),
            ("LPOP l 2", &bulks(&["b", "c"])),
            ("RPOP l 1", &bulks(&["e"])),
            ("LPOP l 0", "*0\r\n"),
            ("LPOP l -1", MUST_BE_POSITIVE),
            ("RPOP l x", MUST_BE_POSITIVE),
            (
                "LPOP l 1 2",
                "-ERR wrong number of arguments for 'lpop' command\r\n",
            ),
            (
                "RPOP l 1 2",
                "-ERR wrong number of arguments for 'rpop' command\r\n",
            ),
            ("RPOP l 10", &bulks(&["d"])),
            ("EXISTS l", ":0\r\n"),
            ("LPOP l", "$-1\r\n"),
            ("RPOP l 1", "*-1\r\n"),
            ("LPOP l 0", "*-1\r\n"),
            ("LPOP l -1", MUST_BE_POSITIVE),
        ],
    );
}

#[test]
fn llen_lindex_and_lset_address_elements_from_either_end() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "RPUSH l a b c", ":3\r\n");
    expect_all(
        &mut raw,
        &[
            ("LLEN l", ":3\r\n"),
            ("LLEN nokey", ":0\r\n"),
            ("LINDEX l 0", "$1\r\na\r\n"),
            ("LINDEX l -1", "$1\r\nc\r\n"),
            ("LINDEX l -3", "$1\r\na\r\n"),
            ("LINDEX l 3", "$-1\r\n"),
            ("LINDEX l -4", "$-1\r\n"),
            ("LINDEX l x", NOT_INT),
            ("LINDEX nokey x", "$-1\r\n"),
            ("LINDEX l -9223372036854775808", "$-1\r\n"),
            ("LSET l 0 A", "+OK\r\n"),
            ("LSET l -1 C", "+OK\r\n"),
            ("LSET l 3 x", "-ERR index out of range\r\n"),
            ("LSET l -4 x", "-ERR index out of range\r\n"),
            ("LSET l x y", NOT_INT),
            ("LSET nokey 0 x", "-ERR no such key\r\n"),
            ("LSET nokey x y", "-ERR no such key\r\n"),
            ("EXISTS nokey", ":0\r\n"),
        ],
    );
    expect(&mut raw, "LRANGE l 0 -1", &bulks(&["A", "b", "C"]));
}

#[test]
fn lrange_clamps_its_indexes_like_redis() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "RPUSH l 0 1 2 3 4 5", ":6\r\n");
    expect_all(
        &mut raw,
        &[
            ("LRANGE l 0 -1", &bulks(&["0", "1", "2", "3", "4", "5"])),
            ("LRANGE l 1 2", &bulks(&["1", "2"])),
            ("LRANGE l -2 -1", &bulks(&["4", "5"])),
            ("LRANGE l -100 1", &bulks(&["0", "1"])),
            ("LRANGE l 4 100", &bulks(&["4", "5"])),
            ("LRANGE l 3 2", "*0\r\n"),
            ("LRANGE l 6 10", "*0\r\n"),
            ("LRANGE l 0 -7", "*0\r\n"),
            ("LRANGE l x 1", NOT_INT),
            ("LRANGE l 0 1.5", NOT_INT),
            ("LRANGE nokey 0 -1", "*0\r\n"),
            ("LRANGE nokey x 1", NOT_INT),
        ],
    );
}

#[test]
fn ltrim_keeps_a_range_and_deletes_an_emptied_list() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "RPUSH l a b c d e", ":5\r\n");
    expect_all(
        &mut raw,
        &[
            ("LTRIM l 1 -2", "+OK\r\n"),
            ("LRANGE l 0 -1", &bulks(&["b", "c", "d"])),
            ("LTRIM l -100 100", "+OK\r\n"),
            ("LLEN l", ":3\r\n"),
            ("LTRIM l x 1", NOT_INT),
            ("LTRIM nokey 0 1", "+OK\r\n"),
            ("EXISTS nokey", ":0\r\n"),
            ("LTRIM l 2 1", "+OK\r\n"),
            ("EXISTS l", ":0\r\n"),
        ],
    );
}

#[test]
fn linsert_places_an_element_around_the_first_pivot() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "RPUSH l a b a", ":3\r\n");
    expect_all(
        &mut raw,
        &[
            ("LINSERT l BEFORE a x", ":4\r\n"),
            ("LINSERT l after a y", ":5\r\n"),
            ("LINSERT l before zz q", ":-1\r\n"),
            ("LINSERT l middle a q", SYNTAX),
            ("LINSERT nokey before a b", ":0\r\n"),
            ("LINSERT nokey middle a b", SYNTAX),
            ("EXISTS nokey", ":0\r\n"),
        ],
    );
    expect(
        &mut raw,
        "LRANGE l 0 -1",
        &bulks(&["x", "a", "y", "b", "a"]),
    );
}

#[test]
fn lrem_removes_a_number_of_matches_from_either_end_or_all() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "RPUSH l a b a c a b a", ":7\r\n");
    expect_all(
        &mut raw,
        &[
            ("LREM l 2 a", ":2\r\n"),
            ("LRANGE l 0 -1", &bulks(&["b", "c", "a", "b", "a"])),
            ("LREM l -1 b", ":1\r\n"),
            ("LRANGE l 0 -1", &bulks(&["b", "c", "a", "a"])),
            ("LREM l 0 a", ":2\r\n"),
            ("LREM l 0 zz", ":0\r\n"),
            ("LREM l x a", NOT_INT),
            ("LREM nokey 1 a", ":0\r\n"),
            ("LREM l 0 b", ":1\r\n"),
            ("LREM l -5 c", ":1\r\n"),
            ("EXISTS l", ":0\r\n"),
        ],
    );
}

#[test]
fn lpos_finds_matches_with_rank_count_and_maxlen() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "RPUSH l a b c a b c a", ":7\r\n");
    let ints = |items: &[i64]| {
        let mut out = format!("*{}\r\n", items.len());
        items
            .iter()
            .for_each(|i| out.push_str(&format!(":{i}\r\n")));
        out
    };
    expect_all(
        &mut raw,
        &[
            ("LPOS l a", ":0\r\n"),
            ("LPOS l c", ":2\r\n"),
            ("LPOS l z", "$-1\r\n"),
            ("LPOS l a RANK 2", ":3\r\n"),
            ("LPOS l a RANK -1", ":6\r\n"),
            ("LPOS l a RANK -2", ":3\r\n"),
            ("LPOS l a RANK 4", "$-1\r\n"),
            ("LPOS l a COUNT 0", &ints(&[0, 3, 6])),
            ("LPOS l a COUNT 2", &ints(&[0, 3])),
            ("LPOS l a RANK 2 COUNT 0", &ints(&[3, 6])),
            ("LPOS l a RANK -1 COUNT 2", &ints(&[6, 3])),
            ("LPOS l z COUNT 1", "*0\r\n"),
            ("LPOS l c MAXLEN 2", "$-1\r\n"),
            ("LPOS l c MAXLEN 3", ":2\r\n"),
            ("LPOS l a COUNT 0 MAXLEN 4", &ints(&[0, 3])),
            ("LPOS l b RANK -1 MAXLEN 2", "$-1\r\n"),
            ("LPOS l a rank 1 rank -1", ":6\r\n"),
            ("LPOS l a RANK -9223372036854775808", ":6\r\n"),
            ("LPOS nokey a", "$-1\r\n"),
            ("LPOS nokey a COUNT 1", "*0\r\n"),
        ],
    );
    let rank_zero = "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list\r\n";
    expect_all(
        &mut raw,
        &[
            ("LPOS l a RANK 0", rank_zero),
            ("LPOS nokey a RANK 0", rank_zero),
            ("LPOS l a RANK x", NOT_INT),
            ("LPOS l a COUNT -1", "-ERR COUNT can't be negative\r\n"),
            ("LPOS l a COUNT x", "-ERR COUNT can't be negative\r\n"),
            ("LPOS l a MAXLEN -1", "-ERR MAXLEN can't be negative\r\n"),
            ("LPOS l a MAXLEN x", "-ERR MAXLEN can't be negative\r\n"),
            ("LPOS l a RANK", SYNTAX),
            ("LPOS l a FOO 1", SYNTAX),
            ("LPOS l a COUNT 1 RANK 0", rank_zero),
        ],
    );
}

#[test]
fn lmove_and_rpoplpush_move_one_element_between_lists() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "RPUSH src a b c", ":3\r\n");
    expect_all(
        &mut raw,
        &[
            ("LMOVE src dst LEFT RIGHT", "$1\r\na\r\n"),
            ("LMOVE src dst right left", "$1\r\nc\r\n"),
            ("LRANGE dst 0 -1", &bulks(&["c", "a"])),
            ("LMOVE src dst up left", SYNTAX),
            ("LMOVE src dst left down", SYNTAX),
            ("LMOVE nokey dst left left", "$-1\r\n"),
            ("RPOPLPUSH src dst", "$1\r\nb\r\n"),
            ("EXISTS src", ":0\r\n"),
            ("RPOPLPUSH src dst", "$-1\r\n"),
            ("LRANGE dst 0 -1", &bulks(&["b", "c", "a"])),
            // The same key on both sides rotates the list.
            ("LMOVE dst dst LEFT RIGHT", "$1\r\nb\r\n"),
            ("RPOPLPUSH dst dst", "$1\r\nb\r\n"),
            ("LRANGE dst 0 -1", &bulks(&["b", "c", "a"])),
            (
                "RPOPLPUSH src",
                "-ERR wrong number of arguments for 'rpoplpush' command\r\n",
            ),
        ],
    );
}

#[test]
fn rotating_a_one_element_list_keeps_the_key_and_its_ttl() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("RPUSH one x", ":1\r\n"),
            ("EXPIRE one 1000", ":1\r\n"),
            ("LMOVE one one LEFT RIGHT", "$1\r\nx\r\n"),
            ("RPOPLPUSH one one", "$1\r\nx\r\n"),
            ("LRANGE one 0 -1", &bulks(&["x"])),
            ("TTL one", ":1000\r\n"),
        ],
    );
}

#[test]
fn lmpop_pops_from_the_first_non_empty_list() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "RPUSH b 1 2 3 4", ":4\r\n");
    let popped =
        |key: &str, items: &[&str]| format!("*2\r\n${}\r\n{key}\r\n{}", key.len(), bulks(items));
    expect_all(
        &mut raw,
        &[
            ("LMPOP 2 a b LEFT", &popped("b", &["1"])),
            ("LMPOP 2 a b RIGHT COUNT 2", &popped("b", &["4", "3"])),
            ("LMPOP 1 b left count 10", &popped("b", &["2"])),
            ("EXISTS b", ":0\r\n"),
            ("LMPOP 2 a b LEFT", "*-1\r\n"),
        ],
    );
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    let count = "-ERR count should be greater than 0\r\n";
    expect_all(
        &mut raw,
        &[
            ("LMPOP 0 a LEFT", numkeys),
            ("LMPOP -1 a LEFT", numkeys),
            ("LMPOP x a LEFT", numkeys),
            ("LMPOP 2 a LEFT", SYNTAX),
            ("LMPOP 1 a MIDDLE", SYNTAX),
            ("LMPOP 1 a LEFT COUNT 0", count),
            ("LMPOP 1 a LEFT COUNT -1", count),
            ("LMPOP 1 a LEFT COUNT x", count),
            ("LMPOP 1 a LEFT COUNT", SYNTAX),
            ("LMPOP 1 a LEFT COUNT 1 COUNT 2", SYNTAX),
            ("LMPOP 1 a LEFT extra", SYNTAX),
            (
                "LMPOP 1 a",
                "-ERR wrong number of arguments for 'lmpop' command\r\n",
            ),
        ],
    );
}

#[test]
fn missing_keys_answer_resp3_nulls_and_pops_keep_their_shapes() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["HELLO", "3"]);
    expect_all(
        &mut raw,
        &[
            ("LPOP nokey", "_\r\n"),
            ("LPOP nokey 2", "_\r\n"),
            ("LINDEX nokey 0", "_\r\n"),
            ("LPOS nokey a", "_\r\n"),
            ("LPOS nokey a COUNT 0", "*0\r\n"),
            ("LMPOP 1 nokey LEFT", "_\r\n"),
            ("LMOVE nokey d LEFT LEFT", "_\r\n"),
            ("RPUSH l a b", ":2\r\n"),
            ("LPOP l 0", "*0\r\n"),
            ("LMPOP 1 l RIGHT", "*2\r\n$1\r\nl\r\n*1\r\n$1\r\nb\r\n"),
            ("BLPOP l 0", "*2\r\n$1\r\nl\r\n$1\r\na\r\n"),
        ],
    );
}

#[test]
fn small_lists_are_listpacks_and_large_ones_quicklists() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let element = "x".repeat(100);
    // 79 elements of 100 bytes weigh 8144 bytes as a listpack; one more passes 8 KB.
    for i in 1..=79 {
        assert_eq!(int(&mut raw, &format!("RPUSH l {element}")), i);
    }
    expect(&mut raw, "OBJECT ENCODING l", "$8\r\nlistpack\r\n");
    expect(&mut raw, &format!("RPUSH l {element}"), ":80\r\n");
    expect(&mut raw, "OBJECT ENCODING l", "$9\r\nquicklist\r\n");
    // Back to a listpack only at half the limit, so a list at the edge does not flap.
    expect(
        &mut raw,
        "LPOP l",
        &format!("${}\r\n{element}\r\n", element.len()),
    );
    expect(&mut raw, "OBJECT ENCODING l", "$9\r\nquicklist\r\n");
    expect(&mut raw, "LTRIM l 0 38", "+OK\r\n");
    expect(&mut raw, "OBJECT ENCODING l", "$8\r\nlistpack\r\n");
    assert_eq!(int(&mut raw, "LLEN l"), 39);
    // One big element is enough, and LSET converts too.
    let big = "y".repeat(9000);
    expect(&mut raw, &format!("LPUSH big {big}"), ":1\r\n");
    expect(&mut raw, "OBJECT ENCODING big", "$9\r\nquicklist\r\n");
    expect(&mut raw, "RPUSH small a", ":1\r\n");
    expect(&mut raw, "OBJECT ENCODING small", "$8\r\nlistpack\r\n");
    expect(&mut raw, &format!("LSET small 0 {big}"), "+OK\r\n");
    expect(&mut raw, "OBJECT ENCODING small", "$9\r\nquicklist\r\n");
    expect(&mut raw, "LSET small 0 a", "+OK\r\n");
    expect(&mut raw, "OBJECT ENCODING small", "$8\r\nlistpack\r\n");
}

#[test]
fn large_lists_keep_their_order_through_every_operation() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let n = 20_000;
    let items: Vec<String> = (0..n).map(|i| format!("item-{i}")).collect();
    let _: i64 = conn.rpush("big", &items).expect("rpush");
    let _: i64 = conn.lpush("big", "head").expect("lpush");
    assert_eq!(conn.llen::<_, i64>("big").expect("llen"), n + 1);
    let middle: String = conn.lindex("big", 10_001).expect("lindex");
    assert_eq!(middle, "item-10000");
    let () = conn.lset("big", -1, "tail").expect("lset");
    let range: Vec<String> = conn.lrange("big", 19_998, -1).expect("lrange");
    assert_eq!(range, ["item-19997", "item-19998", "tail"]);
    let popped: Vec<String> = redis::cmd("RPOP")
        .arg("big")
        .arg(3)
        .query(&mut conn)
        .expect("rpop");
    assert_eq!(popped, ["tail", "item-19998", "item-19997"]);
    let position: i64 = redis::cmd("LPOS")
        .arg("big")
        .arg("item-5000")
        .query(&mut conn)
        .expect("lpos");
    assert_eq!(position, 5001);
    let () = conn.ltrim("big", 1, 100).expect("ltrim");
    assert_eq!(elements(&mut conn, "big"), items[..100].to_vec());
}

#[test]
fn list_commands_describe_themselves_in_command_info() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let info = raw.call(&["COMMAND", "INFO", "blpop", "lmpop", "lmove"]);
    for expected in [
        "$5\r\nblpop\r\n:-3\r\n*3\r\n+write\r\n+noscript\r\n+blocking\r\n",
        ":1\r\n:-2\r\n:1\r\n",
        "$5\r\nlmpop\r\n:-4\r\n*2\r\n+write\r\n+movablekeys\r\n:0\r\n:0\r\n:0\r\n",
        "$5\r\nlmove\r\n:5\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:2\r\n:1\r\n",
    ] {
        assert!(info.contains(expected), "{expected:?} not in {info:?}");
    }
    let count = raw.call(&["COMMAND", "COUNT"]);
    assert!(count.starts_with(':'));
    let docs = raw.call(&["COMMAND", "DOCS", "lpos"]);
    assert!(docs.contains("$4\r\nRANK\r\n"), "{docs}");
}

/// Commands whose replies do not depend on time or hash order, compared byte for byte.
const COMPARED: &[&str] = &[
    "RPUSH l a b c a b c 1 2 3 -5 100000 9223372036854775807",
    "LRANGE l 0 -1",
    "LRANGE l -3 -1",
    "LRANGE l 5 2",
    "LRANGE l -100 100",
    "LRANGE l 12 100",
    "LRANGE l 0 -100",
    "LRANGE l 1 9223372036854775808",
    "LRANGE l -9223372036854775808 9223372036854775807",
    "LINDEX l 11",
    "LINDEX l -12",
    "LINDEX l -13",
    "LINDEX l 9223372036854775807",
    "LINDEX l 1.0",
    "LLEN l",
    "LPOS l a RANK -2 COUNT 0",
    "LPOS l c RANK 2 COUNT 2 MAXLEN 0",
    "LPOS l a RANK -9223372036854775808 COUNT 2",
    "LPOS l a COUNT 9223372036854775807",
    "LPOS l a MAXLEN 9223372036854775808",
    "LPOS l a RANK 9223372036854775807",
    "LPOS l",
    "LPOS l a COUNT",
    "LINSERT l BEFORE 1 X",
    "LINSERT l AFTER 3 Y",
    "LINSERT l AFTER 9223372036854775807 Z",
    "LRANGE l 0 -1",
    "LSET l 9223372036854775807 x",
    "LSET l -1 last",
    "LREM l -9223372036854775808 a",
    "LREM l 9223372036854775807 b",
    "LREM l 1.5 c",
    "LTRIM l 1 9223372036854775807",
    "LRANGE l 0 -1",
    "LPOP l 9223372036854775807",
    "LPOP l 9223372036854775808",
    "EXISTS l",
    "RPUSH m a",
    "LMOVE m m RIGHT LEFT",
    "LMOVE m n RIGHT LEFT",
    "EXISTS m",
    "LMPOP 1 n left COUNT 9223372036854775807",
    "LMPOP 9223372036854775807 n left",
    "LMPOP 9223372036854775808 n left",
    "LMPOP 1 n left COUNT 9223372036854775808",
    "LMPOP 3 a b c",
    "LMPOP 3 a b c d",
    "SET s str",
    "LMPOP 2 nokey s LEFT",
    "LMPOP 1 s LEFT COUNT 0",
    "LMOVE nokey s LEFT LEFT",
    "RPUSH b1 x y",
    "BLPOP nokey b1 0",
    "BRPOP nokey s b1 0",
    "BLPOP b1 -1",
    "BLPOP b1 abc",
    "BLPOP b1 0.0001",
    "BLMPOP 0 0 a LEFT",
    "BLMPOP x 1 a LEFT",
    "BLMPOP x 1 a MIDDLE",
    "BLMPOP -1 1 a LEFT",
    "BLMPOP 0 1 a LEFT COUNT 0",
    "BLMPOP 0 2 a LEFT",
    "BLMOVE a b LEFT LEFT -1",
    "BLMOVE a b UP LEFT x",
    "BLMOVE a b LEFT LEFT x",
    "BRPOPLPUSH a b x",
    "BRPOPLPUSH s b 0",
    "BLMOVE s b LEFT LEFT 0",
    "RPUSH b2 1 2 3",
    "BLMPOP 0 2 nokey b2 RIGHT COUNT 2",
    "BLMOVE b2 b3 RIGHT RIGHT 0",
    "BRPOPLPUSH b3 b3 0",
    "BLMOVE b3 s LEFT LEFT 0",
    "EXISTS b2",
    "LRANGE b3 0 -1",
    "MULTI",
    "BLPOP nokey 0",
    "BRPOP nokey 1",
    "BLMOVE nokey x LEFT LEFT 0",
    "BRPOPLPUSH nokey x 0",
    "BLMPOP 0 1 nokey LEFT",
    "BLPOP b3 0",
    "EXEC",
    "HELLO 3",
    "LPOP nokey",
    "RPOP nokey 1",
    "LMPOP 1 nokey RIGHT",
    "LPOS nokey a",
    "LINDEX nokey 0",
    "MULTI",
    "BLPOP nokey 0",
    "BLMOVE nokey x LEFT LEFT 0",
    "EXEC",
    "LRANGE nokey 0 -1",
];

#[test]
fn list_replies_match_the_reference_redis() {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.raw(), redis.raw());
    for command in COMPARED {
        let args: Vec<&str> = command.split(' ').collect();
        let (mine, reference) = (ours.call(&args), theirs.call(&args));
        if command.starts_with("HELLO") {
            continue;
        }
        assert_eq!(mine, reference, "{command:?}");
    }
}

/// Runs a few commands on both servers and compares the replies, for tests below that set up
/// bigger values than fit the table.
fn compare_with_reference(setup: impl Fn(&mut Raw), commands: &[&[&str]]) {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.raw(), redis.raw());
    setup(&mut ours);
    setup(&mut theirs);
    for command in commands {
        assert_eq!(ours.call(command), theirs.call(command), "{command:?}");
    }
}

#[test]
fn large_list_replies_match_the_reference_redis() {
    let setup = |raw: &mut Raw| {
        for chunk in 0..20 {
            let mut args = vec!["RPUSH".to_string(), "big".into()];
            args.extend((0..500).map(|i| format!("{}", (chunk * 500 + i) % 7)));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            raw.call(&args);
        }
    };
    compare_with_reference(
        setup,
        &[
            &["LLEN", "big"],
            &["LPOS", "big", "3", "RANK", "-5", "COUNT", "4"],
            &["LPOS", "big", "6", "RANK", "100", "MAXLEN", "900"],
            &["LRANGE", "big", "4990", "5010"],
            &["LINSERT", "big", "AFTER", "6", "x"],
            &["LINDEX", "big", "7"],
            &["LREM", "big", "-300", "2"],
            &["LREM", "big", "5", "4"],
            &["LMPOP", "1", "big", "RIGHT", "COUNT", "5"],
            &["LTRIM", "big", "100", "-100"],
            &["LLEN", "big"],
            &["LRANGE", "big", "-10", "-1"],
            &["LPOP", "big", "12"],
            &["LSET", "big", "-2000", "y"],
            &["LRANGE", "big", "-2002", "-1998"],
        ],
    );
}

#[test]
fn watch_sees_only_commands_that_change_the_list() {
    let node = Shoal::start();
    for (command, changes) in [
        ("LREM l 0 zz", false),
        ("LINSERT l BEFORE zz x", false),
        ("LPOP l 0", false),
        ("LSET l 9 x", false),
        ("LMOVE nokey l LEFT LEFT", false),
        ("LPUSHX nokey a", false),
        ("LRANGE l 0 -1", false),
        ("LPUSH s a", false),
        ("LTRIM l 0 -1", true),
        ("LREM l 1 a", true),
        ("LSET l 0 a", true),
        ("RPOPLPUSH l l", true),
        ("LINSERT l AFTER a x", true),
    ] {
        let (mut watcher, mut other) = (node.raw(), node.raw());
        watcher.call(&["DEL", "l"]);
        expect(&mut watcher, "RPUSH l a b", ":2\r\n");
        expect(&mut watcher, "SET s text", "+OK\r\n");
        expect(&mut watcher, "WATCH l", "+OK\r\n");
        other.call(&command.split(' ').collect::<Vec<_>>());
        expect_all(
            &mut watcher,
            &[("MULTI", "+OK\r\n"), ("PING", "+QUEUED\r\n")],
        );
        let exec = if changes {
            "*-1\r\n"
        } else {
            "*1\r\n+PONG\r\n"
        };
        assert_eq!(watcher.call(&["EXEC"]), exec, "{command}");
    }
}
