//! The cluster's one typed configuration, and how its failure-detection knob maps onto SWIM.
//!
//! [`ClusterConfig`] mirrors Redis's cluster directives where they exist (`cluster-node-timeout`,
//! `cluster-port`, `cluster-announce-ip/port/bus-port`) and adds Shoal's own (seeds, tokens per
//! node, replication factor, secret). The server fills it from flags and the config file, calls
//! [`ClusterConfig::validate`] once at startup and passes it to [`crate::Cluster::start`].
//!
//! # From `node_timeout_ms` to foca
//!
//! One knob, `T = node_timeout_ms`, is the time within which a crashed node should be declared
//! down in a small cluster. A crashed node is declared down after (a) some member's round-robin
//! probe reaches it, (b) that probe and its indirect probes fail, which is noticed at the next
//! probe tick, and (c) the suspicion times out without a refutation; then the verdict spreads by
//! gossip. [`ClusterConfig::timings`] sets:
//!
//! | foca setting | value | why |
//! |---|---|---|
//! | `probe_period` | T / 8 | (a) + (b) take 1–3 periods |
//! | `probe_rtt` | probe_period / 3 | leaves 2/3 of the period for the 4-hop indirect probe |
//! | `suspect_to_down_after` | T / 2 × max(1, log10 n) | 4 periods for a live suspect to refute, growing with n as memberlist/foca do |
//! | `max_transmissions` | max(8, 4·log10(n+1)) | at least 8, so under loss a suspicion reaches its subject and the refutation comes back |
//! | `num_indirect_probes` | 3 | |
//! | periodic gossip | every probe_period / 2, to 3 members | verdicts and refutations spread in a few ms on a LAN |
//! | periodic announce | every max(5 s, 4·T), to 1 member; every 4 probe periods for 20 s after a member joins | discovers members we missed (a Feed lists ~28 members) |
//! | announce to down members | every max(5 s, 4·T), to 2 members | heals partitions; a live member wrongly declared down rejoins |
//!
//! With the default T = 1500 ms (probe every 187.5 ms, suspicion 750 ms) a killed node is
//! declared down by every member of a 3–5 node cluster in 1.1 s on average and 1.7 s at worst
//! (simulated loopback, 90 kills; about 1.05 s measured on real loopback sockets), and long
//! simulated runs with 5% packet loss (N = 3 for an hour, 5, 10 and 32 for 30, 20 and 5
//! minutes; 10 hours for N = 3 and 5 in the ignored soak) raise thousands of suspicions and
//! declare no live node down; at 10% loss still none (see
//! `tests/simulation.rs`). Redis's own default (15000 ms) is ten times slower; set it to get
//! Redis's timing.
//!
//! The suspicion timeout needs the *refutation* to get back in time; foca 2.0 would still
//! tell a member that refuted a suspicion that it is down (see
//! `Membership::handle_timers`), which the core filters out.

use std::net::{IpAddr, SocketAddr};
use std::num::{NonZeroU8, NonZeroUsize};
use std::time::Duration;

use crate::error::ConfigError;
use crate::identity::NodeId;

/// Default `node_timeout_ms`: a killed node is declared down within 2 s on loopback.
pub const DEFAULT_NODE_TIMEOUT_MS: u64 = 1500;
/// Default tokens per node, chosen by measuring ring balance (see `ring.rs`).
pub const DEFAULT_TOKENS_PER_NODE: u16 = 256;
/// Default replication factor: a primary and one replica per slot.
pub const DEFAULT_REPLICAS: usize = 2;
/// Offset of the default cluster bus port from the client port, as in Redis.
pub const BUS_PORT_OFFSET: u16 = 10000;
/// Largest UDP datagram we send or accept, envelope and tag included (fits a 1500-byte MTU).
pub const MAX_DATAGRAM: usize = 1400;

const MIN_NODE_TIMEOUT_MS: u64 = 100;
const MAX_NODE_TIMEOUT_MS: u64 = 600_000;
const MAX_TOKENS_PER_NODE: u16 = 4096;
const MAX_REPLICAS: usize = 16;

