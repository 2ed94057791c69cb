//! Memory as the allocator and the OS report it (`INFO memory`).
//!
//! `used_memory` is what jemalloc says is allocated, not an estimate. The binary installs
//! jemalloc as the global allocator; in a build without it (unit tests) the figures are 0.

/// Bytes allocated by the process, as jemalloc accounts them.
pub fn used_memory() -> usize {
    // jemalloc's statistics are cached; advancing the epoch refreshes them.
    if tikv_jemalloc_ctl::epoch::advance().is_err() {
        return 0;
    }
    tikv_jemalloc_ctl::stats::allocated::read().unwrap_or(0)
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
    fn human_sizes_follow_redis() {
        assert_eq!(human(512), "512B");
        assert_eq!(human(1536), "1.50K");
        assert_eq!(human(3 * 1024 * 1024), "3.00M");
    }
}
