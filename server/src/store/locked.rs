//! The view a command works through: the shards it holds locked, and the time it runs at.
//!
//! A command that names keys gets a view holding exactly their shards, locked in ascending
//! (database, shard) order, so two commands can never wait on each other in a cycle; a
//! transaction gets one view over all its keys. A keyless command gets an on-demand view that
//! holds at most one shard at a time (so it too never waits while holding a lock). Every
//! lookup and every write goes through here, which is where lazy expiry, access tracking,
//! hit/miss counting and the effects record (what the command changed, see `effects`) happen.
//!
//! A command that touches a shard its view does not hold (a key its table entry does not
//! declare) is a bug; it gets a scratch shard that is thrown away, and the request path
//! answers it with an error (see [`Locked::violated`]) rather than bringing the node down.

use super::access::Tracking;
use super::effects::{ChangeKind, Effects, EventKind, Recorder, Whole, class};
use super::entry::Entry;
use super::shard::{EntryMut, Found, Shard};
use super::value::Value;
use super::{DbIndex, SHARDS, Store};
use parking_lot::MutexGuard;
use smallvec::SmallVec;

/// One locked shard.
struct Held<'s> {
    db: DbIndex,
    shard: usize,
    guard: MutexGuard<'s, Shard>,
}

enum Mode<'s> {
    /// A fixed set of shards, sorted by (db, shard).
    Holding(SmallVec<[Held<'s>; 2]>),
    /// At most one shard at a time, locked when touched.
    OnDemand(Option<Held<'s>>),
}

/// How a lookup counts: reads update hit/miss statistics, writes do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A read (`GET`): counts a keyspace hit or miss and records the access.
    Read,
    /// A write or a read-modify-write (`SET`, `INCR`): records the access only.
    Write,
    /// A look that changes nothing (`TTL`, `TYPE`, `OBJECT`): neither counts nor touches.
    Peek,
}

/// Shards locked for one command or transaction.
pub struct Locked<'s> {
    store: &'s Store,
    mode: Mode<'s>,
    /// Unix milliseconds the command runs at: one instant for the whole command or transaction.
    pub now: u64,
    /// Whether reads update access times (`CLIENT NO-TOUCH` turns this off).
    pub touch: bool,
    /// How accesses are recorded (LRU clock or LFU counter), read once per command.
    tracking: Tracking,
    /// What the commands run through this view changed.
    effects: Recorder,
    /// Where a shard this view does not hold is redirected (see the module doc).
    scratch: Option<Box<Shard>>,
    violated: bool,
}

impl<'s> Locked<'s> {
    pub(super) fn holding(store: &'s Store, wanted: &mut [(DbIndex, usize)], now: u64) -> Self {
        if wanted.len() > 1 {
            wanted.sort_unstable();
        }
        let mut held: SmallVec<[Held<'s>; 2]> = SmallVec::new();
        for &(db, shard) in wanted.iter() {
            if held.last().is_some_and(|h| h.db == db && h.shard == shard) {
                continue;
            }
            held.push(Held {
                db,
                shard,
                guard: store.lock_shard(db, shard),
            });
        }
        Locked {
            store,
            mode: Mode::Holding(held),
            now,
            touch: true,
            tracking: store.evictor.settings.tracking(),
            effects: Recorder::new(store.events_wanted(), store.records_changes()),
            scratch: None,
            violated: false,
        }
    }

    pub(super) fn on_demand(store: &'s Store, now: u64) -> Self {
        Locked {
            store,
            mode: Mode::OnDemand(None),
            now,
            touch: true,
            tracking: store.evictor.settings.tracking(),
            effects: Recorder::new(store.events_wanted(), store.records_changes()),
            scratch: None,
            violated: false,
        }
    }

    /// Records into `record` (a reused buffer, emptied first) rather than a new one.
    pub fn recording(&mut self, record: Option<Box<Effects>>) {
        self.effects.reuse(record);
    }

    /// What was recorded (`None`: nothing was, and no buffer was given).
    pub fn take_effects(&mut self) -> Option<Box<Effects>> {
        self.effects.take()
    }

    /// The record, for a command to add events Redis emits where its usual one differs.
    pub fn effects(&mut self) -> &mut Effects {
        self.effects.get()
    }

    /// Marks the start of a command whose usual notification is `usual` (see `effects`).
    pub fn begin_command(&mut self, usual: Option<EventKind>) {
        self.effects.get().begin_command(usual);
    }

    /// Replaces the running command's usual notification: a command whose event depends on
    /// what it finds (`EXPIRE` in the past deletes) says so before writing.
    pub fn usual_event(&mut self, usual: Option<EventKind>) {
        self.effects.get().set_usual(usual);
    }

    /// Records a keyspace notification (when someone listens).
    pub fn notify(&mut self, class: u16, name: &'static str, db: DbIndex, key: &[u8]) {
        if self.effects.records_events() {
            self.effects.get().event(class, name, db, key);
        }
    }

    /// Whether a command touched a shard this view does not hold (its writes there were
    /// thrown away); the request path answers it with an error.
    pub fn violated(&self) -> bool {
        self.violated
    }

    /// The store this view belongs to.
    pub fn store(&self) -> &'s Store {
        self.store
    }

