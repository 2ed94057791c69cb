//! Real UDP sockets on loopback: joining, agreeing, crash and leave detection, restarts,
//! secrets, garbage, and 5% loss injected between members.
//!
//! Times are printed; assertions use protocol periods or generous bounds, never exact
//! durations.

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng, rngs::StdRng};
use shoal_cluster::wire::MAGIC;
use shoal_cluster::{Cluster, ClusterConfig, MemberState, MembershipEvent, NodeId, Topology};
use tokio::net::UdpSocket;
use tokio::runtime::Handle;
use tokio::sync::broadcast::error::TryRecvError;

fn config(client_port: u16, seeds: &[SocketAddr], secret: Option<&str>) -> ClusterConfig {
    let mut config = ClusterConfig::new(SocketAddr::from(([127, 0, 0, 1], client_port)));
    config.bus_port = Some(0);
    config.seeds = seeds.iter().map(ToString::to_string).collect();
    config.secret = secret.map(str::to_owned);
    config
}

fn start(config: ClusterConfig) -> Cluster {
    Cluster::start(config, &Handle::current()).expect("cluster starts")
}

/// Polls `done` every 5 ms for at most `limit`; the time it took.
async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

fn state_of(node: &Cluster, id: &NodeId) -> Option<MemberState> {
    node.topology().member(id).map(|m| m.state)
}

/// Every node sees exactly `n` live members and all agree on the epoch and slot table.
fn agree(nodes: &[&Cluster], n: usize) -> bool {
    let views: Vec<Arc<Topology>> = nodes.iter().map(|c| c.topology()).collect();
    views.iter().all(|t| {
        t.live_members().count() == n
            && t.epoch() == views[0].epoch()
            && t.slots() == views[0].slots()
    })
}

