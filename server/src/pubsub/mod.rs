//! Pub/Sub: who is subscribed to what on this node, and delivering messages to them.
//!
//! [`PubSub`] maps channels, patterns and shard channels to the clients subscribed to them.
//! Delivering a message encodes it once per protocol (an array in RESP2, a push in RESP3) and
//! appends it to each subscriber's [`Inbox`]; the subscriber's connection writes its inbox out
//! (see `connection.rs`). A subscriber that cannot keep up is disconnected by
//! `client-output-buffer-limit` ([`OutputLimits`]): its inbox never holds more than the hard
//! limit, and the publisher never waits for it.
//!
//! Across the cluster (Redis Cluster's semantics): `PUBLISH` on any node reaches the
//! subscribers of every node. The node it runs on delivers to its own subscribers and sends the
//! message over its peer streams (`peer::stream`) to every other live node, which delivers it to
//! theirs; a stream keeps each node's messages in order. `SPUBLISH` runs on the shard channel's
//! slot owner, which does the same for shard subscribers. Keyspace notifications are published
//! the same way (see `notify`). The commands are in `command::pubsub`.

pub mod limits;

pub use limits::{ClientClass, OutputLimits};

use crate::client::ClientInfo;
use crate::glob::Pattern;
use crate::protocol::{Protocol, Reply};
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::Notify;

/// Messages waiting to be written to one subscriber.
#[derive(Default)]
pub struct Inbox {
    queue: Mutex<VecDeque<Bytes>>,
    bytes: AtomicUsize,
    notify: Notify,
    /// When its output first passed the soft limit (unix ms), 0 while under it.
    soft_since: AtomicU64,
}

impl Inbox {
    /// Bytes waiting.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Moves every waiting message to the end of `out`.
    pub fn drain_into(&self, out: &mut Vec<u8>) {
        let mut queue = self.queue.lock();
        for message in queue.drain(..) {
            out.extend_from_slice(&message);
        }
        self.bytes.store(0, Ordering::Relaxed);
    }

    /// Drops every waiting message.
    pub fn clear(&self) {
        self.queue.lock().clear();
        self.bytes.store(0, Ordering::Relaxed);
    }

    /// Resolves when a message may be waiting.
    pub async fn ready(&self) {
        if self.bytes() > 0 {
            return;
        }
        self.notify.notified().await;
    }

    fn push(&self, message: Bytes) {
        self.bytes.fetch_add(message.len(), Ordering::Relaxed);
        self.queue.lock().push_back(message);
        self.notify.notify_one();
    }
}

/// One message, encoded for each protocol on first need.
struct Encoded<'a> {
    parts: [&'a [u8]; 4],
    count: usize,
    resp2: Option<Bytes>,
    resp3: Option<Bytes>,
}

impl<'a> Encoded<'a> {
    fn new(parts: &[&'a [u8]]) -> Encoded<'a> {
        let mut fixed: [&[u8]; 4] = [&[]; 4];
        for (slot, part) in fixed.iter_mut().zip(parts) {
            *slot = part;
        }
        Encoded {
            parts: fixed,
            count: parts.len().min(4),
            resp2: None,
            resp3: None,
        }
    }

    fn for_protocol(&mut self, protocol: Protocol) -> Bytes {
        let parts = &self.parts[..self.count];
        let cached = match protocol {
            Protocol::Resp2 => &mut self.resp2,
            Protocol::Resp3 => &mut self.resp3,
        };
        cached
            .get_or_insert_with(|| {
                let reply = Reply::Push(parts.iter().map(|p| Reply::bulk(p)).collect());
                let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 16).sum());
                reply.encode(protocol, &mut out);
                Bytes::from(out)
            })
            .clone()
    }
}

/// The subscribers of one channel or pattern.
type Subscribers = Vec<Arc<ClientInfo>>;

