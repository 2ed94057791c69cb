//! Keyspace notifications: `notify-keyspace-events`, and publishing the events of effects
//! records on `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`.
//!
//! Events are not emitted by command handlers: every change a command (or expiry, or
//! eviction) makes is recorded with its Redis event name in the effects record (see
//! `store::effects`), and [`publish`] turns the record's events into Pub/Sub messages, in the
//! order they happened, for the classes the directive enables.
//!
//! Across the cluster: the node where a key changes (its primary) publishes the events to its
//! own subscribers and sends them to every other live node over its peer stream, so a client
//! subscribed to `__keyspace@0__:*` on any node hears about every key of the cluster. The
//! events of one key come in the order it changed (they all come from its primary, over one
//! ordered stream); events of keys on different nodes are not ordered with each other.
//! `CONFIG SET notify-keyspace-events` applies to the node it is sent to (as Redis Cluster):
//! set it on every node, in the config file or with `CONFIG SET` through each.

use crate::node::Node;
use crate::peer::stream::Message;
use crate::store::effects::{Effects, class};
use bytes::Bytes;
use std::sync::atomic::{AtomicU16, Ordering};

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u16 = 1 << 13;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u16 = 1 << 14;

/// The classes, in the order Redis writes them.
const CLASSES: &[(u8, u16)] = &[
    (b'g', class::GENERIC),
    (b'$', class::STRING),
    (b'l', class::LIST),
    (b's', class::SET),
    (b'h', class::HASH),
    (b'z', class::ZSET),
    (b'x', class::EXPIRED),
    (b'e', class::EVICTED),
    (b't', class::STREAM),
    (b'd', class::MODULE),
    (b'n', class::NEW),
];

/// Reads a `notify-keyspace-events` value; the error is Redis's text.
pub fn parse(text: &str) -> Result<u16, String> {
    let mut flags = 0;
    for c in text.bytes() {
        flags |= match c {
            b'A' => class::ALL,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b'm' => class::KEY_MISS,
            other => match CLASSES.iter().find(|(letter, _)| *letter == other) {
                Some((_, bit)) => *bit,
                None => {
                    return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string());
                }
            },
        };
    }
    Ok(flags)
}

/// Writes flags as `CONFIG GET` shows them, exactly as Redis 7.0 does (`A` stands for its
/// classes; like Redis, `n` is then not shown).
pub fn render(flags: u16) -> String {
    let mut out = String::new();
    if flags & class::ALL == class::ALL {
        out.push('A');
    } else {
        for (letter, bit) in CLASSES {
            if flags & bit != 0 {
                out.push(char::from(*letter));
            }
        }
    }
    if flags & KEYSPACE != 0 {
        out.push('K');
    }
    if flags & KEYEVENT != 0 {
        out.push('E');
    }
    if flags & class::KEY_MISS != 0 {
        out.push('m');
    }
    out
}

/// The node's `notify-keyspace-events`.
#[derive(Default)]
pub struct Notifications {
    flags: AtomicU16,
}

impl Notifications {
    /// Takes a new value; tells the store whether to record events at all.
    pub fn set(&self, flags: u16, store: &crate::store::Store) {
        self.flags.store(flags, Ordering::Relaxed);
        store.set_events_wanted(Self::publishes(flags));
    }

    /// Whether `flags` make anything published (a class, and `K` or `E`).
    fn publishes(flags: u16) -> bool {
        flags & (KEYSPACE | KEYEVENT) != 0 && flags & !(KEYSPACE | KEYEVENT) != 0
    }

    fn flags(&self) -> u16 {
        self.flags.load(Ordering::Relaxed)
    }
}

/// Publishes the events of `effects` that `notify-keyspace-events` enables, here and on every
/// other node.
pub fn publish(node: &Node, effects: &Effects) {
    let flags = node.notifications.flags();
    if !Notifications::publishes(flags) {
        return;
    }
    let mut number = itoa::Buffer::new();
    // A replica's copy of a key expires here too; its primary tells everyone.
    let topology = node
        .cluster
        .get()
        .filter(|c| !c.topology.is_single_node())
        .map(|c| c.topology.load_full());
    for (event, key) in effects.events() {
        if flags & event.class == 0 {
            continue;
        }
        if let Some(topology) = &topology
            && !topology.is_primary(shoal_cluster::slot::key_slot(key))
        {
            continue;
        }
        let db = number.format(event.db);
        if flags & KEYSPACE != 0 {
            let channel = channel(b"__keyspace@", db.as_bytes(), key);
            send(node, channel, Bytes::from_static(event.name.as_bytes()));
        }
        if flags & KEYEVENT != 0 {
            let channel = channel(b"__keyevent@", db.as_bytes(), event.name.as_bytes());
            send(node, channel, Bytes::copy_from_slice(key));
        }
    }
}

fn channel(prefix: &[u8], db: &[u8], tail: &[u8]) -> Bytes {
    let mut channel = Vec::with_capacity(prefix.len() + db.len() + 3 + tail.len());
    channel.extend_from_slice(prefix);
    channel.extend_from_slice(db);
    channel.extend_from_slice(b"__:");
    channel.extend_from_slice(tail);
    Bytes::from(channel)
}

/// Delivers one notification here and sends it to the other nodes.
fn send(node: &Node, channel: Bytes, payload: Bytes) {
    node.pubsub.deliver(&channel, &payload);
    node.forward
        .streams
        .broadcast(node, &Message::Publish { channel, payload });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_and_write_as_redis_7_0() {
        for (given, shown) in [
            ("", ""),
            ("KEA", "AKE"),
            ("Kx", "xK"),
            ("E$lsh", "$lshE"),
            ("g$lshzxetdmn", "Am"),
            ("AKEm", "AKEm"),
            ("Kn", "nK"),
        ] {
            assert_eq!(render(parse(given).expect(given)), shown, "{given}");
        }
        assert_eq!(
            parse("Z"),
            Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string())
        );
        assert!(!Notifications::publishes(parse("A").expect("A")));
        assert!(!Notifications::publishes(parse("KE").expect("KE")));
        assert!(Notifications::publishes(parse("Kx").expect("Kx")));
    }
}
