//! One shard of one database: a hash table of entries and its expiry bookkeeping.
//!
//! A shard is always used under its mutex (see `locked.rs`), so nothing here is concurrent.
//! Lookups expire lazily: an entry whose time has passed is removed when it is found and is
//! never handed out. The active expiry cycle (`expire.rs`) walks the table by bucket index
//! with a cursor, which hashbrown keeps stable until the table is resized.

use super::DbIndex;
use super::access::Tracking;
use super::effects::{ChangeKind, Recorder};
use super::entry::Entry;
use super::slot_index::{SlotIndex, SlotKey};
use super::tombstones::Tombstones;
use super::value::{Value, ValueRef};
use hashbrown::HashTable;
use shoal_cluster::slot::key_slot;
use shoal_cluster::{Hlc, Version};

/// Counters a shard keeps under its own lock, summed for `INFO stats`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ShardStats {
    pub hits: u64,
    pub misses: u64,
    pub expired: u64,
    /// Hash fields reclaimed past their deadline (`expired_subkeys`).
    pub expired_fields: u64,
}

impl ShardStats {
    /// The counts since `baseline` was taken.
    pub fn since(self, baseline: ShardStats) -> ShardStats {
        ShardStats {
            hits: self.hits.saturating_sub(baseline.hits),
            misses: self.misses.saturating_sub(baseline.misses),
            expired: self.expired.saturating_sub(baseline.expired),
            expired_fields: self.expired_fields.saturating_sub(baseline.expired_fields),
        }
    }
}

/// A hash table of entries plus what expiry needs to know about it.
#[derive(Debug, Default)]
pub struct Shard {
    table: HashTable<Entry>,
    /// Entries with an expiry.
    volatile: usize,
    /// No entry expires before this time (a lower bound, 0 when unknown).
    pub(super) earliest_expiry: u64,
    /// Changes whenever the table may have been rebuilt (grown, or rehashed in place to
    /// clear tombstones), which moves entries to other buckets. Bucket cursors (`SCAN`, the
    /// active cycle) remember it and start the shard over when it changed.
    generation: u32,
    /// The active cycle's progress: next bucket to visit, and the generation it is valid for.
    pub(super) expire_cursor: usize,
    pub(super) expire_cursor_generation: u32,
    /// Smallest expiry seen by the current pass of the active cycle.
    pub(super) pass_earliest: u64,
    /// The clock stamping this shard's writes (see `shoal_cluster::hlc`): versions only
    /// grow, and follow the wall clock.
    clock: Hlc,
    /// Sum and count of remaining TTLs seen by the current pass, and the average the last
    /// complete pass found (`INFO keyspace` avg_ttl).
    pub(super) pass_ttl_sum: u64,
    pub(super) pass_ttl_count: u64,
    pub avg_ttl_ms: u64,
    pub stats: ShardStats,
    /// Keys deleted here, so that an older state arriving later does not bring them back.
    tombstones: Tombstones,
    /// Keys that may hold a hash with field deadlines (HEXPIRE), for the active cycle to
    /// reclaim expired fields (see `field_expiry.rs`). It may name keys that no longer do;
    /// the cycle drops those.
    pub(super) field_expiring: hashbrown::HashSet<Box<[u8]>>,
    /// No field deadline of those keys is earlier than this (0 until computed).
    pub(super) field_next: u64,
    /// The keys by cluster slot, once the node has had peers (see `slot_index.rs`); kept
    /// exact by every insert and removal below.
    slot_index: Option<SlotIndex>,
}

/// A write replicated from a key's primary: its whole new state.
#[derive(Debug)]
pub struct Replicated {
    pub version: Version,
    /// `None`: the key was removed (deleted, expired or evicted on the primary).
    pub value: Option<Value>,
    pub expire_at: Option<u64>,
}

/// A live entry found by a lookup, with what is needed to change its expiry consistently.
pub struct EntryMut<'a> {
    entry: &'a mut Entry,
    volatile: &'a mut usize,
    earliest: &'a mut u64,
    pass_earliest: &'a mut u64,
    clock: &'a mut Hlc,
    /// Unix ms of the command: the time new versions are stamped with.
    now: u64,
    /// Where this entry's writes are recorded (see [`EntryMut::recording`]).
    log: Option<EntryLog<'a>>,
}

/// The effects record an entry's writes go to, and its change there once recorded.
struct EntryLog<'a> {
    effects: &'a mut Recorder,
    db: DbIndex,
    change: Option<usize>,
}

