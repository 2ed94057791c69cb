//! Commands: what each one is (the table), how its arguments are read, and dispatch.
//!
//! Every command is a [`Command`] entry: its name, Redis arity, flags, where its keys are, its
//! documentation (which `COMMAND INFO` and `COMMAND DOCS` are generated from) and its handler.
//! Handlers are grouped by Redis command group, one module each; `table` gathers them.
//!
//! Dispatch (`execute`) looks the command up, checks arity, locks the shards of the keys the
//! command names (from its key positions, so a handler never locks anything itself) and runs
//! the handler with a [`Ctx`]. The handler returns a [`Reply`] or an [`Error`]; nothing here
//! writes to a socket.

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
pub mod sets;
pub mod streams;
pub mod strings;
pub mod table;
pub mod transactions;
pub mod zsets;

use crate::client::Client;
use crate::error::{CommandResult, Error};
use crate::forward::route::Route;
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
        self.client.blocked = Some(crate::client::BlockRequest {
            db: self.client.db,
            keys,
            deadline: timeout.map(|t| std::time::Instant::now() + t),
            timeout_reply,
            args,
        });
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
        }
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

/// Runs one request for `client` at `now` (Unix ms) and returns its reply. Clients waiting
/// on keys the command made ready are served before this returns. When the request runs on
/// other nodes, its plan is left in `client.forward` for the connection to send (the reply
/// returned then is a placeholder, never sent).
pub fn execute(node: &Node, client: &mut Client, args: &[&[u8]], now: u64) -> Reply {
    execute_routed(node, client, args, now, true)
}

/// [`execute`] on this node, whoever owns the keys (a split request's local part).
pub fn execute_local(node: &Node, client: &mut Client, args: &[&[u8]], now: u64) -> Reply {
    execute_routed(node, client, args, now, false)
}

fn execute_routed(
    node: &Node,
    client: &mut Client,
    args: &[&[u8]],
    now: u64,
    routed: bool,
) -> Reply {
    if crate::forward::envelope::is_internal(args[0]) {
        return crate::forward::envelope::execute(node, client, args, now);
    }
    let entry = match lookup(args) {
        Ok(entry) => entry,
        Err(error) => {
            // A refused command inside MULTI makes the EXEC fail.
            if let Some(transaction) = client.multi.as_mut() {
                transaction.failed = true;
            }
            return error.into();
        }
    };
    client
        .info
        .last_command
        .store(entry.id, std::sync::atomic::Ordering::Relaxed);
    // Redis's order: a key another node owns is redirected before memory is considered.
    if routed {
        match crate::forward::route::route(node, client, entry.command, args) {
            Route::Local => {}
            Route::Refuse(error) => {
                crate::commandstats::record_rejected(entry.id);
                if let Some(transaction) = client.multi.as_mut() {
                    transaction.failed = true;
                }
                return error.into();
            }
            Route::Forward(plan) => {
                client.forward = Some(plan);
                return Reply::Null;
            }
        }
    }
    if out_of_memory(node, client, entry.command, args, now) {
        crate::commandstats::record_rejected(entry.id);
        return refuse_for_memory(client, entry.command);
    }
    if client.multi.is_some() && !transactions::runs_inside_multi(entry.command.name) {
        let reply = transactions::queue(client, entry.command, args);
        if reply.is_error() {
            crate::commandstats::record_rejected(entry.id);
        }
        return reply;
    }
    // Like Redis, count commands that ran (not those refused by lookup or arity).
    node.stats.commands_processed.add(1);
    let started = std::time::Instant::now();
    let (reply, ready) = run(node, client, entry.command, args, now, Mode::Normal);
    let took = started.elapsed().as_micros() as u64;
    crate::commandstats::record_call(entry.id, took, reply.is_error());
    observe(node, client, entry.command, args, took);
    if !ready.is_empty() {
        node.blocked.serve(node, ready);
    }
    reply
}

