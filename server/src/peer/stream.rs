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
//! are dropped and counted rather than held without limit; once its queue has room again,
//! a stream that dropped messages sends one more (a flush invalidation), so the peer sees the
//! gap within a tick even if nothing else follows. A stream ends when its peer is no longer a
//! live member.
//!
//! The receiving side is `envelope.rs` (`SHOAL.STREAM`, `SHOAL.MSG`): it checks the order and
//! hands each message to `receive` below.

use super::link::{connect, push_bulk, push_header};
use super::{Peer, peer_gone};
use crate::node::Node;
use bytes::Bytes;
use parking_lot::Mutex;
use shoal_cluster::slot::SlotSet;
use shoal_cluster::{NodeId, TopologyHandle};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

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
    /// A key's new state, from its primary to a replica (see `crate::replication`):
    /// `value` is the `store::codec` encoding, `None` for a removal. `repair`: sent to mend a
    /// difference anti-entropy found (either way between a slot's owners), counted apart.
    Replicate {
        db: u32,
        key: Bytes,
        version: u64,
        /// Absolute expiry in unix ms, 0 for none.
        expire_at: u64,
        value: Option<Bytes>,
        repair: bool,
    },
    /// A replica has applied every message of the sender's stream `epoch` up to `seq`.
    Ack { epoch: u64, seq: u64 },
    /// A replica lost messages of the sender's stream: send it everything again. `id`
    /// names the request; the resend's `Synced` carries it back.
    Resync { id: u64 },
    /// The end of a snapshot: the replica holds everything it should of `slots`.
    /// `id` is that of the `Resync` it answers (0 when none asked for it).
    Synced { id: u64, slots: SlotSet },
    /// Anti-entropy, primary to follower: the digest of each of `slots` (in slot order) as
    /// the primary holds it, counting keys written before `at` (unix ms) that live past it
    /// (see `crate::replication::anti_entropy`).
    Digest {
        at: u64,
        slots: SlotSet,
        sums: Vec<u64>,
    },
    /// Anti-entropy, follower to primary: `slots` differed twice in a row; send this node
    /// your copy of them (it sends its own the other way).
    Repair { slots: SlotSet },
    /// Client-side caching, a primary to a node with tracking clients: these keys changed
    /// (none: every key, a flush). See `crate::tracking`.
    Invalidate { keys: Vec<Bytes> },
    /// Client-side caching: the sender has tracking clients (its tracking `generation`):
    /// send it invalidations.
    Track { generation: u64 },
    /// Client-side caching: the sender has no tracking client left since `generation`:
    /// stop sending it invalidations, unless it tracks again (a later generation).
    Untrack { generation: u64 },
}

