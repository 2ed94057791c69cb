//! Peers: the other nodes, reached by node id, and the requests forwarded to them.
//!
//! A node that is not the primary of a request's keys sends the request to the node that is
//! and relays its reply byte for byte, so a client without cluster support can use any node.
//! This module owns that path; the rest of the server sees three things:
//!
//! - `request::execute` asks `request::route` where a request runs. When it is elsewhere, it
//!   returns a [`Plan`] in its outcome and the connection calls [`issue`].
//! - The connection keeps the replies of a batch in order: a forwarded reply is a [`Pending`]
//!   it awaits before writing what follows it (see `connection.rs`); blocking commands and
//!   transactions run on the client's own [`session::Session`] instead, awaited on the spot
//!   as a local blocking command is.
//! - The peer side of a link is an ordinary client connection that authenticated with
//!   `SHOAL.NONCE`/`SHOAL.AUTH` and sends each request inside `SHOAL.FWD hops db proto tracker
//!   command...` (see [`envelope`]), which runs it with the client's database and protocol.
//!
//! # Layout
//!
//! - `frame`: RESP replies as bytes — where one ends, merging split replies.
//! - `link`: one pipelined, authenticated TCP link to a peer (reader and writer tasks).
//! - `pool`: each worker thread's links per peer, replaced with backoff.
//! - `session`: a client's dedicated link, for blocking commands and MULTI…EXEC.
//! - `envelope`: the internal commands a peer link sends.
//! - `stats`: counters for `/metrics`.
//!
//! Peer links speak the Redis protocol to the peer's client port, so this belongs to the
//! server crate (the cluster crate never parses commands); only the handshake's arithmetic
//! (`shoal_cluster::peer_auth`) is there.

pub mod envelope;
pub mod frame;
pub mod link;
pub mod pool;
pub mod session;
pub mod stats;
pub mod stream;

use crate::client::Client;
use crate::node::Node;
use crate::protocol::Protocol;
use bytes::Bytes;
use frame::Merge;
use shoal_cluster::{NodeId, TopologyHandle};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::oneshot;

/// `cluster-mode`: what a node does with a request for keys another node is primary of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClusterMode {
    /// Forward it and relay the reply.
    #[default]
    Proxy,
    /// Answer `-MOVED slot ip:port`, as Redis Cluster.
    Redirect,
}

impl ClusterMode {
    pub fn name(self) -> &'static str {
        match self {
            ClusterMode::Proxy => "proxy",
            ClusterMode::Redirect => "redirect",
        }
    }
}

/// The routing settings, readable without a lock on every request.
#[derive(Default)]
pub struct Settings {
    redirect: AtomicBool,
    whole_keyspace: AtomicBool,
    write_concern_all: AtomicBool,
    write_timeout_ms: std::sync::atomic::AtomicU64,
    backlog_bytes: std::sync::atomic::AtomicU64,
    snapshot_rate: std::sync::atomic::AtomicU64,
}

impl Settings {
    /// Takes the values of the `cluster-mode`, `cluster-keyspace-commands`,
    /// `cluster-write-concern`, `cluster-write-timeout`, `repl-backlog-size` and
    /// `repl-snapshot-rate` directives.
    pub fn apply(&self, settings: &crate::cluster::ClusterSettings) {
        self.redirect
            .store(settings.mode == ClusterMode::Redirect, Ordering::Relaxed);
        self.whole_keyspace
            .store(settings.keyspace_whole, Ordering::Relaxed);
        self.write_concern_all
            .store(settings.write_concern_all, Ordering::Relaxed);
        self.write_timeout_ms
            .store(settings.write_timeout, Ordering::Relaxed);
        self.backlog_bytes
            .store(settings.backlog_size, Ordering::Relaxed);
        self.snapshot_rate
            .store(settings.snapshot_rate, Ordering::Relaxed);
    }

