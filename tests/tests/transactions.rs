//! MULTI/EXEC/DISCARD/WATCH/UNWATCH: queuing, aborts, runtime errors, optimistic locking
//! races between clients, and isolation from other clients' writes.

use redis::Commands;
use shoal_tests::{Shoal, expect, expect_all};
use std::time::Duration;

#[test]
fn commands_are_queued_then_run_together_by_exec() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("MULTI", "+OK\r\n"),
            ("SET a 1", "+QUEUED\r\n"),
            ("INCR a", "+QUEUED\r\n"),
            ("GET a", "+QUEUED\r\n"),
            ("EXEC", "*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n"),
            ("GET a", "$1\r\n2\r\n"),
        ],
    );
}

#[test]
fn an_empty_transaction_answers_an_empty_array() {
    let node = Shoal::start();
    expect_all(&mut node.raw(), &[("MULTI", "+OK\r\n"), ("EXEC", "*0\r\n")]);
}

#[test]
fn errors_while_queuing_abort_the_whole_transaction() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("MULTI", "+OK\r\n"),
            ("SET a 1", "+QUEUED\r\n"),
            (
                "NOSUCH x",
                "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n",
            ),
            (
                "GET",
                "-ERR wrong number of arguments for 'get' command\r\n",
            ),
            (
                "EXEC",
                "-EXECABORT Transaction discarded because of previous errors.\r\n",
            ),
            ("EXISTS a", ":0\r\n"),
            // The connection is out of the transaction and works normally.
            ("SET a 2", "+OK\r\n"),
        ],
    );
}

#[test]
fn runtime_errors_do_not_stop_the_other_commands() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SET s text", "+OK\r\n"),
            ("MULTI", "+OK\r\n"),
            ("INCR s", "+QUEUED\r\n"),
            ("SET t 1", "+QUEUED\r\n"),
            (
                "EXEC",
                "*2\r\n-ERR value is not an integer or out of range\r\n+OK\r\n",
            ),
            ("GET t", "$1\r\n1\r\n"),
        ],
    );
}

#[test]
fn multi_exec_discard_and_watch_refuse_misuse_with_redis_texts() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("EXEC", "-ERR EXEC without MULTI\r\n"),
            ("DISCARD", "-ERR DISCARD without MULTI\r\n"),
            ("MULTI", "+OK\r\n"),
            ("MULTI", "-ERR MULTI calls can not be nested\r\n"),
            ("WATCH a", "-ERR WATCH inside MULTI is not allowed\r\n"),
            ("SET a 1", "+QUEUED\r\n"),
            // Neither error above failed the transaction.
            ("EXEC", "*1\r\n+OK\r\n"),
            ("MULTI", "+OK\r\n"),
            (
                "SHUTDOWN",
                "-ERR Command not allowed inside a transaction\r\n",
            ),
            (
                "EXEC",
                "-EXECABORT Transaction discarded because of previous errors.\r\n",
            ),
        ],
    );
}

#[test]
fn discard_drops_the_queue_and_the_watches() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let mut other = node.raw();
    expect_all(
        &mut raw,
        &[
            ("WATCH w", "+OK\r\n"),
            ("MULTI", "+OK\r\n"),
            ("SET a 1", "+QUEUED\r\n"),
            ("DISCARD", "+OK\r\n"),
            ("EXISTS a", ":0\r\n"),
        ],
    );
    expect(&mut other, "SET w changed", "+OK\r\n");
    // The watch went with DISCARD, so this transaction is not aborted.
    expect_all(
        &mut raw,
        &[
            ("MULTI", "+OK\r\n"),
            ("PING", "+QUEUED\r\n"),
            ("EXEC", "*1\r\n+PONG\r\n"),
        ],
    );
}

