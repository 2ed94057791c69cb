//! Server commands: COMMAND, CONFIG, INFO, TIME, SHUTDOWN, DEBUG.

use super::parse::{self, is};
use super::{Command, Ctx, KeySpec, docs, flag::*, help_reply, table};
use crate::config::ConfigError;
use crate::error::{CommandResult, Error};
use crate::protocol::Reply;

const GROUP: &str = "server";

pub const COMMANDS: &[Command] = &[
    Command::new("command", -1, LOADING | STALE, KeySpec::NONE, command_all)
        .doc(
            GROUP,
            "2.8.13",
            "Describes every command the server knows.",
            "O(N) in the number of commands",
            "",
        )
        .tips(&["nondeterministic_output_order"])
        .subcommands(COMMAND),
    Command::new("config", -2, 0, KeySpec::NONE, Command::container)
        .doc(
            GROUP,
            "2.0.0",
            "Container for the configuration subcommands.",
            "Depends on the subcommand.",
            "",
        )
        .subcommands(CONFIG),
    Command::new("info", -1, LOADING | STALE | KEYSPACE, KeySpec::NONE, info)
        .doc(
            GROUP,
            "1.0.0",
            "Reports what the server knows about itself, by section.",
            "O(1)",
            "[section...]",
        )
        .tips(&[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ]),
    Command::new("time", 1, LOADING | STALE | FAST, KeySpec::NONE, time)
        .doc(
            GROUP,
            "2.6.0",
            "Reports the server's clock as seconds and microseconds.",
            "O(1)",
            "",
        )
        .tips(&["nondeterministic_output"]),
    Command::new(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        KeySpec::NONE,
        shutdown,
    )
    .doc(
        GROUP,
        "1.0.0",
        "Stops the server after finishing what clients sent.",
        "O(N) in the number of clients",
        "[save-selector=NOSAVE | SAVE] [NOW] [FORCE] [ABORT]",
    ),
    Command::new(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        KeySpec::NONE,
        debug,
    )
    .doc(
        GROUP,
        "1.0.0",
        "Tools for testing the server.",
        "Depends on the subcommand.",
        "",
    ),
];

const COMMAND: &[Command] = &[
    Command::new("count", 2, LOADING | STALE, KeySpec::NONE, command_count).doc(
        GROUP,
        "2.8.13",
        "Counts the commands the server knows.",
        "O(1)",
        "",
    ),
    Command::new("info", -2, LOADING | STALE, KeySpec::NONE, command_info)
        .doc(
            GROUP,
            "2.8.13",
            "Describes the named commands, or all of them.",
            "O(N) in the number of commands described",
            "[command-name...]",
        )
        .tips(&["nondeterministic_output_order"]),
    Command::new("docs", -2, LOADING | STALE, KeySpec::NONE, command_docs)
        .doc(
            GROUP,
            "7.0.0",
            "Documents the named commands, or all of them.",
            "O(N) in the number of commands documented",
            "[command-name...]",
        )
        .tips(&["nondeterministic_output_order"]),
    Command::new("list", -2, LOADING | STALE, KeySpec::NONE, command_list)
        .doc(
            GROUP,
            "7.0.0",
            "Lists command names, optionally filtered.",
            "O(N) in the number of commands",
            "[filterby=FILTERBY (MODULE module-name | ACLCAT category | PATTERN pattern:pattern)]",
        )
        .tips(&["nondeterministic_output_order"]),
    Command::new(
        "getkeys",
        -3,
        LOADING | STALE,
        KeySpec::NONE,
        command_getkeys,
    )
    .doc(
        GROUP,
        "2.8.13",
        "Reports which arguments of a command are keys.",
        "O(N) in the number of arguments",
        "command [arg...]",
    ),
    Command::new("help", 2, LOADING | STALE, KeySpec::NONE, command_help).doc(
        GROUP,
        "5.0.0",
        "Lists the COMMAND subcommands.",
        "O(1)",
        "",
    ),
];

const CONFIG: &[Command] = &[
    Command::new(
        "get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        KeySpec::NONE,
        config_get,
    )
    .doc(
        GROUP,
        "2.0.0",
        "Reads the settings whose names match the patterns.",
        "O(N) in the number of settings",
        "parameter...",
    ),
    Command::new(
        "set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        KeySpec::NONE,
        config_set,
    )
    .doc(
        GROUP,
        "2.0.0",
        "Changes settings at runtime, all or none.",
        "O(N) in the number of settings",
        "(data=parameter value)...",
    )
    .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
    Command::new(
        "resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE | KEYSPACE,
        KeySpec::NONE,
        config_resetstat,
    )
    .doc(
        GROUP,
        "2.0.0",
        "Zeroes the statistics INFO reports.",
        "O(1)",
        "",
    ),
    Command::new("help", 2, LOADING | STALE, KeySpec::NONE, config_help).doc(
        GROUP,
        "5.0.0",
        "Lists the CONFIG subcommands.",
        "O(1)",
        "",
    ),
];

