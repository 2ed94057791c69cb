//! Connection commands end to end: PING, ECHO, QUIT, RESET, SELECT (and databases chosen by
//! URL), and every CLIENT subcommand, with the exact replies Redis 7.2 gives, including
//! which replies `CLIENT REPLY` lets through and that `CLIENT KILL` really disconnects.

use shoal_tests::{Raw, RedisServer, Shoal, encode_command};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The fields of one `CLIENT LIST` / `CLIENT INFO` line, in order.
fn fields(line: &str) -> Vec<(String, String)> {
    line.split_whitespace()
        .map(|pair| {
            let (k, v) = pair.split_once('=').expect("key=value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The body of a bulk or verbatim reply.
fn body(reply: &str) -> String {
    let text = &reply[reply.find("\r\n").expect("header") + 2..reply.len() - 2];
    text.strip_prefix("txt:").unwrap_or(text).to_string()
}

/// `CLIENT INFO` of this connection, as a map.
fn my_info(raw: &mut Raw) -> HashMap<String, String> {
    fields(&body(&raw.call(&["CLIENT", "INFO"])))
        .into_iter()
        .collect()
}

/// `CLIENT LIST` with the given extra arguments, one field map per line.
fn client_list(raw: &mut Raw, extra: &[&str]) -> Vec<HashMap<String, String>> {
    let mut args = vec!["CLIENT", "LIST"];
    args.extend_from_slice(extra);
    body(&raw.call(&args))
        .lines()
        .map(|l| fields(l).into_iter().collect())
        .collect()
}

fn id_of(raw: &mut Raw) -> u64 {
    raw.call(&["CLIENT", "ID"])
        .trim()
        .trim_start_matches(':')
        .parse()
        .expect("id")
}

/// Whether the peer closed `raw`'s connection (end of stream, not a read timeout).
fn closed_by_peer(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => panic!("unexpected data"),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(_) => true,
    }
}

/// A plain connection plus its client id.
fn plain(node: &Shoal) -> (TcpStream, u64) {
    let mut stream = TcpStream::connect(("127.0.0.1", node.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
        .write_all(&encode_command(&[b"CLIENT", b"ID"]))
        .expect("write");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        stream.read_exact(&mut byte).expect("id reply");
        line.push(byte[0]);
    }
    let id = String::from_utf8_lossy(&line[1..line.len() - 2])
        .parse()
        .expect("id");
    (stream, id)
}

#[test]
fn ping_and_echo_answer_like_redis() {
    let node = Shoal::start();
    let mut raw = node.raw();
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
    assert_eq!(raw.call(&["ping", "hello there"]), "$11\r\nhello there\r\n");
    assert_eq!(
        raw.call(&["PING", "a", "b"]),
        "-ERR wrong number of arguments for 'ping' command\r\n"
    );
    raw.send_command(&[b"ECHO", b"bin\0\r\nary"]);
    assert_eq!(raw.read_reply(), "$9\r\nbin\0\r\nary\r\n");
    assert_eq!(raw.call(&["ECHO", ""]), "$0\r\n\r\n");
    assert_eq!(
        raw.call(&["ECHO"]),
        "-ERR wrong number of arguments for 'echo' command\r\n"
    );
    assert_eq!(
        raw.call(&["ECHO", "a", "b"]),
        "-ERR wrong number of arguments for 'echo' command\r\n"
    );
    raw.call(&["HELLO", "3"]);
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
    assert_eq!(raw.call(&["PING", "x"]), "$1\r\nx\r\n");
}

#[test]
fn quit_replies_ok_then_closes_and_ignores_what_follows() {
    let node = Shoal::start();
    for quit in [
        &b"QUIT\r\nSET after 1\r\n"[..],
        b"quit now please\r\nPING\r\n",
    ] {
        let mut raw = node.raw();
        raw.send(quit);
        assert_eq!(raw.read_to_close(Duration::from_secs(10)), b"+OK\r\n");
    }
    assert_eq!(node.raw().call(&["EXISTS", "after"]), ":0\r\n");
}

#[test]
fn reset_restores_a_fresh_connection_but_keeps_the_library_info() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let id = id_of(&mut raw);
    raw.call(&["SELECT", "3"]);
    raw.call(&["CLIENT", "SETNAME", "named"]);
    raw.call(&["CLIENT", "SETINFO", "LIB-NAME", "mylib"]);
    raw.call(&["CLIENT", "NO-EVICT", "on"]);
    raw.call(&["CLIENT", "NO-TOUCH", "on"]);
    raw.call(&["HELLO", "3"]);
    raw.send(b"CLIENT REPLY OFF\r\n");
    assert_eq!(raw.call(&["RESET"]), "+RESET\r\n");
    let info = my_info(&mut raw);
    assert_eq!(info["id"], id.to_string(), "same connection");
    assert_eq!(info["db"], "0");
    assert_eq!(info["name"], "");
    assert_eq!(info["flags"], "N");
    assert_eq!(info["resp"], "2");
    assert_eq!(info["lib-name"], "mylib");
    assert_eq!(raw.call(&["GET", "nothing"]), "$-1\r\n");
    assert_eq!(
        raw.call(&["RESET", "x"]),
        "-ERR wrong number of arguments for 'reset' command\r\n"
    );
}

#[test]
fn select_switches_databases_and_refuses_bad_indexes() {
    let node = Shoal::start();
    let mut raw = node.raw();
    assert_eq!(raw.call(&["SET", "k", "zero"]), "+OK\r\n");
    assert_eq!(raw.call(&["SELECT", "15"]), "+OK\r\n");
    assert_eq!(raw.call(&["GET", "k"]), "$-1\r\n");
    assert_eq!(raw.call(&["SET", "k", "fifteen"]), "+OK\r\n");
    assert_eq!(my_info(&mut raw)["db"], "15");
    for (index, error) in [
        ("16", "-ERR DB index is out of range\r\n"),
        ("-1", "-ERR DB index is out of range\r\n"),
        ("x", "-ERR value is not an integer or out of range\r\n"),
        ("1.5", "-ERR value is not an integer or out of range\r\n"),
        (
            "99999999999999999999",
            "-ERR value is not an integer or out of range\r\n",
        ),
    ] {
        assert_eq!(raw.call(&["SELECT", index]), error, "SELECT {index}");
    }
    // A refused SELECT leaves the database as it was.
    assert_eq!(raw.call(&["GET", "k"]), "$7\r\nfifteen\r\n");
    assert_eq!(raw.call(&["SELECT", "0"]), "+OK\r\n");
    assert_eq!(raw.call(&["GET", "k"]), "$4\r\nzero\r\n");
}

#[test]
fn a_database_in_the_url_is_selected_by_the_redis_crate() {
    let node = Shoal::start();
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/2", node.port)).expect("url");
    let mut conn = client.get_connection().expect("connect");
    let _: () = redis::cmd("SET")
        .arg("where")
        .arg("two")
        .query(&mut conn)
        .expect("set");
    let info: String = redis::cmd("CLIENT")
        .arg("INFO")
        .query(&mut conn)
        .expect("client info");
    assert!(info.contains(" db=2 "), "{info}");
    // The crate announced itself with CLIENT SETINFO.
    assert!(info.contains(" lib-name=redis-rs "), "{info}");
    let mut raw = node.raw();
    assert_eq!(raw.call(&["GET", "where"]), "$-1\r\n");
    raw.call(&["SELECT", "2"]);
    assert_eq!(raw.call(&["GET", "where"]), "$3\r\ntwo\r\n");
}

#[test]
fn client_id_is_unique_and_matches_list_and_hello() {
    let node = Shoal::start();
    let mut a = node.raw();
    let mut b = node.raw();
    let (ida, idb) = (id_of(&mut a), id_of(&mut b));
    assert!(idb > ida, "ids grow: {ida} then {idb}");
    assert_eq!(my_info(&mut a)["id"], ida.to_string());
    let hello = a.call(&["HELLO"]);
    assert!(
        hello.contains(&format!("$2\r\nid\r\n:{ida}\r\n")),
        "{hello}"
    );
    let listed: Vec<String> = client_list(&mut a, &[])
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert!(listed.contains(&ida.to_string()) && listed.contains(&idb.to_string()));
    assert_eq!(
        a.call(&["CLIENT", "ID", "x"]),
        "-ERR wrong number of arguments for 'client|id' command\r\n"
    );
}

#[test]
fn client_setname_and_getname_follow_redis_rules() {
    let node = Shoal::start();
    let mut raw = node.raw();
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(raw.call(&["CLIENT", "SETNAME", "worker-1"]), "+OK\r\n");
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "$8\r\nworker-1\r\n");
    assert_eq!(my_info(&mut raw)["name"], "worker-1");
    for bad in ["has space", "new\nline", "tab\t", "caf\u{e9}"] {
        assert_eq!(
            raw.call(&["CLIENT", "SETNAME", bad]),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
            "{bad:?}"
        );
    }
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "$8\r\nworker-1\r\n");
    // An empty name removes it.
    assert_eq!(raw.call(&["CLIENT", "SETNAME", ""]), "+OK\r\n");
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "$-1\r\n");
    raw.call(&["HELLO", "3"]);
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "_\r\n");
}

