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
pub mod slot_index;
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
use shoal_cluster::slot::key_slot;
use slot_index::SlotKey;
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

/// Where a walk over the keys of some slots in one shard stands (see
/// [`Store::visit_slots_part`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SlotWalk {
    /// Not begun: the first part chooses how to walk.
    #[default]
    Start,
    /// Through the table's buckets (a shard without a slot index): the next bucket, and the
    /// bucket count the walk began with.
    Buckets { next: usize, buckets: usize },
    /// Through the shard's slot index, after this pair (from the front with `None`).
    Index { after: Option<SlotKey> },
    /// Finished.
    Done,
}

/// What a part of a walk over a shard's slots did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkStep {
    /// Went on; more parts follow.
    More,
    /// Started the shard over (visited nothing): forget what the walk gave so far.
    Restarted,
    /// The shard is done.
    Done,
}

/// The part of a shard a walk visits next.
enum Part {
    /// Buckets `from..to`.
    Buckets(usize, usize),
    /// Slot index pairs after this one.
    Pairs(Option<SlotKey>),
    /// Nothing to visit: the walk answers this.
    Step(WalkStep),
}

impl SlotWalk {
    /// Chooses the next part of `shard` to visit (the shard locked).
    fn next(&mut self, shard: &Shard, budget: usize) -> Part {
        if *self == SlotWalk::Start {
            *self = match shard.slot_index() {
                Some(_) => SlotWalk::Index { after: None },
                None => SlotWalk::Buckets {
                    next: 0,
                    buckets: shard.buckets(),
                },
            };
        }
        match *self {
            SlotWalk::Start | SlotWalk::Done => Part::Step(WalkStep::Done),
            SlotWalk::Buckets { buckets, .. } if buckets != shard.buckets() => {
                Part::Step(self.restart(shard))
            }
            SlotWalk::Buckets { next, buckets } => {
                let to = next.saturating_add(budget.max(1)).min(buckets);
                *self = if to >= buckets {
                    SlotWalk::Done
                } else {
                    SlotWalk::Buckets { next: to, buckets }
                };
                Part::Buckets(next, to)
            }
            SlotWalk::Index { after } => Part::Pairs(after),
        }
    }

    /// Starts the shard over as a bucket walk.
    fn restart(&mut self, shard: &Shard) -> WalkStep {
        *self = SlotWalk::Buckets {
            next: 0,
            buckets: shard.buckets(),
        };
        WalkStep::Restarted
    }

    /// Notes an index part that ended at `last` (`None`: start at the front next time).
    fn went_through(&mut self, last: Option<SlotKey>, more: bool) {
        *self = if more {
            SlotWalk::Index { after: last }
        } else {
            SlotWalk::Done
        };
    }

    /// The step a part that visited something ends with.
    fn step(&self) -> WalkStep {
        match self {
            SlotWalk::Done => WalkStep::Done,
            _ => WalkStep::More,
        }
    }
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

    /// Visits, under the lock of shard `index` of `db`, the next part of a walk over the
    /// live entries whose key is in `slots` (`now` = 0: expired ones too), at most `budget`
    /// keys or buckets, so that clients of the shard wait for one part at most. A shard with
    /// a slot index (a node that has had peers) is walked through it, looking at the keys of
    /// those slots only; one without is walked bucket by bucket with a CRC16 per key. A
    /// bucket walk whose table was resized since it began starts over (entries may have moved
    /// behind its cursor): [`WalkStep::Restarted`] tells the caller, before anything is
    /// visited again, to forget what the walk gave so far.
    pub fn visit_slots_part(
        &self,
        (db, index): (DbIndex, usize),
        slots: &shoal_cluster::slot::SlotSet,
        walk: &mut SlotWalk,
        budget: usize,
        now: u64,
        mut f: impl FnMut(&Entry),
    ) -> WalkStep {
        if db >= self.dbs.len() || index >= SHARDS {
            *walk = SlotWalk::Done;
            return WalkStep::Done;
        }
        let shard = self.lock_shard(db, index);
        match walk.next(&shard, budget) {
            Part::Buckets(from, to) => {
                for bucket in from..to {
                    if let Some(entry) = shard.live_at(bucket, now)
                        && slots.contains(key_slot(entry.key()))
                    {
                        f(entry);
                    }
                }
            }
            Part::Pairs(after) => {
                let Some(slot_index) = shard.slot_index() else {
                    return walk.restart(&shard);
                };
                let mut pairs = Vec::with_capacity(budget);
                let more = slot_index.next_in(slots, after, budget, &mut pairs);
                for &pair in &pairs {
                    shard.entries_of(pair, self.hasher(), |entry| {
                        if !entry.is_expired(now) {
                            f(entry);
                        }
                    });
                }
                walk.went_through(pairs.last().copied(), more);
            }
            Part::Step(step) => return step,
        }
        walk.step()
    }

