//! One request, from its arguments to what its connection does next.
//!
//! [`execute`] takes a client's request through every step, in Redis's order: the internal
//! commands of peer links (`SHOAL.*`), lookup and arity, routing (run here, forward, split,
//! redirect or refuse), the `maxmemory` check, queueing inside `MULTI`, locking the shards of
//! the command's keys, running it, and handing what it changed to whoever reacts to changes
//! (see `effects`). It returns an [`Outcome`]: a reply, or what the connection must do
//! instead of (or after) sending one. Nothing is signalled through the client's state.
//!
//! [`run`] is the one function that calls command handlers, for every caller: a plain
//! request, each command queued in `EXEC`, a blocked command retried when its key is ready
//! (and scripts, later). It counts the call, feeds the slow log, the latency monitor and
//! MONITOR clients, and returns the reply with what the handler asked for next.

use crate::client::{BlockRequest, Client};
use crate::command::{self, Command, Ctx, Mode, flag, table, transactions};
use crate::error::Error;
use crate::node::Node;
use crate::peer::stream::Mark;
use crate::peer::{ClusterMode, Part, Plan, frame::Merge};
use crate::protocol::Reply;
use crate::store::effects::Effects;
use route::{ClientView, Decision, MultiView};

pub mod route;
use crate::store::{DbIndex, Locked};
use smallvec::SmallVec;
use std::time::Duration;

/// What a connection does with a request.
#[derive(Debug)]
pub enum Outcome {
    /// Send this reply.
    Reply(Reply),
    /// Send this reply, then do this.
    ReplyThen(Reply, After),
    /// Wait until one of the keys can serve the command (or its timeout), then answer.
    Block(Box<BlockRequest>),
    /// The request runs on other nodes: send it there and relay the answer.
    Forward(Box<Plan>),
    /// Send this reply once the replicas have acknowledged these stream positions, or
    /// `-NOREPLICAS` if they have not within the timeout (`cluster-write-concern all`).
    AwaitReplicas(Box<(Reply, Vec<Mark>, Duration)>),
    /// `WAIT`: answer how many replicas have this client's writes, once it is `wanted` or
    /// the timeout (`None`: none) passes.
    WaitReplicas {
        wanted: usize,
        timeout: Option<Duration>,
    },
    /// Send nothing (a peer stream's messages).
    Silent,
}

/// What a connection does after sending a command's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Close the connection (`QUIT`, `CLIENT KILL` of oneself, `SHUTDOWN`).
    Close,
    /// Wait this long before the next command (`DEBUG SLEEP`).
    Sleep(Duration),
    /// Stream the commands every client runs (`MONITOR`).
    Monitor,
    /// Leave any special mode (MONITOR) and forget connection-held state (`RESET`).
    Reset,
    /// Wait for replicas (`WAIT`): the reply is what was reached when the wait ends (the
    /// handler's reply, what is reached now, is sent only where nothing waits: in `EXEC`).
    WaitReplicas {
        wanted: usize,
        timeout: Option<Duration>,
    },
}

impl Outcome {
    fn from_ran(ran: Ran) -> Outcome {
        match (ran.block, ran.after) {
            (Some(request), _) => Outcome::Block(request),
            (None, Some(After::WaitReplicas { wanted, timeout })) => {
                Outcome::WaitReplicas { wanted, timeout }
            }
            (None, Some(after)) => Outcome::ReplyThen(ran.reply, after),
            (None, None) => Outcome::Reply(ran.reply),
        }
    }
}

/// What running one command gave.
pub struct Ran {
    pub reply: Reply,
    /// Set when the command asked to wait for a key (the reply is then not sent).
    pub block: Option<Box<BlockRequest>>,
    pub after: Option<After>,
}

/// Runs one request for `client` at `now` (Unix ms). Clients waiting on keys the command
/// made ready are served before this returns.
pub fn execute(node: &Node, client: &mut Client, args: &[&[u8]], now: u64) -> Outcome {
    let outcome = execute_routed(node, client, args, now, true);
    // `CLIENT CACHING` applies to the next command, or to the next transaction.
    if client.caching && client.multi.is_none() && !args[0].eq_ignore_ascii_case(b"client") {
        client.caching = false;
    }
    outcome
}