#[test]
fn client_list_and_info_show_redis_7_4_fields() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["CLIENT", "SETNAME", "lister"]);
    raw.call(&["CLIENT", "SETINFO", "lib-name", "shoal-tests"]);
    raw.call(&["CLIENT", "SETINFO", "lib-ver", "1.2.3"]);
    raw.call(&["SELECT", "4"]);
    let names = [
        "id",
        "addr",
        "laddr",
        "fd",
        "name",
        "age",
        "idle",
        "flags",
        "db",
        "sub",
        "psub",
        "ssub",
        "multi",
        "watch",
        "qbuf",
        "qbuf-free",
        "argv-mem",
        "multi-mem",
        "rbs",
        "rbp",
        "obl",
        "oll",
        "omem",
        "tot-mem",
        "events",
        "cmd",
        "user",
        "redir",
        "resp",
        "lib-name",
        "lib-ver",
    ];
    let line = body(&raw.call(&["CLIENT", "INFO"]));
    assert!(
        line.ends_with('\n') && line.lines().count() == 1,
        "{line:?}"
    );
    let info = fields(&line);
    assert_eq!(
        info.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        names
    );
    let info: HashMap<_, _> = info.into_iter().collect();
    assert_eq!(info["name"], "lister");
    assert_eq!(info["db"], "4");
    assert_eq!(info["cmd"], "client|info");
    assert_eq!(info["user"], "default");
    assert_eq!(info["multi"], "-1");
    assert_eq!(info["resp"], "2");
    assert_eq!(info["lib-name"], "shoal-tests");
    assert_eq!(info["lib-ver"], "1.2.3");
    assert_eq!(info["laddr"], format!("127.0.0.1:{}", node.port));
    assert!(info["addr"].starts_with("127.0.0.1:"));

    let mut other = node.raw();
    other.call(&["PING"]);
    let all = client_list(&mut raw, &[]);
    assert_eq!(all.len(), 2);
    let me = all.iter().find(|c| c["id"] == info["id"]).expect("listed");
    assert_eq!(me["cmd"], "client|list");
    assert_eq!(me["name"], "lister");
    assert_eq!(me["watch"], "0");
}

