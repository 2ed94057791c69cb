//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, HELLO and CLIENT.
//!
//! Replies and error texts follow Redis 7.2 (`CLIENT SETINFO`, `CLIENT NO-TOUCH` and the
//! `lib-name`/`lib-ver` fields of `CLIENT LIST` included); `CLIENT KILL MAXAGE` follows 7.4.
//! The summaries and `CLIENT HELP` text are Shoal's own words.

use super::parse::{self, is};
use super::{Command, Ctx, KeySpec, Routing, flag::*, help_reply};
use crate::client::{ClientInfo, ReplyMode};
use crate::error::{CommandResult, Error};
use crate::protocol::{Protocol, Reply};
use crate::request::After;
use std::sync::atomic::Ordering;

const GROUP: &str = "connection";

/// The Redis version Shoal's command set and replies follow.
pub const REDIS_VERSION: &str = "7.4.0";

pub const COMMANDS: &[Command] = &[
    Command::new("ping", -1, FAST | SUBSCRIBED_OK, KeySpec::NONE, ping)
        .doc(
            GROUP,
            "1.0.0",
            "Answers PONG, or echoes the message when one is given.",
            "O(1)",
            "[message]",
        )
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    Command::new("echo", 2, LOADING | STALE | FAST, KeySpec::NONE, echo).doc(
        GROUP,
        "1.0.0",
        "Answers with its argument.",
        "O(1)",
        "message",
    ),
    Command::new(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SUBSCRIBED_OK,
        KeySpec::NONE,
        quit,
    )
    .doc(
        GROUP,
        "1.0.0",
        "Answers OK, then closes this connection.",
        "O(1)",
        "",
    )
    .routing(Routing::Here),
    Command::new(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | SUBSCRIBED_OK,
        KeySpec::NONE,
        reset,
    )
    .doc(
        GROUP,
        "6.2.0",
        "Puts this connection back in the state it had right after connecting.",
        "O(1)",
        "",
    )
    .routing(Routing::EndsTransaction),
    Command::new("select", 2, LOADING | STALE | FAST, KeySpec::NONE, select).doc(
        GROUP,
        "1.0.0",
        "Switches this connection to another numbered database.",
        "O(1)",
        "index:int",
    ),
    Command::new(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        KeySpec::NONE,
        hello,
    )
    .doc(
        GROUP,
        "6.0.0",
        "Chooses the protocol version, optionally names the connection, and describes the server.",
        "O(1)",
        "[arguments=protover:int [AUTH username password] [SETNAME clientname]]",
    ),
    Command::new("client", -2, 0, KeySpec::NONE, Command::container)
        .doc(
            GROUP,
            "2.4.0",
            "Inspects and controls client connections.",
            "Depends on the subcommand.",
            "",
        )
        .subcommands(CLIENT),
];