impl Message {
    /// Appends `SHOAL.MSG <seq> <kind> <args>...` to `out`.
    fn encode(&self, seq: u64, out: &mut Vec<u8>) {
        let mut numbers = [
            itoa::Buffer::new(),
            itoa::Buffer::new(),
            itoa::Buffer::new(),
        ];
        let [n0, n1, n2] = &mut numbers;
        let mut seq_text = itoa::Buffer::new();
        let slot_bytes;
        let sum_bytes: Vec<u8>;
        let (kind, args): (&[u8], SmallVec<[&[u8]; 5]>) = match self {
            Message::Publish { channel, payload } => (
                b"PUBLISH",
                SmallVec::from_slice(&[&channel[..], &payload[..]]),
            ),
            Message::ShardPublish { channel, payload } => (
                b"SPUBLISH",
                SmallVec::from_slice(&[&channel[..], &payload[..]]),
            ),
            Message::Replicate {
                db,
                key,
                version,
                expire_at,
                value,
                repair,
            } => {
                let mut args: SmallVec<[&[u8]; 5]> = SmallVec::new();
                args.push(n0.format(*db).as_bytes());
                args.push(key);
                args.push(n1.format(*version).as_bytes());
                args.push(n2.format(*expire_at).as_bytes());
                match (value, repair) {
                    (Some(value), false) => {
                        args.push(value);
                        (b"REPL", args)
                    }
                    (Some(value), true) => {
                        args.push(value);
                        (b"FIX", args)
                    }
                    (None, false) => (b"RDEL", args),
                    (None, true) => (b"FIXDEL", args),
                }
            }
            Message::Ack { epoch, seq } => (
                b"ACK",
                SmallVec::from_slice(&[n0.format(*epoch).as_bytes(), n1.format(*seq).as_bytes()]),
            ),
            Message::Resync { id } => (
                b"RESYNC",
                SmallVec::from_slice(&[n0.format(*id).as_bytes()]),
            ),
            Message::Synced { id, slots } => {
                slot_bytes = slots.to_bytes();
                (
                    b"SYNCED",
                    SmallVec::from_slice(&[n0.format(*id).as_bytes(), &slot_bytes]),
                )
            }
            Message::Digest { at, slots, sums } => {
                slot_bytes = slots.to_bytes();
                sum_bytes = sums.iter().flat_map(|s| s.to_le_bytes()).collect();
                (
                    b"DIGEST",
                    SmallVec::from_slice(&[n0.format(*at).as_bytes(), &slot_bytes, &sum_bytes]),
                )
            }
            Message::Repair { slots } => {
                slot_bytes = slots.to_bytes();
                (b"REPAIR", SmallVec::from_slice(&[&slot_bytes[..]]))
            }
            Message::Invalidate { keys } => (b"INVAL", keys.iter().map(|k| &k[..]).collect()),
            Message::Track { generation } => (
                b"TRACK",
                SmallVec::from_slice(&[n0.format(*generation).as_bytes()]),
            ),
            Message::Untrack { generation } => (
                b"UNTRACK",
                SmallVec::from_slice(&[n0.format(*generation).as_bytes()]),
            ),
        };
        push_header(out, b'*', 3 + args.len());
        push_bulk(out, b"SHOAL.MSG");
        push_bulk(out, seq_text.format(seq).as_bytes());
        push_bulk(out, kind);
        for arg in args {
            push_bulk(out, arg);
        }
    }

    /// Reads a message from its kind and arguments (`None`: unknown or malformed).
    pub fn parse(kind: &[u8], args: &[&[u8]]) -> Option<Message> {
        let number = |arg: &[u8]| std::str::from_utf8(arg).ok()?.parse::<u64>().ok();
        let is = |name: &str| kind.eq_ignore_ascii_case(name.as_bytes());
        match args {
            [channel, payload] if is("publish") || is("spublish") => {
                let (channel, payload) = (
                    Bytes::copy_from_slice(channel),
                    Bytes::copy_from_slice(payload),
                );
                Some(if is("publish") {
                    Message::Publish { channel, payload }
                } else {
                    Message::ShardPublish { channel, payload }
                })
            }
            [db, key, version, expire_at, rest @ ..]
                if ((is("repl") || is("fix")) && rest.len() == 1)
                    || ((is("rdel") || is("fixdel")) && rest.is_empty()) =>
            {
                Some(Message::Replicate {
                    db: u32::try_from(number(db)?).ok()?,
                    key: Bytes::copy_from_slice(key),
                    version: number(version)?,
                    expire_at: number(expire_at)?,
                    value: rest.first().map(|v| Bytes::copy_from_slice(v)),
                    repair: is("fix") || is("fixdel"),
                })
            }
            [epoch, seq] if is("ack") => Some(Message::Ack {
                epoch: number(epoch)?,
                seq: number(seq)?,
            }),
            [id] if is("resync") => Some(Message::Resync { id: number(id)? }),
            [id, slots] if is("synced") => Some(Message::Synced {
                id: number(id)?,
                slots: SlotSet::from_bytes(slots)?,
            }),
            [at, slots, sums] if is("digest") => {
                let slots = SlotSet::from_bytes(slots)?;
                if sums.len() != slots.len() * 8 {
                    return None;
                }
                let sums = sums
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect();
                Some(Message::Digest {
                    at: number(at)?,
                    slots,
                    sums,
                })
            }
            [slots] if is("repair") => Some(Message::Repair {
                slots: SlotSet::from_bytes(slots)?,
            }),
            keys if is("inval") => Some(Message::Invalidate {
                keys: keys.iter().map(|k| Bytes::copy_from_slice(k)).collect(),
            }),
            [generation] if is("track") => Some(Message::Track {
                generation: number(generation)?,
            }),
            [generation] if is("untrack") => Some(Message::Untrack {
                generation: number(generation)?,
            }),
            _ => None,
        }
    }

