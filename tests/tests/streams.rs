//! Stream commands end to end: XADD XLEN XRANGE XREVRANGE XDEL XTRIM XREAD, with every
//! option Redis 7 accepts, the exact replies (RESP2 and RESP3) and the exact error texts.
//! Expected replies were taken from redis-server 7.0.15; the last tests compare a table of
//! commands and a generated workload (explicit IDs, so both servers agree) against a live
//! reference server when one is installed.

#[path = "streams/xread.rs"]
mod xread;

use shoal_tests::{RedisServer, Shoal, expect, expect_all, wait_for_blocked};

const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const INVALID_ID: &str = "-ERR Invalid stream ID specified as stream command argument\r\n";
const NOT_GREATER: &str =
    "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n";
const XADD_ARITY: &str = "-ERR wrong number of arguments for 'xadd' command\r\n";

fn bulk(text: &str) -> String {
    format!("${}\r\n{text}\r\n", text.len())
}

fn array(items: &[String]) -> String {
    format!("*{}\r\n{}", items.len(), items.concat())
}

/// One entry as XRANGE shows it: `[id, [field, value...]]`.
fn entry(id: &str, fields: &[&str]) -> String {
    let fields: Vec<String> = fields.iter().map(|f| bulk(f)).collect();
    array(&[bulk(id), array(&fields)])
}

/// Entries `(id, [field, value...])` as an array.
fn entries(list: &[(&str, &[&str])]) -> String {
    let items: Vec<String> = list.iter().map(|(id, f)| entry(id, f)).collect();
    array(&items)
}

/// XREAD's RESP2 reply: `[[key, entries]...]`.
fn read_reply(streams: &[(&str, String)]) -> String {
    let items: Vec<String> = streams
        .iter()
        .map(|(key, list)| array(&[bulk(key), list.clone()]))
        .collect();
    array(&items)
}

#[test]
fn xadd_appends_entries_and_answers_their_ids() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("XADD s 1-1 name ann age 30", &bulk("1-1")),
            ("XADD s 1-* name bob", &bulk("1-2")),
            ("XADD s 2-* name cy", &bulk("2-0")),
            ("XADD s 5 name di", &bulk("5-0")),
            ("XADD s 0-* a b", NOT_GREATER),
            ("XADD fresh 0-* a b", &bulk("0-1")),
            ("XLEN s", ":4\r\n"),
            (
                "XRANGE s - +",
                &entries(&[
                    ("1-1", &["name", "ann", "age", "30"]),
                    ("1-2", &["name", "bob"]),
                    ("2-0", &["name", "cy"]),
                    ("5-0", &["name", "di"]),
                ]),
            ),
        ],
    );
    // Fields and values are binary-safe, and a field may repeat.
    raw.send_command(&[
        b"XADD", b"bin", b"7-7", b"a\r\nb", b"\0\xff", b"a\r\nb", b"",
    ]);
    assert_eq!(raw.read_reply(), bulk("7-7"));
    raw.send_command(&[b"XRANGE", b"bin", b"-", b"+"]);
    assert_eq!(
        raw.read_reply().into_bytes(),
        b"*1\r\n*2\r\n$3\r\n7-7\r\n*4\r\n$4\r\na\r\nb\r\n$2\r\n\0\xef\xbf\xbd\r\n$4\r\na\r\nb\r\n$0\r\n\r\n"
            .to_vec(),
        "the reader shows non-UTF-8 bytes as U+FFFD"
    );
}

#[test]
fn xadd_with_a_star_takes_the_clock_and_never_goes_back() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let reply = raw.call(&["XADD", "s", "*", "f", "v"]);
    let id = reply.lines().nth(1).expect("an ID").to_string();
    let (ms, seq) = id.split_once('-').expect("ms-seq");
    assert!(ms.parse::<u64>().expect("ms") >= before, "{id}");
    assert_eq!(seq, "0");
    // An explicit ID in the future: `*` continues its sequence instead of going back.
    expect_all(
        &mut raw,
        &[
            ("XADD s 99999999999999-5 f v", &bulk("99999999999999-5")),
            ("XADD s * f v", &bulk("99999999999999-6")),
            (
                "XADD s 99999999999999-18446744073709551615 f v",
                &bulk("99999999999999-18446744073709551615"),
            ),
            ("XADD s * f v", &bulk("100000000000000-0")),
        ],
    );
}

