//! XREAD: entries after each ID, its errors, RESP3's map, and BLOCK (woken by XADD from
//! another client, `$`, timeouts, the 1000-entry cap, inside transactions). Durations are
//! never asserted: waits use generous timeouts and only what arrives is checked.

use super::*;

#[test]
fn xread_answers_the_entries_after_each_id() {
    let node = Shoal::start();
    let mut raw = node.raw();
    for (key, id) in [("a", "1-1"), ("a", "2-1"), ("a", "3-1"), ("b", "5-0")] {
        expect(&mut raw, &format!("XADD {key} {id} f {id}"), &bulk(id));
    }
    let a = |ids: &[&str]| {
        let items: Vec<String> = ids.iter().map(|id| entry(id, &["f", id])).collect();
        array(&items)
    };
    expect_all(
        &mut raw,
        &[
            (
                "XREAD STREAMS a 0",
                &read_reply(&[("a", a(&["1-1", "2-1", "3-1"]))]),
            ),
            (
                "XREAD STREAMS a 1-1",
                &read_reply(&[("a", a(&["2-1", "3-1"]))]),
            ),
            (
                "XREAD STREAMS a 2",
                &read_reply(&[("a", a(&["2-1", "3-1"]))]),
            ),
            (
                "XREAD COUNT 1 STREAMS a 1-1",
                &read_reply(&[("a", a(&["2-1"]))]),
            ),
            (
                "XREAD COUNT 0 STREAMS a 2-1",
                &read_reply(&[("a", a(&["3-1"]))]),
            ),
            (
                "XREAD COUNT -5 STREAMS a 2-1",
                &read_reply(&[("a", a(&["3-1"]))]),
            ),
            (
                "XREAD COUNT 1 STREAMS a b missing 0 0 0",
                &read_reply(&[
                    ("a", a(&["1-1"])),
                    ("b", array(&[entry("5-0", &["f", "5-0"])])),
                ]),
            ),
            // Streams with nothing newer are left out; nothing at all is a nil array.
            (
                "XREAD STREAMS a b 3-1 0",
                &read_reply(&[("b", array(&[entry("5-0", &["f", "5-0"])]))]),
            ),
            ("XREAD STREAMS a 3-1", "*-1\r\n"),
            ("XREAD STREAMS a $", "*-1\r\n"),
            ("XREAD STREAMS missing 0", "*-1\r\n"),
            (
                "XREAD BLOCK 10 STREAMS a 0",
                &read_reply(&[("a", a(&["1-1", "2-1", "3-1"]))]),
            ),
            (
                "xread count 1 streams a 0",
                &read_reply(&[("a", a(&["1-1"]))]),
            ),
        ],
    );
    // Deleting the top entry: nothing newer than the remaining ones.
    expect(&mut raw, "XDEL a 3-1", ":1\r\n");
    expect(&mut raw, "XREAD STREAMS a 2-1", "*-1\r\n");
}

#[test]
fn xread_refuses_malformed_requests_like_redis() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "XADD a 1-1 f v", &bulk("1-1"));
    let unbalanced = "-ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.\r\n";
    expect_all(
        &mut raw,
        &[
            (
                "XREAD STREAMS a",
                "-ERR wrong number of arguments for 'xread' command\r\n",
            ),
            ("XREAD STREAMS a b 0", unbalanced),
            ("XREAD COUNT 1 STREAMS a", unbalanced),
            ("XREAD COUNT 1 a 0", SYNTAX),
            ("XREAD FOO STREAMS a 0", SYNTAX),
            ("XREAD COUNT x STREAMS a 0", NOT_INT),
            ("XREAD COUNT 1.5 STREAMS a 0", NOT_INT),
            (
                "XREAD BLOCK x STREAMS a 0",
                "-ERR timeout is not an integer or out of range\r\n",
            ),
            (
                "XREAD BLOCK 1.5 STREAMS a 0",
                "-ERR timeout is not an integer or out of range\r\n",
            ),
            ("XREAD BLOCK -1 STREAMS a 0", "-ERR timeout is negative\r\n"),
            ("XREAD STREAMS a x", INVALID_ID),
            ("XREAD STREAMS a -", INVALID_ID),
            // `+` is the last entry since Redis 7.4 (see `xread_plus_reads_the_last_entry...`).
            ("XREAD STREAMS a 1-*", INVALID_ID),
            (
                "XREAD STREAMS a >",
                "-ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.\r\n",
            ),
            (
                "XREAD GROUP g c STREAMS a 0",
                "-ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.\r\n",
            ),
            (
                "XREAD NOACK STREAMS a 0",
                "-ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.\r\n",
            ),
        ],
    );
}

#[test]
fn xread_answers_a_map_of_streams_in_resp3() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["HELLO", "3"]);
    expect(&mut raw, "XADD a 1-1 f v", &bulk("1-1"));
    expect(&mut raw, "XADD b 2-1 g w", &bulk("2-1"));
    let map = format!(
        "%2\r\n{}{}{}{}",
        bulk("a"),
        entries(&[("1-1", &["f", "v"])]),
        bulk("b"),
        entries(&[("2-1", &["g", "w"])])
    );
    expect_all(
        &mut raw,
        &[
            ("XREAD STREAMS a b 0 0", &map),
            ("XREAD STREAMS a 1-1", "_\r\n"),
            ("XREAD BLOCK 10 STREAMS a $", "_\r\n"),
            // XRANGE entries are arrays in both protocols; COUNT 0 is a null.
            ("XRANGE a - +", &entries(&[("1-1", &["f", "v"])])),
            ("XRANGE a - + COUNT 0", "_\r\n"),
        ],
    );
}