    /// Approximate bytes it takes queued.
    pub fn size(&self) -> u64 {
        let payload = match self {
            Message::Publish { channel, payload } | Message::ShardPublish { channel, payload } => {
                channel.len() + payload.len()
            }
            Message::Replicate { key, value, .. } => {
                key.len() + value.as_ref().map_or(0, Bytes::len) + 48
            }
            Message::Ack { .. } | Message::Resync { .. } => 16,
            Message::Synced { .. } | Message::Repair { .. } => 16 + SlotSet::BYTES,
            Message::Digest { sums, .. } => 16 + SlotSet::BYTES + 8 * sums.len(),
            Message::Invalidate { keys } => keys.iter().map(|k| k.len() + 16).sum(),
            Message::Track { .. } | Message::Untrack { .. } => 16,
        };
        (payload + 32) as u64
    }
}

/// Where a message sent to a peer stands in that peer's stream: it has been applied there
/// once the peer acknowledges `seq` of `epoch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub peer: NodeId,
    pub epoch: u64,
    pub seq: u64,
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
    /// Internal requests refused: unauthenticated, failed authentication, malformed, stream
    /// messages on a connection that is not a stream or out of order, unknown kinds.
    pub refused: AtomicU64,
}

/// A stream's sending end.
struct Sender {
    queue: mpsc::UnboundedSender<(u64, Message)>,
    /// Bytes queued and not yet written.
    queued: Arc<AtomicU64>,
    /// This stream's epoch: drawn when it opens, so a reopened stream is a new one.
    epoch: u64,
    /// The sequence number of the last message queued (dropped ones included: the
    /// receiver sees their gap).
    last_seq: u64,
    /// The sequence number of the last replication message (`REPL`, `RDEL`, `SYNCED`)
    /// queued: what the peer acknowledges (see `crate::replication::Barrier`).
    last_replicated: Option<u64>,
    /// Where the stream goes.
    peer: Peer,
    /// A message was dropped and no later one has been queued since: the peer sees the gap
    /// only when one comes, so [`Streams::mend`] sends one.
    owes_mend: bool,
}

/// Every stream of this node, by peer.
pub struct Streams {
    senders: Mutex<HashMap<NodeId, Sender>>,
    pub stats: Arc<StreamStats>,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            senders: Mutex::new(HashMap::new()),
            stats: Arc::default(),
        }
    }
}

impl Streams {
    /// Queues `message` for `peer`, opening the stream on first use. Must run inside a tokio
    /// runtime (the stream's task runs there). A message that does not fit the queue is
    /// dropped and counted (its number is used up, so the receiver sees the gap). Returns
    /// where the message stands in the stream.
    pub fn send(&self, node: &Node, peer: Peer, message: Message) -> Mark {
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
        sender.last_seq += 1;
        let mark = Mark {
            peer: peer.id,
            epoch: sender.epoch,
            seq: sender.last_seq,
        };
        if matches!(message, Message::Replicate { .. } | Message::Synced { .. }) {
            sender.last_replicated = Some(mark.seq);
        }
        // `repl-backlog-size` bounds what may wait for the peer (a message larger than that
        // still goes, alone).
        let queued = sender.queued.load(Ordering::Relaxed);
        if queued > 0 && queued + size > node.forward.settings.backlog_bytes() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            sender.owes_mend = true;
            // The replica would only notice when a later message arrives: resend now.
            if matches!(message, Message::Replicate { .. }) {
                crate::replication::resync_requested(node, peer.id, 0);
            }
            return mark;
        }
        sender.owes_mend = false;
        sender.queued.fetch_add(size, Ordering::Relaxed);
        if sender.queue.send((mark.seq, message)).is_ok() {
            self.stats.sent.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
        mark
    }

