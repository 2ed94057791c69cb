//! The node's place in the cluster: the `cluster-*` directives, starting membership at
//! startup, and leaving it at shutdown.
//!
//! Membership, the slot ring and the topology live in the `shoal-cluster` crate. This module
//! only turns the server's settings into a [`ClusterConfig`], starts the [`Cluster`] once the
//! client port is bound (its port decides the default bus port, client port + 10000 as in
//! Redis), and keeps the handle with the [`TopologyHandle`] that commands read per request.
//! It also keeps the [`Lease`]: whether the node has been out of touch (paused, cut off) and
//! must not serve keys until it has caught up. The `CLUSTER` commands are in
//! `command/cluster.rs`, routing in `request/route.rs`, forwarding in `peer/`.

use crate::config::{Config, Directive, int_in};
use crate::peer::ClusterMode;
use shoal_cluster::config::{DEFAULT_NODE_TIMEOUT_MS, DEFAULT_REPLICAS, DEFAULT_TOKENS_PER_NODE};
use shoal_cluster::{Cluster, ClusterConfig, ClusterError, NodeId, Topology, TopologyHandle};
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How long shutdown waits for the leave datagrams to go out.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(2);

/// The cluster directives (see `DIRECTIVES` below for their names and limits).
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// `cluster-enabled`: with `no` the node is a plain standalone server (no bus, no
    /// `CLUSTER` commands), as Redis without cluster mode.
    pub enabled: bool,
    /// `join`: members to join through, `host:port` each (a member's bus port, or its
    /// client port when its bus is at client port + 10000). Empty: a one-node cluster.
    pub join: Vec<String>,
    /// `cluster-port`: UDP port of the gossip bus; 0 means client port + 10000 (a free port
    /// when the client port itself was 0).
    pub port: u16,
    /// `cluster-announce-ip`: the IP told to peers and clients instead of the bound one.
    pub announce_ip: Option<IpAddr>,
    /// `cluster-announce-port`: the client port told to peers and clients (0: the bound one).
    pub announce_port: u16,
    /// `cluster-announce-bus-port`: the bus port told to peers (0: the bound one).
    pub announce_bus_port: u16,
    /// `cluster-node-timeout`: failure-detection time in milliseconds.
    pub node_timeout: u64,
    /// `cluster-secret`: gossip packets carry an HMAC-SHA256 tag under this key.
    pub secret: Option<String>,
    /// `cluster-tokens-per-node`: positions each node takes on the ring (V).
    pub tokens_per_node: u16,
    /// `cluster-replication-factor`: owners per slot, primary included (R).
    pub replication_factor: usize,
    /// `cluster-slots-replicas`: whether `CLUSTER SLOTS` and `CLUSTER SHARDS` list each
    /// range's replicas after its primary. `no` lists primaries only, for clients that take a
    /// node's role from its first appearance in `CLUSTER SLOTS` (redis-py).
    pub slots_replicas: bool,
    /// `cluster-mode`: forward requests for other nodes' keys (`proxy`), or answer `-MOVED`
    /// (`redirect`, as Redis Cluster).
    pub mode: ClusterMode,
    /// `cluster-keyspace-commands`: `whole` makes DBSIZE and KEYS cover every node; `local`
    /// (the default) keeps them to this node's keys, as cluster clients expect.
    pub keyspace_whole: bool,
    /// `cluster-write-concern`: `all` makes a write wait for its live replicas'
    /// acknowledgement before its reply; `local` (the default) replies once it is applied
    /// here.
    pub write_concern_all: bool,
    /// `cluster-write-timeout`: how long (ms) a write waits for its replicas under
    /// `cluster-write-concern all` before it is answered `-NOREPLICAS`.
    pub write_timeout: u64,
    /// `repl-backlog-size`: bytes that may wait on the stream to one peer; messages beyond
    /// are dropped, and a replica that misses some is sent a snapshot (resynced).
    pub backlog_size: u64,
    /// `repl-snapshot-rate`: bytes per second a snapshot to a replica sends at most (0: no
    /// limit).
    pub snapshot_rate: u64,
    /// `cluster-leave-timeout`: how long (ms) a node leaving gracefully (SIGTERM, SHUTDOWN)
    /// waits for the next owners of its slots to catch up before it goes anyway.
    pub leave_timeout: u64,
    /// `cluster-anti-entropy-interval`: how often (ms) a primary sends its followers the
    /// digests of their slots (0: never; see `replication::anti_entropy`).
    pub anti_entropy_interval: u64,
    /// `cluster-anti-entropy-rate`: keys per second a digest walk looks at, at most (0: no
    /// limit).
    pub anti_entropy_rate: u64,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            enabled: true,
            join: Vec::new(),
            port: 0,
            announce_ip: None,
            announce_port: 0,
            announce_bus_port: 0,
            node_timeout: DEFAULT_NODE_TIMEOUT_MS,
            secret: None,
            tokens_per_node: DEFAULT_TOKENS_PER_NODE,
            replication_factor: DEFAULT_REPLICAS,
            slots_replicas: true,
            mode: ClusterMode::Proxy,
            keyspace_whole: false,
            write_concern_all: false,
            write_timeout: 1000,
            backlog_size: 64 * 1024 * 1024,
            snapshot_rate: 32 * 1024 * 1024,
            leave_timeout: 30_000,
            anti_entropy_interval: 60_000,
            anti_entropy_rate: 1_000_000,
        }
    }
}