/// [`execute`] on this node, whoever owns the keys (a split request's local part).
pub fn execute_here(node: &Node, client: &mut Client, args: &[&[u8]], now: u64) -> Reply {
    match execute_routed(node, client, args, now, false) {
        Outcome::Reply(reply) | Outcome::ReplyThen(reply, _) => reply,
        Outcome::Block(request) => request.timeout_reply,
        Outcome::AwaitReplicas(waiting) => waiting.0,
        Outcome::WaitReplicas { .. } => Reply::Int(0),
        Outcome::Forward(_) | Outcome::Silent => {
            Reply::err("ERR internal: a local part was routed elsewhere")
        }
    }
}

fn execute_routed(
    node: &Node,
    client: &mut Client,
    args: &[&[u8]],
    now: u64,
    routed: bool,
) -> Outcome {
    if crate::peer::envelope::is_internal(args[0]) {
        return crate::peer::envelope::execute(node, client, args, now);
    }
    let entry = match command::lookup(args) {
        Ok(entry) => entry,
        Err(error) => return Outcome::Reply(refuse(client, None, error)),
    };
    client
        .info
        .last_command
        .store(entry.id, std::sync::atomic::Ordering::Relaxed);
    // A RESP2 subscriber's connection carries messages: only (un)subscribing and a few
    // connection commands make sense on it. (Checked before routing: a subscriber's request
    // must not be forwarded and run elsewhere.)
    if client.protocol == crate::protocol::Protocol::Resp2
        && client.subscriptions.any()
        && !entry.command.has(flag::SUBSCRIBED_OK)
    {
        let error = Error::err(format!(
            "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            entry.full_name
        ));
        return Outcome::Reply(refuse(client, Some(entry), error));
    }
    // Redis's order: a key another node owns is redirected before memory is considered.
    if routed {
        match place(node, client, entry.command, args, now) {
            Placed::Here => {}
            Placed::Refused(error) => return Outcome::Reply(refuse(client, Some(entry), error)),
            Placed::Elsewhere(plan) => {
                // A tracking client's read elsewhere is remembered here, before it runs
                // there (its owner sends this node the key's changes: see `tracking`); a
                // write invalidates its keys here before its reply can come back.
                remember_read(node, client, entry.command, args);
                invalidate_forwarded(node, client, entry.command, args, &plan);
                return Outcome::Forward(Box::new(plan));
            }
        }
    }
    if out_of_memory(node, client, entry.command, args, now) {
        crate::commandstats::record_rejected(entry.id);
        return Outcome::Reply(refuse_for_memory(client, entry.command));
    }
    if client.multi.is_some() && !transactions::runs_inside_multi(entry.command.name) {
        let reply = transactions::queue(client, entry.command, args);
        if reply.is_error() {
            crate::commandstats::record_rejected(entry.id);
        }
        return Outcome::Reply(reply);
    }
    let mut keys = lock_for(node, client.db, entry.command, args, now);
    keys.recording(client.effects.take());
    let ran = run(node, client, &mut keys, entry, args, Mode::Normal);
    let effects = keys.take_effects();
    drop(keys);
    // The locks are released: whoever reacts to the changes hears of them now.
    let mut marks = Vec::new();
    if let Some(mut effects) = effects {
        if !effects.is_empty() {
            effects.set_origin(client.id);
            marks = crate::effects::dispatch(node, &mut effects);
            // A read that expired a key invalidated it for this client too (after the
            // reply); as in Redis, the client tracks the key again.
            remember_read(node, client, entry.command, args);
        }
        client.effects = Some(effects);
    }
    let outcome = Outcome::from_ran(ran);
    if !marks.is_empty()
        && let Some(timeout) = node.forward.settings.write_wait()
        && let Outcome::Reply(reply) = outcome
    {
        return Outcome::AwaitReplicas(Box::new((reply, marks, timeout)));
    }
    outcome
}

/// Where a request runs, once the routing decision is applied.
enum Placed {
    Here,
    Refused(Error),
    Elsewhere(Plan),
}