    /// Sends a message on every stream that dropped one and has sent nothing since, once its
    /// queue has room again: the peer then sees the gap (and flushes its client caches,
    /// which may have missed invalidations) within a tick instead of whenever traffic
    /// resumes. The message is itself a flush invalidation.
    pub fn mend(&self, node: &Node) {
        let room = node.forward.settings.backlog_bytes() / 2;
        let owed: Vec<Peer> = self
            .senders
            .lock()
            .values()
            .filter(|s| s.owes_mend && !s.queue.is_closed())
            .filter(|s| s.queued.load(Ordering::Relaxed) <= room)
            .map(|s| s.peer)
            .collect();
        for peer in owed {
            self.send(node, peer, Message::Invalidate { keys: Vec::new() });
        }
    }

    /// Bytes queued for `peer` and not yet written.
    pub fn queued_bytes(&self, peer: NodeId) -> u64 {
        self.senders
            .lock()
            .get(&peer)
            .map_or(0, |s| s.queued.load(Ordering::Relaxed))
    }

    /// The last replication message queued for each peer it was sent to (a barrier: once
    /// each peer acknowledges its mark, every write replicated before has been applied).
    pub fn replication_marks(&self) -> Vec<Mark> {
        self.senders
            .lock()
            .iter()
            .filter(|(_, s)| !s.queue.is_closed())
            .filter_map(|(peer, s)| {
                Some(Mark {
                    peer: *peer,
                    epoch: s.epoch,
                    seq: s.last_replicated?,
                })
            })
            .collect()
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
            let _ = self.send(node, peer, message.clone());
        }
    }

    fn open(&self, node: &Node, peer: Peer) -> Sender {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicU64::new(0));
        let epoch = rand::random::<u64>() >> 1;
        let task = StreamTask {
            peer,
            from: node
                .cluster
                .get()
                .map(|c| c.topology.load().myself().id)
                .unwrap_or(NodeId::ZERO),
            epoch,
            secret: node.forward.secret.clone(),
            topology: node.cluster.get().map(|c| c.topology.clone()),
            queued: queued.clone(),
        };
        tokio::spawn(task.run(rx));
        Sender {
            queue: tx,
            queued,
            epoch,
            last_seq: 0,
            last_replicated: None,
            peer,
            owes_mend: false,
        }
    }
}

/// How often [`Streams::mend`] runs.
const MEND_EVERY: Duration = Duration::from_millis(100);