    /// `repl-snapshot-rate`: bytes per second a snapshot sends at most (0: no limit).
    pub fn snapshot_rate(&self) -> u64 {
        self.snapshot_rate.load(Ordering::Relaxed)
    }

    /// `repl-backlog-size`: bytes a peer's stream queue may hold.
    pub fn backlog_bytes(&self) -> u64 {
        self.backlog_bytes.load(Ordering::Relaxed)
    }

    /// `cluster-write-concern all`: the timeout a write waits for its replicas (`None`:
    /// `local`, no wait).
    pub fn write_wait(&self) -> Option<std::time::Duration> {
        self.write_concern_all.load(Ordering::Relaxed).then(|| {
            std::time::Duration::from_millis(self.write_timeout_ms.load(Ordering::Relaxed))
        })
    }

    pub fn mode(&self) -> ClusterMode {
        if self.redirect.load(Ordering::Relaxed) {
            ClusterMode::Redirect
        } else {
            ClusterMode::Proxy
        }
    }

    /// `cluster-keyspace-commands whole`: DBSIZE and KEYS cover every node.
    pub fn whole_keyspace(&self) -> bool {
        self.whole_keyspace.load(Ordering::Relaxed)
    }
}

/// The node's forwarding state.
pub struct Forwarder {
    pub settings: Settings,
    pub stats: Arc<stats::ForwardStats>,
    /// The cluster secret, which peer links prove they know.
    pub secret: Option<Arc<str>>,
    /// This node's message streams to the others.
    pub streams: stream::Streams,
    /// Where the other nodes' streams to this one got to.
    pub received: stream::Received,
}

impl Forwarder {
    pub fn new(secret: Option<&str>) -> Forwarder {
        Forwarder {
            settings: Settings::default(),
            stats: Arc::default(),
            secret: secret.map(Arc::from),
            streams: stream::Streams::default(),
            received: stream::Received::default(),
        }
    }
}

/// What the peer side of a link knows about the connection (see `envelope`).
#[derive(Debug, Default)]
pub struct PeerSide {
    /// The nonce handed out by `SHOAL.NONCE`, until `SHOAL.AUTH` uses it.
    pub nonce: Option<String>,
    /// Whether `SHOAL.AUTH` succeeded: only then is `SHOAL.FWD` accepted.
    pub authenticated: bool,
    /// How many times the request being run was forwarded (0: from a client).
    pub hops: u8,
    /// Set by `SHOAL.STREAM`: this connection carries a peer's message stream.
    pub stream: Option<stream::Incoming>,
    /// Replication messages arrived on this stream since the last acknowledgement (sent
    /// once the batch they came in is done, see `crate::replication::ack`).
    pub ack_due: bool,
}

/// Another node: its id, which identifies it, and its client address, where links connect.
/// A node restarted on the same address is a new node (a new id): links to the old one are
/// not reused for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Peer {
    pub id: NodeId,
    pub addr: SocketAddr,
}

/// Where a request goes.
#[derive(Debug)]
pub enum Plan {
    /// The whole request, over the shared link to `peer` (already in its envelope).
    One { peer: Peer, request: Vec<u8> },
    /// The whole request, over the client's session with `peer` (blocking commands, WATCH).
    Session { peer: Peer, args: Vec<Vec<u8>> },
    /// A transaction: MULTI, the queued commands and EXEC over the session with `peer`.
    /// `watched`: the client WATCHed keys there, through its session.
    Exec {
        peer: Peer,
        queued: Vec<Vec<Vec<u8>>>,
        watched: bool,
    },
    /// Parts of one request for several nodes, merged into one reply.
    Split {
        parts: Vec<Part>,
        merge: Merge,
        /// Keys of the request (`Merge::ByKey` replies have one element per key).
        keys: usize,
    },
}

/// One node's part of a split request.
#[derive(Debug)]
pub struct Part {
    /// `None`: this node.
    pub peer: Option<Peer>,
    pub args: Vec<Vec<u8>>,
    /// For each key of this part, its index among the request's keys.
    pub positions: Vec<usize>,
}

