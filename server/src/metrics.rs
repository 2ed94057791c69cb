//! Prometheus metrics at `/metrics` on `metrics-port`.
//!
//! Nothing here runs per request. Exported counters count since the process started:
//! `CONFIG RESETSTAT` resets what INFO shows, not them (a Prometheus counter only goes down
//! when the process restarts). The request path keeps its own counters (shards, per-thread
//! [`Counter`](crate::stats::Counter)s, [`commandstats`](crate::commandstats)); a scrape reads
//! them once, sets the matching series in the `metrics` registry (rendered by
//! `metrics-exporter-prometheus`) and appends the per-command latency histograms, rendered
//! from the commandstats buckets. Adding a node-wide series is one line in [`COUNTERS`] or
//! [`GAUGES`]. Cluster series (`shoal_cluster_*`: members by state, topology epoch, slots
//! owned, gossip packets) are read from the cluster layer's counters; forwarding series
//! (`shoal_forwarded_requests_total{peer}`, `shoal_peer_links_up{peer}`, the
//! `shoal_forward_duration_seconds` histogram, `shoal_redirects_total`) from `forward::stats`.

use crate::commandstats::{BOUNDS_US, CommandTotals};
use crate::info::Facts;
use crate::node::Node;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A series read from the node at scrape time: name, help text, how to read it.
type Reading = (&'static str, &'static str, fn(&Node, &Facts) -> f64);

/// Monotonic counters (`_total`).
const COUNTERS: &[Reading] = &[
    (
        "shoal_commands_processed_total",
        "Commands run, all commands together.",
        |n, _| n.stats.commands_processed.total() as f64,
    ),
    (
        "shoal_connections_received_total",
        "Client connections accepted.",
        |n, _| n.stats.connections_received.total() as f64,
    ),
    (
        "shoal_connections_rejected_total",
        "Client connections refused because maxclients were connected.",
        |n, _| n.stats.rejected_connections.total() as f64,
    ),
    (
        "shoal_expired_keys_total",
        "Keys removed because their TTL passed.",
        |_, f| f.shards.expired as f64,
    ),
    (
        "shoal_evicted_keys_total",
        "Keys evicted to stay under maxmemory.",
        |n, _| n.store.evictor.evicted_total() as f64,
    ),
    (
        "shoal_keyspace_hits_total",
        "Reads that found their key.",
        |_, f| f.shards.hits as f64,
    ),
    (
        "shoal_keyspace_misses_total",
        "Reads that did not find their key.",
        |_, f| f.shards.misses as f64,
    ),
    (
        "shoal_net_input_bytes_total",
        "Bytes read from clients.",
        |n, _| n.stats.net_input_bytes.total() as f64,
    ),
    (
        "shoal_net_output_bytes_total",
        "Bytes written to clients.",
        |n, _| n.stats.net_output_bytes.total() as f64,
    ),
    (
        "shoal_error_replies_total",
        "Error replies sent, all types together.",
        |n, _| n.stats.error_replies.total() as f64,
    ),
];

/// Gauges: values that go up and down.
const GAUGES: &[Reading] = &[
    (
        "shoal_connected_clients",
        "Clients connected now.",
        |n, _| n.clients.len() as f64,
    ),
    (
        "shoal_blocked_clients",
        "Clients waiting in a blocking command.",
        |n, _| n.blocked.count() as f64,
    ),
    (
        "shoal_memory_used_bytes",
        "Bytes allocated, as the allocator counts them.",
        |_, f| f.memory.0 as f64,
    ),
    (
        "shoal_memory_max_bytes",
        "The maxmemory limit in bytes (0: none).",
        |n, _| n.store.evictor.settings.maxmemory() as f64,
    ),
    (
        "shoal_memory_rss_bytes",
        "Resident memory of the process.",
        |_, _| crate::memory::rss() as f64,
    ),
    (
        "shoal_uptime_seconds",
        "Seconds since the node started.",
        |n, _| n.started.elapsed().as_secs_f64(),
    ),
    ("shoal_maxclients", "The maxclients limit.", |n, _| {
        n.limits.maxclients() as f64
    }),
];

