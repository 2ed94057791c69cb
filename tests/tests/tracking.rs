//! Client-side caching on one node (`CLIENT TRACKING`, issue 15): replies, error texts and
//! invalidation frames byte for byte as a live redis-server's, for the same sequence of
//! commands on several connections; then what cannot be compared step by step (the table's
//! limit, eviction, INFO). Real `shoal` and `redis-server` processes, raw RESP connections.

use shoal_tests::{Raw, RedisServer, Shoal};
use std::time::Duration;

/// One step of a script run on every server alike.
enum Step {
    /// Connection `n` sends the command (`{idK}` stands for connection K's client id) and
    /// reads one reply, which is compared.
    Call(usize, &'static str),
    /// Like `Call`, but the reply differs between servers by design (HELLO): not compared.
    Quiet(usize, &'static str),
    /// Connection `n` reads one more frame (a push or message), which is compared.
    Read(usize),
    /// Connection `n` closes.
    Close(usize),
    /// Time passes.
    Sleep(u64),
}

use Step::*;

const CONNECTIONS: usize = 8;

/// Runs `script` against `port` and returns the transcript (client ids replaced by
/// `<idK>`).
fn transcript(port: u16, script: &[Step]) -> Vec<String> {
    let mut conns: Vec<Option<Raw>> = (0..CONNECTIONS).map(|_| Some(Raw::connect(port))).collect();
    let ids: Vec<i64> = conns
        .iter_mut()
        .map(|c| {
            let reply = c.as_mut().expect("open").call(&["CLIENT", "ID"]);
            reply[1..].trim_end().parse().expect("an id")
        })
        .collect();
    let normalise = |mut text: String| {
        for (k, id) in ids.iter().enumerate() {
            text = text.replace(&format!(":{id}\r\n"), &format!(":<id{k}>\r\n"));
        }
        text
    };
    let mut out = Vec::new();
    for step in script {
        if let Call(n, c) | Quiet(n, c) = step {
            eprintln!("{port}: {n} {c}");
        }
        match step {
            Call(n, command) | Quiet(n, command) => {
                let mut line = command.to_string();
                for (k, id) in ids.iter().enumerate() {
                    line = line.replace(&format!("{{id{k}}}"), &id.to_string());
                }
                let args: Vec<&str> = line.split(' ').collect();
                let conn = conns[*n].as_mut().expect("an open connection");
                let reply = conn.call(&args);
                if matches!(step, Call(..)) {
                    // Only CLIENT replies carry client ids.
                    let reply = if command.starts_with("CLIENT") {
                        normalise(reply)
                    } else {
                        reply
                    };
                    out.push(format!("{n} {command} -> {reply}"));
                }
            }
            Read(n) => {
                let conn = conns[*n].as_mut().expect("an open connection");
                let frame = conn.read_reply();
                let frame = if frame.contains("tracking-redir-broken") {
                    normalise(frame)
                } else {
                    frame
                };
                out.push(format!("{n} <- {frame}"));
            }
            Close(n) => conns[*n] = None,
            Sleep(ms) => std::thread::sleep(Duration::from_millis(*ms)),
        }
    }
    out
}

/// Runs `script` on Shoal and on redis-server and compares them line by line (on Shoal
/// alone where redis-server is missing, outside CI).
fn same_as_redis(script: &[Step]) -> Vec<String> {
    let shoal = Shoal::start();
    let ours = transcript(shoal.port, script);
    if let Some(redis) = RedisServer::start() {
        let theirs = transcript(redis.port, script);
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(a, b, "Shoal vs redis-server");
        }
        assert_eq!(ours.len(), theirs.len());
    }
    ours
}

#[test]
fn tracking_options_are_checked_with_redis_texts() {
    same_as_redis(&[
        Call(0, "CLIENT TRACKING ON PREFIX a"),
        Call(0, "CLIENT TRACKING ON OPTIN OPTOUT"),
        Call(0, "CLIENT TRACKING ON BCAST OPTIN"),
        Call(0, "CLIENT TRACKING ON REDIRECT 99999"),
        Call(0, "CLIENT TRACKING ON REDIRECT abc"),
        Call(0, "CLIENT TRACKING ON REDIRECT {id1} REDIRECT {id2}"),
        Call(0, "CLIENT TRACKING ON FOO"),
        Call(0, "CLIENT TRACKING MAYBE"),
        Call(0, "CLIENT TRACKING ON REDIRECT"),
        Call(0, "CLIENT TRACKING"),
        Call(0, "CLIENT TRACKING ON BCAST PREFIX a PREFIX ab"),
        Call(0, "CLIENT CACHING YES"),
        Call(0, "CLIENT GETREDIR"),
        Call(0, "CLIENT TRACKINGINFO"),
        Call(0, "CLIENT TRACKING ON OPTIN"),
        Call(0, "CLIENT CACHING NO"),
        Call(0, "CLIENT CACHING MAYBE"),
        Call(0, "CLIENT TRACKING ON OPTOUT"),
        Call(0, "CLIENT TRACKING ON BCAST"),
        Call(0, "CLIENT CACHING YES"),
        Call(0, "CLIENT TRACKINGINFO"),
        Call(0, "CLIENT TRACKING OFF"),
        Call(0, "CLIENT TRACKINGINFO"),
        Call(1, "CLIENT TRACKING ON BCAST PREFIX ab"),
        Call(1, "CLIENT TRACKING ON BCAST PREFIX a"),
        Call(1, "CLIENT TRACKING ON BCAST PREFIX abc"),
        Call(1, "CLIENT TRACKING ON BCAST PREFIX b PREFIX x"),
        Call(1, "CLIENT TRACKINGINFO"),
        Call(1, "CLIENT TRACKING ON"),
        Call(2, "CLIENT TRACKING ON REDIRECT {id3} NOLOOP OPTOUT"),
        Call(2, "CLIENT GETREDIR"),
        Call(2, "CLIENT CACHING NO"),
        Call(2, "CLIENT TRACKINGINFO"),
        Call(2, "PING"),
        Call(2, "CLIENT TRACKINGINFO"),
        // The connection keeps working after every refusal.
        Call(0, "SET k v"),
        Call(0, "GET k"),
    ]);
}

#[test]
fn resp3_clients_get_invalidate_pushes_for_keys_they_read() {
    let lines = same_as_redis(&[
        Quiet(0, "HELLO 3"),
        Call(0, "CLIENT TRACKING ON"),
        Call(0, "GET k"),
        Call(1, "SET k 1"),
        Read(0),
        // Told once, until it reads the key again.
        Call(1, "SET k 2"),
        Call(0, "GET k"),
        Call(1, "APPEND k 3"),
        Read(0),
        // Its own write invalidates too, after the reply.
        Call(0, "MGET a b c"),
        Call(0, "SET a 1"),
        Read(0),
        Call(1, "DEL b c"),
        Call(1, "MSET b 1 c 2"),
        Read(0),
        Read(0),
        // Every kind of change: a collection, an expiry set, a rename.
        Call(0, "LRANGE l 0 -1"),
        Call(0, "HGET h f"),
        Call(0, "EXISTS e"),
        Call(1, "RPUSH l x"),
        Read(0),
        Call(1, "HSET h f v"),
        Read(0),
        Call(1, "SET e v"),
        Read(0),
        Call(0, "GET e"),
        Call(1, "RENAME e e2"),
        Read(0),
        Call(0, "PING"),
        // FLUSHALL invalidates everything at once (a null).
        Call(0, "GET k"),
        Call(1, "FLUSHALL"),
        Read(0),
        Call(1, "SET k 9"),
        Call(0, "PING"),
    ]);
    assert!(
        lines.contains(&"0 <- >2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n".to_string()),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"0 <- >2\r\n$10\r\ninvalidate\r\n_\r\n".to_string()),
        "{lines:#?}"
    );
}

