//! WAIT: how many replicas hold this client's writes.
//!
//! Replication itself is `crate::replication`; this is its one client command. `WAIT
//! numreplicas timeout` answers, once at least `numreplicas` replicas have acknowledged every
//! write made before it (or once `timeout` ms pass; 0 waits for as long as it takes), how many
//! have. Replicas are counted per write (each write of a slot reaches its R - 1 replicas), so
//! the answer is at most R - 1. A write the client sent through this node to another one
//! counts too: the wait covers every node's writes up to the moment WAIT arrives (see
//! `replication::wait`). Inside `MULTI`, as in Redis, it answers at once with what is reached.

use super::{Command, Ctx, KeySpec, flag::*, parse};
use crate::error::CommandResult;
use crate::protocol::Reply;
use crate::request::After;

const GROUP: &str = "generic";

pub const COMMANDS: &[Command] = &[Command::new("wait", 3, NOSCRIPT, KeySpec::NONE, wait)
    .doc(
        GROUP,
        "3.0.0",
        "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.",
        "O(1)",
        "numreplicas:integer timeout:integer",
    )
    .tips(&["request_policy:all_shards", "response_policy:agg_min"])];

fn wait(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let wanted = parse::int(args[1])?;
    let timeout = parse::timeout_ms(args[2])?;
    // What this node's own writes have reached: the answer where nothing may wait.
    let reached = crate::replication::Barrier::now(ctx.node).achieved(ctx.node);
    if wanted <= 0 || ctx.mode != super::Mode::Normal {
        return Ok(Reply::Int(reached as i64));
    }
    ctx.after = Some(After::WaitReplicas {
        wanted: usize::try_from(wanted).unwrap_or(usize::MAX),
        timeout,
    });
    Ok(Reply::Int(reached as i64))
}