fn command_all(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(Reply::Array(
        table::all().into_iter().map(docs::info_reply).collect(),
    ))
}

fn command_count(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(Reply::Int(table::count() as i64))
}

/// The table entry named by `name`: a command, or `container|sub` for a subcommand.
fn named(name: &[u8]) -> Option<&'static table::Entry> {
    match name.iter().position(|&b| b == b'|') {
        Some(bar) => table::find_sub(table::find(&name[..bar])?, &name[bar + 1..]),
        None => table::find(name),
    }
}

fn command_info(_ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    if args.len() == 2 {
        return Ok(Reply::Array(
            table::all().into_iter().map(docs::info_reply).collect(),
        ));
    }
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|name| named(name).map_or(Reply::Null, docs::info_reply))
            .collect(),
    ))
}

fn command_docs(_ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let entries: Vec<&'static table::Entry> = if args.len() == 2 {
        table::all()
    } else {
        args[2..].iter().filter_map(|name| named(name)).collect()
    };
    Ok(Reply::Map(
        entries
            .into_iter()
            .map(|e| (Reply::bulk(e.full_name.as_bytes()), docs::docs_reply(e)))
            .collect(),
    ))
}

fn command_list(_ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    type Filter = Box<dyn Fn(&table::Entry) -> bool>;
    let filter: Option<Filter> = match &args[2..] {
        [] => None,
        [by, kind, value] if is(by, "filterby") => {
            if is(kind, "module") {
                Some(Box::new(|_: &table::Entry| false))
            } else if is(kind, "aclcat") {
                let cat = format!("@{}", parse::text(value).to_ascii_lowercase());
                Some(Box::new(move |e: &table::Entry| {
                    docs::categories(e.command).contains(&cat.as_str())
                }))
            } else if is(kind, "pattern") {
                let pattern = crate::glob::Pattern::new(value, true);
                Some(Box::new(move |e: &table::Entry| {
                    pattern.matches(e.full_name.as_bytes())
                }))
            } else {
                return Err(Error::Syntax);
            }
        }
        _ => return Err(Error::Syntax),
    };
    let mut names = Vec::new();
    for entry in table::all() {
        for e in std::iter::once(entry).chain(table::subcommands(entry)) {
            if filter.as_ref().is_none_or(|f| f(e)) {
                names.push(Reply::bulk(e.full_name.as_bytes()));
            }
        }
    }
    Ok(Reply::Array(names))
}