/// Decides where a request runs (see `route`) and applies the decision: remembers the slot a
/// WATCH or transaction is bound to, forgets a finished transaction's session, and builds the
/// plan of what goes to which node.
fn place(node: &Node, client: &mut Client, command: &Command, args: &[&[u8]], now: u64) -> Placed {
    let Some(cluster) = node.cluster.get() else {
        return Placed::Here;
    };
    // A node that was paused or cut off may hold a topology the others have left behind
    // (it may even see itself alone, having just rejoined): it serves no keys for a while.
    let single = cluster.topology.is_single_node();
    let fenced = cluster.lease.fenced(now, !single);
    // Two atomic loads when this node owns everything and serves (the usual single node).
    if !fenced && single {
        return Placed::Here;
    }
    let topology = cluster.topology.load();
    let settings = &node.forward.settings;
    let redirect = settings.mode() == ClusterMode::Redirect;
    let view = ClientView {
        hops: client.peer.hops,
        redirect,
        whole_keyspace: settings.whole_keyspace(),
        multi: client.multi.as_ref().map(|t| MultiView {
            slot: t.slot,
            failed: t.failed,
        }),
        watch_slot: client.watch_slot,
        replica_reads: client.replica_reads,
        fenced,
        settling: redirect && !cluster.lease.settled(topology.epoch()),
    };
    match route::decide(&topology, command, args, &view) {
        Decision::Here => Placed::Here,
        Decision::HereFixing { watch, transaction } => {
            if let Some(slot) = watch {
                client.watch_slot.get_or_insert(slot);
            }
            if let (Some(multi), Some(slot)) = (client.multi.as_mut(), transaction) {
                multi.slot.get_or_insert(slot);
            }
            Placed::Here
        }
        Decision::HereEndingTransaction => {
            // The peer forgets the client's WATCHes when its session closes.
            client.session = None;
            client.watch_slot = None;
            Placed::Here
        }
        Decision::Refuse(error) => {
            if view.redirect && error.text().starts_with("MOVED") {
                node.forward
                    .stats
                    .redirects
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Placed::Refused(error)
        }
        Decision::Remote {
            node: peer,
            session,
            watch,
        } => {
            if let Some(slot) = watch {
                client.watch_slot.get_or_insert(slot);
            }
            Placed::Elsewhere(if session {
                let args = args.iter().map(|a| a.to_vec()).collect();
                Plan::Session { peer, args }
            } else {
                let request = crate::peer::envelope::encode(client, args);
                Plan::One { peer, request }
            })
        }
        Decision::Split { shares, combine } => {
            let positions = command.keys.positions(args);
            let step = command.keys.step.max(1);
            let keys = positions.len();
            let parts = shares
                .into_iter()
                .map(|share| {
                    let mut part_args = vec![args[0].to_vec()];
                    for &k in &share.keys {
                        let at = positions[k];
                        part_args.extend(args[at..at + step].iter().map(|a| a.to_vec()));
                    }
                    Part {
                        peer: share.node,
                        args: part_args,
                        positions: share.keys,
                    }
                })
                .collect();
            Placed::Elsewhere(Plan::Split {
                parts,
                merge: Merge::from(combine),
                keys,
            })
        }
        Decision::Everywhere { others, combine } => {
            let owned: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
            let parts = std::iter::once(None)
                .chain(others.into_iter().map(Some))
                .map(|peer| Part {
                    peer,
                    args: owned.clone(),
                    positions: Vec::new(),
                })
                .collect();
            Placed::Elsewhere(Plan::Split {
                parts,
                merge: Merge::from(combine),
                keys: 0,
            })
        }
        Decision::ScanNode {
            node: peer,
            index,
            last,
            inner,
        } => {
            let mut owned: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
            owned[1] = inner.to_string().into_bytes();
            Placed::Elsewhere(Plan::Split {
                parts: vec![Part {
                    peer,
                    args: owned,
                    positions: Vec::new(),
                }],
                merge: Merge::Scan {
                    node: index,
                    last,
                    shift: route::SCAN_NODE_SHIFT,
                },
                keys: 0,
            })
        }
        Decision::Exec {
            node: peer,
            watched,
        } => {
            let queued = client.multi.take().map(|t| t.queued).unwrap_or_default();
            client
                .info
                .multi
                .store(-1, std::sync::atomic::Ordering::Relaxed);
            client.clear_watches();
            client.watch_slot = None;
            Placed::Elsewhere(Plan::Exec {
                peer,
                queued,
                watched,
            })
        }
    }
}

/// The answer to a request refused before it ran; inside MULTI the refusal makes EXEC fail.
fn refuse(client: &mut Client, entry: Option<&table::Entry>, error: Error) -> Reply {
    if let Some(entry) = entry {
        crate::commandstats::record_rejected(entry.id);
    }
    if let Some(transaction) = client.multi.as_mut() {
        transaction.failed = true;
    }
    error.into()
}

/// Runs `entry`'s handler for `client` over the locked `keys`: the only place handlers are
/// called. A command that completes is counted (`INFO commandstats`, `total_commands_processed`)
/// and observed (slow log, latency monitor, MONITOR); one that has to wait for a key is
/// counted when it finally runs, as in Redis.
pub fn run<'s>(
    node: &'s Node,
    client: &mut Client,
    keys: &mut Locked<'s>,
    entry: &'static table::Entry,
    args: &[&[u8]],
    mode: Mode,
) -> Ran {
    client
        .info
        .last_command
        .store(entry.id, std::sync::atomic::Ordering::Relaxed);
    keys.touch = !client.no_touch;
    keys.begin_command(entry.command.event);
    // A tracking client's reads are remembered before they run: a write after them always
    // finds the reader (see `tracking`).
    remember_read(node, client, entry.command, args);
    let started = std::time::Instant::now();
    let mut ctx = Ctx {
        node,
        client,
        keys,
        mode,
        block: None,
        after: None,
    };
    let mut reply = (entry.command.run)(&mut ctx, args).unwrap_or_else(Reply::from);
    let (block, after) = (ctx.block.take(), ctx.after.take());
    if keys.violated() {
        reply = Reply::err(
            "ERR internal error: the command touched a key it did not declare (its writes there were dropped)",
        );
    }
    if block.is_none() {
        let took = started.elapsed().as_micros() as u64;
        node.stats.commands_processed.add(1);
        crate::commandstats::record_call(entry.id, took, reply.is_error());
        observe(node, client, entry.command, args, took);
    }
    Ran {
        reply,
        block,
        after,
    }
}

