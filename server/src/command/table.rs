//! The command table: every command this node runs, looked up by name.
//!
//! Each group module (`strings`, `keys`, `connection`, `admin`) declares its commands as a
//! static slice; this module gathers them once into a lookup map, assigns each command and
//! subcommand an id (for per-command statistics) and its full name (`client|list`).

use super::{
    Command, admin, bitmaps, connection, diagnostics, expire, hashes, hyperloglog, keys, keyspace,
    lists, memory, pubsub, replication, sets, streams, strings, transactions, zsets,
};
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
use std::sync::LazyLock;

/// A command or subcommand as the table knows it.
pub struct Entry {
    pub command: &'static Command,
    /// The name Redis reports: `get`, or `client|list` for a subcommand.
    pub full_name: String,
    /// Dense index over all commands and subcommands.
    pub id: usize,
    /// Subcommands of a container, by lower-case name.
    subcommands: HashMap<&'static str, Entry>,
}

struct Table {
    by_name: HashMap<&'static str, Entry>,
    count: usize,
    /// Full names by id.
    names: Vec<String>,
}

/// Every group's commands.
const GROUPS: &[&[Command]] = &[
    strings::COMMANDS,
    keys::COMMANDS,
    expire::COMMANDS,
    keyspace::COMMANDS,
    hashes::COMMANDS,
    lists::COMMANDS,
    sets::COMMANDS,
    zsets::COMMANDS,
    bitmaps::COMMANDS,
    hyperloglog::COMMANDS,
    streams::COMMANDS,
    transactions::COMMANDS,
    pubsub::COMMANDS,
    replication::COMMANDS,
    diagnostics::COMMANDS,
    memory::COMMANDS,
    connection::COMMANDS,
    admin::COMMANDS,
    super::cluster::COMMANDS,
];

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut next_id = 0;
    let mut by_name = HashMap::default();
    for command in GROUPS.iter().flat_map(|group| group.iter()) {
        let mut entry = Entry {
            command,
            full_name: command.name.to_string(),
            id: next_id,
            subcommands: HashMap::default(),
        };
        next_id += 1;
        for sub in command.subcommands {
            entry.subcommands.insert(
                sub.name,
                Entry {
                    command: sub,
                    full_name: format!("{}|{}", command.name, sub.name),
                    id: next_id,
                    subcommands: HashMap::default(),
                },
            );
            next_id += 1;
        }
        by_name.insert(command.name, entry);
    }
    let mut names = vec![String::new(); next_id];
    for entry in by_name.values() {
        names[entry.id] = entry.full_name.clone();
        for sub in entry.subcommands.values() {
            names[sub.id] = sub.full_name.clone();
        }
    }
    Table {
        by_name,
        count: next_id,
        names,
    }
});

/// The full name of the command with table id `id`.
pub fn name_of(id: usize) -> Option<&'static str> {
    TABLE.names.get(id).map(String::as_str)
}

/// Longest command or subcommand name we look up (longer names are unknown).
const MAX_NAME: usize = 32;

fn lowercase(name: &[u8], buf: &mut [u8; MAX_NAME]) -> Option<usize> {
    if name.len() > MAX_NAME {
        return None;
    }
    for (dst, src) in buf.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    Some(name.len())
}

fn get<'t>(map: &'t HashMap<&'static str, Entry>, name: &[u8]) -> Option<&'t Entry> {
    let mut buf = [0u8; MAX_NAME];
    let len = lowercase(name, &mut buf)?;
    map.get(std::str::from_utf8(&buf[..len]).ok()?)
}

/// The top-level command called `name` (any case).
pub fn find(name: &[u8]) -> Option<&'static Entry> {
    get(&TABLE.by_name, name)
}

/// The subcommand `name` of a container command.
pub fn find_sub(container: &'static Entry, name: &[u8]) -> Option<&'static Entry> {
    get(&container.subcommands, name)
}

/// Every top-level command, in a stable (alphabetical) order.
pub fn all() -> Vec<&'static Entry> {
    let mut all: Vec<_> = TABLE.by_name.values().collect();
    all.sort_by(|a, b| a.full_name.cmp(&b.full_name));
    all
}

/// The subcommands of a container, alphabetically.
pub fn subcommands(entry: &'static Entry) -> Vec<&'static Entry> {
    let mut subs: Vec<_> = entry.subcommands.values().collect();
    subs.sort_by(|a, b| a.full_name.cmp(&b.full_name));
    subs
}

/// Number of top-level commands (`COMMAND COUNT`).
pub fn count() -> usize {
    TABLE.by_name.len()
}

/// Number of commands and subcommands (the range of ids).
pub fn ids() -> usize {
    TABLE.count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_consistent_metadata() {
        for entry in all() {
            let cmd = entry.command;
            assert_eq!(cmd.name, cmd.name.to_ascii_lowercase());
            assert!(cmd.arity != 0, "{}", cmd.name);
            assert!(!cmd.doc.summary.is_empty(), "{} has no summary", cmd.name);
            assert!(
                super::super::docs::parse_syntax(cmd.doc.args).is_ok(),
                "{}: bad syntax {:?}",
                cmd.name,
                cmd.doc.args
            );
            for sub in subcommands(entry) {
                assert!(sub.command.arity != 0, "{}", sub.full_name);
                assert!(
                    super::super::docs::parse_syntax(sub.command.doc.args).is_ok(),
                    "{}",
                    sub.full_name
                );
            }
        }
    }

    #[test]
    fn lookup_ignores_case() {
        assert!(find(b"GeT").is_some());
        assert!(find(b"nosuchcommand").is_none());
        let client = find(b"client").expect("client");
        assert_eq!(
            find_sub(client, b"LIST").map(|e| e.full_name.as_str()),
            Some("client|list")
        );
    }
}
