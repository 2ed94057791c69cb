//! The async shell: one tokio task that runs [`Membership`] over a UDP socket, and the
//! [`Cluster`] handle the server holds.
//!
//! The task owns the socket and the core and waits, in one `select!`, on: a received datagram,
//! the next foca timer (one `sleep_until` on the heap's earliest deadline), a command from the
//! handle, and the join-retry tick. After each wake-up it sends the core's outbox with
//! `try_send_to` (SWIM tolerates loss, so a full socket buffer drops and counts rather than
//! blocks), publishes events, and rebuilds and swaps the [`Topology`] when membership changed.
//!
//! Joining: seeds are resolved (DNS included) off the task, then announced to (at the port
//! given, and after two failed rounds also at port + 10000, so a seed may be named by its bus
//! or by its client port), every
//! `join_retry` until we are part of a cluster — also announcing to members believed down, so a
//! node isolated by a partition finds its way back — and every `seed_refresh` afterwards. With
//! no seeds the node is a one-node cluster owning every slot, until someone joins it.
//!
//! Stopping: [`Cluster::leave`] declares us down to a few members (who spread it at once),
//! flushes those datagrams and ends the task. [`Cluster::stop`] and dropping the handle end it
//! without a word, as a crash would: peers then detect it after the node timeout.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs, UdpSocket as StdUdpSocket};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use tokio::net::UdpSocket;
use tokio::runtime::Handle;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::config::{BUS_PORT_OFFSET, ClusterConfig, Timings, split_host_port};
use crate::error::{ClusterError, ConfigError};
use crate::identity::{NodeId, NodeIdentity, Phase};
use crate::membership::{Membership, MembershipEvent};
use crate::stats::{ClusterStats, StatsSnapshot};
use crate::topology::{Topology, TopologyHandle};

/// Capacity of the event channel; a subscriber that falls further behind gets `Lagged`.
const EVENT_CAPACITY: usize = 1024;
/// How often a node that has not joined its seeds' cluster says so.
const JOIN_WARNING_INTERVAL: Duration = Duration::from_secs(5);
/// How long joining may take before that is worth a warning.
const JOIN_WARNING_GRACE: Duration = Duration::from_secs(2);
/// Receive buffer: the largest UDP payload, so oversized datagrams are seen whole and counted.
const RECV_BUFFER: usize = 65536;

enum Command {
    Announce(Resolved),
    SetPhase(Phase),
    AddSeed(String),
    Leave(oneshot::Sender<()>),
}

/// A running cluster node: membership, topology and counters.
///
/// Dropping it stops the membership task without leaving (peers see a crash); call
/// [`Cluster::leave`] first on a graceful shutdown.
pub struct Cluster {
    topology: TopologyHandle,
    changes: watch::Receiver<Arc<Topology>>,
    events: broadcast::Sender<MembershipEvent>,
    stats: Arc<ClusterStats>,
    commands: mpsc::UnboundedSender<Command>,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
    bound_bus: SocketAddr,
    timings: Timings,
}