impl<'a> EntryMut<'a> {
    /// The key.
    pub fn key(&self) -> &[u8] {
        self.entry.key()
    }

    /// The value.
    pub fn value(&self) -> ValueRef<'_> {
        self.entry.value()
    }

    /// Records this entry's writes in `effects` (key of database `db`).
    pub(super) fn recording(mut self, effects: &'a mut Recorder, db: DbIndex) -> Self {
        self.log = Some(EntryLog {
            effects,
            db,
            change: None,
        });
        self
    }

    /// The value, to change in place.
    pub fn value_mut(&mut self) -> &mut Value {
        self.bump_version();
        self.record_write();
        self.entry.value_mut()
    }

    /// Replaces the value, keeping the expiry.
    pub fn set_value(&mut self, value: Value) -> Value {
        self.bump_version();
        self.record_write();
        self.entry.replace_value(value)
    }

    /// Records the write just made (version and expiry as they are now).
    fn record_write(&mut self) {
        let Some(log) = self.log.as_mut().filter(|log| !log.effects.is_off()) else {
            return;
        };
        let version = Version::from_raw(self.entry.version());
        let expire_at = self.entry.expire_at();
        match log.change {
            Some(index) => log.effects.get().rewrite(index, version, expire_at),
            None => {
                let key = self.entry.key();
                let index =
                    log.effects
                        .get()
                        .change(log.db, key, ChangeKind::Written, version, expire_at);
                log.change = Some(index);
            }
        }
    }

    /// Bytes the entry holds outside its table slot (`MEMORY USAGE`).
    pub fn heap_size(&self) -> usize {
        self.entry.heap_size()
    }

    /// The entry's version: it changes with every change of value or expiry.
    pub fn version(&self) -> u64 {
        self.entry.version()
    }

    fn bump_version(&mut self) {
        let version = self.clock.tick(self.now);
        self.entry.set_version(version.raw());
    }

    /// Absolute expiry in Unix milliseconds, if any.
    pub fn expire_at(&self) -> Option<u64> {
        self.entry.expire_at()
    }

    /// LRU clock of the last access.
    pub fn access(&self) -> u32 {
        self.entry.access()
    }

    /// Sets the LRU clock (a key moved by `RENAME` or `MOVE` keeps its idle time).
    pub fn set_access(&mut self, access: u32) {
        self.entry.set_access(access);
    }

    /// Sets or clears the expiry.
    pub fn set_expire_at(&mut self, expire_at: Option<u64>) {
        self.bump_version();
        let was_volatile = self.entry.expire_at().is_some();
        let at = expire_at.unwrap_or(0);
        self.entry.set_expire_at(expire_at);
        match (was_volatile, at != 0) {
            (false, true) => *self.volatile += 1,
            (true, false) => *self.volatile -= 1,
            _ => {}
        }
        if at != 0 {
            note_expiry(self.earliest, self.pass_earliest, at);
        }
        self.record_write();
    }
}

/// What a lookup found.
pub enum Found<'a> {
    /// The live entry.
    Live(EntryMut<'a>),
    /// No entry.
    Missing,
    /// An entry past its expiry, removed now; the version of that removal.
    Expired(Version),
}

impl<'a> Found<'a> {
    /// The live entry, if there is one.
    pub fn live(self) -> Option<EntryMut<'a>> {
        match self {
            Found::Live(entry) => Some(entry),
            Found::Missing | Found::Expired(_) => None,
        }
    }
}

/// Drops the pair of `key` (filed under `hash`, its entry gone from `table`) from `index`,
/// unless another key of the same slot has the same hash.
fn unindex(
    table: &HashTable<Entry>,
    index: &mut SlotIndex,
    hash: u64,
    key: &[u8],
    hasher: impl Fn(&[u8]) -> u64,
) {
    let slot = key_slot(key);
    // Candidates share hashbrown's 7-bit tag, not always the hash: compare both.
    let shared = table
        .iter_hash(hash)
        .any(|e| key_slot(e.key()) == slot && hasher(e.key()) == hash);
    if !shared {
        index.remove(slot, hash);
    }
}

/// Lowers the shard's expiry bounds so the active cycle will look at an entry expiring `at`.
fn note_expiry(earliest: &mut u64, pass_earliest: &mut u64, at: u64) {
    if *earliest == 0 || at < *earliest {
        *earliest = at;
    }
    if *pass_earliest == 0 || at < *pass_earliest {
        *pass_earliest = at;
    }
}