#[test]
fn expiry_invalidates_a_tracked_key() {
    same_as_redis(&[
        Quiet(0, "HELLO 3"),
        Call(0, "CLIENT TRACKING ON"),
        Call(1, "SET e v PX 100"),
        Call(0, "GET e"),
        Sleep(300),
        // Expired by the active cycle or by this lookup: either way the reader is told.
        Call(1, "EXISTS e"),
        Read(0),
        Call(0, "PING"),
    ]);
}

#[test]
fn resp2_clients_hear_through_a_redirect_subscribed_to_the_invalidate_channel() {
    let lines = same_as_redis(&[
        Call(2, "SUBSCRIBE __redis__:invalidate"),
        Call(0, "CLIENT TRACKING ON REDIRECT {id2}"),
        Call(0, "CLIENT GETREDIR"),
        Call(0, "GET r"),
        Call(1, "SET r 1"),
        Read(2),
        Call(0, "GET r"),
        Call(1, "FLUSHDB"),
        Read(2),
        // A RESP2 client without a redirect gets nothing (it cannot take pushes).
        Call(3, "CLIENT TRACKING ON"),
        Call(3, "GET q"),
        Call(1, "SET q 1"),
        Call(3, "PING"),
        // A RESP3 redirect target gets pushes without subscribing.
        Quiet(4, "HELLO 3"),
        Call(5, "CLIENT TRACKING ON REDIRECT {id4}"),
        Call(5, "GET p"),
        Call(1, "SET p 1"),
        Read(4),
        // The redirect target leaves: the redirect is broken, which a RESP3 tracker hears.
        Quiet(6, "HELLO 3"),
        Call(6, "CLIENT TRACKING ON REDIRECT {id7}"),
        Call(6, "GET b"),
        Close(7),
        Sleep(100),
        Call(1, "SET b 1"),
        Read(6),
        Call(6, "CLIENT TRACKINGINFO"),
    ]);
    assert!(
        lines
            .iter()
            .any(|l| l
                == "2 <- *3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nr\r\n"),
        "{lines:#?}"
    );
}

