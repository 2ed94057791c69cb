//! Commands: what each one is (the table), how its arguments are read, and dispatch.
//!
//! Every command is a [`Command`] entry: its name, Redis arity, flags, where its keys are, its
//! documentation (which `COMMAND INFO` and `COMMAND DOCS` are generated from) and its handler.
//! Handlers are grouped by Redis command group, one module each; `table` gathers them.
//!
//! [`lookup`] finds a request's entry and checks its arity; `request` locks the shards of the
//! keys the command names (from its key positions, so a handler never locks anything itself)
//! and runs the handler with a [`Ctx`]. The handler returns a [`Reply`] or an [`Error`], and
//! says through the `Ctx` whether it must wait for a key or what the connection does next;
//! nothing here writes to a socket.

pub mod admin;
pub mod bitmaps;
pub mod cluster;
pub mod connection;
pub mod diagnostics;
pub mod docs;
pub mod expire;
pub mod hashes;
pub mod hyperloglog;
pub mod keys;
pub mod keyspace;
pub mod lists;
pub mod memory;
pub mod parse;
pub mod pubsub;
pub mod replication;
pub mod scan;
pub mod sets;
pub mod streams;
pub mod strings;
pub mod table;
pub mod transactions;
pub mod zsets;

use crate::client::Client;
use crate::error::{CommandResult, Error};
use crate::node::Node;
use crate::protocol::Reply;
use crate::store::{DbIndex, Locked};
use smallvec::SmallVec;

/// A command handler.
pub type Handler = fn(&mut Ctx<'_, '_>, &[&[u8]]) -> CommandResult;

/// How a command is being run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A client's own request: a blocking command may wait.
    Normal,
    /// Inside `EXEC`: nothing may wait.
    Transaction,
    /// Run again on behalf of a waiting client because one of its keys became ready.
    Retry,
}

/// What a handler works with.
pub struct Ctx<'a, 's> {
    /// State shared by the whole node.
    pub node: &'s Node,
    /// The calling connection.
    pub client: &'a mut Client,
    /// The shards this command may touch, already locked.
    pub keys: &'a mut Locked<'s>,
    pub mode: Mode,
    /// Set by [`Ctx::block`]: the command waits for one of its keys instead of answering.
    pub block: Option<Box<crate::client::BlockRequest>>,
    /// What the connection does after sending the reply (see [`crate::request::After`]).
    pub after: Option<crate::request::After>,
}

impl Ctx<'_, '_> {
    /// The connection's selected database.
    pub fn db(&self) -> DbIndex {
        self.client.db
    }

    /// For a blocking command (BLPOP, BZPOPMIN, XREAD BLOCK…) that found nothing to serve:
    /// waits until one of `keys` is ready (a push signals it, see `Locked::signal_ready`) or
    /// `timeout` passes (`None`: forever), then the command runs again — with `args` if given
    /// (XREAD's `$` resolved to an ID), else its own arguments. Returns the reply for now:
    /// inside a transaction nothing can wait, so that is `timeout_reply` at once, as in Redis;
    /// otherwise nothing is sent until the wait ends.
    pub fn block(
        &mut self,
        keys: Vec<Vec<u8>>,
        timeout: Option<std::time::Duration>,
        timeout_reply: Reply,
        args: Option<Vec<Vec<u8>>>,
    ) -> CommandResult {
        if self.mode == Mode::Transaction {
            return Ok(timeout_reply);
        }
        self.block = Some(Box::new(crate::client::BlockRequest {
            db: self.client.db,
            keys,
            deadline: timeout.map(|t| std::time::Instant::now() + t),
            timeout_reply,
            args,
        }));
        Ok(Reply::Null)
    }
}

/// Command flags, as `COMMAND INFO` names them.
pub mod flag {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const NO_MULTI: u32 = 1 << 13;
    pub const ALLOW_BUSY: u32 = 1 << 14;
    /// Not a Redis flag: the command works on whole databases (`FLUSHDB`, `KEYS`, `SWAPDB`),
    /// so a transaction containing it must lock every shard.
    pub const KEYSPACE: u32 = 1 << 31;
    /// Not a Redis flag: a RESP2 client with subscriptions may still run it (the
    /// (un)subscribe commands, `PING`, `QUIT`, `RESET`).
    pub const SUBSCRIBED_OK: u32 = 1 << 30;

