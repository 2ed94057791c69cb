//! The active expiry cycle: reclaims expired keys that nobody reads again.
//!
//! Lazy expiry (in `shard.rs`) already guarantees that no command ever sees an expired key;
//! this cycle gives their memory back. Each tick (every `1000 / hz` ms) it walks shards in
//! turn and, in each shard that may hold expired keys, visits a bounded chunk of buckets from
//! the shard's cursor, removing expired entries. A tick stops when its time budget is spent
//! (a quarter of the tick, as Redis's slow cycle), so the cycle's CPU is bounded whatever the
//! keyspace size; a shard is skipped outright when it has no keys with a TTL or when none can
//! have expired yet (its `earliest_expiry` is still ahead).
//!
//! Between passes over a shard, the cycle also shrinks its table when it is mostly empty, so
//! the memory of deleted and expired keys goes back to the allocator (as Redis's cron
//! resizes its dicts).
//!
//! Each shard visited also has its hash fields past their deadline reclaimed (see
//! `field_expiry.rs`).
//!
//! The cursor is a bucket index, which stays valid until the table is rebuilt (see
//! `Shard::generation`); after a rebuild the pass over that shard restarts from bucket 0.

use super::effects::Effects;
use super::entry::Entry;
use super::{SHARDS, Store};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Buckets visited per lock acquisition: keeps each pause of other clients short.
const CHUNK: usize = 1024;

/// Where the cycle stopped, so the next tick resumes there.
#[derive(Debug, Default)]
pub struct ExpiryCycle {
    db: usize,
    shard: usize,
}

impl ExpiryCycle {
    /// Runs one tick with a time budget. Returns the number of keys reclaimed.
    pub fn tick(&mut self, store: &Store, budget: Duration) -> usize {
        let start = Instant::now();
        let total_shards = store.databases() * SHARDS;
        let mut reclaimed = Vec::new();
        let mut effects = Effects::new(store.events_wanted(), store.records_changes());
        let mut count = 0;
        for _ in 0..total_shards {
            let now = crate::clock::now_ms();
            super::field_expiry::reclaim_in_shard(store, self.db, self.shard, now);
            loop {
                let now = crate::clock::now_ms();
                let done = self.step(store, now, &mut reclaimed, &mut effects);
                count += reclaimed.len();
                // Drop and tell outside the lock.
                reclaimed.clear();
                store.hand_on(&mut effects);
                if done || start.elapsed() >= budget {
                    break;
                }
            }
            if start.elapsed() >= budget {
                return count;
            }
            self.advance(store);
        }
        count
    }

    fn advance(&mut self, store: &Store) {
        self.shard += 1;
        if self.shard == SHARDS {
            self.shard = 0;
            self.db = (self.db + 1) % store.databases();
        }
    }

    /// Visits one chunk of the current shard. True when the shard needs nothing more now.
    fn step(
        &mut self,
        store: &Store,
        now: u64,
        reclaimed: &mut Vec<Entry>,
        effects: &mut Effects,
    ) -> bool {
        let mut shard = store.lock_shard(self.db, self.shard);
        if shard.expire_cursor == 0 {
            // Between passes: give back the memory of tables emptied by expiry or deletes.
            shard.shrink_if_sparse(store.hasher());
            shard.forget_tombstones(now);
        }
        if shard.volatile() == 0 {
            return true;
        }
        if shard.earliest_expiry > now && shard.expire_cursor == 0 {
            return true;
        }
        let buckets = shard.buckets();
        if shard.expire_cursor_generation != shard.generation() {
            // The table was rebuilt since the pass began: entries moved, start the pass over.
            shard.expire_cursor_generation = shard.generation();
            shard.expire_cursor = 0;
            shard.pass_earliest = 0;
            shard.pass_ttl_sum = 0;
            shard.pass_ttl_count = 0;
        }
        let from = shard.expire_cursor;
        let to = (from + CHUNK).min(buckets);
        let earliest = shard.expire_buckets(from, to, now, store.hasher(), reclaimed);
        for entry in reclaimed.iter() {
            let version = shard.tick(now);
            effects.expired(self.db, entry.key(), version);
        }
        if earliest != 0 && (shard.pass_earliest == 0 || earliest < shard.pass_earliest) {
            shard.pass_earliest = earliest;
        }
        if to >= buckets {
            // A full pass: everything left expires at or after `pass_earliest`.
            shard.earliest_expiry = shard.pass_earliest;
            shard.pass_earliest = 0;
            shard.expire_cursor = 0;
            shard.avg_ttl_ms = shard
                .pass_ttl_sum
                .checked_div(shard.pass_ttl_count)
                .unwrap_or(0);
            shard.pass_ttl_sum = 0;
            shard.pass_ttl_count = 0;
            return true;
        }
        shard.expire_cursor = to;
        false
    }
}

