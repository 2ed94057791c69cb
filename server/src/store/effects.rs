//! The effects record: what a command (or lazy or active expiry, eviction, a flush) changed.
//!
//! Everything that reacts to writes reads it: keyspace notifications, blocked clients waiting
//! for a key, and (later) replication and client-side-cache invalidation. No handler calls
//! any of them: the keyspace view a command works through ([`super::Locked`]) records every
//! change as it makes it, and the request path hands the record on (see `crate::effects`).
//!
//! Two lists, in the order things happened:
//!
//! - [`Change`]s: the state of keys. A key written (its entry's new [version](Version) and
//!   absolute expiry), deleted, expired or evicted; or a whole database flushed or swapped.
//!   Several writes to one key by one command update one record.
//! - [`Event`]s: keyspace notifications as Redis emits them (class and event name, `set`,
//!   `lpush`, `del`, `expired`, `rename_from`…). A command's usual event comes from its
//!   table entry and is recorded at its first write of each key; the store adds `new` (a key
//!   created), `expired` (found expired) and `del` (a collection emptied); handlers add the
//!   rest where Redis's event differs from the usual one. Events are recorded only when
//!   someone listens (`notify-keyspace-events` set).
//!
//! Keys are kept in one byte arena, and a record is cleared and reused between commands, so
//! recording costs no allocation once its buffers have grown.

use super::DbIndex;
use shoal_cluster::Version;
use shoal_cluster::slot::{Slot, key_slot};
use std::ops::Range;

/// Keyspace notification classes, as `notify-keyspace-events` names them.
pub mod class {
    /// `g`: generic commands (DEL, EXPIRE, RENAME…).
    pub const GENERIC: u16 = 1 << 0;
    /// `$`: string commands.
    pub const STRING: u16 = 1 << 1;
    /// `l`: list commands.
    pub const LIST: u16 = 1 << 2;
    /// `s`: set commands.
    pub const SET: u16 = 1 << 3;
    /// `h`: hash commands.
    pub const HASH: u16 = 1 << 4;
    /// `z`: sorted-set commands.
    pub const ZSET: u16 = 1 << 5;
    /// `x`: expired keys.
    pub const EXPIRED: u16 = 1 << 6;
    /// `e`: evicted keys.
    pub const EVICTED: u16 = 1 << 7;
    /// `t`: stream commands.
    pub const STREAM: u16 = 1 << 8;
    /// `m`: key misses (not part of `A`).
    pub const KEY_MISS: u16 = 1 << 9;
    /// `d`: module key types (none in Shoal; accepted for compatibility).
    pub const MODULE: u16 = 1 << 10;
    /// `n`: new keys (not part of `A`).
    pub const NEW: u16 = 1 << 11;
    /// `A`: every class but `m` and `n`.
    pub const ALL: u16 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// A notification class (one bit of [`class`]) and Redis's event name.
pub type EventKind = (u16, &'static str);

/// What happened to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// Its value or expiry changed (or it was created).
    Written,
    /// Deleted by a command (`DEL`, an emptied collection, `RENAME`'s source, a past expiry).
    Deleted,
    /// Found past its expiry and removed (lazily, or by the active cycle).
    Expired,
    /// Removed to make room under `maxmemory`.
    Evicted,
}

/// One key's change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub db: DbIndex,
    key: Range<u32>,
    pub kind: ChangeKind,
    /// The entry's version after the change; for a removal, the version of the removal.
    pub version: Version,
    /// Absolute expiry in unix ms after the change (`None`: none, or removed).
    pub expire_at: Option<u64>,
}

/// A change to whole databases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whole {
    /// `FLUSHDB` of this database (`None`: `FLUSHALL`, every database).
    Flushed(Option<DbIndex>),
    /// `SWAPDB a b`.
    Swapped(DbIndex, DbIndex),
}

/// One keyspace notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub class: u16,
    pub name: &'static str,
    pub db: DbIndex,
    key: Range<u32>,
}