#[test]
fn a_watched_key_changed_by_another_client_aborts_exec() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let mut other = node.raw();
    expect(&mut raw, "SET k 1", "+OK\r\n");
    expect(&mut raw, "WATCH k", "+OK\r\n");
    expect(&mut other, "INCR k", ":2\r\n");
    expect_all(
        &mut raw,
        &[
            ("MULTI", "+OK\r\n"),
            ("SET k 100", "+QUEUED\r\n"),
            ("EXEC", "*-1\r\n"),
            ("GET k", "$1\r\n2\r\n"),
        ],
    );
    // After EXEC the watch is gone: the next transaction runs.
    expect_all(
        &mut raw,
        &[
            ("MULTI", "+OK\r\n"),
            ("SET k 100", "+QUEUED\r\n"),
            ("EXEC", "*1\r\n+OK\r\n"),
        ],
    );
}

#[test]
fn watch_notices_creation_deletion_expiry_ttl_changes_and_flushes() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let mut other = node.raw();
    let aborted_by =
        |raw: &mut shoal_tests::Raw, other: &mut shoal_tests::Raw, setup: &str, change: &str| {
            if !setup.is_empty() {
                let args: Vec<&str> = setup.split(' ').collect();
                raw.call(&args);
            }
            expect(raw, "WATCH k", "+OK\r\n");
            let args: Vec<&str> = change.split(' ').collect();
            other.call(&args);
            expect_all(raw, &[("MULTI", "+OK\r\n"), ("PING", "+QUEUED\r\n")]);
            assert_eq!(raw.call(&["EXEC"]), "*-1\r\n", "{change} did not abort");
            raw.call(&["DEL", "k"]);
        };
    aborted_by(&mut raw, &mut other, "", "SET k created");
    aborted_by(&mut raw, &mut other, "SET k v", "DEL k");
    aborted_by(&mut raw, &mut other, "SET k v", "EXPIRE k 100");
    aborted_by(&mut raw, &mut other, "SET k v EX 100", "PERSIST k");
    aborted_by(&mut raw, &mut other, "SET k v", "APPEND k more");
    aborted_by(&mut raw, &mut other, "SET k v", "RENAME k k2");
    aborted_by(&mut raw, &mut other, "SET k v", "FLUSHALL");
    aborted_by(&mut raw, &mut other, "SET k v", "SWAPDB 0 1");
    other.call(&["SWAPDB", "0", "1"]);
    // A watched key that expires before EXEC aborts it too.
    expect(&mut raw, "SET k v PX 100", "+OK\r\n");
    expect(&mut raw, "WATCH k", "+OK\r\n");
    std::thread::sleep(Duration::from_millis(300));
    expect_all(
        &mut raw,
        &[
            ("MULTI", "+OK\r\n"),
            ("PING", "+QUEUED\r\n"),
            ("EXEC", "*-1\r\n"),
        ],
    );
}

#[test]
fn writes_that_change_nothing_do_not_abort_and_unwatch_forgets() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let mut other = node.raw();
    expect(&mut raw, "SET k v", "+OK\r\n");
    expect(&mut raw, "WATCH k", "+OK\r\n");
    // A SET NX on an existing key and a read change nothing.
    expect(&mut other, "SET k x NX", "$-1\r\n");
    expect(&mut other, "GET k", "$1\r\nv\r\n");
    expect_all(
        &mut raw,
        &[
            ("MULTI", "+OK\r\n"),
            ("PING", "+QUEUED\r\n"),
            ("EXEC", "*1\r\n+PONG\r\n"),
        ],
    );
    expect(&mut raw, "WATCH k", "+OK\r\n");
    expect(&mut raw, "UNWATCH", "+OK\r\n");
    expect(&mut other, "SET k changed", "+OK\r\n");
    expect_all(
        &mut raw,
        &[
            ("MULTI", "+OK\r\n"),
            ("PING", "+QUEUED\r\n"),
            ("EXEC", "*1\r\n+PONG\r\n"),
        ],
    );
}

#[test]
fn reset_leaves_the_transaction() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("MULTI", "+OK\r\n"),
            ("SET a 1", "+QUEUED\r\n"),
            ("RESET", "+RESET\r\n"),
            ("EXEC", "-ERR EXEC without MULTI\r\n"),
            ("EXISTS a", ":0\r\n"),
        ],
    );
}

