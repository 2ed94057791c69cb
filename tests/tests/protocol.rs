//! The wire protocol over raw TCP, checked byte for byte against what Redis 7 sends:
//! RESP2 by default and RESP3 after `HELLO 3`, inline commands, deep pipelines, protocol
//! errors (Redis's texts, then the connection closes), hostile lengths that must cost the
//! server nothing, the query buffer limit, and error texts for unknown commands and wrong
//! arity.

use shoal_tests::{Raw, RedisServer, Shoal, encode_command};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A plain socket, for what `Raw` cannot do: partial writes and telling "closed" from "quiet".
fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// Writes `input` and returns everything the server sends until it closes the connection.
/// Panics if the connection stays open.
fn until_closed(port: u16, input: &[u8]) -> Vec<u8> {
    let mut stream = connect(port);
    stream.write_all(input).expect("write");
    read_until_closed(&mut stream)
}

fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "connection still open; received {:?}",
                    String::from_utf8_lossy(&out)
                )
            }
            // A reset after the reply also counts as closed.
            Err(_) => return out,
        }
    }
}

/// The reply the sentinel `ECHO __end__` gets.
const SENTINEL_REPLY: &[u8] = b"$7\r\n__end__\r\n";

/// Writes `input` followed by `ECHO __end__` on an open connection and returns every byte
/// the server sent before the sentinel's reply.
fn replies_on(stream: &mut TcpStream, input: &[u8]) -> Vec<u8> {
    stream.write_all(input).expect("write");
    stream
        .write_all(&encode_command(&[b"ECHO", b"__end__"]))
        .expect("write");
    let mut out = Vec::new();
    let mut chunk = [0u8; 65536];
    while !out.ends_with(SENTINEL_REPLY) {
        let n = stream.read(&mut chunk).expect("read replies");
        assert!(
            n > 0,
            "closed early; got {:?}",
            String::from_utf8_lossy(&out)
        );
        out.extend_from_slice(&chunk[..n]);
    }
    out.truncate(out.len() - SENTINEL_REPLY.len());
    out
}

/// `replies_on` a fresh connection, as text.
fn replies(port: u16, input: &[u8]) -> String {
    String::from_utf8_lossy(&replies_on(&mut connect(port), input)).into_owned()
}

/// One field of `INFO <section>`.
fn info_field(raw: &mut Raw, section: &str, field: &str) -> String {
    let info = raw.call(&["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}: {info}"))
        .to_string()
}

fn used_memory(raw: &mut Raw) -> i64 {
    info_field(raw, "memory", "used_memory")
        .parse()
        .expect("used_memory is a number")
}

fn hello_map(proto: i64, id: i64) -> String {
    let header = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{header}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.4.0\r\n$5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$7\r\ncluster\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
}

fn client_id(raw: &mut Raw) -> i64 {
    let reply = raw.call(&["CLIENT", "ID"]);
    reply
        .trim()
        .trim_start_matches(':')
        .parse()
        .expect("CLIENT ID is an integer")
}

#[test]
fn replies_are_resp2_until_hello_3_switches_to_resp3() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let id = client_id(&mut raw);
    assert_eq!(raw.call(&["GET", "missing"]), "$-1\r\n");
    assert_eq!(
        raw.call(&["CONFIG", "GET", "hz"]),
        "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n"
    );
    assert!(raw.call(&["INFO", "server"]).starts_with("$"));

    assert_eq!(raw.call(&["HELLO", "3"]), hello_map(3, id));
    assert_eq!(raw.call(&["GET", "missing"]), "_\r\n");
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
    assert_eq!(
        raw.call(&["CONFIG", "GET", "hz"]),
        "%1\r\n$2\r\nhz\r\n$2\r\n10\r\n"
    );
    let info = raw.call(&["INFO", "keyspace"]);
    assert_eq!(info, "=16\r\ntxt:# Keyspace\r\n\r\n");
    let list = raw.call(&["CLIENT", "LIST"]);
    assert!(
        list.starts_with('=') && list.contains("\r\ntxt:id="),
        "{list}"
    );
    assert!(list.contains(" resp=3 "), "{list}");
    let info = raw.call(&["CLIENT", "INFO"]);
    let body = format!("txt:{}", &info[info.find("txt:").expect("txt") + 4..]);
    assert_eq!(info, format!("={}\r\n{body}", body.len() - 2));

    // HELLO 2 goes back.
    assert_eq!(raw.call(&["HELLO", "2"]), hello_map(2, id));
    assert_eq!(raw.call(&["GET", "missing"]), "$-1\r\n");
}