/// Everything one command (or one round of expiry or eviction) changed.
#[derive(Debug, Default)]
pub struct Effects {
    /// Key bytes of the changes and events.
    arena: Vec<u8>,
    changes: Vec<Change>,
    wholes: Vec<Whole>,
    events: Vec<Event>,
    /// Keys that gained elements a blocked client may take.
    ready: Vec<(DbIndex, Vec<u8>)>,
    /// Record events (someone listens to notifications).
    record_events: bool,
    /// Record changes (someone reads them: replication on a node with peers, or keyspace
    /// notifications, whose usual event comes once per changed key). Otherwise a write costs
    /// no copy of its key.
    record_changes: bool,
    /// The running command's usual event, recorded at its first write of each key.
    usual: Option<EventKind>,
    /// Where the running command's changes start (for "first write of this key").
    command_start: usize,
    /// The client whose commands made the changes (`None`: expiry, eviction, a peer).
    origin: Option<u64>,
}

impl Effects {
    /// An empty record that records events only if `events` (see `notify-keyspace-events`)
    /// and key changes only if `changes` (see `Store::changes_wanted`).
    pub fn new(events: bool, changes: bool) -> Effects {
        Effects {
            record_events: events,
            // Events need the changes: a command's usual event comes once per key it changes.
            record_changes: changes || events,
            ..Effects::default()
        }
    }

    /// Empties the record, keeping its buffers, and sets what is recorded.
    pub fn reset(&mut self, events: bool, changes: bool) {
        self.record_changes = changes || events;
        self.arena.clear();
        self.changes.clear();
        self.wholes.clear();
        self.events.clear();
        self.ready.clear();
        self.record_events = events;
        self.usual = None;
        self.command_start = 0;
        self.origin = None;
    }

    /// Notes which client's commands made the changes (`CLIENT TRACKING ... NOLOOP`).
    pub fn set_origin(&mut self, client: u64) {
        self.origin = Some(client);
    }

    /// The client whose commands made the changes, if one did.
    pub fn origin(&self) -> Option<u64> {
        self.origin
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.wholes.is_empty()
            && self.events.is_empty()
            && self.ready.is_empty()
    }

    /// Whether events are being recorded.
    pub fn records_events(&self) -> bool {
        self.record_events
    }

    /// Marks the start of a command (EXEC runs several into one record) whose usual event,
    /// if it has one, is `usual`.
    pub fn begin_command(&mut self, usual: Option<EventKind>) {
        self.usual = usual;
        self.command_start = self.changes.len();
    }

    /// Replaces the running command's usual event (`None`: the command records its own).
    pub fn set_usual(&mut self, usual: Option<EventKind>) {
        self.usual = usual;
    }

    fn store_key(&mut self, key: &[u8]) -> Range<u32> {
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(key);
        start..self.arena.len() as u32
    }

    fn key_of(&self, range: &Range<u32>) -> &[u8] {
        self.arena
            .get(range.start as usize..range.end as usize)
            .unwrap_or_default()
    }

    /// Whether the running command changed `key` of `db` already.
    fn changed_before(&self, db: DbIndex, key: &[u8]) -> bool {
        self.changes[self.command_start..]
            .iter()
            .any(|c| c.db == db && self.key_of(&c.key) == key)
    }

    /// Records the running command's usual event for `key`, unless it already changed it.
    fn usual_event(&mut self, db: DbIndex, key: &[u8]) {
        if let Some((class, name)) = self.usual
            && self.record_events
            && !self.changed_before(db, key)
        {
            self.event(class, name, db, key);
        }
    }

    /// Records a change of `key`. Returns its index, for [`Effects::rewrite`].
    pub(super) fn change(
        &mut self,
        db: DbIndex,
        key: &[u8],
        kind: ChangeKind,
        version: Version,
        expire_at: Option<u64>,
    ) -> usize {
        if kind == ChangeKind::Written || kind == ChangeKind::Deleted {
            self.usual_event(db, key);
        }
        if !self.record_changes {
            return usize::MAX;
        }
        // Consecutive changes of one key (a read-modify-write, SET then EXPIRE) make one.
        let in_command = self.changes.len() > self.command_start;
        if let Some(last) = self.changes.last_mut()
            && in_command
            && last.db == db
            && last.kind == kind
            && self
                .arena
                .get(last.key.start as usize..last.key.end as usize)
                == Some(key)
        {
            last.version = version;
            last.expire_at = expire_at;
            return self.changes.len() - 1;
        }
        let key = self.store_key(key);
        self.changes.push(Change {
            db,
            key,
            kind,
            version,
            expire_at,
        });
        self.changes.len() - 1
    }

