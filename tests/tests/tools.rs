//! Redis's own tools against a node: redis-cli (including mass insertion) and
//! redis-benchmark.

use shoal_tests::Shoal;
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn redis_cli_runs_commands_and_selects_databases() {
    let node = Shoal::start();
    assert_eq!(node.cli(&["SET", "greeting", "hello world"]), "OK\n");
    assert_eq!(node.cli(&["GET", "greeting"]), "hello world\n");
    assert_eq!(node.cli(&["-n", "2", "SET", "only-in-2", "x"]), "OK\n");
    assert_eq!(node.cli(&["EXISTS", "only-in-2"]), "0\n");
    assert_eq!(node.cli(&["-n", "2", "EXISTS", "only-in-2"]), "1\n");
    // redis-cli prints errors followed by an empty line, against Redis too.
    assert_eq!(
        node.cli(&["INCR", "greeting"]),
        "ERR value is not an integer or out of range\n\n"
    );
    assert_eq!(
        node.cli(&["--raw", "MGET", "greeting", "nothing"]),
        "hello world\n\n"
    );
    let info = node.cli(&["INFO", "keyspace"]);
    assert!(info.contains("db0:keys=1,expires=0"), "{info}");
    assert!(info.contains("db2:keys=1,expires=0"), "{info}");
}

#[test]
fn redis_cli_pipe_mass_insertion_is_answered_in_full() {
    let node = Shoal::start();
    let mut input = String::new();
    for i in 0..20_000 {
        input.push_str(&format!("SET key:{i} value-{i}\r\n"));
    }
    let mut child = Command::new("redis-cli")
        .args(["-p", &node.port.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("redis-cli");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("redis-cli --pipe");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("errors: 0, replies: 20000"), "{text}");
    assert_eq!(node.cli(&["DBSIZE"]), "20000\n");
    assert_eq!(node.cli(&["GET", "key:19999"]), "value-19999\n");
}

#[test]
fn redis_benchmark_runs_without_error_lines() {
    let node = Shoal::start();
    let output = Command::new("redis-benchmark")
        .args([
            "-p",
            &node.port.to_string(),
            "-t",
            "ping,set,get,incr,mset",
            "-n",
            "100000",
            "-e",
            "-q",
        ])
        .output()
        .expect("redis-benchmark is installed (apt-get install redis-tools)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    // redis-benchmark 7 always warns that -e is implied; any other mention of an error is one.
    let errors: Vec<&str> = text
        .split(['\n', '\r'])
        .filter(|l| l.to_lowercase().contains("err") && !l.contains("-e option has no effect"))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    for test in [
        "PING_INLINE",
        "PING_MBULK",
        "SET",
        "GET",
        "INCR",
        "MSET (10 keys)",
    ] {
        assert!(
            text.contains(&format!("{test}: ")),
            "missing {test} in:\n{text}"
        );
    }
    assert_eq!(
        node.cli(&["GET", "counter:__rand_int__"])
            .trim()
            .parse::<u64>()
            .ok(),
        Some(100_000)
    );
}

/// Runs redis-benchmark's default suite (no `-t`) and returns its lines with the error ones.
fn default_suite(node: &Shoal, extra: &[&str]) -> (String, Vec<String>) {
    let output = Command::new("redis-benchmark")
        .args(["-p", &node.port.to_string(), "-n", "20000", "-e", "-q"])
        .args(extra)
        .output()
        .expect("redis-benchmark is installed (apt-get install redis-tools)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    let errors = text
        .split(['\n', '\r'])
        .filter(|l| l.to_lowercase().contains("err") && !l.contains("-e option has no effect"))
        .map(str::to_string)
        .collect();
    (text, errors)
}

#[test]
fn redis_benchmark_default_suite_runs_every_test_without_errors() {
    let node = Shoal::start();
    for extra in [&[][..], &["-P", "16"][..]] {
        let (text, errors) = default_suite(&node, extra);
        assert!(errors.is_empty(), "{extra:?}: {errors:?}");
        for test in [
            "PING_INLINE",
            "PING_MBULK",
            "SET",
            "GET",
            "INCR",
            "LPUSH",
            "RPUSH",
            "LPOP",
            "RPOP",
            "SADD",
            "HSET",
            "SPOP",
            "ZADD",
            "ZPOPMIN",
            "LRANGE_100 (first 100 elements)",
            "LRANGE_600 (first 600 elements)",
            "MSET (10 keys)",
        ] {
            assert!(
                text.contains(&format!("{test}: ")),
                "{extra:?}: missing {test} in\n{text}"
            );
        }
    }
}