    /// The locked shard `(db, shard)`. In on-demand mode this releases the shard held before.
    /// A holding view asked for a shard it did not lock (the command table's key positions
    /// disagree with what the command touches) gives a scratch shard and remembers it.
    pub fn shard(&mut self, db: DbIndex, shard: usize) -> &mut Shard {
        shard_in(
            self.store,
            &mut self.mode,
            &mut self.scratch,
            &mut self.violated,
            db,
            shard,
        )
    }

    /// Looks `key` up in `db`. Expired keys are removed (an `expired` change) and reported
    /// missing. Writes through the entry returned are recorded.
    pub fn lookup(&mut self, db: DbIndex, key: &[u8], access: Access) -> Option<EntryMut<'_>> {
        let hash = self.store.hash(key);
        let now = self.now;
        let touch = (self.touch && access != Access::Peek).then_some(self.tracking);
        let count = access == Access::Read;
        let Locked {
            store,
            mode,
            scratch,
            violated,
            effects,
            ..
        } = self;
        let shard = shard_in(store, mode, scratch, violated, db, Store::shard_of(hash));
        let missed = match shard.find(hash, key, now, touch, count, store.hasher()) {
            Found::Live(entry) => return Some(entry.recording(effects, db)),
            Found::Missing => true,
            Found::Expired(version) => {
                effects.get().expired(db, key, version);
                true
            }
        };
        // A read that finds nothing notifies `keymiss` (class `m`), as Redis's reads do.
        if missed && count && effects.records_events() {
            effects.get().event(class::KEY_MISS, "keymiss", db, key);
        }
        None
    }

    /// The live value of `key`, for reading (counts a hit or miss).
    pub fn get(&mut self, db: DbIndex, key: &[u8]) -> Option<EntryMut<'_>> {
        self.lookup(db, key, Access::Read)
    }

    /// The live value of `key`, for changing it.
    pub fn get_mut(&mut self, db: DbIndex, key: &[u8]) -> Option<EntryMut<'_>> {
        self.lookup(db, key, Access::Write)
    }

    /// Whether `key` exists (no statistics, no touch).
    pub fn exists(&mut self, db: DbIndex, key: &[u8]) -> bool {
        self.lookup(db, key, Access::Peek).is_some()
    }

    /// Stores `value` under `key` with `expire_at` (absolute ms), replacing any old value.
    /// Returns the old live value.
    pub fn set(
        &mut self,
        db: DbIndex,
        key: &[u8],
        value: Value,
        expire_at: Option<u64>,
    ) -> Option<Value> {
        let store = self.store;
        let hash = store.hash(key);
        let (now, tracking) = (self.now, self.tracking);
        if value.can_unblock() {
            self.signal_ready(db, key);
        }
        let shard = self.shard(db, Store::shard_of(hash));
        let expired_before = shard.stats.expired;
        let old = shard.insert(hash, key, value, expire_at, now, tracking, store.hasher());
        let (version, replaced_expired) =
            (shard.last_version(), shard.stats.expired != expired_before);
        if self.effects.is_off() {
            return old;
        }
        if replaced_expired {
            self.effects.get().expired(db, key, version);
        }
        if old.is_none() {
            self.effects.get().event(class::NEW, "new", db, key);
        }
        self.effects
            .get()
            .change(db, key, ChangeKind::Written, version, expire_at);
        old
    }

    /// Moves the live entry `from` (in `from_db`) to `to` (in `to_db`), keeping its value,
    /// expiry and idle time, as Redis's RENAME and MOVE keep the same object. Returns the
    /// value it replaced at `to`, or `None` (outer) when `from` does not exist.
    pub fn move_key(
        &mut self,
        from_db: DbIndex,
        from: &[u8],
        to_db: DbIndex,
        to: &[u8],
    ) -> Option<Option<Value>> {
        let entry = self.remove(from_db, from)?;
        let (access, expire) = (entry.access(), entry.expire_at());
        let replaced = self.set(to_db, to, entry.into_value(), expire);
        if let Some(mut moved) = self.lookup(to_db, to, Access::Peek) {
            moved.set_access(access);
        }
        Some(replaced)
    }

    /// Notes that `key` gained elements a blocked client may take (a list push, a sorted-set
    /// add, a stream entry). Commands that add to lists, sorted sets or streams call this;
    /// the waiting clients are served after the command, in the order they blocked.
    pub fn signal_ready(&mut self, db: DbIndex, key: &[u8]) {
        if self.store.has_waiters() {
            self.effects.get().ready(db, key);
        }
    }

    /// Removes `key` and returns its entry if it was live (a `deleted` change; an entry found
    /// past its expiry is an `expired` one).
    pub fn remove(&mut self, db: DbIndex, key: &[u8]) -> Option<Entry> {
        let hash = self.store.hash(key);
        let now = self.now;
        let bury = self.store.changes_wanted();
        let store = self.store;
        let shard = self.shard(db, Store::shard_of(hash));
        let expired_before = shard.stats.expired;
        let removed = shard.remove(hash, key, now, store.hasher());
        let expired = shard.stats.expired != expired_before;
        let version = if removed.is_some() || expired {
            shard.tick(now)
        } else {
            return None;
        };
        if removed.is_some() {
            if bury {
                shard.bury(key, version, now);
            }
            self.effects
                .get()
                .change(db, key, ChangeKind::Deleted, version, None);
        } else {
            self.effects.get().expired(db, key, version);
        }
        removed
    }

    /// Removes `key` whose collection the command just emptied: Redis then notifies `del`
    /// after the command's own event.
    pub fn remove_emptied(&mut self, db: DbIndex, key: &[u8]) -> Option<Entry> {
        let removed = self.remove(db, key);
        if removed.is_some() {
            self.effects.get().event(class::GENERIC, "del", db, key);
        }
        removed
    }

    /// Records that `db` (`None`: every database) was emptied (FLUSHDB, FLUSHALL).
    pub fn flushed(&mut self, db: Option<DbIndex>) {
        self.effects.get().whole(Whole::Flushed(db));
    }

    /// Calls `f` on every shard of `db` in turn. An on-demand view locks them one at a time;
    /// a holding view must hold them all.
    pub fn for_each_shard(&mut self, db: DbIndex, mut f: impl FnMut(&mut Shard)) {
        for shard in 0..SHARDS {
            f(self.shard(db, shard));
        }
    }

    /// Calls `f` on every live entry of `slot` in `db` until it returns false: through each
    /// shard's slot index where it keeps one (looking at that slot's keys only), else through
    /// the shard's whole table with a CRC16 per key.
    pub fn for_each_in_slot(
        &mut self,
        db: DbIndex,
        slot: shoal_cluster::slot::Slot,
        mut f: impl FnMut(&Entry) -> bool,
    ) {
        use shoal_cluster::slot::key_slot;
        let (store, now) = (self.store, self.now);
        let mut going = true;
        for index in 0..SHARDS {
            let shard: &Shard = self.shard(db, index);
            match shard.slot_index() {
                Some(slot_index) => {
                    for pair in slot_index.of_slot(slot) {
                        shard.entries_of(pair, store.hasher(), |entry| {
                            if going && !entry.is_expired(now) {
                                going = f(entry);
                            }
                        });
                        if !going {
                            return;
                        }
                    }
                }
                None => {
                    for bucket in 0..shard.buckets() {
                        if let Some(entry) = shard.live_at(bucket, now)
                            && key_slot(entry.key()) == slot
                            && !f(entry)
                        {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Swaps the contents of two databases. An on-demand view locks both databases' shards
    /// for the swap; a holding view must already hold them.
    pub fn swap_databases(&mut self, a: DbIndex, b: DbIndex) {
        self.effects.get().whole(Whole::Swapped(a, b));
        match &mut self.mode {
            Mode::OnDemand(current) => {
                *current = None;
                self.store.swap_databases(a, b);
            }
            Mode::Holding(_) => {
                for shard in 0..SHARDS {
                    let taken = std::mem::take(self.shard(a, shard));
                    let other = std::mem::replace(self.shard(b, shard), taken);
                    *self.shard(a, shard) = other;
                }
            }
        }
    }

    /// Key and expiry counts of `db` (every shard visited through this view).
    pub fn summary(&mut self, db: DbIndex) -> super::DbSummary {
        let mut summary = super::DbSummary::default();
        let mut weighted_ttl: u128 = 0;
        self.for_each_shard(db, |shard| {
            summary.keys += shard.len();
            summary.volatile += shard.volatile();
            summary.field_expiring += shard.field_expiring_keys();
            weighted_ttl += u128::from(shard.avg_ttl_ms) * shard.volatile() as u128;
        });
        if summary.volatile > 0 {
            summary.avg_ttl = (weighted_ttl / summary.volatile as u128) as u64;
        }
        summary
    }

    /// The shards' counters summed over every database.
    pub fn shard_stats(&mut self) -> super::ShardStats {
        let mut total = super::ShardStats::default();
        for db in 0..self.store.databases() {
            self.for_each_shard(db, |shard| {
                total.hits += shard.stats.hits;
                total.misses += shard.stats.misses;
                total.expired += shard.stats.expired;
                total.expired_fields += shard.stats.expired_fields;
            });
        }
        total
    }
}

/// The shard `(db, shard)` of a view: see [`Locked::shard`]. A free function so that a caller
/// can borrow the view's other fields (its effects record) at the same time.
fn shard_in<'m, 's>(
    store: &'s Store,
    mode: &'m mut Mode<'s>,
    scratch: &'m mut Option<Box<Shard>>,
    violated: &mut bool,
    db: DbIndex,
    shard: usize,
) -> &'m mut Shard {
    match mode {
        Mode::Holding(held) => match held.iter_mut().find(|h| h.db == db && h.shard == shard) {
            Some(h) => &mut h.guard,
            None => {
                if !*violated {
                    tracing::error!(
                        db,
                        shard,
                        "a command touched a shard it did not lock: its key positions are wrong"
                    );
                }
                *violated = true;
                scratch.get_or_insert_with(Box::default)
            }
        },
        Mode::OnDemand(current) => {
            if !current
                .as_ref()
                .is_some_and(|h| h.db == db && h.shard == shard)
            {
                // Release before locking the next one: never hold one lock while waiting.
                *current = None;
                *current = Some(Held {
                    db,
                    shard,
                    guard: store.lock_shard(db, shard),
                });
            }
            match current {
                Some(h) => &mut h.guard,
                None => scratch.get_or_insert_with(Box::default),
            }
        }
    }
}