    /// Records that `key` was found past its expiry and removed (Redis notifies `expired`).
    pub(super) fn expired(&mut self, db: DbIndex, key: &[u8], version: Version) {
        self.change(db, key, ChangeKind::Expired, version, None);
        self.event(class::EXPIRED, "expired", db, key);
    }

    /// Records that `key` was evicted (Redis notifies `evicted`).
    pub(super) fn evicted(&mut self, db: DbIndex, key: &[u8], version: Version) {
        self.change(db, key, ChangeKind::Evicted, version, None);
        self.event(class::EVICTED, "evicted", db, key);
    }

    /// Updates the version and expiry of change `index` (a later write to the same entry).
    pub(super) fn rewrite(&mut self, index: usize, version: Version, expire_at: Option<u64>) {
        if let Some(change) = self.changes.get_mut(index) {
            change.version = version;
            change.expire_at = expire_at;
        }
    }

    /// Records a whole-database change.
    pub fn whole(&mut self, whole: Whole) {
        self.wholes.push(whole);
    }

    /// Records a keyspace notification (when events are recorded).
    pub fn event(&mut self, class: u16, name: &'static str, db: DbIndex, key: &[u8]) {
        if !self.record_events {
            return;
        }
        let key = self.store_key(key);
        self.events.push(Event {
            class,
            name,
            db,
            key,
        });
    }

    /// Notes that `key` may now serve a blocked client.
    pub(super) fn ready(&mut self, db: DbIndex, key: &[u8]) {
        if !self.ready.iter().any(|(d, k)| *d == db && k == key) {
            self.ready.push((db, key.to_vec()));
        }
    }

    /// Takes the keys noted ready.
    pub fn take_ready(&mut self) -> Vec<(DbIndex, Vec<u8>)> {
        std::mem::take(&mut self.ready)
    }

    /// Moves everything `other` recorded to the end of this record.
    pub fn append(&mut self, other: &mut Effects) {
        for change in other.changes.drain(..) {
            let key = other
                .arena
                .get(change.key.start as usize..change.key.end as usize)
                .unwrap_or_default();
            let start = self.arena.len() as u32;
            self.arena.extend_from_slice(key);
            self.changes.push(Change {
                key: start..self.arena.len() as u32,
                ..change
            });
        }
        for event in other.events.drain(..) {
            let key = other
                .arena
                .get(event.key.start as usize..event.key.end as usize)
                .unwrap_or_default();
            let start = self.arena.len() as u32;
            self.arena.extend_from_slice(key);
            self.events.push(Event {
                key: start..self.arena.len() as u32,
                ..event
            });
        }
        self.wholes.append(&mut other.wholes);
        for (db, key) in other.ready.drain(..) {
            self.ready(db, &key);
        }
        other.arena.clear();
    }

    /// The key changes, in order, with their keys.
    pub fn changes(&self) -> impl Iterator<Item = (&Change, &[u8])> + '_ {
        self.changes.iter().map(|c| (c, self.key_of(&c.key)))
    }

    /// The whole-database changes, in order.
    pub fn wholes(&self) -> &[Whole] {
        &self.wholes
    }

    /// The notifications, in order, with their keys.
    pub fn events(&self) -> impl Iterator<Item = (&Event, &[u8])> + '_ {
        self.events.iter().map(|e| (e, self.key_of(&e.key)))
    }
}

/// An effects record allocated on first use: a command that changes nothing (a read) costs no
/// allocation, and a reused record (a connection's) costs none either.
#[derive(Debug, Default)]
pub struct Recorder {
    record: Option<Box<Effects>>,
    events: bool,
    changes: bool,
}