    /// Names in `COMMAND INFO` order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// Where a command's keys are among its arguments, counted from the command name at index 0.
///
/// A fixed range (Redis's legacy first/last/step; `last` may be negative, -1 being the last
/// argument), plus optionally keys whose number is given by an argument (`ZUNIONSTORE dest
/// numkeys key...`, `LMPOP numkeys key...`) or the keys after a keyword (`XREAD ... STREAMS
/// key... id...`: the first half of what follows it). Dispatch locks the shards of exactly
/// these keys, so every key a handler touches must be described here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    pub first: usize,
    pub last: isize,
    pub step: usize,
    /// Index of a `numkeys` argument; that many keys follow it.
    pub numkeys_at: Option<usize>,
    /// A keyword (any case) after which the first half of the arguments are keys.
    pub keyword: Option<&'static str>,
}

impl KeySpec {
    /// No keys.
    pub const NONE: KeySpec = KeySpec::range(0, 0, 0);
    /// One key, the first argument.
    pub const ONE: KeySpec = KeySpec::range(1, 1, 1);
    /// Every argument is a key.
    pub const ALL: KeySpec = KeySpec::range(1, -1, 1);
    /// The first two arguments are keys.
    pub const TWO: KeySpec = KeySpec::range(1, 2, 1);
    /// Key-value pairs (`MSET`).
    pub const PAIRS: KeySpec = KeySpec::range(1, -1, 2);

    /// Keys from `first` to `last` (negative: counted from the end) every `step` arguments.
    pub const fn range(first: usize, last: isize, step: usize) -> KeySpec {
        KeySpec {
            first,
            last,
            step,
            numkeys_at: None,
            keyword: None,
        }
    }

    /// Keys counted by the argument at `at` and following it (`SINTERCARD numkeys key...`).
    pub const fn numkeys(at: usize) -> KeySpec {
        KeySpec::NONE.and_numkeys(at)
    }

    /// These keys plus the ones counted by the argument at `at` (`ZUNIONSTORE dest numkeys
    /// key...` is `KeySpec::ONE.and_numkeys(2)`).
    pub const fn and_numkeys(mut self, at: usize) -> KeySpec {
        self.numkeys_at = Some(at);
        self
    }

    /// The keys after `keyword`: the first half of the arguments that follow it.
    pub const fn after_keyword(keyword: &'static str) -> KeySpec {
        let mut spec = KeySpec::NONE;
        spec.keyword = Some(keyword);
        spec
    }

    /// Whether the command has key arguments.
    pub fn has_keys(&self) -> bool {
        self.step != 0 || self.numkeys_at.is_some() || self.keyword.is_some()
    }

    /// Whether the key positions depend on the arguments (Redis's `movablekeys`).
    pub fn is_movable(&self) -> bool {
        self.numkeys_at.is_some() || self.keyword.is_some()
    }

    /// The positions of the keys in `args` (name included). Malformed counts give no keys
    /// there: the handler refuses such arguments before touching any key.
    pub fn positions(&self, args: &[&[u8]]) -> SmallVec<[usize; 8]> {
        let argc = args.len();
        let mut out: SmallVec<[usize; 8]> = SmallVec::new();
        if self.step != 0 {
            let last = if self.last < 0 {
                argc as isize + self.last
            } else {
                (self.last as usize).min(argc.saturating_sub(1)) as isize
            };
            if last >= self.first as isize {
                out.extend((self.first..=last as usize).step_by(self.step));
            }
        }
        if let Some(at) = self.numkeys_at
            && let Some(n) = args.get(at).and_then(|a| parse::count(a).ok())
            && at + n < argc
        {
            out.extend(at + 1..=at + n);
        }
        if let Some(keyword) = self.keyword
            && let Some(found) = args.iter().skip(1).position(|a| parse::is(a, keyword))
        {
            let after = found + 2;
            let rest = argc - after;
            if rest.is_multiple_of(2) {
                out.extend(after..after + rest / 2);
            }
        }
        out
    }
}