/// Starts the task that mends streams that dropped messages (a no-op without a cluster).
/// Must run inside the node's runtime.
pub fn spawn_mender(node: &Arc<Node>) {
    if node.cluster.get().is_none() {
        return;
    }
    let node = node.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(MEND_EVERY);
        while !node.is_shutting_down() {
            tick.tick().await;
            node.forward.streams.mend(&node);
        }
    });
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
    async fn run(self, mut rx: mpsc::UnboundedReceiver<(u64, Message)>) {
        let gone = peer_gone(self.topology.clone(), self.peer.id);
        tokio::pin!(gone);
        // The number the next connection starts at: one past the last message written.
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
        rx: &mut mpsc::UnboundedReceiver<(u64, Message)>,
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
            while let Some((seq, message)) = next.take() {
                self.queued.fetch_sub(message.size(), Ordering::Relaxed);
                message.encode(seq, &mut out);
                *next_seq = seq + 1;
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
    /// A stream opening: counts the messages lost since that stream's last connection, and
    /// returns how many.
    pub fn open(&self, stats: &StreamStats, incoming: Incoming) -> u64 {
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
        lost
    }

    /// Notes that message `seq` of the stream arrived.
    pub fn arrived(&self, from: NodeId, epoch: u64, seq: u64) {
        self.last.lock().insert((from, epoch), seq);
    }
}

/// Handles one message from a peer's stream (`from`, stream `epoch`).
pub fn receive(node: &Node, incoming: &Incoming, message: Message) {
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
        Message::Replicate {
            db,
            key,
            version,
            expire_at,
            value,
            repair,
        } => crate::replication::apply(
            node,
            incoming.from,
            db as usize,
            &key,
            crate::replication::State {
                version,
                expire_at,
                value: value.as_deref(),
                repair,
            },
        ),
        Message::Ack { epoch, seq } => crate::replication::acked(node, incoming.from, epoch, seq),
        Message::Resync { id } => crate::replication::resync_requested(node, incoming.from, id),
        Message::Synced { id, slots } => crate::replication::synced(node, incoming, id, slots),
        Message::Digest { at, slots, sums } => {
            crate::replication::anti_entropy::digest_arrived(node, incoming.from, at, slots, sums)
        }
        Message::Repair { slots } => {
            crate::replication::anti_entropy::repair_asked(node, incoming.from, slots)
        }
        Message::Invalidate { keys } => node.tracking.remote_changed(node, incoming.from, &keys),
        Message::Track { generation } => node.tracking.track_remote(incoming.from, generation),
        Message::Untrack { generation } => node.tracking.untrack_remote(incoming.from, generation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses an encoded `SHOAL.MSG` frame back into (seq, message), by the bulk lengths
    /// (arguments may hold any bytes).
    fn decode(frame: &[u8]) -> (u64, Option<Message>) {
        let line = |at: usize| -> (usize, usize) {
            let end = at
                + frame[at..]
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .unwrap_or(0);
            let number = std::str::from_utf8(&frame[at + 1..end])
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            (number, end + 2)
        };
        let (count, mut at) = line(0);
        let mut args: Vec<&[u8]> = Vec::new();
        for _ in 0..count {
            let (len, start) = line(at);
            args.push(&frame[start..start + len]);
            at = start + len + 2;
        }
        let seq = String::from_utf8_lossy(args[1]).parse().unwrap_or(0);
        (seq, Message::parse(args[2], &args[3..]))
    }

    #[test]
    fn messages_round_trip_through_their_encoding() {
        let messages = [
            Message::Publish {
                channel: Bytes::from_static(b"news"),
                payload: Bytes::from_static(b"hello"),
            },
            Message::ShardPublish {
                channel: Bytes::from_static(b"{user}:1"),
                payload: Bytes::new(),
            },
            Message::Replicate {
                db: 3,
                key: Bytes::from_static(b"k"),
                version: 1 << 40,
                expire_at: 0,
                value: Some(Bytes::from_static(b"v")),
                repair: false,
            },
            Message::Replicate {
                db: 1,
                key: Bytes::from_static(b"k"),
                version: 2,
                expire_at: 0,
                value: Some(Bytes::from_static(b"v")),
                repair: true,
            },
            Message::Replicate {
                db: 1,
                key: Bytes::from_static(b"k"),
                version: 3,
                expire_at: 0,
                value: None,
                repair: true,
            },
            Message::Replicate {
                db: 0,
                key: Bytes::from_static(b"gone"),
                version: 7,
                expire_at: 12,
                value: None,
                repair: false,
            },
            Message::Ack { epoch: 5, seq: 9 },
            Message::Resync { id: 3 },
            Message::Synced {
                id: 0,
                slots: SlotSet::from_fn(|s| s % 3 == 0),
            },
            Message::Digest {
                at: 1_700_000_000_000,
                slots: SlotSet::from_fn(|s| s == 1 || s == 16383),
                sums: vec![u64::MAX, 42],
            },
            Message::Repair {
                slots: SlotSet::from_fn(|s| s == 7),
            },
        ];
        for (seq, message) in messages.into_iter().enumerate() {
            let mut out = Vec::new();
            message.encode(seq as u64 + 1, &mut out);
            assert_eq!(decode(&out), (seq as u64 + 1, Some(message.clone())));
        }
        assert_eq!(Message::parse(b"NOPE", &[b"a", b"b"]), None);
        assert_eq!(Message::parse(b"PUBLISH", &[b"a"]), None);
        assert_eq!(
            Message::parse(b"REPL", &[b"0", b"k", b"x", b"0", b"v"]),
            None
        );
        assert_eq!(Message::parse(b"ACK", &[b"1"]), None);
        // A digest whose sums do not match its slots is refused.
        let one_slot = SlotSet::from_fn(|s| s == 5).to_bytes();
        assert_eq!(Message::parse(b"DIGEST", &[b"1", &one_slot, b"1234"]), None);
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