    /// Removes the next part of the entries whose key is in `slots` from shard `index` of
    /// `db` (walked as [`Store::visit_slots_part`] walks), with no effects and no tombstones:
    /// data this node no longer owns (see `handoff`). Returns the step and how many went.
    pub fn drop_slots_part(
        &self,
        (db, index): (DbIndex, usize),
        slots: &shoal_cluster::slot::SlotSet,
        walk: &mut SlotWalk,
        budget: usize,
    ) -> (WalkStep, usize) {
        if db >= self.dbs.len() || index >= SHARDS {
            *walk = SlotWalk::Done;
            return (WalkStep::Done, 0);
        }
        let mut removed = Vec::new();
        let step = {
            let mut shard = self.lock_shard(db, index);
            match walk.next(&shard, budget) {
                Part::Buckets(from, to) => {
                    let unwanted = |key: &[u8]| slots.contains(key_slot(key));
                    shard.drop_buckets(from, to, unwanted, self.hasher(), &mut removed);
                    walk.step()
                }
                Part::Pairs(_) => {
                    let mut pairs = Vec::with_capacity(budget);
                    let more = match shard.slot_index() {
                        Some(slot_index) => slot_index.next_in(slots, None, budget, &mut pairs),
                        None => return (walk.restart(&shard), 0),
                    };
                    shard.drop_pairs(&pairs, self.hasher(), &mut removed);
                    // What was dropped left the index: the next part starts at the front.
                    walk.went_through(None, more);
                    walk.step()
                }
                Part::Step(step) => step,
            }
        };
        let count = removed.len();
        for entry in removed {
            self.dispose_entry(entry);
        }
        (step, count)
    }

    /// Makes every shard keep its keys by slot (see `slot_index`), for walks over a few
    /// slots, from now on. Called once the node has peers; shards already indexed are left
    /// as they are. Returns how many keys were indexed.
    pub fn index_slots(&self) -> usize {
        let mut keys = 0;
        for db in 0..self.dbs.len() {
            for index in 0..SHARDS {
                let mut shard = self.lock_shard(db, index);
                if shard.slot_index().is_none() {
                    shard.index_by_slot(self.hasher());
                    keys += shard.len();
                }
            }
        }
        keys
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
        let removed =
            self.lock_shard(db, Self::shard_of(hash))
                .remove(hash, key, now, self.hasher());
        let found = removed.is_some();
        if let Some(entry) = removed {
            self.dispose_entry(entry);
        }
        found
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

#[cfg(test)]
mod slot_walk_tests {
    use super::*;
    use shoal_cluster::slot::SlotSet;

    fn fill(store: &Store, keys: u32) {
        let mut locked = store.on_demand(0);
        for i in 0..keys {
            let key = format!("{{t{}}}k{i}", i % 50);
            locked.set(0, key.as_bytes(), Value::string(b"v"), None);
        }
    }

    /// The keys a whole walk over `slots` visits, sorted.
    fn walk_all(store: &Store, slots: &SlotSet) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        for shard in 0..SHARDS {
            let mut walk = SlotWalk::Start;
            let mut part = Vec::new();
            loop {
                let step = store.visit_slots_part((0, shard), slots, &mut walk, 7, 0, |e| {
                    part.push(e.key().to_vec())
                });
                if step == WalkStep::Restarted {
                    part.clear();
                }
                if step == WalkStep::Done {
                    break;
                }
            }
            seen.extend(part);
        }
        seen.sort();
        seen
    }

    fn brute_force(store: &Store, slots: &SlotSet) -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
        for shard in 0..SHARDS {
            store
                .lock_shard(0, shard)
                .for_each_live(0, |e| keys.push(e.key().to_vec()));
        }
        let mut keys: Vec<Vec<u8>> = keys
            .into_iter()
            .filter(|k| slots.contains(key_slot(k)))
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn a_slot_walk_visits_the_same_keys_with_or_without_the_index() {
        let store = Store::new(1);
        fill(&store, 3_000);
        let wanted = SlotSet::from_fn(|s| s % 3 == 0);
        let expected = brute_force(&store, &wanted);
        assert!(!expected.is_empty());
        assert_eq!(walk_all(&store, &wanted), expected);
        assert_eq!(store.index_slots(), 3_000);
        assert_eq!(walk_all(&store, &wanted), expected);
        assert_eq!(store.index_slots(), 0, "indexed once");
    }

    #[test]
    fn a_bucket_walk_starts_over_when_the_table_grows_under_it() {
        let store = Store::new(1);
        fill(&store, 200);
        let all = SlotSet::from_fn(|_| true);
        let shard = (0..SHARDS)
            .max_by_key(|&s| store.lock_shard(0, s).len())
            .unwrap_or(0);
        let mut walk = SlotWalk::Start;
        let step = store.visit_slots_part((0, shard), &all, &mut walk, 1, 0, |_| {});
        assert_eq!(step, WalkStep::More);
        // Grow that shard's table.
        let mut locked = store.on_demand(0);
        for i in 0..20_000u32 {
            locked.set(0, format!("more{i}").as_bytes(), Value::string(b"v"), None);
        }
        drop(locked);
        let step = store.visit_slots_part((0, shard), &all, &mut walk, 1, 0, |_| {});
        assert_eq!(step, WalkStep::Restarted);
    }

    #[test]
    fn dropping_slots_removes_exactly_their_keys_in_both_walks() {
        for indexed in [false, true] {
            let store = Store::new(1);
            fill(&store, 3_000);
            if indexed {
                store.index_slots();
            }
            let dropped = SlotSet::from_fn(|s| s % 2 == 0);
            let kept = SlotSet::from_fn(|s| s % 2 == 1);
            let expected_kept = brute_force(&store, &kept);
            let expected_dropped = brute_force(&store, &dropped).len();
            let mut removed = 0;
            for shard in 0..SHARDS {
                let mut walk = SlotWalk::Start;
                loop {
                    let (step, count) = store.drop_slots_part((0, shard), &dropped, &mut walk, 5);
                    removed += count;
                    if step == WalkStep::Done {
                        break;
                    }
                }
            }
            assert_eq!(removed, expected_dropped, "indexed: {indexed}");
            assert!(brute_force(&store, &dropped).is_empty());
            assert_eq!(brute_force(&store, &kept), expected_kept);
            assert_eq!(walk_all(&store, &kept), expected_kept);
        }
    }
}
