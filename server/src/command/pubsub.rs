//! Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE,
//! SUNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB (CHANNELS NUMSUB NUMPAT SHARDCHANNELS SHARDNUMSUB).
//!
//! A client's subscriptions are its connection's state ([`Subscriptions`]); the node's
//! registry (`pubsub`) knows who to deliver a message to. Confirmations are one push per
//! channel (an array in RESP2): `subscribe`, channel, and the client's count of channel and
//! pattern subscriptions (`ssubscribe` counts shard channels only), as in Redis. A RESP2
//! client with a subscription may only subscribe, unsubscribe, `PING`, `QUIT` and `RESET`
//! (checked in `request`); under RESP3 every command works.
//!
//! `PUBLISH` delivers to this node's subscribers and to every other node's (over the peer
//! streams); its reply counts the clients of this node that received the message, as Redis
//! Cluster's does. `SPUBLISH` runs on the shard channel's slot owner (forwarded there, or
//! `-MOVED` in redirect mode), which delivers it everywhere the same way. `SSUBSCRIBE` in
//! proxy mode subscribes on the node the client is connected to, whatever the slot's owner.
//! `PUBSUB` reports this node's subscriptions (Redis Cluster's answer).

use super::parse::is;
use super::{Command, Ctx, KeySpec, Routing, flag::*, help_reply};
use crate::error::{CommandResult, Error};
use crate::peer::stream::Message;
use crate::protocol::Reply;
use crate::pubsub::Kind;
use bytes::Bytes;
use std::collections::HashSet;
use std::sync::atomic::Ordering;

const GROUP: &str = "pubsub";

/// Subscription commands a RESP2 subscriber may still send.
const SUBSCRIBER: u32 = PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK;

pub const COMMANDS: &[Command] = &[
    Command::new("subscribe", -2, SUBSCRIBER, KeySpec::NONE, subscribe).doc(
        GROUP,
        "2.0.0",
        "Listens for messages published to the given channels.",
        "O(N) for N channels",
        "channel...",
    ),
    Command::new("unsubscribe", -1, SUBSCRIBER, KeySpec::NONE, unsubscribe).doc(
        GROUP,
        "2.0.0",
        "Stops listening to the given channels, or to every channel.",
        "O(N) for N channels",
        "[channel...]",
    ),
    Command::new("psubscribe", -2, SUBSCRIBER, KeySpec::NONE, psubscribe).doc(
        GROUP,
        "2.0.0",
        "Listens for messages published to channels matching the given patterns.",
        "O(N) for N patterns",
        "pattern:pattern...",
    ),
    Command::new("punsubscribe", -1, SUBSCRIBER, KeySpec::NONE, punsubscribe).doc(
        GROUP,
        "2.0.0",
        "Stops listening to the given patterns, or to every pattern.",
        "O(N+M) for N patterns and M pattern subscriptions of the node",
        "[pattern:pattern...]",
    ),
    Command::new("ssubscribe", -2, SUBSCRIBER, KeySpec::ALL, ssubscribe)
        .doc(
            GROUP,
            "7.0.0",
            "Listens for messages published to the given shard channels.",
            "O(N) for N shard channels",
            "shardchannel...",
        )
        .routing(Routing::Subscription),
    Command::new("sunsubscribe", -1, SUBSCRIBER, KeySpec::ALL, sunsubscribe)
        .doc(
            GROUP,
            "7.0.0",
            "Stops listening to the given shard channels, or to every shard channel.",
            "O(N) for N shard channels",
            "[shardchannel...]",
        )
        .routing(Routing::Subscription),
    Command::new(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST,
        KeySpec::NONE,
        publish,
    )
    .doc(
        GROUP,
        "2.0.0",
        "Posts a message to a channel; answers how many clients of this node received it.",
        "O(N+M) for N subscribers of the channel and M patterns",
        "channel message",
    ),
    Command::new(
        "spublish",
        3,
        PUBSUB | LOADING | STALE | FAST,
        KeySpec::ONE,
        spublish,
    )
    .doc(
        GROUP,
        "7.0.0",
        "Posts a message to a shard channel; answers how many clients of its node received it.",
        "O(N) for N subscribers of the shard channel",
        "shardchannel message",
    ),
    Command::new("pubsub", -2, 0, KeySpec::NONE, Command::container)
        .doc(
            GROUP,
            "2.8.0",
            "Container for the Pub/Sub introspection subcommands.",
            "Depends on the subcommand.",
            "",
        )
        .subcommands(PUBSUB_SUBCOMMANDS),
];

