//! The one-way peer message stream: ordered, sequence-numbered messages from this node to
//! another, with no reply.
//!
//! Where links carry requests and their replies, a stream carries what a node tells the others
//! without waiting for an answer: Pub/Sub messages and keyspace notifications (every node
//! delivers them to its own subscribers), and later replication and invalidations.
//!
//! There is one stream per peer (by node id) for the whole node: one task owns one TCP
//! connection to the peer's client port, authenticated with the cluster secret exactly as a
//! link is (`SHOAL.NONCE`/`SHOAL.AUTH`), then opened with `SHOAL.STREAM <our node id> <epoch>
//! <first seq>` and fed `SHOAL.MSG <seq> <kind> <arg>...` frames, several per write when they
//! queue up. The peer answers the opening and nothing else. Messages sent to one peer arrive in
//! the order they were sent, so all messages a client published through one node reach every
//! other node's subscribers in its order.
//!
//! Sequence numbers count up from 1 for each stream epoch (a random number drawn when this
//! node starts). A connection that fails loses what was in flight: the next connection
//! starts at the next number, and the receiver, seeing the gap, counts the messages lost
//! (`shoal_peer_stream_messages_lost_total`); Pub/Sub promises no more than that (as Redis
//! Cluster's bus). A stream's queue is bounded: when a peer cannot keep up, new messages to it
//! are dropped and counted rather than held without limit. A stream ends when its peer is no
//! longer a live member.
//!
//! The receiving side is `envelope.rs` (`SHOAL.STREAM`, `SHOAL.MSG`): it checks the order and
//! hands each message to `receive` below.

use super::link::{connect, push_bulk, push_header};
use super::{Peer, peer_gone};
use crate::node::Node;
use bytes::Bytes;
use parking_lot::Mutex;
use shoal_cluster::{NodeId, TopologyHandle};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// Bytes of messages a stream may hold queued for a peer before it drops new ones.
const QUEUE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// Bytes written per write, at most, when messages queue up.
const WRITE_BATCH: usize = 64 * 1024;
/// Waits between connection attempts to a peer that cannot be reached.
const RETRY: Duration = Duration::from_millis(200);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A message one node tells another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A Pub/Sub message (`PUBLISH`, keyspace notifications): deliver it to this node's
    /// subscribers of `channel` and of the patterns it matches.
    Publish { channel: Bytes, payload: Bytes },
    /// A sharded Pub/Sub message (`SPUBLISH`): deliver it to this node's subscribers of the
    /// shard channel.
    ShardPublish { channel: Bytes, payload: Bytes },
}

impl Message {
    /// The message's kind and arguments on the wire.
    fn parts(&self) -> (&'static [u8], [&[u8]; 2]) {
        match self {
            Message::Publish { channel, payload } => (b"PUBLISH", [channel, payload]),
            Message::ShardPublish { channel, payload } => (b"SPUBLISH", [channel, payload]),
        }
    }

    /// Reads a message from its kind and arguments (`None`: unknown or malformed).
    pub fn parse(kind: &[u8], args: &[&[u8]]) -> Option<Message> {
        let [channel, payload] = args else {
            return None;
        };
        let (channel, payload) = (
            Bytes::copy_from_slice(channel),
            Bytes::copy_from_slice(payload),
        );
        if kind.eq_ignore_ascii_case(b"publish") {
            Some(Message::Publish { channel, payload })
        } else if kind.eq_ignore_ascii_case(b"spublish") {
            Some(Message::ShardPublish { channel, payload })
        } else {
            None
        }
    }

    /// Approximate bytes it takes queued.
    fn size(&self) -> u64 {
        let (_, [a, b]) = self.parts();
        (a.len() + b.len() + 32) as u64
    }
}

/// Counters of the streams, for `/metrics`.
#[derive(Debug, Default)]
pub struct StreamStats {
    /// Messages queued to peers.
    pub sent: AtomicU64,
    /// Messages not queued because a peer's queue was full.
    pub dropped: AtomicU64,
    /// Messages received from peers.
    pub received: AtomicU64,
    /// Messages a peer sent that never arrived (gaps in sequence numbers).
    pub lost: AtomicU64,
}