/// What can be changed about the cycle while it runs (`CONFIG SET hz`,
/// `DEBUG SET-ACTIVE-EXPIRE`).
#[derive(Debug)]
pub struct ExpirySettings {
    /// Ticks per second, 1..=500.
    pub hz: AtomicU32,
    /// Whether the cycle runs at all.
    pub enabled: AtomicBool,
}

impl ExpirySettings {
    /// Settings with the given frequency, enabled.
    pub fn new(hz: u32) -> Self {
        ExpirySettings {
            hz: AtomicU32::new(hz),
            enabled: AtomicBool::new(true),
        }
    }
}

/// Starts the cycle on its own thread. The thread ends when the store is dropped.
pub fn spawn(store: &Arc<Store>, settings: Arc<ExpirySettings>) -> std::io::Result<()> {
    let store: Weak<Store> = Arc::downgrade(store);
    std::thread::Builder::new()
        .name("shoal-expire".into())
        .spawn(move || {
            let mut cycle = ExpiryCycle::default();
            loop {
                let hz = u64::from(settings.hz.load(Ordering::Relaxed).clamp(1, 500));
                let period = Duration::from_millis(1000 / hz);
                std::thread::sleep(period);
                let Some(store) = store.upgrade() else { return };
                if settings.enabled.load(Ordering::Relaxed) {
                    cycle.tick(&store, period / 4);
                }
            }
        })
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;

    #[test]
    fn a_tick_reclaims_every_expired_key_and_keeps_the_rest() {
        let store = Store::new(2);
        let past = 1_000;
        {
            let mut locked = store.on_demand(0);
            for i in 0..5_000u32 {
                let key = format!("k{i}");
                let at = if i % 5 == 0 {
                    None
                } else if i % 2 == 0 {
                    Some(past)
                } else {
                    Some(u64::MAX / 2)
                };
                locked.set((i % 2) as usize, key.as_bytes(), Value::string(b"v"), at);
            }
        }
        let mut view = store.on_demand(0);
        let before = view.summary(0).keys + view.summary(1).keys;
        drop(view);
        assert_eq!(before, 5_000);
        let reclaimed = ExpiryCycle::default().tick(&store, Duration::from_secs(60));
        assert_eq!(reclaimed, 2_000);
        let mut view = store.on_demand(0);
        assert_eq!(view.summary(0).keys + view.summary(1).keys, 3_000);
        assert_eq!(view.shard_stats().expired, 2_000);
    }

    #[test]
    fn shards_with_nothing_due_are_skipped_after_one_pass() {
        let store = Store::new(1);
        {
            let mut locked = store.on_demand(0);
            locked.set(0, b"later", Value::string(b"v"), Some(u64::MAX / 2));
        }
        let mut cycle = ExpiryCycle::default();
        assert_eq!(cycle.tick(&store, Duration::from_secs(60)), 0);
        let shard = store.lock_shard(0, Store::shard_of(store.hash(b"later")));
        assert_eq!(shard.earliest_expiry, u64::MAX / 2);
    }
}