#[test]
fn xread_block_is_woken_by_an_xadd_from_another_client() {
    let node = Shoal::start();
    let (mut reader, mut writer) = (node.raw(), node.raw());
    reader.send_command(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
    wait_for_blocked(&mut writer, 1);
    expect(&mut writer, "XADD s 1-1 f v", &bulk("1-1"));
    assert_eq!(
        reader.read_reply(),
        read_reply(&[("s", entries(&[("1-1", &["f", "v"])]))])
    );
    // The connection is usable again afterwards.
    expect(&mut reader, "XLEN s", ":1\r\n");
}

#[test]
fn xread_block_with_a_dollar_answers_only_what_arrives_after_it_waits() {
    let node = Shoal::start();
    let (mut reader, mut writer) = (node.raw(), node.raw());
    expect(&mut writer, "XADD s 1-1 old v", &bulk("1-1"));
    expect(&mut writer, "XADD other 1-1 old v", &bulk("1-1"));
    reader.send_command(&[
        b"XREAD", b"BLOCK", b"0", b"STREAMS", b"other", b"s", b"$", b"$",
    ]);
    wait_for_blocked(&mut writer, 1);
    expect(&mut writer, "XADD s 2-1 new v", &bulk("2-1"));
    assert_eq!(
        reader.read_reply(),
        read_reply(&[("s", entries(&[("2-1", &["new", "v"])]))]),
        "only the stream that got an entry, and only the new entry"
    );
}

#[test]
fn xread_block_waits_again_when_the_wake_up_brings_nothing_newer() {
    let node = Shoal::start();
    let (mut reader, mut writer) = (node.raw(), node.raw());
    expect(&mut writer, "XADD s 5-0 f v", &bulk("5-0"));
    reader.send_command(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
    wait_for_blocked(&mut writer, 1);
    // A new stream under the same name with a smaller ID: nothing after 5-0 yet.
    expect(&mut writer, "DEL s", ":1\r\n");
    expect(&mut writer, "XADD s 1-0 f v", &bulk("1-0"));
    wait_for_blocked(&mut writer, 1);
    expect(&mut writer, "XADD s 6-0 f v", &bulk("6-0"));
    assert_eq!(
        reader.read_reply(),
        read_reply(&[("s", entries(&[("6-0", &["f", "v"])]))])
    );
}

#[test]
fn xread_block_answers_nil_when_the_timeout_passes() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "XADD s 1-1 f v", &bulk("1-1"));
    expect(&mut raw, "XREAD BLOCK 50 STREAMS s $", "*-1\r\n");
    expect(&mut raw, "XREAD BLOCK 50 STREAMS missing 0", "*-1\r\n");
    raw.call(&["HELLO", "3"]);
    expect(&mut raw, "XREAD BLOCK 50 STREAMS s $", "_\r\n");
}

#[test]
fn xread_block_served_after_waiting_returns_at_most_1000_entries_without_count() {
    let node = Shoal::start();
    let (mut reader, mut writer) = (node.raw(), node.raw());
    reader.send_command(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"0"]);
    wait_for_blocked(&mut writer, 1);
    expect(&mut writer, "MULTI", "+OK\r\n");
    for i in 1..=1001 {
        expect(&mut writer, &format!("XADD s {i}-0 f v"), "+QUEUED\r\n");
    }
    let exec = writer.call(&["EXEC"]);
    assert!(exec.starts_with("*1001\r\n"), "{exec:.40}");
    let reply = reader.read_reply();
    assert!(
        reply.starts_with("*1\r\n*2\r\n$1\r\ns\r\n*1000\r\n"),
        "{reply:.60}"
    );
    // An explicit COUNT is kept.
    reader.send_command(&[
        b"XREAD", b"COUNT", b"2", b"BLOCK", b"0", b"STREAMS", b"s", b"$",
    ]);
    wait_for_blocked(&mut writer, 1);
    expect(&mut writer, "MULTI", "+OK\r\n");
    expect(&mut writer, "XADD s 2000-0 f v", "+QUEUED\r\n");
    expect(&mut writer, "XADD s 2001-0 f v", "+QUEUED\r\n");
    expect(&mut writer, "XADD s 2002-0 f v", "+QUEUED\r\n");
    writer.call(&["EXEC"]);
    assert_eq!(
        reader.read_reply(),
        read_reply(&[(
            "s",
            entries(&[("2000-0", &["f", "v"]), ("2001-0", &["f", "v"])])
        )])
    );
}

#[test]
fn xread_block_inside_a_transaction_does_not_wait() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "XADD s 1-1 f v", &bulk("1-1"));
    expect_all(
        &mut raw,
        &[
            ("MULTI", "+OK\r\n"),
            ("XREAD BLOCK 0 STREAMS s $", "+QUEUED\r\n"),
            ("XREAD BLOCK 0 STREAMS s 0", "+QUEUED\r\n"),
            (
                "EXEC",
                &format!(
                    "*2\r\n*-1\r\n{}",
                    read_reply(&[("s", entries(&[("1-1", &["f", "v"])]))])
                ),
            ),
        ],
    );
}

#[test]
fn command_getkeys_finds_the_streams_of_xread() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            (
                "COMMAND GETKEYS XREAD COUNT 2 BLOCK 0 STREAMS a b 0 0",
                &array(&[bulk("a"), bulk("b")]),
            ),
            ("COMMAND GETKEYS XADD s * f v", &array(&[bulk("s")])),
        ],
    );
    let info = raw.call(&["COMMAND", "INFO", "xread"]);
    assert!(
        info.contains("movablekeys") && info.contains("blocking"),
        "{info}"
    );
}