/// Everything the cluster layer needs to run one node.
#[derive(Clone)]
pub struct ClusterConfig {
    /// The address the server accepts clients on (the `bind` IP and `port`). Its port, plus
    /// [`BUS_PORT_OFFSET`], is the default bus port; it is the announced client address unless
    /// `announce_ip` / `announce_client_port` say otherwise. An unspecified IP (`0.0.0.0`) is
    /// replaced by the local IP that routes to the first seed, else 127.0.0.1.
    pub client_addr: SocketAddr,
    /// IP the UDP gossip socket binds to. `None`: the IP of `client_addr`.
    pub bus_ip: Option<IpAddr>,
    /// UDP port of the gossip socket (`cluster-port`). `None`: client port + 10000; `Some(0)`
    /// picks a free port.
    pub bus_port: Option<u16>,
    /// IP announced to peers and clients instead of the bound one (`cluster-announce-ip`), for
    /// NAT and containers.
    pub announce_ip: Option<IpAddr>,
    /// Client port announced instead of `client_addr`'s (`cluster-announce-port`).
    pub announce_client_port: Option<u16>,
    /// Bus port announced instead of the bound one (`cluster-announce-bus-port`).
    pub announce_bus_port: Option<u16>,
    /// Members to join through, as `host:port` (any live member works): the port is a member's
    /// bus port, or its client port when its bus is at the default client port + 10000 (after
    /// two unanswered rounds port + 10000 is tried too, so `--join 127.0.0.1:7000` works as in
    /// the issue, a second or two later than naming the bus). DNS names are resolved at
    /// join time and again on every retry. Empty: a one-node cluster until someone joins us.
    pub seeds: Vec<String>,
    /// Failure-detection time in milliseconds (`cluster-node-timeout`); see the module docs for
    /// how it maps onto SWIM. Range 100..=600000.
    pub node_timeout_ms: u64,
    /// Tokens (virtual positions on the ring) per node, V. Range 1..=4096. Every node of a
    /// cluster must use the same value, or their slot tables differ.
    pub tokens_per_node: u16,
    /// Replication factor R: owners per slot, primary included (capped by live nodes).
    /// Range 1..=16. Must be the same on every node.
    pub replicas: usize,
    /// Shared secret: when set, every gossip packet carries an HMAC-SHA256 tag and packets
    /// without a valid one are dropped. Must be the same on every node.
    pub secret: Option<String>,
    /// A fixed node id. `None` (the default): a random one on every start.
    pub node_id: Option<NodeId>,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("client_addr", &self.client_addr)
            .field("bus_ip", &self.bus_ip)
            .field("bus_port", &self.bus_port)
            .field("announce_ip", &self.announce_ip)
            .field("announce_client_port", &self.announce_client_port)
            .field("announce_bus_port", &self.announce_bus_port)
            .field("seeds", &self.seeds)
            .field("node_timeout_ms", &self.node_timeout_ms)
            .field("tokens_per_node", &self.tokens_per_node)
            .field("replicas", &self.replicas)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("node_id", &self.node_id)
            .finish()
    }
}

impl ClusterConfig {
    /// Defaults for a node serving clients on `client_addr`: no seeds (one-node cluster), bus on
    /// client port + 10000, no secret.
    pub fn new(client_addr: SocketAddr) -> Self {
        Self {
            client_addr,
            bus_ip: None,
            bus_port: None,
            announce_ip: None,
            announce_client_port: None,
            announce_bus_port: None,
            seeds: Vec::new(),
            node_timeout_ms: DEFAULT_NODE_TIMEOUT_MS,
            tokens_per_node: DEFAULT_TOKENS_PER_NODE,
            replicas: DEFAULT_REPLICAS,
            secret: None,
            node_id: None,
        }
    }

    /// Checks every setting; call once at startup.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(MIN_NODE_TIMEOUT_MS..=MAX_NODE_TIMEOUT_MS).contains(&self.node_timeout_ms) {
            return Err(ConfigError::NodeTimeout {
                min: MIN_NODE_TIMEOUT_MS,
                max: MAX_NODE_TIMEOUT_MS,
                got: self.node_timeout_ms,
            });
        }
        if !(1..=MAX_TOKENS_PER_NODE).contains(&self.tokens_per_node) {
            return Err(ConfigError::TokensPerNode {
                max: MAX_TOKENS_PER_NODE,
                got: self.tokens_per_node,
            });
        }
        if !(1..=MAX_REPLICAS).contains(&self.replicas) {
            return Err(ConfigError::Replicas {
                max: MAX_REPLICAS,
                got: self.replicas,
            });
        }
        if let Some(bad) = self.seeds.iter().find(|s| split_host_port(s).is_none()) {
            return Err(ConfigError::Seed(bad.clone()));
        }
        if self.secret.as_deref() == Some("") {
            return Err(ConfigError::EmptySecret);
        }
        self.bus_bind_addr()?;
        Ok(())
    }

    /// The address the gossip socket binds to.
    pub fn bus_bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        let ip = self.bus_ip.unwrap_or(self.client_addr.ip());
        let port = match self.bus_port {
            Some(port) => port,
            None if self.client_addr.port() == 0 => 0,
            None => self
                .client_addr
                .port()
                .checked_add(BUS_PORT_OFFSET)
                .ok_or(ConfigError::BusPortOverflow(self.client_addr.port()))?,
        };
        Ok(SocketAddr::new(ip, port))
    }

    /// The announced (client, bus) addresses, given the bus socket's bound address and the IP
    /// to use where everything else is unspecified.
    pub fn announced_addrs(&self, bound_bus: SocketAddr, fallback_ip: IpAddr) -> AnnouncedAddrs {
        let pick = |bound: IpAddr| {
            self.announce_ip
                .or((!bound.is_unspecified()).then_some(bound))
                .unwrap_or(fallback_ip)
        };
        let client_ip = pick(self.client_addr.ip());
        let bus_ip = match self.announce_ip {
            Some(ip) => ip,
            // A bus bound to 0.0.0.0 is reached where the clients reach us.
            None if bound_bus.ip().is_unspecified() => client_ip,
            None => bound_bus.ip(),
        };
        AnnouncedAddrs {
            client: SocketAddr::new(
                client_ip,
                self.announce_client_port.unwrap_or(self.client_addr.port()),
            ),
            bus: SocketAddr::new(bus_ip, self.announce_bus_port.unwrap_or(bound_bus.port())),
        }
    }

    /// The failure-detection timings derived from `node_timeout_ms` (see the module docs).
    pub fn timings(&self) -> Timings {
        Timings::from_node_timeout(Duration::from_millis(self.node_timeout_ms))
    }
}