#[test]
fn hello_without_a_version_describes_the_server_in_the_current_protocol() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let id = client_id(&mut raw);
    assert_eq!(raw.call(&["HELLO"]), hello_map(2, id));
    raw.call(&["HELLO", "3"]);
    assert_eq!(raw.call(&["HELLO"]), hello_map(3, id));
}

#[test]
fn hello_errors_use_redis_texts_and_change_nothing() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let cases: &[(&[&str], &str)] = &[
        (&["HELLO", "1"], "-NOPROTO unsupported protocol version\r\n"),
        (&["HELLO", "4"], "-NOPROTO unsupported protocol version\r\n"),
        (
            &["HELLO", "three"],
            "-ERR Protocol version is not an integer or out of range\r\n",
        ),
        (
            &["HELLO", "3", "FOO"],
            "-ERR Syntax error in HELLO option 'FOO'\r\n",
        ),
        (
            &["HELLO", "3", "AUTH", "default"],
            "-ERR Syntax error in HELLO option 'AUTH'\r\n",
        ),
        (
            &["HELLO", "3", "SETNAME"],
            "-ERR Syntax error in HELLO option 'SETNAME'\r\n",
        ),
        (
            &["HELLO", "3", "AUTH", "bob", "secret"],
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
        ),
        (
            &["HELLO", "3", "SETNAME", "a b"],
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        ),
        // The name is checked while reading the options, before AUTH is tried (7.2).
        (
            &["HELLO", "3", "AUTH", "bob", "x", "SETNAME", "a\nb"],
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        ),
        // A later bad option means the name given before it is not set either.
        (
            &["HELLO", "3", "SETNAME", "early", "BOGUS"],
            "-ERR Syntax error in HELLO option 'BOGUS'\r\n",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(raw.call(args), *expected, "{args:?}");
    }
    // None of them switched the protocol or named the connection.
    assert_eq!(raw.call(&["GET", "missing"]), "$-1\r\n");
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "$-1\r\n");

    // The default user takes any password (none is configured), and SETNAME names.
    let id = client_id(&mut raw);
    assert_eq!(
        raw.call(&[
            "hello", "3", "auth", "default", "anything", "setname", "conn-1"
        ]),
        hello_map(3, id)
    );
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "$6\r\nconn-1\r\n");
}

#[test]
fn inline_commands_are_split_like_redis() {
    let node = Shoal::start();
    let out = replies(
        node.port,
        b"PING\r\nSET a b\r\nGET a\r\n\r\n\r\n   \r\nPING\n\
          SET q \"hello world\"\r\nGET q\r\n\
          ECHO \"\\x41\\tB\\n\"\r\nECHO 'it\\'s'\r\nECHO \"\"\r\n\
          echo   spaced    out\r\n",
    );
    assert_eq!(
        out,
        "+PONG\r\n+OK\r\n$1\r\nb\r\n+PONG\r\n\
         +OK\r\n$11\r\nhello world\r\n\
         $4\r\nA\tB\n\r\n$4\r\nit's\r\n$0\r\n\r\n\
         -ERR wrong number of arguments for 'echo' command\r\n"
    );
}