/// INFO's counters of a server's state (Redis 7.4: `pubsub_clients`, `watching_clients`,
/// `total_watched_keys`) and CLIENT LIST's `watch`.
#[test]
fn info_counts_subscribers_and_watchers_as_redis_7_4() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let clients = |raw: &mut Raw| -> HashMap<String, String> {
        let text = body(&raw.call(&["INFO", "clients"]));
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect()
    };
    let zero = clients(&mut raw);
    for field in ["pubsub_clients", "watching_clients", "total_watched_keys"] {
        assert_eq!(zero[field], "0", "{field}");
    }
    let (mut a, mut b, mut sub) = (node.raw(), node.raw(), node.raw());
    assert_eq!(a.call(&["WATCH", "k1", "k2", "k1"]), "+OK\r\n");
    assert_eq!(b.call(&["WATCH", "k2", "k3"]), "+OK\r\n");
    sub.call(&["SUBSCRIBE", "ch"]);
    let now = clients(&mut raw);
    assert_eq!(now["watching_clients"], "2");
    // Distinct keys: k1, k2, k3.
    assert_eq!(now["total_watched_keys"], "3");
    assert_eq!(now["pubsub_clients"], "1");
    let a_id = a.call(&["CLIENT", "ID"]);
    let a_id = a_id.trim_start_matches(':').trim();
    let listed = client_list(&mut raw, &["ID", a_id]);
    assert_eq!(listed[0]["watch"], "2");
    // EXEC, DISCARD, UNWATCH and RESET forget the watches.
    a.call(&["MULTI"]);
    a.call(&["EXEC"]);
    assert_eq!(b.call(&["UNWATCH"]), "+OK\r\n");
    let after = clients(&mut raw);
    assert_eq!(after["watching_clients"], "0");
    assert_eq!(after["total_watched_keys"], "0");
    b.call(&["WATCH", "x"]);
    b.call(&["RESET"]);
    assert_eq!(clients(&mut raw)["watching_clients"], "0");
}