/// The `le` bounds of the latency histogram, in µs (10 µs … 1 s).
const HISTOGRAM_US: [u64; 16] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
    500_000, 1_000_000,
];

/// Installs the registry (once per process) and returns what renders it.
pub fn install() -> Option<PrometheusHandle> {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).ok()?;
    for (name, help, _) in COUNTERS {
        metrics::describe_counter!(*name, *help);
    }
    for (name, help, _) in GAUGES {
        metrics::describe_gauge!(*name, *help);
    }
    metrics::describe_counter!("shoal_commands_total", "Calls of each command.");
    metrics::describe_counter!(
        "shoal_command_failed_total",
        "Calls of each command that answered an error."
    );
    metrics::describe_counter!(
        "shoal_command_rejected_total",
        "Calls of each command refused before running (arity, transaction state)."
    );
    metrics::describe_counter!(
        "shoal_errors_total",
        "Error replies by error code (ERR, WRONGTYPE…)."
    );
    metrics::describe_gauge!(
        "shoal_keys",
        "Keys in each database (expired ones not yet reclaimed included)."
    );
    metrics::describe_gauge!(
        "shoal_keys_with_expiry",
        "Keys with a TTL in each database."
    );
    describe_cluster();
    Some(handle)
}

/// Sets every series from the node's counters.
fn collect(node: &Node, facts: &Facts) {
    for (name, _, read) in COUNTERS {
        metrics::counter!(*name).absolute(read(node, facts) as u64);
    }
    for (name, _, read) in GAUGES {
        metrics::gauge!(*name).set(read(node, facts));
    }
    for (id, totals) in facts.commands_total.commands.iter().enumerate() {
        if totals.calls == 0 && totals.failed == 0 && totals.rejected == 0 {
            continue;
        }
        let Some(cmd) = crate::command::table::name_of(id) else {
            continue;
        };
        metrics::counter!("shoal_commands_total", "cmd" => cmd).absolute(totals.calls);
        metrics::counter!("shoal_command_failed_total", "cmd" => cmd).absolute(totals.failed);
        metrics::counter!("shoal_command_rejected_total", "cmd" => cmd).absolute(totals.rejected);
    }
    for (code, count) in &facts.commands_total.errors {
        metrics::counter!("shoal_errors_total", "type" => code.clone()).absolute(*count);
    }
    for (db, summary) in facts.dbs.iter().enumerate() {
        let db = db.to_string();
        metrics::gauge!("shoal_keys", "db" => db.clone()).set(summary.keys as f64);
        metrics::gauge!("shoal_keys_with_expiry", "db" => db).set(summary.volatile as f64);
    }
    collect_cluster(node);
    collect_forwarding(node);
    collect_pubsub(node);
    collect_replication(node);
}

/// Appends `shoal_command_duration_seconds`, one histogram per command that ran.
fn render_histograms(facts: &Facts, out: &mut String) {
    out.push_str(
        "# HELP shoal_command_duration_seconds Time to run a command, lock waits included.\n",
    );
    out.push_str("# TYPE shoal_command_duration_seconds histogram\n");
    for (id, totals) in facts.commands_total.commands.iter().enumerate() {
        if totals.calls == 0 {
            continue;
        }
        let Some(cmd) = crate::command::table::name_of(id) else {
            continue;
        };
        write_histogram(cmd, totals, out);
    }
}