/// How a command is placed in a cluster (see `request::route`), beyond what its keys say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// Where its keys are: the node that is primary of them all; keyless commands run here.
    Keys,
    /// Like `Keys`, but keys on several nodes are split per node and the parts' replies
    /// combined (`MGET`, `MSET`, `DEL`…) instead of refused.
    Split(Combine),
    /// Runs on every live node, replies combined (`FLUSHALL`, `FLUSHDB`).
    Everywhere(Combine),
    /// Every live node with `cluster-keyspace-commands whole`, else here (`DBSIZE`, `KEYS`).
    WholeKeyspace(Combine),
    /// `SCAN`: with `cluster-keyspace-commands whole`, node after node.
    ScanNodes,
    /// `SSUBSCRIBE`, `SUNSUBSCRIBE`: here (the subscription lives on the client's node), but
    /// `-MOVED`/`-CROSSSLOT` in redirect mode as Redis Cluster answers.
    Subscription,
    /// `EXEC`: here, or the whole transaction to the node its keys are on.
    Exec,
    /// `DISCARD`, `UNWATCH`, `RESET`: here, and the client forgets where its transaction was
    /// going (its session to that node closes, dropping the WATCHes there).
    EndsTransaction,
    /// `WATCH`: fixes the node a later transaction runs on; runs there.
    Watch,
    /// Runs here even inside `MULTI` (`MULTI`, `QUIT`).
    Here,
}

/// How the replies of a command sent to several nodes become one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    /// An array with one element per key, in the client's order (`MGET`).
    ByKey,
    /// The sum of integer replies (`DEL`, `UNLINK`, `EXISTS`, `TOUCH`, `DBSIZE`).
    Sum,
    /// `+OK` when every part said so (`MSET`, `FLUSHALL`).
    AllOk,
    /// One array of every part's elements, in part order (`KEYS`).
    Concat,
}

/// Documentation of a command, for `COMMAND DOCS` and redis-cli's hints.
#[derive(Clone, Copy, Debug)]
pub struct Doc {
    /// Redis command group (`string`, `generic`, `connection`, `server`…).
    pub group: &'static str,
    /// Redis version that introduced the command.
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    /// Argument syntax, parsed by `docs` (see there for the notation).
    pub args: &'static str,
}

/// One command or subcommand.
pub struct Command {
    /// Lower-case name; for a subcommand, the part after the container's name.
    pub name: &'static str,
    /// Redis arity: exact argument count including the name, or at least `-arity`.
    pub arity: i32,
    pub flags: u32,
    pub keys: KeySpec,
    pub doc: Doc,
    pub run: Handler,
    /// For container commands (`CLIENT`, `CONFIG`…), their subcommands.
    pub subcommands: &'static [Command],
    /// Redis's command tips (`request_policy:all_shards`, `response_policy:agg_sum`,
    /// `nondeterministic_output`…), as `COMMAND INFO` and `COMMAND DOCS` report them: cluster
    /// clients (redis-py 8) route keyless commands by them.
    pub tips: &'static [&'static str],
    /// The keyspace notification Redis emits for each key the command writes (class and
    /// event name), recorded at its first write of the key. Commands whose events differ by
    /// key or option record theirs themselves (see `store::effects`).
    pub event: Option<crate::store::effects::EventKind>,
    /// How it is placed in a cluster.
    pub routing: Routing,
}

impl Command {
    /// A command entry: name, Redis arity, flags, key positions and handler. Its
    /// documentation is added with [`Command::doc`], subcommands with [`Command::subcommands`].
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: KeySpec,
        run: Handler,
    ) -> Command {
        Command {
            name,
            arity,
            flags,
            keys,
            run,
            doc: Doc {
                group: "",
                since: "",
                summary: "",
                complexity: "",
                args: "",
            },
            subcommands: &[],
            tips: &[],
            event: None,
            routing: Routing::Keys,
        }
    }

    /// Sets how the command is placed in a cluster.
    pub const fn routing(mut self, routing: Routing) -> Command {
        self.routing = routing;
        self
    }

    /// Sets the notification Redis emits for each key the command writes.
    pub const fn notifies(mut self, class: u16, name: &'static str) -> Command {
        self.event = Some((class, name));
        self
    }

    /// Sets Redis's command tips (see [`Command::tips`]).
    pub const fn tips(mut self, tips: &'static [&'static str]) -> Command {
        self.tips = tips;
        self
    }

    /// Sets the documentation: group, version introduced, summary, complexity and argument
    /// syntax (see `docs` for the notation).
    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
        complexity: &'static str,
        args: &'static str,
    ) -> Command {
        self.doc = Doc {
            group,
            since,
            summary,
            complexity,
            args,
        };
        self
    }

    /// Makes this a container of `subcommands` (`CLIENT LIST`, `CONFIG GET`…).
    pub const fn subcommands(mut self, subcommands: &'static [Command]) -> Command {
        self.subcommands = subcommands;
        self
    }

    /// Whether `argc` arguments (name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        if self.arity >= 0 {
            argc == self.arity as usize
        } else {
            argc >= self.arity.unsigned_abs() as usize
        }
    }

    /// Whether the command has the flag.
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Handler of container commands: only reached when no subcommand matched.
    pub fn container(_: &mut Ctx<'_, '_>, _: &[&[u8]]) -> CommandResult {
        Err(Error::Syntax)
    }
}

