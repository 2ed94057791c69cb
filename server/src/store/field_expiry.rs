//! Reclaiming hash fields past their deadline (Redis 7.4's HEXPIRE family).
//!
//! Readers never see such a field (`hash::Live` skips it); this module removes it, as a
//! write on the key's primary: the key gets a new version, so the change replicates (the
//! whole hash, field deadlines included), invalidates client-side caches and wakes nothing
//! else; Redis's `hexpired` notification is sent, then `del` when the hash is left empty
//! (the key is deleted). Two callers: a write command on the hash, before it changes it,
//! and the active expiry cycle, which walks each shard's keys that may hold field deadlines
//! (`Shard::field_expiring`) once something there is due. Replica slots are left to their
//! primary, whose reclaim arrives by replication (their readers skip the fields meanwhile).

use super::effects::class;
use super::locked::{Access, Locked};
use super::value::{Value, ValueRef};
use super::{DbIndex, Store};

/// Keys reclaimed per shard and tick at most, so that a tick stays short.
const KEYS_PER_TICK: usize = 256;

/// Removes the fields of the hash at `key` that are past their deadline at the view's time;
/// deletes the key if none is left. Returns how many fields went.
pub fn reclaim(keys: &mut Locked<'_>, db: DbIndex, key: &[u8]) -> usize {
    let now = keys.now;
    let (reclaimed, emptied) = {
        let Some(mut entry) = keys.lookup(db, key, Access::Peek) else {
            return 0;
        };
        if !matches!(entry.value(), ValueRef::Hash(hash) if hash.overdue(now)) {
            return 0;
        }
        let Value::Hash(hash) = entry.value_mut() else {
            return 0;
        };
        (hash.reclaim(now), hash.is_empty())
    };
    if reclaimed > 0 {
        note_reclaimed(keys, db, key, reclaimed);
        if emptied {
            keys.remove_emptied(db, key);
        }
    }
    reclaimed
}

/// Counts `count` fields of `key` reclaimed (`expired_subkeys`) and notifies `hexpired`.
pub fn note_reclaimed(keys: &mut Locked<'_>, db: DbIndex, key: &[u8], count: usize) {
    let shard = Store::shard_of(keys.store().hash(key));
    keys.shard(db, shard).stats.expired_fields += count as u64;
    keys.notify(class::HASH, "hexpired", db, key);
}

/// The active cycle's part for shard `index` of `db`: reclaims the due fields of at most
/// [`KEYS_PER_TICK`] keys, and forgets keys that no longer hold field deadlines. Returns the
/// number of fields reclaimed.
pub fn reclaim_in_shard(store: &Store, db: DbIndex, index: usize, now: u64) -> usize {
    let due = {
        let mut shard = store.lock_shard(db, index);
        if shard.field_expiring.is_empty() || shard.field_next > now {
            return 0;
        }
        let mut due = Vec::new();
        let mut gone = Vec::new();
        let mut next = u64::MAX;
        for key in shard.field_expiring.iter() {
            let deadline =
                shard
                    .peek(store.hash(key), key, now)
                    .and_then(|entry| match entry.value() {
                        ValueRef::Hash(hash) => hash.next_deadline(),
                        _ => None,
                    });
            match deadline {
                None => gone.push(key.clone()),
                Some(at)
                    if at <= now
                        && due.len() < KEYS_PER_TICK
                        && !store.evictor.replica_slots.holds(key) =>
                {
                    due.push(key.clone());
                }
                // Not due, not ours to reclaim, or beyond this tick's share: next time.
                Some(at) => next = next.min(at.max(now + 1)),
            }
        }
        for key in &gone {
            shard.field_expiring.remove(key);
        }
        shard.field_next = if due.is_empty() { next } else { 0 };
        due
    };
    let mut total = 0;
    for key in due {
        let mut keys = store.lock([(db, &key[..])], now);
        total += reclaim(&mut keys, db, &key);
        let effects = keys.take_effects();
        drop(keys);
        if let Some(mut effects) = effects {
            store.hand_on(&mut effects);
        }
    }
    total
}