#[test]
fn empty_multibulk_requests_are_ignored() {
    let node = Shoal::start();
    assert_eq!(
        replies(node.port, b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n*0\r\n"),
        "+PONG\r\n"
    );
}

#[test]
fn thousands_of_pipelined_requests_are_answered_in_order() {
    let node = Shoal::start();
    const N: usize = 20_000;
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for i in 0..N {
        if i % 2 == 0 {
            input.extend_from_slice(&encode_command(&[b"INCR", b"counter"]));
            expected.extend_from_slice(format!(":{}\r\n", i / 2 + 1).as_bytes());
        } else {
            let word = format!("w{i}");
            input.extend_from_slice(format!("ECHO {word}\r\n").as_bytes());
            expected.extend_from_slice(format!("${}\r\n{word}\r\n", word.len()).as_bytes());
        }
    }
    // Write from another thread so neither side can block the other on full buffers.
    let mut stream = connect(node.port);
    let mut writer = stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || writer.write_all(&input).expect("write pipeline"));
    let mut got = vec![0u8; expected.len()];
    stream.read_exact(&mut got).expect("every reply");
    sender.join().expect("writer");
    // Compare reply by reply for a readable failure.
    let got = String::from_utf8_lossy(&got);
    let expected = String::from_utf8_lossy(&expected);
    for (i, (g, e)) in got.lines().zip(expected.lines()).enumerate() {
        assert_eq!(g, e, "line {i} of the replies");
    }
    assert_eq!(got, expected);
}

#[test]
fn a_big_value_arriving_in_small_pieces_round_trips() {
    let node = Shoal::start();
    let value: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let request = encode_command(&[b"SET", b"big", &value]);
    let mut stream = connect(node.port);
    for piece in request.chunks(70_001) {
        stream.write_all(piece).expect("write piece");
    }
    let mut ok = [0u8; 5];
    stream.read_exact(&mut ok).expect("reply");
    assert_eq!(&ok, b"+OK\r\n");
    stream
        .write_all(&encode_command(&[b"GET", b"big"]))
        .expect("write");
    let header = format!("${}\r\n", value.len());
    let mut got = vec![0u8; header.len() + value.len() + 2];
    stream.read_exact(&mut got).expect("value");
    assert_eq!(&got[..header.len()], header.as_bytes());
    assert!(got[header.len()..header.len() + value.len()] == value[..]);
}

#[test]
fn protocol_errors_get_redis_texts_then_the_connection_closes() {
    let node = Shoal::start();
    let long_inline = vec![b'a'; 70_000];
    let mut long_count = b"*".to_vec();
    long_count.extend(std::iter::repeat_n(b'1', 70_000));
    let mut long_bulk_count = b"*1\r\n$".to_vec();
    long_bulk_count.extend(std::iter::repeat_n(b'1', 70_000));
    let cases: Vec<(&[u8], &str)> = vec![
        (
            b"PING\r\n*x\r\nPING\r\n",
            "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1048577\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*+1\r\n$4\r\nPING\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"PING\r\n*1\r\n$x\r\n",
            "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*2\r\n$4\r\nECHO\r\n$-1\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$536870913\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"SET a 1\r\n*1\r\nx\r\n",
            "+OK\r\n-ERR Protocol error: expected '$', got 'x'\r\n",
        ),
        (
            b"*2\r\n$4\r\nECHO\r\n:1\r\n",
            "-ERR Protocol error: expected '$', got ':'\r\n",
        ),
        (
            b"PING\r\nSET a \"b\r\n",
            "+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"SET a \"b\"c\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            &long_inline,
            "-ERR Protocol error: too big inline request\r\n",
        ),
        (
            &long_count,
            "-ERR Protocol error: too big mbulk count string\r\n",
        ),
        (
            &long_bulk_count,
            "-ERR Protocol error: too big bulk count string\r\n",
        ),
    ];
    for (input, expected) in cases {
        let out = until_closed(node.port, input);
        assert_eq!(
            String::from_utf8_lossy(&out),
            expected,
            "{:?}",
            String::from_utf8_lossy(&input[..input.len().min(40)])
        );
    }
    // The replies before the bad request really ran.
    assert_eq!(node.raw().call(&["GET", "a"]), "$1\r\n1\r\n");
}

