//! Configuration: defaults, a redis.conf-style file, command-line flags, `CONFIG GET/SET`.
//!
//! Every setting is a directive with one name used everywhere: `port 7000` in the file,
//! `SHOAL_PORT=7000` in the environment (see [`env_var_directive`]), `--port 7000` on the
//! command line, `CONFIG SET port ...` at runtime. Flags override the environment, which
//! overrides the file, which overrides the defaults. Unknown directives are refused (with the
//! line number for the file), as are values that do not parse, with Redis's error texts; an
//! environment variable that names no directive is only reported back, so that other
//! `SHOAL_*` variables (`SHOAL_BIN` for the tests) cannot stop a node.

use crate::glob::Pattern;
use crate::store::evict::Policy;
use std::fmt;
use std::path::PathBuf;

mod directives;

pub(crate) use directives::{Directive, int_in};
use directives::{all_directives, directive};
pub use directives::{directives_help, parse_memory};

/// Log verbosity, with Redis's level names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

impl LogLevel {
    /// The Redis name of the level.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Verbose => "verbose",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
        }
    }

    fn parse(text: &str) -> Option<LogLevel> {
        [
            LogLevel::Debug,
            LogLevel::Verbose,
            LogLevel::Notice,
            LogLevel::Warning,
        ]
        .into_iter()
        .find(|level| level.name().eq_ignore_ascii_case(text))
    }
}

/// Default port of the Prometheus endpoint.
pub const DEFAULT_METRICS_PORT: u16 = 9379;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// All settings of one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// TCP port for clients.
    pub port: u16,
    /// Addresses to listen on.
    pub bind: Vec<String>,
    /// Most simultaneous client connections.
    pub maxclients: usize,
    /// `max-new-connections-per-cycle` (Redis 7.4): connections accepted in a row before the
    /// accepting task lets others run.
    pub max_new_connections_per_cycle: usize,
    /// Close clients idle for this many seconds (0: never).
    pub timeout: u64,
    pub loglevel: LogLevel,
    /// Number of databases (`SELECT 0..databases-1`).
    pub databases: usize,
    /// Background task frequency (active expiry ticks per second), clamped to 1..=500.
    pub hz: u32,
    /// Longest bulk string a client may send, in bytes.
    pub proto_max_bulk_len: usize,
    /// Largest query buffer a client may accumulate, in bytes.
    pub client_query_buffer_limit: usize,
    /// TCP keepalive interval for client sockets, in seconds (0: off).
    pub tcp_keepalive: u64,
    /// Threads serving clients (0: half the cores, at least one).
    pub workers: usize,
    /// Log commands slower than this many µs in the slow log (negative: never).
    pub slowlog_log_slower_than: i64,
    /// Entries the slow log keeps.
    pub slowlog_max_len: usize,
    /// Record latency spikes of at least this many ms (0: off).
    pub latency_monitor_threshold: u64,
    /// TCP port of the Prometheus endpoint `/metrics` (0: disabled).
    pub metrics_port: u16,
    /// Log line format.
    pub log_format: LogFormat,
    /// Most bytes the node may allocate before it evicts or refuses writes (0: no limit).
    pub maxmemory: usize,
    /// Which keys go when memory is full.
    pub maxmemory_policy: Policy,
    /// Keys sampled per eviction round.
    pub maxmemory_samples: u32,
    /// How slowly LFU counters grow (Redis's `lfu-log-factor`).
    pub lfu_log_factor: u32,
    /// Minutes for an LFU counter to lose one (0: never decays).
    pub lfu_decay_time: u32,
    /// `notify-keyspace-events`: the classes of keyspace notifications published, and on
    /// which channels (see `notify`).
    pub notify_keyspace_events: u16,
    /// `tracking-table-max-keys`: most keys the tracking table remembers (0: no limit).
    pub tracking_table_max_keys: u64,
    /// `client-output-buffer-limit`, per class of client (see `pubsub::limits`).
    pub client_output_buffer_limit: crate::pubsub::limits::LimitSettings,
    /// The file these settings were read from, if any.
    pub config_file: Option<PathBuf>,
    /// Membership and ring settings (`join`, `cluster-*`; see `cluster.rs`).
    pub cluster: crate::cluster::ClusterSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".into()],
            maxclients: 10_000,
            max_new_connections_per_cycle: 10,
            timeout: 0,
            loglevel: LogLevel::Notice,
            databases: 16,
            hz: 10,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            tcp_keepalive: 300,
            workers: 0,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            metrics_port: DEFAULT_METRICS_PORT,
            log_format: LogFormat::Text,
            maxmemory: 0,
            maxmemory_policy: Policy::NoEviction,
            maxmemory_samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            notify_keyspace_events: 0,
            tracking_table_max_keys: crate::tracking::DEFAULT_MAX_KEYS,
            client_output_buffer_limit: Default::default(),
            config_file: None,
            cluster: crate::cluster::ClusterSettings::default(),
        }
    }
}