impl Recorder {
    /// A recorder that notes events if `events` and key changes if `changes`.
    pub fn new(events: bool, changes: bool) -> Recorder {
        Recorder {
            record: None,
            events,
            changes,
        }
    }

    /// Records into `record` (emptied first) instead of allocating one.
    pub fn reuse(&mut self, record: Option<Box<Effects>>) {
        self.record = record.map(|mut r| {
            r.reset(self.events, self.changes);
            r
        });
    }

    /// The record, allocated now if it was not.
    pub fn get(&mut self) -> &mut Effects {
        let (events, changes) = (self.events, self.changes);
        self.record
            .get_or_insert_with(|| Box::new(Effects::new(events, changes)))
    }

    /// Whether events are noted.
    pub fn records_events(&self) -> bool {
        self.events
    }

    /// Whether neither events nor key changes are noted (nobody listens): a write then
    /// records nothing.
    #[inline]
    pub fn is_off(&self) -> bool {
        !self.events && !self.changes
    }

    /// The record, if one was used or given.
    pub fn take(&mut self) -> Option<Box<Effects>> {
        self.record.take()
    }
}

impl Change {
    /// The cluster slot of the changed key.
    pub fn slot(&self, effects: &Effects) -> Slot {
        key_slot(effects.key_of(&self.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: u64) -> Version {
        Version::from_raw(n)
    }

    #[test]
    fn a_commands_usual_event_comes_at_its_first_write_of_each_key() {
        let mut effects = Effects::new(true, true);
        effects.begin_command(Some((class::LIST, "lpop")));
        effects.change(0, b"k", ChangeKind::Written, v(1), None);
        effects.change(0, b"k", ChangeKind::Written, v(2), None);
        effects.event(class::GENERIC, "del", 0, b"k");
        effects.change(0, b"k", ChangeKind::Deleted, v(3), None);
        let events: Vec<(&str, &[u8])> = effects.events().map(|(e, k)| (e.name, k)).collect();
        assert_eq!(events, vec![("lpop", &b"k"[..]), ("del", &b"k"[..])]);
        let changes: Vec<(ChangeKind, u64)> = effects
            .changes()
            .map(|(c, _)| (c.kind, c.version.raw()))
            .collect();
        assert_eq!(
            changes,
            vec![(ChangeKind::Written, 2), (ChangeKind::Deleted, 3)]
        );
        // A second command writing the same key gets its own event.
        effects.begin_command(Some((class::LIST, "lpush")));
        effects.change(0, b"k", ChangeKind::Written, v(4), None);
        assert_eq!(effects.events().count(), 3);
    }

    #[test]
    fn without_listeners_no_event_is_recorded_but_changes_are() {
        let mut effects = Effects::new(false, true);
        effects.begin_command(Some((class::STRING, "set")));
        effects.change(1, b"a", ChangeKind::Written, v(1), Some(99));
        effects.event(class::GENERIC, "expire", 1, b"a");
        assert_eq!(effects.events().count(), 0);
        let (change, key) = effects.changes().next().expect("a change");
        assert_eq!((change.db, key, change.expire_at), (1, &b"a"[..], Some(99)));
        assert_eq!(change.slot(&effects), key_slot(b"a"));
        effects.reset(true, true);
        assert!(effects.is_empty());
        assert!(effects.records_events());
    }

    #[test]
    fn appending_moves_keys_and_order() {
        let mut first = Effects::new(true, true);
        first.begin_command(None);
        first.change(0, b"a", ChangeKind::Written, v(1), None);
        let mut second = Effects::new(true, true);
        second.begin_command(Some((class::SET, "sadd")));
        second.change(0, b"b", ChangeKind::Written, v(2), None);
        second.ready(0, b"b");
        first.append(&mut second);
        let keys: Vec<&[u8]> = first.changes().map(|(_, k)| k).collect();
        assert_eq!(keys, vec![&b"a"[..], &b"b"[..]]);
        assert_eq!(
            first.events().map(|(_, k)| k).collect::<Vec<_>>(),
            vec![&b"b"[..]]
        );
        assert_eq!(first.take_ready(), vec![(0, b"b".to_vec())]);
    }
}