impl Cluster {
    /// Validates `config`, binds the gossip socket and starts the membership task on `runtime`.
    /// Returns once the socket is bound; joining proceeds in the background (watch
    /// [`Cluster::subscribe`] or [`Cluster::events`]). Until then, and for good with no seeds,
    /// this node is a one-node cluster owning every slot.
    pub fn start(config: ClusterConfig, runtime: &Handle) -> Result<Cluster, ClusterError> {
        config.validate()?;
        let bind = config.bus_bind_addr()?;
        let std_socket = StdUdpSocket::bind(bind)
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .map_err(|source| ClusterError::Bind { addr: bind, source })?;
        let bound_bus = std_socket
            .local_addr()
            .map_err(|source| ClusterError::Bind { addr: bind, source })?;
        let socket = {
            let _entered = runtime.enter();
            UdpSocket::from_std(std_socket)
                .map_err(|source| ClusterError::Bind { addr: bind, source })?
        };

        let announced = config.announced_addrs(bound_bus, fallback_ip(&config));
        let id = config
            .node_id
            .unwrap_or_else(|| NodeId::random(&mut rand::rng()));
        let identity = NodeIdentity::new(id, announced.client, announced.bus);
        let timings = config.timings();
        let stats = Arc::new(ClusterStats::default());
        let core = Membership::new(
            identity.clone(),
            timings,
            config.secret.as_deref().map(str::as_bytes),
            rand::make_rng::<StdRng>(),
            Arc::clone(&stats),
        );
        // A node given seeds is not part of any cluster until it has joined one: until then
        // its topology says so (`CLUSTER INFO` cluster_state:fail, keyed commands refused), so
        // that a node that cannot join never serves as a silent second cluster.
        let awaiting_join = !config.seeds.is_empty();
        let initial = Arc::new(
            Topology::single(&identity, config.tokens_per_node, config.replicas)
                .awaiting_join(awaiting_join),
        );
        let topology = TopologyHandle::new(Arc::clone(&initial));
        publish_gauges(&stats, &initial);
        let (changes_tx, changes) = watch::channel(initial);
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let (commands, commands_rx) = mpsc::unbounded_channel();
        tracing::info!(
            node_id = %identity.id,
            client = %identity.client,
            bus = %identity.bus,
            bound = %bound_bus,
            seeds = ?config.seeds,
            "cluster node starting"
        );

        let driver = Driver {
            core,
            socket,
            seeds: config.seeds.clone(),
            tokens_per_node: config.tokens_per_node,
            replicas: config.replicas,
            topology: topology.clone(),
            changes: changes_tx,
            events: events.clone(),
            stats: Arc::clone(&stats),
            commands: commands_rx,
            commands_tx: commands.downgrade(),
            resolving: None,
            failed_rounds: 0,
            last_seed_announce: None,
            origin: Instant::now(),
            awaiting_join,
            republish: false,
            bound_bus,
            resolved: None,
            last_join_warning: None,
            started: Instant::now(),
        };
        let task = runtime.spawn(driver.run());
        Ok(Cluster {
            topology,
            changes,
            events,
            stats,
            commands,
            task: std::sync::Mutex::new(Some(task)),
            bound_bus,
            timings,
        })
    }

    /// The current topology (lock-free; for per-request use prefer [`Self::topology_handle`]).
    pub fn topology(&self) -> Arc<Topology> {
        self.topology.load_full()
    }

    /// A cheap, cloneable handle to the published topology, for connection tasks.
    pub fn topology_handle(&self) -> TopologyHandle {
        self.topology.clone()
    }

    /// A receiver that is notified with each new topology.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Topology>> {
        self.changes.clone()
    }

    /// Membership events (member up/down/replaced, joined, isolated...) from now on.
    pub fn events(&self) -> broadcast::Receiver<MembershipEvent> {
        self.events.subscribe()
    }

    /// A copy of the counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// The live counters, to read without going through this handle.
    pub fn stats_handle(&self) -> Arc<ClusterStats> {
        Arc::clone(&self.stats)
    }

    /// The address the gossip socket is bound to (useful with port 0).
    pub fn local_bus_addr(&self) -> SocketAddr {
        self.bound_bus
    }

    /// The failure-detection timings in use.
    pub fn timings(&self) -> Timings {
        self.timings
    }

    /// Adds a seed (`host:port` of a member's bus, as `CLUSTER MEET`) and announces to it now
    /// and on every retry until joined.
    pub fn meet(&self, seed: &str) -> Result<(), ClusterError> {
        if split_host_port(seed).is_none() {
            return Err(ConfigError::Seed(seed.to_owned()).into());
        }
        self.commands
            .send(Command::AddSeed(seed.to_owned()))
            .map_err(|_| ClusterError::Stopped)
    }

    /// Moves this node to `phase` (see `identity::Phase`); the topology that follows is
    /// published as usual.
    pub fn set_phase(&self, phase: Phase) -> Result<(), ClusterError> {
        self.commands
            .send(Command::SetPhase(phase))
            .map_err(|_| ClusterError::Stopped)
    }

    /// Leaves the cluster gracefully: peers learn at once (not after the node timeout). The
    /// membership task ends once the leave datagrams are sent.
    pub async fn leave(&self) -> Result<(), ClusterError> {
        let (done, finished) = oneshot::channel();
        self.commands
            .send(Command::Leave(done))
            .map_err(|_| ClusterError::Stopped)?;
        finished.await.map_err(|_| ClusterError::Stopped)?;
        self.join_task().await;
        Ok(())
    }

    /// Stops the membership task without leaving, as if the process had been killed, and
    /// waits until its socket is closed.
    pub async fn stop(&self) {
        if let Some(task) = self.take_task() {
            task.abort();
            let _ = task.await;
        }
    }

    async fn join_task(&self) {
        if let Some(task) = self.take_task() {
            let _ = task.await;
        }
    }

    fn take_task(&self) -> Option<JoinHandle<()>> {
        self.task.lock().ok().and_then(|mut task| task.take())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(task) = self.take_task() {
            task.abort();
        }
    }
}