/// Why a setting was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// No directive has this name.
    Unknown(String),
    /// A Redis directive for a feature Shoal does not have yet; the text says which.
    NotSupported { name: String, reason: &'static str },
    /// The value does not fit the directive; the text is Redis's reason.
    Invalid { name: &'static str, reason: String },
    /// The directive cannot change while the node runs.
    Immutable(&'static str),
    /// A config file line is wrong.
    File {
        path: String,
        line: usize,
        text: String,
        reason: String,
    },
    /// Reading the file failed, or a command-line argument is malformed.
    Other(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Unknown(name) => write!(f, "unknown directive '{name}'"),
            ConfigError::NotSupported { name, reason } => write!(f, "'{name}': {reason}"),
            ConfigError::Invalid { name, reason } => write!(f, "'{name}': {reason}"),
            ConfigError::Immutable(name) => write!(f, "'{name}' can't be changed at runtime"),
            ConfigError::File {
                path,
                line,
                text,
                reason,
            } => write!(
                f,
                "*** FATAL CONFIG FILE ERROR ***\nReading the configuration file {path}, at line {line}\n>>> '{text}'\n{reason}"
            ),
            ConfigError::Other(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Sets one directive by name (file, flags and `CONFIG SET` all come here).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let d = directive(name).ok_or_else(|| unknown(name))?;
        (d.set)(self, value).map_err(|reason| ConfigError::Invalid {
            name: d.name,
            reason,
        })
    }

    /// Sets one directive at runtime: immutable ones are refused.
    pub fn set_at_runtime(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let d = directive(name).ok_or_else(|| unknown(name))?;
        if !d.mutable {
            return Err(ConfigError::Immutable(d.name));
        }
        self.set(name, value)
    }

    /// The canonical name of a directive, if it exists.
    pub fn canonical_name(name: &str) -> Option<&'static str> {
        directive(name).map(|d| d.name)
    }

    /// Every (name, value) pair whose name matches one of `patterns` (case-insensitive glob),
    /// each once, in table order.
    pub fn matching(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        let patterns: Vec<Pattern> = patterns.iter().map(|p| Pattern::new(p, true)).collect();
        all_directives()
            .filter(|d| patterns.iter().any(|p| p.matches(d.name.as_bytes())))
            .map(|d| (d.name, (d.get)(self)))
            .collect()
    }

    /// Applies a redis.conf-style text: one `directive value...` per line, `#` comments.
    pub fn apply_file_text(&mut self, path: &str, text: &str) -> Result<(), ConfigError> {
        for (index, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let file_error = |reason: String| ConfigError::File {
                path: path.to_string(),
                line: index + 1,
                text: trimmed.to_string(),
                reason,
            };
            let words = split_words(trimmed)
                .ok_or_else(|| file_error("Unbalanced quotes in configuration line".into()))?;
            let Some((name, values)) = words.split_first() else {
                continue;
            };
            if values.is_empty() && name != "save" {
                return Err(file_error(
                    "Bad directive or wrong number of arguments".into(),
                ));
            }
            match self.set(name, &values.join(" ")) {
                Ok(()) => {}
                Err(ConfigError::Unknown(_)) => {
                    return Err(file_error(
                        "Bad directive or wrong number of arguments".into(),
                    ));
                }
                Err(ConfigError::Invalid { reason, .. }) => return Err(file_error(reason)),
                Err(ConfigError::NotSupported { reason, .. }) => {
                    return Err(file_error(reason.to_string()));
                }
                Err(other) => return Err(file_error(other.to_string())),
            }
        }
        Ok(())
    }

    /// Builds the configuration from command-line arguments (without the program name):
    /// `--config path` reads a file first; every other `--name value...` sets a directive.
    /// The environment is not read (see [`Config::from_args_and_env`]).
    pub fn from_args(args: &[String]) -> Result<Config, ConfigError> {
        Config::from_args_and_env(args, &[]).map(|(config, _)| config)
    }

    /// Builds the configuration from command-line arguments and `SHOAL_*` environment
    /// variables (`env`, as [`shoal_environment`] reads them): the config file named by
    /// `--config` or else by `SHOAL_CONFIG`, then every variable that names a directive (in
    /// name order), then the flags. Returns the configuration and the variables that name no
    /// directive, which were ignored (the caller warns about them).
    pub fn from_args_and_env(
        args: &[String],
        env: &[(String, String)],
    ) -> Result<(Config, Vec<String>), ConfigError> {
        let mut config = Config::default();
        let mut flags: Vec<(String, Vec<String>)> = Vec::new();
        let mut iter = args.iter().peekable();
        while let Some(arg) = iter.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(ConfigError::Other(format!(
                    "unexpected argument '{arg}' (settings are given as --name value)"
                )));
            };
            let mut values = Vec::new();
            while let Some(value) = iter.next_if(|a| !a.starts_with("--")) {
                values.push(value.clone());
            }
            flags.push((name.to_string(), values));
        }
        let path = match flags.iter().find(|(name, _)| name == "config") {
            Some((_, values)) => match values.as_slice() {
                [path] => Some(path.clone()),
                _ => return Err(ConfigError::Other("--config takes one path".into())),
            },
            None => env
                .iter()
                .find(|(var, _)| var == ENV_CONFIG)
                .map(|(_, path)| path.trim().to_string())
                .filter(|path| !path.is_empty()),
        };
        if let Some(path) = path {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError::Other(format!("can't read config file {path}: {e}")))?;
            config.apply_file_text(&path, &text)?;
            config.config_file =
                Some(std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone().into()));
        }
        let mut ignored = Vec::new();
        let mut vars: Vec<&(String, String)> = env.iter().collect();
        vars.sort();
        for (var, value) in vars {
            if var == ENV_CONFIG {
                continue;
            }
            let Some(name) = env_var_directive(var) else {
                ignored.push(var.clone());
                continue;
            };
            match config.set(&name, value.trim()) {
                Ok(()) => {}
                Err(ConfigError::Unknown(_)) => ignored.push(var.clone()),
                Err(error) => {
                    return Err(ConfigError::Other(format!(
                        "environment variable {var}: {error}"
                    )));
                }
            }
        }
        for (name, values) in flags.iter().filter(|(name, _)| name != "config") {
            if values.is_empty() && name != "save" {
                return Err(ConfigError::Other(format!("--{name} needs a value")));
            }
            config.set(name, &values.join(" "))?;
        }
        Ok((config, ignored))
    }
}