#[test]
fn xadd_refuses_ids_that_do_not_grow() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let zero = "-ERR The ID specified in XADD must be greater than 0-0\r\n";
    expect_all(
        &mut raw,
        &[
            ("XADD s 0-0 f v", zero),
            ("XADD s 0 f v", zero),
            ("EXISTS s", ":0\r\n"),
            ("XADD s 5-5 f v", &bulk("5-5")),
            ("XADD s 5-5 f v", NOT_GREATER),
            ("XADD s 5-4 f v", NOT_GREATER),
            ("XADD s 4-* f v", NOT_GREATER),
            ("XADD s 5 f v", NOT_GREATER),
            ("XADD s 0-0 f v", zero),
            ("XADD s - f v", INVALID_ID),
            ("XADD s + f v", INVALID_ID),
            ("XADD s 5-x f v", INVALID_ID),
            ("XADD s 5- f v", INVALID_ID),
            ("XADD s -5 f v", INVALID_ID),
            ("XADD s 1-2-3 f v", INVALID_ID),
            ("XADD s 18446744073709551616-0 f v", INVALID_ID),
            ("XLEN s", ":1\r\n"),
        ],
    );
    // The greatest ID ends the stream.
    let exhausted =
        "-ERR The stream has exhausted the last possible ID, unable to add more items\r\n";
    expect_all(
        &mut raw,
        &[
            (
                "XADD top 18446744073709551615-18446744073709551615 f v",
                &bulk("18446744073709551615-18446744073709551615"),
            ),
            ("XADD top * f v", exhausted),
            ("XADD top 18446744073709551615-* f v", exhausted),
            // A full sequence for `ms-*`: Redis answers with its size error.
            (
                "XADD seq 5-18446744073709551615 f v",
                &bulk("5-18446744073709551615"),
            ),
            (
                "XADD seq 5-* f v",
                "-ERR Elements are too large to be stored\r\n",
            ),
            ("XADD seq 6-* f v", &bulk("6-0")),
        ],
    );
}

#[test]
fn xadd_after_deleting_the_top_entry_still_refuses_smaller_ids() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("XADD s 1-1 f v", &bulk("1-1")),
            ("XADD s 3-1 f v", &bulk("3-1")),
            ("XDEL s 3-1", ":1\r\n"),
            ("XADD s 2-1 f v", NOT_GREATER),
            ("XADD s 3-1 f v", NOT_GREATER),
            ("XADD s 3-* f v", &bulk("3-2")),
            // Emptied by trimming, the stream still remembers its last ID.
            ("XTRIM s MAXLEN 0", ":2\r\n"),
            ("XLEN s", ":0\r\n"),
            ("EXISTS s", ":1\r\n"),
            ("XADD s 3-2 f v", NOT_GREATER),
            ("XADD s 3-3 f v", &bulk("3-3")),
        ],
    );
}

#[test]
fn xadd_counts_its_fields_and_values() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("XADD s * f", XADD_ARITY),
            ("XADD s * f v g", XADD_ARITY),
            ("XADD s MAXLEN 5 *", XADD_ARITY),
            ("XADD s NOMKSTREAM MAXLEN 5", XADD_ARITY),
            ("XADD s 1-1 f v g", XADD_ARITY),
            ("XADD s", XADD_ARITY),
            ("EXISTS s", ":0\r\n"),
        ],
    );
    // After `*` everything is a field or a value, option names included.
    let reply = raw.call(&["XADD", "s", "*", "MAXLEN", "1"]);
    assert!(reply.starts_with('$'), "{reply}");
    let listed = raw.call(&["XRANGE", "s", "-", "+"]);
    assert!(
        listed.ends_with(&array(&[bulk("MAXLEN"), bulk("1")])),
        "{listed}"
    );
}

#[test]
fn xadd_nomkstream_adds_only_to_an_existing_stream() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("XADD s NOMKSTREAM 1-1 f v", "$-1\r\n"),
            ("EXISTS s", ":0\r\n"),
            ("XADD s 1-1 f v", &bulk("1-1")),
            ("XADD s nomkstream 2-1 f v", &bulk("2-1")),
            ("XADD s NOMKSTREAM NOMKSTREAM 3-1 f v", &bulk("3-1")),
            ("XLEN s", ":3\r\n"),
        ],
    );
    let mut resp3 = node.raw();
    resp3.call(&["HELLO", "3"]);
    expect(&mut resp3, "XADD t NOMKSTREAM * f v", "_\r\n");
}

