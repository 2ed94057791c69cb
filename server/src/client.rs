//! Connected clients: each connection's own state, and the registry `CLIENT LIST` reads.
//!
//! [`Client`] is owned by its connection task and changed freely by commands. The parts other
//! connections need to see (`CLIENT LIST`, `CLIENT KILL`, `INFO clients`) live in a shared
//! [`ClientInfo`] with atomics and small mutexes, touched at most once per command.

use crate::protocol::Protocol;
use crate::store::DbIndex;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use tokio::sync::Notify;

/// `CLIENT REPLY` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Skipping the current command's reply (set from `SkipNext` when a command starts).
    Skipping,
}

/// What other connections can see of a client.
pub struct ClientInfo {
    pub id: u64,
    pub addr: SocketAddr,
    pub local_addr: SocketAddr,
    /// The socket's file descriptor.
    pub fd: i32,
    /// Unix milliseconds when it connected.
    pub created_ms: u64,
    /// Unix milliseconds of the last command.
    pub last_interaction_ms: AtomicU64,
    /// Table id of the last command run.
    pub last_command: AtomicUsize,
    pub db: AtomicUsize,
    pub resp: AtomicUsize,
    pub name: Mutex<Option<String>>,
    pub lib_name: Mutex<Option<String>>,
    pub lib_ver: Mutex<Option<String>>,
    pub no_evict: AtomicBool,
    pub no_touch: AtomicBool,
    /// In MONITOR mode / waiting in a blocking command / commands queued in MULTI (-1: not
    /// in MULTI), for CLIENT LIST's `flags` and `multi`.
    pub monitor: AtomicBool,
    pub blocked: AtomicBool,
    pub multi: std::sync::atomic::AtomicI64,
    /// Bytes in the query buffer / pending output, updated per batch.
    pub query_buffer: AtomicUsize,
    pub output_buffer: AtomicUsize,
    /// Subscriptions to channels, patterns and shard channels, for `CLIENT LIST`.
    pub subscriptions: [AtomicUsize; 3],
    /// Pub/Sub messages and invalidations waiting to be written to it.
    pub inbox: crate::pubsub::Inbox,
    /// `CLIENT TRACKING` (`None`: off; see `tracking`).
    pub tracking: Mutex<Option<crate::tracking::Mode>>,
    /// The keys it WATCHes (database, key), as its connection last published them
    /// ([`Client::publish_watches`]): `CLIENT LIST`'s `watch`, `INFO`'s `watching_clients`
    /// and `total_watched_keys`.
    pub watched_keys: Mutex<Vec<(DbIndex, Vec<u8>)>>,
    /// Set by `CLIENT KILL`; the connection closes when it sees it.
    killed: AtomicBool,
    kill_notify: Notify,
}

impl ClientInfo {
    /// Asks the connection to close.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.kill_notify.notify_one();
    }

    /// Whether the connection was asked to close.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    /// Resolves when the connection is asked to close.
    pub async fn killed(&self) {
        loop {
            if self.is_killed() {
                return;
            }
            self.kill_notify.notified().await;
        }
    }
}

/// A blocking command waiting for one of its keys (BLPOP, BZPOPMIN, XREAD BLOCK…).
#[derive(Debug, Clone)]
pub struct BlockRequest {
    pub db: DbIndex,
    /// Keys whose readiness can serve the command, in the command's order.
    pub keys: Vec<Vec<u8>>,
    /// When to give up (`None`: never).
    pub deadline: Option<std::time::Instant>,
    /// What to answer on timeout (nil, nil array…).
    pub timeout_reply: crate::protocol::Reply,
    /// The arguments to run again when a key is ready, if not the original ones (`XREAD`
    /// resolves `$` to an ID before waiting).
    pub args: Option<Vec<Vec<u8>>>,
}

/// Commands queued between `MULTI` and `EXEC`.
#[derive(Debug, Default)]
pub struct Transaction {
    /// Each queued command's arguments, name first.
    pub queued: Vec<Vec<Vec<u8>>>,
    /// A command was refused while queuing: `EXEC` must answer `EXECABORT`.
    pub failed: bool,
    /// The flags of the queued commands together (EXEC grows memory if one is `denyoom`).
    pub flags: u32,
    /// In a cluster, the slot of the first key queued: the transaction runs on its primary.
    pub slot: Option<shoal_cluster::slot::Slot>,
}

/// A key `WATCH`ed by a client and the version it had then (`None`: it did not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub db: DbIndex,
    pub key: Vec<u8>,
    pub version: Option<u64>,
}