/// The IP to announce where the configured ones are unspecified (`0.0.0.0`): the local IP that
/// routes to the first resolvable seed (found with a connected UDP socket: a route lookup, no
/// packet is sent), else a non-loopback address the host name resolves to (a container's own
/// IP), else loopback.
fn fallback_ip(config: &ClusterConfig) -> IpAddr {
    let needed = config.announce_ip.is_none()
        && (config.client_addr.ip().is_unspecified()
            || config.bus_ip.is_some_and(|ip| ip.is_unspecified()));
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    if !needed {
        return loopback;
    }
    let routed = config.seeds.iter().find_map(|seed| {
        let target = seed.to_socket_addrs().ok()?.next()?;
        let unspecified: SocketAddr = match target {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let probe = StdUdpSocket::bind(unspecified).ok()?;
        probe.connect(target).ok()?;
        probe.local_addr().ok().map(|a| a.ip())
    });
    let by_hostname = || {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
        (name.trim(), 0)
            .to_socket_addrs()
            .ok()?
            .map(|a| a.ip())
            .find(|ip| !ip.is_loopback() && !ip.is_unspecified())
    };
    routed.or_else(by_hostname).unwrap_or_else(|| {
        tracing::warn!(
            "cannot tell which IP to announce; using 127.0.0.1 (set cluster-announce-ip)"
        );
        loopback
    })
}

fn publish_gauges(stats: &ClusterStats, topology: &Topology) {
    let mine = topology.my_slots();
    ClusterStats::set(&stats.topology_epoch, topology.epoch());
    ClusterStats::set(&stats.slots_primary, u64::from(mine.primary));
    ClusterStats::set(&stats.slots_replica, u64::from(mine.replica));
}

/// The membership task's state.
struct Driver {
    core: Membership,
    socket: UdpSocket,
    seeds: Vec<String>,
    tokens_per_node: u16,
    replicas: usize,
    topology: TopologyHandle,
    changes: watch::Sender<Arc<Topology>>,
    events: broadcast::Sender<MembershipEvent>,
    stats: Arc<ClusterStats>,
    commands: mpsc::UnboundedReceiver<Command>,
    /// For resolver tasks to report back without keeping the task alive.
    commands_tx: mpsc::WeakUnboundedSender<Command>,
    resolving: Option<JoinHandle<()>>,
    /// Join retries since we were last part of a cluster.
    failed_rounds: u32,
    last_seed_announce: Option<Instant>,
    /// Time zero of the core's clock.
    origin: Instant,
    /// Started with seeds and not yet part of a cluster (see [`Cluster::start`]).
    awaiting_join: bool,
    /// The topology must be published again although membership did not change.
    republish: bool,
    bound_bus: SocketAddr,
    /// What the last resolution of the seeds gave (other nodes' addresses only), for the
    /// not-joined warning.
    resolved: Option<Resolved>,
    last_join_warning: Option<Instant>,
    started: Instant,
}

/// The outcome of resolving the seeds once.
#[derive(Clone, Debug, Default)]
struct Resolved {
    /// Addresses of other nodes to announce to.
    others: Vec<SocketAddr>,
    /// Seeds that name this very node.
    found_self: bool,
    /// Seeds that did not resolve, with the resolver's error.
    failed: Vec<String>,
}

impl Driver {
    async fn run(mut self) {
        let mut buf = vec![0u8; RECV_BUFFER];
        let mut retry = tokio::time::interval(self.core.timings().join_retry);
        retry.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let deadline = self.core.next_deadline().map_or_else(
                || Instant::now() + Duration::from_secs(3600),
                |d| self.origin + d,
            );
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Announce(resolved)) => self.announce(resolved),
                    Some(Command::SetPhase(phase)) => {
                        let now = self.now();
                        self.core.set_phase(now, phase);
                    }
                    Some(Command::AddSeed(seed)) => {
                        if !self.seeds.contains(&seed) {
                            self.seeds.push(seed);
                        }
                        self.resolve_seeds();
                    }
                    Some(Command::Leave(done)) => {
                        let now = self.now();
                        self.core.leave(now);
                        self.flush();
                        let _ = done.send(());
                        break;
                    }
                    None => break,
                },
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((len, from)) => {
                        let now = self.now();
                        self.core.handle_datagram(now, from, buf.get(..len).unwrap_or_default());
                    }
                    // ICMP errors surface here on some platforms: not fatal.
                    Err(error) => tracing::debug!(%error, "gossip recv"),
                },
                () = tokio::time::sleep_until(deadline) => {
                    let now = self.now();
                    self.core.handle_timers(now);
                }
                _ = retry.tick() => self.retry_join(),
            }
            self.flush();
        }
        if let Some(resolver) = self.resolving.take() {
            resolver.abort();
        }
        tracing::info!("cluster membership task stopped");
    }

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// Announces to the seeds just resolved. Seeds that all name this node make it the first
    /// member of a new cluster (a symmetric deployment where every node lists the same seeds).
    fn announce(&mut self, resolved: Resolved) {
        let now = self.now();
        for &addr in &resolved.others {
            self.core.announce(now, addr);
        }
        if self.awaiting_join && resolved.found_self && resolved.others.is_empty() {
            tracing::info!("every seed is this node: starting a new cluster");
            self.awaiting_join = false;
            self.republish = true;
        }
        self.resolved = Some(resolved);
    }

    /// While a node given seeds has not joined, says so, and why when it can tell, at most
    /// every [`JOIN_WARNING_INTERVAL`].
    fn warn_not_joined(&mut self) {
        if !self.awaiting_join
            || self.started.elapsed() < JOIN_WARNING_GRACE
            || self
                .last_join_warning
                .is_some_and(|at| at.elapsed() < JOIN_WARNING_INTERVAL)
        {
            return;
        }
        self.last_join_warning = Some(Instant::now());
        let waited = self.started.elapsed().as_secs();
        let refused = self
            .core
            .refused_within(self.now(), JOIN_WARNING_INTERVAL * 2);
        let resolved = self.resolved.clone().unwrap_or_default();
        if let Some(by) = refused {
            tracing::warn!(
                seeds = ?self.seeds,
                refused_by = %by,
                waited_s = waited,
                "NOT JOINED: the seed refused our packets as unauthenticated: cluster-secret \
                 differs between this node and the cluster (or is set on one side only). \
                 Keyed commands get -CLUSTERDOWN until this node joins"
            );
        } else if resolved.others.is_empty() && !resolved.failed.is_empty() {
            tracing::warn!(
                seeds = ?self.seeds,
                unresolved = ?resolved.failed,
                waited_s = waited,
                "NOT JOINED: no seed could be resolved. Keyed commands get -CLUSTERDOWN until \
                 this node joins"
            );
        } else {
            tracing::warn!(
                seeds = ?self.seeds,
                tried = ?resolved.others,
                waited_s = waited,
                "NOT JOINED: no answer from any seed (wrong address or port, node down, or a \
                 firewall). Keyed commands get -CLUSTERDOWN until this node joins"
            );
        }
    }

    fn retry_join(&mut self) {
        if self.core.has_left() {
            return;
        }
        self.warn_not_joined();
        if self.core.is_joined() {
            self.failed_rounds = 0;
            let refresh = self.core.timings().seed_refresh;
            if self
                .last_seed_announce
                .is_none_or(|at| at.elapsed() >= refresh)
            {
                self.resolve_seeds();
            }
        } else {
            self.failed_rounds += 1;
            let now = self.now();
            self.core.announce_to_down_members(now);
            self.resolve_seeds();
        }
    }

    /// Resolves the seeds in a separate task (DNS may be slow) that sends back the addresses.
    fn resolve_seeds(&mut self) {
        if self.seeds.is_empty() || self.resolving.as_ref().is_some_and(|r| !r.is_finished()) {
            return;
        }
        self.last_seed_announce = Some(Instant::now());
        let guess_bus = self.failed_rounds >= 2;
        let seeds = self.seeds.clone();
        let reply = self.commands_tx.clone();
        let me = self.core.identity();
        let myself = [me.client, me.bus, self.bound_bus];
        self.resolving = Some(tokio::spawn(async move {
            let mut resolved = Resolved::default();
            for seed in &seeds {
                match tokio::net::lookup_host(seed.as_str()).await {
                    // A seed may name a member's bus, or (as in `--join host:7000`) its client
                    // port, whose bus is then at the default + 10000: once the port as given
                    // has failed twice, announce to both.
                    Ok(found) => {
                        for addr in found {
                            if myself.contains(&addr) {
                                resolved.found_self = true;
                                continue;
                            }
                            resolved.others.push(addr);
                            let guess = addr
                                .port()
                                .checked_add(BUS_PORT_OFFSET)
                                .filter(|_| guess_bus)
                                .map(|p| SocketAddr::new(addr.ip(), p))
                                .filter(|guess| !myself.contains(guess));
                            resolved.others.extend(guess);
                        }
                    }
                    Err(error) => {
                        tracing::debug!(%seed, %error, "cannot resolve seed");
                        resolved.failed.push(format!("{seed}: {error}"));
                    }
                }
            }
            resolved.others.dedup();
            if let Some(reply) = reply.upgrade() {
                let _ = reply.send(Command::Announce(resolved));
            }
        }));
    }

    /// Sends the outbox, publishes events and the topology.
    fn flush(&mut self) {
        for out in self.core.drain_outbox() {
            match self.socket.try_send_to(&out.datagram, out.to) {
                Ok(len) => {
                    ClusterStats::add(&self.stats.packets_sent, 1);
                    ClusterStats::add(&self.stats.bytes_sent, len as u64);
                }
                Err(error) => {
                    ClusterStats::add(&self.stats.send_errors, 1);
                    if error.kind() != io::ErrorKind::WouldBlock {
                        tracing::debug!(%error, to = %out.to, "gossip send");
                    }
                }
            }
        }
        for event in self.core.drain_events() {
            if event == MembershipEvent::Joined && self.awaiting_join {
                tracing::info!("joined the cluster");
                self.awaiting_join = false;
                self.republish = true;
            }
            let _ = self.events.send(event);
        }
        if self.core.take_changed() || std::mem::take(&mut self.republish) {
            let previous = self.topology.load_full();
            let members: Vec<_> = self
                .core
                .members()
                .map(|(identity, state)| (identity.clone(), state))
                .collect();
            let next = Arc::new(
                Topology::derive(
                    self.core.identity(),
                    members,
                    self.tokens_per_node,
                    self.replicas,
                    Some(&previous),
                )
                .awaiting_join(self.awaiting_join),
            );
            if next.epoch() != previous.epoch() {
                tracing::info!(
                    epoch = next.epoch(),
                    live = next.live_members().count(),
                    "topology changed"
                );
            }
            publish_gauges(&self.stats, &next);
            ClusterStats::add(&self.stats.topology_changes, 1);
            self.topology.store(Arc::clone(&next));
            self.changes.send_replace(next);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_handles_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<super::Cluster>();
        shared::<crate::TopologyHandle>();
        shared::<crate::ClusterStats>();
    }
}