/// The addresses a node announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnnouncedAddrs {
    /// Where clients reach the node.
    pub client: SocketAddr,
    /// Where peers send gossip.
    pub bus: SocketAddr,
}

/// Splits `host:port` (or `[v6]:port`); `None` if the shape is wrong.
pub(crate) fn split_host_port(seed: &str) -> Option<(&str, u16)> {
    let (host, port) = seed.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = port.parse::<u16>().ok()?;
    (!host.is_empty() && port != 0).then_some((host, port))
}

/// SWIM timings derived from the node timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timings {
    /// The configured node timeout.
    pub node_timeout: Duration,
    /// How often each member probes one other member.
    pub probe_period: Duration,
    /// How long a direct probe waits before asking others to probe indirectly.
    pub probe_rtt: Duration,
    /// How long a suspect stays suspect before it is declared down, in a cluster of up to 10
    /// nodes (it grows with log10 of the size beyond).
    pub suspicion: Duration,
    /// How often pending updates are gossiped.
    pub gossip_interval: Duration,
    /// How often a random member is asked for its member list.
    pub announce_interval: Duration,
    /// The same while the membership is changing (for `discovery_window` after a member joins):
    /// a Feed lists only ~28 members, so large clusters forming at once need several.
    pub fast_announce_interval: Duration,
    /// How long announcing stays fast after a member joins.
    pub discovery_window: Duration,
    /// How often members believed down are announced to (partition healing).
    pub announce_down_interval: Duration,
    /// How often seeds are retried while we are not part of a cluster.
    pub join_retry: Duration,
    /// How often seeds are re-resolved and announced to once joined.
    pub seed_refresh: Duration,
}

impl Timings {
    /// The mapping described in the module docs.
    pub fn from_node_timeout(node_timeout: Duration) -> Self {
        let probe_period = (node_timeout / 8).max(Duration::from_millis(10));
        Self {
            node_timeout,
            probe_period,
            probe_rtt: probe_period / 3,
            suspicion: node_timeout / 2,
            gossip_interval: probe_period / 2,
            announce_interval: (node_timeout * 4).max(Duration::from_secs(5)),
            fast_announce_interval: (probe_period * 4).max(Duration::from_millis(100)),
            discovery_window: Duration::from_secs(20),
            announce_down_interval: (node_timeout * 4).max(Duration::from_secs(5)),
            join_retry: (probe_period * 4)
                .clamp(Duration::from_millis(200), Duration::from_secs(2)),
            seed_refresh: Duration::from_secs(30),
        }
    }

    /// Suspicion timeout for a cluster of `members` live nodes.
    pub fn suspicion_for(&self, members: usize) -> Duration {
        let scale = (members.max(1) as f64).log10().max(1.0);
        self.suspicion.mul_f64(scale)
    }

    /// Transmissions per update for a cluster of `members` live nodes.
    pub fn max_transmissions_for(members: usize) -> NonZeroU8 {
        let by_size = (4.0 * ((members as f64) + 1.0).log10()) as u8;
        NonZeroU8::new(by_size.max(8)).unwrap_or(NonZeroU8::MIN)
    }

