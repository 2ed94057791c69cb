//! Shoal in containers, on this machine's Docker engine, with images built offline.
//!
//! The image is built by docker/build-offline.sh from the `shoal` binary the tests use (its
//! debug information stripped, as the script does): no image is pulled. One test runs three
//! containers on a network of its own (`docker network create`, static addresses) joined by
//! DNS alias and cluster secret, checks that `redis-cli -c` and redis-py's `RedisCluster`
//! work through each container (from the host, to the containers' addresses), then, while a
//! client writes through the first container, kills the third and starts it again, pauses
//! the second past the node timeout and unpauses it, and disconnects the third from the
//! network and reconnects it: after each, membership converges (every node sees the same
//! live members, serving, on one topology), no request hangs, and no write acknowledged by
//! `WAIT 1` is lost. The other runs the three Shoal services of docker/compose.yaml with
//! docker-compose (the Prometheus and Grafana images cannot be pulled here: deploy.rs checks
//! their configuration instead).
//!
//! Image size and start-to-ready time are printed (`--nocapture` shows them). Everything a
//! test creates (containers, networks, compose projects, images) is removed when it ends,
//! passed or failed. Without a Docker engine (`docker info` fails) the tests say so and pass,
//! except under CI, where they fail.

use shoal_tests::{free_port, shoal_binary, under_ci, workspace};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The client port inside the containers (the image's default).
const PORT: u16 = 6379;
/// The shared secret of the test clusters.
const SECRET: &str = "docker-test-secret";
/// A generous bound on membership converging after a change (measured: a few seconds).
const CONVERGE: Duration = Duration::from_secs(60);
/// How long the writer goes on against two nodes after each fault, before the node is back.
const DWELL: Duration = Duration::from_secs(2);
/// A request slower than this counts as a hang.
const HANG: Duration = Duration::from_secs(15);

/// One test at a time: the machine has two cores, and fault timings need them.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `program args`; its stdout, or its stderr as the error.
fn run(program: &str, args: &[&str]) -> Result<String, String> {
    run_env(program, args, &[])
}

/// As [`run`], with extra environment variables.
fn run_env(program: &str, args: &[&str], env: &[(&str, String)]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim(),
            String::from_utf8_lossy(&output.stdout).trim()
        ))
    }
}

fn docker(args: &[&str]) -> Result<String, String> {
    run("docker", args)
}

/// Whether a Docker engine answers; if not, the test skips (fails under CI).
fn docker_engine_or_skip(test: &str) -> bool {
    match docker(&["info", "--format", "{{.ServerVersion}}"]) {
        Ok(_) => true,
        Err(why) => {
            assert!(
                !under_ci(),
                "{test}: no Docker engine under CI (`docker info` failed: {why})"
            );
            println!("skipped {test}: no Docker engine (`docker info` failed: {why})");
            false
        }
    }
}

