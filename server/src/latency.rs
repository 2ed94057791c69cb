//! The latency monitor (`LATENCY`): spikes above `latency-monitor-threshold` milliseconds,
//! per event (`command`, `fast-command`, `expire-cycle`), with a one-sample-per-second
//! history of the last 160 samples, as Redis keeps it.

use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

/// Samples kept per event.
const HISTORY: usize = 160;

/// One event's record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventHistory {
    /// (Unix seconds, milliseconds), oldest first; one per second (the highest).
    pub samples: VecDeque<(u64, u64)>,
    /// Highest latency ever recorded for the event.
    pub max: u64,
}

/// The latency monitor of a node.
pub struct LatencyMonitor {
    /// Record events of at least this many ms (0: off).
    pub threshold_ms: AtomicU64,
    events: Mutex<BTreeMap<&'static str, EventHistory>>,
}

impl LatencyMonitor {
    /// A monitor with the given threshold.
    pub fn new(threshold_ms: u64) -> LatencyMonitor {
        LatencyMonitor {
            threshold_ms: AtomicU64::new(threshold_ms),
            events: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records that `event` took `ms` if the monitor is on and it crosses the threshold.
    pub fn sample(&self, event: &'static str, ms: u64) {
        let threshold = self.threshold_ms.load(Ordering::Relaxed);
        if threshold == 0 || ms < threshold {
            return;
        }
        let now = crate::clock::now_ms() / 1000;
        let mut events = self.events.lock();
        let history = events.entry(event).or_default();
        history.max = history.max.max(ms);
        match history.samples.back_mut() {
            Some((time, latest)) if *time == now => *latest = (*latest).max(ms),
            _ => {
                history.samples.push_back((now, ms));
                if history.samples.len() > HISTORY {
                    history.samples.pop_front();
                }
            }
        }
    }

    /// Every event with samples: (name, history).
    pub fn all(&self) -> Vec<(&'static str, EventHistory)> {
        self.events
            .lock()
            .iter()
            .map(|(name, h)| (*name, h.clone()))
            .collect()
    }

    /// One event's history.
    pub fn history(&self, event: &str) -> Option<EventHistory> {
        self.events.lock().get(event).cloned()
    }

    /// Forgets the named events (all for an empty list); returns how many were forgotten.
    pub fn reset(&self, names: &[String]) -> usize {
        let mut events = self.events.lock();
        if names.is_empty() {
            let count = events.len();
            events.clear();
            return count;
        }
        names
            .iter()
            .filter(|name| events.remove(name.as_str()).is_some())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_above_the_threshold_are_kept_one_per_second() {
        let monitor = LatencyMonitor::new(10);
        monitor.sample("command", 5);
        assert!(monitor.all().is_empty());
        monitor.sample("command", 12);
        monitor.sample("command", 30);
        let history = monitor.history("command").expect("recorded");
        assert_eq!(history.max, 30);
        assert!(history.samples.len() <= 2);
        assert_eq!(history.samples.back().map(|s| s.1), Some(30));
        assert_eq!(monitor.reset(&["nope".into()]), 0);
        assert_eq!(monitor.reset(&[]), 1);
        LatencyMonitor::new(0).sample("command", 1_000);
    }
}
