//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Between MULTI and EXEC, dispatch queues commands (after checking their name and arity;
//! a refusal makes EXEC answer EXECABORT) and answers `+QUEUED`. EXEC locks, at once and in
//! the usual order, the shards of every key the queued commands name (or every shard of every
//! database when one of them works on whole databases, or SELECTs), checks the WATCHed keys
//! under those locks, then runs the commands one after the other: no other client's command
//! on those keys can come in between. Runtime errors of single commands are part of EXEC's
//! reply and do not stop the others, as in Redis.
//!
//! WATCH remembers each key's version (see `Entry::version`); EXEC fails (nil) when one
//! changed, appeared, disappeared or expired, or when a FLUSHDB, FLUSHALL or SWAPDB ran since
//! the first WATCH (those bump the node's keyspace epoch). A key that did not exist at WATCH
//! and was created and deleted again before EXEC goes unnoticed.

use super::{Command, Ctx, KeySpec, Mode, Routing, flag::*, keys, table};
use crate::client::{Transaction, Watched};
use crate::error::{CommandResult, Error};
use crate::protocol::Reply;
use crate::store::DbIndex;
use crate::store::locked::Access;
use smallvec::SmallVec;
use std::sync::atomic::Ordering;

const GROUP: &str = "transactions";

pub const COMMANDS: &[Command] = &[
    Command::new(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        KeySpec::NONE,
        multi,
    )
    .doc(
        GROUP,
        "1.2.0",
        "Starts a transaction: later commands are queued until EXEC.",
        "O(1)",
        "",
    )
    .routing(Routing::Here),
    Command::new(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        KeySpec::NONE,
        exec,
    )
    .doc(
        GROUP,
        "1.2.0",
        "Runs the queued commands as one, unless a watched key changed.",
        "Depends on the queued commands",
        "",
    )
    .routing(Routing::Exec),
    Command::new(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        KeySpec::NONE,
        discard,
    )
    .doc(
        GROUP,
        "2.0.0",
        "Drops the queued commands and leaves the transaction.",
        "O(N) in the number of queued commands",
        "",
    )
    .routing(Routing::EndsTransaction),
    Command::new(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        KeySpec::ALL,
        watch,
    )
    .doc(
        GROUP,
        "2.2.0",
        "Makes the next EXEC fail if any of these keys changes first.",
        "O(1) for every key",
        "key...",
    )
    .routing(Routing::Watch),
    Command::new(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        KeySpec::NONE,
        unwatch,
    )
    .doc(GROUP, "2.2.0", "Forgets every watched key.", "O(1)", "")
    .routing(Routing::EndsTransaction),
];

