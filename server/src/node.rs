//! The node: everything one Shoal process shares among its connections.
//!
//! A [`Node`] holds the keyspace, the live configuration (with the few values connections
//! read on every batch mirrored in atomics), the client registry, statistics and the shutdown
//! signal. Connections hold an `Arc<Node>`; nothing in it is locked on the request path
//! except the shards a command touches.

use crate::client::ClientRegistry;
use crate::config::{Config, ConfigError, LogLevel};
use crate::stats::Stats;
use crate::store::Store;
use crate::store::expire::ExpirySettings;
use parking_lot::{RwLock, RwLockReadGuard};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;
use tokio::sync::watch;

/// Settings connections consult per batch or per connection, readable without a lock.
#[derive(Debug)]
pub struct Limits {
    maxclients: AtomicUsize,
    new_connections_per_cycle: AtomicUsize,
    timeout_secs: AtomicU64,
    proto_max_bulk_len: AtomicUsize,
    query_buffer_limit: AtomicUsize,
    tcp_keepalive_secs: AtomicU64,
}

impl Limits {
    fn from_config(config: &Config) -> Limits {
        let limits = Limits {
            maxclients: AtomicUsize::new(0),
            new_connections_per_cycle: AtomicUsize::new(0),
            timeout_secs: AtomicU64::new(0),
            proto_max_bulk_len: AtomicUsize::new(0),
            query_buffer_limit: AtomicUsize::new(0),
            tcp_keepalive_secs: AtomicU64::new(0),
        };
        limits.update(config);
        limits
    }

    fn update(&self, config: &Config) {
        self.maxclients.store(config.maxclients, Ordering::Relaxed);
        self.new_connections_per_cycle
            .store(config.max_new_connections_per_cycle, Ordering::Relaxed);
        self.timeout_secs.store(config.timeout, Ordering::Relaxed);
        self.proto_max_bulk_len
            .store(config.proto_max_bulk_len, Ordering::Relaxed);
        self.query_buffer_limit
            .store(config.client_query_buffer_limit, Ordering::Relaxed);
        self.tcp_keepalive_secs
            .store(config.tcp_keepalive, Ordering::Relaxed);
    }

    pub fn maxclients(&self) -> usize {
        self.maxclients.load(Ordering::Relaxed)
    }

    /// `max-new-connections-per-cycle`.
    pub fn new_connections_per_cycle(&self) -> usize {
        self.new_connections_per_cycle.load(Ordering::Relaxed)
    }

    /// Idle timeout in seconds (0: none).
    pub fn timeout_secs(&self) -> u64 {
        self.timeout_secs.load(Ordering::Relaxed)
    }

    pub fn proto_max_bulk_len(&self) -> usize {
        self.proto_max_bulk_len.load(Ordering::Relaxed)
    }

    pub fn query_buffer_limit(&self) -> usize {
        self.query_buffer_limit.load(Ordering::Relaxed)
    }

    pub fn tcp_keepalive_secs(&self) -> u64 {
        self.tcp_keepalive_secs.load(Ordering::Relaxed)
    }
}

/// A callback that applies a new log level (installed by the binary).
pub type LogLevelHook = Box<dyn Fn(LogLevel) + Send + Sync>;