fn write_histogram(cmd: &str, totals: &CommandTotals, out: &mut String) {
    let name = "shoal_command_duration_seconds";
    let mut cumulative = 0;
    let mut fine = BOUNDS_US.iter().zip(totals.buckets.iter()).peekable();
    for le in HISTOGRAM_US {
        while let Some((_, count)) = fine.next_if(|(bound, _)| **bound <= le) {
            cumulative += count;
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{cmd=\"{cmd}\",le=\"{}\"}} {cumulative}",
            le as f64 / 1e6
        );
    }
    let total: u64 = totals.buckets.iter().sum();
    let _ = writeln!(out, "{name}_bucket{{cmd=\"{cmd}\",le=\"+Inf\"}} {total}");
    let _ = writeln!(
        out,
        "{name}_sum{{cmd=\"{cmd}\"}} {}",
        totals.usec as f64 / 1e6
    );
    let _ = writeln!(out, "{name}_count{{cmd=\"{cmd}\"}} {total}");
}

/// The whole `/metrics` page.
pub fn render(node: &Node, handle: &PrometheusHandle) -> String {
    let mut view = node.store.on_demand(crate::clock::now_ms());
    let facts = Facts::gather(node, &mut view);
    drop(view);
    collect(node, &facts);
    handle.run_upkeep();
    let mut page = handle.render();
    render_histograms(&facts, &mut page);
    render_forward_histogram(node, &mut page);
    page
}

/// Serves `GET /metrics` (any other path: 404) until the node shuts down.
pub async fn serve(node: Arc<Node>, listener: TcpListener, handle: PrometheusHandle) {
    let mut shutdown = node.shutdown_signal();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|stopping| *stopping) => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((mut stream, _)) = accepted else {
            continue;
        };
        let (node, handle) = (node.clone(), handle.clone());
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            // Read the request head (we ignore any body); give up on oversized ones.
            while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&request);
            let path = line.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = if line.starts_with("GET ")
                && (path == "/metrics" || path.starts_with("/metrics?"))
            {
                ("200 OK", render(&node, &handle))
            } else {
                (
                    "404 Not Found",
                    "not found: metrics are at /metrics\n".to_string(),
                )
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

/// The port metrics are served on (0: none), for INFO and the startup line.
pub fn port(node: &Node) -> usize {
    node.metrics_port.load(Ordering::Relaxed)
}

/// Cluster series: name, help, and how to read it from the cluster layer's counters.
type ClusterReading = (
    &'static str,
    &'static str,
    fn(&shoal_cluster::StatsSnapshot) -> u64,
);

/// Cluster counters (`_total`), from `shoal_cluster::ClusterStats`.
const CLUSTER_COUNTERS: &[ClusterReading] = &[
    (
        "shoal_cluster_gossip_packets_sent_total",
        "Gossip datagrams sent on the cluster bus.",
        |s| s.packets_sent,
    ),
    (
        "shoal_cluster_gossip_packets_received_total",
        "Gossip datagrams received on the cluster bus, accepted or not.",
        |s| s.packets_received,
    ),
    (
        "shoal_cluster_gossip_sent_bytes_total",
        "Bytes of gossip datagrams sent.",
        |s| s.bytes_sent,
    ),
    (
        "shoal_cluster_gossip_received_bytes_total",
        "Bytes of gossip datagrams received.",
        |s| s.bytes_received,
    ),
    (
        "shoal_cluster_gossip_send_errors_total",
        "Gossip datagrams that could not be sent.",
        |s| s.send_errors,
    ),
    (
        "shoal_cluster_membership_changes_total",
        "Members seen coming up, going down or restarting.",
        |s| s.membership_changes,
    ),
    (
        "shoal_cluster_suspicions_total",
        "Times a member became suspect (most are refuted).",
        |s| s.suspicions,
    ),
    (
        "shoal_cluster_topology_changes_total",
        "Topology snapshots published.",
        |s| s.topology_changes,
    ),
];

fn describe_cluster() {
    for (name, help, _) in CLUSTER_COUNTERS {
        metrics::describe_counter!(*name, *help);
    }
    metrics::describe_counter!(
        "shoal_cluster_gossip_packets_dropped_total",
        "Gossip datagrams dropped, by reason (oversized, malformed, unauthenticated, rejected)."
    );
    metrics::describe_gauge!(
        "shoal_cluster_members",
        "Known cluster members by SWIM state (alive includes this node)."
    );
    metrics::describe_gauge!(
        "shoal_cluster_topology_epoch",
        "Low 52 bits of the topology digest: equal on nodes that route alike."
    );
    metrics::describe_gauge!(
        "shoal_cluster_slots",
        "Slots this node owns, by role (primary, replica)."
    );
    metrics::describe_counter!(
        "shoal_forwarded_requests_total",
        "Requests forwarded to each peer (each part of a split command counts once)."
    );
    metrics::describe_counter!(
        "shoal_forward_failures_total",
        "Forwarded requests to each peer that failed because its link was down or lost."
    );
    metrics::describe_counter!(
        "shoal_peer_link_connect_failures_total",
        "Failed attempts to open a link to each peer."
    );
    metrics::describe_gauge!(
        "shoal_peer_links_up",
        "Connected, authenticated shared links to each peer."
    );
    metrics::describe_counter!(
        "shoal_redirects_total",
        "-MOVED replies sent (cluster-mode redirect)."
    );
    for (name, help) in STREAM_COUNTERS {
        metrics::describe_counter!(*name, *help);
    }
    metrics::describe_counter!(
        "shoal_client_output_buffer_limit_disconnections_total",
        "Clients disconnected for passing client-output-buffer-limit, by class (normal, pubsub)."
    );
    metrics::describe_gauge!(
        "shoal_pubsub_channels",
        "Channels, patterns and shard channels with subscribers on this node, by kind."
    );
    metrics::describe_counter!(
        "shoal_tracking_invalidations_total",
        "Client-side-caching invalidation messages sent to this node's clients."
    );
    metrics::describe_gauge!("shoal_tracking_clients", "Clients with CLIENT TRACKING on.");
    metrics::describe_gauge!(
        "shoal_tracking_keys",
        "Keys in the tracking table (INFO tracking_total_keys)."
    );
    for (name, help) in REPLICATION_COUNTERS {
        metrics::describe_counter!(*name, *help);
    }
    metrics::describe_gauge!(
        "shoal_replication_lag_messages",
        "Replication messages sent to a replica peer and not yet acknowledged, by peer."
    );
    metrics::describe_gauge!(
        "shoal_replication_lag_seconds",
        "Seconds since a replica peer last acknowledged, while it has messages to acknowledge."
    );
    metrics::describe_gauge!(
        "shoal_replication_under_replicated_slots",
        "Slots this node is primary of with fewer owners than cluster-replication-factor, or whose snapshot a replica has not acknowledged yet."
    );
    metrics::describe_gauge!(
        "shoal_replication_queue_bytes",
        "Bytes queued on the stream to a peer and not yet written (the replication backlog)."
    );
}

/// The replication counters: name, help.
const REPLICATION_COUNTERS: &[(&str, &str)] = &[
    (
        "shoal_replication_sent_total",
        "Key states sent to replicas as writes happened.",
    ),
    (
        "shoal_replication_applied_total",
        "Key states received from primaries and applied (newer than what was held).",
    ),
    (
        "shoal_replication_stale_total",
        "Key states received and ignored because this node held a newer version.",
    ),
    (
        "shoal_replication_malformed_total",
        "Key states received with a value that could not be decoded.",
    ),
    (
        "shoal_replication_snapshots_total",
        "Snapshots sent to replicas (new replicas after a topology change, or resends).",
    ),
    (
        "shoal_replication_snapshot_keys_total",
        "Keys sent in snapshots.",
    ),
    (
        "shoal_replication_resyncs_total",
        "Resends this node asked a primary for after losing messages.",
    ),
    (
        "shoal_replication_write_concern_failures_total",
        "Writes answered -NOREPLICAS: replicas did not acknowledge within cluster-write-timeout.",
    ),
    (
        "shoal_replication_acks_total",
        "Acknowledgements received from replicas (one per batch of applied messages).",
    ),
    (
        "shoal_replication_failovers_total",
        "Topology changes in which this node took over slots whose primary had left.",
    ),
    (
        "shoal_replication_failover_slots_total",
        "Slots this node took over as primary because their primary had left.",
    ),
    (
        "shoal_handoff_takeovers_total",
        "Times this node turned serving after warming (it held its slots' data whole).",
    ),
    (
        "shoal_handoff_dropped_keys_total",
        "Keys dropped because their slot moved to other nodes.",
    ),
    (
        "shoal_handoff_leaves_total",
        "Graceful leaves that ended with the next owners of every slot caught up.",
    ),
    (
        "shoal_handoff_leave_timeouts_total",
        "Graceful leaves cut short by cluster-leave-timeout.",
    ),
    (
        "shoal_anti_entropy_rounds_total",
        "Anti-entropy rounds this node ran as a primary (a digest to each follower).",
    ),
    (
        "shoal_anti_entropy_digests_compared_total",
        "Primaries' digests this node compared with its own copy.",
    ),
    (
        "shoal_anti_entropy_slots_differing_total",
        "Slots whose digest differed from the primary's in a comparison.",
    ),
    (
        "shoal_anti_entropy_slots_skipped_total",
        "Slots left out of a comparison because they changed while it ran.",
    ),
    (
        "shoal_anti_entropy_slots_repaired_total",
        "Slots repaired after differing from the primary's in two rounds in a row.",
    ),
    (
        "shoal_anti_entropy_repaired_keys_total",
        "Key states a repair changed on this node (newer than what it held).",
    ),
];

/// Sets the replication series.
fn collect_replication(node: &Node) {
    let stats = &node.replication.stats;
    let anti_entropy = &node.replication.anti_entropy.stats;
    let read = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let values = [
        read(&stats.sent),
        read(&stats.applied),
        read(&stats.stale),
        read(&stats.malformed),
        read(&stats.snapshots),
        read(&stats.snapshot_keys),
        read(&stats.resyncs_requested),
        read(&stats.write_concern_failures),
        read(&stats.acks),
        read(&stats.failovers),
        read(&stats.failover_slots),
        read(&node.handoff.took_over),
        read(&node.handoff.dropped_keys),
        read(&node.handoff.leaves_completed),
        read(&node.handoff.leaves_timed_out),
        read(&anti_entropy.rounds),
        read(&anti_entropy.compared),
        read(&anti_entropy.slots_differing),
        read(&anti_entropy.slots_skipped),
        read(&anti_entropy.slots_repaired),
        read(&anti_entropy.repaired_keys),
    ];
    for ((name, _), value) in REPLICATION_COUNTERS.iter().zip(values) {
        metrics::counter!(*name).absolute(value);
    }
    metrics::gauge!("shoal_replication_under_replicated_slots")
        .set(crate::replication::under_replicated(node) as f64);
    let topology = node.cluster.get().map(|c| c.topology.load_full());
    for (id, sent, acked, since) in crate::replication::peers(node) {
        let Some(member) = topology.as_ref().and_then(|t| t.member(&id).cloned()) else {
            continue;
        };
        let peer = member.client.to_string();
        let behind = sent.saturating_sub(acked);
        metrics::gauge!("shoal_replication_lag_messages", "peer" => peer.clone())
            .set(behind as f64);
        let lag = if behind == 0 || since == u64::MAX {
            0.0
        } else {
            since as f64 / 1000.0
        };
        metrics::gauge!("shoal_replication_lag_seconds", "peer" => peer.clone()).set(lag);
        metrics::gauge!("shoal_replication_queue_bytes", "peer" => peer)
            .set(node.forward.streams.queued_bytes(id) as f64);
    }
}

/// The peer stream counters: name, help.
const STREAM_COUNTERS: &[(&str, &str)] = &[
    (
        "shoal_peer_stream_messages_sent_total",
        "Messages queued on the streams to other nodes (Pub/Sub, keyspace notifications).",
    ),
    (
        "shoal_peer_stream_messages_dropped_total",
        "Messages not queued because a peer's stream queue was full.",
    ),
    (
        "shoal_peer_stream_messages_received_total",
        "Messages received on other nodes' streams.",
    ),
    (
        "shoal_peer_stream_messages_lost_total",
        "Messages other nodes sent that never arrived (gaps between stream connections).",
    ),
    (
        "shoal_peer_stream_refused_total",
        "Internal requests refused: unauthenticated, failed authentication, malformed, out of order or unknown.",
    ),
];

/// Sets the peer stream and Pub/Sub series.
fn collect_pubsub(node: &Node) {
    let stats = &node.forward.streams.stats;
    let read = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let values = [
        read(&stats.sent),
        read(&stats.dropped),
        read(&stats.received),
        read(&stats.lost),
        read(&stats.refused),
    ];
    for ((name, _), value) in STREAM_COUNTERS.iter().zip(values) {
        metrics::counter!(*name).absolute(value);
    }
    for class in [
        crate::pubsub::ClientClass::Normal,
        crate::pubsub::ClientClass::PubSub,
    ] {
        metrics::counter!(
            "shoal_client_output_buffer_limit_disconnections_total",
            "class" => class.name()
        )
        .absolute(read(&node.pubsub.disconnected[class as usize]));
    }
    let (channels, patterns, shard) = node.pubsub.counts();
    for (kind, count) in [
        ("channel", channels),
        ("pattern", patterns),
        ("shard", shard),
    ] {
        metrics::gauge!("shoal_pubsub_channels", "kind" => kind).set(count as f64);
    }
    metrics::counter!("shoal_tracking_invalidations_total").absolute(read(&node.tracking.sent));
    let (clients, keys, _, _) = node.tracking.counts();
    metrics::gauge!("shoal_tracking_clients").set(clients as f64);
    metrics::gauge!("shoal_tracking_keys").set(keys as f64);
}

/// Sets the forwarding series: per peer (labelled by its client address), and redirects.
fn collect_forwarding(node: &Node) {
    let stats = &node.forward.stats;
    for (peer, counters) in stats.peers() {
        let peer = peer.to_string();
        let read = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        metrics::counter!("shoal_forwarded_requests_total", "peer" => peer.clone())
            .absolute(read(&counters.forwarded));
        metrics::counter!("shoal_forward_failures_total", "peer" => peer.clone())
            .absolute(read(&counters.failed));
        metrics::counter!("shoal_peer_link_connect_failures_total", "peer" => peer.clone())
            .absolute(read(&counters.connect_failures));
        let up = counters.links_up.load(Ordering::Relaxed).max(0);
        metrics::gauge!("shoal_peer_links_up", "peer" => peer).set(up as f64);
    }
    metrics::counter!("shoal_redirects_total").absolute(stats.redirects.load(Ordering::Relaxed));
}

/// Appends `shoal_forward_duration_seconds`: time from sending a forwarded request on a
/// shared link to its reply.
fn render_forward_histogram(node: &Node, out: &mut String) {
    use crate::peer::stats::LATENCY_BOUNDS_US;
    let name = "shoal_forward_duration_seconds";
    let (buckets, sum_us) = node.forward.stats.latency();
    let _ = writeln!(
        out,
        "# HELP {name} Time from sending a forwarded request to its reply, queueing included."
    );
    let _ = writeln!(out, "# TYPE {name} histogram");
    let mut cumulative = 0;
    for (bound, count) in LATENCY_BOUNDS_US.iter().zip(&buckets) {
        cumulative += count;
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"{}\"}} {cumulative}",
            *bound as f64 / 1e6
        );
    }
    let total: u64 = buckets.iter().sum();
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
    let _ = writeln!(out, "{name}_sum {}", sum_us as f64 / 1e6);
    let _ = writeln!(out, "{name}_count {total}");
}

