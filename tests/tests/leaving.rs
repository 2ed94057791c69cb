//! How a node leaves a cluster (issue 14): a graceful leave waits for the next owners of its
//! slots at most `cluster-leave-timeout`; `SHUTDOWN NOSAVE` and a second signal leave at
//! once. Real `shoal` processes on loopback; a follower held with SIGSTOP keeps the next
//! owners from catching up.
//!
//! Nothing here asserts a duration: waits poll against generous deadlines.

use shoal_tests::{Shoal, TestCluster, eventually};
use std::time::Duration;

/// Printed when a graceful leave starts, ends with the slots handed over, or gives up.
const LEAVING: &str = "leaving: handing this node's slots to their next owners";
const HANDED_OVER: &str = "the next owners of this node's slots have caught up";
const TIMED_OUT: &str = "cluster-leave-timeout passed before the next owners caught up";

fn said(node: &Shoal) -> String {
    node.output.lock().expect("output").join("\n")
}

/// Writes keys through node 0 so that every node has slots with data to hand over.
fn fill(cluster: &TestCluster) {
    let mut raw = cluster.node(0).raw();
    for i in 0..300 {
        assert_eq!(raw.call(&["SET", &format!("k:{i}"), "v"]), "+OK\r\n");
    }
}

#[test]
fn a_leave_the_next_owners_cannot_finish_in_time_goes_anyway_at_the_timeout() {
    // The default node timeout (15 s): the held follower stays a member for the whole leave.
    let mut cluster = TestCluster::start(3, &[]);
    fill(&cluster);
    let mut raw = cluster.node(2).raw();
    assert_eq!(
        raw.call(&["CONFIG", "SET", "cluster-leave-timeout", "300"]),
        "+OK\r\n"
    );
    cluster.node(1).signal("STOP");
    let mut leaver = cluster.take(2);
    leaver.signal("TERM");
    let exited = leaver.wait_exit(Duration::from_secs(60));
    cluster.node(1).signal("CONT");
    assert!(exited.is_some(), "the leaver did not go: {}", said(&leaver));
    let output = said(&leaver);
    assert!(output.contains(LEAVING), "{output}");
    assert!(output.contains(TIMED_OUT), "{output}");
    assert!(!output.contains(HANDED_OVER), "{output}");
    // The others carry on without it.
    cluster.wait_until_agreed(2, Duration::from_secs(60));
    assert_eq!(
        cluster.node(0).raw().call(&["SET", "after", "1"]),
        "+OK\r\n"
    );
}

#[test]
fn shutdown_nosave_and_a_second_signal_leave_at_once() {
    let mut cluster = TestCluster::start(4, &[]);
    fill(&cluster);
    // A held follower: a graceful leave could not finish while it is held.
    cluster.node(1).signal("STOP");

    // SHUTDOWN NOSAVE: no leave at all.
    let mut raw = cluster.node(3).raw();
    raw.send_command(&[b"SHUTDOWN", b"NOSAVE"]);
    let mut nosave = cluster.take(3);
    assert!(
        nosave.wait_exit(Duration::from_secs(60)).is_some(),
        "SHUTDOWN NOSAVE did not stop the node: {}",
        said(&nosave)
    );
    assert!(!said(&nosave).contains(LEAVING), "{}", said(&nosave));

    // SIGTERM starts a graceful leave (stuck on the held follower); a second one ends it.
    let mut twice = cluster.take(2);
    twice.signal("TERM");
    eventually("SIGTERM to start a leave", Duration::from_secs(30), || {
        said(&twice).contains(LEAVING)
    });
    twice.signal("TERM");
    let exited = twice.wait_exit(Duration::from_secs(60));
    cluster.node(1).signal("CONT");
    assert!(exited.is_some(), "a second SIGTERM did not stop the node");
    let output = said(&twice);
    assert!(
        !output.contains(HANDED_OVER) && !output.contains(TIMED_OUT),
        "the second signal should cut the leave short: {output}"
    );
}