#[test]
fn client_list_filters_by_type_and_id_as_redis_does() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let mut other = node.raw();
    let (me, them) = (id_of(&mut raw), id_of(&mut other));
    assert_eq!(client_list(&mut raw, &["TYPE", "normal"]).len(), 2);
    for kind in ["pubsub", "MASTER", "replica", "slave"] {
        assert_eq!(raw.call(&["CLIENT", "LIST", "TYPE", kind]), "$0\r\n\r\n");
    }
    assert_eq!(
        raw.call(&["CLIENT", "LIST", "TYPE", "bogus"]),
        "-ERR Unknown client type 'bogus'\r\n"
    );
    // IDs come back in the order asked, unknown ones (even 0 or negative) skipped.
    let ids: Vec<String> = client_list(
        &mut raw,
        &["ID", &them.to_string(), "0", "-4", "9999", &me.to_string()],
    )
    .iter()
    .map(|c| c["id"].clone())
    .collect();
    assert_eq!(ids, vec![them.to_string(), me.to_string()]);
    let errors: [(&[&str], &str); 5] = [
        (&["ID", "1", "x"], "-ERR Invalid client ID\r\n"),
        (&["ID"], "-ERR syntax error\r\n"),
        (&["TYPE"], "-ERR syntax error\r\n"),
        (&["TYPE", "normal", "ID", "1"], "-ERR syntax error\r\n"),
        (&["bogus", "x"], "-ERR syntax error\r\n"),
    ];
    for (extra, expected) in errors {
        let mut args = vec!["CLIENT", "LIST"];
        args.extend_from_slice(extra);
        assert_eq!(raw.call(&args), expected, "{extra:?}");
    }
}

#[test]
fn client_kill_by_address_disconnects_the_client() {
    let node = Shoal::start();
    let mut admin = node.raw();
    let (mut victim, id) = plain(&node);
    let addr = victim.local_addr().expect("addr").to_string();
    assert_eq!(admin.call(&["CLIENT", "KILL", &addr]), "+OK\r\n");
    // Gone at once, as in Redis, even before its connection has finished closing.
    assert!(
        !client_list(&mut admin, &[])
            .iter()
            .any(|c| c["id"] == id.to_string())
    );
    assert!(closed_by_peer(&mut victim));
    assert_eq!(
        admin.call(&["CLIENT", "KILL", &addr]),
        "-ERR No such client\r\n"
    );
    assert_eq!(
        admin.call(&["CLIENT", "KILL", "ID"]),
        "-ERR No such client\r\n"
    );
    // The old form may kill the caller itself: the reply comes, then the close.
    let mut me = node.raw();
    let own = my_info(&mut me)["addr"].clone();
    me.send_command(&[b"CLIENT", b"KILL", own.as_bytes()]);
    assert_eq!(me.read_to_close(Duration::from_secs(10)), b"+OK\r\n");
}

