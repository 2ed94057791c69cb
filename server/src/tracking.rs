//! Client-side caching (`CLIENT TRACKING`, Redis 6+): which clients may hold a copy of which
//! key, and telling them when it changes.
//!
//! Two ways to track, as in Redis:
//!
//! - **Default mode**: every key a tracking client reads (a `readonly` command's keys; with
//!   `OPTIN` only after `CLIENT CACHING YES`, with `OPTOUT` unless `CLIENT CACHING NO`) is
//!   remembered in the *table* (key → client ids). When the key changes the clients in its
//!   entry get one invalidation each and the entry is dropped: a client is told once, until it
//!   reads the key again. Keys are remembered before the command runs, so a write that lands
//!   after the read always finds the reader in the table (a write just before costs a spurious
//!   invalidation at most). The table holds at most `tracking-table-max-keys` keys: past it,
//!   keys are dropped with an invalidation, as if they had changed.
//! - **BCAST**: no table; a client names prefixes (none: every key) and hears of every change
//!   of a key under them, one message per prefix per command with the keys in order.
//!
//! **Across the cluster.** A node records its own clients' reads in its own table, whether
//! the read runs here or is forwarded to the key's primary. The primaries learn which nodes
//! have tracking clients: a node whose first client starts tracking announces it (`TRACK`
//! on its peer stream, with a *generation* that grows each time), again on every topology
//! change, and every request it forwards for a tracking client carries its mark
//! (`SHOAL.FWD ... <node-id>/<generation>`), which the primary registers before running the
//! read — so no change after the read can miss the reader's node. A primary sends every
//! change of its keys (writes, expiry, eviction, a replica's newer state it takes, flushes)
//! to each registered node (`INVAL keys...`, one message per effects record, on the ordered
//! peer stream); the node then invalidates its own clients as for a local change (table,
//! BCAST prefixes). A node with no tracking client left says so (`UNTRACK <generation>`,
//! ignored by a primary that has seen a later generation). Interest is kept per node, not
//! per key: the bookkeeping is one entry per tracking node, and the per-key table stays
//! on the reader's node, bounded as above. What could be missed is flushed: when a slot's
//! primary changes (failover, hand-off, a node leaving) the keys of that slot are
//! invalidated for their readers (BCAST clients get a null invalidation); when a peer
//! stream loses messages every tracking client gets a null invalidation.
//!
//! Invalidations are read from effects records (see `crate::effects`): writes, deletes,
//! expiry, eviction, and `FLUSHDB`/`FLUSHALL` (a null invalidation to every tracking client,
//! which also empties the table). As in Redis, keys are tracked by name across databases.
//!
//! A message goes to the client itself as a RESP3 `invalidate` push, or to its `REDIRECT`
//! client: as a push if that one speaks RESP3, else as a Pub/Sub message on
//! `__redis__:invalidate` if it is subscribed to anything (a RESP2 client not redirecting
//! hears nothing, as in Redis). A redirect client that went away makes the redirect broken
//! (`tracking-redir-broken` pushed to a RESP3 tracking client). `NOLOOP` spares a client the
//! invalidations of its own writes. Messages go through the client's inbox (`pubsub::Inbox`),
//! which its connection writes after the replies of the batch in which they arrived: a reply
//! read before a change always reaches the client before the change's invalidation.

use crate::client::ClientInfo;
use crate::command::{Command, flag};
use crate::node::Node;
use crate::pubsub::ClientClass;
use crate::store::effects::{Effects, Whole};
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::peer::stream::Message;
use shoal_cluster::NodeId;
use shoal_cluster::slot::{SlotSet, key_slot};

/// Parts of the table, each under its own lock.
const SHARDS: usize = 16;
/// Most keys dropped from a full table per remembered read.
const OVERFLOW_EFFORT: usize = 100;
/// `tracking-table-max-keys`'s default, as Redis's.
pub const DEFAULT_MAX_KEYS: u64 = 1_000_000;

/// A client's `CLIENT TRACKING` options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// The client invalidations go to (0: the client itself).
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
}

impl Flags {
    /// Whether a read is remembered, given the client's pending `CLIENT CACHING` (`caching`).
    pub fn remembers(&self, caching: bool) -> bool {
        let chosen = if self.optin {
            caching
        } else if self.optout {
            !caching
        } else {
            true
        };
        !self.bcast && chosen
    }
}