/// Prefix of the environment variables that set directives.
pub const ENV_PREFIX: &str = "SHOAL_";

/// The environment variable that names a config file when `--config` is not given.
pub const ENV_CONFIG: &str = "SHOAL_CONFIG";

/// The directive an environment variable sets: `SHOAL_` followed by the directive's name in
/// capitals with underscores for dashes (`SHOAL_CLUSTER_NODE_TIMEOUT` sets
/// `cluster-node-timeout`). `None` when the variable does not have that shape; whether the
/// directive exists is up to [`Config::set`].
pub fn env_var_directive(var: &str) -> Option<String> {
    let rest = var.strip_prefix(ENV_PREFIX)?;
    let valid = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    valid.then(|| rest.to_ascii_lowercase().replace('_', "-"))
}

/// The environment variable that sets a directive (`cluster-secret` → `SHOAL_CLUSTER_SECRET`).
pub fn directive_env_var(name: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

/// This process's `SHOAL_*` environment variables, for [`Config::from_args_and_env`]. A
/// variable whose name or value is not UTF-8 is an error when its name starts with `SHOAL_`
/// (a value cannot be guessed), and is skipped otherwise.
pub fn shoal_environment() -> Result<Vec<(String, String)>, ConfigError> {
    let mut vars = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str() else {
            if name.to_string_lossy().starts_with(ENV_PREFIX) {
                return Err(ConfigError::Other(format!(
                    "environment variable {}: the name is not UTF-8",
                    name.to_string_lossy()
                )));
            }
            continue;
        };
        if !name.starts_with(ENV_PREFIX) {
            continue;
        }
        let value = value.into_string().map_err(|_| {
            ConfigError::Other(format!(
                "environment variable {name}: the value is not UTF-8"
            ))
        })?;
        vars.push((name.to_string(), value));
    }
    Ok(vars)
}

