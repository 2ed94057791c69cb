//! Eviction: keeping the keyspace inside `maxmemory`.
//!
//! What this owns:
//!
//! - the eviction settings (`maxmemory`, `maxmemory-policy`, `maxmemory-samples`,
//!   `lfu-log-factor`, `lfu-decay-time`) as atomics the request path reads without locks;
//! - which access tracking the policy implies (see `access`);
//! - choosing and removing victims, as Redis approximates LRU/LFU/TTL: each round samples
//!   `maxmemory-samples` keys from a random shard of every database, keeps the best
//!   candidates in a pool of 16, and evicts the best of the pool. Before a pooled candidate
//!   is evicted its entry is checked again: one touched since it was sampled is skipped (Redis
//!   evicts it anyway), and this with a clock 100 times finer than Redis's is what makes the
//!   choice closer to true LRU.
//!
//! A node holds copies of keys whose slot another node is primary of (it replicates them).
//! As a Redis replica, it does not evict those on its own: their primary evicts and the
//! removal is replicated. Eviction samples only keys of slots this node is primary of, unless
//! memory passes `maxmemory` by more than a tenth ([`REPLICA_MARGIN`]); then any key goes.
//!
//! Eviction runs in the client's thread before a command (bounded to about a millisecond, and
//! never while the command holds shard locks), and continues on the `shoal-evict` thread
//! while memory stays above the limit. Freed memory is counted from the entries' sizes as they
//! go; the allocator's figure is read again before the next decision.

use super::access::{Tracking, lfu_decayed};
use super::effects::Effects;
use super::{DbIndex, SHARDS, Store};
use crate::clock;
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// A `maxmemory-policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    NoEviction,
}

impl Policy {
    /// Every policy, in the order Redis lists them in its error text.
    pub const ALL: [Policy; 8] = [
        Policy::VolatileLru,
        Policy::VolatileLfu,
        Policy::VolatileRandom,
        Policy::VolatileTtl,
        Policy::AllKeysLru,
        Policy::AllKeysLfu,
        Policy::AllKeysRandom,
        Policy::NoEviction,
    ];

    /// The name `CONFIG` and `INFO` use.
    pub fn name(self) -> &'static str {
        match self {
            Policy::VolatileLru => "volatile-lru",
            Policy::VolatileLfu => "volatile-lfu",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
            Policy::AllKeysLru => "allkeys-lru",
            Policy::AllKeysLfu => "allkeys-lfu",
            Policy::AllKeysRandom => "allkeys-random",
            Policy::NoEviction => "noeviction",
        }
    }

    /// The policy named `text` (any case).
    pub fn parse(text: &str) -> Option<Policy> {
        Policy::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(text))
    }

    /// Whether accesses are counted (LFU) rather than timed.
    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllKeysLfu)
    }

    /// Whether only keys with an expiry may be evicted.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    fn from_index(index: u8) -> Policy {
        Policy::ALL
            .get(usize::from(index))
            .copied()
            .unwrap_or(Policy::NoEviction)
    }

    fn index(self) -> u8 {
        Policy::ALL.iter().position(|p| *p == self).unwrap_or(7) as u8
    }
}

/// The eviction settings, readable from any thread without a lock.
#[derive(Debug)]
pub struct Settings {
    /// Bytes; 0: no limit.
    maxmemory: AtomicUsize,
    policy: AtomicU8,
    samples: AtomicU32,
    lfu_log_factor: AtomicU32,
    lfu_decay_time: AtomicU32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            maxmemory: AtomicUsize::new(0),
            policy: AtomicU8::new(Policy::NoEviction.index()),
            samples: AtomicU32::new(5),
            lfu_log_factor: AtomicU32::new(10),
            lfu_decay_time: AtomicU32::new(1),
        }
    }
}