const CLIENT: &[Command] = &[
    Command::new("id", 2, NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_id)
        .doc(GROUP, "5.0.0", "Reports this connection's numeric id.", "O(1)", ""),
    Command::new("setname", 3, NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_setname)
        .doc(GROUP, "2.6.9", "Names this connection; an empty name removes the name.", "O(1)", "connection-name"),
    Command::new("getname", 2, NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_getname)
        .doc(GROUP, "2.6.9", "Reports this connection's name, or null when it has none.", "O(1)", ""),
    Command::new("list", -2, ADMIN | NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_list)
        .doc(GROUP, "2.4.0", "Describes the connected clients, one line each.", "O(N) in the number of connections", "[client-type=TYPE (NORMAL | MASTER | REPLICA | PUBSUB)] [ID client-id:int...]").tips(&["nondeterministic_output"]),
    Command::new("info", 2, NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_info)
        .doc(GROUP, "6.2.0", "Describes this connection in the format of CLIENT LIST.", "O(1)", "").tips(&["nondeterministic_output"]),
    Command::new("kill", -3, ADMIN | NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_kill)
        .doc(GROUP, "2.4.0", "Disconnects the clients matching the given filters.", "O(N) in the number of connections", "(filter=old-format=ip:port | (new-format=[ID client-id:int] | [client-type=TYPE (NORMAL | MASTER | SLAVE | REPLICA | PUBSUB)] | [USER username] | [ADDR addr=ip:port] | [LADDR laddr=ip:port] | [skipme=SKIPME (YES | NO)] | [MAXAGE maxage:int])...)"),
    Command::new("setinfo", 4, NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_setinfo)
        .doc(GROUP, "7.2.0", "Records the name or the version of the client library in use.", "O(1)", "(attr=LIB-NAME libname | LIB-VER libver)"),
    Command::new("no-evict", 3, ADMIN | NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_no_evict)
        .doc(GROUP, "7.0.0", "Exempts this connection from client eviction, or ends the exemption.", "O(1)", "(enabled=ON | OFF)"),
    Command::new("no-touch", 3, NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_no_touch)
        .doc(GROUP, "7.2.0", "Stops or resumes this connection's reads updating the access time of keys.", "O(1)", "(enabled=ON | OFF)"),
    Command::new("reply", 3, NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_reply)
        .doc(GROUP, "3.2.0", "Turns replies to this connection on or off, or drops the next one.", "O(1)", "(action=ON | OFF | SKIP)"),
    Command::new("tracking", -3, NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_tracking)
        .doc(GROUP, "6.0.0", "Turns client-side-caching invalidations for this connection on or off.", "O(1), or O(N) in the number of prefixes given", "status=(ON | OFF) [REDIRECT client-id:int] [PREFIX prefix...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]"),
    Command::new("caching", 3, NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_caching)
        .doc(GROUP, "6.0.0", "Says whether the next command's keys are tracked (OPTIN or OPTOUT mode).", "O(1)", "mode=(YES | NO)"),
    Command::new("getredir", 2, NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_getredir)
        .doc(GROUP, "6.0.0", "Reports the client this connection's invalidations are redirected to.", "O(1)", ""),
    Command::new("trackinginfo", 2, NOSCRIPT | LOADING | STALE, KeySpec::NONE, client_trackinginfo)
        .doc(GROUP, "6.2.0", "Describes this connection's client-side-caching tracking.", "O(1)", ""),
    Command::new("help", 2, LOADING | STALE, KeySpec::NONE, client_help)
        .doc(GROUP, "5.0.0", "Lists the CLIENT subcommands.", "O(1)", ""),
];

fn ping(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    // A RESP2 subscriber gets a message-shaped answer it can tell from published messages.
    if ctx.client.protocol == Protocol::Resp2 && ctx.client.subscriptions.any() {
        let message = args.get(1).copied().unwrap_or_default();
        if args.len() <= 2 {
            return Ok(Reply::Array(vec![
                Reply::bulk_static("pong"),
                Reply::bulk(message),
            ]));
        }
    }
    match args {
        [_] => Ok(Reply::status("PONG")),
        [_, message] => Ok(Reply::bulk(message)),
        _ => {
            let _ = ctx;
            Err(Error::msg(
                "ERR wrong number of arguments for 'ping' command",
            ))
        }
    }
}

fn echo(_ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    Ok(Reply::bulk(args[1]))
}

fn quit(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    ctx.after = Some(After::Close);
    Ok(Reply::Ok)
}

fn reset(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let client = &mut *ctx.client;
    client.select(0);
    client.set_protocol(Protocol::Resp2);
    // Like Redis, RESET ends `CLIENT REPLY OFF` and a pending `SKIP`, but when RESET is
    // itself the skipped command its reply stays silent.
    if client.reply_mode != ReplyMode::Skipping {
        client.reply_mode = ReplyMode::On;
    }
    client.set_no_touch(false);
    client.replica_reads = false;
    client.info.no_evict.store(false, Ordering::Relaxed);
    *client.info.name.lock() = None;
    client.multi = None;
    client.info.multi.store(-1, Ordering::Relaxed);
    client.clear_watches();
    super::pubsub::unsubscribe_all(ctx.node, client);
    ctx.node.tracking.disable(ctx.node, &client.info);
    client.tracking = None;
    client.tracking_mark = None;
    client.caching = false;
    // The connection leaves MONITOR mode.
    ctx.after = Some(After::Reset);
    Ok(Reply::status("RESET"))
}