fn periods(node: &Cluster, d: Duration) -> f64 {
    d.as_secs_f64() / node.timings().probe_period.as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_seeds_is_a_one_node_cluster() {
    let node = start(config(31000, &[], None));
    let topology = node.topology();
    assert_eq!(topology.members().len(), 1);
    assert_eq!(topology.my_slots().primary, 16384);
    assert!((0..16384).all(|slot| topology.is_primary(slot)));
    let stats = node.stats();
    assert_eq!(
        (stats.joined, stats.members_alive, stats.slots_primary),
        (0, 1, 16384)
    );
    assert_eq!(stats.topology_epoch, topology.epoch());
    assert_eq!(
        topology.myself().client,
        "127.0.0.1:31000".parse().expect("addr")
    );
    node.leave().await.expect("a lone node leaves");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_join_agree_and_learn_of_a_crash_a_leave_and_a_restart() {
    let seed = start(config(32000, &[], None));
    let seed_bus = seed.local_bus_addr();
    let mut others: Vec<Cluster> = (1..5)
        .map(|i| start(config(32000 + i, &[seed_bus], None)))
        .collect();
    // One joiner names the seed by DNS.
    others.push({
        let mut c = config(32005, &[], None);
        c.seeds = vec![format!("localhost:{}", seed_bus.port())];
        start(c)
    });
    let changes = seed.subscribe();
    let all: Vec<&Cluster> = std::iter::once(&seed).chain(&others).collect();
    let joined = eventually(Duration::from_secs(10), || agree(&all, 6))
        .await
        .expect("6 members agree on one topology");
    assert!(changes.has_changed().expect("watch open"));
    let epoch = seed.topology().epoch();
    println!(
        "6 members joined through one seed and agree (epoch {epoch:016x}, {} slot ranges) after {joined:?}",
        seed.topology().slots().ranges().len()
    );
    let counts: Vec<u32> = all.iter().map(|c| c.stats().slots_primary as u32).collect();
    assert_eq!(counts.iter().sum::<u32>(), 16384);
    let replicas: u64 = all.iter().map(|c| c.stats().slots_replica).sum();
    assert_eq!(replicas, 16384);

    // Crash: stop a task without leaving.
    let crashed = others.pop().expect("node");
    let crashed_id = crashed.topology().myself().id;
    let crashed_bus = crashed.local_bus_addr();
    crashed.stop().await;
    let survivors: Vec<&Cluster> = std::iter::once(&seed).chain(&others).collect();
    let detected = eventually(Duration::from_secs(10), || {
        survivors
            .iter()
            .all(|c| state_of(c, &crashed_id) == Some(MemberState::Down))
    })
    .await
    .expect("crash detected");
    let p = periods(&seed, detected);
    println!(
        "crash declared down by all 5 survivors after {detected:?} = {p:.1} periods (target: 2 s, node timeout {:?})",
        seed.timings().node_timeout
    );
    // Generous: the simulation's worst case is ~9 periods; allow scheduling noise.
    assert!(p <= 20.0, "crash detection took {p:.1} periods");
    assert!(
        eventually(Duration::from_secs(5), || agree(&survivors, 5))
            .await
            .is_some()
    );

    // Graceful leave: seen by gossip, long before any failure timeout.
    let leaver = others.pop().expect("node");
    let leaver_id = leaver.topology().myself().id;
    let started = Instant::now();
    leaver.leave().await.expect("leave");
    let survivors: Vec<&Cluster> = std::iter::once(&seed).chain(&others).collect();
    let seen = eventually(Duration::from_secs(10), || {
        survivors
            .iter()
            .all(|c| state_of(c, &leaver_id) == Some(MemberState::Down))
    })
    .await
    .expect("leave seen");
    let took = started.elapsed();
    let suspicion = seed.timings().suspicion;
    println!(
        "graceful leave seen by all 4 remaining after {seen:?} ({took:?} including the leave call); \
         the suspicion timeout alone is {suspicion:?}"
    );
    assert!(
        took < suspicion,
        "leave took {took:?}: it went through failure detection"
    );

    // Restart on the crashed node's bus address: a new incarnation is accepted.
    let mut again = config(32005, &[seed_bus], None);
    again.bus_port = Some(crashed_bus.port());
    let restarted = start(again);
    let new_id = restarted.topology().myself().id;
    assert_ne!(new_id, crashed_id);
    let all: Vec<&Cluster> = survivors.iter().copied().chain([&restarted]).collect();
    let back = eventually(Duration::from_secs(10), || {
        agree(&all, 5) && all.iter().all(|c| state_of(c, &crashed_id).is_none())
    })
    .await
    .expect("restarted member accepted");
    println!("member restarted on the same address accepted by all after {back:?}");
    let stats = seed.stats();
    println!("seed counters: {stats:?}");
    assert!(stats.membership_changes >= 7);
    assert_eq!(stats.packets_dropped(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_may_be_named_by_its_client_port() {
    // The seed's bus is on the default port, client port + 10000.
    let mut seed_config = config(36100, &[], None);
    seed_config.bus_port = None;
    let seed = start(seed_config);
    assert_eq!(seed.local_bus_addr().port(), 46100);
    let mut joiner = config(36101, &[], None);
    joiner.seeds = vec!["127.0.0.1:36100".into()];
    let joiner = start(joiner);
    let took = eventually(Duration::from_secs(10), || agree(&[&seed, &joiner], 2))
        .await
        .expect("joined through the client port");
    println!("joined through the seed's client port after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_with_a_wrong_secret_never_joins() {
    let seed = start(config(33000, &[], Some("right")));
    let bus = seed.local_bus_addr();
    let wrong = start(config(33001, &[bus], Some("wrong")));
    let plain = start(config(33002, &[bus], None));
    let timings = seed.timings();
    // Several join retries' worth.
    tokio::time::sleep(timings.join_retry * 5).await;
    assert_eq!(seed.topology().members().len(), 1);
    assert_eq!(wrong.stats().joined, 0);
    assert_eq!(plain.stats().joined, 0);
    assert_eq!(wrong.topology().members().len(), 1);
    let dropped = seed.stats().dropped_unauthenticated;
    println!(
        "after {:?}: seed dropped {dropped} unauthenticated datagrams, wrong-secret node dropped {}",
        timings.join_retry * 5,
        wrong.stats().dropped_unauthenticated
    );
    assert!(dropped >= 4, "{dropped} unauthenticated drops");

    // Control: the right secret joins.
    let right = start(config(33003, &[bus], Some("right")));
    assert!(
        eventually(Duration::from_secs(10), || agree(&[&seed, &right], 2))
            .await
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_datagrams_are_dropped_and_counted_without_harm() {
    for secret in [None, Some("s3cret")] {
        let a = start(config(34000, &[], secret));
        let b = start(config(34001, &[a.local_bus_addr()], secret));
        assert!(
            eventually(Duration::from_secs(10), || agree(&[&a, &b], 2))
                .await
                .is_some()
        );
        let target = a.local_bus_addr();
        let before = a.stats();
        let sender = StdUdpSocket::bind("127.0.0.1:0").expect("socket");
        let mut rng = StdRng::seed_from_u64(0xBAD);
        let mut sent = 0u64;
        let mut send = |bytes: &[u8]| {
            sender.send_to(bytes, target).expect("send");
            sent += 1;
        };
        send(&[]);
        send(&[MAGIC]);
        send(b"*1\r\n$4\r\nPING\r\n");
        send(&vec![MAGIC; 1401]);
        send(&vec![0u8; 60000]);
        send(&[MAGIC, 0, 1, 2, 3]);
        send(&[MAGIC, 1]);
        for _ in 0..300 {
            let len = rng.random_range(0..1500);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if rng.random_bool(0.5) && len > 2 {
                bytes[0] = MAGIC;
                bytes[1] = u8::from(secret.is_some());
            }
            send(&bytes);
        }
        let received = eventually(Duration::from_secs(10), || {
            a.stats().packets_dropped() - before.packets_dropped() >= sent
        })
        .await;
        let after = a.stats();
        println!(
            "secret {:?}: {sent} garbage datagrams -> oversized {}, malformed {}, unauthenticated {}, rejected {}",
            secret.is_some(),
            after.dropped_oversized - before.dropped_oversized,
            after.dropped_malformed - before.dropped_malformed,
            after.dropped_unauthenticated - before.dropped_unauthenticated,
            after.dropped_rejected - before.dropped_rejected,
        );
        assert!(received.is_some(), "not every garbage datagram was counted");
        assert!(after.dropped_oversized - before.dropped_oversized >= 2);
        // Still a healthy two-member cluster, and still answering.
        tokio::time::sleep(a.timings().probe_period * 4).await;
        assert!(agree(&[&a, &b], 2));
        assert!(a.stats().packets_received > after.packets_received);
        b.leave().await.expect("leave");
        a.leave().await.expect("leave");
    }
}

/// A UDP forwarder that drops `loss` of the datagrams it relays to the address it is given.
async fn lossy_proxy(
    loss: f64,
    seed: u64,
) -> (SocketAddr, tokio::sync::oneshot::Sender<SocketAddr>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("proxy socket");
    let addr = socket.local_addr().expect("proxy addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    tokio::spawn(async move {
        let Ok(target) = rx.await else { return };
        let mut rng = StdRng::seed_from_u64(seed);
        let mut buf = vec![0u8; 65536];
        while let Ok((len, _)) = socket.recv_from(&mut buf).await {
            if !rng.random_bool(loss) {
                let _ = socket.send_to(&buf[..len], target).await;
            }
        }
    });
    (addr, tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_live_member_is_declared_down_with_five_percent_loss_in_the_transport() {
    const N: usize = 4;
    const RUN: Duration = Duration::from_secs(30);
    let mut nodes = Vec::new();
    let mut seed_addr = None;
    for i in 0..N {
        // Every member is reached through its own lossy proxy: its announced bus address.
        let (proxy, target) = lossy_proxy(0.05, i as u64).await;
        let mut c = config(35000 + i as u16, seed_addr.as_slice(), None);
        c.announce_bus_port = Some(proxy.port());
        let node = start(c);
        target.send(node.local_bus_addr()).expect("proxy waiting");
        seed_addr.get_or_insert(proxy);
        nodes.push(node);
    }
    let all: Vec<&Cluster> = nodes.iter().collect();
    eventually(Duration::from_secs(20), || agree(&all, N))
        .await
        .expect("lossy cluster formed");
    let mut events: Vec<_> = nodes.iter().map(Cluster::events).collect();
    tokio::time::sleep(RUN).await;
    let mut bad = Vec::new();
    for rx in &mut events {
        loop {
            match rx.try_recv() {
                Ok(e @ (MembershipEvent::MemberDown(_) | MembershipEvent::Renewed(_))) => {
                    bad.push(e)
                }
                Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
    }
    let suspicions: u64 = nodes.iter().map(|n| n.stats().suspicions).sum();
    let sent: u64 = nodes.iter().map(|n| n.stats().packets_sent).sum();
    println!(
        "{N} members, 5% loss per datagram, {RUN:?} ({:.0} periods): {sent} datagrams sent, \
         {suspicions} suspicions, {} live members declared down",
        periods(&nodes[0], RUN),
        bad.len()
    );
    assert!(bad.is_empty(), "{bad:?}");
    assert!(agree(&all, N));
}