impl Settings {
    /// Applies the configured values.
    pub fn apply(
        &self,
        maxmemory: usize,
        policy: Policy,
        samples: u32,
        log_factor: u32,
        decay: u32,
    ) {
        self.maxmemory.store(maxmemory, Ordering::Relaxed);
        self.policy.store(policy.index(), Ordering::Relaxed);
        self.samples.store(samples.max(1), Ordering::Relaxed);
        self.lfu_log_factor.store(log_factor, Ordering::Relaxed);
        self.lfu_decay_time.store(decay, Ordering::Relaxed);
    }

    /// `maxmemory` in bytes (0: none).
    pub fn maxmemory(&self) -> usize {
        self.maxmemory.load(Ordering::Relaxed)
    }

    /// The `maxmemory-policy`.
    pub fn policy(&self) -> Policy {
        Policy::from_index(self.policy.load(Ordering::Relaxed))
    }

    /// How accesses are recorded under the current policy.
    pub fn tracking(&self) -> Tracking {
        if self.policy().is_lfu() {
            Tracking::Lfu {
                log_factor: self.lfu_log_factor.load(Ordering::Relaxed),
                decay_minutes: self.lfu_decay_time.load(Ordering::Relaxed),
            }
        } else {
            Tracking::Lru
        }
    }
}

/// A key sampled for eviction, with its score (higher: evict sooner) and the `access` it had.
#[derive(Debug)]
struct Candidate {
    score: u64,
    db: DbIndex,
    shard: usize,
    access: u32,
    key: Box<[u8]>,
}

/// What eviction keeps between runs.
#[derive(Default)]
struct Pool {
    /// Best candidates so far, lowest score first.
    candidates: Vec<Candidate>,
    /// Databases that held keys the policy may evict, when last looked (finding out locks
    /// every shard of every database, too slow to do before each write).
    dbs: Vec<DbIndex>,
    /// When and for which policy `dbs` was found.
    dbs_found: Option<(Instant, Policy)>,
}

/// Memory above `maxmemory` by more than `maxmemory / REPLICA_MARGIN` lets eviction take
/// keys this node holds as a replica too.
const REPLICA_MARGIN: usize = 10;

/// Rounds in a row that find nothing to evict, while keys held as a replica are spared,
/// before eviction gives up: what is left may be only replica keys. (Without spared keys a
/// barren round means the sampled keys were touched meanwhile, and eviction goes on.)
const BARREN_ROUNDS: u32 = 32;

/// The slots this node holds as a replica (another node is their primary): eviction leaves
/// their keys alone (see the module doc). Empty on a node alone.
pub struct ReplicaSlots {
    bits: Vec<AtomicU64>,
    any: std::sync::atomic::AtomicBool,
}

impl ReplicaSlots {
    /// Replaces the set with the slots for which `is_replica` holds.
    pub fn set(&self, is_replica: impl Fn(u16) -> bool) {
        let mut any = false;
        for (word, bits) in self.bits.iter().enumerate() {
            let mut value = 0u64;
            for bit in 0..64 {
                if is_replica((word * 64 + bit) as u16) {
                    value |= 1 << bit;
                }
            }
            any |= value != 0;
            bits.store(value, Ordering::Relaxed);
        }
        self.any.store(any, Ordering::Relaxed);
    }

    /// Whether any slot is held as a replica.
    pub fn any(&self) -> bool {
        self.any.load(Ordering::Relaxed)
    }

    /// The slots held as a replica.
    pub fn to_set(&self) -> shoal_cluster::slot::SlotSet {
        shoal_cluster::slot::SlotSet::from_fn(|slot| {
            let slot = usize::from(slot);
            self.bits
                .get(slot / 64)
                .is_some_and(|w| w.load(Ordering::Relaxed) & (1 << (slot % 64)) != 0)
        })
    }

    /// Whether `key`'s slot is held as a replica.
    pub fn holds(&self, key: &[u8]) -> bool {
        if !self.any.load(Ordering::Relaxed) {
            return false;
        }
        let slot = usize::from(shoal_cluster::slot::key_slot(key));
        self.bits
            .get(slot / 64)
            .is_some_and(|w| w.load(Ordering::Relaxed) & (1 << (slot % 64)) != 0)
    }
}

