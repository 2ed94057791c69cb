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
use crate::store::Store;
use crate::store::effects::{Effects, Whole};
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

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
    pub fn enable(&self, store: &Store, info: &Arc<ClientInfo>, flags: Flags, prefixes: &[Bytes]) {
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
        self.active.store(true, Ordering::Relaxed);
        store.set_tracking_wanted(true);
    }

    /// Turns tracking off for `info` (its entries in the table go lazily, as in Redis).
    pub fn disable(&self, store: &Store, info: &ClientInfo) {
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
        self.active.store(!clients.is_empty(), Ordering::Relaxed);
        store.set_tracking_wanted(!clients.is_empty());
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
        let bcast = !self.prefixes.read().is_empty();
        let mut changed: Vec<&[u8]> = Vec::new();
        for (_, key) in effects.changes() {
            let entry = self.shard(key).lock().remove(key);
            if let Some(ids) = entry {
                self.forget(ids.len());
                self.tell(node, &ids, key, origin);
            }
            if bcast {
                changed.push(key);
            }
        }
        if bcast && !changed.is_empty() {
            self.broadcast(node, changed, origin);
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

    /// `FLUSHDB`/`FLUSHALL`: every tracking client is told that every key changed (a null
    /// invalidation), and the table is emptied.
    fn flush(&self, node: &Node) {
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