/// Redis's check before every command while `maxmemory` is set: makes room (evicting as the
/// policy says), then tells whether the command must be refused because memory is still over
/// the limit with nothing left to evict. Commands that may grow memory are Redis's `denyoom`
/// ones, any command being queued inside MULTI, and an EXEC whose queue holds a `denyoom`
/// one; only they are refused, and only they evict before running (see `Store::make_room`).
fn out_of_memory(
    node: &Node,
    client: &Client,
    command: &Command,
    args: &[&[u8]],
    now: u64,
) -> bool {
    if node.store.evictor.settings.maxmemory() == 0 {
        return false;
    }
    let queued = client.multi.is_some() && !transactions::runs_inside_multi(command.name);
    let exec_grows = command.name == "exec"
        && client
            .multi
            .as_ref()
            .is_some_and(|t| t.flags & flag::DENYOOM != 0);
    let grows = command.has(flag::DENYOOM) || queued || exec_grows;
    // A command carrying a lot of data (its arguments are allocated, and count) is judged on
    // the allocator's figure of this instant.
    const BIG_REQUEST: usize = 64 * 1024;
    let big = args.iter().map(|a| a.len()).sum::<usize>() >= BIG_REQUEST;
    let room = node.store.make_room(now, big, grows);
    grows && room == crate::store::evict::Room::Full
}

/// The `-OOM` refusal. Inside MULTI it fails the transaction; refusing EXEC discards it, with
/// Redis's `EXECABORT` text.
fn refuse_for_memory(client: &mut Client, command: &Command) -> Reply {
    const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
    if command.name == "exec" && client.multi.take().is_some() {
        client.watched.clear();
        client
            .info
            .multi
            .store(-1, std::sync::atomic::Ordering::Relaxed);
        return Reply::Error(format!("EXECABORT Transaction discarded because of: {OOM}").into());
    }
    if let Some(transaction) = client.multi.as_mut() {
        transaction.failed = true;
    }
    Reply::err(OOM)
}

/// What every executed command feeds besides its statistics: the slow log, the latency
/// monitor and MONITOR clients (as Redis: not admin commands, and a command that blocked is
/// logged when it finally runs, not when it starts waiting).
pub fn observe(node: &Node, client: &Client, command: &Command, args: &[&[u8]], micros: u64) {
    if client.blocked.is_some() {
        return;
    }
    if node.slowlog.is_slow(micros) && !command.has(flag::SKIP_SLOWLOG) {
        let name = client.info.name.lock().clone().unwrap_or_default();
        node.slowlog
            .push(args, micros, client.info.addr.to_string(), name);
    }
    let event = if command.has(flag::FAST) {
        "fast-command"
    } else {
        "command"
    };
    node.latency.sample(event, micros / 1000);
    if !command.has(flag::ADMIN | flag::SKIP_MONITOR) {
        node.monitors
            .feed(client.id, client.db, client.info.addr, args);
    }
}

/// Runs a blocked client's command again (`Mode::Retry`) now that a key it waits on may have
/// something. Returns the reply and the keys the command made ready in turn; the caller
/// serves those.
pub fn execute_retry(
    node: &Node,
    client: &mut Client,
    args: &[&[u8]],
) -> (Reply, Vec<(DbIndex, Vec<u8>)>) {
    match lookup(args) {
        Ok(entry) => run(
            node,
            client,
            entry.command,
            args,
            crate::clock::now_ms(),
            Mode::Retry,
        ),
        Err(error) => (error.into(), Vec::new()),
    }
}

/// Locks the command's keys, runs its handler, releases the locks; returns the reply and the
/// keys the command signalled ready.
fn run(
    node: &Node,
    client: &mut Client,
    command: &'static Command,
    args: &[&[u8]],
    now: u64,
    mode: Mode,
) -> (Reply, Vec<(DbIndex, Vec<u8>)>) {
    let mut keys = lock_for(node, client.db, command, args, now);
    keys.touch = !client.no_touch;
    let mut ctx = Ctx {
        node,
        client,
        keys: &mut keys,
        mode,
    };
    let reply = (command.run)(&mut ctx, args).unwrap_or_else(Reply::from);
    let ready = keys.take_ready();
    (reply, ready)
}

/// Locks what `command` will touch: the shards of its keys, or nothing up front for keyless
/// commands (they lock shard by shard as they go).
fn lock_for<'s>(
    node: &'s Node,
    db: DbIndex,
    command: &Command,
    args: &[&[u8]],
    now: u64,
) -> Locked<'s> {
    if !command.keys.has_keys() {
        return node.store.on_demand(now);
    }
    let mut keys: SmallVec<[(DbIndex, &[u8]); 4]> = command
        .keys
        .positions(args)
        .into_iter()
        .map(|i| (db, args[i]))
        .collect();
    // MOVE and COPY ... DB also touch a key in another database.
    if let Some((other_db, index)) = keys::cross_db_key(command, args, node.store.databases()) {
        keys.push((other_db, args[index]));
    }
    node.store.lock(keys, now)
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