/// A reply on its way from a peer, or ready.
pub enum Pending {
    One(Awaited),
    Merge {
        parts: Vec<Awaited>,
        merge: Merge,
        positions: Vec<Vec<usize>>,
        keys: usize,
    },
}

/// One reply: ready, or awaited from a peer's link.
pub enum Awaited {
    Ready(Bytes),
    Link(oneshot::Receiver<Bytes>, Peer),
}

impl Awaited {
    async fn get(self) -> Bytes {
        match self {
            Awaited::Ready(bytes) => bytes,
            Awaited::Link(rx, peer) => rx.await.unwrap_or_else(|_| unreachable_peer(peer.addr)),
        }
    }
}

impl Pending {
    /// The reply, once every part has arrived (a lost link gives `-TRYAGAIN` at once).
    pub async fn resolve(self) -> Bytes {
        match self {
            Pending::One(one) => one.get().await,
            Pending::Merge {
                parts,
                merge,
                positions,
                keys,
            } => {
                // Every part is already in flight: waiting in turn costs no extra round trip.
                let mut replies = Vec::with_capacity(parts.len());
                for part in parts {
                    replies.push(part.get().await);
                }
                frame::merge(merge, &replies, &positions, keys)
            }
        }
    }
}

/// What the connection does with a plan.
pub enum Issued {
    /// Await this reply in its turn.
    Waiting(Pending),
    /// Run this on the client's session, now.
    Session(SessionJob),
}

/// Requests for the client's session with `peer`.
pub struct SessionJob {
    pub peer: Peer,
    /// Encoded requests, pipelined.
    pub requests: Vec<u8>,
    /// Replies to read; the last one is the answer.
    pub replies: usize,
    /// A transaction whose WATCHes live in the session: if the session is not the one they
    /// were taken on (lost, or to another node), EXEC fails as if a key changed.
    pub needs_watches: bool,
    /// The client's protocol (for that nil reply).
    pub protocol: Protocol,
}

/// How often a wait on a peer checks that the cluster still counts it as live.
const PEER_CHECK: std::time::Duration = std::time::Duration::from_millis(250);

/// Resolves once `peer` is no longer a live member of the cluster (declared down, or gone):
/// a link or session waiting on it gives up then, even if its socket never closes (a peer
/// that hangs, or a network partition). Never resolves without a topology.
pub async fn peer_gone(topology: Option<TopologyHandle>, peer: NodeId) {
    let Some(topology) = topology else {
        return std::future::pending().await;
    };
    let mut tick = tokio::time::interval(PEER_CHECK);
    loop {
        tick.tick().await;
        if !topology.load().live_members().any(|m| m.id == peer) {
            return;
        }
    }
}

/// The error a request gets when its peer cannot be reached (retryable, as Redis's
/// `TRYAGAIN`): a cluster client refreshes its view and retries.
pub fn unreachable_peer(peer: SocketAddr) -> Bytes {
    Bytes::from(format!(
        "-TRYAGAIN Forwarding to {peer} failed: the node is unreachable\r\n"
    ))
}