impl Default for ReplicaSlots {
    fn default() -> ReplicaSlots {
        ReplicaSlots {
            bits: (0..usize::from(shoal_cluster::slot::SLOTS) / 64)
                .map(|_| AtomicU64::new(0))
                .collect(),
            any: false.into(),
        }
    }
}

/// How long the list of databases to sample is trusted.
const DBS_TTL: Duration = Duration::from_millis(100);

/// Candidates the pool keeps between rounds, as Redis's `EVPOOL_SIZE`.
const POOL_SIZE: usize = 16;

/// Eviction state shared by the client threads and the background thread.
#[derive(Default)]
pub struct Evictor {
    pub settings: Settings,
    /// Candidates and the databases to sample. Whoever holds this lock is the one evicting.
    pool: Mutex<Pool>,
    /// Keys evicted since start (never reset; `INFO` subtracts a baseline).
    evicted: AtomicU64,
    /// When a client's command last evicted (Unix ms): while writers evict for themselves,
    /// the background thread stays out of their way.
    last_foreground_ms: AtomicU64,
    /// Slots whose keys are left to their primary to evict.
    pub replica_slots: ReplicaSlots,
    /// Wakes the background thread.
    wake: Condvar,
    wake_lock: Mutex<bool>,
}

/// Whether a command may grow memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Room {
    /// Memory is within the limit (or there is none).
    Enough,
    /// Memory is over the limit and eviction is under way: commands go on meanwhile.
    Evicting,
    /// Memory is over the limit and nothing can be evicted: commands that grow memory are
    /// refused with `-OOM`.
    Full,
}

/// What one eviction run achieved.
#[derive(Debug, Default, Clone, Copy)]
struct Outcome {
    freed: usize,
    /// Nothing (more) could be evicted.
    exhausted: bool,
}

/// Bytes an entry costs besides its heap allocation: its table slot and control byte.
const SLOT_BYTES: usize = std::mem::size_of::<super::Entry>() + 1;

/// How long one client's command may evict before it goes on.
const FOREGROUND_BUDGET: Duration = Duration::from_millis(1);

/// How recently a writer must have evicted for the background thread to leave it alone.
const WRITERS_ACTIVE_MS: u64 = 20;

/// How long the background thread evicts before it lets a waiting writer have the pool: a
/// writer blocks its worker thread while it waits, so this bounds that pause.
const BACKGROUND_SLICE: Duration = Duration::from_micros(200);

impl Evictor {
    /// Keys evicted since the node started.
    pub fn evicted_total(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    fn wake_background(&self) {
        *self.wake_lock.lock() = true;
        self.wake.notify_one();
    }
}

impl Store {
    /// Makes room before a command. When memory is over `maxmemory`, a command that may grow
    /// memory (`grows`) waits its turn at the eviction pool and evicts what it needs (for at
    /// most a few milliseconds; the background thread takes over beyond that): writers are
    /// held back while memory is full, so a burst of writes cannot outrun eviction. Any other
    /// command only wakes the background thread and goes on, so reads never wait for
    /// eviction. `fresh` reads the allocator now instead of using the figure from this
    /// millisecond (for commands carrying a lot of data).
    pub fn make_room(&self, now_ms: u64, fresh: bool, grows: bool) -> Room {
        let evictor = &self.evictor;
        let max = evictor.settings.maxmemory();
        if max == 0 {
            return Room::Enough;
        }
        let used = if fresh {
            crate::memory::used_memory()
        } else {
            crate::memory::used_memory_recent(now_ms)
        };
        if used <= max {
            return Room::Enough;
        }
        if evictor.settings.policy() == Policy::NoEviction {
            return Room::Full;
        }
        if !grows {
            // Unless writers are evicting already, the background thread makes the room.
            let last_foreground = evictor.last_foreground_ms.load(Ordering::Relaxed);
            if now_ms.saturating_sub(last_foreground) >= WRITERS_ACTIVE_MS {
                evictor.wake_background();
            }
            return Room::Evicting;
        }
        let mut pool = evictor.pool.lock();
        // Whoever held the pool may just have freed enough: decide again, on the figure of
        // this millisecond less what was evicted since it was read.
        let used = if fresh {
            crate::memory::used_memory()
        } else {
            crate::memory::used_memory_recent(now_ms)
        };
        if used <= max {
            return Room::Enough;
        }
        let deadline = Instant::now() + FOREGROUND_BUDGET;
        let mut effects = Effects::new(self.events_wanted(), self.records_changes());
        let target = Target {
            to_free: used - max,
            replicas_too: used > max + max / REPLICA_MARGIN,
        };
        let outcome = self.evict(&mut pool, target, deadline, now_ms, &mut effects);
        MutexGuard::unlock_fair(pool);
        self.hand_on(&mut effects);
        evictor.last_foreground_ms.store(now_ms, Ordering::Relaxed);
        if outcome.freed >= used - max {
            Room::Enough
        } else if outcome.exhausted {
            Room::Full
        } else {
            evictor.wake_background();
            Room::Evicting
        }
    }