#[test]
fn protocol_errors_match_the_reference_server() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("note: redis-server is not installed; skipping the comparison");
        return;
    };
    let node = Shoal::start();
    let inputs: [&[u8]; 6] = [
        b"PING\r\n*x\r\n",
        b"PING\r\n*1\r\n$x\r\n",
        b"*1\r\n$536870913\r\n",
        b"ECHO a\r\n*1\r\n+x\r\n",
        b"SET a \"b\r\n",
        b"*2\r\n$4\r\nECHO\r\n$-1\r\n",
    ];
    for input in inputs {
        assert_eq!(
            String::from_utf8_lossy(&until_closed(node.port, input)),
            String::from_utf8_lossy(&until_closed(redis.port, input)),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn huge_declared_lengths_are_refused_or_waited_for_without_allocating() {
    let node = Shoal::start();
    let mut watcher = node.raw();
    let before = used_memory(&mut watcher);

    // Over the limits: refused at once.
    assert_eq!(
        until_closed(node.port, b"*1\r\n$536870913\r\n"),
        b"-ERR Protocol error: invalid bulk length\r\n"
    );
    assert_eq!(
        until_closed(node.port, b"*2000000000\r\n"),
        b"-ERR Protocol error: invalid multibulk length\r\n"
    );

    // At the limits: accepted, but only what arrives is stored.
    let mut big_bulk = connect(node.port);
    big_bulk
        .write_all(b"*2\r\n$4\r\nECHO\r\n$536870912\r\nsome bytes")
        .expect("write");
    let mut big_array = connect(node.port);
    big_array
        .write_all(b"*1048576\r\n$4\r\nECHO\r\n$1\r\nx\r\n")
        .expect("write");
    // The server stays responsive while they wait, and has not reserved their sizes.
    assert_eq!(watcher.call(&["PING"]), "+PONG\r\n");
    assert_eq!(watcher.call(&["SET", "k", "v"]), "+OK\r\n");
    let after = used_memory(&mut watcher);
    assert!(
        after - before < 32 * 1024 * 1024,
        "used_memory went from {before} to {after}"
    );
    drop(big_bulk);
    drop(big_array);
    assert_eq!(watcher.call(&["GET", "k"]), "$1\r\nv\r\n");
}

#[test]
fn a_client_streaming_past_the_query_buffer_limit_is_disconnected() {
    let node = Shoal::start();
    let mut admin = node.raw();
    assert_eq!(
        admin.call(&["CONFIG", "SET", "client-query-buffer-limit", "1mb"]),
        "+OK\r\n"
    );
    // Under the limit still works.
    let value = vec![b'v'; 600 * 1024];
    let mut ok = node.raw();
    ok.send_command(&[b"SET", b"fits", &value]);
    assert_eq!(ok.read_reply(), "+OK\r\n");

    // A 4 MB argument streamed in pieces: the server hangs up once 1 MB is buffered.
    let mut stream = connect(node.port);
    stream
        .write_all(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$4194304\r\n")
        .expect("write header");
    let piece = vec![b'x'; 64 * 1024];
    let mut refused = false;
    for _ in 0..64 {
        if stream.write_all(&piece).is_err() {
            refused = true;
            break;
        }
    }
    if !refused {
        // The writes may all have fit in socket buffers; the close must still come.
        assert_eq!(read_until_closed(&mut stream), b"");
    }
    // Nothing was stored, and others are unaffected.
    assert_eq!(admin.call(&["EXISTS", "big"]), ":0\r\n");
    assert_eq!(admin.call(&["STRLEN", "fits"]), ":614400\r\n");
    // Counted as Redis 7.4 counts it.
    let stats = admin.call(&["INFO", "stats"]);
    assert!(
        stats.contains("client_query_buffer_limit_disconnections:1\r\n"),
        "{stats}"
    );
}

#[test]
fn a_bad_client_never_affects_another() {
    let node = Shoal::start();
    let mut good = node.raw();
    assert_eq!(good.call(&["SET", "kept", "intact"]), "+OK\r\n");
    // A pipeline in flight on the good connection.
    good.send(b"INCR n\r\nINCR n\r\n");
    for bad in [
        &b"*x\r\n"[..],
        b"*1\r\n$-5\r\n",
        b"SET \"unterminated\r\n",
        b"*3\r\n$3\r\nSET\r\n$4\r\nkept\r\n$6\r\nbroken",
    ] {
        let mut stream = connect(node.port);
        stream.write_all(bad).expect("write");
        drop(stream);
    }
    assert_eq!(good.read_reply(), ":1\r\n");
    assert_eq!(good.read_reply(), ":2\r\n");
    assert_eq!(good.call(&["GET", "kept"]), "$6\r\nintact\r\n");
    assert_eq!(node.raw().call(&["GET", "kept"]), "$6\r\nintact\r\n");
}

#[test]
fn unknown_commands_and_wrong_arity_use_redis_texts() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let long = "x".repeat(200);
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["foo", "a", "b"],
            "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n".into(),
        ),
        (
            vec!["FOO"],
            "-ERR unknown command 'FOO', with args beginning with: \r\n".into(),
        ),
        (
            vec!["foo", "a\r\nb"],
            "-ERR unknown command 'foo', with args beginning with: 'a  b' \r\n".into(),
        ),
        (
            vec!["foo", &long, "next"],
            format!(
                "-ERR unknown command 'foo', with args beginning with: '{}' \r\n",
                "x".repeat(128)
            ),
        ),
        (
            vec!["GET"],
            "-ERR wrong number of arguments for 'get' command\r\n".into(),
        ),
        (
            vec!["get", "a", "b"],
            "-ERR wrong number of arguments for 'get' command\r\n".into(),
        ),
        (
            vec!["CLIENT", "SETNAME"],
            "-ERR wrong number of arguments for 'client|setname' command\r\n".into(),
        ),
        (
            vec!["config", "get"],
            "-ERR wrong number of arguments for 'config|get' command\r\n".into(),
        ),
        (
            vec!["CLIENT"],
            "-ERR wrong number of arguments for 'client' command\r\n".into(),
        ),
        (
            vec!["CLIENT", "x"],
            "-ERR unknown subcommand 'x'. Try CLIENT HELP.\r\n".into(),
        ),
        (
            vec!["config", "Bogus", "1"],
            "-ERR unknown subcommand 'Bogus'. Try CONFIG HELP.\r\n".into(),
        ),
        (
            vec!["COMMAND", "nope"],
            "-ERR unknown subcommand 'nope'. Try COMMAND HELP.\r\n".into(),
        ),
    ];
    for (args, expected) in &cases {
        assert_eq!(&raw.call(args), expected, "{args:?}");
    }
    // Errors do not end the connection.
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn command_errors_match_the_reference_server() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("note: redis-server is not installed; skipping the comparison");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.raw(), redis.raw());
    let long = "y".repeat(300);
    let cases: Vec<Vec<&str>> = vec![
        vec!["foo", "a", "b"],
        vec!["foo", &long, "b", "c"],
        vec!["GET"],
        vec!["CLIENT", "SETNAME"],
        vec!["CLIENT", "nosuch"],
        vec!["CONFIG", "nosuch"],
        vec!["PING", "a", "b"],
        vec!["SELECT", "x"],
        vec!["SELECT", "99"],
    ];
    for args in &cases {
        assert_eq!(ours.call(args), theirs.call(args), "{args:?}");
    }
}