/// Sets the cluster series (nothing with `cluster-enabled no`).
fn collect_cluster(node: &Node) {
    let Some(cluster) = node.cluster.get() else {
        return;
    };
    let stats = cluster.handle.stats();
    for (name, _, read) in CLUSTER_COUNTERS {
        metrics::counter!(*name).absolute(read(&stats));
    }
    let dropped = "shoal_cluster_gossip_packets_dropped_total";
    for (reason, count) in [
        ("oversized", stats.dropped_oversized),
        ("malformed", stats.dropped_malformed),
        ("unauthenticated", stats.dropped_unauthenticated),
        ("rejected", stats.dropped_rejected),
    ] {
        metrics::counter!(dropped, "reason" => reason).absolute(count);
    }
    for (state, count) in [
        ("alive", stats.members_alive),
        ("suspect", stats.members_suspect),
        ("down", stats.members_down),
    ] {
        metrics::gauge!("shoal_cluster_members", "state" => state).set(count as f64);
    }
    // A gauge is an f64: keep the bits it holds exactly.
    let epoch = stats.topology_epoch & ((1 << 52) - 1);
    metrics::gauge!("shoal_cluster_topology_epoch").set(epoch as f64);
    for (role, count) in [
        ("primary", stats.slots_primary),
        ("replica", stats.slots_replica),
    ] {
        metrics::gauge!("shoal_cluster_slots", "role" => role).set(count as f64);
    }
}