/// State shared by every connection of one node.
pub struct Node {
    pub store: Arc<Store>,
    config: RwLock<Config>,
    pub limits: Limits,
    pub expiry: Arc<ExpirySettings>,
    pub clients: ClientRegistry,
    /// Clients blocked on keys (BLPOP…).
    pub blocked: crate::blocking::Blocked,
    pub slowlog: crate::slowlog::SlowLog,
    pub latency: crate::latency::LatencyMonitor,
    /// Clients in MONITOR mode.
    pub monitors: crate::monitor::Monitors,
    pub stats: Stats,
    /// Bumped by commands that change whole databases (FLUSHDB, FLUSHALL, SWAPDB): every
    /// `WATCH` taken before then fails its `EXEC`.
    pub keyspace_epoch: AtomicU64,
    /// The shards' counters (hits, misses, expired keys) when `CONFIG RESETSTAT` last ran:
    /// INFO shows the difference, Prometheus the running totals.
    pub shard_stats_baseline: parking_lot::Mutex<crate::store::ShardStats>,
    /// Highest `used_memory` seen.
    pub peak_memory: AtomicUsize,
    /// Bytes allocated when the node had just started (`MEMORY STATS` startup.allocated).
    pub startup_memory: usize,
    /// Evicted keys counted before the last `CONFIG RESETSTAT`.
    pub evicted_baseline: AtomicU64,
    pub started: Instant,
    /// 40 hex characters, new on every start (`INFO server` run_id).
    pub run_id: String,
    /// The port clients actually reach (differs from the config when it was 0).
    pub port: AtomicUsize,
    /// The port `/metrics` is served on (0: not served).
    pub metrics_port: AtomicUsize,
    /// Membership and topology, set once at startup (empty with `cluster-enabled no`).
    pub cluster: std::sync::OnceLock<crate::cluster::NodeCluster>,
    /// Forwarding to other nodes: routing settings, the secret links prove, counters.
    pub forward: crate::peer::Forwarder,
    /// Pub/Sub subscriptions of this node's clients.
    pub pubsub: crate::pubsub::PubSub,
    /// `notify-keyspace-events`.
    pub notifications: crate::notify::Notifications,
    /// `CLIENT TRACKING`: who may cache which key.
    pub tracking: crate::tracking::Tracking,
    /// What was sent to replicas and what they acknowledged.
    pub replication: crate::replication::Replication,
    /// Counters of slot hand-off (`handoff`).
    pub handoff: crate::handoff::HandoffStats,
    shutdown: watch::Sender<bool>,
    /// A graceful leave was asked for (see `handoff::leave`).
    leave: watch::Sender<bool>,
    log_level_hook: Option<LogLevelHook>,
}

impl Node {
    /// A node with `config`, its keyspace empty.
    pub fn new(config: Config, log_level_hook: Option<LogLevelHook>) -> Node {
        let expiry = Arc::new(ExpirySettings::new(config.hz));
        let (shutdown, _) = watch::channel(false);
        let (leave, _) = watch::channel(false);
        let slowlog =
            crate::slowlog::SlowLog::new(config.slowlog_log_slower_than, config.slowlog_max_len);
        let latency = crate::latency::LatencyMonitor::new(config.latency_monitor_threshold);
        let store = Arc::new(Store::new(config.databases));
        apply_eviction_settings(&store, &config);
        crate::store::evict::start_background(&store);
        let forward = crate::peer::Forwarder::new(config.cluster.secret.as_deref());
        forward.settings.apply(&config.cluster);
        let pubsub = crate::pubsub::PubSub::default();
        pubsub.limits.set(&config.client_output_buffer_limit);
        let notifications = crate::notify::Notifications::default();
        notifications.set(config.notify_keyspace_events, &store);
        let tracking = crate::tracking::Tracking::default();
        tracking.set_max_keys(config.tracking_table_max_keys);
        Node {
            store,
            forward,
            pubsub,
            notifications,
            tracking,
            replication: crate::replication::Replication::default(),
            handoff: crate::handoff::HandoffStats::default(),
            limits: Limits::from_config(&config),
            port: AtomicUsize::new(usize::from(config.port)),
            metrics_port: AtomicUsize::new(0),
            cluster: std::sync::OnceLock::new(),
            config: RwLock::new(config),
            expiry,
            clients: ClientRegistry::default(),
            blocked: crate::blocking::Blocked::default(),
            slowlog,
            latency,
            monitors: crate::monitor::Monitors::default(),
            stats: Stats::default(),
            keyspace_epoch: AtomicU64::new(0),
            shard_stats_baseline: parking_lot::Mutex::new(crate::store::ShardStats::default()),
            peak_memory: AtomicUsize::new(0),
            evicted_baseline: AtomicU64::new(0),
            startup_memory: crate::memory::used_memory(),
            started: Instant::now(),
            run_id: random_hex_id(),
            shutdown,
            leave,
            log_level_hook,
        }
    }