impl Shard {
    /// Number of entries, including expired ones not reclaimed yet (as Redis's `DBSIZE`).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the shard holds no entry.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Number of entries with an expiry.
    pub fn volatile(&self) -> usize {
        self.volatile
    }

    /// Finds the live entry for `key`, removing it first if it has expired. `touch` records
    /// the access (see `access::Tracking`); `count` adds a keyspace hit or miss.
    pub fn find(
        &mut self,
        hash: u64,
        key: &[u8],
        now: u64,
        touch: Option<Tracking>,
        count: bool,
        hasher: impl Fn(&[u8]) -> u64,
    ) -> Found<'_> {
        let Shard {
            table,
            volatile,
            earliest_expiry,
            pass_earliest,
            stats,
            clock,
            slot_index,
            ..
        } = self;
        let Ok(found) = table.find_entry(hash, |e| e.key() == key) else {
            stats.misses += u64::from(count);
            return Found::Missing;
        };
        if found.get().is_expired(now) {
            let (gone, vacant) = found.remove();
            *volatile -= 1;
            stats.expired += 1;
            stats.misses += u64::from(count);
            if let Some(index) = slot_index {
                unindex(vacant.into_table(), index, hash, gone.key(), hasher);
            }
            return Found::Expired(clock.tick(now));
        }
        stats.hits += u64::from(count);
        let entry = found.into_mut();
        if let Some(tracking) = touch {
            // Written only when it changes: a key read many times within one 10 ms tick
            // leaves its cache line clean.
            let (old, new) = (entry.access(), tracking.touched(entry.access(), now));
            if new != old {
                entry.set_access(new);
            }
        }
        Found::Live(EntryMut {
            entry,
            volatile,
            earliest: earliest_expiry,
            pass_earliest,
            clock,
            now,
            log: None,
        })
    }

    /// Stores `value` under `key` with the given expiry, replacing any previous entry (live or
    /// expired), and returns the previous live value. A new key's access starts as `tracking`
    /// says; a replaced live key's counts as touched (under LFU it keeps its frequency, as
    /// Redis keeps the old object's counter when it overwrites a value).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn insert(
        &mut self,
        hash: u64,
        key: &[u8],
        value: Value,
        expire_at: Option<u64>,
        now: u64,
        tracking: Tracking,
        hasher: impl Fn(&[u8]) -> u64,
    ) -> Option<Value> {
        let version = self.clock.tick(now);
        self.insert_at(hash, key, value, expire_at, now, tracking, hasher, version)
    }

    /// [`Shard::insert`] with the given version.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn insert_at(
        &mut self,
        hash: u64,
        key: &[u8],
        value: Value,
        expire_at: Option<u64>,
        now: u64,
        tracking: Tracking,
        hasher: impl Fn(&[u8]) -> u64,
        version: Version,
    ) -> Option<Value> {
        let at = expire_at.unwrap_or(0);
        if at != 0 {
            self.volatile += 1;
            note_expiry(&mut self.earliest_expiry, &mut self.pass_earliest, at);
        }
        let access = if let Tracking::Lfu { .. } = tracking
            && let Some(old) = self.peek(hash, key, now)
        {
            tracking.touched(old.access(), now)
        } else {
            tracking.initial(now)
        };
        // `entry` makes room first; with none left, hashbrown rebuilds the table.
        if self.table.len() == self.table.capacity() {
            self.generation = self.generation.wrapping_add(1);
        }
        if let Value::Hash(hash) = &value
            && let Some(at) = hash.next_deadline()
        {
            self.expect_field_expiry(key, at);
        }
        let new = Entry::new(key, value, at, access, version.raw());
        match self
            .table
            .entry(hash, |e| e.key() == key, |e| hasher(e.key()))
        {
            hashbrown::hash_table::Entry::Occupied(mut found) => {
                let entry = found.get_mut();
                if entry.expire_at().is_some() {
                    self.volatile -= 1;
                }
                let expired = entry.is_expired(now);
                let old = std::mem::replace(entry, new).into_value();
                if expired {
                    self.stats.expired += 1;
                    None
                } else {
                    Some(old)
                }
            }
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                vacant.insert(new);
                if let Some(index) = &mut self.slot_index {
                    index.insert(key_slot(key), hash);
                }
                None
            }
        }
    }

    /// Applies a write replicated from the key's primary if it is newer than what this shard
    /// holds (a live or expired entry, or a removal's tombstone); an older or repeated one is
    /// ignored, so messages may arrive twice or out of order. Returns whether it applied.
    /// The shard's clock moves past the version, so a write made here later (after a
    /// failover) is newer.
    pub fn apply(
        &mut self,
        hash: u64,
        key: &[u8],
        write: Replicated,
        now: u64,
        tracking: Tracking,
        hasher: impl Fn(&[u8]) -> u64,
    ) -> bool {
        self.clock.observe(write.version);
        let held = self
            .table
            .find(hash, |e| e.key() == key)
            .map(|e| Version::from_raw(e.version()));
        let buried = self.tombstones.get(key);
        if held.max(buried).is_some_and(|v| v >= write.version) {
            return false;
        }
        let expired = write.expire_at.is_some_and(|at| at <= now);
        match write.value {
            Some(value) if !expired => {
                self.tombstones.remove(key);
                self.insert_at(
                    hash,
                    key,
                    value,
                    write.expire_at,
                    now,
                    tracking,
                    hasher,
                    write.version,
                );
            }
            _ => {
                self.remove(hash, key, now, hasher);
                self.tombstones.bury(key, write.version, now);
            }
        }
        true
    }

    /// Records that `key` was deleted here at `version` (a primary's own delete, on a node
    /// with peers), so that an older state of it arriving later (a straggler write, a
    /// snapshot) does not bring it back, and snapshots carry the delete.
    pub fn bury(&mut self, key: &[u8], version: Version, now: u64) {
        self.tombstones.bury(key, version, now);
    }

    /// The keys deleted here that are still remembered.
    pub fn tombstones(&self) -> &Tombstones {
        &self.tombstones
    }

    /// Forgets tombstones older than the horizon. Returns how many are left.
    pub fn forget_tombstones(&mut self, now: u64) -> usize {
        self.tombstones.forget_expired(now)
    }

    /// For a key this shard holds neither an entry nor a tombstone of: the newest version
    /// of a tombstone it forgot (the key may have been deleted at any version up to it).
    /// `None` when it holds the key or its tombstone.
    pub fn forgotten_if_absent(&self, hash: u64, key: &[u8]) -> Option<Version> {
        let held = self.table.find(hash, |e| e.key() == key).is_some();
        (!held && self.tombstones.get(key).is_none()).then_some(self.tombstones.forgotten())
    }

    /// Calls `f` on every live entry (a snapshot walks a shard this way, under its lock).
    pub fn for_each_live(&self, now: u64, mut f: impl FnMut(&Entry)) {
        for entry in self.table.iter() {
            if !entry.is_expired(now) {
                f(entry);
            }
        }
    }

    /// A new version from this shard's clock (the version of a removal).
    pub fn tick(&mut self, now: u64) -> Version {
        self.clock.tick(now)
    }

    /// The version last handed out by this shard's clock (that of the last insert).
    pub fn last_version(&self) -> Version {
        self.clock.last()
    }

    /// Removes `key` and returns its entry if it was live. `hasher` is the table's (the slot
    /// index may need it).
    pub fn remove(
        &mut self,
        hash: u64,
        key: &[u8],
        now: u64,
        hasher: impl Fn(&[u8]) -> u64,
    ) -> Option<Entry> {
        let entry = self
            .table
            .find_entry(hash, |e| e.key() == key)
            .ok()?
            .remove()
            .0;
        self.unindex(hash, key, hasher);
        if entry.expire_at().is_some() {
            self.volatile -= 1;
        }
        if entry.is_expired(now) {
            self.stats.expired += 1;
            return None;
        }
        Some(entry)
    }

    /// Empties the shard and returns the old table (to drop wherever suits the caller).
    pub fn take_all(&mut self) -> HashTable<Entry> {
        self.volatile = 0;
        self.earliest_expiry = 0;
        self.pass_earliest = 0;
        self.expire_cursor = 0;
        self.generation = self.generation.wrapping_add(1);
        self.field_expiring = Default::default();
        self.field_next = u64::MAX;
        if let Some(index) = &mut self.slot_index {
            index.clear();
        }
        std::mem::take(&mut self.table)
    }

    /// Starts keeping the keys by slot (a no-op if it already does): one CRC16 and one hash
    /// per key held now.
    pub fn index_by_slot(&mut self, hasher: impl Fn(&[u8]) -> u64) {
        if self.slot_index.is_some() {
            return;
        }
        let pairs = self
            .table
            .iter()
            .map(|e| (key_slot(e.key()), hasher(e.key())))
            .collect();
        self.slot_index = Some(SlotIndex::build(pairs));
    }

    /// The keys by slot, if this shard keeps them.
    pub fn slot_index(&self) -> Option<&SlotIndex> {
        self.slot_index.as_ref()
    }

    /// Drops `key`'s pair from the slot index (if kept) after its entry left the table.
    fn unindex(&mut self, hash: u64, key: &[u8], hasher: impl Fn(&[u8]) -> u64) {
        if let Some(index) = &mut self.slot_index {
            unindex(&self.table, index, hash, key, hasher);
        }
    }

    /// Notes that `key` now holds a hash with field deadlines, the earliest at `at` (see
    /// `field_expiring`).
    pub fn expect_field_expiry(&mut self, key: &[u8], at: u64) {
        if !self.field_expiring.contains(key) {
            self.field_expiring.insert(key.into());
        }
        self.field_next = self.field_next.min(at);
    }

    /// Number of keys that may hold hashes with field deadlines (`INFO keyspace`'s
    /// `subexpiry`, an estimate as Redis's).
    pub fn field_expiring_keys(&self) -> usize {
        self.field_expiring.len()
    }

    /// Gives memory back when the table is mostly empty (fewer than 1/8 of its capacity in
    /// use, as Redis shrinks its dicts below 10%): rebuilds it at twice its length. Returns
    /// whether it shrank. Small tables are left alone so they do not thrash.
    pub fn shrink_if_sparse(&mut self, hasher: impl Fn(&[u8]) -> u64) -> bool {
        const KEEP: usize = 64;
        let capacity = self.table.capacity();
        if capacity <= KEEP || self.table.len() * 8 >= capacity {
            return false;
        }
        self.table
            .shrink_to((self.table.len() * 2).max(KEEP / 2), |e| hasher(e.key()));
        self.generation = self.generation.wrapping_add(1);
        true
    }

    /// The table's generation: bucket indexes stay valid while it is unchanged.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Number of buckets in the table (the range of bucket indexes).
    pub fn buckets(&self) -> usize {
        self.table.num_buckets()
    }

    /// The entry in bucket `index`, if that bucket is full and the entry is live.
    pub fn live_at(&self, index: usize, now: u64) -> Option<&Entry> {
        self.table.get_bucket(index).filter(|e| !e.is_expired(now))
    }

    /// Removes the entries of buckets `from..to` whose key `unwanted` names into `removed`,
    /// leaving no tombstone (data of slots this node no longer owns, see `handoff`).
    pub(super) fn drop_buckets(
        &mut self,
        from: usize,
        to: usize,
        unwanted: impl Fn(&[u8]) -> bool,
        hasher: impl Fn(&[u8]) -> u64,
        removed: &mut Vec<Entry>,
    ) {
        for index in from..to.min(self.table.num_buckets()) {
            let Some(entry) = self.table.get_bucket_entry(index).ok() else {
                continue;
            };
            if !unwanted(entry.get().key()) {
                continue;
            }
            let entry = entry.remove().0;
            if entry.expire_at().is_some() {
                self.volatile -= 1;
            }
            if self.slot_index.is_some() {
                self.unindex(hasher(entry.key()), entry.key(), &hasher);
            }
            removed.push(entry);
        }
    }

    /// Calls `f` on each entry filed in the slot index under `pair` (a key of that slot with
    /// that hash; nearly always exactly one), live or not.
    pub fn entries_of(
        &self,
        (slot, hash): SlotKey,
        hasher: impl Fn(&[u8]) -> u64,
        mut f: impl FnMut(&Entry),
    ) {
        let mut candidates = self.table.iter_hash(hash);
        let Some(first) = candidates.next() else {
            return;
        };
        if candidates.next().is_none() {
            // The index is exact, so the pair's key is there: a lone candidate is it.
            f(first);
            return;
        }
        for entry in self.table.iter_hash(hash) {
            if key_slot(entry.key()) == slot && hasher(entry.key()) == hash {
                f(entry);
            }
        }
    }

    /// Removes the entries filed in the slot index under `pairs`, and the pairs, into
    /// `removed`, leaving no tombstone (as [`Shard::drop_buckets`]).
    pub(super) fn drop_pairs(
        &mut self,
        pairs: &[SlotKey],
        hasher: impl Fn(&[u8]) -> u64,
        removed: &mut Vec<Entry>,
    ) {
        for &(slot, hash) in pairs {
            while let Ok(found) = self.table.find_entry(hash, |e| {
                key_slot(e.key()) == slot && hasher(e.key()) == hash
            }) {
                let entry = found.remove().0;
                if entry.expire_at().is_some() {
                    self.volatile -= 1;
                }
                removed.push(entry);
            }
            if let Some(index) = &mut self.slot_index {
                index.remove(slot, hash);
            }
        }
    }

    /// Visits buckets `from..to` for the active cycle: removes expired entries into `reclaimed`
    /// and returns the smallest expiry among the survivors (0 if none).
    pub(super) fn expire_buckets(
        &mut self,
        from: usize,
        to: usize,
        now: u64,
        hasher: impl Fn(&[u8]) -> u64,
        reclaimed: &mut Vec<Entry>,
    ) -> u64 {
        let mut earliest = 0;
        for index in from..to.min(self.table.num_buckets()) {
            let Some(entry) = self.table.get_bucket_entry(index).ok() else {
                continue;
            };
            let at = entry.get().expiry_ms();
            if at == 0 {
                continue;
            }
            if at <= now {
                let entry = entry.remove().0;
                self.volatile -= 1;
                self.stats.expired += 1;
                if self.slot_index.is_some() {
                    self.unindex(hasher(entry.key()), entry.key(), &hasher);
                }
                reclaimed.push(entry);
            } else {
                if earliest == 0 || at < earliest {
                    earliest = at;
                }
                self.pass_ttl_sum = self.pass_ttl_sum.saturating_add(at - now);
                self.pass_ttl_count += 1;
            }
        }
        earliest
    }

    /// The live entry for `key`, looked at without expiring, touching or counting it.
    pub fn peek(&self, hash: u64, key: &[u8], now: u64) -> Option<&Entry> {
        self.table
            .find(hash, |e| e.key() == key)
            .filter(|e| !e.is_expired(now))
    }

    /// Calls `f` on up to `want` live entries (only those with an expiry if `volatile_only`),
    /// walking the buckets from a random `start`. Bucket order is hash order, so neighbours
    /// are as good as random picks. The walk is bounded, so a sparse table may give fewer.
    pub fn sample(
        &self,
        start: u64,
        want: usize,
        volatile_only: bool,
        now: u64,
        mut f: impl FnMut(&Entry),
    ) {
        let buckets = self.table.num_buckets();
        if self.table.is_empty() || (volatile_only && self.volatile == 0) {
            return;
        }
        let limit = if volatile_only { 1024 } else { want * 8 + 64 }.min(buckets);
        let first = (start % buckets as u64) as usize;
        let mut found = 0;
        for step in 0..limit {
            let Some(entry) = self.table.get_bucket((first + step) % buckets) else {
                continue;
            };
            if entry.is_expired(now) || (volatile_only && entry.expiry_ms() == 0) {
                continue;
            }
            f(entry);
            found += 1;
            if found == want {
                return;
            }
        }
    }

    /// Bytes the table itself occupies (buckets and control bytes).
    pub fn table_bytes(&self) -> usize {
        self.table.allocation_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn hasher() -> impl Fn(&[u8]) -> u64 + Copy {
        |k: &[u8]| foldhash::fast::FixedState::with_seed(7).hash_one(k)
    }

    #[test]
    fn a_shard_remembers_the_newest_version_of_the_tombstones_it_forgot() {
        let h = hasher();
        let mut shard = Shard::default();
        assert_eq!(
            shard.forgotten_if_absent(h(b"k"), b"k"),
            Some(Version::ZERO)
        );
        shard.bury(b"k", Version::at_ms(5), 10);
        shard.bury(b"old", Version::at_ms(3), 10);
        // Held as a tombstone: no doubt about it.
        assert_eq!(shard.forgotten_if_absent(h(b"k"), b"k"), None);
        shard.forget_tombstones(10 + crate::store::tombstones::TOMBSTONE_HORIZON_MS);
        assert!(shard.tombstones().is_empty());
        assert_eq!(
            shard.forgotten_if_absent(h(b"k"), b"k"),
            Some(Version::at_ms(5))
        );
        // A key it holds is not in doubt either.
        shard.insert(
            h(b"live"),
            b"live",
            Value::string(b"1"),
            None,
            0,
            Tracking::Lru,
            h,
        );
        assert_eq!(shard.forgotten_if_absent(h(b"live"), b"live"), None);
    }

    #[test]
    fn expired_entries_are_never_found_and_are_counted() {
        let h = hasher();
        let mut shard = Shard::default();
        shard.insert(
            h(b"a"),
            b"a",
            Value::string(b"1"),
            Some(1_000),
            0,
            Tracking::Lru,
            h,
        );
        shard.insert(
            h(b"b"),
            b"b",
            Value::string(b"2"),
            None,
            0,
            Tracking::Lru,
            h,
        );
        assert_eq!(shard.volatile(), 1);
        assert!(
            shard
                .find(h(b"a"), b"a", 999, Some(Tracking::Lru), false, h)
                .live()
                .is_some()
        );
        assert!(
            shard
                .find(h(b"a"), b"a", 1_000, Some(Tracking::Lru), false, h)
                .live()
                .is_none()
        );
        assert_eq!(shard.len(), 1);
        assert_eq!(shard.volatile(), 0);
        assert_eq!(shard.stats.expired, 1);
    }

    #[test]
    fn overwriting_keeps_the_volatile_count_right() {
        let h = hasher();
        let mut shard = Shard::default();
        shard.insert(
            h(b"a"),
            b"a",
            Value::string(b"1"),
            Some(10),
            0,
            Tracking::Lru,
            h,
        );
        let old = shard.insert(
            h(b"a"),
            b"a",
            Value::string(b"2"),
            None,
            5,
            Tracking::Lru,
            h,
        );
        assert_eq!(old, Some(Value::string(b"1")));
        assert_eq!(shard.volatile(), 0);
        let mut found = shard
            .find(h(b"a"), b"a", 5, None, false, h)
            .live()
            .expect("live");
        found.set_expire_at(Some(20));
        assert_eq!(shard.volatile(), 1);
        assert_eq!(shard.earliest_expiry, 10);
    }

    #[test]
    fn the_active_scan_reclaims_only_expired_entries() {
        let h = hasher();
        let mut shard = Shard::default();
        for i in 0..100u32 {
            let key = i.to_be_bytes();
            let at = if i % 2 == 0 { Some(50) } else { Some(500) };
            shard.insert(h(&key), &key, Value::string(b"v"), at, 0, Tracking::Lru, h);
        }
        let mut reclaimed = Vec::new();
        let earliest = shard.expire_buckets(0, usize::MAX, 100, h, &mut reclaimed);
        assert_eq!(reclaimed.len(), 50);
        assert_eq!(earliest, 500);
        assert_eq!(shard.len(), 50);
        assert_eq!(shard.volatile(), 50);
    }

    #[test]
    fn the_generation_changes_whenever_the_table_may_be_rebuilt() {
        let h = hasher();
        let mut shard = Shard::default();
        let mut i = 0u32;
        let mut grown = 0;
        while grown < 3 {
            let key = i.to_be_bytes();
            let full = shard.table.len() == shard.table.capacity();
            let (before, buckets) = (shard.generation(), shard.buckets());
            shard.insert(
                h(&key),
                &key,
                Value::string(b"v"),
                None,
                0,
                Tracking::Lru,
                h,
            );
            if shard.buckets() != buckets {
                assert_ne!(
                    shard.generation(),
                    before,
                    "grew without a new generation at {i}: {buckets} -> {} len {} cap {}",
                    shard.buckets(),
                    shard.table.len(),
                    shard.table.capacity()
                );
                grown += 1;
            }
            assert_eq!(full, shard.generation() != before);
            i += 1;
        }
        // Churn at a constant size fills the table with tombstones until hashbrown rehashes
        // in place; every such point is announced by a new generation too.
        let mut generation = shard.generation();
        for j in 0..10_000u32 {
            let old = (j).to_be_bytes();
            shard.remove(h(&old), &old, 0, h);
            let key = (1_000_000 + j).to_be_bytes();
            let full = shard.table.len() == shard.table.capacity();
            shard.insert(
                h(&key),
                &key,
                Value::string(b"v"),
                None,
                0,
                Tracking::Lru,
                h,
            );
            assert_eq!(full, shard.generation() != generation);
            generation = shard.generation();
        }
    }

    #[test]
    fn a_mostly_empty_table_shrinks_and_starts_a_new_generation() {
        let h = hasher();
        let mut shard = Shard::default();
        for i in 0..10_000u32 {
            let key = i.to_be_bytes();
            shard.insert(
                h(&key),
                &key,
                Value::string(b"v"),
                None,
                0,
                Tracking::Lru,
                h,
            );
        }
        assert!(!shard.shrink_if_sparse(h), "a full table stays");
        for i in 0..9_900u32 {
            let key = i.to_be_bytes();
            shard.remove(h(&key), &key, 0, h);
        }
        let (buckets, generation) = (shard.buckets(), shard.generation());
        assert!(shard.shrink_if_sparse(h));
        assert!(shard.buckets() < buckets / 8);
        assert_ne!(shard.generation(), generation);
        assert_eq!(shard.len(), 100);
        let key = 9_950u32.to_be_bytes();
        assert!(
            shard
                .find(h(&key), &key, 0, None, false, h)
                .live()
                .is_some()
        );
    }

    /// The slot index as it should be: one pair per (slot, hash) of the table's keys.
    fn expected_pairs(shard: &Shard, h: impl Fn(&[u8]) -> u64) -> Vec<SlotKey> {
        let mut pairs: Vec<SlotKey> = shard
            .table
            .iter()
            .map(|e| (key_slot(e.key()), h(e.key())))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        pairs
    }

    fn indexed_pairs(shard: &Shard) -> Vec<SlotKey> {
        let index = shard.slot_index().expect("indexed");
        let all = shoal_cluster::slot::SlotSet::from_fn(|_| true);
        let mut pairs = Vec::new();
        index.next_in(&all, None, usize::MAX, &mut pairs);
        pairs
    }

    #[test]
    fn the_slot_index_follows_every_insert_and_removal() {
        // Keys starting with `c` all share one hash, so that removals meet other keys under
        // the same hash (in the same slot through a hashtag, and in other slots).
        let h = |k: &[u8]| {
            if k.first() == Some(&b'c') || k.starts_with(b"{t}c") {
                42
            } else {
                foldhash::fast::FixedState::with_seed(7).hash_one(k)
            }
        };
        let mut shard = Shard::default();
        let put = |shard: &mut Shard, key: &[u8], at: Option<u64>| {
            shard.insert(h(key), key, Value::string(b"v"), at, 0, Tracking::Lru, h);
        };
        for i in 0..200u32 {
            put(&mut shard, format!("before{i}").as_bytes(), None);
        }
        shard.index_by_slot(h);
        assert_eq!(indexed_pairs(&shard), expected_pairs(&shard, h));
        for i in 0..300u32 {
            let at = (i % 3 == 0).then_some(100);
            put(&mut shard, format!("k{i}").as_bytes(), at);
            put(&mut shard, format!("{{t}}c{i}").as_bytes(), None);
            put(&mut shard, format!("c{i}").as_bytes(), None);
        }
        assert_eq!(indexed_pairs(&shard), expected_pairs(&shard, h));
        // Removal by key, by lazy expiry, by the active cycle, by a slot drop.
        for i in 0..150u32 {
            for key in [format!("k{i}"), format!("{{t}}c{i}"), format!("c{i}")] {
                shard.remove(h(key.as_bytes()), key.as_bytes(), 0, h);
            }
        }
        assert_eq!(indexed_pairs(&shard), expected_pairs(&shard, h));
        for i in 150..200u32 {
            let key = format!("k{i}");
            let _ = shard.find(h(key.as_bytes()), key.as_bytes(), 1_000, None, false, h);
        }
        assert_eq!(indexed_pairs(&shard), expected_pairs(&shard, h));
        let mut gone = Vec::new();
        shard.expire_buckets(0, usize::MAX, 1_000, h, &mut gone);
        assert!(!gone.is_empty());
        assert_eq!(indexed_pairs(&shard), expected_pairs(&shard, h));
        let tagged = key_slot(b"{t}");
        shard.drop_buckets(0, 64, |k| key_slot(k) == tagged, h, &mut gone);
        assert_eq!(indexed_pairs(&shard), expected_pairs(&shard, h));
        let pairs: Vec<SlotKey> = shard
            .slot_index()
            .expect("indexed")
            .of_slot(tagged)
            .collect();
        assert_eq!(pairs, [(tagged, 42)], "every {{t}}c key shares one pair");
        shard.drop_pairs(&pairs, h, &mut gone);
        assert!(shard.table.iter().all(|e| key_slot(e.key()) != tagged));
        assert_eq!(indexed_pairs(&shard), expected_pairs(&shard, h));
        // Each `c` key is still found through its pair, though all share the hash.
        for i in 150..300u32 {
            let key = format!("c{i}");
            let mut seen = Vec::new();
            shard.entries_of((key_slot(key.as_bytes()), 42), h, |e| {
                seen.push(e.key().to_vec())
            });
            assert!(seen.contains(&key.into_bytes()));
            assert!(
                seen.iter()
                    .all(|k| key_slot(k) == key_slot(format!("c{i}").as_bytes()))
            );
        }
        shard.take_all();
        assert!(shard.slot_index().is_some_and(|index| index.is_empty()));
        put(&mut shard, b"after", None);
        assert_eq!(indexed_pairs(&shard), expected_pairs(&shard, h));
    }
}