fn select(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let index = parse::int(args[1])?;
    let db = usize::try_from(index)
        .ok()
        .filter(|&db| db < ctx.node.store.databases())
        .ok_or(Error::DbIndexOutOfRange)?;
    ctx.client.select(db);
    Ok(Reply::Ok)
}

/// Client and library names may not contain spaces or special characters.
fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

fn hello(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let mut protocol = ctx.client.protocol;
    if let Some(version) = args.get(1) {
        let version = parse::int(version)
            .map_err(|_| Error::msg("ERR Protocol version is not an integer or out of range"))?;
        protocol = match version {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(Error::msg("NOPROTO unsupported protocol version")),
        };
    }
    let mut name = None;
    let mut user = None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if is(args[i], "auth") && more >= 2 {
            user = Some(args[i + 1]);
            i += 3;
        } else if is(args[i], "setname") && more >= 1 {
            if !valid_name(args[i + 1]) {
                return Err(Error::msg(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            name = Some(args[i + 1]);
            i += 2;
        } else {
            return Err(Error::err(format!(
                "Syntax error in HELLO option '{}'",
                parse::text(args[i])
            )));
        }
    }
    // No password is configured, so the default user accepts any password, as in Redis;
    // there is no other user.
    if user.is_some_and(|user| !is(user, "default")) {
        return Err(Error::msg(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ));
    }
    if let Some(name) = name {
        *ctx.client.info.name.lock() = Some(parse::text(name)).filter(|n| !n.is_empty());
    }
    ctx.client.set_protocol(protocol);
    let field = |k: &'static str, v: Reply| (Reply::bulk_static(k), v);
    Ok(Reply::Map(vec![
        field("server", Reply::bulk_static("redis")),
        field("version", Reply::bulk_static(REDIS_VERSION)),
        field("proto", Reply::Int(protocol.version())),
        field("id", Reply::Int(ctx.client.id as i64)),
        field(
            "mode",
            Reply::bulk_static(match ctx.node.cluster.get() {
                Some(_) => "cluster",
                None => "standalone",
            }),
        ),
        field("role", Reply::bulk_static("master")),
        field("modules", Reply::Array(vec![])),
    ]))
}

fn client_id(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(Reply::Int(ctx.client.id as i64))
}

fn client_setname(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    if !valid_name(args[2]) {
        return Err(Error::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    *ctx.client.info.name.lock() = Some(parse::text(args[2])).filter(|n| !n.is_empty());
    Ok(Reply::Ok)
}

fn client_getname(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(match ctx.client.info.name.lock().as_deref() {
        Some(name) => Reply::bulk(name.as_bytes()),
        None => Reply::Null,
    })
}

/// One `CLIENT LIST` line, with Redis 7.2's fields.
pub fn describe(info: &ClientInfo, now_ms: u64) -> String {
    let cmd = info.last_command.load(Ordering::Relaxed);
    let cmd = super::table::name_of(cmd).unwrap_or("NULL");
    // Redis's letters, in Redis's order.
    let [sub, psub, ssub] = [0, 1, 2].map(|i| info.subscriptions[i].load(Ordering::Relaxed));
    let (redir, tracking_flags) = match info.tracking.lock().as_ref() {
        None => (-1, ""),
        Some(m) => (
            m.flags.redirect as i64,
            match (m.broken_redirect, m.flags.bcast) {
                (false, false) => "t",
                (true, false) => "tR",
                (false, true) => "tB",
                (true, true) => "tRB",
            },
        ),
    };
    let mut flags = String::new();
    for (on, letter) in [
        (info.monitor.load(Ordering::Relaxed), "O"),
        (sub + psub + ssub > 0, "P"),
        (info.multi.load(Ordering::Relaxed) >= 0, "x"),
        (info.blocked.load(Ordering::Relaxed), "b"),
        (true, tracking_flags),
        (info.no_evict.load(Ordering::Relaxed), "e"),
        (info.no_touch.load(Ordering::Relaxed), "T"),
    ] {
        if on {
            flags.push_str(letter);
        }
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let qbuf = info.query_buffer.load(Ordering::Relaxed);
    let omem = info.output_buffer.load(Ordering::Relaxed);
    let text = |m: &parking_lot::Mutex<Option<String>>| m.lock().clone().unwrap_or_default();
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} watch={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp={} obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user=default redir={} resp={} lib-name={} lib-ver={}",
        info.id,
        info.addr,
        info.local_addr,
        info.fd,
        text(&info.name),
        now_ms.saturating_sub(info.created_ms) / 1000,
        now_ms.saturating_sub(info.last_interaction_ms.load(Ordering::Relaxed)) / 1000,
        flags,
        info.db.load(Ordering::Relaxed),
        sub,
        psub,
        ssub,
        info.multi.load(Ordering::Relaxed),
        info.watched_keys.lock().len(),
        qbuf,
        crate::connection::READ_BUFFER_SIZE.saturating_sub(qbuf),
        crate::connection::READ_BUFFER_SIZE,
        qbuf,
        omem,
        crate::connection::READ_BUFFER_SIZE + omem,
        cmd,
        redir,
        info.resp.load(Ordering::Relaxed),
        text(&info.lib_name),
        text(&info.lib_ver),
    )
}

/// Every connected client, minus those already killed: a killed connection leaves the
/// registry a moment later, but for Redis it is gone at once.
fn live_clients(ctx: &Ctx<'_, '_>) -> Vec<std::sync::Arc<ClientInfo>> {
    let mut clients = ctx.node.clients.all();
    clients.retain(|c| !c.is_killed());
    clients
}

/// Whether `kind` names a client type Redis knows (`CLIENT LIST TYPE`, `CLIENT KILL TYPE`).
fn known_client_type(kind: &[u8]) -> bool {
    ["normal", "master", "replica", "slave", "pubsub"]
        .iter()
        .any(|t| is(kind, t))
}

fn client_list(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let now = crate::clock::now_ms();
    let mut out = String::new();
    match args {
        [_, _] => {
            for info in live_clients(ctx) {
                out.push_str(&describe(&info, now));
                out.push('\n');
            }
        }
        [_, _, kind_word, kind] if is(kind_word, "type") => {
            if !known_client_type(kind) {
                return Err(Error::err(format!(
                    "Unknown client type '{}'",
                    parse::text(kind)
                )));
            }
            // Every client here is a normal one: the other types select nobody.
            if is(kind, "normal") {
                for info in live_clients(ctx) {
                    out.push_str(&describe(&info, now));
                    out.push('\n');
                }
            }
        }
        [_, _, id_word, ids @ ..] if is(id_word, "id") && !ids.is_empty() => {
            // Redis answers in the order the ids are given, skipping unknown ones.
            for id in ids {
                let id = parse::int(id).map_err(|_| Error::msg("ERR Invalid client ID"))?;
                let client = u64::try_from(id)
                    .ok()
                    .and_then(|id| ctx.node.clients.get(id))
                    .filter(|c| !c.is_killed());
                if let Some(info) = client {
                    out.push_str(&describe(&info, now));
                    out.push('\n');
                }
            }
        }
        _ => return Err(Error::Syntax),
    }
    Ok(Reply::Verbatim(out.into()))
}

fn client_info(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let line = describe(&ctx.client.info, crate::clock::now_ms()) + "\n";
    Ok(Reply::Verbatim(line.into()))
}

/// Filters of `CLIENT KILL`'s new form.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<String>,
    laddr: Option<String>,
    user: Option<String>,
    normal_only: Option<bool>,
    skip_me: bool,
    max_age: Option<u64>,
}

fn client_kill(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let clients = live_clients(ctx);
    if args.len() == 3 {
        // Old form: CLIENT KILL ip:port.
        let addr = parse::text(args[2]);
        let Some(target) = clients.iter().find(|c| c.addr.to_string() == addr) else {
            return Err(Error::msg("ERR No such client"));
        };
        if target.id == ctx.client.id {
            ctx.after = Some(After::Close);
        } else {
            target.kill();
        }
        return Ok(Reply::Ok);
    }
    let mut filter = KillFilter {
        skip_me: true,
        ..KillFilter::default()
    };
    let mut i = 2;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            return Err(Error::Syntax);
        };
        let name = args[i];
        if is(name, "id") {
            let id = parse::int(value).ok().filter(|&id| id > 0);
            filter.id =
                Some(id.ok_or(Error::msg("ERR client-id should be greater than 0"))? as u64);
        } else if is(name, "type") {
            if !known_client_type(value) {
                return Err(Error::err(format!(
                    "Unknown client type '{}'",
                    parse::text(value)
                )));
            }
            filter.normal_only = Some(is(value, "normal"));
        } else if is(name, "addr") {
            filter.addr = Some(parse::text(value));
        } else if is(name, "laddr") {
            filter.laddr = Some(parse::text(value));
        } else if is(name, "user") {
            filter.user = Some(parse::text(value));
        } else if is(name, "skipme") {
            filter.skip_me = match () {
                _ if is(value, "yes") => true,
                _ if is(value, "no") => false,
                _ => return Err(Error::Syntax),
            };
        } else if is(name, "maxage") {
            let age = parse::int(value)
                .map_err(|_| Error::msg("ERR maxage is not an integer or out of range"))?;
            if age <= 0 {
                return Err(Error::msg("ERR maxage should be greater than 0"));
            }
            filter.max_age = Some(age as u64);
        } else {
            return Err(Error::Syntax);
        }
        i += 2;
    }
    if filter.user.as_deref().is_some_and(|u| u != "default") {
        return Err(Error::err(format!(
            "No such user '{}'",
            filter.user.unwrap_or_default()
        )));
    }
    let now = crate::clock::now_ms();
    let mut killed = 0;
    for info in clients {
        let me = info.id == ctx.client.id;
        let selected = filter.id.is_none_or(|id| id == info.id)
            && filter
                .addr
                .as_deref()
                .is_none_or(|a| a == info.addr.to_string())
            && filter
                .laddr
                .as_deref()
                .is_none_or(|a| a == info.local_addr.to_string())
            && filter.normal_only != Some(false)
            && filter
                .max_age
                .is_none_or(|age| now.saturating_sub(info.created_ms) / 1000 >= age)
            && !(me && filter.skip_me);
        if selected {
            killed += 1;
            if me {
                ctx.after = Some(After::Close);
            } else {
                info.kill();
            }
        }
    }
    Ok(Reply::Int(killed))
}

fn client_setinfo(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (attr, value) = (args[2], args[3]);
    let slot = if is(attr, "lib-name") {
        &ctx.client.info.lib_name
    } else if is(attr, "lib-ver") {
        &ctx.client.info.lib_ver
    } else {
        return Err(Error::err(format!(
            "Unrecognized option '{}'",
            parse::text(attr)
        )));
    };
    if !valid_name(value) {
        return Err(Error::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            parse::text(attr)
        )));
    }
    *slot.lock() = Some(parse::text(value)).filter(|v| !v.is_empty());
    Ok(Reply::Ok)
}

