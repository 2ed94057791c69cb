//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, HELLO and CLIENT.

use super::parse::{self, is};
use super::{Command, Ctx, Doc, KeySpec, flag::*, help_reply};
use crate::client::{ClientInfo, ReplyMode};
use crate::error::{CommandResult, Error};
use crate::protocol::{Protocol, Reply};
use std::sync::atomic::Ordering;

const fn doc(
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    args: &'static str,
) -> Doc {
    Doc {
        group: "connection",
        since,
        summary,
        complexity,
        args,
    }
}

/// The Redis version Shoal's command set and replies follow.
pub const REDIS_VERSION: &str = "7.2.4";

pub const COMMANDS: &[Command] = &[
    Command {
        name: "ping",
        arity: -1,
        flags: FAST,
        keys: KeySpec::NONE,
        doc: doc(
            "1.0.0",
            "Returns the server's liveliness response.",
            "O(1)",
            "[message]",
        ),
        run: ping,
        subcommands: &[],
    },
    Command {
        name: "echo",
        arity: 2,
        flags: FAST,
        keys: KeySpec::NONE,
        doc: doc("1.0.0", "Returns the given string.", "O(1)", "message"),
        run: echo,
        subcommands: &[],
    },
    Command {
        name: "quit",
        arity: -1,
        flags: ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        keys: KeySpec::NONE,
        doc: doc("1.0.0", "Closes the connection.", "O(1)", ""),
        run: quit,
        subcommands: &[],
    },
    Command {
        name: "reset",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        keys: KeySpec::NONE,
        doc: doc("6.2.0", "Resets the connection.", "O(1)", ""),
        run: reset,
        subcommands: &[],
    },
    Command {
        name: "select",
        arity: 2,
        flags: LOADING | STALE | FAST,
        keys: KeySpec::NONE,
        doc: doc(
            "1.0.0",
            "Changes the selected database.",
            "O(1)",
            "index:int",
        ),
        run: select,
        subcommands: &[],
    },
    Command {
        name: "hello",
        arity: -1,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        keys: KeySpec::NONE,
        doc: doc(
            "6.0.0",
            "Handshakes with the Redis server.",
            "O(1)",
            "[arguments=protover:int [AUTH username password] [SETNAME clientname]]",
        ),
        run: hello,
        subcommands: &[],
    },
    Command {
        name: "client",
        arity: -2,
        flags: 0,
        keys: KeySpec::NONE,
        doc: doc(
            "2.4.0",
            "A container for client connection commands.",
            "Depends on subcommand.",
            "",
        ),
        run: Command::container,
        subcommands: CLIENT,
    },
];

const CLIENT: &[Command] = &[
    Command {
        name: "id",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        keys: KeySpec::NONE,
        doc: doc(
            "5.0.0",
            "Returns the unique client ID of the connection.",
            "O(1)",
            "",
        ),
        run: client_id,
        subcommands: &[],
    },
    Command {
        name: "setname",
        arity: 3,
        flags: NOSCRIPT | LOADING | STALE,
        keys: KeySpec::NONE,
        doc: doc(
            "2.6.9",
            "Sets the connection name.",
            "O(1)",
            "connection-name",
        ),
        run: client_setname,
        subcommands: &[],
    },
    Command {
        name: "getname",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        keys: KeySpec::NONE,
        doc: doc("2.6.9", "Returns the name of the connection.", "O(1)", ""),
        run: client_getname,
        subcommands: &[],
    },
    Command {
        name: "list",
        arity: -2,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        keys: KeySpec::NONE,
        doc: doc(
            "2.4.0",
            "Lists open connections.",
            "O(N) where N is the number of client connections",
            "[TYPE (NORMAL | MASTER | REPLICA | PUBSUB)] [ID client-id:int...]",
        ),
        run: client_list,
        subcommands: &[],
    },
    Command {
        name: "info",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        keys: KeySpec::NONE,
        doc: doc(
            "6.2.0",
            "Returns information about the connection.",
            "O(1)",
            "",
        ),
        run: client_info,
        subcommands: &[],
    },
    Command {
        name: "kill",
        arity: -3,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        keys: KeySpec::NONE,
        doc: doc(
            "2.4.0",
            "Terminates open connections.",
            "O(N) where N is the number of client connections",
            "[filter=ip:port | ([ID client-id:int] [TYPE (NORMAL | MASTER | SLAVE | REPLICA | PUBSUB)] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME (YES | NO)] [MAXAGE maxage:int])...]",
        ),
        run: client_kill,
        subcommands: &[],
    },
    Command {
        name: "setinfo",
        arity: 4,
        flags: NOSCRIPT | LOADING | STALE,
        keys: KeySpec::NONE,
        doc: doc(
            "7.2.0",
            "Sets information specific to the client or connection.",
            "O(1)",
            "(LIB-NAME libname | LIB-VER libver)",
        ),
        run: client_setinfo,
        subcommands: &[],
    },
    Command {
        name: "no-evict",
        arity: 3,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        keys: KeySpec::NONE,
        doc: doc(
            "7.0.0",
            "Sets the client eviction mode of the connection.",
            "O(1)",
            "(enabled=ON | OFF)",
        ),
        run: client_no_evict,
        subcommands: &[],
    },
    Command {
        name: "no-touch",
        arity: 3,
        flags: NOSCRIPT | LOADING | STALE,
        keys: KeySpec::NONE,
        doc: doc(
            "7.2.0",
            "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
            "O(1)",
            "(enabled=ON | OFF)",
        ),
        run: client_no_touch,
        subcommands: &[],
    },
    Command {
        name: "reply",
        arity: 3,
        flags: NOSCRIPT | LOADING | STALE,
        keys: KeySpec::NONE,
        doc: doc(
            "3.2.0",
            "Instructs the server whether to reply to commands.",
            "O(1)",
            "(action=ON | OFF | SKIP)",
        ),
        run: client_reply,
        subcommands: &[],
    },
    Command {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        keys: KeySpec::NONE,
        doc: doc(
            "5.0.0",
            "Returns helpful text about the different subcommands.",
            "O(1)",
            "",
        ),
        run: client_help,
        subcommands: &[],
    },
];