/// A stream's sending end.
struct Sender {
    queue: mpsc::UnboundedSender<Message>,
    /// Bytes queued and not yet written.
    queued: Arc<AtomicU64>,
}

/// Every stream of this node, by peer.
pub struct Streams {
    senders: Mutex<HashMap<NodeId, Sender>>,
    /// This node's stream epoch: new on every start.
    epoch: u64,
    pub stats: Arc<StreamStats>,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            senders: Mutex::new(HashMap::new()),
            epoch: rand::random(),
            stats: Arc::default(),
        }
    }
}

impl Streams {
    /// Queues `message` for `peer`, opening the stream on first use. Must run inside a tokio
    /// runtime (the stream's task runs there). A message that does not fit the queue is
    /// dropped and counted.
    pub fn send(&self, node: &Node, peer: Peer, message: Message) {
        let size = message.size();
        let mut senders = self.senders.lock();
        if let Some(sender) = senders.get(&peer.id)
            && sender.queue.is_closed()
        {
            senders.remove(&peer.id);
        }
        let sender = senders
            .entry(peer.id)
            .or_insert_with(|| self.open(node, peer));
        if sender.queued.load(Ordering::Relaxed) + size > QUEUE_LIMIT_BYTES {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        sender.queued.fetch_add(size, Ordering::Relaxed);
        if sender.queue.send(message).is_ok() {
            self.stats.sent.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues `message` for every other live member.
    pub fn broadcast(&self, node: &Node, message: &Message) {
        let Some(cluster) = node.cluster.get() else {
            return;
        };
        if cluster.topology.is_single_node() {
            return;
        }
        let topology = cluster.topology.load();
        let me = topology.myself().id;
        for member in topology.live_members().filter(|m| m.id != me) {
            let peer = Peer {
                id: member.id,
                addr: member.client,
            };
            self.send(node, peer, message.clone());
        }
    }

    fn open(&self, node: &Node, peer: Peer) -> Sender {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicU64::new(0));
        let task = StreamTask {
            peer,
            from: node
                .cluster
                .get()
                .map(|c| c.topology.load().myself().id)
                .unwrap_or(NodeId::ZERO),
            epoch: self.epoch,
            secret: node.forward.secret.clone(),
            topology: node.cluster.get().map(|c| c.topology.clone()),
            queued: queued.clone(),
        };
        tokio::spawn(task.run(rx));
        Sender { queue: tx, queued }
    }
}

/// The task that owns one stream's connection.
struct StreamTask {
    peer: Peer,
    from: NodeId,
    epoch: u64,
    secret: Option<Arc<str>>,
    topology: Option<TopologyHandle>,
    queued: Arc<AtomicU64>,
}

impl StreamTask {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Message>) {
        let gone = peer_gone(self.topology.clone(), self.peer.id);
        tokio::pin!(gone);
        let mut next_seq: u64 = 1;
        loop {
            tokio::select! {
                () = &mut gone => break,
                ended = self.connect_and_send(&mut rx, &mut next_seq) => {
                    if ended {
                        break;
                    }
                }
            }
            tokio::time::sleep(RETRY).await;
        }
        rx.close();
        tracing::debug!(peer = %self.peer.addr, "peer stream ended");
    }

    /// Connects and sends until the connection fails (false) or the node drops the stream
    /// (true).
    async fn connect_and_send(
        &self,
        rx: &mut mpsc::UnboundedReceiver<Message>,
        next_seq: &mut u64,
    ) -> bool {
        let connected = tokio::time::timeout(
            CONNECT_TIMEOUT,
            connect(self.peer.addr, self.secret.as_deref()),
        )
        .await;
        let mut stream = match connected {
            Ok(Ok((stream, _))) => stream,
            Ok(Err(error)) => {
                tracing::debug!(peer = %self.peer.addr, %error, "peer stream failed to connect");
                return false;
            }
            Err(_) => return false,
        };
        let mut out = Vec::with_capacity(WRITE_BATCH);
        let mut number = itoa::Buffer::new();
        let from = self.from.to_string();
        let epoch = self.epoch.to_string();
        let first = next_seq.to_string();
        push_header(&mut out, b'*', 4);
        for arg in [
            &b"SHOAL.STREAM"[..],
            from.as_bytes(),
            epoch.as_bytes(),
            first.as_bytes(),
        ] {
            push_bulk(&mut out, arg);
        }
        if stream.write_all(&out).await.is_err() {
            return false;
        }
        tracing::debug!(peer = %self.peer.addr, "peer stream open");
        loop {
            out.clear();
            let Some(first) = rx.recv().await else {
                return true;
            };
            let mut next = Some(first);
            while let Some(message) = next.take() {
                self.queued.fetch_sub(message.size(), Ordering::Relaxed);
                let (kind, args) = message.parts();
                push_header(&mut out, b'*', 3 + args.len());
                push_bulk(&mut out, b"SHOAL.MSG");
                push_bulk(&mut out, number.format(*next_seq).as_bytes());
                push_bulk(&mut out, kind);
                for arg in args {
                    push_bulk(&mut out, arg);
                }
                *next_seq += 1;
                if out.len() < WRITE_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            if stream.write_all(&out).await.is_err() {
                return false;
            }
        }
    }
}

/// The receiving side of one stream, kept by the connection it arrives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    pub from: NodeId,
    pub epoch: u64,
    /// The sequence number the next message must have.
    pub next_seq: u64,
}

/// Where each peer's stream got to, across its connections (so a gap between two
/// connections is seen).
#[derive(Default)]
pub struct Received {
    last: Mutex<HashMap<(NodeId, u64), u64>>,
}

impl Received {
    /// A stream opening: counts the messages lost since that stream's last connection.
    pub fn open(&self, stats: &StreamStats, incoming: Incoming) {
        let last = self
            .last
            .lock()
            .get(&(incoming.from, incoming.epoch))
            .copied()
            .unwrap_or(0);
        let lost = incoming.next_seq.saturating_sub(last + 1);
        if lost > 0 {
            tracing::warn!(from = %incoming.from, lost, "peer stream lost messages between connections");
            stats.lost.fetch_add(lost, Ordering::Relaxed);
        }
    }