fn client_no_evict(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let on = parse::on_off(args[2])?;
    ctx.client.info.no_evict.store(on, Ordering::Relaxed);
    Ok(Reply::Ok)
}

fn client_no_touch(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let on = parse::on_off(args[2])?;
    ctx.client.set_no_touch(on);
    Ok(Reply::Ok)
}

fn client_reply(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let mode = args[2];
    if is(mode, "on") {
        ctx.client.reply_mode = ReplyMode::On;
        Ok(Reply::Ok)
    } else if is(mode, "off") {
        ctx.client.reply_mode = ReplyMode::Off;
        Ok(Reply::Ok)
    } else if is(mode, "skip") {
        if ctx.client.reply_mode == ReplyMode::Skipping {
            ctx.client.reply_mode = ReplyMode::On;
        }
        if ctx.client.reply_mode == ReplyMode::On {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
        Ok(Reply::Ok)
    } else {
        Err(Error::Syntax)
    }
}

fn client_tracking(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    use crate::tracking::Flags;
    let mut wanted = Flags::default();
    let mut prefixes: Vec<bytes::Bytes> = Vec::new();
    let mut at = 3;
    while at < args.len() {
        let option = args[at];
        let more = at + 1 < args.len();
        if is(option, "redirect") && more {
            at += 1;
            if wanted.redirect != 0 {
                return Err(Error::err(
                    "A client can only redirect to a single other client",
                ));
            }
            let id = parse::int(args[at])?;
            let exists = u64::try_from(id)
                .ok()
                .and_then(|id| ctx.node.clients.get(id))
                .is_some_and(|c| !c.is_killed());
            if !exists {
                return Err(Error::err(
                    "The client ID you want redirect to does not exist",
                ));
            }
            wanted.redirect = id as u64;
        } else if is(option, "bcast") {
            wanted.bcast = true;
        } else if is(option, "optin") {
            wanted.optin = true;
        } else if is(option, "optout") {
            wanted.optout = true;
        } else if is(option, "noloop") {
            wanted.noloop = true;
        } else if is(option, "prefix") && more {
            at += 1;
            prefixes.push(bytes::Bytes::copy_from_slice(args[at]));
        } else {
            return Err(Error::Syntax);
        }
        at += 1;
    }
    let node = ctx.node;
    let client = &mut *ctx.client;
    if is(args[2], "off") {
        node.tracking.disable(node, &client.info);
        client.tracking = None;
        client.tracking_mark = None;
        client.caching = false;
        return Ok(Reply::Ok);
    }
    if !is(args[2], "on") {
        return Err(Error::Syntax);
    }
    if !wanted.bcast && !prefixes.is_empty() {
        return Err(Error::err(
            "PREFIX option requires BCAST mode to be enabled",
        ));
    }
    if let Some(current) = client.tracking
        && current.bcast != wanted.bcast
    {
        return Err(Error::err(
            "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if wanted.bcast && (wanted.optin || wanted.optout) {
        return Err(Error::err("OPTIN and OPTOUT are not compatible with BCAST"));
    }
    if wanted.optin && wanted.optout {
        return Err(Error::err(
            "You can't specify both OPTIN mode and OPTOUT mode",
        ));
    }
    if let Some(current) = client.tracking
        && ((wanted.optin && current.optout) || (wanted.optout && current.optin))
    {
        return Err(Error::err(
            "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if wanted.bcast {
        check_prefixes(&client.info, &prefixes)?;
    }
    node.tracking.enable(node, &client.info, wanted, &prefixes);
    client.tracking = Some(wanted);
    client.tracking_mark = node.tracking.mark(node);
    Ok(Reply::Ok)
}

/// Redis's rule for BCAST prefixes: no two of a client's may overlap (one a prefix of the
/// other), counting those it already has.
fn check_prefixes(info: &ClientInfo, prefixes: &[bytes::Bytes]) -> Result<(), Error> {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let existing: Vec<bytes::Bytes> = info
        .tracking
        .lock()
        .as_ref()
        .map(|m| m.prefixes.clone())
        .unwrap_or_default();
    for (i, prefix) in prefixes.iter().enumerate() {
        if let Some(old) = existing.iter().find(|old| overlap(prefix, old)) {
            return Err(Error::err(format!(
                "Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                text(prefix),
                text(old)
            )));
        }
        if let Some(other) = prefixes[i + 1..]
            .iter()
            .find(|other| overlap(prefix, other))
        {
            return Err(Error::err(format!(
                "Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                text(prefix),
                text(other)
            )));
        }
    }
    Ok(())
}

fn client_caching(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let Some(flags) = ctx.client.tracking else {
        return Err(Error::err(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    };
    if is(args[2], "yes") {
        if !flags.optin {
            return Err(Error::err(
                "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if is(args[2], "no") {
        if !flags.optout {
            return Err(Error::err(
                "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(Error::Syntax);
    }
    ctx.client.caching = true;
    Ok(Reply::Ok)
}

fn client_getredir(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(Reply::Int(
        ctx.client.tracking.map_or(-1, |f| f.redirect as i64),
    ))
}

fn client_trackinginfo(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let client = &*ctx.client;
    let (prefixes, broken) = client
        .info
        .tracking
        .lock()
        .as_ref()
        .map(|m| (m.prefixes.clone(), m.broken_redirect))
        .unwrap_or_default();
    let flag = |name: &'static str| Reply::bulk(name.as_bytes());
    // Redis's names, in Redis's order.
    let flags: Vec<Reply> = match client.tracking {
        None => vec![flag("off")],
        Some(t) => [
            (true, "on"),
            (t.bcast, "bcast"),
            (t.optin, "optin"),
            (t.optin && client.caching, "caching-yes"),
            (t.optout, "optout"),
            (t.optout && client.caching, "caching-no"),
            (t.noloop, "noloop"),
            (broken, "broken_redirect"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| flag(name))
        .collect(),
    };
    Ok(Reply::Map(vec![
        (flag("flags"), Reply::Set(flags)),
        (
            flag("redirect"),
            Reply::Int(client.tracking.map_or(-1, |f| f.redirect as i64)),
        ),
        (
            flag("prefixes"),
            Reply::Array(prefixes.iter().map(|p| Reply::bulk(p)).collect()),
        ),
    ]))
}

fn client_help(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(help_reply(
        "CLIENT",
        &[
            "GETNAME",
            "    Reply with this connection's name, or null when it has none.",
            "ID",
            "    Reply with this connection's numeric id.",
            "INFO",
            "    Describe this connection, in the format of CLIENT LIST.",
            "KILL <ip:port>",
            "    Disconnect the client that connected from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Disconnect every client that matches all the filters given:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      the address the client connected from.",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      the local address the client connected to.",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      the kind of client.",
            "    * USER <username>",
            "      the user the client logged in as.",
            "    * SKIPME (YES|NO)",
            "      whether this connection is spared (it is unless NO is given).",
            "    * ID <client-id>",
            "      the client's id.",
            "    * MAXAGE <maxage>",
            "      clients connected for at least <maxage> seconds.",
            "LIST [options ...]",
            "    Describe the connected clients, one per line. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      only clients of this kind.",
            "    * ID <client-id> [<client-id> ...]",
            "      only the clients with these ids, in this order.",
            "REPLY (ON|OFF|SKIP)",
            "    Turn replies to this connection on or off, or drop only the next one.",
            "SETNAME <name>",
            "    Give this connection the name <name>; an empty name removes it.",
            "SETINFO <option> <value>",
            "    Record which client library this connection uses. Options:",
            "    * LIB-NAME: the library's name.",
            "    * LIB-VER: the library's version.",
            "NO-EVICT (ON|OFF)",
            "    Exempt this connection from client eviction, or end the exemption.",
            "NO-TOUCH (ON|OFF)",
            "    While ON, reads from this connection leave the access time of keys alone.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT] [NOLOOP]",
            "    Turn client-side-caching invalidations on or off. Options:",
            "    * REDIRECT <id>: send them to the client with this id instead.",
            "    * BCAST: hear of every change of keys under the prefixes (every key without one).",
            "    * PREFIX <prefix>: a prefix for BCAST; may be given several times.",
            "    * OPTIN: track reads only after CLIENT CACHING YES.",
            "    * OPTOUT: track reads except after CLIENT CACHING NO.",
            "    * NOLOOP: not of this connection's own writes.",
            "CACHING (YES|NO)",
            "    Track, or not, the keys of the next command (OPTIN or OPTOUT mode).",
            "GETREDIR",
            "    Reply with the id invalidations are redirected to (0: none, -1: not tracking).",
            "TRACKINGINFO",
            "    Describe this connection's tracking: flags, redirect and prefixes.",
        ],
    ))
}