impl fmt::Debug for ClusterSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterSettings")
            .field("enabled", &self.enabled)
            .field("join", &self.join)
            .field("port", &self.port)
            .field("announce_ip", &self.announce_ip)
            .field("announce_port", &self.announce_port)
            .field("announce_bus_port", &self.announce_bus_port)
            .field("node_timeout", &self.node_timeout)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("tokens_per_node", &self.tokens_per_node)
            .field("replication_factor", &self.replication_factor)
            .field("slots_replicas", &self.slots_replicas)
            .field("mode", &self.mode)
            .field("keyspace_whole", &self.keyspace_whole)
            .field("write_concern_all", &self.write_concern_all)
            .field("write_timeout", &self.write_timeout)
            .field("backlog_size", &self.backlog_size)
            .field("snapshot_rate", &self.snapshot_rate)
            .field("leave_timeout", &self.leave_timeout)
            .field("anti_entropy_interval", &self.anti_entropy_interval)
            .field("anti_entropy_rate", &self.anti_entropy_rate)
            .finish()
    }
}

/// Whether `seed` has the shape `host:port` (or `[v6]:port`) with a non-zero port.
fn is_host_port(seed: &str) -> bool {
    let Some((host, port)) = seed.rsplit_once(':') else {
        return false;
    };
    !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0)
}