fn command_getkeys(_ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let target = &args[2..];
    let entry = table::find(target[0]).ok_or(Error::msg("ERR Invalid command specified"))?;
    let entry = match (entry.command.subcommands.is_empty(), target.get(1)) {
        (false, Some(sub)) => {
            table::find_sub(entry, sub).ok_or(Error::msg("ERR Invalid command specified"))?
        }
        _ => entry,
    };
    let command = entry.command;
    if !command.keys.has_keys() {
        return Err(Error::msg("ERR The command has no key arguments"));
    }
    if !command.arity_ok(target.len()) {
        return Err(Error::msg(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let positions = command.keys.positions(target);
    if positions.is_empty() {
        return Err(Error::msg("ERR Invalid arguments specified for command"));
    }
    Ok(Reply::Array(
        positions
            .into_iter()
            .map(|i| Reply::bulk(target[i]))
            .collect(),
    ))
}

fn command_help(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(help_reply(
        "COMMAND",
        &[
            "(no subcommand)",
            "    Describe every command: name, arity, flags, key positions, categories.",
            "COUNT",
            "    How many commands there are.",
            "DOCS [<command-name> ...]",
            "    Documentation of the named commands, or of all of them.",
            "GETKEYS <full-command>",
            "    Which arguments of the given command line are keys.",
            "INFO [<command-name> ...]",
            "    Description of the named commands, or of all of them.",
            "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
            "    Names of all commands, optionally filtered.",
        ],
    ))
}

fn config_get(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let config = ctx.node.config();
    let pairs = config
        .matching(&args[2..])
        .into_iter()
        .map(|(name, value)| (Reply::bulk_static(name), Reply::bulk_string(value)))
        .collect();
    Ok(Reply::Map(pairs))
}

fn config_set(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    if args.len() % 2 == 1 {
        return Err(Error::Syntax);
    }
    let pairs: Vec<(String, String)> = args[2..]
        .chunks_exact(2)
        .map(|p| (parse::text(p[0]), parse::text(p[1])))
        .collect();
    ctx.node.set_config(&pairs).map_err(|e| match e {
        ConfigError::Unknown(name) => Error::err(format!(
            "Unknown option or number of arguments for CONFIG SET - '{name}'"
        )),
        ConfigError::Immutable(name) => Error::err(format!(
            "CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"
        )),
        ConfigError::Invalid { name, reason } => Error::err(format!(
            "CONFIG SET failed (possibly related to argument '{name}') - {reason}"
        )),
        ConfigError::NotSupported { name, reason } => Error::err(format!(
            "CONFIG SET failed (possibly related to argument '{name}') - {reason}"
        )),
        other => Error::err(other.to_string()),
    })?;
    Ok(Reply::Ok)
}

fn config_resetstat(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let shards = ctx.keys.shard_stats();
    ctx.node.reset_stats(shards);
    Ok(Reply::Ok)
}

fn config_help(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(help_reply(
        "CONFIG",
        &[
            "GET <pattern> [<pattern> ...]",
            "    Settings whose names match any of the glob patterns, with their values.",
            "SET <directive> <value> [<directive> <value> ...]",
            "    Change settings; if one is refused, none changes.",
            "RESETSTAT",
            "    Zero the statistics reported by INFO.",
        ],
    ))
}

fn info(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let sections: Vec<String> = args[1..]
        .iter()
        .map(|a| parse::text(a).to_ascii_lowercase())
        .collect();
    let text = crate::info::render(ctx.node, ctx.keys, &sections);
    Ok(Reply::Verbatim(text.into()))
}

fn time(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let us = crate::clock::now_us();
    Ok(Reply::Array(vec![
        Reply::bulk_string((us / 1_000_000).to_string()),
        Reply::bulk_string((us % 1_000_000).to_string()),
    ]))
}

fn shutdown(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let (mut save, mut abort, mut at_once) = (false, false, false);
    for arg in &args[1..] {
        if is(arg, "save") {
            save = true;
        } else if is(arg, "abort") {
            abort = true;
        } else if is(arg, "nosave") || is(arg, "now") || is(arg, "force") {
            at_once = true;
        } else {
            return Err(Error::Syntax);
        }
    }
    if abort {
        if args.len() > 2 {
            return Err(Error::Syntax);
        }
        return Err(Error::msg("ERR No shutdown in progress."));
    }
    if save {
        return Err(Error::msg(
            "ERR Errors trying to SHUTDOWN: SAVE was requested but Shoal keeps no data on disk. Use NOSAVE.",
        ));
    }
    tracing::warn!(client = ctx.client.id, "SHUTDOWN requested by a client");
    // NOSAVE, NOW and FORCE go at once; a plain SHUTDOWN hands the node's slots over first.
    if at_once {
        ctx.node.shutdown();
    } else {
        ctx.node.leave();
    }
    ctx.after = Some(crate::request::After::Close);
    ctx.client.reply_mode = crate::client::ReplyMode::Skipping;
    Ok(Reply::Ok)
}

/// C's `atoi`: optional spaces and sign, then the leading digits; 0 when there are none.
fn atoi(arg: &[u8]) -> i64 {
    let text = String::from_utf8_lossy(arg);
    let text = text.trim_start();
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits: String = rest
        .chars()
        .take_while(char::is_ascii_digit)
        .take(18)
        .collect();
    let value = digits.parse::<i64>().unwrap_or(0);
    if negative { -value } else { value }
}

fn debug(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let sub = args[1];
    if is(sub, "sleep") && args.len() == 3 {
        let seconds = parse::float(args[2]).unwrap_or(0.0).max(0.0);
        ctx.after = Some(crate::request::After::Sleep(
            std::time::Duration::from_secs_f64(seconds.min(1e9)),
        ));
        return Ok(Reply::Ok);
    }
    if is(sub, "set-active-expire") && args.len() == 3 {
        // Redis reads the flag with atoi: anything but a non-zero number means off.
        let on = atoi(args[2]) != 0;
        ctx.node
            .expiry
            .enabled
            .store(on, std::sync::atomic::Ordering::Relaxed);
        return Ok(Reply::Ok);
    }
    if is(sub, "drop-local") && args.len() == 3 {
        let now = crate::clock::now_ms();
        let dropped = ctx.node.store.forget(ctx.db(), args[2], now);
        return Ok(Reply::Int(i64::from(dropped)));
    }
    if is(sub, "help") && args.len() == 2 {
        return Ok(help_reply(
            "DEBUG",
            &[
                "SLEEP <seconds>",
                "    Hold this connection for the given (fractional) seconds before its next reply.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Stop or restart the background reclaiming of expired keys.",
                "DROP-LOCAL <key>",
                "    Remove the key from this node's copy only, replicating nothing (a drift for",
                "    anti-entropy to repair). Returns 1 if it was there.",
            ],
        ));
    }
    Err(Error::SubcommandSyntax {
        command: "debug",
        sub: parse::text(sub),
    })
}