#[test]
fn xadd_trims_by_length_or_minimum_id() {
    let node = Shoal::start();
    let mut raw = node.raw();
    for i in 1..=5 {
        expect(
            &mut raw,
            &format!("XADD s {i}-0 f v"),
            &bulk(&format!("{i}-0")),
        );
    }
    expect_all(
        &mut raw,
        &[
            ("XADD s MAXLEN 3 6-0 f v", &bulk("6-0")),
            ("XLEN s", ":3\r\n"),
            ("XADD s MAXLEN = 2 7-0 f v", &bulk("7-0")),
            (
                "XRANGE s - +",
                &entries(&[("6-0", &["f", "v"]), ("7-0", &["f", "v"])]),
            ),
            ("XADD s MINID 7 8-0 f v", &bulk("8-0")),
            ("XADD s MINID = 8-0 9-0 f v", &bulk("9-0")),
            (
                "XRANGE s - +",
                &entries(&[("8-0", &["f", "v"]), ("9-0", &["f", "v"])]),
            ),
            // `~` drops whole blocks of 100 entries only: nothing goes here.
            ("XADD s MAXLEN ~ 1 10-0 f v", &bulk("10-0")),
            ("XLEN s", ":3\r\n"),
            ("XADD s MAXLEN ~ 1 LIMIT 10 11-0 f v", &bulk("11-0")),
            ("XADD s MINID ~ 11 LIMIT 0 12-0 f v", &bulk("12-0")),
            ("XLEN s", ":5\r\n"),
            // MAXLEN 0 empties the stream, which stays.
            ("XADD s MAXLEN 0 13-0 f v", &bulk("13-0")),
            ("XLEN s", ":0\r\n"),
            ("TYPE s", "+stream\r\n"),
            ("XADD new MAXLEN 0 1-0 f v", &bulk("1-0")),
            ("XLEN new", ":0\r\n"),
            ("EXISTS new", ":1\r\n"),
        ],
    );
}

#[test]
fn approximate_trimming_removes_only_whole_blocks_of_entries() {
    let node = Shoal::start();
    let mut raw = node.raw();
    for i in 1..=250 {
        expect(
            &mut raw,
            &format!("XADD s {i}-0 f v"),
            &bulk(&format!("{i}-0")),
        );
    }
    expect_all(
        &mut raw,
        &[
            ("XTRIM s MAXLEN ~ 160", ":0\r\n"),
            ("XTRIM s MAXLEN ~ 150", ":100\r\n"),
            ("XTRIM s MINID ~ 200", ":0\r\n"),
            ("XTRIM s MINID ~ 201", ":100\r\n"),
            ("XLEN s", ":50\r\n"),
            ("XTRIM s MAXLEN ~ 0 LIMIT 49", ":0\r\n"),
            ("XTRIM s MAXLEN ~ 0 LIMIT 50", ":50\r\n"),
            ("XLEN s", ":0\r\n"),
        ],
    );
    // Large entries fill a block sooner (about 4 KB each): four of 1000 bytes.
    let value = "x".repeat(1000);
    for i in 1..=10 {
        let id = format!("{i}-0");
        assert_eq!(raw.call(&["XADD", "big", &id, "f", &value]), bulk(&id));
    }
    expect_all(
        &mut raw,
        &[("XTRIM big MAXLEN ~ 5", ":4\r\n"), ("XLEN big", ":6\r\n")],
    );
}