/// Remembers the keys of a read by a tracking client (default mode, and as `OPTIN`/`OPTOUT`
/// and `CLIENT CACHING` say).
#[inline]
fn remember_read(node: &Node, client: &Client, command: &Command, args: &[&[u8]]) {
    if let Some(tracking) = client.tracking
        && tracking.remembers(client.caching)
        && command.has(flag::READONLY)
    {
        node.tracking.remember(node, client.id, command, args);
    }
}

/// The keys a forwarded write (or each write of a forwarded transaction) changes are
/// invalidated for this node's tracking clients now (see `Tracking::forwarded_write`).
fn invalidate_forwarded(
    node: &Node,
    client: &Client,
    command: &Command,
    args: &[&[u8]],
    plan: &crate::peer::Plan,
) {
    if !node.tracking.is_active() {
        return;
    }
    match plan {
        crate::peer::Plan::Exec { queued, .. } => {
            for queued_args in queued {
                let queued_args: Vec<&[u8]> = queued_args.iter().map(Vec::as_slice).collect();
                if let Ok(entry) = command::lookup(&queued_args) {
                    node.tracking
                        .forwarded_write(node, entry.command, &queued_args, client.id);
                }
            }
        }
        _ => node
            .tracking
            .forwarded_write(node, command, args, client.id),
    }
}