/// Starts a plan: sends what goes over shared links and runs local parts now (their replies
/// encoded for the client), or prepares the session requests.
pub fn issue(node: &Node, client: &mut Client, plan: Plan, now: u64) -> Issued {
    match plan {
        Plan::One { peer, request } => {
            Issued::Waiting(Pending::One(send(node, client, peer, request)))
        }
        Plan::Session { peer, args } => Issued::Session(SessionJob {
            peer,
            requests: envelope::encode(client, &args),
            replies: 1,
            needs_watches: false,
            protocol: client.protocol,
        }),
        Plan::Exec {
            peer,
            queued,
            watched,
        } => {
            let mut requests = envelope::encode(client, &[b"MULTI".to_vec()]);
            for args in &queued {
                requests.extend(envelope::encode(client, args));
            }
            requests.extend(envelope::encode(client, &[b"EXEC".to_vec()]));
            Issued::Session(SessionJob {
                peer,
                requests,
                replies: queued.len() + 2,
                needs_watches: watched,
                protocol: client.protocol,
            })
        }
        Plan::Split { parts, merge, keys } => {
            let mut awaited = Vec::with_capacity(parts.len());
            let mut positions = Vec::with_capacity(parts.len());
            for part in parts {
                awaited.push(match part.peer {
                    Some(peer) => send(node, client, peer, envelope::encode(client, &part.args)),
                    None => Awaited::Ready(run_here(node, client, &part.args, now)),
                });
                positions.push(part.positions);
            }
            Issued::Waiting(Pending::Merge {
                parts: awaited,
                merge,
                positions,
                keys,
            })
        }
    }
}

/// Sends one request (in its envelope) over this worker's shared link to `peer`.
fn send(node: &Node, client: &Client, peer: Peer, bytes: Vec<u8>) -> Awaited {
    let forward = &node.forward;
    let topology = || node.cluster.get().map(|c| c.topology.clone());
    match pool::send(peer, client.id, bytes, forward, topology) {
        Some(rx) => Awaited::Link(rx, peer),
        None => Awaited::Ready(unreachable_peer(peer.addr)),
    }
}

/// Sends an internal request (`SHOAL.*`, not in an envelope) over this worker's shared link
/// to `peer` and returns its raw reply (`-TRYAGAIN` when the peer cannot be reached).
pub async fn call(node: &Node, client: &Client, peer: Peer, args: &[&[u8]]) -> Bytes {
    let mut request = Vec::new();
    link::push_header(&mut request, b'*', args.len());
    for arg in args {
        link::push_bulk(&mut request, arg);
    }
    send(node, client, peer, request).get().await
}

/// Runs a split request's local part and encodes its reply for the client.
fn run_here(node: &Node, client: &mut Client, args: &[Vec<u8>], now: u64) -> Bytes {
    let argv: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let reply = crate::request::execute_here(node, client, &argv, now);
    let mut out = Vec::new();
    reply.encode(client.protocol, &mut out);
    Bytes::from(out)
}

/// Runs a session job on `session` (opening it, or a new one for another peer), returning the
/// last reply. On failure the session is dropped and the reply is `-TRYAGAIN`.
pub async fn run_session(
    session: &mut Option<session::Session>,
    secret: Option<&str>,
    topology: Option<TopologyHandle>,
    job: SessionJob,
) -> Bytes {
    let same_peer = session.as_ref().is_some_and(|s| s.peer == job.peer);
    if job.needs_watches && !same_peer {
        *session = None;
        return Bytes::from_static(match job.protocol {
            Protocol::Resp2 => b"*-1\r\n",
            Protocol::Resp3 => b"_\r\n",
        });
    }
    if !same_peer {
        *session = match session::Session::open(job.peer, secret).await {
            Ok(opened) => Some(opened),
            Err(error) => {
                tracing::debug!(peer = %job.peer.addr, %error, "session failed to open");
                return unreachable_peer(job.peer.addr);
            }
        };
    }
    let Some(open) = session.as_mut() else {
        return unreachable_peer(job.peer.addr);
    };
    let outcome = tokio::select! {
        outcome = open.call(&job.requests, job.replies) => outcome,
        _ = peer_gone(topology, job.peer.id) => Err(std::io::ErrorKind::NotConnected.into()),
    };
    match outcome {
        Ok(mut replies) => replies
            .pop()
            .unwrap_or_else(|| unreachable_peer(job.peer.addr)),
        Err(error) => {
            tracing::debug!(peer = %job.peer.addr, %error, "session failed");
            *session = None;
            unreachable_peer(job.peer.addr)
        }
    }
}