    /// The foca configuration for a cluster of `members` live nodes; `discovering` while
    /// members are joining (fast periodic announce).
    pub fn foca_config(&self, members: usize, discovering: bool) -> foca::Config {
        let announce = if discovering {
            self.fast_announce_interval
        } else {
            self.announce_interval
        };
        let periodic = |frequency, num_members: usize| {
            Some(foca::PeriodicParams {
                frequency,
                num_members: NonZeroUsize::new(num_members).unwrap_or(NonZeroUsize::MIN),
            })
        };
        foca::Config {
            probe_period: self.probe_period,
            probe_rtt: self.probe_rtt,
            num_indirect_probes: NonZeroUsize::new(3).unwrap_or(NonZeroUsize::MIN),
            max_transmissions: Self::max_transmissions_for(members),
            suspect_to_down_after: self.suspicion_for(members),
            // Forget members that stayed down for an hour: a restarted node comes back with a
            // new generation anyway, so nothing is locked out; this only bounds how long dead
            // nodes are listed (and announced to).
            remove_down_after: Some(Duration::from_secs(3600)),
            max_packet_size: NonZeroUsize::new(crate::wire::MAX_FOCA_PACKET)
                .unwrap_or(NonZeroUsize::MIN),
            notify_down_members: true,
            periodic_announce: periodic(announce, 1),
            periodic_announce_to_down_members: periodic(self.announce_down_interval, 2),
            periodic_gossip: periodic(self.gossip_interval, 3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ClusterConfig {
        ClusterConfig::new("127.0.0.1:7000".parse().expect("addr"))
    }

    #[test]
    fn defaults_validate_and_put_the_bus_at_port_plus_10000() {
        let c = config();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(
            c.bus_bind_addr(),
            Ok("127.0.0.1:17000".parse().expect("addr"))
        );
        let mut c = config();
        c.client_addr = "127.0.0.1:60000".parse().expect("addr");
        assert_eq!(c.validate(), Err(ConfigError::BusPortOverflow(60000)));
        c.bus_port = Some(7001);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn bad_settings_are_named() {
        let mut c = config();
        c.node_timeout_ms = 5;
        assert!(matches!(c.validate(), Err(ConfigError::NodeTimeout { .. })));
        let mut c = config();
        c.tokens_per_node = 0;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::TokensPerNode { .. })
        ));
        let mut c = config();
        c.replicas = 0;
        assert!(matches!(c.validate(), Err(ConfigError::Replicas { .. })));
        let mut c = config();
        c.seeds = vec!["10.0.0.1:17000".into(), "nohost".into()];
        assert_eq!(c.validate(), Err(ConfigError::Seed("nohost".into())));
        let mut c = config();
        c.secret = Some(String::new());
        assert_eq!(c.validate(), Err(ConfigError::EmptySecret));
    }

    #[test]
    fn seeds_accept_names_ipv4_and_bracketed_ipv6() {
        assert_eq!(
            split_host_port("shoal-0.shoal:17379"),
            Some(("shoal-0.shoal", 17379))
        );
        assert_eq!(split_host_port("10.1.2.3:1"), Some(("10.1.2.3", 1)));
        assert_eq!(split_host_port("[::1]:17000"), Some(("::1", 17000)));
        assert_eq!(split_host_port(":17000"), None);
        assert_eq!(split_host_port("host:0"), None);
        assert_eq!(split_host_port("host:99999"), None);
    }

    #[test]
    fn announced_addresses_follow_redis_directives() {
        let mut c = ClusterConfig::new("0.0.0.0:7000".parse().expect("addr"));
        let bound: SocketAddr = "0.0.0.0:17000".parse().expect("addr");
        let fallback: IpAddr = "10.0.0.5".parse().expect("ip");
        let a = c.announced_addrs(bound, fallback);
        assert_eq!(a.client, "10.0.0.5:7000".parse().expect("addr"));
        assert_eq!(a.bus, "10.0.0.5:17000".parse().expect("addr"));
        c.announce_ip = Some("203.0.113.9".parse().expect("ip"));
        c.announce_client_port = Some(30001);
        c.announce_bus_port = Some(40001);
        let a = c.announced_addrs(bound, fallback);
        assert_eq!(a.client, "203.0.113.9:30001".parse().expect("addr"));
        assert_eq!(a.bus, "203.0.113.9:40001".parse().expect("addr"));
    }

    #[test]
    fn the_default_timeout_maps_onto_sub_second_probes() {
        let t = config().timings();
        assert_eq!(t.probe_period, Duration::from_micros(187_500));
        assert_eq!(t.probe_rtt, Duration::from_micros(62_500));
        assert_eq!(t.suspicion, Duration::from_millis(750));
        assert_eq!(t.suspicion_for(100), Duration::from_millis(1500));
        assert_eq!(Timings::max_transmissions_for(3).get(), 8);
        assert_eq!(Timings::max_transmissions_for(1000).get(), 12);
        let foca = t.foca_config(3, false);
        assert!(foca.probe_rtt < foca.probe_period);
    }

    #[test]
    fn the_secret_is_not_printed() {
        let mut c = config();
        c.secret = Some("hunter2".into());
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