/// This node's subscriptions.
#[derive(Default)]
pub struct PubSub {
    channels: RwLock<HashMap<Bytes, Subscribers>>,
    patterns: RwLock<Vec<(Bytes, Pattern, Subscribers)>>,
    shard_channels: RwLock<HashMap<Bytes, Subscribers>>,
    /// `client-output-buffer-limit`.
    pub limits: OutputLimits,
    /// Clients disconnected for passing their output buffer limit, by class.
    pub disconnected: [AtomicU64; 2],
}

/// What a subscription is to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl PubSub {
    /// Subscribes `client` to `name`; false if it already was.
    pub fn subscribe(&self, kind: Kind, name: &[u8], client: &Arc<ClientInfo>) -> bool {
        let name = Bytes::copy_from_slice(name);
        match kind {
            Kind::Channel => add(&mut self.channels.write(), name, client),
            Kind::Shard => add(&mut self.shard_channels.write(), name, client),
            Kind::Pattern => {
                let mut patterns = self.patterns.write();
                match patterns.iter_mut().find(|(p, _, _)| *p == name) {
                    Some((_, _, subscribers)) => {
                        if subscribers.iter().any(|s| s.id == client.id) {
                            return false;
                        }
                        subscribers.push(client.clone());
                    }
                    None => {
                        let pattern = Pattern::new(&name, false);
                        patterns.push((name, pattern, vec![client.clone()]));
                    }
                }
                true
            }
        }
    }

    /// Unsubscribes client `id` from `name`; false if it was not subscribed.
    pub fn unsubscribe(&self, kind: Kind, name: &[u8], id: u64) -> bool {
        match kind {
            Kind::Channel => remove(&mut self.channels.write(), name, id),
            Kind::Shard => remove(&mut self.shard_channels.write(), name, id),
            Kind::Pattern => {
                let mut patterns = self.patterns.write();
                let Some(at) = patterns.iter().position(|(p, _, _)| p.as_ref() == name) else {
                    return false;
                };
                let subscribers = &mut patterns[at].2;
                let before = subscribers.len();
                subscribers.retain(|s| s.id != id);
                let removed = subscribers.len() != before;
                if subscribers.is_empty() {
                    patterns.remove(at);
                }
                removed
            }
        }
    }

    /// Delivers a `PUBLISH` to this node's subscribers of `channel` and of the patterns it
    /// matches; returns how many received it.
    pub fn deliver(&self, channel: &[u8], payload: &[u8]) -> usize {
        let mut received = 0;
        if let Some(subscribers) = self.channels.read().get(channel) {
            let mut message = Encoded::new(&[b"message", channel, payload]);
            for subscriber in subscribers {
                received += usize::from(self.send(subscriber, &mut message));
            }
        }
        for (pattern_text, pattern, subscribers) in self.patterns.read().iter() {
            if !pattern.matches(channel) {
                continue;
            }
            let mut message = Encoded::new(&[b"pmessage", pattern_text, channel, payload]);
            for subscriber in subscribers {
                received += usize::from(self.send(subscriber, &mut message));
            }
        }
        received
    }

    /// Delivers an `SPUBLISH` to this node's subscribers of shard channel `channel`.
    pub fn deliver_shard(&self, channel: &[u8], payload: &[u8]) -> usize {
        let mut received = 0;
        if let Some(subscribers) = self.shard_channels.read().get(channel) {
            let mut message = Encoded::new(&[b"smessage", channel, payload]);
            for subscriber in subscribers {
                received += usize::from(self.send(subscriber, &mut message));
            }
        }
        received
    }

    /// Appends `message` to `subscriber`'s inbox unless that passes its output limit, in which
    /// case the subscriber is disconnected. Whether it was delivered.
    fn send(&self, subscriber: &ClientInfo, message: &mut Encoded<'_>) -> bool {
        if subscriber.is_killed() {
            return false;
        }
        let protocol = if subscriber.resp.load(Ordering::Relaxed) == 3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        self.push(
            subscriber,
            message.for_protocol(protocol),
            ClientClass::PubSub,
        )
    }

    /// Appends encoded `bytes` to `client`'s inbox unless that passes the output limit of
    /// `class`, in which case the client is disconnected. Whether it was delivered.
    pub fn push(&self, client: &ClientInfo, bytes: Bytes, class: ClientClass) -> bool {
        if client.is_killed() {
            return false;
        }
        let pending =
            client.inbox.bytes() + client.output_buffer.load(Ordering::Relaxed) + bytes.len();
        let now = crate::clock::now_ms();
        if self
            .limits
            .exceeded(class, pending, &client.inbox.soft_since, now)
        {
            self.disconnect(client, class, pending);
            return false;
        }
        client.inbox.push(bytes);
        true
    }

    /// Checks a client's own pending output (replies not yet written, plus waiting messages)
    /// against its class's limit; disconnects it and answers true when it is over.
    #[inline]
    pub fn check_output(&self, client: &ClientInfo, class: ClientClass, replies: usize) -> bool {
        self.limits.any(class) && self.check_output_against_limits(client, class, replies)
    }

    fn check_output_against_limits(
        &self,
        client: &ClientInfo,
        class: ClientClass,
        replies: usize,
    ) -> bool {
        let pending = replies + client.inbox.bytes();
        let now = crate::clock::now_ms();
        if self
            .limits
            .exceeded(class, pending, &client.inbox.soft_since, now)
        {
            self.disconnect(client, class, pending);
            return true;
        }
        false
    }

    /// Closes a client that passed its output buffer limit, and frees what waited for it.
    pub fn disconnect(&self, client: &ClientInfo, class: ClientClass, pending: usize) {
        tracing::warn!(
            client = client.id,
            addr = %client.addr,
            pending,
            class = class.name(),
            "client scheduled to be closed ASAP for overcoming of output buffer limits"
        );
        self.disconnected[class as usize].fetch_add(1, Ordering::Relaxed);
        client.kill();
        client.inbox.clear();
    }

    /// Channels with at least one subscriber matching `pattern` (all when `None`).
    pub fn channel_names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let map = match kind {
            Kind::Channel => self.channels.read(),
            Kind::Shard => self.shard_channels.read(),
            Kind::Pattern => return Vec::new(),
        };
        let pattern = pattern.map(|p| Pattern::new(p, false));
        map.keys()
            .filter(|name| pattern.as_ref().is_none_or(|p| p.matches(name)))
            .cloned()
            .collect()
    }

    /// Subscribers of channel `name`.
    pub fn subscriber_count(&self, kind: Kind, name: &[u8]) -> usize {
        match kind {
            Kind::Channel => self.channels.read().get(name).map_or(0, Vec::len),
            Kind::Shard => self.shard_channels.read().get(name).map_or(0, Vec::len),
            Kind::Pattern => self
                .patterns
                .read()
                .iter()
                .find(|(p, _, _)| p.as_ref() == name)
                .map_or(0, |(_, _, s)| s.len()),
        }
    }

    /// Channels (`pubsub_channels`), patterns (`pubsub_patterns`) and shard channels
    /// (`pubsubshard_channels`) with subscribers.
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.channels.read().len(),
            self.patterns.read().len(),
            self.shard_channels.read().len(),
        )
    }
}

fn add(map: &mut HashMap<Bytes, Subscribers>, name: Bytes, client: &Arc<ClientInfo>) -> bool {
    let subscribers = map.entry(name).or_default();
    if subscribers.iter().any(|s| s.id == client.id) {
        return false;
    }
    subscribers.push(client.clone());
    true
}

fn remove(map: &mut HashMap<Bytes, Subscribers>, name: &[u8], id: u64) -> bool {
    let Some(subscribers) = map.get_mut(name) else {
        return false;
    };
    let before = subscribers.len();
    subscribers.retain(|s| s.id != id);
    let removed = subscribers.len() != before;
    if subscribers.is_empty() {
        map.remove(name);
    }
    removed
}