#[test]
fn client_kill_filters_select_the_right_clients() {
    let node = Shoal::start();
    let mut admin = node.raw();
    let admin_id = id_of(&mut admin);

    // ID
    let (mut a, a_id) = plain(&node);
    let (mut b, _) = plain(&node);
    assert_eq!(
        admin.call(&["CLIENT", "KILL", "ID", &a_id.to_string()]),
        ":1\r\n"
    );
    assert!(closed_by_peer(&mut a));
    assert_eq!(
        admin.call(&["CLIENT", "KILL", "ID", &a_id.to_string()]),
        ":0\r\n"
    );

    // ADDR, and filters combine: a matching address with another id kills nobody.
    let b_addr = b.local_addr().expect("addr").to_string();
    assert_eq!(
        admin.call(&["CLIENT", "KILL", "ADDR", &b_addr, "ID", "999999"]),
        ":0\r\n"
    );
    assert_eq!(admin.call(&["CLIENT", "KILL", "addr", &b_addr]), ":1\r\n");
    assert!(closed_by_peer(&mut b));

    // LADDR, TYPE and USER match every other client; SKIPME (default yes) spares the caller.
    for filter in [
        vec!["LADDR".to_string(), format!("127.0.0.1:{}", node.port)],
        vec!["TYPE".into(), "normal".into()],
        vec!["USER".into(), "default".into()],
    ] {
        let (mut c, _) = plain(&node);
        let (mut d, _) = plain(&node);
        let mut args = vec!["CLIENT", "KILL"];
        args.extend(filter.iter().map(String::as_str));
        assert_eq!(admin.call(&args), ":2\r\n", "{filter:?}");
        assert!(
            closed_by_peer(&mut c) && closed_by_peer(&mut d),
            "{filter:?}"
        );
    }
    let (mut e, _) = plain(&node);
    assert_eq!(admin.call(&["CLIENT", "KILL", "TYPE", "pubsub"]), ":0\r\n");
    assert_eq!(
        admin.call(&["CLIENT", "KILL", "LADDR", "10.0.0.1:1"]),
        ":0\r\n"
    );
    assert!(!closed_by_peer_quickly(&mut e));
    assert_eq!(my_info(&mut admin)["id"], admin_id.to_string());

    // SKIPME no: the caller gets its count, then is closed too.
    admin.send_command(&[b"CLIENT", b"KILL", b"USER", b"default", b"SKIPME", b"no"]);
    assert_eq!(admin.read_to_close(Duration::from_secs(10)), b":2\r\n");
    assert!(closed_by_peer(&mut e));
}