/// Runs a blocked client's command again (`Mode::Retry`) now that a key it waits on may have
/// something. Returns what it gave and what it changed; the caller hands the changes on (and
/// serves the keys it made ready in turn).
pub fn retry(node: &Node, client: &mut Client, args: &[&[u8]]) -> (Ran, Effects) {
    match command::lookup(args) {
        Ok(entry) => {
            let mut keys = lock_for(node, client.db, entry.command, args, crate::clock::now_ms());
            let ran = run(node, client, &mut keys, entry, args, Mode::Retry);
            (ran, keys.take_effects().map(|e| *e).unwrap_or_default())
        }
        Err(error) => (
            Ran {
                reply: error.into(),
                block: None,
                after: None,
            },
            Effects::default(),
        ),
    }
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
        client.clear_watches();
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
/// monitor and MONITOR clients (as Redis: not admin commands).
fn observe(node: &Node, client: &Client, command: &Command, args: &[&[u8]], micros: u64) {
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

/// Locks what `command` will touch: the shards of its keys, or nothing up front for keyless
/// commands (they lock shard by shard as they go).
pub fn lock_for<'s>(
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
    if let Some((other_db, index)) =
        command::keys::cross_db_key(command, args, node.store.databases())
    {
        keys.push((other_db, args[index]));
    }
    node.store.lock(keys, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::effects::ChangeKind;

    fn node_and_client() -> (Node, Client) {
        let node = Node::new(Config::default(), None);
        // Changes are recorded when someone reads them (replication); these tests read them.
        node.store.set_changes_wanted(true);
        let addr = "127.0.0.1:1".parse().expect("addr");
        let info = node.clients.register(addr, addr, -1, 0);
        (node, Client::new(info))
    }

    /// Runs `line` and returns the changes it recorded: (kind, key, expiry).
    fn changes(
        node: &Node,
        client: &mut Client,
        line: &str,
        now: u64,
    ) -> Vec<(ChangeKind, Vec<u8>, Option<u64>)> {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        let _ = execute(node, client, &args, now);
        client
            .effects
            .as_ref()
            .map(|e| {
                e.changes()
                    .map(|(c, k)| (c.kind, k.to_vec(), c.expire_at))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn every_write_is_recorded_with_a_newer_version() {
        let (node, mut client) = node_and_client();
        let now = 1_000_000;
        assert_eq!(
            changes(&node, &mut client, "SET k v PX 500", now),
            vec![(ChangeKind::Written, b"k".to_vec(), Some(now + 500))]
        );
        let version = |client: &Client| {
            client
                .effects
                .as_ref()
                .and_then(|e| e.changes().next().map(|(c, _)| c.version))
        };
        let first = version(&client);
        assert!(changes(&node, &mut client, "GET k", now).is_empty());
        assert_eq!(
            changes(&node, &mut client, "APPEND k w", now),
            vec![(ChangeKind::Written, b"k".to_vec(), Some(now + 500))]
        );
        let second = version(&client);
        assert!(second > first);
        assert_eq!(
            changes(&node, &mut client, "DEL k nope", now),
            vec![(ChangeKind::Deleted, b"k".to_vec(), None)]
        );
        // A list emptied by a pop is written, then deleted.
        changes(&node, &mut client, "RPUSH l a", now);
        assert_eq!(
            changes(&node, &mut client, "LPOP l", now),
            vec![
                (ChangeKind::Written, b"l".to_vec(), None),
                (ChangeKind::Deleted, b"l".to_vec(), None)
            ]
        );
        // RENAME deletes its source and writes its destination.
        changes(&node, &mut client, "SET a 1", now);
        assert_eq!(
            changes(&node, &mut client, "RENAME a b", now),
            vec![
                (ChangeKind::Deleted, b"a".to_vec(), None),
                (ChangeKind::Written, b"b".to_vec(), None)
            ]
        );
    }

    /// One writing command of every group: its setup, then the changes it must record.
    #[test]
    fn every_writing_command_group_records_its_changes() {
        use ChangeKind::{Deleted, Written};
        let now = 1_000_000;
        /// Setup commands, the command, and the (kind, key) changes it records.
        type Case = (
            &'static [&'static str],
            &'static str,
            &'static [(ChangeKind, &'static str)],
        );
        let cases: &[Case] = &[
            (&[], "MSET a 1 b 2", &[(Written, "a"), (Written, "b")]),
            (&["SET n 1"], "INCRBYFLOAT n 1.5", &[(Written, "n")]),
            (&["SET s abc"], "SETRANGE s 1 x", &[(Written, "s")]),
            (&["SET s abc"], "GETDEL s", &[(Deleted, "s")]),
            (&["SET s abc"], "GETEX s PX 100", &[(Written, "s")]),
            (&["SET s abc EX 10"], "PERSIST s", &[(Written, "s")]),
            (&["SET s abc"], "EXPIRE s 0", &[(Deleted, "s")]),
            (&["SET s abc"], "COPY s t", &[(Written, "t")]),
            (
                &["SET s abc"],
                "MOVE s 1",
                &[(Deleted, "s"), (Written, "s")],
            ),
            (&[], "HSET h f v g w", &[(Written, "h")]),
            (
                &["HSET h f v"],
                "HDEL h f",
                &[(Written, "h"), (Deleted, "h")],
            ),
            (&[], "RPUSH l a b", &[(Written, "l")]),
            (
                &["RPUSH l a"],
                "LMOVE l m LEFT RIGHT",
                &[(Written, "l"), (Written, "m"), (Deleted, "l")],
            ),
            (&[], "SADD s1 a b", &[(Written, "s1")]),
            (
                &["SADD s1 a", "SADD s2 a"],
                "SINTERSTORE d s1 s2",
                &[(Written, "d")],
            ),
            (
                &["SADD s1 a"],
                "SPOP s1",
                &[(Written, "s1"), (Deleted, "s1")],
            ),
            (&[], "ZADD z 1 a", &[(Written, "z")]),
            (
                &["ZADD z 1 a 2 b"],
                "ZREMRANGEBYSCORE z 0 1",
                &[(Written, "z")],
            ),
            (&["ZADD z 1 a"], "ZUNIONSTORE d 1 z", &[(Written, "d")]),
            (&[], "SETBIT b 7 1", &[(Written, "b")]),
            (&["SET x a", "SET y b"], "BITOP OR d x y", &[(Written, "d")]),
            (&[], "PFADD p a b", &[(Written, "p")]),
            (
                &["PFADD p a", "PFADD q b"],
                "PFMERGE d p q",
                &[(Written, "d")],
            ),
            (&[], "XADD x 1-1 f v", &[(Written, "x")]),
            (&["XADD x 1-1 f v"], "XDEL x 1-1", &[(Written, "x")]),
            (
                &["SET a 1"],
                "RENAME a b",
                &[(Deleted, "a"), (Written, "b")],
            ),
            (&["SET a 1"], "UNLINK a", &[(Deleted, "a")]),
        ];
        for (setup, line, expected) in cases {
            let (node, mut client) = node_and_client();
            for step in *setup {
                changes(&node, &mut client, step, now);
            }
            let got: Vec<(ChangeKind, String)> = changes(&node, &mut client, line, now)
                .into_iter()
                .map(|(kind, key, _)| (kind, String::from_utf8_lossy(&key).into_owned()))
                .collect();
            let expected: Vec<(ChangeKind, String)> = expected
                .iter()
                .map(|(kind, key)| (*kind, key.to_string()))
                .collect();
            assert_eq!(got, expected, "{line}");
        }
    }

    #[test]
    fn lazy_expiry_and_transactions_are_recorded() {
        let (node, mut client) = node_and_client();
        changes(&node, &mut client, "SET k v PX 10", 1_000);
        assert_eq!(
            changes(&node, &mut client, "GET k", 2_000),
            vec![(ChangeKind::Expired, b"k".to_vec(), None)]
        );
        changes(&node, &mut client, "MULTI", 2_000);
        changes(&node, &mut client, "SET x 1", 2_000);
        changes(&node, &mut client, "INCR y", 2_000);
        assert_eq!(
            changes(&node, &mut client, "EXEC", 2_000),
            vec![
                (ChangeKind::Written, b"x".to_vec(), None),
                (ChangeKind::Written, b"y".to_vec(), None)
            ]
        );
        assert!(changes(&node, &mut client, "FLUSHALL", 2_000).is_empty());
        assert_eq!(
            client.effects.as_ref().map(|e| e.wholes().to_vec()),
            Some(vec![crate::store::effects::Whole::Flushed(None)])
        );
    }
}