const INTROSPECTION: u32 = PUBSUB | LOADING | STALE;

const PUBSUB_SUBCOMMANDS: &[Command] = &[
    Command::new("channels", -2, INTROSPECTION, KeySpec::NONE, channels).doc(
        GROUP,
        "2.8.0",
        "Lists the channels of this node with subscribers, optionally matching a pattern.",
        "O(N) for N active channels",
        "[pattern:pattern]",
    ),
    Command::new("numsub", -2, INTROSPECTION, KeySpec::NONE, numsub).doc(
        GROUP,
        "2.8.0",
        "Counts the subscribers of each given channel on this node.",
        "O(N) for N channels",
        "[channel...]",
    ),
    Command::new("numpat", 2, INTROSPECTION, KeySpec::NONE, numpat).doc(
        GROUP,
        "2.8.0",
        "Counts the patterns clients of this node are subscribed to.",
        "O(1)",
        "",
    ),
    Command::new(
        "shardchannels",
        -2,
        INTROSPECTION,
        KeySpec::NONE,
        shardchannels,
    )
    .doc(
        GROUP,
        "7.0.0",
        "Lists the shard channels of this node with subscribers, optionally matching a pattern.",
        "O(N) for N active shard channels",
        "[pattern:pattern]",
    ),
    Command::new("shardnumsub", -2, INTROSPECTION, KeySpec::NONE, shardnumsub).doc(
        GROUP,
        "7.0.0",
        "Counts the subscribers of each given shard channel on this node.",
        "O(N) for N shard channels",
        "[shardchannel...]",
    ),
    Command::new("help", 2, LOADING | STALE, KeySpec::NONE, pubsub_help).doc(
        GROUP,
        "6.2.0",
        "Lists the PUBSUB subcommands.",
        "O(1)",
        "",
    ),
];

/// A connection's subscriptions.
#[derive(Debug, Default)]
pub struct Subscriptions {
    channels: HashSet<Bytes>,
    patterns: HashSet<Bytes>,
    shard: HashSet<Bytes>,
}

impl Subscriptions {
    fn set(&mut self, kind: Kind) -> &mut HashSet<Bytes> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// Whether the connection is subscribed to anything (Redis's Pub/Sub context).
    pub fn any(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty())
    }

    /// The count a confirmation of `kind` reports: channels and patterns together, or shard
    /// channels alone.
    fn count(&self, kind: Kind) -> i64 {
        match kind {
            Kind::Channel | Kind::Pattern => (self.channels.len() + self.patterns.len()) as i64,
            Kind::Shard => self.shard.len() as i64,
        }
    }
}

/// The confirmation verbs of each kind.
fn verbs(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Channel => ("subscribe", "unsubscribe"),
        Kind::Pattern => ("psubscribe", "punsubscribe"),
        Kind::Shard => ("ssubscribe", "sunsubscribe"),
    }
}

fn confirm(verb: &'static str, name: Option<&[u8]>, count: i64) -> Reply {
    Reply::Push(vec![
        Reply::bulk_static(verb),
        name.map_or(Reply::Null, Reply::bulk),
        Reply::Int(count),
    ])
}

/// Shows the client's subscription counts to `CLIENT LIST`.
fn show_counts(ctx: &mut Ctx<'_, '_>) {
    let subs = &ctx.client.subscriptions;
    let counts = [subs.channels.len(), subs.patterns.len(), subs.shard.len()];
    for (shown, count) in ctx.client.info.subscriptions.iter().zip(counts) {
        shown.store(count, Ordering::Relaxed);
    }
}

fn subscribe_to(ctx: &mut Ctx<'_, '_>, kind: Kind, names: &[&[u8]]) -> CommandResult {
    let (verb, _) = verbs(kind);
    let mut replies = Vec::with_capacity(names.len());
    for name in names {
        if ctx
            .client
            .subscriptions
            .set(kind)
            .insert(Bytes::copy_from_slice(name))
        {
            ctx.node.pubsub.subscribe(kind, name, &ctx.client.info);
        }
        replies.push(confirm(
            verb,
            Some(name),
            ctx.client.subscriptions.count(kind),
        ));
    }
    show_counts(ctx);
    Ok(Reply::Several(replies))
}