/// A name no other test run uses.
fn unique(what: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "shoal-test-{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// What a test made in Docker, removed on drop (in the order that lets each go).
#[derive(Default)]
struct Made {
    containers: Vec<String>,
    compose: Vec<(String, Vec<(&'static str, String)>)>,
    networks: Vec<String>,
    images: Vec<String>,
}

impl Drop for Made {
    fn drop(&mut self) {
        for name in &self.containers {
            let _ = docker(&["unpause", name]);
            let _ = docker(&["rm", "--force", "--volumes", name]);
        }
        for (project, env) in &self.compose {
            let _ = compose(
                project,
                env,
                &["down", "--volumes", "--remove-orphans", "--timeout", "5"],
            );
        }
        for network in &self.networks {
            let _ = docker(&["network", "rm", network]);
        }
        for image in &self.images {
            let _ = docker(&["image", "rm", "--force", image]);
        }
    }
}

/// The image: docker/build-offline.sh from the tests' `shoal` binary. Returns its tag, and
/// prints its size and how long the build took.
fn build_image(made: &mut Made) -> String {
    let tag = format!("{}:latest", unique("image"));
    let base = format!("{}:latest", unique("base"));
    made.images.push(tag.clone());
    made.images.push(base.clone());
    let binary = shoal_binary();
    let script = workspace().join("docker/build-offline.sh");
    let started = Instant::now();
    let out = run(
        "bash",
        &[
            script.to_str().expect("utf-8 path"),
            "--binary",
            binary.to_str().expect("utf-8 path"),
            "--tag",
            &tag,
            "--base-tag",
            &base,
        ],
    )
    .unwrap_or_else(|e| panic!("docker/build-offline.sh failed: {e}"));
    let size: u64 = docker(&["image", "inspect", "--format", "{{.Size}}", &tag])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no image {tag}: {out}"));
    println!(
        "image {tag}: {:.1} MB (base {:.1} MB), built offline in {:.1} s from {}",
        size as f64 / 1e6,
        docker(&["image", "inspect", "--format", "{{.Size}}", &base])
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0) as f64
            / 1e6,
        started.elapsed().as_secs_f64(),
        binary.display()
    );
    tag
}

// ---------------------------------------------------------------------------------------------
// Talking to a node

/// A connection to `host:port` whose every request times out rather than hangs.
fn connect(host: &str, port: u16) -> Result<redis::Connection, String> {
    let client =
        redis::Client::open(format!("redis://{host}:{port}/")).map_err(|e| e.to_string())?;
    let conn = client
        .get_connection_with_timeout(Duration::from_secs(3))
        .map_err(|e| e.to_string())?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .and_then(|()| conn.set_write_timeout(Some(Duration::from_secs(5))))
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// `CLUSTER sub` on host:port as text.
fn cluster(host: &str, port: u16, sub: &str) -> Result<String, String> {
    let mut conn = connect(host, port)?;
    redis::cmd("CLUSTER")
        .arg(sub)
        .query::<String>(&mut conn)
        .map_err(|e| e.to_string())
}

fn field<'a>(info: &'a str, name: &str) -> &'a str {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map_or("", str::trim)
}

/// What one node says of the cluster.
#[derive(Debug, PartialEq)]
struct View {
    /// Ids of the members it counts live (not `fail`), sorted.
    live: Vec<String>,
    state: String,
    phase: String,
    settled: String,
    epoch: String,
}

fn view(host: &str, port: u16) -> Result<View, String> {
    let nodes = cluster(host, port, "NODES")?;
    let info = cluster(host, port, "INFO")?;
    Ok(View {
        live: shoal_tests::live_ids(&nodes),
        state: field(&info, "cluster_state").into(),
        phase: field(&info, "shoal_phase").into(),
        settled: field(&info, "shoal_topology_settled").into(),
        epoch: field(&info, "shoal_topology_epoch").into(),
    })
}

/// Waits until the nodes at `addrs` all see the same `n` live members (themselves), serve
/// and agree on the topology; returns how long it took. On failure the panic carries what
/// each node said and `context()` (the containers' logs).
fn converge(
    what: &str,
    addrs: &[(String, u16)],
    n: usize,
    context: &dyn Fn() -> String,
) -> Duration {
    let started = Instant::now();
    loop {
        let views: Vec<Result<View, String>> = addrs.iter().map(|(h, p)| view(h, *p)).collect();
        let agreed = views.iter().all(|v| {
            v.as_ref().is_ok_and(|v| {
                v.live.len() == n && v.state == "ok" && v.phase == "serving" && v.settled == "1"
            })
        }) && views.windows(2).all(|w| match (&w[0], &w[1]) {
            (Ok(a), Ok(b)) => a.live == b.live && a.epoch == b.epoch,
            _ => false,
        });
        if agreed {
            let took = started.elapsed();
            println!(
                "{what}: converged on {n} members in {:.1} s",
                took.as_secs_f64()
            );
            return took;
        }
        assert!(
            started.elapsed() < CONVERGE,
            "{what}: no agreement on {n} members within {CONVERGE:?}: {views:#?}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------------
// Clients

/// `redis-cli` on the host, or why not (the test then skips that check, except under CI).
fn have_tool(check: &[&str], install: &str) -> bool {
    let found = Command::new(check[0])
        .args(&check[1..])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !under_ci(),
            "`{}` fails under CI: {install}",
            check.join(" ")
        );
        println!("skipped a check: `{}` fails ({install})", check.join(" "));
    }
    found
}

/// `redis-cli -c` writes through each node and reads through the next.
fn check_redis_cli(hosts: &[String]) {
    for (i, host) in hosts.iter().enumerate() {
        let next = &hosts[(i + 1) % hosts.len()];
        for k in 0..20 {
            let key = format!("cli:{i}:{k}");
            let value = format!("v{i}-{k}");
            let set = run(
                "redis-cli",
                &["-c", "-h", host, "-p", "6379", "SET", &key, &value],
            )
            .expect("redis-cli SET");
            assert_eq!(set.trim(), "OK", "redis-cli -c -h {host} SET {key}");
            let got = run("redis-cli", &["-c", "-h", next, "-p", "6379", "GET", &key])
                .expect("redis-cli GET");
            assert_eq!(got.trim(), value, "redis-cli -c -h {next} GET {key}");
        }
    }
    println!("redis-cli -c: 20 keys written through each node, read through the next");
}

/// redis-py's RedisCluster, started from each node in turn: it must find all three nodes
/// and read back what it wrote.
fn check_redis_py(hosts: &[String]) {
    const SCRIPT: &str = r#"
import sys
from redis.cluster import RedisCluster
host = sys.argv[1]
rc = RedisCluster(host=host, port=6379, socket_timeout=5, socket_connect_timeout=5)
for i in range(100):
    rc.set(f"py:{host}:{i}", i)
for i in range(100):
    got = rc.get(f"py:{host}:{i}")
    assert got == str(i).encode(), (i, got)
print(len({n.host for n in rc.get_nodes()}))
rc.close()
"#;
    for host in hosts {
        let out = run("python3", &["-c", SCRIPT, host])
            .unwrap_or_else(|e| panic!("redis-py RedisCluster through {host}: {e}"));
        assert_eq!(out.trim(), hosts.len().to_string(), "nodes redis-py found");
    }
    println!("redis-py RedisCluster: 100 keys through each node, all nodes found");
}

/// A client writing through one node while faults happen elsewhere: each key is written once
/// (`SET w:i i`), and counts as acknowledged once `WAIT 1` says its replica has it.
struct Writer {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<WriterReport>,
}

#[derive(Debug, Default)]
struct WriterReport {
    acknowledged: Vec<u64>,
    attempted: u64,
    errors: u64,
    slowest: Duration,
    last_error: String,
}

impl Writer {
    fn start(host: String) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut report = WriterReport::default();
            let mut conn: Option<redis::Connection> = None;
            let mut i = 0u64;
            while !flag.load(Ordering::Relaxed) {
                i += 1;
                report.attempted += 1;
                let started = Instant::now();
                let result = (|| -> Result<i64, String> {
                    if conn.is_none() {
                        conn = Some(connect(&host, PORT)?);
                    }
                    let c = conn.as_mut().ok_or("no connection")?;
                    redis::cmd("SET")
                        .arg(format!("w:{i}"))
                        .arg(i)
                        .query::<()>(c)
                        .map_err(|e| e.to_string())?;
                    redis::cmd("WAIT")
                        .arg(1)
                        .arg(2000)
                        .query::<i64>(c)
                        .map_err(|e| e.to_string())
                })();
                report.slowest = report.slowest.max(started.elapsed());
                match result {
                    Ok(n) if n >= 1 => report.acknowledged.push(i),
                    Ok(_) => {}
                    Err(e) => {
                        report.errors += 1;
                        report.last_error = e;
                        conn = None;
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            report
        });
        Writer { stop, thread }
    }

    fn finish(self) -> WriterReport {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("writer thread")
    }
}

// ---------------------------------------------------------------------------------------------
// A cluster of containers on a network of the test's own

/// A user-defined network with a subnet of its own choosing (so a reconnected container gets
/// its address back), registered for removal.
fn create_network(made: &mut Made) -> (String, String) {
    let name = unique("net");
    let pid = std::process::id();
    let mut last = String::new();
    for attempt in 0..20u32 {
        let second = 240 + (pid + attempt) % 15;
        let third = (pid / 15 + attempt * 7) % 250;
        let prefix = format!("10.{second}.{third}");
        match docker(&[
            "network",
            "create",
            "--driver",
            "bridge",
            "--subnet",
            &format!("{prefix}.0/24"),
            &name,
        ]) {
            Ok(_) => {
                made.networks.push(name.clone());
                return (name, prefix);
            }
            Err(e) => last = e,
        }
    }
    panic!("could not create a network: {last}");
}

struct Container {
    name: String,
    alias: String,
    ip: String,
}

fn start_container(made: &mut Made, image: &str, network: &str, c: &Container, join: &str) {
    made.containers.push(c.name.clone());
    docker(&[
        "run",
        "--detach",
        "--name",
        &c.name,
        "--hostname",
        &c.alias,
        "--network",
        network,
        "--network-alias",
        &c.alias,
        "--ip",
        &c.ip,
        "--env",
        &format!("SHOAL_JOIN={join}"),
        "--env",
        &format!("SHOAL_CLUSTER_SECRET={SECRET}"),
        "--stop-timeout",
        "45",
        image,
    ])
    .unwrap_or_else(|e| panic!("docker run {}: {e}", c.name));
}

fn logs(name: &str) -> String {
    let out = Command::new("docker")
        .args(["logs", "--tail", "40", name])
        .output();
    out.map(|o| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
    .unwrap_or_default()
}

#[test]
fn three_containers_survive_kill_pause_and_disconnect() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !docker_engine_or_skip("three_containers_survive_kill_pause_and_disconnect") {
        return;
    }
    let mut made = Made::default();
    let image = build_image(&mut made);
    let (network, prefix) = create_network(&mut made);
    let containers: Vec<Container> = (1..=3)
        .map(|n| Container {
            name: unique(&format!("node{n}")),
            alias: format!("shoal{n}"),
            ip: format!("{prefix}.{}", 10 + n),
        })
        .collect();
    let join = containers
        .iter()
        .map(|c| format!("{}:16379", c.alias))
        .collect::<Vec<_>>()
        .join(",");
    let all: Vec<(String, u16)> = containers.iter().map(|c| (c.ip.clone(), PORT)).collect();
    let hosts: Vec<String> = containers.iter().map(|c| c.ip.clone()).collect();

    // All three at once, each given all three by name: whichever resolves only itself
    // starts the cluster, or they find each other.
    let started = Instant::now();
    for c in &containers {
        start_container(&mut made, &image, &network, c, &join);
    }
    let dump = || {
        containers
            .iter()
            .map(|c| format!("--- {} ---\n{}", c.name, logs(&c.name)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    converge("start", &all, 3, &dump);
    println!(
        "start-to-ready: {:.1} s from the first `docker run` to three containers serving one \
         topology",
        started.elapsed().as_secs_f64()
    );
    // The image's own health check turns healthy.
    shoal_tests::eventually("docker health checks pass", CONVERGE, || {
        containers.iter().all(|c| {
            docker(&["inspect", "--format", "{{.State.Health.Status}}", &c.name])
                .is_ok_and(|s| s.trim() == "healthy")
        })
    });
    for c in &containers {
        let ready = docker(&[
            "exec",
            &c.name,
            "/usr/local/bin/shoal",
            "--healthcheck",
            "--ready",
        ])
        .unwrap_or_else(|e| panic!("shoal --healthcheck --ready in {}: {e}", c.name));
        assert!(ready.contains("ready"), "{ready}");
    }

    if have_tool(&["redis-cli", "--version"], "apt-get install redis-tools") {
        check_redis_cli(&hosts);
    }
    if have_tool(
        &["python3", "-c", "import redis.cluster"],
        "pip install -r tests/python/requirements.txt",
    ) {
        check_redis_py(&hosts);
    }

    let writer = Writer::start(containers[0].ip.clone());
    std::thread::sleep(Duration::from_secs(1));
    let survivors = |gone: usize| -> Vec<(String, u16)> {
        all.iter()
            .enumerate()
            .filter(|&(i, _)| i != gone)
            .map(|(_, a)| a.clone())
            .collect()
    };

    // Killed, then started again (a new incarnation on the same address).
    docker(&["kill", &containers[2].name]).expect("docker kill");
    converge("node 3 killed", &survivors(2), 2, &dump);
    std::thread::sleep(DWELL);
    docker(&["start", &containers[2].name]).expect("docker start");
    converge("node 3 started again", &all, 3, &dump);

    // Paused past the node timeout: the others declare it down; unpaused, it rejoins.
    docker(&["pause", &containers[1].name]).expect("docker pause");
    converge("node 2 paused", &survivors(1), 2, &dump);
    std::thread::sleep(DWELL);
    docker(&["unpause", &containers[1].name]).expect("docker unpause");
    converge("node 2 unpaused", &all, 3, &dump);

    // Cut off from the network, then put back with its address and name.
    docker(&["network", "disconnect", &network, &containers[2].name]).expect("disconnect");
    converge("node 3 disconnected", &survivors(2), 2, &dump);
    std::thread::sleep(DWELL);
    docker(&[
        "network",
        "connect",
        "--ip",
        &containers[2].ip,
        "--alias",
        &containers[2].alias,
        &network,
        &containers[2].name,
    ])
    .expect("reconnect");
    converge("node 3 reconnected", &all, 3, &dump);
    std::thread::sleep(Duration::from_secs(1));
    let report = writer.finish();

    println!(
        "writer: {} writes, {} acknowledged by WAIT 1, {} errors (last: {}), slowest request {:.2} s",
        report.attempted,
        report.acknowledged.len(),
        report.errors,
        report.last_error,
        report.slowest.as_secs_f64()
    );
    assert!(
        report.slowest < HANG,
        "a request took {:?}: a hang",
        report.slowest
    );
    assert!(
        report.acknowledged.len() as u64 > report.attempted / 2,
        "most writes should be acknowledged: {report:?}"
    );
    // Every acknowledged write is there, read through every node.
    for (host, port) in &all {
        let mut conn = connect(host, *port).expect("connect to read back");
        let mut lost = Vec::new();
        for chunk in report.acknowledged.chunks(500) {
            let keys: Vec<String> = chunk.iter().map(|i| format!("w:{i}")).collect();
            let values: Vec<Option<u64>> = redis::cmd("MGET")
                .arg(&keys)
                .query(&mut conn)
                .unwrap_or_else(|e| panic!("MGET through {host}: {e}"));
            lost.extend(
                chunk
                    .iter()
                    .zip(values)
                    .filter(|(i, v)| *v != Some(**i))
                    .map(|(i, v)| (*i, v)),
            );
        }
        assert!(
            lost.is_empty(),
            "acknowledged writes lost, read through {host}: {} of {}, first {:?}\n{}",
            lost.len(),
            report.acknowledged.len(),
            &lost[..lost.len().min(10)],
            dump()
        );
    }
    println!(
        "all {} acknowledged writes read back through each node",
        report.acknowledged.len()
    );
}

// ---------------------------------------------------------------------------------------------
// docker/compose.yaml

/// `docker-compose` (Compose v1, Debian's) or `docker compose` (v2), whichever runs.
fn compose_command() -> Option<Vec<&'static str>> {
    if run("docker-compose", &["version"]).is_ok() {
        Some(vec!["docker-compose"])
    } else if run("docker", &["compose", "version"]).is_ok() {
        Some(vec!["docker", "compose"])
    } else {
        None
    }
}

/// Runs compose on docker/compose.yaml as project `project`.
fn compose(project: &str, env: &[(&str, String)], args: &[&str]) -> Result<String, String> {
    let command = compose_command().ok_or("no docker-compose or docker compose")?;
    let file = workspace().join("docker/compose.yaml");
    let mut all: Vec<&str> = command[1..].to_vec();
    all.extend(["-f", file.to_str().unwrap_or_default(), "-p", project]);
    all.extend_from_slice(args);
    run_env(command[0], &all, env)
}

#[test]
fn compose_file_starts_a_three_node_cluster() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !docker_engine_or_skip("compose_file_starts_a_three_node_cluster") {
        return;
    }
    if compose_command().is_none() {
        assert!(
            !under_ci(),
            "neither docker-compose nor docker compose runs under CI (apt-get install docker-compose)"
        );
        println!("skipped compose_file_starts_a_three_node_cluster: no docker-compose");
        return;
    }
    let mut made = Made::default();
    let image = build_image(&mut made);
    let project = unique("compose").replace('-', "");
    let ports = [free_port(), free_port(), free_port()];
    let env: Vec<(&'static str, String)> = vec![
        ("SHOAL_IMAGE", image),
        ("SHOAL_1_PORT", ports[0].to_string()),
        ("SHOAL_2_PORT", ports[1].to_string()),
        ("SHOAL_3_PORT", ports[2].to_string()),
        ("SHOAL_CLUSTER_SECRET", SECRET.to_string()),
    ];
    made.compose.push((project.clone(), env.clone()));
    let started = Instant::now();
    // Only Shoal's services: the Prometheus and Grafana images cannot be pulled here.
    compose(
        &project,
        &env,
        &["up", "-d", "--no-build", "shoal-1", "shoal-2", "shoal-3"],
    )
    .unwrap_or_else(|e| panic!("compose up: {e}"));
    let all: Vec<(String, u16)> = ports.iter().map(|p| ("127.0.0.1".into(), *p)).collect();
    converge("compose up", &all, 3, &|| {
        compose(&project, &env, &["logs", "--tail", "40"]).unwrap_or_else(|e| e)
    });
    println!(
        "compose: start-to-ready {:.1} s (shoal-2 and shoal-3 wait for shoal-1's health check)",
        started.elapsed().as_secs_f64()
    );
    // Plain clients through the published ports: any key from any node.
    for (i, port) in ports.iter().enumerate() {
        let mut conn = connect("127.0.0.1", *port).expect("connect to a published port");
        for k in 0..50 {
            let _: () = redis::cmd("SET")
                .arg(format!("c:{i}:{k}"))
                .arg(k)
                .query(&mut conn)
                .expect("SET");
        }
    }
    for port in ports {
        let mut conn = connect("127.0.0.1", port).expect("connect");
        for i in 0..3 {
            for k in 0..50 {
                let got: Option<u64> = redis::cmd("GET")
                    .arg(format!("c:{i}:{k}"))
                    .query(&mut conn)
                    .expect("GET");
                assert_eq!(got, Some(k), "c:{i}:{k} through port {port}");
            }
        }
    }
    let down = Instant::now();
    compose(&project, &env, &["down", "--timeout", "45"]).expect("compose down");
    println!(
        "compose down (each node leaves gracefully): {:.1} s",
        down.elapsed().as_secs_f64()
    );
}
