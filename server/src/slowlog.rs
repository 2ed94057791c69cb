//! The slow log (`SLOWLOG`): commands that took longer than `slowlog-log-slower-than`.
//!
//! Only a slow command takes the log's lock; the check on the request path is one atomic
//! load of the threshold. Entries keep Redis's shape: id, Unix time, microseconds, the
//! arguments (at most 32, each cut at 128 bytes with Redis's "... (N more bytes)" notes), the
//! client's address and name.

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

/// Arguments kept per entry (the last says how many more there were).
const MAX_ARGS: usize = 32;
/// Bytes kept per argument.
const MAX_ARG_BYTES: usize = 128;

/// One slow command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowEntry {
    pub id: u64,
    /// Unix seconds when it finished.
    pub time: u64,
    pub micros: u64,
    pub args: Vec<Vec<u8>>,
    pub client_addr: String,
    pub client_name: String,
}

/// The slow log of a node.
pub struct SlowLog {
    /// Log commands slower than this many µs (negative: never; 0: every command).
    pub threshold_us: AtomicI64,
    pub max_len: AtomicUsize,
    next_id: AtomicU64,
    entries: Mutex<VecDeque<SlowEntry>>,
}

impl SlowLog {
    /// An empty log with Redis's defaults (10 ms, 128 entries).
    pub fn new(threshold_us: i64, max_len: usize) -> SlowLog {
        SlowLog {
            threshold_us: AtomicI64::new(threshold_us),
            max_len: AtomicUsize::new(max_len),
            next_id: AtomicU64::new(0),
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// Whether a command that took `micros` belongs in the log.
    pub fn is_slow(&self, micros: u64) -> bool {
        let threshold = self.threshold_us.load(Ordering::Relaxed);
        threshold >= 0 && micros >= threshold as u64
    }

    /// Adds a slow command (newest first), dropping the oldest past `slowlog-max-len`.
    pub fn push(&self, args: &[&[u8]], micros: u64, client_addr: String, client_name: String) {
        let mut kept: Vec<Vec<u8>> = Vec::with_capacity(args.len().min(MAX_ARGS));
        for (index, arg) in args.iter().enumerate() {
            if index == MAX_ARGS - 1 && args.len() > MAX_ARGS {
                let more = args.len() - index;
                kept.push(format!("... ({more} more arguments)").into_bytes());
                break;
            }
            if arg.len() > MAX_ARG_BYTES {
                let mut cut = arg[..MAX_ARG_BYTES].to_vec();
                cut.extend(format!("... ({} more bytes)", arg.len() - MAX_ARG_BYTES).bytes());
                kept.push(cut);
            } else {
                kept.push(arg.to_vec());
            }
        }
        let entry = SlowEntry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            time: crate::clock::now_ms() / 1000,
            micros,
            args: kept,
            client_addr,
            client_name,
        };
        let max_len = self.max_len.load(Ordering::Relaxed);
        let mut entries = self.entries.lock();
        entries.push_front(entry);
        entries.truncate(max_len);
    }

    /// The newest `count` entries (all of them for `None`).
    pub fn latest(&self, count: Option<usize>) -> Vec<SlowEntry> {
        let entries = self.entries.lock();
        entries
            .iter()
            .take(count.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties the log.
    pub fn reset(&self) {
        self.entries.lock().clear();
    }

    /// Applies a new `slowlog-max-len` to the entries already there.
    pub fn set_max_len(&self, max_len: usize) {
        self.max_len.store(max_len, Ordering::Relaxed);
        self.entries.lock().truncate(max_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_commands_are_cut_as_redis_does() {
        let log = SlowLog::new(0, 10);
        let big = vec![b'x'; 200];
        let many: Vec<&[u8]> = std::iter::repeat_n(&big[..10], 40).collect();
        log.push(&[b"set", &big], 5, "1.2.3.4:5".into(), String::new());
        log.push(&many, 7, "1.2.3.4:5".into(), "name".into());
        let entries = log.latest(None);
        assert_eq!(entries[0].args.len(), 32);
        assert_eq!(entries[0].args[31], b"... (9 more arguments)");
        let cut = &entries[1].args[1];
        assert_eq!(&cut[..128], &big[..128]);
        assert_eq!(&cut[128..], b"... (72 more bytes)");
        assert_eq!(entries[0].id, 1);
    }

    #[test]
    fn the_log_keeps_the_newest_max_len_entries() {
        let log = SlowLog::new(0, 3);
        for i in 0..5u64 {
            log.push(&[b"x"], i, String::new(), String::new());
        }
        let micros: Vec<u64> = log.latest(None).iter().map(|e| e.micros).collect();
        assert_eq!(micros, vec![4, 3, 2]);
        log.set_max_len(1);
        assert_eq!(log.len(), 1);
        assert!(!SlowLog::new(-1, 3).is_slow(u64::MAX));
    }
}