#[test]
fn trimming_options_are_checked_like_redis() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let both =
        "-ERR syntax error, MAXLEN and MINID options at the same time are not compatible\r\n";
    let no_strategy =
        "-ERR syntax error, LIMIT cannot be used without specifying a trimming strategy\r\n";
    let no_tilde = "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n";
    expect_all(
        &mut raw,
        &[
            ("XADD s 1-0 f v", &bulk("1-0")),
            ("XADD s MAXLEN 1 MINID 1 2-0 f v", both),
            ("XADD s MAXLEN 1 MAXLEN 1 2-0 f v", both),
            (
                "XADD s MAXLEN -1 2-0 f v",
                "-ERR The MAXLEN argument must be >= 0.\r\n",
            ),
            ("XADD s MAXLEN x 2-0 f v", NOT_INT),
            ("XADD s MAXLEN ~ f v", NOT_INT),
            ("XADD s MINID x 2-0 f v", INVALID_ID),
            ("XADD s MINID - 2-0 f v", INVALID_ID),
            ("XADD s MINID 1-* 2-0 f v", INVALID_ID),
            ("XADD s LIMIT 5 2-0 f v", no_strategy),
            ("XADD s LIMIT 0 2-0 f v", no_tilde),
            (
                "XADD s LIMIT -1 2-0 f v",
                "-ERR The LIMIT argument must be >= 0.\r\n",
            ),
            ("XADD s LIMIT x 2-0 f v", NOT_INT),
            ("XADD s MAXLEN 5 LIMIT 5 2-0 f v", no_tilde),
            ("XADD s MAXLEN = 5 LIMIT 5 2-0 f v", no_tilde),
            ("XLEN s", ":1\r\n"),
            (
                "XTRIM s",
                "-ERR wrong number of arguments for 'xtrim' command\r\n",
            ),
            (
                "XTRIM s MAXLEN",
                "-ERR wrong number of arguments for 'xtrim' command\r\n",
            ),
            ("XTRIM s LIMIT 1", no_strategy),
            (
                "XTRIM s LIMIT 0",
                "-ERR syntax error, XTRIM must be called with a trimming strategy\r\n",
            ),
            ("XTRIM s FOO 1", SYNTAX),
            ("XTRIM s NOMKSTREAM MAXLEN 1", SYNTAX),
            ("XTRIM s MAXLEN 1 FOO", SYNTAX),
            ("XTRIM s MAXLEN ~", NOT_INT),
            ("XTRIM s MAXLEN ~ 1 LIMIT", SYNTAX),
            ("XTRIM s MAXLEN 1 LIMIT 1", no_tilde),
            ("XTRIM s MINID 1 MAXLEN 1", both),
            ("XTRIM s MINID x", INVALID_ID),
            ("XTRIM s maxlen 0", ":1\r\n"),
            ("XTRIM missing MAXLEN 0", ":0\r\n"),
            ("XTRIM missing MAXLEN x", NOT_INT),
        ],
    );
}

#[test]
fn xtrim_removes_the_oldest_entries_exactly_unless_asked_otherwise() {
    let node = Shoal::start();
    let mut raw = node.raw();
    for i in 1..=10 {
        expect(
            &mut raw,
            &format!("XADD s {i}-1 f {i}"),
            &bulk(&format!("{i}-1")),
        );
    }
    expect_all(
        &mut raw,
        &[
            ("XTRIM s MAXLEN 8", ":2\r\n"),
            ("XTRIM s MAXLEN = 8", ":0\r\n"),
            ("XTRIM s MINID 5", ":2\r\n"),
            ("XTRIM s MINID 5-2", ":1\r\n"),
            ("XRANGE s - + COUNT 1", &entries(&[("6-1", &["f", "6"])])),
            ("XTRIM s MINID ~ 9", ":0\r\n"),
            ("XTRIM s MAXLEN ~ 0 LIMIT 0", ":5\r\n"),
            ("XLEN s", ":0\r\n"),
            ("EXISTS s", ":1\r\n"),
        ],
    );
}

#[test]
fn xlen_counts_the_entries() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("XLEN s", ":0\r\n"),
            ("XADD s 1-1 f v", &bulk("1-1")),
            ("XADD s 1-2 f v", &bulk("1-2")),
            ("XLEN s", ":2\r\n"),
            ("XDEL s 1-1", ":1\r\n"),
            ("XLEN s", ":1\r\n"),
            (
                "XLEN s extra",
                "-ERR wrong number of arguments for 'xlen' command\r\n",
            ),
        ],
    );
}