/// Like `closed_by_peer`, but gives up after half a second (for "still open" checks).
fn closed_by_peer_quickly(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => panic!("unexpected data"),
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

#[test]
fn client_kill_maxage_kills_only_clients_old_enough() {
    let node = Shoal::start();
    let mut admin = node.raw();
    let (mut old, _) = plain(&node);
    assert_eq!(
        admin.call(&["CLIENT", "KILL", "MAXAGE", "100000"]),
        ":0\r\n"
    );
    std::thread::sleep(Duration::from_millis(2200));
    let (mut young, _) = plain(&node);
    assert_eq!(admin.call(&["CLIENT", "KILL", "MAXAGE", "2"]), ":1\r\n");
    assert!(closed_by_peer(&mut old));
    assert!(!closed_by_peer_quickly(&mut young));
}

#[test]
fn client_kill_errors_use_redis_texts() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let cases: [(&[&str], &str); 12] = [
        (&["ID", "0"], "-ERR client-id should be greater than 0\r\n"),
        (&["ID", "-3"], "-ERR client-id should be greater than 0\r\n"),
        (&["ID", "x"], "-ERR client-id should be greater than 0\r\n"),
        (&["TYPE", "bogus"], "-ERR Unknown client type 'bogus'\r\n"),
        (&["USER", "bob"], "-ERR No such user 'bob'\r\n"),
        (&["SKIPME", "maybe"], "-ERR syntax error\r\n"),
        (&["BOGUS", "x"], "-ERR syntax error\r\n"),
        (&["ID", "1", "TYPE"], "-ERR syntax error\r\n"),
        (
            &["MAXAGE", "x"],
            "-ERR maxage is not an integer or out of range\r\n",
        ),
        (&["MAXAGE", "0"], "-ERR maxage should be greater than 0\r\n"),
        (
            &["MAXAGE", "-5"],
            "-ERR maxage should be greater than 0\r\n",
        ),
        (&["1.2.3.4:5"], "-ERR No such client\r\n"),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["CLIENT", "KILL"];
        args.extend_from_slice(extra);
        assert_eq!(raw.call(&args), expected, "{extra:?}");
    }
    assert_eq!(
        raw.call(&["CLIENT", "KILL"]),
        "-ERR wrong number of arguments for 'client|kill' command\r\n"
    );
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn client_setinfo_records_the_library_and_checks_it() {
    let node = Shoal::start();
    let mut raw = node.raw();
    assert_eq!(
        raw.call(&["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]),
        "+OK\r\n"
    );
    assert_eq!(
        raw.call(&["CLIENT", "SETINFO", "lib-ver", "5.0.1"]),
        "+OK\r\n"
    );
    let info = my_info(&mut raw);
    assert_eq!(
        (&*info["lib-name"], &*info["lib-ver"]),
        ("redis-py", "5.0.1")
    );
    assert_eq!(
        raw.call(&["CLIENT", "SETINFO", "LIB-NAME", "with space"]),
        "-ERR LIB-NAME cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        raw.call(&["CLIENT", "SETINFO", "lib-ver", "1\n2"]),
        "-ERR lib-ver cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        raw.call(&["CLIENT", "SETINFO", "colour", "blue"]),
        "-ERR Unrecognized option 'colour'\r\n"
    );
    assert_eq!(
        raw.call(&["CLIENT", "SETINFO", "lib-name"]),
        "-ERR wrong number of arguments for 'client|setinfo' command\r\n"
    );
    // An empty value clears the field.
    assert_eq!(raw.call(&["CLIENT", "SETINFO", "lib-ver", ""]), "+OK\r\n");
    let info = my_info(&mut raw);
    assert_eq!((&*info["lib-name"], &*info["lib-ver"]), ("redis-py", ""));
}

#[test]
fn client_no_evict_and_no_touch_show_as_flags() {
    let node = Shoal::start();
    let mut raw = node.raw();
    assert_eq!(raw.call(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    assert_eq!(my_info(&mut raw)["flags"], "e");
    assert_eq!(raw.call(&["CLIENT", "NO-TOUCH", "ON"]), "+OK\r\n");
    assert_eq!(my_info(&mut raw)["flags"], "eT");
    assert_eq!(raw.call(&["CLIENT", "NO-EVICT", "off"]), "+OK\r\n");
    assert_eq!(my_info(&mut raw)["flags"], "T");
    assert_eq!(raw.call(&["CLIENT", "NO-TOUCH", "Off"]), "+OK\r\n");
    assert_eq!(my_info(&mut raw)["flags"], "N");
    for sub in ["NO-EVICT", "NO-TOUCH"] {
        assert_eq!(raw.call(&["CLIENT", sub, "maybe"]), "-ERR syntax error\r\n");
    }
}

fn idletime(raw: &mut Raw, key: &str) -> u64 {
    raw.call(&["OBJECT", "IDLETIME", key])
        .trim()
        .trim_start_matches(':')
        .parse()
        .expect("idletime")
}

#[test]
fn a_no_touch_client_reads_without_changing_idle_time_but_touch_still_does() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["SET", "k", "v"]);
    raw.call(&["SET", "other", "v"]);
    assert_eq!(raw.call(&["CLIENT", "NO-TOUCH", "on"]), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(raw.call(&["GET", "k"]), "$1\r\nv\r\n");
    assert!(idletime(&mut raw, "k") >= 2, "GET under NO-TOUCH touched k");
    assert_eq!(raw.call(&["TOUCH", "k"]), ":1\r\n");
    assert!(idletime(&mut raw, "k") <= 1, "TOUCH must update k");
    // Back to normal: reads touch again.
    assert!(idletime(&mut raw, "other") >= 2);
    raw.call(&["CLIENT", "NO-TOUCH", "off"]);
    raw.call(&["GET", "other"]);
    assert!(idletime(&mut raw, "other") <= 1);
}

#[test]
fn client_reply_lets_through_exactly_the_replies_redis_sends() {
    let node = Shoal::start();
    let cases: [(&[u8], &str); 9] = [
        (b"CLIENT REPLY ON\r\n", "+OK\r\n"),
        (
            b"CLIENT REPLY OFF\r\nPING\r\nSET a 1\r\nCLIENT REPLY ON\r\nECHO b\r\n",
            "+OK\r\n$1\r\nb\r\n",
        ),
        (b"CLIENT REPLY SKIP\r\nPING\r\nECHO b\r\n", "$1\r\nb\r\n"),
        // Errors are skipped too.
        (b"CLIENT REPLY SKIP\r\nNOSUCH\r\nECHO c\r\n", "$1\r\nc\r\n"),
        // SKIP twice: the second SKIP is the skipped command and skips the next again.
        (
            b"CLIENT REPLY SKIP\r\nCLIENT REPLY SKIP\r\nECHO 1\r\nECHO 2\r\n",
            "$1\r\n2\r\n",
        ),
        // ON is answered even when it is the skipped command.
        (
            b"CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nPING\r\n",
            "+OK\r\n+PONG\r\n",
        ),
        // SKIP while OFF changes nothing.
        (
            b"CLIENT REPLY OFF\r\nCLIENT REPLY SKIP\r\nPING\r\nCLIENT REPLY ON\r\nPING\r\n",
            "+OK\r\n+PONG\r\n",
        ),
        // RESET turns replies back on; a RESET that is skipped stays silent.
        (
            b"CLIENT REPLY OFF\r\nRESET\r\nECHO d\r\n",
            "+RESET\r\n$1\r\nd\r\n",
        ),
        (b"CLIENT REPLY SKIP\r\nRESET\r\nECHO e\r\n", "$1\r\ne\r\n"),
    ];
    for (input, expected) in cases {
        let mut raw = node.raw();
        raw.send(input);
        // A final PING marks the end of what the server had to say.
        raw.send(b"PING\r\n");
        let mut got = String::new();
        while !got.ends_with("+PONG\r\n") || got.len() < expected.len() + 7 {
            got.push_str(&raw.read_reply());
        }
        assert_eq!(
            got,
            format!("{expected}+PONG\r\n"),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    // Everything ran even when its reply was dropped.
    assert_eq!(node.raw().call(&["GET", "a"]), "$1\r\n1\r\n");
    let mut raw = node.raw();
    assert_eq!(
        raw.call(&["CLIENT", "REPLY", "sometimes"]),
        "-ERR syntax error\r\n"
    );
    // With replies off, even a protocol error is silent; the connection still closes.
    raw.send(b"CLIENT REPLY OFF\r\n*x\r\n");
    assert_eq!(raw.read_to_close(Duration::from_secs(10)), b"");
}

#[test]
fn client_reply_matches_the_reference_server() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("note: redis-server is not installed; skipping the comparison");
        return;
    };
    let node = Shoal::start();
    let input: &[u8] = b"CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nCLIENT REPLY SKIP\r\nCLIENT REPLY SKIP\r\nECHO 1\r\nECHO 2\r\nCLIENT REPLY OFF\r\nRESET\r\nCLIENT REPLY SKIP\r\nRESET\r\nCLIENT REPLY OFF\r\nECHO 3\r\nCLIENT REPLY ON\r\n";
    let mut outputs = Vec::new();
    for port in [node.port, redis.port] {
        let mut raw = Raw::connect(port);
        raw.send(input);
        raw.send(b"ECHO end\r\n");
        let mut got = String::new();
        while !got.ends_with("$3\r\nend\r\n") {
            got.push_str(&raw.read_reply());
        }
        outputs.push(got);
    }
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn client_help_lists_every_subcommand_in_redis_help_format() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let help = raw.call(&["CLIENT", "HELP"]);
    let lines: Vec<&str> = help.lines().collect();
    let count: usize = lines[0].trim_start_matches('*').parse().expect("array");
    assert_eq!(count, lines.len() - 1);
    assert_eq!(
        lines[1],
        "+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert!(lines[1..].iter().all(|l| l.starts_with('+')), "{help}");
    for sub in [
        "GETNAME", "ID", "INFO", "KILL", "LIST", "REPLY", "SETNAME", "SETINFO", "NO-EVICT",
        "NO-TOUCH",
    ] {
        assert!(
            lines.iter().any(|l| l[1..].starts_with(sub)),
            "{sub} missing from CLIENT HELP"
        );
    }
    assert_eq!(
        &lines[lines.len() - 2..],
        ["+HELP", "+    Prints this help."]
    );
    assert_eq!(
        raw.call(&["CLIENT", "HELP", "extra"]),
        "-ERR wrong number of arguments for 'client|help' command\r\n"
    );
}
