//! The directive table: every setting's name, how it is read and written, and whether
//! `CONFIG SET` may change it, plus the value parsers the table shares (integers in a range,
//! memory sizes). The cluster's directives live in `crate::cluster` with the same shape.

use super::{Config, LogFormat, LogLevel};
use crate::store::evict::Policy;

type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &str) -> Result<(), String>;

/// One directive: its name, how to read and write it, and whether `CONFIG SET` may change it.
pub(crate) struct Directive {
    pub(crate) name: &'static str,
    pub(crate) get: Getter,
    pub(crate) set: Setter,
    pub(crate) mutable: bool,
}

pub(crate) fn int_in<T>(text: &str, min: i64, max: i64) -> Result<T, String>
where
    T: TryFrom<i64>,
{
    let value = crate::number::parse_int(text.as_bytes())
        .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
    if value < min || value > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    T::try_from(value).map_err(|_| "argument couldn't be parsed into an integer".to_string())
}

/// A memory size as redis.conf writes it: `1024`, `1k` (1000), `1kb` (1024), `mb`, `gb`.
pub fn parse_memory(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let units: [(&str, u64); 7] = [
        ("kb", 1024),
        ("mb", 1024 * 1024),
        ("gb", 1024 * 1024 * 1024),
        ("k", 1000),
        ("m", 1000 * 1000),
        ("g", 1000 * 1000 * 1000),
        ("b", 1),
    ];
    let (digits, unit) = units
        .iter()
        .find_map(|(suffix, mult)| lower.strip_suffix(suffix).map(|d| (d, *mult)))
        .unwrap_or((lower.as_str(), 1));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

fn memory_at_least(text: &str, min: u64) -> Result<usize, String> {
    let value = parse_memory(text).ok_or_else(|| "argument must be a memory value".to_string())?;
    if value < min {
        return Err(format!(
            "argument must be between {min} and {} inclusive",
            i64::MAX
        ));
    }
    usize::try_from(value).map_err(|_| "argument must be a memory value".to_string())
}

const MB: u64 = 1024 * 1024;

const DIRECTIVES: &[Directive] = &[
    Directive {
        name: "port",
        get: |c| c.port.to_string(),
        set: |c, v| {
            c.port = int_in(v, 0, 65535)?;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "bind",
        get: |c| c.bind.join(" "),
        set: |c, v| {
            let addrs: Vec<String> = v.split_whitespace().map(str::to_string).collect();
            if addrs.is_empty() {
                return Err("wrong number of arguments".into());
            }
            c.bind = addrs;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "maxclients",
        get: |c| c.maxclients.to_string(),
        set: |c, v| {
            c.maxclients = int_in(v, 1, i64::from(u32::MAX))?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "max-new-connections-per-cycle",
        get: |c| c.max_new_connections_per_cycle.to_string(),
        set: |c, v| {
            c.max_new_connections_per_cycle = int_in(v, 1, 1000)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "timeout",
        get: |c| c.timeout.to_string(),
        set: |c, v| {
            c.timeout = int_in(v, 0, i64::from(i32::MAX))?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "loglevel",
        get: |c| c.loglevel.name().to_string(),
        set: |c, v| {
            c.loglevel = LogLevel::parse(v).ok_or_else(|| {
                "argument(s) must be one of the following: debug, verbose, notice, warning"
                    .to_string()
            })?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "databases",
        get: |c| c.databases.to_string(),
        set: |c, v| {
            c.databases = int_in(v, 1, i64::from(i32::MAX))?;
            Ok(())
        },
        mutable: false,
    },
    // As in Redis, any non-negative value is accepted and clamped to 1..=500.
    Directive {
        name: "hz",
        get: |c| c.hz.to_string(),
        set: |c, v| {
            c.hz = int_in::<i64>(v, 0, i64::from(i32::MAX))?.clamp(1, 500) as u32;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "proto-max-bulk-len",
        get: |c| c.proto_max_bulk_len.to_string(),
        set: |c, v| {
            c.proto_max_bulk_len = memory_at_least(v, MB)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "client-query-buffer-limit",
        get: |c| c.client_query_buffer_limit.to_string(),
        set: |c, v| {
            c.client_query_buffer_limit = memory_at_least(v, MB)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "tcp-keepalive",
        get: |c| c.tcp_keepalive.to_string(),
        set: |c, v| {
            c.tcp_keepalive = int_in(v, 0, i64::from(i32::MAX))?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "workers",
        get: |c| c.workers.to_string(),
        set: |c, v| {
            c.workers = int_in(v, 0, 1024)?;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "slowlog-log-slower-than",
        get: |c| c.slowlog_log_slower_than.to_string(),
        set: |c, v| {
            c.slowlog_log_slower_than = int_in(v, -1, i64::MAX)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "slowlog-max-len",
        get: |c| c.slowlog_max_len.to_string(),
        set: |c, v| {
            c.slowlog_max_len = int_in(v, 0, i64::MAX)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "latency-monitor-threshold",
        get: |c| c.latency_monitor_threshold.to_string(),
        set: |c, v| {
            c.latency_monitor_threshold = int_in(v, 0, i64::MAX)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "maxmemory",
        get: |c| c.maxmemory.to_string(),
        set: |c, v| {
            c.maxmemory = memory_at_least(v, 0)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "maxmemory-policy",
        get: |c| c.maxmemory_policy.name().to_string(),
        set: |c, v| {
            c.maxmemory_policy = Policy::parse(v).ok_or_else(|| {
                let names: Vec<&str> = Policy::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "argument(s) must be one of the following: {}",
                    names.join(", ")
                )
            })?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "maxmemory-samples",
        get: |c| c.maxmemory_samples.to_string(),
        set: |c, v| {
            c.maxmemory_samples = int_in(v, 1, 64)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "lfu-log-factor",
        get: |c| c.lfu_log_factor.to_string(),
        set: |c, v| {
            c.lfu_log_factor = int_in(v, 0, i64::from(i32::MAX))?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "lfu-decay-time",
        get: |c| c.lfu_decay_time.to_string(),
        set: |c, v| {
            c.lfu_decay_time = int_in(v, 0, i64::from(i32::MAX))?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "notify-keyspace-events",
        get: |c| crate::notify::render(c.notify_keyspace_events),
        set: |c, v| {
            c.notify_keyspace_events = crate::notify::parse(v)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "tracking-table-max-keys",
        get: |c| c.tracking_table_max_keys.to_string(),
        set: |c, v| {
            c.tracking_table_max_keys = int_in(v, 0, i64::MAX)?;
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "client-output-buffer-limit",
        get: |c| c.client_output_buffer_limit.render(),
        set: |c, v| c.client_output_buffer_limit.apply(v),
        mutable: true,
    },
    Directive {
        name: "metrics-port",
        get: |c| c.metrics_port.to_string(),
        set: |c, v| {
            c.metrics_port = int_in(v, 0, 65535)?;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "log-format",
        get: |c| match c.log_format {
            LogFormat::Text => "text".into(),
            LogFormat::Json => "json".into(),
        },
        set: |c, v| {
            c.log_format = match v.to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err("argument(s) must be one of the following: text, json".into()),
            };
            Ok(())
        },
        mutable: false,
    },
    // Shoal keeps no data on disk. These two report that truthfully (redis-benchmark and
    // other tools ask for them) and accept only the values that mean "no persistence".
    Directive {
        name: "save",
        get: |_| String::new(),
        set: |_, v| match v.trim() {
            "" => Ok(()),
            _ => Err("Shoal does not persist data; only an empty save policy is accepted".into()),
        },
        mutable: true,
    },
    Directive {
        name: "appendonly",
        get: |_| "no".into(),
        set: |_, v| match v {
            v if v.eq_ignore_ascii_case("no") => Ok(()),
            v if v.eq_ignore_ascii_case("yes") => {
                Err("Shoal does not persist data; appendonly must be 'no'".into())
            }
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        mutable: true,
    },
];

/// Every directive: this table, then the cluster's.
pub(super) fn all_directives() -> impl Iterator<Item = &'static Directive> {
    DIRECTIVES.iter().chain(crate::cluster::DIRECTIVES)
}

/// The directive named `name` (any case).
pub(super) fn directive(name: &str) -> Option<&'static Directive> {
    all_directives().find(|d| d.name.eq_ignore_ascii_case(name))
}

/// Every directive with its default value, one `--name default` per line, for `--help`.
pub fn directives_help() -> String {
    let defaults = Config::default();
    all_directives()
        .map(|d| {
            let value = (d.get)(&defaults);
            let shown = if value.is_empty() { "\"\"" } else { &value };
            let runtime = if d.mutable { "  (CONFIG SET)" } else { "" };
            format!("  --{} {shown}{runtime}", d.name)
        })
        .collect::<Vec<_>>()
        .join("\n")
}