#[test]
fn xrange_and_xrevrange_walk_between_two_ids() {
    let node = Shoal::start();
    let mut raw = node.raw();
    for id in ["1-0", "1-1", "2-0", "2-5", "3-0"] {
        expect(&mut raw, &format!("XADD s {id} id {id}"), &bulk(id));
    }
    let list = |ids: &[&str]| -> String {
        let items: Vec<String> = ids.iter().map(|id| entry(id, &["id", id])).collect();
        array(&items)
    };
    let all = list(&["1-0", "1-1", "2-0", "2-5", "3-0"]);
    let reversed = list(&["3-0", "2-5", "2-0", "1-1", "1-0"]);
    expect_all(
        &mut raw,
        &[
            ("XRANGE s - +", &all),
            ("XREVRANGE s + -", &reversed),
            ("XRANGE s 0 99", &all),
            // A missing sequence is 0 for a start and the greatest for an end.
            ("XRANGE s 2 2", &list(&["2-0", "2-5"])),
            ("XREVRANGE s 2 2", &list(&["2-5", "2-0"])),
            ("XRANGE s 1-1 2-0", &list(&["1-1", "2-0"])),
            // Exclusive bounds.
            ("XRANGE s (1-1 (3-0", &list(&["2-0", "2-5"])),
            ("XRANGE s (1 +", &list(&["1-1", "2-0", "2-5", "3-0"])),
            ("XRANGE s - (2", &list(&["1-0", "1-1", "2-0", "2-5"])),
            ("XRANGE s - (2-5", &list(&["1-0", "1-1", "2-0"])),
            ("XREVRANGE s (3-0 (1-1", &list(&["2-5", "2-0"])),
            // COUNT: the last one wins; 0 or less answers a nil array.
            ("XRANGE s - + COUNT 2", &list(&["1-0", "1-1"])),
            ("XREVRANGE s + - count 2", &list(&["3-0", "2-5"])),
            (
                "XRANGE s - + COUNT 1 COUNT 3",
                &list(&["1-0", "1-1", "2-0"]),
            ),
            ("XRANGE s - + COUNT 0", "*-1\r\n"),
            ("XRANGE s - + COUNT -3", "*-1\r\n"),
            ("XRANGE missing - + COUNT 0", "*0\r\n"),
            ("XRANGE missing - +", "*0\r\n"),
            ("XRANGE s + -", "*0\r\n"),
            ("XRANGE s 4 +", "*0\r\n"),
            ("XREVRANGE s - +", "*0\r\n"),
        ],
    );
}

#[test]
fn xrange_refuses_bad_bounds_and_options() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "XADD s 1-1 f v", &bulk("1-1"));
    expect_all(
        &mut raw,
        &[
            ("XRANGE s x +", INVALID_ID),
            ("XRANGE s - x", INVALID_ID),
            ("XRANGE s ( +", INVALID_ID),
            ("XRANGE s (- +", INVALID_ID),
            ("XRANGE s - (+", INVALID_ID),
            ("XRANGE s ((1 +", INVALID_ID),
            ("XRANGE s 1-* +", INVALID_ID),
            (
                "XRANGE s (18446744073709551615-18446744073709551615 +",
                "-ERR invalid start ID for the interval\r\n",
            ),
            (
                "XRANGE s - (0-0",
                "-ERR invalid end ID for the interval\r\n",
            ),
            (
                "XREVRANGE s (0-0 -",
                "-ERR invalid end ID for the interval\r\n",
            ),
            ("XRANGE s - + COUNT", SYNTAX),
            ("XRANGE s - + LIMIT 1", SYNTAX),
            ("XRANGE s - + COUNT x", NOT_INT),
            // Bounds are read before the key.
            ("XRANGE missing x +", INVALID_ID),
            (
                "XRANGE s -",
                "-ERR wrong number of arguments for 'xrange' command\r\n",
            ),
        ],
    );
}

#[test]
fn xdel_removes_entries_by_id_and_counts_them() {
    let node = Shoal::start();
    let mut raw = node.raw();
    for id in ["1-1", "2-1", "3-1"] {
        expect(&mut raw, &format!("XADD s {id} f v"), &bulk(id));
    }
    expect_all(
        &mut raw,
        &[
            ("XDEL s 2-1", ":1\r\n"),
            ("XDEL s 2-1", ":0\r\n"),
            ("XDEL s 1-1 1-1 3-1 9-9", ":2\r\n"),
            ("XLEN s", ":0\r\n"),
            ("EXISTS s", ":1\r\n"),
            ("XADD s 4-1 f v", &bulk("4-1")),
            // Every ID is checked before anything is deleted.
            ("XDEL s 4-1 bad", INVALID_ID),
            ("XDEL s 4-1 +", INVALID_ID),
            ("XLEN s", ":1\r\n"),
            // A missing sequence is 0.
            ("XDEL s 4", ":0\r\n"),
            ("XDEL s 4-1", ":1\r\n"),
            // A missing key answers 0 before its IDs are read.
            ("XDEL missing bad", ":0\r\n"),
            (
                "XDEL s",
                "-ERR wrong number of arguments for 'xdel' command\r\n",
            ),
        ],
    );
}

