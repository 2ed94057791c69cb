//! Accepting clients and shutting down.
//!
//! One accept loop per listening address. A new connection past `maxclients` is told so with
//! Redis's error and closed; the others get their own task (`connection::serve`) on one of the
//! worker threads (`workers.rs`). Shutdown
//! (SIGTERM, SIGINT or `SHUTDOWN`) flips the node's signal: accept loops stop, connections
//! finish the batch they are executing, write its replies and close, and `run` returns once
//! they are all gone (or after a grace period).

use crate::connection;
use crate::node::Node;
use crate::workers::Workers;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// How long shutdown waits for connections to finish their batch.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves clients on `listeners`, on `workers`, until the node shuts down.
pub async fn run(node: Arc<Node>, listeners: Vec<TcpListener>, workers: Arc<Workers>) {
    // Every connection task holds a clone of `done`; when all are dropped, `recv` ends.
    let (done, mut all_done) = mpsc::channel::<()>(1);
    for listener in listeners {
        tokio::spawn(accept_loop(
            node.clone(),
            listener,
            workers.clone(),
            done.clone(),
        ));
    }
    drop(done);
    let _ = node.shutdown_signal().wait_for(|stopping| *stopping).await;
    if tokio::time::timeout(SHUTDOWN_GRACE, all_done.recv())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within the shutdown grace period");
    }
}

async fn accept_loop(
    node: Arc<Node>,
    listener: TcpListener,
    workers: Arc<Workers>,
    done: mpsc::Sender<()>,
) {
    let mut shutdown = node.shutdown_signal();
    // Connections accepted since the task last let others run (`max-new-connections-per-
    // cycle`, as Redis accepts at most that many per event-loop turn).
    let mut in_a_row = 0;
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|stopping| *stopping) => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                admit(&node, stream, &workers, done.clone());
                in_a_row += 1;
                if in_a_row >= node.limits.new_connections_per_cycle() {
                    in_a_row = 0;
                    tokio::task::yield_now().await;
                }
            }
            Err(error) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Starts serving a new connection, or refuses it when `maxclients` are connected.
fn admit(node: &Arc<Node>, stream: TcpStream, workers: &Workers, done: mpsc::Sender<()>) {
    node.stats.connections_received.add(1);
    if node.clients.len() >= node.limits.maxclients() {
        node.stats.rejected_connections.add(1);
        tokio::spawn(async move {
            let mut stream = stream;
            let _ = stream
                .write_all(b"-ERR max number of clients reached\r\n")
                .await;
            let _ = stream.shutdown().await;
        });
        return;
    }
    let (Ok(addr), Ok(local_addr)) = (stream.peer_addr(), stream.local_addr()) else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let keepalive = node.limits.tcp_keepalive_secs();
    if keepalive > 0 {
        let params = socket2::TcpKeepalive::new().with_time(Duration::from_secs(keepalive));
        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&params);
    }
    let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
    let info = node
        .clients
        .register(addr, local_addr, fd, crate::clock::now_ms());
    if node.is_shutting_down() {
        // Registered after shutdown killed every client: close it the same way.
        info.kill();
    }
    // The socket moves to the worker's own reactor: deregister it here, register it there.
    let Ok(stream) = stream.into_std() else {
        node.clients.unregister(info.id);
        return;
    };
    let node = node.clone();
    workers.next().spawn(async move {
        match TcpStream::from_std(stream) {
            Ok(stream) => connection::serve(node, stream, info).await,
            Err(error) => {
                tracing::warn!(%error, "could not hand a connection to its worker");
                node.clients.unregister(info.id);
            }
        }
        drop(done);
    });
}

/// Binds every address of `bind` on `port`. With port 0 the first listener picks a port and
/// the others use the same one; the node records the port clients reach.
pub async fn bind(node: &Node, bind: &[String], port: u16) -> Result<Vec<TcpListener>, BindError> {
    let mut listeners = Vec::new();
    let mut port = port;
    for addr in bind {
        let host = addr.trim_start_matches('-');
        let failed = |source| BindError {
            what: "the client port",
            addr: format!("{host}:{port}"),
            source,
        };
        let listener = TcpListener::bind((host, port)).await.map_err(failed)?;
        port = listener.local_addr().map_err(failed)?.port();
        listeners.push(listener);
    }
    node.port.store(usize::from(port), Ordering::Relaxed);
    Ok(listeners)
}

/// A port the node needs could not be bound: startup stops (as Redis does).
#[derive(Debug, thiserror::Error)]
#[error("cannot bind {what} on {addr}")]
pub struct BindError {
    /// Which port: "the client port", "the metrics port".
    pub what: &'static str,
    /// `host:port` as configured.
    pub addr: String,
    /// What the operating system said.
    pub source: std::io::Error,
}

/// Samples `instantaneous_ops_per_sec` and the memory peak every 100 ms until shutdown.
pub async fn sample_stats(node: Arc<Node>) {
    let mut sampler = crate::stats::Sampler::default();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while !node.is_shutting_down() {
        tick.tick().await;
        let rate = sampler.sample(
            node.stats.commands_processed.total(),
            crate::clock::now_ms(),
        );
        node.stats.ops_per_sec.store(rate, Ordering::Relaxed);
        crate::info::used_memory_with_peak(&node);
    }
}