    /// Tells the background thread to check memory now (after `CONFIG SET maxmemory`).
    pub fn memory_limit_changed(&self) {
        self.evictor.wake_background();
    }

    /// Evicts keys until `target.to_free` bytes are freed, nothing is left to evict, or
    /// `deadline`.
    fn evict(
        &self,
        pool: &mut Pool,
        target: Target,
        deadline: Instant,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Outcome {
        let policy = self.evictor.settings.policy();
        let samples = self.evictor.settings.samples.load(Ordering::Relaxed) as usize;
        let decay = self.evictor.settings.lfu_decay_time.load(Ordering::Relaxed);
        let mut outcome = Outcome::default();
        // An empty list is never trusted: keys may have arrived since.
        let fresh = !pool.dbs.is_empty()
            && pool
                .dbs_found
                .is_some_and(|(at, found_for)| found_for == policy && at.elapsed() < DBS_TTL);
        if !fresh {
            pool.dbs = self.databases_with_candidates(policy);
            pool.dbs_found = Some((Instant::now(), policy));
        }
        let Target {
            to_free,
            replicas_too,
        } = target;
        let sparing = !replicas_too && self.evictor.replica_slots.any();
        let mut rounds = 0u32;
        let mut barren = 0u32;
        while outcome.freed < to_free {
            if pool.dbs.is_empty() {
                outcome.exhausted = true;
                break;
            }
            let freed = match policy {
                Policy::NoEviction => None,
                Policy::AllKeysRandom | Policy::VolatileRandom => self.evict_random(
                    &pool.dbs,
                    policy.volatile_only(),
                    replicas_too,
                    now_ms,
                    effects,
                ),
                _ => {
                    let dbs = std::mem::take(&mut pool.dbs);
                    let sampling = Sampling {
                        policy,
                        samples,
                        decay,
                        replicas_too,
                    };
                    let freed =
                        self.evict_from_pool(&mut pool.candidates, &dbs, sampling, now_ms, effects);
                    pool.dbs = dbs;
                    freed
                }
            };
            match freed {
                Some(bytes) => {
                    barren = 0;
                    outcome.freed += bytes;
                    crate::memory::note_freed(bytes);
                    self.evictor.evicted.fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    barren += 1;
                    if sparing && barren == BARREN_ROUNDS {
                        outcome.exhausted = true;
                        break;
                    }
                    // Found nothing this round; the databases may have emptied meanwhile.
                    pool.dbs = self.databases_with_candidates(policy);
                    pool.dbs_found = Some((Instant::now(), policy));
                }
            }
            rounds += 1;
            if rounds.is_multiple_of(4) && Instant::now() >= deadline {
                break;
            }
        }
        outcome
    }

    /// Databases holding keys the policy may evict.
    fn databases_with_candidates(&self, policy: Policy) -> Vec<DbIndex> {
        (0..self.databases())
            .filter(|&db| {
                (0..SHARDS).any(|shard| {
                    let shard = self.lock_shard(db, shard);
                    if policy.volatile_only() {
                        shard.volatile() > 0
                    } else {
                        !shard.is_empty()
                    }
                })
            })
            .collect()
    }

    /// Removes one random key (with an expiry, for `volatile-random`); returns the bytes freed.
    fn evict_random(
        &self,
        dbs: &[DbIndex],
        volatile_only: bool,
        replicas_too: bool,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Option<usize> {
        for attempt in 0..SHARDS {
            let db = dbs[(rand::random::<u32>() as usize + attempt) % dbs.len()];
            let shard = self.lock_shard(db, rand::random::<u32>() as usize % SHARDS);
            let mut victim = None;
            shard.sample(rand::random(), 1, volatile_only, now_ms, |entry| {
                if replicas_too || !self.evictor.replica_slots.holds(entry.key()) {
                    victim = Some(entry.key().to_vec());
                }
            });
            if let Some(key) = victim {
                return self.remove_victim(shard, db, self.hash(&key), &key, now_ms, effects);
            }
        }
        None
    }

    /// One round of sampled eviction: refills the pool from every database, then evicts the
    /// best candidate still untouched since it was sampled. Returns the bytes freed.
    fn evict_from_pool(
        &self,
        pool: &mut Vec<Candidate>,
        dbs: &[DbIndex],
        sampling: Sampling,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Option<usize> {
        let Sampling {
            policy,
            samples,
            decay,
            replicas_too,
        } = sampling;
        for &db in dbs {
            let shard_index = rand::random::<u32>() as usize % SHARDS;
            let shard = self.lock_shard(db, shard_index);
            shard.sample(
                rand::random(),
                samples,
                policy.volatile_only(),
                now_ms,
                |entry| {
                    if !replicas_too && self.evictor.replica_slots.holds(entry.key()) {
                        return;
                    }
                    let access = entry.access();
                    let score = match policy {
                        Policy::VolatileTtl => u64::MAX - entry.expiry_ms(),
                        p if p.is_lfu() => 255 - u64::from(lfu_decayed(access, now_ms, decay)),
                        _ => u64::from(clock::idle_ticks(access, now_ms)),
                    };
                    offer(pool, score, db, shard_index, access, entry.key());
                },
            );
        }
        while let Some(best) = pool.pop() {
            let shard = self.lock_shard(best.db, best.shard);
            let hash = self.hash(&best.key);
            let untouched = shard
                .peek(hash, &best.key, now_ms)
                .is_some_and(|entry| entry.access() == best.access);
            if !untouched {
                continue;
            }
            return self.remove_victim(shard, best.db, hash, &best.key, now_ms, effects);
        }
        None
    }

    /// Removes the chosen key from its (locked) shard, releases the lock and frees the entry;
    /// returns the bytes freed.
    fn remove_victim(
        &self,
        mut shard: MutexGuard<'_, super::Shard>,
        db: DbIndex,
        hash: u64,
        key: &[u8],
        now_ms: u64,
        effects: &mut Effects,
    ) -> Option<usize> {
        let entry = shard.remove(hash, key, now_ms, self.hasher())?;
        let version = shard.tick(now_ms);
        drop(shard);
        effects.evicted(db, key, version);
        let bytes = entry.heap_size() + SLOT_BYTES;
        self.dispose_entry(entry);
        Some(bytes)
    }
}

/// How a round of sampled eviction picks: the policy, keys sampled per database, the LFU
/// decay time in minutes, and whether keys held as a replica may go.
#[derive(Clone, Copy)]
struct Sampling {
    policy: Policy,
    samples: usize,
    decay: u32,
    replicas_too: bool,
}

/// What an eviction run is after: bytes to free, and whether keys held as a replica may go
/// (memory passed `maxmemory` by the margin).
#[derive(Clone, Copy)]
struct Target {
    to_free: usize,
    replicas_too: bool,
}

/// Adds a sampled key to the pool (kept sorted, lowest score first) unless it is already
/// there or worse than every candidate of a full pool.
fn offer(
    pool: &mut Vec<Candidate>,
    score: u64,
    db: DbIndex,
    shard: usize,
    access: u32,
    key: &[u8],
) {
    if pool.iter().any(|c| c.db == db && *c.key == *key) {
        return;
    }
    if pool.len() == POOL_SIZE {
        if score <= pool[0].score {
            return;
        }
        pool.remove(0);
    }
    let at = pool.partition_point(|c| c.score < score);
    pool.insert(
        at,
        Candidate {
            score,
            db,
            shard,
            access,
            key: key.into(),
        },
    );
}

/// Starts the `shoal-evict` thread: while memory is over `maxmemory` under an evicting policy,
/// it evicts in slices of 200 µs (so client threads get the pool between slices);
/// otherwise it checks every 100 ms or when woken. It ends when the store is dropped.
pub fn start_background(store: &Arc<Store>) {
    let weak: Weak<Store> = Arc::downgrade(store);
    let spawned = std::thread::Builder::new()
        .name("shoal-evict".into())
        .spawn(move || background(weak));
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not start the eviction thread; clients will evict alone");
    }
}

fn background(weak: Weak<Store>) {
    loop {
        let Some(store) = weak.upgrade() else { return };
        let busy = store.background_slice();
        if !busy {
            let evictor = &store.evictor;
            let mut woken = evictor.wake_lock.lock();
            if !*woken {
                evictor
                    .wake
                    .wait_for(&mut woken, Duration::from_millis(WRITERS_ACTIVE_MS));
            }
            *woken = false;
        }
        drop(store);
    }
}

impl Store {
    /// One slice of background eviction; returns whether memory is still over the limit and
    /// more can be evicted.
    fn background_slice(&self) -> bool {
        let settings = &self.evictor.settings;
        let max = settings.maxmemory();
        if max == 0 || settings.policy() == Policy::NoEviction {
            return false;
        }
        // Writers are evicting for themselves: competing with them for the pool would only
        // take a core from them and make them wait.
        let now = clock::now_ms();
        let last_foreground = self.evictor.last_foreground_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last_foreground) < WRITERS_ACTIVE_MS {
            return false;
        }
        let mut pool = self.evictor.pool.lock();
        // Read under the pool's lock, so what another thread just evicted is accounted for.
        let used = crate::memory::used_memory();
        if used <= max {
            return false;
        }
        let deadline = Instant::now() + BACKGROUND_SLICE;
        let mut effects = Effects::new(self.events_wanted(), self.records_changes());
        let target = Target {
            to_free: used - max,
            replicas_too: used > max + max / REPLICA_MARGIN,
        };
        let outcome = self.evict(&mut pool, target, deadline, clock::now_ms(), &mut effects);
        // Hand the pool to a waiting writer, if any, between slices.
        MutexGuard::unlock_fair(pool);
        self.hand_on(&mut effects);
        !outcome.exhausted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_round_trip_by_name() {
        for policy in Policy::ALL {
            assert_eq!(Policy::parse(policy.name()), Some(policy));
            assert_eq!(Policy::from_index(policy.index()), policy);
        }
        assert_eq!(Policy::parse("ALLKEYS-LRU"), Some(Policy::AllKeysLru));
        assert_eq!(Policy::parse("lru"), None);
    }

    #[test]
    fn the_pool_keeps_the_best_candidates_sorted() {
        let mut pool = Vec::new();
        for score in 0..40u64 {
            offer(&mut pool, score * 7 % 40, 0, 0, 0, &score.to_be_bytes());
        }
        assert_eq!(pool.len(), POOL_SIZE);
        let scores: Vec<u64> = pool.iter().map(|c| c.score).collect();
        assert_eq!(scores, (24..40).collect::<Vec<_>>());
        // Key 17 is pooled with score 39; offered again, it is not added twice.
        offer(&mut pool, 100, 0, 0, 0, &17u64.to_be_bytes());
        assert_eq!(pool.len(), POOL_SIZE);
        assert_eq!(pool[POOL_SIZE - 1].score, 39);
    }
}
