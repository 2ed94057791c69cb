//! A node's life: configuration by file and flags, client limits, many idle clients,
//! and clean shutdown by signal or by command.

use shoal_tests::{Raw, Shoal, redis_cli};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn write_config(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("shoal-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("shoal.conf");
    std::fs::write(&path, text).expect("write config");
    path
}

fn config_get(node: &Shoal, name: &str) -> String {
    let mut conn = node.conn();
    let pairs: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(name)
        .query(&mut conn)
        .expect("config get");
    pairs.get(1).cloned().unwrap_or_default()
}

#[test]
fn a_config_file_sets_directives_and_flags_override_it() {
    let path = write_config(
        "file",
        "# a comment\n\nmaxclients 77\ntimeout 30\ndatabases 4\nhz   20\nloglevel \"verbose\"\n",
    );
    let node = Shoal::start_with(&[
        "--config",
        path.to_str().expect("utf8 path"),
        "--timeout",
        "40",
    ]);
    assert_eq!(config_get(&node, "maxclients"), "77");
    assert_eq!(config_get(&node, "timeout"), "40");
    assert_eq!(config_get(&node, "databases"), "4");
    assert_eq!(config_get(&node, "hz"), "20");
    assert_eq!(config_get(&node, "loglevel"), "verbose");
    let mut raw = node.raw();
    assert_eq!(raw.call(&["SELECT", "3"]), "+OK\r\n");
    assert_eq!(
        raw.call(&["SELECT", "4"]),
        "-ERR DB index is out of range\r\n"
    );
    let info = raw.call(&["INFO", "server"]);
    assert!(info.contains("config_file:/"), "{info}");
}

#[test]
fn unknown_directives_are_refused_with_their_line_number() {
    let path = write_config("bad", "port 0\n# fine so far\nbogus-directive yes\n");
    let error = Shoal::try_start(&["--config", path.to_str().expect("utf8 path")])
        .err()
        .expect("the node must refuse the file");
    assert!(error.contains("at line 3"), "{error}");
    assert!(error.contains(">>> 'bogus-directive yes'"), "{error}");
    assert!(
        error.contains("Bad directive or wrong number of arguments"),
        "{error}"
    );
}

#[test]
fn requirepass_is_refused_as_not_supported_yet_not_as_a_bad_directive() {
    let path = write_config("requirepass", "port 0\nrequirepass s3cret\n");
    let error = Shoal::try_start(&["--config", path.to_str().expect("utf8 path")])
        .err()
        .expect("the node must refuse the file");
    assert!(error.contains("at line 2"), "{error}");
    assert!(
        error.contains("authentication (requirepass, AUTH, ACL) is not supported yet"),
        "{error}"
    );
    assert!(!error.contains("Bad directive"), "{error}");
    let node = Shoal::start();
    let mut raw = node.raw();
    let reply = raw.call(&["CONFIG", "SET", "requirepass", "x"]);
    assert!(
        reply.starts_with("-ERR CONFIG SET failed (possibly related to argument 'requirepass')")
            && reply.contains("not supported yet"),
        "{reply}"
    );
}

#[test]
fn a_taken_port_stops_startup_whichever_it_is() {
    // Taken client, metrics and bus ports each stop the node with one plain message.
    let client = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let client_port = client.local_addr().expect("addr").port().to_string();
    let error = Shoal::try_start(&["--port", &client_port])
        .err()
        .expect("a taken client port is fatal");
    assert!(
        error.contains(&format!(
            "cannot bind the client port on 127.0.0.1:{client_port}: Address already in use"
        )),
        "{error}"
    );
    let metrics_port = client_port.clone();
    let error = Shoal::try_start(&["--metrics-port", &metrics_port])
        .err()
        .expect("a taken metrics port is fatal");
    assert!(
        error.contains(&format!(
            "cannot bind the metrics port on 127.0.0.1:{metrics_port}: Address already in use"
        )),
        "{error}"
    );
    let bus = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let bus_port = bus.local_addr().expect("addr").port().to_string();
    let error = Shoal::try_start(&["--cluster-port", &bus_port])
        .err()
        .expect("a taken bus port is fatal");
    assert!(
        error.contains(&format!(
            "cannot bind the cluster bus on 127.0.0.1:{bus_port}: Address already in use"
        )),
        "{error}"
    );
    // Said once, not twice.
    assert_eq!(
        error.matches("Address already in use").count(),
        1,
        "{error}"
    );
}

#[test]
fn invalid_values_and_unknown_flags_are_refused() {
    let path = write_config("badvalue", "maxclients lots\n");
    let error = Shoal::try_start(&["--config", path.to_str().expect("utf8 path")])
        .err()
        .expect("refused");
    assert!(
        error.contains("at line 1")
            && error.contains("argument couldn't be parsed into an integer"),
        "{error}"
    );
    let error = Shoal::try_start(&["--no-such-flag", "1"])
        .err()
        .expect("refused");
    assert!(error.contains("no-such-flag"), "{error}");
}

#[test]
fn maxclients_refuses_the_next_client_with_redis_error() {
    let node = Shoal::start_with(&["--maxclients", "3"]);
    let mut held: Vec<Raw> = (0..3).map(|_| node.raw()).collect();
    for conn in &mut held {
        assert_eq!(conn.call(&["PING"]), "+PONG\r\n");
    }
    let mut refused = node.raw();
    let bytes = refused.read_to_close(Duration::from_secs(5));
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        "-ERR max number of clients reached\r\n"
    );
    // The admitted clients are unaffected, and the refusal is counted.
    let stats = held[0].call(&["INFO", "stats"]);
    assert!(stats.contains("rejected_connections:1\r\n"), "{stats}");
    drop(held.pop());
    // A slot is free again once a client leaves.
    let mut again = None;
    for _ in 0..100 {
        let mut conn = node.raw();
        conn.send(b"PING\r\n");
        let mut reply = [0u8; 7];
        if conn_read(&mut conn, &mut reply) && &reply == b"+PONG\r\n" {
            again = Some(conn);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(again.is_some(), "a client could connect after another left");
}

fn conn_read(conn: &mut Raw, buf: &mut [u8]) -> bool {
    let reply = conn.read_to_close(Duration::from_millis(300));
    let n = reply.len().min(buf.len());
    buf[..n].copy_from_slice(&reply[..n]);
    n == buf.len()
}

#[test]
fn ten_thousand_idle_clients_are_served_and_the_next_is_refused() {
    let _ = rlimit::increase_nofile_limit(25_000);
    let node = Shoal::start();
    let mut control = node.raw();
    let mut idle = Vec::with_capacity(9_999);
    for _ in 0..9_999 {
        let mut stream = TcpStream::connect(("127.0.0.1", node.port)).expect("connect");
        stream.write_all(b"PING\r\n").expect("write");
        idle.push(stream);
    }
    for stream in &mut idle {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut reply = [0u8; 7];
        stream
            .read_exact(&mut reply)
            .expect("every idle client is answered");
        assert_eq!(&reply, b"+PONG\r\n");
    }
    let clients = control.call(&["INFO", "clients"]);
    assert!(clients.contains("connected_clients:10000\r\n"), "{clients}");
    let mut extra = node.raw();
    let refused = extra.read_to_close(Duration::from_secs(10));
    assert_eq!(
        String::from_utf8_lossy(&refused),
        "-ERR max number of clients reached\r\n"
    );
    assert_eq!(control.call(&["SET", "still", "working"]), "+OK\r\n");
}

#[test]
fn sigterm_finishes_the_reply_in_flight_then_exits_cleanly() {
    let mut node = Shoal::start();
    let mut busy = node.raw();
    busy.send(b"DEBUG SLEEP 0.5\r\nSET after-sleep 1\r\n");
    std::thread::sleep(Duration::from_millis(100));
    node.signal("TERM");
    let replies = busy.read_to_close(Duration::from_secs(10));
    assert_eq!(String::from_utf8_lossy(&replies), "+OK\r\n+OK\r\n");
    let status = node
        .wait_exit(Duration::from_secs(15))
        .expect("the node exits");
    assert!(status.success(), "{status:?}");
    assert!(
        TcpStream::connect(("127.0.0.1", node.port)).is_err(),
        "no longer accepting"
    );
    let output = node.output.lock().expect("output").join("\n");
    assert!(output.contains("Received SIGTERM"), "{output}");
}

#[test]
fn sigint_stops_the_node_too() {
    let mut node = Shoal::start();
    node.signal("INT");
    let status = node
        .wait_exit(Duration::from_secs(15))
        .expect("the node exits");
    assert!(status.success(), "{status:?}");
}

#[test]
fn shutdown_command_closes_without_reply_and_exits() {
    let mut node = Shoal::start();
    let mut raw = node.raw();
    assert_eq!(
        raw.call(&["SHUTDOWN", "SAVE"]).lines().next(),
        Some(
            "-ERR Errors trying to SHUTDOWN: SAVE was requested but Shoal keeps no data on disk. Use NOSAVE."
        )
    );
    assert_eq!(
        raw.call(&["SHUTDOWN", "ABORT"]),
        "-ERR No shutdown in progress.\r\n"
    );
    assert_eq!(raw.call(&["SHUTDOWN", "BOGUS"]), "-ERR syntax error\r\n");
    raw.send(b"SHUTDOWN NOSAVE\r\n");
    assert!(raw.read_to_close(Duration::from_secs(10)).is_empty());
    let status = node
        .wait_exit(Duration::from_secs(15))
        .expect("the node exits");
    assert!(status.success(), "{status:?}");
    assert!(redis_cli(node.port, &["PING"]).contains("Could not connect"));
}