/// Redis directives of features Shoal does not have yet, and what to say about each: refused
/// with that text rather than as an unknown directive.
const NOT_SUPPORTED: &[(&str, &str)] = &[
    ("requirepass", AUTH_NOT_YET),
    ("masterauth", AUTH_NOT_YET),
    ("masteruser", AUTH_NOT_YET),
    ("aclfile", AUTH_NOT_YET),
    ("user", AUTH_NOT_YET),
    (
        "tls-port",
        "TLS is not supported yet: put Shoal on a private network or behind a TLS proxy",
    ),
    ("replicaof", REPLICAOF),
    ("slaveof", REPLICAOF),
];
const AUTH_NOT_YET: &str = "authentication (requirepass, AUTH, ACL) is not supported yet: bind \
     Shoal to loopback or a private network";
const REPLICAOF: &str = "Shoal keeps replicas within its cluster (cluster-replication-factor); \
     replicaof is not supported";

/// The error for a directive that does not exist: [`ConfigError::NotSupported`] for the
/// Redis directives in [`NOT_SUPPORTED`], [`ConfigError::Unknown`] for the rest.
pub fn unknown(name: &str) -> ConfigError {
    match NOT_SUPPORTED
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
    {
        Some(&(known, reason)) => ConfigError::NotSupported {
            name: known.to_string(),
            reason,
        },
        None => ConfigError::Unknown(name.to_string()),
    }
}