/// Finds the table entry for `args` (a subcommand for container commands) and checks its
/// arity, answering Redis's errors for unknown commands, subcommands and wrong arity.
pub fn lookup(args: &[&[u8]]) -> Result<&'static table::Entry, Error> {
    let Some(entry) = table::find(args[0]) else {
        return Err(unknown_command(args));
    };
    let entry = if entry.command.subcommands.is_empty() || args.len() < 2 {
        entry
    } else {
        match table::find_sub(entry, args[1]) {
            Some(sub) => sub,
            None => {
                return Err(Error::err(format!(
                    "unknown subcommand '{}'. Try {} HELP.",
                    crate::error::truncate(&parse::text(args[1]), 128),
                    entry.command.name.to_ascii_uppercase()
                )));
            }
        }
    };
    if !entry.command.arity_ok(args.len()) {
        crate::commandstats::record_rejected(entry.id);
        return Err(Error::err(format!(
            "wrong number of arguments for '{}' command",
            entry.full_name
        )));
    }
    Ok(entry)
}

/// Redis's text for an unknown command: the name and the first arguments, quoted.
fn unknown_command(args: &[&[u8]]) -> Error {
    let mut shown = String::new();
    for arg in &args[1..] {
        if shown.len() >= 128 {
            break;
        }
        let room = 128 - shown.len();
        let text = parse::text(arg);
        shown.push('\'');
        shown.push_str(crate::error::truncate(&text, room));
        shown.push_str("' ");
    }
    Error::err(format!(
        "unknown command '{}', with args beginning with: {}",
        crate::error::truncate(&parse::text(args[0]), 128),
        shown
    ))
}

/// Redis's `HELP` reply: a heading, the given lines, and the `HELP` entry, as status strings.
pub fn help_reply(command: &str, lines: &[&str]) -> Reply {
    let mut out = vec![Reply::Status(
        format!("{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").into(),
    )];
    out.extend(
        lines
            .iter()
            .map(|line| Reply::Status(line.to_string().into())),
    );
    out.push(Reply::status("HELP"));
    out.push(Reply::status("    Prints this help."));
    Reply::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_positions_follow_the_spec() {
        let pos = |spec: KeySpec, line: &str| {
            let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
            spec.positions(&args).to_vec()
        };
        assert_eq!(pos(KeySpec::ONE, "get k"), vec![1]);
        assert_eq!(pos(KeySpec::ONE, "set k v ex 1"), vec![1]);
        assert_eq!(pos(KeySpec::ALL, "del a b c"), vec![1, 2, 3]);
        assert_eq!(pos(KeySpec::PAIRS, "mset a 1 b 2"), vec![1, 3]);
        assert_eq!(pos(KeySpec::TWO, "rename a b"), vec![1, 2]);
        assert_eq!(pos(KeySpec::NONE, "ping x y"), Vec::<usize>::new());
        assert_eq!(pos(KeySpec::range(1, -2, 1), "blpop a b 0"), vec![1, 2]);
        let zunionstore = KeySpec::ONE.and_numkeys(2);
        assert_eq!(
            pos(zunionstore, "zunionstore d 2 a b weights 1 2"),
            vec![1, 3, 4]
        );
        assert_eq!(pos(zunionstore, "zunionstore d 5 a b"), vec![1]);
        assert_eq!(pos(zunionstore, "zunionstore d x a b"), vec![1]);
        assert_eq!(
            pos(KeySpec::numkeys(1), "sintercard 2 a b limit 1"),
            vec![2, 3]
        );
        let xread = KeySpec::after_keyword("STREAMS");
        assert_eq!(pos(xread, "xread count 2 streams a b 0 0"), vec![4, 5]);
        assert_eq!(pos(xread, "xread streams a b 0"), Vec::<usize>::new());
        assert!(xread.is_movable() && !KeySpec::ALL.is_movable());
    }
}