/// Whether `name` runs at once inside MULTI instead of being queued.
pub fn runs_inside_multi(name: &str) -> bool {
    matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// Queues a command inside MULTI; `+QUEUED`, or Redis's refusal (which fails the EXEC).
pub fn queue(ctx_client: &mut crate::client::Client, command: &Command, args: &[&[u8]]) -> Reply {
    let Some(transaction) = ctx_client.multi.as_mut() else {
        return Reply::err("ERR internal: not in a transaction");
    };
    if command.has(NO_MULTI) {
        transaction.failed = true;
        return Reply::err("ERR Command not allowed inside a transaction");
    }
    transaction
        .queued
        .push(args.iter().map(|a| a.to_vec()).collect());
    transaction.flags |= command.flags;
    Reply::status("QUEUED")
}

fn multi(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    if ctx.client.multi.is_some() {
        return Err(Error::msg("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Transaction::default());
    ctx.client.info.multi.store(0, Ordering::Relaxed);
    Ok(Reply::Ok)
}

fn discard(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    if ctx.client.multi.take().is_none() {
        return Err(Error::msg("ERR DISCARD without MULTI"));
    }
    ctx.client.info.multi.store(-1, Ordering::Relaxed);
    ctx.client.clear_watches();
    Ok(Reply::Ok)
}

fn watch(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    if ctx.client.multi.is_some() {
        return Err(Error::msg("ERR WATCH inside MULTI is not allowed"));
    }
    if ctx.client.watched.is_empty() {
        ctx.client.watch_epoch = ctx.node.keyspace_epoch.load(Ordering::SeqCst);
    }
    let db = ctx.db();
    for key in &args[1..] {
        if ctx
            .client
            .watched
            .iter()
            .any(|w| w.db == db && w.key == *key)
        {
            continue;
        }
        let version = ctx.keys.lookup(db, key, Access::Peek).map(|e| e.version());
        ctx.client.watched.push(Watched {
            db,
            key: key.to_vec(),
            version,
        });
    }
    ctx.client.publish_watches();
    Ok(Reply::Ok)
}

fn unwatch(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    ctx.client.clear_watches();
    Ok(Reply::Ok)
}

fn exec(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let Some(transaction) = ctx.client.multi.take() else {
        return Err(Error::msg("ERR EXEC without MULTI"));
    };
    ctx.client.info.multi.store(-1, Ordering::Relaxed);
    let watched = std::mem::take(&mut ctx.client.watched);
    if !watched.is_empty() {
        ctx.client.publish_watches();
    }
    if transaction.failed {
        return Err(Error::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    // Every queued command was looked up when it was queued; the table does not change.
    let commands: Vec<(&'static table::Entry, Vec<&[u8]>)> = transaction
        .queued
        .iter()
        .filter_map(|args| {
            let argv: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            super::lookup(&argv).ok().map(|entry| (entry, argv))
        })
        .collect();
    let node = ctx.node;
    let now = ctx.keys.now;
    let mut locked = lock_everything_needed(ctx, &commands, &watched, now);
    let epoch_moved = node.keyspace_epoch.load(Ordering::SeqCst) != ctx.client.watch_epoch;
    let changed = !watched.is_empty()
        && (epoch_moved
            || watched.iter().any(|w| {
                locked
                    .lookup(w.db, &w.key, Access::Peek)
                    .map(|e| e.version())
                    != w.version
            }));
    if changed {
        return Ok(Reply::NullArray);
    }
    let mut replies = Vec::with_capacity(commands.len());
    for (entry, argv) in &commands {
        let ran = crate::request::run(
            node,
            ctx.client,
            &mut locked,
            entry,
            argv,
            Mode::Transaction,
        );
        // A queued `CLIENT KILL` of oneself or `DEBUG SLEEP` takes effect after EXEC.
        if ran.after.is_some() {
            ctx.after = ran.after;
        }
        // Errors inside EXEC's reply are error replies too, as Redis counts them.
        if let Reply::Error(text) = &ran.reply {
            node.count_error(text);
        }
        replies.push(ran.reply);
    }
    // What the queued commands changed goes with EXEC's own record: clients blocked on keys
    // the transaction filled are served once EXEC is done, and so on.
    let inner = locked.take_effects();
    drop(locked);
    if let Some(mut inner) = inner {
        ctx.keys.effects().append(&mut inner);
    }
    Ok(Reply::Array(replies))
}

/// Locks, in one go, the shards every queued command and every watched key needs: their
/// keys' shards, or every shard of every database when a command works on whole databases
/// or changes the selected one.
fn lock_everything_needed<'s>(
    ctx: &Ctx<'_, 's>,
    commands: &[(&'static table::Entry, Vec<&[u8]>)],
    watched: &[Watched],
    now: u64,
) -> crate::store::Locked<'s> {
    let store = ctx.keys.store();
    let databases = store.databases();
    let everything = commands
        .iter()
        .any(|(entry, _)| entry.command.has(KEYSPACE) || entry.command.name == "select");
    if everything {
        let all: Vec<DbIndex> = (0..databases).collect();
        return store.lock_databases(&all, now);
    }
    let db = ctx.db();
    let mut keys: SmallVec<[(DbIndex, &[u8]); 8]> = SmallVec::new();
    for (entry, argv) in commands {
        let command = entry.command;
        keys.extend(
            command
                .keys
                .positions(argv)
                .into_iter()
                .map(|i| (db, argv[i])),
        );
        if let Some((other, index)) = keys::cross_db_key(command, argv, databases) {
            keys.push((other, argv[index]));
        }
    }
    keys.extend(watched.iter().map(|w| (w.db, w.key.as_slice())));
    store.lock(keys, now)
}