#[test]
fn xread_plus_reads_the_last_entry_of_each_stream() {
    // Redis 7.4: `+` stands for the stream's last entry (the ID before its last ID).
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("XADD s 1-1 f a", &bulk("1-1")),
            ("XADD s 2-1 f b", &bulk("2-1")),
            ("XADD t 5-0 g c", &bulk("5-0")),
            (
                "XREAD STREAMS s t + +",
                &read_reply(&[
                    ("s", entries(&[("2-1", &["f", "b"])])),
                    ("t", entries(&[("5-0", &["g", "c"])])),
                ]),
            ),
            // A missing stream has no last entry: nothing to read.
            ("XREAD STREAMS nokey +", "*-1\r\n"),
            (
                "XREAD COUNT 5 STREAMS nokey s + +",
                &read_reply(&[("s", entries(&[("2-1", &["f", "b"])]))]),
            ),
            // After the last entry is deleted, `+` still means the last ID: nothing.
            ("XDEL s 2-1", ":1\r\n"),
            ("XREAD STREAMS s +", "*-1\r\n"),
        ],
    );
}

#[test]
fn every_stream_command_refuses_a_key_of_another_type() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "SET str v", "+OK\r\n");
    expect(&mut raw, "XADD s 1-1 f v", &bulk("1-1"));
    expect_all(
        &mut raw,
        &[
            ("XADD str * f v", WRONGTYPE),
            ("XADD str NOMKSTREAM * f v", WRONGTYPE),
            (
                "XADD str 0-0 f v",
                "-ERR The ID specified in XADD must be greater than 0-0\r\n",
            ),
            ("XLEN str", WRONGTYPE),
            ("XRANGE str - +", WRONGTYPE),
            ("XRANGE str - + COUNT 0", WRONGTYPE),
            ("XRANGE str x +", INVALID_ID),
            ("XREVRANGE str + -", WRONGTYPE),
            ("XDEL str 1-1", WRONGTYPE),
            ("XDEL str bad", WRONGTYPE),
            ("XTRIM str MAXLEN 0", WRONGTYPE),
            ("XTRIM str MAXLEN x", NOT_INT),
            ("XREAD STREAMS str 0", WRONGTYPE),
            ("XREAD STREAMS s str 0 0", WRONGTYPE),
            ("XREAD STREAMS str s x 0", WRONGTYPE),
            ("XREAD STREAMS s str x 0", INVALID_ID),
            ("XREAD BLOCK 0 STREAMS str $", WRONGTYPE),
            ("GET str", &bulk("v")),
            ("GET s", WRONGTYPE),
        ],
    );
}

#[test]
fn streams_are_typed_encoded_copied_and_deleted_like_other_values() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("XADD s 1-1 f v", &bulk("1-1")),
            ("TYPE s", "+stream\r\n"),
            ("OBJECT ENCODING s", &bulk("stream")),
            ("COPY s c", ":1\r\n"),
            ("XADD c 2-1 g w", &bulk("2-1")),
            ("XLEN s", ":1\r\n"),
            (
                "XRANGE c - +",
                &entries(&[("1-1", &["f", "v"]), ("2-1", &["g", "w"])]),
            ),
            ("XADD c 2-1 g w", NOT_GREATER),
            ("RENAME c r", "+OK\r\n"),
            ("XLEN r", ":2\r\n"),
            // An empty stream is still a stream.
            ("XDEL s 1-1", ":1\r\n"),
            ("TYPE s", "+stream\r\n"),
            ("DEL s r", ":2\r\n"),
            ("XLEN s", ":0\r\n"),
            ("XADD s 1-1 f v", &bulk("1-1")),
        ],
    );
}

#[test]
fn consumer_group_commands_are_unknown_for_now() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            (
                "XGROUP CREATE s g $",
                "-ERR unknown command 'XGROUP', with args beginning with: 'CREATE' 's' 'g' '$' \r\n",
            ),
            (
                "XINFO STREAM s",
                "-ERR unknown command 'XINFO', with args beginning with: 'STREAM' 's' \r\n",
            ),
            (
                "XREADGROUP GROUP g c STREAMS s >",
                "-ERR unknown command 'XREADGROUP', with args beginning with: 'GROUP' 'g' 'c' 'STREAMS' 's' '>' \r\n",
            ),
            (
                "XACK s g 1-1",
                "-ERR unknown command 'XACK', with args beginning with: 's' 'g' '1-1' \r\n",
            ),
        ],
    );
}