/// What other connections see of a tracking client: its options, its BCAST prefixes, and
/// whether its redirect broke.
#[derive(Debug, Default)]
pub struct Mode {
    pub flags: Flags,
    pub prefixes: Vec<Bytes>,
    pub broken_redirect: bool,
}

type Ids = SmallVec<[u64; 2]>;
type Shard = HashMap<Box<[u8]>, Ids, foldhash::fast::RandomState>;

/// The node's tracking state.
pub struct Tracking {
    table: Box<[Mutex<Shard>]>,
    keys: AtomicUsize,
    items: AtomicUsize,
    /// Tracking clients by id.
    clients: RwLock<HashMap<u64, Arc<ClientInfo>>>,
    /// BCAST prefixes and the clients of each.
    prefixes: RwLock<Vec<(Bytes, Vec<u64>)>>,
    /// Some client tracks: effects records must note changed keys.
    active: AtomicBool,
    /// `tracking-table-max-keys` (0: no limit).
    max_keys: AtomicU64,
    /// Invalidation messages sent (`shoal_tracking_invalidations_total`).
    pub sent: AtomicU64,
    /// Round-robin start for overflow eviction.
    overflow_cursor: AtomicUsize,
    /// Grows each time this node's first client starts tracking.
    generation: AtomicU64,
    /// Other nodes with tracking clients, and the latest generation each announced.
    remote: Mutex<HashMap<NodeId, u64>>,
    /// `remote` is not empty.
    has_remote: AtomicBool,
}

impl Default for Tracking {
    fn default() -> Tracking {
        Tracking {
            table: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            keys: AtomicUsize::new(0),
            items: AtomicUsize::new(0),
            clients: RwLock::new(HashMap::new()),
            prefixes: RwLock::new(Vec::new()),
            active: AtomicBool::new(false),
            max_keys: AtomicU64::new(DEFAULT_MAX_KEYS),
            sent: AtomicU64::new(0),
            overflow_cursor: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            remote: Mutex::new(HashMap::new()),
            has_remote: AtomicBool::new(false),
        }
    }
}

/// The payload of one invalidation: some keys, or every key (a flush).
enum Payload<'a> {
    Keys(&'a [&'a [u8]]),
    All,
}

impl Tracking {
    /// Whether any client tracks.
    #[inline]
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Sets `tracking-table-max-keys`.
    pub fn set_max_keys(&self, max: u64) {
        self.max_keys.store(max, Ordering::Relaxed);
    }