fn unsubscribe_from(ctx: &mut Ctx<'_, '_>, kind: Kind, names: &[&[u8]]) -> CommandResult {
    let (_, verb) = verbs(kind);
    let names: Vec<Bytes> = if names.is_empty() {
        ctx.client.subscriptions.set(kind).iter().cloned().collect()
    } else {
        names.iter().map(|n| Bytes::copy_from_slice(n)).collect()
    };
    if names.is_empty() {
        return Ok(confirm(verb, None, ctx.client.subscriptions.count(kind)));
    }
    let mut replies = Vec::with_capacity(names.len());
    for name in &names {
        if ctx.client.subscriptions.set(kind).remove(name) {
            ctx.node.pubsub.unsubscribe(kind, name, ctx.client.id);
        }
        replies.push(confirm(
            verb,
            Some(name),
            ctx.client.subscriptions.count(kind),
        ));
    }
    show_counts(ctx);
    Ok(Reply::Several(replies))
}

/// Forgets every subscription of a client (`RESET`, or its connection closing).
pub fn unsubscribe_all(node: &crate::node::Node, client: &mut crate::client::Client) {
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        for name in client.subscriptions.set(kind).drain() {
            node.pubsub.unsubscribe(kind, &name, client.id);
        }
    }
    for shown in &client.info.subscriptions {
        shown.store(0, Ordering::Relaxed);
    }
    client.info.inbox.clear();
}

fn subscribe(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    subscribe_to(ctx, Kind::Channel, &args[1..])
}

fn unsubscribe(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    unsubscribe_from(ctx, Kind::Channel, &args[1..])
}

fn psubscribe(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    subscribe_to(ctx, Kind::Pattern, &args[1..])
}

fn punsubscribe(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    unsubscribe_from(ctx, Kind::Pattern, &args[1..])
}

fn ssubscribe(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    subscribe_to(ctx, Kind::Shard, &args[1..])
}

fn sunsubscribe(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    unsubscribe_from(ctx, Kind::Shard, &args[1..])
}

fn publish(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let received = ctx.node.pubsub.deliver(args[1], args[2]);
    let message = Message::Publish {
        channel: Bytes::copy_from_slice(args[1]),
        payload: Bytes::copy_from_slice(args[2]),
    };
    ctx.node.forward.streams.broadcast(ctx.node, &message);
    Ok(Reply::Int(received as i64))
}

fn spublish(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let received = ctx.node.pubsub.deliver_shard(args[1], args[2]);
    let message = Message::ShardPublish {
        channel: Bytes::copy_from_slice(args[1]),
        payload: Bytes::copy_from_slice(args[2]),
    };
    ctx.node.forward.streams.broadcast(ctx.node, &message);
    Ok(Reply::Int(received as i64))
}

fn names_matching(ctx: &Ctx<'_, '_>, kind: Kind, args: &[&[u8]]) -> CommandResult {
    let pattern = match args {
        [_, _] => None,
        [_, _, pattern] => Some(*pattern),
        _ => {
            return Err(Error::SubcommandSyntax {
                command: "pubsub",
                sub: String::from_utf8_lossy(args[1]).into_owned(),
            });
        }
    };
    let names = ctx.node.pubsub.channel_names(kind, pattern);
    Ok(Reply::Array(names.into_iter().map(Reply::Bulk).collect()))
}

fn channels(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    names_matching(ctx, Kind::Channel, args)
}

fn shardchannels(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    names_matching(ctx, Kind::Shard, args)
}

fn counts_of(ctx: &Ctx<'_, '_>, kind: Kind, args: &[&[u8]]) -> CommandResult {
    let mut out = Vec::with_capacity(2 * (args.len() - 2));
    for name in &args[2..] {
        out.push(Reply::bulk(name));
        out.push(Reply::Int(
            ctx.node.pubsub.subscriber_count(kind, name) as i64
        ));
    }
    // A flat array of channel, count pairs in both protocols, as Redis 7.0.
    Ok(Reply::Array(out))
}

fn numsub(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    counts_of(ctx, Kind::Channel, args)
}

fn shardnumsub(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    counts_of(ctx, Kind::Shard, args)
}

fn numpat(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    Ok(Reply::Int(ctx.node.pubsub.counts().1 as i64))
}

fn pubsub_help(_ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let _ = is;
    Ok(help_reply(
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Channels of this node with at least one subscriber, optionally only those matching <pattern>.",
            "NUMPAT",
            "    How many distinct patterns clients of this node are subscribed to.",
            "NUMSUB [<channel> ...]",
            "    Each given channel with its number of subscribers on this node (patterns not counted).",
            "SHARDCHANNELS [<pattern>]",
            "    Shard channels of this node with at least one subscriber, optionally matching <pattern>.",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Each given shard channel with its number of subscribers on this node.",
        ],
    ))
}