fn yes_no(value: &str) -> Result<bool, String> {
    match value {
        v if v.eq_ignore_ascii_case("yes") => Ok(true),
        v if v.eq_ignore_ascii_case("no") => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

/// The cluster's directives; `config/directives.rs` looks names up here after its own table.
pub(crate) const DIRECTIVES: &[Directive] = &[
    Directive {
        name: "cluster-enabled",
        get: |c| if c.cluster.enabled { "yes" } else { "no" }.into(),
        set: |c, v| {
            c.cluster.enabled = yes_no(v)?;
            Ok(())
        },
        mutable: false,
    },
    // `--join a:1,b:2`, `--join a:1 b:2` and `join a:1 b:2` in the file all work.
    Directive {
        name: "join",
        get: |c| c.cluster.join.join(" "),
        set: |c, v| {
            let seeds: Vec<String> = v
                .split(|ch: char| ch == ',' || ch.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if let Some(bad) = seeds.iter().find(|s| !is_host_port(s)) {
                return Err(format!("'{bad}' is not host:port"));
            }
            c.cluster.join = seeds;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "cluster-port",
        get: |c| c.cluster.port.to_string(),
        set: |c, v| {
            c.cluster.port = int_in(v, 0, 65535)?;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "cluster-announce-ip",
        get: |c| {
            c.cluster
                .announce_ip
                .map(|ip| ip.to_string())
                .unwrap_or_default()
        },
        set: |c, v| {
            c.cluster.announce_ip = match v.trim() {
                "" => None,
                ip => Some(
                    ip.parse()
                        .map_err(|_| format!("'{ip}' is not an IP address"))?,
                ),
            };
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "cluster-announce-port",
        get: |c| c.cluster.announce_port.to_string(),
        set: |c, v| {
            c.cluster.announce_port = int_in(v, 0, 65535)?;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "cluster-announce-bus-port",
        get: |c| c.cluster.announce_bus_port.to_string(),
        set: |c, v| {
            c.cluster.announce_bus_port = int_in(v, 0, 65535)?;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "cluster-node-timeout",
        get: |c| c.cluster.node_timeout.to_string(),
        set: |c, v| {
            c.cluster.node_timeout = int_in(v, 100, 600_000)?;
            Ok(())
        },
        mutable: false,
    },
    // The secret is never shown: CONFIG GET answers whether one is set.
    Directive {
        name: "cluster-secret",
        get: |c| match c.cluster.secret {
            Some(_) => "(set)".into(),
            None => String::new(),
        },
        set: |c, v| {
            c.cluster.secret = (!v.is_empty()).then(|| v.to_string());
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "cluster-tokens-per-node",
        get: |c| c.cluster.tokens_per_node.to_string(),
        set: |c, v| {
            c.cluster.tokens_per_node = int_in(v, 1, 4096)?;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "cluster-replication-factor",
        get: |c| c.cluster.replication_factor.to_string(),
        set: |c, v| {
            c.cluster.replication_factor = int_in(v, 1, 16)?;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "cluster-slots-replicas",
        get: |c| {
            if c.cluster.slots_replicas {
                "yes"
            } else {
                "no"
            }
            .into()
        },
        set: |c, v| {
            c.cluster.slots_replicas = yes_no(v)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "cluster-mode",
        get: |c| c.cluster.mode.name().into(),
        set: |c, v| {
            c.cluster.mode = match v {
                v if v.eq_ignore_ascii_case("proxy") => ClusterMode::Proxy,
                v if v.eq_ignore_ascii_case("redirect") => ClusterMode::Redirect,
                _ => return Err("argument must be 'proxy' or 'redirect'".into()),
            };
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "cluster-keyspace-commands",
        get: |c| {
            if c.cluster.keyspace_whole {
                "whole"
            } else {
                "local"
            }
            .into()
        },
        set: |c, v| {
            c.cluster.keyspace_whole = match v {
                v if v.eq_ignore_ascii_case("whole") => true,
                v if v.eq_ignore_ascii_case("local") => false,
                _ => return Err("argument must be 'whole' or 'local'".into()),
            };
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "cluster-write-concern",
        get: |c| {
            if c.cluster.write_concern_all {
                "all"
            } else {
                "local"
            }
            .into()
        },
        set: |c, v| {
            c.cluster.write_concern_all = match v {
                v if v.eq_ignore_ascii_case("all") => true,
                v if v.eq_ignore_ascii_case("local") => false,
                _ => return Err("argument must be 'local' or 'all'".into()),
            };
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "repl-backlog-size",
        get: |c| c.cluster.backlog_size.to_string(),
        set: |c, v| {
            c.cluster.backlog_size = memory_value(v, 1)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "repl-snapshot-rate",
        get: |c| c.cluster.snapshot_rate.to_string(),
        set: |c, v| {
            c.cluster.snapshot_rate = memory_value(v, 0)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "cluster-leave-timeout",
        get: |c| c.cluster.leave_timeout.to_string(),
        set: |c, v| {
            c.cluster.leave_timeout = int_in(v, 0, 3_600_000)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "cluster-anti-entropy-interval",
        get: |c| c.cluster.anti_entropy_interval.to_string(),
        set: |c, v| {
            c.cluster.anti_entropy_interval = int_in(v, 0, 86_400_000)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "cluster-anti-entropy-rate",
        get: |c| c.cluster.anti_entropy_rate.to_string(),
        set: |c, v| {
            c.cluster.anti_entropy_rate = int_in(v, 0, 1_000_000_000)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "cluster-write-timeout",
        get: |c| c.cluster.write_timeout.to_string(),
        set: |c, v| {
            c.cluster.write_timeout = v
                .parse::<u64>()
                .ok()
                .filter(|ms| (1..=3_600_000).contains(ms))
                .ok_or("argument must be between 1 and 3600000 (ms)")?;
            Ok(())
        },
        mutable: true,
    },
];

/// A memory size directive's value (`64mb`, `1048576`), at least `min` bytes.
fn memory_value(text: &str, min: u64) -> Result<u64, &'static str> {
    crate::config::parse_memory(text)
        .filter(|&bytes| bytes >= min && bytes <= i64::MAX as u64)
        .ok_or("argument must be a memory value")
}

/// This node's membership handle and the topology it publishes.
pub struct NodeCluster {
    /// The running membership task.
    pub handle: Cluster,
    /// The current topology, read lock-free per request.
    pub topology: TopologyHandle,
    /// Whether this node may trust its topology enough to serve keys (see [`Lease`]).
    pub lease: std::sync::Arc<Lease>,
    /// `cluster-replication-factor`: the owners each slot should have.
    pub replicas: usize,
}

/// A node that has not heard from the cluster for a while, or whose process was paused, may
/// hold a topology the others have moved on from: they may have declared it down and given
/// its slots to its replicas, which now take writes. Serving its old slots then would take
/// writes that are lost, or answer values that are no longer current. The lease says when
/// that is possible. A watchdog ([`Lease::watch`]) ticks every 100 ms; a node that had peers
/// is *fenced* (keyed commands get `-CLUSTERDOWN`):
///
/// - while the watchdog has not ticked for half the node timeout (the process was paused, or
///   starved: SWIM may already have declared it down);
/// - after such a pause, and after it learns that it was declared down, until it has
///   *confirmed* its topology: every member it counts as live answers (`SHOAL.EPOCH`) the same
///   topology epoch as its own, so they agree on who owns every slot ([`Lease::confirm`]). A
///   node that sees nobody else confirms once it has been alone for twice the node timeout;
/// - while no gossip arrived for a whole node timeout although other members are live (cut
///   off from them).
pub struct Lease {
    node_timeout_ms: u64,
    /// Unix ms of the watchdog's last tick.
    last_tick_ms: std::sync::atomic::AtomicU64,
    /// Counts the times the node needed to confirm its topology.
    needed: std::sync::atomic::AtomicU64,
    /// The last of those that was confirmed: fenced while below `needed`.
    confirmed: std::sync::atomic::AtomicU64,
    /// Unix ms at which the latest confirmation was needed.
    needed_at_ms: std::sync::atomic::AtomicU64,
    /// No gossip arrived for a node timeout while other members are live.
    cut_off: std::sync::atomic::AtomicBool,
    /// Other members were live at the watchdog's last tick: only then can the others have
    /// moved on without this node (a node alone fences nothing).
    had_peers: std::sync::atomic::AtomicBool,
    /// This node is taking over slots (`handoff`): fenced until the others agree on the
    /// topology in which it serves them.
    taking_over: std::sync::atomic::AtomicBool,
    /// The latest topology epoch every live member was seen answering: while the current
    /// topology's is another, some node may still route by the previous one
    /// ([`Lease::settled`]).
    agreed_epoch: std::sync::atomic::AtomicU64,
}

impl Lease {
    fn new(node_timeout_ms: u64) -> Lease {
        Lease {
            node_timeout_ms,
            last_tick_ms: crate::clock::now_ms().into(),
            needed: 0.into(),
            confirmed: 0.into(),
            needed_at_ms: 0.into(),
            cut_off: false.into(),
            had_peers: false.into(),
            taking_over: false.into(),
            agreed_epoch: 0.into(),
        }
    }

    /// Whether keyed commands must be refused at `now` (Unix ms), for a node that sees
    /// other live members (`has_peers`) or not.
    #[inline]
    pub fn fenced(&self, now: u64, has_peers: bool) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        self.confirmed.load(Relaxed) < self.needed.load(Relaxed)
            || self.taking_over.load(Relaxed)
            || ((has_peers || self.had_peers.load(Relaxed))
                && (self.cut_off.load(Relaxed)
                    || now.saturating_sub(self.last_tick_ms.load(Relaxed))
                        > self.node_timeout_ms / 2))
    }

    /// Fences the node (`true`) while it takes over slots, until the others agree on the
    /// topology in which it serves them (`false`; see `handoff`).
    pub(crate) fn set_taking_over(&self, taking_over: bool) {
        self.taking_over
            .store(taking_over, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether every live member was seen answering `epoch` (this node's topology's): until
    /// then some of them may still route by the previous topology.
    #[inline]
    pub fn settled(&self, epoch: u64) -> bool {
        self.agreed_epoch.load(std::sync::atomic::Ordering::Relaxed) == epoch
    }

    /// Fences the node until it has confirmed its topology with the others.
    fn need_confirmation(&self, now: u64) {
        use std::sync::atomic::Ordering::SeqCst;
        self.needed_at_ms.store(now, SeqCst);
        self.needed.fetch_add(1, SeqCst);
    }

    /// The watchdog: runs on the node's main runtime for as long as the node does.
    pub async fn watch(
        self: std::sync::Arc<Self>,
        stats: std::sync::Arc<shoal_cluster::ClusterStats>,
        topology: TopologyHandle,
        mut events: tokio::sync::broadcast::Receiver<shoal_cluster::MembershipEvent>,
    ) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let accepted = |s: shoal_cluster::StatsSnapshot| {
            s.packets_received
                .saturating_sub(s.dropped_oversized + s.dropped_malformed)
                .saturating_sub(s.dropped_unauthenticated + s.dropped_rejected)
        };
        let mut heard = accepted(stats.snapshot());
        let mut heard_at = crate::clock::now_ms();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                event = events.recv() => {
                    match event {
                        Ok(shoal_cluster::MembershipEvent::Renewed(_)) => {
                            tracing::warn!("the cluster declared this node down; refusing keys until it has rejoined and the others agree on the topology");
                            self.need_confirmation(crate::clock::now_ms());
                        }
                        // Membership has stopped: the node is shutting down.
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                        _ => {}
                    }
                    continue;
                }
            }
            let now = crate::clock::now_ms();
            let last = self.last_tick_ms.load(Relaxed);
            let others_live = topology.load().live_members().count() > 1;
            let had_peers = others_live || self.had_peers.load(Relaxed);
            if now.saturating_sub(last) > self.node_timeout_ms / 2 && had_peers {
                tracing::warn!(
                    paused_ms = now.saturating_sub(last),
                    "this node was paused; refusing keys until the others agree on the topology"
                );
                // Fenced before the tick is recorded, so that no request slips in between.
                self.need_confirmation(now);
            }
            self.last_tick_ms.store(now, Relaxed);
            let count = accepted(stats.snapshot());
            if count != heard {
                heard = count;
                heard_at = now;
            }
            // After a pause this node may have rejoined as a new member and see itself alone
            // for a moment: it still had peers.
            if !self.fenced(now, others_live) {
                self.had_peers.store(others_live, Relaxed);
            }
            let cut_off = others_live && now.saturating_sub(heard_at) > self.node_timeout_ms;
            if cut_off != self.cut_off.swap(cut_off, Relaxed) && cut_off {
                tracing::warn!("no gossip from the cluster for a node timeout; refusing keys");
            }
        }
    }

    /// Confirms the topology whenever the watchdog asks for it, and notes when every member
    /// agrees on a new topology ([`Lease::settled`]): runs for as long as the node does,
    /// asking every live member for its epoch until all answer this node's own.
    pub async fn confirm(
        self: std::sync::Arc<Self>,
        topology: TopologyHandle,
        secret: Option<String>,
    ) {
        use std::sync::atomic::Ordering::SeqCst;
        let mut sessions: HashMap<NodeId, crate::peer::session::Session> = HashMap::new();
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let needed = self.needed.load(SeqCst);
            let confirming = self.confirmed.load(SeqCst) < needed;
            let view = topology.load_full();
            if !confirming && self.settled(view.epoch()) {
                sessions.clear();
                continue;
            }
            let alone = view.live_members().count() <= 1;
            let agreed = alone
                || (others_agree(
                    &view,
                    &mut sessions,
                    secret.as_deref(),
                    limit_of(self.node_timeout_ms),
                )
                .await
                    && topology.load().epoch() == view.epoch());
            if agreed {
                self.agreed_epoch.store(view.epoch(), SeqCst);
            }
            // A node that sees nobody else confirms once it has been alone for twice the
            // node timeout.
            let confirmed = if alone {
                let since = self.needed_at_ms.load(SeqCst);
                crate::clock::now_ms().saturating_sub(since) > 2 * self.node_timeout_ms
            } else {
                agreed
            };
            if confirming && confirmed {
                tracing::info!("the cluster agrees on this node's topology; serving keys again");
                self.confirmed.fetch_max(needed, SeqCst);
            }
        }
    }
}

/// How long one member may take to answer its epoch.
fn limit_of(node_timeout_ms: u64) -> Duration {
    Duration::from_millis(node_timeout_ms.max(100))
}

/// Whether every other live member of `view` answers `view`'s epoch (`SHOAL.EPOCH`), asked
/// on sessions kept in `sessions` for the next ask, each within `limit`.
pub(crate) async fn others_agree(
    view: &Topology,
    sessions: &mut HashMap<NodeId, crate::peer::session::Session>,
    secret: Option<&str>,
    limit: Duration,
) -> bool {
    let me = view.myself().id;
    for member in view.live_members().filter(|m| m.id != me) {
        let peer = crate::peer::Peer {
            id: member.id,
            addr: member.client,
        };
        if epoch_of(sessions, peer, secret, limit).await != Some(view.epoch()) {
            return false;
        }
    }
    true
}

/// Asks `peer` for its topology epoch on a session kept for the next ask; `None` when it
/// cannot be reached within `limit`.
async fn epoch_of(
    sessions: &mut HashMap<NodeId, crate::peer::session::Session>,
    peer: crate::peer::Peer,
    secret: Option<&str>,
    limit: Duration,
) -> Option<u64> {
    let ask = async {
        let mut session = match sessions.remove(&peer.id) {
            Some(session) => session,
            None => crate::peer::session::Session::open(peer, secret)
                .await
                .ok()?,
        };
        let request = crate::peer::link::encode(&[b"SHOAL.EPOCH".as_slice()]);
        let reply = session.call(&request, 1).await.ok()?;
        let epoch = crate::peer::frame::bulk(reply.first()?)
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|s| s.parse().ok());
        sessions.insert(peer.id, session);
        epoch
    };
    tokio::time::timeout(limit, ask).await.ok().flatten()
}

impl NodeCluster {
    /// Starts membership for a node whose clients reach it at `client` (the bound address).
    /// Must run inside the tokio runtime that will drive the gossip task.
    pub fn start(config: &Config, client: SocketAddr) -> Result<NodeCluster, ClusterError> {
        let settings = &config.cluster;
        let mut cluster = ClusterConfig::new(client);
        cluster.bus_port = match (settings.port, config.port) {
            (0, 0) => Some(0),
            (0, _) => None,
            (port, _) => Some(port),
        };
        cluster.announce_ip = settings.announce_ip;
        cluster.announce_client_port =
            (settings.announce_port != 0).then_some(settings.announce_port);
        cluster.announce_bus_port =
            (settings.announce_bus_port != 0).then_some(settings.announce_bus_port);
        cluster.seeds = settings.join.clone();
        cluster.node_timeout_ms = settings.node_timeout;
        cluster.secret = settings.secret.clone();
        cluster.tokens_per_node = settings.tokens_per_node;
        cluster.replicas = settings.replication_factor;
        let handle = Cluster::start(cluster, &tokio::runtime::Handle::current())?;
        let topology = handle.topology_handle();
        let lease = std::sync::Arc::new(Lease::new(settings.node_timeout));
        tokio::spawn(
            lease
                .clone()
                .watch(handle.stats_handle(), topology.clone(), handle.events()),
        );
        tokio::spawn(
            lease
                .clone()
                .confirm(topology.clone(), settings.secret.clone()),
        );
        Ok(NodeCluster {
            handle,
            topology,
            lease,
            replicas: settings.replication_factor,
        })
    }

    /// Leaves the cluster gracefully (peers learn at once rather than after the node timeout),
    /// giving up after a short while.
    pub async fn leave(&self) {
        match tokio::time::timeout(LEAVE_TIMEOUT, self.handle.leave()).await {
            Ok(Ok(())) => tracing::info!("left the cluster"),
            Ok(Err(error)) => tracing::warn!(%error, "could not leave the cluster"),
            Err(_) => tracing::warn!("leaving the cluster timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn cluster_flags_fill_the_settings() {
        let c = Config::from_args(&args(
            "--join 10.0.0.1:7000,node-b:17000 --cluster-port 17001 --cluster-node-timeout 3000 \
             --cluster-secret s3cret --cluster-announce-ip 203.0.113.7 --cluster-announce-port 30001 \
             --cluster-tokens-per-node 128 --cluster-replication-factor 3",
        ))
        .expect("valid");
        assert_eq!(c.cluster.join, vec!["10.0.0.1:7000", "node-b:17000"]);
        assert_eq!(c.cluster.port, 17001);
        assert_eq!(c.cluster.node_timeout, 3000);
        assert_eq!(c.cluster.secret.as_deref(), Some("s3cret"));
        assert_eq!(c.cluster.announce_ip, "203.0.113.7".parse().ok());
        assert_eq!(c.cluster.announce_port, 30001);
        assert_eq!(c.cluster.tokens_per_node, 128);
        assert_eq!(c.cluster.replication_factor, 3);
        assert!(!format!("{c:?}").contains("s3cret"));
        let shown = c.matching(&[b"cluster-secret"]);
        assert_eq!(shown, vec![("cluster-secret", "(set)".to_string())]);
    }

    #[test]
    fn bad_cluster_values_are_refused() {
        assert!(Config::from_args(&args("--join nohost")).is_err());
        assert!(Config::from_args(&args("--join host:0")).is_err());
        assert!(Config::from_args(&args("--cluster-node-timeout 5")).is_err());
        assert!(Config::from_args(&args("--cluster-announce-ip not-an-ip")).is_err());
        assert!(Config::from_args(&args("--cluster-replication-factor 0")).is_err());
        assert!(Config::from_args(&args("--cluster-enabled maybe")).is_err());
        let mut c = Config::default();
        assert!(
            c.apply_file_text("x.conf", "join a:1 b:2\ncluster-enabled no\n")
                .is_ok()
        );
        assert_eq!(c.cluster.join, vec!["a:1", "b:2"]);
        assert!(!c.cluster.enabled);
    }
}