#[test]
fn bcast_noloop_optin_and_optout_behave_as_in_redis() {
    same_as_redis(&[
        // BCAST: every change under the prefixes, one message per prefix, keys in order.
        Quiet(0, "HELLO 3"),
        Call(0, "CLIENT TRACKING ON BCAST PREFIX user: PREFIX acct:"),
        Call(1, "MSET user:1 a other b acct:9 c user:0 d"),
        Read(0),
        Read(0),
        Call(1, "SET other 2"),
        Call(0, "PING"),
        // BCAST without a prefix: every key.
        Quiet(2, "HELLO 3"),
        Call(2, "CLIENT TRACKING ON BCAST NOLOOP"),
        Call(1, "SET z 1"),
        Read(2),
        // NOLOOP: its own writes are not echoed.
        Call(2, "SET y 1"),
        Call(2, "PING"),
        Call(1, "MSET y 2 x 3"),
        Read(2),
        // Default mode with NOLOOP.
        Quiet(3, "HELLO 3"),
        Call(3, "CLIENT TRACKING ON NOLOOP"),
        Call(3, "GET n"),
        Call(3, "SET n 1"),
        Call(3, "PING"),
        Call(3, "GET n"),
        Call(1, "SET n 2"),
        Read(3),
        // OPTIN: only reads after CLIENT CACHING YES are tracked.
        Quiet(4, "HELLO 3"),
        Call(4, "CLIENT TRACKING ON OPTIN"),
        Call(4, "GET o1"),
        Call(4, "CLIENT CACHING YES"),
        Call(4, "GET o2"),
        Call(4, "GET o3"),
        Call(1, "MSET o1 x o2 y o3 z"),
        Read(4),
        Call(4, "PING"),
        // CACHING YES covers a whole transaction.
        Call(4, "CLIENT CACHING YES"),
        Call(4, "MULTI"),
        Call(4, "GET t1"),
        Call(4, "GET t2"),
        Call(4, "EXEC"),
        Call(1, "MSET t1 1 t2 2"),
        Read(4),
        Read(4),
        // OPTOUT: every read is tracked except after CLIENT CACHING NO.
        Quiet(5, "HELLO 3"),
        Call(5, "CLIENT TRACKING ON OPTOUT"),
        Call(5, "CLIENT CACHING NO"),
        Call(5, "GET u1"),
        Call(5, "GET u2"),
        Call(1, "MSET u1 x u2 y"),
        Read(5),
        Call(5, "PING"),
        Call(0, "PING"),
        Call(2, "PING"),
    ]);
}

