//! The keyspace: `databases` numbered databases, each split into shards under their own locks.
//!
//! There is no global lock on the request path. A key's shard is chosen from its hash; a
//! command locks the shards of the keys it names (in a fixed order, so commands never
//! deadlock) and works through the resulting [`Locked`] view. Keyless commands (`DBSIZE`,
//! `SCAN`, `FLUSHDB`…) visit shards one at a time. `SWAPDB` swaps shard contents under both
//! databases' locks. Large tables are dropped on a background thread (`FLUSHALL ASYNC`).
//!
//! - `value`: what a key holds; `hash`, `list`, `set`, `zset`, `stream`: the collections;
//!   `hll`: Redis's HyperLogLog string format.
//! - `shard`: one hash table, lazy expiry, the bucket cursor the active cycle uses.
//! - `tombstones`: what a shard remembers of deleted keys (on a node with peers).
//! - `locked`: the view a command gets over the shards it locked.
//! - `expire`: the active expiry cycle.
//! - `access`: per-key access tracking (the LRU clock or LFU counter of each entry).
//! - `evict`: `maxmemory` and eviction: the settings, the pool of candidates, the thread.
//! - `effects`: the record of what a command, expiry or eviction changed.
//! - `codec`: a value as bytes and back (replication, snapshots).

pub mod access;
pub mod codec;
pub mod effects;
pub mod entry;
pub mod evict;
pub mod expire;
pub mod field_expiry;
pub mod hash;
pub mod hll;
pub mod list;
pub mod locked;
pub mod set;
pub mod shard;
pub mod stream;
pub mod tombstones;
pub mod value;
pub mod zset;

pub use entry::Entry;
pub use locked::Locked;
pub use shard::{EntryMut, Replicated, Shard, ShardStats};
pub use value::{StrEncoding, Value, ValueRef};

use crossbeam_utils::CachePadded;
use parking_lot::{Mutex, MutexGuard};
use std::hash::BuildHasher;
use std::sync::mpsc;

/// Shards per database. A power of two; more shards mean less contention and shorter pauses
/// for whole-shard work, fewer mean cheaper whole-database commands.
pub const SHARDS: usize = 64;

/// Dropping a value or entry that takes more deallocations than this happens on the lazy-free
/// thread, as Redis's `LAZYFREE_THRESHOLD`.
const LAZY_FREE_THRESHOLD: usize = 64;

/// Index of a database (`SELECT`).
pub type DbIndex = usize;

/// One numbered database.
pub struct Db {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
}

impl Db {
    fn new() -> Db {
        Db {
            shards: (0..SHARDS)
                .map(|_| CachePadded::new(Mutex::new(Shard::default())))
                .collect(),
        }
    }
}

/// Totals over a database, for `INFO keyspace`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DbSummary {
    pub keys: usize,
    pub volatile: usize,
    /// Average remaining TTL of keys with one, in ms, as the expiry cycle last estimated it.
    pub avg_ttl: u64,
    /// Keys that may hold hashes with field deadlines (`subexpiry`).
    pub field_expiring: usize,
}

/// All databases.
pub struct Store {
    dbs: Box<[Db]>,
    /// Clients waiting on keys (BLPOP…); while 0, nobody needs to hear that a key is ready.
    waiters: std::sync::atomic::AtomicUsize,
    hasher: foldhash::fast::RandomState,
    /// Drops large tables off the request path.
    lazy_free: mpsc::Sender<Box<dyn Send>>,
    /// `maxmemory` and the choice of keys to evict.
    pub evictor: evict::Evictor,
    /// Whether effects records note keyspace events (someone listens to notifications).
    events_wanted: std::sync::atomic::AtomicBool,
    /// Whether effects records note key changes (replication reads them: the node has
    /// peers), and deletes leave tombstones.
    changes_wanted: std::sync::atomic::AtomicBool,
    /// Whether effects records note key changes for client-side-cache invalidation (a
    /// client tracks).
    tracking_wanted: std::sync::atomic::AtomicBool,
    /// Where the effects of expiry and eviction go (see `crate::effects`), once the node is up.
    effects_sink: std::sync::OnceLock<EffectsSink>,
}