/// An entry as the `redis` crate reads it: its ID and its fields and values.
type Entry = (String, Vec<String>);

#[test]
fn a_redis_crate_client_reads_and_writes_streams() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let id: String = redis::cmd("XADD")
        .arg("s")
        .arg("1-1")
        .arg("temp")
        .arg("21.5")
        .query(&mut conn)
        .expect("xadd");
    assert_eq!(id, "1-1");
    let range: Vec<Entry> = redis::cmd("XRANGE")
        .arg("s")
        .arg("-")
        .arg("+")
        .query(&mut conn)
        .expect("xrange");
    assert_eq!(
        range,
        vec![(
            "1-1".to_string(),
            vec!["temp".to_string(), "21.5".to_string()]
        )]
    );
    let read: Vec<(String, Vec<Entry>)> = redis::cmd("XREAD")
        .arg("STREAMS")
        .arg("s")
        .arg("0")
        .query(&mut conn)
        .expect("xread");
    assert_eq!(read, vec![("s".to_string(), range)]);
}

#[test]
fn redis_benchmark_can_add_to_streams() {
    let node = Shoal::start();
    let output = std::process::Command::new("redis-benchmark")
        .args([
            "-p",
            &node.port.to_string(),
            "-n",
            "2000",
            "-r",
            "100",
            "-q",
        ])
        .args(["XADD", "bench:__rand_int__", "*", "myfield", "myvalue"])
        .output();
    let Ok(output) = output else {
        println!("redis-benchmark is not installed: skipping");
        return;
    };
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}");
    assert!(text.contains("requests per second"), "{text}");
    assert!(!text.to_lowercase().contains("err"), "{text}");
    let mut raw = node.raw();
    let keys = raw.call(&["DBSIZE"]);
    assert_ne!(keys, ":0\r\n");
    assert_eq!(
        raw.call(&["TYPE", "bench:000000000042"]).as_str(),
        "+stream\r\n"
    );
}

/// Commands whose replies must be byte for byte Redis's (explicit IDs only).
const COMPARED: &[&[&str]] = &[
    &["XADD", "s", "1-1", "f", "v"],
    &["XADD", "s", "1-1", "f", "v"],
    &["XADD", "s", "1-*", "a", "1", "b", "2"],
    &["XADD", "s", "2", "x", "y"],
    &["XADD", "s", "0-0", "f", "v"],
    &["XADD", "s", "3-1", "f"],
    &["XADD", "s", "3-1", "f", "v", "g"],
    &["XADD", "s", "NOMKSTREAM", "4-1", "f", "v"],
    &["XADD", "nope", "NOMKSTREAM", "4-1", "f", "v"],
    &["XADD", "s", "MAXLEN", "2", "5-1", "f", "v"],
    &[
        "XADD", "s", "MAXLEN", "=", "2", "MINID", "1", "6-1", "f", "v",
    ],
    &[
        "XADD", "s", "MAXLEN", "~", "5", "LIMIT", "5", "6-1", "f", "v",
    ],
    &["XADD", "s", "MINID", "~", "5-*", "7-1", "f", "v"],
    &["XADD", "s", "MINID", "5", "7-*", "f", "v"],
    &["XADD", "s", " 8-1", "f", "v"],
    &["XADD", "s", "0009-+1", "f", "v"],
    &["XADD", "s", "10-1\0junk", "f", "v"],
    &["XRANGE", "s", "-", "+"],
    &["XRANGE", "s", "(5-1", "+", "COUNT", "2"],
    &["XRANGE", "s", "5", "(7"],
    &["XREVRANGE", "s", "+", "-", "COUNT", "1"],
    &["XREVRANGE", "s", "(7-1", "-"],
    &["XRANGE", "s", "-", "+", "COUNT", "0"],
    &["XRANGE", "s", "(", "+"],
    &["XRANGE", "s", "-", "(0-0"],
    &["XDEL", "s", "5-1", "bad"],
    &["XDEL", "s", "5-1", "5-1", "7-1"],
    &["XLEN", "s"],
    &["XTRIM", "s", "MAXLEN", "1"],
    &["XTRIM", "s", "LIMIT", "0"],
    &["XTRIM", "s", "MAXLEN", "~", "1", "LIMIT"],
    &["SET", "str", "v"],
    &["XADD", "str", "*", "f", "v"],
    &["XREAD", "STREAMS", "s", "str", "0", "0"],
    &["XREAD", "COUNT", "1", "STREAMS", "s", "nokey", "0", "0"],
    &["XREAD", "BLOCK", "10", "STREAMS", "s", "$"],
    &["XREAD", "STREAMS", "s", ">"],
    &["XREAD", "BLOCK", "9223372036854775807", "STREAMS", "s", "0"],
    &[
        "XADD",
        "top",
        "18446744073709551615-18446744073709551615",
        "f",
        "v",
    ],
    &["XADD", "top", "*", "f", "v"],
    &["XADD", "seq", "5-18446744073709551615", "f", "v"],
    &["XADD", "seq", "5-*", "f", "v"],
    &["HELLO", "3"],
    &["XREAD", "STREAMS", "s", "seq", "0", "0"],
    &["XRANGE", "s", "-", "+", "COUNT", "0"],
    &["XADD", "s", "NOMKSTREAM", "1-1", "f", "v"],
    &["XADD", "none", "NOMKSTREAM", "1-1", "f", "v"],
];