#[test]
fn transactions_with_whole_database_commands_and_select_run() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SET a 1", "+OK\r\n"),
            ("MULTI", "+OK\r\n"),
            ("DBSIZE", "+QUEUED\r\n"),
            ("SELECT 3", "+QUEUED\r\n"),
            ("SET b 2", "+QUEUED\r\n"),
            ("KEYS *", "+QUEUED\r\n"),
            ("FLUSHDB", "+QUEUED\r\n"),
            ("SELECT 0", "+QUEUED\r\n"),
            ("GET a", "+QUEUED\r\n"),
            (
                "EXEC",
                "*7\r\n:1\r\n+OK\r\n+OK\r\n*1\r\n$1\r\nb\r\n+OK\r\n+OK\r\n$1\r\n1\r\n",
            ),
        ],
    );
    let info = raw.call(&["MULTI"]);
    assert_eq!(info, "+OK\r\n");
    expect(&mut raw, "INFO keyspace", "+QUEUED\r\n");
    let reply = raw.call(&["EXEC"]);
    assert!(reply.contains("db0:keys=1"), "{reply}");
}

#[test]
fn only_one_of_two_racing_watchers_commits() {
    let node = Shoal::start();
    let mut setup = node.conn();
    let _: () = setup.set("balance", 100).expect("set");
    let mut a = node.raw();
    let mut b = node.raw();
    expect(&mut a, "WATCH balance", "+OK\r\n");
    expect(&mut b, "WATCH balance", "+OK\r\n");
    expect_all(
        &mut a,
        &[("MULTI", "+OK\r\n"), ("DECRBY balance 30", "+QUEUED\r\n")],
    );
    expect_all(
        &mut b,
        &[("MULTI", "+OK\r\n"), ("DECRBY balance 50", "+QUEUED\r\n")],
    );
    let first = a.call(&["EXEC"]);
    let second = b.call(&["EXEC"]);
    assert_eq!(first, "*1\r\n:70\r\n");
    assert_eq!(second, "*-1\r\n");
    let balance: i64 = setup.get("balance").expect("get");
    assert_eq!(balance, 70);
}

#[test]
fn check_and_set_loops_from_many_clients_lose_no_increment() {
    let node = Shoal::start();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let mut conn = node.conn();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    loop {
                        let _: () = redis::cmd("WATCH")
                            .arg("counter")
                            .query(&mut conn)
                            .expect("watch");
                        let current: Option<i64> = conn.get("counter").expect("get");
                        let next = current.unwrap_or(0) + 1;
                        let result: Option<(String,)> = redis::pipe()
                            .atomic()
                            .set("counter", next)
                            .query(&mut conn)
                            .expect("exec");
                        if result.is_some() {
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("client thread");
    }
    let counter: i64 = node.conn().get("counter").expect("get");
    assert_eq!(counter, 400);
}

#[test]
fn other_clients_never_see_a_transaction_half_done() {
    let node = Shoal::start();
    let mut writer = node.conn();
    let mut reader = node.conn();
    let _: () = writer.set("x", 0).expect("set");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reading = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut seen = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (x, y): (i64, i64) = redis::cmd("MGET")
                    .arg("x")
                    .arg("y")
                    .query(&mut reader)
                    .map(|v: (Option<i64>, Option<i64>)| (v.0.unwrap_or(0), v.1.unwrap_or(0)))
                    .expect("mget");
                assert_eq!(x, y, "a reader saw x and y out of step");
                assert_eq!(x % 50, 0, "a reader saw x in the middle of a transaction");
                seen += 1;
            }
            seen
        })
    };
    for _ in 0..100 {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for _ in 0..50 {
            pipe.incr("x", 1).ignore();
        }
        pipe.incr("y", 50).ignore();
        let _: () = pipe.query(&mut writer).expect("transaction");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = reading.join().expect("reader");
    assert!(seen > 0);
}
