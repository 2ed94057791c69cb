//! Memory as the allocator and the OS report it (`INFO memory`).
//!
//! `used_memory` is what jemalloc says is allocated, not an estimate. The binary installs
//! jemalloc as the global allocator; in a build without it (unit tests) the figures are 0.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The last figure read from the allocator, and the millisecond it was read in.
static LAST_USED: AtomicUsize = AtomicUsize::new(0);
static LAST_READ_MS: AtomicU64 = AtomicU64::new(0);
/// Bytes eviction freed since `LAST_USED` was read.
static FREED_SINCE_READ: AtomicUsize = AtomicUsize::new(0);

/// jemalloc's `stats.arenas.<all>.tcache_bytes` (arena 4096 is MALLCTL_ARENAS_ALL, the sum
/// over arenas), its name resolved once rather than parsed at every reading.
static TCACHE_BYTES: std::sync::LazyLock<Option<tikv_jemalloc_ctl::Mib<[usize; 4]>>> =
    std::sync::LazyLock::new(|| {
        use tikv_jemalloc_ctl::AsName;
        b"stats.arenas.4096.tcache_bytes\0".name().mib().ok()
    });

/// Bytes allocated by the process, as jemalloc accounts them, read now.
///
/// jemalloc counts as allocated the free blocks each thread keeps cached for reuse (its
/// tcache, up to a few hundred KB per thread, varying from one instant to the next); those
/// are subtracted, so the figure is what the program holds, as Redis's `used_memory` is.
pub fn used_memory() -> usize {
    use tikv_jemalloc_ctl::Access;
    // jemalloc's statistics are cached; advancing the epoch refreshes them.
    if tikv_jemalloc_ctl::epoch::advance().is_err() {
        return 0;
    }
    let allocated = tikv_jemalloc_ctl::stats::allocated::read().unwrap_or(0);
    let cached: usize = TCACHE_BYTES.map_or(0, |mib| mib.read().unwrap_or(0));
    let used = allocated.saturating_sub(cached);
    LAST_USED.store(used, Ordering::Relaxed);
    FREED_SINCE_READ.store(0, Ordering::Relaxed);
    used
}

/// Bytes allocated, read from the allocator at most once per millisecond (the request path
/// checks `maxmemory` before every command; one thread refreshes, the others use its figure),
/// less what eviction freed since that reading.
pub fn used_memory_recent(now_ms: u64) -> usize {
    let last = LAST_READ_MS.load(Ordering::Relaxed);
    if last != now_ms
        && LAST_READ_MS
            .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        return used_memory();
    }
    LAST_USED
        .load(Ordering::Relaxed)
        .saturating_sub(FREED_SINCE_READ.load(Ordering::Relaxed))
}

/// Counts bytes eviction just freed, until the next reading of the allocator.
pub fn note_freed(bytes: usize) {
    FREED_SINCE_READ.fetch_add(bytes, Ordering::Relaxed);
}

/// The bytes jemalloc really hands out for a request of `size` bytes: its size class (8,
/// then multiples of 16 up to 128, then four classes per doubling).
pub fn allocation_size(size: usize) -> usize {
    match size {
        0 => 0,
        1..=8 => 8,
        9..=128 => size.next_multiple_of(16),
        _ => {
            // Classes between 2^k and 2^(k+1) are 2^k / 4 apart.
            let group = 1usize << (usize::BITS - 1 - (size - 1).leading_zeros());
            size.next_multiple_of(group / 4)
        }
    }
}

/// jemalloc's own figures (`MEMORY STATS` allocator.*): allocated bytes (thread caches
/// included), bytes in active pages, resident bytes.
pub fn allocator_stats() -> (usize, usize, usize) {
    if tikv_jemalloc_ctl::epoch::advance().is_err() {
        return (0, 0, 0);
    }
    (
        tikv_jemalloc_ctl::stats::allocated::read().unwrap_or(0),
        tikv_jemalloc_ctl::stats::active::read().unwrap_or(0),
        tikv_jemalloc_ctl::stats::resident::read().unwrap_or(0),
    )
}

/// Bytes jemalloc gave back to the system lazily (`MADV_FREE`), which still count in the
/// resident set until the kernel takes them (`MEMORY STATS` allocator.muzzy).
pub fn allocator_muzzy() -> usize {
    use tikv_jemalloc_ctl::{Access, AsName};
    if tikv_jemalloc_ctl::epoch::advance().is_err() {
        return 0;
    }
    let pages: usize = b"stats.arenas.4096.pmuzzy\0".name().read().unwrap_or(0);
    let page: usize = b"arenas.page\0".name().read().unwrap_or(0);
    pages.saturating_mul(page)
}

/// jemalloc's own statistics report (`MEMORY MALLOC-STATS`).
pub fn allocator_report() -> String {
    let mut out = Vec::new();
    let options = tikv_jemalloc_ctl::stats_print::Options::default();
    if let Err(error) = tikv_jemalloc_ctl::stats_print::stats_print(&mut out, options) {
        return format!("jemalloc statistics unavailable: {error}");
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resident set size of the process, in bytes (from `/proc/self/statm`).
pub fn rss() -> usize {
    let page = 4096;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * page)
}

/// Physical memory of the machine, in bytes (from `/proc/meminfo`).
pub fn total_system_memory() -> usize {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<usize>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// A byte count as Redis's `bytesToHuman` prints it: `1.50M`, `512B`.
pub fn human(bytes: usize) -> String {
    let b = bytes as f64;
    let units = [
        ("K", 1024f64),
        ("M", 1024f64.powi(2)),
        ("G", 1024f64.powi(3)),
        ("T", 1024f64.powi(4)),
        ("P", 1024f64.powi(5)),
    ];
    if b < 1024.0 {
        return format!("{bytes}B");
    }
    let mut chosen = units[0];
    for unit in units {
        if b >= unit.1 {
            chosen = unit;
        }
    }
    format!("{:.2}{}", b / chosen.1, chosen.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_sizes_follow_jemalloc_classes() {
        let sizes: Vec<usize> = [1, 8, 9, 61, 62, 64, 65, 129, 160, 161, 257, 1000, 4097]
            .into_iter()
            .map(allocation_size)
            .collect();
        assert_eq!(
            sizes,
            [8, 8, 16, 64, 64, 64, 80, 160, 160, 192, 320, 1024, 5120]
        );
    }

    #[test]
    fn human_sizes_follow_redis() {
        assert_eq!(human(512), "512B");
        assert_eq!(human(1536), "1.50K");
        assert_eq!(human(3 * 1024 * 1024), "3.00M");
    }
}