#[test]
fn stream_replies_match_the_reference_redis() {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.raw(), redis.raw());
    for command in COMPARED {
        if command[0] == "HELLO" {
            // The server version differs; only the protocol switch matters here.
            ours.call(command);
            theirs.call(command);
            continue;
        }
        assert_eq!(ours.call(command), theirs.call(command), "{command:?}");
    }
}

/// A deterministic mix of XADD (varied field counts and sizes, numbers, long strings), XDEL
/// and exact or approximate trims, with explicit IDs.
fn workload() -> Vec<Vec<String>> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut out = Vec::new();
    for key in ["w0", "w1", "w2"] {
        for i in 1..=400u64 {
            let mut command = vec![
                "XADD".to_string(),
                key.to_string(),
                format!("{i}-{}", next(3)),
            ];
            for _ in 0..[1, 1, 2, 3][next(4) as usize] {
                command.push(
                    ["f", "g", "name", "12", &"k".repeat(1 + next(60) as usize)][next(5) as usize]
                        .to_string(),
                );
                command.push(match next(4) {
                    0 => "v".to_string(),
                    1 => (next(200_000) as i64 - 100_000).to_string(),
                    2 => "y".repeat(1 + next(700) as usize),
                    _ => "007".to_string(),
                });
            }
            out.push(command);
            let line = match next(100) {
                0..=9 => format!("XDEL {key} {}-{}", 1 + next(i), next(3)),
                10..=12 => format!("XTRIM {key} MAXLEN ~ {}", next(400)),
                13..=14 => format!("XTRIM {key} MINID ~ {}", next(i)),
                15 => format!("XTRIM {key} MINID {}", next(i)),
                16 => format!("XTRIM {key} MAXLEN ~ {} LIMIT {}", next(300), next(400)),
                17 => format!("XADD {key} MAXLEN ~ {} {i}-* f v", next(400)),
                18 => format!("XADD {key} MINID ~ {}-0 {i}-* f v", next(i)),
                19 => format!("XLEN {key}"),
                _ => continue,
            };
            out.push(line.split(' ').map(str::to_string).collect());
        }
        for line in [
            format!("XLEN {key}"),
            format!("XRANGE {key} - + COUNT 30"),
            format!("XREVRANGE {key} + - COUNT 30"),
            format!("XREAD COUNT 5 STREAMS {key} 200"),
            format!("XTRIM {key} MAXLEN ~ 10"),
            format!("XLEN {key}"),
        ] {
            out.push(line.split(' ').map(str::to_string).collect());
        }
    }
    out
}

#[test]
fn a_mixed_workload_with_approximate_trims_matches_the_reference_redis() {
    let Some(redis) = RedisServer::start() else {
        println!("redis-server is not installed: skipping the comparison with Redis");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.raw(), redis.raw());
    for command in workload() {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        assert_eq!(
            ours.call(&args),
            theirs.call(&args),
            "{:.200}",
            command.join(" ")
        );
    }
}