fn ping(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
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
    ctx.client.close_after_reply = true;
    Ok(Reply::Ok)
}

fn reset(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let client = &mut *ctx.client;
    client.select(0);
    client.set_protocol(Protocol::Resp2);
    client.reply_mode = ReplyMode::On;
    client.set_no_touch(false);
    client.info.no_evict.store(false, Ordering::Relaxed);
    *client.info.name.lock() = None;
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
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if is(args[i], "auth") && more >= 2 {
            // No password is configured, so the default user is open, as in Redis.
            if !is(args[i + 1], "default") {
                return Err(Error::msg(
                    "WRONGPASS invalid username-password pair or user is disabled.",
                ));
            }
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
        field("mode", Reply::bulk_static("standalone")),
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
    let mut flags = String::new();
    if info.no_evict.load(Ordering::Relaxed) {
        flags.push('e');
    }
    if info.no_touch.load(Ordering::Relaxed) {
        flags.push('T');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let qbuf = info.query_buffer.load(Ordering::Relaxed);
    let omem = info.output_buffer.load(Ordering::Relaxed);
    let text = |m: &parking_lot::Mutex<Option<String>>| m.lock().clone().unwrap_or_default();
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi=-1 qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp={} obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        info.id,
        info.addr,
        info.local_addr,
        info.fd,
        text(&info.name),
        now_ms.saturating_sub(info.created_ms) / 1000,
        now_ms.saturating_sub(info.last_interaction_ms.load(Ordering::Relaxed)) / 1000,
        flags,
        info.db.load(Ordering::Relaxed),
        qbuf,
        crate::connection::READ_BUFFER_SIZE.saturating_sub(qbuf),
        crate::connection::READ_BUFFER_SIZE,
        qbuf,
        omem,
        crate::connection::READ_BUFFER_SIZE + omem,
        cmd,
        info.resp.load(Ordering::Relaxed),
        text(&info.lib_name),
        text(&info.lib_ver),
    )
}

fn client_list(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < args.len() {
        if is(args[i], "type") && i + 1 < args.len() {
            let kind = args[i + 1];
            if !["normal", "master", "replica", "slave", "pubsub"]
                .iter()
                .any(|t| is(kind, t))
            {
                return Err(Error::err(format!(
                    "Unknown client type '{}'",
                    parse::text(kind)
                )));
            }
            // Every client here is a normal one: other types select nobody.
            if !is(kind, "normal") {
                ids = Some(Vec::new());
            }
            i += 2;
        } else if is(args[i], "id") && i + 1 < args.len() {
            let mut wanted = Vec::new();
            for arg in &args[i + 1..] {
                match parse::int(arg) {
                    Ok(id) if id > 0 => wanted.push(id as u64),
                    _ => return Err(Error::msg("ERR Invalid client ID")),
                }
            }
            ids = Some(match ids {
                Some(existing) if existing.is_empty() => existing,
                _ => wanted,
            });
            i = args.len();
        } else {
            return Err(Error::Syntax);
        }
    }
    let now = crate::clock::now_ms();
    let mut out = String::new();
    for info in ctx.node.clients.all() {
        if ids.as_ref().is_some_and(|ids| !ids.contains(&info.id)) {
            continue;
        }
        out.push_str(&describe(&info, now));
        out.push('\n');
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
    let clients = ctx.node.clients.all();
    if args.len() == 3 {
        // Old form: CLIENT KILL ip:port.
        let addr = parse::text(args[2]);
        let Some(target) = clients.iter().find(|c| c.addr.to_string() == addr) else {
            return Err(Error::msg("ERR No such client"));
        };
        if target.id == ctx.client.id {
            ctx.client.close_after_reply = true;
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
            if !["normal", "master", "replica", "slave", "pubsub"]
                .iter()
                .any(|t| is(value, t))
            {
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
            filter.max_age = Some(parse::int(value)?.max(0) as u64);
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
                ctx.client.close_after_reply = true;
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
            parse::text(attr).to_ascii_lowercase()
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

fn client_help(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(help_reply(
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "    * MAXAGE <maxage>",
            "      Kill connections older than the specified age.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "    * ID <client-id> [<client-id> ...]",
            "      Return clients of specified IDs only.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    ))
}