/// Splits a config line into words, honouring double and single quotes.
fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' if first == '"' => match chars.next()? {
                        'n' => word.push('\n'),
                        't' => word.push('\t'),
                        'r' => word.push('\r'),
                        other => word.push(other),
                    },
                    c if c == first => break,
                    c => word.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn defaults_start_a_local_node() {
        let c = Config::from_args(&[]).expect("defaults");
        assert_eq!(c.port, 6379);
        assert_eq!(c.bind, vec!["127.0.0.1"]);
        assert_eq!(c.databases, 16);
    }

    #[test]
    fn flags_set_directives_by_their_file_names() {
        let c = Config::from_args(&args("--port 7000 --bind 127.0.0.1 ::1 --maxclients 5"))
            .expect("valid");
        assert_eq!(c.port, 7000);
        assert_eq!(c.bind, vec!["127.0.0.1", "::1"]);
        assert_eq!(c.maxclients, 5);
        assert!(Config::from_args(&args("--nosuch 1")).is_err());
        assert!(Config::from_args(&args("--port")).is_err());
        assert!(Config::from_args(&args("--port 70000")).is_err());
    }

    #[test]
    fn file_errors_name_the_line() {
        let mut c = Config::default();
        let err = c
            .apply_file_text("x.conf", "# comment\nport 7000\n\nbogus 1\n")
            .expect_err("unknown directive");
        match err {
            ConfigError::File { line, text, .. } => {
                assert_eq!(line, 4);
                assert_eq!(text, "bogus 1");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(c.port, 7000);
        assert!(c.apply_file_text("x.conf", "timeout abc").is_err());
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_variables_name_directives() {
        assert_eq!(env_var_directive("SHOAL_PORT").as_deref(), Some("port"));
        assert_eq!(
            env_var_directive("SHOAL_CLUSTER_NODE_TIMEOUT").as_deref(),
            Some("cluster-node-timeout")
        );
        assert_eq!(env_var_directive("SHOAL_"), None);
        assert_eq!(env_var_directive("SHOAL_port"), None);
        assert_eq!(env_var_directive("REDIS_PORT"), None);
        assert_eq!(directive_env_var("cluster-secret"), "SHOAL_CLUSTER_SECRET");
        // Every directive round-trips, so each one can be set from the environment.
        for d in all_directives() {
            assert_eq!(
                env_var_directive(&directive_env_var(d.name)).as_deref(),
                Some(d.name)
            );
        }
    }

    #[test]
    fn environment_sets_directives_and_flags_win() {
        let vars = env(&[
            ("SHOAL_PORT", "7000"),
            ("SHOAL_BIND", "0.0.0.0"),
            ("SHOAL_MAXMEMORY", "1mb"),
            ("SHOAL_CLUSTER_SECRET", "s3cret"),
            ("SHOAL_JOIN", "shoal-1:16379,shoal-2:16379"),
            ("SHOAL_BIN", "/usr/local/bin/shoal"),
            ("SHOAL_NOSUCH_THING", "1"),
        ]);
        let (c, ignored) =
            Config::from_args_and_env(&args("--port 7001"), &vars).expect("valid environment");
        assert_eq!(c.port, 7001, "the flag wins over SHOAL_PORT");
        assert_eq!(c.bind, vec!["0.0.0.0"]);
        assert_eq!(c.maxmemory, 1024 * 1024);
        assert_eq!(c.cluster.secret.as_deref(), Some("s3cret"));
        assert_eq!(c.cluster.join.len(), 2);
        assert_eq!(ignored, vec!["SHOAL_BIN", "SHOAL_NOSUCH_THING"]);
        // Without the environment, from_args reads none of it.
        assert_eq!(Config::from_args(&[]).expect("defaults").port, 6379);
    }

    #[test]
    fn environment_errors_name_the_variable() {
        let bad = Config::from_args_and_env(&[], &env(&[("SHOAL_PORT", "seventy")]))
            .expect_err("not a port");
        assert!(bad.to_string().contains("SHOAL_PORT"), "{bad}");
        let refused = Config::from_args_and_env(&[], &env(&[("SHOAL_REQUIREPASS", "x")]))
            .expect_err("requirepass is refused, not ignored");
        assert!(refused.to_string().contains("authentication"), "{refused}");
    }

    #[test]
    fn environment_overrides_the_file_named_by_shoal_config() {
        let path = std::env::temp_dir().join(format!("shoal-env-test-{}.conf", std::process::id()));
        std::fs::write(&path, "port 7100\nmaxclients 50\ntimeout 9\n").expect("write");
        let vars = env(&[
            ("SHOAL_CONFIG", path.to_str().expect("utf-8 path")),
            ("SHOAL_MAXCLIENTS", "60"),
        ]);
        let (c, ignored) = Config::from_args_and_env(&args("--timeout 10"), &vars).expect("valid");
        let _ = std::fs::remove_file(&path);
        assert_eq!(c.port, 7100, "from the file");
        assert_eq!(c.maxclients, 60, "the environment wins over the file");
        assert_eq!(c.timeout, 10, "the flag wins over the file");
        assert!(c.config_file.is_some());
        assert!(ignored.is_empty(), "{ignored:?}");
        let missing =
            Config::from_args_and_env(&[], &env(&[("SHOAL_CONFIG", "/nonexistent/shoal.conf")]))
                .expect_err("a named file must exist");
        assert!(missing.to_string().contains("/nonexistent/shoal.conf"));
    }

    #[test]
    fn memory_values_use_redis_units() {
        assert_eq!(parse_memory("1kb"), Some(1024));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("2GB"), Some(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_memory("12"), Some(12));
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("mb"), None);
    }

    #[test]
    fn config_get_matches_globs_without_duplicates() {
        let c = Config::default();
        let found = c.matching(&[b"*max*", b"maxclients"]);
        let names: Vec<_> = found.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            vec![
                "maxclients",
                "max-new-connections-per-cycle",
                "proto-max-bulk-len",
                "slowlog-max-len",
                "maxmemory",
                "maxmemory-policy",
                "maxmemory-samples",
                "tracking-table-max-keys"
            ]
        );
    }

    #[test]
    fn immutable_settings_are_refused_at_runtime() {
        let mut c = Config::default();
        let refused = c
            .apply_file_text("x.conf", "port 7000\nrequirepass s3cret\n")
            .expect_err("requirepass is refused");
        let text = refused.to_string();
        assert!(text.contains("at line 2"), "{text}");
        assert!(text.contains("authentication"), "{text}");
        assert!(!text.contains("Bad directive"), "{text}");
        assert!(matches!(
            c.set_at_runtime("REQUIREPASS", "x"),
            Err(ConfigError::NotSupported { .. })
        ));
        assert_eq!(
            c.set_at_runtime("port", "1"),
            Err(ConfigError::Immutable("port"))
        );
        assert!(c.set_at_runtime("TIMEOUT", "5").is_ok());
        assert_eq!(c.timeout, 5);
    }
}
