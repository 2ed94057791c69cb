//! `client-output-buffer-limit`: how much output may wait for a client before it is
//! disconnected, per class of client, with Redis's syntax and defaults.
//!
//! `<class> <hard> <soft> <soft-seconds>`, several classes in one value: a client whose
//! pending output reaches `hard` bytes is disconnected at once; one that stays at or above
//! `soft` bytes for `soft-seconds` is disconnected then (0 turns a limit off). Classes:
//! `normal` (default `0 0 0`: no limit), `pubsub` (default `32mb 8mb 60`: a subscriber is a
//! client with at least one subscription), and `replica` (`slave`; default `256mb 64mb 60`),
//! which Shoal accepts and shows but has no client of (its replication is not made of Redis
//! replica connections).
//!
//! What counts as pending: a subscriber's undelivered messages plus the replies its connection
//! has not managed to write; for a normal client, the replies of its current batch not yet
//! written.

use std::sync::atomic::{AtomicU64, Ordering};

/// A class of clients with its own limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientClass {
    Normal = 0,
    PubSub = 1,
}

impl ClientClass {
    /// The class's name in the directive and in metrics.
    pub fn name(self) -> &'static str {
        match self {
            ClientClass::Normal => "normal",
            ClientClass::PubSub => "pubsub",
        }
    }
}

/// One class's limits: hard and soft bytes, soft seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

/// The limits of every class, as the directive gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitSettings {
    pub normal: Limit,
    pub replica: Limit,
    pub pubsub: Limit,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            normal: Limit {
                hard: 0,
                soft: 0,
                soft_seconds: 0,
            },
            replica: Limit {
                hard: 256 << 20,
                soft: 64 << 20,
                soft_seconds: 60,
            },
            pubsub: Limit {
                hard: 32 << 20,
                soft: 8 << 20,
                soft_seconds: 60,
            },
        }
    }
}

impl LimitSettings {
    /// Applies a directive value (`pubsub 32mb 8mb 60 normal 0 0 0`...): classes not named
    /// keep their limits. Errors are Redis's texts.
    pub fn apply(&mut self, value: &str) -> Result<(), String> {
        let words: Vec<&str> = value.split_whitespace().collect();
        if words.is_empty() || !words.len().is_multiple_of(4) {
            return Err("Wrong number of arguments in buffer limit configuration.".into());
        }
        let mut next = *self;
        for group in words.chunks_exact(4) {
            let limit = match (
                crate::config::parse_memory(group[1]).ok_or(()),
                crate::config::parse_memory(group[2]).ok_or(()),
                group[3].parse::<u64>(),
            ) {
                (Ok(hard), Ok(soft), Ok(soft_seconds)) => Limit {
                    hard,
                    soft,
                    soft_seconds,
                },
                _ => {
                    return Err(
                        "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                            .into(),
                    );
                }
            };
            match group[0].to_ascii_lowercase().as_str() {
                "normal" => next.normal = limit,
                "replica" | "slave" => next.replica = limit,
                "pubsub" => next.pubsub = limit,
                _ => {
                    return Err(
                        "Invalid client class specified in buffer limit configuration.".into(),
                    );
                }
            }
        }
        *self = next;
        Ok(())
    }

    /// The directive's value as `CONFIG GET` shows it (bytes, Redis's class order and names).
    pub fn render(&self) -> String {
        let one = |name: &str, l: Limit| format!("{name} {} {} {}", l.hard, l.soft, l.soft_seconds);
        format!(
            "{} {} {}",
            one("normal", self.normal),
            one("slave", self.replica),
            one("pubsub", self.pubsub)
        )
    }
}

/// The limits in force, readable without a lock.
#[derive(Default)]
pub struct OutputLimits {
    /// Per [`ClientClass`]: hard, soft, soft seconds.
    values: [[AtomicU64; 3]; 2],
}

impl OutputLimits {
    /// Takes new settings.
    pub fn set(&self, settings: &LimitSettings) {
        for (class, limit) in [
            (ClientClass::Normal, settings.normal),
            (ClientClass::PubSub, settings.pubsub),
        ] {
            let values = &self.values[class as usize];
            values[0].store(limit.hard, Ordering::Relaxed);
            values[1].store(limit.soft, Ordering::Relaxed);
            values[2].store(limit.soft_seconds, Ordering::Relaxed);
        }
    }

    /// Whether any limit is set for `class`.
    #[inline]
    pub fn any(&self, class: ClientClass) -> bool {
        let values = &self.values[class as usize];
        values[0].load(Ordering::Relaxed) != 0 || values[1].load(Ordering::Relaxed) != 0
    }

    /// Whether a client of `class` with `pending` bytes of output must be disconnected now
    /// (unix ms `now`). `soft_since` keeps when it went over the soft limit (0: it is under).
    pub fn exceeded(
        &self,
        class: ClientClass,
        pending: usize,
        soft_since: &AtomicU64,
        now: u64,
    ) -> bool {
        let values = &self.values[class as usize];
        let (hard, soft, seconds) = (
            values[0].load(Ordering::Relaxed),
            values[1].load(Ordering::Relaxed),
            values[2].load(Ordering::Relaxed),
        );
        let pending = pending as u64;
        if hard != 0 && pending >= hard {
            return true;
        }
        if soft == 0 || pending < soft {
            soft_since.store(0, Ordering::Relaxed);
            return false;
        }
        let since = soft_since.load(Ordering::Relaxed);
        if since == 0 {
            soft_since.store(now.max(1), Ordering::Relaxed);
            return false;
        }
        now.saturating_sub(since) >= seconds * 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directive_parses_and_renders_as_redis_does() {
        let mut settings = LimitSettings::default();
        assert_eq!(
            settings.render(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        settings.apply("pubsub 1mb 512kb 10").expect("valid");
        assert_eq!(
            settings.render(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 10"
        );
        settings
            .apply("normal 10 5 1 replica 1 1 1")
            .expect("valid");
        assert_eq!(settings.normal.hard, 10);
        assert_eq!(settings.replica.soft_seconds, 1);
        for (bad, why) in [
            ("pubsub 1mb", "Wrong number"),
            ("bogus 1 1 1", "Invalid client class"),
            ("pubsub x 1 1", "Error in hard"),
            ("", "Wrong number"),
        ] {
            let before = settings;
            let error = settings.apply(bad).expect_err(bad);
            assert!(error.starts_with(why), "{bad}: {error}");
            assert_eq!(settings, before, "a refused value changes nothing");
        }
    }

    #[test]
    fn hard_limits_cut_at_once_and_soft_ones_after_their_seconds() {
        let limits = OutputLimits::default();
        let mut settings = LimitSettings::default();
        settings.apply("pubsub 1000 100 2").expect("valid");
        limits.set(&settings);
        let since = AtomicU64::new(0);
        assert!(!limits.exceeded(ClientClass::PubSub, 50, &since, 10_000));
        assert!(limits.exceeded(ClientClass::PubSub, 1000, &since, 10_000));
        assert!(!limits.exceeded(ClientClass::PubSub, 200, &since, 10_000));
        assert!(!limits.exceeded(ClientClass::PubSub, 200, &since, 11_999));
        assert!(limits.exceeded(ClientClass::PubSub, 200, &since, 12_000));
        // Dropping under the soft limit starts the count over.
        assert!(!limits.exceeded(ClientClass::PubSub, 10, &since, 12_001));
        assert!(!limits.exceeded(ClientClass::PubSub, 200, &since, 13_000));
        assert!(!limits.any(ClientClass::Normal));
        assert!(!limits.exceeded(ClientClass::Normal, usize::MAX, &since, 0));
    }
}
