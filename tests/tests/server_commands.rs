//! Server commands end to end: COMMAND (COUNT, INFO, DOCS, LIST, GETKEYS, HELP) shaped as
//! Redis 7.2 shapes them (redis-cli builds its hints from COMMAND DOCS), CONFIG GET / SET /
//! RESETSTAT, INFO sections and counters, TIME and DEBUG. COMMAND and the HELP
//! subcommands are in `server_commands/command.rs`.

#[path = "server_commands/command.rs"]
mod command;

use shoal_tests::{Raw, RedisServer, Shoal};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A decoded reply, keeping the RESP type and the order of map entries.
#[derive(Debug, Clone, PartialEq)]
enum Resp {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(String),
    Null,
    Array(Vec<Resp>),
    Set(Vec<Resp>),
    Map(Vec<(Resp, Resp)>),
    Verbatim(String),
}

impl Resp {
    fn text(&self) -> &str {
        match self {
            Resp::Status(s) | Resp::Bulk(s) | Resp::Verbatim(s) | Resp::Error(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    /// Elements of an array or set, or the flattened pairs of a map (RESP2 view).
    fn items(&self) -> Vec<Resp> {
        match self {
            Resp::Array(v) | Resp::Set(v) => v.clone(),
            Resp::Map(pairs) => pairs
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect(),
            other => panic!("not an aggregate: {other:?}"),
        }
    }

    /// A map reply (or a RESP2 flat array of pairs) as (key text, value) pairs.
    fn pairs(&self) -> Vec<(String, Resp)> {
        self.items()
            .chunks(2)
            .map(|p| (p[0].text().to_string(), p[1].clone()))
            .collect()
    }

    fn get(&self, key: &str) -> Option<Resp> {
        let mut pairs = self.pairs().into_iter();
        pairs.find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Decodes one reply from the start of `input`; returns it and the bytes it used.
fn parse(input: &[u8]) -> (Resp, usize) {
    let eol = input
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("a complete line");
    let line = String::from_utf8_lossy(&input[1..eol]).into_owned();
    let mut used = eol + 2;
    let count = |line: &str| line.parse::<i64>().expect("a length");
    let items = |n: i64, used: &mut usize| {
        (0..n)
            .map(|_| {
                let (item, n) = parse(&input[*used..]);
                *used += n;
                item
            })
            .collect::<Vec<_>>()
    };
    let reply = match input[0] {
        b'+' => Resp::Status(line),
        b'-' => Resp::Error(line),
        b':' => Resp::Int(count(&line)),
        b'_' => Resp::Null,
        b'$' | b'=' if count(&line) < 0 => Resp::Null,
        b'$' | b'=' => {
            let len = count(&line) as usize;
            let body = String::from_utf8_lossy(&input[used..used + len]).into_owned();
            used += len + 2;
            let verbatim = input[0] == b'=';
            if verbatim {
                Resp::Verbatim(body)
            } else {
                Resp::Bulk(body)
            }
        }
        b'*' if count(&line) < 0 => Resp::Null,
        b'*' => Resp::Array(items(count(&line), &mut used)),
        b'~' => Resp::Set(items(count(&line), &mut used)),
        b'%' => Resp::Map(
            (items(2 * count(&line), &mut used).chunks(2))
                .map(|p| (p[0].clone(), p[1].clone()))
                .collect(),
        ),
        other => panic!("unknown reply type {:?}", other as char),
    };
    (reply, used)
}

fn call(raw: &mut Raw, args: &[&str]) -> Resp {
    let text = raw.call(args);
    let (reply, used) = parse(text.as_bytes());
    assert_eq!(used, text.len(), "one reply");
    reply
}

fn int(reply: &Resp) -> i64 {
    match reply {
        Resp::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn info_text(raw: &mut Raw, sections: &[&str]) -> String {
    let args: Vec<&str> = std::iter::once("INFO")
        .chain(sections.iter().copied())
        .collect();
    call(raw, &args).text().to_string()
}

/// `INFO <sections>` as a map of field → value.
fn info(raw: &mut Raw, sections: &[&str]) -> HashMap<String, String> {
    let text = info_text(raw, sections);
    let fields = text.lines().filter_map(|l| l.split_once(':'));
    fields.map(|(k, v)| (k.into(), v.into())).collect()
}

fn stat(raw: &mut Raw, field: &str) -> i64 {
    info(raw, &["stats"])[field].parse().expect("a number")
}

/// The titles (`# Server`...) of an INFO reply, in order.
fn titles(raw: &mut Raw, sections: &[&str]) -> Vec<String> {
    let text = info_text(raw, sections);
    text.lines()
        .filter_map(|l| l.strip_prefix("# "))
        .map(Into::into)
        .collect()
}

/// Text without the colour escapes (`ESC[...m`) redis-cli prints.
fn strip_ansi(text: &str) -> String {
    let mut parts = text.split('\u{1b}');
    let mut out = parts.next().unwrap_or_default().to_string();
    for part in parts {
        out.push_str(part.split_once('m').map_or(part, |(_, rest)| rest));
    }
    out
}

#[test]
fn config_get_matches_patterns_and_answers_a_map() {
    let node = Shoal::start();
    let mut raw = node.raw();
    assert_eq!(
        raw.call(&["CONFIG", "GET", "maxclients"]),
        "*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n"
    );
    assert_eq!(raw.call(&["CONFIG", "GET", "nosuch"]), "*0\r\n");
    // Several patterns, each match once, case-insensitive.
    let pairs = call(
        &mut raw,
        &["CONFIG", "GET", "timeout", "HZ", "h?", "databases"],
    )
    .pairs();
    let mut got: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| (k, v.text().to_string()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [("databases", "16"), ("hz", "10"), ("timeout", "0")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    let all = call(&mut raw, &["CONFIG", "GET", "*"]).pairs();
    for name in "port bind proto-max-bulk-len client-query-buffer-limit save appendonly".split(' ')
    {
        assert!(all.iter().any(|(k, _)| k == name), "{name} missing");
    }
    raw.call(&["HELLO", "3"]);
    assert_eq!(
        raw.call(&["CONFIG", "GET", "maxclients"]),
        "%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n"
    );
    assert_eq!(raw.call(&["CONFIG", "GET", "nosuch"]), "%0\r\n");
}

#[test]
fn config_set_changes_several_settings_all_or_nothing() {
    let node = Shoal::start();
    let mut raw = node.raw();
    assert_eq!(
        raw.call(&["CONFIG", "SET", "hz", "20", "timeout", "300"]),
        "+OK\r\n"
    );
    let hz_timeout = |raw: &mut Raw| raw.call(&["CONFIG", "GET", "hz", "timeout"]);
    assert_eq!(
        hz_timeout(&mut raw),
        "*4\r\n$7\r\ntimeout\r\n$3\r\n300\r\n$2\r\nhz\r\n$2\r\n20\r\n"
    );
    let failed = |name: &str, reason: &str| {
        format!("-ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}\r\n")
    };
    let errors: [(&[&str], String); 10] = [
        (
            &["hz", "30", "nosuch", "1"],
            "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n".into(),
        ),
        (
            &["hz", "30", "timeout", "x"],
            failed("timeout", "argument couldn't be parsed into an integer"),
        ),
        (
            &["hz", "30", "port", "7000"],
            failed("port", "can't set immutable config"),
        ),
        (
            &["databases", "4"],
            failed("databases", "can't set immutable config"),
        ),
        (
            &["hz", "30", "hz", "40"],
            failed("hz", "duplicate parameter"),
        ),
        (
            &["timeout", "-1"],
            failed(
                "timeout",
                "argument must be between 0 and 2147483647 inclusive",
            ),
        ),
        (
            &["maxclients", "0"],
            failed(
                "maxclients",
                "argument must be between 1 and 4294967295 inclusive",
            ),
        ),
        (
            &["loglevel", "loud"],
            failed(
                "loglevel",
                "argument(s) must be one of the following: debug, verbose, notice, warning",
            ),
        ),
        (
            &["client-query-buffer-limit", "1000"],
            failed(
                "client-query-buffer-limit",
                "argument must be between 1048576 and 9223372036854775807 inclusive",
            ),
        ),
        (&["hz", "30", "timeout"], "-ERR syntax error\r\n".into()),
    ];
    for (pairs, expected) in &errors {
        let mut args = vec!["CONFIG", "SET"];
        args.extend_from_slice(pairs);
        assert_eq!(raw.call(&args), *expected, "{pairs:?}");
    }
    // None of the refused calls changed anything.
    assert_eq!(
        hz_timeout(&mut raw),
        "*4\r\n$7\r\ntimeout\r\n$3\r\n300\r\n$2\r\nhz\r\n$2\r\n20\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "SET", "hz"]),
        "-ERR wrong number of arguments for 'config|set' command\r\n"
    );
    // Memory units are understood.
    assert_eq!(
        raw.call(&["CONFIG", "SET", "proto-max-bulk-len", "2mb"]),
        "+OK\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "GET", "proto-max-bulk-len"]),
        "*2\r\n$18\r\nproto-max-bulk-len\r\n$7\r\n2097152\r\n"
    );
}

#[test]
fn config_set_errors_match_the_reference_server() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("note: redis-server is not installed; skipping the comparison");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.raw(), redis.raw());
    for args in [
        &["CONFIG", "SET", "nosuch", "1"][..],
        &["CONFIG", "SET", "timeout", "x"],
        &["CONFIG", "SET", "databases", "2"],
        &["CONFIG", "SET", "timeout", "1", "timeout", "2"],
        &["CONFIG", "SET", "maxclients", "0"],
        &["CONFIG", "SET", "loglevel", "loud"],
        &["CONFIG", "SET", "proto-max-bulk-len", "10"],
        &["CONFIG", "SET", "timeout", "1", "hz"],
        &["CONFIG", "GET", "nosuch"],
        &["CONFIG", "RESETSTAT", "x"],
    ] {
        assert_eq!(ours.call(args), theirs.call(args), "{args:?}");
    }
}

#[test]
fn info_sections_follow_redis() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let default: Vec<&str> = "Server Clients Memory Persistence Stats Replication CPU Modules \
        Errorstats Cluster Keyspace"
        .split_whitespace()
        .collect();
    let all: Vec<&str> = "Server Clients Memory Persistence Stats Replication CPU Modules \
        Commandstats Errorstats Latencystats Cluster Keyspace"
        .split_whitespace()
        .collect();
    assert_eq!(titles(&mut raw, &[]), default);
    assert_eq!(titles(&mut raw, &["default"]), default);
    assert_eq!(titles(&mut raw, &["all"]), all);
    assert_eq!(titles(&mut raw, &["everything"]), all);
    assert_eq!(titles(&mut raw, &["commandstats"]), ["Commandstats"]);
    assert_eq!(titles(&mut raw, &["CLIENTS"]), ["Clients"]);
    // Several sections come in Redis's order, each once; unknown ones add nothing.
    assert_eq!(
        titles(&mut raw, &["keyspace", "server", "nosuch", "Server"]),
        ["Server", "Keyspace"]
    );
    assert_eq!(raw.call(&["INFO", "nosuch"]), "$0\r\n\r\n");
    assert_eq!(raw.call(&["INFO", "keyspace"]), "$12\r\n# Keyspace\r\n\r\n");
    let two = call(&mut raw, &["INFO", "cluster", "modules"]);
    assert_eq!(
        two.text(),
        "# Modules\r\n\r\n# Cluster\r\ncluster_enabled:1\r\n"
    );
    raw.call(&["HELLO", "3"]);
    assert_eq!(
        raw.call(&["INFO", "keyspace"]),
        "=16\r\ntxt:# Keyspace\r\n\r\n"
    );
}

#[test]
fn info_uses_redis_field_names() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["SET", "k", "v"]);
    let all = info(&mut raw, &[]);
    let expected = "redis_version redis_mode os arch_bits process_id run_id tcp_port \
        server_time_usec uptime_in_seconds uptime_in_days hz configured_hz lru_clock executable \
        config_file \
        connected_clients maxclients client_recent_max_input_buffer \
        client_recent_max_output_buffer blocked_clients tracking_clients \
        used_memory used_memory_human used_memory_rss used_memory_peak used_memory_peak_human \
        total_system_memory maxmemory maxmemory_policy mem_fragmentation_ratio mem_allocator \
        total_connections_received total_commands_processed instantaneous_ops_per_sec \
        total_net_input_bytes total_net_output_bytes rejected_connections expired_keys \
        evicted_keys keyspace_hits keyspace_misses total_error_replies total_reads_processed \
        total_writes_processed \
        db0";
    for field in expected.split_whitespace() {
        assert!(all.contains_key(field), "INFO lacks {field}");
    }
    assert_eq!(all["redis_version"], "7.4.0");
    assert_eq!(all["tcp_port"], node.port.to_string());
    assert_eq!(all["run_id"].len(), 40);
    assert_eq!(all["maxclients"], "10000");
}

#[test]
fn info_counters_move_with_traffic() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let before = stat(&mut raw, "total_commands_processed");
    for _ in 0..5 {
        raw.call(&["PING"]);
    }
    // Five PINGs and the INFO before them.
    assert_eq!(stat(&mut raw, "total_commands_processed"), before + 6);
    // Pipelined commands count one by one, even for an INFO in the same pipeline.
    raw.send(b"PING\r\nPING\r\nPING\r\nINFO stats\r\n");
    for _ in 0..3 {
        raw.read_reply();
    }
    let (pipelined, _) = parse(raw.read_reply().as_bytes());
    let expected = format!("total_commands_processed:{}\r\n", before + 10);
    assert!(pipelined.text().contains(&expected), "{pipelined:?}");

    let (hits, misses) = (
        stat(&mut raw, "keyspace_hits"),
        stat(&mut raw, "keyspace_misses"),
    );
    raw.call(&["SET", "present", "1"]);
    raw.call(&["GET", "present"]);
    raw.call(&["GET", "present"]);
    raw.call(&["GET", "absent"]);
    assert_eq!(stat(&mut raw, "keyspace_hits"), hits + 2);
    assert_eq!(stat(&mut raw, "keyspace_misses"), misses + 1);

    let errors = stat(&mut raw, "total_error_replies");
    raw.call(&["NOSUCH"]);
    raw.call(&["GET"]);
    assert_eq!(stat(&mut raw, "total_error_replies"), errors + 2);

    let clients = |raw: &mut Raw| info(raw, &["clients"])["connected_clients"].clone();
    assert_eq!(clients(&mut raw), "1");
    let received = stat(&mut raw, "total_connections_received");
    let mut other = node.raw();
    let mut third = node.raw();
    other.call(&["PING"]);
    third.call(&["PING"]);
    assert_eq!(clients(&mut raw), "3");
    assert_eq!(stat(&mut raw, "total_connections_received"), received + 2);
    drop(other);
    drop(third);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while clients(&mut raw) != "1" {
        assert!(
            std::time::Instant::now() < deadline,
            "clients did not go away"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    raw.call(&["SET", "volatile", "1", "EX", "1000"]);
    raw.call(&["SELECT", "3"]);
    raw.call(&["SET", "elsewhere", "1"]);
    let keyspace = info(&mut raw, &["keyspace"]);
    assert!(
        keyspace["db0"].starts_with("keys=2,expires=1,avg_ttl="),
        "{keyspace:?}"
    );
    assert_eq!(keyspace["db3"], "keys=1,expires=0,avg_ttl=0,subexpiry=0");
}

#[test]
fn config_resetstat_zeroes_the_counters() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["SET", "k", "v"]);
    raw.call(&["GET", "k"]);
    raw.call(&["GET", "missing"]);
    raw.call(&["NOSUCH"]);
    assert_eq!(raw.call(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    let stats = info(&mut raw, &["stats"]);
    let zeroed =
        "keyspace_hits keyspace_misses total_error_replies expired_keys rejected_connections";
    for field in zeroed.split(' ') {
        assert_eq!(stats[field], "0", "{field}");
    }
    // Only RESETSTAT itself has run since.
    assert_eq!(stats["total_commands_processed"], "1");
    // Data is untouched.
    assert_eq!(raw.call(&["GET", "k"]), "$1\r\nv\r\n");
}

#[test]
fn time_reports_seconds_and_microseconds() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let reply = call(&mut raw, &["TIME"]).items();
    assert_eq!(reply.len(), 2);
    let seconds: u64 = reply[0].text().parse().expect("seconds");
    let micros: u64 = reply[1].text().parse().expect("microseconds");
    assert!(micros < 1_000_000);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(
        seconds.abs_diff(now) < 60,
        "TIME says {seconds}, the clock {now}"
    );
    assert_eq!(
        raw.call(&["TIME", "x"]),
        "-ERR wrong number of arguments for 'time' command\r\n"
    );
}

#[test]
fn debug_sleep_holds_only_its_own_connection() {
    let node = Shoal::start();
    let mut sleeper = node.raw();
    // The sleep and the GET after it arrive together.
    sleeper.send(b"DEBUG SLEEP 3\r\nGET flag\r\nECHO last\r\n");
    assert_eq!(sleeper.read_reply(), "+OK\r\n");
    // Meanwhile another connection is served, and its write lands before the GET runs.
    let mut other = node.raw();
    assert_eq!(other.call(&["PING"]), "+PONG\r\n");
    assert_eq!(
        other.call(&["SET", "flag", "set-while-sleeping"]),
        "+OK\r\n"
    );
    // The sleeper's later replies come after, in order.
    assert_eq!(sleeper.read_reply(), "$18\r\nset-while-sleeping\r\n");
    assert_eq!(sleeper.read_reply(), "$4\r\nlast\r\n");
    assert_eq!(sleeper.call(&["DEBUG", "SLEEP", "0"]), "+OK\r\n");
    // Like Redis (strtod), a non-number sleeps zero seconds.
    assert_eq!(sleeper.call(&["DEBUG", "SLEEP", "soon"]), "+OK\r\n");
}

#[test]
fn debug_help_and_unknown_subcommands_answer_like_redis() {
    let node = Shoal::start();
    let mut raw = node.raw();
    assert_eq!(raw.call(&["SET", "k", "v"]), "+OK\r\n");
    assert!(raw.call(&["DEBUG", "HELP"]).starts_with("*"));
    for (args, sub) in [
        (&["DEBUG", "nosuch"][..], "nosuch"),
        (&["DEBUG", "SLEEP"], "SLEEP"),
        (&["DEBUG", "sleep", "1", "2"], "sleep"),
        // DEBUG OBJECT reports an RDB serialized length Shoal has no format for (it keeps
        // nothing on disk): refused with DEBUG's own text, not an OBJECT error.
        (&["DEBUG", "OBJECT", "k"], "OBJECT"),
    ] {
        assert_eq!(
            raw.call(args),
            format!(
                "-ERR unknown subcommand or wrong number of arguments for '{sub}'. Try DEBUG HELP.\r\n"
            ),
            "{args:?}"
        );
    }
    assert_eq!(
        raw.call(&["DEBUG"]),
        "-ERR wrong number of arguments for 'debug' command\r\n"
    );
    assert_eq!(raw.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), "+OK\r\n");
}

/// Redis 7.4's `max-new-connections-per-cycle`: read, bounded as Redis bounds it, changed at
/// runtime; with 1, a burst of connections is still served, one accept per turn.
#[test]
fn max_new_connections_per_cycle_is_a_runtime_parameter() {
    let node = Shoal::start();
    let mut raw = node.raw();
    assert_eq!(
        raw.call(&["CONFIG", "GET", "max-new-connections-per-cycle"]),
        "*2\r\n$29\r\nmax-new-connections-per-cycle\r\n$2\r\n10\r\n"
    );
    for bad in ["0", "1001", "x"] {
        assert!(
            raw.call(&["CONFIG", "SET", "max-new-connections-per-cycle", bad])
                .starts_with("-ERR CONFIG SET failed (possibly related to argument 'max-new-connections-per-cycle')"),
            "{bad}"
        );
    }
    assert_eq!(
        raw.call(&["CONFIG", "SET", "max-new-connections-per-cycle", "1"]),
        "+OK\r\n"
    );
    let mut burst: Vec<_> = (0..50).map(|_| node.raw()).collect();
    for conn in &mut burst {
        assert_eq!(conn.call(&["PING"]), "+PONG\r\n");
    }
}
