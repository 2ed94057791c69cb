//! Blocking list commands: clients waiting on empty lists, woken by pushes from other
//! clients in the order they blocked, timeouts, and transactions where nothing may wait.
//! Durations are never asserted: waits use generous timeouts and only what arrives is checked.

use super::bulks;
use shoal_tests::{Raw, Shoal, expect, expect_all, wait_for_blocked};

/// A connection that has sent a blocking command and waits for its reply.
fn block(node: &Shoal, command: &str) -> Raw {
    let mut raw = node.raw();
    let args: Vec<&[u8]> = command.split(' ').map(str::as_bytes).collect();
    raw.send_command(&args);
    raw
}

/// The raw `[key, element]` reply of BLPOP/BRPOP.
fn key_element(key: &str, element: &str) -> String {
    format!(
        "*2\r\n${}\r\n{key}\r\n${}\r\n{element}\r\n",
        key.len(),
        element.len()
    )
}

#[test]
fn blpop_answers_at_once_from_the_first_non_empty_key() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("RPUSH b x y", ":2\r\n"),
            ("RPUSH c z", ":1\r\n"),
            ("BLPOP a b c 0", &key_element("b", "x")),
            ("BRPOP a c b 0", &key_element("c", "z")),
            ("EXISTS c", ":0\r\n"),
            (
                "BLMPOP 0 2 a b RIGHT COUNT 5",
                "*2\r\n$1\r\nb\r\n*1\r\n$1\r\ny\r\n",
            ),
            ("EXISTS b", ":0\r\n"),
        ],
    );
}

#[test]
fn blpop_waits_until_another_client_pushes() {
    let node = Shoal::start();
    let mut waiting = block(&node, "BLPOP k1 k2 0");
    wait_for_blocked(&mut node.raw(), 1);
    expect(&mut node.raw(), "RPUSH k2 a b", ":2\r\n");
    assert_eq!(waiting.read_reply(), key_element("k2", "a"));
    wait_for_blocked(&mut node.raw(), 0);
    let mut raw = node.raw();
    expect(&mut raw, "LRANGE k2 0 -1", &bulks(&["b"]));
    // The connection goes on normally after being served.
    expect(&mut waiting, "PING", "+PONG\r\n");
}

#[test]
fn brpop_with_a_timeout_is_served_before_it_expires() {
    let node = Shoal::start();
    let mut waiting = block(&node, "BRPOP k 30");
    wait_for_blocked(&mut node.raw(), 1);
    expect(&mut node.raw(), "LPUSH k a b", ":2\r\n");
    assert_eq!(waiting.read_reply(), key_element("k", "a"));
}

#[test]
fn blocking_commands_time_out_with_a_nil_array() {
    let node = Shoal::start();
    let mut raw = node.raw();
    for command in [
        "BLPOP nokey 0.05",
        "BRPOP a b 0.01",
        "BLMPOP 0.05 2 a b LEFT COUNT 3",
        "BLMOVE nokey dst LEFT RIGHT 0.05",
        "BRPOPLPUSH nokey dst 0.05",
    ] {
        expect(&mut raw, command, "*-1\r\n");
    }
    expect(&mut raw, "EXISTS dst", ":0\r\n");
    raw.call(&["HELLO", "3"]);
    expect(&mut raw, "BLPOP nokey 0.05", "_\r\n");
    expect(&mut raw, "BLMOVE nokey dst LEFT RIGHT 0.05", "_\r\n");
}

#[test]
fn waiting_clients_are_served_first_blocked_first_served() {
    let node = Shoal::start();
    let mut first = block(&node, "BLPOP k 0");
    wait_for_blocked(&mut node.raw(), 1);
    let mut second = block(&node, "BRPOP other k 0");
    wait_for_blocked(&mut node.raw(), 2);
    let mut third = block(&node, "BLPOP k 0");
    wait_for_blocked(&mut node.raw(), 3);
    // One push of two elements serves the first two; the third keeps waiting.
    expect(&mut node.raw(), "RPUSH k a b", ":2\r\n");
    assert_eq!(first.read_reply(), key_element("k", "a"));
    assert_eq!(second.read_reply(), key_element("k", "b"));
    wait_for_blocked(&mut node.raw(), 1);
    expect(&mut node.raw(), "LPUSH k c", ":1\r\n");
    assert_eq!(third.read_reply(), key_element("k", "c"));
    expect(&mut node.raw(), "EXISTS k", ":0\r\n");
}

#[test]
fn blmove_feeds_a_client_waiting_on_its_destination() {
    let node = Shoal::start();
    let mut on_destination = block(&node, "BLPOP dst 0");
    wait_for_blocked(&mut node.raw(), 1);
    let mut mover = block(&node, "BLMOVE src dst RIGHT LEFT 0");
    wait_for_blocked(&mut node.raw(), 2);
    expect(&mut node.raw(), "RPUSH src x", ":1\r\n");
    assert_eq!(mover.read_reply(), "$1\r\nx\r\n");
    assert_eq!(on_destination.read_reply(), key_element("dst", "x"));
    wait_for_blocked(&mut node.raw(), 0);
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[("EXISTS src", ":0\r\n"), ("EXISTS dst", ":0\r\n")],
    );
}

