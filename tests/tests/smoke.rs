//! The harness itself: a node starts, answers, and its reference Redis does too.

use shoal_tests::Shoal;

#[test]
fn a_node_starts_and_answers_ping() {
    let node = Shoal::start();
    let mut conn = node.conn();
    let pong: String = redis::cmd("PING").query(&mut conn).expect("ping");
    assert_eq!(pong, "PONG");
    assert_eq!(node.raw().call(&["ECHO", "hi"]), "$2\r\nhi\r\n");
}