    /// The current configuration.
    pub fn config(&self) -> RwLockReadGuard<'_, Config> {
        self.config.read()
    }

    /// Records the ports actually bound, so `CONFIG GET port` and `CONFIG GET cluster-port`
    /// show the effective ones (the cluster bus defaults to client port + 10000; port 0 picks
    /// a free one).
    pub fn record_bound_ports(&self, bus: Option<u16>) {
        let mut config = self.config.write();
        config.port = u16::try_from(self.port.load(Ordering::Relaxed)).unwrap_or(config.port);
        if let Some(bus) = bus {
            config.cluster.port = bus;
        }
    }

    /// `CONFIG SET`: applies every (name, value) pair or none of them.
    pub fn set_config(&self, pairs: &[(String, String)]) -> Result<(), ConfigError> {
        let mut config = self.config.write();
        let mut next = config.clone();
        let mut seen = Vec::new();
        for (name, value) in pairs {
            let canonical =
                Config::canonical_name(name).ok_or_else(|| crate::config::unknown(name))?;
            if seen.contains(&canonical) {
                return Err(ConfigError::Invalid {
                    name: canonical,
                    reason: "duplicate parameter".into(),
                });
            }
            seen.push(canonical);
            next.set_at_runtime(name, value)?;
        }
        if next.loglevel != config.loglevel
            && let Some(hook) = &self.log_level_hook
        {
            hook(next.loglevel);
        }
        self.expiry.hz.store(next.hz, Ordering::Relaxed);
        self.slowlog
            .threshold_us
            .store(next.slowlog_log_slower_than, Ordering::Relaxed);
        self.slowlog.set_max_len(next.slowlog_max_len);
        self.latency
            .threshold_ms
            .store(next.latency_monitor_threshold, Ordering::Relaxed);
        self.limits.update(&next);
        self.forward.settings.apply(&next.cluster);
        apply_eviction_settings(&self.store, &next);
        self.pubsub.limits.set(&next.client_output_buffer_limit);
        self.notifications
            .set(next.notify_keyspace_events, &self.store);
        self.tracking.set_max_keys(next.tracking_table_max_keys);
        if next.maxmemory != config.maxmemory || next.maxmemory_policy != config.maxmemory_policy {
            self.store.memory_limit_changed();
        }
        *config = next;
        Ok(())
    }

    /// Counts an error reply (`total_error_replies`, `INFO errorstats`).
    pub fn count_error(&self, text: &str) {
        self.stats.error_replies.add(1);
        crate::commandstats::record_error(text);
    }

    /// Makes the statistics INFO shows start again from zero (`CONFIG RESETSTAT`); `shards`
    /// is what the shards' counters read now. Exported metrics keep counting.
    pub fn reset_stats(&self, shards: crate::store::ShardStats) {
        *self.shard_stats_baseline.lock() = shards;
        self.stats.reset();
        crate::commandstats::reset();
        self.peak_memory.store(0, Ordering::Relaxed);
        self.evicted_baseline
            .store(self.store.evictor.evicted_total(), Ordering::Relaxed);
    }

    /// Keys evicted since start or the last `CONFIG RESETSTAT` (`INFO stats`).
    pub fn evicted_keys(&self) -> u64 {
        self.store
            .evictor
            .evicted_total()
            .saturating_sub(self.evicted_baseline.load(Ordering::Relaxed))
    }

    /// Asks the node to stop: listeners close, connections finish their batch and close.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
        // A connection waits for its kill signal between batches, never during one.
        for client in self.clients.all() {
            client.kill();
        }
    }

    /// Asks the node to leave gracefully: a node with peers first hands its slots to their
    /// next owners (`handoff::leave`), then shuts down; a node alone, or one asked a second
    /// time, shuts down at once.
    pub fn leave(&self) {
        let alone = self
            .cluster
            .get()
            .is_none_or(|c| c.topology.load().live_members().count() <= 1);
        if alone || self.leave.send_replace(true) {
            self.shutdown();
        }
    }

    /// A receiver that sees `true` once a graceful leave was asked for.
    pub fn leave_signal(&self) -> watch::Receiver<bool> {
        self.leave.subscribe()
    }

    /// A receiver that sees `true` once shutdown began.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Whether shutdown began.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// Hands the `maxmemory` settings to the keyspace, which reads them without locks.
fn apply_eviction_settings(store: &Store, config: &Config) {
    store.evictor.settings.apply(
        config.maxmemory,
        config.maxmemory_policy,
        config.maxmemory_samples,
        config.lfu_log_factor,
        config.lfu_decay_time,
    );
}

/// 40 random hex characters, like Redis's run ids and node ids.
pub fn random_hex_id() -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    (0..40)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}