    /// Tracking clients (`tracking_clients`), keys in the table (`tracking_total_keys`),
    /// client ids in it (`tracking_total_items`), BCAST prefixes (`tracking_total_prefixes`).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        (
            self.clients.read().len(),
            self.keys.load(Ordering::Relaxed),
            self.items.load(Ordering::Relaxed),
            self.prefixes.read().len(),
        )
    }

    /// Turns tracking on (or changes its options) for `info` with `prefixes` added (BCAST).
    pub fn enable(&self, node: &Node, info: &Arc<ClientInfo>, flags: Flags, prefixes: &[Bytes]) {
        {
            let mut mode = info.tracking.lock();
            let mode = mode.get_or_insert_with(Mode::default);
            mode.flags = flags;
            mode.broken_redirect = false;
            if flags.bcast {
                let mut table = self.prefixes.write();
                let wanted: Vec<Bytes> = if prefixes.is_empty() {
                    vec![Bytes::new()]
                } else {
                    prefixes.to_vec()
                };
                for prefix in wanted {
                    if mode.prefixes.contains(&prefix) {
                        continue;
                    }
                    // Kept in byte order: messages go out prefix by prefix in that order.
                    match table.binary_search_by(|(p, _)| p.cmp(&prefix)) {
                        Ok(at) => table[at].1.push(info.id),
                        Err(at) => table.insert(at, (prefix.clone(), vec![info.id])),
                    }
                    mode.prefixes.push(prefix);
                }
            }
        }
        let mut clients = self.clients.write();
        clients.insert(info.id, info.clone());
        if !self.active.swap(true, Ordering::SeqCst) {
            self.generation.fetch_add(1, Ordering::SeqCst);
            self.announce(node);
        }
        node.store.set_tracking_wanted(true);
    }

    /// `<node-id>/<generation>`: what this node's tracking clients' forwarded requests
    /// carry (`None` outside a cluster).
    pub fn mark(&self, node: &Node) -> Option<Bytes> {
        let cluster = node.cluster.get()?;
        let id = cluster.topology.load().myself().id;
        let generation = self.generation.load(Ordering::SeqCst);
        Some(Bytes::from(format!("{id}/{generation}")))
    }

    /// Tells every other live member that this node has tracking clients.
    fn announce(&self, node: &Node) {
        let generation = self.generation.load(Ordering::SeqCst);
        node.forward
            .streams
            .broadcast(node, &Message::Track { generation });
    }

    /// Turns tracking off for `info` (its entries in the table go lazily, as in Redis).
    pub fn disable(&self, node: &Node, info: &ClientInfo) {
        let Some(mode) = info.tracking.lock().take() else {
            return;
        };
        if !mode.prefixes.is_empty() {
            let mut table = self.prefixes.write();
            for prefix in &mode.prefixes {
                if let Some(at) = table.iter().position(|(p, _)| p == prefix) {
                    table[at].1.retain(|id| *id != info.id);
                    if table[at].1.is_empty() {
                        table.remove(at);
                    }
                }
            }
        }
        let mut clients = self.clients.write();
        clients.remove(&info.id);
        if clients.is_empty() && self.active.swap(false, Ordering::SeqCst) {
            let generation = self.generation.load(Ordering::SeqCst);
            node.forward
                .streams
                .broadcast(node, &Message::Untrack { generation });
        }
        node.store.set_tracking_wanted(!clients.is_empty());
    }

    /// Remembers that client `id` may cache the keys `command` reads in `args`. Called before
    /// the command runs.
    pub fn remember(&self, node: &Node, id: u64, command: &Command, args: &[&[u8]]) {
        if command.has(flag::PUBSUB) {
            return;
        }
        for position in command.keys.positions(args) {
            let Some(key) = args.get(position) else {
                continue;
            };
            let mut shard = self.shard(key).lock();
            match shard.get_mut(*key) {
                Some(ids) => {
                    if !ids.contains(&id) {
                        ids.push(id);
                        self.items.fetch_add(1, Ordering::Relaxed);
                    }
                }
                None => {
                    shard.insert(Box::from(*key), SmallVec::from_slice(&[id]));
                    self.keys.fetch_add(1, Ordering::Relaxed);
                    self.items.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        self.limit(node);
    }

    /// Drops keys past `tracking-table-max-keys`, invalidating them for their clients.
    fn limit(&self, node: &Node) {
        let max = self.max_keys.load(Ordering::Relaxed);
        if max == 0 {
            return;
        }
        let mut effort = OVERFLOW_EFFORT;
        while self.keys.load(Ordering::Relaxed) as u64 > max && effort > 0 {
            effort -= 1;
            let at = self.overflow_cursor.fetch_add(1, Ordering::Relaxed) % SHARDS;
            let taken = {
                let mut shard = self.table[at].lock();
                let key = shard.keys().next().cloned();
                key.and_then(|k| shard.remove_entry(&k))
            };
            if let Some((key, ids)) = taken {
                self.forget(ids.len());
                self.tell(node, &ids, &key, None);
            }
        }
    }

    fn shard(&self, key: &[u8]) -> &Mutex<Shard> {
        use std::hash::BuildHasher;
        let hash = foldhash::fast::FixedState::with_seed(7).hash_one(key);
        &self.table[(hash as usize) % SHARDS]
    }

    fn forget(&self, ids: usize) {
        self.keys.fetch_sub(1, Ordering::Relaxed);
        self.items.fetch_sub(ids, Ordering::Relaxed);
    }

    /// Sends the invalidations `effects` calls for; `origin` is the client whose command made
    /// the changes (for `NOLOOP`).
    pub fn invalidate(&self, node: &Node, effects: &Effects, origin: Option<u64>) {
        self.tell_remote(node, effects);
        if !self.is_active() {
            return;
        }
        if effects
            .wholes()
            .iter()
            .any(|w| matches!(w, Whole::Flushed(_)))
        {
            self.flush(node);
        }
        let changed: Vec<&[u8]> = effects.changes().map(|(_, key)| key).collect();
        self.invalidate_keys(node, changed, origin);
    }

    /// Invalidates `keys` for this node's clients: those that read them (their table
    /// entries go) and the BCAST clients of matching prefixes.
    fn invalidate_keys(&self, node: &Node, keys: Vec<&[u8]>, origin: Option<u64>) {
        if keys.is_empty() {
            return;
        }
        for key in &keys {
            if let Some(ids) = self.shard(key).lock().remove(*key) {
                self.forget(ids.len());
                self.tell(node, &ids, key, origin);
            }
        }
        if !self.prefixes.read().is_empty() {
            self.broadcast(node, keys, origin);
        }
    }

    /// A write this node forwards to its keys' primary for client `origin`: the keys are
    /// invalidated here at once for this node's tracking clients, so that no read after the
    /// write's reply (the writer's own first) is served from a copy the change has not
    /// reached yet — the primary's invalidation comes over the stream, later than the reply.
    /// That one still comes (a second, harmless invalidation, for a reader who read again
    /// meanwhile).
    pub fn forwarded_write(&self, node: &Node, command: &Command, args: &[&[u8]], origin: u64) {
        if !self.is_active() || !command.has(flag::WRITE) {
            return;
        }
        let keys: Vec<&[u8]> = command
            .keys
            .positions(args)
            .into_iter()
            .filter_map(|position| args.get(position).copied())
            .collect();
        self.invalidate_keys(node, keys, Some(origin));
    }

    /// Sends the changes of `effects` to the other nodes with tracking clients: the keys of
    /// slots this node is the primary of (their other owners' copies change after it).
    pub fn tell_remote(&self, node: &Node, effects: &Effects) {
        if !self.has_remote.load(Ordering::Relaxed) {
            return;
        }
        let Some(cluster) = node.cluster.get() else {
            return;
        };
        let topology = cluster.topology.load();
        let flushed = effects
            .wholes()
            .iter()
            .any(|w| matches!(w, Whole::Flushed(_)));
        if flushed {
            // Every key at once: the message without keys.
            self.send_remote(node, &topology, |_| Some(Vec::new()));
            return;
        }
        let keys: Vec<&[u8]> = effects
            .changes()
            .map(|(_, key)| key)
            .filter(|key| topology.is_primary(key_slot(key)))
            .collect();
        if !keys.is_empty() {
            self.send_remote(node, &topology, |to| not_following(&topology, to, &keys));
        }
    }

    /// A key's state changed here without an effects record (a replicated state applied):
    /// invalidates it for this node's clients, and for other nodes' when this is its primary.
    pub fn changed_key(&self, node: &Node, key: &[u8]) {
        if self.is_active() {
            self.invalidate_keys(node, vec![key], None);
        }
        if !self.has_remote.load(Ordering::Relaxed) {
            return;
        }
        let Some(cluster) = node.cluster.get() else {
            return;
        };
        let topology = cluster.topology.load();
        if topology.is_primary(key_slot(key)) {
            self.send_remote(node, &topology, |to| not_following(&topology, to, &[key]));
        }
    }

    /// Sends each other node with tracking clients the `Invalidate` message `keys_for` makes
    /// for it (`None`: nothing for that node).
    fn send_remote(
        &self,
        node: &Node,
        topology: &shoal_cluster::Topology,
        keys_for: impl Fn(NodeId) -> Option<Vec<Bytes>>,
    ) {
        let me = topology.myself().id;
        let mut remote = self.remote.lock();
        // A node that is gone tracks nothing here any more (it comes back as a new member).
        remote.retain(|id, _| topology.member(id).is_some_and(|m| m.state.is_live()));
        self.has_remote.store(!remote.is_empty(), Ordering::Relaxed);
        for (id, _) in remote.iter().filter(|(id, _)| **id != me) {
            if let Some(member) = topology.member(id)
                && let Some(keys) = keys_for(*id)
            {
                let peer = crate::peer::Peer {
                    id: member.id,
                    addr: member.client,
                };
                node.forward
                    .streams
                    .send(node, peer, Message::Invalidate { keys });
            }
        }
    }

    /// `from` has tracking clients (generation `generation`): send it invalidations.
    pub fn track_remote(&self, from: NodeId, generation: u64) {
        let mut remote = self.remote.lock();
        let known = remote.entry(from).or_insert(generation);
        *known = (*known).max(generation);
        self.has_remote.store(true, Ordering::Relaxed);
    }

    /// `from` has no tracking client left since `generation`.
    pub fn untrack_remote(&self, from: NodeId, generation: u64) {
        let mut remote = self.remote.lock();
        if remote.get(&from).is_some_and(|known| *known <= generation) {
            remote.remove(&from);
        }
        self.has_remote.store(!remote.is_empty(), Ordering::Relaxed);
    }

    /// Keys changed on `from` (none: every key): invalidates them for this node's clients.
    /// A node with no tracking client left asks `from` to stop.
    pub fn remote_changed(&self, node: &Node, from: NodeId, keys: &[Bytes]) {
        if !self.is_active() {
            if let Some(peer) = crate::replication::peer_by_id(node, from) {
                let generation = self.generation.load(Ordering::SeqCst);
                node.forward
                    .streams
                    .send(node, peer, Message::Untrack { generation });
            }
            return;
        }
        if keys.is_empty() {
            self.flush(node);
            return;
        }
        self.invalidate_keys(node, keys.iter().map(|k| &k[..]).collect(), None);
    }

    /// The topology changed: the keys of slots whose primary changed may have changed
    /// unseen (the new primary did not know of this node's readers), so they are
    /// invalidated for their readers (BCAST clients, which have no table, get a null
    /// invalidation); and the new members hear that this node tracks.
    pub fn topology_changed(&self, node: &Node, moved: &SlotSet) {
        if !self.is_active() {
            return;
        }
        self.announce(node);
        if moved.is_empty() {
            return;
        }
        for shard in self.table.iter() {
            let taken: Vec<(Box<[u8]>, Ids)> = {
                let mut shard = shard.lock();
                let keys: Vec<Box<[u8]>> = shard
                    .keys()
                    .filter(|k| moved.contains(key_slot(k)))
                    .cloned()
                    .collect();
                keys.into_iter()
                    .filter_map(|k| shard.remove_entry(&k))
                    .collect()
            };
            for (key, ids) in taken {
                self.forget(ids.len());
                self.tell(node, &ids, &key, None);
            }
        }
        let clients = self.clients.read();
        for info in clients.values() {
            let Some(flags) = info.tracking.lock().as_ref().map(|m| m.flags) else {
                continue;
            };
            if flags.bcast {
                self.send(node, info, flags, Payload::All);
            }
        }
    }

    /// Invalidates `key` for the default-mode clients `ids` (those still tracking that way).
    fn tell(&self, node: &Node, ids: &[u64], key: &[u8], origin: Option<u64>) {
        let clients = self.clients.read();
        for id in ids {
            let Some(info) = clients.get(id) else {
                continue;
            };
            let Some(flags) = info.tracking.lock().as_ref().map(|m| m.flags) else {
                continue;
            };
            if flags.bcast || (flags.noloop && origin == Some(*id)) {
                continue;
            }
            self.send(node, info, flags, Payload::Keys(&[key]));
        }
    }

    /// Sends BCAST clients the changed keys under their prefixes: per prefix one message
    /// with its keys in order, each once.
    fn broadcast(&self, node: &Node, mut changed: Vec<&[u8]>, origin: Option<u64>) {
        changed.sort_unstable();
        changed.dedup();
        let prefixes = self.prefixes.read();
        let clients = self.clients.read();
        for (prefix, ids) in prefixes.iter() {
            let keys: Vec<&[u8]> = changed
                .iter()
                .copied()
                .filter(|k| k.starts_with(prefix))
                .collect();
            if keys.is_empty() {
                continue;
            }
            for id in ids {
                let Some(info) = clients.get(id) else {
                    continue;
                };
                let Some(flags) = info.tracking.lock().as_ref().map(|m| m.flags) else {
                    continue;
                };
                // A NOLOOP client's own command made every change here: nothing to tell.
                if flags.noloop && origin == Some(*id) {
                    continue;
                }
                self.send(node, info, flags, Payload::Keys(&keys));
            }
        }
    }

    /// Every tracking client is told that every key changed (a null invalidation), and the
    /// table is emptied: after `FLUSHDB`/`FLUSHALL`, here or on another node, and when what
    /// was missed cannot be known (a peer stream lost messages).
    pub fn flush(&self, node: &Node) {
        if !self.is_active() {
            return;
        }
        for shard in self.table.iter() {
            let mut shard = shard.lock();
            for ids in shard.values() {
                self.keys.fetch_sub(1, Ordering::Relaxed);
                self.items.fetch_sub(ids.len(), Ordering::Relaxed);
            }
            shard.clear();
        }
        let clients = self.clients.read();
        for info in clients.values() {
            let Some(flags) = info.tracking.lock().as_ref().map(|m| m.flags) else {
                continue;
            };
            self.send(node, info, flags, Payload::All);
        }
    }

    /// Delivers one invalidation for tracking client `info` to where it goes.
    fn send(&self, node: &Node, info: &Arc<ClientInfo>, flags: Flags, payload: Payload<'_>) {
        // The null of a flush is written in the tracking client's protocol, as Redis does.
        let tracker_resp3 = info.resp.load(Ordering::Relaxed) == 3;
        let redirected;
        let target = if flags.redirect == 0 {
            redirected = false;
            info.clone()
        } else {
            match node.clients.get(flags.redirect).filter(|c| !c.is_killed()) {
                Some(target) => {
                    redirected = true;
                    target
                }
                None => {
                    self.broken(node, info, flags.redirect, tracker_resp3);
                    return;
                }
            }
        };
        let target_resp3 = target.resp.load(Ordering::Relaxed) == 3;
        let subscribed = target
            .subscriptions
            .iter()
            .any(|s| s.load(Ordering::Relaxed) > 0);
        let mut out = Vec::with_capacity(64);
        if target_resp3 {
            out.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n");
        } else if redirected && subscribed {
            out.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
        } else {
            return;
        }
        match payload {
            Payload::All if tracker_resp3 => out.extend_from_slice(b"_\r\n"),
            Payload::All => out.extend_from_slice(b"$-1\r\n"),
            Payload::Keys(keys) => {
                let mut number = itoa::Buffer::new();
                out.push(b'*');
                out.extend_from_slice(number.format(keys.len()).as_bytes());
                out.extend_from_slice(b"\r\n");
                for key in keys {
                    out.push(b'$');
                    out.extend_from_slice(number.format(key.len()).as_bytes());
                    out.extend_from_slice(b"\r\n");
                    out.extend_from_slice(key);
                    out.extend_from_slice(b"\r\n");
                }
            }
        }
        let class = if subscribed {
            ClientClass::PubSub
        } else {
            ClientClass::Normal
        };
        if node.pubsub.push(&target, Bytes::from(out), class) {
            self.sent.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The redirect client of `info` is gone: the redirect is broken, which a RESP3 tracking
    /// client is told of.
    fn broken(&self, node: &Node, info: &Arc<ClientInfo>, redirect: u64, resp3: bool) {
        if let Some(mode) = info.tracking.lock().as_mut() {
            mode.broken_redirect = true;
        }
        if resp3 {
            let mut out = Vec::with_capacity(48);
            out.extend_from_slice(b">2\r\n$21\r\ntracking-redir-broken\r\n:");
            out.extend_from_slice(itoa::Buffer::new().format(redirect).as_bytes());
            out.extend_from_slice(b"\r\n");
            node.pubsub
                .push(info, Bytes::from(out), ClientClass::Normal);
        }
    }
}

/// Reads a tracker mark (`<node-id>/<generation>`).
pub fn parse_mark(mark: &[u8]) -> Option<(NodeId, u64)> {
    let text = std::str::from_utf8(mark).ok()?;
    let (id, generation) = text.rsplit_once('/')?;
    Some((id.parse().ok()?, generation.parse().ok()?))
}

/// The keys among `keys` (of slots this node is the primary of) that node `to` does not
/// follow: a follower invalidates its own clients when it applies the change, which reaches
/// it on the same stream. `None` when none is left.
fn not_following(
    topology: &shoal_cluster::Topology,
    to: NodeId,
    keys: &[&[u8]],
) -> Option<Vec<Bytes>> {
    let keys: Vec<Bytes> = keys
        .iter()
        .filter(|key| !topology.followers(key_slot(key)).any(|m| m.id == to))
        .map(|key| Bytes::copy_from_slice(key))
        .collect();
    (!keys.is_empty()).then_some(keys)
}
