//! Diagnostic commands: SLOWLOG, LATENCY and MONITOR.

use super::parse::{self, is};
use super::{Command, Ctx, KeySpec, flag::*, help_reply};
use crate::error::{CommandResult, Error};
use crate::protocol::Reply;

const GROUP: &str = "server";

pub const COMMANDS: &[Command] = &[
    Command::new("slowlog", -2, 0, KeySpec::NONE, Command::container)
        .doc(
            GROUP,
            "2.2.12",
            "Container for the slow log subcommands.",
            "Depends on the subcommand.",
            "",
        )
        .subcommands(SLOWLOG),
    Command::new("latency", -2, 0, KeySpec::NONE, Command::container)
        .doc(
            GROUP,
            "2.8.13",
            "Container for the latency monitor subcommands.",
            "Depends on the subcommand.",
            "",
        )
        .subcommands(LATENCY),
    Command::new(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        KeySpec::NONE,
        monitor,
    )
    .doc(
        GROUP,
        "1.0.0",
        "Streams every command the server runs to this connection.",
        "O(1)",
        "",
    ),
];

const SLOWLOG: &[Command] = &[
    Command::new(
        "get",
        -2,
        ADMIN | LOADING | STALE,
        KeySpec::NONE,
        slowlog_get,
    )
    .doc(
        GROUP,
        "2.2.12",
        "Lists the newest slow log entries.",
        "O(N) in the number of entries returned",
        "[count:int]",
    )
    .tips(&["request_policy:all_nodes", "nondeterministic_output"]),
    Command::new(
        "len",
        2,
        ADMIN | LOADING | STALE,
        KeySpec::NONE,
        slowlog_len,
    )
    .doc(GROUP, "2.2.12", "Counts the slow log entries.", "O(1)", "")
    .tips(&[
        "request_policy:all_nodes",
        "response_policy:agg_sum",
        "nondeterministic_output",
    ]),
    Command::new(
        "reset",
        2,
        ADMIN | LOADING | STALE,
        KeySpec::NONE,
        slowlog_reset,
    )
    .doc(
        GROUP,
        "2.2.12",
        "Empties the slow log.",
        "O(N) in the number of entries",
        "",
    )
    .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
    Command::new("help", 2, LOADING | STALE, KeySpec::NONE, slowlog_help).doc(
        GROUP,
        "6.2.0",
        "Lists the SLOWLOG subcommands.",
        "O(1)",
        "",
    ),
];

const LATENCY: &[Command] = &[
    Command::new(
        "latest",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        KeySpec::NONE,
        latency_latest,
    )
    .doc(
        GROUP,
        "2.8.13",
        "Gives the latest and highest spike of every latency event.",
        "O(1)",
        "",
    )
    .tips(&[
        "nondeterministic_output",
        "request_policy:all_nodes",
        "response_policy:special",
    ]),
    Command::new(
        "history",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        KeySpec::NONE,
        latency_history,
    )
    .doc(
        GROUP,
        "2.8.13",
        "Gives the recorded spikes of one latency event.",
        "O(1)",
        "event",
    )
    .tips(&[
        "nondeterministic_output",
        "request_policy:all_nodes",
        "response_policy:special",
    ]),
    Command::new(
        "reset",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        KeySpec::NONE,
        latency_reset,
    )
    .doc(
        GROUP,
        "2.8.13",
        "Forgets the spikes of the named events, or of all.",
        "O(1)",
        "[event...]",
    )
    .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
    Command::new("help", 2, LOADING | STALE, KeySpec::NONE, latency_help).doc(
        GROUP,
        "2.8.13",
        "Lists the LATENCY subcommands.",
        "O(1)",
        "",
    ),
];

fn slowlog_get(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let count = match args.get(2) {
        None => Some(10),
        Some(arg) => match parse::int(arg) {
            Ok(-1) => None,
            Ok(n) if n >= 0 => Some(n as usize),
            _ => {
                return Err(Error::msg(
                    "ERR count should be greater than or equal to -1",
                ));
            }
        },
    };
    if args.len() > 3 {
        return Err(Error::SubcommandSyntax {
            command: "slowlog",
            sub: parse::text(args[1]),
        });
    }
    let entries = ctx
        .node
        .slowlog
        .latest(count)
        .into_iter()
        .map(|e| {
            Reply::Array(vec![
                Reply::Int(e.id as i64),
                Reply::Int(e.time as i64),
                Reply::Int(e.micros as i64),
                Reply::Array(e.args.iter().map(|a| Reply::bulk(a)).collect()),
                Reply::bulk_string(e.client_addr),
                Reply::bulk_string(e.client_name),
            ])
        })
        .collect();
    Ok(Reply::Array(entries))
}

fn slowlog_len(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(Reply::Int(ctx.node.slowlog.len() as i64))
}

fn slowlog_reset(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    ctx.node.slowlog.reset();
    Ok(Reply::Ok)
}

fn slowlog_help(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(help_reply(
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    The newest <count> entries (10 by default, -1 for all). Each one has:",
            "    1. an id, 2. the Unix time it ran at, 3. how long it took in microseconds,",
            "    4. its arguments, 5. the client's address, 6. the client's name.",
            "LEN",
            "    How many entries there are.",
            "RESET",
            "    Empty the slow log.",
        ],
    ))
}

fn latency_latest(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let events = ctx
        .node
        .latency
        .all()
        .into_iter()
        .filter_map(|(name, history)| {
            let (time, latest) = history.samples.back().copied()?;
            Some(Reply::Array(vec![
                Reply::bulk(name.as_bytes()),
                Reply::Int(time as i64),
                Reply::Int(latest as i64),
                Reply::Int(history.max as i64),
            ]))
        })
        .collect();
    Ok(Reply::Array(events))
}

fn latency_history(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let event = parse::text(args[2]);
    let samples = ctx
        .node
        .latency
        .history(&event)
        .map(|h| {
            h.samples
                .iter()
                .map(|(time, ms)| {
                    Reply::Array(vec![Reply::Int(*time as i64), Reply::Int(*ms as i64)])
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Reply::Array(samples))
}

fn latency_reset(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let names: Vec<String> = args[2..].iter().map(|a| parse::text(a)).collect();
    Ok(Reply::Int(ctx.node.latency.reset(&names) as i64))
}

fn latency_help(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(help_reply(
        "LATENCY",
        &[
            "HISTORY <event>",
            "    The recorded spikes of <event>: (Unix time, milliseconds) pairs, one per second.",
            "LATEST",
            "    For every event: its name, the time and size of its latest spike, its highest.",
            "RESET [<event> ...]",
            "    Forget the spikes of the given events, or of every event.",
        ],
    ))
}

fn monitor(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    if ctx.client.multi.is_some() {
        return Err(Error::msg("ERR MONITOR isn't allowed inside MULTI"));
    }
    ctx.after = Some(crate::request::After::Monitor);
    let _ = is;
    Ok(Reply::Ok)
}