/// A connection's state, owned by its task.
pub struct Client {
    pub id: u64,
    pub db: DbIndex,
    pub protocol: Protocol,
    pub reply_mode: ReplyMode,
    /// `CLIENT NO-TOUCH`: reads do not update LRU clocks.
    pub no_touch: bool,
    /// `READONLY`: reads of keys this node replicates are served here (possibly a little
    /// behind their primary), as Redis Cluster's replicas serve them.
    pub replica_reads: bool,
    /// Inside `MULTI`: the commands queued so far.
    pub multi: Option<Transaction>,
    /// Keys under `WATCH`, and the node's keyspace epoch when the first was watched.
    pub watched: Vec<Watched>,
    pub watch_epoch: u64,
    /// `CLIENT TRACKING`'s options while it is on (a copy of what `info.tracking` holds).
    pub tracking: Option<crate::tracking::Flags>,
    /// `CLIENT CACHING YES|NO` given for the next command (or transaction).
    pub caching: bool,
    /// While it tracks, in a cluster: `<node-id>/<generation>`, sent with its forwarded
    /// requests so their owners send this node invalidations (see `tracking`).
    pub tracking_mark: Option<bytes::Bytes>,
    /// Its Pub/Sub subscriptions.
    pub subscriptions: crate::command::pubsub::Subscriptions,
    /// The effects record its commands run with, kept between commands for its buffers
    /// (allocated on the first command that changes something).
    pub effects: Option<Box<crate::store::effects::Effects>>,
    /// This client's own link to a peer, for blocking commands and transactions there.
    pub session: Option<crate::peer::session::Session>,
    /// In a cluster, the slot of the first WATCHed key: the transaction runs on its primary.
    pub watch_slot: Option<shoal_cluster::slot::Slot>,
    /// When this connection is a peer's link: its handshake state and the request's hops.
    pub peer: crate::peer::PeerSide,
    pub info: Arc<ClientInfo>,
}

impl Client {
    /// Fresh state for a new connection.
    pub fn new(info: Arc<ClientInfo>) -> Client {
        Client {
            id: info.id,
            db: 0,
            protocol: Protocol::Resp2,
            reply_mode: ReplyMode::On,
            no_touch: false,
            replica_reads: false,
            multi: None,
            watched: Vec::new(),
            watch_epoch: 0,
            tracking: None,
            caching: false,
            tracking_mark: None,
            subscriptions: Default::default(),
            effects: Default::default(),
            session: None,
            watch_slot: None,
            peer: crate::peer::PeerSide::default(),
            info,
        }
    }

    /// Forgets every watched key (UNWATCH, EXEC, DISCARD, RESET).
    pub fn clear_watches(&mut self) {
        if !self.watched.is_empty() {
            self.watched.clear();
            self.publish_watches();
        }
    }

    /// Shows the watched keys to `CLIENT LIST` and `INFO` (after WATCH changed them).
    pub fn publish_watches(&self) {
        *self.info.watched_keys.lock() =
            self.watched.iter().map(|w| (w.db, w.key.clone())).collect();
    }

    /// Selects a database (and shows it to `CLIENT LIST`).
    pub fn select(&mut self, db: DbIndex) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }

    /// Switches protocol (and shows it to `CLIENT LIST`).
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
        self.info
            .resp
            .store(protocol.version() as usize, Ordering::Relaxed);
    }

    /// Sets `CLIENT NO-TOUCH`.
    pub fn set_no_touch(&mut self, on: bool) {
        self.no_touch = on;
        self.info.no_touch.store(on, Ordering::Relaxed);
    }
}

/// Every connected client, by id.
#[derive(Default)]
pub struct ClientRegistry {
    clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_id: AtomicU64,
}

impl ClientRegistry {
    /// Registers a new connection and returns its shared info.
    pub fn register(
        &self,
        addr: SocketAddr,
        local_addr: SocketAddr,
        fd: i32,
        now_ms: u64,
    ) -> Arc<ClientInfo> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let info = Arc::new(ClientInfo {
            id,
            addr,
            local_addr,
            fd,
            created_ms: now_ms,
            last_interaction_ms: AtomicU64::new(now_ms),
            last_command: AtomicUsize::new(usize::MAX),
            db: AtomicUsize::new(0),
            resp: AtomicUsize::new(2),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            no_evict: AtomicBool::new(false),
            no_touch: AtomicBool::new(false),
            monitor: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            multi: std::sync::atomic::AtomicI64::new(-1),
            query_buffer: AtomicUsize::new(0),
            output_buffer: AtomicUsize::new(0),
            subscriptions: Default::default(),
            inbox: Default::default(),
            tracking: Mutex::new(None),
            watched_keys: Mutex::new(Vec::new()),
            killed: AtomicBool::new(false),
            kill_notify: Notify::new(),
        });
        self.clients.lock().insert(id, info.clone());
        info
    }

    /// Forgets a closed connection.
    pub fn unregister(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    /// Number of connected clients.
    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    /// Whether no client is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of every client, by id.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.clients.lock().values().cloned().collect()
    }

    /// The client with `id`.
    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.clients.lock().get(&id).cloned()
    }
}
