//! A join in redirect mode (issue 14): clients that follow `-MOVED` never meet a node
//! that lacks a key's data. While the new node warms, the old owners keep answering; once it
//! serves, a moved key is answered with one `-MOVED` to it, and it has the value. Real `shoal`
//! processes on loopback.
//!
//! Nothing here asserts a duration: waits poll against generous deadlines.

use shoal_tests::{Raw, TestCluster};
use std::time::{Duration, Instant};

const KEYS: usize = 300;

/// `args` through `port`, following `-MOVED` at most once: the reply, and the port that
/// answered it.
fn call_following_moved(port: u16, args: &[&str]) -> (String, u16) {
    let key = args[1];
    let reply = Raw::connect(port).call(args);
    let Some(rest) = reply.strip_prefix("-MOVED ") else {
        return (reply, port);
    };
    let target: u16 = rest
        .trim_end()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a MOVED with a port: {reply:?}"));
    let again = Raw::connect(target).call(args);
    assert!(
        !again.starts_with("-MOVED") && !again.starts_with("-ASK"),
        "{key}: redirected twice ({reply:?}, then {again:?})"
    );
    (again, target)
}

#[test]
fn a_joining_node_in_redirect_mode_is_sent_clients_only_once_it_holds_their_keys() {
    let mut cluster = TestCluster::start(2, &["--cluster-mode", "redirect"]);
    let first = cluster.node(0).port;
    for i in 0..KEYS {
        let key = format!("r:{i}");
        let value = format!("v{i}");
        let (reply, _) = call_following_moved(first, &["SET", &key, &value]);
        assert_eq!(reply, "+OK\r\n", "{key}");
    }
    let joined = cluster.add(&[]);
    let new_port = cluster.node(joined).port;
    // Reads through the old nodes while the new one warms and takes over: every key is
    // found, with at most one redirect, wherever it points.
    let started = Instant::now();
    let mut rounds = 0;
    loop {
        let serving = cluster.node(joined).is_serving();
        for i in 0..KEYS {
            let key = format!("r:{i}");
            let (reply, by) = call_following_moved(first, &["GET", &key]);
            let want = format!("${}\r\nv{i}\r\n", format!("v{i}").len());
            if reply.starts_with("-CLUSTERDOWN") || reply.starts_with("-TRYAGAIN") {
                continue; // The switch fences keys for a moment: retryable.
            }
            assert_eq!(reply, want, "{key} through {first} (answered by {by})");
        }
        rounds += 1;
        if serving && rounds > 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the new node did not serve"
        );
    }
    cluster.wait_until_agreed(3, Duration::from_secs(60));
    // Once it serves, it owns a share of the keys and answers them itself.
    let mut from_new = 0;
    for i in 0..KEYS {
        let (reply, by) = call_following_moved(first, &["GET", &format!("r:{i}")]);
        assert!(reply.starts_with('$'), "{reply}");
        from_new += usize::from(by == new_port);
    }
    assert!(from_new > 0, "no key moved to the new node");
}