    /// Notes that message `seq` of the stream arrived.
    pub fn arrived(&self, from: NodeId, epoch: u64, seq: u64) {
        self.last.lock().insert((from, epoch), seq);
    }
}

/// Handles one message from a peer's stream.
pub fn receive(node: &Node, message: Message) {
    node.forward
        .streams
        .stats
        .received
        .fetch_add(1, Ordering::Relaxed);
    match message {
        Message::Publish { channel, payload } => {
            node.pubsub.deliver(&channel, &payload);
        }
        Message::ShardPublish { channel, payload } => {
            node.pubsub.deliver_shard(&channel, &payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_their_wire_parts() {
        let messages = [
            Message::Publish {
                channel: Bytes::from_static(b"news"),
                payload: Bytes::from_static(b"hello"),
            },
            Message::ShardPublish {
                channel: Bytes::from_static(b"{user}:1"),
                payload: Bytes::new(),
            },
        ];
        for message in messages {
            let (kind, args) = message.parts();
            assert_eq!(Message::parse(kind, &args), Some(message.clone()));
        }
        assert_eq!(Message::parse(b"NOPE", &[b"a", b"b"]), None);
        assert_eq!(Message::parse(b"PUBLISH", &[b"a"]), None);
    }

    #[test]
    fn a_gap_between_connections_is_counted_as_lost() {
        let received = Received::default();
        let stats = StreamStats::default();
        let from = NodeId::from_bytes([7; 20]);
        received.open(
            &stats,
            Incoming {
                from,
                epoch: 1,
                next_seq: 1,
            },
        );
        for seq in 1..=5 {
            received.arrived(from, 1, seq);
        }
        received.open(
            &stats,
            Incoming {
                from,
                epoch: 1,
                next_seq: 6,
            },
        );
        assert_eq!(stats.lost.load(Ordering::Relaxed), 0);
        received.open(
            &stats,
            Incoming {
                from,
                epoch: 1,
                next_seq: 9,
            },
        );
        assert_eq!(stats.lost.load(Ordering::Relaxed), 3);
        // A new epoch (the peer restarted) starts over.
        received.open(
            &stats,
            Incoming {
                from,
                epoch: 2,
                next_seq: 1,
            },
        );
        assert_eq!(stats.lost.load(Ordering::Relaxed), 3);
    }
}