/// Receives the effects records the store makes on its own (active expiry, eviction).
pub type EffectsSink = Box<dyn Fn(&mut effects::Effects) + Send + Sync>;

impl Store {
    /// A store with `databases` empty databases.
    pub fn new(databases: usize) -> Store {
        let (tx, rx) = mpsc::channel::<Box<dyn Send>>();
        // The thread ends when the store (and with it the sender) is dropped.
        let spawned = std::thread::Builder::new()
            .name("shoal-lazyfree".into())
            .spawn(move || rx.into_iter().for_each(drop));
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not start the lazy-free thread; frees will be synchronous");
        }
        Store {
            dbs: (0..databases.max(1)).map(|_| Db::new()).collect(),
            waiters: std::sync::atomic::AtomicUsize::new(0),
            hasher: foldhash::fast::RandomState::default(),
            lazy_free: tx,
            evictor: evict::Evictor::default(),
            events_wanted: std::sync::atomic::AtomicBool::new(false),
            changes_wanted: std::sync::atomic::AtomicBool::new(false),
            tracking_wanted: std::sync::atomic::AtomicBool::new(false),
            effects_sink: std::sync::OnceLock::new(),
        }
    }

    /// Sets where the effects of active expiry and eviction go (once).
    pub fn set_effects_sink(&self, sink: EffectsSink) {
        let _ = self.effects_sink.set(sink);
    }

    /// Hands a record the store made on its own to the sink, and empties it.
    pub(crate) fn hand_on(&self, effects: &mut effects::Effects) {
        if effects.is_empty() {
            return;
        }
        if let Some(sink) = self.effects_sink.get() {
            sink(effects);
        }
        effects.reset(self.events_wanted(), self.records_changes());
    }

    /// Whether effects records note keyspace events.
    pub fn events_wanted(&self) -> bool {
        self.events_wanted
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether effects records note key changes.
    pub fn changes_wanted(&self) -> bool {
        self.changes_wanted
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether effects records note key changes (for replication or for tracking).
    #[inline]
    pub fn records_changes(&self) -> bool {
        self.changes_wanted()
            || self
                .tracking_wanted
                .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Starts or stops noting key changes for client-side-cache invalidation.
    pub fn set_tracking_wanted(&self, wanted: bool) {
        self.tracking_wanted
            .store(wanted, std::sync::atomic::Ordering::Relaxed);
    }

    /// Starts or stops noting key changes in effects records (and leaving tombstones).
    pub fn set_changes_wanted(&self, wanted: bool) {
        self.changes_wanted
            .store(wanted, std::sync::atomic::Ordering::Relaxed);
    }

    /// Starts or stops noting keyspace events in effects records.
    pub fn set_events_wanted(&self, wanted: bool) {
        self.events_wanted
            .store(wanted, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts a client starting (`+1`) or ending (`-1`) a wait on keys.
    pub fn add_waiters(&self, delta: isize) {
        use std::sync::atomic::Ordering;
        if delta >= 0 {
            self.waiters.fetch_add(delta as usize, Ordering::SeqCst);
        } else {
            self.waiters
                .fetch_sub(delta.unsigned_abs(), Ordering::SeqCst);
        }
    }

    /// Whether any client waits on a key.
    pub fn has_waiters(&self) -> bool {
        self.waiters.load(std::sync::atomic::Ordering::SeqCst) > 0
    }

    /// Number of databases.
    pub fn databases(&self) -> usize {
        self.dbs.len()
    }

    /// The hash of `key` (used both to pick its shard and inside the shard's table).
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// A hashing function for a shard's table to rehash with.
    pub(crate) fn hasher(&self) -> impl Fn(&[u8]) -> u64 + '_ {
        move |key: &[u8]| self.hash(key)
    }

    /// The shard a hash lives in. Uses middle bits: hashbrown takes the low bits for the
    /// bucket and the top 7 for its tags, so those must stay varied within a shard.
    pub fn shard_of(hash: u64) -> usize {
        ((hash >> 32) as usize) & (SHARDS - 1)
    }

    pub(crate) fn lock_shard(&self, db: DbIndex, shard: usize) -> MutexGuard<'_, Shard> {
        self.dbs[db].shards[shard].lock()
    }

    /// Applies a write replicated from the key's primary (see [`Shard::apply`]): true if it
    /// was newer than what this node holds.
    pub fn apply_replicated(
        &self,
        db: DbIndex,
        key: &[u8],
        write: shard::Replicated,
        now: u64,
    ) -> bool {
        if db >= self.dbs.len() {
            return false;
        }
        let hash = self.hash(key);
        let tracking = self.evictor.settings.tracking();
        let mut shard = self.lock_shard(db, Self::shard_of(hash));
        shard.apply(hash, key, write, now, tracking, self.hasher())
    }

    /// Calls `f` on `key`'s live entry, if any, under its shard's lock, without touching or
    /// counting it.
    pub fn peek<T>(
        &self,
        db: DbIndex,
        key: &[u8],
        now: u64,
        f: impl FnOnce(&Entry) -> T,
    ) -> Option<T> {
        if db >= self.dbs.len() {
            return None;
        }
        let hash = self.hash(key);
        let shard = self.lock_shard(db, Self::shard_of(hash));
        shard.peek(hash, key, now).map(f)
    }

    /// Visits the live entries in buckets `from..` of shard `index` of `db`, under its lock,
    /// until `budget` buckets were looked at; returns the next bucket to visit (`None` at the
    /// end) and the table's bucket count, which tells a caller walking in steps whether the
    /// table was resized between them (then entries may have moved behind its cursor).
    pub fn visit_shard_part(
        &self,
        db: DbIndex,
        index: usize,
        from: usize,
        budget: usize,
        now: u64,
        mut f: impl FnMut(&Entry),
    ) -> (Option<usize>, usize) {
        if db >= self.dbs.len() || index >= SHARDS {
            return (None, 0);
        }
        let shard = self.lock_shard(db, index);
        let buckets = shard.buckets();
        let to = from.saturating_add(budget).min(buckets);
        for bucket in from..to {
            if let Some(entry) = shard.live_at(bucket, now) {
                f(entry);
            }
        }
        ((to < buckets).then_some(to), buckets)
    }

    /// Calls `f` on every tombstone of shard `index` of `db` (key, version of the removal),
    /// under its lock.
    pub fn visit_tombstones(
        &self,
        db: DbIndex,
        index: usize,
        f: impl FnMut(&[u8], shoal_cluster::Version),
    ) {
        if db >= self.dbs.len() || index >= SHARDS {
            return;
        }
        self.lock_shard(db, index).tombstones().for_each(f);
    }

    /// For a key this node holds neither an entry nor a tombstone of in `db`: the newest
    /// version of a tombstone its shard forgot (see `Shard::forgotten_if_absent`).
    pub fn forgotten_if_absent(&self, db: DbIndex, key: &[u8]) -> Option<shoal_cluster::Version> {
        if db >= self.dbs.len() {
            return None;
        }
        let hash = self.hash(key);
        self.lock_shard(db, Self::shard_of(hash))
            .forgotten_if_absent(hash, key)
    }

    /// Removes `key` from this node's copy only: no effects, no tombstone, nothing
    /// replicated (`DEBUG DROP-LOCAL`, which makes a copy drift for anti-entropy to find).
    /// Returns whether a live key went.
    pub fn forget(&self, db: DbIndex, key: &[u8], now: u64) -> bool {
        if db >= self.dbs.len() {
            return false;
        }
        let hash = self.hash(key);
        let removed = self
            .lock_shard(db, Self::shard_of(hash))
            .remove(hash, key, now);
        let found = removed.is_some();
        if let Some(entry) = removed {
            self.dispose_entry(entry);
        }
        found
    }

    /// Removes the entries in buckets `from..` of shard `index` of `db` whose key `unwanted`
    /// names, until `budget` buckets were looked at, with no effects and no tombstones: for
    /// data this node no longer owns (see `handoff`). Returns the next bucket (`None` at the
    /// end), the table's bucket count (as [`Store::visit_shard_part`]) and how many entries
    /// went.
    pub fn drop_shard_part(
        &self,
        db: DbIndex,
        index: usize,
        from: usize,
        budget: usize,
        unwanted: impl Fn(&[u8]) -> bool,
    ) -> (Option<usize>, usize, usize) {
        if db >= self.dbs.len() || index >= SHARDS {
            return (None, 0, 0);
        }
        let mut removed = Vec::new();
        let (next, buckets) = {
            let mut shard = self.lock_shard(db, index);
            let buckets = shard.buckets();
            let to = from.saturating_add(budget).min(buckets);
            shard.drop_buckets(from, to, unwanted, &mut removed);
            ((to < buckets).then_some(to), buckets)
        };
        let count = removed.len();
        for entry in removed {
            self.dispose_entry(entry);
        }
        (next, buckets, count)
    }

    /// Locks the shards holding `keys` (database, key) and returns the view over them.
    pub fn lock<'s, 'k>(
        &'s self,
        keys: impl IntoIterator<Item = (DbIndex, &'k [u8])>,
        now: u64,
    ) -> Locked<'s> {
        let mut wanted: smallvec::SmallVec<[(DbIndex, usize); 4]> = keys
            .into_iter()
            .map(|(db, key)| (db, Self::shard_of(self.hash(key))))
            .collect();
        Locked::holding(self, &mut wanted, now)
    }

    /// Locks every shard of the given databases (transactions with keyspace-wide commands).
    pub fn lock_databases(&self, dbs: &[DbIndex], now: u64) -> Locked<'_> {
        let mut wanted: smallvec::SmallVec<[(DbIndex, usize); 4]> = dbs
            .iter()
            .flat_map(|&db| (0..SHARDS).map(move |shard| (db, shard)))
            .collect();
        Locked::holding(self, &mut wanted, now)
    }

    /// A view that locks one shard at a time, as it is touched (keyless commands).
    pub fn on_demand(&self, now: u64) -> Locked<'_> {
        Locked::on_demand(self, now)
    }

    /// Empties `db`. With `lazy`, the old tables are dropped on the background thread.
    pub fn flush(&self, db: DbIndex, lazy: bool) {
        for shard in self.dbs[db].shards.iter() {
            let old = shard.lock().take_all();
            if lazy {
                self.free_later(Box::new(old));
            }
        }
    }

    /// Drops a value that left the keyspace: on the lazy-free thread when freeing it takes
    /// many deallocations (as Redis's `LAZYFREE_THRESHOLD` of 64), else right here.
    pub fn dispose(&self, value: Value) {
        if value.free_cost() > LAZY_FREE_THRESHOLD {
            self.free_later(Box::new(value));
        }
    }

    /// Drops an entry that left the keyspace, on the lazy-free thread if freeing it takes many
    /// deallocations (see [`Store::dispose`]).
    pub fn dispose_entry(&self, entry: Entry) {
        if entry.free_cost() > LAZY_FREE_THRESHOLD {
            self.free_later(Box::new(entry));
        }
    }

    /// Drops `garbage` on the lazy-free thread (or here, if that thread is gone).
    pub fn free_later(&self, garbage: Box<dyn Send>) {
        if let Err(mpsc::SendError(garbage)) = self.lazy_free.send(garbage) {
            drop(garbage);
        }
    }

    /// Swaps the contents of two databases atomically with respect to every other command.
    pub fn swap_databases(&self, a: DbIndex, b: DbIndex) {
        if a == b {
            return;
        }
        let (first, second) = if a < b { (a, b) } else { (b, a) };
        let mut guards_a: Vec<_> = self.dbs[first].shards.iter().map(|s| s.lock()).collect();
        let mut guards_b: Vec<_> = self.dbs[second].shards.iter().map(|s| s.lock()).collect();
        for (x, y) in guards_a.iter_mut().zip(guards_b.iter_mut()) {
            std::mem::swap(&mut **x, &mut **y);
        }
    }
}