#[test]
fn a_full_tracking_table_drops_keys_with_an_invalidation_and_info_counts() {
    let shoal = Shoal::start_with(&["--tracking-table-max-keys", "3"]);
    let mut admin = shoal.raw();
    let mut reader = shoal.raw();
    reader.call(&["HELLO", "3"]);
    assert_eq!(reader.call(&["CLIENT", "TRACKING", "ON"]), "+OK\r\n");
    for key in ["m1", "m2", "m3"] {
        assert_eq!(reader.call(&["GET", key]), "_\r\n");
    }
    let info = admin.call(&["INFO", "everything"]);
    for field in [
        "tracking_clients:1\r\n",
        "tracking_total_keys:3\r\n",
        "tracking_total_items:3\r\n",
        "tracking_total_prefixes:0\r\n",
    ] {
        assert!(info.contains(field), "{field} in {info}");
    }
    // A fourth key passes the limit: one of the others is dropped, and its reader told.
    assert_eq!(reader.call(&["GET", "m4"]), "_\r\n");
    let push = reader.read_reply();
    assert!(
        push.starts_with(">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nm"),
        "{push}"
    );
    let info = admin.call(&["INFO", "stats"]);
    assert!(info.contains("tracking_total_keys:3\r\n"), "{info}");
    assert_eq!(
        admin.call(&["CONFIG", "GET", "tracking-table-max-keys"]),
        "*2\r\n$23\r\ntracking-table-max-keys\r\n$1\r\n3\r\n"
    );
    assert!(
        admin
            .call(&["CONFIG", "SET", "tracking-table-max-keys", "-1"])
            .starts_with("-ERR CONFIG SET failed (possibly related to argument 'tracking-table-max-keys') - argument must be between 0"),
    );
    // CLIENT LIST shows the tracking client (`t`) and its redirect.
    let list = admin.call(&["CLIENT", "LIST"]);
    assert!(
        list.lines()
            .any(|l| l.contains(" flags=t ") && l.contains(" redir=0 ")),
        "{list}"
    );
    // Turning tracking off takes the client out of the count.
    assert_eq!(reader.call(&["CLIENT", "TRACKING", "OFF"]), "+OK\r\n");
    let info = admin.call(&["INFO", "clients"]);
    assert!(info.contains("tracking_clients:0\r\n"), "{info}");
}

#[test]
fn eviction_invalidates_tracked_keys() {
    let shoal = Shoal::start_with(&["--maxmemory-policy", "allkeys-random"]);
    let mut writer = shoal.raw();
    let mut reader = shoal.raw();
    reader.call(&["HELLO", "3"]);
    reader.call(&["CLIENT", "TRACKING", "ON"]);
    let value = "x".repeat(1000);
    for i in 0..2000 {
        writer.call(&["SET", &format!("ev:{i}"), &value]);
    }
    for i in 0..2000 {
        reader.call(&["GET", &format!("ev:{i}")]);
    }
    // Squeeze memory: keys go, and the reader hears of each as it goes.
    let info = writer.call(&["INFO", "memory"]);
    let used: usize = shoal_harness::resp::info_field(&info, "used_memory")
        .and_then(|v| v.parse().ok())
        .expect("used_memory");
    let limit = (used - 1_000_000).to_string();
    assert_eq!(
        writer.call(&["CONFIG", "SET", "maxmemory", &limit]),
        "+OK\r\n"
    );
    writer.call(&["SET", "trigger", "1"]);
    let mut evicted = Vec::new();
    while evicted.len() < 10 {
        let frame = reader.read_reply();
        assert!(
            frame.starts_with(">2\r\n$10\r\ninvalidate\r\n*1\r\n"),
            "{frame}"
        );
        let key = frame.rsplit("\r\n").nth(1).expect("a key").to_string();
        evicted.push(key);
    }
    writer.call(&["CONFIG", "SET", "maxmemory", "0"]);
    for key in &evicted {
        assert_eq!(writer.call(&["EXISTS", key]), ":0\r\n", "{key} was evicted");
    }
}