#[test]
fn brpoplpush_waits_for_its_source() {
    let node = Shoal::start();
    let mut waiting = block(&node, "BRPOPLPUSH src dst 0");
    wait_for_blocked(&mut node.raw(), 1);
    expect(&mut node.raw(), "LPUSH src a b", ":2\r\n");
    assert_eq!(waiting.read_reply(), "$1\r\na\r\n");
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("LRANGE src 0 -1", &bulks(&["b"])),
            ("LRANGE dst 0 -1", &bulks(&["a"])),
        ],
    );
}

#[test]
fn blmpop_waits_and_then_takes_up_to_its_count() {
    let node = Shoal::start();
    let mut waiting = block(&node, "BLMPOP 0 2 a b LEFT COUNT 2");
    wait_for_blocked(&mut node.raw(), 1);
    expect(&mut node.raw(), "RPUSH b 1 2 3", ":3\r\n");
    assert_eq!(
        waiting.read_reply(),
        "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
    expect(&mut node.raw(), "LRANGE b 0 -1", &bulks(&["3"]));
}

#[test]
fn a_waiting_blmove_whose_destination_is_not_a_list_gets_wrongtype() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "SET dst text", "+OK\r\n");
    let mut waiting = block(&node, "BLMOVE src dst LEFT LEFT 0");
    wait_for_blocked(&mut node.raw(), 1);
    expect(&mut raw, "RPUSH src x", ":1\r\n");
    assert_eq!(
        waiting.read_reply(),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    expect(&mut raw, "LRANGE src 0 -1", &bulks(&["x"]));
}

#[test]
fn a_push_inside_a_transaction_wakes_waiting_clients() {
    let node = Shoal::start();
    let mut waiting = block(&node, "BLPOP k 0");
    wait_for_blocked(&mut node.raw(), 1);
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("MULTI", "+OK\r\n"),
            ("RPUSH k a", "+QUEUED\r\n"),
            ("RPUSH k b", "+QUEUED\r\n"),
            ("EXEC", "*2\r\n:1\r\n:2\r\n"),
        ],
    );
    assert_eq!(waiting.read_reply(), key_element("k", "a"));
    expect(&mut raw, "LRANGE k 0 -1", &bulks(&["b"]));
}

#[test]
fn blocking_pops_inside_a_transaction_answer_at_once() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("RPUSH full x", ":1\r\n"),
            ("MULTI", "+OK\r\n"),
            ("BLPOP nokey 0", "+QUEUED\r\n"),
            ("BLMOVE nokey dst LEFT LEFT 0", "+QUEUED\r\n"),
            ("BRPOPLPUSH nokey dst 0", "+QUEUED\r\n"),
            ("BLMPOP 0 1 nokey LEFT", "+QUEUED\r\n"),
            ("BRPOP full 0", "+QUEUED\r\n"),
            (
                "EXEC",
                "*5\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n*2\r\n$4\r\nfull\r\n$1\r\nx\r\n",
            ),
        ],
    );
}

#[test]
fn a_client_that_leaves_while_waiting_takes_nothing() {
    let node = Shoal::start();
    let waiting = block(&node, "BLPOP k 0");
    wait_for_blocked(&mut node.raw(), 1);
    drop(waiting);
    wait_for_blocked(&mut node.raw(), 0);
    let mut raw = node.raw();
    expect(&mut raw, "RPUSH k a", ":1\r\n");
    expect(&mut raw, "LLEN k", ":1\r\n");
}

#[test]
fn resp3_clients_get_the_same_blocking_replies() {
    let node = Shoal::start();
    let mut waiting = node.raw();
    waiting.call(&["HELLO", "3"]);
    waiting.send_command(&[b"BLMPOP", b"0", b"1", b"k", b"RIGHT"]);
    wait_for_blocked(&mut node.raw(), 1);
    expect(&mut node.raw(), "RPUSH k a b", ":2\r\n");
    assert_eq!(waiting.read_reply(), "*2\r\n$1\r\nk\r\n*1\r\n$1\r\nb\r\n");
}

#[test]
fn a_key_that_becomes_another_type_keeps_list_waiters_waiting() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let mut popper = block(&node, "BLPOP k1 k2 0");
    wait_for_blocked(&mut node.raw(), 1);
    let mut mover = block(&node, "BLMOVE src dst LEFT LEFT 0");
    wait_for_blocked(&mut node.raw(), 2);
    // A stream appearing at a waited-on key wakes nobody here, as in Redis.
    assert!(raw.call(&["XADD", "k1", "*", "f", "v"]).starts_with('$'));
    assert!(raw.call(&["XADD", "src", "*", "f", "v"]).starts_with('$'));
    expect(&mut raw, "RPUSH k2 x", ":1\r\n");
    assert_eq!(popper.read_reply(), key_element("k2", "x"));
    wait_for_blocked(&mut node.raw(), 1);
    expect_all(
        &mut raw,
        &[("DEL src", ":1\r\n"), ("RPUSH src y", ":1\r\n")],
    );
    assert_eq!(mover.read_reply(), "$1\r\ny\r\n");
    expect(&mut raw, "LRANGE dst 0 -1", &bulks(&["y"]));
}
